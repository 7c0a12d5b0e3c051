/* The model cache: after a text dump is read, its model (every table, no term data) is
 * written to $XDG_CACHE_HOME/beamdump, keyed by the dump's path, device, inode, size
 * and mtime; the next open of the same dump reads the tables back instead of scanning
 * the text, and maps the dump only for the lazy data (heaps, messages, binaries).
 *
 * A cache file is untrusted input: a header with the key, the struct layout it was
 * written with and a CRC32C of the rest; then sections of raw rows in which every
 * string pointer is an offset into one string blob. Loading checks the CRC, every
 * offset, every row reference and every span against the dump's size, and gives up
 * (the dump is then read as usual, and the cache written again) at the first doubt. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "beamdump/container.h"
#include "cache.h"

#define MAGIC "BDCACHE"
#define VERSION 4
#define MAXSEC 32
#define DEFAULT_MAX ((uint64_t)2 << 30) /* bytes in the cache directory */

enum {
	S_PATH = BD_CS_PATH, S_STRINGS, S_NODE, S_MEMORY, S_LIMITS, S_MODEL, S_TAGS,
	S_TABLE_STATS, S_SCHEDS, S_PROCS, S_LINKS, S_PORTS, S_ETS, S_TIMERS, S_DISTS,
	S_MODULES, S_FUNS, S_BINARIES, S_ALLOC_STATS, S_AREAS, S_LOOSE, S_PIDX, S__COUNT
};

typedef struct sec {
	uint32_t id, elem;
	uint64_t count, off;
} sec;

typedef struct hdr {
	char magic[8];
	uint32_t version, hdr_size;
	uint64_t layout;
	uint64_t map_base;    /* the address the file is written to be mapped at */
	bd_cache_key key;     /* path not included: section S_PATH */
	uint64_t file_len;
	uint32_t nsec, crc;   /* crc: CRC32C of bytes [hdr_size, file_len) */
	uint32_t hdr_crc, pad;
	sec sec[MAXSEC];
} hdr;

/* Model facts outside the public tables. */
typedef struct model_row {
	bd_span literals, persistent_terms, atoms;
	int32_t hex_data, ntags;
	uint64_t pidx_count;  /* the pid index (S_PIDX: its slots) */
} model_row;
typedef struct tag_row {
	const char *tag;
	uint64_t len, count;
} tag_row;

/* ---- which fields of each row are strings ---- */
#define O(T, f) (uint16_t) offsetof(T, f)
static const uint16_t node_ptrs[] = {
	O(bd_node_info, source),        O(bd_node_info, dump_version), O(bd_node_info, created),
	O(bd_node_info, slogan),        O(bd_node_info, system_version),
	O(bd_node_info, otp_release),   O(bd_node_info, erts_version), O(bd_node_info, taints),
	O(bd_node_info, calling_thread), O(bd_node_info, node_name),
	O(bd_node_info, truncated_in),  O(bd_node_info, abort_reason),
	O(bd_node_info, skipped_first), O(bd_node_info, format_note),
	O(bd_node_info, compiled), O(bd_node_info, unknown_sections)};
static const uint16_t stat_ptrs[] = {O(bd_table_stat, name)};
static const uint16_t sched_ptrs[] = {
	O(bd_sched, sleep_flags),   O(bd_sched, aux_work),         O(bd_sched, current_port),
	O(bd_sched, rq_flags),      O(bd_sched, current_state),    O(bd_sched, current_internal),
	O(bd_sched, current_pc)};
static const uint16_t proc_ptrs[] = {O(bd_proc, name), O(bd_proc, spawned_as),
				     O(bd_proc, current_call), O(bd_proc, pc),
				     O(bd_proc, pc_mfa)};
static const uint16_t link_ptrs[] = {O(bd_link, name), O(bd_link, node), O(bd_link, ref)};
static const uint16_t port_ptrs[] = {O(bd_port, state), O(bd_port, task_flags),
				     O(bd_port, name),  O(bd_port, kind),
				     O(bd_port, driver), O(bd_port, port_data)};
static const uint16_t ets_ptrs[] = {O(bd_ets, table),      O(bd_ets, name),
				    O(bd_ets, type),       O(bd_ets, protection),
				    O(bd_ets, compressed), O(bd_ets, write_concurrency),
				    O(bd_ets, read_concurrency)};
static const uint16_t timer_ptrs[] = {O(bd_timer, owner), O(bd_timer, message)};
static const uint16_t dist_ptrs[] = {O(bd_dist, name), O(bd_dist, controller),
				     O(bd_dist, creation)};
static const uint16_t module_ptrs[] = {O(bd_module, name)};
static const uint16_t fun_ptrs[] = {O(bd_fun, module), O(bd_fun, address)};
static const uint16_t alloc_ptrs[] = {O(bd_alloc_stat, alloc), O(bd_alloc_stat, key),
				      O(bd_alloc_stat, text)};
static const uint16_t area_ptrs[] = {O(bd_area, name)};
static const uint16_t loose_ptrs[] = {0};
static const uint16_t tag_ptrs[] = {O(tag_row, tag)};
static const uint16_t none_ptrs[] = {0};

typedef struct table_def {
	unsigned id;
	size_t elem;
	const uint16_t *ptrs;
	size_t nptrs;
	size_t vec;          /* offsetof(bd_model, the bd_vec), or 0 */
} table_def;

