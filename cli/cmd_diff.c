/* beamdump diff A B: what appeared, disappeared and grew between two dumps or
 * snapshots, per process group, ETS table, atom pattern, port driver, memory
 * category and allocator; per-second rates when both carry a time (recon's
 * proc_window across dumps). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff_out.h"

typedef struct open_job {
	const char *path;
	bd_model *m;
	bd_error err;
	int rc;
} open_job;

static void *open_one(void *arg)
{
	open_job *j = arg;
	j->rc = bd_model_open(&j->m, j->path, &j->err);
	return NULL;
}

int open_models_each(bd_model **out, const char *const *paths, int n, bd_error *errs)
{
	open_job jobs[4] = {{0}};
	pthread_t tid[4];
	int started[4] = {0}, rc = EXIT_OK;
	if (n > 4)
		return EXIT_USAGE;
	/* The reader is mostly a single pass over each file: read them side by side. */
	for (int i = 0; i < n; i++) {
		jobs[i].path = paths[i];
		if (paths[i] && i + 1 < n)
			started[i] = pthread_create(&tid[i], NULL, open_one, &jobs[i]) == 0;
	}
	for (int i = 0; i < n; i++)
		if (paths[i] && !started[i])
			open_one(&jobs[i]);
	for (int i = 0; i < n; i++) {
		if (started[i])
			pthread_join(tid[i], NULL);
		out[i] = jobs[i].m;
		errs[i] = jobs[i].err;
		errs[i].code = paths[i] ? jobs[i].rc : 0;
		if (errs[i].code)
			rc = EXIT_UNREADABLE;
	}
	return rc;
}

int open_models(bd_model **out, const char *const *paths, int n, const char *const *labels)
{
	bd_error errs[4];
	int rc = open_models_each(out, paths, n, errs);
	for (int i = 0; rc == EXIT_UNREADABLE && i < n; i++)
		if (errs[i].code)
			fprintf(stderr, "beamdump: %s%s%s\n", labels ? labels[i] : "",
				labels ? ": " : "", out_txt(errs[i].msg));
	if (rc)
		for (int i = 0; i < n; i++) {
			bd_model_free(out[i]);
			out[i] = NULL;
		}
	return rc;
}

static int64_t delta(uint64_t a, uint64_t b)
{
	if (a == BD_UNKNOWN || b == BD_UNKNOWN)
		return 0;
	return (int64_t)(b - a);
}

/* "+1,234" / "-12" / "0" */
static const char *fmt_delta(int64_t d, char *buf, size_t cap)
{
	char t[32];
	fmt_count((uint64_t)(d < 0 ? -d : d), t, sizeof t);
	snprintf(buf, cap, "%s%s", d > 0 ? "+" : d < 0 ? "-" : "", t);
	return buf;
}

static const char *fmt_dbytes(int64_t d, char *buf, size_t cap)
{
	char t[32];
	fmt_bytes((uint64_t)(d < 0 ? -d : d), t, sizeof t);
	snprintf(buf, cap, "%s%s", d > 0 ? "+" : d < 0 ? "-" : "", d ? t : "0");
	return buf;
}

typedef int64_t (*pg_key)(const bd_diff_pgroup *g);
static int64_t by_memory(const bd_diff_pgroup *g) { return delta(g->a.memory, g->b.memory); }
static int64_t by_mq(const bd_diff_pgroup *g) { return delta(g->a.msgq, g->b.msgq); }
static int64_t by_reds(const bd_diff_pgroup *g) { return delta(g->a.reductions, g->b.reductions); }
static int64_t by_binary(const bd_diff_pgroup *g) { return delta(g->a.binary, g->b.binary); }
static int64_t by_count(const bd_diff_pgroup *g) { return delta(g->a.count, g->b.count); }

static const struct {
	const char *name;
	pg_key fn;
} sort_keys[] = {
	{"memory", by_memory}, {"mq", by_mq}, {"reductions", by_reds}, {"binary", by_binary},
	{"count", by_count},
};

static pg_key g_sort;
static int cmp_by(const void *x, const void *y)
{
	const bd_diff_pgroup *a = *(const bd_diff_pgroup *const *)x,
			     *b = *(const bd_diff_pgroup *const *)y;
	int64_t da = g_sort(a), db = g_sort(b);
	return da < db ? 1 : da > db ? -1 : strcmp(a->key, b->key);
}

