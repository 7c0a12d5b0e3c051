/* postponed_events: a gen_statem that postpones events in a state it never leaves.
 *
 * An event postponed ({postpone, true}, [postpone]) is kept in the gen_statem's own
 * #state{} record and retried only after the next state change. A state that is
 * never left (connecting to a peer that never answers) keeps every event it
 * postpones: the mailbox stays short, the heap (and the binaries the events carry)
 * grows, and no queue finding sees it. The dump has the record on the stack of a
 * gen_statem idle in gen_statem:loop_receive/3:
 * {state, {StateName, Data}, Postponed, Timers, Hibernate} (OTP 20+; the list is the
 * third element).
 *
 * Exact: the count while the decoder's budget lasts ("at least" beyond it), the
 * state name, the events' shape. */
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

enum {
	MIN_MEMORY = 1 << 20,   /* candidates: processes of at least 1 MB */
	MIN_POSTPONED = 1000,
	MAX_CANDIDATES = 8,
	MAX_LIST = 1 << 26,
};

static int has_prefix(const char *s, const char *p)
{
	return s && !strncmp(s, p, strlen(p));
}

/* Length of a list; *cut when the decoded list stops early (budget, cut dump). */
static uint64_t list_len(const bd_term *l, int *cut)
{
	uint64_t n = 0;
	*cut = 0;
	/* decoded terms may share nodes: a forged heap can make a list its own tail */
	while (l && l->kind == BD_T_CONS && n < MAX_LIST) {
		n++;
		l = l->u.elems[1];
	}
	*cut = l && l->kind != BD_T_NIL;
	return n;
}

/* The heap and binary findings of the same process explain the same memory: they
 * become context, their advice (a cache? a bigger heap?) does not fit. */
static void fold(an_ctx *c, const bd_proc *p)
{
	for (size_t i = 0; i < c->nf; i++) {
		an_finding *f = c->f[i];
		if (f->subj_proc != p || (f->pub.kind != BD_F_BINARY_LEAK && f->pub.kind != BD_F_MEMORY_HOG))
			continue;
		f->pub.severity = BD_SEV_INFO;
		f->pub.score = 4;
		f->pub.advice = "This memory is held by the events the gen_statem postponed "
				"(see postponed_events)";
	}
}

static void report(an_ctx *c, const bd_proc *p, const bd_term *rec, uint64_t n, int cut)
{
	uint64_t total = an_val(bd_model_memory(c->m)->total);
	uint64_t mem = an_val(p->memory) + an_words(c, an_val(p->bin_vheap) + an_val(p->old_bin_vheap));
	int crit = total && mem * 100 >= total * 40;
	an_finding *f = an_new(c, BD_F_POSTPONED_EVENTS, crit ? BD_SEV_CRITICAL : BD_SEV_WARNING,
			       crit ? 88 : 62);
	if (!f)
		return;
	an_subject_proc(c, f, p);
	const bd_term *sd = bd_term_elem(rec, 1);
	const bd_term *state = bd_term_elem(sd, 0);
	const bd_term *list = bd_term_elem(rec, 2);
	char st[120] = "?", ev[160] = "";
	if (state)
		bd_term_fmt(state, st, sizeof st, 2, 3);
	if (list && list->kind == BD_T_CONS)
		bd_term_fmt(list->u.elems[0], ev, sizeof ev, 3, 4);
	an_ev_count(c, f, "postponed", n);
	if (cut)
		an_ev_str(c, f, "postponed_count", "at least (the decoder stopped before the end)");
	an_ev_str(c, f, "state", "%s", st);
	if (ev[0])
		an_ev_str(c, f, "latest_event", "%s", ev);
	an_ev_bytes(c, f, "memory_bytes", p->memory);
	uint64_t bins = an_words(c, an_val(p->bin_vheap) + an_val(p->old_bin_vheap));
	if (bins)
		an_ev_bytes(c, f, "refc_binary_bytes", bins);
	if (total)
		an_ev_pct(c, f, "share_of_memory", an_shown_pct(mem < total ? mem : total, total));
	an_ev_count(c, f, "message_queue_len", p->msgq_len);
	an_title(c, f, "%s (gen_statem in state %s) has postponed %s%s events%s%s that it keeps until "
		 "it leaves that state; the process holds %s", an_proc_label(c, p), st, cut ? "at least " : "",
		 an_count(c, n), ev[0] ? " such as " : "", ev, an_bytes(c, mem));
	an_advice(c, f, "A postponed event is retried only after a state change, so a state that is "
		  "never left keeps all of them (in the gen_statem's state, not its mailbox). Bound "
		  "what the state postpones (drop, or reply with an error while %s), give the state a "
		  "state_timeout that moves on, or buffer explicitly with a limit", st);
	fold(c, p);
}

/* The #state{} record on the stack of a gen_statem. A postponed list longer than
 * the decoder's budget is counted as "at least" (a larger budget costs seconds and
 * hundreds of MB on a list of 200 000 events). */
static const bd_term *statem_record(an_ctx *c, const bd_proc *p)
{
	bd_heap *h = an_heap(c, p);
	bd_error err = {0};
	bd_frame *fr;
	size_t nf;
	if (!h || bd_heap_stack(h, &fr, &nf, &err))
		return NULL;
	for (size_t i = 0; i < nf && i < 8; i++) {
		if (!has_prefix(fr[i].mfa, "gen_statem:"))
			continue;
		for (uint32_t k = 0; k < fr[i].nslots; k++) {
			const bd_term *t = fr[i].slots[k].term;
			const bd_term *sd = bd_term_elem(t, 1);
			if (t && t->kind == BD_T_TUPLE && t->n >= 3 && bd_term_is_atom(bd_term_elem(t, 0), "state") &&
			    sd && sd->kind == BD_T_TUPLE && sd->n == 2)
				return t;
		}
	}
	return NULL;
}

void an_statem(an_ctx *c)
{
	/* the largest gen_statems only: each costs decoding its stack */
	const bd_proc *top[MAX_CANDIDATES] = {0};
	for (size_t i = 0; i < c->nprocs; i++) {
		const bd_proc *p = &c->procs[i];
		uint64_t m = an_val(p->memory);
		if (m < MIN_MEMORY || !has_prefix(p->pc_mfa, "gen_statem:"))
			continue;
		for (size_t k = 0; k < MAX_CANDIDATES; k++)
			if (!top[k] || m > an_val(top[k]->memory)) {
				memmove(&top[k + 1], &top[k], (MAX_CANDIDATES - k - 1) * sizeof *top);
				top[k] = p;
				break;
			}
	}
	for (size_t i = 0; i < MAX_CANDIDATES && top[i]; i++) {
		const bd_proc *p = top[i];
		const bd_term *rec = statem_record(c, p);
		int cut;
		uint64_t n = rec ? list_len(bd_term_elem(rec, 2), &cut) : 0;
		if (n >= MIN_POSTPONED)
			report(c, p, rec, n, cut);
	}
}
