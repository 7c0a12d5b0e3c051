/* Fuzz target: the .bdump snapshot reader (container, tables, strings, dictionary,
 * term-section codec) and everything that reads a model. Two kinds of input:
 *  - a .bdump file as it is (it starts with the frame magic): framing, CRCs, index,
 *    damage and cut handling;
 *  - a list of records whose payloads are given raw, which this target frames,
 *    compresses and checksums into a valid file: the mutations then reach the table
 *    columns, string ids, row counts and term ops instead of failing a CRC.
 * Record list: a flags byte (bit 0: no index and trailer, bit 1: no END record), then
 * records of: type selector u8 (low 4 bits pick the type from types[]; bit 7: a seq
 * varint follows, else seq counts per type and instance), instance u8, items varint,
 * key varint, [seq varint], payload length varint, payload bytes. A FILE record is
 * written first. The replay build also converts a .bdump into this form:
 * fuzz_snapshot_replay --unframe in.bdump out.rec (to make seeds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "beamdump/container.h"
#include "beamdump/model.h"
#include "walk.h"

static const uint16_t types[16] = {
	BD_REC_FILE,     BD_REC_END,      BD_REC_STRINGS,  BD_REC_TABLE,
	BD_REC_TERMDICT, BD_REC_PROCDATA, BD_REC_TERMTEXT, BD_REC_BINDATA,
	BD_REC_TEXT,     BD_REC_TABLE,    BD_REC_TABLE,    BD_REC_STRINGS,
	BD_REC_PROCDATA, BD_REC_TERMTEXT, BD_REC_INDEX,    0x0100,
};

typedef struct buf {
	uint8_t *p;
	size_t len, cap;
} buf;

static uint8_t *room(buf *b, size_t n)
{
	if (b->len + n > b->cap) {
		size_t c = b->cap ? b->cap : 4096;
		while (c < b->len + n)
			c *= 2;
		uint8_t *q = realloc(b->p, c);
		if (!q)
			abort();
		b->p = q;
		b->cap = c;
	}
	uint8_t *r = b->p + b->len;
	b->len += n;
	return r;
}

typedef struct cur {
	const uint8_t *p, *end;
} cur;

static uint64_t var(cur *c)
{
	uint64_t v = 0;
	for (int s = 0; s < 64 && c->p < c->end; s += 7) {
		uint8_t b = *c->p++;
		v |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80))
			break;
	}
	return v;
}

typedef struct idx_entry {
	uint64_t off, key, raw;
	uint16_t type;
	uint32_t instance, seq, items;
} idx_entry;

/* Append one framed record (header, zstd frame) to out. */
static void put_record(buf *out, idx_entry *e, const uint8_t *payload, size_t n)
{
	static ZSTD_CCtx *cctx; /* one context for the whole run: making one costs 1 MB */
	if (!cctx && !(cctx = ZSTD_createCCtx()))
		abort();
	size_t bound = ZSTD_compressBound(n);
	uint8_t *z = n ? malloc(bound) : NULL;
	size_t comp = n ? ZSTD_compressCCtx(cctx, z, bound, payload, n, 1) : 0;
	if (ZSTD_isError(comp))
		abort();
	e->off = out->len;
	e->raw = n;
	uint8_t *h = room(out, BD_REC_FRAME);
	bd_put32(h, BD_SKIP_MAGIC);
	bd_put32(h + 4, BD_REC_HDR);
	uint8_t *b = h + 8;
	memcpy(b + BD_RH_SIG, BD_REC_SIG, 4);
	bd_put16(b + BD_RH_TYPE, e->type);
	bd_put16(b + BD_RH_VERSION, 1);
	bd_put32(b + BD_RH_INSTANCE, e->instance);
	bd_put32(b + BD_RH_SEQ, e->seq);
	bd_put64(b + BD_RH_KEY, e->key);
	bd_put64(b + BD_RH_RAWLEN, n);
	bd_put32(b + BD_RH_COMPLEN, (uint32_t)comp);
	bd_put32(b + BD_RH_ITEMS, e->items);
	bd_put32(b + BD_RH_PCRC, bd_crc32c(0, z, comp));
	bd_put32(b + BD_RH_HCRC, bd_crc32c(0, b, BD_RH_HCRC));
	if (comp)
		memcpy(room(out, comp), z, comp);
	free(z);
}

static void put_index(buf *out, const idx_entry *v, size_t n)
{
	uint8_t *ix = malloc(n * BD_IDX_ENTRY + 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = ix + i * BD_IDX_ENTRY;
		bd_put64(e + BD_IE_OFFSET, v[i].off);
		bd_put64(e + BD_IE_KEY, v[i].key);
		bd_put64(e + BD_IE_RAWLEN, v[i].raw);
		bd_put16(e + BD_IE_TYPE, v[i].type);
		bd_put16(e + BD_IE_VERSION, 1);
		bd_put32(e + BD_IE_INSTANCE, v[i].instance);
		bd_put32(e + BD_IE_SEQ, v[i].seq);
		bd_put32(e + BD_IE_ITEMS, v[i].items);
	}
	idx_entry ie = {.type = BD_REC_INDEX};
	put_record(out, &ie, ix, n * BD_IDX_ENTRY);
	free(ix);
	uint8_t *t = room(out, BD_TRL_SIZE);
	memset(t, 0, BD_TRL_SIZE);
	bd_put32(t, BD_SKIP_MAGIC);
	bd_put32(t + 4, BD_TRL_BODY);
	uint8_t *b = t + 8;
	memcpy(b + BD_TR_SIG, BD_TRL_SIG, 4);
	bd_put32(b + BD_TR_FLAGS, BD_WF_COMPLETE);
	bd_put64(b + BD_TR_INDEX, ie.off);
	bd_put32(b + BD_TR_COUNT, (uint32_t)n);
	bd_put16(b + BD_TR_MAJOR, BD_FORMAT_MAJOR);
	bd_put16(b + BD_TR_MINOR, BD_FORMAT_MINOR);
	bd_put32(b + BD_TR_CRC, bd_crc32c(0, b, BD_TR_CRC));
}

