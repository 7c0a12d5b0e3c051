/* External term format (the "E" lines: refs, funs, exports, and anything else the
 * writer could not print natively) into bd_term. Bounded: every length is checked
 * against the input and a node budget. */
#include <stdio.h>
#include <string.h>

#include "int.h"

typedef struct etf {
	bd_arena *a;
	const uint8_t *p, *end;
	uint32_t budget;
	int bad;
	const bd_etf_ctx *ctx; /* atom cache and node names of a distribution message */
} etf;

static int need(etf *e, size_t n)
{
	if ((size_t)(e->end - e->p) < n) {
		e->bad = 1;
		return 0;
	}
	return 1;
}

static uint32_t u32(etf *e)
{
	if (!need(e, 4))
		return 0;
	uint32_t v = (uint32_t)e->p[0] << 24 | (uint32_t)e->p[1] << 16 | (uint32_t)e->p[2] << 8 | e->p[3];
	e->p += 4;
	return v;
}

static uint16_t u16(etf *e)
{
	if (!need(e, 2))
		return 0;
	uint16_t v = (uint16_t)(e->p[0] << 8 | e->p[1]);
	e->p += 2;
	return v;
}

static uint8_t u8(etf *e)
{
	if (!need(e, 1))
		return 0;
	return *e->p++;
}

static bd_term *node(etf *e, int kind)
{
	if (!e->budget) {
		e->bad = 1;
		return NULL;
	}
	e->budget--;
	bd_term *t = bd_arena_alloc(e->a, sizeof *t);
	if (t)
		t->kind = (uint8_t)kind;
	else
		e->bad = 1;
	return t;
}

static bd_term *term(etf *e, int depth);
static bd_term nil_term = {.kind = BD_T_NIL};

/* Atom text as bytes; returns NULL on error. */
static const char *atom_text(etf *e, uint32_t *len)
{
	uint8_t tag = u8(e);
	uint32_t n;
	switch (tag) {
	case 100: /* ATOM_EXT */
	case 118: /* ATOM_UTF8_EXT */
		n = u16(e);
		break;
	case 115: /* SMALL_ATOM_EXT */
	case 119: /* SMALL_ATOM_UTF8_EXT */
		n = u8(e);
		break;
	case 82: { /* ATOM_CACHE_REF: an entry of the message's atom translation table */
		uint8_t i = u8(e);
		if (e->bad || !e->ctx || i >= e->ctx->natoms) {
			e->bad = 1;
			return NULL;
		}
		*len = e->ctx->atom_lens[i];
		return e->ctx->atoms[i];
	}
	default:
		e->bad = 1;
		return NULL;
	}
	if (!need(e, n))
		return NULL;
	const char *s = bd_arena_strndup(e->a, (const char *)e->p, n);
	e->p += n;
	*len = n;
	return s;
}

static bd_term *text_term(etf *e, int kind, const char *buf)
{
	bd_term *t = node(e, kind);
	if (t) {
		t->u.s = bd_arena_strndup(e->a, buf, strlen(buf));
		t->n = (uint32_t)strlen(buf);
	}
	return t;
}

/* Little-endian base-256 magnitude to decimal text. */
static bd_term *bignum(etf *e, uint32_t n)
{
	uint8_t sign = u8(e);
	if (n > 512 || !need(e, n)) {
		e->p = e->end;
		return text_term(e, BD_T_BIG, "<bignum>");
	}
	uint8_t mag[512];
	memcpy(mag, e->p, n);
	e->p += n;
	char digits[1300];
	size_t nd = 0;
	uint32_t len = n;
	while (len && nd < sizeof digits - 2) {
		uint32_t rem = 0;
		for (uint32_t i = len; i-- > 0;) {
			uint32_t cur = rem << 8 | mag[i];
			mag[i] = (uint8_t)(cur / 10);
			rem = cur % 10;
		}
		digits[nd++] = (char)('0' + rem);
		while (len && mag[len - 1] == 0)
			len--;
	}
	if (!nd)
		digits[nd++] = '0';
	char out[1302];
	size_t k = 0;
	if (sign)
		out[k++] = '-';
	while (nd)
		out[k++] = digits[--nd];
	out[k] = 0;
	return text_term(e, BD_T_BIG, out);
}

