/* beamdump ci: leak rules over baseline -> current (and -> final, memlab's three
 * snapshots: growth counts only where it is still there at final). Each rule lists
 * its offenders with the numbers; the CLI renders them as text, Markdown, JUnit XML
 * or JSON. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff_int.h"

static const char *const rule_names[] = {
#define BD_X(e, n, d) n,
	BD_CI_RULES(BD_X)
#undef BD_X
};
static const char *const rule_descs[] = {
#define BD_X(e, n, d) d,
	BD_CI_RULES(BD_X)
#undef BD_X
};

const char *bd_ci_rule_name(bd_ci_rule_id r)
{
	return (unsigned)r < BD_CI__COUNT ? rule_names[r] : "?";
}

const char *bd_ci_rule_description(bd_ci_rule_id r)
{
	return (unsigned)r < BD_CI__COUNT ? rule_descs[r] : "?";
}

void bd_ci_rules_default(bd_ci_rules *r)
{
	memset(r, 0, sizeof *r);
	for (int i = 0; i < BD_CI__COUNT; i++)
		r->enabled[i] = 1;
	r->process_leak_max = 10;
	r->process_memory_pct = 50;
	r->process_memory_min = 1000000;
	r->mailbox_growth_max = 100;
	r->ets_tables_max = 5;
	r->ets_growth_pct = 50;
	r->ets_growth_min = 1000000;
	r->atoms_added_max = 500;
	r->binary_growth_max = 1000000;
	r->port_growth_max = 10;
	r->max_violations = 20;
}

/* ---- settings ---- */

static int parse_u64(const char *v, int sizes, uint64_t *out)
{
	char *e;
	errno = 0;
	double d = strtod(v, &e);
	if (e == v || errno || d < 0 || !isfinite(d))
		return -1;
	while (*e == ' ')
		e++;
	static const struct { const char *suffix; double mul; } units[] = {
		{"", 1},	  {"B", 1},	  {"kB", 1e3},		{"KB", 1e3},
		{"KiB", 1024.0}, {"MB", 1e6},	  {"MiB", 1048576.0}, {"GB", 1e9},
		{"GiB", 1073741824.0},
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (!strcmp(e, units[i].suffix)) {
			if (i && !sizes)
				return -1;
			d *= units[i].mul;
			if (d > 1.8e19)
				return -1;
			*out = (uint64_t)(d + 0.5);
			return 0;
		}
	return -1;
}

static int parse_bool(const char *v, int *out)
{
	static const char *yes[] = {"true", "on", "yes", "1"}, *no[] = {"false", "off", "no", "0"};
	for (int i = 0; i < 4; i++) {
		if (!strcmp(v, yes[i]))
			return *out = 1, 0;
		if (!strcmp(v, no[i]))
			return *out = 0, 0;
	}
	return -1;
}

int bd_ci_rules_set(bd_ci_rules *r, const char *key, const char *value, bd_error *err)
{
	static const struct {
		const char *key;
		char type; /* c count, s size, p percent */
		size_t off;
	} keys[] = {
#define K(k, t, f) {k, t, offsetof(bd_ci_rules, f)}
		K("process_leak.max", 'c', process_leak_max),
		K("process_memory.pct", 'p', process_memory_pct),
		K("process_memory.min", 's', process_memory_min),
		K("mailbox_growth.max", 'c', mailbox_growth_max),
		K("ets_tables.max", 'c', ets_tables_max),
		K("ets_growth.pct", 'p', ets_growth_pct),
		K("ets_growth.min", 's', ets_growth_min),
		K("atoms_added.max", 'c', atoms_added_max),
		K("binary_growth.max", 's', binary_growth_max),
		K("port_growth.max", 'c', port_growth_max),
#undef K
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (strcmp(key, keys[i].key))
			continue;
		uint64_t u;
		if (parse_u64(value, keys[i].type == 's', &u))
			return bd_error_set(err, BD_EUSAGE, 0, "%s: '%s' is not a %s", key, value,
					    keys[i].type == 's' ? "size (e.g. 4MB)" : "number");
		if (keys[i].type == 'p')
			*(double *)((char *)r + keys[i].off) = strtod(value, NULL);
		else
			*(uint64_t *)((char *)r + keys[i].off) = u;
		return 0;
	}
	if (!strcmp(key, "report.max_violations")) {
		uint64_t u;
		if (parse_u64(value, 0, &u) || u > 100000)
			return bd_error_set(err, BD_EUSAGE, 0, "%s: '%s' is not a number", key, value);
		r->max_violations = (uint32_t)u;
		return 0;
	}
	const char *dot = strchr(key, '.');
	if (dot && !strcmp(dot, ".enabled")) {
		for (int i = 0; i < BD_CI__COUNT; i++)
			if (strlen(rule_names[i]) == (size_t)(dot - key) &&
			    !strncmp(key, rule_names[i], (size_t)(dot - key))) {
				if (parse_bool(value, &r->enabled[i]))
					return bd_error_set(err, BD_EUSAGE, 0,
							    "%s: '%s' is not true or false", key, value);
				return 0;
			}
	}
	return bd_error_set(err, BD_EUSAGE, 0, "unknown setting '%s' (see docs/ci.md)", key);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	return s;
}

int bd_ci_rules_load(bd_ci_rules *r, const char *path, bd_error *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return bd_error_set(err, BD_EIO, errno, "%s: %s", path, strerror(errno));
	char line[1024];
	int lineno = 0, rc = 0;
	while (!rc && fgets(line, sizeof line, f)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *s = trim(line);
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			rc = bd_error_set(err, BD_EUSAGE, 0, "%s:%d: expected 'key = value'", path,
					  lineno);
			break;
		}
		*eq = 0;
		bd_error e2 = {0};
		if (bd_ci_rules_set(r, trim(s), trim(eq + 1), &e2))
			rc = bd_error_set(err, BD_EUSAGE, 0, "%s:%d: %s", path, lineno, e2.msg);
	}
	if (!rc && ferror(f)) /* a directory opens, then reading it fails (EISDIR) */
		rc = bd_error_set(err, BD_EIO, errno, "%s: %s", path, strerror(errno));
	fclose(f);
	return rc;
}

