/* The model cache (formats/cache.c): a dump opened again comes from the cache and
 * answers exactly as a fresh read (every table, row and string, the rest of each
 * process, the CLI's JSON); a changed dump, a damaged or crafted cache file, another
 * directory's cache are not used; the directory stays within its bound; --no-cache
 * leaves nothing behind; the dump's own directory is never written. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "snapshot_int.h"
#include "snaputil.h"
#include "testutil.h"

static char cache_dir[PATH_MAX];
/* The cache leaves the disk a twentieth free (at most 4 GiB, formats/cache.c):
 * on a disk fuller than that nothing is stored, as designed, and every test here
 * would fail for the machine's sake. They are skipped then, saying why (setup,
 * bd_cache_has_room). */
static int no_room;
#define NEED_ROOM() do { if (no_room) skip(); } while (0)

static bd_model *open_with(const char *path, const char *dir, uint64_t max)
{
	bd_open_opts o = BD_OPEN_OPTS_INIT;
	o.cache = 1;
	o.cache_dir = dir;
	o.cache_max = max;
	bd_model *m = NULL;
	bd_error err = {0};
	if (bd_model_open_ex(&m, path, &o, &err))
		fail_msg("open %s: %s", path, err.msg);
	return m;
}

static bd_model *open_plain(const char *path)
{
	bd_model *m = NULL;
	bd_error err = {0};
	if (bd_model_open(&m, path, &err))
		fail_msg("open %s: %s", path, err.msg);
	return m;
}

/* A private copy of a dump (its own inode, path and mtime). */
static const char *copy_of(const char *src, const char *dir)
{
	static char paths[4][PATH_MAX];
	static int k;
	char *p = paths[k++ % 4];
	size_t len;
	char *data = tu_read_file(src, &len);
	assert_non_null(data);
	snprintf(p, PATH_MAX, "%s/dump%d.dump", dir, k);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	free(data);
	return p;
}

static void write_bytes(const char *file, uint64_t off, const void *p, size_t n);
static void same_three_ways_at(const char *dump, int displaced);

