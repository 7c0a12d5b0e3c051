/* The progress hook (include/beamdump/progress.h). */
#include <stdatomic.h>
#include <stddef.h>

#include "beamdump/progress.h"

static _Atomic(bd_progress_fn) g_fn;
static void *_Atomic g_ud;

void bd_progress_hook(bd_progress_fn fn, void *ud)
{
	g_ud = ud;
	g_fn = fn;
}

void bd_progress(const char *what, uint64_t done, uint64_t total, int unit)
{
	bd_progress_fn fn = g_fn;
	if (fn)
		fn(g_ud, what, done, total, unit, 0);
}

void bd_progress_end(void)
{
	bd_progress_fn fn = g_fn;
	if (fn)
		fn(g_ud, NULL, 0, 0, 0, 1);
}
