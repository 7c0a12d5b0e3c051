/* scheduler_overload: run-queue lengths against the number of schedulers, what each
 * scheduler was running when the dump was written, and which kind of process fills
 * the queues. */
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

enum { RQ_PER_SCHED_WARN = 10, RQ_PER_SCHED_CRIT = 100, RQ_MIN = 20, GROUPS = 256 };

static uint64_t rq_len(const bd_sched *s)
{
	return an_val(s->rq_max) + an_val(s->rq_high) + an_val(s->rq_normal) + an_val(s->rq_low);
}

typedef struct grp {
	const char *ic, *pc;
	uint64_t count;
	size_t example;
} grp;

/* Most common (initial call, current function) among runnable processes. */
static const grp *dominant(an_ctx *c, grp *g, size_t *ng, uint64_t *runnable)
{
	*ng = 0;
	*runnable = 0;
	for (size_t i = 0; i < c->nprocs; i++) {
		const bd_proc *p = &c->procs[i];
		if (p->state != BD_PS_SCHEDULED && p->state != BD_PS_RUNNING)
			continue;
		(*runnable)++;
		size_t j = 0;
		while (j < *ng && !(g[j].ic == p->spawned_as && g[j].pc == p->pc_mfa))
			j++;
		if (j == *ng) {
			if (*ng == GROUPS)
				continue;
			g[(*ng)++] = (grp){p->spawned_as, p->pc_mfa, 0, i};
		}
		g[j].count++;
	}
	const grp *b = NULL;
	for (size_t j = 0; j < *ng; j++)
		if (!b || g[j].count > b->count)
			b = &g[j];
	return b;
}

/* The process that spawned most of the dominant group (they come from one place:
 * an acceptor, a dispatcher that starts a worker per request), or NULL. *n = how
 * many it spawned. */
static const bd_proc *spawner_of(an_ctx *c, const grp *dom, uint64_t *n)
{
	bd_pid best = BD_PID_NONE;
	uint64_t cnt = 0;
	*n = 0;
	/* Boyer-Moore majority vote, then a count: one pass each, no table. */
	for (size_t i = 0; i < c->nprocs; i++) {
		const bd_proc *p = &c->procs[i];
		if ((p->state != BD_PS_SCHEDULED && p->state != BD_PS_RUNNING) ||
		    p->spawned_as != dom->ic || p->pc_mfa != dom->pc || !bd_pid_valid(p->spawned_by))
			continue;
		if (!cnt)
			best = p->spawned_by, cnt = 1;
		else
			cnt += bd_pid_eq(p->spawned_by, best) ? 1 : (uint64_t)-1;
	}
	if (!bd_pid_valid(best))
		return NULL;
	for (size_t i = 0; i < c->nprocs; i++) {
		const bd_proc *p = &c->procs[i];
		if ((p->state == BD_PS_SCHEDULED || p->state == BD_PS_RUNNING) &&
		    p->spawned_as == dom->ic && p->pc_mfa == dom->pc && bd_pid_eq(p->spawned_by, best))
			(*n)++;
	}
	if (*n * 2 < dom->count)
		return NULL;
	return bd_proc_by_pid(c->m, best);
}

static void per_scheduler(an_ctx *c, an_finding *f, const bd_sched *s, size_t ns)
{
	for (size_t i = 0; i < ns; i++) {
		if (s[i].type != BD_SCHED_NORMAL && s[i].type != BD_SCHED_DIRTY_CPU)
			continue;
		const bd_proc *p = bd_pid_valid(s[i].current) ? bd_proc_by_pid(c->m, s[i].current) : NULL;
		an_detail(c, f, "%s %u: run queue %s, running %s%s%s",
			  s[i].type == BD_SCHED_NORMAL ? "scheduler" : "dirty cpu", s[i].id,
			  an_count(c, rq_len(&s[i])), p ? an_proc_label(c, p) : "nothing",
			  p && p->pc_mfa ? " in " : "", p && p->pc_mfa ? p->pc_mfa : "");
	}
}

