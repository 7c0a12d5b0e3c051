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
	snprintf(cmd, sizeof cmd, "cd /tmp && export BD=%s; %s >%s 2>%s </dev/null", getenv("BD_BIN"),
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

/* This run's own directory (concurrent runs of the suite never share a file): T(name). */
static char g_tmp[64];
static const char *T(const char *name)
{
	static char buf[8][256];
	static int k;
	if (!g_tmp[0]) {
		snprintf(g_tmp, sizeof g_tmp, "/tmp/bdcli-%d-XXXXXX", (int)getpid());
		assert_non_null(mkdtemp(g_tmp));
	}
	k = (k + 1) % 8;
	snprintf(buf[k], sizeof buf[k], "%s/%s", g_tmp, name);
	return buf[k];
}

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
	snprintf(cmd, sizeof cmd, "cp %s %s", d, T("-n.dump"));
	assert_int_equal(system(cmd), 0);
	assert_int_equal(run2(NULL, NULL, "cd %s && $BD info -- -n.dump", g_tmp), 0);
	assert_int_equal(run2(NULL, NULL, "cd %s && $BD report -o - -- -n.dump", g_tmp), 0);
	unlink(T("-n.dump"));
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
	char cut[256], md_f[256], xml_f[256], js_f[256], cmd[1024];
	snprintf(cut, sizeof cut, "%s", T("cut.dump"));
	snprintf(md_f, sizeof md_f, "%s", T("ci.md"));
	snprintf(xml_f, sizeof xml_f, "%s", T("ci.xml"));
	snprintf(js_f, sizeof js_f, "%s", T("ci.json"));
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
			      "$BD ci --baseline %s --current %s --md %s --junit %s --json=%s",
			      base, cases[i].current, md_f, xml_f, js_f);
		assert_int_equal(rc, cases[i].rc);
		assert_non_null(strstr(out, "beamdump ci: ERROR"));
		assert_non_null(strstr(out, "ERROR    input current: "));
		assert_non_null(strstr(out, cases[i].why));
		assert_non_null(strstr(err, cases[i].why));
		char *md = tu_read_file(md_f, NULL), *xml = tu_read_file(xml_f, NULL),
		     *js = tu_read_file(js_f, NULL);
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
			 "%s", getenv("BD_SOURCE"), getenv("BD_SOURCE"), js_f);
		assert_int_equal(system(cmd), 0);
		free(md);
		free(xml);
		free(js);
		free(out);
		free(err);
	}
	/* a report that cannot be written: the others still are, exit 3 with the reason */
	char *err;
	char *out;
	assert_int_equal(run2(&out, &err, "$BD ci --baseline %s --current %s --junit /proc/x.xml "
				       "--md %s", base, base, md_f), 3);
	assert_non_null(strstr(err, "cannot write /proc/x.xml: "));
	/* whole inputs: the verdict line speaks of the rules only */
	assert_non_null(strstr(out, "beamdump ci: PASS (0 of 8 rules failed; 2 snapshots)\n"));
	assert_null(strstr(out, "whatever"));
	free(out);
	free(err);
	char *md = tu_read_file(md_f, NULL);
	assert_non_null(strstr(md, "## beamdump ci: PASS"));
	free(md);
	/* a full disk: exit 3 and the reason */
	assert_int_equal(run2(NULL, &err, "$BD ci --baseline %s --current %s --junit=/dev/full",
			      base, base), 3);
	assert_non_null(strstr(err, "cannot write /dev/full: No space left on device"));
	free(err);
	unlink(md_f);
	unlink(xml_f);
	unlink(js_f);
	unlink(cut);
}

