/* beamdump: post-mortem analysis of BEAM crash dumps and snapshots.
 *
 * Adding a command: write `int cmd_x(const opts *o)`, declare its options in a
 * cli_opt table ending with CLI_END (shared ones with the CLI_OPT_* macros of cli.h so
 * they mean the same everywhere), describe it in a `const cli_cmd` (here, or in its
 * own file with an extern in cli.h), and list it in commands[]. The parser refuses
 * every option not in the table and prints --help from it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define DUMP_ARG "<dump>"
#define DUMP_NOTE "<dump>: an erl_crash.dump (also .gz, .zst), a .bdump snapshot, or - for stdin\n"
#define EXITS_PROC "0 ok, 2 usage or no such process, 3 unreadable input, 4 partial input read"

static const cli_opt info_opts[] = {CLI_OPT_JSON, CLI_OPT_STYLE, CLI_OPT_COLOR, CLI_OPT_CACHE, CLI_END};
static const cli_cmd info_cmd = {"info", cmd_info, DUMP_ARG, 1, 1, info_opts,
				 "The node, why it crashed (slogan), counts, whether the dump is cut.", DUMP_NOTE, NULL};

static const cli_opt top_opts[] = {
	CLI_OPT_BY("rank by memory, mq, reductions, binary or heap (default memory)"),
	CLI_OPT_ROWS("processes to show (default 20)"), CLI_OPT_JSON, CLI_OPT_STYLE, CLI_OPT_COLOR, CLI_OPT_CACHE, CLI_END};
static const cli_cmd top_cmd = {"top", cmd_top, DUMP_ARG, 1, 1, top_opts,
				"Processes ranked by memory, queue, reductions, binary or heap.", DUMP_NOTE, NULL};

static const cli_opt proc_opts[] = {
	{"messages", 0, CLI_NUM, "N", "messages of the queue to print (default 10; all: a big N)"},
	{"from", 0, CLI_NUM, "I", "first message to print, counted from 0 (default 0)"},
	CLI_OPT_JSON, CLI_OPT_STYLE, CLI_OPT_COLOR, CLI_OPT_CACHE, CLI_END};
static const cli_cmd proc_cmd = {"proc", cmd_proc, "<pid|name> " DUMP_ARG, 2, 2, proc_opts,
				 "One process in full: state, queue, links, stack, dictionary.",
				 "<pid|name>: <0.123.0>, 0.123.0 or a registered name\n" DUMP_NOTE,
				 EXITS_PROC};

static const cli_opt ets_opts[] = {CLI_OPT_ROWS("tables to show (default 30)"), CLI_OPT_JSON,
				   CLI_OPT_STYLE, CLI_OPT_COLOR, CLI_OPT_CACHE, CLI_END};
static const cli_cmd ets_cmd = {"ets", cmd_ets, DUMP_ARG, 1, 1, ets_opts,
				"ETS tables by memory, with owner and type.", DUMP_NOTE, NULL};

static const cli_opt atoms_opts[] = {CLI_OPT_ROWS("newest atoms to show"),
				     CLI_OPT_ALL("every atom, oldest first"), CLI_OPT_JSON, CLI_OPT_STYLE, CLI_OPT_COLOR, CLI_OPT_CACHE, CLI_END};
static const cli_cmd atoms_cmd = {"atoms", cmd_atoms, DUMP_ARG, 1, 1, atoms_opts,
				  "Atom count, limit and the newest atoms.", DUMP_NOTE, NULL};

static const cli_opt plain_opts[] = {CLI_OPT_JSON, CLI_OPT_STYLE, CLI_OPT_COLOR, CLI_OPT_CACHE, CLI_END};
static const cli_cmd memory_cmd = {"memory", cmd_memory, DUMP_ARG, 1, 1, plain_opts,
				   "erlang:memory() and the allocators.", DUMP_NOTE, NULL};
static const cli_cmd schedulers_cmd = {"schedulers", cmd_schedulers, DUMP_ARG, 1, 1, plain_opts,
				       "Run queues and what each scheduler was running.", DUMP_NOTE,
				       NULL};

static const cli_opt ports_opts[] = {CLI_OPT_ROWS("ports to show"), CLI_OPT_JSON, CLI_OPT_STYLE, CLI_OPT_COLOR, CLI_OPT_CACHE, CLI_END};
static const cli_cmd ports_cmd = {"ports", cmd_ports, DUMP_ARG, 1, 1, ports_opts,
				  "Ports by queue and I/O.", DUMP_NOTE, NULL};

static const cli_opt binaries_opts[] = {CLI_OPT_ROWS("binaries to show (default 20)"),
					CLI_OPT_JSON, CLI_OPT_STYLE, CLI_OPT_COLOR, CLI_OPT_CACHE, CLI_END};
static const cli_cmd binaries_cmd = {"binaries", cmd_binaries, DUMP_ARG, 1, 1, binaries_opts,
				     "Refc binaries by size, with the processes that hold them.",
				     DUMP_NOTE, NULL};

static const cli_opt convert_opts[] = {
	CLI_OPT_OUTPUT("FILE", "the snapshot to write (required), e.g. node.bdump"),
	{"redact", 0, CLI_FLAG, NULL, "safe to share: no cookie, binaries and strings blanked "
				      "(sizes kept), see docs/FORMAT.md"},
	CLI_OPT_CACHE, CLI_END};
static const cli_cmd convert_cmd = {
	"convert", cmd_convert, DUMP_ARG " -o FILE", 1, 1, convert_opts,
	"Write a compact, indexed .bdump snapshot that every command reads.", DUMP_NOTE,
	"0 snapshot written, 2 usage, 3 unreadable input or cannot write the output,\n"
	"            4 the input was cut: the snapshot holds what was read"};

static const cli_opt diff_opts[] = {
	CLI_OPT_ROWS("rows per table (default 15; 100 with --json)"),
	CLI_OPT_ALL("every changed row"),
	CLI_OPT_BY("rank process groups by memory, mq, reductions, binary or count"), CLI_OPT_JSON,
	CLI_OPT_STYLE, CLI_OPT_COLOR, CLI_OPT_CACHE, CLI_END};
static const cli_cmd diff_cmd = {"diff", cmd_diff, "<A> <B>", 2, 2, diff_opts,
				 "What changed from A to B: processes, ETS, atoms, ports, memory.",
				 NULL, "0 ok, 2 usage, 3 unreadable input, 4 an input was partial"};

static const cli_opt analyze_opts[] = {
	CLI_OPT_VERBOSE("every finding with all its evidence (info ones too)"), CLI_OPT_JSON,
	{"fail-on", 0, CLI_VALUE, "SEVERITY", "exit 1 when a finding is critical, warning or "
					      "more, or info or more (for scripts)"},
	CLI_OPT_STYLE, CLI_OPT_COLOR, CLI_OPT_CACHE, CLI_END};
static const cli_cmd analyze_cmd = {
	"analyze", cmd_analyze, DUMP_ARG, 1, 1, analyze_opts,
	"What went wrong and who did it: findings, evidence, advice.", DUMP_NOTE,
	"0 analysed (whatever was found: the findings are the answer), 1 with --fail-on:\n"
	"            a finding at that severity or above, 2 usage, 3 unreadable input,\n"
	"            4 partial input (cut dump) read: findings from what was read"};

static const cli_opt state_opts[] = {CLI_OPT_ALL("the whole state, however big"), CLI_OPT_JSON,
				     CLI_OPT_STYLE, CLI_OPT_COLOR, CLI_OPT_CACHE, CLI_END};
static const cli_cmd state_cmd = {"state", cmd_state, "<pid|name> " DUMP_ARG, 2, 2, state_opts,
				  "The state of a gen_server, gen_statem or gen_event (:sys.get_state).",
				  "<pid|name>: <0.123.0>, 0.123.0 or a registered name\n" DUMP_NOTE,
				  "0 the state (or why the process has none: not a behaviour), 2 usage,\n"
				  "            no such process, or no state in the dump for it (the message\n"
				  "            says why), 3 unreadable input, 4 partial input read"};

static const cli_cmd *const commands[] = {
	&info_cmd, &analyze_cmd, &top_cmd, &proc_cmd, &state_cmd, &ets_cmd, &atoms_cmd,
	&memory_cmd, &schedulers_cmd, &ports_cmd, &binaries_cmd, &timers_cmd, &modules_cmd,
	&module_cmd, &funs_cmd, &pterms_cmd, &areas_cmd, &tables_cmd, &nodes_cmd, &diff_cmd, &ci_cmd,
	&convert_cmd, &capture_cmd, &sink_cmd, &core_cmd, &report_cmd, NULL};

static void usage(FILE *f)
{
	fprintf(f, "usage: beamdump <command> [options] <input>\n"
		   "input: an erl_crash.dump (also .gz, .zst), a .bdump snapshot, or - for stdin\n\n"
		   "commands:\n");
	int w = 0;
	for (size_t i = 0; commands[i]; i++)
		if ((int)strlen(commands[i]->name) > w)
			w = (int)strlen(commands[i]->name);
	for (size_t i = 0; commands[i]; i++) {
		const char *s = commands[i]->summary;
		size_t n = strlen(s);
		fprintf(f, "  %-*s  %.*s\n", w, commands[i]->name,
			(int)(n && s[n - 1] == '.' ? n - 1 : n), s);
	}
	fprintf(f, "\n'beamdump <command> --help' lists a command's options and exit codes.\n"
		   "  -h, --help     this help\n"
		   "  --version      the version\n"
		   "exit codes: 0 ok, 1 findings over thresholds (ci, analyze --fail-on), 2 usage,\n"
		   "            3 unreadable input, 4 partial (cut) input read; per command: --help\n");
}

/* Registered names and pids of a dump, for completing proc and state. */
static int complete_procs(const char *path)
{
	bd_model *m;
	bd_error err = {0};
	size_t n;
	char pid[48];
	if (bd_model_open(&m, path, &err))
		return EXIT_UNREADABLE;
	const bd_proc *p = bd_model_procs(m, &n);
	for (size_t i = 0; i < n; i++)
		if (p[i].name)
			printf("%s\n", p[i].name);
	for (size_t i = 0; i < n && n <= 20000; i++)
		printf("%s\n", bd_pid_fmt(p[i].pid, pid, sizeof pid));
	bd_model_free(m);
	return EXIT_OK;
}

