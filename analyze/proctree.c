/* Who belongs to whom: every process placed under its supervisor (or spawner) and
 * attributed to an application, with the process count and memory of each subtree
 * (observer's Applications tab, over a dump).
 *
 * The parent of a process is the first entry of its $ancestors (proc_lib: the
 * supervisor or the process that started it), else its Spawned by. Applications come
 * from their masters (an_apps_build, context.c); a process belongs to the application
 * of its nearest placed ancestor, the rule analyze uses for finding subjects. Hostile
 * dumps can make parents form cycles: a cycle is cut where the walk meets it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "an_int.h"

typedef struct dict_job dict_job;
struct bd_proc_tree_priv {
	bd_arena arena;
	struct dict_job *jobs; /* their interned $initial_call texts live until the free */
	bd_proc_place *place;
	bd_app *apps;
};

enum { ANC_ITEMS = 4 };

static void opts_defaults(bd_proc_tree_opts *o)
{
	if (!o->max_decodes)
		o->max_decodes = 1000000;
	if (!o->max_heap_bytes)
		o->max_heap_bytes = (uint64_t)1 << 30;
	if (!o->max_heap_one)
		o->max_heap_one = (uint64_t)64 << 20;
}

typedef struct build {
	const bd_model *m;
	const bd_proc *procs;
	size_t n;
	bd_proc_tree_opts o;
	bd_proc_tree *t;
	bd_proc_place *place;
	bd_strmap names;       /* registered name -> process index */
	int word_size;
} build;

static uint32_t index_of(const build *b, const bd_proc *p)
{
	return p ? (uint32_t)(p - b->procs) : BD_NO_PROC;
}

/* One $ancestors entry: a pid, or a registered name as the VM prints it. */
static uint32_t resolve(build *b, const bd_term *t)
{
	if (!t)
		return BD_NO_PROC;
	if (t->kind == BD_T_PID)
		return index_of(b, bd_proc_by_pid(b->m, t->u.pid));
	if (t->kind != BD_T_ATOM)
		return BD_NO_PROC;
	char buf[512];
	size_t len = bd_term_fmt(t, buf, sizeof buf, 0, 0);
	int64_t v = bd_strmap_get(&b->names, buf, len);
	return v < 0 ? BD_NO_PROC : (uint32_t)v;
}

/* Reading dictionaries is the costly part (a heap opened per proc_lib process): two
 * threads share it, each with its half of the budget and its own copies of the
 * initial calls. The model is safe to read from two threads once one heap was
 * opened (that fills its literal index); a snapshot's reader locks itself. */
typedef struct dict_job {
	build *b;
	const uint32_t *order; /* the processes to read, most useful first */
	size_t norder, first, step; /* this job takes order[first], order[first + step]... */
	bd_intern calls;
	bd_arena arena;
	uint64_t decoded, degraded, heap_bytes;
	uint64_t max_decodes, max_heap_bytes;
	double deadline;       /* monotonic seconds, 0 = none */
} dict_job;

static double mono_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* $initial_call and $ancestors of process i, within the job's budget. */
static void read_dictionary(dict_job *j, size_t i)
{
	build *b = j->b;
	const bd_proc *p = &b->procs[i];
	bd_proc_place *pl = &b->place[i];
	if (j->decoded >= j->max_decodes || p->sec_heap.len > b->o.max_heap_one ||
	    j->heap_bytes + p->sec_heap.len > j->max_heap_bytes) {
		j->degraded++;
		return;
	}
	bd_heap *h = NULL;
	j->decoded++;
	j->heap_bytes += p->sec_heap.len;
	if (bd_heap_open(&h, b->m, p, NULL))
		return;
	char ic[256];
	bd_term_mfa(bd_heap_dict_get(h, "$initial_call"), ic, sizeof ic);
	if (ic[0])
		pl->initial_call = bd_intern_str(&j->calls, ic, strlen(ic));
	const bd_term *items[ANC_ITEMS];
	const bd_term *anc = bd_heap_dict_get(h, "$ancestors");
	int64_t na = anc ? bd_term_list(anc, items, ANC_ITEMS) : 0;
	for (int64_t k = 0; k < na && k < ANC_ITEMS && pl->parent == BD_NO_PROC; k++) {
		uint32_t q = resolve(b, items[k]);
		if (q != (uint32_t)i)
			pl->parent = q;
		if (q == BD_NO_PROC && pl->parent == BD_NO_PROC)
			pl->via = BD_VIA_ANCESTORS_GONE;
	}
	if (pl->parent != BD_NO_PROC)
		pl->via = BD_VIA_ANCESTORS;
	bd_heap_free(h);
}

