/* Walk a model as the commands do (see walk.h). Every string is read whole and every
 * term printed, so a NULL where a command expects text, a read past the input or a
 * term that never ends shows here as it would in the CLI. Bounded per input: the
 * first processes, messages and literals only, so that one input stays fast. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beamdump/analyze.h"
#include "beamdump/diff.h"
#include "beamdump/term.h"
#include "int.h"
#include "walk.h"

enum { MAX_PROCS = 24, MAX_MSGS = 16, MAX_LITERALS = 64, MAX_BINS = 64, TERM_BUF = 2048 };

static volatile size_t sink; /* keeps the reads */

static void str(const char *s)
{
	if (s)
		sink += strlen(s);
}

static void term(const bd_term *t)
{
	static char buf[TERM_BUF];
	const bd_term *items[8];
	sink += bd_term_fmt(t, buf, sizeof buf, 8, 16);
	sink += bd_term_fmt(t, buf, 64, -1, -1);
	if (t) {
		sink += (size_t)bd_term_list(t, items, 8);
		sink += bd_term_is_atom(t, "ok");
		bd_term_mfa(t, buf, sizeof buf);
	}
}

static void node_and_tables(const bd_model *m)
{
	const bd_node_info *n = bd_model_node(m);
	const char *ns[] = {n->source, n->dump_version, n->created, n->slogan, n->system_version,
			    n->otp_release, n->erts_version, n->taints, n->calling_thread,
			    n->node_name, n->truncated_in, n->abort_reason, n->skipped_first};
	for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
		str(ns[i]);
	size_t k;
	const bd_table_stat *ts = bd_model_table_stats(m, &k);
	for (size_t i = 0; i < k; i++)
		str(ts[i].name);
	const bd_sched *sc = bd_model_scheds(m, &k);
	for (size_t i = 0; i < k; i++) {
		str(sc[i].sleep_flags), str(sc[i].aux_work), str(sc[i].current_port);
		str(sc[i].rq_flags), str(sc[i].current_state), str(sc[i].current_internal);
		str(sc[i].current_pc);
		for (uint32_t j = 0; j < sc[i].trace_count && j < 64; j++)
			str(bd_model_string(m, sc[i].trace_first + j));
		str(bd_pid_name(m, sc[i].current));
	}
	const bd_link *l = bd_model_links(m, &k);
	for (size_t i = 0; i < k; i++)
		str(l[i].name), str(l[i].node), str(l[i].ref);
	const bd_port *pt = bd_model_ports(m, &k);
	for (size_t i = 0; i < k; i++) {
		str(pt[i].state), str(pt[i].task_flags), str(pt[i].name), str(pt[i].kind);
		str(pt[i].driver), str(pt[i].port_data), str(bd_pid_name(m, pt[i].connected));
	}
	const bd_ets *e = bd_model_ets(m, &k);
	for (size_t i = 0; i < k; i++) {
		str(e[i].table), str(e[i].name), str(e[i].type), str(e[i].protection);
		str(e[i].compressed), str(e[i].write_concurrency), str(e[i].read_concurrency);
		str(bd_pid_name(m, e[i].owner));
	}
	const bd_timer *tm = bd_model_timers(m, &k);
	for (size_t i = 0; i < k; i++)
		str(tm[i].owner), str(tm[i].message);
	const bd_dist *d = bd_model_dists(m, &k);
	for (size_t i = 0; i < k; i++)
		str(d[i].name), str(d[i].controller), str(d[i].creation);
	const bd_module *md = bd_model_modules(m, &k);
	for (size_t i = 0; i < k; i++) {
		const char *t;
		size_t len;
		str(md[i].name);
		if (md[i].attributes.len && !bd_model_span_text(m, md[i].attributes, &t, &len))
			sink += len ? (unsigned char)t[len - 1] : 0;
	}
	const bd_fun *f = bd_model_funs(m, &k);
	for (size_t i = 0; i < k; i++)
		str(f[i].module), str(f[i].address);
	const bd_alloc_stat *as = bd_model_alloc_stats(m, &k);
	for (size_t i = 0; i < k; i++)
		str(as[i].alloc), str(as[i].key), str(as[i].text);
	const bd_area *ar = bd_model_areas(m, &k);
	for (size_t i = 0; i < k; i++)
		str(ar[i].name);
	sink += bd_model_section_count(m, "proc");
}

static int atom_cb(void *ud, const char *atom, size_t len)
{
	(void)ud;
	sink += len ? (unsigned char)atom[len - 1] : 0;
	return 0;
}

static void binaries(const bd_model *m)
{
	size_t k;
	const bd_binary *b = bd_model_binaries(m, &k);
	for (size_t i = 0; i < k && i < MAX_BINS; i++) {
		uint8_t head[64];
		int64_t got = bd_binary_read(m, &b[i], 0, head, sizeof head);
		sink += got > 0 ? head[0] : 0;
		got = bd_binary_read(m, &b[i], b[i].size > 8 ? b[i].size - 8 : 0, head, 8);
		sink += (size_t)got;
		sink += bd_binary_find(m, b[i].addr) != NULL;
	}
}

/* Each object line of the literal area, the persistent terms and the module blobs,
 * decoded through a literals-only context. */
