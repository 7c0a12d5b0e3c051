/* Objects on disk (elfobj.h): libelf for sections, notes, symbols and relocations;
 * libdwarf (the 2021 API of Debian bookworm's libdwarf-dev: dwarf_init_b with an
 * access argument, Dwarf_Regtable3) for call frame information and line tables.
 * Objects are trusted less than code but more than cores: every count is capped and
 * every libdwarf error is a "not known" answer, never a failure of the whole read. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libdwarf/dwarf.h>
#include <libdwarf/libdwarf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfobj.h"

enum {
	MAX_SYMS = 1 << 22,
	MAX_LINES = 1 << 23,
	MAX_RELOCS = 1 << 22,
	MAX_NIFS = 4096,
	RULES = 32,
};

typedef struct nsym {
	uint64_t addr, size;
	const char *name; /* raw (mangled) name in the ELF string table */
	uint8_t global;
} nsym;

typedef struct nline {
	uint64_t addr;
	const char *file;
	uint32_t line; /* 0: end of a sequence */
} nline;

typedef struct cfi_src {
	Dwarf_Debug dbg;
	Dwarf_Cie *cies;
	Dwarf_Fde *fdes;
	Dwarf_Signed ncies, nfdes;
	int loaded;
} cfi_src;

typedef struct oc_ent oc_ent;

struct nat_obj {
	bd_arena *arena; /* what the object keeps (symbols, line tables, NIF table) */
	bd_arena *out;   /* strings handed to the caller: its arena (nat_obj_get) */
	oc_ent *cache;   /* its entry when the object is cached */
	int debug_searched;       /* a separate debug file was looked for (cached objects) */
	const char *debug_path;   /* and found there */
	int fd;
	Elf *elf;
	const char *name;
	char build_id[129];
	uint64_t link_base;
	const char *debuglink;
	int has_dwarf;   /* .debug_info or .debug_line present */
	int has_symtab;
	nat_obj *debug;  /* separate debug file */
	/* symbols */
	int syms_loaded, symkind;
	nsym *syms;
	size_t nsyms;
	/* CFI: .eh_frame of this file, .debug_frame of this file or of the debug file */
	int dwarf_tried;
	Dwarf_Debug dbg;
	cfi_src eh, df;
	/* lines: the compilation unit of an address, found by .debug_aranges, read on
	 * demand (a libc debug file has hundreds of thousands of rows); without aranges
	 * every unit at once */
	int lines_loaded;
	nline *lines;
	size_t nlines;
	int ar_tried;
	Dwarf_Debug ar_dbg;
	Dwarf_Arange *ar;
	Dwarf_Signed nar;
	struct cu_lines {
		Dwarf_Off off;
		nline *lines;
		size_t n;
	} cus[32];
	int ncus;
	/* data symbols looked up by name (nat_obj_lookup scans the tables) */
	struct {
		const char *name;
		uint64_t addr, size;
	} looked[16];
	int nlooked;
	/* NIF table */
	int nif_loaded, is_nif;
	nat_nif_fn *nifs;
	size_t nnifs;
	const char *nif_module;
};

/* ---- opening ---- */
static void read_notes(nat_obj *o, const uint8_t *p, size_t n)
{
	size_t off = 0;
	while (off + 12 <= n) {
		uint32_t namesz, descsz, type;
		memcpy(&namesz, p + off, 4);
		memcpy(&descsz, p + off + 4, 4);
		memcpy(&type, p + off + 8, 4);
		size_t name_at = off + 12, desc_at = name_at + (((size_t)namesz + 3) & ~(size_t)3);
		if (namesz > n || descsz > n || desc_at > n || descsz > n - desc_at)
			return;
		if (type == NT_GNU_BUILD_ID && namesz == 4 && !memcmp(p + name_at, "GNU", 4) &&
		    descsz && descsz <= 64 && !o->build_id[0]) {
			for (uint32_t i = 0; i < descsz; i++)
				snprintf(o->build_id + 2 * i, 3, "%02x", p[desc_at + i]);
		}
		off = desc_at + (((size_t)descsz + 3) & ~(size_t)3);
	}
}

static void scan_sections(nat_obj *o)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(o->elf, &shstrndx) != 0)
		return;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(o->elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *nm = elf_strptr(o->elf, shstrndx, sh.sh_name);
		if (!nm)
			continue;
		if (sh.sh_type == SHT_NOTE) {
			Elf_Data *d = elf_getdata(scn, NULL);
			if (d && d->d_buf)
				read_notes(o, d->d_buf, d->d_size);
		} else if (sh.sh_type == SHT_SYMTAB) {
			o->has_symtab = 1;
		} else if (!strcmp(nm, ".gnu_debuglink") && sh.sh_type != SHT_NOBITS) {
			Elf_Data *d = elf_getdata(scn, NULL);
			if (d && d->d_buf && d->d_size > 4) {
				size_t l = strnlen(d->d_buf, d->d_size - 4);
				if (l && l < d->d_size - 4)
					o->debuglink = bd_arena_strndup(o->arena, d->d_buf, l);
			}
		} else if ((!strcmp(nm, ".debug_info") || !strcmp(nm, ".debug_line")) &&
			   sh.sh_type != SHT_NOBITS && sh.sh_size) {
			o->has_dwarf = 1;
		}
	}
}

static void scan_phdrs(nat_obj *o)
{
	size_t n;
	if (elf_getphdrnum(o->elf, &n) != 0)
		return;
	int have_base = 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(o->elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_LOAD && !have_base) {
			o->link_base = ph.p_vaddr - ph.p_offset;
			have_base = 1;
		} else if (ph.p_type == PT_NOTE && !o->build_id[0]) {
			uint8_t buf[1024];
			size_t l = ph.p_filesz < sizeof buf ? (size_t)ph.p_filesz : sizeof buf;
			if (pread(o->fd, buf, l, (off_t)ph.p_offset) == (ssize_t)l)
				read_notes(o, buf, l);
		}
	}
}

