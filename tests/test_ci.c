/* beamdump ci: rule settings and config files, and the gate on the real dumps of
 * samples/ci: the leaky suite fails naming each leak (kind, subject, growth), the
 * fixed suite passes. JUnit XML and Markdown are checked by structure, --json
 * against docs/schema/ci.schema.json. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beamdump/diff.h"
#include "jsonlite.h"
#include "testutil.h"

static void test_rules_settings(void **state)
{
	(void)state;
	bd_ci_rules r;
	bd_error err = {0};
	bd_ci_rules_default(&r);
	assert_int_equal(r.process_leak_max, 10);
	assert_int_equal(bd_ci_rules_set(&r, "process_leak.max", "3", &err), 0);
	assert_int_equal(r.process_leak_max, 3);
	assert_int_equal(bd_ci_rules_set(&r, "binary_growth.max", "4MB", &err), 0);
	assert_int_equal(r.binary_growth_max, 4000000);
	assert_int_equal(bd_ci_rules_set(&r, "ets_growth.min", "2 MiB", &err), 0);
	assert_int_equal(r.ets_growth_min, 2097152);
	assert_int_equal(bd_ci_rules_set(&r, "process_memory.pct", "12.5", &err), 0);
	assert_true(r.process_memory_pct == 12.5);
	assert_int_equal(bd_ci_rules_set(&r, "atoms_added.enabled", "false", &err), 0);
	assert_false(r.enabled[BD_CI_ATOMS_ADDED]);
	assert_int_equal(bd_ci_rules_set(&r, "atoms_added.max", "4MB", &err), BD_EUSAGE);
	assert_int_equal(bd_ci_rules_set(&r, "atoms_added.max", "-1", &err), BD_EUSAGE);
	assert_int_equal(bd_ci_rules_set(&r, "nonsense.max", "1", &err), BD_EUSAGE);
	assert_non_null(strstr(err.msg, "nonsense.max"));
	assert_int_equal(bd_ci_rules_set(&r, "port_growth.enabled", "maybe", &err), BD_EUSAGE);

	const char *good = "# leak gate for the api suite\n\nprocess_leak.max = 0\n"
			   "  mailbox_growth.max=1000   # busy logger\nport_growth.enabled = off\n";
	const char *p = tu_write_temp(good, strlen(good));
	bd_ci_rules_default(&r);
	assert_int_equal(bd_ci_rules_load(&r, p, &err), 0);
	assert_int_equal(r.process_leak_max, 0);
	assert_int_equal(r.mailbox_growth_max, 1000);
	assert_false(r.enabled[BD_CI_PORT_GROWTH]);
	unlink(p);
	const char *bad = "process_leak.max = 0\nthis line has no equals sign\n";
	p = tu_write_temp(bad, strlen(bad));
	assert_int_equal(bd_ci_rules_load(&r, p, &err), BD_EUSAGE);
	assert_non_null(strstr(err.msg, ":2:"));
	unlink(p);
	assert_int_equal(bd_ci_rules_load(&r, "/nonexistent/ci.conf", &err), BD_EIO);
	assert_string_equal(bd_ci_rule_name(BD_CI_PROCESS_LEAK), "process_leak");
}

/* ---- samples/ci ---- */

static int have_ci_samples(void)
{
	static const char *names[] = {"leaky_baseline", "leaky_current", "leaky_final",
				      "fixed_baseline", "fixed_current", "fixed_final"};
	for (int i = 0; i < 6; i++) {
		char rel[64];
		snprintf(rel, sizeof rel, "ci/%s", names[i]);
		if (!tu_sample(rel)) {
			if (getenv("BD_REQUIRE_SAMPLES"))
				fail_msg("missing %s/ci/%s.dump (run samples/ci/gen.sh)",
					 getenv("BD_SAMPLES"), names[i]);
			return 0;
		}
	}
	return 1;
}

static char *tmp_path(const char *suffix)
{
	static char paths[8][64];
	static int slot;
	char *p = paths[slot++ % 8];
	snprintf(p, 64, "/tmp/bdci-%d-%d%s", (int)getpid(), slot, suffix);
	return p;
}

static const char *const rule_names[] = {"process_leak", "process_memory", "mailbox_growth",
					 "ets_tables", "ets_growth", "atoms_added",
					 "binary_growth", "port_growth"};

