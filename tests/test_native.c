/* Native crashes: real cores and crash guard snapshots of real NIF crashes
 * (samples/nif/gen.sh, run by make check into $BD_SAMPLES/nif and nif-guard), checked
 * against the facts each node wrote before it died; the guard's handler with
 * malloc made fatal; and hostile input: not a core, cut cores, damaged notes,
 * missing and different objects. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "beamdump/analyze.h"
#include "beamdump/native.h"
#include "testutil.h"
#include "beamdump/container.h"
#include "int.h"
#include "native_int.h"
#include "elfobj.h"
#include <zstd.h>

/* ---- the cases gen.sh made ---- */
typedef struct ncase {
	char dir[1024];
	char input[1200]; /* core or beam-*.bdump */
	char name[128];
} ncase;

static int list_cases(const char *sub, int guard, ncase *out, int cap)
{
	const char *root = getenv("BD_SAMPLES");
	char d[1024];
	if (!root)
		return 0;
	snprintf(d, sizeof d, "%s/%s", root, sub);
	DIR *dir = opendir(d);
	int n = 0;
	struct dirent *e;
	while (dir && (e = readdir(dir)) && n < cap) {
		size_t nl = strlen(e->d_name);
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "lib") || !strcmp(e->d_name, "ebin") ||
		    !strcmp(e->d_name, "exbin") || (nl > 4 && !strcmp(e->d_name + nl - 4, "-cut")))
			continue; /* -cut: test_rlimit_core */
		ncase *c = &out[n];
		snprintf(c->dir, sizeof c->dir, "%.700s/%.200s", d, e->d_name);
		snprintf(c->name, sizeof c->name, "%.120s", e->d_name);
		c->input[0] = 0;
		if (!guard) {
			snprintf(c->input, sizeof c->input, "%s/core", c->dir);
		} else {
			DIR *cd = opendir(c->dir);
			struct dirent *f;
			while (cd && (f = readdir(cd)))
				if (!strncmp(f->d_name, "beam-", 5) && strstr(f->d_name, ".bdump") &&
				    !strstr(f->d_name, ".partial"))
					snprintf(c->input, sizeof c->input, "%.920s/%.200s", c->dir, f->d_name);
			if (cd)
				closedir(cd);
		}
		if (c->input[0] && access(c->input, R_OK) == 0)
			n++;
	}
	if (dir)
		closedir(dir);
	return n;
}

static const char *truth(const ncase *c, const char *key)
{
	static char ring[8][512];
	static int slot;
	char path[1100], line[512];
	snprintf(path, sizeof path, "%s/truth", c->dir);
	FILE *f = fopen(path, "r");
	const char *found = NULL;
	size_t kl = strlen(key);
	while (f && fgets(line, sizeof line, f)) {
		if (!strncmp(line, key, kl) && line[kl] == '=') {
			char *v = ring[slot++ % 8];
			snprintf(v, sizeof ring[0], "%s", line + kl + 1);
			v[strcspn(v, "\r\n")] = 0;
			found = v;
		}
	}
	if (f)
		fclose(f);
	return found;
}

static int has_frame(const bd_native *n, const bd_native_thread *t, const char *fn)
{
	size_t l = strlen(fn);
	for (uint32_t i = 0; i < t->frame_count; i++) {
		const char *f = n->frames[t->frame_first + i].function;
		/* optimized builds: bd_bump.isra.0, bd_update.constprop.0 */
		if (f && !strncmp(f, fn, l) && (f[l] == 0 || f[l] == '.'))
			return 1;
	}
	return 0;
}

static const bd_native_frame *frame_of(const bd_native *n, const bd_native_thread *t, const char *fn)
{
	size_t l = strlen(fn);
	for (uint32_t i = 0; i < t->frame_count; i++) {
		const bd_native_frame *f = &n->frames[t->frame_first + i];
		if (f->function && !strncmp(f->function, fn, l) && (f->function[l] == 0 || f->function[l] == '.'))
			return f;
	}
	return NULL;
}

/* Built without debug information (gen.sh variants): no file:line to expect. */
static int no_debug_info(const ncase *c)
{
	return strstr(c->name, "release") || strstr(c->name, "omitfp") || strstr(c->name, "stripped");
}

/* The facts gen.sh's newer kinds add to the truth: how the fault is described, what
 * holds the fault address, the top frame's object, how the library was entered. */
