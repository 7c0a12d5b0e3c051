/* The native crash section of the report: when the input is an ELF core or the crash
 * guard's snapshot (a BEAM that died by a signal, without an erl_crash.dump), the
 * signal and fault, the crashing thread's frames with the NIF that led there, the
 * other threads by kind, and the mapped objects with their build-id checks. It
 * renders the model's native-crash table (include/beamdump/native.h). */
#include <string.h>

#include "beamdump/util.h"
#include "html.h"

#if __has_include("beamdump/native.h")
#include "beamdump/native.h"

enum { MAX_THREADS = 64, MAX_FRAMES_CRASHED = 200, MAX_FRAMES_OTHER = 40, MAX_OBJECTS = 300 };

static void fact(hw *w, const char *label, const char *value)
{
	if (!value || !*value)
		return;
	hw_fmt(w, "<div><span>%s</span>", label);
	hw_textcut(w, value, 1000);
	hw_raw(w, "</div>\n");
}

static void fact_hex(hw *w, const char *label, uint64_t v)
{
	if (v == BD_UNKNOWN)
		return;
	hw_fmt(w, "<div><span>%s</span><code>0x%llx</code></div>\n", label, (unsigned long long)v);
}

static const char *object_name(const bd_native *n, int32_t i)
{
	if (i < 0 || (uint32_t)i >= n->nobjects || !n->objects[i].path)
		return NULL;
	const char *p = n->objects[i].path, *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static void frames(hw *w, const bd_native *n, const bd_native_thread *t, uint32_t max)
{
	hw_raw(w, "<table class=\"stack\"><thead><tr><th class=\"num\">#</th><th>Address</th><th>Function</th>"
		  "<th>Source</th><th>Erlang</th><th>Object</th><th>Found by</th></tr></thead><tbody>\n");
	uint32_t shown = 0;
	for (uint32_t i = 0; i < t->frame_count && t->frame_first + i < n->nframes && shown < max; i++, shown++) {
		const bd_native_frame *f = &n->frames[t->frame_first + i];
		int nif = f->kind == BD_FK_NIF || (int32_t)i == t->nif_frame;
		hw_fmt(w, "<tr%s><td class=\"num\">%u</td><td class=\"mono nw\">0x%llx</td><td class=\"mono\">",
		       nif ? " class=\"culprit\"" : "", i, (unsigned long long)f->pc);
		if (f->function) {
			hw_text(w, f->function);
			if (f->offset != BD_UNKNOWN)
				hw_fmt(w, "+0x%llx", (unsigned long long)f->offset);
		} else {
			hw_raw(w, "<span class=\"muted\">?</span>");
		}
		if (f->inlined)
			hw_raw(w, " <span class=\"badge\">inlined</span>");
		if (f->repeat > 1)
			hw_fmt(w, " <span class=\"badge\">\xc3\x97%u</span>", f->repeat);
		hw_raw(w, "</td><td class=\"mono\">");
		if (f->file) {
			hw_textcut(w, f->file, 200);
			if (f->line)
				hw_fmt(w, ":%u", f->line);
		}
		hw_raw(w, "</td><td class=\"mono\">");
		hw_text(w, f->erlang);
		if (nif)
			hw_raw(w, " <span class=\"badge hot\">NIF</span>");
		hw_fmt(w, "</td><td class=\"mono\">%s", f->kind == BD_FK_JIT ? "[JIT] " : "");
		hw_text(w, object_name(n, f->object));
		hw_fmt(w, "</td><td class=\"muted\">%s</td></tr>\n", bd_unwind_how_name((bd_unwind_how)f->how));
	}
	hw_raw(w, "</tbody></table>\n");
	if (t->frame_count > shown)
		hw_fmt(w, "<p class=\"note\">%u more frames not shown.</p>\n", t->frame_count - shown);
	if (t->stop_reason) {
		hw_raw(w, "<p class=\"note\">The unwind stopped early: ");
		hw_textcut(w, t->stop_reason, 300);
		hw_raw(w, "</p>\n");
	}
}

static void thread_title(hw *w, const bd_native_thread *t)
{
	hw_text(w, bd_thread_kind_name((bd_thread_kind)t->kind));
	if (t->index >= 0)
		hw_fmt(w, " %d", t->index);
	hw_fmt(w, ", tid %u", t->tid);
	if (t->name) {
		hw_raw(w, " (");
		hw_textcut(w, t->name, 60);
		hw_raw(w, ")");
	}
}

static void crashed(report *r, const bd_native *n, const bd_native_thread *t)
{
	hw *w = r->w;
	hw_raw(w, "<h3>Crashing thread: ");
	thread_title(w, t);
	hw_raw(w, "</h3>\n<div class=\"facts small\">");
	if (t->nif || t->nif_mfa) {
		hw_raw(w, "<div><span>NIF</span><code>");
		hw_text(w, t->nif_mfa ? t->nif_mfa : "?");
		hw_raw(w, "</code> \xe2\x86\x92 C function <code>");
		hw_text(w, t->nif ? t->nif : "?");
		hw_raw(w, "</code></div>");
	}
	fact(w, "NIF library", t->nif_library);
	fact(w, "Entered by", !n->callback ? NULL
			      : !strcmp(n->callback, "resource")
				      ? "the VM, no NIF on the stack: most likely a resource destructor (best-effort)"
			      : !strcmp(n->callback, "load") ? "the library's load callback (erlang:load_nif/2)"
			      : !strcmp(n->callback, "upgrade") ? "the library's upgrade callback (erlang:load_nif/2)"
			      : !strcmp(n->callback, "reload") ? "the library's reload callback"
							       : "the library's unload callback");
	fact(w, "Erlang process (best-effort)", t->erlang_process);
	fact(w, "Erlang function", t->erlang_function);
	fact(w, "Last NIF it ran (best-effort)", t->recent_nif);
	hw_raw(w, "</div>\n");
	frames(w, n, t, MAX_FRAMES_CRASHED);
}

static void others(report *r, const bd_native *n)
{
	hw *w = r->w;
	if (n->nthreads < 2)
		return;
	hw_fmt(w, "<h3>Other threads (%u)</h3>\n", n->nthreads - 1);
	uint32_t shown = 0;
	for (uint32_t i = 0; i < n->nthreads && shown < MAX_THREADS; i++) {
		const bd_native_thread *t = &n->threads[i];
		if ((int32_t)i == n->crashed)
			continue;
		shown++;
		hw_raw(w, "<details><summary>");
		thread_title(w, t);
		/* the innermost named frame says what it was doing */
		for (uint32_t k = 0; k < t->frame_count && t->frame_first + k < n->nframes; k++) {
			const bd_native_frame *f = &n->frames[t->frame_first + k];
			if (f->function || f->erlang) {
				hw_raw(w, " <span class=\"muted\">in</span> <code>");
				hw_textcut(w, f->erlang ? f->erlang : f->function, 120);
				hw_raw(w, "</code>");
				break;
			}
		}
		hw_raw(w, "</summary>\n");
		frames(w, n, t, MAX_FRAMES_OTHER);
		hw_raw(w, "</details>\n");
	}
	if (n->nthreads - 1 > shown)
		hw_fmt(w, "<p class=\"note\">%u more threads not shown.</p>\n", n->nthreads - 1 - shown);
}

static void objects(report *r, const bd_native *n)
{
	hw *w = r->w;
	if (!n->nobjects)
		return;
	hw_fmt(w, "<details><summary>Mapped objects (%u)</summary>\n<table class=\"sortable\"><thead><tr>"
		  "<th>Path</th><th>Build-id</th><th>Symbols</th><th>Debug info</th><th>NIF module</th>"
		  "</tr></thead><tbody>\n", n->nobjects);
	for (uint32_t i = 0; i < n->nobjects && i < MAX_OBJECTS; i++) {
		const bd_native_object *o = &n->objects[i];
		int bad = o->build_id_status == BD_BID_MISMATCH || o->build_id_status == BD_BID_MISSING;
		hw_fmt(w, "<tr%s><td class=\"mono\">", bad ? " class=\"culprit\"" : "");
		hw_textcut(w, o->path, 300);
		hw_fmt(w, "</td><td>%s</td><td>%s</td><td>%s</td><td class=\"mono\">",
		       bd_buildid_status_name((bd_buildid_status)o->build_id_status),
		       o->symbols == 2 ? "symtab" : o->symbols == 1 ? "dynsym" : "none",
		       o->debug_info ? "yes" : "no");
		hw_text(w, o->nif_module);
		hw_raw(w, "</td></tr>\n");
	}
	hw_raw(w, "</tbody></table>");
	if (n->nobjects > MAX_OBJECTS)
		hw_fmt(w, "<p class=\"note\">%u more objects not shown.</p>", n->nobjects - MAX_OBJECTS);
	hw_raw(w, "</details>\n");
}

int html_has_native(const report *r) { return bd_model_native(r->m) != NULL; }

int html_native(report *r)
{
	const bd_native *n = bd_model_native(r->m);
	hw *w = r->w;
	char t[64];
	if (!n)
		return 0;
	hw_raw(w, "<section id=\"native\">\n<h2>Native crash</h2>\n<div class=\"facts\">\n");
	snprintf(t, sizeof t, "%s (%d)", n->signal_name ? n->signal_name : "?", n->signal);
	fact(w, "Signal", t);
	fact(w, "Code", n->code_name);
	fact_hex(w, "Fault address", n->fault_addr);
	if (n->sender_pid) {
		snprintf(t, sizeof t, "pid %u", n->sender_pid);
		fact(w, "Sent by", t);
	}
	fact(w, "Fault", bd_native_fault(n));
	fact(w, "Address is in", n->fault_mapping);
	fact(w, "C++ exception", n->cxx_exception);
	fact(w, "Where", n->stack_overflow ? "stack overflow (the fault is at the end of the thread's stack)"
			 : n->in_vm ? "inside the emulator (beam.smp)" : "native code outside the emulator");
	snprintf(t, sizeof t, "%u", n->pid);
	fact(w, "OS process", t);
	fact(w, "Read from", n->source && !strcmp(n->source, "guard") ? "the crash guard's snapshot" : "an ELF core file");
	fact(w, "Executable", n->exe);
	if (n->cmdline) {
		hw_raw(w, "<div style=\"grid-column:1/-1\"><span>Command</span><code>");
		hw_textcut(w, n->cmdline, 2000);
		hw_raw(w, "</code></div>\n");
	}
	hw_raw(w, "</div>\n");
	if (n->partial || n->nnotes) {
		hw_raw(w, "<div class=\"cut\"><b>What could not be known.</b><ul>");
		for (uint32_t i = 0; i < n->nnotes && i < 50; i++) {
			hw_raw(w, "<li>");
			hw_textcut(w, n->notes[i], 500);
			hw_raw(w, "</li>");
		}
		hw_raw(w, "</ul></div>\n");
	}
	if (n->crashed >= 0 && (uint32_t)n->crashed < n->nthreads)
		crashed(r, n, &n->threads[n->crashed]);
	else
		hw_raw(w, "<p class=\"note\">The crashing thread is not known.</p>\n");
	others(r, n);
	objects(r, n);
	hw_raw(w, "</section>\n");
	return 1;
}

#else /* no native-crash table in this build */
int html_has_native(const report *r)
{
	(void)r;
	return 0;
}

int html_native(report *r)
{
	(void)r;
	return 0;
}
#endif
