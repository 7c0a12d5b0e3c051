/* Supervision context for subjects: $initial_call, the supervisor chain from
 * $ancestors, and the owning application.
 *
 * Application heuristic (documented in docs/json.md): every application master
 * (application_master:main_loop/2) holds #state{child = StartItPid, appl_data =
 * #appl_data{name = App}} in its stack; StartItPid runs application_master:loop_it/4
 * and is the parent of the application's top supervisor, so it is the last entry
 * of $ancestors of every process of that application. A process without
 * $ancestors (plain spawn) is followed up its Spawned by chain. A live capture knows
 * each process's application exactly (its group leader is the application master):
 * bd_proc_ext.application. */
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

enum { MAX_ANCESTORS = 12, MAX_SPAWN_HOPS = 8 };

/* {appl_data, Name, ...} anywhere in t, two levels deep. */
static const bd_term *find_appl_data(const bd_term *t, int depth)
{
	if (!t || t->kind != BD_T_TUPLE || depth > 2)
		return NULL;
	if (t->n > 1 && bd_term_is_atom(bd_term_elem(t, 0), "appl_data") &&
	    bd_term_elem(t, 1)->kind == BD_T_ATOM)
		return bd_term_elem(t, 1);
	for (uint32_t i = 0; i < t->n && i < 8; i++) {
		const bd_term *r = find_appl_data(t->u.elems[i], depth + 1);
		if (r)
			return r;
	}
	return NULL;
}

static void add_app(an_ctx *c, bd_pid pid, const char *name)
{
	an_app *g = realloc(c->apps, (c->napps + 1) * sizeof *g);
	if (!g)
		return;
	c->apps = g;
	c->apps[c->napps].pid = pid;
	c->apps[c->napps++].name = name;
}

/* Read one master's stack: map it and its linked start_it helper to the name. */
static void read_master(an_ctx *c, const bd_proc *p)
{
	bd_heap *h = an_heap(c, p);
	bd_frame *fr;
	size_t nf;
	bd_error err = {0};
	if (!h || bd_heap_stack(h, &fr, &nf, &err) || !nf)
		return;
	const bd_term *name = NULL;
	for (uint32_t i = 0; i < fr[0].nslots && !name; i++)
		name = find_appl_data(fr[0].slots[i].term, 0);
	if (!name)
		return;
	char buf[256];
	bd_term_fmt(name, buf, sizeof buf, 0, 0); /* as the VM prints the atom */
	const char *app = bd_arena_strdup(c->arena, buf);
	add_app(c, p->pid, app);
	for (uint32_t i = 0; i < p->link_count && p->link_first + i < c->nlinks; i++) {
		const bd_link *l = &c->links[p->link_first + i];
		const bd_proc *q = l->kind == BD_LINK ? bd_proc_by_pid(c->m, l->id) : NULL;
		if (q && q->spawned_as && !strcmp(q->spawned_as, "application_master:start_it/4"))
			add_app(c, q->pid, app);
	}
}

void an_apps_build(an_ctx *c)
{
	if (c->apps_built)
		return;
	c->apps_built = 1;
	for (size_t i = 0; i < c->nprocs; i++) {
		const bd_proc *p = &c->procs[i];
		if (p->pc_mfa && !strcmp(p->pc_mfa, "application_master:main_loop/2"))
			read_master(c, p);
	}
}

/* The application the source knew exactly (a live capture's group leader), or NULL.
 * A text dump has no group leaders: its rows are not read again for nothing. */
static const char *known_app(an_ctx *c, const bd_proc *p)
{
	const char *src = bd_model_node(c->m)->source;
	bd_proc_ext x;
	if (!src || !strcmp(src, "erl_crash.dump") || bd_proc_ext_get(c->m, p, &x))
		return NULL;
	return x.application;
}

static const char *app_of_pid(an_ctx *c, bd_pid pid)
{
	for (size_t i = 0; i < c->napps; i++)
		if (bd_pid_eq(c->apps[i].pid, pid))
			return c->apps[i].name;
	return NULL;
}

/* One $ancestors entry as text; resolves names to processes and back. */
static const char *ancestor_label(an_ctx *c, const bd_term *t, const bd_proc **proc)
{
	char buf[128];
	*proc = NULL;
	if (t->kind == BD_T_PID) {
		*proc = bd_proc_by_pid(c->m, t->u.pid);
		return *proc ? an_proc_label(c, *proc) : an_pid_str(c, t->u.pid);
	}
	if (t->kind == BD_T_ATOM) {
		/* Printed like the registered names of the dump ('Elixir.Foo' quoted). */
		bd_term_fmt(t, buf, sizeof buf, 0, 0);
		*proc = bd_proc_find(c->m, buf);
		return bd_arena_strdup(c->arena, buf);
	}
	bd_term_fmt(t, buf, sizeof buf, 2, 4);
	return bd_arena_strdup(c->arena, buf);
}

