/* erl_crash.dump reader, pass 1: one scan over the mmap'ed text finds every section
 * start ("\n=tag:id"), validates it against the known vocabulary and, inside term
 * sections, against the exact token structure of the line before it (atom text can
 * forge "=tag" lines). Closed sections go to the parsers in cd_sections.c; term
 * sections are only located here and decoded lazily (heap.c). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "beamdump/progress.h"
#include "cd_int.h"
#include "readers.h"

#define SCAN_WINDOW ((uint64_t)8 << 20) /* bytes searched between two releases */
#define RELEASE_STEP ((uint64_t)8 << 20)
#define STREAM_MARGIN ((uint64_t)1 << 20) /* streamed: read ahead of a tag for its line */

#define T(s) s, sizeof(s) - 1
static const struct tag_def {
	const char *name;
	size_t len;
	cd_tag tag;
	cd_idkind id;
} tag_defs[] = {
	{T("scheduler"), CD_SCHEDULER, ID_DEC},
	{T("dirty_cpu_scheduler"), CD_DIRTY_CPU_SCHED, ID_DEC},
	{T("dirty_io_scheduler"), CD_DIRTY_IO_SCHED, ID_DEC},
	{T("unknown_scheduler_type"), CD_OTHER_SCHED, ID_TEXT},
	{T("dirty_cpu_run_queue"), CD_DIRTY_CPU_RQ, ID_NONE},
	{T("dirty_io_run_queue"), CD_DIRTY_IO_RQ, ID_NONE},
	{T("memory"), CD_MEMORY, ID_NONE},
	{T("hash_table"), CD_HASH_TABLE, ID_IDENT},
	{T("index_table"), CD_INDEX_TABLE, ID_IDENT},
	{T("allocated_areas"), CD_ALLOCATED_AREAS, ID_NONE},
	{T("allocator"), CD_ALLOCATOR, ID_TEXT},
	{T("proc"), CD_PROC, ID_PID},
	{T("port"), CD_PORT, ID_PORT},
	{T("ets"), CD_ETS, ID_PID},
	{T("timer"), CD_TIMER, ID_TEXT},
	{T("node"), CD_NODE, ID_TEXT},
	{T("no_distribution"), CD_NO_DIST, ID_NONE},
	{T("visible_node"), CD_VISIBLE_NODE, ID_DEC},
	{T("hidden_node"), CD_HIDDEN_NODE, ID_DEC},
	{T("not_connected"), CD_NOT_CONNECTED, ID_DEC},
	{T("loaded_modules"), CD_LOADED_MODULES, ID_NONE},
	{T("mod"), CD_MOD, ID_TEXT},
	{T("fun"), CD_FUN, ID_NONE},
	{T("proc_messages"), CD_PROC_MESSAGES, ID_PID},
	{T("proc_dictionary"), CD_PROC_DICTIONARY, ID_PID},
	{T("proc_stack"), CD_PROC_STACK, ID_PID},
	{T("proc_heap"), CD_PROC_HEAP, ID_PID},
	{T("persistent_terms"), CD_PERSISTENT_TERMS, ID_NONE},
	{T("literals"), CD_LITERALS, ID_NONE},
	{T("binary"), CD_BINARY, ID_HEX},
	{T("atoms"), CD_ATOMS, ID_NONE},
	{T("end"), CD_END, ID_NONE},
	{T("abort"), CD_ABORT, ID_TEXT},
	/* written by old or instrumented VMs; kept as opaque sections */
	{T("internal_ets"), CD_LEGACY, ID_TEXT},
	{T("instr_data"), CD_LEGACY, ID_TEXT},
	{T("old_instr_data"), CD_LEGACY, ID_TEXT},
	{T("memory_map"), CD_LEGACY, ID_TEXT},
	{T("memory_status"), CD_LEGACY, ID_TEXT},
};

static int is_term_tag(cd_tag t)
{
	return t == CD_PROC_MESSAGES || t == CD_PROC_DICTIONARY || t == CD_PROC_STACK ||
	       t == CD_PROC_HEAP || t == CD_PERSISTENT_TERMS || t == CD_LITERALS;
}

static bd_ts_kind ts_kind(cd_tag t)
{
	switch (t) {
	case CD_PROC_MESSAGES:
		return BD_TS_MESSAGES;
	case CD_PROC_DICTIONARY:
		return BD_TS_DICT;
	case CD_PROC_STACK:
		return BD_TS_STACK;
	case CD_PERSISTENT_TERMS:
		return BD_TS_PTERMS;
	default:
		return BD_TS_HEAP;
	}
}

