/* beamdump proc: one process in full: fields, links and monitors, stack frames with
 * their y-slots, the first messages plus the mailbox shape histogram, dictionary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define TERM_BUF 2048

/* The messages asked for (--messages N from --from I) and what the dump can give. */
typedef struct msg_page {
	size_t from, count; /* asked */
	int asked;          /* --messages or --from given (not the default first 10) */
	uint64_t held;      /* messages the dump holds for the process (BD_UNKNOWN: unread) */
	size_t shown;
} msg_page;

static msg_page page_of(const opts *o, const bd_mailbox_stats *st)
{
	msg_page pg = {0, 10, 0, BD_UNKNOWN, 0};
	const char *from = opt_str(o, "from");
	pg.asked = from || o->messages >= 0;
	if (from)
		pg.from = (size_t)strtoull(from, NULL, 10);
	if (o->messages >= 0)
		pg.count = (size_t)o->messages;
	if (st)
		pg.held = st->messages;
	return pg;
}

/* Each message of the page, decoded in batches (the heap walks the queue once). */
static void each_message(bd_heap *h, msg_page *pg, void (*fn)(void *, size_t, const bd_term *),
			 void *ud)
{
	bd_term *batch[256];
	pg->shown = 0;
	while (pg->shown < pg->count) {
		size_t want = pg->count - pg->shown < 256 ? pg->count - pg->shown : 256;
		size_t got = bd_heap_messages(h, pg->from + pg->shown, want, batch);
		for (size_t i = 0; i < got; i++)
			fn(ud, pg->from + pg->shown + i, batch[i]);
		pg->shown += got;
		if (got < want)
			break;
	}
}

/* Why fewer messages were shown than asked, or how to see the next ones; "" if all. */
static const char *page_note(const bd_proc *p, const msg_page *pg, char *buf, size_t cap)
{
	char q[32], h[32], n[32];
	uint64_t queue = p->msgq_len;
	buf[0] = 0;
	fmt_count(queue, q, sizeof q);
	fmt_count(pg->held, h, sizeof h);
	if (pg->held != BD_UNKNOWN && queue != BD_UNKNOWN && pg->held < queue &&
	    pg->from + pg->count > pg->held)
		snprintf(buf, cap, "the dump holds %s of the %s queued messages (a cut dump, or a "
				   "live capture, which keeps the first --messages of each queue read)",
			 h, q);
	else if (pg->shown < pg->count && pg->from >= (pg->held != BD_UNKNOWN ? pg->held : queue))
		snprintf(buf, cap, "--from %zu is past the end: the queue has %s message%s",
			 pg->from, pg->held != BD_UNKNOWN ? h : q, pg->held == 1 ? "" : "s");
	else if (pg->shown < pg->count && pg->shown && pg->asked)
		snprintf(buf, cap, "the end of the queue: %s message%s", pg->held != BD_UNKNOWN ? h : q,
			 (pg->held != BD_UNKNOWN ? pg->held : queue) == 1 ? "" : "s");
	else if (pg->shown == pg->count && pg->held != BD_UNKNOWN && pg->from + pg->shown < pg->held)
		snprintf(buf, cap, "%s more: --from %s --messages N",
			 fmt_count(pg->held - pg->from - pg->shown, n, sizeof n),
			 fmt_count(pg->from + pg->shown, q, sizeof q));
	return buf;
}

typedef struct text_ctx {
	char *tb;
} text_ctx;

static void print_msg_text(void *ud, size_t idx, const bd_term *t)
{
	text_ctx *c = ud;
	bd_term_fmt(t, c->tb, TERM_BUF, 8, 16);
	printf("  [%zu] %s\n", idx, c->tb);
}

static const char *link_kind(const bd_link *l)
{
	switch (l->kind) {
	case BD_LINK:
		return "link";
	case BD_MON_TO:
		return "monitors";
	case BD_MON_FROM:
		return "monitored_by";
	default:
		return "node_monitor";
	}
}

