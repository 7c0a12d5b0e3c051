/* analyze/ on hand-made fragments: slogan classes, each analysis on the smallest dump
 * that shows it, ranking, state reading, and bad input that must not crash. Real
 * dumps are covered by test_analyze_samples. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beamdump/analyze.h"
#include "beamdump/live.h"
#include "testutil.h"

#define HEADER(slogan)                                                                  \
	"=erl_crash_dump:0.5\nSat Nov 21 21:04:25 2026\nSlogan: " slogan "\n"          \
	"System version: Erlang/OTP 25 [erts-13.1.5] [source] [64-bit] [smp:2:2]\n"    \
	"Atoms: 9000\nCalling Thread: scheduler:1\n"

/* A process section with the fields analyses read. */
#define PROC(pid, extra)                                                                \
	"=proc:" pid "\nState: Waiting\n" extra "Spawned as: proc_lib:init_p/5\n"      \
	"Spawned by: <0.9.0>\nReductions: 10\nStack+heap: 233\nOldHeap: 0\n"           \
	"Heap unused: 100\nOldHeap unused: 0\nBinVHeap: 0\nOldBinVHeap: 0\nMemory: 2704\n"

static bd_findings *analyze_text(const char *text, bd_model **mp)
{
	bd_model *m = tu_open_text(text);
	bd_findings *f = NULL;
	bd_error err = {0};
	bd_analyze_opts o = BD_ANALYZE_OPTS_INIT;
	assert_int_equal(bd_analyze(m, &o, &f, &err), 0);
	assert_non_null(f);
	*mp = m;
	return f;
}

static const bd_evidence *ev(const bd_finding *f, const char *key)
{
	for (uint32_t i = 0; i < f->nevidence; i++)
		if (!strcmp(f->evidence[i].key, key))
			return &f->evidence[i];
	return NULL;
}

static void test_slogans(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		bd_slogan_class cls;
	} cases[] = {
		{"eheap_alloc: Cannot allocate 762886488 bytes of memory (of type \"heap\").", BD_SL_ALLOC_OOM},
		{"binary_alloc: Cannot reallocate 10 bytes of memory (of type \"binary\").", BD_SL_ALLOC_OOM},
		{"no next heap size found: 123, offset 0", BD_SL_HEAP_LIMIT},
		{"no more index entries in atom_tab (max=16384)", BD_SL_INDEX_TABLE},
		{"Kernel pid terminated (application_controller) ({application_start_failure,rabbit,{bad_return,x}})", BD_SL_KERNEL_PID},
		{"Could not start kernel pid (logger) (bad_config)", BD_SL_KERNEL_START},
		{"could not start kernel pid (code_server) (x)", BD_SL_KERNEL_START},
		{"init terminating in do_boot ({undef,[{nonexistent_mod,start,[],[]}]})", BD_SL_BOOT},
		{"Runtime terminating during boot ({undef,[]})", BD_SL_BOOT},
		{"Received SIGUSR1", BD_SL_SIGUSR1},
		{"Crash dump requested by user", BD_SL_USER_BREAK},
		{"System process <0.2.0> terminated: killed", BD_SL_SYSTEM_PROCESS},
		{"erl_child_setup closed", BD_SL_CHILD_SETUP},
		{"Failed to create aux thread: Cannot allocate memory(12)", BD_SL_THREAD},
		{"Absurdly large distribution output data buffer (5000000000 bytes) passed.", BD_SL_DIST_BUFFER},
		{"Catch not found", BD_SL_INTERNAL},
		{"erl_db.c:123:foo() Assertion failed: x", BD_SL_INTERNAL},
		{"my app gave up", BD_SL_HALT},
		{"", BD_SL_NONE},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		bd_slogan s;
		bd_slogan_parse(cases[i].text, &s);
		if (s.cls != cases[i].cls)
			fail_msg("'%s': class %s, expected %s", cases[i].text, bd_slogan_class_name(s.cls),
				 bd_slogan_class_name(cases[i].cls));
	}
	bd_slogan s;
	bd_slogan_parse(cases[0].text, &s);
	assert_string_equal(s.allocator, "eheap_alloc");
	assert_string_equal(s.block_type, "heap");
	assert_int_equal(s.bytes, 762886488);
	bd_slogan_parse(cases[3].text, &s);
	assert_string_equal(s.table, "atom_tab");
	assert_int_equal(s.max, 16384);
	bd_slogan_parse(cases[4].text, &s);
	assert_string_equal(s.kernel_pid, "application_controller");
	assert_string_equal(s.reason_tag, "application_start_failure");
	assert_string_equal(s.application, "rabbit");
	bd_slogan_parse("Kernel pid terminated (application_controller) "
			"({application_terminated,'my-app',shutdown})", &s);
	assert_string_equal(s.application, "my-app");
	/* a tag that is not an atom (init prints it with ~s) is kept whole */
	bd_slogan_parse("Runtime terminating during boot ({cannot get bootfile,nosuchboot.boot})", &s);
	assert_int_equal(s.cls, BD_SL_BOOT);
	assert_string_equal(s.reason_tag, "cannot get bootfile");
	bd_slogan_parse("init terminating in do_boot ({undef,[{nonexistent_mod,start,[],[]}]})", &s);
	assert_string_equal(s.reason_tag, "undef");
	bd_slogan_parse("Kernel pid terminated (application_controller) ({'my tag',x})", &s);
	assert_string_equal(s.reason_tag, "my tag");
	bd_slogan_parse("x: cannot open socket: system_limit", &s);
	assert_true(s.system_limit);
	bd_slogan_parse(NULL, &s);
	assert_int_equal(s.cls, BD_SL_NONE);
	assert_int_equal(bd_finding_kind_parse("binary_pinning"), BD_F_BINARY_PINNING);
	assert_int_equal(bd_finding_kind_parse("nope"), -1);
	assert_string_equal(bd_finding_kind_name(BD_F_TRUNCATED_DUMP), "truncated_dump");
}

