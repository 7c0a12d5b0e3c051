/* Exact tokenizer for the lines of term sections (=proc_heap, =proc_stack, ...).
 * Atom text is raw bytes behind a length prefix and may hold newlines or "=tag"
 * lines, so line ends are found by walking tokens, never by searching '\n' alone. */
#include <string.h>

#include "int.h"

static const char *skip_hex(const char *p, const char *end, uint64_t *v)
{
	uint64_t tmp;
	return bd_parse_hex(p, end, v ? v : &tmp);
}

static const char *skip_dec(const char *p, const char *end)
{
	if (p < end && *p == '-')
		p++;
	const char *s = p;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p == s ? NULL : p;
}

/* "<a.b.c>": three 32-bit numbers at most, so the '>' is near; an unclosed '<' must
 * not send a search to the end of the input (once per line, that is quadratic). */
enum { ANGLE_MAX = 64 };
static const char *skip_angle(const char *p, const char *end)
{
	if (p >= end || *p != '<')
		return NULL;
	size_t lim = (size_t)(end - p) < ANGLE_MAX ? (size_t)(end - p) : ANGLE_MAX;
	const char *q = memchr(p, '>', lim);
	if (!q || memchr(p, '\n', (size_t)(q - p)))
		return NULL;
	return q + 1;
}

/* "<hexlen>:<bytes>" */
static const char *skip_counted(const char *p, const char *end)
{
	uint64_t n;
	p = skip_hex(p, end, &n);
	if (!p || p >= end || *p != ':')
		return NULL;
	p++;
	if (n > (uint64_t)(end - p))
		return NULL;
	return p + n;
}

static const char *to_eol(const char *p, const char *end)
{
	const char *q = memchr(p, '\n', (size_t)(end - p));
	return q ? q : end;
}

static int is_delim(const char *p, const char *end)
{
	return p >= end || *p == ',' || *p == '|' || *p == ':' || *p == '\n' || *p == '\r';
}

const char *bd_tl_skip_elem(const char *p, const char *end)
{
	if (p >= end)
		return p;
	switch (*p) {
	case 'H':
		return skip_hex(p + 1, end, NULL);
	case 'N':
		return p + 1;
	case 'I':
		return skip_dec(p + 1, end);
	case 'A':
		return skip_counted(p + 1, end);
	case 'P':
	case 'p':
		return skip_angle(p + 1, end);
	default:
		/* An immediate the writer could not print leaves an empty element. */
		return is_delim(p, end) ? p : NULL;
	}
}

/* n elements separated by ',' */
static const char *skip_elems(const char *p, const char *end, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		if (i) {
			if (p >= end || *p != ',')
				return NULL;
			p++;
		}
		p = bd_tl_skip_elem(p, end);
		if (!p)
			return NULL;
	}
	return p;
}

static const char *skip_y(const char *p, const char *end)
{
	uint64_t n;
	switch (p < end ? *p : 0) {
	case 'h':
		p = skip_hex(p + 1, end, &n);
		if (!p || p >= end || *p != ':')
			return NULL;
		return to_eol(p + 1, end);
	case 'c':
	case 's':
		p = skip_hex(p + 1, end, NULL);
		if (!p || p >= end || *p++ != ':')
			return NULL;
		p = skip_hex(p, end, NULL);
		if (!p || p >= end || *p++ != ':')
			return NULL;
		return skip_hex(p, end, NULL);
	}
	return NULL;
}

static const char *skip_map(const char *p, const char *end)
{
	uint64_t n, k;
	char t = p < end ? *p : 0;
	p = skip_hex(p + 1, end, &n);
	if (!p || p >= end || *p++ != ':')
		return NULL;
	switch (t) {
	case 'f':
		p = bd_tl_skip_elem(p, end);
		if (!p || p >= end || *p++ != ':')
			return NULL;
		return skip_elems(p, end, n);
	case 'h':
		p = skip_hex(p, end, &k);
		if (!p || p >= end || *p++ != ':')
			return NULL;
		return skip_elems(p, end, k);
	case 'n':
		return skip_elems(p, end, n);
	}
	return NULL;
}

