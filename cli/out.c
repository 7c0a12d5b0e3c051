/* Output helpers shared by the commands: a streaming JSON writer and number
 * formatting for text tables. */
#define _GNU_SOURCE /* fopencookie */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "beamdump/progress.h"
#include "beamdump/util.h"
#include "beamdump/analyze.h"
#include "beamdump/native.h"
#include "cli.h"

void jw_init(jw *w, FILE *f)
{
	memset(w, 0, sizeof *w);
	w->f = f;
	w->first[0] = 1;
}

static void sep(jw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (!w->first[w->depth])
		fputc(',', w->f);
	w->first[w->depth] = 0;
}

static void open_(jw *w, char c)
{
	sep(w);
	fputc(c, w->f);
	if (w->depth < 63)
		w->depth++;
	w->first[w->depth] = 1;
}

static void close_(jw *w, char c)
{
	fputc(c, w->f);
	if (w->depth > 0)
		w->depth--;
}

void jw_obj(jw *w) { open_(w, '{'); }
void jw_obj_end(jw *w) { close_(w, '}'); }
void jw_arr(jw *w) { open_(w, '['); }
void jw_arr_end(jw *w) { close_(w, ']'); }

/* Strings from dumps are bytes: valid UTF-8 passes, anything else becomes U+FFFD. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t need = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
	if (!need || need > n || (need == 2 && c < 0xc2))
		return 0;
	for (size_t i = 1; i < need; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return need;
}

void jw_strn(jw *w, const char *s, size_t n)
{
	sep(w);
	fputc('"', w->f);
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			fputc('\\', w->f);
			fputc(c, w->f);
			i++;
		} else if (c == '\n') {
			fputs("\\n", w->f);
			i++;
		} else if (c == '\t') {
			fputs("\\t", w->f);
			i++;
		} else if (c == '\r') {
			fputs("\\r", w->f);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(w->f, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			fputc(c, w->f);
			i++;
		} else if (c == 0xc0 && i + 1 < n && p[i + 1] == 0x80) {
			fputs("\\u0000", w->f); /* the model's NUL (model.h) */
			i += 2;
		} else {
			size_t l = utf8_len(p + i, n - i);
			if (l == 2 && c == 0xc2 && p[i + 1] < 0xa0) {
				fprintf(w->f, "\\u%04x", p[i + 1]); /* C1 controls, escaped too */
				i += 2;
			} else if (l) {
				fwrite(p + i, 1, l, w->f);
				i += l;
			} else {
				fputs("\\ufffd", w->f);
				i++;
			}
		}
	}
	fputc('"', w->f);
}

void jw_str(jw *w, const char *s)
{
	if (!s)
		jw_null(w);
	else
		jw_strn(w, s, strlen(s));
}

void jw_key(jw *w, const char *k)
{
	jw_str(w, k);
	fputc(':', w->f);
	w->after_key = 1;
}

void jw_u64(jw *w, uint64_t v)
{
	if (v == BD_UNKNOWN) {
		jw_null(w);
		return;
	}
	sep(w);
	fprintf(w->f, "%llu", (unsigned long long)v);
}

void jw_i64(jw *w, int64_t v)
{
	sep(w);
	fprintf(w->f, "%lld", (long long)v);
}

void jw_dbl(jw *w, double v)
{
	if (isnan(v) || isinf(v)) {
		jw_null(w);
		return;
	}
	sep(w);
	fprintf(w->f, "%.6g", v);
}

void jw_bool(jw *w, int v)
{
	sep(w);
	fputs(v ? "true" : "false", w->f);
}

void jw_null(jw *w)
{
	sep(w);
	fputs("null", w->f);
}

void jw_pid(jw *w, bd_pid p)
{
	char b[48];
	if (!bd_pid_valid(p))
		jw_null(w);
	else
		jw_str(w, bd_pid_fmt(p, b, sizeof b));
}

void jw_kstr(jw *w, const char *k, const char *s)
{
	jw_key(w, k);
	jw_str(w, s);
}

void jw_ku64(jw *w, const char *k, uint64_t v)
{
	jw_key(w, k);
	jw_u64(w, v);
}

void jw_kpid(jw *w, const char *k, bd_pid p)
{
	jw_key(w, k);
	jw_pid(w, p);
}

void jw_end(jw *w) { fputc('\n', w->f); }

/* The CLI's names for the formatting analyze/ uses too (beamdump/util.h). */
const char *fmt_count(uint64_t v, char *buf, size_t cap) { return bd_count_fmt(v, buf, cap); }

const char *fmt_bytes(uint64_t v, char *buf, size_t cap) { return bd_bytes_fmt(v, buf, cap); }

uint64_t words_to_bytes(const bd_model *m, uint64_t words)
{
	int ws = bd_model_node(m)->word_size;
	if (words == BD_UNKNOWN)
		return BD_UNKNOWN;
	return words * (uint64_t)(ws ? ws : 8);
}

