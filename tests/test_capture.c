/* beamdump capture and sink against real nodes (loopback only). Each node runs
 * tests/capture/bd_capture_node.erl with a random cookie; tests kill their nodes.
 * Without erl these tests fail (CI installs it with scripts/deps.sh). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "beamdump/analyze.h"
#include "beamdump/model.h"
#include "jsonlite.h"
#include "testutil.h"

static char g_dir[256];       /* temp dir: compiled helper, cookies, outputs */
static char g_cookie[32];
static char g_cookie_file[300];
static char g_node[128];      /* the shared node (culprits, idle) */
static pid_t g_node_pid = -1;
static int g_seq;
static pid_t g_nodes[32];     /* every node started, killed at teardown whatever failed */
static int g_nnodes;

static const char *bin(void)
{
	const char *b = getenv("BD_BIN");
	return b ? b : "beamdump";
}

static int have(const char *tool)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

/* Run argv with stdout/stderr to files; returns the child pid. */
static pid_t spawn(char *const argv[], const char *out, const char *err,
		   const char *env_name, const char *env_val)
{
	pid_t p = fork();
	if (p == 0) {
		setpgid(0, 0);
		int o = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int n = open("/dev/null", O_RDONLY);
		dup2(n, 0);
		dup2(o, 1);
		dup2(e, 2);
		if (env_name)
			setenv(env_name, env_val, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	return p;
}

static char *slurp(const char *path)
{
	size_t n;
	char *s = tu_read_file(path, &n);
	return s ? s : strdup("");
}

static void path_of(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", g_dir, name);
}

/* Start a node running bd_capture_node Mode with Procs idle processes; waits until
 * it is ready. env: ERL_CRASH_DUMP value or NULL. */
static pid_t start_node(const char *mode, int procs, char *name, size_t cap,
			const char *crash_dump)
{
	char sname[64], ready[400], nprocs[16], log[400];
	snprintf(sname, sizeof sname, "bdcap%d_%d", (int)getpid(), g_seq++);
	snprintf(name, cap, "%s@localhost", sname);
	snprintf(ready, sizeof ready, "%s/%s.ready", g_dir, sname);
	snprintf(log, sizeof log, "%s/%s.log", g_dir, sname);
	snprintf(nprocs, sizeof nprocs, "%d", procs);
	unlink(ready);
	char *argv[] = {"erl", "-sname", name, "-setcookie", g_cookie, "-noshell", "+S", "2:2",
			"-pa", g_dir, "-run", "bd_capture_node", "main", (char *)mode, ready,
			nprocs, NULL};
	pid_t p = spawn(argv, log, log, crash_dump ? "ERL_CRASH_DUMP" : NULL, crash_dump);
	assert_true(p > 0);
	if (g_nnodes < 32)
		g_nodes[g_nnodes++] = p;
	double end = tu_now() + 60;
	struct stat sb;
	while (tu_now() < end && stat(ready, &sb) != 0) {
		int st;
		if (waitpid(p, &st, WNOHANG) == p) {
			char *l = slurp(log);
			fail_msg("node %s exited before it was ready:\n%s", name, l);
		}
		usleep(50000);
	}
	if (stat(ready, &sb) != 0)
		fail_msg("node %s not ready within 60 s", name);
	return p;
}

static void stop_node(pid_t p)
{
	if (p <= 0)
		return;
	kill(-p, SIGKILL);
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	for (int i = 0; i < g_nnodes; i++)
		if (g_nodes[i] == p)
			g_nodes[i] = -1;
}

/* beamdump ARGS... with stdout/stderr captured; returns the exit code. */
static int run_bd(char **out, char **err, double secs, char *const args[])
{
	char *argv[32];
	int n = 0;
	argv[n++] = (char *)bin();
	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	char fo[300], fe[300];
	snprintf(fo, sizeof fo, "%s/run%d.out", g_dir, g_seq);
	snprintf(fe, sizeof fe, "%s/run%d.err", g_dir, g_seq++);
	pid_t p = spawn(argv, fo, fe, NULL, NULL);
	int rc = tu_wait_exit(p, secs, 1);
	char *o = slurp(fo), *e = slurp(fe);
	if (out)
		*out = o;
	else
		free(o);
	if (err)
		*err = e;
	else
		free(e);
	return rc;
}

/* The whole file, and its zstd-decompressed payloads, must not contain needle. */
static void assert_absent(const char *path, const char *needle)
{
	size_t n;
	char *s = tu_read_file(path, &n);
	assert_non_null(s);
	assert_null(memmem(s, n, needle, strlen(needle)));
	free(s);
	char cmd[700], dec[300];
	snprintf(dec, sizeof dec, "%s/decompressed.%d", g_dir, g_seq++);
	snprintf(cmd, sizeof cmd, "zstd -dc -q '%s' > '%s' 2>/dev/null", path, dec);
	assert_int_equal(system(cmd), 0);
	s = tu_read_file(dec, &n);
	assert_non_null(s);
	assert_true(n > 1000); /* it did decompress something */
	assert_null(memmem(s, n, needle, strlen(needle)));
	free(s);
}

static int line_has(const char *text, const char *a, const char *b)
{
	for (const char *l = text; l && *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		if (memmem(l, len, a, strlen(a)) && memmem(l, len, b, strlen(b)))
			return 1;
		l = e ? e + 1 : NULL;
	}
	return 0;
}

/* ---- setup: compile the helper, one shared node ---- */
static int setup(void **state)
{
	(void)state;
	if (!have("erl") || !have("erlc")) {
		fprintf(stderr, "test_capture: erl/erlc not found: run scripts/deps.sh\n");
		return -1; /* fails every test of the group: CI must have erl */
	}
	snprintf(g_dir, sizeof g_dir, "%s/bdcapXXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(g_dir))
		return -1;
	const char *src = getenv("BD_SOURCE");
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "erlc -o '%s' '%s/tests/capture/bd_capture_node.erl'", g_dir,
		 src ? src : ".");
	if (system(cmd) != 0)
		return -1;
	/* A random cookie, written to a file the way users pass it. */
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	unsigned char r[20];
	FILE *u = fopen("/dev/urandom", "rb");
	if (!u || fread(r, 1, sizeof r, u) != sizeof r)
		return -1;
	fclose(u);
	for (size_t i = 0; i < sizeof r; i++)
		g_cookie[i] = al[r[i] % 26];
	g_cookie[sizeof r] = 0;
	path_of(g_cookie_file, sizeof g_cookie_file, "cookie");
	FILE *f = fopen(g_cookie_file, "w");
	if (!f)
		return -1;
	fprintf(f, "%s\n", g_cookie);
	fclose(f);
	chmod(g_cookie_file, 0600);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < g_nnodes; i++)
		stop_node(g_nodes[i]);
	if (g_dir[0] && !getenv("BD_KEEP_TMP")) {
		char cmd[400];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
		if (system(cmd)) {
		}
	}
	return 0;
}

static void shared_node(void)
{
	if (g_node_pid <= 0)
		g_node_pid = start_node("idle", 2000, g_node, sizeof g_node, NULL);
}

/* A node with a known overloaded process and a known binary holder: analyze on
 * the snapshot names both; the cookie is nowhere. */
static void test_capture_culprits(void **state)
{
	(void)state;
	shared_node();
	char snap[300];
	path_of(snap, sizeof snap, "culprits.bdump");
	char *out, *err;
	double t0 = tu_now();
	int rc = run_bd(&out, &err, 60,
			(char *[]){"capture", "--node", g_node, "--cookie-file", g_cookie_file,
				   "-o", snap, "--json", NULL});
	if (rc != 0)
		fail_msg("capture exit %d: %s", rc, err);
	fprintf(stderr, "capture of 2,000+ processes: %.2f s\n", tu_now() - t0);
	assert_non_null(strstr(out, "\"partial\":false"));
	assert_null(strstr(out, g_cookie));
	assert_null(strstr(err, g_cookie));
	free(out);
	free(err);

	rc = run_bd(&out, &err, 60, (char *[]){"analyze", snap, NULL});
	assert_int_equal(rc, 0);
	if (!line_has(out, "mailbox_overload", "bd_overloaded") ||
	    !line_has(out, "binary_leak", "bd_binholder"))
		fail_msg("analyze did not name both culprits:\n%s", out);
	assert_null(strstr(out, g_cookie));
	free(out);
	free(err);

	/* The mailbox came through as terms: shapes, and the cookie message redacted. */
	rc = run_bd(&out, &err, 60, (char *[]){"proc", "bd_overloaded", "--messages", "3", snap, NULL});
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "{job,_,_}"));
	assert_non_null(strstr(out, "beamdump_redacted"));
	assert_null(strstr(out, g_cookie));
	free(out);
	free(err);

	/* Limits known only live, and the JSON of info. */
	bd_model *m;
	bd_error e = {0};
	assert_int_equal(bd_model_open(&m, snap, &e), 0);
	const bd_limits *l = bd_model_limits(m);
	assert_true(l->procs_limit != BD_UNKNOWN && l->procs_limit >= 1024);
	assert_true(l->ports_limit != BD_UNKNOWN);
	assert_true(l->atoms_limit != BD_UNKNOWN);
	assert_true(l->ets_limit != BD_UNKNOWN);
	assert_true(l->procs >= 2000);
	assert_false(bd_model_node(m)->truncated);
	assert_string_equal(bd_model_node(m)->source, "live");
	assert_true(bd_model_memory(m)->total != BD_UNKNOWN);
	bd_model_free(m);
	assert_absent(snap, g_cookie);
}

