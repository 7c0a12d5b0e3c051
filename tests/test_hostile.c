/* Hostile input: every reproducer of tests/fixtures/hostile (README.md there says what
 * each one did) through the CLI commands it attacked, in a child with a time limit:
 * the exit code is 0, 3 or 4, the peak resident set stays bounded, and the output
 * holds no raw control character. Then the API cases and the output escaping. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "beamdump/term.h"
#include "elfobj.h"
#include "int.h"
#include "snapshot_int.h"
#include "snaputil.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif
#ifndef ASAN
#define ASAN 0
#endif

/* Limits per command. The inputs of the table are small or expand within seconds; a
 * sanitizer build is slower and its shadow memory counts in the resident set. */
#define TIME_LIMIT_S (ASAN ? 60 : 20)
#define RSS_LIMIT_MB (ASAN ? 1536 : 1024)


typedef struct hcase {
	int row;             /* row of the reproducer table (0: handled well before) */
	const char *file;    /* in tests/fixtures/hostile; ".pack.zst" = stored compressed */
	const char *args[4]; /* command and arguments; the input is appended */
	int stdin_input;     /* give the input on standard input ("-") */
} hcase;

static const hcase cases[] = {
	{1, "analyze_hang_cyclic_ancestors.dump", {"analyze"}, 0},
	{1, "analyze_hang_cyclic_ancestors.dump", {"analyze"}, 1},
	{1, "analyze_hang_cyclic_ancestors.dump", {"diff", "@"}, 0},
	{1, "analyze_hang_cyclic_ancestors_2cells.dump", {"analyze"}, 0},
	{1, "analyze_hang_cyclic_ancestors_2cells.dump", {"proc", "<0.80.0>"}, 0},
	{2, "proc_segv_etf_map_count.dump", {"proc", "<0.80.0>"}, 0},
	{2, "proc_segv_etf_map_count.dump", {"proc", "--json", "<0.80.0>"}, 0},
	{2, "proc_wildread_etf_map_huge_count.dump", {"proc", "<0.80.0>"}, 0},
	{3, "memory_segv_snapshot_null_alloc_key.bdump", {"memory"}, 0},
	{3, "memory_segv_snapshot_null_alloc_key.bdump", {"analyze"}, 0},
	{3, "memory_segv_snapshot_null_alloc_name.bdump", {"memory"}, 0},
	{3, "memory_segv_snapshot_null_alloc_name.bdump", {"analyze"}, 0},
	{4, "stack_value_at_eof_oob_read.dump", {"proc", "<0.1.0>"}, 0},
	{4, "stack_value_at_eof_oob_read.dump", {"state", "<0.1.0>"}, 0},
	{4, "stack_value_at_eof_oob_read.dump", {"analyze"}, 0},
	{4, "stack_value_at_eof_oob_read_min.dump", {"proc", "<0.79>"}, 0},
	{4, "stack_value_at_eof_oob_read_min.dump", {"analyze"}, 0},
	{5, "heap_empty_object_at_eof_oob_read.dump", {"proc", "<0.1.0>"}, 0},
	{5, "heap_empty_object_at_eof_oob_read_min.dump", {"proc", "<0.1.0>"}, 0},
	{5, "heap_empty_object_at_eof_oob_read_min.dump", {"analyze"}, 0},
	{6, "reader_quadratic_literals_unclosed_pid.dump.zst", {"info"}, 0},
	{7, "heap_index_quadratic_unclosed_pid.dump.zst", {"proc", "<0.80.0>"}, 0},
	{8, "bdump_scan_quadratic_100k_damaged.bdump.zst.pack.zst", {"info"}, 0},
	{9, "bdump_rows_ports_5GB.bdump", {"info"}, 0},
	{9, "bdump_rows_ports_5GB.bdump", {"ports"}, 0},
	{9, "bdump_rows_procs_2GB.bdump", {"info"}, 0},
	{9, "bdump_rows_procs_2GB.bdump", {"top"}, 0},
	{9, "bdump_rows_loose_800MB.bdump", {"info"}, 0},
	{9, "bdump_rows_loose_800MB.bdump", {"analyze"}, 0},
	{10, "bdump_termdict_bomb_8GB.bdump.pack.zst", {"info"}, 0},
	{10, "bdump_termdict_bomb_8GB.bdump.pack.zst", {"info"}, 1},
	{10, "bdump_termdict_bomb_8GB.bdump.pack.zst", {"convert", "-o", "@out"}, 0},
	{12, "zst_bomb_20g_zeros.zst.pack.zst", {"info"}, 0},
	{12, "zst_bomb_20g_zeros.zst.pack.zst", {"info"}, 1},
	{12, "zst_bomb_20g_proc_sections.dump.zst.pack.zst", {"info"}, 0},
	{13, "terminal_escapes.dump", {"info"}, 0},
	{13, "terminal_escapes.dump", {"analyze"}, 0},
	{13, "terminal_escapes.dump", {"analyze", "--color", "always"}, 0},
	{13, "terminal_escapes.dump", {"proc", "<0.80.0>"}, 0},
	{13, "terminal_escapes.dump", {"top"}, 0},
	{13, "terminal_escapes.dump", {"state", "<0.80.0>"}, 0},
	{13, "terminal_escapes.dump", {"info", "--color", "never"}, 0},
	{13, "terminal_escapes_tables.dump", {"ets"}, 0},
	{13, "terminal_escapes_tables.dump", {"ports"}, 0},
	{13, "terminal_escapes_tables.dump", {"analyze", "--verbose"}, 0},
	{14, "tuple_arity_chain_2GB.dump.zst.pack.zst", {"proc", "<0.80.0>"}, 0},
	{14, "tuple_arity_chain_2GB.dump.zst.pack.zst", {"state", "<0.80.0>"}, 0},
	{17, "ub_null_plus_zero.dump", {"info"}, 0},
	{17, "ub_null_plus_zero.dump", {"analyze"}, 0},
	{18, "all_commands_segv_snapshot_null_table_name.bdump", {"info"}, 0},
	{18, "all_commands_segv_snapshot_null_table_name.bdump", {"top"}, 0},
	{18, "all_commands_segv_snapshot_null_table_name.bdump", {"analyze"}, 0},
	{18, "all_commands_segv_snapshot_null_table_name.bdump", {"memory"}, 0},
	{18, "all_commands_segv_snapshot_null_table_name.bdump", {"convert", "-o", "@out"}, 0},
	{18, "all_commands_segv_snapshot_null_table_name_fuzz.bdump", {"info"}, 0},
	{18, "all_commands_segv_snapshot_null_table_name_fuzz.bdump", {"analyze"}, 0},
	{18, "all_commands_segv_snapshot_null_table_name_fuzz.bdump", {"atoms"}, 0},
	{0, "absurd_sizes_ok.dump", {"proc", "<0.80.0>"}, 0},
	{0, "absurd_sizes_ok.dump", {"analyze"}, 0},
	{0, "cycle_tuple_ok.dump", {"proc", "<0.80.0>"}, 0},
	{0, "cycle_tuple_ok.dump", {"state", "<0.80.0>"}, 0},
	{0, "nul_bytes.dump", {"info"}, 0},
	{0, "nul_bytes.dump", {"top"}, 0},
	{0, "nul_bytes.dump", {"proc", "<0.80.0>"}, 0},
};

