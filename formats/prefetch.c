/* Long mailboxes summarised while the dump is still being read: the walk over a
 * queue of millions of messages is the longest single step of an analysis, and it can
 * start as soon as the scan has passed the process's data sections, on a thread of its
 * own, instead of after the read. The summary goes to the model's memo, where
 * bd_heap_mailbox_stats finds it. Asked for with bd_open_opts.mailboxes (analyze). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "beamdump/secret.h"
#include "int.h"

enum { TOP = 3, MIN_MESSAGES = 10000 };

typedef struct bd_prefetch {
	const bd_model *m;
	bd_pid want[TOP];       /* the longest queues (known once the =proc table is read) */
	size_t nwant;
	bd_proc queue[TOP];     /* rows whose data sections are complete, to summarise */
	size_t head, tail;
	int done, started, running;
	bd_pid current;         /* the queue being summarised now, or BD_PID_NONE */
	pthread_mutex_t lock;
	pthread_cond_t more, finished;
	pthread_t th;
} bd_prefetch;

static void summarise(const bd_model *m, const bd_proc *row)
{
	bd_heap *h;
	bd_error err = {0};
	if (bd_heap_open(&h, m, row, &err))
		return;
	bd_heap_set_early(h);
	bd_mailbox_stats st;
	bd_heap_mailbox_stats(h, &st, &err); /* kept in the memo when complete */
	bd_heap_free(h);
}

static void *worker(void *arg)
{
	bd_prefetch *f = arg;
	for (;;) {
		pthread_mutex_lock(&f->lock);
		f->current = BD_PID_NONE;
		pthread_cond_broadcast(&f->finished);
		while (f->head == f->tail && !f->done)
			pthread_cond_wait(&f->more, &f->lock);
		/* Once the read is over the model is in other hands (heaps opened by the
		 * analyses fill its literal index): what is not started is left to them. */
		if (f->head == f->tail || f->done) {
			pthread_mutex_unlock(&f->lock);
			return NULL;
		}
		bd_proc row = f->queue[f->head++ % TOP];
		f->current = row.pid;
		pthread_mutex_unlock(&f->lock);
		summarise(f->m, &row);
	}
}

bd_prefetch *bd_prefetch_new(const bd_model *m)
{
	bd_prefetch *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->m = m;
	f->current = BD_PID_NONE;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->more, NULL);
	pthread_cond_init(&f->finished, NULL);
	return f;
}

/* The =proc table is complete: pick the longest queues. */
void bd_prefetch_choose(bd_prefetch *f)
{
	if (!f || f->nwant || f->started)
		return;
	size_t n = f->m->procs.len;
	const bd_proc *p = f->m->procs.data;
	uint64_t len[TOP] = {0};
	for (size_t i = 0; i < n; i++) {
		uint64_t q = p[i].msgq_len;
		if (q == BD_UNKNOWN || q < MIN_MESSAGES || (f->nwant == TOP && q <= len[TOP - 1]))
			continue;
		size_t k = f->nwant < TOP ? f->nwant++ : TOP - 1;
		while (k > 0 && len[k - 1] < q) {
			len[k] = len[k - 1];
			f->want[k] = f->want[k - 1];
			k--;
		}
		len[k] = q;
		f->want[k] = p[i].pid;
	}
	f->started = 1; /* chosen once: later =proc rows (a strange dump) are not waited for */
}

/* Opening a heap learns the node's cookies (from init and auth) so that no summary
 * shows one: their data sections must have been read already. Data sections follow
 * the process table's order. */
static int secrets_read(const bd_model *m, const bd_proc *p)
{
	static const char *names[] = {"init", "auth"};
	for (size_t i = 0; i < 2; i++) {
		const bd_proc *q = bd_proc_find(m, names[i]);
		if (q && q >= p)
			return 0;
	}
	return 1;
}

/* The data sections of row p are complete: summarise it if it is one of the chosen. */
void bd_prefetch_proc(bd_prefetch *f, const bd_proc *p)
{
	if (!f || !p)
		return;
	size_t k = 0;
	while (k < f->nwant && !bd_pid_eq(f->want[k], p->pid))
		k++;
	if (k == f->nwant || !p->sec_messages.len || !secrets_read(f->m, p))
		return;
	f->want[k] = BD_PID_NONE; /* once */
	/* Learnt here, once, on the reading thread: the summary may still run when the
	 * analyses start, and they must find the cookies complete. */
	bd_secret_learn(f->m);
	pthread_mutex_lock(&f->lock);
	if (!f->running && pthread_create(&f->th, NULL, worker, f)) {
		pthread_mutex_unlock(&f->lock);
		return;
	}
	f->running = 1;
	if (f->tail - f->head < TOP)
		f->queue[f->tail++ % TOP] = *p;
	pthread_cond_signal(&f->more);
	pthread_mutex_unlock(&f->lock);
}

/* The read is over: the summary under way goes on (the analyses that follow do not
 * wait for it unless they need that queue: bd_prefetch_wait); none is started. */
void bd_prefetch_close(bd_prefetch *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->done = 1;
	pthread_cond_signal(&f->more);
	pthread_mutex_unlock(&f->lock);
}

/* Until the summary of pid's queue, if under way, is in the memo. */
void bd_prefetch_wait(bd_prefetch *f, bd_pid pid)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	while (f->running && bd_pid_eq(f->current, pid))
		pthread_cond_wait(&f->finished, &f->lock);
	pthread_mutex_unlock(&f->lock);
}

/* Wait for the summary under way, and free f. */
void bd_prefetch_free(bd_prefetch *f)
{
	if (!f)
		return;
	bd_prefetch_close(f);
	if (f->running)
		pthread_join(f->th, NULL);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->more);
	pthread_cond_destroy(&f->finished);
	free(f);
}
