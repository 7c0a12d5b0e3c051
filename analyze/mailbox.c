/* mailbox_overload: processes whose queue grows faster than they drain it. Cheap
 * filter on Message queue length; only the few candidates get their mailbox
 * streamed (shape histogram, $gen_call senders) and one sample message decoded. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

enum { MB_WARN = 1000, MB_CRIT = 10000, MB_MAX_FINDINGS = 3, MB_PREFETCH = 100000 };

/* The longest mailbox of a big text dump is summarised on a second thread while the
 * other analyses run (its walk is the longest single step of an analysis). */
struct an_mb_job {
	const bd_proc *p;
	bd_heap *h;
	bd_mailbox_stats st;
	bd_error err;
	int rc;
	pthread_t th;
};

static void *mb_worker(void *arg)
{
	struct an_mb_job *j = arg;
	j->rc = bd_heap_mailbox_stats(j->h, &j->st, &j->err);
	return NULL;
}

void an_mailbox_prefetch(an_ctx *c)
{
	const char *src = bd_model_node(c->m)->source;
	const bd_proc *best = NULL;
	/* Only text dumps: their model is read-only once open, so a second reader is
	 * safe; snapshot models decode chunks into caches. */
	if (!src || strcmp(src, "erl_crash.dump") != 0)
		return;
	for (size_t i = 0; i < c->nprocs; i++)
		if (an_val(c->procs[i].msgq_len) >= MB_PREFETCH &&
		    (!best || c->procs[i].msgq_len > best->msgq_len))
			best = &c->procs[i];
	if (!best)
		return;
	struct an_mb_job *j = calloc(1, sizeof *j);
	bd_error err = {0};
	/* Opened here, on the calling thread: opening fills the model's literal cache. */
	if (!j || bd_heap_open(&j->h, c->m, best, &err)) {
		free(j);
		return;
	}
	j->p = best;
	if (pthread_create(&j->th, NULL, mb_worker, j)) {
		bd_heap_free(j->h);
		free(j);
		return;
	}
	c->mb_job = j;
}

/* Join the job; its heap joins the run's open heaps. */
static int mb_take(an_ctx *c, const bd_proc *p, bd_mailbox_stats *st, bd_heap **h)
{
	struct an_mb_job *j = c->mb_job;
	if (!j || j->p != p)
		return 0;
	pthread_join(j->th, NULL);
	c->mb_job = NULL;
	an_heap_adopt(c, p, j->h);
	*h = j->h;
	*st = j->st;
	int ok = j->rc == 0;
	free(j);
	return ok ? 1 : -1;
}

void an_mailbox_finish(an_ctx *c)
{
	struct an_mb_job *j = c->mb_job;
	if (!j)
		return;
	pthread_join(j->th, NULL);
	bd_heap_free(j->h);
	free(j);
	c->mb_job = NULL;
}

static int cmp_mq(const void *a, const void *b)
{
	const bd_proc *x = *(const bd_proc *const *)a, *y = *(const bd_proc *const *)b;
	uint64_t u = an_val(x->msgq_len), v = an_val(y->msgq_len);
	return u < v ? 1 : u > v ? -1 : 0;
}

/* Producers: $gen_call senders first, then processes that link to or monitor the
 * consumer (casts and plain sends leave no trace of the sender). */
static void add_producers(an_ctx *c, an_finding *f, const bd_proc *p, const bd_mailbox_stats *st)
{
	size_t added = 0;
	for (size_t i = 0; i < st->ncallers && added < 6; i++) {
		const bd_proc *q = bd_proc_by_pid(c->m, st->callers[i].pid);
		if (q && an_related(c, f, q, "caller"))
			added++;
		an_detail(c, f, "$gen_call from %s: %s request(s) queued",
			  q ? an_proc_label(c, q) : an_pid_str(c, st->callers[i].pid),
			  an_count(c, st->callers[i].count));
	}
	for (uint32_t i = 0; i < p->link_count && p->link_first + i < c->nlinks && added < 8; i++) {
		const bd_link *l = &c->links[p->link_first + i];
		if (l->target_kind != BD_TGT_PID || (l->kind != BD_LINK && l->kind != BD_MON_FROM))
			continue;
		const bd_proc *q = bd_proc_by_pid(c->m, l->id);
		if (q && !an_is_system_proc(q) && an_related(c, f, q, l->kind == BD_LINK ? "linked" : "monitoring"))
			added++;
	}
	if (st->ncallers)
		an_ev_count(c, f, "gen_call_senders", st->ncallers);
}

