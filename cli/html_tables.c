/* The node-wide sections of the report: memory (erlang:memory(), allocators, who
 * owns the memory), ETS tables, ports, timers, atoms, schedulers and refc binaries.
 * Each table is capped; what is left out is counted on the page. */
#include <stdlib.h>
#include <string.h>

#include "beamdump/diff.h"
#include "beamdump/util.h"
#include "html.h"

enum { MAX_ETS = 2000, MAX_PORTS = 2000, MAX_TIMERS = 500, MAX_BINS = 50, TOP = 10,
       NEWEST_ATOMS = 30, MAX_CLUSTERS = 40 };

static const uint64_t *g_keys;
static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = g_keys[*(const size_t *)a], y = g_keys[*(const size_t *)b];
	x = x == BD_UNKNOWN ? 0 : x;
	y = y == BD_UNKNOWN ? 0 : y;
	if (x != y)
		return x < y ? 1 : -1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* Indices 0..n-1 sorted by keys, largest first; NULL on ENOMEM. */
static size_t *order(const uint64_t *keys, size_t n)
{
	size_t *idx = malloc((n + 1) * sizeof *idx);
	if (!idx)
		return NULL;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	g_keys = keys;
	qsort(idx, n, sizeof *idx, cmp_desc);
	return idx;
}

static void filter_box(hw *w, const char *table, const char *what)
{
	hw_fmt(w, "<div class=\"tools\"><input type=\"search\" class=\"filter\" data-table=\"%s\" "
		  "placeholder=\"filter %s\"><span class=\"count muted\"></span></div>\n", table, what);
}

static uint64_t sub(uint64_t a, uint64_t b)
{
	return a == BD_UNKNOWN || b == BD_UNKNOWN || b > a ? 0 : a - b;
}

/* ---- memory ---- */
static void erlang_memory(report *r)
{
	hw *w = r->w;
	const bd_memory *m = bd_model_memory(r->m);
	uint64_t known = 0;
	const uint64_t parts[] = {m->binary, m->ets, m->atom, m->code};
	for (size_t i = 0; i < 4; i++)
		known += parts[i] == BD_UNKNOWN ? 0 : parts[i];
	chart_item it[] = {
		{"processes", "#processes", m->processes, BD_UNKNOWN, 1, 0, 0},
		{"binary", "#binaries", m->binary, BD_UNKNOWN, 1, 0, 0},
		{"ets", "#ets", m->ets, BD_UNKNOWN, 1, 0, 0},
		{"atom", "#atoms", m->atom, BD_UNKNOWN, 1, 0, 0},
		{"code", NULL, m->code, BD_UNKNOWN, 1, 0, 0},
		{"other system", "#allocators", sub(m->system, known), BD_UNKNOWN, 1, 0, 0},
	};
	if (m->total == BD_UNKNOWN) {
		r_none(r, "<code>=memory</code> section (<code>erlang:memory()</code>)", 0, NULL);
		return;
	}
	svg_stack(w, "erlang:memory() by category", it, sizeof it / sizeof it[0], m->total);
	const struct {
		const char *k;
		uint64_t v;
	} rows[] = {{"total", m->total},   {"processes", m->processes}, {"processes_used", m->processes_used},
		    {"system", m->system}, {"atom", m->atom},           {"atom_used", m->atom_used},
		    {"binary", m->binary}, {"code", m->code},           {"ets", m->ets}};
	hw_raw(w, "<table class=\"sortable\" style=\"max-width:560px\"><thead><tr><th>Category</th>"
		  "<th class=\"num\">Bytes</th><th class=\"num\">Share of total</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		if (rows[i].v == BD_UNKNOWN)
			continue;
		hw_fmt(w, "<tr><td>%s</td>", rows[i].k);
		hw_td_bytes(w, rows[i].v);
		hw_fmt(w, "<td class=\"num\" data-v=\"%.4f\">%.1f %%</td></tr>\n",
		       (double)rows[i].v / (double)(m->total ? m->total : 1),
		       100.0 * (double)rows[i].v / (double)(m->total ? m->total : 1));
	}
	hw_raw(w, "</tbody></table>\n");
}

