/* What a process was doing when the dump was written: idle in its main loop,
 * working, waiting for a reply, sleeping, waiting on a port, or blocked in a
 * receive of its own; and, for OTP behaviours, which callback was running. Read
 * from State, the program counter and the stack frames (decoded only on request).
 * Several analyses ask the same questions of a candidate: "is this server stuck
 * inside a callback or just busy?", "does this queue grow because the process is
 * slow, or because nothing in it matches the receive it waits in?". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

enum { STACK_TEXT_FRAMES = 5 };

static int has_prefix(const char *s, const char *pre)
{
	/* The first byte first: this runs for every process of the node. */
	return s && *s == *pre && !strncmp(s, pre, strlen(pre));
}

static int any_prefix(const char *s, const char *const *pres, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (has_prefix(s, pres[i]))
			return 1;
	return 0;
}

/* Receive loops of the behaviours and hibernation: waiting here is being idle. */
static const char *const main_loops[] = {
	"gen_server:loop/",      "gen_statem:loop_receive/", "gen_statem:loop/",
	"gen_event:fetch_msg/",  "erlang:hibernate/",        "proc_lib:hibernate/",
	"gen_server:wake_hib/",  "gen_statem:wakeup_from_hibernate/", "gen_fsm:loop/",
	"gen_server2:process_next_msg/", "gen_server2:wake_hib/", "gen_batch_server:loop_wait/",
};

/* A function called *loop* (server_loop, msg_loop, main_loop...) is a receive loop. */
static int loop_function(const char *mfa)
{
	const char *colon = mfa ? strchr(mfa, ':') : NULL;
	const char *slash = colon ? strchr(colon, '/') : NULL;
	for (const char *p = colon; p && slash && p + 4 <= slash; p++)
		if (!strncmp(p, "loop", 4))
			return 1;
	return 0;
}

/* Waiting for the reply to a synchronous request. */
static const char *const call_waits[] = {
	"gen:do_call/",      "gen:wait_resp_mon/", "gen:do_call_mon/", "gen_statem:call_clean/",
	"gen_event:rpc/",    "gen_server:call/",   "gen:call/",        "erpc:call/",
	"erpc:receive_response/", "rpc:call/",     "'Elixir.Task':await/", "'Elixir.Task':yield/",
	"global:trans/",     "gen_statem:call_dirty/",
};

static const char *const sleeps[] = {"timer:sleep/", "'Elixir.Process':sleep/"};

/* Waiting on a socket or another port: can wait for ever on a silent peer. */
static const char *const io_waits[] = {
	"prim_inet:",  "gen_tcp:", "gen_udp:",  "gen_sctp:", "inet_tcp:",   "ssl_gen_statem:",
	"tls_sender:", "socket:",  "prim_socket:", "erts_internal:port_", "erlang:port_",
	"os:get_data/",
};

/* File I/O: waits on the disk, which answers. */
static const char *const file_waits[] = {"prim_file:", "file_io_server:", "file:", "raw_file_io"};

/* Frames that call a behaviour callback: the frame above (nearer the top) is the
 * callback, or what it tail-called. */
static const struct {
	const char *pre, *behaviour;
} dispatchers[] = {
	{"gen_server:try_handle_call/", "gen_server"},  {"gen_server:try_dispatch/", "gen_server"},
	{"gen_server:try_handle_continue/", "gen_server"}, {"gen_server:try_init_", "gen_server"},
	{"gen_statem:loop_state_callback/", "gen_statem"}, {"gen_statem:loop_callback/", "gen_statem"},
	{"gen_statem:call_state_function/", "gen_statem"}, {"gen_statem:init_it/", "gen_statem"},
	{"gen_event:server_update/", "gen_event"},      {"gen_event:server_call_update/", "gen_event"},
	{"gen_event:server_call/", "gen_event"},        {"gen_server:init_it/", "gen_server"},
};

const char *an_act_name(an_act_kind k)
{
	static const char *const names[] = {"unknown",   "working",  "idle",    "calling",
					    "sleeping",  "receiving", "port_io", "file_io",
					    "suspended", "exiting"};
	return (unsigned)k < sizeof names / sizeof *names ? names[k] : "unknown";
}

static void frame_mfa(const bd_frame *f, char *buf, size_t cap)
{
	an_mfa_of(f->mfa, buf, cap);
}