static bd_term *seq(etf *e, int kind, uint32_t n, int depth)
{
	bd_term *t = node(e, kind);
	if (!t)
		return NULL;
	if (n > (uint32_t)(e->end - e->p) + 1) {
		e->bad = 1;
		return t;
	}
	t->u.elems = bd_arena_alloc(e->a, ((size_t)n + 1) * sizeof(bd_term *));
	if (!t->u.elems) {
		e->bad = 1;
		return t;
	}
	/* n counts only the elements decoded: a sequence cut short by bad input is a
	 * shorter one, never one with holes or a count beyond its array. */
	uint32_t i = 0;
	while (i < n && !e->bad) {
		bd_term *x = term(e, depth + 1);
		if (!x || e->bad) /* an element read past the end is not one */
			break;
		t->u.elems[i++] = x;
	}
	t->n = i;
	return t;
}

static bd_term *list(etf *e, uint32_t n, int depth)
{
	/* Build cons cells; tail last. */
	bd_term *first = NULL, **link = &first;
	for (uint32_t i = 0; i < n && !e->bad; i++) {
		bd_term *c = node(e, BD_T_CONS);
		bd_term **ht = c ? bd_arena_alloc(e->a, 2 * sizeof(bd_term *)) : NULL;
		bd_term *head = ht ? term(e, depth + 1) : NULL;
		if (!head || e->bad)
			break; /* cut short: the cells so far end in [] */
		c->u.elems = ht;
		c->n = 2;
		ht[0] = head;
		*link = c;
		link = &ht[1];
	}
	bd_term *tail = e->bad ? NULL : term(e, depth + 1);
	*link = tail ? tail : &nil_term; /* every cell has a tail */
	return first;
}

/* The channel of a pid's node, as the dump numbers it; 0 without a context. */
static uint32_t node_channel(etf *e, const char *node, uint32_t len, int *known)
{
	*known = 1;
	if (!e->ctx || !e->ctx->node_channel)
		return 0;
	uint32_t ch = e->ctx->node_channel(e->ctx->ud, node, len);
	*known = ch != UINT32_MAX;
	return *known ? ch : 0;
}

static bd_term *pid_term(etf *e, int kind, int new_pid)
{
	uint32_t l;
	const char *nd = atom_text(e, &l);
	if (!nd)
		return NULL;
	int known;
	uint32_t ch = node_channel(e, nd, l, &known);
	uint32_t id = u32(e);
	uint32_t serial = kind == BD_T_PORT ? 0 : u32(e);
	if (new_pid)
		u32(e);
	else
		u8(e);
	if (!known) { /* a node the dump does not list: name it */
		char buf[300];
		if (kind == BD_T_PORT)
			snprintf(buf, sizeof buf, "#Port<'%.*s'.%u>", (int)(l > 255 ? 255 : l), nd, id);
		else
			snprintf(buf, sizeof buf, "<'%.*s'.%u.%u>", (int)(l > 255 ? 255 : l), nd, id,
				 serial);
		return text_term(e, BD_T_OPAQUE, buf);
	}
	bd_term *t = node(e, kind);
	if (t)
		t->u.pid = (bd_pid){ch, id, serial};
	return t;
}

