/* The fuzz targets' common part: walk an opened model as the commands do, and run a
 * target as a plain program over files (the replay build of every target). */
#ifndef BD_FUZZ_WALK_H
#define BD_FUZZ_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "beamdump/model.h"

/* Every table and string, the detail of the processes (stack, messages, mailbox
 * shapes, dictionary, behaviour state, names), literals and persistent terms, the
 * binaries, then analyze, the binary references, the allocator summary and a diff of
 * the model with itself: what info, top, proc, state, analyze and diff read. */
void fz_walk(const bd_model *m);

/* The HTML report of m written to /dev/null (report.c). fz_walk renders it for a
 * quarter of the inputs (by input size: deterministic for an input). */
void fz_report(const bd_model *m);

/* libFuzzer's entry point, defined by each target. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