/* Context a live capture keeps: the application (group leader -> master, exact),
 * a hibernated process's function, a process_name; binaries counted once per
 * process (process_info(P, binary) lists one 4 MiB binary 3,000 times). */
static void test_capture_context(void **state)
{
	(void)state;
	shared_node();
	char snap[300];
	path_of(snap, sizeof snap, "context.bdump");
	char *out, *err;
	int rc = run_bd(&out, &err, 60,
			(char *[]){"capture", "--node", g_node, "--cookie-file", g_cookie_file,
				   "-o", snap, NULL});
	if (rc != 0)
		fail_msg("capture exit %d: %s", rc, err);
	free(out);
	free(err);
	bd_model *m;
	bd_error e = {0};
	assert_int_equal(bd_model_open(&m, snap, &e), 0);
	uint64_t binmem = bd_model_memory(m)->binary;
	const bd_proc *d = bd_proc_find(m, "bd_dupholder");
	assert_non_null(d);
	bd_proc_ext x;
	assert_int_equal(bd_proc_ext_get(m, d, &x), 0);
	assert_string_equal(x.application, "bd_capture_app");
	assert_int_equal(bd_proc_ext_get(m, bd_proc_find(m, "bd_overloaded"), &x), 0);
	assert_string_equal(x.application, "bd_capture_app");
	assert_int_equal(bd_proc_ext_get(m, bd_proc_find(m, "bd_binholder"), &x), 0);
	assert_null(x.application); /* started by -run */
	int clamped = 1;
	uint64_t held = bd_proc_binary_bytes(m, d, &clamped);
	assert_false(clamped);
	assert_true(held >= 4u << 20 && held <= binmem);
	assert_true(held < (5u << 20)); /* once, not 3,000 times */
	const bd_proc *h = bd_proc_find(m, "bd_hibernated");
	assert_non_null(h);
	assert_string_equal(h->pc_mfa, "erlang:hibernate/3");
	size_t n;
	const bd_proc *ps = bd_model_procs(m, &n);
	int named = 0;
	for (size_t i = 0; i < n; i++) {
		char name[160];
		if (bd_proc_name(m, &ps[i], NULL, name, sizeof name) == BD_PNAME_PROCESS_NAME &&
		    !strcmp(name, "rabbit_amqqueue_process: queue 'bd_q' in vhost '/'"))
			named++;
	}
	assert_int_equal(named, 1);
	bd_model_free(m);

	/* analyze: the overloaded process is placed in its application */
	rc = run_bd(&out, &err, 60, (char *[]){"analyze", "--json", snap, NULL});
	assert_int_equal(rc, 0);
	char jerr[256];
	jv *a = jv_parse(out, jerr, sizeof jerr);
	assert_non_null(a);
	const jv *fs = jv_get(a, "findings");
	int seen = 0;
	for (size_t i = 0; i < fs->n; i++) {
		const jv *s = jv_get(fs->items[i], "subject");
		const jv *nm = jv_get(s, "name"), *app = jv_get(s, "application");
		if (nm && nm->kind == JV_STR && !strcmp(nm->str, "bd_overloaded")) {
			assert_true(app && app->kind == JV_STR && !strcmp(app->str, "bd_capture_app"));
			seen++;
		}
	}
	assert_true(seen >= 1);
	jv_free(a);
	free(out);
	free(err);
	/* top --by binary: the same bounded figure, with the application's process first */
	rc = run_bd(&out, &err, 60, (char *[]){"top", "--by", "binary", "-n", "3", snap, NULL});
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "bd_binholder"));
	assert_non_null(strstr(out, "bd_dupholder"));
	assert_null(strstr(out, " GB "));
	free(out);
	free(err);
}