static const char *link_target(const bd_model *m, const bd_link *l, char *buf, size_t cap)
{
	char p[48];
	switch (l->target_kind) {
	case BD_TGT_PID: {
		char sn[256];
		const char *nm = style_label(bd_pid_name(m, l->id), sn, sizeof sn),
			   *node = bd_pid_node(m, l->id);
		snprintf(buf, cap, "%s%s%s%s%s", bd_pid_fmt(l->id, p, sizeof p), nm ? " " : "",
			 nm ? out_txt(nm) : "", node ? " on " : "", node ? out_txt(node) : "");
		break;
	}
	case BD_TGT_PORT:
		snprintf(buf, cap, "%s", bd_port_fmt(l->id, p, sizeof p));
		break;
	case BD_TGT_NAME:
		snprintf(buf, cap, "{%s,%s}", l->name ? out_txt(l->name) : "?",
			 l->node ? out_txt(l->node) : "?");
		break;
	default:
		snprintf(buf, cap, "%s", l->name ? out_txt(l->name) : "?");
	}
	return buf;
}

typedef struct field_row {
	const char *key;
	uint64_t v;
	int bytes; /* 1: bytes, 2: words */
} field_row;

static void proc_fields(const bd_model *m, const bd_proc *p, field_row *rows, size_t *n)
{
	bd_proc_ext x;
	bd_proc_ext_get(m, p, &x);
	size_t k = 0;
	rows[k++] = (field_row){"message_queue_len", p->msgq_len, 0};
	rows[k++] = (field_row){"reductions", p->reductions, 0};
	rows[k++] = (field_row){"memory", p->memory, 1};
	rows[k++] = (field_row){"stack_heap_words", p->stack_heap, 2};
	rows[k++] = (field_row){"old_heap_words", p->old_heap, 2};
	rows[k++] = (field_row){"heap_unused_words", x.heap_unused, 2};
	rows[k++] = (field_row){"old_heap_unused_words", x.old_heap_unused, 2};
	rows[k++] = (field_row){"bin_vheap_words", p->bin_vheap, 2};
	rows[k++] = (field_row){"old_bin_vheap_words", p->old_bin_vheap, 2};
	rows[k++] = (field_row){"bin_vheap_unused_words", x.bin_vheap_unused, 2};
	rows[k++] = (field_row){"old_bin_vheap_unused_words", x.old_bin_vheap_unused, 2};
	rows[k++] = (field_row){"heap_fragments", x.heap_frags, 0};
	rows[k++] = (field_row){"heap_fragment_words", p->heap_frag_data, 2};
	rows[k++] = (field_row){"arity", x.arity, 0};
	*n = k;
}

