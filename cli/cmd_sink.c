/* beamdump sink: a FIFO for ERL_CRASH_DUMP. The VM's dump is compressed as it
 * arrives (DIR/NAME.dump.zst, so nothing is lost if anything fails later), and when
 * the VM closes the FIFO (done, or dead mid-dump) it is read back and converted to
 * DIR/NAME.bdump. The compressed text is deleted unless parsing failed or --keep-raw.
 * No plain-text copy of the dump is left on disk. docs/capture.md.
 *
 * A VM whose ERL_CRASH_DUMP is a FIFO nobody reads blocks forever in open(), so the
 * sink checks everything it can before it makes the FIFO, keeps its read end open
 * while it lives (a writer never waits for a reader), keeps reading whatever happens
 * to the output, and takes the FIFO away on every exit: a watchdog process does it
 * even when the sink is killed with SIGKILL. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "beamdump/progress.h"
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
	"sink", cmd_sink, "--fifo PATH", 0, 0, sink_opts,
	"A FIFO for ERL_CRASH_DUMP: the dump of a crashing VM, as a snapshot.",
	"The dump is compressed into DIR/NAME.dump.zst as it arrives, then converted to\n"
	"DIR/NAME.bdump; the compressed text is kept when parsing fails.\n",
	"0 snapshot written, 2 usage, 3 no dump, an unreadable dump or a snapshot that cannot\n"
	"            be written (raw text kept), 4 the dump was cut (VM died mid-dump):\n"
	"            partial snapshot written"};

/* The compressed copy of the dump: where it is and how much of it is written. */
typedef struct rawfile {
	int fd;
	char path[PATH_MAX];
	char name[256];          /* NAME as used (NAME-2 when NAME was taken) */
	unsigned long long written;
	int lost;                /* nowhere to write: the rest is read and dropped */
} rawfile;

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = ENOSPC;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- checks made before the FIFO exists ---- */

static int check_name(const char *name)
{
	const char *why = NULL;
	if (!*name)
		why = "it is empty";
	else if (strchr(name, '/'))
		why = "it holds a '/' (use -o DIR for the directory)";
	else if (!strcmp(name, ".") || !strcmp(name, ".."))
		why = "it names a directory";
	else if (strlen(name) > 200)
		why = "it is longer than 200 bytes";
	for (const unsigned char *c = (const unsigned char *)name; !why && *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			why = "it holds a control character";
	if (why)
		fprintf(stderr, "beamdump sink: bad --name: %s\n", why);
	return why ? -1 : 0;
}

/* dir exists, is a directory, and a file can be made in it (tried, not guessed:
 * permissions, read-only mounts, ACLs and full disks all show). */
static int check_dir(const char *dir, int quiet_errors)
{
	struct stat sb;
	char probe[PATH_MAX];
	if (stat(dir, &sb)) {
		if (!quiet_errors)
			fprintf(stderr, "beamdump sink: cannot use -o %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		if (!quiet_errors)
			fprintf(stderr, "beamdump sink: cannot use -o %s: Not a directory\n", dir);
		return -1;
	}
	snprintf(probe, sizeof probe, "%s/.beamdump-sink-XXXXXX", dir);
	int fd = mkstemp(probe);
	if (fd < 0) {
		if (!quiet_errors)
			fprintf(stderr, "beamdump sink: cannot write to %s: %s\n", dir, strerror(errno));
		return -1;
	}
	close(fd);
	unlink(probe);
	return 0;
}

static int check_fifo_path(const char *fifo, int *exists)
{
	struct stat sb;
	*exists = 0;
	if (lstat(fifo, &sb) == 0) {
		if (S_ISFIFO(sb.st_mode)) {
			*exists = 1;
			return 0;
		}
		if (S_ISREG(sb.st_mode))
			fprintf(stderr, "beamdump sink: %s exists and is a regular file (a crash dump "
					"written while no sink ran?): move it away first\n", fifo);
		else
			fprintf(stderr, "beamdump sink: %s exists and is not a FIFO\n", fifo);
		return -1;
	}
	if (errno != ENOENT) {
		fprintf(stderr, "beamdump sink: cannot use --fifo %s: %s\n", fifo, strerror(errno));
		return -1;
	}
	return 0;
}

static int taken(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat sb;
	snprintf(p, sizeof p, "%s/%s.bdump", dir, name);
	if (lstat(p, &sb) == 0)
		return 1;
	snprintf(p, sizeof p, "%s/%s.dump.zst", dir, name);
	return lstat(p, &sb) == 0;
}

/* ---- the watchdog: takes the FIFO away when the sink is gone, however it went ---- */

static int watchdog(const char *fifo)
{
	struct stat sb;
	int p[2];
	if (stat(fifo, &sb) || pipe(p))
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[1]);
		int null = open("/dev/null", O_RDWR);
		for (int fd = 0; fd < 3 && null >= 0; fd++)
			dup2(null, fd);
		/* Ctrl-C reaches the whole process group: outlive the sink to clean up. */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		char c;
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		/* A read end first, so a VM opening the path right now does not block. */
		int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		struct stat now;
		if (lstat(fifo, &now) == 0 && now.st_ino == sb.st_ino && now.st_dev == sb.st_dev)
			unlink(fifo);
		if (fd >= 0)
			close(fd);
		_exit(0);
	}
	close(p[0]);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	return p[1]; /* closed when the sink exits: the watchdog wakes up */
}