/* The JUnit file: one suite, one testcase per rule, failures carry the evidence.
 * Returns the failure text of each rule (NULL = passed) in fails[] (owned by x). */
static xnode *check_junit(const char *path, int want_failures, const char *fails[8])
{
	char *text = tu_read_file(path, NULL), e[256];
	assert_non_null(text);
	xnode *x = xml_parse(text, e, sizeof e);
	if (!x)
		fail_msg("%s is not well-formed XML: %s", path, e);
	free(text);
	assert_string_equal(x->name, "testsuites");
	assert_int_equal(xml_count(x, "testsuite"), 1);
	const xnode *s = xml_child(x, "testsuite", 0);
	assert_int_equal(atoi(xml_attr(s, "tests")), 8);
	assert_int_equal(atoi(xml_attr(s, "failures")), want_failures);
	assert_int_equal(atoi(xml_attr(x, "failures")), want_failures);
	assert_int_equal(atoi(xml_attr(s, "errors")), 0);
	assert_non_null(xml_attr(s, "timestamp"));
	assert_int_equal(xml_count(s, "testcase"), 8);
	int failures = 0;
	for (size_t i = 0; i < 8; i++) {
		const xnode *tc = xml_child(s, "testcase", i);
		assert_string_equal(xml_attr(tc, "name"), rule_names[i]);
		assert_string_equal(xml_attr(tc, "classname"), "beamdump.ci");
		size_t nf = xml_count(tc, "failure");
		assert_true(nf <= 1);
		fails[i] = NULL;
		if (nf) {
			const xnode *f = xml_child(tc, "failure", 0);
			assert_string_equal(xml_attr(f, "type"), rule_names[i]);
			assert_non_null(xml_attr(f, "message"));
			assert_non_null(f->text);
			fails[i] = f->text;
			failures++;
		}
	}
	assert_int_equal(failures, want_failures);
	return x;
}

/* Markdown: a level-2 heading with the verdict, a 4-column table with one row per
 * rule, and per failed rule a section with a 6-column table of offenders. Every table
 * row has the same number of cells as its header. */
static void check_md(const char *path, const char *verdict, int want_failed)
{
	char *text = tu_read_file(path, NULL);
	assert_non_null(text);
	char head[64];
	snprintf(head, sizeof head, "## beamdump ci: %s\n", verdict);
	assert_true(!strncmp(text, head, strlen(head)));
	int tables = 0, cols = 0, rows = 0, rule_rows = 0, sections = 0, in_table = 0, fail_rows = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "### ", 4)) {
			sections += strstr(line, "`: ") != NULL;
			in_table = 0;
			continue;
		}
		if (line[0] != '|') {
			in_table = 0;
			continue;
		}
		int cells = 0;
		for (char *p = line; *p; p++)
			cells += *p == '|' && (p == line || p[-1] != '\\');
		cells -= 1;
		if (!in_table) { /* header, then the |---| separator */
			tables++;
			cols = cells;
			in_table = 1;
			rows = -1;
			continue;
		}
		assert_int_equal(cells, cols);
		if (++rows == 0) {
			assert_non_null(strstr(line, "---"));
			continue;
		}
		if (tables == 1) { /* the rules table */
			assert_int_equal(cols, 4);
			rule_rows++;
			fail_rows += strstr(line, "**FAIL**") != NULL;
		}
	}
	assert_int_equal(rule_rows, 8);
	assert_int_equal(fail_rows, want_failed);
	assert_int_equal(sections, want_failed);
	free(text);
}

static jv *check_json(const char *path)
{
	char e[512], sp[1024];
	char *text = tu_read_file(path, NULL);
	assert_non_null(text);
	jv *j = jv_parse(text, e, sizeof e);
	if (!j)
		fail_msg("%s: %s", path, e);
	free(text);
	snprintf(sp, sizeof sp, "%s/docs/schema/ci.schema.json", getenv("BD_SOURCE"));
	text = tu_read_file(sp, NULL);
	assert_non_null(text);
	jv *schema = jv_parse(text, e, sizeof e);
	free(text);
	assert_non_null(schema);
	if (jv_validate(schema, j, e, sizeof e))
		fail_msg("ci --json does not match ci.schema.json: %s", e);
	jv_free(schema);
	return j;
}

static const jv *rule(const jv *j, const char *name)
{
	const jv *rules = jv_get(j, "rules");
	for (size_t i = 0; rules && i < rules->n; i++)
		if (!strcmp(jv_get(rules->items[i], "name")->str, name))
			return rules->items[i];
	fail_msg("no rule %s", name);
	return NULL;
}

