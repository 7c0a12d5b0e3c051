/* The crash-dump reader on dumps of every era, from the CLI: the real-world dumps of
 * tests/fixtures/wild (R8B..OTP 28, as their MANIFEST describes them), their CRLF and
 * gzip twins read exactly like them, every sample likewise, dumps cut inside their
 * first line, a format newer than known, and compressed inputs that are not dumps
 * or expand without end. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define assert_contains(hay, needle)                                                  \
	do {                                                                          \
		if (!strstr((hay), (needle)))                                         \
			fail_msg("missing \"%s\" in:\n%.2000s", (needle), (hay));      \
	} while (0)

/* Run "beamdump ARGS" with stderr captured too (the notices are part of the answer). */
static int run2(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run2(char **out, const char *fmt, ...)
{
	char args[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	char tmp[] = "/tmp/bdout2-XXXXXX";
	int fd = mkstemp(tmp);
	assert_true(fd >= 0);
	close(fd);
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "%s %s > %s 2>&1", getenv("BD_BIN"), args, tmp);
	int st = system(cmd);
	int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	*out = tu_read_file(tmp, NULL);
	unlink(tmp);
	return rc;
}

/* A copy of path with every "\n" written as "\r\n" (what a Windows tool makes), or,
 * for a dump that has Windows line endings already, its "\n" twin. */
static char *crlf_twin(const char *path)
{
	size_t n;
	char *t = tu_read_file(path, &n);
	assert_non_null(t);
	char *out = malloc(2 * n + 1);
	assert_non_null(out);
	size_t k = 0;
	const char *nl = memchr(t, '\n', n);
	int crlf = nl && nl > t && nl[-1] == '\r';
	for (size_t i = 0; i < n; i++) {
		if (crlf && t[i] == '\r' && i + 1 < n && t[i + 1] == '\n')
			continue;
		if (!crlf && t[i] == '\n')
			out[k++] = '\r';
		out[k++] = t[i];
	}
	free(t);
	static int seq;
	char *p = malloc(64);
	snprintf(p, 64, "/tmp/bdcrlf-%d-%d.dump", (int)getpid(), seq++);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(out, 1, k, f), k);
	fclose(f);
	free(out);
	return p;
}

static char *gzip_twin(const char *path)
{
	static int seq;
	char *p = malloc(64);
	snprintf(p, 64, "/tmp/bdgz-%d-%d.dump.gz", (int)getpid(), seq++);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "gzip -1 -c '%s' > '%s'", path, p);
	assert_int_equal(system(cmd), 0);
	return p;
}

/* The same --json (and exit code) for a dump and its twin. */
static void same_json(const char *cmd, const char *a, const char *b)
{
	char *oa, *ob;
	int ra = tu_run(&oa, "%s --json %s 2>/dev/null", cmd, a);
	int rb = tu_run(&ob, "%s --json %s 2>/dev/null", cmd, b);
	if (ra != rb || strcmp(oa, ob) != 0)
		fail_msg("%s: %s (rc %d) and its twin %s (rc %d) differ:\n%.600s\n---\n%.600s", cmd,
			 a, ra, b, rb, oa, ob);
	free(oa);
	free(ob);
}

/* Both twins of one dump read like it. */
static void twins(const char *path, int with_analyze)
{
	char *c = crlf_twin(path), *g = gzip_twin(path);
	same_json("info", path, c);
	same_json("info", path, g);
	if (with_analyze) {
		same_json("analyze", path, c);
		same_json("top -n 5", path, g);
	}
	unlink(c);
	unlink(g);
	free(c);
	free(g);
}

/* ---- the real-world dumps ---- */
typedef struct row {
	char file[128], version[32], otp[32], erts[32], slogan[512], ends[8];
} row;

static int read_manifest(row *rows, int cap)
{
	char path[1024], line[4096];
	snprintf(path, sizeof path, "%s/tests/fixtures/wild/MANIFEST.tsv", getenv("BD_SOURCE"));
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int n = 0;
	while (fgets(line, sizeof line, f) && n < cap) {
		line[strcspn(line, "\n")] = 0;
		char *col[12] = {0};
		int k = 0;
		for (char *p = line; k < 12; k++) {
			col[k] = p;
			char *t = strchr(p, '\t');
			if (!t)
				break;
			*t = 0;
			p = t + 1;
		}
		if (k < 10 || !strcmp(col[0], "file"))
			continue;
		row *r = &rows[n++];
		snprintf(r->file, sizeof r->file, "%s", col[0]);
		snprintf(r->version, sizeof r->version, "%s", col[5]);
		snprintf(r->otp, sizeof r->otp, "%s", col[6]);
		r->otp[strcspn(r->otp, "*")] = 0;
		snprintf(r->erts, sizeof r->erts, "%s", col[7]);
		snprintf(r->slogan, sizeof r->slogan, "%s", col[8]);
		snprintf(r->ends, sizeof r->ends, "%s", col[9]);
	}
	fclose(f);
	return n;
}

