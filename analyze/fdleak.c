/* fd_leak: one process holds most of the node's file descriptors (open files and
 * sockets) and never gives them back, until the OS refuses (emfile).
 *
 * What holds a descriptor, as the dump shows it:
 * - a raw file (file:open/2 with raw, and every file_io_server's own file): a
 *   prim_file efile NIF resource that monitors its owner ({from,{prim_file,efile},Ref}
 *   in the owner's link list);
 * - a file opened without raw: a file_io_server process (Waiting in
 *   file_io_server:server_loop/1) that monitors the process that opened it: counted
 *   for that process, not for the server;
 * - a port (sockets, pipes, spawned programs): counted for its connected process.
 * The OS limit (ulimit -n) is not in the dump; ports and files share it, and the port
 * table's own limit is set from it by default. A leak of sockets large enough to fill
 * the port table is port_limit's (which names the owner); this finding covers files,
 * and sockets below that limit. */
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

enum { HOLD_WARN = 500, HOLD_INFO = 200 };

static int has_prefix(const char *s, const char *p)
{
	return s && s[0] == p[0] && !strncmp(s, p, strlen(p));
}

static int is_io_server(const bd_proc *p)
{
	return has_prefix(p->pc_mfa, "file_io_server:");
}

/* The process a file_io_server serves: the one it monitors. */
static const bd_proc *io_server_owner(an_ctx *c, const bd_proc *p)
{
	for (uint32_t i = 0; i < p->link_count && p->link_first + i < c->nlinks; i++) {
		const bd_link *l = &c->links[p->link_first + i];
		if (l->kind == BD_MON_TO && l->target_kind == BD_TGT_PID)
			return bd_proc_by_pid(c->m, l->id);
	}
	return NULL;
}

/* Raw files p holds: efile resources monitoring it. */
static uint32_t raw_files(an_ctx *c, const bd_proc *p)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < p->link_count && p->link_first + i < c->nlinks; i++) {
		const bd_link *l = &c->links[p->link_first + i];
		n += l->kind == BD_MON_FROM && l->target_kind == BD_TGT_RESOURCE && l->name &&
		     strstr(l->name, "efile") != NULL;
	}
	return n;
}

typedef struct holdings {
	uint32_t *raw, *served, *ports;  /* per process row */
	uint64_t files_total, ports_total;
	const bd_proc *example_server;   /* of the top holder */
} holdings;

static int count(an_ctx *c, holdings *h)
{
	size_t np;
	const bd_port *pts = bd_model_ports(c->m, &np);
	h->raw = calloc(c->nprocs + 1, sizeof *h->raw);
	h->served = calloc(c->nprocs + 1, sizeof *h->served);
	h->ports = calloc(c->nprocs + 1, sizeof *h->ports);
	if (!h->raw || !h->served || !h->ports)
		return -1;
	for (size_t i = 0; i < c->nprocs; i++) {
		const bd_proc *p = &c->procs[i];
		uint32_t r = raw_files(c, p);
		if (is_io_server(p)) {
			/* its own raw file is the owner's open file */
			const bd_proc *o = io_server_owner(c, p);
			if (o) {
				h->served[o - c->procs]++;
				h->files_total++;
				continue;
			}
		}
		h->raw[i] += r;
		h->files_total += r;
	}
	for (size_t i = 0; i < np; i++) {
		const bd_proc *o = bd_pid_valid(pts[i].connected) ? bd_proc_by_pid(c->m, pts[i].connected) : NULL;
		if (o)
			h->ports[o - c->procs]++;
		h->ports_total++;
	}
	return 0;
}

/* The most common driver among the ports p owns. */
static const char *main_driver(an_ctx *c, const bd_proc *p, uint64_t *n)
{
	size_t np;
	const bd_port *pts = bd_model_ports(c->m, &np);
	const char *best = NULL;
	uint64_t bn = 0;
	*n = 0;
	/* two passes over a few candidates: the drivers of the first ports seen */
	const char *cand[4] = {0};
	size_t nc = 0;
	for (size_t i = 0; i < np && nc < 4; i++) {
		if (!bd_pid_eq(pts[i].connected, p->pid) || !pts[i].driver)
			continue;
		size_t k = 0;
		while (k < nc && strcmp(cand[k], pts[i].driver))
			k++;
		if (k == nc)
			cand[nc++] = pts[i].driver;
	}
	for (size_t k = 0; k < nc; k++) {
		uint64_t m = 0;
		for (size_t i = 0; i < np; i++)
			m += bd_pid_eq(pts[i].connected, p->pid) && pts[i].driver && !strcmp(pts[i].driver, cand[k]);
		if (m > bn)
			bn = m, best = cand[k];
	}
	*n = bn;
	return best;
}

