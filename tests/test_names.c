/* The name a process is known by, and figures that can exist: on the real dumps of
 * samples/ (checked against what each live node recorded) and on small hand-made
 * dumps for the edge cases.
 *  - top, analyze and diff name proc_lib processes by their label, process_name or
 *    via name, not "proc_lib:init_p/5";
 *  - no binary figure exceeds erlang:memory(binary), no share exceeds 100 %;
 *  - binary_pinning counts what all slices leave unused, not slices x size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beamdump/analyze.h"
#include "beamdump/diff.h"
#include "jsonlite.h"
#include "testutil.h"

static jv *run_json(const char *fmt, const char *arg1, const char *arg2)
{
	char *out, err[256];
	char cmd[2048];
	snprintf(cmd, sizeof cmd, fmt, arg1, arg2);
	int rc = tu_run(&out, "%s", cmd);
	assert_true(rc == 0 || rc == 4);
	jv *v = jv_parse(out, err, sizeof err);
	if (!v)
		fail_msg("%s: bad JSON: %s", cmd, err);
	free(out);
	return v;
}

static const char *jstr(const jv *o, const char *key)
{
	const jv *v = jv_get(o, key);
	return v && v->kind == JV_STR ? v->str : NULL;
}

static double jnum(const jv *o, const char *key)
{
	const jv *v = jv_get(o, key);
	if (!v || v->kind != JV_NUM)
		fail_msg("no number %s", key);
	return v->num;
}

/* The top --json row of pid, or NULL. */
static const jv *top_row(const jv *top, const char *pid)
{
	const jv *rows = jv_get(top, "top");
	for (size_t i = 0; rows && i < rows->n; i++)
		if (jstr(rows->items[i], "pid") && !strcmp(jstr(rows->items[i], "pid"), pid))
			return rows->items[i];
	return NULL;
}

static void expect_name(const jv *top, const char *pid, const char *name, const char *source)
{
	const jv *row = top_row(top, pid);
	if (!row)
		fail_msg("%s not in top", pid);
	if (strcmp(jstr(row, "display_name"), name) != 0 ||
	    strcmp(jstr(row, "display_name_source"), source) != 0)
		fail_msg("%s: display_name %s (%s), expected %s (%s)", pid, jstr(row, "display_name"),
			 jstr(row, "display_name_source"), name, source);
}

/* top: every kind of name of the backlog node, as the live node wrote them down. */
static void test_top_names(void **state)
{
	(void)state;
	const char *d = tu_sample_or_skip("backlog");
	jv *top = run_json("top --json -n 100 %s%s 2>/dev/null", d, "");
	const char *n = "backlog";
	expect_name(top, tu_truth(n, "culprit_pid"), tu_truth(n, "culprit_label"), "process_name");
	expect_name(top, tu_truth(n, "drained_pid"), tu_truth(n, "drained_label"), "process_name");
	expect_name(top, tu_truth(n, "consumer_pid"), tu_truth(n, "consumer_label"), "via");
	expect_name(top, tu_truth(n, "statem_pid"), tu_truth(n, "statem_label"), "via");
	expect_name(top, tu_truth(n, "labelled_pid"), tu_truth(n, "labelled_label"), "label");
	expect_name(top, "<0.44.0>", "application_controller", "registered");
	/* the idle queue hibernated: its function, not "unknown function" */
	const jv *q = top_row(top, tu_truth(n, "drained_pid"));
	assert_string_equal(jstr(q, "current_function"), tu_truth(n, "drained_function"));
	jv_free(top);
	/* the text shows the whole label: the queue's name is readable */
	char *out;
	assert_int_equal(tu_run(&out, "top -n 5 --by binary %s", d), 0);
	if (!strstr(out, tu_truth(n, "culprit_label")))
		fail_msg("top text lacks the queue's name:\n%s", out);
	free(out);
}

/* analyze: the backlog queue is the first finding, named by its process_name. */
static void test_analyze_label(void **state)
{
	(void)state;
	const char *d = tu_sample_or_skip("backlog");
	jv *a = run_json("analyze --json %s%s 2>/dev/null", d, "");
	const jv *first = jv_get(a, "findings")->items[0];
	const jv *subj = jv_get(first, "subject");
	assert_string_equal(jstr(subj, "pid"), tu_truth("backlog", "culprit_pid"));
	assert_string_equal(jstr(subj, "label"), tu_truth("backlog", "culprit_label"));
	assert_non_null(strstr(jstr(first, "title"), tu_truth("backlog", "culprit_label")));
	jv_free(a);
}

