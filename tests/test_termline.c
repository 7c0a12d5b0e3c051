/* Tokenizer of term-section lines: every element and object tag, and line ends when
 * atom text holds newlines or forged "=tag" lines. */
#include <string.h>

#include "int.h"
#include "testutil.h"

static const char *end_of(const char *s) { return s + strlen(s); }

static void test_elements(void **state)
{
	(void)state;
	const char *cases[] = {"H7FF1A5128758", "N", "I42", "I-5", "A5:store", "AB:hello world",
			       "A0:", "P<0.9.0>", "p<0.0>", "A6:\xc3\xbc\xc3\xb1\xc3\xad"};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *e = bd_tl_skip_elem(cases[i], end_of(cases[i]));
		assert_non_null(e);
		assert_ptr_equal(e, end_of(cases[i]));
	}
	/* atom length longer than the text: error, not overrun */
	assert_null(bd_tl_skip_elem("A10:abc", end_of("A10:abc")));
	assert_null(bd_tl_skip_elem("Hzz", end_of("Hzz")));
}

static void test_objects(void **state)
{
	(void)state;
	const char *cases[] = {
		"t4:A5:store,H7FF1A51287A8,H7FF1A5128780,H7FF1B12952C8",
		"t0:",
		"lI97|H7FF1A51287A8",
		"lA1:a|A1:b",
		"F1A:3.14158999999999988262e+00",
		"B1267650600228229401496703205376",
		"B-16#FFAA",
		"Yh14:RkdISUpBQkNERUZHSElKQUJDREU=",
		"Yh0:",
		"Yc55EB56259828:0:C8",
		"Ys7FC42F884218:0:0",
		"Mf3:H7FC42F883DF8:I1,H7FC42F883E48,H7FC42F883E60",
		"Mf0:H7FC42F883DF8:",
		"Mh28:3:H1,H2,H3",
		"Mn3:H7FF1A5128C50,H7FF1A5128C40,H7FF1A5128C30",
		"P<8525.88.0>",
		"p<8525.3>",
		"E23:g1oAA3cNbm9ub2RlQG5vaG9zdAAAAAAAAw8twZQAAnLvtMM=",
		"Rf7FF1A503C7B8",
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *e = bd_tl_skip_object(cases[i], end_of(cases[i]));
		if (e != end_of(cases[i]))
			fail_msg("object %s: stopped at offset %td", cases[i],
				 e ? e - cases[i] : (ptrdiff_t)-1);
	}
	assert_null(bd_tl_skip_object("t3:I1,I2", end_of("t3:I1,I2")));
	assert_null(bd_tl_skip_object("Q12", end_of("Q12")));
}

static void test_line_end_with_forged_tag(void **state)
{
	(void)state;
	/* an atom 'x\n=proc:<0.999.0>' makes two physical lines of one logical line */
	const char *heap = "7F111B074110:t2:A11:x\n=proc:<0.999.0>,I1\n7F111B074308:t2:A1:k,N\n";
	const char *e = bd_tl_line_end(BD_TS_HEAP, heap, end_of(heap));
	assert_non_null(e);
	assert_int_equal(e - heap, (ptrdiff_t)strlen("7F111B074110:t2:A11:x\n=proc:<0.999.0>,I1"));
	const char *stack = "y0:A9:a\n=binary\n";
	/* y-slot element atom is 9 bytes "a\n=binary" */
	e = bd_tl_line_end(BD_TS_STACK, stack, end_of(stack));
	assert_non_null(e);
	assert_int_equal(*e, '\n');
	const char *msg = "H7FC42C53E538:N\nA3:a:b:N\n";
	e = bd_tl_line_end(BD_TS_MESSAGES, msg, end_of(msg));
	assert_int_equal(e - msg, 15);
	e = bd_tl_line_end(BD_TS_MESSAGES, msg + 16, end_of(msg));
	assert_non_null(e);
	const char *pt = "A2:a||H7F\n";
	e = bd_tl_line_end(BD_TS_PTERMS, pt, end_of(pt));
	assert_non_null(e);
	const char *dist = "D2:A1:aA1:bE5:g2gCYQFhAg==:N\n";
	e = bd_tl_line_end(BD_TS_MESSAGES, dist, end_of(dist));
	assert_non_null(e);
	assert_int_equal(*e, '\n');
	/* the stack info strings run to the end of the line */
	const char *s2 = "0x00007ff1a5128e88:SReturn addr 0xA9C011F8 (<terminate process normally>)\n";
	e = bd_tl_line_end(BD_TS_STACK, s2, end_of(s2));
	assert_int_equal(e - s2, (ptrdiff_t)strlen(s2) - 1);
}

static void test_decode_data(void **state)
{
	(void)state;
	uint8_t out[32];
	size_t n = bd_decode_data("AQID/w==", 8, 0, out, sizeof out);
	assert_int_equal(n, 4);
	assert_int_equal(out[3], 255);
	n = bd_decode_data("010203FF", 8, 1, out, sizeof out);
	assert_int_equal(n, 4);
	assert_int_equal(out[3], 255);
	/* window: bytes 4..9 of "ABCDEFGHIJ" */
	const char *b64 = "QUJDREVGR0hJSg==";
	n = bd_decode_window(b64, strlen(b64), 0, 4, out, 5);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "EFGHI", 5);
	n = bd_decode_window(b64, strlen(b64), 0, 100, out, 5);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elements),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_line_end_with_forged_tag),
		cmocka_unit_test(test_decode_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
