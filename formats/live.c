/* A model from a live capture (include/beamdump/live.h): rows are filled by the
 * collector; per-process details are written as crash-dump term text into one buffer
 * that becomes the model's source bytes, so the lazy decoders work unchanged. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beamdump/live.h"
#include "int.h"

typedef struct sbuf {
	char *p;
	size_t len, cap;
} sbuf;

/* Term text of one process, per section, until finish lays them out. */
typedef struct detail {
	sbuf msgs, dict, stack, heap;
} detail;

enum { LAST_NONE, LAST_PROC, LAST_PORT };

struct bd_live {
	bd_model *m;
	detail **det;       /* by process index, NULL when none */
	size_t det_cap;
	uint64_t next_addr; /* synthesized heap object addresses, unique per model */
	bd_u64map bins;     /* Binary address -> row */
	int last;           /* which table bd_live_link_add appends to */
	int oom;
};

/* ---- small buffers ---- */
static int sb_grow(sbuf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		return BD_ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int sb_put(sbuf *b, const char *s, size_t n)
{
	if (!n)
		return 0;
	if (sb_grow(b, n))
		return BD_ENOMEM;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

static int sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sb_printf(sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || sb_grow(b, (size_t)n))
		return BD_ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int sb_base64(sbuf *b, const uint8_t *p, size_t n)
{
	if (sb_grow(b, (n + 2) / 3 * 4))
		return BD_ENOMEM;
	char *o = b->p + b->len;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = b64[v >> 18];
		*o++ = b64[v >> 12 & 63];
		*o++ = b64[v >> 6 & 63];
		*o++ = b64[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		*o++ = b64[v >> 18];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	b->len = (size_t)(o - b->p);
	b->p[b->len] = 0;
	return 0;
}

/* ---- builder ---- */
int bd_live_new(bd_live **out, bd_error *err)
{
	*out = NULL;
	bd_live *lv = calloc(1, sizeof *lv);
	bd_model *m = lv ? bd_model_new() : NULL;
	if (!m) {
		free(lv);
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	}
	m->node.source = "live";
	lv->m = m;
	lv->next_addr = 0x10000000;
	*out = lv;
	return 0;
}

static void detail_free(detail *d)
{
	if (!d)
		return;
	free(d->msgs.p);
	free(d->dict.p);
	free(d->stack.p);
	free(d->heap.p);
	free(d);
}

void bd_live_free(bd_live *lv)
{
	if (!lv)
		return;
	for (size_t i = 0; i < lv->det_cap; i++)
		detail_free(lv->det[i]);
	free(lv->det);
	bd_u64map_free(&lv->bins);
	bd_model_free(lv->m);
	free(lv);
}

const char *bd_live_str(bd_live *lv, const char *s, size_t len)
{
	return s ? bd_model_intern(lv->m, s, len) : NULL;
}

static int needs_quotes(const char *s, size_t n)
{
	if (!n || !(s[0] >= 'a' && s[0] <= 'z'))
		return 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c >= 0x80))
			return 1; /* the VM quotes '@' too: 'a@host' */
	}
	static const char *const reserved[] = {
		"after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor",
		"case", "catch", "cond", "div", "end", "fun", "if", "let", "maybe", "not", "of",
		"or", "orelse", "receive", "rem", "try", "when", "xor"};
	for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
		if (strlen(reserved[i]) == n && memcmp(reserved[i], s, n) == 0)
			return 1;
	return 0;
}

/* Printed atom into o (cap >= 2 * n + 3). Returns its length. */
static size_t print_atom(char *o, const char *s, size_t n)
{
	if (!needs_quotes(s, n)) {
		memcpy(o, s, n);
		return n;
	}
	size_t k = 0;
	o[k++] = '\'';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\'' || s[i] == '\\')
			o[k++] = '\\';
		o[k++] = s[i];
	}
	o[k++] = '\'';
	return k;
}