static const char *tmp_dir(const char *what)
{
	static char dirs[4][PATH_MAX];
	static int k;
	char *d = dirs[k++ % 4];
	snprintf(d, PATH_MAX, "%s/bdcache-%s-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 what);
	assert_non_null(mkdtemp(d));
	return d;
}

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char p[PATH_MAX];
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static size_t files_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* Fresh read, first cached open (writes), second (reads): all the same model. The
 * cache is also read where it cannot be mapped at its own address. */
static void same_three_ways(const char *dump)
{
	same_three_ways_at(dump, 0);
	same_three_ways_at(dump, 1);
}

static void same_three_ways_at(const char *dump, int displaced)
{
	char real[PATH_MAX], file[PATH_MAX];
	if (realpath(dump, real)) {
		bd_cache_file(file, sizeof file, cache_dir, real);
		unlink(file);
	}
	bd_model *fresh = open_plain(dump);
	bd_model *first = open_with(dump, cache_dir, 0);
	assert_false(bd_model_cached(first));
	bd_model_free(first); /* waits for the cache to be written */
	void *taken = MAP_FAILED;
	if (displaced)
		taken = mmap((void *)(uintptr_t)bd_cache_map_base(real), 1 << 20, PROT_READ,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	bd_model *cached = open_with(dump, cache_dir, 0);
	if (taken != MAP_FAILED)
		munmap(taken, 1 << 20);
	if (!bd_model_cached(cached))
		fail_msg("%s: not read from the cache (%s)", dump, displaced ? "displaced" : "at its address");
	char why[300];
	if (su_models_equal(fresh, cached, why, sizeof why))
		fail_msg("%s: cached model differs: %s", dump, why);
	/* Lookups and lazy data through the cached model. */
	size_t n;
	const bd_proc *p = bd_model_procs(cached, &n);
	for (size_t i = 0; i < n; i++)
		assert_ptr_equal(bd_proc_by_pid(cached, p[i].pid), bd_proc_by_pid(cached, p[i].pid));
	if (n) {
		const bd_proc *q = bd_proc_by_pid(fresh, p[n - 1].pid);
		assert_non_null(q);
		const char *ta, *tb;
		size_t la, lb;
		if (q->sec_heap.len) {
			assert_int_equal(bd_model_span_text(fresh, q->sec_heap, &ta, &la), 0);
			assert_int_equal(bd_model_span_text(cached, p[n - 1].sec_heap, &tb, &lb), 0);
			assert_int_equal(la, lb);
			assert_memory_equal(ta, tb, la);
		}
	}
	bd_model_free(fresh);
	bd_model_free(cached);
}

static void test_same_model(void **state)
{
	NEED_ROOM();
	(void)state;
	static const char *fixtures[] = {
		"samples/dumps/mailbox.dump.zst", "samples/dumps/deadlock.dump.zst",
		"samples/dumps/binleak.dump.zst", "samples/dumps/truncated.dump.zst",
		"samples/dumps/supervisor.dump.zst", "samples/dumps/port_limit.dump.zst",
		"tests/fixtures/terms_otp27.dump.zst"};
	char path[PATH_MAX];
	for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++) {
		snprintf(path, sizeof path, "%s/%s", getenv("BD_SOURCE"), fixtures[i]);
		if (access(path, R_OK) == 0)
			same_three_ways(path); /* compressed: the text is spooled on first lazy use */
	}
	/* Plain text (mapped, not spooled), and every generated sample. */
	const char *dir = tmp_dir("plain");
	same_three_ways(copy_of(tu_fixture("tests/fixtures/terms_otp27.dump.zst"), dir));
	rm_dir(dir);
	const char *names[] = {"mailbox", "deadlock", "heap_oom", "atoms", "ets_growth", "healthy"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		const char *s = tu_sample(names[i]);
		if (s)
			same_three_ways(s);
	}
}

/* The CLI answers the same from the cache as with --no-cache. */
static void test_cli_same(void **state)
{
	NEED_ROOM();
	(void)state;
	const char *dir = tmp_dir("cli");
	const char *dump = copy_of(tu_fixture("tests/fixtures/terms_otp27.dump.zst"), dir);
	static const char *cmds[] = {"info --json", "top --json -n 1000", "analyze --json",
				     "ets --json", "binaries --json", "schedulers --json",
				     "memory --json", "atoms --json", "ports --json"};
	setenv("XDG_CACHE_HOME", cache_dir, 1);
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
		char *a, *b, *c;
		int ra = tu_run(&a, "%s --no-cache '%s' 2>/dev/null", cmds[i], dump);
		int rb = tu_run(&b, "%s '%s' 2>/dev/null", cmds[i], dump); /* writes the cache */
		int rc = tu_run(&c, "%s '%s' 2>/dev/null", cmds[i], dump); /* reads it */
		assert_int_equal(ra, rb);
		assert_int_equal(ra, rc);
		assert_string_equal(a, b);
		assert_string_equal(a, c);
		free(a);
		free(b);
		free(c);
	}
	/* proc of every process, and state of the first ones. */
	bd_model *m = open_plain(dump);
	size_t n;
	const bd_proc *p = bd_model_procs(m, &n);
	for (size_t i = 0; i < n; i++) {
		char pid[48], *a, *c;
		bd_pid_fmt(p[i].pid, pid, sizeof pid);
		int ra = tu_run(&a, "proc --json '%s' --no-cache '%s' 2>/dev/null", pid, dump);
		int rc = tu_run(&c, "proc --json '%s' '%s' 2>/dev/null", pid, dump);
		assert_int_equal(ra, rc);
		assert_string_equal(a, c);
		free(a);
		free(c);
		if (i < 8) {
			ra = tu_run(&a, "state --json '%s' --no-cache '%s' 2>/dev/null", pid, dump);
			rc = tu_run(&c, "state --json '%s' '%s' 2>/dev/null", pid, dump);
			assert_int_equal(ra, rc);
			assert_string_equal(a, c);
			free(a);
			free(c);
		}
	}
	bd_model_free(m);
	unsetenv("XDG_CACHE_HOME");
	rm_dir(dir);
}

