/* erl_crash.dump reader, section parsers: one function per section kind, fed the
 * section body by the scanner. Key/value sections go through field tables. Every
 * value is optional; what does not parse stays unknown. */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cd_int.h"

/* ---- lines ---- */
typedef struct line {
	const char *p, *end;     /* whole line without '\n' / '\r' */
	const char *key, *key_end;
	const char *val, *val_end; /* NULL when the line has no ": " */
} line;

static int next_line(const char **cur, const char *end, line *l)
{
	const char *p = *cur;
	if (p >= end)
		return 0;
	const char *e = memchr(p, '\n', (size_t)(end - p));
	*cur = e ? e + 1 : end;
	if (!e)
		e = end;
	if (e > p && e[-1] == '\r')
		e--;
	l->p = p;
	l->end = e;
	const char *c = p;
	l->val = NULL;
	while ((c = memchr(c, ':', (size_t)(e - c)))) {
		if (c + 1 == e || c[1] == ' ') {
			l->key = p;
			l->key_end = c;
			l->val = c + 1 < e ? c + 2 : e;
			l->val_end = e;
			if (l->val > e)
				l->val = e;
			return 1;
		}
		c++;
	}
	l->key = p;
	l->key_end = e;
	return 1;
}

static int key_is(const line *l, const char *k)
{
	size_t n = strlen(k);
	return (size_t)(l->key_end - l->key) == n && memcmp(l->key, k, n) == 0;
}

static const char *S(cd_reader *r, const char *p, const char *e)
{
	while (p < e && *p == ' ')
		p++;
	while (e > p && e[-1] == ' ')
		e--;
	if (r->late)
		return bd_model_intern_late(r->m, p, (size_t)(e - p));
	return bd_model_intern(r->m, p, (size_t)(e - p));
}

static uint64_t U(const char *p, const char *e)
{
	uint64_t v;
	while (p < e && *p == ' ')
		p++;
	const char *q = bd_parse_u64(p, e, &v);
	return q ? v : BD_UNKNOWN;
}

static bd_pid PID(const char *p, const char *e)
{
	bd_pid pid;
	while (p < e && *p == ' ')
		p++;
	return bd_pid_parse(p, (size_t)(e - p), &pid) == 0 ? pid : BD_PID_NONE;
}

static void skipped(cd_reader *r, const cd_section *s, const char *why)
{
	bd_node_info *n = &r->m->node;
	if (!n->skipped_first) {
		char buf[200];
		snprintf(buf, sizeof buf, "%s at offset %llu", why, (unsigned long long)s->hdr_off);
		n->skipped_first = bd_model_intern(r->m, buf, strlen(buf));
	}
	n->skipped++;
}

/* ---- field tables ---- */
/* F_EXT marks a bd_proc_ext field: read only when one process's rest is asked for. */
typedef enum { F_U64, F_STR, F_PID, F_FN, F_EXT = 8 } ftype;
typedef struct field {
	const char *key;
	size_t klen;
	int type; /* ftype, maybe | F_EXT */
	size_t off;
	void (*fn)(cd_reader *r, void *row, const line *l, const char **cur, const char *end);
} field;

/* Field lookup: keys are few and known, so compare length and the first and last
 * bytes before the full memcmp. */
static int apply_fields(cd_reader *r, const field *f, size_t nf, void *row, const line *l,
			const char **cur, const char *end)
{
	size_t kl = (size_t)(l->key_end - l->key);
	if (!kl)
		return 0;
	char first = l->key[0], last = l->key[kl - 1];
	for (size_t i = 0; i < nf; i++) {
		if (f[i].klen != kl || f[i].key[0] != first || f[i].key[kl - 1] != last ||
		    memcmp(f[i].key, l->key, kl) != 0)
			continue;
		/* Ext functions also run for the row: they may own continuation lines. */
		if (r->ext ? !(f[i].type & F_EXT) : f[i].type == (F_EXT | F_U64) ||
							 f[i].type == (F_EXT | F_STR))
			return 1;
		char *dst = (char *)row + f[i].off;
		switch (f[i].type & ~F_EXT) {
		case F_U64:
			*(uint64_t *)(void *)dst = U(l->val, l->val_end);
			break;
		case F_STR:
			*(const char **)(void *)dst = S(r, l->val, l->val_end);
			break;
		case F_PID:
			*(bd_pid *)(void *)dst = PID(l->val, l->val_end);
			break;
		case F_FN:
			f[i].fn(r, row, l, cur, end);
			break;
		}
		return 1;
	}
	return 0;
}

#define K(s) s, sizeof(s) - 1
#define NF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- header ---- */
void cd_header_version(cd_reader *r, const char *p, const char *eol)
{
	bd_node_info *n = &r->m->node;
	const char *v = memchr(p, ':', (size_t)(eol - p));
	if (!v)
		return;
	n->dump_version = S(r, v + 1, eol > v + 1 && eol[-1] == '\r' ? eol - 1 : eol);
	uint64_t maj = 0, min = 0;
	const char *q = bd_parse_u64(v + 1, eol, &maj);
	if (q && q < eol && *q == '.')
		bd_parse_u64(q + 1, eol, &min);
	n->dump_major = (int)(maj > 100 ? 100 : maj);
	n->dump_minor = (int)(min > 1000 ? 1000 : min);
	r->m->hex_data = n->dump_major == 0 && n->dump_minor < 5;
}

static int64_t parse_ctime(const char *s)
{
	struct tm tm = {0};
	char mon[4], wd[4];
	int d, H, M, Sec, Y;
	static const char *months = "JanFebMarAprMayJunJulAugSepOctNovDec";
	if (!s || sscanf(s, "%3s %3s %d %d:%d:%d %d", wd, mon, &d, &H, &M, &Sec, &Y) != 7)
		return INT64_MIN;
	const char *mp = strstr(months, mon);
	if (!mp || (mp - months) % 3)
		return INT64_MIN;
	tm.tm_mon = (int)((mp - months) / 3);
	tm.tm_mday = d;
	tm.tm_hour = H;
	tm.tm_min = M;
	tm.tm_sec = Sec;
	tm.tm_year = Y - 1900;
	return (int64_t)timegm(&tm);
}

static void set_created(cd_reader *r, const char *p, const char *e)
{
	bd_node_info *n = &r->m->node;
	n->created = S(r, p, e);
	n->created_unix = parse_ctime(n->created);
}

void cd_header_slogan(cd_reader *r, const char *body, const char *sysver)
{
	const char *cur = body;
	line l;
	while (next_line(&cur, sysver, &l)) {
		if (l.val && key_is(&l, "Slogan")) {
			const char *e = sysver;
			while (e > l.val && (e[-1] == '\n' || e[-1] == '\r'))
				e--;
			r->m->node.slogan = bd_model_intern(r->m, l.val, (size_t)(e - l.val));
			return;
		}
		if (!r->m->node.created && !l.val)
			set_created(r, l.p, l.end);
	}
}