static void json_field(const char *json, const char *key, char *buf, size_t cap)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = strstr(json, pat);
	buf[0] = 0;
	if (!p)
		return;
	p += strlen(pat);
	if (*p != '"')
		return;
	size_t k = 0;
	for (p++; *p && *p != '"' && k + 1 < cap; p++) {
		if (*p == '\\' && p[1])
			p++;
		buf[k++] = *p;
	}
	buf[k] = 0;
}

static void check_wild(const row *r)
{
	char rel[256], got[600];
	snprintf(rel, sizeof rel, "tests/fixtures/wild/%s", r->file);
	const char *path = tu_fixture(rel);
	char *out;
	int rc = run2(&out, "info --json %s", path);
	if (!strncmp(r->version, "pre", 3)) {
		/* The R7-R9 layout: refused, and the message names it. */
		if (rc != 3)
			fail_msg("%s: rc %d, want 3", r->file, rc);
		assert_contains(out, "pre-R10B layout");
		free(out);
		unlink(path);
		return;
	}
	int want = !strcmp(r->ends, "yes") ? 0 : 4;
	if (rc != want)
		fail_msg("%s: rc %d, want %d: %.300s", r->file, rc, want, out);
	json_field(out, "dump_version", got, sizeof got);
	if (strcmp(got, r->version))
		fail_msg("%s: dump_version %s, want %s", r->file, got, r->version);
	json_field(out, "otp_release", got, sizeof got);
	if (strcmp(got, r->otp))
		fail_msg("%s: otp_release '%s', want '%s'", r->file, got, r->otp);
	json_field(out, "erts_version", got, sizeof got);
	if (strcmp(got, r->erts))
		fail_msg("%s: erts_version '%s', want '%s'", r->file, got, r->erts);
	/* The manifest keeps the first 120 bytes of the slogan line as written: a
	 * run-on slogan there still carries "System version:", ours must not. */
	json_field(out, "slogan", got, sizeof got);
	assert_null(strstr(got, "System version:"));
	char want_sl[512];
	snprintf(want_sl, sizeof want_sl, "%s", r->slogan);
	char *sv = strstr(want_sl, "System version:");
	if (sv)
		*sv = 0;
	size_t cmp = strlen(want_sl) < strlen(got) ? strlen(want_sl) : strlen(got);
	if (cmp < 10 || strncmp(got, want_sl, cmp))
		fail_msg("%s: slogan '%s', want '%s'", r->file, got, want_sl);
	if (sv && strlen(got) != cmp)
		fail_msg("%s: run-on slogan '%s', want '%s'", r->file, got, want_sl);
	free(out);
	twins(path, 0);
	unlink(path);
}

static void test_wild(void **state)
{
	(void)state;
	row rows[64];
	int n = read_manifest(rows, 64);
	assert_int_equal(n, 41);
	for (int i = 0; i < n; i++)
		check_wild(&rows[i]);
}

/* Every committed sample and fixture, and its twins; analyze and top too. */
static void test_samples_twins(void **state)
{
	(void)state;
	static const char *fx[] = {
		"samples/dumps/atoms.dump.zst",        "samples/dumps/binleak.dump.zst",
		"samples/dumps/deadlock.dump.zst",     "samples/dumps/elixir_proc_limit.dump.zst",
		"samples/dumps/ets_growth.dump.zst",   "samples/dumps/healthy.dump.zst",
		"samples/dumps/heap_oom.dump.zst",     "samples/dumps/mailbox.dump.zst",
		"samples/dumps/port_limit.dump.zst",   "samples/dumps/supervisor.dump.zst",
		"samples/dumps/truncated.dump.zst",    "tests/fixtures/terms_otp27.dump.zst",
		"tests/fixtures/terms_otp27_trunc.dump.zst",
		"tests/fixtures/analyze/app_deadlock.dump.zst",
		"tests/fixtures/analyze/boot_limit.dump.zst",
		"tests/fixtures/analyze/busy.dump.zst", "tests/fixtures/analyze/chain.dump.zst",
		"tests/fixtures/analyze/ets_frag.dump.zst",
		"tests/fixtures/dist/dist.dump.zst",
	};
	for (size_t i = 0; i < sizeof fx / sizeof *fx; i++) {
		const char *p = tu_fixture(fx[i]);
		twins(p, 1);
		unlink(p);
	}
	/* A whole .zst through stdin, and a CRLF text through stdin. */
	char *out;
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "info --json - < %s/tests/fixtures/terms_otp27.dump.zst",
		 getenv("BD_SOURCE"));
	assert_int_equal(tu_run(&out, "%s", cmd), 0);
	assert_contains(out, "\"otp_release\":\"27\"");
	free(out);
}

/* The dumps samples/gen.sh makes from real failures (every one up to a few MB; the
 * biggest cost seconds under the sanitizers, their small siblings cover the same
 * writer): the right exit code, and CRLF and gzip twins that read like them. */
static int ends_with_end(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char tail[16] = {0};
	long n = fseek(f, -6, SEEK_END) == 0 ? (long)fread(tail, 1, 6, f) : 0;
	fclose(f);
	return n == 6 && (!strcmp(tail + 1, "=end\n") || !memcmp(tail, "\n=end", 5));
}

