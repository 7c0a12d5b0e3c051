/* Snapshot codecs shared by the converter and the reader: the columnar table schemas
 * and their encoding, and the lossless binary encoding of term-section text (heap,
 * stack, messages, dictionary, literals, persistent terms). The term codec turns each
 * line that is in the canonical form the VM writes into compact ops (addresses as
 * deltas, atoms by id, base64 as raw bytes) and keeps any other line verbatim, so the
 * decoder regenerates the exact text and every text decoder works unchanged. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot_int.h"

/* ---- sbuf ---- */
#define SBUF_MAX ((size_t)1 << 36)

int sb_grow(sbuf *b, size_t need)
{
	if (b->oom)
		return -1;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + need)
		cap *= 2;
	if (cap > SBUF_MAX) {
		b->oom = 1;
		return -1;
	}
	uint8_t *p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void sb_free(sbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---- table schemas ---- */
#define FSZ(T, f) ((uint8_t)sizeof(((T *)0)->f))
#define COL(id, ty, T, f) {id, ty, FSZ(T, f), (uint16_t)offsetof(T, f), 0, 0}
#define REQ(id, T, f) {id, SC_STR, FSZ(T, f), (uint16_t)offsetof(T, f), 0, 1}
#define SPAN(id, T, f, part) {id, SC_SPAN, FSZ(T, f), (uint16_t)offsetof(T, f), part, 0}
#define BLOB(id, T, f) {id, SC_BLOB, FSZ(T, f), (uint16_t)offsetof(T, f), 0, 0}
#define TABLE(tid, nm, T, cols) {tid, nm, sizeof(T), cols, sizeof cols / sizeof cols[0]}

static const snap_col node_cols[] = {
	COL(1, SC_STR, bd_node_info, source),
	COL(2, SC_STR, bd_node_info, dump_version),
	COL(3, SC_SINT, bd_node_info, dump_major),
	COL(4, SC_SINT, bd_node_info, dump_minor),
	COL(5, SC_STR, bd_node_info, created),
	COL(6, SC_SINT, bd_node_info, created_unix),
	COL(7, SC_STR, bd_node_info, slogan),
	COL(8, SC_STR, bd_node_info, system_version),
	COL(9, SC_STR, bd_node_info, otp_release),
	COL(10, SC_STR, bd_node_info, erts_version),
	COL(11, SC_SINT, bd_node_info, word_size),
	COL(12, SC_STR, bd_node_info, taints),
	COL(13, SC_UINT, bd_node_info, atoms),
	COL(14, SC_STR, bd_node_info, calling_thread),
	COL(15, SC_STR, bd_node_info, node_name),
	COL(16, SC_SINT, bd_node_info, distributed),
	COL(17, SC_UINT, bd_node_info, input_size),
	COL(18, SC_SINT, bd_node_info, truncated),
	COL(19, SC_UINT, bd_node_info, truncated_at),
	COL(20, SC_STR, bd_node_info, truncated_in),
	COL(21, SC_STR, bd_node_info, abort_reason),
	COL(22, SC_UINT, bd_node_info, skipped),
	COL(23, SC_STR, bd_node_info, skipped_first),
	COL(24, SC_STR, bd_node_info, compiled),
	COL(25, SC_STR, bd_node_info, unknown_sections),
};

static const snap_col memory_cols[] = {
	COL(1, SC_UINT, bd_memory, total),     COL(2, SC_UINT, bd_memory, processes),
	COL(3, SC_UINT, bd_memory, processes_used), COL(4, SC_UINT, bd_memory, system),
	COL(5, SC_UINT, bd_memory, atom),      COL(6, SC_UINT, bd_memory, atom_used),
	COL(7, SC_UINT, bd_memory, binary),    COL(8, SC_UINT, bd_memory, code),
	COL(9, SC_UINT, bd_memory, ets),       COL(10, SC_UINT, bd_memory, maximum),
};

static const snap_col limits_cols[] = {
	COL(1, SC_UINT, bd_limits, atoms), COL(2, SC_UINT, bd_limits, atoms_limit),
	COL(3, SC_UINT, bd_limits, procs), COL(4, SC_UINT, bd_limits, procs_limit),
	COL(5, SC_UINT, bd_limits, ports), COL(6, SC_UINT, bd_limits, ports_limit),
	COL(7, SC_UINT, bd_limits, ets),   COL(8, SC_UINT, bd_limits, ets_limit),
};

static const snap_col model_cols[] = {
	COL(1, SC_UINT, snap_modelrow, literals_len),
	COL(2, SC_UINT, snap_modelrow, pterms_len),
	COL(3, SC_UINT, snap_modelrow, atoms_len),
	COL(4, SC_SINT, snap_modelrow, hex_data),
	COL(5, SC_SINT, snap_modelrow, ntags),
};

static const snap_col tag_cols[] = {
	REQ(1, snap_tagrow, tag),
	COL(2, SC_UINT, snap_tagrow, count),
};

static const snap_col table_stat_cols[] = {
	REQ(1, bd_table_stat, name),          COL(2, SC_SINT, bd_table_stat, index),
	COL(3, SC_UINT, bd_table_stat, size), COL(4, SC_UINT, bd_table_stat, used),
	COL(5, SC_UINT, bd_table_stat, objs), COL(6, SC_UINT, bd_table_stat, depth),
	COL(7, SC_UINT, bd_table_stat, limit), COL(8, SC_UINT, bd_table_stat, entries),
	COL(9, SC_UINT, bd_table_stat, rate),
};

static const snap_col sched_cols[] = {
	COL(1, SC_UINT, bd_sched, id),
	COL(2, SC_UINT, bd_sched, type),
	COL(3, SC_STR, bd_sched, sleep_flags),
	COL(4, SC_STR, bd_sched, aux_work),
	COL(5, SC_STR, bd_sched, current_port),
	COL(6, SC_UINT, bd_sched, rq_max),
	COL(7, SC_UINT, bd_sched, rq_high),
	COL(8, SC_UINT, bd_sched, rq_normal),
	COL(9, SC_UINT, bd_sched, rq_low),
	COL(10, SC_UINT, bd_sched, rq_port),
	COL(11, SC_STR, bd_sched, rq_flags),
	COL(12, SC_PID, bd_sched, current),
	COL(13, SC_STR, bd_sched, current_state),
	COL(14, SC_STR, bd_sched, current_internal),
	COL(15, SC_STR, bd_sched, current_pc),
	COL(16, SC_UINT, bd_sched, trace_first),
	COL(17, SC_UINT, bd_sched, trace_count),
	COL(18, SC_SINT, bd_sched, crashed),
	COL(19, SC_F64, bd_sched, utilization),
};

static const snap_col proc_cols[] = {
	COL(1, SC_PID, snap_procrow, p.pid),
	COL(2, SC_UINT, snap_procrow, p.state),
	COL(3, SC_STR, snap_procrow, p.name),
	COL(4, SC_STR, snap_procrow, p.spawned_as),
	COL(5, SC_PID, snap_procrow, p.spawned_by),
	COL(6, SC_STR, snap_procrow, p.current_call),
	COL(7, SC_STR, snap_procrow, p.pc),
	COL(8, SC_STR, snap_procrow, p.pc_mfa),
	COL(9, SC_STR, snap_procrow, x.internal_state),
	COL(10, SC_UINT, snap_procrow, p.msgq_len),
	COL(11, SC_UINT, snap_procrow, p.reductions),
	COL(12, SC_UINT, snap_procrow, p.stack_heap),
	COL(13, SC_UINT, snap_procrow, p.old_heap),
	COL(14, SC_UINT, snap_procrow, x.heap_unused),
	COL(15, SC_UINT, snap_procrow, x.old_heap_unused),
	COL(16, SC_UINT, snap_procrow, p.bin_vheap),
	COL(17, SC_UINT, snap_procrow, p.old_bin_vheap),
	COL(18, SC_UINT, snap_procrow, x.bin_vheap_unused),
	COL(19, SC_UINT, snap_procrow, x.old_bin_vheap_unused),
	COL(20, SC_UINT, snap_procrow, p.memory),
	COL(21, SC_UINT, snap_procrow, x.heap_frags),
	COL(22, SC_UINT, snap_procrow, p.heap_frag_data),
	COL(23, SC_UINT, snap_procrow, x.arity),
	COL(24, SC_UINTD, snap_procrow, p.link_first),
	COL(25, SC_UINT, snap_procrow, p.link_count),
	COL(26, SC_UINT, snap_procrow, last_calls_idx),
	SPAN(27, snap_procrow, p.sec_messages, SK_MESSAGES),
	SPAN(28, snap_procrow, p.sec_dictionary, SK_DICT),
	SPAN(29, snap_procrow, p.sec_stack, SK_STACK),
	SPAN(30, snap_procrow, p.sec_heap, SK_HEAP),
	COL(31, SC_UINTD, snap_procrow, p.src_off),
	COL(32, SC_STR, snap_procrow, x.last_calls), /* replaces 26 (a loose string) */
	COL(33, SC_STR, snap_procrow, x.application), /* live captures */
	COL(34, SC_STR, snap_procrow, x.started),
	COL(35, SC_STR, snap_procrow, x.cp),
	COL(36, SC_STR, snap_procrow, x.run_queue),
};

static const snap_col link_cols[] = {
	COL(1, SC_UINT, bd_link, kind), COL(2, SC_UINT, bd_link, target_kind),
	COL(3, SC_PID, bd_link, id),    COL(4, SC_STR, bd_link, name),
	COL(5, SC_STR, bd_link, node),  COL(6, SC_STR, bd_link, ref),
};

static const snap_col port_cols[] = {
	COL(1, SC_PID, bd_port, id),          COL(2, SC_STR, bd_port, state),
	COL(3, SC_STR, bd_port, task_flags),  COL(4, SC_STR, bd_port, name),
	COL(5, SC_UINT, bd_port, slot),       COL(6, SC_PID, bd_port, connected),
	COL(7, SC_UINT, bd_port, link_first), COL(8, SC_UINT, bd_port, link_count),
	COL(9, SC_STR, bd_port, kind),        COL(10, SC_STR, bd_port, driver),
	COL(11, SC_UINT, bd_port, input),     COL(12, SC_UINT, bd_port, output),
	COL(13, SC_UINT, bd_port, queue),     COL(14, SC_STR, bd_port, port_data),
};

static const snap_col ets_cols[] = {
	COL(1, SC_PID, bd_ets, owner),
	COL(2, SC_STR, bd_ets, table),
	COL(3, SC_STR, bd_ets, name),
	COL(4, SC_UINT, bd_ets, slot),
	COL(5, SC_UINT, bd_ets, objects),
	COL(6, SC_UINT, bd_ets, words),
	COL(7, SC_UINT, bd_ets, buckets),
	COL(8, SC_UINT, bd_ets, chain_max),
	COL(9, SC_UINT, bd_ets, chain_min),
	COL(10, SC_UINT, bd_ets, fixed),
	COL(11, SC_F64, bd_ets, chain_avg),
	COL(12, SC_F64, bd_ets, chain_stddev),
	COL(13, SC_F64, bd_ets, chain_expected_stddev),
	COL(14, SC_STR, bd_ets, type),
	COL(15, SC_STR, bd_ets, protection),
	COL(16, SC_STR, bd_ets, compressed),
	COL(17, SC_STR, bd_ets, write_concurrency),
	COL(18, SC_STR, bd_ets, read_concurrency),
	COL(19, SC_UINT, bd_ets, tree_nodes),
	COL(20, SC_SINT, bd_ets, named),
};

static const snap_col timer_cols[] = {
	REQ(1, bd_timer, owner),         COL(2, SC_PID, bd_timer, owner_pid),
	COL(3, SC_STR, bd_timer, message), COL(4, SC_UINT, bd_timer, time_left_ms),
};

static const snap_col dist_cols[] = {
	COL(1, SC_UINT, bd_dist, kind),          COL(2, SC_UINT, bd_dist, channel),
	COL(3, SC_STR, bd_dist, name),           COL(4, SC_STR, bd_dist, controller),
	COL(5, SC_STR, bd_dist, creation),       COL(6, SC_UINT, bd_dist, remote_links),
	COL(7, SC_UINT, bd_dist, remote_monitors), COL(8, SC_UINT, bd_dist, remotely_monitored_by),
	COL(9, SC_UINT, bd_dist, entry_first),   COL(10, SC_UINT, bd_dist, entry_count),
};

static const snap_col module_cols[] = {
	REQ(1, bd_module, name),         COL(2, SC_UINT, bd_module, current_size),
	COL(3, SC_UINT, bd_module, old_size), BLOB(4, bd_module, attributes),
	BLOB(5, bd_module, compile_info), BLOB(6, bd_module, old_attributes),
	BLOB(7, bd_module, old_compile_info),
};

static const snap_col fun_cols[] = {
	COL(1, SC_STR, bd_fun, module), COL(2, SC_UINT, bd_fun, uniq),
	COL(3, SC_UINT, bd_fun, index), COL(4, SC_UINT, bd_fun, refc),
	COL(5, SC_STR, bd_fun, address),
};

static const snap_col binary_cols[] = {
	COL(1, SC_UINTD, bd_binary, addr),
	COL(2, SC_UINT, bd_binary, size),
	SPAN(3, bd_binary, data, SK_BINARY),
};

static const snap_col alloc_cols[] = {
	REQ(1, bd_alloc_stat, alloc),
	COL(2, SC_SINT, bd_alloc_stat, instance),
	REQ(3, bd_alloc_stat, key),
	{4, SC_UINT, 8, (uint16_t)offsetof(bd_alloc_stat, v), 0, 0},
	{5, SC_UINT, 8, (uint16_t)(offsetof(bd_alloc_stat, v) + 8), 0, 0},
	{6, SC_UINT, 8, (uint16_t)(offsetof(bd_alloc_stat, v) + 16), 0, 0},
	COL(7, SC_STR, bd_alloc_stat, text),
};

static const snap_col area_cols[] = {
	REQ(1, bd_area, name),         COL(2, SC_UINT, bd_area, allocated),
	COL(3, SC_UINT, bd_area, used),
};

typedef struct loose_row {
	const char *s;
} loose_row;
static const snap_col loose_cols[] = {REQ(1, loose_row, s)};

static const snap_col binref_cols[] = {
	COL(1, SC_UINTD, snap_binref, bin),
	COL(2, SC_UINTD, snap_binref, proc),
};

static const snap_col pidrow_cols[] = {
	COL(1, SC_UINTD, snap_pidrow, pid),
	COL(2, SC_UINTD, snap_pidrow, row),
};

static const snap_col namerow_cols[] = {
	COL(1, SC_UINTD, snap_namerow, row),
	REQ(2, snap_namerow, name),
};

static const snap_table tables[ST__COUNT] = {
	[ST_NODE] = TABLE(ST_NODE, "node", bd_node_info, node_cols),
	[ST_MEMORY] = TABLE(ST_MEMORY, "memory", bd_memory, memory_cols),
	[ST_LIMITS] = TABLE(ST_LIMITS, "limits", bd_limits, limits_cols),
	[ST_MODEL] = TABLE(ST_MODEL, "model", snap_modelrow, model_cols),
	[ST_TAGS] = TABLE(ST_TAGS, "tags", snap_tagrow, tag_cols),
	[ST_TABLE_STATS] = TABLE(ST_TABLE_STATS, "table_stats", bd_table_stat, table_stat_cols),
	[ST_SCHEDS] = TABLE(ST_SCHEDS, "schedulers", bd_sched, sched_cols),
	[ST_PROCS] = TABLE(ST_PROCS, "processes", snap_procrow, proc_cols),
	[ST_LINKS] = TABLE(ST_LINKS, "links", bd_link, link_cols),
	[ST_PORTS] = TABLE(ST_PORTS, "ports", bd_port, port_cols),
	[ST_ETS] = TABLE(ST_ETS, "ets", bd_ets, ets_cols),
	[ST_TIMERS] = TABLE(ST_TIMERS, "timers", bd_timer, timer_cols),
	[ST_DISTS] = TABLE(ST_DISTS, "dist", bd_dist, dist_cols),
	[ST_MODULES] = TABLE(ST_MODULES, "modules", bd_module, module_cols),
	[ST_FUNS] = TABLE(ST_FUNS, "funs", bd_fun, fun_cols),
	[ST_BINARIES] = TABLE(ST_BINARIES, "binaries", bd_binary, binary_cols),
	[ST_ALLOC_STATS] = TABLE(ST_ALLOC_STATS, "allocators", bd_alloc_stat, alloc_cols),
	[ST_AREAS] = TABLE(ST_AREAS, "areas", bd_area, area_cols),
	[ST_LOOSE] = TABLE(ST_LOOSE, "strings", loose_row, loose_cols),
	[ST_BINREFS] = TABLE(ST_BINREFS, "binary_referrers", snap_binref, binref_cols),
	[ST_PIDIDX] = TABLE(ST_PIDIDX, "pid_index", snap_pidrow, pidrow_cols),
	[ST_NAMES] = TABLE(ST_NAMES, "process_names", snap_namerow, namerow_cols),
};

const snap_table *snap_table_get(unsigned id)
{
	return id > 0 && id < ST__COUNT ? &tables[id] : NULL;
}

/* ---- table encoding ---- */
static uint64_t get_uint(const uint8_t *f, unsigned size)
{
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	switch (size) {
	case 1:
		memcpy(&v8, f, 1);
		return v8;
	case 2:
		memcpy(&v16, f, 2);
		return v16;
	case 4:
		memcpy(&v32, f, 4);
		return v32;
	default:
		memcpy(&v64, f, 8);
		return v64;
	}
}

static void set_uint(uint8_t *f, unsigned size, uint64_t v)
{
	uint8_t v8 = (uint8_t)v;
	uint16_t v16 = (uint16_t)v;
	uint32_t v32 = (uint32_t)v;
	switch (size) {
	case 1:
		memcpy(f, &v8, 1);
		break;
	case 2:
		memcpy(f, &v16, 2);
		break;
	case 4:
		memcpy(f, &v32, 4);
		break;
	default:
		memcpy(f, &v, 8);
	}
}

static uint64_t width_mask(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (((uint64_t)1 << (8 * size)) - 1);
}

static int64_t get_sint(const uint8_t *f, unsigned size)
{
	if (size == 4) {
		int32_t v;
		memcpy(&v, f, 4);
		return v;
	}
	int64_t v;
	memcpy(&v, f, 8);
	return v;
}

static void encode_column(sbuf *o, const snap_col *c, const uint8_t *rows, size_t rs, size_t n,
			  snap_str_id_fn str_id, snap_blob_fn blob, void *ctx)
{
	uint64_t prev = 0;
	uint32_t prev_num = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *f = rows + i * rs + c->off;
		switch (c->type) {
		case SC_UINT:
			sb_var(o, (get_uint(f, c->size) + 1) & width_mask(c->size));
			break;
		case SC_UINTD: {
			uint64_t v = (get_uint(f, c->size) + 1) & width_mask(c->size);
			sb_var(o, zz_enc((int64_t)(v - prev)));
			prev = v;
			break;
		}
		case SC_SINT:
			sb_var(o, zz_enc(get_sint(f, c->size)));
			break;
		case SC_STR: {
			const char *s;
			memcpy(&s, f, sizeof s);
			sb_var(o, str_id(ctx, s));
			break;
		}
		case SC_F64: {
			uint8_t b[8];
			double d;
			memcpy(&d, f, 8);
			uint64_t u;
			memcpy(&u, &d, 8);
			bd_put64(b, u);
			sb_mem(o, b, 8);
			break;
		}
		case SC_PID: {
			bd_pid p;
			memcpy(&p, f, sizeof p);
			sb_var(o, (uint32_t)(p.node + 1));
			sb_var(o, zz_enc((int64_t)p.num - (int64_t)prev_num));
			sb_var(o, p.serial);
			prev_num = p.num;
			break;
		}
		case SC_SPAN: {
			bd_span s;
			memcpy(&s, f, sizeof s);
			sb_var(o, s.len);
			break;
		}
		case SC_BLOB: {
			bd_span s;
			memcpy(&s, f, sizeof s);
			const char *t = NULL;
			size_t len = 0;
			if (!s.len || blob(ctx, s, &t, &len) || !t) {
				sb_var(o, 0);
				break;
			}
			sb_var(o, (uint64_t)len + 1);
			sb_mem(o, t, len);
			break;
		}
		}
	}
}

