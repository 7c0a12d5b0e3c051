/* Leaks below any limit: things that pile up while the node still works.
 *
 * process_leak: many processes of one kind (initial call and current function)
 *   that nobody links to or monitors, idle in a receive. Nothing will ever stop
 *   them, and nothing supervises them.
 * timer_leak: one process is the receiver of far more pending BIF timers
 *   (erlang:send_after/start_timer, =timer sections) than the node has processes:
 *   timers started and never cancelled.
 * ets_leak: one process owns a great many ETS tables: tables created and never
 *   deleted (no limit stops this from OTP 24 on: the table count is not enforced).
 *
 * Thresholds are shares of the node (processes, limits, memory, tables, timers)
 * with a floor, so small nodes do not alarm on a few dozen of anything; they are
 * documented in docs/findings.md. */
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

enum {
	LEAK_MIN = 1000,         /* fewer than this is never a leak finding */
	LEAK_TRACKED_PCT = 10,   /* a group with more linked/monitored members is tracked */
	LEAK_IDLE_PCT = 90,      /* share of members Waiting */
	LEAK_SHARE_PCT = 25,     /* of all processes */
	LEAK_LIMIT_PCT = 5,      /* of the process limit */
	TIMER_MIN = 1000,
	TIMER_PER_PROC = 2,      /* timers of one receiver vs processes on the node */
	TIMER_ABS = 100000,      /* always a warning */
	ETS_MIN = 1000,
	ETS_SHARE_PCT = 50,      /* of all tables */
	ETS_ABS = 10000,         /* always a warning */
	NAMED = 4,
};

/* ---- grouping by a 64-bit key ---- */
typedef struct grp {
	uint64_t key;
	const void *k1, *k2;   /* interned strings or packed ids, to tell collisions */
	uint64_t count, aux1, aux2, aux3, bytes;
	size_t example;
} grp;

typedef struct grouping {
	bd_u64map idx;
	grp *g;
	size_t n, cap;
} grouping;

static grp *group_get(grouping *gr, const void *k1, const void *k2, size_t example)
{
	uint64_t parts[2] = {(uint64_t)(uintptr_t)k1, (uint64_t)(uintptr_t)k2};
	uint64_t key = bd_hash_bytes(parts, sizeof parts), at;
	if (key == UINT64_MAX) /* the map's empty-slot marker */
		key--;
	if (bd_u64map_get(&gr->idx, key, &at))
		return gr->g[at].k1 == k1 && gr->g[at].k2 == k2 ? &gr->g[at] : NULL;
	if (gr->n == gr->cap) {
		size_t cap = gr->cap ? 2 * gr->cap : 256;
		grp *g = realloc(gr->g, cap * sizeof *g);
		if (!g)
			return NULL;
		gr->g = g;
		gr->cap = cap;
	}
	if (bd_u64map_put(&gr->idx, key, gr->n))
		return NULL;
	gr->g[gr->n] = (grp){key, k1, k2, 0, 0, 0, 0, 0, example};
	return &gr->g[gr->n++];
}

static void grouping_free(grouping *gr)
{
	bd_u64map_free(&gr->idx);
	free(gr->g);
}