/* A group changed when its members or their memory, queue or binaries did
 * (reductions always move on a live node). */
static int changed(const bd_diff_pgroup *g)
{
	return g->a.count != g->b.count || g->added || g->removed || g->a.memory != g->b.memory ||
	       g->a.msgq != g->b.msgq || g->a.binary != g->b.binary;
}

/* Groups that pass filter, sorted by fn; caller frees. */
static const bd_diff_pgroup **select_groups(const bd_diff *d, int (*filter)(const bd_diff_pgroup *),
					    pg_key fn, size_t *n)
{
	const bd_diff_pgroup **v = malloc((d->nprocs + 1) * sizeof *v);
	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < d->nprocs; i++)
		if (filter(&d->procs[i]))
			v[(*n)++] = &d->procs[i];
	g_sort = fn;
	qsort(v, *n, sizeof *v, cmp_by);
	return v;
}

static int f_new(const bd_diff_pgroup *g) { return g->b.count > g->a.count; }
static int f_gone(const bd_diff_pgroup *g) { return g->b.count < g->a.count; }
static int f_kept(const bd_diff_pgroup *g) { return g->a.count && g->b.count; }
static int f_changed(const bd_diff_pgroup *g) { return changed(g); }
static int64_t by_loss(const bd_diff_pgroup *g) { return -by_count(g); }

static void print_header(const bd_diff *d, const char *pa, const char *pb)
{
	printf("A: %s\nB: %s\n", out_txt(pa), out_txt(pb));
	if (d->dt > 0)
		printf("B was written %lld s after A; rates are per second over that window.\n",
		       (long long)d->dt);
	else if (d->created_a == INT64_MIN || d->created_b == INT64_MIN)
		printf("(no rates: a side has no creation time)\n");
	else
		printf("(no rates: B is not later than A)\n");
	char a[40], b[40], c[40];
	printf("\n%-10s %14s %14s %12s\n", "COUNT", "A", "B", "CHANGE");
	for (size_t i = 0; i < d->ncounts; i++)
		printf("%-10s %14s %14s %12s\n", d->counts[i].name, fmt_count(d->counts[i].a, a, sizeof a),
		       fmt_count(d->counts[i].b, b, sizeof b),
		       fmt_delta(delta(d->counts[i].a, d->counts[i].b), c, sizeof c));
}


/* A group key in the current style, escaped: names come from the dumps. */
static void key_cell(char *cell, size_t cap, const char *key)
{
	char sk[512];
	snprintf(cell, cap, "%s", out_txt(style_label(key, sk, sizeof sk)));
}

