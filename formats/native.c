/* Native crashes: raw facts (a core, a guard record) -> the bd_native table of the
 * model. Finds the objects the process had mapped and the same files on this machine
 * (sysroot, --exe, build-id check, separate debug files), unwinds every thread,
 * symbolizes every frame (symbols, DWARF lines, the JIT's own table of Erlang
 * functions, a perf map), tells the BEAM's threads apart and names the NIF below
 * the VM. What it cannot know becomes a note; nothing here trusts the input. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "beamdump/secret.h"
#include "elfobj.h"
#include "native_int.h"
#include "snapshot_int.h"
#include "unwind.h"

enum {
	MAX_FRAMES = 1 << 16, /* per thread (recursion is folded: see repeat) */
	/* Frames unwound in all threads: a forged core of thousands of threads sharing
	 * one deep stack took minutes (each frame a CFI lookup); a real BEAM has tens
	 * to hundreds of threads of at most a few hundred frames each. */
	MAX_TOTAL_FRAMES = 1 << 18,
	MAX_OBJECTS = 4096,
	MAX_JIT_ENTRIES = 1 << 20,
	MAX_JIT_RANGES = 1 << 22,
	MAX_SYMFILE = 16 << 20,
	STALE_SCAN = 64 << 10, /* bytes below the stack pointer searched for a recent NIF */
	ERL_STACK_SCAN = 256,  /* words of the Erlang stack searched for return addresses */
};

/* ---- names ---- */
const char *bd_thread_kind_name(bd_thread_kind k)
{
	static const char *const n[] = {
#define BD_X(e, s) s,
		BD_THREAD_KINDS(BD_X)
#undef BD_X
	};
	return (unsigned)k < BD_TK__COUNT ? n[k] : "unknown";
}

const char *bd_unwind_how_name(bd_unwind_how h)
{
	static const char *const n[] = {"registers", "cfi", "signal_frame", "frame_pointer", "stack_scan"};
	return (unsigned)h < 5 ? n[h] : "unknown";
}

const char *bd_frame_kind_name(bd_frame_kind k)
{
	static const char *const n[] = {"native", "vm", "nif", "jit", "unknown"};
	return (unsigned)k < 5 ? n[k] : "unknown";
}

const char *bd_buildid_status_name(bd_buildid_status s)
{
	static const char *const n[] = {"unknown", "match", "mismatch", "missing"};
	return (unsigned)s < 4 ? n[s] : "unknown";
}

static int crashed_has(const bd_native *n, const char *fn)
{
	if (n->crashed < 0)
		return 0;
	const bd_native_thread *t = &n->threads[n->crashed];
	for (uint32_t i = 0; i < t->frame_count; i++) {
		const char *f = n->frames[t->frame_first + i].function;
		if (f && !strcmp(f, fn))
			return 1;
	}
	return 0;
}

const char *bd_native_fault(const bd_native *n)
{
	if (n->stack_overflow)
		return "stack overflow";
	if (n->fault_detail)
		return n->fault_detail;
	if (n->signal == 6) {
		if (crashed_has(n, "malloc_printerr"))
			return "heap corruption detected by the C library: a double free, or a write "
			       "past an allocated block";
		if (crashed_has(n, "__stack_chk_fail"))
			return "stack smashing detected: a buffer overflow on the stack";
		if (crashed_has(n, "__fortify_fail") || crashed_has(n, "__chk_fail"))
			return "buffer overflow detected by _FORTIFY_SOURCE";
		if (crashed_has(n, "__assert_fail"))
			return "failed assertion";
		return "abort";
	}
	if (n->signal == 11 && n->fault_addr != BD_UNKNOWN && n->fault_addr < 4096)
		return "NULL pointer dereference";
	if (n->signal == 11 && n->crashed >= 0 && n->threads[n->crashed].frame_count &&
	    n->frames[n->threads[n->crashed].frame_first].pc == n->fault_addr)
		return "jump to a bad address: a corrupted or freed function pointer";
	if (n->signal == 11)
		return "invalid memory access";
	if (n->signal == 7)
		return "bus error: a misaligned access, or a mapped file that shrank";
	if (n->signal == 4)
		return "illegal instruction";
	if (n->signal == 8)
		return "arithmetic fault: a division by zero";
	if (n->signal == 9)
		return "killed: the out-of-memory killer, or kill -9";
	return "fatal signal";
}

const bd_native *bd_model_native(const bd_model *m)
{
	return m && m->native ? &m->native->pub : NULL;
}

void bd_native_store_free(struct bd_native_store *s)
{
	if (!s)
		return;
	bd_vec_free(&s->threads);
	bd_vec_free(&s->frames);
	bd_vec_free(&s->objects);
	bd_vec_free(&s->notes);
	free(s);
}

struct bd_native_store *bd_native_store_new(void)
{
	struct bd_native_store *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->threads = BD_VEC_INIT(bd_native_thread, 1u << 16);
	s->frames = BD_VEC_INIT(bd_native_frame, 1u << 24);
	s->objects = BD_VEC_INIT(bd_native_object, MAX_OBJECTS);
	s->notes = BD_VEC_INIT(const char *, 4096);
	s->pub.crashed = -1;
	s->pub.si_code = INT32_MIN;
	s->pub.fault_addr = BD_UNKNOWN;
	s->pub.time = INT64_MIN;
	return s;
}

/* Point the public table at the vectors (after they stop growing). */
void bd_native_store_publish(struct bd_native_store *s)
{
	bd_native *p = &s->pub;
	p->threads = s->threads.data;
	p->nthreads = (uint32_t)s->threads.len;
	p->frames = s->frames.data;
	p->nframes = (uint32_t)s->frames.len;
	p->objects = s->objects.data;
	p->nobjects = (uint32_t)s->objects.len;
	p->notes = s->notes.data;
	p->nnotes = (uint32_t)s->notes.len;
}

/* ---- raw facts ---- */
void nat_raw_init(nat_raw *r, bd_arena *a)
{
	memset(r, 0, sizeof *r);
	r->arena = a;
	r->threads = BD_VEC_INIT(nat_thread, 1u << 16);
	r->maps = BD_VEC_INIT(nat_map, 1u << 20);
	r->regions = BD_VEC_INIT(nat_map, 1u << 22);
	r->notes = BD_VEC_INIT(const char *, 1024);
	r->jit_symfiles = BD_VEC_INIT(nat_blob, 1u << 20);
	r->time = INT64_MIN;
}

void nat_raw_free(nat_raw *r)
{
	bd_vec_free(&r->threads);
	bd_vec_free(&r->maps);
	bd_vec_free(&r->regions);
	bd_vec_free(&r->notes);
	bd_vec_free(&r->jit_symfiles);
}

void nat_raw_note(nat_raw *r, int partial, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const char *s = bd_arena_vprintf(r->arena, fmt, ap);
	va_end(ap);
	const char **slot = bd_vec_push(&r->notes);
	if (slot && s)
		*slot = s;
	if (partial)
		r->partial = 1;
}

static const nat_map *find_in(const bd_vec *v, uint64_t addr)
{
	const nat_map *m = v->data;
	size_t lo = 0, hi = v->len;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && addr < m[lo - 1].end ? &m[lo - 1] : NULL;
}

const nat_map *nat_raw_map(const nat_raw *r, uint64_t addr) { return find_in(&r->maps, addr); }

/* fopen(path, "r") of a regular file only: a path named by a core (or derived from
 * one) may be a FIFO, whose open waits for a writer forever, or a device such as
 * /dev/zero, whose lines never end. */
static FILE *fopen_regular(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	FILE *f = fdopen(fd, "r");
	if (!f)
		close(fd);
	return f;
}

/* ---- the build ---- */
typedef struct nobj {
	const char *path;   /* as mapped */
	uint64_t start, end, base; /* base: where file offset 0 is mapped (0 unknown) */
	nat_obj *obj;       /* the file read here, when usable */
	uint64_t bias;
	int is_exe, is_vdso;
	const char *mem_bid; /* build-id the process had (memory or guard) */
	int idx;            /* index in the public objects */
} nobj;

typedef struct jrange {
	uint64_t start, end;
	const char *name;
} jrange;

typedef struct bctx {
	bd_model *m;
	nat_raw *r;
	const bd_core_opts *o;
	bd_arena *a;
	struct bd_native_store *st;
	nobj *objs;
	size_t nobjs;
	nobj *exe;
	int beam;         /* the executable is an emulator (beam.smp, beam.debug.smp...) */
	jrange *jit;      /* from the VM's JIT debug table, sorted */
	size_t njit;
	jrange *perf;     /* from a perf map, sorted */
	size_t nperf;
	nat_uframe *uf;   /* scratch for one thread */
	uint32_t *uf_of;  /* model frame (of the thread) -> its first uf */
	size_t frames_left; /* of MAX_TOTAL_FRAMES */
	int budget_noted;
} bctx;

/* A thread's frames, NULL when it has none (a thread without registers; frames.data
 * itself is NULL while no thread has any, and NULL + 0 is undefined). */
static bd_native_frame *thread_frames(struct bd_native_store *st, const bd_native_thread *t)
{
	return t->frame_count ? (bd_native_frame *)st->frames.data + t->frame_first : NULL;
}

