/* process_limit, port_limit, ets_limit. A text dump has counts but not the process
 * or port limit, so exhaustion is inferred from evidence: system_limit in the
 * slogan, a count at or just under a power of two (limits are rounded to one) or a
 * usual limit, and one kind of process / port / table dominating the table. */
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

enum { GROUP_CAP = 1024, MIN_COUNT = 1000 };

typedef struct group {
	const char *key;     /* interned strings compared by pointer, or arena text */
	const char *key2;
	uint64_t count;
	size_t example;      /* index of one member */
} group;

typedef struct grouping {
	group g[GROUP_CAP];
	size_t n;
} grouping;

/* Groups key on pointers: interned strings, or a pid packed into one (never
 * dereferenced). */
static const char *pid_key(bd_pid p)
{
	uint64_t k = (uint64_t)(p.node & 0xffff) << 48 | (uint64_t)(p.num & 0xfffffff) << 20 |
		     (p.serial & 0xfffff);
	return (const char *)(uintptr_t)(k + 1);
}

/* Interned model strings: equal text is an equal pointer. */
static group *group_add(grouping *gr, const char *k1, const char *k2, size_t idx)
{
	for (size_t i = 0; i < gr->n; i++)
		if (gr->g[i].key == k1 && gr->g[i].key2 == k2) {
			gr->g[i].count++;
			return &gr->g[i];
		}
	if (gr->n == GROUP_CAP)
		return NULL;
	gr->g[gr->n] = (group){k1, k2, 1, idx};
	return &gr->g[gr->n++];
}

static const group *dominant(const grouping *gr)
{
	const group *b = NULL;
	for (size_t i = 0; i < gr->n; i++)
		if (!b || gr->g[i].count > b->count)
			b = &gr->g[i];
	return b;
}

static uint64_t next_pow2(uint64_t v)
{
	uint64_t p = 1;
	while (p < v)
		p <<= 1;
	return p;
}

/* The limit a count is at or just under: a known one, or an inferred one. */
typedef struct limit_guess {
	uint64_t limit;
	int known, near;
	const char *basis;
} limit_guess;

static limit_guess guess(uint64_t count, uint64_t known, const char *known_basis,
			 const uint64_t *usual)
{
	limit_guess g = {0, 0, 0, NULL};
	if (known != BD_UNKNOWN && known) {
		g = (limit_guess){known, 1, count * 100 >= known * 95,
				  known_basis ? known_basis : "known"};
		return g;
	}
	for (const uint64_t *u = usual; *u; u++)
		if (count <= *u && count * 100 >= *u * 97)
			return (limit_guess){*u, 0, 1, "inferred: a usual limit"};
	uint64_t p = next_pow2(count);
	if (p >= 1024 && count * 100 >= p * 97)
		return (limit_guess){p, 0, 1, "inferred: at a power of two"};
	return g;
}

typedef struct table_kind {
	bd_finding_kind kind;
	const char *noun;        /* "processes" */
	const char *table;       /* "Process table" */
	uint64_t count, known;
	const char *known_basis; /* where known comes from, NULL = the node said so */
	const uint64_t *usual;
	const char *group_noun;  /* how members are grouped */
	const char *advice;
} table_kind;

