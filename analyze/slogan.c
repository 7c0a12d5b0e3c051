/* Slogan triage: classify the slogan (erl-crash-dump-format.md §5), parse its parts,
 * and turn it into the finding that names the immediate cause, tied to a culprit
 * process when one exists. Limits and allocators are refined by later analyses. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

static const char *const class_names[] = {
#define BD_X(e, s) s,
	BD_SLOGAN_CLASSES(BD_X)
#undef BD_X
};

const char *bd_slogan_class_name(bd_slogan_class c)
{
	return (unsigned)c < BD_SL__COUNT ? class_names[c] : "unknown";
}

/* ---- parsing ---- */
static int starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static void copy_n(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = 0;
}

/* The text inside the parenthesis that opens at s (nesting and quotes respected);
 * returns the position of the closing ')' or NULL. */
static const char *paren_close(const char *s)
{
	int depth = 0;
	char q = 0;
	for (const char *p = s; *p; p++) {
		if (q) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == q)
				q = 0;
			continue;
		}
		if (*p == '\'' || *p == '"')
			q = *p;
		else if (*p == '(' || *p == '{' || *p == '[')
			depth++;
		else if (*p == ')' || *p == '}' || *p == ']') {
			if (--depth == 0)
				return *p == ')' ? p : NULL;
		}
	}
	return NULL;
}

/* An Erlang atom at s (bare or quoted) into buf; returns the position after it. */
static const char *read_atom(const char *s, char *buf, size_t cap)
{
	buf[0] = 0;
	if (*s == '\'') {
		const char *e = strchr(s + 1, '\'');
		if (!e)
			return s;
		copy_n(buf, cap, s + 1, (size_t)(e - s - 1));
		return e + 1;
	}
	const char *e = s;
	while (isalnum((unsigned char)*e) || *e == '_' || *e == '@')
		e++;
	if (e == s || !islower((unsigned char)*s))
		return s;
	copy_n(buf, cap, s, (size_t)(e - s));
	return e;
}

/* End of the term that starts at s (before e): the first ',' or closing bracket at
 * depth 0, nesting and quotes respected. */
static const char *term_end(const char *s, const char *e)
{
	int depth = 0;
	char q = 0;
	for (const char *p = s; p < e; p++) {
		if (q) {
			if (*p == '\\' && p + 1 < e)
				p++;
			else if (*p == q)
				q = 0;
		} else if (*p == '\'' || *p == '"') {
			q = *p;
		} else if (*p == '(' || *p == '{' || *p == '[') {
			depth++;
		} else if (*p == ')' || *p == '}' || *p == ']' || *p == ',') {
			if (depth == 0)
				return p;
			if (*p != ',')
				depth--;
		}
	}
	return e;
}

/* The reason's tag: the first element of [s, e), as an atom when it is one
 * ("application_start_failure", 'my-app' without quotes), else its whole text: the
 * VM prints some reasons with ~s, so "{cannot get bootfile,x.boot}" has the tag
 * "cannot get bootfile", not "cannot". Returns the end of the element. */
static const char *read_tag(const char *s, const char *e, char *buf, size_t cap)
{
	const char *end = term_end(s, e);
	if (read_atom(s, buf, cap) == end && buf[0])
		return end;
	copy_n(buf, cap, s, (size_t)(end - s));
	return end;
}

/* OTP 26+ print the reason as a string: "(\"{bad_environment_value,\\\"/\\\"}\")". Its text
 * is the reason the older releases printed bare. */
static size_t unquote(char *dst, size_t cap, const char *r, size_t n)
{
	size_t k = 0;
	for (size_t i = 1; i + 1 < n && k + 1 < cap; i++) {
		char c = r[i];
		if (c == '\\' && i + 2 < n) {
			c = r[++i];
			c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
		}
		dst[k++] = c;
	}
	dst[k] = 0;
	return k;
}

/* Reason "{tag,app,...}": tag and, for application_* tags, the application. */
static void parse_reason(bd_slogan *o, const char *r, size_t n)
{
	if (n >= 2 && r[0] == '"' && r[n - 1] == '"') {
		n = unquote(o->unquoted, sizeof o->unquoted, r, n);
		r = o->unquoted;
	}
	o->reason = r;
	o->reason_len = n;
	if (n && *r == '{') {
		const char *p = read_tag(r + 1, r + n, o->reason_tag, sizeof o->reason_tag);
		if (*p == ',' && starts(o->reason_tag, "application_"))
			read_atom(p + 1, o->application, sizeof o->application);
	} else if (n) {
		read_tag(r, r + n, o->reason_tag, sizeof o->reason_tag);
	}
}

