/* memory_hog: one process holds most of the node's memory while nothing has failed
 * yet (a gen_server whose state grew without bound). The share is of
 * erlang:memory(total); the state is read from the stack (bd_gen_state_read) and
 * its largest part named: "the state's rows: a map of 150,000 entries".
 *
 * Not reported for a process whose memory is its mailbox (mailbox_overload says
 * it) or for the process an out-of-memory slogan already blames (heap_oom). */
#include <stdio.h>
#include <string.h>

#include "an_int.h"

#define HOG_MIN ((uint64_t)16 << 20) /* below this, no single process is a hog */
enum { HOG_SHARE_PCT = 40, HOG_CRIT_PCT = 75, HOG_FREE_PCT = 75, MB_QUEUE = 1000 };

/* Elements of a collection term: map pairs, tuple arity, list length (bounded). */
static uint64_t elements(const bd_term *t, const char **what)
{
	if (!t)
		return 0;
	switch (t->kind) {
	case BD_T_MAP:
		*what = "a map of";
		return t->n;
	case BD_T_TUPLE:
		*what = "a tuple of";
		return t->n;
	case BD_T_CONS: {
		/* Counted while decoded: a list cut by the decoder's budget is "at least". */
		uint64_t n = 0;
		while (t && t->kind == BD_T_CONS && n < ((uint64_t)1 << 32)) {
			n++;
			t = t->u.elems[1];
		}
		*what = t && t->kind == BD_T_NIL ? "a list of" : "a list of at least";
		return n;
	}
	case BD_T_BINARY:
		*what = "a binary of";
		return t->u.bin.size;
	default:
		return 0;
	}
}

/* The largest hash map on p's heap, from its head line "ADDR:Mh<size>:<n>:...":
 * the size is exact even when the decoder's budget stops before the last entry. */
static uint64_t largest_hashmap(an_ctx *c, const bd_proc *p)
{
	const char *t;
	size_t len;
	uint64_t best = 0;
	if (!p->sec_heap.len || bd_model_span_text(c->m, p->sec_heap, &t, &len))
		return 0;
	const char *end = t + len;
	for (const char *q = t; q < end && (q = memchr(q, ':', (size_t)(end - q))); q++) {
		if (end - q < 4 || q[1] != 'M' || q[2] != 'h')
			continue;
		uint64_t v = 0;
		const char *d = q + 3;
		for (; d < end && ((*d >= '0' && *d <= '9') || (*d >= 'A' && *d <= 'F')) && v >> 56 == 0;
		     d++)
			v = v * 16 + (uint64_t)(*d <= '9' ? *d - '0' : *d - 'A' + 10);
		if (d < end && *d == ':' && v > best)
			best = v;
	}
	return best;
}

/* The state's largest field: a map key or record position holding a collection.
 * A hash map the decoder could not finish (its budget is bounded) takes its size
 * from the heap's largest map head when it is the only big map of the state. */
static void largest_part(an_ctx *c, an_finding *f, const bd_proc *p, const bd_term *st)
{
	const char *what = NULL, *w;
	const bd_term *best = NULL, *best_key = NULL;
	uint64_t most = 0, big_maps = 0;
	int pos = -1;
	uint32_t n = st && (st->kind == BD_T_MAP || st->kind == BD_T_TUPLE) ? st->n : 0;
	for (uint32_t i = 0; i < n; i++) {
		const bd_term *v = st->kind == BD_T_MAP ? st->u.elems[2 * i + 1] : st->u.elems[i];
		uint64_t e = elements(v, &w);
		big_maps += v && v->kind == BD_T_MAP && v->n > 32;
		if (e > most) {
			most = e;
			best = v;
			best_key = st->kind == BD_T_MAP ? st->u.elems[2 * i] : NULL;
			pos = (int)i + 1;
			what = w;
		}
	}
	uint64_t whole = elements(st, &w);
	if (!best || most < whole) {
		/* The state itself is the collection (an Agent's map, a list). */
		if (st && st->kind == BD_T_MAP && st->n > 32) {
			uint64_t head = largest_hashmap(c, p);
			whole = head > whole ? head : whole;
		}
		if (whole >= 1000)
			an_ev_str(c, f, "largest_part", "(the whole state): %s %s %s", w,
				  an_count(c, whole), st->kind == BD_T_MAP ? "entries"
				  : st->kind == BD_T_BINARY ? "bytes" : "elements");
		return;
	}
	if (best->kind == BD_T_MAP && big_maps == 1) {
		uint64_t head = largest_hashmap(c, p);
		if (head > most)
			most = head;
	}
	char key[80] = "";
	if (best_key)
		bd_term_fmt(best_key, key, sizeof key, 2, 3);
	else
		snprintf(key, sizeof key, "element %d", pos);
	an_ev_str(c, f, "largest_part", "%s: %s %s %s", key, what, an_count(c, most),
		  best->kind == BD_T_MAP ? "entries" : best->kind == BD_T_BINARY ? "bytes" : "elements");
}

