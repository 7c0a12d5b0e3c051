/* The model: construction, getters and lookups. Opening an input is open.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "beamdump/secret.h"
#include "int.h"

#define MAXROWS (1u << 27)

bd_model *bd_model_new(void)
{
	bd_model *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->intern.arena = &m->arena;
	m->table_stats = BD_VEC_INIT(bd_table_stat, 1u << 16);
	m->scheds = BD_VEC_INIT(bd_sched, 1u << 16);
	m->procs = BD_VEC_INIT(bd_proc, MAXROWS);
	m->links = BD_VEC_INIT(bd_link, MAXROWS);
	m->ports = BD_VEC_INIT(bd_port, MAXROWS);
	m->ets = BD_VEC_INIT(bd_ets, MAXROWS);
	m->timers = BD_VEC_INIT(bd_timer, MAXROWS);
	m->dists = BD_VEC_INIT(bd_dist, 1u << 20);
	m->modules = BD_VEC_INIT(bd_module, 1u << 22);
	m->funs = BD_VEC_INIT(bd_fun, MAXROWS);
	m->binaries = BD_VEC_INIT(bd_binary, MAXROWS);
	m->alloc_stats = BD_VEC_INIT(bd_alloc_stat, 1u << 22);
	m->areas = BD_VEC_INIT(bd_area, 1u << 16);
	m->strings = BD_VEC_INIT(const char *, MAXROWS);
	m->proc_exts = BD_VEC_INIT(bd_proc_ext, MAXROWS);
	pthread_mutex_init(&m->late_lock, NULL);
	bd_memory *mm = &m->mem;
	mm->total = mm->processes = mm->processes_used = mm->system = mm->atom = mm->atom_used =
		mm->binary = mm->code = mm->ets = mm->maximum = BD_UNKNOWN;
	m->node.atoms = BD_UNKNOWN;
	m->node.created_unix = INT64_MIN;
	bd_limits *l = &m->limits;
	l->atoms = l->atoms_limit = l->procs = l->procs_limit = l->ports = l->ports_limit =
		l->ets = l->ets_limit = BD_UNKNOWN;
	return m;
}

/* Longest string the model keeps; a longer one (a 3 GB slogan line) keeps its first
 * MODEL_STR_MAX bytes and ends in "...". No field of a real dump comes near it. */
#define MODEL_STR_MAX ((size_t)64 << 10)

const char *bd_model_intern(bd_model *m, const char *s, size_t len)
{
	const char *nul = len ? memchr(s, 0, len < MODEL_STR_MAX ? len : MODEL_STR_MAX) : NULL;
	if (!nul && len <= MODEL_STR_MAX)
		return bd_intern_str(&m->intern, s, len);
	/* Model strings are C strings: a NUL byte of the input is kept as the overlong
	 * pair C0 80 (as modified UTF-8 does), which printers show as \0 (\u0000). */
	size_t keep = len > MODEL_STR_MAX ? MODEL_STR_MAX : len;
	char *buf = malloc(2 * keep + 4);
	if (!buf)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < keep; i++) {
		if (s[i]) {
			buf[k++] = s[i];
		} else {
			buf[k++] = (char)0xC0;
			buf[k++] = (char)0x80;
		}
	}
	if (keep < len) {
		memcpy(buf + k, "...", 3);
		k += 3;
	}
	const char *r = bd_intern_str(&m->intern, buf, k);
	free(buf);
	return r;
}

const char *bd_model_intern_late(const bd_model *cm, const char *s, size_t len)
{
	bd_model *m = (bd_model *)cm; /* interning adds, never changes what is there */
	pthread_mutex_lock(&m->late_lock);
	const char *r = bd_intern_str(&m->intern, s, len);
	pthread_mutex_unlock(&m->late_lock);
	return r;
}

void bd_model_count_tag(bd_model *m, const char *tag, size_t len, uint64_t count)
{
	/* Sections come in runs of one tag: try the last one first. */
	size_t last = m->last_tag < m->ntags ? m->last_tag : 0;
	for (size_t k = 0; k < m->ntags; k++) {
		size_t i = (last + k) % m->ntags;
		if (m->tag_counts[i].len == len && memcmp(m->tag_counts[i].tag, tag, len) == 0) {
			m->tag_counts[i].count += count;
			m->last_tag = i;
			return;
		}
	}
	if (m->ntags < BD_TAG_MAXCOUNT) {
		m->tag_counts[m->ntags].tag = bd_model_intern(m, tag, len);
		m->tag_counts[m->ntags].len = len;
		m->last_tag = m->ntags;
		m->tag_counts[m->ntags++].count = count;
	}
}