const char *proc_label(const bd_model *m, const bd_proc *p, char *buf, size_t cap)
{
	char raw[512], styled[512];
	if (bd_proc_name(m, p, NULL, raw, sizeof raw) == BD_PNAME_PID)
		snprintf(buf, cap, "-");
	else /* names come from the dump: escaped */
		out_clean(buf, cap, style_label(raw, styled, sizeof styled), strlen(styled));
	return buf;
}

const char *err_reason(const bd_error *err)
{
	return err->sys_errno ? strerror(err->sys_errno) : err->msg[0] ? err->msg : "unknown error";
}

int is_live(const bd_model *m)
{
	const char *s = bd_model_node(m)->source;
	return s && !strcmp(s, "live");
}

int partial_reason(const bd_model *m, char *buf, size_t cap)
{
	const bd_node_info *n = bd_model_node(m);
	size_t k = 0;
	buf[0] = 0;
	if (n->truncated && !n->truncated_in && n->abort_reason)
		/* No dump section was cut (a cut .bdump): the reason says it all. */
		k = (size_t)snprintf(buf, cap, "partial %s", out_txt(n->abort_reason));
	else if (n->truncated && n->source && !strcmp(n->source, "live"))
		k = (size_t)snprintf(buf, cap, "partial capture: %s",
				     n->truncated_in ? out_txt(n->truncated_in) : "interrupted");
	else if (n->truncated)
		k = (size_t)snprintf(buf, cap, "partial dump: %s; data stops at byte %llu in %s",
				     n->abort_reason ? out_txt(n->abort_reason)
						     : "no =end marker (file cut short)",
				     (unsigned long long)n->truncated_at,
				     n->truncated_in ? out_txt(n->truncated_in) : "?");
	if (n->skipped && k < cap)
		k += (size_t)snprintf(buf + k, cap - k, "%sskipped %llu section(s): first: %s", k ? "\n" : "",
				      (unsigned long long)n->skipped,
				      n->skipped_first ? out_txt(n->skipped_first) : "?");
	/* A native crash read without all its objects, or from a cut core. */
	const bd_native *nv = bd_model_native(m);
	if (nv && nv->partial && k < cap)
		snprintf(buf + k, cap - k, "%spartial native crash: %s", k ? "\n" : "",
			 nv->partial_reason ? out_txt(nv->partial_reason) : "see beamdump core");
	return n->truncated || n->skipped || (nv && nv->partial);
}