/* Releases before OTP 17 name themselves R<n>..., or only by the emulator version:
 * "Erlang (BEAM) emulator version 5.6.5" is R12B-5. Longest prefix wins. */
static const struct { const char *erts, *rel; } r_releases[] = {
	{"5.0", "R7B"},       {"5.1", "R8B"},       {"5.2", "R9B"},       {"5.3", "R9C"},
	{"5.4", "R10B"},      {"5.5", "R11B-0"},    {"5.5.1", "R11B-1"},  {"5.5.2", "R11B-2"},
	{"5.5.3", "R11B-3"},  {"5.5.4", "R11B-4"},  {"5.5.5", "R11B-5"},  {"5.6", "R12B-0"},
	{"5.6.1", "R12B-1"},  {"5.6.2", "R12B-2"},  {"5.6.3", "R12B-3"},  {"5.6.4", "R12B-4"},
	{"5.6.5", "R12B-5"},  {"5.7", "R13A"},      {"5.7.1", "R13B"},    {"5.7.2", "R13B01"},
	{"5.7.3", "R13B02"},  {"5.7.4", "R13B03"},  {"5.7.5", "R13B04"},  {"5.8", "R14A"},
	{"5.8.1", "R14B"},    {"5.8.2", "R14B01"},  {"5.8.3", "R14B02"},  {"5.8.4", "R14B03"},
	{"5.8.5", "R14B04"},  {"5.9", "R15B"},      {"5.9.1", "R15B01"},  {"5.9.2", "R15B02"},
	{"5.9.3", "R15B03"},  {"5.9.3.1", "R15B03-1"}, {"5.10", "R16A"},  {"5.10.1", "R16B"},
	{"5.10.2", "R16B01"}, {"5.10.3", "R16B02"}, {"5.10.4", "R16B03"},
};

static const char *release_of_erts(const char *erts)
{
	char v[32];
	snprintf(v, sizeof v, "%s", erts);
	for (;;) {
		for (size_t i = 0; i < NF(r_releases); i++)
			if (!strcmp(r_releases[i].erts, v))
				return r_releases[i].rel;
		char *dot = strrchr(v, '.');
		if (!dot)
			return NULL;
		*dot = 0;
	}
}

/* A version number at p: digits and dots (and the letters of R releases when rel). */
static size_t version_len(const char *p, int rel)
{
	size_t k = 0;
	while (p[k] && ((p[k] >= '0' && p[k] <= '9') || p[k] == '.' ||
			(rel && ((p[k] >= 'A' && p[k] <= 'Z') || p[k] == '-'))))
		k++;
	while (k && (p[k - 1] == '.' || p[k - 1] == '-'))
		k--;
	return k;
}

/* An R-release name: R, its number, A/B/C, the service release and a patch ("R13B",
 * "R15B02", "R16B03-1"). What follows is a builder's own suffix ("R15B02Emilio"). */
static size_t r_release_len(const char *p)
{
	size_t k = 1;
	while (k < 3 && p[k] >= '0' && p[k] <= '9')
		k++;
	if (k == 1 || !(p[k] >= 'A' && p[k] <= 'C'))
		return version_len(p, 1);
	k++;
	while (p[k] >= '0' && p[k] <= '9')
		k++;
	if (p[k] == '-' && p[k + 1] >= '0' && p[k + 1] <= '9')
		for (k++; p[k] >= '0' && p[k] <= '9'; k++)
			;
	return k;
}

/* Every era's spelling: "Erlang/OTP 25 [erts-13.2.2.5] ...", "Erlang R16B03 (erts-5.10.4)
 * ...", "Erlang R13B04 (erts-5.7.5)", "Erlang (BEAM) emulator version 5.6.5 ...". */
void cd_parse_version_text(cd_reader *r, const char *sv)
{
	bd_node_info *n = &r->m->node;
	const char *o = strstr(sv, "Erlang/OTP ");
	const char *rr = strstr(sv, "Erlang R");
	if (o) {
		o += 11;
		n->otp_release = bd_model_intern(r->m, o, version_len(o, 0));
	} else if (rr && rr[8] >= '0' && rr[8] <= '9') {
		rr += 7;
		n->otp_release = bd_model_intern(r->m, rr, r_release_len(rr));
	}
	const char *ev = strstr(sv, "erts-");
	const char *em = strstr(sv, "emulator version ");
	if (ev)
		ev += 5;
	else if (em)
		ev = em + 17;
	if (ev && version_len(ev, 0))
		n->erts_version = bd_model_intern(r->m, ev, version_len(ev, 0));
	if (!n->otp_release && n->erts_version && n->erts_version[0] == '5' &&
	    n->erts_version[1] == '.') {
		const char *rel = release_of_erts(n->erts_version);
		if (rel)
			n->otp_release = rel;
	}
	if (n->otp_release && !*n->otp_release)
		n->otp_release = NULL;
	n->word_size = strstr(sv, "[64-bit]") ? 8 : 4;
}

static void parse_system_version(cd_reader *r, const char *p, const char *e)
{
	bd_node_info *n = &r->m->node;
	n->system_version = S(r, p, e);
	cd_parse_version_text(r, n->system_version);
}

static void parse_header(cd_reader *r, const cd_section *s)
{
	bd_node_info *n = &r->m->node;
	const char *cur = s->body;
	line l;
	while (next_line(&cur, s->end, &l)) {
		if (!l.val) {
			if (!n->created)
				set_created(r, l.p, l.end);
			continue;
		}
		if (key_is(&l, "System version"))
			parse_system_version(r, l.val, l.val_end);
		else if (key_is(&l, "Taints"))
			n->taints = S(r, l.val, l.val_end);
		else if (key_is(&l, "Atoms"))
			n->atoms = U(l.val, l.val_end);
		else if (key_is(&l, "Calling Thread"))
			n->calling_thread = S(r, l.val, l.val_end);
		else if (key_is(&l, "Compiled"))
			n->compiled = S(r, l.val, l.val_end);
		else if (key_is(&l, "Slogan") && !n->slogan)
			n->slogan = S(r, l.val, l.val_end);
	}
}

/* ---- schedulers ---- */
static void sched_current(cd_reader *r, void *row, const line *l, const char **cur,
			  const char *end)
{
	(void)r;
	((bd_sched *)row)->current = PID(l->val, l->val_end);
	(void)cur;
	(void)end;
}

static void sched_trace(cd_reader *r, void *row, const line *l, const char **cur,
			const char *end)
{
	bd_sched *sc = row;
	line t;
	(void)l;
	sc->trace_first = (uint32_t)r->m->strings.len;
	/* Trace lines: "0x...:SReturn addr 0x... (M:F/A + off)" until a keyed line. */
	while (*cur < end) {
		const char *save = *cur;
		if (!next_line(cur, end, &t))
			break;
		if (t.val && !(t.p[0] == '0' && t.end - t.p > 1 && t.p[1] == 'x')) {
			*cur = save;
			break;
		}
		const char *a = memchr(t.p, '(', (size_t)(t.end - t.p));
		const char *b = a ? t.end : NULL;
		while (b && b > a && b[-1] != ')')
			b--;
		const char *txt = a && b > a + 1 ? S(r, a + 1, b - 1) : S(r, t.p, t.end);
		const char **slot = bd_vec_push(&r->m->strings);
		if (!slot)
			break;
		*slot = txt;
		sc->trace_count++;
	}
}