/* Words for shell completion: the commands, or one command's options. */
static int complete_words(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[0], "--procs"))
		return complete_procs(argv[1]);
	for (size_t i = 0; commands[i]; i++) {
		const cli_cmd *c = commands[i];
		if (argc < 1) {
			printf("%s\n", c->name);
			continue;
		}
		if (strcmp(argv[0], c->name))
			continue;
		for (const cli_opt *d = c->opts; d->name || d->letter; d++)
			if (d->help && d->name)
				printf("--%s%s\n", d->name, d->arg == CLI_VALUE || d->arg == CLI_NUM ? "=" : "");
		printf("--help\n");
	}
	return EXIT_OK;
}

static const cli_cmd *find_command(const char *name)
{
	for (size_t i = 0; commands[i]; i++)
		if (!strcmp(name, commands[i]->name))
			return commands[i];
	return NULL;
}

/* Edit distance, for "did you mean". */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[32][32];
	if (la > 30 || lb > 30)
		return 99;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			d[i][j] = c;
		}
	return d[la][lb];
}

static int unknown_command(const char *name)
{
	const cli_cmd *best = NULL;
	size_t bd = 3;
	for (size_t i = 0; commands[i]; i++) {
		size_t dd = distance(name, commands[i]->name);
		if (dd < bd) {
			bd = dd;
			best = commands[i];
		}
	}
	if (best)
		fprintf(stderr, "beamdump: unknown command '%s' (did you mean '%s'? beamdump --help "
				"lists them)\n", name, best->name);
	else
		fprintf(stderr, "beamdump: unknown command '%s' (try beamdump --help)\n", name);
	return EXIT_USAGE;
}