/* Wrong cookie, unreachable node, no cookie: clear errors, documented codes. */
static void test_capture_errors(void **state)
{
	(void)state;
	shared_node();
	char bad[300], snap[300];
	path_of(bad, sizeof bad, "badcookie");
	path_of(snap, sizeof snap, "never.bdump");
	FILE *f = fopen(bad, "w");
	assert_non_null(f);
	fputs("NOTTHECOOKIE\n", f);
	fclose(f);
	char *out, *err;
	int rc = run_bd(&out, &err, 60,
			(char *[]){"capture", "--node", g_node, "--cookie-file", bad, "-o", snap, NULL});
	assert_int_equal(rc, 3);
	assert_non_null(strstr(err, "authentication failed"));
	assert_null(strstr(err, "NOTTHECOOKIE"));
	assert_null(strstr(out, "NOTTHECOOKIE"));
	free(out);
	free(err);
	struct stat sb;
	assert_int_not_equal(stat(snap, &sb), 0);

	char nobody[128];
	snprintf(nobody, sizeof nobody, "bdnobody%d@localhost", (int)getpid());
	rc = run_bd(&out, &err, 60,
		    (char *[]){"capture", "--node", nobody, "--cookie-file", g_cookie_file, "-o", snap,
			       NULL});
	assert_int_equal(rc, 3);
	assert_non_null(strstr(err, "no node named"));
	assert_null(strstr(err, g_cookie));
	free(out);
	free(err);

	rc = run_bd(&out, &err, 60, (char *[]){"capture", "--node", g_node, "--cookie", "x", NULL});
	assert_int_equal(rc, 2);
	free(out);
	free(err);
	path_of(bad, sizeof bad, "missing-cookie-file");
	rc = run_bd(&out, &err, 60,
		    (char *[]){"capture", "--node", g_node, "--cookie-file", bad, NULL});
	assert_int_equal(rc, 2);
	free(out);
	free(err);
}

