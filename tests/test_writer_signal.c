/* The writer is async-signal-safe: a whole snapshot is written from inside a signal
 * handler while malloc, calloc, realloc and free abort the process (-Wl,--wrap), and
 * the file reads back as the same model as the text dump. Budgets end the file cleanly
 * and errors are sticky. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "snapshot_int.h"
#include "snaputil.h"
#include "testutil.h"

/* ---- allocation guard ---- */
static volatile sig_atomic_t in_handler;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t k);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t k);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

static void no_alloc(const char *what)
{
	if (in_handler) {
		static const char msg[] = "test_writer_signal: allocation inside the signal handler: ";
		(void)!write(2, msg, sizeof msg - 1);
		(void)!write(2, what, strlen(what));
		(void)!write(2, "\n", 1);
		abort();
	}
}
void *__wrap_malloc(size_t n)
{
	no_alloc("malloc");
	return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t k)
{
	no_alloc("calloc");
	return __real_calloc(n, k);
}
void *__wrap_realloc(void *p, size_t n)
{
	no_alloc("realloc");
	return __real_realloc(p, n);
}
void __wrap_free(void *p)
{
	no_alloc("free");
	__real_free(p);
}

/* ---- the handler writes everything ---- */
static su_recs g_recs;
static bd_writer *g_w;
static volatile int g_rec_rc, g_fin_rc;

static void on_signal(int sig)
{
	(void)sig;
	in_handler = 1;
	g_rec_rc = 0;
	for (size_t i = 0; i < g_recs.n && !g_rec_rc; i++)
		g_rec_rc = bd_writer_record(g_w, &g_recs.v[i].r, g_recs.v[i].p, g_recs.v[i].n);
	g_fin_rc = bd_writer_finish(g_w);
	in_handler = 0;
}

static bd_writer *writer(void **arena, const char *path, bd_writer_opts *o)
{
	size_t need = bd_writer_size(o);
	assert_true(need > 0);
	*arena = malloc(need);
	assert_non_null(*arena);
	bd_writer *w;
	bd_error err = {0};
	if (bd_writer_init(&w, *arena, need, path, o, &err))
		fail_msg("bd_writer_init: %s", err.msg);
	return w;
}

static void test_snapshot_in_signal_handler(void **state)
{
	(void)state;
	const char *text = tu_fixture("tests/fixtures/terms_otp27.dump.zst");
	bd_model *m;
	bd_error err = {0};
	if (bd_model_open(&m, text, &err))
		fail_msg("%s", err.msg);
	su_collect(m, &g_recs);
	const char *path = su_temp(".bdump");
	bd_writer_opts o = BD_WRITER_OPTS_INIT;
	o.max_record = 4u << 20;
	void *arena;
	g_w = writer(&arena, path, &o);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigfillset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
	raise(SIGUSR1);
	signal(SIGUSR1, SIG_DFL);
	assert_int_equal(g_rec_rc, 0);
	assert_int_equal(g_fin_rc, 0);
	assert_true(bd_writer_flags(g_w) & BD_WF_COMPLETE);
	free(arena);
	bd_model *s;
	if (bd_model_open(&s, path, &err))
		fail_msg("reading the handler's snapshot: %s", err.msg);
	char why[512];
	if (su_models_equal(m, s, why, sizeof why))
		fail_msg("snapshot written in the handler differs: %s", why);
	assert_false(bd_model_node(s)->truncated);
	bd_model_free(s);
	bd_model_free(m);
	su_recs_free(&g_recs);
	unlink(path);
}

