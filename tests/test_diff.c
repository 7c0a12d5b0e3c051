/* beamdump diff: the engine on hand-made dumps (keys, groups, ETS, atoms, rates), the
 * atom patterns, and the command on the real dumps of samples/ci (checked against the
 * facts each node recorded, and the JSON against docs/schema/diff.schema.json). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beamdump/diff.h"
#include "jsonlite.h"
#include "testutil.h"

#define HDR(time)                                                                       \
	"=erl_crash_dump:0.5\n" time "\nSlogan: test\n"                                  \
	"System version: Erlang/OTP 25 [erts-13.1.5] [64-bit]\nAtoms: 5\n"

/* A worker spawned by proc_lib under my_pool: its =proc section, and (later in the
 * dump, as the VM writes them) its dictionary and heap. */
#define WORKER(n)                                                                        \
	"=proc:<0." #n ".0>\nState: Waiting\nSpawned as: proc_lib:init_p/5\n"             \
	"Message queue length: 0\nReductions: 10\nMemory: 1000\n"                        \
	"Program counter: 0x0 (worker:loop/1 + 20)\n"
#define WORKER_DATA(n)                                                                   \
	"=proc_dictionary:<0." #n ".0>\nH2000\nH2020\n"                                   \
	"=proc_heap:<0." #n ".0>\n"                                                       \
	"2000:t2:AD:$initial_call,H2010\n2010:t3:A6:worker,A4:init,I1\n"                 \
	"2020:t2:AA:$ancestors,H2030\n2030:lA7:my_pool|H2040\n2040:lP<0.10.0>|N\n"

static const char *const dump_a =
	HDR("Sat Nov 21 21:04:25 2026")
	"=memory\ntotal: 1000\nprocesses: 400\nbinary: 100\nets: 50\n"
	"=proc:<0.10.0>\nState: Waiting\nName: my_pool\nSpawned as: pool:init/0\n"
	"Message queue length: 5\nReductions: 100\nMemory: 2000\nBinVHeap: 10\n"
	"=proc:<0.11.0>\nState: Waiting\nSpawned as: old:gone/0\nMemory: 500\n"
	"=proc:<0.12.0>\nState: Waiting\nSpawned as: erlang:apply/2\nMemory: 700\n"
	"Program counter: 0x0 (loop:idle/0 + 4)\n"
	WORKER(20)
	"=ets:<0.10.0>\nSlot: 1\nTable: pool_tab\nName: pool_tab\nObjects: 10\nWords: 100\n"
	WORKER_DATA(20)
	"=atoms\nmy_pool\nworker\nok\n"
	"=end\n";

static const char *const dump_b =
	HDR("Sat Nov 21 21:04:35 2026")
	"=memory\ntotal: 3000\nprocesses: 900\nbinary: 1100\nets: 250\n"
	"=proc:<0.10.0>\nState: Waiting\nName: my_pool\nSpawned as: pool:init/0\n"
	"Message queue length: 405\nReductions: 1100\nMemory: 52000\nBinVHeap: 20\n"
	"=proc:<0.12.0>\nState: Waiting\nSpawned as: erlang:apply/2\nMemory: 700\n"
	"Program counter: 0x0 (loop:idle/0 + 4)\n"
	WORKER(20) WORKER(21) WORKER(22)
	"=ets:<0.10.0>\nSlot: 1\nTable: pool_tab\nName: pool_tab\nObjects: 30\nWords: 300\n"
	"=ets:<0.10.0>\nSlot: 2\nTable: #Ref<0.1.2.3>\nName: scratch\nObjects: 1\nWords: 10\n"
	"=ets:<0.10.0>\nSlot: 3\nTable: #Ref<0.1.2.4>\nName: scratch\nObjects: 1\nWords: 10\n"
	WORKER_DATA(20) WORKER_DATA(21) WORKER_DATA(22)
	"=atoms\nuser_17\nuser_9\n'user_0x1f'\nmy_pool\nworker\nok\n"
	"=end\n";

