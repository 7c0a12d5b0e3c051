/* .bdump snapshot reader (docs/FORMAT.md). Opening finds the records through the
 * trailer and index (or, when the writer did not finish, by scanning frame by
 * frame), checks every record's CRC, and fills the model from the string, table and
 * dictionary records. Term sections, literals and binaries stay compressed in the file;
 * the model's span_text hook regenerates their exact dump text on first use, so the
 * lazy decoders of heap.c read a snapshot exactly as they read a text dump. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "native_int.h"
#include "readers.h"
#include "snapshot_int.h"

#define MAX_RAW ((uint64_t)1 << 31)  /* largest payload we decompress */
#define REC_CACHE 4                  /* decompressed stream records kept */
/* A payload may expand to RAW_FLOOR bytes, or RAW_RATIO times its compressed size
 * beyond that: the writer's records are a few MiB, and a zstd bomb (2 GiB of zeros in
 * 64 KiB) is refused before it is decompressed. */
#define RAW_FLOOR ((uint64_t)32 << 20)
#define RAW_RATIO 256
/* What the model may keep of a snapshot (rows, strings, dictionary): BUDGET_RATIO
 * bytes per byte of file, at least BUDGET_FLOOR. A real snapshot needs up to ~40
 * (400k alike processes stored in 7 bytes each, 280 bytes each in the model); row
 * counts and ids in forged headers cannot make it allocate more. */
#define BUDGET_FLOOR ((uint64_t)256 << 20)
#define BUDGET_RATIO 128
/* The dump text regenerated from term sections (and kept for the model's life) is
 * bounded apart: a snapshot is 0.2 % to 8 % of its dump, so walking every process may
 * regenerate 500 times the file; more than TEXT_RATIO times (at least TEXT_FLOOR) is
 * refused, for the objects asked last. */
#define TEXT_RATIO 1024
#define TEXT_FLOOR ((uint64_t)512 << 20)

enum { HK_PROC = 1, HK_BLOB = 2, HK_BIN = 3, HK_TT = 4 };
#define HANDLE(kind, row, part) (((uint64_t)(kind) << 56) | ((uint64_t)(row) << 3) | (part))

typedef struct srec {
	uint64_t off, key, raw;
	uint32_t comp, instance, seq, items;
	uint16_t type, version; /* type 0: a damaged header found by scanning (unknown) */
	uint8_t bad;            /* damaged or undecodable: skipped (docs/FORMAT.md §2.1) */
	const char *why;        /* what is wrong with a bad record */
} srec;

/* Rows of a table lost with skipped chunks, in the writer's numbering (sorted):
 * references into the table are moved down past them, or cleared. */
typedef struct rowgaps {
	struct gap { uint64_t first, n, before; } *v; /* before: rows lost in earlier gaps */
	size_t len, cap;
} rowgaps;

/* Where each object starts inside a decompressed stream record. */
typedef struct checkpoint {
	uint64_t id;
	size_t pos;        /* offset of the op after OP_BEGIN */
	snap_ctx cx;
} checkpoint;

typedef struct cached_rec {
	size_t rec;        /* index into recs, SIZE_MAX = empty */
	uint8_t *data;
	size_t len;
	checkpoint *cps;
	size_t ncps;
	int starts_cont;   /* first op is OP_CONT */
	uint64_t cont_id;
	uint64_t use;
} cached_rec;

typedef struct stream {
	size_t *recs;      /* indexes into recs, in seq order */
	size_t n;
	size_t *with_items;/* subset with items > 0 (binary search on key) */
	size_t nwith;
} stream;

typedef struct text_entry {
	sbuf part[SK__COUNT];
	int rc;
	int partial;       /* ran into the end of a cut file: may be short */
} text_entry;

typedef struct snap {
	const uint8_t *base;
	uint64_t size;
	const char *name;
	srec *recs;
	size_t nrecs;
	int scanned;          /* no usable trailer: records found by scanning */
	uint32_t flags;       /* trailer flags */
	int have_end;
	uint64_t stop_off;    /* where a scan stopped */
	const char *stop_why;
	int cut;              /* scanned, and the data ends before the END record */
	/* damage: records skipped at open (bad in recs), the first one described */
	size_t nbad, nunknown; /* nunknown: damaged headers, identity unknown */
	char bad_first[240];
	int strings_lost;     /* ids past the last one read may be in a lost record */
	rowgaps link_gaps, loose_gaps;
	stream procdata, bindata, termtext;
	snap_tdict dict;
	uint8_t **dict_bufs;  /* decompressed TERMDICT payloads (dict points into them) */
	size_t ndict_bufs;
	const char **strings; /* dense index (snap_holes_map) -> string, [0] = NULL */
	size_t nstrings;      /* ids known, read or lost */
	snap_holes string_holes;
	struct blob { const char *p; size_t n; } *blobs;
	size_t nblobs, blobs_cap;
	bd_u64map proc_texts, bin_texts;   /* row -> text_entry* */
	text_entry *tt[3];
	ZSTD_DCtx *dctx;
	cached_rec cache[REC_CACHE];
	uint64_t use_clock;
	bd_model *m;
	char errbuf[256];
	int nv_known;         /* next_valid_record's last answer: nv_found after nv_from */
	uint64_t nv_from, nv_found;
	uint64_t budget;      /* bytes the model may still take (BUDGET_*) */
	uint64_t text_budget; /* bytes of regenerated text it may still keep (TEXT_RATIO) */
	/* lazy process table */
	size_t *proc_chunks;  /* record index of each ST_PROCS chunk */
	size_t nproc_chunks;
	uint8_t *proc_loaded;
	size_t *pid_chunks;   /* record index of each ST_PIDIDX chunk */
	size_t npid_chunks;
	snap_namerow *names;  /* named processes, row order */
	size_t nnames;
	/* The caches above change on reads; the model may be read from several threads
	 * (analyze summarises a mailbox on a second one), so the hooks take this lock. */
	pthread_mutex_t lock;
} snap;

int bd_snapshot_is(const char *data, uint64_t size)
{
	/* Either the frame magic or the record signature: a damaged first header is then
	 * reported as such instead of "not a crash dump". */
	const uint8_t *d = (const uint8_t *)data;
	return (size >= 4 && bd_get32(d) == BD_SKIP_MAGIC) ||
	       (size >= 12 && memcmp(d + 8, BD_REC_SIG, 4) == 0);
}

/* Take bytes of the model budget: 0, or -1 when they would pass it. */
static int charge(snap *s, uint64_t bytes)
{
	if (bytes > s->budget)
		return -1;
	s->budget -= bytes;
	return 0;
}

static void refund(snap *s, uint64_t bytes) { s->budget += bytes; }

/* Types whose items are rows, strings or objects of at least one payload byte each. */
static int items_in_payload(unsigned type)
{
	return type == BD_REC_STRINGS || type == BD_REC_TABLE || type == BD_REC_TERMDICT ||
	       type == BD_REC_PROCDATA || type == BD_REC_TERMTEXT || type == BD_REC_BINDATA;
}

/* ---- naming records in messages ---- */
static const char *type_name(unsigned type)
{
	switch (type) {
	case BD_REC_FILE: return "file header";
	case BD_REC_END: return "end";
	case BD_REC_INDEX: return "index";
	case BD_REC_STRINGS: return "strings";
	case BD_REC_TABLE: return "table";
	case BD_REC_TERMDICT: return "term dictionary";
	case BD_REC_PROCDATA: return "process data";
	case BD_REC_TERMTEXT: return "literals/persistent terms/atoms";
	case BD_REC_BINDATA: return "binary data";
	case BD_REC_NATIVE: return "native crash";
	}
	return "unknown type";
}

/* "record 17 (table processes, chunk 3) at offset 41234" */
static const char *rec_name(const snap *s, size_t i, char *buf, size_t cap)
{
	const srec *r = &s->recs[i];
	const snap_table *t = r->type == BD_REC_TABLE ? snap_table_get(r->instance) : NULL;
	if (!r->type)
		snprintf(buf, cap, "record %zu (damaged header) at offset %llu", i,
			 (unsigned long long)r->off);
	else
		snprintf(buf, cap, "record %zu (%s%s%s, chunk %u) at offset %llu", i,
			 type_name(r->type), t ? " " : "", t ? t->name : "", r->seq,
			 (unsigned long long)r->off);
	return buf;
}

static int rec_error(snap *s, bd_error *err, int code, size_t i, const char *why)
{
	char name[128];
	return bd_error_set(err, code, 0, "%s: %s: %s", s->name, rec_name(s, i, name, sizeof name),
			    why);
}

/* What the model loses with a skipped table chunk. */
static void table_loss(const srec *r, char *buf, size_t cap)
{
	const snap_table *t = snap_table_get(r->instance);
	unsigned long long first = r->key, last = r->key + r->items - 1;
	const char *name = !t ? "?" : t->id == ST_LOOSE ? "loose strings" : t->name;
	if (!t)
		snprintf(buf, cap, "its contents unknown");
	else if (t->id == ST_MODEL)
		snprintf(buf, cap, "literals, persistent terms and atoms unknown");
	else if (t->id < ST_MODEL)
		snprintf(buf, cap, "%s table unknown", name);
	else if (t->id == ST_PIDIDX || t->id == ST_NAMES || t->id == ST_BINREFS || !r->items)
		snprintf(buf, cap, "nothing lost"); /* the process rows say it all */
	else if (r->items == 1)
		snprintf(buf, cap, "%s row %llu missing", name, first);
	else
		snprintf(buf, cap, "%s rows %llu to %llu missing", name, first, last);
}

