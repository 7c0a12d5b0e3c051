/* A post-mortem sys:get_state/1: the behaviour state read from the y-registers of
 * the gen_server / gen_statem / gen_event frames on the stack.
 *
 * Register allocation changes between OTP releases, so a fixed y index is only the
 * fallback. gen_server frames keep Mod and State side by side (loop/7: y2 Mod, y3
 * State; handle_msg/6: y1 Mod, y2 State on OTP 25), so the rule is "the slot after
 * the callback module atom"; gen_statem keeps a #state{state_data = {State, Data}}
 * record and a #params{} record naming the module; gen_event keeps the handler list
 * [{handler, Mod, Id, State, Supervised}]. */
#include <stdio.h>
#include <string.h>

#include "an_int.h"

typedef enum { R_AFTER_MOD, R_STATEM, R_EVENT } rule;

static const struct {
	const char *mfa;  /* frame function prefix */
	const char *behaviour;
	rule how;
	int mod_y, state_y; /* fallback positions (OTP 25) */
	int in_callback;
} frames[] = {
	{"gen_server:loop/", "gen_server", R_AFTER_MOD, 2, 3, 0},
	{"gen_server:handle_msg/", "gen_server", R_AFTER_MOD, 1, 2, 1},
	{"gen_server:try_dispatch/", "gen_server", R_AFTER_MOD, 6, 3, 1},
	{"gen_server:try_handle_call/", "gen_server", R_AFTER_MOD, -1, -1, 1},
	{"gen_statem:", "gen_statem", R_STATEM, -1, -1, 0},
	{"gen_event:", "gen_event", R_EVENT, -1, -1, 0},
};

static const bd_term *slot_y(const bd_frame *f, int y)
{
	for (uint32_t i = 0; i < f->nslots; i++)
		if (f->slots[i].y == y && f->slots[i].term)
			return f->slots[i].term;
	return NULL;
}

static int atom_eq(const bd_term *t, const char *s)
{
	return s && bd_term_is_atom(t, s);
}

/* The module as the VM prints it ('Elixir.My.Counter'), like the MFAs of the dump. */
static void set_module(bd_gen_state *o, const bd_term *atom)
{
	bd_term_fmt(atom, o->module, sizeof o->module, 0, 0);
}

/* Callback module atom from $initial_call {Mod,init,1}, or NULL. Its text (unquoted)
 * into buf, for comparing with atoms on the stack. */
static const bd_term *initial_mod(bd_heap *h, char *buf, size_t cap)
{
	const bd_term *ic = bd_heap_dict_get(h, "$initial_call");
	const bd_term *m = bd_term_elem(ic, 0);
	if (!m || m->kind != BD_T_ATOM)
		return NULL;
	snprintf(buf, cap, "%.*s", (int)m->n, m->u.s);
	return m;
}

static int after_mod(const bd_frame *f, int mod_y, int state_y, const char *mod, bd_gen_state *o)
{
	/* The rule first: the slot right after an atom equal to the module. */
	for (uint32_t i = 0; mod && i < f->nslots; i++) {
		if (atom_eq(f->slots[i].term, mod)) {
			const bd_term *s = slot_y(f, f->slots[i].y + 1);
			if (s) {
				o->state = s;
				o->y = f->slots[i].y + 1;
				return 0;
			}
		}
	}
	/* Fallback: the OTP 25 positions, if the module slot agrees. */
	const bd_term *m = mod_y >= 0 ? slot_y(f, mod_y) : NULL;
	const bd_term *s = state_y >= 0 ? slot_y(f, state_y) : NULL;
	if (s && m && m->kind == BD_T_ATOM && (!mod || atom_eq(m, mod))) {
		o->state = s;
		o->y = state_y;
		set_module(o, m);
		return 0;
	}
	return -1;
}

