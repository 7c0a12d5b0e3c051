/* Helpers for the snapshot tests: records in memory, writing them with the writer,
 * comparing two models table by table and span by span. */
#ifndef BD_SNAPUTIL_H
#define BD_SNAPUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "beamdump/dump.h"
#include "beamdump/model.h"
#include "beamdump/snapshot.h"

typedef struct su_rec {
	bd_record r;
	void *p;
	size_t n;
} su_rec;

typedef struct su_recs {
	su_rec *v;
	size_t n, cap;
} su_recs;

/* Convert m into records kept in memory (normal context). Asserts success. */
void su_collect(const bd_model *m, su_recs *out);
/* Same with converter options; returns bd_snapshot_write's code. */
int su_collect_opts(const bd_model *m, const bd_snapshot_opts *o, su_recs *out);
void su_recs_free(su_recs *r);
/* Write recs to path with the writer (arena from malloc). Returns bd_writer_finish's code. */
int su_write(const su_recs *recs, const char *path, const bd_writer_opts *o);
/* Convert the dump at src into a snapshot at dst (through su_collect and su_write). */
void su_convert(const char *src, const char *dst);
/* 0 when the models hold the same rows, strings and span texts; else -1 and why. */
int su_models_equal(const bd_model *a, const bd_model *b, char *why, size_t cap);
/* A temp path ending in suffix (static buffer per call slot). */
const char *su_temp(const char *suffix);

#endif
