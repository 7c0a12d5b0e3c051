/* Why a boot failed, when the slogan does not say: init prints the reason through
 * a depth-limited printer that turns maps, binaries and funs into nothing
 * ("init terminating in do_boot ()"), nests beyond four levels into {_} and [_], and
 * an application that failed to start inside kernel shows only
 * {shutdown,{kernel,start,[normal,[]]}}. The processes that were part of the boot
 * still hold the cause in their stacks and mailboxes:
 *  - init: the {'EXIT', BootPid, Reason} it was handling;
 *  - application_controller: the {application_started, App, {error, Reason}} it was
 *    handling, the {application_start_failure, App, Reason} it stops with (a string
 *    on OTP 26+);
 *  - the loggers (error_logger, logger handlers, lager): the supervisor report naming
 *    the child that failed to start, "Application ~w exited with reason", the
 *    emulator's "Error in process ~p ... with exit value";
 *  - the boot process itself, when it is still alive.
 * Only these few processes are read, and their terms are walked with a node budget. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "an_int.h"

enum { WALK_NODES = 20000, WALK_DEPTH = 24, REASON_CAP = 600, TEXT_CAP = 4096, MAX_MSGS = 64 };

/* What a candidate says, best kind first. */
typedef enum {
	CAUSE_NONE,
	CAUSE_EXIT,        /* {'EXIT', Pid, Reason} */
	CAUSE_EMULATOR,    /* "Error in process ... with exit value: ..." */
	CAUSE_APP_EXIT,    /* {application_start_failure | application_terminated, App, R},
			    * {application_started, App, {error, R}}, [{application,A},{exited,R}] */
	CAUSE_CHILD,       /* a supervisor report: child Id failed to start: R */
} cause_kind;

typedef struct cause {
	cause_kind kind;
	size_t depth;           /* nesting of the reason text: deeper is more specific */
	char text[REASON_CAP];
	char app[128];
	const bd_proc *from;
} cause;

typedef struct walk {
	an_ctx *c;
	const bd_proc *p;
	cause best;
	char any_app[128];  /* an application any candidate named (for a child's cause) */
	char printed[REASON_CAP]; /* the error a failed io:put_chars was printing */
	uint32_t nodes;
} walk;

static size_t nesting(const char *s)
{
	size_t d = 0, max = 0;
	for (; *s; s++) {
		if (*s == '{' || *s == '[')
			max = ++d > max ? d : max;
		else if ((*s == '}' || *s == ']') && d)
			d--;
	}
	return max;
}

/* How specific a reason is: its nesting; a supervisor that stopped because a child
 * failed ("shutdown") says less than the child's own error. */
static size_t specific(const char *reason)
{
	if (!strncmp(reason, "shutdown", 8) || !strncmp(reason, "{shutdown,", 10))
		return 0;
	return nesting(reason) + 1;
}

static void offer(walk *w, cause_kind k, const char *app, const char *fmt, const char *text)
{
	char buf[REASON_CAP];
	snprintf(buf, sizeof buf, fmt, text);
	size_t d = specific(text);
	if (app && app[0] && !w->any_app[0])
		snprintf(w->any_app, sizeof w->any_app, "%s", app);
	if (k < w->best.kind || (k == w->best.kind && d <= w->best.depth))
		return;
	w->best.kind = k;
	w->best.depth = d;
	w->best.from = w->p;
	snprintf(w->best.text, sizeof w->best.text, "%s", buf);
	snprintf(w->best.app, sizeof w->best.app, "%s", app ? app : "");
}

static void fmt_term(const bd_term *t, char *buf, size_t cap)
{
	bd_term_fmt(t, buf, cap, 12, 12);
}

/* Bytes of a binary term: a refc binary is read from =binary (a formatted report
 * is longer than the decoder keeps). */
