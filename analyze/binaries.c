/* binary_leak and binary_pinning: refc (off-heap) binaries held by processes.
 *
 * Cheap pass: BinVHeap + OldBinVHeap per process. The VM adds the whole binary's
 * size for every reference (ProcBin) a process gets, garbage included: 300,000
 * messages cut from one 4 MB receive buffer count that buffer 300,000 times. So it
 * only ranks candidates, and no figure built on it may exceed erlang:memory(binary).
 *
 * Deep pass, on the largest holders (every process when the dump is small): the Yc /
 * Ys lines of =proc_heap give each reference's binary, offset and size; =binary gives
 * the binary's full size. What a holder keeps alive is its distinct binaries (exact).
 * A binary is pinned by its slices when what the slices of every scanned holder
 * cover together leaves much of it unused: pinned = size - union of the slices.
 * Where the binary is not dumped (OTP <= 26 writes a Ys slice's Binary* without
 * dumping it) its size is estimated from BinVHeap (one reference per slice).
 *
 * The same scan answers "who holds this binary" for `beamdump binaries`
 * (bd_bin_refs_build). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

enum { PIN_RATIO = 8, MIN_PIN_BIN = 32 * 1024, MIN_PIN_WASTE = 16 * 1024 };
#define LEAK_MIN ((uint64_t)8 << 20)
#define PIN_MIN ((uint64_t)1 << 20)
#define PIN_CRIT_MIN ((uint64_t)64 << 20)

typedef struct bref {
	uint64_t bin;       /* Binary* (0 = unknown) */
	uint64_t off;       /* offset of the referenced bytes in the binary */
	uint64_t size;      /* bytes referenced */
	uint64_t orig;      /* size of the whole binary; BD_UNKNOWN if not dumped */
} bref;

typedef struct holder {
	const bd_proc *p;
	uint64_t vheap;     /* (BinVHeap + OldBinVHeap) bytes: every reference counted */
	bref *refs;
	size_t nrefs;
	uint64_t reachable; /* distinct dumped binaries' sizes */
	uint64_t per_ref;   /* the same counted once per reference, as BinVHeap counts */
	uint64_t nbins;     /* distinct binaries */
	uint64_t largest;
	uint64_t largest_addr;
	/* pinning */
	uint64_t pin_bins, pin_slices, pin_slice_bytes, pin_bytes, pin_orig, pin_covered;
	uint64_t pin_bin_max, pin_shared;
	uint64_t pin_alone;       /* pinned bytes of binaries no other scanned holder refers to */
	uint64_t exclusive;       /* bytes of dumped binaries only this holder refers to */
	int pin_estimated;
	uint64_t unresolved;      /* distinct binaries referenced but not dumped */
	uint64_t unresolved_est;  /* their estimated total size */
} holder;

/* One process referencing one binary: sorted by binary, the pairs are the
 * reconstructed refcounts (a dump has none). */
typedef struct bpair {
	uint64_t bin;
	size_t holder;      /* index into bin_scan.hs */
} bpair;

/* Bytes of one dumped binary that some scanned slice references. */
typedef struct bcover {
	uint64_t bin, covered;
} bcover;

/* The heaps read: holders largest BinVHeap first, and who references what. */
typedef struct bin_scan {
	const bd_model *m;
	holder *hs;
	size_t n;
	bpair *pairs;
	size_t npairs;
	bcover *cov;
	size_t ncov;
	uint64_t binmem;    /* erlang:memory(binary), 0 if unknown */
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

static uint64_t covered_of(const bin_scan *s, uint64_t bin)
{
	size_t lo = 0, hi = s->ncov;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->cov[mid].bin < bin)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->ncov && s->cov[lo].bin == bin ? s->cov[lo].covered : 0;
}