const char *bd_live_atom(bd_live *lv, const char *s, size_t len)
{
	char buf[2 * 1024 + 3];
	if (len > 1024)
		len = 1024;
	return bd_model_intern(lv->m, buf, print_atom(buf, s, len));
}

const char *bd_live_mfa(bd_live *lv, const char *mod, const char *fun, unsigned arity)
{
	char buf[2 * 512 + 3 + 2 * 512 + 3 + 16];
	size_t ml = strlen(mod), fl = strlen(fun);
	ml = ml > 512 ? 512 : ml;
	fl = fl > 512 ? 512 : fl;
	size_t k = print_atom(buf, mod, ml);
	buf[k++] = ':';
	k += print_atom(buf + k, fun, fl);
	k += (size_t)snprintf(buf + k, sizeof buf - k, "/%u", arity);
	return bd_model_intern(lv->m, buf, k);
}

bd_node_info *bd_live_node(bd_live *lv) { return &lv->m->node; }
bd_memory *bd_live_memory(bd_live *lv) { return &lv->m->mem; }
bd_limits *bd_live_limits(bd_live *lv) { return &lv->m->limits; }

bd_proc *bd_live_proc_add(bd_live *lv, bd_pid pid)
{
	bd_proc *p = bd_vec_push(&lv->m->procs);
	if (!p) {
		lv->oom = 1;
		return NULL;
	}
	p->pid = pid;
	p->state = BD_PS_UNKNOWN;
	p->spawned_by = BD_PID_NONE;
	p->msgq_len = p->reductions = BD_UNKNOWN;
	p->stack_heap = p->old_heap = p->bin_vheap = p->old_bin_vheap = BD_UNKNOWN;
	p->memory = p->heap_frag_data = BD_UNKNOWN;
	p->link_first = (uint32_t)lv->m->links.len;
	p->src_off = BD_UNKNOWN; /* the rest (bd_proc_ext) is unknown live */
	lv->last = LAST_PROC;
	return p;
}

size_t bd_live_proc_count(const bd_live *lv) { return lv->m->procs.len; }

int bd_live_proc_set_application(bd_live *lv, size_t i, const char *app)
{
	bd_model *m = lv->m;
	if (i >= m->procs.len)
		return BD_EUSAGE;
	while (m->proc_exts.len <= i) { /* rows before: the rest unknown */
		bd_proc_ext *x = bd_vec_push(&m->proc_exts);
		if (!x)
			return BD_ENOMEM;
		*x = (bd_proc_ext){NULL, NULL, BD_UNKNOWN, BD_UNKNOWN, BD_UNKNOWN, BD_UNKNOWN,
				   BD_UNKNOWN, BD_UNKNOWN, NULL, NULL, NULL, NULL};
	}
	BD_VEC_AT(&m->proc_exts, bd_proc_ext, i).application =
		app ? bd_model_intern(m, app, strlen(app)) : NULL;
	return 0;
}

bd_proc *bd_live_proc_at(bd_live *lv, size_t i)
{
	return i < lv->m->procs.len ? &BD_VEC_AT(&lv->m->procs, bd_proc, i) : NULL;
}

int bd_live_link_add(bd_live *lv, const bd_link *l)
{
	uint32_t *count;
	if (lv->last == LAST_PROC && lv->m->procs.len)
		count = &BD_VEC_AT(&lv->m->procs, bd_proc, lv->m->procs.len - 1).link_count;
	else if (lv->last == LAST_PORT && lv->m->ports.len)
		count = &BD_VEC_AT(&lv->m->ports, bd_port, lv->m->ports.len - 1).link_count;
	else
		return BD_EUSAGE;
	bd_link *n = bd_vec_push(&lv->m->links);
	if (!n)
		return BD_ENOMEM;
	*n = *l;
	(*count)++;
	return 0;
}

