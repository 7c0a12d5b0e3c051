/* beamdump ci --baseline A --current B [--final C]: the leak gate. Rules and
 * thresholds from defaults, a config file and --set flags (docs/ci.md); the result
 * as text, Markdown, JUnit XML and JSON, to stdout or files, several at once. Exit 1
 * when a rule fails. An input that cannot be read (3) or is cut (4) fails the gate
 * too, and every report says which input and why: a gate that passes on half a dump
 * would pass leaks. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diff_out.h"

enum { F_TEXT, F_MD, F_JUNIT, F_JSON, F__COUNT };
enum { PROBLEM_UNREADABLE = 1, PROBLEM_CUT };
static const char *const format_names[] = {"text", "md", "junit", "json"};

typedef struct ci_args {
	const char *path[3]; /* baseline, current, final */
	const char *out[F__COUNT]; /* file per format; "-" = stdout */
	long rows;
	/* What is wrong with each input: "" when nothing. */
	char problem[3][768];
	int bad[3];     /* PROBLEM_UNREADABLE or PROBLEM_CUT, else 0 */
	int unreadable; /* an input could not be read: the rules were not run */
	int cut;        /* an input is cut or lost sections: the gate fails */
} ci_args;

static const char *const point_names[] = {"baseline", "current", "final"};

static const cli_opt ci_opts[] = {
	{"baseline", 0, CLI_VALUE, "A", "the dump or snapshot before the run (required)"},
	{"current", 0, CLI_VALUE, "B", "the one after the run (required)"},
	{"final", 0, CLI_VALUE, "C", "one after a pause: growth gone by then is not a leak"},
	{"config", 0, CLI_VALUE, "FILE", "rules and thresholds (docs/ci.md)"},
	{"set", 0, CLI_VALUE, "KEY=VALUE", "one rule setting, after --config (repeatable)"},
	CLI_OPT_ROWS("violations listed per rule (default 20)"),
	{"format", 0, CLI_VALUE, "FMT", "text, md, junit or json on stdout (default text)"},
	{"md", 0, CLI_OPTIONAL, "FILE", "Markdown, to FILE or stdout"},
	{"junit", 0, CLI_OPTIONAL, "FILE", "JUnit XML, to FILE or stdout"},
	{"json", 0, CLI_OPTIONAL, "FILE", "JSON, to FILE or stdout"},
	CLI_END};

const cli_cmd ci_cmd = {
	"ci", cmd_ci, "--baseline A --current B [--final C]", 0, 0, ci_opts,
	"The leak gate: fails when processes, ETS, atoms, ports or memory leak.",
	"Several formats can be written at once (one to stdout, the others to files).\n",
	"0 pass, 1 a rule failed, 2 usage, 3 an input cannot be read (or a report\n"
	"            cannot be written), 4 an input is cut; 3 and 4 fail the gate and every\n"
	"            report says which input and why"};

static int usage_err(const char *msg, const char *arg)
{
	fprintf(stderr, "beamdump ci: %s%s%s\n", msg, arg ? " " : "", arg ? arg : "");
	fprintf(stderr, "usage: beamdump %s\n", cli_synopsis(&ci_cmd));
	return EXIT_USAGE;
}

static int set_kv(bd_ci_rules *r, const char *kv)
{
	char key[128];
	const char *eq = strchr(kv, '=');
	if (!eq || (size_t)(eq - kv) >= sizeof key)
		return usage_err("--set takes KEY=VALUE, got", kv);
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = 0;
	bd_error err = {0};
	if (bd_ci_rules_set(r, key, eq + 1, &err))
		return usage_err(err.msg, NULL);
	return 0;
}

static int format_index(const char *name)
{
	for (int k = 0; k < F__COUNT; k++)
		if (!strcmp(name, format_names[k]))
			return k;
	return -1;
}

