/* Erlang-syntax printing of decoded terms, bounded by depth and item count, and small
 * helpers that analyses use to read terms. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beamdump/secret.h"
#include "int.h"

typedef struct out {
	char *buf;
	size_t cap, len;
} out;

static void put(out *o, const char *s, size_t n)
{
	if (o->len + 1 >= o->cap)
		return;
	size_t room = o->cap - 1 - o->len;
	if (n > room)
		n = room;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = 0;
}

static void puts_(out *o, const char *s) { put(o, s, strlen(s)); }

static void putf(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(out *o, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		put(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static int atom_needs_quotes(const char *s, size_t n)
{
	if (!n || !(s[0] >= 'a' && s[0] <= 'z'))
		return 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '@' || c >= 0x80))
			return 1;
	}
	static const char *reserved[] = {"after", "and",  "andalso", "band", "begin", "bnot",
					 "bor",   "bsl",  "bsr",     "bxor", "case",  "catch",
					 "cond",  "div",  "end",     "fun",  "if",    "let",
					 "maybe", "not",  "of",      "or",   "orelse", "receive",
					 "rem",   "try",  "when",    "xor"};
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (strlen(reserved[i]) == n && memcmp(reserved[i], s, n) == 0)
			return 1;
	return 0;
}

/* Is byte i of s a UTF-8 continuation byte after its lead (not a lone C1 byte)? */
static int continues(const char *s, size_t i)
{
	size_t back = 0;
	while (back < 3 && back < i && ((unsigned char)s[i - back - 1] & 0xc0) == 0x80)
		back++;
	if (back == i)
		return 0;
	unsigned lead = (unsigned char)s[i - back - 1];
	size_t need = lead >= 0xf0 && lead < 0xf8 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc2 ? 1 : 0;
	return lead >= 0xc2 && back < need;
}

static void put_escaped(out *o, const char *s, size_t n, char q)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == (unsigned char)q || c == '\\') {
			char e[2] = {'\\', (char)c};
			put(o, e, 2);
		} else if (c == '\n') {
			put(o, "\\n", 2);
		} else if (c == '\t') {
			put(o, "\\t", 2);
		} else if (c < 32 || c == 127) {
			putf(o, "\\%03o", c);
		} else if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
			   (unsigned char)s[i + 1] < 0xa0) {
			putf(o, "\\x{%X}", (unsigned char)s[++i]); /* C1 control in UTF-8 */
		} else if (c >= 0x80 && c < 0xa0 && !continues(s, i)) {
			putf(o, "\\%03o", c); /* C1 control as a latin-1 byte */
		} else {
			put(o, (const char *)&c, 1);
		}
	}
}

static void put_atom(out *o, const char *s, size_t n)
{
	if (bd_secret_is(s, n)) {
		puts_(o, "'" BD_SECRET_SHOWN "'");
		return;
	}
	if (atom_needs_quotes(s, n)) {
		put(o, "'", 1);
		put_escaped(o, s, n, '\'');
		put(o, "'", 1);
	} else {
		put(o, s, n);
	}
}

static int printable(int64_t c)
{
	return (c >= 32 && c < 127) || c == '\n' || c == '\t' || c == '\r';
}

/* A proper list of printable small integers prints as a string. */
static int is_string(const bd_term *t, size_t max)
{
	size_t n = 0;
	while (t && t->kind == BD_T_CONS && n < max) {
		const bd_term *h = t->u.elems[0];
		if (!h || h->kind != BD_T_INT || !printable(h->u.i))
			return 0;
		t = t->u.elems[1];
		n++;
	}
	return n > 0 && t && (t->kind == BD_T_NIL || n == max);
}

static void fmt(out *o, const bd_term *t, int depth, int items);

/* {E1,E2,...} in either syntax (each prints an element): at most items, then "...". */
static void put_tuple(out *o, const bd_term *t, const char *sep, int depth, int items,
		      void (*each)(out *o, const bd_term *t, int depth, int items))
{
	put(o, "{", 1);
	for (uint32_t i = 0; i < t->n; i++) {
		if (i)
			puts_(o, sep);
		if (items >= 0 && (int)i >= items) {
			puts_(o, "...");
			break;
		}
		each(o, t->u.elems[i], depth - 1, items);
	}
	put(o, "}", 1);
}