static detail *det_of(bd_live *lv, size_t i)
{
	if (i >= lv->m->procs.len)
		return NULL;
	if (i >= lv->det_cap) {
		size_t cap = lv->det_cap ? lv->det_cap : 1024;
		while (cap <= i)
			cap *= 2;
		detail **d = realloc(lv->det, cap * sizeof *d);
		if (!d)
			return NULL;
		memset(d + lv->det_cap, 0, (cap - lv->det_cap) * sizeof *d);
		lv->det = d;
		lv->det_cap = cap;
	}
	if (!lv->det[i])
		lv->det[i] = calloc(1, sizeof(detail));
	return lv->det[i];
}

static uint64_t new_addr(bd_live *lv)
{
	uint64_t a = lv->next_addr;
	lv->next_addr += 0x18;
	return a;
}

/* ---- ETF -> the dump's term language ----
 * Immediates are written inline (atoms, small integers, [], local pids and ports);
 * compound terms become object lines in the process heap (tuples, cons cells,
 * flatmaps, floats, bignums, heap binaries), referenced as H<addr>, so the mailbox
 * shape histogram and every decoder see what a crash dump would hold. Terms the
 * language has no object for (refs, funs, bitstrings, big maps...) stay ETF: an
 * E<len>:<base64> object. */
enum { ETF_DEPTH = 200 };

typedef struct conv {
	bd_live *lv;
	detail *d;
	const uint8_t *end;
	int bad;
} conv;

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Bytes of the atom-typed term at p (tag included), 0 if it is not one. */
static size_t atom_len(const uint8_t *p, const uint8_t *end, const uint8_t **text, size_t *n)
{
	if (p >= end)
		return 0;
	switch (*p) {
	case 100: case 118: /* ATOM_EXT, ATOM_UTF8_EXT */
		if (end - p < 3)
			return 0;
		*n = (size_t)p[1] << 8 | p[2];
		*text = p + 3;
		return (size_t)(end - p) >= 3 + *n ? 3 + *n : 0;
	case 115: case 119: /* SMALL_ATOM(_UTF8)_EXT */
		if (end - p < 2)
			return 0;
		*n = p[1];
		*text = p + 2;
		return (size_t)(end - p) >= 2 + *n ? 2 + *n : 0;
	}
	return 0;
}

/* End of the term at p, or NULL. */
static const uint8_t *etf_skip(const uint8_t *p, const uint8_t *end, int depth)
{
	const uint8_t *t = NULL;
	size_t n = 0, l;
	if (p >= end || depth > ETF_DEPTH)
		return NULL;
	if ((l = atom_len(p, end, &t, &n)))
		return p + l;
#define NEED(k) if ((size_t)(end - p) < (size_t)(k)) return NULL
	switch (*p) {
	case 97: NEED(2); return p + 2;
	case 98: NEED(5); return p + 5;
	case 70: NEED(9); return p + 9;
	case 99: NEED(32); return p + 32;
	case 106: return p + 1;
	case 107: NEED(3); return (size_t)(end - p) >= 3 + ((size_t)p[1] << 8 | p[2]) ? p + 3 + ((size_t)p[1] << 8 | p[2]) : NULL;
	case 109: NEED(5); n = be32(p + 1); return (size_t)(end - p) >= 5 + n ? p + 5 + n : NULL;
	case 77: NEED(6); n = be32(p + 1); return (size_t)(end - p) >= 6 + n ? p + 6 + n : NULL;
	case 110: NEED(3); return (size_t)(end - p) >= 3 + (size_t)p[1] ? p + 3 + p[1] : NULL;
	case 111: NEED(6); n = be32(p + 1); return (size_t)(end - p) >= 6 + n ? p + 6 + n : NULL;
	case 104: case 105: case 108: case 116: {
		uint64_t k;
		const uint8_t *q;
		if (*p == 104) {
			NEED(2);
			k = p[1];
			q = p + 2;
		} else {
			NEED(5);
			k = be32(p + 1);
			q = p + 5;
		}
		if (*p == 116)
			k *= 2;
		if (*p == 108)
			k++; /* the tail */
		for (uint64_t i = 0; i < k && q; i++)
			q = etf_skip(q, end, depth + 1);
		return q;
	}
	case 88: case 103: case 89: case 102: case 120: case 101: case 114: case 90: {
		/* pid, port, reference: node atom, then fixed fields */
		const uint8_t *q = p + 1;
		if (*p == 114 || *p == 90) {
			NEED(3);
			n = (size_t)p[1] << 8 | p[2];
			q = p + 3;
		}
		size_t alen, an;
		if (!(alen = atom_len(q, end, &t, &an)))
			return NULL;
		q += alen;
		size_t tail = *p == 88 ? 12 : *p == 103 ? 9 : *p == 89 ? 8 : *p == 102 ? 5
			    : *p == 120 ? 12 : *p == 101 ? 5 : *p == 114 ? 1 + 4 * n : 4 + 4 * n;
		return (size_t)(end - q) >= tail ? q + tail : NULL;
	}
	case 113: { /* EXPORT_EXT: M, F, A */
		const uint8_t *q = etf_skip(p + 1, end, depth + 1);
		q = q ? etf_skip(q, end, depth + 1) : NULL;
		return q ? etf_skip(q, end, depth + 1) : NULL;
	}
	case 112: NEED(5); n = be32(p + 1); return (size_t)(end - p) >= 1 + n ? p + 1 + n : NULL;
	}
#undef NEED
	return NULL;
}

