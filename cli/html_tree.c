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
	hw_textcut(w, r_proc_label(r, p), 100); /* one line: a long atom is cut */
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

static void subtree(tree_walk *tw, uint32_t k, int depth, uint32_t app);


/* Siblings of one initial call, counted: five or more workers of a pool show as
 * one line ("400,000 x mkbig:worker/1"), not one line each. */
enum { KIN_GROUP = 5, KIN_CALLS = 64 };
typedef struct kin {
	const char *call;
	uint64_t n, procs, mem;
} kin;

static kin *kin_of(kin *kins, size_t *nk, const char *call)
{
	for (size_t j = 0; j < *nk; j++)
		if (kins[j].call == call || (call && kins[j].call && !strcmp(kins[j].call, call)))
			return &kins[j];
	if (!call || *nk == KIN_CALLS)
		return NULL;
	kins[*nk] = (kin){call, 0, 0, 0};
	return &kins[(*nk)++];
}

/* What groups a sibling: its initial call, or where it runs when it was spawned as a
 * fun; NULL (never grouped) for registered processes. (Labels are not asked for:
 * that would open the heap of every member of a pool.) */
static const char *kin_key(const report *r, uint32_t c)
{
	const bd_proc *p = &r->procs[c];
	const bd_proc_place *pl = &r->tree->place[c];
	if (p->name)
		return NULL;
	const char *ic = pl->initial_call;
	if (!ic || !strcmp(ic, "erlang:apply/2") || !strcmp(ic, "proc_lib:init_p/5"))
		return p->pc_mfa ? p->pc_mfa : ic;
	return ic;
}

static void kin_line(report *r, const char *prefix, const kin *g)
{
	char a[32], b[32], c[32];
	hw_fmt(r->w, "<li class=\"muted\">%s%s \xc3\x97 <code>", prefix, bd_count_fmt(g->n, a, sizeof a));
	hw_text(r->w, g->call);
	hw_fmt(r->w, "</code> \xe2\x80\x94 %s processes, %s</li>\n", bd_count_fmt(g->procs, b, sizeof b),
	       bd_bytes_fmt(g->mem, c, sizeof c));
}

/* The children of k: pools as one line per initial call, the others by subtree
 * memory up to TREE_KIDS while the budget lasts, anything on a culprit's path
 * always; what is left summed in one line. */
static void children(tree_walk *tw, uint32_t k, int depth, uint32_t app)
{
	report *r = tw->r;
	const bd_proc_tree *t = r->tree;
	kin kins[KIN_CALLS], rest = {NULL, 0, 0, 0};
	size_t nk = 0, shown = 0;
	for (uint32_t c = t->place[k].first_child; c != BD_NO_PROC; c = t->place[c].next_sibling) {
		kin *g = tw->on_path[c] ? NULL : kin_of(kins, &nk, kin_key(r, c));
		if (g)
			g->n++;
	}
	hw_raw(r->w, "<ul class=\"tree\">\n");
	for (uint32_t c = t->place[k].first_child; c != BD_NO_PROC; c = t->place[c].next_sibling) {
		const bd_proc_place *pl = &t->place[c];
		kin *g = tw->on_path[c] ? NULL : kin_of(kins, &nk, kin_key(r, c));
		if (tw->on_path[c] || ((!g || g->n < KIN_GROUP) && shown < TREE_KIDS && tw->budget)) {
			subtree(tw, c, depth + 1, app);
			shown += !tw->on_path[c];
			continue;
		}
		kin *into = g && g->n >= KIN_GROUP ? g : &rest;
		if (into == &rest)
			rest.n++;
		into->procs += pl->subtree_procs;
		into->mem += pl->subtree_memory;
	}
	for (size_t j = 0; j < nk; j++)
		if (kins[j].n >= KIN_GROUP)
			kin_line(r, "", &kins[j]);
	if (rest.n) {
		char a[32], b[32], c[32];
		hw_fmt(r->w, "<li class=\"muted\">\xe2\x80\xa6 %s more (%s processes, %s)</li>\n",
		       bd_count_fmt(rest.n, a, sizeof a), bd_count_fmt(rest.procs, b, sizeof b),
		       bd_bytes_fmt(rest.mem, c, sizeof c));
	}
	hw_raw(r->w, "</ul>\n");
}