/* "(Name) (Reason)" after a prefix. */
static void parse_two_parens(bd_slogan *o, const char *s)
{
	const char *a = strchr(s, '(');
	const char *ae = a ? paren_close(a) : NULL;
	if (!ae)
		return;
	copy_n(o->kernel_pid, sizeof o->kernel_pid, a + 1, (size_t)(ae - a - 1));
	const char *b = strchr(ae, '(');
	const char *be = b ? paren_close(b) : NULL;
	if (b)
		parse_reason(o, b + 1, be ? (size_t)(be - b - 1) : strlen(b + 1));
}

static void parse_one_paren(bd_slogan *o, const char *s)
{
	const char *a = strchr(s, '(');
	if (!a)
		return;
	const char *ae = paren_close(a);
	parse_reason(o, a + 1, ae ? (size_t)(ae - a - 1) : strlen(a + 1));
}

static void parse_alloc(bd_slogan *o, const char *s)
{
	const char *c = strstr(s, ": Can");
	if (c)
		copy_n(o->allocator, sizeof o->allocator, s, (size_t)(c - s));
	const char *n = strpbrk(s, "0123456789");
	if (n)
		o->bytes = strtoull(n, NULL, 10);
	const char *t = strstr(s, "(of type \"");
	if (t) {
		t += 10;
		copy_n(o->block_type, sizeof o->block_type, t, strcspn(t, "\""));
	}
}

static void parse_index(bd_slogan *o, const char *s)
{
	const char *t = s + strlen("no more index entries in ");
	copy_n(o->table, sizeof o->table, t, strcspn(t, " ("));
	const char *m = strstr(s, "max=");
	if (m)
		o->max = strtoull(m + 4, NULL, 10);
}

static const char *const internal_prefixes[] = {
	"Catch not found", "unexpected op code", "bad u bif", "Damaged process dictionary",
	"Found tag", "Invalid tag in make_", "bad header", "bad primary tag", "beam_catches_delmod",
	"Internal error", "Internal data structure error", "Reference to non-existing", "NYI:",
	"Too long allocator name", "No function ", "Failed to find preloaded code",
	"Failed loading preloaded module", "db_match_compile", "invalid type in seq_trace",
	"driver_system_info(", "Max limit for ets", "Stack overflow", "Wild "};
static const char *const internal_infixes[] = {"Assertion failed", "buffer overflow",
					       "heap overrun", "bad term:"};

static int is_internal(const char *s)
{
	for (size_t i = 0; i < sizeof internal_prefixes / sizeof *internal_prefixes; i++)
		if (starts(s, internal_prefixes[i]))
			return 1;
	for (size_t i = 0; i < sizeof internal_infixes / sizeof *internal_infixes; i++)
		if (strstr(s, internal_infixes[i]))
			return 1;
	return 0;
}

/* Prefix table, first match wins; infix entries are tried with strstr. */
static const struct {
	const char *text;
	int infix;
	bd_slogan_class cls;
	void (*parse)(bd_slogan *o, const char *s);
} slogan_table[] = {
	{"Can't allocate ", 0, BD_SL_ALLOC_OOM, parse_alloc},
	{"Out of virtual memory in ", 0, BD_SL_ALLOC_OOM, NULL},
	{"no next heap size found", 0, BD_SL_HEAP_LIMIT, NULL},
	{"no more index entries in ", 0, BD_SL_INDEX_TABLE, parse_index},
	{"Kernel pid terminated", 0, BD_SL_KERNEL_PID, parse_two_parens},
	{"could not start kernel pid", 0, BD_SL_KERNEL_START, parse_two_parens},
	{"Could not start kernel pid", 0, BD_SL_KERNEL_START, parse_two_parens},
	{"init terminating in do_boot", 0, BD_SL_BOOT, parse_one_paren},
	{"Runtime terminating during boot", 0, BD_SL_BOOT, parse_one_paren},
	{"Received SIGUSR1", 0, BD_SL_SIGUSR1, NULL},
	{"Crash dump requested by user", 0, BD_SL_USER_BREAK, NULL},
	{"System process ", 0, BD_SL_SYSTEM_PROCESS, NULL},
	{"erl_child_setup closed", 0, BD_SL_CHILD_SETUP, NULL},
	{"Failed to read from erl_child_setup", 0, BD_SL_CHILD_SETUP, NULL},
	{"Failed to write to erl_child_setup", 0, BD_SL_CHILD_SETUP, NULL},
	{"Absurdly large distribution output", 0, BD_SL_DIST_BUFFER, NULL},
	{"Failed to ", 0, BD_SL_THREAD, NULL},
	/* Infixes last: "Failed to create thread: Cannot allocate memory" is a thread failure. */
	{": Cannot allocate ", 1, BD_SL_ALLOC_OOM, parse_alloc},
	{": Cannot reallocate ", 1, BD_SL_ALLOC_OOM, parse_alloc},
};