int partial_notice(const bd_model *m)
{
	char why[1024];
	const bd_node_info *n = bd_model_node(m);
	if (n->format_note)
		fprintf(stderr, "beamdump: note: %s\n", out_txt(n->format_note));
	if (!partial_reason(m, why, sizeof why))
		return EXIT_OK;
	for (char *line = why, *nl; line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		fprintf(stderr, "beamdump: %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
	}
	return EXIT_PARTIAL;
}

int cli_use_cache(const opts *o)
{
	const char *e = getenv("BEAMDUMP_NO_CACHE");
	return !opt_count(o, "no-cache") && !(e && *e && strcmp(e, "0"));
}

/* An Elixir node: the elixir application's modules are loaded, or its processes run
 * Elixir code (a live capture reads no module list). */
static int elixir_node(const bd_model *m)
{
	size_t n;
	const bd_native *nat = bd_model_native(m);
	if (nat) { /* a native crash: an Elixir NIF module or an Elixir command line */
		for (uint32_t i = 0; i < nat->nobjects; i++)
			if (nat->objects[i].nif_module && !strncmp(nat->objects[i].nif_module, "Elixir.", 7))
				return 1;
		const bd_native_thread *t = nat->crashed >= 0 ? &nat->threads[nat->crashed] : NULL;
		if (t && t->erlang_function && (!strncmp(t->erlang_function, "Elixir.", 7) ||
						 !strncmp(t->erlang_function, "'Elixir.", 8)))
			return 1;
		return nat->cmdline && (strstr(nat->cmdline, "-s elixir start_cli") ||
					strstr(nat->cmdline, "/elixir/ebin"));
	}
	const bd_module *mods = bd_model_modules(m, &n);
	for (size_t i = 0; i < n; i++)
		if (mods[i].name && (!strcmp(mods[i].name, "elixir") ||
				     !strncmp(mods[i].name, "'Elixir.", 8) ||
				     !strncmp(mods[i].name, "Elixir.", 7)))
			return 1;
	const bd_proc *p = bd_model_procs(m, &n);
	for (size_t i = 0; i < n && i < 5000; i++) {
		const char *s = p[i].spawned_as, *c = p[i].pc_mfa;
		if ((s && (!strncmp(s, "'Elixir.", 8) || !strncmp(s, "Elixir.", 7))) ||
		    (c && (!strncmp(c, "'Elixir.", 8) || !strncmp(c, "Elixir.", 7))))
			return 1;
	}
	return 0;
}

const char *style_label(const char *s, char *buf, size_t cap)
{
	if (!s)
		return NULL;
	if (bd_term_style() != BD_STYLE_ELIXIR) {
		snprintf(buf, cap, "%s", s);
		return buf;
	}
	bd_style_mfa(s, buf, cap);
	if (!strcmp(buf, s)) { /* not an MFA: a name, or text with names in it */
		char tmp[1024];
		snprintf(tmp, sizeof tmp, "%s", s);
		bd_style_text(tmp, buf, cap);
	}
	return buf;
}

void cli_style(const opts *o, const bd_model *m)
{
	const char *s = o->style;
	int elixir = o->json                        ? 0 /* JSON keeps Erlang syntax */
		     : s && !strcmp(s, "elixir") ? 1
		     : s && !strcmp(s, "erlang") ? 0
						   : m && elixir_node(m);
	bd_term_set_style(elixir ? BD_STYLE_ELIXIR : BD_STYLE_ERLANG);
}

int open_input(const opts *o, bd_model **m)
{
	bd_error err = {0};
	if (o->nargs < 1) {
		fprintf(stderr, "beamdump: missing input file (a crash dump, a .bdump, or -)\n");
		return EXIT_USAGE;
	}
	const char *path = o->args[o->nargs - 1];
	bd_open_opts oo = BD_OPEN_OPTS_INIT;
	oo.cache = cli_use_cache(o);
	/* Commands that run every analysis want the long mailboxes summarised early. */
	oo.mailboxes = o->cmd && (!strcmp(o->cmd->name, "analyze") || !strcmp(o->cmd->name, "report"));
	if (bd_model_open_ex(m, path, &oo, &err)) {
		fprintf(stderr, "beamdump: %s\n", out_txt(err.msg));
		return EXIT_UNREADABLE;
	}
	cli_style(o, *m);
	return EXIT_OK;
}

/* ---- fitting tables to the terminal ---- */

int out_columns(void)
{
	static int cols = -1;
	if (cols >= 0)
		return cols;
	cols = 0;
	if (!isatty(1))
		return cols; /* a pipe or a file: full width, nothing cut */
	const char *c = getenv("COLUMNS");
	long v = c ? strtol(c, NULL, 10) : 0;
	struct winsize ws;
	if (v > 0 && v < 10000)
		cols = (int)v;
	else if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		cols = ws.ws_col;
	else
		cols = 80;
	if (cols < 20)
		cols = 20;
	return cols;
}

/* The mark of a cut cell: an ellipsis where the terminal speaks UTF-8. */
static const char *cut_mark(size_t *width)
{
	const char *l = getenv("LC_ALL");
	if (!l || !*l)
		l = getenv("LC_CTYPE");
	if (!l || !*l)
		l = getenv("LANG");
	int utf8 = l && (strstr(l, "UTF-8") || strstr(l, "utf8") || strstr(l, "UTF8") ||
			 strstr(l, "utf-8"));
	*width = 1;
	return utf8 ? "\xe2\x80\xa6" : "~";
}

/* Display columns of the code point starting at p (n bytes left; *len its bytes):
 * 2 for East Asian wide and emoji, 0 for combining marks, else 1. */
static size_t cp_cols(const unsigned char *p, size_t n, size_t *len)
{
	uint32_t c = p[0];
	size_t l = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (l > n)
		l = n;
	for (size_t i = 1; i < l; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			l = i;
			break;
		}
	}
	*len = l;
	if (l > 1) {
		c &= 0x3fu >> (l - 1);
		for (size_t i = 1; i < l; i++)
			c = c << 6 | (p[i] & 0x3fu);
	}
	if ((c >= 0x300 && c <= 0x36f) || (c >= 0x200b && c <= 0x200f) || (c >= 0xfe00 && c <= 0xfe0f))
		return 0;
	if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf && c != 0x303f) ||
	    (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
	    (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
	    (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
	    (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd))
		return 2;
	return 1;
}

/* Bytes of an escape sequence at p (ESC [ ... final), or 0. */
static size_t esc_len(const unsigned char *p, size_t n)
{
	if (n < 2 || p[0] != 0x1b || p[1] != '[')
		return 0;
	size_t i = 2;
	while (i < n && (p[i] < 0x40 || p[i] > 0x7e))
		i++;
	return i < n ? i + 1 : n;
}

static size_t width_n(const unsigned char *p, size_t n)
{
	size_t w = 0;
	for (size_t i = 0, l; i < n; i += l) {
		if ((l = esc_len(p + i, n - i)))
			continue;
		w += cp_cols(p + i, n - i, &l);
	}
	return w;
}

/* Display columns of UTF-8 text (wide characters count two, escapes none). */
size_t out_width(const char *s)
{
	return width_n((const unsigned char *)s, strlen(s));
}

const char *out_fit(const char *s, size_t w, char *buf, size_t cap)
{
	size_t mw;
	const char *mark = cut_mark(&mw);
	if (!s)
		s = "";
	if (out_width(s) <= w || w == 0) {
		snprintf(buf, cap, "%s", s);
		return buf;
	}
	/* keep w - 1 columns of text, then the mark */
	size_t cols = 0, i = 0, n = strlen(s), l;
	const unsigned char *p = (const unsigned char *)s;
	while (i < n) {
		size_t cw = cp_cols(p + i, n - i, &l);
		if (cols + cw > w - mw)
			break;
		cols += cw;
		i += l;
	}
	snprintf(buf, cap, "%.*s%s", (int)i, s, mark);
	return buf;
}

/* bytes: count bytes as printf's "%-16s" does (a fixed layout into a pipe). */
static void pad_to(FILE *f, const char *s, size_t w, int right, int bytes)
{
	size_t n = bytes ? strlen(s) : out_width(s);
	if (right)
		fprintf(f, "%*s%s", (int)(w > n ? w - n : 0), "", s);
	else
		fprintf(f, "%s%*s", s, (int)(w > n ? w - n : 0), "");
}

void out_pad(const char *s, size_t w, int right) { pad_to(stdout, s, w, right, 0); }

/* ---- tables ---- */
static void print_below(FILE *f, const char *s, size_t gap);

void table_print(const tcol *cols, size_t ncols, const char *const *cells, size_t nrows)
{
	table_fprint(stdout, cols, ncols, cells, nrows);
}

void table_fprint(FILE *f, const tcol *cols, size_t ncols, const char *const *cells, size_t nrows)
{
	size_t w[32] = {0}, used = 0, width = f == stdout ? (size_t)out_columns() : 0;
	int on[32];
	if (ncols > 32)
		ncols = 32;
	for (size_t c = 0; c < ncols; c++) {
		on[c] = !cols[c].below;
		w[c] = 0;
		if (!on[c])
			continue;
		w[c] = cols[c].head ? out_width(cols[c].head) : 0;
		if (cols[c].width && !width) /* piped: printf's layout, row by row */
			w[c] = cols[c].width > w[c] ? cols[c].width : w[c];
		for (size_t r = 0; (width || !cols[c].width) && r < nrows; r++) {
			size_t l = out_width(cells[r * ncols + c] ? cells[r * ncols + c] : "");
			if (l > w[c])
				w[c] = l;
		}
	}
	/* On a terminal: first leave out the least useful columns while the cut columns
	 * would have to go below a comfortable width (20, or their min), then cut. */
	size_t nat[32];
	memcpy(nat, w, sizeof nat);
	for (int pass = 0; width > 0 && pass < 2; pass++) {
		for (;;) {
			memcpy(w, nat, sizeof w);
			used = 0;
			for (size_t c = 0; c < ncols; c++)
				used += on[c] ? w[c] + cols[c].gap : 0;
			for (size_t c = ncols; used > width && c-- > 0;) { /* the last cut first */
				size_t floor = pass ? cols[c].min : cols[c].min > 20 ? cols[c].min : 20;
				if (!on[c] || !cols[c].min || w[c] <= floor)
					continue;
				size_t cut = used - width < w[c] - floor ? used - width : w[c] - floor;
				w[c] -= cut;
				used -= cut;
			}
			if (used <= width)
				break;
			size_t best = ncols;
			for (size_t c = 0; c < ncols; c++)
				if (on[c] && cols[c].drop && (best == ncols || cols[c].drop > cols[best].drop))
					best = c;
			if (best == ncols)
				break; /* nothing left to leave out: cut harder (pass 1) */
			on[best] = 0;
		}
		if (used <= width)
			break;
	}
	char buf[1024];
	size_t first = 1; /* a table whose columns have no heads has no head line */
	for (size_t c = 0; c < ncols; c++)
		if (cols[c].head && !cols[c].below)
			first = 0;
	for (size_t r = first; r <= nrows; r++) {
		size_t last = ncols, col = 0;
		const char *const *row = r ? cells + (r - 1) * ncols : NULL;
		for (size_t c = 0; c < ncols; c++)
			if (on[c])
				last = c;
		/* a fixed layout's row ends at its last cell that is not NULL */
		while (row && last < ncols && last > 0 && cols[last].width && !row[last]) {
			size_t p = last;
			while (p > 0 && !on[--p])
				;
			if (!on[p])
				break;
			last = p;
		}
		for (size_t c = 0; c <= last && c < ncols; c++) {
			if (!on[c])
				continue;
			const char *s = r == 0 ? cols[c].head : row[c];
			if (width)
				out_fit(s ? s : "", w[c], buf, sizeof buf);
			else
				snprintf(buf, sizeof buf, "%s", s ? s : "");
			fprintf(f, "%*s", (int)cols[c].gap, ""); /* the first one indents the table */
			if (c == last && !cols[c].right)
				fputs(buf, f);
			else
				pad_to(f, buf, w[c], cols[c].right, !width && cols[c].width);
			col++;
		}
		fputc('\n', f);
		for (size_t c = 0; row && c < ncols; c++)
			if (cols[c].below && row[c] && row[c][0])
				print_below(f, row[c], cols[c].gap);
	}
}

/* A cell printed under its row: each of its lines gap spaces in. */
static void print_below(FILE *f, const char *s, size_t gap)
{
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		fprintf(f, "%*s%.*s\n", (int)gap, "", (int)n, s);
		s += nl ? n + 1 : n;
	}
}

