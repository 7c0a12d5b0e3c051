/* Lazy decoding of one process's data sections. Opening indexes the =proc_heap lines
 * (address -> line) once; terms are then decoded on request with sharing kept (one
 * address, one bd_term), within node and depth budgets, and pointers that resolve
 * nowhere become BD_T_MISSING. Mailboxes are summarised by peeking at the top object
 * of each message, so a million messages cost a million lookups and no terms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beamdump/secret.h"
#include "int.h"

struct bd_heap {
	const bd_model *m;
	const bd_proc *p;
	bd_arena arena;
	const char *heap;
	size_t heap_len;
	bd_u64map index;            /* addr -> offset of the object text in heap */
	const bd_u64map *lit;       /* addr -> offset in literals */
	const char *lit_text;
	size_t lit_len;
	bd_u64map memo;             /* addr -> bd_term* */
	bd_decode_opts opts;
	uint32_t budget;
	size_t objects, bad_lines;
	/* The address index is built on first need. Until then objects are found by
	 * walking the heap text from a cursor: heap_dump prints stack roots, then each
	 * message in queue order, then the dictionary, each object before its children,
	 * so a mailbox scan or a stack decode finds each object a few lines on. */
	bool indexed;
	/* Opened while the dump is still being read (a mailbox summarised early): the
	 * literals are not known yet, so a lookup that misses gives up instead of
	 * indexing the heap, and counts; a summary with misses is not kept. */
	bool early;
	size_t misses;
	const char *cursor;
	size_t scan_limit;          /* lines walked from the cursor before giving up */
	unsigned restarts;          /* lookups that went back to the heap's start */
	bd_mailbox_stats stats;
	void *stats_mem;
	/* where the last bd_heap_messages call stopped, so paging is linear */
	size_t msg_next, msg_off; /* msg_off 0: none yet */
};

static bd_term nil_term = {.kind = BD_T_NIL};

/* ---- indexing ---- */
static size_t index_lines(bd_u64map *map, const char *t, size_t len, size_t *bad,
			  bd_source *src, uint64_t src_off)
{
	const char *p = t, *end = t + len;
	const char *released = t;
	size_t n = 0;
	while (p < end) {
		if (src && p - released > (64 << 20)) {
			bd_source_release_range(src, src_off + (uint64_t)(released - t),
						(uint64_t)(p - released));
			released = p;
		}
		uint64_t addr;
		const char *q = bd_parse_hex(p, end, &addr);
		const char *e = NULL;
		if (q && q < end && *q == ':') {
			e = bd_tl_line_end(BD_TS_HEAP, p, end);
			if (bd_u64map_put(map, addr, (uint64_t)(q + 1 - t)) < 0)
				break;
			n++;
		}
		if (!e) {
			if (bad)
				(*bad)++;
			e = memchr(p, '\n', (size_t)(end - p));
			if (!e)
				break;
		}
		p = e + 1;
	}
	return n;
}

static const bd_u64map *literal_index(const bd_model *cm, const char **text, size_t *len)
{
	bd_model *m = (bd_model *)cm; /* the literal index is a cache of the model */
	*text = NULL;
	*len = 0;
	if (!m->literals.len || bd_model_span_text(m, m->literals, text, len))
		return NULL;
	if (!m->lit_index_built) {
		m->lit_index_built = true;
		m->lit_index = calloc(1, sizeof *m->lit_index);
		if (m->lit_index)
			index_lines(m->lit_index, *text, *len, NULL, NULL, 0);
	}
	return m->lit_index;
}

static int heap_init(bd_heap **out, const bd_model *m, const bd_proc *p, bd_error *err)
{
	bd_heap *h = calloc(1, sizeof *h);
	if (!h)
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	h->m = m;
	h->p = p;
	h->opts.max_nodes = 200000;
	h->opts.max_depth = 256;
	h->arena.limit = (size_t)1 << 31;
	h->lit = literal_index(m, &h->lit_text, &h->lit_len);
	h->indexed = !p; /* no process heap to search */
	*out = h;
	return 0;
}

int bd_heap_open(bd_heap **out, const bd_model *m, const bd_proc *p, bd_error *err)
{
	*out = NULL;
	if (!p->sec_heap.len && !p->sec_stack.len && !p->sec_messages.len)
		return bd_error_set(err, BD_ENOTFOUND, 0,
				    "process has no heap data in the dump (exiting, sensitive or cut)");
	bd_heap *h = NULL;
	bd_secret_learn(m); /* before any term of m can be printed */
	int rc = heap_init(&h, m, p, err);
	if (rc)
		return rc;
	if (p->sec_heap.len && bd_model_span_text(m, p->sec_heap, &h->heap, &h->heap_len) == 0)
		h->cursor = h->heap;
	else
		h->indexed = true; /* nothing to index */
	*out = h;
	return 0;
}

static void ensure_index(bd_heap *h)
{
	if (h->indexed || !h->p)
		return;
	h->indexed = true;
	if (!h->p || !h->heap)
		return; /* a literals-only context: nothing to index */
	const bd_model *m = h->m;
	h->objects = index_lines(&h->index, h->heap, h->heap_len, &h->bad_lines,
				 m->span_text ? NULL : m->src, h->p->sec_heap.off);
	/* A big heap was read once to index it; let its pages go until a term needs them. */
	if (!m->span_text && h->p->sec_heap.len > (64u << 20))
		bd_source_release_range(m->src, h->p->sec_heap.off, h->p->sec_heap.len);
}

int bd_heap_open_literals(bd_heap **out, const bd_model *m, bd_error *err)
{
	bd_secret_learn(m);
	int rc = heap_init(out, m, NULL, err);
	if (!rc)
		(*out)->indexed = true; /* no process heap: nothing to index or scan */
	return rc;
}

void bd_heap_free(bd_heap *h)
{
	if (!h)
		return;
	bd_u64map_free(&h->index);
	bd_u64map_free(&h->memo);
	bd_arena_free(&h->arena);
	free(h->stats_mem);
	free(h);
}

void bd_heap_set_opts(bd_heap *h, const bd_decode_opts *o)
{
	if (o->max_nodes)
		h->opts.max_nodes = o->max_nodes;
	if (o->max_depth)
		h->opts.max_depth = o->max_depth;
}

size_t bd_heap_objects(const bd_heap *h)
{
	ensure_index((bd_heap *)h); /* the index is a cache */
	return h->objects;
}

size_t bd_heap_bad_lines(const bd_heap *h)
{
	ensure_index((bd_heap *)h);
	return h->bad_lines;
}

enum { SCAN_WINDOW = 4096 };

/* Walk at most limit lines from *from for addr's line; on a hit *obj is the object
 * text and *from the next line. */
static int scan_lines(const bd_heap *h, const char **from, size_t limit, uint64_t addr,
		      const char **obj)
{
	const char *c = *from, *end = h->heap + h->heap_len;
	for (size_t i = 0; c < end && i < limit; i++) {
		uint64_t a;
		const char *q = bd_parse_hex(c, end, &a);
		/* Only atoms can hold a raw newline; objects without atoms end at the first. */
		int atomless = q && q + 1 < end && *q == ':' && q[1] && strchr("YFBEPp", q[1]);
		const char *e = q && q < end && *q == ':' && !atomless
					? bd_tl_line_end(BD_TS_HEAP, c, end) : NULL;
		if (!e)
			e = memchr(c, '\n', (size_t)(end - c));
		if (q && q < end && *q == ':' && a == addr) {
			*obj = q + 1;
			*from = e ? e + 1 : end;
			return 1;
		}
		c = e ? e + 1 : end;
	}
	return 0;
}

/* Unindexed lookup: forward from the cursor only. Whatever is not ahead (an object
 * printed earlier, a dictionary entry far behind) makes the caller index the heap
 * once, so a process costs at most two passes over its heap however its terms are
 * shaped. */
