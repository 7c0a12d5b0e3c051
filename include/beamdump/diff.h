/* Comparing snapshots: what appeared, disappeared and grew between two models
 * (beamdump diff, recon's proc_window across dumps), and the CI leak gate over two or
 * three of them (beamdump ci: baseline, current, optional final as in memlab).
 *
 * Processes are matched by a key, not by pid, so that two dumps of two runs of the
 * same program line up: registered name; else the pattern of its label (proc_lib
 * label, process_name, via name; see BD_KEY_LABEL); else $initial_call (or Spawned
 * as) plus the registered names among $ancestors; else the pid. Processes sharing a
 * key form a group compared by count and sums ("40 more ci_app:session_init/1
 * processes"). */
#ifndef BEAMDUMP_DIFF_H
#define BEAMDUMP_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- atom clustering (shared with analyze/atoms.c) ---- */

/* Pattern of one atom (unquoted bytes): runs of digits become <N>, hex ids <hex>,
 * 0x.. 0x<hex>, UUIDs <uuid>, so "user_1734" -> "user_<N>". Writes at most cap-1
 * bytes + NUL into key. Returns 1 if a placeholder was put in (a generated name).
 * Does not allocate; async-signal-safe. */
int bd_atom_pattern(const char *atom, size_t len, char *key, size_t cap);

/* ---- diff ---- */

/* LABEL: the pattern (bd_atom_pattern: numbers as <N>...) of a label, process_name or
 * via name (bd_proc_name), used when the processes of one initial call carry at most a
 * few distinct such patterns (named queues, workers); labels that differ per process
 * (one per connection) would make groups of one, so those processes keep the CALL key
 * and a leak of them still shows as one growing group. */
typedef enum { BD_KEY_NAME, BD_KEY_CALL, BD_KEY_PID, BD_KEY_LABEL } bd_key_kind;
const char *bd_key_kind_name(bd_key_kind k); /* "name", "call", "pid", "label" */

/* Sums over the members of a group on one side. Unknown values count as 0. */
typedef struct bd_diff_procs {
	uint64_t count;
	uint64_t memory;      /* bytes */
	uint64_t msgq;        /* messages */
	uint64_t reductions;
	uint64_t binary;      /* BinVHeap + OldBinVHeap, bytes */
	uint64_t heap;        /* Stack+heap + OldHeap, bytes */
} bd_diff_procs;

typedef struct bd_diff_pgroup {
	const char *key;           /* display key: "audit_log", "ci_app:session_init/1",
				    * "ci_app:pool_worker/1 < conn_pool", "<0.85.0>" */
	bd_key_kind kind;
	const char *current_function; /* of one member (B's if any) */
	bd_pid example_a, example_b;  /* one member per side (B: a new one if any) */
	bd_diff_procs a, b;
	uint64_t added, removed;   /* members whose pid is not in the group on the other
				    * side (within one node's series these are exact) */
} bd_diff_pgroup;

/* ETS tables grouped by table name and owner key. */
typedef struct bd_diff_etsgroup {
	const char *name;
	const char *owner;         /* owner's process key, or NULL */
	uint64_t count_a, count_b;
	uint64_t objects_a, objects_b;
	uint64_t bytes_a, bytes_b; /* words * word size */
} bd_diff_etsgroup;

/* Ports grouped by driver or command. */
typedef struct bd_diff_portgroup {
	const char *driver;
	uint64_t count_a, count_b;
	uint64_t queue_a, queue_b; /* bytes */
} bd_diff_portgroup;

typedef struct bd_diff_atomcluster {
	const char *pattern;       /* "user_<N>" */
	uint64_t count;            /* atoms of B not in A with this pattern */
	const char *first, *last;  /* examples, in B's creation order */
} bd_diff_atomcluster;

/* A named number on both sides: erlang:memory categories, allocators, counts. */
typedef struct bd_diff_num {
	const char *name;          /* "total", "binary_alloc", "processes" */
	uint64_t a, b;             /* BD_UNKNOWN when a side does not have it */
	uint64_t a2, b2;           /* allocators: allocated (a, b are used); else BD_UNKNOWN */
} bd_diff_num;

