/* beamdump diff: two models compared table by table. Processes are keyed (name,
 * initial call + named ancestors, pid) and grouped, so dumps of two runs of one
 * program line up; the rest (ETS, ports, atoms, binaries, memory, allocators) is
 * compared with hash maps in one pass per table. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beamdump/analyze.h"
#include "beamdump/term.h"
#include "diff_int.h"

/* ---- arena strings ---- */

const char *df_strndup(bd_arena *a, const char *s, size_t n)
{
	const char *d = bd_arena_strndup(a, s, n);
	return d ? d : "";
}

const char *df_printf(bd_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const char *s = bd_arena_vprintf(a, fmt, ap);
	va_end(ap);
	return s ? s : "";
}

/* ---- the run ---- */

enum { KEY_CACHE = 1024, GROUP_CACHE = 4096 };

typedef struct side {
	const bd_model *m;
	const bd_proc *procs;
	size_t nprocs;
	int word_size;
	const char **keys;   /* per process: display key (arena) */
	const char **labels; /* per process: label pattern (arena), NULL if none */
	uint8_t *kinds;      /* bd_key_kind */
	uint32_t *group;     /* per process: index into the groups */
	uint32_t decodes;
	uint64_t heap_bytes;
	bd_arena *arena;     /* keys: one arena per side, so sides can be keyed in parallel */
	struct key_cache {   /* (spawned_as, current function) -> key */
		const char *spawned_as, *cur, *key;
	} *kcache;
	struct group_cache { /* key pointer -> group */
		const char *key;
		uint32_t kind, group;
	} *gcache;
	uint64_t degraded;
	struct run *r;
	int rc;
} side;

typedef struct run {
	bd_diff *d;
	bd_arena *arena;
	bd_diff_opts o;
	int oom;
	/* growable result arrays */
	bd_diff_pgroup *pg;
	size_t npg, cappg;
} run;

static uint64_t z(uint64_t v) { return v == BD_UNKNOWN ? 0 : v; }

static uint64_t words(const side *s, uint64_t w) { return z(w) * (uint64_t)s->word_size; }

static uint64_t proc_memory(const side *s, const bd_proc *p)
{
	if (p->memory != BD_UNKNOWN)
		return p->memory;
	return words(s, p->stack_heap) + words(s, p->old_heap);
}

/* " < sup < app_sup": the registered names among $ancestors (pids that have a name
 * in this dump count by that name; unnamed pids differ between runs, so they are
 * left out). At most 3. */
static void ancestors_text(const side *s, const bd_term *t, char *buf, size_t cap)
{
	const bd_term *items[16];
	size_t k = 0;
	buf[0] = 0;
	int64_t n = t ? bd_term_list(t, items, 16) : -1;
	for (int64_t i = 0; i < n && i < 16 && k < 3; i++) {
		const bd_term *it = items[i];
		const char *name = NULL;
		size_t len = 0;
		char atom[128];
		if (it->kind == BD_T_ATOM) {
			/* As the VM prints it, like the registered names of pids below. */
			len = bd_term_fmt(it, atom, sizeof atom, 0, 0);
			name = atom;
		} else if (it->kind == BD_T_PID && (name = bd_pid_name(s->m, it->u.pid)) != NULL) {
			len = strlen(name);
		}
		if (!name)
			continue;
		char item[128];
		snprintf(item, sizeof item, " < %.*s", (int)len, name);
		if (strstr(buf, item)) /* a pid of a named process named again */
			continue;
		size_t used = strlen(buf);
		snprintf(buf + used, cap - used, "%s", item);
		k++;
	}
}

static const char *current_mfa(const bd_proc *p)
{
	return p->pc_mfa ? p->pc_mfa : p->current_call ? p->current_call : "?";
}

/* The pattern of p's label, process_name or via name (read through h), or NULL. */
static const char *label_pattern(side *s, const bd_proc *p, bd_heap *h)
{
	char name[256], pat[256];
	bd_pname_source src = bd_proc_name(s->m, p, h, name, sizeof name);
	if (src < BD_PNAME_VIA || src == BD_PNAME_REGISTERED)
		return NULL;
	bd_atom_pattern(name, strlen(name), pat, sizeof pat);
	return df_strndup(s->arena, pat, strlen(pat));
}

