/* deadlock and blocked_call from a wait-for graph. A process waits on another when
 * its program counter is in a synchronous call (gen:do_call/4 ...) and its Link
 * list holds the call's monitor {to,Callee,Ref}; with several monitors the Ref in
 * the calling frame's y-slots picks the callee. Cycles are deadlocks; chains that
 * end at an overloaded, dead or itself-waiting process are blocked calls. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

enum { CHAIN_MAX = 16, MB_BUSY = 1000, MAX_BLOCK_FINDINGS = 4, NAMED_WAITERS = 4, STUCK_CRIT = 50,
       MAX_EXAMINED = 64 };

/* Program counters of a process blocked in a synchronous call. */
static const char *const wait_mfas[] = {
	"gen:do_call/4",          "gen:do_call/3",        "gen:wait_resp_mon/3",
	"gen:do_call_mon/4",      "gen_statem:call_clean/4", "gen_event:rpc/2",
	"gen_server:call/2",      "gen_server:call/3",    "gen:call/4",
};

static int is_waiting(const bd_proc *p)
{
	/* Every entry starts with "gen": a cheap filter for millions of processes. */
	if (!p->pc_mfa || strncmp(p->pc_mfa, "gen", 3) != 0)
		return 0;
	for (size_t i = 0; i < sizeof wait_mfas / sizeof *wait_mfas; i++)
		if (!strcmp(p->pc_mfa, wait_mfas[i]))
			return 1;
	return 0;
}

/* Ref text of the call in frame 0's y-slots, or "" (decodes the stack). */
static void call_ref(an_ctx *c, const bd_proc *p, char *buf, size_t cap)
{
	bd_heap *h = an_heap(c, p);
	bd_frame *fr;
	size_t nf;
	bd_error err = {0};
	buf[0] = 0;
	if (!h || bd_heap_stack(h, &fr, &nf, &err) || !nf)
		return;
	for (uint32_t i = 0; i < fr[0].nslots; i++)
		if (fr[0].slots[i].term && fr[0].slots[i].term->kind == BD_T_REF) {
			bd_term_fmt(fr[0].slots[i].term, buf, cap, 1, 1);
			return;
		}
}

/* The callee of a waiting process: index into procs, or -1 (dead / unknown), and
 * *dead set when the callee is gone. */
static long callee(an_ctx *c, const bd_proc *p, bd_pid *target)
{
	const bd_link *mon[8];
	int n = 0;
	*target = BD_PID_NONE;
	for (uint32_t i = 0; i < p->link_count && p->link_first + i < c->nlinks && n < 8; i++) {
		const bd_link *l = &c->links[p->link_first + i];
		if (l->kind == BD_MON_TO && l->target_kind == BD_TGT_PID)
			mon[n++] = l;
	}
	if (!n)
		return -1;
	const bd_link *pick = mon[0];
	if (n > 1) {
		char ref[128];
		call_ref(c, p, ref, sizeof ref);
		for (int i = 0; i < n; i++)
			if (ref[0] && mon[i]->ref && !strcmp(mon[i]->ref, ref))
				pick = mon[i];
	}
	*target = pick->id;
	const bd_proc *q = bd_proc_by_pid(c->m, pick->id);
	return q ? (long)(q - c->procs) : -1;
}

/* One per process (millions on a big node): 32-bit rows and flags, 36 bytes. */
typedef struct wnode {
	int32_t next;     /* callee index, -1 none */
	int32_t terminal; /* end of the chain (non-waiting process), -1 dead/unknown */
	int32_t depth;    /* edges to the terminal */
	int32_t cycle_id;
	int32_t entry;    /* first cycle member the chain reaches, -1 none */
	uint8_t waiting;
	uint8_t mark;     /* 0 new, 1 on the current walk, 2 done */
	uint8_t in_cycle;
	bd_pid target;    /* callee pid even when it is not in the dump */
} wnode;

/* Frames of the call functions whose y1 holds the request. */
static int call_frame(const char *mfa)
{
	static const char *const pres[] = {"gen_server:call/", "gen_statem:call_dirty/",
					   "gen_statem:call_clean/", "gen_statem:call/",
					   "'Elixir.GenServer':call/", "gen_event:call/"};
	for (size_t i = 0; mfa && i < sizeof pres / sizeof *pres; i++)
		if (!strncmp(mfa, pres[i], strlen(pres[i])))
			return 1;
	return 0;
}