/* ---- fixtures ---- */
static char tmpdir[64];

/* Path of a fixture as the CLI takes it: unpacked into tmpdir when stored packed. */
static const char *fixture(const char *name, char *buf, size_t cap)
{
	const char *root = getenv("BD_SOURCE");
	assert_non_null(root);
	char src[1024];
	snprintf(src, sizeof src, "%s/tests/fixtures/hostile/%s", root, name);
	size_t n = strlen(name);
	if (n < 9 || strcmp(name + n - 9, ".pack.zst")) {
		snprintf(buf, cap, "%s", src);
		return buf;
	}
	snprintf(buf, cap, "%s/%.*s", tmpdir, (int)(n - 9), name);
	if (access(buf, R_OK) == 0)
		return buf;
	size_t zl;
	char *z = tu_read_file(src, &zl);
	assert_non_null(z);
	unsigned long long raw = ZSTD_getFrameContentSize(z, zl);
	assert_true(raw != ZSTD_CONTENTSIZE_ERROR && raw != ZSTD_CONTENTSIZE_UNKNOWN);
	char *out = malloc(raw ? raw : 1);
	assert_non_null(out);
	assert_int_equal(ZSTD_decompress(out, raw, z, zl), raw);
	FILE *f = fopen(buf, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(out, 1, raw, f), raw);
	fclose(f);
	free(out);
	free(z);
	return buf;
}

/* ---- running the CLI ---- */
typedef struct result {
	int code;            /* exit code, or 128 + signal */
	int timed_out;
	double seconds;
	long rss_mb;
	char *out, *err;     /* stdout and stderr */
	size_t out_len, err_len;
} result;

/* Run beamdump argv (NULL-terminated) with stdin from in_path (or /dev/null). */
static void run_cli_limit(char *const argv[], const char *in_path, int limit_s, result *r)
{
	const char *bin = getenv("BD_BIN");
	assert_non_null(bin);
	char out_path[128], err_path[128];
	snprintf(out_path, sizeof out_path, "%s/stdout", tmpdir);
	snprintf(err_path, sizeof err_path, "%s/stderr", tmpdir);
	memset(r, 0, sizeof *r);
	double t0 = tu_now();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int in = open(in_path ? in_path : "/dev/null", O_RDONLY);
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (in < 0 || o < 0 || e < 0)
			_exit(126);
		dup2(in, 0);
		dup2(o, 1);
		dup2(e, 2);
		char asan[256];
		snprintf(asan, sizeof asan, "%s%shard_rss_limit_mb=%d:allocator_may_return_null=1",
			 getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "",
			 getenv("ASAN_OPTIONS") ? ":" : "", RSS_LIMIT_MB);
		setenv("ASAN_OPTIONS", asan, 1);
		setenv("TMPDIR", tmpdir, 1);
		if (!ASAN) {
			/* address space bound as a backstop; ASan needs its shadow mapping */
			struct rlimit rl = {(rlim_t)RSS_LIMIT_MB << 21, (rlim_t)RSS_LIMIT_MB << 21};
			setrlimit(RLIMIT_AS, &rl);
		}
		execv(bin, argv);
		_exit(127);
	}
	int st = 0;
	struct rusage ru;
	for (;;) {
		pid_t w = wait4(pid, &st, WNOHANG, &ru);
		if (w == pid)
			break;
		if (tu_now() - t0 > limit_s) {
			kill(pid, SIGKILL);
			wait4(pid, &st, 0, &ru);
			r->timed_out = 1;
			break;
		}
		usleep(2000);
	}
	r->seconds = tu_now() - t0;
	r->rss_mb = ru.ru_maxrss / 1024;
	r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->out = tu_read_file(out_path, &r->out_len);
	r->err = tu_read_file(err_path, &r->err_len);
	assert_non_null(r->out);
	assert_non_null(r->err);
}

