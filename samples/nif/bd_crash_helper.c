/* libbd_crash_helper: a shared library a NIF links to, which faults when the NIF
 * hands it NULL: the top frame is not the NIF's (samples/nif/gen.sh). */
#include <stddef.h>

#define NOINLINE __attribute__((noinline))

NOINLINE static int bd_helper_count(const char *text)
{
	int n = 0;
	while (*text++ != 0) /* text is NULL */
		n++;
	return n;
}

int bd_helper_parse(const char *text)
{
	return bd_helper_count(text) * 2 + 1;
}