static void allocators(report *r)
{
	hw *w = r->w;
	bd_alloc_sum *rows = NULL;
	size_t n = 0;
	if (bd_alloc_summarize(r->m, 0, &rows, &n) || !n) {
		free(rows);
		hw_raw(w, "<div id=\"allocators\">");
		r_none(r, "allocator statistics (<code>=allocator</code> sections)", 0, NULL);
		hw_raw(w, "</div>\n");
		return;
	}
	chart_item items[16];
	size_t k = 0;
	uint64_t tu = 0, ta = 0;
	for (size_t i = 0; i < n; i++) {
		tu += rows[i].used;
		ta += rows[i].allocated;
		if (k < 16 && rows[i].allocated)
			items[k++] = chart_it(rows[i].alloc, NULL, rows[i].used, rows[i].allocated, 1, 0);
	}
	hw_raw(w, "<h3 id=\"allocators\">Allocators: used (blocks) within carriers</h3>\n");
	svg_bars(w, "Used bytes (dark) of the carriers allocated (light)", items, k);
	hw_raw(w, "<table class=\"sortable\"><thead><tr><th>Allocator</th><th class=\"num\">Used</th>"
		  "<th class=\"num\">Carriers</th><th class=\"num\">Usage</th><th class=\"num\">Unused in carriers</th>"
		  "<th class=\"num\">MBCS usage</th><th class=\"num\">SBCS usage</th><th class=\"num\">Max carriers</th>"
		  "</tr></thead><tbody>\n");
	for (size_t i = 0; i < n; i++) {
		const bd_alloc_sum *a = &rows[i];
		hw_raw(w, "<tr><td>");
		hw_text(w, a->alloc);
		hw_raw(w, "</td>");
		hw_td_bytes(w, a->used);
		hw_td_bytes(w, a->allocated);
		double u = a->allocated ? (double)a->used / (double)a->allocated : -1;
		if (u >= 0)
			hw_fmt(w, "<td class=\"num\" data-v=\"%.4f\">%.0f %%</td>", u, 100 * u);
		else
			hw_raw(w, "<td class=\"num\" data-v=\"-1\">-</td>");
		hw_td_bytes(w, sub(a->allocated, a->used));
		double mu = a->mbcs_allocated ? (double)a->mbcs_used / (double)a->mbcs_allocated : -1;
		double su = a->sbcs_allocated ? (double)a->sbcs_used / (double)a->sbcs_allocated : -1;
		if (mu >= 0)
			hw_fmt(w, "<td class=\"num\" data-v=\"%.4f\">%.0f %%</td>", mu, 100 * mu);
		else
			hw_raw(w, "<td class=\"num\" data-v=\"-1\">-</td>");
		if (su >= 0)
			hw_fmt(w, "<td class=\"num\" data-v=\"%.4f\">%.0f %%</td>", su, 100 * su);
		else
			hw_raw(w, "<td class=\"num\" data-v=\"-1\">-</td>");
		hw_td_bytes(w, a->allocated_max);
		hw_raw(w, "</tr>\n");
	}
	hw_raw(w, "</tbody><tfoot><tr><td>all allocators</td>");
	hw_td_bytes(w, tu);
	hw_td_bytes(w, ta);
	if (ta)
		hw_fmt(w, "<td class=\"num\">%.0f %%</td>", 100.0 * (double)tu / (double)ta);
	else
		hw_raw(w, "<td></td>");
	hw_td_bytes(w, sub(ta, tu));
	hw_raw(w, "<td colspan=\"3\"></td></tr></tfoot></table>\n<p class=\"note\">Usage = used / carriers "
		  "(recon_alloc); a low usage on large carriers is fragmentation: memory the node holds "
		  "but does not use.</p>\n");
	free(rows);
}

/* The node under which an application's own processes hang: down from the master
 * through its start_it helper to the top supervisor, and on while there is one
 * child only. */
static uint32_t app_top(const bd_proc_tree *t, uint32_t k)
{
	for (int hop = 0; hop < 6 && k != BD_NO_PROC; hop++) {
		uint32_t c = t->place[k].first_child;
		const char *ic = t->place[k].initial_call;
		int plumbing = ic && (!strcmp(ic, "application_master:init/4") ||
				      !strcmp(ic, "application_master:start_it/4"));
		if (c == BD_NO_PROC || (t->place[c].next_sibling != BD_NO_PROC && !plumbing))
			break;
		k = c;
	}
	return k;
}

enum { TM_APPS = 14, TM_KIDS = 8 };

/* A group of the processes of no application with one initial call. */
typedef struct tm_group {
	const char *key;
	uint64_t count, memory;
	uint32_t last; /* a member: the one shown when the group is one process */
} tm_group;

static int cmp_tm_group(const void *x, const void *y)
{
	const tm_group *a = x, *b = y;
	return a->memory < b->memory ? 1 : a->memory > b->memory ? -1 : 0;
}

/* "(no application)" and what fills it: its largest processes when each holds a
 * good share (a hog, a mailbox), and the rest grouped by initial call, so that
 * 400,000 small workers read as one box "400,000 x mod:fun/1", not as blank
 * space. Returns the new number of items. */