/* The key of one process: bd_key_kind and display text; *label its label pattern. */
static const char *proc_key(run *r, side *s, const bd_proc *p, uint8_t *kind, const char **label)
{
	char pidb[48];
	if (p->name) {
		*kind = BD_KEY_NAME;
		return p->name;
	}
	if (!p->spawned_as) {
		*kind = BD_KEY_PID;
		bd_pid_fmt(p->pid, pidb, sizeof pidb);
		return df_strndup(s->arena, pidb, strlen(pidb));
	}
	*kind = BD_KEY_CALL;
	/* proc_lib processes carry their real initial call and ancestors in the
	 * dictionary, any process its label: decode it while the budget lasts. */
	if (p->sec_dictionary.len) {
		if (s->decodes < r->o.max_key_decodes && p->sec_heap.len <= r->o.max_key_heap_one &&
		    s->heap_bytes + p->sec_heap.len <= r->o.max_key_heap_bytes) {
			bd_heap *h = NULL;
			s->decodes++;
			s->heap_bytes += p->sec_heap.len;
			if (bd_heap_open(&h, s->m, p, NULL) == 0) {
				char ic[256], anc[256];
				*label = label_pattern(s, p, h);
				ic[0] = 0;
				if (!strcmp(p->spawned_as, "proc_lib:init_p/5")) {
					bd_term_mfa(bd_heap_dict_get(h, "$initial_call"), ic, sizeof ic);
					ancestors_text(s, bd_heap_dict_get(h, "$ancestors"), anc,
						       sizeof anc);
				}
				bd_heap_free(h);
				if (ic[0])
					return df_printf(s->arena, "%s%s", ic, anc);
			}
		} else if (!strcmp(p->spawned_as, "proc_lib:init_p/5")) {
			s->degraded++;
		}
	}
	/* A spawned fun (or a proc_lib process whose dictionary was not read) says
	 * nothing by its spawn MFA: add where it runs. Model strings are interned, so
	 * (spawned_as, current) pointers identify the key: cache it (400,000 workers of
	 * one kind make one key). */
	if (!strcmp(p->spawned_as, "erlang:apply/2") || !strcmp(p->spawned_as, "proc_lib:init_p/5")) {
		const char *cur = current_mfa(p);
		size_t j = (((uintptr_t)p->spawned_as >> 3) ^ ((uintptr_t)cur * 31)) & (KEY_CACHE - 1);
		struct key_cache *kc = &s->kcache[j];
		if (kc->spawned_as == p->spawned_as && kc->cur == cur)
			return kc->key;
		kc->spawned_as = p->spawned_as;
		kc->cur = cur;
		kc->key = df_printf(s->arena, "%s @ %s", p->spawned_as, cur);
		return kc->key;
	}
	return p->spawned_as;
}