/* Every error names its reason: a full disk, a directory, a device kept a device. */
static void test_error_reasons(void **state)
{
	(void)state;
	char *err, *out;
	const char *d = dump();
	assert_int_equal(run2(NULL, &err, "$BD convert %s -o /dev/full", d), 3);
	assert_non_null(strstr(err, "cannot write /dev/full: No space left on device"));
	free(err);
	/* the device node is still one (a snapshot is never renamed over it) */
	assert_int_equal(run2(NULL, NULL, "test -c /dev/full"), 0);
	assert_int_equal(run2(NULL, NULL, "$BD convert %s -o /dev/null", d), 0);
	assert_int_equal(run2(NULL, NULL, "test -c /dev/null"), 0);
	/* a directory as output: refused, nothing left beside it */
	assert_int_equal(run2(NULL, &err, "$BD convert %s -o %s", d, g_tmp[0] ? g_tmp : T("")), 3);
	assert_non_null(strstr(err, ": Is a directory"));
	free(err);
	char partial[300];
	snprintf(partial, sizeof partial, "%s.partial", g_tmp);
	assert_int_equal(access(partial, F_OK), -1);
	/* a directory as input */
	assert_int_equal(run2(NULL, &err, "$BD info %s", g_tmp), 3);
	assert_non_null(strstr(err, ": Is a directory"));
	free(err);
	/* a report to a full disk */
	assert_int_equal(run2(NULL, &err, "$BD report %s -o /dev/full", d), 3);
	assert_non_null(strstr(err, "No space left on device"));
	free(err);
	/* a directory as CI rules */
	assert_int_equal(run2(NULL, &err, "$BD ci --baseline %s --current %s --config %s", d, d, g_tmp), 2);
	assert_non_null(strstr(err, ": Is a directory"));
	free(err);
	/* the page to stdout, stdout full: said once */
	assert_int_equal(run2(NULL, &err, "{ $BD report -o - %s >/dev/full; }", d), 3);
	assert_non_null(strstr(err, "cannot write the output: No space left on device"));
	assert_null(strstr(strstr(err, "cannot write") + 1, "cannot write"));
	free(err);
	/* help and the man page into a full disk: exit 3 and why, as any output */
	const char *helps[] = {"--help", "core --help", "report --help", "__man", "--version"};
	for (size_t i = 0; i < sizeof helps / sizeof *helps; i++) {
		assert_int_equal(run2(NULL, &err, "{ $BD %s >/dev/full; }", helps[i]), 3);
		assert_non_null(strstr(err, "cannot write the output: No space left on device"));
		free(err);
	}
	assert_int_equal(run2(&out, NULL, "$BD --version"), 0);
	assert_non_null(strstr(out, "beamdump "));
	free(out);
}

static void test_analyze_exit_codes(void **state)
{
	(void)state;
	const char *d = dump(), *healthy = tu_fixture("samples/dumps/healthy.dump.zst");
	assert_int_equal(run2(NULL, NULL, "$BD analyze %s", d), 0); /* findings are the answer */
	assert_int_equal(run2(NULL, NULL, "$BD analyze --fail-on critical %s", d), 1);
	assert_int_equal(run2(NULL, NULL, "$BD analyze --fail-on=warning %s", healthy), 0);
	char *err;
	assert_int_equal(run2(NULL, &err, "$BD analyze --fail-on bad %s", d), 2);
	assert_non_null(strstr(err, "--fail-on takes critical, warning or info"));
	free(err);
	char *out;
	assert_int_equal(run2(&out, NULL, "$BD analyze --help"), 0);
	assert_non_null(strstr(out, "1 with --fail-on"));
	free(out);
	unlink(healthy);
}