nat_obj *nat_obj_open(const char *path, bd_arena *a, const char **why)
{
	/* O_NONBLOCK: a path a hostile core names may be a FIFO, whose open would wait
	 * for a writer forever; it is refused below as not a regular file. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		*why = bd_arena_printf(a, "%s", strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*why = "not a regular file";
		return NULL;
	}
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr eh;
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh) ||
	    (eh.e_type != ET_DYN && eh.e_type != ET_EXEC) || eh.e_machine != EM_X86_64 ||
	    gelf_getclass(e) != ELFCLASS64) {
		if (e)
			elf_end(e);
		close(fd);
		*why = "not an x86-64 ELF executable or shared object";
		return NULL;
	}
	nat_obj *o = bd_arena_alloc(a, sizeof *o);
	if (!o) {
		elf_end(e);
		close(fd);
		*why = "out of memory";
		return NULL;
	}
	o->arena = a;
	o->out = a;
	o->fd = fd;
	o->elf = e;
	o->name = bd_arena_strdup(a, path);
	scan_sections(o);
	scan_phdrs(o);
	return o;
}

nat_obj *nat_obj_open_image(const uint8_t *img, size_t len, const char *name, bd_arena *a,
			    const char **why)
{
	int fd = memfd_create("beamdump-image", MFD_CLOEXEC);
	if (fd < 0) {
		*why = "memfd_create failed";
		return NULL;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, img + done, len - done);
		if (w <= 0) {
			close(fd);
			*why = "cannot copy the image";
			return NULL;
		}
		done += (size_t)w;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	nat_obj *o = nat_obj_open(path, a, why);
	close(fd);
	if (o)
		o->name = bd_arena_strdup(a, name);
	return o;
}

static void cfi_free(cfi_src *c)
{
	if (c->loaded == 1 && c->dbg)
		dwarf_fde_cie_list_dealloc(c->dbg, c->cies, c->ncies, c->fdes, c->nfdes);
	memset(c, 0, sizeof *c);
}

static void oc_release(nat_obj *o);

void nat_obj_close(nat_obj *o)
{
	if (!o)
		return;
	if (o->cache) {
		oc_release(o);
		return;
	}
	cfi_free(&o->eh);
	cfi_free(&o->df);
	if (o->ar) {
		for (Dwarf_Signed i = 0; i < o->nar; i++)
			dwarf_dealloc(o->ar_dbg, o->ar[i], DW_DLA_ARANGE);
		dwarf_dealloc(o->ar_dbg, o->ar, DW_DLA_LIST);
		o->ar = NULL;
	}
	if (o->dbg) {
		Dwarf_Error e = 0;
		dwarf_finish(o->dbg, &e);
	}
	o->dbg = NULL;
	free(o->syms);
	free(o->lines);
	free(o->nifs);
	for (int i = 0; i < o->ncus; i++)
		free(o->cus[i].lines);
	o->ncus = 0;
	o->syms = NULL;
	o->lines = NULL;
	o->nifs = NULL;
	if (o->elf)
		elf_end(o->elf);
	o->elf = NULL;
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	nat_obj_close(o->debug);
	o->debug = NULL;
}

const char *nat_obj_build_id(const nat_obj *o) { return o->build_id; }
uint64_t nat_obj_link_base(const nat_obj *o) { return o->link_base; }
const char *nat_obj_debuglink(const nat_obj *o) { return o->debuglink; }
int nat_obj_has_dwarf(const nat_obj *o) { return o->has_dwarf || (o->debug && o->debug->has_dwarf); }

int nat_obj_attach_debug(nat_obj *o, nat_obj *dbg)
{
	if (!dbg || o->debug)
		return -1;
	o->debug = dbg;
	return 0;
}

bd_arena *nat_obj_arena(nat_obj *o) { return o->arena; }

int nat_obj_debug_search(const nat_obj *o, const char **path)
{
	if (!o->debug_searched)
		return 0;
	*path = o->debug_path ? bd_arena_strdup(o->out, o->debug_path) : NULL;
	return 1;
}

void nat_obj_debug_searched(nat_obj *o, const char *path)
{
	if (!o->cache)
		return;
	o->debug_searched = 1;
	o->debug_path = bd_arena_strdup(o->arena, path);
}

/* A string of the object for the caller: in the caller's arena when the object is
 * cached (it may be closed before the caller's model is). */
static const char *give(nat_obj *o, const char *s)
{
	return s && o->out != o->arena ? bd_arena_strdup(o->out, s) : s;
}

/* ---- reading the file by link-time address ---- */
size_t nat_obj_read(nat_obj *o, uint64_t addr, void *buf, size_t n)
{
	size_t nph;
	if (elf_getphdrnum(o->elf, &nph) != 0)
		return 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(o->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (addr < ph.p_vaddr || addr - ph.p_vaddr >= ph.p_filesz)
			continue;
		uint64_t in = addr - ph.p_vaddr;
		size_t take = ph.p_filesz - in < n ? (size_t)(ph.p_filesz - in) : n;
		ssize_t r = pread(o->fd, buf, take, (off_t)(ph.p_offset + in));
		return r > 0 ? (size_t)r : 0;
	}
	return 0;
}

/* ---- symbols ---- */
static int sym_cmp(const void *a, const void *b)
{
	const nsym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Prefer sized, then global symbols first at one address. */
	if ((x->size != 0) != (y->size != 0))
		return x->size ? -1 : 1;
	return (int)y->global - (int)x->global;
}

static void load_symtab(nat_obj *o, Elf *elf, Elf32_Word type, bd_vec *out)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		size_t n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < n && out->len < MAX_SYMS; i++) {
			GElf_Sym s;
			if (!gelf_getsym(d, (int)i, &s))
				break;
			int t = GELF_ST_TYPE(s.st_info);
			if ((t != STT_FUNC && t != STT_GNU_IFUNC && t != STT_OBJECT) || s.st_shndx == SHN_UNDEF ||
			    !s.st_value)
				continue;
			const char *nm = elf_strptr(elf, sh.sh_link, s.st_name);
			if (!nm || !*nm)
				continue;
			/* Of the data, only C++ type_info objects ("typeinfo for T"): they name
			 * an uncaught exception's type. */
			if (t == STT_OBJECT && strncmp(nm, "_ZTI", 4))
				continue;
			nsym *y = bd_vec_push(out);
			if (!y)
				return;
			y->addr = s.st_value;
			y->size = s.st_size;
			y->name = bd_arena_strdup(o->arena, nm);
			y->global = GELF_ST_BIND(s.st_info) != STB_LOCAL;
		}
	}
}

static void load_syms(nat_obj *o)
{
	if (o->syms_loaded)
		return;
	o->syms_loaded = 1;
	bd_vec v = BD_VEC_INIT(nsym, MAX_SYMS);
	if (o->has_symtab) {
		load_symtab(o, o->elf, SHT_SYMTAB, &v);
		o->symkind = 2;
	} else if (o->debug && o->debug->has_symtab) {
		load_symtab(o, o->debug->elf, SHT_SYMTAB, &v);
		o->symkind = 2;
	}
	/* .dynsym too: a .symtab may lack nothing, but a stripped file has only this. */
	size_t before = v.len;
	load_symtab(o, o->elf, SHT_DYNSYM, &v);
	if (!o->symkind && v.len > before)
		o->symkind = 1;
	if (v.len)
		qsort(v.data, v.len, sizeof(nsym), sym_cmp);
	/* Keep the best symbol per address. */
	nsym *s = v.data;
	size_t k = 0;
	for (size_t i = 0; i < v.len; i++)
		if (!k || s[k - 1].addr != s[i].addr)
			s[k++] = s[i];
	o->syms = s;
	o->nsyms = k;
}

