/* Framing for the fuzz targets: a payload becomes a valid record (header, zstd frame,
 * CRCs), records a valid .bdump (index, trailer), so that mutations reach what the
 * readers decode instead of failing a checksum. */
#ifndef BD_FUZZ_FRAME_H
#define BD_FUZZ_FRAME_H

#include <stddef.h>
#include <stdint.h>

typedef struct fz_buf {
	uint8_t *p;
	size_t len, cap;
} fz_buf;

/* One record as the index lists it (off and raw are set by fz_put_record). */
typedef struct fz_rec {
	uint64_t off, key, raw;
	uint16_t type;
	uint32_t instance, seq, items;
} fz_rec;

/* n more bytes at the end of b (aborts when out of memory: the harness, not the
 * reader, failed). */
uint8_t *fz_room(fz_buf *b, size_t n);
/* Append one framed record of payload p[0..n) to out. */
void fz_put_record(fz_buf *out, fz_rec *e, const uint8_t *payload, size_t n);
/* Append the index of the n records v and the trailer. */
void fz_put_index(fz_buf *out, const fz_rec *v, size_t n);

#endif