void bd_slogan_parse(const char *slogan, bd_slogan *o)
{
	memset(o, 0, sizeof *o);
	o->bytes = o->max = BD_UNKNOWN;
	o->text = slogan ? slogan : "";
	const char *s = o->text;
	while (*s == ' ')
		s++;
	o->system_limit = strstr(s, "system_limit") || strstr(s, "emfile") || strstr(s, "enfile");
	if (!*s) {
		o->cls = BD_SL_NONE;
		return;
	}
	if (is_internal(s)) {
		o->cls = BD_SL_INTERNAL;
		return;
	}
	for (size_t i = 0; i < sizeof slogan_table / sizeof *slogan_table; i++) {
		int hit = slogan_table[i].infix ? strstr(s, slogan_table[i].text) != NULL
						: starts(s, slogan_table[i].text);
		if (hit) {
			o->cls = slogan_table[i].cls;
			if (slogan_table[i].parse)
				slogan_table[i].parse(o, s);
			return;
		}
	}
	o->cls = BD_SL_HALT;
}

/* ---- triage ---- */
static const char *reason_text(an_ctx *c)
{
	const bd_slogan *s = &c->slogan;
	size_t n = s->reason_len > 300 ? 300 : s->reason_len;
	return bd_arena_printf(c->arena, "%.*s%s", (int)n, s->reason ? s->reason : "",
			       s->reason_len > 300 ? "..." : "");
}

static uint64_t heap_bytes(an_ctx *c, const bd_proc *p)
{
	return an_words(c, p->stack_heap) + an_words(c, p->old_heap) + an_words(c, p->heap_frag_data);
}

/* The process an eheap OOM belongs to: the one being garbage collected when memory
 * ran out. Its =proc section may be missing from a cut dump, but the scheduler
 * sections, written first, name it: the current process of a (dirty) scheduler in
 * state Garbing. Only a complete dump may fall back to the largest heap: in a cut
 * one the culprit may simply not have been read. */
typedef struct heap_who {
	const bd_proc *p;    /* its row, when the dump has it */
	const bd_sched *s;   /* the scheduler that was garbing it, or NULL */
	bd_pid pid;          /* BD_PID_NONE when unknown */
	int guessed;         /* the largest heap of a complete dump, not a Garbing one */
} heap_who;

static const char *sched_kind(const bd_sched *s)
{
	return s->type == BD_SCHED_DIRTY_CPU ? "dirty CPU scheduler"
	       : s->type == BD_SCHED_DIRTY_IO ? "dirty I/O scheduler" : "scheduler";
}

static heap_who heap_culprit(an_ctx *c)
{
	heap_who w = {NULL, NULL, BD_PID_NONE, 0};
	for (size_t i = 0; i < c->nprocs; i++)
		if (c->procs[i].state == BD_PS_GARBING)
			if (!w.p || heap_bytes(c, &c->procs[i]) > heap_bytes(c, w.p))
				w.p = &c->procs[i];
	size_t ns;
	const bd_sched *sc = bd_model_scheds(c->m, &ns);
	for (size_t i = 0; i < ns; i++) {
		if (!bd_pid_valid(sc[i].current) || !sc[i].current_state ||
		    strcmp(sc[i].current_state, "Garbing") != 0)
			continue;
		const bd_proc *p = bd_proc_by_pid(c->m, sc[i].current);
		if (w.p && p != w.p)
			continue;
		w.s = &sc[i];
		w.pid = sc[i].current;
		w.p = p;
		break;
	}
	if (w.p)
		w.pid = w.p->pid;
	if (bd_pid_valid(w.pid) || bd_model_node(c->m)->truncated)
		return w;
	for (size_t i = 0; i < c->nprocs; i++)
		if (!w.p || heap_bytes(c, &c->procs[i]) > heap_bytes(c, w.p))
			w.p = &c->procs[i];
	w.guessed = w.p != NULL;
	if (w.p)
		w.pid = w.p->pid;
	return w;
}