/* No byte figure may exceed what the node had: clamp to erlang:memory(binary). */
static uint64_t cap_binmem(const bin_scan *s, uint64_t v, int *clamped)
{
	if (s->binmem && v > s->binmem) {
		if (clamped)
			*clamped = 1;
		return s->binmem;
	}
	return v;
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
	uint64_t addr, bin, off;
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
			h->refs[n++] = (bref){kind == 'c' ? target : target | 1, off, size, BD_UNKNOWN};
			if (kind == 'c') {
				if (nl == capl) {
					capl = capl ? 2 * capl : 64;
					heapline *g = realloc(lines, capl * sizeof *g);
					if (!g)
						break;
					lines = g;
				}
				lines[nl++] = (heapline){addr, target, off};
			}
		}
		p = e + 1;
	}
	if (nl)
		qsort(lines, nl, sizeof *lines, cmp_hl);
	/* Pass 2: resolve Ys targets (low bit marks them) through the Yc lines: a slice of
	 * a ProcBin starts at the ProcBin's own offset. */
	for (size_t i = 0; i < n; i++) {
		bref *r = &h->refs[i];
		if (r->bin & 1) {
			heapline key = {r->bin & ~(uint64_t)1, 0, 0};
			heapline *hl = nl ? bsearch(&key, lines, nl, sizeof *lines, cmp_hl) : NULL;
			r->bin = hl ? hl->bin : key.addr;
			if (hl && hl->off < ((uint64_t)1 << 40))
				r->off += hl->off;
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
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->size < y->size ? -1 : x->size > y->size;
}

/* ---- coverage: the union of every scanned slice of each dumped binary ---- */
typedef struct span {
	uint64_t bin, start, end;
} span;

static int cmp_span(const void *a, const void *b)
{
	const span *x = a, *y = b;
	if (x->bin != y->bin)
		return x->bin < y->bin ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* A slice as a range inside its binary; 0 when it is not one (an OTP 27 bare BinRef
 * whose middle field is an address, not an offset). A binary the dump lacks still
 * has its slices' ranges (a Ys names the Binary* and the offset in it). */
static int ref_span(const bref *r, span *out)
{
	if (!r->bin || r->size > ((uint64_t)1 << 48))
		return 0;
	if (r->orig == BD_UNKNOWN) {
		if (r->off > ((uint64_t)1 << 40))
			return 0;
		*out = (span){r->bin, r->off, r->off + r->size};
		return 1;
	}
	if (r->off >= r->orig)
		return 0;
	uint64_t end = r->size > r->orig - r->off ? r->orig : r->off + r->size;
	*out = (span){r->bin, r->off, end};
	return 1;
}

static int build_coverage(bin_scan *s)
{
	size_t n = 0, k = 0;
	for (size_t i = 0; i < s->n; i++)
		n += s->hs[i].nrefs;
	span *sp = malloc((n + 1) * sizeof *sp);
	s->cov = malloc((n + 1) * sizeof *s->cov);
	if (!sp || !s->cov) {
		free(sp);
		return -1;
	}
	for (size_t i = 0; i < s->n; i++)
		for (size_t j = 0; j < s->hs[i].nrefs; j++)
			k += (size_t)ref_span(&s->hs[i].refs[j], &sp[k]);
	if (k)
		qsort(sp, k, sizeof *sp, cmp_span);
	for (size_t i = 0; i < k;) {
		uint64_t bin = sp[i].bin, covered = 0, lo = sp[i].start, hi = sp[i].end;
		for (; i < k && sp[i].bin == bin; i++) {
			if (sp[i].start > hi) {
				covered += hi - lo;
				lo = sp[i].start;
				hi = sp[i].end;
			} else if (sp[i].end > hi) {
				hi = sp[i].end;
			}
		}
		covered += hi - lo;
		s->cov[s->ncov++] = (bcover){bin, covered};
	}
	free(sp);
	return 0;
}

/* ---- per holder ---- */

/* Pinning sums for one binary of size orig (dumped, or estimated) that h references
 * through r[0..n). */
static void pin_binary(const bin_scan *s, holder *h, const bref *r, size_t n, uint64_t orig)
{
	uint64_t slice_bytes = 0, slices = 0;
	for (size_t k = 0; k < n; k++)
		if (r[k].size < orig) {
			slices++;
			slice_bytes += r[k].size;
		}
	uint64_t covered = covered_of(s, r->bin);
	if (covered > orig)
		covered = orig;
	uint64_t waste = orig - covered;
	if (!slices || orig < MIN_PIN_BIN || waste < MIN_PIN_WASTE)
		return;
	h->pin_bins++;
	h->pin_slices += slices;
	h->pin_slice_bytes += slice_bytes;
	h->pin_bytes += waste;
	h->pin_orig += orig;
	h->pin_covered += covered;
	if (orig > h->pin_bin_max)
		h->pin_bin_max = orig;
	if (refcount(s, r->bin) > 1)
		h->pin_shared++;
	else
		h->pin_alone += waste;
}

/* Refs of one binary: r[0..*n) (sorted by binary). */
static size_t same_bin(const holder *h, size_t i)
{
	size_t j = i;
	while (j < h->nrefs && h->refs[j].bin == h->refs[i].bin)
		j++;
	return j - i;
}

static uint64_t max_end(const bref *r, size_t n)
{
	uint64_t e = 0;
	for (size_t k = 0; k < n; k++)
		if (r[k].off + r[k].size > e && r[k].off < ((uint64_t)1 << 40))
			e = r[k].off + r[k].size;
	return e;
}

/* Dumped binaries first (exact), then those the dump lacks (OTP <= 26 Ys targets):
 * BinVHeap counts one reference per slice there (each came in its own message), so
 * what it says beyond the dumped binaries, shared by those slices, sizes one binary;
 * never less than the slices themselves reach. */
static void summarize(const bin_scan *s, holder *h)
{
	uint64_t unres_slices = 0;
	for (size_t i = 0, n; i < h->nrefs; i += n) {
		const bref *r = &h->refs[i];
		n = same_bin(h, i);
		h->nbins++;
		if (r->orig == BD_UNKNOWN) {
			h->unresolved++;
			unres_slices += n;
			continue;
		}
		h->reachable += r->orig;
		h->per_ref += r->orig * n;
		if (refcount(s, r->bin) <= 1)
			h->exclusive += r->orig;
		if (r->orig > h->largest) {
			h->largest = r->orig;
			h->largest_addr = r->bin;
		}
		pin_binary(s, h, r, n, r->orig);
	}
	if (!h->unresolved)
		return;
	uint64_t rest = h->vheap > h->per_ref ? h->vheap - h->per_ref : 0;
	uint64_t each = rest / unres_slices;
	for (size_t i = 0, n; i < h->nrefs; i += n) {
		const bref *r = &h->refs[i];
		n = same_bin(h, i);
		if (r->orig != BD_UNKNOWN)
			continue;
		uint64_t size = max_end(r, n);
		if (size < each)
			size = each;
		h->unresolved_est += size;
		uint64_t before = h->pin_bins;
		pin_binary(s, h, r, n, size);
		if (h->pin_bins != before)
			h->pin_estimated = 1;
	}
}

/* What a holder keeps alive: its distinct binaries, the estimate for those not
 * dumped, and what BinVHeap counts beyond all its references (ProcBins the heap no
 * longer reaches: garbage whose binaries may still be allocated). */
static uint64_t held_bytes(const holder *h, int *estimated)
{
	if (!h->nrefs) {
		*estimated = 1;
		return h->vheap;
	}
	uint64_t refs = h->per_ref + h->unresolved_est;
	uint64_t garbage = h->vheap > refs ? h->vheap - refs : 0;
	*estimated = h->unresolved || garbage;
	return h->reachable + h->unresolved_est + garbage;
}

static double size_score(uint64_t bytes, double base)
{
	double s = base + 6 * log10((double)(bytes ? bytes : 1) / (double)PIN_MIN);
	return s > 85 ? 85 : s;
}

/* BinVHeap as evidence: a byte figure only while it is a possible one; beyond the
 * node's binary memory, how many times over it counts (every reference). */
static void ev_vheap(an_ctx *c, an_finding *f, const bin_scan *s, const holder *h)
{
	if (!s->binmem || h->vheap <= s->binmem)
		an_ev_bytes(c, f, "refc_bytes_vheap", h->vheap);
	else
		an_ev_num(c, f, "vheap_times_binary_memory",
			  round((double)h->vheap / (double)s->binmem * 10) / 10);
}

static void pinning(an_ctx *c, holder *h, const bin_scan *s)
{
	int clamped = 0;
	uint64_t pinned = cap_binmem(s, h->pin_bytes, &clamped);
	int est = h->pin_estimated || clamped;
	uint64_t total = an_val(bd_model_memory(c->m)->total);
	/* Critical: a quarter of the binary memory and a real part of the node (a few
	 * MB of a small node's binaries are not a crisis). Warning: a tenth of the binary
	 * memory that is also 8 MB or a twentieth of the node's. Below, a reader's receive buffer with the frame it is
	 * parsing, a queue's last messages: normal on a busy node, info. */
	/* Severity counts what this process alone keeps unused: a buffer whose messages
	 * pass through several processes (a broker's reader, queue and writer) is pinned
	 * by all of them, and copying in one of them frees nothing. */
	uint64_t alone = cap_binmem(s, h->pin_alone, NULL);
	int big = s->binmem && alone * 4 >= s->binmem &&
		  (alone >= PIN_CRIT_MIN || (total && alone * 20 >= total));
	int warn = big || (s->binmem ? alone * 10 >= s->binmem &&
					       (alone >= LEAK_MIN || (total && alone * 20 >= total))
				     : alone >= LEAK_MIN);
	double cover = h->pin_orig ? 100.0 * (double)h->pin_covered / (double)h->pin_orig : 0;
	/* Slices that use most of their binaries pin little and are cheap to explain
	 * (messages cut from one receive buffer): rank them below real pinning. */
	double base = big ? 60 : cover >= 50 ? 30 : 45;
	bd_severity sev = big ? BD_SEV_CRITICAL : warn ? BD_SEV_WARNING : BD_SEV_INFO;
	an_finding *f = an_new(c, BD_F_BINARY_PINNING, sev,
			       sev == BD_SEV_INFO ? 4 : size_score(pinned, base));
	if (!f)
		return;
	an_subject_proc(c, f, h->p);
	uint64_t slice = h->pin_slice_bytes / (h->pin_slices ? h->pin_slices : 1);
	uint64_t bin = h->pin_orig / (h->pin_bins ? h->pin_bins : 1);
	const char *t = est ? "~" : "";
	if (cover >= 1)
		an_title(c, f, "%s: %s slices cover %.1f %% of %s binaries of %s%s; %s%s of them "
			 "is kept alive unused", an_proc_label(c, h->p), an_count(c, h->pin_slices),
			 cover, an_count(c, h->pin_bins), t, an_bytes(c, bin), t, an_bytes(c, pinned));
	else
		an_title(c, f, "%s: %s slice%s of ~%s keep%s %s binar%s of %s%s alive (%s%s pinned)",
			 an_proc_label(c, h->p), an_count(c, h->pin_slices),
			 h->pin_slices == 1 ? "" : "s", an_bytes(c, slice),
			 h->pin_slices == 1 ? "s" : "", an_count(c, h->pin_bins),
			 h->pin_bins == 1 ? "y" : "ies", t, an_bytes(c, bin), t, an_bytes(c, pinned));
	an_ev_count(c, f, "slices", h->pin_slices);
	an_ev_bytes(c, f, "slice_bytes", slice);
	an_ev_count(c, f, "binaries", h->pin_bins);
	an_ev_bytes(c, f, "binary_bytes", cap_binmem(s, bin, NULL));
	an_ev_pct(c, f, "covered_share", cover);
	an_ev_bytes(c, f, "pinned_bytes", pinned);
	if (h->pin_shared) {
		an_ev_count(c, f, "binaries_shared_with_other_holders", h->pin_shared);
		an_ev_bytes(c, f, "pinned_alone_bytes", alone);
	}
	if (h->pin_shared && !warn && (pinned >= LEAK_MIN || (s->binmem && pinned * 10 >= s->binmem)))
		an_ev_str(c, f, "note", "%s of the pinned binaries are also referenced by other "
			  "processes (messages passing through): this process alone keeps %s unused",
			  an_count(c, h->pin_shared), an_bytes(c, alone));
	ev_vheap(c, f, s, h);
	if (s->binmem)
		an_ev_pct(c, f, "share_of_binary_memory", 100.0 * (double)pinned / (double)s->binmem);
	an_ev_str(c, f, "basis", "%s%s%s",
		  h->pin_estimated ? "estimate: binaries not in the dump sized from BinVHeap"
				   : "exact: binary size minus the union of every scanned slice",
		  clamped ? "; clamped to erlang:memory(binary)" : "",
		  s->all ? "" : "; only the largest holders were scanned");
	if (cover >= 50)
		an_advice(c, f, "The slices use most of these binaries (messages cut from one buffer): "
			  "copying them saves only the unused %s; bound what the process keeps instead",
			  an_bytes(c, pinned));
	else
		an_advice(c, f, "A %s slice keeps a %s binary alive: copy it with binary:copy/1 before "
			  "storing it", an_bytes(c, slice), an_bytes(c, bin));
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

/* A RabbitMQ classic queue: its process_name label, or how it was started. */
static int is_rabbit_queue(an_ctx *c, const bd_proc *p)
{
	const char *l = an_proc_label(c, p), *sp = p->spawned_as;
	return (l && !strncmp(l, "rabbit_amqqueue_process", 23)) ||
	       (sp && (!strcmp(sp, "rabbit_prequeue:init/1") ||
		       !strcmp(sp, "rabbit_amqqueue_process:init/1")));
}

static void leak(an_ctx *c, holder *h, const bin_scan *s)
{
	int est = 0, clamped = 0;
	uint64_t held = cap_binmem(s, held_bytes(h, &est), &clamped);
	const char *t = est || clamped ? "~" : "";
	/* What this process alone keeps: binaries no other scanned holder refers to, the
	 * estimate for those not dumped, and garbage. Buffers shared with others (a
	 * writer sending what a queue holds) are not its doing. */
	uint64_t refs_all = h->per_ref + h->unresolved_est;
	uint64_t alone = h->nrefs ? cap_binmem(s, h->exclusive + h->unresolved_est +
					       (h->vheap > refs_all ? h->vheap - refs_all : 0), NULL)
				  : held;
	if (alone > held)
		alone = held;
	int big = s->binmem && alone * 2 >= s->binmem;
	/* A warning needs 8 MB that it alone keeps and uses: a process sending slices of
	 * a few receive buffers holds them mostly unused (that is pinning, reported as
	 * such), not a store of its own. */
	uint64_t used = alone > h->pin_alone ? alone - h->pin_alone : 0;
	/* A live capture lists every reference the process has (process_info(P, binary)),
	 * garbage not yet collected included, each with the whole binary's size even for
	 * a slice: what it alone keeps is an upper bound there (a writer sending slices
	 * of receive buffers, a busy channel between collections). A warning then needs
	 * that bound to be a tenth of the node's binary memory as well. */
	const char *src = bd_model_node(c->m)->source;
	int live_bound = src && !strcmp(src, "live") && s->binmem && used * 10 < s->binmem;
	int warn = used >= LEAK_MIN && !live_bound;
	bd_severity sev = big ? BD_SEV_CRITICAL : warn ? BD_SEV_WARNING : BD_SEV_INFO;
	an_finding *f = an_new(c, BD_F_BINARY_LEAK, sev,
			       sev == BD_SEV_INFO ? 4 : size_score(held, big ? 55 : 40));
	if (!f)
		return;
	an_subject_proc(c, f, h->p);
	an_ev_bytes(c, f, "refc_bytes_held", held);
	ev_vheap(c, f, s, h);
	if (h->nrefs) {
		an_ev_bytes(c, f, "refc_bytes_reachable", cap_binmem(s, h->reachable, NULL));
		an_ev_count(c, f, "binaries", h->nbins);
		an_ev_count(c, f, "references", h->nrefs);
		an_ev_bytes(c, f, "largest_binary_bytes", h->largest);
		uint64_t refc = refcount(s, h->largest_addr);
		if (refc)
			an_ev_count(c, f, "largest_binary_holders", refc);
	}
	if (s->binmem)
		an_ev_pct(c, f, "share_of_binary_memory", 100.0 * (double)held / (double)s->binmem);
	if (live_bound && used >= LEAK_MIN && !big)
		an_ev_str(c, f, "note", "a live capture counts every reference with its binary's "
			  "whole size, garbage and slices included: what it alone keeps (at most %s, "
			  "%.1f %% of binary memory) may be messages passing through",
			  an_bytes(c, used), 100.0 * (double)used / (double)s->binmem);
	if (h->nrefs && alone < held) {
		an_ev_bytes(c, f, "refc_bytes_alone", alone);
		if (sev == BD_SEV_INFO && alone < LEAK_MIN)
			an_ev_str(c, f, "note", "the other processes that refer to its binaries keep "
				  "them alive too (messages passing through): alone it keeps %s",
				  an_bytes(c, alone));
	}
	int hib = !h->nrefs && h->p->pc_mfa && !strcmp(h->p->pc_mfa, "erlang:hibernate/3");
	an_ev_str(c, f, "basis", "%s%s",
		  hib ? "estimate: BinVHeap; the process hibernated, and its state lives in "
			"registers a dump does not write"
		  : !h->nrefs ? "estimate: BinVHeap (every reference counts the whole binary)"
		  : est     ? "distinct binaries referenced from the heap, plus an estimate from BinVHeap "
			      "for binaries not in the dump or only referenced by garbage"
			    : "exact: distinct binaries referenced from the heap",
		  clamped ? "; clamped to erlang:memory(binary)" : "");
	top_binaries(c, f, h, s);
	if (h->nbins)
		an_title(c, f, "%s holds %s%s in %s refc binaries (~%s each)", an_proc_label(c, h->p),
			 t, an_bytes(c, held), an_count(c, h->nbins), an_bytes(c, held / h->nbins));
	else
		an_title(c, f, "%s holds %s%s of refc binaries (BinVHeap)", an_proc_label(c, h->p), t,
			 an_bytes(c, held));
	uint64_t refs = h->per_ref + h->unresolved_est;
	if (is_rabbit_queue(c, h->p))
		an_advice(c, f, "These are the bodies of the messages waiting in this RabbitMQ queue "
			  "(a classic queue keeps them in its process): they arrive faster than they "
			  "are consumed, or nothing consumes them. Add or fix consumers, bound the queue "
			  "(a max-length or message-TTL policy), or let it page bodies to disk (lazy "
			  "mode, a quorum queue or a stream)");
	else if (h->nrefs && h->vheap > refs && (h->vheap - refs) > h->reachable)
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

/* Pairs from every holder's distinct references (sorted by binary). */
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
	free(s->cov);
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
	s->binmem = an_val(bd_model_memory(m)->binary);
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
		if (h->nrefs)
			qsort(h->refs, h->nrefs, sizeof *h->refs, cmp_bref);
	}
	free(cs);
	if (build_pairs(s) || build_coverage(s)) {
		bin_scan_free(s);
		return -1;
	}
	for (size_t i = 0; i < s->n; i++)
		summarize(s, &s->hs[i]);
	return 0;
}

void an_binaries(an_ctx *c)
{
	bin_scan s;
	if (bin_scan_run(&s, c->m, &c->o))
		return;
	for (size_t i = 0; i < s.n; i++) {
		holder *h = &s.hs[i];
		int est;
		uint64_t held = cap_binmem(&s, held_bytes(h, &est), NULL);
		uint64_t pinned = cap_binmem(&s, h->pin_bytes, NULL);
		if (pinned >= PIN_MIN)
			pinning(c, h, &s);
		/* Beyond what its slices pin, a holder may keep much more in use (a backlog
		 * of messages cut from receive buffers): that is its own finding. */
		if (held >= LEAK_MIN && held - (pinned < held ? pinned : held) >= LEAK_MIN)
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
		uint64_t est = cap_binmem(s, h->unresolved_est, NULL);
		ms[n++] = (bd_bin_missing){h->p, h->unresolved, est};
		r->missing_bytes += est;
	}
	if (n)
		qsort(ms, n, sizeof *ms, cmp_missing);
	r->missing_bytes = cap_binmem(s, r->missing_bytes, NULL);
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

uint64_t bd_proc_binary_bytes(const bd_model *m, const bd_proc *p, int *clamped)
{
	int ws = bd_model_node(m)->word_size ? bd_model_node(m)->word_size : 8;
	uint64_t binmem = bd_model_memory(m)->binary;
	if (clamped)
		*clamped = 0;
	if (p->bin_vheap == BD_UNKNOWN && p->old_bin_vheap == BD_UNKNOWN)
		return BD_UNKNOWN;
	uint64_t v = (an_val(p->bin_vheap) + an_val(p->old_bin_vheap)) * (uint64_t)ws;
	if (binmem != BD_UNKNOWN && binmem && v > binmem) {
		if (clamped)
			*clamped = 1;
		v = binmem;
	}
	return v;
}