static void sample_message(an_ctx *c, an_finding *f, bd_heap *h, const bd_mailbox_stats *st)
{
	bd_term *msg = NULL;
	uint64_t idx = st->nshapes ? st->shapes[0].first_index : 0;
	if (bd_heap_messages(h, (size_t)idx, 1, &msg) == 1 && msg) {
		char buf[240];
		bd_term_fmt(msg, buf, sizeof buf, 4, 6);
		an_ev_str(c, f, "sample_message", "%s", buf);
	}
}
/* A share as printed with one decimal: never "100.0 %" for part of the queue, nor
 * "0.0 %" for some of it (52,315 of 52,340 is 99.9 %, not 100.0 %). */
static double shown_pct(uint64_t part, uint64_t whole)
{
	double v = whole ? 100.0 * (double)part / (double)whole : 0;
	if (part < whole && v > 99.9)
		return 99.9;
	if (part && v < 0.1)
		return 0.1;
	return v;
}


/* Why the queue is long. A process Waiting with messages queued went to sleep
 * after its receive matched none of them: outside its main loop that is a
 * selective receive, not slowness. */
static const char *queue_cause(const an_activity *a)
{
	if (a->agent_fun)
		return "agent_function";
	switch (a->kind) {
	case AN_ACT_RECEIVING:
		return "selective_receive";
	case AN_ACT_IDLE:
		/* Waiting in its own loop with messages queued: the loop matches none. */
		return a->behaviour ? "slow_handler" : "unmatched_messages";
	case AN_ACT_CALLING:
		return "waiting_on_call";
	case AN_ACT_SUSPENDED:
		return "suspended";
	case AN_ACT_IO:
		return "waiting_on_port";
	default:
		return "slow_handler";
	}
}

/* Values in the receiving frame's y-registers: what the receive may be waiting for
 * (a call's reference, a transaction id). */
static void held_values(an_ctx *c, an_finding *f, const bd_proc *p)
{
	bd_heap *h = an_heap(c, p);
	bd_frame *fr;
	size_t nf, len = 0;
	bd_error err = {0};
	char buf[300], t[120];
	buf[0] = 0;
	if (!h || bd_heap_stack(h, &fr, &nf, &err) || !nf)
		return;
	for (uint32_t i = 0; i < fr[0].nslots && len < sizeof buf - 1; i++) {
		if (!fr[0].slots[i].term)
			continue;
		bd_term_fmt(fr[0].slots[i].term, t, sizeof t, 2, 3);
		int n = snprintf(buf + len, sizeof buf - len, "%s%s", len ? ", " : "", t);
		if (n < 0)
			break;
		len += (size_t)n;
	}
	if (len)
		an_ev_str(c, f, "receive_frame_values", "%s", buf);
}

/* The process p waits on in a call (its monitor on a live process), or NULL. */
static const bd_proc *call_target(an_ctx *c, const bd_proc *p)
{
	for (uint32_t i = 0; i < p->link_count && p->link_first + i < c->nlinks; i++) {
		const bd_link *l = &c->links[p->link_first + i];
		if (l->kind == BD_MON_TO && l->target_kind == BD_TGT_PID) {
			const bd_proc *t = bd_proc_by_pid(c->m, l->id);
			if (t && t != p)
				return t;
		}
	}
	return NULL;
}

