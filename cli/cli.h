/* The beamdump command: shared options, output helpers and the command table. */
#ifndef BD_CLI_H
#define BD_CLI_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "beamdump/model.h"
#include "beamdump/term.h"

/* Exit codes (README "Commands", beamdump(1); each command's --help lists its own). */
enum {
	EXIT_OK = 0,
	EXIT_FINDINGS = 1,
	EXIT_USAGE = 2,
	EXIT_UNREADABLE = 3,
	EXIT_PARTIAL = 4,
};

/* ---- options (cli/opt.c): one parser for every command ----
 * A command declares its options in a table ending with CLI_END; the parser accepts
 * --name=value, --name value, -n5, -n 5, -qv, unique prefixes of long names and --,
 * refuses anything else (naming the commands an option belongs to), and prints
 * --help from the same table. How to add a command: see cli/main.c. */
enum cli_arg {
	CLI_FLAG,     /* no value */
	CLI_VALUE,    /* a required value: --by mq, --by=mq, -o f, -of */
	CLI_NUM,      /* a required count (0 or more), checked by the parser */
	CLI_OPTIONAL, /* an optional value, --md=FILE only (or --md FILE when the command
		       * takes no positional arguments) */
};

typedef struct cli_opt {
	const char *name;   /* long name without "--", or NULL */
	char letter;        /* short name, or 0 */
	enum cli_arg arg;
	const char *meta;   /* what the value is, for --help: "N", "FILE", "KEY" */
	const char *help;   /* one line for --help; NULL: accepted but not listed */
} cli_opt;

#define CLI_END {NULL, 0, CLI_FLAG, NULL, NULL}
/* Options that mean the same everywhere; the parser also fills their opts fields. */
#define CLI_OPT_JSON {"json", 0, CLI_FLAG, NULL, "JSON on stdout (schemas: docs/json.md)"}
#define CLI_OPT_ROWS(help) {"rows", 'n', CLI_NUM, "N", help}
#define CLI_OPT_ALL(help) {"all", 0, CLI_FLAG, NULL, help}
#define CLI_OPT_BY(keys) {"by", 0, CLI_VALUE, "KEY", keys}
#define CLI_OPT_OUTPUT(meta, help) {"output", 'o', CLI_VALUE, meta, help}
#define CLI_OPT_VERBOSE(help) {"verbose", 'v', CLI_FLAG, NULL, help}
#define CLI_OPT_COLOR                                                                          \
	{"color", 0, CLI_OPTIONAL, "WHEN", "auto (default: on a terminal, unless NO_COLOR or "   \
					   "TERM=dumb), always or never"},                     \
	{"no-color", 0, CLI_FLAG, NULL, "same as --color=never"}
#define CLI_OPT_CACHE                                                                          \
	{"no-cache", 0, CLI_FLAG, NULL, "read the dump itself: no model cache of an earlier "     \
					"run (also BEAMDUMP_NO_CACHE=1)"}
#define CLI_OPT_STYLE                                                                          \
	{"style", 0, CLI_VALUE, "STYLE", "terms as erlang or elixir (default auto: elixir for a " \
					 "dump of an Elixir node)"}

/* Exit-code lines for --help; a command with other codes writes its own. */
#define CLI_EXITS_READ "0 ok, 2 usage, 3 unreadable input, 4 partial input (cut dump) read"

typedef struct opts opts;
typedef struct cli_cmd {
	const char *name;
	int (*run)(const opts *o);
	const char *args;       /* positional arguments for usage: "<pid|name> <dump>" */
	int min_args, max_args; /* how many positional arguments */
	const cli_opt *opts;    /* table ending with CLI_END */
	const char *summary;    /* one line: what the command does */
	const char *details;    /* more --help text (lines end with \n), or NULL */
	const char *exits;      /* exit codes, or NULL for CLI_EXITS_READ */
} cli_cmd;

typedef struct cli_given {
	const cli_opt *opt;
	const char *val; /* NULL for flags and an absent optional value */
} cli_given;