static int id_valid(cd_idkind k, const char *p, const char *end)
{
	bd_pid pid;
	if (k == ID_NONE)
		return p == end;
	if (p == end)
		return 0;
	switch (k) {
	case ID_DEC:
		for (; p < end; p++)
			if (*p < '0' || *p > '9')
				return 0;
		return 1;
	case ID_HEX:
		for (; p < end; p++)
			if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F') ||
			      (*p >= 'a' && *p <= 'f')))
				return 0;
		return 1;
	case ID_IDENT:
		for (; p < end; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
				return 0;
		return 1;
	case ID_PID:
		return bd_pid_parse(p, (size_t)(end - p), &pid) == 0 && *p == '<';
	case ID_PORT:
		return end - p > 6 && memcmp(p, "#Port<", 6) == 0 && end[-1] == '>';
	default:
		return 1;
	}
}

/* Parse "=tag[:id]" at p (p points at '='); line ends at eol. */
static int parse_tag(const char *p, const char *eol, cd_tag *tag, const char **id,
		     const char **id_end)
{
	const char *t = p + 1, *q = t;
	while (q < eol && ((*q >= 'a' && *q <= 'z') || *q == '_'))
		q++;
	if (q == t || (q < eol && *q != ':'))
		return 0;
	size_t tl = (size_t)(q - t);
	const char *ie = eol;
	if (ie > q && ie[-1] == '\r')
		ie--;
	*id = q < eol ? q + 1 : q;
	*id_end = ie < *id ? *id : ie;
	for (size_t i = 0; i < sizeof tag_defs / sizeof tag_defs[0]; i++) {
		const struct tag_def *d = &tag_defs[i];
		if (d->len == tl && memcmp(d->name, t, tl) == 0) {
			*tag = d->tag;
			return id_valid(d->id, *id, *id_end);
		}
	}
	*tag = CD_UNKNOWN;
	return 1;
}

/* Position of the next "\n=" at or after p, or NULL (cd_int.h). */
const char *cd_next_candidate(const char *p, const char *end)
{
#if defined(__SSE2__)
	const __m128i nl = _mm_set1_epi8('\n'), eq = _mm_set1_epi8('=');
	while (end - p >= 17) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 1));
		int mask = _mm_movemask_epi8(
			_mm_and_si128(_mm_cmpeq_epi8(a, nl), _mm_cmpeq_epi8(b, eq)));
		if (mask)
			return p + __builtin_ctz((unsigned)mask);
		p += 16;
	}
#endif
	while (p + 1 < end) {
		const char *q = memchr(p, '\n', (size_t)(end - p - 1));
		if (!q)
			return NULL;
		if (q[1] == '=')
			return q;
		p = q + 1;
	}
	return NULL;
}

/* Inside a term section, is the line at cand (just after a '\n') a real line start?
 * Tokenize the previous physical line; if it does not parse on its own (it is itself a
 * continuation of an atom), walk the section's logical lines. The walk goes on from
 * where the last one stopped (*walk: a line start on the exact walk, reset with each
 * section), so a section full of such lines is walked once, not once per candidate.
 * Tokens may run past cand (that is what a forged tag looks like), so they are bounded
 * by the input end. */
static int term_boundary_ok(bd_ts_kind kind, const char *body, const char *cand,
			    const char *end, const char **walk)
{
	const char *nl = cand - 1; /* the '\n' before cand */
	if (nl <= body)
		return 1;
	const char *prev = nl;
	while (prev > body && prev[-1] != '\n')
		prev--;
	const char *e = bd_tl_line_end(kind, prev, end);
	if (e)
		return e == nl;
	if (*walk && *walk > cand)
		return 0; /* the walk already stepped over cand: it is inside a token */
	const char *p = *walk && *walk >= body ? *walk : body;
	while (p < cand) {
		e = bd_tl_line_end(kind, p, end);
		if (!e) {
			/* Unparseable line: resynchronise at the next physical line. */
			e = memchr(p, '\n', (size_t)(end - p));
			if (!e)
				return 0;
		}
		p = e + 1;
	}
	*walk = p;
	return p == cand;
}

const char *cd_section_end(const char *body, const char *end)
{
	const char *p = body - 1; /* the '\n' that ends the tag line */
	for (;;) {
		const char *nl = cd_next_candidate(p, end);
		if (!nl)
			return end;
		const char *cand = nl + 1;
		const char *eol = memchr(cand, '\n', (size_t)(end - cand));
		cd_tag tag;
		const char *id, *id_end;
		if (parse_tag(cand, eol ? eol : end, &tag, &id, &id_end))
			return cand;
		p = cand;
	}
}

