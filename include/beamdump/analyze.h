/* Analyses over the model: allocator arithmetic and findings (what went wrong, who
 * did it, with the evidence). */
#ifndef BEAMDUMP_ANALYZE_H
#define BEAMDUMP_ANALYZE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* recon_alloc's arithmetic over the =allocator sections, current values.
 * used = blocks size (mbcs + mbcs_pool + sbcs), allocated = carriers size. */
typedef struct bd_alloc_sum {
	const char *alloc;        /* "binary_alloc"; NULL row = total */
	int instance;             /* -1 = all instances of alloc summed */
	uint64_t used, allocated; /* bytes, current */
	uint64_t used_max, allocated_max;
	uint64_t mbcs_used, mbcs_allocated, sbcs_used, sbcs_allocated;
	uint64_t calls;           /* <alloc>_alloc calls */
} bd_alloc_sum;

/* One row per allocator type (instances summed), sorted by allocated bytes, largest
 * first, plus per-instance rows when per_instance. Caller frees *out with free().
 * Returns 0 or BD_ENOMEM. May allocate. */
int bd_alloc_summarize(const bd_model *m, int per_instance, bd_alloc_sum **out, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