static void check_fault(const ncase *c, const bd_native *n, const bd_native_thread *t)
{
	const char *code = truth(c, "signal_code");
	if (code && (!n->code_name || strcmp(n->code_name, code)))
		fail_msg("%s: signal code %s, expected %s", c->name, n->code_name ? n->code_name : "?", code);
	const char *fa = truth(c, "fault_address");
	if (fa && strtoull(fa, NULL, 16) != n->fault_addr)
		fail_msg("%s: fault address 0x%llx, expected %s", c->name, (unsigned long long)n->fault_addr, fa);
	const char *fo = truth(c, "fault_object");
	if (fo && (!n->fault_mapping || !strstr(n->fault_mapping, fo)))
		fail_msg("%s: fault address in %s, expected %s", c->name,
			 n->fault_mapping ? n->fault_mapping : "(unknown)", fo);
	const char *to = truth(c, "top_object");
	if (to) {
		const bd_native_frame *f0 = t->frame_count ? &n->frames[t->frame_first] : NULL;
		if (!f0 || f0->object < 0 || !strstr(n->objects[f0->object].path, to))
			fail_msg("%s: top frame not in %s", c->name, to);
	}
	const char *cb = truth(c, "callback");
	if ((cb || n->callback) && (!cb || !n->callback || strcmp(cb, n->callback)))
		fail_msg("%s: callback %s, expected %s", c->name, n->callback ? n->callback : "(none)",
			 cb ? cb : "(none)");
	const char *cx = truth(c, "cxx_exception");
	if (cx && (!n->cxx_exception || strcmp(n->cxx_exception, cx)))
		fail_msg("%s: C++ exception %s, expected %s", c->name,
			 n->cxx_exception ? n->cxx_exception : "(none)", cx);
	/* Every fault has words of its own beyond the signal's name. */
	const char *what = bd_native_fault(n);
	if (!strcmp(what, "fatal signal") || !strcmp(what, "invalid memory access"))
		fail_msg("%s: fault described only as '%s'", c->name, what);
}

/* What a user checks in the report of one crash. */
static void check_case(const ncase *c, int guard)
{
	bd_model *m = NULL;
	bd_error err = {0};
	if (bd_model_open(&m, c->input, &err))
		fail_msg("%s: %s", c->input, err.msg);
	const bd_native *n = bd_model_native(m);
	assert_non_null(n);
	assert_string_equal(n->source, guard ? "guard" : "core");
	const char *sig = truth(c, "signal");
	assert_non_null(sig);
	if (!n->signal_name || strcmp(n->signal_name, sig))
		fail_msg("%s: signal %s, expected %s", c->name, n->signal_name, sig);
	assert_true(n->crashed >= 0);
	const bd_native_thread *t = &n->threads[n->crashed];
	const char *kind = truth(c, "thread_kind");
	if (kind && strcmp(bd_thread_kind_name(t->kind), kind))
		fail_msg("%s: thread kind %s, expected %s", c->name, bd_thread_kind_name(t->kind), kind);
	const char *fn = truth(c, "c_function");
	if (fn && strstr(c->name, "stripped"))
		fn = NULL; /* no symbols: the NIF is named from its ErlNifFunc table only */
	if (fn && !has_frame(n, t, fn))
		fail_msg("%s: no frame of %s on the crashing thread", c->name, fn);
	const char *nif = truth(c, "nif");
	if (nif && (!t->nif_mfa || strcmp(t->nif_mfa, nif)))
		fail_msg("%s: NIF %s, expected %s", c->name, t->nif_mfa ? t->nif_mfa : "(none)", nif);
	const char *lib = truth(c, "library");
	if (lib && (!t->nif_library || !strstr(t->nif_library, lib)))
		fail_msg("%s: library %s, expected %s", c->name, t->nif_library ? t->nif_library : "(none)", lib);
	/* file:line where the library was built with -g */
	const char *line = truth(c, "source_line");
	if (line && !no_debug_info(c)) {
		const bd_native_frame *f = frame_of(n, t, fn);
		char got[256] = "";
		if (f && f->file)
			snprintf(got, sizeof got, "%s:%u", strrchr(f->file, '/') ? strrchr(f->file, '/') + 1 : f->file,
				 f->line);
		if (strcmp(got, line))
			fail_msg("%s: %s at %s, expected %s", c->name, fn, got, line);
	}
	if (no_debug_info(c)) {
		/* no debug information in the NIF library: no file:line made up */
		for (uint32_t i = 0; i < t->frame_count; i++) {
			const bd_native_frame *f = &n->frames[t->frame_first + i];
			if (f->file && f->object >= 0 && strstr(n->objects[f->object].path, "bd_crash_nif.so"))
				fail_msg("%s: file:line %s:%u without debug information", c->name, f->file, f->line);
		}
	}
	if (strstr(c->name, "split")) {
		/* stripped, with its debug information in lib/split/.debug/ (.gnu_debuglink) */
		const bd_native_frame *f = frame_of(n, t, fn);
		assert_non_null(f);
		assert_true(f->object >= 0);
		assert_non_null(n->objects[f->object].debug_file);
		assert_non_null(strstr(n->objects[f->object].debug_file, "/.debug/"));
	}
	check_fault(c, n, t);
	/* An Elixir application's NIF: the text names it the Elixir way. */
	const char *ex = truth(c, "nif_elixir");
	if (ex) {
		char *txt = NULL;
		int rc = tu_run(&txt, "core '%s'", c->input);
		if (rc != 0 || !strstr(txt, ex) || (!guard && !strstr(txt, "BdCrash.Worker.process_batch/1")))
			fail_msg("%s: text without %s (exit %d):\n%s", c->name, ex, rc, txt ? txt : "");
		free(txt);
	}
	const char *am = truth(c, "abort_message");
	if (am && (!n->abort_message || !strstr(n->abort_message, am)))
		fail_msg("%s: abort message '%s', expected one with '%s'", c->name,
			 n->abort_message ? n->abort_message : "(none)", am);
	const char *so = truth(c, "stack_overflow");
	if (so && !strcmp(so, "true"))
		assert_true(n->stack_overflow);
	else
		assert_false(n->stack_overflow);
	const char *invm = truth(c, "in_vm");
	assert_int_equal(n->in_vm, invm && !strcmp(invm, "true"));
	/* the NIF had returned, or it called the VM's API (vm_api) with a bad argument */
	const char *api = truth(c, "vm_api");
	if (invm && !strcmp(invm, "true") && !api)
		assert_true(t->nif_frame < 0);
	if (api && (!t->frame_count || !n->frames[t->frame_first].function ||
		    strcmp(n->frames[t->frame_first].function, api) || t->nif_frame <= 0))
		fail_msg("%s: the fault frame is not %s under the NIF", c->name, api);
	/* The Erlang side, where it was found: never a wrong one. */
	const char *ep = truth(c, "erlang_process");
	if (t->erlang_process && ep)
		assert_string_equal(t->erlang_process, ep);
	const char *ef = truth(c, "erlang_function");
	if (t->erlang_function && ef)
		assert_string_equal(t->erlang_function, ef);
	if (!guard && ef && t->kind == BD_TK_SCHEDULER)
		assert_non_null(t->erlang_function); /* a core has the whole JIT table */
	/* (a resource destructor runs for no process: none is named) */
	if (!guard && t->kind == BD_TK_SCHEDULER && !(n->callback && !strcmp(n->callback, "resource")) &&
	    !t->erlang_process)
		fail_msg("%s: no Erlang process on the scheduler", c->name);
	/* The pid the kernel or the guard recorded is the node's. */
	const char *os = truth(c, "os_pid");
	assert_non_null(os);
	assert_int_equal(n->pid, (uint32_t)atoi(os));
	/* analyze: the native crash is the verdict. */
	bd_findings *fs = NULL;
	bd_analyze_opts ao = BD_ANALYZE_OPTS_INIT;
	assert_int_equal(bd_analyze(m, &ao, &fs, &err), 0);
	assert_true(fs->n >= 1);
	assert_int_equal(fs->items[0].kind, BD_F_NATIVE_CRASH);
	assert_int_equal(fs->items[0].severity, BD_SEV_CRITICAL);
	if (nif)
		assert_non_null(strstr(fs->items[0].title, nif));
	bd_findings_free(fs);
	bd_model_free(m);
}