static size_t no_app_items(report *r, chart_item *items, char (*labels)[160], char (*hrefs)[64], size_t n)
{
	const bd_proc_tree *t = r->tree;
	size_t me = n++;
	snprintf(hrefs[me], sizeof hrefs[me], "#apps-other");
	items[me] = chart_it("(no application)", hrefs[me], t->other_memory, BD_UNKNOWN, 1, 0);
	items[me].muted = 1;
	/* the largest processes by their own memory */
	uint32_t top[TM_KIDS];
	size_t k = 0;
	for (size_t i = 0; i < r->nprocs; i++) {
		if (t->place[i].app != BD_NO_PROC || !t->place[i].memory)
			continue;
		size_t j = k < TM_KIDS ? k++ : TM_KIDS;
		if (j == TM_KIDS && t->place[top[TM_KIDS - 1]].memory >= t->place[i].memory)
			continue;
		if (j == TM_KIDS)
			j = TM_KIDS - 1;
		while (j > 0 && t->place[top[j - 1]].memory < t->place[i].memory) {
			top[j] = top[j - 1];
			j--;
		}
		top[j] = (uint32_t)i;
	}
	/* shown alone: a culprit, or one holding a twentieth of the whole */
	uint8_t alone[TM_KIDS] = {0};
	for (size_t j = 0; j < k; j++)
		alone[j] = (r->flags[top[j]] & RF_CULPRIT) || t->place[top[j]].memory >= t->other_memory / 20;
	/* the others by initial call */
	bd_strmap map = {0};
	tm_group *g = NULL;
	size_t ng = 0, cap = 0;
	for (size_t i = 0; i < r->nprocs; i++) {
		if (t->place[i].app != BD_NO_PROC || !t->place[i].memory)
			continue;
		int skip = 0;
		for (size_t j = 0; j < k; j++)
			skip |= alone[j] && top[j] == i;
		if (skip)
			continue;
		const char *key = r_proc_group(r, &r->procs[i]);
		int64_t id = bd_strmap_get(&map, key, strlen(key));
		if (id < 0) {
			if (ng == cap) {
				size_t nc = cap ? cap * 2 : 64;
				tm_group *x = realloc(g, nc * sizeof *x);
				if (!x)
					break;
				g = x;
				cap = nc;
			}
			if (bd_strmap_put(&map, key, strlen(key), (uint32_t)ng) < 0)
				break;
			g[ng] = (tm_group){key, 0, 0, (uint32_t)i};
			id = (int64_t)ng++;
		}
		g[id].count++;
		g[id].memory += t->place[i].memory;
		g[id].last = (uint32_t)i;
	}
	bd_strmap_free(&map);
	if (ng)
		qsort(g, ng, sizeof *g, cmp_tm_group);
	/* the children, largest first: the processes alone, then the groups */
	size_t gi = 0, ai = 0;
	uint64_t sum = 0;
	while (n - me <= TM_KIDS) {
		while (ai < k && !alone[ai])
			ai++;
		int take_proc = ai < k && (gi >= ng || t->place[top[ai]].memory >= g[gi].memory);
		if (!take_proc && gi >= ng)
			break;
		uint32_t c = take_proc ? top[ai] : g[gi].count == 1 ? g[gi].last : BD_NO_PROC;
		uint64_t v = take_proc ? t->place[top[ai]].memory : g[gi].memory;
		if (!v || sum + v > items[me].value)
			break;
		sum += v;
		if (c != BD_NO_PROC) {
			snprintf(labels[n], sizeof labels[n], "%s", r_proc_label(r, &r->procs[c]));
			r_pid_href(r, r->procs[c].pid, hrefs[n], sizeof hrefs[n]);
			items[n] = chart_it(labels[n], hrefs[n][0] ? hrefs[n] : hrefs[me], v, me, 1,
					    (r->flags[c] & RF_CULPRIT) != 0);
		} else {
			char cnt[32];
			const char *key = g[gi].key; /* a small box shows the start of its label */
			const char *fun = !strncmp(key, "erlang:apply/2 in ", 18) ? key + 18 : NULL;
			snprintf(labels[n], sizeof labels[n], "%s \xc3\x97 %s%s", bd_count_fmt(g[gi].count, cnt, sizeof cnt),
				 fun ? "fun in " : "", fun ? fun : key);
			snprintf(hrefs[n], sizeof hrefs[n], "#proc-groups");
			items[n] = chart_it(labels[n], hrefs[n], v, me, 1, 0);
		}
		n++;
		if (take_proc)
			ai++;
		else
			gi++;
	}
	free(g);
	return n;
}

static void treemap(report *r)
{
	const bd_proc_tree *t = r->tree;
	if (!t || (!t->napps && !t->other_memory))
		return;
	size_t cap = (TM_APPS + 1) * (TM_KIDS + 1);
	chart_item *items = calloc(cap, sizeof *items);
	char (*labels)[160] = calloc(cap, sizeof *labels);
	char (*hrefs)[64] = calloc(cap, sizeof *hrefs);
	size_t n = 0;
	for (size_t a = 0; items && labels && hrefs && a < t->napps && a < TM_APPS; a++) {
		const bd_app *app = &t->apps[a];
		size_t me = n++;
		snprintf(hrefs[me], sizeof hrefs[me], "#app-%zu", a);
		items[me] = chart_it(app->name, hrefs[me], app->memory, BD_UNKNOWN, 1, 0);
		size_t nroots;
		const uint32_t *rt = html_app_roots(r, a, &nroots);
		uint32_t top = app_top(t, app->master != BD_NO_PROC ? app->master : nroots ? rt[0] : BD_NO_PROC);
		uint64_t sum = 0;
		for (uint32_t c = top == BD_NO_PROC ? BD_NO_PROC : t->place[top].first_child;
		     c != BD_NO_PROC && n - me <= TM_KIDS; c = t->place[c].next_sibling) {
			const bd_proc_place *pl = &t->place[c];
			if (!pl->subtree_memory || sum + pl->subtree_memory > items[me].value)
				continue;
			sum += pl->subtree_memory;
			snprintf(labels[n], sizeof labels[n], "%s", r_proc_label(r, &r->procs[c]));
			r_pid_href(r, r->procs[c].pid, hrefs[n], sizeof hrefs[n]);
			items[n] = chart_it(labels[n], hrefs[n][0] ? hrefs[n] : hrefs[me],
						pl->subtree_memory, me, 1, (r->flags[c] & RF_CULPRIT) != 0);
			n++;
		}
	}
	if (items && t->other_memory)
		n = no_app_items(r, items, labels, hrefs, n);
	if (items)
		svg_treemap(r->w, "Process memory by application and supervisor", items, n, 760, 380);
	free(items);
	free(labels);
	free(hrefs);
}