/* Start a slow capture (small batches, pauses), then act on it mid-way. */
static void interrupted(const char *what)
{
	char name[128], snap[300], fo[300], fe[300];
	pid_t node = start_node("idle", 20000, name, sizeof name, NULL);
	path_of(snap, sizeof snap, what);
	strcat(snap, ".bdump");
	path_of(fo, sizeof fo, what);
	strcat(fo, ".out");
	path_of(fe, sizeof fe, what);
	strcat(fe, ".err");
	char *argv[] = {(char *)bin(), "capture", "--node", name, "--cookie-file", g_cookie_file,
			"-o", snap, "--batch", "100", "--pause", "25", NULL};
	pid_t p = spawn(argv, fo, fe, NULL, NULL);
	/* Until a few batches are in: the snapshot must hold some processes. */
	usleep(2500 * 1000);
	int lost = !strcmp(what, "killed");
	if (lost)
		stop_node(node);
	else
		kill(p, SIGINT);
	int rc = tu_wait_exit(p, 60, 1);
	char *err = slurp(fe);
	if (rc != 4)
		fail_msg("%s capture: exit %d, want 4: %s", what, rc, err);
	assert_non_null(strstr(err, lost ? "lost" : "interrupted"));
	assert_null(strstr(err, g_cookie));
	free(err);
	/* A valid, finished file (not a .partial), marked partial inside. */
	bd_model *m;
	bd_error e = {0};
	if (bd_model_open(&m, snap, &e))
		fail_msg("%s: %s", snap, e.msg);
	const bd_node_info *ni = bd_model_node(m);
	assert_true(ni->truncated);
	assert_non_null(ni->truncated_in);
	assert_non_null(strstr(ni->truncated_in, lost ? "lost" : "interrupted"));
	assert_null(strstr(ni->truncated_in, "not finished")); /* the writer finished it */
	size_t n;
	bd_model_procs(m, &n);
	fprintf(stderr, "%s capture: %zu processes kept\n", what, n);
	assert_true(n > 0 && n < 20000);
	bd_model_free(m);
	char *out;
	rc = run_bd(&out, NULL, 60, (char *[]){"info", snap, NULL});
	assert_int_equal(rc, 4);
	free(out);
	if (!lost)
		stop_node(node);
}

