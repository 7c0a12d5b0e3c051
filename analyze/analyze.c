/* bd_analyze: runs the analyses (one table row each), attaches supervision context,
 * ranks the findings so the first is the most likely cause, and hands them over. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "an_int.h"
#include "beamdump/native.h"

struct bd_an_priv {
	bd_arena arena;
	bd_finding *items;
};

/* Order matters only for ties (creation order breaks them): the slogan first. */
static const struct {
	const char *name;
	an_fn run;
} analyses[] = {
	{"slogan", an_slogan},         {"native", an_native},         {"truncation", an_truncation},
	{"atoms", an_atoms},
	{"binaries", an_binaries},     {"limits", an_limits},         {"ets", an_ets},
	{"waits", an_waits},           {"schedulers", an_scheds},     {"fragmentation", an_fragmentation},
	{"ports", an_ports},           {"leaks", an_leaks},           {"fd_leak", an_fdleak},           {"memory_hog", an_memhog},
	{"alarms", an_alarms},         {"distribution", an_dist},
	{"mailbox", an_mailbox}, /* late: its big walk runs meanwhile on a second thread */
	{"logger", an_logger},   /* after mailbox: takes over the handler's mailbox finding */
	{"calls", an_calls},           {"monitors", an_monitors},     {"statem", an_statem},
};

static int cmp_finding(const void *a, const void *b)
{
	const an_finding *x = *(an_finding *const *)a, *y = *(an_finding *const *)b;
	if (x->pub.score != y->pub.score)
		return x->pub.score < y->pub.score ? 1 : -1;
	if (x->pub.severity != y->pub.severity)
		return x->pub.severity < y->pub.severity ? 1 : -1;
	return x->seq < y->seq ? -1 : x->seq > y->seq; /* stable: creation order */
}

void an_opts_defaults(bd_analyze_opts *o)
{
	if (!o->deep_procs)
		o->deep_procs = 16;
	if (!o->exhaustive_size)
		o->exhaustive_size = (uint64_t)64 << 20;
	if (!o->max_findings)
		o->max_findings = 40;
}

static void ctx_init(an_ctx *c, const bd_model *m, const bd_analyze_opts *o, bd_arena *a)
{
	memset(c, 0, sizeof *c);
	c->m = m;
	c->o = *o;
	an_opts_defaults(&c->o);
	c->arena = a;
	c->word_size = bd_model_node(m)->word_size ? bd_model_node(m)->word_size : 8;
	c->procs = bd_model_procs(m, &c->nprocs);
	c->links = bd_model_links(m, &c->nlinks);
	bd_slogan_parse(bd_model_node(m)->slogan, &c->slogan);
	if (bd_model_native(m))
		c->slogan.cls = BD_SL_NATIVE; /* the text is beamdump's, not the VM's */
}

static void ctx_free(an_ctx *c)
{
	an_mailbox_finish(c);
	for (size_t i = 0; i < c->nheaps; i++)
		bd_heap_free(c->heaps[i].h);
	free(c->heaps);
	free(c->f);
	free(c->apps);
}

static const char *verdict(an_ctx *c, const bd_finding *items, size_t n)
{
	if (!n)
		return "No problem found in this dump";
	for (size_t i = 0; i < n; i++)
		if (items[i].severity >= BD_SEV_WARNING)
			return bd_arena_printf(c->arena, "Most likely cause: %s (%s)",
					       bd_finding_kind_name(items[i].kind), items[i].title);
	return "No problem found at warning level or above";
}

int bd_analyze(const bd_model *m, const bd_analyze_opts *o, bd_findings **out, bd_error *err)
{
	bd_analyze_opts def = BD_ANALYZE_OPTS_INIT;
	*out = NULL;
	if (!o)
		o = &def;
	if (o->version != BD_ANALYZE_OPTS_VERSION)
		return bd_error_set(err, BD_EUSAGE, 0, "bd_analyze: options version %u, expected %u",
				    o->version, BD_ANALYZE_OPTS_VERSION);
	bd_findings *res = calloc(1, sizeof *res);
	struct bd_an_priv *priv = calloc(1, sizeof *priv);
	if (!res || !priv) {
		free(res);
		free(priv);
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	}
	res->priv = priv;
	an_ctx c;
	ctx_init(&c, m, o, &priv->arena);
	/* BEAMDUMP_TIMING=1: what each analysis costs, on stderr (for bench/). */
	int timing = getenv("BEAMDUMP_TIMING") != NULL;
	an_mailbox_prefetch(&c);
	for (size_t i = 0; i < sizeof analyses / sizeof *analyses; i++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		analyses[i].run(&c);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (timing)
			fprintf(stderr, "analyze: %-14s %8.1f ms\n", analyses[i].name,
				(double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	}
	an_refine(&c);
	an_rank(&c);
	if (c.nf)
		qsort(c.f, c.nf, sizeof *c.f, cmp_finding);
	size_t n = c.nf < c.o.max_findings ? c.nf : c.o.max_findings;
	an_context(&c, n);
	priv->items = calloc(n ? n : 1, sizeof *priv->items);
	if (!priv->items || c.oom) {
		ctx_free(&c);
		bd_findings_free(res);
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory while analyzing");
	}
	for (size_t i = 0; i < n; i++)
		priv->items[i] = c.f[i]->pub;
	res->items = priv->items;
	res->n = n;
	res->slogan = c.slogan;
	/* The reason may point into the slogan's own unquoted buffer: point it into
	 * the copy, not into this stack frame's. */
	if (c.slogan.reason >= c.slogan.unquoted &&
	    c.slogan.reason < c.slogan.unquoted + sizeof c.slogan.unquoted)
		res->slogan.reason = res->slogan.unquoted + (c.slogan.reason - c.slogan.unquoted);
	res->verdict = verdict(&c, priv->items, n);
	res->procs_decoded = c.opened;
	ctx_free(&c);
	*out = res;
	return 0;
}

void bd_findings_free(bd_findings *f)
{
	if (!f)
		return;
	if (f->priv) {
		bd_arena_free(&f->priv->arena);
		free(f->priv->items);
		free(f->priv);
	}
	free(f);
}