/* ---- evaluation ---- */

struct bd_ci_priv {
	bd_arena arena;
	bd_diff *d1, *d2;
	bd_ci_violation *v[BD_CI__COUNT];
	size_t nv[BD_CI__COUNT], capv[BD_CI__COUNT];
	bd_ci_transient *tr;
	size_t ntr, captr;
	int oom;
};

typedef struct ctx {
	bd_ci_result *res;
	struct bd_ci_priv *pv;
	const bd_ci_rules *rules;
	const bd_diff *d1, *d2;
} ctx;

static uint64_t grew(uint64_t a, uint64_t b) { return b > a ? b - a : 0; }
static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* Growth that counts: baseline->current, and with a final snapshot only the part
 * still there at final. */
static uint64_t kept(const ctx *c, uint64_t base, uint64_t cur, uint64_t fin)
{
	uint64_t g = grew(base, cur);
	return c->d2 ? min64(g, grew(base, fin)) : g;
}

static bd_ci_violation *add_v(ctx *c, bd_ci_rule_id r)
{
	struct bd_ci_priv *pv = c->pv;
	if (pv->nv[r] == pv->capv[r]) {
		size_t cap = pv->capv[r] ? pv->capv[r] * 2 : 16;
		bd_ci_violation *n = realloc(pv->v[r], cap * sizeof *n);
		if (!n) {
			pv->oom = 1;
			return NULL;
		}
		pv->v[r] = n;
		pv->capv[r] = cap;
	}
	bd_ci_violation *v = &pv->v[r][pv->nv[r]++];
	memset(v, 0, sizeof *v);
	v->final = BD_UNKNOWN;
	v->example = BD_PID_NONE;
	return v;
}

static void add_transient(ctx *c, const char *type, const char *subject, const char *unit,
			  uint64_t base, uint64_t cur, uint64_t fin)
{
	struct bd_ci_priv *pv = c->pv;
	if (pv->ntr == pv->captr) {
		size_t cap = pv->captr ? pv->captr * 2 : 16;
		bd_ci_transient *n = realloc(pv->tr, cap * sizeof *n);
		if (!n) {
			pv->oom = 1;
			return;
		}
		pv->tr = n;
		pv->captr = cap;
	}
	pv->tr[pv->ntr++] = (bd_ci_transient){type, subject, unit, base, cur, fin};
}