static size_t bin_bytes(const bd_model *m, const bd_term *t, char *buf, size_t cap)
{
	if (t->bin_kind == BD_BIN_REFC && t->u.bin.addr) {
		const bd_binary *b = bd_binary_find(m, t->u.bin.addr);
		int64_t got = b ? bd_binary_read(m, b, t->u.bin.offset, buf,
						 t->u.bin.size < cap ? (size_t)t->u.bin.size : cap)
				: -1;
		if (got > 0)
			return (size_t)got;
	}
	size_t n = t->u.bin.data ? (t->n < cap ? t->n : cap) : 0;
	if (n)
		memcpy(buf, t->u.bin.data, n);
	return n;
}

/* A printable char list or binary as text (flattening iolists one level), or 0. */
static int term_text(const bd_model *m, const bd_term *t, char *buf, size_t cap)
{
	size_t n = 0;
	if (t && t->kind == BD_T_BINARY) {
		n = bin_bytes(m, t, buf, cap - 1);
		for (size_t i = 0; i < n; i++) {
			uint8_t ch = (uint8_t)buf[i];
			if (ch < 0x20 && ch != '\n' && ch != '\t')
				return 0;
		}
		buf[n] = 0;
		return n > 0;
	}
	for (int k = 0; t && t->kind == BD_T_CONS && k < 100000; k++) {
		const bd_term *h = t->u.elems[0];
		if (h->kind == BD_T_INT && (h->u.i == '\n' || h->u.i == '\t' || (h->u.i >= 0x20 && h->u.i < 0x7f))) {
			if (n + 1 < cap)
				buf[n++] = (char)h->u.i;
		} else if (h->kind == BD_T_CONS || h->kind == BD_T_BINARY) {
			char sub[TEXT_CAP];
			if (!term_text(m, h, sub, sizeof sub))
				return 0;
			for (const char *s = sub; *s && n + 1 < cap; s++)
				buf[n++] = *s;
		} else {
			return 0;
		}
		t = t->u.elems[1];
	}
	if (!t || t->kind != BD_T_NIL)
		return 0;
	buf[n] = 0;
	return n > 0;
}

static int atom_is(const bd_term *t, const char *s) { return bd_term_is_atom(t, s); }

static const char *atom_text(const bd_term *t, char *buf, size_t cap)
{
	if (!t || t->kind != BD_T_ATOM)
		return NULL;
	bd_term_fmt(t, buf, cap, 0, 0);
	return buf;
}

/* The value of {Key, Value} in a proplist, or NULL. */
static const bd_term *prop(const bd_term *list, const char *key)
{
	for (int k = 0; list && list->kind == BD_T_CONS && k < 64; k++) {
		const bd_term *e = list->u.elems[0];
		if (e->kind == BD_T_TUPLE && e->n == 2 && atom_is(bd_term_elem(e, 0), key))
			return bd_term_elem(e, 1);
		list = list->u.elems[1];
	}
	return NULL;
}

/* The value of an atom key in a map, or NULL. */
static const bd_term *map_get(const bd_term *m, const char *key)
{
	for (uint32_t i = 0; m && m->kind == BD_T_MAP && i < m->n; i++)
		if (atom_is(m->u.elems[2 * i], key))
			return m->u.elems[2 * i + 1];
	return NULL;
}

/* Reports: supervisor start errors and application exits, as proplists. */
static void report(walk *w, const bd_term *list)
{
	char r[REASON_CAP], a[128], id[128];
	const bd_term *ctx = prop(list, "errorContext"), *reason = prop(list, "reason");
	if (ctx && reason && atom_is(ctx, "start_error")) {
		const bd_term *off = prop(list, "offender");
		const bd_term *cid = off ? prop(off, "id") : NULL;
		if (!cid && off)
			cid = prop(off, "name");
		const bd_term *sup = prop(list, "supervisor");
		char s[128] = "?";
		if (sup)
			bd_term_fmt(sup, s, sizeof s, 3, 4);
		if (cid)
			bd_term_fmt(cid, id, sizeof id, 3, 4);
		else
			snprintf(id, sizeof id, "?");
		fmt_term(reason, r, sizeof r);
		char fmt[400];
		snprintf(fmt, sizeof fmt, "child %s of supervisor %s failed to start: %%s", id, s);
		for (char *q = fmt; *q; q++) /* the names are text, not directives */
			if (*q == '%' && q[1] != 's')
				*q = '?';
		offer(w, CAUSE_CHILD, NULL, fmt, r);
		return;
	}
	const bd_term *app = prop(list, "application"), *exited = prop(list, "exited");
	if (app && exited && !atom_is(exited, "stopped")) {
		fmt_term(exited, r, sizeof r);
		offer(w, CAUSE_APP_EXIT, atom_text(app, a, sizeof a), "%s", r);
	}
}