uint64_t bd_model_section_count(const bd_model *m, const char *tag)
{
	for (size_t i = 0; i < m->ntags; i++)
		if (m->tag_counts[i].tag && strcmp(m->tag_counts[i].tag, tag) == 0)
			return m->tag_counts[i].count;
	return 0;
}

uint64_t bd_pid_pack(bd_pid p)
{
	/* node:16 | num:32 | serial:16 ; collisions only for absurd values */
	return ((uint64_t)(p.node & 0xffff) << 48) | ((uint64_t)p.num << 16) | (p.serial & 0xffff);
}

/* ---- pid index ---- */
static size_t pid_hash(bd_pid p)
{
	uint64_t h = ((uint64_t)p.num << 32 | p.serial) ^ ((uint64_t)p.node * 0x9e3779b97f4a7c15ull);
	h *= 0xff51afd7ed558ccdull;
	return (size_t)(h ^ (h >> 32));
}

/* A slot holds row + 1 in its low bits and 4 bits of the pid's hash above them, so
 * that a probe reads a row (a cache miss among millions) only when the tag matches. */
#define PIDX_ROW ((1u << 28) - 1)
static uint32_t pid_tag(size_t h)
{
	return (uint32_t)(h >> 60) << 28;
}

static void pidx_put(bd_pidx *x, const bd_proc *procs, uint32_t row)
{
	size_t h = pid_hash(procs[row].pid);
	uint32_t tag = pid_tag(h);
	size_t j = h & (x->cap - 1);
	for (; x->slots[j]; j = (j + 1) & (x->cap - 1)) {
		uint32_t s = x->slots[j];
		if ((s & ~PIDX_ROW) == tag && bd_pid_eq(procs[(s & PIDX_ROW) - 1].pid, procs[row].pid)) {
			x->slots[j] = tag | (row + 1); /* the last row of a pid wins */
			return;
		}
	}
	x->slots[j] = tag | (row + 1);
	x->count++;
}

int bd_model_index_procs(bd_model *m, size_t from)
{
	if (m->names_built) { /* rows added: the name maps are built again when asked */
		bd_strmap_free(&m->names_exact);
		bd_strmap_free(&m->names_inner);
		m->names_built = 0;
	}
	bd_pidx *x = &m->pid_index;
	size_t n = m->procs.len;
	const bd_proc *procs = m->procs.data;
	if (!from)
		x->count = 0;
	if (n >= PIDX_ROW)
		n = PIDX_ROW - 1;
	/* At most 3/4 full; growing re-adds every row. */
	if (n * 4 >= x->cap * 3 || !from) {
		size_t cap = 64;
		while (n * 4 >= cap * 3)
			cap *= 2;
		if (cap != x->cap || !from) {
			uint32_t *s = calloc(cap, sizeof *s);
			if (!s)
				return BD_ENOMEM;
			free(x->slots);
			x->slots = s;
			x->cap = cap;
			x->count = 0;
			from = 0;
		}
	}
	for (size_t i = from; i < n; i++)
		pidx_put(x, procs, (uint32_t)i);
	return 0;
}

int64_t bd_model_pid_row(const bd_model *m, bd_pid pid)
{
	const bd_pidx *x = &m->pid_index;
	const bd_proc *procs = m->procs.data;
	if (!x->cap)
		return -1;
	size_t h = pid_hash(pid);
	uint32_t tag = pid_tag(h);
	for (size_t j = h & (x->cap - 1); x->slots[j]; j = (j + 1) & (x->cap - 1)) {
		uint32_t s = x->slots[j];
		if ((s & ~PIDX_ROW) == tag && bd_pid_eq(procs[(s & PIDX_ROW) - 1].pid, pid))
			return (int64_t)(s & PIDX_ROW) - 1;
	}
	return -1;
}