static const field sched_fields[] = {
	{K("Scheduler Sleep Info Flags"), F_STR, offsetof(bd_sched, sleep_flags), NULL},
	{K("Scheduler Sleep Info Aux Work"), F_STR, offsetof(bd_sched, aux_work), NULL},
	{K("Current Port"), F_STR, offsetof(bd_sched, current_port), NULL},
	{K("Run Queue Max Length"), F_U64, offsetof(bd_sched, rq_max), NULL},
	{K("Run Queue High Length"), F_U64, offsetof(bd_sched, rq_high), NULL},
	{K("Run Queue Normal Length"), F_U64, offsetof(bd_sched, rq_normal), NULL},
	{K("Run Queue Low Length"), F_U64, offsetof(bd_sched, rq_low), NULL},
	{K("Run Queue Port Length"), F_U64, offsetof(bd_sched, rq_port), NULL},
	{K("Run Queue Flags"), F_STR, offsetof(bd_sched, rq_flags), NULL},
	{K("Current Process"), F_FN, 0, sched_current},
	{K("Current Process State"), F_STR, offsetof(bd_sched, current_state), NULL},
	{K("Current Process Internal State"), F_STR, offsetof(bd_sched, current_internal), NULL},
	{K("Current Process Program counter"), F_STR, offsetof(bd_sched, current_pc), NULL},
	{K("Current Process Limited Stack Trace"), F_FN, 0, sched_trace},
};

static void parse_sched(cd_reader *r, const cd_section *s, bd_sched_type type)
{
	bd_sched *sc = bd_vec_push(&r->m->scheds);
	if (!sc)
		return skipped(r, s, "scheduler table full");
	sc->type = type;
	uint64_t id = U(s->id, s->id_end);
	sc->id = id == BD_UNKNOWN || id > UINT32_MAX ? 0 : (uint32_t)id;
	sc->current = BD_PID_NONE;
	sc->utilization = NAN;
	sc->rq_max = sc->rq_high = sc->rq_normal = sc->rq_low = sc->rq_port = BD_UNKNOWN;
	const char *cur = s->body;
	line l;
	while (next_line(&cur, s->end, &l)) {
		if (l.val)
			apply_fields(r, sched_fields, NF(sched_fields), sc, &l, &cur, s->end);
		else if (l.end - l.p >= 13 && memcmp(l.p, "** crashed **", 13) == 0)
			sc->crashed = 1;
	}
	if (sc->current_port && !*sc->current_port)
		sc->current_port = NULL;
}

/* ---- memory, tables, areas ---- */
static const field memory_fields[] = {
	{K("total"), F_U64, offsetof(bd_memory, total), NULL},
	{K("processes"), F_U64, offsetof(bd_memory, processes), NULL},
	{K("processes_used"), F_U64, offsetof(bd_memory, processes_used), NULL},
	{K("system"), F_U64, offsetof(bd_memory, system), NULL},
	{K("atom"), F_U64, offsetof(bd_memory, atom), NULL},
	{K("atom_used"), F_U64, offsetof(bd_memory, atom_used), NULL},
	{K("binary"), F_U64, offsetof(bd_memory, binary), NULL},
	{K("code"), F_U64, offsetof(bd_memory, code), NULL},
	{K("ets"), F_U64, offsetof(bd_memory, ets), NULL},
	{K("maximum"), F_U64, offsetof(bd_memory, maximum), NULL},
};

static void parse_kv_section(cd_reader *r, const cd_section *s, const field *f, size_t nf,
			     void *row)
{
	const char *cur = s->body;
	line l;
	while (next_line(&cur, s->end, &l))
		if (l.val)
			apply_fields(r, f, nf, row, &l, &cur, s->end);
}

static const field table_fields[] = {
	{K("size"), F_U64, offsetof(bd_table_stat, size), NULL},
	{K("used"), F_U64, offsetof(bd_table_stat, used), NULL},
	{K("objs"), F_U64, offsetof(bd_table_stat, objs), NULL},
	{K("depth"), F_U64, offsetof(bd_table_stat, depth), NULL},
	{K("limit"), F_U64, offsetof(bd_table_stat, limit), NULL},
	{K("entries"), F_U64, offsetof(bd_table_stat, entries), NULL},
	{K("rate"), F_U64, offsetof(bd_table_stat, rate), NULL},
};

static void parse_table(cd_reader *r, const cd_section *s, int index)
{
	bd_table_stat *t = bd_vec_push(&r->m->table_stats);
	if (!t)
		return skipped(r, s, "table stats full");
	t->size = t->used = t->objs = t->depth = t->limit = t->entries = t->rate = BD_UNKNOWN;
	t->index = index;
	t->name = S(r, s->id, s->id_end);
	parse_kv_section(r, s, table_fields, NF(table_fields), t);
}

static void parse_areas(cd_reader *r, const cd_section *s)
{
	const char *cur = s->body;
	line l;
	while (next_line(&cur, s->end, &l)) {
		if (!l.val)
			continue;
		bd_area *a = bd_vec_push(&r->m->areas);
		if (!a)
			return skipped(r, s, "allocated areas full");
		a->name = S(r, l.key, l.key_end);
		const char *p = l.val;
		uint64_t v;
		a->allocated = a->used = BD_UNKNOWN;
		if ((p = bd_parse_u64(p, l.val_end, &v))) {
			a->allocated = v;
			while (p < l.val_end && *p == ' ')
				p++;
			if (bd_parse_u64(p, l.val_end, &v))
				a->used = v;
		}
	}
}

static void parse_allocator(cd_reader *r, const cd_section *s)
{
	/* Id is "name", "name[N]" or "erts_mmap.x". */
	const char *id = s->id, *ie = s->id_end, *br = memchr(id, '[', (size_t)(ie - id));
	const char *alloc = S(r, id, br ? br : ie);
	int inst = br ? (int)U(br + 1, ie) : -1;
	const char *cur = s->body;
	line l;
	while (next_line(&cur, s->end, &l)) {
		if (!l.val)
			continue;
		bd_alloc_stat *st = bd_vec_push(&r->m->alloc_stats);
		if (!st)
			return skipped(r, s, "allocator table full");
		st->alloc = alloc;
		st->instance = inst;
		st->key = S(r, l.key, l.key_end);
		st->v[0] = st->v[1] = st->v[2] = BD_UNKNOWN;
		const char *p = l.val;
		int k = 0, numeric = 1;
		while (p < l.val_end && k < 3) {
			uint64_t v;
			const char *q = bd_parse_u64(p, l.val_end, &v);
			if (!q || (q < l.val_end && *q != ' ')) {
				numeric = 0;
				break;
			}
			st->v[k++] = v;
			p = q;
			while (p < l.val_end && *p == ' ')
				p++;
		}
		if (!numeric || k == 0 || p < l.val_end) {
			st->v[0] = st->v[1] = st->v[2] = BD_UNKNOWN;
			st->text = S(r, l.val, l.val_end);
		}
	}
}

