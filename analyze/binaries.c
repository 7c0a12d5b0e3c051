/* binary_leak and binary_pinning: refc (off-heap) binaries held by processes.
 *
 * Cheap pass: BinVHeap + OldBinVHeap per process (words of refc binaries referenced
 * from its heap, garbage included). Deep pass, on the largest holders (every
 * process when the dump is small): the Yc / Ys lines of =proc_heap give each
 * reference's binary, offset and size; =binary gives the binary's full size. A
 * small slice of a big binary pins all of it. Exact where the binary is dumped;
 * where it is not (OTP <= 26 writes a Ys slice's Binary* without dumping it) the
 * pinned size is estimated from BinVHeap minus the dumped binaries. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

enum { PIN_RATIO = 8, MIN_PIN_BIN = 32 * 1024 };
#define LEAK_MIN ((uint64_t)8 << 20)
#define PIN_MIN ((uint64_t)1 << 20)

typedef struct bref {
	uint64_t bin;       /* Binary* (0 = unknown) */
	uint64_t size;      /* bytes referenced */
	uint64_t orig;      /* size of the whole binary; BD_UNKNOWN if not dumped */
} bref;

typedef struct holder {
	const bd_proc *p;
	uint64_t vheap;     /* (BinVHeap + OldBinVHeap) bytes */
	bref *refs;
	size_t nrefs;
	uint64_t reachable; /* distinct dumped binaries' sizes */
	uint64_t nbins;     /* distinct binaries */
	uint64_t largest;
	uint64_t largest_addr;
	/* pinning */
	uint64_t pin_slices, pin_slice_bytes, pin_bytes;
	uint64_t pin_bin_max;
	int pin_estimated;
} holder;

/* Global reconstructed refcounts: binary -> processes referencing it. */
typedef struct rc_tab {
	uint64_t *keys, *vals;
	size_t cap, count;
} rc_tab;

static void rc_add(rc_tab *t, uint64_t key)
{
	if (!key || t->count * 2 >= t->cap)
		return;
	size_t j = (key * 0x9E3779B97F4A7C15ULL) >> 20 & (t->cap - 1);
	while (t->keys[j] && t->keys[j] != key)
		j = (j + 1) & (t->cap - 1);
	if (!t->keys[j]) {
		t->keys[j] = key;
		t->count++;
	}
	t->vals[j]++;
}

static uint64_t rc_get(const rc_tab *t, uint64_t key)
{
	if (!key || !t->cap)
		return 0;
	size_t j = (key * 0x9E3779B97F4A7C15ULL) >> 20 & (t->cap - 1);
	while (t->keys[j]) {
		if (t->keys[j] == key)
			return t->vals[j];
		j = (j + 1) & (t->cap - 1);
	}
	return 0;
}

/* ---- reading Yc / Ys lines ---- */
static const char *hex(const char *p, const char *e, uint64_t *v)
{
	uint64_t x = 0;
	const char *s = p;
	for (; p < e; p++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
			: *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
		if (d < 0)
			break;
		x = x << 4 | (uint64_t)d;
	}
	*v = x;
	return p > s ? p : NULL;
}

typedef struct heapline {
	uint64_t addr, bin;
} heapline;

static int cmp_hl(const void *a, const void *b)
{
	uint64_t x = ((const heapline *)a)->addr, y = ((const heapline *)b)->addr;
	return x < y ? -1 : x > y;
}

/* One "ADDR:Yx<target>:<off>:<size>" line; returns 0 if it is not a refc line. */
static int parse_refline(const char *p, const char *e, uint64_t *addr, char *kind,
			 uint64_t *target, uint64_t *off, uint64_t *size)
{
	const char *q = hex(p, e, addr);
	if (!q || q + 3 >= e || q[0] != ':' || q[1] != 'Y' || (q[2] != 'c' && q[2] != 's'))
		return 0;
	*kind = q[2];
	q = hex(q + 3, e, target);
	if (!q || *q != ':' || !(q = hex(q + 1, e, off)) || *q != ':' || !hex(q + 1, e, size))
		return 0;
	return 1;
}