#define CLI_MAX_ARGS 8
/* Help was asked for (cli_parse's return); the caller prints it and exits 0. */
#define CLI_HELP (-1)

struct opts {
	int json;
	int color;         /* colors on stdout (--color, NO_COLOR, TERM=dumb, a tty) */
	long n;            /* -n, --rows: rows; -1 = default */
	const char *by;    /* --by */
	long messages;     /* --messages for proc; -1 = default */
	int all;           /* --all */
	int verbose;       /* --verbose, -v */
	const char *out;   /* -o, --output */
	const char *style; /* --style: "erlang", "elixir", "auto" or NULL */
	const char *args[CLI_MAX_ARGS];
	int nargs;         /* positional args after the command (input last) */
	const cli_cmd *cmd;
	cli_given *given;  /* every option given, in order (repeated ones too) */
	size_t ngiven;
};

/* Parse argv (the words after the command name) against cmd's table; all lists every
 * command (NULL-terminated) to say where a foreign option belongs. Returns EXIT_OK,
 * CLI_HELP, or EXIT_USAGE (message printed). */
int cli_parse(const cli_cmd *cmd, const cli_cmd *const *all, int argc, char **argv, opts *o);
void cli_help(FILE *f, const cli_cmd *cmd);
/* The man page beamdump(1) from the command tables (cli/man.c). */
/* beamdump(1); libdir: where make install put the crash guard (PREFIX/lib/beamdump). */
void cli_man(FILE *f, const cli_cmd *const *cmds, const char *version, const char *libdir);
/* "top [--by KEY] [-n N] [--json] <dump>" (static buffer). */
const char *cli_synopsis(const cli_cmd *cmd);
const char *cli_missing_arg(const char *args, int nth);
/* Value of the last --name given (NULL if absent or given without a value). */
const char *opt_str(const opts *o, const char *name);
/* How many times --name was given. */
int opt_count(const opts *o, const char *name);
/* ---- fitting tables to the terminal (cli/out.c) ----
 * out_columns: the width of the terminal stdout is ($COLUMNS, else the tty's), or 0
 * when stdout is a pipe or a file (then nothing is cut). out_fit: s cut to w display
 * columns, the last one a visible mark ("…" in a UTF-8 locale, else "~"). out_pad:
 * print s padded to w columns (right-aligned when right). out_width: display columns. */
int out_columns(void);
const char *out_fit(const char *s, size_t w, char *buf, size_t cap);
void out_pad(const char *s, size_t w, int right);
size_t out_width(const char *s);
/* A table fitted to the terminal: columns as wide as their widest cell; on a terminal
 * too narrow, columns with a min shrink (cells cut with a mark) and then columns with
 * a drop rank go, highest rank first. Piped: full width, nothing cut. cells holds
 * nrows * ncols strings (NULL = empty), row by row. */
typedef struct tcol {
	const char *head;
	int right;     /* right-aligned (numbers) */
	size_t min;    /* > 0: may shrink to this many columns, cut with a mark */
	int drop;      /* > 0: may be left out on a narrow terminal, highest first */
	size_t gap;    /* spaces before the column (the first column's indents the table) */
	size_t width;  /* > 0: a fixed layout ("%-16s"): at least this wide; into a pipe
			* exactly this wide, a longer cell overflowing its row as printf's;
			* a row whose cells from such a column on are NULL ends there */
	int below;     /* printed on lines of its own under its row, gap spaces in (lines
			* of the cell split at '\n'), not as a column */
} tcol;
void table_print(const tcol *cols, size_t ncols, const char *const *cells, size_t nrows);
/* The same into f: fitted only when f is stdout. */
void table_fprint(FILE *f, const tcol *cols, size_t ncols, const char *const *cells, size_t nrows);
/* Cells for table_print in one allocation: tgrid_init(&g, rows, ncols) (-1: out of
 * memory), then per row r = tgrid_row(&g) and r[j] filled (snprintf & co; a cell left
 * "" is empty, tgrid_null(&g, j) makes it NULL); tgrid_print prints the table (with
 * head_alone, the head even without rows) and frees the cells. */
