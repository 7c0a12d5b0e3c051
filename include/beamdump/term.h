/* Lazy decoding of process data: heap terms, stack frames, messages, dictionary.
 *
 * A bd_heap is the decoding context of one process: it indexes that process's heap
 * lines (and the shared literal area) on open, decodes terms on request into its own
 * arena, keeps sharing (one address, one bd_term) and marks what it cannot resolve
 * (BD_T_MISSING) instead of failing. Not thread-safe; one per thread. */
#ifndef BEAMDUMP_TERM_H
#define BEAMDUMP_TERM_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
	BD_T_NIL,
	BD_T_ATOM,     /* s, n = byte length (raw UTF-8, unquoted) */
	BD_T_INT,      /* i */
	BD_T_BIG,      /* s = decimal digits with sign */
	BD_T_FLOAT,    /* f */
	BD_T_PID,      /* pid */
	BD_T_PORT,     /* pid */
	BD_T_REF,      /* s = "#Ref<...>" text */
	BD_T_FUN,      /* s = "#Fun<m.i.u>" text */
	BD_T_TUPLE,    /* n, elems */
	BD_T_CONS,     /* head = elems[0], tail = elems[1] */
	BD_T_MAP,      /* n pairs: elems[2i] key, elems[2i+1] value */
	BD_T_BINARY,   /* bin */
	BD_T_MISSING,  /* pointer that resolves nowhere (truncated heap, gap); addr
			* BD_UNKNOWN: an element the dump stops before */
	BD_T_LIMIT,    /* decoding budget reached here */
	BD_T_OPAQUE,   /* undecodable text; s = raw */
} bd_term_kind;

typedef enum {
	BD_BIN_HEAP,    /* bytes in the term (data/n) */
	BD_BIN_REFC,    /* slice of an off-heap binary (=binary:<addr>) */
} bd_bin_kind;

/* bd_term.flags */
#define BD_TF_CUT 1 /* the dump holds only part of this term (a binary's bytes stop early,
		     * a line cut inside its elements): what is shown is all there is */

typedef struct bd_term bd_term;
struct bd_term {
	uint8_t kind;
	uint8_t bin_kind;
	uint8_t flags;       /* BD_TF_* */
	uint32_t n;
	union {
		int64_t i;
		double f;
		const char *s;
		bd_pid pid;
		bd_term **elems;
		struct {
			uint64_t size;      /* bytes of this binary (slice) */
			uint64_t offset;    /* into the off-heap binary */
			uint64_t addr;      /* off-heap Binary address (refc) */
			uint64_t orig_size; /* size of the whole off-heap binary, BD_UNKNOWN if missing */
			const uint8_t *data;/* decoded bytes (heap), up to n bytes, may be NULL */
		} bin;
		uint64_t addr;              /* BD_T_MISSING: the address */
	} u;
};

typedef struct bd_heap bd_heap;

/* Decoding limits. Zero fields take defaults. */
typedef struct bd_decode_opts {
	uint32_t max_nodes;  /* terms built per bd_heap_* call (default 200000) */
	uint32_t max_depth;  /* nesting depth (default 256) */
} bd_decode_opts;

/* Open the decoding context of process p: indexes its =proc_heap (and literals).
 * Errors: BD_ENOTFOUND (no heap: exiting or sensitive process), BD_ENOMEM. */
int bd_heap_open(bd_heap **out, const bd_model *m, const bd_proc *p, bd_error *err);
/* Context with no process heap: only literals (for persistent terms). */
int bd_heap_open_literals(bd_heap **out, const bd_model *m, bd_error *err);
void bd_heap_free(bd_heap *h);
void bd_heap_set_opts(bd_heap *h, const bd_decode_opts *o);
/* Number of heap object lines indexed, and lines that did not parse. */
size_t bd_heap_objects(const bd_heap *h);
size_t bd_heap_bad_lines(const bd_heap *h);

/* Decode one element in the dump's term language (e.g. "H7FF1A5128758", "A2:ok"). */
bd_term *bd_heap_decode(bd_heap *h, const char *text, size_t len);

/* ---- stack ---- */
typedef struct bd_slot {
	int y;               /* y-register index, -1 for unlabeled */
	const char *info;    /* "SCatch ..." text or NULL */
	bd_term *term;       /* NULL for info slots */
} bd_slot;

typedef struct bd_frame {
	const char *mfa;     /* return address location "M:F/A + off" or "<terminate process normally>";
			      * the first frame is the current function (from the program counter) */
	bd_slot *slots;
	uint32_t nslots;
} bd_frame;

/* Decode the stack into frames, top first: frame 0 is the current function with the
 * y-slots before the first return address; frame k>0 starts at a return address and
 * holds the y-slots of the function it returns into (OTP 23+ layout). */
int bd_heap_stack(bd_heap *h, bd_frame **frames, size_t *n, bd_error *err);

