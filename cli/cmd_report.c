/* beamdump report: one self-contained HTML page for a dump or snapshot (verdict,
 * memory, processes, supervision tree, tables), or with --baseline a diff report of
 * two (what grew, per second, and the CI rules when thresholds are given).
 * docs/report.md describes the page. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "beamdump/util.h"
#include "diff_out.h"
#include "html.h"

enum { DEFAULT_ROWS = 20000, DEFAULT_DETAILS = 40, MIN_ROWS = 100 };

typedef struct report_args {
	const opts *o;
	const char *input, *baseline, *out, *config;
	const char *sets[32];
	int nsets;
	long rows, details;
} report_args;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- helpers the sections share ---- */
uint64_t r_words(const report *r, uint64_t words)
{
	return words == BD_UNKNOWN ? BD_UNKNOWN : words * (uint64_t)r->word_size;
}

uint64_t r_proc_memory(const report *r, const bd_proc *p)
{
	if (p->memory != BD_UNKNOWN)
		return p->memory;
	uint64_t a = p->stack_heap == BD_UNKNOWN ? 0 : p->stack_heap;
	uint64_t b = p->old_heap == BD_UNKNOWN ? 0 : p->old_heap;
	return (a + b) * (uint64_t)r->word_size;
}

uint64_t r_proc_binary(const report *r, const bd_proc *p)
{
	uint64_t a = p->bin_vheap == BD_UNKNOWN ? 0 : p->bin_vheap;
	uint64_t b = p->old_bin_vheap == BD_UNKNOWN ? 0 : p->old_bin_vheap;
	return (a + b) * (uint64_t)r->word_size;
}

const char *r_proc_initial(const report *r, const bd_proc *p)
{
	if (r->tree) {
		const char *ic = r->tree->place[p - r->procs].initial_call;
		if (ic)
			return ic;
	}
	return p->spawned_as;
}

/* The name a process without a registered one is known by (bd_proc_name: a
 * proc_lib label, RabbitMQ's process_name, a via/Registry name), or NULL. Computed
 * when the page first shows the process: a heap is opened only for those. */
static const char NO_LABEL[] = "";
const char *r_proc_name(const report *r, const bd_proc *p)
{
	if (p->name)
		return p->name;
	report *rw = (report *)r; /* the cache is not part of what the page says */
	size_t i = (size_t)(p - r->procs);
	if (!rw->labels && !(rw->labels = calloc(r->nprocs + 1, sizeof *rw->labels)))
		return NULL;
	if (!rw->labels[i]) {
		char buf[160];
		bd_pname_source src = p->sec_dictionary.len || (p->pc_mfa && !strncmp(p->pc_mfa, "gen_", 4))
					      ? bd_proc_name(r->m, p, NULL, buf, sizeof buf)
					      : BD_PNAME_PID;
		const char *l = NULL;
		if (src >= BD_PNAME_VIA && src < BD_PNAME_REGISTERED && buf[0]) {
			rw->label_text.arena = &rw->label_arena;
			l = bd_intern_str(&rw->label_text, buf, strlen(buf));
		}
		rw->labels[i] = l ? l : NO_LABEL;
	}
	return rw->labels[i] == NO_LABEL ? NULL : rw->labels[i];
}

/* What a process is, to count it with its like: its initial call; for a spawned
 * fun (erlang:apply/2, which says nothing) also where it runs now, so that 400,000
 * workers of one fun make one group "erlang:apply/2 in mod:worker/1". */
const char *r_proc_group(const report *r, const bd_proc *p)
{
	const char *ic = r_proc_initial(r, p);
	const char *cur = p->pc_mfa ? p->pc_mfa : p->current_call;
	if (ic && strcmp(ic, "erlang:apply/2"))
		return ic;
	if (!cur)
		return ic ? ic : "(unknown)";
	report *rw = (report *)r; /* the interned keys are not part of what the page says */
	/* model strings are interned: a pair of pointers names the key */
	size_t slot = (((uintptr_t)ic >> 4) ^ ((uintptr_t)cur >> 3)) & 255;
	if (rw->group_memo[slot].key && rw->group_memo[slot].ic == ic && rw->group_memo[slot].cur == cur)
		return rw->group_memo[slot].key;
	char buf[400];
	int len = snprintf(buf, sizeof buf, "%s in %s", ic ? ic : "?", cur);
	if (len < 0 || (size_t)len >= sizeof buf)
		len = (int)sizeof buf - 1;
	rw->label_text.arena = &rw->label_arena;
	const char *k = bd_intern_str(&rw->label_text, buf, (size_t)len);
	if (!k)
		return ic ? ic : "(unknown)";
	rw->group_memo[slot].ic = ic;
	rw->group_memo[slot].cur = cur;
	rw->group_memo[slot].key = k;
	return k;
}