/* A culprit known only from its scheduler: pid, function, what the dump lacks. */
static void subject_from_sched(an_ctx *c, an_finding *f, const heap_who *w)
{
	char buf[200];
	bd_subject *s = &f->pub.subject;
	memset(s, 0, sizeof *s);
	s->type = "process";
	s->pid = w->pid;
	/* "0x00007f... (bd_heap_oom:build_report/2 + 48)": the MFA in the parentheses */
	const char *pc = w->s ? w->s->current_pc : NULL;
	const char *open = pc ? strchr(pc, '(') : NULL;
	if (open && open[1] != '<')
		s->current_function = bd_arena_strdup(c->arena, an_mfa_of(open + 1, buf, sizeof buf));
}

static void heap_oom(an_ctx *c)
{
	const bd_slogan *s = &c->slogan;
	heap_who w = heap_culprit(c);
	const bd_proc *p = w.p;
	an_finding *f = an_new(c, BD_F_HEAP_OOM, BD_SEV_CRITICAL, 95);
	if (!f)
		return;
	if (p)
		an_subject_proc(c, f, p);
	else if (bd_pid_valid(w.pid))
		subject_from_sched(c, f, &w);
	else
		an_subject_named(c, f, "node", bd_model_node(c->m)->node_name);
	const char *who = p ? an_proc_label(c, p)
		 : bd_pid_valid(w.pid) ? an_pid_str(c, w.pid)
				       : "A process the cut dump does not show";
	const char *req = s->bytes >= AN_WRAPPED ? "a size that wrapped around (unknown)"
						 : an_bytes(c, s->bytes);
	if (s->cls == BD_SL_HEAP_LIMIT)
		an_title(c, f, "%s outgrew the largest heap the VM supports", who);
	else
		an_title(c, f, "%s ran the node out of memory: %s of %s requested%s", who, req,
			 s->block_type[0] ? s->block_type : "heap",
			 !p && bd_pid_valid(w.pid) ? " (its =proc section is beyond the cut)" : "");
	an_ev_bytes(c, f, "requested_bytes", s->bytes);
	if (s->bytes >= AN_WRAPPED && s->bytes != BD_UNKNOWN)
		an_ev_str(c, f, "requested_bytes_raw", "%llu (wrapped: unknown)",
			  (unsigned long long)s->bytes);
	if (s->block_type[0])
		an_ev_str(c, f, "block_type", "%s", s->block_type);
	if (w.s)
		an_ev_str(c, f, "garbing_on", "%s %u", sched_kind(w.s), w.s->id);
	if (w.guessed)
		an_ev_str(c, f, "basis", "no process was garbing: the largest heap");
	if (p) {
		an_ev_bytes(c, f, "heap_bytes", heap_bytes(c, p));
		an_ev_bytes(c, f, "memory_bytes", p->memory);
		an_ev_str(c, f, "state", "%s", bd_proc_state_name(p->state));
		if (an_val(p->msgq_len))
			an_ev_count(c, f, "message_queue_len", p->msgq_len);
		const char *uf = an_user_frame(c, p);
		if (uf)
			an_ev_str(c, f, "user_function", "%s", uf);
	} else if (bd_pid_valid(w.pid)) {
		an_ev_str(c, f, "state", "Garbing");
		if (f->pub.subject.current_function && !strchr(f->pub.subject.current_function, '<'))
			an_ev_str(c, f, "user_function", "%s", f->pub.subject.current_function);
		an_ev_str(c, f, "process_section", "missing: the dump was cut before it");
	} else {
		an_ev_str(c, f, "process_section", "unknown: no scheduler was garbing a process and "
			  "the dump was cut, so the culprit may not have been read");
	}
	an_ev_bytes(c, f, "node_memory_bytes", bd_model_memory(c->m)->total);
	/* The node's logger: a report that prints a huge term whole, or a flood. */
	const char *nm = p && p->name ? p->name : "";
	if (!strcmp(nm, "error_logger") || !strncmp(nm, "logger", 6))
		an_advice(c, f, "%s is the node's logger: it ran out of memory on log events, a "
			  "report that prints a huge term whole (a crash report with a large state "
			  "or message) or a flood of them. Bound what reports print (logger's depth, "
			  "chars_limit and max_size, error_logger_format_depth), keep overload "
			  "protection on, and find who logs it", nm);
	else
		an_advice(c, f, "Bound what %s keeps on its heap (stream or paginate the data), and "
			  "set max_heap_size so one process is killed before the node dies",
			  p && p->name ? p->name : "the process");
}