/* ---- messages ---- */
/* Decode messages [first, first+count) into out (caller array). Returns the number
 * decoded. */
size_t bd_heap_messages(bd_heap *h, size_t first, size_t count, bd_term **out);

/* Mailbox shape histogram, streamed over every message without building terms. */
typedef struct bd_shape {
	char key[96];        /* "{job,_,_}", "$gen_call {get,_}", "atom ok", "binary" */
	uint64_t count;
	uint64_t first_index;/* index of the first message of this shape */
} bd_shape;

typedef struct bd_mailbox_stats {
	uint64_t messages;   /* lines seen */
	bd_shape *shapes;    /* sorted by count, descending; owned by h */
	size_t nshapes;      /* distinct shapes kept (capped; the rest counted in other) */
	uint64_t other;
	/* $gen_call senders: distinct From pids with counts (top ones) */
	struct { bd_pid pid; uint64_t count; } *callers;
	size_t ncallers;
} bd_mailbox_stats;

int bd_heap_mailbox_stats(bd_heap *h, bd_mailbox_stats *out, bd_error *err);

/* ---- dictionary ---- */
/* Key/value pairs; keys[i] and values[i]. */
int bd_heap_dictionary(bd_heap *h, bd_term ***keys, bd_term ***values, size_t *n,
		       bd_error *err);
/* Value of a dictionary key that is an atom (e.g. "$ancestors"), or NULL. */
bd_term *bd_heap_dict_get(bd_heap *h, const char *atom);

/* ---- persistent terms and module blobs (contexts from bd_heap_open_literals) ---- */
/* The =persistent_terms section: keys[i] => values[i], resolved in the literals.
 * *n = 0 when the dump has none. */
int bd_heap_persistent_terms(bd_heap *h, bd_term ***keys, bd_term ***values, size_t *n,
			     bd_error *err);
/* An external-term blob of the dump (module attributes, compilation info: base64, hex
 * before 0.5) decoded; NULL when the span is empty, cut or undecodable. */
bd_term *bd_heap_decode_blob(bd_heap *h, bd_span text);

/* ---- printing ---- */
/* Erlang syntax into buf (always NUL-terminated). Lists are printed as lists, strings
 * of printable latin-1 as "...". Beyond depth / items the printer writes "..." (a
 * string cut for display: "abc"...). What the dump itself lacks is marked apart:
 * '#Missing<ADDR>' (a pointer to nothing), '#Cut' (elements after the end of the
 * data), "(N bytes, the dump has M)" after a binary. Returns the length written. */
size_t bd_term_fmt(const bd_term *t, char *buf, size_t cap, int depth, int items);

/* How terms are printed: Erlang syntax, or Elixir's (IO.inspect: MyApp.Cache, :atom,
 * %{key: 1}, %Struct{}, ~c"chars", #PID<0.1.0>). Process-global: the CLI sets it
 * once per run from --style or from the node (an Elixir node gets Elixir); pids
 * (bd_pid_fmt) and the name helpers follow it too. JSON output keeps Erlang. */
typedef enum { BD_STYLE_ERLANG = 0, BD_STYLE_ELIXIR = 1 } bd_style;
void bd_term_set_style(bd_style s);
bd_style bd_term_style(void);
/* A name in the current style: 'Elixir.MyApp.Cache' (or Elixir.MyApp.Cache) prints as
 * MyApp.Cache in Elixir style; any other text is copied. Returns buf. */
const char *bd_style_name(const char *s, char *buf, size_t cap);
/* An "M:F/A" text (as the dump writes it, '+ off' allowed) in the current style:
 * 'Elixir.MyApp.Cache':handle_call/3 -> MyApp.Cache.handle_call/3, gen_server:loop/7 ->
 * :gen_server.loop/7 in Elixir style; copied in Erlang style. Returns buf. */
const char *bd_style_mfa(const char *s, char *buf, size_t cap);

/* Free text (a finding's title, a table cell) with the Elixir module atoms and MFAs
 * in it rewritten for the current style ('Elixir.Foo':bar/1 -> Foo.bar/1). Returns buf. */
const char *bd_style_text(const char *s, char *buf, size_t cap);

/* Helpers for analyses. */
int bd_term_is_atom(const bd_term *t, const char *name);
/* Tuple element i (0-based) or NULL. */
const bd_term *bd_term_elem(const bd_term *t, uint32_t i);
/* Iterate a proper list: returns the element count, fills up to cap items. -1 if improper. */
int64_t bd_term_list(const bd_term *t, const bd_term **items, size_t cap);
/* "M:F/A" of an {M, F, A} tuple (atoms and an integer) into buf (cap > 0), else "".
 * Atoms are printed as the VM prints them, quoted where Erlang syntax needs it
 * ('Elixir.Foo':'-bar/1-fun-0-'/0), like the MFAs in the dump's own text. Returns buf. */
const char *bd_term_mfa(const bd_term *t, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