static void note(bctx *b, int partial, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(bctx *b, int partial, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const char *s = bd_arena_vprintf(b->a, fmt, ap);
	va_end(ap);
	const char **slot = bd_vec_push(&b->st->notes);
	if (slot && s)
		*slot = s;
	if (partial) {
		b->st->pub.partial = 1;
		if (!b->st->pub.partial_reason)
			b->st->pub.partial_reason = s;
	}
}

static nobj *obj_at(bctx *b, uint64_t addr)
{
	size_t lo = 0, hi = b->nobjs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (b->objs[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && addr < b->objs[lo - 1].end ? &b->objs[lo - 1] : NULL;
}

static size_t mem_read(void *ctx, uint64_t addr, void *buf, size_t n)
{
	bctx *b = ctx;
	size_t got = b->r->read ? b->r->read(b->r->read_ctx, addr, buf, n) : 0;
	while (got < n) {
		/* Not in the dump (file-backed text, read-only data): read the file. */
		uint64_t a = addr + got;
		nobj *o = obj_at(b, a);
		if (!o || !o->obj)
			break;
		size_t k = nat_obj_read(o->obj, a - o->bias, (uint8_t *)buf + got, n - got);
		if (!k)
			break;
		got += k;
	}
	return got;
}

static int mem_exec(void *ctx, uint64_t addr)
{
	bctx *b = ctx;
	const nat_map *rg = find_in(&b->r->regions, addr);
	if (rg)
		return (rg->prot & NM_X) != 0;
	nobj *o = obj_at(b, addr);
	return o && o->obj;
}

static nat_obj *mem_object(void *ctx, uint64_t addr, uint64_t *bias)
{
	nobj *o = obj_at(ctx, addr);
	if (!o || !o->obj)
		return NULL;
	*bias = o->bias;
	return o->obj;
}

static int rd64(bctx *b, uint64_t addr, uint64_t *v)
{
	uint8_t x[8];
	if (mem_read(b, addr, x, 8) != 8)
		return -1;
	memcpy(v, x, 8);
	return 0;
}

/* ---- objects ---- */
static int path_is_file(const char *p)
{
	return p && p[0] == '/' && strncmp(p, "/memfd:", 7) && strncmp(p, "/dev/", 5) &&
	       strncmp(p, "/SYSV", 5) && strncmp(p, "/[aio]", 6);
}

static int nobj_cmp(const void *x, const void *y)
{
	const nobj *a = x, *b = y;
	return a->start < b->start ? -1 : a->start > b->start;
}

/* One object per path: the span of its mappings and where offset 0 is mapped. */
static void collect_objects(bctx *b)
{
	const nat_map *mp = b->r->maps.data;
	size_t n = b->r->maps.len;
	b->objs = bd_arena_alloc(b->a, (n + 2) * sizeof(nobj));
	if (!b->objs)
		return;
	for (size_t i = 0; i < n && b->nobjs < MAX_OBJECTS; i++) {
		if (!path_is_file(mp[i].path))
			continue;
		nobj *o = NULL;
		for (size_t k = b->nobjs; k > 0 && !o; k--)
			if (!strcmp(b->objs[k - 1].path, mp[i].path) && mp[i].start >= b->objs[k - 1].start &&
			    mp[i].start - b->objs[k - 1].end < (64u << 20))
				o = &b->objs[k - 1];
		if (!o) {
			o = &b->objs[b->nobjs++];
			o->path = mp[i].path;
			o->start = mp[i].start;
			o->end = mp[i].end;
		}
		if (mp[i].start < o->start)
			o->start = mp[i].start;
		if (mp[i].end > o->end)
			o->end = mp[i].end;
		if (mp[i].pgoff == 0 && !o->base)
			o->base = mp[i].start;
		if (mp[i].build_id && !o->mem_bid)
			o->mem_bid = mp[i].build_id;
	}
	if (b->r->auxv_vdso && b->nobjs < MAX_OBJECTS && !obj_at(b, b->r->auxv_vdso)) {
		const nat_map *rg = find_in(&b->r->regions, b->r->auxv_vdso);
		nobj *o = &b->objs[b->nobjs++];
		o->path = "[vdso]";
		o->start = b->r->auxv_vdso;
		o->end = rg ? rg->end : b->r->auxv_vdso + 8192;
		o->base = b->r->auxv_vdso;
		o->is_vdso = 1;
	}
	qsort(b->objs, b->nobjs, sizeof(nobj), nobj_cmp);
	/* The executable: the object holding AT_PHDR or AT_ENTRY, else the path in the
	 * process's first mapping. */
	for (size_t i = 0; i < b->nobjs; i++) {
		nobj *o = &b->objs[i];
		if ((b->r->auxv_phdr && b->r->auxv_phdr >= o->start && b->r->auxv_phdr < o->end) ||
		    (b->r->auxv_entry && b->r->auxv_entry >= o->start && b->r->auxv_entry < o->end) ||
		    (b->r->exe && !strcmp(b->r->exe, o->path))) {
			o->is_exe = 1;
			b->exe = o;
			break;
		}
	}
	if (!b->exe && b->nobjs && !b->objs[0].is_vdso) {
		b->exe = &b->objs[0];
		b->exe->is_exe = 1;
	}
}

/* The build-id the process had: from the ELF headers in its memory. */
static const char *mem_build_id(bctx *b, nobj *o)
{
	uint8_t eh[64];
	if (!o->base || mem_read(b, o->base, eh, sizeof eh) != sizeof eh || memcmp(eh, "\177ELF", 4) ||
	    eh[4] != 2)
		return NULL;
	uint64_t phoff, link_base = 0;
	uint16_t phnum, phentsize;
	memcpy(&phoff, eh + 32, 8);
	memcpy(&phentsize, eh + 54, 2);
	memcpy(&phnum, eh + 56, 2);
	if (phentsize != 56 || phnum > 256 || phoff > 65536)
		return NULL;
	uint8_t ph[56 * 64];
	if (phnum > 64)
		phnum = 64;
	if (mem_read(b, o->base + phoff, ph, (size_t)phnum * 56) != (size_t)phnum * 56)
		return NULL;
	int have = 0;
	for (int i = 0; i < phnum; i++) {
		uint32_t type;
		uint64_t off, vaddr;
		memcpy(&type, ph + 56 * i, 4);
		memcpy(&off, ph + 56 * i + 8, 8);
		memcpy(&vaddr, ph + 56 * i + 16, 8);
		if (type == 1 && !have) { /* PT_LOAD */
			link_base = vaddr - off;
			have = 1;
		}
	}
	for (int i = 0; i < phnum; i++) {
		uint32_t type;
		uint64_t vaddr, filesz;
		memcpy(&type, ph + 56 * i, 4);
		memcpy(&vaddr, ph + 56 * i + 16, 8);
		memcpy(&filesz, ph + 56 * i + 32, 8);
		if (type != 4 || filesz > 4096) /* PT_NOTE */
			continue;
		uint8_t nb[4096];
		size_t l = mem_read(b, o->base + (vaddr - link_base), nb, (size_t)filesz);
		for (size_t off = 0; off + 12 <= l;) {
			uint32_t namesz, descsz, ntype;
			memcpy(&namesz, nb + off, 4);
			memcpy(&descsz, nb + off + 4, 4);
			memcpy(&ntype, nb + off + 8, 4);
			size_t d = off + 12 + ((namesz + 3) & ~3u);
			if (namesz > l || descsz > l || d > l || descsz > l - d)
				break;
			if (ntype == 3 && namesz == 4 && !memcmp(nb + off + 12, "GNU", 4) && descsz &&
			    descsz <= 64) {
				char hex[129];
				for (uint32_t k = 0; k < descsz; k++)
					snprintf(hex + 2 * k, 3, "%02x", nb[d + k]);
				return bd_arena_strdup(b->a, hex);
			}
			off = d + ((descsz + 3) & ~3u);
		}
	}
	return NULL;
}

static const char *local_path(bctx *b, nobj *o)
{
	if (o->is_exe && b->o->exe)
		return b->o->exe;
	const char *p = o->path;
	size_t l = strlen(p);
	static const char del[] = " (deleted)";
	if (l > sizeof del - 1 && !strcmp(p + l - (sizeof del - 1), del))
		p = bd_arena_strndup(b->a, p, l - (sizeof del - 1));
	if (b->o->sysroot && b->o->sysroot[0])
		return bd_arena_printf(b->a, "%s%s", b->o->sysroot, p);
	return p;
}

/* What an object's use depends on besides its path (nat_obj_get): the debug roots. */
static const char *obj_ctx(bctx *b)
{
	return bd_arena_printf(b->a, "%s\n%s", b->o->debug_dir ? b->o->debug_dir : "",
			       b->o->sysroot ? b->o->sysroot : "");
}

/* Opened in the arena of the object it is for (a cached object keeps it). */
static nat_obj *try_debug(nat_obj *of, const char *path, const char *want_bid)
{
	struct stat st;
	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return NULL;
	const char *why;
	nat_obj *d = nat_obj_open(path, nat_obj_arena(of), &why);
	if (!d)
		return NULL;
	if (want_bid && want_bid[0] && nat_obj_build_id(d)[0] && strcmp(want_bid, nat_obj_build_id(d))) {
		nat_obj_close(d);
		return NULL;
	}
	return d;
}

/* Separate debug files: by build-id under each debug root, then by .gnu_debuglink
 * next to the file, in its .debug/, and under each root (gdb's search order). */
static const char *find_debug(bctx *b, nobj *o, const char *file, nat_obj **out)
{
	const char *bid = nat_obj_build_id(o->obj);
	const char *roots[3];
	int nr = 0;
	if (b->o->debug_dir)
		roots[nr++] = b->o->debug_dir;
	roots[nr++] = b->o->sysroot && b->o->sysroot[0]
			      ? bd_arena_printf(b->a, "%s/usr/lib/debug", b->o->sysroot)
			      : "/usr/lib/debug";
	for (int i = 0; i < nr && bid[0] && strlen(bid) > 2; i++) {
		const char *p = bd_arena_printf(b->a, "%s/.build-id/%.2s/%s.debug", roots[i], bid, bid + 2);
		if (p && (*out = try_debug(o->obj, p, bid)))
			return p;
	}
	const char *link = nat_obj_debuglink(o->obj);
	if (!link || strchr(link, '/'))
		return NULL;
	const char *slash = strrchr(file, '/');
	size_t dl = slash ? (size_t)(slash - file) : 0;
	const char *cands[5];
	int nc = 0;
	cands[nc++] = bd_arena_printf(b->a, "%.*s/%s", (int)dl, file, link);
	cands[nc++] = bd_arena_printf(b->a, "%.*s/.debug/%s", (int)dl, file, link);
	for (int i = 0; i < nr; i++)
		cands[nc++] = bd_arena_printf(b->a, "%s%.*s/%s", roots[i], (int)dl, file, link);
	for (int i = 0; i < nc; i++) {
		if (cands[i] && strcmp(cands[i], file) && (*out = try_debug(o->obj, cands[i], bid)))
			return cands[i];
	}
	return NULL;
}

/* 1: the process had an ELF header mapped there, 0: something else (a locale file,
 * a cache), -1: the dump does not say. */
static int elf_in_memory(bctx *b, const nobj *o)
{
	uint8_t m[4];
	if (!o->base || !b->r->read || b->r->read(b->r->read_ctx, o->base, m, 4) != 4)
		return -1;
	return !memcmp(m, "\177ELF", 4);
}

static int looks_like_object(const char *p)
{
	const char *base = strrchr(p, '/');
	base = base ? base + 1 : p;
	return strstr(base, ".so") != NULL || !strchr(base, '.');
}

static void open_object(bctx *b, nobj *o, bd_native_object *pub)
{
	const char *why = NULL;
	const char *file = NULL;
	nat_obj *obj = NULL;
	if (o->is_vdso) {
		size_t len = (size_t)(o->end - o->start);
		uint8_t *img = len <= (1u << 20) ? malloc(len) : NULL;
		if (img && mem_read(b, o->start, img, len) == len)
			obj = nat_obj_open_image(img, len, "[vdso]", b->a, &why);
		free(img);
	} else {
		file = local_path(b, o);
		obj = nat_obj_get(file, obj_ctx(b), b->a, &why);
	}
	o->mem_bid = o->mem_bid ? o->mem_bid : o->is_vdso ? NULL : mem_build_id(b, o);
	pub->build_id = o->mem_bid;
	if (!obj) {
		pub->build_id_status = BD_BID_MISSING;
		if (!o->is_vdso)
			note(b, 1, "%s: cannot read %s (%s): its frames have no names%s", o->path, file,
			     why ? why : "?",
			     o->is_exe ? " (the executable moved? name it with --exe PATH, or give the "
					 "original machine's files with --sysroot DIR)"
				       : " (copy it back, or give the original machine's files with "
					 "--sysroot DIR)");
		return;
	}
	const char *fbid = nat_obj_build_id(obj);
	pub->file = file;
	if (o->mem_bid && fbid[0]) {
		if (strcmp(o->mem_bid, fbid)) {
			pub->build_id_status = BD_BID_MISMATCH;
			note(b, 1, "%s: %s is a different build (build-id %s, the process had %s): its "
				   "symbols are not used",
			     o->path, file, fbid, o->mem_bid);
			nat_obj_close(obj);
			return;
		}
		pub->build_id_status = BD_BID_MATCH;
	} else {
		pub->build_id_status = BD_BID_UNKNOWN;
		if (!pub->build_id && fbid[0])
			pub->build_id = bd_arena_strdup(b->a, fbid);
	}
	o->obj = obj;
	if (!o->base)
		o->base = o->start; /* the first mapping, when offset 0 is not mapped */
	o->bias = o->base - nat_obj_link_base(obj);
	pub->bias = o->bias;
	if (!o->is_vdso) {
		nat_obj *dbg = NULL;
		const char *dp = NULL;
		if (nat_obj_debug_search(obj, &dp)) { /* found (or not) by an earlier core */
			pub->debug_file = dp;
		} else {
			dp = find_debug(b, o, file, &dbg);
			if (dbg && !nat_obj_attach_debug(obj, dbg))
				pub->debug_file = dp;
			else if (dbg)
				nat_obj_close(dbg);
			nat_obj_debug_searched(obj, pub->debug_file);
		}
	}
	pub->symbols = (uint8_t)nat_obj_symbol_kind(obj);
	pub->debug_info = (uint8_t)nat_obj_has_dwarf(obj);
	pub->is_nif = (uint8_t)nat_obj_is_nif(obj);
	if (pub->is_nif) {
		size_t nn;
		const char *mod = NULL;
		nat_obj_nifs(obj, &nn, &mod);
		pub->nif_module = mod;
	}
}

static void open_objects(bctx *b)
{
	/* Mapped files that are not ELF objects (locale archives, caches) are no objects. */
	size_t k = 0;
	for (size_t i = 0; i < b->nobjs; i++) {
		nobj *o = &b->objs[i];
		int e = o->is_vdso ? 1 : elf_in_memory(b, o);
		if (e == 0 && !o->is_exe)
			continue;
		if (e < 0 && !o->is_exe && !o->mem_bid) {
			const char *why;
			nat_obj *t = nat_obj_get(local_path(b, o), obj_ctx(b), b->a, &why);
			if (t)
				nat_obj_close(t);
			else if (!looks_like_object(o->path) || access(local_path(b, o), F_OK) == 0)
				continue;
		}
		b->objs[k++] = *o;
	}
	b->nobjs = k;
	b->exe = NULL;
	for (size_t i = 0; i < b->nobjs; i++)
		if (b->objs[i].is_exe)
			b->exe = &b->objs[i];
	for (size_t i = 0; i < b->nobjs; i++) {
		nobj *o = &b->objs[i];
		bd_native_object *pub = bd_vec_push(&b->st->objects);
		if (!pub)
			break;
		o->idx = (int)(b->st->objects.len - 1);
		pub->path = o->path;
		pub->start = o->start;
		pub->end = o->end;
		pub->bias = BD_UNKNOWN;
		open_object(b, o, pub);
	}
	if (!b->exe)
		note(b, 1, "the executable is unknown (no mapped files): frames have no names");
}

/* ---- JIT code names ---- */
static int jr_cmp(const void *x, const void *y)
{
	const jrange *a = x, *b = y;
	return a->start < b->start ? -1 : a->start > b->start;
}

static const char *jit_name(const jrange *t, size_t n, uint64_t pc)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (t[mid].start <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && pc < t[lo - 1].end ? t[lo - 1].name : NULL;
}

static void add_range(bctx *b, bd_vec *out, uint64_t s, uint64_t e, const char *nm, size_t nl,
		      int global)
{
	if (e <= s || e - s > (1u << 28) || out->len >= MAX_JIT_RANGES)
		return;
	/* "m:f/1-CodeInfoPrologue" is the same function. */
	static const char pro[] = "-CodeInfoPrologue";
	if (nl > sizeof pro - 1 && !memcmp(nm + nl - (sizeof pro - 1), pro, sizeof pro - 1))
		nl -= sizeof pro - 1;
	jrange *j = bd_vec_push(out);
	if (!j)
		return;
	j->start = s;
	j->end = e;
	j->name = global && !memmem(nm, nl, "::", 2) ? bd_arena_printf(b->a, "global::%.*s", (int)nl, nm)
						     : bd_arena_strndup(b->a, nm, nl);
}

/* A string of the OTP 25 symfile at *off: u16 length (with the NUL), the bytes, then
 * two bytes of padding. */
static const char *sf_str(const uint8_t *p, size_t len, size_t *off, size_t *sl)
{
	if (*off + 2 > len)
		return NULL;
	uint16_t l;
	memcpy(&l, p + *off, 2);
	if (!l || *off + 2 + l > len || p[*off + 2 + l - 1] != 0)
		return NULL;
	const char *s = (const char *)p + *off + 2;
	*sl = l - 1u;
	*off += 2u + l + 2u;
	return s;
}

/* OTP 25: u32 version, u32 pad, u64 code base, u32 ranges, u32 code size, module
 * name, four bytes; per range u32 start and end offsets, u32 line count, name, then
 * per line u32 offset, u32 line, file name. */
static int parse_symfile25(bctx *b, const uint8_t *p, size_t len, bd_vec *out)
{
	uint64_t base;
	uint32_t n, size;
	size_t off = 24, ml;
	if (len < 32)
		return -1;
	memcpy(&base, p + 8, 8);
	memcpy(&n, p + 16, 4);
	memcpy(&size, p + 20, 4);
	const char *mod = sf_str(p, len, &off, &ml);
	if (!mod || n > len / 16)
		return -1;
	off += 4;
	int global = ml == 6 && !memcmp(mod, "global", 6);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t s, e, lines;
		size_t nl;
		if (off + 12 > len)
			return -1;
		memcpy(&s, p + off, 4);
		memcpy(&e, p + off + 4, 4);
		memcpy(&lines, p + off + 8, 4);
		off += 12;
		const char *nm = sf_str(p, len, &off, &nl);
		if (!nm || e > size || lines > len / 10)
			return -1;
		for (uint32_t k = 0; k < lines; k++) {
			size_t fl;
			off += 8;
			if (!sf_str(p, len, &off, &fl))
				return -1;
		}
		add_range(b, out, base + s, base + e, nm, nl, global);
	}
	return 0;
}

/* OTP 24 and 26+: u64 count, u64 code base, u64 code size, module name, then per
 * function u64 start, u64 stop, name. */
static void parse_symfile(bctx *b, const uint8_t *p, size_t len, bd_vec *out)
{
	if (len < 24)
		return;
	size_t before = out->len;
	uint16_t l25;
	memcpy(&l25, p + 24, 2);
	if (l25 && (size_t)26 + l25 <= len && p[26 + l25 - 1] == 0) {
		if (!parse_symfile25(b, p, len, out))
			return;
		out->len = before;
	}
	uint64_t count;
	memcpy(&count, p, 8);
	const char *mod = (const char *)p + 24;
	size_t ml = strnlen(mod, len - 24);
	if (ml == len - 24 || count > len / 17)
		return;
	size_t off = 24 + ml + 1;
	int global = ml == 6 && !memcmp(mod, "global", 6);
	for (uint64_t i = 0; i < count && off + 17 <= len; i++) {
		uint64_t s, e;
		memcpy(&s, p + off, 8);
		memcpy(&e, p + off + 8, 8);
		const char *nm = (const char *)p + off + 16;
		size_t nl = strnlen(nm, len - off - 16);
		if (nl == len - off - 16)
			break;
		off += 16 + nl + 1;
		add_range(b, out, s, e, nm, nl, global);
	}
}

static int jr_sort(bctx *b, bd_vec *v)
{
	if (v->len)
		qsort(v->data, v->len, sizeof(jrange), jr_cmp);
	b->jit = v->data;
	b->njit = v->len;
	return 0;
}

static void load_jit_table(bctx *b)
{
	if (b->r->jit_symfiles.len) {
		/* The guard copied the symfiles in the dying process. */
		bd_vec v = BD_VEC_INIT(jrange, MAX_JIT_RANGES);
		const nat_blob *sf = b->r->jit_symfiles.data;
		for (size_t i = 0; i < b->r->jit_symfiles.len; i++)
			parse_symfile(b, sf[i].p, sf[i].len, &v);
		jr_sort(b, &v);
		return;
	}
	if (!b->exe || !b->exe->obj)
		return;
	uint64_t sym = nat_obj_lookup(b->exe->obj, "__jit_debug_descriptor", NULL);
	uint64_t first;
	if (!sym || rd64(b, b->exe->bias + sym + 16, &first))
		return;
	bd_vec v = BD_VEC_INIT(jrange, MAX_JIT_RANGES);
	uint64_t e = first;
	uint8_t *buf = NULL;
	for (int i = 0; e && i < MAX_JIT_ENTRIES; i++) {
		uint64_t next, addr, size;
		if (rd64(b, e, &next) || rd64(b, e + 16, &addr) || rd64(b, e + 24, &size))
			break;
		if (size >= 24 && size <= MAX_SYMFILE) {
			uint8_t *nb = realloc(buf, (size_t)size);
			if (!nb)
				break;
			buf = nb;
			if (mem_read(b, addr, buf, (size_t)size) == size)
				parse_symfile(b, buf, (size_t)size, &v);
		}
		e = next;
	}
	free(buf);
	jr_sort(b, &v);
}

/* perf map lines: "START SIZE name" in hex. */
static void load_perf_map(bctx *b)
{
	char def[64];
	const char *path = b->o->perf_map;
	if (!path && b->r->pid) {
		snprintf(def, sizeof def, "/tmp/perf-%u.map", b->r->pid);
		path = def;
	}
	if (!path)
		return;
	FILE *f = fopen_regular(path);
	if (!f) {
		if (b->o->perf_map)
			note(b, 0, "perf map %s: cannot read it", path);
		return;
	}
	bd_vec v = BD_VEC_INIT(jrange, MAX_JIT_RANGES);
	char line[1024];
	while (fgets(line, sizeof line, f)) {
		char *e1, *e2;
		unsigned long long s = strtoull(line, &e1, 16), n = strtoull(e1, &e2, 16);
		if (e1 == line || e2 == e1 || *e2 != ' ' || !n)
			continue;
		char *nm = e2 + 1;
		nm[strcspn(nm, "\r\n")] = 0;
		if (*nm == '$') /* the BEAM's maps: "$lists:sort/1", "$global::x" */
			nm++;
		add_range(b, &v, s, s + n, nm, strlen(nm), 0);
	}
	fclose(f);
	if (v.len)
		qsort(v.data, v.len, sizeof(jrange), jr_cmp);
	b->perf = v.data;
	b->nperf = v.len;
	b->st->pub.perf_map = bd_arena_strdup(b->a, path);
}

/* A perf map the user named wins over the VM's table; the default one is a fallback. */
static const char *jit_lookup(bctx *b, uint64_t pc)
{
	const char *n = NULL;
	if (b->o->perf_map)
		n = jit_name(b->perf, b->nperf, pc);
	if (!n)
		n = jit_name(b->jit, b->njit, pc);
	return n ? n : jit_name(b->perf, b->nperf, pc);
}

/* ---- symbolization ---- */
static void symbolize(bctx *b, const nat_uframe *u, bd_native_frame *f)
{
	f->pc = u->pc;
	f->sp = u->sp;
	f->how = u->how;
	f->object = -1;
	f->offset = BD_UNKNOWN;
	uint64_t look = u->exact_pc ? u->pc : u->pc - 1;
	nobj *o = obj_at(b, look);
	if (!o) {
		f->kind = mem_exec(b, look) ? BD_FK_JIT : BD_FK_UNKNOWN;
		if (f->kind == BD_FK_JIT)
			f->erlang = jit_lookup(b, look);
		return;
	}
	f->object = o->idx;
	f->kind = o->is_exe && b->beam ? BD_FK_VM : BD_FK_NATIVE;
	if (!o->obj)
		return;
	uint64_t start;
	const char *fn = nat_obj_symbol(o->obj, look - o->bias, &start);
	if (fn) {
		f->function = fn;
		f->offset = u->pc - (start + o->bias);
	}
	const char *file;
	uint32_t line;
	if (!nat_obj_line(o->obj, look - o->bias, &file, &line)) {
		f->file = file;
		f->line = line;
	}
}

/* The frame of u, preceded by the functions inlined at its pc (innermost first): each
 * gets the line where it is, the one around it the line where it was inlined. 0, 1
 * when the thread has no room for them, -1 when the frame table is full. */
static int push_frames(bctx *b, bd_native_thread *t, const nat_uframe *u, uint32_t ui)
{
	bd_native_frame base;
	memset(&base, 0, sizeof base);
	symbolize(b, u, &base);
	base.repeat = 1;
	nat_inline inl[16];
	int k = 0;
	uint64_t look = u->exact_pc ? u->pc : u->pc - 1;
	nobj *o = base.file ? obj_at(b, look) : NULL;
	if (o && o->obj)
		k = nat_obj_inlines(o->obj, look - o->bias, inl, 16);
	/* uf_of has room for MAX_FRAMES: with inlined functions a thread has more
	 * frames than unwound ones (a forged stack of 65,536 frames alternating between
	 * two such call sites wrote past it) */
	if (t->frame_count + (size_t)k + 1 > MAX_FRAMES)
		return 1;
	for (int j = 0; j < k; j++) {
		bd_native_frame *f = bd_vec_push(&b->st->frames);
		if (!f)
			return -1;
		*f = base;
		f->inlined = 1;
		f->function = inl[j].name ? inl[j].name : "(inlined function)";
		f->offset = BD_UNKNOWN;
		if (j) {
			f->file = inl[j - 1].call_file;
			f->line = inl[j - 1].call_line;
		}
		b->uf_of[t->frame_count++] = ui;
	}
	if (k) {
		base.file = inl[k - 1].call_file;
		base.line = inl[k - 1].call_line;
	}
	bd_native_frame *f = bd_vec_push(&b->st->frames);
	if (!f)
		return -1;
	*f = base;
	b->uf_of[t->frame_count++] = ui;
	return 0;
}

/* ---- BEAM thread kinds ---- */
static void set_kind(bd_native_thread *t, bd_thread_kind k, int idx, bd_thread_kind_src src)
{
	t->kind = (uint8_t)k;
	t->index = idx;
	t->kind_src = (uint8_t)src;
}

/* "1_scheduler", "3_dirty_cpu_sch", "10_dirty_io_sch", "async_1", "1_aux",
 * "0_poller", "sys_sig_dispatc", "sys_msg_dispatc" (names cut at 15 bytes). */
static int kind_from_name(bd_native_thread *t, uint32_t pid)
{
	const char *n = t->name;
	if (!n)
		return 0;
	char *e;
	long num = strtol(n, &e, 10);
	if (e != n && *e == '_') {
		const char *k = e + 1;
		if (!strncmp(k, "scheduler", 9) || !strcmp(k, "schedu") || !strncmp(k, "sched", 5))
			set_kind(t, BD_TK_SCHEDULER, (int)num, BD_TKS_NAME);
		else if (!strncmp(k, "dirty_cpu", 9))
			set_kind(t, BD_TK_DIRTY_CPU, (int)num, BD_TKS_NAME);
		else if (!strncmp(k, "dirty_io", 8))
			set_kind(t, BD_TK_DIRTY_IO, (int)num, BD_TKS_NAME);
		else if (!strcmp(k, "aux"))
			set_kind(t, BD_TK_AUX, (int)num, BD_TKS_NAME);
		else if (!strncmp(k, "poller", 6))
			set_kind(t, BD_TK_POLL, (int)num, BD_TKS_NAME);
		else
			return 0;
		return 1;
	}
	if (!strncmp(n, "async_", 6))
		set_kind(t, BD_TK_ASYNC, atoi(n + 6), BD_TKS_NAME);
	else if (!strcmp(n, "aux"))
		set_kind(t, BD_TK_AUX, 1, BD_TKS_NAME);
	else if (!strncmp(n, "sys_sig_dispatc", 15))
		set_kind(t, BD_TK_SIG_DISPATCH, -1, BD_TKS_NAME);
	else if (!strncmp(n, "sys_msg_dispatc", 15))
		set_kind(t, BD_TK_MSG_DISPATCH, -1, BD_TKS_NAME);
	else if (t->tid == pid)
		set_kind(t, BD_TK_MAIN, -1, BD_TKS_NAME);
	else
		set_kind(t, BD_TK_OTHER, -1, BD_TKS_NAME);
	return 1;
}

static uint64_t read_count(bctx *b, const char *sym)
{
	uint64_t size = 0, v = 0;
	uint64_t at = nat_obj_lookup(b->exe->obj, sym, &size);
	uint8_t x[8] = {0};
	if (!at || (size != 4 && size != 8) || mem_read(b, b->exe->bias + at, x, size) != size)
		return 0;
	memcpy(&v, x, 8);
	if (size == 4)
		v &= 0xffffffffu;
	return v < 4096 ? v : 0;
}

static int thread_by_fs(bctx *b, uint64_t v)
{
	const nat_thread *t = b->r->threads.data;
	for (size_t i = 0; v && i < b->r->threads.len; i++)
		if (t[i].fs_base == v)
			return (int)i;
	return -1;
}

/* The VM's scheduler tables: erts_aligned_scheduler_data (and the dirty ones) are
 * arrays of ErtsSchedulerData, each holding the pthread_t of its thread, which is
 * the thread's fs_base in the core. The field's offset and the array stride are not
 * assumed: they are found as the one (offset, stride) that maps every element to a
 * distinct thread. */
static int sched_table(bctx *b, const char *arr_sym, const char *count_sym, uint64_t *off,
		       uint64_t *stride, bd_thread_kind kind)
{
	uint64_t n = read_count(b, count_sym), base;
	uint64_t at = nat_obj_lookup(b->exe->obj, arr_sym, NULL);
	if (!n || !at || rd64(b, b->exe->bias + at, &base) || !base)
		return 0;
	enum { SPAN = 512 << 10, MAX_OFF = 256 << 10, MAX_STRIDE = 256 << 10 };
	if (!*stride) {
		/* ErtsSchedulerData is tens of kilobytes: search its first 256 KiB for a
		 * word that is a thread's pthread_t, then for the stride (a multiple of the
		 * cache line) at which the next element holds another thread's. */
		uint64_t *w = malloc(SPAN);
		size_t got = w ? mem_read(b, base, w, SPAN) / 8 : 0;
		for (uint64_t o = 0; o < MAX_OFF / 8 && o < got && !*stride; o++) {
			int t0 = thread_by_fs(b, w[o]);
			if (t0 < 0)
				continue;
			if (n == 1) {
				*off = o * 8;
				*stride = 64;
				break;
			}
			for (uint64_t s = 8; s <= MAX_STRIDE / 8 && o + s < got; s += 8) {
				int t1 = thread_by_fs(b, w[o + s]);
				if (t1 < 0 || t1 == t0)
					continue;
				/* Every element must hold a distinct thread at this offset. */
				int ok = 1;
				int seen[4096];
				for (uint64_t i = 0; ok && i < n; i++) {
					uint64_t v;
					ok = !rd64(b, base + i * s * 8 + o * 8, &v) && (seen[i] = thread_by_fs(b, v)) >= 0;
					for (uint64_t k = 0; ok && k < i; k++)
						ok = seen[k] != seen[i];
				}
				if (ok) {
					*off = o * 8;
					*stride = s * 8;
					break;
				}
			}
		}
		free(w);
		if (!*stride)
			return 0;
	}
	int idx[4096];
	for (uint64_t i = 0; i < n; i++) {
		uint64_t v;
		if (rd64(b, base + i * *stride + *off, &v) || (idx[i] = thread_by_fs(b, v)) < 0)
			return 0;
		for (uint64_t k = 0; k < i; k++)
			if (idx[k] == idx[i])
				return 0;
	}
	bd_native_thread *t = b->st->threads.data;
	for (uint64_t i = 0; i < n; i++)
		set_kind(&t[idx[i]], kind, (int)i + 1, BD_TKS_VM_TABLE);
	return (int)n;
}

static int has_frame(bctx *b, const bd_native_thread *t, const char *fn)
{
	const bd_native_frame *f = thread_frames(b->st, t);
	for (uint32_t i = 0; i < t->frame_count; i++)
		if (f[i].function && !strcmp(f[i].function, fn))
			return 1;
	return 0;
}

/* Threads the tables do not name: by their frames, then by creation order (thread
 * ids grow: signal and message dispatchers and async threads are created before the
 * schedulers, aux and poll threads after them). */
static void classify_rest(bctx *b, uint32_t first_sched, uint32_t last_sched)
{
	bd_native_thread *t = b->st->threads.data;
	size_t n = b->st->threads.len;
	/* One aux thread ("1_aux"): erts_no_aux_work_threads counts more than threads. */
	uint64_t naux = 1;
	uint64_t npoll = b->exe && b->exe->obj ? read_count(b, "erts_no_poll_threads") : 0;
	/* Sort order by tid for the creation-order rules. */
	uint32_t before = 0, after_aux = 0, after_poll = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			bd_native_thread *x = &t[i];
			if (x->kind != BD_TK_UNKNOWN)
				continue;
			if (pass == 0) {
				if (x->tid == b->r->pid)
					set_kind(x, BD_TK_MAIN, -1, BD_TKS_ORDER);
				else if (has_frame(b, x, "erts_poll_wait_flbk"))
					set_kind(x, BD_TK_AUX, 1, BD_TKS_FRAMES); /* the fallback poll set */
				else if (has_frame(b, x, "erts_poll_wait") || has_frame(b, x, "erts_check_io"))
					set_kind(x, BD_TK_POLL, 0, BD_TKS_FRAMES);
				else if (has_frame(b, x, "erts_dirty_process_main") ||
					 has_frame(b, x, "erts_call_dirty_nif"))
					set_kind(x, BD_TK_DIRTY_CPU, -1, BD_TKS_FRAMES);
				else if (!first_sched && (has_frame(b, x, "process_main") ||
							  has_frame(b, x, "beam_jit_call_nif")))
					/* no scheduler table (a cut core): Erlang code runs on
					 * normal schedulers only */
					set_kind(x, BD_TK_SCHEDULER, -1, BD_TKS_FRAMES);
				continue;
			}
			if (!first_sched) {
				set_kind(x, BD_TK_UNKNOWN, -1, BD_TKS_NONE);
				continue;
			}
			/* Rank among the unnamed threads before/after the schedulers. */
			uint32_t rank = 0;
			for (size_t k = 0; k < n; k++)
				if (t[k].kind_src != BD_TKS_VM_TABLE)
					if (t[k].tid != b->r->pid &&
					    ((x->tid < first_sched && t[k].tid < x->tid) ||
					     (x->tid > last_sched && t[k].tid > last_sched && t[k].tid < x->tid)))
						rank++;
			if (x->tid < first_sched) {
				if (rank == 0)
					set_kind(x, BD_TK_SIG_DISPATCH, -1, BD_TKS_ORDER);
				else if (rank == 1)
					set_kind(x, BD_TK_MSG_DISPATCH, -1, BD_TKS_ORDER);
				else
					set_kind(x, BD_TK_ASYNC, (int)rank - 1, BD_TKS_ORDER);
				before++;
			} else if (x->tid > last_sched && rank < naux) {
				set_kind(x, BD_TK_AUX, (int)rank + 1, BD_TKS_ORDER);
				after_aux++;
			} else if (x->tid > last_sched && npoll && rank < naux + npoll) {
				set_kind(x, BD_TK_POLL, (int)(rank - naux), BD_TKS_ORDER);
				after_poll++;
			} else {
				set_kind(x, BD_TK_OTHER, -1, BD_TKS_ORDER);
			}
		}
	}
	(void)before;
	(void)after_aux;
	(void)after_poll;
}

