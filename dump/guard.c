/* libbeamdump_guard.so: the crash guard (docs/native.md). Loaded into a BEAM with
 * LD_PRELOAD (every thread gets an alternate signal stack), or as the NIF library of
 * the beamdump_guard module, it installs handlers for SIGSEGV, SIGBUS, SIGILL,
 * SIGFPE and SIGABRT. On a fatal signal it writes what a core file would tell — the
 * registers, the signal, the crashing thread's stack, the mapped objects with their
 * build-ids, every thread's name, the JIT's tables for the code on the stack — into
 * $BEAMDUMP_GUARD_DIR/beam-<pid>-<time>.bdump through the async-signal-safe writer,
 * then puts the previous handler back and re-raises, so the VM dies as it would have
 * (and a core is still written where cores are on). Symbolization happens later,
 * offline, in beamdump.
 *
 * Everything the handler touches is set up at load: memory is mmap'ed and pre-faulted,
 * the writer's zstd context is static. In the handler: no malloc, no stdio, no locks;
 * only system calls (open, read, write, getdents64, readlink, clock_gettime,
 * sigaction, tgkill) and mem* functions. Tested by tests/test_guard.c (malloc made
 * fatal in the crashing process) and tests/check_dump_symbols.sh. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "beamdump/container.h"
#include "beamdump/dump.h"

#define EXPORT __attribute__((visibility("default")))

enum {
	REC_CAP = 2u << 20,       /* the raw record (one writer record) */
	STACK_UP = 3u << 19,      /* stack bytes kept above the stack pointer: a whole
				   * scheduler stack (a recursion's NIF frame is at its top) */
	JIT_ROOM = 256u << 10,    /* kept for the JIT symfiles after the stack */
	STACK_DOWN = 16u << 10,   /* and below it (the last calls' stale frames) */
	MAPS_CAP = 1u << 20,      /* /proc/self/maps text */
	MAX_MAPS = 16384,
	ALTSTACK = 128u << 10,    /* per thread, plus a guard page */
	SMALL = 8192,             /* /proc files other than maps */
	MAX_THREADS = 4096,
	WINDOWS = 24,             /* memory windows at pointers held in registers/stack */
	WINDOW = 2048,
	FP_FRAMES = 128,
};

static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
#define NFATAL (sizeof fatal / sizeof fatal[0])

typedef struct gmap {
	uint64_t start, end, off;
	uint32_t prot; /* 1 r, 2 w, 4 x */
	uint32_t path; /* offset of the path in the maps text, 0 = none */
} gmap;

static struct {
	int installed;
	int any_process;
	char dir[PATH_MAX];
	size_t dir_len;
	void *arena;
	size_t arena_size;
	uint8_t *rec;             /* REC_CAP */
	size_t rec_len;
	char *maps_text;          /* MAPS_CAP + 1 */
	size_t maps_len;
	gmap *maps;               /* MAX_MAPS */
	size_t nmaps;
	char *small;              /* SMALL */
	uint64_t *fp;             /* FP_FRAMES */
	uint64_t jit_desc;        /* &__jit_debug_descriptor, 0 when absent */
	uint64_t abort_msg;       /* &__abort_msg (glibc: the text of a failed assert) */
	struct sigaction old[NFATAL];
	volatile int busy;        /* a handler is running */
	volatile pid_t busy_tid;
	pthread_key_t alt_key;
} g;

/* ---- signal-safe helpers ---- */
static pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }

static size_t put_u64(char *b, uint64_t v)
{
	char t[24];
	size_t n = 0, k = 0;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		b[k++] = t[--n];
	return k;
}

static void say(const char *a, const char *b, const char *c)
{
	const char *parts[3] = {a, b, c};
	for (int i = 0; i < 3; i++)
		if (parts[i] && write(2, parts[i], strlen(parts[i])) < 0)
			return;
}

/* Read a whole (small) file into buf; returns the bytes read. */
static size_t slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t n = 0;
	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	return n;
}

