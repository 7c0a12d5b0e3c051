/* Process detail sections: what `proc` and `state` show for one process (fields,
 * behaviour state, stack frames with their decoded values, the mailbox's shape
 * histogram and first messages, the dictionary, links and monitors), one section
 * per process the findings name or that tops a ranking. Terms are cut to a size a
 * page can carry; the cut is marked. */
#include <stdlib.h>
#include <string.h>

#include "beamdump/util.h"
#include "html.h"

/* A detail stays under DETAIL_BUDGET bytes; past PAGE_BUDGET the remaining details
 * keep their header and fields only (the page's bound on a 1 GB dump is 10 MB). */
#define DETAIL_BUDGET ((uint64_t)256 << 10)
#define PAGE_BUDGET ((uint64_t)8 << 20)
enum { SLOT_TEXT = 600, STATE_TEXT = 6000, MSG_TEXT = 1200, DICT_TEXT = 800,
       MAX_FRAMES = 60, MAX_SLOTS = 40, MAX_MSGS = 10, MAX_SHAPES = 12, MAX_DICT = 60,
       MAX_LINKS = 100 };

static void term(report *r, const bd_term *t, int depth, int items, size_t max)
{
	if (!t) {
		hw_raw(r->w, "?");
		return;
	}
	bd_term_fmt(t, r->tb, TERM_CAP, depth, items);
	hw_textcut(r->w, r->tb, max);
}

/* One field of the facts grid: <div><span>key</span>value</div>. */
static void row_text(hw *w, const char *k, const char *v)
{
	if (!v)
		return;
	hw_fmt(w, "<div><span>%s</span>", k);
	hw_textcut(w, v, 2000);
	hw_raw(w, "</div>");
}

static void row_count(hw *w, const char *k, uint64_t v)
{
	if (v == BD_UNKNOWN)
		return;
	hw_fmt(w, "<div><span>%s</span>", k);
	hw_count(w, v);
	hw_raw(w, "</div>");
}

static void row_bytes(hw *w, const char *k, uint64_t v)
{
	if (v == BD_UNKNOWN)
		return;
	hw_fmt(w, "<div><span>%s</span>", k);
	hw_bytes(w, v);
	hw_raw(w, "</div>");
}

static void fields(report *r, const bd_proc *p)
{
	hw *w = r->w;
	hw_raw(w, "<div class=\"facts small\">");
	hw_fmt(w, "<div><span>state</span>%s</div>", bd_proc_state_name(p->state));
	row_text(w, "initial call", r_proc_initial(r, p));
	if (p->spawned_as && r_proc_initial(r, p) != p->spawned_as)
		row_text(w, "spawned as", p->spawned_as);
	row_text(w, "current function", p->pc);
	row_text(w, "current call", p->current_call);
	if (bd_pid_valid(p->spawned_by)) {
		hw_raw(w, "<div><span>spawned by</span>");
		r_pid(r, p->spawned_by, 1);
		hw_raw(w, "</div>");
	}
	if (r->tree) {
		const bd_proc_place *pl = &r->tree->place[p - r->procs];
		if (pl->parent != BD_NO_PROC && pl->via == BD_VIA_ANCESTORS) {
			hw_raw(w, "<div><span>parent ($ancestors)</span>");
			r_pid(r, r->procs[pl->parent].pid, 1);
			hw_raw(w, "</div>");
		}
		row_text(w, "application", r_proc_app(r, p));
		if (pl->subtree_procs > 1) {
			char a[32], b[32];
			hw_fmt(w, "<div><span>subtree (itself included)</span>%s processes, %s</div>",
			       bd_count_fmt(pl->subtree_procs, a, sizeof a),
			       bd_bytes_fmt(pl->subtree_memory, b, sizeof b));
		}
	}
	row_count(w, "message queue", p->msgq_len);
	row_count(w, "reductions", p->reductions);
	row_bytes(w, "memory", r_proc_memory(r, p));
	row_bytes(w, "stack + heap", r_words(r, p->stack_heap));
	row_bytes(w, "old heap", r_words(r, p->old_heap));
	bd_proc_ext x;
	bd_proc_ext_get(r->m, p, &x); /* all unknown when it fails */
	row_bytes(w, "heap unused", r_words(r, x.heap_unused));
	row_bytes(w, "binaries referenced (BinVHeap + old)", r_proc_binary(r, p));
	row_count(w, "heap fragments", x.heap_frags);
	row_text(w, "internal state", x.internal_state);
	row_text(w, "last calls", x.last_calls);
	hw_raw(w, "</div>\n");
}

