/* The .bdump snapshot reader's entry points, used by bd_model_open. */
#ifndef BD_SNAPSHOT_INT_H
#define BD_SNAPSHOT_INT_H

#include "int.h"

/* Does the input start with the snapshot magic? */
int bd_snapshot_is(const char *data, uint64_t size);
/* Fill m from the snapshot in m->base/m->size. */
int bd_snapshot_read(bd_model *m, bd_error *err);

#endif