/* Options in order; --config first wherever it is, so --set overrides it. */
static int parse(const opts *o, ci_args *a, bd_ci_rules *rules)
{
	bd_ci_rules_default(rules);
	a->rows = o->n;
	const char *config = opt_str(o, "config");
	if (config) {
		bd_error err = {0};
		if (bd_ci_rules_load(rules, config, &err))
			return usage_err(err.msg, NULL);
	}
	int stdout_set = 0;
	for (size_t i = 0; i < o->ngiven; i++) {
		const char *n = o->given[i].opt->name, *v = o->given[i].val;
		int pt = !strcmp(n, "baseline") ? 0 : !strcmp(n, "current") ? 1
						    : !strcmp(n, "final") ? 2 : -1;
		int fmt = !strcmp(n, "md") || !strcmp(n, "junit") || !strcmp(n, "json")
				  ? format_index(n) : -1;
		if (pt >= 0) {
			a->path[pt] = v;
		} else if (fmt >= 0) {
			a->out[fmt] = v ? v : "-";
			stdout_set |= !strcmp(a->out[fmt], "-");
		} else if (!strcmp(n, "format")) {
			int f = format_index(v);
			if (f < 0)
				return usage_err("--format takes text, md, junit or json, got", v);
			a->out[f] = "-";
			stdout_set = 1;
		} else if (!strcmp(n, "set") && set_kv(rules, v)) {
			return EXIT_USAGE;
		}
	}
	if (!a->path[0] || !a->path[1])
		return usage_err("--baseline and --current are required", NULL);
	int nstdout = 0;
	for (int f = 0; f < F__COUNT; f++)
		nstdout += a->out[f] && !strcmp(a->out[f], "-");
	if (nstdout > 1)
		return usage_err("only one format can go to stdout; give the others a FILE", NULL);
	if (!stdout_set)
		a->out[F_TEXT] = "-";
	if (a->out[F_TEXT] && !strcmp(a->out[F_TEXT], "-"))
		out_fit_lines(OUT_FIT_WRAP); /* text for a person (md, junit, json: as they are) */
	if (rules->max_violations == 0)
		rules->max_violations = 20;
	if (a->rows >= 0)
		rules->max_violations = (uint32_t)a->rows;
	return 0;
}

/* ---- shared wording ---- */

static const char *num(uint64_t v, char *buf, size_t cap)
{
	return fmt_count(v, buf, cap);
}

/* "+40 processes (baseline 1, current 41, final 41)" */
static const char *growth_text(const bd_ci_violation *v, char *buf, size_t cap)
{
	char g[40], b[40], c[40], f[40];
	int bytes = !strcmp(v->unit, "bytes");
	if (bytes) {
		fmt_bytes(v->growth, g, sizeof g);
		fmt_bytes(v->baseline, b, sizeof b);
		fmt_bytes(v->current, c, sizeof c);
		fmt_bytes(v->final, f, sizeof f);
	} else {
		num(v->growth, g, sizeof g);
		num(v->baseline, b, sizeof b);
		num(v->current, c, sizeof c);
		num(v->final, f, sizeof f);
	}
	int n = snprintf(buf, cap, "+%s%s%s (baseline %s, current %s", g, bytes ? "" : " ",
			 bytes ? "" : v->unit, b, c);
	if (n > 0 && (size_t)n < cap && v->final != BD_UNKNOWN)
		n += snprintf(buf + n, cap - (size_t)n, ", final %s", f);
	if (n > 0 && (size_t)n < cap)
		snprintf(buf + n, cap - (size_t)n, ")");
	return buf;
}

/* One line of evidence: "process ci_app:session_init/1: +40 processes (...), e.g. <0.9.0> in m:f/1" */
static void evidence_line(const bd_ci_violation *v, char *buf, size_t cap)
{
	char g[256], pid[48];
	int n = snprintf(buf, cap, "%s %s", v->subject_type, v->subject);
	if (v->owner && n > 0 && (size_t)n < cap)
		n += snprintf(buf + n, cap - (size_t)n, " (owner %s)", v->owner);
	if (n > 0 && (size_t)n < cap)
		n += snprintf(buf + n, cap - (size_t)n, ": %s", growth_text(v, g, sizeof g));
	if (bd_pid_valid(v->example) && n > 0 && (size_t)n < cap)
		n += snprintf(buf + n, cap - (size_t)n, ", e.g. %s",
			      bd_pid_fmt(v->example, pid, sizeof pid));
	if (v->detail && n > 0 && (size_t)n < cap)
		snprintf(buf + n, cap - (size_t)n, "%s%s",
			 bd_pid_valid(v->example) && !strcmp(v->subject_type, "process") ? " in " : "; ",
			 v->detail);
}