/* A long mailbox's summary is kept beside the cache (.bdm): analyze and proc answer the
 * same from it, and a damaged memo is not used. */
static void test_memo(void **state)
{
	NEED_ROOM();
	(void)state;
	char src[PATH_MAX];
	snprintf(src, sizeof src, "%s/samples/dumps/mailbox.dump.zst", getenv("BD_SOURCE"));
	const char *dir = tmp_dir("memo"), *cdir = tmp_dir("memocache");
	const char *dump = copy_of(src, dir);
	bd_model *m = open_plain(dump);
	size_t n;
	const bd_proc *p = bd_model_procs(m, &n), *big = NULL;
	for (size_t i = 0; i < n; i++)
		if (p[i].msgq_len != BD_UNKNOWN && (!big || p[i].msgq_len > big->msgq_len))
			big = &p[i];
	assert_non_null(big);
	assert_true(big->msgq_len >= 10000);
	char pid[48];
	bd_pid_fmt(big->pid, pid, sizeof pid);
	bd_model_free(m);
	setenv("XDG_CACHE_HOME", cdir, 1);
	char memo[PATH_MAX], sub[PATH_MAX];
	snprintf(sub, sizeof sub, "%s/beamdump", cdir);
	for (int round = 0; round < 2; round++) {
		char *a, *b, *c, *d;
		assert_int_equal(tu_run(&a, "analyze --json --no-cache '%s' 2>/dev/null", dump), 0);
		tu_run(&b, "analyze --json '%s' 2>/dev/null", dump); /* cache, memo written */
		tu_run(&c, "analyze --json '%s' 2>/dev/null", dump); /* both read */
		assert_string_equal(a, b);
		assert_string_equal(a, c);
		free(b);
		free(c);
		tu_run(&d, "proc --json '%s' --no-cache '%s' 2>/dev/null", pid, dump);
		tu_run(&b, "proc --json '%s' '%s' 2>/dev/null", pid, dump);
		assert_string_equal(d, b);
		free(a);
		free(b);
		free(d);
		bd_cache_file(memo, sizeof memo, sub, dump);
		memo[strlen(memo) - 1] = 'm';
		struct stat st;
		assert_int_equal(stat(memo, &st), 0);
		/* Damage the memo: the next run walks the queue again, with the same answer. */
		uint8_t x = 0x55;
		write_bytes(memo, (uint64_t)st.st_size / 2, &x, 1);
	}
	unsetenv("XDG_CACHE_HOME");
	rm_dir(sub);
	rm_dir(cdir);
	rm_dir(dir);
}

/* A dump that changed (mtime, size) is read again, and its cache replaced. */
static void test_stale(void **state)
{
	NEED_ROOM();
	(void)state;
	const char *dir = tmp_dir("stale");
	const char *dump = copy_of(tu_fixture("tests/fixtures/terms_otp27.dump.zst"), dir);
	bd_model_free(open_with(dump, cache_dir, 0));
	bd_model *m = open_with(dump, cache_dir, 0);
	assert_true(bd_model_cached(m));
	bd_model_free(m);
	struct timespec ts[2] = {{0, UTIME_OMIT}, {1000000000, 0}};
	assert_int_equal(utimensat(AT_FDCWD, dump, ts, 0), 0);
	m = open_with(dump, cache_dir, 0);
	assert_false(bd_model_cached(m));
	bd_model_free(m);
	m = open_with(dump, cache_dir, 0);
	assert_true(bd_model_cached(m));
	bd_model_free(m);
	/* Another spool limit: another reading of the same file. */
	setenv("BEAMDUMP_MAX_INPUT", "1M", 1);
	m = open_with(dump, cache_dir, 0);
	assert_false(bd_model_cached(m));
	bd_model_free(m);
	unsetenv("BEAMDUMP_MAX_INPUT");
	m = open_with(dump, cache_dir, 0);
	assert_false(bd_model_cached(m)); /* the limited reading replaced it */
	bd_model_free(m);
	/* Same mtime, one byte more: not the same dump. */
	FILE *f = fopen(dump, "ab");
	fputc('\n', f);
	fclose(f);
	utimensat(AT_FDCWD, dump, ts, 0);
	m = open_with(dump, cache_dir, 0);
	assert_false(bd_model_cached(m));
	bd_model_free(m);
	rm_dir(dir);
}

