/* Internals of the erl_crash.dump reader: the section vocabulary and the reader state
 * shared by the scanner (crashdump.c) and the section parsers (cd_sections.c). */
#ifndef BD_CD_INT_H
#define BD_CD_INT_H

#include "int.h"

typedef enum {
	CD_NONE,
	CD_HEADER,
	CD_SCHEDULER,
	CD_DIRTY_CPU_SCHED,
	CD_DIRTY_IO_SCHED,
	CD_OTHER_SCHED,
	CD_DIRTY_CPU_RQ,
	CD_DIRTY_IO_RQ,
	CD_MEMORY,
	CD_HASH_TABLE,
	CD_INDEX_TABLE,
	CD_ALLOCATED_AREAS,
	CD_ALLOCATOR,
	CD_PROC,
	CD_PORT,
	CD_ETS,
	CD_TIMER,
	CD_NODE,
	CD_NO_DIST,
	CD_VISIBLE_NODE,
	CD_HIDDEN_NODE,
	CD_NOT_CONNECTED,
	CD_LOADED_MODULES,
	CD_MOD,
	CD_FUN,
	CD_LEGACY,
	CD_UNKNOWN,
	/* term sections and what follows them: keep these last */
	CD_PROC_MESSAGES,
	CD_PROC_DICTIONARY,
	CD_PROC_STACK,
	CD_PROC_HEAP,
	CD_PERSISTENT_TERMS,
	CD_LITERALS,
	CD_BINARY,
	CD_ATOMS,
	CD_END,
	CD_ABORT,
} cd_tag;

typedef enum { ID_NONE, ID_DEC, ID_HEX, ID_IDENT, ID_PID, ID_PORT, ID_TEXT } cd_idkind;

typedef struct cd_section {
	cd_tag tag;
	const char *id, *id_end;
	const char *body, *end; /* body: after the tag line; end: start of the next tag */
	uint64_t hdr_off;       /* offset of the '=' */
} cd_section;

typedef struct cd_reader {
	bd_model *m;
	const char *base;
	uint64_t size;
	bd_error *err;
	cd_tag cur_tag;
	const char *cur_hdr, *cur_id, *cur_id_end, *cur_body;
	cd_section last_tag;   /* last tag other than =abort */
	int seen_end;
	const char *abort_reason;
	uint64_t abort_off;
	uint64_t counts[CD_ABORT + 1]; /* sections per known tag */
	bd_vec proc_secs;      /* queued =proc sections (parsed in parallel) */
	size_t proc_hint;      /* index of the last proc that received a data section */
	uint64_t released;     /* pages before this offset were dropped from memory */
	bd_prefetch *prefetch; /* long mailboxes summarised while reading, or NULL */
	bd_proc *attached;     /* the process that received the last data section */
	int ext;               /* parse only the bd_proc_ext fields of =proc sections */
	int late;              /* the model is open: intern with bd_model_intern_late */
	int streaming;         /* the input is still being decompressed (size: what is there) */
	size_t procs_hard;     /* streaming: the process table's cap once the size is known */
} cd_reader;

/* Streamed input: wait until [0, want) is there (or the input ended); r->size, the
 * model's size and the process table's cap follow. Returns the end of what is there. */
const char *cd_more(cd_reader *r, uint64_t want);
/* The process table is full: 1 when waiting for more of a streamed input made room. */
int cd_more_room(cd_reader *r);

void cd_header_version(cd_reader *r, const char *p, const char *eol);
void cd_header_slogan(cd_reader *r, const char *body, const char *sysver);
/* Release, erts version and word size from a "System version" text of any era. */
void cd_parse_version_text(cd_reader *r, const char *sv);
void cd_section_parse(cd_reader *r, const cd_section *s);
void cd_finish_truncation(cd_reader *r);
/* Parse the queued =proc sections. */
void cd_flush_procs(cd_reader *r);
/* Section-start candidates found ahead by a second thread (cd_scan.c): start returns
 * NULL for small inputs (scan in place then); next returns the first "\n=" whose '\n'
 * is in [from, lim) (calls must not go backwards), or NULL. */
typedef struct cd_cands cd_cands;
cd_cands *cd_cands_start(const char *base, uint64_t size);
const char *cd_cands_next(cd_cands *c, const char *from, const char *lim);
/* Position of the next "\n=" at or after p, or NULL (SSE2 where the build has it):
 * the one byte search both the reader and the scanning thread use. */
const char *cd_next_candidate(const char *p, const char *end);
/* The same, with the widest vector unit this CPU has (AVX2 where there is one). */
const char *cd_next_candidate_wide(const char *p, const char *end);
void cd_cands_stop(cd_cands *c);
/* Block size and the smallest input scanned ahead (defaults 4 MB and 64 MB; tests). */
extern uint64_t cd_scan_block, cd_scan_min;
/* Where a non-term section whose body starts at body ends: the '=' of the next line
 * the scanner takes for a tag, or end. */
const char *cd_section_end(const char *body, const char *end);
/* The model's proc_ext hook for text dumps: p's =proc section read again. */
int cd_proc_ext(const bd_model *m, const bd_proc *p, bd_proc_ext *out);

#endif
