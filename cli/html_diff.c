/* The diff report: what changed from a baseline to the input (analyze/diff.c), with
 * per-second rates when both sides carry a time, and the CI rules' results
 * (analyze/ci.c) when thresholds are given. Summary first, then one section per
 * table. */
#include <stdlib.h>
#include <string.h>

#include "beamdump/util.h"
#include "html.h"

static int64_t delta(uint64_t a, uint64_t b)
{
	if (a == BD_UNKNOWN || b == BD_UNKNOWN)
		return 0;
	return (int64_t)(b - a);
}

static void signed_count(hw *w, int64_t d)
{
	char b[32];
	hw_fmt(w, "%s%s", d > 0 ? "+" : d < 0 ? "\xe2\x88\x92" : "",
	       bd_count_fmt((uint64_t)(d < 0 ? -d : d), b, sizeof b));
}

static void signed_bytes(hw *w, int64_t d)
{
	char b[32];
	if (!d) {
		hw_raw(w, "0");
		return;
	}
	hw_fmt(w, "%s%s", d > 0 ? "+" : "\xe2\x88\x92", bd_bytes_fmt((uint64_t)(d < 0 ? -d : d), b, sizeof b));
}

static void td_delta(hw *w, int64_t d, int bytes)
{
	hw_fmt(w, "<td class=\"num%s\" data-v=\"%lld\">", d > 0 ? " grew" : "", (long long)d);
	if (bytes)
		signed_bytes(w, d);
	else
		signed_count(w, d);
	hw_raw(w, "</td>");
}

/* Change per second, when the two sides are apart in time. */
static void td_rate(hw *w, const bd_diff *d, int64_t v, int bytes)
{
	if (d->dt <= 0) {
		hw_raw(w, "<td class=\"num\" data-v=\"0\">-</td>");
		return;
	}
	double r = (double)v / (double)d->dt;
	hw_fmt(w, "<td class=\"num\" data-v=\"%.3f\">", r);
	if (bytes)
		signed_bytes(w, (int64_t)r);
	else if (r > -10 && r < 10)
		hw_fmt(w, "%+.2f", r);
	else
		signed_count(w, (int64_t)r);
	hw_raw(w, "/s</td>");
}

static void side(hw *w, const char *label, const bd_model *m, const char *path)
{
	const bd_node_info *n = bd_model_node(m);
	size_t np;
	bd_model_procs(m, &np);
	hw_fmt(w, "<div><span>%s</span><code>", label);
	hw_textcut(w, path, 200);
	hw_raw(w, "</code><br>");
	hw_text(w, n->node_name ? n->node_name : "?");
	hw_raw(w, ", ");
	hw_text(w, n->created ? n->created : "time unknown");
	hw_raw(w, "<br><span class=\"muted\" style=\"text-transform:none\">");
	hw_textcut(w, n->slogan && *n->slogan ? n->slogan : "(no slogan)", 300);
	hw_raw(w, "</span>");
	if (n->truncated)
		hw_raw(w, " <span class=\"badge hot\">partial</span>");
	hw_raw(w, "</div>\n");
}

/* ---- summary: the biggest changes in one list ---- */
static const bd_diff_pgroup *max_group(const bd_diff *d, int by_count)
{
	const bd_diff_pgroup *best = NULL;
	int64_t bv = 0;
	for (size_t i = 0; i < d->nprocs; i++) {
		const bd_diff_pgroup *g = &d->procs[i];
		int64_t v = by_count ? delta(g->a.count, g->b.count) : delta(g->a.memory, g->b.memory);
		if (v > bv) {
			bv = v;
			best = g;
		}
	}
	return best;
}

static void rate_text(hw *w, const bd_diff *d, int64_t v, int bytes)
{
	if (d->dt <= 0)
		return;
	double r = (double)v / (double)d->dt;
	hw_raw(w, " (");
	if (bytes)
		signed_bytes(w, (int64_t)r);
	else
		hw_fmt(w, "%+.2f", r);
	hw_raw(w, " per second)");
}

