/* Input bytes: a regular file is mmap'ed; zstd-compressed input and pipes are first
 * streamed into an unlinked temporary file, which is then mmap'ed, so memory stays
 * bounded whatever the input size. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "int.h"

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

/* Copy or decompress everything from in (with head already read) into a temp file. */
static int spool(int in, const unsigned char *head, size_t nhead, int zst, int *out_fd,
		 int *stream_cut, bd_error *err)
{
	int fd = tmpfile_fd();
	if (fd < 0)
		return bd_error_set(err, BD_EIO, errno, "cannot create temporary file: %s",
				    strerror(errno));
	size_t incap = ZSTD_DStreamInSize(), outcap = ZSTD_DStreamOutSize();
	if (incap < 65536)
		incap = 65536;
	unsigned char *ib = malloc(incap), *ob = malloc(outcap);
	ZSTD_DCtx *dc = zst ? ZSTD_createDCtx() : NULL;
	int rc = 0;
	size_t zret = 0;
	if (!ib || !ob || (zst && !dc)) {
		rc = bd_error_set(err, BD_ENOMEM, 0, "out of memory");
		goto done;
	}
	memcpy(ib, head, nhead);
	size_t have = nhead;
	for (;;) {
		if (!have) {
			ssize_t r = read(in, ib, incap);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				rc = bd_error_set(err, BD_EIO, errno, "read error: %s", strerror(errno));
				goto done;
			}
			if (r == 0)
				break;
			have = (size_t)r;
		}
		if (!zst) {
			if (write_all(fd, ib, have) < 0)
				goto werr;
			have = 0;
			continue;
		}
		ZSTD_inBuffer zin = {ib, have, 0};
		while (zin.pos < zin.size) {
			ZSTD_outBuffer zout = {ob, outcap, 0};
			zret = ZSTD_decompressStream(dc, &zout, &zin);
			if (ZSTD_isError(zret)) {
				rc = bd_error_set(err, BD_ECORRUPT, 0, "zstd: %s",
						  ZSTD_getErrorName(zret));
				goto done;
			}
			if (write_all(fd, ob, zout.pos) < 0)
				goto werr;
		}
		have = 0;
	}
	/* Flush what the decoder still holds. */
	while (zst && zret != 0) {
		ZSTD_inBuffer zin = {ib, 0, 0};
		ZSTD_outBuffer zout = {ob, outcap, 0};
		zret = ZSTD_decompressStream(dc, &zout, &zin);
		if (ZSTD_isError(zret) || zout.pos == 0)
			break;
		if (write_all(fd, ob, zout.pos) < 0)
			goto werr;
	}
	/* A cut .zst still yields what was decompressed; the reader then sees a
	 * truncated dump, and the notice says why. */
	if (zst && zret != 0)
		*stream_cut = 1;
	goto done;
werr:
	rc = bd_error_set(err, BD_EIO, errno, "cannot write temporary file: %s", strerror(errno));
done:
	free(ib);
	free(ob);
	ZSTD_freeDCtx(dc);
	if (rc) {
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

int bd_source_open(bd_source **out, const char *path, bd_error *err)
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
	unsigned char head[4] = {0};
	size_t nhead = 0;
	int rc = 0;
	if (fstat(in, &st) < 0) {
		rc = bd_error_set(err, BD_EIO, errno, "%s: %s", s->name, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = bd_error_set(err, BD_EIO, EISDIR, "%s: is a directory", s->name);
		goto fail;
	}
	while (nhead < 4) {
		ssize_t r = read(in, head + nhead, 4 - nhead);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		nhead += (size_t)r;
	}
	int zst = nhead == 4 && head[0] == 0x28 && head[1] == 0xB5 && head[2] == 0x2F &&
		  head[3] == 0xFD;
	if (S_ISREG(st.st_mode) && !zst) {
		rc = map_fd(s, in, err);
		if (rc)
			goto fail;
		*out = s;
		return 0;
	}
	int fd = -1;
	rc = spool(in, head, nhead, zst, &fd, &s->stream_cut, err);
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
	*out = s;
	return 0;
fail:
	if (in > 0)
		close(in);
	free(s);
	return rc;
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
	if (s->map)
		munmap(s->map, s->map_len);
	if (s->fd > 0)
		close(s->fd);
	free(s);
}
