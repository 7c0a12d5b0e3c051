/* Fuzz target: the external term format decoder (E lines of a dump, distribution
 * messages, live captures) and the term printer and helpers over what it builds. The
 * input is the ETF bytes after one control byte: its low 7 bits are the node budget
 * (x 64), its top bit gives the decoder the context of a distribution message (an
 * atom cache of 4 entries, one node name the dump knows), so ATOM_CACHE_REF and
 * remote pids are reached too. */
#include <string.h>

#include "beamdump/term.h"
#include "int.h"
#include "walk.h"

static uint32_t channel(void *ud, const char *name, size_t len)
{
	(void)ud;
	return len == 9 && !memcmp(name, "a@example", 9) ? 3 : UINT32_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[4096];
	static const char *const atoms[] = {"a@example", "$gen_call", "ok", ""};
	static const uint32_t lens[] = {9, 9, 2, 0};
	static const bd_etf_ctx ctx = {atoms, lens, 4, channel, NULL};
	if (!size)
		return 0;
	uint32_t budget = (uint32_t)(data[0] & 0x7f) * 64 + 1;
	bd_arena a = {0};
	a.limit = (size_t)64 << 20;
	bd_term *t = bd_etf_decode_ctx(&a, data + 1, size - 1, budget, data[0] & 0x80 ? &ctx : NULL);
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
