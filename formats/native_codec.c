/* The NATIVE record of a .bdump (docs/FORMAT.md §3.4): the resolved native-crash
 * table (instance 2, written by convert: readable anywhere, without the objects), and
 * the crash guard's raw facts (instance 1: registers, memory, maps; resolved when
 * read, with the objects on the reading machine). Payloads are untrusted: every count
 * is bounded by the bytes left and every index is checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beamdump/container.h"
#include "native_int.h"
#include "snapshot_int.h"

/* ---- resolved table (instance 2) ---- */
enum { SEC_SUMMARY = 1, SEC_OBJECTS = 2, SEC_THREADS = 3, SEC_FRAMES = 4, SEC_NOTES = 5 };

static void put_str(sbuf *b, const char *s)
{
	if (!s) {
		sb_var(b, 0);
		return;
	}
	size_t l = strlen(s);
	sb_var(b, l + 1);
	sb_mem(b, s, l);
}

static void put_u(sbuf *b, uint64_t v) { sb_var(b, v + 1); } /* BD_UNKNOWN -> 0 */
static void put_i(sbuf *b, int64_t v) { sb_var(b, zz_enc(v)); }

static void section(sbuf *out, unsigned tag, const sbuf *body)
{
	sb_var(out, tag);
	sb_var(out, body->len);
	sb_mem(out, body->p, body->len);
}

int bd_native_encode(const bd_model *m, int redact, uint8_t **out, size_t *len)
{
	const bd_native *n = bd_model_native(m);
	*out = NULL;
	*len = 0;
	if (!n)
		return 0;
	sbuf o = {0}, b = {0};
	/* summary */
	put_str(&b, n->source);
	put_u(&b, n->pid);
	put_i(&b, n->signal);
	put_str(&b, n->signal_name);
	put_i(&b, n->si_code);
	put_str(&b, n->code_name);
	put_u(&b, n->fault_addr);
	put_u(&b, n->sender_pid);
	put_i(&b, n->time);
	put_str(&b, n->exe);
	put_str(&b, redact ? NULL : n->cmdline);
	put_str(&b, n->perf_map);
	put_i(&b, n->crashed);
	sb_var(&b, (uint64_t)n->stack_overflow | (uint64_t)n->in_vm << 1 | (uint64_t)n->partial << 2);
	put_str(&b, n->partial_reason);
	put_str(&b, n->abort_message);
	put_str(&b, n->fault_detail);
	put_str(&b, n->fault_mapping);
	put_str(&b, n->callback);
	put_str(&b, n->cxx_exception);
	section(&o, SEC_SUMMARY, &b);
	b.len = 0;
	sb_var(&b, n->nobjects);
	for (uint32_t i = 0; i < n->nobjects; i++) {
		const bd_native_object *x = &n->objects[i];
		put_str(&b, x->path);
		put_str(&b, x->file);
		put_u(&b, x->start);
		put_u(&b, x->end);
		put_u(&b, x->bias);
		put_str(&b, x->build_id);
		sb_var(&b, x->build_id_status);
		sb_var(&b, x->symbols);
		sb_var(&b, x->debug_info);
		sb_var(&b, x->is_nif);
		put_str(&b, x->debug_file);
		put_str(&b, x->nif_module);
	}
	section(&o, SEC_OBJECTS, &b);
	b.len = 0;
	sb_var(&b, n->nthreads);
	for (uint32_t i = 0; i < n->nthreads; i++) {
		const bd_native_thread *t = &n->threads[i];
		sb_var(&b, t->tid);
		sb_var(&b, t->kind);
		sb_var(&b, t->kind_src);
		sb_var(&b, (uint64_t)t->crashed | (uint64_t)t->frames_cut << 1);
		put_i(&b, t->index);
		put_str(&b, t->name);
		sb_var(&b, (uint8_t)t->state);
		put_u(&b, t->pc);
		put_u(&b, t->sp);
		sb_var(&b, t->frame_first);
		sb_var(&b, t->frame_count);
		put_str(&b, t->stop_reason);
		put_i(&b, t->nif_frame);
		put_str(&b, t->nif);
		put_str(&b, t->nif_mfa);
		put_str(&b, t->nif_library);
		put_str(&b, t->erlang_process);
		put_str(&b, t->erlang_function);
		put_str(&b, t->recent_nif);
	}
	section(&o, SEC_THREADS, &b);
	b.len = 0;
	sb_var(&b, n->nframes);
	for (uint32_t i = 0; i < n->nframes; i++) {
		const bd_native_frame *f = &n->frames[i];
		put_u(&b, f->pc);
		put_u(&b, f->sp);
		put_i(&b, f->object);
		sb_var(&b, f->how);
		sb_var(&b, f->kind);
		sb_var(&b, f->inlined);
		put_str(&b, f->function);
		put_u(&b, f->offset);
		put_str(&b, f->file);
		sb_var(&b, f->line);
		put_str(&b, f->erlang);
		sb_var(&b, f->repeat);
	}
	section(&o, SEC_FRAMES, &b);
	b.len = 0;
	sb_var(&b, n->nnotes);
	for (uint32_t i = 0; i < n->nnotes; i++)
		put_str(&b, n->notes[i]);
	section(&o, SEC_NOTES, &b);
	sb_free(&b);
	if (o.oom) {
		sb_free(&o);
		return BD_ENOMEM;
	}
	*out = o.p;
	*len = o.len;
	return 0;
}

