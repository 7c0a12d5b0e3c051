/* Internals shared by the readers in formats/: number parsing, base64/hex decoding,
 * the input source, and the bd_model struct itself. The building blocks they share
 * with the other libraries (arena, vectors, interning, maps) are in beamdump/util.h. */
#ifndef BD_FORMATS_INT_H
#define BD_FORMATS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beamdump/model.h"
#include "beamdump/term.h"
#include "beamdump/util.h"

/* ---- number parsing on (p, end) ranges; return pointer past the digits or NULL ---- */
const char *bd_parse_u64(const char *p, const char *end, uint64_t *out);
const char *bd_parse_i64(const char *p, const char *end, int64_t *out);
/* Hex digit values, 0xff for other bytes: heap addresses mix digits and letters, and a
 * table has no branch to mispredict per digit. */
extern const uint8_t bd_hex_tab[256];
/* A hex number of 1 to 16 digits at p: the end of it, or NULL. Inline: the heap walks
 * parse one or more per line. */
static inline const char *bd_parse_hex(const char *p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = p;
	/* 16 digits at most; a 17th means too long */
	const char *stop = p < end ? (end - p > 17 ? p + 17 : end) : p;
	unsigned d;
	while (p < stop && (d = bd_hex_tab[(unsigned char)*p]) != 0xff) {
		v = (v << 4) | d;
		p++;
	}
	if (p == s || p - s > 16)
		return NULL;
	*out = v;
	return p;
}

/* ---- base64 / hex ---- */
/* Decode base64 (or hex pairs when hex != 0) text to bytes; returns bytes written
 * (<= cap), stops at the first invalid character. */
size_t bd_decode_data(const char *text, size_t len, int hex, uint8_t *out, size_t cap);
/* Decode [offset, offset+n) of the binary encoded by text without decoding the rest. */
size_t bd_decode_window(const char *text, size_t len, int hex, uint64_t offset, uint8_t *out,
			size_t n);

/* ---- the model ---- */
enum { BD_TAG_MAXCOUNT = 48 };

typedef struct bd_source bd_source;

/* pid -> row of the process table: open addressing over row numbers (4 bytes a slot;
 * the pids themselves are in the rows). A pid seen twice maps to its last row. */
typedef struct bd_pidx {
	uint32_t *slots;           /* row + 1 (low 28 bits) and a hash tag; 0 = empty */
	size_t cap, count;
} bd_pidx;