static void walk_term(walk *w, const bd_term *t, int depth);

/* Text an io:put_chars call was given (chardata: binaries, chars and nested lists),
 * terminal colour codes (ESC [ ... letter) left out; other control bytes end it.
 * Returns its length. */
static size_t chardata(const bd_model *m, const bd_term *t, char *buf, size_t cap, size_t n,
		       int depth)
{
	char b[TEXT_CAP];
	if (!t || depth > 8)
		return n;
	if (t->kind == BD_T_BINARY) {
		size_t k = bin_bytes(m, t, b, sizeof b);
		for (size_t i = 0; i < k && n + 1 < cap; i++) {
			uint8_t ch = (uint8_t)b[i];
			if (ch == 0x1b) { /* skip "ESC [ params letter" */
				while (i + 1 < k && !isalpha((unsigned char)b[i + 1]))
					i++;
				i++;
			} else if (ch >= 0x20 || ch == '\n' || ch == '\t') {
				buf[n++] = (char)ch;
			}
		}
	} else if (t->kind == BD_T_INT) {
		if ((t->u.i >= 0x20 && t->u.i < 0x7f) || t->u.i == '\n' || t->u.i == '\t')
			if (n + 1 < cap)
				buf[n++] = (char)t->u.i;
	} else if (t->kind == BD_T_CONS) {
		for (int k = 0; t && t->kind == BD_T_CONS && k < 4096; k++, t = t->u.elems[1])
			n = chardata(m, t->u.elems[0], buf, cap, n, depth + 1);
	}
	buf[n] = 0;
	return n;
}

/* {badarg | terminated, [{io, put_chars, [Device, (Encoding,) Chars], _} | _]}: the
 * runtime (Elixir's CLI, a boot script) was printing an error when its device went
 * away; the error is the text it was printing, not the failed print. */
static void failed_print(walk *w, const bd_term *t)
{
	const bd_term *tag = bd_term_elem(t, 0), *st = bd_term_elem(t, 1);
	if (t->n != 2 || !tag || tag->kind != BD_T_ATOM || !st || st->kind != BD_T_CONS)
		return;
	const bd_term *fr = st->u.elems[0];
	if (!fr || fr->kind != BD_T_TUPLE || fr->n < 3 || !atom_is(bd_term_elem(fr, 0), "io") ||
	    !atom_is(bd_term_elem(fr, 1), "put_chars"))
		return;
	const bd_term *args = bd_term_elem(fr, 2), *chars = NULL;
	for (int k = 0; args && args->kind == BD_T_CONS && k < 3; k++, args = args->u.elems[1])
		chars = args->u.elems[0];
	char text[TEXT_CAP], one[REASON_CAP], a[64];
	if (!chars || !chardata(w->c->m, chars, text, sizeof text, 0, 0))
		return;
	/* one line: newlines and runs of blanks become one space */
	size_t n = 0;
	for (const char *q = text; *q && n + 1 < sizeof one - 80; q++) {
		int blank = *q == '\n' || *q == '\t' || *q == ' ';
		if (blank && (!n || one[n - 1] == ' '))
			continue;
		one[n++] = blank ? ' ' : *q;
	}
	while (n && one[n - 1] == ' ')
		n--;
	one[n] = 0;
	/* an error report ("** (EXIT from ...)", "... error ..."), not a banner */
	if (n < 8 || (strncmp(one, "** ", 3) && !strstr(one, "rror") && !strstr(one, "xception")))
		return;
	snprintf(one + n, sizeof one - n, " (printing it failed: %s)",
		 atom_text(tag, a, sizeof a));
	if (!w->printed[0])
		snprintf(w->printed, sizeof w->printed, "%s", one);
}

