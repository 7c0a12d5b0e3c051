/* ets_growth: the largest ETS tables by memory, with their owner and its role. The
 * dump has per-table summaries only (objects, words), never the objects. */
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

#define ETS_BIG ((uint64_t)64 << 20)
#define ETS_MIN ((uint64_t)8 << 20)
enum { ETS_MAX_FINDINGS = 2 };

static int cmp_words(const void *a, const void *b)
{
	const bd_ets *x = *(const bd_ets *const *)a, *y = *(const bd_ets *const *)b;
	uint64_t u = an_val(x->words), v = an_val(y->words);
	return u < v ? 1 : u > v ? -1 : 0;
}

static void one(an_ctx *c, const bd_ets *t, const bd_ets *const *all, size_t n, size_t rank)
{
	const bd_memory *mem = bd_model_memory(c->m);
	uint64_t bytes = an_words(c, t->words);
	uint64_t total = an_val(mem->total), ets = an_val(mem->ets);
	double share = total ? 100.0 * (double)bytes / (double)total : 0;
	/* A big table that is a small part of the node is a cache doing its job, as far
	 * as one dump can tell: context only. */
	bd_severity sev = share >= 50 ? BD_SEV_CRITICAL : share >= 25 ? BD_SEV_WARNING : BD_SEV_INFO;
	double score = sev == BD_SEV_INFO ? 3 : (sev == BD_SEV_CRITICAL ? 70 : 48) + share / 10 - (double)rank;
	an_finding *f = an_new(c, BD_F_ETS_GROWTH, sev, score);
	if (!f)
		return;
	const bd_proc *owner = bd_proc_by_pid(c->m, t->owner);
	if (owner)
		an_subject_proc(c, f, owner);
	else
		an_subject_named(c, f, "ets", t->name);
	const char *name = t->name ? t->name : t->table;
	an_title(c, f, "ETS table %s (owner %s) holds %s objects, %s (%.0f %% of node memory)",
		 name ? name : "?", owner ? an_proc_label(c, owner) : an_pid_str(c, t->owner),
		 an_count(c, t->objects), an_bytes(c, bytes), share);
	an_ev_str(c, f, "table", "%s", name ? name : "?");
	an_ev_count(c, f, "objects", t->objects);
	an_ev_bytes(c, f, "table_bytes", bytes);
	an_ev_pct(c, f, "share_of_memory", share);
	if (ets)
		an_ev_pct(c, f, "share_of_ets", 100.0 * (double)bytes / (double)ets);
	if (t->type)
		an_ev_str(c, f, "type", "%s", t->type);
	if (t->protection)
		an_ev_str(c, f, "protection", "%s", t->protection);
	if (an_val(t->objects))
		an_ev_bytes(c, f, "bytes_per_object", bytes / t->objects);
	if (owner) {
		const char *role = an_initial_call(c, owner);
		if (role)
			an_ev_str(c, f, "owner_role", "%s", role);
	}
	for (size_t i = 0; i < n && i < 5; i++)
		if (all[i] != t)
			an_detail(c, f, "next: %s %s objects, %s", all[i]->name ? all[i]->name : "?",
				  an_count(c, all[i]->objects), an_bytes(c, an_words(c, all[i]->words)));
	an_advice(c, f, "Entries are inserted and never deleted%s: add expiry (a sweeper with "
		  "ets:select_delete/2) or bound the table",
		  t->protection && !strcmp(t->protection, "public") ? " (public: any process writes)" : "");
}

void an_ets(an_ctx *c)
{
	size_t n;
	const bd_ets *t = bd_model_ets(c->m, &n);
	if (!n)
		return;
	const bd_ets **all = malloc(n * sizeof *all);
	if (!all)
		return;
	for (size_t i = 0; i < n; i++)
		all[i] = &t[i];
	if (n)
		qsort(all, n, sizeof *all, cmp_words);
	uint64_t total = an_val(bd_model_memory(c->m)->total);
	for (size_t i = 0; i < n && i < ETS_MAX_FINDINGS; i++) {
		uint64_t bytes = an_words(c, all[i]->words);
		if (bytes >= ETS_BIG || (bytes >= ETS_MIN && total && bytes * 4 >= total))
			one(c, all[i], all, n, i);
	}
	free(all);
}
