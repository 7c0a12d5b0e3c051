/* Input bytes: a regular file is mmap'ed; compressed input (zstd, gzip) and pipes are
 * streamed into an unlinked temporary file, which is mmap'ed, so memory stays bounded
 * whatever the input size. A model read (bd_source_open_stream) does not wait for the
 * spool: a thread decompresses into the file while the reader follows it through a
 * mapping reserved up front (bd_source_wait), so the two steps overlap. On the way the first bytes are checked (no
 * spooling of what is not a dump), a decompression bomb or a filling $TMPDIR stops
 * the spool (the input then reads as cut), and Windows line endings are turned back
 * into the VM's own "\n" so every reader sees one text. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "beamdump/progress.h"
#include "readers.h"

enum {
	HEAD_CAP = 64,                      /* bytes sniffed before anything is spooled */
	RATIO_MAX = 1000,                   /* output/input beyond which a stream is a bomb */
};
#define RATIO_FROM ((uint64_t)32 << 20)     /* ... once this much was written */
#define DISK_CHECK ((uint64_t)256 << 20)    /* free space re-checked this often */
#define DISK_RESERVE ((uint64_t)1 << 30)    /* never leave less free in $TMPDIR */
#define STREAM_SPAN ((uint64_t)1 << 42)     /* address space reserved for a streamed spool */

typedef struct bd_stream bd_stream;

/* ---- the temporary file and what goes into it ---- */
typedef struct sink {
	int fd;
	const char *name;
	uint64_t written, consumed;   /* bytes out; compressed bytes in (ratio) */
	uint64_t limit;               /* BEAMDUMP_MAX_INPUT, or UINT64_MAX */
	int ratio_check;              /* compressed input without an explicit limit */
	uint64_t next_disk_check;
	unsigned char head[HEAD_CAP]; /* the first bytes, held until sniffed */
	size_t nhead;
	int sniffed, crlf, pending_cr;
	int utf16, odd;               /* UTF-16LE text (a Windows redirect): low byte held */
	unsigned char odd_byte;
	char stop[200];               /* why the spool stopped early ("" = it did not) */
	uint64_t file_off;            /* bytes in the file */
	bd_stream *st;                /* a reader follows the file (NULL: nobody) */
} sink;

/* The spool of a streamed source, run by a thread of its own beside the reader. */
struct bd_stream {
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t grew;
	uint64_t avail;         /* bytes of the file the reader may read */
	uint64_t want;          /* the reader waits for this much (woken only then) */
	int ended, waiting, crlf;
	int rc;                 /* as spool(): < 0 an error (err), else the bytes are read */
	_Atomic int stop;       /* the source is being freed: stop early */
	bd_error err;
	int fd, in;             /* the temporary file; the input (closed by the thread) */
	unsigned char head[8];  /* the bytes already read (src.pre) */
	struct input *src;
	int z;
	char name[200];
	char cut[200];
};

