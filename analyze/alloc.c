/* Allocator arithmetic (recon_alloc:memory/1, fragmentation/1) from =allocator
 * sections. Handles both key forms: "mbcs blocks size" (before OTP 23) and the
 * per-origin "mbcs blocks[binary_alloc] size" of current releases. */
#include <stdlib.h>
#include <string.h>

#include "beamdump/analyze.h"

typedef enum { K_NONE, K_MBCS_BLOCKS, K_POOL_BLOCKS, K_SBCS_BLOCKS, K_MBCS_CARRIERS,
	       K_POOL_CARRIERS, K_SBCS_CARRIERS, K_CALLS } key_kind;

static int starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static int ends(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && memcmp(s + a - b, suf, b) == 0;
}

static key_kind classify(const char *alloc, const char *key)
{
	if (ends(key, " blocks size") || (strstr(key, " blocks[") && ends(key, "] size"))) {
		if (starts(key, "mbcs_pool "))
			return K_POOL_BLOCKS;
		if (starts(key, "mbcs "))
			return K_MBCS_BLOCKS;
		if (starts(key, "sbcs "))
			return K_SBCS_BLOCKS;
	}
	if (!strcmp(key, "mbcs carriers size"))
		return K_MBCS_CARRIERS;
	if (!strcmp(key, "mbcs_pool carriers size"))
		return K_POOL_CARRIERS;
	if (!strcmp(key, "sbcs carriers size"))
		return K_SBCS_CARRIERS;
	/* "binary_alloc calls" for binary_alloc */
	size_t al = strlen(alloc);
	if (al > 6 && !strncmp(key, alloc, al - 6) && !strcmp(key + al - 6, "_alloc calls"))
		return K_CALLS;
	return K_NONE;
}

static uint64_t val(uint64_t v) { return v == BD_UNKNOWN ? 0 : v; }

static void add_stat(bd_alloc_sum *s, key_kind k, const bd_alloc_stat *st)
{
	uint64_t cur = val(st->v[0]), max = st->v[2] != BD_UNKNOWN ? st->v[2] : cur;
	switch (k) {
	case K_MBCS_BLOCKS:
	case K_POOL_BLOCKS:
		s->mbcs_used += cur;
		s->used += cur;
		s->used_max += max;
		break;
	case K_SBCS_BLOCKS:
		s->sbcs_used += cur;
		s->used += cur;
		s->used_max += max;
		break;
	case K_MBCS_CARRIERS:
	case K_POOL_CARRIERS:
		s->mbcs_allocated += cur;
		s->allocated += cur;
		s->allocated_max += max;
		break;
	case K_SBCS_CARRIERS:
		s->sbcs_allocated += cur;
		s->allocated += cur;
		s->allocated_max += max;
		break;
	case K_CALLS:
		s->calls += cur;
		break;
	case K_NONE:
		break;
	}
}

static bd_alloc_sum *find_row(bd_alloc_sum *rows, size_t n, const char *alloc, int inst)
{
	for (size_t i = 0; i < n; i++)
		if (rows[i].alloc == alloc && rows[i].instance == inst)
			return &rows[i];
	return NULL;
}

static int cmp_alloc(const void *a, const void *b)
{
	const bd_alloc_sum *x = a, *y = b;
	return x->allocated < y->allocated ? 1 : x->allocated > y->allocated ? -1 : 0;
}

int bd_alloc_summarize(const bd_model *m, int per_instance, bd_alloc_sum **out, size_t *n)
{
	size_t ns;
	const bd_alloc_stat *st = bd_model_alloc_stats(m, &ns);
	size_t cap = 64, k = 0;
	bd_alloc_sum *rows = calloc(cap, sizeof *rows);
	if (!rows)
		return BD_ENOMEM;
	for (size_t i = 0; i < ns; i++) {
		if (!st[i].alloc || !st[i].key)
			continue; /* the readers always name both; a model built elsewhere may not */
		key_kind kk = classify(st[i].alloc, st[i].key);
		if (kk == K_NONE)
			continue;
		for (int pass = 0; pass < (per_instance ? 2 : 1); pass++) {
			int inst = pass ? st[i].instance : -1;
			bd_alloc_sum *r = find_row(rows, k, st[i].alloc, inst);
			if (!r) {
				if (k == cap) {
					bd_alloc_sum *g = realloc(rows, 2 * cap * sizeof *rows);
					if (!g) {
						free(rows);
						return BD_ENOMEM;
					}
					rows = g;
					cap *= 2;
				}
				r = &rows[k++];
				memset(r, 0, sizeof *r);
				r->alloc = st[i].alloc;
				r->instance = inst;
			}
			add_stat(r, kk, &st[i]);
		}
	}
	qsort(rows, k, sizeof *rows, cmp_alloc);
	*out = rows;
	*n = k;
	return 0;
}
