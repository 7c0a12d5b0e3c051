/* The name people know a process by. Most processes of a real node are started
 * through proc_lib and have no registered name, so "proc_lib:init_p/5" says nothing;
 * their identity is in the dictionary ('$process_label' of proc_lib:set_label/1,
 * RabbitMQ's process_name, '$initial_call') or in the name their gen_server or
 * gen_statem loop was started with ({via, Registry, {Reg, Key}}).
 *
 * Cost: only the dictionary entries asked for are decoded (bd_heap_dict_get peeks at
 * each entry's key before decoding its value), and the stack only to its first
 * frame's few slots, never the whole state. Processes without a dictionary (plain
 * spawns) cost nothing. */
#include <stdio.h>
#include <string.h>

#include "an_int.h"

enum { NAME_DEPTH = 4, NAME_ITEMS = 12, MAX_TOP_SLOTS = 16 };

static bd_pname_source put(char *buf, size_t cap, bd_pname_source src, const char *s)
{
	snprintf(buf, cap, "%s", s);
	return src;
}

/* Printable text of a binary term, or NULL. */
static int bin_text(const bd_term *t, const char **s, size_t *n)
{
	if (!t || t->kind != BD_T_BINARY || !t->u.bin.data || t->n != t->u.bin.size)
		return 0;
	for (uint32_t i = 0; i < t->n; i++)
		if (t->u.bin.data[i] < 0x20 || t->u.bin.data[i] == 0x7f)
			return 0;
	*s = (const char *)t->u.bin.data;
	*n = t->n;
	return 1;
}

/* RabbitMQ names queues, exchanges and vhosts with #resource{virtual_host, kind,
 * name}; its logs print one as "queue 'orders' in vhost '/'" (rabbit_misc:rs/1). */
static int resource_text(const bd_term *t, char *buf, size_t cap)
{
	const char *vh, *nm;
	size_t vl, nl;
	const bd_term *kind = bd_term_elem(t, 2);
	if (!t || t->kind != BD_T_TUPLE || t->n != 4 || !bd_term_is_atom(bd_term_elem(t, 0), "resource") ||
	    !kind || kind->kind != BD_T_ATOM || !bin_text(bd_term_elem(t, 1), &vh, &vl) ||
	    !bin_text(bd_term_elem(t, 3), &nm, &nl))
		return 0;
	snprintf(buf, cap, "%.*s '%.*s' in vhost '%.*s'", (int)kind->n, kind->u.s, (int)nl, nm,
		 (int)vl, vh);
	return 1;
}

/* A term printed with a binary the dump does not contain ("<<...>>(52 bytes, not in
 * dump)", the OTP <= 26 slice gap) names nothing readable. */
static int unreadable(const char *text) { return strstr(text, "not in dump") != NULL; }

/* process_name = {Type, Id}: "Type: Id", with a #resource{} Id as RabbitMQ prints
 * it; any other term as printed; just "Type" when the Id is not in the dump. */
static int process_name_text(const bd_term *t, char *buf, size_t cap)
{
	const bd_term *type = bd_term_elem(t, 0);
	if (t->kind == BD_T_TUPLE && t->n == 2 && type && type->kind == BD_T_ATOM) {
		char ty[128], id[256];
		bd_term_fmt(type, ty, sizeof ty, 0, 0);
		if (!resource_text(bd_term_elem(t, 1), id, sizeof id))
			bd_term_fmt(bd_term_elem(t, 1), id, sizeof id, NAME_DEPTH, NAME_ITEMS);
		if (unreadable(id))
			snprintf(buf, cap, "%s", ty);
		else
			snprintf(buf, cap, "%s: %s", ty, id);
		return 1;
	}
	bd_term_fmt(t, buf, cap, NAME_DEPTH, NAME_ITEMS);
	return !unreadable(buf);
}