enum { RESTARTS_MAX = 16 };
static int scan_object(bd_heap *h, uint64_t addr, const char **p)
{
	const char *from = h->cursor;
	if (scan_lines(h, &from, h->scan_limit ? h->scan_limit : SCAN_WINDOW, addr, p)) {
		h->cursor = from;
		return 1;
	}
	/* A few times, a new walk from the start (the first messages after a mailbox
	 * walk left the cursor at the end) before a huge heap is indexed; bounded, so a
	 * process never costs more than a pass plus RESTARTS_MAX windows. */
	if (h->restarts < RESTARTS_MAX && h->cursor != h->heap) {
		h->restarts++;
		from = h->heap;
		if (scan_lines(h, &from, SCAN_WINDOW, addr, p)) {
			h->cursor = from;
			return 1;
		}
	}
	return 0;
}

/* Object text for addr: literals (an O(1) lookup in the model's index; literal and heap
 * addresses never overlap), then the process heap. */
static int find_object(const bd_heap *ch, uint64_t addr, const char **p, const char **end)
{
	bd_heap *h = (bd_heap *)ch; /* cursor and index are caches */
	uint64_t off;
	if (h->lit && bd_u64map_get(h->lit, addr, &off)) {
		*p = h->lit_text + off;
		*end = h->lit_text + h->lit_len;
		return 1;
	}
	if (!h->indexed) {
		if (scan_object(h, addr, p)) {
			*end = h->heap + h->heap_len;
			return 1;
		}
		if (h->early) {
			h->misses++;
			return 0;
		}
		ensure_index(h);
	}
	if (bd_u64map_get(&h->index, addr, &off)) {
		*p = h->heap + off;
		*end = h->heap + h->heap_len;
		return 1;
	}
	h->misses++;
	return 0;
}

void bd_heap_set_early(bd_heap *h)
{
	h->early = true;
}

/* ---- term construction ---- */
static bd_term *mk(bd_heap *h, int kind)
{
	if (h->budget == 0)
		return NULL;
	bd_term *t = bd_arena_alloc(&h->arena, sizeof *t);
	if (!t)
		return NULL;
	h->budget--;
	t->kind = (uint8_t)kind;
	return t;
}

static bd_term limit_term = {.kind = BD_T_LIMIT};
static bd_term cut_term = {.kind = BD_T_MISSING, .u.addr = BD_UNKNOWN};

static bd_term *mk_or_limit(bd_heap *h, int kind)
{
	bd_term *t = mk(h, kind);
	return t ? t : &limit_term;
}

static bd_term *opaque(bd_heap *h, const char *p, const char *e)
{
	bd_term *t = mk_or_limit(h, BD_T_OPAQUE);
	if (t->kind == BD_T_OPAQUE) {
		size_t n = (size_t)(e - p) > 64 ? 64 : (size_t)(e - p);
		t->u.s = bd_arena_strndup(&h->arena, p, n);
		t->n = (uint32_t)n;
	}
	return t;
}

static const char *eol_of(const char *p, const char *end)
{
	const char *q = memchr(p, '\n', (size_t)(end - p));
	if (!q)
		q = end;
	if (q > p && q[-1] == '\r')
		q--;
	return q;
}

static bd_term *decode_elem(bd_heap *h, const char *p, const char *end, const char **next,
			    uint32_t depth);
static uint32_t heap_node_channel(void *ud, const char *name, size_t len);
static bd_term *decode_addr(bd_heap *h, uint64_t addr, uint32_t depth);

static bd_term *decode_pidlike(bd_heap *h, const char *p, const char *end, const char **next,
			       int port)
{
	size_t lim = (size_t)(end - p) < 64 ? (size_t)(end - p) : 64; /* see skip_angle */
	const char *gt = memchr(p, '>', lim);
	bd_pid pid;
	if (!gt || bd_pid_parse(p, (size_t)(gt + 1 - p), &pid)) {
		*next = NULL;
		return opaque(h, p, gt ? gt + 1 : end);
	}
	*next = gt + 1;
	bd_term *t = mk_or_limit(h, port ? BD_T_PORT : BD_T_PID);
	if (t->kind != BD_T_LIMIT)
		t->u.pid = pid;
	return t;
}

static bd_term *decode_elem(bd_heap *h, const char *p, const char *end, const char **next,
			    uint32_t depth)
{
	uint64_t v;
	const char *q;
	*next = p;
	if (p >= end)
		return opaque(h, p, p);
	switch (*p) {
	case 'H':
		q = bd_parse_hex(p + 1, end, &v);
		if (!q)
			break;
		*next = q;
		return decode_addr(h, v, depth);
	case 'N':
		*next = p + 1;
		return &nil_term;
	case 'I': {
		int64_t i;
		q = bd_parse_i64(p + 1, end, &i);
		if (!q)
			break;
		*next = q;
		bd_term *t = mk_or_limit(h, BD_T_INT);
		if (t->kind == BD_T_INT)
			t->u.i = i;
		return t;
	}
	case 'A':
		q = bd_parse_hex(p + 1, end, &v);
		if (!q || q >= end || *q != ':' || v > (uint64_t)(end - q - 1))
			break;
		*next = q + 1 + v;
		{
			bd_term *t = mk_or_limit(h, BD_T_ATOM);
			if (t->kind == BD_T_ATOM) {
				t->u.s = q + 1; /* points into the source; length in n */
				t->n = (uint32_t)v;
			}
			return t;
		}
	case 'P':
		return decode_pidlike(h, p + 1, end, next, 0);
	case 'p':
		return decode_pidlike(h, p + 1, end, next, 1);
	default:
		return opaque(h, p, p); /* an immediate the writer could not print */
	}
	*next = NULL;
	return opaque(h, p, eol_of(p, end));
}

/* Elements separated by ',' into out[0..n). */
static const char *decode_elems(bd_heap *h, const char *p, const char *end, bd_term **out,
				uint64_t n, uint32_t depth)
{
	for (uint64_t i = 0; i < n; i++) {
		if (i) {
			if (p >= end || *p != ',')
				return NULL;
			p++;
		}
		const char *nx;
		out[i] = decode_elem(h, p, end, &nx, depth);
		if (!nx)
			return NULL;
		p = nx;
	}
	return p;
}

static bd_term *decode_binary_data(bd_heap *h, bd_term *t, const char *data, const char *e,
				   uint64_t offset, uint64_t size)
{
	size_t want = size > 4096 ? 4096 : (size_t)size;
	uint8_t *buf = bd_arena_alloc(&h->arena, want ? want : 1);
	if (buf) {
		t->u.bin.data = buf;
		t->n = (uint32_t)bd_decode_window(data, (size_t)(e - data), h->m->hex_data, offset,
						  buf, want);
		if (t->n < want)
			t->flags |= BD_TF_CUT; /* the line stops before the bytes do */
	}
	return t;
}

static void refc_fill(bd_heap *h, bd_term *t, uint64_t addr, uint64_t offset, uint64_t size)
{
	t->bin_kind = BD_BIN_REFC;
	t->u.bin.addr = addr;
	t->u.bin.offset = offset;
	t->u.bin.size = size;
	const bd_binary *b = bd_binary_find(h->m, addr);
	t->u.bin.orig_size = b ? b->size : BD_UNKNOWN;
	if (b) {
		size_t want = size > 256 ? 256 : (size_t)size;
		uint8_t *buf = bd_arena_alloc(&h->arena, want ? want : 1);
		if (buf) {
			int64_t got = bd_binary_read(h->m, b, offset, buf, want);
			t->u.bin.data = buf;
			t->n = got > 0 ? (uint32_t)got : 0;
			if (t->n < want)
				t->flags |= BD_TF_CUT; /* =binary data cut short */
		}
	}
}