static void print_procs(const bd_diff *d, size_t rows, pg_key sort, const char *by)
{
	static const tcol new_cols[] = {
		{"GROUP", 0, 16, 0, 2, 0, 0},   {"A", 1, 0, 0, 1, 0, 0},        {"B", 1, 0, 0, 1, 0, 0},
		{"NEW", 1, 0, 0, 1, 0, 0},      {"MEMORY B", 1, 0, 2, 1, 0, 0}, {"EXAMPLE", 0, 0, 3, 2, 0, 0},
		{"CURRENT FUNCTION", 0, 12, 1, 1, 0, 0}};
	static const tcol gone_cols[] = {{"GROUP", 0, 16, 0, 2, 0, 0}, {"A", 1, 0, 0, 1, 0, 0},
					 {"B", 1, 0, 0, 1, 0, 0},      {"GONE", 1, 0, 0, 1, 0, 0},
					 {"MEMORY A", 1, 0, 1, 1, 0, 0}};
	static const tcol kept_cols[] = {{"GROUP", 0, 16, 0, 2, 0, 0},    {"N", 1, 0, 0, 1, 0, 0},
					 {"MEMORY B", 1, 0, 3, 1, 0, 0}, {"MEMORY", 1, 0, 0, 1, 0, 0},
					 {"MSGQ", 1, 0, 0, 1, 0, 0},     {"REDUCTIONS", 1, 0, 2, 1, 0, 0},
					 {"BINARY", 1, 0, 1, 1, 0, 0}};
	char pid[48];
	size_t n;
	tgrid g;
	const bd_diff_pgroup **v = select_groups(d, f_new, by_count, &n);
	printf("\nNew processes (%zu group(s) with more members in B)\n", n);
	if (!tgrid_init(&g, n < rows ? n : rows, 7)) {
		for (size_t i = 0; v && i < n && i < rows; i++) {
			char(*c)[TGRID_CELL] = tgrid_row(&g);
			key_cell(c[0], sizeof c[0], v[i]->key);
			fmt_count(v[i]->a.count, c[1], sizeof c[1]);
			fmt_count(v[i]->b.count, c[2], sizeof c[2]);
			fmt_delta(by_count(v[i]), c[3], sizeof c[3]);
			fmt_bytes(v[i]->b.memory, c[4], sizeof c[4]);
			snprintf(c[5], sizeof c[5], "%s", bd_pid_fmt(v[i]->example_b, pid, sizeof pid));
			key_cell(c[6], sizeof c[6], v[i]->current_function ? v[i]->current_function : "?");
		}
		tgrid_print(&g, new_cols, 0);
	}
	free(v);
	v = select_groups(d, f_gone, by_loss, &n);
	printf("\nGone processes (%zu group(s) with fewer members in B)\n", n);
	if (!tgrid_init(&g, n < rows ? n : rows, 5)) {
		for (size_t i = 0; v && i < n && i < rows; i++) {
			char(*c)[TGRID_CELL] = tgrid_row(&g);
			key_cell(c[0], sizeof c[0], v[i]->key);
			fmt_count(v[i]->a.count, c[1], sizeof c[1]);
			fmt_count(v[i]->b.count, c[2], sizeof c[2]);
			fmt_delta(by_count(v[i]), c[3], sizeof c[3]);
			fmt_bytes(v[i]->a.memory, c[4], sizeof c[4]);
		}
		tgrid_print(&g, gone_cols, 0);
	}
	free(v);
	v = select_groups(d, f_kept, sort, &n);
	printf("\nProcesses on both sides, by %s change%s\n", by, d->dt > 0 ? " (per second)" : "");
	if (!v || !n || sort(v[0]) <= 0)
		printf("  (no group grew in %s)\n", by);
	tcol kc[7];
	memcpy(kc, kept_cols, sizeof kc);
	if (d->dt > 0)
		kc[5].head = "REDS/S";
	if (!tgrid_init(&g, n < rows ? n : rows, 7)) {
		for (size_t i = 0; v && i < n && i < rows; i++) {
			const bd_diff_pgroup *gr = v[i];
			if (sort(gr) <= 0)
				break;
			int64_t reds = by_reds(gr);
			char(*c)[TGRID_CELL] = tgrid_row(&g);
			key_cell(c[0], sizeof c[0], gr->key);
			fmt_count(gr->b.count, c[1], sizeof c[1]);
			fmt_bytes(gr->b.memory, c[2], sizeof c[2]);
			fmt_dbytes(by_memory(gr), c[3], sizeof c[3]);
			fmt_delta(by_mq(gr), c[4], sizeof c[4]);
			if (d->dt > 0)
				snprintf(c[5], sizeof c[5], "%.0f", (double)reds / (double)d->dt);
			else
				fmt_delta(reds, c[5], sizeof c[5]);
			fmt_dbytes(by_binary(gr), c[6], sizeof c[6]);
		}
		tgrid_print(&g, kc, 0);
	}
	free(v);
}

static void print_ets(const bd_diff *d, size_t rows)
{
	static const tcol cols[] = {{"NAME", 0, 12, 0, 2, 0, 0}, {"OWNER", 0, 12, 0, 1, 0, 0},
				    {"A", 1, 0, 0, 1, 0, 0},     {"B", 1, 0, 0, 1, 0, 0},
				    {"OBJECTS", 1, 0, 1, 1, 0, 0}, {"MEMORY", 1, 0, 0, 1, 0, 0}};
	size_t n = 0;
	tgrid g;
	for (size_t i = 0; i < d->nets; i++)
		n += d->ets[i].count_a != d->ets[i].count_b || d->ets[i].bytes_a != d->ets[i].bytes_b;
	printf("\nETS tables, changed (%zu of %zu name/owner groups)\n", n, d->nets);
	if (tgrid_init(&g, n < rows ? n : rows, 6))
		return;
	for (size_t i = 0; i < d->nets && g.nrows < rows; i++) {
		const bd_diff_etsgroup *t = &d->ets[i];
		if (t->count_a == t->count_b && t->bytes_a == t->bytes_b)
			continue;
		char(*c)[TGRID_CELL] = tgrid_row(&g);
		key_cell(c[0], sizeof c[0], t->name);
		key_cell(c[1], sizeof c[1], t->owner ? t->owner : "?");
		fmt_count(t->count_a, c[2], sizeof c[2]);
		fmt_count(t->count_b, c[3], sizeof c[3]);
		fmt_delta(delta(t->objects_a, t->objects_b), c[4], sizeof c[4]);
		fmt_dbytes(delta(t->bytes_a, t->bytes_b), c[5], sizeof c[5]);
	}
	tgrid_print(&g, cols, 0);
}