static void run_cli(char *const argv[], const char *in_path, result *r)
{
	run_cli_limit(argv, in_path, TIME_LIMIT_S, r);
}

/* Offset of the first raw control character a terminal would act on, or -1: C0 but
 * \n and \t, DEL, a C1 byte outside UTF-8, U+0080..U+009F. */
static long raw_control(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n; i++) {
		unsigned c = p[i];
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			return (long)i;
		if (c == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] < 0xa0)
			return (long)i;
		if (c >= 0xc2 && c < 0xf5) { /* skip the continuation bytes of a character */
			size_t need = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1, k = 0;
			while (k < need && i + 1 + k < n && (p[i + 1 + k] & 0xc0) == 0x80)
				k++;
			if (k == need) {
				i += k;
				continue;
			}
		}
		if (c >= 0x80 && c < 0xa0)
			return (long)i;
	}
	return -1;
}

/* The color codes of analyze --color always are the program's own. */
static size_t strip_sgr(char *s, size_t n)
{
	static const char *const sgr[] = {"\033[2m", "\033[33m", "\033[1;31m", "\033[0m"};
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		size_t m = 0;
		for (size_t j = 0; j < 4 && !m; j++)
			if (n - i >= strlen(sgr[j]) && !memcmp(s + i, sgr[j], strlen(sgr[j])))
				m = strlen(sgr[j]);
		if (m) {
			i += m;
			continue;
		}
		s[k++] = s[i++];
	}
	return k;
}

static void free_result(result *r)
{
	free(r->out);
	free(r->err);
}

/* Run one case; returns 0 when it held, else -1 with the reason in why. */
static int run_case(const hcase *c, char *why, size_t cap)
{
	char in[1024], outfile[128];
	fixture(c->file, in, sizeof in);
	snprintf(outfile, sizeof outfile, "%s/out.bdump", tmpdir);
	char *argv[12];
	int k = 0;
	argv[k++] = "beamdump";
	for (int i = 0; i < 4 && c->args[i]; i++) {
		const char *a = c->args[i];
		argv[k++] = (char *)(!strcmp(a, "@") ? in : !strcmp(a, "@out") ? outfile : a);
	}
	argv[k++] = c->stdin_input ? "-" : in;
	argv[k] = NULL;
	result r;
	run_cli(argv, c->stdin_input ? in : NULL, &r);
	int rc = 0;
	if (r.timed_out)
		snprintf(why, cap, "no answer within %d s", TIME_LIMIT_S), rc = -1;
	else if (r.code != 0 && r.code != 3 && r.code != 4)
		snprintf(why, cap, "exit code %d: %.200s", r.code, r.err), rc = -1;
	else if (r.rss_mb > RSS_LIMIT_MB)
		snprintf(why, cap, "peak RSS %ld MB", r.rss_mb), rc = -1;
	if (!rc) {
		int color = k > 3 && !strcmp(argv[2], "--color") && !strcmp(argv[3], "always");
		size_t n = color ? strip_sgr(r.out, r.out_len) : r.out_len;
		long at = raw_control(r.out, n), ae = raw_control(r.err, r.err_len);
		if (at >= 0)
			snprintf(why, cap, "raw control byte 0x%02x in stdout at %ld", (unsigned char)r.out[at], at), rc = -1;
		else if (ae >= 0)
			snprintf(why, cap, "raw control byte 0x%02x in stderr at %ld", (unsigned char)r.err[ae], ae), rc = -1;
	}
	print_message("row %2d %-58s %-22s exit %d, %.2f s, %ld MB%s\n", c->row, c->file,
		      c->args[0], r.code, r.seconds, r.rss_mb, c->stdin_input ? " (stdin)" : "");
	free_result(&r);
	return rc;
}

static void test_reproducers(void **state)
{
	(void)state;
	int failed = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char why[512];
		if (run_case(&cases[i], why, sizeof why) == 0)
			continue;
		print_error("row %d %s %s: %s\n", cases[i].row, cases[i].file, cases[i].args[0], why);
		failed++;
	}
	assert_int_equal(failed, 0);
}

/* Run argv on a generated input and check the same three things. */
static void expect_bounded(const char *path, const char *cmd, result *r)
{
	char *argv[] = {"beamdump", (char *)cmd, (char *)path, NULL};
	run_cli(argv, NULL, r);
	print_message("generated %-44s %-8s exit %d, %.2f s, %ld MB\n", strrchr(path, '/') + 1,
		      cmd, r->code, r->seconds, r->rss_mb);
	assert_false(r->timed_out);
	assert_true(r->code == 0 || r->code == 3 || r->code == 4);
	assert_true(r->rss_mb <= RSS_LIMIT_MB);
	assert_true(raw_control(r->out, r->out_len) < 0);
	assert_true(raw_control(r->err, r->err_len) < 0);
}

/* Row 11 at CI size: 64 MiB of bare =proc sections (distinct pids, which the
 * reproducer's 1 GiB of one pid does not even need). Each used to cost ~370 bytes of
 * model for 20 bytes of input; the model now stays within the input's size. The full
 * reproducer runs with BD_HOSTILE_FULL=1. */
