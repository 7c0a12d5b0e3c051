/* The replay build of a fuzz target (without libFuzzer): run the target once over
 * every file named, or every file in every directory named (seed corpora, regression
 * crashers). Exit 0 when all ran; a crash, a sanitizer report or a leak fails it. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "walk.h"

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		return -1;
	}
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);
	for (size_t r; buf && (r = fread(buf + n, 1, cap - n, f)) > 0;) {
		n += r;
		if (n == cap) {
			uint8_t *g = realloc(buf, cap *= 2);
			if (!g) {
				free(buf);
				buf = NULL;
			}
			buf = g;
		}
	}
	fclose(f);
	if (!buf)
		return -1;
	/* an exact-size copy: reads past the input show under ASan as in libFuzzer */
	uint8_t *exact = malloc(n ? n : 1);
	memcpy(exact, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path, size_t *count)
{
	struct stat st;
	if (stat(path, &st))
		return 0; /* an empty corpus directory is not an error */
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	DIR *d = opendir(path);
	if (!d)
		return -1;
	char **names = NULL;
	size_t n = 0, cap = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "README.md"))
			continue;
		if (n == cap && !(names = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names)))
			return -1;
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, cmp);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char p[4096];
		snprintf(p, sizeof p, "%s/%s", path, names[i]);
		rc |= run_path(p, count);
		free(names[i]);
	}
	free(names);
	return rc;
}

#ifdef BD_FUZZ_UNFRAME
int fz_unframe(const uint8_t *d, size_t size, FILE *out);

/* --unframe in.bdump out.rec: a snapshot as the record list fuzz_snapshot builds from */
static int unframe(const char *in, const char *out)
{
	FILE *f = fopen(in, "rb"), *o = fopen(out, "wb");
	if (!f || !o)
		return 1;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	uint8_t *d = malloc(n > 0 ? (size_t)n : 1);
	if (!d || fread(d, 1, (size_t)n, f) != (size_t)n)
		return 1;
	fz_unframe(d, (size_t)n, o);
	free(d);
	fclose(f);
	return fclose(o) ? 1 : 0;
}
#endif

int main(int argc, char **argv)
{
#ifdef BD_FUZZ_UNFRAME
	if (argc == 4 && !strcmp(argv[1], "--unframe"))
		return unframe(argv[2], argv[3]);
#endif
	size_t count = 0;
	int rc = 0;
	for (int i = 1; i < argc; i++)
		rc |= run_path(argv[i], &count);
	printf("replay: %zu inputs\n", count);
	return rc ? 1 : 0;
}