static size_t keybuf(char *buf, size_t cap, uint8_t kind, const char *key)
{
	int n = snprintf(buf, cap, "%c\x1f%s", '0' + kind, key);
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static int64_t group_of(run *r, uint8_t kind, const char *key)
{
	char buf[600];
	size_t n = keybuf(buf, sizeof buf, kind, key);
	int64_t g = bd_strmap_get(&r->d->priv->pmap, buf, n);
	if (g >= 0)
		return g;
	if (r->npg == r->cappg) {
		size_t cap = r->cappg ? r->cappg * 2 : 256;
		bd_diff_pgroup *np = realloc(r->pg, cap * sizeof *np);
		if (!np)
			return -1;
		r->pg = np;
		r->cappg = cap;
	}
	bd_diff_pgroup *pg = &r->pg[r->npg];
	memset(pg, 0, sizeof *pg);
	pg->key = key;
	pg->kind = (bd_key_kind)kind;
	pg->example_a = pg->example_b = BD_PID_NONE;
	const char *stored = df_strndup(r->arena, buf, n);
	if (bd_strmap_put(&r->d->priv->pmap, stored, n, (uint32_t)r->npg) < 0)
		return -1;
	return (int64_t)r->npg++;
}

static void add_proc(const side *s, bd_diff_procs *t, const bd_proc *p)
{
	t->count++;
	t->memory += proc_memory(s, p);
	t->msgq += z(p->msgq_len);
	t->reductions += z(p->reductions);
	t->binary += z(bd_proc_binary_bytes(s->m, p, NULL));
	t->heap += words(s, p->stack_heap) + words(s, p->old_heap);
}

static int side_init(run *r, side *s, const bd_model *m, bd_arena *arena)
{
	memset(s, 0, sizeof *s);
	s->m = m;
	s->r = r;
	s->arena = arena;
	s->procs = bd_model_procs(m, &s->nprocs);
	s->word_size = bd_model_node(m)->word_size ? bd_model_node(m)->word_size : 8;
	size_t n = s->nprocs ? s->nprocs : 1;
	s->keys = calloc(n, sizeof *s->keys);
	s->labels = calloc(n, sizeof *s->labels);
	s->kinds = calloc(n, 1);
	s->group = calloc(n, sizeof *s->group);
	s->kcache = calloc(KEY_CACHE, sizeof *s->kcache);
	s->gcache = calloc(GROUP_CACHE, sizeof *s->gcache);
	if (!s->keys || !s->labels || !s->kinds || !s->group || !s->kcache || !s->gcache)
		return BD_ENOMEM;
	return 0;
}

/* Key every process of one side. Touches only this side's model, arena and counters:
 * the two sides run on two threads. */
static void *side_keys(void *arg)
{
	side *s = arg;
	for (size_t i = 0; i < s->nprocs; i++)
		s->keys[i] = proc_key(s->r, s, &s->procs[i], &s->kinds[i], &s->labels[i]);
	s->rc = s->arena->failed ? BD_ENOMEM : 0;
	return NULL;
}

/* Keying decodes dictionaries (the costly part on dumps full of proc_lib processes):
 * one side on a helper thread, the other here. */
static int key_sides(side *a, side *b)
{
	pthread_t tid;
	int threaded = a->nprocs + b->nprocs > 20000 && pthread_create(&tid, NULL, side_keys, a) == 0;
	if (!threaded)
		side_keys(a);
	side_keys(b);
	if (threaded)
		pthread_join(tid, NULL);
	return a->rc ? a->rc : b->rc;
}

static void side_free(side *s)
{
	free(s->kcache);
	free(s->gcache);
	free(s->keys);
	free(s->labels);
	free(s->kinds);
	free(s->group);
}

/* A label pattern names a process only while the processes of its call key carry a
 * few distinct patterns (named queues); more, and the labels are per-process ids (one
 * per connection): those stay in their call group, where a leak of them adds up. */
enum { LABELS_PER_CALL = 16 };

typedef struct label_count {
	bd_strmap seen;     /* "call key\x1flabel" pairs counted */
	bd_strmap per_call; /* call key -> index into n */
	uint32_t *n;        /* distinct label patterns per call key */
	size_t len, cap;
} label_count;

static int count_one(label_count *lc, side *s, size_t i)
{
	char buf[600];
	int w = snprintf(buf, sizeof buf, "%s\x1f%s", s->keys[i], s->labels[i]);
	size_t len = w < 0 ? 0 : (size_t)w < sizeof buf ? (size_t)w : sizeof buf - 1;
	if (bd_strmap_get(&lc->seen, buf, len) >= 0)
		return 0;
	if (lc->len == lc->cap) {
		size_t cap = lc->cap ? 2 * lc->cap : 64;
		uint32_t *g = realloc(lc->n, cap * sizeof *g);
		if (!g)
			return BD_ENOMEM;
		lc->n = g;
		lc->cap = cap;
	}
	int64_t k = bd_strmap_put(&lc->per_call, s->keys[i], strlen(s->keys[i]), (uint32_t)lc->len);
	if (k < 0 || bd_strmap_put(&lc->seen, df_strndup(s->arena, buf, len), len, 1) < 0)
		return BD_ENOMEM;
	if ((size_t)k == lc->len)
		lc->n[lc->len++] = 0;
	lc->n[k]++;
	return 0;
}

static int count_labels(label_count *lc, side *s)
{
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->labels[i] && s->kinds[i] == BD_KEY_CALL && count_one(lc, s, i))
			return BD_ENOMEM;
	return 0;
}

static void use_labels(const label_count *lc, side *s)
{
	for (size_t i = 0; i < s->nprocs; i++) {
		if (!s->labels[i] || s->kinds[i] != BD_KEY_CALL)
			continue;
		int64_t k = bd_strmap_get(&lc->per_call, s->keys[i], strlen(s->keys[i]));
		if (k >= 0 && lc->n[k] <= LABELS_PER_CALL) {
			s->keys[i] = s->labels[i];
			s->kinds[i] = BD_KEY_LABEL;
		}
	}
}