void snap_table_encode(sbuf *out, const snap_table *t, const void *rows, size_t n,
		       snap_str_id_fn str_id, snap_blob_fn blob, void *ctx)
{
	sbuf col = {0};
	sb_var(out, n);
	sb_var(out, t->ncols);
	for (size_t k = 0; k < t->ncols; k++) {
		const snap_col *c = &t->cols[k];
		col.len = 0;
		encode_column(&col, c, rows, t->row_size, n, str_id, blob, ctx);
		if (col.oom)
			out->oom = 1;
		sb_var(out, c->id);
		sb_u8(out, c->type);
		sb_var(out, col.len);
		sb_mem(out, col.p, col.len);
	}
	sb_free(&col);
}

int64_t snap_table_rows(const uint8_t *p, size_t len)
{
	scur c = {p, p + len, 0};
	uint64_t n = sc_var(&c);
	return c.bad || n > ((uint64_t)1 << 32) ? -1 : (int64_t)n;
}

void snap_table_defaults(const snap_table *t, void *rows, size_t n)
{
	uint8_t *r = rows;
	if (!n)
		return;
	/* Build the first row, then copy it: unknown is all-ones, not zero. */
	memset(r, 0, t->row_size);
	for (size_t k = 0; k < t->ncols; k++) {
		const snap_col *c = &t->cols[k];
		uint8_t *f = r + c->off;
		if ((c->type == SC_UINT || c->type == SC_UINTD) && c->size == 8)
			set_uint(f, 8, BD_UNKNOWN);
		else if (c->type == SC_PID)
			memcpy(f, &BD_PID_NONE, sizeof(bd_pid));
		else if (c->type == SC_F64) {
			double d = NAN;
			memcpy(f, &d, 8);
		}
	}
	for (size_t i = 1; i < n; i++)
		memcpy(r + i * t->row_size, r, t->row_size);
}