static void stream_publish(bd_stream *st, uint64_t avail, int crlf)
{
	pthread_mutex_lock(&st->lock);
	st->avail = avail;
	st->crlf = crlf;
	if (st->waiting && avail >= st->want) {
		st->waiting = 0;
		pthread_cond_broadcast(&st->grew);
	}
	pthread_mutex_unlock(&st->lock);
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int tmpfile_fd(void)
{
	const char *dir = getenv("TMPDIR");
	char path[512];
	snprintf(path, sizeof path, "%s/beamdump-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* "12G", "500M", "1000000": bytes; 0 or "unlimited" lifts the limit. */
static uint64_t env_limit(int *set)
{
	const char *v = getenv("BEAMDUMP_MAX_INPUT");
	*set = 0;
	if (!v || !*v)
		return UINT64_MAX;
	*set = 1;
	if (!strcmp(v, "unlimited"))
		return UINT64_MAX;
	char *e;
	unsigned long long n = strtoull(v, &e, 10);
	uint64_t mul = 1;
	switch (*e) {
	case 'k': case 'K': mul = 1u << 10; break;
	case 'm': case 'M': mul = 1u << 20; break;
	case 'g': case 'G': mul = 1u << 30; break;
	case 't': case 'T': mul = (uint64_t)1 << 40; break;
	}
	if (!n || n > UINT64_MAX / mul)
		return UINT64_MAX;
	return (uint64_t)n * mul;
}

static void sink_init(sink *k, int fd, const char *name, int compressed)
{
	memset(k, 0, sizeof *k);
	k->fd = fd;
	k->name = name;
	int set;
	k->limit = env_limit(&set);
	k->ratio_check = compressed && !set;
	k->next_disk_check = 0;
}

/* Does the text start like something we read? The part before the first newline must
 * be a prefix of the crash-dump magic (a dump cut inside its first line is still a
 * dump), or another known start. */
static int head_known(const unsigned char *h, size_t n)
{
	static const char magic[] = "=erl_crash_dump:";
	static const char old[] = "<Erlang crash dump>";
	if (n == 0 || bd_snapshot_is((const char *)h, n))
		return 1;
	if (n >= 4 && memcmp(h, "ENC0", 4) == 0)
		return 1;
	if (n >= 4 && memcmp(h, "\177ELF", 4) == 0)
		return 1; /* a core file (systemd-coredump keeps them zstd-compressed) */
	if (memcmp(h, old, n < sizeof old - 1 ? n : sizeof old - 1) == 0)
		return 1;
	size_t k = 0;
	while (k < n && k < sizeof magic - 1 && h[k] != '\n' && h[k] != '\r')
		k++;
	return k > 0 && memcmp(h, magic, k) == 0;
}

/* Windows line endings: the first line ends in "\r\n". */
static int head_crlf(const unsigned char *h, size_t n)
{
	const unsigned char *nl = memchr(h, '\n', n);
	return nl && nl > h && nl[-1] == '\r';
}

static int sink_write(sink *k, const void *p, size_t n)
{
	if (write_all(k->fd, p, n) < 0)
		return -1;
	k->file_off += n;
	return 0;
}

/* Write bytes, dropping the '\r' of every "\r\n" in CRLF mode. */
static int put_text(sink *k, const unsigned char *p, size_t n)
{
	if (!k->crlf)
		return sink_write(k, p, n);
	if (k->pending_cr && n) {
		k->pending_cr = 0;
		if (p[0] != '\n' && sink_write(k, "\r", 1) < 0)
			return -1;
	}
	const unsigned char *e = p + n;
	while (p < e) {
		const unsigned char *cr = memchr(p, '\r', (size_t)(e - p));
		if (!cr)
			return sink_write(k, p, (size_t)(e - p));
		if (sink_write(k, p, (size_t)(cr - p)) < 0)
			return -1;
		if (cr + 1 == e) {
			k->pending_cr = 1;
			return 0;
		}
		p = cr[1] == '\n' ? cr + 1 : cr;
		if (p == cr) { /* a lone '\r' stays */
			if (sink_write(k, "\r", 1) < 0)
				return -1;
			p++;
		}
	}
	return 0;
}

/* UTF-16LE units to UTF-8 (a dump saved by a Windows shell redirect); an odd byte
 * waits for its pair. Returns the bytes written to out (at most 3 per unit). */
static size_t utf16_to_8(sink *k, const unsigned char *p, size_t n, unsigned char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (!k->odd) {
			k->odd_byte = p[i];
			k->odd = 1;
			continue;
		}
		k->odd = 0;
		unsigned c = (unsigned)k->odd_byte | (unsigned)p[i] << 8;
		if (c < 0x80) {
			out[o++] = (unsigned char)c;
		} else if (c < 0x800) {
			out[o++] = (unsigned char)(0xC0 | c >> 6);
			out[o++] = (unsigned char)(0x80 | (c & 0x3F));
		} else {
			out[o++] = (unsigned char)(0xE0 | c >> 12);
			out[o++] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
			out[o++] = (unsigned char)(0x80 | (c & 0x3F));
		}
	}
	return o;
}

/* Bytes in the input's encoding into the spool. */
static int put_raw(sink *k, const unsigned char *p, size_t n)
{
	if (!k->utf16)
		return put_text(k, p, n);
	unsigned char buf[3 * 4096];
	while (n) {
		size_t take = n < 2 * 4096 ? n : 2 * 4096;
		size_t o = utf16_to_8(k, p, take, buf);
		if (put_text(k, buf, o) < 0)
			return -1;
		p += take;
		n -= take;
	}
	return 0;
}

/* What the head says: a byte order mark is dropped (UTF-16LE text is decoded), then
 * the text must start like something we read. */
static int sniff(sink *k, bd_error *err)
{
	k->sniffed = 1;
	const unsigned char *h = k->head;
	size_t n = k->nhead;
	unsigned char dec[3 * HEAD_CAP];
	if (n >= 3 && h[0] == 0xEF && h[1] == 0xBB && h[2] == 0xBF) {
		h += 3;
		n -= 3;
	} else if (n >= 2 && h[0] == 0xFF && h[1] == 0xFE) {
		k->utf16 = 1;
		h += 2;
		n -= 2;
	} else if (n >= 2 && h[0] == 0xFE && h[1] == 0xFF) {
		return bd_error_set(err, BD_EUNSUPPORTED, 0,
				    "%s: UTF-16 big-endian text: convert it first "
				    "(iconv -f UTF-16 -t UTF-8)", k->name);
	}
	const unsigned char *t = h;
	size_t tn = n;
	if (k->utf16) {
		sink probe = *k; /* decode a copy: the real decode happens on write */
		probe.odd = 0;
		tn = utf16_to_8(&probe, h, n, dec);
		t = dec;
	}
	if (!head_known(t, tn))
		return bd_error_set(err, BD_EUNSUPPORTED, 0,
				    "%s: not an Erlang crash dump (no '=erl_crash_dump:' at offset 0)",
				    k->name);
	/* a core file is binary: its bytes are never line endings */
	k->crlf = !(tn >= 4 && !memcmp(t, "\177ELF", 4)) && head_crlf(t, tn);
	return put_raw(k, h, n) < 0 ? bd_error_set(err, BD_EIO, errno,
						   "cannot write temporary file: %s",
						   strerror(errno))
				    : 0;
}

static void fmt_size(char *buf, size_t cap, uint64_t v)
{
	if (v >= (uint64_t)1 << 30)
		snprintf(buf, cap, "%.1f GB", (double)v / (double)(1u << 30));
	else
		snprintf(buf, cap, "%.1f MB", (double)v / (double)(1u << 20));
}

/* Stop conditions checked before each write: the explicit limit, the expansion
 * ratio of a compressed stream, the free space left where the spool lives. */
static int over_limit(sink *k, size_t n)
{
	char sz[32];
	if (k->written + n > k->limit) {
		fmt_size(sz, sizeof sz, k->limit);
		snprintf(k->stop, sizeof k->stop,
			 "input read up to BEAMDUMP_MAX_INPUT (%s); raise it to read on", sz);
		return 1;
	}
	if (k->ratio_check && k->written >= RATIO_FROM && k->consumed &&
	    k->written / k->consumed > RATIO_MAX) {
		fmt_size(sz, sizeof sz, k->written);
		snprintf(k->stop, sizeof k->stop,
			 "decompression stopped at %s: the input expands more than %d:1 "
			 "(set BEAMDUMP_MAX_INPUT to read on)", sz, RATIO_MAX);
		return 1;
	}
	if (k->written >= k->next_disk_check) {
		struct statvfs vs;
		k->next_disk_check = k->written + DISK_CHECK;
		if (fstatvfs(k->fd, &vs) == 0) {
			uint64_t avail = (uint64_t)vs.f_bavail * vs.f_frsize;
			uint64_t total = (uint64_t)vs.f_blocks * vs.f_frsize;
			uint64_t reserve = total / 20 < DISK_RESERVE ? total / 20 : DISK_RESERVE;
			if (avail < reserve + DISK_CHECK) {
				fmt_size(sz, sizeof sz, k->written);
				snprintf(k->stop, sizeof k->stop,
					 "temporary space nearly full after %s: set TMPDIR to a "
					 "larger file system", sz);
				return 1;
			}
		}
	}
	return 0;
}

/* One chunk of output. Returns 0, 1 when the spool must stop here, or an error. */
static int sink_put_chunk(sink *k, const unsigned char *p, size_t n, bd_error *err);

static int sink_put(sink *k, const unsigned char *p, size_t n, bd_error *err)
{
	if (k->st && atomic_load(&k->st->stop)) {
		snprintf(k->stop, sizeof k->stop, "input no longer read");
		return 1;
	}
	int rc = sink_put_chunk(k, p, n, err);
	if (k->st && k->sniffed)
		stream_publish(k->st, k->file_off, k->crlf);
	return rc;
}

static int sink_put_chunk(sink *k, const unsigned char *p, size_t n, bd_error *err)
{
	if (!k->sniffed) {
		size_t take = HEAD_CAP - k->nhead < n ? HEAD_CAP - k->nhead : n;
		memcpy(k->head + k->nhead, p, take);
		k->nhead += take;
		p += take;
		n -= take;
		if (k->nhead < HEAD_CAP)
			return 0;
		int rc = sniff(k, err);
		if (rc)
			return rc;
		k->written += k->nhead;
	}
	if (!n)
		return 0;
	if (over_limit(k, n)) {
		uint64_t room = k->limit > k->written ? k->limit - k->written : 0;
		if (room && room < n && put_raw(k, p, (size_t)room) == 0)
			k->written += room;
		return 1;
	}
	if (put_raw(k, p, n) < 0)
		return bd_error_set(err, BD_EIO, errno, "cannot write temporary file: %s",
				    strerror(errno));
	k->written += n;
	return 0;
}

static int sink_end(sink *k, bd_error *err)
{
	if (!k->sniffed) {
		int rc = sniff(k, err);
		if (rc)
			return rc;
	}
	/* A '\r' that ends a CRLF text is the first half of a line end whose '\n' the
	 * cut took: dropped, so a cut CRLF dump reads like its cut LF twin. */
	k->pending_cr = 0;
	return 0;
}

/* ---- decoders: each feeds the sink and says whether the stream ended whole ---- */
typedef enum { Z_NONE, Z_ZSTD, Z_GZIP } zkind;

typedef struct input {
	int fd;
	const unsigned char *pre; /* bytes already read (the magic) */
	size_t npre;
	const unsigned char *mem; /* or the whole input in memory (a mapped file) */
	size_t nmem;
	const unsigned char *released; /* mapped input: pages behind are dropped */
	/* progress: bytes read of total (BD_UNKNOWN for a pipe) */
	uint64_t done, total, next_report;
	const char *what;
	_Atomic int *stop;        /* streamed: a pipe is polled so that a stop is seen */
} input;

/* Reports every 4 MiB read (the front end decides what to draw, and when). */
static void in_progress(input *in, ssize_t r)
{
	if (r <= 0 || !in->what)
		return;
	in->done += (uint64_t)r;
	if (in->done >= in->next_report) {
		bd_progress(in->what, in->done, in->total, BD_PROGRESS_BYTES);
		in->next_report = in->done + (4u << 20);
	}
}

static ssize_t in_read(input *in, unsigned char *buf, size_t cap)
{
	if (in->npre) {
		size_t n = in->npre < cap ? in->npre : cap;
		memcpy(buf, in->pre, n);
		in->pre += n;
		in->npre -= n;
		return (ssize_t)n;
	}
	if (in->mem) {
		size_t n = in->nmem < cap ? in->nmem : cap;
		memcpy(buf, in->mem, n);
		in->mem += n;
		in->nmem -= n;
		if (in->mem - in->released > (64 << 20)) {
			long pg = sysconf(_SC_PAGESIZE);
			size_t len = (size_t)(in->mem - in->released) & ~(size_t)(pg - 1);
			madvise((void *)(uintptr_t)in->released, len, MADV_DONTNEED);
			in->released += len;
		}
		return (ssize_t)n;
	}
	while (in->stop && in->total == BD_UNKNOWN) {
		/* A pipe may stay silent for ever: wait in steps, and end when stopped. */
		if (atomic_load(in->stop))
			return 0;
		struct pollfd pf = {in->fd, POLLIN, 0};
		if (poll(&pf, 1, 100) != 0)
			break;
	}
	for (;;) {
		ssize_t r = read(in->fd, buf, cap);
		if (r < 0 && errno == EINTR)
			continue;
		in_progress(in, r);
		return r;
	}
}

/* Returns <0 error, 0 whole stream, 1 stopped by the sink, 2 stream cut or damaged
 * after some output (cut holds why). */
static int decode_plain(input *in, sink *k, unsigned char *ib, size_t incap, bd_error *err)
{
	for (;;) {
		ssize_t r = in_read(in, ib, incap);
		if (r < 0)
			return bd_error_set(err, BD_EIO, errno, "read error: %s", strerror(errno));
		if (r == 0)
			return 0;
		int rc = sink_put(k, ib, (size_t)r, err);
		if (rc)
			return rc;
	}
}

static int decode_zstd(input *in, sink *k, unsigned char *ib, size_t incap, unsigned char *ob,
		       size_t outcap, char *cut, size_t cutcap, bd_error *err)
{
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	if (!dc)
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	size_t zret = 0;
	int rc = 0;
	for (;;) {
		ssize_t r = in_read(in, ib, incap);
		if (r < 0) {
			rc = bd_error_set(err, BD_EIO, errno, "read error: %s", strerror(errno));
			break;
		}
		if (r == 0)
			break;
		ZSTD_inBuffer zin = {ib, (size_t)r, 0};
		while (zin.pos < zin.size) {
			ZSTD_outBuffer zout = {ob, outcap, 0};
			size_t before = zin.pos;
			zret = ZSTD_decompressStream(dc, &zout, &zin);
			k->consumed += zin.pos - before;
			if (ZSTD_isError(zret)) {
				if (!k->written && !k->nhead) {
					rc = bd_error_set(err, BD_ECORRUPT, 0, "zstd: %s",
							  ZSTD_getErrorName(zret));
				} else {
					snprintf(cut, cutcap, "zstd data damaged after %llu bytes (%s)",
						 (unsigned long long)(k->written + k->nhead),
						 ZSTD_getErrorName(zret));
					rc = 2;
				}
				goto done;
			}
			if ((rc = sink_put(k, ob, zout.pos, err)))
				goto done;
		}
	}
	/* Flush what the decoder still holds. */
	while (!rc && zret != 0) {
		ZSTD_inBuffer zin = {ib, 0, 0};
		ZSTD_outBuffer zout = {ob, outcap, 0};
		zret = ZSTD_decompressStream(dc, &zout, &zin);
		if (ZSTD_isError(zret) || zout.pos == 0)
			break;
		rc = sink_put(k, ob, zout.pos, err);
	}
	/* A cut .zst still yields what was decompressed; the reader then sees a
	 * truncated dump, and the notice says why. */
	if (!rc && zret != 0) {
		snprintf(cut, cutcap, "compressed input cut short (zstd frame incomplete)");
		rc = 2;
	}
done:
	ZSTD_freeDCtx(dc);
	return rc;
}

static int decode_gzip(input *in, sink *k, unsigned char *ib, size_t incap, unsigned char *ob,
		       size_t outcap, char *cut, size_t cutcap, bd_error *err)
{
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, 15 + 32) != Z_OK) /* gzip or zlib header */
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	int rc = 0, zr = Z_OK, members = 0, garbage = 0;
	for (;;) {
		if (zs.avail_in == 0) {
			ssize_t r = in_read(in, ib, incap);
			if (r < 0) {
				rc = bd_error_set(err, BD_EIO, errno, "read error: %s", strerror(errno));
				break;
			}
			if (r == 0)
				break;
			zs.next_in = ib;
			zs.avail_in = (uInt)r;
		}
		uInt before = zs.avail_in;
		zs.next_out = ob;
		zs.avail_out = (uInt)outcap;
		zr = inflate(&zs, Z_NO_FLUSH);
		k->consumed += before - zs.avail_in;
		if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT || zr == Z_MEM_ERROR) {
			if (members && zr == Z_DATA_ERROR && zs.total_out == 0) {
				garbage = 1; /* after a whole member, as gzip -d allows */
				break;
			}
			if (!k->written && !k->nhead) {
				rc = bd_error_set(err, BD_ECORRUPT, 0, "gzip: %s",
						  zs.msg ? zs.msg : "bad data");
			} else {
				snprintf(cut, cutcap, "gzip data damaged after %llu bytes (%s)",
					 (unsigned long long)(k->written + k->nhead),
					 zs.msg ? zs.msg : "bad data");
				rc = 2;
			}
			break;
		}
		if ((rc = sink_put(k, ob, outcap - zs.avail_out, err)))
			break;
		if (zr == Z_STREAM_END) {
			members++;
			inflateReset(&zs); /* concatenated members (gzip -c a b) */
		}
	}
	/* After a whole member the decoder is reset: nothing fed since means complete. */
	if (!rc && !garbage && !(members && zs.total_in == 0)) {
		snprintf(cut, cutcap, "compressed input cut short (gzip stream incomplete)");
		rc = 2;
	}
	inflateEnd(&zs);
	return rc;
}