static void classify(bctx *b)
{
	if (!b->beam) {
		bd_native_thread *t = b->st->threads.data;
		for (size_t i = 0; i < b->st->threads.len; i++)
			set_kind(&t[i], t[i].tid == b->r->pid ? BD_TK_MAIN : BD_TK_OTHER, -1,
				 t[i].name ? BD_TKS_NAME : BD_TKS_ORDER);
		return;
	}
	bd_native_thread *t = b->st->threads.data;
	size_t n = b->st->threads.len;
	int named = 0;
	for (size_t i = 0; i < n; i++)
		named += kind_from_name(&t[i], b->r->pid);
	if (named)
		return;
	uint32_t first = 0, last = 0;
	if (b->exe && b->exe->obj) {
		uint64_t off = 0, stride = 0;
		int k = sched_table(b, "erts_aligned_scheduler_data", "erts_no_schedulers", &off, &stride,
				    BD_TK_SCHEDULER);
		if (k) {
			sched_table(b, "erts_aligned_dirty_cpu_scheduler_data",
				    "erts_no_dirty_cpu_schedulers", &off, &stride, BD_TK_DIRTY_CPU);
			sched_table(b, "erts_aligned_dirty_io_scheduler_data",
				    "erts_no_dirty_io_schedulers", &off, &stride, BD_TK_DIRTY_IO);
		} else {
			note(b, 0, "thread kinds: the VM's scheduler tables were not found in the "
				   "core; kinds are inferred from frames (best-effort)");
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (t[i].kind_src != BD_TKS_VM_TABLE)
			continue;
		if (!first || t[i].tid < first)
			first = t[i].tid;
		if (t[i].tid > last)
			last = t[i].tid;
	}
	classify_rest(b, first, last);
}

/* ---- the NIF below the VM, the Erlang side ---- */
static int frame_in_vm(const bd_native_frame *f) { return f->kind == BD_FK_VM || f->kind == BD_FK_JIT; }

/* The Erlang name of the NIF whose C function holds frame f (its ErlNifFunc entry),
 * or, with *cb set, the module whose load/reload/upgrade/unload callback it is.
 * The function's start comes from its symbol, else (a stripped library) from its
 * call frame information. */
static const char *nif_mfa(bctx *b, const bd_native_frame *f, int *cb)
{
	*cb = NAT_CB_NONE;
	if (f->object < 0)
		return NULL;
	nobj *o = NULL;
	for (size_t i = 0; i < b->nobjs; i++)
		if (b->objs[i].idx == f->object)
			o = &b->objs[i];
	if (!o || !o->obj)
		return NULL;
	size_t n;
	const nat_nif_fn *fns = nat_obj_nifs(o->obj, &n, NULL);
	uint64_t start;
	if (f->offset != BD_UNKNOWN)
		start = f->pc - f->offset - o->bias;
	else if (nat_obj_fde_start(o->obj, f->pc - o->bias - (f->how != BD_UNW_REGS), &start))
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (fns[i].fptr == start) {
			*cb = fns[i].callback;
			return bd_arena_strdup(b->a, fns[i].mfa); /* the object may be cached */
		}
	return NULL;
}

/* Frames of the VM that call a NIF: a library frame called from anything else was
 * not entered by a NIF call (a resource destructor, a load callback...). */
static int nif_caller(const bd_native_frame *f)
{
	static const char *const calls[] = {"beam_jit_call_nif", "erts_call_dirty_nif",
					    "process_main", "call_nif", "erts_call_nif",
					    "beam_jit_call_bif", NULL};
	if (f->kind == BD_FK_JIT)
		return 1;
	for (int i = 0; f->function && calls[i]; i++)
		if (!strcmp(f->function, calls[i]))
			return 1;
	return 0;
}

/* The innermost frame of a loaded library (not the VM, not libc) whose caller is the
 * VM: a NIF entry (or a driver callback, an async job, a NIF thread). */
static void find_nif(bctx *b, bd_native_thread *t)
{
	bd_native_frame *f = thread_frames(b->st, t);
	const bd_native_object *objs = b->st->objects.data;
	t->nif_frame = -1;
	if (!b->beam)
		return; /* not the BEAM: no VM, no NIF */
	for (uint32_t i = 0; i + 1 < t->frame_count; i++) {
		if (f[i].kind != BD_FK_NATIVE || f[i].object < 0 || !frame_in_vm(&f[i + 1]))
			continue;
		const bd_native_object *o = &objs[f[i].object];
		const char *base = strrchr(o->path, '/');
		base = base ? base + 1 : o->path;
		/* The C library and the dynamic linker call into the VM too (qsort, atexit):
		 * a library frame counts only if it is not the system's. */
		if (!o->is_nif && (!strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5) ||
				   !strncmp(base, "ld-linux", 8) || !strncmp(base, "libpthread", 10) ||
				   !strncmp(base, "libstdc++", 9) || !strncmp(base, "libgcc_s", 8)))
			continue;
		f[i].kind = BD_FK_NIF;
		t->nif_frame = (int32_t)i;
		t->nif = f[i].function;
		t->nif_library = o->path;
		int cb;
		const char *mfa = nif_mfa(b, &f[i], &cb);
		if (mfa && cb == NAT_CB_NONE) {
			t->nif_mfa = mfa;
			f[i].erlang = mfa;
		}
		return;
	}
}

