/* Building blocks shared by beamdump's libraries (formats/, analyze/, cli/): an
 * arena, growable arrays with a hard maximum, a string map, string interning, a u64
 * hash map, byte hashing, and counts and sizes formatted for people. Implemented in formats/util.c, which every other library links.
 *
 * Internal: not a stable API, and no public header includes it. None of these
 * functions is async-signal-safe (they allocate); none blocks; none is thread-safe on
 * one object. */
#ifndef BEAMDUMP_UTIL_H
#define BEAMDUMP_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- arena: bump allocation in chunks, freed at once ---- */
typedef struct bd_arena_chunk bd_arena_chunk;
typedef struct bd_arena {
	bd_arena_chunk *head;
	size_t used, cap;   /* in head */
	size_t total;       /* bytes held */
	size_t limit;       /* hard cap on total, 0 = none */
	int failed;         /* an allocation returned NULL (sticky): check once at the end */
} bd_arena;

void *bd_arena_alloc(bd_arena *a, size_t size);   /* 8-aligned, zeroed; NULL when over limit */
char *bd_arena_strndup(bd_arena *a, const char *s, size_t n);
char *bd_arena_strdup(bd_arena *a, const char *s); /* NULL stays NULL */
/* printf into the arena; the text is cut at 1023 bytes. NULL on ENOMEM. */
char *bd_arena_printf(bd_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *bd_arena_vprintf(bd_arena *a, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void bd_arena_free(bd_arena *a);
/* The bytes handed out so far, chunk by chunk, newest chunk first: fn(ud, p, n). */
void bd_arena_each(const bd_arena *a, void (*fn)(void *ud, const char *p, size_t n), void *ud);

/* ---- growable array with a hard maximum ---- */
typedef struct bd_vec {
	void *data;
	size_t len, cap, elem, max;
} bd_vec;

#define BD_VEC_INIT(type, maxn) ((bd_vec){NULL, 0, 0, sizeof(type), (maxn)})
/* Pointer to a new zeroed element at the end, NULL when full or out of memory. */
void *bd_vec_push(bd_vec *v);
/* Room for n more elements at the end (not initialized), NULL when over the maximum
 * or out of memory. */
void *bd_vec_extend(bd_vec *v, size_t n);
void bd_vec_free(bd_vec *v);
#define BD_VEC_AT(v, type, i) (((type *)(v)->data)[i])

/* ---- string map: byte strings -> uint32 values (open addressing) ----
 * Keys are borrowed: they stay the caller's and must outlive the map (arena or model
 * strings), and must not be NULL. */
typedef struct bd_strmap_slot {
	uint64_t hash;
	const char *key; /* NULL: empty slot */
	uint32_t len, val;
} bd_strmap_slot;

typedef struct bd_strmap {
	bd_strmap_slot *slots;
	size_t cap, count;
} bd_strmap;

/* Value of key, or -1. */
int64_t bd_strmap_get(const bd_strmap *m, const char *key, size_t len);
/* Insert key -> val unless key is there; returns the value stored for key (val when
 * it was added), or -1 on ENOMEM. */
int64_t bd_strmap_put(bd_strmap *m, const char *key, size_t len, uint32_t val);
void bd_strmap_free(bd_strmap *m);

/* ---- interning: equal bytes -> equal pointer (NUL-terminated copy in the arena) ---- */
typedef struct bd_intern {
	bd_strmap map; /* the copies */
	bd_arena *arena;
} bd_intern;

const char *bd_intern_str(bd_intern *in, const char *s, size_t len);
void bd_intern_free(bd_intern *in);

/* ---- u64 -> u64 hash map (open addressing), keys != UINT64_MAX ---- */
typedef struct bd_u64map {
	uint64_t *keys, *vals;
	size_t cap, count;
} bd_u64map;
int bd_u64map_put(bd_u64map *m, uint64_t key, uint64_t val);
/* Returns 1 and sets *val when found. */
int bd_u64map_get(const bd_u64map *m, uint64_t key, uint64_t *val);
void bd_u64map_free(bd_u64map *m);

uint64_t bd_hash_bytes(const void *p, size_t n);

/* ---- numbers for people (text output, finding titles) ---- */
/* "51,134" into buf, or "?" for BD_UNKNOWN. Returns buf. */
const char *bd_count_fmt(uint64_t v, char *buf, size_t cap);
/* "12.8 MB" (decimal units) into buf, or "?" for BD_UNKNOWN. Returns buf. */
const char *bd_bytes_fmt(uint64_t v, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
