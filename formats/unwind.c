/* The x86-64 unwinder of the native-crash reader: call frame information first
 * (libdwarf rows, DWARF expressions evaluated here), the kernel's signal frame when a
 * return address is the rt_sigreturn trampoline, then frame pointers, then a bounded
 * stack scan for a word that returns just after a call instruction. Every frame says
 * how it was found; every memory read goes through the caller's reader, so a
 * damaged stack ends the walk (with a reason) instead of the program. */
#include <string.h>

#include "unwind.h"

enum {
	SCAN_BYTES = 4096,        /* an unchecked return address must be this near */
	SCAN_DEEP = 256 << 10,    /* a checked one may be this far */
	SCAN_CANDIDATES = 512,
	CHAIN_CHECK = 64,
	EXPR_STACK = 64,
	EXPR_STEPS = 256,
};

static int rd64(const nat_unwind_env *env, uint64_t addr, uint64_t *v)
{
	uint8_t b[8];
	if (env->read(env->ctx, addr, b, 8) != 8)
		return -1;
	memcpy(v, b, 8);
	return 0;
}

static int is_exec(const nat_unwind_env *env, uint64_t pc)
{
	return pc >= 4096 && env->exec(env->ctx, pc);
}

/* ---- DWARF expressions of CFI (PLT entries, glibc's signal frames) ---- */
static int uleb(const uint8_t **p, const uint8_t *e, uint64_t *v)
{
	uint64_t r = 0;
	for (int s = 0; s < 64 && *p < e; s += 7) {
		uint8_t b = *(*p)++;
		r |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

static int sleb(const uint8_t **p, const uint8_t *e, int64_t *v)
{
	int64_t r = 0;
	int s = 0;
	uint8_t b = 0;
	do {
		if (*p >= e || s >= 64)
			return -1;
		b = *(*p)++;
		r |= (int64_t)(b & 0x7f) << s;
		s += 7;
	} while (b & 0x80);
	if (s < 64 && (b & 0x40))
		r |= -((int64_t)1 << s);
	*v = r;
	return 0;
}

/* Evaluate expr with the CFA pushed first when push_cfa. Returns 0 and the top. */
static int eval_expr(const nat_unwind_env *env, const nat_regs *rg, const uint8_t *p,
		     size_t len, int push_cfa, uint64_t cfa, uint64_t *out)
{
	uint64_t st[EXPR_STACK];
	int sp = 0;
	const uint8_t *e = p + len, *start = p;
	if (push_cfa)
		st[sp++] = cfa;
	for (int steps = 0; p < e && steps < EXPR_STEPS; steps++) {
		uint8_t op = *p++;
		uint64_t u;
		int64_t s;
		if (op >= 0x30 && op <= 0x4f) { /* DW_OP_lit0..31 */
			if (sp >= EXPR_STACK)
				return -1;
			st[sp++] = op - 0x30u;
			continue;
		}
		if (op >= 0x70 && op <= 0x8f) { /* DW_OP_breg0..31 */
			int r = op - 0x70;
			if (sleb(&p, e, &s) || r >= NR__COUNT || !(rg->valid & (1u << r)) || sp >= EXPR_STACK)
				return -1;
			st[sp++] = rg->r[r] + (uint64_t)s;
			continue;
		}
		switch (op) {
		case 0x08: /* const1u */
			if (p >= e || sp >= EXPR_STACK)
				return -1;
			st[sp++] = *p++;
			break;
		case 0x0a: /* const2u */
			if (e - p < 2 || sp >= EXPR_STACK)
				return -1;
			st[sp++] = (uint64_t)p[0] | (uint64_t)p[1] << 8;
			p += 2;
			break;
		case 0x0c: /* const4u */
			if (e - p < 4 || sp >= EXPR_STACK)
				return -1;
			st[sp++] = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
				   (uint64_t)p[3] << 24;
			p += 4;
			break;
		case 0x10: /* constu */
			if (uleb(&p, e, &u) || sp >= EXPR_STACK)
				return -1;
			st[sp++] = u;
			break;
		case 0x11: /* consts */
			if (sleb(&p, e, &s) || sp >= EXPR_STACK)
				return -1;
			st[sp++] = (uint64_t)s;
			break;
		case 0x12: /* dup */
			if (!sp || sp >= EXPR_STACK)
				return -1;
			st[sp] = st[sp - 1];
			sp++;
			break;
		case 0x06: /* deref */
			if (!sp || rd64(env, st[sp - 1], &st[sp - 1]))
				return -1;
			break;
		case 0x23: /* plus_uconst */
			if (!sp || uleb(&p, e, &u))
				return -1;
			st[sp - 1] += u;
			break;
		case 0x1a: case 0x1c: case 0x1e: case 0x21: case 0x22: case 0x24: case 0x25:
		case 0x27: case 0x29: case 0x2a: case 0x2b: case 0x2c: case 0x2d: case 0x2e: {
			if (sp < 2)
				return -1;
			uint64_t b = st[--sp], a = st[sp - 1], r;
			switch (op) {
			case 0x1a: r = a & b; break;
			case 0x1c: r = a - b; break;
			case 0x1e: r = a * b; break;
			case 0x21: r = a | b; break;
			case 0x22: r = a + b; break;
			case 0x24: r = b < 64 ? a << b : 0; break;
			case 0x25: r = b < 64 ? a >> b : 0; break;
			case 0x27: r = a ^ b; break;
			case 0x29: r = a == b; break;
			case 0x2a: r = (int64_t)a >= (int64_t)b; break;
			case 0x2b: r = (int64_t)a > (int64_t)b; break;
			case 0x2c: r = (int64_t)a <= (int64_t)b; break;
			case 0x2d: r = (int64_t)a < (int64_t)b; break;
			default: r = a != b; break;
			}
			st[sp - 1] = r;
			break;
		}
		default:
			return -1;
		}
	}
	(void)start;
	if (!sp)
		return -1;
	*out = st[sp - 1];
	return 0;
}

/* ---- one step by CFI ---- */
static int step_cfi(const nat_unwind_env *env, const nat_cfi *c, const nat_regs *cur,
		    nat_regs *next, uint64_t *cfa_out)
{
	uint64_t cfa;
	if (c->cfa.kind == NCR_REG) {
		if (!(cur->valid & (1u << c->cfa.reg)))
			return -1;
		cfa = cur->r[c->cfa.reg] + (uint64_t)c->cfa.off;
	} else if (eval_expr(env, cur, c->cfa.expr, c->cfa.expr_len, 0, 0, &cfa)) {
		return -1;
	}
	nat_regs n;
	memset(&n, 0, sizeof n);
	for (int i = 0; i < NR__COUNT; i++) {
		const nat_cfi_rule *r = &c->regs[i];
		uint64_t v = 0;
		int ok = 0;
		switch (r->kind) {
		case NCR_SAME:
			/* Callee-saved registers keep their value; the others are unknown. */
			ok = (cur->valid & (1u << i)) &&
			     (i == NR_RBX || i == NR_RBP || (i >= NR_R12 && i <= NR_R15));
			v = cur->r[i];
			break;
		case NCR_OFFSET:
			ok = !rd64(env, cfa + (uint64_t)r->off, &v);
			break;
		case NCR_VAL_OFFSET:
			ok = 1;
			v = cfa + (uint64_t)r->off;
			break;
		case NCR_REG:
			ok = r->reg < NR__COUNT && (cur->valid & (1u << r->reg));
			v = ok ? cur->r[r->reg] : 0;
			break;
		case NCR_EXPR: {
			uint64_t at;
			ok = !eval_expr(env, cur, r->expr, r->expr_len, 1, cfa, &at) && !rd64(env, at, &v);
			break;
		}
		case NCR_VAL_EXPR:
			ok = !eval_expr(env, cur, r->expr, r->expr_len, 1, cfa, &v);
			break;
		default:
			break;
		}
		if (ok) {
			n.r[i] = v;
			n.valid |= 1u << i;
		}
	}
	n.r[NR_RSP] = cfa;
	n.valid |= 1u << NR_RSP;
	*next = n;
	*cfa_out = cfa;
	return (n.valid & (1u << NR_RIP)) ? 0 : -1;
}

/* ---- the kernel's signal frame: the return address is __restore_rt ----
 * mov $15, %rax (rt_sigreturn); syscall. The ucontext is at the stack pointer. */
static int is_sigreturn(const nat_unwind_env *env, uint64_t pc)
{
	static const uint8_t pat[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
	uint8_t b[sizeof pat];
	return env->read(env->ctx, pc, b, sizeof b) == sizeof b && !memcmp(b, pat, sizeof pat);
}

static int step_signal(const nat_unwind_env *env, const nat_regs *cur, nat_regs *next)
{
	/* struct ucontext: flags 8, link 8, stack_t 24, then mcontext gregs:
	 * r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip. */
	static const int8_t order[17] = {NR_R8,  NR_R9,  NR_R10, NR_R11, NR_R12, NR_R13,
					 NR_R14, NR_R15, NR_RDI, NR_RSI, NR_RBP, NR_RBX,
					 NR_RDX, NR_RAX, NR_RCX, NR_RSP, NR_RIP};
	uint8_t g[17 * 8];
	if (env->read(env->ctx, cur->r[NR_RSP] + 40, g, sizeof g) != sizeof g)
		return -1;
	memset(next, 0, sizeof *next);
	for (int i = 0; i < 17; i++) {
		memcpy(&next->r[order[i]], g + 8 * i, 8);
		next->valid |= 1u << order[i];
	}
	return 0;
}

/* ---- fallbacks ---- */
static int after_call(const nat_unwind_env *env, uint64_t ra)
{
	uint8_t b[8];
	if (ra < 8 || env->read(env->ctx, ra - 8, b, 8) != 8)
		return 0;
	const uint8_t *e = b + 8; /* e[-k] is the byte k before ra */
	if (e[-5] == 0xe8)
		return 1;                                       /* call rel32 */
	if (e[-2] == 0xff && (e[-1] & 0xf8) == 0xd0)
		return 1;                                       /* call *%reg */
	if (e[-3] == 0x41 && e[-2] == 0xff && (e[-1] & 0xf8) == 0xd0)
		return 1;                                       /* call *%r8-15 */
	if (e[-3] == 0xff && (e[-2] & 0xf8) == 0x50 && e[-2] != 0x54)
		return 1;                                       /* call *d8(%reg) */
	if (e[-4] == 0xff && e[-3] == 0x54)
		return 1;                                       /* call *d8(sib) */
	if (e[-6] == 0xff && (e[-5] == 0x15 || ((e[-5] & 0xf8) == 0x90 && e[-5] != 0x94)))
		return 1;                                       /* call *d32(%rip|%reg) */
	if (e[-7] == 0xff && e[-6] == 0x94)
		return 1;                                       /* call *d32(sib) */
	if (e[-2] == 0xff && (e[-1] & 0xf8) == 0x10 && e[-1] != 0x14 && e[-1] != 0x15)
		return 1;                                       /* call *(%reg) */
	return 0;
}

static int in_stack(const nat_unwind_env *env, uint64_t a)
{
	return !env->stack_hi || (a >= env->stack_lo && a < env->stack_hi);
}

static int step_fp(const nat_unwind_env *env, const nat_regs *cur, nat_regs *next)
{
	if (!(cur->valid & (1u << NR_RBP)))
		return -1;
	uint64_t fp = cur->r[NR_RBP], sp = cur->r[NR_RSP], saved, ra;
	if ((fp & 7) || fp < sp || fp - sp > (1u << 20) || !in_stack(env, fp + 8) ||
	    rd64(env, fp, &saved) || rd64(env, fp + 8, &ra) || !is_exec(env, ra) || !after_call(env, ra))
		return -1;
	memset(next, 0, sizeof *next);
	next->r[NR_RBP] = saved;
	next->r[NR_RSP] = fp + 16;
	next->r[NR_RIP] = ra;
	next->valid = 1u << NR_RBP | 1u << NR_RSP | 1u << NR_RIP;
	return 0;
}

/* Does a CFI walk from regs reach the thread's outermost frame (or a zero return
 * address) with the stack pointer going up at every step? Used to tell a live return
 * address found by scanning from a stale one. */
static int chain_ok(const nat_unwind_env *env, nat_regs cur)
{
	for (int i = 0; i < CHAIN_CHECK; i++) {
		uint64_t pc = cur.r[NR_RIP], bias;
		if (!pc)
			return i >= 3; /* a zero return address ends a chain only after real frames */
		if (!is_exec(env, pc))
			return 0;
		nat_obj *o = env->object(env->ctx, pc - 1, &bias);
		nat_cfi c;
		if (!o || nat_obj_cfi(o, pc - 1 - bias, &c))
			return 0;
		if (c.ra_undefined)
			return 1;
		nat_regs nx;
		uint64_t cfa;
		if (step_cfi(env, &c, &cur, &nx, &cfa) || nx.r[NR_RSP] <= cur.r[NR_RSP] ||
		    !in_stack(env, nx.r[NR_RSP] - 1))
			return 0;
		cur = nx;
	}
	return 1;
}

/* A return address on the stack: first one whose CFI chain checks out (searching up
 * to deep bytes: JIT code keeps the VM's register file on the C stack, so its
 * caller's frame can be tens of kilobytes up), else the first plausible one nearby. */
static int step_scan(const nat_unwind_env *env, const nat_regs *cur, nat_regs *next)
{
	uint64_t sp = cur->r[NR_RSP], first = 0, first_at = 0;
	uint64_t a = (sp + 7) & ~(uint64_t)7;
	for (int checked = 0; a < sp + SCAN_DEEP && in_stack(env, a + 8); a += 8) {
		uint64_t w, bias;
		if (rd64(env, a, &w))
			break;
		if (!is_exec(env, w) || !after_call(env, w))
			continue;
		if (!first && a < sp + SCAN_BYTES) {
			first = w;
			first_at = a;
		}
		if (checked++ > SCAN_CANDIDATES || !env->object(env->ctx, w - 1, &bias))
			continue;
		nat_regs t;
		memset(&t, 0, sizeof t);
		t.r[NR_RSP] = a + 8;
		t.r[NR_RIP] = w;
		t.valid = 1u << NR_RSP | 1u << NR_RIP;
		if (chain_ok(env, t)) {
			*next = t;
			return 0;
		}
	}
	if (!first)
		return -1;
	memset(next, 0, sizeof *next);
	next->r[NR_RSP] = first_at + 8;
	next->r[NR_RIP] = first;
	next->valid = 1u << NR_RSP | 1u << NR_RIP;
	return 0;
}

size_t nat_unwind(const nat_unwind_env *env, const nat_regs *start, nat_uframe *out, size_t cap,
		  const char **stop)
{
	nat_regs cur = *start;
	size_t n = 0;
	int exact_pc = 1; /* frame 0 and frames interrupted by a signal: pc is not a return */
	*stop = NULL;
	if (!(cur.valid & (1u << NR_RIP)) || !(cur.valid & (1u << NR_RSP))) {
		*stop = "no registers";
		return 0;
	}
	uint8_t how = BD_UNW_REGS;
	while (n < cap) {
		uint64_t pc = cur.r[NR_RIP];
		out[n].pc = pc;
		out[n].sp = cur.r[NR_RSP];
		out[n].regs = cur;
		out[n].how = how;
		out[n].exact_pc = (uint8_t)exact_pc;
		n++;
		nat_regs nx;
		if (n == 1 && !is_exec(env, pc)) {
			/* A jump or call to a bad address (a NULL function pointer): the
			 * caller's return address is on top of the stack. */
			uint64_t ra;
			if (rd64(env, cur.r[NR_RSP], &ra) || !is_exec(env, ra) || !after_call(env, ra)) {
				*stop = "the crashing instruction is outside executable memory";
				break;
			}
			/* Nothing ran since the call: callee-saved registers are the caller's. */
			nx = cur;
			nx.valid &= 1u << NR_RBX | 1u << NR_RBP | 1u << NR_R12 | 1u << NR_R13 |
				    1u << NR_R14 | 1u << NR_R15;
			nx.r[NR_RSP] = cur.r[NR_RSP] + 8;
			nx.r[NR_RIP] = ra;
			nx.valid |= 1u << NR_RSP | 1u << NR_RIP;
			how = BD_UNW_SCAN;
			exact_pc = 0;
			cur = nx;
			continue;
		}
		if (!pc) {
			n--; /* a zero return address ends the chain (thread entry) */
			break;
		}
		if (!is_exec(env, pc)) {
			*stop = "return address outside executable memory";
			break;
		}
		uint64_t cfa = 0;
		uint64_t look = exact_pc ? pc : pc - 1;
		uint64_t bias;
		nat_obj *o = env->object(env->ctx, look, &bias);
		nat_cfi c;
		int have_cfi = o && !nat_obj_cfi(o, look - bias, &c);
		if (have_cfi && c.ra_undefined)
			break; /* the outermost frame: clone, _start */
		if (!exact_pc && is_sigreturn(env, pc) && !step_signal(env, &cur, &nx)) {
			how = BD_UNW_SIGNAL;
			exact_pc = 1;
		} else if (have_cfi && !step_cfi(env, &c, &cur, &nx, &cfa)) {
			how = BD_UNW_CFI;
			exact_pc = 0;
		} else if (!step_fp(env, &cur, &nx)) {
			how = BD_UNW_FP;
			exact_pc = 0;
		} else if (!step_scan(env, &cur, &nx)) {
			how = BD_UNW_SCAN;
			exact_pc = 0;
		} else {
			*stop = have_cfi ? "call frame information could not be applied (registers unknown)"
					 : "no call frame information and no return address found on the stack";
			break;
		}
		if (how != BD_UNW_SIGNAL && nx.r[NR_RSP] <= cur.r[NR_RSP]) {
			*stop = "the stack pointer did not move up (damaged stack)";
			break;
		}
		if (!in_stack(env, nx.r[NR_RSP] - 1)) {
			*stop = "the stack pointer left the thread's stack";
			break;
		}
		cur = nx;
	}
	if (n == cap && !*stop)
		*stop = "frame limit reached";
	return n;
}