/* diff: the two queues share an initial call but are two groups, keyed by name. */
static void test_diff_labels(void **state)
{
	(void)state;
	const char *d = tu_sample_or_skip("backlog");
	bd_model *m = NULL;
	bd_error err = {0};
	assert_int_equal(bd_model_open(&m, d, &err), 0);
	bd_diff *df = NULL;
	assert_int_equal(bd_diff_run(m, m, NULL, &df, &err), 0);
	static const char *const keys[] = {"culprit_label", "drained_label", "consumer_label",
					   "statem_label", "labelled_label"};
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		/* keys are patterns: {worker,7} groups as {worker,<N>} */
		char key[256];
		const char *label = tu_truth("backlog", keys[i]);
		bd_atom_pattern(label, strlen(label), key, sizeof key);
		const bd_diff_pgroup *g = bd_diff_find(df, key);
		if (!g)
			fail_msg("no diff group %s", key);
		assert_int_equal(g->kind, BD_KEY_LABEL);
		assert_int_equal(g->a.count, 1);
	}
	bd_diff_free(df);
	bd_model_free(m);
}

/* Pinning is what every slice leaves unused (exact here: the buffers are dumped),
 * the backlog is what the queue holds; neither is slices x buffer size. */
static void test_backlog_numbers(void **state)
{
	(void)state;
	const char *d = tu_sample_or_skip("backlog"), *n = "backlog";
	jv *a = run_json("analyze --json %s%s 2>/dev/null", d, "");
	const jv *fs = jv_get(a, "findings");
	const jv *pin = NULL, *leak = NULL;
	for (size_t i = 0; i < fs->n; i++) {
		const char *k = jstr(fs->items[i], "kind");
		if (!strcmp(k, "binary_pinning") && !pin)
			pin = fs->items[i];
		if (!strcmp(k, "binary_leak") && !leak)
			leak = fs->items[i];
	}
	assert_non_null(pin);
	assert_non_null(leak);
	const jv *pe = jv_get(pin, "evidence"), *le = jv_get(leak, "evidence");
	assert_int_equal((long long)jnum(pe, "pinned_bytes"), atoll(tu_truth(n, "pinned_bytes")));
	assert_int_equal((long long)jnum(pe, "binaries"), atoll(tu_truth(n, "buffers")));
	assert_int_equal((long long)jnum(pe, "slices"), atoll(tu_truth(n, "backlog_messages")));
	double cov = jnum(pe, "covered_share") * 10;
	assert_true(cov >= atof(tu_truth(n, "covered_percent_x10")) - 1 &&
		    cov <= atof(tu_truth(n, "covered_percent_x10")) + 1);
	assert_string_equal(jstr(jv_get(pin, "subject"), "pid"), tu_truth(n, "culprit_pid"));
	/* 1 MB unused of a 35 MB node: worth a line, not a warning. */
	assert_string_equal(jstr(pin, "severity"), "info");
	assert_int_equal((long long)jnum(le, "refc_bytes_held"), atoll(tu_truth(n, "held_bytes")));
	assert_int_equal((long long)jnum(le, "references"), atoll(tu_truth(n, "backlog_messages")));
	jv_free(a);
}

static uint64_t binary_memory(const char *dump)
{
	jv *m = run_json("memory --json %s%s 2>/dev/null", dump, "");
	const jv *b = jv_get(jv_get(m, "memory"), "binary");
	uint64_t v = b && b->kind == JV_NUM ? (uint64_t)b->num : 0;
	jv_free(m);
	return v;
}

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

