/* beamdump state: the gen_server / gen_statem / gen_event state of one process, read
 * from its stack (a post-mortem sys:get_state/1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beamdump/analyze.h"
#include "cli.h"

static void print_text(const bd_proc *p, const bd_gen_state *st, char *buf, size_t cap,
		       int depth, int items)
{
	char pid[48];
	printf("%s%s%s  %s %s\n", p->name ? p->name : "", p->name ? " " : "",
	       bd_pid_fmt(p->pid, pid, sizeof pid), st->behaviour,
	       st->module[0] ? st->module : "?");
	printf("read from: %s, y%d%s\n", st->frame ? st->frame : "?", st->y,
	       st->in_callback ? " (a callback was running: the state before the message being handled)" : "");
	if (st->state_name) {
		bd_term_fmt(st->state_name, buf, cap, depth, items);
		printf("state name: %s\n", buf);
	}
	bd_term_fmt(st->state, buf, cap, depth, items);
	printf("%s: %s\n", st->state_name ? "data" : "state", buf);
}

static void print_json(const bd_proc *p, const bd_gen_state *st, char *buf, size_t cap,
		       int depth, int items)
{
	jw w;
	jw_init(&w, stdout);
	jw_obj(&w);
	jw_kstr(&w, "schema", "beamdump.state/1");
	jw_kpid(&w, "pid", p->pid);
	jw_kstr(&w, "name", p->name);
	jw_kstr(&w, "behaviour", st->behaviour);
	jw_kstr(&w, "module", st->module[0] ? st->module : NULL);
	jw_kstr(&w, "frame", st->frame);
	jw_key(&w, "y");
	jw_i64(&w, st->y);
	jw_key(&w, "in_callback");
	jw_bool(&w, st->in_callback);
	jw_key(&w, "state_name");
	if (st->state_name) {
		bd_term_fmt(st->state_name, buf, cap, depth, items);
		jw_str(&w, buf);
	} else {
		jw_null(&w);
	}
	bd_term_fmt(st->state, buf, cap, depth, items);
	jw_kstr(&w, "state", buf);
	jw_obj_end(&w);
	jw_end(&w);
}

int cmd_state(const opts *o)
{
	bd_model *m;
	const bd_proc *p;
	int rc = open_proc(o, &m, &p);
	if (rc)
		return rc;
	bd_heap *h = NULL;
	bd_error err = {0};
	bd_gen_state st;
	size_t cap = o->all ? (size_t)16 << 20 : 64 << 10;
	int depth = o->all ? 10000 : 16, items = o->all ? 1 << 30 : 100;
	char *buf = malloc(cap);
	rc = EXIT_OK;
	if (!buf || bd_heap_open(&h, m, p, &err) || bd_gen_state_read(h, m, p, &st, &err)) {
		fprintf(stderr, "beamdump: state of %s: %s\n", o->args[0],
			err.msg[0] ? err.msg : "out of memory");
		rc = EXIT_USAGE;
	} else if (o->json) {
		print_json(p, &st, buf, cap, depth, items);
	} else {
		print_text(p, &st, buf, cap, depth, items);
	}
	free(buf);
	bd_heap_free(h);
	int prc = partial_notice(m);
	bd_model_free(m);
	return rc ? rc : prc;
}
