/* Framing for the fuzz targets (frame.h): records, index and trailer as the
 * snapshot writer lays them out, so that a target's mutations reach the payloads. */
#include <stdlib.h>
#include <string.h>

#include "beamdump/container.h"
#include "frame.h"

uint8_t *fz_room(fz_buf *b, size_t n)
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

/* A payload as one zstd frame of raw (stored) blocks: what the reader decodes is the
 * same as with compression, and the harness does not spend its time compressing
 * (it did: a sixth of fuzz_snapshot's time). Frame header: magic, descriptor
 * (single segment, 8-byte content size), content size; then blocks of at most
 * 128 KiB: 3-byte header (last flag, type 0 = raw, size << 3) and the bytes. */
enum { ZBLOCK = 128 << 10 };

static uint8_t *raw_frame(const uint8_t *payload, size_t n, size_t *comp)
{
	uint8_t *z = malloc(13 + 3 * ((n + ZBLOCK - 1) / ZBLOCK) + n);
	if (!z)
		abort();
	bd_put32(z, 0xFD2FB528u);
	z[4] = 0xE0; /* content size field of 8 bytes, single segment */
	bd_put64(z + 5, n);
	size_t k = 13;
	for (size_t off = 0; off < n; off += ZBLOCK) {
		size_t len = n - off < ZBLOCK ? n - off : ZBLOCK;
		uint32_t bh = (uint32_t)(len << 3) | (off + len == n);
		z[k] = (uint8_t)bh, z[k + 1] = (uint8_t)(bh >> 8), z[k + 2] = (uint8_t)(bh >> 16);
		memcpy(z + k + 3, payload + off, len);
		k += 3 + len;
	}
	*comp = k;
	return z;
}

/* Append one framed record (header, zstd frame) to out. */
void fz_put_record(fz_buf *out, fz_rec *e, const uint8_t *payload, size_t n)
{
	size_t comp = 0;
	uint8_t *z = n ? raw_frame(payload, n, &comp) : NULL;
	e->off = out->len;
	e->raw = n;
	uint8_t *h = fz_room(out, BD_REC_FRAME);
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
		memcpy(fz_room(out, comp), z, comp);
	free(z);
}

void fz_put_index(fz_buf *out, const fz_rec *v, size_t n)
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
	fz_rec ie = {.type = BD_REC_INDEX};
	fz_put_record(out, &ie, ix, n * BD_IDX_ENTRY);
	free(ix);
	uint8_t *t = fz_room(out, BD_TRL_SIZE);
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