void html_memory(report *r)
{
	hw *w = r->w;
	hw_raw(w, "<section id=\"memory\">\n<h2>Memory</h2>\n<div class=\"split\"><div>\n");
	erlang_memory(r);
	hw_raw(w, "</div><div>\n");
	treemap(r);
	hw_raw(w, "</div></div>\n");
	allocators(r);
	hw_raw(w, "</section>\n");
}

/* A table or port a finding names: listed even beyond the cap (the finding links to it). */
static int ets_named(const report *r, const bd_ets *e)
{
	for (size_t i = 0; i < r->fs->n; i++) {
		const bd_subject *s = &r->fs->items[i].subject;
		if (s->type && !strcmp(s->type, "ets") && s->name &&
		    ((e->name && !strcmp(e->name, s->name)) || (e->table && !strcmp(e->table, s->name))))
			return 1;
	}
	return 0;
}

static int port_named(const report *r, const bd_port *q)
{
	for (size_t i = 0; i < r->fs->n; i++) {
		const bd_subject *s = &r->fs->items[i].subject;
		if (s->type && !strcmp(s->type, "port") && bd_pid_eq(s->pid, q->id))
			return 1;
	}
	return 0;
}

/* ---- ETS ---- */
static void owner_cell(report *r, bd_pid owner)
{
	hw_raw(r->w, "<td class=\"mono\">");
	if (bd_pid_valid(owner))
		r_pid(r, owner, 1);
	hw_raw(r->w, "</td>");
}

void html_ets(report *r)
{
	hw *w = r->w;
	size_t n;
	const bd_ets *t = bd_model_ets(r->m, &n);
	char a[32], b[32];
	hw_fmt(w, "<section id=\"ets\">\n<h2>ETS tables (%s)</h2>\n", bd_count_fmt(n, a, sizeof a));
	uint64_t *keys = malloc((n + 1) * sizeof *keys), total = 0;
	for (size_t i = 0; keys && i < n; i++) {
		keys[i] = r_words(r, t[i].words);
		total += keys[i] == BD_UNKNOWN ? 0 : keys[i];
	}
	size_t *idx = keys ? order(keys, n) : NULL;
	if (!n || !idx) {
		r_none(r, "ETS tables", 0, NULL);
		hw_raw(w, "</section>\n");
		free(keys);
		free(idx);
		return;
	}
	chart_item items[TOP];
	char href[TOP][32];
	size_t k = 0;
	for (size_t i = 0; i < n && k < TOP; i++) {
		const bd_ets *e = &t[idx[i]];
		snprintf(href[k], sizeof href[k], "#ets-%zu", idx[i]);
		items[k] = chart_it(e->name ? e->name : e->table, href[k], keys[idx[i]], BD_UNKNOWN, 1, 0);
		k++;
	}
	svg_bars(w, "Largest tables by memory", items, k);
	filter_box(w, "ets-table", "tables: name, owner, type");
	hw_raw(w, "<table id=\"ets-table\" class=\"sortable\"><thead><tr><th>Table</th><th>Name</th><th>Owner</th>"
		  "<th>Type</th><th>Protection</th><th class=\"num\">Objects</th><th class=\"num\">Memory</th>"
		  "<th>Options</th></tr></thead><tbody>\n");
	uint64_t rest = 0, rest_bytes = 0;
	for (size_t i = 0; i < n; i++) {
		const bd_ets *e = &t[idx[i]];
		if (i >= MAX_ETS && !ets_named(r, e)) {
			rest++;
			rest_bytes += keys[idx[i]] == BD_UNKNOWN ? 0 : keys[idx[i]];
			continue;
		}
		hw_fmt(w, "<tr id=\"ets-%zu\">", idx[i]);
		hw_td_mono(w, e->table, 200);
		hw_td_mono(w, e->named ? e->name : NULL, 200);
		owner_cell(r, e->owner);
		hw_raw(w, "<td>");
		hw_text(w, e->type);
		hw_raw(w, "</td><td>");
		hw_text(w, e->protection);
		hw_raw(w, "</td>");
		hw_td_count(w, e->objects);
		hw_td_bytes(w, keys[idx[i]]);
		hw_raw(w, "<td class=\"muted\">");
		if (e->compressed && !strcmp(e->compressed, "true"))
			hw_raw(w, "compressed ");
		if (e->write_concurrency && strcmp(e->write_concurrency, "false"))
			hw_raw(w, "write_concurrency ");
		if (e->read_concurrency && strcmp(e->read_concurrency, "false"))
			hw_raw(w, "read_concurrency ");
		hw_raw(w, "</td></tr>\n");
	}
	hw_raw(w, "</tbody>");
	if (rest) {
		hw_fmt(w, "<tfoot><tr><td colspan=\"8\">%s smaller tables (%s) not listed</td></tr></tfoot>",
		       bd_count_fmt(rest, a, sizeof a), bd_bytes_fmt(rest_bytes, b, sizeof b));
		r_note(r, "%s ETS tables beyond the largest %d are counted, not listed", a, MAX_ETS);
	}
	hw_fmt(w, "</table>\n<p class=\"note\">%s in all tables.</p>\n</section>\n", bd_bytes_fmt(total, b, sizeof b));
	free(keys);
	free(idx);
}

