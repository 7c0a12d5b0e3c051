/* Writing a model as a .bdump snapshot (docs/FORMAT.md). The converter turns a model
 * (from any reader) into container records and hands them to a sink, one at a time:
 * normally bd_writer_record() of dump.h (see cli/cmd_convert.c), in tests a list in
 * memory. Reading a snapshot needs nothing here: bd_model_open() recognises it. */
#ifndef BEAMDUMP_SNAPSHOT_H
#define BEAMDUMP_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "container.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Receives each record; returns 0, or BD_EBUDGET to end the conversion cleanly
 * (the snapshot then holds what was sunk so far), or another negative code to fail.
 * payload is only valid during the call. */
typedef int (*bd_snapshot_sink)(void *ctx, const bd_record *r, const void *payload,
				size_t len);

#define BD_SNAPSHOT_OPTS_VERSION 1
typedef struct bd_snapshot_opts {
	unsigned version;       /* BD_SNAPSHOT_OPTS_VERSION */
	size_t record_target;   /* raw bytes per data record (default 1 MiB) */
	size_t max_record;      /* the sink's limit per payload (default 4 MiB) */
	uint32_t table_rows;    /* rows per table chunk (default 4096) */
	int redact;             /* a snapshot safe to share: binaries, strings, timer
				 * messages and port commands blanked, the cookie hidden
				 * (docs/FORMAT.md "Redacted snapshots") */
} bd_snapshot_opts;
#define BD_SNAPSHOT_OPTS_INIT {BD_SNAPSHOT_OPTS_VERSION, 256u * 1024, 4u << 20, 4096, 0}

/* What the conversion did (for progress and benchmarks). */
typedef struct bd_snapshot_stats {
	uint64_t records, raw_bytes;      /* records sunk and their payload bytes */
	uint64_t text_bytes;              /* term-section text bytes encoded */
	uint64_t lines, raw_lines;        /* term lines, of which kept verbatim */
	uint64_t budget_stop;             /* 1 if the sink ended it with BD_EBUDGET */
} bd_snapshot_stats;

/* Convert m into records (streaming: memory stays at a few record buffers plus the
 * string and atom dictionaries). Returns 0, BD_EBUDGET (stopped by the sink; what was
 * sunk is a valid prefix), or an error from the sink or BD_ENOMEM. stats may be NULL.
 * Not async-signal-safe; allocates. */
int bd_snapshot_write(const bd_model *m, bd_snapshot_sink sink, void *ctx,
		      const bd_snapshot_opts *o, bd_snapshot_stats *stats, bd_error *err);

#ifdef __cplusplus
}
#endif
#endif
