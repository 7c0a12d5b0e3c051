/* The .bdump writer (docs/FORMAT.md §Container, DESIGN.md §5). Everything it needs
 * lives in one caller-provided arena, laid out and pre-faulted by bd_writer_init; after
 * that only write/fsync/close/rename/clock_gettime and mem* are called, so records can
 * be written from a signal handler. zstd is linked in statically with its symbols
 * localized, and its malloc/calloc/free references are redirected to the stubs at the
 * end of this file (see CMakeLists.txt), so the library cannot allocate at all. */
#define ZSTD_STATIC_LINKING_ONLY
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h> /* rename() only: no stdio streams are used */
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "beamdump/container.h"
#include "beamdump/dump.h"

#define PATH_CAP 4096
#define MSG_CAP 256
#define ALIGN 64

struct bd_writer {
	volatile sig_atomic_t busy; /* a call is running: a nested call (signal) is refused */
	int fd;
	int error;          /* sticky BD_E* */
	int sys_errno;
	uint32_t flags;     /* BD_WF_* */
	int finished;
	int level;
	size_t max_record;
	uint32_t max_records;
	uint32_t nrecords;  /* index entries used */
	uint64_t offset;    /* bytes written */
	uint64_t max_bytes;
	uint64_t max_millis;
	int no_fsync;
	int direct;         /* writing the path itself (a device or FIFO): no .partial */
	struct timespec t0;
	ZSTD_CCtx *cctx;
	uint8_t *out;       /* BD_REC_FRAME header room + compress bound */
	size_t out_cap;
	uint8_t *index;     /* max_records * BD_IDX_ENTRY */
	char path[PATH_CAP];
	char partial[PATH_CAP + 16];
	char msg[MSG_CAP];
};

/* ---- signal-safe text helpers for error messages ---- */
static size_t cat(char *buf, size_t pos, size_t cap, const char *s)
{
	while (*s && pos + 1 < cap)
		buf[pos++] = *s++;
	buf[pos < cap ? pos : cap - 1] = 0;
	return pos;
}

static size_t cat_u64(char *buf, size_t pos, size_t cap, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	char s[24];
	for (int i = 0; i < n; i++)
		s[i] = tmp[n - 1 - i];
	s[n] = 0;
	return cat(buf, pos, cap, s);
}

/* Set the sticky error (first one wins) with "what: errno N at offset X". */
static int fail(bd_writer *w, int code, int sys_errno, const char *what)
{
	if (w->error)
		return w->error;
	w->error = code;
	w->sys_errno = sys_errno;
	size_t p = cat(w->msg, 0, MSG_CAP, w->partial);
	p = cat(w->msg, p, MSG_CAP, ": ");
	p = cat(w->msg, p, MSG_CAP, what);
	if (sys_errno) {
		p = cat(w->msg, p, MSG_CAP, " (errno ");
		p = cat_u64(w->msg, p, MSG_CAP, (uint64_t)sys_errno);
		p = cat(w->msg, p, MSG_CAP, ")");
	}
	p = cat(w->msg, p, MSG_CAP, " at offset ");
	cat_u64(w->msg, p, MSG_CAP, w->offset);
	return code;
}

static int write_all(bd_writer *w, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(w->fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return fail(w, BD_EIO, errno, "write failed");
		}
		if (k == 0)
			return fail(w, BD_EIO, 0, "write returned 0");
		p += k;
		n -= (size_t)k;
		w->offset += (uint64_t)k;
	}
	return 0;
}

static uint64_t elapsed_ms(const bd_writer *w)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	int64_t ms = (int64_t)(t.tv_sec - w->t0.tv_sec) * 1000 +
		     (t.tv_nsec - w->t0.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (uint64_t)ms;
}

/* ---- sizing ---- */
typedef struct layout {
	size_t self, cctx, out, index, total, max_src;
} layout;

