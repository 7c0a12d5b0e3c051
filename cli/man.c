/* beamdump(1), written from the same command and option tables as --help, so the man
 * page lists every command, option and exit code there is (`beamdump __man`; make
 * install puts it in share/man/man1). The prose around the tables is here. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* roff-safe text: backslashes doubled, a leading dot or quote escaped. */
static void roff(FILE *f, const char *s)
{
	int bol = 1;
	for (; s && *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
		bol = *s == '\n';
	}
}

static void option(FILE *f, const cli_opt *d)
{
	fputs(".TP\n", f);
	if (d->letter)
		fprintf(f, "\\fB\\-%c\\fR%s", d->letter, d->name ? ", " : "");
	if (d->name) {
		fputs("\\fB\\-\\-", f);
		roff(f, d->name);
		fputs("\\fR", f);
	}
	if (d->arg && d->meta)
		fprintf(f, d->arg == CLI_OPTIONAL ? "[=\\fI%s\\fR]" : " \\fI%s\\fR", d->meta);
	fputc('\n', f);
	roff(f, d->help);
	fputc('\n', f);
}

static void command(FILE *f, const cli_cmd *c)
{
	fprintf(f, ".SS \"%s\"\n", c->name);
	fputs(".B beamdump ", f);
	roff(f, c->name);
	fputs("\n", f);
	int has = c->opts && (c->opts[0].name || c->opts[0].letter);
	if (has)
		fputs(".RI [ options ]\n", f);
	if (c->args) {
		fputs(".I ", f);
		roff(f, c->args);
		fputc('\n', f);
	}
	fputs(".PP\n", f);
	roff(f, c->summary);
	fputc('\n', f);
	for (const char *d = c->details, *e; d && *d; d = *e ? e + 1 : e) {
		e = strchr(d, '\n');
		if (!e)
			e = d + strlen(d);
		fputs(d == c->details ? ".PP\n" : ".br\n", f);
		char line[512];
		snprintf(line, sizeof line, "%.*s", (int)(e - d), d);
		roff(f, line);
		fputc('\n', f);
	}
	if (has) {
		fputs(".PP\nOptions:\n.RS\n", f);
		for (const cli_opt *d = c->opts; d->name || d->letter; d++)
			if (d->help)
				option(f, d);
		fputs(".RE\n", f);
	}
	/* --help breaks the exit codes into indented lines; the page flows them */
	char ex[1024];
	size_t k = 0;
	for (const char *e = c->exits ? c->exits : CLI_EXITS_READ; *e && k + 1 < sizeof ex; e++) {
		if (*e == '\n') {
			while (e[1] == ' ')
				e++;
			ex[k++] = ' ';
		} else {
			ex[k++] = *e;
		}
	}
	ex[k] = 0;
	fputs(".PP\nExit status: ", f);
	roff(f, ex);
	fputs("\n", f);
}

/* Where make install puts the crash guard (PREFIX/lib/beamdump); __man LIBDIR says. */
#define LIBDIR_DOC "\001"

static const char *const examples[][2] = {
	{"beamdump analyze erl_crash.dump", "What went wrong, who did it, with the evidence."},
	{"beamdump top --by mq -n 10 erl_crash.dump", "The ten longest message queues."},
	{"beamdump proc --messages 20 --from 100 my_server erl_crash.dump",
	 "One process: messages 100 to 119 of its queue."},
	{"beamdump state MyApp.Cache erl_crash.dump", "A gen_server's state, like :sys.get_state/1."},
	{"beamdump convert erl_crash.dump -o node.bdump", "A compact snapshot every command reads."},
	{"beamdump convert --redact erl_crash.dump -o share.bdump",
	 "A snapshot safe to attach to a ticket: no cookie, no binary or string contents."},
	{"beamdump capture --node app@host --cookie-file ~/.erlang.cookie",
	 "A snapshot of a running node, without stopping it."},
	{"beamdump sink --fifo /var/run/app.fifo -o /var/crash",
	 "Run the node with ERL_CRASH_DUMP=/var/run/app.fifo: its crash dump becomes a snapshot."},
	{"beamdump diff before.bdump after.bdump", "What grew between two snapshots."},
	{"beamdump ci --baseline base.bdump --current cur.bdump --junit=ci.xml",
	 "A leak gate for a test suite, with a JUnit report (exit 1: a rule failed; 3 or 4: an "
	 "input is unreadable or cut, and the report says why)."},
	{"beamdump report erl_crash.dump -o crash.html",
	 "One self-contained HTML page to read in a browser or attach to a ticket."},
	{"beamdump report --baseline before.bdump after.bdump -o growth.html",
	 "An HTML page of what grew between two snapshots."},
	{"beamdump core core.12345",
	 "A native crash (an ELF core of beam.smp): signal, threads, frames and the NIF."},
	{"LD_PRELOAD=" LIBDIR_DOC "/libbeamdump_guard.so BEAMDUMP_GUARD_DIR=/var/crash erl ...",
	 "Run a node with the crash guard: a native crash leaves /var/crash/beam-PID-TIME.bdump "
	 "for beamdump core, even with cores off."},
	{"gzip -dc erl_crash.dump.gz | beamdump info -", "Read from stdin."},
};

/* roff(), with LIBDIR_DOC replaced by libdir. */
static void roff_lib(FILE *f, const char *s, const char *libdir)
{
	const char *m;
	while ((m = strchr(s, LIBDIR_DOC[0]))) {
		char part[512];
		snprintf(part, sizeof part, "%.*s", (int)(m - s), s);
		roff(f, part);
		roff(f, libdir);
		s = m + 1;
	}
	roff(f, s);
}