int tgrid_init(tgrid *g, size_t rows, size_t ncols)
{
	g->ncols = ncols;
	g->nrows = 0;
	g->cap = rows;
	g->cell = rows ? malloc(rows * ncols * sizeof *g->cell) : NULL;
	g->cells = rows ? malloc(rows * ncols * sizeof *g->cells) : NULL;
	if (rows && (!g->cell || !g->cells)) {
		free(g->cell);
		free(g->cells);
		g->cell = NULL;
		g->cells = NULL;
		return -1;
	}
	return 0;
}

char (*tgrid_row(tgrid *g))[TGRID_CELL]
{
	char(*r)[TGRID_CELL] = &g->cell[g->nrows * g->ncols];
	for (size_t j = 0; j < g->ncols; j++) {
		r[j][0] = 0;
		g->cells[g->nrows * g->ncols + j] = r[j];
	}
	g->nrows++;
	return r;
}

void tgrid_null(tgrid *g, size_t col)
{
	if (g->nrows && col < g->ncols)
		g->cells[(g->nrows - 1) * g->ncols + col] = NULL;
}

void tgrid_print(tgrid *g, const tcol *cols, int head_alone)
{
	if (g->nrows || head_alone)
		table_print(cols, g->ncols, g->cells, g->nrows);
	free(g->cell);
	free(g->cells);
	g->cell = NULL;
	g->cells = NULL;
}