#define PTRS(a) a, sizeof a / sizeof a[0]
#define VEC(f) offsetof(bd_model, f)
/* In file order: what a row refers to (loose strings, links) before the rows. */
static const table_def tables[] = {
	{S_LOOSE, sizeof(const char *), PTRS(loose_ptrs), VEC(strings)},
	{S_LINKS, sizeof(bd_link), PTRS(link_ptrs), VEC(links)},
	{S_TABLE_STATS, sizeof(bd_table_stat), PTRS(stat_ptrs), VEC(table_stats)},
	{S_SCHEDS, sizeof(bd_sched), PTRS(sched_ptrs), VEC(scheds)},
	{S_PORTS, sizeof(bd_port), PTRS(port_ptrs), VEC(ports)},
	{S_ETS, sizeof(bd_ets), PTRS(ets_ptrs), VEC(ets)},
	{S_TIMERS, sizeof(bd_timer), PTRS(timer_ptrs), VEC(timers)},
	{S_DISTS, sizeof(bd_dist), PTRS(dist_ptrs), VEC(dists)},
	{S_MODULES, sizeof(bd_module), PTRS(module_ptrs), VEC(modules)},
	{S_FUNS, sizeof(bd_fun), PTRS(fun_ptrs), VEC(funs)},
	{S_BINARIES, sizeof(bd_binary), none_ptrs, 0, VEC(binaries)},
	{S_ALLOC_STATS, sizeof(bd_alloc_stat), PTRS(alloc_ptrs), VEC(alloc_stats)},
	{S_AREAS, sizeof(bd_area), PTRS(area_ptrs), VEC(areas)},
	{S_PROCS, sizeof(bd_proc), PTRS(proc_ptrs), VEC(procs)},
};
static const table_def node_def = {S_NODE, sizeof(bd_node_info), PTRS(node_ptrs), 0};
static const table_def tag_def = {S_TAGS, sizeof(tag_row), PTRS(tag_ptrs), 0};

const uint16_t *bd_cache_string_fields(unsigned table, size_t *n)
{
	const table_def *d = NULL;
	for (size_t i = 0; i < sizeof tables / sizeof *tables; i++)
		if (tables[i].id == table)
			d = &tables[i];
	if (table == S_NODE)
		d = &node_def;
	*n = d ? d->nptrs : 0;
	return d ? d->ptrs : NULL;
}

/* Every struct's size and string fields: a cache written by another build is not read. */
static uint64_t layout_hash(void)
{
	uint64_t h = 0x6265616d64756d70ull ^ VERSION;
	const table_def *all[sizeof tables / sizeof *tables + 2];
	size_t n = 0;
	for (size_t i = 0; i < sizeof tables / sizeof *tables; i++)
		all[n++] = &tables[i];
	all[n++] = &node_def;
	all[n++] = &tag_def;
	for (size_t i = 0; i < n; i++) {
		h = (h ^ all[i]->elem) * 0x100000001b3ull;
		for (size_t k = 0; k < all[i]->nptrs; k++)
			h = (h ^ all[i]->ptrs[k]) * 0x100000001b3ull;
	}
	h = (h ^ sizeof(bd_memory) ^ (sizeof(bd_limits) << 16) ^ (sizeof(model_row) << 32)) *
	    0x100000001b3ull;
	return h;
}

/* ---- where ---- */
int bd_cache_dir(char *buf, size_t cap, const char *override)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n;
	if (override && *override)
		n = snprintf(buf, cap, "%s", override);
	else if (x && *x == '/')
		n = snprintf(buf, cap, "%s/beamdump", x);
	else if (home && *home == '/')
		n = snprintf(buf, cap, "%s/.cache/beamdump", home);
	else
		return -1;
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* mkdir -p, private to the user. */
static int make_dir(const char *dir)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s", dir);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return mkdir(p, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

int bd_cache_key_of(bd_cache_key *k, char *path_out, size_t cap, const char *path)
{
	struct stat st;
	memset(k, 0, sizeof *k);
	if (!realpath(path, path_out) || strlen(path_out) >= cap || stat(path_out, &st) < 0 ||
	    !S_ISREG(st.st_mode))
		return -1;
	k->dev = (uint64_t)st.st_dev;
	k->ino = (uint64_t)st.st_ino;
	k->size = (uint64_t)st.st_size;
	k->mtime_sec = (int64_t)st.st_mtim.tv_sec;
	k->mtime_nsec = (int64_t)st.st_mtim.tv_nsec;
	k->path_len = (uint32_t)strlen(path_out);
	/* Another spool limit reads another model (a cut one, or a whole one). */
	const char *lim = getenv("BEAMDUMP_MAX_INPUT");
	k->reading = lim ? bd_hash_bytes(lim, strlen(lim)) | 1 : 0;
	return 0;
}

void bd_cache_file(char *buf, size_t cap, const char *dir, const char *path)
{
	snprintf(buf, cap, "%s/%016llx.bdc", dir,
		 (unsigned long long)bd_hash_bytes(path, strlen(path)));
}

/* ---- the checksum of a cache file ----
 * CRC32C of each 64 kB block after the header, in three interleaved lanes (the CRC
 * instruction has a latency of three), the lanes' CRCs folded into one running CRC:
 * about three times the speed of one CRC over the bytes. */
#define SUM_BLOCK ((size_t)1 << 16)

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2"))) static void crc3(const uint8_t *p, size_t lane, uint32_t out[3])
{
	uint64_t a = 0, b = 0, c = 0, x, y, z;
	const uint8_t *q = p + lane, *r = p + 2 * lane;
	for (size_t i = 0; i + 8 <= lane; i += 8) {
		memcpy(&x, p + i, 8);
		memcpy(&y, q + i, 8);
		memcpy(&z, r + i, 8);
		a = __builtin_ia32_crc32di(a, x);
		b = __builtin_ia32_crc32di(b, y);
		c = __builtin_ia32_crc32di(c, z);
	}
	out[0] = (uint32_t)a;
	out[1] = (uint32_t)b;
	out[2] = (uint32_t)c;
}
static int have_sse42(void)
{
	return __builtin_cpu_supports("sse4.2");
}
#else
static void crc3(const uint8_t *p, size_t lane, uint32_t out[3])
{
	for (int k = 0; k < 3; k++)
		out[k] = bd_crc32c(0, p + k * lane, lane);
}
static int have_sse42(void)
{
	return 0;
}
#endif

