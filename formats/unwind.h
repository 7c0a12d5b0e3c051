/* The x86-64 unwinder of the native-crash reader (unwind.c). */
#ifndef BD_UNWIND_H
#define BD_UNWIND_H

#include "elfobj.h"
#include "native_int.h"

typedef struct nat_unwind_env {
	nat_read_fn read;   /* memory of the dead process (core, guard regions, files) */
	/* Is addr in executable memory? */
	int (*exec)(void *ctx, uint64_t addr);
	/* The object holding addr and its load bias, or NULL. */
	nat_obj *(*object)(void *ctx, uint64_t addr, uint64_t *bias);
	void *ctx;
	uint64_t stack_lo, stack_hi; /* the thread's stack mapping (0: unknown) */
} nat_unwind_env;

typedef struct nat_uframe {
	uint64_t pc, sp;
	nat_regs regs;      /* registers in this frame (those that are known) */
	uint8_t how;        /* bd_unwind_how: how this frame was reached */
	uint8_t exact_pc;   /* pc is the instruction itself, not a return address */
} nat_uframe;

/* Walk from start; fills at most cap frames and returns the count. *stop says why
 * the walk ended before a thread's outermost frame (NULL when it reached it). */
size_t nat_unwind(const nat_unwind_env *env, const nat_regs *start, nat_uframe *out, size_t cap,
		  const char **stop);

#endif
