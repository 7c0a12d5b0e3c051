/* logger_overload: more log events than the logger can write, and who produces them.
 *
 * OTP's handlers (logger_std_h, logger_disk_log_h: processes started as
 * logger_olp:init/1, registered as logger_std_h_<id> / logger_disk_log_h_<id>) format each event in the
 * process that logs it and queue the text on the handler ($gen_cast {'$olp_load',_}).
 * Above sync_mode_qlen (10) callers wait for the handler, above drop_mode_qlen (200)
 * events are dropped, above flush_qlen (1000) the queue is flushed. A flood therefore
 * shows as a handler with hundreds or thousands of events queued, and as many
 * processes busy formatting log events (io_lib_pretty, io_lib_format under
 * logger_h_common) or waiting for the handler instead of doing their work. The
 * legacy error_logger (a gen_event) and Elixir's Logger have their own queues.
 *
 * The finding names the handler, where it is stuck (writing to its device), how many
 * processes log and which kind of process produces the flood (initial call, and the
 * process that spawned most of them). The handler's own mailbox_overload finding,
 * whose generic advice does not fit OTP's handler, is folded into this one. */
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

enum {
	QUEUE_WARN = 1000,      /* OTP's default flush_qlen: events are being flushed */
	QUEUE_INFO = 200,       /* drop_mode_qlen: events are being dropped */
	QUEUE_CRIT = 100000,    /* a queue without overload protection */
	LOGGERS_WARN = 20,      /* processes busy logging */
	MAX_STACKS = 512,       /* stacks decoded to confirm a formatting frame */
	MAX_HANDLERS = 8,
	STRAIN_QUEUE = 50,      /* a handler queue worth a look at who logs */
	STRAIN_CALLERS = 5,
	GROUPS = 128,
};

static int has_prefix(const char *s, const char *p)
{
	return s && !strncmp(s, p, strlen(p));
}

/* Modules of the logging path itself. */
static int logger_module(const char *mfa)
{
	static const char *const pres[] = {"logger:", "logger_backend:", "logger_h_common:",
					   "logger_olp:", "logger_formatter:", "logger_std_h:",
					   "logger_disk_log_h:", "logger_simple_h:", "logger_config:",
					   "error_logger:", "'Elixir.Logger", "Elixir.Logger"};
	for (size_t i = 0; mfa && i < sizeof pres / sizeof *pres; i++)
		if (has_prefix(mfa, pres[i]))
			return 1;
	return 0;
}

/* Formatting code a logger frame may be running (the event's text is built in the
 * caller). */
static int format_module(const char *mfa)
{
	static const char *const pres[] = {"io_lib", "string:", "unicode", "lists:", "erlang:",
					   "calendar:", "maps:", "epp:", "'Elixir.Inspect", "'Elixir.String"};
	for (size_t i = 0; mfa && i < sizeof pres / sizeof *pres; i++)
		if (has_prefix(mfa, pres[i]))
			return 1;
	return 0;
}

typedef struct handler {
	const bd_proc *p;
	const char *id;     /* handler id ("default") or the process's name */
	const char *kind;   /* "logger_std_h", "logger_disk_log_h", "error_logger", ... */
} handler;

static int find_handlers(an_ctx *c, handler *hs)
{
	int n = 0;
	for (size_t i = 0; i < c->nprocs && n < MAX_HANDLERS; i++) {
		const bd_proc *p = &c->procs[i];
		const char *nm = p->name;
		handler h = {p, nm, NULL};
		if (has_prefix(nm, "logger_std_h_"))
			h.kind = "logger_std_h", h.id = nm + 13;
		else if (has_prefix(nm, "logger_disk_log_h_"))
			h.kind = "logger_disk_log_h", h.id = nm + 18;
		else if (nm && !strcmp(nm, "error_logger"))
			h.kind = "error_logger";
		else if (nm && (!strcmp(nm, "Elixir.Logger") || !strcmp(nm, "'Elixir.Logger'")))
			h.kind = "Elixir Logger";
		else
			continue;
		if (!h.id)
			h.id = an_proc_label(c, p);
		hs[n++] = h;
	}
	return n;
}

/* Where the logging path waits on the handler: logger_h_common:log/2 checks that the
 * handler is alive (is_process_alive/1 is a signal to the handler and a receive of its
 * answer in OTP 23+) and, in sync mode, calls it. A flood keeps most callers there,
 * waiting or just woken. */