static const char *status(const bd_ci_result_rule *r)
{
	return !r->enabled ? "disabled" : r->failed ? "fail" : "pass";
}

/* ---- the verdict, the same words in every format ---- */

static const char *verdict(const bd_ci_result *res, const ci_args *a)
{
	if (a->unreadable || a->cut)
		return "ERROR";
	return res->failed ? "FAIL" : "PASS";
}

/* "current cannot be read: the rules were not run" / "current is cut: ..." */
static void why_error(const ci_args *a, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = 0;
	for (int i = 0; i < 3 && n < cap; i++)
		if (a->problem[i][0])
			n += (size_t)snprintf(buf + n, cap - n, "%s%s %s", n ? ", " : "", point_names[i],
					      a->bad[i] == PROBLEM_CUT ? "is cut" : "cannot be read");
	if (n && n < cap) /* nothing when every input is whole */
		snprintf(buf + n, cap - n, "%s", a->unreadable ? ": the rules were not run"
								: ": the gate fails whatever the rules say");
}

/* ---- text ---- */

/* The offenders of a rule, a line each (malloc'd; NULL when none or out of memory). */
static char *rule_offenders(const bd_ci_result_rule *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	if (!m)
		return NULL;
	for (size_t k = 0; k < r->nviolations; k++) {
		char line[1024];
		evidence_line(&r->violations[k], line, sizeof line);
		fprintf(m, "%s%s", k ? "\n" : "", out_txt(line));
	}
	if (r->total_violations > r->nviolations)
		fprintf(m, "%s... and %llu more", r->nviolations ? "\n" : "",
			(unsigned long long)(r->total_violations - r->nviolations));
	fclose(m);
	return text;
}

/* A line a rule (status, rule, threshold, summary), its offenders under it. On a
 * terminal the threshold and the summary are cut to fit; the offenders wrap. */
static void rule_table(FILE *f, const bd_ci_result *res)
{
	static const tcol cols[] = {{NULL, 0, 0, 0, 0, 8, 0},   {NULL, 0, 0, 0, 1, 15, 0},
				    {NULL, 0, 16, 0, 1, 44, 0}, {NULL, 0, 16, 0, 1, 0, 0},
				    {NULL, 0, 0, 0, 11, 0, 1}};
	enum { NC = 5 };
	const char *cells[BD_CI__COUNT * NC];
	char *below[BD_CI__COUNT];
	for (int i = 0; i < BD_CI__COUNT; i++) {
		const bd_ci_result_rule *r = &res->rules[i];
		const char **c = cells + i * NC;
		c[0] = r->failed ? "FAIL" : r->enabled ? "ok" : "off";
		c[1] = bd_ci_rule_name(r->id);
		c[2] = r->threshold;
		c[3] = r->summary;
		c[4] = below[i] = rule_offenders(r);
	}
	table_fprint(f, cols, NC, cells, BD_CI__COUNT);
	for (int i = 0; i < BD_CI__COUNT; i++)
		free(below[i]);
}

static void out_text(FILE *f, const bd_ci_result *res, const ci_args *a)
{
	char why[1024];
	why_error(a, why, sizeof why);
	if (res)
		fprintf(f, "beamdump ci: %s (%s%s%d of %d rules failed; %d snapshots)\n",
			verdict(res, a), why, *why ? "; " : "", res->failed, BD_CI__COUNT,
			res->snapshots);
	else
		fprintf(f, "beamdump ci: ERROR (%s)\n", why);
	for (int i = 0; i < 3; i++)
		if (a->path[i])
			fprintf(f, "  %-8s %s\n", point_names[i], a->path[i]);
	fprintf(f, "\n");
	for (int i = 0; i < 3; i++) {
		const char *line = a->problem[i];
		if (!*line)
			continue;
		fprintf(f, "ERROR    input %s: ", point_names[i]);
		for (; *line; line++)
			if (*line == '\n')
				fputs("; ", f);
			else
				fputc(*line, f);
		fprintf(f, "\n");
	}
	if (!res)
		return;
	rule_table(f, res);
	if (res->ntransients) {
		fprintf(f, "\nGrew at current but gone at final (not leaks, not failed):\n");
		for (size_t i = 0; i < res->ntransients; i++) {
			const bd_ci_transient *t = &res->transients[i];
			char b[40], c[40], d[40];
			fprintf(f, "  %s %s: %s -> %s -> %s %s\n", t->subject_type, out_txt(t->subject),
				num(t->baseline, b, sizeof b), num(t->current, c, sizeof c),
				num(t->final, d, sizeof d), t->unit);
		}
	}
}