static void test_generated_twins(void **state)
{
	(void)state;
	const char *dir = getenv("BD_SAMPLES");
	if (!dir || access(dir, R_OK) != 0) {
		if (getenv("BD_REQUIRE_SAMPLES"))
			fail_msg("generated samples missing (run samples/gen.sh)");
		skip();
	}
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "ls %s/*.dump 2>/dev/null", dir);
	FILE *ls = popen(cmd, "r");
	assert_non_null(ls);
	char path[1024];
	int n = 0;
	while (fgets(path, sizeof path, ls)) {
		path[strcspn(path, "\n")] = 0;
		struct stat st;
		if (stat(path, &st) != 0 || st.st_size > (4 << 20))
			continue;
		char *out;
		int rc = run2(&out, "info --json %s", path);
		/* Some samples are cut on purpose (truncated, ERL_CRASH_DUMP_BYTES): a
		 * whole one ends with =end. */
		int want = ends_with_end(path) ? 0 : 4;
		if (rc != want)
			fail_msg("%s: rc %d, want %d: %.300s", path, rc, want, out);
		char got[64];
		json_field(out, "otp_release", got, sizeof got);
		if (!got[0])
			fail_msg("%s: no otp_release", path);
		free(out);
		twins(path, 0);
		n++;
	}
	pclose(ls);
	assert_true(n > 0);
}

/* Notepad (a byte order mark and CRLF) and a PowerShell redirect (UTF-16LE) read like
 * the original too. */
static void test_encodings(void **state)
{
	(void)state;
	const char *p = tu_fixture("tests/fixtures/terms_otp27.dump.zst");
	char bom[96], u16[96], cmd[512];
	snprintf(bom, sizeof bom, "/tmp/bdbom-%d.dump", (int)getpid());
	snprintf(u16, sizeof u16, "/tmp/bdu16-%d.dump", (int)getpid());
	snprintf(cmd, sizeof cmd, "(printf '\\357\\273\\277'; sed 's/$/\\r/' %s) > %s", p, bom);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "iconv -f UTF-8 -t UTF-16 %s > %s", p, u16);
	assert_int_equal(system(cmd), 0);
	same_json("info", p, bom);
	same_json("info", p, u16);
	same_json("top -n 3", p, u16);
	char *out;
	assert_int_equal(tu_run(&out, "info %s", bom), 0);
	assert_contains(out, "Windows line endings");
	free(out);
	snprintf(cmd, sizeof cmd, "gzip -c %s > %s.gz", u16, u16);
	assert_int_equal(system(cmd), 0);
	char gz[128];
	snprintf(gz, sizeof gz, "%s.gz", u16);
	same_json("info", p, gz);
	unlink(gz);
	unlink(bom);
	unlink(u16);
	unlink(p);
}

/* ---- headers ---- */
static int run_text(char **out, const char *text, size_t len, const char *cmd)
{
	const char *p = tu_write_temp(text, len);
	int rc = run2(out, "%s %s", cmd, p);
	unlink(p);
	return rc;
}

static void test_cut_first_line(void **state)
{
	(void)state;
	static const char *cuts[] = {
		"=erl_crash_dump\n=abort:CRASH DUMP SIZE LIMIT REACHED\n",
		"=erl_crash_dump:0.\n=abort:CRASH DUMP SIZE LIMIT REACHED\n",
		"=erl_cr\n=abort:CRASH DUMP SIZE LIMIT REACHED\n",
		"=erl_crash_dump:0.5\r\n=abort:CRASH DUMP SIZE LIMIT REACHED\r\n",
	};
	for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
		char *out;
		assert_int_equal(run_text(&out, cuts[i], strlen(cuts[i]), "info"), 4);
		assert_contains(out, "CRASH DUMP SIZE LIMIT REACHED");
		assert_null(strstr(out, "not an Erlang crash dump"));
		free(out);
	}
	char *out;
	/* Cut before the first line even ended (and before any =abort could be written). */
	assert_int_equal(run_text(&out, "=erl_crash", 10, "info"), 4);
	assert_contains(out, "partial dump");
	free(out);
	const char *junk = "=erl_crash_dumb:0.5\n=end\n";
	assert_int_equal(run_text(&out, junk, strlen(junk), "info"), 3);
	assert_contains(out, "not an Erlang crash dump");
	free(out);
	const char *xz = "\xFD" "7zXZ\0\0\0";
	assert_int_equal(run_text(&out, xz, 8, "info"), 3);
	assert_contains(out, "xz");
	free(out);
}

static void test_newer_format(void **state)
{
	(void)state;
	const char *p = tu_fixture("tests/fixtures/terms_otp27.dump.zst");
	size_t n;
	char *t = tu_read_file(p, &n);
	unlink(p);
	assert_non_null(t);
	assert_int_equal(memcmp(t, "=erl_crash_dump:0.5\n", 20), 0);
	memcpy(t, "=erl_crash_dump:1.6\n", 20);
	char *out;
	assert_int_equal(run_text(&out, t, n, "info"), 0);
	assert_contains(out, "newer than the newest this beamdump knows");
	assert_contains(out, "read best-effort");
	assert_null(strstr(out, "cut short"));
	assert_contains(out, "Processes:  43");
	free(out);
	assert_int_equal(run_text(&out, t, n, "info --json"), 0);
	assert_contains(out, "\"format_note\":\"dump format 1.6 is newer");
	free(out);
	free(t);
	/* Nothing but the header line of a newer format: cut, and the note says why the
	 * reader may not know more. */
	const char *bare = "=erl_crash_dump:1.6\n";
	assert_int_equal(run_text(&out, bare, strlen(bare), "info"), 4);
	assert_contains(out, "newer than the newest");
	free(out);
}