/* Yh<size>:<data> | Yc<bin>:<off>:<size> | Ys<target>:<off>:<size> */
static bd_term *decode_bin(bd_heap *h, bd_term *t, const char *p, const char *end)
{
	uint64_t a, off, size;
	const char *e = eol_of(p, end);
	t->kind = BD_T_BINARY;
	if (*p == 'h') {
		const char *q = bd_parse_hex(p + 1, e, &size);
		if (!q || q >= e || *q != ':')
			return t;
		t->bin_kind = BD_BIN_HEAP;
		t->u.bin.size = size;
		t->u.bin.orig_size = size;
		return decode_binary_data(h, t, q + 1, e, 0, size);
	}
	const char *q = bd_parse_hex(p + 1, e, &a);
	if (!q || q >= e || *q++ != ':' || !(q = bd_parse_hex(q, e, &off)) || q >= e ||
	    *q++ != ':' || !bd_parse_hex(q, e, &size))
		return t;
	if (*p == 'c') {
		/* OTP 27 writes a bare BinRef in literals with an absolute pointer as
		 * offset: then the slice is the whole binary. */
		if (off > size && off > 0xffffffffull)
			off = 0;
		refc_fill(h, t, a, off, size);
		return t;
	}
	/* Ys: target is a Binary* or the address of a Yh/Yc object line (OTP 27 sets
	 * tag bits in the low 2 bits). */
	if (bd_binary_find(h->m, a)) {
		refc_fill(h, t, a, off, size);
		return t;
	}
	const char *op, *oe;
	if (find_object(h, a, &op, &oe) || find_object(h, a & ~3ull, &op, &oe)) {
		if (oe - op > 2 && op[0] == 'Y' && op[1] == 'h') {
			const char *oeol = eol_of(op, oe), *c = memchr(op, ':', (size_t)(oeol - op));
			t->bin_kind = BD_BIN_HEAP;
			t->u.bin.size = size;
			t->u.bin.orig_size = size;
			if (c)
				decode_binary_data(h, t, c + 1, oeol, off, size);
			return t;
		}
		if (oe - op > 2 && op[0] == 'Y' && op[1] == 'c') {
			uint64_t ba, boff, bs;
			const char *c = bd_parse_hex(op + 2, oe, &ba);
			if (c && c < oe && *c == ':' && (c = bd_parse_hex(c + 1, oe, &boff)) &&
			    c < oe && *c == ':' &&
			    bd_parse_hex(c + 1, oe, &bs)) {
				refc_fill(h, t, ba, (boff > bs ? 0 : boff) + off, size);
				return t;
			}
		}
	}
	/* Target not dumped (OTP <= 26 gap): size known, bytes not. */
	t->bin_kind = BD_BIN_REFC;
	t->u.bin.addr = a;
	t->u.bin.offset = off;
	t->u.bin.size = size;
	t->u.bin.orig_size = BD_UNKNOWN;
	return t;
}

/* Collect the pairs of a hashmap node tree into pairs[] (2 per entry). */
static void hamt_collect(bd_heap *h, const char *p, const char *end, bd_term **pairs,
			 uint64_t *np, uint64_t cap, uint32_t depth)
{
	uint64_t n, k;
	const char *q;
	/* Nodes visited count against the budget: forged nodes that point at each
	 * other would otherwise be walked 2^64 ways. */
	if (depth > 64 || p >= end || !h->budget)
		return;
	h->budget--;
	if (p[0] == 'M' && p + 1 < end && (p[1] == 'n' || p[1] == 'h')) {
		q = bd_parse_hex(p + 2, end, &n);
		if (!q || q >= end || *q++ != ':')
			return;
		if (p[1] == 'h') {
			q = bd_parse_hex(q, end, &k);
			if (!q || q >= end || *q++ != ':')
				return;
			n = k;
		}
		for (uint64_t i = 0; i < n && q && q < end; i++) {
			if (i) {
				if (*q != ',')
					return;
				q++;
			}
			uint64_t a;
			const char *nx = q[0] == 'H' ? bd_parse_hex(q + 1, end, &a) : NULL;
			const char *cp, *ce;
			if (nx && find_object(h, a, &cp, &ce))
				hamt_collect(h, cp, ce, pairs, np, cap, depth + 1);
			q = nx ? nx : bd_tl_skip_elem(q, end);
		}
		return;
	}
	if (p[0] == 'l') { /* leaf: key | value */
		if (*np >= cap)
			return;
		const char *nx;
		bd_term *key = decode_elem(h, p + 1, end, &nx, depth);
		if (!nx || nx >= end || *nx != '|')
			return;
		bd_term *val = decode_elem(h, nx + 1, end, &nx, depth);
		pairs[2 * *np] = key;
		pairs[2 * *np + 1] = val;
		(*np)++;
		return;
	}
	if (p[0] == 't') { /* collision node: tuple of leaf pointers */
		q = bd_parse_hex(p + 1, end, &n);
		if (!q || q >= end || *q++ != ':')
			return;
		for (uint64_t i = 0; i < n && q < end; i++) {
			if (i && *q++ != ',')
				return;
			uint64_t a;
			const char *nx = q < end && *q == 'H' ? bd_parse_hex(q + 1, end, &a) : NULL;
			const char *cp, *ce;
			if (nx && find_object(h, a, &cp, &ce))
				hamt_collect(h, cp, ce, pairs, np, cap, depth + 1);
			q = nx ? nx : bd_tl_skip_elem(q, end);
			if (!q)
				return;
		}
	}
}

static bd_term *decode_map(bd_heap *h, bd_term *t, const char *p, const char *end,
			   uint32_t depth)
{
	uint64_t n, k;
	t->kind = BD_T_MAP;
	const char *q = bd_parse_hex(p + 1, end, &n);
	if (!q || q >= end || *q++ != ':')
		return t;
	uint64_t cap = n < h->budget ? n : h->budget;
	if (cap > (uint64_t)(end - p))
		cap = (uint64_t)(end - p) + 64;
	bd_term **pairs = bd_arena_alloc(&h->arena, (size_t)(2 * cap + 2) * sizeof *pairs);
	if (!pairs)
		return t;
	t->u.elems = pairs;
	if (*p == 'f') {
		/* keys tuple, then values */
		const char *nx;
		bd_term *keys = decode_elem(h, q, end, &nx, depth);
		if (!nx || nx >= end || *nx != ':')
			return t;
		bd_term **vals = bd_arena_alloc(&h->arena, (size_t)(cap + 1) * sizeof *vals);
		if (!vals)
			return t;
		const char *r = decode_elems(h, nx + 1, end, vals, cap, depth);
		(void)r;
		uint64_t got = 0;
		for (uint64_t i = 0; i < cap; i++) {
			if (!vals[i])
				break;
			pairs[2 * i] = keys->kind == BD_T_TUPLE && i < keys->n ? keys->u.elems[i]
									 : &limit_term;
			pairs[2 * i + 1] = vals[i];
			got++;
		}
		t->n = (uint32_t)got;
		return t;
	}
	if (*p == 'h') {
		q = bd_parse_hex(q, end, &k);
		(void)k;
	}
	uint64_t np = 0;
	hamt_collect(h, p - 1, end, pairs, &np, cap, depth);
	t->n = (uint32_t)np;
	return t;
}

/* Memo values are bd_term pointers (8-aligned); the low bit marks a term whose
 * decoding is under way. A real heap is acyclic, so a pointer to such a term is a
 * forged cycle: it decodes as a missing term, and every term built is a finite tree
 * (with sharing) that walkers can follow without cycle checks. */
#define MEMO_BUSY 1u

static void memo_put(bd_heap *h, uint64_t addr, bd_term *t, int busy)
{
	bd_u64map_put(&h->memo, addr, (uint64_t)(uintptr_t)t | (busy ? MEMO_BUSY : 0));
}

