/* Internals of the .bdump snapshot (docs/FORMAT.md): byte buffers and varints, the
 * columnar table schemas, and the term-section codec shared by the converter
 * (snap_write.c) and the reader (snapshot.c). */
#ifndef BD_SNAPSHOT_INT_H
#define BD_SNAPSHOT_INT_H

#include "beamdump/container.h"
#include "int.h"

/* ---- growable byte buffer (hard cap; sets oom instead of failing each call) ---- */
typedef struct sbuf {
	uint8_t *p;
	size_t len, cap;
	int oom;
} sbuf;

int sb_grow(sbuf *b, size_t need);
void sb_free(sbuf *b);
static inline int sb_room(sbuf *b, size_t n)
{
	return b->len + n <= b->cap || sb_grow(b, n) == 0;
}
static inline void sb_u8(sbuf *b, uint8_t v)
{
	if (sb_room(b, 1))
		b->p[b->len++] = v;
}
static inline void sb_mem(sbuf *b, const void *s, size_t n)
{
	if (n && sb_room(b, n)) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
	}
}
static inline void sb_var(sbuf *b, uint64_t v)
{
	if (!sb_room(b, 10))
		return;
	uint8_t *q = b->p + b->len;
	while (v >= 0x80) {
		*q++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*q++ = (uint8_t)v;
	b->len = (size_t)(q - b->p);
}
static inline uint64_t zz_enc(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t zz_dec(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* ---- bounded reader over untrusted bytes: errors are sticky in bad ---- */
typedef struct scur {
	const uint8_t *p, *end;
	int bad;
} scur;

static inline uint8_t sc_u8(scur *c)
{
	if (c->p >= c->end) {
		c->bad = 1;
		return 0;
	}
	return *c->p++;
}
static inline uint64_t sc_var(scur *c)
{
	uint64_t v = 0;
	for (int s = 0; s < 64; s += 7) {
		if (c->p >= c->end) {
			c->bad = 1;
			return 0;
		}
		uint8_t b = *c->p++;
		v |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80))
			return v;
	}
	c->bad = 1;
	return 0;
}
static inline const uint8_t *sc_mem(scur *c, uint64_t n)
{
	if (n > (uint64_t)(c->end - c->p)) {
		c->bad = 1;
		c->p = c->end;
		return NULL;
	}
	const uint8_t *r = c->p;
	c->p += n;
	return r;
}

/* ---- columnar tables ---- */
enum {
	SC_UINT = 1, /* unsigned of 1/2/4/8 bytes; stored as v+1 (all-ones -> 0) */
	SC_UINTD,    /* as SC_UINT, delta to the previous row, zigzag */
	SC_SINT,     /* signed 4/8 bytes, zigzag */
	SC_STR,      /* const char *: string id, 0 = NULL */
	SC_F64,      /* double, 8 bytes LE */
	SC_PID,      /* bd_pid: node+1, num, serial */
	SC_SPAN,     /* bd_span: length only; data lives in stream records */
	SC_BLOB,     /* bd_span: bytes stored inline (len+1, bytes; 0 = none) */
};

typedef struct snap_col {
	uint16_t id;    /* stable column id: never reuse */
	uint8_t type;   /* SC_* */
	uint8_t size;   /* field bytes (SC_UINT/SC_SINT) */
	uint16_t off;   /* offsetof in the row struct */
	uint8_t part;   /* SC_SPAN: which span of the row (proc: 0..3) */
	uint8_t req;    /* SC_STR the text reader always sets: never NULL after decoding */
} snap_col;

/* What a required string reads as when a file leaves it out (id 0, or no column): the
 * model's consumers may rely on these strings as they do for text dumps. */
extern const char snap_str_unknown[];

typedef struct snap_table {
	uint16_t id;    /* record instance */
	const char *name;
	size_t row_size;
	const snap_col *cols;
	size_t ncols;
} snap_table;

enum {
	ST_NODE = 1, ST_MEMORY, ST_LIMITS, ST_MODEL, ST_TAGS, ST_TABLE_STATS, ST_SCHEDS,
	ST_PROCS, ST_LINKS, ST_PORTS, ST_ETS, ST_TIMERS, ST_DISTS, ST_MODULES, ST_FUNS,
	ST_BINARIES, ST_ALLOC_STATS, ST_AREAS, ST_LOOSE, ST_BINREFS, ST_PIDIDX, ST_NAMES, ST__COUNT
};

/* Model-level facts that are not in a public struct. */
typedef struct snap_modelrow {
	uint64_t literals_len, pterms_len, atoms_len;
	int32_t hex_data;
	int32_t ntags;
} snap_modelrow;
typedef struct snap_tagrow {
	const char *tag;
	uint64_t count;
} snap_tagrow;
/* A row of ST_PROCS: the table row and the rest. Files before column 32 hold the
 * last calls as a loose string (column 26, last_calls_idx; BD_UNKNOWN = none). */
typedef struct snap_procrow {
	bd_proc p;
	bd_proc_ext x;
	uint64_t last_calls_idx;
} snap_procrow;

/* Binary -> referrers (snapshot only): one row per (binary, process) pair. */
typedef struct snap_binref {
	uint64_t bin;  /* index into binaries */
	uint64_t proc; /* index into procs */
} snap_binref;

/* Finding one process without loading them all: ST_PIDIDX holds every process's
 * packed pid (bd_pid_pack) with its row, sorted by (pid, row), and each chunk's record
 * key is its first pid; ST_NAMES holds (row, name) of the named processes in row order. */
typedef struct snap_pidrow {
	uint64_t pid;
	uint64_t row;
} snap_pidrow;
typedef struct snap_namerow {
	uint64_t row;
	const char *name;
} snap_namerow;

const snap_table *snap_table_get(unsigned id);

/* String ids for the encoder: returns the id of s (0 for NULL), new ids are
 * queued by the callback's owner. */
typedef uint64_t (*snap_str_id_fn)(void *ctx, const char *s);
/* Blob reader for the encoder: the bytes of a span. */
typedef int (*snap_blob_fn)(void *ctx, bd_span s, const char **out, size_t *len);

/* Encode rows [0, n) of table t (rows points at the first) into out. */
void snap_table_encode(sbuf *out, const snap_table *t, const void *rows, size_t n,
		       snap_str_id_fn str_id, snap_blob_fn blob, void *ctx);

/* Decoder callbacks: string by id; blob bytes -> span handle; span length -> handle. */
typedef struct snap_dec_cb {
	const char *(*str)(void *ctx, uint64_t id, int *bad);
	bd_span (*blob)(void *ctx, const uint8_t *p, size_t n);
	bd_span (*span)(void *ctx, unsigned table, uint64_t row, unsigned part, uint64_t len);
	void *ctx;
} snap_dec_cb;

/* Decode a table chunk into rows (n rows of t->row_size, already set to defaults by
 * snap_table_defaults). first = index of the first row (for span handles). Returns 0
 * or -1 with a reason in *why. */
int snap_table_decode(const snap_table *t, const uint8_t *p, size_t len, void *rows,
		      size_t n, uint64_t first, const snap_dec_cb *cb, const char **why);
void snap_table_defaults(const snap_table *t, void *rows, size_t n);
/* Row count stated by a chunk payload (first varint), or -1. */
int64_t snap_table_rows(const uint8_t *p, size_t len);

/* ---- term-section codec ---- */
/* Section kinds (the SEC op). Proc parts 0..3 match the span parts of ST_PROCS. */
enum {
	SK_MESSAGES = 0, SK_DICT = 1, SK_STACK = 2, SK_HEAP = 3,
	SK_LITERALS = 4, SK_PTERMS = 5, SK_TEXT = 6, SK_BINARY = 7, SK__COUNT
};
/* Stream object ids of BD_REC_TERMTEXT. */
enum { TT_LITERALS = 0, TT_PTERMS = 1, TT_ATOMS = 2 };

/* Dictionary of byte strings (atoms, stack texts) -> ids, for the encoder. */
typedef struct snap_dict {
	bd_strmap ids;  /* bytes -> id (the bytes are borrowed) */
	size_t count;
	/* entries in id order, for flushing */
	const char **ent_s;
	uint32_t *ent_len;
	size_t ent_cap;
	size_t flushed; /* ids below this were written */
	int oom;
	/* called for each Yc (refc binary) the encoder sees, may be NULL */
	void (*refc)(void *ud, uint64_t addr);
	void *refc_ud;
	/* when set, new keys are copied here (text that does not outlive the writer) */
	bd_arena *keep;
	/* context changes of the line being encoded, undone if it falls back to RAW */
	struct snap_undo { uint64_t *p; uint64_t old; } *undo;
	size_t nundo, undo_cap;
} snap_dict;
void snap_dict_free(snap_dict *d);

/* Delta contexts (docs/FORMAT.md §3.3), reset at each record start. Pointers are
 * predicted per slot (object kind x element position): consecutive objects of one
 * shape point at consecutive objects, so the deltas repeat. A heap line's address is
 * usually a pointer just seen (depth-first order): then it is coded as that pointer's
 * age in the ring, else as a delta to the last such "root" line. */
#define SNAP_RING 8
#define SNAP_SLOT_ROWS 16
#define SNAP_SLOT_COLS 8
typedef struct snap_ctx {
	uint64_t root, label, bin, integer;
	uint64_t ring_pos;
	uint64_t ring[SNAP_RING];
	uint64_t slot[SNAP_SLOT_ROWS][SNAP_SLOT_COLS];
} snap_ctx;

/* Encode one line of a section of kind k starting at p (end = section end) into
 * out: a structured op, or a RAW op for what does not parse canonically. Returns
 * the position after the line (after its '\n'), never p itself. */
const char *snap_enc_line(sbuf *out, snap_ctx *cx, snap_dict *d, int k, const char *p,
			  const char *end);
/* Is text canonical base64 of some bytes? Then write them to out and return 1. */
int snap_b64_decode(sbuf *out, const char *text, size_t len);
void snap_b64_encode(sbuf *out, const uint8_t *p, size_t n);

/* Ops of the stream records. */
enum {
	OP_BEGIN = 0x01, /* varint id: object starts */
	OP_CONT = 0x02,  /* varint id: object continues from the previous record */
	OP_SEC = 0x03,   /* u8 kind: section of the current object */
	OP_RAW = 0x04,   /* varint n, n bytes of verbatim text */
	OP_BIN = 0x05,   /* varint n, n raw bytes of a base64 binary (SK_BINARY) */
	OP_OBJ = 0x10,   /* heap line */
	OP_STACK_Y = 0x11,
	OP_STACK_LABEL = 0x12,
	OP_MSG = 0x13,
	OP_DICT = 0x14,
	OP_PTERM = 0x15,
	OP_OBJ_REF = 0x18, /* 0x18..0x1F: heap line at the address of the k-th last pointer */
};

/* Id ranges that were in lost records (strings, dictionary entries). They are kept as
 * ranges, not filled in: a damaged header may claim 2^32 ids, and a range costs the
 * same whatever its length. Ranges are added in increasing id order. */
typedef struct snap_hole {
	uint64_t first, end; /* ids [first, end) are lost */
	uint64_t lost;       /* ids lost up to end, this range included */
} snap_hole;

typedef struct snap_holes {
	snap_hole *v;
	size_t n, cap;
} snap_holes;

/* Ids lost so far. */
static inline uint64_t snap_holes_lost(const snap_holes *h)
{
	return h->n ? h->v[h->n - 1].lost : 0;
}

/* Mark [first, end) lost (first at or past the last range's end): 0 or -1 (memory). */
int snap_holes_add(snap_holes *h, uint64_t first, uint64_t end);

/* The dense index of id (its place among the ids that were read), or UINT64_MAX when
 * id is in a lost range. */
uint64_t snap_holes_map(const snap_holes *h, uint64_t id);

/* Term dictionary as the decoder sees it: n ids, those in holes lost, the others in
 * s/len at their dense index. */
typedef struct snap_tdict {
	const char **s;
	uint32_t *len;
	size_t n;
	snap_holes holes;
} snap_tdict;

/* Decode one line op (op already read) from c into out (NULL: skip, keeping the
 * contexts right; a dictionary id without an entry is then no error, as the entry may
 * be in a skipped record). Returns 0 or -1 on malformed input. */
int snap_dec_line(scur *c, int op, snap_ctx *cx, const snap_tdict *d, sbuf *out);

#endif
