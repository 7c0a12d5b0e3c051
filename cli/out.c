/* Output helpers shared by the commands: a streaming JSON writer and number
 * formatting for text tables. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "beamdump/util.h"
#include "beamdump/analyze.h"
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
		} else {
			size_t l = utf8_len(p + i, n - i);
			if (l) {
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
	if (bd_proc_name(m, p, NULL, buf, cap) == BD_PNAME_PID)
		snprintf(buf, cap, "-");
	return buf;
}

int partial_reason(const bd_model *m, char *buf, size_t cap)
{
	const bd_node_info *n = bd_model_node(m);
	size_t k = 0;
	buf[0] = 0;
	if (n->truncated && !n->truncated_in && n->abort_reason)
		/* No dump section was cut (a cut .bdump): the reason says it all. */
		k = (size_t)snprintf(buf, cap, "partial %s", n->abort_reason);
	else if (n->truncated && n->source && !strcmp(n->source, "live"))
		k = (size_t)snprintf(buf, cap, "partial capture: %s",
				     n->truncated_in ? n->truncated_in : "interrupted");
	else if (n->truncated)
		k = (size_t)snprintf(buf, cap, "partial dump: %s; data stops at byte %llu in %s",
				     n->abort_reason ? n->abort_reason : "no =end marker (file cut short)",
				     (unsigned long long)n->truncated_at,
				     n->truncated_in ? n->truncated_in : "?");
	if (n->skipped && k < cap)
		snprintf(buf + k, cap - k, "%sskipped %llu section(s): first: %s", k ? "\n" : "",
			 (unsigned long long)n->skipped, n->skipped_first ? n->skipped_first : "?");
	return n->truncated || n->skipped;
}

int partial_notice(const bd_model *m)
{
	char why[1024];
	const bd_node_info *n = bd_model_node(m);
	if (n->format_note)
		fprintf(stderr, "beamdump: note: %s\n", n->format_note);
	if (!partial_reason(m, why, sizeof why))
		return EXIT_OK;
	for (char *line = why, *nl; line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		fprintf(stderr, "beamdump: %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
	}
	return EXIT_PARTIAL;
}

int open_input(const opts *o, bd_model **m)
{
	bd_error err = {0};
	if (o->nargs < 1) {
		fprintf(stderr, "beamdump: missing input file (a crash dump, a .bdump, or -)\n");
		return EXIT_USAGE;
	}
	const char *path = o->args[o->nargs - 1];
	if (bd_model_open(m, path, &err)) {
		fprintf(stderr, "beamdump: %s\n", err.msg);
		return EXIT_UNREADABLE;
	}
	return EXIT_OK;
}
