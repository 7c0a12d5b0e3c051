/* Internals of diff.c and ci.c: arena strings for the results, which never fail
 * mid-run (the run checks the arena once at the end). */
#ifndef BD_DIFF_INT_H
#define BD_DIFF_INT_H

#include <stddef.h>
#include <stdint.h>

#include "beamdump/diff.h"
#include "beamdump/util.h"

/* A copy or printf in the arena; "" when out of memory (a->failed is then set). */
const char *df_strndup(bd_arena *a, const char *s, size_t n);
const char *df_printf(bd_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct bd_diff_priv {
	bd_arena arena;
	bd_arena keys_a, keys_b; /* process keys of each side (keyed on two threads) */
	bd_strmap pmap; /* "kind\x1fkey" -> procs index */
};

#endif