static void test_atom_pattern(void **state)
{
	(void)state;
	char k[64];
	assert_int_equal(bd_atom_pattern("user_1734", 9, k, sizeof k), 1);
	assert_string_equal(k, "user_<N>");
	assert_int_equal(bd_atom_pattern("ok", 2, k, sizeof k), 0);
	assert_string_equal(k, "ok");
	bd_atom_pattern("sess_0xdeadBEEF", 15, k, sizeof k);
	assert_string_equal(k, "sess_0x<hex>");
	bd_atom_pattern("id-1b4e28ba-2fa1-11d2-883f-0016d3cca427-x", 41, k, sizeof k);
	assert_string_equal(k, "id-<uuid>-x");
	bd_atom_pattern("node_a1b2c3d4", 13, k, sizeof k);
	assert_string_equal(k, "node_<hex>");
	bd_atom_pattern("deadbeef", 8, k, sizeof k); /* a word, not an id */
	assert_string_equal(k, "deadbeef");
	bd_atom_pattern("abcdefgh12", 10, k, 5); /* cap respected */
	assert_int_equal(strlen(k), 4);
}

static void test_diff_fragments(void **state)
{
	(void)state;
	bd_model *a = tu_open_text(dump_a), *b = tu_open_text(dump_b);
	bd_diff *d = NULL;
	bd_error err = {0};
	assert_int_equal(bd_diff_run(a, b, NULL, &d, &err), 0);
	assert_int_equal(d->dt, 10);
	/* registered: matched by name, mailbox and memory grew */
	const bd_diff_pgroup *g = bd_diff_find(d, "my_pool");
	assert_non_null(g);
	assert_int_equal(g->kind, BD_KEY_NAME);
	assert_int_equal(g->a.msgq, 5);
	assert_int_equal(g->b.msgq, 405);
	assert_int_equal(g->b.memory - g->a.memory, 50000);
	assert_int_equal(g->b.binary - g->a.binary, 80); /* 10 words */
	assert_int_equal(g->added, 0);
	/* proc_lib workers: $initial_call + named ancestors from the dictionary */
	g = bd_diff_find(d, "worker:init/1 < my_pool");
	assert_non_null(g);
	assert_int_equal(g->kind, BD_KEY_CALL);
	assert_int_equal(g->a.count, 1);
	assert_int_equal(g->b.count, 3);
	assert_int_equal(g->added, 2);
	assert_int_equal(g->removed, 0);
	assert_string_equal(g->current_function, "worker:loop/1");
	assert_int_equal(d->keys_decoded, 4);
	/* a spawned fun is keyed by where it runs; the gone process by Spawned as */
	g = bd_diff_find(d, "erlang:apply/2 @ loop:idle/0");
	assert_non_null(g);
	assert_int_equal(g->b.count, 1);
	g = bd_diff_find(d, "old:gone/0");
	assert_non_null(g);
	assert_int_equal(g->a.count, 1);
	assert_int_equal(g->b.count, 0);
	assert_int_equal(g->removed, 1);
	/* ETS grouped by name and owner key */
	int seen = 0;
	for (size_t i = 0; i < d->nets; i++) {
		const bd_diff_etsgroup *e = &d->ets[i];
		assert_string_equal(e->owner, "my_pool");
		if (!strcmp(e->name, "scratch")) {
			assert_int_equal(e->count_a, 0);
			assert_int_equal(e->count_b, 2);
			seen++;
		} else if (!strcmp(e->name, "pool_tab")) {
			assert_int_equal(e->objects_b - e->objects_a, 20);
			assert_int_equal(e->bytes_b - e->bytes_a, 1600);
			seen++;
		}
	}
	assert_int_equal(seen, 2);
	/* atoms: added ones clustered, quotes stripped */
	assert_int_equal(d->atoms_added, 3);
	assert_int_equal(d->atoms_removed, 0);
	assert_string_equal(d->atom_clusters[0].pattern, "user_<N>");
	assert_int_equal(d->atom_clusters[0].count, 2);
	int hex = 0;
	for (size_t i = 0; i < d->natom_clusters; i++)
		hex |= !strcmp(d->atom_clusters[i].pattern, "user_0x<hex>");
	assert_true(hex);
	/* memory categories */
	for (size_t i = 0; i < d->nmemory; i++)
		if (!strcmp(d->memory[i].name, "binary")) {
			assert_int_equal(d->memory[i].a, 100);
			assert_int_equal(d->memory[i].b, 1100);
		}
	bd_diff_free(d);
	/* a budget of 0 heap bytes keys proc_lib processes without their dictionary */
	bd_diff_opts o = BD_DIFF_OPTS_INIT;
	o.max_key_heap_bytes = 1;
	assert_int_equal(bd_diff_run(a, b, &o, &d, &err), 0);
	assert_int_equal(d->keys_decoded, 0);
	assert_int_equal(d->keys_degraded, 4);
	assert_non_null(bd_diff_find(d, "proc_lib:init_p/5 @ worker:loop/1"));
	bd_diff_free(d);
	o.version = 99;
	assert_int_equal(bd_diff_run(a, b, &o, &d, &err), BD_EUSAGE);
	bd_model_free(a);
	bd_model_free(b);
}

