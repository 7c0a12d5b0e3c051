/* Term sections rewritten for sharing (convert --redact, docs/FORMAT.md "Redacted
 * snapshots"). Works on the dump's own term language, line by line, so whatever reads
 * a snapshot reads a redacted one: the structure of every term stays (tuples, lists,
 * maps and their sizes, atoms, numbers, pids, ports, refs) and what carries data goes:
 * every byte of a binary becomes '*' (the size stays), every character of a string
 * (an integer at the head of a list cell) becomes 42 ('*'), and the cookie atom
 * becomes '<cookie>'. A line that does not parse is dropped (its term then reads as
 * missing): nothing passes unchecked. */
#include <stdlib.h>
#include <string.h>

#include "beamdump/secret.h"
#include "int.h"
#include "redact.h"

typedef struct buf {
	char *p;
	size_t len, cap;
	int oom;
} buf;

static void put(buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q) {
			b->oom = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

/* Addresses of the list cells of a heap section: a cell whose tail is [] or another
 * cell is part of a list (a hashmap leaf "l<Key>|<Value>" usually is not). */
typedef struct cells {
	bd_u64map cons; /* addr -> 1 + (tail is N ? 1 : 0), tail addr kept apart */
	bd_u64map tail; /* addr -> tail addr (H) */
} cells;

static void collect_cells(cells *c, const char *t, size_t len)
{
	const char *p = t, *end = t + len;
	while (p < end) {
		const char *e = bd_tl_line_end(BD_TS_HEAP, p, end);
		uint64_t addr;
		const char *q = bd_parse_hex(p, e ? e : end, &addr);
		if (e && q && q[0] == ':' && q[1] == 'l') {
			const char *bar = bd_tl_skip_elem(q + 2, e);
			if (bar && *bar == '|') {
				uint64_t ta;
				if (bar[1] == 'N')
					bd_u64map_put(&c->cons, addr, 2);
				else if (bar[1] == 'H' && bd_parse_hex(bar + 2, e, &ta)) {
					bd_u64map_put(&c->cons, addr, 1);
					bd_u64map_put(&c->tail, addr, ta);
				}
			}
		}
		if (!e)
			e = memchr(p, '\n', (size_t)(end - p));
		p = e ? e + 1 : end;
	}
}

static int is_list_cell(const cells *c, uint64_t addr)
{
	uint64_t v, ta;
	if (!bd_u64map_get(&c->cons, addr, &v))
		return 0;
	if (v == 2)
		return 1;
	return bd_u64map_get(&c->tail, addr, &ta) && bd_u64map_get(&c->cons, ta, &v);
}

/* One element: atoms are checked against the cookie set, the rest is copied. */
static const char *elem(buf *b, const char *p, const char *end)
{
	const char *e = bd_tl_skip_elem(p, end);
	if (!e)
		return NULL;
	if (*p == 'A') {
		const char *c = memchr(p, ':', (size_t)(e - p));
		if (c && bd_secret_is(c + 1, (size_t)(e - c - 1))) {
			puts_(b, "A8:" BD_SECRET_SHOWN);
			return e;
		}
	}
	put(b, p, (size_t)(e - p));
	return e;
}

/* n elements separated by ',' */
static const char *elems(buf *b, const char *p, const char *end, uint64_t n)
{
	for (uint64_t i = 0; i < n && p; i++) {
		if (i) {
			if (p >= end || *p != ',')
				return NULL;
			put(b, ",", 1);
			p++;
		}
		p = elem(b, p, end);
	}
	return p;
}

/* "<hex>:" copied; *n gets the number. */
static const char *hex_colon(buf *b, const char *p, const char *end, uint64_t *n)
{
	const char *q = bd_parse_hex(p, end, n);
	if (!q || q >= end || *q != ':')
		return NULL;
	put(b, p, (size_t)(q + 1 - p));
	return q + 1;
}

/* size bytes of '*' in the dump's binary encoding (base64, or hex before 0.5). */
static void stars(buf *b, uint64_t size, int hex)
{
	for (uint64_t i = 0; i < size && !b->oom;) {
		if (hex) {
			puts_(b, "2A");
			i++;
		} else if (size - i >= 3) {
			puts_(b, "Kioq"); /* "***" */
			i += 3;
		} else {
			puts_(b, size - i == 2 ? "Kio=" : "Kg==");
			i = size;
		}
	}
}

static const char *object(buf *b, const char *p, const char *end, const cells *c, uint64_t addr,
			  int hex)
{
	uint64_t n, k;
	switch (*p) {
	case 't':
		put(b, "t", 1);
		p = hex_colon(b, p + 1, end, &n);
		return p ? elems(b, p, end, n) : NULL;
	case 'l': {
		const char *h = p + 1, *he = bd_tl_skip_elem(h, end);
		if (!he || *he != '|')
			return NULL;
		put(b, "l", 1);
		if (*h == 'I' && is_list_cell(c, addr)) {
			long long v = strtoll(h + 1, NULL, 10);
			if (v >= 0 && v <= 0x10FFFF) {
				puts_(b, "I42");
				h = he;
			}
		}
		if (h != he && !elem(b, h, end))
			return NULL;
		put(b, "|", 1);
		return elem(b, he + 1, end);
	}
	case 'M':
		put(b, p, 2);
		if (p + 1 >= end)
			return NULL;
		if (p[1] == 'f') {
			p = hex_colon(b, p + 2, end, &n);
			p = p ? elem(b, p, end) : NULL;
			if (!p || p >= end || *p != ':')
				return NULL;
			put(b, ":", 1);
			return elems(b, p + 1, end, n);
		}
		if (p[1] == 'h') {
			p = hex_colon(b, p + 2, end, &n);
			p = p ? hex_colon(b, p, end, &k) : NULL;
			return p ? elems(b, p, end, k) : NULL;
		}
		if (p[1] == 'n') {
			p = hex_colon(b, p + 2, end, &n);
			return p ? elems(b, p, end, n) : NULL;
		}
		return NULL;
	case 'Y':
		if (p + 1 < end && p[1] == 'h') {
			put(b, "Yh", 2);
			p = hex_colon(b, p + 2, end, &n);
			if (!p)
				return NULL;
			stars(b, n, hex);
			return end > p && end[-1] == '\r' ? end - 1 : end;
		}
		/* Yc/Ys refer to =binary data, redacted on its own */
		__attribute__((fallthrough));
	default: {
		const char *e = bd_tl_skip_object(p, end);
		if (e)
			put(b, p, (size_t)(e - p));
		return e;
	}
	}
}

/* One line of a section; returns where the next line starts, or NULL at the end.
 * A line that does not parse is dropped, up to its end of line. */
static const char *line(buf *b, bd_ts_kind kind, const char *p, const char *end, const cells *c,
			int hex)
{
	const char *e = bd_tl_line_end(kind, p, end);
	size_t mark = b->len;
	const char *q = p, *done = NULL;
	if (e) {
		uint64_t addr = 0;
		switch (kind) {
		case BD_TS_HEAP:
			q = hex_colon(b, p, e, &addr);
			done = q ? object(b, q, e, c, addr, hex) : NULL;
			break;
		case BD_TS_STACK:
			q = memchr(p, ':', (size_t)(e - p));
			put(b, p, (size_t)(q + 1 - p));
			q++;
			done = *q == 'S' ? (put(b, q, (size_t)(e - q)), e) : elem(b, q, e);
			break;
		case BD_TS_MESSAGES:
			if (*p == 'D') { /* an undecoded distribution message: its bytes are data */
				q = memchr(p, ':', (size_t)(e - p));
				const char *tok = q;
				/* the message ends at the ':' before the token: find the last ':' */
				for (const char *s = e - 1; s > p; s--)
					if (*s == ':') {
						tok = s;
						break;
					}
				puts_(b, "A12:$beamdump_redacted");
				done = tok ? elem(b, (put(b, ":", 1), tok + 1), e) : NULL;
			} else {
				q = elem(b, p, e);
				done = q && q < e && *q == ':' ? elem(b, (put(b, ":", 1), q + 1), e) : NULL;
			}
			break;
		case BD_TS_DICT:
			done = elem(b, p, e);
			break;
		case BD_TS_PTERMS:
			q = elem(b, p, e);
			done = q && q < e && *q == '|' ? elem(b, (put(b, "|", 1), q + 1), e) : NULL;
			break;
		}
	}
	if (!e)
		e = memchr(p, '\n', (size_t)(end - p));
	if (!done) {
		b->len = mark; /* dropped */
	} else {
		if (done < e) /* a trailing '\r' */
			put(b, done, (size_t)(e - done));
		if (e < end)
			put(b, "\n", 1);
	}
	return e && e < end ? e + 1 : NULL;
}

char *bd_redact_terms(bd_ts_kind kind, const char *t, size_t len, int hex, size_t *outlen)
{
	buf b = {0};
	cells c;
	memset(&c, 0, sizeof c);
	if (kind == BD_TS_HEAP)
		collect_cells(&c, t, len);
	for (const char *p = t; p && p < t + len;)
		p = line(&b, kind, p, t + len, &c, hex);
	bd_u64map_free(&c.cons);
	bd_u64map_free(&c.tail);
	put(&b, "", 0);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*outlen = b.len;
	return b.p ? b.p : calloc(1, 1);
}

char *bd_redact_atoms(const char *t, size_t len, size_t *outlen)
{
	buf b = {0};
	for (const char *p = t, *end = t + len; p < end;) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		if (!e)
			e = end;
		size_t l = (size_t)(e - p);
		if (l && p[l - 1] == '\r')
			l--;
		if (bd_secret_is_atom_text(p, l))
			puts_(&b, "'" BD_SECRET_SHOWN "'");
		else
			put(&b, p, l);
		if (e < end)
			put(&b, "\n", 1);
		p = e + 1;
	}
	put(&b, "", 0);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*outlen = b.len;
	return b.p ? b.p : calloc(1, 1);
}