static int statem(const bd_frame *f, bd_gen_state *o)
{
	int found = -1;
	for (uint32_t i = 0; i < f->nslots; i++) {
		const bd_term *t = f->slots[i].term;
		if (!t || t->kind != BD_T_TUPLE || t->n < 2)
			continue;
		const bd_term *sd = bd_term_elem(t, 1);
		if (bd_term_is_atom(bd_term_elem(t, 0), "state") && sd && sd->kind == BD_T_TUPLE &&
		    sd->n == 2) {
			o->state_name = bd_term_elem(sd, 0);
			o->state = bd_term_elem(sd, 1);
			o->y = f->slots[i].y;
			found = 0;
		}
		/* #params{..., modules = [Mod], name, ...} */
		if (bd_term_is_atom(bd_term_elem(t, 0), "params")) {
			for (uint32_t k = 1; k < t->n; k++) {
				const bd_term *l = bd_term_elem(t, k);
				if (l && l->kind == BD_T_CONS && l->u.elems[0]->kind == BD_T_ATOM)
					set_module(o, l->u.elems[0]);
			}
		}
	}
	return found;
}

/* The handler list, or (while one handler runs) that handler's record. */
static int event(const bd_frame *f, bd_gen_state *o)
{
	for (uint32_t i = 0; i < f->nslots; i++) {
		const bd_term *t = f->slots[i].term;
		if ((t && t->kind == BD_T_CONS &&
		     bd_term_is_atom(bd_term_elem(t->u.elems[0], 0), "handler")) ||
		    bd_term_is_atom(bd_term_elem(t, 0), "handler")) {
			o->state = t;
			o->y = f->slots[i].y;
			return 0;
		}
	}
	return -1;
}

/* A supervisor's callback module: #state{..., module, args} ends with the two. */
static void supervisor_module(bd_gen_state *o)
{
	const bd_term *t = o->state;
	const bd_term *m = t && t->kind == BD_T_TUPLE && t->n > 3 ? bd_term_elem(t, t->n - 2) : NULL;
	if (bd_term_is_atom(bd_term_elem(t, 0), "state") && m && m->kind == BD_T_ATOM)
		set_module(o, m);
}

int bd_gen_state_read(bd_heap *h, const bd_model *m, const bd_proc *p, bd_gen_state *o,
		      bd_error *err)
{
	(void)m;
	(void)p;
	char modbuf[128];
	memset(o, 0, sizeof *o);
	o->y = -1;
	bd_frame *fr;
	size_t nf;
	if (!h || bd_heap_stack(h, &fr, &nf, err))
		return bd_error_set(err, BD_ENOTFOUND, 0, "no stack in the dump for this process");
	const bd_term *mod_atom = initial_mod(h, modbuf, sizeof modbuf);
	const char *mod = mod_atom ? modbuf : NULL;
	/* $initial_call is not always the callback module: Elixir's Agent and processes
	 * started through a fun overwrite it. If no gen_server frame holds that atom,
	 * read as if it were unknown (the module slot of the frame then names it). */
	int seen = 0;
	for (size_t i = 0; mod && !seen && i < nf; i++)
		for (uint32_t k = 0; fr[i].mfa && !strncmp(fr[i].mfa, "gen_server:", 11) &&
				     k < fr[i].nslots && !seen;
		     k++)
			seen = atom_eq(fr[i].slots[k].term, mod);
	if (!seen)
		mod = NULL;
	/* Outermost frames first: they hold the state from before the current message. */
	for (size_t i = nf; i-- > 0;) {
		if (!fr[i].mfa)
			continue;
		for (size_t k = 0; k < sizeof frames / sizeof *frames; k++) {
			if (strncmp(fr[i].mfa, frames[k].mfa, strlen(frames[k].mfa)) != 0)
				continue;
			int rc = frames[k].how == R_AFTER_MOD
					 ? after_mod(&fr[i], frames[k].mod_y, frames[k].state_y, mod, o)
				 : frames[k].how == R_STATEM ? statem(&fr[i], o)
							     : event(&fr[i], o);
			if (rc)
				continue;
			o->behaviour = frames[k].behaviour;
			if (frames[k].how == R_AFTER_MOD && mod)
				set_module(o, mod_atom);
			if (!strcmp(o->module, "supervisor")) {
				o->behaviour = "supervisor";
				supervisor_module(o);
			}
			o->frame = fr[i].mfa;
			o->in_callback = frames[k].in_callback || i > 0;
			return 0;
		}
	}
	return bd_error_set(err, BD_ENOTFOUND, 0,
			    "no gen_server, gen_statem or gen_event frame with a state on the stack");
}