static void report(an_ctx *c, const table_kind *tk, const group *dom, const bd_proc *culprit,
		   const char *dom_label)
{
	limit_guess g = guess(tk->count, tk->known, tk->known_basis, tk->usual);
	int dominated = dom && dom->count >= MIN_COUNT / 2 && dom->count * 2 >= tk->count;
	int sys = c->slogan.system_limit;
	bd_severity sev;
	if (g.near && (g.known || sys || dominated))
		sev = BD_SEV_CRITICAL;
	else if (g.near)
		sev = BD_SEV_WARNING;
	else if (dominated && tk->count >= 10 * MIN_COUNT)
		sev = BD_SEV_INFO; /* many of one kind, far from any limit: context only */
	else
		return;
	double score = sev == BD_SEV_CRITICAL ? 86 : sev == BD_SEV_WARNING ? 52 : 3;
	an_finding *f = an_new(c, tk->kind, sev, score);
	if (!f)
		return;
	if (culprit)
		an_subject_proc(c, f, culprit);
	else
		an_subject_named(c, f, "node", bd_model_node(c->m)->node_name);
	an_ev_count(c, f, tk->noun, tk->count);
	if (g.limit) {
		an_ev_count(c, f, "limit", g.limit);
		an_ev_str(c, f, "limit_basis", "%s", g.basis);
		an_ev_pct(c, f, "usage", 100.0 * (double)tk->count / (double)g.limit);
	}
	if (sys)
		an_ev_str(c, f, "system_limit", "in the slogan");
	if (dom) {
		an_ev_str(c, f, "dominant", "%s", dom_label);
		an_ev_count(c, f, "dominant_count", dom->count);
		an_ev_pct(c, f, "dominant_share", 100.0 * (double)dom->count / (double)tk->count);
	}
	if (g.limit && !g.near)
		an_title(c, f, "%s holds %s %s, %.1f %% of its limit of %s; %s are %s", tk->table,
			 an_count(c, tk->count), tk->noun, 100.0 * (double)tk->count / (double)g.limit,
			 an_count(c, g.limit), dom ? an_count(c, dom->count) : "?", dom_label);
	else if (g.limit)
		an_title(c, f, "%s at its limit: %s %s of %s%s%s; %s are %s", tk->table,
			 an_count(c, tk->count), tk->noun, an_count(c, g.limit),
			 g.known ? "" : " (inferred)", sys ? ", system_limit" : "",
			 dom ? an_count(c, dom->count) : "?", dom_label);
	else
		an_title(c, f, "%s holds %s %s, far from any usual limit; %s are %s", tk->table,
			 an_count(c, tk->count), tk->noun, dom ? an_count(c, dom->count) : "?", dom_label);
	an_advice(c, f, "%s", tk->advice);
}

/* Processes grouped by initial call and current function; the culprit is the
 * spawner of most of the dominant group. */
static void processes(an_ctx *c)
{
	static const uint64_t usual[] = {32768, 262144, 1048576, 134217727, 0};
	const bd_limits *lim = bd_model_limits(c->m);
	uint64_t count = lim->procs != BD_UNKNOWN ? lim->procs : c->nprocs;
	if (count < MIN_COUNT)
		return;
	grouping *gr = calloc(1, sizeof *gr);
	grouping *sp = calloc(1, sizeof *sp);
	if (!gr || !sp)
		goto out;
	for (size_t i = 0; i < c->nprocs; i++)
		group_add(gr, c->procs[i].spawned_as, c->procs[i].pc_mfa, i);
	const group *dom = dominant(gr);
	const bd_proc *culprit = NULL;
	const char *label = "?";
	if (dom) {
		const bd_proc *ex = &c->procs[dom->example];
		for (size_t i = 0; i < c->nprocs; i++)
			if (c->procs[i].spawned_as == dom->key && c->procs[i].pc_mfa == dom->key2)
				group_add(sp, pid_key(c->procs[i].spawned_by), NULL, i);
		const group *s = dominant(sp);
		if (s && s->count * 2 >= dom->count)
			culprit = bd_proc_by_pid(c->m, c->procs[s->example].spawned_by);
		if (!culprit)
			culprit = ex;
		label = bd_arena_printf(c->arena, "%s in %s",
					an_initial_call(c, ex) ? an_initial_call(c, ex) : "?",
					ex->pc_mfa ? ex->pc_mfa : "?");
	}
	/* The process table's size in =allocated_areas is the limit, where it is known. */
	const char *basis = NULL;
	uint64_t known = an_proc_limit(c, &basis);
	table_kind tk = {BD_F_PROCESS_LIMIT, "processes", "Process table", count,
			 known ? known : BD_UNKNOWN, known && strcmp(basis, "known") ? basis : NULL,
			 usual, "initial call",
			 "Processes are started and never exit: bound them with a pool or a limit "
			 "on accepted work, and make sure each one ends; raise +P only after that"};
	report(c, &tk, dom, culprit, label);
out:
	free(gr);
	free(sp);
}

/* A table whose rows have a name and an owning process: ports (driver, connected
 * process) and ETS tables (name, owner). */
typedef struct owned_rows {
	const void *rows;
	size_t n, size;
	const char *(*name)(const void *row); /* interned: compared by pointer */
	bd_pid (*owner)(const void *row);
	const char *label_pre, *label_post;   /* the dominant group: pre NAME post */
} owned_rows;

static const void *row_at(const owned_rows *r, size_t i)
{
	return (const char *)r->rows + i * r->size;
}

