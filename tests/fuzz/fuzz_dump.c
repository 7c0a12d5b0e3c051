/* Fuzz target: the crash-dump reader, the term decoder and the analyses. The input is
 * a dump's bytes, opened in place (an exact-size buffer: a read past its end is a
 * finding) and walked as the commands walk it. */
#include "beamdump/model.h"
#include "walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bd_model *m;
	bd_error err = {0};
	if (bd_model_open_mem(&m, data, size, "fuzz.dump", &err) == 0) {
		fz_walk(m);
		bd_model_free(m);
	}
	return 0;
}