static void print_text(const bd_model *m, const bd_proc *p, bd_heap *h, const opts *o, char *tb)
{
	char a[32], b[32], pid[48], lt[256], sl[512];
	printf("Pid:            %s\n", bd_pid_fmt(p->pid, pid, sizeof pid));
	printf("Name:           %s\n", p->name ? out_txt(style_label(p->name, sl, sizeof sl)) : "-");
	printf("State:          %s\n", bd_proc_state_name(p->state));
	printf("Spawned as:     %s\n", p->spawned_as ? out_txt(style_label(p->spawned_as, sl, sizeof sl)) : "?");
	printf("Spawned by:     %s\n", bd_pid_fmt(p->spawned_by, pid, sizeof pid));
	printf("Current:        %s\n", p->pc ? out_txt(style_label(p->pc, sl, sizeof sl)) : "?");
	if (p->current_call)
		printf("Current call:   %s\n", out_txt(style_label(p->current_call, sl, sizeof sl)));
	bd_proc_ext x;
	bd_proc_ext_get(m, p, &x);
	if (x.last_calls)
		printf("Last calls:     %s\n", out_txt(x.last_calls));
	printf("Internal state: %s\n", x.internal_state ? out_txt(x.internal_state) : "?");
	if (x.started)
		printf("Started:        %s\n", out_txt(x.started));
	if (x.run_queue)
		printf("Run queue:      %s\n", out_txt(x.run_queue));
	if (x.cp)
		printf("CP:             %s\n", out_txt(x.cp));
	field_row rows[20];
	size_t nr;
	proc_fields(m, p, rows, &nr);
	for (size_t i = 0; i < nr; i++) {
		if (rows[i].bytes == 2)
			printf("%-27s %s words (%s)\n", rows[i].key, fmt_count(rows[i].v, a, sizeof a),
			       fmt_bytes(words_to_bytes(m, rows[i].v), b, sizeof b));
		else if (rows[i].bytes == 1)
			printf("%-27s %s bytes (%s)\n", rows[i].key, fmt_count(rows[i].v, a, sizeof a),
			       fmt_bytes(rows[i].v, b, sizeof b));
		else
			printf("%-27s %s\n", rows[i].key, fmt_count(rows[i].v, a, sizeof a));
	}
	size_t nl;
	const bd_link *links = bd_model_links(m, &nl);
	printf("\nLinks and monitors (%u):\n", p->link_count);
	for (uint32_t i = 0; i < p->link_count && p->link_first + i < nl; i++) {
		const bd_link *l = &links[p->link_first + i];
		printf("  %-13s %s\n", link_kind(l), link_target(m, l, lt, sizeof lt));
	}
	if (!h) {
		printf("\n(no stack, heap or messages in the dump for this process: it was exiting, "
		       "is sensitive, or the dump was cut before them)\n");
		return;
	}
	bd_frame *fr;
	size_t nf;
	bd_error err = {0};
	printf("\nStack:\n");
	if (bd_heap_stack(h, &fr, &nf, &err) == 0) {
		for (size_t i = 0; i < nf; i++) {
			printf("  %s\n", fr[i].mfa ? out_txt(style_label(fr[i].mfa, sl, sizeof sl)) : "?");
			for (uint32_t j = 0; j < fr[i].nslots; j++) {
				const bd_slot *s = &fr[i].slots[j];
				if (s->info) {
					printf("      %s\n", out_txt(style_label(s->info, sl, sizeof sl)));
					continue;
				}
				bd_term_fmt(s->term, tb, TERM_BUF, 6, 12);
				if (s->y >= 0)
					printf("      y%-3d %s\n", s->y, tb);
				else
					printf("      ?    %s\n", tb);
			}
		}
	} else {
		printf("  (%s)\n", out_txt(err.msg));
	}
	if (p->sec_messages.len) {
		bd_mailbox_stats st;
		int have_st = bd_heap_mailbox_stats(h, &st, &err) == 0;
		printf("\nMessages (queue length %s):\n", fmt_count(p->msgq_len, a, sizeof a));
		if (have_st) {
			printf("  shapes of %s messages:\n", fmt_count(st.messages, a, sizeof a));
			for (size_t i = 0; i < st.nshapes && i < 10; i++) {
				/* one decimal, but never 100.0 % for part of the queue nor
				 * 0.0 % for some of it */
				uint64_t k = st.shapes[i].count, all = st.messages ? st.messages : 1;
				double pct = 100.0 * (double)k / (double)all;
				pct = k < all && pct > 99.9 ? 99.9 : k && pct < 0.1 ? 0.1 : pct;
				printf("  %12s  %5.1f %%  %s\n", fmt_count(k, a, sizeof a), pct,
				       out_txt(st.shapes[i].key));
			}
			if (st.nshapes > 10)
				printf("  (%zu more shapes)\n", st.nshapes - 10);
			for (size_t i = 0; i < st.ncallers && i < 5; i++) {
				const char *nm = bd_pid_name(m, st.callers[i].pid);
				printf("  $gen_call from %s%s%s: %s\n", bd_pid_fmt(st.callers[i].pid, pid, sizeof pid),
				       nm ? " " : "", nm ? out_txt(nm) : "",
				       fmt_count(st.callers[i].count, a, sizeof a));
			}
		}
		msg_page pg = page_of(o, have_st ? &st : NULL);
		text_ctx c = {tb};
		char note[256];
		each_message(h, &pg, print_msg_text, &c);
		if (*page_note(p, &pg, note, sizeof note))
			printf("  (%s)\n", note);
	} else if (p->msgq_len && p->msgq_len != BD_UNKNOWN) {
		printf("\nMessages (queue length %s): the dump holds none of them (%s)\n",
		       fmt_count(p->msgq_len, a, sizeof a),
		       !p->sec_heap.len ? "the process was exiting or is sensitive, or the dump is cut"
					: "a live capture reads the messages of the longest queues only");
	}
	bd_term **keys, **vals;
	size_t nd;
	if (bd_heap_dictionary(h, &keys, &vals, &nd, &err) == 0 && nd) {
		printf("\nDictionary (%zu):\n", nd);
		for (size_t i = 0; i < nd; i++) {
			char kb[256];
			bd_term_fmt(keys[i], kb, sizeof kb, 4, 8);
			bd_term_fmt(vals[i], tb, TERM_BUF, 6, 12);
			printf("  %s => %s\n", kb, tb);
		}
	}
}

