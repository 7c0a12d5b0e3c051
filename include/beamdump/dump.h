/* The .bdump snapshot writer: a sink that takes records from a producer (converter,
 * live capture, crash-time capture) and writes the container of docs/FORMAT.md.
 *
 * Usage: size the arena with bd_writer_size(), give it to bd_writer_init() (normal
 * context: it opens NAME.partial, pre-faults the arena and compresses a dry-run
 * record), then call bd_writer_record() for each record and bd_writer_finish() to
 * write the index and trailer and rename NAME.partial to NAME.
 *
 * After a successful init every call below is async-signal-safe: no malloc, no stdio,
 * no locks; only write, fsync, close, rename, clock_gettime and mem* functions are
 * called, and all of them were called once during init so no lazy binding is left.
 * The writer is not thread-safe: one thread (or one signal handler) at a time; a call
 * made while another is running (a handler interrupting the writer) returns BD_EUSAGE.
 * Errors are sticky: after the first failure every call returns the same error.
 * Installing handlers, an alternate signal stack and masking other signals while
 * writing are the caller's job (see reference/anchors.md §7.4). */
#ifndef BEAMDUMP_DUMP_H
#define BEAMDUMP_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "container.h"
#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bd_writer bd_writer;

#define BD_WRITER_OPTS_VERSION 1
typedef struct bd_writer_opts {
	unsigned version;     /* BD_WRITER_OPTS_VERSION */
	int level;            /* zstd level, 1..19 (default 3) */
	size_t max_record;    /* largest payload accepted, bytes (default 1 MiB) */
	uint32_t max_records; /* index capacity (default 65536) */
	uint64_t max_bytes;   /* byte budget for the whole file, 0 = none */
	uint64_t max_millis;  /* time budget from init, 0 = none */
	int no_fsync;         /* 1: skip fsync on finish (tests) */
	const char *producer; /* short text stored in the file header, may be NULL */
} bd_writer_opts;
#define BD_WRITER_OPTS_INIT {BD_WRITER_OPTS_VERSION, 3, 1u << 20, 1u << 16, 0, 0, 0, NULL}

/* Trailer flags BD_WF_* are in container.h. */

/* Arena bytes needed for these options (NULL: defaults). 0 if the options are
 * invalid. Not async-signal-safe (asks zstd for its workspace size); no allocation. */
size_t bd_writer_size(const bd_writer_opts *o);

/* Place a writer in arena (size >= bd_writer_size(o), 64-byte aligned is best), open
 * "path.partial" for writing (truncating), pre-fault the arena, write the file header
 * record and run a dry-run compression of a max_record payload. *out points into the
 * arena; nothing is allocated. Errors: BD_EUSAGE, BD_ENOMEM (arena too small), BD_EIO.
 * Not async-signal-safe. */
int bd_writer_init(bd_writer **out, void *arena, size_t size, const char *path,
		   const bd_writer_opts *o, bd_error *err);

/* Compress and append one record. len <= max_record. Returns 0; BD_EBUDGET when a
 * budget (bytes, time, index capacity) refuses it (the file stays valid; finish still
 * works); BD_EUSAGE for a too large payload (refused, file stays valid); BD_EIO (sticky)
 * when writing failed. Async-signal-safe. */
int bd_writer_record(bd_writer *w, const bd_record *r, const void *payload, size_t len);

/* Write the END record, the index and the trailer, fsync, close and rename
 * "path.partial" to "path". Returns 0 or the sticky error (then the .partial file is
 * closed and left for linear-scan recovery). Async-signal-safe. */
int bd_writer_finish(bd_writer *w);

/* Close the file without index or trailer (it stays "path.partial"). Async-signal-safe. */
void bd_writer_abandon(bd_writer *w);

/* Close and delete the unfinished file (an interactive writer that failed: a full
 * disk keeps no half snapshot). Async-signal-safe. */
void bd_writer_discard(bd_writer *w);

/* Sticky error: 0 or a negative BD_E* code; details copied to err when not NULL.
 * Async-signal-safe. */
int bd_writer_error(const bd_writer *w, bd_error *err);

/* BD_WF_* flags so far, bytes written so far, records written so far.
 * Async-signal-safe. */
uint32_t bd_writer_flags(const bd_writer *w);
uint64_t bd_writer_bytes(const bd_writer *w);
uint32_t bd_writer_records(const bd_writer *w);

#ifdef __cplusplus
}
#endif
#endif
