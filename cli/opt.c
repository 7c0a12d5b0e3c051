/* Option parsing shared by every command, with getopt_long's conventions:
 * --name=value, --name value, -n5, -n 5, clustered short flags (-qv), unique prefixes
 * of long names, and -- to end the options. Each command declares its options in a
 * cli_opt table (cli.h); anything else is refused with the reason, and --help is
 * printed from the same table, so the help and the parser cannot disagree. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const cli_opt help_opt = {"help", 'h', CLI_FLAG, NULL, "this help"};

/* "-n" or "--rows": how the user may spell it, for messages. */
static const char *spelled(const cli_opt *d, char *buf, size_t cap)
{
	if (d->letter && !d->name)
		snprintf(buf, cap, "-%c", d->letter);
	else
		snprintf(buf, cap, "--%s", d->name);
	return buf;
}

static const cli_opt *by_name(const cli_opt *defs, const char *name, size_t len, int *ambiguous)
{
	const cli_opt *hit = NULL;
	int hits = 0;
	if (len == 4 && !strncmp(name, "help", 4))
		return &help_opt;
	for (const cli_opt *d = defs; d && (d->name || d->letter); d++)
		if (d->name && !strncmp(d->name, name, len)) {
			if (strlen(d->name) == len)
				return d; /* exact beats prefixes */
			hit = d;
			hits++;
		}
	if (ambiguous)
		*ambiguous = hits > 1;
	return hits == 1 ? hit : NULL;
}

static const cli_opt *by_letter(const cli_opt *defs, char c)
{
	if (c == 'h')
		return &help_opt;
	for (const cli_opt *d = defs; d && (d->name || d->letter); d++)
		if (d->letter == c)
			return d;
	return NULL;
}

/* The option is not the command's: say whether another command has it. */
static int refuse(const cli_cmd *cmd, const cli_cmd *const *all, const char *arg, size_t len,
		  int is_long)
{
	char others[256] = "";
	size_t n = 0;
	for (size_t i = 0; all[i]; i++) {
		const cli_opt *d = NULL;
		for (const cli_opt *e = all[i]->opts; e && (e->name || e->letter); e++)
			if (is_long ? e->name && strlen(e->name) == len && !strncmp(e->name, arg, len)
				    : e->letter == arg[0])
				d = e;
		if (d && n + strlen(all[i]->name) + 3 < sizeof others)
			n += (size_t)snprintf(others + n, sizeof others - n, "%s%s", n ? ", " : "",
					      all[i]->name);
	}
	if (*others)
		fprintf(stderr, "beamdump %s: %s%.*s does not apply to %s (it is an option of %s)\n",
			cmd->name, is_long ? "--" : "-", (int)len, arg, cmd->name, others);
	else
		fprintf(stderr, "beamdump %s: unknown option '%s%.*s'\n", cmd->name, is_long ? "--" : "-",
			(int)len, arg);
	fprintf(stderr, "Try 'beamdump %s --help' for its options.\n", cmd->name);
	return EXIT_USAGE;
}

static int parse_count(const char *s, long *out)
{
	char *e;
	errno = 0;
	long v = strtol(s, &e, 10);
	if (!*s || *e || v < 0 || errno)
		return -1;
	*out = v;
	return 0;
}

/* The shared fields of opts: the same option means the same thing everywhere. */
static int store(const cli_cmd *cmd, opts *o, const cli_opt *d, const char *val, const char *as)
{
	long v = 0;
	if (d->arg == CLI_NUM && parse_count(val, &v)) {
		fprintf(stderr, "beamdump %s: %s needs a number (0 or more), got '%s'\n", cmd->name, as,
			val);
		return EXIT_USAGE;
	}
	const char *n = d->name ? d->name : "";
	if (!strcmp(n, "json"))
		o->json = 1;
	else if (!strcmp(n, "rows"))
		o->n = v;
	else if (!strcmp(n, "messages"))
		o->messages = v;
	else if (!strcmp(n, "by"))
		o->by = val;
	else if (!strcmp(n, "all"))
		o->all = 1;
	else if (!strcmp(n, "verbose"))
		o->verbose = 1;
	else if (!strcmp(n, "output"))
		o->out = val;
	else if (!strcmp(n, "no-color"))
		o->color = 0;
	else if (!strcmp(n, "color")) {
		if (!val || !strcmp(val, "always"))
			o->color = 1;
		else if (!strcmp(val, "never"))
			o->color = 0;
		else if (!strcmp(val, "auto"))
			o->color = cli_color_auto(1);
		else {
			fprintf(stderr, "beamdump %s: --color takes auto, always or never, got '%s'\n",
				cmd->name, val);
			return EXIT_USAGE;
		}
	} else if (!strcmp(n, "style")) {
		if (strcmp(val, "erlang") && strcmp(val, "elixir") && strcmp(val, "auto")) {
			fprintf(stderr, "beamdump %s: --style takes erlang, elixir or auto, got '%s'\n",
				cmd->name, val);
			return EXIT_USAGE;
		}
		o->style = val;
	}
	o->given[o->ngiven].opt = d;
	o->given[o->ngiven].val = val;
	o->ngiven++;
	return EXIT_OK;
}

