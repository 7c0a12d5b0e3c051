/* Model -> .bdump records (docs/FORMAT.md §Producer). Tables go out as columnar chunks
 * with their new strings just before them; term sections, literals and binaries go out
 * as stream records of about record_target bytes, each preceded by the atoms and
 * texts it introduced, so every record is readable once it is on disk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beamdump/progress.h"
#include "beamdump/secret.h"
#include "beamdump/snapshot.h"
#include "native_int.h"
#include "redact.h"
#include "snapshot_int.h"

typedef struct wr {
	const bd_model *m;
	bd_snapshot_sink sink;
	void *sink_ctx;
	bd_snapshot_opts o;
	bd_snapshot_stats st;
	bd_error *err;
	int rc;
	/* model strings: pointer -> id (ids from 1), queued until flushed */
	bd_u64map str_ids;
	const char **pending;
	size_t npending, pending_cap;
	uint64_t next_str;
	uint32_t strings_seq;
	/* term dictionary */
	snap_dict dict;
	uint32_t dict_seq;
	/* current stream record */
	sbuf rec, tmp;
	uint16_t s_type;
	uint32_t s_inst, s_seq[4];
	int s_slot;
	uint32_t s_items;
	uint64_t s_key, s_cont_id;
	int s_cont;       /* the record started with OP_CONT */
	uint64_t cur_id;
	int cur_kind;
	snap_ctx cx;
	uint32_t table_seq[ST__COUNT];
	/* binary referrers */
	uint32_t *bin_last;   /* per binary: last proc index recorded + 1 */
	bd_vec refs;          /* snap_binref */
	uint64_t cur_proc;
	/* texts made by redaction (freed at the end; the writer keys strings by address) */
	char **made;
	size_t nmade;
	bd_arena keep; /* dictionary keys from redacted text */
} wr;

static int sink_rec(wr *w, uint16_t type, uint32_t inst, uint32_t seq, uint64_t key,
		    uint32_t items, const void *p, size_t n)
{
	if (w->rc)
		return w->rc;
	if (n > w->o.max_record) {
		w->rc = bd_error_set(w->err, BD_ENOMEM, 0,
				     "snapshot: record of type 0x%x is %zu bytes, over the %zu limit",
				     type, n, w->o.max_record);
		return w->rc;
	}
	bd_record r = {type, 1, inst, seq, items, key};
	int rc = w->sink(w->sink_ctx, &r, p, n);
	if (rc) {
		if (rc == BD_EBUDGET) {
			w->st.budget_stop = 1;
			bd_error_set(w->err, BD_EBUDGET, 0, "snapshot: budget reached after %llu records",
				     (unsigned long long)w->st.records);
		} else if (w->err && !w->err->msg[0]) {
			bd_error_set(w->err, rc, 0, "snapshot: sink failed on record %llu",
				     (unsigned long long)w->st.records);
		}
		w->rc = rc;
		return rc;
	}
	w->st.records++;
	w->st.raw_bytes += n;
	return 0;
}

static int oom(wr *w)
{
	if (!w->rc)
		w->rc = bd_error_set(w->err, BD_ENOMEM, 0, "snapshot: out of memory");
	return w->rc;
}

/* ---- model strings ---- */
static uint64_t str_id(void *ctx, const char *s)
{
	wr *w = ctx;
	if (!s)
		return 0;
	uint64_t id;
	if (bd_u64map_get(&w->str_ids, (uint64_t)(uintptr_t)s, &id))
		return id;
	if (w->npending == w->pending_cap) {
		size_t cap = w->pending_cap ? w->pending_cap * 2 : 1024;
		const char **p = realloc(w->pending, cap * sizeof *p);
		if (!p) {
			oom(w);
			return 0;
		}
		w->pending = p;
		w->pending_cap = cap;
	}
	id = w->next_str++;
	if (bd_u64map_put(&w->str_ids, (uint64_t)(uintptr_t)s, id) < 0) {
		oom(w);
		return 0;
	}
	w->pending[w->npending++] = s;
	return id;
}