static void alloc_oom(an_ctx *c)
{
	const bd_slogan *s = &c->slogan;
	an_finding *f = an_new(c, BD_F_ALLOCATOR_OOM, BD_SEV_CRITICAL, 90);
	if (!f)
		return;
	an_subject_named(c, f, "allocator", s->allocator[0] ? s->allocator : "unknown");
	an_title(c, f, "%s could not allocate %s%s%s%s: the node ran out of memory",
		 s->allocator[0] ? s->allocator : "The VM", an_bytes(c, s->bytes),
		 s->block_type[0] ? " (" : "", s->block_type, s->block_type[0] ? ")" : "");
	an_ev_bytes(c, f, "requested_bytes", s->bytes);
	if (s->block_type[0])
		an_ev_str(c, f, "block_type", "%s", s->block_type);
	bd_alloc_sum *rows;
	size_t n;
	if (s->allocator[0] && bd_alloc_summarize(c->m, 0, &rows, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			if (rows[i].alloc && !strcmp(rows[i].alloc, s->allocator)) {
				an_ev_bytes(c, f, "allocator_used_bytes", rows[i].used);
				an_ev_bytes(c, f, "allocator_carriers_bytes", rows[i].allocated);
			}
		free(rows);
	}
	const bd_memory *mem = bd_model_memory(c->m);
	an_ev_bytes(c, f, "node_memory_bytes", mem->total);
	an_ev_bytes(c, f, "binary_bytes", mem->binary);
	an_ev_bytes(c, f, "ets_bytes", mem->ets);
	an_ev_bytes(c, f, "processes_bytes", mem->processes);
	an_advice(c, f, "Find what grew in %s (the other findings), and cap the node's memory "
		  "use with back-pressure rather than more RAM",
		  s->allocator[0] ? s->allocator : "memory");
}

/* The slogan's reason says too little: nothing, a bare word ("terminating"), cut by
 * init's printer ({_}, [_]), or an application start failure that only says a
 * supervisor gave up ({shutdown,{kernel,start,[normal,[]]}}): which child failed and
 * why is in the reports the boot processes hold. */
static int has(const char *r, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(r + i, needle, k))
			return 1;
	return 0;
}

static int reason_lacking(const bd_slogan *s)
{
	const char *r = s->reason ? s->reason : "";
	size_t n = s->reason_len;
	if (!n)
		return 1;
	if (!memchr(r, '{', n) && !memchr(r, '[', n) && !memchr(r, '"', n))
		return 1;
	if (has(r, n, "{_}") || has(r, n, "[_]"))
		return 1;
	return !strcmp(s->reason_tag, "application_start_failure") && n < 400 &&
	       !has(r, n, "failed_to_start_child") && has(r, n, "shutdown");
}

/* The innermost {failed_to_start_child, Id, Error} of a reason text: the child that
 * failed first and its error ("net_kernel: {'EXIT',nodistribution}"), or NULL. */
static const char *innermost_child(an_ctx *c, const char *r, size_t n)
{
	static const char tag[] = "{failed_to_start_child,";
	const char *last = NULL;
	for (size_t i = 0; i + sizeof tag - 1 <= n; i++)
		if (!memcmp(r + i, tag, sizeof tag - 1))
			last = r + i;
	if (!last)
		return NULL;
	const char *id = last + sizeof tag - 1, *e = r + n, *q = id;
	while (q < e && *q != ',')
		q++;
	const char *err = q + 1;
	int depth = 0;
	const char *t = err;
	for (; t < e; t++) {
		if (*t == '{' || *t == '[')
			depth++;
		else if ((*t == '}' || *t == ']') && depth-- == 0)
			break;
	}
	if (q >= e || t <= err)
		return NULL;
	return bd_arena_printf(c->arena, "child %.*s failed to start: %.*s", (int)(q - id), id,
			       (int)(t - err > 200 ? 200 : t - err), err);
}

/* The cause from the boot processes' heaps as evidence; its text, or NULL. */
static const char *boot_cause(an_ctx *c, an_finding *f, char *app, size_t appcap)
{
	char why[600];
	const bd_proc *from = NULL;
	app[0] = 0;
	if (!reason_lacking(&c->slogan) ||
	    !an_boot_cause(c, why, sizeof why, app, appcap, &from))
		return NULL;
	an_ev_str(c, f, "cause", "%s", why);
	if (from)
		an_ev_str(c, f, "cause_read_from", "%s", an_proc_label(c, from));
	return bd_arena_strdup(c->arena, why);
}

/* Advice for start errors common enough to name (5 and 3 of 37 real-world dumps). */
static const char *known_start_error(const char *why)
{
	if (why && strstr(why, "nodistribution"))
		return "Distribution did not start (net_kernel): epmd is not running or not "
		       "reachable, the node name is already registered with epmd (another node of "
		       "that name runs), or the host part of -sname/-name does not resolve; check "
		       "epmd -names and the host name, then boot again";
	if (why && strstr(why, "dist_port_already_used"))
		return "Another node already listens on that distribution port (a broker still "
		       "running, or a second one started with the same name): stop it or give this "
		       "node another name or distribution port, then boot again";
	return NULL;
}

