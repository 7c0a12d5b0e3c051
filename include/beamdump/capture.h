/* Live capture (DESIGN.md §6): connect to a running node as a hidden C node with ei
 * and collect what the analyses need with read-only BIF calls over rpc, in bounded
 * batches; the result is a bd_live builder (live.h) that becomes a model.
 *
 * What is called on the node (all through rex, no code is loaded, nothing is
 * changed): erlang:system_info/1, erlang:memory/0, erlang:statistics/1,
 * erlang:processes/0, lists:zipwith(fun erlang:process_info/2, Pids, Items),
 * erlang:process_info/2 (messages of the longest queues), erlang:ports/0,
 * lists:zipwith(fun erlang:port_info/2, ...), ets:all/0, lists:map(fun ets:info/1, ...),
 * lists:map(fun erlang:system_info/1, [{allocator, A}...]). See docs/capture.md.
 *
 * The cookie is copied into locked memory, used for the handshake and to redact
 * captured messages that contain it, and zeroed by bd_capture_close. It is never
 * printed, logged or stored.
 *
 * Not thread-safe. Everything here may allocate and block (bounded by timeouts). */
#ifndef BEAMDUMP_CAPTURE_H
#define BEAMDUMP_CAPTURE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "live.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bd_capture bd_capture;

/* Why a connection failed (for the caller's message and exit code). */
typedef enum {
	BD_CAPTURE_OK,
	BD_CAPTURE_BAD_NAME,    /* not name@host */
	BD_CAPTURE_NO_HOST,     /* host does not resolve */
	BD_CAPTURE_NO_EPMD,     /* no epmd on the host (no node runs there) */
	BD_CAPTURE_NO_NODE,     /* epmd knows no node of that name */
	BD_CAPTURE_REFUSED,     /* the node's port refused or timed out */
	BD_CAPTURE_AUTH,        /* handshake failed: wrong cookie (or name not allowed) */
} bd_capture_why;

/* Connect to node "name@host" within timeout_ms. cookie[0..cookie_len) is copied;
 * the caller should zero its own copy. On failure *why says which step failed and
 * err->msg says it in words (never with the cookie). Errors: BD_ENOTFOUND (name,
 * host, epmd, node), BD_EIO (refused, auth), BD_ENOMEM. */
int bd_capture_connect(bd_capture **out, const char *node, const char *cookie,
		       size_t cookie_len, unsigned timeout_ms, bd_capture_why *why,
		       bd_error *err);
/* Close the connection and zero the cookie. NULL is fine. */
void bd_capture_close(bd_capture *c);

#define BD_CAPTURE_OPTS_VERSION 1
typedef struct bd_capture_opts {
	unsigned version;       /* BD_CAPTURE_OPTS_VERSION */
	unsigned batch;         /* pids per process_info call (default 250) */
	unsigned top_queues;    /* longest queues whose messages are read (default 10) */
	unsigned messages;      /* messages kept per queue (default 100) */
	uint64_t max_queue;     /* skip reading queues longer than this (default 200000) */
	unsigned stack_top;     /* per metric, processes whose stack trace is read (default 20) */
	unsigned timeout_ms;    /* per call (default 60000) */
	unsigned pause_ms;      /* sleep between batches, to spare the node (default 10) */
	/* Set from a signal handler: the capture stops at the next batch boundary and
	 * returns what it has (BD_ETRUNCATED). May be NULL. */
	volatile sig_atomic_t *stop;
} bd_capture_opts;
#define BD_CAPTURE_OPTS_INIT {BD_CAPTURE_OPTS_VERSION, 250, 10, 100, 200000, 20, 60000, 10, NULL}

typedef struct bd_capture_stats {
	uint64_t procs, calls, bytes_in; /* rows, rpc calls, reply bytes */
	uint64_t queues_read, messages, stacks;
	int wall_time;                   /* 1: scheduler_wall_time was enabled and sampled */
	double seconds;
} bd_capture_stats;

/* Collect one snapshot into a new builder (*out). Returns 0 when complete;
 * BD_ETRUNCATED when it stopped early (opts->stop, or the connection was lost) —
 * *out then holds what was collected and is marked partial with the reason;
 * other errors (BD_ENOMEM, BD_ECORRUPT: an unexpected reply) leave *out NULL.
 * After a lost connection every later call fails with BD_EIO. stats may be NULL. */
int bd_capture_run(bd_capture *c, const bd_capture_opts *opts, bd_live **out,
		   bd_capture_stats *stats, bd_error *err);

/* Wait ms milliseconds (or until *stop) while keeping the connection alive: the
 * node's net ticks are answered, so a series with long gaps is not disconnected.
 * Returns 0, or BD_EIO when the connection was lost. */
int bd_capture_idle(bd_capture *c, unsigned ms, volatile sig_atomic_t *stop);

/* The node name connected to. */
const char *bd_capture_node(const bd_capture *c);

#ifdef __cplusplus
}
#endif
#endif
