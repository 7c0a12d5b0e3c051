/* The top of the report: what the node was, whether the dump is whole, the verdict,
 * and the ranked findings with their evidence, context and advice. Everything a
 * finding names links to its place in the page. */
#include <string.h>

#include "beamdump/util.h"
#include "html.h"

static void fact(hw *w, const char *label, const char *value)
{
	hw_fmt(w, "<div><span>%s</span>", label);
	if (value && *value)
		hw_text(w, value);
	else
		hw_raw(w, "<span class=\"muted\" style=\"display:inline;text-transform:none\">unknown</span>");
	hw_raw(w, "</div>\n");
}

static void fact_count(hw *w, const char *label, uint64_t v)
{
	hw_fmt(w, "<div><span>%s</span>", label);
	hw_count(w, v);
	hw_raw(w, "</div>\n");
}

static const char *source_name(const char *s)
{
	if (!s)
		return "?";
	if (!strcmp(s, "snapshot"))
		return ".bdump snapshot";
	if (!strcmp(s, "live"))
		return "live capture";
	return s;
}

static void facts(report *r)
{
	hw *w = r->w;
	const bd_node_info *n = bd_model_node(r->m);
	const bd_limits *l = bd_model_limits(r->m);
	char b[160], c[32], d[32];
	hw_raw(w, "<div class=\"facts\">\n");
	fact(w, "Node", n->node_name);
	snprintf(b, sizeof b, "OTP %s / ERTS %s", n->otp_release ? n->otp_release : "?",
		 n->erts_version ? n->erts_version : "?");
	fact(w, "Release", b);
	fact(w, "Written", n->created);
	snprintf(b, sizeof b, "%s, %s", source_name(n->source), bd_bytes_fmt(n->input_size, c, sizeof c));
	fact(w, "Input", b);
	hw_raw(w, "<div><span>File</span>");
	hw_textcut(w, r->path, 120);
	hw_raw(w, "</div>\n");
	if (html_has_native(r) && !r->nprocs) { /* a core: no tables to count */
		hw_raw(w, "</div>\n");
		return;
	}
	fact_count(w, "Processes", r->nprocs);
	size_t nports, nets;
	bd_model_ports(r->m, &nports);
	bd_model_ets(r->m, &nets);
	fact_count(w, "Ports", nports);
	fact_count(w, "ETS tables", nets);
	uint64_t atoms = l->atoms != BD_UNKNOWN ? l->atoms : n->atoms;
	hw_raw(w, "<div><span>Atoms</span>");
	hw_count(w, atoms);
	if (l->atoms_limit != BD_UNKNOWN && l->atoms_limit && atoms != BD_UNKNOWN)
		hw_fmt(w, " of %s (%.1f %%)", bd_count_fmt(l->atoms_limit, d, sizeof d),
		       100.0 * (double)atoms / (double)l->atoms_limit);
	hw_raw(w, "</div>\n");
	const bd_memory *mm = bd_model_memory(r->m);
	hw_raw(w, "<div><span>Memory (erlang:memory total)</span>");
	hw_bytes(w, mm->total);
	hw_raw(w, "</div>\n");
	if (n->system_version) {
		hw_raw(w, "<div style=\"grid-column:1/-1\"><span>System version</span>");
		hw_textcut(w, n->system_version, 300);
		hw_raw(w, "</div>\n");
	}
	if (n->taints && *n->taints) {
		hw_raw(w, "<div style=\"grid-column:1/-1\"><span>Taints (NIFs and drivers loaded)</span>");
		hw_textcut(w, n->taints, 600);
		hw_raw(w, "</div>\n");
	}
	hw_raw(w, "</div>\n");
}

/* Whether the dump is whole, and where it stops if not. */
static void completeness(report *r)
{
	hw *w = r->w;
	const bd_node_info *n = bd_model_node(r->m);
	char c[32];
	if (html_has_native(r) && !n->truncated && !n->skipped)
		return; /* the native section says what could not be known */
	if (!n->truncated && !n->skipped) {
		hw_raw(w, n->source && !strcmp(n->source, "live")
				  ? "<p class=\"note\">The capture is complete.</p>\n"
				  : "<p class=\"note\">The input is complete (it ends with its end marker).</p>\n");
		return;
	}
	hw_raw(w, "<div class=\"cut\"><b>Partial input.</b> ");
	if (n->truncated) {
		if (n->abort_reason) {
			hw_raw(w, "The writer stopped: ");
			hw_textcut(w, n->abort_reason, 300);
			hw_raw(w, ". ");
		} else {
			hw_raw(w, "The file was cut short (no end marker). ");
		}
		if (n->truncated_in) {
			hw_fmt(w, "The data stops at byte %s in <code>", bd_count_fmt(n->truncated_at, c, sizeof c));
			hw_textcut(w, n->truncated_in, 200);
			hw_raw(w, "</code>. ");
		}
		hw_raw(w, "Everything after that point is unknown: counts and tables below cover what "
			  "was written before it.");
	}
	if (n->skipped) {
		hw_fmt(w, " %s section(s) could not be read and were skipped; the first: ",
		       bd_count_fmt(n->skipped, c, sizeof c));
		hw_textcut(w, n->skipped_first, 200);
		hw_raw(w, ".");
	}
	hw_raw(w, "</div>\n");
}

