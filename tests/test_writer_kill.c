/* Crash consistency: a child writes a real snapshot record by record and is SIGKILLed
 * at random moments (>= 100 runs). Every record the child finished before the kill must
 * come back intact from the file (a frame-by-frame scan with CRCs and a byte compare of
 * every payload), and opening the file as a model must never crash. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>
#include <cmocka.h>

#include "beamdump/term.h"
#include "snapshot_int.h"
#include "snaputil.h"
#include "testutil.h"

#define RUNS 120

static su_recs g_recs;

/* Child: write all records, reporting each completed one on the pipe. */
static void child(const char *path, int fd, unsigned seed)
{
	bd_writer_opts o = BD_WRITER_OPTS_INIT;
	o.max_record = 4u << 20;
	o.level = 1;
	o.no_fsync = 1;
	size_t need = bd_writer_size(&o);
	void *arena = malloc(need);
	bd_writer *w;
	bd_error err = {0};
	if (!arena || bd_writer_init(&w, arena, need, path, &o, &err))
		_exit(3);
	srand(seed);
	for (size_t i = 0; i < g_recs.n; i++) {
		if (bd_writer_record(w, &g_recs.v[i].r, g_recs.v[i].p, g_recs.v[i].n))
			_exit(4);
		uint8_t one = 1;
		if (write(fd, &one, 1) != 1)
			_exit(5);
		struct timespec ts = {0, (long)(rand() % 400) * 1000L};
		nanosleep(&ts, NULL);
	}
	bd_writer_finish(w);
	_exit(0);
}

/* Scan the file's frames like a reader without a trailer; return how many records
 * in a row are intact and equal to what the child wrote (the file header first). */
static size_t intact_records(const char *path)
{
	size_t len;
	char *d = tu_read_file(path, &len);
	if (!d)
		return 0;
	const uint8_t *b = (const uint8_t *)d;
	uint64_t off = 0;
	size_t k = 0;
	while (off + BD_REC_FRAME <= len) {
		const uint8_t *h = b + off + 8;
		if (bd_get32(b + off) != BD_SKIP_MAGIC || memcmp(h, BD_REC_SIG, 4) ||
		    bd_crc32c(0, h, BD_RH_HCRC) != bd_get32(h + BD_RH_HCRC))
			break;
		uint32_t comp = bd_get32(h + BD_RH_COMPLEN);
		if (off + BD_REC_FRAME + comp > len ||
		    bd_crc32c(0, b + off + BD_REC_FRAME, comp) != bd_get32(h + BD_RH_PCRC))
			break;
		if (k > 0 && k <= g_recs.n) {
			const su_rec *want = &g_recs.v[k - 1];
			assert_int_equal(bd_get16(h + BD_RH_TYPE), want->r.type);
			assert_int_equal(bd_get32(h + BD_RH_SEQ), want->r.seq);
			assert_int_equal(bd_get64(h + BD_RH_RAWLEN), want->n);
			void *raw = malloc(want->n + 1);
			size_t got = ZSTD_decompress(raw, want->n + 1, b + off + BD_REC_FRAME, comp);
			assert_false(ZSTD_isError(got));
			assert_int_equal(got, want->n);
			assert_memory_equal(raw, want->p, want->n);
			free(raw);
		}
		k++;
		off += BD_REC_FRAME + comp;
	}
	free(d);
	return k;
}

static void read_model(const char *path)
{
	bd_model *m;
	bd_error err = {0};
	if (bd_model_open(&m, path, &err))
		return; /* e.g. killed inside the first record: a clear error is fine */
	size_t n;
	const bd_proc *p = bd_model_procs(m, &n);
	for (size_t i = 0; i < n; i++) {
		bd_heap *h;
		if (bd_heap_open(&h, m, &p[i], &err))
			continue;
		bd_frame *fr;
		size_t nf;
		bd_heap_stack(h, &fr, &nf, &err);
		bd_term *msgs[4];
		bd_heap_messages(h, 0, 4, msgs);
		bd_heap_free(h);
	}
	bd_model_free(m);
}

static void test_kill_at_random_moments(void **state)
{
	(void)state;
	const char *text = tu_fixture("tests/fixtures/terms_otp27.dump.zst");
	bd_model *m;
	bd_error err = {0};
	if (bd_model_open(&m, text, &err))
		fail_msg("%s", err.msg);
	/* Small data records: many records, so kills land between and inside them. */
	bd_snapshot_opts so = BD_SNAPSHOT_OPTS_INIT;
	so.record_target = 8192;
	so.table_rows = 16;
	memset(&g_recs, 0, sizeof g_recs);
	{
		su_recs tmp;
		su_collect(m, &tmp); /* default options, checks the converter once more */
		su_recs_free(&tmp);
	}
	assert_int_equal(su_collect_opts(m, &so, &g_recs), 0);
	assert_true(g_recs.n > 100);
	const char *path = su_temp(".bdump");
	char partial[200];
	snprintf(partial, sizeof partial, "%s.partial", path);
	/* How long a full run takes, to spread the kills over it (and a bit past it). */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	{
		int pfd[2];
		assert_int_equal(pipe(pfd), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(pfd[0]);
			child(path, pfd[1], 1);
		}
		close(pfd[1]);
		int st;
		uint8_t buf[4096];
		while (read(pfd[0], buf, sizeof buf) > 0)
			;
		close(pfd[0]);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		assert_int_equal(intact_records(path), g_recs.n + 3); /* + header, END, index */
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long full_us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
	srand(2024);
	int finished = 0, killed_mid = 0;
	for (int run = 0; run < RUNS; run++) {
		unlink(path);
		unlink(partial);
		int pfd[2];
		assert_int_equal(pipe(pfd), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(pfd[0]);
			child(path, pfd[1], (unsigned)run);
		}
		close(pfd[1]);
		size_t done = 0;
		uint8_t buf[4096];
		ssize_t r;
		if (run % 3) {
			/* two runs in three: killed after a random number of finished records
			 * (the child then sleeps 0-400 us, so the kill lands between records or
			 * inside the next), however fast or loaded the machine */
			size_t after = 1 + (size_t)rand() % (g_recs.n / 2);
			while (done < after && (r = read(pfd[0], buf, after - done < sizeof buf
								? after - done : sizeof buf)) > 0)
				done += (size_t)r;
		} else {
			/* the others at a random moment of a run's length (and a bit past it):
			 * before the file exists, inside the header, after the end */
			long us = rand() % (full_us + full_us / 8 + 1);
			struct timespec ts = {us / 1000000L, (us % 1000000L) * 1000L};
			nanosleep(&ts, NULL);
		}
		kill(pid, SIGKILL);
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		while ((r = read(pfd[0], buf, sizeof buf)) > 0)
			done += (size_t)r;
		close(pfd[0]);
		const char *file = access(path, F_OK) == 0 ? path : partial;
		if (file == path)
			finished++;
		else if (done && done < g_recs.n)
			killed_mid++;
		if (access(file, F_OK) != 0) {
			assert_int_equal(done, 0); /* killed before init created the file */
			continue;
		}
		size_t intact = intact_records(file);
		if (intact < done + (done ? 1 : 0))
			fail_msg("run %d: child finished %zu records, only %zu intact in the file", run,
				 done, intact);
		read_model(file);
	}
	fprintf(stderr, "kill test: %d runs over %ld us, %d killed mid-way, %d finished\n", RUNS,
		full_us, killed_mid, finished);
	assert_true(killed_mid >= RUNS / 3);
	unlink(path);
	unlink(partial);
	su_recs_free(&g_recs);
	bd_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_at_random_moments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
