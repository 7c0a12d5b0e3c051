/* beamdump sink: a FIFO for ERL_CRASH_DUMP. The VM's dump is compressed as it
 * arrives (DIR/NAME.dump.zst, so nothing is lost if anything fails later), and when
 * the VM closes the FIFO (done, or dead mid-dump) it is read back and converted to
 * DIR/NAME.bdump. The compressed text is deleted unless parsing failed or --keep-raw.
 * No plain-text copy of the dump is left on disk. docs/capture.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "cli.h"

typedef struct sinkopts {
	const char *fifo, *dir, *name;
	int keep_raw, json, quiet;
} sinkopts;

static const cli_opt sink_opts[] = {
	{"fifo", 0, CLI_VALUE, "PATH", "the FIFO to create (required); run the node with "
				       "ERL_CRASH_DUMP=PATH"},
	CLI_OPT_OUTPUT("DIR", "where the snapshot goes (default .)"),
	{"name", 0, CLI_VALUE, "NAME", "file name without extension (default "
				       "erl_crash-<UTC time>)"},
	{"keep-raw", 0, CLI_FLAG, NULL, "keep the compressed text dump NAME.dump.zst too"},
	CLI_OPT_JSON,
	{"quiet", 'q', CLI_FLAG, NULL, "no progress or summary on stderr"},
	CLI_END};

const cli_cmd sink_cmd = {
	"sink", cmd_sink, NULL, 0, 0, sink_opts,
	"A FIFO for ERL_CRASH_DUMP: the dump of a crashing VM, as a snapshot.",
	"The dump is compressed into DIR/NAME.dump.zst as it arrives, then converted to\n"
	"DIR/NAME.bdump; the compressed text is kept when parsing fails.\n",
	"0 snapshot written, 2 usage, 3 no dump or unreadable dump (raw text kept),\n"
	"            4 the dump was cut (VM died mid-dump): partial snapshot written"};

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* FIFO -> zstd file. Returns bytes read, or -1 (message printed). */
static long long stream(int in, const char *raw, volatile sig_atomic_t *stop)
{
	int out = open(raw, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		fprintf(stderr, "beamdump: sink: cannot create %s: %s\n", raw, strerror(errno));
		return -1;
	}
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	size_t icap = 1u << 20, ocap = ZSTD_CStreamOutSize();
	char *ib = malloc(icap), *ob = malloc(ocap);
	long long total = 0;
	int bad = !cc || !ib || !ob;
	if (!bad) {
		ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3);
		ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	}
	for (int end = 0; !bad && !end;) {
		ssize_t r = read(in, ib, icap);
		if (r < 0 && errno == EINTR && !*stop)
			continue;
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "beamdump: sink: read error: %s\n", strerror(errno));
			bad = 1;
			break;
		}
		end = r <= 0; /* EOF: the VM closed its end (done or dead); or a signal */
		size_t n = r > 0 ? (size_t)r : 0;
		total += (long long)n;
		ZSTD_inBuffer zi = {ib, n, 0};
		size_t left;
		do {
			ZSTD_outBuffer zo = {ob, ocap, 0};
			left = ZSTD_compressStream2(cc, &zo, &zi, end ? ZSTD_e_end : ZSTD_e_continue);
			if (ZSTD_isError(left) || write_all(out, ob, zo.pos)) {
				fprintf(stderr, "beamdump: sink: cannot write %s\n", raw);
				bad = 1;
				break;
			}
		} while (end ? left != 0 : zi.pos < zi.size);
	}
	ZSTD_freeCCtx(cc);
	free(ib);
	free(ob);
	if (fsync(out) && errno != EINVAL)
		bad = 1;
	if (close(out))
		bad = 1;
	return bad ? -1 : total;
}