/* ---- Markdown ---- */

static void md_text(FILE *f, const char *raw)
{
	char clean[2048];
	const char *s = clean;
	if (!raw)
		return;
	out_clean(clean, sizeof clean, raw, strlen(raw)); /* no control characters */
	for (; *s; s++) {
		if (strchr("|*_`<>[]\\", *s))
			fputc('\\', f);
		fputc(*s == '\n' ? ' ' : *s, f);
	}
}

static void out_md(FILE *f, const bd_ci_result *res, const ci_args *a)
{
	fprintf(f, "## beamdump ci: %s\n\n", verdict(res, a));
	for (int i = 0; i < 3; i++)
		if (a->problem[i][0]) {
			fprintf(f, "**Input %s ", point_names[i]);
			md_text(f, a->bad[i] == PROBLEM_CUT ? "is cut" : "cannot be read");
			fprintf(f, "**: ");
			md_text(f, a->problem[i]);
			fprintf(f, "\n\n");
		}
	if (a->unreadable)
		fprintf(f, "The rules were not run. Inputs");
	else if (a->cut)
		fprintf(f, "The gate fails whatever the rules say. ");
	if (res)
		fprintf(f, "%d of %d rules failed, %d snapshots", res->failed, BD_CI__COUNT,
			res->snapshots);
	for (int i = 0; i < 3; i++)
		if (a->path[i]) {
			fprintf(f, "%s %s `", i ? "," : ":", point_names[i]);
			for (const char *p = a->path[i]; *p; p++)
				fputc(*p == '`' ? '\'' : *p, f);
			fputc('`', f);
		}
	fprintf(f, ".\n");
	if (!res)
		return;
	fprintf(f, "\n| status | rule | threshold | result |\n|---|---|---|---|\n");
	for (int i = 0; i < BD_CI__COUNT; i++) {
		const bd_ci_result_rule *r = &res->rules[i];
		fprintf(f, "| %s | `%s` | ", r->failed ? "**FAIL**" : r->enabled ? "pass" : "disabled",
			bd_ci_rule_name(r->id));
		md_text(f, r->threshold);
		fprintf(f, " | ");
		md_text(f, r->summary);
		fprintf(f, " |\n");
	}
	for (int i = 0; i < BD_CI__COUNT; i++) {
		const bd_ci_result_rule *r = &res->rules[i];
		if (!r->failed)
			continue;
		fprintf(f, "\n### `%s`: ", bd_ci_rule_name(r->id));
		md_text(f, bd_ci_rule_description(r->id));
		fprintf(f, "\n\n| subject | growth | baseline | current | final | evidence |\n"
			   "|---|---|---|---|---|---|\n");
		for (size_t k = 0; k < r->nviolations; k++) {
			const bd_ci_violation *v = &r->violations[k];
			char g[40], b[40], c[40], d[40], pid[48];
			int bytes = !strcmp(v->unit, "bytes");
			const char *(*fm)(uint64_t, char *, size_t) = bytes ? fmt_bytes : fmt_count;
			fprintf(f, "| %s `", v->subject_type);
			for (const char *p = out_txt(v->subject); *p; p++)
				fputc(*p == '`' || *p == '|' ? '\'' : *p, f);
			fprintf(f, "`");
			if (v->owner) {
				fprintf(f, " owner ");
				md_text(f, v->owner);
			}
			fprintf(f, " | +%s%s%s | %s | %s | %s | ", fm(v->growth, g, sizeof g),
				bytes ? "" : " ", bytes ? "" : v->unit, fm(v->baseline, b, sizeof b),
				fm(v->current, c, sizeof c),
				v->final == BD_UNKNOWN ? "-" : fm(v->final, d, sizeof d));
			if (bd_pid_valid(v->example))
				fprintf(f, "e.g. `%s`%s", bd_pid_fmt(v->example, pid, sizeof pid),
					v->detail ? " in " : "");
			md_text(f, v->detail);
			fprintf(f, " |\n");
		}
		if (r->total_violations > r->nviolations)
			fprintf(f, "\n... and %llu more.\n",
				(unsigned long long)(r->total_violations - r->nviolations));
	}
	if (res->ntransients) {
		fprintf(f, "\n### Grew at current, gone at final (not failed)\n\n"
			   "| subject | baseline | current | final |\n|---|---|---|---|\n");
		for (size_t i = 0; i < res->ntransients; i++) {
			const bd_ci_transient *t = &res->transients[i];
			char b[40], c[40], d[40];
			fprintf(f, "| %s `%s` | %s | %s | %s %s |\n", t->subject_type, out_txt(t->subject),
				num(t->baseline, b, sizeof b), num(t->current, c, sizeof c),
				num(t->final, d, sizeof d), t->unit);
		}
	}
}