/* Two gen_servers calling each other, a client stuck behind one of them. */
static void test_deadlock_fragment(void **state)
{
	(void)state;
	bd_model *m;
	bd_findings *f = analyze_text(
		HEADER("Received SIGUSR1")
		PROC("<0.80.0>", "Name: srv_a\nLink list: [{to,<0.81.0>,#Ref<0.1.2.3>}, {from,<0.82.0>,#Ref<0.1.2.9>}]\n")
		"Program counter: 0x00007f (gen:do_call/4 + 776)\n"
		PROC("<0.81.0>", "Name: srv_b\nLink list: [{to,<0.80.0>,#Ref<0.1.2.4>}]\n")
		"Program counter: 0x00007f (gen:do_call/4 + 776)\n"
		PROC("<0.82.0>", "Name: client\nLink list: [{to,<0.80.0>,#Ref<0.1.2.9>}]\n")
		"Program counter: 0x00007f (gen:do_call/4 + 776)\n"
		"=end\n", &m);
	assert_true(f->n >= 2);
	assert_int_equal(f->items[0].kind, BD_F_DEADLOCK);
	assert_int_equal(f->items[0].severity, BD_SEV_CRITICAL);
	assert_int_equal(ev(&f->items[0], "cycle_length")->v.u, 2);
	assert_int_equal(ev(&f->items[0], "blocked_waiters")->v.u, 1);
	assert_non_null(strstr(ev(&f->items[0], "cycle")->v.s, "srv_a -> srv_b -> srv_a"));
	/* the waiter behind the cycle is named, and listed after the cycle members */
	assert_string_equal(ev(&f->items[0], "blocked")->v.s, "client <0.82.0> on srv_a");
	assert_int_equal(f->items[0].nrelated, 3);
	assert_string_equal(f->items[0].related[2].name, "client");
	assert_string_equal(f->items[0].related[2].role, "waiting");
	/* and has its own blocked_call, ranked right after the deadlock */
	assert_int_equal(f->n, 3);
	assert_int_equal(f->items[1].kind, BD_F_BLOCKED_CALL);
	assert_int_equal(f->items[1].severity, BD_SEV_WARNING);
	assert_string_equal(f->items[1].title,
			    "client <0.82.0> waits on srv_a, which is deadlocked with srv_b");
	assert_string_equal(f->items[1].subject.name, "srv_a");
	assert_string_equal(ev(&f->items[1], "chain")->v.s, "client -> srv_a");
	assert_string_equal(ev(&f->items[1], "deadlock")->v.s, "srv_a -> srv_b -> srv_a");
	assert_int_equal(ev(&f->items[1], "waiters")->v.u, 1);
	assert_int_equal(f->items[f->n - 1].kind, BD_F_MANUAL_DUMP);
	bd_findings_free(f);
	bd_model_free(m);
}

