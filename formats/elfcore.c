/* ELF core files (Linux, x86-64): the notes of every thread (NT_PRSTATUS), the
 * signal (NT_SIGINFO), the process (NT_PRPSINFO), the mapped files (NT_FILE), the
 * auxiliary vector (NT_AUXV), and a reader over the memory segments. The core is
 * hostile input: every offset and count is checked against the bytes that are there,
 * and a cut core gives what precedes the cut (with a note). libelf reads the header
 * and program headers; the notes are walked by hand so a note segment cut in the
 * middle still gives its complete notes. */
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beamdump/container.h"
#include "native_int.h"

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif
#ifndef NT_SIGINFO
#define NT_SIGINFO 0x53494749
#endif

enum {
	PRSTATUS_SIZE = 336,     /* struct elf_prstatus on x86-64 */
	PRSTATUS_REGS = 112,     /* pr_reg: 27 registers of user_regs_struct */
	PRPSINFO_SIZE = 136,
	MAX_THREADS = 1 << 16,
	MAX_MAPS = 1 << 20,
};

typedef struct core_seg {
	uint64_t vaddr, memsz, off, filesz; /* filesz: bytes present in the file */
} core_seg;

typedef struct core_mem {
	const uint8_t *data;
	uint64_t size;
	core_seg *segs;
	size_t nsegs;
} core_mem;

int bd_elfcore_is(const char *data, uint64_t size)
{
	return size >= 18 && memcmp(data, ELFMAG, SELFMAG) == 0 && data[EI_CLASS] == ELFCLASS64 &&
	       data[EI_DATA] == ELFDATA2LSB && (uint8_t)data[16] == ET_CORE && data[17] == 0;
}

static size_t core_read(void *ctx, uint64_t addr, void *buf, size_t n)
{
	core_mem *cm = ctx;
	size_t done = 0;
	uint8_t *out = buf;
	while (done < n) {
		uint64_t a = addr + done;
		/* Segments are sorted by vaddr: binary search the last one at or below a. */
		size_t lo = 0, hi = cm->nsegs;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (cm->segs[mid].vaddr <= a)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (!lo)
			break;
		const core_seg *s = &cm->segs[lo - 1];
		uint64_t in = a - s->vaddr;
		if (in >= s->filesz)
			break;
		uint64_t take = s->filesz - in;
		if (take > n - done)
			take = n - done;
		memcpy(out + done, cm->data + s->off + in, (size_t)take);
		done += (size_t)take;
	}
	return done;
}

static int seg_cmp(const void *a, const void *b)
{
	const core_seg *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/* prstatus pr_reg order (user_regs_struct) -> DWARF numbering. */
static const int8_t user_to_dwarf[27] = {
	NR_R15, NR_R14, NR_R13, NR_R12, NR_RBP, NR_RBX, NR_R11, NR_R10, NR_R9, NR_R8,
	NR_RAX, NR_RCX, NR_RDX, NR_RSI, NR_RDI, -1 /* orig_rax */, NR_RIP, -1 /* cs */,
	-1 /* eflags */, NR_RSP, -1 /* ss */, -1 /* fs_base */, -1, -1, -1, -1, -1};

static void note_prstatus(nat_raw *r, const uint8_t *d, size_t n)
{
	if (n < PRSTATUS_SIZE - 8 || r->threads.len >= MAX_THREADS)
		return;
	nat_thread *t = bd_vec_push(&r->threads);
	if (!t)
		return;
	t->cursig = (int16_t)bd_get16(d + 12);
	t->tid = bd_get32(d + 32);
	t->has_regs = 1;
	for (int i = 0; i < 27; i++) {
		uint64_t v = bd_get64(d + PRSTATUS_REGS + 8 * i);
		if (user_to_dwarf[i] >= 0) {
			t->regs.r[user_to_dwarf[i]] = v;
			t->regs.valid |= 1u << user_to_dwarf[i];
		}
		if (i == 21)
			t->fs_base = v;
	}
}

static void note_siginfo(nat_raw *r, const uint8_t *d, size_t n)
{
	if (n < 24)
		return;
	r->have_siginfo = 1;
	r->signo = (int32_t)bd_get32(d);
	r->sig_code = (int32_t)bd_get32(d + 8);
	/* si_addr for faults; si_pid for kill/tkill/queue (si_code <= 0). */
	if (r->sig_code > 0)
		r->sig_addr = bd_get64(d + 16);
	else
		r->sig_sender = bd_get32(d + 16);
}

static void note_prpsinfo(nat_raw *r, const uint8_t *d, size_t n)
{
	if (n < PRPSINFO_SIZE)
		return;
	r->pid = bd_get32(d + 24);
	size_t l = strnlen((const char *)d + 40, 16);
	r->comm = bd_arena_strndup(r->arena, (const char *)d + 40, l);
	if (!r->argv) {
		/* First 80 bytes of the arguments, spaces between them: the whole argv is
		 * read from the stack later when it can be. */
		l = strnlen((const char *)d + 56, 80);
		char *a = bd_arena_strndup(r->arena, (const char *)d + 56, l);
		if (a) {
			for (char *p = a; *p; p++)
				if (*p == ' ')
					*p = 0;
			r->argv = a;
			r->argv_len = l;
		}
	}
}

static void note_auxv(nat_raw *r, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i + 16 <= n; i += 16) {
		uint64_t k = bd_get64(d + i), v = bd_get64(d + i + 8);
		if (k == 0)
			break;
		switch (k) {
		case 3: r->auxv_phdr = v; break;      /* AT_PHDR */
		case 9: r->auxv_entry = v; break;     /* AT_ENTRY */
		case 31: r->auxv_execfn = v; break;   /* AT_EXECFN */
		case 33: r->auxv_vdso = v; break;     /* AT_SYSINFO_EHDR */
		}
	}
}