/* ---- links and monitors ---- */
static const char *skip_atom(const char *p, const char *e)
{
	if (p < e && *p == '\'') {
		for (p++; p < e; p++) {
			if (*p == '\\' && p + 1 < e)
				p++;
			else if (*p == '\'')
				return p + 1;
		}
		return e;
	}
	while (p < e && *p != ',' && *p != '}' && *p != ']')
		p++;
	return p;
}

static const char *skip_id(const char *p, const char *e)
{
	/* <a.b.c>, #Port<a.b>, #Ref<...>, [] or an atom */
	if (p < e && (*p == '<' || *p == '#')) {
		const char *q = memchr(p, '>', (size_t)(e - p));
		return q ? q + 1 : e;
	}
	if (e - p >= 2 && p[0] == '[' && p[1] == ']')
		return p + 2;
	return skip_atom(p, e);
}

static int parse_target(cd_reader *r, bd_link *lk, const char *p, const char *e)
{
	bd_pid id;
	if (e - p > 6 && memcmp(p, "#Port<", 6) == 0 && bd_pid_parse(p + 5, (size_t)(e - p - 5), &id) == 0) {
		lk->target_kind = BD_TGT_PORT;
		lk->id = id;
	} else if (p < e && *p == '<' && bd_pid_parse(p, (size_t)(e - p), &id) == 0) {
		lk->target_kind = BD_TGT_PID;
		lk->id = id;
	} else if (p < e && *p == '{') {
		/* {Name,Node} or {Module,Type} */
		const char *a = p + 1, *ae = skip_atom(a, e);
		const char *b = ae < e && *ae == ',' ? ae + 1 : ae, *be = skip_atom(b, e);
		lk->target_kind = BD_TGT_NAME;
		lk->name = S(r, a, ae);
		lk->node = S(r, b, be);
	} else if (e - p > 2 && p[0] == '0' && p[1] == 'x') {
		lk->target_kind = BD_TGT_RESOURCE;
		lk->name = S(r, p, e);
	} else {
		lk->target_kind = BD_TGT_NODE;
		lk->name = S(r, p, e);
	}
	return 0;
}

/* "[<0.1.0>, {to,<0.2.0>,#Ref<..>}, {from,{a,'n@h'},#Ref<..>}, #Port<0.3>]" */
static void parse_link_list(cd_reader *r, uint32_t *first, uint32_t *count, const char *p,
			    const char *e)
{
	*first = (uint32_t)r->m->links.len;
	*count = 0;
	while (p < e && (*p == '[' || *p == ' '))
		p++;
	while (p < e && *p != ']') {
		bd_link *lk = bd_vec_push(&r->m->links);
		if (!lk)
			return;
		const char *item = p;
		if (*p == '{') {
			const char *k = p + 1, *ke = memchr(k, ',', (size_t)(e - k));
			if (!ke)
				ke = e;
			lk->kind = (ke - k == 2 && memcmp(k, "to", 2) == 0) ? BD_MON_TO : BD_MON_FROM;
			const char *t = ke + 1 <= e ? ke + 1 : e;
			const char *te;
			if (t < e && *t == '{') {
				te = memchr(t, '}', (size_t)(e - t));
				te = te ? te + 1 : e;
			} else {
				te = skip_id(t, e);
			}
			parse_target(r, lk, t, te);
			const char *rf = te < e && *te == ',' ? te + 1 : te;
			const char *re = skip_id(rf, e);
			if (re - rf == 2 && memcmp(rf, "[]", 2) == 0) {
				if (lk->target_kind == BD_TGT_NODE)
					lk->kind = BD_MON_NODE;
			} else if (re > rf) {
				lk->ref = S(r, rf, re);
			}
			p = re;
			while (p < e && *p != '}')
				p++;
			if (p < e)
				p++;
		} else {
			const char *ie = skip_id(p, e);
			lk->kind = BD_LINK;
			parse_target(r, lk, p, ie);
			p = ie;
		}
		(*count)++;
		if (p == item) /* no progress: give up on the rest */
			break;
		while (p < e && (*p == ',' || *p == ' '))
			p++;
	}
}

/* ---- processes ---- */
static bd_proc_state parse_state(const char *p, const char *e)
{
	static const struct { const char *n; bd_proc_state s; } st[] = {
		{"Running", BD_PS_RUNNING},     {"Scheduled", BD_PS_SCHEDULED},
		{"Waiting", BD_PS_WAITING},     {"Exiting", BD_PS_EXITING},
		{"Garbing", BD_PS_GARBING},     {"Suspended", BD_PS_SUSPENDED},
		{"Non Existing", BD_PS_NONEXISTING}, {"Undefined", BD_PS_UNDEFINED},
	};
	for (size_t i = 0; i < NF(st); i++)
		if ((size_t)(e - p) == strlen(st[i].n) && memcmp(p, st[i].n, (size_t)(e - p)) == 0)
			return st[i].s;
	return BD_PS_UNKNOWN;
}

/* A =proc section fills a table row and, on request, the rest (bd_proc_ext). */
typedef struct cd_procrow {
	bd_proc p;
	bd_proc_ext x;
} cd_procrow;

static void proc_state(cd_reader *r, void *row, const line *l, const char **c, const char *e)
{
	(void)r, (void)c, (void)e;
	((cd_procrow *)row)->p.state = parse_state(l->val, l->val_end);
}

static void proc_links(cd_reader *r, void *row, const line *l, const char **c, const char *e)
{
	bd_proc *p = &((cd_procrow *)row)->p;
	(void)c, (void)e;
	parse_link_list(r, &p->link_first, &p->link_count, l->val, l->val_end);
}

static void proc_pc(cd_reader *r, void *row, const line *l, const char **c, const char *e)
{
	bd_proc *p = &((cd_procrow *)row)->p;
	(void)c, (void)e;
	const char *a = memchr(l->val, '(', (size_t)(l->val_end - l->val));
	const char *b = l->val_end;
	if (!a || b <= a + 1 || b[-1] != ')') {
		p->pc = S(r, l->val, l->val_end);
		return;
	}
	p->pc = S(r, a + 1, b - 1);
	const char *plus = p->pc;
	const char *sp = strstr(plus, " + ");
	/* A hibernated process has no code address: the VM prints "unknown function" and
	 * says erlang:hibernate/3 in the Current call line before it, which is also what
	 * process_info(P, current_function) answers. */
	if (p->pc && !strcmp(p->pc, "unknown function"))
		p->pc_mfa = p->current_call;
	else if (*plus != '<')
		p->pc_mfa = sp ? bd_model_intern(r->m, plus, (size_t)(sp - plus)) : p->pc;
}