static double pct(uint64_t base, uint64_t growth)
{
	return base ? 100.0 * (double)growth / (double)base : NAN;
}

static void fill(bd_ci_violation *v, const char *type, const char *subject, const char *unit,
		 uint64_t base, uint64_t cur, uint64_t fin, uint64_t growth, const ctx *c)
{
	v->subject_type = type;
	v->subject = subject;
	v->unit = unit;
	v->baseline = base;
	v->current = cur;
	v->final = c->d2 ? fin : BD_UNKNOWN;
	v->growth = growth;
	v->growth_pct = pct(base, growth);
}

/* The final side of a process group, matched by key. */
static const bd_diff_procs *final_procs(const ctx *c, const bd_diff_pgroup *g)
{
	static const bd_diff_procs none;
	if (!c->d2)
		return &g->b;
	const bd_diff_pgroup *f = bd_diff_find(c->d2, g->key);
	return f && f->kind == g->kind ? &f->b : &none;
}

typedef uint64_t (*procs_field)(const bd_diff_procs *p);
static uint64_t f_count(const bd_diff_procs *p) { return p->count; }
static uint64_t f_memory(const bd_diff_procs *p) { return p->memory; }
static uint64_t f_msgq(const bd_diff_procs *p) { return p->msgq; }

static void rule_procs(ctx *c, bd_ci_rule_id id, procs_field fld, const char *unit,
		       uint64_t max, double pct_min, int transients)
{
	const bd_diff *d = c->d1;
	for (size_t i = 0; i < d->nprocs; i++) {
		const bd_diff_pgroup *g = &d->procs[i];
		const bd_diff_procs *fp = final_procs(c, g);
		uint64_t base = fld(&g->a), cur = fld(&g->b), fin = fld(fp);
		uint64_t growth = kept(c, base, cur, fin);
		int over = growth > max && (pct_min <= 0 || !base || pct(base, growth) > pct_min);
		if (!over) {
			if (transients && c->d2 && grew(base, cur) > max && growth <= max)
				add_transient(c, "process", g->key, unit, base, cur, fin);
			continue;
		}
		bd_ci_violation *v = add_v(c, id);
		if (!v)
			return;
		fill(v, "process", g->key, unit, base, cur, fin, growth, c);
		v->example = g->example_b;
		v->detail = g->current_function;
	}
}

static const bd_diff_etsgroup *final_ets(const ctx *c, const bd_diff_etsgroup *e)
{
	if (!c->d2)
		return e;
	for (size_t i = 0; i < c->d2->nets; i++) {
		const bd_diff_etsgroup *f = &c->d2->ets[i];
		if (!strcmp(f->name, e->name) &&
		    ((!f->owner && !e->owner) || (f->owner && e->owner && !strcmp(f->owner, e->owner))))
			return f;
	}
	return NULL;
}

static void rule_ets(ctx *c)
{
	const bd_ci_rules *r = c->rules;
	const bd_diff *d = c->d1;
	for (size_t i = 0; i < d->nets; i++) {
		const bd_diff_etsgroup *e = &d->ets[i];
		const bd_diff_etsgroup *f = final_ets(c, e);
		uint64_t fc = f ? f->count_b : 0, fb = f ? f->bytes_b : 0;
		uint64_t g = kept(c, e->count_a, e->count_b, fc);
		if (r->enabled[BD_CI_ETS_TABLES] && g > r->ets_tables_max) {
			bd_ci_violation *v = add_v(c, BD_CI_ETS_TABLES);
			if (!v)
				return;
			fill(v, "ets", e->name, "tables", e->count_a, e->count_b, fc, g, c);
			v->owner = e->owner;
		} else if (c->d2 && grew(e->count_a, e->count_b) > r->ets_tables_max) {
			add_transient(c, "ets", e->name, "tables", e->count_a, e->count_b, fc);
		}
		uint64_t gb = kept(c, e->bytes_a, e->bytes_b, fb);
		if (r->enabled[BD_CI_ETS_GROWTH] && gb > r->ets_growth_min &&
		    (!e->bytes_a || pct(e->bytes_a, gb) > r->ets_growth_pct)) {
			bd_ci_violation *v = add_v(c, BD_CI_ETS_GROWTH);
			if (!v)
				return;
			fill(v, "ets", e->name, "bytes", e->bytes_a, e->bytes_b, fb, gb, c);
			v->owner = e->owner;
			v->detail = df_printf(&c->pv->arena, "%llu -> %llu objects in %llu -> %llu tables",
					      (unsigned long long)e->objects_a,
					      (unsigned long long)e->objects_b,
					      (unsigned long long)e->count_a,
					      (unsigned long long)e->count_b);
		}
	}
}