int bd_model_finish(bd_model *m, bd_error *err)
{
	size_t n = m->procs.len;
	/* A snapshot loads its process table lazily and indexes it when it does; the
	 * crash-dump reader and the cache bring theirs. */
	if (!m->procs_load && !m->pid_index.cap && n && bd_model_index_procs(m, 0))
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory indexing %zu processes", n);
	const bd_binary *bins = bd_model_binaries(m, &n);
	for (size_t i = 0; i < n; i++)
		bd_u64map_put(&m->bin_index, bins[i].addr, i);
	/* Counts a source did not state (text dumps state none) are the rows read. */
	bd_limits *l = &m->limits;
	if (l->procs == BD_UNKNOWN)
		l->procs = bd_model_section_count(m, "proc");
	if (l->ports == BD_UNKNOWN)
		l->ports = bd_model_section_count(m, "port");
	if (l->ets == BD_UNKNOWN)
		l->ets = m->ets.len;
	if (m->node.source && strcmp(m->node.source, "erl_crash.dump") == 0) {
		/* Text dumps carry counts, and only the atom limit. */
		l->atoms = m->node.atoms;
		size_t nt;
		const bd_table_stat *t = bd_model_table_stats(m, &nt);
		for (size_t i = 0; i < nt; i++) {
			if (t[i].index && t[i].name && strcmp(t[i].name, "atom_tab") == 0) {
				if (t[i].limit != BD_UNKNOWN)
					l->atoms_limit = t[i].limit;
				if (l->atoms == BD_UNKNOWN && t[i].entries != BD_UNKNOWN)
					l->atoms = t[i].entries;
			}
		}
	}
	return 0;
}

/* ---- memo ---- */
static bd_memo *memo_find(const bd_model *m, uint64_t key)
{
	for (size_t i = 0; i < m->nmemo; i++)
		if (m->memo[i].key == key)
			return &m->memo[i];
	return NULL;
}

static void memo_set(bd_model *m, uint64_t key, void *data, size_t len)
{
	bd_memo *e = memo_find(m, key);
	if (!e && m->nmemo == m->memo_cap) {
		size_t nc = m->memo_cap ? m->memo_cap * 2 : 8;
		bd_memo *v = realloc(m->memo, nc * sizeof *v);
		if (!v) {
			free(data);
			return;
		}
		m->memo = v;
		m->memo_cap = nc;
	}
	if (!e) {
		e = &m->memo[m->nmemo++];
		e->key = key;
	} else {
		free(e->data);
	}
	e->data = data;
	e->len = len;
}

void bd_model_memo_adopt(bd_model *m, uint64_t key, void *data, size_t len)
{
	memo_set(m, key, data, len);
}

int bd_model_memo_get(const bd_model *cm, uint64_t key, void **data, size_t *len)
{
	bd_model *m = (bd_model *)cm; /* the memo is a cache of the model */
	int found = 0;
	pthread_mutex_lock(&m->late_lock);
	if (!m->memo_loaded) {
		m->memo_loaded = 1;
		if (m->memo_load)
			m->memo_load(m);
	}
	const bd_memo *e = memo_find(m, key);
	if (e && (*data = malloc(e->len ? e->len : 1))) {
		memcpy(*data, e->data, e->len);
		*len = e->len;
		found = 1;
	}
	pthread_mutex_unlock(&m->late_lock);
	return found;
}

void bd_model_memo_put(const bd_model *cm, uint64_t key, const void *data, size_t len)
{
	bd_model *m = (bd_model *)cm;
	void *copy = malloc(len ? len : 1);
	if (!copy)
		return;
	memcpy(copy, data, len);
	pthread_mutex_lock(&m->late_lock);
	memo_set(m, key, copy, len);
	m->memo_dirty = 1;
	pthread_mutex_unlock(&m->late_lock);
}

