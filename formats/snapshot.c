/* .bdump snapshot reader. The container is specified in docs/FORMAT.md. */
#include <string.h>

#include "snapshot_int.h"

int bd_snapshot_is(const char *data, uint64_t size)
{
	(void)data;
	(void)size;
	return 0;
}

int bd_snapshot_read(bd_model *m, bd_error *err)
{
	(void)m;
	return bd_error_set(err, BD_EUNSUPPORTED, 0, "snapshot reading is not built yet");
}
