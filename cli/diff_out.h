/* Shared by cmd_diff.c and cmd_ci.c: the diff as JSON (docs/json.md). */
#ifndef BD_DIFF_OUT_H
#define BD_DIFF_OUT_H

#include "beamdump/diff.h"
#include "cli.h"

/* One JSON object with the changed groups and tables, at most rows of each. */
void diff_json(jw *w, const bd_diff *d, size_t rows);

/* An input's "created", "created_unix", "slogan" and "truncated" members (JSON). */
void json_input_facts(jw *w, const bd_node_info *n);

/* Open n (<= 4) inputs in parallel; a NULL path is skipped (out[i] = NULL). Prints
 * one line per unreadable input (prefixed by labels[i] when labels) and returns
 * EXIT_UNREADABLE with nothing left open, else EXIT_OK. */
int open_models(bd_model **out, const char *const *paths, int n, const char *const *labels);
/* The same, but nothing printed and the readable inputs left open: errs[i].code is 0
 * or the error of input i. Returns EXIT_UNREADABLE when any input failed. */
int open_models_each(bd_model **out, const char *const *paths, int n, bd_error *errs);

#endif