static int conv_term(conv *c, sbuf *out, const uint8_t **pp, int depth);

/* "H<addr>" into out, for an object line about to be written at addr. */
static uint64_t ref_new(conv *c, sbuf *out)
{
	uint64_t a = new_addr(c->lv);
	if (sb_printf(out, "H%" PRIX64, a))
		c->bad = 1;
	return a;
}

/* Commit an object line "ADDR:text". */
static void object(conv *c, uint64_t a, sbuf *line)
{
	if (sb_printf(&c->d->heap, "%" PRIX64 ":", a) || sb_put(&c->d->heap, line->p ? line->p : "", line->len) ||
	    sb_put(&c->d->heap, "\n", 1))
		c->bad = 1;
	free(line->p);
	*line = (sbuf){0};
}

/* The term as an E object (ETF with the version byte). */
static void conv_etf(conv *c, sbuf *out, const uint8_t *p, const uint8_t *e)
{
	uint64_t a = ref_new(c, out);
	sbuf line = {0};
	size_t n = (size_t)(e - p);
	uint8_t v = 131;
	if (sb_printf(&line, "E%zX:", n + 1))
		c->bad = 1;
	/* 131 + p[0..n) as one base64 run */
	uint8_t *all = malloc(n + 1);
	if (!all) {
		c->bad = 1;
		return;
	}
	all[0] = v;
	memcpy(all + 1, p, n);
	if (sb_base64(&line, all, n + 1))
		c->bad = 1;
	free(all);
	object(c, a, &line);
}

static int is_local(conv *c, const uint8_t *atom, size_t n)
{
	const char *me = c->lv->m->node.node_name; /* a printed atom: maybe 'quoted' */
	if (!me)
		return 1;
	size_t l = strlen(me);
	if (l >= 2 && me[0] == '\'' && me[l - 1] == '\'') {
		me++;
		l -= 2;
	}
	return l == n && memcmp(me, atom, n) == 0;
}

/* A list of k elements at *pp (LIST_EXT body, tail included) as cons cells. */
static int conv_list(conv *c, sbuf *out, const uint8_t **pp, uint64_t k, int string, int depth)
{
	const uint8_t *p = *pp;
	uint64_t a = ref_new(c, out);
	for (uint64_t i = 0; i < k && !c->bad; i++) {
		sbuf line = {0};
		sb_put(&line, "l", 1);
		if (string) {
			sb_printf(&line, "I%u", p[i]);
		} else if (conv_term(c, &line, &p, depth + 1)) {
			free(line.p);
			return -1;
		}
		sb_put(&line, "|", 1);
		uint64_t next = 0;
		if (i + 1 < k)
			next = ref_new(c, &line);
		else if (string)
			sb_put(&line, "N", 1);
		else if (conv_term(c, &line, &p, depth + 1)) {
			free(line.p);
			return -1;
		}
		object(c, a, &line);
		a = next;
	}
	*pp = string ? p + k : p;
	return 0;
}