int nat_obj_symbol_kind(nat_obj *o)
{
	load_syms(o);
	return o->symkind;
}

extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

const char *nat_demangle(bd_arena *a, const char *s)
{
	if (!s || strncmp(s, "_Z", 2))
		return s;
	int st = 0;
	char *d = __cxa_demangle(s, NULL, NULL, &st);
	if (!d || st)
		return s;
	/* Cut the argument list: "f(int, char*)" -> "f"; keep "operator()". */
	char *cut = NULL;
	int depth = 0;
	for (char *p = d; *p; p++) {
		if (*p == '<')
			depth++;
		else if (*p == '>' && depth)
			depth--;
		else if (*p == '(' && !depth) {
			if (p >= d + 8 && !strncmp(p - 8, "operator", 8) && p[1] == ')') {
				p++;
				continue;
			}
			cut = p;
			break;
		}
	}
	size_t len = cut ? (size_t)(cut - d) : strlen(d);
	/* Rust's legacy mangling ends in a hash: "my_crate::parse::h0123456789abcdef" */
	if (len > 19 && !strncmp(d + len - 19, "::h", 3)) {
		int hex = 1;
		for (size_t i = len - 16; i < len && hex; i++)
			hex = (d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f');
		if (hex)
			len -= 19;
	}
	const char *r = bd_arena_strndup(a, d, len);
	free(d);
	return r ? r : s;
}

const char *nat_demangle_type(bd_arena *a, const char *s)
{
	int st = 0;
	char *d = s ? __cxa_demangle(s, NULL, NULL, &st) : NULL;
	if (!d || st) {
		free(d);
		return NULL;
	}
	const char *r = bd_arena_strdup(a, d);
	free(d);
	return r;
}

const char *nat_obj_symbol(nat_obj *o, uint64_t addr, uint64_t *start)
{
	load_syms(o);
	size_t lo = 0, hi = o->nsyms;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (o->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Sized symbols can nest (aliases, local labels): look back a little. */
	for (size_t k = lo; k > 0 && lo - k < 8; k--) {
		const nsym *y = &o->syms[k - 1];
		if (y->size ? addr < y->addr + y->size : 0) {
			*start = y->addr;
			const char *d = nat_demangle(o->out, y->name);
			return d == y->name ? give(o, d) : d;
		}
	}
	return NULL;
}

static uint64_t lookup(nat_obj *o, const char *name, uint64_t *size);

/* Remembered per object: a cached object is asked the same names for every core. */
uint64_t nat_obj_lookup(nat_obj *o, const char *name, uint64_t *size)
{
	for (int i = 0; i < o->nlooked; i++)
		if (!strcmp(o->looked[i].name, name)) {
			if (size)
				*size = o->looked[i].size;
			return o->looked[i].addr;
		}
	uint64_t sz = 0, at = lookup(o, name, &sz);
	if (o->nlooked < 16) {
		const char *keep = bd_arena_strdup(o->arena, name);
		if (keep) {
			o->looked[o->nlooked].name = keep;
			o->looked[o->nlooked].addr = at;
			o->looked[o->nlooked++].size = sz;
		}
	}
	if (size)
		*size = sz;
	return at;
}

static uint64_t lookup(nat_obj *o, const char *name, uint64_t *size)
{
	load_syms(o);
	/* Data symbols are not in syms (functions only): look in .dynsym directly. */
	for (int pass = 0; pass < 2; pass++) {
		Elf *elf = o->elf;
		Elf_Scn *scn = NULL;
		while ((scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh) || !sh.sh_entsize ||
			    sh.sh_type != (pass ? SHT_SYMTAB : SHT_DYNSYM))
				continue;
			Elf_Data *d = elf_getdata(scn, NULL);
			size_t n = sh.sh_size / sh.sh_entsize;
			for (size_t i = 0; d && i < n && i < MAX_SYMS; i++) {
				GElf_Sym s;
				if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF)
					continue;
				const char *nm = elf_strptr(elf, sh.sh_link, s.st_name);
				if (nm && !strcmp(nm, name)) {
					if (size)
						*size = s.st_size;
					return s.st_value;
				}
			}
		}
	}
	return 0;
}

/* ---- libdwarf ---- */
static void dw_drop(Dwarf_Debug dbg, Dwarf_Error e)
{
	if (e)
		dwarf_dealloc_error(dbg, e);
}

static Dwarf_Debug dw_open(nat_obj *o)
{
	if (o->dwarf_tried)
		return o->dbg;
	o->dwarf_tried = 1;
	Dwarf_Error e = 0;
	Dwarf_Debug dbg = NULL;
	int rc = dwarf_init_b(o->fd, DW_DLC_READ, DW_GROUPNUMBER_ANY, NULL, NULL, &dbg, &e);
	if (rc != DW_DLV_OK) {
		if (rc == DW_DLV_ERROR)
			dw_drop(NULL, e);
		return NULL;
	}
	/* x86-64: registers without a rule keep their value (callee-saved ones). */
	dwarf_set_frame_rule_initial_value(dbg, DW_FRAME_SAME_VAL);
	dwarf_set_frame_rule_table_size(dbg, RULES);
	o->dbg = dbg;
	return dbg;
}

static void cfi_load(cfi_src *c, Dwarf_Debug dbg, int eh)
{
	if (c->loaded)
		return;
	c->loaded = -1;
	if (!dbg)
		return;
	Dwarf_Error e = 0;
	int rc = eh ? dwarf_get_fde_list_eh(dbg, &c->cies, &c->ncies, &c->fdes, &c->nfdes, &e)
		    : dwarf_get_fde_list(dbg, &c->cies, &c->ncies, &c->fdes, &c->nfdes, &e);
	if (rc == DW_DLV_OK) {
		c->dbg = dbg;
		c->loaded = 1;
	} else if (rc == DW_DLV_ERROR) {
		dw_drop(dbg, e);
	}
}