void bd_model_free(bd_model *m)
{
	if (!m)
		return;
	bd_prefetch_free(m->prefetch); /* its summary goes into the memo saved below */
	if (m->job_join)
		m->job_join(m->job);
	if (m->memo_dirty && m->memo_save)
		m->memo_save(m);
	for (size_t i = 0; i < m->nmemo; i++)
		free(m->memo[i].data);
	free(m->memo);
	if (m->memo_free)
		m->memo_free(m->memo_ctx);
	bd_vec *vs[] = {&m->table_stats, &m->scheds, &m->procs,   &m->links,   &m->ports,
			&m->ets,         &m->timers, &m->dists,   &m->modules, &m->funs,
			&m->binaries,    &m->alloc_stats, &m->areas, &m->strings};
	const char *map = m->cache_map, *map_end = map ? map + m->cache_map_len : NULL;
	for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
		const char *d = vs[i]->data;
		if (map && d >= map && d < map_end)
			vs[i]->data = NULL; /* rows in the mapped cache file */
		bd_vec_free(vs[i]);
	}
	if (map && (const char *)m->pid_index.slots >= map && (const char *)m->pid_index.slots < map_end)
		m->pid_index.slots = NULL;
	free(m->pid_index.slots);
	bd_strmap_free(&m->names_exact);
	bd_strmap_free(&m->names_inner);
	bd_vec_free(&m->proc_exts);
	pthread_mutex_destroy(&m->late_lock);
	bd_u64map_free(&m->bin_index);
	bd_u64map_free(m->lit_index);
	free(m->lit_index);
	bd_native_store_free(m->native);
	if (m->free_ctx)
		m->free_ctx(m->span_ctx);
	bd_intern_free(&m->intern);
	bd_arena_free(&m->arena);
	if (m->cache_map)
		munmap(m->cache_map, m->cache_map_len);
	bd_source_free(m->src);
	free(m);
}

/* ---- getters ---- */
const bd_node_info *bd_model_node(const bd_model *m) { return &m->node; }
const bd_memory *bd_model_memory(const bd_model *m) { return &m->mem; }
const bd_limits *bd_model_limits(const bd_model *m) { return &m->limits; }

#define GETTER(fn, type, field)                                                     \
	const type *fn(const bd_model *m, size_t *n)                                \
	{                                                                           \
		*n = m->field.len;                                                  \
		return m->field.data;                                               \
	}
GETTER(bd_model_table_stats, bd_table_stat, table_stats)
GETTER(bd_model_scheds, bd_sched, scheds)
const bd_proc *bd_model_procs(const bd_model *m, size_t *n)
{
	if (m->procs_load)
		m->procs_load((bd_model *)m); /* lazy table of a snapshot: load it all now */
	*n = m->procs.len;
	return m->procs.data;
}
GETTER(bd_model_links, bd_link, links)
GETTER(bd_model_ports, bd_port, ports)
GETTER(bd_model_ets, bd_ets, ets)
GETTER(bd_model_timers, bd_timer, timers)
GETTER(bd_model_dists, bd_dist, dists)
GETTER(bd_model_modules, bd_module, modules)
GETTER(bd_model_funs, bd_fun, funs)
GETTER(bd_model_binaries, bd_binary, binaries)
GETTER(bd_model_alloc_stats, bd_alloc_stat, alloc_stats)
GETTER(bd_model_areas, bd_area, areas)

const char *bd_model_string(const bd_model *m, uint32_t idx)
{
	return idx < m->strings.len ? BD_VEC_AT(&m->strings, const char *, idx) : NULL;
}

/* ---- pids ---- */
int bd_pid_parse(const char *s, size_t len, bd_pid *out)
{
	const char *p = s, *e = s + len;
	int angle = 0;
	if (p < e && *p == '<') {
		angle = 1;
		p++;
	}
	uint64_t v[3] = {0, 0, 0};
	int k = 0;
	while (k < 3) {
		const char *q = bd_parse_u64(p, e, &v[k]);
		if (!q || v[k] > UINT32_MAX - 1)
			return -1;
		k++;
		p = q;
		if (p < e && *p == '.' && k < 3)
			p++;
		else
			break;
	}
	if (k < 2)
		return -1;
	if (angle) {
		if (p >= e || *p != '>')
			return -1;
		p++;
	}
	if (p != e)
		return -1;
	out->node = (uint32_t)v[0];
	out->num = (uint32_t)v[1];
	out->serial = (uint32_t)v[2];
	return 0;
}

char *bd_pid_fmt(bd_pid p, char *buf, size_t cap)
{
	if (!bd_pid_valid(p))
		snprintf(buf, cap, "[]");
	else /* Elixir style (bd_term_set_style) writes #PID<0.1.0> */
		snprintf(buf, cap, "%s<%u.%u.%u>", bd_term_style() == BD_STYLE_ELIXIR ? "#PID" : "",
			 p.node, p.num, p.serial);
	return buf;
}