static int handler_wait(const char *mfa)
{
	return has_prefix(mfa, "erts_internal:is_process_alive") || has_prefix(mfa, "gen:do_call");
}

/* Is p busy logging: in the logging path, formatting under a logger frame, or waiting
 * on the handler under one? */
static int logging(an_ctx *c, const bd_proc *p, size_t *decoded)
{
	const char *pc = p->pc_mfa ? p->pc_mfa : p->current_call;
	if (logger_module(pc) || logger_module(p->current_call))
		return 1;
	int waits = handler_wait(pc) || handler_wait(p->current_call);
	if ((!waits && (!format_module(pc) || p->state == BD_PS_WAITING)) || *decoded >= MAX_STACKS)
		return 0;
	(*decoded)++;
	bd_heap *h = an_heap(c, p);
	bd_frame *fr;
	size_t nf;
	bd_error err = {0};
	if (!h || bd_heap_stack(h, &fr, &nf, &err))
		return 0;
	/* formatting a nested term recurses deep: look at the whole stack */
	for (size_t i = 0; i < nf; i++)
		if (logger_module(fr[i].mfa))
			return 1;
	return 0;
}

/* Processes in a call on h (sync mode: they wait for the handler). */
static int calls_handler(an_ctx *c, const bd_proc *p, const handler *hs, int nh)
{
	if (p->state != BD_PS_WAITING || !p->pc_mfa || !has_prefix(p->pc_mfa, "gen:do_call"))
		return 0;
	for (uint32_t i = 0; i < p->link_count && p->link_first + i < c->nlinks; i++) {
		const bd_link *l = &c->links[p->link_first + i];
		if (l->kind != BD_MON_TO || l->target_kind != BD_TGT_PID)
			continue;
		for (int k = 0; k < nh; k++)
			if (bd_pid_eq(l->id, hs[k].p->pid))
				return 1;
	}
	return 0;
}

static int same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

typedef struct grp {
	const char *ic;
	uint64_t n;
	size_t example;
} grp;

/* The process that spawned most of the group's members, if it spawned half. */
static const bd_proc *spawner(an_ctx *c, const unsigned char *mark, const grp *g, uint64_t *cnt)
{
	bd_pid best = BD_PID_NONE;
	uint64_t votes = 0;
	*cnt = 0;
	for (size_t i = 0; i < c->nprocs; i++) {
		const bd_proc *p = &c->procs[i];
		if (!mark[i] || !same(an_initial_call(c, p), g->ic) || !bd_pid_valid(p->spawned_by))
			continue;
		if (!votes)
			best = p->spawned_by, votes = 1;
		else
			votes += bd_pid_eq(p->spawned_by, best) ? 1 : (uint64_t)-1;
	}
	if (!bd_pid_valid(best))
		return NULL;
	for (size_t i = 0; i < c->nprocs; i++)
		if (mark[i] && same(an_initial_call(c, &c->procs[i]), g->ic) &&
		    bd_pid_eq(c->procs[i].spawned_by, best))
			(*cnt)++;
	return *cnt * 2 >= g->n ? bd_proc_by_pid(c->m, best) : NULL;
}

/* The handler's mailbox_overload says "do not wait inside the callback": OTP's code,
 * not the user's. It becomes context for this finding. */
static void fold_mailbox(an_ctx *c, const bd_proc *hp)
{
	for (size_t i = 0; i < c->nf; i++) {
		an_finding *f = c->f[i];
		if (f->pub.kind != BD_F_MAILBOX_OVERLOAD || !bd_pid_eq(f->pub.subject.pid, hp->pid))
			continue;
		f->pub.severity = BD_SEV_INFO;
		f->pub.score = 4;
		f->pub.advice = "This is a logger handler: its queue is the log flood "
				"(see logger_overload), not a receive to fix";
	}
}

/* A busy standard-output port (fd "0/1") under a log flood is the handler's device:
 * the flood's doing, told by this finding. */