typedef struct dec {
	scur c;
	bd_model *m;
} dec;

static const char *get_str(dec *d)
{
	uint64_t l = sc_var(&d->c);
	if (!l || d->c.bad)
		return NULL;
	const uint8_t *p = sc_mem(&d->c, l - 1);
	return p ? bd_model_intern(d->m, (const char *)p, (size_t)(l - 1)) : NULL;
}

static uint64_t get_u(dec *d)
{
	uint64_t v = sc_var(&d->c);
	return v ? v - 1 : BD_UNKNOWN;
}

static int64_t get_i(dec *d) { return zz_dec(sc_var(&d->c)); }

/* A count of items of at least min_bytes each: never more than the bytes left. */
static uint64_t get_count(dec *d, size_t min_bytes)
{
	uint64_t n = sc_var(&d->c);
	if (n > (uint64_t)(d->c.end - d->c.p) / min_bytes)
		d->c.bad = 1;
	return d->c.bad ? 0 : n;
}

static void dec_summary(dec *d, bd_native *n)
{
	n->source = get_str(d);
	n->pid = (uint32_t)get_u(d);
	n->signal = (int)get_i(d);
	n->signal_name = get_str(d);
	n->si_code = (int)get_i(d);
	n->code_name = get_str(d);
	n->fault_addr = get_u(d);
	n->sender_pid = (uint32_t)get_u(d);
	n->time = get_i(d);
	n->exe = get_str(d);
	n->cmdline = get_str(d);
	n->perf_map = get_str(d);
	n->crashed = (int32_t)get_i(d);
	uint64_t fl = sc_var(&d->c);
	n->stack_overflow = fl & 1;
	n->in_vm = (fl >> 1) & 1;
	n->partial = (fl >> 2) & 1;
	n->partial_reason = get_str(d);
	/* added later: absent in older records */
	if (d->c.p < d->c.end)
		n->abort_message = get_str(d);
	if (d->c.p < d->c.end) {
		n->fault_detail = get_str(d);
		n->fault_mapping = get_str(d);
		n->callback = get_str(d);
		n->cxx_exception = get_str(d);
	}
}

static void dec_objects(dec *d, bd_vec *v)
{
	uint64_t k = get_count(d, 12);
	for (uint64_t i = 0; i < k && !d->c.bad; i++) {
		bd_native_object *x = bd_vec_push(v);
		if (!x) {
			d->c.bad = 1;
			return;
		}
		x->path = get_str(d);
		x->file = get_str(d);
		x->start = get_u(d);
		x->end = get_u(d);
		x->bias = get_u(d);
		x->build_id = get_str(d);
		x->build_id_status = (uint8_t)sc_var(&d->c);
		x->symbols = (uint8_t)sc_var(&d->c);
		x->debug_info = (uint8_t)sc_var(&d->c);
		x->is_nif = (uint8_t)sc_var(&d->c);
		x->debug_file = get_str(d);
		x->nif_module = get_str(d);
		if (!x->path)
			x->path = "?";
	}
}

static void dec_threads(dec *d, bd_vec *v)
{
	uint64_t k = get_count(d, 19);
	for (uint64_t i = 0; i < k && !d->c.bad; i++) {
		bd_native_thread *t = bd_vec_push(v);
		if (!t) {
			d->c.bad = 1;
			return;
		}
		t->tid = (uint32_t)sc_var(&d->c);
		t->kind = (uint8_t)sc_var(&d->c);
		if (t->kind >= BD_TK__COUNT)
			t->kind = BD_TK_UNKNOWN;
		t->kind_src = (uint8_t)sc_var(&d->c);
		uint64_t fl = sc_var(&d->c);
		t->crashed = fl & 1;
		t->frames_cut = (fl >> 1) & 1;
		t->index = (int32_t)get_i(d);
		t->name = get_str(d);
		t->state = (char)sc_var(&d->c);
		t->pc = get_u(d);
		t->sp = get_u(d);
		t->frame_first = (uint32_t)sc_var(&d->c);
		t->frame_count = (uint32_t)sc_var(&d->c);
		t->stop_reason = get_str(d);
		t->nif_frame = (int32_t)get_i(d);
		t->nif = get_str(d);
		t->nif_mfa = get_str(d);
		t->nif_library = get_str(d);
		t->erlang_process = get_str(d);
		t->erlang_function = get_str(d);
		t->recent_nif = get_str(d);
	}
}