/* How the crashing thread entered the library when not by a NIF call: a callback of
 * its ErlNifEntry (exact), else, on a scheduler, whatever the VM calls directly
 * (resource destructors and stop/down callbacks; best-effort). */
static void entry_callback(bctx *b, const bd_native_thread *t)
{
	static const char *const cbn[] = {NULL, "load", "reload", "upgrade", "unload"};
	const bd_native_frame *f = thread_frames(b->st, t);
	const bd_native_object *objs = b->st->objects.data;
	if (t->nif_frame < 0 || t->nif_mfa)
		return;
	uint32_t i = (uint32_t)t->nif_frame;
	int cb;
	/* Any frame of the library between the fault and the VM may be the callback
	 * (the one the VM called may have tail-called the rest). */
	for (uint32_t j = 0; j <= i; j++)
		if (f[j].object == f[i].object && nif_mfa(b, &f[j], &cb) && cb != NAT_CB_NONE) {
			b->st->pub.callback = cbn[cb];
			return;
		}
	if (f[i].object >= 0 && objs[f[i].object].is_nif && i + 1 < t->frame_count &&
	    !nif_caller(&f[i + 1]) &&
	    (t->kind == BD_TK_SCHEDULER || t->kind == BD_TK_DIRTY_CPU || t->kind == BD_TK_DIRTY_IO))
		b->st->pub.callback = "resource";
}