static int decode_column(const snap_col *c, scur *cc, uint8_t *rows, size_t rs, size_t n,
			 uint64_t first, unsigned table, const snap_dec_cb *cb, const char **why)
{
	uint64_t prev = 0;
	uint32_t prev_num = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t *f = rows + i * rs + c->off;
		switch (c->type) {
		case SC_UINT:
			set_uint(f, c->size, (sc_var(cc) - 1) & width_mask(c->size));
			break;
		case SC_UINTD: {
			uint64_t v = prev + (uint64_t)zz_dec(sc_var(cc));
			prev = v;
			set_uint(f, c->size, (v - 1) & width_mask(c->size));
			break;
		}
		case SC_SINT: {
			int64_t v = zz_dec(sc_var(cc));
			if (c->size == 4) {
				int32_t v32 = (int32_t)v;
				memcpy(f, &v32, 4);
			} else {
				memcpy(f, &v, 8);
			}
			break;
		}
		case SC_STR: {
			int bad = 0;
			const char *s = cb->str(cb->ctx, sc_var(cc), &bad);
			if (bad) {
				*why = "string id out of range";
				return -1;
			}
			memcpy(f, &s, sizeof s);
			break;
		}
		case SC_F64: {
			const uint8_t *b = sc_mem(cc, 8);
			if (b) {
				uint64_t u = bd_get64(b);
				double d;
				memcpy(&d, &u, 8);
				memcpy(f, &d, 8);
			}
			break;
		}
		case SC_PID: {
			bd_pid p;
			p.node = (uint32_t)(sc_var(cc) - 1);
			p.num = (uint32_t)((int64_t)prev_num + zz_dec(sc_var(cc)));
			p.serial = (uint32_t)sc_var(cc);
			prev_num = p.num;
			memcpy(f, &p, sizeof p);
			break;
		}
		case SC_SPAN: {
			uint64_t len = sc_var(cc);
			bd_span s = len ? cb->span(cb->ctx, table, first + i, c->part, len) : BD_SPAN_NONE;
			memcpy(f, &s, sizeof s);
			break;
		}
		case SC_BLOB: {
			uint64_t len = sc_var(cc);
			bd_span s = BD_SPAN_NONE;
			if (len) {
				const uint8_t *b = sc_mem(cc, len - 1);
				if (b)
					s = cb->blob(cb->ctx, b, (size_t)(len - 1));
			}
			memcpy(f, &s, sizeof s);
			break;
		}
		}
		if (cc->bad) {
			*why = "column data too short";
			return -1;
		}
	}
	if (cc->p != cc->end) {
		*why = "column data too long";
		return -1;
	}
	return 0;
}