static void fold_device(an_ctx *c)
{
	size_t np;
	const bd_port *pts = bd_model_ports(c->m, &np);
	for (size_t i = 0; i < c->nf; i++) {
		an_finding *f = c->f[i];
		if (f->pub.kind != BD_F_BUSY_PORT)
			continue;
		for (size_t k = 0; k < np; k++) {
			const char *d[2] = {pts[k].name, pts[k].driver};
			int io = 0;
			for (int j = 0; j < 2; j++)
				io |= d[j] && (!strcmp(d[j], "0/1") || !strcmp(d[j], "2/2") ||
					       !strncmp(d[j], "tty_sl", 6));
			if (!io || !bd_pid_eq(pts[k].id, f->pub.subject.pid))
				continue;
			f->pub.severity = BD_SEV_INFO;
			f->pub.score = 4;
			f->pub.advice = "The node's standard output is the log flood's device: it "
					"cannot take the events as fast as they come (see logger_overload)";
		}
	}
}

/* Callers blocked on the handler are the processes logging in sync mode, which
 * this finding counts (waiting_for_handler): the flood, not a server to fix. */
static void fold_callers(an_ctx *c, const bd_proc *hp, uint64_t ncalling)
{
	for (size_t i = 0; ncalling && i < c->nf; i++) {
		an_finding *f = c->f[i];
		if (f->pub.kind != BD_F_BLOCKED_CALL || !bd_pid_eq(f->pub.subject.pid, hp->pid))
			continue;
		f->pub.severity = BD_SEV_INFO;
		f->pub.score = 4;
		f->pub.advice = "This is a logger handler: its callers are processes logging in "
				"sync mode, the log flood (see logger_overload)";
	}
}

static void report(an_ctx *c, const handler *h, int nh, const unsigned char *mark, uint64_t nlog,
		   uint64_t ncalling, const grp *dom, uint64_t active)
{
	const bd_proc *hp = h->p;
	uint64_t q = an_val(hp->msgq_len);
	int warn = q >= QUEUE_WARN || (nlog >= LOGGERS_WARN && nlog * 4 >= active);
	int crit = q >= QUEUE_CRIT;
	bd_severity sev = crit ? BD_SEV_CRITICAL : warn ? BD_SEV_WARNING : BD_SEV_INFO;
	an_finding *f = an_new(c, BD_F_LOGGER_OVERLOAD, sev, crit ? 72 : warn ? 68 : 4);
	if (!f)
		return;
	uint64_t nsp = 0;
	const bd_proc *ex = dom ? &c->procs[dom->example] : NULL;
	const bd_proc *sp = dom && dom->n * 2 >= nlog ? spawner(c, mark, dom, &nsp) : NULL;
	/* The source of the flood is the subject; the handler when no kind dominates. */
	if (sp)
		an_subject_proc(c, f, sp);
	else if (ex && dom->n * 2 >= nlog)
		an_subject_proc(c, f, ex);
	else
		an_subject_proc(c, f, hp);
	an_related(c, f, hp, "handler");
	if (ex && f->subj_proc != ex)
		an_related(c, f, ex, "example");
	an_activity a;
	an_activity_of(c, hp, 1, &a);
	an_ev_str(c, f, "handler", "%s", h->id);
	an_ev_str(c, f, "handler_module", "%s", h->kind);
	an_ev_str(c, f, "handler_process", "%s", an_proc_label(c, hp));
	an_ev_count(c, f, "handler_queue", q);
	an_ev_bytes(c, f, "handler_memory_bytes", hp->memory);
	if (hp->pc_mfa)
		an_ev_str(c, f, "handler_waits_in", "%s", hp->pc_mfa);
	an_ev_count(c, f, "processes_logging", nlog);
	an_ev_count(c, f, "waiting_for_handler", ncalling);
	an_ev_count(c, f, "active_processes", active);
	if (dom) {
		an_ev_str(c, f, "dominant_logger", "%s", dom->ic ? dom->ic : "?");
		an_ev_count(c, f, "dominant_count", dom->n);
	}
	if (sp) {
		an_ev_str(c, f, "spawner", "%s", an_proc_label(c, sp));
		an_ev_count(c, f, "spawned_by_spawner", nsp);
	}
	if (nh > 1)
		an_detail(c, f, "%d logger handler processes on the node", nh);
	const char *writing = hp->pc_mfa && (strstr(hp->pc_mfa, "file_ctrl") || strstr(hp->pc_mfa, "disk_log") ||
					     strstr(hp->pc_mfa, "await_io") || strstr(hp->pc_mfa, "io_request"))
		? " while it waits for its device" : "";
	const char *who = "";
	if (dom && dom->n * 2 >= nlog)
		who = bd_arena_printf(c->arena, "; %s of them are %s%s", an_count(c, dom->n),
				      dom->ic ? dom->ic : "?",
				      sp ? bd_arena_printf(c->arena, ", spawned by %s", an_proc_label(c, sp)) : "");
	an_title(c, f, "Log flood: handler %s has %s event%s queued%s, and %s process%s %s busy "
		 "logging%s%s", h->id, an_count(c, q), q == 1 ? "" : "s", writing, an_count(c, nlog),
		 nlog == 1 ? "" : "es", nlog == 1 ? "is" : "are",
		 ncalling ? bd_arena_printf(c->arena, " (%s waiting for the handler)", an_count(c, ncalling)) : "",
		 who);
	an_advice(c, f, "The node spends its time producing log events faster than %s can write "
		  "them: each event is formatted in the process that logs it, and past the handler's "
		  "limits callers wait (sync mode) or events are dropped. Lower the level or remove the "
		  "log call in %s (a log per message or per loop turn), log a summary or a sampled event "
		  "instead, and keep overload protection on (%s)",
		  h->id, dom && dom->ic ? dom->ic : "the dominant processes",
		  !strcmp(h->kind, "Elixir Logger")
			  ? "sync_threshold, discard_threshold in config :logger"
			  : !strcmp(h->kind, "error_logger")
			  ? "error_logger has none: move its handlers to logger, which does"
			  : "sync_mode_qlen, drop_mode_qlen, burst_limit_max_count in the handler's config");
	fold_mailbox(c, hp);
	if (sev != BD_SEV_INFO) {
		fold_callers(c, hp, ncalling);
		fold_device(c);
	}
}