static void kernel_pid(an_ctx *c)
{
	const bd_slogan *s = &c->slogan;
	int start_fail = !strcmp(s->reason_tag, "application_start_failure") ||
			 s->cls == BD_SL_KERNEL_START;
	an_finding *f = an_new(c, start_fail ? BD_F_BOOT_FAILURE : BD_F_SUPERVISOR_SHUTDOWN,
			       BD_SEV_CRITICAL, 88);
	if (!f)
		return;
	if (s->application[0]) {
		an_subject_named(c, f, "application", s->application);
		f->pub.subject.application = f->pub.subject.name;
	} else {
		an_subject_named(c, f, "process", s->kernel_pid);
	}
	if (s->cls == BD_SL_KERNEL_START && s->reason_len)
		an_title(c, f, "Kernel process %s could not start: %.160s%s", s->kernel_pid,
			 reason_text(c), s->reason_len > 160 ? "..." : "");
	else if (s->cls == BD_SL_KERNEL_START)
		an_title(c, f, "Kernel process %s could not start: boot failed", s->kernel_pid);
	else if (start_fail) {
		char app[128];
		const char *why = boot_cause(c, f, app, sizeof app);
		if (!why)
			why = innermost_child(c, s->reason ? s->reason : "", s->reason_len);
		if (why)
			an_title(c, f, "Application %s failed to start, so the node stopped: %.160s%s",
				 s->application[0] ? s->application : app[0] ? app : "?", why,
				 strlen(why) > 160 ? "..." : "");
		else
			an_title(c, f, "Application %s failed to start, so the node stopped",
				 s->application[0] ? s->application : "?");
	}
	else if (s->application[0])
		an_title(c, f, "Application %s stopped (%s) and took the node down", s->application,
			 s->reason_tag[0] ? s->reason_tag : "terminated");
	else
		an_title(c, f, "Kernel process %s terminated and took the node down", s->kernel_pid);
	an_ev_str(c, f, "kernel_pid", "%s", s->kernel_pid);
	if (s->application[0])
		an_ev_str(c, f, "application", "%s", s->application);
	an_ev_str(c, f, "reason", "%s", reason_text(c));
	const char *why = reason_text(c), *known;
	if (s->cls == BD_SL_KERNEL_START && !strcmp(s->kernel_pid, "application_controller"))
		an_advice(c, f, "application_controller reads the configuration when it starts: the "
			  "-config file (sys.config: the reason names the file and what is wrong, not "
			  "found or a syntax error at a line) and the -App Key Value parameters of the "
			  "command line "
			  "(bad_environment_value: a value that does not parse); fix that and boot again");
	else if (start_fail && ((known = known_start_error(f->pub.title)) ||
				(known = known_start_error(bd_arena_printf(c->arena, "%.*s",
					(int)s->reason_len, s->reason ? s->reason : "")))))
		an_advice(c, f, "%s", known); /* the title holds the cause read from the heaps */
	else if (start_fail)
		an_advice(c, f, "Read the reason: the failing child and its error are in it (bad "
			  "config, missing dependency, port in use); fix that and boot again");
	else if (s->application[0] && (!why[0] || strstr(why, ",shutdown}")))
		/* A supervisor past its restart intensity exits with shutdown. */
		an_advice(c, f, "A permanent application's top supervisor exceeded its restart "
			  "intensity: find the child that kept crashing (reason above, logs) and fix "
			  "its crash");
	else if (s->application[0])
		an_advice(c, f, "The application's top supervisor exited with the reason above (killed "
			  "or crashed, not a restart intensity): find what sent it that exit (a kill "
			  "from outside, an exit signal from a linked process, a supervisor bug)");
	else if (!strcmp(s->kernel_pid, "heart"))
		an_advice(c, f, "heart exited, and the node with it: the external heart program died "
			  "or could not start (a killed heart process, a bad HEART_COMMAND), or heart "
			  "was told to stop; check how the node is started with -heart and the system "
			  "log for the heart program");
	else
		an_advice(c, f, "%s is a kernel process: when it exits the node stops. The logs "
			  "just before the dump say why it exited (an exit signal from a linked "
			  "process, a kill from outside, an error in its own code)%s",
			  s->kernel_pid, why[0] ? "; the reason is above" : "");
}

