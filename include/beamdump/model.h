/* The beamdump model: one read-only picture of a BEAM node, whatever its source
 * (erl_crash.dump text, .bdump snapshot, live capture). Tables are arrays of small
 * structs; strings are interned (equal text, equal pointer) and owned by the model;
 * big payloads (heaps, stacks, messages, binaries) stay in the source and are
 * decoded on request through term.h.
 *
 * Unknown numeric values are BD_UNKNOWN, never 0. Unknown strings are NULL.
 * Model strings are C strings of at most 64 KiB (a longer input value keeps its start
 * and ends in "..."); a NUL byte of the input is stored as the pair C0 80, as modified
 * UTF-8 does, so that it shows (\0 in text, \u0000 in JSON) instead of ending the
 * string. Strings a text dump always has (table and allocator names, keys) are never
 * NULL whatever the source. */
#ifndef BEAMDUMP_MODEL_H
#define BEAMDUMP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BD_UNKNOWN UINT64_MAX

typedef struct bd_model bd_model;

/* A pid <node.num.serial> or port #Port<node.num> (serial unused). node is 0 for
 * local ids, else the distribution channel. BD_PID_NONE has node == UINT32_MAX. */
typedef struct bd_pid {
	uint32_t node, num, serial;
} bd_pid;
#define BD_PID_NONE ((bd_pid){UINT32_MAX, 0, 0})
static inline int bd_pid_valid(bd_pid p) { return p.node != UINT32_MAX; }
static inline int bd_pid_eq(bd_pid a, bd_pid b)
{
	return a.node == b.node && a.num == b.num && a.serial == b.serial;
}

/* Where lazy data lives in the source. Opaque to analyses; see bd_model_span_text. */
typedef struct bd_span {
	uint64_t off, len;
} bd_span;
#define BD_SPAN_NONE ((bd_span){0, 0})

/* ---- node ---- */
typedef struct bd_node_info {
	const char *source;         /* "erl_crash.dump", "snapshot", "live" */
	const char *dump_version;   /* "0.5" */
	int dump_major, dump_minor;
	const char *created;        /* ctime text as written by the VM */
	int64_t created_unix;       /* parsed (local time taken as UTC); INT64_MIN if unknown */
	const char *slogan;         /* may span lines; trailing newline removed */
	const char *system_version;
	const char *otp_release;    /* "25" */
	const char *erts_version;   /* "13.1.5" */
	int word_size;              /* 8 or 4; 0 = unknown */
	const char *taints;
	uint64_t atoms;             /* header "Atoms:" */
	const char *calling_thread;
	const char *node_name;      /* from =node, e.g. nonode@nohost */
	int distributed;            /* 1 when =visible/hidden/not_connected sections exist */
	uint64_t input_size;        /* bytes of the (decompressed) source */
	/* Truncation: the source ended before its end marker. */
	int truncated;
	uint64_t truncated_at;      /* byte offset where the data stops */
	const char *truncated_in;   /* the section that was cut, e.g. "=proc_heap:<0.85.0>" */
	const char *abort_reason;   /* text of an =abort: line, or NULL */
	/* Sections the reader skipped or could not parse (count) and the first reason. */
	uint64_t skipped;
	const char *skipped_first;
	int crlf;                   /* the source had Windows line endings (read as "\n") */
	const char *format_note;    /* e.g. a dump format newer than known: read best-effort */
	const char *compiled;       /* "Compiled:" (when the emulator was built; older dumps, seen up to OTP 24) */
	const char *unknown_sections; /* tags this reader does not know, read past:
				       * "proc_signals (2), foo (1)", or NULL */
} bd_node_info;

typedef struct bd_memory {
	uint64_t total, processes, processes_used, system, atom, atom_used, binary, code,
		ets, maximum;
} bd_memory;

/* =hash_table / =index_table rows, and the limits we know. */
typedef struct bd_table_stat {
	const char *name;             /* atom_tab, module_code, ... */
	int index;                    /* 1 = index_table, 0 = hash_table */
	uint64_t size, used, objs, depth, limit, entries;
	uint64_t rate;                /* index tables of old dumps (growth step) */
} bd_table_stat;

typedef struct bd_limits {
	uint64_t atoms, atoms_limit;   /* atoms_limit from =index_table:atom_tab */
	uint64_t procs, procs_limit;   /* procs = =proc sections; limit unknown in text dumps */
	uint64_t ports, ports_limit;
	uint64_t ets, ets_limit;
} bd_limits;

/* ---- schedulers ---- */
typedef enum {
	BD_SCHED_NORMAL,
	BD_SCHED_DIRTY_CPU,
	BD_SCHED_DIRTY_IO,
	BD_SCHED_DIRTY_CPU_RQ, /* =dirty_cpu_run_queue (no id) */
	BD_SCHED_DIRTY_IO_RQ,
	BD_SCHED_OTHER
} bd_sched_type;

