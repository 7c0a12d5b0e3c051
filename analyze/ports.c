/* busy_port: a port whose driver queue is full (BUSY_PORT in its task flags) and the
 * processes stuck behind it: the writer waiting for its send to be acknowledged
 * (prim_inet:send_recv_reply/2, the port in that frame's y-registers), processes
 * suspended in port_command on a busy port, and the callers of the writer.
 *
 * A port toggles busy many times a second when a fast producer streams to a slower
 * peer; that is flow control working. It is a warning only when a writer is blocked
 * on it and either the queue is large (>= 1 MB: far above any default high
 * watermark) or other processes hang behind it (callers of the writer, writers
 * suspended on the port). */
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

#define QUEUE_WARN ((uint64_t)1 << 20)
#define QUEUE_BIG ((uint64_t)8 << 20)
enum { MAX_PORT_FINDINGS = 3, NAMED = 4 };

/* Program counters of a process waiting for a port write to complete. */
static int sending(const bd_proc *p)
{
	static const char *const pres[] = {"prim_inet:send", "prim_inet:sendfile",
					   "erts_internal:port_command/", "erlang:port_command/",
					   "prim_socket:send", "socket:send"};
	for (size_t i = 0; p->pc_mfa && i < sizeof pres / sizeof *pres; i++)
		if (!strncmp(p->pc_mfa, pres[i], strlen(pres[i])))
			return 1;
	return 0;
}

static int suspended_in_port_command(const bd_proc *p)
{
	const char *cc = p->current_call ? p->current_call : p->pc_mfa;
	return p->state == BD_PS_SUSPENDED && cc &&
	       (strstr(cc, "port_command") != NULL || strstr(cc, "dist_ctrl") != NULL);
}

static int is_busy(const bd_port *pt)
{
	return pt->task_flags && strstr(pt->task_flags, "BUSY_PORT") != NULL;
}

/* Does frame 0 of p hold port id (the send it waits on)? */
static int waits_on(an_ctx *c, const bd_proc *p, bd_pid id)
{
	bd_heap *h = an_heap(c, p);
	bd_frame *fr;
	size_t nf;
	bd_error err = {0};
	if (!h || bd_heap_stack(h, &fr, &nf, &err) || !nf)
		return 0;
	for (size_t i = 0; i < nf && i < 2; i++)
		for (uint32_t k = 0; k < fr[i].nslots; k++) {
			const bd_term *t = fr[i].slots[k].term;
			if (t && t->kind == BD_T_PORT && bd_pid_eq(t->u.pid, id))
				return 1;
		}
	return 0;
}

/* Callers blocked in a synchronous call on a sender: the first NAMED named in names. */
typedef struct caller_note {
	an_finding *f;
	char *names;
	size_t cap, *len;
	uint64_t n;
} caller_note;

static void note_waiter(an_ctx *c, const bd_proc *q, void *ud)
{
	caller_note *w = ud;
	if (w->n++ < NAMED)
		an_cat(w->names, w->cap, w->len, "%s%s", *w->len ? ", " : "", an_proc_label(c, q));
	an_related(c, w->f, q, "waiting");
}

static uint64_t callers_of(an_ctx *c, an_finding *f, const bd_proc *p, char *names, size_t cap,
			   size_t *len)
{
	caller_note w = {f, names, cap, len, 0};
	return an_callers_each(c, p, note_waiter, &w);
}

typedef struct port_case {
	const bd_port *pt;
	const bd_proc *senders[8];
	size_t nsenders;
	uint64_t suspended;      /* processes suspended in port_command (all of them) */
	int suspended_here;      /* attributable to this port (the only busy one) */
} port_case;

/* The node's standard I/O: an fd port ("0/1", "2/2") or the terminal driver. */
static int stdio_port(const bd_port *pt)
{
	const char *d = pt->name ? pt->name : pt->driver;
	if (!d)
		return 0;
	if (!strncmp(d, "tty_sl", 6))
		return 1;
	size_t i = 0;
	while (d[i] >= '0' && d[i] <= '9')
		i++;
	if (!i || d[i++] != '/')
		return 0;
	size_t j = i;
	while (d[j] >= '0' && d[j] <= '9')
		j++;
	return j > i && !d[j];
}

