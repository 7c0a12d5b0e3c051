/* beamdump sink as an operator meets it, with real VMs writing real crash dumps
 * (erl -eval 'erlang:halt("...")'): bad setups refused before any FIFO exists, the
 * FIFO gone on every exit (signals, SIGKILL included) so a later VM never hangs, the
 * compressed dump kept and named when the snapshot cannot be written, and no two
 * dumps written to one file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static char g_dir[64];

static void path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", g_dir, name);
}

/* beamdump sink ARGS... in the background, stderr to err (may be NULL). */
static pid_t start_sink(const char *err, char *const args[])
{
	char *argv[16] = {getenv("BD_BIN"), "sink", "-q"};
	int n = 3;
	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t p = fork();
	if (p == 0) {
		int e = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(e, 2);
		if (chdir(g_dir))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	return p;
}

static int is_fifo(const char *p)
{
	struct stat sb;
	return lstat(p, &sb) == 0 && S_ISFIFO(sb.st_mode);
}

static int exists(const char *p)
{
	struct stat sb;
	return lstat(p, &sb) == 0;
}

static void wait_fifo(const char *p)
{
	double end = tu_now() + 10;
	while (tu_now() < end && !is_fifo(p))
		usleep(5000);
	assert_true(is_fifo(p));
}

/* A VM that crashes with ERL_CRASH_DUMP=dump; returns its exit code, -1 if it hung. */
static int crash_vm(const char *dump, const char *slogan)
{
	char eval[256];
	snprintf(eval, sizeof eval, "erlang:halt(\"%s\")", slogan);
	pid_t p = fork();
	if (p == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		setenv("ERL_CRASH_DUMP", dump, 1);
		execlp("erl", "erl", "-noshell", "+S", "1:1", "-eval", eval, (char *)NULL);
		_exit(127);
	}
	return tu_wait_exit(p, 60, 0);
}

static char *slurp(const char *p)
{
	char *s = tu_read_file(p, NULL);
	return s ? s : strdup("");
}

static void expect_refused(const char *why, char *const args[])
{
	char err[128], fifo[128];
	path(err, sizeof err, "refused.err");
	path(fifo, sizeof fifo, "r.fifo");
	int rc = tu_wait_exit(start_sink(err, args), 10, 0);
	char *e = slurp(err);
	if (rc != 2 || !strstr(e, why))
		fail_msg("sink %s %s: exit %d, want 2 saying '%s': %s", args[0], args[1] ? args[1] : "",
			 rc, why, e);
	free(e);
	assert_false(exists(fifo)); /* nothing created */
}

static void test_refused_before_fifo(void **state)
{
	(void)state;
	char file[128];
	path(file, sizeof file, "plain");
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	expect_refused("cannot use -o /nonexistent: No such file or directory",
		       (char *[]){"--fifo", "r.fifo", "-o", "/nonexistent", NULL});
	expect_refused("bad --name: it holds a '/'",
		       (char *[]){"--fifo", "r.fifo", "--name", "a/b", NULL});
	expect_refused("bad --name: it is empty", (char *[]){"--fifo", "r.fifo", "--name=", NULL});
	/* /proc takes no new files, even from root */
	expect_refused("cannot write to /proc: ", (char *[]){"--fifo", "r.fifo", "-o", "/proc", NULL});
	expect_refused("cannot use -o plain: Not a directory",
		       (char *[]){"--fifo", "r.fifo", "-o", "plain", NULL});
	expect_refused("exists and is a regular file", (char *[]){"--fifo", "plain", NULL});
	expect_refused("--fifo PATH is required", (char *[]){"-o", ".", NULL});
	unlink(file);
}

/* Any way the sink ends while it waits, the FIFO goes; a VM crashing later on that
 * path writes a plain dump and exits instead of blocking in open(). */
static void test_fifo_gone_on_every_exit(void **state)
{
	(void)state;
	char fifo[128];
	path(fifo, sizeof fifo, "sig.fifo");
	const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGKILL};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		pid_t s = start_sink(NULL, (char *[]){"--fifo", "sig.fifo", NULL});
		wait_fifo(fifo);
		usleep(50000);
		kill(s, sigs[i]);
		int rc = tu_wait_exit(s, 10, 0);
		assert_int_equal(rc, sigs[i] == SIGKILL ? 128 + SIGKILL : 3);
		double end = tu_now() + 5; /* after SIGKILL the watchdog takes it away */
		while (tu_now() < end && exists(fifo))
			usleep(5000);
		if (exists(fifo))
			fail_msg("the FIFO is left after signal %d", sigs[i]);
	}
	assert_int_equal(crash_vm(fifo, "after the sink"), 1);
	struct stat sb;
	assert_int_equal(lstat(fifo, &sb), 0);
	assert_true(S_ISREG(sb.st_mode) && sb.st_size > 1000);
	unlink(fifo);
}