static void describe_state(an_ctx *c, an_finding *f, const bd_proc *p)
{
	bd_heap *h = an_heap(c, p);
	bd_gen_state gs;
	bd_error err = {0};
	if (!h || bd_gen_state_read(h, c->m, p, &gs, &err))
		return;
	an_ev_str(c, f, "behaviour", "%s", gs.behaviour);
	if (gs.module[0])
		an_ev_str(c, f, "module", "%s", gs.module);
	char buf[240];
	bd_term_fmt(gs.state, buf, sizeof buf, 2, 4);
	an_ev_str(c, f, "state", "%s", buf);
	largest_part(c, f, p, gs.state);
}

/* A process dictionary used as a store (put/2 per session, per request, never
 * erased): its entries, and an example key with its shape. Returns the count when it
 * is large (>= 1 000 entries), else 0. */
static uint64_t dictionary(an_ctx *c, an_finding *f, const bd_proc *p)
{
	const char *t;
	size_t len;
	if (!p->sec_dictionary.len || bd_model_span_text(c->m, p->sec_dictionary, &t, &len))
		return 0;
	/* one entry a line; the span may or may not end with its newline */
	uint64_t lines = len && t[len - 1] != '\n' ? 1 : 0;
	for (const char *q = t; (q = memchr(q, '\n', (size_t)(t + len - q))); q++)
		lines++;
	if (lines < 1000)
		return 0;
	bd_heap *h = an_heap(c, p);
	bd_term **keys, **vals;
	size_t n = 0;
	bd_error err = {0};
	an_ev_count(c, f, "dictionary_entries", lines);
	if (h && !bd_heap_dictionary(h, &keys, &vals, &n, &err) && n) {
		char buf[120];
		/* a key of the application's, not OTP's own ($ancestors, $initial_call) */
		for (size_t i = 0; i < n && i < 64; i++) {
			const bd_term *k = keys[i];
			if (!k || k->kind == BD_T_LIMIT || (k->kind == BD_T_ATOM && k->n && k->u.s[0] == '$'))
				continue;
			bd_term_fmt(k, buf, sizeof buf, 2, 3);
			an_ev_str(c, f, "dictionary_example_key", "%s", buf);
			break;
		}
	}
	return lines;
}

/* ETS tables p owns: their memory is the same process's doing (a cache split
 * between the state and a table). */
static uint64_t owned_ets(an_ctx *c, const bd_proc *p, uint64_t *tables)
{
	size_t n;
	const bd_ets *e = bd_model_ets(c->m, &n);
	uint64_t words = 0;
	*tables = 0;
	for (size_t i = 0; i < n; i++)
		if (bd_pid_eq(e[i].owner, p->pid)) {
			words += an_val(e[i].words);
			(*tables)++;
		}
	return an_words(c, words);
}

static int blamed_elsewhere(an_ctx *c, const bd_proc *p)
{
	for (size_t i = 0; i < c->nf; i++)
		if ((c->f[i]->pub.kind == BD_F_HEAP_OOM || c->f[i]->pub.kind == BD_F_MAILBOX_OVERLOAD) &&
		    c->f[i]->subj_proc == p)
			return 1;
	return 0;
}