static void proc_last_calls(cd_reader *r, void *row, const line *l, const char **cur,
			    const char *end)
{
	/* "Last calls: m:f/a" then one item per line, ending with an empty line. */
	char buf[1024];
	size_t n = 0;
	line t;
	n += (size_t)snprintf(buf, sizeof buf, "%.*s", (int)(l->val_end - l->val), l->val);
	int keep = r->ext;
	while (*cur < end) {
		const char *save = *cur;
		next_line(cur, end, &t);
		if (t.end == t.p)
			break;
		if (t.val) {
			*cur = save;
			break;
		}
		const char *s = t.p;
		while (s < t.end && *s == ' ')
			s++;
		if (keep && n < sizeof buf - 2)
			n += (size_t)snprintf(buf + n, sizeof buf - n, ", %.*s", (int)(t.end - s), s);
	}
	if (n >= sizeof buf)
		n = sizeof buf - 1;
	if (keep)
		((cd_procrow *)row)->x.last_calls = bd_model_intern_late(r->m, buf, n);
}

static void proc_old_bin_unused(cd_reader *r, void *row, const line *l, const char **c,
				const char *e)
{
	(void)r, (void)c, (void)e;
	/* "overflow" when negative: unknown. */
	((cd_procrow *)row)->x.old_bin_vheap_unused = U(l->val, l->val_end);
}

#define PF(f) offsetof(cd_procrow, p.f)
#define XF(f) offsetof(cd_procrow, x.f)
static const field proc_fields[] = {
	{K("State"), F_FN, 0, proc_state},
	{K("Name"), F_STR, PF(name), NULL},
	{K("Spawned as"), F_STR, PF(spawned_as), NULL},
	{K("Current call"), F_STR, PF(current_call), NULL},
	{K("Last scheduled in for"), F_STR, PF(current_call), NULL},
	{K("Spawned by"), F_PID, PF(spawned_by), NULL},
	{K("Message queue length"), F_U64, PF(msgq_len), NULL},
	{K("Number of heap fragments"), F_U64 | F_EXT, XF(heap_frags), NULL},
	{K("Heap fragment data"), F_U64, PF(heap_frag_data), NULL},
	{K("Last calls"), F_FN | F_EXT, 0, proc_last_calls},
	{K("Link list"), F_FN, 0, proc_links},
	{K("Reductions"), F_U64, PF(reductions), NULL},
	{K("Stack+heap"), F_U64, PF(stack_heap), NULL},
	{K("OldHeap"), F_U64, PF(old_heap), NULL},
	{K("Heap unused"), F_U64 | F_EXT, XF(heap_unused), NULL},
	{K("OldHeap unused"), F_U64 | F_EXT, XF(old_heap_unused), NULL},
	{K("BinVHeap"), F_U64, PF(bin_vheap), NULL},
	{K("OldBinVHeap"), F_U64, PF(old_bin_vheap), NULL},
	{K("BinVHeap unused"), F_U64 | F_EXT, XF(bin_vheap_unused), NULL},
	{K("OldBinVHeap unused"), F_FN | F_EXT, 0, proc_old_bin_unused},
	{K("Memory"), F_U64, PF(memory), NULL},
	{K("Program counter"), F_FN, 0, proc_pc},
	{K("Internal State"), F_STR | F_EXT, XF(internal_state), NULL},
	{K("Started"), F_STR | F_EXT, XF(started), NULL},
	{K("CP"), F_STR | F_EXT, XF(cp), NULL},
	{K("Run queue"), F_STR | F_EXT, XF(run_queue), NULL},
};

static void proc_init(cd_procrow *row)
{
	bd_proc *p = &row->p;
	p->spawned_by = BD_PID_NONE;
	p->msgq_len = p->reductions = p->stack_heap = p->old_heap = p->bin_vheap =
		p->old_bin_vheap = p->memory = p->heap_frag_data = BD_UNKNOWN;
	bd_proc_ext *x = &row->x;
	x->heap_unused = x->old_heap_unused = x->bin_vheap_unused = x->old_bin_vheap_unused =
		x->heap_frags = x->arity = BD_UNKNOWN;
}

/* The table row (r->ext == 0) or the rest (r->ext == 1) of one =proc section. */
static void parse_proc_fields(cd_reader *r, const cd_section *s, cd_procrow *row)
{
	proc_init(row);
	row->p.pid = PID(s->id, s->id_end);
	row->p.src_off = s->hdr_off;
	const char *cur = s->body;
	line l;
	while (next_line(&cur, s->end, &l)) {
		if (l.val) {
			apply_fields(r, proc_fields, NF(proc_fields), row, &l, &cur, s->end);
		} else if (r->ext && l.end - l.p > 8 && memcmp(l.p, "arity = ", 8) == 0) {
			row->x.arity = U(l.p + 8, l.end);
		}
	}
}

static void parse_proc_into(cd_reader *r, const cd_section *s, bd_proc *p)
{
	cd_procrow row = {0};
	parse_proc_fields(r, s, &row);
	*p = row.p;
}

int cd_proc_ext(const bd_model *m, const bd_proc *p, bd_proc_ext *out)
{
	const char *base;
	size_t size;
	uint64_t off = p->src_off;
	/* Through the model: a model from the cache opens its dump on first use. */
	if (bd_model_span_text(m, (bd_span){0, m->node.input_size}, &base, &size) ||
	    off == BD_UNKNOWN || off >= size || size - off < 7 || memcmp(base + off, "=proc:", 6))
		return 0;
	const char *hdr = base + off, *end = base + size;
	const char *eol = memchr(hdr, '\n', (size_t)(end - hdr));
	if (!eol)
		return 0;
	cd_reader r = {0};
	r.m = (bd_model *)m; /* only interned into, under the model's late lock */
	r.base = base;
	r.size = size;
	r.ext = 1;
	r.late = 1;
	const char *id = hdr + 6, *id_end = eol > id && eol[-1] == '\r' ? eol - 1 : eol;
	cd_section s = {CD_PROC, id, id_end, eol + 1, cd_section_end(eol + 1, end), off};
	cd_procrow row = {0};
	parse_proc_fields(&r, &s, &row);
	*out = row.x;
	return 0;
}

/* =proc sections are most of the eager work on a big dump. They are queued while
 * scanning and parsed in two halves on two threads when the run of =proc sections
 * ends. The second half writes its strings and links into a private model, merged
 * (re-interned) afterwards so that equal text stays one pointer. */
typedef struct proc_job {
	cd_reader r;
	const cd_section *secs;
	bd_proc *rows;
	size_t n;
} proc_job;

static void *proc_worker(void *arg)
{
	proc_job *j = arg;
	for (size_t i = 0; i < j->n; i++)
		parse_proc_into(&j->r, &j->secs[i], &j->rows[i]);
	return NULL;
}

static const char *reintern(bd_model *m, const char *s)
{
	return s ? bd_model_intern(m, s, strlen(s)) : NULL;
}