static void rule_atoms(ctx *c)
{
	const bd_diff *d = c->d1;
	uint64_t fin = c->d2 ? c->d2->atoms_added : d->atoms_added;
	uint64_t total = c->d2 ? min64(d->atoms_added, fin) : d->atoms_added;
	if (total <= c->rules->atoms_added_max)
		return;
	for (size_t i = 0; i < d->natom_clusters; i++) {
		const bd_diff_atomcluster *a = &d->atom_clusters[i];
		uint64_t n = a->count, m = a->count;
		if (c->d2) { /* the same pattern among the atoms final added */
			m = 0;
			for (size_t j = 0; j < c->d2->natom_clusters; j++)
				if (!strcmp(c->d2->atom_clusters[j].pattern, a->pattern))
					m = c->d2->atom_clusters[j].count;
			n = min64(n, m);
		}
		if (!n)
			continue;
		bd_ci_violation *v = add_v(c, BD_CI_ATOMS_ADDED);
		if (!v)
			return;
		/* baseline 0: these are atoms the baseline did not have */
		fill(v, "atoms", a->pattern, "atoms", 0, a->count, m, n, c);
		v->growth_pct = NAN;
		v->detail = df_printf(&c->pv->arena, "e.g. %s ... %s", a->first,
				      a->last ? a->last : a->first);
	}
}

/* "2.14 MB" (decimal units, as the CLI prints). */
static const char *human(ctx *c, uint64_t v)
{
	char b[32];
	return df_printf(&c->pv->arena, "%s", bd_bytes_fmt(v, b, sizeof b));
}

static uint64_t mem_of(const bd_diff *d, const char *name, int side_b)
{
	for (size_t i = 0; i < d->nmemory; i++)
		if (!strcmp(d->memory[i].name, name)) {
			uint64_t v = side_b ? d->memory[i].b : d->memory[i].a;
			return v == BD_UNKNOWN ? 0 : v;
		}
	return 0;
}

static void rule_binary(ctx *c)
{
	const bd_diff *d = c->d1;
	uint64_t base = mem_of(d, "binary", 0), cur = mem_of(d, "binary", 1);
	uint64_t fin = c->d2 ? mem_of(c->d2, "binary", 1) : cur;
	uint64_t g = kept(c, base, cur, fin);
	if (g <= c->rules->binary_growth_max) {
		if (c->d2 && grew(base, cur) > c->rules->binary_growth_max)
			add_transient(c, "memory", "binary", "bytes", base, cur, fin);
		return;
	}
	bd_ci_violation *v = add_v(c, BD_CI_BINARY_GROWTH);
	if (!v)
		return;
	fill(v, "memory", "binary", "bytes", base, cur, fin, g, c);
	/* Who holds them: the group whose binaries grew most, and the mailbox that grew
	 * most (messages keep their binaries off the process heap). */
	const bd_diff_pgroup *best = NULL, *mq = NULL;
	uint64_t gbest = 0, gmq = 0;
	for (size_t i = 0; i < d->nprocs; i++) {
		const bd_diff_pgroup *p = &d->procs[i];
		const bd_diff_procs *fp = final_procs(c, p);
		uint64_t gb = kept(c, p->a.binary, p->b.binary, fp->binary);
		uint64_t gm = kept(c, p->a.msgq, p->b.msgq, fp->msgq);
		if (gb > gbest)
			best = p, gbest = gb;
		if (gm > gmq)
			mq = p, gmq = gm;
	}
	if (best && mq && best != mq)
		v->detail = df_printf(&c->pv->arena, "binaries on heap: %s +%s; mailbox: %s +%llu messages",
				      best->key, human(c, gbest), mq->key, (unsigned long long)gmq);
	else if (best)
		v->detail = df_printf(&c->pv->arena, "binaries on heap: %s +%s%s", best->key,
				      human(c, gbest),
				      mq ? df_printf(&c->pv->arena, ", mailbox +%llu messages",
						     (unsigned long long)gmq)
					 : "");
	else if (mq)
		v->detail = df_printf(&c->pv->arena, "mailbox: %s +%llu messages", mq->key,
				      (unsigned long long)gmq);
}