static void boot(an_ctx *c)
{
	an_finding *f = an_new(c, BD_F_BOOT_FAILURE, BD_SEV_CRITICAL, 88);
	if (!f)
		return;
	an_subject_named(c, f, "node", bd_model_node(c->m)->node_name);
	char app[128];
	const char *why = boot_cause(c, f, app, sizeof app);
	/* The child that failed first says more than the application's whole reason. */
	const char *child = why ? innermost_child(c, why, strlen(why)) : NULL;
	if (why && app[0]) {
		an_subject_named(c, f, "application", app);
		f->pub.subject.application = f->pub.subject.name;
		an_title(c, f, "The boot failed: application %s did not start: %.160s%s", app,
			 child ? child : why, strlen(child ? child : why) > 160 ? "..." : "");
	} else if (why) {
		an_title(c, f, "The boot failed: %.160s%s", child ? child : why,
			 strlen(child ? child : why) > 160 ? "..." : "");
	} else {
		an_title(c, f, "The boot failed: %.120s%s", c->slogan.reason_len ? reason_text(c)
			 : "(the slogan gives no reason, and the dump holds none)",
			 c->slogan.reason_len > 120 ? "..." : "");
	}
	an_ev_str(c, f, "reason", "%s", reason_text(c));
	if (c->slogan.reason_tag[0])
		an_ev_str(c, f, "reason_tag", "%s", c->slogan.reason_tag);
	if (known_start_error(why))
		an_advice(c, f, "%s", known_start_error(why));
	else if (child || (why && app[0]))
		an_advice(c, f, "An application did not start: the failing child and its error are in "
			  "the cause (bad config, missing dependency, port in use); fix that and boot again");
	else
		an_advice(c, f, "Run the same -s/-eval/boot script by hand in a shell: the reason names "
			  "the missing module or failing call");
}

static void manual(an_ctx *c)
{
	const bd_slogan *s = &c->slogan;
	const bd_proc *p = s->cls == BD_SL_HALT ? an_running_proc(c) : NULL;
	an_finding *f = an_new(c, BD_F_MANUAL_DUMP, BD_SEV_INFO, 5);
	if (!f)
		return;
	if (p)
		an_subject_proc(c, f, p);
	else
		an_subject_named(c, f, "node", bd_model_node(c->m)->node_name);
	switch (s->cls) {
	case BD_SL_SIGUSR1:
		an_title(c, f, "Dump requested with SIGUSR1: the node was alive; see the findings "
			 "above for what was wrong");
		an_advice(c, f, "Compare with a second dump taken later to see what grows");
		break;
	case BD_SL_USER_BREAK:
		an_title(c, f, "Dump requested from the break menu (Ctrl-C, A)");
		an_advice(c, f, "Compare with a second dump taken later to see what grows");
		break;
	case BD_SL_NONE:
		if (bd_model_node(c->m)->source && !strcmp(bd_model_node(c->m)->source, "live")) {
			an_title(c, f, "Live capture of a running node: nothing crashed; see the "
				 "findings above for what was wrong");
			an_advice(c, f, "Capture again later (or use --every) and diff the two "
				 "snapshots to see what grows");
			break;
		}
		an_title(c, f, "The dump has no slogan");
		an_advice(c, f, "Look at the findings above");
		break;
	default:
		an_title(c, f, "erlang:halt/1 was called%s%s: \"%.200s\"", p ? " by " : "",
			 p ? an_proc_label(c, p) : "", s->text);
		an_advice(c, f, "The halt was deliberate; the findings above say what led to it");
		break;
	}
	an_ev_str(c, f, "slogan", "%.300s", s->text);
}