static void merge_private(bd_model *m, bd_model *pm, bd_proc *rows, size_t n)
{
	size_t nl, base_links = m->links.len;
	const bd_link *pl = bd_model_links(pm, &nl);
	for (size_t i = 0; i < nl; i++) {
		bd_link *l = bd_vec_push(&m->links);
		if (!l)
			break;
		*l = pl[i];
		l->name = reintern(m, l->name);
		l->node = reintern(m, l->node);
		l->ref = reintern(m, l->ref);
	}
	for (size_t i = 0; i < n; i++) {
		bd_proc *p = &rows[i];
		p->name = reintern(m, p->name);
		p->spawned_as = reintern(m, p->spawned_as);
		p->current_call = reintern(m, p->current_call);
		p->pc = reintern(m, p->pc);
		p->pc_mfa = reintern(m, p->pc_mfa);
		if (p->link_count)
			p->link_first += (uint32_t)base_links;
	}
	m->node.skipped += pm->node.skipped;
	if (!m->node.skipped_first && pm->node.skipped_first)
		m->node.skipped_first = reintern(m, pm->node.skipped_first);
}

void cd_flush_procs(cd_reader *r)
{
	size_t n = r->proc_secs.len;
	if (!n)
		return;
	if (r->attached) {
		/* More rows after the data sections: summaries under way end first. */
		bd_prefetch_free(r->prefetch);
		r->prefetch = NULL;
		r->attached = NULL;
	}
	const cd_section *secs = r->proc_secs.data;
	bd_model *m = r->m;
	size_t base = m->procs.len;
	for (size_t i = 0; i < n; i++)
		if (!bd_vec_push(&m->procs)) {
			skipped(r, &secs[i], "process table full");
			n = i;
			break;
		}
	bd_proc *rows = &BD_VEC_AT(&m->procs, bd_proc, base);
	size_t half = n >= 20000 ? n / 2 : n;
	bd_model *pm = half < n ? bd_model_new() : NULL;
	pthread_t tid;
	proc_job job = {*r, secs + half, rows + half, n - half};
	job.r.m = pm;
	int threaded = pm && pthread_create(&tid, NULL, proc_worker, &job) == 0;
	if (!threaded)
		half = n;
	for (size_t i = 0; i < half; i++)
		parse_proc_into(r, &secs[i], &rows[i]);
	if (threaded) {
		pthread_join(tid, NULL);
		merge_private(m, pm, rows + half, n - half);
	}
	bd_model_free(pm);
	if (bd_model_index_procs(m, base))
		skipped(r, &secs[0], "no memory for the process index");
	r->proc_secs.len = 0;
}

static void queue_proc(cd_reader *r, const cd_section *s)
{
	/* The table's cap follows the input size (model.c); the queue is parsed in
	 * batches, so a run of millions of =proc sections costs rows, not a queue too. */
	if (r->m->procs.len + r->proc_secs.len >= r->m->procs.max && !cd_more_room(r)) {
		cd_flush_procs(r); /* the pages behind can go */
		return skipped(r, s, "more processes than a dump of this size holds");
	}
	/* 32 k sections (about 15 MB of text): the pages behind a batch go once it is
	 * parsed, so the resident set does not grow with the process table's text. */
	if (r->proc_secs.len >= (1u << 15))
		cd_flush_procs(r);
	cd_section *q = bd_vec_push(&r->proc_secs);
	if (!q)
		return skipped(r, s, "process table full");
	*q = *s;
}

static void attach_proc_data(cd_reader *r, const cd_section *s)
{
	bd_pid pid = PID(s->id, s->id_end);
	bd_proc *p = NULL;
	/* Data sections follow the process table order: try the current and the next
	 * process before the hash lookup. */
	size_t np = r->m->procs.len;
	for (size_t k = r->proc_hint; k < r->proc_hint + 2 && k < np && !p; k++)
		if (bd_pid_eq(BD_VEC_AT(&r->m->procs, bd_proc, k).pid, pid))
			p = &BD_VEC_AT(&r->m->procs, bd_proc, k);
	int64_t row;
	if (!p && (row = bd_model_pid_row(r->m, pid)) >= 0)
		p = &BD_VEC_AT(&r->m->procs, bd_proc, row);
	if (!p)
		return skipped(r, s, "data section for an unknown process");
	r->proc_hint = (size_t)(p - &BD_VEC_AT(&r->m->procs, bd_proc, 0));
	if (r->prefetch && r->attached != p) {
		bd_prefetch_choose(r->prefetch);
		bd_prefetch_proc(r->prefetch, r->attached); /* its sections are all read */
		r->attached = p;
	}
	bd_span sp = {(uint64_t)(s->body - r->base), (uint64_t)(s->end - s->body)};
	switch (s->tag) {
	case CD_PROC_MESSAGES:
		p->sec_messages = sp;
		break;
	case CD_PROC_DICTIONARY:
		p->sec_dictionary = sp;
		break;
	case CD_PROC_STACK:
		p->sec_stack = sp;
		break;
	default:
		p->sec_heap = sp;
		break;
	}
}

/* ---- ports ---- */
static void port_pids(cd_reader *r, bd_port *pt, const char *p, const char *e, uint8_t kind)
{
	/* "<0.1.0><0.2.0>" or "(<0.1.0>,#Ref<...>)(...)" */
	if (!pt->link_count)
		pt->link_first = (uint32_t)r->m->links.len;
	while (p < e) {
		const char *lt = memchr(p, '<', (size_t)(e - p));
		if (!lt)
			break;
		const char *gt = memchr(lt, '>', (size_t)(e - lt));
		if (!gt)
			break;
		bd_pid id;
		if (bd_pid_parse(lt, (size_t)(gt + 1 - lt), &id) == 0 && (lt == p || lt[-1] != 'f') /* not #Ref<> */) {
			bd_link *lk = bd_vec_push(&r->m->links);
			if (!lk)
				return;
			lk->kind = kind;
			lk->target_kind = BD_TGT_PID;
			lk->id = id;
			pt->link_count++;
		}
		p = gt + 1;
	}
}

static void port_field(cd_reader *r, bd_port *pt, const line *l)
{
	static const struct { const char *prefix, *kind; } controls[] = {
		{"Port controls linked-in driver", "driver"},
		{"Port controls external process", "external"},
		{"Port controls forker process", "forker"},
		{"Port is UNIX fd not opened by emulator", "fd"},
		{"Port is a file", "file"},
	};
	for (size_t i = 0; i < NF(controls); i++) {
		if (key_is(l, controls[i].prefix)) {
			pt->kind = controls[i].kind;
			pt->driver = S(r, l->val, l->val_end);
			return;
		}
	}
	if (key_is(l, "State"))
		pt->state = S(r, l->val, l->val_end);
	else if (key_is(l, "Task Flags"))
		pt->task_flags = S(r, l->val, l->val_end);
	else if (key_is(l, "Slot"))
		pt->slot = U(l->val, l->val_end);
	else if (key_is(l, "Connected"))
		pt->connected = PID(l->val, l->val_end);
	else if (key_is(l, "Links"))
		port_pids(r, pt, l->val, l->val_end, BD_LINK);
	else if (key_is(l, "Monitors"))
		port_pids(r, pt, l->val, l->val_end, BD_MON_FROM);
	else if (key_is(l, "Registered as"))
		pt->name = S(r, l->val, l->val_end);
	else if (key_is(l, "Input"))
		pt->input = U(l->val, l->val_end);
	else if (key_is(l, "Output"))
		pt->output = U(l->val, l->val_end);
	else if (key_is(l, "Queue"))
		pt->queue = U(l->val, l->val_end);
	else if (key_is(l, "Port Data"))
		pt->port_data = S(r, l->val, l->val_end);
}