static int conv_term(conv *c, sbuf *out, const uint8_t **pp, int depth)
{
	const uint8_t *p = *pp, *end = c->end, *t = NULL, *e = etf_skip(p, end, depth);
	size_t n = 0;
	if (!e)
		return -1;
	*pp = e;
	if (depth > ETF_DEPTH / 2) {
		conv_etf(c, out, p, e);
		return 0;
	}
	if (atom_len(p, end, &t, &n)) {
		if (sb_printf(out, "A%zX:", n) || sb_put(out, (const char *)t, n))
			c->bad = 1;
		return 0;
	}
	sbuf line = {0};
	uint64_t a;
	switch (*p) {
	case 97:
		return sb_printf(out, "I%u", p[1]);
	case 98:
		return sb_printf(out, "I%d", (int32_t)be32(p + 1));
	case 106:
		return sb_put(out, "N", 1);
	case 110: { /* SMALL_BIG_EXT: up to 8 bytes as an integer, else ETF */
		size_t k = p[1];
		if (k > 8)
			break;
		uint64_t v = 0;
		for (size_t i = k; i > 0; i--)
			v = v << 8 | p[2 + i];
		if (v < ((uint64_t)1 << 59))
			return sb_printf(out, "I%s%" PRIu64, p[2] ? "-" : "", v);
		a = ref_new(c, out);
		sb_printf(&line, "B%s%" PRIu64, p[2] ? "-" : "", v);
		object(c, a, &line);
		return 0;
	}
	case 70: { /* NEW_FLOAT_EXT */
		uint64_t bits = (uint64_t)be32(p + 1) << 32 | be32(p + 5);
		double d;
		memcpy(&d, &bits, sizeof d);
		char txt[64];
		int l = snprintf(txt, sizeof txt, "%.20e", d);
		a = ref_new(c, out);
		sb_printf(&line, "F%X:%s", (unsigned)l, txt);
		object(c, a, &line);
		return 0;
	}
	case 104: case 105: { /* tuples */
		uint64_t k = *p == 104 ? p[1] : be32(p + 1);
		const uint8_t *q = p + (*p == 104 ? 2 : 5);
		a = ref_new(c, out);
		sb_printf(&line, "t%" PRIX64 ":", k);
		for (uint64_t i = 0; i < k; i++) {
			if (i)
				sb_put(&line, ",", 1);
			if (conv_term(c, &line, &q, depth + 1)) {
				free(line.p);
				return -1;
			}
		}
		object(c, a, &line);
		return 0;
	}
	case 107: { /* STRING_EXT: small integers */
		size_t k = (size_t)p[1] << 8 | p[2];
		const uint8_t *q = p + 3;
		if (!k)
			return sb_put(out, "N", 1);
		return conv_list(c, out, &q, k, 1, depth);
	}
	case 108: {
		const uint8_t *q = p + 5;
		return conv_list(c, out, &q, be32(p + 1), 0, depth);
	}
	case 109: { /* BINARY_EXT */
		n = be32(p + 1);
		a = ref_new(c, out);
		sb_printf(&line, "Yh%zX:", n);
		sb_base64(&line, p + 5, n);
		object(c, a, &line);
		return 0;
	}
	case 116: { /* MAP_EXT: a flatmap with a keys tuple */
		uint64_t k = be32(p + 1);
		if (k > 32)
			break;
		const uint8_t *q = p + 5;
		sbuf keys = {0}, vals = {0};
		uint64_t ka = new_addr(c->lv);
		sb_printf(&keys, "t%" PRIX64 ":", k);
		for (uint64_t i = 0; i < k; i++) {
			if (i) {
				sb_put(&keys, ",", 1);
				sb_put(&vals, ",", 1);
			}
			if (conv_term(c, &keys, &q, depth + 1) || conv_term(c, &vals, &q, depth + 1)) {
				free(keys.p);
				free(vals.p);
				return -1;
			}
		}
		object(c, ka, &keys);
		a = ref_new(c, out);
		sb_printf(&line, "Mf%" PRIX64 ":H%" PRIX64 ":", k, ka);
		sb_put(&line, vals.p ? vals.p : "", vals.len);
		free(vals.p);
		object(c, a, &line);
		return 0;
	}
	case 88: case 103: case 89: case 102: case 120: { /* pid / port */
		size_t al = atom_len(p + 1, end, &t, &n);
		const uint8_t *f = p + 1 + al;
		int local = is_local(c, t, n);
		char txt[64];
		if (*p == 88 || *p == 103)
			snprintf(txt, sizeof txt, "P<%u.%u.%u>", local ? 0 : 1, be32(f), be32(f + 4));
		else if (*p == 120)
			snprintf(txt, sizeof txt, "p<%u.%u>", local ? 0 : 1, be32(f + 4));
		else
			snprintf(txt, sizeof txt, "p<%u.%u>", local ? 0 : 1, be32(f));
		if (local)
			return sb_printf(out, "%s", txt);
		a = ref_new(c, out);
		sb_printf(&line, "%s", txt);
		object(c, a, &line);
		return 0;
	}
	}
	conv_etf(c, out, p, e);
	return 0;
}