struct bd_model {
	bd_node_info node;
	bd_memory mem;
	bd_limits limits;
	bd_vec table_stats, scheds, procs, links, ports, ets, timers, dists, modules, funs,
		binaries, alloc_stats, areas, strings;
	struct { const char *tag; size_t len; uint64_t count; } tag_counts[BD_TAG_MAXCOUNT];
	size_t ntags, last_tag;
	bd_span literals, persistent_terms, atoms;
	int hex_data;              /* dump version < 0.5: binaries and E terms are hex */
	bd_arena arena;
	bd_intern intern;
	bd_source *src;
	const char *base;          /* source bytes (text dumps) */
	uint64_t size;
	/* bd_proc_ext rows parallel to procs (snapshots), or the reader's hook that
	 * reads one again from the source (text dumps); neither: all unknown. */
	bd_vec proc_exts;
	int (*proc_ext)(const bd_model *m, const bd_proc *p, bd_proc_ext *out);
	pthread_mutex_t late_lock; /* interning after open (bd_model_intern_late) */
	/* lookups built after reading */
	bd_pidx pid_index;         /* pid -> proc row */
	/* registered name -> first row, built on first use (under late_lock): as printed,
	 * and the text inside the quotes of a quoted one */
	bd_strmap names_exact, names_inner;
	int names_built;
	bd_u64map bin_index;       /* binary addr -> index */
	/* literal-area index, built on first use (mutable cache) */
	bd_u64map *lit_index;
	bool lit_index_built;
	/* snapshot-backed models resolve spans through this */
	int (*span_text)(const bd_model *m, bd_span s, const char **out, size_t *len);
	void *span_ctx;
	void (*free_ctx)(void *ctx);
	/* Snapshot-backed models load the process table on demand: procs_load fills all
	 * rows (and clears both hooks); proc_lookup finds one row (by text s, or by pid
	 * when s is NULL) loading only its chunk. NULL for text dumps. */
	int (*procs_load)(bd_model *m);
	const bd_proc *(*proc_lookup)(const bd_model *m, const char *s, bd_pid pid);
	/* Native crash (ELF core, crash guard): the bd_native table (native.c), and the
	 * options for resolving it while the model is read. */
	struct bd_native_store *native;
	const struct bd_core_opts *native_opts;
	/* formats/secret.c: the cookies of this model were looked for (set once) */
	_Atomic int secrets_learned;
	/* A model read from the cache: the file, mapped; its tables, strings and pid index
	 * lie in it (cache.c) */
	void *cache_map;
	size_t cache_map_len;
	int from_cache;
	/* A long mailbox still being summarised when the read ended (prefetch.c): waited
	 * for by bd_heap_mailbox_stats on that process, joined by free. */
	struct bd_prefetch *prefetch;
	/* Work still running on the model (the cache being written): joined by free. */
	void *job;
	void (*job_join)(void *job);
	/* Results derived from the source that are dear to compute (a mailbox summary),
	 * by key (bd_model_memo_*); under late_lock. memo_load fills them once from the
	 * model cache, memo_save keeps new ones there when the model is freed. */
	int summarize_mailboxes;   /* bd_open_opts.mailboxes: prefetch.c while reading */
	struct bd_memo *memo;
	size_t nmemo, memo_cap;
	int memo_loaded, memo_dirty;
	void *memo_ctx;
	void (*memo_load)(bd_model *m);
	void (*memo_save)(const bd_model *m);
	void (*memo_free)(void *ctx);
};

const char *bd_model_intern(bd_model *m, const char *s, size_t len);
/* Interning from a getter of an open model, which other threads may read. */
const char *bd_model_intern_late(const bd_model *m, const char *s, size_t len);
bd_model *bd_model_new(void);
void bd_model_count_tag(bd_model *m, const char *tag, size_t len, uint64_t count);
/* Build lookup maps once all tables are filled. */
int bd_model_finish(bd_model *m, bd_error *err);
/* ---- memo: results derived from the source, kept with the model cache ---- */
typedef struct bd_memo {
	uint64_t key;
	void *data;
	size_t len;
} bd_memo;
/* A copy of the bytes stored under key into *data (malloc'ed, the caller frees), or
 * 0 when there are none. Thread-safe. */
int bd_model_memo_get(const bd_model *m, uint64_t key, void **data, size_t *len);
/* Keep len bytes under key (replacing what was there). Thread-safe; no error: a
 * memo that cannot be kept is computed again next time. */
void bd_model_memo_put(const bd_model *m, uint64_t key, const void *data, size_t len);
/* Add a loaded entry (memo_load), taking data. */
void bd_model_memo_adopt(bd_model *m, uint64_t key, void *data, size_t len);

/* Add rows [from, procs.len) to the pid index (from = 0 rebuilds it). 0 or BD_ENOMEM. */
int bd_model_index_procs(bd_model *m, size_t from);
/* Row of pid in the pid index, or -1. */
int64_t bd_model_pid_row(const bd_model *m, bd_pid pid);
uint64_t bd_pid_pack(bd_pid p);

/* ---- input source: mmap'ed file or decompressed temporary ---- */
struct bd_source {
	const char *data;
	uint64_t size;
	void *map;
	uint64_t map_len;
	int fd;
	char cut_reason[200]; /* the bytes stop early: compressed stream cut or damaged,
			       * spool limit reached ("" when whole) */
	int crlf;             /* Windows line endings, turned into "\n" on the way in */
	char name[200];
	struct bd_stream *stream; /* the spool still under way (bd_source_open_stream) */
};
/* Rows a crash-dump text of size bytes may give the process table (at most max): a
 * process of a real dump takes a =proc section of 350 bytes or more, and most have
 * stack and heap sections too; a forged dump of bare "=proc:" lines gets no more rows
 * than its size allows, so the model stays smaller than its input. */