/* Versions of every era in the System version line, and slogans that run on. */
static void test_versions(void **state)
{
	(void)state;
	static const struct {
		const char *sysver, *otp, *erts;
	} cases[] = {
		{"Erlang/OTP 25 [erts-13.2.2.5] [source] [64-bit]", "25", "13.2.2.5"},
		{"Erlang R16B03 (erts-5.10.4) [source] [64-bit] [async-threads:10]", "R16B03", "5.10.4"},
		{"Erlang R13B04 (erts-5.7.5) [smp:2:2] [rq:2]", "R13B04", "5.7.5"},
		{"Erlang R15B03 (erts-5.9.3.1) [64-bit]", "R15B03", "5.9.3.1"},
		{"Erlang (BEAM) emulator version 5.6.5 [source] [smp:2] [hipe]", "R12B-5", "5.6.5"},
		{"Erlang (BEAM) emulator version 5.4.13 [source]", "R10B", "5.4.13"},
		{"Erlang/OTP 17 [erts-6.0] [source] [64-bit]", "17", "6.0"},
		{"Erlang/OTP 29 [RELEASE CANDIDATE 1] [erts-17.0-rc1] [64-bit]", "29", "17.0"},
		/* a builder's own name after the release (francesquini/erlang-scheduling) */
		{"Erlang R15B02Emilio (erts-5.9.2) [source] [64-bit] [systemtap]", "R15B02", "5.9.2"},
		{"Erlang R16B03-1 (erts-5.10.4.1) [source] [64-bit]", "R16B03-1", "5.10.4.1"},
		{"Erlang R14A (erts-5.8) [source]", "R14A", "5.8"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char text[512], *out;
		snprintf(text, sizeof text,
			 "=erl_crash_dump:0.5\nMon Jan  6 06:25:34 2014\nSlogan: x\n"
			 "System version: %s\nAtoms: 1\n=end\n", cases[i].sysver);
		assert_int_equal(run_text(&out, text, strlen(text), "info --json"), 0);
		char want[128];
		snprintf(want, sizeof want, "\"otp_release\":\"%s\",\"erts_version\":\"%s\"",
			 cases[i].otp, cases[i].erts);
		assert_contains(out, want);
		free(out);
	}
	/* Run-on slogans, also with an internal error, a colon and a quoted reason. */
	static const struct {
		const char *slogan_line, *slogan;
	} runon[] = {
		{"Slogan: Crash dump requested by userSystem version: Erlang/OTP 17 [erts-6.3] [64-bit]",
		 "Crash dump requested by user"},
		{"Slogan: Internal error: Invalid reference count found on #Fun<a.0.1>System version: "
		 "Erlang/OTP 17 [erts-6.3] [64-bit]",
		 "Internal error: Invalid reference count found on #Fun<a.0.1>"},
	};
	for (size_t i = 0; i < sizeof runon / sizeof *runon; i++) {
		char text[512], *out;
		snprintf(text, sizeof text,
			 "=erl_crash_dump:0.3\nMon Jan  6 06:25:34 2014\n%s\nCompiled: x\nAtoms: 1\n"
			 "=end\n", runon[i].slogan_line);
		assert_int_equal(run_text(&out, text, strlen(text), "info --json"), 0);
		char want[256];
		snprintf(want, sizeof want, "\"slogan\":\"%s\"", runon[i].slogan);
		assert_contains(out, want);
		assert_contains(out, "\"otp_release\":\"17\",\"erts_version\":\"6.3\"");
		assert_contains(out, "\"word_size\":8");
		free(out);
	}
}

/* ---- compressed input: gzip, and bombs (decompression stops, no spool first) ---- */
static void test_gzip(void **state)
{
	(void)state;
	const char *p = tu_fixture("tests/fixtures/terms_otp27.dump.zst");
	char cmd[4096], *out;
	/* Two members (gzip -c a b), as a whole dump. */
	snprintf(cmd, sizeof cmd,
		 "head -c 1000 %s | gzip -c > %s.gz && tail -c +1001 %s | gzip -c >> %s.gz", p, p,
		 p, p);
	assert_int_equal(system(cmd), 0);
	char gz[600];
	snprintf(gz, sizeof gz, "%s.gz", p);
	same_json("info", p, gz);
	/* Cut: the notice says so, exit 4. */
	snprintf(cmd, sizeof cmd, "head -c 100000 %s > %s.cut", gz, gz);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(run2(&out, "info %s.cut", gz), 4);
	assert_contains(out, "gzip stream incomplete");
	free(out);
	/* Damaged inside: what came before is read, and the notice says where. */
	snprintf(cmd, sizeof cmd,
		 "(head -c 150000 %s; head -c 20000 /dev/urandom; tail -c +170001 %s) > %s.bad", gz,
		 gz, gz);
	assert_int_equal(system(cmd), 0);
	int rc = run2(&out, "info %s.bad", gz);
	assert_int_equal(rc, 4);
	assert_contains(out, "gzip data damaged after");
	free(out);
	snprintf(cmd, sizeof cmd, "rm -f %s %s.gz %s.gz.cut %s.gz.bad", p, p, p, p);
	assert_int_equal(system(cmd), 0);
}

static void test_bombs(void **state)
{
	(void)state;
	char *out;
	/* 20 GB of zeros: refused before anything is spooled (file and stdin). */
	char zeros[64], procs[64], cmd[1024];
	snprintf(zeros, sizeof zeros, "/tmp/bdbomb-zeros-%d.zst", (int)getpid());
	snprintf(procs, sizeof procs, "/tmp/bdbomb-procs-%d.zst", (int)getpid());
	snprintf(cmd, sizeof cmd, "head -c 300000000 /dev/zero | zstd -q -1 -c > %s", zeros);
	assert_int_equal(system(cmd), 0);
	double t0 = tu_now();
	assert_int_equal(run2(&out, "info %s", zeros), 3);
	assert_contains(out, "not an Erlang crash dump");
	free(out);
	assert_int_equal(run2(&out, "info - < %s", zeros), 3);
	free(out);
	assert_true(tu_now() - t0 < 5);
	unlink(zeros);
	/* A dump header, then a flood that expands 1e4:1: the spool stops early and the
	 * dump reads as cut, saying why. */
	snprintf(cmd, sizeof cmd,
		 "(printf '=erl_crash_dump:0.5\\nSlogan: x\\nSystem version: Erlang/OTP 25 "
		 "[erts-13.1.5]\\n=atoms\\n'; yes 'an_atom' | head -c 120000000) | zstd -q -3 "
		 "--long=27 -c > %s", procs);
	assert_int_equal(system(cmd), 0);
	t0 = tu_now();
	assert_int_equal(run2(&out, "info %s", procs), 4);
	assert_contains(out, "expands more than 1000:1");
	assert_contains(out, "BEAMDUMP_MAX_INPUT");
	free(out);
	assert_true(tu_now() - t0 < 30);
	/* The limit can be set by hand. */
	setenv("BEAMDUMP_MAX_INPUT", "1M", 1);
	assert_int_equal(run2(&out, "info %s", procs), 4);
	assert_contains(out, "BEAMDUMP_MAX_INPUT (1.0 MB)");
	free(out);
	unsetenv("BEAMDUMP_MAX_INPUT");
	unlink(procs);
}

/* ---- what the dump lacks is marked apart from display limits ---- */
static void test_cut_marks(void **state)
{
	(void)state;
	char text[16384];
	size_t k = (size_t)snprintf(
		text, sizeof text,
		"=erl_crash_dump:0.5\nMon Jan  6 06:25:34 2014\nSlogan: x\n"
		"System version: Erlang/OTP 25 [erts-13.1.5] [64-bit]\n=proc:<0.80.0>\n"
		"State: Waiting\nMessage queue length: 1\n=proc_messages:<0.80.0>\nH100:N\n"
		"=proc_heap:<0.80.0>\n100:t4:H200,H300,H400,H1000\n200:Yc9000:0:64\n"
		"300:Yh50:QUJD\n400:t3:I1,I2\n");
	for (int i = 0; i < 300; i++)
		k += (size_t)snprintf(text + k, sizeof text - k, "%X:lI97|%s%X\n", 0x1000 + 16 * i,
				      i == 299 ? "N" : "H", i == 299 ? 0 : 0x1000 + 16 * (i + 1));
	k += (size_t)snprintf(text + k, sizeof text - k, "=binary:9000\n64:QUJDREVG\n=end\n");
	text[k] = 0;
	/* The N of "N0": the last cell's tail is [] */
	char *nz = strstr(text, "|N0\n");
	assert_non_null(nz);
	memmove(nz + 2, nz + 3, strlen(nz + 3) + 1);
	char *out;
	assert_int_equal(run_text(&out, text, strlen(text), "proc '<0.80.0>'"), 0);
	assert_contains(out, "<<\"ABCDEF\">>(100 bytes, the dump has 6)");
	assert_contains(out, "<<\"ABC\">>(80 bytes, the dump has 3)");
	assert_contains(out, "{1,2,'#Cut'}");
	assert_contains(out, "aaaa\"...}");
	free(out);
	assert_int_equal(run_text(&out, text, strlen(text), "proc --json '<0.80.0>'"), 0);
	assert_contains(out, "(100 bytes, the dump has 6)");
	assert_contains(out, "'#Cut'");
	assert_contains(out, "aaaa\\\"...");
	free(out);
}

/* ---- the section commands, their JSON against docs/schema ---- */
static void validate(const char *schema, const char *json)
{
	const char *f = tu_write_temp(json, strlen(json));
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "python3 '%s/tests/validate_json.py' '%s/docs/schema/%s.schema.json' %s",
		 getenv("BD_SOURCE"), getenv("BD_SOURCE"), schema, f);
	int rc = system(cmd);
	unlink(f);
	if (rc)
		fail_msg("%s --json does not match docs/schema/%s.schema.json", schema, schema);
}