/* The one violation of a rule with this subject. */
static const jv *violation(const jv *j, const char *name, const char *subject)
{
	const jv *v = jv_get(rule(j, name), "violations");
	for (size_t i = 0; v && i < v->n; i++)
		if (!strcmp(jv_get(v->items[i], "subject")->str, subject))
			return v->items[i];
	fail_msg("rule %s does not name %s", name, subject);
	return NULL;
}

static long vnum(const jv *v, const char *key)
{
	const jv *x = jv_get(v, key);
	assert_non_null(x);
	assert_int_equal(x->kind, JV_NUM);
	return (long)x->num;
}

static void test_gate_leaky(void **state)
{
	(void)state;
	if (!have_ci_samples())
		skip();
	const char *junit = tmp_path(".xml"), *md = tmp_path(".md"), *json = tmp_path(".json");
	char *out = NULL;
	int rc = tu_run(&out, "ci --baseline %s --current %s --final %s --junit %s --md %s --json %s",
			tu_sample("ci/leaky_baseline"), tu_sample("ci/leaky_current"),
			tu_sample("ci/leaky_final"), junit, md, json);
	assert_int_equal(rc, 1);
	/* text on stdout names each leak: kind, subject, growth */
	long iters = atol(tu_truth("ci/leaky_current", "iterations"));
	char want[256];
	assert_non_null(strstr(out, "beamdump ci: FAIL"));
	snprintf(want, sizeof want, "process ci_app:session_init/1: +%ld processes", iters);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof want, "ets test_cache (owner cache_server): +%ld tables", iters);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "process audit_log: +"));
	assert_non_null(strstr(out, "atoms user_<N>: +"));
	assert_non_null(strstr(out, "memory binary: +"));
	/* the pool grew at current and shrank back: reported, not failed */
	assert_non_null(strstr(out, "process ci_app:pool_worker/1 < conn_pool: 0 -> 20 -> 0"));
	free(out);

	const char *fails[8];
	xnode *x = check_junit(junit, 5, fails);
	assert_non_null(strstr(fails[0], "ci_app:session_init/1"));   /* process_leak */
	assert_null(fails[1]);                                         /* process_memory */
	assert_non_null(strstr(fails[2], "audit_log"));                /* mailbox_growth */
	assert_non_null(strstr(fails[3], "test_cache"));               /* ets_tables */
	assert_null(fails[4]);                                         /* ets_growth */
	assert_non_null(strstr(fails[5], "user_<N>"));                 /* atoms_added */
	assert_non_null(strstr(fails[6], "binary"));                   /* binary_growth */
	assert_null(fails[7]);                                         /* port_growth */
	assert_null(strstr(fails[0], "pool_worker"));                  /* transient: not a leak */
	xml_free(x);
	check_md(md, "FAIL", 5);

	jv *j = check_json(json);
	assert_string_equal(jv_get(j, "result")->str, "fail");
	assert_int_equal(vnum(j, "snapshots"), 3);
	const jv *v = violation(j, "process_leak", "ci_app:session_init/1");
	assert_int_equal(vnum(v, "growth"), iters);
	assert_string_equal(jv_get(v, "unit")->str, "processes");
	v = violation(j, "mailbox_growth", "audit_log");
	assert_int_equal(vnum(v, "growth"), atol(tu_truth("ci/leaky_current", "audit_log_msgq")) -
						    atol(tu_truth("ci/leaky_baseline", "audit_log_msgq")));
	assert_int_equal(vnum(v, "final"), atol(tu_truth("ci/leaky_final", "audit_log_msgq")));
	v = violation(j, "ets_tables", "test_cache");
	assert_int_equal(vnum(v, "growth"), iters);
	assert_string_equal(jv_get(v, "owner")->str, "cache_server");
	v = violation(j, "atoms_added", "user_<N>");
	assert_int_equal(vnum(v, "growth"), 50 * iters);
	v = violation(j, "binary_growth", "binary");
	assert_true(vnum(v, "growth") > 1000000);
	assert_int_equal(jv_get(rule(j, "process_leak"), "violations")->n, 1);
	assert_string_equal(jv_get(rule(j, "port_growth"), "status")->str, "pass");
	jv_free(j);
	unlink(junit);
	unlink(md);
	unlink(json);
}