/* ---- ports ---- */
void html_ports(report *r)
{
	hw *w = r->w;
	size_t n;
	const bd_port *p = bd_model_ports(r->m, &n);
	char a[32], b[48];
	hw_fmt(w, "<section id=\"ports\">\n<h2>Ports (%s)</h2>\n", bd_count_fmt(n, a, sizeof a));
	uint64_t *keys = malloc((n + 1) * sizeof *keys);
	for (size_t i = 0; keys && i < n; i++)
		keys[i] = p[i].queue;
	size_t *idx = keys ? order(keys, n) : NULL;
	if (!n || !idx) {
		r_none(r, "ports", 0, NULL);
		hw_raw(w, "</section>\n");
		free(keys);
		free(idx);
		return;
	}
	/* Ports by driver: a port leak shows as one driver with thousands. */
	bd_strmap map = {0};
	const char *drv[64];
	uint64_t cnt[64];
	size_t nd = 0;
	uint64_t other = 0;
	for (size_t i = 0; i < n; i++) {
		const char *d = p[i].driver ? p[i].driver : p[i].name ? p[i].name : "?";
		int64_t id = bd_strmap_get(&map, d, strlen(d));
		if (id < 0 && nd < 64 && bd_strmap_put(&map, d, strlen(d), (uint32_t)nd) >= 0) {
			drv[nd] = d;
			cnt[nd] = 0;
			id = (int64_t)nd++;
		}
		if (id < 0)
			other++;
		else
			cnt[id]++;
	}
	bd_strmap_free(&map);
	chart_item items[TOP];
	size_t k = 0;
	uint64_t *ck = cnt;
	size_t *di = order(ck, nd);
	for (size_t i = 0; di && i < nd && k < TOP; i++)
		items[k++] = chart_it(drv[di[i]], NULL, cnt[di[i]], BD_UNKNOWN, 0, 0);
	free(di);
	if (nd > 1 || n > 1)
		svg_bars(w, "Ports by driver or program", items, k);
	filter_box(w, "port-table", "ports: driver, owner, state");
	hw_raw(w, "<table id=\"port-table\" class=\"sortable\"><thead><tr><th>Port</th><th>Name / driver</th>"
		  "<th>Connected</th><th>State</th><th class=\"num\">Queue</th><th class=\"num\">Input</th>"
		  "<th class=\"num\">Output</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < n; i++) {
		const bd_port *q = &p[idx[i]];
		if (i >= MAX_PORTS && !port_named(r, q))
			continue;
		hw_fmt(w, "<tr id=\"port-%u\"><td class=\"mono\">", q->id.num);
		hw_text(w, bd_port_fmt(q->id, b, sizeof b));
		hw_raw(w, "</td><td class=\"mono\">");
		hw_textcut(w, q->driver ? q->driver : q->name, 200);
		hw_raw(w, "</td>");
		owner_cell(r, q->connected);
		hw_raw(w, "<td>");
		hw_textcut(w, q->state, 100);
		hw_raw(w, "</td>");
		hw_td_bytes(w, q->queue);
		hw_td_bytes(w, q->input);
		hw_td_bytes(w, q->output);
		hw_raw(w, "</tr>\n");
	}
	hw_raw(w, "</tbody>");
	if (n > MAX_PORTS) {
		hw_fmt(w, "<tfoot><tr><td colspan=\"7\">%s more ports (smaller queues) not listed</td></tr></tfoot>",
		       bd_count_fmt(n - MAX_PORTS, a, sizeof a));
		r_note(r, "%s ports beyond the %d with the largest queues are counted, not listed", a, MAX_PORTS);
	}
	if (other)
		hw_fmt(w, "<p class=\"note\">%s ports of drivers beyond the first 64 are not in the chart.</p>",
		       bd_count_fmt(other, a, sizeof a));
	hw_raw(w, "</table>\n</section>\n");
	free(keys);
	free(idx);
}