static void summary(diff_report *r)
{
	hw *w = r->w;
	const bd_diff *d = r->d;
	hw_raw(w, "<h2>What grew</h2>\n<ul class=\"summary\">\n");
	for (size_t i = 0; i < d->nmemory; i++) {
		const bd_diff_num *m = &d->memory[i];
		if (strcmp(m->name, "total"))
			continue;
		int64_t dd = delta(m->a, m->b);
		hw_raw(w, "<li>Memory (erlang:memory total): ");
		hw_bytes(w, m->a);
		hw_raw(w, " \xe2\x86\x92 ");
		hw_bytes(w, m->b);
		hw_raw(w, ", ");
		signed_bytes(w, dd);
		rate_text(w, d, dd, 1);
		hw_raw(w, "</li>\n");
	}
	for (size_t i = 0; i < d->ncounts; i++) {
		const bd_diff_num *c = &d->counts[i];
		int64_t dd = delta(c->a, c->b);
		if (!dd)
			continue;
		hw_raw(w, "<li>");
		hw_text(w, c->name);
		hw_raw(w, ": ");
		hw_count(w, c->a);
		hw_raw(w, " \xe2\x86\x92 ");
		hw_count(w, c->b);
		hw_raw(w, ", ");
		signed_count(w, dd);
		rate_text(w, d, dd, 0);
		hw_raw(w, "</li>\n");
	}
	const bd_diff_pgroup *g = max_group(d, 0);
	if (g) {
		int64_t dd = delta(g->a.memory, g->b.memory);
		hw_raw(w, "<li>Largest process growth: <code>");
		hw_textcut(w, g->key, 200);
		hw_raw(w, "</code> ");
		signed_bytes(w, dd);
		rate_text(w, d, dd, 1);
		hw_raw(w, "</li>\n");
	}
	g = max_group(d, 1);
	if (g) {
		int64_t dd = delta(g->a.count, g->b.count);
		hw_raw(w, "<li>Most new processes: <code>");
		hw_textcut(w, g->key, 200);
		hw_raw(w, "</code> ");
		signed_count(w, dd);
		rate_text(w, d, dd, 0);
		hw_raw(w, "</li>\n");
	}
	if (d->natom_clusters) {
		const bd_diff_atomcluster *c = &d->atom_clusters[0];
		hw_raw(w, "<li>Atoms added mostly as <code>");
		hw_text(w, c->pattern);
		hw_raw(w, "</code>: ");
		hw_count(w, c->count);
		hw_raw(w, " (e.g. <code>");
		hw_text(w, c->first);
		hw_raw(w, "</code>)</li>\n");
	}
	hw_raw(w, "</ul>\n");
	if (d->dt > 0)
		hw_fmt(w, "<p class=\"note\">The input was written %lld s after the baseline; rates are "
			  "per second over that window.</p>\n", (long long)d->dt);
	else
		hw_raw(w, "<p class=\"note\">No per-second rates: a side has no time, or the input is not "
			  "later than the baseline.</p>\n");
}

/* ---- CI rules ---- */
static void ci_rules(diff_report *r)
{
	hw *w = r->w;
	const bd_ci_result *ci = r->ci;
	char a[32];
	if (!ci)
		return;
	hw_fmt(w, "<section id=\"ci\">\n<h2>CI rules: %s</h2>\n",
	       ci->failed ? "FAILED" : "passed");
	hw_fmt(w, "<p class=\"verdict %s\">%d of %d rules failed.</p>\n", ci->failed ? "critical" : "ok",
	       ci->failed, (int)BD_CI__COUNT);
	hw_raw(w, "<table class=\"sortable\"><thead><tr><th>Rule</th><th>Result</th><th>Threshold</th>"
		  "<th>Summary</th></tr></thead><tbody>\n");
	for (int i = 0; i < BD_CI__COUNT; i++) {
		const bd_ci_result_rule *rr = &ci->rules[i];
		hw_fmt(w, "<tr%s><td class=\"mono nw\">%s</td><td>%s</td><td>", rr->failed ? " class=\"culprit\"" : "",
		       bd_ci_rule_name(rr->id),
		       !rr->enabled ? "off" : rr->failed ? "<span class=\"sev critical\">fail</span>"
							 : "<span class=\"sev\" style=\"background:#067647\">pass</span>");
		hw_text(w, rr->threshold);
		hw_raw(w, "</td><td>");
		hw_text(w, rr->summary);
		if (rr->nviolations) {
			hw_raw(w, "<ul>");
			for (size_t k = 0; k < rr->nviolations; k++) {
				const bd_ci_violation *v = &rr->violations[k];
				hw_raw(w, "<li><code>");
				hw_textcut(w, v->subject, 200);
				hw_raw(w, "</code>");
				if (v->owner) {
					hw_raw(w, " (owner ");
					hw_text(w, v->owner);
					hw_raw(w, ")");
				}
				hw_fmt(w, ": %s \xe2\x86\x92 ", bd_count_fmt(v->baseline, a, sizeof a));
				hw_count(w, v->current);
				hw_raw(w, " ");
				hw_text(w, v->unit);
				if (v->detail) {
					hw_raw(w, " <span class=\"muted\">");
					hw_textcut(w, v->detail, 300);
					hw_raw(w, "</span>");
				}
				hw_raw(w, "</li>");
			}
			if (rr->total_violations > rr->nviolations)
				hw_fmt(w, "<li class=\"muted\">%s more</li>",
				       bd_count_fmt(rr->total_violations - rr->nviolations, a, sizeof a));
			hw_raw(w, "</ul>");
		}
		hw_raw(w, "</td></tr>\n");
	}
	hw_raw(w, "</tbody></table>\n</section>\n");
}

