/* Building a model from data collected on a running node (beamdump capture).
 *
 * The collector (dump/capture.c, which speaks to the node with ei) fills rows of the
 * ordinary model tables and hands per-process details as external term format (ETF)
 * bytes and "M:F/A" texts. bd_live_finish() turns the details into the crash-dump
 * term language of erl-crash-dump-format.md §3 (messages and dictionary values become
 * `ADDR:E<len>:<base64>` heap objects, refc binaries `Yc` objects, the stack trace
 * `SReturn addr` lines), so every decoder, analysis and the snapshot converter read a
 * live capture exactly like a text dump. Nothing here knows about ei or sockets.
 *
 * Usage: bd_live_new(); set node/memory/limits through the getters; for each process
 * bd_live_proc_add() then its links with bd_live_link_add(); later, for any process
 * by index, messages / frames / dictionary entries / binaries; ports, ETS tables,
 * schedulers, allocator lines; then bd_live_finish() gives the model.
 *
 * Not thread-safe. Every function may allocate; none is async-signal-safe. */
#ifndef BEAMDUMP_LIVE_H
#define BEAMDUMP_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bd_live bd_live;

/* A new, empty builder: node.source = "live", every number BD_UNKNOWN.
 * Errors: BD_ENOMEM. */
int bd_live_new(bd_live **out, bd_error *err);
/* Free a builder that was not finished. NULL is fine. */
void bd_live_free(bd_live *lv);

/* Interned copy of s[0..len) owned by the future model (equal text, equal pointer).
 * NULL when out of memory. */
const char *bd_live_str(bd_live *lv, const char *s, size_t len);
/* Interned printed atom: quoted as the VM prints it ('Elixir.Foo', 'a b'). */
const char *bd_live_atom(bd_live *lv, const char *s, size_t len);
/* Interned "M:F/A" with M and F printed as atoms. */
const char *bd_live_mfa(bd_live *lv, const char *mod, const char *fun, unsigned arity);

/* Header facts, borrowed and writable until bd_live_finish. */
bd_node_info *bd_live_node(bd_live *lv);
bd_memory *bd_live_memory(bd_live *lv);
bd_limits *bd_live_limits(bd_live *lv);

/* ---- processes ----
 * A new row for pid with every number BD_UNKNOWN, strings NULL, no links. The pointer
 * is valid until the next bd_live_proc_add. NULL when full or out of memory. */
bd_proc *bd_live_proc_add(bd_live *lv, bd_pid pid);
size_t bd_live_proc_count(const bd_live *lv);
bd_proc *bd_live_proc_at(bd_live *lv, size_t i);

/* Append a link or monitor to the row added last (process or port). */
int bd_live_link_add(bd_live *lv, const bd_link *l);

/* Details of process i (any order, any time before finish). etf: one term, with or
 * without the leading 131 version byte. Errors: BD_EUSAGE (bad index), BD_ENOMEM. */
int bd_live_proc_message(bd_live *lv, size_t i, const void *etf, size_t len);
/* A placeholder for a message that was not kept (too large, redacted): an atom. */
int bd_live_proc_message_atom(bd_live *lv, size_t i, const char *atom);
/* The next stack frame, top first ("M:F/A"); the first one is the current function. */
int bd_live_proc_frame(bd_live *lv, size_t i, const char *mfa);
/* A y register of stack frame `frame` of process i (0: the current function, n: the
 * n-th frame after it, as bd_live_proc_frame added them; past the last: the last),
 * appended after that frame's slots. The capture puts a behaviour's state
 * (sys:get_state) where a crash dump holds it, so the dump's readers find it. */
int bd_live_proc_slot(bd_live *lv, size_t i, size_t frame, unsigned y, const void *etf,
		      size_t len);
/* A dictionary entry: key is an atom, value an ETF term. */
int bd_live_proc_dict(bd_live *lv, size_t i, const char *key_atom, const void *etf,
		      size_t len);
/* The application process i belongs to (its group leader is that application's
 * master): kept in the process's bd_proc_ext. app is interned. */
int bd_live_proc_set_application(bd_live *lv, size_t i, const char *app);
/* A refc binary the process references (process_info(P, binary)): Binary address and
 * its full size in bytes. Adds the binary to the binaries table once. */
int bd_live_proc_binary(bd_live *lv, size_t i, uint64_t addr, uint64_t size);

/* ---- other tables: a new zeroed row (numbers BD_UNKNOWN where the model says
 * "unknown"), valid until the next add of the same table; NULL when full. ---- */
bd_port *bd_live_port_add(bd_live *lv, bd_pid id);
bd_ets *bd_live_ets_add(bd_live *lv);
bd_sched *bd_live_sched_add(bd_live *lv);
/* The scheduler row with this id (not a run-queue row), or NULL. */
bd_sched *bd_live_sched_find(bd_live *lv, uint32_t id);
bd_alloc_stat *bd_live_alloc_add(bd_live *lv);
bd_area *bd_live_area_add(bd_live *lv);

/* Mark the capture as partial: truncated = 1, truncated_in = why (copied). */
void bd_live_set_partial(bd_live *lv, const char *why);

/* Lay out the synthesized term text, build the lookups and hand over the model.
 * lv is consumed (freed) whatever the result. Errors: BD_ENOMEM. */
int bd_live_finish(bd_live *lv, bd_model **out, bd_error *err);

#ifdef __cplusplus
}
#endif
#endif
