/* memory_fragmentation: carriers the allocators hold against the blocks in use
 * (recon_alloc:fragmentation/1 arithmetic over =allocator sections, current values).
 * The weight of an instance is (1 - usage) * carrier bytes: the memory that a
 * compaction could give back; the finding names the allocator type with the most of
 * it. */
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

#define FRAG_MIN_UNUSED ((uint64_t)64 << 20)
#define FRAG_CRIT_UNUSED ((uint64_t)512 << 20)

/* Worst row by weight among rows of one kind (per type: instance < 0). */
static const bd_alloc_sum *worst_row(const bd_alloc_sum *rows, size_t n, int per_type)
{
	const bd_alloc_sum *w = NULL;
	uint64_t best = 0;
	for (size_t i = 0; i < n; i++) {
		const bd_alloc_sum *r = &rows[i];
		if ((r->instance < 0) != per_type || !r->alloc)
			continue;
		uint64_t unused = r->allocated > r->used ? r->allocated - r->used : 0;
		if (unused > best) {
			best = unused;
			w = r;
		}
	}
	return w;
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 100;
}

void an_fragmentation(an_ctx *c)
{
	bd_alloc_sum *rows;
	size_t n;
	if (bd_alloc_summarize(c->m, 1, &rows, &n))
		return;
	uint64_t used = 0, alloc = 0;
	for (size_t i = 0; i < n; i++)
		if (rows[i].instance < 0) {
			used += rows[i].used;
			alloc += rows[i].allocated;
		}
	/* One allocator type that keeps far more carriers than it uses. */
	const bd_alloc_sum *t = worst_row(rows, n, 1);
	uint64_t unused = t && t->allocated > t->used ? t->allocated - t->used : 0;
	double usage = t ? pct(t->used, t->allocated) : 100;
	if (!t || unused < FRAG_MIN_UNUSED || usage > 50) {
		free(rows);
		return;
	}
	const bd_alloc_sum *inst = worst_row(rows, n, 0);
	int crit = unused >= FRAG_CRIT_UNUSED && usage <= 30;
	an_finding *f = an_new(c, BD_F_MEMORY_FRAGMENTATION, crit ? BD_SEV_CRITICAL : BD_SEV_WARNING,
			       crit ? 60 : 42);
	if (!f) {
		free(rows);
		return;
	}
	an_subject_named(c, f, "allocator", t->alloc);
	an_ev_bytes(c, f, "carriers_bytes", t->allocated);
	an_ev_bytes(c, f, "blocks_bytes", t->used);
	an_ev_bytes(c, f, "unused_bytes", unused);
	an_ev_pct(c, f, "usage", usage);
	an_ev_bytes(c, f, "mbcs_carriers_bytes", t->mbcs_allocated);
	an_ev_bytes(c, f, "sbcs_carriers_bytes", t->sbcs_allocated);
	an_ev_bytes(c, f, "all_carriers_bytes", alloc);
	an_ev_pct(c, f, "all_usage", pct(used, alloc));
	if (inst && inst->alloc == t->alloc) {
		an_ev_str(c, f, "worst_instance", "%s[%d]", inst->alloc, inst->instance);
		an_ev_pct(c, f, "worst_instance_usage", pct(inst->used, inst->allocated));
	}
	for (size_t i = 0, k = 0; i < n && k < 5; i++)
		if (rows[i].instance < 0 && rows[i].allocated) {
			an_detail(c, f, "%-16s carriers %s, blocks %s (%.0f %% used)", rows[i].alloc,
				  an_bytes(c, rows[i].allocated), an_bytes(c, rows[i].used),
				  pct(rows[i].used, rows[i].allocated));
			k++;
		}
	an_title(c, f, "%s holds %s of carriers for %s of blocks (%.0f %% used): %s could be "
		 "returned", t->alloc, an_bytes(c, t->allocated), an_bytes(c, t->used), usage,
		 an_bytes(c, unused));
	an_advice(c, f, "Long-lived blocks scattered over many carriers keep them alive: check "
		  "carrier settings for %s (+M<x>as aoffcbf, +M<x>acul for migration), or "
		  "separate long-lived from short-lived data", t->alloc);
	free(rows);
}
