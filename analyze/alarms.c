/* memory_alarm: the node raised a memory alarm, and what it blocks.
 *
 * Where alarms live in a dump (read from the managers' states on their stacks):
 * - OTP's alarm_handler (SASL): the handler alarm_handler keeps the list of set
 *   alarms [{Id, Description}] (os_mon's memsup sets system_memory_high_watermark
 *   and {process_memory_high_watermark, Pid} there).
 * - RabbitMQ's rabbit_alarm (a gen_event): its handler state #alarms{alertees,
 *   alarmed_nodes, alarms} maps each node to the resources in alarm ([memory],
 *   [disk]) and lists the processes told to conserve resources (the connection
 *   readers, {rabbit_reader, conserve_resources, []}).
 * - RabbitMQ's vm_memory_monitor: #state{total_memory, memory_limit,
 *   process_memory (3.8+), memory_config_limit, ..., alarmed, ...}: the memory the
 *   node uses as the monitor counts it (RSS by default), the limit and whether the
 *   alarm is raised.
 * Under a memory alarm RabbitMQ stops reading from every publishing connection:
 * each reader's #v1{} record has connection_state blocked (or blocking, until the
 * connection next publishes). Those are the blocked publishers. */
#include <stdio.h>
#include <string.h>

#include "an_int.h"

enum { WALK_DEPTH = 12, WALK_BUDGET = 200000, NAMED = 3 };

typedef struct alarm_scan {
	char alarms[400];       /* "{resource_limit,memory,'n@h'}, ..." */
	size_t alen;
	int memory;             /* a memory alarm is set */
	uint64_t nalarms;
	const bd_proc *manager; /* where the alarms were read */
	int from_otp_only;      /* only OTP's alarm_handler (os_mon) had memory alarms */
	bd_pid big_proc;        /* os_mon's process_memory_high_watermark: the process */
	bd_pid alertees[64];    /* readers told to conserve resources (first ones) */
	size_t nalertees;
	uint64_t alertees_total;
} alarm_scan;

static int atom_has(const bd_term *t, const char *s)
{
	if (!t || t->kind != BD_T_ATOM)
		return 0;
	size_t n = strlen(s);
	for (uint32_t i = 0; i + n <= t->n; i++)
		if (!memcmp(t->u.s + i, s, n))
			return 1;
	return 0;
}

/* Does the term mention memory (an atom containing "memory")? */
static int mentions_memory(const bd_term *t, int depth)
{
	if (!t || depth > WALK_DEPTH)
		return 0;
	if (t->kind == BD_T_ATOM)
		return atom_has(t, "memory");
	if (t->kind == BD_T_TUPLE || t->kind == BD_T_CONS || t->kind == BD_T_MAP) {
		uint32_t n = t->kind == BD_T_CONS ? 2 : t->kind == BD_T_MAP ? 2 * t->n : t->n;
		for (uint32_t i = 0; i < n && i < 64; i++)
			if (mentions_memory(t->u.elems[i], depth + 1))
				return 1;
	}
	return 0;
}

static void add_alarm(an_ctx *c, alarm_scan *s, const bd_term *id)
{
	char buf[160];
	(void)c;
	bd_term_fmt(id, buf, sizeof buf, 3, 4);
	an_cat(s->alarms, sizeof s->alarms, &s->alen, "%s%s", s->nalarms ? ", " : "", buf);
	s->nalarms++;
	s->memory |= mentions_memory(id, 0);
}

/* A list of {Id, Description}: the OTP alarm_handler's alarms, RabbitMQ's
 * #alarms.alarms. */
static void alarm_list(an_ctx *c, alarm_scan *s, const bd_term *l)
{
	const bd_term *items[32];
	int64_t n = bd_term_list(l, items, 32);
	for (int64_t i = 0; i < n && i < 32; i++) {
		if (items[i]->kind != BD_T_TUPLE || items[i]->n != 2)
			continue;
		const bd_term *id = bd_term_elem(items[i], 0), *desc = bd_term_elem(items[i], 1);
		add_alarm(c, s, id);
		if (bd_term_is_atom(id, "process_memory_high_watermark") && desc && desc->kind == BD_T_PID)
			s->big_proc = desc->u.pid;
	}
}

typedef void (*entry_fn)(void *ud, const bd_term *key, const bd_term *value);

/* dict/orddict entries [Key | Value] anywhere in t: fn(key, value). Lists are
 * walked in a loop (buckets can be long); *budget bounds the nodes visited. */