static void subtree(tree_walk *tw, uint32_t k, int depth, uint32_t app)
{
	report *r = tw->r;
	hw *w = r->w;
	const bd_proc_place *pl = &r->tree->place[k];
	if (tw->budget)
		tw->budget--;
	hw_raw(w, "<li>");
	/* A process of another application leads to that application's tree. */
	if (pl->app != app && pl->app != BD_NO_PROC) {
		node_line(tw, k);
		hw_fmt(w, " <a href=\"#app-%u\">application ", pl->app);
		hw_textcut(w, r->tree->apps[pl->app].name, 100);
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
	int open = depth < 3 || tw->on_path[k];
	hw_fmt(w, "<details%s><summary>", open ? " open" : "");
	node_line(tw, k);
	hw_raw(w, "</summary>\n");
	children(tw, k, depth, app);
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
		if (app->master != BD_NO_PROC)
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

typedef struct root_key {
	uint32_t group; /* app, or napps for none */
	uint64_t mem;
	uint32_t i;
} root_key;

static int cmp_root(const void *x, const void *y)
{
	const root_key *a = x, *b = y;
	if (a->group != b->group)
		return a->group < b->group ? -1 : 1;
	if (a->mem != b->mem)
		return a->mem < b->mem ? 1 : -1;
	return a->i < b->i ? -1 : a->i > b->i;
}

const uint32_t *html_app_roots(report *r, size_t a, size_t *n)
{
	const bd_proc_tree *t = r->tree;
	*n = 0;
	if (!t)
		return NULL;
	if (!r->app_roots) {
		root_key *k = malloc((r->nprocs + 1) * sizeof *k);
		r->app_roots = malloc((r->nprocs + 1) * sizeof *r->app_roots);
		r->app_root_off = calloc(t->napps + 2, sizeof *r->app_root_off);
		size_t m = 0;
		for (size_t i = 0; k && i < r->nprocs; i++) {
			uint32_t app = t->place[i].app, up = t->place[i].parent;
			if (up == BD_NO_PROC || t->place[up].app != app)
				k[m++] = (root_key){app == BD_NO_PROC ? (uint32_t)t->napps : app,
						    t->place[i].subtree_memory, (uint32_t)i};
		}
		if (!k || !r->app_roots || !r->app_root_off) {
			free(k);
			free(r->app_roots);
			free(r->app_root_off);
			r->app_roots = NULL;
			r->app_root_off = NULL;
			return NULL;
		}
		qsort(k, m, sizeof *k, cmp_root);
		for (size_t j = 0; j < m; j++) {
			r->app_roots[j] = k[j].i;
			r->app_root_off[k[j].group + 1] = j + 1;
		}
		for (size_t g = 1; g < t->napps + 2; g++) /* groups without roots */
			if (r->app_root_off[g] < r->app_root_off[g - 1])
				r->app_root_off[g] = r->app_root_off[g - 1];
		free(k);
	}
	*n = r->app_root_off[a + 1] - r->app_root_off[a];
	return r->app_roots + r->app_root_off[a];
}

/* The trees of one application (BD_NO_PROC: of none). */
static void roots(tree_walk *tw, uint32_t app)
{
	report *r = tw->r;
	size_t n, shown = 0;
	char a[32];
	const uint32_t *order = html_app_roots(r, app == BD_NO_PROC ? r->tree->napps : app, &n);
	hw_raw(r->w, "<ul class=\"tree root\">\n");
	for (size_t j = 0; order && j < n; j++)
		if (shown < TREE_KIDS * 4 || tw->on_path[order[j]]) {
			subtree(tw, order[j], 0, app);
			shown++;
		}
	if (n > shown)
		hw_fmt(r->w, "<li class=\"muted\">\xe2\x80\xa6 %s more not shown</li>\n",
		       bd_count_fmt(n - shown, a, sizeof a));
	hw_raw(r->w, "</ul>\n");
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
		roots(&tw, (uint32_t)i);
	}
	/* Roots of no application: init, the system processes, plain spawns. */
	hw_fmt(w, "<h3 id=\"apps-other\">Processes of no application <span class=\"muted\">\xe2\x80\x94 %s "
		  "processes, %s</span></h3>\n",
	       bd_count_fmt(t->other_procs, a, sizeof a), bd_bytes_fmt(t->other_memory, b, sizeof b));
	roots(&tw, BD_NO_PROC);
	if (!tw.budget)
		r_note(r, "the supervision tree is cut at %d nodes (culprits and their supervisors are always shown)",
		       TREE_BUDGET);
	if (t->degraded)
		hw_fmt(w, "<p class=\"note\">%s processes were placed by Spawned by, and are known by "
			  "Spawned as: their dictionaries were not read (the report's time budget; the "
			  "processes whose spawner is gone and the largest were read first).</p>\n",
		       bd_count_fmt(t->degraded, a, sizeof a));
	hw_raw(w, "</section>\n");
	free(tw.on_path);
}
