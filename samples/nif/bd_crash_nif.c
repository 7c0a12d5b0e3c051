/* bd_crash_nif: real NIFs that kill the VM in the ways native code does, for
 * beamdump's native-crash tests (samples/nif/gen.sh builds it twice: with -g, and
 * optimized without debug information). Every crash is a real fault of real code;
 * the helpers are kept out of line so the frames are there to find. */
#include <assert.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <erl_nif.h>

#define NOINLINE __attribute__((noinline))

/* The module the library is for: bd_crash_nif, or an Elixir module (gen.sh builds
 * one with -DBD_NIF_MODULE=Elixir.BdCrash.Native). */
#ifndef BD_NIF_MODULE
#define BD_NIF_MODULE bd_crash_nif
#endif

/* In libbd_crash_helper.so, a library the NIF links to (gen.sh). */
extern int bd_helper_parse(const char *text);

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

/* ---- integer division by zero: SIGFPE ---- */
NOINLINE static int bd_average(int total, int count)
{
	return total / count; /* count is 0 */
}

static ERL_NIF_TERM div_zero(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
	int n = 1;
	if (argc == 1)
		enif_get_int(env, argv[0], &n);
	return enif_make_int(env, bd_average(100, n));
}

/* ---- a trap instruction (ud2): SIGILL ---- */
static volatile int bd_state = 3;

NOINLINE static int bd_check_state(int s)
{
	if (s != 1)
		__builtin_trap(); /* "cannot happen" */
	return s;
}

static ERL_NIF_TERM trap(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
	(void)argc;
	(void)argv;
	return enif_make_int(env, bd_check_state(bd_state));
}

/* ---- reading a mapped file past its end after it was truncated: SIGBUS ---- */
NOINLINE static long bd_sum_page(const volatile char *p)
{
	long s = 0;
	for (int i = 0; i < 4096; i += 512)
		s += p[i];
	return s;
}

static ERL_NIF_TERM bus_error(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
	(void)argc;
	(void)argv;
	int fd = open("bd_mapped.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 8192))
		return enif_make_badarg(env);
	char *p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED || ftruncate(fd, 100))
		return enif_make_badarg(env);
	close(fd);
	return enif_make_long(env, bd_sum_page(p + 4096)); /* beyond the file's end now */
}

/* ---- writing into a string literal (read-only memory) ---- */
static const char *volatile bd_greeting = "hello";

NOINLINE static void bd_upcase(char *s)
{
	for (; *s; s++)
		*s = (char)(*s - 32);
}

static ERL_NIF_TERM write_rodata(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
	(void)argc;
	(void)argv;
	bd_upcase((char *)bd_greeting);
	return enif_make_atom(env, "ok");
}

/* ---- a call through a NULL function pointer ---- */
typedef int (*bd_handler)(int);
static bd_handler volatile bd_handlers[4];

NOINLINE static int bd_dispatch(int op)
{
	return bd_handlers[op & 3](op) + 1;
}

static ERL_NIF_TERM null_call(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
	(void)argc;
	(void)argv;
	return enif_make_int(env, bd_dispatch(2));
}

/* ---- a fault in the C library, called with NULL ---- */
static const char *volatile bd_no_name;

NOINLINE static size_t bd_name_length(const char *name)
{
	return strlen(name) + 1;
}

static ERL_NIF_TERM libc_fault(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
	(void)argc;
	(void)argv;
	return enif_make_ulong(env, bd_name_length(bd_no_name));
}

/* ---- a fault in another shared library the NIF calls ---- */
static ERL_NIF_TERM helper_fault(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
	(void)argc;
	(void)argv;
	return enif_make_int(env, bd_helper_parse(bd_no_name));
}

/* ---- a fault in a resource's destructor: it runs when the VM frees the
 * resource (garbage collection), with no NIF call on the stack ---- */
static ErlNifResourceType *bd_conn_type;

struct bd_conn {
	int *buffer;
};

NOINLINE static void bd_conn_flush(struct bd_conn *c)
{
	c->buffer[0] = 0; /* buffer is NULL */
}

static void bd_conn_dtor(ErlNifEnv *env, void *obj)
{
	(void)env;
	bd_conn_flush(obj);
}

static ERL_NIF_TERM make_conn(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
	(void)argc;
	(void)argv;
	struct bd_conn *c = enif_alloc_resource(bd_conn_type, sizeof *c);
	c->buffer = bd_nowhere;
	ERL_NIF_TERM t = enif_make_resource(env, c);
	enif_release_resource(c);
	return t;
}

/* ---- a fault in the library's load callback, during erlang:load_nif/2
 * (load_info crash) ---- */
struct bd_config {
	int workers;
};

NOINLINE static int bd_read_config(const struct bd_config *cfg)
{
	const struct bd_config *volatile at = cfg; /* the read stays here, at any -O */
	return at->workers; /* cfg is NULL */
}

static int bd_load(ErlNifEnv *env, void **priv, ERL_NIF_TERM info)
{
	(void)priv;
	bd_conn_type = enif_open_resource_type(env, NULL, "bd_conn", bd_conn_dtor, ERL_NIF_RT_CREATE, NULL);
	if (!bd_conn_type)
		return 1;
	if (enif_is_identical(info, enif_make_atom(env, "crash")))
		return bd_read_config(bd_nowhere) < 0;
	return 0;
}

/* ---- a bad argument to the VM's NIF API: the fault is in beam.smp, under the NIF ---- */
static ErlNifBinary *volatile bd_no_bin;

NOINLINE static size_t bd_payload_size(ErlNifEnv *env, ERL_NIF_TERM t)
{
	ErlNifBinary *bin = bd_no_bin; /* should point at a local ErlNifBinary */
	if (!enif_inspect_binary(env, t, bin))
		return 0;
	return bin->size;
}

static ERL_NIF_TERM bad_api(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[])
{
	(void)argc;
	return enif_make_ulong(env, bd_payload_size(env, argv[0]));
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
	{"div_zero", 1, div_zero, 0},
	{"trap", 0, trap, 0},
	{"bus_error", 0, bus_error, 0},
	{"write_rodata", 0, write_rodata, 0},
	{"null_call", 0, null_call, 0},
	{"libc_fault", 0, libc_fault, 0},
	{"helper_fault", 0, helper_fault, 0},
	{"make_conn", 0, make_conn, 0},
	{"bad_api", 1, bad_api, 0},
};

/* one more level of macro: the module's name is expanded before ERL_NIF_INIT
 * turns it into a string */
#define BD_NIF_INIT(name, ...) ERL_NIF_INIT(name, __VA_ARGS__)
BD_NIF_INIT(BD_NIF_MODULE, funcs, bd_load, NULL, NULL, NULL)