static void rule_ports(ctx *c)
{
	const bd_diff *d = c->d1;
	for (size_t i = 0; i < d->nports; i++) {
		const bd_diff_portgroup *p = &d->ports[i];
		uint64_t fin = p->count_b;
		if (c->d2) {
			fin = 0;
			for (size_t j = 0; j < c->d2->nports; j++)
				if (!strcmp(c->d2->ports[j].driver, p->driver))
					fin = c->d2->ports[j].count_b;
		}
		uint64_t g = kept(c, p->count_a, p->count_b, fin);
		if (g <= c->rules->port_growth_max)
			continue;
		bd_ci_violation *v = add_v(c, BD_CI_PORT_GROWTH);
		if (!v)
			return;
		fill(v, "port", p->driver, "ports", p->count_a, p->count_b, fin, g, c);
	}
}

static int cmp_violation(const void *x, const void *y)
{
	const bd_ci_violation *a = x, *b = y;
	return a->growth < b->growth ? 1 : a->growth > b->growth ? -1 : strcmp(a->subject, b->subject);
}

static const char *unit_of(bd_ci_rule_id id)
{
	static const char *u[] = {"processes per group", "% and bytes per group",
				  "messages per group", "tables per name and owner",
				  "% and bytes per table group", "atoms", "bytes",
				  "ports per driver"};
	return u[id];
}

static const char *threshold_text(ctx *c, bd_ci_rule_id id)
{
	const bd_ci_rules *r = c->rules;
	bd_arena *a = &c->pv->arena;
	switch (id) {
	case BD_CI_PROCESS_LEAK:
		return df_printf(a, "> %llu %s", (unsigned long long)r->process_leak_max, unit_of(id));
	case BD_CI_PROCESS_MEMORY:
		return df_printf(a, "> %g %% and > %s per group", r->process_memory_pct,
				 human(c, r->process_memory_min));
	case BD_CI_MAILBOX_GROWTH:
		return df_printf(a, "> %llu %s", (unsigned long long)r->mailbox_growth_max, unit_of(id));
	case BD_CI_ETS_TABLES:
		return df_printf(a, "> %llu %s", (unsigned long long)r->ets_tables_max, unit_of(id));
	case BD_CI_ETS_GROWTH:
		return df_printf(a, "> %g %% and > %s per name and owner", r->ets_growth_pct,
				 human(c, r->ets_growth_min));
	case BD_CI_ATOMS_ADDED:
		return df_printf(a, "> %llu atoms", (unsigned long long)r->atoms_added_max);
	case BD_CI_BINARY_GROWTH:
		return df_printf(a, "> %s", human(c, r->binary_growth_max));
	case BD_CI_PORT_GROWTH:
		return df_printf(a, "> %llu %s", (unsigned long long)r->port_growth_max, unit_of(id));
	default:
		return "?";
	}
}