int html_port_listed(report *r, bd_pid id)
{
	size_t n;
	const bd_port *p = bd_model_ports(r->m, &n);
	if (!r->port_listed) {
		uint64_t *keys = malloc((n + 1) * sizeof *keys);
		r->port_listed = calloc(n + 1, 1);
		for (size_t i = 0; keys && i < n; i++)
			keys[i] = p[i].queue;
		size_t *idx = keys ? order(keys, n) : NULL;
		for (size_t i = 0; idx && r->port_listed && i < n; i++)
			r->port_listed[idx[i]] = i < MAX_PORTS || port_named(r, &p[idx[i]]);
		for (size_t i = 0; r->port_listed && i < n; i++)
			bd_u64map_put(&r->port_index, (uint64_t)p[i].id.node << 32 | p[i].id.num, i);
		free(keys);
		free(idx);
		if (!r->port_listed)
			return 0;
	}
	uint64_t i;
	return bd_u64map_get(&r->port_index, (uint64_t)id.node << 32 | id.num, &i) && i < n &&
	       r->port_listed[i];
}

/* ---- timers ---- */
void html_timers(report *r)
{
	hw *w = r->w;
	size_t n;
	const bd_timer *t = bd_model_timers(r->m, &n);
	char a[32];
	hw_fmt(w, "<section id=\"timers\">\n<h2>Timers (%s)</h2>\n", bd_count_fmt(n, a, sizeof a));
	if (!n) {
		r_none(r, "timers (<code>erlang:send_after</code>, <code>start_timer</code>: <code>=timer</code> sections)", 1, NULL);
		hw_raw(w, "</section>\n");
		return;
	}
	filter_box(w, "timer-table", "timers: owner, message");
	hw_raw(w, "<table id=\"timer-table\" class=\"sortable\"><thead><tr><th>Owner</th><th>Message</th>"
		  "<th class=\"num\">Time left (ms)</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < n && i < MAX_TIMERS; i++) {
		hw_raw(w, "<tr><td class=\"mono\">");
		if (bd_pid_valid(t[i].owner_pid))
			r_pid(r, t[i].owner_pid, 1);
		else
			hw_text(w, t[i].owner);
		hw_raw(w, "</td><td class=\"mono\">");
		hw_textcut(w, t[i].message, 300);
		hw_raw(w, "</td>");
		hw_td_count(w, t[i].time_left_ms);
		hw_raw(w, "</tr>\n");
	}
	hw_raw(w, "</tbody>");
	if (n > MAX_TIMERS) {
		hw_fmt(w, "<tfoot><tr><td colspan=\"3\">%s more timers not listed</td></tr></tfoot>",
		       bd_count_fmt(n - MAX_TIMERS, a, sizeof a));
		r_note(r, "%s timers beyond the first %d are counted, not listed", a, MAX_TIMERS);
	}
	hw_raw(w, "</table>\n</section>\n");
}

/* ---- atoms ---- */
typedef struct ring {
	const char *t[NEWEST_ATOMS];
	size_t l[NEWEST_ATOMS];
	uint64_t n;
} ring;

static int newest(void *ud, const char *atom, size_t len)
{
	ring *g = ud;
	g->t[g->n % NEWEST_ATOMS] = atom;
	g->l[g->n % NEWEST_ATOMS] = len;
	g->n++;
	return 0;
}

