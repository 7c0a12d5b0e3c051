/* Progress of long steps (reading a big dump, decompressing, reading stdin, writing a
 * snapshot, capturing), for a front end to show: the CLI draws a bar on stderr when it
 * is a terminal. Process-global hook; unset (the default), a report costs a load and a
 * compare. Thread-safe: steps on several threads (diff reads two dumps at once) are
 * summed by the front end, keyed by thread. Not async-signal-safe. */
#ifndef BEAMDUMP_PROGRESS_H
#define BEAMDUMP_PROGRESS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { BD_PROGRESS_BYTES = 0, BD_PROGRESS_ITEMS = 1 };

/* what: a short phrase ("reading the dump"); done of total (BD_UNKNOWN: the end is not
 * known); unit: BD_PROGRESS_BYTES or _ITEMS. end: the step (of this thread) is over. */
typedef void (*bd_progress_fn)(void *ud, const char *what, uint64_t done, uint64_t total,
			       int unit, int end);

void bd_progress_hook(bd_progress_fn fn, void *ud);
void bd_progress(const char *what, uint64_t done, uint64_t total, int unit);
void bd_progress_end(void);

#ifdef __cplusplus
}
#endif
#endif