/* Copy, decompress or normalize everything from in into the file fd (st: a reader
 * follows it). Returns < 0 with err, else 0 (cut says why the bytes stop early). */
static int spool_into(input *in, zkind z, const char *name, int fd, bd_stream *st, int *crlf,
		      char *cut, size_t cutcap, bd_error *err)
{
	size_t incap = ZSTD_DStreamInSize(), outcap = ZSTD_DStreamOutSize();
	if (incap < 65536)
		incap = 65536;
	if (outcap < 131072)
		outcap = 131072;
	unsigned char *ib = malloc(incap), *ob = malloc(outcap);
	sink k;
	sink_init(&k, fd, name, z != Z_NONE);
	k.st = st;
	int rc;
	if (!ib || !ob)
		rc = bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	else if (z == Z_ZSTD)
		rc = decode_zstd(in, &k, ib, incap, ob, outcap, cut, cutcap, err);
	else if (z == Z_GZIP)
		rc = decode_gzip(in, &k, ib, incap, ob, outcap, cut, cutcap, err);
	else
		rc = decode_plain(in, &k, ib, incap, err);
	if (rc == 1)
		snprintf(cut, cutcap, "%s", k.stop);
	if (rc >= 0) {
		int e = sink_end(&k, err);
		if (e)
			rc = e;
	}
	free(ib);
	free(ob);
	*crlf = k.crlf;
	return rc < 0 ? rc : 0;
}