static void remove_fifo(const char *fifo, const struct stat *made)
{
	struct stat now;
	if (lstat(fifo, &now) == 0 && now.st_ino == made->st_ino && now.st_dev == made->st_dev)
		unlink(fifo);
}

/* ---- where the dump goes ---- */

/* DIR/NAME.dump.zst, made with O_EXCL; NAME-2, NAME-3, ... when taken. Returns 0 or
 * errno. Two sinks (or a sink and a capture) never write the same file. */
static int reserve(const char *dir, const char *name, rawfile *r)
{
	for (int k = 1; k < 1000; k++) {
		if (k == 1)
			snprintf(r->name, sizeof r->name, "%s", name);
		else
			snprintf(r->name, sizeof r->name, "%s-%d", name, k);
		if (taken(dir, r->name))
			continue;
		snprintf(r->path, sizeof r->path, "%s%s%s.dump.zst", strcmp(dir, ".") ? dir : "",
			 strcmp(dir, ".") ? "/" : "", r->name);
		r->fd = open(r->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (r->fd >= 0)
			return 0;
		if (errno != EEXIST)
			return errno;
	}
	return EEXIST;
}

static const char *fallback_dir(int i)
{
	const char *t = getenv("TMPDIR");
	const char *dirs[] = {t && *t ? t : "/tmp", "/tmp", "/var/tmp"};
	return i < 3 ? dirs[i] : NULL;
}

/* The raw copy in DIR, else in a temporary directory (said on stderr). */
static int open_raw(const sinkopts *o, const char *name, rawfile *r)
{
	int e = reserve(o->dir, name, r);
	if (!e)
		return 0;
	fprintf(stderr, "beamdump sink: cannot write %s/%s.dump.zst: %s\n", o->dir, name, strerror(e));
	for (int i = 0; fallback_dir(i); i++) {
		if (!strcmp(fallback_dir(i), o->dir) || reserve(fallback_dir(i), name, r))
			continue;
		fprintf(stderr, "beamdump sink: the dump goes to %s instead\n", r->path);
		return 0;
	}
	return -1;
}

/* Writing failed mid-dump (disk full, ...): move what is written to a temporary
 * directory and go on there, so the stream stays one valid zstd file. */
static int failover(rawfile *r)
{
	int err = errno;
	rawfile n = *r;
	char *buf = malloc(1 << 20);
	int in = open(r->path, O_RDONLY | O_CLOEXEC);
	int ok = 0;
	for (int i = 0; !ok && buf && in >= 0 && fallback_dir(i); i++) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "%s", r->path);
		*strrchr(dir, '/') = 0;
		if (!strcmp(dir, fallback_dir(i)) || reserve(fallback_dir(i), r->name, &n))
			continue;
		unsigned long long left = r->written;
		ok = lseek(in, 0, SEEK_SET) == 0;
		while (ok && left) {
			ssize_t k = read(in, buf, left < (1u << 20) ? (size_t)left : 1u << 20);
			ok = k > 0 && !write_all(n.fd, buf, (size_t)k);
			left -= ok ? (unsigned long long)k : 0;
		}
		if (!ok) {
			close(n.fd);
			unlink(n.path);
		}
	}
	free(buf);
	if (in >= 0)
		close(in);
	fprintf(stderr, "beamdump sink: cannot write %s: %s", r->path, strerror(err));
	close(r->fd);
	if (!ok) {
		fprintf(stderr, "; nowhere else to write: the rest of the dump is read and dropped\n");
		r->fd = -1;
		r->lost = 1;
		return -1;
	}
	unlink(r->path);
	fprintf(stderr, "; the dump goes on in %s\n", n.path);
	*r = n;
	return 0;
}

static int raw_write(rawfile *r, const void *p, size_t n)
{
	while (!r->lost) {
		if (!write_all(r->fd, p, n)) {
			r->written += n;
			return 0;
		}
		if (failover(r))
			break;
	}
	return -1;
}

/* ---- the stream ---- */

