/* Small building blocks: errors, and what beamdump/util.h declares (arena, capped
 * vectors, maps, interning, hashing, numbers for people); for the readers, number
 * parsing and base64/hex. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "int.h"

const char *bd_strerror(int code)
{
	switch (code) {
#define BD_X(name, value, text)                                                     \
	case name:                                                                  \
		return text;
		BD_ERROR_LIST(BD_X)
#undef BD_X
	}
	return "unknown error";
}

int bd_error_set(bd_error *err, int code, int sys_errno, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->code = code;
		err->sys_errno = sys_errno;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* ---- arena ---- */
struct bd_arena_chunk {
	bd_arena_chunk *next;
	size_t cap;
	size_t used; /* bytes handed out, once a newer chunk took over (else arena.used) */
	max_align_t data[];
};

void *bd_arena_alloc(bd_arena *a, size_t size)
{
	size = (size + 7) & ~(size_t)7;
	if (!a->head || a->used + size > a->cap) {
		size_t cap = size > 65536 ? size : 65536;
		if (a->total >= (1u << 20))
			cap = size > (1u << 20) ? size : (1u << 20);
		bd_arena_chunk *c = NULL;
		if (!a->limit || a->total + cap <= a->limit)
			c = malloc(sizeof *c + cap);
		if (!c) {
			a->failed = 1;
			return NULL;
		}
		if (a->head)
			a->head->used = a->used;
		c->next = a->head;
		c->cap = cap;
		c->used = 0;
		a->head = c;
		a->used = 0;
		a->cap = cap;
		a->total += cap;
	}
	void *p = (char *)a->head->data + a->used;
	a->used += size;
	memset(p, 0, size);
	return p;
}

char *bd_arena_strndup(bd_arena *a, const char *s, size_t n)
{
	char *p = bd_arena_alloc(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

char *bd_arena_strdup(bd_arena *a, const char *s)
{
	return s ? bd_arena_strndup(a, s, strlen(s)) : NULL;
}

char *bd_arena_vprintf(bd_arena *a, const char *fmt, va_list ap)
{
	char tmp[1024];
	if (vsnprintf(tmp, sizeof tmp, fmt, ap) < 0)
		tmp[0] = 0;
	return bd_arena_strndup(a, tmp, strlen(tmp));
}

char *bd_arena_printf(bd_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = bd_arena_vprintf(a, fmt, ap);
	va_end(ap);
	return s;
}

void bd_arena_each(const bd_arena *a, void (*fn)(void *ud, const char *p, size_t n), void *ud)
{
	for (const bd_arena_chunk *c = a->head; c; c = c->next)
		fn(ud, (const char *)c->data, c == a->head ? a->used : c->used);
}

void bd_arena_free(bd_arena *a)
{
	if (!a)
		return;
	bd_arena_chunk *c = a->head;
	while (c) {
		bd_arena_chunk *n = c->next;
		free(c);
		c = n;
	}
	a->head = NULL;
	a->used = a->cap = a->total = 0;
	a->failed = 0;
}

/* ---- vectors ---- */
void *bd_vec_extend(bd_vec *v, size_t n)
{
	if ((v->max && v->len + n > v->max) || n > ((size_t)1 << 40) / (v->elem ? v->elem : 1))
		return NULL;
	if (v->len + n > v->cap) {
		size_t cap = v->cap ? v->cap : 16;
		while (cap < v->len + n)
			cap *= 2;
		if (v->max && cap > v->max)
			cap = v->max;
		void *d = realloc(v->data, cap * v->elem);
		if (!d)
			return NULL;
		v->data = d;
		v->cap = cap;
	}
	if (!v->data)
		return NULL; /* n == 0 on an empty vector: nothing to point at */
	void *p = (char *)v->data + v->len * v->elem;
	v->len += n;
	return p;
}

void *bd_vec_push(bd_vec *v)
{
	void *p = bd_vec_extend(v, 1);
	if (p)
		memset(p, 0, v->elem);
	return p;
}

void bd_vec_free(bd_vec *v)
{
	free(v->data);
	v->data = NULL;
	v->len = v->cap = 0;
}

/* ---- hashing ---- */
uint64_t bd_hash_bytes(const void *p, size_t n)
{
	/* Word-at-a-time multiply-xorshift: short keys dominate (atoms, MFAs, names). */
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
		h ^= h >> 29;
		s += 8;
		n -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, s, n);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 32;
	return h;
}

/* ---- string map and interning ---- */
/* The entry of key, or the empty slot where it goes. m->cap > 0. */
static bd_strmap_slot *strmap_slot(const bd_strmap *m, uint64_t h, const char *key, size_t len)
{
	size_t j = h & (m->cap - 1);
	while (m->slots[j].key) {
		bd_strmap_slot *e = &m->slots[j];
		if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)
			return e;
		j = (j + 1) & (m->cap - 1);
	}
	return &m->slots[j];
}