static const char *hex(const char *p, const char *e, uint64_t *v)
{
	uint64_t x = 0;
	const char *s = p;
	while (p < e) {
		char c = *p;
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			break;
		x = x << 4 | (uint64_t)d;
		p++;
	}
	*v = x;
	return p > s ? p : NULL;
}

/* ---- the record being built ---- */
static uint8_t *entry(uint16_t tag, size_t len)
{
	if (g.rec_len + 6 + len > REC_CAP)
		return NULL;
	uint8_t *p = g.rec + g.rec_len;
	bd_put16(p, tag);
	bd_put32(p + 2, (uint32_t)len);
	g.rec_len += 6 + len;
	return p + 6;
}

static void entry_bytes(uint16_t tag, const void *a, size_t alen, const void *b, size_t blen)
{
	uint8_t *p = entry(tag, alen + blen);
	if (!p)
		return;
	memcpy(p, a, alen);
	if (blen)
		memcpy(p + alen, b, blen);
}

/* ---- memory we may read: what /proc/self/maps says is readable ---- */
static void load_maps(void)
{
	g.maps_len = slurp("/proc/self/maps", g.maps_text, MAPS_CAP);
	g.maps_text[g.maps_len] = 0;
	g.nmaps = 0;
	const char *p = g.maps_text, *e = p + g.maps_len;
	while (p < e && g.nmaps < MAX_MAPS) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		const char *le = nl ? nl : e;
		gmap m = {0, 0, 0, 0, 0};
		const char *q = hex(p, le, &m.start);
		if (q && *q == '-' && (q = hex(q + 1, le, &m.end)) && q + 5 < le) {
			m.prot = (q[1] == 'r' ? 1u : 0) | (q[2] == 'w' ? 2u : 0) | (q[3] == 'x' ? 4u : 0);
			q = hex(q + 6, le, &m.off);
			/* skip dev and inode to the path */
			int fields = 0;
			while (q && q < le && fields < 2) {
				while (q < le && *q == ' ')
					q++;
				while (q < le && *q != ' ')
					q++;
				fields++;
			}
			while (q && q < le && *q == ' ')
				q++;
			if (q && q < le && *q == '/')
				m.path = (uint32_t)(q - g.maps_text);
			g.maps[g.nmaps++] = m;
		}
		p = nl ? nl + 1 : e;
	}
}

static const gmap *map_of(uint64_t a)
{
	for (size_t i = 0; i < g.nmaps; i++)
		if (a >= g.maps[i].start && a < g.maps[i].end)
			return &g.maps[i];
	return NULL;
}

/* Is [a, a+n) inside readable memory? (Adjacent readable mappings count.) */
static int readable(uint64_t a, size_t n)
{
	uint64_t end = a + n;
	if (end < a)
		return 0;
	while (a < end) {
		const gmap *m = map_of(a);
		if (!m || !(m->prot & 1))
			return 0;
		a = m->end;
	}
	return 1;
}

static int rd64(uint64_t a, uint64_t *v)
{
	if (!readable(a, 8))
		return -1;
	memcpy(v, (const void *)(uintptr_t)a, 8);
	return 0;
}

/* ---- what goes into the record ---- */
static void add_info(const siginfo_t *si, pid_t tid, uint64_t fs_base)
{
	uint8_t *p = entry(BD_NAT_INFO, 48);
	if (!p)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	bd_put32(p, (uint32_t)getpid());
	bd_put32(p + 4, (uint32_t)tid);
	bd_put32(p + 8, (uint32_t)si->si_signo);
	bd_put32(p + 12, (uint32_t)si->si_code);
	bd_put32(p + 16, si->si_code <= 0 ? (uint32_t)si->si_pid : 0);
	bd_put32(p + 20, 0);
	bd_put64(p + 24, si->si_code > 0 ? (uint64_t)(uintptr_t)si->si_addr : 0);
	bd_put64(p + 32, (uint64_t)ts.tv_sec);
	bd_put64(p + 40, fs_base);
}