/* Text for a person on stdout: its lines are fitted to the terminal. Not JSON, HTML,
 * a snapshot, nor ci's machine formats (ci turns it on for its text). */
static int fits_lines(const cli_cmd *cmd, const opts *o)
{
	static const char *const raw[] = {"report", "convert", "capture", "sink", "ci"};
	if (o->json)
		return 0;
	for (size_t i = 0; i < sizeof raw / sizeof *raw; i++)
		if (!strcmp(cmd->name, raw[i]))
			return 0;
	return 1;
}

/* stdout written out, or why not (a full disk, a closed pipe): exit 3 then. */
static int flushed(const char *what, int rc)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return rc;
	if (errno != EPIPE && rc != EXIT_UNREADABLE) /* 3: the command said why already */
		fprintf(stderr, "beamdump%s%s: cannot write the output: %s\n", what ? " " : "",
			what ? what : "", strerror(errno ? errno : EIO));
	return rc == EXIT_OK ? EXIT_UNREADABLE : rc;
}

int main(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))) {
		printf("beamdump %s\n", BD_VERSION);
		return flushed(NULL, EXIT_OK);
	}
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		const cli_cmd *c = argc > 2 ? find_command(argv[2]) : NULL;
		if (argc > 2 && !c)
			return unknown_command(argv[2]);
		out_guard_stdout();
		out_fit_lines(OUT_FIT_WRAP);
		if (c)
			cli_help(stdout, c);
		else
			usage(stdout);
		return flushed(c ? c->name : NULL, EXIT_OK);
	}
	if (!strcmp(argv[1], "__complete"))
		return flushed(NULL, complete_words(argc - 2, argv + 2));
	if (!strcmp(argv[1], "__man")) { /* beamdump(1), for make install */
		cli_man(stdout, commands, BD_VERSION, argc > 2 ? argv[2] : NULL);
		return flushed(NULL, EXIT_OK);
	}
	out_guard_stdout(); /* no raw control character of a dump reaches the terminal */
	const cli_cmd *cmd = find_command(argv[1]);
	if (!cmd)
		return unknown_command(argv[1]);
	opts o = {0};
	o.n = -1;
	o.messages = -1;
	o.color = cli_color_auto(1);
	o.cmd = cmd;
	int rc = cli_parse(cmd, commands, argc - 2, argv + 2, &o);
	progress_init();
	if (rc == CLI_HELP || (!rc && fits_lines(cmd, &o)))
		out_fit_lines(OUT_FIT_WRAP);
	if (rc == CLI_HELP) {
		cli_help(stdout, cmd);
		rc = flushed(cmd->name, EXIT_OK);
	} else if (!rc) {
		rc = flushed(cmd->name, cmd->run(&o));
	}
	free(o.given);
	return rc;
}