const char snap_str_unknown[] = "?";

/* Required strings left out by the file (id 0, or a column it does not have). */
static void fill_required(const snap_table *t, uint8_t *rows, size_t n)
{
	for (size_t k = 0; k < t->ncols; k++) {
		const snap_col *c = &t->cols[k];
		if (c->type != SC_STR || !c->req)
			continue;
		for (size_t i = 0; i < n; i++) {
			const char *s;
			memcpy(&s, rows + i * t->row_size + c->off, sizeof s);
			if (!s) {
				s = snap_str_unknown;
				memcpy(rows + i * t->row_size + c->off, &s, sizeof s);
			}
		}
	}
}

int snap_table_decode(const snap_table *t, const uint8_t *p, size_t len, void *rows,
		      size_t n, uint64_t first, const snap_dec_cb *cb, const char **why)
{
	scur c = {p, p + len, 0};
	uint64_t nrows = sc_var(&c), ncols = sc_var(&c);
	if (c.bad || nrows != n) {
		*why = "row count mismatch";
		return -1;
	}
	for (uint64_t k = 0; k < ncols; k++) {
		uint64_t id = sc_var(&c);
		uint8_t type = sc_u8(&c);
		uint64_t bytes = sc_var(&c);
		const uint8_t *d = sc_mem(&c, bytes);
		if (c.bad) {
			*why = "column header truncated";
			return -1;
		}
		const snap_col *col = NULL;
		for (size_t j = 0; j < t->ncols; j++)
			if (t->cols[j].id == id && t->cols[j].type == type)
				col = &t->cols[j];
		if (!col)
			continue; /* unknown column (newer writer): skip by length */
		scur cc = {d, d + bytes, 0};
		if (decode_column(col, &cc, rows, t->row_size, n, first, t->id, cb, why))
			return -1;
	}
	if (c.p != c.end) {
		*why = "trailing bytes after the columns";
		return -1;
	}
	fill_required(t, rows, n);
	return 0;
}

/* ---- term dictionary (encoder) ---- */
static int dict_grow_entries(snap_dict *d)
{
	size_t cap = d->ent_cap ? d->ent_cap * 2 : 4096;
	const char **es = realloc(d->ent_s, cap * sizeof *es);
	if (es)
		d->ent_s = es;
	uint32_t *el = es ? realloc(d->ent_len, cap * sizeof *el) : NULL;
	if (!es || !el)
		return -1;
	d->ent_len = el;
	d->ent_cap = cap;
	return 0;
}

/* Id of the bytes s[0..n) (s must outlive the dictionary), or UINT32_MAX. */
static uint32_t dict_id(snap_dict *d, const char *s, size_t n)
{
	if (n > UINT32_MAX / 2)
		return UINT32_MAX;
	/* Room for one more entry first, so that a new id always has one. */
	if (d->count == d->ent_cap && dict_grow_entries(d)) {
		d->oom = 1;
		return UINT32_MAX;
	}
	if (d->keep && bd_strmap_get(&d->ids, s, n) < 0 && !(s = bd_arena_strndup(d->keep, s, n))) {
		d->oom = 1;
		return UINT32_MAX;
	}
	int64_t id = bd_strmap_put(&d->ids, s, n, (uint32_t)d->count);
	if (id < 0) {
		d->oom = 1;
		return UINT32_MAX;
	}
	if ((size_t)id == d->count) {
		d->ent_s[id] = s;
		d->ent_len[id] = (uint32_t)n;
		d->count++;
	}
	return (uint32_t)id;
}

void snap_dict_free(snap_dict *d)
{
	free(d->undo);
	bd_strmap_free(&d->ids);
	free(d->ent_s);
	free(d->ent_len);
	memset(d, 0, sizeof *d);
}

/* ---- base64 ---- */
static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value + 1 of each base64 character, 0 for others. */
#define B(c, v) [c] = (v) + 1
static const int8_t b64val1[256] = {
	B('A', 0),  B('B', 1),  B('C', 2),  B('D', 3),  B('E', 4),  B('F', 5),  B('G', 6),
	B('H', 7),  B('I', 8),  B('J', 9),  B('K', 10), B('L', 11), B('M', 12), B('N', 13),
	B('O', 14), B('P', 15), B('Q', 16), B('R', 17), B('S', 18), B('T', 19), B('U', 20),
	B('V', 21), B('W', 22), B('X', 23), B('Y', 24), B('Z', 25), B('a', 26), B('b', 27),
	B('c', 28), B('d', 29), B('e', 30), B('f', 31), B('g', 32), B('h', 33), B('i', 34),
	B('j', 35), B('k', 36), B('l', 37), B('m', 38), B('n', 39), B('o', 40), B('p', 41),
	B('q', 42), B('r', 43), B('s', 44), B('t', 45), B('u', 46), B('v', 47), B('w', 48),
	B('x', 49), B('y', 50), B('z', 51), B('0', 52), B('1', 53), B('2', 54), B('3', 55),
	B('4', 56), B('5', 57), B('6', 58), B('7', 59), B('8', 60), B('9', 61), B('+', 62),
	B('/', 63),
};
#undef B

int snap_b64_decode(sbuf *out, const char *text, size_t len)
{
	if (len % 4)
		return 0;
	size_t groups = len / 4;
	if (!sb_room(out, groups * 3))
		return 0;
	size_t start = out->len;
	uint8_t *o = out->p + out->len;
	const unsigned char *s = (const unsigned char *)text;
	for (size_t g = 0; g < groups; g++, s += 4) {
		int a = b64val1[s[0]] - 1, b = b64val1[s[1]] - 1, c = b64val1[s[2]] - 1,
		    d = b64val1[s[3]] - 1;
		if ((a | b | c | d) >= 0) {
			uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
			*o++ = (uint8_t)(v >> 16);
			*o++ = (uint8_t)(v >> 8);
			*o++ = (uint8_t)v;
			continue;
		}
		/* Only the last group may carry padding, with zero spare bits. */
		if (g != groups - 1 || a < 0 || b < 0)
			goto fail;
		if (s[2] == '=' && s[3] == '=') {
			if (b & 0xf)
				goto fail;
			*o++ = (uint8_t)(a << 2 | b >> 4);
		} else if (c >= 0 && s[3] == '=') {
			if (c & 0x3)
				goto fail;
			*o++ = (uint8_t)(a << 2 | b >> 4);
			*o++ = (uint8_t)(b << 4 | c >> 2);
		} else {
			goto fail;
		}
	}
	out->len = (size_t)(o - out->p);
	return 1;
fail:
	out->len = start;
	return 0;
}

