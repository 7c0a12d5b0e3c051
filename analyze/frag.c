/* memory_fragmentation: carriers the allocators hold against the blocks in use
 * (recon_alloc:fragmentation/1 arithmetic over =allocator sections, current values).
 * The weight of an instance is (1 - usage) * carrier bytes: the memory that a
 * compaction could give back. */
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

#define FRAG_MIN_UNUSED ((uint64_t)64 << 20)
#define FRAG_CRIT_UNUSED ((uint64_t)512 << 20)

void an_fragmentation(an_ctx *c)
{
	bd_alloc_sum *rows;
	size_t n;
	if (bd_alloc_summarize(c->m, 1, &rows, &n))
		return;
	uint64_t used = 0, alloc = 0, worst_w = 0;
	const bd_alloc_sum *worst = NULL;
	for (size_t i = 0; i < n; i++) {
		const bd_alloc_sum *r = &rows[i];
		if (r->instance < 0) {
			used += r->used;
			alloc += r->allocated;
			continue;
		}
		uint64_t w = r->allocated > r->used ? r->allocated - r->used : 0;
		if (w > worst_w) {
			worst_w = w;
			worst = r;
		}
	}
	uint64_t unused = alloc > used ? alloc - used : 0;
	double usage = alloc ? 100.0 * (double)used / (double)alloc : 100;
	if (unused < FRAG_MIN_UNUSED || usage > 60) {
		free(rows);
		return;
	}
	int crit = unused >= FRAG_CRIT_UNUSED && usage <= 30;
	an_finding *f = an_new(c, BD_F_MEMORY_FRAGMENTATION, crit ? BD_SEV_CRITICAL : BD_SEV_WARNING,
			       crit ? 60 : 42);
	if (!f) {
		free(rows);
		return;
	}
	an_subject_named(c, f, "allocator", worst ? worst->alloc : "all");
	an_ev_bytes(c, f, "carriers_bytes", alloc);
	an_ev_bytes(c, f, "blocks_bytes", used);
	an_ev_bytes(c, f, "unused_bytes", unused);
	an_ev_pct(c, f, "usage", usage);
	if (worst) {
		double wu = worst->allocated ? 100.0 * (double)worst->used / (double)worst->allocated : 100;
		an_ev_str(c, f, "worst_instance", "%s[%d]", worst->alloc, worst->instance);
		an_ev_pct(c, f, "worst_usage", wu);
		an_ev_bytes(c, f, "worst_carriers_bytes", worst->allocated);
		an_ev_bytes(c, f, "worst_mbcs_carriers_bytes", worst->mbcs_allocated);
		an_ev_bytes(c, f, "worst_sbcs_carriers_bytes", worst->sbcs_allocated);
	}
	for (size_t i = 0, k = 0; i < n && k < 5; i++)
		if (rows[i].instance < 0 && rows[i].allocated) {
			an_detail(c, f, "%-16s carriers %s, blocks %s (%.0f %% used)", rows[i].alloc,
				  an_bytes(c, rows[i].allocated), an_bytes(c, rows[i].used),
				  100.0 * (double)rows[i].used / (double)rows[i].allocated);
			k++;
		}
	an_title(c, f, "Allocators hold %s of carriers but only %s is in use (%.0f %%): %s is "
		 "fragmented", an_bytes(c, alloc), an_bytes(c, used), usage,
		 worst ? an_printf(c->arena, "%s[%d]", worst->alloc, worst->instance) : "memory");
	an_advice(c, f, "Long-lived small blocks keep carriers alive: try +M<x>as aoffcbf / "
		  "+M<x>acul (carrier migration), or allocate long-lived data apart from short-lived");
	free(rows);
}