static void test_gate_fixed(void **state)
{
	(void)state;
	if (!have_ci_samples())
		skip();
	const char *junit = tmp_path(".xml"), *md = tmp_path(".md");
	char *out = NULL;
	int rc = tu_run(&out, "ci --baseline %s --current %s --final %s --junit %s --md %s --json",
			tu_sample("ci/fixed_baseline"), tu_sample("ci/fixed_current"),
			tu_sample("ci/fixed_final"), junit, md);
	assert_int_equal(rc, 0);
	/* --json without a file: JSON on stdout */
	char e[256];
	jv *j = jv_parse(out, e, sizeof e);
	if (!j)
		fail_msg("stdout is not JSON: %s", e);
	assert_string_equal(jv_get(j, "result")->str, "pass");
	assert_int_equal(vnum(j, "failed_rules"), 0);
	const jv *tr = jv_get(j, "transients");
	assert_true(tr && tr->n >= 1);
	assert_string_equal(jv_get(tr->items[0], "subject")->str, "ci_app:pool_worker/1 < conn_pool");
	jv_free(j);
	free(out);
	const char *fails[8];
	xnode *x = check_junit(junit, 0, fails);
	xml_free(x);
	check_md(md, "PASS", 0);
	unlink(junit);
	unlink(md);

	/* Two snapshots cannot tell the pool's idle workers from a leak: that is what the
	 * final snapshot is for. */
	rc = tu_run(&out, "ci --baseline %s --current %s", tu_sample("ci/fixed_baseline"),
		    tu_sample("ci/fixed_current"));
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "process ci_app:pool_worker/1 < conn_pool: +20 processes"));
	free(out);
	/* ... or a threshold that allows them */
	rc = tu_run(&out, "ci --baseline %s --current %s --set process_leak.max=20 --format md",
		    tu_sample("ci/fixed_baseline"), tu_sample("ci/fixed_current"));
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "## beamdump ci: PASS"));
	free(out);
}

static void test_gate_config_and_usage(void **state)
{
	(void)state;
	if (!have_ci_samples())
		skip();
	const char *base = tu_sample("ci/leaky_baseline"), *cur = tu_sample("ci/leaky_current");
	/* a config that tolerates every leak of the suite passes it */
	const char *conf = "process_leak.max = 1000\nmailbox_growth.max = 100000\n"
			   "ets_tables.enabled = false\natoms_added.max = 1000000\n"
			   "binary_growth.max = 1GB\n";
	const char *cp = tu_write_temp(conf, strlen(conf));
	char *out = NULL;
	assert_int_equal(tu_run(&out, "ci --config %s --baseline %s --current %s", cp, base, cur), 0);
	assert_non_null(strstr(out, "PASS"));
	free(out);
	/* --set overrides the file wherever it stands */
	assert_int_equal(tu_run(&out, "ci --set process_leak.max=5 --config %s --baseline %s "
				      "--current %s --format junit",
				cp, base, cur),
			 1);
	char e[256];
	xnode *x = xml_parse(out, e, sizeof e);
	if (!x)
		fail_msg("junit on stdout: %s", e);
	const xnode *s = xml_child(x, "testsuite", 0);
	assert_int_equal(atoi(xml_attr(s, "failures")), 1);
	assert_int_equal(atoi(xml_attr(s, "skipped")), 1);
	assert_int_equal(xml_count(xml_child(s, "testcase", 3), "skipped"), 1);
	xml_free(x);
	free(out);
	unlink(cp);
	/* usage and unreadable input */
	assert_int_equal(tu_run(NULL, "ci --baseline %s 2>/dev/null", base), 2);
	assert_int_equal(tu_run(NULL, "ci --baseline %s --current %s --set bogus=1 2>/dev/null", base, cur), 2);
	assert_int_equal(tu_run(NULL, "ci --baseline %s --current %s --format xml 2>/dev/null", base, cur), 2);
	assert_int_equal(tu_run(NULL, "ci --baseline %s --current %s --md --json 2>/dev/null", base, cur), 2);
	assert_int_equal(tu_run(NULL, "ci --baseline %s --current /nonexistent 2>/dev/null", base), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_settings),
		cmocka_unit_test(test_gate_leaky),
		cmocka_unit_test(test_gate_fixed),
		cmocka_unit_test(test_gate_config_and_usage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
