/* A program for test_guard: it makes malloc, calloc, realloc and free fatal (exit 97)
 * and then crashes, with libbeamdump_guard.so preloaded. If the guard's signal handler
 * allocated, the program would exit 97 instead of dying by the signal.
 *
 *   guard_victim segv|abort|fpe|overflow|thread */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static volatile int crashing;

static void trapped(const char *what)
{
	static const char msg[] = "guard_victim: allocation while crashing: ";
	if (write(2, msg, sizeof msg - 1) < 0 || write(2, what, strlen(what)) < 0 || write(2, "\n", 1) < 0)
		_exit(97);
	_exit(97);
}

void *malloc(size_t n)
{
	if (crashing)
		trapped("malloc");
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t k)
{
	if (crashing)
		trapped("calloc");
	return __libc_calloc(n, k);
}

void *realloc(void *p, size_t n)
{
	if (crashing)
		trapped("realloc");
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (crashing)
		trapped("free");
	__libc_free(p);
}

static int *volatile nowhere;
static volatile int zero;

__attribute__((noinline)) static int victim_fault(int k)
{
	return nowhere[k]; /* NULL */
}

__attribute__((noinline)) static long victim_recurse(long depth)
{
	volatile char pad[1024];
	pad[0] = (char)depth;
	if (depth < 0)
		return 0;
	return victim_recurse(depth + 1) + pad[0];
}

static void *overflow_thread(void *arg)
{
	(void)arg;
	crashing = 1;
	return (void *)victim_recurse(0);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "segv";
	if (!strcmp(what, "overflow") || !strcmp(what, "thread")) {
		pthread_t t;
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setstacksize(&a, 256 * 1024);
		if (pthread_create(&t, &a, overflow_thread, NULL))
			return 2;
		pthread_join(t, NULL);
		return 3;
	}
	crashing = 1;
	if (!strcmp(what, "abort"))
		abort();
	if (!strcmp(what, "fpe"))
		return 10 / zero;
	return victim_fault(argc);
}