static void *dict_run(void *arg)
{
	dict_job *j = arg;
	size_t k = j->first;
	for (size_t done = 0; k < j->norder; k += j->step, done++) {
		if (j->deadline > 0 && (done & 255) == 255 && mono_now() > j->deadline)
			break;
		read_dictionary(j, j->order[k]);
	}
	for (; k < j->norder; k += j->step) /* past the deadline */
		j->degraded++;
	return NULL;
}

enum { DICT_THREADS = 2, THREAD_MIN = 20000 };

/* Most useful first: processes whose spawner is not in the dump (without their
 * $ancestors they would be roots), then by memory, largest first. */
typedef struct useful {
	uint64_t key; /* orphans above everything, then memory */
	uint32_t i;
} useful;

static int cmp_useful(const void *x, const void *y)
{
	const useful *a = x, *c = y;
	if (a->key != c->key)
		return a->key < c->key ? 1 : -1;
	return a->i < c->i ? -1 : a->i > c->i;
}

static void order_useful(build *b, uint32_t *order, size_t n)
{
	useful *u = malloc((n + 1) * sizeof *u);
	if (!u)
		return; /* model order then */
	for (size_t k = 0; k < n; k++) {
		const bd_proc *p = &b->procs[order[k]];
		int orphan = !bd_pid_valid(p->spawned_by) || !bd_proc_by_pid(b->m, p->spawned_by);
		uint64_t mem = an_val(p->memory) >> 1;
		u[k] = (useful){orphan ? UINT64_MAX : mem, order[k]};
	}
	qsort(u, n, sizeof *u, cmp_useful);
	for (size_t k = 0; k < n; k++)
		order[k] = u[k].i;
	free(u);
}

static int read_dictionaries(build *b)
{
	dict_job *jobs = b->t->priv->jobs;
	size_t nj = b->n >= THREAD_MIN ? DICT_THREADS : 1, n = 0;
	for (size_t i = 0; i < b->n; i++) {
		bd_proc_place *pl = &b->place[i];
		pl->parent = pl->first_child = pl->next_sibling = pl->app = BD_NO_PROC;
		pl->initial_call = b->procs[i].spawned_as;
	}
	uint32_t *order = malloc((b->n + 1) * sizeof *order);
	if (!order)
		return BD_ENOMEM;
	for (size_t i = 0; i < b->n; i++)
		if (b->procs[i].sec_dictionary.len)
			order[n++] = (uint32_t)i;
	if (b->o.max_seconds > 0 || n > b->o.max_decodes) /* not all may be read */
		order_useful(b, order, n);
	/* One heap opened here first: later opens only read the model's caches. */
	for (size_t i = 0; i < b->n; i++) {
		bd_heap *h = NULL;
		if (b->procs[i].sec_heap.len && bd_heap_open(&h, b->m, &b->procs[i], NULL) == 0) {
			bd_heap_free(h);
			break;
		}
	}
	double deadline = b->o.max_seconds > 0 ? mono_now() + b->o.max_seconds : 0;
	for (size_t k = 0; k < nj; k++) {
		dict_job *j = &jobs[k];
		j->b = b;
		j->order = order;
		j->norder = n;
		j->first = k;
		j->step = nj;
		j->calls.arena = &j->arena;
		j->max_decodes = b->o.max_decodes / nj;
		j->max_heap_bytes = b->o.max_heap_bytes / nj;
		j->deadline = deadline;
	}
	pthread_t tid;
	int threaded = nj > 1 && pthread_create(&tid, NULL, dict_run, &jobs[1]) == 0;
	dict_run(&jobs[0]);
	if (threaded)
		pthread_join(tid, NULL);
	else if (nj > 1)
		dict_run(&jobs[1]);
	free(order);
	for (size_t k = 0; k < nj; k++) {
		b->t->decoded += jobs[k].decoded;
		b->t->degraded += jobs[k].degraded;
		if (jobs[k].arena.failed)
			return BD_ENOMEM;
	}
	return 0;
}