static const void *pid_ptr(bd_pid p)
{
	uint64_t k = (uint64_t)(p.node & 0xffff) << 48 | (uint64_t)(p.num & 0xfffffff) << 20 |
		     (p.serial & 0xfffff);
	return (const void *)(uintptr_t)(k + 1);
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

/* ================= process_leak ================= */

/* Linked to a process, or monitored by one: someone will notice it. A link to a
 * port (its socket) supervises nothing. */
static int tracked(an_ctx *c, const bd_proc *p)
{
	for (uint32_t i = 0; i < p->link_count && p->link_first + i < c->nlinks; i++) {
		const bd_link *l = &c->links[p->link_first + i];
		if ((l->kind == BD_LINK || l->kind == BD_MON_FROM) && l->target_kind == BD_TGT_PID)
			return 1;
	}
	return 0;
}

/* Waiting for a message that nobody will send: in a receive or a sleep, not in a
 * call (a caller is waiting on a reply, which is blocked_call's business). */
static int idle(an_ctx *c, const bd_proc *p)
{
	an_activity a;
	if (p->state != BD_PS_WAITING)
		return 0;
	an_activity_of(c, p, 0, &a);
	return a.kind == AN_ACT_IDLE || a.kind == AN_ACT_RECEIVING || a.kind == AN_ACT_SLEEPING;
}

/* Spawners of a group's members: the one with most members, and how many distinct. */
static bd_pid top_spawner(an_ctx *c, const grp *g, uint64_t *top, uint64_t *distinct)
{
	grouping sp = {0};
	bd_pid best = BD_PID_NONE;
	*top = *distinct = 0;
	for (size_t i = 0; i < c->nprocs; i++) {
		const bd_proc *p = &c->procs[i];
		if ((const void *)p->spawned_as != g->k1 || (const void *)p->pc_mfa != g->k2)
			continue;
		grp *s = group_get(&sp, pid_ptr(p->spawned_by), NULL, i);
		if (!s)
			continue;
		if (++s->count > *top) {
			*top = s->count;
			best = p->spawned_by;
		}
	}
	*distinct = sp.n;
	grouping_free(&sp);
	return best;
}

static void process_leak(an_ctx *c, const grp *g, uint64_t limit, const char *basis)
{
	const bd_proc *ex = &c->procs[g->example];
	uint64_t top, spawners;
	bd_pid spid = top_spawner(c, g, &top, &spawners);
	const bd_proc *spawner = bd_pid_valid(spid) ? bd_proc_by_pid(c->m, spid) : NULL;
	uint64_t nprocs = c->nprocs;
	double share_limit = limit ? pct(g->count, limit) : 0;
	int critical = limit && share_limit >= 50;
	an_finding *f = an_new(c, BD_F_PROCESS_LEAK, critical ? BD_SEV_CRITICAL : BD_SEV_WARNING,
			       critical ? 80 : 56 + share_limit / 10);
	if (!f)
		return;
	if (spawner)
		an_subject_proc(c, f, spawner);
	else
		an_subject_proc(c, f, ex);
	const char *ic = an_initial_call(c, ex);
	const char *sp_label = spawner ? an_proc_label(c, spawner)
		: bd_pid_valid(spid) ? bd_arena_printf(c->arena, "%s (no longer alive)",
						       an_pid_str(c, spid))
				     : "?";
	an_ev_count(c, f, "processes", g->count);
	an_ev_str(c, f, "group_initial_call", "%s", ic ? ic : "?");
	an_ev_str(c, f, "group_function", "%s", ex->pc_mfa ? ex->pc_mfa : "?");
	an_ev_str(c, f, "spawner", "%s", sp_label);
	an_ev_count(c, f, "spawner_processes", top);
	if (spawners > 1)
		an_ev_count(c, f, "spawners", spawners);
	an_ev_pct(c, f, "share_of_processes", pct(g->count, nprocs));
	if (limit) {
		an_ev_count(c, f, "process_limit", limit);
		an_ev_str(c, f, "limit_basis", "%s", basis);
		an_ev_pct(c, f, "share_of_limit", share_limit);
	}
	an_ev_count(c, f, "linked_or_monitored", g->aux1);
	an_ev_count(c, f, "idle", g->aux2);
	an_ev_bytes(c, f, "memory_bytes", g->bytes);
	uint64_t pmem = an_val(bd_model_memory(c->m)->processes);
	if (pmem)
		an_ev_pct(c, f, "share_of_process_memory", pct(g->bytes, pmem));
	an_related(c, f, ex, "example");
	const char *idle_in = ex->pc_mfa && (!ic || strcmp(ic, ex->pc_mfa) != 0)
		? bd_arena_printf(c->arena, " idle in %s,", ex->pc_mfa) : "";
	const char *nobody = g->aux1 ? bd_arena_printf(c->arena, "and only %s of them are linked "
						       "or monitored", an_count(c, g->aux1))
				     : "and nobody links to or monitors them";
	an_title(c, f, "%s %s processes,%s spawned by %s%s, %s (%.1f %% of the processes%s)",
		 an_count(c, g->count), ic ? ic : "?", idle_in, sp_label,
		 spawners > 1 ? bd_arena_printf(c->arena, " and %s others", an_count(c, spawners - 1)) : "",
		 nobody, an_shown_pct(g->count, nprocs),
		 limit ? bd_arena_printf(c->arena, ", %.1f %% of the limit of %s", share_limit,
					 an_count(c, limit)) : "");
	an_advice(c, f, "Nothing supervises these processes and they wait for ever: start them under "
		  "a supervisor (or link them to their owner), give them an idle time-out (receive ... "
		  "after T) so an abandoned one exits, and bound how many %s may start",
		  spawner && spawner->name ? spawner->name : "the spawner");
}

/* A group that can be a leak once its idle members are counted. */
static int leak_candidate(const an_ctx *c, const grp *g, uint64_t limit)
{
	if (g->count < LEAK_MIN || g->aux1 * 100 > g->count * LEAK_TRACKED_PCT)
		return 0;
	return g->count * 100 >= c->nprocs * LEAK_SHARE_PCT ||
	       (limit && g->count * 100 >= limit * LEAK_LIMIT_PCT);
}

static void processes(an_ctx *c)
{
	if (c->nprocs < LEAK_MIN)
		return;
	grouping gr = {0};
	/* Pass 1: size, tracked members and memory of every group (cheap fields). */
	for (size_t i = 0; i < c->nprocs; i++) {
		const bd_proc *p = &c->procs[i];
		if (an_is_system_proc(p))
			continue;
		grp *g = group_get(&gr, p->spawned_as, p->pc_mfa, i);
		if (!g)
			continue;
		g->count++;
		g->aux1 += (uint64_t)tracked(c, p);
		g->bytes += an_val(p->memory);
	}
	const char *basis;
	uint64_t limit = an_proc_limit(c, &basis);
	size_t ncand = 0;
	for (size_t k = 0; k < gr.n; k++)
		ncand += (size_t)leak_candidate(c, &gr.g[k], limit);
	/* Pass 2, only when some group qualifies: how many members are idle. */
	for (size_t i = 0; ncand && i < c->nprocs; i++) {
		const bd_proc *p = &c->procs[i];
		if (an_is_system_proc(p) || p->state != BD_PS_WAITING)
			continue;
		grp *g = group_get(&gr, p->spawned_as, p->pc_mfa, i);
		if (!g || !leak_candidate(c, g, limit) || !idle(c, p))
			continue;
		/* The example is a leaked one: an untracked idle member. */
		if (g->aux2++ == 0 || tracked(c, &c->procs[g->example]))
			if (!tracked(c, p))
				g->example = i;
	}
	for (size_t k = 0, reported = 0; k < gr.n && reported < 2; k++) {
		const grp *g = &gr.g[k];
		if (!leak_candidate(c, g, limit) || g->aux2 * 100 < g->count * LEAK_IDLE_PCT)
			continue;
		process_leak(c, g, limit, basis);
		reported++;
	}
	grouping_free(&gr);
}

/* ================= timer_leak ================= */

/* "{expire,_,_}" from "{expire,2,1}"; atoms and other terms as they are (cut). */
static void msg_shape(const char *m, char *out, size_t cap)
{
	if (!m) {
		snprintf(out, cap, "?");
		return;
	}
	if (*m != '{') {
		snprintf(out, cap, "%.60s", m);
		return;
	}
	size_t len = strcspn(m + 1, ",{}[]\"'");
	if (len > 60)
		len = 60;
	int depth = 0, quote = 0;
	uint64_t arity = 1;
	for (const char *p = m; *p; p++) {
		if (quote) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == quote)
				quote = 0;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (*p == '{' || *p == '[' || (*p == '<' && p[1] == '<')) {
			depth++;
		} else if (*p == '}' || *p == ']' || (*p == '>' && p[1] == '>')) {
			if (--depth == 0)
				break;
		} else if (*p == ',' && depth == 1) {
			arity++;
		}
	}
	size_t n = (size_t)snprintf(out, cap, "{%.*s", (int)len, m + 1);
	for (uint64_t i = 1; i < arity && n + 3 < cap && i < 16; i++)
		n += (size_t)snprintf(out + n, cap - n, ",_");
	if (n + 2 < cap)
		snprintf(out + n, cap - n, "}");
}