static void test_section_commands(void **state)
{
	(void)state;
	static const char *cmds[] = {"timers", "modules", "module lists", "funs",
				     "persistent-terms", "areas", "tables", "nodes",
				     "ets", "ports", "schedulers", "memory"};
	static const char *fx[] = {"tests/fixtures/terms_otp27.dump.zst",
				   "tests/fixtures/dist/dist.dump.zst",
				   "tests/fixtures/wild/014_r12b-5_kernelac_kazoo.dump.zst",
				   "tests/fixtures/wild/038_r16b03_doboot_canvas-game.dump.zst",
				   "tests/fixtures/wild/119_28_kernelac-rabbit_celery-rabbitmq.dump.zst"};
	for (size_t f = 0; f < sizeof fx / sizeof *fx; f++) {
		const char *p = tu_fixture(fx[f]);
		for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
			char *out, schema[64];
			int rc = tu_run(&out, "%s --json %s 2>/dev/null", cmds[i], p);
			if (rc != 0 && rc != 4)
				fail_msg("%s on %s: rc %d", cmds[i], fx[f], rc);
			snprintf(schema, sizeof schema, "%s", cmds[i]);
			schema[strcspn(schema, " ")] = 0;
			validate(schema, out);
			free(out);
			rc = tu_run(&out, "%s %s 2>/dev/null", cmds[i], p);
			assert_true(rc == 0 || rc == 4);
			free(out);
		}
		unlink(p);
	}
	/* What they say, on the OTP 27 fixture and the two-node dump. */
	const char *p = tu_fixture("tests/fixtures/terms_otp27.dump.zst");
	char *out;
	assert_int_equal(tu_run(&out, "timers --json %s", p), 0);
	assert_contains(out, "\"owner_name\":\"inet_db\",\"message\":\"refresh_timeout\"");
	free(out);
	assert_int_equal(tu_run(&out, "module lists %s", p), 0);
	assert_contains(out, "Attributes:       [{vsn,[");
	assert_contains(out, "{source,\"");
	free(out);
	assert_int_equal(tu_run(&out, "module nosuchmodule %s 2>/dev/null", p), 2);
	free(out);
	assert_int_equal(tu_run(&out, "funs --json %s", p), 0);
	assert_contains(out, "\"funs\":658");
	free(out);
	assert_int_equal(tu_run(&out, "persistent-terms %s", p), 0);
	assert_contains(out, "code_server => interactive");
	free(out);
	assert_int_equal(tu_run(&out, "tables --json %s", p), 0);
	assert_contains(out, "{\"name\":\"atom_tab\",\"kind\":\"index\"");
	assert_contains(out, "\"limit\":1048576");
	free(out);
	assert_int_equal(tu_run(&out, "areas %s", p), 0);
	assert_contains(out, "atom_space");
	free(out);
	assert_int_equal(tu_run(&out, "modules -n 1 %s", p), 0);
	assert_contains(out, "(1 of 102 modules, by current size)");
	free(out);
	unlink(p);
	p = tu_fixture("tests/fixtures/dist/dist.dump.zst");
	assert_int_equal(tu_run(&out, "nodes --json %s", p), 0);
	assert_contains(out, "\"kind\":\"visible\"");
	assert_contains(out, "{\"kind\":\"link\",\"local\":\"<0.");
	assert_contains(out, "{\"kind\":\"monitored_by\",\"local\":\"<0.");
	free(out);
	/* The same answers from a snapshot of the dump. */
	char snap[128];
	snprintf(snap, sizeof snap, "/tmp/bdnodes-%d.bdump", (int)getpid());
	assert_int_equal(tu_run(NULL, "convert %s -o %s 2>/dev/null", p, snap), 0);
	same_json("nodes", p, snap);
	same_json("timers", p, snap);
	unlink(snap);
	unlink(p);
}