static void test_proc_section_flood(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof path, "%s/proc_flood.dump", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("=erl_crash_dump:0.5\nSat Nov 21 22:17:14 2026\nSlogan: flood\n"
	      "System version: Erlang/OTP 25 [erts-13.1.5]\nAtoms: 1\n", f);
	long size = 0;
	for (unsigned i = 0; size < (64l << 20); i++)
		size += fprintf(f, "=proc:<0.%u.0>\n", i);
	fclose(f);
	result r;
	expect_bounded(path, "info", &r);
	/* at most input/384 rows of a few hundred bytes: far below the 1.7 GB it took */
	assert_true(r.rss_mb < 400);
	assert_non_null(strstr(r.err, "more processes than a dump of this size holds"));
	free_result(&r);
	unlink(path);
	if (getenv("BD_HOSTILE_FULL")) {
		char in[1024];
		fixture("zst_bomb_1g_proc_sections.dump.zst.pack.zst", in, sizeof in);
		expect_bounded(in, "info", &r);
		free_result(&r);
	}
}

/* Row 15 at CI size: a 64 MiB slogan line is kept as 64 KiB and "...", not copied
 * whole (the 3 GiB one of the reproducer took 6 GB); info prints 64 KiB of it. */
static void test_huge_slogan(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof path, "%s/slogan.dump", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("=erl_crash_dump:0.5\nSat Nov 21 22:17:14 2026\nSlogan: ", f);
	static char chunk[1 << 16];
	memset(chunk, 'x', sizeof chunk);
	for (int i = 0; i < 1024; i++)
		fwrite(chunk, 1, sizeof chunk, f);
	fputs("\nSystem version: Erlang/OTP 25 [erts-13.1.5]\nAtoms: 1\n=end\n", f);
	fclose(f);
	const char *cmds[] = {"info", "analyze", "top"};
	for (int i = 0; i < 3; i++) {
		result r;
		expect_bounded(path, cmds[i], &r);
		assert_true(r.out_len < (200u << 10));
		/* the mapped input may be resident; a copy of the line would double it */
		assert_true(r.rss_mb < 64 + (ASAN ? 160 : 48));
		if (!i)
			assert_non_null(strstr(r.out, "xxx..."));
		free_result(&r);
	}
	unlink(path);
}

/* ---- API cases ---- */
/* Row 16: a literals-only context decodes a pointer it cannot resolve as missing. */
static void test_literals_context(void **state)
{
	(void)state;
	bd_model *m = tu_open_text("=erl_crash_dump:0.5\nSat Nov 21 22:17:14 2026\nSlogan: x\n"
				   "System version: Erlang/OTP 25 [erts-13.1.5]\n"
				   "=literals\nAB:t1:I1\n=end\n");
	bd_heap *h;
	bd_error err = {0};
	assert_int_equal(bd_heap_open_literals(&h, m, &err), 0);
	bd_term *t = bd_heap_decode(h, "HDEAD", 5);
	assert_non_null(t);
	assert_int_equal(t->kind, BD_T_MISSING);
	t = bd_heap_decode(h, "HAB", 3);
	assert_int_equal(t->kind, BD_T_TUPLE);
	bd_heap_free(h);
	bd_model_free(m);
}

/* Row 1 in the decoder: cyclic cons cells and tuples decode to finite trees. */
static void test_cycles_cut(void **state)
{
	(void)state;
	bd_model *m = tu_open_text(
		"=erl_crash_dump:0.5\nSat Nov 21 22:17:14 2026\nSlogan: x\n"
		"System version: Erlang/OTP 25 [erts-13.1.5]\n=proc:<0.80.0>\nState: Waiting\n"
		"=proc_dictionary:<0.80.0>\nH10\n=proc_heap:<0.80.0>\n"
		"10:t2:AA:$ancestors,H20\n20:lA3:sup|H30\n30:lA3:app|H20\n"
		"40:t2:H40,H50\n50:lI1|H50\n=end\n");
	const bd_proc *p = bd_proc_find(m, "<0.80.0>");
	assert_non_null(p);
	bd_heap *h;
	bd_error err = {0};
	assert_int_equal(bd_heap_open(&h, m, p, &err), 0);
	const bd_term *anc = bd_heap_dict_get(h, "$ancestors");
	assert_non_null(anc);
	const bd_term *items[8];
	/* [sup, app | #Missing]: the back-reference is cut, so the list is improper */
	assert_int_equal(bd_term_list(anc, items, 8), -1);
	bd_term *t = bd_heap_decode(h, "H40", 3);
	assert_int_equal(t->kind, BD_T_TUPLE);
	assert_int_equal(t->u.elems[0]->kind, BD_T_MISSING);
	const bd_term *l = t->u.elems[1];
	assert_int_equal(l->kind, BD_T_CONS);
	assert_int_equal(l->u.elems[1]->kind, BD_T_MISSING);
	char buf[256];
	bd_term_fmt(t, buf, sizeof buf, -1, -1);
	assert_string_equal(buf, "{'#Missing<40>',[1|'#Missing<50>']}");
	bd_heap_free(h);
	bd_model_free(m);
}

