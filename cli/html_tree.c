/* The applications and the supervision tree of the report (observer's Applications
 * tab): every application with its process count and memory, and the tree from its
 * master down, each node with the count and memory of its subtree. Culprits and the
 * path to them are always shown and open; elsewhere the tree is cut at a node budget
 * and the children it leaves out are summed. */
#include <stdlib.h>
#include <string.h>

#include "beamdump/util.h"
#include "html.h"

/* ---- applications and the supervision tree ---- */
enum { TREE_BUDGET = 2500, TREE_KIDS = 25, TREE_DEPTH = 48 };

typedef struct tree_walk {
	report *r;
	uint8_t *on_path; /* ancestors of culprits: always shown, open */
	size_t budget;
} tree_walk;

static void node_line(tree_walk *tw, uint32_t k)
{
	report *r = tw->r;
	hw *w = r->w;
	const bd_proc *p = &r->procs[k];
	const bd_proc_place *pl = &r->tree->place[k];
	hw_fmt(w, "<span class=\"tn%s\">", (r->flags[k] & RF_CULPRIT) ? " hot" : "");
	r_pid(r, p->pid, 0);
	hw_raw(w, " ");
	hw_text(w, r_proc_label(r, p));
	if (pl->supervisor)
		hw_raw(w, " <span class=\"badge\">supervisor</span>");
	if (r->flags[k] & RF_CULPRIT)
		hw_raw(w, " <span class=\"badge hot\">culprit</span>");
	char a[32], b[32];
	if (pl->subtree_procs > 1)
		hw_fmt(w, " <span class=\"muted\">\xe2\x80\x94 %s processes, %s</span>",
		       bd_count_fmt(pl->subtree_procs, a, sizeof a), bd_bytes_fmt(pl->subtree_memory, b, sizeof b));
	else
		hw_fmt(w, " <span class=\"muted\">\xe2\x80\x94 %s</span>", bd_bytes_fmt(pl->memory, b, sizeof b));
	if (p->msgq_len != BD_UNKNOWN && p->msgq_len >= 100)
		hw_fmt(w, " <span class=\"badge\">MsgQ %s</span>", bd_count_fmt(p->msgq_len, a, sizeof a));
	hw_raw(w, "</span>");
}

/* Children not shown, summed, with their most common initial calls. */
static void hidden_kids(tree_walk *tw, uint32_t first, size_t skip)
{
	report *r = tw->r;
	const bd_proc_tree *t = r->tree;
	uint64_t n = 0, procs = 0, mem = 0;
	const char *calls[3] = {0};
	uint64_t counts[3] = {0};
	size_t i = 0;
	for (uint32_t c = first; c != BD_NO_PROC; c = t->place[c].next_sibling, i++) {
		if (i < skip)
			continue;
		n++;
		procs += t->place[c].subtree_procs;
		mem += t->place[c].subtree_memory;
		const char *ic = t->place[c].initial_call;
		for (int j = 0; ic && j < 3; j++) {
			if (calls[j] == ic || !calls[j]) {
				calls[j] = ic;
				counts[j]++;
				break;
			}
		}
	}
	if (!n)
		return;
	char a[32], b[32], c[32];
	hw_fmt(r->w, "<li class=\"muted\">\xe2\x80\xa6 %s more (%s processes, %s)", bd_count_fmt(n, a, sizeof a),
	       bd_count_fmt(procs, b, sizeof b), bd_bytes_fmt(mem, c, sizeof c));
	for (int j = 0; j < 3 && calls[j]; j++) {
		hw_raw(r->w, j ? ", " : ": ");
		hw_fmt(r->w, "%s \xc3\x97 <code>", bd_count_fmt(counts[j], a, sizeof a));
		hw_text(r->w, calls[j]);
		hw_raw(r->w, "</code>");
	}
	hw_raw(r->w, "</li>\n");
}

static void subtree(tree_walk *tw, uint32_t k, int depth, int stop_at_apps);