/* A label worth showing: not undefined (what proc_lib:get_label/1 returns for none). */
static int is_label(const bd_term *t)
{
	return t && t->kind != BD_T_MISSING && t->kind != BD_T_LIMIT && t->kind != BD_T_OPAQUE &&
	       !bd_term_is_atom(t, "undefined");
}

typedef struct top_slot {
	int y;
	const char *text; /* element text in the dump's term language */
	size_t len;
} top_slot;

/* The y-slots of the first stack frame (before the first return address), as text:
 * reading a slot or two this way never decodes the (possibly huge) state next to
 * them. */
static size_t top_slots(const bd_model *m, const bd_proc *p, top_slot *out, size_t cap)
{
	const char *t;
	size_t len, n = 0;
	if (!p->sec_stack.len || bd_model_span_text(m, p->sec_stack, &t, &len))
		return 0;
	const char *c = t, *end = t + len;
	while (c < end && n < cap && *c == 'y') {
		const char *e = memchr(c, '\n', (size_t)(end - c));
		if (!e)
			e = end;
		const char *colon = memchr(c, ':', (size_t)(e - c));
		if (!colon)
			break;
		int y = 0;
		for (const char *d = c + 1; d < colon && *d >= '0' && *d <= '9'; d++)
			y = y * 10 + (*d - '0');
		out[n++] = (top_slot){y, colon + 1, (size_t)(e - colon - 1)};
		c = e + 1;
	}
	return n;
}

static const top_slot *slot_y(const top_slot *s, size_t n, int y)
{
	for (size_t i = 0; i < n; i++)
		if (s[i].y == y)
			return &s[i];
	return NULL;
}

/* "A<hex>:<atom>" equal to the atom text a[0..an). */
static int slot_is_atom(const top_slot *s, const char *a, size_t an)
{
	char pre[24];
	int k = snprintf(pre, sizeof pre, "A%zX:", an);
	return k > 0 && s->len == (size_t)k + an && !memcmp(s->text, pre, (size_t)k) &&
	       !memcmp(s->text + k, a, an);
}

static int is_gen_loop(const char *pc)
{
	return pc && (!strncmp(pc, "gen_server:loop/", 16) || !strncmp(pc, "gen_statem:loop", 15));
}

/* The Name a gen_server loop holds (gen:name/1 of what start_link was given: the
 * pid itself when unnamed, the atom for local and global names, the Name of
 * {via, Module, Name}, e.g. {Registry, Key} for Elixir's Registry). gen_server:loop/7
 * keeps Mod, State, Name, Parent in consecutive y-registers (OTP 21-28): find the
 * callback module's atom and check that a pid (the parent) follows the name. */
static const bd_term *gen_server_name(const bd_model *m, const bd_proc *p, bd_heap *h,
				      const bd_term *mod)
{
	top_slot s[MAX_TOP_SLOTS];
	size_t n = top_slots(m, p, s, MAX_TOP_SLOTS);
	for (size_t i = 0; i < n; i++) {
		if (!slot_is_atom(&s[i], mod->u.s, mod->n))
			continue;
		const top_slot *name = slot_y(s, n, s[i].y + 2), *parent = slot_y(s, n, s[i].y + 3);
		if (!name || !parent || parent->len < 2 || memcmp(parent->text, "P<", 2) != 0)
			return NULL;
		if (name->len >= 2 && !memcmp(name->text, "P<", 2))
			return NULL; /* unnamed: the loop's Name is its own pid */
		const bd_term *t = bd_heap_decode(h, name->text, name->len);
		return t && (t->kind == BD_T_TUPLE || t->kind == BD_T_ATOM) ? t : NULL;
	}
	return NULL;
}

/* gen_statem keeps #params{callback_mode, state_enter, parent, modules, name, ...}:
 * the name follows the modules list. */