/* "m:f/1" (an Erlang function), not "global::x" or "m::codeHeader". */
static int jit_is_module(const char *n)
{
	const char *c = n ? strchr(n, ':') : NULL;
	return c && c[1] != ':' && strchr(c, '/');
}

/* A local pid term: tag 0x3 in the low 4 bits. Up to OTP 25 (erts 13) a 64-bit pid
 * keeps its 28-bit data (number: 15 bits, serial: 13) in the low word and the
 * process table index in the high word; from OTP 26 the data is 60 bits (number: 28,
 * serial: 32). */
static const char *pid_text(bctx *b, uint64_t w)
{
	if ((w & 0xf) != 0x3)
		return NULL;
	const char *ev = b->m->node.erts_version;
	uint64_t num, ser;
	if (ev && atoi(ev) >= 14) {
		uint64_t d = w >> 4;
		num = d & 0x0fffffff;
		ser = d >> 28;
	} else {
		uint64_t d = (w & 0xffffffffu) >> 4;
		num = d & 0x7fff;
		ser = d >> 15;
	}
	return bd_arena_printf(b->a, "<0.%llu.%llu>", (unsigned long long)num, (unsigned long long)ser);
}

/* At the first JIT frame the VM's registers are live again (restored by CFI): r13
 * holds the running process (its pid is the Process struct's first word) and rbp
 * the Erlang stack pointer, whose words include the return addresses of the Erlang
 * callers. Best-effort: only used when they check out. */