/* ucontext gregs -> DWARF order: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip */
static void add_regs(const ucontext_t *uc, uint64_t *r)
{
	const greg_t *gr = uc->uc_mcontext.gregs;
	static const int order[17] = {REG_RAX, REG_RDX, REG_RCX, REG_RBX, REG_RSI, REG_RDI,
				      REG_RBP, REG_RSP, REG_R8,  REG_R9,  REG_R10, REG_R11,
				      REG_R12, REG_R13, REG_R14, REG_R15, REG_RIP};
	uint8_t *p = entry(BD_NAT_REGS, 17 * 8 + 4);
	for (int i = 0; i < 17; i++) {
		r[i] = (uint64_t)gr[order[i]];
		if (p)
			bd_put64(p + 8 * i, r[i]);
	}
	if (p)
		bd_put32(p + 136, (1u << 17) - 1);
}

static void add_mem(uint64_t a, size_t n)
{
	if (!n || !readable(a, n))
		return;
	uint8_t addr[8];
	bd_put64(addr, a);
	entry_bytes(BD_NAT_MEM, addr, 8, (const void *)(uintptr_t)a, n);
}

/* The crashing thread's stack: from a little under the stack pointer (stale frames
 * of the last calls) up toward the stack's top, as much as the record has room for. */
static void stack_bounds(uint64_t sp, uint64_t *lo_out, uint64_t *hi_out)
{
	*lo_out = *hi_out = 0;
	const gmap *m = map_of(sp);
	if (!m || !(m->prot & 2)) {
		/* A stack overflow: sp is in the guard page; the stack is the next mapping. */
		m = NULL;
		for (size_t i = 0; i < g.nmaps; i++)
			if (g.maps[i].start > sp && g.maps[i].start - sp < (1u << 20) && (g.maps[i].prot & 2)) {
				m = &g.maps[i];
				break;
			}
		if (!m)
			return;
	}
	uint64_t lo = sp > m->start + STACK_DOWN ? sp - STACK_DOWN : m->start;
	uint64_t hi = m->end;
	if (hi - lo > STACK_UP + STACK_DOWN)
		hi = lo + STACK_UP + STACK_DOWN;
	*lo_out = lo;
	*hi_out = hi;
}

static void add_stack(uint64_t lo, uint64_t hi)
{
	size_t room = REC_CAP - g.rec_len;
	room = room > JIT_ROOM + 64 ? room - JIT_ROOM - 64 : 0;
	if (hi - lo > room)
		hi = lo + room;
	add_mem(lo, (size_t)(hi - lo));
}

/* Small windows of memory that registers and the top of the stack point at, outside
 * the stack: the running process, the Erlang stack (read offline to name the Erlang
 * caller of the NIF). */
static void add_windows(const uint64_t *r, uint64_t slo, uint64_t shi)
{
	uint64_t cand[WINDOWS];
	int n = 0;
	static const int regs[] = {3, 6, 12, 13, 14, 15}; /* rbx rbp r12-r15 */
	for (size_t i = 0; i < sizeof regs / sizeof regs[0] && n < WINDOWS; i++)
		cand[n++] = r[regs[i]];
	for (uint64_t a = r[7] & ~7ull; a + 8 <= shi && a < r[7] + 2048 && n < WINDOWS; a += 8) {
		uint64_t w;
		if (a >= slo && !rd64(a, &w) && (w < slo || w >= shi)) {
			const gmap *m = map_of(w);
			if (m && (m->prot & 2) && !m->path)
				cand[n++] = w;
		}
	}
	for (int i = 0; i < n; i++) {
		uint64_t w = cand[i] & ~7ull;
		const gmap *m = map_of(w);
		if (!m || !(m->prot & 2) || (w >= slo && w < shi))
			continue;
		uint64_t end = w + WINDOW < m->end ? w + WINDOW : m->end;
		add_mem(w, (size_t)(end - w));
	}
}