/* Chains into a cycle: far -> relay -> srv_b and near -> relay -> srv_b end in the
 * srv_a <-> srv_b deadlock. One blocked_call for everyone who reaches it at srv_b. */
static void test_deadlock_chain_fragment(void **state)
{
	(void)state;
	bd_model *m;
	bd_findings *f = analyze_text(
		HEADER("Received SIGUSR1")
		PROC("<0.80.0>", "Name: srv_a\nLink list: [{to,<0.81.0>,#Ref<0.1.2.3>}]\n")
		"Program counter: 0x00007f (gen:do_call/4 + 776)\n"
		PROC("<0.81.0>", "Name: srv_b\nLink list: [{to,<0.80.0>,#Ref<0.1.2.4>}]\n")
		"Program counter: 0x00007f (gen:do_call/4 + 776)\n"
		PROC("<0.82.0>", "Name: relay\nLink list: [{to,<0.81.0>,#Ref<0.1.2.5>}]\n")
		"Program counter: 0x00007f (gen:do_call/4 + 776)\n"
		PROC("<0.83.0>", "Name: far\nLink list: [{to,<0.82.0>,#Ref<0.1.2.6>}]\n")
		"Program counter: 0x00007f (gen:do_call/4 + 776)\n"
		PROC("<0.84.0>", "Name: near\nLink list: [{to,<0.82.0>,#Ref<0.1.2.7>}]\n")
		"Program counter: 0x00007f (gen:do_call/4 + 776)\n"
		"=end\n", &m);
	assert_int_equal(f->items[0].kind, BD_F_DEADLOCK);
	assert_int_equal(ev(&f->items[0], "blocked_waiters")->v.u, 3);
	assert_string_equal(ev(&f->items[0], "blocked")->v.s,
			    "relay <0.82.0> on srv_b, far <0.83.0> on srv_b, near <0.84.0> on srv_b");
	assert_int_equal(f->items[1].kind, BD_F_BLOCKED_CALL);
	assert_string_equal(f->items[1].subject.name, "srv_b");
	assert_string_equal(f->items[1].title, "3 processes wait on srv_b, which is deadlocked "
					       "with srv_a; chain: far -> relay -> srv_b");
	assert_int_equal(ev(&f->items[1], "waiters")->v.u, 3);
	assert_int_equal(ev(&f->items[1], "chain_length")->v.u, 2);
	assert_int_equal(f->items[1].nrelated, 3);
	assert_int_equal(f->items[2].kind, BD_F_MANUAL_DUMP);
	bd_findings_free(f);
	bd_model_free(m);
}

/* Elixir modules in $initial_call are quoted as the VM quotes them in the dump's
 * own text ('Elixir.Srv.A':init/1), in subjects and in the state reader. */
static void test_elixir_quoting_fragment(void **state)
{
	(void)state;
	bd_model *m;
#define EX_DICT(pid, mod)                                                               \
	"=proc_heap:" pid "\n2000:t2:AD:$initial_call,H2010\n"                         \
	"2010:t3:AC:" mod ",A4:init,I1\n=proc_dictionary:" pid "\nH2000\n"
	bd_findings *f = analyze_text(
		HEADER("Received SIGUSR1")
		PROC("<0.80.0>", "Name: 'Elixir.Srv.A'\nLink list: [{to,<0.81.0>,#Ref<0.1.2.3>}]\n")
		"Program counter: 0x00007f (gen:do_call/4 + 776)\n"
		PROC("<0.81.0>", "Name: 'Elixir.Srv.B'\nLink list: [{to,<0.80.0>,#Ref<0.1.2.4>}]\n")
		"Program counter: 0x00007f (gen:do_call/4 + 776)\n"
		EX_DICT("<0.80.0>", "Elixir.Srv.A") EX_DICT("<0.81.0>", "Elixir.Srv.B")
		"=end\n", &m);
#undef EX_DICT
	assert_int_equal(f->items[0].kind, BD_F_DEADLOCK);
	assert_string_equal(f->items[0].subject.name, "'Elixir.Srv.A'");
	assert_string_equal(f->items[0].subject.initial_call, "'Elixir.Srv.A':init/1");
	assert_string_equal(f->items[0].related[1].initial_call, "'Elixir.Srv.B':init/1");
	bd_findings_free(f);
	bd_model_free(m);
}