/* Row 2 in the decoder: a map, tuple or list cut short holds what decoded. */
static void test_etf_counts(void **state)
{
	(void)state;
	bd_arena a = {0};
	/* MAP_EXT of 5 pairs, no data; of 2^31+1 pairs; of 2 pairs with one */
	static const uint8_t m5[] = {131, 116, 0, 0, 0, 5};
	static const uint8_t mhuge[] = {131, 116, 0x80, 0, 0, 1, 97, 1};
	static const uint8_t m2[] = {131, 116, 0, 0, 0, 2, 97, 1, 97, 2, 97};
	static const uint8_t l3[] = {131, 108, 0, 0, 0, 3, 97, 1, 97};
	const struct { const uint8_t *p; size_t n; int kind; uint32_t count; } v[] = {
		{m5, sizeof m5, BD_T_MAP, 0},
		{m2, sizeof m2, BD_T_MAP, 1},
		{l3, sizeof l3, BD_T_CONS, 1},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		bd_term *t = bd_etf_decode(&a, v[i].p, v[i].n, 1000);
		assert_non_null(t);
		assert_int_equal(t->kind, v[i].kind);
		if (t->kind == BD_T_MAP)
			assert_int_equal(t->n, v[i].count);
		else
			assert_int_equal(bd_term_list(t, NULL, 0), v[i].count);
		char buf[128];
		bd_term_fmt(t, buf, sizeof buf, -1, -1);
	}
	assert_null(bd_etf_decode(&a, mhuge, sizeof mhuge, 1000));
	bd_arena_free(&a);
}

/* Rows 3 and 18: a snapshot whose required strings are left out reads them as "?"
 * (the text dumps' guarantee), and every command answers. */
static void test_snapshot_required_strings(void **state)
{
	(void)state;
	bd_model *m = tu_open_text(
		"=erl_crash_dump:0.5\nSat Nov 21 22:17:14 2026\nSlogan: x\n"
		"System version: Erlang/OTP 25 [erts-13.1.5] [64-bit]\n"
		"=index_table:atom_tab\nsize: 1\nlimit: 1048576\nentries: 9\n"
		"=allocator:binary_alloc[1]\nmbcs blocks[binary_alloc] size: 100 200 300\n"
		"mbcs carriers size: 1000 2000 3000\n=end\n");
	size_t n;
	bd_alloc_stat *st = (bd_alloc_stat *)bd_model_alloc_stats(m, &n);
	assert_true(n >= 2);
	st[0].alloc = NULL;
	st[1].key = NULL;
	bd_table_stat *ts = (bd_table_stat *)bd_model_table_stats(m, &n);
	assert_true(n >= 1);
	ts[0].name = NULL;
	su_recs recs;
	su_collect(m, &recs);
	const char *path = su_temp(".bdump");
	assert_int_equal(su_write(&recs, path, NULL), 0);
	su_recs_free(&recs);
	bd_model_free(m);
	bd_error err = {0};
	assert_int_equal(bd_model_open(&m, path, &err), 0);
	const bd_alloc_stat *rs = bd_model_alloc_stats(m, &n);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(rs[i].alloc);
		assert_non_null(rs[i].key);
	}
	assert_string_equal(rs[0].alloc, "?");
	assert_string_equal(bd_model_table_stats(m, &n)[0].name, "?");
	bd_model_free(m);
	const char *cmds[] = {"info", "memory", "analyze", "top", "atoms"};
	for (int i = 0; i < 5; i++) {
		result r;
		expect_bounded(path, cmds[i], &r);
		assert_true(r.code == 0);
		free_result(&r);
	}
	unlink(path);
}

/* Row 9 past the header check: a table chunk whose rows are all there (one byte each
 * in one column, 3 MB that zstd stores in a few hundred bytes) but would take 360 MB
 * of model. The chunk is skipped as more than the snapshot can hold, before any row is
 * allocated (nothing else is in the file: exit 3, with that reason). */
static void test_snapshot_rows_budget(void **state)
{
	(void)state;
	const uint32_t rows = 3000000;
	su_recs recs = {0};
	recs.cap = 1;
	recs.v = calloc(1, sizeof *recs.v);
	assert_non_null(recs.v);
	size_t n = 0, cap = rows + 32;
	uint8_t *p = malloc(cap);
	assert_non_null(p);
	uint64_t hdr[] = {rows, 1, 5 /* column: slot */, SC_UINT, rows};
	for (int i = 0; i < 5; i++) {
		if (i == 3) {
			p[n++] = (uint8_t)hdr[i];
			continue;
		}
		for (uint64_t v = hdr[i]; ; v >>= 7) {
			p[n++] = (uint8_t)(v < 0x80 ? v : (v & 0x7f) | 0x80);
			if (v < 0x80)
				break;
		}
	}
	memset(p + n, 1, rows); /* slot 0 in every row */
	n += rows;
	recs.v[0] = (su_rec){{BD_REC_TABLE, 1, ST_PORTS, 0, rows, 0}, p, n};
	recs.n = 1;
	const char *path = su_temp(".bdump");
	assert_int_equal(su_write(&recs, path, NULL), 0);
	su_recs_free(&recs);
	const char *cmds[] = {"info", "ports"};
	for (int i = 0; i < 2; i++) {
		result r;
		expect_bounded(path, cmds[i], &r);
		assert_true(r.rss_mb < (ASAN ? 300 : 150));
		assert_non_null(strstr(r.err, "more rows than the snapshot can hold"));
		free_result(&r);
	}
	unlink(path);
}

/* Ids of lost STRINGS/TERMDICT records are kept as ranges: a damaged count of 2^32
 * ids costs one range, not 2^32 slots filled (that took seconds and 200 MB per
 * input), and the ids after a range still map to their strings. */