static const bd_proc_place *g_place;
static int cmp_subtree_mem(const void *x, const void *y)
{
	uint64_t a = g_place[*(const uint32_t *)x].subtree_memory, b = g_place[*(const uint32_t *)y].subtree_memory;
	return a < b ? 1 : a > b ? -1 : 0;
}

/* The children of k: the first TREE_KIDS by subtree memory, any on a culprit's path,
 * while the budget lasts; the rest summed in one line. */
static void children(tree_walk *tw, uint32_t k, int depth, int stop_at_apps)
{
	const bd_proc_tree *t = tw->r->tree;
	size_t i = 0, shown_upto = 0;
	hw_raw(tw->r->w, "<ul class=\"tree\">\n");
	for (uint32_t c = t->place[k].first_child; c != BD_NO_PROC; c = t->place[c].next_sibling, i++) {
		int must = tw->on_path[c];
		if (!must && (i >= TREE_KIDS || !tw->budget))
			continue;
		subtree(tw, c, depth + 1, stop_at_apps);
		if (!must || i < TREE_KIDS)
			shown_upto = i + 1;
	}
	/* Culprits beyond the first ones were shown out of order: the summary counts
	 * every child after the regular ones (a shown culprit may be in it). */
	hidden_kids(tw, t->place[k].first_child, shown_upto);
	hw_raw(tw->r->w, "</ul>\n");
}

static void subtree(tree_walk *tw, uint32_t k, int depth, int stop_at_apps)
{
	report *r = tw->r;
	hw *w = r->w;
	const bd_proc_place *pl = &r->tree->place[k];
	if (tw->budget)
		tw->budget--;
	hw_raw(w, "<li>");
	/* In the "no application" tree an application's master leads to its own tree. */
	if (stop_at_apps && pl->app != BD_NO_PROC) {
		node_line(tw, k);
		hw_fmt(w, " <a href=\"#app-%u\">application ", pl->app);
		hw_text(w, r->tree->apps[pl->app].name);
		hw_raw(w, "</a></li>\n");
		return;
	}
	if (pl->first_child == BD_NO_PROC || depth >= TREE_DEPTH) {
		node_line(tw, k);
		if (pl->first_child != BD_NO_PROC)
			hw_raw(w, " <span class=\"muted\">(deeper levels not shown)</span>");
		hw_raw(w, "</li>\n");
		return;
	}
	int open = depth < 2 || tw->on_path[k];
	hw_fmt(w, "<details%s><summary>", open ? " open" : "");
	node_line(tw, k);
	hw_raw(w, "</summary>\n");
	children(tw, k, depth, stop_at_apps);
	hw_raw(w, "</details></li>\n");
}

static void apps_table(report *r)
{
	hw *w = r->w;
	const bd_proc_tree *t = r->tree;
	uint64_t total = t->other_memory;
	for (size_t a = 0; a < t->napps; a++)
		total += t->apps[a].memory;
	hw_raw(w, "<table class=\"sortable\" id=\"apps-table\"><thead><tr><th>Application</th>"
		  "<th class=\"num\">Processes</th><th class=\"num\">Memory</th><th class=\"num\">Share</th>"
		  "<th>Master</th></tr></thead><tbody>\n");
	for (size_t a = 0; a < t->napps; a++) {
		const bd_app *app = &t->apps[a];
		hw_fmt(w, "<tr><td><a href=\"#app-%zu\">", a);
		hw_text(w, app->name);
		hw_raw(w, "</a></td>");
		hw_td_count(w, app->procs);
		hw_td_bytes(w, app->memory);
		hw_fmt(w, "<td class=\"num\" data-v=\"%.4f\">%.1f %%</td><td class=\"mono\">",
		       total ? (double)app->memory / (double)total : 0,
		       total ? 100.0 * (double)app->memory / (double)total : 0);
		r_pid(r, r->procs[app->master].pid, 0);
		hw_raw(w, "</td></tr>\n");
	}
	hw_raw(w, "</tbody><tfoot><tr><td><a href=\"#apps-other\">(no application)</a></td>");
	hw_td_count(w, t->other_procs);
	hw_td_bytes(w, t->other_memory);
	hw_fmt(w, "<td class=\"num\">%.1f %%</td><td></td></tr></tfoot></table>\n",
	       total ? 100.0 * (double)t->other_memory / (double)total : 0);
}