typedef struct bd_sched {
	uint32_t id;
	bd_sched_type type;
	const char *sleep_flags, *aux_work, *current_port;
	uint64_t rq_max, rq_high, rq_normal, rq_low, rq_port;
	const char *rq_flags;
	bd_pid current;                  /* BD_PID_NONE if idle */
	const char *current_state, *current_internal, *current_pc;
	uint32_t trace_first, trace_count; /* into bd_model_strings(): stack trace lines */
	int crashed;                     /* "** crashed **" */
	double utilization;              /* busy share 0..1 between two samples (live), NaN if unknown */
} bd_sched;

/* ---- processes ---- */
typedef enum {
	BD_PS_UNKNOWN,
	BD_PS_RUNNING,
	BD_PS_SCHEDULED,
	BD_PS_WAITING,
	BD_PS_EXITING,
	BD_PS_GARBING,
	BD_PS_SUSPENDED,
	BD_PS_NONEXISTING,
	BD_PS_UNDEFINED,
	BD_PS__COUNT
} bd_proc_state;

typedef enum {
	BD_LINK,         /* link to pid or port */
	BD_MON_TO,       /* this process monitors target */
	BD_MON_FROM,     /* target monitors this process */
	BD_MON_NODE,     /* monitor_node */
} bd_link_kind;

typedef enum {
	BD_TGT_PID,
	BD_TGT_PORT,
	BD_TGT_NAME,     /* {Name,Node} */
	BD_TGT_RESOURCE, /* {Module,Type} of a NIF resource, or a pointer */
	BD_TGT_NODE,
} bd_target_kind;

typedef struct bd_link {
	uint8_t kind;        /* bd_link_kind */
	uint8_t target_kind; /* bd_target_kind */
	bd_pid id;           /* pid or port */
	const char *name;    /* registered name / resource / node name */
	const char *node;    /* node of a {Name,Node} */
	const char *ref;     /* #Ref<...> text or NULL */
} bd_link;

/* One row of the process table: what the overview commands and the analyses read
 * for every process. Kept small (a node may have millions of processes); what only
 * a one-process view needs is in bd_proc_ext. */
typedef struct bd_proc {
	bd_pid pid;
	bd_proc_state state;
	bd_pid spawned_by;
	uint32_t link_count;       /* links and monitors: link_first.. in bd_model_links() */
	const char *name;          /* registered name or NULL */
	const char *spawned_as;    /* "M:F/A" */
	const char *current_call;  /* "Current call" or "Last scheduled in for" */
	const char *pc;            /* Program counter location: "M:F/A + off" or "<...>" */
	const char *pc_mfa;        /* the "M:F/A" part of pc, or NULL */
	uint64_t msgq_len, reductions;
	uint64_t memory;           /* bytes */
	uint64_t stack_heap, old_heap, heap_frag_data; /* words */
	uint64_t bin_vheap, old_bin_vheap;              /* words */
	uint32_t link_first;
	bd_span sec_messages, sec_dictionary, sec_stack, sec_heap; /* len 0 = none */
	uint64_t src_off;          /* where the =proc section starts (for messages) */
} bd_proc;

/* The rest of a process's header, for one-process views (proc --json and text). */
typedef struct bd_proc_ext {
	const char *internal_state;
	const char *last_calls;    /* "m:f/a, m:f/a, ..." or NULL */
	uint64_t heap_unused, old_heap_unused;           /* words */
	uint64_t bin_vheap_unused, old_bin_vheap_unused; /* words */
	uint64_t heap_frags, arity;
	const char *application;   /* owning application when the source says it exactly
				    * (a live capture: the group leader is the application
				    * master), else NULL; text dumps have no group leaders */
	const char *started;       /* "Started:" (ctime text; dumps up to OTP 20) */
	const char *cp;            /* "CP:" continuation pointer next to the program counter */
	const char *run_queue;     /* "Run queue:" (OTP 17-19 dumps) */
} bd_proc_ext;

/* ---- ports ---- */
typedef struct bd_port {
	bd_pid id;
	const char *state, *task_flags, *name;
	uint64_t slot;
	bd_pid connected;
	uint32_t link_first, link_count; /* links and monitors, into bd_model_links() */
	const char *kind;   /* "driver", "external", "forker", "fd", or NULL */
	const char *driver; /* driver name (tcp_inet ...) or command text */
	uint64_t input, output, queue;
	const char *port_data;
} bd_port;

