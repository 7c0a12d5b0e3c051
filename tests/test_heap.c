/* Lazy term decoding: every object tag on a hand-made heap, sharing, missing pointers,
 * stack frames, mailbox shapes, dictionary; then the real OTP 27 fixture. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beamdump/term.h"
#include "int.h"
#include "testutil.h"

static const char *DUMP =
	"=erl_crash_dump:0.5\nSat Nov 21 21:04:25 2026\nSlogan: t\n"
	"System version: Erlang/OTP 25 [erts-13.1.5] [64-bit]\n"
	"=proc:<0.80.0>\nState: Waiting\nName: srv\nMessage queue length: 4\n"
	"Program counter: 0x0 (gen_server:loop/7 + 100)\n"
	"=proc_messages:<0.80.0>\n"
	"H1000:N\nH1000:N\nH1100:N\nA2:ok:N\n"
	"=proc_dictionary:<0.80.0>\nH1200\nH1220\n"
	"=proc_stack:<0.80.0>\n"
	"y0:H1300\ny1:I7\n"
	"0x00007ff1a5128e88:SReturn addr 0xA9C011F8 (gen_server:loop/7 + 80)\n"
	"y0:P<0.81.0>\ny1:SCatch 0xA9C011F9 (gen_server:loop/7 + 90)\n"
	"0x00007ff1a5128e98:SReturn addr 0xA9C011F8 (<terminate process normally>)\n"
	"=proc_heap:<0.80.0>\n"
	"1000:t3:A3:job,I1,H1010\n"
	"1010:Yh3:YWJj\n"
	"1100:t3:A9:$gen_call,H1110,H1120\n"
	"1110:t2:P<0.90.0>,H1130\n"
	"1130:E23:g1oAA3cNbm9ub2RlQG5vaG9zdAAAAAAAAw8twZQAAnLvtMM=\n"
	"1120:t2:A3:get,A3:key\n"
	"1200:t2:AA:$ancestors,H1210\n"
	"1210:lA6:my_sup|N\n"
	"1220:t2:A4:$key,HDEAD\n"
	"1300:t7:H1310,H1320,H1360,H1370,H1340,H1350,H1000\n"
	"1360:F1A:3.14158999999999988262e+00\n"
	"1370:B-1180591620717411303424\n"
	"1310:lI104|H1311\n1311:lI105|N\n"
	"1320:Mf2:H1330:I1,H1010\n"
	"1330:t2:A1:a,A1:b\n"
	"1340:Yc55EB56259828:2:4\n"
	"1350:Mh4:3:H1351,H1352,H1353\n"
	"1351:lI1|I2\n1352:lI3|I4\n1353:t2:H1354,H1355\n1354:lI5|I6\n1355:lI7|I8\n"
	"=binary:55EB56259828\nA:QUJDREVGR0hJSg==\n"
	"=end\n";

static void test_decode_all_tags(void **state)
{
	(void)state;
	bd_model *m = tu_open_text(DUMP);
	const bd_proc *p = bd_proc_find(m, "srv");
	assert_non_null(p);
	bd_heap *h;
	bd_error err = {0};
	assert_int_equal(bd_heap_open(&h, m, p, &err), 0);
	assert_int_equal(bd_heap_bad_lines(h), 0);
	char buf[1024];
	bd_term *t = bd_heap_decode(h, "H1300", 5);
	assert_int_equal(t->kind, BD_T_TUPLE);
	assert_int_equal(t->n, 7);
	bd_term_fmt(t, buf, sizeof buf, -1, -1);
	assert_string_equal(buf, "{\"hi\",#{a => 1,b => <<\"abc\">>},3.14159,-1180591620717411303424,"
				 "<<\"CDEF\">>,#{1 => 2,3 => 4,5 => 6,7 => 8},{job,1,<<\"abc\">>}}");
	/* sharing: the binary in the map and in the job tuple is one node */
	const bd_term *map = bd_term_elem(t, 1), *job = bd_term_elem(t, 6);
	assert_ptr_equal(map->u.elems[3], bd_term_elem(job, 2));
	const bd_term *refc = bd_term_elem(t, 4);
	assert_int_equal(refc->bin_kind, BD_BIN_REFC);
	assert_int_equal(refc->u.bin.orig_size, 10);
	assert_int_equal(refc->u.bin.size, 4);
	bd_term *ref = bd_heap_decode(h, "H1130", 5);
	assert_int_equal(ref->kind, BD_T_REF);
	assert_non_null(strstr(ref->u.s, "#Ref<0."));
	bd_term *missing = bd_heap_decode(h, "HDEAD", 5);
	assert_int_equal(missing->kind, BD_T_MISSING);
	bd_heap_free(h);
	bd_model_free(m);
}

