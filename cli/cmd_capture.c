/* beamdump capture: a snapshot of a running node, taken as a hidden C node with
 * read-only rpc calls (dump/capture.c), written through the async-signal-safe writer.
 * SIGINT/SIGTERM stop the collection at the next batch boundary and the file is
 * still finished (marked partial). The cookie comes from a file or the environment,
 * never from the command line, and is never printed. docs/capture.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "beamdump/capture.h"
#include "beamdump/dump.h"
#include "beamdump/progress.h"
#include "beamdump/secret.h"
#include "beamdump/snapshot.h"
#include "cli.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop++;
}

void capture_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: blocking calls return EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

volatile sig_atomic_t *capture_stop_flag(void) { return &g_stop; }

/* ---- writing a model through the writer ---- */
typedef struct wsink {
	bd_writer *w;
	sig_atomic_t stop_at; /* signals seen when writing began */
} wsink;

static int sink(void *ctx, const bd_record *r, const void *payload, size_t len)
{
	wsink *s = ctx;
	/* A signal while writing: end the file cleanly with what is written. */
	if (g_stop > s->stop_at)
		return BD_EBUDGET;
	return bd_writer_record(s->w, r, payload, len);
}

int capture_write(const bd_model *m, const char *path, const char *producer, uint64_t *bytes,
		  bd_error *err)
{
	bd_writer_opts wo = BD_WRITER_OPTS_INIT;
	bd_snapshot_opts so = BD_SNAPSHOT_OPTS_INIT;
	wo.level = 3;
	wo.max_record = so.max_record;
	wo.producer = producer;
	uint64_t est = bd_model_node(m)->input_size / (256u * 1024) + 4096;
	wo.max_records = est > (1u << 24) ? 1u << 24 : (uint32_t)est;
	size_t need = bd_writer_size(&wo);
	void *arena = need ? malloc(need) : NULL;
	bd_writer *w = NULL;
	if (!arena)
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory for the writer");
	int rc = bd_writer_init(&w, arena, need, path, &wo, err);
	if (rc) {
		free(arena);
		return rc;
	}
	wsink s = {w, g_stop};
	rc = bd_snapshot_write(m, sink, &s, &so, NULL, err);
	if (rc && rc != BD_EBUDGET) {
		bd_error werr = {0};
		if (bd_writer_error(w, &werr))
			*err = werr;
		bd_writer_discard(w); /* no half file left on a full disk */
		free(arena);
		return rc;
	}
	int cut = rc == BD_EBUDGET;
	rc = bd_writer_finish(w);
	if (rc) {
		bd_writer_error(w, err);
		bd_writer_discard(w);
	}
	if (bytes)
		*bytes = bd_writer_bytes(w);
	free(arena);
	if (!rc && cut)
		return bd_error_set(err, BD_EBUDGET, 0, "%s: writing was interrupted; the file holds "
					 "the records written before", path);
	return rc;
}

/* ---- cookie ---- */
static int read_cookie(const char *file, char *buf, size_t cap, size_t *len)
{
	const char *env = getenv("BEAMDUMP_COOKIE");
	char path[1024];
	*len = 0;
	if (!file && env && *env) {
		size_t n = strlen(env);
		if (n >= cap)
			return -1;
		memcpy(buf, env, n);
		*len = n;
		/* Not visible to children; /proc/PID/environ keeps the initial copy. */
		explicit_bzero((char *)env, n);
		unsetenv("BEAMDUMP_COOKIE");
		return 0;
	}
	if (!file) {
		const char *home = getenv("HOME");
		if (!home)
			return -1;
		snprintf(path, sizeof path, "%s/.erlang.cookie", home);
		file = path;
	}
	FILE *f = fopen(file, "rb");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, cap - 1, f);
	int big = n == cap - 1 && fgetc(f) != EOF;
	fclose(f);
	if (big)
		return -1;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
		     buf[n - 1] == '\t'))
		n--;
	buf[n] = 0;
	*len = n;
	return 0;
}

/* ---- options ---- */
typedef struct capopts {
	const char *node, *cookie_file, *out;
	double every;
	long count;
	int json, quiet, nice;
	unsigned connect_ms;
	bd_capture_opts co;
} capopts;