/* client -> front -> back, back is busy: one blocked_call naming back. */
static void test_blocked_chain_fragment(void **state)
{
	(void)state;
	bd_model *m;
	bd_findings *f = analyze_text(
		HEADER("Received SIGUSR1")
		PROC("<0.80.0>", "Name: client\nLink list: [{to,<0.81.0>,#Ref<0.1.2.3>}]\n")
		"Program counter: 0x00007f (gen:do_call/4 + 776)\n"
		PROC("<0.81.0>", "Name: front\nLink list: [{to,<0.82.0>,#Ref<0.1.2.4>}]\n")
		"Program counter: 0x00007f (gen:do_call/4 + 776)\n"
		PROC("<0.82.0>", "Name: back\n")
		"Program counter: 0x00007f (timer:sleep/1 + 348)\n"
		"=end\n", &m);
	assert_int_equal(f->items[0].kind, BD_F_BLOCKED_CALL);
	assert_string_equal(f->items[0].subject.name, "back");
	assert_int_equal(ev(&f->items[0], "waiters")->v.u, 2);
	assert_int_equal(ev(&f->items[0], "chain_length")->v.u, 2);
	assert_string_equal(ev(&f->items[0], "chain")->v.s, "client -> front -> back");
	bd_findings_free(f);
	bd_model_free(m);
}

/* A queue of n messages: shapes streamed, one sample decoded. From 100 000 on the
 * walk runs on a second thread. */
static void mailbox_fragment(size_t n)
{
	size_t cap = 64 * n + 4096, k = 0;
	char *text = malloc(cap);
	k += (size_t)snprintf(text + k, cap - k, "%s",
			      HEADER("Received SIGUSR1")
			      PROC("<0.85.0>", "Name: sink\n")
			      "Program counter: 0x00007f (sink:loop/1 + 40)\n");
	k += (size_t)snprintf(text + k, cap - k, "Message queue length: %zu\n"
			      "=proc_messages:<0.85.0>\n", n);
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(text + k, cap - k, "H%zX:N\n", 0x1000 + 0x10 * i);
	k += (size_t)snprintf(text + k, cap - k, "=proc_heap:<0.85.0>\n");
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(text + k, cap - k, "%zX:t3:A3:job,I%zu,N\n", 0x1000 + 0x10 * i, i);
	snprintf(text + k, cap - k, "=end\n");
	bd_model *m;
	bd_findings *f = analyze_text(text, &m);
	free(text);
	assert_int_equal(f->items[0].kind, BD_F_MAILBOX_OVERLOAD);
	assert_string_equal(f->items[0].subject.name, "sink");
	assert_int_equal(ev(&f->items[0], "message_queue_len")->v.u, n);
	assert_int_equal(ev(&f->items[0], "messages_in_dump")->v.u, n);
	assert_string_equal(ev(&f->items[0], "dominant_shape")->v.s, "{job,_,_}");
	assert_true(ev(&f->items[0], "dominant_share")->v.d > 99.9);
	assert_string_equal(ev(&f->items[0], "sample_message")->v.s, "{job,0,[]}");
	bd_findings_free(f);
	bd_model_free(m);
}

static void test_mailbox_fragment(void **state)
{
	(void)state;
	mailbox_fragment(20000);
	mailbox_fragment(120000);
}

