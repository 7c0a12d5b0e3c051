/* beamdump: post-mortem analysis of BEAM crash dumps and snapshots. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const struct command {
	const char *name;
	int (*run)(const opts *o);
	int nargs; /* positional arguments including the input */
	const char *usage;
} commands[] = {
	{"info", cmd_info, 1, "info <dump>                       node, slogan, counts, truncation"},
	{"top", cmd_top, 1, "top [--by memory|mq|reductions|binary|heap] [-n N] <dump>"},
	{"proc", cmd_proc, 2, "proc <pid|name> [--messages N] <dump>   one process in full"},
	{"ets", cmd_ets, 1, "ets [-n N] <dump>                 ETS tables by memory"},
	{"atoms", cmd_atoms, 1, "atoms [-n N] [--all] <dump>       atom count, limit, newest atoms"},
	{"memory", cmd_memory, 1, "memory <dump>                     erlang:memory() and allocators"},
	{"schedulers", cmd_schedulers, 1, "schedulers <dump>                 run queues and current processes"},
	{"ports", cmd_ports, 1, "ports [-n N] <dump>               ports by queue and I/O"},
	{"binaries", cmd_binaries, 1, "binaries [-n N] <dump>            refc binaries by size"},
	{"convert", cmd_convert, 1, "convert <dump> -o out.bdump       write a compact .bdump snapshot"},
	{"diff", cmd_diff, 2, "diff [-n N | --all] [--by memory|mq|reductions|binary|count] <A> <B>  what changed, A to B"},
	{"ci", cmd_ci, -1, "ci --baseline A --current B [--final C] [--config F] [--set K=V]  leak gate"},
	{"analyze", cmd_analyze, 1, "analyze [--verbose] <dump>        ranked findings: what went wrong, who, evidence"},
	{"state", cmd_state, 2, "state <pid|name> <dump>           gen_server/gen_statem/gen_event state"},
	{"capture", cmd_capture, -1, "capture --node NAME@HOST [--cookie-file F] [-o FILE] [--every S --count N]  live snapshot"},
	{"report", cmd_report, -1, "report [-o report.html] [--baseline A] <input>  self-contained HTML report"},
	{"sink", cmd_sink, -1, "sink --fifo PATH [-o DIR] [--keep-raw]  ERL_CRASH_DUMP FIFO -> snapshot"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: beamdump <command> [options] <input>\n"
		   "input: erl_crash.dump (also .zst), .bdump snapshot, or - for stdin\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fprintf(f, "\noptions: --json  -n N  --by KEY  --messages N  --all  --verbose\n"
		   "exit codes: 0 ok, 1 findings over thresholds, 2 usage, 3 unreadable input,\n"
		   "            4 partial (truncated) input read\n");
}

/* The usage text up to the description (two spaces or more). */
static int synopsis_len(const char *u)
{
	const char *d = strstr(u, "  ");
	return d ? (int)(d - u) : (int)strlen(u);
}

static int parse_long(const char *s, long *out)
{
	char *e;
	long v = strtol(s, &e, 10);
	if (!*s || *e || v < 0)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))) {
		printf("beamdump %s\n", BD_VERSION);
		return EXIT_OK;
	}
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	const struct command *cmd = NULL;
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[1], commands[i].name))
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "beamdump: unknown command '%s' (try beamdump --help)\n", argv[1]);
		return EXIT_USAGE;
	}
	opts o = {0};
	o.n = -1;
	o.messages = -1;
	o.color = isatty(1);
	o.argc = argc - 2;
	o.argv = argv + 2;
	if (cmd->nargs < 0) /* the command parses its own options (ci) */
		return cmd->run(&o);
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		/* --by=mq, --messages=5, -n5: the value in the same argument. */
		char key[16];
		int inline_val = 0;
		const char *eq = strchr(a, '=');
		if (!strncmp(a, "--", 2) && eq && strncmp(a, "--color", 7) &&
		    (size_t)(eq - a) < sizeof key) {
			memcpy(key, a, (size_t)(eq - a));
			key[eq - a] = 0;
			a = key;
			val = eq + 1;
			inline_val = 1;
		} else if (!strncmp(a, "-n", 2) && a[2] >= '0' && a[2] <= '9') {
			val = a + 2;
			a = "-n";
			inline_val = 1;
		}
		if (inline_val && (!strcmp(a, "--json") || !strcmp(a, "--all") ||
				   !strcmp(a, "--verbose") || !strcmp(a, "--help"))) {
			fprintf(stderr, "beamdump: %s takes no value\n", a);
			return EXIT_USAGE;
		}
		if (!strcmp(a, "--json")) {
			o.json = 1;
		} else if (!strcmp(a, "--all")) {
			o.all = 1;
		} else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			o.verbose = 1;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			printf("usage: beamdump %s\n", cmd->usage);
			return EXIT_OK;
		} else if (!strcmp(a, "-n") || !strcmp(a, "--messages")) {
			long v;
			if (!val || parse_long(val, &v)) {
				fprintf(stderr, "beamdump: %s needs a number\n", a);
				return EXIT_USAGE;
			}
			*(a[1] == 'n' ? &o.n : &o.messages) = v;
			i += !inline_val;
		} else if (!strcmp(a, "--by") || !strcmp(a, "-o")) {
			if (!val) {
				fprintf(stderr, "beamdump: %s needs a value\n", a);
				return EXIT_USAGE;
			}
			*(a[1] == 'o' ? &o.out : &o.by) = val;
			i += !inline_val;
		} else if (!strcmp(a, "--color") || !strncmp(a, "--color=", 8)) {
			/* --color[=]auto|always|never; a bare --color means always. */
			const char *c = a[7] == '=' ? a + 8 : NULL;
			if (!c && val && (!strcmp(val, "auto") || !strcmp(val, "always") ||
					  !strcmp(val, "never"))) {
				c = val;
				i++;
			}
			if (c && strcmp(c, "auto") && strcmp(c, "always") && strcmp(c, "never")) {
				fprintf(stderr, "beamdump: --color takes auto, always or never\n");
				return EXIT_USAGE;
			}
			o.color = !c ? 1 : !strcmp(c, "never") ? 0 : !strcmp(c, "always") ? 1 : isatty(1);
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "beamdump: unknown option '%s'\n", a);
			return EXIT_USAGE;
		} else if (o.nargs < 8) {
			o.args[o.nargs++] = a;
		}
	}
	if (o.nargs != cmd->nargs) {
		fprintf(stderr, "usage: beamdump %.*s\n", synopsis_len(cmd->usage), cmd->usage);
		return EXIT_USAGE;
	}
	int rc = cmd->run(&o);
	if (fflush(stdout) != 0 && rc == EXIT_OK)
		rc = EXIT_UNREADABLE;
	return rc;
}