static void rule_from(nat_cfi_rule *r, const Dwarf_Regtable_Entry3 *x)
{
	memset(r, 0, sizeof *r);
	switch (x->dw_value_type) {
	case DW_EXPR_OFFSET:
		if (x->dw_offset_relevant) {
			r->kind = NCR_OFFSET;
			r->off = (Dwarf_Signed)x->dw_offset_or_block_len;
		} else if (x->dw_regnum == DW_FRAME_SAME_VAL) {
			r->kind = NCR_SAME;
		} else if (x->dw_regnum == DW_FRAME_UNDEFINED_VAL || x->dw_regnum >= 17) {
			r->kind = NCR_UNDEF;
		} else {
			r->kind = NCR_REG;
			r->reg = x->dw_regnum;
		}
		break;
	case DW_EXPR_VAL_OFFSET:
		r->kind = NCR_VAL_OFFSET;
		r->off = (Dwarf_Signed)x->dw_offset_or_block_len;
		break;
	case DW_EXPR_EXPRESSION:
	case DW_EXPR_VAL_EXPRESSION:
		r->kind = x->dw_value_type == DW_EXPR_EXPRESSION ? NCR_EXPR : NCR_VAL_EXPR;
		r->expr = x->dw_block_ptr;
		r->expr_len = (size_t)x->dw_offset_or_block_len;
		break;
	default:
		r->kind = NCR_UNDEF;
	}
}

/* The FDE of c that covers pc, and where its function starts; -1 when none does. */
static int fde_at(cfi_src *c, uint64_t pc, Dwarf_Fde *fde, Dwarf_Addr *lo)
{
	if (c->loaded != 1 || !c->nfdes)
		return -1;
	Dwarf_Error e = 0;
	Dwarf_Addr hi;
	int rc = dwarf_get_fde_at_pc(c->fdes, pc, fde, lo, &hi, &e);
	if (rc != DW_DLV_OK) {
		if (rc == DW_DLV_ERROR)
			dw_drop(c->dbg, e);
		return -1;
	}
	return 0;
}

static int cfi_row(cfi_src *c, uint64_t pc, nat_cfi *out)
{
	Dwarf_Error e = 0;
	Dwarf_Fde fde;
	Dwarf_Addr lo;
	if (fde_at(c, pc, &fde, &lo))
		return -1;
	Dwarf_Regtable_Entry3 rules[RULES];
	Dwarf_Regtable3 rt;
	memset(&rt, 0, sizeof rt);
	memset(rules, 0, sizeof rules);
	rt.rt3_reg_table_size = RULES;
	rt.rt3_rules = rules;
	Dwarf_Addr row;
	int rc = dwarf_get_fde_info_for_all_regs3(fde, pc, &rt, &row, &e);
	if (rc != DW_DLV_OK) {
		if (rc == DW_DLV_ERROR)
			dw_drop(c->dbg, e);
		return -1;
	}
	memset(out, 0, sizeof *out);
	const Dwarf_Regtable_Entry3 *cf = &rt.rt3_cfa_rule;
	if (cf->dw_value_type == DW_EXPR_OFFSET && cf->dw_regnum < 17) {
		out->cfa.kind = NCR_REG;
		out->cfa.reg = cf->dw_regnum;
		out->cfa.off = cf->dw_offset_relevant ? (Dwarf_Signed)cf->dw_offset_or_block_len : 0;
	} else if (cf->dw_value_type == DW_EXPR_EXPRESSION ||
		   cf->dw_value_type == DW_EXPR_VAL_EXPRESSION) {
		out->cfa.kind = NCR_VAL_EXPR;
		out->cfa.expr = cf->dw_block_ptr;
		out->cfa.expr_len = (size_t)cf->dw_offset_or_block_len;
	} else {
		return -1;
	}
	for (int i = 0; i < 17; i++)
		rule_from(&out->regs[i], &rules[i]);
	out->ra_undefined = out->regs[16].kind == NCR_UNDEF;
	return 0;
}

int nat_obj_cfi(nat_obj *o, uint64_t pc, nat_cfi *out)
{
	Dwarf_Debug dbg = dw_open(o);
	cfi_load(&o->eh, dbg, 1);
	if (!cfi_row(&o->eh, pc, out))
		return 0;
	/* .debug_frame: in the file itself, else in its debug file. */
	if (!o->df.loaded) {
		cfi_load(&o->df, dbg, 0);
		if (o->df.loaded != 1 && o->debug) {
			o->df.loaded = 0;
			cfi_load(&o->df, dw_open(o->debug), 0);
		}
	}
	return cfi_row(&o->df, pc, out);
}

static int fde_start(cfi_src *c, uint64_t pc, uint64_t *start)
{
	Dwarf_Fde fde;
	Dwarf_Addr lo;
	if (fde_at(c, pc, &fde, &lo))
		return -1;
	*start = lo;
	return 0;
}

int nat_obj_fde_start(nat_obj *o, uint64_t pc, uint64_t *start)
{
	nat_cfi row;
	if (nat_obj_cfi(o, pc, &row)) /* loads the tables */
		return -1;
	if (!fde_start(&o->eh, pc, start))
		return 0;
	return fde_start(&o->df, pc, start);
}

/* ---- line tables ---- */
static int line_cmp(const void *a, const void *b)
{
	const nline *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (x->line != 0) - (y->line != 0); /* an end marker before a row at its address */
}

static void cu_lines(nat_obj *o, Dwarf_Debug dbg, Dwarf_Die cu, bd_vec *v, bd_intern *files)
{
	Dwarf_Unsigned version;
	Dwarf_Small count;
	Dwarf_Line_Context ctx;
	Dwarf_Error e = 0;
	if (dwarf_srclines_b(cu, &version, &count, &ctx, &e) != DW_DLV_OK) {
		dw_drop(dbg, e);
		return;
	}
	Dwarf_Line *lines;
	Dwarf_Signed n;
	if (dwarf_srclines_from_linecontext(ctx, &lines, &n, &e) == DW_DLV_OK) {
		for (Dwarf_Signed i = 0; i < n && v->len < MAX_LINES; i++) {
			Dwarf_Addr a;
			Dwarf_Unsigned ln;
			Dwarf_Bool endseq = 0;
			char *src = NULL;
			if (dwarf_lineaddr(lines[i], &a, &e) != DW_DLV_OK ||
			    dwarf_lineno(lines[i], &ln, &e) != DW_DLV_OK) {
				dw_drop(dbg, e);
				e = 0;
				continue;
			}
			dwarf_lineendsequence(lines[i], &endseq, &e);
			nline *l = bd_vec_push(v);
			if (!l)
				break;
			l->addr = a;
			l->line = endseq ? 0 : (uint32_t)(ln ? ln : 1);
			if (!endseq && dwarf_linesrc(lines[i], &src, &e) == DW_DLV_OK && src) {
				l->file = bd_intern_str(files, src, strlen(src));
				dwarf_dealloc(dbg, src, DW_DLA_STRING);
			} else {
				dw_drop(dbg, e);
				e = 0;
			}
		}
	} else {
		dw_drop(dbg, e);
	}
	dwarf_srclines_dealloc_b(ctx);
	(void)o;
}