static void dec_frames(dec *d, bd_vec *v)
{
	uint64_t k = get_count(d, 12);
	for (uint64_t i = 0; i < k && !d->c.bad; i++) {
		bd_native_frame *f = bd_vec_push(v);
		if (!f) {
			d->c.bad = 1;
			return;
		}
		f->pc = get_u(d);
		f->sp = get_u(d);
		f->object = (int32_t)get_i(d);
		f->how = (uint8_t)sc_var(&d->c);
		f->kind = (uint8_t)sc_var(&d->c);
		f->inlined = (uint8_t)sc_var(&d->c);
		f->function = get_str(d);
		f->offset = get_u(d);
		f->file = get_str(d);
		f->line = (uint32_t)sc_var(&d->c);
		f->erlang = get_str(d);
		f->repeat = (uint32_t)sc_var(&d->c);
		if (!f->repeat)
			f->repeat = 1;
	}
}

static void dec_notes(dec *d, bd_vec *v)
{
	uint64_t k = get_count(d, 1);
	for (uint64_t i = 0; i < k && !d->c.bad; i++) {
		const char **s = bd_vec_push(v);
		const char *t = get_str(d);
		if (s)
			*s = t ? t : "?";
	}
}

/* Every reference inside the table points where it may: a damaged or forged record
 * is refused whole rather than served with dangling indices. */
static int check(const struct bd_native_store *st)
{
	const bd_native_thread *t = st->threads.data;
	const bd_native_frame *f = st->frames.data;
	uint64_t nobj = st->objects.len, nfr = st->frames.len;
	for (size_t i = 0; i < st->threads.len; i++) {
		if ((uint64_t)t[i].frame_first + t[i].frame_count > nfr)
			return -1;
		if (t[i].nif_frame >= 0 && (uint32_t)t[i].nif_frame >= t[i].frame_count)
			return -1;
	}
	for (size_t i = 0; i < nfr; i++)
		if (f[i].object >= 0 && (uint64_t)f[i].object >= nobj)
			return -1;
	if (st->pub.crashed >= (int32_t)st->threads.len || st->pub.crashed < -1)
		return -1;
	return 0;
}

int bd_native_decode(bd_model *m, const uint8_t *p, size_t len, bd_error *err)
{
	struct bd_native_store *st = bd_native_store_new();
	if (!st)
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	dec d = {{p, p + len, 0}, m};
	while (d.c.p < d.c.end && !d.c.bad) {
		uint64_t tag = sc_var(&d.c), l = sc_var(&d.c);
		const uint8_t *body = sc_mem(&d.c, l);
		if (!body)
			break;
		dec s = {{body, body + l, 0}, m};
		switch (tag) {
		case SEC_SUMMARY: dec_summary(&s, &st->pub); break;
		case SEC_OBJECTS: dec_objects(&s, &st->objects); break;
		case SEC_THREADS: dec_threads(&s, &st->threads); break;
		case SEC_FRAMES: dec_frames(&s, &st->frames); break;
		case SEC_NOTES: dec_notes(&s, &st->notes); break;
		default: break; /* a newer section: skipped by its length */
		}
		if (s.c.bad)
			d.c.bad = 1;
	}
	if (d.c.bad || check(st)) {
		bd_native_store_free(st);
		return bd_error_set(err, BD_ECORRUPT, 0, "native crash record does not decode");
	}
	bd_native_store_publish(st);
	bd_native_store_free(m->native);
	m->native = st;
	return 0;
}

/* ---- the crash guard's raw record (instance 1) ----
 * A sequence of entries: u16 tag, u32 length, that many bytes (little endian). */
typedef struct raw_region {
	uint64_t addr;
	const uint8_t *p;
	size_t len;
} raw_region;

typedef struct raw_mem {
	raw_region *r;
	size_t n;
} raw_mem;

