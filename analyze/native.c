/* native_crash: the VM died by a signal (core file or crash guard snapshot). Says
 * which signal, where (object, function, file:line), on which BEAM thread, which NIF
 * or driver was running (or ran last), and advice that fits the kind of fault. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "an_int.h"
#include "beamdump/native.h"

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;
	return s ? s + 1 : p;
}

static const char *thread_label(an_ctx *c, const bd_native_thread *t)
{
	const char *k = bd_thread_kind_name(t->kind);
	if (t->kind == BD_TK_SCHEDULER && t->index >= 0)
		return bd_arena_printf(c->arena, "normal scheduler %d", t->index);
	if ((t->kind == BD_TK_DIRTY_CPU || t->kind == BD_TK_DIRTY_IO) && t->index >= 0)
		return bd_arena_printf(c->arena, "%s %s scheduler %d", "dirty",
				       t->kind == BD_TK_DIRTY_CPU ? "CPU" : "I/O", t->index);
	if (t->kind == BD_TK_DIRTY_CPU || t->kind == BD_TK_DIRTY_IO)
		return t->kind == BD_TK_DIRTY_CPU ? "dirty CPU scheduler" : "dirty I/O scheduler";
	if (t->kind == BD_TK_ASYNC)
		return "async thread (driver async pool)";
	if (t->kind == BD_TK_OTHER)
		return t->name ? bd_arena_printf(c->arena, "thread %s (not a VM thread)", t->name)
			       : "a thread the VM did not start (NIF or driver thread)";
	return t->name ? bd_arena_printf(c->arena, "%s thread %s", k, t->name)
		       : bd_arena_printf(c->arena, "%s thread", k);
}

/* The frame where it happened: the first one with a name outside the C library when
 * the signal was raised on purpose (abort, assert), else frame 0. */
static const bd_native_frame *fault_frame(const bd_native *n, const bd_native_thread *t)
{
	if (!t->frame_count) /* no frames (n->frames may be NULL) */
		return NULL;
	const bd_native_frame *f = &n->frames[t->frame_first];
	if (n->signal == 6) {
		for (uint32_t i = 0; i < t->frame_count; i++) {
			const char *o = f[i].object >= 0 ? base_name(n->objects[f[i].object].path) : "";
			if (strncmp(o, "libc.so", 7) && strncmp(o, "libc-", 5) && strncmp(o, "libstdc++", 9) &&
			    strncmp(o, "libgcc_s", 8))
				return &f[i];
		}
	}
	return f;
}

static const char *where(an_ctx *c, const bd_native *n, const bd_native_frame *f)
{
	if (!f)
		return "an unknown place";
	const char *obj = f->object >= 0 ? base_name(n->objects[f->object].path) : NULL;
	if (f->kind == BD_FK_JIT)
		return bd_arena_printf(c->arena, "JIT code %s", f->erlang ? f->erlang : "(Erlang)");
	if (f->function && f->file)
		return bd_arena_printf(c->arena, "%s at %s:%u (%s)", f->function, base_name(f->file), f->line,
				       obj ? obj : "?");
	if (f->function)
		return bd_arena_printf(c->arena, "%s (%s)", f->function, obj ? obj : "?");
	return bd_arena_printf(c->arena, "%s+0x%" PRIx64, obj ? obj : "?",
			       f->object >= 0 && n->objects[f->object].bias != BD_UNKNOWN
				       ? f->pc - n->objects[f->object].bias
				       : f->pc);
}

static const char *fault_text(const bd_native *n) { return bd_native_fault(n); }

