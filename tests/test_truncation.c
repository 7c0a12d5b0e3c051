/* Truncation sweep: a real dump cut at hundreds of offsets (mid-line, mid-term, inside
 * a binary) is read at every cut without a crash, the model says where it stops, and
 * every process detail still decodes to something. Runs under ASan in CI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beamdump/term.h"
#include "int.h"
#include "testutil.h"

static void walk_everything(bd_model *m)
{
	size_t n;
	const bd_proc *procs = bd_model_procs(m, &n);
	for (size_t i = 0; i < n; i++) {
		bd_heap *h;
		bd_error err = {0};
		if (bd_heap_open(&h, m, &procs[i], &err))
			continue;
		bd_frame *fr;
		size_t nf;
		char buf[512];
		if (bd_heap_stack(h, &fr, &nf, &err) == 0)
			for (size_t f = 0; f < nf; f++)
				for (uint32_t s = 0; s < fr[f].nslots; s++)
					if (fr[f].slots[s].term)
						bd_term_fmt(fr[f].slots[s].term, buf, sizeof buf, 8, 8);
		bd_mailbox_stats st;
		bd_heap_mailbox_stats(h, &st, &err);
		bd_term *msgs[4];
		size_t k = bd_heap_messages(h, 0, 4, msgs);
		for (size_t j = 0; j < k; j++)
			bd_term_fmt(msgs[j], buf, sizeof buf, 8, 8);
		bd_term **keys, **vals;
		size_t nd;
		bd_heap_dictionary(h, &keys, &vals, &nd, &err);
		bd_heap_free(h);
	}
	bd_model_atoms_each(m, NULL, NULL);
	const bd_binary *b = bd_model_binaries(m, &n);
	for (size_t i = 0; i < n; i++) {
		uint8_t tmp[64];
		bd_binary_read(m, &b[i], b[i].size / 2, tmp, sizeof tmp);
	}
}

static void sweep(const char *path, int cuts)
{
	size_t len;
	char *text = tu_read_file(path, &len);
	assert_non_null(text);
	srand(42);
	char tmp[] = "/tmp/bdcut-XXXXXX";
	int fd = mkstemp(tmp);
	assert_true(fd >= 0);
	close(fd);
	int truncated = 0;
	for (int i = 0; i < cuts; i++) {
		/* half evenly spaced, half random; some just after a '\n' or '=' */
		size_t cut = i < cuts / 2 ? (len * (size_t)i) / (size_t)(cuts / 2)
					  : (size_t)rand() % len;
		if (i % 7 == 0) {
			char *nl = memchr(text + cut, '\n', len - cut);
			if (nl)
				cut = (size_t)(nl - text) + 1;
		}
		FILE *f = fopen(tmp, "wb");
		assert_non_null(f);
		fwrite(text, 1, cut, f);
		fclose(f);
		bd_model *m = NULL;
		bd_error err = {0};
		int rc = bd_model_open(&m, tmp, &err);
		if (cut < 16) { /* too short to be recognised as a dump */
			assert_int_not_equal(rc, 0);
			continue;
		}
		if (rc)
			fail_msg("cut at %zu: open failed: %s", cut, err.msg);
		const bd_node_info *n = bd_model_node(m);
		if (cut < len - 5) {
			assert_true(n->truncated);
			assert_non_null(n->truncated_in);
			truncated++;
		}
		walk_everything(m);
		bd_model_free(m);
	}
	assert_true(truncated > cuts / 2);
	unlink(tmp);
	free(text);
}

static void test_sweep_otp27(void **state)
{
	(void)state;
	const char *path = tu_fixture("tests/fixtures/terms_otp27.dump.zst");
	sweep(path, 240);
	unlink(path);
}

/* Random damage: flipped bytes, injected "\n=" tags, deleted and duplicated runs,
 * inside the first megabyte of a real dump (where headers, processes and heaps are). */
static void test_mutations(void **state)
{
	(void)state;
	const char *path = tu_fixture("tests/fixtures/terms_otp27.dump.zst");
	size_t len;
	char *orig = tu_read_file(path, &len);
	assert_non_null(orig);
	char *buf = malloc(len + 4096);
	assert_non_null(buf);
	static const char *inject[] = {"\n=proc:<0.1.0>\n", "\n=proc_heap:<0.83.0>\n", "\n=binary:ZZ\n",
				       "\nH", "\nA7FFFFFFF:", "t7FFFFFFF:", "\n=end\n", "\n=literals\n",
				       "Mh7FFFFFFF:10:", "\xff\xfe\x00"};
	srand(7);
	char tmp[] = "/tmp/bdmut-XXXXXX";
	int fd = mkstemp(tmp);
	assert_true(fd >= 0);
	close(fd);
	for (int round = 0; round < 150; round++) {
		memcpy(buf, orig, len);
		size_t n = len;
		for (int k = 0; k < 1 + round % 5; k++) {
			size_t at = 20 + (size_t)rand() % (n < 1200000 ? n - 20 : 1200000);
			switch (rand() % 4) {
			case 0:
				buf[at] = (char)(rand() & 0xff);
				break;
			case 1: {
				const char *s = inject[rand() % 10];
				size_t l = strlen(s);
				memmove(buf + at + l, buf + at, n - at);
				memcpy(buf + at, s, l);
				n += l;
				break;
			}
			case 2: {
				size_t l = (size_t)rand() % 2000;
				if (at + l < n) {
					memmove(buf + at, buf + at + l, n - at - l);
					n -= l;
				}
				break;
			}
			default:
				buf[at] = '\n';
				break;
			}
		}
		FILE *f = fopen(tmp, "wb");
		fwrite(buf, 1, n, f);
		fclose(f);
		bd_model *m = NULL;
		bd_error err = {0};
		if (bd_model_open(&m, tmp, &err) == 0) {
			walk_everything(m);
			bd_model_free(m);
		}
	}
	unlink(tmp);
	unlink(path);
	free(buf);
	free(orig);
}

static void test_sweep_samples(void **state)
{
	(void)state;
	const char *names[] = {"mailbox", "binleak", "deadlock"};
	int done = 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const char *p = tu_sample(names[i]);
		if (!p)
			continue;
		sweep(p, 200);
		done++;
	}
	if (!done && !getenv("BD_REQUIRE_SAMPLES"))
		skip();
	assert_true(done > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep_otp27),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_sweep_samples),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