static size_t raw_read(void *ctx, uint64_t addr, void *buf, size_t n)
{
	raw_mem *rm = ctx;
	for (size_t i = 0; i < rm->n; i++) {
		const raw_region *g = &rm->r[i];
		if (addr >= g->addr && addr - g->addr < g->len) {
			size_t off = (size_t)(addr - g->addr), take = g->len - off;
			if (take > n)
				take = n;
			memcpy(buf, g->p + off, take);
			if (take < n)
				take += raw_read(ctx, addr + take, (uint8_t *)buf + take, n - take);
			return take;
		}
	}
	return 0;
}

/* "start-end perms offset dev inode path" lines of /proc/self/maps. */
static void parse_maps(nat_raw *r, const char *t, size_t len)
{
	const char *e = t + len;
	while (t < e) {
		const char *nl = memchr(t, '\n', (size_t)(e - t));
		const char *le = nl ? nl : e;
		char line[4352];
		size_t l = (size_t)(le - t) < sizeof line - 1 ? (size_t)(le - t) : sizeof line - 1;
		memcpy(line, t, l);
		line[l] = 0;
		unsigned long long s, en, off;
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s%n", &s, &en, perms, &off, &pos) >= 4 && en > s) {
			nat_map rg = {s, en, off, 0, NULL, NULL};
			rg.prot = (perms[0] == 'r' ? NM_R : 0) | (perms[1] == 'w' ? NM_W : 0) |
				  (perms[2] == 'x' ? NM_X : 0) | (perms[3] == 's' ? NM_SHARED : 0);
			nat_map *x = bd_vec_push(&r->regions);
			if (x)
				*x = rg;
			const char *path = line + pos;
			while (*path == ' ')
				path++;
			if (*path == '/') {
				nat_map *y = bd_vec_push(&r->maps);
				if (y) {
					*y = rg;
					y->path = bd_arena_strdup(r->arena, path);
				}
			}
		}
		t = nl ? nl + 1 : e;
	}
}