/* ---- tables ---- */
static void counts(diff_report *r)
{
	hw *w = r->w;
	const bd_diff *d = r->d;
	hw_raw(w, "<section id=\"counts\">\n<h2>Counts</h2>\n<table class=\"sortable\"><thead><tr><th>What</th>"
		  "<th class=\"num\">Baseline</th><th class=\"num\">Input</th><th class=\"num\">Change</th>"
		  "<th class=\"num\">Per second</th><th class=\"num\">Limit</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < d->ncounts; i++) {
		const bd_diff_num *c = &d->counts[i];
		hw_raw(w, "<tr><td>");
		hw_text(w, c->name);
		hw_raw(w, "</td>");
		hw_td_count(w, c->a);
		hw_td_count(w, c->b);
		td_delta(w, delta(c->a, c->b), 0);
		td_rate(w, d, delta(c->a, c->b), 0);
		hw_td_count(w, c->b2);
		hw_raw(w, "</tr>\n");
	}
	hw_raw(w, "</tbody></table>\n</section>\n");
}

static void memory(diff_report *r)
{
	hw *w = r->w;
	const bd_diff *d = r->d;
	chart_item items[16];
	size_t k = 0;
	hw_raw(w, "<section id=\"memory\">\n<h2>Memory</h2>\n");
	for (size_t i = 0; i < d->nmemory && k < 16; i++) {
		int64_t dd = delta(d->memory[i].a, d->memory[i].b);
		if (dd > 0)
			items[k++] = chart_it(d->memory[i].name, NULL, (uint64_t)dd, BD_UNKNOWN, 1, 0);
	}
	svg_bars(w, "Growth by erlang:memory() category", items, k);
	hw_raw(w, "<table class=\"sortable\"><thead><tr><th>Category</th><th class=\"num\">Baseline</th>"
		  "<th class=\"num\">Input</th><th class=\"num\">Change</th><th class=\"num\">Per second</th>"
		  "</tr></thead><tbody>\n");
	for (size_t i = 0; i < d->nmemory; i++) {
		const bd_diff_num *m = &d->memory[i];
		if (m->a == BD_UNKNOWN && m->b == BD_UNKNOWN)
			continue;
		hw_raw(w, "<tr><td>");
		hw_text(w, m->name);
		hw_raw(w, "</td>");
		hw_td_bytes(w, m->a);
		hw_td_bytes(w, m->b);
		td_delta(w, delta(m->a, m->b), 1);
		td_rate(w, d, delta(m->a, m->b), 1);
		hw_raw(w, "</tr>\n");
	}
	hw_raw(w, "</tbody></table>\n<h3 id=\"allocators\">Allocators</h3>\n<table class=\"sortable\"><thead><tr>"
		  "<th>Allocator</th><th class=\"num\">Used, baseline</th><th class=\"num\">Used, input</th>"
		  "<th class=\"num\">Change</th><th class=\"num\">Carriers, input</th><th class=\"num\">Change</th>"
		  "</tr></thead><tbody>\n");
	for (size_t i = 0; i < d->nallocs; i++) {
		const bd_diff_num *m = &d->allocs[i];
		hw_raw(w, "<tr><td>");
		hw_text(w, m->name);
		hw_raw(w, "</td>");
		hw_td_bytes(w, m->a);
		hw_td_bytes(w, m->b);
		td_delta(w, delta(m->a, m->b), 1);
		hw_td_bytes(w, m->b2);
		td_delta(w, delta(m->a2, m->b2), 1);
		hw_raw(w, "</tr>\n");
	}
	hw_raw(w, "</tbody></table>\n");
	hw_raw(w, "<p class=\"note\">Refc binaries in the dumps: ");
	hw_count(w, d->bin_count_a);
	hw_raw(w, " \xe2\x86\x92 ");
	hw_count(w, d->bin_count_b);
	hw_raw(w, " (");
	hw_bytes(w, d->bin_bytes_a);
	hw_raw(w, " \xe2\x86\x92 ");
	hw_bytes(w, d->bin_bytes_b);
	hw_raw(w, "); the same binary (address and size) on both sides: ");
	hw_count(w, d->bin_same_count);
	hw_raw(w, " (");
	hw_bytes(w, d->bin_same_bytes);
	hw_raw(w, ").</p>\n</section>\n");
}