/* Wait for the VM to open the FIFO (poll on our non-blocking read end). */
static int wait_writer(int in, volatile sig_atomic_t *stop)
{
	struct pollfd p = {in, POLLIN, 0};
	while (!*stop) {
		int r = poll(&p, 1, -1);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "beamdump sink: waiting on the FIFO: %s\n", strerror(errno));
			return -1;
		}
	}
	return -1;
}

/* FIFO -> zstd file until the VM closes its end (done or dead) or a signal. Always
 * reads to the end: a VM must never block on a full pipe because of us. Returns the
 * dump's bytes. */
static long long stream(int in, rawfile *r, volatile sig_atomic_t *stop)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	size_t icap = 1u << 20, ocap = ZSTD_CStreamOutSize();
	char *ib = malloc(icap), *ob = malloc(ocap);
	long long total = 0;
	if (!cc || !ib || !ob) {
		fprintf(stderr, "beamdump sink: out of memory\n");
		r->lost = 1;
	} else {
		ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3);
		ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	}
	struct pollfd p = {in, POLLIN, 0};
	char spare[4096]; /* only to drain the FIFO when nothing else is left */
	for (int end = 0; !end;) {
		ssize_t n = read(in, ib ? ib : spare, ib ? icap : sizeof spare);
		if (n < 0 && errno == EAGAIN) {
			if (poll(&p, 1, -1) < 0 && errno == EINTR && *stop)
				end = 1; /* interrupted: finish the file with what came */
			if (!end)
				continue;
		} else if (n < 0 && errno == EINTR) {
			end = *stop != 0;
			if (!end)
				continue;
		} else if (n < 0) {
			fprintf(stderr, "beamdump sink: reading the FIFO: %s\n", strerror(errno));
			end = 1;
		}
		end |= n == 0; /* EOF: the VM closed its end */
		size_t got = n > 0 ? (size_t)n : 0;
		total += (long long)got;
		bd_progress("receiving the dump", (uint64_t)total, BD_UNKNOWN, BD_PROGRESS_BYTES);
		if (r->lost)
			continue;
		ZSTD_inBuffer zi = {ib, got, 0};
		size_t left;
		do {
			ZSTD_outBuffer zo = {ob, ocap, 0};
			left = ZSTD_compressStream2(cc, &zo, &zi, end ? ZSTD_e_end : ZSTD_e_continue);
			if (ZSTD_isError(left)) {
				fprintf(stderr, "beamdump sink: zstd: %s\n", ZSTD_getErrorName(left));
				r->lost = 1;
			} else if (raw_write(r, ob, zo.pos)) {
				break;
			}
		} while (!r->lost && (end ? left != 0 : zi.pos < zi.size));
	}
	bd_progress_end();
	ZSTD_freeCCtx(cc);
	free(ib);
	free(ob);
	if (!r->lost && fsync(r->fd) && errno != EINVAL) {
		fprintf(stderr, "beamdump sink: cannot write %s: %s\n", r->path, strerror(errno));
		r->lost = 1;
	}
	if (r->fd >= 0 && close(r->fd) && !r->lost) {
		fprintf(stderr, "beamdump sink: cannot write %s: %s\n", r->path, strerror(errno));
		r->lost = 1;
	}
	r->fd = -1;
	return total;
}

/* ---- after the dump: the snapshot ---- */

static void report(const sinkopts *o, const rawfile *r, const char *out, long long got,
		   uint64_t bytes, const bd_node_info *ni, int keep)
{
	if (o->json) {
		jw w;
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_kstr(&w, "snapshot", out);
		jw_kstr(&w, "raw", keep ? r->path : NULL);
		jw_ku64(&w, "dump_bytes", (uint64_t)got);
		jw_ku64(&w, "snapshot_bytes", bytes);
		jw_key(&w, "truncated");
		jw_bool(&w, ni->truncated);
		jw_kstr(&w, "slogan", ni->slogan);
		jw_obj_end(&w);
		jw_end(&w);
	}
	if (!o->quiet) {
		char a[32], b[32];
		fprintf(stderr, "beamdump sink: %s of dump -> %s (%s)%s%s\n",
			fmt_bytes((uint64_t)got, a, sizeof a), out, fmt_bytes(bytes, b, sizeof b),
			keep ? "; raw text kept in " : "", keep ? r->path : "");
	}
}