/* What the model loses with a skipped record (docs/FORMAT.md §2.1). */
static void loss_text(const srec *r, char *buf, size_t cap)
{
	const char *what = "its contents unknown";
	switch (r->type) {
	case BD_REC_END: what = "nothing lost"; break;
	case BD_REC_STRINGS: what = "some names and texts unknown"; break;
	case BD_REC_TERMDICT: what = "term data that uses its atoms unknown"; break;
	case BD_REC_PROCDATA: what = "heap, stack and messages of some processes unknown"; break;
	case BD_REC_TERMTEXT: what = "literals, persistent terms and atoms unknown"; break;
	case BD_REC_BINDATA: what = "contents of some binaries unknown"; break;
	case BD_REC_NATIVE: what = "the native crash (signal, threads, frames) unknown"; break;
	case BD_REC_TABLE: table_loss(r, buf, cap); return;
	}
	snprintf(buf, cap, "%s", what);
}

/* Skip record i: damaged, or it cannot be decoded. Counted, and the first one is
 * described for the model's "skipped" note. */
static void skip_rec(snap *s, size_t i, const char *why)
{
	srec *r = &s->recs[i];
	if (r->bad)
		return;
	r->bad = 1;
	r->why = why;
	if (!r->type)
		s->nunknown++;
	if (s->nbad++)
		return;
	char name[128], loss[96];
	loss_text(r, loss, sizeof loss);
	snprintf(s->bad_first, sizeof s->bad_first, "damaged snapshot %s (%s): %s",
		 rec_name(s, i, name, sizeof name), why, loss);
}

/* ---- record headers ---- */
/* Parse and check the record header at off. Returns NULL or the reason it is bad. */
static const char *read_header(const snap *s, uint64_t off, srec *r, int check_payload)
{
	if (off > s->size || s->size - off < BD_REC_FRAME)
		return "record header cut off";
	const uint8_t *h = s->base + off;
	if (bd_get32(h) != BD_SKIP_MAGIC || bd_get32(h + 4) != BD_REC_HDR)
		return "no record frame here";
	const uint8_t *b = h + 8;
	if (memcmp(b + BD_RH_SIG, BD_REC_SIG, 4) != 0)
		return "bad record signature";
	if (bd_crc32c(0, b, BD_RH_HCRC) != bd_get32(b + BD_RH_HCRC))
		return "record header CRC mismatch";
	*r = (srec){.off = off};
	r->type = bd_get16(b + BD_RH_TYPE);
	r->version = bd_get16(b + BD_RH_VERSION);
	r->instance = bd_get32(b + BD_RH_INSTANCE);
	r->seq = bd_get32(b + BD_RH_SEQ);
	r->key = bd_get64(b + BD_RH_KEY);
	r->raw = bd_get64(b + BD_RH_RAWLEN);
	r->comp = bd_get32(b + BD_RH_COMPLEN);
	r->items = bd_get32(b + BD_RH_ITEMS);
	if (s->size - off - BD_REC_FRAME < r->comp)
		return "record payload cut off";
	if ((r->comp == 0) != (r->raw == 0) || r->raw > MAX_RAW)
		return "bad payload length";
	if (!check_payload) /* the identity of the record is all the caller wants */
		return NULL;
	if (r->raw > RAW_FLOOR && r->raw / RAW_RATIO > r->comp)
		return "payload expands too much (compression bomb)";
	if (items_in_payload(r->type) && r->items > r->raw)
		return "more items than payload bytes";
	if (check_payload &&
	    bd_crc32c(0, h + BD_REC_FRAME, r->comp) != bd_get32(b + BD_RH_PCRC))
		return "payload CRC mismatch";
	return NULL;
}

static int push_rec(snap *s, const srec *r, size_t *cap)
{
	if (s->nrecs == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		srec *p = realloc(s->recs, nc * sizeof *p);
		if (!p)
			return -1;
		s->recs = p;
		*cap = nc;
	}
	s->recs[s->nrecs++] = *r;
	return 0;
}

/* Decompress record i into a new buffer (caller frees): 0, BD_ENOMEM, or BD_ECORRUPT
 * with the reason in *why. */