static void dict_entries(const bd_term *t, int depth, entry_fn fn, void *ud, uint64_t *budget)
{
	if (!t || depth > WALK_DEPTH)
		return;
	if (t->kind == BD_T_TUPLE) {
		for (uint32_t i = 0; i < t->n && *budget; i++, (*budget)--)
			dict_entries(t->u.elems[i], depth + 1, fn, ud, budget);
		return;
	}
	for (; t && t->kind == BD_T_CONS && *budget; t = t->u.elems[1], (*budget)--) {
		const bd_term *hd = t->u.elems[0];
		if (hd && hd->kind == BD_T_CONS) { /* an entry of a bucket */
			const bd_term *k = hd->u.elems[0];
			if (k && (k->kind == BD_T_ATOM || k->kind == BD_T_PID))
				fn(ud, k, hd->u.elems[1]);
		} else if (hd && hd->kind == BD_T_TUPLE) {
			dict_entries(hd, depth + 1, fn, ud, budget);
		}
	}
}

typedef struct nodes_ud {
	an_ctx *c;
	alarm_scan *s;
} nodes_ud;

/* alarmed_nodes: Node => [memory, disk]: one alarm per resource, written the way
 * RabbitMQ names it ({resource_limit, memory, Node}). */
static void alarmed_node(void *ud, const bd_term *k, const bd_term *v)
{
	nodes_ud *u = ud;
	const bd_term *res[4];
	if (k->kind != BD_T_ATOM || !atom_has(k, "@"))
		return;
	int64_t n = bd_term_list(v, res, 4);
	for (int64_t i = 0; i < n && i < 4; i++) {
		if (res[i]->kind != BD_T_ATOM)
			continue;
		char node[128], r[32];
		bd_term_fmt(k, node, sizeof node, 0, 0);
		bd_term_fmt(res[i], r, sizeof r, 0, 0);
		an_cat(u->s->alarms, sizeof u->s->alarms, &u->s->alen, "%s{resource_limit,%s,%s}",
		       u->s->nalarms ? ", " : "", r, node);
		u->s->nalarms++;
		u->s->memory |= atom_has(res[i], "memory");
	}
}

/* alertees: Pid => {Module, conserve_resources, Args}. */
static void alertee(void *ud, const bd_term *k, const bd_term *v)
{
	alarm_scan *s = ud;
	if (k->kind != BD_T_PID || !v || v->kind != BD_T_TUPLE || v->n != 3 ||
	    !bd_term_is_atom(bd_term_elem(v, 1), "conserve_resources"))
		return;
	s->alertees_total++;
	if (s->nalertees < sizeof s->alertees / sizeof *s->alertees)
		s->alertees[s->nalertees++] = k->u.pid;
}

/* The gen_event manager registered as name: each handler's state. */
static void from_manager(an_ctx *c, alarm_scan *s, const char *name)
{
	const bd_proc *p = bd_proc_find(c->m, name);
	bd_heap *h = p ? an_heap(c, p) : NULL;
	bd_gen_state gs;
	bd_error err = {0};
	if (!h || bd_gen_state_read(h, c->m, p, &gs, &err) || strcmp(gs.behaviour, "gen_event"))
		return;
	const bd_term *hs[16];
	int64_t n = bd_term_list(gs.state, hs, 16);
	if (n < 0 && gs.state && gs.state->kind == BD_T_TUPLE) { /* one handler being called */
		hs[0] = gs.state;
		n = 1;
	}
	uint64_t before = s->nalarms;
	for (int64_t i = 0; i < n && i < 16; i++) {
		const bd_term *hd = hs[i], *mod = bd_term_elem(hd, 1), *st = bd_term_elem(hd, 3);
		if (!bd_term_is_atom(bd_term_elem(hd, 0), "handler") || !st)
			continue;
		if (bd_term_is_atom(mod, "alarm_handler")) {
			alarm_list(c, s, st);
		} else if (bd_term_is_atom(bd_term_elem(st, 0), "alarms") && st->kind == BD_T_TUPLE &&
			   st->n >= 4) {
			nodes_ud u = {c, s};
			uint64_t budget = WALK_BUDGET;
			dict_entries(bd_term_elem(st, 2), 0, alarmed_node, &u, &budget);
			if (s->nalarms == before)
				alarm_list(c, s, bd_term_elem(st, st->n - 1));
			budget = WALK_BUDGET;
			dict_entries(bd_term_elem(st, 1), 0, alertee, s, &budget);
		}
	}
	if (s->nalarms > before && !s->manager)
		s->manager = p;
}