static void parse_port(cd_reader *r, const cd_section *s)
{
	bd_port *pt = bd_vec_push(&r->m->ports);
	if (!pt)
		return skipped(r, s, "port table full");
	bd_pid id;
	pt->id = (s->id_end - s->id > 5 && bd_pid_parse(s->id + 5, (size_t)(s->id_end - s->id - 5), &id) == 0) ? id : BD_PID_NONE;
	pt->connected = BD_PID_NONE;
	pt->slot = pt->input = pt->output = pt->queue = BD_UNKNOWN;
	const char *cur = s->body;
	line l;
	while (next_line(&cur, s->end, &l))
		if (l.val)
			port_field(r, pt, &l);
}

/* ---- ETS ---- */
static void ets_tree(cd_reader *r, void *row, const line *l, const char **c, const char *e)
{
	(void)r, (void)l, (void)c, (void)e;
	((bd_ets *)row)->tree_nodes++;
}

static void ets_fixed(cd_reader *r, void *row, const line *l, const char **c, const char *e)
{
	(void)r, (void)c, (void)e;
	((bd_ets *)row)->fixed = U(l->val, l->val_end); /* "false" stays unknown */
}

#define ETS_DBL(fname, member)                                                      \
	static void fname(cd_reader *r, void *row, const line *l, const char **c,       \
			  const char *e)                                                \
	{                                                                               \
		char buf[64];                                                           \
		(void)r, (void)c, (void)e;                                              \
		snprintf(buf, sizeof buf, "%.*s", (int)(l->val_end - l->val), l->val);  \
		char *q;                                                                \
		double d = strtod(buf, &q);                                             \
		((bd_ets *)row)->member = q == buf ? NAN : d;                           \
	}
ETS_DBL(ets_avg, chain_avg)
ETS_DBL(ets_sd, chain_stddev)
ETS_DBL(ets_esd, chain_expected_stddev)

static const field ets_fields[] = {
	{K("Slot"), F_U64, offsetof(bd_ets, slot), NULL},
	{K("Table"), F_STR, offsetof(bd_ets, table), NULL},
	{K("Name"), F_STR, offsetof(bd_ets, name), NULL},
	{K("Buckets"), F_U64, offsetof(bd_ets, buckets), NULL},
	{K("Chain Length Avg"), F_FN, 0, ets_avg},
	{K("Chain Length Max"), F_U64, offsetof(bd_ets, chain_max), NULL},
	{K("Chain Length Min"), F_U64, offsetof(bd_ets, chain_min), NULL},
	{K("Chain Length Std Dev"), F_FN, 0, ets_sd},
	{K("Chain Length Expected Std Dev"), F_FN, 0, ets_esd},
	{K("Fixed"), F_FN, 0, ets_fixed},
	{K("Ordered set (AVL tree), Elements"), F_FN, 0, ets_tree},
	{K("Objects"), F_U64, offsetof(bd_ets, objects), NULL},
	{K("Words"), F_U64, offsetof(bd_ets, words), NULL},
	{K("Type"), F_STR, offsetof(bd_ets, type), NULL},
	{K("Protection"), F_STR, offsetof(bd_ets, protection), NULL},
	{K("Compressed"), F_STR, offsetof(bd_ets, compressed), NULL},
	{K("Write Concurrency"), F_STR, offsetof(bd_ets, write_concurrency), NULL},
	{K("Read Concurrency"), F_STR, offsetof(bd_ets, read_concurrency), NULL},
};

static void parse_ets(cd_reader *r, const cd_section *s)
{
	bd_ets *t = bd_vec_push(&r->m->ets);
	if (!t)
		return skipped(r, s, "ETS table list full");
	t->owner = PID(s->id, s->id_end);
	t->slot = t->objects = t->words = t->buckets = t->chain_max = t->chain_min = t->fixed =
		BD_UNKNOWN;
	t->chain_avg = t->chain_stddev = t->chain_expected_stddev = NAN;
	parse_kv_section(r, s, ets_fields, NF(ets_fields), t);
	/* Words: -1 means the writer could not tell (usually truncated nearby). */
	t->named = t->table && t->name && t->table == t->name;
}

/* ---- timers, distribution, modules, funs ---- */
static void parse_timer(cd_reader *r, const cd_section *s)
{
	bd_timer *t = bd_vec_push(&r->m->timers);
	if (!t)
		return skipped(r, s, "timer list full");
	t->owner = S(r, s->id, s->id_end);
	t->owner_pid = PID(s->id, s->id_end);
	t->time_left_ms = BD_UNKNOWN;
	const char *cur = s->body;
	line l;
	while (next_line(&cur, s->end, &l)) {
		if (!l.val)
			continue;
		if (key_is(&l, "Message"))
			t->message = S(r, l.val, l.val_end);
		else if (key_is(&l, "Time left"))
			t->time_left_ms = U(l.val, l.val_end);
	}
}

static void dist_entry(cd_reader *r, bd_dist *d, const char *kind, const line *l)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s %.*s", kind, (int)(l->val_end - l->val), l->val);
	const char **slot = bd_vec_push(&r->m->strings);
	if (!slot)
		return;
	if (!d->entry_count)
		d->entry_first = (uint32_t)(r->m->strings.len - 1);
	*slot = bd_model_intern(r->m, buf, strlen(buf));
	d->entry_count++;
}

static void parse_dist(cd_reader *r, const cd_section *s, bd_dist_kind kind)
{
	bd_dist *d = bd_vec_push(&r->m->dists);
	if (!d)
		return skipped(r, s, "node list full");
	r->m->node.distributed = 1;
	d->kind = kind;
	d->channel = (uint32_t)U(s->id, s->id_end);
	const char *cur = s->body;
	line l;
	while (next_line(&cur, s->end, &l)) {
		if (!l.val)
			continue;
		if (key_is(&l, "Name"))
			d->name = S(r, l.val, l.val_end);
		else if (key_is(&l, "Controller"))
			d->controller = S(r, l.val, l.val_end);
		else if (key_is(&l, "Creation"))
			d->creation = S(r, l.val, l.val_end);
		else if (key_is(&l, "Remote link") && ++d->remote_links)
			dist_entry(r, d, "link", &l);
		else if (key_is(&l, "Remote monitoring") && ++d->remote_monitors)
			dist_entry(r, d, "monitoring", &l);
		else if (key_is(&l, "Remotely monitored by") && ++d->remotely_monitored_by)
			dist_entry(r, d, "monitored_by", &l);
	}
}