/* ---- progress on stderr, when it is a terminal ---- */

typedef struct prog_slot {
	pthread_t tid;
	uint64_t done, total;
	int used;
} prog_slot;

static struct {
	pthread_mutex_t lock;
	prog_slot slot[8];
	const char *what;
	int unit;
	double t0, last;
	int drawn;
} g_prog = {.lock = PTHREAD_MUTEX_INITIALIZER};

static double mono_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int stderr_columns(void)
{
	struct winsize ws;
	const char *c = getenv("COLUMNS");
	long v = c ? strtol(c, NULL, 10) : 0;
	if (v > 0 && v < 10000)
		return (int)v;
	if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

static void prog_amount(uint64_t v, int unit, char *buf, size_t cap)
{
	if (unit == BD_PROGRESS_BYTES)
		fmt_bytes(v, buf, cap);
	else
		fmt_count(v, buf, cap);
}

/* "reading the dump  [########------]  45 %  1.21 GB of 2.70 GB  310 MB/s" */
static void prog_draw(double now)
{
	uint64_t done = 0, total = 0;
	int known = 1;
	for (size_t i = 0; i < 8; i++)
		if (g_prog.slot[i].used) {
			done += g_prog.slot[i].done;
			if (g_prog.slot[i].total == BD_UNKNOWN)
				known = 0;
			else
				total += g_prog.slot[i].total;
		}
	known &= total > 0;
	char d[32], t[32], r[32], tail[128], line[512];
	double secs = now - g_prog.t0 > 0.001 ? now - g_prog.t0 : 0.001;
	prog_amount(done, g_prog.unit, d, sizeof d);
	prog_amount((uint64_t)((double)done / secs), g_prog.unit, r, sizeof r);
	if (known) {
		prog_amount(total, g_prog.unit, t, sizeof t);
		snprintf(tail, sizeof tail, "%3d %%  %s of %s  %s/s",
			 (int)(done >= total ? 100 : 100.0 * (double)done / (double)total), d, t, r);
	} else {
		snprintf(tail, sizeof tail, "%s  %s/s", d, r);
	}
	int cols = stderr_columns() - 1;
	int bar = cols - (int)strlen(g_prog.what) - (int)strlen(tail) - 6;
	if (bar > 40)
		bar = 40;
	int n = snprintf(line, sizeof line, "%s  ", g_prog.what);
	if (known && bar >= 10) {
		int fill = (int)((double)bar * (done >= total ? 1.0 : (double)done / (double)total));
		line[n++] = '[';
		for (int i = 0; i < bar && n < (int)sizeof line - 2; i++)
			line[n++] = i < fill ? '#' : '-';
		line[n++] = ']';
		line[n++] = ' ';
		line[n++] = ' ';
		line[n] = 0;
	}
	snprintf(line + n, sizeof line - (size_t)n, "%s", tail);
	if ((int)strlen(line) > cols && cols > 0)
		line[cols] = 0;
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	g_prog.drawn = 1;
	g_prog.last = now;
}

static void prog_erase(void)
{
	if (g_prog.drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	g_prog.drawn = 0;
}

static void on_progress(void *ud, const char *what, uint64_t done, uint64_t total, int unit,
			int end)
{
	(void)ud;
	pthread_t me = pthread_self();
	pthread_mutex_lock(&g_prog.lock);
	prog_slot *s = NULL, *free_slot = NULL;
	int busy = 0;
	for (size_t i = 0; i < 8; i++) {
		if (g_prog.slot[i].used && pthread_equal(g_prog.slot[i].tid, me))
			s = &g_prog.slot[i];
		else if (!g_prog.slot[i].used && !free_slot)
			free_slot = &g_prog.slot[i];
		busy += g_prog.slot[i].used;
	}
	double now = mono_now();
	if (end) {
		if (s)
			s->used = 0;
		if (busy - (s != NULL) <= 0)
			prog_erase();
	} else {
		if (!s && free_slot) {
			s = free_slot;
			*s = (prog_slot){me, 0, 0, 1};
			if (!busy) {
				g_prog.t0 = now;
				g_prog.last = 0;
			}
		}
		if (s) {
			s->done = done;
			s->total = total;
			g_prog.what = what;
			g_prog.unit = unit;
			/* quick steps never flash a bar; then at most ten draws a second */
			if (now - g_prog.t0 >= 0.3 && now - g_prog.last >= 0.1)
				prog_draw(now);
		}
	}
	pthread_mutex_unlock(&g_prog.lock);
}

void progress_init(void)
{
	const char *term = getenv("TERM");
	if (isatty(2) && !(term && !strcmp(term, "dumb")))
		bd_progress_hook(on_progress, NULL);
}

void progress_off(void)
{
	bd_progress_hook(NULL, NULL);
	pthread_mutex_lock(&g_prog.lock);
	prog_erase();
	pthread_mutex_unlock(&g_prog.lock);
}

/* ---- text from a dump: never a raw control character ----
 * Strings in a dump are bytes its node or its users chose: an atom, a registered
 * name or a slogan can hold ESC ] 0 ; ... BEL (sets the terminal title), ESC [ 2 J
 * (clears the screen) or a CR that overwrites a line. Text output shows such bytes
 * escaped: C0 controls (\n \t \r \e, else \xNN), DEL (\x7f), C1 controls (a raw byte
 * 0x80..0x9f that is not inside a UTF-8 character: \xNN; U+0080..U+009F: \u0085),
 * and the model's C0 80 pair, a NUL byte of the dump (\0). Other bytes pass:
 * UTF-8 text and latin-1 letters of old dumps show as they are.
 *
 * out_clean/out_txt are for dump strings put into text output (they escape \n and
 * \t too, so a field stays on its line). The guard installed on stdout by
 * out_guard_stdout() applies the same rule, \n and \t excepted, to every byte the
 * commands print: whatever path a dump string takes, it reaches the terminal clean.
 * The program's own escape sequences (colors) go through out_sgr(). */

/* Escape of the control at s[0] (n bytes left) into e; returns the input bytes it
 * stands for (1 or 2), or 0 when s[0] starts no control (then *len is the length of
 * the character or byte to pass as it is). */
static size_t ctl_escape(const unsigned char *s, size_t n, int layout, char e[8], size_t *len)
{
	unsigned c = s[0];
	*len = 1;
	if (c < 0x20) {
		if (layout && (c == '\n' || c == '\t'))
			return 0;
		const char *named = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r"
				  : c == 0x1b ? "\\e" : NULL;
		if (named)
			memcpy(e, named, 3);
		else
			snprintf(e, 8, "\\x%02x", c);
		return 1;
	}
	if (c < 0x7f)
		return 0;
	if (c == 0x7f) {
		memcpy(e, "\\x7f", 5);
		return 1;
	}
	if (c == 0xc0 && n > 1 && s[1] == 0x80) {
		memcpy(e, "\\0", 3);
		return 2;
	}
	size_t l = utf8_len(s, n);
	if (l == 2 && c == 0xc2 && s[1] < 0xa0) {
		snprintf(e, 8, "\\u%04x", s[1]);
		return 2;
	}
	if (l) {
		*len = l;
		return 0;
	}
	if (c < 0xa0) {
		snprintf(e, 8, "\\x%02x", c);
		return 1;
	}
	return 0;
}

size_t out_clean(char *dst, size_t cap, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t k = 0;
	if (!cap)
		return 0;
	for (size_t i = 0; i < n;) {
		char e[8];
		size_t len, used = ctl_escape(p + i, n - i, 0, e, &len);
		const char *piece = used ? e : (const char *)p + i;
		size_t pl = used ? strlen(e) : len;
		if (k + pl + 1 > cap) {
			if (cap > 4) { /* cut: say so */
				k = k + 4 > cap ? cap - 4 : k;
				memcpy(dst + k, "...", 3);
				k += 3;
			}
			break;
		}
		memcpy(dst + k, piece, pl);
		k += pl;
		i += used ? used : len;
	}
	dst[k] = 0;
	return k;
}

const char *out_txt(const char *s)
{
	static char ring[8][1024];
	static unsigned next;
	if (!s)
		return NULL;
	char *b = ring[next++ % 8];
	out_clean(b, sizeof ring[0], s, strlen(s));
	return b;
}

void out_print(FILE *f, const char *s, const char *indent)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		char e[8];
		size_t len, used;
		if (p[i] == '\n' && indent) {
			fputc('\n', f);
			fputs(indent, f);
			i++;
			continue;
		}
		used = ctl_escape(p + i, n - i, 0, e, &len);
		if (used)
			fputs(e, f);
		else
			fwrite(p + i, 1, len, f);
		i += used ? used : len;
	}
}