/* What the dictionary did not say: the spawner, an application master's place. */
static void place_one(build *b, size_t i)
{
	const bd_proc *p = &b->procs[i];
	bd_proc_place *pl = &b->place[i];
	if (pl->parent == BD_NO_PROC && bd_pid_valid(p->spawned_by)) {
		uint32_t q = index_of(b, bd_proc_by_pid(b->m, p->spawned_by));
		if (q != BD_NO_PROC && q != (uint32_t)i) {
			pl->parent = q;
			pl->via = BD_VIA_SPAWNER;
		}
	}
	/* An application master's $ancestors and spawner are application_controller's
	 * short-lived helper: it hangs under application_controller, as in observer. */
	if (pl->parent == BD_NO_PROC && pl->initial_call &&
	    !strcmp(pl->initial_call, "application_master:init/4")) {
		int64_t ac = bd_strmap_get(&b->names, "application_controller", 22);
		if (ac >= 0 && (size_t)ac != i) {
			pl->parent = (uint32_t)ac;
			pl->via = BD_VIA_APP_CONTROLLER;
		}
	}
	pl->supervisor = pl->initial_call && !strncmp(pl->initial_call, "supervisor:", 11);
	uint64_t mem = p->memory;
	if (mem == BD_UNKNOWN)
		mem = an_val(p->stack_heap) * (uint64_t)b->word_size +
		      an_val(p->old_heap) * (uint64_t)b->word_size;
	pl->memory = mem;
}

/* Cut every cycle of parent edges: walk up from each process; meeting a process of
 * the current walk means a cycle, broken at the process where the walk met it. */
static int cut_cycles(build *b)
{
	uint8_t *mark = calloc(b->n ? b->n : 1, 1); /* 0 new, 1 on this walk, 2 done */
	if (!mark)
		return BD_ENOMEM;
	for (size_t i = 0; i < b->n; i++) {
		uint32_t k = (uint32_t)i;
		while (k != BD_NO_PROC && !mark[k]) {
			mark[k] = 1;
			uint32_t up = b->place[k].parent;
			if (up != BD_NO_PROC && mark[up] == 1) {
				b->place[k].parent = BD_NO_PROC;
				b->place[k].via = BD_VIA_CYCLE;
				up = BD_NO_PROC;
			}
			k = up;
		}
		for (k = (uint32_t)i; k != BD_NO_PROC && mark[k] == 1; k = b->place[k].parent)
			mark[k] = 2;
	}
	free(mark);
	return 0;
}

/* Applications of the masters and their start_it helpers, by name (one entry per
 * name), then every process inherits the application of its nearest ancestor. */
/* Index of the application called name, added when new; -1 when there is no room
 * (a hostile capture may name a million applications: the rest go without). */
enum { MAX_APPS = 4096 };
static int64_t app_index(build *b, bd_vec *apps, bd_strmap *names, const char *name,
			 uint32_t master)
{
	int64_t a = bd_strmap_get(names, name, strlen(name));
	if (a >= 0) {
		bd_app *x = &BD_VEC_AT(apps, bd_app, a);
		if (x->master == BD_NO_PROC)
			x->master = master;
		return a;
	}
	const char *copy = bd_arena_strdup(&b->t->priv->arena, name);
	bd_app *x = copy ? bd_vec_push(apps) : NULL;
	if (!x)
		return -1;
	x->name = copy;
	x->master = master;
	if (bd_strmap_put(names, copy, strlen(copy), (uint32_t)(apps->len - 1)) < 0) {
		apps->len--;
		return -1;
	}
	return (int64_t)(apps->len - 1);
}

/* Applications from their masters' stacks (dumps); a live capture knows each
 * process's application exactly (its group leader, bd_proc_ext.application). */
static int attribute_apps(build *b)
{
	an_ctx c;
	memset(&c, 0, sizeof c);
	c.m = b->m;
	c.arena = &b->t->priv->arena;
	c.word_size = b->word_size;
	c.procs = b->procs;
	c.nprocs = b->n;
	c.links = bd_model_links(b->m, &c.nlinks);
	an_apps_build(&c);
	bd_vec apps = BD_VEC_INIT(bd_app, MAX_APPS);
	bd_strmap names = {0};
	for (size_t i = 0; i < c.napps; i++) {
		uint32_t k = index_of(b, bd_proc_by_pid(b->m, c.apps[i].pid));
		int64_t a = k == BD_NO_PROC ? -1 : app_index(b, &apps, &names, c.apps[i].name, k);
		if (a >= 0)
			b->place[k].app = (uint32_t)a;
	}
	/* A text dump has no group leaders: its rows are not read again for nothing. */
	const char *src = bd_model_node(b->m)->source;
	for (size_t i = 0; src && strcmp(src, "erl_crash.dump") && i < b->n; i++) {
		bd_proc_ext x;
		if (bd_proc_ext_get(b->m, &b->procs[i], &x) || !x.application)
			continue;
		const char *ic = b->place[i].initial_call;
		int master = ic && !strcmp(ic, "application_master:init/4");
		int64_t a = app_index(b, &apps, &names, x.application, master ? (uint32_t)i : BD_NO_PROC);
		if (a >= 0)
			b->place[i].app = (uint32_t)a;
	}
	bd_strmap_free(&names);
	for (size_t i = 0; i < c.nheaps; i++)
		bd_heap_free(c.heaps[i].h);
	free(c.heaps);
	free(c.apps);
	b->t->priv->apps = apps.data;
	b->t->apps = apps.data;
	b->t->napps = apps.len;
	return b->t->priv->arena.failed ? BD_ENOMEM : 0;
}