void html_atoms(report *r)
{
	hw *w = r->w;
	const bd_limits *l = bd_model_limits(r->m);
	uint64_t atoms = l->atoms != BD_UNKNOWN ? l->atoms : bd_model_node(r->m)->atoms;
	char a[32], b[32];
	hw_fmt(w, "<section id=\"atoms\">\n<h2>Atoms (%s)</h2>\n", bd_count_fmt(atoms, a, sizeof a));
	if (l->atoms_limit != BD_UNKNOWN)
		svg_gauge(w, "Atom table: count against the limit (+t)", atoms, l->atoms_limit);
	else
		hw_raw(w, "<p class=\"note\">The dump does not say the atom limit.</p>\n");
	bd_atom_stats *st = NULL;
	bd_error err = {0};
	if (bd_atom_stats_build(&st, r->m, &err) == 0) {
		char cb[32];
		hw_fmt(w, "<h3>Generated names by pattern</h3><p class=\"note\">%s atoms in the dump: %s plain "
			  "words, %s with a generated part (digits, hex, UUIDs). Many atoms of one pattern "
			  "mean code that turns data into atoms.</p>\n",
		       bd_count_fmt(st->atoms, a, sizeof a), bd_count_fmt(st->plain, b, sizeof b),
		       bd_count_fmt(st->atoms - st->plain, cb, sizeof cb));
		if (st->n) {
			hw_raw(w, "<table class=\"sortable\"><thead><tr><th>Pattern</th><th class=\"num\">Atoms</th>"
				  "<th class=\"num\">Share</th><th>Oldest</th><th>Newest</th></tr></thead><tbody>\n");
			for (size_t i = 0; i < st->n && i < MAX_CLUSTERS; i++) {
				const bd_atom_cluster *c = &st->clusters[i];
				hw_raw(w, "<tr><td class=\"mono\">");
				hw_text(w, c->pattern);
				hw_raw(w, "</td>");
				hw_td_count(w, c->count);
				hw_fmt(w, "<td class=\"num\" data-v=\"%.5f\">%.1f %%</td><td class=\"mono\">",
				       (double)c->count / (double)(st->atoms ? st->atoms : 1),
				       100.0 * (double)c->count / (double)(st->atoms ? st->atoms : 1));
				hw_text(w, c->first);
				hw_raw(w, "</td><td class=\"mono\">");
				hw_text(w, c->last);
				hw_raw(w, "</td></tr>\n");
			}
			hw_raw(w, "</tbody></table>\n");
			if (st->n > MAX_CLUSTERS)
				hw_fmt(w, "<p class=\"note\">%zu smaller patterns not listed.</p>\n", st->n - MAX_CLUSTERS);
		}
		bd_atom_stats_free(st);
	}
	ring g = {0};
	bd_model_atoms_each(r->m, newest, &g);
	size_t k = g.n < NEWEST_ATOMS ? (size_t)g.n : NEWEST_ATOMS;
	if (k) {
		hw_fmt(w, "<h3>Newest %zu atoms</h3><p class=\"mono\">", k);
		for (size_t i = 0; i < k; i++) {
			size_t j = (size_t)((g.n - 1 - i) % NEWEST_ATOMS);
			if (i)
				hw_raw(w, ", ");
			hw_textn(w, g.t[j], g.l[j] > 200 ? 200 : g.l[j]);
		}
		hw_raw(w, "</p>\n");
	}
	hw_raw(w, "</section>\n");
}

/* ---- schedulers ---- */
static const char *sched_type(bd_sched_type t)
{
	static const char *const n[] = {"normal", "dirty_cpu", "dirty_io", "dirty_cpu run queue",
					"dirty_io run queue", "other"};
	return (unsigned)t < 6 ? n[t] : "other";
}

void html_schedulers(report *r)
{
	hw *w = r->w;
	size_t n;
	const bd_sched *s = bd_model_scheds(r->m, &n);
	hw_fmt(w, "<section id=\"schedulers\">\n<h2>Schedulers (%zu)</h2>\n", n);
	if (!n) {
		r_none(r, "scheduler sections", 0, NULL);
		hw_raw(w, "</section>\n");
		return;
	}
	chart_item items[64];
	char labels[64][48];
	size_t k = 0;
	for (size_t i = 0; i < n && k < 64; i++) {
		uint64_t q = 0;
		const uint64_t v[] = {s[i].rq_max, s[i].rq_high, s[i].rq_normal, s[i].rq_low};
		for (int j = 0; j < 4; j++)
			q += v[j] == BD_UNKNOWN ? 0 : v[j];
		snprintf(labels[k], sizeof labels[k], "%s %u", sched_type(s[i].type), s[i].id);
		items[k] = chart_it(labels[k], NULL, q, BD_UNKNOWN, 0, 0);
		k++;
	}
	svg_bars(w, "Processes waiting in each run queue", items, k);
	hw_raw(w, "<table class=\"sortable\"><thead><tr><th>Scheduler</th><th class=\"num\">Run queue "
		  "(normal)</th><th class=\"num\">high</th><th class=\"num\">max</th><th class=\"num\">ports</th>"
		  "<th>Running</th><th>Sleep flags</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < n; i++) {
		hw_fmt(w, "<tr><td>%s %u%s</td>", sched_type(s[i].type), s[i].id,
		       s[i].crashed ? " <span class=\"badge hot\">crashed</span>" : "");
		hw_td_count(w, s[i].rq_normal);
		hw_td_count(w, s[i].rq_high);
		hw_td_count(w, s[i].rq_max);
		hw_td_count(w, s[i].rq_port);
		hw_raw(w, "<td class=\"mono\">");
		if (bd_pid_valid(s[i].current)) {
			r_pid(r, s[i].current, 1);
			if (s[i].current_pc) {
				hw_raw(w, " in ");
				hw_textcut(w, s[i].current_pc, 200);
			}
			if (s[i].trace_count) {
				hw_fmt(w, "<details><summary>stack trace (%u lines)</summary><pre>", s[i].trace_count);
				for (uint32_t j = 0; j < s[i].trace_count && j < 100; j++) {
					hw_textcut(w, bd_model_string(r->m, s[i].trace_first + j), 300);
					hw_raw(w, "\n");
				}
				hw_raw(w, "</pre></details>");
			}
		} else {
			hw_raw(w, "<span class=\"muted\">idle</span>");
		}
		if (s[i].utilization == s[i].utilization)
			hw_fmt(w, "<br><span class=\"muted\">busy %.1f %% of the capture</span>", 100.0 * s[i].utilization);
		hw_raw(w, "</td><td class=\"muted\">");
		hw_textcut(w, s[i].sleep_flags && *s[i].sleep_flags ? s[i].sleep_flags : "(awake)", 200);
		hw_raw(w, "</td></tr>\n");
	}
	hw_raw(w, "</tbody></table>\n</section>\n");
}