static const cli_opt capture_opts[] = {
	{"node", 0, CLI_VALUE, "NAME@HOST", "the node to capture (required)"},
	{"cookie-file", 0, CLI_VALUE, "F", "where the cookie is (default $BEAMDUMP_COOKIE, "
					   "else ~/.erlang.cookie)"},
	CLI_OPT_OUTPUT("FILE", "the snapshot (default NAME-<UTC time>.bdump)"),
	{"every", 0, CLI_VALUE, "S", "a series: one capture every S seconds"},
	{"count", 0, CLI_VALUE, "N", "captures in the series (default 1)"},
	{"messages", 0, CLI_VALUE, "N", "messages kept per queue read (default 100)"},
	{"top-queues", 0, CLI_VALUE, "K", "the K longest queues have their messages read "
					  "(default 10)"},
	{"batch", 0, CLI_VALUE, "N", "processes per process_info call (default 250)"},
	{"pause", 0, CLI_VALUE, "MS", "sleep between batches (default 10)"},
	{"timeout", 0, CLI_VALUE, "MS", "per call (default 60000; connect 10000)"},
	{"max-queue", 0, CLI_VALUE, "N", "queues longer than N are not read (default 200000)"},
	{"stacks", 0, CLI_VALUE, "N", "stack traces of the top N processes (default 20)"},
	{"nice", 0, CLI_VALUE, "N", "lower beamdump's CPU priority by N (default 10)"},
	CLI_OPT_JSON,
	{"quiet", 'q', CLI_FLAG, NULL, "no summary on stderr"},
	{"cookie", 0, CLI_OPTIONAL, NULL, NULL},
	CLI_END};

const cli_cmd capture_cmd = {
	"capture", cmd_capture, "--node NAME@HOST", 0, 0, capture_opts,
	"A snapshot of a running node, without stopping it (read-only calls).",
	"The cookie is read from --cookie-file, else $BEAMDUMP_COOKIE, else ~/.erlang.cookie;\n"
	"it is never printed. docs/capture.md has the details.\n",
	"0 complete snapshot, 2 usage, 3 cannot connect (unreachable node,\n"
	"            authentication failed) or cannot write, 4 partial snapshot written\n"
	"            (interrupted, node lost mid-capture)"};