static int plan(const bd_writer_opts *o, layout *l)
{
	if (o->version != BD_WRITER_OPTS_VERSION || o->level < 1 || o->level > 19 ||
	    o->max_record < 4096 || o->max_record > ((size_t)1 << 30) || o->max_records < 16 ||
	    o->max_records > (1u << 24))
		return -1;
	size_t idx_bytes = (size_t)o->max_records * BD_IDX_ENTRY;
	l->max_src = o->max_record > idx_bytes ? o->max_record : idx_bytes;
	ZSTD_compressionParameters cp = ZSTD_getCParams(o->level, l->max_src, 0);
	l->cctx = ZSTD_estimateCCtxSize_usingCParams(cp);
	l->self = (sizeof(bd_writer) + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	l->cctx = (l->cctx + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	l->out = (BD_REC_FRAME + ZSTD_compressBound(l->max_src) + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	l->index = (idx_bytes + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	l->total = l->self + l->cctx + l->out + l->index + ALIGN;
	return 0;
}

size_t bd_writer_size(const bd_writer_opts *o)
{
	static const bd_writer_opts def = BD_WRITER_OPTS_INIT;
	layout l;
	return plan(o ? o : &def, &l) ? 0 : l.total;
}

/* ---- records ---- */
static void put_header(uint8_t *h, const bd_record *r, uint64_t raw, uint32_t comp, uint32_t pcrc)
{
	bd_put32(h, BD_SKIP_MAGIC);
	bd_put32(h + 4, BD_REC_HDR);
	uint8_t *b = h + 8;
	memcpy(b + BD_RH_SIG, BD_REC_SIG, 4);
	bd_put16(b + BD_RH_TYPE, r->type);
	bd_put16(b + BD_RH_VERSION, r->version);
	bd_put32(b + BD_RH_INSTANCE, r->instance);
	bd_put32(b + BD_RH_SEQ, r->seq);
	bd_put64(b + BD_RH_KEY, r->key);
	bd_put64(b + BD_RH_RAWLEN, raw);
	bd_put32(b + BD_RH_COMPLEN, comp);
	bd_put32(b + BD_RH_ITEMS, r->items);
	bd_put32(b + BD_RH_PCRC, pcrc);
	bd_put32(b + BD_RH_HCRC, bd_crc32c(0, b, BD_RH_HCRC));
}

/* Compress payload into w->out after the header room; returns the frame size or 0. */
static size_t compress_payload(bd_writer *w, const void *payload, size_t len)
{
	if (!len)
		return 0;
	size_t cap = w->out_cap - BD_REC_FRAME;
	size_t z = ZSTD_compress2(w->cctx, w->out + BD_REC_FRAME, cap, payload, len);
	if (ZSTD_isError(z)) {
		fail(w, BD_ENOMEM, 0, "zstd compression failed");
		return 0;
	}
	return z;
}

/* Bytes that finish() may still need: END + index + trailer. */
static uint64_t tail_reserve(uint32_t entries)
{
	return (uint64_t)BD_REC_FRAME + BD_REC_FRAME +
	       ZSTD_compressBound((size_t)entries * BD_IDX_ENTRY) + BD_TRL_SIZE;
}

static int emit(bd_writer *w, const bd_record *r, const void *payload, size_t len, int budgeted)
{
	size_t z = compress_payload(w, payload, len);
	if (w->error)
		return w->error;
	if (budgeted && w->max_bytes &&
	    w->offset + BD_REC_FRAME + z + tail_reserve(w->nrecords + 1) > w->max_bytes) {
		w->flags |= BD_WF_BYTE_BUDGET;
		return BD_EBUDGET;
	}
	uint32_t pcrc = z ? bd_crc32c(0, w->out + BD_REC_FRAME, z) : 0;
	put_header(w->out, r, len, (uint32_t)z, pcrc);
	uint64_t at = w->offset;
	int rc = write_all(w, w->out, BD_REC_FRAME + z);
	if (rc)
		return rc;
	if (r->type != BD_REC_INDEX && w->nrecords < w->max_records) {
		uint8_t *e = w->index + (size_t)w->nrecords * BD_IDX_ENTRY;
		bd_put64(e + BD_IE_OFFSET, at);
		bd_put64(e + BD_IE_KEY, r->key);
		bd_put64(e + BD_IE_RAWLEN, len);
		bd_put16(e + BD_IE_TYPE, r->type);
		bd_put16(e + BD_IE_VERSION, r->version);
		bd_put32(e + BD_IE_INSTANCE, r->instance);
		bd_put32(e + BD_IE_SEQ, r->seq);
		bd_put32(e + BD_IE_ITEMS, r->items);
		w->nrecords++;
	}
	return 0;
}

static int record(bd_writer *w, const bd_record *r, const void *payload, size_t len);

/* A signal handler that interrupts a writer call and calls in again would overwrite
 * the output buffer mid-record: the nested call is refused instead. */
int bd_writer_record(bd_writer *w, const bd_record *r, const void *payload, size_t len)
{
	if (!w || w->busy)
		return BD_EUSAGE;
	w->busy = 1;
	int rc = record(w, r, payload, len);
	w->busy = 0;
	return rc;
}

static int record(bd_writer *w, const bd_record *r, const void *payload, size_t len)
{
	if (w->error)
		return w->error;
	if (w->finished)
		return BD_EUSAGE;
	if (w->flags & (BD_WF_BYTE_BUDGET | BD_WF_TIME_BUDGET | BD_WF_INDEX_FULL))
		return BD_EBUDGET;
	if (!r || (len && !payload) || len > w->max_record || r->type < BD_REC_STRINGS) {
		w->flags |= BD_WF_REFUSED;
		return BD_EUSAGE;
	}
	if (w->max_millis && elapsed_ms(w) > w->max_millis) {
		w->flags |= BD_WF_TIME_BUDGET;
		return BD_EBUDGET;
	}
	/* Keep room for END in the index. */
	if (w->nrecords + 2 > w->max_records) {
		w->flags |= BD_WF_INDEX_FULL;
		return BD_EBUDGET;
	}
	return emit(w, r, payload, len, 1);
}

/* ---- file header and init ---- */
static size_t file_header_payload(uint8_t *p, const char *producer)
{
	/* "BDUMP\0", u16 major, u16 minor, u64 unix seconds, u16 n, producer bytes */
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	memcpy(p, "BDUMP\0", 6);
	bd_put16(p + 6, BD_FORMAT_MAJOR);
	bd_put16(p + 8, BD_FORMAT_MINOR);
	bd_put64(p + 10, (uint64_t)t.tv_sec);
	size_t n = producer ? strlen(producer) : 0;
	if (n > 200)
		n = 200;
	bd_put16(p + 18, (uint16_t)n);
	if (n)
		memcpy(p + 20, producer, n);
	return 20 + n;
}

static int init_error(bd_error *err, int code, int sys_errno, const char *a, const char *b)
{
	if (err) {
		err->code = code;
		err->sys_errno = sys_errno;
		size_t p = cat(err->msg, 0, sizeof err->msg, a);
		cat(err->msg, p, sizeof err->msg, b ? b : "");
	}
	return code;
}

/* Call every libc function the writer uses once, so none is bound lazily later. */
static void warm_up(bd_writer *w)
{
	(void)fsync(w->fd);
	(void)rename("/nonexistent/bdump-warm-up", "/nonexistent/bdump-warm-up");
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)write(fd, "", 0);
		close(fd);
	}
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	char a[8] = {0}, b[8];
	memmove(b, a, sizeof a);
	memcpy(a, b, sizeof a);
}

int bd_writer_init(bd_writer **out, void *arena, size_t size, const char *path,
		   const bd_writer_opts *o, bd_error *err)
{
	static const bd_writer_opts def = BD_WRITER_OPTS_INIT;
	if (!o)
		o = &def;
	*out = NULL;
	layout l;
	if (plan(o, &l))
		return init_error(err, BD_EUSAGE, 0, "bd_writer_init: invalid options", NULL);
	if (!path || strlen(path) >= PATH_CAP)
		return init_error(err, BD_EUSAGE, 0, "bd_writer_init: path missing or too long", NULL);
	uintptr_t a = ((uintptr_t)arena + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1);
	if (!arena || size < l.total || a - (uintptr_t)arena + l.total - ALIGN > size)
		return init_error(err, BD_ENOMEM, 0, "bd_writer_init: arena smaller than bd_writer_size()", NULL);
	/* Pre-fault: touch every page now, not at crash time. */
	memset(arena, 0, size);
	bd_writer *w = (bd_writer *)a;
	uint8_t *base = (uint8_t *)a;
	w->cctx = ZSTD_initStaticCCtx(base + l.self, l.cctx);
	w->out = base + l.self + l.cctx;
	w->out_cap = l.out;
	w->index = w->out + l.out;
	w->fd = -1;
	w->level = o->level;
	w->max_record = o->max_record;
	w->max_records = o->max_records;
	w->max_bytes = o->max_bytes;
	w->max_millis = o->max_millis;
	w->no_fsync = o->no_fsync;
	memcpy(w->path, path, strlen(path) + 1);
	size_t pl = cat(w->partial, 0, sizeof w->partial, path);
	cat(w->partial, pl, sizeof w->partial, ".partial");
	if (!w->cctx)
		return init_error(err, BD_ENOMEM, 0, "bd_writer_init: zstd workspace too small", NULL);
	size_t zr = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, o->level);
	if (!ZSTD_isError(zr))
		zr = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
	if (!ZSTD_isError(zr))
		zr = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_contentSizeFlag, 1);
	if (ZSTD_isError(zr))
		return init_error(err, BD_ENOMEM, 0, "bd_writer_init: zstd: ", ZSTD_getErrorName(zr));
	/* Dry run: compress the (zeroed) index area, as finish() will, so a workspace
	 * problem shows now and not at crash time. */
	const uint8_t *src = w->index;
	size_t srclen = (size_t)w->max_records * BD_IDX_ENTRY;
	if (srclen > l.max_src)
		srclen = l.max_src;
	zr = ZSTD_compress2(w->cctx, w->out + BD_REC_FRAME, w->out_cap - BD_REC_FRAME, src, srclen);
	if (ZSTD_isError(zr))
		return init_error(err, BD_ENOMEM, 0, "bd_writer_init: dry-run compression: ",
				  ZSTD_getErrorName(zr));
	clock_gettime(CLOCK_MONOTONIC, &w->t0);
	/* A directory is refused; a device or FIFO (/dev/null, /dev/full, a pipe) is
	 * written as it is: renaming a file over it would replace the device node. */
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return init_error(err, BD_EIO, EISDIR, "cannot write ", path);
	w->direct = stat(path, &st) == 0 && !S_ISREG(st.st_mode);
	if (w->direct)
		cat(w->partial, 0, sizeof w->partial, path);
	w->fd = w->direct ? open(path, O_WRONLY | O_CLOEXEC)
			  : open(w->partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0)
		return init_error(err, BD_EIO, errno, "cannot create ", w->partial);
	uint8_t hp[256];
	size_t hn = file_header_payload(hp, o->producer);
	bd_record r = {BD_REC_FILE, 1, 0, 0, 0, 0};
	int rc = emit(w, &r, hp, hn, 0);
	if (rc) {
		close(w->fd);
		w->fd = -1;
		if (!w->direct)
			unlink(w->partial);
		return init_error(err, rc, w->sys_errno, w->msg, NULL);
	}
	warm_up(w);
	*out = w;
	return 0;
}