/* What older VMs wrote and crashdump_viewer shows: Compiled, Started, CP, Run queue,
 * index table rate, the old code of a module; and the tags a newer VM may add. */
static void test_era_fields(void **state)
{
	(void)state;
	char *out;
	const char *p = tu_fixture("tests/fixtures/wild/005_r11b-0_doboot_fuzed-old.dump.zst");
	assert_int_equal(tu_run(&out, "info --json %s", p), 0);
	assert_contains(out, "\"compiled\":\"Fri Aug 11 20:16:50 2006\"");
	assert_contains(out, "\"unknown_sections\":null");
	free(out);
	assert_int_equal(tu_run(&out, "proc --json '<0.0.0>' %s", p), 0);
	assert_contains(out, "\"started\":\"Mon Jun 25 13:03:28 2007\"");
	assert_contains(out, "\"continuation_pointer\":\"0x010c4b3c (init:things_to_string/1 + 68)\"");
	free(out);
	assert_int_equal(tu_run(&out, "tables --json %s", p), 0);
	assert_contains(out, "\"rate\":100");
	free(out);
	unlink(p);
	p = tu_fixture("tests/fixtures/wild/047_17_userreq_flyingfox.dump.zst");
	assert_int_equal(tu_run(&out, "proc '<0.0.0>' %s", p), 0);
	assert_contains(out, "Run queue:      1\n");
	assert_contains(out, "Started:        Thu Aug 20 10:19:24 2015\n");
	free(out);
	unlink(p);
	/* A module loaded twice: both generations' attributes. */
	p = tu_fixture("tests/fixtures/wild/065_20_eheap_7langs-in-7weeks.dump.zst");
	assert_int_equal(tu_run(&out, "module --json basic %s", p), 0);
	assert_contains(out, "\"old_size\":760");
	assert_contains(out, "\"attributes\":\"[{vsn,[261166569143098995198042236562097626116]}]\"");
	assert_contains(out, "\"old_attributes\":\"[{vsn,[19244626775711975663047297094952796137]}]\"");
	assert_contains(out, "\"old_attributes_cut\":false");
	free(out);
	unlink(p);
	/* A section this reader does not know, right after a heap: it ends the heap (the
	 * process reads as before) and info names it. */
	p = tu_fixture("tests/fixtures/wild/122_28_nokernel_aoi.dump.zst");
	size_t n;
	char *t = tu_read_file(p, &n);
	assert_non_null(t);
	const char *h = strstr(t, "\n=proc_heap:<0.0.0>\n");
	assert_non_null(h);
	const char *nx = strstr(h + 1, "\n=");
	assert_non_null(nx);
	char q[96];
	snprintf(q, sizeof q, "/tmp/bdunk-%d.dump", (int)getpid());
	FILE *f = fopen(q, "wb");
	assert_non_null(f);
	static const char extra[] = "=proc_signals:<0.0.0>\nSignal queue length: 3\n";
	fwrite(t, 1, (size_t)(nx + 1 - t), f);
	fwrite(extra, 1, sizeof extra - 1, f);
	fwrite(nx + 1, 1, n - (size_t)(nx + 1 - t), f);
	fclose(f);
	free(t);
	assert_int_equal(tu_run(&out, "info %s", q), 0);
	assert_contains(out, "does not know, read past: proc_signals (1)");
	free(out);
	same_json("proc '<0.0.0>'", p, q);
	unlink(q);
	unlink(p);
}