static void parse_mod(cd_reader *r, const cd_section *s)
{
	bd_module *md = bd_vec_push(&r->m->modules);
	if (!md)
		return skipped(r, s, "module list full");
	md->name = S(r, s->id, s->id_end);
	md->current_size = md->old_size = BD_UNKNOWN;
	const char *cur = s->body;
	line l;
	while (next_line(&cur, s->end, &l)) {
		if (!l.val)
			continue;
		bd_span sp = {(uint64_t)(l.val - r->base), (uint64_t)(l.val_end - l.val)};
		if (key_is(&l, "Current size"))
			md->current_size = U(l.val, l.val_end);
		else if (key_is(&l, "Old size"))
			md->old_size = U(l.val, l.val_end);
		else if (key_is(&l, "Current attributes"))
			md->attributes = sp;
		else if (key_is(&l, "Current compilation info"))
			md->compile_info = sp;
		else if (key_is(&l, "Old attributes"))
			md->old_attributes = sp;
		else if (key_is(&l, "Old compilation info"))
			md->old_compile_info = sp;
	}
}

static const field fun_fields[] = {
	{K("Module"), F_STR, offsetof(bd_fun, module), NULL},
	{K("Uniq"), F_U64, offsetof(bd_fun, uniq), NULL},
	{K("Index"), F_U64, offsetof(bd_fun, index), NULL},
	{K("Address"), F_STR, offsetof(bd_fun, address), NULL},
	{K("Refc"), F_U64, offsetof(bd_fun, refc), NULL},
};

static void parse_fun(cd_reader *r, const cd_section *s)
{
	bd_fun *f = bd_vec_push(&r->m->funs);
	if (!f)
		return skipped(r, s, "fun list full");
	f->uniq = f->index = f->refc = BD_UNKNOWN;
	parse_kv_section(r, s, fun_fields, NF(fun_fields), f);
}

/* ---- binaries ---- */
static void parse_binary(cd_reader *r, const cd_section *s)
{
	uint64_t addr, size;
	const char *p = bd_parse_hex(s->id, s->id_end, &addr);
	if (!p)
		return skipped(r, s, "bad binary address");
	const char *q = bd_parse_hex(s->body, s->end, &size);
	if (!q || q >= s->end || *q != ':')
		return skipped(r, s, "bad binary size");
	const char *d = q + 1, *e = s->end;
	const char *nl = memchr(d, '\n', (size_t)(e - d));
	if (nl)
		e = nl;
	if (e > d && e[-1] == '\r')
		e--;
	bd_binary *b = bd_vec_push(&r->m->binaries);
	if (!b)
		return skipped(r, s, "binary list full");
	b->addr = addr;
	b->size = size;
	b->data = (bd_span){(uint64_t)(d - r->base), (uint64_t)(e - d)};
}

static bd_span body_span(cd_reader *r, const cd_section *s)
{
	return (bd_span){(uint64_t)(s->body - r->base), (uint64_t)(s->end - s->body)};
}

void cd_section_parse(cd_reader *r, const cd_section *s)
{
	bd_model *m = r->m;
	if (s->tag != CD_PROC)
		cd_flush_procs(r);
	if (r->attached && (s->tag < CD_PROC_MESSAGES || s->tag > CD_PROC_HEAP)) {
		bd_prefetch_proc(r->prefetch, r->attached); /* the last process with data */
		r->attached = NULL;
	}
	switch (s->tag) {
	case CD_HEADER:
		return parse_header(r, s);
	case CD_SCHEDULER:
		return parse_sched(r, s, BD_SCHED_NORMAL);
	case CD_DIRTY_CPU_SCHED:
		return parse_sched(r, s, BD_SCHED_DIRTY_CPU);
	case CD_DIRTY_IO_SCHED:
		return parse_sched(r, s, BD_SCHED_DIRTY_IO);
	case CD_OTHER_SCHED:
		return parse_sched(r, s, BD_SCHED_OTHER);
	case CD_DIRTY_CPU_RQ:
		return parse_sched(r, s, BD_SCHED_DIRTY_CPU_RQ);
	case CD_DIRTY_IO_RQ:
		return parse_sched(r, s, BD_SCHED_DIRTY_IO_RQ);
	case CD_MEMORY:
		return parse_kv_section(r, s, memory_fields, NF(memory_fields), &m->mem);
	case CD_HASH_TABLE:
		return parse_table(r, s, 0);
	case CD_INDEX_TABLE:
		return parse_table(r, s, 1);
	case CD_ALLOCATED_AREAS:
		return parse_areas(r, s);
	case CD_ALLOCATOR:
		return parse_allocator(r, s);
	case CD_PROC:
		return queue_proc(r, s);
	case CD_PORT:
		return parse_port(r, s);
	case CD_ETS:
		return parse_ets(r, s);
	case CD_TIMER:
		return parse_timer(r, s);
	case CD_NODE:
		m->node.node_name = S(r, s->id, s->id_end);
		return;
	case CD_VISIBLE_NODE:
		return parse_dist(r, s, BD_DIST_VISIBLE);
	case CD_HIDDEN_NODE:
		return parse_dist(r, s, BD_DIST_HIDDEN);
	case CD_NOT_CONNECTED:
		return parse_dist(r, s, BD_DIST_NOT_CONNECTED);
	case CD_MOD:
		return parse_mod(r, s);
	case CD_FUN:
		return parse_fun(r, s);
	case CD_PROC_MESSAGES:
	case CD_PROC_DICTIONARY:
	case CD_PROC_STACK:
	case CD_PROC_HEAP:
		return attach_proc_data(r, s);
	case CD_PERSISTENT_TERMS:
		m->persistent_terms = body_span(r, s);
		return;
	case CD_LITERALS:
		m->literals = body_span(r, s);
		return;
	case CD_BINARY:
		return parse_binary(r, s);
	case CD_ATOMS:
		m->atoms = body_span(r, s);
		return;
	case CD_ABORT:
		r->abort_reason = S(r, s->id, s->id_end);
		r->abort_off = s->hdr_off;
		return;
	case CD_NO_DIST:
	case CD_LOADED_MODULES:
	case CD_LEGACY:
	case CD_UNKNOWN:
	case CD_END:
	case CD_NONE:
		return;
	}
}

void cd_finish_truncation(cd_reader *r)
{
	bd_node_info *n = &r->m->node;
	if (r->seen_end && !r->abort_reason)
		return;
	n->truncated = 1;
	n->abort_reason = r->abort_reason;
	n->truncated_at = r->abort_reason ? r->abort_off : r->size;
	const cd_section *t = &r->last_tag;
	if (t->tag != CD_NONE && t->id) {
		/* Name the last section we entered: "=tag:id". */
		const char *hdr = r->base + t->hdr_off;
		const char *eol = memchr(hdr, '\n', (size_t)(r->size - t->hdr_off));
		size_t len = eol ? (size_t)(eol - hdr) : (size_t)(r->size - t->hdr_off);
		if (len > 120)
			len = 120;
		n->truncated_in = bd_model_intern(r->m, hdr, len);
	} else {
		n->truncated_in = bd_model_intern(r->m, "header", 6);
	}
}