char *bd_port_fmt(bd_pid p, char *buf, size_t cap)
{
	snprintf(buf, cap, "#Port<%u.%u>", p.node, p.num);
	return buf;
}

const char *bd_proc_state_name(bd_proc_state s)
{
	static const char *names[BD_PS__COUNT] = {"Unknown",   "Running",  "Scheduled",
						  "Waiting",   "Exiting",  "Garbing",
						  "Suspended", "Non Existing", "Undefined"};
	return (unsigned)s < BD_PS__COUNT ? names[s] : "Unknown";
}

int bd_node_otp_major(const bd_node_info *n)
{
	const char *r = n->otp_release;
	if (!r)
		return 0;
	if (*r == 'R')
		r++;
	return atoi(r) > 0 && atoi(r) < 1000 ? atoi(r) : 0;
}

const bd_proc *bd_proc_by_pid(const bd_model *m, bd_pid pid)
{
	if (m->proc_lookup)
		return m->proc_lookup(m, NULL, pid);
	int64_t row = bd_model_pid_row(m, pid);
	return row < 0 ? NULL : &BD_VEC_AT(&m->procs, bd_proc, row);
}

int bd_proc_ext_get(const bd_model *m, const bd_proc *p, bd_proc_ext *out)
{
	*out = (bd_proc_ext){NULL, NULL, BD_UNKNOWN, BD_UNKNOWN, BD_UNKNOWN, BD_UNKNOWN,
			     BD_UNKNOWN, BD_UNKNOWN, NULL, NULL, NULL, NULL};
	const bd_proc *rows = m->procs.data;
	if (!p || !rows || p < rows || p >= rows + m->procs.len)
		return BD_ENOTFOUND;
	size_t row = (size_t)(p - rows);
	if (m->proc_ext)
		return m->proc_ext(m, p, out);
	if (row < m->proc_exts.len)
		*out = BD_VEC_AT(&m->proc_exts, bd_proc_ext, row);
	return 0;
}

/* The name maps, once: a name lookup is then a hash probe, not a walk over millions
 * of rows. The first row of a name wins, as in a walk. */
static void build_names(bd_model *m)
{
	size_t n = m->procs.len;
	const bd_proc *procs = m->procs.data;
	for (size_t i = 0; i < n && i < UINT32_MAX; i++) {
		const char *nm = procs[i].name;
		if (!nm)
			continue;
		size_t l = strlen(nm);
		bd_strmap_put(&m->names_exact, nm, l, (uint32_t)i);
		if (l >= 2 && nm[0] == '\'' && nm[l - 1] == '\'')
			bd_strmap_put(&m->names_inner, nm + 1, l - 2, (uint32_t)i);
	}
}

static const bd_proc *proc_find1(const bd_model *cm, const char *s)
{
	if (cm->proc_lookup)
		return cm->proc_lookup(cm, s, BD_PID_NONE);
	bd_pid pid;
	if (bd_pid_parse(s, strlen(s), &pid) == 0)
		return bd_proc_by_pid(cm, pid);
	bd_model *m = (bd_model *)cm; /* the maps are a cache of the model */
	size_t n;
	const bd_proc *procs = bd_model_procs(m, &n);
	/* Names in the model are printed atoms: 'quoted' when needed. */
	pthread_mutex_lock(&m->late_lock);
	if (!m->names_built) {
		m->names_built = 1;
		build_names(m);
	}
	size_t l = strlen(s);
	int64_t a = bd_strmap_get(&m->names_exact, s, l), b = bd_strmap_get(&m->names_inner, s, l);
	pthread_mutex_unlock(&m->late_lock);
	int64_t row = a < 0 ? b : b < 0 ? a : a < b ? a : b;
	return row >= 0 && (size_t)row < n ? &procs[row] : NULL;
}

/* What an operator types: <0.85.0>, 0.85.0, #PID<0.85.0> (Elixir), kv_store,
 * 'kv_store' (quoted even where the atom needs no quotes), 'Elixir.Foo.Bar',
 * Elixir.Foo.Bar, or the Elixir alias Foo.Bar. */