/* Frame pointers, inside the stack (the offline unwinder does the real work). */
static void add_fp_walk(const uint64_t *r, uint64_t slo, uint64_t shi)
{
	size_t n = 0;
	g.fp[n++] = r[16];
	uint64_t fp = r[6];
	while (n < FP_FRAMES && fp >= slo && fp + 16 <= shi && !(fp & 7)) {
		uint64_t next, ra;
		if (rd64(fp, &next) || rd64(fp + 8, &ra) || !ra)
			break;
		const gmap *m = map_of(ra);
		if (!m || !(m->prot & 4))
			break;
		g.fp[n++] = ra;
		if (next <= fp)
			break;
		fp = next;
	}
	uint8_t *p = entry(BD_NAT_FPWALK, n * 8);
	for (size_t i = 0; p && i < n; i++)
		bd_put64(p + 8 * i, g.fp[i]);
}

/* Build-ids of the mapped ELF objects, from their headers in memory. */
static void add_build_ids(void)
{
	for (size_t i = 0; i < g.nmaps; i++) {
		const gmap *m = &g.maps[i];
		if (m->off || !m->path || !(m->prot & 1) || m->end - m->start < 64)
			continue;
		const uint8_t *eh = (const uint8_t *)(uintptr_t)m->start;
		if (memcmp(eh, "\177ELF", 4) || eh[4] != 2)
			continue;
		uint64_t phoff = bd_get64(eh + 32);
		uint16_t phnum = bd_get16(eh + 56), phent = bd_get16(eh + 54);
		if (phent != 56 || phnum > 64 || !readable(m->start + phoff, (size_t)phnum * 56))
			continue;
		uint64_t link_base = 0;
		int have = 0;
		for (int k = 0; k < phnum && !have; k++) {
			const uint8_t *ph = eh + phoff + 56 * k;
			if (bd_get32(ph) == 1) {
				link_base = bd_get64(ph + 16) - bd_get64(ph + 8);
				have = 1;
			}
		}
		for (int k = 0; k < phnum; k++) {
			const uint8_t *ph = eh + phoff + 56 * k;
			uint64_t va = bd_get64(ph + 16), sz = bd_get64(ph + 32);
			if (bd_get32(ph) != 4 || sz > 4096 || !readable(m->start + va - link_base, (size_t)sz))
				continue;
			const uint8_t *nb = (const uint8_t *)(uintptr_t)(m->start + va - link_base);
			for (uint64_t off = 0; off + 12 <= sz;) {
				uint32_t nsz = bd_get32(nb + off), dsz = bd_get32(nb + off + 4);
				uint64_t d = off + 12 + ((nsz + 3) & ~3u);
				if (nsz > sz || dsz > sz || d + dsz > sz)
					break;
				if (bd_get32(nb + off + 8) == 3 && nsz == 4 && !memcmp(nb + off + 12, "GNU", 4) &&
				    dsz && dsz <= 64) {
					uint8_t *p = entry(BD_NAT_BUILDID, 8 + 2 * dsz);
					if (p) {
						static const char hx[] = "0123456789abcdef";
						bd_put64(p, m->start);
						for (uint32_t j = 0; j < dsz; j++) {
							p[8 + 2 * j] = (uint8_t)hx[nb[d + j] >> 4];
							p[9 + 2 * j] = (uint8_t)hx[nb[d + j] & 15];
						}
					}
				}
				off = d + ((dsz + 3) & ~3u);
			}
		}
	}
}