/* Copy, decompress or normalize everything from in into a temporary file. */
static int spool(input *in, zkind z, const char *name, int *out_fd, int *crlf, char *cut,
		 size_t cutcap, bd_error *err)
{
	int fd = tmpfile_fd();
	if (fd < 0)
		return bd_error_set(err, BD_EIO, errno, "cannot create temporary file: %s",
				    strerror(errno));
	int rc = spool_into(in, z, name, fd, NULL, crlf, cut, cutcap, err);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	*out_fd = fd;
	return 0;
}

static int map_fd(bd_source *s, int fd, bd_error *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return bd_error_set(err, BD_EIO, errno, "%s: stat: %s", s->name, strerror(errno));
	s->fd = fd;
	s->size = (uint64_t)st.st_size;
	if (!s->size) {
		s->data = "";
		return 0;
	}
	void *p = mmap(NULL, s->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return bd_error_set(err, BD_EIO, errno, "%s: mmap: %s", s->name, strerror(errno));
	madvise(p, s->size, MADV_SEQUENTIAL);
	s->map = p;
	s->map_len = s->size;
	s->data = p;
	return 0;
}

static void unmap(bd_source *s)
{
	if (s->map)
		munmap(s->map, s->map_len);
	if (s->fd > 0)
		close(s->fd);
	s->map = NULL;
	s->map_len = 0;
	s->fd = -1;
}

/* A mapped text file with Windows line endings (or a byte order mark, or UTF-16) is
 * rewritten once as the VM writes it. */
static int normalize_mapped(bd_source *s, bd_error *err)
{
	size_t n = s->size < HEAD_CAP ? (size_t)s->size : HEAD_CAP;
	const unsigned char *h = (const unsigned char *)s->data;
	int bom = (n >= 3 && h[0] == 0xEF && h[1] == 0xBB && h[2] == 0xBF) ||
		  (n >= 2 && ((h[0] == 0xFF && h[1] == 0xFE) || (h[0] == 0xFE && h[1] == 0xFF)));
	if (!bom && !head_crlf(h, n))
		return 0;
	input in = {0};
	in.mem = in.released = (const unsigned char *)s->data;
	in.nmem = (size_t)s->size;
	int fd = -1, crlf = 0;
	char cut[200] = "";
	int rc = spool(&in, Z_NONE, s->name, &fd, &crlf, cut, sizeof cut, err);
	if (rc)
		return rc;
	unmap(s);
	if (cut[0])
		snprintf(s->cut_reason, sizeof s->cut_reason, "%s", cut);
	s->crlf = crlf;
	rc = map_fd(s, fd, err);
	if (rc)
		close(fd);
	return rc;
}

static const char *packed_kind(const unsigned char *h, size_t n)
{
	if (n >= 6 && memcmp(h, "\xFD" "7zXZ", 5) == 0)
		return "xz (decompress it with xz -d)";
	if (n >= 3 && memcmp(h, "BZh", 3) == 0)
		return "bzip2 (decompress it with bunzip2)";
	if (n >= 4 && memcmp(h, "PK\x03\x04", 4) == 0)
		return "a zip archive (extract the dump first)";
	return NULL;
}

/* ---- a spool the reader follows ---- */
static void *stream_run(void *arg)
{
	bd_stream *st = arg;
	int crlf = 0;
	int rc = spool_into(st->src, (zkind)st->z, st->name, st->fd, st, &crlf, st->cut,
			    sizeof st->cut, &st->err);
	if (st->in > 0)
		close(st->in);
	st->in = -1;
	bd_progress_end(); /* this thread's bar */
	pthread_mutex_lock(&st->lock);
	st->rc = rc;
	st->crlf = crlf;
	st->ended = 1;
	pthread_cond_broadcast(&st->grew);
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

static void stream_free(bd_stream *st)
{
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->grew);
	free(st->src);
	free(st);
}

/* The spool of in into a temporary file on a thread, the file mapped at once (a span
 * reserved for all it may become). 0 with s streaming (or already whole when the
 * input was short), 1 when no thread or mapping could be had (the caller spools
 * itself; in and head are untouched), or an error found in the first bytes. */
static int stream_start(bd_source *s, int in, const input *src, zkind z, bd_error *err)
{
	bd_stream *st = calloc(1, sizeof *st);
	input *sin = calloc(1, sizeof *sin);
	if (!st || !sin) {
		free(st);
		free(sin);
		return 1;
	}
	st->fd = tmpfile_fd();
	if (st->fd < 0) {
		free(st);
		free(sin);
		return 1; /* the plain spool says why */
	}
	void *map = mmap(NULL, STREAM_SPAN, PROT_READ, MAP_SHARED | MAP_NORESERVE, st->fd, 0);
	if (map == MAP_FAILED) {
		close(st->fd);
		free(st);
		free(sin);
		return 1;
	}
	*sin = *src;
	memcpy(st->head, src->pre, src->npre);
	sin->pre = st->head;
	sin->stop = &st->stop;
	st->src = sin;
	st->in = in;
	st->z = z;
	snprintf(st->name, sizeof st->name, "%s", s->name);
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->grew, NULL);
	if (pthread_create(&st->th, NULL, stream_run, st)) {
		munmap(map, STREAM_SPAN);
		close(st->fd);
		stream_free(st);
		return 1;
	}
	madvise(map, STREAM_SPAN, MADV_SEQUENTIAL);
	s->map = map;
	s->map_len = STREAM_SPAN;
	s->data = map;
	s->size = 0;
	s->stream = st;
	/* The first bytes decide whether this is input we read at all. */
	pthread_mutex_lock(&st->lock);
	while (!st->avail && !st->ended) {
		st->waiting = 1;
		st->want = 1;
		pthread_cond_wait(&st->grew, &st->lock);
	}
	int ended = st->ended;
	s->crlf = st->crlf;
	pthread_mutex_unlock(&st->lock);
	return ended ? bd_source_finish(s, err) : 0;
}