const bd_proc *bd_proc_find(const bd_model *m, const char *s)
{
	if (!strncmp(s, "#PID<", 5))
		s += 4;
	const bd_proc *p = proc_find1(m, s);
	if (p)
		return p;
	char buf[512];
	size_t l = strlen(s);
	if (l > 2 && s[0] == '\'' && s[l - 1] == '\'' && l - 2 < sizeof buf) {
		memcpy(buf, s + 1, l - 2);
		buf[l - 2] = 0;
		if ((p = proc_find1(m, buf)))
			return p;
		s = buf;
		l -= 2;
	}
	if (s[0] >= 'A' && s[0] <= 'Z' && strncmp(s, "Elixir.", 7) != 0) {
		char ex[520];
		if (snprintf(ex, sizeof ex, "Elixir.%s", s) < (int)sizeof ex)
			return proc_find1(m, ex);
	}
	return NULL;
}

const char *bd_pid_node(const bd_model *m, bd_pid pid)
{
	size_t n;
	const bd_dist *d = bd_model_dists(m, &n);
	for (size_t i = 0; pid.node && bd_pid_valid(pid) && i < n; i++)
		if (d[i].channel == pid.node)
			return d[i].name;
	return NULL;
}

const char *bd_pid_name(const bd_model *m, bd_pid pid)
{
	const bd_proc *p = bd_proc_by_pid(m, pid);
	return p ? p->name : NULL;
}

const bd_binary *bd_binary_find(const bd_model *m, uint64_t addr)
{
	uint64_t idx;
	if (!bd_u64map_get(&m->bin_index, addr, &idx))
		return NULL;
	return &BD_VEC_AT(&m->binaries, bd_binary, idx);
}

/* ---- lazy data ---- */
int bd_model_span_text(const bd_model *m, bd_span s, const char **out, size_t *len)
{
	if (m->span_text)
		return m->span_text(m, s, out, len);
	if (s.off > m->size || s.len > m->size - s.off) {
		*out = NULL;
		*len = 0;
		return BD_ECORRUPT;
	}
	*out = m->base + s.off;
	*len = (size_t)s.len;
	return 0;
}

enum { BIN_RELEASE_MIN = 64 << 10, BIN_AROUND = 128 << 10 };

int64_t bd_binary_read(const bd_model *m, const bd_binary *b, uint64_t offset, void *buf,
		       size_t cap)
{
	const char *t;
	size_t len;
	int rc = bd_model_span_text(m, b->data, &t, &len);
	if (rc)
		return rc;
	if (offset >= b->size)
		return 0;
	if (cap > b->size - offset)
		cap = (size_t)(b->size - offset);
	int64_t got = (int64_t)bd_decode_window(t, len, m->hex_data, offset, buf, cap);
	/* A big binary is read at one place, and the kernel maps a block of pages around
	 * each page read: give them back, or a process holding thousands of big binaries
	 * puts a good part of the dump in the resident set (one page per read stays). */
	if (len >= BIN_RELEASE_MIN && (!m->span_text || m->from_cache) && m->src &&
	    t >= m->base && t < m->base + m->size) {
		uint64_t at = (uint64_t)(t - m->base) + (m->hex_data ? offset * 2 : offset / 3 * 4);
		uint64_t lo = at > BIN_AROUND ? at - BIN_AROUND : 0;
		bd_source_release_range(m->src, lo, at - lo + 2 * (uint64_t)cap + BIN_AROUND);
	}
	return got;
}

uint64_t bd_model_atoms_each(const bd_model *m,
			     int (*fn)(void *ud, const char *atom, size_t len), void *ud)
{
	const char *t;
	size_t len;
	static const char shown[] = "'" BD_SECRET_SHOWN "'";
	if (!m->atoms.len || bd_model_span_text(m, m->atoms, &t, &len))
		return 0;
	bd_secret_learn(m); /* the cookie is an atom: never handed out */
	/* The dump lists newest first: walk lines backwards. */
	const char *e = t + len;
	uint64_t n = 0;
	while (e > t) {
		if (e[-1] == '\n')
			e--;
		const char *s = e;
		while (s > t && s[-1] != '\n')
			s--;
		size_t l = (size_t)(e - s);
		if (l && s[l - 1] == '\r')
			l--;
		if (l || s > t) {
			n++;
			int hide = bd_secret_is_atom_text(s, l);
			if (fn && fn(ud, hide ? shown : s, hide ? sizeof shown - 1 : l))
				break;
		}
		e = s;
	}
	return n;
}