static void evidence(hw *w, const bd_finding *f)
{
	if (!f->nevidence)
		return;
	char b[32];
	hw_raw(w, "<dl class=\"ev\">");
	for (uint32_t i = 0; i < f->nevidence; i++) {
		const bd_evidence *e = &f->evidence[i];
		hw_raw(w, "<dt>");
		hw_text(w, e->key);
		hw_raw(w, "</dt><dd>");
		switch (e->type) {
		case BD_EV_COUNT:
			hw_count(w, e->v.u);
			break;
		case BD_EV_BYTES:
			hw_bytes(w, e->v.u);
			if (e->v.u != BD_UNKNOWN && e->v.u >= 1000)
				hw_fmt(w, " <span class=\"muted\">(%s bytes)</span>", bd_count_fmt(e->v.u, b, sizeof b));
			break;
		case BD_EV_PERCENT:
			hw_fmt(w, "%.1f %%", e->v.d);
			break;
		case BD_EV_NUMBER:
			hw_fmt(w, "%.4g", e->v.d);
			break;
		default:
			if (!e->v.s || !e->v.s[0]) {
				hw_raw(w, "<span class=\"muted\">(none)</span>");
				break;
			}
			hw_raw(w, "<code>");
			hw_textcut(w, e->v.s, 1000);
			hw_raw(w, "</code>");
		}
		hw_raw(w, "</dd>");
	}
	hw_raw(w, "</dl>\n");
}

/* The in-page place of a subject that is not a process, or "". */
static void subject_href(report *r, const bd_subject *s, char *buf, size_t cap)
{
	buf[0] = 0;
	const char *t = s->type ? s->type : "";
	if (!strcmp(t, "port") && bd_pid_valid(s->pid)) {
		if (html_port_listed(r, s->pid))
			snprintf(buf, cap, "#port-%u", s->pid.num);
	} else if (!strcmp(t, "ets") && s->name) {
		size_t n;
		const bd_ets *e = bd_model_ets(r->m, &n);
		for (size_t i = 0; i < n; i++)
			if ((e[i].name && !strcmp(e[i].name, s->name)) ||
			    (e[i].table && !strcmp(e[i].table, s->name))) {
				snprintf(buf, cap, "#ets-%zu", i);
				break;
			}
		if (!buf[0])
			snprintf(buf, cap, "#ets");
	} else if (!strcmp(t, "allocator")) {
		snprintf(buf, cap, "#memory");
	} else if (!strcmp(t, "atoms")) {
		snprintf(buf, cap, "#atoms");
	} else if (!strcmp(t, "scheduler")) {
		snprintf(buf, cap, "#schedulers");
	} else if (!strcmp(t, "application") && r->tree && s->name) {
		for (size_t i = 0; i < r->tree->napps; i++)
			if (!strcmp(r->tree->apps[i].name, s->name))
				snprintf(buf, cap, "#app-%zu", i);
	}
}

static void subject(report *r, const bd_subject *s)
{
	hw *w = r->w;
	char href[64];
	const char *t = s->type ? s->type : "?";
	int proc = !strcmp(t, "process") && bd_pid_valid(s->pid);
	hw_raw(w, "<div class=\"subject\"><span class=\"muted\">");
	hw_text(w, s->role ? s->role : t);
	hw_raw(w, ":</span> ");
	if (proc) {
		r_pid(r, s->pid, 1);
	} else {
		subject_href(r, s, href, sizeof href);
		if (href[0])
			hw_fmt(w, "<a href=\"%s\">", href);
		if (s->name)
			hw_text(w, s->name);
		else if (bd_pid_valid(s->pid)) {
			char p[48];
			hw_text(w, !strcmp(t, "port") ? bd_port_fmt(s->pid, p, sizeof p) : bd_pid_fmt(s->pid, p, sizeof p));
		} else
			hw_text(w, t);
		if (href[0])
			hw_raw(w, "</a>");
	}
	if (s->initial_call) {
		hw_raw(w, " <span class=\"muted\">started as</span> <code>");
		hw_text(w, s->initial_call);
		hw_raw(w, "</code>");
	}
	if (s->current_function) {
		hw_raw(w, " <span class=\"muted\">in</span> <code>");
		hw_text(w, s->current_function);
		hw_raw(w, "</code>");
	}
	if (s->application) {
		hw_raw(w, " <span class=\"muted\">app</span> ");
		hw_text(w, s->application);
	}
	if (s->nancestors) {
		hw_raw(w, " <span class=\"muted\">supervised by</span> ");
		for (uint32_t i = 0; i < s->nancestors && i < 6; i++) {
			if (i)
				hw_raw(w, " &lt; ");
			hw_textcut(w, s->ancestors[i], 120);
		}
	}
	hw_raw(w, "</div>\n");
}