/* The application of i: its own, else its parent's (memoized along the walk). */
static void inherit_apps(build *b, uint32_t *path)
{
	uint8_t *done = calloc(b->n ? b->n : 1, 1);
	if (!done)
		return;
	for (size_t i = 0; i < b->n; i++) {
		size_t len = 0;
		uint32_t k = (uint32_t)i;
		while (k != BD_NO_PROC && !done[k] && b->place[k].app == BD_NO_PROC) {
			path[len++] = k;
			k = b->place[k].parent;
		}
		uint32_t app = k == BD_NO_PROC ? BD_NO_PROC : b->place[k].app;
		if (k != BD_NO_PROC)
			done[k] = 1;
		while (len)
			b->place[path[--len]].app = app, done[path[len]] = 1;
	}
	free(done);
}

static const bd_proc_place *g_place;
static int cmp_subtree(const void *x, const void *y)
{
	const bd_proc_place *a = &g_place[*(const uint32_t *)x], *c = &g_place[*(const uint32_t *)y];
	if (a->subtree_memory != c->subtree_memory)
		return a->subtree_memory < c->subtree_memory ? 1 : -1;
	return *(const uint32_t *)x < *(const uint32_t *)y ? -1 : 1;
}

/* Children lists, subtree sums (post-order), siblings by subtree memory. */
static int link_children(build *b, uint32_t *order)
{
	bd_proc_place *pl = b->place;
	for (size_t i = b->n; i-- > 0;) {
		uint32_t up = pl[i].parent;
		if (up == BD_NO_PROC)
			continue;
		pl[i].next_sibling = pl[up].first_child;
		pl[up].first_child = (uint32_t)i;
	}
	/* Breadth-first order from the roots; summing it backwards is a post-order. */
	size_t len = 0;
	for (size_t i = 0; i < b->n; i++)
		if (pl[i].parent == BD_NO_PROC)
			order[len++] = (uint32_t)i;
	for (size_t h = 0; h < len; h++)
		for (uint32_t c = pl[order[h]].first_child; c != BD_NO_PROC; c = pl[c].next_sibling)
			order[len++] = c;
	for (size_t i = 0; i < len; i++) {
		pl[order[i]].subtree_procs = 1;
		pl[order[i]].subtree_memory = pl[order[i]].memory;
	}
	for (size_t i = len; i-- > 0;) {
		uint32_t up = pl[order[i]].parent;
		if (up != BD_NO_PROC) {
			pl[up].subtree_procs += pl[order[i]].subtree_procs;
			pl[up].subtree_memory += pl[order[i]].subtree_memory;
		}
	}
	/* Sort each child list; one scratch array reused (a list is at most n long). */
	uint32_t *kids = malloc((b->n ? b->n : 1) * sizeof *kids);
	if (!kids)
		return BD_ENOMEM;
	g_place = pl;
	for (size_t i = 0; i < b->n; i++) {
		size_t k = 0;
		for (uint32_t c = pl[i].first_child; c != BD_NO_PROC; c = pl[c].next_sibling)
			kids[k++] = c;
		if (k < 2)
			continue;
		qsort(kids, k, sizeof *kids, cmp_subtree);
		pl[i].first_child = kids[0];
		for (size_t j = 0; j + 1 < k; j++)
			pl[kids[j]].next_sibling = kids[j + 1];
		pl[kids[k - 1]].next_sibling = BD_NO_PROC;
	}
	free(kids);
	return 0;
}

static int cmp_app(const void *x, const void *y)
{
	const bd_app *a = x, *c = y;
	if (a->memory != c->memory)
		return a->memory < c->memory ? 1 : -1;
	return strcmp(a->name, c->name);
}