static void check_cli(const ncase *c)
{
	char *out = NULL;
	char json[] = "/tmp/bdnat-XXXXXX";
	int fd = mkstemp(json);
	assert_true(fd >= 0);
	close(fd);
	int rc = tu_run(&out, "core --json '%s'", c->input);
	if (rc != 0)
		fail_msg("%s: beamdump core exit %d", c->name, rc);
	FILE *f = fopen(json, "w");
	fputs(out, f);
	fclose(f);
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "python3 %s/tests/validate_json.py %s/docs/schema/core.schema.json %s",
		 getenv("BD_SOURCE"), getenv("BD_SOURCE"), json);
	assert_int_equal(system(cmd), 0);
	/* convert: a small snapshot that says the same, readable without the objects */
	char bd[64];
	snprintf(bd, sizeof bd, "%s.bdump", json);
	char *conv = NULL;
	assert_int_equal(tu_run(&conv, "convert '%s' -o %s", c->input, bd), 0);
	char *again = NULL;
	assert_int_equal(tu_run(&again, "core --json %s", bd), 0);
	assert_string_equal(out, again);
	char *an1 = NULL, *an2 = NULL;
	assert_int_equal(tu_run(&an1, "analyze --json '%s'", c->input), 0);
	assert_int_equal(tu_run(&an2, "analyze --json %s", bd), 0);
	assert_string_equal(an1, an2);
	assert_non_null(strstr(an1, "\"kind\":\"native_crash\""));
	free(out);
	free(conv);
	free(again);
	free(an1);
	free(an2);
	unlink(json);
	unlink(bd);
}

/* gen.sh leaves nif/SKIPPED when the kernel sends cores elsewhere (core_pattern). */
static int cores_skipped(void)
{
	char p[1024];
	snprintf(p, sizeof p, "%s/nif/SKIPPED", getenv("BD_SAMPLES") ? getenv("BD_SAMPLES") : ".");
	return getenv("BD_NO_CORES") || access(p, R_OK) == 0;
}

static void run_cases(const char *sub, int guard)
{
	ncase cs[32];
	int n = list_cases(sub, guard, cs, 32);
	if (!n) {
		if (getenv("BD_REQUIRE_SAMPLES") && !(guard == 0 && cores_skipped()))
			fail_msg("no native crash samples in $BD_SAMPLES/%s (samples/nif/gen.sh)", sub);
		skip();
	}
	for (int i = 0; i < n; i++) {
		check_case(&cs[i], guard);
		/* The command line, JSON schema and snapshot round trip: the first case
		 * (each costs several opens of the core and its objects). */
		if (!i)
			check_cli(&cs[i]);
	}
	print_message("[ INFO     ] %d %s crashes checked\n", n, guard ? "guard" : "core");
}