/* Room for one more key (the table stays at most half full). */
static int strmap_reserve(bd_strmap *m)
{
	if ((m->count + 1) * 2 <= m->cap)
		return 0;
	size_t cap = m->cap ? m->cap * 2 : 256;
	bd_strmap_slot *s = calloc(cap, sizeof *s);
	if (!s)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->slots[i].key)
			continue;
		size_t j = m->slots[i].hash & (cap - 1);
		while (s[j].key)
			j = (j + 1) & (cap - 1);
		s[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = s;
	m->cap = cap;
	return 0;
}

int64_t bd_strmap_get(const bd_strmap *m, const char *key, size_t len)
{
	if (!m->cap)
		return -1;
	const bd_strmap_slot *e = strmap_slot(m, bd_hash_bytes(key, len), key, len);
	return e->key ? (int64_t)e->val : -1;
}

int64_t bd_strmap_put(bd_strmap *m, const char *key, size_t len, uint32_t val)
{
	if (strmap_reserve(m) < 0)
		return -1;
	uint64_t h = bd_hash_bytes(key, len);
	bd_strmap_slot *e = strmap_slot(m, h, key, len);
	if (!e->key) {
		*e = (bd_strmap_slot){h, key, (uint32_t)len, val};
		m->count++;
	}
	return e->val;
}

void bd_strmap_free(bd_strmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->count = 0;
}

/* bd_strmap_put, but the key stored is a copy made only when s is new. */
const char *bd_intern_str(bd_intern *in, const char *s, size_t len)
{
	bd_strmap *m = &in->map;
	if (strmap_reserve(m) < 0)
		return NULL;
	uint64_t h = bd_hash_bytes(s, len);
	bd_strmap_slot *e = strmap_slot(m, h, s, len);
	if (!e->key) {
		char *copy = bd_arena_strndup(in->arena, s, len);
		if (!copy)
			return NULL;
		*e = (bd_strmap_slot){h, copy, (uint32_t)len, 0};
		m->count++;
	}
	return e->key;
}

void bd_intern_free(bd_intern *in) { bd_strmap_free(&in->map); }

/* ---- u64 map ---- */
static size_t mix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (size_t)k;
}

static int u64map_grow(bd_u64map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 256;
	uint64_t *k = malloc(cap * sizeof *k), *v = malloc(cap * sizeof *v);
	if (!k || !v) {
		free(k);
		free(v);
		return -1;
	}
	memset(k, 0xff, cap * sizeof *k);
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == UINT64_MAX)
			continue;
		size_t j = mix64(m->keys[i]) & (cap - 1);
		while (k[j] != UINT64_MAX)
			j = (j + 1) & (cap - 1);
		k[j] = m->keys[i];
		v[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = k;
	m->vals = v;
	m->cap = cap;
	return 0;
}

int bd_u64map_put(bd_u64map *m, uint64_t key, uint64_t val)
{
	if ((m->count + 1) * 4 >= m->cap * 3 && u64map_grow(m) < 0)
		return -1;
	size_t j = mix64(key) & (m->cap - 1);
	while (m->keys[j] != UINT64_MAX) {
		if (m->keys[j] == key) {
			m->vals[j] = val;
			return 0;
		}
		j = (j + 1) & (m->cap - 1);
	}
	m->keys[j] = key;
	m->vals[j] = val;
	m->count++;
	return 0;
}