/* Build a .bdump from a record list (see the top of the file). */
static void build(const uint8_t *data, size_t size, buf *out)
{
	cur c = {data, data + size};
	uint8_t flags = c.p < c.end ? *c.p++ : 0;
	idx_entry ents[512];
	size_t n = 0;
	static uint32_t seqs[16][256]; /* per type; per table for tables, as the writer */
	memset(seqs, 0, sizeof seqs);
	static const uint8_t file_hdr[20] = {'B', 'D', 'U', 'M', 'P', 0, BD_FORMAT_MAJOR, 0,
					     BD_FORMAT_MINOR, 0};
	ents[n] = (idx_entry){.type = BD_REC_FILE};
	put_record(out, &ents[n++], file_hdr, sizeof file_hdr);
	while (c.p < c.end && n < 510) {
		uint8_t sel = *c.p++;
		uint8_t inst = c.p < c.end ? *c.p++ : 0;
		idx_entry *e = &ents[n];
		*e = (idx_entry){.type = types[sel & 15], .instance = inst};
		e->items = (uint32_t)var(&c);
		e->key = var(&c);
		uint32_t *sq = &seqs[sel & 15][e->type == BD_REC_TABLE ? inst : 0];
		e->seq = sel & 0x80 ? (uint32_t)var(&c) : (*sq)++;
		uint64_t len = var(&c);
		if (len > (uint64_t)(c.end - c.p))
			len = (uint64_t)(c.end - c.p);
		put_record(out, e, c.p, (size_t)len);
		c.p += len;
		n++;
	}
	if (!(flags & 2)) {
		ents[n] = (idx_entry){.type = BD_REC_END};
		put_record(out, &ents[n++], NULL, 0);
	}
	if (!(flags & 1))
		put_index(out, ents, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bd_model *m;
	bd_error err = {0};
	buf b = {0};
	const uint8_t *in = data;
	size_t n = size;
	if (!(size >= 4 && bd_get32(data) == BD_SKIP_MAGIC)) {
		build(data, size, &b);
		/* exact size, as the reader gets a file */
		uint8_t *exact = realloc(b.p, b.len);
		b.p = exact ? exact : b.p;
		in = b.p;
		n = b.len;
	}
	if (bd_model_open_mem(&m, in, n, "fuzz.bdump", &err) == 0) {
		fz_walk(m);
		bd_model_free(m);
	}
	free(b.p);
	return 0;
}

#ifdef BD_FUZZ_UNFRAME
/* .bdump -> record list: the records in file order (FILE, END, INDEX left out, as the
 * target adds them), payloads decompressed. Returns 0. */
int fz_unframe(const uint8_t *d, size_t size, FILE *out)
{
	fputc(0, out);
	for (size_t off = 0; off + BD_REC_FRAME <= size;) {
		const uint8_t *h = d + off, *b = h + 8;
		if (bd_get32(h) != BD_SKIP_MAGIC || bd_get32(h + 4) != BD_REC_HDR)
			break;
		uint16_t type = bd_get16(b + BD_RH_TYPE);
		uint32_t comp = bd_get32(b + BD_RH_COMPLEN);
		uint64_t raw = bd_get64(b + BD_RH_RAWLEN);
		if (off + BD_REC_FRAME + comp > size)
			break;
		int sel = -1;
		for (int i = 0; i < 9 && sel < 0; i++)
			if (types[i] == type)
				sel = i;
		if (sel > 1) {
			uint8_t *p = malloc(raw ? raw : 1);
			size_t got = comp ? ZSTD_decompress(p, raw, h + BD_REC_FRAME, comp) : 0;
			if (ZSTD_isError(got))
				got = 0;
			uint8_t v[40];
			size_t k = 0;
			uint64_t f[3] = {bd_get32(b + BD_RH_ITEMS), bd_get64(b + BD_RH_KEY), got};
			v[k++] = (uint8_t)sel;
			v[k++] = (uint8_t)bd_get32(b + BD_RH_INSTANCE);
			for (int j = 0; j < 3; j++) {
				uint64_t x = f[j];
				while (x >= 0x80) {
					v[k++] = (uint8_t)(x | 0x80);
					x >>= 7;
				}
				v[k++] = (uint8_t)x;
			}
			fwrite(v, 1, k, out);
			fwrite(p, 1, got, out);
			free(p);
		}
		off += BD_REC_FRAME + comp;
	}
	return 0;
}
#endif
