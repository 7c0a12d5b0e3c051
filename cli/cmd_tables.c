/* beamdump ets | atoms | memory | schedulers | ports | binaries: one table each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beamdump/analyze.h"
#include "cli.h"

static size_t rows_limit(const opts *o, size_t dflt) { return o->n >= 0 ? (size_t)o->n : dflt; }

/* Sort indices by a u64 key, descending (unknown last). */
static const uint64_t *sort_keys;
static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = sort_keys[*(const size_t *)a], y = sort_keys[*(const size_t *)b];
	if (x == BD_UNKNOWN)
		x = 0;
	if (y == BD_UNKNOWN)
		y = 0;
	return x < y ? 1 : x > y ? -1 : 0;
}

static size_t *order_by(const uint64_t *keys, size_t n)
{
	size_t *idx = malloc((n + 1) * sizeof *idx);
	if (!idx)
		return NULL;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	sort_keys = keys;
	qsort(idx, n, sizeof *idx, cmp_desc);
	return idx;
}

static const char *owner_label(const bd_model *m, bd_pid pid, char *buf, size_t cap)
{
	char p[48], sn[256];
	const char *nm = style_label(bd_pid_name(m, pid), sn, sizeof sn);
	snprintf(buf, cap, "%s%s%s", bd_pid_fmt(pid, p, sizeof p), nm ? " " : "", nm ? out_txt(nm) : "");
	return buf;
}