static void scan_heap(an_ctx *c, holder *h)
{
	const char *t;
	size_t len;
	if (!h->p->sec_heap.len || bd_model_span_text(c->m, h->p->sec_heap, &t, &len))
		return;
	size_t cap = 0, n = 0, nl = 0, capl = 0;
	heapline *lines = NULL;
	const char *p = t, *end = t + len;
	/* Pass 1: every refc line, and Yc line address -> Binary* for Ys targets. */
	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		if (!e)
			e = end;
		uint64_t addr, target, off, size;
		char kind;
		if (e - p > 4 && parse_refline(p, e, &addr, &kind, &target, &off, &size)) {
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				bref *g = realloc(h->refs, cap * sizeof *g);
				if (!g)
					break;
				h->refs = g;
			}
			if (kind == 's')
				target &= ~(uint64_t)3; /* OTP 27 ORs tag bits into the BinRef */
			h->refs[n++] = (bref){kind == 'c' ? target : target | 1, size, BD_UNKNOWN};
			if (kind == 'c') {
				if (nl == capl) {
					capl = capl ? 2 * capl : 64;
					heapline *g = realloc(lines, capl * sizeof *g);
					if (!g)
						break;
					lines = g;
				}
				lines[nl++] = (heapline){addr, target};
			}
		}
		p = e + 1;
	}
	if (nl)
		qsort(lines, nl, sizeof *lines, cmp_hl);
	/* Pass 2: resolve Ys targets (low bit marks them) through the Yc lines. */
	for (size_t i = 0; i < n; i++) {
		bref *r = &h->refs[i];
		if (r->bin & 1) {
			heapline key = {r->bin & ~(uint64_t)1, 0};
			heapline *hl = nl ? bsearch(&key, lines, nl, sizeof *lines, cmp_hl) : NULL;
			r->bin = hl ? hl->bin : key.addr;
		}
		const bd_binary *b = bd_binary_find(c->m, r->bin);
		r->orig = b ? b->size : BD_UNKNOWN;
	}
	free(lines);
	h->nrefs = n;
}

static int cmp_bref(const void *a, const void *b)
{
	const bref *x = a, *y = b;
	if (x->bin != y->bin)
		return x->bin < y->bin ? -1 : 1;
	return x->size < y->size ? -1 : x->size > y->size;
}

/* Sums over distinct binaries and the pinning arithmetic. A binary referenced twice
 * counts once, with its smallest slice. */
static void summarize(an_ctx *c, holder *h, rc_tab *rc)
{
	(void)c;
	uint64_t unresolved = 0, unresolved_slice = 0;
	if (h->nrefs)
		qsort(h->refs, h->nrefs, sizeof *h->refs, cmp_bref);
	for (size_t i = 0; i < h->nrefs; i++) {
		bref *r = &h->refs[i];
		if (i && h->refs[i - 1].bin == r->bin)
			continue;
		h->nbins++;
		rc_add(rc, r->bin);
		if (r->orig == BD_UNKNOWN) {
			unresolved++;
			unresolved_slice += r->size;
			continue;
		}
		h->reachable += r->orig;
		if (r->orig > h->largest) {
			h->largest = r->orig;
			h->largest_addr = r->bin;
		}
		if (r->orig >= MIN_PIN_BIN && r->size * PIN_RATIO <= r->orig) {
			h->pin_slices++;
			h->pin_slice_bytes += r->size;
			h->pin_bytes += r->orig - r->size;
			if (r->orig > h->pin_bin_max)
				h->pin_bin_max = r->orig;
		}
	}
	/* Binaries the dump does not contain: share out what BinVHeap says is left. */
	if (unresolved && h->vheap > h->reachable) {
		uint64_t each = (h->vheap - h->reachable) / unresolved;
		uint64_t slice = unresolved_slice / unresolved;
		if (each >= MIN_PIN_BIN && slice * PIN_RATIO <= each) {
			h->pin_slices += unresolved;
			h->pin_slice_bytes += unresolved_slice;
			h->pin_bytes += each * unresolved - unresolved_slice;
			if (each > h->pin_bin_max)
				h->pin_bin_max = each;
			h->pin_estimated = 1;
		}
	}
}

