/* Shared by cmd_diff.c and cmd_ci.c: the diff as JSON (docs/json.md). */
#ifndef BD_DIFF_OUT_H
#define BD_DIFF_OUT_H

#include "beamdump/diff.h"
#include "cli.h"

/* One JSON object with the changed groups and tables, at most rows of each. */
void diff_json(jw *w, const bd_diff *d, size_t rows);

#endif
