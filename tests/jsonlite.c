/* JSON + schema-subset validation and XML parsing for tests (see jsonlite.h). */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonlite.h"

/* ---- JSON ---- */

typedef struct jp {
	const char *p;
	char *err;
	size_t errcap;
	int depth;
} jp;

static void ws(jp *s)
{
	while (*s->p == ' ' || *s->p == '\n' || *s->p == '\t' || *s->p == '\r')
		s->p++;
}

static jv *fail(jp *s, const char *what)
{
	if (s->err && !s->err[0])
		snprintf(s->err, s->errcap, "%s at '%.20s'", what, s->p);
	return NULL;
}

static jv *jnew(jv_kind k)
{
	jv *v = calloc(1, sizeof *v);
	if (v)
		v->kind = k;
	return v;
}

static void push(jv *v, char *key, jv *item)
{
	v->items = realloc(v->items, (v->n + 1) * sizeof *v->items);
	if (v->kind == JV_OBJ)
		v->keys = realloc(v->keys, (v->n + 1) * sizeof *v->keys);
	if (v->kind == JV_OBJ)
		v->keys[v->n] = key;
	v->items[v->n++] = item;
}

static void put_utf8(char **o, unsigned c)
{
	char *q = *o;
	if (c < 0x80) {
		*q++ = (char)c;
	} else if (c < 0x800) {
		*q++ = (char)(0xc0 | c >> 6);
		*q++ = (char)(0x80 | (c & 0x3f));
	} else {
		*q++ = (char)(0xe0 | c >> 12);
		*q++ = (char)(0x80 | ((c >> 6) & 0x3f));
		*q++ = (char)(0x80 | (c & 0x3f));
	}
	*o = q;
}

static char *jstring(jp *s)
{
	if (*s->p != '"')
		return fail(s, "expected string"), NULL;
	s->p++;
	const char *e = s->p;
	size_t n = 0;
	while (*e && *e != '"') {
		if ((unsigned char)*e < 0x20)
			return fail(s, "control character in string"), NULL;
		e += *e == '\\' && e[1] ? 2 : 1;
		n++;
	}
	if (!*e)
		return fail(s, "unterminated string"), NULL;
	char *out = malloc(n * 3 + 1), *o = out;
	while (s->p < e) {
		if (*s->p != '\\') {
			*o++ = *s->p++;
			continue;
		}
		s->p++;
		char c = *s->p++;
		switch (c) {
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case '/': case '\\': case '"': *o++ = c; break;
		case 'u': {
			unsigned u = 0;
			for (int i = 0; i < 4; i++) {
				if (!isxdigit((unsigned char)s->p[i])) {
					free(out);
					return fail(s, "bad \\u escape"), NULL;
				}
				u = u * 16 + (unsigned)(isdigit((unsigned char)s->p[i]) ? s->p[i] - '0'
									     : (tolower(s->p[i]) - 'a' + 10));
			}
			s->p += 4;
			put_utf8(&o, u);
			break;
		}
		default:
			free(out);
			return fail(s, "bad escape"), NULL;
		}
	}
	*o = 0;
	s->p = e + 1;
	return out;
}

static jv *jvalue(jp *s);