static void test_cores(void **state)
{
	(void)state;
	if (cores_skipped())
		skip();
	run_cases("nif", 0);
}

/* A core the kernel cut at the core size limit (gen.sh --core-limit): a partial
 * answer that says why, with what is left (signal, fault address, the library), read
 * as core.PID by a relative path as a user finds it in the node's directory. */
static void test_rlimit_core(void **state)
{
	(void)state;
	if (cores_skipped())
		skip();
	char dir[1024], cwd[1024];
	snprintf(dir, sizeof dir, "%s/nif/null_deref-cut", getenv("BD_SAMPLES") ? getenv("BD_SAMPLES") : ".");
	ncase c;
	snprintf(c.dir, sizeof c.dir, "%s", dir);
	snprintf(c.name, sizeof c.name, "null_deref-cut");
	snprintf(c.input, sizeof c.input, "%s/core", dir);
	if (access(c.input, R_OK)) {
		if (getenv("BD_REQUIRE_SAMPLES"))
			fail_msg("no %s (samples/nif/gen.sh --core-limit)", c.input);
		skip();
	}
	const char *os = truth(&c, "os_pid");
	assert_non_null(os);
	char named[1100];
	snprintf(named, sizeof named, "%s/core.%s", dir, os);
	unlink(named);
	assert_int_equal(symlink("core", named), 0);
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(dir), 0);
	char *out = NULL, *js = NULL;
	int rc = tu_run(&out, "core core.%s 2>&1", os);
	int rj = tu_run(&js, "core --json ./core.%s 2>/dev/null", os);
	assert_int_equal(chdir(cwd), 0);
	unlink(named);
	if (rc != 4 || rj != 4)
		fail_msg("cut core: exit %d/%d, expected 4 (partial)\n%s", rc, rj, out);
	assert_non_null(strstr(out, "core size limit"));
	assert_non_null(strstr(out, "SIGSEGV"));
	assert_non_null(strstr(out, "bd_crash_nif.so"));
	assert_non_null(strstr(js, "\"fault_address\":\"0x0\""));
	assert_non_null(strstr(js, "\"partial\":true"));
	free(out);
	free(js);
}

/* Names as users know them: C++ without its argument list, Rust without its hash. */
static void test_demangle(void **state)
{
	(void)state;
	bd_arena a = {0};
	assert_string_equal(nat_demangle(&a, "_ZN7bdcrash6Ledger4postEi"), "bdcrash::Ledger::post");
	assert_string_equal(nat_demangle(&a, "_ZN8my_crate5parse17h0123456789abcdefE"), "my_crate::parse");
	assert_string_equal(nat_demangle(&a, "bd_bump.isra.0"), "bd_bump.isra.0");
	assert_string_equal(nat_demangle_type(&a, "St16invalid_argument"), "std::invalid_argument");
	bd_arena_free(&a);
}

static void test_guard_snapshots(void **state)
{
	(void)state;
	run_cases("nif-guard", 1);
}

/* ---- the guard with malloc made fatal ---- */
static void guard_run(const char *what, int want_sig, const char *fn)
{
	const char *lib = getenv("BD_GUARD_LIB"), *victim = getenv("BD_GUARD_VICTIM");
	if (!lib || !victim)
		skip();
	char dir[] = "/tmp/bdguard-XXXXXX";
	assert_non_null(mkdtemp(dir));
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit no = {0, 0};
		setrlimit(RLIMIT_CORE, &no);
		setenv("LD_PRELOAD", lib, 1);
		setenv("BEAMDUMP_GUARD_ANY", "1", 1);
		setenv("BEAMDUMP_GUARD_DIR", dir, 1);
		unsetenv("ASAN_OPTIONS");
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 2);
		execl(victim, victim, what, (char *)NULL);
		_exit(127);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFEXITED(st))
		fail_msg("%s: the victim exited %d (97: the handler allocated)", what, WEXITSTATUS(st));
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), want_sig); /* the previous handler ran: the default */
	DIR *d = opendir(dir);
	struct dirent *e;
	char snap[2048] = "";
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, "beam-", 5) && !strstr(e->d_name, ".partial"))
			snprintf(snap, sizeof snap, "%s/%s", dir, e->d_name);
	closedir(d);
	if (!snap[0])
		fail_msg("%s: no snapshot in %s", what, dir);
	bd_model *m = NULL;
	bd_error err = {0};
	if (bd_model_open(&m, snap, &err))
		fail_msg("%s: %s", snap, err.msg);
	const bd_native *n = bd_model_native(m);
	assert_non_null(n);
	assert_int_equal(n->signal, want_sig);
	assert_true(n->crashed >= 0);
	const bd_native_thread *t = &n->threads[n->crashed];
	if (!has_frame(n, t, fn))
		fail_msg("%s: no frame of %s", what, fn);
	const bd_native_frame *f = frame_of(n, t, fn);
	assert_non_null(f->file); /* the victim is built with -g */
	assert_non_null(strstr(f->file, "guard_victim.c"));
	if (!strcmp(what, "overflow"))
		assert_true(n->stack_overflow);
	bd_model_free(m);
	char cmd[2100];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_guard_segv(void **state)
{
	(void)state;
	guard_run("segv", SIGSEGV, "victim_fault");
}