struct dirent64_ {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* Every thread: name (comm), state, and the stack pointer and pc of one blocked in a
 * system call (/proc/self/task/T/syscall), which lets beamdump unwind it offline. */
static void add_threads(void)
{
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	char buf[4096];
	int seen = 0;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
		if (n <= 0)
			break;
		for (long off = 0; off < n && seen < MAX_THREADS;) {
			struct dirent64_ *d = (struct dirent64_ *)(buf + off);
			off += d->reclen;
			if (d->name[0] < '0' || d->name[0] > '9')
				continue;
			seen++;
			uint64_t tid = 0;
			for (const char *c = d->name; *c >= '0' && *c <= '9'; c++)
				tid = tid * 10 + (uint64_t)(*c - '0');
			char path[64] = "/proc/self/task/";
			size_t pl = 16;
			size_t nl = strlen(d->name);
			if (nl > 20)
				continue;
			memcpy(path + pl, d->name, nl);
			pl += nl;
			memcpy(path + pl, "/comm", 6);
			size_t cn = slurp(path, g.small, 64);
			memcpy(path + pl, "/stat", 6);
			size_t sn = slurp(path, g.small + 64, 512);
			char state = 0;
			for (size_t k = sn; k > 1; k--)
				if (g.small[64 + k - 2] == ')' && g.small[64 + k - 1] == ' ') {
					state = k < sn ? g.small[64 + k] : 0;
					break;
				}
			uint8_t hdr[5];
			bd_put32(hdr, (uint32_t)tid);
			hdr[4] = (uint8_t)state;
			entry_bytes(BD_NAT_THREAD, hdr, 5, g.small, cn);
			/* "nr a1 .. a6 sp pc" in hex when blocked in a system call */
			memcpy(path + pl, "/syscall", 9);
			size_t yn = slurp(path, g.small + 1024, 512);
			const char *p = g.small + 1024, *e = p + yn;
			uint64_t v[9];
			int k = 0;
			if (yn && *p != 'r') { /* "running" has no registers */
				while (k < 9 && p < e) {
					while (p < e && (*p == ' ' || *p == 'x' || (*p == '0' && p + 1 < e && p[1] == 'x')))
						p++;
					const char *q = hex(p, e, &v[k]);
					if (!q)
						break;
					k++;
					p = q;
				}
			}
			if (k == 9) {
				uint8_t *x = entry(BD_NAT_PCSP, 20);
				if (x) {
					bd_put32(x, (uint32_t)tid);
					bd_put64(x + 4, v[7]);
					bd_put64(x + 12, v[8]);
				}
			}
		}
	}
	close(fd);
}

static int jit_code(uint64_t w)
{
	const gmap *m = map_of(w);
	return m && (m->prot & 4) && (!m->path || !strncmp(g.maps_text + m->path, "/memfd:", 7));
}

/* The JIT's symfiles of the code the stack points into (the VM's GDB JIT interface),
 * so JIT frames get Erlang names offline. */
static void add_jit(const uint64_t *regs, uint64_t slo, uint64_t shi)
{
	enum { HITS = 512 };
	uint64_t hits[HITS];
	int nh = 0;
	if (jit_code(regs[16]))
		hits[nh++] = regs[16];
	for (uint64_t a = slo; a + 8 <= shi && nh < HITS; a += 8) {
		uint64_t w;
		memcpy(&w, (const void *)(uintptr_t)a, 8);
		if (jit_code(w))
			hits[nh++] = w;
	}
	uint64_t e;
	if (!nh || !g.jit_desc || rd64(g.jit_desc + 16, &e))
		return;
	size_t budget = REC_CAP - g.rec_len;
	for (int i = 0; e && i < (1 << 20); i++) {
		uint64_t next, addr, size;
		if (rd64(e, &next) || rd64(e + 16, &addr) || rd64(e + 24, &size))
			break;
		e = next;
		if (size < 32 || size > budget || !readable(addr, (size_t)size))
			continue;
		const uint8_t *sf = (const uint8_t *)(uintptr_t)addr;
		uint64_t base = bd_get64(sf + 8);
		uint16_t l25 = bd_get16(sf + 24);
		uint64_t csize = l25 && 26u + l25 <= size && sf[26 + l25 - 1] == 0 ? bd_get32(sf + 20)
										   : bd_get64(sf + 16);
		int hit = 0;
		for (int k = 0; k < nh && !hit; k++)
			hit = hits[k] >= base && hits[k] - base < csize;
		if (!hit)
			continue;
		entry_bytes(BD_NAT_JIT, sf, (size_t)size, NULL, 0);
		budget -= (size_t)size;
	}
}

/* What glibc said before it aborted (a failed assertion, a heap check). */
static void add_abort_message(void)
{
	uint64_t p;
	if (!g.abort_msg || rd64(g.abort_msg, &p))
		return;
	add_mem(g.abort_msg, 8);
	if (p && readable(p, 8)) {
		uint32_t size = bd_get32((const uint8_t *)(uintptr_t)p);
		size_t n = size < 4096 ? size : 4096;
		while (n && !readable(p, n))
			n /= 2;
		add_mem(p, n);
	}
}