int cmd_sink(const opts *g)
{
	sinkopts o = {0};
	o.fifo = opt_str(g, "fifo");
	o.dir = g->out ? g->out : ".";
	o.name = opt_str(g, "name");
	o.keep_raw = opt_count(g, "keep-raw");
	o.json = g->json;
	o.quiet = opt_count(g, "quiet");
	if (!o.fifo) {
		fprintf(stderr, "beamdump sink: --fifo PATH is required\n");
		fprintf(stderr, "usage: beamdump %s\n", cli_synopsis(&sink_cmd));
		return EXIT_USAGE;
	}
	struct stat sb;
	int made = 0;
	if (stat(o.fifo, &sb) == 0) {
		if (!S_ISFIFO(sb.st_mode)) {
			fprintf(stderr, "beamdump: sink: %s exists and is not a FIFO\n", o.fifo);
			return EXIT_USAGE;
		}
	} else if (mkfifo(o.fifo, 0600)) {
		fprintf(stderr, "beamdump: sink: cannot create FIFO %s: %s\n", o.fifo, strerror(errno));
		return EXIT_USAGE;
	} else {
		made = 1;
	}
	if (stat(o.dir, &sb) || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "beamdump: sink: %s is not a directory\n", o.dir);
		return EXIT_USAGE;
	}
	capture_signals();
	volatile sig_atomic_t *stop = capture_stop_flag();
	char name[256], raw[2048], out[2048];
	if (o.name) {
		snprintf(name, sizeof name, "%s", o.name);
	} else {
		time_t t = time(NULL);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(name, sizeof name, "erl_crash-%Y%m%dT%H%M%SZ", &tm);
	}
	snprintf(raw, sizeof raw, "%s/%s.dump.zst", o.dir, name);
	snprintf(out, sizeof out, "%s/%s.bdump", o.dir, name);
	if (!o.quiet)
		fprintf(stderr, "beamdump: sink: waiting for a crash dump on %s (ERL_CRASH_DUMP=%s)\n",
			o.fifo, o.fifo);
	/* Blocks until the VM opens the FIFO to write its dump. */
	int in;
	while ((in = open(o.fifo, O_RDONLY | O_CLOEXEC)) < 0 && errno == EINTR && !*stop)
		;
	if (in < 0) {
		if (made)
			unlink(o.fifo);
		fprintf(stderr, "beamdump: sink: %s\n", *stop ? "interrupted before any dump arrived"
							     : strerror(errno));
		return EXIT_UNREADABLE;
	}
	long long got = stream(in, raw, stop);
	close(in);
	if (made)
		unlink(o.fifo);
	if (got < 0)
		return EXIT_UNREADABLE;
	if (got == 0) {
		unlink(raw);
		fprintf(stderr, "beamdump: sink: the FIFO was closed without any data\n");
		return EXIT_UNREADABLE;
	}
	bd_model *m;
	bd_error err = {0};
	if (bd_model_open(&m, raw, &err)) {
		fprintf(stderr, "beamdump: sink: cannot parse the dump (%s); the raw text is kept in %s\n",
			err.msg, raw);
		return EXIT_UNREADABLE;
	}
	uint64_t bytes = 0;
	int rc = capture_write(m, out, "beamdump sink", &bytes, &err);
	if (rc && rc != BD_EBUDGET) {
		fprintf(stderr, "beamdump: sink: cannot write %s (%s); the raw text is kept in %s\n", out,
			err.msg, raw);
		bd_model_free(m);
		return EXIT_UNREADABLE;
	}
	const bd_node_info *ni = bd_model_node(m);
	int partial = ni->truncated || rc == BD_EBUDGET;
	if (!o.keep_raw)
		unlink(raw);
	if (o.json) {
		jw w;
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_kstr(&w, "snapshot", out);
		jw_kstr(&w, "raw", o.keep_raw ? raw : NULL);
		jw_ku64(&w, "dump_bytes", (uint64_t)got);
		jw_ku64(&w, "snapshot_bytes", bytes);
		jw_key(&w, "truncated");
		jw_bool(&w, ni->truncated);
		jw_kstr(&w, "slogan", ni->slogan);
		jw_obj_end(&w);
		jw_end(&w);
	}
	if (!o.quiet) {
		char a[32], b[32];
		fprintf(stderr, "beamdump: sink: %s of dump -> %s (%s)%s%s\n", fmt_bytes((uint64_t)got, a, sizeof a),
			out, fmt_bytes(bytes, b, sizeof b), o.keep_raw ? "; raw text kept in " : "",
			o.keep_raw ? raw : "");
	}
	rc = partial_notice(m);
	bd_model_free(m);
	return partial ? EXIT_PARTIAL : rc;
}