static void report(an_ctx *c, port_case *pc, const bd_proc *const *susp, size_t nsusp)
{
	const bd_port *pt = pc->pt;
	uint64_t q = an_val(pt->queue);
	int suspended = pc->suspended_here && nsusp;
	uint64_t behind = 0;
	for (size_t i = 0; i < pc->nsenders; i++)
		behind += an_callers_each(c, pc->senders[i], NULL, NULL);
	/* A busy port with a writer waiting is flow control at work, unless the queue
	 * is far beyond any default watermark or others hang behind the writer. */
	int blocked = pc->nsenders || suspended;
	int harm = q >= QUEUE_WARN || behind || suspended;
	bd_severity sev = is_busy(pt) && blocked && harm ? BD_SEV_WARNING : BD_SEV_INFO;
	an_finding *f = an_new(c, BD_F_BUSY_PORT, sev, sev == BD_SEV_WARNING ? 58 : 5);
	if (!f)
		return;
	char port[48], names[400] = "";
	size_t nlen = 0;
	bd_port_fmt(pt->id, port, sizeof port);
	an_subject_named(c, f, "port", pt->name ? pt->name : pt->driver ? pt->driver : port);
	f->pub.subject.pid = pt->id;
	const bd_proc *owner = bd_proc_by_pid(c->m, pt->connected);
	an_ev_str(c, f, "port", "%s", port);
	if (pt->driver)
		an_ev_str(c, f, "driver", "%.120s", pt->driver);
	an_ev_bytes(c, f, "queue_bytes", pt->queue);
	an_ev_bytes(c, f, "output_bytes", pt->output);
	an_ev_bytes(c, f, "input_bytes", pt->input);
	if (pt->task_flags)
		an_ev_str(c, f, "task_flags", "%s", pt->task_flags);
	if (pt->port_data)
		an_ev_str(c, f, "port_data", "%.80s", pt->port_data);
	uint64_t total = an_val(bd_model_memory(c->m)->total);
	/* Each send of a binary queues a reference to it, not a copy: a queue that sent
	 * the same binaries many times counts more bytes than the node has. */
	if (total && q && q <= total)
		an_ev_pct(c, f, "share_of_memory", 100.0 * (double)q / (double)total);
	else if (total && q)
		an_ev_str(c, f, "note", "the queue counts %s, more than the node's %s: it refers "
			  "to the same binaries more than once", an_bytes(c, q), an_bytes(c, total));
	if (owner)
		an_ev_str(c, f, "connected", "%s", an_proc_label(c, owner));
	/* The writers and who waits on them. */
	uint64_t waiters = 0;
	const char *sender_text = "";
	for (size_t i = 0; i < pc->nsenders; i++) {
		const bd_proc *s = pc->senders[i];
		an_related(c, f, s, "sender");
		waiters += callers_of(c, f, s, names, sizeof names, &nlen);
		if (i == 0) {
			an_activity a;
			an_activity_of(c, s, 1, &a);
			an_ev_str(c, f, "sender", "%s", an_proc_label(c, s));
			an_ev_str(c, f, "sender_function", "%s", s->pc_mfa ? s->pc_mfa : "?");
			if (a.callback)
				an_ev_str(c, f, "sender_callback", "%s", a.callback);
			sender_text = bd_arena_printf(c->arena, "; %s is blocked sending (%s%s%s)",
						      an_proc_label(c, s), s->pc_mfa ? s->pc_mfa : "?",
						      a.callback ? " inside " : "",
						      a.callback ? a.callback : "");
		}
	}
	an_ev_count(c, f, "blocked_senders", pc->nsenders);
	if (waiters) {
		an_ev_count(c, f, "waiters", waiters);
		an_ev_str(c, f, "waiting", "%s", names);
	}
	uint64_t susp_n = pc->suspended_here ? nsusp : 0;
	for (size_t i = 0; i < susp_n && i < NAMED; i++)
		an_related(c, f, susp[i], "suspended");
	if (susp_n)
		an_ev_count(c, f, "suspended_writers", susp_n);
	an_title(c, f, "Port %s (%s%s%s) is %s with %s queued%s%s%s%s", port,
		 pt->driver ? pt->driver : "?", owner ? ", owner " : "",
		 owner ? an_proc_label(c, owner) : "", is_busy(pt) ? "busy" : "not draining",
		 an_bytes(c, q), sender_text,
		 waiters ? bd_arena_printf(c->arena, ", %s caller%s wait%s on it", an_count(c, waiters),
					   waiters == 1 ? "" : "s", waiters == 1 ? "s" : "")
			 : "",
		 susp_n ? bd_arena_printf(c->arena, "; %s process%s suspended writing to the port",
					  an_count(c, susp_n), susp_n == 1 ? "" : "es")
			: "",
		 "");
	if (stdio_port(pt)) {
		an_advice(c, f, "This is the node's standard output (or error): the terminal, pipe or "
			  "file behind it takes the bytes slower than the node prints them (a slow "
			  "terminal, a pipe nobody reads, a stalled log collector), and every process "
			  "printing blocks. Find what prints so much (a logger handler on standard_io, "
			  "io:format in a loop), read the pipe, or log to a file");
		return;
	}
	an_advice(c, f, "The peer does not read (or reads slower than %s writes): every writer blocks "
		  "until the queue drains. Set {send_timeout, T} and {send_timeout_close, true} on the "
		  "socket so a stalled peer is dropped, write from a process that nobody calls "
		  "synchronously, and bound what is queued (high_watermark, drop or shed load)",
		  owner && owner->name ? owner->name : "the node");
}