/* Element text for the ETF term (version byte optional) into out; objects into d. */
static int put_term(bd_live *lv, detail *d, sbuf *out, const void *etf, size_t len)
{
	const uint8_t *p = etf, *end = p + len;
	if (len && p[0] == 131)
		p++;
	conv c = {lv, d, end, 0};
	if (conv_term(&c, out, &p, 0) || c.bad)
		return BD_ECORRUPT;
	return 0;
}

int bd_live_proc_message(bd_live *lv, size_t i, const void *etf, size_t len)
{
	detail *d = det_of(lv, i);
	if (!d)
		return i >= lv->m->procs.len ? BD_EUSAGE : BD_ENOMEM;
	sbuf line = {0};
	int rc = put_term(lv, d, &line, etf, len);
	if (!rc)
		rc = sb_put(&line, ":N\n", 3);
	if (!rc)
		rc = sb_put(&d->msgs, line.p, line.len);
	free(line.p);
	return rc;
}

int bd_live_proc_message_atom(bd_live *lv, size_t i, const char *atom)
{
	detail *d = det_of(lv, i);
	if (!d)
		return i >= lv->m->procs.len ? BD_EUSAGE : BD_ENOMEM;
	size_t n = strlen(atom);
	if (sb_printf(&d->msgs, "A%zX:", n) || sb_put(&d->msgs, atom, n) ||
	    sb_put(&d->msgs, ":N\n", 3))
		return BD_ENOMEM;
	return 0;
}

int bd_live_proc_frame(bd_live *lv, size_t i, const char *mfa)
{
	bd_proc *p = bd_live_proc_at(lv, i);
	if (!p)
		return BD_EUSAGE;
	if (!p->pc) {
		/* Frame 0 is the current function: the program counter. */
		p->pc = p->pc_mfa = bd_model_intern(lv->m, mfa, strlen(mfa));
		return p->pc ? 0 : BD_ENOMEM;
	}
	detail *d = det_of(lv, i);
	if (!d)
		return BD_ENOMEM;
	return sb_printf(&d->stack, "0x%016" PRIx64 ":SReturn addr 0x0 (%s + 0)\n",
			 new_addr(lv) << 4, mfa)
		       ? BD_ENOMEM
		       : 0;
}

/* Offset in the stack text where a slot of frame `frame` goes: after that frame's
 * return-address line and the slots already under it (frame 0, the current
 * function, owns the slots before the first return address). */