/* Label keys, decided over both sides together so that a group lines up. */
static int label_keys(side *a, side *b)
{
	label_count lc = {0};
	int rc = count_labels(&lc, a);
	if (!rc)
		rc = count_labels(&lc, b);
	if (!rc) {
		use_labels(&lc, a);
		use_labels(&lc, b);
	}
	bd_strmap_free(&lc.seen);
	bd_strmap_free(&lc.per_call);
	free(lc.n);
	return rc;
}

/* group_of through a per-side cache on the key pointer (keys repeat as pointers). */
static int64_t group_cached(run *r, side *s, size_t i)
{
	const char *k = s->keys[i];
	size_t j = ((uintptr_t)k >> 3) & (GROUP_CACHE - 1);
	struct group_cache *gc = &s->gcache[j];
	if (gc->key == k && gc->kind == s->kinds[i])
		return gc->group;
	int64_t g = group_of(r, s->kinds[i], k);
	if (g >= 0)
		*gc = (struct group_cache){k, s->kinds[i], (uint32_t)g};
	return g;
}

static int diff_procs(run *r, side *a, side *b)
{
	for (size_t i = 0; i < a->nprocs; i++) {
		int64_t g = group_cached(r, a, i);
		if (g < 0)
			return BD_ENOMEM;
		a->group[i] = (uint32_t)g;
		add_proc(a, &r->pg[g].a, &a->procs[i]);
		if (!bd_pid_valid(r->pg[g].example_a))
			r->pg[g].example_a = a->procs[i].pid;
	}
	for (size_t i = 0; i < b->nprocs; i++) {
		const bd_proc *p = &b->procs[i];
		int64_t g = group_cached(r, b, i);
		if (g < 0)
			return BD_ENOMEM;
		b->group[i] = (uint32_t)g;
		bd_diff_pgroup *pg = &r->pg[g];
		add_proc(b, &pg->b, p);
		/* Same pid in the same group on the A side: the same process. */
		const bd_proc *pa = bd_proc_by_pid(a->m, p->pid);
		int same = pa && a->group[pa - a->procs] == (uint32_t)g;
		if (!same) {
			pg->added++;
			if (!bd_pid_valid(pg->example_b) || pg->added == 1)
				pg->example_b = p->pid;
		} else if (!bd_pid_valid(pg->example_b)) {
			pg->example_b = p->pid;
		}
		if (!pg->current_function || !same)
			pg->current_function = current_mfa(p);
	}
	/* A group's binaries are bounded by the node's too (each member is). */
	uint64_t bma = bd_model_memory(a->m)->binary, bmb = bd_model_memory(b->m)->binary;
	for (size_t g = 0; g < r->npg; g++) {
		bd_diff_pgroup *pg = &r->pg[g];
		if (bma != BD_UNKNOWN && bma && pg->a.binary > bma)
			pg->a.binary = bma;
		if (bmb != BD_UNKNOWN && bmb && pg->b.binary > bmb)
			pg->b.binary = bmb;
		uint64_t kept = pg->b.count - pg->added;
		pg->removed = pg->a.count > kept ? pg->a.count - kept : 0;
	}
	return 0;
}

static uint64_t absdiff(uint64_t x, uint64_t y) { return x > y ? x - y : y - x; }

static int cmp_pgroup(const void *x, const void *y)
{
	const bd_diff_pgroup *a = x, *b = y;
	uint64_t da = absdiff(a->a.memory, a->b.memory), db = absdiff(b->a.memory, b->b.memory);
	if (da != db)
		return da < db ? 1 : -1;
	uint64_t ca = absdiff(a->a.count, a->b.count), cb = absdiff(b->a.count, b->b.count);
	if (ca != cb)
		return ca < cb ? 1 : -1;
	return strcmp(a->key, b->key);
}

/* ---- ETS ---- */

static const char *owner_key(const side *s, bd_pid owner)
{
	const bd_proc *p = bd_proc_by_pid(s->m, owner);
	return p ? s->keys[p - s->procs] : NULL;
}