static void test_capture_node_killed(void **state)
{
	(void)state;
	interrupted("killed");
}

static void test_capture_sigint(void **state)
{
	(void)state;
	interrupted("sigint");
}

/* --every/--count: a series whose snapshots diff with per-second rates. */
static void test_capture_series(void **state)
{
	(void)state;
	shared_node();
	char pattern[300], a[300], b[300];
	path_of(pattern, sizeof pattern, "series.bdump");
	path_of(a, sizeof a, "series-001.bdump");
	path_of(b, sizeof b, "series-002.bdump");
	char *out, *err;
	int rc = run_bd(&out, &err, 60,
			(char *[]){"capture", "--node", g_node, "--cookie-file", g_cookie_file, "-o",
				   pattern, "--every", "1.2", "--count", "2", "-q", NULL});
	if (rc != 0)
		fail_msg("series exit %d: %s", rc, err);
	free(out);
	free(err);
	bd_model *ma, *mb;
	bd_error e = {0};
	assert_int_equal(bd_model_open(&ma, a, &e), 0);
	assert_int_equal(bd_model_open(&mb, b, &e), 0);
	assert_true(bd_model_node(mb)->created_unix > bd_model_node(ma)->created_unix);
	bd_model_free(ma);
	bd_model_free(mb);
	rc = run_bd(&out, &err, 60, (char *[]){"diff", a, b, NULL});
	if (rc != 0 && rc != 1)
		fail_msg("diff exit %d: %s", rc, err);
	free(out);
	free(err);
}

/* sink: a node with ERL_CRASH_DUMP on the FIFO fails for real; analyze gives the
 * same findings on the snapshot as on the text of the same dump. */