static inline size_t bd_procs_cap(uint64_t size, size_t max)
{
	uint64_t cap = size / 384 > (1u << 16) ? size / 384 : (1u << 16);
	return cap < max ? (size_t)cap : max;
}

/* The whole input: a spool (decompression, pipe) has ended when this returns. */
int bd_source_open(bd_source **out, const char *path, bd_error *err);
/* The same, but a spool goes on beside the caller on a thread of its own: data is
 * mapped at once, and size stays 0 until bd_source_finish; read [0, n) only after
 * bd_source_wait returned n or more. */
int bd_source_open_stream(bd_source **out, const char *path, bd_error *err);
/* Waits until want bytes are there or the spool ended (*ended, may be NULL); returns
 * the bytes there. A source that is not streaming: its size, at once. */
uint64_t bd_source_wait(bd_source *s, uint64_t want, int *ended);
/* Waits for the end of the spool: size, cut_reason and crlf are final. 0, or the
 * spool's own error (the temporary file could not be written). */
int bd_source_finish(bd_source *s, bd_error *err);
void bd_source_free(bd_source *s);
/* Drop pages of [0, upto) from the resident set (they stay in the page cache). */
void bd_source_release(bd_source *s, uint64_t upto);
void bd_source_release_range(bd_source *s, uint64_t off, uint64_t len);

/* The native-crash table's owner (native.c), freed with the model. */
void bd_native_store_free(struct bd_native_store *s);

/* ---- term lines (termline.c) ---- */
/* Skip one element starting at p; returns pointer past it or NULL. */
const char *bd_tl_skip_elem(const char *p, const char *end);
/* Skip an object (text after "ADDR:"); returns pointer past it or NULL. */
const char *bd_tl_skip_object(const char *p, const char *end);
/* End of the logical line starting at p in a term section of the given kind
 * (raw newlines inside atoms are skipped). Returns the position of the terminating
 * '\n' (or end), or NULL when the line does not parse. */
typedef enum { BD_TS_HEAP, BD_TS_STACK, BD_TS_MESSAGES, BD_TS_DICT, BD_TS_PTERMS } bd_ts_kind;
const char *bd_tl_line_end(bd_ts_kind kind, const char *p, const char *end);

/* ---- long mailboxes summarised while reading (prefetch.c) ---- */
typedef struct bd_prefetch bd_prefetch;
bd_prefetch *bd_prefetch_new(const bd_model *m);
/* The =proc table is complete: choose the longest queues. */
void bd_prefetch_choose(bd_prefetch *f);
/* Row p (in the model's table) has all its data sections: summarise it if chosen. */
void bd_prefetch_proc(bd_prefetch *f, const bd_proc *p);
/* Wait for the summaries under way, and free. */
void bd_prefetch_free(bd_prefetch *f);
/* The read is over: no new summary starts; the one under way goes on. */
void bd_prefetch_close(bd_prefetch *f);
/* Until the summary of pid's queue, if under way, is done (in the memo). */
void bd_prefetch_wait(bd_prefetch *f, bd_pid pid);

/* ---- heaps (heap.c) ---- */
/* h is opened while the dump is still being read: lookups that miss do not index the
 * heap, and bd_heap_mailbox_stats fails (keeping nothing) when one missed. */
void bd_heap_set_early(bd_heap *h);

/* ---- external term format (etf.c) ---- */
bd_term *bd_etf_decode(bd_arena *a, const uint8_t *p, size_t n, uint32_t budget);
/* Context of a distribution message: its atom translation table (ATOM_CACHE_REF i is
 * atoms[i]) and the dump's channel of a node name (UINT32_MAX when the dump does not
 * list it: such pids and ports decode as text naming the node). */
typedef struct bd_etf_ctx {
	const char *const *atoms;
	const uint32_t *atom_lens;
	uint32_t natoms;
	uint32_t (*node_channel)(void *ud, const char *name, size_t len);
	void *ud;
} bd_etf_ctx;
bd_term *bd_etf_decode_ctx(bd_arena *a, const uint8_t *p, size_t n, uint32_t budget,
			   const bd_etf_ctx *ctx);

#endif