static void print_atoms(const bd_diff *d, size_t rows)
{
	char a[40], b[40];
	printf("\nAtoms: %s added, %s only in A\n", fmt_count(d->atoms_added, a, sizeof a),
	       fmt_count(d->atoms_removed, b, sizeof b));
	/* pattern, count, first .. last: a terminal cuts the examples first */
	static const tcol cols[] = {{NULL, 0, 12, 0, 2, 32, 0}, {NULL, 1, 0, 0, 1, 9, 0},
				    {NULL, 0, 10, 0, 2, 0, 0}};
	size_t n = d->natom_clusters < rows ? d->natom_clusters : rows;
	tgrid g;
	if (tgrid_init(&g, n, 3))
		return;
	for (size_t i = 0; i < n; i++) {
		const bd_diff_atomcluster *c = &d->atom_clusters[i];
		int one = !c->last || !strcmp(c->first, c->last);
		char(*r)[TGRID_CELL] = tgrid_row(&g);
		snprintf(r[0], out_columns() ? TGRID_CELL : 33, "%s", out_txt(c->pattern));
		fmt_count(c->count, r[1], TGRID_CELL);
		snprintf(r[2], TGRID_CELL, "%s%s%s", out_txt(c->first), one ? "" : " .. ",
			 one ? "" : out_txt(c->last));
	}
	tgrid_print(&g, cols, 0);
}

/* Drivers whose port count or queue changed: driver, A, B, change, queue change. */
static void print_port_groups(const bd_diff *d, size_t rows)
{
	static const tcol cols[] = {{NULL, 0, 12, 0, 2, 40, 0}, {NULL, 1, 0, 0, 1, 7, 0},
				    {NULL, 1, 0, 0, 1, 7, 0},   {NULL, 1, 0, 0, 1, 8, 0},
				    {NULL, 0, 0, 1, 2, 0, 0}};
	tgrid g;
	if (tgrid_init(&g, d->nports < rows ? d->nports : rows, 5))
		return;
	for (size_t i = 0; i < d->nports && g.nrows < rows; i++) {
		const bd_diff_portgroup *p = &d->ports[i];
		if (p->count_a == p->count_b && p->queue_a == p->queue_b)
			continue;
		char(*r)[TGRID_CELL] = tgrid_row(&g), q[40];
		snprintf(r[0], out_columns() ? TGRID_CELL : 41, "%s", out_txt(p->driver));
		fmt_count(p->count_a, r[1], TGRID_CELL);
		fmt_count(p->count_b, r[2], TGRID_CELL);
		fmt_delta(delta(p->count_a, p->count_b), r[3], TGRID_CELL);
		snprintf(r[4], TGRID_CELL, "queue %s", fmt_dbytes(delta(p->queue_a, p->queue_b), q, sizeof q));
	}
	tgrid_print(&g, cols, 0);
}