static void add_evidence(an_ctx *c, an_finding *f, const bd_native *n, const bd_native_thread *t,
			 const bd_native_frame *ff)
{
	an_ev_str(c, f, "signal", "%s", n->signal_name ? n->signal_name : "?");
	if (n->code_name)
		an_ev_str(c, f, "signal_code", "%s", n->code_name);
	if (n->fault_addr != BD_UNKNOWN)
		an_ev_str(c, f, "fault_address", "0x%" PRIx64, n->fault_addr);
	an_ev_str(c, f, "fault", "%s", fault_text(n));
	if (n->abort_message)
		an_ev_str(c, f, "abort_message", "%s", n->abort_message);
	if (n->fault_mapping)
		an_ev_str(c, f, "fault_mapping", "%s", n->fault_mapping);
	if (n->cxx_exception)
		an_ev_str(c, f, "cxx_exception", "%s", n->cxx_exception);
	if (n->callback)
		an_ev_str(c, f, "callback", "%s", n->callback);
	if (ff && ff->object >= 0)
		an_ev_str(c, f, "object", "%s", n->objects[ff->object].path);
	if (ff && ff->function)
		an_ev_str(c, f, "function", "%s", ff->function);
	if (ff && ff->file)
		an_ev_str(c, f, "file_line", "%s:%u", ff->file, ff->line);
	if (!t)
		return;
	an_ev_str(c, f, "thread_kind", "%s", bd_thread_kind_name(t->kind));
	an_ev_str(c, f, "thread", "%s (tid %u)", thread_label(c, t), t->tid);
	if (t->nif_mfa)
		an_ev_str(c, f, "nif", "%s", t->nif_mfa);
	if (t->nif)
		an_ev_str(c, f, "nif_function", "%s", t->nif);
	if (t->nif_library)
		an_ev_str(c, f, "nif_library", "%s", t->nif_library);
	if (t->recent_nif)
		an_ev_str(c, f, "recent_nif", "%s", t->recent_nif);
	if (t->erlang_process)
		an_ev_str(c, f, "erlang_process", "%s", t->erlang_process);
	if (t->erlang_function)
		an_ev_str(c, f, "erlang_function", "%s", t->erlang_function);
	an_ev_str(c, f, "in_vm", "%s", n->in_vm ? "yes" : "no");
	for (uint32_t i = 0; i < t->frame_count; i++)
		if (n->frames[t->frame_first + i].repeat > 1) {
			an_ev_count(c, f, "recursion_depth", n->frames[t->frame_first + i].repeat);
			break;
		}
	an_ev_count(c, f, "frames", t->frame_count);
	int scanned = 0;
	for (uint32_t i = 0; i < t->frame_count; i++)
		scanned |= n->frames[t->frame_first + i].how >= BD_UNW_FP;
	an_ev_str(c, f, "unwind", "%s", scanned ? "call frame information, partly best-effort "
						  "(frame pointers or stack scan)"
						: "call frame information (exact)");
}

static const char *ext_kind(const bd_native *n, const bd_native_thread *t)
{
	if (!t || t->nif_frame < 0)
		return NULL;
	const bd_native_frame *f = &n->frames[t->frame_first + (uint32_t)t->nif_frame];
	if (f->object >= 0 && n->objects[f->object].is_nif)
		return "NIF";
	return "native library (driver or NIF helper)";
}

