/* Internals of the native-crash reader (docs/native.md): the raw facts of a crashed
 * process as a core file or the crash guard gives them (registers, signal, mapped
 * files, memory), the objects on disk with their symbols, CFI and line tables, and
 * the x86-64 unwinder. native.c turns raw facts into the public bd_native table. */
#ifndef BD_NATIVE_INT_H
#define BD_NATIVE_INT_H

#include <stdint.h>

#include "beamdump/native.h"
#include "int.h"

/* x86-64 registers in DWARF numbering; NR_RIP is the return-address column. */
enum {
	NR_RAX, NR_RDX, NR_RCX, NR_RBX, NR_RSI, NR_RDI, NR_RBP, NR_RSP,
	NR_R8, NR_R9, NR_R10, NR_R11, NR_R12, NR_R13, NR_R14, NR_R15, NR_RIP, NR__COUNT
};

typedef struct nat_regs {
	uint64_t r[NR__COUNT];
	uint32_t valid; /* bit i: r[i] is known */
} nat_regs;

typedef struct nat_thread {
	uint32_t tid;
	int has_regs;
	nat_regs regs;
	uint64_t fs_base;     /* pthread_self() of the thread; 0 unknown */
	int cursig;           /* signal the thread was stopped by (core) */
	const char *name;     /* guard: /proc comm */
	char state;           /* guard: /proc stat state */
} nat_thread;

enum { NM_R = 1, NM_W = 2, NM_X = 4, NM_SHARED = 8 };
typedef struct nat_blob {
	const uint8_t *p;
	size_t len;
} nat_blob;

typedef struct nat_map {
	uint64_t start, end;
	uint64_t pgoff;       /* file offset of start, bytes */
	uint32_t prot;        /* NM_* (0 when unknown: core NT_FILE has no flags) */
	const char *path;     /* NULL: anonymous */
	const char *build_id; /* hex build-id the process had mapped here (guard), or NULL */
} nat_map;

/* Memory of the dead process: core segments or the guard's captured regions.
 * Returns the bytes copied from addr (0 when it is not there). */
typedef size_t (*nat_read_fn)(void *ctx, uint64_t addr, void *buf, size_t n);

typedef struct nat_raw {
	const char *source;   /* "core" / "guard" */
	uint32_t pid;
	int have_siginfo;
	int signo, sig_code;
	uint64_t sig_addr;
	uint32_t sig_sender;
	uint32_t crashed_tid; /* 0 unknown */
	int64_t time;         /* INT64_MIN unknown */
	bd_vec threads;       /* nat_thread; the crashing one first when known */
	bd_vec maps;          /* nat_map of mapped files, sorted by start */
	bd_vec regions;       /* nat_map: all memory with its protection, sorted */
	uint64_t auxv_execfn, auxv_phdr, auxv_vdso, auxv_entry;
	const char *exe;      /* path of the executable, NULL unknown */
	const char *argv;     /* NUL-separated arguments */
	size_t argv_len;
	const char *comm;     /* process name */
	nat_read_fn read;
	void *read_ctx;
	/* Frames the guard found by walking frame pointers in the dying process:
	 * used when the offline unwind finds fewer. */
	const uint64_t *fp_walk;
	uint32_t nfp_walk;
	/* The VM's JIT symfiles copied by the guard (nat_blob), used instead of walking
	 * the JIT debug table in memory. */
	bd_vec jit_symfiles;
	/* Problems with the input itself (cut core...), copied to the notes. */
	bd_vec notes;         /* const char * */
	int partial;
	bd_arena *arena;      /* owns every string above */
} nat_raw;

void nat_raw_init(nat_raw *r, bd_arena *a);
void nat_raw_free(nat_raw *r);
void nat_raw_note(nat_raw *r, int partial, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The map holding addr, or NULL. */
const nat_map *nat_raw_map(const nat_raw *r, uint64_t addr);

/* ---- elfcore.c: ELF core files ---- */
int bd_elfcore_is(const char *data, uint64_t size);
/* Read threads, signal, maps, auxv and a memory reader over the core's segments.
 * The core bytes must outlive r. Errors: BD_EUNSUPPORTED (not a core, not x86-64). */
int bd_elfcore_parse(nat_raw *r, const char *data, uint64_t size, const char *name,
		     bd_error *err);

/* ---- native_raw.c: the guard's raw record (docs/FORMAT.md, NATIVE) ---- */
int nat_raw_decode(nat_raw *r, const uint8_t *p, size_t len, bd_error *err);

/* ---- native.c: raw facts -> bd_native, stored in the model ---- */
int bd_native_build(bd_model *m, nat_raw *r, const bd_core_opts *o, bd_error *err);
/* Resolved table from a snapshot record (native_codec.c). */
int bd_native_decode(bd_model *m, const uint8_t *p, size_t len, bd_error *err);
/* Encode the resolved table of m (NULL when none) for a snapshot record; redact
 * leaves the command line out (convert --redact). */
int bd_native_encode(const bd_model *m, int redact, uint8_t **out, size_t *len);
/* Hooks for the snapshot reader: a raw guard record seen while reading. */
int bd_native_raw_record(bd_model *m, const uint8_t *p, size_t len, bd_error *err);

/* The model's native-crash table: the public struct and the vectors behind it. */
struct bd_native_store {
	bd_native pub;
	bd_vec threads, frames, objects, notes;
};
struct bd_native_store *bd_native_store_new(void);
/* Point pub at the vectors once they stop growing. */
void bd_native_store_publish(struct bd_native_store *s);

/* Record instances of BD_REC_NATIVE. */
enum { NAT_REC_RAW = 1, NAT_REC_TABLE = 2 };

#endif
