#define _GNU_SOURCE /* memmem */
/* Test helpers (see testutil.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

const char *tu_write_temp(const char *text, size_t len)
{
	static char paths[16][64];
	static int slot;
	char *p = paths[slot++ % 16];
	snprintf(p, 64, "/tmp/bdtest-XXXXXX");
	int fd = mkstemp(p);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return p;
}

bd_model *tu_open_text(const char *text)
{
	bd_model *m = NULL;
	bd_error err = {0};
	const char *path = tu_write_temp(text, strlen(text));
	int rc = bd_model_open(&m, path, &err);
	if (rc)
		fail_msg("open failed: %s", err.msg);
	unlink(path);
	return m;
}

const char *tu_sample(const char *name)
{
	static char paths[8][1024];
	static int slot;
	const char *dir = getenv("BD_SAMPLES");
	char *p = paths[slot++ % 8];
	if (!dir)
		return NULL;
	snprintf(p, sizeof paths[0], "%s/%s.dump", dir, name);
	return access(p, R_OK) == 0 ? p : NULL;
}

const char *tu_sample_or_skip(const char *name)
{
	const char *p = tu_sample(name);
	if (!p) {
		if (getenv("BD_REQUIRE_SAMPLES"))
			fail_msg("sample %s missing (run samples/gen.sh)", name);
		skip();
	}
	return p;
}

int tu_dump_has_atom_term(const char *dump, const char *atom)
{
	char needle[300];
	size_t len;
	snprintf(needle, sizeof needle, "A%zX:%s", strlen(atom), atom);
	char *text = tu_read_file(dump, &len);
	int found = text && memmem(text, len, needle, strlen(needle)) != NULL;
	free(text);
	return found;
}

const char *tu_truth(const char *name, const char *key)
{
	static char ring[8][4096];
	static int slot;
	char path[1024], line[4096];
	const char *dir = getenv("BD_SAMPLES");
	FILE *f = NULL;
	if (dir) {
		snprintf(path, sizeof path, "%s/%s.truth", dir, name);
		f = fopen(path, "r");
	}
	size_t kl = strlen(key);
	const char *found = NULL;
	while (f && fgets(line, sizeof line, f)) {
		if (!strncmp(line, key, kl) && line[kl] == '=') {
			char *val = ring[slot++ % 8];
			snprintf(val, sizeof ring[0], "%s", line + kl + 1);
			val[strcspn(val, "\r\n")] = 0;
			found = val;
			break;
		}
	}
	if (f)
		fclose(f);
	if (!found)
		fail_msg("%s.truth has no %s", name, key);
	return found;
}

char *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	size_t r;
	while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			char *g = realloc(buf, 2 * cap + 1);
			if (!g) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = g;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf)
		buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

int tu_run(char **out, const char *fmt, ...)
{
	char args[4096], cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	const char *bin = getenv("BD_BIN");
	assert_non_null(bin);
	char tmp[] = "/tmp/bdout-XXXXXX";
	int fd = mkstemp(tmp);
	assert_true(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof cmd, "%s %s > %s", bin, args, tmp);
	int st = system(cmd);
	int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	if (out)
		*out = tu_read_file(tmp, NULL);
	unlink(tmp);
	return rc;
}

/* Every fixture copy made, removed at exit: a test that fails before its unlink (or
 * never unlinks) must not leave its decompressed dump in /tmp (they add up to GBs). */
static char **fixture_made;
static size_t fixture_nmade;

static void fixture_cleanup(void)
{
	for (size_t i = 0; i < fixture_nmade; i++) {
		unlink(fixture_made[i]);
		free(fixture_made[i]);
	}
	free(fixture_made);
	fixture_made = NULL;
	fixture_nmade = 0;
}

static void fixture_remember(const char *p)
{
	char **n = realloc(fixture_made, (fixture_nmade + 1) * sizeof *n);
	if (!n)
		return;
	fixture_made = n;
	if (!fixture_nmade)
		atexit(fixture_cleanup);
	if ((fixture_made[fixture_nmade] = strdup(p)) != NULL)
		fixture_nmade++;
}

const char *tu_fixture(const char *relpath)
{
	static char paths[8][64];
	static int slot;
	char src[1024], cmd[2200];
	const char *root = getenv("BD_SOURCE");
	assert_non_null(root);
	snprintf(src, sizeof src, "%s/%s", root, relpath);
	char *p = paths[slot++ % 8];
	snprintf(p, 64, "/tmp/bdfix-XXXXXX");
	int fd = mkstemp(p);
	assert_true(fd >= 0);
	close(fd);
	fixture_remember(p);
	snprintf(cmd, sizeof cmd, "zstd -dqf '%s' -o '%s'", src, p);
	assert_int_equal(system(cmd), 0);
	return p;
}

double tu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int tu_wait_exit(int p, double secs, int group)
{
	double end = tu_now() + secs;
	int st;
	while (tu_now() < end) {
		if (waitpid(p, &st, WNOHANG) == p)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(10000);
	}
	kill(group ? -p : p, SIGKILL);
	waitpid(p, &st, 0);
	return -1;
}