static void walk_tuple(walk *w, const bd_term *t, int depth)
{
	char r[REASON_CAP], a[128];
	const bd_term *tag = bd_term_elem(t, 0);
	failed_print(w, t);
	if (t->n == 3 && (atom_is(tag, "application_start_failure") ||
			  atom_is(tag, "application_terminated"))) {
		fmt_term(bd_term_elem(t, 2), r, sizeof r);
		offer(w, CAUSE_APP_EXIT, atom_text(bd_term_elem(t, 1), a, sizeof a), "%s", r);
	} else if (t->n == 3 && atom_is(tag, "application_started")) {
		const bd_term *res = bd_term_elem(t, 2);
		if (res && res->kind == BD_T_TUPLE && res->n == 2 && atom_is(bd_term_elem(res, 0), "error")) {
			fmt_term(bd_term_elem(res, 1), r, sizeof r);
			offer(w, CAUSE_APP_EXIT, atom_text(bd_term_elem(t, 1), a, sizeof a), "%s", r);
		}
	} else if (t->n == 3 && atom_is(tag, "EXIT")) {
		const bd_term *why = bd_term_elem(t, 2);
		if (why && !atom_is(why, "normal")) {
			fmt_term(why, r, sizeof r);
			offer(w, CAUSE_EXIT, NULL, "%s", r);
		}
	}
	for (uint32_t i = 0; i < t->n && i < 16; i++)
		walk_term(w, t->u.elems[i], depth + 1);
}

/* "Error in process ~p on node ~p with exit value:~n~p~n" with its arguments. */
static void emulator_format(walk *w, const bd_term *fmtstr, const bd_term *args)
{
	char f[256], r[REASON_CAP];
	if (!term_text(w->c->m, fmtstr, f, sizeof f) || !strstr(f, "with exit value"))
		return;
	const bd_term *items[4];
	int64_t n = bd_term_list(args, items, 4);
	if (n >= 2 && n <= 4) { /* [Pid, Reason] or [Pid, Node, Reason] */
		fmt_term(items[n - 1], r, sizeof r);
		offer(w, CAUSE_EMULATOR, NULL, "%s", r);
	}
}

/* The value of "    key: value" in a report formatted by logger or error_logger:
 * up to the next line at the key's indentation, line breaks of the pretty printer
 * removed. 0 if the key is not there. */
static int report_value(const char *s, const char *key, char *out, size_t cap)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\n    %s: ", key);
	const char *v = strstr(s, pat);
	if (!v)
		return 0;
	v += strlen(pat);
	size_t n = 0;
	for (; *v && n + 1 < cap; v++) {
		if (*v == '\n') {
			int sp = 0;
			while (v[1 + sp] == ' ')
				sp++;
			if (sp <= 4)
				break;
			v += sp;
			continue;
		}
		out[n++] = *v;
	}
	out[n] = 0;
	return n > 0;
}

/* A whole report as text: =SUPERVISOR REPORT (start_error) or an application exit. */
static void formatted_report(walk *w, const char *s)
{
	char ctx[64], reason[REASON_CAP], off[REASON_CAP], sup[128], app[128];
	if (report_value(s, "errorContext", ctx, sizeof ctx) && !strcmp(ctx, "start_error") &&
	    report_value(s, "reason", reason, sizeof reason)) {
		char id[128] = "?", fmt[400];
		const char *i = report_value(s, "offender", off, sizeof off) ? strstr(off, "{id,") : NULL;
		if (i)
			snprintf(id, sizeof id, "%.*s", (int)strcspn(i + 4, "}"), i + 4);
		if (!report_value(s, "supervisor", sup, sizeof sup))
			snprintf(sup, sizeof sup, "?");
		snprintf(fmt, sizeof fmt, "child %s of supervisor %s failed to start: %%s", id, sup);
		for (char *q = fmt; *q; q++)
			if (*q == '%' && q[1] != 's')
				*q = '?';
		offer(w, CAUSE_CHILD, NULL, fmt, reason);
	} else if (report_value(s, "application", app, sizeof app) &&
		   report_value(s, "exited", reason, sizeof reason) && strcmp(reason, "stopped") != 0) {
		offer(w, CAUSE_APP_EXIT, app, "%s", reason);
	}
}