static void test_lost_id_ranges(void **state)
{
	(void)state;
	snap_holes h = {0};
	assert_int_equal(snap_holes_map(&h, 7), 7);
	assert_int_equal(snap_holes_add(&h, 5, 10), 0);           /* ids 5..9 lost */
	assert_int_equal(snap_holes_add(&h, 10, 12), 0);          /* extends: 5..11 */
	assert_int_equal(snap_holes_add(&h, 20, (uint64_t)1 << 40), 0);
	assert_int_equal(snap_holes_add(&h, ((uint64_t)1 << 40) + 3, ((uint64_t)1 << 40) + 4), 0);
	assert_int_equal(h.n, 3);
	assert_int_equal(snap_holes_map(&h, 4), 4);
	assert_true(snap_holes_map(&h, 5) == UINT64_MAX);
	assert_true(snap_holes_map(&h, 11) == UINT64_MAX);
	assert_int_equal(snap_holes_map(&h, 12), 5);              /* 7 lost before it */
	assert_int_equal(snap_holes_map(&h, 19), 12);
	assert_true(snap_holes_map(&h, 20) == UINT64_MAX);
	assert_true(snap_holes_map(&h, ((uint64_t)1 << 40) - 1) == UINT64_MAX);
	uint64_t lost = 7 + ((uint64_t)1 << 40) - 20;
	assert_int_equal(snap_holes_map(&h, (uint64_t)1 << 40), ((uint64_t)1 << 40) - lost);
	assert_true(snap_holes_map(&h, ((uint64_t)1 << 40) + 3) == UINT64_MAX);
	assert_int_equal(snap_holes_map(&h, ((uint64_t)1 << 40) + 4), ((uint64_t)1 << 40) + 3 - lost);
	assert_int_equal(snap_holes_lost(&h), lost + 1);
	free(h.v);
}

/* A core names the files it had mapped; a hostile one may name a FIFO (whose open
 * waits for a writer forever) where its executable was. A real core (the fuzz seed of
 * sleep killed by SIGSEGV) with its executable's path pointed at a FIFO still opens at
 * once, that object missing. */
