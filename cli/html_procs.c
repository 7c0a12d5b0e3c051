/* The processes of the report: observer's Processes tab (a table that sorts,
 * filters and pages in the browser), the top of each ranking as charts, the
 * processes grouped by initial call, and a detail section for the processes the
 * findings name and the top few of each ranking.
 *
 * A big node has hundreds of thousands of processes: the page embeds at most
 * row_cap rows (the largest by each ranking, every registered process and every
 * process a finding names), and the groups cover every process, so what is left out
 * is still counted. */
#include <stdlib.h>
#include <string.h>

#include "beamdump/util.h"
#include "html.h"

enum { TOP_CHART = 10, FIRST_PAGE = 100, MAX_GROUPS = 200,
       RELATED_DETAIL = 8 };

typedef uint64_t (*rank_fn)(const report *r, const bd_proc *p);

static uint64_t k_memory(const report *r, const bd_proc *p) { return r_proc_memory(r, p); }
static uint64_t k_mq(const report *r, const bd_proc *p) { (void)r; return p->msgq_len == BD_UNKNOWN ? 0 : p->msgq_len; }
static uint64_t k_reds(const report *r, const bd_proc *p) { (void)r; return p->reductions == BD_UNKNOWN ? 0 : p->reductions; }
static uint64_t k_binary(const report *r, const bd_proc *p) { return r_proc_binary(r, p); }

static const struct {
	const char *name, *title;
	rank_fn fn;
	int bytes;
} RANKS[] = {
	{"memory", "Memory", k_memory, 1},
	{"mq", "Message queue", k_mq, 0},
	{"reductions", "Reductions", k_reds, 0},
	{"binary", "Refc binaries referenced (BinVHeap)", k_binary, 1},
};
enum { NRANKS = sizeof RANKS / sizeof RANKS[0] };

/* The rankings: for each key the indices of the largest processes, largest first
 * (ties: model order). Only the top row_cap of each are needed (rows, charts,
 * details), so a selection puts them first and only they are sorted. */
typedef struct kv {
	uint64_t k;
	uint32_t i;
} kv;

static int kv_before(const kv *a, const kv *b) { return a->k != b->k ? a->k > b->k : a->i < b->i; }

static int cmp_kv(const void *x, const void *y)
{
	const kv *a = x, *b = y;
	return kv_before(a, b) ? -1 : kv_before(b, a) ? 1 : 0;
}