static int diff_ets(run *r, side *a, side *b)
{
	bd_strmap map = {0};
	bd_diff_etsgroup *eg = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	for (int pass = 0; pass < 2 && !rc; pass++) {
		side *s = pass ? b : a;
		size_t ne;
		const bd_ets *e = bd_model_ets(s->m, &ne);
		for (size_t i = 0; i < ne; i++) {
			const char *name = e[i].name ? e[i].name : e[i].table ? e[i].table : "?";
			const char *owner = owner_key(s, e[i].owner);
			const char *k = df_printf(r->arena, "%s\x1f%s", name, owner ? owner : "");
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				bd_diff_etsgroup *ng = realloc(eg, cap * sizeof *ng);
				if (!ng) {
					rc = BD_ENOMEM;
					break;
				}
				eg = ng;
			}
			int64_t g = bd_strmap_put(&map, k, strlen(k), (uint32_t)n);
			if (g < 0) {
				rc = BD_ENOMEM;
				break;
			}
			if ((size_t)g == n) {
				memset(&eg[n], 0, sizeof eg[n]);
				eg[n].name = df_strndup(r->arena, name, strlen(name));
				eg[n].owner = owner ? df_strndup(r->arena, owner, strlen(owner)) : NULL;
				n++;
			}
			uint64_t bytes = words(s, e[i].words);
			if (pass) {
				eg[g].count_b++;
				eg[g].objects_b += z(e[i].objects);
				eg[g].bytes_b += bytes;
			} else {
				eg[g].count_a++;
				eg[g].objects_a += z(e[i].objects);
				eg[g].bytes_a += bytes;
			}
		}
	}
	bd_strmap_free(&map);
	r->d->ets = eg;
	r->d->nets = n;
	return rc;
}

static int cmp_ets(const void *x, const void *y)
{
	const bd_diff_etsgroup *a = x, *b = y;
	uint64_t da = absdiff(a->bytes_a, a->bytes_b), db = absdiff(b->bytes_a, b->bytes_b);
	if (da != db)
		return da < db ? 1 : -1;
	uint64_t ca = absdiff(a->count_a, a->count_b), cb = absdiff(b->count_a, b->count_b);
	return ca < cb ? 1 : ca > cb ? -1 : strcmp(a->name, b->name);
}

/* ---- ports ---- */

static int diff_ports(run *r, side *a, side *b)
{
	bd_strmap map = {0};
	bd_diff_portgroup *pg = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	for (int pass = 0; pass < 2 && !rc; pass++) {
		size_t np;
		const bd_port *p = bd_model_ports((pass ? b : a)->m, &np);
		for (size_t i = 0; i < np; i++) {
			const char *drv = p[i].driver ? p[i].driver
					  : p[i].name	? p[i].name
					  : p[i].kind	? p[i].kind
							: "?";
			if (n == cap) {
				cap = cap ? cap * 2 : 32;
				bd_diff_portgroup *ng = realloc(pg, cap * sizeof *ng);
				if (!ng) {
					rc = BD_ENOMEM;
					break;
				}
				pg = ng;
			}
			const char *k = df_strndup(r->arena, drv, strlen(drv));
			int64_t g = bd_strmap_put(&map, k, strlen(k), (uint32_t)n);
			if (g < 0) {
				rc = BD_ENOMEM;
				break;
			}
			if ((size_t)g == n) {
				memset(&pg[n], 0, sizeof pg[n]);
				pg[n++].driver = k;
			}
			if (pass) {
				pg[g].count_b++;
				pg[g].queue_b += z(p[i].queue);
			} else {
				pg[g].count_a++;
				pg[g].queue_a += z(p[i].queue);
			}
		}
	}
	bd_strmap_free(&map);
	r->d->ports = pg;
	r->d->nports = n;
	return rc;
}

static int cmp_ports(const void *x, const void *y)
{
	const bd_diff_portgroup *a = x, *b = y;
	uint64_t da = absdiff(a->count_a, a->count_b), db = absdiff(b->count_a, b->count_b);
	return da < db ? 1 : da > db ? -1 : strcmp(a->driver, b->driver);
}

/* ---- atoms ---- */

/* Atoms of A are kept as a set of 64-bit hashes, not text (1 M atoms collide with
 * probability ~1e-8). */
typedef struct atom_walk {
	run *r;
	bd_u64map *set;     /* hash -> 0; pass 1: fill; pass 2: look up */
	int fill;
	uint64_t seen, added;
	bd_strmap cmap;
	bd_diff_atomcluster *cl;
	size_t ncl, capcl;
	int oom;
} atom_walk;

enum { ATOM_EX_MAX = 48, ATOM_CL_MAX = 4096 };

