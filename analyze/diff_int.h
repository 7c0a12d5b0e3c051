/* Internals of diff.c and ci.c: a string arena and a string -> index hash map. */
#ifndef BD_DIFF_INT_H
#define BD_DIFF_INT_H

#include <stddef.h>
#include <stdint.h>

#include "beamdump/diff.h"

typedef struct df_chunk df_chunk;
typedef struct df_arena {
	df_chunk *head;
	size_t used, cap;
	int oom;
} df_arena;

void *df_alloc(df_arena *a, size_t n); /* zeroed, 8-aligned; NULL (and a->oom) on ENOMEM */
const char *df_strndup(df_arena *a, const char *s, size_t n);
const char *df_printf(df_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void df_arena_free(df_arena *a);

/* Open addressing map from byte strings to uint32 values. Keys are borrowed: they
 * must live as long as the map (arena or model strings). */
typedef struct df_map {
	struct df_slot { uint64_t hash; const char *key; uint32_t len, val; } *slots;
	size_t cap, count;
} df_map;

uint64_t df_hash(const char *s, size_t n);
/* Value of key, or -1. */
int64_t df_map_get(const df_map *m, const char *key, size_t len);
/* Insert key -> val unless present; returns the stored value, or -1 on ENOMEM. */
int64_t df_map_put(df_map *m, const char *key, size_t len, uint32_t val);
void df_map_free(df_map *m);

struct bd_diff_priv {
	df_arena arena;
	df_arena keys_a, keys_b; /* process keys of each side (keyed on two threads) */
	df_map pmap; /* "kind\x1fkey" -> procs index */
};

#endif
