/* atom_exhaustion: atoms against the limit, and the atom names clustered by pattern
 * (user_<N>, <uuid>, 0x<hex>...) so the code that makes them can be found. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "an_int.h"
#include "beamdump/diff.h" /* bd_atom_pattern: the clustering diff/ci share */

enum { CL_CAP = 4096, KEY_MAX = 64, EX_MAX = 48, MAX_REPORTED = 3 };

typedef struct cluster {
	char key[KEY_MAX];
	char first[EX_MAX], last[EX_MAX];
	uint64_t count;
	uint64_t first_pos; /* creation index of the first member */
	int generated;      /* the key has a placeholder */
} cluster;

typedef struct cl_tab {
	cluster *slots;   /* clusters as made; after collect in hash-slot order, sorted */
	size_t count, cap;
	uint16_t *index;  /* hash slot -> cluster + 1 (0: empty): a small dump touches
			   * 8 KB instead of a table of CL_CAP clusters */
	uint64_t atoms, plain, other;
} cl_tab;

static void add(cl_tab *t, const char *a, size_t n)
{
	char key[KEY_MAX];
	/* Plain words (ok, gen_server) are not clusters; only generated names are. */
	if (!bd_atom_pattern(a, n, key, sizeof key)) {
		t->plain++;
		return;
	}
	uint64_t h = 1469598103934665603ULL;
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	size_t j = h & (CL_CAP - 1);
	while (t->index[j] && strcmp(t->slots[t->index[j] - 1].key, key) != 0)
		j = (j + 1) & (CL_CAP - 1);
	if (!t->index[j]) {
		if (t->count * 4 >= CL_CAP * 3) {
			t->other++;
			return;
		}
		if (t->count == t->cap) {
			size_t cap = t->cap ? 2 * t->cap : 16;
			cluster *grown = realloc(t->slots, cap * sizeof *grown);
			if (!grown) {
				t->other++;
				return;
			}
			t->slots = grown;
			t->cap = cap;
		}
		memset(&t->slots[t->count], 0, sizeof *t->slots);
		t->index[j] = (uint16_t)++t->count;
	}
	cluster *c = &t->slots[t->index[j] - 1];
	if (!c->count) {
		snprintf(c->key, sizeof c->key, "%s", key);
		snprintf(c->first, sizeof c->first, "%.*s", (int)n, a);
		c->generated = 1;
		c->first_pos = t->atoms - 1;
	}
	c->count++;
	snprintf(c->last, sizeof c->last, "%.*s", (int)n, a);
}

static int each_atom(void *ud, const char *atom, size_t len)
{
	cl_tab *t = ud;
	/* Atoms come as the VM printed them: strip the quotes of 'quoted' ones. */
	if (len >= 2 && atom[0] == '\'' && atom[len - 1] == '\'') {
		atom++;
		len -= 2;
	}
	t->atoms++;
	add(t, atom, len);
	return 0;
}