typedef struct bd_diff {
	int64_t created_a, created_b; /* unix seconds, INT64_MIN if unknown */
	int64_t dt;                   /* b - a seconds; <= 0 or unknown: no rates */
	const char *node_a, *node_b;
	bd_diff_pgroup *procs;        /* sorted: largest |memory delta| first */
	size_t nprocs;
	bd_diff_etsgroup *ets;        /* sorted: largest bytes delta first */
	size_t nets;
	bd_diff_portgroup *ports;
	size_t nports;
	bd_diff_atomcluster *atom_clusters; /* sorted by count, descending */
	size_t natom_clusters;
	uint64_t atoms_a, atoms_b, atoms_added, atoms_removed;
	uint64_t bin_count_a, bin_count_b, bin_bytes_a, bin_bytes_b; /* =binary sections */
	uint64_t bin_same_count, bin_same_bytes; /* same address and size on both sides */
	bd_diff_num *memory;          /* erlang:memory() categories, fixed order */
	size_t nmemory;
	bd_diff_num *allocs;          /* allocator types: used (a,b), allocated (a2,b2) */
	size_t nallocs;
	bd_diff_num *counts;          /* processes, ports, ets, atoms (and limits) */
	size_t ncounts;
	uint64_t keys_decoded;        /* dictionaries read to key processes (both sides) */
	uint64_t keys_degraded;       /* processes keyed without their dictionary (budget) */
	struct bd_diff_priv *priv;
} bd_diff;

/* Options, versioned: start from BD_DIFF_OPTS_INIT. Zero fields take defaults. */
typedef struct bd_diff_opts {
	unsigned version;
	uint32_t max_key_decodes;    /* dictionaries decoded per model (1,000,000) */
	uint64_t max_key_heap_bytes; /* heap bytes indexed for them per model (1 GiB) */
	uint64_t max_key_heap_one;   /* no dictionary read from a bigger heap (64 MiB) */
} bd_diff_opts;
#define BD_DIFF_OPTS_VERSION 1
#define BD_DIFF_OPTS_INIT {BD_DIFF_OPTS_VERSION, 0, 0, 0}

/* Compare a (older) with b (newer). Strings in *out may point into a and b, which
 * must outlive *out. Never fails on damaged input (unknowns count as 0). Errors:
 * BD_ENOMEM, BD_EUSAGE (bad opts version). May allocate; decodes the dictionaries of
 * proc_lib processes (bounded by the options; beyond them a process is keyed by
 * "proc_lib:init_p/5 @ <current function>" and counted in keys_degraded). Keys the
 * two models on two threads when they are big: a and b must not be used by another
 * thread meanwhile. */
int bd_diff_run(const bd_model *a, const bd_model *b, const bd_diff_opts *o, bd_diff **out,
		bd_error *err);
void bd_diff_free(bd_diff *d);

/* Group of b's side by key, or NULL. */
const bd_diff_pgroup *bd_diff_find(const bd_diff *d, const char *key);

/* ---- CI gate ---- */

/* Rules, in report order. The name is the JUnit testcase and the config prefix. */
#define BD_CI_RULES(X)                                                               \
	X(BD_CI_PROCESS_LEAK, "process_leak", "new processes that stay, per group")     \
	X(BD_CI_PROCESS_MEMORY, "process_memory", "memory growth per process group")   \
	X(BD_CI_MAILBOX_GROWTH, "mailbox_growth", "message queue growth per group")    \
	X(BD_CI_ETS_TABLES, "ets_tables", "new ETS tables, per name and owner")        \
	X(BD_CI_ETS_GROWTH, "ets_growth", "ETS memory growth per name and owner")      \
	X(BD_CI_ATOMS_ADDED, "atoms_added", "atoms added")                             \
	X(BD_CI_BINARY_GROWTH, "binary_growth", "binary memory (erlang:memory(binary)) growth") \
	X(BD_CI_PORT_GROWTH, "port_growth", "ports added, per driver")

typedef enum {
#define BD_X(e, n, d) e,
	BD_CI_RULES(BD_X)
#undef BD_X
	BD_CI__COUNT
} bd_ci_rule_id;