/* Cons cells are decoded in a loop along their tails: strings and long lists would
 * otherwise recurse once per element. The cells of the chain stay busy until its end,
 * as the elements may point back into it. */
static void decode_list_cells(bd_heap *h, bd_term *first, const char *p, const char *end,
			      uint32_t depth, bd_vec *chain)
{
	bd_term *cell = first;
	for (;;) {
		cell->kind = BD_T_CONS;
		bd_term **ht = bd_arena_alloc(&h->arena, 2 * sizeof *ht);
		if (!ht)
			return;
		cell->u.elems = ht;
		cell->n = 2;
		const char *nx;
		ht[0] = decode_elem(h, p, end, &nx, depth + 1);
		if (!nx || nx >= end || *nx != '|') {
			ht[1] = &nil_term;
			return;
		}
		p = nx + 1;
		uint64_t a;
		const char *q = p < end && *p == 'H' ? bd_parse_hex(p + 1, end, &a) : NULL;
		const char *op, *oe;
		uint64_t known;
		if (q && !bd_u64map_get(&h->memo, a, &known) && find_object(h, a, &op, &oe) &&
		    op < oe && op[0] == 'l') {
			bd_term *next = mk(h, BD_T_CONS);
			uint64_t *slot = next ? bd_vec_push(chain) : NULL;
			if (!slot) {
				ht[1] = &limit_term;
				return;
			}
			*slot = a;
			memo_put(h, a, next, 1);
			ht[1] = next;
			cell = next;
			p = op + 1;
			end = oe;
			continue;
		}
		ht[1] = decode_elem(h, p, end, &nx, depth + 1);
		return;
	}
}

static bd_term *decode_list(bd_heap *h, bd_term *first, const char *p, const char *end,
			    uint32_t depth)
{
	bd_vec chain = BD_VEC_INIT(uint64_t, SIZE_MAX);
	decode_list_cells(h, first, p, end, depth, &chain);
	for (size_t i = 0; i < chain.len; i++) {
		uint64_t a = BD_VEC_AT(&chain, uint64_t, i), v;
		if (bd_u64map_get(&h->memo, a, &v))
			bd_u64map_put(&h->memo, a, v & ~(uint64_t)MEMO_BUSY);
	}
	bd_vec_free(&chain);
	return first;
}

static bd_term *decode_object(bd_heap *h, bd_term *t, const char *p, const char *end,
			      uint32_t depth)
{
	uint64_t n;
	const char *q, *e = eol_of(p, end);
	switch (p < end ? *p : 0) { /* "ADDR:" may be the last bytes of the input */
	case 't':
		q = bd_parse_hex(p + 1, end, &n);
		if (!q || q >= end || *q != ':')
			break;
		t->kind = BD_T_TUPLE;
		/* All elements are on this line, each at least one byte and a comma: an
		 * absurd arity costs the line's length, not the heap's. */
		if (n > (uint64_t)(e - q + 1) / 2 + 1)
			n = (uint64_t)(e - q + 1) / 2 + 1;
		t->u.elems = bd_arena_alloc(&h->arena, (size_t)(n + 1) * sizeof(bd_term *));
		if (!t->u.elems)
			return t;
		t->n = (uint32_t)n;
		if (!decode_elems(h, q + 1, end, t->u.elems, n, depth + 1)) {
			/* The line stops before the tuple does (a cut dump): say so. */
			for (uint64_t i = 0; i < n; i++)
				if (!t->u.elems[i])
					t->u.elems[i] = &cut_term;
			t->flags |= BD_TF_CUT;
		}
		return t;
	case 'l':
		return decode_list(h, t, p + 1, end, depth);
	case 'F': {
		char buf[64];
		q = bd_parse_hex(p + 1, e, &n);
		if (!q || q >= e || *q != ':')
			break;
		size_t l = (size_t)(e - q - 1) < n ? (size_t)(e - q - 1) : (size_t)n;
		snprintf(buf, sizeof buf, "%.*s", (int)(l < 63 ? l : 63), q + 1);
		t->kind = BD_T_FLOAT;
		t->u.f = strtod(buf, NULL);
		return t;
	}
	case 'B':
		t->kind = BD_T_BIG;
		t->u.s = bd_arena_strndup(&h->arena, p + 1, (size_t)(e - p - 1) > 4096 ? 4096 : (size_t)(e - p - 1));
		t->n = (uint32_t)strlen(t->u.s ? t->u.s : "");
		return t;
	case 'Y':
		if (p + 1 < e)
			return decode_bin(h, t, p + 1, end);
		break;
	case 'M':
		if (p + 1 < e)
			return decode_map(h, t, p + 1, end, depth + 1);
		break;
	case 'P':
	case 'p': {
		const char *nx;
		bd_term *x = decode_pidlike(h, p + 1, e, &nx, *p == 'p');
		*t = *x;
		return t;
	}
	case 'E': {
		q = bd_parse_hex(p + 1, e, &n);
		if (!q || q >= e || *q != ':')
			break;
		size_t cap = n > (1u << 20) ? (1u << 20) : (size_t)n;
		uint8_t *buf = malloc(cap ? cap : 1);
		if (!buf)
			break;
		size_t got = bd_decode_data(q + 1, (size_t)(e - q - 1), h->m->hex_data, buf, cap);
		bd_etf_ctx ctx = {NULL, NULL, 0, heap_node_channel, (void *)h->m};
		bd_term *x = bd_etf_decode_ctx(&h->arena, buf, got, h->budget, &ctx);
		free(buf);
		if (!x)
			break;
		*t = *x;
		return t;
	}
	case 'R': /* OTP 27 FunRef: bookkeeping beside a fun literal */
		t->kind = BD_T_FUN;
		t->u.s = "#FunRef";
		return t;
	}
	bd_term *x = opaque(h, p, e);
	*t = *x;
	return t;
}

static bd_term *decode_addr(bd_heap *h, uint64_t addr, uint32_t depth)
{
	uint64_t known;
	if (bd_u64map_get(&h->memo, addr, &known)) {
		if (!(known & MEMO_BUSY))
			return (bd_term *)(uintptr_t)known;
		bd_term *t = mk_or_limit(h, BD_T_MISSING); /* a forged cycle */
		if (t->kind == BD_T_MISSING)
			t->u.addr = addr;
		return t;
	}
	const char *p, *end;
	if (!find_object(h, addr, &p, &end)) {
		bd_term *t = mk_or_limit(h, BD_T_MISSING);
		if (t->kind == BD_T_MISSING)
			t->u.addr = addr;
		return t;
	}
	if (depth > h->opts.max_depth)
		return &limit_term;
	bd_term *t = mk(h, BD_T_OPAQUE);
	if (!t)
		return &limit_term;
	/* Memoize before the children, as busy: a forged cycle ends here instead of
	 * looping; once decoded, shared subterms resolve to this node. */
	memo_put(h, addr, t, 1);
	decode_object(h, t, p, end, depth);
	memo_put(h, addr, t, 0);
	return t;
}

bd_term *bd_heap_decode(bd_heap *h, const char *text, size_t len)
{
	const char *nx;
	h->budget = h->opts.max_nodes;
	return decode_elem(h, text, text + len, &nx, 0);
}

/* ---- stack ---- */
static const char *paren_text(bd_heap *h, const char *p, const char *e)
{
	const char *a = memchr(p, '(', (size_t)(e - p));
	if (!a || e[-1] != ')')
		return bd_arena_strndup(&h->arena, p, (size_t)(e - p));
	return bd_arena_strndup(&h->arena, a + 1, (size_t)(e - a - 2));
}

/* Up to OTP 22 a frame kept the return address into its caller at its lowest
 * address, followed by its own y-registers: the slots after return address k belong
 * to the function of frame k-1 (frame 0 being the current function). */