static void finding(report *r, const bd_finding *f)
{
	hw *w = r->w;
	const char *sev = bd_severity_name(f->severity);
	hw_fmt(w, "<li class=\"%s\"><div class=\"ftitle\"><span class=\"sev %s\">%s</span>"
		  "<span class=\"kind\">%s</span>",
	       sev, sev, sev, bd_finding_kind_name(f->kind));
	hw_text(w, f->title);
	hw_raw(w, "</div>\n");
	subject(r, &f->subject);
	evidence(w, f);
	if (f->advice) {
		hw_raw(w, "<div class=\"advice\"><b>Advice:</b> ");
		hw_text(w, f->advice);
		hw_raw(w, "</div>\n");
	}
	if (f->nrelated) {
		hw_fmt(w, "<div class=\"related\"><span class=\"muted\">Also involved (%u):</span> ", f->nrelated);
		for (uint32_t i = 0; i < f->nrelated; i++) {
			const bd_subject *s = &f->related[i];
			if (i)
				hw_raw(w, ", ");
			if (s->role) {
				hw_text(w, s->role);
				hw_raw(w, " ");
			}
			if (bd_pid_valid(s->pid))
				r_pid(r, s->pid, 1);
			else
				hw_text(w, s->name ? s->name : "?");
		}
		hw_raw(w, "</div>\n");
	}
	if (f->ndetails) {
		hw_fmt(w, "<details><summary>Details (%u lines)</summary><pre>", f->ndetails);
		for (uint32_t i = 0; i < f->ndetails; i++) {
			hw_textcut(w, f->details[i], 2000);
			hw_raw(w, "\n");
		}
		hw_raw(w, "</pre></details>\n");
	}
	hw_raw(w, "</li>\n");
}

void html_verdict(report *r)
{
	hw *w = r->w;
	const bd_node_info *n = bd_model_node(r->m);
	int live = n->source && !strcmp(n->source, "live");
	hw_raw(w, "<section id=\"verdict\">\n<h1>");
	hw_raw(w, html_has_native(r) ? "Native crash of "
		  : live ? "Live capture of "
		  : n->source && !strcmp(n->source, "snapshot") ? "Snapshot of " : "Crash dump of ");
	hw_text(w, n->node_name ? n->node_name : "an unnamed node");
	hw_fmt(w, "</h1>\n<div class=\"slogan%s\" title=\"Slogan: the reason the dump was written\">",
	       n->slogan && n->slogan[0] ? "" : " none");
	if (n->slogan && n->slogan[0])
		hw_textcut(w, n->slogan, 4000);
	else
		hw_raw(w, live ? "(no slogan: captured from the running node)" : "(no slogan)");
	hw_raw(w, "</div>\n");
	/* The answer right under the question: what the findings say, coloured by the
	 * worst of them; then whether the input is whole, then the facts. */
	const char *cls = "ok";
	for (size_t i = 0; i < r->fs->n; i++) {
		if (r->fs->items[i].severity == BD_SEV_CRITICAL) {
			cls = "critical";
			break;
		}
		if (r->fs->items[i].severity == BD_SEV_WARNING)
			cls = "warning";
	}
	hw_fmt(w, "<p class=\"verdict %s\">", cls);
	hw_text(w, r->fs->verdict);
	hw_raw(w, "</p>\n");
	completeness(r);
	facts(r);
	if (!r->fs->n) {
		hw_raw(w, "<p>No findings: nothing in this dump looks wrong to beamdump.</p>\n");
	} else {
		hw_fmt(w, "<h2>Findings (%zu), most likely cause first</h2>\n<ol class=\"findings\">\n", r->fs->n);
		for (size_t i = 0; i < r->fs->n; i++)
			finding(r, &r->fs->items[i]);
		hw_raw(w, "</ol>\n");
	}
	hw_raw(w, "</section>\n");
}
