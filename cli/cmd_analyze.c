/* beamdump analyze: ranked findings (docs/json.md "analyze"). Text fits one screen:
 * a header, then each finding in at most four lines; --verbose adds details and
 * every finding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beamdump/analyze.h"
#include "cli.h"

enum { TEXT_FINDINGS = 8, EVIDENCE_WIDTH = 150 };

/* "[warning]", colored through out_sgr (stdout escapes every other control byte). */
static void sev_tag(bd_severity s, int color)
{
	static const char *const plain[] = {"info", "warning", "critical"};
	static const char *const sgr[] = {"\033[2m", "\033[33m", "\033[1;31m"};
	putchar('[');
	if (color)
		out_sgr(sgr[s]);
	fputs(plain[s], stdout);
	if (color)
		out_sgr("\033[0m");
	putchar(']');
}

static int ev_text(const bd_evidence *e, char *buf, size_t cap)
{
	char a[48];
	switch (e->type) {
	case BD_EV_COUNT:
		return snprintf(buf, cap, "%s=%s", e->key, fmt_count(e->v.u, a, sizeof a));
	case BD_EV_BYTES:
		return snprintf(buf, cap, "%s=%s", e->key, fmt_bytes(e->v.u, a, sizeof a));
	case BD_EV_PERCENT:
		return snprintf(buf, cap, "%s=%.1f %%", e->key, e->v.d);
	case BD_EV_NUMBER:
		return snprintf(buf, cap, "%s=%.4g", e->key, e->v.d);
	default:
		return snprintf(buf, cap, "%s=%s", e->key, e->v.s ? e->v.s : "?");
	}
}

/* Evidence on one line, cut at the width unless verbose. */
static void print_evidence(const bd_finding *f, int verbose)
{
	char item[512];
	size_t col = 0;
	printf("   evidence:");
	for (uint32_t i = 0; i < f->nevidence; i++) {
		int n = ev_text(&f->evidence[i], item, sizeof item);
		if (!verbose && col + (size_t)n > EVIDENCE_WIDTH && col) {
			printf(" ...");
			break;
		}
		if (!verbose && n > 90)
			snprintf(item + 86, sizeof item - 86, "...");
		putchar(' ');
		out_print(stdout, item, NULL);
		fputs(i + 1 < f->nevidence ? "," : "", stdout);
		col += (size_t)n + 2;
	}
	printf("\n");
}

static void print_subject(const bd_subject *s)
{
	char pid[48];
	printf("   context:");
	const char *name = s->name ? s->name : s->label;
	if (bd_pid_valid(s->pid))
		printf(" %s%s%s", name ? out_txt(name) : "", name ? " " : "",
		       strcmp(s->type ? s->type : "", "port") ? bd_pid_fmt(s->pid, pid, sizeof pid)
							     : bd_port_fmt(s->pid, pid, sizeof pid));
	else
		printf(" %s %s", s->type ? out_txt(s->type) : "?", s->name ? out_txt(s->name) : "?");
	if (s->initial_call)
		printf(", started as %s", out_txt(s->initial_call));
	if (s->current_function)
		printf(", in %s", out_txt(s->current_function));
	if (s->application || (s->type && !strcmp(s->type, "process")))
		printf(", app %s", s->application ? out_txt(s->application) : "-");
	if (s->nancestors) {
		printf(", sup");
		for (uint32_t i = 0; i < s->nancestors && i < 4; i++)
			printf("%s%s", i ? " < " : " ", out_txt(s->ancestors[i]));
	}
	printf("\n");
}

static void print_finding(const bd_finding *f, size_t rank, const opts *o)
{
	printf("%zu. ", rank);
	sev_tag(f->severity, o->color);
	printf(" %s: ", bd_finding_kind_name(f->kind));
	out_print(stdout, f->title ? f->title : "", NULL);
	putchar('\n');
	if (f->severity == BD_SEV_INFO && !o->verbose)
		return;
	print_evidence(f, o->verbose);
	print_subject(&f->subject);
	if (f->advice) {
		printf("   advice: ");
		out_print(stdout, f->advice, NULL);
		putchar('\n');
	}
	if (!o->verbose)
		return;
	if (f->subject.nlinks) {
		printf("   links:");
		for (uint32_t i = 0; i < f->subject.nlinks; i++)
			printf(" %s%s", out_txt(f->subject.links[i]), i + 1 < f->subject.nlinks ? "," : "");
		if (f->subject.links_total > f->subject.nlinks)
			printf(" (%u in all)", f->subject.links_total);
		printf("\n");
	}
	char pid[48];
	for (uint32_t i = 0; i < f->nrelated; i++) {
		const bd_subject *r = &f->related[i];
		printf("   %s: %s %s%s%s%s%s\n", r->role ? out_txt(r->role) : "related",
		       r->name ? out_txt(r->name) : r->label ? out_txt(r->label) : "",
		       bd_pid_fmt(r->pid, pid, sizeof pid), r->current_function ? " in " : "",
		       r->current_function ? out_txt(r->current_function) : "",
		       r->application ? ", app " : "", r->application ? out_txt(r->application) : "");
	}
	for (uint32_t i = 0; i < f->ndetails; i++) {
		printf("   | ");
		out_print(stdout, f->details[i], NULL);
		putchar('\n');
	}
}