/* The sum of one block (at most SUM_BLOCK bytes) into state. */
static uint32_t sum_block(uint32_t state, const uint8_t *p, size_t n)
{
	uint32_t lanes[4] = {0, 0, 0, 0};
	size_t lane = (n / 3) & ~(size_t)7;
	if (lane && have_sse42()) {
		crc3(p, lane, lanes);
	} else if (lane) {
		for (int k = 0; k < 3; k++)
			lanes[k] = bd_crc32c(0, p + k * lane, lane);
	}
	lanes[3] = bd_crc32c(0, p + 3 * lane, n - 3 * lane); /* the rest */
	return bd_crc32c(state, lanes, sizeof lanes);
}

/* ---- where a cache file is mapped ----
 * A cache is read by mapping it, not copying it: its string fields hold the addresses
 * the strings have when the file is mapped at map_base, so the rows are used where
 * they lie. map_base is one of 256 slots of 64 GB in an address range programs leave
 * empty; when that range is taken, the file is mapped elsewhere and every string field
 * moved by the difference. */
#define MAP_REGION ((uint64_t)0x500000000000)
#define MAP_SLOT ((uint64_t)64 << 30)

uint64_t bd_cache_map_base(const char *path)
{
	return MAP_REGION + (bd_hash_bytes(path, strlen(path)) & 0xff) * MAP_SLOT;
}

/* ---- writing ---- */
typedef struct chunk_ref {
	const char *p;
	size_t n;
	uint64_t at;  /* offset in the blob */
} chunk_ref;

typedef struct writer {
	const bd_model *m;
	int fd;
	uint64_t pos;
	uint32_t crc;         /* CRC32C of what was written (memo files) */
	uint32_t sum;         /* block sum of what was written (cache files) */
	int failed;
	chunk_ref *chunks;
	size_t nchunks, cap;
	uint64_t blob_len;
	uint64_t blob_at;     /* where the blob will be once the file is mapped at map_base */
	/* strings not in the model's arena (literals in the code), appended to the blob */
	struct { const char *s; uint64_t at; } extra[64];
	size_t nextra;
	uint8_t buf[1 << 16];
	size_t blen;
} writer;

static void w_flush(writer *w)
{
	const uint8_t *p = w->buf;
	size_t n = w->blen;
	w->crc = bd_crc32c(w->crc, p, n);
	if (n)
		w->sum = sum_block(w->sum, p, n); /* a full block, or the last one */
	while (n && !w->failed) {
		ssize_t r = write(w->fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			w->failed = 1;
			break;
		}
		p += r;
		n -= (size_t)r;
	}
	w->blen = 0;
}

static void w_put(writer *w, const void *p, size_t n)
{
	const uint8_t *c = p;
	w->pos += n;
	while (n) {
		size_t k = sizeof w->buf - w->blen < n ? sizeof w->buf - w->blen : n;
		memcpy(w->buf + w->blen, c, k);
		w->blen += k;
		c += k;
		n -= k;
		if (w->blen == sizeof w->buf)
			w_flush(w);
	}
}

static void w_align(writer *w)
{
	static const uint8_t zero[8];
	if (w->pos & 7)
		w_put(w, zero, 8 - (w->pos & 7));
}

static void add_chunk(void *ud, const char *p, size_t n)
{
	writer *w = ud;
	if (w->nchunks == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 64;
		chunk_ref *c = realloc(w->chunks, nc * sizeof *c);
		if (!c) {
			w->failed = 1;
			return;
		}
		w->chunks = c;
		w->cap = nc;
	}
	w->chunks[w->nchunks++] = (chunk_ref){p, n, 0};
}

static int cmp_chunk(const void *a, const void *b)
{
	const chunk_ref *x = a, *y = b;
	return x->p < y->p ? -1 : x->p > y->p;
}

/* Offset + 1 in the blob of string s (0 for NULL), UINT64_MAX when not in it. */
static uint64_t blob_off(writer *w, const char *s)
{
	if (!s)
		return 0;
	size_t lo = 0, hi = w->nchunks;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (w->chunks[mid].p > s)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo) {
		const chunk_ref *c = &w->chunks[lo - 1];
		if (s >= c->p && s < c->p + c->n)
			return c->at + (uint64_t)(s - c->p) + 1;
	}
	for (size_t i = 0; i < w->nextra; i++)
		if (w->extra[i].s == s)
			return w->extra[i].at + 1;
	return UINT64_MAX; /* found in the pre-pass, so never */
}

/* Strings outside the arena: collected before the blob is written. */
static void note_extra(writer *w, const char *s)
{
	if (!s || blob_off(w, s) != UINT64_MAX)
		return;
	if (w->nextra == sizeof w->extra / sizeof *w->extra) {
		w->failed = 1; /* a table full of outside strings: not expected, do not cache */
		return;
	}
	w->extra[w->nextra].s = s;
	w->extra[w->nextra++].at = w->blob_len;
	w->blob_len += strlen(s) + 1;
}

static void rows_extra(writer *w, const void *rows, size_t n, const table_def *d)
{
	for (size_t i = 0; i < n && !w->failed; i++)
		for (size_t k = 0; k < d->nptrs; k++) {
			const char *s;
			memcpy(&s, (const char *)rows + i * d->elem + d->ptrs[k], sizeof s);
			note_extra(w, s);
		}
}

/* Rows with their string pointers as blob references. */
static void put_rows(writer *w, const void *rows, size_t n, const table_def *d)
{
	uint8_t row[1024];
	for (size_t i = 0; i < n; i++) {
		memcpy(row, (const char *)rows + i * d->elem, d->elem);
		for (size_t k = 0; k < d->nptrs; k++) {
			const char *s;
			memcpy(&s, row + d->ptrs[k], sizeof s);
			uint64_t off = blob_off(w, s);
			uint64_t ref = off ? w->blob_at + off - 1 : 0; /* its address when mapped */
			memcpy(row + d->ptrs[k], &ref, sizeof ref);
		}
		w_put(w, row, d->elem);
	}
}

typedef struct out_table {
	const table_def *d;
	const void *rows;
	size_t n;
} out_table;

