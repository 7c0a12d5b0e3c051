/* busy_dist_port: the connection to another node is full, and every process that
 * sends to that node is suspended until it drains.
 *
 * A distribution connection's controller is a port (tcp_inet with DISTR in its
 * state) named by the node's =visible_node/=hidden_node section. When the data
 * buffered for it passes the busy limit (+zdbbl, 1 MB by default) the port is busy
 * (BUSY_PORT) and a process sending to the node is suspended (State: Suspended,
 * in erts_internal:dsend_continue_trap/1 or erlang:bif_return_trap/2) until it
 * drains: a remote node that does not read (paused, overloaded, a stalled link)
 * stops every sender on this one, and their callers behind them.
 *
 * A sender belongs to a node when its top frames hold that node's name or one of
 * its pids (exact); with one busy connection, the other suspended senders are
 * counted for it (estimated: the dump does not say which entry suspended them). */
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

enum { NAMED = 4, CRIT_BLOCKED = 50, MAX_CASES = 8, MAX_DECODED = 256 };

static int is_busy(const bd_port *pt)
{
	return pt->task_flags && strstr(pt->task_flags, "BUSY_PORT") != NULL;
}

static int is_dist(const bd_port *pt)
{
	return pt->state && strstr(pt->state, "DISTR") != NULL;
}

/* Suspended in a send to another node (the traps a distributed send leaves). */
static int suspended_in_dsend(const bd_proc *p)
{
	static const char *const fns[] = {"erts_internal:dsend_continue_trap/", "erlang:bif_return_trap/",
					  "erlang:send/", "erlang:'!'/", "erlang:send_nosuspend/",
					  "erts_internal:dist_ctrl"};
	const char *cc[2] = {p->current_call, p->pc_mfa};
	if (p->state != BD_PS_SUSPENDED)
		return 0;
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; cc[k] && i < sizeof fns / sizeof *fns; i++)
			if (!strncmp(cc[k], fns[i], strlen(fns[i])))
				return 1;
	return 0;
}

/* The node name without quotes, into buf. */
static const char *bare(const char *name, char *buf, size_t cap)
{
	size_t n = name ? strlen(name) : 0;
	if (n >= 2 && name[0] == '\'' && name[n - 1] == '\'')
		snprintf(buf, cap, "%.*s", (int)(n - 2), name + 1);
	else
		snprintf(buf, cap, "%s", name ? name : "");
	return buf;
}

typedef struct dcase {
	const bd_port *pt;
	const bd_dist *d;   /* the connection it controls, NULL if not listed */
	char node[256];     /* bare node name */
	const bd_proc **senders;
	size_t nsenders, exact;
} dcase;

/* Does a term in p's top frames name the case's node (its atom, or a pid or port
 * on its channel)? */
static int names_node(an_ctx *c, const bd_proc *p, const dcase *dc)
{
	bd_heap *h = an_heap(c, p);
	bd_frame *fr;
	size_t nf;
	bd_error err = {0};
	size_t nlen = strlen(dc->node);
	if (!h || bd_heap_stack(h, &fr, &nf, &err) || !nf)
		return 0;
	for (size_t i = 0; i < nf && i < 3; i++)
		for (uint32_t k = 0; k < fr[i].nslots; k++) {
			const bd_term *t = fr[i].slots[k].term;
			if (!t)
				continue;
			if (t->kind == BD_T_ATOM && nlen && t->n == nlen && !memcmp(t->u.s, dc->node, nlen))
				return 1;
			if ((t->kind == BD_T_PID || t->kind == BD_T_PORT) && dc->d && t->u.pid.node &&
			    t->u.pid.node == dc->d->channel)
				return 1;
		}
	return 0;
}

/* The function that sent: the first frame below the send's traps. */
static const char *send_site(an_ctx *c, const bd_proc *p)
{
	bd_heap *h = an_heap(c, p);
	bd_frame *fr;
	size_t nf;
	bd_error err = {0};
	char buf[256];
	if (!h || bd_heap_stack(h, &fr, &nf, &err))
		return NULL;
	for (size_t i = 0; i < nf && i < 4; i++) {
		const char *m = fr[i].mfa ? an_mfa_of(fr[i].mfa, buf, sizeof buf) : NULL;
		if (m && *m != '<' && strncmp(m, "erlang:", 7) && strncmp(m, "erts_internal:", 14) &&
		    strncmp(m, "unknown", 7))
			return bd_arena_strdup(c->arena, m);
	}
	return NULL;
}