/* The stdout guard: a cookie stream over fd 1. A character cut between two writes
 * waits in carry for its end. */
static struct guard {
	int fd;
	unsigned char carry[4];
	size_t ncarry;
	int fit;            /* OUT_FIT_WRAP / OUT_FIT_CUT: lines fitted to cols */
	size_t cols;
	unsigned char *line; /* the line being written, cleaned (escapes: out_sgr's) */
	size_t nline, capline;
} guard = {-1, {0}, 0, OUT_FIT_OFF, 0, NULL, 0, 0};

static int write_fd(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- lines fitted to the terminal ----
 * Tables fit by themselves (table_print). What else a command prints on a terminal
 * passes here a line at a time: prose wider than the terminal breaks at spaces (else
 * after a comma), the next lines indented under the text (out_hang); in OUT_FIT_CUT
 * mode (lists of terms) a line is cut with the mark instead. Into a pipe nothing
 * changes: fitting is on only when out_columns() is. */
enum { LINE_MAX_FIT = 1 << 20 };

/* Where the continuation of a wrapped line starts: under the value of "Label:  value"
 * or of an aligned "name   text" pair, under the text of "1. text", else two columns
 * in from the line's indentation. */
static size_t out_hang(const unsigned char *p, size_t n, size_t cols)
{
	size_t lead = 0, i, w = 0, l, h;
	while (lead < n && p[lead] == ' ')
		lead++;
	h = lead + 2;
	for (i = lead; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		;
	if (i > lead && i + 1 < n && p[i] == '.' && p[i + 1] == ' ')
		return i + 2 <= cols / 2 ? i + 2 : h;
	for (i = lead, w = lead; i < n && w < 32 && p[i] != '(' && p[i] != ','; i += l) {
		int label = p[i] == ':' && i + 1 < n && p[i + 1] == ' ';
		int gap = p[i] == ' ' && i + 1 < n && p[i + 1] == ' ';
		if (label || gap) {
			size_t j = i + (label ? 1 : 0), k = w + (label ? 1 : 0);
			while (j < n && p[j] == ' ')
				j++, k++;
			if (j < n)
				h = k;
			break;
		}
		if ((l = esc_len(p + i, n - i)))
			continue;
		w += cp_cols(p + i, n - i, &l);
	}
	return h <= cols / 2 ? h : lead + 2 <= cols / 2 ? lead + 2 : 2;
}

/* Fitted lines gather here: a write per buffer, not per piece. */
static char fit_buf[8192];
static size_t fit_nbuf;

static int fit_flush(void)
{
	int rc = fit_nbuf ? write_fd(guard.fd, fit_buf, fit_nbuf) : 0;
	fit_nbuf = 0;
	return rc;
}

static int fit_put(const void *p, size_t n)
{
	if (fit_nbuf + n > sizeof fit_buf && fit_flush())
		return -1;
	if (n > sizeof fit_buf)
		return write_fd(guard.fd, p, n);
	memcpy(fit_buf + fit_nbuf, p, n);
	fit_nbuf += n;
	return 0;
}

/* A break is allowed before a space that does not split a number from its unit. */
static int space_breaks(const unsigned char *p, size_t i, size_t n)
{
	if (p[i] != ' ' || !i || p[i - 1] < '0' || p[i - 1] > '9')
		return p[i] == ' ';
	size_t u = i + 1, k = u;
	while (k < n && k - u < 3 && p[k] != ' ' && p[k] != ',' && p[k] != ')' && p[k] != ';')
		k++;
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "%", "s", "ms", "KiB"};
	for (size_t j = 0; j < sizeof units / sizeof *units; j++)
		if (strlen(units[j]) == k - u && !memcmp(p + u, units[j], k - u))
			return 0;
	return 1;
}

static int fit_line(const unsigned char *p, size_t n)
{
	static const char spaces[] = "                                                  ";
	size_t cols = guard.cols, l;
	int sgr = memchr(p, 0x1b, n) != NULL;
	if (width_n(p, n) <= cols)
		return fit_put(p, n) || fit_put("\n", 1);
	if (guard.fit == OUT_FIT_CUT) {
		size_t mw, i = 0, w = 0;
		const char *mark = cut_mark(&mw);
		while (i < n) {
			if ((l = esc_len(p + i, n - i))) {
				i += l;
				continue;
			}
			size_t cw = cp_cols(p + i, n - i, &l);
			if (w + cw > cols - mw)
				break;
			w += cw;
			i += l;
		}
		return fit_put(p, i) || (sgr && fit_put("\033[0m", 4)) ||
		       fit_put(mark, strlen(mark)) || fit_put("\n", 1);
	}
	size_t hang = out_hang(p, n, cols), start = 0, indent = 0;
	while (start < n) {
		size_t avail = cols - indent, w = 0, i = start, sp = 0, comma = 0;
		while (i < n) {
			if ((l = esc_len(p + i, n - i))) {
				i += l;
				continue;
			}
			size_t cw = cp_cols(p + i, n - i, &l);
			if (w + cw > avail)
				break;
			if (i > start && space_breaks(p, i, n))
				sp = i;
			if (p[i] == ',')
				comma = i + 1;
			w += cw;
			i += l;
		}
		size_t brk = sp > comma ? sp : comma; /* the later place: fuller lines */
		size_t end = i >= n ? n : brk > start ? brk : i;
		if (end == start) /* not even one character fits: take one anyway */
			cp_cols(p + start, n - start, &l), end = start + l;
		size_t e = end;
		while (e > start && p[e - 1] == ' ')
			e--;
		if (indent && fit_put(spaces, indent))
			return -1;
		if (fit_put(p + start, e - start) || fit_put("\n", 1))
			return -1;
		start = end;
		while (start < n && p[start] == ' ')
			start++;
		indent = hang < sizeof spaces ? hang : sizeof spaces - 1;
	}
	return 0;
}

/* Take cleaned bytes: whole lines are fitted, the rest waits in guard.line. */
static int fit_take(const char *p, size_t n)
{
	if (!guard.fit)
		return write_fd(guard.fd, p, n);
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;
		if (guard.nline + k > guard.capline) {
			size_t cap = guard.capline ? guard.capline : 4096;
			while (cap < guard.nline + k)
				cap *= 2;
			unsigned char *b = guard.nline + k <= LINE_MAX_FIT ? realloc(guard.line, cap)
									  : NULL;
			if (!b) { /* a line beyond any terminal: pass it as it is */
				if (fit_flush() ||
				    write_fd(guard.fd, (const char *)guard.line, guard.nline))
					return -1;
				guard.nline = 0;
				if (write_fd(guard.fd, p, nl ? k + 1 : k))
					return -1;
				p += nl ? k + 1 : k;
				n -= nl ? k + 1 : k;
				continue;
			}
			guard.line = b;
			guard.capline = cap;
		}
		memcpy(guard.line + guard.nline, p, k);
		guard.nline += k;
		p += k;
		n -= k;
		if (nl) {
			if (fit_line(guard.line, guard.nline))
				return -1;
			guard.nline = 0;
			p++;
			n--;
		}
	}
	return fit_flush();
}