/* erlang:start_timer/3 wraps the message: {timeout, TRef, Msg}. The shape then
 * shows Msg's: "{timeout,_,{job,_}}". */
static void timer_shape(const char *m, char *out, size_t cap)
{
	msg_shape(m, out, cap);
	if (strcmp(out, "{timeout,_,_}") != 0)
		return;
	int depth = 0, commas = 0;
	const char *p = m;
	for (; *p; p++) {
		if (*p == '{' || *p == '[' || *p == '<')
			depth++;
		else if (*p == '}' || *p == ']' || *p == '>')
			depth--;
		else if (*p == ',' && depth == 1 && ++commas == 2)
			break;
	}
	if (!*p)
		return;
	char inner[80];
	msg_shape(p + 1, inner, sizeof inner);
	size_t n = strlen(inner);
	if (n && inner[n - 1] == '}' && inner[0] != '{')
		n--; /* an atom or number took the closing brace with it */
	snprintf(out, cap, "{timeout,_,%.*s}", (int)n, inner);
}

static const void *timer_owner_key(const bd_timer *t)
{
	return bd_pid_valid(t->owner_pid) ? pid_ptr(t->owner_pid) : (const void *)t->owner;
}

static void timer_leak(an_ctx *c, const grp *g, const bd_timer *ts, size_t nt)
{
	const bd_timer *ex = &ts[g->example];
	const bd_proc *p = bd_pid_valid(ex->owner_pid) ? bd_proc_by_pid(c->m, ex->owner_pid)
		: ex->owner ? bd_proc_find(c->m, ex->owner) : NULL;
	an_finding *f = an_new(c, BD_F_TIMER_LEAK, BD_SEV_WARNING, 57);
	if (!f)
		return;
	if (p)
		an_subject_proc(c, f, p);
	else
		an_subject_named(c, f, "process", ex->owner ? ex->owner : "?");
	/* Shape of the timers' messages, and how far ahead they fire. */
	char shape[96], sh[96];
	timer_shape(ex->message, shape, sizeof shape);
	uint64_t same = 0, tmin = UINT64_MAX, tmax = 0;
	for (size_t i = 0; i < nt; i++) {
		if (timer_owner_key(&ts[i]) != g->k1)
			continue;
		timer_shape(ts[i].message, sh, sizeof sh);
		same += !strcmp(sh, shape);
		uint64_t left = ts[i].time_left_ms;
		if (left != BD_UNKNOWN) {
			tmin = left < tmin ? left : tmin;
			tmax = left > tmax ? left : tmax;
		}
	}
	const char *who = p ? an_proc_label(c, p) : ex->owner ? ex->owner : "?";
	an_ev_count(c, f, "timers", g->count);
	an_ev_count(c, f, "timers_total", nt);
	an_ev_pct(c, f, "share_of_timers", pct(g->count, nt));
	an_ev_count(c, f, "processes", c->nprocs);
	an_ev_num(c, f, "timers_per_process", c->nprocs ? (double)g->count / (double)c->nprocs : 0);
	an_ev_str(c, f, "message_shape", "%s", shape);
	an_ev_pct(c, f, "message_shape_share", pct(same, g->count));
	an_ev_str(c, f, "sample_message", "%.200s", ex->message ? ex->message : "?");
	if (tmax) {
		an_ev_count(c, f, "time_left_min_ms", tmin);
		an_ev_count(c, f, "time_left_max_ms", tmax);
	}
	if (p)
		an_ev_count(c, f, "receiver_message_queue_len", p->msgq_len);
	an_title(c, f, "%s pending timers for %s (%.1f %% of all timers, %s per process on the "
		 "node): %.1f %% are %s, firing in %s to %s s", an_count(c, g->count), who,
		 an_shown_pct(g->count, nt), an_count(c, c->nprocs ? g->count / c->nprocs : 0),
		 an_shown_pct(same, g->count), shape, an_count(c, tmax ? tmin / 1000 : 0),
		 an_count(c, tmax / 1000));
	an_advice(c, f, "Timers are started and never cancelled: keep the reference that "
		  "erlang:send_after/start_timer returns and erlang:cancel_timer/1 it when the event it "
		  "guards happens or the timer is re-armed (one timer per key, not one per event)");
}