static void add_file(uint16_t tag, const char *path)
{
	size_t n = slurp(path, g.small, SMALL);
	if (n)
		entry_bytes(tag, g.small, n, NULL, 0);
}

/* ---- writing ---- */
static size_t file_name(char *out, size_t cap, pid_t pid)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	size_t n = 0;
	if (g.dir_len + 64 > cap)
		return 0;
	memcpy(out, g.dir, g.dir_len);
	n = g.dir_len;
	memcpy(out + n, "/beam-", 6);
	n += 6;
	n += put_u64(out + n, (uint64_t)pid);
	out[n++] = '-';
	n += put_u64(out + n, (uint64_t)ts.tv_sec);
	memcpy(out + n, ".bdump", 7);
	return n + 6;
}

static int write_snapshot(char *path, size_t cap)
{
	if (!file_name(path, cap, getpid()))
		return -1;
	bd_writer_opts wo = BD_WRITER_OPTS_INIT;
	wo.level = 1;
	wo.max_record = REC_CAP;
	wo.max_records = 16;
	wo.producer = "beamdump guard";
	bd_writer *w;
	if (bd_writer_init(&w, g.arena, g.arena_size, path, &wo, NULL))
		return -1;
	bd_record r = {BD_REC_NATIVE, 1, 1, 0, 1, 0};
	if (bd_writer_record(w, &r, g.rec, g.rec_len)) {
		bd_writer_abandon(w);
		return -1;
	}
	return bd_writer_finish(w) ? -1 : 0;
}

static int our_index(int sig)
{
	for (size_t i = 0; i < NFATAL; i++)
		if (fatal[i] == sig)
			return (int)i;
	return -1;
}

/* Put the handler that was there before back, and let the signal do what it would
 * have done: a fault repeats when the instruction runs again; a sent signal (abort,
 * kill) is sent again and delivered when the handler returns. */
static void pass_on(int sig, siginfo_t *si, void *uc)
{
	int k = our_index(sig);
	struct sigaction old = g.old[k];
	if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN)
		old.sa_handler = SIG_DFL; /* an ignored fault would loop forever */
	sigaction(sig, &old, NULL);
	if ((old.sa_flags & SA_SIGINFO) && old.sa_sigaction) {
		old.sa_sigaction(sig, si, uc);
		return;
	}
	if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) {
		old.sa_handler(sig);
		return;
	}
	int fault = si->si_code > 0 && sig != SIGABRT;
	if (!fault)
		syscall(SYS_tgkill, getpid(), gettid_(), sig);
}

static void handler(int sig, siginfo_t *si, void *ucv)
{
	int saved_errno = errno;
	pid_t tid = gettid_();
	if (__sync_lock_test_and_set(&g.busy, 1)) {
		/* A fault inside our own handler, or a second crashing thread: the first
		 * one writes; this one waits a little, then dies the old way. */
		if (g.busy_tid != tid) {
			struct timespec ts = {0, 50 * 1000 * 1000};
			for (int i = 0; i < 200 && g.busy; i++)
				nanosleep(&ts, NULL);
		}
		pass_on(sig, si, ucv);
		errno = saved_errno;
		return;
	}
	g.busy_tid = tid;
	ucontext_t *uc = ucv;
	uint64_t regs[17], fs_base = 0;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(fs_base));
	g.rec_len = 0;
	load_maps();
	/* The small facts first, then the stack with the room left, then the JIT. */
	add_info(si, tid, fs_base);
	add_regs(uc, regs);
	uint64_t slo = 0, shi = 0;
	stack_bounds(regs[7], &slo, &shi);
	add_fp_walk(regs, slo, shi);
	add_build_ids();
	entry_bytes(BD_NAT_MAPS, g.maps_text, g.maps_len, NULL, 0);
	add_threads();
	add_file(BD_NAT_AUXV, "/proc/self/auxv");
	add_file(BD_NAT_CMDLINE, "/proc/self/cmdline");
	ssize_t el = readlink("/proc/self/exe", g.small, SMALL - 1);
	if (el > 0)
		entry_bytes(BD_NAT_EXE, g.small, (size_t)el, NULL, 0);
	add_windows(regs, slo, shi);
	add_abort_message();
	add_stack(slo, shi);
	add_jit(regs, slo, shi);
	char path[PATH_MAX + 64];
	if (write_snapshot(path, sizeof path) == 0)
		say("beamdump guard: fatal signal, crash snapshot written to ", path, "\n");
	else
		say("beamdump guard: fatal signal, could not write a snapshot in ", g.dir, "\n");
	pass_on(sig, si, ucv);
	g.busy = 0;
	errno = saved_errno;
}