enum { TGRID_CELL = 192 };
typedef struct tgrid {
	char (*cell)[TGRID_CELL];
	const char **cells;
	size_t ncols, nrows, cap;
} tgrid;
int tgrid_init(tgrid *g, size_t rows, size_t ncols);
char (*tgrid_row(tgrid *g))[TGRID_CELL];
void tgrid_null(tgrid *g, size_t col);
void tgrid_print(tgrid *g, const tcol *cols, int head_alone);
/* Every other line a text command prints, on a terminal: OUT_FIT_WRAP breaks prose
 * wider than the terminal at spaces, indented under its text; OUT_FIT_CUT cuts a line
 * with the mark (one term a line: persistent terms, stack slots). main() turns WRAP on
 * for the text commands; a command may switch modes (its lines so far are written).
 * Does nothing into a pipe or a file (out_columns() 0): output stays byte for byte. */
enum { OUT_FIT_OFF, OUT_FIT_WRAP, OUT_FIT_CUT };
void out_fit_lines(int mode);
/* Progress bars on stderr for long steps (include/beamdump/progress.h): progress_init
 * turns them on when stderr is a terminal (not TERM=dumb); progress_off (-q) stops
 * them and erases what is shown. Never written into a pipe or a file. */
void progress_init(void);
void progress_off(void);
/* Colors for fd: a terminal, NO_COLOR unset or empty, TERM not dumb. */
int cli_color_auto(int fd);

/* ---- JSON writer: commas and escaping handled here ---- */
typedef struct jw {
	FILE *f;
	int depth;
	int first[64];
	int after_key;
} jw;

void jw_init(jw *w, FILE *f);
void jw_obj(jw *w);
void jw_obj_end(jw *w);
void jw_arr(jw *w);
void jw_arr_end(jw *w);
void jw_key(jw *w, const char *k);
void jw_str(jw *w, const char *s);          /* NULL -> null */
void jw_strn(jw *w, const char *s, size_t n);
void jw_u64(jw *w, uint64_t v);             /* BD_UNKNOWN -> null */
void jw_i64(jw *w, int64_t v);
void jw_dbl(jw *w, double v);               /* NaN -> null */
void jw_bool(jw *w, int v);
void jw_null(jw *w);
void jw_pid(jw *w, bd_pid p);               /* "<0.1.0>" or null */
/* key + value shorthands */
void jw_kstr(jw *w, const char *k, const char *s);
void jw_ku64(jw *w, const char *k, uint64_t v);
void jw_kpid(jw *w, const char *k, bd_pid p);
void jw_end(jw *w);                         /* newline */

/* ---- text helpers ---- */
/* "1,234,567" (or "?" for BD_UNKNOWN) into buf. */
const char *fmt_count(uint64_t v, char *buf, size_t cap);
/* "12.3 MB" style (or "?"). */
const char *fmt_bytes(uint64_t v, char *buf, size_t cap);
/* words -> bytes using the model's word size (BD_UNKNOWN stays). */
uint64_t words_to_bytes(const bd_model *m, uint64_t words);
/* Display name of a process (bd_proc_name), "-" when only the pid is known. */
const char *proc_label(const bd_model *m, const bd_proc *p, char *buf, size_t cap);
/* A live capture (beamdump capture): it does not read timers, modules, funs, atom
 * names or persistent terms, so those are unknown (text "unknown", JSON null), not 0. */
int is_live(const bd_model *m);
/* Why an OS-level operation failed: strerror of err->sys_errno ("Permission denied"),
 * else the message. */