static const bd_term *gen_statem_name(const bd_model *m, const bd_proc *p, bd_heap *h)
{
	top_slot s[MAX_TOP_SLOTS];
	size_t n = top_slots(m, p, s, MAX_TOP_SLOTS);
	for (size_t i = 0; i < n; i++) {
		if (s[i].len < 2 || s[i].text[0] != 'H')
			continue;
		const bd_term *t = bd_heap_decode(h, s[i].text, s[i].len);
		if (!t || t->kind != BD_T_TUPLE || t->n < 6 || !bd_term_is_atom(bd_term_elem(t, 0), "params"))
			continue;
		for (uint32_t k = 1; k + 1 < t->n; k++) {
			const bd_term *mods = bd_term_elem(t, k), *name = bd_term_elem(t, k + 1);
			if (mods && mods->kind == BD_T_CONS && mods->u.elems[0]->kind == BD_T_ATOM)
				return name && (name->kind == BD_T_TUPLE || name->kind == BD_T_ATOM)
					       ? name
					       : NULL;
		}
	}
	return NULL;
}

static bd_pname_source from_heap(const bd_model *m, const bd_proc *p, bd_heap *h, char *buf,
				 size_t cap)
{
	const bd_term *t = bd_heap_dict_get(h, "$process_label");
	if (is_label(t)) {
		bd_term_fmt(t, buf, cap, NAME_DEPTH, NAME_ITEMS);
		if (!unreadable(buf))
			return BD_PNAME_LABEL;
	}
	t = bd_heap_dict_get(h, "process_name");
	if (is_label(t) && process_name_text(t, buf, cap))
		return BD_PNAME_PROCESS_NAME;
	const bd_term *ic = bd_heap_dict_get(h, "$initial_call");
	const bd_term *mod = bd_term_elem(ic, 0);
	if (is_gen_loop(p->pc_mfa)) {
		const bd_term *name = NULL;
		if (!strncmp(p->pc_mfa, "gen_server:", 11) && mod && mod->kind == BD_T_ATOM)
			name = gen_server_name(m, p, h, mod);
		else if (!strncmp(p->pc_mfa, "gen_statem:", 11))
			name = gen_statem_name(m, p, h);
		if (name && !(p->name && name->kind == BD_T_ATOM)) {
			bd_term_fmt(name, buf, cap, NAME_DEPTH, NAME_ITEMS);
			return BD_PNAME_VIA;
		}
	}
	char mfa[256];
	if (bd_term_mfa(ic, mfa, sizeof mfa)[0])
		return put(buf, cap, BD_PNAME_INITIAL_CALL, mfa);
	return BD_PNAME_PID;
}

bd_pname_source bd_proc_name(const bd_model *m, const bd_proc *p, bd_heap *h, char *buf,
			     size_t cap)
{
	char pid[48];
	if (!cap)
		return BD_PNAME_PID;
	buf[0] = 0;
	if (p->name)
		return put(buf, cap, BD_PNAME_REGISTERED, p->name);
	bd_pname_source src = BD_PNAME_PID;
	/* Only a dictionary can hold a label or an initial call; plain spawns skip the
	 * heap altogether. */
	if (p->sec_dictionary.len) {
		bd_heap *own = NULL;
		if (!h && bd_heap_open(&own, m, p, NULL) == 0)
			h = own;
		if (h)
			src = from_heap(m, p, h, buf, cap);
		bd_heap_free(own);
	}
	if (src != BD_PNAME_PID && buf[0])
		return src;
	if (p->spawned_as)
		return put(buf, cap, BD_PNAME_SPAWNED_AS, p->spawned_as);
	return put(buf, cap, BD_PNAME_PID, bd_pid_fmt(p->pid, pid, sizeof pid));
}

const char *bd_pname_source_name(bd_pname_source s)
{
	static const char *const names[] = {"pid", "spawned_as", "initial_call", "via",
					    "process_name", "label", "registered"};
	return (unsigned)s < sizeof names / sizeof *names ? names[s] : "pid";
}