/* ---- set-up (normal context) ---- */
static void *map_zero(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, n); /* pre-fault: no page is touched for the first time at crash time */
	return p;
}

static void altstack_free(void *p)
{
	stack_t off = {.ss_flags = SS_DISABLE};
	sigaltstack(&off, NULL);
	munmap(p, ALTSTACK + 4096);
}

/* An alternate stack for the calling thread, so a stack overflow can still be
 * handled. Freed when the thread exits. */
static void altstack_install(void)
{
	stack_t cur;
	if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE))
		return;
	uint8_t *p = mmap(NULL, ALTSTACK + 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	mprotect(p, 4096, PROT_NONE);
	stack_t ss = {.ss_sp = p + 4096, .ss_size = ALTSTACK, .ss_flags = 0};
	if (sigaltstack(&ss, NULL) != 0) {
		munmap(p, ALTSTACK + 4096);
		return;
	}
	pthread_setspecific(g.alt_key, p);
}

/* Install (or put back) our handlers; a handler found in our place (the VM's own,
 * installed after us) becomes the one we pass the signal on to. */
static void handlers_install(void)
{
	for (size_t i = 0; i < NFATAL; i++) {
		struct sigaction cur, sa;
		if (sigaction(fatal[i], NULL, &cur) != 0)
			continue;
		if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == handler)
			continue;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = handler;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
		sigemptyset(&sa.sa_mask);
		for (size_t k = 0; k < NFATAL; k++)
			sigaddset(&sa.sa_mask, fatal[k]);
		if (sigaction(fatal[i], &sa, NULL) == 0)
			g.old[i] = cur;
	}
}

/* Run the writer once into a throw-away file: the directory is writable and every
 * function the handler needs is bound now, not at crash time. */
static int probe(void)
{
	char path[PATH_MAX + 64];
	size_t n = g.dir_len;
	memcpy(path, g.dir, n);
	memcpy(path + n, "/.beamdump-guard-", 17);
	n += 17;
	n += put_u64(path + n, (uint64_t)getpid());
	path[n] = 0;
	bd_writer_opts wo = BD_WRITER_OPTS_INIT;
	wo.level = 1;
	wo.max_record = REC_CAP;
	wo.max_records = 16;
	bd_writer *w;
	bd_error err;
	if (bd_writer_init(&w, g.arena, g.arena_size, path, &wo, &err)) {
		say("beamdump guard: not active: ", err.msg, "\n");
		return -1;
	}
	bd_writer_abandon(w);
	memcpy(path + n, ".partial", 9);
	unlink(path);
	/* Bind the rest of the handler's calls. */
	slurp("/proc/self/auxv", g.small, SMALL);
	(void)readlink("/proc/self/exe", g.small, SMALL - 1);
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		char b[512];
		(void)syscall(SYS_getdents64, fd, b, sizeof b);
		close(fd);
	}
	struct timespec ts = {0, 0};
	nanosleep(&ts, NULL);
	return 0;
}

/* Only the emulator, unless told otherwise: LD_PRELOAD reaches erlexec, epmd,
 * erl_child_setup and every program the node starts. */
static int wanted(void)
{
	const char *any = getenv("BEAMDUMP_GUARD_ANY");
	if (any && *any && strcmp(any, "0"))
		return 1;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return 0;
	exe[n] = 0;
	const char *b = strrchr(exe, '/');
	b = b ? b + 1 : exe;
	return !strncmp(b, "beam", 4);
}