const char *r_proc_label(const report *r, const bd_proc *p)
{
	const char *nm = r_proc_name(r, p);
	if (nm)
		return nm;
	const char *ic = r_proc_initial(r, p);
	if (ic && strcmp(ic, "erlang:apply/2"))
		return ic;
	if (p->pc_mfa)
		return p->pc_mfa;
	return ic ? ic : "-";
}

const char *r_proc_app(const report *r, const bd_proc *p)
{
	if (!r->tree)
		return NULL;
	uint32_t a = r->tree->place[p - r->procs].app;
	return a == BD_NO_PROC ? NULL : r->tree->apps[a].name;
}

void r_pid_href(const report *r, bd_pid pid, char *buf, size_t cap)
{
	const bd_proc *p = bd_pid_valid(pid) ? bd_proc_by_pid(r->m, pid) : NULL;
	if (p && (r->flags[p - r->procs] & RF_DETAIL))
		snprintf(buf, cap, "#p-%u.%u.%u", pid.node, pid.num, pid.serial);
	else
		buf[0] = 0;
}

void r_pid(report *r, bd_pid pid, int with_name)
{
	char href[64], b[48];
	const bd_proc *p = bd_pid_valid(pid) ? bd_proc_by_pid(r->m, pid) : NULL;
	int row = p && (r->flags[p - r->procs] & RF_ROW);
	r_pid_href(r, pid, href, sizeof href);
	if (href[0])
		hw_fmt(r->w, "<a href=\"%s\">", href);
	else if (row) /* its row in the table: the script filters the table to it */
		hw_fmt(r->w, "<a href=\"#processes\" class=\"pq\" data-pid=\"%u.%u.%u\">", pid.node,
		       pid.num, pid.serial);
	hw_text(r->w, bd_pid_fmt(pid, b, sizeof b));
	if (href[0] || row)
		hw_raw(r->w, "</a>");
	if (!with_name)
		return;
	const char *node = bd_pid_node(r->m, pid);
	if (p) {
		hw_raw(r->w, " ");
		hw_textcut(r->w, r_proc_label(r, p), 120);
	} else if (node) {
		hw_raw(r->w, " on ");
		hw_text(r->w, node);
	} else if (pid.node == 0) {
		hw_raw(r->w, " <span class=\"muted\">(not in the dump)</span>");
	}
}

void r_note(report *r, const char *fmt, ...)
{
	if (r->nnotes >= (int)(sizeof r->notes / sizeof r->notes[0]))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->notes[r->nnotes++], sizeof r->notes[0], fmt, ap);
	va_end(ap);
}

/* "No X": in the dump, in the part of a cut dump that was written, or not read at
 * all (what a live capture does not take). A note, not an error: the page goes on. */
void r_none(report *r, const char *what, int live_unknown, const char *after)
{
	const bd_node_info *n = bd_model_node(r->m);
	char c[32];
	hw *w = r->w;
	if (live_unknown && is_live(r->m)) {
		hw_raw(w, "<p>Unknown: a live capture does not read ");
		hw_raw(w, what);
		hw_raw(w, ".</p>\n");
		return;
	}
	hw_raw(w, "<p>No ");
	hw_raw(w, what);
	if (n->truncated)
		hw_fmt(w, " in the part of the dump that was written (it stops at byte %s)",
		       bd_count_fmt(n->truncated_at, c, sizeof c));
	else
		hw_raw(w, is_live(r->m) ? " in the capture" : " in the dump");
	hw_raw(w, after ? after : "");
	hw_raw(w, ".</p>\n");
}

void html_footer(report *r, double seconds)
{
	hw *w = r->w;
	hw_raw(w, "<footer><p>Made by beamdump " BD_VERSION " from ");
	hw_textcut(w, r->path, 300);
	hw_fmt(w, " in %.2f s. The page loads nothing from the network; its script only sorts, "
		  "filters, pages and folds.</p>\n", seconds);
	if (r->nnotes) {
		hw_raw(w, "<p>Left out to keep the page small:</p><ul>");
		for (int i = 0; i < r->nnotes; i++) {
			hw_raw(w, "<li>");
			hw_text(w, r->notes[i]);
			hw_raw(w, "</li>");
		}
		hw_raw(w, "</ul>\n");
	}
	hw_raw(w, "</footer>\n");
}