static void collect(const bd_model *m, out_table *t, size_t *nt, model_row *mr, tag_row *tags)
{
	size_t k = 0;
	*mr = (model_row){m->literals, m->persistent_terms, m->atoms, m->hex_data,
			  (int32_t)m->ntags, m->pid_index.count};
	for (size_t i = 0; i < m->ntags; i++)
		tags[i] = (tag_row){m->tag_counts[i].tag, m->tag_counts[i].len,
				    m->tag_counts[i].count};
	t[k++] = (out_table){&node_def, &m->node, 1};
	t[k++] = (out_table){&tag_def, tags, m->ntags};
	for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
		const bd_vec *v = (const bd_vec *)(const void *)((const char *)m + tables[i].vec);
		t[k++] = (out_table){&tables[i], v->data, v->len};
	}
	*nt = k;
}

static int write_cache(const bd_model *m, int fd, const bd_cache_key *key, const char *path)
{
	writer *w = calloc(1, sizeof *w);
	hdr *h = calloc(1, sizeof *h);
	if (!w || !h) {
		free(w);
		free(h);
		return -1;
	}
	w->m = m;
	w->fd = fd;
	/* The arena holds every interned string; its chunks, in address order, are the
	 * blob. Late interning (other threads) only adds past what is listed here. */
	bd_model *mm = (bd_model *)m;
	pthread_mutex_lock(&mm->late_lock);
	bd_arena_each(&m->arena, add_chunk, w);
	pthread_mutex_unlock(&mm->late_lock);
	if (w->nchunks)
		qsort(w->chunks, w->nchunks, sizeof *w->chunks, cmp_chunk);
	for (size_t i = 0; i < w->nchunks; i++) {
		w->chunks[i].at = w->blob_len;
		w->blob_len += w->chunks[i].n;
	}
	out_table t[S__COUNT];
	size_t nt;
	model_row mr;
	tag_row tags[BD_TAG_MAXCOUNT];
	collect(m, t, &nt, &mr, tags);
	for (size_t i = 0; i < nt && !w->failed; i++)
		rows_extra(w, t[i].rows, t[i].n, t[i].d);
	w->blob_len++; /* a final NUL: every offset in the blob starts a terminated string */
	memcpy(h->magic, MAGIC, 8);
	h->version = VERSION;
	h->hdr_size = sizeof *h;
	h->layout = layout_hash();
	h->key = *key;
	/* Header first (as zeros, rewritten at the end), then the sections. */
	w->pos = sizeof *h;
	if (lseek(fd, (off_t)sizeof *h, SEEK_SET) < 0)
		w->failed = 1;
	size_t ns = 0;
	h->sec[ns++] = (sec){S_PATH, 1, key->path_len, w->pos};
	w_put(w, path, key->path_len);
	w_align(w);
	h->map_base = bd_cache_map_base(path);
	w->blob_at = h->map_base + w->pos;
	h->sec[ns++] = (sec){S_STRINGS, 1, w->blob_len, w->pos};
	for (size_t i = 0; i < w->nchunks; i++)
		w_put(w, w->chunks[i].p, w->chunks[i].n);
	for (size_t i = 0; i < w->nextra; i++)
		w_put(w, w->extra[i].s, strlen(w->extra[i].s) + 1);
	w_put(w, "", 1);
	w_align(w);
	h->sec[ns++] = (sec){S_MEMORY, sizeof m->mem, 1, w->pos};
	w_put(w, &m->mem, sizeof m->mem);
	w_align(w);
	h->sec[ns++] = (sec){S_LIMITS, sizeof m->limits, 1, w->pos};
	w_put(w, &m->limits, sizeof m->limits);
	w_align(w);
	h->sec[ns++] = (sec){S_MODEL, sizeof mr, 1, w->pos};
	w_put(w, &mr, sizeof mr);
	w_align(w);
	for (size_t i = 0; i < nt; i++) {
		h->sec[ns++] = (sec){t[i].d->id, (uint32_t)t[i].d->elem, t[i].n, w->pos};
		put_rows(w, t[i].rows, t[i].n, t[i].d);
		w_align(w);
	}
	/* The pid index as it is: rebuilding it costs more than reading it. */
	h->sec[ns++] = (sec){S_PIDX, sizeof(uint32_t), m->pid_index.cap, w->pos};
	w_put(w, m->pid_index.slots, m->pid_index.cap * sizeof(uint32_t));
	w_align(w);
	w_flush(w);
	h->nsec = (uint32_t)ns;
	h->file_len = w->pos;
	h->crc = w->sum;
	h->hdr_crc = bd_crc32c(0, h, sizeof *h);
	int rc = w->failed ? -1 : 0;
	if (!rc && pwrite(fd, h, sizeof *h, 0) != (ssize_t)sizeof *h)
		rc = -1;
	free(w->chunks);
	free(w);
	free(h);
	return rc;
}

/* Oldest cache files go until the directory holds at most max bytes. */
static void evict(const char *dir, uint64_t max, const char *keep)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct ent { char name[64]; uint64_t size; int64_t mtime; } *v = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		struct stat st;
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		/* A writer that was killed leaves its temporary file: gone after an hour. */
		if (l > 4 && !strcmp(e->d_name + l - 4, ".tmp") && stat(p, &st) == 0 &&
		    S_ISREG(st.st_mode) && st.st_mtim.tv_sec < time(NULL) - 3600) {
			unlink(p);
			continue;
		}
		if (l < 5 || l >= 64 ||
		    (strcmp(e->d_name + l - 4, ".bdc") && strcmp(e->d_name + l - 4, ".bdm")))
			continue;
		if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 32;
			struct ent *nv = realloc(v, nc * sizeof *nv);
			if (!nv)
				break;
			v = nv;
			cap = nc;
		}
		memcpy(v[n].name, e->d_name, l + 1); /* l < 64 */
		v[n].size = (uint64_t)st.st_size;
		v[n].mtime = (int64_t)st.st_mtim.tv_sec;
		total += v[n++].size;
	}
	closedir(d);
	while (total > max && n) {
		size_t old = n;
		for (size_t i = 0; i < n; i++) {
			char p[PATH_MAX];
			snprintf(p, sizeof p, "%s/%s", dir, v[i].name);
			if (strcmp(p, keep) && (old == n || v[i].mtime < v[old].mtime))
				old = i;
		}
		if (old == n)
			break;
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s", dir, v[old].name);
		unlink(p);
		total -= v[old].size;
		v[old] = v[--n];
	}
	free(v);
}