void out_fit_lines(int mode)
{
	if (guard.fd < 0 || out_columns() <= 0)
		return;
	fflush(stdout);
	guard.fit = mode;
	guard.cols = (size_t)out_columns();
}

/* Clean n bytes at p (flush: no more input follows) to fd; returns 0 or -1. */
static int guard_emit(struct guard *g, const unsigned char *p, size_t n, int flush)
{
	char out[4096 + 64];
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		/* a lead byte whose character may end in the next write */
		size_t need = p[i] >= 0xc0 ? (p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : 2) : 1;
		if (!flush && need > n - i && need <= 4) {
			memcpy(g->carry, p + i, n - i);
			g->ncarry = n - i;
			break;
		}
		char e[8];
		size_t len, used = ctl_escape(p + i, n - i, 1, e, &len);
		const char *piece = used ? e : (const char *)p + i;
		size_t pl = used ? strlen(e) : len;
		memcpy(out + k, piece, pl);
		k += pl;
		i += used ? used : len;
		if (k > 4096) {
			if (fit_take(out, k))
				return -1;
			k = 0;
		}
	}
	return k ? fit_take(out, k) : 0;
}

static ssize_t guard_write(void *c, const char *buf, size_t n)
{
	struct guard *g = c;
	unsigned char head[8];
	size_t nh = g->ncarry, take = 0;
	if (nh) { /* complete the carried character first */
		memcpy(head, g->carry, nh);
		while (take < n && nh + take < 4 && ((unsigned char)buf[take] & 0xc0) == 0x80)
			head[nh + take] = (unsigned char)buf[take], take++;
		g->ncarry = 0;
		if (guard_emit(g, head, nh + take, 1))
			return -1;
	}
	if (guard_emit(g, (const unsigned char *)buf + take, n - take, 0))
		return -1;
	return (ssize_t)n;
}

