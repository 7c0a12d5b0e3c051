/* deadlock and blocked_call from a wait-for graph. A process waits on another when
 * its program counter is in a synchronous call (gen:do_call/4 ...) and its Link
 * list holds the call's monitor {to,Callee,Ref}; with several monitors the Ref in
 * the calling frame's y-slots picks the callee. Cycles are deadlocks; chains that
 * end at an overloaded, dead or itself-waiting process are blocked calls. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

enum { CHAIN_MAX = 16, MB_BUSY = 1000, MAX_BLOCK_FINDINGS = 4, NAMED_WAITERS = 4 };

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

typedef struct wnode {
	long next;       /* callee index, -1 none */
	bd_pid target;   /* callee pid even when it is not in the dump */
	int waiting;
	int mark;        /* 0 new, 1 on the current walk, 2 done */
	long terminal;   /* end of the chain (non-waiting process), -1 dead/unknown */
	int depth;       /* edges to the terminal */
	int in_cycle;
	long cycle_id;
	long entry;      /* first cycle member the chain reaches, -1 none */
} wnode;

/* Request of a gen_server:call frame (y1), as text, or NULL. */
static const char *call_request(an_ctx *c, const bd_proc *p)
{
	bd_heap *h = an_heap(c, p);
	bd_frame *fr;
	size_t nf;
	bd_error err = {0};
	if (!h || bd_heap_stack(h, &fr, &nf, &err))
		return NULL;
	for (size_t i = 0; i < nf; i++) {
		if (!fr[i].mfa || strncmp(fr[i].mfa, "gen_server:call/", 16) != 0)
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
static void walk(wnode *w, long i, long *stack)
{
	long n = 0, k = i;
	while (k >= 0 && w[k].waiting && w[k].mark == 0) {
		w[k].mark = 1;
		stack[n++] = k;
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

static void deadlock(an_ctx *c, wnode *w, long start)
{
	an_finding *f = an_new(c, BD_F_DEADLOCK, BD_SEV_CRITICAL, 84);
	if (!f)
		return;
	const bd_proc *first = &c->procs[start];
	an_subject_proc(c, f, first);
	char chain[512], names[512];
	size_t members = 0;
	long k = start;
	do {
		const bd_proc *p = &c->procs[k];
		const char *req = call_request(c, p);
		an_related(c, f, p, "cycle");
		an_detail(c, f, "%s calls %s%s%s", an_proc_label(c, p),
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
	an_title(c, f, "Deadlock: %s (each waits in a synchronous call on the next)", chain);
	an_advice(c, f, "Break the cycle: never call a process that may call you back; use "
		  "gen_server:cast or reply later with gen_server:reply/2");
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

static const char *why_stuck(an_ctx *c, const bd_proc *t, bd_pid target)
{
	if (!t)
		return bd_arena_printf(c->arena, "%s is not in the dump (dead)",
				       an_pid_str(c, target));
	if (t->state == BD_PS_EXITING || t->state == BD_PS_NONEXISTING)
		return "is exiting";
	if (an_val(t->msgq_len) >= MB_BUSY)
		return bd_arena_printf(c->arena, "is overloaded (%s messages queued)",
				       an_count(c, t->msgq_len));
	return bd_arena_printf(c->arena, "is busy in %s", t->pc_mfa ? t->pc_mfa : "?");
}

/* One finding per process that others are stuck behind. */
static void blocked(an_ctx *c, wnode *w, long term, long *members, size_t nm)
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
	int dead = !t || t->state == BD_PS_EXITING;
	int busy = t && an_val(t->msgq_len) >= MB_BUSY;
	if (!dead && !busy && w[longest].depth < 2 && nm < 5)
		return; /* one call in progress: normal */
	bd_severity sev = nm >= 50 || dead ? BD_SEV_CRITICAL : BD_SEV_WARNING;
	an_finding *f = an_new(c, BD_F_BLOCKED_CALL, sev, sev == BD_SEV_CRITICAL ? 72 : 50 + (double)nm / 10);
	if (!f)
		return;
	if (t)
		an_subject_proc(c, f, t);
	else
		an_subject_named(c, f, "process", an_pid_str(c, tpid));
	char chain[512];
	size_t len = 0;
	for (long k = longest; k >= 0 && len < sizeof chain; k = w[k].next) {
		const bd_proc *p = &c->procs[k];
		len += (size_t)snprintf(chain + len, sizeof chain - len, "%s%s", len ? " -> " : "",
					p->name ? p->name : an_pid_str(c, p->pid));
		if (!w[k].waiting)
			break;
	}
	if (!t && len < sizeof chain)
		snprintf(chain + len, sizeof chain - len, " -> %s", an_pid_str(c, tpid));
	for (size_t i = 0; i < nm; i++)
		an_related(c, f, &c->procs[members[i]], "waiting");
	const bd_proc *head = &c->procs[longest];
	const char *why = why_stuck(c, t, tpid);
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
	}
	const char *req = call_request(c, head);
	if (req)
		an_ev_str(c, f, "request", "%s", req);
	an_advice(c, f, "%s", busy ? "Callers wait on an overloaded server: relieve it (see "
		  "mailbox_overload) and give the calls finite time-outs"
		  : dead ? "The callee is gone: the callers will hang until their time-out; link or "
		    "monitor and fail fast"
		  : "A long chain of synchronous calls: make the last process answer quickly (do the "
		    "slow work outside handle_call), or use finite time-outs");
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
	int *done = calloc(c->nprocs + 2, sizeof *done);
	size_t reported = 0, reported_cycle = 0;
	if (!members || !done)
		goto out;
	for (size_t i = 0; i < c->nprocs; i++) {
		if (!w[i].waiting || w[i].in_cycle || done[i])
			continue;
		int cyc = w[i].terminal < -1;
		if (cyc ? reported_cycle >= MAX_BLOCK_FINDINGS : reported >= MAX_BLOCK_FINDINGS)
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
			blocked(c, w, w[i].terminal, members, nm);
			reported++;
		}
	}
out:
	free(members);
	free(done);
}

void an_waits(an_ctx *c)
{
	wnode *w = calloc(c->nprocs + 1, sizeof *w);
	long *stack = malloc((c->nprocs + 1) * sizeof *stack);
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