/* erlang:memory() and the allocators, A and B; a terminal loses rates first. */
static void print_memory(const bd_diff *d)
{
	static const tcol mcols[] = {{"ERLANG:MEMORY", 0, 0, 0, 0, 22, 0}, {"A", 1, 0, 0, 1, 12, 0},
				     {"B", 1, 0, 0, 1, 12, 0},           {"CHANGE", 1, 0, 0, 1, 12, 0},
				     {"PER SECOND", 1, 0, 1, 1, 12, 0}};
	static const tcol acols[] = {{"ALLOCATOR", 0, 10, 0, 0, 22, 0}, {"USED A", 1, 0, 2, 1, 12, 0},
				     {"USED B", 1, 0, 0, 1, 12, 0},     {"CHANGE", 1, 0, 0, 1, 12, 0},
				     {"ALLOCATED B", 1, 0, 1, 1, 12, 0}, {"CHANGE", 1, 0, 3, 1, 12, 0}};
	tcol mc[5];
	memcpy(mc, mcols, sizeof mc);
	if (d->dt <= 0)
		mc[4].head = ""; /* as wide as ever, empty */
	char e[40];
	tgrid g;
	putchar('\n');
	if (tgrid_init(&g, d->nmemory, 5) == 0) {
		for (size_t i = 0; i < d->nmemory; i++) {
			const bd_diff_num *m = &d->memory[i];
			if (m->a == BD_UNKNOWN && m->b == BD_UNKNOWN)
				continue;
			int64_t dd = delta(m->a, m->b);
			char(*r)[TGRID_CELL] = tgrid_row(&g);
			snprintf(r[0], TGRID_CELL, "%s", m->name);
			fmt_bytes(m->a, r[1], TGRID_CELL);
			fmt_bytes(m->b, r[2], TGRID_CELL);
			fmt_dbytes(dd, r[3], TGRID_CELL);
			if (d->dt > 0)
				snprintf(r[4], TGRID_CELL, "%10s/s", fmt_dbytes(dd / d->dt, e, sizeof e));
			else
				tgrid_null(&g, 4);
		}
		tgrid_print(&g, mc, 1);
	}
	putchar('\n');
	if (tgrid_init(&g, d->nallocs, 6) == 0) {
		for (size_t i = 0; i < d->nallocs; i++) {
			const bd_diff_num *m = &d->allocs[i];
			char(*r)[TGRID_CELL] = tgrid_row(&g);
			snprintf(r[0], TGRID_CELL, "%s", out_txt(m->name));
			fmt_bytes(m->a, r[1], TGRID_CELL);
			fmt_bytes(m->b, r[2], TGRID_CELL);
			fmt_dbytes(delta(m->a, m->b), r[3], TGRID_CELL);
			fmt_bytes(m->b2, r[4], TGRID_CELL);
			fmt_dbytes(delta(m->a2, m->b2), r[5], TGRID_CELL);
		}
		tgrid_print(&g, acols, 1);
	}
}

static void print_rest(const bd_diff *d, size_t rows)
{
	char a[40], b[40], c[40], e[40], f[40];
	printf("\nBinaries (=binary sections): %s -> %s, %s -> %s; same address and size in both: %s (%s)\n",
	       fmt_count(d->bin_count_a, a, sizeof a), fmt_count(d->bin_count_b, b, sizeof b),
	       fmt_bytes(d->bin_bytes_a, c, sizeof c), fmt_bytes(d->bin_bytes_b, e, sizeof e),
	       fmt_count(d->bin_same_count, f, sizeof f), fmt_bytes(d->bin_same_bytes, a, sizeof a));
	size_t n = 0;
	for (size_t i = 0; i < d->nports; i++)
		n += d->ports[i].count_a != d->ports[i].count_b;
	printf("\nPorts by driver (%zu changed)\n", n);
	print_port_groups(d, rows);
	print_memory(d);
	(void)f;
	if (d->keys_degraded)
		printf("\n(%llu proc_lib processes keyed without their dictionary: decode budget)\n",
		       (unsigned long long)d->keys_degraded);
}

static void json_side(jw *w, const char *k, const bd_model *m, const char *path)
{
	const bd_node_info *n = bd_model_node(m);
	jw_key(w, k);
	jw_obj(w);
	jw_kstr(w, "path", path);
	jw_kstr(w, "node", n->node_name);
	json_input_facts(w, n);
	jw_obj_end(w);
}

void json_input_facts(jw *w, const bd_node_info *n)
{
	jw_kstr(w, "created", n->created);
	jw_key(w, "created_unix");
	if (n->created_unix == INT64_MIN)
		jw_null(w);
	else
		jw_i64(w, n->created_unix);
	jw_kstr(w, "slogan", n->slogan);
	jw_key(w, "truncated");
	jw_bool(w, n->truncated);
}

static void json_rate(jw *w, const char *k, const bd_diff *d, int64_t dd)
{
	jw_key(w, k);
	if (d->dt > 0)
		jw_dbl(w, (double)dd / (double)d->dt);
	else
		jw_null(w);
}