void cli_man(FILE *f, const cli_cmd *const *cmds, const char *version, const char *libdir)
{
	if (!libdir || !*libdir)
		libdir = "/usr/local/lib/beamdump";
	fprintf(f, ".TH BEAMDUMP 1 \"\" \"beamdump %s\" \"User Commands\"\n", version);
	fputs(".SH NAME\nbeamdump \\- post-mortem analysis of BEAM (Erlang, Elixir) crash dumps and "
	      "snapshots\n", f);
	fputs(".SH SYNOPSIS\n.B beamdump\n.I command\n.RI [ options ]\n.I input\n.br\n"
	      ".B beamdump\n.I command\n.B \\-\\-help\n", f);
	fputs(".SH DESCRIPTION\n"
	      "beamdump reads an erl_crash.dump (plain, .gz or .zst, or \\- for stdin), a .bdump "
	      "snapshot (from convert, capture or sink) or a live node, and says what went wrong and "
	      "who did it. Options follow getopt_long: \\fB\\-\\-name=value\\fR or \\fB\\-\\-name "
	      "value\\fR, \\fB\\-n5\\fR or \\fB\\-n 5\\fR, unique prefixes of long names, and "
	      "\\fB\\-\\-\\fR to end the options. Each command takes only its own options and refuses "
	      "the others.\n"
	      ".PP\nThe distribution cookie of the node is never printed: it shows as '<cookie>'.\n"
	      ".PP\nWhen the node was an Elixir node, terms, names and pids are printed the Elixir way "
	      "(\\fB\\-\\-style\\fR chooses).\n", f);
	fputs(".SH COMMANDS\n", f);
	for (size_t i = 0; cmds[i]; i++)
		command(f, cmds[i]);
	fputs(".SH EXIT STATUS\n"
	      ".TP\n0\nSuccess.\n"
	      ".TP\n1\nFindings over thresholds: a ci rule failed, or analyze \\-\\-fail\\-on matched.\n"
	      ".TP\n2\nUsage: a bad command, option or value; no such process.\n"
	      ".TP\n3\nUnreadable input, or an output that cannot be written (the message says why).\n"
	      ".TP\n4\nPartial input: the dump or snapshot is cut; the answer covers what was read.\n"
	      ".PP\nEach command's own codes are listed with it above and in its \\-\\-help.\n", f);
	fputs(".SH ENVIRONMENT\n"
	      ".TP\n.B NO_COLOR\nWhen set and not empty, no colors (unless \\-\\-color=always).\n"
	      ".TP\n.B TERM\n\\fBdumb\\fR: no colors.\n"
	      ".TP\n.B COLUMNS\nWidth of the terminal; tables are fitted to it (long names cut with "
	      "a mark, the least useful columns left out), longer lines of text wrap under their "
	      "label. When stdout is not a terminal, nothing is cut or wrapped.\n"
	      ".TP\n.B BEAMDUMP_COOKIE\nThe cookie for capture (then cleared from the environment).\n"
	      ".TP\n.B BEAMDUMP_MAX_INPUT\nThe most a compressed or piped input may expand to "
	      "(e.g. 20G, or unlimited).\n"
	      ".TP\n.B TMPDIR\nWhere compressed and piped inputs are spooled.\n"
	      ".TP\n.B XDG_CACHE_HOME\nThe model cache goes to $XDG_CACHE_HOME/beamdump (else "
	      "~/.cache/beamdump): a second command on the same dump starts at once.\n"
	      ".TP\n.B BEAMDUMP_NO_CACHE\n1: no model cache (as \\-\\-no\\-cache).\n"
	      ".TP\n.B BEAMDUMP_CACHE_MAX\nThe most the cache directory may hold (default 2G).\n"
	      ".TP\n.B BEAMDUMP_GUARD_DIR\nWhere the crash guard writes its snapshots (default: "
	      "the working directory of the node).\n"
	      ".TP\n.B BEAMDUMP_GUARD_ANY\n1: the guard arms itself in any program, not only "
	      "in beam*.\n", f);
	fputs(".SH FILES\n.TP\n.B ", f);
	roff(f, libdir);
	fputs("/libbeamdump_guard.so\nThe crash guard: preloaded into a node (LD_PRELOAD) or "
	      "loaded by the Erlang module beamdump_guard, it writes a snapshot of a native crash "
	      "(signal, registers, stacks, threads) for \\fBbeamdump core\\fR.\n.TP\n.B ", f);
	roff(f, libdir);
	fputs("/ebin/beamdump_guard.beam\nThe module that loads the guard from Erlang: "
	      "\\fB\\-pa ", f);
	roff(f, libdir);
	fputs("/ebin \\-eval 'beamdump_guard:start(\"", f);
	roff(f, libdir);
	fputs("/libbeamdump_guard\")'\\fR (its source is beside it in src/).\n"
	      ".TP\n.B ~/.cache/beamdump\nThe model cache (see XDG_CACHE_HOME).\n", f);
	fputs(".SH EXAMPLES\n", f);
	for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
		fputs(".TP\n.B ", f);
		roff_lib(f, examples[i][0], libdir);
		fputc('\n', f);
		roff(f, examples[i][1]);
		fputc('\n', f);
	}
	fputs(".SH SEE ALSO\n.BR erl (1),\n.BR crashdump_viewer (3)\n", f);
}
