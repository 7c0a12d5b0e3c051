/* monitor_leak: a process that keeps creating monitors and never removes them.
 *
 * A monitor lives until the monitored process exits or erlang:demonitor/1 removes
 * it. A server that monitors its caller on every request (to clean up if the caller
 * dies) and never demonitors once the request is done piles up monitors on the same
 * long-lived processes: each costs memory, and each is triggered (a 'DOWN' message)
 * when that process exits. The dump lists every monitor in the process's Link list
 * ({to,Pid,Ref}); many monitors on few targets is the sign: one process legitimately
 * monitors each of many others once.
 *
 * Exact: the monitors and their targets, from the Link list. */
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

enum {
	MIN_MONITORS = 10000,  /* monitors held by one process */
	PER_TARGET = 10,       /* average monitors per distinct target */
	CRIT_MONITORS = 1000000,
	MAX_REPORTS = 2,
};

static int cmp_pid(const void *a, const void *b)
{
	const bd_pid *x = a, *y = b;
	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->num != y->num)
		return x->num < y->num ? -1 : 1;
	return x->serial < y->serial ? -1 : x->serial > y->serial;
}

typedef struct mon_count {
	uint64_t monitors, targets, top_count;
	bd_pid top;
} mon_count;

static int count(an_ctx *c, const bd_proc *p, mon_count *mc)
{
	memset(mc, 0, sizeof *mc);
	bd_pid *t = malloc((size_t)p->link_count * sizeof *t);
	if (!t)
		return -1;
	for (uint32_t i = 0; i < p->link_count && p->link_first + i < c->nlinks; i++) {
		const bd_link *l = &c->links[p->link_first + i];
		if (l->kind == BD_MON_TO && l->target_kind == BD_TGT_PID)
			t[mc->monitors++] = l->id;
	}
	qsort(t, mc->monitors, sizeof *t, cmp_pid);
	for (uint64_t i = 0; i < mc->monitors;) {
		uint64_t j = i;
		while (j < mc->monitors && bd_pid_eq(t[j], t[i]))
			j++;
		mc->targets++;
		if (j - i > mc->top_count)
			mc->top_count = j - i, mc->top = t[i];
		i = j;
	}
	free(t);
	return 0;
}

static void report(an_ctx *c, const bd_proc *p, const mon_count *mc)
{
	int crit = mc->monitors >= CRIT_MONITORS;
	an_finding *f = an_new(c, BD_F_MONITOR_LEAK, crit ? BD_SEV_CRITICAL : BD_SEV_WARNING, crit ? 64 : 50);
	if (!f)
		return;
	an_subject_proc(c, f, p);
	an_ev_count(c, f, "monitors", mc->monitors);
	an_ev_count(c, f, "monitored_processes", mc->targets);
	an_ev_num(c, f, "monitors_per_process", (double)mc->monitors / (double)mc->targets);
	const bd_proc *top = bd_proc_by_pid(c->m, mc->top);
	an_ev_str(c, f, "most_monitored", "%s", top ? an_proc_label(c, top) : an_pid_str(c, mc->top));
	an_ev_count(c, f, "most_monitored_count", mc->top_count);
	an_ev_bytes(c, f, "memory_bytes", p->memory);
	an_ev_count(c, f, "message_queue_len", p->msgq_len);
	if (top)
		an_related(c, f, top, "monitored");
	an_title(c, f, "%s holds %s monitors on only %s process%s (%s on %s): it monitors again and "
		 "again and never demonitors", an_proc_label(c, p), an_count(c, mc->monitors),
		 an_count(c, mc->targets), mc->targets == 1 ? "" : "es", an_count(c, mc->top_count),
		 top ? an_proc_label(c, top) : an_pid_str(c, mc->top));
	an_advice(c, f, "Each erlang:monitor/2 stays until the target exits or erlang:demonitor(Ref, "
		  "[flush]) removes it. Demonitor when the reason to watch ends (the request answered, "
		  "the lease or resource given back), or monitor each process once and keep the "
		  "reference in the state; when one of those processes exits, %s gets one 'DOWN' "
		  "message per monitor", p->name ? p->name : "this process");
}

void an_monitors(an_ctx *c)
{
	int reported = 0;
	for (size_t i = 0; i < c->nprocs && reported < MAX_REPORTS; i++) {
		const bd_proc *p = &c->procs[i];
		mon_count mc;
		if (p->link_count < MIN_MONITORS || count(c, p, &mc))
			continue;
		if (mc.monitors >= MIN_MONITORS && mc.targets && mc.monitors >= PER_TARGET * mc.targets) {
			report(c, p, &mc);
			reported++;
		}
	}
}