static int old_frame_layout(const bd_model *m)
{
	int major = bd_node_otp_major(bd_model_node(m));
	return major > 0 && major < 23;
}

static void shift_slots_down(bd_frame *fr, size_t nf)
{
	for (size_t i = 0; i + 1 < nf; i++) {
		fr[i].slots = fr[i + 1].slots;
		fr[i].nslots = fr[i + 1].nslots;
	}
	if (nf) {
		fr[nf - 1].nslots = 0;
	}
}

int bd_heap_stack(bd_heap *h, bd_frame **frames, size_t *n, bd_error *err)
{
	const char *t;
	size_t len;
	*frames = NULL;
	*n = 0;
	if (!h->p || !h->p->sec_stack.len)
		return bd_error_set(err, BD_ENOTFOUND, 0, "no stack in the dump");
	if (bd_model_span_text(h->m, h->p->sec_stack, &t, &len))
		return bd_error_set(err, BD_ECORRUPT, 0, "stack section out of range");
	h->budget = h->opts.max_nodes;
	/* Count lines to size the arrays. */
	size_t lines = 1;
	for (const char *c = t; (c = memchr(c, '\n', (size_t)(t + len - c))); c++)
		lines++;
	bd_frame *fr = bd_arena_alloc(&h->arena, (lines + 1) * sizeof *fr);
	bd_slot *slots = bd_arena_alloc(&h->arena, (lines + 1) * sizeof *slots);
	if (!fr || !slots)
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory decoding the stack");
	size_t nf = 1, ns = 0;
	fr[0].mfa = h->p->pc ? h->p->pc : "?";
	fr[0].slots = slots;
	const char *p = t, *end = t + len;
	while (p < end) {
		const char *e = bd_tl_line_end(BD_TS_STACK, p, end);
		if (!e)
			e = eol_of(p, end);
		const char *le = e > p && e[-1] == '\r' ? e - 1 : e;
		const char *colon = memchr(p, ':', (size_t)(le - p));
		if (colon) {
			const char *v = colon + 1;
			if (le - v > 12 && memcmp(v, "SReturn addr", 12) == 0) {
				fr[nf].mfa = paren_text(h, v, le);
				fr[nf].slots = slots + ns;
				nf++;
			} else {
				bd_slot *s = &slots[ns++];
				bd_frame *cur = &fr[nf - 1];
				cur->nslots++;
				s->y = -1;
				if (*p == 'y') {
					uint64_t y;
					if (bd_parse_u64(p + 1, colon, &y))
						s->y = (int)(y > 1000000 ? 1000000 : y);
				}
				if (v < le && *v == 'S') {
					s->info = bd_arena_strndup(&h->arena, v + 1, (size_t)(le - v - 1));
				} else {
					const char *nx;
					s->term = decode_elem(h, v, le, &nx, 0);
				}
			}
		}
		p = e < end ? e + 1 : end;
	}
	if (old_frame_layout(h->m))
		shift_slots_down(fr, nf);
	*frames = fr;
	*n = nf;
	return 0;
}

/* ---- distribution messages ---- */
/* "D<n>:<n atoms>E<size>:<ext>[:<token>]": a message still in external format, with
 * the atom translation table of its connection (ATOM_CACHE_REF i names atoms[i]). The
 * external data is base64 (hex before 0.5) and may be several separately padded runs
 * (the 3 bytes of a distribution header, fragments), up to the next ':'. */
enum { DIST_ATOMS_MAX = 256, DIST_MAX = 16 << 20 };

static uint32_t dist_node_channel(void *ud, const char *name, size_t len)
{
	const bd_model *m = ud;
	size_t n;
	const bd_dist *d = bd_model_dists(m, &n);
	const char *self = bd_model_node(m)->node_name;
	for (size_t i = 0; i <= n; i++) {
		const char *dn = i < n ? d[i].name : self;
		if (!dn)
			continue;
		size_t dl = strlen(dn);
		if (dl >= 2 && dn[0] == '\'' && dn[dl - 1] == '\'') { /* %T quotes it */
			dn++;
			dl -= 2;
		}
		if (dl == len && memcmp(dn, name, len) == 0)
			return i < n ? d[i].channel : 0;
	}
	return UINT32_MAX;
}

/* E lines of a heap: a listed node gets its channel, anything else stays local as
 * before (old dumps name no node at all). */
static uint32_t heap_node_channel(void *ud, const char *name, size_t len)
{
	uint32_t ch = dist_node_channel(ud, name, len);
	return ch == UINT32_MAX ? 0 : ch;
}

/* Base64 runs (each may end in '=' padding) or hex pairs, up to ':' or e. */
static size_t dist_bytes(const char *p, const char *e, int hex, uint8_t *out, size_t cap)
{
	const char *stop = memchr(p, ':', (size_t)(e - p));
	if (stop)
		e = stop;
	if (hex)
		return bd_decode_data(p, (size_t)(e - p), 1, out, cap);
	size_t n = 0;
	while (p < e && n < cap) {
		const char *q = p;
		while (q < e && *q != '=')
			q++;
		n += bd_decode_data(p, (size_t)(q - p), 0, out + n, cap - n);
		while (q < e && *q == '=')
			q++;
		p = q;
	}
	return n;
}

typedef struct dist_msg {
	const char *atoms[DIST_ATOMS_MAX];
	uint32_t lens[DIST_ATOMS_MAX];
	uint32_t natoms;
	const char *data; /* after "E<size>:" */
	uint64_t size;
} dist_msg;

static int dist_parse(const char *p, const char *e, dist_msg *d)
{
	uint64_t n, len;
	p = bd_parse_hex(p + 1, e, &n);
	if (!p || p >= e || *p++ != ':' || n > DIST_ATOMS_MAX)
		return -1;
	d->natoms = (uint32_t)n;
	for (uint64_t i = 0; i < n; i++) {
		if (p >= e || *p != 'A' || !(p = bd_parse_hex(p + 1, e, &len)) || p >= e ||
		    *p++ != ':' || len > (uint64_t)(e - p))
			return -1;
		d->atoms[i] = p;
		d->lens[i] = (uint32_t)len;
		p += len;
	}
	if (p >= e || *p != 'E' || !(p = bd_parse_hex(p + 1, e, &d->size)) || p >= e || *p++ != ':')
		return -1;
	d->data = p;
	return 0;
}

static bd_term *decode_dist_in(const bd_heap *h, bd_arena *a, const char *p, const char *e,
			       uint32_t budget)
{
	dist_msg d;
	if (dist_parse(p, e, &d))
		return NULL;
	const char *stop = memchr(d.data, ':', (size_t)(e - d.data));
	size_t text = (size_t)((stop ? stop : e) - d.data);
	size_t cap = h->m->hex_data ? text / 2 + 1 : text / 4 * 3 + 3;
	if (cap > DIST_MAX)
		cap = DIST_MAX;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return NULL;
	size_t got = dist_bytes(d.data, e, h->m->hex_data, buf, cap);
	bd_etf_ctx ctx = {d.atoms, d.lens, d.natoms, dist_node_channel, (void *)h->m};
	bd_term *t = got ? bd_etf_decode_ctx(a, buf, got, budget, &ctx) : NULL;
	free(buf);
	return t;
}

static bd_term *decode_dist(bd_heap *h, const char *p, const char *e)
{
	bd_term *t = decode_dist_in(h, &h->arena, p, e, h->budget);
	if (t) {
		h->budget = h->budget > 64 ? h->budget - 64 : 0;
		return t;
	}
	bd_term *o = mk_or_limit(h, BD_T_OPAQUE);
	if (o->kind == BD_T_OPAQUE) {
		o->u.s = "#UndecodableDistMessage";
		o->n = (uint32_t)strlen(o->u.s);
	}
	return o;
}