/* A byte budget refuses records but the file ends cleanly and says so. */
static void test_byte_budget(void **state)
{
	(void)state;
	const char *text = tu_fixture("tests/fixtures/terms_otp27.dump.zst");
	bd_model *m;
	bd_error err = {0};
	if (bd_model_open(&m, text, &err))
		fail_msg("%s", err.msg);
	su_recs r;
	su_collect(m, &r);
	const char *path = su_temp(".bdump");
	bd_writer_opts o = BD_WRITER_OPTS_INIT;
	o.max_record = 4u << 20;
	o.max_bytes = 60000;
	o.no_fsync = 1;
	void *arena;
	bd_writer *w = writer(&arena, path, &o);
	int refused = 0;
	for (size_t i = 0; i < r.n; i++)
		if (bd_writer_record(w, &r.v[i].r, r.v[i].p, r.v[i].n) == BD_EBUDGET)
			refused++;
	assert_true(refused > 0);
	assert_int_equal(bd_writer_finish(w), 0);
	assert_true(bd_writer_flags(w) & BD_WF_BYTE_BUDGET);
	assert_true(bd_writer_bytes(w) <= o.max_bytes);
	free(arena);
	bd_model *s;
	if (bd_model_open(&s, path, &err))
		fail_msg("budget-capped snapshot: %s", err.msg);
	assert_true(bd_model_node(s)->truncated);
	assert_non_null(strstr(bd_model_node(s)->skipped_first, "byte budget"));
	bd_model_free(s);
	bd_model_free(m);
	su_recs_free(&r);
	unlink(path);
}

static void test_time_budget(void **state)
{
	(void)state;
	const char *path = su_temp(".bdump");
	bd_writer_opts o = BD_WRITER_OPTS_INIT;
	o.max_millis = 250; /* roomy: on a loaded machine init alone can take tens of ms */
	o.no_fsync = 1;
	void *arena;
	bd_writer *w = writer(&arena, path, &o);
	bd_record r = {BD_REC_TERMDICT, 1, 0, 0, 1, 0};
	uint8_t payload[] = {3, 'a', 'b', 'c'};
	assert_int_equal(bd_writer_record(w, &r, payload, sizeof payload), 0);
	struct timespec ts = {0, 400 * 1000000L};
	nanosleep(&ts, NULL);
	r.seq = 1;
	r.key = 1;
	assert_int_equal(bd_writer_record(w, &r, payload, sizeof payload), BD_EBUDGET);
	assert_int_equal(bd_writer_finish(w), 0);
	assert_true(bd_writer_flags(w) & BD_WF_TIME_BUDGET);
	free(arena);
	unlink(path);
}

/* A failing write (file size limit) is sticky: every later call reports it, and the
 * file stays NAME.partial for recovery. Runs in a child: it changes RLIMIT_FSIZE. */
static void test_sticky_error(void **state)
{
	(void)state;
	const char *path = su_temp(".bdump");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		bd_writer_opts o = BD_WRITER_OPTS_INIT;
		o.level = 1;
		o.no_fsync = 1;
		void *arena = malloc(bd_writer_size(&o));
		bd_writer *w;
		bd_error err = {0};
		if (!arena || bd_writer_init(&w, arena, bd_writer_size(&o), path, &o, &err))
			_exit(10);
		struct rlimit rl = {20000, 20000};
		setrlimit(RLIMIT_FSIZE, &rl);
		static uint8_t junk[8192];
		for (size_t i = 0; i < sizeof junk; i++)
			junk[i] = (uint8_t)(i * 2654435761u >> 13);
		int rc = 0;
		for (uint32_t i = 0; i < 100 && !rc; i++) {
			bd_record r = {BD_REC_TERMDICT + 0x100, 1, 0, i, 1, i};
			rc = bd_writer_record(w, &r, junk, sizeof junk);
		}
		if (rc != BD_EIO)
			_exit(11);
		bd_record r = {BD_REC_TERMDICT + 0x100, 1, 0, 999, 1, 0};
		if (bd_writer_record(w, &r, junk, 10) != BD_EIO || bd_writer_finish(w) != BD_EIO ||
		    bd_writer_error(w, &err) != BD_EIO || !strstr(err.msg, "write failed"))
			_exit(12);
		char partial[200];
		snprintf(partial, sizeof partial, "%s.partial", path);
		_exit(access(partial, F_OK) == 0 && access(path, F_OK) != 0 ? 0 : 13);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	char partial[200];
	snprintf(partial, sizeof partial, "%s.partial", path);
	/* What was written before the failure is still readable as a container. */
	bd_model *m;
	bd_error err = {0};
	int rc = bd_model_open(&m, partial, &err);
	if (!rc)
		bd_model_free(m);
	unlink(partial);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_in_signal_handler),
		cmocka_unit_test(test_byte_budget),
		cmocka_unit_test(test_time_budget),
		cmocka_unit_test(test_sticky_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