typedef int (*pick_fn)(const bd_diff_pgroup *g);
static int f_new(const bd_diff_pgroup *g) { return g->b.count > g->a.count; }
static int f_gone(const bd_diff_pgroup *g) { return g->b.count < g->a.count; }
static int f_grown(const bd_diff_pgroup *g)
{
	return g->a.count && g->b.count &&
	       (delta(g->a.memory, g->b.memory) > 0 || delta(g->a.msgq, g->b.msgq) > 0 ||
		delta(g->a.binary, g->b.binary) > 0);
}

static int64_t g_by(const bd_diff_pgroup *g, int what)
{
	switch (what) {
	case 0: return delta(g->a.count, g->b.count);
	case 1: return -delta(g->a.count, g->b.count);
	default: return delta(g->a.memory, g->b.memory);
	}
}
static int g_what;
static int cmp_groups(const void *x, const void *y)
{
	const bd_diff_pgroup *a = *(const bd_diff_pgroup *const *)x, *b = *(const bd_diff_pgroup *const *)y;
	int64_t va = g_by(a, g_what), vb = g_by(b, g_what);
	return va < vb ? 1 : va > vb ? -1 : strcmp(a->key, b->key);
}

static void group_table(diff_report *r, const char *id, const char *title, pick_fn pick, int what)
{
	hw *w = r->w;
	const bd_diff *d = r->d;
	const bd_diff_pgroup **v = malloc((d->nprocs + 1) * sizeof *v);
	size_t n = 0;
	char pid[48], a[32];
	for (size_t i = 0; v && i < d->nprocs; i++)
		if (pick(&d->procs[i]))
			v[n++] = &d->procs[i];
	g_what = what;
	if (v)
		qsort(v, n, sizeof *v, cmp_groups);
	hw_fmt(w, "<h3>%s (%s groups)</h3>\n", title, bd_count_fmt(n, a, sizeof a));
	if (!n) {
		hw_raw(w, "<p class=\"note\">None.</p>\n");
		free(v);
		return;
	}
	hw_fmt(w, "<div class=\"tools\"><input type=\"search\" class=\"filter\" data-table=\"%s\" "
		  "placeholder=\"filter groups\"><span class=\"count muted\"></span></div>\n", id);
	hw_fmt(w, "<table id=\"%s\" class=\"sortable\"><thead><tr><th>Group</th><th class=\"num\">Baseline</th>"
		  "<th class=\"num\">Input</th><th class=\"num\">Change</th><th class=\"num\">New per s</th>"
		  "<th class=\"num\">Memory, input</th><th class=\"num\">Memory change</th><th class=\"num\">Per s</th>"
		  "<th class=\"num\">MsgQ change</th><th class=\"num\">Binary change</th><th>Example</th>"
		  "<th>Current function</th></tr></thead><tbody>\n", id);
	for (size_t i = 0; i < n && i < r->rows; i++) {
		const bd_diff_pgroup *g = v[i];
		hw_raw(w, "<tr>");
		hw_td_mono(w, g->key, 300);
		hw_td_count(w, g->a.count);
		hw_td_count(w, g->b.count);
		td_delta(w, delta(g->a.count, g->b.count), 0);
		td_rate(w, d, delta(g->a.count, g->b.count), 0);
		hw_td_bytes(w, g->b.memory);
		td_delta(w, delta(g->a.memory, g->b.memory), 1);
		td_rate(w, d, delta(g->a.memory, g->b.memory), 1);
		td_delta(w, delta(g->a.msgq, g->b.msgq), 0);
		td_delta(w, delta(g->a.binary, g->b.binary), 1);
		hw_raw(w, "<td class=\"mono\">");
		bd_pid ex = bd_pid_valid(g->example_b) ? g->example_b : g->example_a;
		if (bd_pid_valid(ex))
			hw_text(w, bd_pid_fmt(ex, pid, sizeof pid));
		hw_raw(w, "</td><td class=\"mono\">");
		hw_text(w, g->current_function);
		hw_raw(w, "</td></tr>\n");
	}
	hw_raw(w, "</tbody>");
	if (n > r->rows)
		hw_fmt(w, "<tfoot><tr><td colspan=\"12\">%s more groups not listed</td></tr></tfoot>",
		       bd_count_fmt(n - r->rows, a, sizeof a));
	hw_raw(w, "</table>\n");
	free(v);
}