/* vm_memory_monitor's numbers. */
typedef struct monitor {
	const bd_proc *p;
	uint64_t total, limit, used;
	int alarmed;          /* -1 unknown */
	char config[96];
} monitor;

static uint64_t int_of(const bd_term *t)
{
	return t && t->kind == BD_T_INT && t->u.i >= 0 ? (uint64_t)t->u.i : BD_UNKNOWN;
}

static void read_monitor(an_ctx *c, monitor *mo)
{
	memset(mo, 0, sizeof *mo);
	mo->total = mo->limit = mo->used = BD_UNKNOWN;
	mo->alarmed = -1;
	mo->p = bd_proc_find(c->m, "vm_memory_monitor");
	bd_heap *h = mo->p ? an_heap(c, mo->p) : NULL;
	bd_gen_state gs;
	bd_error err = {0};
	if (!h || bd_gen_state_read(h, c->m, mo->p, &gs, &err))
		return;
	const bd_term *st = gs.state;
	if (!st || st->kind != BD_T_TUPLE || st->n < 8 || !bd_term_is_atom(bd_term_elem(st, 0), "state"))
		return;
	mo->total = int_of(bd_term_elem(st, 1));
	mo->limit = int_of(bd_term_elem(st, 2));
	mo->used = int_of(bd_term_elem(st, 3)); /* process_memory, 3.8 and later */
	for (uint32_t i = 3; i < st->n; i++) {
		const bd_term *e = bd_term_elem(st, i);
		if (e->kind == BD_T_TUPLE && !mo->config[0] && e->n == 2 &&
		    bd_term_elem(e, 0)->kind == BD_T_ATOM)
			bd_term_fmt(e, mo->config, sizeof mo->config, 2, 3);
		if (bd_term_is_atom(e, "true") || bd_term_is_atom(e, "false")) {
			mo->alarmed = bd_term_is_atom(e, "true");
			break;
		}
	}
}

/* A live capture's answer of the reader, [{state, S}], in its first frame. */
static const char *live_reader_state(const bd_frame *fr, size_t nf)
{
	for (uint32_t k = 0; nf && k < fr[0].nslots; k++) {
		const bd_term *t = fr[0].slots[k].term, *items[2];
		if (bd_term_list(t, items, 2) != 1 || !bd_term_is_atom(bd_term_elem(items[0], 0), "state"))
			continue;
		const bd_term *s = bd_term_elem(items[0], 1);
		return bd_term_is_atom(s, "blocked") ? "blocked" : bd_term_is_atom(s, "blocking") ? "blocking"
											 : "other";
	}
	return NULL;
}

/* A RabbitMQ reader's #v1{} record and its connection_state. */
static const char *reader_state(an_ctx *c, const bd_proc *p, const bd_term **v1)
{
	bd_heap *h = an_heap(c, p);
	bd_frame *fr;
	size_t nf;
	bd_error err = {0};
	*v1 = NULL;
	if (!h || bd_heap_stack(h, &fr, &nf, &err))
		return NULL;
	const char *live = !strcmp(bd_model_node(c->m)->source ? bd_model_node(c->m)->source : "", "live")
		? live_reader_state(fr, nf) : NULL;
	if (live)
		return live;
	for (size_t i = 0; i < nf && i < 4; i++)
		for (uint32_t k = 0; k < fr[i].nslots; k++) {
			const bd_term *t = fr[i].slots[k].term;
			if (!t || t->kind != BD_T_TUPLE || !bd_term_is_atom(bd_term_elem(t, 0), "v1"))
				continue;
			*v1 = t;
			for (uint32_t e = 1; e < t->n && e < 12; e++) {
				if (bd_term_is_atom(bd_term_elem(t, e), "blocked"))
					return "blocked";
				if (bd_term_is_atom(bd_term_elem(t, e), "blocking"))
					return "blocking";
			}
			return "other";
		}
	return NULL;
}