static int map_cmp(const void *a, const void *b)
{
	const nat_map *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* NT_FILE: count, page size, count x (start, end, page offset), then the names. */
static void note_file(nat_raw *r, const uint8_t *d, size_t n)
{
	if (n < 16)
		return;
	uint64_t count = bd_get64(d), page = bd_get64(d + 8);
	if (count > MAX_MAPS || count > (n - 16) / 24 || page == 0 || page > (1u << 30))
		return nat_raw_note(r, 1, "core: NT_FILE note is damaged (%llu entries): mapped files unknown",
				    (unsigned long long)count);
	const char *names = (const char *)d + 16 + count * 24, *end = (const char *)d + n;
	for (uint64_t i = 0; i < count && names < end; i++) {
		const uint8_t *e = d + 16 + i * 24;
		size_t l = strnlen(names, (size_t)(end - names));
		nat_map *mp = bd_vec_push(&r->maps);
		if (!mp)
			break;
		mp->start = bd_get64(e);
		mp->end = bd_get64(e + 8);
		mp->pgoff = bd_get64(e + 16) * page;
		mp->path = bd_arena_strndup(r->arena, names, l);
		if (mp->end < mp->start)
			mp->end = mp->start;
		names += l + 1;
	}
}

static void walk_notes(nat_raw *r, const uint8_t *p, size_t n)
{
	size_t off = 0;
	while (off + 12 <= n) {
		uint32_t namesz = bd_get32(p + off), descsz = bd_get32(p + off + 4),
			 type = bd_get32(p + off + 8);
		size_t name_at = off + 12;
		size_t desc_at = name_at + (((size_t)namesz + 3) & ~(size_t)3);
		if (namesz > n || descsz > n || desc_at > n || descsz > n - desc_at)
			return nat_raw_note(r, 1, "core: note segment cut or damaged at note offset %zu", off);
		const uint8_t *desc = p + desc_at;
		int core = namesz >= 4 && !memcmp(p + name_at, "CORE", 4);
		if (core && type == 1 /* NT_PRSTATUS */)
			note_prstatus(r, desc, descsz);
		else if (core && type == 3 /* NT_PRPSINFO */)
			note_prpsinfo(r, desc, descsz);
		else if (core && type == NT_SIGINFO)
			note_siginfo(r, desc, descsz);
		else if (core && type == 6 /* NT_AUXV */)
			note_auxv(r, desc, descsz);
		else if (core && type == NT_FILE)
			note_file(r, desc, descsz);
		off = desc_at + (((size_t)descsz + 3) & ~(size_t)3);
	}
}

/* The kernel writes the faulting thread's NT_PRSTATUS first; put a thread stopped by
 * the fatal signal first if the order says nothing. */
static void find_crashed(nat_raw *r)
{
	if (!r->threads.len)
		return;
	nat_thread *t = r->threads.data;
	r->crashed_tid = t[0].tid;
	if (r->have_siginfo && t[0].cursig != r->signo) {
		for (size_t i = 1; i < r->threads.len; i++)
			if (t[i].cursig == r->signo) {
				nat_thread tmp = t[0];
				t[0] = t[i];
				t[i] = tmp;
				r->crashed_tid = t[0].tid;
				break;
			}
	}
}

int bd_elfcore_parse(nat_raw *r, const char *data, uint64_t size, const char *name,
		     bd_error *err)
{
	if (!bd_elfcore_is(data, size)) {
		static const char *const types[] = {"no file type", "a relocatable object",
						    "an executable", "a shared object or PIE executable"};
		unsigned t = size >= 18 ? (uint8_t)data[16] : 0;
		return bd_error_set(err, BD_EUNSUPPORTED, 0,
				    "%s: an ELF file but not a core file (%s); a 64-bit "
				    "little-endian core is needed",
				    name, t < 4 ? types[t] : "unknown type");
	}
	elf_version(EV_CURRENT);
	Elf *e = elf_memory((char *)data, (size_t)size);
	GElf_Ehdr eh;
	size_t nph = 0;
	if (!e || !gelf_getehdr(e, &eh) || elf_getphdrnum(e, &nph) != 0) {
		if (e)
			elf_end(e);
		return bd_error_set(err, BD_EUNSUPPORTED, 0, "%s: ELF core header unreadable: %s",
				    name, elf_errmsg(-1));
	}
	if (eh.e_machine != EM_X86_64) {
		elf_end(e);
		return bd_error_set(err, BD_EUNSUPPORTED, 0,
				    "%s: core of an unsupported architecture (ELF machine %u; x86-64 only)",
				    name, (unsigned)eh.e_machine);
	}
	r->source = "core";
	core_mem *cm = bd_arena_alloc(r->arena, sizeof *cm);
	bd_vec segs = BD_VEC_INIT(core_seg, 1u << 22);
	uint64_t cut_at = 0, need = size;
	int notes = 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph))
			break;
		if (ph.p_offset + ph.p_filesz > need && ph.p_offset + ph.p_filesz >= ph.p_offset)
			need = ph.p_offset + ph.p_filesz; /* what the whole core would be */
		if (ph.p_type == PT_NOTE) {
			notes++;
			if (ph.p_offset >= size)
				continue;
			uint64_t n = ph.p_filesz;
			if (n > size - ph.p_offset) {
				n = size - ph.p_offset;
				cut_at = ph.p_offset + n;
			}
			walk_notes(r, (const uint8_t *)data + ph.p_offset, (size_t)n);
		} else if (ph.p_type == PT_LOAD) {
			nat_map *rg = bd_vec_push(&r->regions);
			if (rg) {
				rg->start = ph.p_vaddr;
				rg->end = ph.p_vaddr + ph.p_memsz;
				rg->prot = (ph.p_flags & PF_R ? NM_R : 0) | (ph.p_flags & PF_W ? NM_W : 0) |
					   (ph.p_flags & PF_X ? NM_X : 0);
			}
			core_seg *s = bd_vec_push(&segs);
			if (!s)
				break;
			s->vaddr = ph.p_vaddr;
			s->memsz = ph.p_memsz;
			s->off = ph.p_offset;
			s->filesz = ph.p_filesz;
			if (s->off >= size) {
				s->filesz = 0;
				if (ph.p_filesz && !cut_at)
					cut_at = size;
			} else if (s->filesz > size - s->off) {
				s->filesz = size - s->off;
				if (!cut_at)
					cut_at = size;
			}
		}
	}
	elf_end(e);
	if (cm) {
		if (segs.len)
			qsort(segs.data, segs.len, sizeof(core_seg), seg_cmp);
		cm->data = (const uint8_t *)data;
		cm->size = size;
		cm->segs = bd_arena_alloc(r->arena, segs.len * sizeof(core_seg) + 1);
		if (cm->segs && segs.len) {
			memcpy(cm->segs, segs.data, segs.len * sizeof(core_seg));
			cm->nsegs = segs.len;
		}
		r->read = core_read;
		r->read_ctx = cm;
	}
	bd_vec_free(&segs);
	if (!notes || !r->threads.len) {
		return bd_error_set(err, BD_EUNSUPPORTED, 0,
				    "%s: ELF core without thread notes (NT_PRSTATUS): nothing to read",
				    name);
	}
	if (cut_at)
		nat_raw_note(r, 1, "core: the file is cut at %llu of %llu bytes: memory after that is "
				   "unknown (the core size limit, ulimit -c / systemd LimitCORE=, or a full "
				   "disk stopped the kernel; raise it: ulimit -c unlimited)",
			     (unsigned long long)cut_at, (unsigned long long)need);
	if (r->regions.len)
		qsort(r->regions.data, r->regions.len, sizeof(nat_map), map_cmp);
	if (r->maps.len)
		qsort(r->maps.data, r->maps.len, sizeof(nat_map), map_cmp);
	else
		nat_raw_note(r, 1, "core: no NT_FILE note: which files were mapped is unknown");
	find_crashed(r);
	return 0;
}
