/* The distribution cookie is never printed, and convert --redact makes a snapshot
 * safe to share. A real distributed node (erl -sname, -setcookie) queues its cookie
 * as an atom, a string and a binary to a registered process and halts; every command
 * in every format, on the dump and on its snapshots, must show '<cookie>' instead. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define COOKIE "my-secret_42"
#define PAYLOAD "payload-7Qz1"  /* a binary's bytes: gone from a redacted snapshot */
#define STRING "string-Kx93"    /* a charlist's characters: likewise */

static char g_dir[64], g_dump[128];

/* Run beamdump ARGS, both streams into one string; returns the exit code. */
static int run_all(char **out, const char *args)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "%s 2>&1", args);
	return tu_run(out, "%s", cmd);
}

static void no_secret(const char *what, const char *args, const char *secret)
{
	char *out;
	run_all(&out, args);
	assert_non_null(out);
	if (strstr(out, secret))
		fail_msg("%s: beamdump %s prints '%s'", what, args, secret);
	free(out);
}

static const char *const commands[] = {"info", "analyze -v", "top -n 100", "ets", "atoms --all",
				       "memory", "schedulers", "ports", "binaries", NULL};
static const char *const procs[] = {"holder", "auth", "init", NULL};

static void every_command(const char *input, const char *secret)
{
	char a[512];
	for (int j = 0; j < 2; j++) {
		const char *json = j ? "--json" : "";
		for (int i = 0; commands[i]; i++) {
			snprintf(a, sizeof a, "%s %s %s", commands[i], json, input);
			no_secret(input, a, secret);
		}
		for (int i = 0; procs[i]; i++) {
			snprintf(a, sizeof a, "proc --messages 100 %s %s %s", json, procs[i], input);
			no_secret(input, a, secret);
			snprintf(a, sizeof a, "state --all %s %s %s", json, procs[i], input);
			no_secret(input, a, secret);
		}
	}
	snprintf(a, sizeof a, "diff --all %s %s", input, input);
	no_secret(input, a, secret);
	snprintf(a, sizeof a, "ci --baseline %s --current %s --json", input, input);
	no_secret(input, a, secret);
}

static void test_cookie_never_printed(void **state)
{
	(void)state;
	char *out;
	every_command(g_dump, COOKIE);
	/* where it was: shown as '<cookie>' */
	assert_int_equal(tu_run(&out, "state auth %s", g_dump), 0);
	assert_non_null(strstr(out, "{state,'<cookie>',"));
	free(out);
	assert_int_equal(tu_run(&out, "proc holder %s", g_dump), 0);
	assert_non_null(strstr(out, "{hello,'<cookie>',\"<cookie>\",<<\"<cookie>\">>"));
	free(out);
	/* a plain snapshot keeps the data (it is the dump, compressed), and hides it too */
	char snap[160];
	snprintf(snap, sizeof snap, "%s/plain.bdump", g_dir);
	assert_int_equal(tu_run(NULL, "convert %s -o %s 2>/dev/null", g_dump, snap), 0);
	every_command(snap, COOKIE);
}

static int file_holds(const char *path, const char *needle)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "{ zstd -dcq %s 2>/dev/null; cat %s; } | grep -aqF -- '%s'", path,
		 path, needle);
	return system(cmd) == 0;
}

static void test_redacted_snapshot(void **state)
{
	(void)state;
	char red[160], *out, *a, *b;
	snprintf(red, sizeof red, "%s/shared.bdump", g_dir);
	assert_int_equal(tu_run(NULL, "convert --redact %s -o %s 2>/dev/null", g_dump, red), 0);
	/* the dump has them (the binary as base64), the snapshot of the dump as bytes... */
	char plain[160];
	snprintf(plain, sizeof plain, "%s/plain.bdump", g_dir);
	assert_true(file_holds(g_dump, COOKIE));
	assert_true(file_holds(plain, PAYLOAD));
	assert_int_equal(tu_run(&out, "proc holder %s", g_dump), 0);
	assert_non_null(strstr(out, "{data,<<\"" PAYLOAD "\">>,\"" STRING "\"}"));
	free(out);
	/* ...the redacted one not at all, compressed or not */
	const char *gone[] = {COOKIE, PAYLOAD};
	for (int i = 0; i < 2; i++) {
		if (file_holds(red, gone[i]))
			fail_msg("the redacted snapshot holds '%s'", gone[i]);
	}
	/* every command reads it; the structure stays: sizes, shapes, names, atoms */
	every_command(red, COOKIE);
	every_command(red, PAYLOAD);
	every_command(red, STRING);
	assert_int_equal(tu_run(&out, "proc holder %s", red), 0);
	assert_non_null(strstr(out, "{hello,'<cookie>',\"************\",<<\"************\">>"));
	assert_non_null(strstr(out, "<<\"************\">>"));
	free(out);
	assert_int_equal(tu_run(&a, "analyze --json %s", g_dump), 0);
	assert_int_equal(tu_run(&b, "analyze --json %s", red), 0);
	assert_string_equal(a, b);
	free(a);
	free(b);
	assert_int_equal(tu_run(&a, "top --json -n 100 %s", g_dump), 0);
	assert_int_equal(tu_run(&b, "top --json -n 100 %s", red), 0);
	assert_string_equal(a, b);
	free(a);
	free(b);
}

static int setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof g_dir, "/tmp/bdcookie-XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	snprintf(g_dump, sizeof g_dump, "%s/node.dump", g_dir);
	char cmd[2048];
	snprintf(cmd, sizeof cmd,
		 "cd %s && ERL_CRASH_DUMP=%s erl -sname bdck%d -setcookie '" COOKIE "' -noshell "
		 "+S 1:1 -eval '"
		 "C = erlang:get_cookie(),"
		 "P = spawn(fun() -> receive never -> ok end end),"
		 "register(holder, P),"
		 "P ! {hello, C, atom_to_list(C), atom_to_binary(C)},"
		 "P ! {data, <<\"" PAYLOAD "\">>, \"" STRING "\"},"
		 "timer:sleep(100), erlang:halt(\"cookie test\")' >/dev/null 2>&1",
		 g_dir, g_dump, (int)getpid());
	if (system(cmd) < 0)
		return -1;
	struct stat sb;
	return stat(g_dump, &sb) == 0 && sb.st_size > 1000 ? 0 : -1;
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
		cmocka_unit_test(test_cookie_never_printed),
		cmocka_unit_test(test_redacted_snapshot),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
