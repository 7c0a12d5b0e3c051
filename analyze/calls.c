/* call_timeout: a server behind on its calls, whose queue holds requests from callers
 * that have already given up.
 *
 * gen_server:call/3's time-out does not withdraw the request: when it expires the
 * caller exits (or catches the exit and retries) while its '$gen_call' stays queued,
 * and the server still does the work when it gets there. A server slower than its
 * callers' time-outs therefore spends its time on abandoned calls, every new caller
 * waits longer and times out too: a cascade. In a dump this is a server with many
 * '$gen_call' messages queued whose sender ({Pid, Tag}) is gone or no longer waits
 * for it (no monitor on the server, not in a call).
 *
 * Exact: the queued calls read (the first MAX_READ of a queue), which callers exist
 * and wait. Not known: the callers' time-outs (the dump has no timer for a call's
 * after clause). */
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

enum {
	MIN_QUEUE = 50,      /* a server's queue worth reading */
	MIN_CALLS = 50,      /* calls queued */
	MIN_STALE = 20,      /* abandoned calls */
	CRIT_STALE = 1000,
	MAX_SERVERS = 4,
	MAX_READ = 20000,    /* messages read per server */
	BATCH = 256,
};

static int is_atom(const bd_term *t, const char *s)
{
	size_t n = strlen(s);
	return t && t->kind == BD_T_ATOM && t->n == n && !memcmp(t->u.s, s, n);
}

/* Does p wait in a call on server (a monitor on it, in a call)? */
static int waits_on(an_ctx *c, const bd_proc *p, const bd_proc *server)
{
	if (p->state == BD_PS_EXITING)
		return 0;
	for (uint32_t i = 0; i < p->link_count && p->link_first + i < c->nlinks; i++) {
		const bd_link *l = &c->links[p->link_first + i];
		if (l->kind == BD_MON_TO && l->target_kind == BD_TGT_PID && bd_pid_eq(l->id, server->pid))
			return 1;
		if (l->kind == BD_MON_TO && l->target_kind == BD_TGT_NAME && server->name && l->name &&
		    !strcmp(l->name, server->name))
			return 1;
	}
	return 0;
}

typedef struct tally {
	uint64_t read, calls, stale, gone, live;
	const bd_proc *live_example;
	const bd_term *request;     /* of the first stale call */
	char shape[160];
} tally;

static void read_calls(an_ctx *c, const bd_proc *server, tally *t)
{
	bd_heap *h = an_heap(c, server);
	bd_term *msgs[BATCH];
	if (!h)
		return;
	for (size_t first = 0; first < MAX_READ;) {
		size_t n = bd_heap_messages(h, first, BATCH, msgs);
		if (!n)
			break;
		for (size_t i = 0; i < n; i++) {
			const bd_term *m = msgs[i];
			t->read++;
			if (!m || m->kind != BD_T_TUPLE || m->n != 3 || !is_atom(m->u.elems[0], "$gen_call"))
				continue;
			const bd_term *from = m->u.elems[1];
			if (!from || from->kind != BD_T_TUPLE || from->n < 1 || !from->u.elems[0] ||
			    from->u.elems[0]->kind != BD_T_PID)
				continue;
			bd_pid cp = from->u.elems[0]->u.pid;
			if (cp.node) /* a remote caller: this dump cannot say */
				continue;
			t->calls++;
			const bd_proc *caller = bd_proc_by_pid(c->m, cp);
			if (caller && waits_on(c, caller, server)) {
				t->live++;
				if (!t->live_example)
					t->live_example = caller;
				continue;
			}
			t->stale++;
			t->gone += caller == NULL;
			if (!t->shape[0] && m->u.elems[2])
				bd_term_fmt(m->u.elems[2], t->shape, sizeof t->shape, 3, 4);
		}
		first += n;
	}
}

static void report(an_ctx *c, const bd_proc *s, const tally *t)
{
	int crit = t->stale >= CRIT_STALE;
	an_finding *f = an_new(c, BD_F_CALL_TIMEOUT, crit ? BD_SEV_CRITICAL : BD_SEV_WARNING, crit ? 68 : 61);
	if (!f)
		return;
	an_subject_proc(c, f, s);
	an_activity a;
	an_activity_of(c, s, 1, &a);
	uint64_t q = an_val(s->msgq_len);
	an_ev_count(c, f, "message_queue_len", q);
	an_ev_count(c, f, "messages_read", t->read);
	an_ev_count(c, f, "queued_calls", t->calls);
	an_ev_count(c, f, "abandoned_calls", t->stale);
	an_ev_count(c, f, "callers_gone", t->gone);
	an_ev_count(c, f, "callers_waiting", t->live);
	an_ev_pct(c, f, "abandoned_share", an_shown_pct(t->stale, t->calls));
	if (t->shape[0])
		an_ev_str(c, f, "abandoned_request", "%s", t->shape);
	an_ev_str(c, f, "server_activity", "%s", an_act_name(a.kind));
	if (a.where)
		an_ev_str(c, f, "server_function", "%s", a.where);
	if (a.callback)
		an_ev_str(c, f, "callback", "%s", a.callback);
	if (t->live_example) {
		an_related(c, f, t->live_example, "waiting caller");
		const char *ic = an_initial_call(c, t->live_example);
		if (ic)
			an_ev_str(c, f, "caller_initial_call", "%s", ic);
	}
	const char *busy = a.where ? bd_arena_printf(c->arena, "; it is %s in %s", an_act_name(a.kind),
						     a.callback && strcmp(a.callback, a.where) ?
						     bd_arena_printf(c->arena, "%s inside %s", a.where, a.callback) :
						     a.where) : "";
	an_title(c, f, "%s is behind on its calls: %s of %s queued calls come from callers that already "
		 "gave up (%s gone)%s%s", an_proc_label(c, s), an_count(c, t->stale), an_count(c, t->calls),
		 an_count(c, t->gone),
		 t->live ? bd_arena_printf(c->arena, ", %s callers still wait", an_count(c, t->live)) : "",
		 busy);
	an_advice(c, f, "A call's time-out does not withdraw the request: %s still does the work for "
		  "every abandoned call, so each new caller waits longer and times out too (a cascade; "
		  "retries make it worse). Make the callback cheaper (cache, precompute), or hand the work "
		  "to workers and answer with gen_server:reply/2; bound the callers (admission control, "
		  "shed load when the queue is long); and let the server drop requests whose caller is gone "
		  "or whose deadline passed (send a deadline with the request)",
		  s->name ? s->name : an_proc_label(c, s));
}

void an_calls(an_ctx *c)
{
	const bd_proc *top[MAX_SERVERS] = {0};
	for (size_t i = 0; i < c->nprocs; i++) {
		const bd_proc *p = &c->procs[i];
		uint64_t q = an_val(p->msgq_len);
		if (q < MIN_QUEUE || p->state == BD_PS_EXITING)
			continue;
		for (size_t k = 0; k < MAX_SERVERS; k++)
			if (!top[k] || q > an_val(top[k]->msgq_len)) {
				memmove(&top[k + 1], &top[k], (MAX_SERVERS - k - 1) * sizeof *top);
				top[k] = p;
				break;
			}
	}
	for (size_t k = 0; k < MAX_SERVERS && top[k]; k++) {
		tally t;
		memset(&t, 0, sizeof t);
		read_calls(c, top[k], &t);
		if (t.calls >= MIN_CALLS && t.stale >= MIN_STALE && t.stale * 4 >= t.calls)
			report(c, top[k], &t);
	}
}