static void test_real_dump(void **state)
{
	(void)state;
	char fifo[128], snap[128], err[128];
	path(fifo, sizeof fifo, "real.fifo");
	path(snap, sizeof snap, "real.bdump");
	path(err, sizeof err, "real.err");
	pid_t s = start_sink(err, (char *[]){"--fifo", "real.fifo", "--name", "real", NULL});
	wait_fifo(fifo);
	assert_int_equal(crash_vm(fifo, "sink test slogan"), 1);
	int rc = tu_wait_exit(s, 60, 0);
	char *e = slurp(err);
	if (rc != 0)
		fail_msg("sink exit %d: %s", rc, e);
	free(e);
	assert_false(exists(fifo));
	char *out;
	assert_int_equal(tu_run(&out, "info %s", snap), 0);
	assert_non_null(strstr(out, "sink test slogan"));
	free(out);
	/* the same --name again is refused: a snapshot is never overwritten */
	expect_refused("exists: choose another --name",
		       (char *[]){"--fifo", "r.fifo", "--name", "real", NULL});
	unlink(snap);
}

/* The snapshot cannot be written: the compressed dump stays, named on stderr, and
 * every command reads it. */
static void test_snapshot_unwritable(void **state)
{
	(void)state;
	char fifo[128], blocker[128], raw[128], err[128];
	path(fifo, sizeof fifo, "nw.fifo");
	path(blocker, sizeof blocker, "nw.bdump.partial");
	path(raw, sizeof raw, "nw.dump.zst");
	path(err, sizeof err, "nw.err");
	assert_int_equal(mkdir(blocker, 0755), 0); /* the writer's file cannot be made */
	pid_t s = start_sink(err, (char *[]){"--fifo", "nw.fifo", "--name", "nw", NULL});
	wait_fifo(fifo);
	assert_int_equal(crash_vm(fifo, "kept raw"), 1);
	assert_int_equal(tu_wait_exit(s, 60, 0), 3);
	char *e = slurp(err);
	if (!strstr(e, "cannot write nw.bdump: Is a directory; the dump is kept in nw.dump.zst"))
		fail_msg("stderr: %s", e);
	free(e);
	char *out;
	assert_int_equal(tu_run(&out, "info %s", raw), 0);
	assert_non_null(strstr(out, "kept raw"));
	free(out);
	rmdir(blocker);
	unlink(raw);
	assert_false(exists(fifo));
}

/* Two sinks with one --name, two crashes: two files, NAME and NAME-2. */
static void test_same_name_twice(void **state)
{
	(void)state;
	char f1[128], f2[128], a[128], b[128];
	path(f1, sizeof f1, "one.fifo");
	path(f2, sizeof f2, "two.fifo");
	path(a, sizeof a, "same.bdump");
	path(b, sizeof b, "same-2.bdump");
	pid_t s1 = start_sink(NULL, (char *[]){"--fifo", "one.fifo", "--name", "same", NULL});
	pid_t s2 = start_sink(NULL, (char *[]){"--fifo", "two.fifo", "--name", "same", NULL});
	wait_fifo(f1);
	wait_fifo(f2);
	assert_int_equal(crash_vm(f1, "first"), 1);
	assert_int_equal(tu_wait_exit(s1, 60, 0), 0);
	assert_int_equal(crash_vm(f2, "second"), 1);
	assert_int_equal(tu_wait_exit(s2, 60, 0), 0);
	char *x, *y;
	assert_int_equal(tu_run(&x, "info %s", a), 0);
	assert_int_equal(tu_run(&y, "info %s", b), 0);
	assert_non_null(strstr(x, "first"));
	assert_non_null(strstr(y, "second"));
	free(x);
	free(y);
	unlink(a);
	unlink(b);
}

static int setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof g_dir, "/tmp/bdsink-XXXXXX");
	return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_before_fifo),
		cmocka_unit_test(test_fifo_gone_on_every_exit),
		cmocka_unit_test(test_real_dump),
		cmocka_unit_test(test_snapshot_unwritable),
		cmocka_unit_test(test_same_name_twice),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