static void test_guard_abort(void **state)
{
	(void)state;
	guard_run("abort", SIGABRT, "main");
}

static void test_guard_fpe(void **state)
{
	(void)state;
	guard_run("fpe", SIGFPE, "main");
}

static void test_guard_overflow(void **state)
{
	(void)state;
	/* On a thread the guard gave an alternate stack (its pthread_create). */
	guard_run("overflow", SIGSEGV, "victim_recurse");
}

/* ---- hostile input ---- */
static const char *any_core(void)
{
	static ncase cs[32];
	int n = list_cases("nif", 0, cs, 32);
	if (!n && getenv("BD_REQUIRE_SAMPLES") && !cores_skipped())
		fail_msg("no core in $BD_SAMPLES/nif (samples/nif/gen.sh)");
	return n ? cs[0].input : NULL;
}

/* The core parser alone: objects are not looked for (they are not what is tested). */
static const bd_core_opts no_objects = {BD_CORE_OPTS_VERSION, NULL, "/nonexistent-sysroot", NULL,
					 "/nonexistent-debug"};

static char *read_all(const char *path, size_t *len)
{
	char *d = tu_read_file(path, len);
	assert_non_null(d);
	return d;
}

static int open_bytes(const char *data, size_t len, const bd_core_opts *o, bd_model **out,
		      bd_error *err)
{
	char p[] = "/tmp/bdcut-XXXXXX";
	int fd = mkstemp(p);
	assert_true(fd >= 0);
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);
		assert_true(w > 0);
		done += (size_t)w;
	}
	close(fd);
	int rc = bd_model_open_native(out, p, o, err);
	unlink(p);
	return rc;
}

/* A perf map (+JPperf map) names JIT code; one given by the user wins over the VM's
 * table. */
static void test_perf_map(void **state)
{
	(void)state;
	const char *core = any_core();
	if (!core)
		skip();
	bd_model *m = NULL;
	bd_error err = {0};
	assert_int_equal(bd_model_open(&m, core, &err), 0);
	const bd_native *n = bd_model_native(m);
	uint64_t jit_pc = 0;
	for (uint32_t i = 0; i < n->nframes && !jit_pc; i++)
		if (n->frames[i].kind == BD_FK_JIT)
			jit_pc = n->frames[i].pc;
	bd_model_free(m);
	if (!jit_pc)
		skip();
	char map[] = "/tmp/bdperf-XXXXXX";
	int fd = mkstemp(map);
	assert_true(fd >= 0);
	char text[512];
	int len = snprintf(text, sizeof text,
			   "not a line\n0x%llx 0 $zero:size/0\n0x%llx 20 $bd_test:perf_named/7\n",
			   (unsigned long long)jit_pc, (unsigned long long)(jit_pc - 0x10));
	assert_int_equal(write(fd, text, (size_t)len), len);
	close(fd);
	bd_core_opts o = BD_CORE_OPTS_INIT;
	o.perf_map = map;
	assert_int_equal(bd_model_open_native(&m, core, &o, &err), 0);
	n = bd_model_native(m);
	int named = 0;
	for (uint32_t i = 0; i < n->nframes; i++)
		if (n->frames[i].pc == jit_pc && n->frames[i].kind == BD_FK_JIT)
			named |= n->frames[i].erlang && !strcmp(n->frames[i].erlang, "bd_test:perf_named/7");
	assert_true(named);
	assert_string_equal(n->perf_map, map);
	bd_model_free(m);
	unlink(map);
}

static void test_not_a_core(void **state)
{
	(void)state;
	bd_model *m = NULL;
	bd_error err = {0};
	static const char text[] = "hello, I am not a core\n";
	assert_int_not_equal(open_bytes(text, sizeof text - 1, NULL, &m, &err), 0);
	assert_null(m);
	/* An ELF that is not a core (beamdump itself) */
	char *out = NULL;
	int rc = tu_run(&out, "core %s", getenv("BD_BIN"));
	assert_int_equal(rc, 3);
	free(out);
	/* A snapshot of a crash dump is no native crash */
	rc = tu_run(&out, "core /nonexistent/core");
	assert_int_equal(rc, 3);
	free(out);
}

static void test_cut_cores(void **state)
{
	(void)state;
	const char *core = any_core();
	if (!core)
		skip();
	size_t len;
	char *d = read_all(core, &len);
	size_t cuts[] = {0, 1, 17, 63, 64, 100, 1000, 4096, 8192, 65536, 200000, len / 4, len / 2, len - 1};
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		if (cuts[i] >= len)
			continue;
		bd_model *m = NULL;
		bd_error err = {0};
		int rc = open_bytes(d, cuts[i], &no_objects, &m, &err);
		if (rc == 0) {
			const bd_native *n = bd_model_native(m);
			assert_non_null(n);
			assert_true(n->partial); /* a cut core says so */
			assert_non_null(n->partial_reason);
			bd_model_free(m);
		} else {
			assert_true(err.msg[0]);
		}
	}
	free(d);
}