uint64_t bd_cache_max(void)
{
	const char *s = getenv("BEAMDUMP_CACHE_MAX");
	if (!s || !*s)
		return DEFAULT_MAX;
	char *e;
	double v = strtod(s, &e);
	if (e == s || v < 0)
		return DEFAULT_MAX;
	switch (*e) {
	case 'k': case 'K': v *= 1e3; break;
	case 'm': case 'M': v *= 1e6; break;
	case 'g': case 'G': v *= 1e9; break;
	default: break;
	}
	return (uint64_t)v;
}

/* Rows the model holds, times their size, plus the strings: what the file will take. */
static uint64_t estimate(const bd_model *m)
{
	uint64_t n = m->arena.total + 65536;
	for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
		const bd_vec *v = (const bd_vec *)(const void *)((const char *)m + tables[i].vec);
		n += (uint64_t)v->len * tables[i].elem;
	}
	return n;
}

int bd_cache_has_room(const char *dir, uint64_t need)
{
	/* Leave the disk a twentieth free, or 4 GiB on a big one (a tenth of a big disk
	 * that is 90 % full is still room: the cache then went missing for no reason). */
	struct statvfs vfs;
	if (statvfs(dir, &vfs) != 0)
		return 1;
	uint64_t disk = (uint64_t)vfs.f_blocks * vfs.f_frsize, reserve = disk / 20;
	if (reserve > ((uint64_t)4 << 30))
		reserve = (uint64_t)4 << 30;
	return (uint64_t)vfs.f_bavail * vfs.f_frsize >= need + reserve;
}

int bd_cache_store(const bd_model *m, const char *dir, const bd_cache_key *key,
		   const char *path, uint64_t max)
{
	uint64_t need = estimate(m);
	if (need > max || need >= MAP_SLOT || make_dir(dir) < 0 || !bd_cache_has_room(dir, need))
		return -1;
	char final[PATH_MAX], tmp[PATH_MAX + 32];
	bd_cache_file(final, sizeof final, dir, path);
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", final, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int rc = write_cache(m, fd, key, path);
	if (close(fd) < 0)
		rc = -1;
	if (!rc && rename(tmp, final) < 0)
		rc = -1;
	if (rc)
		unlink(tmp);
	else
		evict(dir, max, final);
	return rc;
}

/* ---- reading ---- */
typedef struct reader {
	const uint8_t *map;   /* the file, mapped */
	uint64_t len;
	int64_t delta;        /* actual address - map_base: string fields move by it */
	uint64_t blob_lo, blob_hi; /* the blob's addresses as written */
	uint64_t dump_size;
	const hdr *h;
	const char *path;     /* the dump's real path, as the key has it */
	int have_node;
	/* tables set to rows inside the mapping: emptied again if the cache is refused */
	bd_vec *mapped[S__COUNT];
	size_t nmapped;
	uint64_t summed;      /* the block sum covers [sizeof hdr, summed) */
	uint32_t sum;
} reader;

/* Sum the blocks that end at or before upto (and the last one at the end of the file),
 * just ahead of the checks that read the same bytes. */
static void sum_upto(reader *r, uint64_t upto)
{
	while (r->summed < upto && r->summed < r->len) {
		size_t n = r->len - r->summed < SUM_BLOCK ? (size_t)(r->len - r->summed) : SUM_BLOCK;
		if (r->summed + n > upto && n == SUM_BLOCK)
			break; /* a whole block, not yet needed */
		r->sum = sum_block(r->sum, r->map + r->summed, n);
		r->summed += n;
	}
}

/* Checked bytes [from, to) leave the resident set (the page cache keeps them): the
 * check reads the whole file, a command then reads what it needs. Not when the rows
 * were moved (those pages are the only copy). */
static void release(const reader *r, uint64_t from, uint64_t to)
{
	uint64_t a = (from + 4095) & ~(uint64_t)4095, b = (to > r->len ? r->len : to) & ~(uint64_t)4095;
	if (!r->delta && b > a)
		madvise((void *)(uintptr_t)(r->map + a), (size_t)(b - a), MADV_DONTNEED);
}

static int read_all(int fd, void *buf, uint64_t n)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t r = read(fd, p, n > (1u << 30) ? (1u << 30) : (size_t)n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (uint64_t)r;
	}
	return 0;
}

/* String fields as written to addresses now; 0 when one is outside the blob. Writes
 * (to the private mapping) only when the file could not be mapped at its map_base. */
static int fix_rows(const reader *r, uint8_t *rows, size_t n, const table_def *d)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < d->nptrs; k++) {
			uint8_t *f = rows + i * d->elem + d->ptrs[k];
			uint64_t a;
			memcpy(&a, f, sizeof a);
			if (!a)
				continue;
			if (a < r->blob_lo || a >= r->blob_hi)
				return 0;
			if (r->delta) {
				a += (uint64_t)r->delta;
				memcpy(f, &a, sizeof a);
			}
		}
	return 1;
}

static int span_ok(const reader *r, bd_span s)
{
	return !s.len || (s.off <= r->dump_size && s.len <= r->dump_size - s.off);
}