static void load_lines(nat_obj *o)
{
	if (o->lines_loaded)
		return;
	o->lines_loaded = 1;
	nat_obj *src = o->has_dwarf ? o : o->debug && o->debug->has_dwarf ? o->debug : NULL;
	Dwarf_Debug dbg = src ? dw_open(src) : NULL;
	if (!dbg)
		return;
	bd_vec v = BD_VEC_INIT(nline, MAX_LINES);
	bd_intern files = {{0}, o->arena};
	for (int guard = 0; guard < 1 << 20; guard++) {
		Dwarf_Unsigned hlen, next;
		Dwarf_Half ver, asz, lsz, esz, ctype;
		Dwarf_Off abbr;
		Dwarf_Sig8 sig;
		Dwarf_Unsigned toff;
		Dwarf_Error e = 0;
		int rc = dwarf_next_cu_header_d(dbg, 1, &hlen, &ver, &abbr, &asz, &lsz, &esz, &sig,
						&toff, &next, &ctype, &e);
		if (rc != DW_DLV_OK) {
			if (rc == DW_DLV_ERROR)
				dw_drop(dbg, e);
			break;
		}
		Dwarf_Die cu = NULL;
		if (dwarf_siblingof_b(dbg, NULL, 1, &cu, &e) == DW_DLV_OK) {
			cu_lines(o, dbg, cu, &v, &files);
			dwarf_dealloc_die(cu);
		} else {
			dw_drop(dbg, e);
		}
	}
	bd_strmap_free(&files.map);
	if (v.len)
		qsort(v.data, v.len, sizeof(nline), line_cmp);
	o->lines = v.data;
	o->nlines = v.len;
}

static int find_row(const nline *l, size_t n, uint64_t pc, const char **file, uint32_t *line)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (l[mid].addr <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || !l[lo - 1].line || !l[lo - 1].file)
		return -1;
	*file = l[lo - 1].file;
	*line = l[lo - 1].line;
	return 0;
}

/* The rows of the unit whose DIE is at off (cached). */
static struct cu_lines *unit_lines(nat_obj *o, Dwarf_Debug dbg, Dwarf_Off off)
{
	for (int i = 0; i < o->ncus; i++)
		if (o->cus[i].off == off)
			return &o->cus[i];
	struct cu_lines *c = &o->cus[o->ncus < 32 ? o->ncus++ : 31];
	if (o->ncus == 32 && c->lines) {
		free(c->lines);
		c->lines = NULL;
	}
	c->off = off;
	c->n = 0;
	Dwarf_Die die = NULL;
	Dwarf_Error e = 0;
	if (dwarf_offdie_b(dbg, off, 1, &die, &e) != DW_DLV_OK) {
		dw_drop(dbg, e);
		c->lines = NULL;
		return c;
	}
	bd_vec v = BD_VEC_INIT(nline, MAX_LINES);
	bd_intern files = {{0}, o->arena};
	cu_lines(o, dbg, die, &v, &files);
	dwarf_dealloc_die(die);
	bd_intern_free(&files);
	if (v.len)
		qsort(v.data, v.len, sizeof(nline), line_cmp);
	c->lines = v.data;
	c->n = v.len;
	return c;
}

/* The debug information of o (itself or its debug file), and the offset of the unit
 * that holds pc (by .debug_aranges). */
static Dwarf_Debug dwarf_of(nat_obj *o)
{
	nat_obj *src = o->has_dwarf ? o : o->debug && o->debug->has_dwarf ? o->debug : NULL;
	return src ? dw_open(src) : NULL;
}

static int unit_of(nat_obj *o, Dwarf_Debug dbg, uint64_t pc, Dwarf_Off *off)
{
	if (!o->ar_tried) {
		o->ar_tried = 1;
		Dwarf_Error e = 0;
		int rc = dwarf_get_aranges(dbg, &o->ar, &o->nar, &e);
		if (rc != DW_DLV_OK) {
			if (rc == DW_DLV_ERROR)
				dw_drop(dbg, e);
			o->ar = NULL;
			o->nar = 0;
		} else {
			o->ar_dbg = dbg;
		}
	}
	if (o->nar <= 0)
		return -1;
	Dwarf_Arange a;
	Dwarf_Error e = 0;
	int rc = dwarf_get_arange(o->ar, (Dwarf_Unsigned)o->nar, pc, &a, &e);
	if (rc == DW_DLV_OK && dwarf_get_cu_die_offset(a, off, &e) == DW_DLV_OK)
		return 0;
	if (rc == DW_DLV_ERROR || e)
		dw_drop(dbg, e);
	return -1;
}

int nat_obj_line(nat_obj *o, uint64_t pc, const char **file, uint32_t *line)
{
	Dwarf_Debug dbg = dwarf_of(o);
	if (!dbg)
		return -1;
	Dwarf_Off off;
	if (!unit_of(o, dbg, pc, &off)) {
		struct cu_lines *c = unit_lines(o, dbg, off);
		if (c && !find_row(c->lines, c->n, pc, file, line)) {
			*file = give(o, *file);
			return 0;
		}
	}
	/* not covered by the aranges: every unit at once */
	load_lines(o);
	if (find_row(o->lines, o->nlines, pc, file, line))
		return -1;
	*file = give(o, *file);
	return 0;
}

/* ---- inlined functions ---- */
enum { INL_DEPTH = 32, INL_VISITS = 200000 };

typedef struct inl_walk {
	nat_obj *o;
	Dwarf_Debug dbg;
	uint64_t pc, base;   /* the unit's base address (DWARF 4 ranges) */
	char **files;
	Dwarf_Signed nfiles;
	int version;
	int visits;
	nat_inline *out;
	int cap, n;
} inl_walk;

static int attr_u(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at, Dwarf_Unsigned *v)
{
	Dwarf_Attribute a;
	Dwarf_Error e = 0;
	if (dwarf_attr(die, at, &a, &e) != DW_DLV_OK) {
		dw_drop(dbg, e);
		return -1;
	}
	int rc = dwarf_formudata(a, v, &e);
	if (rc != DW_DLV_OK)
		dw_drop(dbg, e);
	dwarf_dealloc(dbg, a, DW_DLA_ATTR);
	return rc == DW_DLV_OK ? 0 : -1;
}

/* Does die's code cover pc: low/high pc, or DW_AT_ranges (DWARF 4 .debug_ranges,
 * DWARF 5 .debug_rnglists)? */