/* Random damage in the headers and notes: a clear error or a partial answer. */
static void test_damaged_cores(void **state)
{
	(void)state;
	const char *core = any_core();
	if (!core)
		skip();
	size_t len;
	char *d = read_all(core, &len);
	size_t span = len < (1u << 20) ? len : (1u << 20);
	char *copy = malloc(span);
	assert_non_null(copy);
	srand(12345);
	for (int it = 0; it < 40; it++) {
		memcpy(copy, d, span);
		int flips = 1 + rand() % 64;
		for (int k = 0; k < flips; k++) {
			size_t at = (size_t)rand() % (span < 300000 ? span : 300000);
			copy[at] = (char)rand();
		}
		bd_model *m = NULL;
		bd_error err = {0};
		if (open_bytes(copy, span, &no_objects, &m, &err) == 0) {
			assert_non_null(bd_model_native(m));
			bd_model_free(m);
		}
	}
	free(copy);
	free(d);
}

static void test_missing_objects(void **state)
{
	(void)state;
	const char *core = any_core();
	if (!core)
		skip();
	bd_core_opts o = BD_CORE_OPTS_INIT;
	o.sysroot = "/nonexistent-sysroot";
	bd_model *m = NULL;
	bd_error err = {0};
	assert_int_equal(bd_model_open_native(&m, core, &o, &err), 0);
	const bd_native *n = bd_model_native(m);
	assert_true(n->partial);
	assert_true(n->nnotes > 0);
	assert_non_null(strstr(n->partial_reason, "cannot read"));
	/* The signal and the threads are still there; no frame has a made-up name. */
	assert_true(n->nthreads > 1);
	assert_true(n->signal > 0);
	for (uint32_t i = 0; i < n->nframes; i++)
		if (n->frames[i].object >= 0 && !strstr(n->objects[n->frames[i].object].path, "vdso"))
			assert_null(n->frames[i].function);
	bd_model_free(m);
	char *out = NULL;
	assert_int_equal(tu_run(&out, "core --sysroot /nonexistent-sysroot '%s'", core), 4);
	free(out);
}

static void test_wrong_executable(void **state)
{
	(void)state;
	const char *core = any_core();
	if (!core)
		skip();
	bd_core_opts o = BD_CORE_OPTS_INIT;
	o.exe = getenv("BD_BIN"); /* a different build than beam.smp */
	bd_model *m = NULL;
	bd_error err = {0};
	assert_int_equal(bd_model_open_native(&m, core, &o, &err), 0);
	const bd_native *n = bd_model_native(m);
	assert_true(n->partial);
	int mismatch = 0;
	for (uint32_t i = 0; i < n->nobjects; i++)
		mismatch |= n->objects[i].build_id_status == BD_BID_MISMATCH;
	assert_true(mismatch);
	/* beam.smp's frames are not named after the wrong file's symbols */
	for (uint32_t i = 0; i < n->nframes; i++) {
		const bd_native_frame *f = &n->frames[i];
		if (f->kind == BD_FK_VM)
			assert_null(f->function);
	}
	bd_model_free(m);
}

/* What a reader of the native table sees, as one text. */
static char *native_text(const bd_model *m)
{
	char *t = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&t, &len);
	assert_non_null(f);
	const bd_native *n = bd_model_native(m);
#define S(x) ((x) ? (x) : "-")
	fprintf(f, "%d %s %s %s %s\n", n->partial, S(n->partial_reason), S(bd_native_fault(n)),
		S(n->callback), S(n->cxx_exception));
	for (uint32_t i = 0; i < n->nobjects; i++) {
		const bd_native_object *o = &n->objects[i];
		fprintf(f, "o %s %s %s %s %s %d %d %d\n", o->path, S(o->file), S(o->build_id),
			S(o->debug_file), S(o->nif_module), o->symbols, o->debug_info,
			o->build_id_status);
	}
	for (uint32_t i = 0; i < n->nthreads; i++) {
		const bd_native_thread *th = &n->threads[i];
		fprintf(f, "t %s %s %s %s %s\n", S(th->name), S(th->nif), S(th->nif_mfa),
			S(th->stop_reason), S(th->erlang_function));
	}
	for (uint32_t i = 0; i < n->nframes; i++) {
		const bd_native_frame *x = &n->frames[i];
		fprintf(f, "f %llx %s %s:%u %s\n", (unsigned long long)x->pc, S(x->function), S(x->file),
			x->line, S(x->erlang));
	}
	for (uint32_t i = 0; i < n->nnotes; i++)
		fprintf(f, "n %s\n", n->notes[i]);
#undef S
	fclose(f);
	return t;
}

/* Objects kept across cores (nat_obj_cache, as a fuzzer or a batch uses it) give
 * the same answer as objects opened for each core, with or without a debug root or
 * the right executable, and what a model got from them outlives the cache. */