/* Mark every ancestor of a culprit (and the culprit) so the tree shows and opens it. */
static void mark_paths(tree_walk *tw)
{
	report *r = tw->r;
	for (size_t i = 0; i < r->nprocs; i++) {
		if (!(r->flags[i] & RF_CULPRIT))
			continue;
		for (uint32_t k = (uint32_t)i; k != BD_NO_PROC && !tw->on_path[k];
		     k = r->tree->place[k].parent)
			tw->on_path[k] = 1;
	}
}

void html_apps(report *r)
{
	hw *w = r->w;
	const bd_proc_tree *t = r->tree;
	char a[32], b[32];
	if (!t)
		return;
	tree_walk tw = {r, calloc(r->nprocs + 1, 1), TREE_BUDGET};
	if (!tw.on_path)
		return;
	mark_paths(&tw);
	hw_fmt(w, "<section id=\"apps\">\n<h2>Applications and supervision tree (%zu applications)</h2>\n",
	       t->napps);
	hw_raw(w, "<p class=\"note\">A process hangs under the first live entry of its $ancestors (its "
		  "supervisor), else under the process that spawned it; it belongs to the application of "
		  "the nearest application master above it. Counts and memory are of the whole subtree. "
		  "<button class=\"fold\" data-in=\"apps\" data-open=\"1\">open all</button> "
		  "<button class=\"fold\" data-in=\"apps\" data-open=\"0\">fold all</button></p>\n");
	apps_table(r);
	for (size_t i = 0; i < t->napps; i++) {
		const bd_app *app = &t->apps[i];
		hw_fmt(w, "<h3 id=\"app-%zu\">", i);
		hw_text(w, app->name);
		hw_fmt(w, " <span class=\"muted\">\xe2\x80\x94 %s processes, %s</span></h3>\n",
		       bd_count_fmt(app->procs, a, sizeof a), bd_bytes_fmt(app->memory, b, sizeof b));
		hw_raw(w, "<ul class=\"tree root\">\n");
		subtree(&tw, app->master, 0, 0);
		hw_raw(w, "</ul>\n");
	}
	/* Roots of no application: init, the system processes, plain spawns. */
	hw_fmt(w, "<h3 id=\"apps-other\">Processes of no application <span class=\"muted\">\xe2\x80\x94 %s "
		  "processes, %s</span></h3>\n<ul class=\"tree root\">\n",
	       bd_count_fmt(t->other_procs, a, sizeof a), bd_bytes_fmt(t->other_memory, b, sizeof b));
	size_t roots = 0, shown = 0;
	uint32_t *order = malloc((r->nprocs + 1) * sizeof *order);
	for (size_t i = 0; order && i < r->nprocs; i++)
		if (t->place[i].parent == BD_NO_PROC && t->place[i].app == BD_NO_PROC)
			order[roots++] = (uint32_t)i;
	g_place = t->place;
	if (order)
		qsort(order, roots, sizeof *order, cmp_subtree_mem);
	for (size_t j = 0; order && j < roots; j++) {
		uint32_t i = order[j];
		if (shown < TREE_KIDS * 4 || tw.on_path[i]) {
			subtree(&tw, i, 0, 1);
			shown++;
		}
	}
	free(order);
	if (roots > shown)
		hw_fmt(w, "<li class=\"muted\">\xe2\x80\xa6 %s more roots not shown</li>\n",
		       bd_count_fmt(roots - shown, a, sizeof a));
	hw_raw(w, "</ul>\n");
	if (!tw.budget)
		r_note(r, "the supervision tree is cut at %d nodes (culprits and their supervisors are always shown)",
		       TREE_BUDGET);
	if (t->degraded)
		hw_fmt(w, "<p class=\"note\">%s processes were placed by Spawned by only: reading every "
			  "dictionary would exceed the decode budget.</p>\n",
		       bd_count_fmt(t->degraded, a, sizeof a));
	hw_raw(w, "</section>\n");
	free(tw.on_path);
}