static void timers(an_ctx *c)
{
	size_t nt;
	const bd_timer *ts = bd_model_timers(c->m, &nt);
	if (nt < TIMER_MIN)
		return;
	grouping gr = {0};
	for (size_t i = 0; i < nt; i++) {
		grp *g = group_get(&gr, timer_owner_key(&ts[i]), NULL, i);
		if (g)
			g->count++;
	}
	for (size_t k = 0, reported = 0; k < gr.n && reported < 2; k++) {
		const grp *g = &gr.g[k];
		if (g->count < TIMER_MIN)
			continue;
		if (g->count < TIMER_ABS && g->count < TIMER_PER_PROC * (uint64_t)c->nprocs)
			continue;
		timer_leak(c, g, ts, nt);
		reported++;
	}
	grouping_free(&gr);
}

/* ================= ets_leak ================= */

static void ets_leak(an_ctx *c, const grp *g, const bd_ets *ts, size_t nt)
{
	const bd_ets *ex = &ts[g->example];
	const bd_proc *owner = bd_proc_by_pid(c->m, ex->owner);
	/* The most common table name among the owner's tables. */
	grouping names = {0};
	const grp *dom = NULL;
	uint64_t unnamed = 0, objects = 0;
	for (size_t i = 0; i < nt; i++) {
		if (pid_ptr(ts[i].owner) != g->k1)
			continue;
		unnamed += !ts[i].named;
		objects += an_val(ts[i].objects);
		grp *n = group_get(&names, ts[i].name, NULL, i);
		if (n)
			n->count++;
	}
	for (size_t k = 0; k < names.n; k++) /* after the last group_get: no realloc */
		if (!dom || names.g[k].count > dom->count)
			dom = &names.g[k];
	const bd_memory *mem = bd_model_memory(c->m);
	uint64_t bytes = an_words(c, g->aux1);
	uint64_t total = an_val(mem->total), ets = an_val(mem->ets);
	int critical = total && bytes * 2 >= total;
	an_finding *f = an_new(c, BD_F_ETS_LEAK, critical ? BD_SEV_CRITICAL : BD_SEV_WARNING,
			       critical ? 78 : 56);
	if (!f) {
		grouping_free(&names);
		return;
	}
	if (owner)
		an_subject_proc(c, f, owner);
	else
		an_subject_named(c, f, "ets", an_pid_str(c, ex->owner));
	const bd_ets *dex = dom ? &ts[dom->example] : ex;
	const char *dname = dex->name ? dex->name : "?";
	an_ev_count(c, f, "tables", g->count);
	an_ev_count(c, f, "tables_total", nt);
	an_ev_pct(c, f, "share_of_tables", pct(g->count, nt));
	an_ev_count(c, f, "unnamed_tables", unnamed);
	an_ev_str(c, f, "dominant_name", "%s", dname);
	an_ev_count(c, f, "dominant_name_count", dom ? dom->count : 0);
	an_ev_count(c, f, "objects", objects);
	an_ev_bytes(c, f, "table_bytes", bytes);
	if (ets)
		an_ev_pct(c, f, "share_of_ets", pct(bytes, ets));
	if (total)
		an_ev_pct(c, f, "share_of_memory", pct(bytes, total));
	if (dex->type)
		an_ev_str(c, f, "type", "%s", dex->type);
	if (dex->protection)
		an_ev_str(c, f, "protection", "%s", dex->protection);
	if (owner) {
		const char *ic = an_initial_call(c, owner);
		if (ic)
			an_ev_str(c, f, "owner_role", "%s", ic);
	}
	an_title(c, f, "%s owns %s ETS tables (%.1f %% of all tables; %s unnamed, %s called %s), "
		 "%s in %s objects", owner ? an_proc_label(c, owner) : an_pid_str(c, ex->owner),
		 an_count(c, g->count), an_shown_pct(g->count, nt), an_count(c, unnamed),
		 an_count(c, dom ? dom->count : 0), dname, an_bytes(c, bytes), an_count(c, objects));
	an_advice(c, f, "Tables are created and never deleted, and nothing will stop this (modern "
		  "OTP has no hard table limit; ets_limit is only a sizing hint): ets:delete/1 each "
		  "table when its work is done (try ... after), create it in a short-lived process that "
		  "owns it, or use one shared table keyed by request");
	grouping_free(&names);
}

static void ets_tables(an_ctx *c)
{
	size_t nt;
	const bd_ets *ts = bd_model_ets(c->m, &nt);
	if (nt < ETS_MIN)
		return;
	grouping gr = {0};
	for (size_t i = 0; i < nt; i++) {
		grp *g = group_get(&gr, pid_ptr(ts[i].owner), NULL, i);
		if (!g)
			continue;
		g->count++;
		g->aux1 += an_val(ts[i].words);
	}
	for (size_t k = 0, reported = 0; k < gr.n && reported < 2; k++) {
		const grp *g = &gr.g[k];
		if (g->count < ETS_MIN)
			continue;
		if (g->count < ETS_ABS && g->count * 100 < nt * ETS_SHARE_PCT)
			continue;
		ets_leak(c, g, ts, nt);
		reported++;
	}
	grouping_free(&gr);
}

void an_leaks(an_ctx *c)
{
	processes(c);
	timers(c);
	ets_tables(c);
}