/* ---- ETS ---- */
typedef struct bd_ets {
	bd_pid owner;
	const char *table;    /* tid: name or #Ref<...> */
	const char *name;
	uint64_t slot, objects, words, buckets, chain_max, chain_min, fixed;
	double chain_avg, chain_stddev, chain_expected_stddev; /* NaN if unknown */
	const char *type, *protection, *compressed, *write_concurrency, *read_concurrency;
	uint32_t tree_nodes;  /* "Ordered set (AVL tree)" lines: >1 means CA tree */
	int named;            /* table == name */
} bd_ets;

typedef struct bd_timer {
	const char *owner;    /* pid text or registered name */
	bd_pid owner_pid;
	const char *message;
	uint64_t time_left_ms;
} bd_timer;

typedef enum { BD_DIST_VISIBLE, BD_DIST_HIDDEN, BD_DIST_NOT_CONNECTED } bd_dist_kind;
typedef struct bd_dist {
	bd_dist_kind kind;
	uint32_t channel;
	const char *name, *controller, *creation;
	uint32_t remote_links, remote_monitors, remotely_monitored_by;
	/* The entries themselves, into bd_model_string(): "link <remote> <local>",
	 * "monitoring <local> <remote|{Name,Node}|Node>", "monitored_by <local> <remote>". */
	uint32_t entry_first, entry_count;
} bd_dist;

typedef struct bd_module {
	const char *name;
	uint64_t current_size, old_size;
	bd_span attributes, compile_info; /* encoded external terms (lazy) */
	bd_span old_attributes, old_compile_info; /* the same of the old code, if any */
} bd_module;

typedef struct bd_fun {
	const char *module;
	uint64_t uniq, index, refc;
	const char *address;
} bd_fun;

typedef struct bd_binary {
	uint64_t addr;
	uint64_t size;   /* bytes */
	bd_span data;    /* base64 (0.5) or hex text; may be shorter than size (truncated) */
} bd_binary;

/* One statistics line of an =allocator section: "key: v1 [v2 v3]". */
typedef struct bd_alloc_stat {
	const char *alloc;    /* "binary_alloc" */
	int instance;         /* [N], -1 when none */
	const char *key;      /* "mbcs blocks[binary_alloc] size" */
	uint64_t v[3];        /* current, last max, max (BD_UNKNOWN when absent) */
	const char *text;     /* the raw value when not numeric (options, versions) */
} bd_alloc_stat;

typedef struct bd_area {
	const char *name;
	uint64_t allocated, used;
} bd_area;

/* ---- opening ---- */

/* Open any supported input by its content: erl_crash.dump text (also zstd-compressed),
 * .bdump snapshot. "-" reads standard input. A truncated input still opens (returns 0)
 * with info->truncated set. Errors: BD_EIO (cannot read), BD_EUNSUPPORTED (not a dump,
 * pre-R10B dump, encrypted dump), BD_ECORRUPT, BD_ENOMEM. May allocate; may block. */
int bd_model_open(bd_model **out, const char *path, bd_error *err);

/* How to open an input (bd_model_open_ex). Start from BD_OPEN_OPTS_INIT.
 *
 * The model cache: reading a text dump (also .zst, .gz) leaves its tables in a cache
 * directory, keyed by the file's real path, device, inode, size and mtime; the next
 * open of the same unchanged file reads them back (milliseconds, whatever the dump's
 * size) and maps the dump only for what it decodes lazily. A cache that is stale,
 * damaged or from another build is not used (and is written again). The directory is
 * cache_dir, else $XDG_CACHE_HOME/beamdump, else ~/.cache/beamdump; it holds at most
 * cache_max bytes (else $BEAMDUMP_CACHE_MAX, e.g. "500M", else 2 GiB), oldest first
 * out. The cache is written on a second thread while the caller works on the model;
 * bd_model_free waits for it. Standard input and snapshots are never cached. */
typedef struct bd_open_opts {
	unsigned version;      /* BD_OPEN_OPTS_VERSION */
	int cache;             /* 1: use and fill the model cache */
	const char *cache_dir; /* NULL: the default */
	uint64_t cache_max;    /* 0: the default */
	int mailboxes;         /* 1: summarise the longest mailboxes of a text dump while it
				* is read, on another thread (for bd_analyze, which needs them) */
} bd_open_opts;
#define BD_OPEN_OPTS_VERSION 1
#define BD_OPEN_OPTS_INIT {BD_OPEN_OPTS_VERSION, 0, NULL, 0, 0}
/* bd_model_open with options; o may be NULL (the defaults: no cache). Also BD_EUSAGE
 * (bad options version). */