static void gen_state(report *r, bd_heap *h, const bd_proc *p)
{
	hw *w = r->w;
	bd_gen_state st;
	bd_error err = {0};
	if (bd_gen_state_read(h, r->m, p, &st, &err))
		return;
	hw_raw(w, "<h4>Behaviour state (what sys:get_state/1 would return)</h4><p>");
	hw_text(w, st.behaviour);
	hw_raw(w, " <code>");
	hw_text(w, st.module[0] ? st.module : "?");
	hw_raw(w, "</code>, read from <code>");
	hw_text(w, st.frame);
	hw_fmt(w, "</code> y%d%s</p>\n", st.y,
	       st.in_callback ? " (a callback was running: this is the state before the message being handled)" : "");
	if (st.state_name) {
		hw_raw(w, "<p>state name: <code>");
		term(r, st.state_name, 8, 20, 400);
		hw_raw(w, "</code></p>");
	}
	hw_raw(w, "<pre>");
	term(r, st.state, 16, 100, STATE_TEXT);
	hw_raw(w, "</pre>\n");
}

static void stack(report *r, bd_heap *h, int open, uint64_t start)
{
	hw *w = r->w;
	bd_frame *fr;
	size_t nf;
	bd_error err = {0};
	if (bd_heap_stack(h, &fr, &nf, &err)) {
		hw_raw(w, "<p class=\"note\">Stack: ");
		hw_text(w, err.msg);
		hw_raw(w, "</p>\n");
		return;
	}
	hw_fmt(w, "<details%s><summary>Stack (%zu frames)</summary>\n<table class=\"stack\"><thead><tr>"
		  "<th>Frame</th><th>Slot</th><th>Value</th></tr></thead><tbody>\n",
	       open ? " open" : "", nf);
	size_t i = 0;
	for (; i < nf && i < MAX_FRAMES && hw_size(w) - start < DETAIL_BUDGET; i++) {
		hw_fmt(w, "<tr><td class=\"mono\" rowspan=\"%u\">", fr[i].nslots ? (fr[i].nslots < MAX_SLOTS ? fr[i].nslots : MAX_SLOTS) : 1);
		hw_text(w, fr[i].mfa);
		hw_raw(w, "</td>");
		if (!fr[i].nslots)
			hw_raw(w, "<td></td><td></td></tr>\n");
		for (uint32_t j = 0; j < fr[i].nslots && j < MAX_SLOTS; j++) {
			const bd_slot *s = &fr[i].slots[j];
			if (j)
				hw_raw(w, "<tr>");
			if (s->y >= 0)
				hw_fmt(w, "<td class=\"mono\">y%d</td>", s->y);
			else
				hw_raw(w, "<td></td>");
			hw_raw(w, "<td class=\"mono\">");
			if (s->info)
				hw_textcut(w, s->info, SLOT_TEXT);
			else
				term(r, s->term, 6, 12, SLOT_TEXT);
			hw_raw(w, "</td></tr>\n");
		}
	}
	hw_raw(w, "</tbody></table>");
	if (nf > i)
		hw_fmt(w, "<p class=\"note\">%zu more frames not shown.</p>", nf - i);
	hw_raw(w, "</details>\n");
}