/* A full atom table: clusters by pattern, in creation order (newest first in the dump). */
static void test_atoms_fragment(void **state)
{
	(void)state;
	size_t cap = 1 << 20, k = 0;
	char *text = malloc(cap);
	k += (size_t)snprintf(text + k, cap - k, "%s",
			      HEADER("no more index entries in atom_tab (max=9000)")
			      "=index_table:atom_tab\nsize: 9216\nlimit: 9000\nentries: 9000\n=atoms\n");
	for (int i = 3000; i >= 1; i--) {
		if (i % 10 == 0)
			k += (size_t)snprintf(text + k, cap - k, "'%08x-1234-abcd-ef01-%012d'\n", i, i);
		else if (i % 25 == 0)
			k += (size_t)snprintf(text + k, cap - k, "'0x%X'\n", i * 7919);
		else
			k += (size_t)snprintf(text + k, cap - k, "user_%d\n", i);
	}
	for (int i = 0; i < 6000; i++)
		k += (size_t)snprintf(text + k, cap - k, "word%c%c%c\n", 'a' + i % 26, 'a' + i / 26 % 26,
				      'a' + i / 676 % 26);
	snprintf(text + k, cap - k, "=end\n");
	bd_model *m;
	bd_findings *f = analyze_text(text, &m);
	free(text);
	assert_int_equal(f->items[0].kind, BD_F_ATOM_EXHAUSTION);
	assert_int_equal(f->items[0].severity, BD_SEV_CRITICAL);
	assert_string_equal(ev(&f->items[0], "cluster1")->v.s, "user_<N>");
	assert_int_equal(ev(&f->items[0], "cluster1_count")->v.u, 2640);
	assert_string_equal(ev(&f->items[0], "cluster2")->v.s, "<uuid>");
	assert_string_equal(ev(&f->items[0], "cluster2_examples")->v.s,
			    "0000000a-1234-abcd-ef01-000000000010 .. 00000bb8-1234-abcd-ef01-000000003000");
	assert_string_equal(ev(&f->items[0], "cluster3")->v.s, "0x<hex>");
	assert_int_equal(ev(&f->items[0], "atom_limit")->v.u, 9000);
	bd_findings_free(f);
	bd_model_free(m);
}

/* 1 024 ports, one driver, one owner, system_limit in the slogan. */
static void test_port_limit_fragment(void **state)
{
	(void)state;
	size_t cap = 1 << 20, k = 0;
	char *text = malloc(cap);
	k += (size_t)snprintf(text + k, cap - k, "%s",
			      HEADER("pool: cannot open socket: system_limit")
			      PROC("<0.79.0>", "Name: udp_pool\n")
			      "Program counter: 0x00007f (pool:loop/1 + 40)\n");
	for (int i = 0; i < 1024; i++)
		k += (size_t)snprintf(text + k, cap - k,
				      "=port:#Port<0.%d>\nState: CONNECTED\nSlot: %d\nConnected: %s\n"
				      "Port controls linked-in driver: %s\n",
				      i, i, i < 3 ? "<0.0.0>" : "<0.79.0>", i < 3 ? "efile" : "udp_inet");
	snprintf(text + k, cap - k, "=end\n");
	bd_model *m;
	bd_findings *f = analyze_text(text, &m);
	free(text);
	assert_int_equal(f->items[0].kind, BD_F_PORT_LIMIT);
	assert_string_equal(f->items[0].subject.name, "udp_pool");
	assert_int_equal(ev(&f->items[0], "limit")->v.u, 1024);
	assert_int_equal(ev(&f->items[0], "dominant_count")->v.u, 1021);
	assert_int_equal(f->items[1].kind, BD_F_MANUAL_DUMP);
	bd_findings_free(f);
	bd_model_free(m);
}