static void walk_text(walk *w, const char *s)
{
	const char *v;
	if (strstr(s, "~p") || strstr(s, "~s") || strstr(s, "~P"))
		return; /* a format string: its arguments say it */
	if (strstr(s, "REPORT===")) {
		formatted_report(w, s);
		return;
	}
	if (!strncmp(s, "{application_start_failure,", 27) || !strncmp(s, "{application_terminated,", 24)) {
		char app[128];
		const char *a = strchr(s, ',') + 1, *e = strchr(a, ',');
		snprintf(app, sizeof app, "%.*s", e ? (int)(e - a) : 0, a);
		offer(w, CAUSE_APP_EXIT, app, "%s", e ? e + 1 : s);
		/* the text ends with the closing brace of the whole tuple */
		size_t l = strlen(w->best.text);
		if (w->best.from == w->p && l && w->best.text[l - 1] == '}')
			w->best.text[l - 1] = 0;
	} else if ((v = strstr(s, "with exit value:")) && !strncmp(s, "Error in process", 16)) {
		v += strlen("with exit value:");
		while (isspace((unsigned char)*v))
			v++;
		offer(w, CAUSE_EMULATOR, NULL, "%s", v);
		size_t l = strlen(w->best.text);
		while (w->best.from == w->p && l && isspace((unsigned char)w->best.text[l - 1]))
			w->best.text[--l] = 0;
	}
}

static void walk_term(walk *w, const bd_term *t, int depth)
{
	if (!t || depth > WALK_DEPTH || ++w->nodes > WALK_NODES)
		return;
	char s[TEXT_CAP];
	switch (t->kind) {
	case BD_T_TUPLE:
		if (t->n == 5 && atom_is(bd_term_elem(t, 0), "log"))
			emulator_format(w, bd_term_elem(t, 2), bd_term_elem(t, 3));
		if (t->n == 3 && atom_is(bd_term_elem(t, 0), "emulator"))
			emulator_format(w, bd_term_elem(t, 1), bd_term_elem(t, 2));
		walk_tuple(w, t, depth);
		return;
	case BD_T_CONS:
		if (term_text(w->c->m, t, s, sizeof s)) {
			walk_text(w, s);
			return;
		}
		report(w, t);
		for (int k = 0; t && t->kind == BD_T_CONS && k < 64; k++) {
			walk_term(w, t->u.elems[0], depth + 1);
			t = t->u.elems[1];
		}
		return;
	case BD_T_MAP: {
		/* logger events: #{msg => {report, #{label => _, report => [...]}}} */
		const bd_term *rep = map_get(t, "report");
		if (rep && rep->kind == BD_T_CONS)
			report(w, rep);
		for (uint32_t i = 0; i < t->n && i < 32; i++)
			walk_term(w, t->u.elems[2 * i + 1], depth + 1);
		return;
	}
	case BD_T_BINARY:
		if (term_text(w->c->m, t, s, sizeof s))
			walk_text(w, s);
		return;
	default:
		return;
	}
}

static void walk_proc(walk *w, const bd_proc *p)
{
	bd_heap *h = p ? an_heap(w->c, p) : NULL;
	if (!h)
		return;
	w->p = p;
	w->nodes = 0;
	bd_frame *fr;
	size_t nf;
	bd_error err = {0};
	if (!bd_heap_stack(h, &fr, &nf, &err))
		for (size_t i = 0; i < nf; i++)
			for (uint32_t k = 0; k < fr[i].nslots; k++)
				walk_term(w, fr[i].slots[k].term, 0);
	bd_term *msgs[MAX_MSGS];
	size_t nm = bd_heap_messages(h, 0, MAX_MSGS, msgs);
	for (size_t i = 0; i < nm; i++)
		walk_term(w, msgs[i], 0);
}

