/* CRC32C (Castagnoli): SSE4.2 instruction when the CPU has it, else a table that is
 * built by the compiler (no init step, so it is safe in a signal handler). */
#include <stddef.h>
#include <stdint.h>

#include "beamdump/container.h"

#define POLY 0x82F63B78u
#define R(c) (((c) >> 1) ^ (POLY & (0u - ((c) & 1u))))
#define E(n) R(R(R(R(R(R(R(R((uint32_t)(n)))))))))
#define E4(n) E(n), E((n) + 1), E((n) + 2), E((n) + 3)
#define E16(n) E4(n), E4((n) + 4), E4((n) + 8), E4((n) + 12)
#define E64(n) E16(n), E16((n) + 16), E16((n) + 32), E16((n) + 48)
static const uint32_t table[256] = {E64(0), E64(64), E64(128), E64(192)};

static uint32_t crc_sw(uint32_t crc, const uint8_t *p, size_t n)
{
	while (n--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <string.h>
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t n)
{
	uint64_t c = crc;
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		n -= 8;
	}
	uint32_t c32 = (uint32_t)c;
	while (n--)
		c32 = __builtin_ia32_crc32qi(c32, *p++);
	return c32;
}
#define HAVE_HW 1
#endif

uint32_t bd_crc32c(uint32_t crc, const void *buf, size_t len)
{
	crc = ~crc;
#ifdef HAVE_HW
	if (__builtin_cpu_supports("sse4.2"))
		return ~crc_hw(crc, buf, len);
#endif
	return ~crc_sw(crc, buf, len);
}