static int cmp_cluster(const void *a, const void *b)
{
	const cluster *x = a, *y = b;
	if (x->generated != y->generated)
		return y->generated - x->generated;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

/* Every atom of m clustered, generated patterns first, largest first. */
static int collect(const bd_model *m, cl_tab *t)
{
	t->index = calloc(CL_CAP, sizeof *t->index);
	if (!t->index)
		return BD_ENOMEM;
	bd_model_atoms_each(m, each_atom, t);
	/* in hash-slot order, as the sort has always seen them (ties keep their order) */
	cluster *made = t->slots;
	t->slots = malloc((t->count ? t->count : 1) * sizeof *t->slots);
	if (!t->slots) {
		free(made);
		free(t->index);
		t->index = NULL;
		return BD_ENOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < CL_CAP; i++)
		if (t->index[i])
			t->slots[k++] = made[t->index[i] - 1];
	free(made);
	free(t->index);
	t->index = NULL;
	t->count = k;
	if (k)
		qsort(t->slots, k, sizeof *t->slots, cmp_cluster);
	return 0;
}

static void report(an_ctx *c, uint64_t atoms, uint64_t limit, cl_tab *t)
{
	int full = c->slogan.cls == BD_SL_INDEX_TABLE && !strcmp(c->slogan.table, "atom_tab");
	double use = limit ? 100.0 * (double)atoms / (double)limit : 0;
	bd_severity sev = full || use >= 90 ? BD_SEV_CRITICAL : use >= 75 ? BD_SEV_WARNING : BD_SEV_INFO;
	an_finding *f = an_new(c, BD_F_ATOM_EXHAUSTION, sev, full ? 96 : 40 + use / 2);
	if (!f)
		return;
	const bd_proc *p = full ? an_running_proc(c) : NULL;
	if (p)
		an_subject_proc(c, f, p);
	else
		an_subject_named(c, f, "atoms", "atom_tab");
	an_ev_count(c, f, "atoms", atoms);
	an_ev_count(c, f, "atom_limit", limit);
	an_ev_pct(c, f, "usage", use);
	const cluster *top = t->count && t->slots[0].generated ? &t->slots[0] : NULL;
	static const char *const keys[MAX_REPORTED][3] = {
		{"cluster1", "cluster1_count", "cluster1_examples"},
		{"cluster2", "cluster2_count", "cluster2_examples"},
		{"cluster3", "cluster3_count", "cluster3_examples"}};
	for (size_t i = 0, r = 0; i < t->count && r < MAX_REPORTED; i++) {
		const cluster *cl = &t->slots[i];
		if (!cl->generated || cl->count < 10)
			break;
		an_ev_str(c, f, keys[r][0], "%s", cl->key);
		an_ev_count(c, f, keys[r][1], cl->count);
		an_ev_str(c, f, keys[r][2], "%s .. %s", cl->first, cl->last);
		r++;
	}
	for (size_t i = 0; i < t->count && i < 8; i++)
		if (t->slots[i].generated)
			an_detail(c, f, "%-24s %10s atoms (%4.1f %%)  e.g. %s, %s", t->slots[i].key,
				  an_count(c, t->slots[i].count),
				  100.0 * (double)t->slots[i].count / (double)(t->atoms ? t->atoms : 1),
				  t->slots[i].first, t->slots[i].last);
	char what[200] = "";
	uint64_t generated = t->atoms > t->plain ? t->atoms - t->plain : 0;
	if (top) {
		/* Share among the atoms made since the pattern first appeared: the boot's
		 * own atoms come before it. */
		uint64_t since = t->atoms > top->first_pos ? t->atoms - top->first_pos : 1;
		snprintf(what, sizeof what, "; %s look like %s (%.0f %% of the atoms made since the first)",
			 an_count(c, top->count), top->key, 100.0 * (double)top->count / (double)since);
		an_ev_pct(c, f, "cluster1_share_since_first", 100.0 * (double)top->count / (double)since);
	}
	an_ev_count(c, f, "generated_names", generated);
	if (full)
		an_title(c, f, "Atom table full: %s of %s atoms%s", an_count(c, atoms), an_count(c, limit), what);
	else
		an_title(c, f, "Atom table %.0f %% full: %s of %s atoms%s", use, an_count(c, atoms),
			 an_count(c, limit), what);
	if (top)
		an_advice(c, f, "Code turns external strings into atoms (%s, e.g. %s): use "
			  "list_to_existing_atom/1 or keep them as binaries", top->key, top->last);
	else
		an_advice(c, f, "Find where atoms are created at run time (list_to_atom/1, "
			  "binary_to_atom/2, xmerl, dynamic module names) and stop it");
}

void an_atoms(an_ctx *c)
{
	const bd_limits *lim = bd_model_limits(c->m);
	uint64_t atoms = lim->atoms != BD_UNKNOWN ? lim->atoms : bd_model_node(c->m)->atoms;
	uint64_t limit = lim->atoms_limit;
	if (c->slogan.max != BD_UNKNOWN && !strcmp(c->slogan.table, "atom_tab"))
		limit = c->slogan.max;
	int full = c->slogan.cls == BD_SL_INDEX_TABLE && !strcmp(c->slogan.table, "atom_tab");
	if (atoms == BD_UNKNOWN || limit == BD_UNKNOWN || !limit)
		if (!full)
			return;
	if (!full && (double)atoms < 0.5 * (double)limit)
		return;
	cl_tab t = {0};
	if (collect(c->m, &t))
		return;
	size_t k = t.count;
	/* Below 75 % only a dominant generated cluster makes it worth saying. */
	double use = limit && limit != BD_UNKNOWN ? (double)atoms / (double)limit : 1;
	if (full || use >= 0.75 || (k && t.slots[0].generated && t.slots[0].count * 4 >= t.atoms))
		report(c, atoms == BD_UNKNOWN ? t.atoms : atoms, limit == BD_UNKNOWN ? 0 : limit, &t);
	free(t.slots);
}

int bd_atom_stats_build(bd_atom_stats **out, const bd_model *m, bd_error *err)
{
	cl_tab t = {0};
	*out = NULL;
	bd_atom_stats *st = calloc(1, sizeof *st);
	if (!st || collect(m, &t)) {
		free(st);
		free(t.slots);
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory while clustering atoms");
	}
	size_t k = 0;
	while (k < t.count && t.slots[k].generated)
		k++;
	st->clusters = calloc(k ? k : 1, sizeof *st->clusters);
	if (!st->clusters) {
		free(st);
		free(t.slots);
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory while clustering atoms");
	}
	for (size_t i = 0; i < k; i++) {
		bd_atom_cluster *c = &st->clusters[i];
		snprintf(c->pattern, sizeof c->pattern, "%s", t.slots[i].key);
		snprintf(c->first, sizeof c->first, "%s", t.slots[i].first);
		snprintf(c->last, sizeof c->last, "%s", t.slots[i].last);
		c->count = t.slots[i].count;
		c->first_pos = t.slots[i].first_pos;
	}
	st->n = k;
	st->atoms = t.atoms;
	st->plain = t.plain;
	st->unclustered = t.other;
	free(t.slots);
	*out = st;
	return 0;
}

void bd_atom_stats_free(bd_atom_stats *s)
{
	if (!s)
		return;
	free(s->clusters);
	free(s);
}