static void test_proc_paging(void **state)
{
	(void)state;
	const char *d = dump();
	char *out;
	assert_int_equal(run2(&out, NULL, "$BD proc mbox_sink %s", d), 0);
	assert_non_null(strstr(out, "  [9] "));
	assert_null(strstr(out, "  [10] "));
	assert_non_null(strstr(out, "(55,922 more: --from 10 --messages N)"));
	free(out);
	assert_int_equal(run2(&out, NULL, "$BD proc --messages 100 --from 55900 mbox_sink %s", d), 0);
	assert_non_null(strstr(out, "  [55900] "));
	assert_non_null(strstr(out, "  [55931] "));
	assert_non_null(strstr(out, "(the end of the queue: 55,932 messages)"));
	free(out);
	assert_int_equal(run2(&out, NULL, "$BD proc --from=60000 mbox_sink %s", d), 0);
	assert_non_null(strstr(out, "--from 60000 is past the end: the queue has 55,932 messages"));
	free(out);
	/* more than the old limit of 64, all of them */
	assert_int_equal(run2(&out, NULL, "$BD proc --messages 500 mbox_sink %s", d), 0);
	assert_non_null(strstr(out, "  [499] "));
	free(out);
	assert_int_equal(run2(&out, NULL, "$BD proc --json --messages 2 --from 5 mbox_sink %s", d), 0);
	assert_non_null(strstr(out, "\"from\":5,\"shown\":2,\"note\":\"55,925 more: --from 7"));
	free(out);
}

/* Run ARGS on a terminal (tests/pty_run.py) with ENV; what the terminal got. */
static char *on_tty(const char *env, const char *opts, const char *args)
{
	char out[] = "/tmp/bdtty-XXXXXX";
	int fd = mkstemp(out);
	assert_true(fd >= 0);
	close(fd);
	char *ignored;
	run2(&ignored, NULL, "%s python3 %s/tests/pty_run.py %s %s -- $BD %s", env, getenv("BD_SOURCE"),
	     out, opts, args);
	free(ignored);
	char *s = tu_read_file(out, NULL);
	unlink(out);
	assert_non_null(s);
	return s;
}

static void test_colors(void **state)
{
	(void)state;
	char a[512], *s;
	snprintf(a, sizeof a, "analyze %s", dump());
	s = on_tty("TERM=xterm", "", a);
	assert_non_null(strstr(s, "\033[")); /* a terminal: colors */
	free(s);
	s = on_tty("TERM=xterm NO_COLOR=1", "", a);
	assert_null(strstr(s, "\033["));
	free(s);
	s = on_tty("TERM=dumb", "", a);
	assert_null(strstr(s, "\033["));
	free(s);
	snprintf(a, sizeof a, "analyze --color=always %s", dump());
	s = on_tty("TERM=dumb NO_COLOR=1", "", a);
	assert_non_null(strstr(s, "\033["));
	free(s);
	char *out;
	assert_int_equal(run2(&out, NULL, "TERM=xterm $BD analyze %s", dump()), 0);
	assert_null(strstr(out, "\033[")); /* a pipe: none */
	free(out);
}

static size_t max_line_width(const char *s)
{
	size_t w = 0, best = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\n' || *p == '\r') {
			best = w > best ? w : best;
			w = 0;
		} else if ((*p & 0xc0) != 0x80) {
			w++;
		}
	}
	return w > best ? w : best;
}

static void test_table_width(void **state)
{
	(void)state;
	char a[512], *s;
	snprintf(a, sizeof a, "top -n 8 %s", dump());
	s = on_tty("COLUMNS=60 LC_ALL=C.UTF-8", "", a);
	assert_true(max_line_width(s) <= 60);
	assert_non_null(strstr(s, "\xe2\x80\xa6")); /* a name cut, with a visible mark */
	assert_non_null(strstr(s, "mbox_sink"));
	free(s);
	s = on_tty("COLUMNS=60 LC_ALL=C", "", a);
	assert_true(max_line_width(s) <= 60);
	assert_non_null(strstr(s, "~"));
	free(s);
	/* piped: full width, nothing cut */
	char *out;
	assert_int_equal(run2(&out, NULL, "COLUMNS=60 LANG=C.UTF-8 $BD %s", a), 0);
	assert_non_null(strstr(out, "application_controller"));
	assert_non_null(strstr(out, "REDUCTIONS"));
	assert_null(strstr(out, "\xe2\x80\xa6"));
	free(out);
}

/* A long step on a terminal shows a bar on stderr, erased at the end; never into a
 * pipe or a file. */