static void write_bytes(const char *file, uint64_t off, const void *p, size_t n)
{
	int fd = open(file, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, p, n, (off_t)off), (ssize_t)n);
	close(fd);
}

/* Damage anywhere is caught by the checksum; crafted rows with a good checksum by the
 * checks on every reference; either way the dump is read again, never the cache. */
static void test_damaged(void **state)
{
	NEED_ROOM();
	(void)state;
	const char *dir = tmp_dir("damage");
	const char *dump = copy_of(tu_fixture("tests/fixtures/terms_otp27.dump.zst"), dir);
	bd_model *fresh = open_plain(dump);
	char file[PATH_MAX], why[300];
	bd_cache_file(file, sizeof file, cache_dir, dump);
	struct stat st;
	uint64_t off, count;
	uint32_t elem;
	/* A flipped byte at many places; a cut file; an empty one. */
	for (int k = 0; k < 40; k++) {
		bd_model_free(open_with(dump, cache_dir, 0));
		assert_int_equal(stat(file, &st), 0);
		uint64_t at = (uint64_t)st.st_size * (uint64_t)k / 40 + (uint64_t)k;
		uint8_t b = 0;
		int fd = open(file, O_RDONLY);
		assert_int_equal(pread(fd, &b, 1, (off_t)at), 1);
		close(fd);
		b ^= 0x40;
		write_bytes(file, at, &b, 1);
		bd_model *m = open_with(dump, cache_dir, 0);
		assert_false(bd_model_cached(m));
		if (su_models_equal(fresh, m, why, sizeof why))
			fail_msg("after damage at %llu: %s", (unsigned long long)at, why);
		bd_model_free(m);
	}
	assert_int_equal(truncate(file, 100), 0);
	bd_model *m = open_with(dump, cache_dir, 0);
	assert_false(bd_model_cached(m));
	bd_model_free(m);
	/* Crafted: checksums right, a row pointing out of its tables. */
	struct craft { unsigned sec; size_t field; uint64_t value; } crafts[] = {
		{BD_CS_PROCS, offsetof(bd_proc, link_first), 0x7fffffff},
		{BD_CS_PROCS, offsetof(bd_proc, state), 99},
		{BD_CS_PROCS, offsetof(bd_proc, sec_heap) + 8, (uint64_t)1 << 40},
		{BD_CS_PROCS, offsetof(bd_proc, name), (uint64_t)1 << 40},
		{BD_CS_LINKS, offsetof(bd_link, name), (uint64_t)1 << 40},
		{BD_CS_NODE, offsetof(bd_node_info, slogan), (uint64_t)1 << 40},
		{BD_CS_NODE, offsetof(bd_node_info, input_size), 5},
		{BD_CS_SCHEDS, offsetof(bd_sched, trace_count), 1u << 30},
		{BD_CS_PIDX, 0, 0xffffffff},
		{BD_CS_BINARIES, offsetof(bd_binary, data), (uint64_t)1 << 50},
	};
	for (size_t i = 0; i < sizeof crafts / sizeof *crafts; i++) {
		bd_model_free(open_with(dump, cache_dir, 0));
		if (bd_cache_section(file, crafts[i].sec, &off, &count, &elem) || !count)
			continue;
		size_t w = crafts[i].sec == BD_CS_PIDX ? 4 : crafts[i].sec == BD_CS_PROCS &&
			   crafts[i].field == offsetof(bd_proc, state) ? 4 : 8;
		uint64_t v = crafts[i].value;
		for (uint64_t r = 0; r < count && r < 64; r++)
			write_bytes(file, off + r * elem + crafts[i].field, &v, w);
		assert_int_equal(bd_cache_reseal(file), 0);
		m = open_with(dump, cache_dir, 0);
		if (bd_model_cached(m))
			fail_msg("crafted cache %zu was used", i);
		bd_model_free(m);
	}
	bd_model_free(fresh);
	rm_dir(dir);
}