/* The running process from a callee-saved register of a VM frame: the register
 * that points at a Process, whose first word is the process's pid. */
static const char *proc_from_regs(bctx *b, const nat_regs *rg, const int *regs, int nregs)
{
	for (int k = 0; k < nregs; k++) {
		uint64_t w;
		int r = regs[k];
		if (!(rg->valid & (1u << r)) || (rg->r[r] & 7) || rd64(b, rg->r[r], &w))
			continue;
		/* Up to OTP 25 the high word is the process table index (< 2^27). */
		const char *ev = b->m->node.erts_version;
		if ((w & 0xf) == 0x3 && (ev && atoi(ev) >= 14 ? 1 : (w >> 32) < (1u << 27)))
			return pid_text(b, w);
	}
	return NULL;
}

/* The Erlang stack pointer the VM saved in the Process (its stop field) when it
 * left Erlang code for C: the Process starts with its htop and stop words, then its
 * heap and hend a few words later, with heap <= htop <= stop <= hend (every OTP
 * from 20 to 27). 0 when no such words are found. */
static uint64_t proc_stop(bctx *b, uint64_t proc)
{
	uint64_t p[32];
	if (!proc || (proc & 7) || mem_read(b, proc, p, sizeof p) != sizeof p)
		return 0;
	for (int k = 4; k + 1 < 32; k++) {
		uint64_t heap = p[k], hend = p[k + 1];
		if (!heap || (heap & 7) || (hend & 7) || hend <= heap || hend - heap > (1ull << 36))
			continue;
		for (int i = 2; i + 1 < k; i++)
			if (heap <= p[i] && p[i] <= p[i + 1] && p[i + 1] <= hend && !(p[i + 1] & 7))
				return p[i + 1];
	}
	return 0;
}

static void erlang_side(bctx *b, bd_native_thread *t, const nat_uframe *uf, size_t n)
{
	static const int jit_regs[] = {NR_R13};
	static const int c_regs[] = {NR_RBX, NR_R12, NR_R13, NR_R14, NR_R15, NR_RBP};
	const bd_native_frame *f = thread_frames(b->st, t);
	for (size_t i = 0; i < t->frame_count; i++) {
		if (b->uf_of[i] >= n)
			continue;
		const nat_regs *rg = &uf[b->uf_of[i]].regs;
		/* A dirty NIF: erts_call_dirty_nif keeps the process in a callee-saved
		 * register across the call (best-effort: the first that points at a pid). */
		if (f[i].function && !strcmp(f[i].function, "erts_call_dirty_nif") && !t->erlang_process)
			t->erlang_process = proc_from_regs(b, rg, c_regs, 6);
		if (f[i].kind != BD_FK_JIT)
			continue;
		if (jit_is_module(f[i].erlang))
			t->erlang_function = f[i].erlang;
		if (!t->erlang_process)
			t->erlang_process = proc_from_regs(b, rg, jit_regs, 1);
		/* The Erlang stack: the process's saved stop, else rbp (which may lag
		 * behind it: stale words of returned calls lie below stop). */
		uint64_t stop = t->erlang_process && (rg->valid & (1u << NR_R13)) ? proc_stop(b, rg->r[NR_R13]) : 0;
		if (!t->erlang_function && (stop || (rg->valid & (1u << NR_RBP))) && (b->njit || b->nperf)) {
			uint64_t e = stop ? stop : rg->r[NR_RBP], w;
			for (int k = 0; k < ERL_STACK_SCAN; k++) {
				if (rd64(b, e + 8 * (uint64_t)k, &w))
					break;
				const char *nm = jit_lookup(b, w);
				if (jit_is_module(nm)) {
					t->erlang_function = nm;
					break;
				}
			}
		}
		return;
	}
}

/* After the NIF returned, its frames stay below the stack pointer until they are
 * overwritten: the nearest stale return address into a NIF library names the last
 * NIF this thread ran (for a crash in VM code after memory corruption). */
static void recent_nif(bctx *b, bd_native_thread *t, uint64_t lo_bound)
{
	const bd_native_object *objs = b->st->objects.data;
	uint64_t sp = t->sp;
	uint64_t lo = sp > STALE_SCAN ? sp - STALE_SCAN : 0;
	if (lo < lo_bound)
		lo = lo_bound;
	uint64_t *w = malloc(STALE_SCAN);
	if (!w)
		return;
	size_t got = sp > lo ? mem_read(b, lo, w, (size_t)(sp - lo)) / 8 : 0;
	for (size_t k = got; k > 0; k--) {
		nobj *o = obj_at(b, w[k - 1]);
		if (!o || !o->obj || !objs[o->idx].is_nif)
			continue;
		nat_uframe u = {.pc = w[k - 1], .exact_pc = 0};
		bd_native_frame f;
		memset(&f, 0, sizeof f);
		symbolize(b, &u, &f);
		t->recent_nif = f.function
					? bd_arena_printf(b->a, "%s (%s)", f.function, objs[o->idx].path)
					: objs[o->idx].path;
		break;
	}
	free(w);
}

/* ---- threads ---- */
static void stack_bounds(bctx *b, uint64_t sp, uint64_t *lo, uint64_t *hi)
{
	*lo = *hi = 0;
	const nat_map *rg = find_in(&b->r->regions, sp);
	if (!rg || !(rg->prot & NM_W)) {
		/* A stack overflow: sp is in the guard page under the stack. */
		const nat_map *all = b->r->regions.data;
		for (size_t i = 0; i < b->r->regions.len; i++)
			if (all[i].start > sp && all[i].start - sp < (1u << 20) && (all[i].prot & NM_W)) {
				rg = &all[i];
				break;
			}
		if (!rg)
			return;
	}
	*lo = rg->start;
	*hi = rg->end;
}

static void do_thread(bctx *b, const nat_thread *rt, int crashed)
{
	bd_native_thread *t = bd_vec_push(&b->st->threads);
	if (!t)
		return;
	t->tid = rt->tid;
	t->crashed = (uint8_t)crashed;
	t->name = rt->name;
	t->state = rt->state;
	t->index = -1;
	t->nif_frame = -1;
	t->frame_first = (uint32_t)b->st->frames.len;
	if (!rt->has_regs) {
		t->stop_reason = !strcmp(b->r->source, "guard")
					 ? "running: the guard records only the crashing thread's registers"
					 : "no registers";
		t->pc = t->sp = BD_UNKNOWN;
		return;
	}
	t->pc = rt->regs.r[NR_RIP];
	t->sp = rt->regs.r[NR_RSP];
	nat_unwind_env env = {mem_read, mem_exec, mem_object, b, 0, 0};
	stack_bounds(b, t->sp, &env.stack_lo, &env.stack_hi);
	const char *stop = NULL;
	size_t cap = b->frames_left < MAX_FRAMES ? b->frames_left : MAX_FRAMES;
	if (!cap)
		cap = 1; /* the thread's pc */
	size_t n = nat_unwind(&env, &rt->regs, b->uf, cap, &stop);
	if (n >= cap && cap < MAX_FRAMES && stop) {
		if (!b->budget_noted++)
			note(b, 0, "%d frames unwound in all threads: the threads after it show "
				   "their first frame only", MAX_TOTAL_FRAMES);
		stop = "the core's budget of unwound frames is spent";
	}
	b->frames_left -= n < b->frames_left ? n : b->frames_left;
	if (!crashed && !strcmp(b->r->source, "guard") && stop)
		stop = "in a system call: the guard records only the crashing thread's stack";
	/* The guard's frame-pointer walk, when the offline unwind found less. */
	if (crashed && b->r->nfp_walk > n && n <= 1) {
		n = 0;
		for (uint32_t i = 0; i < b->r->nfp_walk && n < cap; i++, n++) {
			memset(&b->uf[n], 0, sizeof b->uf[n]);
			b->uf[n].pc = b->r->fp_walk[i];
			b->uf[n].how = i ? BD_UNW_FP : BD_UNW_REGS;
			b->uf[n].exact_pc = i == 0;
		}
		stop = "frames from the guard's frame-pointer walk (best-effort)";
	}
	for (size_t i = 0; i < n; i++) {
		bd_native_frame *prev = t->frame_count ? (bd_native_frame *)b->st->frames.data +
								 b->st->frames.len - 1
						       : NULL;
		if (prev && prev->pc == b->uf[i].pc && prev->how == b->uf[i].how) {
			prev->repeat++; /* recursion: one frame, counted */
			continue;
		}
		int full = push_frames(b, t, &b->uf[i], (uint32_t)i);
		if (full) {
			if (full > 0)
				stop = "more frames than a thread's table holds (with the inlined ones)";
			break;
		}
	}
	uint8_t probe[8];
	if (stop && mem_read(b, t->sp, probe, 8) != 8)
		stop = !strcmp(b->r->source, "core") ? "the thread's stack is not in the core (the core is cut)"
						      : "the thread's stack was not recorded";
	t->stop_reason = stop;
	t->frames_cut = stop != NULL;
	find_nif(b, t);
	if (t->nif_frame < 0 && t->frames_cut && t->frame_count && b->beam) {
		/* the unwind stopped inside a NIF library: name it at least */
		bd_native_frame *f0 = thread_frames(b->st, t);
		const bd_native_object *objs = b->st->objects.data;
		for (uint32_t i = 0; i < t->frame_count; i++)
			if (f0[i].object >= 0 && objs[f0[i].object].is_nif) {
				t->nif_frame = (int32_t)i;
				t->nif = f0[i].function;
				t->nif_library = objs[f0[i].object].path;
				break;
			}
	}
	erlang_side(b, t, b->uf, n);
	if (crashed && t->nif_frame < 0)
		recent_nif(b, t, env.stack_lo);
}

/* ---- signal ---- */
static const char *sig_name(int s)
{
	static const char *const n[] = {NULL,      "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",
					"SIGTRAP", "SIGABRT", "SIGBUS",    "SIGFPE",  "SIGKILL",
					"SIGUSR1", "SIGSEGV", "SIGUSR2",   "SIGPIPE", "SIGALRM",
					"SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP",
					"SIGTSTP", "SIGTTIN", "SIGTTOU",   "SIGURG",  "SIGXCPU",
					"SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",
					"SIGPWR",  "SIGSYS"};
	return s > 0 && s < 32 ? n[s] : NULL;
}

