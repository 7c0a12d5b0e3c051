/* binary_leak and binary_pinning: refc (off-heap) binaries held by processes.
 *
 * Cheap pass: BinVHeap + OldBinVHeap per process (words of refc binaries referenced
 * from its heap, garbage included). Deep pass, on the largest holders (every
 * process when the dump is small): the Yc / Ys lines of =proc_heap give each
 * reference's binary, offset and size; =binary gives the binary's full size. A
 * small slice of a big binary pins all of it. Exact where the binary is dumped;
 * where it is not (OTP <= 26 writes a Ys slice's Binary* without dumping it) the
 * pinned size is estimated from BinVHeap minus the dumped binaries.
 *
 * The same scan answers "who holds this binary" for `beamdump binaries`
 * (bd_bin_refs_build). */
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
	uint64_t unresolved; /* distinct binaries referenced but not dumped */
} holder;

/* One process referencing one binary: sorted by binary, the pairs are the
 * reconstructed refcounts (a dump has none). */
typedef struct bpair {
	uint64_t bin;
	size_t holder;      /* index into bin_scan.hs */
} bpair;

/* The heaps read: holders largest BinVHeap first, and who references what. */
typedef struct bin_scan {
	const bd_model *m;
	holder *hs;
	size_t n;
	bpair *pairs;
	size_t npairs;
	int all;            /* every process was scanned */
} bin_scan;

static int cmp_pair(const void *a, const void *b)
{
	const bpair *x = a, *y = b;
	if (x->bin != y->bin)
		return x->bin < y->bin ? -1 : 1;
	return x->holder < y->holder ? -1 : x->holder > y->holder;
}

/* First pair of binary bin, and how many there are. */
static uint64_t pairs_of(const bin_scan *s, uint64_t bin, size_t *first)
{
	size_t lo = 0, hi = s->npairs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->pairs[mid].bin < bin)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t k = lo;
	while (k < s->npairs && s->pairs[k].bin == bin)
		k++;
	*first = lo;
	return k - lo;
}

static uint64_t refcount(const bin_scan *s, uint64_t bin)
{
	size_t first;
	return bin ? pairs_of(s, bin, &first) : 0;
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

static void scan_heap(const bd_model *m, holder *h)
{
	const char *t;
	size_t len;
	if (!h->p->sec_heap.len || bd_model_span_text(m, h->p->sec_heap, &t, &len))
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
		const bd_binary *b = bd_binary_find(m, r->bin);
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
static void summarize(holder *h)
{
	uint64_t unresolved = 0, unresolved_slice = 0;
	if (h->nrefs)
		qsort(h->refs, h->nrefs, sizeof *h->refs, cmp_bref);
	for (size_t i = 0; i < h->nrefs; i++) {
		bref *r = &h->refs[i];
		if (i && h->refs[i - 1].bin == r->bin)
			continue;
		h->nbins++;
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
	h->unresolved = unresolved;
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
static void top_binaries(an_ctx *c, an_finding *f, const holder *h, const bin_scan *s)
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
			  an_count(c, refcount(s, top[k]->bin)));
}

static void leak(an_ctx *c, holder *h, const bin_scan *s)
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
		uint64_t refc = refcount(s, h->largest_addr);
		if (refc)
			an_ev_count(c, f, "largest_binary_holders", refc);
	}
	if (binmem)
		an_ev_pct(c, f, "share_of_binary_memory", 100.0 * (double)held / (double)binmem);
	top_binaries(c, f, h, s);
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

/* Pairs from every holder's distinct references (summarize sorted them). */
static int build_pairs(bin_scan *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += s->hs[i].nrefs;
	s->pairs = malloc((n + 1) * sizeof *s->pairs);
	if (!s->pairs)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		const holder *h = &s->hs[i];
		for (size_t k = 0; k < h->nrefs; k++)
			if (h->refs[k].bin && (!k || h->refs[k - 1].bin != h->refs[k].bin))
				s->pairs[s->npairs++] = (bpair){h->refs[k].bin, i};
	}
	if (s->npairs)
		qsort(s->pairs, s->npairs, sizeof *s->pairs, cmp_pair);
	return 0;
}

static void bin_scan_free(bin_scan *s)
{
	for (size_t i = 0; s->hs && i < s->n; i++)
		free(s->hs[i].refs);
	free(s->hs);
	free(s->pairs);
	memset(s, 0, sizeof *s);
}

/* Read the heaps of the largest BinVHeap holders (of every process when the dump is
 * small): o->deep_procs and o->exhaustive_size, defaults applied. */
