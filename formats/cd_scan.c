/* Section-start candidates ("\n=" positions) of a big crash dump, found by a second
 * thread a few megabytes ahead of the reader: the byte scan is the one step of
 * reading that touches every byte, so it runs beside the parsing instead of before
 * it. The reader takes the candidates in order and judges each as it always did. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X86 1
#endif

#include "cd_int.h"

#define NBLOCK 4 /* blocks in flight: the producer's lead (its pages are resident) */

/* Bytes per block, and the smallest input worth a thread (tests make both small). */
uint64_t cd_scan_block = (uint64_t)2 << 20;
uint64_t cd_scan_min = (uint64_t)64 << 20;
#define BLOCK (c->block)

/* The reader never waits for the producer: a block whose candidates are not ready
 * when the reader gets there is scanned by the reader itself (a busy machine may not
 * run the producer for a while). The producer skips what the reader passed. */
typedef struct block {
	_Atomic uint64_t ready;  /* number of the block whose candidates are here */
	uint64_t start, end;     /* '\n' positions in [start, end) */
	uint32_t *off;           /* candidate offsets from start */
	size_t n, cap;
} block;

struct cd_cands {
	const char *base;
	uint64_t size, nblocks, block;
	block ring[NBLOCK];
	_Atomic uint64_t cur;    /* block number the reader is in */
	_Atomic int stop;
	size_t idx;              /* next candidate in the current block */
	int own;                 /* the reader scans the current block itself */
	pthread_mutex_t lock;
	pthread_cond_t moved;
	pthread_t th;
};

#if HAVE_X86
__attribute__((target("avx2"))) static const char *scan_avx2(const char *p, const char *end)
{
	const __m256i nl = _mm256_set1_epi8('\n'), eq = _mm256_set1_epi8('=');
	while (end - p >= 33) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)p);
		__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + 1));
		unsigned mask = (unsigned)_mm256_movemask_epi8(
			_mm256_and_si256(_mm256_cmpeq_epi8(a, nl), _mm256_cmpeq_epi8(b, eq)));
		if (mask)
			return p + __builtin_ctz(mask);
		p += 32;
	}
	return cd_next_candidate(p, end);
}
#endif

/* The first "\n=" at or after p whose '\n' is before lim (the '=' may be at lim). */
typedef const char *(*scan_fn)(const char *p, const char *end);

static scan_fn best_scan(void)
{
#if HAVE_X86
	if (__builtin_cpu_supports("avx2"))
		return scan_avx2;
#endif
	return cd_next_candidate;
}

const char *cd_next_candidate_wide(const char *p, const char *end)
{
	static _Atomic(scan_fn) fn;
	scan_fn f = atomic_load_explicit(&fn, memory_order_relaxed);
	if (!f) {
		f = best_scan();
		atomic_store_explicit(&fn, f, memory_order_relaxed);
	}
	return f(p, end);
}

static int fill(const cd_cands *c, block *b, uint64_t k, scan_fn scan)
{
	b->start = k * BLOCK;
	b->end = b->start + BLOCK < c->size ? b->start + BLOCK : c->size;
	const char *p = c->base + b->start, *lim = c->base + b->end;
	const char *end = c->base + c->size;
	const char *stop = lim + 1 < end ? lim + 1 : end; /* room for the '=' */
	b->n = 0;
	while (p < lim) {
		const char *q = scan(p, stop);
		if (!q || q >= lim)
			break;
		if (b->n == b->cap) {
			size_t nc = b->cap ? b->cap * 2 : 4096;
			uint32_t *o = realloc(b->off, nc * sizeof *o);
			if (!o)
				return -1;
			b->off = o;
			b->cap = nc;
		}
		b->off[b->n++] = (uint32_t)(q - (c->base + b->start));
		p = q + 1;
	}
	return 0;
}

static void *producer(void *arg)
{
	cd_cands *c = arg;
	scan_fn scan = best_scan();
	for (uint64_t k = 0; k < c->nblocks && !c->stop;) {
		uint64_t cur = atomic_load(&c->cur);
		if (k <= cur) {
			k = cur + 1; /* the reader is there already (it scans that one itself) */
			continue;
		}
		if (k >= cur + NBLOCK) {
			/* Far enough ahead: wait for the reader (woken when it moves on). */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 2000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_mutex_lock(&c->lock);
			if (!c->stop && k >= atomic_load(&c->cur) + NBLOCK)
				pthread_cond_timedwait(&c->moved, &c->lock, &ts);
			pthread_mutex_unlock(&c->lock);
			continue;
		}
		block *b = &c->ring[k % NBLOCK];
		if (fill(c, b, k, scan))
			break; /* no memory: the reader scans the rest */
		atomic_store(&b->ready, k);
		k++;
	}
	return NULL;
}

cd_cands *cd_cands_start(const char *base, uint64_t size)
{
	if (size < cd_scan_min || !cd_scan_block || cd_scan_block > UINT32_MAX)
		return NULL;
	cd_cands *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->base = base;
	c->size = size;
	c->block = cd_scan_block;
	c->nblocks = (size + BLOCK - 1) / BLOCK;
	for (int i = 0; i < NBLOCK; i++)
		atomic_store(&c->ring[i].ready, UINT64_MAX);
	atomic_store(&c->cur, 0);
	c->own = 1; /* block 0: the producer starts at block 1 */
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->moved, NULL);
	if (pthread_create(&c->th, NULL, producer, c)) {
		pthread_mutex_destroy(&c->lock);
		pthread_cond_destroy(&c->moved);
		free(c);
		return NULL;
	}
	return c;
}

/* On to block k + 1: its candidates are ready, or the reader scans it. */
static void advance(cd_cands *c)
{
	uint64_t k = atomic_load(&c->cur) + 1;
	atomic_store(&c->cur, k);
	c->idx = 0;
	c->own = k < c->nblocks && atomic_load(&c->ring[k % NBLOCK].ready) != k;
	pthread_cond_signal(&c->moved);
}

const char *cd_cands_next(cd_cands *c, const char *from, const char *lim)
{
	const char *end = c->base + c->size;
	while (from < lim) {
		uint64_t k = atomic_load(&c->cur);
		if (k >= c->nblocks)
			return NULL;
		uint64_t bstart = k * BLOCK, bend = bstart + BLOCK < c->size ? bstart + BLOCK : c->size;
		uint64_t at = (uint64_t)(from - c->base);
		if (at >= bend) {
			advance(c);
			continue;
		}
		const char *q = NULL;
		if (c->own) {
			const char *bl = c->base + bend;
			if (from < c->base + bstart)
				from = c->base + bstart;
			q = cd_next_candidate(from, bl + 1 < end ? bl + 1 : end);
			if (q && q >= bl)
				q = NULL;
		} else {
			const block *b = &c->ring[k % NBLOCK];
			while (c->idx < b->n && bstart + b->off[c->idx] < at)
				c->idx++;
			if (c->idx < b->n)
				q = c->base + bstart + b->off[c->idx];
		}
		if (q)
			return q < lim ? q : NULL;
		if (c->base + bend > lim)
			return NULL; /* the rest of this block is past lim */
		advance(c);
		from = c->base + bend;
	}
	return NULL;
}

void cd_cands_stop(cd_cands *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	atomic_store(&c->stop, 1);
	pthread_cond_signal(&c->moved);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->th, NULL);
	for (int i = 0; i < NBLOCK; i++)
		free(c->ring[i].off);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->moved);
	free(c);
}