static void term_json(jw *w, const bd_term *t, char *tb)
{
	bd_term_fmt(t, tb, TERM_BUF, 8, 32);
	jw_str(w, tb);
}

static void print_msg_json(void *ud, size_t idx, const bd_term *t)
{
	(void)idx;
	jw *w = ((void **)ud)[0];
	char *tb = ((void **)ud)[1];
	term_json(w, t, tb);
}

static void print_json(const bd_model *m, const bd_proc *p, bd_heap *h, const opts *o, char *tb)
{
	jw w;
	jw_init(&w, stdout);
	jw_obj(&w);
	jw_kpid(&w, "pid", p->pid);
	jw_kstr(&w, "name", p->name);
	jw_kstr(&w, "state", bd_proc_state_name(p->state));
	jw_kstr(&w, "spawned_as", p->spawned_as);
	jw_kpid(&w, "spawned_by", p->spawned_by);
	jw_kstr(&w, "program_counter", p->pc);
	jw_kstr(&w, "current_function", p->pc_mfa);
	jw_kstr(&w, "current_call", p->current_call);
	bd_proc_ext x;
	bd_proc_ext_get(m, p, &x);
	jw_kstr(&w, "internal_state", x.internal_state);
	jw_kstr(&w, "last_calls", x.last_calls);
	jw_kstr(&w, "started", x.started);
	jw_kstr(&w, "run_queue", x.run_queue);
	jw_kstr(&w, "continuation_pointer", x.cp);
	field_row rows[20];
	size_t nr;
	proc_fields(m, p, rows, &nr);
	for (size_t i = 0; i < nr; i++)
		jw_ku64(&w, rows[i].key, rows[i].v);
	size_t nl;
	const bd_link *links = bd_model_links(m, &nl);
	jw_key(&w, "links");
	jw_arr(&w);
	char lt[256];
	for (uint32_t i = 0; i < p->link_count && p->link_first + i < nl; i++) {
		const bd_link *l = &links[p->link_first + i];
		jw_obj(&w);
		jw_kstr(&w, "kind", link_kind(l));
		jw_kstr(&w, "target", link_target(m, l, lt, sizeof lt));
		jw_kstr(&w, "ref", l->ref);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	bd_error err = {0};
	jw_key(&w, "stack");
	bd_frame *fr;
	size_t nf;
	if (h && bd_heap_stack(h, &fr, &nf, &err) == 0) {
		jw_arr(&w);
		for (size_t i = 0; i < nf; i++) {
			jw_obj(&w);
			jw_kstr(&w, "function", fr[i].mfa);
			jw_key(&w, "slots");
			jw_arr(&w);
			for (uint32_t j = 0; j < fr[i].nslots; j++) {
				const bd_slot *s = &fr[i].slots[j];
				jw_obj(&w);
				jw_key(&w, "y");
				if (s->y >= 0)
					jw_i64(&w, s->y);
				else
					jw_null(&w);
				if (s->info)
					jw_kstr(&w, "info", s->info);
				else {
					jw_key(&w, "term");
					term_json(&w, s->term, tb);
				}
				jw_obj_end(&w);
			}
			jw_arr_end(&w);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
	} else {
		jw_null(&w);
	}
	jw_key(&w, "mailbox");
	bd_mailbox_stats st;
	if (h && p->sec_messages.len && bd_heap_mailbox_stats(h, &st, &err) == 0) {
		jw_obj(&w);
		jw_ku64(&w, "messages", st.messages);
		jw_key(&w, "shapes");
		jw_arr(&w);
		for (size_t i = 0; i < st.nshapes && i < 20; i++) {
			jw_obj(&w);
			jw_kstr(&w, "shape", st.shapes[i].key);
			jw_ku64(&w, "count", st.shapes[i].count);
			jw_ku64(&w, "first_index", st.shapes[i].first_index);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_key(&w, "gen_call_senders");
		jw_arr(&w);
		for (size_t i = 0; i < st.ncallers && i < 20; i++) {
			jw_obj(&w);
			jw_kpid(&w, "pid", st.callers[i].pid);
			jw_ku64(&w, "count", st.callers[i].count);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		msg_page pg = page_of(o, &st);
		jw_key(&w, "first");
		jw_arr(&w);
		void *ud[2] = {&w, tb};
		each_message(h, &pg, print_msg_json, ud);
		jw_arr_end(&w);
		jw_ku64(&w, "from", pg.from);
		jw_ku64(&w, "shown", pg.shown);
		char note[256];
		jw_kstr(&w, "note", *page_note(p, &pg, note, sizeof note) ? note : NULL);
		jw_obj_end(&w);
	} else {
		jw_null(&w);
	}
	jw_key(&w, "dictionary");
	bd_term **keys, **vals;
	size_t nd;
	if (h && bd_heap_dictionary(h, &keys, &vals, &nd, &err) == 0) {
		jw_arr(&w);
		for (size_t i = 0; i < nd; i++) {
			jw_obj(&w);
			jw_key(&w, "key");
			term_json(&w, keys[i], tb);
			jw_key(&w, "value");
			term_json(&w, vals[i], tb);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
	} else {
		jw_null(&w);
	}
	jw_obj_end(&w);
	jw_end(&w);
}

/* One line on stderr: no process WHAT (says when WHAT is a remote pid). */
static void no_such_process(const bd_model *m, const char *what)
{
	bd_pid pid;
	const char *s = strncmp(what, "#PID<", 5) ? what : what + 4;
	if (bd_pid_parse(s, strlen(s), &pid) == 0 && pid.node != 0) {
		size_t n;
		const bd_dist *d = bd_model_dists(m, &n);
		const char *node = NULL;
		for (size_t i = 0; i < n; i++)
			if (d[i].channel == pid.node && d[i].name)
				node = d[i].name;
		char ch[32];
		snprintf(ch, sizeof ch, "distribution channel %u", pid.node);
		fprintf(stderr,
			"beamdump: %s is a process on another node (%s); a crash dump has only "
			"the processes of its own node\n",
			out_txt(what), node ? out_txt(node) : ch);
		return;
	}
	int q = what[0] != '\'' && what[0] != '<';
	fprintf(stderr, "beamdump: no process %s%s%s in the dump\n", q ? "'" : "", out_txt(what),
		q ? "'" : "");
}

int open_proc(const opts *o, bd_model **m, const bd_proc **p)
{
	int rc = open_input(o, m);
	if (rc)
		return rc;
	*p = bd_proc_find(*m, o->args[0]);
	if (!*p) {
		no_such_process(*m, o->args[0]);
		partial_notice(*m);
		bd_model_free(*m);
		*m = NULL;
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int cmd_proc(const opts *o)
{
	bd_model *m;
	const bd_proc *p;
	int rc = open_proc(o, &m, &p);
	if (rc)
		return rc;
	bd_heap *h = NULL;
	bd_error err = {0};
	bd_heap_open(&h, m, p, &err);
	char *tb = malloc(TERM_BUF);
	if (tb) {
		if (o->json)
			print_json(m, p, h, o, tb);
		else
			print_text(m, p, h, o, tb);
	}
	free(tb);
	bd_heap_free(h);
	rc = partial_notice(m);
	bd_model_free(m);
	return rc;
}