static int covers(inl_walk *w, Dwarf_Die die)
{
	Dwarf_Error e = 0;
	Dwarf_Addr lo, hi;
	Dwarf_Half form;
	enum Dwarf_Form_Class cls;
	if (dwarf_lowpc(die, &lo, &e) == DW_DLV_OK) {
		if (dwarf_highpc_b(die, &hi, &form, &cls, &e) == DW_DLV_OK) {
			if (cls == DW_FORM_CLASS_CONSTANT)
				hi += lo;
			return w->pc >= lo && w->pc < hi;
		}
		dw_drop(w->dbg, e);
		return 0;
	}
	dw_drop(w->dbg, e);
	e = 0;
	Dwarf_Attribute a;
	if (dwarf_attr(die, DW_AT_ranges, &a, &e) != DW_DLV_OK) {
		dw_drop(w->dbg, e);
		return 0;
	}
	int hit = 0;
	Dwarf_Unsigned val = 0;
	Dwarf_Half f = 0;
	dwarf_whatform(a, &f, &e);
	if (dwarf_formudata(a, &val, &e) != DW_DLV_OK) {
		dw_drop(w->dbg, e);
		e = 0;
		Dwarf_Off go;
		if (dwarf_global_formref(a, &go, &e) == DW_DLV_OK)
			val = go;
		else
			dw_drop(w->dbg, e);
	}
	if (w->version >= 5) {
		Dwarf_Rnglists_Head head;
		Dwarf_Unsigned count, goff;
		e = 0;
		if (dwarf_rnglists_get_rle_head(a, f, val, &head, &count, &goff, &e) == DW_DLV_OK) {
			for (Dwarf_Unsigned i = 0; i < count && i < 4096 && !hit; i++) {
				unsigned len, code;
				Dwarf_Unsigned r1, r2, c1, c2;
				Dwarf_Bool unavail = 0;
				if (dwarf_get_rnglists_entry_fields_a(head, i, &len, &code, &r1, &r2, &unavail, &c1,
								      &c2, &e) != DW_DLV_OK) {
					dw_drop(w->dbg, e);
					e = 0;
					break;
				}
				/* 0 end, 1 base_addressx, 5 base_address: no range */
				if (code != 0 && code != 1 && code != 5 && !unavail)
					hit = w->pc >= c1 && w->pc < c2;
			}
			dwarf_dealloc_rnglists_head(head);
		} else {
			dw_drop(w->dbg, e);
		}
	} else {
		Dwarf_Ranges *r;
		Dwarf_Signed n;
		Dwarf_Unsigned bytes;
		Dwarf_Off real;
		e = 0;
		if (dwarf_get_ranges_b(w->dbg, val, die, &real, &r, &n, &bytes, &e) == DW_DLV_OK) {
			uint64_t base = w->base;
			for (Dwarf_Signed i = 0; i < n && !hit; i++) {
				if (r[i].dwr_type == DW_RANGES_END)
					break;
				if (r[i].dwr_type == DW_RANGES_ADDRESS_SELECTION)
					base = r[i].dwr_addr2;
				else
					hit = w->pc >= base + r[i].dwr_addr1 && w->pc < base + r[i].dwr_addr2;
			}
			dwarf_ranges_dealloc(w->dbg, r, n);
		} else {
			dw_drop(w->dbg, e);
		}
	}
	dwarf_dealloc(w->dbg, a, DW_DLA_ATTR);
	return hit;
}

/* The name of an inlined instance: its abstract origin's (or that one's
 * specification's) DW_AT_name. */
static const char *origin_name(inl_walk *w, Dwarf_Die die)
{
	Dwarf_Die cur = die;
	for (int hop = 0; hop < 4; hop++) {
		char *nm = NULL;
		Dwarf_Error e = 0;
		if (dwarf_diename(cur, &nm, &e) == DW_DLV_OK && nm) {
			const char *r = bd_arena_strdup(w->o->out, nm);
			if (cur != die)
				dwarf_dealloc_die(cur);
			return r;
		}
		dw_drop(w->dbg, e);
		e = 0;
		Dwarf_Attribute a;
		Dwarf_Off off;
		if (dwarf_attr(cur, DW_AT_abstract_origin, &a, &e) != DW_DLV_OK) {
			dw_drop(w->dbg, e);
			e = 0;
			if (dwarf_attr(cur, DW_AT_specification, &a, &e) != DW_DLV_OK) {
				dw_drop(w->dbg, e);
				break;
			}
		}
		int rc = dwarf_global_formref(a, &off, &e);
		dwarf_dealloc(w->dbg, a, DW_DLA_ATTR);
		Dwarf_Die next = NULL;
		if (rc != DW_DLV_OK || dwarf_offdie_b(w->dbg, off, 1, &next, &e) != DW_DLV_OK) {
			dw_drop(w->dbg, e);
			break;
		}
		if (cur != die)
			dwarf_dealloc_die(cur);
		cur = next;
	}
	if (cur != die)
		dwarf_dealloc_die(cur);
	return NULL;
}

static void add_inline(inl_walk *w, Dwarf_Die die)
{
	if (w->n >= w->cap)
		return;
	nat_inline *x = &w->out[w->n++];
	x->name = origin_name(w, die);
	x->call_file = NULL;
	x->call_line = 0;
	Dwarf_Unsigned f, l;
	if (!attr_u(w->dbg, die, DW_AT_call_line, &l))
		x->call_line = (uint32_t)l;
	if (!attr_u(w->dbg, die, DW_AT_call_file, &f)) {
		Dwarf_Signed i = w->version >= 5 ? (Dwarf_Signed)f : (Dwarf_Signed)f - 1;
		if (i >= 0 && i < w->nfiles && w->files[i])
			x->call_file = bd_arena_strdup(w->o->out, w->files[i]);
	}
}

/* Depth-first over the children of die: the subprogram holding pc, then the inlined
 * subroutines inside it that hold pc (outermost first). Returns 1 when found. */
static int walk(inl_walk *w, Dwarf_Die parent, int depth, int in_sub)
{
	if (depth > INL_DEPTH)
		return 0;
	Dwarf_Die child = NULL;
	Dwarf_Error e = 0;
	if (dwarf_child(parent, &child, &e) != DW_DLV_OK) {
		dw_drop(w->dbg, e);
		return 0;
	}
	int found = 0;
	while (child && !found && w->visits++ < INL_VISITS) {
		Dwarf_Half tag = 0;
		dwarf_tag(child, &tag, &e);
		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
			if (covers(w, child)) {
				if (tag == DW_TAG_inlined_subroutine && in_sub)
					add_inline(w, child);
				walk(w, child, depth + 1, 1);
				found = 1;
			}
		} else if (tag == DW_TAG_lexical_block || tag == DW_TAG_namespace ||
			   tag == DW_TAG_class_type || tag == DW_TAG_structure_type ||
			   tag == DW_TAG_module) {
			found = walk(w, child, depth + 1, in_sub);
		}
		Dwarf_Die sib = NULL;
		int rc = found ? DW_DLV_NO_ENTRY : dwarf_siblingof_b(w->dbg, child, 1, &sib, &e);
		dwarf_dealloc_die(child);
		if (rc == DW_DLV_ERROR)
			dw_drop(w->dbg, e);
		child = rc == DW_DLV_OK ? sib : NULL;
	}
	if (child)
		dwarf_dealloc_die(child);
	return found;
}