static void test_object_cache(void **state)
{
	(void)state;
	const char *core = any_core();
	if (!core)
		skip();
	bd_core_opts wrong = BD_CORE_OPTS_INIT;
	wrong.exe = getenv("BD_BIN");
	const bd_core_opts *opts[] = {NULL, &wrong, NULL};
	bd_model *plain[3], *cached[3][2];
	bd_error err = {0};
	for (int i = 0; i < 3; i++)
		assert_int_equal(opts[i] ? bd_model_open_native(&plain[i], core, opts[i], &err)
					 : bd_model_open(&plain[i], core, &err), 0);
	assert_int_equal(nat_obj_cache(2), 0); /* fewer than the core's objects: evictions */
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 3; i++)
			assert_int_equal(opts[i] ? bd_model_open_native(&cached[i][k], core, opts[i], &err)
						 : bd_model_open(&cached[i][k], core, &err), 0);
	assert_int_equal(nat_obj_cache(16), 0);
	bd_model *again[2]; /* every object cached: the second read takes them all */
	for (int k = 0; k < 2; k++)
		assert_int_equal(bd_model_open(&again[k], core, &err), 0);
	assert_int_equal(nat_obj_cache(0), 0); /* closes them: the models keep their strings */
	for (int i = 0; i < 3; i++) {
		char *want = native_text(plain[i]);
		for (int k = 0; k < 2; k++) {
			char *got = native_text(cached[i][k]);
			assert_string_equal(got, want);
			free(got);
			bd_model_free(cached[i][k]);
		}
		free(want);
		for (int k = 0; i == 0 && k < 2; k++) {
			char *a = native_text(again[k]), *w = native_text(plain[0]);
			assert_string_equal(a, w);
			free(a), free(w);
			bd_model_free(again[k]);
		}
		bd_model_free(plain[i]);
	}
}

/* A core of a program that is not the BEAM: read, with no BEAM threads and no NIF. */
static void test_other_program(void **state)
{
	(void)state;
	char pat[256] = "";
	FILE *f = fopen("/proc/sys/kernel/core_pattern", "r");
	if (f) {
		if (!fgets(pat, sizeof pat, f))
			pat[0] = 0;
		fclose(f);
	}
	pat[strcspn(pat, "\n")] = 0;
	if (strcmp(pat, "core") && strcmp(pat, "core.%p"))
		skip();
	char dir[] = "/tmp/bdother-XXXXXX";
	assert_non_null(mkdtemp(dir));
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit un = {RLIM_INFINITY, RLIM_INFINITY};
		setrlimit(RLIMIT_CORE, &un);
		if (chdir(dir))
			_exit(1);
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
		_exit(2);
	}
	int st;
	waitpid(pid, &st, 0);
	char core[512];
	snprintf(core, sizeof core, "%s/core", dir);
	if (access(core, R_OK)) {
		snprintf(core, sizeof core, "%s/core.%d", dir, (int)pid);
		if (access(core, R_OK))
			skip();
	}
	bd_model *m = NULL;
	bd_error err = {0};
	assert_int_equal(bd_model_open(&m, core, &err), 0);
	const bd_native *n = bd_model_native(m);
	assert_non_null(n);
	assert_int_equal(n->signal, SIGSEGV);
	for (uint32_t i = 0; i < n->nthreads; i++) {
		assert_true(n->threads[i].kind != BD_TK_SCHEDULER);
		assert_int_equal(n->threads[i].nif_frame, -1);
	}
	bd_findings *fs = NULL;
	bd_analyze_opts ao = BD_ANALYZE_OPTS_INIT;
	assert_int_equal(bd_analyze(m, &ao, &fs, &err), 0);
	assert_int_equal(fs->items[0].kind, BD_F_NATIVE_CRASH);
	bd_findings_free(fs);
	bd_model_free(m);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* A NATIVE record that is damaged or forged is refused whole, never half-served. */
static void test_forged_record(void **state)
{
	(void)state;
	const char *core = any_core();
	if (!core)
		skip();
	char bd[] = "/tmp/bdforge-XXXXXX";
	int fd = mkstemp(bd);
	close(fd);
	char *out = NULL;
	assert_int_equal(tu_run(&out, "convert '%s' -o %s", core, bd), 0);
	free(out);
	size_t len;
	char *d = read_all(bd, &len);
	srand(777);
	for (int it = 0; it < 40; it++) {
		char *c = malloc(len);
		memcpy(c, d, len);
		c[(size_t)rand() % len] ^= (char)(1 + rand() % 255);
		bd_model *m = NULL;
		bd_error err = {0};
		if (open_bytes(c, len, &no_objects, &m, &err) == 0)
			bd_model_free(m);
		free(c);
	}
	free(d);
	unlink(bd);
}

/* The guard's raw record is hostile too: damaged copies give an error or an answer. */
static void test_forged_guard_record(void **state)
{
	(void)state;
	static ncase cs[32];
	int n = list_cases("nif-guard", 1, cs, 32);
	if (!n)
		skip();
	size_t len;
	char *d = read_all(cs[0].input, &len);
	srand(4242);
	for (int it = 0; it < 40; it++) {
		char *c = malloc(len);
		assert_non_null(c);
		memcpy(c, d, len);
		c[(size_t)rand() % len] ^= (char)(1 + rand() % 255);
		bd_model *m = NULL;
		bd_error err = {0};
		if (open_bytes(c, len, &no_objects, &m, &err) == 0)
			bd_model_free(m);
		free(c);
	}
	/* and cut anywhere */
	for (size_t cut = 0; cut < len; cut += len / 16 + 1) {
		bd_model *m = NULL;
		bd_error err = {0};
		if (open_bytes(d, cut, &no_objects, &m, &err) == 0)
			bd_model_free(m);
	}
	free(d);
}

