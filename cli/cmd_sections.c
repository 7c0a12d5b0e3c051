/* beamdump timers | modules | module | funs | persistent-terms | areas | tables | nodes:
 * the dump sections crashdump_viewer has a tab for, one table each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define TERM_CAP 8192

static size_t rows_limit(const opts *o, size_t dflt) { return o->n >= 0 ? (size_t)o->n : dflt; }

static int with_model(const opts *o, int (*print)(const opts *o, const bd_model *m))
{
	bd_model *m;
	int rc = open_input(o, &m);
	if (rc)
		return rc;
	rc = print(o, m);
	int prc = partial_notice(m);
	bd_model_free(m);
	return rc ? rc : prc;
}

/* A live capture reads no timers, modules, funs or persistent terms: say "unknown"
 * (JSON null), not an empty table. */
static int with_dump_section(const opts *o, int (*print)(const opts *o, const bd_model *m),
			     const char *key, const char *what)
{
	bd_model *m;
	int rc = open_input(o, &m);
	if (rc)
		return rc;
	if (!is_live(m)) {
		rc = print(o, m);
	} else if (o->json) {
		jw w;
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_ku64(&w, key, BD_UNKNOWN);
		jw_ku64(&w, "shown", 0);
		if (!strcmp(key, "modules")) {
			jw_ku64(&w, "current_code_bytes", BD_UNKNOWN);
			jw_ku64(&w, "old_code_bytes", BD_UNKNOWN);
			jw_ku64(&w, "with_old_code", BD_UNKNOWN);
		}
		jw_key(&w, "rows");
		jw_arr(&w);
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_end(&w);
	} else {
		printf("%s: %s\n", what, LIVE_UNKNOWN);
	}
	int prc = partial_notice(m);
	bd_model_free(m);
	return rc ? rc : prc;
}

static void footer(size_t shown, size_t n, const char *what, const char *order)
{
	char a[32], b[32];
	printf("(%s of %s %s%s%s)\n", fmt_count(shown, a, sizeof a), fmt_count(n, b, sizeof b), what,
	       order ? ", " : "", order ? order : "");
}