/* ---- finish ---- */
static int finish(bd_writer *w);

int bd_writer_finish(bd_writer *w)
{
	if (!w || w->busy)
		return BD_EUSAGE;
	w->busy = 1;
	int rc = finish(w);
	w->busy = 0;
	return rc;
}

static int finish(bd_writer *w)
{
	if (w->finished)
		return w->error ? w->error : BD_EUSAGE;
	w->finished = 1;
	if (w->error) {
		bd_writer_abandon(w);
		return w->error;
	}
	uint8_t end[16];
	bd_put32(end, w->flags);
	bd_put32(end + 4, w->nrecords);
	bd_put64(end + 8, w->offset);
	bd_record r = {BD_REC_END, 1, 0, 0, 0, 0};
	if (w->nrecords >= w->max_records)
		w->nrecords = w->max_records - 1; /* the budget check keeps one slot for END */
	int rc = emit(w, &r, end, sizeof end, 0);
	uint64_t index_at = w->offset;
	uint32_t count = w->nrecords;
	if (!rc) {
		bd_record ir = {BD_REC_INDEX, 1, 0, 0, count, 0};
		rc = emit(w, &ir, w->index, (size_t)count * BD_IDX_ENTRY, 0);
	}
	if (!rc) {
		uint8_t t[BD_TRL_SIZE];
		memset(t, 0, sizeof t);
		bd_put32(t, BD_SKIP_MAGIC);
		bd_put32(t + 4, BD_TRL_BODY);
		uint8_t *b = t + 8;
		memcpy(b + BD_TR_SIG, BD_TRL_SIG, 4);
		bd_put32(b + BD_TR_FLAGS, w->flags | BD_WF_COMPLETE);
		bd_put64(b + BD_TR_INDEX, index_at);
		bd_put32(b + BD_TR_COUNT, count);
		bd_put16(b + BD_TR_MAJOR, BD_FORMAT_MAJOR);
		bd_put16(b + BD_TR_MINOR, BD_FORMAT_MINOR);
		bd_put32(b + BD_TR_CRC, bd_crc32c(0, b, BD_TR_CRC));
		rc = write_all(w, t, sizeof t);
	}
	if (!rc && !w->no_fsync && fsync(w->fd) < 0 && !(w->direct && errno == EINVAL))
		rc = fail(w, BD_EIO, errno, "fsync failed");
	if (close(w->fd) < 0 && !rc)
		rc = fail(w, BD_EIO, errno, "close failed");
	w->fd = -1;
	if (!rc && !w->direct && rename(w->partial, w->path) < 0)
		rc = fail(w, BD_EIO, errno, "rename failed");
	if (!rc)
		w->flags |= BD_WF_COMPLETE;
	return rc;
}