/* Every binary figure of every sample is one the node could have had. */
static void test_binary_bounds(void **state)
{
	(void)state;
	static const char *const names[] = {"backlog", "binleak", "mailbox", "heap_oom",
					    "healthy", "large", "elixir_proc_limit"};
	int ran = 0;
	for (size_t s = 0; s < sizeof names / sizeof *names; s++) {
		const char *d = tu_sample(names[s]);
		if (!d)
			continue;
		ran++;
		uint64_t binmem = binary_memory(d);
		assert_true(binmem > 0);
		jv *a = run_json("analyze --json --verbose %s%s 2>/dev/null", d, "");
		const jv *fs = jv_get(a, "findings");
		for (size_t i = 0; i < fs->n; i++) {
			const char *k = jstr(fs->items[i], "kind");
			if (strcmp(k, "binary_leak") && strcmp(k, "binary_pinning"))
				continue;
			const jv *ev = jv_get(fs->items[i], "evidence");
			for (size_t e = 0; e < ev->n; e++) {
				if (ev->items[e]->kind != JV_NUM)
					continue;
				if (ends_with(ev->keys[e], "_bytes") && ev->items[e]->num > (double)binmem)
					fail_msg("%s: %s %s = %.0f > erlang:memory(binary) %llu", names[s],
						 k, ev->keys[e], ev->items[e]->num, (unsigned long long)binmem);
				if (strstr(ev->keys[e], "share") && ev->items[e]->num > 100)
					fail_msg("%s: %s %s = %.1f %%", names[s], k, ev->keys[e],
						 ev->items[e]->num);
			}
		}
		jv_free(a);
		jv *t = run_json("top --json --by binary -n 10 %s%s 2>/dev/null", d, "");
		const jv *rows = jv_get(t, "top");
		for (size_t i = 0; i < rows->n; i++) {
			const jv *b = jv_get(rows->items[i], "binary_bytes");
			if (b->kind == JV_NUM && b->num > (double)binmem)
				fail_msg("%s: top binary_bytes %.0f > %llu", names[s], b->num,
					 (unsigned long long)binmem);
		}
		jv_free(t);
	}
	if (!ran)
		skip();
}

/* A process whose BinVHeap counts one 4 MB binary 1,000 times (one reference per
 * message): top, diff and analyze never say more than the node's 8 MB. */
static const char *const inflated =
	"=erl_crash_dump:0.5\nSat Nov 21 21:04:25 2026\nSlogan: Received SIGUSR1\n"
	"System version: Erlang/OTP 25 [erts-13.1.5] [64-bit]\nAtoms: 5\n"
	"=memory\ntotal: 20000000\nprocesses: 1000000\nbinary: 8000000\n"
	"=proc:<0.10.0>\nState: Waiting\nSpawned as: proc_lib:init_p/5\nMemory: 2000\n"
	"BinVHeap: 524288000\nOldBinVHeap: 0\n"
	"Program counter: 0x0 (gen_server:loop/7 + 20)\n"
	"=proc_dictionary:<0.10.0>\nH2000\n"
	"=proc_heap:<0.10.0>\n"
	"2000:t2:AC:process_name,H2010\n2010:t2:A17:rabbit_amqqueue_process,H2020\n"
	"2020:t4:A8:resource,H2030,A5:queue,H2040\n2030:Yh1:Lw==\n2040:Yh2:cTE=\n"
	"=end\n";

static void test_inflated_vheap(void **state)
{
	(void)state;
	bd_model *m = tu_open_text(inflated);
	size_t n;
	const bd_proc *p = bd_model_procs(m, &n);
	int clamped = 0;
	assert_int_equal(bd_proc_binary_bytes(m, p, &clamped), 8000000);
	assert_true(clamped);
	char name[160];
	assert_int_equal(bd_proc_name(m, p, NULL, name, sizeof name), BD_PNAME_PROCESS_NAME);
	assert_string_equal(name, "rabbit_amqqueue_process: queue 'q1' in vhost '/'");
	bd_findings *f = NULL;
	bd_error err = {0};
	assert_int_equal(bd_analyze(m, NULL, &f, &err), 0);
	for (size_t i = 0; i < f->n; i++)
		for (uint32_t e = 0; e < f->items[i].nevidence; e++) {
			const bd_evidence *ev = &f->items[i].evidence[e];
			if (ev->type == BD_EV_BYTES)
				assert_true(ev->v.u <= 8000000);
			if (ev->type == BD_EV_PERCENT)
				assert_true(ev->v.d <= 100.0);
		}
	bd_findings_free(f);
	bd_model_free(m);
	const char *path = tu_write_temp(inflated, strlen(inflated));
	char *out;
	assert_int_equal(tu_run(&out, "top --by binary %s", path), 0);
	if (!strstr(out, "~8.00 MB") || strstr(out, "4.19 GB"))
		fail_msg("top shows an impossible figure:\n%s", out);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top_names),      cmocka_unit_test(test_analyze_label),
		cmocka_unit_test(test_diff_labels),    cmocka_unit_test(test_backlog_numbers),
		cmocka_unit_test(test_binary_bounds),  cmocka_unit_test(test_inflated_vheap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