static void literals(const bd_model *m)
{
	bd_heap *h;
	bd_error err = {0};
	if (bd_heap_open_literals(&h, m, &err))
		return;
	const char *t;
	size_t len;
	if (m->literals.len && !bd_model_span_text(m, m->literals, &t, &len)) {
		const char *p = t, *end = t + len;
		for (int i = 0; p < end && i < MAX_LITERALS; i++) {
			const char *c = memchr(p, ':', (size_t)(end - p));
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			if (c && (!nl || c < nl) && c - p < 20) {
				char ref[24];
				snprintf(ref, sizeof ref, "H%.*s", (int)(c - p), p);
				term(bd_heap_decode(h, ref, strlen(ref)));
			}
			p = nl ? nl + 1 : end;
		}
	}
	bd_term **keys, **vals;
	size_t n;
	if (!bd_heap_persistent_terms(h, &keys, &vals, &n, &err))
		for (size_t i = 0; i < n && i < MAX_LITERALS; i++)
			term(keys[i]), term(vals[i]);
	size_t nm;
	const bd_module *md = bd_model_modules(m, &nm);
	for (size_t i = 0; i < nm && i < MAX_LITERALS; i++) /* attributes, compilation info */
		term(bd_heap_decode_blob(h, md[i].attributes)), term(bd_heap_decode_blob(h, md[i].compile_info));
	bd_heap_free(h);
}

static void process(const bd_model *m, const bd_proc *p)
{
	char buf[256], pid[48];
	str(p->name), str(p->spawned_as), str(p->current_call), str(p->pc), str(p->pc_mfa);
	bd_proc_ext x;
	bd_proc_ext_get(m, p, &x);
	str(x.internal_state), str(x.last_calls);
	size_t nl;
	const bd_link *l = bd_model_links(m, &nl);
	for (uint32_t i = 0; i < p->link_count && p->link_first + i < nl; i++)
		str(bd_pid_name(m, l[p->link_first + i].id)), str(bd_pid_node(m, l[p->link_first + i].id));
	sink += bd_proc_find(m, bd_pid_fmt(p->pid, pid, sizeof pid)) == p;
	if (p->name)
		sink += bd_proc_find(m, p->name) != NULL;
	sink += bd_proc_name(m, p, NULL, buf, sizeof buf);
	bd_heap *h;
	bd_error err = {0};
	if (bd_heap_open(&h, m, p, &err))
		return;
	bd_frame *fr;
	size_t nf;
	if (!bd_heap_stack(h, &fr, &nf, &err))
		for (size_t i = 0; i < nf; i++) {
			str(fr[i].mfa);
			for (uint32_t j = 0; j < fr[i].nslots; j++)
				str(fr[i].slots[j].info), term(fr[i].slots[j].term);
		}
	bd_term *msgs[MAX_MSGS];
	size_t got = bd_heap_messages(h, 0, MAX_MSGS, msgs);
	for (size_t i = 0; i < got; i++)
		term(msgs[i]);
	bd_mailbox_stats st;
	if (!bd_heap_mailbox_stats(h, &st, &err)) {
		for (size_t i = 0; i < st.nshapes; i++)
			sink += strlen(st.shapes[i].key);
		for (size_t i = 0; i < st.ncallers; i++)
			str(bd_pid_name(m, st.callers[i].pid));
	}
	bd_term **keys, **vals;
	size_t nd;
	if (!bd_heap_dictionary(h, &keys, &vals, &nd, &err))
		for (size_t i = 0; i < nd && i < 64; i++)
			term(keys[i]), term(vals[i]);
	term(bd_heap_dict_get(h, "$ancestors"));
	term(bd_heap_dict_get(h, "$initial_call"));
	bd_gen_state gs;
	if (!bd_gen_state_read(h, m, p, &gs, &err)) {
		str(gs.behaviour), str(gs.module), str(gs.frame);
		term(gs.state), term(gs.state_name);
	}
	sink += bd_proc_name(m, p, h, buf, sizeof buf);
	sink += bd_heap_objects(h) + bd_heap_bad_lines(h);
	bd_heap_free(h);
}

static void analyses(const bd_model *m, int diff)
{
	bd_findings *fs = NULL;
	bd_error err = {0};
	if (!bd_analyze(m, NULL, &fs, &err)) {
		str(fs->verdict);
		for (size_t i = 0; i < fs->n; i++) {
			const bd_finding *f = &fs->items[i];
			str(f->title), str(f->advice), str(f->subject.name), str(f->subject.type);
			for (uint32_t j = 0; j < f->nevidence; j++)
				str(f->evidence[j].key);
			for (uint32_t j = 0; j < f->ndetails; j++)
				str(f->details[j]);
		}
	}
	bd_findings_free(fs);
	bd_bin_refs *r = NULL;
	if (!bd_bin_refs_build(&r, m, NULL, &err))
		sink += r->scanned;
	bd_bin_refs_free(r);
	bd_alloc_sum *rows = NULL;
	size_t n;
	if (!bd_alloc_summarize(m, 1, &rows, &n))
		for (size_t i = 0; i < n; i++)
			str(rows[i].alloc);
	free(rows);
	/* diff sets up large caches: a quarter of the inputs is enough to reach it */
	bd_diff *d = NULL;
	if (diff && !bd_diff_run(m, m, NULL, &d, &err))
		for (size_t i = 0; i < d->nprocs; i++)
			str(d->procs[i].key);
	bd_diff_free(d);
}

void fz_walk(const bd_model *m)
{
	int diff = (bd_model_node(m)->input_size & 3) == 0;
	node_and_tables(m);
	sink += bd_model_atoms_each(m, atom_cb, NULL);
	binaries(m);
	literals(m);
	size_t np;
	const bd_proc *procs = bd_model_procs(m, &np);
	for (size_t i = 0; i < np && i < MAX_PROCS; i++)
		process(m, &procs[i]);
	for (size_t i = 0; i < np && i < MAX_PROCS; i++) /* the largest, as top shows them */
		if (procs[i].memory != BD_UNKNOWN)
			sink += procs[i].memory & 1;
	analyses(m, diff);
	if ((bd_model_node(m)->input_size & 3) == 1)
		fz_report(m);
}