/* Request of a gen_server / gen_statem / GenServer call frame (y1), as text, or NULL. */
static const char *call_request(an_ctx *c, const bd_proc *p)
{
	bd_heap *h = an_heap(c, p);
	bd_frame *fr;
	size_t nf;
	bd_error err = {0};
	if (!h || bd_heap_stack(h, &fr, &nf, &err))
		return NULL;
	for (size_t i = 0; i < nf; i++) {
		if (!call_frame(fr[i].mfa))
			continue;
		for (uint32_t j = 0; j < fr[i].nslots; j++)
			if (fr[i].slots[j].y == 1 && fr[i].slots[j].term) {
				char buf[120];
				bd_term_fmt(fr[i].slots[j].term, buf, sizeof buf, 3, 4);
				return bd_arena_strdup(c->arena, buf);
			}
	}
	return NULL;
}

static void mark_cycle(wnode *w, long start, long id)
{
	long k = start;
	do {
		w[k].in_cycle = 1;
		w[k].cycle_id = id;
		k = w[k].next;
	} while (k != start && k >= 0);
}

/* Walk from i to the end of its chain; detects cycles through the on-walk mark. */
static void walk(wnode *w, long i, int32_t *stack)
{
	long n = 0, k = i;
	while (k >= 0 && w[k].waiting && w[k].mark == 0) {
		w[k].mark = 1;
		stack[n++] = (int32_t)k;
		k = w[k].next;
	}
	if (k >= 0 && w[k].mark == 1)
		mark_cycle(w, k, k);
	/* Unwind: terminal and depth from the far end back. */
	long term = k >= 0 && !w[k].waiting ? k : k >= 0 ? w[k].terminal : -1;
	int depth = k >= 0 && !w[k].waiting ? 0 : k >= 0 ? w[k].depth : 0;
	long entry = k < 0 ? -1 : w[k].in_cycle ? k : w[k].entry;
	if (k >= 0 && w[k].in_cycle)
		term = -2 - w[k].cycle_id; /* ends in a cycle */
	while (n > 0) {
		long j = stack[--n];
		w[j].mark = 2;
		if (w[j].in_cycle) {
			w[j].terminal = -2 - w[j].cycle_id;
			w[j].depth = 0;
			w[j].entry = j;
			term = w[j].terminal;
			depth = 0;
			entry = j;
			continue;
		}
		w[j].terminal = term;
		w[j].depth = ++depth;
		w[j].entry = entry;
	}
}

