/* Objects on disk for the native-crash reader: an ELF executable or shared object
 * (or an image from the core's memory, such as the vDSO), with its build-id,
 * symbols, call frame information (libdwarf: .eh_frame and .debug_frame), DWARF
 * line tables (from the object or its separate debug file) and, for NIF libraries,
 * the ErlNifFunc table that names each NIF. Addresses here are link-time addresses:
 * the caller subtracts the load bias. */
#ifndef BD_ELFOBJ_H
#define BD_ELFOBJ_H

#include <stddef.h>
#include <stdint.h>

#include "beamdump/util.h"

typedef struct nat_obj nat_obj;

/* One register rule of a CFI row (DWARF numbering; see nat_cfi). */
typedef enum {
	NCR_UNDEF,      /* no value in the caller */
	NCR_SAME,       /* unchanged */
	NCR_OFFSET,     /* saved at CFA + off */
	NCR_VAL_OFFSET, /* the value is CFA + off */
	NCR_REG,        /* the value of register reg */
	NCR_EXPR,       /* saved at the address the expression computes */
	NCR_VAL_EXPR,   /* the value the expression computes */
} nat_cfi_kind;

typedef struct nat_cfi_rule {
	uint8_t kind;
	uint16_t reg;
	int64_t off;
	const uint8_t *expr;
	size_t expr_len;
} nat_cfi_rule;

typedef struct nat_cfi {
	nat_cfi_rule cfa;     /* NCR_REG (reg + off) or NCR_VAL_EXPR */
	nat_cfi_rule regs[17];
	int ra_undefined;     /* the outermost frame (clone, _start) */
} nat_cfi;

typedef struct nat_nif_fn {
	uint64_t fptr;        /* link-time address of the C function */
	const char *mfa;      /* "module:name/arity" */
	unsigned flags;       /* ERL_NIF_DIRTY_JOB_* */
	uint8_t callback;     /* 0: a NIF; else the entry's NAT_CB_* callback (mfa: the module) */
} nat_nif_fn;
enum { NAT_CB_NONE, NAT_CB_LOAD, NAT_CB_RELOAD, NAT_CB_UPGRADE, NAT_CB_UNLOAD };

/* Open path (libelf, read-only mmap). display is the runtime path kept for messages.
 * Returns NULL (and a reason in why) when it is not a readable ELF object. Strings
 * live in a. */
nat_obj *nat_obj_open(const char *path, bd_arena *a, const char **why);
/* An ELF image held in memory (copied to a memfd for libdwarf). */
nat_obj *nat_obj_open_image(const uint8_t *img, size_t len, const char *name, bd_arena *a,
			    const char **why);
/* Closes o, or gives it back to the cache when nat_obj_get took it from there. */
void nat_obj_close(nat_obj *o);

/* Objects kept across the cores a process reads (a batch, a fuzzer): up to max
 * objects stay open with what they loaded (symbols, CFI, line tables, the separate
 * debug file), keyed by path, ctx and the file's identity (device, inode, size,
 * mtime: a changed file is opened anew). 0 (the default) keeps none and closes the
 * idle ones. -1 when some are in use (those stay). */
int nat_obj_cache(size_t max);
/* nat_obj_open through the cache when it is on: ctx names what else the caller's use
 * of the object depends on (its debug file search roots). Strings the object hands
 * out while taken live in a, so that the object may be closed before a is freed.
 * One reader at a time uses an object; a second one gets its own. */
nat_obj *nat_obj_get(const char *path, const char *ctx, bd_arena *a, const char **why);
/* The arena o lives in (its separate debug file is opened there). */
bd_arena *nat_obj_arena(nat_obj *o);
/* Whether a reader before looked for o's separate debug file (cached objects): 1 and
 * the path it found (NULL: none; copied to the caller's arena), else 0.
 * nat_obj_debug_searched records the search. */
int nat_obj_debug_search(const nat_obj *o, const char **path);
void nat_obj_debug_searched(nat_obj *o, const char *path);

/* Build-id as hex ("" when none). */
const char *nat_obj_build_id(const nat_obj *o);
/* The link-time address mapped at file offset 0 (for the load bias). */
uint64_t nat_obj_link_base(const nat_obj *o);
/* .gnu_debuglink name or NULL. */
const char *nat_obj_debuglink(const nat_obj *o);
int nat_obj_has_dwarf(const nat_obj *o);
/* Attach a separate debug file (its .symtab, .debug_frame and line tables are used). */
int nat_obj_attach_debug(nat_obj *o, nat_obj *dbg);

/* 0 none, 1 .dynsym only, 2 .symtab. */
int nat_obj_symbol_kind(nat_obj *o);
/* The function holding addr: name (demangled, arguments cut) and its start. NULL
 * when no sized symbol covers addr (a stripped static function is not named after
 * its neighbour). */
const char *nat_obj_symbol(nat_obj *o, uint64_t addr, uint64_t *start);
/* Address of a defined symbol by exact name (and its size), 0 when absent. */
uint64_t nat_obj_lookup(nat_obj *o, const char *name, uint64_t *size);

/* CFI row for pc: 0, or -1 when no FDE covers pc. */
int nat_obj_cfi(nat_obj *o, uint64_t pc, nat_cfi *out);

/* Start of the function holding pc by its call frame information (an FDE of
 * .eh_frame or .debug_frame): 0, or -1 when none covers pc. For stripped objects. */
int nat_obj_fde_start(nat_obj *o, uint64_t pc, uint64_t *start);
/* file:line of pc from DWARF line tables; 0 or -1 when unknown. */
int nat_obj_line(nat_obj *o, uint64_t pc, const char **file, uint32_t *line);

/* Functions inlined at pc, innermost first (DWARF DW_TAG_inlined_subroutine), each
 * with the place it was inlined at (the call site, in the function around it).
 * Returns how many (0 when none or no debug information). Strings live in the arena. */
typedef struct nat_inline {
	const char *name;
	const char *call_file;
	uint32_t call_line;
} nat_inline;
int nat_obj_inlines(nat_obj *o, uint64_t pc, nat_inline *out, int cap);

/* NIF library: the functions of its ErlNifEntry (nif_init), then its load,
 * reload, upgrade and unload callbacks (callback != 0), from the file with its
 * relocations applied. NULL/0 when not a NIF library or unreadable. */
const nat_nif_fn *nat_obj_nifs(nat_obj *o, size_t *n, const char **module);
int nat_obj_is_nif(nat_obj *o);

/* Read n bytes at a link-time address from the file's loadable segments. */
size_t nat_obj_read(nat_obj *o, uint64_t addr, void *buf, size_t n);

/* Demangle a C++ symbol and cut its argument list; s itself when not mangled. */
const char *nat_demangle(bd_arena *a, const char *s);
/* Demangle a C++ type name as std::type_info::name() has it ("St16invalid_argument"),
 * NULL when it is not one. */
const char *nat_demangle_type(bd_arena *a, const char *s);

#endif