/* A charlist holding a cookie (init's -setcookie argument on older releases). */
static int string_is_secret(const bd_term *t)
{
	char s[256];
	size_t n = 0;
	for (; t && t->kind == BD_T_CONS && n < sizeof s; t = t->u.elems[1])
		s[n++] = (char)t->u.elems[0]->u.i;
	return t && t->kind == BD_T_NIL && bd_secret_is(s, n);
}

/* Length of the valid UTF-8 text of printable characters that d[0..n) is (a sequence
 * the display limit cut in two is dropped from the end: *n shrinks), or 0 when it is
 * not such text or has no character beyond ASCII (then it is not worth the /utf8). */
static int utf8_text(const uint8_t *d, size_t *n, int cut)
{
	size_t i = 0, len = *n;
	int wide = 0;
	while (i < len) {
		uint8_t c = d[i];
		size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
				      : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (!k || (k == 1 && !printable(c)))
			return 0;
		if (i + k > len) {
			if (!cut)
				return 0;
			*n = i; /* the rest of this character is past the display limit */
			break;
		}
		uint32_t cp = k == 1 ? c : (uint32_t)(c & (0x7f >> k));
		for (size_t j = 1; j < k; j++) {
			if ((d[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (d[i + j] & 0x3f);
		}
		/* overlong forms, surrogates, C1 controls and out of range are not text */
		if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff || (cp >= 0x80 && cp < 0xa0))
			return 0;
		wide |= k > 1;
		i += k;
	}
	return wide;
}

static void fmt_binary(out *o, const bd_term *t, int items)
{
	const uint8_t *d = t->u.bin.data;
	size_t have = d ? t->n : 0, show = have;
	size_t limit = items > 0 ? (size_t)items * 4 : 64;
	if (show > limit)
		show = limit;
	int text = have > 0, utf8 = 0;
	for (size_t i = 0; i < show && text; i++)
		text = printable(d[i]);
	size_t ushow = show;
	if (!text && have > 0 && (utf8 = utf8_text(d, &ushow, show < have)) != 0 && ushow > 0) {
		text = 1;
		show = ushow;
	} else {
		utf8 = 0;
	}
	if (have && have == t->u.bin.size && bd_secret_is(d, have)) {
		puts_(o, "<<\"" BD_SECRET_SHOWN "\">>");
		return;
	}
	put(o, "<<", 2);
	if (text) {
		put(o, "\"", 1);
		put_escaped(o, (const char *)d, show, '"');
		put(o, "\"", 1);
		if (utf8)
			puts_(o, "/utf8");
	} else {
		for (size_t i = 0; i < show; i++)
			putf(o, i ? ",%u" : "%u", d[i]);
	}
	/* More bytes than shown, unless those shown are all the dump has. */
	if (show < t->u.bin.size && !((t->flags & BD_TF_CUT) && show == have))
		puts_(o, show ? ",..." : "...");
	put(o, ">>", 2);
	if (t->flags & BD_TF_CUT)
		putf(o, "(%llu bytes, the dump has %zu)", (unsigned long long)t->u.bin.size, have);
	else if (t->u.bin.size > show || (t->bin_kind == BD_BIN_REFC && !d))
		putf(o, "(%llu bytes%s)", (unsigned long long)t->u.bin.size,
		     t->bin_kind == BD_BIN_REFC && t->u.bin.orig_size == BD_UNKNOWN ? ", not in dump"
										      : "");
}

static void fmt(out *o, const bd_term *t, int depth, int items)
{
	char b[64];
	if (o->len + 1 >= o->cap)
		return; /* the buffer is full: the rest of a big term would not show */
	if (!t) {
		puts_(o, "'#Missing'");
		return;
	}
	if (depth < 0 && (t->kind == BD_T_TUPLE || t->kind == BD_T_CONS || t->kind == BD_T_MAP)) {
		puts_(o, "...");
		return;
	}
	switch (t->kind) {
	case BD_T_NIL:
		puts_(o, "[]");
		return;
	case BD_T_ATOM:
		put_atom(o, t->u.s, t->n);
		return;
	case BD_T_INT:
		putf(o, "%lld", (long long)t->u.i);
		return;
	case BD_T_BIG:
		put(o, t->u.s, t->n);
		return;
	case BD_T_FLOAT: {
		char fb[48];
		snprintf(fb, sizeof fb, "%.15g", t->u.f);
		if (strtod(fb, NULL) != t->u.f)
			snprintf(fb, sizeof fb, "%.17g", t->u.f);
		if (!strpbrk(fb, ".en"))
			strcat(fb, ".0");
		puts_(o, fb);
		return;
	}
	case BD_T_PID:
		puts_(o, bd_pid_fmt(t->u.pid, b, sizeof b));
		return;
	case BD_T_PORT:
		puts_(o, bd_port_fmt(t->u.pid, b, sizeof b));
		return;
	case BD_T_REF:
	case BD_T_FUN:
		puts_(o, t->u.s ? t->u.s : "#Fun<?>");
		return;
	case BD_T_TUPLE:
		put_tuple(o, t, ",", depth, items, fmt);
		return;
	case BD_T_CONS: {
		size_t max = items >= 0 ? (size_t)items * 8 + 8 : 1u << 20;
		if (is_string(t, max)) {
			if (string_is_secret(t)) {
				puts_(o, "\"" BD_SECRET_SHOWN "\"");
				return;
			}
			put(o, "\"", 1);
			size_t n = 0;
			const bd_term *c = t;
			for (; c->kind == BD_T_CONS && n < max; c = c->u.elems[1], n++) {
				char ch = (char)c->u.elems[0]->u.i;
				put_escaped(o, &ch, 1, '"');
			}
			put(o, "\"", 1);
			if (c->kind != BD_T_NIL)
				puts_(o, "..."); /* more of the string than is shown */
			return;
		}
		put(o, "[", 1);
		const bd_term *c = t;
		int i = 0;
		for (; c && c->kind == BD_T_CONS; c = c->u.elems[1], i++) {
			if (i)
				put(o, ",", 1);
			if (items >= 0 && i >= items) {
				puts_(o, "...");
				c = NULL;
				break;
			}
			fmt(o, c->u.elems[0], depth - 1, items);
			if (o->len + 2 >= o->cap)
				break;
		}
		if (c && c->kind != BD_T_NIL && c->kind != BD_T_CONS) {
			put(o, "|", 1);
			fmt(o, c, depth - 1, items);
		}
		put(o, "]", 1);
		return;
	}
	case BD_T_MAP:
		put(o, "#{", 2);
		for (uint32_t i = 0; i < t->n; i++) {
			if (i)
				put(o, ",", 1);
			if (items >= 0 && (int)i >= items) {
				puts_(o, "...");
				break;
			}
			fmt(o, t->u.elems[2 * i], depth - 1, items);
			put(o, " => ", 4);
			fmt(o, t->u.elems[2 * i + 1], depth - 1, items);
		}
		put(o, "}", 1);
		return;
	case BD_T_BINARY:
		fmt_binary(o, t, items);
		return;
	case BD_T_MISSING:
		if (t->u.addr == BD_UNKNOWN)
			puts_(o, "'#Cut'");
		else
			putf(o, "'#Missing<%llX>'", (unsigned long long)t->u.addr);
		return;
	case BD_T_LIMIT:
		puts_(o, "...");
		return;
	default:
		puts_(o, "'#Opaque<");
		if (t->u.s)
			put_escaped(o, t->u.s, t->n, '\'');
		puts_(o, ">'");
		return;
	}
}

/* ---- Elixir style: what IO.inspect prints ---- */

static _Atomic int g_style = BD_STYLE_ERLANG;

void bd_term_set_style(bd_style s) { g_style = s; }

bd_style bd_term_style(void) { return (bd_style)g_style; }

static int is_ident_start(unsigned char c) { return (c >= 'a' && c <= 'z') || c == '_'; }

static int is_ident(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '@' || c >= 0x80;
}

/* "Foo.Bar" of 'Elixir.Foo.Bar': each segment capitalised, identifier characters. */
static int alias_of(const char *s, size_t n, const char **a, size_t *an)
{
	if (n <= 7 || memcmp(s, "Elixir.", 7))
		return 0;
	const char *p = s + 7, *e = s + n;
	for (int seg_start = 1; p < e; p++) {
		unsigned char c = (unsigned char)*p;
		if (seg_start && !(c >= 'A' && c <= 'Z'))
			return 0;
		if (c == '.') {
			seg_start = 1;
			continue;
		}
		if (!seg_start && !is_ident(c))
			return 0;
		seg_start = 0;
	}
	if (s[n - 1] == '.')
		return 0;
	*a = s + 7;
	*an = n - 7;
	return 1;
}

/* An atom that Elixir writes bare after ':' (and as a keyword key): foo, foo?, foo!. */
static int bare_atom(const char *s, size_t n)
{
	if (!n || !is_ident_start((unsigned char)s[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!is_ident((unsigned char)s[i]) &&
		    !(i == n - 1 && (s[i] == '?' || s[i] == '!')))
			return 0;
	return 1;
}

static void ex_escaped(out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			put(o, (char[]){'\\', (char)c}, 2);
		else if (c == '#' && i + 1 < n && s[i + 1] == '{')
			put(o, "\\#", 2);
		else if (c == '\n')
			put(o, "\\n", 2);
		else if (c == '\t')
			put(o, "\\t", 2);
		else if (c == '\r')
			put(o, "\\r", 2);
		else if (c < 32 || c == 127)
			putf(o, "\\x%02X", c);
		else
			put(o, (const char *)&c, 1);
	}
}

static void ex_atom(out *o, const char *s, size_t n, int key)
{
	const char *a;
	size_t an;
	if (bd_secret_is(s, n)) {
		puts_(o, key ? "\"" BD_SECRET_SHOWN "\": " : ":\"" BD_SECRET_SHOWN "\"");
		return;
	}
	if (!key && ((n == 3 && !memcmp(s, "nil", 3)) || (n == 4 && !memcmp(s, "true", 4)) ||
		     (n == 5 && !memcmp(s, "false", 5)))) {
		put(o, s, n);
		return;
	}
	if (!key && alias_of(s, n, &a, &an)) {
		put(o, a, an);
		return;
	}
	if (!key)
		put(o, ":", 1);
	if (bare_atom(s, n)) {
		put(o, s, n);
	} else {
		put(o, "\"", 1);
		ex_escaped(o, s, n);
		put(o, "\"", 1);
	}
	if (key)
		put(o, ": ", 2);
}

static int ex_printable(const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = d[i];
		size_t l = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		if (!l || (l == 1 && !printable(c) && c != 27 && c != 7 && c != 8 && c != 11 && c != 12))
			return 0;
		if (i + l > n)
			return 1; /* cut inside a character: the shown part is text */
		for (size_t k = 1; k < l; k++)
			if ((d[i + k] & 0xc0) != 0x80)
				return 0;
		i += l;
	}
	return n > 0;
}

static void ex_binary(out *o, const bd_term *t, int items)
{
	const uint8_t *d = t->u.bin.data;
	size_t have = d ? t->n : 0, show = have;
	size_t limit = items > 0 ? (size_t)items * 4 : 64;
	if (show > limit)
		show = limit;
	if (have && have == t->u.bin.size && bd_secret_is(d, have)) {
		puts_(o, "\"" BD_SECRET_SHOWN "\"");
		return;
	}
	int cut = show < t->u.bin.size;
	if (ex_printable(d, show) && !cut) {
		put(o, "\"", 1);
		ex_escaped(o, (const char *)d, show);
		put(o, "\"", 1);
		return;
	}
	put(o, "<<", 2);
	if (ex_printable(d, show)) {
		put(o, "\"", 1);
		ex_escaped(o, (const char *)d, show);
		put(o, "\"", 1);
	} else {
		for (size_t i = 0; i < show; i++)
			putf(o, i ? ", %u" : "%u", d[i]);
	}
	if (cut)
		puts_(o, show ? ", ..." : "...");
	put(o, ">>", 2);
	if (t->u.bin.size > show || (t->bin_kind == BD_BIN_REFC && !d))
		putf(o, "(%llu bytes%s)", (unsigned long long)t->u.bin.size,
		     t->bin_kind == BD_BIN_REFC && t->u.bin.orig_size == BD_UNKNOWN ? ", not in dump"
										      : "");
}

static void ex(out *o, const bd_term *t, int depth, int items);

/* [a: 1, b: 2]: a proper list of {atom, value} pairs. */
static int keyword_list(const bd_term *t)
{
	int n = 0;
	for (; t && t->kind == BD_T_CONS; t = t->u.elems[1], n++) {
		const bd_term *e = t->u.elems[0];
		if (!e || e->kind != BD_T_TUPLE || e->n != 2 || !e->u.elems[0] ||
		    e->u.elems[0]->kind != BD_T_ATOM)
			return 0;
	}
	return n > 0 && t && t->kind == BD_T_NIL;
}

static void ex_list(out *o, const bd_term *t, int depth, int items)
{
	size_t max = items >= 0 ? (size_t)items * 8 + 8 : 1u << 20;
	if (is_string(t, max)) {
		if (string_is_secret(t)) {
			puts_(o, "~c\"" BD_SECRET_SHOWN "\"");
			return;
		}
		puts_(o, "~c\"");
		size_t n = 0;
		for (const bd_term *c = t; c->kind == BD_T_CONS && n < max; c = c->u.elems[1], n++) {
			char ch = (char)c->u.elems[0]->u.i;
			ex_escaped(o, &ch, 1);
		}
		put(o, "\"", 1);
		return;
	}
	int kw = keyword_list(t);
	put(o, "[", 1);
	const bd_term *c = t;
	int i = 0;
	for (; c && c->kind == BD_T_CONS; c = c->u.elems[1], i++) {
		if (i)
			put(o, ", ", 2);
		if (items >= 0 && i >= items) {
			puts_(o, "...");
			c = NULL;
			break;
		}
		const bd_term *e = c->u.elems[0];
		if (kw) {
			ex_atom(o, e->u.elems[0]->u.s, e->u.elems[0]->n, 1);
			ex(o, e->u.elems[1], depth - 1, items);
		} else {
			ex(o, e, depth - 1, items);
		}
		if (o->len + 2 >= o->cap)
			break;
	}
	if (c && c->kind != BD_T_NIL && c->kind != BD_T_CONS) {
		put(o, " | ", 3);
		ex(o, c, depth - 1, items);
	}
	put(o, "]", 1);
}

static void ex_map(out *o, const bd_term *t, int depth, int items)
{
	const bd_term *mod = NULL;
	int atom_keys = 1;
	for (uint32_t i = 0; i < t->n; i++) {
		const bd_term *k = t->u.elems[2 * i];
		if (bd_term_is_atom(k, "__struct__") && t->u.elems[2 * i + 1] &&
		    t->u.elems[2 * i + 1]->kind == BD_T_ATOM)
			mod = t->u.elems[2 * i + 1];
		atom_keys &= k && k->kind == BD_T_ATOM;
	}
	put(o, "%", 1);
	if (mod)
		ex_atom(o, mod->u.s, mod->n, 0);
	put(o, "{", 1);
	int shown = 0;
	for (uint32_t i = 0; i < t->n; i++) {
		const bd_term *k = t->u.elems[2 * i];
		if (mod && bd_term_is_atom(k, "__struct__"))
			continue;
		if (shown)
			put(o, ", ", 2);
		if (items >= 0 && shown >= items) {
			puts_(o, "...");
			break;
		}
		if (atom_keys) {
			ex_atom(o, k->u.s, k->n, 1);
		} else {
			ex(o, k, depth - 1, items);
			put(o, " => ", 4);
		}
		ex(o, t->u.elems[2 * i + 1], depth - 1, items);
		shown++;
	}
	put(o, "}", 1);
}

/* "#Ref<0.1.2.3>" -> "#Reference<0.1.2.3>", "#Fun<m.0.1>" -> "#Function<0.1/m>"-ish:
 * the VM's text with Elixir's name for the kind. */
static void ex_tagged(out *o, const char *s, const char *from, const char *to)
{
	size_t fl = strlen(from);
	if (s && !strncmp(s, from, fl)) {
		puts_(o, to);
		puts_(o, s + fl);
	} else {
		puts_(o, s ? s : "#Function<?>");
	}
}

static void ex(out *o, const bd_term *t, int depth, int items)
{
	char b[64];
	if (!t) {
		puts_(o, ":\"#Missing\"");
		return;
	}
	if (depth < 0 && (t->kind == BD_T_TUPLE || t->kind == BD_T_CONS || t->kind == BD_T_MAP)) {
		puts_(o, "...");
		return;
	}
	switch (t->kind) {
	case BD_T_ATOM:
		ex_atom(o, t->u.s, t->n, 0);
		return;
	case BD_T_PID:
		puts_(o, bd_pid_fmt(t->u.pid, b, sizeof b));
		return;
	case BD_T_REF:
		ex_tagged(o, t->u.s, "#Ref<", "#Reference<");
		return;
	case BD_T_FUN:
		ex_tagged(o, t->u.s, "#Fun<", "#Function<");
		return;
	case BD_T_TUPLE:
		put_tuple(o, t, ", ", depth, items, ex);
		return;
	case BD_T_CONS:
		ex_list(o, t, depth, items);
		return;
	case BD_T_MAP:
		ex_map(o, t, depth, items);
		return;
	case BD_T_BINARY:
		ex_binary(o, t, items);
		return;
	case BD_T_MISSING:
		putf(o, ":\"#Missing<%llX>\"", (unsigned long long)t->u.addr);
		return;
	default:
		fmt(o, t, depth, items); /* numbers, [], ports, limits: as in Erlang */
		return;
	}
}

size_t bd_term_fmt(const bd_term *t, char *buf, size_t cap, int depth, int items)
{
	if (!cap)
		return 0;
	out o = {buf, cap, 0};
	buf[0] = 0;
	if (g_style == BD_STYLE_ELIXIR)
		ex(&o, t, depth < 0 ? 1 << 20 : depth, items);
	else
		fmt(&o, t, depth < 0 ? 1 << 20 : depth, items);
	if (o.len + 1 >= cap && cap > 4)
		memcpy(buf + cap - 4, "...", 4);
	return o.len;
}

int bd_term_is_atom(const bd_term *t, const char *name)
{
	return t && t->kind == BD_T_ATOM && strlen(name) == t->n && memcmp(t->u.s, name, t->n) == 0;
}

const bd_term *bd_term_elem(const bd_term *t, uint32_t i)
{
	return t && t->kind == BD_T_TUPLE && i < t->n ? t->u.elems[i] : NULL;
}

int64_t bd_term_list(const bd_term *t, const bd_term **items, size_t cap)
{
	/* The decoders build no cycles; a term built elsewhere might: a second pointer
	 * at half speed meets the first on a cycle, which is then an improper list. */
	int64_t n = 0;
	const bd_term *slow = t;
	while (t && t->kind == BD_T_CONS) {
		if ((size_t)n < cap && items)
			items[n] = t->u.elems[0];
		n++;
		t = t->u.elems[1];
		if (!(n & 1))
			slow = slow->u.elems[1];
		if (t == slow)
			return -1;
	}
	return t && t->kind == BD_T_NIL ? n : -1;
}

const char *bd_term_mfa(const bd_term *t, char *buf, size_t cap)
{
	const bd_term *m = bd_term_elem(t, 0), *f = bd_term_elem(t, 1), *a = bd_term_elem(t, 2);
	buf[0] = 0;
	if (!(t && t->kind == BD_T_TUPLE && t->n == 3 && m && m->kind == BD_T_ATOM && f &&
	      f->kind == BD_T_ATOM && a && a->kind == BD_T_INT))
		return buf;
	/* As the VM prints it in the dump's own MFAs: 'Elixir.Foo':'-bar/1-fun-0-'/0. */
	out o = {buf, cap, 0};
	put_atom(&o, m->u.s, m->n);
	put(&o, ":", 1);
	put_atom(&o, f->u.s, f->n);
	putf(&o, "/%lld", (long long)a->u.i);
	return buf;
}

/* ---- names and MFAs in the current style ---- */

/* One atom as the VM prints it ('quoted' or bare) at s: its text (unquoted, escapes
 * kept as they are: names rarely have them) and where it ends. */
static const char *atom_text(const char *s, const char **t, size_t *n)
{
	if (*s == '\'') {
		const char *e = s + 1;
		while (*e && *e != '\'')
			e += e[0] == '\\' && e[1] ? 2 : 1;
		if (!*e)
			return NULL;
		*t = s + 1;
		*n = (size_t)(e - s - 1);
		return e + 1;
	}
	const char *e = s;
	while (*e && *e != ':' && *e != '/' && *e != ' ')
		e++;
	*t = s;
	*n = (size_t)(e - s);
	return e;
}

const char *bd_style_name(const char *s, char *buf, size_t cap)
{
	const char *t, *a, *e;
	size_t n, an;
	if (!cap)
		return buf;
	snprintf(buf, cap, "%s", s ? s : "");
	if (g_style != BD_STYLE_ELIXIR || !s)
		return buf;
	e = atom_text(s, &t, &n);
	if (e && !*e && alias_of(t, n, &a, &an))
		snprintf(buf, cap, "%.*s", (int)an, a);
	return buf;
}

const char *bd_style_mfa(const char *s, char *buf, size_t cap)
{
	const char *mt, *ft, *a, *e;
	size_t mn, fn, an;
	if (!cap)
		return buf;
	snprintf(buf, cap, "%s", s ? s : "");
	if (g_style != BD_STYLE_ELIXIR || !s)
		return buf;
	const char *p = atom_text(s, &mt, &mn);
	if (!p || *p != ':')
		return buf;
	p = atom_text(p + 1, &ft, &fn);
	if (!p || *p != '/')
		return buf;
	out o = {buf, cap, 0};
	buf[0] = 0;
	char mod[256];
	if (alias_of(mt, mn, &a, &an))
		snprintf(mod, sizeof mod, "%.*s", (int)an, a);
	else if (bare_atom(mt, mn))
		snprintf(mod, sizeof mod, ":%.*s", (int)mn, mt);
	else
		snprintf(mod, sizeof mod, ":\"%.*s\"", (int)mn, mt);
	/* '-handle/2-fun-0-'/1: Elixir says "anonymous fn/1 in Mod.handle/2" */
	const char *slash = fn > 6 && ft[0] == '-' ? memchr(ft, '/', fn) : NULL;
	const char *fun = slash ? strstr(slash, "-fun-") : NULL;
	if (fun && fun < ft + fn) {
		e = p + 1;
		size_t arity = strspn(e, "0123456789");
		putf(&o, "anonymous fn/%.*s in %s.%.*s", (int)arity, e, mod,
		     (int)(fun - ft - 1), ft + 1);
		puts_(&o, e + arity);
		return buf;
	}
	puts_(&o, mod);
	put(&o, ".", 1);
	if (bare_atom(ft, fn))
		put(&o, ft, fn);
	else
		putf(&o, "\"%.*s\"", (int)(fn > 100 ? 100 : fn), ft);
	puts_(&o, p); /* "/A" and any " + off" */
	return buf;
}

const char *bd_style_text(const char *s, char *buf, size_t cap)
{
	if (!cap)
		return buf;
	if (g_style != BD_STYLE_ELIXIR || !s) {
		snprintf(buf, cap, "%s", s ? s : "");
		return buf;
	}
	out o = {buf, cap, 0};
	buf[0] = 0;
	for (const char *p = s; *p;) {
		int quoted = p[0] == '\'' && !strncmp(p + 1, "Elixir.", 7);
		int bare = !strncmp(p, "Elixir.", 7) && (p == s || !is_ident((unsigned char)p[-1]));
		const char *t, *a, *e = NULL;
		size_t n, an;
		if (quoted || bare)
			e = atom_text(p, &t, &n);
		if (e && bare) { /* a bare alias ends at the first character no alias has */
			n = 0;
			while (t[n] && (is_ident((unsigned char)t[n]) || t[n] == '.'))
				n++;
			while (n && t[n - 1] == '.')
				n--;
			e = t + n;
		}
		if (!e || !alias_of(t, n, &a, &an)) {
			put(&o, p, 1);
			p++;
			continue;
		}
		/* Mod:fun/N after it: the Elixir MFA */
		if (*e == ':' && e[1] && e[1] != ' ') {
			const char *f = e + 1, *ft, *fe = atom_text(f, &ft, &n);
			if (fe && *fe == '/' && fe[1] >= '0' && fe[1] <= '9') {
				char mfa[512], tmp[512];
				snprintf(mfa, sizeof mfa, "%.*s%.*s", (int)(fe - p), p,
					 (int)strspn(fe + 1, "0123456789") + 1, fe);
				puts_(&o, bd_style_mfa(mfa, tmp, sizeof tmp));
				p = fe + 1 + strspn(fe + 1, "0123456789");
				continue;
			}
		}
		put(&o, a, an);
		p = e;
	}
	return buf;
}