static void print_text(const bd_model *m, const bd_findings *fs, const opts *o)
{
	const bd_node_info *n = bd_model_node(m);
	size_t np;
	bd_model_procs(m, &np);
	char sl[301];
	snprintf(sl, sizeof sl, "%s", n->slogan && n->slogan[0] ? n->slogan : "(none)");
	printf("Slogan:  ");
	out_print(stdout, sl, NULL);
	putchar('\n');
	char cnp[32];
	printf("Node:    %s, OTP %s (erts %s), %s processes, %s%s\n",
	       n->node_name ? out_txt(n->node_name) : "?",
	       n->otp_release ? out_txt(n->otp_release) : "?",
	       n->erts_version ? out_txt(n->erts_version) : "?", fmt_count(np, cnp, sizeof cnp),
	       n->created ? out_txt(n->created) : "?",
	       n->truncated ? ", TRUNCATED" : "");
	printf("Verdict: ");
	out_print(stdout, fs->verdict ? fs->verdict : "", NULL);
	printf("\n\n");
	size_t shown = o->verbose ? fs->n : fs->n < TEXT_FINDINGS ? fs->n : TEXT_FINDINGS;
	for (size_t i = 0; i < shown; i++)
		print_finding(&fs->items[i], i + 1, o);
	if (shown < fs->n)
		printf("(%zu more findings; --verbose shows all, with details)\n", fs->n - shown);
	else if (!fs->n)
		printf("No findings.\n");
}

/* Text caught in memory with its colors: the escapes go back through out_sgr. */
static void put_sgr_text(const char *s)
{
	for (const char *e; (e = strstr(s, "\033[")); ) {
		const char *m = strchr(e, 'm');
		if (!m)
			break;
		char seq[32];
		fwrite(s, 1, (size_t)(e - s), stdout);
		snprintf(seq, sizeof seq, "%.*s", (int)(m + 1 - e), e);
		out_sgr(seq);
		s = m + 1;
	}
	fputs(s, stdout);
}

/* Elixir style: the findings' texts name modules as the analyses wrote them
 * ('Elixir.MyApp.Cache':handle_call/3); each line is rewritten on its way out. */
static void print_text_styled(const bd_model *m, const bd_findings *fs, const opts *o)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len), *real = stdout;
	if (!mem) {
		print_text(m, fs, o);
		return;
	}
	stdout = mem; /* print_text writes with printf: catch it, then restyle */
	print_text(m, fs, o);
	stdout = real;
	fclose(mem);
	char line[8192];
	for (char *p = text, *nl; p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		put_sgr_text(bd_style_text(p, line, sizeof line));
		if (nl)
			putchar('\n');
	}
	free(text);
}

/* ---- JSON (schema: docs/json.md, docs/schema/analyze.schema.json) ---- */
static void json_subject(jw *w, const bd_subject *s)
{
	char pid[48];
	jw_obj(w);
	jw_kstr(w, "type", s->type);
	jw_key(w, "pid");
	if (!bd_pid_valid(s->pid))
		jw_null(w);
	else if (s->type && !strcmp(s->type, "port"))
		jw_str(w, bd_port_fmt(s->pid, pid, sizeof pid));
	else
		jw_str(w, bd_pid_fmt(s->pid, pid, sizeof pid));
	jw_kstr(w, "name", s->name);
	jw_kstr(w, "label", s->label);
	jw_kstr(w, "initial_call", s->initial_call);
	jw_kstr(w, "current_function", s->current_function);
	jw_kstr(w, "application", s->application);
	jw_key(w, "ancestors");
	jw_arr(w);
	for (uint32_t i = 0; i < s->nancestors; i++)
		jw_str(w, s->ancestors[i]);
	jw_arr_end(w);
	jw_key(w, "links");
	jw_arr(w);
	for (uint32_t i = 0; i < s->nlinks; i++)
		jw_str(w, s->links[i]);
	jw_arr_end(w);
	jw_ku64(w, "links_total", s->links_total);
	if (s->role)
		jw_kstr(w, "role", s->role);
	jw_obj_end(w);
}

static void json_evidence(jw *w, const bd_finding *f)
{
	jw_obj(w);
	for (uint32_t i = 0; i < f->nevidence; i++) {
		const bd_evidence *e = &f->evidence[i];
		jw_key(w, e->key);
		if (e->type == BD_EV_COUNT || e->type == BD_EV_BYTES)
			jw_u64(w, e->v.u);
		else if (e->type == BD_EV_TEXT)
			jw_str(w, e->v.s);
		else
			jw_dbl(w, e->v.d);
	}
	jw_obj_end(w);
}