static double size_score(uint64_t bytes, double base)
{
	double s = base + 6 * log10((double)(bytes ? bytes : 1) / (double)PIN_MIN);
	return s > 85 ? 85 : s;
}

static void pinning(an_ctx *c, holder *h)
{
	uint64_t binmem = an_val(bd_model_memory(c->m)->binary);
	int big = binmem && h->pin_bytes * 4 >= binmem;
	an_finding *f = an_new(c, BD_F_BINARY_PINNING, big ? BD_SEV_CRITICAL : BD_SEV_WARNING,
			       size_score(h->pin_bytes, big ? 60 : 45));
	if (!f)
		return;
	an_subject_proc(c, f, h->p);
	uint64_t slice = h->pin_slice_bytes / (h->pin_slices ? h->pin_slices : 1);
	an_title(c, f, "%s: %s slices of ~%s keep %s binaries of %s%s alive (%s%s)",
		 an_proc_label(c, h->p), an_count(c, h->pin_slices), an_bytes(c, slice),
		 an_count(c, h->pin_slices), h->pin_estimated ? "~" : "", an_bytes(c, h->pin_bin_max),
		 h->pin_estimated ? "~" : "", an_bytes(c, h->pin_bytes));
	an_ev_count(c, f, "slices", h->pin_slices);
	an_ev_bytes(c, f, "slice_bytes", slice);
	an_ev_bytes(c, f, "binary_bytes", h->pin_bin_max);
	an_ev_bytes(c, f, "pinned_bytes", h->pin_bytes);
	an_ev_bytes(c, f, "refc_bytes_vheap", h->vheap);
	if (binmem)
		an_ev_pct(c, f, "share_of_binary_memory", 100.0 * (double)h->pin_bytes / (double)binmem);
	an_ev_str(c, f, "basis", "%s", h->pin_estimated
		  ? "estimate: BinVHeap minus dumped binaries (the dump omits the pinned binaries)"
		  : "exact: heap slices and =binary sizes");
	an_advice(c, f, "A %s slice keeps a %s binary alive: copy it with binary:copy/1 before "
		  "storing it", an_bytes(c, slice), an_bytes(c, h->pin_bin_max));
}

/* The largest distinct binaries a holder references, with reconstructed refcounts
 * (processes among those scanned that reference each). */
static void top_binaries(an_ctx *c, an_finding *f, const holder *h, const rc_tab *rc)
{
	const bref *top[3] = {NULL, NULL, NULL};
	for (size_t i = 0; i < h->nrefs; i++) {
		const bref *r = &h->refs[i];
		if (r->orig == BD_UNKNOWN || (i && h->refs[i - 1].bin == r->bin))
			continue;
		for (int k = 0; k < 3; k++)
			if (!top[k] || r->orig > top[k]->orig) {
				for (int j = 2; j > k; j--)
					top[j] = top[j - 1];
				top[k] = r;
				break;
			}
	}
	for (int k = 0; k < 3 && top[k]; k++)
		an_detail(c, f, "binary %llX: %s, referenced by %s scanned process(es)",
			  (unsigned long long)top[k]->bin, an_bytes(c, top[k]->orig),
			  an_count(c, rc_get(rc, top[k]->bin)));
}

