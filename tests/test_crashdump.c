/* The crash-dump reader on hand-made fragments: one test per section kind, the
 * header's multi-line slogan, forged tags, truncation and bad input. Real dumps are
 * covered by test_samples and test_truncation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "int.h"
#include "testutil.h"

#define HEADER                                                                          \
	"=erl_crash_dump:0.5\n"                                                         \
	"Sat Nov 21 21:04:25 2026\n"                                                    \
	"Slogan: line one\nline two: with colon\n=fake_tag:xx\n"                        \
	"System version: Erlang/OTP 25 [erts-13.1.5] [source] [64-bit] [smp:2:2]\n"    \
	"Taints: crypto,asn1rt_nif\n"                                                   \
	"Atoms: 8409\n"                                                                 \
	"Calling Thread: scheduler:1\n"

static void test_header(void **state)
{
	(void)state;
	bd_model *m = tu_open_text(HEADER "=end\n");
	const bd_node_info *n = bd_model_node(m);
	assert_string_equal(n->slogan, "line one\nline two: with colon\n=fake_tag:xx");
	assert_string_equal(n->otp_release, "25");
	assert_string_equal(n->erts_version, "13.1.5");
	assert_int_equal(n->word_size, 8);
	assert_int_equal(n->atoms, 8409);
	assert_string_equal(n->taints, "crypto,asn1rt_nif");
	assert_string_equal(n->calling_thread, "scheduler:1");
	assert_string_equal(n->created, "Sat Nov 21 21:04:25 2026");
	assert_true(n->created_unix > 1700000000);
	assert_int_equal(n->dump_major, 0);
	assert_int_equal(n->dump_minor, 5);
	assert_false(n->truncated);
	assert_int_equal(bd_model_section_count(m, "fake_tag"), 0);
	bd_model_free(m);
}

static void test_scheduler_memory_tables(void **state)
{
	(void)state;
	bd_model *m = tu_open_text(
		HEADER "=scheduler:1\nScheduler Sleep Info Flags: \nScheduler Sleep Info Aux Work: \n"
		"Current Port: \nRun Queue Max Length: 0\nRun Queue High Length: 0\n"
		"Run Queue Normal Length: 17\nRun Queue Low Length: 0\nRun Queue Port Length: 2\n"
		"Run Queue Flags: NONEMPTY | EXEC\nCurrent Process: <0.85.0>\n"
		"Current Process State: Running\nCurrent Process Internal State: ACT_PRIO_NORMAL\n"
		"Current Process Program counter: 0x00007f (lists:seq/2 + 40)\n"
		"Current Process Limited Stack Trace:\n"
		"0x00007ff1a516d060:SReturn addr 0xA9C72DC4 (hog:loop/1 + 140)\n"
		"0x00007ff1a516d078:SReturn addr 0xA9C10A8C (<terminate process normally>)\n"
		"=dirty_cpu_scheduler:2\nScheduler Sleep Info Flags: SLEEPING\n"
		"=dirty_cpu_run_queue\nRun Queue Max Length: 0\nRun Queue Normal Length: 3\n"
		"=memory\ntotal: 1000\nprocesses: 400\nprocesses_used: 399\nsystem: 600\natom: 10\n"
		"atom_used: 9\nbinary: 50\ncode: 300\nets: 20\n"
		"=hash_table:atom_tab\nsize: 8192\nused: 6000\nobjs: 9000\ndepth: 7\n"
		"=index_table:atom_tab\nsize: 9216\nlimit: 9000\nentries: 8999\n"
		"=allocated_areas\nsys_misc: 100\nstatic: 200 150\n"
		"=allocator:binary_alloc[1]\nversions: 0.9 3.0\noption e: true\n"
		"mbcs blocks[binary_alloc] size: 10 20 30\nmbcs blocks[sys_alloc] size: 1 2 3\n"
		"mbcs carriers size: 100 200 300\nsbcs blocks[binary_alloc] size: 5 5 5\n"
		"sbcs carriers size: 8 8 8\nbinary_alloc calls: 77\n"
		"=end\n");
	size_t n;
	const bd_sched *s = bd_model_scheds(m, &n);
	assert_int_equal(n, 3);
	assert_int_equal(s[0].id, 1);
	assert_int_equal(s[0].rq_normal, 17);
	assert_int_equal(s[0].rq_port, 2);
	assert_int_equal(s[0].current.num, 85);
	assert_string_equal(s[0].current_state, "Running");
	assert_int_equal(s[0].trace_count, 2);
	assert_string_equal(bd_model_string(m, s[0].trace_first), "hog:loop/1 + 140");
	assert_null(s[0].current_port);
	assert_int_equal(s[1].type, BD_SCHED_DIRTY_CPU);
	assert_false(bd_pid_valid(s[1].current));
	assert_int_equal(s[2].type, BD_SCHED_DIRTY_CPU_RQ);
	assert_int_equal(s[2].rq_normal, 3);
	const bd_memory *mm = bd_model_memory(m);
	assert_int_equal(mm->total, 1000);
	assert_int_equal(mm->ets, 20);
	assert_int_equal(mm->maximum, BD_UNKNOWN);
	const bd_limits *l = bd_model_limits(m);
	assert_int_equal(l->atoms_limit, 9000);
	assert_int_equal(l->atoms, 8409); /* header count wins */
	const bd_table_stat *t = bd_model_table_stats(m, &n);
	assert_int_equal(n, 2);
	assert_int_equal(t[0].depth, 7);
	assert_int_equal(t[1].entries, 8999);
	const bd_area *a = bd_model_areas(m, &n);
	assert_int_equal(n, 2);
	assert_int_equal(a[1].allocated, 200);
	assert_int_equal(a[1].used, 150);
	assert_int_equal(a[0].used, BD_UNKNOWN);
	const bd_alloc_stat *st = bd_model_alloc_stats(m, &n);
	assert_int_equal(n, 8);
	assert_string_equal(st[0].alloc, "binary_alloc");
	assert_int_equal(st[0].instance, 1);
	assert_string_equal(st[0].text, "0.9 3.0");
	assert_int_equal(st[2].v[2], 30);
	bd_model_free(m);
}

