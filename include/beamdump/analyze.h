/* Analyses over the model: allocator arithmetic and findings (what went wrong, who
 * did it, with the evidence). */
#ifndef BEAMDUMP_ANALYZE_H
#define BEAMDUMP_ANALYZE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "term.h"

#ifdef __cplusplus
extern "C" {
#endif

/* recon_alloc's arithmetic over the =allocator sections, current values.
 * used = blocks size (mbcs + mbcs_pool + sbcs), allocated = carriers size. */
typedef struct bd_alloc_sum {
	const char *alloc;        /* "binary_alloc"; NULL row = total */
	int instance;             /* -1 = all instances of alloc summed */
	uint64_t used, allocated; /* bytes, current */
	uint64_t used_max, allocated_max;
	uint64_t mbcs_used, mbcs_allocated, sbcs_used, sbcs_allocated;
	uint64_t calls;           /* <alloc>_alloc calls */
} bd_alloc_sum;

/* One row per allocator type (instances summed), sorted by allocated bytes, largest
 * first, plus per-instance rows when per_instance. Caller frees *out with free().
 * Returns 0 or BD_ENOMEM. May allocate. */
int bd_alloc_summarize(const bd_model *m, int per_instance, bd_alloc_sum **out, size_t *n);

/* ---- slogans (erl-crash-dump-format.md §5) ---- */

#define BD_SLOGAN_CLASSES(X)                                                        \
	X(BD_SL_NONE, "none")                     /* empty slogan */                 \
	X(BD_SL_ALLOC_OOM, "allocator_oom")       /* <alloc>: Cannot allocate N ... */ \
	X(BD_SL_HEAP_LIMIT, "heap_limit")         /* no next heap size found */      \
	X(BD_SL_INDEX_TABLE, "index_table_full")  /* no more index entries in T */   \
	X(BD_SL_KERNEL_PID, "kernel_pid_terminated")                                 \
	X(BD_SL_KERNEL_START, "kernel_pid_start_failure")                            \
	X(BD_SL_BOOT, "boot_failure")             /* init terminating in do_boot */  \
	X(BD_SL_SIGUSR1, "sigusr1")                                                  \
	X(BD_SL_USER_BREAK, "break_menu")         /* Crash dump requested by user */ \
	X(BD_SL_SYSTEM_PROCESS, "system_process_terminated")                         \
	X(BD_SL_CHILD_SETUP, "child_setup_failure")                                  \
	X(BD_SL_THREAD, "thread_failure")                                            \
	X(BD_SL_DIST_BUFFER, "dist_buffer")                                          \
	X(BD_SL_INTERNAL, "internal_error")      /* VM bug or memory corruption */   \
	X(BD_SL_HALT, "halt")                    /* erlang:halt/1 with any text */  \
	X(BD_SL_NATIVE, "native_crash")          /* no dump: a core or guard snapshot */

typedef enum {
#define BD_X(e, s) e,
	BD_SLOGAN_CLASSES(BD_X)
#undef BD_X
	BD_SL__COUNT
} bd_slogan_class;

/* A slogan split into its parts. Strings point into the fixed arrays or into the
 * slogan text given to bd_slogan_parse (which must outlive this record). */
typedef struct bd_slogan {
	bd_slogan_class cls;
	const char *text;          /* the whole slogan */
	char allocator[40];        /* ALLOC_OOM: "eheap_alloc" */
	char block_type[40];       /* ALLOC_OOM: "heap", "binary", "db_term" */
	uint64_t bytes;            /* ALLOC_OOM: requested bytes; BD_UNKNOWN if absent */
	char table[40];            /* INDEX_TABLE: "atom_tab" */
	uint64_t max;              /* INDEX_TABLE: max=N; BD_UNKNOWN if absent */
	char kernel_pid[64];       /* KERNEL_PID / KERNEL_START: "application_controller" */
	char application[64];      /* application named in the reason, "" if none */
	char reason_tag[64];       /* first element of the reason: the atom when it is one
				    * ("application_start_failure"), else its text
				    * ("cannot get bootfile") */
	const char *reason;        /* the reason text (not NUL-terminated at reason_len) */
	size_t reason_len;
	int system_limit;          /* the text mentions system_limit, emfile or enfile */
	char unquoted[2048];       /* OTP 26+ quote the reason ("(\"{...}\")"): reason then
				    * points here, unescaped (cut at the buffer's size) */
} bd_slogan;

/* Classify a slogan (NULL is treated as empty). Never fails. Async-signal-unsafe
 * only because of snprintf; does not allocate. */
void bd_slogan_parse(const char *slogan, bd_slogan *out);
const char *bd_slogan_class_name(bd_slogan_class c);

/* ---- findings ---- */

/* Kind names are part of the JSON interface: never rename, only add. */
#define BD_FINDING_KINDS(X)                                \
	X(BD_F_HEAP_OOM, "heap_oom")                       \
	X(BD_F_ALLOCATOR_OOM, "allocator_oom")             \
	X(BD_F_ATOM_EXHAUSTION, "atom_exhaustion")         \
	X(BD_F_PROCESS_LIMIT, "process_limit")             \
	X(BD_F_PORT_LIMIT, "port_limit")                   \
	X(BD_F_ETS_LIMIT, "ets_limit")                     \
	X(BD_F_ETS_GROWTH, "ets_growth")                   \
	X(BD_F_MAILBOX_OVERLOAD, "mailbox_overload")       \
	X(BD_F_BINARY_LEAK, "binary_leak")                 \
	X(BD_F_BINARY_PINNING, "binary_pinning")           \
	X(BD_F_DEADLOCK, "deadlock")                       \
	X(BD_F_BLOCKED_CALL, "blocked_call")               \
	X(BD_F_SUPERVISOR_SHUTDOWN, "supervisor_shutdown") \
	X(BD_F_BOOT_FAILURE, "boot_failure")               \
	X(BD_F_SCHEDULER_OVERLOAD, "scheduler_overload")   \
	X(BD_F_MEMORY_FRAGMENTATION, "memory_fragmentation") \
	X(BD_F_MANUAL_DUMP, "manual_dump")                 \
	X(BD_F_TRUNCATED_DUMP, "truncated_dump")           \
	X(BD_F_VM_ERROR, "vm_error") /* VM-level exit that fits no other kind */ \
	X(BD_F_NATIVE_CRASH, "native_crash") /* killed by a signal: core / crash guard */ \
	X(BD_F_PROCESS_LEAK, "process_leak")               \
	X(BD_F_MEMORY_HOG, "memory_hog")                   \
	X(BD_F_TIMER_LEAK, "timer_leak")                   \
	X(BD_F_ETS_LEAK, "ets_leak")                       \
	X(BD_F_BUSY_PORT, "busy_port")                     \
	X(BD_F_MEMORY_ALARM, "memory_alarm")               \
	X(BD_F_BUSY_DIST_PORT, "busy_dist_port")           \
	X(BD_F_LOGGER_OVERLOAD, "logger_overload")         \
	X(BD_F_FD_LEAK, "fd_leak")                         \
	X(BD_F_CALL_TIMEOUT, "call_timeout")               \
	X(BD_F_MONITOR_LEAK, "monitor_leak")               \
	X(BD_F_POSTPONED_EVENTS, "postponed_events")

typedef enum {
#define BD_X(e, s) e,
	BD_FINDING_KINDS(BD_X)
#undef BD_X
	BD_F__COUNT
} bd_finding_kind;

typedef enum { BD_SEV_INFO = 0, BD_SEV_WARNING = 1, BD_SEV_CRITICAL = 2 } bd_severity;

const char *bd_finding_kind_name(bd_finding_kind k);
/* Kind for a name, or -1. */
int bd_finding_kind_parse(const char *name);
const char *bd_severity_name(bd_severity s);

/* One piece of evidence: a named number or string. The type tells renderers how to
 * print it; JSON prints numbers as numbers (bytes in bytes, percents 0..100). */
typedef enum {
	BD_EV_COUNT,   /* u: a count */
	BD_EV_BYTES,   /* u: bytes */
	BD_EV_PERCENT, /* d: 0..100 */
	BD_EV_NUMBER,  /* d: any other number */
	BD_EV_TEXT,    /* s: names, terms, MFAs */
} bd_ev_type;

typedef struct bd_evidence {
	const char *key; /* snake_case, unique within a finding */
	bd_ev_type type;
	union {
		uint64_t u;
		double d;
		const char *s;
	} v;
} bd_evidence;

/* Who a finding is about. For a process: pid and its supervision context; for a
 * table, allocator or port the name (and pid for a port). Unknown fields are NULL. */
typedef struct bd_subject {
	const char *type;             /* "process", "port", "ets", "allocator", "node",
				       * "atoms", "application", "scheduler" */
	bd_pid pid;                   /* process or port id; BD_PID_NONE otherwise */
	const char *name;             /* registered name, table, allocator, application */
	const char *label;            /* process without a registered name: the name it is
				       * known by (bd_proc_name: a label, process_name, via
				       * name), else NULL */
	const char *initial_call;     /* "M:F/A": $initial_call when known, else Spawned as */
	const char *current_function; /* "M:F/A" from the program counter */
	const char *application;      /* owning application (heuristic, docs/json.md) */
	const char *const *ancestors; /* supervisor chain from $ancestors, parent first */
	uint32_t nancestors;
	const char *const *links;     /* linked processes and ports ("name <pid>"), <= 8 */
	uint32_t nlinks;
	uint32_t links_total;         /* all links, when there are more than listed */
	const char *role;             /* for related subjects: "producer", "callee"... */
} bd_subject;

typedef struct bd_finding {
	bd_finding_kind kind;
	bd_severity severity;
	double score;                 /* ranking: higher = more likely the cause */
	bd_subject subject;
	const bd_subject *related;    /* other processes involved (cycle members...) */
	uint32_t nrelated;
	const char *title;            /* one line, with the key numbers */
	const bd_evidence *evidence;
	uint32_t nevidence;
	const char *advice;           /* one line */
	const char *const *details;   /* extra lines for verbose output */
	uint32_t ndetails;
} bd_finding;

typedef struct bd_findings {
	const bd_finding *items;      /* ranked: items[0] is the most likely cause */
	size_t n;
	bd_slogan slogan;
	const char *verdict;          /* one line summary */
	uint64_t procs_decoded;       /* heaps opened (cost indicator) */
	struct bd_an_priv *priv;
} bd_findings;

/* Options, versioned: start from BD_ANALYZE_OPTS_INIT. Zero fields take defaults. */
typedef struct bd_analyze_opts {
	unsigned version;
	uint32_t deep_procs;      /* candidates whose heaps an analysis may decode (16) */
	uint64_t exhaustive_size; /* scan every heap for binaries below this dump size
				   * (64 MB) */
	uint32_t max_findings;    /* (40) */
} bd_analyze_opts;
#define BD_ANALYZE_OPTS_VERSION 1
#define BD_ANALYZE_OPTS_INIT {BD_ANALYZE_OPTS_VERSION, 0, 0, 0}

/* Run every analysis over m and rank the findings. *out is owned by the caller
 * (bd_findings_free); its strings live until then, and may point into m, so m must
 * outlive *out. A damaged or truncated model never fails: what cannot be read is
 * skipped. Errors: BD_ENOMEM, BD_EUSAGE (bad opts version). May allocate. */
int bd_analyze(const bd_model *m, const bd_analyze_opts *o, bd_findings **out,
	       bd_error *err);
void bd_findings_free(bd_findings *f);

/* ---- refc binaries and the processes that hold them ---- */

/* Refc binary bytes of p as (BinVHeap + OldBinVHeap) x word size say, never more than
 * erlang:memory(binary): the VM adds the whole binary's size for every reference
 * (ProcBin) a process holds, garbage included, so 300,000 messages cut from one buffer
 * count it 300,000 times. *clamped (may be NULL) is set when the value was cut to the
 * node's binary memory (then it is an upper bound, not a measurement). BD_UNKNOWN
 * when both are unknown. What top --by binary and diff show. */
uint64_t bd_proc_binary_bytes(const bd_model *m, const bd_proc *p, int *clamped);

/* A process that references binaries the dump does not contain: on OTP <= 26 a Ys
 * slice whose binary the writer had not visited yet names a Binary* without a
 * =binary section. */
typedef struct bd_bin_missing {
	const bd_proc *proc;
	uint64_t binaries;    /* distinct binaries it references that are not dumped */
	uint64_t bytes;       /* estimate: (BinVHeap + OldBinVHeap) x word size minus the
			       * dumped binaries it references (garbage included) */
} bd_bin_missing;

/* Who references which refc binary, reconstructed from the Yc / Ys lines of the
 * process heaps (a dump has no refcounts). The processes scanned are the ones
 * bd_analyze scans: all of them when the dump is under opts->exhaustive_size, else
 * the opts->deep_procs largest BinVHeap holders with >= 1 MB; counts are then lower
 * bounds. Holder counts are per process: a process referencing a binary twice
 * counts once. */
typedef struct bd_bin_refs {
	size_t scanned;                 /* processes whose heaps were read */
	int complete;                   /* every process was scanned */
	uint64_t missing;               /* distinct binaries referenced but not dumped */
	uint64_t missing_bytes;         /* sum of the holders' estimates */
	const bd_bin_missing *missing_holders; /* largest estimate first */
	size_t nmissing_holders;
	struct bd_bin_refs_priv *priv;
} bd_bin_refs;

/* Build the reference table of m. *out is owned by the caller (bd_bin_refs_free) and
 * points into m, so m must outlive it. o may be NULL (defaults). Errors: BD_ENOMEM,
 * BD_EUSAGE (bad opts version). Reads heap text of the scanned processes; allocates. */
int bd_bin_refs_build(bd_bin_refs **out, const bd_model *m, const bd_analyze_opts *o,
		      bd_error *err);
/* Scanned processes that reference the binary at addr (its reconstructed refcount);
 * the first cap of them into procs (may be NULL), largest BinVHeap first. */
uint64_t bd_bin_refs_holders(const bd_bin_refs *r, uint64_t addr, const bd_proc **procs,
			     size_t cap);
void bd_bin_refs_free(bd_bin_refs *r);

/* ---- the name of a process ---- */

/* Where a process name came from, worst to best: callers may compare (a source of
 * BD_PNAME_VIA or better names this very process; the ones below name its kind). */
typedef enum {
	BD_PNAME_PID,          /* nothing better: its pid */
	BD_PNAME_SPAWNED_AS,   /* the MFA it was spawned as (erlang:apply/2, ...) */
	BD_PNAME_INITIAL_CALL, /* '$initial_call' of a proc_lib process: "mod:init/1" */
	BD_PNAME_VIA,          /* the global or {via, M, Name} name of a gen_server or
				* gen_statem: {Registry, Key} for Elixir's Registry */
	BD_PNAME_PROCESS_NAME, /* a 'process_name' dictionary entry (RabbitMQ): "Type: Id",
				* a #resource{} as "queue 'orders' in vhost '/'" */
	BD_PNAME_LABEL,        /* proc_lib:set_label/1 (OTP 27), Elixir's Process.set_label/1:
				* '$process_label', printed as a term */
	BD_PNAME_REGISTERED,   /* erlang:register/2 */
} bd_pname_source;

/* The best name of p for people, as top, analyze, diff and report show it: its
 * registered name; else its label ('$process_label'); else a 'process_name'
 * dictionary entry; else the via/global name its gen_server or gen_statem loop was
 * started with; else '$initial_call'; else the MFA it was spawned as; else its pid.
 * Written NUL-terminated into buf (cut to cap - 1 bytes; 160 is plenty); returns its
 * source. Terms are printed in Erlang syntax, shortened.
 *
 * h: p's decoding context when the caller has one open (bd_heap_open on p), else
 * NULL: then one is opened and freed here, only if p has a dictionary (plain spawns
 * cost nothing). Decodes only the dictionary entries it needs and the first stack
 * frame's name slot, never the whole state, so it is cheap enough for every row a
 * command prints; for every process of a million-process dump, budget it.
 * Never fails (the pid is the last resort). Allocates only through h. */
bd_pname_source bd_proc_name(const bd_model *m, const bd_proc *p, bd_heap *h, char *buf,
			     size_t cap);
/* "registered", "label", "process_name", "via", "initial_call", "spawned_as", "pid". */
const char *bd_pname_source_name(bd_pname_source s);

/* ---- behaviour state (a post-mortem sys:get_state/1) ---- */

typedef struct bd_gen_state {
	const char *behaviour;      /* "gen_server", "gen_statem", "gen_event", "supervisor" */
	char module[128];           /* callback module as the VM prints the atom (quoted
				     * when needed: 'Elixir.My.Counter'), "" if unknown */
	const bd_term *state;       /* gen_server State, gen_statem Data, gen_event handler
				     * list, supervisor #state record */
	const bd_term *state_name;  /* gen_statem state, else NULL */
	const char *frame;          /* stack frame the state was read from */
	int y;                      /* its y register */
	int in_callback;            /* a callback was running: this is the state before
				     * the message being handled */
} bd_gen_state;

/* Read the behaviour state of p from its stack, through h (bd_heap_open on p). Terms
 * live in h. Errors: BD_ENOTFOUND (no stack, or not a known behaviour loop). */
int bd_gen_state_read(bd_heap *h, const bd_model *m, const bd_proc *p, bd_gen_state *out,
		      bd_error *err);

/* ---- atoms by name pattern (the clustering of atom_exhaustion) ---- */

typedef struct bd_atom_cluster {
	char pattern[64];         /* "user_<N>", "<uuid>", "0x<hex>" */
	char first[48], last[48]; /* examples: the oldest and the newest member */
	uint64_t count;
	uint64_t first_pos;       /* creation index of the oldest member */
} bd_atom_cluster;

typedef struct bd_atom_stats {
	uint64_t atoms;           /* atoms in the dump */
	uint64_t plain;           /* words with no generated part (ok, gen_server) */
	uint64_t unclustered;     /* generated names beyond the cluster table's cap */
	bd_atom_cluster *clusters;/* generated patterns, largest first */
	size_t n;
} bd_atom_stats;

/* Cluster the atoms of m by pattern (bd_atom_pattern). *out is the caller's
 * (bd_atom_stats_free). Errors: BD_ENOMEM. Walks every atom; allocates. */
int bd_atom_stats_build(bd_atom_stats **out, const bd_model *m, bd_error *err);
void bd_atom_stats_free(bd_atom_stats *s);

/* ---- supervision tree and applications (observer's Applications tab) ---- */

#define BD_NO_PROC UINT32_MAX

/* How a process found its parent. */
typedef enum {
	BD_VIA_NONE,           /* a root: no ancestors, spawner not in the dump */
	BD_VIA_ANCESTORS,      /* first resolvable entry of $ancestors */
	BD_VIA_SPAWNER,        /* Spawned by */
	BD_VIA_ANCESTORS_GONE, /* $ancestors names processes the dump does not have */
	BD_VIA_CYCLE,          /* its parent edge closed a cycle (damaged dump) and was cut */
	BD_VIA_APP_CONTROLLER, /* an application master: under application_controller */
} bd_parent_via;

/* One process in the tree; indices are into bd_model_procs(). */
typedef struct bd_proc_place {
	uint32_t parent;          /* supervisor / starter, or BD_NO_PROC for a root */
	uint32_t first_child;     /* children by subtree memory, largest first */
	uint32_t next_sibling;
	uint32_t app;             /* index into bd_proc_tree.apps, or BD_NO_PROC */
	const char *initial_call; /* $initial_call "M:F/A" of proc_lib processes, else
				   * Spawned as; NULL if unknown */
	uint8_t via;              /* bd_parent_via */
	uint8_t supervisor;       /* its $initial_call is supervisor:Mod/1 */
	uint64_t memory;          /* bytes (Memory, else heap words x word size) */
	uint64_t subtree_procs;   /* this process and everything below it */
	uint64_t subtree_memory;  /* bytes */
} bd_proc_place;

typedef struct bd_app {
	const char *name;         /* as the VM prints the atom */
	uint32_t master;          /* its application_master process, or BD_NO_PROC (a live
				   * capture that names the application but not its master) */
	uint64_t procs, memory;   /* processes attributed to it, their memory (bytes) */
} bd_app;

typedef struct bd_proc_tree {
	const bd_proc_place *place; /* one per process, in bd_model_procs() order */
	size_t nprocs;
	const bd_app *apps;         /* by memory, largest first */
	size_t napps;
	uint64_t other_procs, other_memory; /* processes of no application */
	uint64_t decoded;           /* dictionaries read */
	uint64_t degraded;          /* dictionaries not read (budget, time): placed by
				     * Spawned by, known by Spawned as */
	struct bd_proc_tree_priv *priv;
	uint64_t inferred;          /* of the degraded, proc_lib processes given the
				     * $initial_call that every read sibling (same spawner,
				     * at least 3 read) has */
} bd_proc_tree;

/* Options, versioned: start from BD_PROC_TREE_OPTS_INIT. Zero fields take defaults. */
typedef struct bd_proc_tree_opts {
	unsigned version;
	uint32_t max_decodes;     /* dictionaries read (1,000,000) */
	uint64_t max_heap_bytes;  /* heap bytes opened for them in all (1 GiB) */
	uint64_t max_heap_one;    /* no dictionary read from a bigger heap (64 MiB) */
	double max_seconds;       /* stop reading dictionaries after this long (0: no
				   * limit); the most useful are read first: processes
				   * whose spawner is gone, then the largest */
} bd_proc_tree_opts;
#define BD_PROC_TREE_OPTS_VERSION 1
#define BD_PROC_TREE_OPTS_INIT {BD_PROC_TREE_OPTS_VERSION, 0, 0, 0, 0}

/* Place every process of m under its parent and attribute it to an application
 * (see analyze/proctree.c for the rules). *out is owned by the caller
 * (bd_proc_tree_free) and points into m, so m must outlive it. o may be NULL.
 * Errors: BD_ENOMEM, BD_EUSAGE (bad opts version). Reads the dictionaries of the
 * processes that have one (bounded by o); allocates. */
int bd_proc_tree_build(bd_proc_tree **out, const bd_model *m, const bd_proc_tree_opts *o,
		       bd_error *err);
void bd_proc_tree_free(bd_proc_tree *t);

#ifdef __cplusplus
}
#endif
#endif