/* The gen_server state is the slot after the callback module. */
static void test_gen_state_fragment(void **state)
{
	(void)state;
	bd_model *m = tu_open_text(
		HEADER("Received SIGUSR1")
		PROC("<0.85.0>", "Name: kv\n") "Program counter: 0x00007f (gen_server:loop/7 + 596)\n"
		"=proc_stack:<0.85.0>\ny0:N\ny1:A8:infinity\ny2:A6:kv_mod\ny3:H1000\ny4:A2:kv\n"
		"y5:P<0.9.0>\n0x00007ff1a516d078:SReturn addr 0xA9C10A8C (proc_lib:init_p_do_apply/3 + 192)\n"
		"y0:N\n=proc_heap:<0.85.0>\n1000:t2:A5:state,I42\n2000:t2:A8:$ancestors,H2010\n"
		"2010:lP<0.9.0>|N\n2020:t2:AD:$initial_call,H2030\n2030:t3:A6:kv_mod,A4:init,I1\n"
		"=proc_dictionary:<0.85.0>\nH2000\nH2020\n=end\n");
	const bd_proc *p = bd_proc_find(m, "kv");
	bd_heap *h = NULL;
	bd_error err = {0};
	assert_int_equal(bd_heap_open(&h, m, p, &err), 0);
	bd_gen_state st;
	assert_int_equal(bd_gen_state_read(h, m, p, &st, &err), 0);
	assert_string_equal(st.behaviour, "gen_server");
	assert_string_equal(st.module, "kv_mod");
	assert_int_equal(st.y, 3);
	assert_false(st.in_callback);
	char buf[64];
	bd_term_fmt(st.state, buf, sizeof buf, 4, 4);
	assert_string_equal(buf, "{state,42}");
	bd_heap_free(h);
	bd_model_free(m);
}

/* Elixir's Agent (and any gen_server started through a fun) overwrites $initial_call
 * with the fun's module: the module slot of the frame names the callback module. */
static void test_gen_state_agent_fragment(void **state)
{
	(void)state;
	bd_model *m = tu_open_text(
		HEADER("Received SIGUSR1")
		PROC("<0.85.0>", "Name: 'Elixir.My.Agent'\n") "Program counter: 0x00007f (gen_server:loop/7 + 596)\n"
		"=proc_stack:<0.85.0>\ny0:N\ny1:A8:infinity\ny2:A13:Elixir.Agent.Server\ny3:H1000\n"
		"y4:A14:Elixir.My.Agent\ny5:P<0.9.0>\n"
		"0x00007ff1a516d078:SReturn addr 0xA9C10A8C (proc_lib:init_p_do_apply/3 + 192)\n"
		"y0:N\n=proc_heap:<0.85.0>\n1000:t2:A3:cfg,A2:on\n2000:t2:A8:$ancestors,H2010\n"
		"2010:lP<0.9.0>|N\n2020:t2:AD:$initial_call,H2030\n"
		"2030:t3:A11:elixir_compiler_0,A12:-__FILE__/1-fun-1-,I0\n"
		"=proc_dictionary:<0.85.0>\nH2000\nH2020\n=end\n");
	const bd_proc *p = bd_proc_find(m, "My.Agent");
	assert_non_null(p);
	bd_heap *h = NULL;
	bd_error err = {0};
	assert_int_equal(bd_heap_open(&h, m, p, &err), 0);
	bd_gen_state st;
	assert_int_equal(bd_gen_state_read(h, m, p, &st, &err), 0);
	assert_string_equal(st.behaviour, "gen_server");
	assert_string_equal(st.module, "'Elixir.Agent.Server'");
	assert_int_equal(st.y, 3);
	char buf[64];
	bd_term_fmt(st.state, buf, sizeof buf, 4, 4);
	assert_string_equal(buf, "{cfg,on}");
	/* MFAs from terms print their atoms as the VM does */
	assert_string_equal(bd_term_mfa(bd_heap_dict_get(h, "$initial_call"), buf, sizeof buf),
			    "elixir_compiler_0:'-__FILE__/1-fun-1-'/0");
	bd_heap_free(h);
	bd_model_free(m);
}

/* A dump cut inside a section: the evidence names the section without its "=" (the
 * text prints key=value). */
static void test_truncated_fragment(void **state)
{
	(void)state;
	bd_model *m;
	bd_findings *f = analyze_text(HEADER("Received SIGUSR1")
				      PROC("<0.80.0>", "Name: srv\n")
				      "=mod:erl_parse\nCurrent size: 12", &m);
	const bd_finding *t = NULL;
	for (size_t i = 0; i < f->n; i++)
		if (f->items[i].kind == BD_F_TRUNCATED_DUMP)
			t = &f->items[i];
	assert_non_null(t);
	assert_string_equal(ev(t, "cut_in_section")->v.s, "mod:erl_parse");
	bd_findings_free(f);
	bd_model_free(m);
}