static int guard_close(void *c)
{
	struct guard *g = c;
	int rc = g->ncarry ? guard_emit(g, g->carry, g->ncarry, 1) : 0;
	g->ncarry = 0;
	if (!rc && g->fit && g->nline) /* a last line without its newline */
		rc = write_fd(g->fd, (const char *)g->line, g->nline);
	g->nline = 0;
	return rc;
}

static FILE *guard_file; /* stdout once guarded */

void out_guard_stdout(void)
{
	if (guard.fd >= 0)
		return;
	fflush(stdout);
	cookie_io_functions_t io = {NULL, guard_write, NULL, guard_close};
	FILE *f = fopencookie(&guard, "w", io);
	if (!f)
		return; /* the call sites still clean what they print */
	guard.fd = fileno(stdout);
	if (isatty(guard.fd)) /* as the terminal's stdout was: a line at a time */
		setvbuf(f, NULL, _IOLBF, 0);
	stdout = guard_file = f;
}

void out_sgr(const char *seq)
{
	if (guard.fd < 0 || stdout != guard_file) { /* stdout caught in memory: in its place */
		fputs(seq, stdout);
		return;
	}
	fflush(stdout);
	if (guard.fit) /* inside the line being fitted: it takes no column */
		fit_take(seq, strlen(seq));
	else
		write_fd(guard.fd, seq, strlen(seq));
}