static void test_stack_messages_dict(void **state)
{
	(void)state;
	bd_model *m = tu_open_text(DUMP);
	const bd_proc *p = bd_proc_find(m, "srv");
	bd_heap *h;
	bd_error err = {0};
	assert_int_equal(bd_heap_open(&h, m, p, &err), 0);
	bd_frame *fr;
	size_t nf;
	assert_int_equal(bd_heap_stack(h, &fr, &nf, &err), 0);
	assert_int_equal(nf, 3);
	assert_string_equal(fr[0].mfa, "gen_server:loop/7 + 100");
	assert_int_equal(fr[0].nslots, 2);
	assert_int_equal(fr[0].slots[1].term->u.i, 7);
	assert_string_equal(fr[1].mfa, "gen_server:loop/7 + 80");
	assert_int_equal(fr[1].slots[0].term->kind, BD_T_PID);
	assert_int_equal(fr[1].slots[0].term->u.pid.num, 81);
	assert_non_null(fr[1].slots[1].info);
	assert_string_equal(fr[2].mfa, "<terminate process normally>");

	bd_mailbox_stats st;
	assert_int_equal(bd_heap_mailbox_stats(h, &st, &err), 0);
	assert_int_equal(st.messages, 4);
	assert_int_equal(st.nshapes, 3);
	assert_string_equal(st.shapes[0].key, "{job,_,_}");
	assert_int_equal(st.shapes[0].count, 2);
	assert_int_equal(st.ncallers, 1);
	assert_int_equal(st.callers[0].pid.num, 90);
	int found = 0;
	for (size_t i = 0; i < st.nshapes; i++)
		found += !strcmp(st.shapes[i].key, "$gen_call {get,_}") + !strcmp(st.shapes[i].key, "ok");
	assert_int_equal(found, 2);
	bd_term *msgs[8];
	assert_int_equal(bd_heap_messages(h, 1, 8, msgs), 3);
	assert_int_equal(msgs[2]->kind, BD_T_ATOM);

	bd_term **k, **v;
	size_t nd;
	assert_int_equal(bd_heap_dictionary(h, &k, &v, &nd, &err), 0);
	assert_int_equal(nd, 2);
	assert_true(bd_term_is_atom(k[0], "$ancestors"));
	assert_int_equal(v[1]->kind, BD_T_MISSING);
	bd_term *anc = bd_heap_dict_get(h, "$ancestors");
	const bd_term *items[4];
	assert_int_equal(bd_term_list(anc, items, 4), 1);
	assert_true(bd_term_is_atom(items[0], "my_sup"));
	assert_null(bd_heap_dict_get(h, "$nope"));
	bd_heap_free(h);
	bd_model_free(m);
}