static void test_proc(void **state)
{
	(void)state;
	bd_model *m = tu_open_text(
		HEADER "=proc:<0.83.0>\nState: Waiting\nName: my_holder\nSpawned as: erlang:apply/2\n"
		"Spawned by: <0.10.0>\nMessage queue length: 12\nNumber of heap fragments: 0\n"
		"Heap fragment data: 0\n"
		"Last calls: timer:sleep/1\n erlang:function_exported/3\n 'receive'\n\n"
		"Link list: [<0.10.0>, #Port<0.5>, {from,<0.10.0>,#Ref<0.1.2.3>}, "
		"{to,<0.84.0>,#Ref<0.1.2.4>}, {to,{my_holder,'nonode@nohost'},#Ref<0.1.2.5>}, "
		"{to,'b@vm',[]}, {from,{my_mod,my_type},#Ref<0.1.2.6>}]\n"
		"Reductions: 21\nStack+heap: 233\nOldHeap: 0\nHeap unused: 29\nOldHeap unused: 0\n"
		"BinVHeap: 50\nOldBinVHeap: 0\nBinVHeap unused: 46372\nOldBinVHeap unused: overflow\n"
		"Memory: 3992\nProgram counter: 0x00007ff1a9fe97bc (dumpgen:holder/0 + 172)\n"
		"arity = 0\nInternal State: ACT_PRIO_NORMAL | USR_PRIO_NORMAL\n"
		"=proc:<0.84.0>\nState: Exiting\nSpawned as: proc_lib:init_p/5\nSpawned by: []\n"
		"Program counter: 0x0000 (<terminate process>)\n"
		"=end\n");
	size_t n;
	const bd_proc *p = bd_model_procs(m, &n);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].state, BD_PS_WAITING);
	assert_string_equal(p[0].name, "my_holder");
	assert_int_equal(p[0].spawned_by.num, 10);
	assert_int_equal(p[0].msgq_len, 12);
	assert_int_equal(p[0].bin_vheap, 50);
	assert_int_equal(p[0].memory, 3992);
	assert_string_equal(p[0].pc, "dumpgen:holder/0 + 172");
	assert_string_equal(p[0].pc_mfa, "dumpgen:holder/0");
	/* The rest of the header is read again on request. */
	bd_proc_ext x;
	assert_int_equal(bd_proc_ext_get(m, &p[0], &x), 0);
	assert_int_equal(x.old_bin_vheap_unused, BD_UNKNOWN);
	assert_int_equal(x.bin_vheap_unused, 46372);
	assert_int_equal(x.heap_unused, 29);
	assert_int_equal(x.heap_frags, 0);
	assert_int_equal(x.arity, 0);
	assert_string_equal(x.internal_state, "ACT_PRIO_NORMAL | USR_PRIO_NORMAL");
	assert_string_equal(x.last_calls, "timer:sleep/1, erlang:function_exported/3, 'receive'");
	assert_int_equal(bd_proc_ext_get(m, &p[1], &x), 0);
	assert_null(x.last_calls);
	assert_int_equal(x.arity, BD_UNKNOWN);
	assert_null(x.internal_state);
	bd_proc other = p[0];
	assert_int_equal(bd_proc_ext_get(m, &other, &x), BD_ENOTFOUND);
	assert_int_equal(p[0].reductions, 21);
	const bd_link *l = bd_model_links(m, &n);
	assert_int_equal(p[0].link_count, 7);
	l += p[0].link_first;
	assert_int_equal(l[0].kind, BD_LINK);
	assert_int_equal(l[0].target_kind, BD_TGT_PID);
	assert_int_equal(l[1].target_kind, BD_TGT_PORT);
	assert_int_equal(l[1].id.num, 5);
	assert_int_equal(l[2].kind, BD_MON_FROM);
	assert_string_equal(l[2].ref, "#Ref<0.1.2.3>");
	assert_int_equal(l[3].kind, BD_MON_TO);
	assert_int_equal(l[3].id.num, 84);
	assert_int_equal(l[4].target_kind, BD_TGT_NAME);
	assert_string_equal(l[4].name, "my_holder");
	assert_string_equal(l[4].node, "'nonode@nohost'");
	assert_int_equal(l[5].kind, BD_MON_NODE);
	assert_int_equal(l[6].kind, BD_MON_FROM);
	assert_string_equal(l[6].name, "my_mod");
	assert_int_equal(p[1].state, BD_PS_EXITING);
	assert_false(bd_pid_valid(p[1].spawned_by));
	assert_null(p[1].pc_mfa);
	assert_int_equal(p[1].msgq_len, BD_UNKNOWN);
	assert_ptr_equal(bd_proc_find(m, "my_holder"), &p[0]);
	assert_ptr_equal(bd_proc_find(m, "<0.84.0>"), &p[1]);
	assert_ptr_equal(bd_proc_find(m, "0.84.0"), &p[1]);
	assert_null(bd_proc_find(m, "nobody"));
	bd_model_free(m);
}