static void mailbox(report *r, bd_heap *h, const bd_proc *p, int open)
{
	hw *w = r->w;
	bd_mailbox_stats st;
	bd_error err = {0};
	char a[32];
	if (!p->sec_messages.len)
		return;
	hw_fmt(w, "<details%s><summary>Message queue (%s)</summary>\n", open ? " open" : "",
	       bd_count_fmt(p->msgq_len, a, sizeof a));
	/* A long queue analyze walked is memoized by the model: no second walk. */
	if (bd_heap_mailbox_stats(h, &st, &err) == 0 && st.nshapes) {
		chart_item items[MAX_SHAPES];
		size_t n = 0;
		for (size_t i = 0; i < st.nshapes && n < MAX_SHAPES; i++, n++)
			items[n] = chart_it(st.shapes[i].key, NULL, st.shapes[i].count, BD_UNKNOWN, 0, 0);
		char t[96];
		snprintf(t, sizeof t, "Shapes of %s messages", bd_count_fmt(st.messages, a, sizeof a));
		svg_bars(w, t, items, n);
		if (st.nshapes > MAX_SHAPES || st.other)
			hw_fmt(w, "<p class=\"note\">%zu more shapes%s.</p>", st.nshapes > MAX_SHAPES ? st.nshapes - MAX_SHAPES : 0,
			       st.other ? " (and messages of shapes beyond the histogram's cap)" : "");
		if (st.ncallers) {
			hw_raw(w, "<p>$gen_call senders: ");
			for (size_t i = 0; i < st.ncallers && i < 10; i++) {
				if (i)
					hw_raw(w, ", ");
				r_pid(r, st.callers[i].pid, 1);
				hw_fmt(w, " \xc3\x97%s", bd_count_fmt(st.callers[i].count, a, sizeof a));
			}
			hw_raw(w, "</p>\n");
		}
	}
	bd_term *msgs[MAX_MSGS];
	size_t got = bd_heap_messages(h, 0, MAX_MSGS, msgs);
	if (got) {
		hw_fmt(w, "<p>First %zu messages:</p><ol start=\"0\" class=\"mono\">", got);
		for (size_t i = 0; i < got; i++) {
			hw_raw(w, "<li>");
			term(r, msgs[i], 8, 16, MSG_TEXT);
			hw_raw(w, "</li>");
		}
		hw_raw(w, "</ol>\n");
	}
	hw_raw(w, "</details>\n");
}

static void dictionary(report *r, bd_heap *h, uint64_t start)
{
	hw *w = r->w;
	bd_term **keys, **vals;
	size_t nd;
	bd_error err = {0};
	if (bd_heap_dictionary(h, &keys, &vals, &nd, &err) || !nd)
		return;
	hw_fmt(w, "<details><summary>Dictionary (%zu)</summary><table><thead><tr><th>Key</th><th>Value</th>"
		  "</tr></thead><tbody>\n", nd);
	size_t i = 0;
	for (; i < nd && i < MAX_DICT && hw_size(w) - start < DETAIL_BUDGET; i++) {
		hw_raw(w, "<tr><td class=\"mono\">");
		term(r, keys[i], 4, 8, 200);
		hw_raw(w, "</td><td class=\"mono\">");
		term(r, vals[i], 6, 12, DICT_TEXT);
		hw_raw(w, "</td></tr>\n");
	}
	hw_raw(w, "</tbody></table>");
	if (nd > i)
		hw_fmt(w, "<p class=\"note\">%zu more entries not shown.</p>", nd - i);
	hw_raw(w, "</details>\n");
}

static const char *link_kind(const bd_link *l)
{
	switch (l->kind) {
	case BD_LINK: return "link";
	case BD_MON_TO: return "monitors";
	case BD_MON_FROM: return "monitored by";
	default: return "node monitor";
	}
}