/* Drop the pages before pos that nothing will read again: not those of =proc sections
 * still queued for parsing, nor the current section's when it is parsed at its end
 * (term sections and binaries are only located). They stay in the page cache. */
static void release_behind(cd_reader *r, const char *pos)
{
	uint64_t keep = (uint64_t)(pos - r->base);
	if (r->proc_secs.len)
		keep = BD_VEC_AT(&r->proc_secs, cd_section, 0).hdr_off;
	else if (!is_term_tag(r->cur_tag) && r->cur_tag != CD_BINARY)
		keep = (uint64_t)(r->cur_hdr - r->base);
	if (keep > r->released + RELEASE_STEP) {
		uint64_t upto = keep & ~(uint64_t)((1u << 20) - 1);
		bd_source_release_range(r->m->src, r->released, upto - r->released);
		r->released = upto;
	}
}

static void count_tag(bd_model *m, const char *cand, const char *eol)
{
	const char *t = cand + 1, *q = t;
	while (q < eol && *q != ':' && *q != '\r')
		q++;
	bd_model_count_tag(m, t, (size_t)(q - t), 1);
}

static void close_section(cd_reader *r, const char *end)
{
	if (r->cur_tag == CD_NONE)
		return;
	cd_section s = {r->cur_tag, r->cur_id, r->cur_id_end, r->cur_body, end,
			(uint64_t)(r->cur_hdr - r->base)};
	cd_section_parse(r, &s);
}

/* "System version: " inside the header's slogan line: OTP 17-26 (and older) write some
 * slogans without a newline ("Crash dump requested by user", "Internal error: ..."),
 * so the next header line runs on. Only used when no line starts with it; the last
 * occurrence before the first section tag wins. */
static const char *run_on_sysver(const char *p, const char *end)
{
	static const char key[] = "System version: ";
	const char *found = NULL;
	while (p < end) {
		const char *q = memchr(p, 'S', (size_t)(end - p));
		if (!q || end - q < (ptrdiff_t)sizeof key - 1)
			break;
		if (q[-1] == '\n' && q[0] == '=')
			break;
		if (memcmp(q, key, sizeof key - 1) == 0)
			found = q;
		p = q + 1;
	}
	return found;
}

/* The header runs from the first line to "System version:"; the slogan between may
 * hold anything, including lines that start with '='. */
static const char *parse_header(cd_reader *r)
{
	const char *p = r->base, *end = r->base + r->size;
	const char *eol = memchr(p, '\n', (size_t)(end - p));
	if (!eol)
		eol = end;
	cd_header_version(r, p, eol);
	const char *scan_end = end - p > (1 << 20) ? p + (1 << 20) : end;
	const char *sv = NULL;
	for (const char *q = eol; q && q < scan_end;) {
		if (scan_end - q > 17 && memcmp(q, "\nSystem version: ", 16) == 0) {
			sv = q + 1;
			break;
		}
		q = memchr(q + 1, '\n', (size_t)(scan_end - q - 1));
	}
	const char *body = eol < end ? eol + 1 : end;
	if (!sv && body < end) {
		/* Run-on slogan: search up to the first section tag. */
		const char *tag = cd_next_candidate(body > p ? body - 1 : body, scan_end);
		sv = run_on_sysver(body, tag ? tag : scan_end);
		const char *ls = sv;
		while (ls && ls > body && ls[-1] != '\n')
			ls--;
		if (sv && (sv - ls < 8 || memcmp(ls, "Slogan: ", 8) != 0))
			sv = NULL; /* not on the slogan line: the key/value parser has it */
	}
	/* Without "System version:" the header ends at the first tag. */
	const char *stop = sv ? sv : body;
	if (sv) {
		cd_header_slogan(r, body, sv);
	}
	return stop;
}

/* The pre-R10B layout names its emulator on a line of its own. */
static void old_emulator(const char *d, uint64_t n, char *buf, size_t cap)
{
	static const char key[] = "emulator version ";
	size_t lim = n > 4096 ? 4096 : (size_t)n;
	buf[0] = 0;
	for (size_t i = 0; i + sizeof key - 1 < lim; i++) {
		if (memcmp(d + i, key, sizeof key - 1) == 0) {
			const char *v = d + i + sizeof key - 1;
			size_t k = 0;
			while (v + k < d + lim && ((v[k] >= '0' && v[k] <= '9') || v[k] == '.') && k < 20)
				k++;
			snprintf(buf, cap, ", emulator version %.*s", (int)k, v);
			return;
		}
	}
}