static void test_port_ets_timer_dist_mod_fun(void **state)
{
	(void)state;
	bd_model *m = tu_open_text(
		HEADER "=proc:<0.10.0>\nState: Waiting\nName: owner\n"
		"=port:#Port<0.5>\nState: CONNECTED|BINARY_IO\nTask Flags: CHK_UNSET_BUSY_Q\nSlot: 40\n"
		"Connected: <0.10.0>\nLinks: <0.61.0><0.87.0>\nMonitors: (<0.9.0>,#Ref<0.1.2.3>)\n"
		"Registered as: my_port\nPort controls linked-in driver: tcp_inet\nInput: 10\n"
		"Output: 20\nQueue: 30\nPort Data: inet_tcp\n"
		"=port:#Port<0.6>\nState: CONNECTED\nPort controls external process: sh -c 'echo'\n"
		"=ets:<0.10.0>\nSlot: 140675832868768\nTable: my_set\nName: my_set\nBuckets: 256\n"
		"Chain Length Avg: 0.390625\nChain Length Max: 3\nChain Length Min: 0\n"
		"Chain Length Std Dev: 0.627923\nChain Length Expected Std Dev: 0.623778\n"
		"Fixed: false\nObjects: 100\nWords: 1389\nType: set\nProtection: public\n"
		"Compressed: false\nWrite Concurrency: false\nRead Concurrency: false\n"
		"=ets:<0.10.0>\nSlot: 1\nTable: #Ref<0.4042435941.562167809.169932>\nName: my_ordered\n"
		"Ordered set (AVL tree), Elements: 25\nOrdered set (AVL tree), Elements: 25\n"
		"Objects: 50\nWords: -1\nType: ordered_set\n"
		"=timer:<0.10.0>\nMessage: tick\nTime left: 4999\n"
		"=timer:my_waiter\nMessage: {a,b}\nTime left: 10 ms\n"
		"=node:'a@vm'\n=visible_node:8525\nName: 'b@vm'\nController: #Port<0.11>\n"
		"Creation: 1795295246\nRemote monitoring: <0.9.0> 'b@vm'\nRemote link: <8525.88.0> <0.92.0>\n"
		"=hidden_node:8526\nName: 'c@vm'\n"
		"=loaded_modules\nCurrent code: 100\nOld code: 0\n"
		"=mod:'Elixir.Foo'\nCurrent size: 1234\nCurrent attributes: g2wAAAABaAJkAAN2c25saq==\n"
		"=fun\nModule: lists\nUniq: 1\nIndex: 2\nAddress: 0x00007f\nRefc: 3\n"
		"=end\n");
	size_t n;
	const bd_port *pt = bd_model_ports(m, &n);
	assert_int_equal(n, 2);
	assert_int_equal(pt[0].id.num, 5);
	assert_string_equal(pt[0].driver, "tcp_inet");
	assert_string_equal(pt[0].kind, "driver");
	assert_int_equal(pt[0].queue, 30);
	assert_int_equal(pt[0].slot, 40);
	assert_int_equal(pt[0].link_count, 3);
	assert_string_equal(pt[0].name, "my_port");
	assert_string_equal(pt[1].kind, "external");
	const bd_ets *e = bd_model_ets(m, &n);
	assert_int_equal(n, 2);
	assert_string_equal(e[0].name, "my_set");
	assert_true(e[0].named);
	assert_int_equal(e[0].buckets, 256);
	assert_true(fabs(e[0].chain_avg - 0.390625) < 1e-9);
	assert_int_equal(e[0].fixed, BD_UNKNOWN);
	assert_int_equal(e[1].tree_nodes, 2);
	assert_int_equal(e[1].words, BD_UNKNOWN);
	assert_false(e[1].named);
	const bd_timer *t = bd_model_timers(m, &n);
	assert_int_equal(n, 2);
	assert_int_equal(t[0].time_left_ms, 4999);
	assert_int_equal(t[1].time_left_ms, 10);
	assert_false(bd_pid_valid(t[1].owner_pid));
	assert_string_equal(t[1].owner, "my_waiter");
	const bd_dist *d = bd_model_dists(m, &n);
	assert_int_equal(n, 2);
	assert_int_equal(d[0].channel, 8525);
	assert_int_equal(d[0].remote_links, 1);
	assert_int_equal(d[1].kind, BD_DIST_HIDDEN);
	assert_true(bd_model_node(m)->distributed);
	assert_string_equal(bd_model_node(m)->node_name, "'a@vm'");
	const bd_module *md = bd_model_modules(m, &n);
	assert_int_equal(n, 1);
	assert_string_equal(md[0].name, "'Elixir.Foo'");
	assert_int_equal(md[0].current_size, 1234);
	assert_int_not_equal(md[0].attributes.len, 0);
	const bd_fun *f = bd_model_funs(m, &n);
	assert_int_equal(n, 1);
	assert_int_equal(f[0].refc, 3);
	bd_model_free(m);
}