void an_logger(an_ctx *c)
{
	handler hs[MAX_HANDLERS];
	int nh = find_handlers(c, hs);
	if (!nh)
		return;
	unsigned char *mark = calloc(c->nprocs + 1, 1);
	grp *g = calloc(GROUPS, sizeof *g);
	if (!mark || !g) {
		free(mark);
		free(g);
		return;
	}
	uint64_t nlog = 0, ncalling = 0, active = 0;
	size_t ng = 0, decoded = 0;
	/* Stacks are read only when the logger shows strain: a queue on a handler or
	 * processes waiting for one. */
	uint64_t hq = 0, waiting = 0;
	for (int k = 0; k < nh; k++)
		hq = an_val(hs[k].p->msgq_len) > hq ? an_val(hs[k].p->msgq_len) : hq;
	for (size_t i = 0; i < c->nprocs && hq < STRAIN_QUEUE; i++)
		waiting += calls_handler(c, &c->procs[i], hs, nh);
	if (hq < STRAIN_QUEUE && waiting < STRAIN_CALLERS) {
		free(mark);
		free(g);
		return;
	}
	for (size_t i = 0; i < c->nprocs; i++) {
		const bd_proc *p = &c->procs[i];
		int is_handler = 0;
		for (int k = 0; k < nh; k++)
			is_handler |= hs[k].p == p;
		if (is_handler || an_is_system_proc(p))
			continue;
		int calling = calls_handler(c, p, hs, nh);
		int lg = calling || logging(c, p, &decoded);
		if (p->state != BD_PS_WAITING || lg)
			active++;
		if (!lg)
			continue;
		mark[i] = 1;
		nlog++;
		ncalling += calling;
		const char *ic = an_initial_call(c, p);
		size_t j = 0;
		while (j < ng && !same(g[j].ic, ic))
			j++;
		if (j == ng && ng < GROUPS)
			g[ng++] = (grp){ic, 0, i};
		if (j < ng)
			g[j].n++;
	}
	const grp *dom = NULL;
	for (size_t j = 0; j < ng; j++)
		if (!dom || g[j].n > dom->n)
			dom = &g[j];
	/* The handler with the longest queue is the one the flood lands on. */
	const handler *h = &hs[0];
	for (int k = 1; k < nh; k++)
		if (an_val(hs[k].p->msgq_len) > an_val(h->p->msgq_len))
			h = &hs[k];
	if (an_val(h->p->msgq_len) >= QUEUE_INFO || nlog >= LOGGERS_WARN)
		report(c, h, nh, mark, nlog, ncalling, dom, active);
	free(mark);
	free(g);
}