static const char *code_name(int sig, int code)
{
	switch (code) {
	case 0: return "SI_USER";
	case -6: return "SI_TKILL";
	case -1: return "SI_QUEUE";
	case 0x80: return "SI_KERNEL";
	}
	if (sig == 11 && code == 1)
		return "SEGV_MAPERR";
	if (sig == 11 && code == 2)
		return "SEGV_ACCERR";
	if (sig == 7 && code == 1)
		return "BUS_ADRALN";
	if (sig == 7 && code == 2)
		return "BUS_ADRERR";
	if (sig == 4 && code == 1)
		return "ILL_ILLOPC";
	if (sig == 4 && code == 2)
		return "ILL_ILLOPN";
	if (sig == 8 && code == 1)
		return "FPE_INTDIV";
	if (sig == 8 && code == 2)
		return "FPE_INTOVF";
	return NULL;
}

static void fill_signal(bctx *b)
{
	bd_native *p = &b->st->pub;
	nat_raw *r = b->r;
	p->pid = r->pid;
	p->time = r->time;
	if (!r->have_siginfo) {
		const nat_thread *t = r->threads.data;
		if (r->threads.len && t[0].cursig > 0)
			p->signal = t[0].cursig;
		note(b, 0, "no signal information (NT_SIGINFO): the fault address is unknown");
	} else {
		p->signal = r->signo;
		p->si_code = r->sig_code;
		p->code_name = code_name(r->signo, r->sig_code);
		if (r->sig_code > 0 && (r->signo == 11 || r->signo == 7 || r->signo == 4 || r->signo == 8))
			p->fault_addr = r->sig_addr;
		if (r->sig_code <= 0)
			p->sender_pid = r->sig_sender;
	}
	p->signal_name = sig_name(p->signal);
}

/* What holds addr: a mapped file, the stack or heap, anonymous memory. */
static const char *mapping_name(bctx *b, uint64_t addr, uint32_t *prot, int *found)
{
	const nat_map *rg = find_in(&b->r->regions, addr);
	const nat_map *fm = find_in(&b->r->maps, addr);
	*prot = rg ? rg->prot : fm ? fm->prot : 0;
	*found = rg || fm;
	if (fm && fm->path)
		return fm->path;
	if (rg && rg->path)
		return rg->path;
	for (size_t i = 0; i < b->st->threads.len; i++) {
		const bd_native_thread *t = (const bd_native_thread *)b->st->threads.data + i;
		uint64_t lo, hi;
		if (t->sp == BD_UNKNOWN)
			continue;
		stack_bounds(b, t->sp, &lo, &hi);
		if (lo && addr >= lo && addr < hi)
			return "[stack]";
	}
	return *found ? "anonymous memory" : NULL;
}

/* The type of an uncaught C++ exception: std::terminate was called from
 * __cxa_throw (or a noexcept function); the exception's std::type_info is still
 * referenced from the crashing thread's stack. A type_info starts with a vtable
 * pointer of one of the C++ runtime's __*class_type_info classes (exported by
 * libstdc++), then the mangled type name. */
static void cxx_exception(bctx *b, const bd_native_thread *t)
{
	static const char *const vt[] = {"_ZTVN10__cxxabiv117__class_type_infoE",
					 "_ZTVN10__cxxabiv120__si_class_type_infoE",
					 "_ZTVN10__cxxabiv121__vmi_class_type_infoE"};
	const bd_native_frame *f = thread_frames(b->st, t);
	uint64_t hi = 0;
	for (uint32_t i = 0; i < t->frame_count; i++)
		if (f[i].function && (!strcmp(f[i].function, "std::terminate") ||
				      !strncmp(f[i].function, "__cxxabiv1::__terminate", 23)))
			hi = f[i].sp;
	if (!hi)
		return;
	b->st->pub.fault_detail = "an uncaught C++ exception: std::terminate() aborted the process";
	uint64_t vtab[3] = {0};
	for (size_t i = 0; i < b->nobjs; i++) {
		const char *base = strrchr(b->objs[i].path, '/');
		base = base ? base + 1 : b->objs[i].path;
		if (!b->objs[i].obj || strncmp(base, "libstdc++", 9))
			continue;
		for (int k = 0; k < 3; k++) {
			uint64_t a = nat_obj_lookup(b->objs[i].obj, vt[k], NULL);
			vtab[k] = a ? a + b->objs[i].bias + 16 : 0; /* past offset-to-top and RTTI */
		}
	}
	/* From the fault up to the frames above __cxa_throw (the exception's type is its
	 * second argument; compilers keep it in callee-saved slots on the way). A word
	 * that points at a "typeinfo for T" symbol (the guard has no copy of the
	 * type_info itself), else at a type_info by its vtable (a core). */
	uint64_t lo = t->sp, top = hi + 4096;
	for (uint64_t a = lo; a < top; a += 8) {
		uint64_t w, v, name;
		if (rd64(b, a, &w))
			continue;
		nobj *o = obj_at(b, w);
		uint64_t start;
		const char *sym = o && o->obj ? nat_obj_symbol(o->obj, w - o->bias, &start) : NULL;
		if (sym && start == w - o->bias && !strncmp(sym, "typeinfo for ", 13) && sym[13]) {
			b->st->pub.cxx_exception = sym + 13;
			break;
		}
		if ((!vtab[0] && !vtab[1] && !vtab[2]) || rd64(b, w, &v))
			continue;
		if (v != vtab[0] && v != vtab[1] && v != vtab[2])
			continue;
		char buf[256];
		if (rd64(b, w + 8, &name) || !name)
			continue;
		size_t nb = mem_read(b, name, buf, sizeof buf - 1);
		buf[nb] = 0;
		const char *nm = buf[0] == '*' ? buf + 1 : buf; /* '*': a local type (GCC) */
		if (!nm[0] || strnlen(nm, sizeof buf) >= sizeof buf - 2)
			continue;
		const char *d = nat_demangle_type(b->a, nm);
		if (!d)
			continue;
		b->st->pub.cxx_exception = d;
		break;
	}
	if (b->st->pub.cxx_exception)
		b->st->pub.fault_detail = bd_arena_printf(b->a, "an uncaught C++ exception (%s): "
						"std::terminate() aborted the process", b->st->pub.cxx_exception);
}

/* The fault in more words, from the mapping that holds the fault address and the
 * instruction at the pc. */
static void fault_detail(bctx *b, const bd_native_thread *t)
{
	bd_native *p = &b->st->pub;
	uint64_t fa = p->fault_addr, pc = t->pc;
	uint32_t prot = 0;
	int found = 0;
	const char *where = fa != BD_UNKNOWN ? mapping_name(b, fa, &prot, &found) : NULL;
	p->fault_mapping = where;
	const char *base = where ? strrchr(where, '/') : NULL;
	base = base ? base + 1 : where;
	if (p->signal == 11 && fa != BD_UNKNOWN && pc == fa) {
		p->fault_detail = fa < 4096 ? "a call through a NULL function pointer"
					    : found ? "a jump to memory that is not code: a corrupted or freed function pointer"
						    : "a jump to a bad address: a corrupted or freed function pointer";
	} else if (p->signal == 11 && p->si_code == 2 && found && !(prot & NM_W) && (prot & NM_R)) {
		/* SEGV_ACCERR on readable memory: a write */
		p->fault_detail = bd_arena_printf(b->a, "a write to read-only memory (%s%s)",
						  (prot & NM_X) ? "the code of " : base && where[0] == '/' ? "the read-only data of " : "",
						  base ? base : "?");
	} else if (p->signal == 11 && p->si_code == 2 && found && !(prot & (NM_R | NM_W | NM_X)) && prot) {
		p->fault_detail = "an access to a protected page (a guard page: a stack or buffer overrun)";
	} else if (p->signal == 11 && fa != BD_UNKNOWN && fa >= 4096 && !found) {
		p->fault_detail = "an access to unmapped memory: a wild, freed or corrupted pointer";
	} else if (p->signal == 7 && p->si_code == 2 && where && where[0] == '/') {
		p->fault_detail = bd_arena_printf(b->a, "a read or write of the mapped file %s beyond its end: "
						  "the file was truncated after it was mapped", where);
	} else if (p->signal == 7 && p->si_code == 1) {
		p->fault_detail = "a misaligned memory access";
	} else if (p->signal == 4) {
		uint8_t ins[2] = {0, 0};
		if (mem_read(b, pc, ins, 2) == 2 && ins[0] == 0x0f && ins[1] == 0x0b)
			p->fault_detail = "a trap instruction (ud2): __builtin_trap(), or a trap the "
					  "compiler put on a path it proved impossible (undefined behaviour)";
		else
			p->fault_detail = "an illegal instruction: code built for another CPU (-march), "
					  "or a jump into data";
	} else if (p->signal == 8) {
		p->fault_detail = p->si_code == 1 ? "an integer division by zero (or INT_MIN / -1)"
				  : p->si_code == 2 ? "an integer overflow trap"
						    : "a floating-point exception (traps enabled)";
	} else if (p->signal == 6) {
		cxx_exception(b, t);
	}
}

/* glibc keeps the message of a failed assertion or a heap check it aborts on in
 * __abort_msg: a pointer to {u32 size; char text[]}. */
static void abort_message(bctx *b)
{
	if (b->st->pub.signal != 6)
		return;
	for (size_t i = 0; i < b->nobjs; i++) {
		nobj *o = &b->objs[i];
		const char *base = strrchr(o->path, '/');
		base = base ? base + 1 : o->path;
		if (!o->obj || strncmp(base, "libc.so", 7))
			continue;
		uint64_t at = nat_obj_lookup(o->obj, "__abort_msg", NULL), p;
		uint8_t hdr[4];
		if (!at || rd64(b, o->bias + at, &p) || !p || mem_read(b, p, hdr, 4) != 4)
			return;
		uint32_t size;
		memcpy(&size, hdr, 4);
		char text[1024];
		size_t n = mem_read(b, p + 4, text, sizeof text - 1);
		text[n] = 0;
		size_t l = strnlen(text, n);
		while (l && (text[l - 1] == '\n' || text[l - 1] == ' '))
			l--;
		if (l && size >= l)
			b->st->pub.abort_message = bd_arena_strndup(b->a, text, l);
		return;
	}
}

/* Arguments with the cookie hidden: -setcookie C, and the value after it. */
static const char *cmdline_text(bctx *b)
{
	const char *a = b->r->argv;
	size_t n = b->r->argv_len;
	if (!a || !n)
		return NULL;
	char *out = bd_arena_alloc(b->a, n * 2 + 16);
	if (!out)
		return NULL;
	size_t o = 0;
	int hide = 0;
	for (size_t i = 0; i < n;) {
		const char *arg = a + i;
		size_t l = strnlen(arg, n - i);
		if (o)
			out[o++] = ' ';
		if (hide) {
			memcpy(out + o, BD_SECRET_SHOWN, sizeof BD_SECRET_SHOWN - 1);
			o += sizeof BD_SECRET_SHOWN - 1;
			hide = 0;
		} else {
			for (size_t k = 0; k < l; k++)
				out[o++] = (unsigned char)arg[k] < 0x20 ? '?' : arg[k];
			hide = l == 10 && !memcmp(arg, "-setcookie", 10);
		}
		i += l + 1;
	}
	out[o] = 0;
	return out;
}

