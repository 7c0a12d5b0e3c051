/* Internals shared by the analyses: the run context, the finding builder, and small
 * helpers over processes. Findings own their strings through the run's arena
 * (bd_arena, beamdump/util.h). */
#ifndef BD_AN_INT_H
#define BD_AN_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "beamdump/analyze.h"
#include "beamdump/term.h"
#include "beamdump/util.h"

/* ---- a finding under construction ---- */
enum { AN_MAX_EV = 16, AN_MAX_REL = 12, AN_MAX_DET = 24 };

typedef struct an_finding {
	bd_finding pub;
	bd_evidence ev[AN_MAX_EV];
	bd_subject rel[AN_MAX_REL];
	const char *det[AN_MAX_DET];
	const bd_proc *subj_proc;          /* to attach supervision context later */
	const bd_proc *rel_proc[AN_MAX_REL];
	int explains_slogan;               /* ranked above the slogan's own finding */
	size_t seq;                        /* creation order, breaks ties */
} an_finding;

/* Open heaps kept for the run, so several analyses decode one process once. */
typedef struct an_heap_slot {
	const bd_proc *p;
	bd_heap *h;
} an_heap_slot;

typedef struct an_app {
	bd_pid pid;          /* application master or its start_it helper */
	const char *name;
} an_app;

typedef struct an_ctx {
	const bd_model *m;
	bd_analyze_opts o;
	bd_slogan slogan;
	bd_arena *arena;
	an_finding **f;
	size_t nf, capf;
	int oom;
	int word_size;
	const bd_proc *procs;
	size_t nprocs;
	const bd_link *links;
	size_t nlinks;
	an_heap_slot *heaps;
	size_t nheaps, capheaps;
	uint64_t opened;
	an_app *apps;
	size_t napps;
	int apps_built;
	struct an_mb_job *mb_job;   /* mailbox summary running on a second thread */
} an_ctx;