/* "a < b < c": the first frames that carry code (top first). */
static const char *stack_text(an_ctx *c, const bd_frame *fr, size_t nf)
{
	char out[600], m[200], prev[200] = "";
	size_t len = 0, shown = 0;
	out[0] = 0;
	for (size_t i = 0; i < nf && shown < STACK_TEXT_FRAMES; i++) {
		if (!fr[i].mfa || fr[i].mfa[0] == '<')
			continue;
		frame_mfa(&fr[i], m, sizeof m);
		if (!strcmp(m, prev))
			continue; /* recursion: one entry per function */
		int n = snprintf(out + len, sizeof out - len, "%s%s", shown ? " < " : "", m);
		if (n < 0 || (size_t)n >= sizeof out - len)
			break;
		len += (size_t)n;
		shown++;
		snprintf(prev, sizeof prev, "%s", m);
	}
	return len ? bd_arena_strdup(c->arena, out) : NULL;
}

/* The call being handled: its From, {Pid, Ref} or {Pid, [alias | Ref]}, in the
 * slots of the callback frame or of the frames below it. */
static bd_pid serving_from(const bd_frame *fr, size_t nf, size_t from)
{
	for (size_t i = from; i < nf; i++)
		for (uint32_t k = 0; k < fr[i].nslots; k++) {
			const bd_term *t = fr[i].slots[k].term;
			const bd_term *p = bd_term_elem(t, 0), *tag = bd_term_elem(t, 1);
			if (t && t->kind == BD_T_TUPLE && t->n == 2 && p && p->kind == BD_T_PID && tag &&
			    (tag->kind == BD_T_REF || tag->kind == BD_T_CONS))
				return p->u.pid;
		}
	return BD_PID_NONE;
}

/* gen_statem: the state name from #state{state_data = {State, Data}} on the stack. */
static const bd_term *statem_state(const bd_frame *fr, size_t nf)
{
	for (size_t i = 0; i < nf; i++) {
		if (!has_prefix(fr[i].mfa, "gen_statem:"))
			continue;
		for (uint32_t k = 0; k < fr[i].nslots; k++) {
			const bd_term *t = fr[i].slots[k].term;
			const bd_term *sd = bd_term_elem(t, 1);
			if (t && t->kind == BD_T_TUPLE && bd_term_is_atom(bd_term_elem(t, 0), "state") &&
			    sd && sd->kind == BD_T_TUPLE && sd->n == 2)
				return bd_term_elem(sd, 0);
		}
	}
	return NULL;
}

static void from_stack(an_ctx *c, const bd_proc *p, an_activity *a)
{
	bd_heap *h = an_heap(c, p);
	bd_frame *fr;
	size_t nf;
	bd_error err = {0};
	char m[200];
	if (!h || bd_heap_stack(h, &fr, &nf, &err) || !nf)
		return;
	a->stack = stack_text(c, fr, nf);
	a->user_frame = an_user_frame(c, p);
	size_t code_frames = 0;
	for (size_t i = 0; i < nf; i++)
		code_frames += fr[i].mfa && fr[i].mfa[0] != '<';
	a->frames = code_frames;
	for (size_t i = 0; i < nf; i++) {
		for (size_t k = 0; k < sizeof dispatchers / sizeof *dispatchers; k++) {
			if (!has_prefix(fr[i].mfa, dispatchers[k].pre))
				continue;
			a->behaviour = dispatchers[k].behaviour;
			if (i > 0) {
				frame_mfa(&fr[i - 1], m, sizeof m);
				a->callback = bd_arena_strdup(c->arena, m);
				a->serving = serving_from(fr, nf, i - 1);
			}
			/* An Elixir Agent runs the caller's function inside its handle_call. */
			if (i > 1 && has_prefix(fr[i - 1].mfa, "'Elixir.Agent.Server':")) {
				a->behaviour = "Agent";
				frame_mfa(&fr[i - 2], m, sizeof m);
				a->agent_fun = bd_arena_strdup(c->arena, m);
			}
			goto found;
		}
	}
	/* Outside any callback: the loop frames still say which behaviour it is. */
	for (size_t i = 0; i < nf; i++) {
		if (has_prefix(fr[i].mfa, "gen_server:"))
			a->behaviour = "gen_server";
		else if (has_prefix(fr[i].mfa, "gen_statem:"))
			a->behaviour = "gen_statem";
		else if (has_prefix(fr[i].mfa, "gen_event:"))
			a->behaviour = "gen_event";
		if (a->behaviour)
			break;
	}
found:
	if (a->behaviour && !strcmp(a->behaviour, "gen_statem"))
		a->state_name = statem_state(fr, nf);
	if (a->behaviour && !strcmp(a->behaviour, "gen_server") && p->spawned_as &&
	    has_prefix(an_initial_call(c, p), "'Elixir.Agent"))
		a->behaviour = "Agent";
}