const char *bd_tl_skip_object(const char *p, const char *end)
{
	uint64_t n;
	if (p >= end)
		return NULL;
	switch (*p) {
	case 't':
		p = skip_hex(p + 1, end, &n);
		if (!p || p >= end || *p++ != ':')
			return NULL;
		return skip_elems(p, end, n);
	case 'l':
		p = bd_tl_skip_elem(p + 1, end);
		if (!p || p >= end || *p++ != '|')
			return NULL;
		return bd_tl_skip_elem(p, end);
	case 'F':
		return skip_counted(p + 1, end);
	case 'B':
		p++;
		if (p < end && *p == '-')
			p++;
		if (end - p > 3 && memcmp(p, "16#", 3) == 0)
			return skip_hex(p + 3, end, NULL) ? to_eol(p, end) : NULL;
		return skip_dec(p, end);
	case 'Y':
		return skip_y(p + 1, end);
	case 'M':
		return skip_map(p + 1, end);
	case 'P':
	case 'p':
		return skip_angle(p + 1, end);
	case 'E':
		p = skip_hex(p + 1, end, &n);
		if (!p || p >= end || *p != ':')
			return NULL;
		return to_eol(p + 1, end);
	case 'R':
		if (p + 1 < end && p[1] == 'f')
			return skip_hex(p + 2, end, NULL);
		return NULL;
	}
	return NULL;
}

/* D<n>:<n atoms>E<size>:<base64 runs>  (an undecoded distribution message) */
static const char *skip_dist(const char *p, const char *end)
{
	uint64_t n;
	p = skip_hex(p + 1, end, &n);
	if (!p || p >= end || *p++ != ':')
		return NULL;
	for (uint64_t i = 0; i < n; i++) {
		if (p >= end || *p != 'A')
			return NULL;
		p = skip_counted(p + 1, end);
		if (!p)
			return NULL;
	}
	if (p >= end || *p != 'E')
		return NULL;
	p = skip_hex(p + 1, end, NULL);
	if (!p || p >= end || *p++ != ':')
		return NULL;
	while (p < end && *p != ':' && *p != '\n')
		p++;
	return p;
}

static const char *line_done(const char *p, const char *end)
{
	if (!p)
		return NULL;
	if (p < end && *p == '\r')
		p++;
	if (p < end && *p != '\n')
		return NULL;
	return p;
}

const char *bd_tl_line_end(bd_ts_kind kind, const char *p, const char *end)
{
	switch (kind) {
	case BD_TS_HEAP:
		p = skip_hex(p, end, NULL);
		if (!p || p >= end || *p++ != ':')
			return NULL;
		return line_done(bd_tl_skip_object(p, end), end);
	case BD_TS_STACK:
		if (end - p > 2 && p[0] == '0' && p[1] == 'x')
			p = skip_hex(p + 2, end, NULL);
		else if (p < end && *p == 'y')
			p = skip_dec(p + 1, end);
		else
			return NULL;
		if (!p || p >= end || *p++ != ':')
			return NULL;
		if (p < end && *p == 'S')
			return to_eol(p, end);
		return line_done(bd_tl_skip_elem(p, end), end);
	case BD_TS_MESSAGES:
		p = (p < end && *p == 'D') ? skip_dist(p, end) : bd_tl_skip_elem(p, end);
		if (!p || p >= end || *p++ != ':')
			return NULL;
		return line_done(bd_tl_skip_elem(p, end), end);
	case BD_TS_DICT:
		return line_done(bd_tl_skip_elem(p, end), end);
	case BD_TS_PTERMS:
		p = bd_tl_skip_elem(p, end);
		if (!p || p >= end || *p++ != '|')
			return NULL;
		return line_done(bd_tl_skip_elem(p, end), end);
	}
	return NULL;
}