/* A value in the next argument: "-" (stdin/stdout) is one, other dashes are options. */
static const char *next_value(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		return NULL;
	const char *v = argv[*i + 1];
	if (v[0] == '-' && v[1])
		return NULL;
	++*i;
	return v;
}

static int missing_value(const cli_cmd *cmd, const cli_opt *d, const char *as)
{
	fprintf(stderr, "beamdump %s: %s needs a value (%s)\n", cmd->name, as,
		d->meta ? d->meta : "a value");
	fprintf(stderr, "Try 'beamdump %s --help' for its options.\n", cmd->name);
	return EXIT_USAGE;
}

static int long_opt(const cli_cmd *cmd, const cli_cmd *const *all, opts *o, int argc, char **argv,
		    int *i)
{
	const char *a = argv[*i] + 2, *eq = strchr(a, '=');
	size_t len = eq ? (size_t)(eq - a) : strlen(a);
	int amb = 0;
	const cli_opt *d = by_name(cmd->opts, a, len, &amb);
	char as[80];
	if (!d && amb) {
		fprintf(stderr, "beamdump %s: option '--%.*s' is ambiguous (", cmd->name, (int)len, a);
		int k = 0;
		for (const cli_opt *e = cmd->opts; e->name || e->letter; e++)
			if (e->name && !strncmp(e->name, a, len))
				fprintf(stderr, "%s--%s", k++ ? ", " : "", e->name);
		fprintf(stderr, ")\n");
		return EXIT_USAGE;
	}
	if (!d)
		return refuse(cmd, all, a, len, 1);
	spelled(d, as, sizeof as);
	if (d == &help_opt)
		return eq ? (fprintf(stderr, "beamdump %s: --help takes no value\n", cmd->name),
			     EXIT_USAGE)
			  : CLI_HELP;
	const char *val = eq ? eq + 1 : NULL;
	if (d->arg == CLI_FLAG && eq) {
		fprintf(stderr, "beamdump %s: %s takes no value\n", cmd->name, as);
		return EXIT_USAGE;
	}
	if ((d->arg == CLI_VALUE || d->arg == CLI_NUM) && !val && !(val = next_value(argc, argv, i)))
		return missing_value(cmd, d, as);
	/* An optional value: --md=FILE; a command without positional arguments also
	 * takes the next word (--md FILE), as no input can be mistaken for it. */
	if (d->arg == CLI_OPTIONAL && !val && cmd->max_args == 0)
		val = next_value(argc, argv, i);
	/* --color never: the words it takes cannot be an input either. */
	if (d->arg == CLI_OPTIONAL && !val && !strcmp(d->name, "color") && *i + 1 < argc &&
	    strstr(" auto always never ", argv[*i + 1]) && strlen(argv[*i + 1]) >= 4)
		val = argv[++*i];
	return store(cmd, o, d, val, as);
}

static int short_opts(const cli_cmd *cmd, const cli_cmd *const *all, opts *o, int argc,
		      char **argv, int *i)
{
	for (const char *c = argv[*i] + 1; *c; c++) {
		const cli_opt *d = by_letter(cmd->opts, *c);
		char as[4] = {'-', *c, 0};
		if (!d)
			return refuse(cmd, all, c, 1, 0);
		if (d == &help_opt)
			return CLI_HELP;
		if (d->arg == CLI_FLAG || d->arg == CLI_OPTIONAL) {
			int rc = store(cmd, o, d, NULL, as);
			if (rc)
				return rc;
			continue;
		}
		const char *val = c[1] ? c + 1 : next_value(argc, argv, i); /* -n5 or -n 5 */
		if (!val)
			return missing_value(cmd, d, as);
		return store(cmd, o, d, val, as);
	}
	return EXIT_OK;
}