void bd_writer_abandon(bd_writer *w)
{
	if (!w)
		return;
	w->finished = 1;
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

void bd_writer_discard(bd_writer *w)
{
	if (!w)
		return;
	bd_writer_abandon(w);
	if (!w->direct)
		unlink(w->partial);
}

int bd_writer_error(const bd_writer *w, bd_error *err)
{
	if (!w)
		return BD_EUSAGE;
	if (err) {
		err->code = w->error;
		err->sys_errno = w->sys_errno;
		cat(err->msg, 0, sizeof err->msg, w->error ? w->msg : "");
	}
	return w->error;
}

uint32_t bd_writer_flags(const bd_writer *w) { return w ? w->flags : 0; }
uint64_t bd_writer_bytes(const bd_writer *w) { return w ? w->offset : 0; }
uint32_t bd_writer_records(const bd_writer *w) { return w ? w->nrecords : 0; }

/* ---- allocation stubs: zstd's malloc/calloc/free are renamed to these when the
 * library is assembled (CMakeLists.txt), so nothing in it can reach the heap. A
 * static CCtx never calls them; if it ever did, it gets NULL and reports an error. */
void *bd_dump_no_malloc(size_t n);
void *bd_dump_no_calloc(size_t n, size_t k);
void bd_dump_no_free(void *p);
void *bd_dump_no_realloc(void *p, size_t n);
void *bd_dump_no_malloc(size_t n)
{
	(void)n;
	return NULL;
}
void *bd_dump_no_calloc(size_t n, size_t k)
{
	(void)n;
	(void)k;
	return NULL;
}
void bd_dump_no_free(void *p) { (void)p; }
void *bd_dump_no_realloc(void *p, size_t n)
{
	(void)p;
	(void)n;
	return NULL;
}