static size_t frame_end(const sbuf *st, size_t frame)
{
	size_t seen = 0, off = 0;
	while (off < st->len) {
		const char *e = memchr(st->p + off, '\n', st->len - off);
		size_t next = e ? (size_t)(e - st->p) + 1 : st->len;
		const char *colon = memchr(st->p + off, ':', next - off);
		if (colon && next - (size_t)(colon - st->p) > 13 && !memcmp(colon + 1, "SReturn addr ", 13) &&
		    ++seen > frame)
			return off;
		off = next;
	}
	return st->len;
}

int bd_live_proc_slot(bd_live *lv, size_t i, size_t frame, unsigned y, const void *etf,
		      size_t len)
{
	detail *d = det_of(lv, i);
	if (!d)
		return i >= lv->m->procs.len ? BD_EUSAGE : BD_ENOMEM;
	sbuf line = {0};
	int rc = sb_printf(&line, "y%u:", y);
	if (!rc)
		rc = put_term(lv, d, &line, etf, len);
	if (!rc)
		rc = sb_put(&line, "\n", 1);
	size_t at = frame_end(&d->stack, frame);
	if (!rc && !(rc = sb_grow(&d->stack, line.len))) {
		memmove(d->stack.p + at + line.len, d->stack.p + at, d->stack.len - at + 1);
		memcpy(d->stack.p + at, line.p, line.len);
		d->stack.len += line.len;
	}
	free(line.p);
	return rc;
}

int bd_live_proc_dict(bd_live *lv, size_t i, const char *key, const void *etf, size_t len)
{
	detail *d = det_of(lv, i);
	if (!d)
		return i >= lv->m->procs.len ? BD_EUSAGE : BD_ENOMEM;
	sbuf val = {0};
	int rc = put_term(lv, d, &val, etf, len);
	uint64_t a = new_addr(lv);
	size_t kl = strlen(key);
	if (!rc && (sb_printf(&d->heap, "%" PRIX64 ":t2:A%zX:", a, kl) || sb_put(&d->heap, key, kl) ||
		    sb_put(&d->heap, ",", 1) || sb_put(&d->heap, val.p, val.len) ||
		    sb_put(&d->heap, "\n", 1) || sb_printf(&d->dict, "H%" PRIX64 "\n", a)))
		rc = BD_ENOMEM;
	free(val.p);
	return rc;
}

int bd_live_proc_binary(bd_live *lv, size_t i, uint64_t addr, uint64_t size)
{
	detail *d = det_of(lv, i);
	if (!d)
		return i >= lv->m->procs.len ? BD_EUSAGE : BD_ENOMEM;
	if (sb_printf(&d->heap, "%" PRIX64 ":Yc%" PRIX64 ":0:%" PRIX64 "\n", new_addr(lv), addr,
		      size))
		return BD_ENOMEM;
	uint64_t row;
	if (addr == UINT64_MAX || bd_u64map_get(&lv->bins, addr, &row))
		return 0;
	bd_binary *b = bd_vec_push(&lv->m->binaries);
	if (!b)
		return BD_ENOMEM;
	b->addr = addr;
	b->size = size;
	b->data = BD_SPAN_NONE; /* contents are not captured */
	return bd_u64map_put(&lv->bins, addr, lv->m->binaries.len - 1) ? BD_ENOMEM : 0;
}

bd_port *bd_live_port_add(bd_live *lv, bd_pid id)
{
	bd_port *p = bd_vec_push(&lv->m->ports);
	if (!p)
		return NULL;
	p->id = id;
	p->connected = BD_PID_NONE;
	p->slot = p->input = p->output = p->queue = BD_UNKNOWN;
	p->link_first = (uint32_t)lv->m->links.len;
	lv->last = LAST_PORT;
	return p;
}

bd_ets *bd_live_ets_add(bd_live *lv)
{
	bd_ets *t = bd_vec_push(&lv->m->ets);
	if (!t)
		return NULL;
	t->owner = BD_PID_NONE;
	t->slot = t->objects = t->words = t->buckets = t->chain_max = t->chain_min = t->fixed =
		BD_UNKNOWN;
	t->chain_avg = t->chain_stddev = t->chain_expected_stddev = NAN;
	return t;
}