static int port_limit_named(an_ctx *c, const bd_proc *p)
{
	for (size_t i = 0; i < c->nf; i++)
		if (c->f[i]->pub.kind == BD_F_PORT_LIMIT && c->f[i]->pub.severity >= BD_SEV_WARNING &&
		    c->f[i]->subj_proc == p)
			return 1;
	return 0;
}

static void report(an_ctx *c, holdings *h, size_t top)
{
	const bd_proc *p = &c->procs[top];
	uint64_t files = (uint64_t)h->raw[top] + h->served[top], ports = h->ports[top];
	uint64_t held = files + ports, total = h->files_total + h->ports_total;
	const char *sl = c->slogan.text ? c->slogan.text : "";
	int emfile = strstr(sl, "emfile") || strstr(sl, "enfile");
	bd_severity sev = held >= HOLD_WARN ? (emfile ? BD_SEV_CRITICAL : BD_SEV_WARNING) : BD_SEV_INFO;
	an_finding *f = an_new(c, BD_F_FD_LEAK, sev, sev == BD_SEV_CRITICAL ? 80 : sev ? 56 : 3);
	if (!f)
		return;
	an_subject_proc(c, f, p);
	an_ev_count(c, f, "descriptors", held);
	an_ev_count(c, f, "open_files", files);
	an_ev_count(c, f, "file_io_servers", h->served[top]);
	an_ev_count(c, f, "raw_files", h->raw[top]);
	an_ev_count(c, f, "ports", ports);
	uint64_t nd = 0;
	const char *drv = ports ? main_driver(c, p, &nd) : NULL;
	if (drv) {
		an_ev_str(c, f, "port_driver", "%.60s", drv);
		an_ev_count(c, f, "port_driver_count", nd);
	}
	an_ev_count(c, f, "node_descriptors", total);
	an_ev_pct(c, f, "share", total ? 100.0 * (double)held / (double)total : 0);
	if (emfile)
		an_ev_str(c, f, "system_limit", "in the slogan");
	/* an example file server, for `beamdump proc` */
	for (size_t i = 0; h->served[top] && i < c->nprocs; i++)
		if (is_io_server(&c->procs[i]) && io_server_owner(c, &c->procs[i]) == p) {
			an_related(c, f, &c->procs[i], "file_io_server");
			break;
		}
	const char *what;
	if (files && ports)
		what = bd_arena_printf(c->arena, "%s open files and %s ports", an_count(c, files),
				       an_count(c, ports));
	else if (files)
		what = bd_arena_printf(c->arena, "%s open files%s", an_count(c, files),
				       h->served[top] ? bd_arena_printf(c->arena, " (%s file_io_server processes)",
									an_count(c, h->served[top])) : "");
	else
		what = bd_arena_printf(c->arena, "%s ports%s%s%s", an_count(c, ports), drv ? " (" : "",
				       drv ? drv : "", drv ? ")" : "");
	an_title(c, f, "%s holds %s: %.1f %% of the node's file descriptors%s", an_proc_label(c, p), what,
		 an_shown_pct(held, total),
		 emfile ? ", and the node hit the limit" : "; the OS limit (ulimit -n, often 1024) "
		 "comes first: then every open and accept fails with emfile");
	an_advice(c, f, "Handles are opened and not closed: close each on every path (file:close/1 or "
		  "gen_tcp:close/1 in an after clause), or open it in a short-lived process that exits "
		  "when done (the VM closes what a dead owner held); read or write small files whole "
		  "(file:read_file/1, file:write_file/2). Raise ulimit -n only once nothing leaks");
}

void an_fdleak(an_ctx *c)
{
	holdings h = {0};
	if (!c->nprocs || count(c, &h))
		goto out;
	size_t top = 0;
	uint64_t best = 0;
	for (size_t i = 0; i < c->nprocs; i++) {
		uint64_t v = (uint64_t)h.raw[i] + h.served[i] + h.ports[i];
		if (v > best)
			best = v, top = i;
	}
	uint64_t total = h.files_total + h.ports_total;
	/* one holder with most of the node's descriptors; a socket flood that filled the
	 * port table is already port_limit's, with this owner named */
	if (best < HOLD_INFO || best * 2 < total || port_limit_named(c, &c->procs[top]))
		goto out;
	report(c, &h, top);
out:
	free(h.raw);
	free(h.served);
	free(h.ports);
}
