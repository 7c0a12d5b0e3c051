/* Output helpers shared by the commands: a streaming JSON writer and number
 * formatting for text tables. */
#define _GNU_SOURCE /* fopencookie */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
	char raw[512];
	if (bd_proc_name(m, p, NULL, raw, sizeof raw) == BD_PNAME_PID)
		snprintf(buf, cap, "-");
	else
		out_clean(buf, cap, raw, strlen(raw)); /* names come from the dump */
	return buf;
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
		snprintf(buf + k, cap - k, "%sskipped %llu section(s): first: %s", k ? "\n" : "",
			 (unsigned long long)n->skipped,
			 n->skipped_first ? out_txt(n->skipped_first) : "?");
	return n->truncated || n->skipped;
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

int open_input(const opts *o, bd_model **m)
{
	bd_error err = {0};
	if (o->nargs < 1) {
		fprintf(stderr, "beamdump: missing input file (a crash dump, a .bdump, or -)\n");
		return EXIT_USAGE;
	}
	const char *path = o->args[o->nargs - 1];
	if (bd_model_open(m, path, &err)) {
		fprintf(stderr, "beamdump: %s\n", out_txt(err.msg));
		return EXIT_UNREADABLE;
	}
	return EXIT_OK;
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
} guard = {-1, {0}, 0};

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
			if (write_fd(g->fd, out, k))
				return -1;
			k = 0;
		}
	}
	return k ? write_fd(g->fd, out, k) : 0;
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
	return rc;
}

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
	stdout = f;
}

void out_sgr(const char *seq)
{
	if (guard.fd < 0) {
		fputs(seq, stdout);
		return;
	}
	fflush(stdout);
	write_fd(guard.fd, seq, strlen(seq));
}