int bd_u64map_get(const bd_u64map *m, uint64_t key, uint64_t *val)
{
	if (!m || !m->cap)
		return 0;
	size_t j = mix64(key) & (m->cap - 1);
	while (m->keys[j] != UINT64_MAX) {
		if (m->keys[j] == key) {
			*val = m->vals[j];
			return 1;
		}
		j = (j + 1) & (m->cap - 1);
	}
	return 0;
}

void bd_u64map_free(bd_u64map *m)
{
	if (!m)
		return;
	free(m->keys);
	free(m->vals);
	m->keys = m->vals = NULL;
	m->cap = m->count = 0;
}

/* ---- numbers for people ---- */
const char *bd_count_fmt(uint64_t v, char *buf, size_t cap)
{
	if (v == BD_UNKNOWN) {
		snprintf(buf, cap, "?");
		return buf;
	}
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
	size_t k = 0;
	for (int i = 0; i < n && k + 2 < cap; i++) {
		if (i && (n - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = tmp[i];
	}
	buf[k] = 0;
	return buf;
}

const char *bd_bytes_fmt(uint64_t v, char *buf, size_t cap)
{
	static const char *unit[] = {"B", "kB", "MB", "GB", "TB"};
	if (v == BD_UNKNOWN) {
		snprintf(buf, cap, "?");
		return buf;
	}
	double d = (double)v;
	int u = 0;
	while (d >= 1000 && u < 4) {
		d /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, cap, "%llu B", (unsigned long long)v);
	else
		snprintf(buf, cap, d < 10 ? "%.2f %s" : d < 100 ? "%.1f %s" : "%.0f %s", d, unit[u]);
	return buf;
}

/* ---- number parsing ---- */
const char *bd_parse_u64(const char *p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = p;
	while (p < end && *p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return NULL;
		v = v * 10 + d;
		p++;
	}
	if (p == s)
		return NULL;
	*out = v;
	return p;
}

const char *bd_parse_i64(const char *p, const char *end, int64_t *out)
{
	int neg = 0;
	uint64_t v;
	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	const char *q = bd_parse_u64(p, end, &v);
	if (!q || v > (uint64_t)INT64_MAX + (uint64_t)neg)
		return NULL;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return q;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Hex digit values, X for other bytes (bd_parse_hex, int.h). */
#define X 0xff
const uint8_t bd_hex_tab[256] = {
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, X, X, X, X, X, X,
	X, 10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, 10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
};
#undef X

/* ---- base64 / hex ---- */
static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t bd_decode_data(const char *text, size_t len, int hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	if (hex) {
		for (size_t i = 0; i + 1 < len && n < cap; i += 2) {
			int a = hexval((unsigned char)text[i]), b = hexval((unsigned char)text[i + 1]);
			if (a < 0 || b < 0)
				break;
			out[n++] = (uint8_t)(a << 4 | b);
		}
		return n;
	}
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len && n < cap; i++) {
		int v = b64val((unsigned char)text[i]);
		if (v < 0)
			break;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n;
}

size_t bd_decode_window(const char *text, size_t len, int hex, uint64_t offset, uint8_t *out,
			size_t n)
{
	if (hex) {
		if (offset * 2 >= len)
			return 0;
		return bd_decode_data(text + offset * 2, len - offset * 2, 1, out, n);
	}
	/* Base64 groups of 4 chars carry 3 bytes: start at the group holding offset. */
	uint64_t group = offset / 3, skip = offset % 3;
	if (group * 4 >= len)
		return 0;
	uint8_t tmp[3];
	size_t got = 0;
	const char *p = text + group * 4;
	size_t left = len - group * 4;
	if (skip) {
		size_t k = bd_decode_data(p, left < 4 ? left : 4, 0, tmp, 3);
		for (size_t i = skip; i < k && got < n; i++)
			out[got++] = tmp[i];
		if (left <= 4 || k < 3)
			return got;
		p += 4;
		left -= 4;
	}
	return got + bd_decode_data(p, left, 0, out + got, n - got);
}