const char *bd_ci_rule_name(bd_ci_rule_id r);
const char *bd_ci_rule_description(bd_ci_rule_id r);

/* Thresholds: a rule fails when a measured growth is strictly above max. docs/ci.md. */
typedef struct bd_ci_rules {
	int enabled[BD_CI__COUNT];
	uint64_t process_leak_max;      /* processes per group (10) */
	double process_memory_pct;      /* % of the baseline group memory (50) */
	uint64_t process_memory_min;    /* and at least these bytes (1 MB) */
	uint64_t mailbox_growth_max;    /* messages per group (100) */
	uint64_t ets_tables_max;        /* new tables per group (5) */
	double ets_growth_pct;          /* (50) */
	uint64_t ets_growth_min;        /* bytes (1 MB) */
	uint64_t atoms_added_max;       /* (500) */
	uint64_t binary_growth_max;     /* bytes (1 MB) */
	uint64_t port_growth_max;       /* ports per driver (10) */
	uint32_t max_violations;        /* listed per rule (20); the count is always exact */
} bd_ci_rules;

void bd_ci_rules_default(bd_ci_rules *r);
/* Set one threshold from "key" and "value" text (config line or --set flag):
 * "process_leak.max = 10", "process_memory.pct = 50", "binary_growth.max = 4MB",
 * "atoms_added.enabled = false". Sizes take B, kB, KB, KiB, MB, MiB, GB, GiB.
 * Errors: BD_EUSAGE with the reason in err. */
int bd_ci_rules_set(bd_ci_rules *r, const char *key, const char *value, bd_error *err);
/* Read a config file of "key = value" lines ('#' comments, blank lines). Errors:
 * BD_EIO, BD_EUSAGE (message names file and line). */
int bd_ci_rules_load(bd_ci_rules *r, const char *path, bd_error *err);

/* One offender of a rule. Growth is b - a (three snapshots: the part of the growth
 * from baseline to current that is still there at final). */
typedef struct bd_ci_violation {
	const char *subject_type;  /* "process", "ets", "atoms", "memory", "port" */
	const char *subject;       /* group key, table name, atom pattern, category */
	const char *owner;         /* ETS owner key, else NULL */
	const char *unit;          /* "processes", "bytes", "messages", "tables", "atoms", "ports" */
	uint64_t baseline, current, final; /* final = BD_UNKNOWN without a final snapshot */
	uint64_t growth;
	double growth_pct;         /* NaN when the baseline is 0 */
	bd_pid example;            /* a member in current, or BD_PID_NONE */
	const char *detail;        /* e.g. examples of the atom cluster, or NULL */
} bd_ci_violation;

typedef struct bd_ci_result_rule {
	bd_ci_rule_id id;
	int enabled;
	int failed;
	const char *threshold;     /* "> 10 processes per group" */
	const bd_ci_violation *violations; /* worst first, at most rules.max_violations */
	size_t nviolations;        /* listed */
	uint64_t total_violations; /* all */
	const char *summary;       /* one line */
} bd_ci_result_rule;

/* Growth seen at current that is gone at final (three snapshots), e.g. a pool that
 * shrinks back: reported, never failed. */
typedef struct bd_ci_transient {
	const char *subject_type, *subject, *unit;
	uint64_t baseline, current, final;
} bd_ci_transient;

typedef struct bd_ci_result {
	int snapshots;             /* 2 or 3 */
	int failed;                /* rules failed */
	bd_ci_result_rule rules[BD_CI__COUNT];
	const bd_ci_transient *transients;
	size_t ntransients;
	const bd_diff *current;    /* baseline -> current */
	const bd_diff *final;      /* baseline -> final, or NULL */
	struct bd_ci_priv *priv;
} bd_ci_result;

/* Run the gate. fin may be NULL (two snapshots). The models must outlive *out.
 * Errors: BD_ENOMEM. May allocate. */
int bd_ci_run(const bd_model *base, const bd_model *cur, const bd_model *fin,
	      const bd_ci_rules *rules, const bd_diff_opts *o, bd_ci_result **out,
	      bd_error *err);
void bd_ci_result_free(bd_ci_result *r);

#ifdef __cplusplus
}
#endif
#endif