static void test_sink(void **state)
{
	(void)state;
	char fifo[300], fo[300], fe[300], name[128];
	path_of(fifo, sizeof fifo, "crash.fifo");
	path_of(fo, sizeof fo, "sink.out");
	path_of(fe, sizeof fe, "sink.err");
	char *argv[] = {(char *)bin(), "sink", "--fifo", fifo, "-o", g_dir, "--name", "sunk",
			"--keep-raw", NULL};
	pid_t s = spawn(argv, fo, fe, NULL, NULL);
	struct stat sb;
	double end = tu_now() + 10;
	while (tu_now() < end && (stat(fifo, &sb) != 0 || !S_ISFIFO(sb.st_mode)))
		usleep(20000);
	assert_true(S_ISFIFO(sb.st_mode));
	pid_t node = start_node("crash", 100, name, sizeof name, fifo);
	int rc = tu_wait_exit(s, 60, 1);
	char *err = slurp(fe);
	if (rc != 0)
		fail_msg("sink exit %d: %s", rc, err);
	free(err);
	tu_wait_exit(node, 30, 1); /* the VM exits once its dump is written */
	assert_int_not_equal(stat(fifo, &sb), 0); /* the sink removed its FIFO */
	char snap[300], raw[300];
	path_of(snap, sizeof snap, "sunk.bdump");
	path_of(raw, sizeof raw, "sunk.dump.zst");
	char *a, *b;
	rc = run_bd(&a, NULL, 60, (char *[]){"analyze", "--json", snap, NULL});
	assert_int_equal(rc, 0);
	rc = run_bd(&b, NULL, 60, (char *[]){"analyze", "--json", raw, NULL});
	assert_int_equal(rc, 0);
	assert_non_null(strstr(a, "mailbox_overload"));
	assert_non_null(strstr(a, "bd_overloaded"));
	assert_string_equal(a, b);
	free(a);
	free(b);
}

/* sink: a VM killed while it writes its dump leaves a cut dump: still converted,
 * marked truncated, exit 4. */
static void test_sink_vm_dies(void **state)
{
	(void)state;
	char fifo[300], fe[300], name[128], raw[300], snap[300];
	path_of(fifo, sizeof fifo, "dies.fifo");
	path_of(fe, sizeof fe, "dies.err");
	path_of(raw, sizeof raw, "died.dump.zst");
	path_of(snap, sizeof snap, "died.bdump");
	char *argv[] = {(char *)bin(), "sink", "--fifo", fifo, "-o", g_dir, "--name", "died",
			"--keep-raw", NULL};
	pid_t s = spawn(argv, NULL, fe, NULL, NULL);
	struct stat sb;
	double end = tu_now() + 10;
	while (tu_now() < end && (stat(fifo, &sb) != 0 || !S_ISFIFO(sb.st_mode)))
		usleep(20000);
	/* 20,000 processes: a dump of some 50 MB, written over a good fraction of a second. */
	pid_t node = start_node("crash", 20000, name, sizeof name, fifo);
	end = tu_now() + 30;
	while (tu_now() < end && (stat(raw, &sb) != 0 || sb.st_size == 0))
		usleep(1000);
	stop_node(node); /* mid-dump */
	int rc = tu_wait_exit(s, 60, 1);
	char *err = slurp(fe);
	if (rc != 4)
		fail_msg("sink of a VM killed mid-dump: exit %d, want 4: %s", rc, err);
	free(err);
	bd_model *m;
	bd_error e = {0};
	assert_int_equal(bd_model_open(&m, snap, &e), 0);
	assert_true(bd_model_node(m)->truncated);
	bd_model_free(m);
}