static void leak(an_ctx *c, holder *h, const rc_tab *rc)
{
	uint64_t binmem = an_val(bd_model_memory(c->m)->binary);
	uint64_t held = h->vheap > h->reachable ? h->vheap : h->reachable;
	int big = binmem && held * 2 >= binmem;
	an_finding *f = an_new(c, BD_F_BINARY_LEAK, big ? BD_SEV_CRITICAL : BD_SEV_WARNING,
			       size_score(held, big ? 55 : 40));
	if (!f)
		return;
	an_subject_proc(c, f, h->p);
	an_ev_bytes(c, f, "refc_bytes_vheap", h->vheap);
	if (h->nrefs) {
		an_ev_bytes(c, f, "refc_bytes_reachable", h->reachable);
		an_ev_count(c, f, "binaries", h->nbins);
		an_ev_bytes(c, f, "largest_binary_bytes", h->largest);
		uint64_t refc = rc_get(rc, h->largest_addr);
		if (refc)
			an_ev_count(c, f, "largest_binary_holders", refc);
	}
	if (binmem)
		an_ev_pct(c, f, "share_of_binary_memory", 100.0 * (double)held / (double)binmem);
	top_binaries(c, f, h, rc);
	if (h->nbins)
		an_title(c, f, "%s holds %s in %s refc binaries (~%s each)", an_proc_label(c, h->p),
			 an_bytes(c, held), an_count(c, h->nbins), an_bytes(c, held / h->nbins));
	else
		an_title(c, f, "%s holds %s of refc binaries (BinVHeap)", an_proc_label(c, h->p),
			 an_bytes(c, held));
	if (h->nrefs && h->reachable * 2 < h->vheap)
		an_advice(c, f, "Most of it is garbage its GC has not collected yet: hibernate the "
			  "process or garbage_collect it periodically, or stop passing binaries through it");
	else
		an_advice(c, f, "It keeps these binaries on purpose (a cache or buffer without "
			  "eviction?): bound it, evict old entries, or store them elsewhere");
}

typedef struct cand {
	uint64_t vheap;
	size_t idx;
} cand;

static int cmp_cand(const void *a, const void *b)
{
	const cand *x = a, *y = b;
	return x->vheap < y->vheap ? 1 : x->vheap > y->vheap ? -1 : 0;
}

/* The k largest to the front, largest first; a selection when k is small against n
 * (dumps can have millions of processes). */
static void top_k(cand *cs, size_t n, size_t k)
{
	if (k * 8 >= n) {
		if (n)
			qsort(cs, n, sizeof *cs, cmp_cand);
		return;
	}
	for (size_t i = 0; i < k; i++) {
		size_t best = i;
		for (size_t j = i + 1; j < n; j++)
			if (cs[j].vheap > cs[best].vheap)
				best = j;
		cand t = cs[i];
		cs[i] = cs[best];
		cs[best] = t;
	}
}

void an_binaries(an_ctx *c)
{
	int all = bd_model_node(c->m)->input_size < c->o.exhaustive_size;
	size_t deep = all ? c->nprocs : c->o.deep_procs;
	if (deep > c->nprocs)
		deep = c->nprocs;
	cand *cs = malloc((c->nprocs + 1) * sizeof *cs);
	holder *hs = calloc(deep + 1, sizeof *hs);
	rc_tab rc = {0};
	if (!cs || !hs)
		goto out;
	for (size_t i = 0; i < c->nprocs; i++)
		cs[i] = (cand){an_words(c, c->procs[i].bin_vheap) + an_words(c, c->procs[i].old_bin_vheap), i};
	top_k(cs, c->nprocs, deep);
	rc.cap = 1 << 16;
	rc.keys = calloc(rc.cap, sizeof *rc.keys);
	rc.vals = calloc(rc.cap, sizeof *rc.vals);
	if (!rc.keys || !rc.vals)
		rc.cap = 0;
	size_t n = 0;
	for (; n < deep; n++) {
		if (!all && cs[n].vheap < PIN_MIN)
			break;
		hs[n].p = &c->procs[cs[n].idx];
		hs[n].vheap = cs[n].vheap;
		scan_heap(c, &hs[n]);
		summarize(c, &hs[n], &rc);
	}
	for (size_t i = 0; i < n; i++) {
		holder *h = &hs[i];
		uint64_t held = h->vheap > h->reachable ? h->vheap : h->reachable;
		if (h->pin_bytes >= PIN_MIN)
			pinning(c, h);
		else if (held >= LEAK_MIN)
			leak(c, h, &rc);
	}
	for (size_t i = 0; i < n; i++)
		free(hs[i].refs);
out:
	free(cs);
	free(hs);
	free(rc.keys);
	free(rc.vals);
}