/* Append to a bounded text buffer; *len may pass cap (the text is then cut). */
static void cat(char *buf, size_t cap, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void cat(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	if (*len + 1 >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n;
}

static const char *short_name(an_ctx *c, const bd_proc *p)
{
	return p->name ? p->name : an_pid_str(c, p->pid);
}

/* "a -> b -> a" from the cycle member start. */
static void cycle_text(an_ctx *c, const wnode *w, long start, char *buf, size_t cap)
{
	size_t len = 0, members = 0;
	long k = start;
	buf[0] = 0;
	do {
		cat(buf, cap, &len, "%s -> ", short_name(c, &c->procs[k]));
		members++;
		k = w[k].next;
	} while (k != start && k >= 0 && members < CHAIN_MAX);
	cat(buf, cap, &len, "%s", short_name(c, &c->procs[start]));
}

/* Processes outside the cycle whose calls lead into it, each named with the cycle
 * member its chain reaches: "deadlock_client <0.81.0> on srv_a, ...". */
static uint64_t stuck_behind(an_ctx *c, an_finding *f, const wnode *w, long start, char *buf,
			     size_t cap)
{
	uint64_t n = 0;
	size_t len = 0;
	buf[0] = 0;
	for (size_t i = 0; i < c->nprocs; i++) {
		if (!w[i].waiting || w[i].in_cycle || w[i].terminal != -2 - w[start].cycle_id)
			continue;
		const bd_proc *p = &c->procs[i];
		if (n < NAMED_WAITERS)
			cat(buf, cap, &len, "%s%s on %s", n ? ", " : "", an_proc_label(c, p),
			    w[i].entry >= 0 ? short_name(c, &c->procs[w[i].entry]) : "?");
		an_related(c, f, p, "waiting");
		n++;
	}
	if (n > NAMED_WAITERS)
		cat(buf, cap, &len, ", and %s more", an_count(c, n - NAMED_WAITERS));
	return n;
}

/* " (gen_statem in state locked, in door:locked/3)" or " (in srv:handle_call/3)"
 * for a cycle member; counts the gen_statem members and collects their states. */
static const char *member_role(an_ctx *c, const bd_proc *p, int *statem, char *states,
			       size_t cap, size_t *slen)
{
	an_activity a;
	an_activity_of(c, p, 1, &a);
	char st[96] = "";
	if (a.behaviour && !strcmp(a.behaviour, "gen_statem")) {
		(*statem)++;
		if (a.state_name) {
			bd_term_fmt(a.state_name, st, sizeof st, 2, 4);
			cat(states, cap, slen, "%s%s: %s", *slen ? ", " : "", short_name(c, p), st);
		}
		return bd_arena_printf(c->arena, " (gen_statem%s%s%s%s)", st[0] ? " in state " : "", st,
				       a.callback ? ", in " : "", a.callback ? a.callback : "");
	}
	if (a.callback)
		return bd_arena_printf(c->arena, " (%s, in %s)", a.behaviour ? a.behaviour : "?",
				       a.callback);
	return "";
}

static void deadlock(an_ctx *c, wnode *w, long start)
{
	an_finding *f = an_new(c, BD_F_DEADLOCK, BD_SEV_CRITICAL, 84);
	if (!f)
		return;
	const bd_proc *first = &c->procs[start];
	an_subject_proc(c, f, first);
	char chain[512], names[512], states[256] = "";
	size_t members = 0, slen = 0;
	int statem = 0;
	long k = start;
	do {
		const bd_proc *p = &c->procs[k];
		const char *req = call_request(c, p);
		const char *role = member_role(c, p, &statem, states, sizeof states, &slen);
		an_related(c, f, p, "cycle");
		an_detail(c, f, "%s%s calls %s%s%s", an_proc_label(c, p), role,
			  an_proc_label(c, &c->procs[w[k].next]), req ? " with " : "", req ? req : "");
		members++;
		k = w[k].next;
	} while (k != start && k >= 0 && members < CHAIN_MAX);
	cycle_text(c, w, start, chain, sizeof chain);
	uint64_t blocked = stuck_behind(c, f, w, start, names, sizeof names);
	an_ev_count(c, f, "cycle_length", members);
	an_ev_str(c, f, "cycle", "%s", chain);
	if (blocked) {
		an_ev_count(c, f, "blocked_waiters", blocked);
		an_ev_str(c, f, "blocked", "%s", names);
	}
	const char *req = call_request(c, first);
	if (req)
		an_ev_str(c, f, "request", "%s", req);
	if (statem)
		an_ev_count(c, f, "gen_statem_members", (uint64_t)statem);
	if (states[0])
		an_ev_str(c, f, "states", "%s", states);
	if (statem && (size_t)statem == members) {
		an_title(c, f, "Deadlock: %s (gen_statem: each waits in gen_statem:call on the next, "
			 "from inside a state callback%s%s)", chain, states[0] ? "; states " : "",
			 states);
		an_advice(c, f, "Break the cycle: a state callback must not call a process that may "
			  "call it back; send an event (gen_statem:cast) instead, or reply later: keep "
			  "From, return {keep_state, Data} and answer with gen_statem:reply/2 when the "
			  "other side has answered");
	} else if (statem) {
		an_title(c, f, "Deadlock: %s (each waits in a synchronous call on the next; %d "
			 "gen_statem%s)", chain, statem, states[0] ? bd_arena_printf(c->arena,
			 ", states %s", states) : "");
		an_advice(c, f, "Break the cycle: never call a process that may call you back; use "
			  "cast (gen_server:cast, gen_statem:cast) or reply later (gen_server:reply/2, "
			  "gen_statem:reply/2)");
	} else {
		an_title(c, f, "Deadlock: %s (each waits in a synchronous call on the next)", chain);
		an_advice(c, f, "Break the cycle: never call a process that may call you back; use "
			  "gen_server:cast or reply later with gen_server:reply/2");
	}
}

/* Callers whose chains reach the cycle at entry: they hang for as long as the
 * deadlock lasts. A consequence of the deadlock, so ranked below it. */
static void into_cycle(an_ctx *c, const wnode *w, long entry, const long *members, size_t nm)
{
	long longest = members[0];
	for (size_t i = 1; i < nm; i++)
		if (w[members[i]].depth > w[longest].depth)
			longest = members[i];
	size_t capped = nm < 200 ? nm : 200;
	an_finding *f = an_new(c, BD_F_BLOCKED_CALL, BD_SEV_WARNING, 50 + (double)capped / 10);
	if (!f)
		return;
	const bd_proc *t = &c->procs[entry], *head = &c->procs[longest];
	an_subject_proc(c, f, t);
	char chain[512], cycle[512], others[256];
	size_t len = 0, olen = 0;
	for (long k = longest; k >= 0 && k != entry; k = w[k].next)
		cat(chain, sizeof chain, &len, "%s -> ", short_name(c, &c->procs[k]));
	cat(chain, sizeof chain, &len, "%s", short_name(c, t));
	others[0] = 0;
	size_t nmem = 0;
	for (long k = w[entry].next; k >= 0 && k != entry && nmem < CHAIN_MAX;
	     k = w[k].next, nmem++)
		cat(others, sizeof others, &olen, "%s%s", olen ? ", " : "",
		    short_name(c, &c->procs[k]));
	cycle_text(c, w, entry, cycle, sizeof cycle);
	for (size_t i = 0; i < nm; i++)
		an_related(c, f, &c->procs[members[i]], "waiting");
	if (nm == 1)
		an_title(c, f, "%s waits on %s, which is deadlocked with %s%s%s",
			 an_proc_label(c, head), short_name(c, t), others,
			 w[longest].depth > 1 ? "; chain: " : "", w[longest].depth > 1 ? chain : "");
	else
		an_title(c, f, "%s processes wait on %s, which is deadlocked with %s; chain: %s",
			 an_count(c, nm), short_name(c, t), others, chain);
	an_ev_count(c, f, "waiters", nm);
	an_ev_count(c, f, "chain_length", (uint64_t)w[longest].depth);
	an_ev_str(c, f, "chain", "%s", chain);
	an_ev_str(c, f, "first_waiter", "%s", an_proc_label(c, head));
	an_ev_str(c, f, "deadlock", "%s", cycle);
	const char *req = call_request(c, head);
	if (req)
		an_ev_str(c, f, "request", "%s", req);
	an_advice(c, f, "These calls return only when the deadlock is broken (see the deadlock "
		  "finding); a finite time-out would let the callers fail instead of hang");
}

/* How the process at the end of a chain of calls is doing. */
typedef enum {
	END_DEAD,       /* not in the dump, or exiting */
	END_STUCK,      /* blocked inside a callback: sleeping, receiving, port I/O, suspended */
	END_OVERLOADED, /* working through a queue of >= MB_BUSY messages */
	END_BUSY,       /* working, idle (the call is in transit) or itself calling: normal */
} end_kind;

/* A long queue is the story unless the process waits for something the queue
 * does not hold (a selective receive) or runs a caller's function (an Agent). */
static end_kind classify_end(const bd_proc *t, const an_activity *a)
{
	if (!t || t->state == BD_PS_EXITING || t->state == BD_PS_NONEXISTING)
		return END_DEAD;
	if (a->agent_fun)
		return END_STUCK;
	int blocked = an_activity_blocked(a) && a->kind != AN_ACT_CALLING;
	if (an_val(t->msgq_len) >= MB_BUSY && !(blocked && a->kind == AN_ACT_RECEIVING))
		return END_OVERLOADED;
	return blocked ? END_STUCK : END_BUSY;
}

/* "sleeps in timer:sleep/1", "waits on a port in prim_inet:recv0/3"... */
static const char *stuck_how(an_ctx *c, const an_activity *a)
{
	const char *w = a->where ? a->where : "?";
	switch (a->kind) {
	case AN_ACT_SLEEPING:
		return bd_arena_printf(c->arena, "sleeps in %s", w);
	case AN_ACT_IO:
		return bd_arena_printf(c->arena, "waits on a port or file in %s", w);
	case AN_ACT_SUSPENDED:
		return bd_arena_printf(c->arena, "is suspended in %s", w);
	case AN_ACT_WORKING:
		return bd_arena_printf(c->arena, "is working in %s", w);
	default:
		return bd_arena_printf(c->arena, "waits in a receive in %s", w);
	}
}

static const char *why_stuck(an_ctx *c, const bd_proc *t, bd_pid target, end_kind k,
			     const an_activity *a)
{
	if (k == END_DEAD)
		return t ? "is exiting"
			 : bd_arena_printf(c->arena, "%s is not in the dump (dead)",
					   an_pid_str(c, target));
	const char *queued = an_val(t->msgq_len) >= MB_BUSY
		? bd_arena_printf(c->arena, "; %s messages queued", an_count(c, t->msgq_len)) : "";
	if (k == END_STUCK && a->agent_fun)
		return bd_arena_printf(c->arena, "is an Agent running %s inside itself (it %s%s%s)%s",
				       a->agent_fun, stuck_how(c, a),
				       a->user_frame ? ", called from " : "",
				       a->user_frame ? a->user_frame : "", queued);
	if (k == END_STUCK)
		return bd_arena_printf(c->arena, "%s%s%s%s", stuck_how(c, a),
				       a->callback ? " inside " : "", a->callback ? a->callback : "",
				       queued);
	if (k == END_OVERLOADED)
		return bd_arena_printf(c->arena, "is overloaded (%s messages queued)",
				       an_count(c, t->msgq_len));
	return bd_arena_printf(c->arena, "is busy in %s", t->pc_mfa ? t->pc_mfa : "?");
}

/* Is a port of the node busy (BUSY_PORT in its task flags)? */
static int any_busy_port(an_ctx *c)
{
	size_t n;
	const bd_port *pt = bd_model_ports(c->m, &n);
	for (size_t i = 0; i < n; i++)
		if (pt[i].task_flags && strstr(pt[i].task_flags, "BUSY_PORT"))
			return 1;
	return 0;
}

static const char *stuck_advice(an_ctx *c, const an_activity *a)
{
	if (a->agent_fun)
		return "The function given to Agent.update/get_and_update runs inside the Agent "
		       "process, so every Agent call waits for it: do the slow work in the caller or "
		       "a Task and give the Agent only the result, or use a GenServer that hands the "
		       "work to a worker and replies with GenServer.reply/2";
	int statem = a->behaviour && !strcmp(a->behaviour, "gen_statem");
	switch (a->kind) {
	case AN_ACT_SLEEPING:
		return statem ? "Sleeping inside a state callback blocks every caller: use a "
				"state_timeout or {timeout, T, Msg} action instead"
			      : "Sleeping inside a callback blocks every caller: schedule the work "
				"with erlang:send_after/3 and handle it in handle_info instead";
	case AN_ACT_IO:
		return statem ? "A blocking call inside a state callback holds every caller: give "
				"it a time-out, or run it in a worker and answer later with "
				"gen_statem:reply/2"
			      : "A blocking call inside a callback holds every caller: give it a "
				"time-out (gen_tcp:recv/3, call time-outs), or hand it to a worker and "
				"answer later with gen_server:reply/2; callers should use finite "
				"time-outs";
	case AN_ACT_SUSPENDED:
		/* No busy port: the dump caught it suspended by someone, or by the VM for a
		 * moment (a dirty garbage collection); its callers wait until it resumes. */
		return any_busy_port(c)
			? "It is suspended (by a busy port, or erlang:suspend_process/1): its "
			  "callers hang until it resumes; see busy_port"
			: "It is suspended (erlang:suspend_process/1, or by the VM for a moment, "
			  "as for a garbage collection on a dirty scheduler; no port is busy): its "
			  "callers wait until it resumes; see what it was doing (its stack) and "
			  "what else the callers wait for";
	default:
		return statem ? "A receive inside a state callback blocks every caller: return, "
				"handle the awaited message as an event, and reply with "
				"gen_statem:reply/2; or monitor the other side and add an after "
				"time-out"
			      : "A receive inside a callback blocks every caller: return {noreply, "
				"State}, handle the awaited message in handle_info and answer with "
				"gen_server:reply/2; or monitor the other side and add an after "
				"time-out";
	}
}

static void stuck_evidence(an_ctx *c, an_finding *f, const an_activity *a)
{
	an_ev_str(c, f, "blocker_activity", "%s", an_act_name(a->kind));
	if (a->behaviour)
		an_ev_str(c, f, "blocker_behaviour", "%s", a->behaviour);
	if (a->callback)
		an_ev_str(c, f, "callback", "%s", a->callback);
	if (a->agent_fun)
		an_ev_str(c, f, "agent_function", "%s", a->agent_fun);
	if (a->user_frame)
		an_ev_str(c, f, "user_function", "%s", a->user_frame);
	if (a->stack)
		an_ev_str(c, f, "stack", "%s", a->stack);
	const bd_proc *s = bd_pid_valid(a->serving) ? bd_proc_by_pid(c->m, a->serving) : NULL;
	if (s) {
		an_ev_str(c, f, "serving", "%s", an_proc_label(c, s));
		const char *req = call_request(c, s);
		if (req)
			an_ev_str(c, f, "serving_request", "%s", req);
	}
}

/* One finding per process that others are stuck behind. Callers queued behind a
 * process that is working, idle or itself waiting on a reply are how a busy node
 * looks; only a blocked, dead or overloaded end is reported. */
static int blocked(an_ctx *c, wnode *w, long term, long *members, size_t nm)
{
	long longest = members[0];
	for (size_t i = 1; i < nm; i++)
		if (w[members[i]].depth > w[longest].depth)
			longest = members[i];
	const bd_proc *t = term >= 0 ? &c->procs[term] : NULL;
	/* The process waited on directly by the longest chain's last waiter. */
	long last = longest;
	while (w[last].next >= 0 && w[w[last].next].waiting)
		last = w[last].next;
	bd_pid tpid = t ? t->pid : w[last].target;
	an_activity a;
	memset(&a, 0, sizeof a);
	if (t)
		an_activity_of(c, t, 0, &a);
	int maybe = !t || an_val(t->msgq_len) >= MB_BUSY ||
		    (an_activity_blocked(&a) && a.kind != AN_ACT_CALLING) || nm >= 2;
	if (!maybe)
		return 0; /* one call in progress */
	if (t)
		an_activity_of(c, t, 1, &a); /* callback, Agent function, stack */
	end_kind k = classify_end(t, &a);
	/* An Agent running a function for a caller is doing its work (a busy server) as
	 * long as it runs; sleeping or waiting inside that function, or a crowd of
	 * callers behind it, is the story. */
	int agent_runs = a.agent_fun && a.kind == AN_ACT_WORKING && nm < STUCK_CRIT &&
			 an_val(t->msgq_len) < MB_BUSY;
	if ((k == END_STUCK && nm < 2 && an_val(t->msgq_len) < MB_BUSY) ||
	    (k == END_BUSY && nm < STUCK_CRIT) || agent_runs)
		return 0; /* one call in progress, or a busy server: normal */
	bd_severity sev = k == END_BUSY ? BD_SEV_INFO
		: nm >= STUCK_CRIT || k == END_DEAD ? BD_SEV_CRITICAL : BD_SEV_WARNING;
	double score = sev == BD_SEV_CRITICAL ? 72 : sev == BD_SEV_WARNING ? 50 + (double)nm / 10 : 4;
	an_finding *f = an_new(c, BD_F_BLOCKED_CALL, sev, score);
	if (!f)
		return 0;
	if (t)
		an_subject_proc(c, f, t);
	else
		an_subject_named(c, f, "process", an_pid_str(c, tpid));
	char chain[512];
	size_t len = 0;
	for (long j = longest; j >= 0 && len < sizeof chain; j = w[j].next) {
		const bd_proc *p = &c->procs[j];
		len += (size_t)snprintf(chain + len, sizeof chain - len, "%s%s", len ? " -> " : "",
					p->name ? p->name : an_pid_str(c, p->pid));
		if (!w[j].waiting)
			break;
	}
	if (!t && len < sizeof chain)
		snprintf(chain + len, sizeof chain - len, " -> %s", an_pid_str(c, tpid));
	for (size_t i = 0; i < nm; i++)
		an_related(c, f, &c->procs[members[i]], "waiting");
	const bd_proc *head = &c->procs[longest];
	const char *why = why_stuck(c, t, tpid, k, &a);
	an_title(c, f, "%s process%s blocked in calls on %s, which %s; chain: %s", an_count(c, nm),
		 nm == 1 ? "" : "es", t ? an_proc_label(c, t) : an_pid_str(c, tpid), why, chain);
	an_ev_count(c, f, "waiters", nm);
	an_ev_count(c, f, "chain_length", (uint64_t)w[longest].depth);
	an_ev_str(c, f, "chain", "%s", chain);
	an_ev_str(c, f, "first_waiter", "%s", an_proc_label(c, head));
	if (t) {
		an_ev_str(c, f, "blocker_state", "%s", bd_proc_state_name(t->state));
		an_ev_count(c, f, "blocker_message_queue_len", t->msgq_len);
		if (t->pc_mfa)
			an_ev_str(c, f, "blocker_function", "%s", t->pc_mfa);
		stuck_evidence(c, f, &a);
	}
	const char *req = call_request(c, head);
	if (req)
		an_ev_str(c, f, "request", "%s", req);
	an_advice(c, f, "%s", k == END_STUCK ? stuck_advice(c, &a)
		  : k == END_OVERLOADED ? "Callers wait on an overloaded server: relieve it (see "
		    "mailbox_overload) and give the calls finite time-outs"
		  : k == END_DEAD ? "The callee is gone: the callers will hang until their time-out; "
		    "link or monitor and fail fast"
		  : "Many callers queue on one busy process: a serialisation point; spread the "
		    "work or answer from several processes if latency matters");
	return 1;
}

/* Chains grouped by where they end: a non-waiting process (or one dead pid), or the
 * cycle member they reach. */
static int same_end(const wnode *w, size_t i, size_t j)
{
	if (w[i].terminal < -1)
		return w[j].entry == w[i].entry;
	return w[j].terminal == w[i].terminal &&
	       (w[i].terminal >= 0 || bd_pid_eq(w[j].target, w[i].target));
}

static void report_chains(an_ctx *c, wnode *w)
{
	long *members = malloc(c->nprocs * sizeof *members);
	uint8_t *done = calloc(c->nprocs + 2, sizeof *done);
	size_t reported = 0, reported_cycle = 0, examined = 0;
	if (!members || !done)
		goto out;
	for (size_t i = 0; i < c->nprocs; i++) {
		if (!w[i].waiting || w[i].in_cycle || done[i])
			continue;
		int cyc = w[i].terminal < -1;
		/* Most chains on a busy node end at a working server and report nothing:
		 * count findings, but bound the groups examined (each is a pass). */
		if (cyc ? reported_cycle >= MAX_BLOCK_FINDINGS
			: reported >= MAX_BLOCK_FINDINGS || examined >= MAX_EXAMINED)
			continue;
		size_t nm = 0;
		/* Everyone stuck behind the same end. */
		for (size_t j = i; j < c->nprocs; j++)
			if (w[j].waiting && !w[j].in_cycle && !done[j] && same_end(w, i, j)) {
				members[nm++] = (long)j;
				done[j] = 1;
			}
		if (cyc) {
			into_cycle(c, w, w[i].entry, members, nm);
			reported_cycle++;
		} else {
			reported += (size_t)blocked(c, w, w[i].terminal, members, nm);
			examined++;
		}
	}
out:
	free(members);
	free(done);
}

void an_waits(an_ctx *c)
{
	wnode *w = calloc(c->nprocs + 1, sizeof *w);
	int32_t *stack = malloc((c->nprocs + 1) * sizeof *stack);
	if (!w || !stack)
		goto out;
	size_t nwait = 0;
	for (size_t i = 0; i < c->nprocs; i++) {
		w[i].next = -1;
		w[i].terminal = -1;
		w[i].cycle_id = -1;
		w[i].entry = -1;
		if (is_waiting(&c->procs[i])) {
			w[i].next = callee(c, &c->procs[i], &w[i].target);
			w[i].waiting = bd_pid_valid(w[i].target);
			nwait += (size_t)w[i].waiting;
		}
	}
	if (!nwait)
		goto out;
	for (size_t i = 0; i < c->nprocs; i++)
		if (w[i].waiting && w[i].mark == 0)
			walk(w, (long)i, stack);
	for (size_t i = 0; i < c->nprocs; i++)
		if (w[i].in_cycle && w[i].cycle_id == (long)i)
			deadlock(c, w, (long)i);
	report_chains(c, w);
out:
	free(w);
	free(stack);
}
