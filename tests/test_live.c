/* formats/live.c without a node: ETF details become the dump's term language, the
 * lazy decoders read them back, and the model survives a snapshot round trip. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beamdump/live.h"
#include "beamdump/term.h"
#include "snaputil.h"
#include "testutil.h"

/* {job, 1, <<"ab">>, [1,2], "xy", #{a => 1}, 3.5, 123456789012345678901, -5, Ref,
 *  <0.42.7>, 'Quoted atom'} as the node would send it (no version byte). */
static const unsigned char msg[] = {
	104, 12,                                      /* SMALL_TUPLE_EXT, arity 12 */
	119, 3, 'j', 'o', 'b',                         /* job */
	97, 1,                                         /* 1 */
	109, 0, 0, 0, 2, 'a', 'b',                     /* <<"ab">> */
	108, 0, 0, 0, 2, 97, 1, 97, 2, 106,            /* [1,2] as LIST_EXT */
	107, 0, 2, 'x', 'y',                           /* "xy" */
	116, 0, 0, 0, 1, 119, 1, 'a', 97, 1,           /* #{a => 1} */
	70, 0x40, 0x0c, 0, 0, 0, 0, 0, 0,              /* 3.5 */
	110, 9, 0, 0x35, 0x6c, 0x36, 0x2f, 0x81, 0x9f, 0x4e, 0xb1, 0x6, /* bignum */
	98, 0xff, 0xff, 0xff, 0xfb,                    /* -5 */
	90, 0, 3, 119, 7, 'n', 'o', 'd', 'e', '@', 'h', 'x', 0, 0, 0, 1, /* ref */
	0, 0, 0, 7, 0, 0, 0, 8, 0, 0, 0, 9,
	88, 119, 7, 'n', 'o', 'd', 'e', '@', 'h', 'x', 0, 0, 0, 42, 0, 0, 0, 7, 0, 0, 0, 1,
	119, 11, 'Q', 'u', 'o', 't', 'e', 'd', ' ', 'a', 't', 'o', 'm',
};

/* [<0.40.0>] for $ancestors */
static const unsigned char ancestors[] = {
	131, 108, 0, 0, 0, 1, 88, 119, 7, 'n', 'o', 'd', 'e', '@', 'h', 'x',
	0, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0, 1, 106,
};

static bd_model *build(void)
{
	bd_live *lv;
	bd_error err = {0};
	assert_int_equal(bd_live_new(&lv, &err), 0);
	bd_node_info *ni = bd_live_node(lv);
	ni->node_name = bd_live_atom(lv, "node@hx", 7);
	ni->word_size = 8;
	bd_live_memory(lv)->total = 1000000;
	bd_live_limits(lv)->procs_limit = 262144;
	bd_proc *p = bd_live_proc_add(lv, (bd_pid){0, 85, 0});
	assert_non_null(p);
	p->name = bd_live_atom(lv, "worker", 6);
	p->spawned_as = bd_live_mfa(lv, "proc_lib", "init_p", 5);
	p->msgq_len = 3;
	p->state = BD_PS_WAITING;
	bd_link l = {BD_LINK, BD_TGT_PID, {0, 40, 0}, NULL, NULL, NULL};
	assert_int_equal(bd_live_link_add(lv, &l), 0);
	bd_proc *q = bd_live_proc_add(lv, (bd_pid){0, 40, 0});
	assert_non_null(q);
	q->name = bd_live_atom(lv, "my_sup", 6);
	for (int i = 0; i < 3; i++)
		assert_int_equal(bd_live_proc_message(lv, 0, msg, sizeof msg), 0);
	assert_int_equal(bd_live_proc_message_atom(lv, 0, "$beamdump_redacted"), 0);
	assert_int_equal(bd_live_proc_frame(lv, 0, bd_live_mfa(lv, "gen_server", "loop", 7)), 0);
	assert_int_equal(bd_live_proc_frame(lv, 0, bd_live_mfa(lv, "proc_lib", "init_p_do_apply", 3)),
			 0);
	assert_int_equal(bd_live_proc_dict(lv, 0, "$ancestors", ancestors, sizeof ancestors), 0);
	assert_int_equal(bd_live_proc_binary(lv, 0, 0x5555AAAA0000, 1u << 20), 0);
	assert_int_equal(bd_live_proc_binary(lv, 0, 0x5555AAAA0000, 1u << 20), 0); /* twice */
	assert_int_equal(bd_live_proc_message(lv, 9, msg, sizeof msg), BD_EUSAGE);
	bd_ets *t = bd_live_ets_add(lv);
	t->table = t->name = bd_live_atom(lv, "tab", 3);
	t->objects = 10;
	bd_model *m;
	assert_int_equal(bd_live_finish(lv, &m, &err), 0);
	return m;
}