/* ---- JUnit XML ---- */

static void xml_text(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			/* XML 1.0 allows no control characters but tab and newlines */
			fputc(*p < 0x20 && *p != '\t' && *p != '\n' ? '?' : *p, f);
		}
	}
}

/* The inputs as one more testcase, with an <error> when one is unreadable or cut. */
static void junit_inputs(FILE *f, const ci_args *a)
{
	fprintf(f, "    <testcase classname=\"beamdump.ci\" name=\"inputs\">\n");
	for (int i = 0; i < 3; i++) {
		if (!a->problem[i][0])
			continue;
		fprintf(f, "      <error type=\"%s\" message=\"%s ",
			a->bad[i] == PROBLEM_CUT ? "cut_input" : "unreadable_input", point_names[i]);
		xml_text(f, a->bad[i] == PROBLEM_CUT ? "is cut: " : "cannot be read: ");
		xml_text(f, a->problem[i]);
		fprintf(f, "\">");
		xml_text(f, a->problem[i]);
		fprintf(f, "\n%s</error>\n", a->unreadable ? "The rules were not run."
							    : "The gate fails whatever the rules say.");
	}
	fprintf(f, "    </testcase>\n");
}

static void out_junit(FILE *f, const bd_ci_result *res, const ci_args *a)
{
	int disabled = 0, errors = 0;
	for (int i = 0; i < 3; i++)
		errors += a->problem[i][0] != 0;
	for (int i = 0; res && i < BD_CI__COUNT; i++)
		disabled += !res->rules[i].enabled;
	if (!res)
		disabled = BD_CI__COUNT;
	int tests = BD_CI__COUNT + (errors > 0), failed = res ? res->failed : 0;
	char ts[32];
	time_t now = time(NULL);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", gmtime(&now));
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites name=\"beamdump ci\" tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\">\n",
		tests, failed, errors, disabled);
	fprintf(f, "  <testsuite name=\"beamdump.ci\" tests=\"%d\" failures=\"%d\" errors=\"%d\" "
		   "skipped=\"%d\" timestamp=\"%s\">\n",
		tests, failed, errors, disabled, ts);
	fprintf(f, "    <properties>\n");
	for (int i = 0; i < 3; i++)
		if (a->path[i]) {
			fprintf(f, "      <property name=\"%s\" value=\"", point_names[i]);
			xml_text(f, a->path[i]);
			fprintf(f, "\"/>\n");
		}
	fprintf(f, "      <property name=\"snapshots\" value=\"%d\"/>\n    </properties>\n",
		a->path[2] ? 3 : 2);
	if (errors)
		junit_inputs(f, a);
	for (int i = 0; !res && i < BD_CI__COUNT; i++)
		fprintf(f, "    <testcase classname=\"beamdump.ci\" name=\"%s\"><skipped message=\"not run: "
			   "an input cannot be used\"/></testcase>\n",
			bd_ci_rule_name((bd_ci_rule_id)i));
	for (int i = 0; res && i < BD_CI__COUNT; i++) {
		const bd_ci_result_rule *r = &res->rules[i];
		fprintf(f, "    <testcase classname=\"beamdump.ci\" name=\"%s\">", bd_ci_rule_name(r->id));
		if (!r->enabled) {
			fprintf(f, "<skipped message=\"disabled by configuration\"/>");
		} else if (r->failed) {
			fprintf(f, "\n      <failure type=\"%s\" message=\"", bd_ci_rule_name(r->id));
			xml_text(f, r->summary);
			fprintf(f, " (threshold ");
			xml_text(f, r->threshold);
			fprintf(f, ")\">");
			for (size_t k = 0; k < r->nviolations; k++) {
				char line[1024];
				evidence_line(&r->violations[k], line, sizeof line);
				xml_text(f, line);
				fputc('\n', f);
			}
			if (r->total_violations > r->nviolations)
				fprintf(f, "... and %llu more\n",
					(unsigned long long)(r->total_violations - r->nviolations));
			fprintf(f, "</failure>\n    ");
		}
		fprintf(f, "</testcase>\n");
	}
	if (res && res->ntransients) {
		fprintf(f, "    <system-out>");
		for (size_t i = 0; i < res->ntransients; i++) {
			const bd_ci_transient *t = &res->transients[i];
			fprintf(f, "transient %s ", t->subject_type);
			xml_text(f, t->subject);
			fprintf(f, ": %llu -> %llu -> %llu %s\n", (unsigned long long)t->baseline,
				(unsigned long long)t->current, (unsigned long long)t->final, t->unit);
		}
		fprintf(f, "</system-out>\n");
	}
	fprintf(f, "  </testsuite>\n</testsuites>\n");
}