static void test_progress(void **state)
{
	(void)state;
	char cmd[1024];
	char big[256], outf[256], pre[600];
	snprintf(big, sizeof big, "%s", T("big.dump"));
	snprintf(outf, sizeof outf, "%s", T("info.out"));
	snprintf(cmd, sizeof cmd, "cp %s %s", dump(), big);
	assert_int_equal(system(cmd), 0);
	snprintf(pre, sizeof pre, "--stdin-slow %s --stdout-pipe %s", big, outf);
	char *s = on_tty("TERM=xterm", pre, "info -");
	assert_non_null(strstr(s, "\rreading stdin  "));
	assert_non_null(strstr(s, "MB/s"));
	size_t n = strlen(s);
	assert_true(n >= 4 && !strcmp(s + n - 4, "\r\033[K")); /* erased */
	free(s);
	char *out = tu_read_file(outf, NULL);
	assert_non_null(strstr(out, "Slogan:"));
	assert_null(strchr(out, '\r'));
	free(out);
	/* stderr into a file: no bar */
	char *err;
	assert_int_equal(run2(NULL, &err, "{ cat %s | $BD info -; }", big), 0);
	assert_null(strchr(err, '\r'));
	free(err);
	unlink(big);
	unlink(outf);
}

/* Compressed or piped input is read while it is still being decompressed (the reader
 * follows the spool): what it says must not depend on how fast the bytes come. A real
 * dump of several megabytes arrives in slow pieces through a pipe, and as .zst. */
static void test_stream_follows(void **state)
{
	(void)state;
	const char *d = tu_sample_or_skip("backlog");
	char *plain, *s;
	int rc = run2(&plain, NULL, "$BD analyze --json --no-cache %s", d);
	assert_non_null(strstr(plain, "\"findings\""));
	assert_int_equal(run2(&s, NULL,
			      "{ f=%s; n=$(stat -c %%s $f); o=0; while [ $o -lt $n ]; do "
			      "tail -c +$((o + 1)) $f | head -c 1500000; o=$((o + 1500000)); "
			      "sleep 0.03; done | $BD analyze --json --no-cache -; }", d), rc);
	assert_string_equal(s, plain);
	free(s);
	const char *z = T("stream.dump.zst");
	assert_int_equal(run2(&s, NULL, "zstd -q -1 -f %s -o %s && $BD analyze --json --no-cache %s",
			      d, z, z), rc);
	assert_string_equal(s, plain);
	free(s);
	free(plain);
	/* cut inside: what came is read (exit 4: partial), and the notice says why */
	char *err;
	assert_int_equal(run2(&s, &err, "head -c $(($(stat -c %%s %s) / 2)) %s > %s.cut && "
			      "$BD info --no-cache %s.cut", z, z, z, z), 4);
	assert_non_null(strstr(s, "compressed input cut short"));
	assert_non_null(strstr(err, "partial dump"));
	free(s);
	free(err);
}

