/* The finding builder: typed evidence, subjects, and helpers over processes that
 * several analyses share (labels, open heaps, user frames). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "an_int.h"

/* ---- names ---- */
static const char *const kind_names[] = {
#define BD_X(e, s) s,
	BD_FINDING_KINDS(BD_X)
#undef BD_X
};

const char *bd_finding_kind_name(bd_finding_kind k)
{
	return (unsigned)k < BD_F__COUNT ? kind_names[k] : "unknown";
}

int bd_finding_kind_parse(const char *name)
{
	for (int i = 0; i < BD_F__COUNT; i++)
		if (name && !strcmp(name, kind_names[i]))
			return i;
	return -1;
}

const char *bd_severity_name(bd_severity s)
{
	static const char *const names[] = {"info", "warning", "critical"};
	return (unsigned)s <= BD_SEV_CRITICAL ? names[s] : "info";
}

/* ---- findings ---- */
an_finding *an_new(an_ctx *c, bd_finding_kind k, bd_severity s, double score)
{
	if (c->nf == c->capf) {
		size_t cap = c->capf ? 2 * c->capf : 32;
		an_finding **g = realloc(c->f, cap * sizeof *g);
		if (!g) {
			c->oom = 1;
			return NULL;
		}
		c->f = g;
		c->capf = cap;
	}
	an_finding *f = bd_arena_alloc(c->arena, sizeof *f);
	if (!f) {
		c->oom = 1;
		return NULL;
	}
	f->pub.kind = k;
	f->pub.severity = s;
	f->pub.score = score;
	f->pub.subject.pid = BD_PID_NONE;
	f->pub.evidence = f->ev;
	f->pub.related = f->rel;
	f->pub.details = f->det;
	f->seq = c->nf;
	c->f[c->nf++] = f;
	return f;
}

void an_title(an_ctx *c, an_finding *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	f->pub.title = bd_arena_vprintf(c->arena, fmt, ap);
	va_end(ap);
}

void an_advice(an_ctx *c, an_finding *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	f->pub.advice = bd_arena_vprintf(c->arena, fmt, ap);
	va_end(ap);
}

void an_detail(an_ctx *c, an_finding *f, const char *fmt, ...)
{
	if (f->pub.ndetails >= AN_MAX_DET)
		return;
	va_list ap;
	va_start(ap, fmt);
	f->det[f->pub.ndetails++] = bd_arena_vprintf(c->arena, fmt, ap);
	va_end(ap);
}

bd_evidence *an_ev_find(an_finding *f, const char *key)
{
	for (uint32_t i = 0; i < f->pub.nevidence; i++)
		if (!strcmp(f->ev[i].key, key))
			return &f->ev[i];
	return NULL;
}

/* A slot for key: the existing one (evidence keys are unique) or a new one. */
static bd_evidence *ev_slot(an_finding *f, const char *key, bd_ev_type t)
{
	bd_evidence *e = an_ev_find(f, key);
	if (!e) {
		if (f->pub.nevidence >= AN_MAX_EV)
			return NULL;
		e = &f->ev[f->pub.nevidence++];
		e->key = key; /* keys are string literals */
	}
	e->type = t;
	return e;
}

void an_ev_count(an_ctx *c, an_finding *f, const char *key, uint64_t v)
{
	(void)c;
	bd_evidence *e = v == BD_UNKNOWN ? NULL : ev_slot(f, key, BD_EV_COUNT);
	if (e)
		e->v.u = v;
}

void an_ev_bytes(an_ctx *c, an_finding *f, const char *key, uint64_t v)
{
	(void)c;
	/* A wrapped size (a negative number printed unsigned) is unknown, not a number. */
	bd_evidence *e = v >= AN_WRAPPED ? NULL : ev_slot(f, key, BD_EV_BYTES);
	if (e)
		e->v.u = v;
}

void an_ev_pct(an_ctx *c, an_finding *f, const char *key, double v)
{
	(void)c;
	bd_evidence *e = v != v ? NULL : ev_slot(f, key, BD_EV_PERCENT);
	if (e)
		e->v.d = v;
}

void an_ev_num(an_ctx *c, an_finding *f, const char *key, double v)
{
	(void)c;
	bd_evidence *e = v != v ? NULL : ev_slot(f, key, BD_EV_NUMBER);
	if (e)
		e->v.d = v;
}

void an_ev_str(an_ctx *c, an_finding *f, const char *key, const char *fmt, ...)
{
	bd_evidence *e = ev_slot(f, key, BD_EV_TEXT);
	if (!e)
		return;
	va_list ap;
	va_start(ap, fmt);
	e->v.s = bd_arena_vprintf(c->arena, fmt, ap);
	va_end(ap);
}