int bd_model_open_ex(bd_model **out, const char *path, const bd_open_opts *o, bd_error *err);
/* 1 when m was read from the model cache. */
int bd_model_cached(const bd_model *m);
/* Open an input held in memory: the same formats as bd_model_open except zstd (the
 * bytes are read in place, never past size). data is borrowed and must outlive the
 * model; name is used in messages (NULL: "<memory>"). Same errors. */
int bd_model_open_mem(bd_model **out, const void *data, size_t size, const char *name,
		      bd_error *err);
void bd_model_free(bd_model *m);

/* ---- tables (borrowed; valid until bd_model_free) ---- */
const bd_node_info *bd_model_node(const bd_model *m);
const bd_memory *bd_model_memory(const bd_model *m);
const bd_limits *bd_model_limits(const bd_model *m);
const bd_table_stat *bd_model_table_stats(const bd_model *m, size_t *n);
const bd_sched *bd_model_scheds(const bd_model *m, size_t *n);
const bd_proc *bd_model_procs(const bd_model *m, size_t *n);
const bd_link *bd_model_links(const bd_model *m, size_t *n);
const bd_port *bd_model_ports(const bd_model *m, size_t *n);
const bd_ets *bd_model_ets(const bd_model *m, size_t *n);
const bd_timer *bd_model_timers(const bd_model *m, size_t *n);
const bd_dist *bd_model_dists(const bd_model *m, size_t *n);
const bd_module *bd_model_modules(const bd_model *m, size_t *n);
const bd_fun *bd_model_funs(const bd_model *m, size_t *n);
const bd_binary *bd_model_binaries(const bd_model *m, size_t *n);
const bd_alloc_stat *bd_model_alloc_stats(const bd_model *m, size_t *n);
const bd_area *bd_model_areas(const bd_model *m, size_t *n);
/* Loose strings referenced by index (stack traces, last calls). */
const char *bd_model_string(const bd_model *m, uint32_t idx);
/* Count of sections per tag seen in the source, e.g. "proc" -> 41. 0 if none. */
uint64_t bd_model_section_count(const bd_model *m, const char *tag);

/* The bd_proc_ext of p (a row of m). A text dump's is read again from the dump on
 * each call (a few hundred bytes), so call it for the processes you show, not for
 * every process. Unknown values are BD_UNKNOWN / NULL. Returns 0, or BD_ENOTFOUND when
 * p is not a row of m (out is then all unknown). Thread-safe on one model. */
int bd_proc_ext_get(const bd_model *m, const bd_proc *p, bd_proc_ext *out);

/* ---- lookups ---- */
/* Find a process by "<0.85.0>", "0.85.0", "#PID<0.85.0>" or registered name, quoted
 * or not ('Elixir.Foo.Bar', Elixir.Foo.Bar, or the alias Foo.Bar). NULL if none. */
const bd_proc *bd_proc_find(const bd_model *m, const char *pid_or_name);
const bd_proc *bd_proc_by_pid(const bd_model *m, bd_pid pid);
const bd_binary *bd_binary_find(const bd_model *m, uint64_t addr);
/* Node name of a remote pid's channel (from =visible_node etc.), else NULL. */
const char *bd_pid_node(const bd_model *m, bd_pid pid);
/* Name of a pid for display: registered name, else NULL. */
const char *bd_pid_name(const bd_model *m, bd_pid pid);

/* Atoms in creation order (oldest first) as printed by the VM (quoted when needed).
 * Calls fn for each; stops early when fn returns non-zero. Returns the count seen. */
uint64_t bd_model_atoms_each(const bd_model *m, int (*fn)(void *ud, const char *atom,
								   size_t len),
			     void *ud);

/* Raw bytes of a lazy span. Borrowed; valid until bd_model_free. */
int bd_model_span_text(const bd_model *m, bd_span s, const char **out, size_t *len);

/* Bytes of a refc binary (decoded from base64/hex) into buf, at most cap bytes from
 * offset. Returns bytes written or a negative error. */
int64_t bd_binary_read(const bd_model *m, const bd_binary *b, uint64_t offset, void *buf,
		       size_t cap);

/* ---- formatting helpers ---- */
/* "<0.85.0>" into buf (>= 40 bytes). Returns buf. */
char *bd_pid_fmt(bd_pid p, char *buf, size_t cap);
char *bd_port_fmt(bd_pid p, char *buf, size_t cap);
/* Parse "<a.b.c>" or "a.b.c" (or "#Port<a.b>" with port=1). 0 on success. */
int bd_pid_parse(const char *s, size_t len, bd_pid *out);
const char *bd_proc_state_name(bd_proc_state s);
/* Major OTP release of the node: 25 for "25", 16 for "R16B03"; 0 if unknown. */
int bd_node_otp_major(const bd_node_info *n);

#ifdef __cplusplus
}
#endif
#endif
