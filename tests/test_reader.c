/* The crash-dump reader on dumps of every era, from the CLI: the real-world dumps of
 * tests/fixtures/wild (R8B..OTP 28, as their MANIFEST describes them), their CRLF and
 * gzip twins read exactly like them, every sample likewise, dumps cut inside their
 * first line, a format newer than known, and compressed inputs that are not dumps
 * or expand without end. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
	assert_int_equal(n, 37);
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
	const char *zeros = "/tmp/bdbomb-zeros.zst";
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "head -c 300000000 /dev/zero | zstd -q -1 -c > %s", zeros);
	assert_int_equal(system(cmd), 0);
	double t0 = now();
	assert_int_equal(run2(&out, "info %s", zeros), 3);
	assert_contains(out, "not an Erlang crash dump");
	free(out);
	assert_int_equal(run2(&out, "info - < %s", zeros), 3);
	free(out);
	assert_true(now() - t0 < 5);
	unlink(zeros);
	/* A dump header, then a flood of =proc sections that expands 1e4:1: the spool
	 * stops early and the dump reads as cut, saying why. */
	const char *procs = "/tmp/bdbomb-procs.zst";
	snprintf(cmd, sizeof cmd,
		 "(printf '=erl_crash_dump:0.5\\nSlogan: x\\nSystem version: Erlang/OTP 25 "
		 "[erts-13.1.5]\\n'; yes '=proc:<0.1.0>' | head -c 120000000) | zstd -q -3 "
		 "--long=27 -c > %s", procs);
	assert_int_equal(system(cmd), 0);
	t0 = now();
	assert_int_equal(run2(&out, "info %s", procs), 4);
	assert_contains(out, "expands more than 1000:1");
	assert_contains(out, "BEAMDUMP_MAX_INPUT");
	free(out);
	assert_true(now() - t0 < 30);
	/* The limit can be set by hand. */
	setenv("BEAMDUMP_MAX_INPUT", "1M", 1);
	assert_int_equal(run2(&out, "info %s", procs), 4);
	assert_contains(out, "BEAMDUMP_MAX_INPUT (1.0 MB)");
	free(out);
	unsetenv("BEAMDUMP_MAX_INPUT");
	unlink(procs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wild),
		cmocka_unit_test(test_samples_twins),
		cmocka_unit_test(test_cut_first_line),
		cmocka_unit_test(test_newer_format),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_bombs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