int cli_parse(const cli_cmd *cmd, const cli_cmd *const *all, int argc, char **argv, opts *o)
{
	int no_more = 0;
	o->given = calloc((size_t)argc + 1, sizeof *o->given);
	if (!o->given)
		return EXIT_UNREADABLE;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int rc = EXIT_OK;
		if (no_more || a[0] != '-' || !a[1]) {
			if (o->nargs >= cmd->max_args || o->nargs >= CLI_MAX_ARGS) {
				fprintf(stderr, "beamdump %s: unexpected argument '%s'\n", cmd->name, a);
				fprintf(stderr, "usage: beamdump %s\n", cli_synopsis(cmd));
				fprintf(stderr, "Try 'beamdump %s --help' for its options.\n", cmd->name);
				return EXIT_USAGE;
			}
			o->args[o->nargs++] = a;
			continue;
		}
		if (!strcmp(a, "--"))
			no_more = 1;
		else if (a[1] == '-')
			rc = long_opt(cmd, all, o, argc, argv, &i);
		else
			rc = short_opts(cmd, all, o, argc, argv, &i);
		if (rc)
			return rc;
	}
	if (o->nargs < cmd->min_args) {
		fprintf(stderr, "beamdump %s: missing %s\n", cmd->name,
			cli_missing_arg(cmd->args, o->nargs));
		fprintf(stderr, "usage: beamdump %s\n", cli_synopsis(cmd));
		fprintf(stderr, "Try 'beamdump %s --help' for its options.\n", cmd->name);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* The nth word of "<pid|name> <dump>" (brackets included). */
const char *cli_missing_arg(const char *args, int nth)
{
	static char word[64];
	const char *p = args ? args : "";
	for (int k = 0; *p; k++) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (k == nth) {
			snprintf(word, sizeof word, "%.*s", (int)n, p);
			return word;
		}
		p += n;
	}
	return "arguments";
}

const char *cli_synopsis(const cli_cmd *cmd)
{
	static char buf[512];
	int has_opts = cmd->opts && (cmd->opts[0].name || cmd->opts[0].letter);
	snprintf(buf, sizeof buf, "%s%s%s%s", cmd->name, has_opts ? " [options]" : "",
		 cmd->args ? " " : "", cmd->args ? cmd->args : "");
	return buf;
}

static void help_line(FILE *f, const cli_opt *d)
{
	char left[96];
	size_t n = 0;
	if (d->letter)
		n += (size_t)snprintf(left, sizeof left, "  -%c%s", d->letter, d->name ? ", " : "");
	else
		n += (size_t)snprintf(left, sizeof left, "      ");
	if (d->name)
		n += (size_t)snprintf(left + n, sizeof left - n, "--%s", d->name);
	if (d->arg && d->meta && n < sizeof left)
		snprintf(left + n, sizeof left - n, d->arg == CLI_OPTIONAL ? "[=%s]" : " %s", d->meta);
	if (strlen(left) > 25)
		fprintf(f, "%s\n  %-24s%s\n", left, "", d->help ? d->help : "");
	else
		fprintf(f, "%-26s%s\n", left, d->help ? d->help : "");
}

void cli_help(FILE *f, const cli_cmd *cmd)
{
	int has_opts = cmd->opts && (cmd->opts[0].name || cmd->opts[0].letter);
	(void)has_opts;
	fprintf(f, "usage: beamdump %s\n", cli_synopsis(cmd));
	if (cmd->summary)
		fprintf(f, "%s\n", cmd->summary);
	fprintf(f, "\noptions:\n");
	for (const cli_opt *d = cmd->opts; d && (d->name || d->letter); d++)
		if (d->help)
			help_line(f, d);
	help_line(f, &help_opt);
	if (cmd->details)
		fprintf(f, "\n%s", cmd->details);
	fprintf(f, "\nexit codes: %s\n", cmd->exits ? cmd->exits : CLI_EXITS_READ);
}

const char *opt_str(const opts *o, const char *name)
{
	const char *v = NULL;
	for (size_t i = 0; i < o->ngiven; i++)
		if (o->given[i].opt->name && !strcmp(o->given[i].opt->name, name))
			v = o->given[i].val;
	return v;
}

int opt_count(const opts *o, const char *name)
{
	int n = 0;
	for (size_t i = 0; i < o->ngiven; i++)
		n += o->given[i].opt->name && !strcmp(o->given[i].opt->name, name);
	return n;
}

int cli_color_auto(int fd)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	if (nc && *nc)
		return 0;
	if (term && !strcmp(term, "dumb"))
		return 0;
	return isatty(fd);
}