static int guard_init(void)
{
	if (g.installed)
		return 0;
	if (!wanted())
		return -1;
	const char *d = getenv("BEAMDUMP_GUARD_DIR");
	if (!d || !*d) {
		if (!getcwd(g.dir, sizeof g.dir - 64))
			return -1;
	} else {
		size_t l = strlen(d);
		if (l >= sizeof g.dir - 64)
			return -1;
		memcpy(g.dir, d, l + 1);
	}
	g.dir_len = strlen(g.dir);
	while (g.dir_len > 1 && g.dir[g.dir_len - 1] == '/')
		g.dir[--g.dir_len] = 0;
	bd_writer_opts wo = BD_WRITER_OPTS_INIT;
	wo.level = 1;
	wo.max_record = REC_CAP;
	wo.max_records = 16;
	g.arena_size = bd_writer_size(&wo);
	g.arena = g.arena_size ? map_zero(g.arena_size) : NULL;
	g.rec = map_zero(REC_CAP);
	g.maps_text = map_zero(MAPS_CAP + 1);
	g.maps = map_zero(MAX_MAPS * sizeof(gmap));
	g.small = map_zero(SMALL);
	g.fp = map_zero(FP_FRAMES * 8);
	if (!g.arena || !g.rec || !g.maps_text || !g.maps || !g.small || !g.fp)
		return -1;
	if (probe())
		return -1;
	g.jit_desc = (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, "__jit_debug_descriptor");
	g.abort_msg = (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, "__abort_msg");
	pthread_key_create(&g.alt_key, altstack_free);
	altstack_install();
	handlers_install();
	g.installed = 1;
	return 0;
}

__attribute__((constructor)) static void guard_ctor(void)
{
	/* Only when preloaded: as a NIF library the VM calls load() below. */
	const char *pre = getenv("LD_PRELOAD");
	if (pre && strstr(pre, "beamdump_guard"))
		guard_init();
}

/* ---- LD_PRELOAD: every new thread gets an alternate stack ---- */
typedef struct start_arg {
	void *(*fn)(void *);
	void *arg;
} start_arg;

static void *guarded_start(void *p)
{
	start_arg a = *(start_arg *)p;
	free(p);
	altstack_install();
	return a.fn(a.arg);
}

EXPORT int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	if (!real)
		real = (int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))dlsym(
			RTLD_NEXT, "pthread_create");
	if (!real)
		return EAGAIN;
	if (!g.installed)
		return real(t, attr, fn, arg);
	handlers_install(); /* the VM may have put its own in place since */
	start_arg *a = malloc(sizeof *a);
	if (!a)
		return real(t, attr, fn, arg);
	a->fn = fn;
	a->arg = arg;
	int rc = real(t, attr, guarded_start, a);
	if (rc)
		free(a);
	return rc;
}

/* ---- as a NIF library (module beamdump_guard, dump/beamdump_guard.erl) ---- */
typedef struct nif_entry {
	int major, minor;
	const char *name;
	int num_of_funcs;
	void *funcs;
	int (*load)(void *env, void **priv, unsigned long info);
	int (*reload)(void *env, void **priv, unsigned long info);
	int (*upgrade)(void *env, void **priv, void **old, unsigned long info);
	void (*unload)(void *env, void *priv);
	const char *vm_variant;
	unsigned options;
	size_t sizeof_resource_type_init;
	const char *min_erts;
} nif_entry;

static int nif_load(void *env, void **priv, unsigned long info)
{
	(void)env;
	(void)priv;
	(void)info;
	guard_init();
	return 0; /* a guard that cannot start must not stop the node */
}

static int nif_upgrade(void *env, void **priv, void **old, unsigned long info)
{
	(void)old;
	return nif_load(env, priv, info);
}

EXPORT void *nif_init(void)
{
	static nif_entry e = {2, 14, "beamdump_guard", 0, NULL, nif_load, NULL, nif_upgrade, NULL,
			      "beam.vanilla", 1, 0, "erts-11.0"};
	return &e;
}