static void test_live_terms(void **state)
{
	(void)state;
	bd_model *m = build();
	const bd_proc *p = bd_proc_find(m, "worker");
	assert_non_null(p);
	assert_string_equal(p->spawned_as, "proc_lib:init_p/5");
	assert_string_equal(p->pc_mfa, "gen_server:loop/7");
	assert_string_equal(bd_model_node(m)->node_name, "'node@hx'");
	bd_heap *h;
	bd_error err = {0};
	assert_int_equal(bd_heap_open(&h, m, p, &err), 0);
	bd_term *t[4];
	assert_int_equal(bd_heap_messages(h, 0, 4, t), 4);
	char buf[512];
	bd_term_fmt(t[0], buf, sizeof buf, 10, 20);
	const char *want[] = {"{job,1,<<\"ab\">>,[1,2],\"xy\",#{a => 1},3.5",
			      "123456789012345678901", "-5", "#Ref<", "<0.42.7>", "'Quoted atom'}"};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++)
		if (!strstr(buf, want[i]))
			fail_msg("message decoded as %s, missing %s", buf, want[i]);
	bd_term_fmt(t[3], buf, sizeof buf, 4, 4);
	assert_string_equal(buf, "'$beamdump_redacted'");
	bd_mailbox_stats st;
	assert_int_equal(bd_heap_mailbox_stats(h, &st, &err), 0);
	assert_int_equal(st.messages, 4);
	assert_true(st.nshapes >= 1);
	assert_non_null(strstr(st.shapes[0].key, "job"));
	assert_int_equal(st.shapes[0].count, 3);
	bd_frame *fr;
	size_t nf;
	assert_int_equal(bd_heap_stack(h, &fr, &nf, &err), 0);
	assert_int_equal(nf, 2);
	assert_string_equal(fr[0].mfa, "gen_server:loop/7");
	assert_non_null(strstr(fr[1].mfa, "proc_lib:init_p_do_apply/3"));
	bd_term *anc = bd_heap_dict_get(h, "$ancestors");
	assert_non_null(anc);
	bd_term_fmt(anc, buf, sizeof buf, 4, 4);
	assert_string_equal(buf, "[<0.40.0>]");
	bd_heap_free(h);
	size_t nb;
	const bd_binary *b = bd_model_binaries(m, &nb);
	assert_int_equal(nb, 1);
	assert_int_equal(b[0].size, 1u << 20);
	assert_non_null(bd_binary_find(m, 0x5555AAAA0000));
	assert_int_equal(bd_model_limits(m)->procs, 2);
	assert_int_equal(bd_model_limits(m)->procs_limit, 262144);
	bd_model_free(m);
}

/* Live model -> records -> .bdump -> model: the same rows and span texts. */
static void test_live_snapshot_roundtrip(void **state)
{
	(void)state;
	bd_model *m = build();
	su_recs recs = {0};
	su_collect(m, &recs);
	const char *path = su_temp(".bdump");
	assert_int_equal(su_write(&recs, path, NULL), 0);
	su_recs_free(&recs);
	bd_model *r;
	bd_error err = {0};
	assert_int_equal(bd_model_open(&r, path, &err), 0);
	char why[256];
	if (su_models_equal(m, r, why, sizeof why))
		fail_msg("snapshot differs from the live model: %s", why);
	assert_string_equal(bd_model_node(r)->source, "live");
	bd_model_free(r);
	bd_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_terms),
		cmocka_unit_test(test_live_snapshot_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