int nat_obj_inlines(nat_obj *o, uint64_t pc, nat_inline *out, int cap)
{
	Dwarf_Debug dbg = dwarf_of(o);
	Dwarf_Off off;
	if (!dbg || unit_of(o, dbg, pc, &off))
		return 0;
	Dwarf_Die cu = NULL;
	Dwarf_Error e = 0;
	if (dwarf_offdie_b(dbg, off, 1, &cu, &e) != DW_DLV_OK) {
		dw_drop(dbg, e);
		return 0;
	}
	inl_walk w = {o, dbg, pc, 0, NULL, 0, 4, 0, out, cap, 0};
	Dwarf_Half ver = 4, osz;
	if (dwarf_get_version_of_die(cu, &ver, &osz) == DW_DLV_OK)
		w.version = ver;
	Dwarf_Addr base;
	if (dwarf_lowpc(cu, &base, &e) == DW_DLV_OK)
		w.base = base;
	else
		dw_drop(dbg, e);
	e = 0;
	if (dwarf_srcfiles(cu, &w.files, &w.nfiles, &e) != DW_DLV_OK) {
		dw_drop(dbg, e);
		w.files = NULL;
		w.nfiles = 0;
	}
	walk(&w, cu, 0, 0);
	for (Dwarf_Signed i = 0; i < w.nfiles; i++)
		dwarf_dealloc(dbg, w.files[i], DW_DLA_STRING);
	if (w.files)
		dwarf_dealloc(dbg, w.files, DW_DLA_LIST);
	dwarf_dealloc_die(cu);
	/* outermost first as found: innermost first for the caller */
	for (int i = 0; i < w.n / 2; i++) {
		nat_inline t = out[i];
		out[i] = out[w.n - 1 - i];
		out[w.n - 1 - i] = t;
	}
	return w.n;
}

/* ---- NIF libraries ---- */
typedef struct reloc {
	uint64_t at, value;
} reloc;

static int reloc_cmp(const void *a, const void *b)
{
	const reloc *x = a, *y = b;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* RELATIVE and 64-bit symbol relocations of the file: what the dynamic linker writes
 * into pointers (the ErlNifEntry and its function table are such pointers). */
static void load_relocs(nat_obj *o, bd_vec *out)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(o->elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		Elf_Data *symd = NULL;
		GElf_Shdr ssh;
		Elf_Scn *ss = elf_getscn(o->elf, sh.sh_link);
		if (ss && gelf_getshdr(ss, &ssh))
			symd = elf_getdata(ss, NULL);
		size_t n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; d && i < n && out->len < MAX_RELOCS; i++) {
			GElf_Rela r;
			if (!gelf_getrela(d, (int)i, &r))
				break;
			uint64_t type = GELF_R_TYPE(r.r_info), value;
			if (type == R_X86_64_RELATIVE) {
				value = (uint64_t)r.r_addend;
			} else if (type == R_X86_64_64 || type == R_X86_64_GLOB_DAT) {
				GElf_Sym s;
				if (!symd || !gelf_getsym(symd, (int)GELF_R_SYM(r.r_info), &s) ||
				    s.st_shndx == SHN_UNDEF)
					continue;
				value = s.st_value + (uint64_t)(type == R_X86_64_64 ? r.r_addend : 0);
			} else {
				continue;
			}
			reloc *x = bd_vec_push(out);
			if (!x)
				return;
			x->at = r.r_offset;
			x->value = value;
		}
	}
	if (out->len)
		qsort(out->data, out->len, sizeof(reloc), reloc_cmp);
}

static uint64_t read_ptr(nat_obj *o, const bd_vec *rel, uint64_t at)
{
	size_t lo = 0, hi = rel->len;
	const reloc *r = rel->data;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r[mid].at < at)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < rel->len && r[lo].at == at)
		return r[lo].value;
	uint8_t b[8];
	if (nat_obj_read(o, at, b, 8) != 8)
		return 0;
	uint64_t v;
	memcpy(&v, b, 8);
	return v;
}

static const char *read_cstr(nat_obj *o, uint64_t at, size_t cap)
{
	char buf[256];
	if (!at || cap > sizeof buf)
		return NULL;
	size_t n = nat_obj_read(o, at, buf, cap);
	size_t l = strnlen(buf, n);
	if (!l || l == n)
		return NULL;
	for (size_t i = 0; i < l; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7e)
			return NULL;
	return bd_arena_strndup(o->arena, buf, l);
}

/* nif_init returns the address of a static ErlNifEntry: find the RIP-relative lea
 * that loads it among its first instructions (any optimization level). */
static uint64_t nif_entry_addr(nat_obj *o, uint64_t init)
{
	uint8_t code[48];
	size_t n = nat_obj_read(o, init, code, sizeof code);
	for (size_t i = 0; i + 7 <= n; i++) {
		if ((code[i] == 0x48 || code[i] == 0x4c) && code[i + 1] == 0x8d &&
		    (code[i + 2] & 0xc7) == 0x05) {
			int32_t disp;
			memcpy(&disp, code + i + 3, 4);
			return init + i + 7 + (uint64_t)(int64_t)disp;
		}
		if (code[i] == 0xc3) /* ret before any lea */
			break;
	}
	return 0;
}