/* References, enums and spans of rows [0, n) of table d: what the readers guarantee. */
static int check_rows(const reader *r, const bd_model *m, const table_def *d, const void *rows,
		      size_t n)
{
	size_t nl = m->links.len, ns = m->strings.len;
	switch (d->id) {
	case S_PROCS:
		for (const bd_proc *p = rows; n--; p++)
			if ((unsigned)p->state >= BD_PS__COUNT ||
			    (uint64_t)p->link_first + p->link_count > nl || !span_ok(r, p->sec_messages) ||
			    !span_ok(r, p->sec_dictionary) || !span_ok(r, p->sec_stack) ||
			    !span_ok(r, p->sec_heap))
				return 0;
		return 1;
	case S_PORTS:
		for (const bd_port *p = rows; n--; p++)
			if ((uint64_t)p->link_first + p->link_count > nl)
				return 0;
		return 1;
	case S_SCHEDS:
		for (const bd_sched *p = rows; n--; p++)
			if ((uint64_t)p->trace_first + p->trace_count > ns ||
			    (unsigned)p->type > BD_SCHED_OTHER)
				return 0;
		return 1;
	case S_LINKS:
		for (const bd_link *p = rows; n--; p++)
			if (p->kind > BD_MON_NODE || p->target_kind > BD_TGT_NODE)
				return 0;
		return 1;
	case S_MODULES:
		for (const bd_module *p = rows; n--; p++)
			if (!span_ok(r, p->attributes) || !span_ok(r, p->compile_info) ||
			    !span_ok(r, p->old_attributes) || !span_ok(r, p->old_compile_info))
				return 0;
		return 1;
	case S_BINARIES:
		for (const bd_binary *p = rows; n--; p++)
			if (!span_ok(r, p->data))
				return 0;
		return 1;
	case S_DISTS:
		for (const bd_dist *p = rows; n--; p++)
			if ((unsigned)p->kind > BD_DIST_NOT_CONNECTED)
				return 0;
		return 1;
	case S_LOOSE:
		for (const char *const *p = rows; n--; p++)
			if (!*p)
				return 0;
		return 1;
	default:
		return 1;
	}
}

static const table_def *table_of(unsigned id)
{
	for (size_t i = 0; i < sizeof tables / sizeof *tables; i++)
		if (tables[i].id == id)
			return &tables[i];
	return NULL;
}

/* Rows of table d: the mapped rows themselves, checked a piece at a time while the
 * piece is in the CPU's cache (checksum, string fields, references). */
static int map_rows(reader *r, bd_model *m, const table_def *d, const sec *s)
{
	bd_vec *v = (bd_vec *)(void *)((char *)m + d->vec);
	if (v->len || !r->have_node || s->count > (r->len - s->off) / d->elem ||
	    s->count > (1u << 27))
		return 0;
	uint8_t *rows = (uint8_t *)r->map + s->off;
	size_t step = ((size_t)256 << 10) / d->elem + 1;
	for (uint64_t i = 0; i < s->count; i += step) {
		size_t k = s->count - i < step ? (size_t)(s->count - i) : step;
		uint8_t *p = rows + i * d->elem;
		sum_upto(r, s->off + (i + k) * d->elem);
		if (!fix_rows(r, p, k, d) || !check_rows(r, m, d, p, k))
			return 0;
		release(r, s->off + i * d->elem, r->summed);
	}
	if (s->count) {
		v->data = rows;
		v->len = v->cap = v->max = (size_t)s->count; /* never grown: it is not malloc'ed */
		r->mapped[r->nmapped++] = v;
	}
	return 1;
}

/* One section into its place in m; the bytes go through the checksum in file order. */
static int read_sec(reader *r, bd_model *m, const sec *s, model_row *mr, tag_row *tags,
		    uint64_t *ntags, const bd_cache_key *key)
{
	const table_def *d = table_of(s->id);
	const uint8_t *p = r->map + s->off;
	uint64_t bytes = s->count * (uint64_t)s->elem;
	if (s->elem == 0 || s->count > (r->len - s->off) / s->elem)
		return 0;
	void *single = NULL;
	size_t size = 0;
	switch (s->id) {
	case S_PATH:
		sum_upto(r, s->off + bytes);
		return s->elem == 1 && s->count == key->path_len && !memcmp(p, r->path, bytes);
	case S_STRINGS:
		sum_upto(r, s->off + bytes);
		if (s->elem != 1 || !s->count || r->blob_hi || p[s->count - 1] != 0)
			return 0;
		r->blob_lo = r->h->map_base + s->off;
		r->blob_hi = r->blob_lo + s->count;
		release(r, s->off, r->summed);
		return 1;
	case S_NODE:
		/* After the strings; the size of the text bounds every span after it. */
		sum_upto(r, s->off + bytes);
		if (s->elem != sizeof m->node || s->count != 1 || !r->blob_hi)
			return 0;
		memcpy(&m->node, p, sizeof m->node);
		if (!fix_rows(r, (uint8_t *)&m->node, 1, &node_def) || !m->node.source ||
		    strcmp(m->node.source, "erl_crash.dump") ||
		    m->node.truncated_at > m->node.input_size)
			return 0;
		r->dump_size = m->node.input_size;
		r->have_node = 1;
		return 1;
	case S_MEMORY: single = &m->mem, size = sizeof m->mem; break;
	case S_LIMITS: single = &m->limits, size = sizeof m->limits; break;
	case S_MODEL: single = mr, size = sizeof *mr; break;
	case S_TAGS:
		sum_upto(r, s->off + bytes);
		if (s->elem != sizeof *tags || s->count > BD_TAG_MAXCOUNT)
			return 0;
		*ntags = s->count;
		memcpy(tags, p, bytes);
		return 1;
	case S_PIDX:
		/* A power of two, or nothing; its slots are checked once the rows are in. */
		sum_upto(r, s->off + bytes);
		if (s->elem != sizeof(uint32_t) || (s->count & (s->count - 1)) ||
		    s->count > ((uint64_t)1 << 29) || m->pid_index.slots)
			return 0;
		m->pid_index.slots = s->count ? (uint32_t *)(void *)(r->map + s->off) : NULL;
		m->pid_index.cap = (size_t)s->count;
		release(r, s->off, r->summed);
		return 1;
	default:
		return d && s->elem == d->elem && map_rows(r, m, d, s);
	}
	sum_upto(r, s->off + bytes);
	if (s->elem != size || s->count != 1)
		return 0;
	memcpy(single, p, size);
	return 1;
}