static void fill_proc(an_ctx *c, bd_subject *s, const bd_proc *p)
{
	char buf[160];
	s->type = "process";
	s->pid = p->pid;
	s->name = p->name;
	s->initial_call = p->spawned_as;
	s->current_function = p->pc_mfa ? p->pc_mfa : p->pc;
	if (!s->current_function && p->current_call)
		s->current_function =
			bd_arena_strdup(c->arena, an_mfa_of(p->current_call, buf, sizeof buf));
}

void an_subject_proc(an_ctx *c, an_finding *f, const bd_proc *p)
{
	if (!p)
		return;
	memset(&f->pub.subject, 0, sizeof f->pub.subject);
	fill_proc(c, &f->pub.subject, p);
	f->subj_proc = p;
}

void an_subject_named(an_ctx *c, an_finding *f, const char *type, const char *name)
{
	memset(&f->pub.subject, 0, sizeof f->pub.subject);
	f->pub.subject.type = type;
	f->pub.subject.pid = BD_PID_NONE;
	f->pub.subject.name = bd_arena_strdup(c->arena, name);
	f->subj_proc = NULL;
}

bd_subject *an_related(an_ctx *c, an_finding *f, const bd_proc *p, const char *role)
{
	if (!p || f->pub.nrelated >= AN_MAX_REL)
		return NULL;
	for (uint32_t i = 0; i < f->pub.nrelated; i++)
		if (f->rel_proc[i] == p)
			return &f->rel[i];
	bd_subject *s = &f->rel[f->pub.nrelated];
	f->rel_proc[f->pub.nrelated++] = p;
	fill_proc(c, s, p);
	s->role = role;
	return s;
}

void an_cat(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	if (*len + 1 >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n;
}

double an_shown_pct(uint64_t part, uint64_t whole)
{
	double v = whole ? 100.0 * (double)part / (double)whole : 0;
	if (part < whole && v > 99.9)
		return 99.9;
	if (part && v < 0.1)
		return 0.1;
	return v;
}

/* ---- helpers ---- */
static int heaps_grow(an_ctx *c)
{
	if (c->nheaps < c->capheaps)
		return 0;
	size_t cap = c->capheaps ? 2 * c->capheaps : 32;
	an_heap_slot *g = realloc(c->heaps, cap * sizeof *g);
	if (!g)
		return -1;
	c->heaps = g;
	c->capheaps = cap;
	return 0;
}

void an_heap_adopt(an_ctx *c, const bd_proc *p, bd_heap *h)
{
	if (heaps_grow(c)) {
		bd_heap_free(h); /* cannot keep it: callers get NULL from an_heap */
		return;
	}
	c->heaps[c->nheaps].p = p;
	c->heaps[c->nheaps++].h = h;
	c->opened++;
}

bd_heap *an_heap(an_ctx *c, const bd_proc *p)
{
	for (size_t i = 0; i < c->nheaps; i++)
		if (c->heaps[i].p == p)
			return c->heaps[i].h;
	/* Heaps stay open until the run ends: callers hold terms from several heaps at
	 * once (ancestors of one process while labelling another). Only candidates and
	 * subjects are opened, so the list stays short. */
	if (heaps_grow(c))
		return NULL;
	bd_heap *h = NULL;
	bd_error err = {0};
	if (bd_heap_open(&h, c->m, p, &err))
		h = NULL;
	c->opened++;
	c->heaps[c->nheaps].p = p;
	c->heaps[c->nheaps++].h = h;
	return h;
}

uint64_t an_val(uint64_t v) { return v == BD_UNKNOWN ? 0 : v; }

uint64_t an_words(const an_ctx *c, uint64_t words)
{
	return an_val(words) * (uint64_t)c->word_size;
}

const char *an_pid_str(an_ctx *c, bd_pid pid)
{
	char b[48];
	return bd_arena_strdup(c->arena, bd_pid_fmt(pid, b, sizeof b));
}

const char *an_proc_name(an_ctx *c, const bd_proc *p, bd_pname_source *src)
{
	char b[160];
	bd_pname_source s = bd_proc_name(c->m, p, p->sec_dictionary.len ? an_heap(c, p) : NULL, b,
					 sizeof b);
	if (src)
		*src = s;
	return bd_arena_strdup(c->arena, b);
}

const char *an_proc_label(an_ctx *c, const bd_proc *p)
{
	char b[48];
	bd_pname_source src;
	bd_pid_fmt(p->pid, b, sizeof b);
	const char *name = an_proc_name(c, p, &src);
	if (src == BD_PNAME_PID || !name ||
	    (src == BD_PNAME_SPAWNED_AS && !strcmp(name, "erlang:apply/2")))
		return bd_arena_strdup(c->arena, b);
	return bd_arena_printf(c->arena, "%s %s", name, b);
}

const char *an_count(an_ctx *c, uint64_t v)
{
	char b[32];
	return bd_arena_strdup(c->arena, bd_count_fmt(v, b, sizeof b));
}

const char *an_bytes(an_ctx *c, uint64_t v)
{
	char b[32];
	if (v >= AN_WRAPPED && v != BD_UNKNOWN)
		return "an unknown size";
	return bd_arena_strdup(c->arena, bd_bytes_fmt(v, b, sizeof b));
}

const char *an_mfa_of(const char *loc, char *buf, size_t cap)
{
	if (!loc) {
		snprintf(buf, cap, "?");
		return buf;
	}
	size_t n = strcspn(loc, " ");
	snprintf(buf, cap, "%.*s", (int)n, loc);
	return buf;
}

/* Modules whose frames are plumbing, not the code that made the decision. */
static int otp_plumbing(const char *mfa)
{
	static const char *const mods[] = {
		"gen:", "gen_server:", "gen_statem:", "gen_event:", "proc_lib:", "timer:",
		"lists:", "maps:", "io:", "io_lib:", "erlang:", "prim_", "file:", "gen_tcp:",
		"inet:", "ets:", "supervisor:", "sys:", "erts_", "application_master:",
		"binary:", "string:", "unicode:", "re:", "logger", "init:", "<",
		/* Elixir's standard library */
		"'Elixir.Process':", "'Elixir.Enum':", "'Elixir.Map':", "'Elixir.List':",
		"'Elixir.Stream':", "'Elixir.GenServer':", "'Elixir.Agent", "'Elixir.Task",
		"'Elixir.Kernel", "'Elixir.String", "'Elixir.Keyword':", "'Elixir.Registry",
		"'Elixir.Supervisor", "'Elixir.DynamicSupervisor':", "'Elixir.IO"};
	for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++)
		if (!strncmp(mfa, mods[i], strlen(mods[i])))
			return 1;
	return 0;
}