/* ---- distribution messages (tests/fixtures/dist: a real OTP 25 node pair) ---- */

/* The message lines ("  [i] ...") of proc's text output, joined. */
static char *message_lines(const char *out, int first, int count)
{
	char *r = calloc(1, strlen(out) + 1);
	assert_non_null(r);
	for (int i = first; i < first + count; i++) {
		char pat[32];
		snprintf(pat, sizeof pat, "  [%d] ", i);
		const char *p = strstr(out, pat);
		assert_non_null(p);
		p += strlen(pat);
		strncat(r, p, strcspn(p, "\n") + 1);
	}
	return r;
}

static void test_dist_messages(void **state)
{
	(void)state;
	const char *p = tu_fixture("tests/fixtures/dist/dist.dump.zst");
	char *out, *w;
	/* dist_sink never received: its 18 messages are D lines with an atom cache. */
	assert_int_equal(tu_run(&out, "proc dist_sink %s", p), 0);
	assert_null(strstr(out, "distribution message>"));
	assert_null(strstr(out, "Undecodable"));
	assert_contains(out, "3   16.7 %  $gen_call {get,_}");
	assert_contains(out, "3   16.7 %  {job,_,_,_}");
	assert_contains(out, "{job,1,<<\"payload\">>,#{attempt => 1,from => ");
	assert_contains(out, "{'$gen_cast',{update,[alpha,beta,gamma],3.25}}");
	/* The remote pid, port and ref are on the sender's channel (=visible_node). */
	char *info;
	assert_int_equal(tu_run(&info, "info --json %s", p), 0);
	const char *ch = strstr(info, "\"channel\":");
	assert_non_null(ch);
	char pid[64], port[64], ref[64];
	int c = atoi(ch + 10);
	snprintf(pid, sizeof pid, ",<%d.", c);
	snprintf(port, sizeof port, "#Port<%d.", c);
	snprintf(ref, sizeof ref, "#Ref<%d.", c);
	assert_contains(out, pid);
	assert_contains(out, port);
	assert_contains(out, ref);
	assert_contains(out, "$gen_call from <");
	free(info);
	/* dist_waiter received the same six messages (decoded onto its heap): both
	 * print the same terms. */
	assert_int_equal(tu_run(&info, "proc dist_waiter %s", p), 0);
	char *a = message_lines(out, 0, 6), *b = message_lines(info, 0, 6);
	assert_string_equal(a, b);
	free(a);
	free(b);
	free(info);
	free(out);
	/* JSON and the mailbox finding see the same shapes. */
	assert_int_equal(tu_run(&w, "proc dist_sink --json %s", p), 0);
	assert_contains(w, "big_atom_message_that_is_long");
	free(w);
	unlink(p);
	/* Hex payload (dumps before 0.5) and separately padded base64 runs. */
	static const char *fmt =
		"=erl_crash_dump:%s\nMon Jan  6 06:25:34 2014\nSlogan: x\n"
		"System version: Erlang/OTP 20 [erts-9.0] [64-bit]\n=proc:<0.80.0>\n"
		"State: Waiting\nMessage queue length: 1\n=node:'a@vm'\n=visible_node:77\n"
		"Name: 'bddb29874@vm'\n=proc_messages:<0.80.0>\n"
		"D3:AC:bddb29874@vmA0:A9:dist_sinkE1F:%s:N\n=proc_heap:<0.80.0>\n=end\n";
	static const struct { const char *vsn, *data; } forms[] = {
		{"0.3", "836803520058520000000009000000006B15C2D15952000000000B6B15C2D1"},
		{"0.5", "g2gDUgBYUgAAAA==AAkAAAAAaxXC0VlSAAAAAAtrFcLR"},
	};
	for (size_t i = 0; i < 2; i++) {
		char text[1024];
		snprintf(text, sizeof text, fmt, forms[i].vsn, forms[i].data);
		assert_int_equal(run_text(&out, text, strlen(text), "proc '<0.80.0>'"), 0);
		assert_contains(out, "[0] {bddb29874@vm,<77.9.0>,#Port<77.11>}");
		free(out);
	}
}