/* A caller of a sender: the first NAMED of all senders' callers are related. */
typedef struct caller_note {
	an_finding *f;
	uint64_t *named;
} caller_note;

static void note_waiter(an_ctx *c, const bd_proc *q, void *ud)
{
	caller_note *w = ud;
	if ((*w->named)++ < NAMED)
		an_related(c, w->f, q, "waiting");
}

/* Processes in a synchronous call on p (they monitor it and wait in gen). */
static uint64_t callers_of(an_ctx *c, an_finding *f, const bd_proc *p, uint64_t *named)
{
	caller_note w = {f, named};
	return an_callers_each(c, p, note_waiter, &w);
}

static void report(an_ctx *c, dcase *dc, size_t ncases)
{
	const bd_port *pt = dc->pt;
	uint64_t callers = 0, named = 0;
	an_finding *f;
	if (!dc->nsenders) {
		f = an_new(c, BD_F_BUSY_DIST_PORT, BD_SEV_INFO, 5);
	} else {
		/* count the callers first: they decide the severity */
		for (size_t i = 0; i < dc->nsenders; i++)
			for (uint32_t k = 0; k < dc->senders[i]->link_count; k++) {
				const bd_link *l = &c->links[dc->senders[i]->link_first + k];
				callers += l->kind == BD_MON_FROM && l->target_kind == BD_TGT_PID;
			}
		int crit = dc->nsenders + callers >= CRIT_BLOCKED;
		f = an_new(c, BD_F_BUSY_DIST_PORT, crit ? BD_SEV_CRITICAL : BD_SEV_WARNING, crit ? 70 : 60);
		callers = 0;
	}
	if (!f)
		return;
	char port[48];
	bd_port_fmt(pt->id, port, sizeof port);
	const char *node = dc->node[0] ? dc->node : "an unknown node";
	an_subject_named(c, f, "node", node);
	an_ev_str(c, f, "remote_node", "%s", node);
	if (dc->d)
		an_ev_str(c, f, "connection", "%s",
			  dc->d->kind == BD_DIST_HIDDEN ? "hidden" : "visible");
	an_ev_str(c, f, "port", "%s", port);
	if (pt->driver)
		an_ev_str(c, f, "driver", "%.60s", pt->driver);
	an_ev_bytes(c, f, "queue_bytes", pt->queue);
	if (pt->task_flags)
		an_ev_str(c, f, "task_flags", "%s", pt->task_flags);
	for (size_t i = 0; i < dc->nsenders; i++) {
		if (i < NAMED)
			an_related(c, f, dc->senders[i], "suspended sender");
		callers += callers_of(c, f, dc->senders[i], &named);
	}
	an_ev_count(c, f, "suspended_senders", dc->nsenders);
	an_ev_count(c, f, "senders_naming_node", dc->exact);
	an_ev_count(c, f, "callers_waiting", callers);
	char names[400] = "";
	size_t len = 0;
	for (size_t i = 0; i < dc->nsenders && i < 3; i++)
		an_cat(names, sizeof names, &len, "%s%s", i ? ", " : "", an_proc_label(c, dc->senders[i]));
	if (dc->nsenders > 3)
		an_cat(names, sizeof names, &len, ", ...");
	if (dc->nsenders) {
		an_ev_str(c, f, "senders", "%s", names);
		const char *where = send_site(c, dc->senders[0]);
		if (where)
			an_ev_str(c, f, "sender_function", "%s", where);
	}
	if (ncases > 1 && dc->exact < dc->nsenders)
		an_detail(c, f, "%zu busy connections: senders that name none of them are not counted",
			  ncases);
	if (!dc->nsenders)
		an_title(c, f, "The connection to %s (port %s) is busy with %s queued; nobody is "
			 "suspended sending to it", node, port, an_bytes(c, an_val(pt->queue)));
	else
		an_title(c, f, "The connection to %s is busy (port %s, %s queued): %s process%s "
			 "suspended sending to it (%s)%s", node, port, an_bytes(c, an_val(pt->queue)),
			 an_count(c, dc->nsenders), dc->nsenders == 1 ? " is" : "es are", names,
			 callers ? bd_arena_printf(c->arena, "; %s caller%s wait%s on them",
						   an_count(c, callers), callers == 1 ? "" : "s",
						   callers == 1 ? "s" : "")
				 : "");
	an_advice(c, f, "%s does not read what this node sends (paused, overloaded, swapped out, or "
		  "a slow link), so every process sending to it stops. Look at that node first (its own "
		  "dump, its run queues and memory); a dead peer is dropped after net_ticktime. On this "
		  "side: send bulk data over its own connection rather than the distribution link, use "
		  "erlang:send(Dest, Msg, [nosuspend]) for best-effort messages, keep senders out of "
		  "synchronous call paths, and raise +zdbbl only when the link is just slower than "
		  "bursts", node);
}