int bd_crashdump_check(const char *d, uint64_t n, const char *name, bd_error *err)
{
	static const char magic[] = "=erl_crash_dump:";
	static const char abort_tag[] = "\n=abort:";
	if (n >= 4 && memcmp(d, "ENC0", 4) == 0)
		return bd_error_set(err, BD_EUNSUPPORTED, 0,
				    "%s: encrypted crash dump (ENC0): decrypt it first", name);
	if (n >= 19 && memcmp(d, "<Erlang crash dump>", 19) == 0) {
		char emu[64];
		old_emulator(d, n, emu, sizeof emu);
		return bd_error_set(err, BD_EUNSUPPORTED, 0,
				    "%s: crash dump in the pre-R10B layout ('<Erlang crash dump>', "
				    "Erlang R9C or older%s): not supported", name, emu);
	}
	if (n == 0)
		return bd_error_set(err, BD_EUNSUPPORTED, 0, "%s: empty file", name);
	if (n >= sizeof magic - 1 && memcmp(d, magic, sizeof magic - 1) == 0)
		return 0;
	/* Cut by ERL_CRASH_DUMP_BYTES inside the first line: "=erl_crash_dump" then the
	 * abort line. */
	size_t k = 0;
	while (k < n && k < sizeof magic - 1 && d[k] != '\n')
		k++;
	if (k && memcmp(d, magic, k) == 0 && n - k >= sizeof abort_tag - 1 &&
	    memcmp(d + k, abort_tag, sizeof abort_tag - 1) == 0)
		return 0;
	/* Nothing but the start of the magic: a dump cut inside its first line. */
	if (k == n && k >= 5 && memcmp(d, magic, k) == 0)
		return 0;
	return bd_error_set(err, BD_EUNSUPPORTED, 0,
			    "%s: not an Erlang crash dump (no '=erl_crash_dump:' at offset 0)", name);
}

void bd_crashdump_hooks(bd_model *m)
{
	m->proc_ext = cd_proc_ext;
}

/* The section tags counted that are not in the vocabulary (a newer VM's sections, read
 * past as opaque), named for the user: "proc_signals (2), foo (1)". */
static void note_unknown(bd_model *m)
{
	char buf[512];
	size_t k = 0;
	for (size_t i = 0; i < m->ntags && k < sizeof buf - 64; i++) {
		const char *t = m->tag_counts[i].tag;
		size_t len = m->tag_counts[i].len, j = 0;
		while (j < sizeof tag_defs / sizeof tag_defs[0] &&
		       !(tag_defs[j].len == len && !memcmp(tag_defs[j].name, t, len)))
			j++;
		if (!t || j < sizeof tag_defs / sizeof tag_defs[0])
			continue;
		int w = snprintf(buf + k, sizeof buf - k, "%s%.*s (%llu)", k ? ", " : "",
				 (int)(len > 40 ? 40 : len), t,
				 (unsigned long long)m->tag_counts[i].count);
		if (w > 0)
			k += (size_t)w < sizeof buf - k ? (size_t)w : sizeof buf - k - 1;
	}
	if (k)
		m->node.unknown_sections = bd_model_intern(m, buf, k);
}

const char *cd_more(cd_reader *r, uint64_t want)
{
	if (!r->streaming || want <= r->size)
		return r->base + r->size;
	int ended;
	uint64_t have = bd_source_wait(r->m->src, want, &ended);
	r->size = r->m->size = have;
	r->m->procs.max = bd_procs_cap(have, r->procs_hard);
	if (ended)
		r->streaming = 0;
	return r->base + r->size;
}

int cd_more_room(cd_reader *r)
{
	size_t need = r->m->procs.len + r->proc_secs.len + 1;
	while (r->streaming && need > r->m->procs.max && need <= r->procs_hard)
		cd_more(r, (uint64_t)need * 384);
	return need <= r->m->procs.max;
}