/* ---- JSON ---- */

static void json_input(jw *w, const char *k, const char *path, const bd_model *m,
		       const char *problem)
{
	jw_key(w, k);
	if (!m && !path) {
		jw_null(w);
		return;
	}
	if (!m) {
		jw_obj(w);
		jw_kstr(w, "path", path);
		jw_kstr(w, "error", problem);
		jw_obj_end(w);
		return;
	}
	const bd_node_info *n = bd_model_node(m);
	jw_obj(w);
	jw_kstr(w, "path", path);
	jw_kstr(w, "error", *problem ? problem : NULL);
	json_input_facts(w, n);
	jw_obj_end(w);
}

static void out_json(FILE *f, const bd_ci_result *res, const ci_args *a, bd_model *const m[3])
{
	jw w;
	jw_init(&w, f);
	jw_obj(&w);
	jw_kstr(&w, "schema", "beamdump.ci/1");
	jw_kstr(&w, "result", a->unreadable || a->cut ? "error" : res->failed ? "fail" : "pass");
	jw_key(&w, "snapshots");
	jw_i64(&w, a->path[2] ? 3 : 2);
	jw_key(&w, "failed_rules");
	jw_i64(&w, res ? res->failed : 0);
	jw_key(&w, "errors");
	jw_arr(&w);
	for (int i = 0; i < 3; i++)
		if (a->problem[i][0]) {
			jw_obj(&w);
			jw_kstr(&w, "input", point_names[i]);
			jw_kstr(&w, "path", a->path[i]);
			jw_kstr(&w, "kind", a->bad[i] == PROBLEM_CUT ? "cut" : "unreadable");
			jw_kstr(&w, "reason", a->problem[i]);
			jw_obj_end(&w);
		}
	jw_arr_end(&w);
	jw_key(&w, "inputs");
	jw_obj(&w);
	for (int i = 0; i < 3; i++)
		json_input(&w, point_names[i], a->path[i], m[i], a->problem[i]);
	jw_obj_end(&w);
	if (!res) {
		jw_key(&w, "rules");
		jw_arr(&w);
		jw_arr_end(&w);
		jw_key(&w, "transients");
		jw_arr(&w);
		jw_arr_end(&w);
		jw_key(&w, "diff");
		jw_null(&w);
		jw_obj_end(&w);
		jw_end(&w);
		return;
	}
	jw_key(&w, "rules");
	jw_arr(&w);
	for (int i = 0; i < BD_CI__COUNT; i++) {
		const bd_ci_result_rule *r = &res->rules[i];
		jw_obj(&w);
		jw_kstr(&w, "name", bd_ci_rule_name(r->id));
		jw_kstr(&w, "description", bd_ci_rule_description(r->id));
		jw_kstr(&w, "status", status(r));
		jw_kstr(&w, "threshold", r->threshold);
		jw_kstr(&w, "summary", r->summary);
		jw_ku64(&w, "total_violations", r->total_violations);
		jw_key(&w, "violations");
		jw_arr(&w);
		for (size_t k = 0; k < r->nviolations; k++) {
			const bd_ci_violation *v = &r->violations[k];
			jw_obj(&w);
			jw_kstr(&w, "subject_type", v->subject_type);
			jw_kstr(&w, "subject", v->subject);
			jw_kstr(&w, "owner", v->owner);
			jw_kstr(&w, "unit", v->unit);
			jw_ku64(&w, "baseline", v->baseline);
			jw_ku64(&w, "current", v->current);
			jw_ku64(&w, "final", v->final);
			jw_ku64(&w, "growth", v->growth);
			jw_key(&w, "growth_pct");
			jw_dbl(&w, v->growth_pct);
			jw_kpid(&w, "example", v->example);
			jw_kstr(&w, "detail", v->detail);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_key(&w, "transients");
	jw_arr(&w);
	for (size_t i = 0; i < res->ntransients; i++) {
		const bd_ci_transient *t = &res->transients[i];
		jw_obj(&w);
		jw_kstr(&w, "subject_type", t->subject_type);
		jw_kstr(&w, "subject", t->subject);
		jw_kstr(&w, "unit", t->unit);
		jw_ku64(&w, "baseline", t->baseline);
		jw_ku64(&w, "current", t->current);
		jw_ku64(&w, "final", t->final);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_key(&w, "diff");
	diff_json(&w, res->current, a->rows >= 0 ? (size_t)a->rows : 50);
	jw_obj_end(&w);
	jw_end(&w);
}

static int write_out(int fmt, const char *path, const bd_ci_result *res, const ci_args *a,
		     bd_model *const m[3])
{
	FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
	if (!f) {
		fprintf(stderr, "beamdump ci: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	switch (fmt) {
	case F_TEXT: out_text(f, res, a); break;
	case F_MD: out_md(f, res, a); break;
	case F_JUNIT: out_junit(f, res, a); break;
	case F_JSON: out_json(f, res, a, m); break;
	}
	int bad = ferror(f);
	if (f != stdout)
		bad |= fclose(f) != 0;
	else
		bad |= fflush(f) != 0;
	if (bad)
		fprintf(stderr, "beamdump ci: cannot write %s: %s\n", f == stdout ? "the output" : path,
			strerror(errno));
	return bad ? -1 : 0;
}

/* Open the inputs; what is wrong with each goes into a->problem. */
static void open_inputs(ci_args *a, bd_model *m[3])
{
	bd_error errs[3];
	if (open_models_each(m, a->path, 3, errs))
		a->unreadable = 1;
	for (int i = 0; i < 3; i++) {
		if (errs[i].code) {
			snprintf(a->problem[i], sizeof a->problem[i], "%s", errs[i].msg);
			a->bad[i] = PROBLEM_UNREADABLE;
			fprintf(stderr, "beamdump ci: %s: %s\n", point_names[i], errs[i].msg);
		} else if (m[i] && partial_reason(m[i], a->problem[i], sizeof a->problem[i])) {
			a->cut = 1;
			a->bad[i] = PROBLEM_CUT;
			partial_notice(m[i]);
		}
	}
}

int cmd_ci(const opts *o)
{
	ci_args a = {0};
	bd_ci_rules rules;
	int rc = parse(o, &a, &rules);
	if (rc)
		return rc;
	bd_model *m[3] = {0};
	open_inputs(&a, m);
	bd_ci_result *res = NULL;
	if (!a.unreadable) {
		bd_error err = {0};
		if (bd_ci_run(m[0], m[1], m[2], &rules, NULL, &res, &err)) {
			fprintf(stderr, "beamdump ci: %s\n", err.msg);
			snprintf(a.problem[1], sizeof a.problem[1], "%s", err.msg);
			a.bad[1] = PROBLEM_UNREADABLE;
			a.unreadable = 1;
		}
	}
	/* The reports are written whatever happened: CI shows them where people look. */
	int wrote = 0;
	for (int f = 0; f < F__COUNT; f++)
		if (a.out[f] && write_out(f, a.out[f], res, &a, m))
			wrote = -1;
	rc = a.unreadable || wrote ? EXIT_UNREADABLE : a.cut ? EXIT_PARTIAL
				     : res->failed ? EXIT_FINDINGS : EXIT_OK;
	bd_ci_result_free(res);
	for (int i = 0; i < 3; i++)
		bd_model_free(m[i]);
	return rc;
}