/* A connection's name: the name its client gave, else "peer -> listener". */
static const char *conn_name(an_ctx *c, const bd_proc *p, const bd_term *v1)
{
	char buf[160];
	bd_heap *h = an_heap(c, p);
	const bd_term *u = h ? bd_heap_dict_get(h, "connection_user_provided_name") : NULL;
	if (!u || u->kind != BD_T_BINARY) {
		u = NULL;
		for (uint32_t e = 1; v1 && e < v1->n && !u; e++) {
			const bd_term *t = bd_term_elem(v1, e);
			if (bd_term_is_atom(bd_term_elem(t, 0), "connection") &&
			    bd_term_elem(t, 1)->kind == BD_T_BINARY)
				u = bd_term_elem(t, 1);
		}
	}
	if (!u)
		return an_proc_label(c, p);
	/* The text of a printable name, as people read it (publisher-3). */
	size_t n = u->bin_kind == BD_BIN_HEAP && u->u.bin.data ? u->n : 0, k = 0;
	for (; k < n && k < sizeof buf - 1 && u->u.bin.data[k] >= 0x20 && u->u.bin.data[k] < 0x7f; k++)
		buf[k] = (char)u->u.bin.data[k];
	if (!n || k < n)
		bd_term_fmt(u, buf, sizeof buf, 2, 64);
	else
		buf[k] = 0;
	return bd_arena_printf(c->arena, "%s %s", buf, an_pid_str(c, p->pid));
}

/* The monitor measures the OS process (RSS by default): when that is far from
 * erlang:memory(total), say both, so the figures do not look contradictory. */
static const char *monitor_vs_vm(an_ctx *c, uint64_t used)
{
	uint64_t vm = an_val(bd_model_memory(c->m)->total);
	if (!vm || (used <= vm + vm / 5 && used + used / 5 >= vm))
		return "";
	return bd_arena_printf(c->arena, " (erlang:memory(total) is %s)", an_bytes(c, vm));
}