/* ---- building findings ---- */
an_finding *an_new(an_ctx *c, bd_finding_kind k, bd_severity s, double score);
void an_title(an_ctx *c, an_finding *f, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void an_advice(an_ctx *c, an_finding *f, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void an_detail(an_ctx *c, an_finding *f, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void an_ev_count(an_ctx *c, an_finding *f, const char *key, uint64_t v);
void an_ev_bytes(an_ctx *c, an_finding *f, const char *key, uint64_t v);
void an_ev_pct(an_ctx *c, an_finding *f, const char *key, double v);
void an_ev_num(an_ctx *c, an_finding *f, const char *key, double v);
void an_ev_str(an_ctx *c, an_finding *f, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Evidence by key, or NULL. */
bd_evidence *an_ev_find(an_finding *f, const char *key);
/* Subject / related process (context from the dictionary is attached at the end). */
void an_subject_proc(an_ctx *c, an_finding *f, const bd_proc *p);
void an_subject_named(an_ctx *c, an_finding *f, const char *type, const char *name);
bd_subject *an_related(an_ctx *c, an_finding *f, const bd_proc *p, const char *role);

/* Append to a bounded text buffer; *len may pass cap (the text is then cut). */
void an_cat(char *buf, size_t cap, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A share as titles print it (one decimal): never "100.0 %" for part of the whole,
 * nor "0.0 %" for some of it. */
double an_shown_pct(uint64_t part, uint64_t whole);

/* Zero fields of o take their defaults (bd_analyze_opts). */
void an_opts_defaults(bd_analyze_opts *o);

/* ---- helpers over the model ---- */
/* Heap of p, opened once per run (NULL when the dump has none). */
bd_heap *an_heap(an_ctx *c, const bd_proc *p);
/* Hand a heap opened elsewhere to the run (freed with the others). */
void an_heap_adopt(an_ctx *c, const bd_proc *p, bd_heap *h);
uint64_t an_words(const an_ctx *c, uint64_t words); /* words -> bytes, unknown -> 0 */
/* Byte counts at or above this are sizes the VM computed negative and printed
 * unsigned ("18446744 TB"): unknown. an_bytes says so and an_ev_bytes drops them. */
#define AN_WRAPPED ((uint64_t)1 << 60)
uint64_t an_val(uint64_t v);                        /* BD_UNKNOWN -> 0 */
/* "name <0.1.0>" or "<0.1.0>" or "M:F/A <0.1.0>", with the best name (bd_proc_name) */
const char *an_proc_label(an_ctx *c, const bd_proc *p);
/* bd_proc_name through the run's heaps, as an arena string; src may be NULL. */
const char *an_proc_name(an_ctx *c, const bd_proc *p, bd_pname_source *src);
const char *an_pid_str(an_ctx *c, bd_pid pid);
/* Human numbers for titles: "51,134", "12.8 MB" ("an unknown size" when wrapped).
 * Return arena strings. */
const char *an_count(an_ctx *c, uint64_t v);
const char *an_bytes(an_ctx *c, uint64_t v);
/* First stack frame whose module is not OTP plumbing ("bd_mailbox:handle_cast/2"), or
 * NULL. Decodes the stack (only call on candidates). */
const char *an_user_frame(an_ctx *c, const bd_proc *p);
/* The MFA of "M:F/A + off" text into buf. */
const char *an_mfa_of(const char *loc, char *buf, size_t cap);
/* $initial_call as "M:F/A" and $ancestors; NULL / 0 when absent. */
const char *an_initial_call(an_ctx *c, const bd_proc *p);
int an_is_system_proc(const bd_proc *p);
/* Process currently running when the dump was written (the halting or crashing
 * one): the crashed scheduler's current process, else a Running process. */
const bd_proc *an_running_proc(an_ctx *c);

/* ---- what a process is doing (activity.c) ---- */
typedef enum {
	AN_ACT_UNKNOWN,
	AN_ACT_WORKING,   /* Running, Scheduled or Garbing */
	AN_ACT_IDLE,      /* waiting in its main receive loop (behaviour loop, hibernate) */
	AN_ACT_CALLING,   /* waiting for the reply to a synchronous request */
	AN_ACT_SLEEPING,  /* timer:sleep/1, Process.sleep/1 */
	AN_ACT_RECEIVING, /* waiting in a receive outside its main loop */
	AN_ACT_IO,        /* waiting on a socket or another port (recv, send) */
	AN_ACT_FILE,      /* waiting for file I/O (the disk answers) */
	AN_ACT_SUSPENDED, /* suspended: by a busy port, erlang:suspend_process/1 */
	AN_ACT_EXITING,
} an_act_kind;

typedef struct an_activity {
	an_act_kind kind;
	const char *where;       /* current function "M:F/A" (program counter) */
	const char *behaviour;   /* "gen_server", "gen_statem", "gen_event", "Agent" or NULL */
	const char *callback;    /* the callback running ("bd_x:handle_call/3"), or what it
				  * tail-called; NULL outside callbacks */
	const char *agent_fun;   /* Agent: the caller's function it runs, else NULL */
	const char *user_frame;  /* first frame that is not OTP or Elixir plumbing */
	const char *stack;       /* "a < b < c": the top frames, callers after callees */
	const bd_term *state_name; /* gen_statem state, else NULL */
	bd_pid serving;          /* pid of the caller whose request is being handled */
	size_t frames;           /* frames with code */
} an_activity;

/* Classify p. deep = decode its stack (callback, behaviour, stack text, state name):
 * only for candidates. */
void an_activity_of(an_ctx *c, const bd_proc *p, int deep, an_activity *a);
/* Blocked on something other than its main loop: sleeping, receiving, port I/O,
 * suspended or calling. */
int an_activity_blocked(const an_activity *a);
/* The processes in a synchronous call on p (they monitor it and wait in a call): each
 * given to each(c, q, ud) (NULL: only counted), in p's link order; returns how many. */
uint64_t an_callers_each(an_ctx *c, const bd_proc *p,
			 void (*each)(an_ctx *c, const bd_proc *q, void *ud), void *ud);
const char *an_act_name(an_act_kind k);
/* p's program counter is at its main receive loop (gen_server:loop/7, a *loop*
 * function...): when runnable, it was just woken by a message. */
int an_in_receive_loop(const bd_proc *p);

/* The process limit: known (live capture), else from the process table's size in
 * =allocated_areas (exact on R16B and later), else 0. *basis says which. */
uint64_t an_proc_limit(an_ctx *c, const char **basis);

/* ---- the analyses (one file each) ---- */
typedef void (*an_fn)(an_ctx *c);
void an_slogan(an_ctx *c);
void an_truncation(an_ctx *c);
void an_mailbox(an_ctx *c);
void an_mailbox_prefetch(an_ctx *c); /* start the big mailbox walk early */
void an_mailbox_finish(an_ctx *c);   /* join it if an_mailbox did not */
void an_binaries(an_ctx *c);
void an_atoms(an_ctx *c);
void an_limits(an_ctx *c);
void an_ets(an_ctx *c);
void an_waits(an_ctx *c);
void an_scheds(an_ctx *c);
void an_fragmentation(an_ctx *c);
void an_native(an_ctx *c); /* native_crash (analyze/native.c) */
/* The cause of a failed boot read from the processes that took part in it (init,
 * application_controller, the loggers, the boot process): reason text and the
 * application it names (may be ""), and the process it was read from. Returns 0
 * when none was found, else a kind (higher = more specific: a supervisor's
 * start_error report beats an application's exit reason, which beats an exit). */
int an_boot_cause(an_ctx *c, char *reason, size_t cap, char *app, size_t appcap,
		  const bd_proc **from);
enum { AN_CAUSE_EXIT = 1, AN_CAUSE_EMULATOR, AN_CAUSE_APP_EXIT, AN_CAUSE_CHILD };
/* init's status from its #state on the stack: "starting (applications_loaded)",
 * "started (started)", "stopping (started)". 1 when found. */
int an_init_status(an_ctx *c, char *buf, size_t cap);
void an_ports(an_ctx *c);   /* busy_port */
void an_leaks(an_ctx *c);   /* process_leak, timer_leak, ets_leak */
void an_memhog(an_ctx *c);  /* memory_hog */
void an_alarms(an_ctx *c);  /* memory_alarm */
void an_dist(an_ctx *c);    /* busy_dist_port */
void an_calls(an_ctx *c);   /* call_timeout */
void an_monitors(an_ctx *c); /* monitor_leak */
void an_statem(an_ctx *c);  /* postponed_events (after binaries and memory_hog: folds them) */
void an_fdleak(an_ctx *c);  /* fd_leak (after an_limits: port_limit may name the owner) */
void an_logger(an_ctx *c);  /* logger_overload (after an_mailbox: folds its finding) */
void an_refine(an_ctx *c);  /* advice that fits, across kinds (after all analyses) */
/* Application masters and their start_it helpers -> application name, into
 * c->apps (once per run). */
void an_apps_build(an_ctx *c);
/* Supervision context (ancestors, application) for every subject. */
void an_context(an_ctx *c, size_t n); /* the first n findings */
/* Cross-finding ranking: boost what explains the slogan. */
void an_rank(an_ctx *c);

#endif