/* ---- timers ---- */
static int print_timers(const opts *o, const bd_model *m)
{
	size_t n;
	const bd_timer *t = bd_model_timers(m, &n);
	size_t lim = rows_limit(o, 50), shown = n < lim ? n : lim;
	char a[32], pid[48];
	if (o->json) {
		jw w;
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_ku64(&w, "timers", n);
		jw_ku64(&w, "shown", shown);
		jw_key(&w, "rows");
		jw_arr(&w);
		for (size_t i = 0; i < shown; i++) {
			jw_obj(&w);
			jw_kstr(&w, "owner", t[i].owner);
			jw_kpid(&w, "owner_pid", t[i].owner_pid);
			jw_kstr(&w, "owner_name",
				bd_pid_valid(t[i].owner_pid) ? bd_pid_name(m, t[i].owner_pid) : NULL);
			jw_kstr(&w, "message", t[i].message);
			jw_ku64(&w, "time_left_ms", t[i].time_left_ms);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_end(&w);
		return EXIT_OK;
	}
	static const tcol cols[] = {{"OWNER", 0, 16, 0, 0, 0, 0},
				    {"TIME LEFT (ms)", 1, 0, 0, 1, 0, 0},
				    {"MESSAGE", 0, 12, 0, 2, 0, 0}};
	enum { NC = 3 };
	char(*cell)[NC][256] = shown ? malloc(shown * sizeof *cell) : NULL;
	const char **cells = shown ? malloc(shown * NC * sizeof *cells) : NULL;
	for (size_t i = 0; cell && cells && i < shown; i++) {
		char sn[256];
		const char *nm = bd_pid_valid(t[i].owner_pid) ? bd_pid_name(m, t[i].owner_pid) : NULL;
		if (nm)
			snprintf(cell[i][0], sizeof cell[i][0], "%s %s",
				 bd_pid_fmt(t[i].owner_pid, pid, sizeof pid),
				 out_txt(style_label(nm, sn, sizeof sn)));
		else
			snprintf(cell[i][0], sizeof cell[i][0], "%s",
				 t[i].owner ? out_txt(t[i].owner) : "?");
		fmt_count(t[i].time_left_ms, cell[i][1], sizeof cell[i][1]);
		snprintf(cell[i][2], sizeof cell[i][2], "%s",
			 t[i].message ? out_txt(style_label(t[i].message, sn, sizeof sn)) : "?");
		for (size_t j = 0; j < NC; j++)
			cells[i * NC + j] = cell[i][j];
	}
	if (shown && cell && cells)
		table_print(cols, NC, cells, shown);
	else if (!shown)
		table_print(cols, NC, NULL, 0);
	free(cell);
	free(cells);
	(void)a;
	footer(shown, n, "timers", "in dump order");
	return EXIT_OK;
}

/* ---- modules ---- */
static const bd_module *mods_sorted;
static int cmp_mod(const void *a, const void *b)
{
	const bd_module *x = &mods_sorted[*(const size_t *)a], *y = &mods_sorted[*(const size_t *)b];
	uint64_t u = x->current_size == BD_UNKNOWN ? 0 : x->current_size;
	uint64_t v = y->current_size == BD_UNKNOWN ? 0 : y->current_size;
	if (u != v)
		return u < v ? 1 : -1;
	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

static int print_modules(const opts *o, const bd_model *m)
{
	size_t n;
	const bd_module *md = bd_model_modules(m, &n);
	size_t *idx = malloc((n + 1) * sizeof *idx);
	if (!idx)
		return EXIT_UNREADABLE;
	uint64_t cur = 0, old = 0, with_old = 0;
	for (size_t i = 0; i < n; i++) {
		idx[i] = i;
		cur += md[i].current_size == BD_UNKNOWN ? 0 : md[i].current_size;
		if (md[i].old_size != BD_UNKNOWN) {
			old += md[i].old_size;
			with_old++;
		}
	}
	mods_sorted = md;
	qsort(idx, n, sizeof *idx, cmp_mod);
	size_t lim = rows_limit(o, 30), shown = n < lim ? n : lim;
	char a[32], b[32], c[32];
	if (o->json) {
		jw w;
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_ku64(&w, "modules", n);
		jw_ku64(&w, "shown", shown);
		jw_ku64(&w, "current_code_bytes", cur);
		jw_ku64(&w, "old_code_bytes", old);
		jw_ku64(&w, "with_old_code", with_old);
		jw_key(&w, "rows");
		jw_arr(&w);
		for (size_t i = 0; i < shown; i++) {
			const bd_module *x = &md[idx[i]];
			jw_obj(&w);
			jw_kstr(&w, "name", x->name);
			jw_ku64(&w, "current_size", x->current_size);
			jw_ku64(&w, "old_size", x->old_size);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_end(&w);
	} else {
		static const tcol cols[] = {{"MODULE", 0, 16, 0, 0, 0, 0},
					    {"CURRENT SIZE", 1, 0, 0, 1, 0, 0},
					    {"OLD SIZE", 1, 0, 1, 1, 0, 0}};
		enum { NC = 3 };
		char(*cell)[NC][256] = shown ? malloc(shown * sizeof *cell) : NULL;
		const char **cells = shown ? malloc(shown * NC * sizeof *cells) : NULL;
		for (size_t i = 0; cell && cells && i < shown; i++) {
			const bd_module *x = &md[idx[i]];
			char sn[256];
			snprintf(cell[i][0], sizeof cell[i][0], "%s",
				 x->name ? out_txt(style_label(x->name, sn, sizeof sn)) : "?");
			fmt_bytes(x->current_size, cell[i][1], sizeof cell[i][1]);
			if (x->old_size == BD_UNKNOWN)
				snprintf(cell[i][2], sizeof cell[i][2], "-");
			else
				fmt_bytes(x->old_size, cell[i][2], sizeof cell[i][2]);
			for (size_t j = 0; j < NC; j++)
				cells[i * NC + j] = cell[i][j];
		}
		if (!shown || (cell && cells))
			table_print(cols, NC, cells, shown);
		free(cell);
		free(cells);
		printf("current code %s; old code %s in %s modules\n", fmt_bytes(cur, a, sizeof a),
		       fmt_bytes(old, b, sizeof b), fmt_count(with_old, c, sizeof c));
		footer(shown, n, "modules", "by current size");
	}
	free(idx);
	return EXIT_OK;
}

/* ---- module <name> ---- */
static const bd_module *find_module(const bd_model *m, const char *name)
{
	size_t n, l = strlen(name);
	const bd_module *md = bd_model_modules(m, &n);
	for (size_t i = 0; i < n; i++) {
		const char *x = md[i].name;
		if (!x)
			continue;
		size_t xl = strlen(x);
		if (!strcmp(x, name) || (xl == l + 2 && x[0] == '\'' && !strncmp(x + 1, name, l)))
			return &md[i];
	}
	return NULL;
}

/* One attributes or compilation-info blob, decoded for display; NULL when the dump has
 * none, "(cut in the dump)" when it has one that does not decode (cut or damaged). */
static const char *module_blob(bd_heap *h, bd_span sp, char *buf, int *ok)
{
	bd_term *t = h && sp.len ? bd_heap_decode_blob(h, sp) : NULL;
	*ok = t != NULL;
	if (t) {
		bd_term_fmt(t, buf, TERM_CAP, 12, 64);
		return buf;
	}
	return sp.len ? "(cut in the dump)" : NULL;
}

static int print_module(const opts *o, const bd_model *m)
{
	const bd_module *md = find_module(m, o->args[0]);
	if (!md) {
		fprintf(stderr, "beamdump: no module %s in the dump (try beamdump modules)\n",
			out_txt(o->args[0]));
		return EXIT_USAGE;
	}
	bd_heap *h = NULL;
	bd_error err = {0};
	bd_heap_open_literals(&h, m, &err);
	char *buf[4];
	int ok[4];
	const char *txt[4];
	const bd_span sp[4] = {md->attributes, md->compile_info, md->old_attributes,
			       md->old_compile_info};
	for (int i = 0; i < 4; i++)
		buf[i] = malloc(TERM_CAP);
	if (!buf[0] || !buf[1] || !buf[2] || !buf[3]) {
		for (int i = 0; i < 4; i++)
			free(buf[i]);
		bd_heap_free(h);
		return EXIT_UNREADABLE;
	}
	for (int i = 0; i < 4; i++)
		txt[i] = module_blob(h, sp[i], buf[i], &ok[i]);
	char a[32];
	if (o->json) {
		static const char *keys[4] = {"attributes", "compile_info", "old_attributes",
					      "old_compile_info"};
		jw w;
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_kstr(&w, "name", md->name);
		jw_ku64(&w, "current_size", md->current_size);
		jw_ku64(&w, "old_size", md->old_size);
		for (int i = 0; i < 4; i++) {
			char k[40];
			jw_kstr(&w, keys[i], ok[i] ? buf[i] : NULL);
			snprintf(k, sizeof k, "%s_cut", keys[i]);
			jw_key(&w, k);
			jw_bool(&w, !ok[i] && sp[i].len);
		}
		jw_obj_end(&w);
		jw_end(&w);
	} else {
		printf("Module:           %s\n", md->name ? out_txt(md->name) : "?");
		printf("Current size:     %s\n", fmt_bytes(md->current_size, a, sizeof a));
		printf("Attributes:       %s\n", txt[0] ? txt[0] : "(none)");
		printf("Compilation info: %s\n", txt[1] ? txt[1] : "(none)");
		printf("Old size:         %s\n",
		       md->old_size == BD_UNKNOWN ? "(no old code)" : fmt_bytes(md->old_size, a, sizeof a));
		if (md->old_size != BD_UNKNOWN) {
			printf("Old attributes:   %s\n", txt[2] ? txt[2] : "(none)");
			printf("Old compile info: %s\n", txt[3] ? txt[3] : "(none)");
		}
	}
	for (int i = 0; i < 4; i++)
		free(buf[i]);
	bd_heap_free(h);
	return EXIT_OK;
}

/* ---- funs ---- */
static const bd_fun *funs_sorted;
static int cmp_fun(const void *a, const void *b)
{
	const bd_fun *x = &funs_sorted[*(const size_t *)a], *y = &funs_sorted[*(const size_t *)b];
	uint64_t u = x->refc == BD_UNKNOWN ? 0 : x->refc, v = y->refc == BD_UNKNOWN ? 0 : y->refc;
	if (u != v)
		return u < v ? 1 : -1;
	int c = strcmp(x->module ? x->module : "", y->module ? y->module : "");
	return c ? c : (x->index < y->index ? -1 : x->index > y->index);
}

static int print_funs(const opts *o, const bd_model *m)
{
	size_t n;
	const bd_fun *f = bd_model_funs(m, &n);
	size_t *idx = malloc((n + 1) * sizeof *idx);
	if (!idx)
		return EXIT_UNREADABLE;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	funs_sorted = f;
	qsort(idx, n, sizeof *idx, cmp_fun);
	size_t lim = rows_limit(o, 30), shown = n < lim ? n : lim;
	char a[32], b[32], c[32];
	if (o->json) {
		jw w;
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_ku64(&w, "funs", n);
		jw_ku64(&w, "shown", shown);
		jw_key(&w, "rows");
		jw_arr(&w);
		for (size_t i = 0; i < shown; i++) {
			const bd_fun *x = &f[idx[i]];
			jw_obj(&w);
			jw_kstr(&w, "module", x->module);
			jw_ku64(&w, "uniq", x->uniq);
			jw_ku64(&w, "index", x->index);
			jw_ku64(&w, "refc", x->refc);
			jw_kstr(&w, "address", x->address);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_end(&w);
	} else {
		/* a narrow terminal loses the address first */
		static const tcol cols[] = {
			{"MODULE", 0, 12, 0, 0, 40, 0}, {"UNIQ", 1, 0, 0, 1, 12, 0},
			{"INDEX", 1, 0, 0, 1, 8, 0},    {"REFC", 1, 0, 0, 1, 8, 0},
			{"ADDRESS", 0, 0, 1, 2, 0, 0}};
		tgrid g;
		if (tgrid_init(&g, shown, 5) == 0) {
			for (size_t i = 0; i < shown; i++) {
				const bd_fun *x = &f[idx[i]];
				char(*r)[TGRID_CELL] = tgrid_row(&g);
				/* into a pipe cut at 40 as ever; a terminal cuts with a mark */
				snprintf(r[0], out_columns() ? TGRID_CELL : 41, "%s",
					 x->module ? out_txt(x->module) : "?");
				fmt_count(x->uniq, r[1], TGRID_CELL);
				fmt_count(x->index, r[2], TGRID_CELL);
				fmt_count(x->refc, r[3], TGRID_CELL);
				snprintf(r[4], TGRID_CELL, "%s", x->address ? x->address : "?");
			}
			tgrid_print(&g, cols, 1);
		}
		(void)a, (void)b, (void)c;
		footer(shown, n, "funs", "by reference count");
	}
	free(idx);
	return EXIT_OK;
}

/* ---- persistent terms ---- */
static int print_pterms(const opts *o, const bd_model *m)
{
	bd_heap *h = NULL;
	bd_error err = {0};
	bd_term **keys = NULL, **vals = NULL;
	size_t n = 0;
	if (bd_heap_open_literals(&h, m, &err) == 0)
		bd_heap_persistent_terms(h, &keys, &vals, &n, &err);
	size_t lim = rows_limit(o, 50), shown = n < lim ? n : lim;
	char *kb = malloc(TERM_CAP), *vb = malloc(TERM_CAP);
	if (!kb || !vb) {
		free(kb);
		free(vb);
		bd_heap_free(h);
		return EXIT_UNREADABLE;
	}
	if (o->json) {
		jw w;
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_ku64(&w, "persistent_terms", n);
		jw_ku64(&w, "shown", shown);
		jw_key(&w, "rows");
		jw_arr(&w);
		for (size_t i = 0; i < shown; i++) {
			bd_term_fmt(keys[i], kb, TERM_CAP, 6, 16);
			bd_term_fmt(vals[i], vb, TERM_CAP, 8, 32);
			jw_obj(&w);
			jw_kstr(&w, "key", kb);
			jw_kstr(&w, "value", vb);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_end(&w);
	} else {
		out_fit_lines(OUT_FIT_CUT); /* one term a line: cut, not wrapped */
		for (size_t i = 0; i < shown; i++) {
			bd_term_fmt(keys[i], kb, TERM_CAP, 6, 16);
			bd_term_fmt(vals[i], vb, 600, 6, 12);
			printf("%s => %s\n", kb, vb);
		}
		out_fit_lines(OUT_FIT_WRAP);
		footer(shown, n, "persistent terms", "in dump order");
	}
	free(kb);
	free(vb);
	bd_heap_free(h);
	return EXIT_OK;
}

/* ---- allocated areas ---- */
static int print_areas(const opts *o, const bd_model *m)
{
	size_t n;
	const bd_area *ar = bd_model_areas(m, &n);
	char a[32], b[32];
	if (o->json) {
		jw w;
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_key(&w, "areas");
		jw_arr(&w);
		for (size_t i = 0; i < n; i++) {
			jw_obj(&w);
			jw_kstr(&w, "name", ar[i].name);
			jw_ku64(&w, "allocated", ar[i].allocated);
			jw_ku64(&w, "used", ar[i].used);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_end(&w);
		return EXIT_OK;
	}
	printf("%-24s %14s %14s\n", "AREA", "ALLOCATED", "USED");
	for (size_t i = 0; i < n; i++)
		printf("%-24.24s %14s %14s\n", ar[i].name ? out_txt(ar[i].name) : "?",
		       fmt_bytes(ar[i].allocated, a, sizeof a),
		       ar[i].used == BD_UNKNOWN ? "-" : fmt_bytes(ar[i].used, b, sizeof b));
	if (!n)
		printf("(no =allocated_areas section in the dump)\n");
	return EXIT_OK;
}

/* ---- hash and index tables ---- */
static int print_tables(const opts *o, const bd_model *m)
{
	size_t n;
	const bd_table_stat *t = bd_model_table_stats(m, &n);
	char c[6][32];
	if (o->json) {
		jw w;
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_key(&w, "tables");
		jw_arr(&w);
		for (size_t i = 0; i < n; i++) {
			jw_obj(&w);
			jw_kstr(&w, "name", t[i].name);
			jw_kstr(&w, "kind", t[i].index ? "index" : "hash");
			jw_ku64(&w, "size", t[i].size);
			jw_ku64(&w, "used", t[i].used);
			jw_ku64(&w, "objs", t[i].objs);
			jw_ku64(&w, "depth", t[i].depth);
			jw_ku64(&w, "limit", t[i].limit);
			jw_ku64(&w, "entries", t[i].entries);
			jw_ku64(&w, "rate", t[i].rate);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_end(&w);
		return EXIT_OK;
	}
	/* Old VMs (R-releases) also wrote the growth step of index tables. */
	int rate = 0;
	for (size_t i = 0; i < n; i++)
		rate |= t[i].rate != BD_UNKNOWN;
	/* a narrow terminal loses depth, used and the old VMs' growth step first */
	static const tcol cols[] = {
		{"TABLE", 0, 10, 0, 0, 16, 0}, {"KIND", 0, 0, 0, 1, 6, 0},
		{"SIZE", 1, 0, 0, 1, 10, 0},   {"USED", 1, 0, 2, 1, 10, 0},
		{"OBJS", 1, 0, 0, 1, 10, 0},   {"DEPTH", 1, 0, 3, 1, 6, 0},
		{"LIMIT", 1, 0, 0, 1, 12, 0},  {"ENTRIES", 1, 0, 0, 1, 10, 0},
		{"RATE", 1, 0, 4, 1, 10, 0}};
	tgrid g;
	if (tgrid_init(&g, n, rate ? 9 : 8) == 0) {
		for (size_t i = 0; i < n; i++) {
			char(*r)[TGRID_CELL] = tgrid_row(&g);
			/* into a pipe cut at 16 as ever; a terminal cuts with a mark */
			snprintf(r[0], out_columns() ? TGRID_CELL : 17, "%s",
				 t[i].name ? out_txt(t[i].name) : "?");
			snprintf(r[1], TGRID_CELL, "%s", t[i].index ? "index" : "hash");
			const uint64_t v[] = {t[i].size,  t[i].used,    t[i].objs, t[i].depth,
					      t[i].limit, t[i].entries, t[i].rate};
			for (size_t j = 0; j < g.ncols - 2; j++)
				fmt_count(v[j], r[2 + j], TGRID_CELL);
		}
		tgrid_print(&g, cols, 1);
	}
	(void)c;
	if (!n)
		printf("(no =hash_table or =index_table sections in the dump)\n");
	return EXIT_OK;
}

/* ---- nodes ---- */
static const char *dist_kind(bd_dist_kind k)
{
	return k == BD_DIST_VISIBLE ? "visible" : k == BD_DIST_HIDDEN ? "hidden" : "not_connected";
}

/* "link <remote> <local>" into its parts. */
static void split_entry(const char *s, char *kind, char *a, char *b, size_t cap)
{
	const char *sp = strchr(s, ' ');
	kind[0] = a[0] = b[0] = 0;
	if (!sp)
		return;
	snprintf(kind, cap, "%.*s", (int)(sp - s), s);
	const char *v = sp + 1;
	/* The second value is the last space-separated part unless it is a {Name, Node}. */
	const char *mid = v[0] == '{' ? NULL : strchr(v, ' ');
	if (v[0] != '{' && mid) {
		snprintf(a, cap, "%.*s", (int)(mid - v), v);
		snprintf(b, cap, "%s", mid + 1);
	} else {
		snprintf(a, cap, "%s", v);
	}
}

static int print_nodes(const opts *o, const bd_model *m)
{
	size_t n;
	const bd_dist *d = bd_model_dists(m, &n);
	const bd_node_info *ni = bd_model_node(m);
	char kind[32], a[200], b[200];
	if (o->json) {
		jw w;
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_kstr(&w, "node", ni->node_name);
		jw_key(&w, "alive");
		jw_bool(&w, ni->distributed);
		jw_key(&w, "nodes");
		jw_arr(&w);
		for (size_t i = 0; i < n; i++) {
			jw_obj(&w);
			jw_kstr(&w, "name", d[i].name);
			jw_kstr(&w, "kind", dist_kind(d[i].kind));
			jw_ku64(&w, "channel", d[i].channel);
			jw_kstr(&w, "controller", d[i].controller);
			jw_kstr(&w, "creation", d[i].creation);
			jw_ku64(&w, "remote_links", d[i].remote_links);
			jw_ku64(&w, "remote_monitors", d[i].remote_monitors);
			jw_ku64(&w, "remotely_monitored_by", d[i].remotely_monitored_by);
			jw_key(&w, "entries");
			jw_arr(&w);
			for (uint32_t j = 0; j < d[i].entry_count; j++) {
				const char *s = bd_model_string(m, d[i].entry_first + j);
				if (!s)
					continue;
				split_entry(s, kind, a, b, sizeof a);
				jw_obj(&w);
				jw_kstr(&w, "kind", kind);
				/* link: remote then local; the monitors: local then remote */
				int link = !strcmp(kind, "link");
				jw_kstr(&w, "local", link ? b : a);
				jw_kstr(&w, "remote", link ? a : b);
				jw_obj_end(&w);
			}
			jw_arr_end(&w);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_end(&w);
		return EXIT_OK;
	}
	printf("Node: %s%s\n", ni->node_name ? out_txt(ni->node_name) : "?",
	       ni->distributed ? "" : " (not distributed)");
	for (size_t i = 0; i < n; i++) {
		printf("\n%s (%s, channel %u)\n", d[i].name ? out_txt(d[i].name) : "?", dist_kind(d[i].kind),
		       d[i].channel);
		if (d[i].controller)
			printf("  controller  %s\n", out_txt(d[i].controller));
		if (d[i].creation)
			printf("  creation    %s\n", out_txt(d[i].creation));
		for (uint32_t j = 0; j < d[i].entry_count; j++) {
			const char *s = bd_model_string(m, d[i].entry_first + j);
			if (!s)
				continue;
			split_entry(out_txt(s), kind, a, b, sizeof a);
			if (!strcmp(kind, "link"))
				printf("  link        %s <-> %s\n", b, a);
			else if (!strcmp(kind, "monitoring"))
				printf("  monitors    %s -> %s\n", a, b[0] ? b : "(node)");
			else
				printf("  monitored   %s <- %s\n", a, b);
		}
	}
	if (!n)
		printf("(no connections in the dump)\n");
	return EXIT_OK;
}

int cmd_timers(const opts *o) { return with_dump_section(o, print_timers, "timers", "Timers"); }
int cmd_modules(const opts *o)
{
	return with_dump_section(o, print_modules, "modules", "Modules");
}
/* One module of a live capture: there is none to show (exit 2, like no such module). */
static int print_module_live(const opts *o, const bd_model *m)
{
	if (is_live(m)) {
		fprintf(stderr, "beamdump module: %s: %s\n", o->args[0], LIVE_UNKNOWN);
		return EXIT_USAGE;
	}
	return print_module(o, m);
}
int cmd_module(const opts *o) { return with_model(o, print_module_live); }
int cmd_funs(const opts *o) { return with_dump_section(o, print_funs, "funs", "Funs"); }
int cmd_pterms(const opts *o)
{
	return with_dump_section(o, print_pterms, "persistent_terms", "Persistent terms");
}
int cmd_areas(const opts *o) { return with_model(o, print_areas); }
int cmd_tables(const opts *o) { return with_model(o, print_tables); }
int cmd_nodes(const opts *o) { return with_model(o, print_nodes); }

#define DUMP_NOTE "<dump>: an erl_crash.dump (also .gz, .zst), a .bdump snapshot, or - for stdin\n"
static const cli_opt rows_opts[] = {CLI_OPT_ROWS("rows to show"), CLI_OPT_JSON, CLI_OPT_STYLE,
				    CLI_OPT_COLOR, CLI_OPT_CACHE, CLI_END};
static const cli_opt plain_opts[] = {CLI_OPT_JSON, CLI_OPT_STYLE, CLI_OPT_COLOR, CLI_OPT_CACHE, CLI_END};
const cli_cmd timers_cmd = {"timers", cmd_timers, "<dump>", 1, 1, rows_opts,
			    "BIF timers: owner, message, time left.", DUMP_NOTE, NULL};
const cli_cmd modules_cmd = {"modules", cmd_modules, "<dump>", 1, 1, rows_opts,
			     "Loaded modules by code size, current and old.", DUMP_NOTE, NULL};
const cli_cmd module_cmd = {"module", cmd_module, "<name> <dump>", 2, 2, plain_opts,
			    "One module: sizes, attributes and compilation info.",
			    "<name>: a module as the dump names it, e.g. lists or 'Elixir.Foo'\n" DUMP_NOTE,
			    "0 ok, 2 usage or no such module, 3 unreadable input, 4 partial input read"};
const cli_cmd funs_cmd = {"funs", cmd_funs, "<dump>", 1, 1, rows_opts,
			  "The fun table: module, index, reference count.", DUMP_NOTE, NULL};
const cli_cmd pterms_cmd = {"persistent-terms", cmd_pterms, "<dump>", 1, 1, rows_opts,
			    "Persistent terms (persistent_term:get/0), key => value.", DUMP_NOTE, NULL};
const cli_cmd areas_cmd = {"areas", cmd_areas, "<dump>", 1, 1, plain_opts,
			   "Allocated areas: static VM memory by use.", DUMP_NOTE, NULL};
const cli_cmd tables_cmd = {"tables", cmd_tables, "<dump>", 1, 1, plain_opts,
			    "The VM's hash and index tables (atoms, modules, exports, ...).",
			    DUMP_NOTE, NULL};
const cli_cmd nodes_cmd = {"nodes", cmd_nodes, "<dump>", 1, 1, plain_opts,
			   "Distribution: connected nodes, creations, remote links and monitors.",
			   DUMP_NOTE, NULL};