static int unpack(snap *s, size_t i, uint8_t **out, size_t *len, const char **why)
{
	const srec *r = &s->recs[i];
	*out = NULL;
	*len = 0;
	*why = "out of memory";
	if (r->bad) {
		*why = r->why;
		return BD_ECORRUPT;
	}
	if (!r->comp) { /* no payload: an empty buffer, never NULL + 0 */
		*out = malloc(1);
		return *out ? 0 : BD_ENOMEM;
	}
	if (!s->dctx && !(s->dctx = ZSTD_createDCtx()))
		return BD_ENOMEM;
	const uint8_t *z = s->base + r->off + BD_REC_FRAME;
	unsigned long long fs = ZSTD_getFrameContentSize(z, r->comp);
	if (fs != r->raw) {
		*why = "payload size differs from the header";
		return BD_ECORRUPT;
	}
	uint8_t *buf = malloc(r->raw ? (size_t)r->raw : 1);
	if (!buf)
		return BD_ENOMEM;
	size_t n = ZSTD_decompressDCtx(s->dctx, buf, (size_t)r->raw, z, r->comp);
	if (ZSTD_isError(n) || n != r->raw) {
		free(buf);
		*why = ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short payload";
		return BD_ECORRUPT;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int decompress(snap *s, size_t i, uint8_t **out, size_t *len, bd_error *err)
{
	const char *why;
	int rc = unpack(s, i, out, len, &why);
	if (rc == BD_ENOMEM)
		return bd_error_set(err, rc, 0, "out of memory (%llu bytes)",
				    (unsigned long long)s->recs[i].raw);
	return rc ? rec_error(s, err, rc, i, why) : 0;
}

/* ---- finding the records ---- */
/* Records from the trailer's index: 0, a negative error, or 1 when there is no usable
 * trailer or index (then the caller scans). */
static int load_index(snap *s, bd_error *err)
{
	if (s->size < BD_REC_FRAME + BD_TRL_SIZE)
		return 1;
	const uint8_t *t = s->base + s->size - BD_TRL_SIZE;
	const uint8_t *b = t + 8;
	if (bd_get32(t) != BD_SKIP_MAGIC || bd_get32(t + 4) != BD_TRL_BODY ||
	    memcmp(b + BD_TR_SIG, BD_TRL_SIG, 4) != 0 ||
	    bd_crc32c(0, b, BD_TR_CRC) != bd_get32(b + BD_TR_CRC))
		return 1;
	uint64_t ioff = bd_get64(b + BD_TR_INDEX);
	uint32_t count = bd_get32(b + BD_TR_COUNT);
	srec ir;
	if (read_header(s, ioff, &ir, 1) || ir.type != BD_REC_INDEX ||
	    ir.raw != (uint64_t)count * BD_IDX_ENTRY || ioff + BD_REC_FRAME + ir.comp + BD_TRL_SIZE != s->size)
		return 1;
	s->flags = bd_get32(b + BD_TR_FLAGS);
	/* decompress() works on s->recs: borrow a slot for the index record. */
	size_t cap = 0;
	if (push_rec(s, &ir, &cap))
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	uint8_t *idx;
	size_t len;
	bd_error e2 = {0};
	int rc = decompress(s, 0, &idx, &len, &e2);
	s->nrecs = 0;
	if (rc) {
		if (rc == BD_ENOMEM)
			return bd_error_set(err, rc, 0, "%s", e2.msg);
		return 1;
	}
	uint64_t prev_end = 0;
	for (uint32_t k = 0; k < count; k++) {
		const uint8_t *e = idx + (size_t)k * BD_IDX_ENTRY;
		srec r;
		uint64_t off = bd_get64(e + BD_IE_OFFSET);
		const char *why = off < prev_end ? "index entries overlap" : read_header(s, off, &r, 1);
		if (!why && (r.type != bd_get16(e + BD_IE_TYPE) || r.key != bd_get64(e + BD_IE_KEY) ||
			     r.seq != bd_get32(e + BD_IE_SEQ) || r.items != bd_get32(e + BD_IE_ITEMS) ||
			     r.instance != bd_get32(e + BD_IE_INSTANCE)))
			why = "record differs from its index entry";
		if (!why && off + BD_REC_FRAME + r.comp > ioff)
			why = "record overlaps the index";
		if (why) {
			/* Damaged: the index still says what it held; it is skipped. */
			r = (srec){.off = off,
				   .type = bd_get16(e + BD_IE_TYPE),
				   .version = bd_get16(e + BD_IE_VERSION),
				   .key = bd_get64(e + BD_IE_KEY),
				   .raw = bd_get64(e + BD_IE_RAWLEN),
				   .instance = bd_get32(e + BD_IE_INSTANCE),
				   .seq = bd_get32(e + BD_IE_SEQ),
				   .items = bd_get32(e + BD_IE_ITEMS)};
			if (push_rec(s, &r, &cap)) {
				free(idx);
				return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
			}
			skip_rec(s, s->nrecs - 1, why);
			continue;
		}
		prev_end = off + BD_REC_FRAME + r.comp;
		if (push_rec(s, &r, &cap)) {
			free(idx);
			return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
		}
	}
	free(idx);
	return 0;
}

/* Offset of the next complete, valid record after off, or 0 (damage vs. cut tail).
 * The last answer is remembered: a run of damaged records between two valid ones asks
 * the same question again and again, and the file is searched once, not once per
 * damaged record (which was quadratic). */
static uint64_t next_valid_record(snap *s, uint64_t off)
{
	static const uint8_t pat[12] = {0x5B, 0x2A, 0x4D, 0x18, BD_REC_HDR, 0, 0, 0, 'B', 'D', 'R', 'C'};
	/* nothing valid in (from, found): found is the answer for any off in [from, found) */
	if (s->nv_known && off >= s->nv_from && (off < s->nv_found || !s->nv_found))
		return s->nv_found;
	const uint8_t *p = s->base + off + 1, *end = s->base + s->size;
	uint64_t found = 0;
	while (p + sizeof pat <= end) {
		const uint8_t *q = memchr(p, pat[0], (size_t)(end - p));
		if (!q || q + sizeof pat > end)
			break;
		srec r;
		if (memcmp(q, pat, sizeof pat) == 0 && !read_header(s, (uint64_t)(q - s->base), &r, 1)) {
			found = (uint64_t)(q - s->base);
			break;
		}
		p = q + 1;
	}
	s->nv_known = 1;
	s->nv_from = off;
	s->nv_found = found;
	return found;
}

/* Read frame after frame. A frame that does not check out is damage when a valid
 * record follows it (skipped: by its length when its header is intact, else up to
 * that record), else the place where the file was cut. */
static int scan(snap *s, bd_error *err)
{
	size_t cap = 0;
	uint64_t off = 0;
	s->scanned = 1;
	while (off < s->size) {
		srec r;
		const char *why = read_header(s, off, &r, 1);
		if (!why && r.type == BD_REC_INDEX) {
			s->have_end = 1; /* the writer finished (even if END was damaged) */
			break;           /* the trailer follows; it was damaged */
		}
		if (why) {
			uint64_t next = next_valid_record(s, off);
			if (!next) {
				s->stop_off = off;
				s->stop_why = why;
				break;
			}
			if (read_header(s, off, &r, 0) || off + BD_REC_FRAME + r.comp > next)
				r = (srec){.off = off}; /* header damaged too: identity unknown */
			else
				next = off + BD_REC_FRAME + r.comp;
			if (push_rec(s, &r, &cap))
				return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
			skip_rec(s, s->nrecs - 1, why);
			off = next;
			continue;
		}
		if (push_rec(s, &r, &cap))
			return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
		if (r.type == BD_REC_END)
			s->have_end = 1;
		off += BD_REC_FRAME + r.comp;
	}
	if (!s->stop_why)
		s->stop_off = off;
	return 0;
}

/* ---- streams ---- */
/* The records of one stream in seq order. A skipped record stays in the list (with its
 * identity from the index or its header), so that an object in it fails clearly
 * instead of being looked for elsewhere; a record out of order is skipped. */
static int build_stream(snap *s, stream *st, uint16_t type, bd_error *err)
{
	for (size_t i = 0; i < s->nrecs; i++)
		if (s->recs[i].type == type && s->recs[i].version == 1)
			st->n++;
	if (!st->n)
		return 0;
	st->recs = malloc(st->n * sizeof *st->recs);
	st->with_items = malloc(st->n * sizeof *st->with_items);
	if (!st->recs || !st->with_items)
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	size_t k = 0;
	for (size_t i = 0; i < s->nrecs; i++) {
		const srec *r = &s->recs[i];
		if (r->type != type || r->version != 1)
			continue;
		/* seq may jump over records whose header was damaged (not in the list) */
		if (k && s->recs[st->recs[k - 1]].seq >= r->seq) {
			skip_rec(s, i, "stream records out of sequence");
			continue;
		}
		if (st->nwith && r->items &&
		    s->recs[st->with_items[st->nwith - 1]].key >= r->key) {
			skip_rec(s, i, "stream keys not increasing");
			continue;
		}
		st->recs[k++] = i;
		if (r->items)
			st->with_items[st->nwith++] = i;
	}
	st->n = k;
	return 0;
}

static void cache_drop(cached_rec *c)
{
	free(c->data);
	free(c->cps);
	memset(c, 0, sizeof *c);
	c->rec = SIZE_MAX;
}

/* Walk the ops of a decompressed stream record: with cps, note object starts. */
static int walk_record(snap *s, cached_rec *c, const char **why)
{
	scur cur = {c->data, c->data + c->len, 0};
	snap_ctx cx = {0};
	size_t cap = 0;
	int kind = -1, first = 1;
	while (cur.p < cur.end) {
		uint8_t op = sc_u8(&cur);
		switch (op) {
		case OP_BEGIN:
		case OP_CONT: {
			uint64_t id = sc_var(&cur);
			if (op == OP_CONT) {
				if (!first) {
					*why = "continuation inside a record";
					return -1;
				}
				c->starts_cont = 1;
				c->cont_id = id;
				break;
			}
			if (c->ncps && c->cps[c->ncps - 1].id >= id) {
				*why = "object ids not increasing";
				return -1;
			}
			if (c->ncps == cap) {
				cap = cap ? cap * 2 : 64;
				checkpoint *p = realloc(c->cps, cap * sizeof *p);
				if (!p) {
					*why = "out of memory";
					return -1;
				}
				c->cps = p;
			}
			c->cps[c->ncps++] = (checkpoint){id, (size_t)(cur.p - c->data), cx};
			kind = -1;
			break;
		}
		case OP_SEC:
			kind = sc_u8(&cur);
			if (kind >= SK__COUNT) {
				*why = "unknown section kind";
				return -1;
			}
			break;
		case OP_BIN: {
			uint64_t n = sc_var(&cur);
			if (!sc_mem(&cur, n) || kind != SK_BINARY) {
				*why = "bad binary bytes";
				return -1;
			}
			break;
		}
		default:
			if (kind < 0 || snap_dec_line(&cur, op, &cx, &s->dict, NULL)) {
				*why = "malformed term op";
				return -1;
			}
		}
		if (cur.bad) {
			*why = "op cut off";
			return -1;
		}
		first = 0;
	}
	return 0;
}

static cached_rec *get_record(snap *s, size_t i, bd_error *err)
{
	cached_rec *victim = &s->cache[0];
	for (int k = 0; k < REC_CACHE; k++) {
		if (s->cache[k].data && s->cache[k].rec == i) {
			s->cache[k].use = ++s->use_clock;
			return &s->cache[k];
		}
		if (!s->cache[k].data || s->cache[k].use < victim->use)
			victim = &s->cache[k];
	}
	cache_drop(victim);
	if (decompress(s, i, &victim->data, &victim->len, err))
		return NULL;
	victim->rec = i;
	victim->use = ++s->use_clock;
	const char *why = NULL;
	if (!victim->len || walk_record(s, victim, &why)) {
		rec_error(s, err, BD_ECORRUPT, i, why ? why : "empty stream record");
		cache_drop(victim);
		return NULL;
	}
	return victim;
}

/* Decode from pos (with contexts cx) into e, until the next OP_BEGIN or the end.
 * Returns 1 when the record ended inside the object, 0 when the object ended. */
static int decode_from(snap *s, cached_rec *c, size_t pos, snap_ctx cx, int kind,
		       text_entry *e, const char **why)
{
	scur cur = {c->data + pos, c->data + c->len, 0};
	while (cur.p < cur.end) {
		uint8_t op = sc_u8(&cur);
		switch (op) {
		case OP_BEGIN:
			return 0;
		case OP_CONT:
			sc_var(&cur);
			break;
		case OP_SEC:
			kind = sc_u8(&cur);
			break;
		case OP_BIN: {
			uint64_t n = sc_var(&cur);
			const uint8_t *b = sc_mem(&cur, n);
			if (b && kind == SK_BINARY)
				snap_b64_encode(&e->part[kind], b, (size_t)n);
			break;
		}
		default:
			if (kind < 0 || kind >= SK__COUNT ||
			    snap_dec_line(&cur, op, &cx, &s->dict, &e->part[kind])) {
				*why = "malformed term op";
				return -1;
			}
			if (e->part[kind].len > s->text_budget) {
				*why = "text larger than the snapshot can hold";
				return -1;
			}
		}
		if (cur.bad) {
			*why = "op cut off";
			return -1;
		}
	}
	return 1;
}

/* Of the records recs[idx[0..n)] (in key order), how many have a key <= key: the
 * last of them, idx[result - 1], is the one that holds key. */
static size_t recs_upto(const snap *s, const size_t *idx, size_t n, uint64_t key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->recs[idx[mid]].key <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Position of record ri in the stream's list (seq order). */
static size_t stream_pos(const snap *s, const stream *st, size_t ri)
{
	size_t lo = 0, hi = st->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->recs[st->recs[mid]].seq < s->recs[ri].seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Regenerate the text of object id from stream st into e. An object in a skipped
 * record, or one that goes on into a skipped record, is an error: its text is unknown,
 * and part of it would read as a whole. */
static int decode_object(snap *s, stream *st, uint64_t id, text_entry *e, bd_error *err)
{
	/* last record with items whose first object id <= id */
	size_t lo = recs_upto(s, st->with_items, st->nwith, id);
	if (!lo)
		return BD_ENOTFOUND;
	size_t ri = st->with_items[lo - 1];
	if (s->recs[ri].bad)
		return rec_error(s, err, BD_ECORRUPT, ri, "record skipped");
	cached_rec *c = get_record(s, ri, err);
	if (!c)
		return err ? err->code : BD_ECORRUPT;
	size_t a = 0, b = c->ncps;
	while (a < b) {
		size_t mid = (a + b) / 2;
		if (c->cps[mid].id < id)
			a = mid + 1;
		else
			b = mid;
	}
	if (a == c->ncps || c->cps[a].id != id)
		return BD_ENOTFOUND;
	const char *why = NULL;
	int more = decode_from(s, c, c->cps[a].pos, c->cps[a].cx, -1, e, &why);
	int last = a + 1 == c->ncps;
	/* Continue into the next records of the stream while the object goes on. */
	size_t pos = stream_pos(s, st, ri);
	while (more == 1 && last) {
		if (pos + 1 >= st->n) {
			/* the stream ends here: so does the object, unless the file was cut */
			e->partial = s->cut;
			break;
		}
		size_t prev = st->recs[pos], ni = st->recs[++pos];
		if (s->recs[ni].bad || s->recs[ni].seq != s->recs[prev].seq + 1)
			return rec_error(s, err, BD_ECORRUPT, ni,
					 "record skipped: the object before it may go on in it");
		c = get_record(s, ni, err);
		if (!c)
			return err ? err->code : BD_ECORRUPT;
		if (!c->starts_cont)
			break; /* the object ended with the previous record */
		if (c->cont_id != id)
			return rec_error(s, err, BD_ECORRUPT, ni, "continues another object");
		/* the first ops are OP_CONT id, OP_SEC kind: decode_from handles them */
		more = decode_from(s, c, 0, (snap_ctx){0}, -1, e, &why);
		last = c->ncps == 0;
	}
	if (more < 0)
		return rec_error(s, err, BD_ECORRUPT, c->rec, why);
	for (int k = 0; k < SK__COUNT; k++)
		if (e->part[k].oom)
			return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	return 0;
}

static text_entry *object_text(snap *s, stream *st, bd_u64map *cache, text_entry **slot,
			       uint64_t id)
{
	uint64_t v;
	if (slot && *slot)
		return *slot;
	if (cache && bd_u64map_get(cache, id, &v))
		return (text_entry *)(uintptr_t)v;
	text_entry *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	bd_error err = {0};
	e->rc = decode_object(s, st, id, e, &err);
	uint64_t bytes = 0;
	for (int k = 0; k < SK__COUNT; k++)
		bytes += e->part[k].len;
	if (!e->rc && bytes > s->text_budget)
		e->rc = bd_error_set(&err, BD_EBUDGET, 0,
				     "%s: object %llu: text larger than the snapshot can hold",
				     s->name, (unsigned long long)id);
	else if (!e->rc)
		s->text_budget -= bytes;
	if (e->rc) /* only the outcome is kept */
		for (int k = 0; k < SK__COUNT; k++)
			sb_free(&e->part[k]);
	if (e->rc && err.msg[0] && !s->errbuf[0])
		snprintf(s->errbuf, sizeof s->errbuf, "%s", err.msg);
	if (slot)
		*slot = e;
	else if (bd_u64map_put(cache, id, (uint64_t)(uintptr_t)e) < 0) {
		free(e);
		return NULL;
	}
	return e;
}

static void text_entry_free(text_entry *e)
{
	if (!e)
		return;
	for (int k = 0; k < SK__COUNT; k++)
		sb_free(&e->part[k]);
	free(e);
}

/* ---- span_text hook ---- */
static int span_text_locked(const bd_model *m, bd_span sp, const char **out, size_t *len)
{
	snap *s = m->span_ctx;
	*out = NULL;
	*len = 0;
	unsigned kind = (unsigned)(sp.off >> 56);
	uint64_t row = (sp.off & (((uint64_t)1 << 56) - 1)) >> 3;
	unsigned part = (unsigned)(sp.off & 7);
	text_entry *e = NULL;
	switch (kind) {
	case HK_BLOB:
		if (row >= s->nblobs)
			return BD_ECORRUPT;
		*out = s->blobs[row].p;
		*len = s->blobs[row].n;
		return 0;
	case HK_PROC:
		e = object_text(s, &s->procdata, &s->proc_texts, NULL, row);
		break;
	case HK_BIN:
		e = object_text(s, &s->bindata, &s->bin_texts, NULL, row);
		part = SK_BINARY;
		break;
	case HK_TT:
		if (row >= 3)
			return BD_ECORRUPT;
		e = object_text(s, &s->termtext, NULL, &s->tt[row], row);
		part = row == TT_LITERALS ? SK_LITERALS : row == TT_PTERMS ? SK_PTERMS : SK_TEXT;
		break;
	default:
		return BD_ECORRUPT;
	}
	if (!e)
		return BD_ENOMEM;
	if (e->rc)
		return e->rc;
	if (part >= SK__COUNT)
		return BD_ECORRUPT;
	sbuf *b = &e->part[part];
	/* The text is regenerated exactly, so its length is the span's; a cut snapshot can
	 * end inside an object: then serve what is there, like a cut dump. */
	if (b->len != sp.len && !(e->partial && b->len < sp.len))
		return BD_ECORRUPT;
	*out = b->p ? (const char *)b->p : "";
	*len = b->len;
	return 0;
}

static int span_text(const bd_model *m, bd_span sp, const char **out, size_t *len)
{
	snap *s = m->span_ctx;
	pthread_mutex_lock(&s->lock);
	int rc = span_text_locked(m, sp, out, len);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static void snap_free(void *ctx)
{
	snap *s = ctx;
	if (!s)
		return;
	for (size_t i = 0; i < s->proc_texts.cap; i++)
		if (s->proc_texts.keys && s->proc_texts.keys[i] != UINT64_MAX && s->proc_texts.vals)
			text_entry_free((text_entry *)(uintptr_t)s->proc_texts.vals[i]);
	for (size_t i = 0; i < s->bin_texts.cap; i++)
		if (s->bin_texts.keys && s->bin_texts.keys[i] != UINT64_MAX && s->bin_texts.vals)
			text_entry_free((text_entry *)(uintptr_t)s->bin_texts.vals[i]);
	bd_u64map_free(&s->proc_texts);
	bd_u64map_free(&s->bin_texts);
	for (int i = 0; i < 3; i++)
		text_entry_free(s->tt[i]);
	for (int k = 0; k < REC_CACHE; k++)
		cache_drop(&s->cache[k]);
	for (size_t i = 0; i < s->ndict_bufs; i++)
		free(s->dict_bufs[i]);
	free(s->dict_bufs);
	free((void *)s->dict.s);
	free(s->dict.len);
	free(s->strings);
	free(s->string_holes.v);
	free(s->dict.holes.v);
	free(s->blobs);
	stream *sts[] = {&s->procdata, &s->bindata, &s->termtext};
	for (int i = 0; i < 3; i++) {
		free(sts[i]->recs);
		free(sts[i]->with_items);
	}
	ZSTD_freeDCtx(s->dctx);
	free(s->recs);
	free(s->proc_chunks);
	free(s->proc_loaded);
	free(s->pid_chunks);
	free(s->names);
	free(s->link_gaps.v);
	free(s->loose_gaps.v);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---- strings and dictionary ---- */
/* The text of a string that was in a lost record. A cell's id says there was a string
 * (id 0 is "none"), so it stays non-NULL: a lost name is not "no name". */
static const char lost_string[] = "?";

static int strings_room(snap *s, size_t *cap, uint64_t n)
{
	if (n <= *cap)
		return 0;
	size_t nc = *cap;
	while (nc < n)
		nc *= 2;
	const char **ns = realloc(s->strings, nc * sizeof *ns);
	if (!ns)
		return -1;
	s->strings = ns;
	*cap = nc;
	return 0;
}

/* Strings read so far: the place of the next one in s->strings. */
static size_t strings_dense(const snap *s)
{
	return s->nstrings - (size_t)snap_holes_lost(&s->string_holes);
}

/* String ids [nstrings, upto) were in a lost record: they read as lost_string. The
 * range is kept as such, whatever its length (a damaged count may claim 2^32 ids). */
static int strings_lose(snap *s, size_t *cap, uint64_t upto)
{
	(void)cap;
	s->strings_lost = 1;
	if (upto <= s->nstrings)
		return 0;
	if (snap_holes_add(&s->string_holes, s->nstrings, upto))
		return -1;
	s->nstrings = (size_t)upto;
	return 0;
}

/* Append the strings of payload p to s->strings: 0, BD_ECORRUPT (they do not match
 * the count) or BD_ENOMEM. */
static int strings_parse(snap *s, size_t *cap, const uint8_t *p, size_t len, uint32_t items)
{
	scur c = {p, p + len, 0};
	for (uint32_t k = 0; k < items && !c.bad; k++) {
		uint64_t n = sc_var(&c);
		const uint8_t *b = sc_mem(&c, n);
		if (!b)
			break;
		if (charge(s, sizeof *s->strings + n))
			return BD_EBUDGET;
		size_t at = strings_dense(s);
		if (strings_room(s, cap, (uint64_t)at + 1))
			return BD_ENOMEM;
		const char *str = bd_model_intern(s->m, (const char *)b, (size_t)n);
		if (!str)
			return BD_ENOMEM;
		s->strings[at] = str;
		s->nstrings++;
	}
	return c.bad || c.p != c.end ? BD_ECORRUPT : 0;
}

static int load_strings(snap *s, bd_error *err)
{
	size_t cap = 1;
	s->strings = calloc(1, sizeof *s->strings);
	s->nstrings = 1;
	if (!s->strings)
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	for (size_t i = 0; i < s->nrecs; i++) {
		const srec *r = &s->recs[i];
		if (r->type != BD_REC_STRINGS || r->version != 1)
			continue;
		uint64_t end = r->key + r->items;
		if (r->bad) {
			if (strings_lose(s, &cap, end))
				return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
			continue;
		}
		/* a gap is the ids of a record lost with its header */
		if (r->key > s->nstrings && s->nbad && strings_lose(s, &cap, r->key))
			return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
		if (r->key != s->nstrings) {
			skip_rec(s, i, "string ids not contiguous");
			s->strings_lost = 1;
			continue;
		}
		uint8_t *buf;
		size_t len;
		const char *why;
		int rc = unpack(s, i, &buf, &len, &why);
		if (!rc) {
			rc = strings_parse(s, &cap, buf, len, r->items);
			why = rc == BD_EBUDGET ? "more strings than the snapshot can hold"
					       : "string list does not match its count";
			free(buf);
		}
		if (rc == BD_ENOMEM)
			return bd_error_set(err, rc, 0, "out of memory");
		if (rc) {
			skip_rec(s, i, why);
			s->nstrings = (size_t)r->key;
			if (strings_lose(s, &cap, end))
				return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
		}
	}
	if (s->nunknown)
		s->strings_lost = 1;
	return 0;
}

static int dict_room(snap *s, size_t *cap, uint64_t n)
{
	if (n <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 1024;
	while (nc < n)
		nc *= 2;
	const char **ns = realloc((void *)s->dict.s, nc * sizeof *ns);
	if (ns)
		s->dict.s = ns;
	uint32_t *nl = ns ? realloc(s->dict.len, nc * sizeof *nl) : NULL;
	if (!nl)
		return -1;
	s->dict.len = nl;
	*cap = nc;
	return 0;
}

/* Dictionary entries read so far: the place of the next one in s->dict.s. */
static size_t dict_dense(const snap *s)
{
	return s->dict.n - (size_t)snap_holes_lost(&s->dict.holes);
}

/* Dictionary ids [n, upto) were in a lost record: the ops that use them fail. Kept as
 * a range, whatever its length. */
static int dict_lose(snap *s, size_t *cap, uint64_t upto)
{
	(void)cap;
	if (upto <= s->dict.n)
		return 0;
	if (snap_holes_add(&s->dict.holes, s->dict.n, upto))
		return -1;
	s->dict.n = (size_t)upto;
	return 0;
}

/* Append the entries of payload buf, which s->dict_bufs then keeps; on failure buf is
 * freed and no entry added: 0, BD_ECORRUPT (they do not match the count), BD_EBUDGET
 * or BD_ENOMEM. The payload is checked before it is kept: a record that does not
 * parse costs nothing. */
static int dict_parse(snap *s, size_t *cap, size_t *bcap, uint8_t *buf, size_t len,
		      uint32_t items)
{
	size_t first = s->dict.n;
	uint64_t cost = len + (uint64_t)items * (sizeof *s->dict.s + sizeof *s->dict.len);
	int rc = charge(s, cost) ? BD_EBUDGET : 0;
	scur c = {buf, buf + len, 0};
	for (uint32_t k = 0; k < items && !c.bad && !rc; k++) {
		uint64_t n = sc_var(&c);
		const uint8_t *p = sc_mem(&c, n);
		if (!p)
			break;
		size_t at = dict_dense(s);
		if (dict_room(s, cap, (uint64_t)at + 1))
			rc = BD_ENOMEM;
		else {
			s->dict.s[at] = (const char *)p;
			s->dict.len[at] = (uint32_t)n;
			s->dict.n++;
		}
	}
	if (!rc && (c.bad || c.p != c.end || s->dict.n - first != items))
		rc = BD_ECORRUPT;
	if (!rc && s->ndict_bufs == *bcap) {
		size_t nc = *bcap ? *bcap * 2 : 16;
		uint8_t **nb = realloc(s->dict_bufs, nc * sizeof *nb);
		if (nb) {
			s->dict_bufs = nb;
			*bcap = nc;
		} else {
			rc = BD_ENOMEM;
		}
	}
	if (rc) {
		if (rc != BD_EBUDGET)
			refund(s, cost);
		s->dict.n = first;
		free(buf);
		return rc;
	}
	s->dict_bufs[s->ndict_bufs++] = buf;
	return 0;
}

static int load_dict(snap *s, bd_error *err)
{
	size_t cap = 0, bcap = 0;
	for (size_t i = 0; i < s->nrecs; i++) {
		const srec *r = &s->recs[i];
		if (r->type != BD_REC_TERMDICT || r->version != 1)
			continue;
		uint64_t end = r->key + r->items;
		if (r->bad) {
			if (dict_lose(s, &cap, end))
				return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
			continue;
		}
		if (r->key > s->dict.n && s->nbad && dict_lose(s, &cap, r->key))
			return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
		if (r->key != s->dict.n) {
			skip_rec(s, i, "dictionary ids not contiguous");
			continue;
		}
		uint8_t *buf;
		size_t len;
		const char *why;
		int rc = unpack(s, i, &buf, &len, &why);
		if (!rc) {
			rc = buf ? dict_parse(s, &cap, &bcap, buf, len, r->items)
			     : r->items ? BD_ECORRUPT : 0;
			why = rc == BD_EBUDGET ? "more dictionary than the snapshot can hold"
					       : "dictionary does not match its count";
		}
		if (rc == BD_ENOMEM)
			return bd_error_set(err, rc, 0, "out of memory");
		if (rc) {
			skip_rec(s, i, why);
			s->dict.n = (size_t)r->key;
			if (dict_lose(s, &cap, end))
				return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
		}
	}
	return 0;
}

/* ---- tables ---- */
static const char *cb_str(void *ctx, uint64_t id, int *bad)
{
	snap *s = ctx;
	if (id >= s->nstrings) {
		if (s->strings_lost) /* it may have been in a lost record */
			return lost_string;
		*bad = 1;
		return NULL;
	}
	uint64_t k = snap_holes_map(&s->string_holes, id);
	return k == UINT64_MAX ? lost_string : s->strings[k];
}

static bd_span cb_blob(void *ctx, const uint8_t *p, size_t n)
{
	snap *s = ctx;
	if (s->nblobs == s->blobs_cap) {
		size_t cap = s->blobs_cap ? s->blobs_cap * 2 : 64;
		struct blob *nb = realloc(s->blobs, cap * sizeof *nb);
		if (!nb)
			return BD_SPAN_NONE;
		s->blobs = nb;
		s->blobs_cap = cap;
	}
	char *copy = charge(s, n) ? NULL : bd_arena_strndup(&s->m->arena, (const char *)p, n);
	if (!copy)
		return BD_SPAN_NONE;
	s->blobs[s->nblobs] = (struct blob){copy, n};
	return (bd_span){HANDLE(HK_BLOB, s->nblobs++, 0), n};
}

static bd_span cb_span(void *ctx, unsigned table, uint64_t row, unsigned part, uint64_t len)
{
	(void)ctx;
	if (table == ST_PROCS)
		return (bd_span){HANDLE(HK_PROC, row, part), len};
	if (table == ST_BINARIES)
		return (bd_span){HANDLE(HK_BIN, row, 0), len};
	return BD_SPAN_NONE;
}

/* ---- rows lost with skipped table chunks ---- */
static int gap_add(rowgaps *g, uint64_t first, uint64_t n)
{
	if (!g || !n)
		return 0;
	if (g->len && g->v[g->len - 1].first + g->v[g->len - 1].n == first) {
		g->v[g->len - 1].n += n;
		return 0;
	}
	if (g->len == g->cap) {
		size_t nc = g->cap ? g->cap * 2 : 8;
		struct gap *nv = realloc(g->v, nc * sizeof *nv);
		if (!nv)
			return -1;
		g->v = nv;
		g->cap = nc;
	}
	uint64_t before = g->len ? g->v[g->len - 1].before + g->v[g->len - 1].n : 0;
	g->v[g->len++] = (struct gap){first, n, before};
	return 0;
}

/* Rows [first, first + n) of the writer after the lost rows are left out: 0 and the new
 * first row in *out, or -1 when some of them were lost. */
static int gap_map(const rowgaps *g, uint64_t first, uint64_t n, uint64_t *out)
{
	/* Gaps are sorted and apart: find the first one that does not end before first
	 * (a binary search: every process row asks, and a damaged file may have many). */
	size_t lo = 0, hi = g->len;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (g->v[mid].first + g->v[mid].n <= first)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < g->len && (n ? first + n > g->v[lo].first : first >= g->v[lo].first))
		return -1; /* some of the rows were in that gap */
	*out = first - (lo ? g->v[lo - 1].before + g->v[lo - 1].n : 0);
	return 0;
}

/* Decode one table chunk into rows: 0, BD_ENOMEM, or BD_ECORRUPT with *why. */
static int decode_chunk(snap *s, size_t i, void *rows, const char **why)
{
	const srec *r = &s->recs[i];
	const snap_table *t = snap_table_get(r->instance);
	snap_dec_cb cb = {cb_str, cb_blob, cb_span, s};
	uint8_t *buf;
	size_t len;
	snap_table_defaults(t, rows, r->items);
	int rc = unpack(s, i, &buf, &len, why);
	if (rc)
		return rc;
	if (snap_table_rows(buf, len) != (int64_t)r->items) {
		*why = "row count differs from the header";
		rc = BD_ECORRUPT;
	} else if (snap_table_decode(t, buf, len, rows, r->items, r->key, &cb, why)) {
		rc = BD_ECORRUPT;
	}
	free(buf);
	if (rc)
		snap_table_defaults(t, rows, r->items);
	return rc;
}

/* Decode every chunk of table id into rows appended to v, or into one struct. A
 * skipped chunk's rows are left out (noted in gaps when given); a single row stays
 * unknown. Returns 0 or BD_ENOMEM. */
static int load_table(snap *s, unsigned id, bd_vec *v, void *single, rowgaps *gaps,
		      bd_error *err)
{
	const snap_table *t = snap_table_get(id);
	uint64_t next = 0;
	for (size_t i = 0; i < s->nrecs; i++) {
		const srec *r = &s->recs[i];
		if (r->type != BD_REC_TABLE || r->instance != id || r->version != 1)
			continue;
		if (!r->bad && (r->key < next || (r->key > next && !s->nbad) ||
				(single && (r->key || r->items != 1 || t->row_size > 512))))
			skip_rec(s, i, single ? "expected one row" : "table chunks out of sequence");
		if (r->key > next && gap_add(gaps, next, r->key - next)) /* lost with a header */
			return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
		if (r->key >= next)
			next = r->key;
		if (r->bad) {
			if (r->key + r->items > next) {
				if (gap_add(gaps, next, r->key + r->items - next))
					return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
				next = r->key + r->items;
			}
			continue;
		}
		_Alignas(8) uint8_t tmp[512];
		if (!single && charge(s, (uint64_t)r->items * t->row_size)) {
			skip_rec(s, i, "more rows than the snapshot can hold");
			if (gap_add(gaps, next, r->items))
				return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
			next += r->items;
			continue;
		}
		void *rows = single ? tmp : bd_vec_extend(v, r->items);
		if (!rows && r->items)
			return rec_error(s, err, BD_ENOMEM, i, "too many rows");
		const char *why;
		int rc = decode_chunk(s, i, rows, &why);
		if (rc == BD_ENOMEM)
			return bd_error_set(err, rc, 0, "out of memory");
		if (rc) {
			skip_rec(s, i, why);
			if (!single) {
				v->len -= r->items;
				refund(s, (uint64_t)r->items * t->row_size);
			}
			if (gap_add(gaps, next, r->items))
				return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
		} else if (single) {
			memcpy(single, tmp, t->row_size);
		}
		next += r->items;
	}
	return 0;
}

/* Cross-references that the CLI and analyses index with. A finished file must be
 * consistent; in a recovered (cut) file, references past what survived are dropped. */
/* A range of rows of a table after its lost rows were left out (0), or -1 when some
 * of the range was lost. */
static int range_map(const rowgaps *g, uint32_t *first, uint32_t *count)
{
	uint64_t at;
	if (!g->len)
		return 0;
	if (gap_map(g, *first, *count, &at)) {
		*first = *count = 0;
		return -1;
	}
	*first = (uint32_t)at;
	return 0;
}

static const char *check_procs(snap *s, snap_procrow *w, size_t n)
{
	const bd_model *m = s->m;
	for (size_t i = 0; i < n; i++) {
		bd_proc *p = &w[i].p;
		uint32_t one = 1, lc = w[i].last_calls_idx < UINT32_MAX ? (uint32_t)w[i].last_calls_idx
									   : UINT32_MAX;
		range_map(&s->link_gaps, &p->link_first, &p->link_count);
		if (lc != UINT32_MAX && range_map(&s->loose_gaps, &lc, &one))
			lc = UINT32_MAX;
		const char *why = NULL;
		if ((uint64_t)p->link_first + p->link_count > m->links.len)
			why = "process links out of range";
		else if (lc != UINT32_MAX && lc >= m->strings.len)
			why = "process last calls out of range";
		else if ((unsigned)p->state >= BD_PS__COUNT)
			why = "process state out of range";
		if (why && !s->scanned && !s->nbad)
			return why;
		if (why) {
			p->link_first = p->link_count = 0;
			lc = UINT32_MAX;
			p->state = BD_PS_UNKNOWN;
		}
		/* Files before column 32 keep the last calls as a loose string. */
		if (!w[i].x.last_calls && lc != UINT32_MAX)
			w[i].x.last_calls = BD_VEC_AT(&m->strings, const char *, lc);
	}
	return NULL;
}

/* In a finished, undamaged file the references must hold; in a cut or damaged one,
 * references into lost rows are moved past them or cleared. */
static int check_refs(snap *s, bd_error *err)
{
	bd_model *m = s->m;
	bd_sched *sc = m->scheds.data;
	bd_port *ports = m->ports.data;
	size_t nstr = m->strings.len, nl = m->links.len;
	int repair = s->scanned || s->nbad;
	const char *why = NULL;
	for (size_t i = 0; i < m->scheds.len && !why; i++) {
		range_map(&s->loose_gaps, &sc[i].trace_first, &sc[i].trace_count);
		if ((uint64_t)sc[i].trace_first + sc[i].trace_count > nstr ||
		    (unsigned)sc[i].type > BD_SCHED_OTHER) {
			why = "scheduler row out of range";
			if (repair) {
				sc[i].trace_first = sc[i].trace_count = 0;
				sc[i].type = BD_SCHED_OTHER;
				why = NULL;
			}
		}
	}
	for (size_t i = 0; i < m->ports.len && !why; i++) {
		range_map(&s->link_gaps, &ports[i].link_first, &ports[i].link_count);
		if ((uint64_t)ports[i].link_first + ports[i].link_count > nl) {
			why = "port links out of range";
			if (repair) {
				ports[i].link_first = ports[i].link_count = 0;
				why = NULL;
			}
		}
	}
	if (m->ntags > BD_TAG_MAXCOUNT)
		why = "too many section tags";
	if (why)
		return bd_error_set(err, BD_ECORRUPT, 0, "%s: table data inconsistent: %s", s->name, why);
	return 0;
}

/* ---- the process table, loaded a chunk at a time ---- */
/* Decode ST_PROCS chunk record ri into rows and exts (n rows each): 0, BD_ENOMEM or
 * BD_ECORRUPT with *why. */
static int decode_procs(snap *s, size_t ri, bd_proc *rows, bd_proc_ext *exts, const char **why)
{
	size_t n = s->recs[ri].items;
	snap_procrow *w = malloc((n ? n : 1) * sizeof *w);
	if (!w)
		return BD_ENOMEM;
	int rc = decode_chunk(s, ri, w, why);
	if (!rc && (*why = check_procs(s, w, n)) != NULL) {
		snap_table_defaults(snap_table_get(ST_PROCS), w, n);
		rc = BD_ECORRUPT;
	}
	if (rc == BD_ENOMEM) {
		free(w);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		rows[i] = w[i].p;
		exts[i] = w[i].x;
	}
	free(w);
	return rc;
}

/* Lazy table: chunk k goes to its own rows (key = first row). */
static int load_proc_chunk(snap *s, size_t k, bd_error *err)
{
	if (s->proc_loaded[k])
		return 0;
	s->proc_loaded[k] = 1;
	size_t ri = s->proc_chunks[k];
	const char *why;
	bd_model *m = s->m;
	uint64_t key = s->recs[ri].key;
	int rc = decode_procs(s, ri, (bd_proc *)m->procs.data + key,
			      (bd_proc_ext *)m->proc_exts.data + key, &why);
	if (rc == BD_ENOMEM)
		return bd_error_set(err, rc, 0, "out of memory");
	return rc ? rec_error(s, err, rc, ri, why) : 0;
}

/* A failure after open cannot be returned through the getters: note it in the node. */
static void note_load_error(snap *s, const bd_error *err)
{
	bd_model *m = s->m;
	m->node.skipped++;
	if (!m->node.skipped_first)
		m->node.skipped_first = bd_model_intern(m, err->msg, strlen(err->msg));
}

static int procs_load_all(bd_model *m)
{
	snap *s = m->span_ctx;
	pthread_mutex_lock(&s->lock);
	if (!m->procs_load) { /* another thread did it */
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	int rc = 0;
	for (size_t k = 0; k < s->nproc_chunks; k++) {
		bd_error err = {0};
		if (load_proc_chunk(s, k, &err)) {
			note_load_error(s, &err);
			rc = err.code;
		}
	}
	if (bd_model_index_procs(m, 0)) {
		bd_error err = {0};
		bd_error_set(&err, BD_ENOMEM, 0, "out of memory indexing processes");
		note_load_error(s, &err);
		rc = BD_ENOMEM;
	}
	m->proc_lookup = NULL;
	m->procs_load = NULL;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static const bd_proc *proc_row(const bd_model *cm, size_t row)
{
	snap *s = cm->span_ctx;
	size_t lo = recs_upto(s, s->proc_chunks, s->nproc_chunks, row);
	if (!lo)
		return NULL;
	bd_error err = {0};
	if (load_proc_chunk(s, lo - 1, &err)) {
		note_load_error(s, &err);
		return NULL;
	}
	return (const bd_proc *)cm->procs.data + row;
}

/* Row of the last process with this packed pid, through one ST_PIDIDX chunk. */
static int64_t pid_row(snap *s, uint64_t packed)
{
	size_t lo = recs_upto(s, s->pid_chunks, s->npid_chunks, packed);
	if (!lo)
		return -1;
	size_t ri = s->pid_chunks[lo - 1];
	const srec *r = &s->recs[ri];
	uint8_t *buf;
	size_t len;
	bd_error err = {0};
	if (decompress(s, ri, &buf, &len, &err)) {
		note_load_error(s, &err);
		return -1;
	}
	uint64_t cost = (uint64_t)r->items * sizeof(snap_pidrow);
	snap_pidrow *rows = charge(s, cost) ? NULL : malloc((r->items ? r->items : 1) * sizeof *rows);
	const snap_table *t = snap_table_get(ST_PIDIDX);
	snap_dec_cb cb = {cb_str, cb_blob, cb_span, s};
	const char *why = "out of memory";
	int64_t found = -1;
	if (rows) {
		snap_table_defaults(t, rows, r->items);
		if (!snap_table_decode(t, buf, len, rows, r->items, 0, &cb, &why)) {
			why = NULL;
			for (uint32_t i = 0; i < r->items; i++)
				if (rows[i].pid == packed && rows[i].row < s->m->procs.len)
					found = (int64_t)rows[i].row;
		}
	}
	if (rows)
		refund(s, cost);
	free(rows);
	free(buf);
	if (why) {
		rec_error(s, &err, BD_ECORRUPT, ri, why);
		note_load_error(s, &err);
	}
	return found;
}

/* Same answers as bd_proc_find / bd_proc_by_pid on a loaded table. */
static const bd_proc *proc_lookup_locked(const bd_model *m, const char *text, bd_pid pid)
{
	snap *s = m->span_ctx;
	if (text && bd_pid_parse(text, strlen(text), &pid) == 0)
		text = NULL;
	if (!text) {
		int64_t row = pid_row(s, bd_pid_pack(pid));
		const bd_proc *p = row < 0 ? NULL : proc_row(m, (size_t)row);
		return p && bd_pid_eq(p->pid, pid) ? p : NULL;
	}
	size_t tl = strlen(text);
	for (size_t i = 0; i < s->nnames; i++) {
		const char *nm = s->names[i].name;
		if (!nm)
			continue;
		size_t l = strlen(nm);
		if (strcmp(nm, text) == 0 ||
		    (l >= 2 && nm[0] == '\'' && nm[l - 1] == '\'' && tl == l - 2 &&
		     memcmp(nm + 1, text, l - 2) == 0))
			return s->names[i].row < m->procs.len ? proc_row(m, (size_t)s->names[i].row) : NULL;
	}
	return NULL;
}

static const bd_proc *proc_lookup(const bd_model *m, const char *text, bd_pid pid)
{
	snap *s = m->span_ctx;
	pthread_mutex_lock(&s->lock);
	const bd_proc *p = proc_lookup_locked(m, text, pid);
	pthread_mutex_unlock(&s->lock);
	return p;
}

static int push_index(size_t **v, size_t *n, size_t *cap, size_t i)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		size_t *p = realloc(*v, nc * sizeof *p);
		if (!p)
			return -1;
		*v = p;
		*cap = nc;
	}
	(*v)[(*n)++] = i;
	return 0;
}

/* All rows now, leaving out those of skipped chunks (the row of a process is then
 * not its row in the writer: the pid index and the names are not used). */
static int load_procs_now(snap *s, bd_error *err)
{
	bd_model *m = s->m;
	uint64_t rows = 0;
	for (size_t k = 0; k < s->nproc_chunks; k++) {
		size_t ri = s->proc_chunks[k];
		if (charge(s, (uint64_t)s->recs[ri].items * sizeof(bd_proc)))
			skip_rec(s, ri, "more rows than the snapshot can hold");
		else
			rows += s->recs[ri].items;
	}
	bd_proc *p = rows ? bd_vec_extend(&m->procs, (size_t)rows) : NULL;
	bd_proc_ext *x = rows ? bd_vec_extend(&m->proc_exts, (size_t)rows) : NULL;
	if (rows && (!p || !x))
		return bd_error_set(err, BD_ENOMEM, 0, "%s: no memory for %llu processes", s->name,
				    (unsigned long long)rows);
	size_t at = 0;
	for (size_t k = 0; p && k < s->nproc_chunks; k++) {
		size_t ri = s->proc_chunks[k];
		const char *why;
		if (s->recs[ri].bad)
			continue;
		int rc = decode_procs(s, ri, p + at, x + at, &why);
		if (rc == BD_ENOMEM)
			return bd_error_set(err, rc, 0, "out of memory");
		if (rc)
			skip_rec(s, ri, why);
		else
			at += s->recs[ri].items;
	}
	m->procs.len = m->proc_exts.len = at;
	return 0;
}

/* Index the ST_PROCS chunks and the pid index; load rows later. A cut or damaged file
 * (pid index incomplete, a chunk or a name lost) has its rows loaded now instead. */
static int prepare_procs(snap *s, bd_error *err)
{
	bd_model *m = s->m;
	uint64_t next = 0, npids = 0;
	size_t cap = 0, pcap = 0;
	int lost = s->nunknown > 0;
	for (size_t i = 0; i < s->nrecs; i++) {
		const srec *r = &s->recs[i];
		if (r->type != BD_REC_TABLE || r->version != 1)
			continue;
		if (r->instance == ST_PIDIDX) {
			if (!r->bad && s->npid_chunks &&
			    s->recs[s->pid_chunks[s->npid_chunks - 1]].key > r->key)
				skip_rec(s, i, "pid index out of sequence");
			lost |= r->bad;
			if (r->bad)
				continue;
			if (push_index(&s->pid_chunks, &s->npid_chunks, &pcap, i))
				return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
			npids += r->items;
			continue;
		}
		if (r->instance != ST_PROCS)
			continue;
		if (!r->bad && r->key < next)
			skip_rec(s, i, "table chunks out of sequence");
		lost |= r->bad || r->key != next;
		if (r->bad) {
			if (r->key + r->items > next)
				next = r->key + r->items;
			continue;
		}
		if (push_index(&s->proc_chunks, &s->nproc_chunks, &cap, i))
			return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
		next = r->key + r->items;
	}
	if (!next)
		return 0;
	if (!lost && npids == next) {
		bd_vec nv = BD_VEC_INIT(snap_namerow, (size_t)next);
		rowgaps ng = {0};
		int rc = load_table(s, ST_NAMES, &nv, NULL, &ng, err);
		lost = ng.len > 0;
		free(ng.v);
		if (!rc && !lost && charge(s, next * sizeof(bd_proc)))
			lost = 1; /* not all of them: those that fit, now */
		if (rc || lost) {
			bd_vec_free(&nv);
			if (rc)
				return rc;
		} else {
			s->names = nv.data;
			s->nnames = nv.len;
			s->proc_loaded = calloc(s->nproc_chunks, 1);
			if (!s->proc_loaded || !bd_vec_extend(&m->procs, (size_t)next) ||
			    !bd_vec_extend(&m->proc_exts, (size_t)next))
				return bd_error_set(err, BD_ENOMEM, 0, "%s: no memory for %llu processes",
						    s->name, (unsigned long long)next);
			m->procs_load = procs_load_all;
			m->proc_lookup = proc_lookup;
			return 0;
		}
	}
	return load_procs_now(s, err);
}

static int load_model(snap *s, bd_error *err)
{
	bd_model *m = s->m;
	int rc = load_strings(s, err);
	if (!rc)
		rc = load_dict(s, err);
	if (rc)
		return rc;
	uint64_t input = m->node.input_size;
	snap_modelrow mr = {0, 0, 0, 0, 0};
	snap_tagrow tags[BD_TAG_MAXCOUNT];
	bd_vec tagv = {tags, 0, BD_TAG_MAXCOUNT, sizeof(snap_tagrow), BD_TAG_MAXCOUNT};
	/* Links and loose strings are referenced by row ranges: their lost rows are noted. */
	struct { unsigned id; bd_vec *v; void *single; rowgaps *gaps; } plan[] = {
		{ST_NODE, NULL, &m->node, NULL},        {ST_MEMORY, NULL, &m->mem, NULL},
		{ST_LIMITS, NULL, &m->limits, NULL},    {ST_MODEL, NULL, &mr, NULL},
		{ST_TAGS, &tagv, NULL, NULL},           {ST_TABLE_STATS, &m->table_stats, NULL, NULL},
		{ST_SCHEDS, &m->scheds, NULL, NULL},    {ST_PORTS, &m->ports, NULL, NULL},
		{ST_ETS, &m->ets, NULL, NULL},          {ST_TIMERS, &m->timers, NULL, NULL},
		{ST_DISTS, &m->dists, NULL, NULL},      {ST_MODULES, &m->modules, NULL, NULL},
		{ST_FUNS, &m->funs, NULL, NULL},        {ST_BINARIES, &m->binaries, NULL, NULL},
		{ST_ALLOC_STATS, &m->alloc_stats, NULL, NULL}, {ST_AREAS, &m->areas, NULL, NULL},
		{ST_LINKS, &m->links, NULL, &s->link_gaps},
		{ST_LOOSE, &m->strings, NULL, &s->loose_gaps},
	};
	for (size_t i = 0; i < sizeof plan / sizeof plan[0] && !rc; i++)
		rc = load_table(s, plan[i].id, plan[i].v, plan[i].single, plan[i].gaps, err);
	if (rc)
		return rc;
	if (tagv.data != (void *)tags)
		return bd_error_set(err, BD_ECORRUPT, 0, "%s: too many section tags", s->name);
	for (size_t i = 0; i < tagv.len; i++) {
		m->tag_counts[i].tag = tags[i].tag;
		m->tag_counts[i].count = tags[i].count;
	}
	m->ntags = tagv.len;
	m->hex_data = mr.hex_data;
	if (mr.literals_len)
		m->literals = (bd_span){HANDLE(HK_TT, TT_LITERALS, 0), mr.literals_len};
	if (mr.pterms_len)
		m->persistent_terms = (bd_span){HANDLE(HK_TT, TT_PTERMS, 0), mr.pterms_len};
	if (mr.atoms_len)
		m->atoms = (bd_span){HANDLE(HK_TT, TT_ATOMS, 0), mr.atoms_len};
	if (!m->node.source) { /* no node record (lost or cut): keep what bd_model_open set */
		m->node.source = "snapshot";
		m->node.input_size = input;
	}
	/* a lost string must not make the dump's own cut look like a snapshot's (note_state) */
	if (m->node.truncated && !m->node.truncated_in)
		m->node.truncated_in = "?";
	rc = check_refs(s, err);
	return rc ? rc : prepare_procs(s, err);
}

/* Say in the model what the snapshot lacks: a cut or a budget stop as truncation
 * (abort_reason says it all; truncated_in stays NULL: no dump section was cut), damage as
 * skipped records. A dump that was itself truncated keeps its own truncation facts and
 * the snapshot's cut goes in the "skipped" note. The snapshot's notes take precedence
 * over the dump's own skipped note; with nothing skipped, skipped_first still names the
 * cut, uncounted (as for a partial live capture), so the CLI says it once. */
static void note_state(snap *s)
{
	bd_model *m = s->m;
	char cut[160] = "", num[32];
	size_t good = s->nrecs - s->nbad;
	if (s->cut)
		snprintf(cut, sizeof cut, "snapshot: cut at offset %s (%zu records recovered)",
			 bd_count_fmt(s->stop_off, num, sizeof num), good);
	else if (s->flags & (BD_WF_BYTE_BUDGET | BD_WF_TIME_BUDGET | BD_WF_INDEX_FULL))
		snprintf(cut, sizeof cut, "snapshot: %s",
			 s->flags & BD_WF_BYTE_BUDGET	? "byte budget reached"
			 : s->flags & BD_WF_TIME_BUDGET ? "time budget reached"
							: "index full");
	if (s->scanned && !s->cut && !s->nbad++) {
		/* All records are there (END was read): the index or trailer was damaged. */
		if (s->stop_why)
			snprintf(s->bad_first, sizeof s->bad_first,
				 "damaged snapshot index (%s at offset %llu): records found by "
				 "scanning, nothing lost",
				 s->stop_why, (unsigned long long)s->stop_off);
		else
			snprintf(s->bad_first, sizeof s->bad_first,
				 "damaged snapshot trailer: records found by scanning, nothing lost");
	}
	if (s->nbad) {
		m->node.skipped += s->nbad;
		m->node.skipped_first = bd_model_intern(m, s->bad_first, strlen(s->bad_first));
	}
	if (!cut[0])
		return;
	const char *w = bd_model_intern(m, cut, strlen(cut));
	if (m->node.truncated) {
		m->node.skipped++;
		m->node.skipped_first = w;
		return;
	}
	m->node.truncated = 1;
	m->node.truncated_at = s->cut ? s->stop_off : s->size;
	m->node.truncated_in = NULL;
	m->node.abort_reason = w;
	if (!m->node.skipped)
		m->node.skipped_first = w;
}

/* Is anything left besides the framing? */
/* NATIVE records (native_codec.c): the guard's raw facts are resolved now, with the
 * objects on this machine; a resolved table is read as it is. One that does not
 * decode is skipped like any damaged record. */
static int load_native(snap *s, bd_error *err)
{
	for (size_t i = 0; i < s->nrecs; i++) {
		srec *r = &s->recs[i];
		if (r->bad || r->type != BD_REC_NATIVE || r->version != 1)
			continue;
		uint8_t *p;
		size_t len;
		const char *why;
		int rc = unpack(s, i, &p, &len, &why);
		if (rc == BD_ENOMEM)
			return bd_error_set(err, rc, 0, "out of memory (native crash record)");
		if (rc) {
			skip_rec(s, i, why);
			continue;
		}
		bd_error e = {0};
		if (r->instance == NAT_REC_RAW)
			rc = bd_native_raw_record(s->m, p, len, &e);
		else if (r->instance == NAT_REC_TABLE)
			rc = bd_native_decode(s->m, p, len, &e);
		free(p);
		if (rc == BD_ENOMEM)
			return bd_error_set(err, rc, 0, "out of memory (native crash record)");
		if (rc)
			skip_rec(s, i, "does not decode");
	}
	return 0;
}

static int any_data(const snap *s)
{
	for (size_t i = 0; i < s->nrecs; i++)
		if (!s->recs[i].bad && s->recs[i].type >= BD_REC_STRINGS)
			return 1;
	return 0;
}

int bd_snapshot_read(bd_model *m, bd_error *err)
{
	snap *s = calloc(1, sizeof *s);
	if (!s)
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	s->base = (const uint8_t *)m->base;
	s->size = m->size;
	s->name = m->src ? m->src->name : "snapshot";
	s->m = m;
	s->budget = s->size > BUDGET_FLOOR / BUDGET_RATIO ? s->size * BUDGET_RATIO : BUDGET_FLOOR;
	s->text_budget = s->size > TEXT_FLOOR / TEXT_RATIO ? s->size * TEXT_RATIO : TEXT_FLOOR;
	for (int k = 0; k < REC_CACHE; k++)
		s->cache[k].rec = SIZE_MAX;
	pthread_mutex_init(&s->lock, NULL);
	/* From here on the model owns s (freed by bd_model_free via free_ctx). */
	m->span_ctx = s;
	m->free_ctx = snap_free;
	m->span_text = span_text;
	int rc = load_index(s, err);
	if (rc == 1) {
		s->nrecs = 0;
		s->flags = 0;
		s->nbad = s->nunknown = 0;
		rc = scan(s, err);
	}
	if (rc)
		return rc;
	/* Without the file header nothing can be trusted to be ours. */
	if (s->nrecs && s->recs[0].bad && s->recs[0].off == 0)
		return rec_error(s, err, BD_ECORRUPT, 0, s->recs[0].why);
	if (!s->nrecs || s->recs[0].type != BD_REC_FILE)
		return bd_error_set(err, s->nrecs ? BD_ECORRUPT : BD_ETRUNCATED, 0,
				    "%s: no complete file header record (offset 0)", s->name);
	uint8_t *fh;
	size_t fl;
	rc = decompress(s, 0, &fh, &fl, err);
	if (rc)
		return rc;
	int bad = fl < 20 || memcmp(fh, "BDUMP\0", 6) != 0;
	unsigned major = bad ? 0 : bd_get16(fh + 6);
	free(fh);
	if (bad)
		return rec_error(s, err, BD_ECORRUPT, 0, "not a beamdump file header");
	if (major > BD_FORMAT_MAJOR)
		return bd_error_set(err, BD_EUNSUPPORTED, 0,
				    "%s: snapshot format %u is newer than this beamdump (%u)", s->name,
				    major, BD_FORMAT_MAJOR);
	for (size_t i = 0; i < s->nrecs; i++)
		if (s->recs[i].type == BD_REC_END)
			s->have_end = 1;
	if (!s->scanned && !s->have_end)
		return bd_error_set(err, BD_ECORRUPT, 0, "%s: index lists no END record", s->name);
	s->cut = s->scanned && !s->have_end;
	rc = load_model(s, err);
	if (!rc)
		rc = build_stream(s, &s->procdata, BD_REC_PROCDATA, err);
	if (!rc)
		rc = build_stream(s, &s->bindata, BD_REC_BINDATA, err);
	if (!rc)
		rc = build_stream(s, &s->termtext, BD_REC_TERMTEXT, err);
	if (!rc)
		rc = load_native(s, err);
	if (rc)
		return rc;
	if (s->nbad && !any_data(s))
		return bd_error_set(err, BD_ECORRUPT, 0, "%s: no usable record: first %s", s->name,
				    s->bad_first);
	note_state(s);
	return 0;
}
