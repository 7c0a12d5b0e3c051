/* Helpers for the cmocka tests: temp files, sample paths, running the CLI. */
#ifndef BD_TESTUTIL_H
#define BD_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "beamdump/model.h"

/* Write text to a new temp file; returns its path (static buffer per call slot). */
const char *tu_write_temp(const char *text, size_t len);
/* Open a model from text; asserts success. */
bd_model *tu_open_text(const char *text);
/* Path of a generated sample dump ($BD_SAMPLES/NAME.dump, NAME may be "ci/..."), NULL
 * if absent. Paths live in a ring of 8 buffers, so a test can hold several at once. */
const char *tu_sample(const char *name);
/* tu_sample, or skip the test (fail it under $BD_REQUIRE_SAMPLES). */
const char *tu_sample_or_skip(const char *name);
/* Whether some term in the dump's heaps holds the atom (written "A<hexlen>:name"),
 * beyond the atom table: what a cause read from a heap needs. */
int tu_dump_has_atom_term(const char *dump, const char *atom);
/* A truth value from $BD_SAMPLES/NAME.truth; fails the test when absent (a generated
 * sample must carry its facts). Values live in a ring of 8 buffers. */
const char *tu_truth(const char *name, const char *key);
/* Run "beamdump ARGS" and capture stdout into a malloc'ed string; returns exit code. */
int tu_run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Read a whole file (malloc'ed, NUL-terminated). */
char *tu_read_file(const char *path, size_t *len);
/* Decompress a .zst fixture from the repo into a temp file; returns its path. */
const char *tu_fixture(const char *relpath);
/* Seconds on the monotonic clock. */
double tu_now(void);
/* Wait up to secs for child p; its exit code (128 + signal when killed by one), or
 * -1 on timeout: then p (group: its process group) is killed and reaped. */
int tu_wait_exit(int p, double secs, int group);

#endif