static void json_finding(jw *w, const bd_finding *f, size_t rank)
{
	jw_obj(w);
	jw_ku64(w, "rank", rank);
	jw_kstr(w, "kind", bd_finding_kind_name(f->kind));
	jw_kstr(w, "severity", bd_severity_name(f->severity));
	jw_key(w, "score");
	jw_dbl(w, f->score);
	jw_kstr(w, "title", f->title);
	jw_key(w, "subject");
	json_subject(w, &f->subject);
	jw_key(w, "evidence");
	json_evidence(w, f);
	jw_kstr(w, "advice", f->advice);
	jw_key(w, "related");
	jw_arr(w);
	for (uint32_t i = 0; i < f->nrelated; i++)
		json_subject(w, &f->related[i]);
	jw_arr_end(w);
	jw_key(w, "details");
	jw_arr(w);
	for (uint32_t i = 0; i < f->ndetails; i++)
		jw_str(w, f->details[i]);
	jw_arr_end(w);
	jw_obj_end(w);
}

static void json_slogan(jw *w, const bd_slogan *s)
{
	jw_obj(w);
	jw_kstr(w, "text", s->text);
	jw_kstr(w, "class", bd_slogan_class_name(s->cls));
	jw_kstr(w, "allocator", s->allocator[0] ? s->allocator : NULL);
	jw_kstr(w, "block_type", s->block_type[0] ? s->block_type : NULL);
	jw_ku64(w, "bytes", s->bytes);
	jw_kstr(w, "table", s->table[0] ? s->table : NULL);
	jw_ku64(w, "max", s->max);
	jw_kstr(w, "kernel_pid", s->kernel_pid[0] ? s->kernel_pid : NULL);
	jw_kstr(w, "application", s->application[0] ? s->application : NULL);
	jw_key(w, "reason");
	if (s->reason)
		jw_strn(w, s->reason, s->reason_len);
	else
		jw_null(w);
	jw_key(w, "system_limit");
	jw_bool(w, s->system_limit);
	jw_obj_end(w);
}

static void print_json(const bd_model *m, const bd_findings *fs)
{
	const bd_node_info *n = bd_model_node(m);
	size_t np;
	bd_model_procs(m, &np);
	jw w;
	jw_init(&w, stdout);
	jw_obj(&w);
	jw_kstr(&w, "schema", "beamdump.analyze/1");
	jw_key(&w, "node");
	jw_obj(&w);
	jw_kstr(&w, "name", n->node_name);
	jw_kstr(&w, "otp_release", n->otp_release);
	jw_kstr(&w, "erts_version", n->erts_version);
	jw_kstr(&w, "created", n->created);
	jw_ku64(&w, "processes", np);
	jw_key(&w, "truncated");
	jw_bool(&w, n->truncated);
	jw_obj_end(&w);
	jw_key(&w, "slogan");
	json_slogan(&w, &fs->slogan);
	jw_kstr(&w, "verdict", fs->verdict);
	jw_key(&w, "findings");
	jw_arr(&w);
	for (size_t i = 0; i < fs->n; i++)
		json_finding(&w, &fs->items[i], i + 1);
	jw_arr_end(&w);
	jw_ku64(&w, "heaps_decoded", fs->procs_decoded);
	jw_obj_end(&w);
	jw_end(&w);
}

int cmd_analyze(const opts *o)
{
	const char *fail_on = opt_str(o, "fail-on");
	if (fail_on && strcmp(fail_on, "critical") && strcmp(fail_on, "warning") &&
	    strcmp(fail_on, "info")) {
		fprintf(stderr, "beamdump analyze: --fail-on takes critical, warning or info, got '%s'\n",
			fail_on);
		return EXIT_USAGE;
	}
	bd_model *m;
	int rc = open_input(o, &m);
	if (rc)
		return rc;
	bd_findings *fs;
	bd_error err = {0};
	bd_analyze_opts ao = BD_ANALYZE_OPTS_INIT;
	if (bd_analyze(m, &ao, &fs, &err)) {
		fprintf(stderr, "beamdump: analyze: %s\n", out_txt(err.msg));
		bd_model_free(m);
		return EXIT_UNREADABLE;
	}
	if (o->json)
		print_json(m, fs);
	else if (bd_term_style() == BD_STYLE_ELIXIR)
		print_text_styled(m, fs, o);
	else
		print_text(m, fs, o);
	/* --fail-on SEVERITY: a gate for scripts (exit 1), like ci's rules */
	int gate = fail_on ? (!strcmp(fail_on, "critical") ? BD_SEV_CRITICAL
			      : !strcmp(fail_on, "warning") ? BD_SEV_WARNING : BD_SEV_INFO) : -1;
	int over = 0;
	for (size_t i = 0; gate >= 0 && i < fs->n; i++)
		over |= (int)fs->items[i].severity >= gate;
	bd_findings_free(fs);
	rc = partial_notice(m);
	bd_model_free(m);
	return rc ? rc : over ? EXIT_FINDINGS : EXIT_OK;
}