static int map_cmp(const void *a, const void *b)
{
	const nat_map *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static nat_thread *thread_of(nat_raw *r, uint32_t tid)
{
	nat_thread *t = r->threads.data;
	for (size_t i = 0; i < r->threads.len; i++)
		if (t[i].tid == tid)
			return &t[i];
	t = bd_vec_push(&r->threads);
	if (t)
		t->tid = tid;
	return t;
}

int nat_raw_decode(nat_raw *r, const uint8_t *p, size_t len, bd_error *err)
{
	raw_mem *rm = bd_arena_alloc(r->arena, sizeof *rm);
	bd_vec regions = BD_VEC_INIT(raw_region, 4096);
	bd_vec bids = BD_VEC_INIT(nat_map, 1u << 16);
	bd_vec fp = BD_VEC_INIT(uint64_t, 1u << 16);
	nat_regs regs = {{0}, 0};
	uint64_t fs_base = 0;
	r->source = "guard";
	size_t off = 0;
	int have_info = 0;
	while (off + 6 <= len) {
		uint16_t tag = bd_get16(p + off);
		uint32_t l = bd_get32(p + off + 2);
		if (l > len - off - 6) {
			nat_raw_note(r, 1, "guard record cut inside an entry at byte %zu", off);
			break;
		}
		const uint8_t *b = p + off + 6;
		off += 6 + (size_t)l;
		switch (tag) {
		case BD_NAT_INFO:
			if (l < 48)
				break;
			have_info = 1;
			r->pid = bd_get32(b);
			r->crashed_tid = bd_get32(b + 4);
			r->signo = (int32_t)bd_get32(b + 8);
			r->sig_code = (int32_t)bd_get32(b + 12);
			r->sig_sender = bd_get32(b + 16);
			r->sig_addr = bd_get64(b + 24);
			r->time = (int64_t)bd_get64(b + 32);
			fs_base = bd_get64(b + 40);
			r->have_siginfo = 1;
			break;
		case BD_NAT_REGS:
			if (l < 17 * 8 + 4)
				break;
			for (int i = 0; i < 17; i++)
				regs.r[i] = bd_get64(b + 8 * i);
			regs.valid = bd_get32(b + 136) & ((1u << NR__COUNT) - 1);
			break;
		case BD_NAT_MEM: {
			raw_region *g = l >= 8 ? bd_vec_push(&regions) : NULL;
			if (g) {
				g->addr = bd_get64(b);
				g->p = b + 8;
				g->len = l - 8;
			}
			break;
		}
		case BD_NAT_MAPS:
			parse_maps(r, (const char *)b, l);
			break;
		case BD_NAT_THREAD: {
			if (l < 5)
				break;
			nat_thread *t = thread_of(r, bd_get32(b));
			if (t) {
				t->state = (char)b[4];
				size_t nl = strnlen((const char *)b + 5, l - 5);
				while (nl && (b[5 + nl - 1] == '\n' || b[5 + nl - 1] == 0))
					nl--;
				t->name = bd_arena_strndup(r->arena, (const char *)b + 5, nl);
			}
			break;
		}
		case BD_NAT_PCSP: {
			if (l < 20)
				break;
			nat_thread *t = thread_of(r, bd_get32(b));
			if (t && !t->has_regs) {
				t->regs.r[NR_RSP] = bd_get64(b + 4);
				t->regs.r[NR_RIP] = bd_get64(b + 12);
				t->regs.valid = 1u << NR_RSP | 1u << NR_RIP;
				t->has_regs = 1;
			}
			break;
		}
		case BD_NAT_BUILDID: {
			nat_map *x = l > 8 ? bd_vec_push(&bids) : NULL;
			if (x) {
				x->start = bd_get64(b);
				x->build_id = bd_arena_strndup(r->arena, (const char *)b + 8, l - 8);
			}
			break;
		}
		case BD_NAT_AUXV:
			for (size_t i = 0; i + 16 <= l; i += 16) {
				uint64_t k = bd_get64(b + i), v = bd_get64(b + i + 8);
				if (k == 3)
					r->auxv_phdr = v;
				else if (k == 9)
					r->auxv_entry = v;
				else if (k == 33)
					r->auxv_vdso = v;
			}
			break;
		case BD_NAT_CMDLINE:
			r->argv = bd_arena_strndup(r->arena, (const char *)b, l);
			r->argv_len = l;
			break;
		case BD_NAT_EXE:
			r->exe = bd_arena_strndup(r->arena, (const char *)b, strnlen((const char *)b, l));
			break;
		case BD_NAT_FPWALK:
			for (size_t i = 0; i + 8 <= l; i += 8) {
				uint64_t *x = bd_vec_push(&fp);
				if (x)
					*x = bd_get64(b + i);
			}
			break;
		case BD_NAT_JIT: {
			nat_blob *j = bd_vec_push(&r->jit_symfiles);
			if (j) {
				j->p = b; /* held by the record until the build is done */
				j->len = l;
			}
			break;
		}
		default:
			break; /* newer entries are skipped by their length */
		}
	}
	if (!have_info) {
		bd_vec_free(&regions);
		bd_vec_free(&bids);
		bd_vec_free(&fp);
		return bd_error_set(err, BD_ECORRUPT, 0, "guard record without its signal entry");
	}
	/* The crashing thread first, with the registers of the signal. */
	nat_thread *ct = thread_of(r, r->crashed_tid);
	if (ct) {
		ct->regs = regs;
		ct->has_regs = (regs.valid & (1u << NR_RIP)) && (regs.valid & (1u << NR_RSP));
		ct->fs_base = fs_base;
		ct->cursig = r->signo;
		nat_thread *t0 = r->threads.data;
		nat_thread tmp = *ct;
		*ct = t0[0];
		t0[0] = tmp;
	}
	if (r->maps.len)
		qsort(r->maps.data, r->maps.len, sizeof(nat_map), map_cmp);
	if (r->regions.len)
		qsort(r->regions.data, r->regions.len, sizeof(nat_map), map_cmp);
	/* Build-ids the process had, onto its mapped files. */
	nat_map *mp = r->maps.data;
	const nat_map *bi = bids.data;
	for (size_t i = 0; i < bids.len; i++)
		for (size_t k = 0; k < r->maps.len; k++)
			if (mp[k].start == bi[i].start)
				mp[k].build_id = bi[i].build_id;
	bd_vec_free(&bids);
	if (rm) {
		rm->n = regions.len;
		rm->r = bd_arena_alloc(r->arena, regions.len * sizeof(raw_region) + 1);
		if (rm->r && regions.len)
			memcpy(rm->r, regions.data, regions.len * sizeof(raw_region));
		else
			rm->n = 0;
		r->read = raw_read;
		r->read_ctx = rm;
	}
	bd_vec_free(&regions);
	if (fp.len) {
		uint64_t *w = bd_arena_alloc(r->arena, fp.len * 8);
		if (w) {
			memcpy(w, fp.data, fp.len * 8);
			r->fp_walk = w;
			r->nfp_walk = (uint32_t)fp.len;
		}
	}
	bd_vec_free(&fp);
	return 0;
}

int bd_native_raw_record(bd_model *m, const uint8_t *p, size_t len, bd_error *err)
{
	nat_raw r;
	nat_raw_init(&r, &m->arena);
	int rc = nat_raw_decode(&r, p, len, err);
	if (!rc)
		rc = bd_native_build(m, &r, m->native_opts, err);
	nat_raw_free(&r);
	return rc;
}