static jv *jcompound(jp *s, int obj)
{
	jv *v = jnew(obj ? JV_OBJ : JV_ARR);
	s->p++;
	ws(s);
	if (*s->p == (obj ? '}' : ']')) {
		s->p++;
		return v;
	}
	for (;;) {
		char *key = NULL;
		ws(s);
		if (obj) {
			if (!(key = jstring(s)))
				return jv_free(v), NULL;
			ws(s);
			if (*s->p != ':') {
				free(key);
				jv_free(v);
				return fail(s, "expected ':'");
			}
			s->p++;
			for (size_t i = 0; i < v->n; i++)
				if (!strcmp(v->keys[i], key)) {
					free(key);
					jv_free(v);
					return fail(s, "duplicate key");
				}
		}
		jv *item = jvalue(s);
		if (!item) {
			free(key);
			return jv_free(v), NULL;
		}
		push(v, key, item);
		ws(s);
		if (*s->p == ',') {
			s->p++;
			continue;
		}
		if (*s->p == (obj ? '}' : ']')) {
			s->p++;
			return v;
		}
		jv_free(v);
		return fail(s, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static jv *jvalue(jp *s)
{
	ws(s);
	if (++s->depth > 200)
		return fail(s, "too deep");
	jv *v = NULL;
	if (*s->p == '{' || *s->p == '[') {
		v = jcompound(s, *s->p == '{');
	} else if (*s->p == '"') {
		char *str = jstring(s);
		if (str) {
			v = jnew(JV_STR);
			v->str = str;
		}
	} else if (!strncmp(s->p, "null", 4)) {
		v = jnew(JV_NULL);
		s->p += 4;
	} else if (!strncmp(s->p, "true", 4) || !strncmp(s->p, "false", 5)) {
		v = jnew(JV_BOOL);
		v->b = *s->p == 't';
		s->p += v->b ? 4 : 5;
	} else if (*s->p == '-' || isdigit((unsigned char)*s->p)) {
		const char *st = s->p;
		char *e;
		double d = strtod(st, &e);
		v = jnew(JV_NUM);
		v->num = d;
		v->is_int = !memchr(st, '.', (size_t)(e - st)) && !memchr(st, 'e', (size_t)(e - st)) &&
			    !memchr(st, 'E', (size_t)(e - st));
		s->p = e;
	} else {
		v = fail(s, "unexpected character");
	}
	s->depth--;
	return v;
}

jv *jv_parse(const char *text, char *err, size_t errcap)
{
	jp s = {text, err, errcap, 0};
	if (err && errcap)
		err[0] = 0;
	jv *v = jvalue(&s);
	if (!v)
		return NULL;
	ws(&s);
	if (*s.p) {
		jv_free(v);
		return fail(&s, "trailing text");
	}
	return v;
}

void jv_free(jv *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		jv_free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

const jv *jv_get(const jv *o, const char *key)
{
	if (!o || o->kind != JV_OBJ)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->keys[i], key))
			return o->items[i];
	return NULL;
}

/* ---- schema ---- */

typedef struct vctx {
	const jv *root;
	char *err;
	size_t errcap;
} vctx;

static int verr(vctx *c, const char *path, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errcap, "%s: %s", path[0] ? path : "(root)", msg);
	return -1;
}

static int type_ok(const char *t, const jv *v)
{
	if (!strcmp(t, "null"))
		return v->kind == JV_NULL;
	if (!strcmp(t, "boolean"))
		return v->kind == JV_BOOL;
	if (!strcmp(t, "number"))
		return v->kind == JV_NUM;
	if (!strcmp(t, "integer"))
		return v->kind == JV_NUM && v->is_int;
	if (!strcmp(t, "string"))
		return v->kind == JV_STR;
	if (!strcmp(t, "array"))
		return v->kind == JV_ARR;
	if (!strcmp(t, "object"))
		return v->kind == JV_OBJ;
	return 0;
}

static int jv_equal(const jv *a, const jv *b)
{
	if (a->kind != b->kind)
		return 0;
	switch (a->kind) {
	case JV_NULL: return 1;
	case JV_BOOL: return a->b == b->b;
	case JV_NUM: return a->num == b->num;
	case JV_STR: return !strcmp(a->str, b->str);
	default: return 0; /* not needed for enums of scalars */
	}
}

static int validate(vctx *c, const jv *s, const jv *v, const char *path);

static int validate_obj(vctx *c, const jv *s, const jv *v, const char *path)
{
	const jv *req = jv_get(s, "required"), *props = jv_get(s, "properties"),
		 *addl = jv_get(s, "additionalProperties");
	char sub[512];
	for (size_t i = 0; req && i < req->n; i++)
		if (!jv_get(v, req->items[i]->str))
			return verr(c, path, "missing required key '%s'", req->items[i]->str);
	for (size_t i = 0; i < v->n; i++) {
		const jv *ps = jv_get(props, v->keys[i]);
		snprintf(sub, sizeof sub, "%s.%s", path, v->keys[i]);
		if (ps) {
			if (validate(c, ps, v->items[i], sub))
				return -1;
		} else if (addl && addl->kind == JV_BOOL && !addl->b) {
			return verr(c, path, "unexpected key '%s'", v->keys[i]);
		}
	}
	return 0;
}

static int validate(vctx *c, const jv *s, const jv *v, const char *path)
{
	const jv *ref = jv_get(s, "$ref");
	if (ref) {
		const char *pre = "#/definitions/";
		if (ref->kind != JV_STR || strncmp(ref->str, pre, strlen(pre)))
			return verr(c, path, "unsupported $ref");
		const jv *def = jv_get(jv_get(c->root, "definitions"), ref->str + strlen(pre));
		if (!def)
			return verr(c, path, "unknown $ref %s", ref->str);
		return validate(c, def, v, path);
	}
	const jv *t = jv_get(s, "type");
	if (t) {
		int ok = 0;
		if (t->kind == JV_STR)
			ok = type_ok(t->str, v);
		for (size_t i = 0; t->kind == JV_ARR && i < t->n; i++)
			ok |= type_ok(t->items[i]->str, v);
		if (!ok)
			return verr(c, path, "wrong type");
	}
	const jv *cst = jv_get(s, "const");
	if (cst && !jv_equal(cst, v))
		return verr(c, path, "not the const value");
	const jv *en = jv_get(s, "enum");
	if (en) {
		int ok = 0;
		for (size_t i = 0; i < en->n; i++)
			ok |= jv_equal(en->items[i], v);
		if (!ok)
			return verr(c, path, "value not in enum%s%s", v->kind == JV_STR ? ": " : "",
				    v->kind == JV_STR ? v->str : "");
	}
	const jv *mn = jv_get(s, "minimum");
	if (mn && v->kind == JV_NUM && v->num < mn->num)
		return verr(c, path, "%g below minimum %g", v->num, mn->num);
	const jv *one = jv_get(s, "oneOf");
	if (one) {
		int matched = 0;
		char save[512];
		snprintf(save, sizeof save, "%s", c->err);
		for (size_t i = 0; i < one->n; i++)
			matched += validate(c, one->items[i], v, path) == 0;
		if (matched != 1)
			return verr(c, path, "matches %d of oneOf", matched);
		snprintf(c->err, c->errcap, "%s", save);
	}
	if (v->kind == JV_OBJ && validate_obj(c, s, v, path))
		return -1;
	if (v->kind == JV_ARR) {
		const jv *mi = jv_get(s, "minItems"), *items = jv_get(s, "items");
		if (mi && (double)v->n < mi->num)
			return verr(c, path, "%zu items, fewer than %g", v->n, mi->num);
		for (size_t i = 0; items && i < v->n; i++) {
			char sub[512];
			snprintf(sub, sizeof sub, "%s[%zu]", path, i);
			if (validate(c, items, v->items[i], sub))
				return -1;
		}
	}
	return 0;
}

int jv_validate(const jv *schema, const jv *v, char *err, size_t errcap)
{
	vctx c = {schema, err, errcap};
	if (errcap)
		err[0] = 0;
	return validate(&c, schema, v, "");
}

/* ---- XML ---- */

typedef struct xp {
	const char *p;
	char *err;
	size_t errcap;
} xp;

static xnode *xfail(xp *s, const char *what)
{
	if (!s->err[0])
		snprintf(s->err, s->errcap, "%s at '%.30s'", what, s->p);
	return NULL;
}

static int name_char(int c) { return isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':'; }

/* Decode character data or an attribute value up to stop; NULL on a bad entity. */
static char *xdecode(xp *s, const char *start, const char *end)
{
	char *out = malloc((size_t)(end - start) + 1), *o = out;
	for (const char *p = start; p < end;) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
			free(out);
			s->p = p;
			return xfail(s, "control character"), NULL;
		}
		if (c == '<') {
			free(out);
			s->p = p;
			return xfail(s, "'<' in text"), NULL;
		}
		if (c != '&') {
			*o++ = *p++;
			continue;
		}
		static const struct { const char *ent, ch; } ents[] = {
			{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
		size_t k;
		for (k = 0; k < 5; k++)
			if (!strncmp(p, ents[k].ent, strlen(ents[k].ent)))
				break;
		if (k == 5) {
			free(out);
			s->p = p;
			return xfail(s, "unknown entity"), NULL;
		}
		*o++ = ents[k].ch;
		p += strlen(ents[k].ent);
	}
	*o = 0;
	return out;
}

static void xappend(xnode *n, const char *t)
{
	size_t a = n->text ? strlen(n->text) : 0, b = strlen(t);
	n->text = realloc(n->text, a + b + 1);
	memcpy(n->text + a, t, b + 1);
}

static xnode *xelement(xp *s, int depth)
{
	if (depth > 100 || *s->p != '<')
		return xfail(s, "expected element");
	s->p++;
	const char *n0 = s->p;
	while (name_char((unsigned char)*s->p))
		s->p++;
	if (s->p == n0)
		return xfail(s, "bad element name");
	xnode *n = calloc(1, sizeof *n);
	n->name = strndup(n0, (size_t)(s->p - n0));
	for (;;) {
		while (isspace((unsigned char)*s->p))
			s->p++;
		if (*s->p == '/' && s->p[1] == '>') {
			s->p += 2;
			return n;
		}
		if (*s->p == '>') {
			s->p++;
			break;
		}
		const char *a0 = s->p;
		while (name_char((unsigned char)*s->p))
			s->p++;
		if (s->p == a0 || *s->p != '=' || (s->p[1] != '"' && s->p[1] != '\'')) {
			xml_free(n);
			return xfail(s, "bad attribute");
		}
		char *an = strndup(a0, (size_t)(s->p - a0));
		char q = s->p[1];
		const char *v0 = s->p + 2, *v1 = strchr(v0, q);
		if (!v1) {
			free(an);
			xml_free(n);
			return xfail(s, "unterminated attribute");
		}
		char *av = xdecode(s, v0, v1);
		if (!av || xml_attr(n, an)) {
			free(an);
			free(av);
			xml_free(n);
			return xfail(s, "bad or duplicate attribute");
		}
		n->attr_names = realloc(n->attr_names, (n->nattrs + 1) * sizeof(char *));
		n->attr_values = realloc(n->attr_values, (n->nattrs + 1) * sizeof(char *));
		n->attr_names[n->nattrs] = an;
		n->attr_values[n->nattrs++] = av;
		s->p = v1 + 1;
	}
	for (;;) {
		const char *t0 = s->p;
		while (*s->p && *s->p != '<')
			s->p++;
		if (s->p > t0) {
			char *t = xdecode(s, t0, s->p);
			if (!t) {
				xml_free(n);
				return NULL;
			}
			xappend(n, t);
			free(t);
		}
		if (!*s->p) {
			xml_free(n);
			return xfail(s, "unclosed element");
		}
		if (s->p[1] == '/') {
			size_t l = strlen(n->name);
			if (strncmp(s->p + 2, n->name, l) || s->p[2 + l] != '>') {
				xml_free(n);
				return xfail(s, "mismatched end tag");
			}
			s->p += 3 + l;
			return n;
		}
		xnode *c = xelement(s, depth + 1);
		if (!c) {
			xml_free(n);
			return NULL;
		}
		n->children = realloc(n->children, (n->nchildren + 1) * sizeof *n->children);
		n->children[n->nchildren++] = c;
	}
}

xnode *xml_parse(const char *text, char *err, size_t errcap)
{
	xp s = {text, err, errcap};
	err[0] = 0;
	if (!strncmp(s.p, "<?xml", 5)) {
		const char *e = strstr(s.p, "?>");
		if (!e)
			return xfail(&s, "bad prolog");
		s.p = e + 2;
	}
	while (isspace((unsigned char)*s.p))
		s.p++;
	xnode *root = xelement(&s, 0);
	if (!root)
		return NULL;
	while (isspace((unsigned char)*s.p))
		s.p++;
	if (*s.p) {
		xml_free(root);
		return xfail(&s, "text after the root element");
	}
	return root;
}

void xml_free(xnode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nattrs; i++) {
		free(n->attr_names[i]);
		free(n->attr_values[i]);
	}
	for (size_t i = 0; i < n->nchildren; i++)
		xml_free(n->children[i]);
	free(n->attr_names);
	free(n->attr_values);
	free(n->children);
	free(n->name);
	free(n->text);
	free(n);
}

const char *xml_attr(const xnode *n, const char *name)
{
	for (size_t i = 0; i < n->nattrs; i++)
		if (!strcmp(n->attr_names[i], name))
			return n->attr_values[i];
	return NULL;
}

size_t xml_count(const xnode *n, const char *name)
{
	size_t k = 0;
	for (size_t i = 0; i < n->nchildren; i++)
		k += !strcmp(n->children[i]->name, name);
	return k;
}

const xnode *xml_child(const xnode *n, const char *name, size_t idx)
{
	for (size_t i = 0; i < n->nchildren; i++)
		if (!strcmp(n->children[i]->name, name) && idx-- == 0)
			return n->children[i];
	return NULL;
}
