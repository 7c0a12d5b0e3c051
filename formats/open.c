/* Opening an input: the source bytes (file, pipe, or decompressed .zst/.gz),
 * recognised by their content and handed to the reader that knows them, or the model
 * cache of a text dump read before; the model is then finished (lookups, counts).
 * The readers do not know each other; only this file does. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "beamdump/native.h"
#include "readers.h"

/* What a streamed input must hold before the readers look at it: the crash-dump
 * checks and header read look at most this far. */
#define HEAD_WANT (((uint64_t)2 << 20) + 64)

/* Where the cache of one input is, when it may have one. */
typedef struct cache_ref {
	char dir[PATH_MAX];
	char path[PATH_MAX];  /* the dump's real path */
	bd_cache_key key;
	uint64_t max;
} cache_ref;

static int read_text(bd_model *m, bd_error *err)
{
	int rc = bd_crashdump_check(m->base, m->size, m->src->name, err);
	if (rc)
		return rc;
	m->node.source = "erl_crash.dump";
	/* A streamed input's cap follows the bytes there (the reader raises it). */
	if (!m->src->stream)
		m->procs.max = bd_procs_cap(m->size, m->procs.max);
	rc = bd_crashdump_read(m, err);
	if (!rc)
		rc = bd_source_finish(m->src, err);
	if (rc)
		return rc;
	m->size = m->src->size;
	m->node.input_size = m->size;
	if (m->src->cut_reason[0] && m->node.truncated && !m->node.abort_reason)
		m->node.abort_reason = bd_model_intern(m, m->src->cut_reason,
						       strlen(m->src->cut_reason));
	m->node.crlf = m->src->crlf;
	return 0;
}

/* Read m->src into m by its content, and finish it. *text: a crash dump was read
 * (a snapshot's node table may say "erl_crash.dump" too: it is not cached). */
static int read_source(bd_model *m, int *text, bd_error *err)
{
	/* A streamed input: its start now, the rest as the crash-dump reader goes (any
	 * other reader gets it whole). */
	m->base = m->src->data;
	m->size = bd_source_wait(m->src, HEAD_WANT, NULL);
	int elf = m->size >= 4 && !memcmp(m->base, "\177ELF", 4);
	*text = !elf && !bd_snapshot_is(m->base, m->size);
	if (!*text) {
		int rc = bd_source_finish(m->src, err);
		if (rc)
			return rc;
		m->size = m->src->size;
	}
	m->node.input_size = m->size;
	int rc = *text ? read_text(m, err) : elf ? bd_native_read_core(m, err) : bd_snapshot_read(m, err);
	return rc ? rc : bd_model_finish(m, err);
}

/* ---- a model from the cache: the dump itself is opened on the first lazy read ---- */
typedef struct lazy_src {
	pthread_mutex_t lock;
	char path[PATH_MAX];
	int tried, rc;
} lazy_src;

