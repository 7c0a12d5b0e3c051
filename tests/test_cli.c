/* The command line as a user meets it: options parsed one way by every command,
 * refusals that say why, --help per command, exit codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/* Run "beamdump ARGS" with env prefix; stdout and stderr captured separately. */
static int run2(char **out, char **err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run2(char **out, char **err, const char *fmt, ...)
{
	char args[4096], cmd[8192], o[] = "/tmp/bdcli-o-XXXXXX", e[] = "/tmp/bdcli-e-XXXXXX";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	int fo = mkstemp(o), fe = mkstemp(e);
	assert_true(fo >= 0 && fe >= 0);
	close(fo);
	close(fe);
	snprintf(cmd, sizeof cmd, "cd /tmp && BD=%s; %s >%s 2>%s </dev/null", getenv("BD_BIN"),
		 args, o, e);
	int st = system(cmd);
	if (out)
		*out = tu_read_file(o, NULL);
	if (err)
		*err = tu_read_file(e, NULL);
	unlink(o);
	unlink(e);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static const char *dump(void) { return tu_fixture("samples/dumps/mailbox.dump.zst"); }

static void test_option_spellings(void **state)
{
	(void)state;
	const char *d = dump();
	const char *forms[] = {"--by=mq -n1", "--by mq -n 1", "-n1 --by mq", "--rows=1 --by=mq",
			       "--by mq --rows 1 --", "--b mq --ro 1"};
	char *first = NULL;
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		char *out, *err;
		assert_int_equal(run2(&out, &err, "$BD top %s %s", forms[i], d), 0);
		assert_non_null(strstr(out, "(1 of "));
		assert_string_equal(err, "");
		if (!first)
			first = out;
		else {
			assert_string_equal(first, out);
			free(out);
		}
		free(err);
	}
	free(first);
	/* -- ends the options: an input named like an option */
	char cmd[512];
	snprintf(cmd, sizeof cmd, "cp %s /tmp/-n.dump", d);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(run2(NULL, NULL, "$BD info -- -n.dump"), 0);
	unlink("/tmp/-n.dump");
}

static void expect_refusal(const char *args, const char *says)
{
	char *out, *err;
	assert_int_equal(run2(&out, &err, "$BD %s", args), 2);
	if (!strstr(err, says))
		fail_msg("beamdump %s: stderr does not say '%s': %s", args, says, err);
	assert_string_equal(out, "");
	free(out);
	free(err);
}

static void test_refusals(void **state)
{
	(void)state;
	char a[1024];
	const char *d = dump();
	snprintf(a, sizeof a, "top --frobnicate %s", d);
	expect_refusal(a, "unknown option '--frobnicate'");
	snprintf(a, sizeof a, "top --messages 3 %s", d);
	expect_refusal(a, "--messages does not apply to top (it is an option of proc");
	snprintf(a, sizeof a, "info -n 3 %s", d);
	expect_refusal(a, "-n does not apply to info");
	snprintf(a, sizeof a, "top -n x %s", d);
	expect_refusal(a, "-n needs a number");
	snprintf(a, sizeof a, "top --rows=-3 %s", d);
	expect_refusal(a, "--rows needs a number");
	snprintf(a, sizeof a, "top --json=yes %s", d);
	expect_refusal(a, "--json takes no value");
	snprintf(a, sizeof a, "top %s --by", d);
	expect_refusal(a, "--by needs a value");
	snprintf(a, sizeof a, "top %s %s", d, d);
	expect_refusal(a, "unexpected argument");
	expect_refusal("proc", "missing <pid|name>");
	expect_refusal("proc '<0.1.0>'", "missing <dump>");
	expect_refusal("frob x", "unknown command 'frob'");
	expect_refusal("ci --baseline", "--baseline needs a value");
	expect_refusal("sink", "--fifo");
	expect_refusal("capture", "--node");
}

/* Every command has --help: usage, its options, exit codes; exit 0 on stdout. */
static void test_help_per_command(void **state)
{
	(void)state;
	char *cmds;
	assert_int_equal(run2(&cmds, NULL, "$BD __complete"), 0);
	int n = 0;
	for (char *c = strtok(cmds, "\n"); c; c = strtok(NULL, "\n"), n++) {
		char *out, *err, *opts;
		assert_int_equal(run2(&out, &err, "$BD %s --help", c), 0);
		assert_string_equal(err, "");
		char want[64];
		snprintf(want, sizeof want, "usage: beamdump %s", c);
		assert_non_null(strstr(out, want));
		assert_non_null(strstr(out, "exit codes: 0"));
		/* every option the parser takes is in the help */
		assert_int_equal(run2(&opts, NULL, "$BD __complete %s", c), 0);
		for (char *save, *o = strtok_r(opts, "\n", &save); o; o = strtok_r(NULL, "\n", &save)) {
			o[strcspn(o, "=")] = 0;
			if (!strstr(out, o))
				fail_msg("%s --help does not list %s", c, o);
		}
		free(opts);
		free(out);
		free(err);
		assert_int_equal(run2(&out, NULL, "$BD help %s", c), 0);
		assert_non_null(strstr(out, want));
		free(out);
	}
	assert_true(n >= 16);
	free(cmds);
}

/* A cut or unreadable input fails the gate, and every report says which and why. */
static void test_ci_bad_inputs(void **state)
{
	(void)state;
	const char *base = tu_sample_or_skip("ci/leaky_baseline");
	const char *cur = tu_sample_or_skip("ci/leaky_current");
	char cut[] = "/tmp/bdcli-cut-XXXXXX", cmd[1024];
	int fd = mkstemp(cut);
	assert_true(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof cmd, "head -c 300000 %s > %s", cur, cut);
	assert_int_equal(system(cmd), 0);
	const struct {
		const char *current;
		int rc;
		const char *kind, *why;
	} cases[] = {
		{cut, 4, "cut_input", "data stops at byte 300000"},
		{"/nonexistent/current.dump", 3, "unreadable_input", "No such file or directory"},
	};
	for (size_t i = 0; i < 2; i++) {
		char *out, *err;
		int rc = run2(&out, &err,
			      "$BD ci --baseline %s --current %s --md /tmp/bdcli.md --junit "
			      "/tmp/bdcli.xml --json /tmp/bdcli.json",
			      base, cases[i].current);
		assert_int_equal(rc, cases[i].rc);
		assert_non_null(strstr(out, "beamdump ci: ERROR"));
		assert_non_null(strstr(out, "ERROR    input current: "));
		assert_non_null(strstr(out, cases[i].why));
		assert_non_null(strstr(err, cases[i].why));
		char *md = tu_read_file("/tmp/bdcli.md", NULL), *xml = tu_read_file("/tmp/bdcli.xml", NULL),
		     *js = tu_read_file("/tmp/bdcli.json", NULL);
		assert_non_null(md);
		assert_non_null(xml);
		assert_non_null(js);
		assert_non_null(strstr(md, "## beamdump ci: ERROR"));
		assert_non_null(strstr(md, cases[i].why));
		assert_non_null(strstr(xml, "errors=\"1\""));
		char tag[64];
		snprintf(tag, sizeof tag, "<error type=\"%s\" message=\"current ", cases[i].kind);
		assert_non_null(strstr(xml, tag));
		assert_non_null(strstr(xml, cases[i].why));
		assert_non_null(strstr(js, "\"result\":\"error\""));
		assert_non_null(strstr(js, cases[i].why));
		snprintf(cmd, sizeof cmd, "python3 %s/tests/validate_json.py %s/docs/schema/ci.schema.json "
			 "/tmp/bdcli.json", getenv("BD_SOURCE"), getenv("BD_SOURCE"));
		assert_int_equal(system(cmd), 0);
		free(md);
		free(xml);
		free(js);
		free(out);
		free(err);
	}
	/* a report that cannot be written: the others still are, exit 3 with the reason */
	char *err;
	assert_int_equal(run2(NULL, &err, "$BD ci --baseline %s --current %s --junit /proc/x.xml "
				       "--md /tmp/bdcli.md", base, base), 3);
	assert_non_null(strstr(err, "cannot write /proc/x.xml: "));
	free(err);
	char *md = tu_read_file("/tmp/bdcli.md", NULL);
	assert_non_null(strstr(md, "## beamdump ci: PASS"));
	free(md);
	unlink("/tmp/bdcli.md");
	unlink("/tmp/bdcli.xml");
	unlink("/tmp/bdcli.json");
	unlink(cut);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_option_spellings),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_help_per_command),
		cmocka_unit_test(test_ci_bad_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
