/* The beamdump command: shared options, output helpers and the command table. */
#ifndef BD_CLI_H
#define BD_CLI_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "beamdump/model.h"
#include "beamdump/term.h"

/* Exit codes (docs/cli.md). */
enum {
	EXIT_OK = 0,
	EXIT_FINDINGS = 1,
	EXIT_USAGE = 2,
	EXIT_UNREADABLE = 3,
	EXIT_PARTIAL = 4,
};

typedef struct opts {
	int json;
	int color;
	long n;            /* -n: rows; -1 = default */
	const char *by;    /* --by */
	long messages;     /* --messages for proc */
	int all;           /* --all */
	int verbose;       /* --verbose, -v */
	const char *out;   /* -o */
	const char *args[8];
	int nargs;         /* positional args after the command (input last) */
	int argc;          /* raw arguments after the command, for commands that */
	char **argv;       /* parse their own options (nargs < 0 in commands[]) */
} opts;

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
/* Display name of a process: registered name, else initial call, else spawned as. */
const char *proc_label(const bd_model *m, const bd_proc *p, char *buf, size_t cap);
/* Print one line to stderr about truncation/skips; return EXIT_PARTIAL or EXIT_OK. */
int partial_notice(const bd_model *m);
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
/* SIGINT/SIGTERM set a stop flag (no SA_RESTART); SIGPIPE ignored. */
void capture_signals(void);
volatile sig_atomic_t *capture_stop_flag(void);
/* Write m as a .bdump through the writer; a signal during writing ends the file
 * cleanly (BD_EBUDGET). bytes may be NULL. */
int capture_write(const bd_model *m, const char *path, const char *producer, uint64_t *bytes,
		  bd_error *err);

#endif
