/* Text output on a narrow terminal: every command, run on a pseudo-terminal with
 * COLUMNS=60, prints on stdout no line wider than 60 display columns (UTF-8 aware: wide
 * characters count two); tables are cut, not wrapped; into a pipe COLUMNS changes
 * nothing. */
#define _GNU_SOURCE /* forkpty */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wchar.h>

#include "testutil.h"

typedef struct run {
	char *out;
	size_t len;
	int rc;
} run;

/* "beamdump ARGV..." on a pseudo-terminal of cols columns (COLUMNS too). */
static run on_tty(int cols, char *const argv[])
{
	run r = {NULL, 0, -1};
	int fd;
	struct winsize ws = {.ws_row = 50, .ws_col = (unsigned short)cols};
	pid_t pid = forkpty(&fd, NULL, NULL, &ws);
	assert_true(pid >= 0);
	if (pid == 0) {
		char c[16];
		snprintf(c, sizeof c, "%d", cols);
		setenv("COLUMNS", c, 1);
		setenv("LANG", "C.UTF-8", 1);
		unsetenv("LC_ALL");
		setenv("NO_COLOR", "1", 1);
		int null = open("/dev/null", O_WRONLY); /* stdout is what is checked */
		if (null >= 0)
			dup2(null, 2);
		execv(getenv("BD_BIN"), argv);
		_exit(127);
	}
	size_t cap = 1 << 16;
	r.out = malloc(cap);
	assert_non_null(r.out);
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 120000) <= 0)
			break; /* two minutes of silence: the run is stuck */
		if (r.len + 4096 > cap)
			assert_non_null(r.out = realloc(r.out, cap *= 2));
		ssize_t n = read(fd, r.out + r.len, 4096);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EIO: the child closed the terminal */
		r.len += (size_t)n;
	}
	r.out[r.len] = 0;
	close(fd);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	return r;
}

/* Display columns of a line (to its '\n'): escape sequences none, wcwidth per
 * character, an undecodable byte one; *end is set past the line. */
static size_t line_width(const char *s, const char **end)
{
	size_t w = 0;
	mbstate_t st;
	memset(&st, 0, sizeof st);
	while (*s && *s != '\n') {
		if (*s == '\r') {
			s++;
			continue;
		}
		if (s[0] == 0x1b && s[1] == '[') {
			for (s += 2; *s && (*s < 0x40 || *s > 0x7e); s++)
				;
			s += *s != 0;
			continue;
		}
		wchar_t wc;
		size_t n = mbrtowc(&wc, s, MB_CUR_MAX, &st);
		if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
			memset(&st, 0, sizeof st);
			w++;
			s++;
			continue;
		}
		int cw = wcwidth(wc);
		w += cw < 0 ? 1 : (size_t)cw;
		s += n;
	}
	*end = *s ? s + 1 : s;
	return w;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Every line of the output at most cols wide; the output not empty. */
static void assert_fits(const run *r, int cols, const char *what)
{
	assert_true(r->len > 0);
	for (const char *p = r->out, *next; *p; p = next) {
		size_t w = line_width(p, &next);
		if (w > (size_t)cols) {
			fprintf(stderr, "%s: a line of %zu columns at COLUMNS=%d: %.*s\n", what, w, cols,
				(int)(next - p), p);
			fail();
		}
	}
}

static char *const *argv_of(const char *cmd, const char *a, const char *b, const char *c)
{
	static char *v[8];
	v[0] = "beamdump";
	v[1] = (char *)cmd;
	v[2] = (char *)a;
	v[3] = (char *)b;
	v[4] = (char *)c;
	v[5] = NULL;
	return v;
}

/* cmd [arg] input: fits at 60 and ends as documented (0 ok, 1 findings, 4 cut). */
static void check(const char *cmd, const char *arg, const char *input)
{
	run r = on_tty(60, arg ? argv_of(cmd, arg, input, NULL) : argv_of(cmd, input, NULL, NULL));
	char what[512];
	snprintf(what, sizeof what, "beamdump %s %s %s", cmd, arg ? arg : "", input);
	if (r.rc != 0 && r.rc != 1 && r.rc != 4)
		fprintf(stderr, "%s: exit %d\n%s\n", what, r.rc, r.out);
	assert_true(r.rc == 0 || r.rc == 1 || r.rc == 4);
	assert_fits(&r, 60, what);
	free(r.out);
}

static const char *const read_cmds[] = {
	"info",	   "analyze", "top",   "ets",	"atoms",   "memory",	       "schedulers",
	"ports",   "binaries", "timers", "modules", "funs", "persistent-terms", "areas",
	"tables",  "nodes",   NULL};