/* ---- refc binaries ---- */
static void bin_head(report *r, const bd_binary *b)
{
	uint8_t head[48];
	char text[200];
	int64_t got = bd_binary_read(r->m, b, 0, head, sizeof head);
	size_t k = 0;
	for (int64_t j = 0; j < got && k + 1 < sizeof text; j++)
		text[k++] = head[j] >= 32 && head[j] < 127 ? (char)head[j] : '.';
	text[k] = 0;
	hw_text(r->w, text);
}

void html_binaries(report *r)
{
	hw *w = r->w;
	size_t n;
	const bd_binary *bins = bd_model_binaries(r->m, &n);
	char a[32], b[32];
	uint64_t total = 0;
	uint64_t *keys = malloc((n + 1) * sizeof *keys);
	for (size_t i = 0; keys && i < n; i++) {
		keys[i] = bins[i].size;
		total += bins[i].size;
	}
	size_t *idx = keys ? order(keys, n) : NULL;
	hw_fmt(w, "<section id=\"binaries\">\n<h2>Refc binaries (%s in the dump, %s)</h2>\n",
	       bd_count_fmt(n, a, sizeof a), bd_bytes_fmt(total, b, sizeof b));
	for (size_t i = 0; i < r->fs->n; i++) {
		const bd_finding *f = &r->fs->items[i];
		if (f->kind != BD_F_BINARY_LEAK && f->kind != BD_F_BINARY_PINNING)
			continue;
		hw_fmt(w, "<p><span class=\"sev %s\">%s</span><a href=\"#verdict\">", bd_severity_name(f->severity),
		       bd_finding_kind_name(f->kind));
		hw_text(w, f->title);
		hw_raw(w, "</a></p>\n");
	}
	const bd_proc *hp[8];
	if (r->refs && idx && n) {
		hw_raw(w, "<table class=\"sortable\"><thead><tr><th>Address</th><th class=\"num\">Size</th>"
			  "<th class=\"num\">Holders</th><th>Held by</th><th>First bytes</th></tr></thead><tbody>\n");
		for (size_t i = 0; i < n && i < MAX_BINS; i++) {
			const bd_binary *bn = &bins[idx[i]];
			uint64_t nh = bd_bin_refs_holders(r->refs, bn->addr, hp, 8);
			hw_fmt(w, "<tr><td class=\"mono\">%llX</td>", (unsigned long long)bn->addr);
			hw_td_bytes(w, bn->size);
			hw_td_count(w, nh);
			hw_raw(w, "<td class=\"mono\">");
			for (uint64_t k = 0; k < nh && k < 8; k++) {
				if (k)
					hw_raw(w, ", ");
				r_pid(r, hp[k]->pid, 1);
			}
			if (nh > 8)
				hw_fmt(w, " +%llu", (unsigned long long)(nh - 8));
			hw_raw(w, "</td><td class=\"mono\">");
			bin_head(r, bn);
			hw_raw(w, "</td></tr>\n");
		}
		hw_raw(w, "</tbody></table>\n");
		hw_fmt(w, "<p class=\"note\">Holders are the processes whose heap references the binary "
			  "(a reconstructed refcount: %s).</p>\n",
		       r->refs->complete ? "every heap was read" : "only the largest holders' heaps were read, so these are lower bounds");
		if (n > MAX_BINS)
			hw_fmt(w, "<p class=\"note\">%s smaller binaries not listed.</p>\n", bd_count_fmt(n - MAX_BINS, a, sizeof a));
	} else if (!n) {
		r_none(r, "<code>=binary</code> sections", 0, NULL);
	}
	if (r->refs && r->refs->missing) {
		hw_fmt(w, "<p class=\"note\">Not in the dump: %s binaries referenced from heaps, ~%s by the "
			  "holders' BinVHeap (OTP 26 and older write a sub-binary's binary only once it was "
			  "visited). Largest holders: ",
		       bd_count_fmt(r->refs->missing, a, sizeof a), bd_bytes_fmt(r->refs->missing_bytes, b, sizeof b));
		for (size_t k = 0; k < r->refs->nmissing_holders && k < 5; k++) {
			if (k)
				hw_raw(w, ", ");
			r_pid(r, r->refs->missing_holders[k].proc->pid, 1);
			hw_fmt(w, " (~%s)", bd_bytes_fmt(r->refs->missing_holders[k].bytes, b, sizeof b));
		}
		hw_raw(w, "</p>\n");
	}
	hw_raw(w, "</section>\n");
	free(keys);
	free(idx);
}