static void test_diff_cli_fragments(void **state)
{
	(void)state;
	const char *pa = tu_write_temp(dump_a, strlen(dump_a));
	const char *pb = tu_write_temp(dump_b, strlen(dump_b));
	char *out = NULL;
	assert_int_equal(tu_run(&out, "diff %s %s", pa, pb), 0);
	assert_non_null(strstr(out, "10 s after A"));
	assert_non_null(strstr(out, "worker:init/1 < my_pool"));
	assert_non_null(strstr(out, "user_<N>"));
	free(out);
	assert_int_equal(tu_run(&out, "diff --json %s %s", pa, pb), 0);
	char e[256];
	jv *j = jv_parse(out, e, sizeof e);
	if (!j)
		fail_msg("diff --json: %s", e);
	const jv *mem = jv_get(jv_get(j, "diff"), "memory");
	assert_non_null(mem);
	/* binary: +1000 bytes in 10 s */
	int found = 0;
	for (size_t i = 0; i < mem->n; i++)
		if (!strcmp(jv_get(mem->items[i], "name")->str, "binary")) {
			assert_true(jv_get(mem->items[i], "per_s")->num == 100.0);
			found = 1;
		}
	assert_true(found);
	jv_free(j);
	free(out);
	assert_int_equal(tu_run(NULL, "diff %s 2>/dev/null", pa), 2);
	assert_int_equal(tu_run(NULL, "diff --by nonsense %s %s 2>/dev/null", pa, pb), 2);
	assert_int_equal(tu_run(NULL, "diff %s /nonexistent 2>/dev/null", pa), 3);
	unlink(pa);
	unlink(pb);
}

/* ---- the real dumps of samples/ci ---- */

static int have_ci_samples(void)
{
	if (tu_sample("ci/leaky_baseline") && tu_sample("ci/leaky_current") &&
	    tu_sample("ci/fixed_current"))
		return 1;
	if (getenv("BD_REQUIRE_SAMPLES"))
		fail_msg("samples/ci dumps missing under $BD_SAMPLES/ci (run samples/ci/gen.sh)");
	return 0;
}

static jv *load_schema(const char *name)
{
	char path[1024], e[256];
	snprintf(path, sizeof path, "%s/docs/schema/%s", getenv("BD_SOURCE"), name);
	char *text = tu_read_file(path, NULL);
	assert_non_null(text);
	jv *s = jv_parse(text, e, sizeof e);
	if (!s)
		fail_msg("%s: %s", name, e);
	free(text);
	return s;
}

static const jv *find_item(const jv *arr, const char *key, const char *val)
{
	for (size_t i = 0; arr && i < arr->n; i++) {
		const jv *k = jv_get(arr->items[i], key);
		if (k && k->kind == JV_STR && !strcmp(k->str, val))
			return arr->items[i];
	}
	return NULL;
}

static double num(const jv *o, const char *key)
{
	const jv *v = jv_get(o, key);
	if (!v || v->kind != JV_NUM)
		fail_msg("no number '%s'", key);
	return v->num;
}