/* Write the queued strings: STRINGS records, key = first id. */
static void flush_strings(wr *w)
{
	size_t i = 0;
	uint64_t first = w->next_str - w->npending;
	while (i < w->npending && !w->rc) {
		w->tmp.len = 0;
		size_t k = i;
		while (k < w->npending && w->tmp.len < w->o.record_target) {
			size_t n = strlen(w->pending[k]);
			if (w->tmp.len + n + 10 > w->o.max_record && k > i)
				break;
			sb_var(&w->tmp, n);
			sb_mem(&w->tmp, w->pending[k], n);
			k++;
		}
		if (w->tmp.oom)
			return (void)oom(w);
		sink_rec(w, BD_REC_STRINGS, 0, w->strings_seq++, first + i, (uint32_t)(k - i),
			 w->tmp.p, w->tmp.len);
		i = k;
	}
	w->npending = 0;
}

/* Write the term dictionary entries added since the last flush. */
static void flush_dict(wr *w)
{
	snap_dict *d = &w->dict;
	if (d->oom)
		return (void)oom(w);
	while (d->flushed < d->count && !w->rc) {
		w->tmp.len = 0;
		size_t k = d->flushed;
		while (k < d->count && w->tmp.len < w->o.record_target) {
			if (w->tmp.len + d->ent_len[k] + 10 > w->o.max_record && k > d->flushed)
				break;
			sb_var(&w->tmp, d->ent_len[k]);
			sb_mem(&w->tmp, d->ent_s[k], d->ent_len[k]);
			k++;
		}
		if (w->tmp.oom)
			return (void)oom(w);
		sink_rec(w, BD_REC_TERMDICT, 0, w->dict_seq++, d->flushed, (uint32_t)(k - d->flushed),
			 w->tmp.p, w->tmp.len);
		d->flushed = k;
	}
}

/* ---- tables ---- */
static int span_blob(void *ctx, bd_span s, const char **out, size_t *len)
{
	wr *w = ctx;
	return bd_model_span_text(w->m, s, out, len);
}

/* Rows [0, n) of table id, the first being row `first` of the table. */
static void write_table_at(wr *w, unsigned id, const void *rows, size_t n, size_t first)
{
	const snap_table *t = snap_table_get(id);
	size_t i = 0;
	size_t chunk = w->o.table_rows;
	do {
		size_t k = n - i < chunk ? n - i : chunk;
		sbuf enc = {0};
		snap_table_encode(&enc, t, (const uint8_t *)rows + i * t->row_size, k, str_id, span_blob,
				  w);
		if (enc.oom) {
			sb_free(&enc);
			return (void)oom(w);
		}
		if (enc.len > w->o.max_record && k > 1) {
			/* Big blobs: fewer rows per chunk. Strings already queued stay queued. */
			sb_free(&enc);
			chunk = k / 2;
			continue;
		}
		if (enc.len > w->o.max_record) {
			/* One row alone is too big: only inline blobs (module attributes) can be;
			 * drop them from this row rather than fail the whole snapshot. */
			uint8_t row[1024];
			memcpy(row, (const uint8_t *)rows + i * t->row_size, t->row_size);
			for (size_t c = 0; c < t->ncols; c++)
				if (t->cols[c].type == SC_BLOB)
					memset(row + t->cols[c].off, 0, sizeof(bd_span));
			enc.len = 0;
			snap_table_encode(&enc, t, row, 1, str_id, span_blob, w);
		}
		flush_strings(w);
		/* pid index chunks are keyed by their first pid, all others by first row */
		uint64_t key = id == ST_PIDIDX ? ((const snap_pidrow *)rows)[i].pid : first + i;
		sink_rec(w, BD_REC_TABLE, id, w->table_seq[id]++, key, (uint32_t)k, enc.p, enc.len);
		sb_free(&enc);
		i += k;
	} while (i < n && !w->rc);
}

