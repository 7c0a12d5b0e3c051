/* Atom name patterns: the clustering of analyze/atoms.c behind a public function, so
 * that diff/ci group added atoms the same way analyze groups a full table
 * ("user_<N>", "<uuid>", "0x<hex>"). */
#include <ctype.h>
#include <string.h>

#include "beamdump/diff.h"

static int ishex(int ch) { return isxdigit((unsigned char)ch); }

/* 8-4-4-4-12 hex digits at s (n bytes left). */
static int is_uuid(const char *s, size_t n)
{
	static const int groups[] = {8, 4, 4, 4, 12};
	if (n < 36)
		return 0;
	size_t k = 0;
	for (int g = 0; g < 5; g++) {
		for (int i = 0; i < groups[g]; i++, k++)
			if (!ishex(s[k]))
				return 0;
		if (g < 4 && s[k++] != '-')
			return 0;
	}
	return 1;
}

/* A run of hex digits that looks like an id: at least 6 long, mixing digits and
 * letters (so "deadbeef" or "facade" words stay words). */
static size_t hex_run(const char *s, size_t n)
{
	size_t k = 0;
	int digit = 0, alpha = 0;
	while (k < n && ishex(s[k])) {
		digit |= isdigit((unsigned char)s[k]) != 0;
		alpha |= isalpha((unsigned char)s[k]) != 0;
		k++;
	}
	return k >= 6 && digit && alpha ? k : 0;
}

static void put(char *key, size_t *k, size_t cap, const char *s)
{
	size_t n = strlen(s);
	if (*k + n < cap) {
		memcpy(key + *k, s, n);
		*k += n;
	}
}

int bd_atom_pattern(const char *a, size_t n, char *key, size_t cap)
{
	size_t k = 0;
	int gen = 0;
	if (!cap)
		return 0;
	for (size_t i = 0; i < n && k + 1 < cap;) {
		size_t r;
		if (is_uuid(a + i, n - i)) {
			put(key, &k, cap, "<uuid>");
			i += 36;
			gen = 1;
		} else if (a[i] == '0' && i + 2 < n && (a[i + 1] == 'x' || a[i + 1] == 'X') &&
			   ishex(a[i + 2])) {
			put(key, &k, cap, "0x<hex>");
			for (i += 2; i < n && ishex(a[i]); i++)
				;
			gen = 1;
		} else if ((r = hex_run(a + i, n - i)) != 0) {
			put(key, &k, cap, "<hex>");
			i += r;
			gen = 1;
		} else if (isdigit((unsigned char)a[i])) {
			put(key, &k, cap, "<N>");
			while (i < n && isdigit((unsigned char)a[i]))
				i++;
			gen = 1;
		} else {
			key[k++] = a[i++];
		}
	}
	key[k] = 0;
	return gen;
}