static int atom_cb(void *ud, const char *atom, size_t len)
{
	atom_walk *w = ud;
	if (len >= 2 && atom[0] == '\'' && atom[len - 1] == '\'') {
		atom++;
		len -= 2;
	}
	w->seen++;
	uint64_t h = bd_hash_bytes(atom, len), unused;
	if (h == UINT64_MAX) /* not a key of bd_u64map */
		h = 0;
	if (w->fill) {
		if (bd_u64map_put(w->set, h, 0) < 0)
			w->oom = 1;
		return w->oom;
	}
	if (bd_u64map_get(w->set, h, &unused))
		return 0;
	w->added++;
	char key[64];
	bd_atom_pattern(atom, len, key, sizeof key);
	size_t kl = strlen(key);
	int64_t c = bd_strmap_get(&w->cmap, key, kl);
	if (c < 0) {
		if (w->ncl >= ATOM_CL_MAX)
			key[0] = 0, kl = 0; /* too many patterns: the rest go to "" */
		c = bd_strmap_get(&w->cmap, key, kl);
	}
	if (c < 0) {
		if (w->ncl == w->capcl) {
			size_t cap = w->capcl ? w->capcl * 2 : 64;
			bd_diff_atomcluster *n = realloc(w->cl, cap * sizeof *n);
			if (!n) {
				w->oom = 1;
				return 1;
			}
			w->cl = n;
			w->capcl = cap;
		}
		const char *k = df_strndup(w->r->arena, key, kl);
		c = bd_strmap_put(&w->cmap, k, kl, (uint32_t)w->ncl);
		if (c < 0) {
			w->oom = 1;
			return 1;
		}
		bd_diff_atomcluster *n = &w->cl[w->ncl++];
		memset(n, 0, sizeof *n);
		n->pattern = kl ? k : "(other patterns)";
		n->first = df_strndup(w->r->arena, atom, len < ATOM_EX_MAX ? len : ATOM_EX_MAX);
	}
	bd_diff_atomcluster *n = &w->cl[c];
	n->count++;
	n->last = df_strndup(w->r->arena, atom, len < ATOM_EX_MAX ? len : ATOM_EX_MAX);
	return 0;
}

static int cmp_cluster(const void *x, const void *y)
{
	const bd_diff_atomcluster *a = x, *b = y;
	return a->count < b->count ? 1 : a->count > b->count ? -1 : strcmp(a->pattern, b->pattern);
}

static int diff_atoms(run *r, side *a, side *b)
{
	bd_u64map set = {0};
	atom_walk w = {.r = r, .set = &set, .fill = 1};
	bd_model_atoms_each(a->m, atom_cb, &w);
	uint64_t na = w.seen;
	w.fill = 0;
	w.seen = 0;
	if (!w.oom)
		bd_model_atoms_each(b->m, atom_cb, &w);
	r->d->atoms_a = na;
	r->d->atoms_b = w.seen;
	r->d->atoms_added = w.added;
	uint64_t common = w.seen - w.added;
	r->d->atoms_removed = na > common ? na - common : 0;
	/* Header "Atoms:" counts when the table itself was not dumped. */
	if (!na && bd_model_node(a->m)->atoms != BD_UNKNOWN)
		r->d->atoms_a = bd_model_node(a->m)->atoms;
	if (!w.seen && bd_model_node(b->m)->atoms != BD_UNKNOWN)
		r->d->atoms_b = bd_model_node(b->m)->atoms;
	if (w.cl)
		qsort(w.cl, w.ncl, sizeof *w.cl, cmp_cluster);
	r->d->atom_clusters = w.cl;
	r->d->natom_clusters = w.ncl;
	bd_strmap_free(&w.cmap);
	bd_u64map_free(&set);
	return w.oom ? BD_ENOMEM : 0;
}

/* ---- binaries, memory, allocators, counts ---- */

static void diff_binaries(run *r, side *a, side *b)
{
	size_t na, nb;
	const bd_binary *ba = bd_model_binaries(a->m, &na), *bb = bd_model_binaries(b->m, &nb);
	bd_diff *d = r->d;
	d->bin_count_a = na;
	d->bin_count_b = nb;
	for (size_t i = 0; i < na; i++)
		d->bin_bytes_a += z(ba[i].size);
	for (size_t i = 0; i < nb; i++) {
		d->bin_bytes_b += z(bb[i].size);
		const bd_binary *o = bd_binary_find(a->m, bb[i].addr);
		if (o && o->size == bb[i].size) {
			d->bin_same_count++;
			d->bin_same_bytes += z(bb[i].size);
		}
	}
}