const char *an_user_frame(an_ctx *c, const bd_proc *p)
{
	bd_heap *h = an_heap(c, p);
	bd_frame *fr;
	size_t nf;
	bd_error err = {0};
	char buf[200];
	if (!h || bd_heap_stack(h, &fr, &nf, &err))
		return NULL;
	for (size_t i = 0; i < nf; i++)
		if (fr[i].mfa && !otp_plumbing(fr[i].mfa))
			return bd_arena_strdup(c->arena, an_mfa_of(fr[i].mfa, buf, sizeof buf));
	return NULL;
}

const char *an_initial_call(an_ctx *c, const bd_proc *p)
{
	/* Only proc_lib processes have a $initial_call worth the decoding. */
	if (!p->spawned_as || strcmp(p->spawned_as, "proc_lib:init_p/5") != 0 ||
	    !p->sec_dictionary.len)
		return p->spawned_as;
	bd_heap *h = an_heap(c, p);
	char buf[200];
	bd_term_mfa(h ? bd_heap_dict_get(h, "$initial_call") : NULL, buf, sizeof buf);
	return buf[0] ? bd_arena_strdup(c->arena, buf) : p->spawned_as;
}

int an_is_system_proc(const bd_proc *p)
{
	/* called for every process by several analyses: no library call */
	const char *s = p->spawned_as;
	return s && s[0] == 'e' && s[1] == 'r' && s[2] == 't' && s[3] == 's' && s[4] == '_';
}

const bd_proc *an_running_proc(an_ctx *c)
{
	size_t ns;
	const bd_sched *s = bd_model_scheds(c->m, &ns);
	const char *thr = bd_model_node(c->m)->calling_thread;
	/* "scheduler:1" names the thread that wrote the dump; its current process is the
	 * one that halted or hit the limit. Else any scheduler's current process (a
	 * dirty scheduler garbing the process that ran out of memory), else a Running
	 * process. */
	if (thr && !strncmp(thr, "scheduler:", 10)) {
		unsigned id = (unsigned)atoi(thr + 10);
		for (size_t i = 0; i < ns; i++)
			if (s[i].type == BD_SCHED_NORMAL && s[i].id == id && bd_pid_valid(s[i].current)) {
				const bd_proc *p = bd_proc_by_pid(c->m, s[i].current);
				if (p)
					return p;
			}
	}
	for (size_t i = 0; i < ns; i++)
		if (bd_pid_valid(s[i].current)) {
			const bd_proc *p = bd_proc_by_pid(c->m, s[i].current);
			if (p)
				return p;
		}
	for (size_t i = 0; i < c->nprocs; i++)
		if (c->procs[i].state == BD_PS_RUNNING)
			return &c->procs[i];
	return NULL;
}
