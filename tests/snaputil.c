/* Snapshot test helpers (snaputil.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "snapshot_int.h"
#include "snaputil.h"

static int collect(void *ctx, const bd_record *r, const void *p, size_t n)
{
	su_recs *rs = ctx;
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 64;
		rs->v = realloc(rs->v, rs->cap * sizeof *rs->v);
		assert_non_null(rs->v);
	}
	su_rec *e = &rs->v[rs->n++];
	e->r = *r;
	e->n = n;
	e->p = malloc(n ? n : 1);
	assert_non_null(e->p);
	if (n)
		memcpy(e->p, p, n);
	return 0;
}

void su_collect(const bd_model *m, su_recs *out)
{
	memset(out, 0, sizeof *out);
	bd_error err = {0};
	int rc = bd_snapshot_write(m, collect, out, NULL, NULL, &err);
	if (rc)
		fail_msg("bd_snapshot_write: %s", err.msg);
}

int su_collect_opts(const bd_model *m, const bd_snapshot_opts *o, su_recs *out)
{
	memset(out, 0, sizeof *out);
	bd_error err = {0};
	return bd_snapshot_write(m, collect, out, o, NULL, &err);
}

void su_recs_free(su_recs *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].p);
	free(r->v);
	memset(r, 0, sizeof *r);
}

int su_write(const su_recs *recs, const char *path, const bd_writer_opts *o)
{
	bd_writer_opts def = BD_WRITER_OPTS_INIT;
	def.max_record = 4u << 20;
	def.no_fsync = 1;
	if (!o)
		o = &def;
	size_t need = bd_writer_size(o);
	assert_true(need > 0);
	void *arena = malloc(need);
	assert_non_null(arena);
	bd_writer *w;
	bd_error err = {0};
	if (bd_writer_init(&w, arena, need, path, o, &err))
		fail_msg("bd_writer_init: %s", err.msg);
	for (size_t i = 0; i < recs->n; i++)
		if (bd_writer_record(w, &recs->v[i].r, recs->v[i].p, recs->v[i].n))
			break;
	int rc = bd_writer_finish(w);
	free(arena);
	return rc;
}

void su_convert(const char *src, const char *dst)
{
	bd_model *m;
	bd_error err = {0};
	if (bd_model_open(&m, src, &err))
		fail_msg("open %s: %s", src, err.msg);
	su_recs r;
	su_collect(m, &r);
	assert_int_equal(su_write(&r, dst, NULL), 0);
	su_recs_free(&r);
	bd_model_free(m);
}

const char *su_temp(const char *suffix)
{
	static char paths[8][96];
	static int slot;
	char *p = paths[slot++ % 8];
	snprintf(p, sizeof paths[0], "/tmp/bdsnap-XXXXXX");
	int fd = mkstemp(p);
	assert_true(fd >= 0);
	close(fd);
	unlink(p);
	strncat(p, suffix, sizeof paths[0] - strlen(p) - 1);
	return p;
}

/* ---- model comparison through the table schemas ---- */
static int span_eq(const bd_model *a, bd_span sa, const bd_model *b, bd_span sb)
{
	if (!sa.len || !sb.len)
		return !sa.len && !sb.len;
	const char *ta, *tb;
	size_t la, lb;
	int ra = bd_model_span_text(a, sa, &ta, &la), rb = bd_model_span_text(b, sb, &tb, &lb);
	if (ra || rb)
		return ra == rb;
	return la == lb && sa.len == sb.len && memcmp(ta, tb, la) == 0;
}

static int rows_eq(const snap_table *t, const bd_model *a, const uint8_t *ra, const bd_model *b,
		   const uint8_t *rb, char *why, size_t cap, size_t row)
{
	uint8_t ca[1024], cb[1024];
	assert_true(t->row_size <= sizeof ca);
	memcpy(ca, ra, t->row_size);
	memcpy(cb, rb, t->row_size);
	for (size_t k = 0; k < t->ncols; k++) {
		const snap_col *c = &t->cols[k];
		if (c->type == SC_STR) {
			const char *x, *y;
			memcpy(&x, ra + c->off, sizeof x);
			memcpy(&y, rb + c->off, sizeof y);
			if ((!x) != (!y) || (x && strcmp(x, y))) {
				snprintf(why, cap, "%s row %zu column %u: '%s' vs '%s'", t->name, row, c->id,
					 x ? x : "(null)", y ? y : "(null)");
				return 0;
			}
		} else if (c->type == SC_SPAN || c->type == SC_BLOB) {
			bd_span x, y;
			memcpy(&x, ra + c->off, sizeof x);
			memcpy(&y, rb + c->off, sizeof y);
			if (!span_eq(a, x, b, y)) {
				snprintf(why, cap, "%s row %zu column %u: span text differs", t->name, row, c->id);
				return 0;
			}
		} else {
			continue;
		}
		memset(ca + c->off, 0, c->type == SC_STR ? sizeof(char *) : sizeof(bd_span));
		memset(cb + c->off, 0, c->type == SC_STR ? sizeof(char *) : sizeof(bd_span));
	}
	/* Everything else byte for byte: a field the schema misses shows up here. */
	if (memcmp(ca, cb, t->row_size)) {
		size_t i = 0;
		while (ca[i] == cb[i])
			i++;
		snprintf(why, cap, "%s row %zu: bytes differ at offset %zu", t->name, row, i);
		return 0;
	}
	return 1;
}