static int fix_model(reader *r, bd_model *m, const model_row *mr, tag_row *tags,
		     uint64_t nt)
{
	if (!fix_rows(r, (uint8_t *)tags, (size_t)nt, &tag_def) || mr->ntags != (int32_t)nt)
		return 0;
	for (size_t i = 0; i < nt; i++) {
		if (!tags[i].tag || tags[i].len != strlen(tags[i].tag))
			return 0;
		m->tag_counts[i].tag = tags[i].tag;
		m->tag_counts[i].len = (size_t)tags[i].len;
		m->tag_counts[i].count = tags[i].count;
	}
	m->ntags = (size_t)nt;
	/* A slot names a row or nothing; a wrong one can only make a pid not found. */
	size_t np = m->procs.len, cap = m->pid_index.cap;
	if (mr->pidx_count > np || (np && np * 4 >= cap * 3))
		return 0;
	for (size_t i = 0; i < cap; i++)
		if ((m->pid_index.slots[i] & ((1u << 28) - 1)) > np)
			return 0;
	m->pid_index.count = (size_t)mr->pidx_count;
	m->literals = mr->literals;
	m->persistent_terms = mr->persistent_terms;
	m->atoms = mr->atoms;
	m->hex_data = mr->hex_data != 0;
	return span_ok(r, m->literals) && span_ok(r, m->persistent_terms) && span_ok(r, m->atoms);
}