static void write_table(wr *w, unsigned id, const void *rows, size_t n)
{
	write_table_at(w, id, rows, n, 0);
}

/* Process rows with the rest of each (bd_proc_ext, of the model's row src[i]), a
 * chunk at a time. */
static void write_procs(wr *w, const bd_proc *procs, const bd_proc *src, size_t n)
{
	size_t chunk = w->o.table_rows ? w->o.table_rows : 1;
	snap_procrow *buf = malloc((n < chunk ? n : chunk) * sizeof *buf);
	if (!buf)
		return (void)oom(w);
	for (size_t i = 0; i < n && !w->rc; i += chunk) {
		size_t k = n - i < chunk ? n - i : chunk;
		for (size_t j = 0; j < k; j++) {
			buf[j].p = procs[i + j];
			bd_proc_ext_get(w->m, &src[i + j], &buf[j].x);
			buf[j].last_calls_idx = BD_UNKNOWN;
		}
		write_table_at(w, ST_PROCS, buf, k, i);
	}
	free(buf);
}

static int cmp_pidrow(const void *a, const void *b)
{
	const snap_pidrow *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

/* The lookup tables of the process table (snapshot_int.h): written after it, so a
 * reader that finds them can trust the table is complete. */
static void write_proc_index(wr *w, const bd_proc *procs, size_t n)
{
	snap_pidrow *idx = malloc(n * sizeof *idx);
	if (!idx)
		return (void)oom(w);
	size_t named = 0;
	for (size_t i = 0; i < n; i++) {
		idx[i] = (snap_pidrow){bd_pid_pack(procs[i].pid), i};
		named += procs[i].name != NULL;
	}
	qsort(idx, n, sizeof *idx, cmp_pidrow);
	write_table(w, ST_PIDIDX, idx, n);
	free(idx);
	snap_namerow *names = malloc((named ? named : 1) * sizeof *names);
	if (!names)
		return (void)oom(w);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (procs[i].name)
			names[k++] = (snap_namerow){i, procs[i].name};
	if (k)
		write_table(w, ST_NAMES, names, k);
	free(names);
}

/* A text owned by the writer until it ends. */
static const char *made_text(wr *w, const char *s, size_t n)
{
	char **m = realloc(w->made, (w->nmade + 1) * sizeof *m);
	char *t = malloc(n + 1);
	if (!m || !t) {
		free(t);
		if (m)
			w->made = m;
		oom(w);
		return NULL;
	}
	w->made = m;
	memcpy(t, s, n);
	t[n] = 0;
	return w->made[w->nmade++] = t;
}

/* A spawned command keeps its program only ("sh -c 'curl -u u:p ...'" -> "sh"). */
static const char *program_only(wr *w, const char *cmd)
{
	if (!cmd)
		return NULL;
	size_t n = strcspn(cmd, " \t");
	return n == strlen(cmd) ? cmd : made_text(w, cmd, n);
}

/* A term as text ("{job,42,<<\"x\">>}") keeps its shape: "{job,...}", an atom, or "...". */
static const char *text_shape(wr *w, const char *s)
{
	if (!s)
		return NULL;
	size_t n = 0;
	const char *a = s + (*s == '{');
	if (*a >= 'a' && *a <= 'z')
		n = strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@");
	char t[160];
	if (bd_secret_is(a, n))
		snprintf(t, sizeof t, "'" BD_SECRET_SHOWN "'");
	else if (*s == '{')
		snprintf(t, sizeof t, "{%.*s%s", (int)(n > 100 ? 100 : n), a, n ? ",...}" : "...}");
	else if (n && !a[n])
		snprintf(t, sizeof t, "%.*s", (int)(n > 100 ? 100 : n), a);
	else
		snprintf(t, sizeof t, "...");
	return made_text(w, t, strlen(t));
}

/* Ports and timers carry free text from the node: commands, port data, messages. */
static void write_redacted_rows(wr *w)
{
	size_t n;
	const bd_port *ports = bd_model_ports(w->m, &n);
	bd_port *pc = n ? malloc(n * sizeof *pc) : NULL;
	if (n && !pc)
		return (void)oom(w);
	for (size_t i = 0; i < n && !w->rc; i++) {
		pc[i] = ports[i];
		int spawned = pc[i].kind && (!strcmp(pc[i].kind, "external") ||
					     !strcmp(pc[i].kind, "forker"));
		if (spawned) {
			pc[i].name = program_only(w, pc[i].name);
			pc[i].driver = program_only(w, pc[i].driver);
		}
		pc[i].port_data = pc[i].port_data ? "..." : NULL;
	}
	if (n && !w->rc)
		write_table(w, ST_PORTS, pc, n);
	free(pc);
	const bd_timer *timers = bd_model_timers(w->m, &n);
	bd_timer *tc = n ? malloc(n * sizeof *tc) : NULL;
	if (n && !tc)
		return (void)oom(w);
	for (size_t i = 0; i < n && !w->rc; i++) {
		tc[i] = timers[i];
		tc[i].message = text_shape(w, tc[i].message);
	}
	if (n && !w->rc)
		write_table(w, ST_TIMERS, tc, n);
	free(tc);
}

static char *redact_text(const bd_model *m, int kind, const char *t, size_t len, size_t *n);

/* The length of a span once redacted: a snapshot's reader regenerates each span's
 * text and checks it against the length in the table, so the tables carry these. */
static uint64_t redacted_len(wr *w, int kind, bd_span s)
{
	const char *t;
	size_t len, n = 0;
	if (!s.len || bd_model_span_text(w->m, s, &t, &len))
		return s.len;
	char *r = redact_text(w->m, kind, t, len, &n);
	if (!r)
		oom(w);
	free(r);
	return n;
}

/* Base64 (or hex) length of n bytes, as the reader regenerates a binary. */
static uint64_t binary_text_len(const bd_model *m, uint64_t n)
{
	return m->hex_data ? 2 * n : (n + 2) / 3 * 4;
}

/* Bytes of '*' a redacted binary gets: its size, or what the (cut) text holds. */
static uint64_t stars_of(const bd_model *m, const bd_binary *b)
{
	uint64_t avail = m->hex_data ? b->data.len / 2 : b->data.len / 4 * 3;
	return b->size < avail ? b->size : avail;
}

/* The process and binary tables with the spans' redacted lengths. */
static void write_redacted_spans(wr *w)
{
	size_t n;
	const bd_binary *bins = bd_model_binaries(w->m, &n);
	bd_binary *bc = n ? malloc(n * sizeof *bc) : NULL;
	if (n && !bc)
		return (void)oom(w);
	for (size_t i = 0; i < n; i++) {
		bc[i] = bins[i];
		if (bc[i].data.len)
			bc[i].data.len = binary_text_len(w->m, stars_of(w->m, &bins[i]));
	}
	if (n)
		write_table(w, ST_BINARIES, bc, n);
	free(bc);
	const bd_proc *procs = bd_model_procs(w->m, &n);
	bd_proc *pc = n ? malloc(n * sizeof *pc) : NULL;
	if (n && !pc)
		return (void)oom(w);
	for (size_t i = 0; i < n && !w->rc; i++) {
		pc[i] = procs[i];
		pc[i].sec_messages.len = redacted_len(w, SK_MESSAGES, procs[i].sec_messages);
		pc[i].sec_dictionary.len = redacted_len(w, SK_DICT, procs[i].sec_dictionary);
		pc[i].sec_stack.len = redacted_len(w, SK_STACK, procs[i].sec_stack);
		pc[i].sec_heap.len = redacted_len(w, SK_HEAP, procs[i].sec_heap);
	}
	if (n && !w->rc) {
		write_procs(w, pc, procs, n);
		write_proc_index(w, pc, n);
	}
	free(pc);
}

static void write_tables(wr *w)
{
	const bd_model *m = w->m;
	size_t n;
	write_table(w, ST_NODE, bd_model_node(m), 1);
	write_table(w, ST_MEMORY, bd_model_memory(m), 1);
	write_table(w, ST_LIMITS, bd_model_limits(m), 1);
	snap_modelrow mr = {m->literals.len, m->persistent_terms.len, m->atoms.len,
			    m->hex_data, (int32_t)m->ntags};
	if (w->o.redact) {
		mr.literals_len = redacted_len(w, SK_LITERALS, m->literals);
		mr.pterms_len = redacted_len(w, SK_PTERMS, m->persistent_terms);
		mr.atoms_len = redacted_len(w, SK_TEXT, m->atoms);
	}
	write_table(w, ST_MODEL, &mr, 1);
	snap_tagrow tags[BD_TAG_MAXCOUNT];
	for (size_t i = 0; i < m->ntags; i++)
		tags[i] = (snap_tagrow){m->tag_counts[i].tag, m->tag_counts[i].count};
	if (m->ntags)
		write_table(w, ST_TAGS, tags, m->ntags);
	const void *rows;
#define T(id, getter)                          \
	rows = getter(m, &n);                  \
	if (n)                                 \
		write_table(w, id, rows, n);
	/* Referenced tables first (strings, links), so a cut file stays consistent. */
	if (m->strings.len)
		write_table(w, ST_LOOSE, m->strings.data, m->strings.len);
	T(ST_LINKS, bd_model_links)
	T(ST_TABLE_STATS, bd_model_table_stats)
	T(ST_SCHEDS, bd_model_scheds)
	if (w->o.redact) {
		write_redacted_rows(w);
	} else {
		T(ST_PORTS, bd_model_ports)
		T(ST_TIMERS, bd_model_timers)
	}
	T(ST_ETS, bd_model_ets)
	T(ST_DISTS, bd_model_dists)
	T(ST_MODULES, bd_model_modules)
	T(ST_FUNS, bd_model_funs)
	if (!w->o.redact) {
		T(ST_BINARIES, bd_model_binaries)
	}
	T(ST_ALLOC_STATS, bd_model_alloc_stats)
	T(ST_AREAS, bd_model_areas)
#undef T
	if (w->o.redact)
		return write_redacted_spans(w);
	const bd_proc *procs = bd_model_procs(m, &n);
	if (n) {
		write_procs(w, procs, procs, n);
		write_proc_index(w, procs, n);
	}
}

/* ---- stream records ---- */
static void stream_start(wr *w, uint16_t type, uint32_t inst, int slot)
{
	w->s_type = type;
	w->s_inst = inst;
	w->s_slot = slot;
	w->rec.len = 0;
	w->s_items = 0;
	w->s_cont = 0;
	memset(&w->cx, 0, sizeof w->cx);
}

/* Close the current record; when cont, the next one continues the current object. */
static void stream_flush(wr *w, int cont)
{
	if (!w->rec.len || w->rc)
		return;
	if (w->rec.oom)
		return (void)oom(w);
	flush_dict(w);
	uint64_t key = w->s_items ? w->s_key : w->s_cont_id;
	sink_rec(w, w->s_type, w->s_inst, w->s_seq[w->s_slot]++, key, w->s_items, w->rec.p,
		 w->rec.len);
	w->rec.len = 0;
	w->s_items = 0;
	w->s_cont = 0;
	memset(&w->cx, 0, sizeof w->cx);
	if (cont) {
		w->s_cont = 1;
		w->s_cont_id = w->cur_id;
		sb_u8(&w->rec, OP_CONT);
		sb_var(&w->rec, w->cur_id);
		sb_u8(&w->rec, OP_SEC);
		sb_u8(&w->rec, (uint8_t)w->cur_kind);
	}
}

static void stream_object(wr *w, uint64_t id)
{
	if (w->rec.len >= w->o.record_target)
		stream_flush(w, 0);
	if (!w->s_items)
		w->s_key = id;
	w->s_items++;
	w->cur_id = id;
	sb_u8(&w->rec, OP_BEGIN);
	sb_var(&w->rec, id);
}

static void stream_section(wr *w, int kind)
{
	w->cur_kind = kind;
	sb_u8(&w->rec, OP_SEC);
	sb_u8(&w->rec, (uint8_t)kind);
}

static void encode_text(wr *w, int kind, const char *t, size_t len)
{
	const char *p = t, *end = t + len;
	stream_section(w, kind);
	w->st.text_bytes += len;
	while (p < end && !w->rc) {
		size_t before = w->rec.len;
		p = snap_enc_line(&w->rec, &w->cx, &w->dict, kind, p, end);
		w->st.lines++;
		if (kind != SK_TEXT && w->rec.p[before] == OP_RAW)
			w->st.raw_lines++;
		if (w->rec.len >= w->o.record_target)
			stream_flush(w, 1);
	}
}

static char *redact_text(const bd_model *m, int kind, const char *t, size_t len, size_t *n)
{
	static const bd_ts_kind ts[SK__COUNT] = {
		[SK_MESSAGES] = BD_TS_MESSAGES, [SK_DICT] = BD_TS_DICT, [SK_STACK] = BD_TS_STACK,
		[SK_HEAP] = BD_TS_HEAP, [SK_LITERALS] = BD_TS_HEAP, [SK_PTERMS] = BD_TS_PTERMS};
	return kind == SK_TEXT ? bd_redact_atoms(t, len, n)
			       : bd_redact_terms(ts[kind], t, len, m->hex_data, n);
}

/* A term section, redacted first when asked (formats/redact.c). */
static void encode_section(wr *w, int kind, const char *t, size_t len)
{
	if (!w->o.redact) {
		encode_text(w, kind, t, len);
		return;
	}
	size_t n = 0;
	char *r = redact_text(w->m, kind, t, len, &n);
	if (!r) {
		oom(w);
		return;
	}
	encode_text(w, kind, r, n);
	free(r);
}

/* A redacted binary: its size in '*' bytes, in pieces (binaries can be huge). */
static void encode_stars(wr *w, uint64_t size)
{
	stream_section(w, SK_BINARY);
	const size_t piece = 192u * 1024; /* multiple of 3: no base64 padding inside */
	for (uint64_t off = 0; off < size && !w->rc; off += piece) {
		size_t n = size - off < piece ? (size_t)(size - off) : piece;
		static char star[4096], hexstar[4096];
		if (!star[0]) {
			memset(star, '*', sizeof star);
			for (size_t i = 0; i < sizeof hexstar; i += 2)
				memcpy(hexstar + i, "2A", 2);
		}
		const char *fill = w->m->hex_data ? hexstar : star;
		size_t total = w->m->hex_data ? 2 * n : n;
		sb_u8(&w->rec, w->m->hex_data ? OP_RAW : OP_BIN);
		sb_var(&w->rec, total);
		for (size_t k = 0; k < total; k += sizeof star)
			sb_mem(&w->rec, fill, total - k < sizeof star ? total - k : sizeof star);
		if (w->rec.len >= w->o.record_target)
			stream_flush(w, 1);
	}
}

/* Binary text: canonical base64 pieces become raw bytes, anything else stays text. */
static void encode_binary(wr *w, const char *t, size_t len)
{
	stream_section(w, SK_BINARY);
	w->st.text_bytes += len;
	const size_t piece = 256u * 1024; /* multiple of 4 */
	for (size_t off = 0; off < len && !w->rc; off += piece) {
		size_t n = len - off < piece ? len - off : piece;
		w->tmp.len = 0;
		if (!w->m->hex_data && snap_b64_decode(&w->tmp, t + off, n)) {
			sb_u8(&w->rec, OP_BIN);
			sb_var(&w->rec, w->tmp.len);
			sb_mem(&w->rec, w->tmp.p, w->tmp.len);
		} else {
			sb_u8(&w->rec, OP_RAW);
			sb_var(&w->rec, n);
			sb_mem(&w->rec, t + off, n);
		}
		if (w->rec.len >= w->o.record_target)
			stream_flush(w, 1);
	}
}

static void refc_seen(void *ud, uint64_t addr)
{
	wr *w = ud;
	const bd_binary *b = bd_binary_find(w->m, addr);
	if (!b || !w->bin_last)
		return;
	size_t nb;
	const bd_binary *bins = bd_model_binaries(w->m, &nb);
	size_t i = (size_t)(b - bins);
	if (w->bin_last[i] == w->cur_proc + 1)
		return;
	w->bin_last[i] = (uint32_t)(w->cur_proc + 1);
	snap_binref *r = bd_vec_push(&w->refs);
	if (r) {
		r->bin = i;
		r->proc = w->cur_proc;
	}
}

static void write_procdata(wr *w)
{
	size_t n;
	const bd_proc *procs = bd_model_procs(w->m, &n);
	static const int order[] = {SK_STACK, SK_HEAP, SK_MESSAGES, SK_DICT};
	uint64_t released = 0;
	stream_start(w, BD_REC_PROCDATA, 0, 0);
	for (size_t i = 0; i < n && !w->rc; i++) {
		const bd_proc *p = &procs[i];
		bd_span sp[4] = {p->sec_messages, p->sec_dictionary, p->sec_stack, p->sec_heap};
		if (!sp[0].len && !sp[1].len && !sp[2].len && !sp[3].len)
			continue;
		const char *t[4] = {NULL, NULL, NULL, NULL};
		size_t len[4] = {0, 0, 0, 0};
		int unreadable = 0;
		for (int k = 0; k < 4; k++)
			if (sp[k].len && bd_model_span_text(w->m, sp[k], &t[k], &len[k]))
				unreadable = 1;
		/* lost in a damaged snapshot (its model says so): unknown here too */
		if (unreadable && w->m->span_text)
			continue;
		if (unreadable) {
			w->rc = bd_error_set(w->err, BD_ECORRUPT, 0,
					     "snapshot: cannot read data of process %zu", i);
			return;
		}
		w->cur_proc = i;
		if ((i & 255) == 0)
			bd_progress("writing the snapshot", w->st.text_bytes, w->m->node.input_size,
				    BD_PROGRESS_BYTES);
		stream_object(w, i);
		for (int k = 0; k < 4 && !w->rc; k++)
			if (sp[order[k]].len)
				encode_section(w, order[k], t[order[k]], len[order[k]]);
		/* Streaming: data sections follow the process order, so what lies before this
		 * process's sections is done; let those pages go now and then (text dumps). */
		uint64_t low = UINT64_MAX;
		for (int k = 0; k < 4; k++)
			if (sp[k].len && sp[k].off < low)
				low = sp[k].off;
		if (!w->m->span_text && low != UINT64_MAX && low > released + (32u << 20)) {
			bd_source_release(w->m->src, low);
			released = low;
		}
	}
	stream_flush(w, 0);
}

static void write_termtext(wr *w)
{
	const bd_model *m = w->m;
	struct {
		bd_span s;
		int id, kind;
	} parts[] = {{m->literals, TT_LITERALS, SK_LITERALS},
		     {m->persistent_terms, TT_PTERMS, SK_PTERMS},
		     {m->atoms, TT_ATOMS, SK_TEXT}};
	stream_start(w, BD_REC_TERMTEXT, 0, 1);
	for (size_t i = 0; i < 3 && !w->rc; i++) {
		const char *t;
		size_t len;
		if (!parts[i].s.len || bd_model_span_text(m, parts[i].s, &t, &len))
			continue;
		stream_object(w, (uint64_t)parts[i].id);
		encode_section(w, parts[i].kind, t, len);
	}
	stream_flush(w, 0);
}

static void write_bindata(wr *w)
{
	size_t n;
	const bd_binary *bins = bd_model_binaries(w->m, &n);
	stream_start(w, BD_REC_BINDATA, 0, 2);
	for (size_t i = 0; i < n && !w->rc; i++) {
		const char *t;
		size_t len;
		if (!bins[i].data.len || bd_model_span_text(w->m, bins[i].data, &t, &len))
			continue;
		stream_object(w, i);
		if (w->o.redact) /* the bytes there are, never more than the text holds */
			encode_stars(w, stars_of(w->m, &bins[i]));
		else
			encode_binary(w, t, len);
		if (!w->m->span_text)
			bd_source_release_range(w->m->src, bins[i].data.off, bins[i].data.len);
	}
	stream_flush(w, 0);
}

/* A native crash (core, guard) as one NATIVE record (native_codec.c). */
static void write_native(wr *w)
{
	uint8_t *p;
	size_t n;
	if (bd_native_encode(w->m, w->o.redact, &p, &n)) {
		oom(w);
		return;
	}
	if (p)
		sink_rec(w, BD_REC_NATIVE, NAT_REC_TABLE, 0, 0, bd_model_native(w->m)->nthreads, p, n);
	free(p);
}

static int cmp_ref(const void *a, const void *b)
{
	const snap_binref *x = a, *y = b;
	if (x->bin != y->bin)
		return x->bin < y->bin ? -1 : 1;
	return x->proc < y->proc ? -1 : x->proc > y->proc;
}

int bd_snapshot_write(const bd_model *m, bd_snapshot_sink sink, void *ctx,
		      const bd_snapshot_opts *o, bd_snapshot_stats *stats, bd_error *err)
{
	static const bd_snapshot_opts def = BD_SNAPSHOT_OPTS_INIT;
	wr *w = calloc(1, sizeof *w);
	if (!w)
		return bd_error_set(err, BD_ENOMEM, 0, "snapshot: out of memory");
	w->m = m;
	w->sink = sink;
	w->sink_ctx = ctx;
	w->o = o ? *o : def;
	if (w->o.version != BD_SNAPSHOT_OPTS_VERSION || w->o.record_target < 4096 ||
	    w->o.max_record < w->o.record_target + 512u * 1024 || !w->o.table_rows) {
		free(w);
		return bd_error_set(err, BD_EUSAGE, 0,
				    "snapshot: bad options (max_record must exceed record_target by 512 KiB)");
	}
	w->err = err;
	w->next_str = 1;
	w->refs = BD_VEC_INIT(snap_binref, 1u << 30);
	w->dict.refc = refc_seen;
	w->dict.refc_ud = w;
	if (w->o.redact)
		w->dict.keep = &w->keep;
	size_t nb;
	bd_model_binaries(m, &nb);
	if (nb)
		w->bin_last = calloc(nb, sizeof *w->bin_last);
	if (w->o.redact)
		bd_secret_learn(m); /* the cookie must be known before the first atom goes out */
	write_tables(w);
	if (!w->rc)
		write_termtext(w);
	if (!w->rc)
		write_procdata(w);
	if (!w->rc)
		write_bindata(w);
	if (!w->rc && w->refs.len) {
		qsort(w->refs.data, w->refs.len, sizeof(snap_binref), cmp_ref);
		write_table(w, ST_BINREFS, w->refs.data, w->refs.len);
	}
	if (!w->rc)
		write_native(w);
	if (!w->rc && (w->dict.oom || w->rec.oom || w->tmp.oom))
		oom(w);
	int rc = w->rc;
	bd_progress_end();
	if (stats)
		*stats = w->st;
	bd_u64map_free(&w->str_ids);
	free(w->pending);
	snap_dict_free(&w->dict);
	sb_free(&w->rec);
	sb_free(&w->tmp);
	free(w->bin_last);
	bd_vec_free(&w->refs);
	for (size_t i = 0; i < w->nmade; i++)
		free(w->made[i]);
	bd_arena_free(&w->keep);
	free(w->made);
	free(w);
	return rc;
}