/* A few thousand messages (under MB_CRIT and no more than twice the node's
 * processes: one or two reports from each worker of a busy node, say) that the
 * process is taking out of its queue is a burst being absorbed, not an overload.
 * It is taking them out when it runs, or when it waits on a call to a live
 * process that itself makes progress (runs, waits in its loop, or is itself
 * calling on): a collector that asks a supervisor for its children while the
 * reports come in. A callee that is gone, suspended or stuck in a receive of its
 * own leaves the queue to grow: that stays a warning. */
static int absorbing_burst(an_ctx *c, const bd_proc *p, uint64_t q)
{
	an_activity a, t;
	if (q >= MB_CRIT || q > 2 * (uint64_t)c->nprocs)
		return 0;
	an_activity_of(c, p, 0, &a);
	if (a.kind == AN_ACT_WORKING)
		return 1;
	if (a.kind != AN_ACT_CALLING)
		return 0;
	const bd_proc *callee = call_target(c, p);
	if (!callee || an_val(callee->msgq_len) >= MB_WARN)
		return 0;
	an_activity_of(c, callee, 0, &t);
	if (t.kind == AN_ACT_CALLING) /* calling back: a deadlock, not progress */
		return call_target(c, callee) != p;
	return t.kind == AN_ACT_WORKING || t.kind == AN_ACT_IDLE;
}