static int cmp_sec(const void *a, const void *b)
{
	const sec *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Sections in file order, each once, padding between them only. */
static int read_body(reader *r, bd_model *m, const bd_cache_key *key)
{
	sec secs[MAXSEC];
	uint32_t ns = r->h->nsec;
	memcpy(secs, r->h->sec, ns * sizeof *secs);
	qsort(secs, ns, sizeof *secs, cmp_sec);
	model_row mr = {0};
	tag_row tags[BD_TAG_MAXCOUNT];
	uint64_t nt = 0, pos = sizeof(hdr);
	unsigned seen = 0;
	r->summed = sizeof(hdr);
	r->sum = 0;
	/* Rows are changed in place when the file lies elsewhere: sum them before. */
	if (r->delta)
		sum_upto(r, r->len);
	for (uint32_t i = 0; i < ns; i++) {
		const sec *s = &secs[i];
		if (s->id >= S__COUNT || (seen & (1u << s->id)) || s->off < pos || s->off - pos >= 8 ||
		    s->off > r->len)
			return 0;
		if (!read_sec(r, m, s, &mr, tags, &nt, key))
			return 0;
		pos = s->off + s->count * (uint64_t)s->elem;
		seen |= 1u << s->id;
	}
	if (pos > r->len || r->len - pos >= 8)
		return 0;
	sum_upto(r, r->len);
	release(r, 0, r->len);
	/* Every section there, the sum right. */
	if (seen != ((1u << S__COUNT) - 2) || r->sum != r->h->crc)
		return 0;
	return fix_model(r, m, &mr, tags, nt);
}

int bd_cache_load(bd_model *m, const char *dir, const bd_cache_key *key, const char *path)
{
	char name[PATH_MAX];
	bd_cache_file(name, sizeof name, dir, path);
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	hdr h;
	struct stat st;
	int ok = fstat(fd, &st) == 0 && read_all(fd, &h, sizeof h) == 0;
	uint32_t hc = ok ? h.hdr_crc : 0;
	if (ok) {
		h.hdr_crc = 0;
		ok = bd_crc32c(0, &h, sizeof h) == hc && !memcmp(h.magic, MAGIC, 8) &&
		     h.version == VERSION && h.hdr_size == sizeof h && h.layout == layout_hash() &&
		     !memcmp(&h.key, key, sizeof *key) && h.file_len == (uint64_t)st.st_size &&
		     h.nsec <= MAXSEC && h.file_len >= sizeof h && h.file_len < MAP_SLOT &&
		     h.map_base >= MAP_REGION && h.map_base < MAP_REGION + 256 * MAP_SLOT &&
		     !(h.map_base & 0xfff);
	}
	/* Mapped at its address if free, else anywhere (and its string fields moved). */
	void *map = MAP_FAILED;
	if (ok) {
		map = mmap((void *)(uintptr_t)h.map_base, (size_t)h.file_len, PROT_READ,
			   MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, 0);
		if (map != MAP_FAILED && map != (void *)(uintptr_t)h.map_base) {
			munmap(map, (size_t)h.file_len); /* an old kernel: the hint was not kept */
			map = MAP_FAILED;
		}
		/* Elsewhere its string fields are moved: written (copied on write). */
		if (map == MAP_FAILED)
			map = mmap(NULL, (size_t)h.file_len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	}
	close(fd);
	if (map == MAP_FAILED)
		return -1;
	reader r = {map, h.file_len, (int64_t)((uint64_t)(uintptr_t)map - h.map_base), 0, 0, 0,
		    &h, path, 0, {0}, 0, 0, 0};
	if (!read_body(&r, m, key)) {
		for (size_t i = 0; i < r.nmapped; i++)
			*r.mapped[i] = (bd_vec){NULL, 0, 0, r.mapped[i]->elem, r.mapped[i]->max};
		m->pid_index.slots = NULL;
		m->pid_index.cap = m->pid_index.count = 0;
		munmap(map, (size_t)h.file_len);
		return -1;
	}
	m->cache_map = map;
	m->cache_map_len = (size_t)h.file_len;
	/* Recently used: eviction goes by mtime. */
	utimensat(AT_FDCWD, name, NULL, 0);
	return 0;
}

/* ---- for tests ---- */
int bd_cache_section(const char *file, unsigned id, uint64_t *off, uint64_t *count,
		     uint32_t *elem)
{
	hdr h;
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	int ok = fd >= 0 && read_all(fd, &h, sizeof h) == 0 && h.nsec <= MAXSEC;
	if (fd >= 0)
		close(fd);
	for (uint32_t i = 0; ok && i < h.nsec; i++)
		if (h.sec[i].id == id) {
			*off = h.sec[i].off;
			*count = h.sec[i].count;
			*elem = h.sec[i].elem;
			return 0;
		}
	return -1;
}

int bd_cache_reseal(const char *file)
{
	int fd = open(file, O_RDWR | O_CLOEXEC);
	struct stat st;
	hdr h;
	if (fd < 0)
		return -1;
	uint8_t *rest = NULL;
	int rc = -1;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size >= sizeof h &&
	    read_all(fd, &h, sizeof h) == 0 &&
	    (rest = malloc((size_t)st.st_size - sizeof h + 1)) &&
	    read_all(fd, rest, (uint64_t)st.st_size - sizeof h) == 0) {
		h.crc = bd_crc32c(0, rest, (size_t)st.st_size - sizeof h);
		h.hdr_crc = 0;
		h.hdr_crc = bd_crc32c(0, &h, sizeof h);
		rc = pwrite(fd, &h, sizeof h, 0) == (ssize_t)sizeof h ? 0 : -1;
	}
	free(rest);
	close(fd);
	return rc;
}

/* ---- memo: derived results beside the cache (<hash>.bdm) ---- */
#define MEMO_MAGIC "BDMEMO"
#define MEMO_MAX_ITEMS 4096
#define MEMO_MAX_LEN ((uint64_t)16 << 20)
#define MEMO_MAX_FILE ((uint64_t)64 << 20)

typedef struct memo_hdr {
	char magic[8];
	uint32_t version, count;
	uint64_t layout;
	bd_cache_key key;
	uint64_t file_len;
	uint32_t crc, hdr_crc;  /* crc: of bytes [sizeof hdr, file_len) */
} memo_hdr;

static void memo_name(char *buf, size_t cap, const char *dir, const char *path)
{
	bd_cache_file(buf, cap, dir, path);
	size_t l = strlen(buf);
	if (l > 4)
		buf[l - 1] = 'm'; /* .bdc -> .bdm */
}

void bd_cache_memo_load(bd_model *m, const char *dir, const bd_cache_key *key, const char *path)
{
	char name[PATH_MAX];
	memo_name(name, sizeof name, dir, path);
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	memo_hdr h;
	struct stat st;
	uint8_t *body = NULL;
	int ok = fstat(fd, &st) == 0 && read_all(fd, &h, sizeof h) == 0;
	uint32_t hc = ok ? h.hdr_crc : 0;
	if (ok) {
		h.hdr_crc = 0;
		ok = bd_crc32c(0, &h, sizeof h) == hc && !memcmp(h.magic, MEMO_MAGIC, 7) &&
		     h.version == VERSION && h.layout == layout_hash() &&
		     !memcmp(&h.key, key, sizeof *key) && h.file_len == (uint64_t)st.st_size &&
		     h.file_len <= MEMO_MAX_FILE && h.file_len >= sizeof h && h.count <= MEMO_MAX_ITEMS;
	}
	uint64_t blen = ok ? h.file_len - sizeof h : 0;
	if (ok) {
		body = malloc(blen + 1);
		ok = body && read_all(fd, body, blen) == 0 && bd_crc32c(0, body, blen) == h.crc;
	}
	close(fd);
	/* The path, then count entries: key, length, bytes, each padded to 8. */
	uint64_t pos = (key->path_len + 7) & ~(uint64_t)7;
	ok = ok && pos <= blen && !memcmp(body, path, key->path_len);
	for (uint32_t i = 0; ok && i < h.count; i++) {
		uint64_t k, len;
		if (blen - pos < 16)
			break;
		memcpy(&k, body + pos, 8);
		memcpy(&len, body + pos + 8, 8);
		pos += 16;
		if (len > MEMO_MAX_LEN || len > blen - pos)
			break;
		void *d = malloc(len ? len : 1);
		if (!d)
			break;
		memcpy(d, body + pos, len);
		bd_model_memo_adopt(m, k, d, len);
		pos += (len + 7) & ~(uint64_t)7;
		if (pos > blen)
			break;
	}
	free(body);
}

int bd_cache_memo_store(const bd_model *m, const char *dir, const bd_cache_key *key,
			const char *path, uint64_t max)
{
	char final[PATH_MAX], tmp[PATH_MAX + 32];
	memo_name(final, sizeof final, dir, path);
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", final, (long)getpid());
	if (make_dir(dir) < 0)
		return -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	writer *w = calloc(1, sizeof *w);
	memo_hdr h = {0};
	if (!w) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	w->fd = fd;
	w->pos = sizeof h;
	if (lseek(fd, (off_t)sizeof h, SEEK_SET) < 0)
		w->failed = 1;
	w_put(w, path, key->path_len);
	w_align(w);
	uint32_t count = 0;
	for (size_t i = 0; i < m->nmemo && count < MEMO_MAX_ITEMS; i++) {
		uint64_t len = m->memo[i].len;
		if (len > MEMO_MAX_LEN || w->pos + 16 + len > MEMO_MAX_FILE)
			continue;
		w_put(w, &m->memo[i].key, 8);
		w_put(w, &len, 8);
		w_put(w, m->memo[i].data, (size_t)len);
		w_align(w);
		count++;
	}
	w_flush(w);
	memcpy(h.magic, MEMO_MAGIC, 7);
	h.version = VERSION;
	h.count = count;
	h.layout = layout_hash();
	h.key = *key;
	h.file_len = w->pos;
	h.crc = w->crc;
	h.hdr_crc = bd_crc32c(0, &h, sizeof h);
	int rc = w->failed || pwrite(fd, &h, sizeof h, 0) != (ssize_t)sizeof h ? -1 : 0;
	free(w);
	if (close(fd) < 0)
		rc = -1;
	if (!rc && rename(tmp, final) < 0)
		rc = -1;
	if (rc)
		unlink(tmp);
	else
		evict(dir, max, final);
	return rc;
}
