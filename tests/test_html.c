/* The HTML writer of beamdump report: untrusted text is escaped for element
 * content, attributes and JSON data blocks; charts stay inside their box. The
 * end-to-end checks in a real browser are tests/browser/test_report.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "html.h"

/* Run fn over a memory stream; returns the text (caller frees). */
static char *render(void (*fn)(hw *w, const void *arg), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	hw w = {f, NULL, 0};
	fn(&w, arg);
	fclose(f);
	return buf;
}

static void do_text(hw *w, const void *arg) { hw_text(w, arg); }
static void do_json(hw *w, const void *arg) { hw_json(w, arg); }
static void do_cut(hw *w, const void *arg) { hw_textcut(w, arg, 4); }

static void test_text_escapes_markup(void **state)
{
	(void)state;
	char *s = render(do_text, "<script>a & \"b\" 'c'</script>");
	assert_string_equal(s, "&lt;script&gt;a &amp; &quot;b&quot; &#39;c&#39;&lt;/script&gt;");
	free(s);
}

static void test_text_controls_and_utf8(void **state)
{
	(void)state;
	/* a control char, an invalid byte, valid UTF-8, a bidi override */
	char *s = render(do_text, "a\x01" "b\xff" "c\xc3\xa9" "\xe2\x80\xae" "d");
	assert_string_equal(s, "a\\x01b\xef\xbf\xbd" "c\xc3\xa9\\u{202E}d");
	free(s);
	/* a C1 control and the model's NUL (C0 80) are shown */
	s = render(do_text, "a\xc2\x85" "b\xc0\x80" "c");
	assert_string_equal(s, "a\\u{0085}b\\x00c");
	free(s);
	/* invisible separators: a name cannot hide a line break or a zero-width space */
	s = render(do_text, "a\xe2\x80\xa8" "b\xe2\x80\x8b" "c\xef\xbb\xbf");
	assert_string_equal(s, "a\\u{2028}b\\u{200B}c\\u{FEFF}");
	free(s);
	s = render(do_json, "\xc0\x80");
	assert_string_equal(s, "\"\\\\x00\"");
	free(s);
	/* an overlong '<' is not a '<' in disguise: it is invalid */
	s = render(do_text, "\xc0\xbc");
	assert_null(strchr(s, '<'));
	free(s);
}

static void test_json_is_safe_in_script(void **state)
{
	(void)state;
	char *s = render(do_json, "</script><!--\xe2\x80\xa8\"\\\n");
	assert_null(strstr(s, "</"));
	assert_null(strstr(s, "<!--"));
	assert_null(strstr(s, "\xe2\x80\xa8"));
	assert_string_equal(s, "\"\\u003c/script\\u003e\\u003c!--\\\\u{2028}\\\"\\\\\\\\x0a\"");
	free(s);
	s = render(do_json, NULL);
	assert_string_equal(s, "null");
	free(s);
}

static void test_cut_keeps_utf8_whole(void **state)
{
	(void)state;
	char *s = render(do_cut, "ab\xc3\xa9\xc3\xa9zz");
	/* 4 bytes would split the second é: cut before it */
	assert_string_equal(s, "ab\xc3\xa9\xe2\x80\xa6");
	free(s);
}

static void test_sha256(void **state)
{
	(void)state;
	static const uint8_t abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
					0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
					0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
	uint8_t out[32];
	html_sha256("abc", 3, out);
	assert_memory_equal(out, abc, 32);
	/* two blocks of padding */
	static const uint8_t two[32] = {0x24, 0x8d, 0x6a, 0x61, 0xd2, 0x06, 0x38, 0xb8, 0xe5, 0xc0, 0x26,
					0x93, 0x0c, 0x3e, 0x60, 0x39, 0xa3, 0x3c, 0xe4, 0x59, 0x64, 0xff,
					0x21, 0x67, 0xf6, 0xec, 0xed, 0xd4, 0x19, 0xdb, 0x06, 0xc1};
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	html_sha256(m, strlen(m), out);
	assert_memory_equal(out, two, 32);
}

static void do_treemap(hw *w, const void *arg)
{
	(void)arg;
	chart_item it[] = {
		{"<a>", "#x", 1000, BD_UNKNOWN, 1, 0, 0}, {"b", NULL, 10, BD_UNKNOWN, 1, 1, 0},
		{"a1", NULL, 600, 0, 1, 0, 0},            {"a2", NULL, 300, 0, 1, 0, 0},
		{"zero", NULL, 0, BD_UNKNOWN, 1, 0, 0},   {"c", NULL, 1, BD_UNKNOWN, 1, 0, 0},
	};
	svg_treemap(w, "t", it, sizeof it / sizeof it[0], 400, 200);
}

/* Every rectangle inside the box, no NaN, the label escaped. */
static void test_treemap_bounds(void **state)
{
	(void)state;
	char *s = render(do_treemap, NULL);
	assert_null(strstr(s, "nan"));
	assert_null(strstr(s, "<a>"));
	int rects = 0;
	for (const char *p = s; (p = strstr(p, "<rect x=\"")) != NULL; p++) {
		double x, y, wd, ht;
		assert_int_equal(sscanf(p, "<rect x=\"%lf\" y=\"%lf\" width=\"%lf\" height=\"%lf\"", &x, &y,
					&wd, &ht), 4);
		assert_true(x >= -0.01 && y >= -0.01 && wd >= 0 && ht >= 0);
		assert_true(x + wd <= 400.01 && y + ht <= 200.01);
		rects++;
	}
	assert_int_equal(rects, 5); /* zero has no box */
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_escapes_markup),   cmocka_unit_test(test_text_controls_and_utf8),
		cmocka_unit_test(test_json_is_safe_in_script), cmocka_unit_test(test_cut_keeps_utf8_whole),
		cmocka_unit_test(test_sha256),                 cmocka_unit_test(test_treemap_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