static void json_group(jw *w, const bd_diff *d, const bd_diff_pgroup *g)
{
	jw_obj(w);
	jw_kstr(w, "key", g->key);
	jw_kstr(w, "key_kind", bd_key_kind_name(g->kind));
	jw_ku64(w, "count_a", g->a.count);
	jw_ku64(w, "count_b", g->b.count);
	jw_ku64(w, "added", g->added);
	jw_ku64(w, "removed", g->removed);
	static const char *names[] = {"memory", "message_queue_len", "reductions", "binary_bytes",
				      "heap_bytes"};
	const uint64_t va[] = {g->a.memory, g->a.msgq, g->a.reductions, g->a.binary, g->a.heap};
	const uint64_t vb[] = {g->b.memory, g->b.msgq, g->b.reductions, g->b.binary, g->b.heap};
	for (int i = 0; i < 5; i++) {
		char k[64];
		snprintf(k, sizeof k, "%s_a", names[i]);
		jw_ku64(w, k, va[i]);
		snprintf(k, sizeof k, "%s_b", names[i]);
		jw_ku64(w, k, vb[i]);
		snprintf(k, sizeof k, "%s_per_s", names[i]);
		json_rate(w, k, d, delta(va[i], vb[i]));
	}
	jw_kpid(w, "example_a", g->example_a);
	jw_kpid(w, "example_b", g->example_b);
	jw_kstr(w, "current_function", g->current_function);
	jw_obj_end(w);
}

