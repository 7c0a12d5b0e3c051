/* beamdump report: the self-contained HTML page. A writer that escapes everything
 * that comes from a dump, SVG charts, and the sections of the page (one file each).
 * Everything from a dump is untrusted: it reaches the page only through hw_text
 * (text and quoted attributes) or hw_json (JSON inside a data block). */
#ifndef BD_HTML_H
#define BD_HTML_H

#include <stdint.h>
#include <stdio.h>

#include "beamdump/analyze.h"
#include "beamdump/diff.h"
#include "beamdump/util.h"
#include "cli.h"

/* ---- the writer ---- */
typedef struct hw {
	FILE *f;        /* where the page goes (hw_open: a counting stream over out) */
	FILE *out;
	uint64_t bytes; /* written so far (hw_open) */
} hw;

/* Write through a stream that counts the page's bytes (sections keep to budgets with
 * it); hw_close flushes it. Without hw_open, f is used directly and bytes stays 0. */
int hw_open(hw *w, FILE *out);
int hw_close(hw *w);
/* Bytes of the page so far (flushes; 0 without hw_open). */
uint64_t hw_size(hw *w);

/* Trusted markup (literals of this program). */
void hw_raw(hw *w, const char *s);
void hw_fmt(hw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Untrusted text: & < > " ' escaped, invalid UTF-8 as U+FFFD, control characters
 * as \xNN, bidi controls as \u{NNNN}; safe in element content and in quoted
 * attribute values. NULL writes nothing. hw_textcut cuts at max bytes (at a UTF-8
 * boundary) and ends with an ellipsis when it did. */
void hw_text(hw *w, const char *s);
void hw_textn(hw *w, const char *s, size_t n);
void hw_textcut(hw *w, const char *s, size_t max);
/* Untrusted text as a JSON string (quotes included) that is also safe inside a
 * <script type="application/json"> block: < > & and U+2028/9 escaped. NULL -> null. */
void hw_json(hw *w, const char *s);
void hw_jsonn(hw *w, const char *s, size_t n);
/* Numbers for people: "51,134", "12.8 MB", "?" for BD_UNKNOWN. */
void hw_count(hw *w, uint64_t v);
void hw_bytes(hw *w, uint64_t v);
/* A number cell: <td class="num" data-v="raw">formatted</td>. */
void hw_td_count(hw *w, uint64_t v);
void hw_td_bytes(hw *w, uint64_t v);
/* A cell of untrusted text in a fixed font: <td class="mono">hw_textcut</td>. */
void hw_td_mono(hw *w, const char *s, size_t max);

/* The page around the sections: head with CSS, the content-security policy that
 * lets only the page's own script run and forbids every network request, and the
 * script at the end. */
void html_page_begin(hw *w, const char *title, const char *nav);
/* SHA-256 of data (for the policy's script hash). */
void html_sha256(const void *data, size_t n, uint8_t out[32]);
void html_page_end(hw *w);

/* ---- charts (inline SVG) ---- */
typedef struct chart_item {
	const char *label;   /* untrusted */
	const char *href;    /* in-page link ("#p-0.85.0") or NULL; trusted */
	uint64_t value;
	uint64_t value2;     /* second bar (e.g. carriers behind used), or BD_UNKNOWN */
	int bytes;           /* format values as bytes */
	int hot;             /* highlighted (a culprit) */
	int muted;           /* grey: "the rest", "no application" */
} chart_item;

static inline chart_item chart_it(const char *label, const char *href, uint64_t value,
				  uint64_t value2, int bytes, int hot)
{
	chart_item it = {label, href, value, value2, bytes, hot, 0};
	return it;
}

/* Horizontal bars, largest first as given. Returns nothing when every value is 0. */
void svg_bars(hw *w, const char *title, const chart_item *items, size_t n);
/* One stacked bar with a legend (parts of a whole). */
void svg_stack(hw *w, const char *title, const chart_item *items, size_t n, uint64_t total);
/* Squarified treemap; items[i].value2 = index of the parent item or BD_UNKNOWN for
 * a top-level item (children follow their parent, with values that sum to at most
 * the parent's). */
void svg_treemap(hw *w, const char *title, const chart_item *items, size_t n, int width,
		 int height);
/* A gauge: value of limit. */
void svg_gauge(hw *w, const char *title, uint64_t value, uint64_t limit);

/* ---- the report ---- */
typedef struct report {
	hw *w;
	const bd_model *m;
	const char *path;
	const bd_findings *fs;
	bd_proc_tree *tree;
	bd_bin_refs *refs;
	const bd_proc *procs;
	size_t nprocs;
	uint8_t *flags;       /* per process: RF_* */
	uint32_t *rank[4];    /* largest by memory, queue, reductions, binaries (html_rank) */
	size_t nranked;       /* entries in each: min(processes, row_cap) */
	size_t nrows;         /* processes in the table (RF_ROW) */
	uint32_t *details;    /* processes with a detail section, in page order */
	size_t ndetails;
	size_t row_cap;       /* process rows embedded in the page */
	int word_size;
	char *tb;             /* term text buffer (TERM_CAP) */
	uint8_t *port_listed;  /* per port: in the ports table (html_port_listed) */
	const char **labels;   /* per process: bd_proc_name's label, computed on first use
				* (only for processes the page shows) */
	uint32_t *app_roots;   /* html_app_roots: the tops of each application's trees */
	size_t *app_root_off;  /* napps + 2 offsets; the last group is "no application" */
	struct { const char *ic, *cur, *key; } group_memo[256]; /* r_proc_group's recent keys */
	bd_intern label_text;
	bd_arena label_arena;
	bd_u64map port_index;  /* port id -> index (html_port_listed) */
	/* what the page leaves out, said in its footer */
	char notes[8][200];
	int nnotes;
} report;

enum {
	RF_DETAIL = 1,   /* has a detail section (anchor #p-...) */
	RF_CULPRIT = 2,  /* named by a warning or critical finding */
	RF_ROW = 4,      /* embedded in the process table */
	RF_NAMED = 8,    /* named by any finding */
};
enum { TERM_CAP = 1 << 16, TOP_DETAIL = 5 /* of each ranking get a detail section */ };

uint64_t r_proc_memory(const report *r, const bd_proc *p);
uint64_t r_proc_binary(const report *r, const bd_proc *p);
uint64_t r_words(const report *r, uint64_t words);
/* Registered name, else the name it is known by (bd_proc_name's label, process_name
 * or via name), else NULL. */
const char *r_proc_name(const report *r, const bd_proc *p);
/* Label of a process for people: r_proc_name, else initial call, else "-". */
/* Its group: the initial call, for a spawned fun also where it runs ("erlang:apply/2
 * in mod:loop/1"); a stable string. */
const char *r_proc_group(const report *r, const bd_proc *p);
const char *r_proc_label(const report *r, const bd_proc *p);
const char *r_proc_initial(const report *r, const bd_proc *p);
const char *r_proc_app(const report *r, const bd_proc *p);
/* A pid as a link to its detail when it has one, else as text (with its name). */
void r_pid(report *r, bd_pid pid, int with_name);
void r_pid_href(const report *r, bd_pid pid, char *buf, size_t cap);
void r_note(report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "No <what> in the dump." (what is markup), said right for cut dumps and, with
 * live_unknown, for what a live capture does not read; after: more markup. */
void r_none(report *r, const char *what, int live_unknown, const char *after);

/* Sections (html_*.c). */
void html_verdict(report *r);
/* The native crash (ELF core, crash guard): 1 when rendered, 0 when the input is not
 * a native crash (or this build has no native-crash table). */
int html_native(report *r);
int html_has_native(const report *r);
void html_memory(report *r);
void html_processes(report *r);
void html_details(report *r);
void html_apps(report *r);
void html_ets(report *r);
void html_ports(report *r);
void html_timers(report *r);
void html_atoms(report *r);
void html_schedulers(report *r);
void html_binaries(report *r);
void html_footer(report *r, double seconds);
/* The tops of application a's trees (a = napps: of no application), largest subtree
 * first: its processes whose parent is not its own (a dump: the master). */
const uint32_t *html_app_roots(report *r, size_t a, size_t *n);
/* Whether the ports table lists this port (so a link to #port-N leads somewhere). */
int html_port_listed(report *r, bd_pid id);
/* The rankings (report.rank); then pick the processes that get a detail section
 * (findings, top of each ranking). */
int html_rank(report *r);
/* The page of one model in three steps (cmd_report.c; the fuzz targets render it
 * too): analyze and rank (0, or -1 with err set), write through an hw_open'ed writer
 * (0, or -1 on a write error), and free what the first two made (always). */
int report_prepare(report *r, const bd_model *m, const char *path, size_t rows, size_t details,
		   double t0, bd_error *err);
int report_render(report *r, hw *w, double t0);
void report_release(report *r);
int html_pick_details(report *r, size_t cap);

/* The diff report (html_diff.c). */
typedef struct diff_report {
	hw *w;
	const bd_model *a, *b;
	const char *path_a, *path_b;
	const bd_diff *d;
	const bd_ci_result *ci; /* NULL without thresholds */
	size_t rows;
} diff_report;
void html_diff(diff_report *r);

#endif