static void report(an_ctx *c, const alarm_scan *s, const monitor *mo)
{
	/* Readers told to conserve resources: which are blocked now. */
	uint64_t blocked = 0, blocking = 0;
	char names[400] = "";
	size_t nlen = 0;
	const bd_proc *reader_procs[64];
	size_t nreaders = 0;
	for (size_t i = 0; i < s->nalertees; i++) {
		const bd_proc *r = bd_proc_by_pid(c->m, s->alertees[i]);
		const bd_term *v1;
		const char *st = r ? reader_state(c, r, &v1) : NULL;
		if (!st || !strcmp(st, "other"))
			continue;
		if (!strcmp(st, "blocked"))
			blocked++;
		else
			blocking++;
		if (blocked + blocking <= NAMED)
			an_cat(names, sizeof names, &nlen, "%s%s", nlen ? ", " : "", conn_name(c, r, v1));
		reader_procs[nreaders++] = r;
	}
	/* os_mon alone (no broker): the host's memory is high; the node is not
	 * throttled by it. Context, not a warning. */
	int broker = mo->p || s->alertees_total || !s->from_otp_only;
	int crit = blocked > 0;
	bd_severity sev = crit ? BD_SEV_CRITICAL : broker ? BD_SEV_WARNING : BD_SEV_INFO;
	an_finding *f = an_new(c, BD_F_MEMORY_ALARM, sev, crit ? 76 : broker ? 60 : 6);
	if (!f)
		return;
	const bd_proc *subj = mo->p ? mo->p : s->manager;
	if (subj)
		an_subject_proc(c, f, subj);
	else
		an_subject_named(c, f, "node", bd_model_node(c->m)->node_name);
	if (s->nalarms) {
		an_ev_str(c, f, "alarms", "%s", s->alarms);
		an_ev_count(c, f, "alarms_set", s->nalarms);
	}
	if (s->manager)
		an_ev_str(c, f, "alarm_manager", "%s", an_proc_label(c, s->manager));
	/* The monitor counts the OS process (RSS by default), which can exceed
	 * erlang:memory(total): allocator carriers and fragmentation count too. */
	if (mo->used != BD_UNKNOWN)
		an_ev_bytes(c, f, "monitor_memory_bytes", mo->used);
	if (mo->limit != BD_UNKNOWN)
		an_ev_bytes(c, f, "memory_limit_bytes", mo->limit);
	if (mo->used != BD_UNKNOWN && mo->limit && mo->limit != BD_UNKNOWN) {
		an_ev_num(c, f, "limit_ratio", (double)mo->used / (double)mo->limit);
		if (mo->used > mo->limit)
			an_ev_bytes(c, f, "over_limit_bytes", mo->used - mo->limit);
	}
	if (mo->total != BD_UNKNOWN)
		an_ev_bytes(c, f, "system_memory_bytes", mo->total);
	if (mo->config[0])
		an_ev_str(c, f, "watermark", "%s", mo->config);
	if (mo->alarmed >= 0)
		an_ev_str(c, f, "monitor_alarmed", "%s", mo->alarmed ? "true" : "false");
	an_ev_bytes(c, f, "erlang_memory_bytes", bd_model_memory(c->m)->total);
	if (s->alertees_total)
		an_ev_count(c, f, "alertees", s->alertees_total);
	an_ev_count(c, f, "blocked_connections", blocked);
	if (blocking)
		an_ev_count(c, f, "blocking_connections", blocking);
	if (names[0])
		an_ev_str(c, f, "blocked", "%s", names);
	for (size_t i = 0; i < nreaders; i++)
		an_related(c, f, reader_procs[i], "blocked");
	const char *usage = mo->used != BD_UNKNOWN && mo->limit && mo->limit != BD_UNKNOWN
		? bd_arena_printf(c->arena, ": its memory monitor counts %s, over its high watermark "
				  "of %s%s%s%s", an_bytes(c, mo->used), an_bytes(c, mo->limit),
				  mo->config[0] ? " " : "", mo->config,
				  monitor_vs_vm(c, mo->used))
		: "";
	const char *who = blocked + blocking
		? bd_arena_printf(c->arena, "; %s publishing connection%s blocked%s%s",
				  an_count(c, blocked + blocking), blocked + blocking == 1 ? " is" : "s are",
				  names[0] ? ": " : "", names)
		: "";
	if (!broker) {
		const bd_proc *big = bd_pid_valid(s->big_proc) ? bd_proc_by_pid(c->m, s->big_proc) : NULL;
		if (big) {
			an_related(c, f, big, "largest");
			an_ev_str(c, f, "largest_process", "%s", an_proc_label(c, big));
			an_ev_bytes(c, f, "largest_process_bytes", big->memory);
		}
		an_title(c, f, "os_mon alarms set (%s): memory is above its high watermark%s; the node "
			 "itself uses %s", s->alarms,
			 big ? bd_arena_printf(c->arena, " (the largest process: %s)", an_proc_label(c, big)) : "",
			 an_bytes(c, an_val(bd_model_memory(c->m)->total)));
		an_advice(c, f, "memsup raises system_memory_high_watermark when the host's memory use "
			  "passes os_mon's system_memory_high_watermark (80 %% by default), and "
			  "process_memory_high_watermark when one process uses more than "
			  "process_memory_high_watermark of it (5 %% by default): see what else runs on the "
			  "host, or whether this node grows (memory_hog, ets and binary findings); a low "
			  "configured watermark raises them on a healthy host");
		return;
	}
	an_title(c, f, "Memory alarm set (%s)%s%s", s->nalarms ? s->alarms : "vm_memory_monitor",
		 usage, who);
	an_advice(c, f, "While the memory alarm is set the broker stops reading from every "
		  "publishing connection (flow control): free the memory (consume or purge the "
		  "queues that hold messages, set max-length or lazy queues), or raise "
		  "vm_memory_high_watermark if the host has room; publishers resume by themselves");
}

void an_alarms(an_ctx *c)
{
	alarm_scan s;
	memset(&s, 0, sizeof s);
	s.big_proc = BD_PID_NONE;
	/* Cheap test first: no alarm manager, nothing to read. */
	const bd_proc *rabbit = bd_proc_find(c->m, "rabbit_alarm");
	const bd_proc *otp = bd_proc_find(c->m, "alarm_handler");
	if (!rabbit && !otp)
		return;
	if (rabbit)
		from_manager(c, &s, "rabbit_alarm");
	int rabbit_memory = s.memory;
	if (otp)
		from_manager(c, &s, "alarm_handler");
	s.from_otp_only = s.memory && !rabbit_memory;
	monitor mo;
	int has_monitor = bd_proc_find(c->m, "vm_memory_monitor") != NULL;
	if (has_monitor || s.memory)
		read_monitor(c, &mo);
	else
		memset(&mo, 0, sizeof mo), mo.alarmed = -1;
	if (!s.memory && mo.alarmed != 1)
		return;
	if (!has_monitor) {
		mo.total = mo.limit = mo.used = BD_UNKNOWN;
		mo.p = NULL;
	}
	report(c, &s, &mo);
}