/* The NATIVE payload of a .bdump (decompressed), for mutating it directly. */
static uint8_t *native_payload(const char *path, size_t *out_len, uint32_t *instance)
{
	size_t len;
	char *d = read_all(path, &len);
	const uint8_t *p = (const uint8_t *)d;
	uint8_t *res = NULL;
	for (size_t off = 0; off + BD_REC_FRAME <= len && !res;) {
		const uint8_t *h = p + off + 8;
		uint32_t comp = bd_get32(h + BD_RH_COMPLEN);
		uint64_t raw = bd_get64(h + BD_RH_RAWLEN);
		if (bd_get32(p + off) != BD_SKIP_MAGIC || off + BD_REC_FRAME + comp > len)
			break;
		if (bd_get16(h + BD_RH_TYPE) == BD_REC_NATIVE && raw < (64u << 20)) {
			res = malloc(raw + 1);
			assert_non_null(res);
			size_t z = ZSTD_decompress(res, raw, p + off + BD_REC_FRAME, comp);
			assert_false(ZSTD_isError(z));
			*out_len = z;
			*instance = bd_get32(h + BD_RH_INSTANCE);
		}
		off += BD_REC_FRAME + comp;
	}
	free(d);
	return res;
}

/* Mutated NATIVE payloads straight into the decoders: an error or a table, never a
 * crash (this is what a forged record with valid checksums would reach). */
static void mutate_payload(const uint8_t *good, size_t len, uint32_t instance)
{
	static const char dump[] = "=erl_crash_dump:0.5\nMon Jan  1 00:00:00 2024\n=end\n";
	srand(99);
	for (int it = 0; it < 150; it++) {
		uint8_t *c = malloc(len + 1);
		assert_non_null(c);
		memcpy(c, good, len);
		size_t n = len;
		int k = 1 + rand() % 8;
		for (int i = 0; i < k; i++)
			c[(size_t)rand() % len] = (uint8_t)rand();
		if (it % 3 == 0)
			n = (size_t)rand() % (len + 1);
		bd_model *m = NULL;
		bd_error err = {0};
		assert_int_equal(bd_model_open_mem(&m, dump, sizeof dump - 1, "t", &err), 0);
		m->native_opts = &no_objects; /* the decoder is tested, not the objects */
		int rc = instance == 1 ? bd_native_raw_record(m, c, n, &err) : bd_native_decode(m, c, n, &err);
		if (!rc) {
			const bd_native *nv = bd_model_native(m);
			assert_non_null(nv);
			for (uint32_t t = 0; t < nv->nthreads; t++)
				assert_true((uint64_t)nv->threads[t].frame_first + nv->threads[t].frame_count <= nv->nframes);
		}
		bd_model_free(m);
		free(c);
	}
}

static void test_mutated_payloads(void **state)
{
	(void)state;
	static ncase cs[32];
	int n = list_cases("nif-guard", 1, cs, 32);
	if (!n)
		skip();
	size_t len;
	uint32_t inst = 0;
	uint8_t *p = native_payload(cs[0].input, &len, &inst);
	assert_non_null(p);
	assert_int_equal(inst, 1);
	mutate_payload(p, len, 1);
	free(p);
	/* the resolved table of the same crash */
	char bd[] = "/tmp/bdmut-XXXXXX";
	int fd = mkstemp(bd);
	close(fd);
	char *out = NULL;
	assert_int_equal(tu_run(&out, "convert '%s' -o %s", cs[0].input, bd), 0);
	free(out);
	p = native_payload(bd, &len, &inst);
	assert_non_null(p);
	assert_int_equal(inst, 2);
	mutate_payload(p, len, 2);
	free(p);
	unlink(bd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cores),
		cmocka_unit_test(test_rlimit_core),
		cmocka_unit_test(test_demangle),
		cmocka_unit_test(test_guard_snapshots),
		cmocka_unit_test(test_guard_segv),
		cmocka_unit_test(test_guard_abort),
		cmocka_unit_test(test_guard_fpe),
		cmocka_unit_test(test_guard_overflow),
		cmocka_unit_test(test_perf_map),
		cmocka_unit_test(test_not_a_core),
		cmocka_unit_test(test_cut_cores),
		cmocka_unit_test(test_damaged_cores),
		cmocka_unit_test(test_missing_objects),
		cmocka_unit_test(test_wrong_executable),
		cmocka_unit_test(test_other_program),
		cmocka_unit_test(test_object_cache),
		cmocka_unit_test(test_forged_record),
		cmocka_unit_test(test_forged_guard_record),
		cmocka_unit_test(test_mutated_payloads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
