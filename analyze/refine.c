/* Advice that fits the case, decided across findings once every analysis has run.
 *
 * binary_leak on a process that references (almost) none of the binaries it is
 * charged with: its heap holds little, so the binaries are garbage that no
 * collection has freed yet. A large virtual binary heap (BinVHeap + BinVHeap
 * unused: the size at which binaries force a GC, min_bin_vheap_size or grown to)
 * or a large, empty heap (min_heap_size) is why: the advice is GC tuning,
 * hibernation or erlang:garbage_collect/1, not "a cache without eviction". */
#include <string.h>

#include "an_int.h"

/* The default min_bin_vheap_size, in words (erlang:system_info(min_bin_vheap_size)). */
#define DEFAULT_BIN_VHEAP 46422
#define TUNED_FACTOR 16 /* a virtual heap this many times the default was set on purpose */

static void gc_advice(an_ctx *c, an_finding *f, const bd_proc *p)
{
	bd_evidence *reach = an_ev_find(f, "refc_bytes_reachable");
	bd_evidence *vheap = an_ev_find(f, "refc_bytes_vheap");
	if (!vheap)
		return;
	uint64_t held = vheap->v.u, reachable = reach ? reach->v.u : 0;
	/* Only when the heap was read: a process without heap data proves nothing. */
	if (!p->sec_heap.len || reachable * 2 > held)
		return;
	int refs = an_ev_find(f, "binaries") != NULL;
	uint64_t ws = (uint64_t)c->word_size;
	bd_proc_ext x;
	bd_proc_ext_get(c->m, p, &x); /* one process: read again from a text dump */
	uint64_t vsz = an_val(p->bin_vheap) + an_val(x.bin_vheap_unused);
	uint64_t old_vsz = an_val(p->old_bin_vheap) + an_val(x.old_bin_vheap_unused);
	uint64_t heap = an_val(p->stack_heap) + an_val(p->old_heap);
	uint64_t free_words = an_val(x.heap_unused) + an_val(x.old_heap_unused);
	uint64_t live = heap > free_words ? heap - free_words : 0;
	int tuned_vheap = vsz >= (uint64_t)DEFAULT_BIN_VHEAP * TUNED_FACTOR;
	int empty_heap = heap >= 1u << 20 && live * 10 < heap;
	/* References to binaries the dump does not contain (OTP <= 26) also leave
	 * "reachable" low: then only tuned GC options make the garbage case. */
	if (refs && !tuned_vheap && !empty_heap)
		return;
	an_ev_bytes(c, f, "garbage_bytes_est", held > reachable ? held - reachable : 0);
	an_ev_bytes(c, f, "live_heap_bytes", live * ws);
	an_ev_bytes(c, f, "heap_bytes", heap * ws);
	an_ev_bytes(c, f, "bin_vheap_size_bytes", vsz * ws);
	if (old_vsz)
		an_ev_bytes(c, f, "old_bin_vheap_size_bytes", old_vsz * ws);
	const char *why = tuned_vheap && empty_heap
		? bd_arena_printf(c->arena, "its virtual binary heap limit is %s (min_bin_vheap_size "
				  "raised: the default is %s) and its %s heap is %.0f %% empty "
				  "(min_heap_size), so no collection is due",
				  an_bytes(c, vsz * ws), an_bytes(c, (uint64_t)DEFAULT_BIN_VHEAP * ws),
				  an_bytes(c, heap * ws), 100.0 - 100.0 * (double)live / (double)heap)
		: tuned_vheap
		? bd_arena_printf(c->arena, "its virtual binary heap limit is %s (min_bin_vheap_size "
				  "raised: the default is %s), so binaries do not trigger a collection",
				  an_bytes(c, vsz * ws), an_bytes(c, (uint64_t)DEFAULT_BIN_VHEAP * ws))
		: empty_heap
		? bd_arena_printf(c->arena, "its %s heap is %.0f %% empty (a large min_heap_size), so "
				  "no collection is due", an_bytes(c, heap * ws),
				  100.0 - 100.0 * (double)live / (double)heap)
		: an_val(p->old_bin_vheap) > an_val(p->bin_vheap)
		? "they sit in its old heap, which only a full sweep frees (fullsweep_after)"
		: "it has not been garbage collected since (it is idle)";
	an_title(c, f, "%s keeps %s of refc binaries that are garbage: its heap references %s of "
		 "them, and %s", an_proc_label(c, p), an_bytes(c, held), an_bytes(c, reachable), why);
	an_ev_str(c, f, "cause", "%s", tuned_vheap || empty_heap ? "gc_options" : "no_gc_yet");
	an_advice(c, f, "Nothing references these binaries any more; they wait for a garbage "
		  "collection that does not come: drop the tuned spawn options (min_bin_vheap_size, "
		  "min_heap_size, fullsweep_after) back to their defaults, hibernate the process when "
		  "idle, or call erlang:garbage_collect/1 after handling large binaries");
}

void an_refine(an_ctx *c)
{
	for (size_t i = 0; i < c->nf; i++) {
		an_finding *f = c->f[i];
		if (f->pub.kind == BD_F_BINARY_LEAK && f->subj_proc)
			gc_advice(c, f, f->subj_proc);
	}
}