static void test_elixir_style(void **state)
{
	(void)state;
	const char *ex = tu_fixture("samples/dumps/elixir_proc_limit.dump.zst");
	char *out;
	assert_int_equal(run2(&out, NULL, "$BD state '<0.103.0>' %s", ex), 0);
	assert_non_null(strstr(out, "Ingest.Listener #PID<0.103.0>  gen_server Ingest.Listener"));
	assert_null(strstr(out, "'Elixir."));
	free(out);
	assert_int_equal(run2(&out, NULL, "$BD state --style erlang '<0.103.0>' %s", ex), 0);
	assert_non_null(strstr(out, "'Elixir.Ingest.Listener' <0.103.0>  gen_server 'Elixir.Ingest.Listener'"));
	free(out);
	assert_int_equal(run2(&out, NULL, "$BD state --json '<0.103.0>' %s", ex), 0);
	assert_null(strstr(out, "#PID"));
	free(out);
	assert_int_equal(run2(&out, NULL, "$BD top -n 3 %s", ex), 0);
	assert_non_null(strstr(out, "#PID<"));
	free(out);
	/* an Erlang node: Erlang, unless asked */
	assert_int_equal(run2(&out, NULL, "$BD top -n 3 %s", dump()), 0);
	assert_null(strstr(out, "#PID<"));
	free(out);
	assert_int_equal(run2(&out, NULL, "$BD proc --style=elixir --messages 1 mbox_sink %s", dump()), 0);
	assert_non_null(strstr(out, "[0] {:\"$gen_cast\", {:job, 98, <<111, 114, "));
	assert_non_null(strstr(out, "Current:        :timer.sleep/1"));
	free(out);
	expect_refusal("top --style=cobol x", "--style takes erlang, elixir or auto");
	/* the HTML report and the diff report speak Elixir too; --style erlang chooses */
	assert_int_equal(run2(&out, NULL, "$BD report -o - %s", ex), 0);
	assert_non_null(strstr(out, "Ingest.Listener"));
	assert_null(strstr(out, "&#39;Elixir."));
	assert_null(strstr(out, "'Elixir."));
	assert_non_null(strstr(out, "#PID&lt;0.103.0&gt;"));
	free(out);
	assert_int_equal(run2(&out, NULL, "$BD report --style=erlang -o - %s", ex), 0);
	assert_non_null(strstr(out, "&#39;Elixir.Ingest.Listener&#39;"));
	free(out);
	assert_int_equal(run2(&out, NULL, "$BD report -o - --baseline %s %s", ex, ex), 0);
	assert_null(strstr(out, "&#39;Elixir."));
	free(out);
	unlink(ex);
}

/* An Elixir Agent and a renamed gen_server: state shows their state, not a pid. */
static void test_agent_state(void **state)
{
	(void)state;
	char script[] = "/tmp/bdagent-XXXXXX", cmd[4096];
	int fd = mkstemp(script);
	assert_true(fd >= 0);
	const char *src =
		"defmodule MyApp.Struct do\n  defstruct [:id, :tags]\nend\n"
		"defmodule MyApp.Other do\n  use GenServer\n  def init(s), do: {:ok, s}\nend\n"
		"{:ok, _} = Agent.start_link(fn -> %{count: 42, name: \"agent state\"} end, name: MyApp.Counter)\n"
		"{:ok, _} = Agent.start_link(fn -> struct(MyApp.Struct, id: 1, tags: [:x]) end, name: MyApp.StructAgent)\n"
		"{:ok, o} = GenServer.start(MyApp.Other, {:other_state, ~c\"chars\"})\n"
		"Process.register(o, :renamed_other)\n"
		"Process.sleep(50)\n:erlang.halt(~c\"agent test\")\n";
	assert_int_equal(write(fd, src, strlen(src)), (ssize_t)strlen(src));
	close(fd);
	snprintf(cmd, sizeof cmd, "cd /tmp && ERL_CRASH_DUMP=%s.dump elixir %s >/dev/null 2>&1", script,
		 script);
	assert_int_equal(system(cmd) >> 8, 1);
	char *out;
	assert_int_equal(run2(&out, NULL, "$BD state MyApp.Counter %s.dump", script), 0);
	assert_non_null(strstr(out, "gen_server Agent.Server"));
	assert_non_null(strstr(out, "state: %{count: 42, name: \"agent state\"}"));
	free(out);
	assert_int_equal(run2(&out, NULL, "$BD state --style erlang MyApp.Counter %s.dump", script), 0);
	assert_non_null(strstr(out, "state: #{count => 42,name => <<\"agent state\">>}"));
	free(out);
	assert_int_equal(run2(&out, NULL, "$BD state MyApp.StructAgent %s.dump", script), 0);
	assert_non_null(strstr(out, "state: %MyApp.Struct{id: 1, tags: [:x]}"));
	free(out);
	assert_int_equal(run2(&out, NULL, "$BD state renamed_other %s.dump", script), 0);
	assert_non_null(strstr(out, "gen_server MyApp.Other"));
	assert_non_null(strstr(out, "state: {:other_state, ~c\"chars\"}"));
	free(out);
	snprintf(cmd, sizeof cmd, "%s.dump", script);
	unlink(cmd);
	unlink(script);
}