static void lazy_free(void *ctx)
{
	lazy_src *l = ctx;
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static int lazy_open(const bd_model *cm, lazy_src *l)
{
	bd_model *m = (bd_model *)cm; /* the source is a cache of the model */
	pthread_mutex_lock(&l->lock);
	if (!l->tried) {
		l->tried = 1;
		bd_error err = {0};
		l->rc = bd_source_open(&m->src, l->path, &err);
		/* The same bytes as when the cache was written, or nothing. */
		if (!l->rc && m->src->size != m->node.input_size)
			l->rc = BD_ECORRUPT;
		if (!l->rc) {
			m->base = m->src->data;
			m->size = m->src->size;
		}
	}
	int rc = l->rc;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

static int lazy_span(const bd_model *m, bd_span s, const char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	int rc = lazy_open(m, m->span_ctx);
	if (rc)
		return rc;
	if (s.off > m->size || s.len > m->size - s.off)
		return BD_ECORRUPT;
	*out = m->base + s.off;
	*len = (size_t)s.len;
	return 0;
}

static int cache_ref_of(cache_ref *c, const char *path, const bd_open_opts *o)
{
	if (!o || !o->cache || !strcmp(path, "-") ||
	    bd_cache_dir(c->dir, sizeof c->dir, o->cache_dir) ||
	    bd_cache_key_of(&c->key, c->path, sizeof c->path, path))
		return -1;
	c->max = o->cache_max ? o->cache_max : bd_cache_max();
	return 0;
}

/* 0 with *out from the cache, or -1 (read the dump). */
static int open_cached(bd_model **out, const cache_ref *c)
{
	bd_model *m = bd_model_new();
	lazy_src *l = calloc(1, sizeof *l);
	if (!m || !l || bd_cache_load(m, c->dir, &c->key, c->path)) {
		free(l);
		bd_model_free(m);
		return -1;
	}
	pthread_mutex_init(&l->lock, NULL);
	snprintf(l->path, sizeof l->path, "%s", c->path);
	m->span_ctx = l;
	m->free_ctx = lazy_free;
	m->span_text = lazy_span;
	m->from_cache = 1;
	bd_crashdump_hooks(m);
	if (bd_model_finish(m, NULL)) {
		bd_model_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

/* ---- writing the cache beside the caller's work ---- */
typedef struct store_job {
	pthread_t th;
	const bd_model *m;
	cache_ref c;
} store_job;

static void *store_run(void *arg)
{
	store_job *j = arg;
	bd_cache_store(j->m, j->c.dir, &j->c.key, j->c.path, j->c.max);
	return NULL;
}

static void store_join(void *arg)
{
	store_job *j = arg;
	pthread_join(j->th, NULL);
	free(j);
}

static void store_start(bd_model *m, const cache_ref *c)
{
	store_job *j = malloc(sizeof *j);
	if (!j)
		return;
	j->m = m;
	j->c = *c;
	if (pthread_create(&j->th, NULL, store_run, j)) {
		free(j);
		return;
	}
	m->job = j;
	m->job_join = store_join;
}

/* ---- the memo beside the cache ---- */
static void memo_load(bd_model *m)
{
	const cache_ref *c = m->memo_ctx;
	bd_cache_memo_load(m, c->dir, &c->key, c->path);
}

static void memo_save(const bd_model *m)
{
	const cache_ref *c = m->memo_ctx;
	bd_cache_memo_store(m, c->dir, &c->key, c->path, c->max);
}

/* Give m the memo of its cache (c is taken). */
static void memo_attach(bd_model *m, cache_ref *c)
{
	m->memo_ctx = c;
	m->memo_load = memo_load;
	m->memo_save = memo_save;
	m->memo_free = free;
}

int bd_model_cached(const bd_model *m)
{
	return m->from_cache;
}

int bd_model_open_ex(bd_model **out, const char *path, const bd_open_opts *o, bd_error *err)
{
	*out = NULL;
	if (o && o->version != BD_OPEN_OPTS_VERSION)
		return bd_error_set(err, BD_EUSAGE, 0, "bd_model_open_ex: options version %u, expected %u",
				    o->version, BD_OPEN_OPTS_VERSION);
	cache_ref *c = malloc(sizeof *c);
	if (c && cache_ref_of(c, path, o)) {
		free(c);
		c = NULL;
	}
	if (c && open_cached(out, c) == 0) {
		memo_attach(*out, c);
		return 0;
	}
	bd_model *m = bd_model_new();
	if (!m) {
		free(c);
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	}
	int text = 0;
	m->summarize_mailboxes = o && o->mailboxes;
	int rc = bd_source_open_stream(&m->src, path, err);
	if (!rc)
		rc = read_source(m, &text, err);
	if (rc) {
		free(c);
		bd_model_free(m);
		return rc;
	}
	if (c && text) {
		store_start(m, c);
		memo_attach(m, c);
		c = NULL;
	}
	free(c);
	*out = m;
	return 0;
}

int bd_model_open(bd_model **out, const char *path, bd_error *err)
{
	return bd_model_open_ex(out, path, NULL, err);
}

/* A native crash with options (beamdump/native.h): never cached (a core is not a text
 * dump; a guard snapshot is resolved with the objects of this machine). */
int bd_model_open_native(bd_model **out, const char *path, const bd_core_opts *o, bd_error *err)
{
	*out = NULL;
	bd_model *m = bd_model_new();
	if (!m)
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	int text = 0;
	m->native_opts = o;
	int rc = bd_source_open(&m->src, path, err);
	if (!rc)
		rc = read_source(m, &text, err);
	if (rc) {
		bd_model_free(m);
		return rc;
	}
	m->native_opts = NULL;
	*out = m;
	return 0;
}

int bd_model_open_mem(bd_model **out, const void *data, size_t size, const char *name,
		      bd_error *err)
{
	*out = NULL;
	bd_model *m = bd_model_new();
	bd_source *s = m ? calloc(1, sizeof *s) : NULL;
	if (!s) {
		bd_model_free(m);
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	}
	s->fd = -1;
	s->data = size ? data : "";
	s->size = size;
	snprintf(s->name, sizeof s->name, "%s", name ? name : "<memory>");
	m->src = s;
	int text;
	int rc = read_source(m, &text, err);
	if (rc) {
		bd_model_free(m);
		return rc;
	}
	*out = m;
	return 0;
}