/* The dump is in r->path: make the snapshot next to it. */
static int convert(const sinkopts *o, rawfile *r, long long got)
{
	bd_model *m;
	bd_error err = {0};
	if (bd_model_open(&m, r->path, &err)) {
		fprintf(stderr, "beamdump sink: cannot parse the dump (%s); it is kept in %s\n",
			err.msg, r->path);
		return EXIT_UNREADABLE;
	}
	char out[PATH_MAX + 16];
	snprintf(out, sizeof out, "%.*s.bdump", (int)(strlen(r->path) - strlen(".dump.zst")), r->path);
	uint64_t bytes = 0;
	int rc = capture_write(m, out, "beamdump sink", &bytes, &err);
	if (rc && rc != BD_EBUDGET) {
		fprintf(stderr, "beamdump sink: cannot write %s: %s; the dump is kept in %s (every "
				"command reads it)\n",
			out, err.sys_errno ? strerror(err.sys_errno) : err.msg, r->path);
		bd_model_free(m);
		return EXIT_UNREADABLE;
	}
	const bd_node_info *ni = bd_model_node(m);
	int partial = ni->truncated || rc == BD_EBUDGET;
	if (!o->keep_raw)
		unlink(r->path);
	report(o, r, out, got, bytes, ni, o->keep_raw);
	rc = partial_notice(m);
	bd_model_free(m);
	return partial ? EXIT_PARTIAL : rc;
}

static void default_name(char *buf, size_t cap)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, cap, "erl_crash-%Y%m%dT%H%M%SZ", &tm);
}

/* From the VM's first byte to the exit code; the FIFO is gone by then. */
static int take_dump(const sinkopts *o, int in, const char *fifo, const struct stat *made,
		     volatile sig_atomic_t *stop)
{
	if (wait_writer(in, stop)) {
		fprintf(stderr, "beamdump sink: %s\n", *stop ? "interrupted before any dump arrived"
							    : "no dump arrived");
		return EXIT_UNREADABLE;
	}
	remove_fifo(fifo, made); /* one dump per sink; a second VM writes a plain file */
	char name[256];
	if (o->name)
		snprintf(name, sizeof name, "%s", o->name);
	else
		default_name(name, sizeof name); /* the time of the crash */
	rawfile r = {.fd = -1};
	if (open_raw(o, name, &r)) {
		fprintf(stderr, "beamdump sink: no directory to write the dump in: it is read and "
				"dropped\n");
		r.lost = 1;
	}
	if (!o->quiet && !r.lost)
		fprintf(stderr, "beamdump sink: a dump is arriving: %s\n", r.path);
	long long got = stream(in, &r, stop);
	if (r.lost) {
		if (r.path[0])
			unlink(r.path);
		fprintf(stderr, "beamdump sink: the dump (%lld bytes) could not be kept\n", got);
		return EXIT_UNREADABLE;
	}
	if (got == 0) {
		unlink(r.path);
		fprintf(stderr, "beamdump sink: the FIFO was closed without any data\n");
		return EXIT_UNREADABLE;
	}
	return convert(o, &r, got);
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
	if (o.quiet)
		progress_off();
	if (!o.fifo) {
		fprintf(stderr, "beamdump sink: --fifo PATH is required\n");
		fprintf(stderr, "usage: beamdump %s\n", cli_synopsis(&sink_cmd));
		return EXIT_USAGE;
	}
	/* Everything that can be known now is checked before the FIFO exists. */
	int exists;
	if ((o.name && check_name(o.name)) || check_dir(o.dir, 0) ||
	    check_fifo_path(o.fifo, &exists))
		return EXIT_USAGE;
	if (o.name && taken(o.dir, o.name)) {
		fprintf(stderr, "beamdump sink: %s/%s.bdump or .dump.zst exists: choose another --name\n",
			o.dir, o.name);
		return EXIT_USAGE;
	}
	/* Signals are caught before the FIFO exists: from then on every way out removes it. */
	capture_signals();
	struct sigaction sa;
	if (sigaction(SIGINT, NULL, &sa) == 0)
		sigaction(SIGHUP, &sa, NULL);
	volatile sig_atomic_t *stop = capture_stop_flag();
	if (!exists && mkfifo(o.fifo, 0600)) {
		fprintf(stderr, "beamdump sink: cannot create FIFO %s: %s\n", o.fifo, strerror(errno));
		return EXIT_USAGE;
	}
	struct stat made;
	int in = -1, dog = -1;
	if (stat(o.fifo, &made) == 0)
		dog = watchdog(o.fifo);
	/* Our read end, open while we live: a VM opening the FIFO never waits. */
	in = dog < 0 ? -1 : open(o.fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	int rc;
	if (in < 0) {
		fprintf(stderr, "beamdump sink: cannot open %s: %s\n", o.fifo,
			dog < 0 ? "cannot start the watchdog" : strerror(errno));
		rc = EXIT_UNREADABLE;
	} else {
		if (!o.quiet) {
			char abs[PATH_MAX];
			fprintf(stderr, "beamdump sink: waiting for a crash dump: run the node with "
					"ERL_CRASH_DUMP=%s\n",
				realpath(o.fifo, abs) ? abs : o.fifo);
		}
		rc = take_dump(&o, in, o.fifo, &made, stop);
		close(in);
	}
	remove_fifo(o.fifo, &made);
	if (dog >= 0)
		close(dog);
	return rc;
}