static int num(const char *s, double lo, double hi, double *out)
{
	char *e;
	double v = s ? strtod(s, &e) : 0;
	if (!s || !*s || *e || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* The numeric options: name, range, where the value goes. */
static int parse(const opts *g, capopts *o)
{
	o->node = opt_str(g, "node");
	o->cookie_file = opt_str(g, "cookie-file");
	o->out = g->out;
	o->json = g->json;
	o->quiet = opt_count(g, "quiet");
	if (opt_count(g, "cookie")) {
		fprintf(stderr, "beamdump capture: takes no cookie on the command line (it would "
				"show in ps): use --cookie-file F or BEAMDUMP_COOKIE\n");
		return -1;
	}
	for (size_t i = 0; i < g->ngiven; i++) {
		const char *a = g->given[i].opt->name, *v = g->given[i].val;
		double d = 0;
		int bad = 0;
		if (!strcmp(a, "every") && !(bad = num(v, 0.01, 1e7, &d)))
			o->every = d;
		else if (!strcmp(a, "count") && !(bad = num(v, 1, 1e9, &d)))
			o->count = (long)d;
		else if (!strcmp(a, "messages") && !(bad = num(v, 0, 1e7, &d)))
			o->co.messages = (unsigned)d;
		else if (!strcmp(a, "top-queues") && !(bad = num(v, 0, 1e6, &d)))
			o->co.top_queues = (unsigned)d;
		else if (!strcmp(a, "batch") && !(bad = num(v, 1, 1e6, &d)))
			o->co.batch = (unsigned)d;
		else if (!strcmp(a, "pause") && !(bad = num(v, 0, 6e4, &d)))
			o->co.pause_ms = (unsigned)d;
		else if (!strcmp(a, "timeout") && !(bad = num(v, 100, 3.6e6, &d)))
			o->co.timeout_ms = o->connect_ms = (unsigned)d;
		else if (!strcmp(a, "max-queue") && !(bad = num(v, 0, 1e12, &d)))
			o->co.max_queue = (uint64_t)d;
		else if (!strcmp(a, "stacks") && !(bad = num(v, 0, 1e6, &d)))
			o->co.stack_top = (unsigned)d;
		else if (!strcmp(a, "nice") && !(bad = num(v, 0, 19, &d)))
			o->nice = (int)d;
		if (bad) {
			fprintf(stderr, "beamdump capture: bad value for --%s: '%s'\n", a, v);
			return -1;
		}
	}
	if (!o->node) {
		fprintf(stderr, "beamdump capture: --node NAME@HOST is required\n");
		return -1;
	}
	return 0;
}

/* Output name of capture k (1-based) of a series. */
static void out_name(const capopts *o, long k, char *buf, size_t cap)
{
	if (!o->out) {
		char ts[32], alive[128];
		time_t t = time(NULL);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
		const char *at = strchr(o->node, '@');
		snprintf(alive, sizeof alive, "%.*s", at ? (int)(at - o->node) : 100, o->node);
		if (o->count == 1)
			snprintf(buf, cap, "%s-%s.bdump", alive, ts);
		else
			snprintf(buf, cap, "%s-%s-%03ld.bdump", alive, ts, k);
		return;
	}
	if (o->count == 1) {
		snprintf(buf, cap, "%s", o->out);
		return;
	}
	/* x.bdump -> x-001.bdump */
	const char *dot = strrchr(o->out, '.'), *slash = strrchr(o->out, '/');
	if (dot && (!slash || dot > slash))
		snprintf(buf, cap, "%.*s-%03ld%s", (int)(dot - o->out), o->out, k, dot);
	else
		snprintf(buf, cap, "%s-%03ld", o->out, k);
}

/* A default name taken by another capture (two in the same second): NAME-2.bdump,
 * NAME-3.bdump, ... The name is claimed with O_EXCL (an empty file the writer then
 * replaces), so two captures never write one file. Returns 1 when it made the file. */
static int unique_name(char *file, size_t cap)
{
	char base[2048], try[2100];
	snprintf(base, sizeof base, "%s", file);
	char *dot = strrchr(base, '.');
	if (dot)
		*dot = 0;
	for (int k = 1; k < 1000; k++) {
		if (k == 1)
			snprintf(try, sizeof try, "%s", file);
		else
			snprintf(try, sizeof try, "%s-%d.bdump", base, k);
		int fd = open(try, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0) {
			close(fd);
			snprintf(file, cap, "%s", try);
			return 1;
		}
		if (errno != EEXIST)
			return 0; /* the writer will say why it cannot write there */
	}
	return 0;
}

static void report(const capopts *o, const char *file, const bd_model *m,
		   const bd_capture_stats *st, uint64_t bytes, int partial)
{
	const bd_node_info *ni = bd_model_node(m);
	size_t np, nport, nets;
	bd_model_procs(m, &np);
	bd_model_ports(m, &nport);
	bd_model_ets(m, &nets);
	if (o->json) {
		jw w;
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_kstr(&w, "file", file);
		jw_kstr(&w, "node", ni->node_name);
		jw_kstr(&w, "otp_release", ni->otp_release);
		jw_ku64(&w, "created_unix", (uint64_t)ni->created_unix);
		jw_ku64(&w, "processes", np);
		jw_ku64(&w, "ports", nport);
		jw_ku64(&w, "ets_tables", nets);
		jw_ku64(&w, "queues_read", st->queues_read);
		jw_ku64(&w, "messages", st->messages);
		jw_ku64(&w, "stacks", st->stacks);
		jw_ku64(&w, "calls", st->calls);
		jw_ku64(&w, "bytes_received", st->bytes_in);
		jw_ku64(&w, "bytes_written", bytes);
		jw_key(&w, "seconds");
		jw_dbl(&w, st->seconds);
		jw_key(&w, "scheduler_wall_time");
		jw_bool(&w, st->wall_time);
		jw_key(&w, "partial");
		jw_bool(&w, partial);
		jw_kstr(&w, "partial_reason", partial ? ni->truncated_in : NULL);
		jw_obj_end(&w);
		jw_end(&w);
		fflush(stdout);
	}
	if (o->quiet)
		return;
	char a[32], b[32], c[32];
	fprintf(stderr,
		"beamdump: captured %s: %s processes, %zu ports, %zu ETS tables, %llu queues read "
		"in %.2f s (%llu calls, %s received); wrote %s (%s)%s\n",
		ni->node_name ? ni->node_name : "?", fmt_count(np, a, sizeof a), nport, nets,
		(unsigned long long)st->queues_read, st->seconds, (unsigned long long)st->calls,
		fmt_bytes(st->bytes_in, b, sizeof b), file, fmt_bytes(bytes, c, sizeof c),
		st->wall_time ? "" : "; scheduler_wall_time is off on the node: not sampled");
	if (partial)
		fprintf(stderr, "beamdump: partial capture: %s\n", ni->truncated_in);
}

/* One capture into file; returns an exit code. */
static int capture_once(const capopts *o, bd_capture *c, const char *file)
{
	bd_error err = {0};
	bd_live *lv = NULL;
	bd_capture_stats st;
	int rc = bd_capture_run(c, &o->co, &lv, &st, &err);
	bd_progress_end();
	if (rc && rc != BD_ETRUNCATED) {
		fprintf(stderr, "beamdump: capture of %s failed: %s\n", o->node, err.msg);
		return EXIT_UNREADABLE;
	}
	int partial = rc == BD_ETRUNCATED;
	bd_model *m;
	if (bd_live_finish(lv, &m, &err)) {
		fprintf(stderr, "beamdump: capture: %s\n", err.msg);
		return EXIT_UNREADABLE;
	}
	uint64_t bytes = 0;
	int wrc = capture_write(m, file, "beamdump capture", &bytes, &err);
	if (wrc && wrc != BD_EBUDGET) {
		fprintf(stderr, "beamdump: capture: cannot write %s: %s\n", file, err_reason(&err));
		bd_model_free(m);
		return EXIT_UNREADABLE;
	}
	if (wrc == BD_EBUDGET) {
		fprintf(stderr, "beamdump: %s\n", err.msg);
		partial = 1;
	}
	report(o, file, m, &st, bytes, partial);
	bd_model_free(m);
	return partial ? EXIT_PARTIAL : EXIT_OK;
}

static void pause_until(bd_capture *c, double t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double left = t - ((double)now.tv_sec + (double)now.tv_nsec / 1e9);
	if (left > 0)
		bd_capture_idle(c, (unsigned)(left * 1000), &g_stop);
}

int cmd_capture(const opts *g)
{
	capopts o = {0};
	o.count = 1;
	o.connect_ms = 10000;
	o.nice = 10;
	o.co = (bd_capture_opts)BD_CAPTURE_OPTS_INIT;
	if (opt_count(g, "quiet"))
		progress_off();
	if (parse(g, &o)) {
		fprintf(stderr, "usage: beamdump %s\n", cli_synopsis(&capture_cmd));
		return EXIT_USAGE;
	}
	if (o.every > 0 && o.count == 1 && !o.out)
		o.count = 1; /* --every alone: one capture (use --count for a series) */
	char cookie[1024];
	size_t clen;
	errno = 0;
	if (read_cookie(o.cookie_file, cookie, sizeof cookie, &clen) || !clen) {
		int e = errno;
		explicit_bzero(cookie, sizeof cookie);
		fprintf(stderr, "beamdump: capture: no cookie: cannot read %s: %s\n",
			o.cookie_file ? o.cookie_file
				      : "$BEAMDUMP_COOKIE or ~/.erlang.cookie (use --cookie-file F)",
			e ? strerror(e) : clen ? "too long" : "empty");
		return EXIT_USAGE;
	}
	bd_secret_add(cookie, clen); /* a hash only: whatever prints from here hides it */
	/* On a small machine beamdump competes with the node for CPU: let the node win. */
	if (o.nice)
		(void)setpriority(PRIO_PROCESS, 0, o.nice);
	capture_signals();
	g_stop = 0;
	o.co.stop = &g_stop;
	bd_error err = {0};
	bd_capture *c = NULL;
	bd_capture_why why;
	int rc = bd_capture_connect(&c, o.node, cookie, clen, o.connect_ms, &why, &err);
	explicit_bzero(cookie, sizeof cookie);
	if (rc) {
		fprintf(stderr, "beamdump: capture: %s\n", err.msg);
		return why == BD_CAPTURE_BAD_NAME ? EXIT_USAGE : EXIT_UNREADABLE;
	}
	int status = EXIT_OK;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	double start = (double)t0.tv_sec + (double)t0.tv_nsec / 1e9;
	for (long k = 1; k <= o.count; k++) {
		char file[2048];
		out_name(&o, k, file, sizeof file);
		int placeholder = !o.out && unique_name(file, sizeof file);
		int r = capture_once(&o, c, file);
		if (r == EXIT_UNREADABLE && placeholder)
			unlink(file); /* nothing was written into it */
		if (r != EXIT_OK)
			status = r;
		if (r == EXIT_OK && g_stop && k < o.count)
			status = EXIT_PARTIAL; /* the series was cut short */
		if (r != EXIT_OK || g_stop)
			break;
		if (k < o.count)
			pause_until(c, start + o.every * (double)k);
		if (g_stop) {
			if (!o.quiet)
				fprintf(stderr, "beamdump: series interrupted after %ld of %ld captures\n", k,
					o.count);
			status = EXIT_PARTIAL;
			break;
		}
	}
	bd_capture_close(c);
	return status;
}