/* ---- messages ---- */
static int msg_text(const bd_heap *h, const char **t, size_t *len)
{
	if (!h->p || !h->p->sec_messages.len)
		return -1;
	return bd_model_span_text(h->m, h->p->sec_messages, t, len) ? -1 : 0;
}

size_t bd_heap_messages(bd_heap *h, size_t first, size_t count, bd_term **out)
{
	const char *t;
	size_t len, i = 0, got = 0;
	if (msg_text(h, &t, &len))
		return 0;
	h->budget = h->opts.max_nodes;
	const char *p = t, *end = t + len;
	if (h->msg_off && h->msg_off <= len && first >= h->msg_next) {
		p = t + h->msg_off;
		i = h->msg_next;
	}
	while (p < end && got < count) {
		const char *e = bd_tl_line_end(BD_TS_MESSAGES, p, end);
		if (!e)
			e = eol_of(p, end);
		if (i >= first) {
			const char *nx;
			out[got++] = *p == 'D' ? decode_dist(h, p, e) : decode_elem(h, p, e, &nx, 0);
		}
		i++;
		p = e < end ? e + 1 : end;
	}
	h->msg_next = i;
	h->msg_off = (size_t)(p - t);
	return got;
}

/* snprintf(buf + k, cap - k, "%.*s", n, s) for shape keys, without the formatting
 * machinery (one call per queued message): the length it wanted, as snprintf. */
static size_t sh_lit(char *buf, size_t cap, size_t k, const char *s, size_t n)
{
	if (k < cap) {
		size_t c = n < cap - 1 - k ? n : cap - 1 - k;
		memcpy(buf + k, s, c);
		buf[k + c] = 0;
	}
	return k + n;
}
static size_t sh_put(char *buf, size_t cap, size_t k, const char *s, size_t n)
{
	n = strnlen(s, n);
	if (k < cap) {
		size_t c = n < cap - 1 - k ? n : cap - 1 - k;
		memcpy(buf + k, s, c);
		buf[k + c] = 0;
	}
	return k + n;
}
#define SH_LIT(buf, cap, k, lit) sh_lit(buf, cap, k, lit, sizeof lit - 1)

/* Shape of an element without building terms: "{job,_,_}", "ok", "binary"... */
static void shape_of(const bd_heap *h, const char *p, const char *end, char *buf, size_t cap,
		     int unwrap, bd_pid *caller)
{
	uint64_t a, n;
	const char *op, *oe;
	SH_LIT(buf, cap, 0, "?");
	if (p >= end)
		return;
	switch (*p) {
	case 'A':
		if (bd_parse_hex(p + 1, end, &n)) {
			const char *c = memchr(p, ':', (size_t)(end - p));
			if (c && n <= (uint64_t)(end - c - 1))
				sh_put(buf, cap, 0,
				       bd_secret_is(c + 1, n) ? "'" BD_SECRET_SHOWN "'" : c + 1,
				       n > 60 ? 60 : (size_t)n);
		}
		return;
	case 'I':
		SH_LIT(buf, cap, 0, "integer");
		return;
	case 'N':
		SH_LIT(buf, cap, 0, "[]");
		return;
	case 'P':
		SH_LIT(buf, cap, 0, "pid");
		return;
	case 'p':
		SH_LIT(buf, cap, 0, "port");
		return;
	case 'H':
		break;
	default:
		return;
	}
	if (!bd_parse_hex(p + 1, end, &a) || !find_object(h, a, &op, &oe) || op >= oe)
		return;
	switch (*op) {
	case 't': {
		const char *q = bd_parse_hex(op + 1, oe, &n);
		if (!q || q >= oe || *q != ':')
			return;
		q++;
		if (n == 0) {
			SH_LIT(buf, cap, 0, "{}");
			return;
		}
		if (q >= oe || *q != 'A') {
			char num[8];
			int d = snprintf(num, sizeof num, "%u", (unsigned)(n > 9999 ? 9999 : n));
			size_t k = SH_LIT(buf, cap, 0, "{");
			k = sh_put(buf, cap, k, num, (size_t)d);
			SH_LIT(buf, cap, k, "-tuple}");
			return;
		}
		uint64_t al;
		const char *c = bd_parse_hex(q + 1, oe, &al);
		if (!c || c >= oe || *c != ':' || al > (uint64_t)(oe - c - 1))
			return;
		const char *atom = c + 1;
		int alen = (int)(al > 48 ? 48 : al);
		if (bd_secret_is(atom, al)) {
			atom = "'" BD_SECRET_SHOWN "'";
			alen = (int)strlen(atom);
		}
		if (unwrap && ((n == 3 && al == 9 && memcmp(atom, "$gen_call", 9) == 0) ||
			       (n == 2 && al == 9 && memcmp(atom, "$gen_cast", 9) == 0))) {
			const char *q2 = bd_tl_skip_elem(q, oe); /* the atom */
			if (!q2 || q2 >= oe || *q2 != ',')
				return;
			q2++;
			if (n == 3) {
				/* From = {Pid, Tag}: record the caller pid. */
				uint64_t fa;
				const char *fp, *fe;
				if (caller && q2 < oe && *q2 == 'H' && bd_parse_hex(q2 + 1, oe, &fa) &&
				    find_object(h, fa, &fp, &fe) && fp < fe && fp[0] == 't') {
					const char *x = memchr(fp, ':', (size_t)(fe - fp));
					if (x && x + 2 < fe && x[1] == 'P') {
						const char *gt = memchr(x + 2, '>', (size_t)(fe - x - 2));
						if (gt)
							bd_pid_parse(x + 2, (size_t)(gt + 1 - x - 2), caller);
					}
				}
				q2 = bd_tl_skip_elem(q2, oe);
				if (!q2 || q2 >= oe || *q2 != ',')
					return;
				q2++;
			}
			char inner[64];
			shape_of(h, q2, oe, inner, sizeof inner, 0, NULL);
			size_t k = sh_put(buf, cap, 0, atom, (size_t)alen);
			k = SH_LIT(buf, cap, k, " ");
			sh_put(buf, cap, k, inner, sizeof inner);
			return;
		}
		size_t k = SH_LIT(buf, cap, 0, "{");
		k = sh_put(buf, cap, k, atom, (size_t)alen);
		for (uint64_t i = 1; i < n && i < 12 && k + 3 < cap; i++)
			k = SH_LIT(buf, cap, k, ",_");
		if (n >= 12 && k + 5 < cap)
			k = SH_LIT(buf, cap, k, ",...");
		if (k + 2 < cap)
			SH_LIT(buf, cap, k, "}");
		return;
	}
	case 'l':
		SH_LIT(buf, cap, 0, "list");
		return;
	case 'Y':
		SH_LIT(buf, cap, 0, "binary");
		return;
	case 'M':
		SH_LIT(buf, cap, 0, "map");
		return;
	case 'F':
		SH_LIT(buf, cap, 0, "float");
		return;
	case 'B':
		SH_LIT(buf, cap, 0, "integer");
		return;
	case 'E':
		SH_LIT(buf, cap, 0, "ref/fun");
		return;
	case 'P':
		SH_LIT(buf, cap, 0, "pid");
		return;
	}
}