void an_scheds(an_ctx *c)
{
	size_t ns, nsched = 0;
	const bd_sched *s = bd_model_scheds(c->m, &ns);
	uint64_t queued = 0, busiest = 0;
	for (size_t i = 0; i < ns; i++)
		if (s[i].type == BD_SCHED_NORMAL) {
			nsched++;
			queued += rq_len(&s[i]);
			if (rq_len(&s[i]) > busiest)
				busiest = rq_len(&s[i]);
		}
	if (!nsched)
		return;
	grp *g = calloc(GROUPS, sizeof *g);
	if (!g)
		return;
	size_t ng;
	uint64_t runnable;
	const grp *dom = dominant(c, g, &ng, &runnable);
	uint64_t load = queued > runnable ? queued : runnable;
	if (load < RQ_MIN || load < RQ_PER_SCHED_WARN * nsched) {
		free(g);
		return;
	}
	/* Processes runnable at their receive loop with at most the one message that
	 * woke them: a burst of messages (a broadcast, timers firing together) that
	 * each handles in a moment, not CPU work piling up. Only the rest counts. */
	uint64_t woken = 0;
	for (size_t i = 0; i < c->nprocs; i++) {
		const bd_proc *p = &c->procs[i];
		if ((p->state == BD_PS_SCHEDULED || p->state == BD_PS_RUNNING) &&
		    an_val(p->msgq_len) <= 1 && an_in_receive_loop(p))
			woken++;
	}
	uint64_t work = load > woken ? load - woken : 0;
	int burst = work < RQ_MIN || work < RQ_PER_SCHED_WARN * nsched;
	int crit = !burst && work >= RQ_PER_SCHED_CRIT * nsched;
	an_finding *f = an_new(c, BD_F_SCHEDULER_OVERLOAD,
			       burst ? BD_SEV_INFO : crit ? BD_SEV_CRITICAL : BD_SEV_WARNING,
			       burst ? 3 : crit ? 66 : 47);
	if (!f) {
		free(g);
		return;
	}
	const bd_proc *ex = dom ? &c->procs[dom->example] : NULL;
	uint64_t nspawned = 0;
	/* Who starts the work is where concurrency gets bounded: the subject when the
	 * dominant group is most of the load and one live process spawned most of it. */
	const bd_proc *sp = dom && !burst ? spawner_of(c, dom, &nspawned) : NULL;
	/* The spawner answers for the load when it started half of all that is runnable,
	 * whatever function each of its processes is in at the moment of the dump. */
	if (sp && dom->count * 2 < load) {
		uint64_t all = 0;
		for (size_t i = 0; i < c->nprocs; i++) {
			const bd_proc *p = &c->procs[i];
			if ((p->state == BD_PS_SCHEDULED || p->state == BD_PS_RUNNING) &&
			    bd_pid_eq(p->spawned_by, sp->pid))
				all++;
		}
		if (all * 2 < load)
			sp = NULL;
	}
	/* Elixir's Task.async_stream spawns its tasks from a monitor process; the
	 * process that called async_stream is the one to change. */
	const bd_proc *streamer = sp && sp->pc_mfa && strstr(sp->pc_mfa, "stream_monitor") &&
		bd_pid_valid(sp->spawned_by) ? bd_proc_by_pid(c->m, sp->spawned_by) : NULL;
	if (streamer)
		an_subject_proc(c, f, streamer);
	else if (sp)
		an_subject_proc(c, f, sp);
	else if (ex)
		an_subject_proc(c, f, ex);
	else
		an_subject_named(c, f, "scheduler", "run queues");
	an_ev_count(c, f, "runnable", load);
	an_ev_count(c, f, "run_queue_total", queued);
	an_ev_count(c, f, "busiest_run_queue", busiest);
	an_ev_count(c, f, "schedulers", nsched);
	an_ev_num(c, f, "runnable_per_scheduler", (double)load / (double)nsched);
	an_ev_count(c, f, "woken_by_a_message", woken);
	const char *what = "?";
	if (dom && ex) {
		what = bd_arena_printf(c->arena, "%s in %s",
				       an_initial_call(c, ex) ? an_initial_call(c, ex) : "?",
				       ex->pc_mfa ? ex->pc_mfa : "?");
		an_ev_str(c, f, "dominant", "%s", what);
		an_ev_count(c, f, "dominant_count", dom->count);
		an_ev_pct(c, f, "dominant_share", runnable ? 100.0 * (double)dom->count / (double)runnable : 0);
	}
	if (streamer)
		an_ev_str(c, f, "async_stream_caller", "%s", an_proc_label(c, streamer));
	if (sp) {
		an_related(c, f, ex, "example");
		an_ev_str(c, f, "spawner", "%s", an_proc_label(c, sp));
		an_ev_count(c, f, "spawned_by_spawner", nspawned);
	}
	per_scheduler(c, f, s, ns);
	an_title(c, f, "%s runnable processes for %s schedulers (%.0f each); %s are %s%s%s",
		 an_count(c, load), an_count(c, nsched), (double)load / (double)nsched,
		 dom ? an_count(c, dom->count) : "?", what,
		 streamer ? bd_arena_printf(c->arena, ", tasks of a Task.async_stream in %s",
					    an_proc_label(c, streamer))
		 : sp ? bd_arena_printf(c->arena, ", spawned by %s", an_proc_label(c, sp)) : "",
		 burst ? bd_arena_printf(c->arena, "; %s of them were just woken at their receive "
					 "loop by one message each: a burst, not an overload",
					 an_count(c, woken)) : "");
	if (streamer)
		an_advice(c, f, "More CPU work than schedulers: the Task.async_stream in %s runs too "
			  "many tasks at once; keep max_concurrency at System.schedulers_online() (its "
			  "default) for CPU-bound work, a higher value only fills the run queues, and check "
			  "%s for work that could be cheaper",
			  an_proc_label(c, streamer), ex && ex->pc_mfa ? ex->pc_mfa : "the tasks");
	else if (sp)
		an_advice(c, f, "More CPU work than schedulers: %s starts a process per request with no "
			  "bound; cap the concurrency (a fixed worker pool, a job queue, or refuse work when "
			  "too many run), and check %s for work that could be cheaper or done once",
			  an_proc_label(c, sp), ex && ex->pc_mfa ? ex->pc_mfa : "the workers");
	else
		an_advice(c, f, "More CPU work than schedulers: bound concurrency (a worker pool), move "
			  "long computations off the hot path, or check for busy loops in %s",
			  ex && ex->pc_mfa ? ex->pc_mfa : "the dominant processes");
	free(g);
}
