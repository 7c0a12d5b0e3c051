/* Reading a big dump: section starts found ahead by a second thread (formats/cd_scan.c)
 * and pages released behind the scan give exactly the model of the plain one-thread
 * read, on every sample, whatever the block size (blocks of a few bytes put the
 * hand-over between reader and producer everywhere, also inside tag lines). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beamdump/term.h"
#include "cd_int.h"
#include "snaputil.h"
#include "testutil.h"

static bd_model *open_plain(const char *path)
{
	bd_model *m = NULL;
	bd_error err = {0};
	if (bd_model_open(&m, path, &err))
		fail_msg("open %s: %s", path, err.msg);
	return m;
}

static void same_with_blocks(const char *path)
{
	static const uint64_t blocks[] = {1, 7, 4096, 1u << 20};
	uint64_t min = cd_scan_min, blk = cd_scan_block;
	cd_scan_min = UINT64_MAX;
	bd_model *ref = NULL;
	bd_error err = {0};
	if (bd_model_open(&ref, path, &err)) { /* not a dump we read (pre-R10B): nothing to compare */
		cd_scan_min = min;
		return;
	}
	for (size_t i = 0; i < sizeof blocks / sizeof *blocks; i++) {
		cd_scan_min = 0;
		cd_scan_block = blocks[i];
		bd_model *m = open_plain(path);
		char why[300];
		if (su_models_equal(ref, m, why, sizeof why))
			fail_msg("%s, blocks of %llu bytes: %s", path, (unsigned long long)blocks[i], why);
		bd_model_free(m);
	}
	bd_model_free(ref);
	cd_scan_min = min;
	cd_scan_block = blk;
}

static void test_fixtures(void **state)
{
	(void)state;
	static const char *fixtures[] = {
		"tests/fixtures/terms_otp27.dump.zst", "tests/fixtures/terms_otp27_trunc.dump.zst",
		"samples/dumps/mailbox.dump.zst",      "samples/dumps/truncated.dump.zst",
		"samples/dumps/deadlock.dump.zst",     "samples/dumps/supervisor.dump.zst"};
	for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++)
		same_with_blocks(tu_fixture(fixtures[i]));
}

/* Atom text that forges tag lines inside term sections, next to real ones. */
static void test_forged_tags(void **state)
{
	(void)state;
	static const char text[] =
		"=erl_crash_dump:0.5\nSat Nov 21 21:04:25 2026\nSlogan: forged\n"
		"System version: Erlang/OTP 25 [erts-13.1.5] [64-bit]\nTaints: \nAtoms: 9\n"
		"=proc:<0.1.0>\nState: Waiting\nName: a\n=proc:<0.2.0>\nState: Running\n"
		"=proc_stack:<0.1.0>\ny0:H7F111B074110\n"
		"=proc_heap:<0.1.0>\n"
		"7F111B074110:t2:A11:x\n=proc:<0.999.0>,I1\n"
		"7F111B074308:t1:A14:x\n=proc_heap:<0.1.0>\n"
		"7F111B074400:t2:A9:k\n=evil:1,A1:v\n"
		"=proc_heap:<0.2.0>\n7F111B074500:t1:A1:y\n"
		"=binary:7F00\n4:AAECAw==\n=atoms\nx\n=end\n";
	same_with_blocks(tu_write_temp(text, sizeof text - 1));
	const char *s = tu_sample("mailbox");
	if (s)
		same_with_blocks(s);
}

/* Dumps from the wild, of every era. */
static void test_wild(void **state)
{
	(void)state;
	char list[1024];
	snprintf(list, sizeof list, "%s/tests/fixtures/wild", getenv("BD_SOURCE") ? getenv("BD_SOURCE") : ".");
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "ls %s/*.dump.zst 2>/dev/null", list);
	FILE *f = popen(cmd, "r");
	char line[1100];
	int n = 0;
	while (f && fgets(line, sizeof line, f) && n < 40) {
		line[strcspn(line, "\n")] = 0;
		const char *rel = strstr(line, "tests/fixtures/wild/");
		if (rel) {
			same_with_blocks(tu_fixture(rel));
			n++;
		}
	}
	if (f)
		pclose(f);
	assert_true(n > 0);
}

/* Long mailboxes summarised while reading (formats/prefetch.c) give the summaries of a
 * walk after the read, shape by shape and caller by caller. */
static void same_summaries(const char *path)
{
	bd_open_opts o = BD_OPEN_OPTS_INIT;
	o.mailboxes = 1;
	bd_model *a = NULL, *b = NULL;
	bd_error err = {0};
	if (bd_model_open(&a, path, &err))
		return;
	assert_int_equal(bd_model_open_ex(&b, path, &o, &err), 0);
	size_t n;
	const bd_proc *p = bd_model_procs(a, &n);
	for (size_t i = 0; i < n; i++) {
		if (p[i].msgq_len == BD_UNKNOWN || p[i].msgq_len < 10000)
			continue;
		bd_heap *ha, *hb;
		bd_mailbox_stats sa, sb;
		assert_int_equal(bd_heap_open(&ha, a, &p[i], &err), 0);
		assert_int_equal(bd_heap_open(&hb, b, bd_proc_by_pid(b, p[i].pid), &err), 0);
		int ra = bd_heap_mailbox_stats(ha, &sa, &err), rb = bd_heap_mailbox_stats(hb, &sb, &err);
		assert_int_equal(ra, rb);
		if (!ra) {
			assert_int_equal(sa.messages, sb.messages);
			assert_int_equal(sa.other, sb.other);
			assert_int_equal(sa.nshapes, sb.nshapes);
			assert_int_equal(sa.ncallers, sb.ncallers);
			if (sa.nshapes)
				assert_memory_equal(sa.shapes, sb.shapes, sa.nshapes * sizeof *sa.shapes);
			if (sa.ncallers)
				assert_memory_equal(sa.callers, sb.callers, sa.ncallers * sizeof *sa.callers);
		}
		bd_heap_free(ha);
		bd_heap_free(hb);
	}
	bd_model_free(a);
	bd_model_free(b);
}

static void test_early_mailboxes(void **state)
{
	(void)state;
	same_summaries(tu_fixture("samples/dumps/mailbox.dump.zst"));
	same_summaries(tu_fixture("tests/fixtures/terms_otp27.dump.zst"));
	static const char *names[] = {"mailbox", "deadlock", "heap_oom", "healthy"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		const char *s = tu_sample(names[i]);
		if (s)
			same_summaries(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_forged_tags),
		cmocka_unit_test(test_wild),
		cmocka_unit_test(test_early_mailboxes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