static void test_binary_atoms_hex(void **state)
{
	(void)state;
	bd_model *m = tu_open_text(
		HEADER "=binary:55EB56259828\nA:QUJDREVGR0hJSg==\n=atoms\nnewest\n'with space'\noldest\n=end\n");
	size_t n;
	const bd_binary *b = bd_model_binaries(m, &n);
	assert_int_equal(n, 1);
	assert_int_equal(b[0].size, 10);
	char buf[16] = {0};
	assert_int_equal(bd_binary_read(m, &b[0], 2, buf, 4), 4);
	assert_memory_equal(buf, "CDEF", 4);
	assert_ptr_equal(bd_binary_find(m, 0x55EB56259828ull), &b[0]);
	assert_int_equal(bd_model_atoms_each(m, NULL, NULL), 3);
	bd_model_free(m);
	/* dump version 0.3: binaries in hex */
	m = tu_open_text("=erl_crash_dump:0.3\nSat Nov 21 21:04:25 2026\nSlogan: x\n"
			 "System version: Erlang/OTP 19 [erts-8.3] [64-bit]\n"
			 "=binary:AB\n3:414243\n=end\n");
	b = bd_model_binaries(m, &n);
	assert_int_equal(n, 1);
	assert_int_equal(bd_binary_read(m, &b[0], 0, buf, 3), 3);
	assert_memory_equal(buf, "ABC", 3);
	bd_model_free(m);
}

static void test_forged_tags(void **state)
{
	(void)state;
	/* 'x\n=proc:<0.999.0>' and a crafted atom ending a line with a valid-looking tag */
	bd_model *m = tu_open_text(
		HEADER "=proc:<0.1.0>\nState: Waiting\n"
		"=proc_stack:<0.1.0>\ny0:H7F111B074110\n"
		"=proc_heap:<0.1.0>\n"
		"7F111B074110:t2:A11:x\n=proc:<0.999.0>,I1\n"
		"7F111B074308:t1:A14:x\n=proc_heap:<0.1.0>\n"
		"7F111B074400:t2:A9:k\n=evil:1,A1:v\n"
		"=atoms\nx\n=end\n");
	size_t n;
	bd_model_procs(m, &n);
	assert_int_equal(n, 1);
	assert_int_equal(bd_model_section_count(m, "proc_heap"), 1);
	assert_int_equal(bd_model_section_count(m, "evil"), 0);
	assert_false(bd_model_node(m)->truncated);
	bd_model_free(m);
}