static int table_eq(unsigned id, const bd_model *a, const void *ra, size_t na, const bd_model *b,
		    const void *rb, size_t nb, char *why, size_t cap)
{
	const snap_table *t = snap_table_get(id);
	if (na != nb) {
		snprintf(why, cap, "%s: %zu rows vs %zu", t->name, na, nb);
		return 0;
	}
	for (size_t i = 0; i < na; i++)
		if (!rows_eq(t, a, (const uint8_t *)ra + i * t->row_size, b,
			     (const uint8_t *)rb + i * t->row_size, why, cap, i))
			return 0;
	return 1;
}

/* Process rows with the rest of each (bd_proc_ext), as the snapshot stores them. */
static int procs_eq(const bd_model *a, const bd_model *b, char *why, size_t cap)
{
	size_t na, nb;
	const bd_proc *pa = bd_model_procs(a, &na), *pb = bd_model_procs(b, &nb);
	const snap_table *t = snap_table_get(ST_PROCS);
	if (na != nb) {
		snprintf(why, cap, "%s: %zu rows vs %zu", t->name, na, nb);
		return 0;
	}
	for (size_t i = 0; i < na; i++) {
		snap_procrow wa, wb;
		memset(&wa, 0, sizeof wa);
		memset(&wb, 0, sizeof wb);
		wa.p = pa[i];
		wb.p = pb[i];
		bd_proc_ext_get(a, &pa[i], &wa.x);
		bd_proc_ext_get(b, &pb[i], &wb.x);
		wa.last_calls_idx = wb.last_calls_idx = BD_UNKNOWN;
		if (!rows_eq(t, a, (const uint8_t *)&wa, b, (const uint8_t *)&wb, why, cap, i))
			return 0;
	}
	return 1;
}

int su_models_equal(const bd_model *a, const bd_model *b, char *why, size_t cap)
{
	size_t na, nb;
#define TBL(id, getter)                                                                     \
	do {                                                                                \
		const void *x = getter(a, &na), *y = getter(b, &nb);                        \
		if (!table_eq(id, a, x, na, b, y, nb, why, cap))                            \
			return -1;                                                          \
	} while (0)
	if (!table_eq(ST_NODE, a, bd_model_node(a), 1, b, bd_model_node(b), 1, why, cap) ||
	    !table_eq(ST_MEMORY, a, bd_model_memory(a), 1, b, bd_model_memory(b), 1, why, cap) ||
	    !table_eq(ST_LIMITS, a, bd_model_limits(a), 1, b, bd_model_limits(b), 1, why, cap))
		return -1;
	TBL(ST_TABLE_STATS, bd_model_table_stats);
	TBL(ST_SCHEDS, bd_model_scheds);
	if (!procs_eq(a, b, why, cap))
		return -1;
	TBL(ST_LINKS, bd_model_links);
	TBL(ST_PORTS, bd_model_ports);
	TBL(ST_ETS, bd_model_ets);
	TBL(ST_TIMERS, bd_model_timers);
	TBL(ST_DISTS, bd_model_dists);
	TBL(ST_MODULES, bd_model_modules);
	TBL(ST_FUNS, bd_model_funs);
	TBL(ST_BINARIES, bd_model_binaries);
	TBL(ST_ALLOC_STATS, bd_model_alloc_stats);
	TBL(ST_AREAS, bd_model_areas);
#undef TBL
	if (a->strings.len != b->strings.len) {
		snprintf(why, cap, "loose strings: %zu vs %zu", a->strings.len, b->strings.len);
		return -1;
	}
	for (uint32_t i = 0; i < a->strings.len; i++)
		if (strcmp(bd_model_string(a, i), bd_model_string(b, i))) {
			snprintf(why, cap, "loose string %u differs", i);
			return -1;
		}
	if (a->ntags != b->ntags) {
		snprintf(why, cap, "section tags: %zu vs %zu", a->ntags, b->ntags);
		return -1;
	}
	for (size_t i = 0; i < a->ntags; i++)
		if (strcmp(a->tag_counts[i].tag, b->tag_counts[i].tag) ||
		    a->tag_counts[i].count != b->tag_counts[i].count) {
			snprintf(why, cap, "section tag %zu differs", i);
			return -1;
		}
	if (a->hex_data != b->hex_data || !span_eq(a, a->literals, b, b->literals) ||
	    !span_eq(a, a->persistent_terms, b, b->persistent_terms) ||
	    !span_eq(a, a->atoms, b, b->atoms)) {
		snprintf(why, cap, "literals, persistent terms, atoms or hex flag differ");
		return -1;
	}
	return 0;
}