/* The OTP release of the install the executable is in (ROOT/erts-V/bin/beam.smp):
 * ROOT/releases/start_erl.data says "ERTS_VSN OTP_REL" (best-effort: this machine's
 * files, with the sysroot; used only when its ERTS version is the executable's). */
static void otp_release(bctx *b, bd_node_info *ni)
{
	if (!b->exe || !ni->erts_version || ni->otp_release)
		return;
	const char *e = strstr(b->exe->path, "/erts-");
	if (!e)
		return;
	const char *path = bd_arena_printf(b->a, "%s%.*s/releases/start_erl.data",
					   b->o->sysroot ? b->o->sysroot : "", (int)(e - b->exe->path),
					   b->exe->path);
	FILE *f = path ? fopen_regular(path) : NULL;
	char erts[64], rel[64];
	if (f && fscanf(f, "%63s %63s", erts, rel) == 2 && !strcmp(erts, ni->erts_version))
		ni->otp_release = bd_arena_strdup(b->a, rel);
	if (f)
		fclose(f);
}

/* The node name and ERTS version for the model's node table. */
static void fill_node(bctx *b)
{
	bd_node_info *ni = &b->m->node;
	const bd_native *p = &b->st->pub;
	ni->source = p->source;
	/* The executable's own etp_erts_version / etp_otp_release strings (exported for
	 * the etp debugger macros), else the erts-VSN directory it lives in. */
	if (b->exe && b->exe->obj) {
		static const char *const sym[2] = {"etp_erts_version", "etp_otp_release"};
		for (int k = 0; k < 2; k++) {
			uint64_t at = nat_obj_lookup(b->exe->obj, sym[k], NULL);
			char v[24];
			size_t got = at ? nat_obj_read(b->exe->obj, at, v, sizeof v - 1) : 0;
			v[got] = 0;
			size_t l = strnlen(v, got);
			int ok = l > 0 && l < got;
			for (size_t i = 0; ok && i < l; i++)
				ok = (v[i] >= '0' && v[i] <= '9') || v[i] == '.';
			if (ok && !k)
				ni->erts_version = bd_arena_strndup(b->a, v, l);
			else if (ok)
				ni->otp_release = bd_arena_strndup(b->a, v, l);
		}
	}
	if (b->exe && !ni->erts_version) {
		const char *e = strstr(b->exe->path, "/erts-");
		if (e) {
			const char *v = e + 6, *end = strchr(v, '/');
			if (end && end - v < 20)
				ni->erts_version = bd_arena_strndup(b->a, v, (size_t)(end - v));
		}
	}
	const char *a = b->r->argv;
	size_t n = b->r->argv_len;
	for (size_t i = 0; a && i < n;) {
		const char *arg = a + i;
		size_t l = strnlen(arg, n - i);
		size_t nx = i + l + 1;
		if ((!strcmp(arg, "-sname") || !strcmp(arg, "-name")) && nx < n) {
			const char *v = a + nx;
			size_t vl = strnlen(v, n - nx);
			ni->node_name = strchr(v, '@') || !strcmp(arg, "-name")
						? bd_arena_strndup(b->a, v, vl)
						: bd_arena_printf(b->a, "%.*s@?", (int)vl, v);
		}
		i = nx;
	}
	if (!ni->node_name)
		ni->node_name = "nonode@nohost";
	otp_release(b, ni);
	ni->slogan = bd_arena_printf(b->a, "Native crash: %s%s%s (no erl_crash.dump: %s)",
				     p->signal_name ? p->signal_name : "signal ?",
				     p->fault_addr != BD_UNKNOWN ? " at " : "",
				     p->fault_addr != BD_UNKNOWN ? bd_arena_printf(b->a, "0x%llx", (unsigned long long)p->fault_addr) : "",
				     !strcmp(p->source ? p->source : "", "guard") ? "crash guard snapshot" : "ELF core");
	if (p->time != INT64_MIN) {
		ni->created_unix = p->time;
		time_t tt = (time_t)p->time;
		struct tm tm;
		char buf[64];
		if (gmtime_r(&tt, &tm) && strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y UTC", &tm))
			ni->created = bd_arena_strdup(b->a, buf);
	}
	ni->word_size = 8;
}

/* The whole argv from the main thread's stack, where the kernel put it: the
 * pointers to it end just before the environment, then the auxiliary vector. */
static void read_argv(bctx *b)
{
	nat_raw *r = b->r;
	if (!r->auxv_execfn)
		return;
	const nat_map *rg = find_in(&r->regions, r->auxv_execfn);
	if (!rg)
		return;
	/* argv strings start the string area; find it back from AT_EXECFN: the area holds
	 * argv then envp strings then execfn. Read the whole region top. */
	uint64_t top = rg->end, lo = top > (256u << 10) ? top - (256u << 10) : rg->start;
	if (lo < rg->start)
		lo = rg->start;
	size_t len = (size_t)(top - lo);
	uint8_t *mem = malloc(len);
	if (!mem || mem_read(b, lo, mem, len) != len) {
		free(mem);
		return;
	}
	/* Find argc: a word k followed by k pointers to strings that lie end to end in
	 * the string area, and a NULL. */
	for (size_t off = 0; off + 16 <= len; off += 8) {
		uint64_t argc;
		memcpy(&argc, mem + off, 8);
		if (argc == 0 || argc > 4096 || off + 8 * (argc + 2) > len)
			continue;
		uint64_t a0, nul, p;
		memcpy(&a0, mem + off + 8, 8);
		memcpy(&nul, mem + off + 8 * (argc + 1), 8);
		if (nul || a0 <= lo + off || a0 >= top)
			continue;
		p = a0;
		uint64_t k;
		for (k = 0; k < argc; k++) {
			uint64_t ak;
			memcpy(&ak, mem + off + 8 * (k + 1), 8);
			if (ak != p || ak >= top)
				break;
			p = ak + strnlen((const char *)mem + (ak - lo), (size_t)(top - ak)) + 1;
		}
		if (k < argc || p > top || p - a0 > (1u << 20))
			continue;
		/* The environment strings follow the arguments' (the kernel copies both), and
		 * the arguments are text. */
		uint64_t env0;
		size_t env_at = off + 8 * (argc + 2);
		if (env_at + 8 > len)
			continue;
		memcpy(&env0, mem + env_at, 8);
		if (env0 != p)
			continue;
		int text = 1;
		for (uint64_t q = a0; q < p - 1 && text; q++) {
			uint8_t ch = mem[q - lo];
			text = ch == 0 || ch >= 0x20;
		}
		if (!text || !mem[a0 - lo])
			continue;
		r->argv = bd_arena_strndup(b->a, (const char *)mem + (a0 - lo), (size_t)(p - a0));
		r->argv_len = (size_t)(p - a0);
		break;
	}
	free(mem);
}

int bd_native_build(bd_model *m, nat_raw *r, const bd_core_opts *o, bd_error *err)
{
	static const bd_core_opts def = BD_CORE_OPTS_INIT;
	if (!o)
		o = &def;
	struct bd_native_store *st = bd_native_store_new();
	if (!st)
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	bctx b = {.m = m, .r = r, .o = o, .a = &m->arena, .st = st, .frames_left = MAX_TOTAL_FRAMES};
	b.uf = malloc(MAX_FRAMES * sizeof(nat_uframe));
	b.uf_of = malloc(MAX_FRAMES * sizeof(uint32_t));
	if (!b.uf || !b.uf_of) {
		free(b.uf);
		free(b.uf_of);
		bd_native_store_free(st);
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	}
	st->pub.source = r->source;
	const char **rn = r->notes.data;
	for (size_t i = 0; i < r->notes.len; i++)
		note(&b, r->partial, "%s", rn[i]);
	collect_objects(&b);
	open_objects(&b);
	if (b.exe) {
		const char *base = strrchr(b.exe->path, '/');
		b.beam = !strncmp(base ? base + 1 : b.exe->path, "beam", 4);
	}
	if (!strcmp(r->source, "core"))
		read_argv(&b);
	st->pub.exe = b.exe ? b.exe->path : r->exe;
	st->pub.cmdline = cmdline_text(&b);
	fill_signal(&b);
	abort_message(&b);
	fill_node(&b);
	load_jit_table(&b);
	load_perf_map(&b);
	const nat_thread *th = r->threads.data;
	for (size_t i = 0; i < r->threads.len; i++)
		do_thread(&b, &th[i], r->crashed_tid && th[i].tid == r->crashed_tid);
	classify(&b);
	bd_native_thread *t = st->threads.data;
	for (size_t i = 0; i < st->threads.len; i++) {
		if (!t[i].crashed)
			continue;
		st->pub.crashed = (int32_t)i;
		entry_callback(&b, &t[i]);
		if (st->pub.callback && !strcmp(st->pub.callback, "resource")) {
			/* the process the scheduler was switching from did not call it */
			t[i].erlang_process = NULL;
			t[i].erlang_function = NULL;
		}
		st->pub.in_vm = t[i].frame_count && frame_in_vm(thread_frames(st, &t[i]));
		uint64_t lo, hi;
		stack_bounds(&b, t[i].sp, &lo, &hi);
		uint64_t fa = st->pub.fault_addr;
		if (st->pub.signal == 11 && fa != BD_UNKNOWN && lo && fa < lo && lo - fa <= (1u << 20) &&
		    (t[i].sp <= lo + 4096 || t[i].sp - fa < 65536))
			st->pub.stack_overflow = 1;
		fault_detail(&b, &t[i]);
	}
	if (st->pub.crashed < 0)
		note(&b, 0, "the crashing thread is unknown");
	if (!b.beam)
		note(&b, 0, "%s is not the BEAM (beam.smp): no Erlang threads or NIFs to find",
		     b.exe ? b.exe->path : "the executable");
	else if (b.exe && b.exe->obj && !b.njit && !b.nperf)
		note(&b, 0, "JIT code has no names: no JIT table in the core and no perf map "
			    "(start the node with +JPperf map to get one)");
	free(b.uf);
	free(b.uf_of);
	free(b.jit);
	free(b.perf);
	for (size_t i = 0; i < b.nobjs; i++)
		nat_obj_close(b.objs[i].obj);
	bd_native_store_publish(st);
	m->native = st;
	return 0;
}

int bd_native_read_core(bd_model *m, bd_error *err)
{
	nat_raw r;
	nat_raw_init(&r, &m->arena);
	int rc = bd_elfcore_parse(&r, m->base, m->size, m->src->name, err);
	if (!rc) {
		/* The core file's time (the original's, not a decompressed copy's). */
		struct stat st;
		if (!stat(m->src->name, &st) || (m->src->fd >= 0 && !fstat(m->src->fd, &st)))
			r.time = st.st_mtime;
		rc = bd_native_build(m, &r, m->native_opts, err);
	}
	nat_raw_free(&r);
	return rc;
}