static int diff_memory(run *r, side *a, side *b)
{
	const bd_memory *ma = bd_model_memory(a->m), *mb = bd_model_memory(b->m);
	static const struct { const char *name; size_t off; } cats[] = {
#define C(f) {#f, offsetof(bd_memory, f)}
		C(total), C(processes), C(processes_used), C(system), C(atom), C(atom_used),
		C(binary), C(code), C(ets), C(maximum),
#undef C
	};
	size_t n = sizeof cats / sizeof cats[0];
	bd_diff_num *v = bd_arena_alloc(r->arena, n * sizeof *v);
	if (!v)
		return BD_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		v[i].name = cats[i].name;
		v[i].a = *(const uint64_t *)((const char *)ma + cats[i].off);
		v[i].b = *(const uint64_t *)((const char *)mb + cats[i].off);
		v[i].a2 = v[i].b2 = BD_UNKNOWN;
	}
	r->d->memory = v;
	r->d->nmemory = n;
	return 0;
}

static int diff_allocs(run *r, side *a, side *b)
{
	bd_alloc_sum *sa = NULL, *sb = NULL;
	size_t na = 0, nb = 0;
	if (bd_alloc_summarize(a->m, 0, &sa, &na) || bd_alloc_summarize(b->m, 0, &sb, &nb)) {
		free(sa);
		free(sb);
		return BD_ENOMEM;
	}
	bd_diff_num *v = bd_arena_alloc(r->arena, (na + nb + 1) * sizeof *v);
	size_t n = 0;
	if (!v) {
		free(sa);
		free(sb);
		return BD_ENOMEM;
	}
	for (int pass = 0; pass < 2; pass++) {
		bd_alloc_sum *s = pass ? sb : sa;
		size_t ns = pass ? nb : na;
		for (size_t i = 0; i < ns; i++) {
			if (s[i].instance != -1)
				continue;
			const char *name = s[i].alloc ? s[i].alloc : "total";
			size_t j;
			for (j = 0; j < n && strcmp(v[j].name, name); j++)
				;
			if (j == n) {
				v[n].name = df_strndup(r->arena, name, strlen(name));
				v[n].a = v[n].b = v[n].a2 = v[n].b2 = BD_UNKNOWN;
				n++;
			}
			if (pass) {
				v[j].b = s[i].used;
				v[j].b2 = s[i].allocated;
			} else {
				v[j].a = s[i].used;
				v[j].a2 = s[i].allocated;
			}
		}
	}
	free(sa);
	free(sb);
	r->d->allocs = v;
	r->d->nallocs = n;
	return 0;
}

static int diff_counts(run *r, side *a, side *b)
{
	const bd_limits *la = bd_model_limits(a->m), *lb = bd_model_limits(b->m);
	size_t n;
	bd_diff_num *v = bd_arena_alloc(r->arena, 4 * sizeof *v);
	if (!v)
		return BD_ENOMEM;
	v[0] = (bd_diff_num){"processes", a->nprocs, b->nprocs, la->procs_limit, lb->procs_limit};
	bd_model_ports(a->m, &n);
	v[1] = (bd_diff_num){"ports", n, 0, la->ports_limit, lb->ports_limit};
	bd_model_ports(b->m, &n);
	v[1].b = n;
	bd_model_ets(a->m, &n);
	v[2] = (bd_diff_num){"ets", n, 0, la->ets_limit, lb->ets_limit};
	bd_model_ets(b->m, &n);
	v[2].b = n;
	v[3] = (bd_diff_num){"atoms", r->d->atoms_a, r->d->atoms_b, la->atoms_limit, lb->atoms_limit};
	r->d->counts = v;
	r->d->ncounts = 4;
	return 0;
}