/* Totals per application; apps sorted by memory with the indices remapped. */
static int app_totals(build *b)
{
	bd_proc_tree *t = b->t;
	bd_app *apps = t->priv->apps;
	for (size_t i = 0; i < b->n; i++) {
		uint32_t a = b->place[i].app;
		if (a == BD_NO_PROC) {
			t->other_procs++;
			t->other_memory += b->place[i].memory;
		} else {
			apps[a].procs++;
			apps[a].memory += b->place[i].memory;
		}
	}
	if (!t->napps)
		return 0;
	size_t na = t->napps;
	bd_app *sorted = malloc(na * sizeof *sorted);
	uint32_t *remap = malloc(na * sizeof *remap);
	if (!sorted || !remap) {
		free(sorted);
		free(remap);
		return BD_ENOMEM;
	}
	memcpy(sorted, apps, t->napps * sizeof *apps);
	qsort(sorted, t->napps, sizeof *sorted, cmp_app);
	/* Names are unique: find each app's new place by its name. */
	for (size_t a = 0; a < t->napps; a++)
		for (size_t k = 0; k < t->napps; k++)
			if (sorted[k].name == apps[a].name)
				remap[a] = (uint32_t)k;
	memcpy(apps, sorted, t->napps * sizeof *apps);
	for (size_t i = 0; i < b->n; i++)
		if (b->place[i].app != BD_NO_PROC)
			b->place[i].app = remap[b->place[i].app];
	free(sorted);
	free(remap);
	return 0;
}

static int build_names(build *b)
{
	for (size_t i = 0; i < b->n; i++) {
		const char *nm = b->procs[i].name;
		if (nm && bd_strmap_put(&b->names, nm, strlen(nm), (uint32_t)i) < 0)
			return BD_ENOMEM;
	}
	return 0;
}

int bd_proc_tree_build(bd_proc_tree **out, const bd_model *m, const bd_proc_tree_opts *o,
		       bd_error *err)
{
	bd_proc_tree_opts def = BD_PROC_TREE_OPTS_INIT;
	*out = NULL;
	if (!o)
		o = &def;
	if (o->version != BD_PROC_TREE_OPTS_VERSION)
		return bd_error_set(err, BD_EUSAGE, 0, "bd_proc_tree_build: options version %u, expected %u",
				    o->version, BD_PROC_TREE_OPTS_VERSION);
	build b;
	memset(&b, 0, sizeof b);
	b.m = m;
	b.o = *o;
	opts_defaults(&b.o);
	b.procs = bd_model_procs(m, &b.n);
	b.word_size = bd_model_node(m)->word_size ? bd_model_node(m)->word_size : 8;
	bd_proc_tree *t = calloc(1, sizeof *t);
	struct bd_proc_tree_priv *priv = calloc(1, sizeof *priv);
	if (!t || !priv) {
		free(t);
		free(priv);
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory while placing processes");
	}
	t->priv = priv;
	priv->jobs = calloc(DICT_THREADS, sizeof *priv->jobs);
	b.t = t;
	b.place = priv->place = calloc(b.n ? b.n : 1, sizeof *b.place);
	t->place = b.place;
	t->nprocs = b.n;
	uint32_t *scratch = malloc((b.n ? b.n : 1) * sizeof *scratch);
	int rc = !b.place || !scratch || !priv->jobs ? BD_ENOMEM : build_names(&b);
	if (!rc)
		rc = read_dictionaries(&b);
	for (size_t i = 0; !rc && i < b.n; i++)
		place_one(&b, i);
	if (!rc)
		rc = cut_cycles(&b);
	if (!rc)
		rc = attribute_apps(&b);
	if (!rc) {
		inherit_apps(&b, scratch);
		rc = link_children(&b, scratch);
	}
	if (!rc)
		rc = app_totals(&b);
	if (!rc && priv->arena.failed)
		rc = BD_ENOMEM;
	free(scratch);
	bd_strmap_free(&b.names);
	if (rc) {
		bd_proc_tree_free(t);
		return bd_error_set(err, rc, 0, "out of memory while placing processes");
	}
	*out = t;
	return 0;
}

void bd_proc_tree_free(bd_proc_tree *t)
{
	if (!t)
		return;
	if (t->priv) {
		for (size_t k = 0; t->priv->jobs && k < DICT_THREADS; k++) {
			bd_intern_free(&t->priv->jobs[k].calls);
			bd_arena_free(&t->priv->jobs[k].arena);
		}
		free(t->priv->jobs);
		bd_arena_free(&t->priv->arena);
		free(t->priv->place);
		free(t->priv->apps);
		free(t->priv);
	}
	free(t);
}