static void advise(an_ctx *c, an_finding *f, const bd_native *n, const bd_native_thread *t,
		   const bd_native_frame *ff)
{
	const char *fn = ff && ff->function ? ff->function : "the faulting function";
	const char *lib = t && t->nif_library ? base_name(t->nif_library) : NULL;
	if (n->callback && !strcmp(n->callback, "resource")) {
		an_advice(c, f, "%s in %s ran with no NIF call on the stack: the VM called it, most "
			  "likely as a resource destructor when the resource's last reference was "
			  "garbage collected (or a stop/down callback). A destructor must cope with a "
			  "half-built or already-closed resource: check its fields before use",
			  fn, lib ? lib : "the library");
	} else if (n->callback) {
		an_advice(c, f, "The %s callback of %s crashed while erlang:load_nif/2 loaded the "
			  "module (its on_load): every node that loads it will crash the same way; "
			  "fix %s, and return a non-zero value from the callback to make load_nif "
			  "fail with an error instead",
			  n->callback, lib ? lib : "the NIF library", fn);
	} else if (n->cxx_exception || (n->signal == 6 && strstr(fault_text(n), "C++"))) {
		an_advice(c, f, "A C++ exception%s%s left %s: nothing caught it, so std::terminate() "
			  "aborted the VM. Catch every exception at the NIF's boundary (try/catch "
			  "around its body) and return an error term or raise with enif_raise_exception",
			  n->cxx_exception ? " of type " : "", n->cxx_exception ? n->cxx_exception : "",
			  t && t->nif_mfa ? t->nif_mfa : t && t->nif ? t->nif : "the native code");
	} else if (n->signal == 8) {
		an_advice(c, f, "%s divided an integer by zero (or INT_MIN by -1): check the divisor "
			  "(it often comes from the Erlang side: validate the NIF's arguments)", fn);
	} else if (n->signal == 4) {
		an_advice(c, f, "%s executed %s: an assertion compiled to a trap, or the compiler "
			  "proved the path impossible (undefined behaviour: a missing return, an "
			  "overflow); build with -fsanitize=undefined to find it. If it is not a trap, "
			  "check the library was built for this CPU (-march)",
			  fn, strstr(fault_text(n), "ud2") ? "a trap instruction (ud2)" : "an illegal instruction");
	} else if (n->signal == 7) {
		an_advice(c, f, "%s touched a mapped file past its end (the file shrank after mmap, "
			  "or a misaligned access on a strict path): keep the file's size fixed while "
			  "it is mapped, or check its length before each access", fn);
	} else if (n->stack_overflow) {
		an_advice(c, f, "%s recursed until the %s's stack ran out: make the recursion "
			  "iterative or bounded (a scheduler stack is small: +sss/+sssdcpu raise it, "
			  "but do not hide unbounded recursion)",
			  fn, t ? bd_thread_kind_name(t->kind) : "thread");
	} else if (n->signal == 6 && strstr(fault_text(n), "corruption")) {
		an_advice(c, f, "The C library found its heap damaged (in %s): memory was freed twice "
			  "or written past its end earlier, most likely by native code%s%s (a NIF's "
			  "enif_free/enif_release_resource, a buffer); run it under valgrind or with "
			  "-fsanitize=address to find the first bad write",
			  fn, lib ? " such as " : "", lib ? lib : "");
	} else if (n->signal == 6 && strstr(fault_text(n), "overflow")) {
		an_advice(c, f, "%s wrote past the end of a buffer (%s): check the lengths it copies",
			  fn, fault_text(n));
	} else if (n->signal == 6) {
		an_advice(c, f, "%s called abort() (or an assert failed): the reason is on the "
			  "node's stderr (console or release log); return {error, Reason} from the "
			  "NIF instead of aborting the whole VM",
			  fn);
	} else if (t && t->nif_frame > 0 && n->in_vm) {
		const bd_native_frame *caller = &n->frames[t->frame_first + 1];
		an_advice(c, f, "The NIF %s called the VM's %s with a bad argument%s%s: check what it "
			  "passes (a NULL or dangling pointer, a term or env that is not valid in that "
			  "call, a resource of another type)%s",
			  t->nif_mfa ? t->nif_mfa : t->nif ? t->nif : "code", fn,
			  caller->function ? bd_arena_printf(c->arena, " from %s", caller->function) : "",
			  caller->file ? bd_arena_printf(c->arena, " at %s:%u", base_name(caller->file), caller->line) : "",
			  caller->file ? "" : " (build it with -g for file:line)");
	} else if (t && t->nif_frame >= 0) {
		an_advice(c, f, "Fix %s in %s%s%s: check every pointer it gets (enif_get_*, "
			  "resources, driver data) before use; reproduce it in a test under valgrind "
			  "or with -fsanitize=address%s",
			  fn, lib ? lib : "the library", ff && ff->file ? " at " : "",
			  ff && ff->file ? bd_arena_printf(c->arena, "%s:%u", base_name(ff->file), ff->line) : "",
			  ff && !ff->file ? " (build it with -g for file:line)" : "");
	} else if (n->in_vm && t && t->recent_nif) {
		an_advice(c, f, "The VM faulted in its own code with no NIF on the stack, but "
			  "%s ran on this thread just before: a NIF that writes out of bounds or "
			  "returns a bad term makes the VM crash later. Test that NIF under a debug "
			  "emulator (-emu_type debug) or with -fsanitize=address",
			  t->recent_nif);
	} else if (n->in_vm) {
		char libs[256] = "";
		size_t k = 0;
		uint32_t nifs = 0;
		for (uint32_t i = 0; i < n->nobjects; i++) {
			if (!n->objects[i].is_nif)
				continue;
			if (nifs++ < 4 && k < sizeof libs)
				k += (size_t)snprintf(libs + k, sizeof libs - k, "%s%s", k ? ", " : "",
						      base_name(n->objects[i].path));
		}
		if (k >= sizeof libs)
			k = sizeof libs - 1;
		const char *erl = t && t->erlang_function
					  ? bd_arena_printf(c->arena, " (the process was in %s: look at "
								      "what it passed to or got from a NIF)",
							    t->erlang_function)
					  : "";
		if (nifs)
			an_advice(c, f, "A fault inside the emulator with NIF code loaded (%s): suspect "
				  "memory corruption or a bad term from a NIF first%s; test it under a "
				  "debug emulator (-emu_type debug) or with -fsanitize=address, else report "
				  "a VM bug with this core",
				  libs, erl);
		else
			an_advice(c, f, "A fault inside the emulator with no NIF library loaded%s: report a "
				  "VM bug with this core and `beamdump core --json`",
				  erl);
	} else {
		an_advice(c, f, "Fix %s%s%s: it crashed outside the VM on a %s", fn, lib ? " in " : "",
			  lib ? lib : "", t ? bd_thread_kind_name(t->kind) : "thread");
	}
}