/* The directory holds at most max bytes; a cache bigger than that is not written;
 * another directory for the same dump has its own cache. */
static void test_bounded(void **state)
{
	NEED_ROOM();
	(void)state;
	const char *dir = tmp_dir("bound"), *cdir = tmp_dir("bounddir");
	const char *a = copy_of(tu_fixture("tests/fixtures/terms_otp27.dump.zst"), dir);
	const char *b = copy_of(tu_fixture("tests/fixtures/terms_otp27.dump.zst"), dir);
	bd_model_free(open_with(a, cdir, 0));
	char fa[PATH_MAX], fb[PATH_MAX];
	bd_cache_file(fa, sizeof fa, cdir, a);
	bd_cache_file(fb, sizeof fb, cdir, b);
	struct stat st;
	assert_int_equal(stat(fa, &st), 0);
	uint64_t one = (uint64_t)st.st_size;
	/* Room for one: b's cache pushes a's out. */
	bd_model_free(open_with(b, cdir, one + one / 2));
	assert_int_equal(stat(fb, &st), 0);
	assert_int_not_equal(stat(fa, &st), 0);
	assert_int_equal(files_in(cdir), 1);
	/* Room for none: nothing written, nothing broken. */
	rm_dir(cdir);
	cdir = tmp_dir("bounddir");
	bd_model *m = open_with(a, cdir, 1000);
	assert_false(bd_model_cached(m));
	bd_model_free(m);
	assert_int_equal(files_in(cdir), 0);
	rm_dir(cdir);
	rm_dir(dir);
}

/* The dump's directory is read-only (nothing is written there); a cache directory
 * that cannot be made costs only the speed; --no-cache writes nothing. */
static void test_readonly_and_off(void **state)
{
	NEED_ROOM();
	(void)state;
	const char *dir = tmp_dir("ro"), *cdir = tmp_dir("rocache");
	const char *dump = copy_of(tu_fixture("tests/fixtures/terms_otp27.dump.zst"), dir);
	assert_int_equal(chmod(dir, 0555), 0);
	bd_model_free(open_with(dump, cdir, 0));
	bd_model *m = open_with(dump, cdir, 0);
	assert_true(bd_model_cached(m));
	bd_model_free(m);
	assert_int_equal(files_in(dir), 1);
	m = open_with(dump, "/proc/no/such/dir", 0);
	assert_false(bd_model_cached(m));
	bd_model_free(m);
	/* A snapshot is never cached (its node table says "erl_crash.dump" too). */
	char snap[PATH_MAX], *out0;
	snprintf(snap, sizeof snap, "%s/x.bdump", cdir);
	assert_int_equal(tu_run(&out0, "convert --no-cache '%s' -o '%s' 2>/dev/null", dump, snap), 0);
	free(out0);
	size_t before = files_in(cdir);
	for (int k = 0; k < 2; k++) {
		m = open_with(snap, cdir, 0);
		assert_false(bd_model_cached(m));
		size_t np;
		bd_model_procs(m, &np);
		bd_model_free(m);
	}
	assert_int_equal(files_in(cdir), before);
	unlink(snap);
	chmod(dir, 0755);
	rm_dir(cdir);
	cdir = tmp_dir("off");
	setenv("XDG_CACHE_HOME", cdir, 1);
	char *out;
	assert_int_equal(tu_run(&out, "info --no-cache '%s' >/dev/null 2>&1", dump), 0);
	free(out);
	setenv("BEAMDUMP_NO_CACHE", "1", 1);
	assert_int_equal(tu_run(&out, "info '%s' >/dev/null 2>&1", dump), 0);
	free(out);
	unsetenv("BEAMDUMP_NO_CACHE");
	assert_int_equal(files_in(cdir), 0);
	assert_int_equal(tu_run(&out, "info '%s' >/dev/null 2>&1", dump), 0);
	free(out);
	unsetenv("XDG_CACHE_HOME");
	char sub[PATH_MAX];
	snprintf(sub, sizeof sub, "%s/beamdump", cdir);
	assert_int_equal(files_in(sub), 1);
	rm_dir(sub);
	rm_dir(cdir);
	rm_dir(dir);
}