static int bin_scan_run(bin_scan *s, const bd_model *m, const bd_analyze_opts *o)
{
	size_t nprocs;
	const bd_proc *procs = bd_model_procs(m, &nprocs);
	uint64_t ws = bd_model_node(m)->word_size ? (uint64_t)bd_model_node(m)->word_size : 8;
	memset(s, 0, sizeof *s);
	s->m = m;
	s->all = bd_model_node(m)->input_size < o->exhaustive_size;
	size_t deep = s->all ? nprocs : o->deep_procs;
	if (deep > nprocs)
		deep = nprocs;
	cand *cs = malloc((nprocs + 1) * sizeof *cs);
	s->hs = calloc(deep + 1, sizeof *s->hs);
	if (!cs || !s->hs) {
		free(cs);
		bin_scan_free(s);
		return -1;
	}
	for (size_t i = 0; i < nprocs; i++) {
		uint64_t words = an_val(procs[i].bin_vheap) + an_val(procs[i].old_bin_vheap);
		cs[i] = (cand){words * ws, i};
	}
	top_k(cs, nprocs, deep);
	for (; s->n < deep; s->n++) {
		if (!s->all && cs[s->n].vheap < PIN_MIN)
			break;
		holder *h = &s->hs[s->n];
		h->p = &procs[cs[s->n].idx];
		h->vheap = cs[s->n].vheap;
		scan_heap(m, h);
		summarize(h);
	}
	free(cs);
	if (build_pairs(s)) {
		bin_scan_free(s);
		return -1;
	}
	return 0;
}

void an_binaries(an_ctx *c)
{
	bin_scan s;
	if (bin_scan_run(&s, c->m, &c->o))
		return;
	for (size_t i = 0; i < s.n; i++) {
		holder *h = &s.hs[i];
		uint64_t held = h->vheap > h->reachable ? h->vheap : h->reachable;
		if (h->pin_bytes >= PIN_MIN)
			pinning(c, h);
		else if (held >= LEAK_MIN)
			leak(c, h, &s);
	}
	bin_scan_free(&s);
}

/* ---- bd_bin_refs: the scan as a library answer ---- */
struct bd_bin_refs_priv {
	bin_scan s;
	bd_bin_missing *missing;
};

static int cmp_missing(const void *a, const void *b)
{
	const bd_bin_missing *x = a, *y = b;
	return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

/* Distinct binaries referenced and not dumped; the holders that reference them. */
static int count_missing(bd_bin_refs *r)
{
	bin_scan *s = &r->priv->s;
	for (size_t i = 0; i < s->npairs; i++)
		if ((!i || s->pairs[i - 1].bin != s->pairs[i].bin) &&
		    !bd_binary_find(s->m, s->pairs[i].bin))
			r->missing++;
	bd_bin_missing *ms = calloc(s->n + 1, sizeof *ms);
	if (!ms)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++) {
		const holder *h = &s->hs[i];
		if (!h->unresolved)
			continue;
		uint64_t est = h->vheap > h->reachable ? h->vheap - h->reachable : 0;
		ms[n++] = (bd_bin_missing){h->p, h->unresolved, est};
		r->missing_bytes += est;
	}
	if (n)
		qsort(ms, n, sizeof *ms, cmp_missing);
	r->priv->missing = ms;
	r->missing_holders = ms;
	r->nmissing_holders = n;
	return 0;
}

int bd_bin_refs_build(bd_bin_refs **out, const bd_model *m, const bd_analyze_opts *o,
		      bd_error *err)
{
	bd_analyze_opts opts = BD_ANALYZE_OPTS_INIT;
	*out = NULL;
	if (o)
		opts = *o;
	if (opts.version != BD_ANALYZE_OPTS_VERSION)
		return bd_error_set(err, BD_EUSAGE, 0,
				    "bd_bin_refs_build: options version %u, expected %u", opts.version,
				    BD_ANALYZE_OPTS_VERSION);
	an_opts_defaults(&opts);
	bd_bin_refs *r = calloc(1, sizeof *r);
	struct bd_bin_refs_priv *priv = r ? calloc(1, sizeof *priv) : NULL;
	if (!priv) {
		free(r);
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	}
	r->priv = priv;
	if (bin_scan_run(&priv->s, m, &opts) || count_missing(r)) {
		bd_bin_refs_free(r);
		return bd_error_set(err, BD_ENOMEM, 0,
				    "out of memory while reading binary references");
	}
	size_t nprocs;
	bd_model_procs(m, &nprocs);
	r->scanned = priv->s.n;
	r->complete = priv->s.n == nprocs;
	*out = r;
	return 0;
}

uint64_t bd_bin_refs_holders(const bd_bin_refs *r, uint64_t addr, const bd_proc **procs,
			     size_t cap)
{
	if (!r || !addr)
		return 0;
	const bin_scan *s = &r->priv->s;
	size_t first;
	uint64_t n = pairs_of(s, addr, &first);
	for (size_t k = 0; procs && k < n && k < cap; k++)
		procs[k] = s->hs[s->pairs[first + k].holder].p;
	return n;
}

void bd_bin_refs_free(bd_bin_refs *r)
{
	if (!r)
		return;
	if (r->priv) {
		bin_scan_free(&r->priv->s);
		free(r->priv->missing);
		free(r->priv);
	}
	free(r);
}