const char *err_reason(const bd_error *err);
#define LIVE_UNKNOWN "unknown (a live capture does not read them)"
/* ---- text from a dump (out.c): never a raw control character ----
 * out_clean: s[0..n) with C0/DEL/C1 controls escaped (\n \t \e \xNN \u0085, a dump's
 * NUL as \0) into dst (always NUL-terminated; cut with "..." at cap). Returns the length.
 * out_txt: the same for a C string, into one of 8 rotating 1 KiB buffers (valid for
 * the next 7 calls; the CLI prints from one thread); NULL stays NULL. Use it for every
 * dump string put into text output: printf("%s", out_txt(p->name)).
 * out_print: print s cleaned to f whole; with indent, a \n of s starts a new line
 * indented (multi-line slogans). */
size_t out_clean(char *dst, size_t cap, const char *s, size_t n);
const char *out_txt(const char *s);
void out_print(FILE *f, const char *s, const char *indent);
/* Route stdout through the same escaping (\n and \t pass): no path can print a raw
 * control character. main() installs it; the program's own escape sequences
 * (colors) are written with out_sgr(). */
void out_guard_stdout(void);
void out_sgr(const char *seq);
/* Print one line to stderr about truncation/skips; return EXIT_PARTIAL or EXIT_OK. */
int partial_notice(const bd_model *m);
/* What partial_notice says (lines joined by \n, no "beamdump: "); 1 when the input
 * was partial, else 0 and buf = "". */
int partial_reason(const bd_model *m, char *buf, size_t cap);
/* The model cache is used unless --no-cache or BEAMDUMP_NO_CACHE (not "0"). */
int cli_use_cache(const opts *o);
/* Set the term style for this run (bd_term_set_style): --style, else Elixir for the
 * dump of an Elixir node; JSON output always Erlang. open_input calls it. */
void cli_style(const opts *o, const bd_model *m);
/* A name, an MFA or text holding them, in the current style (MyApp.Cache,
 * :gen_server.loop/7 for Elixir); NULL stays NULL. Returns buf. */
const char *style_label(const char *s, char *buf, size_t cap);
/* Open the input named by the last positional argument; prints errors. */
int open_input(const opts *o, bd_model **m);
/* open_input, then the process named by the first argument (pid or name); prints
 * errors (no such process: also the partial notice). Defined in cmd_proc.c. */
int open_proc(const opts *o, bd_model **m, const bd_proc **p);

int cmd_info(const opts *o);
int cmd_top(const opts *o);
int cmd_proc(const opts *o);
int cmd_ets(const opts *o);
int cmd_atoms(const opts *o);
int cmd_memory(const opts *o);
int cmd_schedulers(const opts *o);
int cmd_ports(const opts *o);
int cmd_binaries(const opts *o);
int cmd_convert(const opts *o);
int cmd_diff(const opts *o);
int cmd_ci(const opts *o);
int cmd_analyze(const opts *o);
int cmd_state(const opts *o);
int cmd_report(const opts *o); /* cli/cmd_report.c: the HTML page */
/* capture and sink (cli/cmd_capture.c, cli/cmd_sink.c) */
int cmd_capture(const opts *o);
int cmd_sink(const opts *o);
/* Commands described next to their code. */
extern const cli_cmd ci_cmd, capture_cmd, sink_cmd, report_cmd;
/* the section tables of cli/cmd_sections.c */
extern const cli_cmd timers_cmd, modules_cmd, module_cmd, funs_cmd, pterms_cmd, areas_cmd,
	tables_cmd, nodes_cmd;
/* native crashes (cli/cmd_core.c) */
int cmd_core(const opts *o);
extern const cli_cmd core_cmd;
/* SIGINT/SIGTERM set a stop flag (no SA_RESTART); SIGPIPE ignored. */
void capture_signals(void);
volatile sig_atomic_t *capture_stop_flag(void);
/* Write m as a .bdump through the writer; a signal during writing ends the file
 * cleanly (BD_EBUDGET). bytes may be NULL. */
int capture_write(const bd_model *m, const char *path, const char *producer, uint64_t *bytes,
		  bd_error *err);

#endif