static bd_term *term(etf *e, int depth)
{
	char buf[256];
	uint32_t n, l;
	if (depth > 200 || e->bad) {
		e->bad = 1;
		return NULL;
	}
	uint8_t tag = u8(e);
	switch (tag) {
	case 97: { /* SMALL_INTEGER_EXT */
		bd_term *t = node(e, BD_T_INT);
		if (t)
			t->u.i = u8(e);
		return t;
	}
	case 98: { /* INTEGER_EXT */
		bd_term *t = node(e, BD_T_INT);
		if (t)
			t->u.i = (int32_t)u32(e);
		return t;
	}
	case 70: { /* NEW_FLOAT_EXT */
		bd_term *t = node(e, BD_T_FLOAT);
		if (!need(e, 8) || !t)
			return t;
		uint64_t bits = 0;
		for (int i = 0; i < 8; i++)
			bits = bits << 8 | e->p[i];
		e->p += 8;
		memcpy(&t->u.f, &bits, sizeof bits);
		return t;
	}
	case 99: /* FLOAT_EXT: 31 bytes of text */
		if (!need(e, 31))
			return NULL;
		e->p += 31;
		return text_term(e, BD_T_OPAQUE, "<float>");
	case 82: /* ATOM_CACHE_REF (distribution messages) */
	case 100:
	case 115:
	case 118:
	case 119: {
		e->p--;
		const char *s = atom_text(e, &l);
		bd_term *t = s ? node(e, BD_T_ATOM) : NULL;
		if (t) {
			t->u.s = s;
			t->n = l;
		}
		return t;
	}
	case 104: /* SMALL_TUPLE_EXT */
		return seq(e, BD_T_TUPLE, u8(e), depth);
	case 105: /* LARGE_TUPLE_EXT */
		return seq(e, BD_T_TUPLE, u32(e), depth);
	case 106:
		return node(e, BD_T_NIL);
	case 107: { /* STRING_EXT: bytes as a list of small ints */
		n = u16(e);
		if (!need(e, n))
			return NULL;
		bd_term *first = NULL, **link = &first;
		for (uint32_t i = 0; i < n; i++) {
			bd_term *c = node(e, BD_T_CONS), *v = node(e, BD_T_INT);
			if (!c || !v)
				break;
			v->u.i = e->p[i];
			c->u.elems = bd_arena_alloc(e->a, 2 * sizeof(bd_term *));
			if (!c->u.elems)
				break;
			c->n = 2;
			c->u.elems[0] = v;
			*link = c;
			link = &c->u.elems[1];
		}
		e->p += n;
		*link = &nil_term;
		return first;
	}
	case 108: /* LIST_EXT */
		return list(e, u32(e), depth);
	case 109: /* BINARY_EXT */
	case 77: { /* BIT_BINARY_EXT */
		n = u32(e);
		if (tag == 77)
			u8(e);
		if (!need(e, n))
			return NULL;
		bd_term *t = node(e, BD_T_BINARY);
		if (t) {
			t->bin_kind = BD_BIN_HEAP;
			t->u.bin.size = t->u.bin.orig_size = n;
			size_t keep = n > 4096 ? 4096 : n;
			uint8_t *d = bd_arena_alloc(e->a, keep ? keep : 1);
			if (d)
				memcpy(d, e->p, keep);
			t->u.bin.data = d;
			t->n = (uint32_t)keep;
		}
		e->p += n;
		return t;
	}
	case 110: /* SMALL_BIG_EXT */
		return bignum(e, u8(e));
	case 111: /* LARGE_BIG_EXT */
		return bignum(e, u32(e));
	case 116: { /* MAP_EXT */
		n = u32(e);
		if (n > UINT32_MAX / 2) {
			e->bad = 1;
			return NULL;
		}
		/* n pairs are 2n terms; the map holds the whole pairs that decoded. */
		bd_term *t = seq(e, BD_T_MAP, 2 * n, depth);
		if (t)
			t->n /= 2;
		return t;
	}
	case 103: /* PID_EXT */
		return pid_term(e, BD_T_PID, 0);
	case 88: /* NEW_PID_EXT */
		return pid_term(e, BD_T_PID, 1);
	case 102: /* PORT_EXT */
		return pid_term(e, BD_T_PORT, 0);
	case 89: /* NEW_PORT_EXT */
		return pid_term(e, BD_T_PORT, 1);
	case 120: { /* V4_PORT_EXT: node, 8-byte id, creation */
		const char *nd = atom_text(e, &l);
		if (!nd || !need(e, 12))
			return NULL;
		uint64_t id = 0;
		for (int i = 0; i < 8; i++)
			id = id << 8 | e->p[i];
		e->p += 12;
		int known;
		uint32_t ch = node_channel(e, nd, l, &known);
		if (!known) {
			snprintf(buf, sizeof buf, "#Port<'%.*s'.%llu>", (int)(l > 200 ? 200 : l), nd,
				 (unsigned long long)id);
			return text_term(e, BD_T_OPAQUE, buf);
		}
		bd_term *t = node(e, BD_T_PORT);
		if (t)
			t->u.pid = (bd_pid){ch, (uint32_t)id, 0};
		return t;
	}
	case 101: { /* REFERENCE_EXT */
		const char *nd = atom_text(e, &l);
		if (!nd)
			return NULL;
		int known;
		uint32_t ch = node_channel(e, nd, l, &known);
		snprintf(buf, sizeof buf, "#Ref<%u.%u>", ch, u32(e));
		u8(e);
		return text_term(e, BD_T_REF, buf);
	}
	case 114: /* NEW_REFERENCE_EXT */
	case 90: { /* NEWER_REFERENCE_EXT */
		n = u16(e);
		const char *nd = atom_text(e, &l);
		if (!nd)
			return NULL;
		if (tag == 90)
			u32(e);
		else
			u8(e);
		if (n > 5 || !need(e, 4u * n))
			return text_term(e, BD_T_REF, "#Ref<?>");
		uint32_t ids[5];
		for (uint32_t i = 0; i < n; i++)
			ids[i] = u32(e);
		int known;
		uint32_t ch = node_channel(e, nd, l, &known);
		size_t k = known ? (size_t)snprintf(buf, sizeof buf, "#Ref<%u", ch)
				 : (size_t)snprintf(buf, sizeof buf, "#Ref<'%.*s'", (int)(l > 100 ? 100 : l), nd);
		for (uint32_t i = n; i-- > 0;)
			k += (size_t)snprintf(buf + k, sizeof buf - k, ".%u", ids[i]);
		snprintf(buf + k, sizeof buf - k, ">");
		return text_term(e, BD_T_REF, buf);
	}
	case 113: { /* EXPORT_EXT */
		uint32_t ml, fl;
		const char *m = atom_text(e, &ml), *f = m ? atom_text(e, &fl) : NULL;
		bd_term *ar = f ? term(e, depth + 1) : NULL;
		snprintf(buf, sizeof buf, "fun %s:%s/%lld", m ? m : "?", f ? f : "?",
			 ar && ar->kind == BD_T_INT ? (long long)ar->u.i : -1LL);
		return text_term(e, BD_T_FUN, buf);
	}
	case 112: { /* NEW_FUN_EXT */
		uint32_t size = u32(e);
		const uint8_t *start = e->p - 4; /* Size counts itself */
		uint8_t arity = u8(e);
		if (!need(e, 16 + 8))
			return NULL;
		e->p += 16; /* md5 uniq */
		uint32_t index = u32(e);
		u32(e); /* num free */
		uint32_t ml;
		const char *m = atom_text(e, &ml);
		bd_term *old_index = m ? term(e, depth + 1) : NULL;
		bd_term *old_uniq = old_index ? term(e, depth + 1) : NULL;
		(void)old_index;
		snprintf(buf, sizeof buf, "#Fun<%s.%u.%lld>/%u", m ? m : "?", index,
			 old_uniq && old_uniq->kind == BD_T_INT ? (long long)old_uniq->u.i : 0LL,
			 arity);
		/* Skip pid and free variables (replaced by [] in dumps) using the size. */
		if (size >= 5 && (size_t)(e->end - start) >= size)
			e->p = start + size;
		else
			e->p = e->end;
		e->bad = 0;
		return text_term(e, BD_T_FUN, buf);
	}
	case 121: /* LOCAL_EXT: opaque */
		e->p = e->end;
		return text_term(e, BD_T_OPAQUE, "<local>");
	default:
		e->bad = 1;
		return NULL;
	}
}

bd_term *bd_etf_decode(bd_arena *a, const uint8_t *p, size_t n, uint32_t budget)
{
	return bd_etf_decode_ctx(a, p, n, budget, NULL);
}

bd_term *bd_etf_decode_ctx(bd_arena *a, const uint8_t *p, size_t n, uint32_t budget,
			   const bd_etf_ctx *ctx)
{
	etf e = {a, p, p + n, budget ? budget : 1, 0, ctx};
	if (n < 2 || p[0] != 131)
		return NULL;
	e.p++;
	bd_term *t = term(&e, 0);
	return t;
}
