/* bd_crash_nif: real NIFs that kill the VM in the ways native code does, for
 * beamdump's native-crash tests (samples/nif/gen.sh builds it twice: with -g, and
 * optimized without debug information). Every crash is a real fault of real code;
 * the helpers are kept out of line so the frames are there to find. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <erl_nif.h>

#define NOINLINE __attribute__((noinline))

/* NULL, but the compiler cannot see it (so it cannot drop or trap the access). */
static void *volatile bd_nowhere;

/* ---- a NULL pointer dereference three calls deep ---- */
struct bd_record {
	int id;
	int *counter;
};

NOINLINE static int bd_bump(struct bd_record *r)
{
	return ++*r->counter; /* r->counter is NULL */
}

NOINLINE static int bd_update(struct bd_record *r, int times)
{
	int sum = 0;
	for (int i = 0; i < times; i++)
		sum += bd_bump(r);
	return sum;
}

NOINLINE static int bd_process_records(int n)
{
	struct bd_record r = {n, bd_nowhere};
	return bd_update(&r, n);
}

static ERL_NIF_TERM null_deref(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
	int n = 1;
	if (argc == 1)
		enif_get_int(env, argv[0], &n);
	return enif_make_int(env, bd_process_records(n > 0 ? n : 1));
}

/* ---- abort() and a failed assertion ---- */
NOINLINE static void bd_give_up(const char *why)
{
	(void)why;
	abort();
}

static ERL_NIF_TERM abort_now(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
	(void)argc;
	(void)argv;
	bd_give_up("requested");
	return enif_make_atom(env, "ok");
}

NOINLINE static int bd_check_size(int size)
{
	assert(size > 0 && "size must be positive");
	return size * 2;
}

static ERL_NIF_TERM assert_fail(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
	int n = 0;
	if (argc == 1)
		enif_get_int(env, argv[0], &n);
	return enif_make_int(env, bd_check_size(n));
}

/* ---- a double free the C library catches (and aborts on) ---- */
static volatile int bd_releases;

NOINLINE static void bd_release(char *volatile *slot)
{
	free(*slot); /* the second call frees it again */
	bd_releases++;
}

static ERL_NIF_TERM double_free(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
	(void)argc;
	(void)argv;
	char *volatile buf = malloc(48);
	bd_release(&buf);
	bd_release(&buf);
	return enif_make_atom(env, "ok");
}

/* ---- unbounded recursion on the scheduler's stack ---- */
NOINLINE static long bd_descend(long depth, volatile char *prev)
{
	volatile char frame[2048];
	if (depth < 0) /* never: keeps the compiler from calling the recursion infinite */
		return 0;
	frame[0] = (char)depth;
	frame[sizeof frame - 1] = prev ? prev[0] : 0;
	return bd_descend(depth + 1, frame) + frame[1];
}

static ERL_NIF_TERM stack_overflow(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
	(void)argc;
	(void)argv;
	return enif_make_long(env, bd_descend(0, NULL));
}

/* ---- a crash on a dirty CPU scheduler ---- */
NOINLINE static double bd_heavy_sum(const double *v, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += v[i * 4096]; /* v is NULL */
	return s;
}

static ERL_NIF_TERM dirty_crash(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
	(void)argc;
	(void)argv;
	return enif_make_double(env, bd_heavy_sum(bd_nowhere, 8));
}

/* ---- a crash on a thread the NIF created ---- */
static ErlNifTid bd_tid;

NOINLINE static void bd_worker_step(int *slot)
{
	*slot = 42; /* slot is NULL */
}

static void *bd_worker(void *arg)
{
	(void)arg;
	usleep(20000);
	bd_worker_step(bd_nowhere);
	return NULL;
}

static ERL_NIF_TERM thread_crash(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
	(void)argc;
	(void)argv;
	if (enif_thread_create("bd_worker", &bd_tid, bd_worker, NULL, NULL))
		return enif_make_badarg(env);
	return enif_make_atom(env, "started");
}

/* ---- memory corruption the VM trips over later ----
 * A term pointing at unmapped memory: the NIF returns fine, and the VM faults when
 * it looks at the term afterwards (hashing it), with no NIF on the stack. */
NOINLINE static ERL_NIF_TERM bd_forge(uint64_t where)
{
	return (ERL_NIF_TERM)(where | 0x2); /* a boxed pointer */
}

static ERL_NIF_TERM corrupt_term(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
	(void)env;
	(void)argc;
	(void)argv;
	return bd_forge(0x7ff0000000ull);
}

static ErlNifFunc funcs[] = {
	{"null_deref", 1, null_deref, 0},
	{"abort_now", 0, abort_now, 0},
	{"assert_fail", 1, assert_fail, 0},
	{"stack_overflow", 0, stack_overflow, 0},
	{"dirty_crash", 0, dirty_crash, ERL_NIF_DIRTY_JOB_CPU_BOUND},
	{"thread_crash", 0, thread_crash, 0},
	{"corrupt_term", 0, corrupt_term, 0},
	{"double_free", 0, double_free, 0},
};

ERL_NIF_INIT(bd_crash_nif, funcs, NULL, NULL, NULL, NULL)