static void vm_error(an_ctx *c)
{
	const bd_slogan *s = &c->slogan;
	an_finding *f = an_new(c, BD_F_VM_ERROR, BD_SEV_CRITICAL, 80);
	if (!f)
		return;
	an_subject_named(c, f, "node", bd_model_node(c->m)->node_name);
	/* Was the node booting, running or stopping? init's state says. */
	char st[96];
	int known = an_init_status(c, st, sizeof st);
	const char *when = !known ? "" : !strncmp(st, "starting", 8) ? " while the node was booting"
				  : !strncmp(st, "stopping", 8) ? " while the node was stopping" : "";
	an_title(c, f, "The VM stopped itself%s: %.200s", when, s->text);
	an_ev_str(c, f, "slogan_class", "%s", bd_slogan_class_name(s->cls));
	if (known)
		an_ev_str(c, f, "init_status", "%s", st);
	an_ev_str(c, f, "slogan", "%.300s", s->text);
	const char *adv = "An internal VM error: check NIFs and drivers for memory corruption, "
			  "then report it with this dump";
	if (s->cls == BD_SL_CHILD_SETUP && known && !strncmp(st, "stopping", 8))
		adv = "erl_child_setup died while the node was already shutting down (init:stop, "
		      "SIGTERM, the terminal closed): find what stopped the node, not this helper";
	else if (s->cls == BD_SL_CHILD_SETUP)
		adv = "erl_child_setup died: usually the OS OOM killer or a container limit, or the "
		      "terminal the node ran in closed; check dmesg and the container's memory limit";
	else if (s->cls == BD_SL_THREAD)
		adv = "The OS refused a thread or its memory: check ulimit -u, the container's "
		      "pids limit and memory";
	else if (s->cls == BD_SL_DIST_BUFFER)
		adv = "A distribution message was too large: send big data in chunks";
	else if (s->cls == BD_SL_SYSTEM_PROCESS && s->text && strstr(s->text, "terminated: killed"))
		/* killed: an exit(Pid, kill) from Erlang code, not the VM failing */
		adv = "A system process was killed: some code sent it exit(Pid, kill) (a loop over "
		      "erlang:processes() killing everything, or a stale pid reused); find that code";
	else if (s->cls == BD_SL_SYSTEM_PROCESS)
		adv = "A system process died: usually a VM bug or NIF corruption; report it";
	else if (s->cls == BD_SL_INDEX_TABLE)
		adv = "Too many modules or exports loaded: check code generation at run time";
	an_advice(c, f, "%s", adv);
}

void an_slogan(an_ctx *c)
{
	if (c->slogan.cls == BD_SL_NATIVE)
		return; /* an_native (native.c) says it all */
	const bd_slogan *s = &c->slogan;
	switch (s->cls) {
	case BD_SL_ALLOC_OOM:
		if (!strcmp(s->allocator, "eheap_alloc"))
			heap_oom(c);
		else
			alloc_oom(c);
		break;
	case BD_SL_HEAP_LIMIT:
		heap_oom(c);
		break;
	case BD_SL_INDEX_TABLE:
		if (strcmp(s->table, "atom_tab") != 0)
			vm_error(c); /* atom_tab: atoms.c reports it with the clusters */
		break;
	case BD_SL_KERNEL_PID:
	case BD_SL_KERNEL_START:
		kernel_pid(c);
		break;
	case BD_SL_BOOT:
		boot(c);
		break;
	case BD_SL_SIGUSR1:
	case BD_SL_USER_BREAK:
	case BD_SL_HALT:
	case BD_SL_NONE:
		manual(c);
		break;
	default:
		vm_error(c);
		break;
	}
}

/* ---- truncation ---- */
void an_truncation(an_ctx *c)
{
	const bd_node_info *n = bd_model_node(c->m);
	if (!n->truncated && !n->skipped)
		return;
	an_finding *f = an_new(c, BD_F_TRUNCATED_DUMP, n->truncated ? BD_SEV_WARNING : BD_SEV_INFO,
			       n->truncated ? 30 : 10);
	if (!f)
		return;
	an_subject_named(c, f, "node", n->node_name);
	if (n->truncated) {
		an_title(c, f, "The dump is cut short at byte %s%s%s: later sections are missing",
			 an_count(c, n->truncated_at), n->truncated_in ? " in " : "",
			 n->truncated_in ? n->truncated_in : "");
		an_ev_count(c, f, "truncated_at", n->truncated_at);
		an_ev_bytes(c, f, "input_bytes", n->input_size);
		/* "=mod:erl_parse" without its "=": the text shows key=value. */
		if (n->truncated_in)
			an_ev_str(c, f, "cut_in_section", "%s",
				  n->truncated_in + (n->truncated_in[0] == '='));
		if (n->abort_reason)
			an_ev_str(c, f, "abort_reason", "%s", n->abort_reason);
		an_advice(c, f, "%s", n->abort_reason && strstr(n->abort_reason, "SIZE LIMIT")
			  ? "Raise ERL_CRASH_DUMP_BYTES so the next dump is complete"
			  : "The VM was killed while writing (ERL_CRASH_DUMP_SECONDS, heart, OOM killer) "
			    "or the disk filled; give it time and space to finish");
	} else {
		an_title(c, f, "%s section(s) could not be read (first: %s)", an_count(c, n->skipped),
			 n->skipped_first ? n->skipped_first : "?");
		an_advice(c, f, "Findings may miss what those sections held");
	}
	if (n->skipped)
		an_ev_count(c, f, "skipped_sections", n->skipped);
}