/* ---- hostile inputs that once made the reader quadratic or greedy ---- */

/* Peak RSS (KB) of "beamdump ARGS" and its exit code, measured in a child so earlier
 * commands do not count. */
static long run_rss(int *rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static long run_rss(int *rc, const char *fmt, ...)
{
	char args[4096], cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "%s %s > /dev/null 2>&1", getenv("BD_BIN"), args);
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		int st = system(cmd);
		struct rusage ru;
		getrusage(RUSAGE_CHILDREN, &ru);
		long v[2] = {ru.ru_maxrss, WIFEXITED(st) ? WEXITSTATUS(st) : 128};
		if (write(fds[1], v, sizeof v) != (ssize_t)sizeof v)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	long v[2] = {0, 0};
	assert_int_equal(read(fds[0], v, sizeof v), (ssize_t)sizeof v);
	close(fds[0]);
	waitpid(pid, NULL, 0);
	*rc = (int)v[1];
	return v[0];
}

static const char hdr[] = "=erl_crash_dump:0.5\nMon Jan  6 06:25:34 2014\nSlogan: x\n"
			  "System version: Erlang/OTP 25 [erts-13.1.5] [64-bit]\nAtoms: 1\n";

static const char *write_big(const char *head, const char *line_fmt, long lines,
			     const char *tail)
{
	static char path[64];
	snprintf(path, sizeof path, "/tmp/bdhostile-%d.dump", (int)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(head, f);
	for (long i = 0; i < lines; i++)
		fprintf(f, line_fmt, 0x10000 + 16 * i, 0x10000 + 16 * (i + 1));
	fputs(tail, f);
	fclose(f);
	return path;
}

/* Unclosed "P<" in =literals (300k sections) and in a heap (600k lines): each used to
 * search to the end of the input; and a chain of tuples of arity 2^32 that allocated
 * gigabytes. Each must end within seconds, in bounded memory. */
static void test_hostile_reader(void **state)
{
	(void)state;
	char head[1024];
	int rc;
	double t0 = tu_now();
	snprintf(head, sizeof head, "%s=literals\n", hdr);
	const char *p = write_big(head, "1:P<\n=literals\n", 300000, "");
	long rss = run_rss(&rc, "info %s", p);
	assert_int_equal(rc, 4);
	assert_true(rss < 512 * 1024);
	run_rss(&rc, "analyze %s", p);
	assert_true(rc == 0 || rc == 4);
	unlink(p);
	snprintf(head, sizeof head,
		 "%s=proc:<0.80.0>\nState: Waiting\nSpawned as: a:b/0\n"
		 "Program counter: 0x0 (a:b/0 + 1)\n=proc_stack:<0.80.0>\ny0:H10000\n"
		 "=proc_heap:<0.80.0>\n", hdr);
	p = write_big(head, "%lX:P<\n", 600000, "=end\n");
	rss = run_rss(&rc, "proc '<0.80.0>' %s", p);
	assert_int_equal(rc, 0);
	assert_true(rss < 512 * 1024);
	run_rss(&rc, "state '<0.80.0>' %s", p);
	assert_true(rc == 0 || rc == 2);
	unlink(p);
	p = write_big(head, "%lX:tFFFFFFFF:H%lX\n", 120000, "=end\n");
	rss = run_rss(&rc, "proc '<0.80.0>' %s", p);
	assert_int_equal(rc, 0);
	assert_true(rss < 512 * 1024);
	rss = run_rss(&rc, "state '<0.80.0>' %s", p);
	assert_true(rc == 0 || rc == 2);
	assert_true(rss < 512 * 1024);
	unlink(p);
	assert_true(tu_now() - t0 < 60);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wild),
		cmocka_unit_test(test_samples_twins),
		cmocka_unit_test(test_generated_twins),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_cut_first_line),
		cmocka_unit_test(test_newer_format),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_bombs),
		cmocka_unit_test(test_hostile_reader),
		cmocka_unit_test(test_dist_messages),
		cmocka_unit_test(test_cut_marks),
		cmocka_unit_test(test_section_commands),
		cmocka_unit_test(test_era_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