void snap_b64_encode(sbuf *out, const uint8_t *p, size_t n)
{
	if (!sb_room(out, (n + 2) / 3 * 4))
		return;
	char *o = (char *)out->p + out->len;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		o[0] = b64chars[v >> 18];
		o[1] = b64chars[(v >> 12) & 63];
		o[2] = b64chars[(v >> 6) & 63];
		o[3] = b64chars[v & 63];
		o += 4;
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		o[0] = b64chars[v >> 18];
		o[1] = b64chars[(v >> 12) & 63];
		o[2] = o[3] = '=';
		o += 4;
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		o[0] = b64chars[v >> 18];
		o[1] = b64chars[(v >> 12) & 63];
		o[2] = b64chars[(v >> 6) & 63];
		o[3] = '=';
		o += 4;
	}
	out->len = (size_t)((uint8_t *)o - out->p);
}

/* ---- canonical number parsing (what the VM prints, nothing else) ---- */
static const int8_t hexdig[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7,
	['7'] = 8, ['8'] = 9, ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14,
	['E'] = 15, ['F'] = 16,
};

/* Uppercase hex, no leading zero (except "0"), at most 16 digits. */
static const char *hex_canon(const char *p, const char *end, uint64_t *out)
{
	if (p >= end || !hexdig[(unsigned char)*p])
		return NULL;
	if (*p == '0') {
		*out = 0;
		return p + 1 < end && hexdig[(unsigned char)p[1]] ? NULL : p + 1;
	}
	uint64_t v = 0;
	const char *s = p;
	while (p < end && hexdig[(unsigned char)*p]) {
		if (p - s >= 16)
			return NULL;
		v = v << 4 | (uint64_t)(hexdig[(unsigned char)*p] - 1);
		p++;
	}
	*out = v;
	return p;
}

/* Unsigned decimal, no leading zero, fits 64 bits. */
static const char *udec_canon(const char *p, const char *end, uint64_t *out)
{
	if (p >= end || *p < '0' || *p > '9')
		return NULL;
	if (*p == '0') {
		*out = 0;
		return p + 1 < end && p[1] >= '0' && p[1] <= '9' ? NULL : p + 1;
	}
	uint64_t v = 0;
	while (p < end && *p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return NULL;
		v = v * 10 + d;
		p++;
	}
	*out = v;
	return p;
}

static const char *sdec_canon(const char *p, const char *end, int64_t *out)
{
	uint64_t v;
	if (p < end && *p == '-') {
		const char *q = udec_canon(p + 1, end, &v);
		if (!q || v == 0 || v > (uint64_t)INT64_MAX + 1)
			return NULL;
		*out = (int64_t)(0 - v);
		return q;
	}
	const char *q = udec_canon(p, end, &v);
	if (!q || v > (uint64_t)INT64_MAX)
		return NULL;
	*out = (int64_t)v;
	return q;
}

/* ---- number printing for the decoder ---- */
static void put_hex(sbuf *o, uint64_t v)
{
	char t[16];
	int n = 0;
	do {
		t[15 - n++] = "0123456789ABCDEF"[v & 15];
		v >>= 4;
	} while (v);
	sb_mem(o, t + 16 - n, (size_t)n);
}

static void put_hexlow16(sbuf *o, uint64_t v)
{
	char t[18] = {'0', 'x'};
	for (int i = 0; i < 16; i++)
		t[17 - i] = "0123456789abcdef"[(v >> (4 * i)) & 15];
	sb_mem(o, t, 18);
}