/* OTP 22 and older: y-registers follow the return address into the caller. */
static void test_old_frame_layout(void **state)
{
	(void)state;
	bd_model *m = tu_open_text(
		"=erl_crash_dump:0.5\nSat Nov 21 21:04:25 2026\nSlogan: t\n"
		"System version: Erlang/OTP 22 [erts-10.7] [64-bit]\n"
		"=proc:<0.80.0>\nState: Waiting\nProgram counter: 0x0 (m:cur/1 + 10)\n"
		"=proc_stack:<0.80.0>\n"
		"0x00007ff1a5128e88:SReturn addr 0xA9C011F8 (m:caller/2 + 80)\n"
		"y0:I1\n"
		"0x00007ff1a5128e98:SReturn addr 0xA9C011F8 (<terminate process normally>)\n"
		"y0:I2\ny1:I3\n"
		"=proc_heap:<0.80.0>\n=end\n");
	bd_heap *h;
	bd_error err = {0};
	assert_int_equal(bd_heap_open(&h, m, bd_proc_find(m, "<0.80.0>"), &err), 0);
	bd_frame *fr;
	size_t nf;
	assert_int_equal(bd_heap_stack(h, &fr, &nf, &err), 0);
	assert_int_equal(nf, 3);
	assert_string_equal(fr[0].mfa, "m:cur/1 + 10");
	assert_int_equal(fr[0].nslots, 1);
	assert_int_equal(fr[0].slots[0].term->u.i, 1);
	assert_string_equal(fr[1].mfa, "m:caller/2 + 80");
	assert_int_equal(fr[1].nslots, 2);
	assert_int_equal(fr[2].nslots, 0);
	bd_heap_free(h);
	bd_model_free(m);
}

static void test_budget(void **state)
{
	(void)state;
	bd_model *m = tu_open_text(DUMP);
	bd_heap *h;
	bd_error err = {0};
	assert_int_equal(bd_heap_open(&h, m, bd_proc_find(m, "srv"), &err), 0);
	bd_decode_opts o = {.max_nodes = 3, .max_depth = 0};
	bd_heap_set_opts(h, &o);
	char buf[256];
	bd_term *t = bd_heap_decode(h, "H1300", 5);
	bd_term_fmt(t, buf, sizeof buf, -1, -1);
	assert_non_null(strstr(buf, "..."));
	bd_heap_free(h);
	bd_model_free(m);
}

static void test_otp27_fixture(void **state)
{
	(void)state;
	const char *path = tu_fixture("tests/fixtures/terms_otp27.dump.zst");
	bd_model *m;
	bd_error err = {0};
	assert_int_equal(bd_model_open(&m, path, &err), 0);
	const bd_proc *p = bd_proc_find(m, "term_holder");
	assert_non_null(p);
	bd_heap *h;
	assert_int_equal(bd_heap_open(&h, m, p, &err), 0);
	bd_frame *fr;
	size_t nf;
	assert_int_equal(bd_heap_stack(h, &fr, &nf, &err), 0);
	char *buf = malloc(8192);
	int saw_state = 0;
	for (size_t i = 0; i < nf; i++)
		for (uint32_t j = 0; j < fr[i].nslots; j++) {
			if (!fr[i].slots[j].term || fr[i].slots[j].term->kind != BD_T_MAP)
				continue;
			bd_term_fmt(fr[i].slots[j].term, buf, 8192, -1, -1);
			saw_state = 1;
			/* the 16-byte slice of the 160 kB binary, bignums, a quoted atom */
			assert_non_null(strstr(buf, "slice => <<\"abcdefghabcdefgh\">>"));
			assert_non_null(strstr(buf, "big => 1267650600228229401496703205376"));
			assert_non_null(strstr(buf, "'quoted atom' => 'Elixir.Some.Module'"));
			assert_non_null(strstr(buf, "str => \"hello\""));
		}
	assert_true(saw_state);
	bd_heap_free(h);
	p = bd_proc_find(m, "job_queue");
	assert_non_null(p);
	assert_int_equal(p->msgq_len, 3000);
	assert_int_equal(bd_heap_open(&h, m, p, &err), 0);
	bd_mailbox_stats st;
	assert_int_equal(bd_heap_mailbox_stats(h, &st, &err), 0);
	assert_int_equal(st.messages, 3000);
	assert_string_equal(st.shapes[0].key, "{job,_,_,_}");
	assert_int_equal(st.shapes[0].count, 3000);
	bd_heap_free(h);
	/* persistent terms and literals resolve without a process */
	assert_int_equal(bd_heap_open_literals(&h, m, &err), 0);
	bd_heap_free(h);
	free(buf);
	bd_model_free(m);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_all_tags),
		cmocka_unit_test(test_stack_messages_dict),
		cmocka_unit_test(test_old_frame_layout),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_otp27_fixture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