static void finish_rule(ctx *c, bd_ci_rule_id id)
{
	struct bd_ci_priv *pv = c->pv;
	bd_ci_result_rule *rr = &c->res->rules[id];
	rr->id = id;
	rr->enabled = c->rules->enabled[id];
	rr->threshold = threshold_text(c, id);
	if (pv->nv[id])
		qsort(pv->v[id], pv->nv[id], sizeof *pv->v[id], cmp_violation);
	rr->total_violations = pv->nv[id];
	rr->violations = pv->v[id];
	rr->nviolations = pv->nv[id] < c->rules->max_violations ? pv->nv[id] : c->rules->max_violations;
	uint64_t atoms = 0;
	for (size_t i = 0; i < pv->nv[id]; i++)
		atoms += pv->v[id][i].growth;
	rr->failed = rr->enabled && pv->nv[id] > 0;
	if (!rr->enabled)
		rr->summary = "disabled";
	else if (!rr->failed)
		rr->summary = "ok";
	else if (id == BD_CI_ATOMS_ADDED)
		rr->summary = df_printf(&pv->arena, "%llu atoms added in %llu pattern(s)",
					(unsigned long long)atoms, (unsigned long long)pv->nv[id]);
	else if (id == BD_CI_BINARY_GROWTH)
		rr->summary = df_printf(&pv->arena, "binary memory +%s", human(c, pv->v[id][0].growth));
	else
		rr->summary = df_printf(&pv->arena, "%llu offender(s), worst: %s +%s%s%s",
					(unsigned long long)pv->nv[id], pv->v[id][0].subject,
					!strcmp(pv->v[id][0].unit, "bytes")
						? human(c, pv->v[id][0].growth)
						: df_printf(&pv->arena, "%llu",
							    (unsigned long long)pv->v[id][0].growth),
					!strcmp(pv->v[id][0].unit, "bytes") ? "" : " ",
					!strcmp(pv->v[id][0].unit, "bytes") ? "" : pv->v[id][0].unit);
	if (rr->failed)
		c->res->failed++;
}

int bd_ci_run(const bd_model *base, const bd_model *cur, const bd_model *fin,
	      const bd_ci_rules *rules, const bd_diff_opts *o, bd_ci_result **out, bd_error *err)
{
	*out = NULL;
	bd_ci_result *res = calloc(1, sizeof *res);
	struct bd_ci_priv *pv = calloc(1, sizeof *pv);
	if (!res || !pv) {
		free(res);
		free(pv);
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	}
	res->priv = pv;
	int rc = bd_diff_run(base, cur, o, &pv->d1, err);
	if (!rc && fin)
		rc = bd_diff_run(base, fin, o, &pv->d2, err);
	if (rc) {
		bd_ci_result_free(res);
		return rc;
	}
	ctx c = {res, pv, rules, pv->d1, pv->d2};
	res->snapshots = fin ? 3 : 2;
	res->current = pv->d1;
	res->final = pv->d2;
	if (rules->enabled[BD_CI_PROCESS_LEAK])
		rule_procs(&c, BD_CI_PROCESS_LEAK, f_count, "processes", rules->process_leak_max, 0, 1);
	if (rules->enabled[BD_CI_PROCESS_MEMORY])
		rule_procs(&c, BD_CI_PROCESS_MEMORY, f_memory, "bytes", rules->process_memory_min,
			   rules->process_memory_pct, 0);
	if (rules->enabled[BD_CI_MAILBOX_GROWTH])
		rule_procs(&c, BD_CI_MAILBOX_GROWTH, f_msgq, "messages", rules->mailbox_growth_max, 0, 1);
	rule_ets(&c);
	if (rules->enabled[BD_CI_ATOMS_ADDED])
		rule_atoms(&c);
	if (rules->enabled[BD_CI_BINARY_GROWTH])
		rule_binary(&c);
	if (rules->enabled[BD_CI_PORT_GROWTH])
		rule_ports(&c);
	for (int i = 0; i < BD_CI__COUNT; i++)
		finish_rule(&c, (bd_ci_rule_id)i);
	res->transients = pv->tr;
	res->ntransients = pv->ntr;
	if (pv->oom || pv->arena.failed) {
		bd_ci_result_free(res);
		return bd_error_set(err, BD_ENOMEM, 0, "ci: out of memory");
	}
	*out = res;
	return 0;
}

void bd_ci_result_free(bd_ci_result *r)
{
	if (!r)
		return;
	struct bd_ci_priv *pv = r->priv;
	if (pv) {
		bd_diff_free(pv->d1);
		bd_diff_free(pv->d2);
		for (int i = 0; i < BD_CI__COUNT; i++)
			free(pv->v[i]);
		free(pv->tr);
		bd_arena_free(&pv->arena);
		free(pv);
	}
	free(r);
}