/* ---- output: a temporary file renamed into place, or stdout ---- */
typedef struct outfile {
	const char *path;
	char *tmp;     /* NULL: written in place (stdout, a device, a FIFO) */
	FILE *f;
	char *buf;
} outfile;

/* Interrupted while writing: no half page left behind (unlink and _exit are
 * async-signal-safe). */
static char *volatile g_tmp;
static void on_signal(int sig)
{
	if (g_tmp)
		unlink(g_tmp);
	_exit(128 + sig);
}

static int out_open(outfile *o, const char *path)
{
	struct stat st;
	memset(o, 0, sizeof o[0]);
	o->path = path;
	if (!strcmp(path, "-")) {
		o->f = stdout;
		return 0;
	}
	/* Not a regular file (/dev/stdout, a FIFO): write to it, never rename over it. */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (!(o->f = fopen(path, "w"))) {
			fprintf(stderr, "beamdump: cannot write %s: %s\n", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	size_t n = strlen(path) + 16;
	o->tmp = malloc(n);
	if (!o->tmp)
		return -1;
	snprintf(o->tmp, n, "%s.tmp-XXXXXX", path);
	int fd = mkstemp(o->tmp);
	if (fd < 0 || !(o->f = fdopen(fd, "w"))) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		fprintf(stderr, "beamdump: cannot write %s: %s\n", path, strerror(e));
		free(o->tmp);
		o->tmp = NULL;
		return -1;
	}
	g_tmp = o->tmp;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	/* mkstemp makes 0600; a report is meant to be shared like any file. */
	mode_t um = umask(0);
	umask(um);
	fchmod(fd, 0666 & ~um);
	o->buf = malloc(1 << 20);
	if (o->buf)
		setvbuf(o->f, o->buf, _IOFBF, 1 << 20);
	return 0;
}

/* Finish: rename into place when ok, else remove. Returns 0 or -1 (message printed). */
static int out_close(outfile *o, int ok)
{
	int rc = 0;
	if (o->f == stdout) {
		if (fflush(stdout))
			rc = -1;
		return rc;
	}
	if (!o->tmp) {
		if (fclose(o->f) != 0 && ok) {
			fprintf(stderr, "beamdump: cannot write %s: %s\n", o->path, strerror(errno));
			ok = 0;
		}
		return ok ? 0 : -1;
	}
	if (fclose(o->f) != 0 && ok) {
		fprintf(stderr, "beamdump: cannot write %s: %s\n", o->path, strerror(errno));
		ok = 0;
	}
	if (ok && rename(o->tmp, o->path)) {
		fprintf(stderr, "beamdump: cannot rename into %s: %s\n", o->path, strerror(errno));
		ok = 0;
	}
	if (!ok) {
		unlink(o->tmp);
		rc = -1;
	}
	g_tmp = NULL;
	free(o->tmp);
	free(o->buf);
	return rc;
}

/* The page written (bad: an error already): closed and renamed into place, or why
 * not on stderr (EXIT_UNREADABLE). t_page >= 0: BEAMDUMP_TIMING's page time. */
static int page_finish(hw *w, outfile *o, const char *out, int bad, double t0, double t_page)
{
	bad |= hw_close(w);
	if (bad)
		fprintf(stderr, "beamdump: cannot write %s: %s\n", strcmp(out, "-") ? out : "the output",
			strerror(errno));
	if (t_page >= 0)
		fprintf(stderr, "report: page %.0f ms\n", (now() - t_page) * 1e3);
	if (out_close(o, !bad) || bad)
		return EXIT_UNREADABLE;
	if (o->f != stdout) {
		char b[32];
		fprintf(stderr, "beamdump: wrote %s (%s) in %.2f s\n", out,
			bd_bytes_fmt(w->bytes, b, sizeof b), now() - t0);
	}
	return EXIT_OK;
}

/* ---- the single report ---- */
static const char NAV[] =
	"<a href=\"#verdict\">Verdict</a><a href=\"#memory\">Memory</a><a href=\"#processes\">Processes</a>"
	"<a href=\"#details\">Details</a><a href=\"#apps\">Applications</a><a href=\"#ets\">ETS</a>"
	"<a href=\"#ports\">Ports</a><a href=\"#timers\">Timers</a><a href=\"#atoms\">Atoms</a>"
	"<a href=\"#schedulers\">Schedulers</a><a href=\"#binaries\">Binaries</a>";

static const char NAV_NATIVE[] =
	"<a href=\"#verdict\">Verdict</a><a href=\"#native\">Native crash</a><a href=\"#memory\">Memory</a>"
	"<a href=\"#processes\">Processes</a><a href=\"#details\">Details</a><a href=\"#apps\">Applications</a>"
	"<a href=\"#ets\">ETS</a><a href=\"#ports\">Ports</a><a href=\"#timers\">Timers</a>"
	"<a href=\"#atoms\">Atoms</a><a href=\"#schedulers\">Schedulers</a><a href=\"#binaries\">Binaries</a>";

static const char NAV_NATIVE_ONLY[] =
	"<a href=\"#verdict\">Verdict</a><a href=\"#native\">Native crash</a>";

static void native_section(report *r) { html_native(r); }

static int render(report *r, double t0)
{
	char title[300];
	const bd_node_info *n = bd_model_node(r->m);
	snprintf(title, sizeof title, "beamdump: %.120s: %.150s", n->node_name ? n->node_name : "node",
		 n->slogan ? n->slogan : "");
	static const struct {
		const char *name;
		void (*fn)(report *r);
	} sections[] = {
		{"verdict", html_verdict}, {"native", native_section}, {"memory", html_memory},   {"processes", html_processes},
		{"details", html_details}, {"apps", html_apps},       {"ets", html_ets},
		{"ports", html_ports},     {"timers", html_timers},   {"atoms", html_atoms},
		{"schedulers", html_schedulers}, {"binaries", html_binaries},
	};
	int timing = getenv("BEAMDUMP_TIMING") != NULL;
	/* A native crash (core, guard) has no process tables: its page is the verdict
	 * and the crash. */
	int native_only = html_has_native(r) && !r->nprocs;
	html_page_begin(r->w, title, native_only ? NAV_NATIVE_ONLY : html_has_native(r) ? NAV_NATIVE : NAV);
	for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
		if (native_only && i > 1)
			break;
		double t = now();
		sections[i].fn(r);
		if (timing)
			fprintf(stderr, "report: %-12s %8.1f ms\n", sections[i].name, (now() - t) * 1e3);
	}
	html_footer(r, now() - t0);
	html_page_end(r->w);
	return ferror(r->w->f) ? -1 : 0;
}