int bd_crashdump_read(bd_model *m, bd_error *err)
{
	cd_reader r = {0};
	r.m = m;
	r.base = m->base;
	r.size = m->size;
	r.err = err;
	r.cur_tag = CD_NONE;
	r.proc_secs = BD_VEC_INIT(cd_section, 1u << 27);
	m->proc_ext = cd_proc_ext;
	if (m->src && m->src->stream) {
		/* Decompression goes on beside: the byte scan is ours (no scan thread), and
		 * long mailboxes are summarised after the read (no prefetch thread). */
		r.streaming = 1;
		r.procs_hard = m->procs.max;
		m->procs.max = bd_procs_cap(r.size, r.procs_hard);
	}
	const char *end = r.base + r.size;

	const char *p = parse_header(&r);
	r.cur_tag = CD_HEADER;
	r.cur_hdr = r.base;
	r.cur_id = r.cur_id_end = r.base;
	r.cur_body = p;
	cd_cands *cands = r.streaming ? NULL : cd_cands_start(r.base, r.size);
	if (m->summarize_mailboxes && !r.streaming)
		r.prefetch = bd_prefetch_new(m);
	uint64_t reported = 0;
	const char *walk = NULL; /* exact walk position in the current term section */

	for (;;) {
		/* The next "\n=", a window at a time, so that pages behind a long section
		 * (a mailbox's heap, a big binary) go before it ends. A streamed input is
		 * awaited a window (and a margin for the tag line after) ahead. */
		const char *from = p > r.base ? p - 1 : p, *nl = NULL;
		for (;;) {
			end = cd_more(&r, (uint64_t)(from - r.base) + SCAN_WINDOW + STREAM_MARGIN);
			if (from >= end)
				break;
			const char *lim = (uint64_t)(end - from) > SCAN_WINDOW ? from + SCAN_WINDOW : end;
			nl = cands ? cd_cands_next(cands, from, lim)
				   : cd_next_candidate_wide(from, lim < end ? lim + 1 : end);
			if (nl || lim == end)
				break;
			from = lim;
			release_behind(&r, from);
		}
		if (!nl)
			break;
		const char *cand = nl + 1;
		const char *eol = memchr(cand, '\n', (size_t)(end - cand));
		while (!eol && r.streaming) {
			end = cd_more(&r, r.size + SCAN_WINDOW);
			eol = memchr(cand, '\n', (size_t)(end - cand));
		}
		if (!eol)
			eol = end;
		p = cand + 1;
		cd_tag tag;
		const char *id, *id_end;
		if (!parse_tag(cand, eol, &tag, &id, &id_end))
			continue;
		if (is_term_tag(r.cur_tag)) {
			/* Only sections that may follow term sections, at a real line start.
			 * A tag this reader does not know (a newer VM's section) counts too:
			 * no term line starts with '=', and the line before must end exactly
			 * there, so atom text cannot forge one. */
			if (!(is_term_tag(tag) || tag == CD_BINARY || tag == CD_ATOMS ||
			      tag == CD_END || tag == CD_ABORT || tag == CD_UNKNOWN))
				continue;
			if (!term_boundary_ok(ts_kind(r.cur_tag), r.cur_body, cand, end, &walk))
				continue;
		} else if (tag == CD_UNKNOWN && r.cur_tag >= CD_PROC_MESSAGES) {
			continue;
		}
		close_section(&r, nl + 1);
		if (r.cur_tag == CD_END)
			r.seen_end = 1;
		if (tag != CD_ABORT)
			r.last_tag = (cd_section){tag, id, id_end, 0, 0, (uint64_t)(cand - r.base)};
		r.cur_tag = tag;
		r.cur_hdr = cand;
		r.cur_id = id;
		r.cur_id_end = id_end;
		r.cur_body = eol < end ? eol + 1 : end;
		walk = NULL;
		p = r.cur_body;
		if (tag == CD_UNKNOWN || tag == CD_LEGACY)
			count_tag(m, cand, eol);
		else
			r.counts[tag]++;
		release_behind(&r, cand);
		if (!r.streaming && (uint64_t)(cand - r.base) > reported + (8u << 20)) {
			reported = (uint64_t)(cand - r.base);
			bd_progress("reading the dump", reported, r.size, BD_PROGRESS_BYTES);
		}
	}
	cd_cands_stop(cands);
	bd_progress_end();
	if (r.cur_tag == CD_END)
		r.seen_end = 1;
	close_section(&r, end);
	cd_flush_procs(&r);
	if (r.attached)
		bd_prefetch_proc(r.prefetch, r.attached);
	/* A summary under way goes on beside what comes next (the analyses). */
	bd_prefetch_close(r.prefetch);
	m->prefetch = r.prefetch;
	bd_vec_free(&r.proc_secs);
	for (size_t i = 0; i < sizeof tag_defs / sizeof tag_defs[0]; i++) {
		const struct tag_def *d = &tag_defs[i];
		if (d->tag != CD_LEGACY && r.counts[d->tag])
			bd_model_count_tag(m, d->name, d->len, r.counts[d->tag]);
	}
	cd_finish_truncation(&r);
	note_unknown(m);
	bd_node_info *n = &m->node;
	if (n->dump_major > 0 || n->dump_minor > 5) {
		char note[160];
		snprintf(note, sizeof note,
			 "dump format %s is newer than the newest this beamdump knows (0.5): "
			 "read best-effort", n->dump_version ? n->dump_version : "?");
		n->format_note = bd_model_intern(m, note, strlen(note));
	}
	return 0;
}