void an_activity_of(an_ctx *c, const bd_proc *p, int deep, an_activity *a)
{
	memset(a, 0, sizeof *a);
	a->serving = BD_PID_NONE;
	a->where = p->pc_mfa;
	const char *pc = p->pc_mfa;
	switch (p->state) {
	case BD_PS_RUNNING:
	case BD_PS_SCHEDULED:
	case BD_PS_GARBING:
		a->kind = AN_ACT_WORKING;
		break;
	case BD_PS_EXITING:
	case BD_PS_NONEXISTING:
		a->kind = AN_ACT_EXITING;
		break;
	case BD_PS_SUSPENDED:
		a->kind = AN_ACT_SUSPENDED;
		if (!pc && p->current_call)
			a->where = p->current_call;
		break;
	case BD_PS_WAITING:
		if (any_prefix(pc, main_loops, sizeof main_loops / sizeof *main_loops) ||
		    loop_function(pc))
			a->kind = AN_ACT_IDLE;
		else if (any_prefix(pc, call_waits, sizeof call_waits / sizeof *call_waits))
			a->kind = AN_ACT_CALLING;
		else if (any_prefix(pc, sleeps, sizeof sleeps / sizeof *sleeps))
			a->kind = AN_ACT_SLEEPING;
		else if (any_prefix(pc, io_waits, sizeof io_waits / sizeof *io_waits))
			a->kind = AN_ACT_IO;
		else if (any_prefix(pc, file_waits, sizeof file_waits / sizeof *file_waits))
			a->kind = AN_ACT_FILE;
		else
			a->kind = AN_ACT_RECEIVING;
		break;
	default:
		a->kind = AN_ACT_UNKNOWN;
	}
	if (deep)
		from_stack(c, p, a);
	/* A plain process waiting in the only frame it has is in its own receive loop. */
	if (a->kind == AN_ACT_RECEIVING && deep && !a->behaviour && a->frames && a->frames <= 1)
		a->kind = AN_ACT_IDLE;
	/* A behaviour waiting outside its loop but not in a callback (init, a system
	 * message) is not doing the work of a request either: keep RECEIVING. */
}

int an_in_receive_loop(const bd_proc *p)
{
	return any_prefix(p->pc_mfa, main_loops, sizeof main_loops / sizeof *main_loops) ||
	       loop_function(p->pc_mfa);
}

int an_activity_blocked(const an_activity *a)
{
	return a->kind == AN_ACT_SLEEPING || a->kind == AN_ACT_RECEIVING || a->kind == AN_ACT_IO ||
	       a->kind == AN_ACT_SUSPENDED || a->kind == AN_ACT_CALLING;
}

uint64_t an_callers_each(an_ctx *c, const bd_proc *p,
			 void (*each)(an_ctx *c, const bd_proc *q, void *ud), void *ud)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < p->link_count && p->link_first + i < c->nlinks; i++) {
		const bd_link *l = &c->links[p->link_first + i];
		const bd_proc *q = l->kind == BD_MON_FROM && l->target_kind == BD_TGT_PID
			? bd_proc_by_pid(c->m, l->id) : NULL;
		an_activity a;
		if (!q)
			continue;
		an_activity_of(c, q, 0, &a);
		if (a.kind != AN_ACT_CALLING)
			continue;
		if (each)
			each(c, q, ud);
		n++;
	}
	return n;
}

/* Process table entries: a pointer and, from R16B (erts 5.10) on, a 32-bit free-list
 * slot; before that a pointer only. */
static uint64_t ptab_entry(an_ctx *c)
{
	const char *v = bd_model_node(c->m)->erts_version;
	int major = v ? atoi(v) : 0, minor = 0;
	const char *dot = v ? strchr(v, '.') : NULL;
	if (dot)
		minor = atoi(dot + 1);
	if (major && (major < 5 || (major == 5 && minor < 10)))
		return (uint64_t)c->word_size;
	return (uint64_t)c->word_size + 4;
}

uint64_t an_proc_limit(an_ctx *c, const char **basis)
{
	const bd_limits *lim = bd_model_limits(c->m);
	*basis = NULL;
	if (lim->procs_limit != BD_UNKNOWN && lim->procs_limit) {
		*basis = "known";
		return lim->procs_limit;
	}
	size_t na;
	const bd_area *ar = bd_model_areas(c->m, &na);
	uint64_t entry = ptab_entry(c);
	for (size_t i = 0; i < na; i++) {
		if (!ar[i].name || strcmp(ar[i].name, "process_table") != 0)
			continue;
		uint64_t bytes = an_val(ar[i].allocated);
		uint64_t limit = bytes / entry;
		if (!bytes || bytes % entry || limit < c->nprocs || limit > ((uint64_t)1 << 28))
			return 0;
		*basis = "process table size (=allocated_areas)";
		return limit;
	}
	return 0;
}
