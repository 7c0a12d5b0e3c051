/* Ranking across analyses. The slogan says what finally failed; another finding
 * often says why (binary_alloc ran dry because slice_keeper pins 120 MB). Such a
 * finding is moved above the slogan's own finding, and says what it explains. */
#include <string.h>

#include "an_int.h"

/* Which kinds can explain an allocator running out, by allocator name. */
static const struct {
	const char *alloc;
	bd_finding_kind kinds[4];
	int nkinds;
	int same_subject; /* only when about the slogan finding's own process */
} explainers[] = {
	{"binary_alloc", {BD_F_BINARY_PINNING, BD_F_BINARY_LEAK, BD_F_MAILBOX_OVERLOAD}, 3, 0},
	{"ets_alloc", {BD_F_ETS_GROWTH, BD_F_ETS_LIMIT}, 2, 0},
	{"eheap_alloc", {BD_F_MAILBOX_OVERLOAD}, 1, 1},
	{"", {BD_F_MEMORY_FRAGMENTATION, BD_F_ETS_GROWTH, BD_F_BINARY_LEAK, BD_F_MAILBOX_OVERLOAD}, 4, 0},
};

static const bd_finding_kind limit_kinds[] = {BD_F_PROCESS_LIMIT, BD_F_PORT_LIMIT, BD_F_ETS_LIMIT,
					      BD_F_ATOM_EXHAUSTION};

static an_finding *slogan_finding(an_ctx *c)
{
	for (size_t i = 0; i < c->nf; i++) {
		bd_finding_kind k = c->f[i]->pub.kind;
		if (k == BD_F_ALLOCATOR_OOM || k == BD_F_HEAP_OOM || k == BD_F_BOOT_FAILURE ||
		    k == BD_F_SUPERVISOR_SHUTDOWN || k == BD_F_VM_ERROR)
			return c->f[i];
	}
	return NULL;
}

/* Put f just above the slogan finding s, keeping explainers in their own order. */
static void promote(an_ctx *c, an_finding *f, an_finding *s, double bump)
{
	f->pub.score = s->pub.score + bump;
	f->pub.severity = BD_SEV_CRITICAL;
	f->explains_slogan = 1;
	an_ev_str(c, f, "explains", "%.200s", c->slogan.text);
}

/* Best finding of kind k (highest score), or NULL. */
static an_finding *best_of(an_ctx *c, bd_finding_kind k)
{
	an_finding *b = NULL;
	for (size_t i = 0; i < c->nf; i++)
		if (c->f[i]->pub.kind == k && c->f[i]->pub.severity >= BD_SEV_WARNING &&
		    (!b || c->f[i]->pub.score > b->pub.score))
			b = c->f[i];
	return b;
}

static void rank_alloc(an_ctx *c, an_finding *s)
{
	for (size_t i = 0; i < sizeof explainers / sizeof *explainers; i++) {
		if (explainers[i].alloc[0] && strcmp(explainers[i].alloc, c->slogan.allocator) != 0)
			continue;
		/* Explainers in table order: the first kind present ranks highest. */
		double bump = 5;
		int any = 0;
		for (int k = 0; k < explainers[i].nkinds; k++) {
			an_finding *f = best_of(c, explainers[i].kinds[k]);
			if (f && explainers[i].same_subject &&
			    !bd_pid_eq(f->pub.subject.pid, s->pub.subject.pid))
				f = NULL;
			if (f && !f->explains_slogan) {
				promote(c, f, s, bump);
				bump -= 1;
				any = 1;
			}
		}
		if (any || explainers[i].alloc[0])
			return;
	}
}

/* A boot failure or shutdown caused by a limit is reported as that limit. */
static void rank_limits(an_ctx *c, an_finding *s)
{
	double bump = 5;
	for (size_t i = 0; i < sizeof limit_kinds / sizeof *limit_kinds; i++) {
		an_finding *f = best_of(c, limit_kinds[i]);
		if (f && (c->slogan.system_limit || f->pub.severity == BD_SEV_CRITICAL)) {
			promote(c, f, s, bump);
			bump -= 1;
			/* The boot failure stays as context, one rank down. */
			if (s->pub.severity == BD_SEV_CRITICAL)
				s->pub.severity = BD_SEV_WARNING;
		}
	}
}

/* A SIGUSR1 or break-menu dump, or a live capture, of a calm node: say so instead of
 * pointing at findings above that are not there. */
static void calm_manual_dump(an_ctx *c)
{
	an_finding *manual = NULL;
	for (size_t i = 0; i < c->nf; i++) {
		if (c->f[i]->pub.severity >= BD_SEV_WARNING)
			return;
		if (c->f[i]->pub.kind == BD_F_MANUAL_DUMP)
			manual = c->f[i];
	}
	if (!manual)
		return;
	const char *src = bd_model_node(c->m)->source;
	if (c->slogan.cls == BD_SL_NONE && src && !strcmp(src, "live"))
		an_title(c, manual, "Live capture of a running node: nothing crashed and "
			 "nothing at warning level: the node looked healthy");
	else if (c->slogan.cls == BD_SL_SIGUSR1 || c->slogan.cls == BD_SL_USER_BREAK)
		an_title(c, manual, "Dump requested %s; nothing at warning level: the node "
			 "looked healthy",
			 c->slogan.cls == BD_SL_SIGUSR1 ? "with SIGUSR1" : "from the break menu");
}

void an_rank(an_ctx *c)
{
	calm_manual_dump(c);
	an_finding *s = slogan_finding(c);
	if (!s)
		return;
	switch (c->slogan.cls) {
	case BD_SL_ALLOC_OOM:
	case BD_SL_HEAP_LIMIT:
		rank_alloc(c, s);
		break;
	case BD_SL_KERNEL_PID:
	case BD_SL_KERNEL_START:
	case BD_SL_BOOT:
		rank_limits(c, s);
		break;
	default:
		break;
	}
}