/* ---- ets ---- */
static int print_ets(const opts *o, const bd_model *m)
{
	int rc = EXIT_OK;
	size_t n;
	const bd_ets *t = bd_model_ets(m, &n);
	uint64_t *keys = malloc((n + 1) * sizeof *keys);
	for (size_t i = 0; keys && i < n; i++)
		keys[i] = words_to_bytes(m, t[i].words);
	size_t *idx = keys ? order_by(keys, n) : NULL;
	size_t lim = rows_limit(o, 30);
	char a[32], b[32];
	if (!idx) {
		rc = EXIT_UNREADABLE;
		goto out;
	}
	if (o->json) {
		jw w;
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_ku64(&w, "tables", n);
		jw_key(&w, "ets");
		jw_arr(&w);
		for (size_t i = 0; i < n && i < lim; i++) {
			const bd_ets *e = &t[idx[i]];
			jw_obj(&w);
			jw_kstr(&w, "table", e->table);
			jw_kstr(&w, "name", e->name);
			jw_kpid(&w, "owner", e->owner);
			jw_kstr(&w, "owner_name", bd_pid_name(m, e->owner));
			jw_kstr(&w, "type", e->type);
			jw_kstr(&w, "protection", e->protection);
			jw_ku64(&w, "objects", e->objects);
			jw_ku64(&w, "words", e->words);
			jw_ku64(&w, "memory", keys[idx[i]]);
			jw_ku64(&w, "buckets", e->buckets);
			jw_key(&w, "chain_avg");
			jw_dbl(&w, e->chain_avg);
			jw_ku64(&w, "chain_max", e->chain_max);
			jw_ku64(&w, "chain_min", e->chain_min);
			jw_key(&w, "chain_stddev");
			jw_dbl(&w, e->chain_stddev);
			jw_key(&w, "chain_expected_stddev");
			jw_dbl(&w, e->chain_expected_stddev);
			jw_ku64(&w, "fixed", e->fixed);
			jw_ku64(&w, "slot", e->slot);
			jw_kstr(&w, "compressed", e->compressed);
			jw_kstr(&w, "write_concurrency", e->write_concurrency);
			jw_kstr(&w, "read_concurrency", e->read_concurrency);
			jw_key(&w, "ca_tree_nodes");
			jw_u64(&w, e->tree_nodes);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_end(&w);
	} else {
		static const tcol cols[] = {{"NAME", 0, 12, 0, 0, 0, 0},     {"OWNER", 0, 16, 0, 1, 0, 0},
					    {"TYPE", 0, 0, 2, 1, 0, 0},      {"PROTECTION", 0, 0, 1, 1, 0, 0},
					    {"OBJECTS", 1, 0, 0, 1, 0, 0},   {"MEMORY", 1, 0, 0, 1, 0, 0}};
		enum { NC = 6 };
		size_t rows = n < lim ? n : lim;
		char(*cell)[NC][160] = rows ? malloc(rows * sizeof *cell) : NULL;
		const char **cells = rows ? malloc(rows * NC * sizeof *cells) : NULL;
		for (size_t i = 0; cell && cells && i < rows; i++) {
			const bd_ets *e = &t[idx[i]];
			snprintf(cell[i][0], sizeof cell[i][0], "%s",
				 out_txt(style_label(e->name ? e->name : "?", cell[i][0], sizeof cell[i][0])));
			owner_label(m, e->owner, cell[i][1], sizeof cell[i][1]);
			snprintf(cell[i][2], sizeof cell[i][2], "%s", e->type ? out_txt(e->type) : "?");
			snprintf(cell[i][3], sizeof cell[i][3], "%s",
				 e->protection ? out_txt(e->protection) : "?");
			fmt_count(e->objects, cell[i][4], sizeof cell[i][4]);
			fmt_bytes(keys[idx[i]], cell[i][5], sizeof cell[i][5]);
			for (size_t j = 0; j < NC; j++)
				cells[i * NC + j] = cell[i][j];
		}
		if (!rows || (cell && cells))
			table_print(cols, NC, cells, rows);
		free(cell);
		free(cells);
		printf("(%s of %s tables, by memory)\n", fmt_count(n < lim ? n : lim, a, sizeof a),
		       fmt_count(n, b, sizeof b));
	}
out:
	free(keys);
	free(idx);
	return rc;
}

/* ---- atoms ---- */
static void print_atom(const char *indent, const char *atom, size_t len)
{
	char b[4096];
	out_clean(b, sizeof b, atom, len);
	printf("%s%s\n", indent, b);
}

typedef struct atom_ring {
	const char **texts;
	size_t *lens;
	size_t cap, count;
	int json, all;
	jw *w;
} atom_ring;

static int atom_cb(void *ud, const char *atom, size_t len)
{
	atom_ring *r = ud;
	if (r->all) {
		if (r->json)
			jw_strn(r->w, atom, len);
		else
			print_atom("", atom, len);
		return 0;
	}
	/* keep the newest cap atoms (iteration is oldest first) */
	r->texts[r->count % r->cap] = atom;
	r->lens[r->count % r->cap] = len;
	r->count++;
	return 0;
}

static int print_atoms(const opts *o, const bd_model *m)
{
	int rc = EXIT_OK;
	const bd_limits *l = bd_model_limits(m);
	size_t lim = rows_limit(o, 20);
	atom_ring r = {0};
	r.cap = lim ? lim : 1;
	r.texts = calloc(r.cap, sizeof *r.texts);
	r.lens = calloc(r.cap, sizeof *r.lens);
	r.json = o->json;
	r.all = o->all;
	jw w;
	r.w = &w;
	char a[32], b[32];
	if (!r.texts || !r.lens) {
		rc = EXIT_UNREADABLE;
		goto out;
	}
	if (o->json) {
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_ku64(&w, "atoms", l->atoms);
		jw_ku64(&w, "limit", l->atoms_limit);
		jw_key(&w, o->all ? "all" : "newest");
		jw_arr(&w);
	} else {
		printf("Atoms: %s", fmt_count(l->atoms, a, sizeof a));
		if (l->atoms_limit != BD_UNKNOWN && l->atoms != BD_UNKNOWN && l->atoms_limit)
			printf(" of %s (%.1f %% of the limit)", fmt_count(l->atoms_limit, b, sizeof b),
			       100.0 * (double)l->atoms / (double)l->atoms_limit);
		printf("\n");
	}
	uint64_t seen = bd_model_atoms_each(m, atom_cb, &r);
	if (!o->all) {
		size_t k = r.count < r.cap ? r.count : r.cap;
		if (!o->json && is_live(m))
			printf("Atom names: %s\n", LIVE_UNKNOWN);
		else if (!o->json && lim) {
			char sa[32];
			printf("Newest %zu atoms (of %s in the dump):\n", k, fmt_count(seen, sa, sizeof sa));
			out_fit_lines(OUT_FIT_CUT); /* an atom a line: cut, not wrapped */
		}
		for (size_t i = 0; i < k && lim; i++) {
			size_t j = (r.count - 1 - i) % r.cap;
			if (o->json)
				jw_strn(&w, r.texts[j], r.lens[j]);
			else
				print_atom("  ", r.texts[j], r.lens[j]);
		}
	}
	if (o->json) {
		jw_arr_end(&w);
		jw_ku64(&w, "in_dump", is_live(m) ? BD_UNKNOWN : seen);
		jw_obj_end(&w);
		jw_end(&w);
	}
out:
	free(r.texts);
	free(r.lens);
	return rc;
}

/* ---- memory ---- */
/* Bytes of an allocator's carriers from mseg_alloc or sys_alloc (mbcs and sbcs, every
 * instance), as "mbcs mseg carriers size: N" lines say; unknown when none does. */
static uint64_t carrier_sum(const bd_model *m, const char *alloc, const char *from)
{
	size_t n;
	const bd_alloc_stat *st = bd_model_alloc_stats(m, &n);
	char k1[64], k2[64];
	snprintf(k1, sizeof k1, "mbcs %s carriers size", from);
	snprintf(k2, sizeof k2, "sbcs %s carriers size", from);
	uint64_t sum = 0;
	int seen = 0;
	for (size_t i = 0; i < n; i++) {
		if (!st[i].alloc || !st[i].key || strcmp(st[i].alloc, alloc) ||
		    (strcmp(st[i].key, k1) && strcmp(st[i].key, k2)) || st[i].v[0] == BD_UNKNOWN)
			continue;
		sum += st[i].v[0];
		seen = 1;
	}
	return seen ? sum : BD_UNKNOWN;
}

static void percent(uint64_t part, uint64_t whole, char *buf, size_t cap)
{
	if (whole)
		snprintf(buf, cap, "%.0f %%", 100.0 * (double)part / (double)whole);
	else
		snprintf(buf, cap, "-");
}

/* The allocators' table; a narrow terminal loses the carrier kinds' usage first. */
static void print_allocators(const bd_alloc_sum *rows, size_t nr, uint64_t tu, uint64_t ta)
{
	static const tcol cols[] = {
		{"ALLOCATOR", 0, 10, 0, 2, 16, 0}, {"USED", 1, 0, 0, 1, 12, 0},
		{"ALLOCATED", 1, 0, 0, 1, 12, 0}, {"USAGE", 1, 0, 0, 1, 7, 0},
		{"MBCS USAGE", 1, 0, 2, 1, 12, 0}, {"SBCS USAGE", 1, 0, 1, 1, 12, 0}};
	enum { NC = 6 };
	tgrid g;
	if (tgrid_init(&g, nr + 1, NC))
		return;
	for (size_t i = 0; i < nr; i++) {
		const bd_alloc_sum *r = &rows[i];
		char(*c)[TGRID_CELL] = tgrid_row(&g);
		snprintf(c[0], TGRID_CELL, "%s", out_txt(r->alloc));
		fmt_bytes(r->used, c[1], TGRID_CELL);
		fmt_bytes(r->allocated, c[2], TGRID_CELL);
		percent(r->used, r->allocated, c[3], TGRID_CELL);
		percent(r->mbcs_used, r->mbcs_allocated, c[4], TGRID_CELL);
		percent(r->sbcs_used, r->sbcs_allocated, c[5], TGRID_CELL);
	}
	char(*c)[TGRID_CELL] = tgrid_row(&g);
	snprintf(c[0], TGRID_CELL, "total");
	fmt_bytes(tu, c[1], TGRID_CELL);
	fmt_bytes(ta, c[2], TGRID_CELL);
	percent(tu, ta, c[3], TGRID_CELL);
	tgrid_null(&g, 4);
	tgrid_null(&g, 5);
	tgrid_print(&g, cols, 1);
}

static int print_memory(const opts *o, const bd_model *m)
{
	int rc = EXIT_OK;
	const bd_memory *mm = bd_model_memory(m);
	const struct { const char *k; uint64_t v; } cat[] = {
		{"total", mm->total},   {"processes", mm->processes}, {"processes_used", mm->processes_used},
		{"system", mm->system}, {"atom", mm->atom},           {"atom_used", mm->atom_used},
		{"binary", mm->binary}, {"code", mm->code},           {"ets", mm->ets},
	};
	bd_alloc_sum *rows = NULL;
	size_t nr = 0;
	bd_alloc_summarize(m, 0, &rows, &nr);
	uint64_t tu = 0, ta = 0;
	for (size_t i = 0; i < nr; i++) {
		tu += rows[i].used;
		ta += rows[i].allocated;
	}
	char a[32], b[32], c[32];
	if (o->json) {
		jw w;
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_key(&w, "memory");
		jw_obj(&w);
		for (size_t i = 0; i < sizeof cat / sizeof cat[0]; i++)
			jw_ku64(&w, cat[i].k, cat[i].v);
		jw_obj_end(&w);
		jw_key(&w, "allocators");
		jw_arr(&w);
		for (size_t i = 0; i < nr; i++) {
			jw_obj(&w);
			jw_kstr(&w, "allocator", rows[i].alloc);
			jw_ku64(&w, "used", rows[i].used);
			jw_ku64(&w, "allocated", rows[i].allocated);
			jw_key(&w, "usage");
			jw_dbl(&w, rows[i].allocated ? (double)rows[i].used / (double)rows[i].allocated : 0.0 / 0.0);
			jw_ku64(&w, "used_max", rows[i].used_max);
			jw_ku64(&w, "allocated_max", rows[i].allocated_max);
			jw_ku64(&w, "mbcs_used", rows[i].mbcs_used);
			jw_ku64(&w, "mbcs_allocated", rows[i].mbcs_allocated);
			jw_ku64(&w, "sbcs_used", rows[i].sbcs_used);
			jw_ku64(&w, "sbcs_allocated", rows[i].sbcs_allocated);
			jw_ku64(&w, "mseg_carriers_size", carrier_sum(m, rows[i].alloc, "mseg"));
			jw_ku64(&w, "sys_alloc_carriers_size", carrier_sum(m, rows[i].alloc, "sys_alloc"));
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_ku64(&w, "allocators_used", tu);
		jw_ku64(&w, "allocators_allocated", ta);
		jw_obj_end(&w);
		jw_end(&w);
	} else {
		printf("erlang:memory()\n");
		for (size_t i = 0; i < sizeof cat / sizeof cat[0]; i++)
			printf("  %-16s %14s  %s\n", cat[i].k, fmt_count(cat[i].v, a, sizeof a),
			       fmt_bytes(cat[i].v, b, sizeof b));
		printf("\nAllocators (recon_alloc: used = blocks, allocated = carriers)\n");
		print_allocators(rows, nr, tu, ta);
		(void)c;
	}
	free(rows);
	return rc;
}

/* ---- schedulers ---- */
static const char *sched_type(bd_sched_type t)
{
	static const char *n[] = {"normal", "dirty_cpu", "dirty_io", "dirty_cpu_runq", "dirty_io_runq", "other"};
	return (unsigned)t < 6 ? n[t] : "other";
}

/* One row a scheduler, what it runs and how busy it was on lines under it; a narrow
 * terminal loses the rarely used run queues first. */
static void print_sched_table(const bd_model *m, const bd_sched *s, size_t n)
{
	static const tcol cols[] = {
		{"ID", 0, 0, 0, 0, 4, 0},           {"TYPE", 0, 0, 0, 1, 15, 0},
		{"RQ NORM", 0, 0, 0, 1, 8, 0},      {"RQ HIGH", 0, 0, 2, 1, 8, 0},
		{"RQ MAX", 0, 0, 3, 1, 8, 0},       {"RQ PORT", 0, 0, 1, 1, 8, 0},
		{"CURRENT PROCESS", 0, 12, 0, 1, 22, 0}, {"SLEEP FLAGS", 0, 10, 0, 1, 0, 0},
		{NULL, 0, 0, 0, 7, 0, 1}};
	enum { NC = 9 };
	int live = is_live(m); /* a capture reads run queues, not what runs or sleeps */
	tgrid g;
	if (tgrid_init(&g, n, NC))
		return;
	for (size_t i = 0; i < n; i++) {
		char(*c)[TGRID_CELL] = tgrid_row(&g);
		snprintf(c[0], TGRID_CELL, "%u", s[i].id);
		snprintf(c[1], TGRID_CELL, "%s", sched_type(s[i].type));
		fmt_count(s[i].rq_normal, c[2], TGRID_CELL);
		fmt_count(s[i].rq_high, c[3], TGRID_CELL);
		fmt_count(s[i].rq_max, c[4], TGRID_CELL);
		fmt_count(s[i].rq_port, c[5], TGRID_CELL);
		snprintf(c[6], TGRID_CELL, "%s", live ? "?" : "-");
		if (bd_pid_valid(s[i].current))
			owner_label(m, s[i].current, c[6], 96);
		snprintf(c[7], TGRID_CELL, "%s",
			 s[i].sleep_flags && *s[i].sleep_flags ? out_txt(s[i].sleep_flags)
			 : live && !s[i].sleep_flags	       ? "?"
							       : "(awake)");
		int k = 0;
		if (bd_pid_valid(s[i].current) && s[i].current_pc)
			k = snprintf(c[8], TGRID_CELL, "running %s", out_txt(s[i].current_pc));
		if (s[i].utilization == s[i].utilization && k >= 0 && k < TGRID_CELL) /* live */
			snprintf(c[8] + k, TGRID_CELL - (size_t)k, "%sbusy %.1f %% of the capture",
				 k ? "\n" : "", 100.0 * s[i].utilization);
	}
	tgrid_print(&g, cols, 1);
}

static int print_schedulers(const opts *o, const bd_model *m)
{
	int rc = EXIT_OK;
	size_t n;
	const bd_sched *s = bd_model_scheds(m, &n);
	char a[32], pid[48];
	if (o->json) {
		jw w;
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_key(&w, "schedulers");
		jw_arr(&w);
		for (size_t i = 0; i < n; i++) {
			jw_obj(&w);
			jw_ku64(&w, "id", s[i].id);
			jw_kstr(&w, "type", sched_type(s[i].type));
			jw_kstr(&w, "sleep_flags", s[i].sleep_flags);
			jw_kstr(&w, "sleep_aux_work", s[i].aux_work);
			jw_kstr(&w, "current_port", s[i].current_port);
			jw_ku64(&w, "run_queue_max", s[i].rq_max);
			jw_ku64(&w, "run_queue_high", s[i].rq_high);
			jw_ku64(&w, "run_queue_normal", s[i].rq_normal);
			jw_ku64(&w, "run_queue_low", s[i].rq_low);
			jw_ku64(&w, "run_queue_port", s[i].rq_port);
			jw_kstr(&w, "run_queue_flags", s[i].rq_flags);
			jw_key(&w, "utilization");
			jw_dbl(&w, s[i].utilization);
			jw_kpid(&w, "current_process", s[i].current);
			jw_kstr(&w, "current_name", bd_pid_valid(s[i].current) ? bd_pid_name(m, s[i].current) : NULL);
			jw_kstr(&w, "current_state", s[i].current_state);
			jw_kstr(&w, "current_pc", s[i].current_pc);
			jw_key(&w, "stack_trace");
			jw_arr(&w);
			for (uint32_t j = 0; j < s[i].trace_count; j++)
				jw_str(&w, bd_model_string(m, s[i].trace_first + j));
			jw_arr_end(&w);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_end(&w);
	} else {
		print_sched_table(m, s, n);
		(void)a;
		(void)pid;
	}
	return rc;
}

/* ---- ports ---- */
static int print_ports(const opts *o, const bd_model *m)
{
	int rc = EXIT_OK;
	size_t n;
	const bd_port *p = bd_model_ports(m, &n);
	uint64_t *keys = malloc((n + 1) * sizeof *keys);
	for (size_t i = 0; keys && i < n; i++)
		keys[i] = p[i].queue;
	size_t *idx = keys ? order_by(keys, n) : NULL;
	size_t lim = rows_limit(o, 30);
	char a[32], b[32], id[48];
	if (idx && o->json) {
		jw w;
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_ku64(&w, "ports", n);
		jw_key(&w, "top");
		jw_arr(&w);
		for (size_t i = 0; i < n && i < lim; i++) {
			const bd_port *q = &p[idx[i]];
			jw_obj(&w);
			jw_kstr(&w, "id", bd_port_fmt(q->id, id, sizeof id));
			jw_kstr(&w, "name", q->name);
			jw_kpid(&w, "connected", q->connected);
			jw_kstr(&w, "kind", q->kind);
			jw_kstr(&w, "driver", q->driver);
			jw_kstr(&w, "state", q->state);
			jw_ku64(&w, "input", q->input);
			jw_ku64(&w, "output", q->output);
			jw_ku64(&w, "queue", q->queue);
			jw_ku64(&w, "slot", q->slot);
			jw_kstr(&w, "task_flags", q->task_flags);
			jw_kstr(&w, "port_data", q->port_data);
			size_t nl;
			const bd_link *lk = bd_model_links(m, &nl);
			for (int kind = 0; kind < 2; kind++) {
				jw_key(&w, kind ? "monitors" : "links");
				jw_arr(&w);
				for (uint32_t j = 0; j < q->link_count && q->link_first + j < nl; j++) {
					const bd_link *l = &lk[q->link_first + j];
					if ((l->kind == BD_LINK) == !kind)
						jw_pid(&w, l->id);
				}
				jw_arr_end(&w);
			}
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_end(&w);
	} else if (idx) {
		static const tcol cols[] = {{"PORT", 0, 0, 0, 0, 0, 0},      {"DRIVER", 0, 12, 0, 1, 0, 0},
					    {"CONNECTED", 0, 16, 0, 1, 0, 0}, {"QUEUE", 1, 0, 0, 1, 0, 0},
					    {"INPUT", 1, 0, 1, 1, 0, 0},     {"OUTPUT", 1, 0, 1, 1, 0, 0}};
		enum { NC = 6 };
		size_t rows = n < lim ? n : lim;
		char(*cell)[NC][160] = rows ? malloc(rows * sizeof *cell) : NULL;
		const char **cells = rows ? malloc(rows * NC * sizeof *cells) : NULL;
		for (size_t i = 0; cell && cells && i < rows; i++) {
			const bd_port *q = &p[idx[i]];
			/* A spawned program by its name, not the head of its path:
			 * /usr/lib/erlang/erts-13.1.5/bin/inet_gethost 4 -> .../inet_gethost 4 */
			const char *drv = q->driver ? q->driver : "?";
			char dbuf[64];
			if (strlen(drv) > 30 && drv[0] == '/') {
				const char *sp = strchr(drv, ' ');
				const char *end = sp ? sp : drv + strlen(drv), *base = end;
				while (base > drv && base[-1] != '/')
					base--;
				snprintf(dbuf, sizeof dbuf, ".../%s", base);
				drv = dbuf;
			}
			bd_port_fmt(q->id, cell[i][0], sizeof cell[i][0]);
			snprintf(cell[i][1], sizeof cell[i][1], "%s", out_txt(drv));
			owner_label(m, q->connected, cell[i][2], sizeof cell[i][2]);
			fmt_bytes(q->queue, cell[i][3], sizeof cell[i][3]);
			fmt_bytes(q->input, cell[i][4], sizeof cell[i][4]);
			fmt_bytes(q->output, cell[i][5], sizeof cell[i][5]);
			for (size_t j = 0; j < NC; j++)
				cells[i * NC + j] = cell[i][j];
		}
		if (!rows || (cell && cells))
			table_print(cols, NC, cells, rows);
		free(cell);
		free(cells);
		printf("(%s of %s ports, by queue)\n", fmt_count(n < lim ? n : lim, a, sizeof a),
		       fmt_count(n, b, sizeof b));
	}
	free(keys);
	free(idx);
	return rc;
}

/* ---- binaries ---- */
/* Refc binaries by size, each with the processes that reference it (reconstructed
 * from the heaps by bd_bin_refs_build, as analyze does), and what the dump lacks:
 * binaries referenced from heaps without a =binary section. */
enum { HOLDERS_TEXT = 2, HOLDERS_JSON = 8 };

static const char *holder_label(const bd_proc *p, char *buf, size_t cap)
{
	char pid[48];
	bd_pid_fmt(p->pid, pid, sizeof pid);
	snprintf(buf, cap, "%s%s%s", p->name ? out_txt(p->name) : "", p->name ? " " : "", pid);
	return buf;
}

/* "blob_store <0.80.0>, <0.90.0> +3" */
static const char *holders_text(const bd_bin_refs *r, uint64_t addr, char *buf, size_t cap)
{
	const bd_proc *hp[HOLDERS_TEXT];
	uint64_t n = bd_bin_refs_holders(r, addr, hp, HOLDERS_TEXT);
	size_t len = 0;
	char l[160];
	buf[0] = 0;
	for (uint64_t k = 0; k < n && k < HOLDERS_TEXT && len < cap; k++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%s", k ? ", " : "",
					holder_label(hp[k], l, sizeof l));
	if (n > HOLDERS_TEXT && len < cap)
		snprintf(buf + len, cap - len, " +%llu", (unsigned long long)(n - HOLDERS_TEXT));
	if (!n)
		snprintf(buf, cap, "-");
	return buf;
}

static void binaries_json(const bd_model *m, const bd_binary *bins, size_t n, uint64_t total,
			  const size_t *idx, size_t lim, const bd_bin_refs *r)
{
	jw w;
	char addr[32];
	jw_init(&w, stdout);
	jw_obj(&w);
	jw_ku64(&w, "binaries", n);
	jw_ku64(&w, "bytes", total);
	jw_ku64(&w, "memory_binary", bd_model_memory(m)->binary);
	jw_ku64(&w, "processes_scanned", r->scanned);
	jw_key(&w, "holders_complete");
	jw_bool(&w, r->complete);
	jw_key(&w, "largest");
	jw_arr(&w);
	for (size_t i = 0; i < n && i < lim; i++) {
		const bd_binary *b = &bins[idx[i]];
		const bd_proc *hp[HOLDERS_JSON];
		uint64_t nh = bd_bin_refs_holders(r, b->addr, hp, HOLDERS_JSON);
		snprintf(addr, sizeof addr, "%llX", (unsigned long long)b->addr);
		jw_obj(&w);
		jw_kstr(&w, "address", addr);
		jw_ku64(&w, "size", b->size);
		jw_ku64(&w, "refcount", nh);
		jw_key(&w, "holders");
		jw_arr(&w);
		for (uint64_t k = 0; k < nh && k < HOLDERS_JSON; k++) {
			jw_obj(&w);
			jw_kpid(&w, "pid", hp[k]->pid);
			jw_kstr(&w, "name", hp[k]->name);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_key(&w, "missing");
	jw_obj(&w);
	jw_ku64(&w, "binaries", r->missing);
	jw_ku64(&w, "bytes_estimate", r->missing_bytes);
	jw_key(&w, "holders");
	jw_arr(&w);
	for (size_t k = 0; k < r->nmissing_holders && k < HOLDERS_JSON; k++) {
		const bd_bin_missing *x = &r->missing_holders[k];
		jw_obj(&w);
		jw_kpid(&w, "pid", x->proc->pid);
		jw_kstr(&w, "name", x->proc->name);
		jw_ku64(&w, "binaries", x->binaries);
		jw_ku64(&w, "bytes_estimate", x->bytes);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	jw_obj_end(&w);
	jw_end(&w);
}

/* One line on what the dump lacks, with BinVHeap's estimate of its size. */
static void binaries_missing(const bd_bin_refs *r)
{
	if (!r->missing)
		return;
	char cn[32], b[32], l[160];
	const bd_bin_missing *top = r->nmissing_holders ? &r->missing_holders[0] : NULL;
	printf("Not in the dump: %s binaries referenced", fmt_count(r->missing, cn, sizeof cn));
	if (top)
		printf(" by %s", holder_label(top->proc, l, sizeof l));
	if (r->nmissing_holders > 1)
		printf(" and %zu other process%s", r->nmissing_holders - 1,
		       r->nmissing_holders > 2 ? "es" : "");
	if (r->missing_bytes)
		printf(", ~%s by %s BinVHeap", fmt_bytes(r->missing_bytes, b, sizeof b),
		       r->nmissing_holders > 1 ? "their" : "its");
	printf(" (OTP <= 26 writes a sub-binary whose binary it has not visited yet without "
	       "its =binary section)\n");
}

static void binaries_text(const bd_model *m, const bd_binary *bins, size_t n, uint64_t total,
			  const size_t *idx, size_t lim, const bd_bin_refs *r)
{
	char a[32], b[32], cn[32], hl[128];
	uint64_t binmem = bd_model_memory(m)->binary;
	printf("%s refc binaries in the dump, %s in all", fmt_count(n, cn, sizeof cn),
	       fmt_bytes(total, a, sizeof a));
	if (binmem != BD_UNKNOWN)
		printf("; binary memory %s", fmt_bytes(binmem, b, sizeof b));
	printf("\n");
	static const tcol cols[] = {{"ADDRESS", 1, 0, 0, 2, 0, 0}, {"SIZE", 1, 0, 0, 1, 0, 0},
				    {"REFS", 1, 0, 0, 1, 0, 0},    {"HOLDERS", 0, 16, 0, 2, 0, 0},
				    {"HEAD", 0, 6, 1, 1, 0, 0}};
	enum { NC = 5 };
	size_t rows = n < lim ? n : lim;
	char(*cell)[NC][160] = rows ? malloc(rows * sizeof *cell) : NULL;
	const char **cells = rows ? malloc(rows * NC * sizeof *cells) : NULL;
	for (size_t i = 0; cell && cells && i < rows; i++) {
		const bd_binary *bn = &bins[idx[i]];
		uint8_t head[16];
		int64_t got = bd_binary_read(m, bn, 0, head, sizeof head);
		snprintf(cell[i][0], sizeof cell[i][0], "%llX", (unsigned long long)bn->addr);
		fmt_bytes(bn->size, cell[i][1], sizeof cell[i][1]);
		snprintf(cell[i][2], sizeof cell[i][2], "%llu",
			 (unsigned long long)bd_bin_refs_holders(r, bn->addr, NULL, 0));
		snprintf(cell[i][3], sizeof cell[i][3], "%s", holders_text(r, bn->addr, hl, sizeof hl));
		int64_t k = 0;
		for (; k < got && k < 16; k++)
			cell[i][4][k] = head[k] >= 32 && head[k] < 127 ? (char)head[k] : '.';
		cell[i][4][k] = 0;
		for (size_t j = 0; j < NC; j++)
			cells[i * NC + j] = cell[i][j];
	}
	if (rows && cell && cells)
		table_print(cols, NC, cells, rows);
	free(cell);
	free(cells);
	if (n)
		printf("(%s of %s binaries, by size; REFS: processes whose heap references it, "
		       "%s)\n", fmt_count(n < lim ? n : lim, a, sizeof a), fmt_count(n, b, sizeof b),
		       r->complete ? "every heap read"
				   : "only the largest BinVHeap holders' heaps read: lower bounds");
	binaries_missing(r);
}

static int print_binaries(const opts *o, const bd_model *m)
{
	int rc = EXIT_OK;
	size_t n;
	const bd_binary *bins = bd_model_binaries(m, &n);
	uint64_t *keys = malloc((n + 1) * sizeof *keys), total = 0;
	for (size_t i = 0; keys && i < n; i++) {
		keys[i] = bins[i].size;
		total += bins[i].size;
	}
	size_t *idx = keys ? order_by(keys, n) : NULL;
	size_t lim = rows_limit(o, 20);
	bd_bin_refs *r = NULL;
	bd_error err = {0};
	if (!idx || bd_bin_refs_build(&r, m, NULL, &err)) {
		fprintf(stderr, "beamdump: binaries: %s\n", err.msg[0] ? out_txt(err.msg) : "out of memory");
		rc = EXIT_UNREADABLE;
	} else if (o->json) {
		binaries_json(m, bins, n, total, idx, lim, r);
	} else {
		binaries_text(m, bins, n, total, idx, lim, r);
	}
	bd_bin_refs_free(r);
	free(keys);
	free(idx);
	return rc;
}

/* Each table command: open the input, print, say whether the input was partial. */
static int with_model(const opts *o, int (*print)(const opts *o, const bd_model *m))
{
	bd_model *m;
	int rc = open_input(o, &m);
	if (rc)
		return rc;
	rc = print(o, m);
	if (!rc)
		rc = partial_notice(m);
	bd_model_free(m);
	return rc;
}

int cmd_ets(const opts *o) { return with_model(o, print_ets); }
int cmd_atoms(const opts *o) { return with_model(o, print_atoms); }
int cmd_memory(const opts *o) { return with_model(o, print_memory); }
int cmd_schedulers(const opts *o) { return with_model(o, print_schedulers); }
int cmd_ports(const opts *o) { return with_model(o, print_ports); }
int cmd_binaries(const opts *o) { return with_model(o, print_binaries); }