static void hog(an_ctx *c, const bd_proc *p, uint64_t total)
{
	uint64_t mem = an_val(p->memory);
	double share = 100.0 * (double)mem / (double)total;
	uint64_t heap = an_words(c, an_val(p->stack_heap) + an_val(p->old_heap));
	bd_proc_ext x;
	bd_proc_ext_get(c->m, p, &x); /* the hogs only: read again from a text dump */
	uint64_t unused = an_words(c, an_val(x.heap_unused) + an_val(x.old_heap_unused));
	/* A heap mostly free is a burst it has not shrunk back from, not a state that
	 * keeps growing: a lesser problem, which the next collection may solve. */
	int bloated = heap && unused * 100 >= heap * HOG_FREE_PCT;
	bd_severity sev = share >= HOG_CRIT_PCT && !bloated ? BD_SEV_CRITICAL : BD_SEV_WARNING;
	double score = bloated ? 36 + share / 20 : (sev == BD_SEV_CRITICAL ? 66 : 54) + share / 20;
	an_finding *f = an_new(c, BD_F_MEMORY_HOG, sev, score);
	if (!f)
		return;
	an_subject_proc(c, f, p);
	an_ev_bytes(c, f, "memory_bytes", mem);
	an_ev_pct(c, f, "share_of_memory", share);
	an_ev_bytes(c, f, "node_memory_bytes", total);
	uint64_t procs = an_val(bd_model_memory(c->m)->processes);
	if (procs)
		an_ev_pct(c, f, "share_of_process_memory", 100.0 * (double)mem / (double)procs);
	an_ev_bytes(c, f, "heap_bytes", heap);
	if (heap >= unused)
		an_ev_bytes(c, f, "heap_used_bytes", heap - unused);
	an_ev_count(c, f, "message_queue_len", p->msgq_len);
	uint64_t bins = an_words(c, an_val(p->bin_vheap) + an_val(p->old_bin_vheap));
	if (bins)
		an_ev_bytes(c, f, "refc_binary_bytes", bins);
	describe_state(c, f, p);
	uint64_t dict = dictionary(c, f, p);
	if (heap)
		an_ev_pct(c, f, "heap_free_share", 100.0 * (double)unused / (double)heap);
	if (bloated) {
		an_title(c, f, "%s holds %s, %.0f %% of the node's memory (%s), in a heap that is "
			 "%.0f %% free: it grew for a burst and has not shrunk back",
			 an_proc_label(c, p), an_bytes(c, mem), share, an_bytes(c, total),
			 100.0 * (double)unused / (double)heap);
		an_advice(c, f, "The heap is sized for data the process no longer holds: it shrinks at "
			  "a later collection; call erlang:garbage_collect/1 (or hibernate) after such "
			  "bursts, or do the bulk work in a short-lived process");
		return;
	}
	uint64_t ntab, ets = owned_ets(c, p, &ntab);
	const char *ets_text = "";
	if (ets && ets * 10 >= total) {
		an_ev_bytes(c, f, "owned_ets_bytes", ets);
		an_ev_count(c, f, "owned_ets_tables", ntab);
		ets_text = bd_arena_printf(c->arena, "; it also owns %s of ETS (%.0f %% of the node's memory)",
					   an_bytes(c, ets), 100.0 * (double)ets / (double)total);
	}
	bd_evidence *part = an_ev_find(f, "largest_part");
	bd_evidence *dkey = an_ev_find(f, "dictionary_example_key");
	if (dict && !part) {
		an_title(c, f, "%s holds %s, %.0f %% of the node's memory (%s), in its process "
			 "dictionary: %s entries%s%s", an_proc_label(c, p), an_bytes(c, mem), share,
			 an_bytes(c, total), an_count(c, dict), dkey ? " such as " : "",
			 dkey ? dkey->v.s : "");
		an_advice(c, f, "The process dictionary is used as a store that only grows (put/2 "
			  "without erase/1): every entry lives on the heap and is copied at each garbage "
			  "collection. Erase entries when done (or at the end of each request), bound them, "
			  "or keep the data in ETS or in the process state with eviction");
		return;
	}
	const char *part_text = !part ? ""
		: !strncmp(part->v.s, "(the whole state): ", 19)
		? bd_arena_printf(c->arena, "; its state is %s", part->v.s + 19)
		: bd_arena_printf(c->arena, "; in its state, %s", part->v.s);
	an_title(c, f, "%s holds %s, %.0f %% of the node's memory (%s), in its heap%s%s",
		 an_proc_label(c, p), an_bytes(c, mem), share, an_bytes(c, total), part_text, ets_text);
	an_advice(c, f, "One process keeps a data set that only grows: bound it (evict, expire) or "
		  "move it to ETS, where it is shared, not copied by every garbage collection of this "
		  "process; a bigger heap also makes each GC of it slower");
}

void an_memhog(an_ctx *c)
{
	const bd_memory *mem = bd_model_memory(c->m);
	uint64_t total = an_val(mem->total);
	if (!total)
		total = an_val(mem->processes) + an_val(mem->system);
	if (!total)
		return;
	const bd_proc *best = NULL;
	for (size_t i = 0; i < c->nprocs; i++)
		if (!best || an_val(c->procs[i].memory) > an_val(best->memory))
			best = &c->procs[i];
	if (!best)
		return;
	uint64_t m = an_val(best->memory);
	/* A Memory above the node's total is a damaged number, not a hog. */
	if (m < HOG_MIN || m > total || m * 100 < total * HOG_SHARE_PCT)
		return;
	if (an_val(best->msgq_len) >= MB_QUEUE || blamed_elsewhere(c, best))
		return;
	hog(c, best, total);
}