/* shape_of for a decoded term (a distribution message): the same keys. */
static void shape_of_term(const bd_term *t, char *buf, size_t cap, int unwrap, bd_pid *caller)
{
	snprintf(buf, cap, "?");
	if (!t)
		return;
	switch (t->kind) {
	case BD_T_ATOM:
		snprintf(buf, cap, "%.*s", (int)(t->n > 60 ? 60 : t->n), t->u.s);
		return;
	case BD_T_INT:
	case BD_T_BIG:
		snprintf(buf, cap, "integer");
		return;
	case BD_T_NIL:
		snprintf(buf, cap, "[]");
		return;
	case BD_T_PID:
		snprintf(buf, cap, "pid");
		return;
	case BD_T_PORT:
		snprintf(buf, cap, "port");
		return;
	case BD_T_CONS:
		snprintf(buf, cap, "list");
		return;
	case BD_T_BINARY:
		snprintf(buf, cap, "binary");
		return;
	case BD_T_MAP:
		snprintf(buf, cap, "map");
		return;
	case BD_T_FLOAT:
		snprintf(buf, cap, "float");
		return;
	case BD_T_REF:
	case BD_T_FUN:
		snprintf(buf, cap, "ref/fun");
		return;
	case BD_T_TUPLE:
		break;
	default:
		return;
	}
	uint32_t n = t->n;
	if (n == 0) {
		snprintf(buf, cap, "{}");
		return;
	}
	const bd_term *a = t->u.elems[0];
	if (!a || a->kind != BD_T_ATOM) {
		snprintf(buf, cap, "{%u-tuple}", n > 9999 ? 9999 : n);
		return;
	}
	int alen = (int)(a->n > 48 ? 48 : a->n);
	if (unwrap && ((n == 3 && a->n == 9 && memcmp(a->u.s, "$gen_call", 9) == 0) ||
		       (n == 2 && a->n == 9 && memcmp(a->u.s, "$gen_cast", 9) == 0))) {
		const bd_term *from = n == 3 ? t->u.elems[1] : NULL;
		if (caller && from && from->kind == BD_T_TUPLE && from->n >= 1 && from->u.elems[0] &&
		    from->u.elems[0]->kind == BD_T_PID)
			*caller = from->u.elems[0]->u.pid;
		char inner[64];
		shape_of_term(t->u.elems[n - 1], inner, sizeof inner, 0, NULL);
		snprintf(buf, cap, "%.*s %s", alen, a->u.s, inner);
		return;
	}
	size_t k = (size_t)snprintf(buf, cap, "{%.*s", alen, a->u.s);
	for (uint32_t i = 1; i < n && i < 12 && k + 3 < cap; i++)
		k += (size_t)snprintf(buf + k, cap - k, ",_");
	if (n >= 12 && k + 5 < cap)
		k += (size_t)snprintf(buf + k, cap - k, ",...");
	if (k + 2 < cap)
		snprintf(buf + k, cap - k, "}");
}

typedef struct shape_tab {
	bd_shape *slots;
	size_t cap, count;
	uint64_t other;
} shape_tab;

static void shape_add(shape_tab *st, const char *key, uint64_t idx)
{
	uint64_t hsh = bd_hash_bytes(key, strlen(key));
	size_t j = hsh & (st->cap - 1);
	while (st->slots[j].count) {
		if (strcmp(st->slots[j].key, key) == 0) {
			st->slots[j].count++;
			return;
		}
		j = (j + 1) & (st->cap - 1);
	}
	if (st->count * 2 >= st->cap) {
		st->other++;
		return;
	}
	snprintf(st->slots[j].key, sizeof st->slots[j].key, "%s", key);
	st->slots[j].count = 1;
	st->slots[j].first_index = idx;
	st->count++;
}

static int cmp_shape(const void *a, const void *b)
{
	const bd_shape *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : strcmp(x->key, y->key);
}

typedef struct caller_tab {
	struct { bd_pid pid; uint64_t count; } *slots;
	size_t cap, count;
} caller_tab;

static void caller_add(caller_tab *ct, bd_pid pid)
{
	for (size_t i = 0; i < ct->count; i++)
		if (bd_pid_eq(ct->slots[i].pid, pid)) {
			ct->slots[i].count++;
			return;
		}
	if (ct->count < ct->cap) {
		ct->slots[ct->count].pid = pid;
		ct->slots[ct->count++].count = 1;
	}
}