bd_sched *bd_live_sched_add(bd_live *lv)
{
	bd_sched *s = bd_vec_push(&lv->m->scheds);
	if (!s)
		return NULL;
	s->rq_max = s->rq_high = s->rq_normal = s->rq_low = s->rq_port = BD_UNKNOWN;
	s->current = BD_PID_NONE;
	s->utilization = NAN;
	return s;
}

bd_sched *bd_live_sched_find(bd_live *lv, uint32_t id)
{
	for (size_t i = 0; i < lv->m->scheds.len; i++) {
		bd_sched *s = &BD_VEC_AT(&lv->m->scheds, bd_sched, i);
		if (s->id == id && s->type != BD_SCHED_DIRTY_CPU_RQ && s->type != BD_SCHED_DIRTY_IO_RQ)
			return s;
	}
	return NULL;
}

bd_alloc_stat *bd_live_alloc_add(bd_live *lv)
{
	bd_alloc_stat *a = bd_vec_push(&lv->m->alloc_stats);
	if (!a)
		return NULL;
	a->instance = -1;
	a->v[0] = a->v[1] = a->v[2] = BD_UNKNOWN;
	return a;
}

bd_area *bd_live_area_add(bd_live *lv)
{
	bd_area *a = bd_vec_push(&lv->m->areas);
	if (a)
		a->allocated = a->used = BD_UNKNOWN;
	return a;
}

void bd_live_set_partial(bd_live *lv, const char *why)
{
	bd_node_info *n = &lv->m->node;
	n->truncated = 1;
	if (!n->truncated_in)
		n->truncated_in = bd_model_intern(lv->m, why, strlen(why));
	if (!n->skipped_first)
		n->skipped_first = n->truncated_in;
}

/* ---- finish: one text buffer, spans into it ---- */
static bd_span place(sbuf *text, const sbuf *part)
{
	if (!part->len)
		return BD_SPAN_NONE;
	bd_span s = {text->len, part->len};
	memcpy(text->p + text->len, part->p, part->len);
	text->len += part->len;
	return s;
}

int bd_live_finish(bd_live *lv, bd_model **out, bd_error *err)
{
	*out = NULL;
	bd_model *m = lv->m;
	size_t n = m->procs.len, total = 0;
	for (size_t i = 0; i < n && i < lv->det_cap; i++) {
		const detail *d = lv->det[i];
		if (d)
			total += d->msgs.len + d->dict.len + d->stack.len + d->heap.len;
	}
	sbuf text = {malloc(total + 1), 0, total + 1};
	if (!text.p || lv->oom) {
		free(text.p);
		bd_live_free(lv);
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory building the live model");
	}
	for (size_t i = 0; i < n && i < lv->det_cap; i++) {
		detail *d = lv->det[i];
		if (!d)
			continue;
		bd_proc *p = &BD_VEC_AT(&m->procs, bd_proc, i);
		p->sec_messages = place(&text, &d->msgs);
		p->sec_dictionary = place(&text, &d->dict);
		p->sec_stack = place(&text, &d->stack);
		p->sec_heap = place(&text, &d->heap);
		detail_free(d);
		lv->det[i] = NULL;
	}
	text.p[text.len] = 0;
	/* The text is the model's source bytes; no reader hook needed. */
	m->base = text.p;
	m->size = text.len;
	m->span_ctx = text.p;
	m->free_ctx = free;
	m->node.input_size = text.len;
	if (!m->node.atoms || m->node.atoms == BD_UNKNOWN)
		m->node.atoms = m->limits.atoms;
	/* bd_model_finish (here and when the snapshot is read) counts rows. */
	bd_model_count_tag(m, "proc", 4, m->procs.len);
	bd_model_count_tag(m, "port", 4, m->ports.len);
	bd_model_count_tag(m, "ets", 3, m->ets.len);
	int rc = bd_model_finish(m, err);
	lv->m = NULL;
	bd_live_free(lv);
	if (rc) {
		bd_model_free(m);
		return rc;
	}
	*out = m;
	return 0;
}