/* Fill ancestors of s from p's dictionary; returns the application found there. */
static const char *read_ancestors(an_ctx *c, const bd_proc *p, bd_subject *s)
{
	bd_heap *h = p->sec_dictionary.len ? an_heap(c, p) : NULL;
	const bd_term *anc = h ? bd_heap_dict_get(h, "$ancestors") : NULL;
	const bd_term *items[MAX_ANCESTORS];
	int64_t n = anc ? bd_term_list(anc, items, MAX_ANCESTORS) : 0;
	if (n <= 0)
		return NULL;
	if (n > MAX_ANCESTORS)
		n = MAX_ANCESTORS;
	const char **labels = s ? bd_arena_alloc(c->arena, (size_t)n * sizeof *labels) : NULL;
	const char *app = NULL;
	for (int64_t i = 0; i < n; i++) {
		const bd_proc *q;
		const char *l = ancestor_label(c, items[i], &q);
		if (labels)
			labels[i] = l;
		if (q && !app)
			app = known_app(c, q) ? known_app(c, q) : app_of_pid(c, q->pid);
	}
	if (s && labels) {
		s->ancestors = labels;
		s->nancestors = (uint32_t)n;
	}
	return app;
}

static const char *app_of_proc(an_ctx *c, const bd_proc *p, bd_subject *s)
{
	/* Exact when the source knew the group leader (a live capture). */
	const char *known = known_app(c, p);
	const char *app = known ? known : app_of_pid(c, p->pid);
	if (known)
		read_ancestors(c, p, s);
	if (!app)
		app = read_ancestors(c, p, s);
	/* Plain spawns: ask the spawner, then its spawner. */
	const bd_proc *q = p;
	for (int hop = 0; !app && hop < MAX_SPAWN_HOPS; hop++) {
		if (!bd_pid_valid(q->spawned_by) || !(q = bd_proc_by_pid(c->m, q->spawned_by)))
			break;
		app = known_app(c, q) ? known_app(c, q) : app_of_pid(c, q->pid);
		if (!app)
			app = read_ancestors(c, q, NULL);
	}
	return app;
}

enum { MAX_LINKS = 8 };

/* Links (not monitors) of p as labels. */
static void fill_links(an_ctx *c, bd_subject *s, const bd_proc *p)
{
	const char **labels = bd_arena_alloc(c->arena, MAX_LINKS * sizeof *labels);
	char b[48];
	if (!labels)
		return;
	for (uint32_t i = 0; i < p->link_count && p->link_first + i < c->nlinks; i++) {
		const bd_link *l = &c->links[p->link_first + i];
		if (l->kind != BD_LINK)
			continue;
		s->links_total++;
		if (s->nlinks == MAX_LINKS)
			continue;
		const bd_proc *q = l->target_kind == BD_TGT_PID ? bd_proc_by_pid(c->m, l->id) : NULL;
		if (q)
			labels[s->nlinks++] = an_proc_label(c, q);
		else if (l->target_kind == BD_TGT_PORT)
			labels[s->nlinks++] =
				bd_arena_strdup(c->arena, bd_port_fmt(l->id, b, sizeof b));
		else if (l->target_kind == BD_TGT_PID)
			labels[s->nlinks++] = an_pid_str(c, l->id);
	}
	s->links = labels;
}

static void fill(an_ctx *c, bd_subject *s, const bd_proc *p)
{
	if (!p)
		return;
	fill_links(c, s, p);
	bd_pname_source src;
	const char *name = p->name ? NULL : an_proc_name(c, p, &src);
	if (name && src >= BD_PNAME_VIA && !s->label)
		s->label = name;
	const char *ic = an_initial_call(c, p);
	if (ic)
		s->initial_call = ic;
	const char *app = app_of_proc(c, p, s);
	if (app && !s->application)
		s->application = app;
}

void an_context(an_ctx *c, size_t n)
{
	an_apps_build(c);
	for (size_t i = 0; i < n && i < c->nf; i++) {
		an_finding *f = c->f[i];
		fill(c, &f->pub.subject, f->subj_proc);
		for (uint32_t j = 0; j < f->pub.nrelated; j++)
			fill(c, &f->rel[j], f->rel_proc[j]);
	}
}