static void processes(diff_report *r)
{
	hw *w = r->w;
	hw_raw(w, "<section id=\"processes\">\n<h2>Processes</h2>\n<p class=\"note\">Processes are matched "
		  "by registered name, else by initial call and named supervisors, else by pid, and "
		  "compared as groups: two runs of one program line up.</p>\n");
	group_table(r, "diff-new", "New: groups with more members", f_new, 0);
	group_table(r, "diff-grown", "Grown: groups on both sides, by memory change", f_grown, 2);
	group_table(r, "diff-gone", "Gone: groups with fewer members", f_gone, 1);
	if (r->d->keys_degraded)
		hw_fmt(w, "<p class=\"note\">%llu proc_lib processes were keyed without their dictionary "
			  "(decode budget).</p>\n", (unsigned long long)r->d->keys_degraded);
	hw_raw(w, "</section>\n");
}

/* A section of changed groups: the table's head cells, then rows; a note when no row. */
static void changed_open(hw *w, const char *id, const char *title, const char *head)
{
	hw_fmt(w, "<section id=\"%s\">\n<h2>%s</h2>\n<table class=\"sortable\"><thead><tr>%s"
		  "</tr></thead><tbody>\n", id, title, head);
}

static void changed_close(hw *w, size_t shown, const char *none)
{
	hw_raw(w, "</tbody></table>\n");
	if (!shown)
		hw_fmt(w, "<p class=\"note\">%s</p>\n", none);
	hw_raw(w, "</section>\n");
}

static void ets(diff_report *r)
{
	hw *w = r->w;
	const bd_diff *d = r->d;
	size_t shown = 0;
	changed_open(w, "ets", "ETS tables",
		     "<th>Name</th><th>Owner</th><th class=\"num\">Tables</th><th class=\"num\">Change</th>"
		     "<th class=\"num\">Objects</th><th class=\"num\">Change</th><th class=\"num\">Memory</th>"
		     "<th class=\"num\">Change</th><th class=\"num\">Per s</th>");
	for (size_t i = 0; i < d->nets && shown < r->rows; i++) {
		const bd_diff_etsgroup *t = &d->ets[i];
		if (t->count_a == t->count_b && t->bytes_a == t->bytes_b && t->objects_a == t->objects_b)
			continue;
		shown++;
		hw_raw(w, "<tr>");
		hw_td_mono(w, t->name, 200);
		hw_td_mono(w, t->owner, 200);
		hw_td_count(w, t->count_b);
		td_delta(w, delta(t->count_a, t->count_b), 0);
		hw_td_count(w, t->objects_b);
		td_delta(w, delta(t->objects_a, t->objects_b), 0);
		hw_td_bytes(w, t->bytes_b);
		td_delta(w, delta(t->bytes_a, t->bytes_b), 1);
		td_rate(w, d, delta(t->bytes_a, t->bytes_b), 1);
		hw_raw(w, "</tr>\n");
	}
	changed_close(w, shown, "No table changed.");
}