/* The memory_alarm finding of `analyze --json FILE`, as a new object (NULL: none). */
static jv *alarm_finding(const char *file, jv **doc)
{
	char *out, jerr[256];
	int rc = run_bd(&out, NULL, 60, (char *[]){"analyze", "--json", (char *)file, NULL});
	if (rc != 0 && rc != 1)
		fail_msg("analyze %s: exit %d", file, rc);
	*doc = jv_parse(out, jerr, sizeof jerr);
	free(out);
	assert_non_null(*doc);
	const jv *fs = jv_get(*doc, "findings");
	for (size_t i = 0; fs && i < fs->n; i++) {
		const jv *k = jv_get(fs->items[i], "kind");
		if (k && k->kind == JV_STR && !strcmp(k->str, "memory_alarm"))
			return fs->items[i];
	}
	return NULL;
}

static const char *ev_str(const jv *f, const char *key)
{
	const jv *v = jv_get(jv_get(f, "evidence"), key);
	return v && v->kind == JV_STR ? v->str : "";
}

/* A node whose memsup raised system_memory_high_watermark (and
 * process_memory_high_watermark) in SASL's alarm_handler: a live capture reads the
 * alarms (sys:get_state of the manager) and memory_alarm names them, with the same
 * evidence as the VM's own crash dump of that node taken right after. A node with
 * os_mon and no alarm: no memory_alarm. */
static void test_capture_memory_alarm(void **state)
{
	(void)state;
	char name[128], snap[300], dump[300];
	path_of(snap, sizeof snap, "alarm.bdump");
	path_of(dump, sizeof dump, "alarm.dump");
	pid_t node = start_node("alarm", 0, name, sizeof name, dump);
	char *err;
	int rc = run_bd(NULL, &err, 60,
			(char *[]){"capture", "--node", name, "--cookie-file", g_cookie_file,
				   "-o", snap, NULL});
	if (rc != 0)
		fail_msg("capture exit %d: %s", rc, err);
	free(err);
	kill(node, SIGUSR1); /* the VM writes its crash dump, then exits */
	tu_wait_exit(node, 60, 1);
	stop_node(node);

	jv *ld, *dd;
	jv *live = alarm_finding(snap, &ld), *dead = alarm_finding(dump, &dd);
	if (!live || !dead)
		fail_msg("memory_alarm missing: live %p, dump %p", (void *)live, (void *)dead);
	assert_non_null(strstr(ev_str(live, "alarms"), "system_memory_high_watermark"));
	assert_non_null(strstr(ev_str(live, "alarms"), "process_memory_high_watermark"));
	assert_non_null(strstr(ev_str(live, "alarm_manager"), "alarm_handler"));
	assert_string_equal(ev_str(live, "alarms"), ev_str(dead, "alarms"));
	assert_string_equal(ev_str(live, "alarm_manager"), ev_str(dead, "alarm_manager"));
	/* process_memory_high_watermark names the process memsup found largest */
	assert_true(ev_str(live, "largest_process")[0]);
	assert_string_equal(ev_str(live, "largest_process"), ev_str(dead, "largest_process"));
	assert_string_equal(jv_get(live, "severity")->str, jv_get(dead, "severity")->str);
	jv_free(ld);
	jv_free(dd);

	/* os_mon running, the watermarks out of reach: nothing. */
	node = start_node("calm", 0, name, sizeof name, NULL);
	path_of(snap, sizeof snap, "calm.bdump");
	rc = run_bd(NULL, &err, 60,
		    (char *[]){"capture", "--node", name, "--cookie-file", g_cookie_file, "-o",
			       snap, NULL});
	stop_node(node);
	if (rc != 0)
		fail_msg("capture exit %d: %s", rc, err);
	free(err);
	assert_null(alarm_finding(snap, &ld));
	jv_free(ld);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture_culprits),
		cmocka_unit_test(test_capture_context),
		cmocka_unit_test(test_capture_memory_alarm),
		cmocka_unit_test(test_capture_errors),
		cmocka_unit_test(test_capture_series),
		cmocka_unit_test(test_capture_node_killed),
		cmocka_unit_test(test_capture_sigint),
		cmocka_unit_test(test_sink),
		cmocka_unit_test(test_sink_vm_dies),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