static void test_truncation_and_abort(void **state)
{
	(void)state;
	bd_model *m = tu_open_text(HEADER "=proc:<0.1.0>\nState: Waiting\nMessage queue le");
	const bd_node_info *n = bd_model_node(m);
	assert_true(n->truncated);
	assert_null(n->abort_reason);
	assert_string_equal(n->truncated_in, "=proc:<0.1.0>");
	bd_model_free(m);
	m = tu_open_text(HEADER "=proc:<0.1.0>\nState: Waiting\nProgram counter: 0x0\n"
				"=abort:CRASH DUMP SIZE LIMIT REACHED\n");
	n = bd_model_node(m);
	assert_true(n->truncated);
	assert_string_equal(n->abort_reason, "CRASH DUMP SIZE LIMIT REACHED");
	assert_string_equal(n->truncated_in, "=proc:<0.1.0>");
	bd_model_free(m);
	/* cut inside the header, even inside the slogan */
	m = tu_open_text("=erl_crash_dump:0.5\nSat Nov 21 21:04:25 2026\nSlogan: cut here");
	assert_true(bd_model_node(m)->truncated);
	bd_model_free(m);
}

static void test_bad_input(void **state)
{
	(void)state;
	struct { const char *text; int code; } cases[] = {
		{"ENC0\x01\x02rest", BD_EUNSUPPORTED},
		{"<Erlang crash dump>\nWed Jan 1\n", BD_EUNSUPPORTED},
		{"hello world\n", BD_EUNSUPPORTED},
		{"", BD_EUNSUPPORTED},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bd_model *m = NULL;
		bd_error err = {0};
		const char *p = tu_write_temp(cases[i].text, strlen(cases[i].text));
		assert_int_equal(bd_model_open(&m, p, &err), cases[i].code);
		assert_null(m);
		assert_true(strlen(err.msg) > 10);
		unlink(p);
	}
	bd_model *m = NULL;
	bd_error err = {0};
	assert_int_equal(bd_model_open(&m, "/nonexistent/x.dump", &err), BD_EIO);
	assert_non_null(strstr(err.msg, "/nonexistent/x.dump"));
	/* absurd numbers and non-UTF-8 bytes: values stay unknown, nothing breaks */
	m = tu_open_text(HEADER "=proc:<0.1.0>\nState: \xff\xfe" "\nName: \xc3\x28" "bad\n"
				"Message queue length: 99999999999999999999999\nReductions: -5\n"
				"Link list: [<0.1.0, {to,<0.2.0>\n"
				"=proc:<99999999999.1.0>\n=end\n");
	size_t n;
	const bd_proc *p = bd_model_procs(m, &n);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].msgq_len, BD_UNKNOWN);
	assert_int_equal(p[0].reductions, BD_UNKNOWN);
	assert_int_equal(p[0].state, BD_PS_UNKNOWN);
	bd_model_free(m);
}

static void test_zstd_input(void **state)
{
	(void)state;
	const char *path = tu_fixture("tests/fixtures/terms_otp27.dump.zst");
	char zpath[128];
	snprintf(zpath, sizeof zpath, "%s.zst", path);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "zstd -qf -1 '%s' -o '%s'", path, zpath);
	assert_int_equal(system(cmd), 0);
	bd_model *a = NULL, *b = NULL;
	bd_error err = {0};
	assert_int_equal(bd_model_open(&a, path, &err), 0);
	assert_int_equal(bd_model_open(&b, zpath, &err), 0);
	size_t na, nb;
	bd_model_procs(a, &na);
	bd_model_procs(b, &nb);
	assert_int_equal(na, nb);
	assert_int_equal(na, 43);
	assert_string_equal(bd_model_node(a)->slogan, bd_model_node(b)->slogan);
	bd_model_free(a);
	bd_model_free(b);
	unlink(path);
	unlink(zpath);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_scheduler_memory_tables),
		cmocka_unit_test(test_proc),
		cmocka_unit_test(test_port_ets_timer_dist_mod_fun),
		cmocka_unit_test(test_binary_atoms_hex),
		cmocka_unit_test(test_forged_tags),
		cmocka_unit_test(test_truncation_and_abort),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_zstd_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