static void atoms(diff_report *r)
{
	hw *w = r->w;
	const bd_diff *d = r->d;
	hw_raw(w, "<section id=\"atoms\">\n<h2>Atoms</h2>\n<p>");
	hw_count(w, d->atoms_a);
	hw_raw(w, " \xe2\x86\x92 ");
	hw_count(w, d->atoms_b);
	hw_raw(w, ": ");
	hw_count(w, d->atoms_added);
	hw_raw(w, " added");
	rate_text(w, d, (int64_t)d->atoms_added, 0);
	hw_raw(w, ", ");
	hw_count(w, d->atoms_removed);
	hw_raw(w, " only in the baseline.</p>\n");
	if (d->natom_clusters) {
		hw_raw(w, "<table class=\"sortable\"><thead><tr><th>Pattern of the added atoms</th>"
			  "<th class=\"num\">Atoms</th><th>First</th><th>Last</th></tr></thead><tbody>\n");
		for (size_t i = 0; i < d->natom_clusters && i < r->rows; i++) {
			const bd_diff_atomcluster *c = &d->atom_clusters[i];
			hw_raw(w, "<tr><td class=\"mono\">");
			hw_text(w, c->pattern);
			hw_raw(w, "</td>");
			hw_td_count(w, c->count);
			hw_td_mono(w, c->first, 100);
			hw_td_mono(w, c->last, 100);
			hw_raw(w, "</tr>\n");
		}
		hw_raw(w, "</tbody></table>\n");
	}
	hw_raw(w, "</section>\n");
}

static void ports(diff_report *r)
{
	hw *w = r->w;
	const bd_diff *d = r->d;
	size_t shown = 0;
	changed_open(w, "ports", "Ports by driver",
		     "<th>Driver or program</th><th class=\"num\">Baseline</th><th class=\"num\">Input</th>"
		     "<th class=\"num\">Change</th><th class=\"num\">Per s</th>"
		     "<th class=\"num\">Queue change</th>");
	for (size_t i = 0; i < d->nports && shown < r->rows; i++) {
		const bd_diff_portgroup *p = &d->ports[i];
		if (p->count_a == p->count_b && p->queue_a == p->queue_b)
			continue;
		shown++;
		hw_raw(w, "<tr>");
		hw_td_mono(w, p->driver, 200);
		hw_td_count(w, p->count_a);
		hw_td_count(w, p->count_b);
		td_delta(w, delta(p->count_a, p->count_b), 0);
		td_rate(w, d, delta(p->count_a, p->count_b), 0);
		td_delta(w, delta(p->queue_a, p->queue_b), 1);
		hw_raw(w, "</tr>\n");
	}
	changed_close(w, shown, "No driver's ports changed.");
}

#define NAV_REST                                                                            \
	"<a href=\"#counts\">Counts</a><a href=\"#memory\">Memory</a>"                           \
	"<a href=\"#processes\">Processes</a><a href=\"#ets\">ETS</a><a href=\"#atoms\">Atoms</a>" \
	"<a href=\"#ports\">Ports</a>"
static const char NAV[] = "<a href=\"#summary\">Summary</a>" NAV_REST;
static const char NAV_CI[] = "<a href=\"#summary\">Summary</a><a href=\"#ci\">CI rules</a>" NAV_REST;

void html_diff(diff_report *r)
{
	hw *w = r->w;
	const bd_node_info *nb = bd_model_node(r->b);
	char title[200];
	snprintf(title, sizeof title, "beamdump diff: %.150s", nb->node_name ? nb->node_name : "node");
	html_page_begin(w, title, r->ci ? NAV_CI : NAV);
	hw_raw(w, "<section id=\"summary\">\n<h1>What changed</h1>\n<div class=\"facts two\">\n");
	side(w, "Baseline", r->a, r->path_a);
	side(w, "Input", r->b, r->path_b);
	hw_raw(w, "</div>\n");
	if (r->ci)
		hw_fmt(w, "<p class=\"verdict %s\">CI rules: %s (<a href=\"#ci\">%d failed</a>)</p>\n",
		       r->ci->failed ? "critical" : "ok", r->ci->failed ? "FAILED" : "passed", r->ci->failed);
	summary(r);
	hw_raw(w, "</section>\n");
	ci_rules(r);
	counts(r);
	memory(r);
	processes(r);
	ets(r);
	atoms(r);
	ports(r);
}