static int cmp_caller(const void *a, const void *b)
{
	const uint64_t x = ((const struct { bd_pid pid; uint64_t count; } *)a)->count;
	const uint64_t y = ((const struct { bd_pid pid; uint64_t count; } *)b)->count;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* A long queue's summary is kept with the model cache (bd_model_memo_*): the next
 * run on the same dump reads it instead of walking the queue again. */
enum { MEMO_MIN_MESSAGES = 10000 };
#define MEMO_MAILBOX ((uint64_t)0x4d42 << 48)

typedef struct memo_mb {
	bd_pid pid;
	uint32_t version;
	uint64_t messages, other, nshapes, ncallers;
} memo_mb;

static uint64_t memo_key(const bd_proc *p)
{
	return MEMO_MAILBOX ^ bd_pid_pack(p->pid);
}

static void stats_to_memo(const bd_heap *h, const bd_mailbox_stats *st)
{
	memo_mb hd = {h->p->pid, 1, st->messages, st->other, st->nshapes, st->ncallers};
	size_t ns = st->nshapes * sizeof(bd_shape), nc = st->ncallers * sizeof *st->callers;
	uint8_t *b = malloc(sizeof hd + ns + nc);
	if (!b)
		return;
	memcpy(b, &hd, sizeof hd);
	if (ns)
		memcpy(b + sizeof hd, st->shapes, ns);
	if (nc)
		memcpy(b + sizeof hd + ns, st->callers, nc);
	bd_model_memo_put(h->m, memo_key(h->p), b, sizeof hd + ns + nc);
	free(b);
}

/* The kept summary, checked like any input: 1 when out holds it. */
static int stats_from_memo(bd_heap *h, bd_mailbox_stats *out)
{
	void *d;
	size_t len;
	memo_mb hd;
	if (!bd_model_memo_get(h->m, memo_key(h->p), &d, &len))
		return 0;
	int ok = len >= sizeof hd;
	if (ok)
		memcpy(&hd, d, sizeof hd);
	ok = ok && bd_pid_eq(hd.pid, h->p->pid) && hd.version == 1 && hd.nshapes <= 8192 &&
	     hd.ncallers <= 256 &&
	     len == sizeof hd + hd.nshapes * sizeof(bd_shape) + hd.ncallers * sizeof *out->callers;
	if (!ok) {
		free(d);
		return 0;
	}
	/* The same layout as a walk leaves: shapes, then callers. */
	size_t ns = (size_t)hd.nshapes * sizeof(bd_shape);
	free(h->stats_mem);
	h->stats_mem = d;
	memmove(d, (uint8_t *)d + sizeof hd, len - sizeof hd);
	bd_shape *shapes = d;
	for (size_t i = 0; i < hd.nshapes; i++)
		shapes[i].key[sizeof shapes[i].key - 1] = 0;
	out->messages = hd.messages;
	out->other = hd.other;
	out->shapes = hd.nshapes ? shapes : NULL;
	out->nshapes = (size_t)hd.nshapes;
	out->callers = hd.ncallers ? (void *)((uint8_t *)d + ns) : NULL;
	out->ncallers = (size_t)hd.ncallers;
	return 1;
}

int bd_heap_mailbox_stats(bd_heap *h, bd_mailbox_stats *out, bd_error *err)
{
	const char *t;
	size_t len;
	memset(out, 0, sizeof *out);
	if (msg_text(h, &t, &len))
		return bd_error_set(err, BD_ENOTFOUND, 0, "no messages in the dump");
	int memo = h->p->msgq_len != BD_UNKNOWN && h->p->msgq_len >= MEMO_MIN_MESSAGES;
	/* The queue may be being summarised already, since the read (prefetch.c). */
	if (memo && !h->early)
		bd_prefetch_wait(h->m->prefetch, h->p->pid);
	if (memo && stats_from_memo(h, out))
		return 0;
	shape_tab st = {0};
	/* Room for four times the messages (shapes are fewer), at most 8192 slots: a short
	 * queue does not pay for a 1 MB table. */
	size_t lines = 1;
	for (const char *c = t; lines < 4096 && (c = memchr(c, '\n', (size_t)(t + len - c))); c++)
		lines++;
	for (st.cap = 16; st.cap < 4 * lines && st.cap < 8192;)
		st.cap *= 2;
	caller_tab ct = {0};
	ct.cap = 256;
	free(h->stats_mem);
	h->stats_mem = calloc(1, st.cap * sizeof(bd_shape) + ct.cap * sizeof *ct.slots);
	if (!h->stats_mem)
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	st.slots = h->stats_mem;
	ct.slots = (void *)((char *)h->stats_mem + st.cap * sizeof(bd_shape));
	const char *p = t, *end = t + len;
	uint64_t idx = 0;
	char key[96];
	/* (a model from the cache reads the dump itself, mapped, as a fresh read does) */
	int big = (!h->m->span_text || h->m->from_cache) && h->heap_len > (8u << 20);
	h->scan_limit = SIZE_MAX; /* messages lie in queue order: one walk finds them all */
	bd_arena scratch = {0};
	while (p < end && !(h->early && h->misses)) {
		/* Message objects lie in queue order through a big heap: drop what is
		 * behind now and then so the resident set stays small. */
		if (big && idx % 4096 == 4095) {
			bd_source_release_range(h->m->src, h->p->sec_heap.off, h->p->sec_heap.len);
			bd_source_release_range(h->m->src, h->p->sec_messages.off,
						(uint64_t)(p - t));
		}
		const char *e = bd_tl_line_end(BD_TS_MESSAGES, p, end);
		if (!e)
			e = eol_of(p, end);
		bd_pid caller = BD_PID_NONE;
		if (*p == 'D') {
			/* Decoded in a scratch arena, dropped every few thousand messages. */
			if (idx % 4096 == 0)
				bd_arena_free(&scratch);
			bd_term *dm = decode_dist_in(h, &scratch, p, e, 4096);
			if (dm)
				shape_of_term(dm, key, sizeof key, 1, &caller);
			else
				snprintf(key, sizeof key, "<distribution message>");
		} else {
			shape_of(h, p, e, key, sizeof key, 1, &caller);
		}
		shape_add(&st, key, idx);
		if (bd_pid_valid(caller))
			caller_add(&ct, caller);
		idx++;
		p = e < end ? e + 1 : end;
	}
	h->scan_limit = 0;
	bd_arena_free(&scratch);
	/* Compact the table to the front and sort by count. */
	size_t k = 0;
	for (size_t i = 0; i < st.cap; i++)
		if (st.slots[i].count)
			st.slots[k++] = st.slots[i];
	qsort(st.slots, k, sizeof *st.slots, cmp_shape);
	qsort(ct.slots, ct.count, sizeof *ct.slots, cmp_caller);
	out->messages = idx;
	out->shapes = st.slots;
	out->nshapes = k;
	out->other = st.other;
	out->callers = (void *)ct.slots;
	out->ncallers = ct.count;
	if (h->early && h->misses)
		return bd_error_set(err, BD_ENOTFOUND, 0, "mailbox summary needs the literals");
	if (memo)
		stats_to_memo(h, out);
	return 0;
}

/* ---- dictionary ---- */

/* The key/value pairs of a section, a line each (kind: BD_TS_DICT lines hold a
 * {Key,Value} tuple, BD_TS_PTERMS lines Key|Value); what a line lacks is cut. */
static int decode_pairs(bd_heap *h, bd_span sp, bd_ts_kind kind, bd_term ***keys, bd_term ***values,
			size_t *n, bd_error *err, const char *what)
{
	const char *t;
	size_t len;
	if (bd_model_span_text(h->m, sp, &t, &len))
		return bd_error_set(err, BD_ECORRUPT, 0, "%s out of range", what);
	h->budget = h->opts.max_nodes;
	size_t lines = 1;
	for (const char *c = t; (c = memchr(c, '\n', (size_t)(t + len - c))); c++)
		lines++;
	bd_term **k = bd_arena_alloc(&h->arena, lines * sizeof *k);
	bd_term **v = bd_arena_alloc(&h->arena, lines * sizeof *v);
	if (!k || !v)
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	const char *p = t, *end = t + len;
	while (p < end) {
		const char *e = bd_tl_line_end(kind, p, end);
		if (!e)
			e = eol_of(p, end);
		if (e > p) {
			const char *nx;
			bd_term *first = decode_elem(h, p, e, &nx, 0);
			if (kind == BD_TS_PTERMS) {
				k[*n] = first;
				v[*n] = nx && nx < e && *nx == '|' ? decode_elem(h, nx + 1, e, &nx, 0)
								   : &cut_term;
			} else if (first->kind == BD_T_TUPLE && first->n == 2) {
				k[*n] = first->u.elems[0];
				v[*n] = first->u.elems[1];
			} else {
				k[*n] = first;
				v[*n] = &limit_term;
			}
			(*n)++;
		}
		p = e < end ? e + 1 : end;
	}
	*keys = k;
	*values = v;
	return 0;
}

int bd_heap_dictionary(bd_heap *h, bd_term ***keys, bd_term ***values, size_t *n,
		       bd_error *err)
{
	*n = 0;
	if (!h->p || !h->p->sec_dictionary.len)
		return 0;
	return decode_pairs(h, h->p->sec_dictionary, BD_TS_DICT, keys, values, n, err, "dictionary");
}

bd_term *bd_heap_dict_get(bd_heap *h, const char *atom)
{
	const char *t;
	size_t len, alen = strlen(atom);
	if (!h->p || !h->p->sec_dictionary.len ||
	    bd_model_span_text(h->m, h->p->sec_dictionary, &t, &len))
		return NULL;
	const char *p = t, *end = t + len;
	while (p < end) {
		const char *e = bd_tl_line_end(BD_TS_DICT, p, end);
		if (!e)
			e = eol_of(p, end);
		uint64_t a;
		const char *op, *oe;
		/* Peek: t2:A<len>:<atom>,<value> */
		if (*p == 'H' && bd_parse_hex(p + 1, e, &a) && find_object(h, a, &op, &oe) &&
		    oe - op > 4 && memcmp(op, "t2:A", 4) == 0) {
			uint64_t l;
			const char *c = bd_parse_hex(op + 4, oe, &l);
			if (c && *c == ':' && l == alen && (uint64_t)(oe - c - 1) > l &&
			    memcmp(c + 1, atom, alen) == 0 && c[1 + l] == ',') {
				const char *nx;
				h->budget = h->opts.max_nodes;
				return decode_elem(h, c + 2 + l, oe, &nx, 0);
			}
		}
		p = e < end ? e + 1 : end;
	}
	return NULL;
}

/* ---- persistent terms, module blobs ---- */
int bd_heap_persistent_terms(bd_heap *h, bd_term ***keys, bd_term ***values, size_t *n,
			     bd_error *err)
{
	*n = 0;
	if (!h->m->persistent_terms.len)
		return 0;
	return decode_pairs(h, h->m->persistent_terms, BD_TS_PTERMS, keys, values, n, err,
			    "persistent terms");
}

bd_term *bd_heap_decode_blob(bd_heap *h, bd_span sp)
{
	const char *t;
	size_t len;
	if (!sp.len || bd_model_span_text(h->m, sp, &t, &len) || !len)
		return NULL;
	size_t cap = h->m->hex_data ? len / 2 + 1 : len / 4 * 3 + 3;
	if (cap > (16u << 20))
		cap = 16u << 20;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return NULL;
	size_t got = bd_decode_data(t, len, h->m->hex_data, buf, cap);
	h->budget = h->opts.max_nodes;
	bd_etf_ctx ctx = {NULL, NULL, 0, heap_node_channel, (void *)h->m};
	bd_term *r = bd_etf_decode_ctx(&h->arena, buf, got, h->budget, &ctx);
	free(buf);
	return r;
}