static int cmp_queue(const void *a, const void *b)
{
	const port_case *x = a, *y = b;
	uint64_t u = an_val(x->pt->queue), v = an_val(y->pt->queue);
	return u < v ? 1 : u > v ? -1 : 0;
}

void an_ports(an_ctx *c)
{
	size_t np;
	const bd_port *pts = bd_model_ports(c->m, &np);
	port_case cases[16];
	size_t nc = 0, nbusy = 0;
	for (size_t i = 0; i < np && nc < 16; i++) {
		uint64_t q = an_val(pts[i].queue);
		if ((!is_busy(&pts[i]) && q < QUEUE_BIG) ||
		    (pts[i].state && strstr(pts[i].state, "DISTR"))) /* busy_dist_port's */
			continue;
		memset(&cases[nc], 0, sizeof cases[nc]);
		cases[nc++].pt = &pts[i];
		nbusy += is_busy(&pts[i]);
	}
	if (!nc)
		return;
	const bd_proc **susp = malloc((c->nprocs + 1) * sizeof *susp);
	if (!susp)
		return;
	size_t nsusp = 0;
	for (size_t i = 0; i < c->nprocs; i++) {
		const bd_proc *p = &c->procs[i];
		if (suspended_in_port_command(p))
			susp[nsusp++] = p;
		else if (p->state == BD_PS_WAITING && sending(p))
			for (size_t k = 0; k < nc; k++)
				if (cases[k].nsenders < 8 && waits_on(c, p, cases[k].pt->id)) {
					cases[k].senders[cases[k].nsenders++] = p;
					break;
				}
	}
	qsort(cases, nc, sizeof *cases, cmp_queue);
	for (size_t k = 0; k < nc && k < MAX_PORT_FINDINGS; k++) {
		/* A suspended writer's port is not in the dump; with one busy port it is
		 * that one. */
		cases[k].suspended_here = nbusy == 1 && is_busy(cases[k].pt);
		report(c, &cases[k], susp, nsusp);
	}
	free(susp);
}