/* Every string field of every table is a string in the cache too (the snapshot's
 * table schemas list them all). */
static void test_string_fields(void **state)
{
	NEED_ROOM();
	(void)state;
	static const struct { unsigned snap, cache; size_t limit; } map[] = {
		{ST_NODE, BD_CS_NODE, sizeof(bd_node_info)},
		{ST_TABLE_STATS, BD_CS_TABLE_STATS, sizeof(bd_table_stat)},
		{ST_SCHEDS, BD_CS_SCHEDS, sizeof(bd_sched)},
		{ST_PROCS, BD_CS_PROCS, sizeof(bd_proc)},
		{ST_LINKS, BD_CS_LINKS, sizeof(bd_link)},
		{ST_PORTS, BD_CS_PORTS, sizeof(bd_port)},
		{ST_ETS, BD_CS_ETS, sizeof(bd_ets)},
		{ST_TIMERS, BD_CS_TIMERS, sizeof(bd_timer)},
		{ST_DISTS, BD_CS_DISTS, sizeof(bd_dist)},
		{ST_MODULES, BD_CS_MODULES, sizeof(bd_module)},
		{ST_FUNS, BD_CS_FUNS, sizeof(bd_fun)},
		{ST_BINARIES, BD_CS_BINARIES, sizeof(bd_binary)},
		{ST_ALLOC_STATS, BD_CS_ALLOC_STATS, sizeof(bd_alloc_stat)},
		{ST_AREAS, BD_CS_AREAS, sizeof(bd_area)},
	};
	for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
		const snap_table *t = snap_table_get(map[i].snap);
		size_t n;
		const uint16_t *f = bd_cache_string_fields(map[i].cache, &n);
		for (size_t c = 0; c < t->ncols; c++) {
			if (t->cols[c].type != SC_STR || t->cols[c].off >= map[i].limit)
				continue;
			int found = 0;
			for (size_t k = 0; k < n; k++)
				found |= f[k] == t->cols[c].off;
			if (!found)
				fail_msg("%s column %u (offset %u) is a string the cache does not know",
					 t->name, t->cols[c].id, t->cols[c].off);
		}
	}
}

static int setup(void **state)
{
	(void)state;
	snprintf(cache_dir, sizeof cache_dir, "%s/bdcache-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(cache_dir))
		return -1;
	if (!bd_cache_has_room(cache_dir, (uint64_t)512 << 20)) {
		no_room = 1;
		print_message("test_cache: %s has less than the cache's reserve and 512 MB "
			      "free: cache tests skipped\n", cache_dir);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rm_dir(cache_dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_string_fields), cmocka_unit_test(test_same_model),
		cmocka_unit_test(test_cli_same),      cmocka_unit_test(test_memo),
		cmocka_unit_test(test_stale),
		cmocka_unit_test(test_damaged),       cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_readonly_and_off),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