/* The diff as JSON (docs/json.md, "diff"). Also used inside `ci --json`. */
void diff_json(jw *w, const bd_diff *d, size_t rows)
{
	jw_obj(w);
	jw_key(w, "dt_seconds");
	if (d->dt > 0)
		jw_i64(w, d->dt);
	else
		jw_null(w);
	jw_key(w, "counts");
	jw_arr(w);
	for (size_t i = 0; i < d->ncounts; i++) {
		jw_obj(w);
		jw_kstr(w, "name", d->counts[i].name);
		jw_ku64(w, "a", d->counts[i].a);
		jw_ku64(w, "b", d->counts[i].b);
		jw_ku64(w, "limit_a", d->counts[i].a2);
		jw_ku64(w, "limit_b", d->counts[i].b2);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	size_t n;
	const bd_diff_pgroup **v = select_groups(d, f_changed, by_memory, &n);
	jw_ku64(w, "process_groups", d->nprocs);
	jw_ku64(w, "process_groups_changed", n);
	jw_key(w, "processes");
	jw_arr(w);
	for (size_t i = 0; v && i < n && i < rows; i++)
		json_group(w, d, v[i]);
	jw_arr_end(w);
	free(v);
	jw_key(w, "ets");
	jw_arr(w);
	for (size_t i = 0, k = 0; i < d->nets && k < rows; i++) {
		const bd_diff_etsgroup *t = &d->ets[i];
		if (t->count_a == t->count_b && t->bytes_a == t->bytes_b && t->objects_a == t->objects_b)
			continue;
		k++;
		jw_obj(w);
		jw_kstr(w, "name", t->name);
		jw_kstr(w, "owner", t->owner);
		jw_ku64(w, "tables_a", t->count_a);
		jw_ku64(w, "tables_b", t->count_b);
		jw_ku64(w, "objects_a", t->objects_a);
		jw_ku64(w, "objects_b", t->objects_b);
		jw_ku64(w, "bytes_a", t->bytes_a);
		jw_ku64(w, "bytes_b", t->bytes_b);
		json_rate(w, "bytes_per_s", d, delta(t->bytes_a, t->bytes_b));
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "atoms");
	jw_obj(w);
	jw_ku64(w, "a", d->atoms_a);
	jw_ku64(w, "b", d->atoms_b);
	jw_ku64(w, "added", d->atoms_added);
	jw_ku64(w, "only_in_a", d->atoms_removed);
	json_rate(w, "added_per_s", d, (int64_t)d->atoms_added);
	jw_key(w, "clusters");
	jw_arr(w);
	for (size_t i = 0; i < d->natom_clusters && i < rows; i++) {
		jw_obj(w);
		jw_kstr(w, "pattern", d->atom_clusters[i].pattern);
		jw_ku64(w, "count", d->atom_clusters[i].count);
		jw_kstr(w, "first", d->atom_clusters[i].first);
		jw_kstr(w, "last", d->atom_clusters[i].last);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
	jw_key(w, "binaries");
	jw_obj(w);
	jw_ku64(w, "count_a", d->bin_count_a);
	jw_ku64(w, "count_b", d->bin_count_b);
	jw_ku64(w, "bytes_a", d->bin_bytes_a);
	jw_ku64(w, "bytes_b", d->bin_bytes_b);
	jw_ku64(w, "retained_count", d->bin_same_count);
	jw_ku64(w, "retained_bytes", d->bin_same_bytes);
	jw_obj_end(w);
	jw_key(w, "ports");
	jw_arr(w);
	for (size_t i = 0, k = 0; i < d->nports && k < rows; i++) {
		const bd_diff_portgroup *p = &d->ports[i];
		if (p->count_a == p->count_b && p->queue_a == p->queue_b)
			continue;
		k++;
		jw_obj(w);
		jw_kstr(w, "driver", p->driver);
		jw_ku64(w, "count_a", p->count_a);
		jw_ku64(w, "count_b", p->count_b);
		jw_ku64(w, "queue_a", p->queue_a);
		jw_ku64(w, "queue_b", p->queue_b);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "memory");
	jw_arr(w);
	for (size_t i = 0; i < d->nmemory; i++) {
		jw_obj(w);
		jw_kstr(w, "name", d->memory[i].name);
		jw_ku64(w, "a", d->memory[i].a);
		jw_ku64(w, "b", d->memory[i].b);
		json_rate(w, "per_s", d, delta(d->memory[i].a, d->memory[i].b));
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "allocators");
	jw_arr(w);
	for (size_t i = 0; i < d->nallocs; i++) {
		jw_obj(w);
		jw_kstr(w, "name", d->allocs[i].name);
		jw_ku64(w, "used_a", d->allocs[i].a);
		jw_ku64(w, "used_b", d->allocs[i].b);
		jw_ku64(w, "allocated_a", d->allocs[i].a2);
		jw_ku64(w, "allocated_b", d->allocs[i].b2);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_ku64(w, "keys_decoded", d->keys_decoded);
	jw_ku64(w, "keys_degraded", d->keys_degraded);
	jw_obj_end(w);
}

int cmd_diff(const opts *o)
{
	pg_key sort = NULL;
	const char *by = o->by ? o->by : "memory";
	for (size_t i = 0; i < sizeof sort_keys / sizeof sort_keys[0]; i++)
		if (!strcmp(by, sort_keys[i].name))
			sort = sort_keys[i].fn;
	if (!sort) {
		fprintf(stderr, "beamdump diff: --by takes memory, mq, reductions, binary or count, "
				"got '%s'\n", by);
		return EXIT_USAGE;
	}
	bd_model *m[2] = {NULL, NULL};
	bd_error err = {0};
	if (open_models(m, o->args, 2, NULL))
		return EXIT_UNREADABLE;
	cli_style(o, m[1]);
	bd_model *ma = m[0], *mb = m[1];
	bd_diff *d = NULL;
	if (bd_diff_run(ma, mb, NULL, &d, &err)) {
		fprintf(stderr, "beamdump: %s\n", out_txt(err.msg));
		bd_model_free(ma);
		bd_model_free(mb);
		return EXIT_UNREADABLE;
	}
	size_t rows = o->all ? SIZE_MAX : o->n >= 0 ? (size_t)o->n : o->json ? 100 : 15;
	if (o->json) {
		jw w;
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_kstr(&w, "schema", "beamdump.diff/1");
		json_side(&w, "a", ma, o->args[0]);
		json_side(&w, "b", mb, o->args[1]);
		jw_key(&w, "diff");
		diff_json(&w, d, rows);
		jw_obj_end(&w);
		jw_end(&w);
	} else {
		print_header(d, o->args[0], o->args[1]);
		print_procs(d, rows, sort, by);
		print_ets(d, rows);
		print_atoms(d, rows);
		print_rest(d, rows);
	}
	bd_diff_free(d);
	int rc = partial_notice(ma);
	int rc2 = partial_notice(mb);
	bd_model_free(ma);
	bd_model_free(mb);
	return rc ? rc : rc2;
}