/* Rearrange v so that v[0..k) are its k first elements in kv order (Hoare's select). */
static void select_top(kv *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n;
	while (hi - lo > 1 && k > lo && k < hi) {
		kv pivot = v[lo + (hi - lo) / 2];
		size_t i = lo, j = hi - 1;
		while (i <= j) {
			while (kv_before(&v[i], &pivot))
				i++;
			while (kv_before(&pivot, &v[j]))
				j--;
			if (i <= j) {
				kv t = v[i];
				v[i++] = v[j];
				v[j] = t;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j + 1;
		else if (k >= i)
			lo = i;
		else
			break;
	}
}

int html_rank(report *r)
{
	size_t k = r->nprocs < r->row_cap ? r->nprocs : r->row_cap;
	kv *v = malloc((r->nprocs + 1) * sizeof *v);
	if (!v)
		return -1;
	r->nranked = k;
	for (size_t q = 0; q < NRANKS; q++) {
		for (size_t i = 0; i < r->nprocs; i++)
			v[i] = (kv){RANKS[q].fn(r, &r->procs[i]), (uint32_t)i};
		select_top(v, r->nprocs, k);
		qsort(v, k, sizeof *v, cmp_kv);
		r->rank[q] = malloc((k + 1) * sizeof *r->rank[q]);
		if (!r->rank[q]) {
			free(v);
			return -1;
		}
		for (size_t i = 0; i < k; i++)
			r->rank[q][i] = v[i].i;
	}
	free(v);
	return 0;
}

static size_t pick_rows(report *r, uint32_t *const *rankings);

static void add_detail(report *r, const bd_proc *p, size_t cap)
{
	if (!p)
		return;
	size_t i = (size_t)(p - r->procs);
	if ((r->flags[i] & RF_DETAIL) || r->ndetails >= cap)
		return;
	r->flags[i] |= RF_DETAIL;
	r->details[r->ndetails++] = (uint32_t)i;
}

int html_pick_details(report *r, size_t cap)
{
	r->details = malloc((cap + 1) * sizeof *r->details);
	if (!r->details)
		return -1;
	/* What the findings name first: the subjects, then who else is involved. */
	for (size_t i = 0; i < r->fs->n; i++) {
		const bd_finding *f = &r->fs->items[i];
		const bd_proc *p = f->subject.type && !strcmp(f->subject.type, "process") &&
						   bd_pid_valid(f->subject.pid)
					   ? bd_proc_by_pid(r->m, f->subject.pid)
					   : NULL;
		if (p) {
			r->flags[p - r->procs] |= RF_NAMED;
			if (f->severity >= BD_SEV_WARNING)
				r->flags[p - r->procs] |= RF_CULPRIT;
			add_detail(r, p, cap);
		}
	}
	for (size_t i = 0; i < r->fs->n; i++) {
		const bd_finding *f = &r->fs->items[i];
		for (uint32_t j = 0; j < f->nrelated; j++) {
			const bd_proc *p = bd_pid_valid(f->related[j].pid)
						   ? bd_proc_by_pid(r->m, f->related[j].pid)
						   : NULL;
			if (!p)
				continue;
			r->flags[p - r->procs] |= RF_NAMED;
			if (j < RELATED_DETAIL)
				add_detail(r, p, cap);
		}
	}
	for (size_t k = 0; k < NRANKS; k++) {
		const uint32_t *idx = r->rank[k];
		for (size_t i = 0; idx && i < r->nranked && i < TOP_DETAIL; i++)
			if (RANKS[k].fn(r, &r->procs[idx[i]]))
				add_detail(r, &r->procs[idx[i]], cap);
	}
	/* The table's rows are known before any section links to them. */
	r->nrows = pick_rows(r, r->rank);
	return 0;
}

/* ---- top-N charts ---- */
static void top_charts(report *r, uint32_t *const *rankings)
{
	hw *w = r->w;
	chart_item items[TOP_CHART];
	char href[TOP_CHART][64], label[TOP_CHART][200];
	hw_raw(w, "<div class=\"charts\">\n");
	for (size_t k = 0; k < NRANKS; k++) {
		size_t n = 0;
		for (size_t i = 0; rankings[k] && i < r->nranked && n < TOP_CHART; i++) {
			const bd_proc *p = &r->procs[rankings[k][i]];
			uint64_t v = RANKS[k].fn(r, p);
			if (!v)
				break;
			char pid[48];
			snprintf(label[n], sizeof label[n], "%s %s", r_proc_label(r, p),
				 bd_pid_fmt(p->pid, pid, sizeof pid));
			r_pid_href(r, p->pid, href[n], sizeof href[n]);
			items[n] = chart_it(label[n], href[n][0] ? href[n] : NULL, v, BD_UNKNOWN,
						RANKS[k].bytes, (r->flags[rankings[k][i]] & RF_CULPRIT) != 0);
			n++;
		}
		char t[96];
		snprintf(t, sizeof t, "Top %zu by %s", n, RANKS[k].title);
		svg_bars(w, t, items, n);
	}
	hw_raw(w, "</div>\n");
}

/* ---- the table ---- */

/* Which rows the page carries: all, or the top of each ranking plus every
 * registered process and every process a finding names. */
static size_t pick_rows(report *r, uint32_t *const *rankings)
{
	size_t n = 0;
	if (r->nprocs <= r->row_cap) {
		for (size_t i = 0; i < r->nprocs; i++)
			r->flags[i] |= RF_ROW;
		return r->nprocs;
	}
	for (size_t i = 0; i < r->nprocs; i++)
		if ((r->flags[i] & (RF_NAMED | RF_DETAIL)) || r->procs[i].name) {
			if (n >= r->row_cap / 4 && !(r->flags[i] & (RF_NAMED | RF_DETAIL)))
				continue; /* registered names fill at most a quarter */
			r->flags[i] |= RF_ROW;
			n++;
		}
	/* Round-robin over the rankings until the cap: each gets its share. */
	size_t pos[NRANKS] = {0};
	for (int progress = 1; progress && n < r->row_cap;) {
		progress = 0;
		for (size_t k = 0; k < NRANKS && n < r->row_cap; k++) {
			while (rankings[k] && pos[k] < r->nranked && (r->flags[rankings[k][pos[k]]] & RF_ROW))
				pos[k]++;
			if (!rankings[k] || pos[k] >= r->nranked)
				continue;
			r->flags[rankings[k][pos[k]]] |= RF_ROW;
			n++;
			progress = 1;
		}
	}
	return n;
}

/* Index of s in the page's string table (interned pointers; names repeat). */
typedef struct strtab {
	bd_strmap map;
	const char **v;
	size_t n, cap;
	uint64_t bytes; /* of the strings, to keep the block in its budget */
} strtab;

/* The data block stays under this many bytes however long the names are (a 1 GB
 * dump's page must stay under 10 MB); rows past it are left out and counted. */
#define ROWS_BUDGET ((uint64_t)5 << 20)

static int64_t str_id(strtab *t, const char *s)
{
	if (!s)
		return -1;
	int64_t id = bd_strmap_get(&t->map, s, strlen(s));
	if (id >= 0)
		return id;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		const char **v = realloc(t->v, cap * sizeof *v);
		if (!v)
			return -1;
		t->v = v;
		t->cap = cap;
	}
	if (bd_strmap_put(&t->map, s, strlen(s), (uint32_t)t->n) < 0)
		return -1;
	t->v[t->n] = s;
	t->bytes += strlen(s) + 4;
	return (int64_t)t->n++;
}

static void row_json(report *r, strtab *st, const bd_proc *p, size_t i)
{
	hw *w = r->w;
	char pid[48];
	hw_fmt(w, "[\"%s\",", bd_pid_fmt(p->pid, pid, sizeof pid));
	hw_json(w, r_proc_name(r, p));
	const char *ic = r_proc_initial(r, p);
	const char *cur = p->pc_mfa ? p->pc_mfa : p->current_call;
	hw_fmt(w, ",%lld,%lld,%lld,", (long long)str_id(st, ic), (long long)str_id(st, cur),
	       (long long)str_id(st, bd_proc_state_name(p->state)));
	uint64_t v[4] = {p->reductions, r_proc_memory(r, p), p->msgq_len, r_proc_binary(r, p)};
	for (int k = 0; k < 4; k++)
		hw_fmt(w, "%lld,", v[k] == BD_UNKNOWN ? -1LL : (long long)v[k]);
	hw_fmt(w, "%lld,%d]", (long long)str_id(st, r_proc_app(r, p)),
	       (r->flags[i] & RF_DETAIL ? 1 : 0) | (r->flags[i] & RF_CULPRIT ? 2 : 0));
}

/* The first page as plain rows, for readers without JavaScript and for print. */
static void row_html(report *r, const bd_proc *p, size_t i)
{
	hw *w = r->w;
	hw_fmt(w, "<tr%s><td class=\"mono pid\">", r->flags[i] & RF_CULPRIT ? " class=\"culprit\"" : "");
	r_pid(r, p->pid, 0);
	hw_raw(w, "</td><td>");
	hw_text(w, r_proc_name(r, p));
	hw_raw(w, "</td><td class=\"mono\">");
	hw_text(w, r_proc_initial(r, p));
	hw_raw(w, "</td><td class=\"mono\">");
	hw_text(w, p->pc_mfa ? p->pc_mfa : p->current_call);
	hw_fmt(w, "</td><td class=\"nw\">%s</td>", bd_proc_state_name(p->state));
	hw_td_count(w, p->reductions);
	hw_td_bytes(w, r_proc_memory(r, p));
	hw_td_count(w, p->msgq_len);
	hw_td_bytes(w, r_proc_binary(r, p));
	hw_raw(w, "<td>");
	hw_text(w, r_proc_app(r, p));
	hw_raw(w, "</td></tr>\n");
}

static const char *const COLS =
	"[{\"k\":\"p\"},{\"k\":\"t\"},{\"k\":\"s\"},{\"k\":\"s\"},{\"k\":\"s\"},{\"k\":\"n\"},"
	"{\"k\":\"n\"},{\"k\":\"n\"},{\"k\":\"n\"},{\"k\":\"s\"}]";

static const report *g_r;
static int cmp_memory(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	uint64_t va = r_proc_memory(g_r, &g_r->procs[a]), vb = r_proc_memory(g_r, &g_r->procs[b]);
	return va != vb ? (va < vb ? 1 : -1) : a < b ? -1 : 1;
}

/* The rows the page carries, by memory, largest first. */
static uint32_t *row_order(report *r, size_t nrows)
{
	uint32_t *rows = malloc((nrows + 1) * sizeof *rows);
	size_t k = 0;
	for (size_t i = 0; rows && i < r->nprocs && k < nrows; i++)
		if (r->flags[i] & RF_ROW)
			rows[k++] = (uint32_t)i;
	g_r = r;
	if (rows)
		qsort(rows, k, sizeof *rows, cmp_memory);
	return rows;
}

static void table(report *r, size_t nrows)
{
	uint32_t *rows = row_order(r, nrows);
	hw *w = r->w;
	char a[32], b[32], c[32];
	hw_raw(w, "<div class=\"tools\"><input type=\"search\" id=\"proc-q\" placeholder=\"filter: pid, "
		  "name, initial call, function, application\" aria-label=\"filter processes\">"
		  "<select id=\"proc-app\" aria-label=\"application\"><option value=\"\">every application"
		  "</option></select><select id=\"proc-state\" aria-label=\"state\"><option value=\"\">"
		  "every state</option></select><label>rows per page <select id=\"proc-ps\">"
		  "<option>25</option><option selected>100</option><option>500</option></select></label></div>\n");
	hw_raw(w, "<div class=\"pager\"><button id=\"proc-first\">\xc2\xab first</button><button id=\"proc-prev\">"
		  "\xe2\x80\xb9 prev</button><span id=\"proc-info\"></span><button id=\"proc-next\">next "
		  "\xe2\x80\xba</button><button id=\"proc-last\">last \xc2\xbb</button></div>\n");
	hw_raw(w, "<table id=\"proc-table\"><thead><tr><th>Pid</th><th>Name</th><th>Initial call</th>"
		  "<th>Current function</th><th>State</th><th class=\"num\">Reductions</th>"
		  "<th class=\"num\">Memory</th><th class=\"num\">MsgQ</th><th class=\"num\">Binary</th>"
		  "<th>Application</th></tr></thead>\n<tbody>\n");
	size_t shown = 0;
	for (size_t i = 0; rows && i < nrows && shown < FIRST_PAGE; i++, shown++)
		row_html(r, &r->procs[rows[i]], rows[i]);
	hw_raw(w, "</tbody></table>\n");
	hw_fmt(w, "<p class=\"nojs note\">Without JavaScript this table shows the first %zu of %s "
		  "rows, by memory; the charts above and the groups below cover the rest.</p>\n",
	       shown, bd_count_fmt(nrows, a, sizeof a));
	if (nrows < r->nprocs)
		hw_fmt(w, "<p class=\"note\">The page carries %s of %s processes: the largest by memory, "
			  "message queue, reductions and binaries, every registered process and every "
			  "process a finding names. The other %s are counted in the groups below.</p>\n",
		       bd_count_fmt(nrows, a, sizeof a), bd_count_fmt(r->nprocs, b, sizeof b),
		       bd_count_fmt(r->nprocs - nrows, c, sizeof c));
	/* The data block: strings once, rows as arrays (docs/report.md). */
	strtab st = {0};
	hw_fmt(w, "<script type=\"application/json\" id=\"proc-data\">{\"cols\":%s,\"rows\":[", COLS);
	uint64_t start = hw_size(w);
	size_t written = 0;
	for (size_t i = 0; rows && i < nrows; i++, written++) {
		if (i % 1024 == 1023 && hw_size(w) - start + st.bytes > ROWS_BUDGET)
			break;
		if (i)
			hw_raw(w, ",\n");
		row_json(r, &st, &r->procs[rows[i]], rows[i]);
	}
	hw_raw(w, "],\n\"s\":[");
	for (size_t i = 0; i < st.n; i++) {
		if (i)
			hw_raw(w, ",");
		hw_json(w, st.v[i]);
	}
	hw_raw(w, "]}</script>\n");
	bd_strmap_free(&st.map);
	free(st.v);
	free(rows);
	if (written < nrows)
		r_note(r, "the process table's data stops after %zu rows (its size budget: long names)", written);
}

/* ---- groups: every process, by initial call ---- */
typedef struct group {
	const char *key;
	uint64_t count, memory, mq, reds, bin, in_table;
	uint32_t example;
} group;

static int cmp_group(const void *x, const void *y)
{
	const group *a = x, *b = y;
	if (a->memory != b->memory)
		return a->memory < b->memory ? 1 : -1;
	return a->count < b->count ? 1 : a->count > b->count ? -1 : 0;
}

static void groups(report *r)
{
	hw *w = r->w;
	bd_strmap map = {0};
	group *g = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < r->nprocs; i++) {
		const bd_proc *p = &r->procs[i];
		const char *key = r_proc_group(r, p);
		int64_t id = bd_strmap_get(&map, key, strlen(key));
		if (id < 0) {
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				group *ng = realloc(g, nc * sizeof *ng);
				if (!ng)
					break;
				g = ng;
				cap = nc;
			}
			if (bd_strmap_put(&map, key, strlen(key), (uint32_t)n) < 0)
				break;
			memset(&g[n], 0, sizeof g[n]);
			g[n].key = key;
			g[n].example = (uint32_t)i;
			id = (int64_t)n++;
		}
		group *x = &g[id];
		x->count++;
		x->memory += r_proc_memory(r, p);
		x->mq += k_mq(r, p);
		x->reds += k_reds(r, p);
		x->bin += r_proc_binary(r, p);
		x->in_table += (r->flags[i] & RF_ROW) != 0;
	}
	if (n)
		qsort(g, n, sizeof *g, cmp_group);
	char a[32];
	hw_fmt(w, "<h3>Processes by initial call (%s groups, every process; a spawned fun also by "
		  "where it runs)</h3>\n",
	       bd_count_fmt(n, a, sizeof a));
	hw_raw(w, "<div class=\"tools\"><input type=\"search\" class=\"filter\" data-table=\"proc-groups\" "
		  "placeholder=\"filter groups\"><span class=\"count muted\"></span></div>\n");
	hw_raw(w, "<table id=\"proc-groups\" class=\"sortable\"><thead><tr><th>Initial call</th>"
		  "<th class=\"num\">Processes</th><th class=\"num\">In the table</th><th class=\"num\">Memory</th>"
		  "<th class=\"num\">MsgQ</th><th class=\"num\">Reductions</th><th class=\"num\">Binary</th>"
		  "<th>Example</th></tr></thead><tbody>\n");
	uint64_t rest[6] = {0};
	for (size_t i = 0; i < n; i++) {
		if (i >= MAX_GROUPS) {
			rest[0]++;
			rest[1] += g[i].count;
			rest[2] += g[i].memory;
			rest[3] += g[i].mq;
			rest[4] += g[i].reds;
			rest[5] += g[i].bin;
			continue;
		}
		hw_raw(w, "<tr><td class=\"mono\">");
		hw_text(w, g[i].key);
		hw_raw(w, "</td>");
		hw_td_count(w, g[i].count);
		hw_td_count(w, g[i].in_table);
		hw_td_bytes(w, g[i].memory);
		hw_td_count(w, g[i].mq);
		hw_td_count(w, g[i].reds);
		hw_td_bytes(w, g[i].bin);
		hw_raw(w, "<td class=\"mono\">");
		r_pid(r, r->procs[g[i].example].pid, 0);
		hw_raw(w, "</td></tr>\n");
	}
	hw_raw(w, "</tbody>");
	if (rest[0]) {
		char b[32], c[32];
		hw_fmt(w, "<tfoot><tr><td colspan=\"8\">%s more groups (%s processes, %s) not listed</td></tr></tfoot>",
		       bd_count_fmt(rest[0], a, sizeof a), bd_count_fmt(rest[1], b, sizeof b),
		       bd_bytes_fmt(rest[2], c, sizeof c));
		r_note(r, "%s process groups beyond the first %d are summed in one line", a, MAX_GROUPS);
	}
	hw_raw(w, "</table>\n");
	bd_strmap_free(&map);
	free(g);
}

void html_processes(report *r)
{
	hw *w = r->w;
	char a[32];
	uint32_t *const *rankings = r->rank;
	size_t nrows = r->nrows;
	hw_fmt(w, "<section id=\"processes\">\n<h2>Processes (%s)</h2>\n", bd_count_fmt(r->nprocs, a, sizeof a));
	if (!r->nprocs) {
		r_none(r, "processes", 0, NULL);
		hw_raw(w, "</section>\n");
	} else {
		top_charts(r, rankings);
		table(r, nrows);
		groups(r);
		hw_raw(w, "</section>\n");
		if (nrows < r->nprocs)
			r_note(r, "the process table carries %s of the processes (--rows)",
			       bd_count_fmt(nrows, a, sizeof a));
	}
}