static void links(report *r, const bd_proc *p)
{
	hw *w = r->w;
	size_t nl;
	const bd_link *all = bd_model_links(r->m, &nl);
	if (!p->link_count)
		return;
	hw_fmt(w, "<details><summary>Links and monitors (%u)</summary><table><tbody>\n", p->link_count);
	for (uint32_t i = 0; i < p->link_count && i < MAX_LINKS && p->link_first + i < nl; i++) {
		const bd_link *l = &all[p->link_first + i];
		char b[48];
		hw_fmt(w, "<tr><td>%s</td><td class=\"mono\">", link_kind(l));
		switch (l->target_kind) {
		case BD_TGT_PID:
			r_pid(r, l->id, 1);
			break;
		case BD_TGT_PORT:
			if (html_port_listed(r, l->id)) {
				hw_fmt(w, "<a href=\"#port-%u\">", l->id.num);
				hw_text(w, bd_port_fmt(l->id, b, sizeof b));
				hw_raw(w, "</a>");
			} else {
				hw_text(w, bd_port_fmt(l->id, b, sizeof b));
			}
			break;
		case BD_TGT_NAME:
			hw_raw(w, "{");
			hw_text(w, l->name ? l->name : "?");
			hw_raw(w, ",");
			hw_text(w, l->node ? l->node : "?");
			hw_raw(w, "}");
			break;
		default:
			hw_text(w, l->name ? l->name : "?");
		}
		hw_raw(w, "</td></tr>\n");
	}
	hw_raw(w, "</tbody></table>");
	if (p->link_count > MAX_LINKS)
		hw_fmt(w, "<p class=\"note\">%u more not shown.</p>", p->link_count - MAX_LINKS);
	hw_raw(w, "</details>\n");
}

static int detail(report *r, size_t i)
{
	hw *w = r->w;
	const bd_proc *p = &r->procs[i];
	char pid[48];
	int hot = (r->flags[i] & RF_CULPRIT) != 0;
	bd_pid_fmt(p->pid, pid, sizeof pid);
	hw_fmt(w, "<div class=\"proc%s\" id=\"p-%u.%u.%u\"><h3><span class=\"mono\">", hot ? " culprit" : "",
	       p->pid.node, p->pid.num, p->pid.serial);
	hw_text(w, pid);
	hw_raw(w, "</span> ");
	hw_text(w, r_proc_label(r, p));
	if (hot)
		hw_raw(w, " <span class=\"badge hot\">named by a finding</span>");
	else if (r->flags[i] & RF_NAMED)
		hw_raw(w, " <span class=\"badge\">involved in a finding</span>");
	hw_raw(w, "</h3>\n");
	uint64_t start = hw_size(w);
	fields(r, p);
	if (start > PAGE_BUDGET) {
		hw_raw(w, "<p class=\"note\">Stack, messages and dictionary left out: the page is at its "
			  "size budget.</p></div>\n");
		return 1;
	}
	bd_heap *h = NULL;
	bd_error err = {0};
	if (bd_heap_open(&h, r->m, p, &err)) {
		hw_raw(w, "<p class=\"note\">No stack, heap or messages in the dump for this process: it was "
			  "exiting, is sensitive, or the dump was cut before them.</p>\n");
	} else {
		gen_state(r, h, p);
		stack(r, h, hot, start);
		mailbox(r, h, p, hot);
		dictionary(r, h, start);
	}
	links(r, p);
	bd_heap_free(h);
	hw_raw(w, "</div>\n");
	return 0;
}

void html_details(report *r)
{
	hw *w = r->w;
	if (!r->ndetails) {
		hw_raw(w, "<section id=\"details\">\n<h2>Process details</h2>\n<p>No process is named by a "
			  "finding or stands out in a ranking.</p>\n</section>\n");
		return;
	}
	hw_fmt(w, "<section id=\"details\">\n<h2>Process details (%zu)</h2>\n<p class=\"note\">The "
		  "processes the findings name, then the top %d of each ranking (memory, message "
		  "queue, reductions, binaries). "
		  "<button class=\"fold\" data-in=\"details\" data-open=\"1\">open all</button> "
		  "<button class=\"fold\" data-in=\"details\" data-open=\"0\">fold all</button></p>\n",
	       r->ndetails, TOP_DETAIL);
	size_t cut = 0;
	for (size_t k = 0; k < r->ndetails; k++)
		cut += (size_t)detail(r, r->details[k]);
	if (cut)
		r_note(r, "%zu process details have their fields only (page size budget)", cut);
	hw_raw(w, "</section>\n");
}
