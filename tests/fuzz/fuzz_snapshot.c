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
#include "frame.h"
#include "walk.h"

static const uint16_t types[16] = {
	BD_REC_FILE,     BD_REC_END,      BD_REC_STRINGS,  BD_REC_TABLE,
	BD_REC_TERMDICT, BD_REC_PROCDATA, BD_REC_TERMTEXT, BD_REC_BINDATA,
	BD_REC_TEXT,     BD_REC_TABLE,    BD_REC_TABLE,    BD_REC_STRINGS,
	BD_REC_PROCDATA, BD_REC_TERMTEXT, BD_REC_INDEX,    0x0100,
};

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

/* Build a .bdump from a record list (see the top of the file). */
static void build(const uint8_t *data, size_t size, fz_buf *out)
{
	cur c = {data, data + size};
	uint8_t flags = c.p < c.end ? *c.p++ : 0;
	fz_rec ents[512];
	size_t n = 0;
	static uint32_t seqs[16][256]; /* per type; per table for tables, as the writer */
	memset(seqs, 0, sizeof seqs);
	static const uint8_t file_hdr[20] = {'B', 'D', 'U', 'M', 'P', 0, BD_FORMAT_MAJOR, 0,
					     BD_FORMAT_MINOR, 0};
	ents[n] = (fz_rec){.type = BD_REC_FILE};
	fz_put_record(out, &ents[n++], file_hdr, sizeof file_hdr);
	while (c.p < c.end && n < 510) {
		uint8_t sel = *c.p++;
		uint8_t inst = c.p < c.end ? *c.p++ : 0;
		fz_rec *e = &ents[n];
		*e = (fz_rec){.type = types[sel & 15], .instance = inst};
		e->items = (uint32_t)var(&c);
		e->key = var(&c);
		uint32_t *sq = &seqs[sel & 15][e->type == BD_REC_TABLE ? inst : 0];
		e->seq = sel & 0x80 ? (uint32_t)var(&c) : (*sq)++;
		uint64_t len = var(&c);
		if (len > (uint64_t)(c.end - c.p))
			len = (uint64_t)(c.end - c.p);
		fz_put_record(out, e, c.p, (size_t)len);
		c.p += len;
		n++;
	}
	if (!(flags & 2)) {
		ents[n] = (fz_rec){.type = BD_REC_END};
		fz_put_record(out, &ents[n++], NULL, 0);
	}
	if (!(flags & 1))
		fz_put_index(out, ents, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bd_model *m;
	bd_error err = {0};
	fz_buf b = {0};
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