/* bash completion of the words COMP_WORDS (the cword-th being completed): expect. */
static void assert_completes(const char *words, int cword, const char *expect)
{
	char c[2048], *out;
	snprintf(c, sizeof c,
		 "bash -c 'source %s/scripts/beamdump-completion.bash; "
		 "beamdump() { $BD \"$@\"; }; COMP_WORDS=(%s); COMP_CWORD=%d; _beamdump; "
		 "echo \"${COMPREPLY[@]}\"'",
		 getenv("BD_SOURCE"), words, cword);
	assert_int_equal(run2(&out, NULL, "%s", c), 0);
	snprintf(c, sizeof c, "%s\n", expect); /* one line */
	assert_string_equal(out, c);
	free(out);
}

static void test_man_and_completion(void **state)
{
	(void)state;
	char *man, *cmds;
	assert_int_equal(run2(&man, NULL, "$BD __man"), 0);
	assert_int_equal(run2(&cmds, NULL, "$BD __complete"), 0);
	for (char *c = strtok(cmds, "\n"); c; c = strtok(NULL, "\n")) {
		char want[64];
		snprintf(want, sizeof want, ".SS \"%s\"", c);
		if (!strstr(man, want))
			fail_msg("the man page has no section for %s", c);
	}
	assert_non_null(strstr(man, ".SH EXIT STATUS"));
	assert_non_null(strstr(man, ".SH EXAMPLES"));
	assert_non_null(strstr(man, "\\-\\-fail\\-on"));
	/* every exit status on one flowing line, native crashes and HTML among the examples */
	assert_null(strstr(man, "\n            "));
	assert_non_null(strstr(man, ".B beamdump core core.12345"));
	assert_non_null(strstr(man, ".B beamdump report erl_crash.dump"));
	free(man);
	/* FILES: the crash guard where make install put it (LIBDIR) */
	assert_int_equal(run2(&man, NULL, "$BD __man /opt/bd/lib/beamdump"), 0);
	assert_non_null(strstr(man, ".SH FILES"));
	assert_non_null(strstr(man, "/opt/bd/lib/beamdump/libbeamdump_guard.so"));
	assert_non_null(strstr(man, "/opt/bd/lib/beamdump/ebin/beamdump_guard.beam"));
	assert_non_null(strstr(man, "BEAMDUMP_GUARD_DIR"));
	free(man);
	free(cmds);
	/* the page renders without warnings, where groff is installed */
	if (system("command -v groff >/dev/null 2>&1") == 0) {
		char *err;
		assert_int_equal(run2(NULL, &err, "$BD __man | groff -man -Tutf8 -ww -z"), 0);
		assert_string_equal(err, "");
		free(err);
	}
	/* bash completion: commands, options, values, and the processes of the dump */
	assert_completes("beamdump to", 1, "top");
	assert_completes("beamdump top --b", 2, "--by");
	assert_completes("beamdump top --by r", 3, "reductions");
	/* the native and HTML commands and their options */
	assert_completes("beamdump co", 1, "convert core");
	assert_completes("beamdump core --e", 2, "--exe");
	assert_completes("beamdump report --ba", 2, "--baseline");
	/* --opt=value: a file after the '=' (bash splits the word there) */
	assert_completes("beamdump core --sysroot = /pro", 4, "/proc");
	char words[512];
	snprintf(words, sizeof words, "beamdump proc mbox %s", dump());
	assert_completes(words, 2, "mbox_sink mbox_health");
}

/* A live capture says "unknown" for what it does not read, and counts only the node's
 * own processes (not the rpc worker that answers it). */