static int logger_name(const char *n)
{
	return n && (!strncmp(n, "logger", 6) || !strncmp(n, "error_logger", 12) ||
		     !strncmp(n, "lager", 5));
}

static int is_boot_reader(an_ctx *c, const bd_proc *p)
{
	/* a logger handler's helper (logger_std_h's file control process) */
	if (bd_pid_valid(p->spawned_by) && logger_name(bd_pid_name(c->m, p->spawned_by)))
		return 1;
	static const char *const names[] = {"init", "application_controller", "error_logger",
					    "logger", "logger_std_h_default", "logger_proxy",
					    "lager_event", "rabbit_prelaunch_sup"};
	for (size_t i = 0; p->name && i < sizeof names / sizeof *names; i++)
		if (!strcmp(p->name, names[i]))
			return 1;
	/* the boot process (init:start_it/1 runs the -s / -eval / elixir CLI) */
	return p->spawned_as && (!strncmp(p->spawned_as, "init:start_it/", 14) ||
				 !strncmp(p->spawned_as, "init:do_boot/", 13));
}

int an_boot_cause(an_ctx *c, char *reason, size_t cap, char *app, size_t appcap,
		  const bd_proc **from)
{
	walk w = {c, NULL, {0}, {0}, {0}, 0};
	for (size_t i = 0; i < c->nprocs; i++)
		if (is_boot_reader(c, &c->procs[i]) || (i == 0 && c->procs[i].pid.num == 0))
			walk_proc(&w, &c->procs[i]);
	/* The cause is a failed print of the real error: report what it printed. */
	const char *pc = strstr(w.best.text, "put_chars");
	if (w.printed[0] && (w.best.kind == CAUSE_NONE || (pc && pc - w.best.text < 40))) {
		if (w.best.kind == CAUSE_NONE)
			w.best.kind = CAUSE_EXIT;
		snprintf(w.best.text, sizeof w.best.text, "%s", w.printed);
	}
	if (w.best.kind == CAUSE_NONE)
		return 0;
	snprintf(reason, cap, "%s", w.best.text);
	snprintf(app, appcap, "%s", w.best.app[0] ? w.best.app : w.any_app);
	if (from)
		*from = w.best.from;
	return (int)w.best.kind;
}

/* init's #state{status = {InitStatus, PhaseStatus}}: starting, started or stopping. */
static int init_status_of(const bd_term *t, char *buf, size_t cap, int depth)
{
	if (!t || depth > 3 || t->kind != BD_T_TUPLE)
		return 0;
	const bd_term *a = bd_term_elem(t, 0), *b = bd_term_elem(t, 1);
	if (t->n == 2 && a && b && a->kind == BD_T_ATOM && b->kind == BD_T_ATOM &&
	    (atom_is(a, "starting") || atom_is(a, "started") || atom_is(a, "stopping"))) {
		snprintf(buf, cap, "%.*s (%.*s)", (int)a->n, a->u.s, (int)b->n, b->u.s);
		return 1;
	}
	if (depth == 0 && !atom_is(a, "state"))
		return 0;
	for (uint32_t i = 1; i < t->n && i < 24; i++)
		if (init_status_of(t->u.elems[i], buf, cap, depth + 1))
			return 1;
	return 0;
}

int an_init_status(an_ctx *c, char *buf, size_t cap)
{
	const bd_proc *init = NULL;
	for (size_t i = 0; i < c->nprocs && !init; i++)
		if ((c->procs[i].name && !strcmp(c->procs[i].name, "init")) ||
		    (c->procs[i].pid.node == 0 && c->procs[i].pid.num == 0))
			init = &c->procs[i];
	bd_heap *h = init ? an_heap(c, init) : NULL;
	bd_frame *fr;
	size_t nf;
	bd_error err = {0};
	if (!h || bd_heap_stack(h, &fr, &nf, &err))
		return 0;
	for (size_t i = 0; i < nf; i++)
		for (uint32_t k = 0; k < fr[i].nslots; k++)
			if (init_status_of(fr[i].slots[k].term, buf, cap, 0))
				return 1;
	return 0;
}