static void one(an_ctx *c, const bd_proc *p)
{
	uint64_t q = p->msgq_len;
	int burst = absorbing_burst(c, p, q);
	bd_severity sev = burst ? BD_SEV_INFO : q >= MB_CRIT ? BD_SEV_CRITICAL : BD_SEV_WARNING;
	double score = (sev == BD_SEV_CRITICAL ? 70 : 45) + 5 * log10((double)q / MB_WARN);
	an_finding *f = an_new(c, BD_F_MAILBOX_OVERLOAD, sev, burst ? 3 : score > 89 ? 89 : score);
	if (!f)
		return;
	an_subject_proc(c, f, p);
	if (burst)
		an_ev_str(c, f, "note", "a burst being worked through: %s messages, no more than "
			  "twice the node's %s processes, while the process runs or waits on a live "
			  "process that makes progress", an_count(c, q), an_count(c, c->nprocs));
	an_ev_count(c, f, "message_queue_len", q);
	an_ev_bytes(c, f, "memory_bytes", p->memory);
	bd_heap *h = NULL;
	bd_mailbox_stats st;
	bd_error err = {0};
	char shape[160] = "";
	double share = NAN;
	int got = mb_take(c, p, &st, &h);
	if (!got) {
		h = an_heap(c, p);
		got = h && bd_heap_mailbox_stats(h, &st, &err) == 0 ? 1 : -1;
	}
	if (got > 0 && st.messages) {
		an_ev_count(c, f, "messages_in_dump", st.messages);
		for (size_t i = 0; i < st.nshapes && i < 3; i++) {
			double pct = shown_pct(st.shapes[i].count, st.messages);
			an_detail(c, f, "%5.1f %%  %s  (%s message%s)", pct, st.shapes[i].key,
				  an_count(c, st.shapes[i].count), st.shapes[i].count == 1 ? "" : "s");
		}
		if (st.nshapes) {
			snprintf(shape, sizeof shape, "%s", st.shapes[0].key);
			share = 100.0 * (double)st.shapes[0].count / (double)st.messages;
			an_ev_str(c, f, "dominant_shape", "%s", shape);
			an_ev_pct(c, f, "dominant_share", share);
			an_ev_count(c, f, "shapes", st.nshapes);
		}
		sample_message(c, f, h, &st);
		add_producers(c, f, p, &st);
	}
	an_activity a;
	an_activity_of(c, p, 1, &a);
	const char *uf = a.user_frame;
	if (uf)
		an_ev_str(c, f, "busy_in", "%s", uf);
	const char *who = p->name ? p->name : "It";
	const char *cause = queue_cause(&a);
	an_ev_str(c, f, "queue_cause", "%s", cause);
	if (a.callback)
		an_ev_str(c, f, "callback", "%s", a.callback);
	if (a.stack)
		an_ev_str(c, f, "stack", "%s", a.stack);
	const char *none = "";
	int nomatch = !strcmp(cause, "selective_receive") || !strcmp(cause, "unmatched_messages");
	if (nomatch) {
		none = bd_arena_printf(c->arena, ", none matching the receive it waits in (%s)",
				       a.where ? a.where : "?");
		held_values(c, f, p);
	}
	if (shape[0])
		an_title(c, f, "%s has %s messages queued (%.1f %% %s)%s", an_proc_label(c, p),
			 an_count(c, q), shown_pct(st.shapes[0].count, st.messages), shape, none);
	else
		an_title(c, f, "%s has %s messages queued%s", an_proc_label(c, p), an_count(c, q), none);
	const char *where = uf ? uf : p->pc_mfa ? p->pc_mfa : "its handler";
	if (!strcmp(cause, "selective_receive") && a.callback)
		an_advice(c, f, "%s is not slow, it handles nothing: it waits in a selective receive "
			  "(%s inside %s) that no queued message matches, and scans the whole queue "
			  "again for each new one. Do not wait inside the callback: return {noreply, "
			  "State}, handle the awaited message in handle_info and answer with "
			  "gen_server:reply/2; or monitor the other side and add an after time-out",
			  who, a.where ? a.where : "?", a.callback);
	else if (nomatch)
		an_advice(c, f, "%s is not slow, it handles nothing: the receive it waits in (%s) "
			  "matches none of the queued messages, which stay queued and are scanned again "
			  "on every new one. If that receive waits for a reply, add an after time-out "
			  "and a monitor; if it is the process's loop, add a clause that takes "
			  "unexpected messages (log and drop them), or stop sending them",
			  who, a.where ? a.where : "?");
	else if (!strcmp(cause, "agent_function"))
		an_advice(c, f, "These are callers waiting for the Agent, which runs %s inside itself "
			  "(in %s): the function given to Agent.update/get_and_update runs in the "
			  "Agent process; do the slow work in the caller or a Task and give the Agent "
			  "only the result", a.agent_fun, where);
	else if (!strncmp(shape, "$gen_call", 9) && share > 50)
		an_advice(c, f, "Callers keep calling faster than %s answers (busy in %s): time-outs "
			  "leave stale requests queued; add back-pressure or more workers",
			  p->name ? p->name : "it", where);
	else
		an_advice(c, f, "%s receives faster than it handles (busy in %s): add back-pressure "
			  "(call instead of cast), shed load, or spread the work over more processes",
			  who, where);
}

void an_mailbox(an_ctx *c)
{
	const bd_proc **cand = malloc(sizeof *cand * (c->nprocs + 1));
	if (!cand)
		return;
	size_t n = 0;
	for (size_t i = 0; i < c->nprocs; i++)
		if (an_val(c->procs[i].msgq_len) >= MB_WARN)
			cand[n++] = &c->procs[i];
	if (n)
		qsort(cand, n, sizeof *cand, cmp_mq);
	for (size_t i = 0; i < n && i < MB_MAX_FINDINGS; i++)
		one(c, cand[i]);
	if (n > MB_MAX_FINDINGS && c->nf) {
		an_finding *first = NULL;
		for (size_t i = 0; i < c->nf; i++)
			if (c->f[i]->pub.kind == BD_F_MAILBOX_OVERLOAD) {
				first = c->f[i];
				break;
			}
		if (first) {
			an_ev_count(c, first, "other_long_queues", n - MB_MAX_FINDINGS);
			an_detail(c, first, "%s more processes have >= %d messages queued",
				  an_count(c, n - MB_MAX_FINDINGS), MB_WARN);
		}
	}
	free(cand);
}