/* Reading every dictionary of a big node can cost more than the analyses (a
 * .bdump regenerates each process's text): the tree gets half of what opening and
 * analyzing took (at least 0.2 s), so that with the page the report stays well
 * within 3 times the time of analyze; the most useful dictionaries come first, and
 * unread proc_lib siblings take the initial call their read siblings agree on. */
static const bd_proc_tree_opts *tree_opts(bd_proc_tree_opts *o, double t0, double now_)
{
	bd_proc_tree_opts def = BD_PROC_TREE_OPTS_INIT;
	*o = def;
	double spent = now_ - t0;
	o->max_seconds = spent * 0.5 > 0.2 ? spent * 0.5 : 0.2;
	return o;
}

/* Analyze m and rank its processes for the page: 0, or -1 with err set (memory). The
 * caller calls report_release(r) either way. rows, details: --rows, --details. */
int report_prepare(report *r, const bd_model *m, const char *path, size_t rows, size_t details,
		   double t0, bd_error *err)
{
	memset(r, 0, sizeof *r);
	r->m = m;
	r->path = path;
	r->procs = bd_model_procs(m, &r->nprocs);
	r->word_size = bd_model_node(m)->word_size ? bd_model_node(m)->word_size : 8;
	r->row_cap = rows;
	bd_findings *fs = NULL;
	bd_analyze_opts ao = BD_ANALYZE_OPTS_INIT;
	bd_proc_tree_opts to;
	int rc = 0;
	r->flags = calloc(r->nprocs + 1, 1);
	r->tb = malloc(TERM_CAP);
	/* BEAMDUMP_TIMING=1: what each step costs, on stderr (for bench/). */
	int timing = getenv("BEAMDUMP_TIMING") != NULL;
	double t1 = now(), t2 = t1, t3 = t1;
	if (!r->flags || !r->tb || bd_analyze(m, &ao, &fs, err) || !(r->fs = fs) ||
	    ((t2 = now()), bd_proc_tree_build(&r->tree, m, tree_opts(&to, t0, t2), err)) ||
	    ((t3 = now()), bd_bin_refs_build(&r->refs, m, NULL, err)) || html_rank(r) ||
	    html_pick_details(r, details))
		rc = -1;
	r->fs = fs; /* freed by report_release, also when a later step failed */
	if (timing)
		fprintf(stderr, "report: open %.0f ms, analyze %.0f ms, tree %.0f ms (%llu dictionaries), "
				"binaries %.0f ms\n", (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3,
			r->tree ? (unsigned long long)r->tree->decoded : 0ULL, (now() - t3) * 1e3);
	return rc;
}

/* Write the prepared page through w (hw_open'ed): 0, or -1 on a write error. */
int report_render(report *r, hw *w, double t0)
{
	r->w = w;
	return render(r, t0);
}

void report_release(report *r)
{
	bd_findings_free((bd_findings *)r->fs);
	bd_proc_tree_free(r->tree);
	bd_bin_refs_free(r->refs);
	free(r->flags);
	free(r->port_listed);
	free(r->app_roots);
	free(r->app_root_off);
	free(r->labels);
	bd_intern_free(&r->label_text);
	bd_arena_free(&r->label_arena);
	bd_u64map_free(&r->port_index);
	free(r->details);
	for (int k = 0; k < 4; k++)
		free(r->rank[k]);
	free(r->tb);
	memset(r, 0, sizeof *r);
}

static int single(const report_args *a, double t0)
{
	bd_model *m;
	bd_error err = {0};
	int orc = open_input(a->o, &m); /* the model cache and the errors */
	if (orc)
		return orc;
	/* Syntax as every command: Elixir for a dump of an Elixir node (open_input ->
	 * cli_style; --style chooses); hw_text writes module names the same way. */
	report r;
	int rc = EXIT_OK;
	if (report_prepare(&r, m, a->input, (size_t)a->rows, (size_t)a->details, t0, &err)) {
		fprintf(stderr, "beamdump: report: %s\n", err.msg[0] ? err.msg : "out of memory");
		rc = EXIT_UNREADABLE;
	}
	int timing = getenv("BEAMDUMP_TIMING") != NULL;
	outfile o;
	hw w;
	if (!rc && out_open(&o, a->out)) {
		rc = EXIT_UNREADABLE;
	} else if (!rc && hw_open(&w, o.f)) {
		out_close(&o, 0);
		rc = EXIT_UNREADABLE;
	} else if (!rc) {
		double t4 = now();
		int bad = report_render(&r, &w, t0);
		rc = page_finish(&w, &o, a->out, bad, t0, timing ? t4 : -1);
	}
	report_release(&r);
	if (!rc)
		rc = partial_notice(m);
	bd_model_free(m);
	return rc;
}

/* ---- the diff report ---- */
static int diffed(const report_args *a, double t0)
{
	bd_ci_rules rules;
	bd_error err = {0};
	int with_ci = a->config || a->nsets;
	bd_ci_rules_default(&rules);
	if (a->config && bd_ci_rules_load(&rules, a->config, &err)) {
		fprintf(stderr, "beamdump: %s\n", err.msg);
		return EXIT_USAGE;
	}
	for (int i = 0; i < a->nsets; i++) {
		char key[128];
		const char *eq = strchr(a->sets[i], '=');
		if (!eq || (size_t)(eq - a->sets[i]) >= sizeof key) {
			fprintf(stderr, "beamdump: --set takes KEY=VALUE, got %s\n", a->sets[i]);
			return EXIT_USAGE;
		}
		memcpy(key, a->sets[i], (size_t)(eq - a->sets[i]));
		key[eq - a->sets[i]] = 0;
		if (bd_ci_rules_set(&rules, key, eq + 1, &err)) {
			fprintf(stderr, "beamdump: %s\n", err.msg);
			return EXIT_USAGE;
		}
	}
	bd_model *m[2] = {NULL, NULL};
	const char *paths[2] = {a->baseline, a->input};
	static const char *const labels[2] = {"baseline", "input"};
	if (open_models(m, paths, 2, labels))
		return EXIT_UNREADABLE;
	cli_style(a->o, m[1]); /* as beamdump diff */
	bd_diff *d = NULL;
	bd_ci_result *ci = NULL;
	int rc = EXIT_OK;
	if (bd_diff_run(m[0], m[1], NULL, &d, &err) ||
	    (with_ci && bd_ci_run(m[0], m[1], NULL, &rules, NULL, &ci, &err))) {
		fprintf(stderr, "beamdump: report: %s\n", err.msg);
		rc = EXIT_UNREADABLE;
	}
	outfile o;
	hw w;
	if (!rc && out_open(&o, a->out)) {
		rc = EXIT_UNREADABLE;
	} else if (!rc && hw_open(&w, o.f)) {
		out_close(&o, 0);
		rc = EXIT_UNREADABLE;
	} else if (!rc) {
		diff_report dr = {&w, m[0], m[1], a->baseline, a->input, d, ci, (size_t)a->details};
		html_diff(&dr);
		hw_raw(&w, "<footer><p>Made by beamdump " BD_VERSION);
		hw_fmt(&w, " in %.2f s. The page loads nothing from the network.</p></footer>\n", now() - t0);
		html_page_end(&w);
		rc = page_finish(&w, &o, a->out, ferror(w.f) != 0, t0, -1);
	}
	if (!rc && ci && ci->failed)
		rc = EXIT_FINDINGS;
	bd_ci_result_free(ci);
	bd_diff_free(d);
	int p0 = partial_notice(m[0]), p1 = partial_notice(m[1]);
	if (!rc)
		rc = p0 ? p0 : p1;
	bd_model_free(m[0]);
	bd_model_free(m[1]);
	return rc;
}

/* ---- options ---- */
static const cli_opt report_opts[] = {
	CLI_OPT_OUTPUT("FILE", "the HTML file (default report.html; - for stdout)"),
	{"baseline", 0, CLI_VALUE, "A", "a diff report: what changed from A to <dump>"},
	{"config", 0, CLI_VALUE, "FILE", "CI rules and thresholds for the diff report (docs/ci.md)"},
	{"set", 0, CLI_VALUE, "KEY=VALUE", "one CI rule setting, after --config (repeatable)"},
	CLI_OPT_ROWS("process rows the page carries (default 20000, at least 100)"),
	{"details", 0, CLI_NUM, "N", "processes with a detail section (default 40)"},
	CLI_OPT_STYLE, CLI_OPT_CACHE, CLI_END};

const cli_cmd report_cmd = {
	"report", cmd_report, "<dump>", 1, 1, report_opts,
	"One self-contained HTML page: verdict, memory, processes, tree, tables.",
	"<dump>: an erl_crash.dump (also .gz, .zst), a .bdump snapshot, or - for stdin\n"
	"The page loads nothing from the network and reads without JavaScript; docs/report.md.\n"
	"With --baseline: what grew from A to <dump>, per second, and the CI rules with\n"
	"--config/--set.\n",
	"0 ok, 1 a CI rule failed (--baseline with rules), 2 usage, 3 unreadable input,\n"
	"            4 partial input (cut dump) read: the page says where it stops"};

static int parse(const opts *o, report_args *a)
{
	memset(a, 0, sizeof *a);
	a->o = o;
	a->input = o->args[o->nargs - 1];
	a->out = o->out ? o->out : "report.html";
	a->baseline = opt_str(o, "baseline");
	a->config = opt_str(o, "config");
	a->rows = o->n >= 0 ? o->n : DEFAULT_ROWS;
	const char *det = opt_str(o, "details");
	a->details = det ? strtol(det, NULL, 10) : DEFAULT_DETAILS;
	if (a->rows < MIN_ROWS) {
		fprintf(stderr, "beamdump: report: --rows takes at least %d\n", MIN_ROWS);
		return EXIT_USAGE;
	}
	if (a->details > 10000)
		a->details = 10000;
	for (size_t i = 0; i < o->ngiven; i++) {
		if (strcmp(o->given[i].opt->name ? o->given[i].opt->name : "", "set"))
			continue;
		if (a->nsets == (int)(sizeof a->sets / sizeof a->sets[0])) {
			fprintf(stderr, "beamdump: report: too many --set\n");
			return EXIT_USAGE;
		}
		a->sets[a->nsets++] = o->given[i].val;
	}
	if ((a->config || a->nsets) && !a->baseline) {
		fprintf(stderr, "beamdump: report: --config and --set need --baseline (they are diff "
				"thresholds)\n");
		return EXIT_USAGE;
	}
	return 0;
}

int cmd_report(const opts *o)
{
	double t0 = now();
	report_args a;
	int rc = parse(o, &a);
	if (rc)
		return rc;
	return a.baseline ? diffed(&a, t0) : single(&a, t0);
}