void an_native(an_ctx *c)
{
	const bd_native *n = bd_model_native(c->m);
	if (!n)
		return;
	an_finding *f = an_new(c, BD_F_NATIVE_CRASH, BD_SEV_CRITICAL, 100);
	if (!f)
		return;
	const bd_native_thread *t = n->crashed >= 0 ? &n->threads[n->crashed] : NULL;
	const bd_native_frame *ff = t ? fault_frame(n, t) : NULL;
	const char *kind = ext_kind(n, t);
	if (t && t->nif_frame >= 0)
		an_subject_named(c, f, kind && !strcmp(kind, "NIF") ? "nif" : "library",
				 t->nif_mfa ? t->nif_mfa : t->nif ? t->nif : base_name(t->nif_library));
	else
		an_subject_named(c, f, "thread", t ? thread_label(c, t) : "unknown thread");
	if (t && t->erlang_process)
		bd_pid_parse(t->erlang_process, strlen(t->erlang_process), &f->pub.subject.pid);
	if (t)
		f->pub.subject.current_function = t->erlang_function;
	const char *who = "";
	if (t && t->nif_frame >= 0 && n->callback && !strcmp(n->callback, "resource"))
		who = bd_arena_printf(c->arena, " in %s of %s, called by the VM (a resource destructor?), "
				      "no NIF call", t->nif ? t->nif : "a function", base_name(t->nif_library));
	else if (t && t->nif_frame >= 0 && n->callback)
		who = bd_arena_printf(c->arena, " in the %s callback of %s (erlang:load_nif/2)", n->callback,
				      base_name(t->nif_library));
	else if (t && t->nif_frame >= 0)
		who = bd_arena_printf(c->arena, " in %s %s", kind,
				      t->nif_mfa ? t->nif_mfa : t->nif ? t->nif : base_name(t->nif_library));
	else if (n->in_vm)
		who = " in the emulator";
	an_title(c, f, "%s killed by %s (%s%s)%s: %s, on the %s", base_name(n->exe) ? base_name(n->exe) : "the VM",
		 n->signal_name ? n->signal_name : "a signal", fault_text(n),
		 n->fault_addr != BD_UNKNOWN ? bd_arena_printf(c->arena, " at 0x%" PRIx64, n->fault_addr) : "",
		 who, where(c, n, ff), t ? thread_label(c, t) : "unknown thread");
	add_evidence(c, f, n, t, ff);
	advise(c, f, n, t, ff);
	for (uint32_t i = 0; t && i < t->frame_count && i < 20; i++) {
		const bd_native_frame *x = &n->frames[t->frame_first + i];
		an_detail(c, f, "#%u %s%s%s", i, where(c, n, x), x->repeat > 1 ? " x " : "",
			  x->repeat > 1 ? bd_arena_printf(c->arena, "%u", x->repeat) : "");
	}
	for (uint32_t i = 0; i < n->nnotes && i < 4; i++)
		an_detail(c, f, "note: %s", n->notes[i]);
}