static void test_core_names_fifo(void **state)
{
	(void)state;
	const char *root = getenv("BD_SOURCE");
	assert_non_null(root);
	char src[1024], fifo[32], core[128];
	snprintf(src, sizeof src, "%s/tests/fuzz/corpus/core/sleep.core", root);
	size_t n;
	char *d = tu_read_file(src, &n);
	assert_non_null(d);
	static const char exe[] = "/usr/bin/sleep";
	snprintf(fifo, sizeof fifo, "/tmp/bdf%06u", (unsigned)getpid() % 1000000u);
	assert_int_equal(strlen(fifo), strlen(exe));
	size_t hits = 0;
	for (size_t i = 0; i + strlen(exe) <= n; i++)
		if (!memcmp(d + i, exe, strlen(exe))) {
			memcpy(d + i, fifo, strlen(exe));
			hits++;
		}
	assert_true(hits > 0);
	snprintf(core, sizeof core, "%s/fifo.core", tmpdir);
	FILE *f = fopen(core, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(d, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	free(d);
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	result r;
	expect_bounded(core, "core", &r);
	assert_true(r.seconds < 30);
	free_result(&r);
	unlink(fifo);
	unlink(core);
}

/* Link-time pcs of obj's function fn where the frame is the classic rbp frame (CFA = rbp +
 * 16, return address at CFA - 8, caller's rbp at CFA - 16), at pc and pc - 1 (the
 * unwinder looks a return address up at pc - 1), and (inlined) functions are inlined
 * at pc - 1 (at least that many): up to max of them, how many found. */
static int rbp_frame_pcs(nat_obj *o, const char *fn, int inlined, uint64_t *out, int max)
{
	enum { NR_RBP = 6, NR_RIP = 16 }; /* DWARF numbers: rbp, the return address */
	uint64_t size = 0, start = nat_obj_lookup(o, fn, &size);
	int found = 0;
	for (uint64_t pc = start + 8; start && pc < start + size && found < max; pc++) {
		nat_cfi c[2];
		int ok = 1;
		for (int k = 0; k < 2 && ok; k++)
			ok = !nat_obj_cfi(o, pc - (uint64_t)k, &c[k]) && c[k].cfa.kind == NCR_REG &&
			     c[k].cfa.reg == NR_RBP && c[k].cfa.off == 16 &&
			     c[k].regs[NR_RIP].kind == NCR_OFFSET && c[k].regs[NR_RIP].off == -8 &&
			     c[k].regs[NR_RBP].kind == NCR_OFFSET && c[k].regs[NR_RBP].off == -16;
		nat_inline inl[16];
		if (ok && inlined && nat_obj_inlines(o, pc - 1, inl, 16) < inlined)
			ok = 0;
		if (ok)
			out[found++] = pc;
	}
	return found;
}

static void put_note(FILE *f, uint32_t type, const void *desc, uint32_t n)
{
	uint32_t h[3] = {5, n, type};
	static const uint8_t pad[4];
	fwrite(h, 4, 3, f);
	fwrite("CORE\0\0\0", 1, 8, f);
	fwrite(desc, 1, n, f);
	fwrite(pad, 1, (4 - n % 4) % 4, f);
}

/* A forged core at path: threads whose registers all point into one stack of depth
 * rbp frames of the executable bin (mapped as the process's), the return addresses
 * taken in turn from pcs (link-time). */
static void forge_core(const char *path, const char *bin, uint64_t link, uint32_t threads,
		       uint64_t depth, const uint64_t *pcs, int npcs)
{
	enum { PRSTATUS = 336, REGS = 112 };
	const uint64_t base = 0x555555554000ull, stack = 0x7ffd00000000ull;
	uint64_t ssize = 16ull * (depth + 2);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	/* notes: the threads, then NT_FILE mapping the executable at base */
	size_t nl = strlen(bin) + 1, file_desc = 16 + 24 + nl;
	size_t notes = threads * (20 + PRSTATUS) + 20 + ((file_desc + 3) & ~(size_t)3);
	uint8_t eh[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
	uint64_t phoff = 64, data = 64 + 2 * 56;
	eh[16] = 4 /* ET_CORE */, eh[18] = 62 /* EM_X86_64 */, eh[20] = 1;
	memcpy(eh + 32, &phoff, 8);
	eh[52] = 64, eh[54] = 56, eh[56] = 2;
	fwrite(eh, 1, 64, f);
	uint64_t ph[2][7] = {{4 /* PT_NOTE */, data, 0, 0, notes, 0, 4},
			     {1 /* PT_LOAD, RW */ | (6ull << 32), data + notes, stack, 0, ssize, ssize, 4096}};
	for (int i = 0; i < 2; i++)
		fwrite(ph[i], 8, 7, f);
	uint8_t pr[PRSTATUS] = {0};
	uint64_t regs[27] = {0};
	regs[4] = stack, regs[16] = base + (pcs[0] - link), regs[19] = stack; /* rbp, rip, rsp */
	memcpy(pr + REGS, regs, sizeof regs);
	pr[12] = 11; /* cursig */
	for (uint32_t t = 0; t < threads; t++) {
		uint32_t tid = 1000 + t;
		memcpy(pr + 32, &tid, 4);
		put_note(f, 1 /* NT_PRSTATUS */, pr, PRSTATUS);
	}
	uint8_t *fd = calloc(1, file_desc);
	uint64_t fe[5] = {1, 4096, base, base + (64u << 20), 0};
	memcpy(fd, fe, sizeof fe);
	memcpy(fd + 40, bin, nl);
	put_note(f, 0x46494c45 /* NT_FILE */, fd, (uint32_t)file_desc);
	free(fd);
	for (uint64_t k = 0; k < depth + 2; k++) { /* rbp chain: next frame, return address */
		uint64_t fr[2] = {stack + 16 * (k + 1), base + (pcs[(k + 1) % (uint64_t)npcs] - link)};
		fwrite(fr, 8, 2, f);
	}
	assert_int_equal(fclose(f), 0);
}

/* pcs of an object for forge_core, link-time (its CFI is on disk wherever the test
 * runs): beamdump's own main, or with inlined functions a small library compiled
 * here (beamdump itself is built without optimization: nothing is inlined). How many
 * (0 when there is none such), the object in bin. */
static int own_pcs(int inlined, uint64_t *pcs, int max, uint64_t *link, char *bin, size_t cap)
{
	snprintf(bin, cap, "%s", getenv("BD_BIN"));
	if (inlined) {
		char src[128], cmd[512];
		snprintf(src, sizeof src, "%s/inl.c", tmpdir);
		snprintf(bin, cap, "%s/inl.so", tmpdir);
		FILE *f = fopen(src, "w");
		assert_non_null(f);
		fputs("extern void ext(int);\n"
		      "static inline __attribute__((always_inline)) void inner(int x) { ext(x); ext(x + 1); }\n"
		      "int forged_main(int x) { inner(x); inner(x * 3); return x + 1; }\n", f);
		assert_int_equal(fclose(f), 0);
		snprintf(cmd, sizeof cmd, "cc -O2 -g -fno-omit-frame-pointer -shared -fPIC -o %s %s", bin, src);
		if (system(cmd) != 0) {
			print_message("skipped: no C compiler (%s)\n", cmd);
			return 0;
		}
	}
	bd_arena a = {0};
	const char *why = NULL;
	nat_obj *o = nat_obj_open(bin, &a, &why);
	assert_non_null(o);
	int n = rbp_frame_pcs(o, inlined ? "forged_main" : "main", inlined, pcs, max);
	*link = nat_obj_link_base(o);
	nat_obj_close(o);
	bd_arena_free(&a);
	if (!n)
		print_message("skipped: %s has no rbp frame%s\n", bin, inlined ? " at an inlined call" : "");
	return n;
}

/* A forged core: 4096 threads whose registers all point into one stack of 65,536
 * rbp frames of a function of the beamdump executable itself. Each thread cost a
 * full unwind: 4096 x 65,536 frames, minutes of CPU and gigabytes of frames; the core
 * now has a budget of frames. */
static void test_core_frame_budget(void **state)
{
	(void)state;
	uint64_t pc, link;
	char bin[256];
	if (!own_pcs(0, &pc, 1, &link, bin, sizeof bin))
		return;
	char core[128];
	snprintf(core, sizeof core, "%s/deep.core", tmpdir);
	forge_core(core, bin, link, 4096, 65536, &pc, 1);
	result r;
	expect_bounded(core, "core", &r);
	assert_true(r.seconds < (ASAN ? 45 : 15));
	if (!strstr(r.out, "frames unwound in all threads"))
		fail_msg("no frame budget note in: %.1500s", r.out);
	free_result(&r);
	unlink(core);
}

/* One thread of 65,536 frames that alternate between two call sites with functions
 * inlined at them: every unwound frame gives two or more frames of the table (the
 * inlined ones first), more than the thread's 65,536 (the table of where each came
 * from had room for that many: a heap overflow). */
static void test_core_inlined_frames(void **state)
{
	(void)state;
	uint64_t pcs[2], link;
	char bin[256];
	if (own_pcs(1, pcs, 2, &link, bin, sizeof bin) < 2)
		return;
	char core[128];
	snprintf(core, sizeof core, "%s/inlined.core", tmpdir);
	forge_core(core, bin, link, 1, 65536, pcs, 2);
	result r;
	expect_bounded(core, "core", &r);
	assert_true(r.seconds < (ASAN ? 45 : 15));
	free_result(&r);
	char *argv[] = {"beamdump", "core", "--json", core, NULL};
	run_cli(argv, NULL, &r);
	if (!strstr(r.out, "more frames than a thread's table holds"))
		fail_msg("no stop reason for the cut thread in: %.1500s", r.out);
	free_result(&r);
	unlink(core);
	unlink(bin);
}

/* ---- output escaping ---- */
/* Dump strings with line breaks, tabs, ESC, DEL, C1 and NUL reach every text command
 * escaped: no raw control byte, and no line of output starts with what followed a
 * newline in a name. */
static void test_escaped_fields(void **state)
{
	(void)state;
	bd_model *m = tu_open_text(
		"=erl_crash_dump:0.5\nSat Nov 21 22:17:14 2026\nSlogan: x\n"
		"System version: Erlang/OTP 25 [erts-13.1.5] [64-bit]\n"
		"=proc:<0.80.0>\nState: Waiting\nName: placeholder\nSpawned as: m:f/0\n"
		"Message queue length: 0\nMemory: 100\nProgram counter: 0x0 (m:f/0 + 8)\n"
		"=ets:<0.80.0>\nSlot: 1\nTable: t\nName: t\nObjects: 1\nWords: 10\n"
		"=port:#Port<0.3>\nState: CONNECTED\nSlot: 3\nConnected: <0.80.0>\n"
		"Port controls linked-in driver: tcp_inet\n=end\n");
	static const char evil[] = "a\nFAKE LINE\tb\x1b]0;t\x07\x7f\xc2\x9b\x9b\xc0\x80z";
	size_t n;
	bd_model *mm = m;
	bd_proc *p = (bd_proc *)bd_model_procs(m, &n);
	assert_int_equal(n, 1);
	p->name = bd_model_intern(mm, evil, sizeof evil - 1);
	p->spawned_as = p->name;
	bd_ets *e = (bd_ets *)bd_model_ets(m, &n);
	e->name = e->table = p->name;
	bd_port *pt = (bd_port *)bd_model_ports(m, &n);
	pt->driver = p->name;
	((bd_node_info *)bd_model_node(m))->node_name = p->name;
	((bd_node_info *)bd_model_node(m))->slogan = p->name;
	su_recs recs;
	su_collect(m, &recs);
	const char *path = su_temp(".bdump");
	assert_int_equal(su_write(&recs, path, NULL), 0);
	su_recs_free(&recs);
	bd_model_free(m);
	const char *cmds[] = {"info", "top", "ets", "ports", "analyze", "proc"};
	for (int i = 0; i < 6; i++) {
		result r;
		char *argv[] = {"beamdump", (char *)cmds[i], i == 5 ? "<0.80.0>" : (char *)path,
				i == 5 ? (char *)path : NULL, NULL};
		run_cli(argv, NULL, &r);
		print_message("escaped fields: %-8s exit %d\n", cmds[i], r.code);
		int ok = (r.code == 0 || r.code == 4) && raw_control(r.out, r.out_len) < 0 &&
			 !strstr(r.out, "\nFAKE") && strstr(r.out, "\\nFAKE") &&
			 (i == 3 || strstr(r.out, "\\e]0;t\\x07"));
		if (!ok)
			print_error("%s:\n%s\n%s\n", cmds[i], r.out, r.err);
		free_result(&r);
		assert_true(ok);
	}
	/* JSON keeps the value, escaped as JSON: the NUL and the C1 control too */
	result r;
	char *argv[] = {"beamdump", "info", "--json", (char *)path, NULL};
	run_cli(argv, NULL, &r);
	assert_true(raw_control(r.out, r.out_len) < 0);
	assert_non_null(strstr(r.out, "a\\nFAKE LINE\\tb\\u001b]0;t\\u0007\\u007f\\u009b\\ufffd\\u0000z"));
	free_result(&r);
	unlink(path);
}

/* A dump's NUL bytes show as \0 instead of ending the text (nul_bytes.dump). */
static void test_nul_shown(void **state)
{
	(void)state;
	char in[1024];
	fixture("nul_bytes.dump", in, sizeof in);
	char *argv[] = {"beamdump", "info", in, NULL};
	result r;
	run_cli(argv, NULL, &r);
	assert_int_equal(r.code, 0);
	assert_non_null(strstr(r.out, "nul\\0in\\0slogan"));
	free_result(&r);
	char *argv2[] = {"beamdump", "top", "--json", in, NULL};
	run_cli(argv2, NULL, &r);
	assert_non_null(strstr(r.out, "\"nu\\u0000l\""));
	free_result(&r);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/bdhostile-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reproducers),
		cmocka_unit_test(test_proc_section_flood),
		cmocka_unit_test(test_huge_slogan),
		cmocka_unit_test(test_literals_context),
		cmocka_unit_test(test_cycles_cut),
		cmocka_unit_test(test_etf_counts),
		cmocka_unit_test(test_snapshot_required_strings),
		cmocka_unit_test(test_snapshot_rows_budget),
		cmocka_unit_test(test_lost_id_ranges),
		cmocka_unit_test(test_core_names_fifo),
		cmocka_unit_test(test_core_frame_budget),
		cmocka_unit_test(test_core_inlined_frames),
		cmocka_unit_test(test_escaped_fields),
		cmocka_unit_test(test_nul_shown),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