int bd_diff_run(const bd_model *ma, const bd_model *mb, const bd_diff_opts *o, bd_diff **out,
		bd_error *err)
{
	*out = NULL;
	if (o && o->version != BD_DIFF_OPTS_VERSION)
		return bd_error_set(err, BD_EUSAGE, 0, "bd_diff_opts version %u, expected %u",
				    o->version, BD_DIFF_OPTS_VERSION);
	bd_diff *d = calloc(1, sizeof *d);
	struct bd_diff_priv *pv = calloc(1, sizeof *pv);
	if (!d || !pv) {
		free(d);
		free(pv);
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	}
	d->priv = pv;
	run r = {.d = d, .arena = &pv->arena};
	r.o = o ? *o : (bd_diff_opts)BD_DIFF_OPTS_INIT;
	if (!r.o.max_key_decodes)
		r.o.max_key_decodes = 1000000;
	if (!r.o.max_key_heap_bytes)
		r.o.max_key_heap_bytes = (uint64_t)1 << 30;
	if (!r.o.max_key_heap_one)
		r.o.max_key_heap_one = (uint64_t)64 << 20;
	const bd_node_info *na = bd_model_node(ma), *nb = bd_model_node(mb);
	d->created_a = na->created_unix;
	d->created_b = nb->created_unix;
	d->dt = na->created_unix != INT64_MIN && nb->created_unix != INT64_MIN
			? nb->created_unix - na->created_unix
			: 0;
	d->node_a = na->node_name;
	d->node_b = nb->node_name;
	side a, b;
	int rc = side_init(&r, &a, ma, &pv->keys_a);
	int rc2 = side_init(&r, &b, mb, &pv->keys_b);
	if (!rc)
		rc = rc2;
	if (!rc)
		rc = key_sides(&a, &b);
	if (!rc)
		rc = label_keys(&a, &b);
	d->keys_decoded = (uint64_t)a.decodes + b.decodes;
	d->keys_degraded = a.degraded + b.degraded;
	if (!rc)
		rc = diff_procs(&r, &a, &b);
	if (!rc)
		rc = diff_ets(&r, &a, &b);
	if (!rc)
		rc = diff_ports(&r, &a, &b);
	if (!rc)
		rc = diff_atoms(&r, &a, &b);
	if (!rc)
		diff_binaries(&r, &a, &b);
	if (!rc)
		rc = diff_memory(&r, &a, &b);
	if (!rc)
		rc = diff_allocs(&r, &a, &b);
	if (!rc)
		rc = diff_counts(&r, &a, &b);
	side_free(&a);
	side_free(&b);
	d->procs = r.pg;
	d->nprocs = r.npg;
	if (!rc && pv->arena.failed)
		rc = BD_ENOMEM;
	if (rc) {
		bd_diff_free(d);
		return bd_error_set(err, rc, 0, "diff: out of memory");
	}
	/* Sorting moves groups: rebuild the key map over the sorted order. */
	if (d->nprocs)
		qsort(d->procs, d->nprocs, sizeof *d->procs, cmp_pgroup);
	bd_strmap_free(&pv->pmap);
	for (size_t i = 0; i < d->nprocs; i++) {
		char buf[600];
		size_t n = keybuf(buf, sizeof buf, (uint8_t)d->procs[i].kind, d->procs[i].key);
		const char *k = df_strndup(&pv->arena, buf, n);
		if (bd_strmap_put(&pv->pmap, k, n, (uint32_t)i) < 0 || pv->arena.failed) {
			bd_diff_free(d);
			return bd_error_set(err, BD_ENOMEM, 0, "diff: out of memory");
		}
	}
	if (d->nets)
		qsort(d->ets, d->nets, sizeof *d->ets, cmp_ets);
	if (d->nports)
		qsort(d->ports, d->nports, sizeof *d->ports, cmp_ports);
	*out = d;
	return 0;
}

const bd_diff_pgroup *bd_diff_find(const bd_diff *d, const char *key)
{
	for (int kind = BD_KEY_NAME; kind <= BD_KEY_LABEL; kind++) {
		char buf[600];
		size_t n = keybuf(buf, sizeof buf, (uint8_t)kind, key);
		int64_t g = bd_strmap_get(&d->priv->pmap, buf, n);
		if (g >= 0)
			return &d->procs[g];
	}
	return NULL;
}

void bd_diff_free(bd_diff *d)
{
	if (!d)
		return;
	free(d->procs);
	free(d->ets);
	free(d->ports);
	free(d->atom_clusters);
	if (d->priv) {
		bd_strmap_free(&d->priv->pmap);
		bd_arena_free(&d->priv->arena);
		bd_arena_free(&d->priv->keys_a);
		bd_arena_free(&d->priv->keys_b);
		free(d->priv);
	}
	free(d);
}

const char *bd_key_kind_name(bd_key_kind k)
{
	return k == BD_KEY_NAME ? "name" : k == BD_KEY_CALL ? "call" : k == BD_KEY_LABEL ? "label" : "pid";
}
