/* On-disk constants of the .bdump container (docs/FORMAT.md), shared by the writer
 * (dump/) and the reader (formats/). Only layout: no functions beyond byte helpers. */
#ifndef BEAMDUMP_CONTAINER_H
#define BEAMDUMP_CONTAINER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A record = skippable-frame header (8) + record header (48) + one zstd frame. */
#define BD_SKIP_MAGIC 0x184D2A5Bu      /* zstd skippable frame, nibble B */
#define BD_REC_SIG "BDRC"
#define BD_TRL_SIG "BDTR"
#define BD_REC_HDR 48u                 /* record header after the 8-byte frame header */
#define BD_REC_FRAME (8u + BD_REC_HDR) /* bytes before the payload */
#define BD_TRL_BODY 32u
#define BD_TRL_SIZE (8u + BD_TRL_BODY) /* trailer: last bytes of a finished file */
#define BD_IDX_ENTRY 40u               /* one index entry */

#define BD_FORMAT_MAJOR 1
#define BD_FORMAT_MINOR 0

/* Record types. The writer owns FILE, END and INDEX; producers the others. */
enum {
	BD_REC_FILE = 0x0001,      /* file header: format version, producer, time */
	BD_REC_END = 0x0002,       /* last record before the index */
	BD_REC_INDEX = 0x0003,     /* index entries */
	BD_REC_STRINGS = 0x0010,   /* model strings, ids key..key+items-1 */
	BD_REC_TABLE = 0x0011,     /* columnar table chunk; instance = table id */
	BD_REC_TERMDICT = 0x0012,  /* atoms/texts of the term codec, ids key.. */
	BD_REC_PROCDATA = 0x0020,  /* term sections of processes key..key+items-1 */
	BD_REC_TERMTEXT = 0x0021,  /* literals (instance 1), persistent terms (2) */
	BD_REC_BINDATA = 0x0022,   /* off-heap binary contents of binaries key.. */
	BD_REC_TEXT = 0x0023,      /* verbatim text blob; instance 1 = =atoms */
	BD_REC_NATIVE = 0x0030,    /* native crash: instance 1 crash guard facts, 2 resolved table */
};

/* Entries of a NATIVE record of instance 1 (the crash guard's raw facts; docs/FORMAT.md
 * §3.4): u16 tag, u32 length, that many bytes, little endian. */
enum {
	BD_NAT_INFO = 1,      /* u32 pid, u32 tid, i32 signo, i32 si_code, u32 si_pid, u32 0,
			       * u64 si_addr, i64 unix time, u64 fs_base */
	BD_NAT_REGS = 2,      /* 17 x u64 (x86-64 DWARF order, rip last), u32 valid mask */
	BD_NAT_MEM = 3,       /* u64 address, then the bytes there */
	BD_NAT_MAPS = 4,      /* the text of /proc/self/maps */
	BD_NAT_THREAD = 5,    /* u32 tid, u8 state, thread name */
	BD_NAT_BUILDID = 6,   /* u64 mapping start, build-id in hex */
	BD_NAT_AUXV = 7,      /* /proc/self/auxv */
	BD_NAT_CMDLINE = 8,   /* /proc/self/cmdline */
	BD_NAT_EXE = 9,       /* path of the executable */
	BD_NAT_FPWALK = 10,   /* u64 return addresses of a frame-pointer walk */
	BD_NAT_JIT = 11,      /* one symfile of the VM's JIT debug table */
	BD_NAT_PCSP = 12,     /* u32 tid, u64 sp, u64 pc of a thread in a system call */
};

/* What the producer says about one record (docs/FORMAT.md, "record header"). */
typedef struct bd_record {
	uint16_t type;     /* BD_REC_* of docs/FORMAT.md (producer-defined above 0x100) */
	uint16_t version;  /* payload encoding version of this type */
	uint32_t instance; /* which table / stream of that type */
	uint32_t seq;      /* chunk number within (type, instance) */
	uint32_t items;    /* rows or objects in the payload */
	uint64_t key;      /* first key (row, process or binary index) */
} bd_record;

/* Trailer flags (also returned by bd_writer_flags). */
#define BD_WF_COMPLETE 0x1u     /* bd_writer_finish wrote index and trailer */
#define BD_WF_BYTE_BUDGET 0x2u  /* records were refused: byte budget */
#define BD_WF_TIME_BUDGET 0x4u  /* records were refused: time budget */
#define BD_WF_INDEX_FULL 0x8u   /* records were refused: max_records reached */
#define BD_WF_REFUSED 0x10u     /* a record was refused (too large, bad argument) */

/* CRC32C (Castagnoli) of buf, continuing from crc (start with 0). Async-signal-safe.
 * Implemented in dump/crc32c.c, which both the writer and the reader compile. */
uint32_t bd_crc32c(uint32_t crc, const void *buf, size_t len);

/* Record header field offsets (little endian). */
enum {
	BD_RH_SIG = 0,      /* "BDRC" */
	BD_RH_TYPE = 4,     /* u16 */
	BD_RH_VERSION = 6,  /* u16 */
	BD_RH_INSTANCE = 8, /* u32 */
	BD_RH_SEQ = 12,     /* u32 */
	BD_RH_KEY = 16,     /* u64 */
	BD_RH_RAWLEN = 24,  /* u64 */
	BD_RH_COMPLEN = 32, /* u32: bytes of the zstd frame that follows */
	BD_RH_ITEMS = 36,   /* u32 */
	BD_RH_PCRC = 40,    /* u32: CRC32C of the zstd frame */
	BD_RH_HCRC = 44,    /* u32: CRC32C of header bytes 0..43 */
};

/* Trailer body field offsets. */
enum {
	BD_TR_SIG = 0,      /* "BDTR" */
	BD_TR_FLAGS = 4,    /* u32 BD_WF_* */
	BD_TR_INDEX = 8,    /* u64 offset of the index record */
	BD_TR_COUNT = 16,   /* u32 index entries */
	BD_TR_MAJOR = 20,   /* u16 */
	BD_TR_MINOR = 22,   /* u16 */
	BD_TR_RESERVED = 24,/* u32 zero */
	BD_TR_CRC = 28,     /* u32 CRC32C of bytes 0..27 */
};

/* Index entry field offsets. */
enum {
	BD_IE_OFFSET = 0,   /* u64 offset of the record's frame header */
	BD_IE_KEY = 8,      /* u64 */
	BD_IE_RAWLEN = 16,  /* u64 */
	BD_IE_TYPE = 24,    /* u16 */
	BD_IE_VERSION = 26, /* u16 */
	BD_IE_INSTANCE = 28,/* u32 */
	BD_IE_SEQ = 32,     /* u32 */
	BD_IE_ITEMS = 36,   /* u32 */
};

static inline void bd_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void bd_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void bd_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t bd_get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t bd_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t bd_get64(const uint8_t *p)
{
	return (uint64_t)bd_get32(p) | (uint64_t)bd_get32(p + 4) << 32;
}

#endif
