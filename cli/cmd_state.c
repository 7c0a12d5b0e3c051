/* beamdump state: the gen_server / gen_statem / gen_event state of one process, read
 * from its stack (a post-mortem sys:get_state/1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beamdump/analyze.h"
#include "cli.h"

static const char NOT_BEHAVIOUR[] = "not an OTP behaviour process (no gen loop on its stack)";

static void print_text(const bd_proc *p, const bd_gen_state *st, char *buf, size_t cap,
		       int depth, int items)
{
	char pid[48], name[256], frame[256];
	printf("%s%s%s  %s %s\n", p->name ? out_txt(style_label(p->name, name, sizeof name)) : "",
	       p->name ? " " : "", bd_pid_fmt(p->pid, pid, sizeof pid), st->behaviour,
	       st->module[0] ? out_txt(st->module) : "?");
	printf("read from: %s, y%d%s\n", st->frame ? out_txt(style_label(st->frame, frame, sizeof frame)) : "?",
	       st->y,
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
	jw_kstr(&w, "behaviour", st ? st->behaviour : NULL);
	jw_kstr(&w, "module", st && st->module[0] ? st->module : NULL);
	jw_kstr(&w, "frame", st ? st->frame : NULL);
	jw_key(&w, "y");
	if (st)
		jw_i64(&w, st->y);
	else
		jw_null(&w);
	jw_key(&w, "in_callback");
	jw_bool(&w, st && st->in_callback);
	jw_key(&w, "state_name");
	if (st && st->state_name) {
		bd_term_fmt(st->state_name, buf, cap, depth, items);
		jw_str(&w, buf);
	} else {
		jw_null(&w);
	}
	jw_key(&w, "state");
	if (st) {
		bd_term_fmt(st->state, buf, cap, depth, items);
		jw_str(&w, buf);
	} else {
		jw_null(&w);
	}
	jw_kstr(&w, "current_function", p->pc_mfa);
	jw_kstr(&w, "note", st ? NULL : NOT_BEHAVIOUR);
	jw_obj_end(&w);
	jw_end(&w);
}

/* The stack was read and holds frames: the process runs, just not a behaviour loop. */
static int has_stack(bd_heap *h)
{
	bd_frame *fr;
	size_t nf;
	bd_error err = {0};
	return h && bd_heap_stack(h, &fr, &nf, &err) == 0 && nf > 0;
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
	int got = !buf || bd_heap_open(&h, m, p, &err) ? -1
							: bd_gen_state_read(h, m, p, &st, &err);
	if (got == BD_ENOTFOUND && has_stack(h)) {
		/* An answer, not an error: the operator asked about a real process. */
		char pid[48], name[256], mfa[256];
		if (o->json)
			print_json(p, NULL, buf, cap, depth, items);
		else
			printf("%s%s%s  %s%s%s\n", p->name ? out_txt(style_label(p->name, name, sizeof name)) : "",
			       p->name ? " " : "", bd_pid_fmt(p->pid, pid, sizeof pid), NOT_BEHAVIOUR,
			       p->pc_mfa ? "; it is in " : "",
			       p->pc_mfa ? out_txt(style_label(p->pc_mfa, mfa, sizeof mfa)) : "");
	} else if (got) {
		fprintf(stderr, "beamdump: state of %s: %s\n", out_txt(o->args[0]),
			err.msg[0] ? out_txt(err.msg) : "out of memory");
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
	/* No stack because the dump was cut: say so with the partial exit code. */
	return rc && prc == EXIT_PARTIAL ? prc : rc ? rc : prc;
}