static void put_udec(sbuf *o, uint64_t v)
{
	char t[20];
	int n = 0;
	do {
		t[19 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sb_mem(o, t + 20 - n, (size_t)n);
}

static void put_sdec(sbuf *o, int64_t v)
{
	if (v < 0) {
		sb_u8(o, '-');
		put_udec(o, 0 - (uint64_t)v);
	} else {
		put_udec(o, (uint64_t)v);
	}
}

/* ---- term line encoder ---- */
enum {
	E_NIL = 0x40, E_PTR, E_ATOM, E_INT, E_PID, E_PORT,
	O_CONS = 0x50, O_TUPLE, O_FLOAT, O_BIG, O_HEAPBIN, O_REFC, O_SUB, O_FLATMAP,
	O_HASHHEAD, O_HASHNODE, O_PID, O_PORT, O_EXT, O_FUNREF,
	V_RET = 0x30, V_CATCH, V_S,
};

/* Pointer slots of top-level elements (rows 14, 15; objects use row = tag - O_CONS). */
enum { ROW_TOP1 = 14, ROW_TOP2 = 15, COL_STACK = 0, COL_DICT = 1, COL_MSG = 2, COL_PTERM = 3 };

#define LINE_RAW_MAX (256u * 1024) /* longer lines are kept verbatim, in pieces */
#define LINE_ENC_MAX (1u << 20)     /* a line may encode to at most this (record size) */

/* Change a context word, remembering the old value for a rollback. */
static void cx_put(snap_dict *d, uint64_t *p, uint64_t v)
{
	if (d->nundo == d->undo_cap) {
		size_t cap = d->undo_cap ? d->undo_cap * 2 : 256;
		struct snap_undo *u = realloc(d->undo, cap * sizeof *u);
		if (!u) {
			d->oom = 1;
			*p = v;
			return;
		}
		d->undo = u;
		d->undo_cap = cap;
	}
	d->undo[d->nundo].p = p;
	d->undo[d->nundo++].old = *p;
	*p = v;
}

static uint64_t *slot_of(snap_ctx *cx, unsigned row, uint64_t col)
{
	return &cx->slot[row & (SNAP_SLOT_ROWS - 1)][col < SNAP_SLOT_COLS ? col : SNAP_SLOT_COLS - 1];
}

static const char *enc_pidlike(sbuf *o, const char *p, const char *end, int parts)
{
	if (p >= end || *p != '<')
		return NULL;
	p++;
	for (int i = 0; i < parts; i++) {
		uint64_t v;
		p = udec_canon(p, end, &v);
		if (!p || v > UINT32_MAX || p >= end || *p != (i + 1 < parts ? '.' : '>'))
			return NULL;
		p++;
		sb_var(o, v);
	}
	return p;
}

/* One element (§3.2) in pointer slot (row, col). */
static const char *enc_elem(sbuf *o, snap_ctx *cx, snap_dict *d, const char *p,
			    const char *end, unsigned row, uint64_t col)
{
	if (p >= end)
		return NULL;
	uint64_t v;
	switch (*p) {
	case 'N':
		sb_u8(o, E_NIL);
		return p + 1;
	case 'H': {
		p = hex_canon(p + 1, end, &v);
		if (!p)
			return NULL;
		uint64_t *sl = slot_of(cx, row, col);
		sb_u8(o, E_PTR);
		sb_var(o, zz_enc((int64_t)(v - *sl)));
		cx_put(d, sl, v);
		cx_put(d, &cx->ring[cx->ring_pos & (SNAP_RING - 1)], v);
		cx_put(d, &cx->ring_pos, cx->ring_pos + 1);
		return p;
	}
	case 'I': {
		int64_t i;
		p = sdec_canon(p + 1, end, &i);
		if (!p)
			return NULL;
		sb_u8(o, E_INT);
		sb_var(o, zz_enc((int64_t)((uint64_t)i - cx->integer)));
		cx_put(d, &cx->integer, (uint64_t)i);
		return p;
	}
	case 'A': {
		p = hex_canon(p + 1, end, &v);
		if (!p || p >= end || *p != ':' || v > (uint64_t)(end - p - 1))
			return NULL;
		uint32_t id = dict_id(d, p + 1, (size_t)v);
		if (id == UINT32_MAX)
			return NULL;
		sb_u8(o, E_ATOM);
		sb_var(o, id);
		return p + 1 + v;
	}
	case 'P':
		sb_u8(o, E_PID);
		return enc_pidlike(o, p + 1, end, 3);
	case 'p':
		sb_u8(o, E_PORT);
		return enc_pidlike(o, p + 1, end, 2);
	}
	return NULL;
}

static const char *enc_elems(sbuf *o, snap_ctx *cx, snap_dict *d, const char *p,
			     const char *end, unsigned row, uint64_t first_col, uint64_t n)
{
	for (uint64_t i = 0; i < n && p; i++) {
		if (i) {
			if (p >= end || *p != ',')
				return NULL;
			p++;
		}
		p = enc_elem(o, cx, d, p, end, row, first_col + i);
	}
	return p;
}

/* Base64 data of n bytes at p: canonical only, and exactly 4*ceil(n/3) characters. */
static const char *enc_b64(sbuf *o, const char *p, const char *end, uint64_t n)
{
	uint64_t tl = (n + 2) / 3 * 4;
	if (tl > (uint64_t)(end - p))
		return NULL;
	sb_var(o, n);
	size_t at = o->len;
	if (!snap_b64_decode(o, p, (size_t)tl) || o->len - at != n)
		return NULL;
	return p + tl;
}

#define ROW(tag) ((unsigned)((tag) - O_CONS))

/* Object text after "ADDR:" (§3.3). */
static const char *enc_object(sbuf *o, snap_ctx *cx, snap_dict *d, const char *p,
			      const char *end, uint64_t addr)
{
	uint64_t n, a, b;
	if (p + 1 >= end)
		return NULL;
	switch (*p) {
	case 'l':
		sb_u8(o, O_CONS);
		p = enc_elem(o, cx, d, p + 1, end, ROW(O_CONS), 0);
		if (!p || p >= end || *p != '|')
			return NULL;
		return enc_elem(o, cx, d, p + 1, end, ROW(O_CONS), 1);
	case 't':
		p = hex_canon(p + 1, end, &n);
		if (!p || p >= end || *p != ':')
			return NULL;
		sb_u8(o, O_TUPLE);
		sb_var(o, n);
		return enc_elems(o, cx, d, p + 1, end, ROW(O_TUPLE), 0, n);
	case 'F': {
		p = hex_canon(p + 1, end, &n);
		if (!p || p >= end || *p != ':' || n > (uint64_t)(end - p - 1) ||
		    memchr(p + 1, '\n', (size_t)n))
			return NULL;
		sb_u8(o, O_FLOAT);
		sb_var(o, n);
		sb_mem(o, p + 1, (size_t)n);
		return p + 1 + n;
	}
	case 'B': {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		if (!e)
			return NULL;
		sb_u8(o, O_BIG);
		sb_var(o, (uint64_t)(e - p - 1));
		sb_mem(o, p + 1, (size_t)(e - p - 1));
		return e;
	}
	case 'Y': {
		if (p[1] == 'h') {
			p = hex_canon(p + 2, end, &n);
			if (!p || p >= end || *p != ':')
				return NULL;
			sb_u8(o, O_HEAPBIN);
			return enc_b64(o, p + 1, end, n);
		}
		if (p[1] != 'c' && p[1] != 's')
			return NULL;
		int refc = p[1] == 'c';
		sb_u8(o, refc ? O_REFC : O_SUB);
		p = hex_canon(p + 2, end, &a);
		if (!p || p >= end || *p != ':' || !(p = hex_canon(p + 1, end, &b)) || p >= end ||
		    *p != ':' || !(p = hex_canon(p + 1, end, &n)))
			return NULL;
		sb_var(o, zz_enc((int64_t)(a - cx->bin)));
		sb_var(o, b);
		sb_var(o, n);
		cx_put(d, &cx->bin, a);
		if (refc && d->refc)
			d->refc(d->refc_ud, a);
		return p;
	}
	case 'M':
		if (p[1] == 'f') {
			p = hex_canon(p + 2, end, &n);
			if (!p || p >= end || *p != ':')
				return NULL;
			sb_u8(o, O_FLATMAP);
			sb_var(o, n);
			p = enc_elem(o, cx, d, p + 1, end, ROW(O_FLATMAP), 0);
			if (!p || p >= end || *p != ':')
				return NULL;
			return enc_elems(o, cx, d, p + 1, end, ROW(O_FLATMAP), 1, n);
		}
		if (p[1] == 'h') {
			p = hex_canon(p + 2, end, &a);
			if (!p || p >= end || *p != ':' || !(p = hex_canon(p + 1, end, &n)) ||
			    p >= end || *p != ':')
				return NULL;
			sb_u8(o, O_HASHHEAD);
			sb_var(o, a);
			sb_var(o, n);
			return enc_elems(o, cx, d, p + 1, end, ROW(O_HASHHEAD), 0, n);
		}
		if (p[1] == 'n') {
			p = hex_canon(p + 2, end, &n);
			if (!p || p >= end || *p != ':')
				return NULL;
			sb_u8(o, O_HASHNODE);
			sb_var(o, n);
			return enc_elems(o, cx, d, p + 1, end, ROW(O_HASHNODE), 0, n);
		}
		return NULL;
	case 'P':
		sb_u8(o, O_PID);
		return enc_pidlike(o, p + 1, end, 3);
	case 'p':
		sb_u8(o, O_PORT);
		return enc_pidlike(o, p + 1, end, 2);
	case 'E':
		p = hex_canon(p + 1, end, &n);
		if (!p || p >= end || *p != ':')
			return NULL;
		sb_u8(o, O_EXT);
		return enc_b64(o, p + 1, end, n);
	case 'R':
		if (p[1] != 'f' || !(p = hex_canon(p + 2, end, &a)))
			return NULL;
		sb_u8(o, O_FUNREF);
		sb_var(o, zz_enc((int64_t)(a - addr)));
		return p;
	}
	return NULL;
}

/* Stack value: "SReturn addr 0xHEX (text)", "SCatch 0xHEX (text)", "S<text>" or an
 * element. */
static const char *enc_value(sbuf *o, snap_ctx *cx, snap_dict *d, const char *p,
			     const char *end)
{
	if (p >= end || *p != 'S')
		return enc_elem(o, cx, d, p, end, ROW_TOP1, COL_STACK);
	const char *e = memchr(p, '\n', (size_t)(end - p));
	if (!e)
		return NULL;
	static const char ret[] = "SReturn addr 0x", cat[] = "SCatch 0x";
	int kind = 0;
	const char *q = NULL;
	if ((size_t)(e - p) > sizeof ret && memcmp(p, ret, sizeof ret - 1) == 0)
		kind = V_RET, q = p + sizeof ret - 1;
	else if ((size_t)(e - p) > sizeof cat && memcmp(p, cat, sizeof cat - 1) == 0)
		kind = V_CATCH, q = p + sizeof cat - 1;
	uint64_t v;
	if (kind && (q = hex_canon(q, e, &v)) && e - q >= 3 && q[0] == ' ' && q[1] == '(' &&
	    e[-1] == ')') {
		uint32_t id = dict_id(d, q + 2, (size_t)(e - 1 - (q + 2)));
		if (id == UINT32_MAX)
			return NULL;
		sb_u8(o, (uint8_t)kind);
		sb_var(o, v);
		sb_var(o, id);
		return e;
	}
	uint32_t id = dict_id(d, p + 1, (size_t)(e - p - 1));
	if (id == UINT32_MAX)
		return NULL;
	sb_u8(o, V_S);
	sb_var(o, id);
	return e;
}

/* The address of a heap line: the age of a recent pointer equal to it, or a delta. */
static void enc_line_addr(sbuf *o, snap_ctx *cx, snap_dict *d, uint64_t v)
{
	for (unsigned k = 0; k < SNAP_RING; k++)
		if (cx->ring[(cx->ring_pos - 1 - k) & (SNAP_RING - 1)] == v && k < cx->ring_pos) {
			sb_u8(o, (uint8_t)(OP_OBJ_REF + k));
			return;
		}
	sb_u8(o, OP_OBJ);
	sb_var(o, zz_enc((int64_t)(v - cx->root)));
	cx_put(d, &cx->root, v);
}

static const char *enc_structured(sbuf *o, snap_ctx *cx, snap_dict *d, int k, const char *p,
				  const char *end)
{
	uint64_t v;
	switch (k) {
	case SK_HEAP:
	case SK_LITERALS:
		p = hex_canon(p, end, &v);
		if (!p || p >= end || *p != ':')
			return NULL;
		enc_line_addr(o, cx, d, v);
		return enc_object(o, cx, d, p + 1, end, v);
	case SK_STACK:
		if (*p == 'y') {
			p = udec_canon(p + 1, end, &v);
			if (!p || p >= end || *p != ':')
				return NULL;
			sb_u8(o, OP_STACK_Y);
			sb_var(o, v);
		} else {
			if (end - p < 19 || p[0] != '0' || p[1] != 'x' || p[18] != ':')
				return NULL;
			v = 0;
			for (int i = 2; i < 18; i++) {
				int c = (unsigned char)p[i];
				int dv = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
				if (dv < 0)
					return NULL;
				v = v << 4 | (uint64_t)dv;
			}
			sb_u8(o, OP_STACK_LABEL);
			sb_var(o, zz_enc((int64_t)(v - cx->label)));
			cx_put(d, &cx->label, v);
			p += 18;
		}
		return enc_value(o, cx, d, p + 1, end);
	case SK_MESSAGES:
		sb_u8(o, OP_MSG);
		p = enc_elem(o, cx, d, p, end, ROW_TOP1, COL_MSG);
		if (!p || p >= end || *p != ':')
			return NULL;
		return enc_elem(o, cx, d, p + 1, end, ROW_TOP2, COL_MSG);
	case SK_DICT:
		sb_u8(o, OP_DICT);
		return enc_elem(o, cx, d, p, end, ROW_TOP1, COL_DICT);
	case SK_PTERMS:
		sb_u8(o, OP_PTERM);
		p = enc_elem(o, cx, d, p, end, ROW_TOP1, COL_PTERM);
		if (!p || p >= end || *p != '|')
			return NULL;
		return enc_elem(o, cx, d, p + 1, end, ROW_TOP2, COL_PTERM);
	}
	return NULL;
}

const char *snap_enc_line(sbuf *out, snap_ctx *cx, snap_dict *d, int k, const char *p,
			  const char *end)
{
	size_t mark = out->len;
	if (k != SK_TEXT && k != SK_BINARY) {
		d->nundo = 0;
		const char *q = enc_structured(out, cx, d, k, p, end);
		if (q && q < end && *q == '\n' && !out->oom && out->len - mark <= LINE_ENC_MAX)
			return q + 1;
		out->len = mark;
		while (d->nundo > 0) {
			d->nundo--;
			*d->undo[d->nundo].p = d->undo[d->nundo].old;
		}
	}
	/* Verbatim up to and including the newline; very long lines in pieces. */
	const char *e = memchr(p, '\n', (size_t)(end - p));
	e = e ? e + 1 : end;
	if ((size_t)(e - p) > LINE_RAW_MAX)
		e = p + LINE_RAW_MAX;
	sb_u8(out, OP_RAW);
	sb_var(out, (uint64_t)(e - p));
	sb_mem(out, p, (size_t)(e - p));
	return e;
}

/* ---- term line decoder ---- */
/* Entry id, or NULL when there is none (or it was in a skipped record). */
static const char *dict_get(const snap_tdict *d, uint64_t id, size_t *len)
{
	if (id >= d->n)
		return NULL;
	uint64_t k = snap_holes_map(&d->holes, id);
	if (k == UINT64_MAX)
		return NULL;
	*len = d->len[k];
	return d->s[k];
}

int snap_holes_add(snap_holes *h, uint64_t first, uint64_t end)
{
	if (end <= first)
		return 0;
	uint64_t before = snap_holes_lost(h);
	if (h->n && h->v[h->n - 1].end == first) { /* extends the last range */
		h->v[h->n - 1].end = end;
		h->v[h->n - 1].lost = before + (end - first);
		return 0;
	}
	if (h->n == h->cap) {
		size_t nc = h->cap ? h->cap * 2 : 4;
		snap_hole *nv = realloc(h->v, nc * sizeof *nv);
		if (!nv)
			return -1;
		h->v = nv;
		h->cap = nc;
	}
	h->v[h->n++] = (snap_hole){first, end, before + (end - first)};
	return 0;
}

uint64_t snap_holes_map(const snap_holes *h, uint64_t id)
{
	if (!h->n || id < h->v[0].first)
		return id;
	size_t lo = 0, hi = h->n; /* the last range with first <= id */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (h->v[mid].first <= id)
			lo = mid;
		else
			hi = mid;
	}
	if (id < h->v[lo].end)
		return UINT64_MAX;
	return id - h->v[lo].lost;
}

static void put_pidlike(sbuf *o, char tag, uint64_t a, uint64_t b, uint64_t c, int parts)
{
	sb_u8(o, (uint8_t)tag);
	sb_u8(o, '<');
	put_udec(o, a);
	sb_u8(o, '.');
	put_udec(o, b);
	if (parts == 3) {
		sb_u8(o, '.');
		put_udec(o, c);
	}
	sb_u8(o, '>');
}

static int dec_elem(scur *c, snap_ctx *cx, const snap_tdict *d, sbuf *o, unsigned row,
		    uint64_t col)
{
	uint8_t t = sc_u8(c);
	switch (t) {
	case E_NIL:
		if (o)
			sb_u8(o, 'N');
		return 0;
	case E_PTR: {
		uint64_t *sl = slot_of(cx, row, col);
		uint64_t v = *sl + (uint64_t)zz_dec(sc_var(c));
		*sl = v;
		cx->ring[cx->ring_pos++ & (SNAP_RING - 1)] = v;
		if (o) {
			sb_u8(o, 'H');
			put_hex(o, v);
		}
		return c->bad ? -1 : 0;
	}
	case E_INT: {
		uint64_t v = cx->integer + (uint64_t)zz_dec(sc_var(c));
		cx->integer = v;
		if (o) {
			sb_u8(o, 'I');
			put_sdec(o, (int64_t)v);
		}
		return c->bad ? -1 : 0;
	}
	case E_ATOM: {
		size_t n = 0;
		const char *s = dict_get(d, sc_var(c), &n);
		if (!s && o)
			return -1; /* not when only walking: the entry may be in a lost record */
		if (o) {
			sb_u8(o, 'A');
			put_hex(o, n);
			sb_u8(o, ':');
			sb_mem(o, s, n);
		}
		return c->bad ? -1 : 0;
	}
	case E_PID:
	case E_PORT: {
		uint64_t a = sc_var(c), b = sc_var(c), cc = t == E_PID ? sc_var(c) : 0;
		if (o)
			put_pidlike(o, t == E_PID ? 'P' : 'p', a, b, cc, t == E_PID ? 3 : 2);
		return c->bad ? -1 : 0;
	}
	}
	return -1;
}

static int dec_elems(scur *c, snap_ctx *cx, const snap_tdict *d, sbuf *o, unsigned row,
		     uint64_t first_col, uint64_t n)
{
	if (n > (uint64_t)(c->end - c->p))
		return -1; /* every element takes at least one byte */
	for (uint64_t i = 0; i < n; i++) {
		if (i && o)
			sb_u8(o, ',');
		if (dec_elem(c, cx, d, o, row, first_col + i))
			return -1;
	}
	return 0;
}

static int dec_b64(scur *c, sbuf *o)
{
	uint64_t n = sc_var(c);
	const uint8_t *b = sc_mem(c, n);
	if (!b)
		return -1;
	if (o) {
		put_hex(o, n);
		sb_u8(o, ':');
		snap_b64_encode(o, b, (size_t)n);
	}
	return 0;
}

static int dec_object(scur *c, snap_ctx *cx, const snap_tdict *d, sbuf *o, uint64_t addr)
{
	uint8_t t = sc_u8(c);
	uint64_t n, a, b;
	switch (t) {
	case O_CONS:
		if (o)
			sb_u8(o, 'l');
		if (dec_elem(c, cx, d, o, ROW(O_CONS), 0))
			return -1;
		if (o)
			sb_u8(o, '|');
		return dec_elem(c, cx, d, o, ROW(O_CONS), 1);
	case O_TUPLE:
		n = sc_var(c);
		if (o) {
			sb_u8(o, 't');
			put_hex(o, n);
			sb_u8(o, ':');
		}
		return dec_elems(c, cx, d, o, ROW(O_TUPLE), 0, n);
	case O_FLOAT:
	case O_BIG: {
		n = sc_var(c);
		const uint8_t *s = sc_mem(c, n);
		if (!s)
			return -1;
		if (o) {
			sb_u8(o, t == O_FLOAT ? 'F' : 'B');
			if (t == O_FLOAT) {
				put_hex(o, n);
				sb_u8(o, ':');
			}
			sb_mem(o, s, (size_t)n);
		}
		return 0;
	}
	case O_HEAPBIN:
		if (o)
			sb_mem(o, "Yh", 2);
		return dec_b64(c, o);
	case O_EXT:
		if (o)
			sb_u8(o, 'E');
		return dec_b64(c, o);
	case O_REFC:
	case O_SUB:
		a = cx->bin + (uint64_t)zz_dec(sc_var(c));
		b = sc_var(c);
		n = sc_var(c);
		cx->bin = a;
		if (o) {
			sb_mem(o, t == O_REFC ? "Yc" : "Ys", 2);
			put_hex(o, a);
			sb_u8(o, ':');
			put_hex(o, b);
			sb_u8(o, ':');
			put_hex(o, n);
		}
		return c->bad ? -1 : 0;
	case O_FLATMAP:
		n = sc_var(c);
		if (o) {
			sb_mem(o, "Mf", 2);
			put_hex(o, n);
			sb_u8(o, ':');
		}
		if (dec_elem(c, cx, d, o, ROW(O_FLATMAP), 0))
			return -1;
		if (o)
			sb_u8(o, ':');
		return dec_elems(c, cx, d, o, ROW(O_FLATMAP), 1, n);
	case O_HASHHEAD:
		a = sc_var(c);
		n = sc_var(c);
		if (o) {
			sb_mem(o, "Mh", 2);
			put_hex(o, a);
			sb_u8(o, ':');
			put_hex(o, n);
			sb_u8(o, ':');
		}
		return dec_elems(c, cx, d, o, ROW(O_HASHHEAD), 0, n);
	case O_HASHNODE:
		n = sc_var(c);
		if (o) {
			sb_mem(o, "Mn", 2);
			put_hex(o, n);
			sb_u8(o, ':');
		}
		return dec_elems(c, cx, d, o, ROW(O_HASHNODE), 0, n);
	case O_PID:
	case O_PORT: {
		uint64_t x = sc_var(c), y = sc_var(c), z = t == O_PID ? sc_var(c) : 0;
		if (o)
			put_pidlike(o, t == O_PID ? 'P' : 'p', x, y, z, t == O_PID ? 3 : 2);
		return c->bad ? -1 : 0;
	}
	case O_FUNREF:
		a = addr + (uint64_t)zz_dec(sc_var(c));
		if (o) {
			sb_mem(o, "Rf", 2);
			put_hex(o, a);
		}
		return c->bad ? -1 : 0;
	}
	return -1;
}

static int dec_value(scur *c, snap_ctx *cx, const snap_tdict *d, sbuf *o)
{
	if (c->p < c->end && (*c->p == V_RET || *c->p == V_CATCH || *c->p == V_S)) {
		uint8_t t = sc_u8(c);
		uint64_t v = t == V_S ? 0 : sc_var(c);
		size_t n = 0;
		const char *s = dict_get(d, sc_var(c), &n);
		if ((!s && o) || c->bad)
			return -1;
		if (o) {
			if (t == V_S) {
				sb_u8(o, 'S');
				sb_mem(o, s, n);
			} else {
				sb_mem(o, t == V_RET ? "SReturn addr 0x" : "SCatch 0x",
				       t == V_RET ? 15 : 9);
				put_hex(o, v);
				sb_mem(o, " (", 2);
				sb_mem(o, s, n);
				sb_u8(o, ')');
			}
		}
		return 0;
	}
	return dec_elem(c, cx, d, o, ROW_TOP1, COL_STACK);
}

int snap_dec_line(scur *c, int op, snap_ctx *cx, const snap_tdict *d, sbuf *o)
{
	int rc = -1;
	if (op >= OP_OBJ_REF && op < OP_OBJ_REF + SNAP_RING) {
		unsigned k = (unsigned)(op - OP_OBJ_REF);
		if (k >= cx->ring_pos)
			return -1;
		uint64_t a = cx->ring[(cx->ring_pos - 1 - k) & (SNAP_RING - 1)];
		if (o) {
			put_hex(o, a);
			sb_u8(o, ':');
		}
		rc = dec_object(c, cx, d, o, a);
		if (rc || c->bad)
			return -1;
		if (o)
			sb_u8(o, '\n');
		return 0;
	}
	switch (op) {
	case OP_RAW: {
		uint64_t n = sc_var(c);
		const uint8_t *s = sc_mem(c, n);
		if (!s)
			return -1;
		if (o)
			sb_mem(o, s, (size_t)n);
		return 0; /* verbatim text carries its own newline */
	}
	case OP_OBJ: {
		uint64_t a = cx->root + (uint64_t)zz_dec(sc_var(c));
		cx->root = a;
		if (o) {
			put_hex(o, a);
			sb_u8(o, ':');
		}
		rc = dec_object(c, cx, d, o, a);
		break;
	}
	case OP_STACK_Y:
	case OP_STACK_LABEL: {
		uint64_t v = sc_var(c);
		if (op == OP_STACK_LABEL) {
			v = cx->label + (uint64_t)zz_dec(v);
			cx->label = v;
		}
		if (o) {
			if (op == OP_STACK_Y) {
				sb_u8(o, 'y');
				put_udec(o, v);
			} else {
				put_hexlow16(o, v);
			}
			sb_u8(o, ':');
		}
		rc = dec_value(c, cx, d, o);
		break;
	}
	case OP_MSG:
	case OP_PTERM: {
		uint64_t col = op == OP_MSG ? COL_MSG : COL_PTERM;
		rc = dec_elem(c, cx, d, o, ROW_TOP1, col);
		if (!rc && o)
			sb_u8(o, op == OP_MSG ? ':' : '|');
		if (!rc)
			rc = dec_elem(c, cx, d, o, ROW_TOP2, col);
		break;
	}
	case OP_DICT:
		rc = dec_elem(c, cx, d, o, ROW_TOP1, COL_DICT);
		break;
	}
	if (rc || c->bad)
		return -1;
	if (o)
		sb_u8(o, '\n');
	return 0;
}