static int otp_prefix(const char *s)
{
	static const char *const pres[] = {"global", "net_kernel", "pg", "rpc", "erpc", "erts_",
					   "dist_util", "inet_tcp_dist", "logger", "auth"};
	for (size_t i = 0; s && i < sizeof pres / sizeof *pres; i++)
		if (!strncmp(s, pres[i], strlen(pres[i])))
			return 1;
	return 0;
}

/* OTP's own senders (global's name server and its helpers, net_kernel...). */
static int otp_sender(const an_ctx *c, const bd_proc *p)
{
	if (otp_prefix(p->spawned_as) || otp_prefix(p->name))
		return 1;
	for (uint32_t i = 0; i < p->link_count && p->link_first + i < c->nlinks; i++) {
		const bd_link *l = &c->links[p->link_first + i];
		const bd_proc *q = l->kind == BD_LINK && l->target_kind == BD_TGT_PID
			? bd_proc_by_pid(c->m, l->id) : NULL;
		if (q && q->name && otp_prefix(q->name))
			return 1;
	}
	return 0;
}

/* The application's senders first, OTP's after them, each in table order. */
static void app_senders_first(const an_ctx *c, dcase *dc)
{
	size_t w = 0;
	for (size_t i = 0; i < dc->nsenders; i++)
		if (!otp_sender(c, dc->senders[i])) {
			const bd_proc *p = dc->senders[i];
			memmove(&dc->senders[w + 1], &dc->senders[w], (i - w) * sizeof *dc->senders);
			dc->senders[w++] = p;
		}
}

void an_dist(an_ctx *c)
{
	size_t np, nd;
	const bd_port *pts = bd_model_ports(c->m, &np);
	const bd_dist *ds = bd_model_dists(c->m, &nd);
	dcase cases[MAX_CASES];
	size_t nc = 0;
	for (size_t i = 0; i < np && nc < MAX_CASES; i++) {
		if (!is_dist(&pts[i]) || !is_busy(&pts[i]))
			continue;
		dcase *dc = &cases[nc++];
		memset(dc, 0, sizeof *dc);
		dc->pt = &pts[i];
		char port[48];
		bd_port_fmt(pts[i].id, port, sizeof port);
		for (size_t k = 0; k < nd; k++)
			if (ds[k].controller && !strcmp(ds[k].controller, port)) {
				dc->d = &ds[k];
				bare(ds[k].name, dc->node, sizeof dc->node);
				break;
			}
	}
	if (!nc)
		return;
	for (size_t k = 0; k < nc; k++) {
		cases[k].senders = malloc((c->nprocs + 1) * sizeof *cases[k].senders);
		if (!cases[k].senders) {
			for (size_t j = 0; j < k; j++)
				free(cases[j].senders);
			return;
		}
	}
	size_t decoded = 0;
	for (size_t i = 0; i < c->nprocs; i++) {
		const bd_proc *p = &c->procs[i];
		if (!suspended_in_dsend(p))
			continue;
		/* Reading stacks is bounded: past that, only a single busy connection
		 * takes the rest. */
		size_t k = 0;
		if (decoded++ < MAX_DECODED)
			while (k < nc && !names_node(c, p, &cases[k]))
				k++;
		else
			k = nc;
		if (k < nc) {
			cases[k].senders[cases[k].nsenders++] = p;
			cases[k].exact++;
		} else if (nc == 1) {
			cases[0].senders[cases[0].nsenders++] = p;
		}
	}
	for (size_t k = 0; k < nc; k++) {
		app_senders_first(c, &cases[k]);
		report(c, &cases[k], nc);
		free(cases[k].senders);
	}
}