/* Rows grouped by name; the culprit is the process that owns at least half of the
 * dominant group, or a quarter when no other owner has a tenth of its share (a
 * client that leaks sockets: their other ends are spread over one handler each). */
static void owned_table(an_ctx *c, const table_kind *tk, const owned_rows *r)
{
	if (tk->count < MIN_COUNT)
		return;
	grouping *gr = calloc(1, sizeof *gr);
	grouping *own = calloc(1, sizeof *own);
	if (!gr || !own)
		goto out;
	for (size_t i = 0; i < r->n; i++)
		group_add(gr, r->name(row_at(r, i)), NULL, i);
	const group *dom = dominant(gr);
	const bd_proc *culprit = NULL;
	const char *label = "?";
	uint64_t owned = 0;
	if (dom) {
		for (size_t i = 0; i < r->n; i++)
			if (r->name(row_at(r, i)) == dom->key)
				group_add(own, pid_key(r->owner(row_at(r, i))), NULL, i);
		const group *o = dominant(own);
		uint64_t second = 0;
		for (size_t k = 0; o && k < own->n; k++)
			if (&own->g[k] != o && own->g[k].count > second)
				second = own->g[k].count;
		if (o && (o->count * 2 >= dom->count ||
			  (o->count * 4 >= dom->count && second * 10 <= o->count))) {
			culprit = bd_proc_by_pid(c->m, r->owner(row_at(r, o->example)));
			owned = o->count;
		}
		label = bd_arena_printf(c->arena, "%s%s%s", r->label_pre, dom->key ? dom->key : "?",
					r->label_post);
	}
	size_t before = c->nf;
	report(c, tk, dom, culprit, label);
	/* say how many the culprit owns: the rest may be the other ends (one handler
	 * per accepted socket) */
	if (culprit && owned && c->nf > before) {
		an_finding *f = c->f[c->nf - 1];
		an_ev_str(c, f, "owner", "%s", an_proc_label(c, culprit));
		an_ev_count(c, f, "owner_count", owned);
		f->pub.title = bd_arena_printf(c->arena, "%s; %s owned by %s", f->pub.title,
					       an_count(c, owned), an_proc_label(c, culprit));
	}
out:
	free(gr);
	free(own);
}

static const char *port_name(const void *row)
{
	const bd_port *p = row;
	return p->driver ? p->driver : p->name;
}

static bd_pid port_owner(const void *row) { return ((const bd_port *)row)->connected; }

static void ports(an_ctx *c)
{
	static const uint64_t usual[] = {1024, 4096, 65536, 0};
	size_t np;
	const bd_port *pt = bd_model_ports(c->m, &np);
	const bd_limits *lim = bd_model_limits(c->m);
	uint64_t count = lim->ports != BD_UNKNOWN ? lim->ports : np;
	table_kind tk = {BD_F_PORT_LIMIT, "ports", "Port table", count, lim->ports_limit, NULL, usual,
			 "driver",
			 "Sockets or files are opened and never closed (look at who owns them): close "
			 "them on every path (or let the owner exit); raise +Q / ulimit -n only after"};
	owned_rows r = {pt, np, sizeof *pt, port_name, port_owner, "", " ports"};
	owned_table(c, &tk, &r);
}

static const char *ets_name(const void *row) { return ((const bd_ets *)row)->name; }

static bd_pid ets_owner(const void *row) { return ((const bd_ets *)row)->owner; }

static void ets_tables(an_ctx *c)
{
	static const uint64_t usual[] = {1400, 8192, 0};
	size_t ne;
	const bd_ets *t = bd_model_ets(c->m, &ne);
	const bd_limits *lim = bd_model_limits(c->m);
	uint64_t count = lim->ets != BD_UNKNOWN ? lim->ets : ne;
	table_kind tk = {BD_F_ETS_LIMIT, "tables", "ETS table count", count, lim->ets_limit, NULL, usual,
			 "name",
			 "Tables are created and never deleted: delete them when done, or let their "
			 "owner exit; use one shared table instead of one per request"};
	owned_rows r = {t, ne, sizeof *t, ets_name, ets_owner, "tables named ", ""};
	owned_table(c, &tk, &r);
}

void an_limits(an_ctx *c)
{
	processes(c);
	ports(c);
	ets_tables(c);
}
