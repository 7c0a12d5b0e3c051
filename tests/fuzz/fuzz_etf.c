/* Fuzz target: the external term format decoder (E lines of a dump, live captures)
 * and the term printer and helpers over what it builds. The input is the ETF bytes;
 * the first byte is the node budget (x 64), so small budgets are tried too. */
#include <string.h>

#include "beamdump/term.h"
#include "int.h"
#include "walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[4096];
	if (!size)
		return 0;
	uint32_t budget = (uint32_t)data[0] * 64 + 1;
	bd_arena a = {0};
	a.limit = (size_t)64 << 20;
	bd_term *t = bd_etf_decode(&a, data + 1, size - 1, budget);
	if (t) {
		const bd_term *items[16];
		bd_term_fmt(t, buf, sizeof buf, -1, -1);
		bd_term_fmt(t, buf, sizeof buf, 3, 4);
		bd_term_fmt(t, buf, 8, 6, 12);
		bd_term_list(t, items, 16);
		bd_term_mfa(t, buf, sizeof buf);
		for (uint32_t i = 0; i < 4; i++)
			bd_term_fmt(bd_term_elem(t, i), buf, sizeof buf, 4, 8);
	}
	bd_arena_free(&a);
	return 0;
}