/* A live capture has no slogan: the manual_dump line says whether anything above it
 * is worth a look (calm: nothing at warning level; else: see above). */
static void live_capture(uint64_t msgq_len, const char *want_title)
{
	bd_live *lv;
	bd_error err = {0};
	assert_int_equal(bd_live_new(&lv, &err), 0);
	bd_live_node(lv)->node_name = bd_live_atom(lv, "node@hx", 7);
	bd_live_node(lv)->word_size = 8;
	bd_proc *p = bd_live_proc_add(lv, (bd_pid){0, 85, 0});
	assert_non_null(p);
	p->name = bd_live_atom(lv, "worker", 6);
	p->state = BD_PS_WAITING;
	p->msgq_len = msgq_len;
	bd_model *m;
	assert_int_equal(bd_live_finish(lv, &m, &err), 0);
	bd_findings *f = NULL;
	bd_analyze_opts o = BD_ANALYZE_OPTS_INIT;
	assert_int_equal(bd_analyze(m, &o, &f, &err), 0);
	const bd_finding *manual = NULL;
	for (size_t i = 0; i < f->n; i++)
		if (f->items[i].kind == BD_F_MANUAL_DUMP)
			manual = &f->items[i];
	assert_non_null(manual);
	assert_string_equal(manual->title, want_title);
	bd_findings_free(f);
	bd_model_free(m);
}

static void test_live_capture_title(void **state)
{
	(void)state;
	live_capture(0, "Live capture of a running node: nothing crashed and nothing at warning "
			"level: the node looked healthy");
	live_capture(50000, "Live capture of a running node: nothing crashed; see the findings "
			    "above for what was wrong");
}

/* Nothing in the dump: no crash, only what the slogan says. */
static void test_bad_input(void **state)
{
	(void)state;
	static const char *const texts[] = {
		HEADER("") "=end\n",
		HEADER("Received SIGUSR1") "=proc:<0.1.0>\nState: Waiting\n",
		HEADER("eheap_alloc: Cannot allocate 10 bytes of memory (of type \"heap\").") "=end\n",
		HEADER("Kernel pid terminated (application_controller) (") "=end\n",
		HEADER("Received SIGUSR1") "=proc:<0.1.0>\nProgram counter: 0x0 (gen:do_call/4 + 7)\n"
			"Link list: [{to,<0.99.0>,#Ref<0.1>}]\nMessage queue length: 5000\n"
			"=proc_messages:<0.1.0>\nH1:N\nHZZ\n\n=proc_heap:<0.1.0>\n1:t99:A1:a\n",
	};
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
		bd_model *m;
		bd_findings *f = analyze_text(texts[i], &m);
		assert_non_null(f->verdict);
		for (size_t j = 0; j < f->n; j++) {
			assert_non_null(f->items[j].title);
			assert_non_null(f->items[j].advice);
		}
		bd_findings_free(f);
		bd_model_free(m);
	}
	bd_findings_free(NULL);
	bd_analyze_opts bad = {99, 0, 0, 0};
	bd_model *m = tu_open_text(texts[0]);
	bd_findings *f;
	bd_error err = {0};
	assert_int_equal(bd_analyze(m, &bad, &f, &err), BD_EUSAGE);
	bd_model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slogans),
		cmocka_unit_test(test_deadlock_fragment),
		cmocka_unit_test(test_deadlock_chain_fragment),
		cmocka_unit_test(test_elixir_quoting_fragment),
		cmocka_unit_test(test_blocked_chain_fragment),
		cmocka_unit_test(test_mailbox_fragment),
		cmocka_unit_test(test_atoms_fragment),
		cmocka_unit_test(test_port_limit_fragment),
		cmocka_unit_test(test_gen_state_fragment),
		cmocka_unit_test(test_gen_state_agent_fragment),
		cmocka_unit_test(test_truncated_fragment),
		cmocka_unit_test(test_live_capture_title),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