static void test_live_unknowns(void **state)
{
	(void)state;
	char node[64], cmd[1024];
	snprintf(node, sizeof node, "bdcli%d", (int)getpid());
	snprintf(cmd, sizeof cmd,
		 "cd /tmp && echo bdclicookie%d > /tmp/%s.cookie && chmod 600 /tmp/%s.cookie && "
		 "(erl -sname %s -setcookie bdclicookie%d -noshell -eval "
		 "'erlang:send_after(60000, self(), x), receive stop -> ok after 30000 -> ok end, "
		 "halt()' >/dev/null 2>&1 &) && sleep 1.5",
		 (int)getpid(), node, node, node, (int)getpid());
	assert_int_equal(system(cmd), 0);
	char host[128] = "localhost";
	FILE *h = popen("hostname -s", "r");
	if (h && fgets(host, sizeof host, h))
		host[strcspn(host, "\n")] = 0;
	if (h)
		pclose(h);
	char *out, *err;
	int rc = 1;
	for (int tries = 0; tries < 20 && rc; tries++) {
		rc = run2(NULL, &err, "$BD capture -q --node %s@%s --cookie-file /tmp/%s.cookie -o /tmp/%s.bdump",
			  node, host, node, node);
		free(err);
		if (rc)
			usleep(300000);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(run2(&out, NULL, "$BD info /tmp/%s.bdump", node), 0);
	assert_non_null(strstr(out, "Dump:       live capture of a running node"));
	assert_non_null(strstr(out, "Timers:     unknown"));
	assert_non_null(strstr(out, "Modules:    unknown"));
	assert_non_null(strstr(out, "Truncated:  no (the capture completed)"));
	assert_null(strstr(out, "version live"));
	assert_null(strstr(out, "=end"));
	/* the process count is the node's: as many as the rows of the process table */
	const char *pl = strstr(out, "Processes:  ");
	assert_non_null(pl);
	long counted = strtol(pl + 12, NULL, 10);
	free(out);
	assert_int_equal(run2(&out, NULL, "$BD top --json -n 100000 /tmp/%s.bdump", node), 0);
	long rows = 0;
	for (const char *p = out; (p = strstr(p, "\"pid\":")); p++)
		rows++;
	assert_int_equal(rows, counted);
	/* nor our own connection's process (nobody else is connected to this node) */
	assert_null(strstr(out, "dist_util:con_loop"));
	free(out);
	assert_int_equal(run2(&out, NULL, "$BD info --json /tmp/%s.bdump", node), 0);
	assert_non_null(strstr(out, "\"dump_version\":null"));
	assert_non_null(strstr(out, "\"timers\":null,\"modules\":null,\"funs\":null"));
	free(out);
	assert_int_equal(run2(&out, NULL, "$BD atoms /tmp/%s.bdump", node), 0);
	assert_non_null(strstr(out, "Atom names: unknown"));
	free(out);
	assert_int_equal(run2(&out, NULL, "$BD timers /tmp/%s.bdump", node), 0);
	assert_non_null(strstr(out, "Timers: unknown (a live capture does not read them)"));
	free(out);
	assert_int_equal(run2(&out, NULL, "$BD modules --json /tmp/%s.bdump", node), 0);
	assert_non_null(strstr(out, "\"modules\":null"));
	free(out);
	snprintf(cmd, sizeof cmd,
		 "erl -sname %sstop -setcookie bdclicookie%d -noshell -eval "
		 "'rpc:call(%s@%s, erlang, halt, []), halt()' >/dev/null 2>&1; rm -f /tmp/%s.cookie "
		 "/tmp/%s.bdump",
		 node, (int)getpid(), node, host, node, node);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_option_spellings),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_help_per_command),
		cmocka_unit_test(test_ci_bad_inputs),
		cmocka_unit_test(test_error_reasons),
		cmocka_unit_test(test_analyze_exit_codes),
		cmocka_unit_test(test_proc_paging),
		cmocka_unit_test(test_colors),
		cmocka_unit_test(test_table_width),
		cmocka_unit_test(test_progress),
		cmocka_unit_test(test_stream_follows),
		cmocka_unit_test(test_elixir_style),
		cmocka_unit_test(test_agent_state),
		cmocka_unit_test(test_man_and_completion),
		cmocka_unit_test(test_live_unknowns),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (g_tmp[0]) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf %s", g_tmp);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", g_tmp);
	}
	return rc;
}