static void test_diff_ci_samples(void **state)
{
	(void)state;
	if (!have_ci_samples())
		skip();
	const char *base = tu_sample("ci/leaky_baseline"), *cur = tu_sample("ci/leaky_current");
	char *out = NULL, e[512];
	assert_int_equal(tu_run(&out, "diff --json --all %s %s", base, cur), 0);
	jv *j = jv_parse(out, e, sizeof e);
	if (!j)
		fail_msg("diff --json: %s", e);
	jv *schema = load_schema("diff.schema.json");
	if (jv_validate(schema, j, e, sizeof e))
		fail_msg("diff --json does not match diff.schema.json: %s", e);
	const jv *d = jv_get(j, "diff");
	long iters = atol(tu_truth("ci/leaky_current", "iterations"));
	/* one session process left per run of the suite */
	const jv *g = find_item(jv_get(d, "processes"), "key", "ci_app:session_init/1");
	assert_non_null(g);
	assert_int_equal((long)(num(g, "count_b") - num(g, "count_a")), iters);
	/* audit_log's mailbox: exactly what the live nodes reported */
	g = find_item(jv_get(d, "processes"), "key", "audit_log");
	assert_non_null(g);
	assert_int_equal((long)num(g, "message_queue_len_a"),
			 atol(tu_truth("ci/leaky_baseline", "audit_log_msgq")));
	assert_int_equal((long)num(g, "message_queue_len_b"),
			 atol(tu_truth("ci/leaky_current", "audit_log_msgq")));
	/* pool workers keyed through the dictionary: $initial_call + named ancestor */
	g = find_item(jv_get(d, "processes"), "key", "ci_app:pool_worker/1 < conn_pool");
	assert_non_null(g);
	assert_int_equal((long)num(g, "count_b"), atol(tu_truth("ci/leaky_current", "pool_size")));
	/* one ETS table per run, owned by cache_server */
	const jv *t = find_item(jv_get(d, "ets"), "name", "test_cache");
	assert_non_null(t);
	assert_string_equal(jv_get(t, "owner")->str, "cache_server");
	assert_int_equal((long)(num(t, "tables_b") - num(t, "tables_a")), iters);
	assert_int_equal((long)num(t, "tables_b") - (long)num(t, "tables_a"),
			 atol(tu_truth("ci/leaky_current", "ets_count")) -
				 atol(tu_truth("ci/leaky_baseline", "ets_count")));
	/* 50 atoms per run, one pattern */
	const jv *atoms = jv_get(d, "atoms");
	const jv *c = find_item(jv_get(atoms, "clusters"), "pattern", "user_<N>");
	assert_non_null(c);
	assert_int_equal((long)num(c, "count"), 50 * iters);
	jv_free(j);
	free(out);
	/* the fixed suite leaves nothing of that kind behind at final */
	assert_int_equal(tu_run(&out, "diff --json --all %s %s", tu_sample("ci/fixed_baseline"),
				tu_sample("ci/fixed_final")),
			 0);
	j = jv_parse(out, e, sizeof e);
	assert_non_null(j);
	if (jv_validate(schema, j, e, sizeof e))
		fail_msg("diff --json (fixed): %s", e);
	d = jv_get(j, "diff");
	g = find_item(jv_get(d, "processes"), "key", "ci_app:session_init/1");
	assert_true(!g || num(g, "count_b") == num(g, "count_a"));
	assert_null(find_item(jv_get(jv_get(d, "atoms"), "clusters"), "pattern", "user_<N>"));
	t = find_item(jv_get(d, "ets"), "name", "test_cache");
	assert_true(!t || num(t, "tables_b") == num(t, "tables_a"));
	jv_free(j);
	jv_free(schema);
	free(out);
	/* any mix of dump and snapshot: the same diff */
	char snap[64];
	snprintf(snap, sizeof snap, "/tmp/bddiff-%d.bdump", (int)getpid());
	assert_int_equal(tu_run(NULL, "convert %s -o %s 2>/dev/null", cur, snap), 0);
	char *o1 = NULL, *o2 = NULL;
	assert_int_equal(tu_run(&o1, "diff --json --all %s %s", base, cur), 0);
	assert_int_equal(tu_run(&o2, "diff --json --all %s %s", base, snap), 0);
	const char *d1 = strstr(o1, "\"diff\":"), *d2 = strstr(o2, "\"diff\":");
	assert_non_null(d1);
	assert_non_null(d2);
	assert_string_equal(d1, d2);
	free(o1);
	free(o2);
	unlink(snap);
	/* text: the new group is listed with its count */
	assert_int_equal(tu_run(&out, "diff %s %s", base, cur), 0);
	assert_non_null(strstr(out, "ci_app:session_init/1"));
	assert_non_null(strstr(out, "test_cache"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atom_pattern),
		cmocka_unit_test(test_diff_fragments),
		cmocka_unit_test(test_diff_cli_fragments),
		cmocka_unit_test(test_diff_ci_samples),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