static void load_nifs(nat_obj *o)
{
	if (o->nif_loaded)
		return;
	o->nif_loaded = 1;
	uint64_t init = nat_obj_lookup(o, "nif_init", NULL);
	if (!init)
		return;
	o->is_nif = 1;
	uint64_t entry = nif_entry_addr(o, init);
	if (!entry)
		return;
	bd_vec rel = BD_VEC_INIT(reloc, MAX_RELOCS);
	load_relocs(o, &rel);
	/* ErlNifEntry: int major, minor; const char *name; int num_of_funcs;
	 * ErlNifFunc *funcs; ... ErlNifFunc: name, unsigned arity, fptr, unsigned flags. */
	uint8_t hdr[32];
	if (nat_obj_read(o, entry, hdr, sizeof hdr) == sizeof hdr) {
		int32_t major, nfuncs;
		memcpy(&major, hdr, 4);
		memcpy(&nfuncs, hdr + 16, 4);
		o->nif_module = read_cstr(o, read_ptr(o, &rel, entry + 8), 256);
		uint64_t funcs = read_ptr(o, &rel, entry + 24);
		/* as the VM prints it: 'Elixir.Foo':bar/1 */
		const char *qmod = o->nif_module;
		int plain = qmod && *qmod >= 'a' && *qmod <= 'z';
		for (const char *q = qmod; plain && *q; q++)
			plain = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
				*q == '_' || *q == '@';
		if (qmod && !plain)
			qmod = bd_arena_printf(o->arena, "'%s'", qmod);
		if (major == 2 && nfuncs > 0 && nfuncs <= MAX_NIFS && funcs && o->nif_module) {
			o->nifs = calloc((size_t)nfuncs + 4, sizeof(nat_nif_fn));
			for (int32_t i = 0; o->nifs && i < nfuncs; i++) {
				uint64_t f = funcs + 32 * (uint64_t)i;
				uint8_t fa[32];
				if (nat_obj_read(o, f, fa, sizeof fa) != sizeof fa)
					break;
				uint32_t arity, flags;
				memcpy(&arity, fa + 8, 4);
				memcpy(&flags, fa + 24, 4);
				const char *nm = read_cstr(o, read_ptr(o, &rel, f), 256);
				uint64_t fp = read_ptr(o, &rel, f + 16);
				if (!nm || !fp || arity > 255)
					continue;
				nat_nif_fn *x = &o->nifs[o->nnifs++];
				x->fptr = fp;
				x->flags = flags;
				x->mfa = bd_arena_printf(o->arena, "%s:%s/%u", qmod, nm, arity);
			}
			/* then load, reload, upgrade, unload (ErlNifEntry offsets 32..56) */
			for (int k = 0; o->nifs && k < 4; k++) {
				uint64_t fp = read_ptr(o, &rel, entry + 32 + 8 * (uint64_t)k);
				if (!fp)
					continue;
				nat_nif_fn *x = &o->nifs[o->nnifs++];
				x->fptr = fp;
				x->callback = (uint8_t)(NAT_CB_LOAD + k);
				x->mfa = o->nif_module;
			}
		}
	}
	bd_vec_free(&rel);
}

const nat_nif_fn *nat_obj_nifs(nat_obj *o, size_t *n, const char **module)
{
	load_nifs(o);
	*n = o->nnifs;
	if (module)
		*module = give(o, o->nif_module);
	return o->nifs;
}

int nat_obj_is_nif(nat_obj *o)
{
	load_nifs(o);
	return o->is_nif;
}

/* ---- objects kept across cores (nat_obj_cache) ----
 * An entry owns its object and the arena it lives in (with its separate debug file).
 * A reader takes an entry for the time of one core (busy) and gives it back with
 * nat_obj_close; what it hands out goes to the reader's arena, so an entry can be
 * closed whenever it is idle. */
enum { OC_GROWTH = 64 << 20 }; /* an entry whose arena grew this much is reopened */

struct oc_ent {
	nat_obj *o;      /* NULL: a free slot */
	bd_arena *arena;
	const char *path, *ctx;
	struct stat id;  /* the file as it was opened (a changed file is opened anew) */
	size_t total0;   /* the arena after its first use */
	unsigned long used;
	int busy;
};

static struct {
	pthread_mutex_t mu;
	oc_ent *ents;
	size_t max;
	unsigned long clock;
} oc = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};

static void oc_drop(oc_ent *e)
{
	if (e->o) {
		e->o->cache = NULL;
		nat_obj_close(e->o);
	}
	if (e->arena) {
		bd_arena_free(e->arena);
		free(e->arena);
	}
	memset(e, 0, sizeof *e);
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int nat_obj_cache(size_t max)
{
	pthread_mutex_lock(&oc.mu);
	int rc = 0;
	for (size_t i = 0; i < oc.max; i++) {
		if (oc.ents[i].busy)
			rc = -1;
		else if (oc.ents[i].o || i >= max)
			oc_drop(&oc.ents[i]);
	}
	if (rc == 0) {
		free(oc.ents);
		oc.ents = max ? calloc(max, sizeof *oc.ents) : NULL;
		oc.max = oc.ents ? max : 0;
	}
	pthread_mutex_unlock(&oc.mu);
	return rc;
}

/* An idle entry for path+ctx of this file (or NULL), and a slot for a new one: a free
 * slot, a stale entry of the same name, or the least recently used idle entry. */
static oc_ent *oc_find(const char *path, const char *ctx, const struct stat *st, oc_ent **slot)
{
	oc_ent *hit = NULL, *lru = NULL;
	*slot = NULL;
	for (size_t i = 0; i < oc.max; i++) {
		oc_ent *e = &oc.ents[i];
		if (!e->o) {
			if (!*slot)
				*slot = e;
		} else if (!e->busy && !strcmp(e->path, path) && !strcmp(e->ctx, ctx)) {
			if (same_file(&e->id, st))
				hit = e;
			else
				oc_drop(e), *slot = e;
		} else if (!e->busy && (!lru || e->used < lru->used)) {
			lru = e;
		}
	}
	if (!*slot)
		*slot = lru;
	return hit;
}

nat_obj *nat_obj_get(const char *path, const char *ctx, bd_arena *a, const char **why)
{
	struct stat st;
	if (!oc.max || stat(path, &st) || !S_ISREG(st.st_mode))
		return nat_obj_open(path, a, why);
	ctx = ctx ? ctx : "";
	pthread_mutex_lock(&oc.mu);
	oc_ent *slot, *e = oc_find(path, ctx, &st, &slot);
	if (e) {
		e->busy = 1;
		e->used = ++oc.clock;
		e->o->out = a;
		pthread_mutex_unlock(&oc.mu);
		return e->o;
	}
	if (!slot) { /* every entry is in use */
		pthread_mutex_unlock(&oc.mu);
		return nat_obj_open(path, a, why);
	}
	oc_drop(slot);
	bd_arena *oa = calloc(1, sizeof *oa);
	nat_obj *o = oa ? nat_obj_open(path, oa, why) : NULL;
	if (!o) {
		if (oa)
			*why = bd_arena_strdup(a, *why);
		else
			*why = "out of memory";
		if (oa) {
			bd_arena_free(oa);
			free(oa);
		}
		pthread_mutex_unlock(&oc.mu);
		return NULL;
	}
	slot->o = o;
	slot->arena = oa;
	slot->path = bd_arena_strdup(oa, path);
	slot->ctx = bd_arena_strdup(oa, ctx);
	slot->id = st;
	slot->busy = 1;
	slot->used = ++oc.clock;
	o->cache = slot;
	o->out = a;
	pthread_mutex_unlock(&oc.mu);
	return o;
}

static void oc_release(nat_obj *o)
{
	pthread_mutex_lock(&oc.mu);
	oc_ent *e = o->cache;
	e->busy = 0;
	o->out = o->arena;
	if (!e->total0)
		e->total0 = e->arena->total;
	/* line tables of units read on demand, lost names: bounded */
	if (e->arena->total - e->total0 > OC_GROWTH || e->arena->failed || !e->path || !e->ctx)
		oc_drop(e);
	pthread_mutex_unlock(&oc.mu);
}