uint64_t bd_source_wait(bd_source *s, uint64_t want, int *ended)
{
	bd_stream *st = s->stream;
	if (!st) {
		if (ended)
			*ended = 1;
		return s->size;
	}
	pthread_mutex_lock(&st->lock);
	while (st->avail < want && !st->ended) {
		st->waiting = 1;
		st->want = want;
		pthread_cond_wait(&st->grew, &st->lock);
	}
	uint64_t have = st->avail;
	int e = st->ended;
	pthread_mutex_unlock(&st->lock);
	if (ended)
		*ended = e;
	return have;
}

int bd_source_finish(bd_source *s, bd_error *err)
{
	bd_stream *st = s ? s->stream : NULL;
	if (!st)
		return 0;
	pthread_join(st->th, NULL);
	s->stream = NULL;
	s->fd = st->fd;
	s->size = st->avail;
	s->crlf = st->crlf;
	snprintf(s->cut_reason, sizeof s->cut_reason, "%s", st->cut);
	int rc = st->rc;
	if (rc < 0 && err)
		*err = st->err;
	stream_free(st);
	return rc < 0 ? rc : 0;
}

static int source_open(bd_source **out, const char *path, int follow, bd_error *err)
{
	*out = NULL;
	bd_source *s = calloc(1, sizeof *s);
	if (!s)
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	s->fd = -1;
	snprintf(s->name, sizeof s->name, "%s", strcmp(path, "-") ? path : "<stdin>");
	int in = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	if (in < 0) {
		int e = errno;
		free(s);
		return bd_error_set(err, BD_EIO, e, "%s: %s", path, strerror(e));
	}
	struct stat st;
	unsigned char head[6] = {0};
	size_t nhead = 0;
	int rc = 0;
	if (fstat(in, &st) < 0) {
		rc = bd_error_set(err, BD_EIO, errno, "%s: %s", s->name, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = bd_error_set(err, BD_EIO, EISDIR, "%s: %s", s->name, strerror(EISDIR));
		goto fail;
	}
	while (nhead < sizeof head) {
		ssize_t r = read(in, head + nhead, sizeof head - nhead);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		nhead += (size_t)r;
	}
	zkind z = Z_NONE;
	if (nhead >= 4 && head[0] == 0x28 && head[1] == 0xB5 && head[2] == 0x2F && head[3] == 0xFD)
		z = Z_ZSTD;
	else if (nhead >= 2 && head[0] == 0x1F && head[1] == 0x8B)
		z = Z_GZIP;
	const char *packed = packed_kind(head, nhead);
	if (packed) {
		rc = bd_error_set(err, BD_EUNSUPPORTED, 0, "%s: compressed with %s", s->name, packed);
		goto fail;
	}
	if (S_ISREG(st.st_mode) && z == Z_NONE) {
		rc = map_fd(s, in, err);
		if (rc)
			goto fail;
		in = -1;
		rc = normalize_mapped(s, err);
		if (rc) {
			unmap(s);
			free(s);
			return rc;
		}
		*out = s;
		return 0;
	}
	input src = {in, head, nhead, NULL, 0, NULL, 0, 0, 0, NULL, NULL};
	src.done = nhead;
	src.total = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : BD_UNKNOWN;
	src.what = z != Z_NONE ? "decompressing" : S_ISREG(st.st_mode) ? "reading" : "reading stdin";
	if (follow) {
		rc = stream_start(s, in, &src, z, err);
		if (rc <= 0) {
			/* the thread has the input now */
			if (rc < 0) {
				bd_source_free(s);
				return rc;
			}
			*out = s;
			return 0;
		}
	}
	int fd = -1, crlf = 0;
	rc = spool(&src, z, s->name, &fd, &crlf, s->cut_reason, sizeof s->cut_reason, err);
	bd_progress_end();
	if (in > 0)
		close(in);
	in = -1;
	if (rc)
		goto fail;
	rc = map_fd(s, fd, err);
	if (rc) {
		close(fd);
		goto fail;
	}
	s->crlf = crlf;
	*out = s;
	return 0;
fail:
	if (in > 0)
		close(in);
	free(s);
	return rc;
}

int bd_source_open(bd_source **out, const char *path, bd_error *err)
{
	return source_open(out, path, 0, err);
}

int bd_source_open_stream(bd_source **out, const char *path, bd_error *err)
{
	return source_open(out, path, 1, err);
}

void bd_source_release(bd_source *s, uint64_t upto)
{
	if (!s || !s->map)
		return;
	long pg = sysconf(_SC_PAGESIZE);
	upto &= ~(uint64_t)(pg - 1);
	if (upto > s->map_len)
		upto = s->map_len & ~(uint64_t)(pg - 1);
	if (upto)
		madvise(s->map, upto, MADV_DONTNEED);
}

void bd_source_release_range(bd_source *s, uint64_t off, uint64_t len)
{
	if (!s || !s->map || off >= s->map_len)
		return;
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t a = (off + (uint64_t)pg - 1) & ~(uint64_t)(pg - 1);
	uint64_t b = off + len > s->map_len ? s->map_len : off + len;
	b &= ~(uint64_t)(pg - 1);
	if (b > a)
		madvise((char *)s->map + a, b - a, MADV_DONTNEED);
}

void bd_source_free(bd_source *s)
{
	if (!s)
		return;
	if (s->stream) {
		atomic_store(&s->stream->stop, 1);
		bd_source_finish(s, NULL);
	}
	unmap(s);
	free(s);
}