static void test_every_command_fits(void **state)
{
	(void)state;
	const char *d = tu_fixture("samples/dumps/mailbox.dump.zst");
	for (size_t i = 0; read_cmds[i]; i++)
		check(read_cmds[i], NULL, d);
	check("analyze", "--verbose", d);
	check("proc", "<0.79.0>", d); /* mbox_sink: a long queue, terms on its stack */
	check("state", "<0.79.0>", d);
	check("module", "lists", d);
	const char *h = tu_fixture("samples/dumps/healthy.dump.zst");
	const char *a = tu_fixture("samples/dumps/atoms.dump.zst");
	check("diff", h, a); /* atom patterns with long examples */
	run r = on_tty(60, (char *const[]){"beamdump", "ci", "--baseline", (char *)h, "--current",
					   (char *)a, NULL});
	assert_int_equal(r.rc, 1);
	assert_fits(&r, 60, "ci");
	free(r.out);
}

/* Dumps nobody here wrote: old and new VMs, Elixir, RabbitMQ, cut. */
static void test_wild_dumps_fit(void **state)
{
	(void)state;
	static const char *const wild[] = {
		"tests/fixtures/wild/020_r13b04_eheap_labo.dump.zst",
		"tests/fixtures/wild/104_26_rtboot-ex_codewars.dump.zst",
		"tests/fixtures/wild/038_r16b03_doboot_canvas-game.dump.zst",
		"tests/fixtures/wild/068_20_eheap-ex_numex.dump.zst",
		"tests/fixtures/wild/119_28_kernelac-rabbit_celery-rabbitmq.dump.zst"};
	static const char *const cmds[] = {"info", "analyze", "memory", "schedulers", "tables",
					   "funs", "ports", "atoms", NULL};
	for (size_t w = 0; w < sizeof wild / sizeof *wild; w++) {
		const char *d = tu_fixture(wild[w]);
		for (size_t i = 0; cmds[i]; i++)
			check(cmds[i], NULL, d);
	}
}

static void test_help_fits(void **state)
{
	(void)state;
	run r = on_tty(60, argv_of("--help", NULL, NULL, NULL));
	assert_int_equal(r.rc, 0);
	assert_fits(&r, 60, "beamdump --help");
	free(r.out);
	static const char *const cmds[] = {"info", "analyze", "top",  "proc",    "diff",   "ci",
					   "convert", "capture", "sink", "core", "report", NULL};
	for (size_t i = 0; cmds[i]; i++) {
		r = on_tty(60, argv_of(cmds[i], "--help", NULL, NULL));
		assert_int_equal(r.rc, 0);
		assert_fits(&r, 60, cmds[i]);
		free(r.out);
	}
}

/* Tables are cut to the terminal, never wrapped: as many lines as into a pipe. */
static void test_tables_cut_not_wrapped(void **state)
{
	(void)state;
	const char *d = tu_fixture("samples/dumps/mailbox.dump.zst");
	static const char *const cmds[] = {"top",   "ets",   "funs",		 "tables", "areas",
					   "ports", "timers", "persistent-terms", "modules", NULL};
	for (size_t i = 0; cmds[i]; i++) {
		char *piped;
		assert_int_equal(tu_run(&piped, "%s %s", cmds[i], d), 0);
		run r = on_tty(60, argv_of(cmds[i], d, NULL, NULL));
		assert_int_equal(r.rc, 0);
		if (count_lines(r.out) != count_lines(piped))
			fprintf(stderr, "%s: %zu lines on a 60-column terminal, %zu piped\n%s", cmds[i],
				count_lines(r.out), count_lines(piped), r.out);
		assert_int_equal(count_lines(r.out), count_lines(piped));
		free(r.out);
		free(piped);
	}
}

/* Wide terminals too; and into a pipe COLUMNS is ignored (scripts see full lines). */
static void test_wide_terminal_and_pipe(void **state)
{
	(void)state;
	const char *d = tu_fixture("samples/dumps/binleak.dump.zst");
	static const char *const cmds[] = {"analyze", "memory", "schedulers", "funs", "binaries", NULL};
	for (size_t i = 0; cmds[i]; i++) {
		run r = on_tty(200, argv_of(cmds[i], d, NULL, NULL));
		assert_fits(&r, 200, cmds[i]);
		free(r.out);
		char *a, *b;
		int ra = tu_run(&a, "%s %s", cmds[i], d);
		int rb = tu_run(&b, "%s %s", cmds[i], d);
		setenv("COLUMNS", "60", 1);
		free(b);
		rb = tu_run(&b, "%s %s", cmds[i], d);
		unsetenv("COLUMNS");
		assert_int_equal(ra, rb);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
}

int main(void)
{
	setlocale(LC_CTYPE, "C.UTF-8");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_command_fits),
		cmocka_unit_test(test_wild_dumps_fit),
		cmocka_unit_test(test_help_fits),
		cmocka_unit_test(test_tables_cut_not_wrapped),
		cmocka_unit_test(test_wide_terminal_and_pipe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
