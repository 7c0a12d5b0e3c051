/* beamdump core: a native crash (ELF core file, or the crash guard's snapshot) as a
 * report: the signal, the crashing thread first with every frame, then the other
 * threads grouped by kind, the NIF libraries, and what could not be known
 * (docs/native.md; JSON schema docs/schema/core.schema.json). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beamdump/native.h"
#include "cli.h"

enum { TOP_FRAMES = 3, OTHER_WIDTH = 110 };

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;
	return s ? s + 1 : p ? p : "?";
}

static const char *thread_label(const bd_native_thread *t, char *buf, size_t cap)
{
	const char *k = bd_thread_kind_name(t->kind);
	if (t->index >= 0 && t->kind != BD_TK_OTHER && t->kind != BD_TK_MAIN)
		snprintf(buf, cap, "%s %d", k, t->index);
	else
		snprintf(buf, cap, "%s", k);
	return buf;
}

static const char *kind_source(const bd_native_thread *t)
{
	switch (t->kind_src) {
	case BD_TKS_NAME: return "thread name";
	case BD_TKS_VM_TABLE: return "the VM's scheduler table";
	case BD_TKS_FRAMES: return "its frames, best-effort";
	case BD_TKS_ORDER: return "thread creation order, best-effort";
	default: return NULL;
	}
}

static const char *what_fault(const bd_native *n) { return bd_native_fault(n); }

/* The crashing thread's library frame is in a NIF library (not a driver). */
static int nif_is_lib(const bd_native *n, const bd_native_thread *t)
{
	int32_t o = n->frames[t->frame_first + (uint32_t)t->nif_frame].object;
	return o >= 0 && (uint32_t)o < n->nobjects && n->objects[o].is_nif && t->kind != BD_TK_OTHER;
}

/* The Erlang module of the crashing thread's NIF library, NULL unknown. */
static const char *nif_module(const bd_native *n, const bd_native_thread *t)
{
	if (t->nif_frame < 0)
		return NULL;
	int32_t o = n->frames[t->frame_first + (uint32_t)t->nif_frame].object;
	return o >= 0 && (uint32_t)o < n->nobjects ? n->objects[o].nif_module : NULL;
}

/* "fn+0x12 (file.c:42)" or "object+0x1234" or "JIT m:f/1" */
static void frame_text(const bd_native *n, const bd_native_frame *f, char *buf, size_t cap)
{
	const char *obj = f->object >= 0 ? base_name(n->objects[f->object].path) : NULL;
	int k;
	char sty[256];
	if (f->kind == BD_FK_JIT && f->erlang && !strstr(f->erlang, "::"))
		k = snprintf(buf, cap, "%s", style_label(f->erlang, sty, sizeof sty));
	else if (f->kind == BD_FK_JIT)
		k = snprintf(buf, cap, "%s", f->erlang ? f->erlang : "JIT code (Erlang)");
	else if (f->function && f->offset != BD_UNKNOWN)
		k = snprintf(buf, cap, "%s+0x%" PRIx64, f->function, f->offset);
	else if (f->function)
		k = snprintf(buf, cap, "%s", f->function);
	else if (obj)
		k = snprintf(buf, cap, "%s+0x%" PRIx64, obj,
			     f->pc - (n->objects[f->object].bias != BD_UNKNOWN ? n->objects[f->object].bias
									      : n->objects[f->object].start));
	else
		k = snprintf(buf, cap, "??");
	if (k < 0 || (size_t)k >= cap)
		return;
	if (f->file)
		k += snprintf(buf + k, cap - (size_t)k, " (%s:%u)", base_name(f->file), f->line);
	if ((size_t)k < cap && f->kind == BD_FK_NIF && f->erlang)
		snprintf(buf + k, cap - (size_t)k, " [NIF %s]", style_label(f->erlang, sty, sizeof sty));
}

static const char *frame_object(const bd_native *n, const bd_native_frame *f)
{
	return f->object >= 0 ? base_name(n->objects[f->object].path)
			      : f->kind == BD_FK_JIT ? "[JIT]" : "?";
}

static void print_frames(const bd_native *n, const bd_native_thread *t)
{
	/* On a terminal ($COLUMNS) the frame and object names are cut to fit, with a
	 * mark; into a pipe or a file every line is whole ("#N 0x<pc> %-60s object"). */
	static const tcol cols[] = {{NULL, 0, 0, 0, 2, 3, 0},
				    {NULL, 0, 0, 0, 1, 0, 0},
				    {NULL, 0, 16, 0, 1, 60, 0},
				    {NULL, 0, 8, 0, 1, 0, 0}};
	enum { NC = 4, CELL = 640 };
	char(*cell)[NC][CELL] = t->frame_count ? malloc(t->frame_count * sizeof *cell) : NULL;
	const char **cells = t->frame_count ? malloc(t->frame_count * NC * sizeof *cells) : NULL;
	for (uint32_t i = 0; cell && cells && i < t->frame_count; i++) {
		const bd_native_frame *f = &n->frames[t->frame_first + i];
		char txt[512];
		frame_text(n, f, txt, sizeof txt);
		snprintf(cell[i][0], CELL, "#%-2u", i);
		snprintf(cell[i][1], CELL, "0x%016" PRIx64, f->pc);
		snprintf(cell[i][2], CELL, "%s", out_txt(txt));
		snprintf(cell[i][3], CELL, "%s%s%s%s%s", out_txt(frame_object(n, f)),
			 f->how != BD_UNW_REGS && f->how != BD_UNW_CFI ? "  (" : "",
			 f->how != BD_UNW_REGS && f->how != BD_UNW_CFI ? bd_unwind_how_name(f->how) : "",
			 f->how != BD_UNW_REGS && f->how != BD_UNW_CFI ? ")" : "",
			 f->inlined ? "  (inlined)" : "");
		if (f->repeat > 1) {
			size_t l = strlen(cell[i][3]);
			snprintf(cell[i][3] + l, CELL - l, "  (x %u: recursion)", f->repeat);
		}
		for (size_t j = 0; j < NC; j++)
			cells[i * NC + j] = cell[i][j];
	}
	if (cell && cells)
		table_print(cols, NC, cells, t->frame_count);
	free(cell);
	free(cells);
	if (t->stop_reason)
		printf("  (unwind stopped: %s)\n", out_txt(t->stop_reason));
}

/* A short signature of a thread's stack for grouping: its first named frames. */
static void top_text(const bd_native *n, const bd_native_thread *t, char *buf, size_t cap)
{
	size_t k = 0;
	int shown = 0;
	buf[0] = 0;
	for (uint32_t i = 0; i < t->frame_count && shown < TOP_FRAMES && k < cap; i++) {
		const bd_native_frame *f = &n->frames[t->frame_first + i];
		char one[256];
		frame_text(n, f, one, sizeof one);
		char *plus = f->kind != BD_FK_JIT ? strstr(one, "+0x") : NULL;
		if (plus && f->function)
			*plus = 0;
		int w = snprintf(buf + k, cap - k, "%s%s", shown ? " < " : "", one);
		if (w < 0)
			break;
		k += (size_t)w;
		shown++;
	}
	if (!t->frame_count)
		snprintf(buf, cap, "(no frames%s%s)", t->stop_reason ? ": " : "",
			 t->stop_reason ? t->stop_reason : "");
}

static void print_others(const bd_native *n, int verbose)
{
	uint32_t others = n->nthreads - (n->crashed >= 0 ? 1 : 0);
	if (!others)
		return;
	printf("\nOther threads (%u), by kind:\n", others);
	uint8_t *done = calloc(n->nthreads, 1);
	if (!done)
		return;
	for (int kind = 0; kind < BD_TK__COUNT; kind++) {
		for (uint32_t i = 0; i < n->nthreads; i++) {
			const bd_native_thread *t = &n->threads[i];
			if (done[i] || (int32_t)i == n->crashed || t->kind != kind)
				continue;
			char top[1024], lab[64];
			top_text(n, t, top, sizeof top);
			/* Threads of the same kind with the same top frames: one line. */
			uint32_t same = 1, lo = t->index, hi = t->index;
			done[i] = 1;
			for (uint32_t j = i + 1; !verbose && j < n->nthreads; j++) {
				const bd_native_thread *u = &n->threads[j];
				char top2[1024];
				if (done[j] || (int32_t)j == n->crashed || u->kind != kind)
					continue;
				top_text(n, u, top2, sizeof top2);
				if (strcmp(top, top2))
					continue;
				done[j] = 1;
				same++;
				if (u->index >= 0 && (u->index < (int32_t)lo || lo == (uint32_t)-1))
					lo = (uint32_t)u->index;
				if (u->index > (int32_t)hi)
					hi = (uint32_t)u->index;
			}
			if (same > 1 && t->index >= 0)
				snprintf(lab, sizeof lab, "%s %u-%u (%u)", bd_thread_kind_name(t->kind), lo, hi, same);
			else if (same > 1)
				snprintf(lab, sizeof lab, "%s (%u)", bd_thread_kind_name(t->kind), same);
			else
				thread_label(t, lab, sizeof lab);
			/* on a terminal, the stack signature cut to what is left of the line */
			int cols = out_columns();
			size_t used = same > 1 ? 31 : 43;
			size_t w = cols > 0 ? ((size_t)cols > used + 12 ? (size_t)cols - used : 12) : OTHER_WIDTH;
			char cut[512];
			out_fit(out_txt(top), w < OTHER_WIDTH ? w : OTHER_WIDTH, cut, sizeof cut);
			if (same > 1)
				printf("  %-28s %s\n", lab, cut);
			else
				printf("  %-28s tid %-7u %s\n", lab, t->tid, cut);
			if (verbose) {
				print_frames(n, t);
			}
		}
	}
	free(done);
}

static void print_objects(const bd_native *n, int verbose)
{
	uint32_t nifs = 0, syms = 0, dbg = 0, bad = 0;
	for (uint32_t i = 0; i < n->nobjects; i++) {
		const bd_native_object *o = &n->objects[i];
		nifs += o->is_nif;
		syms += o->symbols > 0;
		dbg += o->debug_info;
		bad += o->build_id_status == BD_BID_MISMATCH || o->build_id_status == BD_BID_MISSING;
	}
	printf("\nObjects: %u mapped, %u with symbols, %u with debug info", n->nobjects, syms, dbg);
	if (bad)
		printf(", %u missing or different here", bad);
	printf("\n");
	for (uint32_t i = 0; i < n->nobjects; i++) {
		const bd_native_object *o = &n->objects[i];
		if (!verbose && !o->is_nif && o->build_id_status != BD_BID_MISMATCH)
			continue;
		printf("  %s%s  %s  build-id %s (%s)%s%s%s\n", o->is_nif ? "NIF " : "", out_txt(o->path),
		       o->nif_module ? out_txt(o->nif_module) : "", o->build_id ? out_txt(o->build_id) : "?",
		       bd_buildid_status_name(o->build_id_status),
		       o->debug_info ? ", debug info" : o->symbols == 2 ? ", symbols" : o->symbols ? ", dynamic symbols" : "",
		       o->debug_file ? " from " : "", o->debug_file ? out_txt(o->debug_file) : "");
	}
}

static void print_text(const bd_model *m, const bd_native *n, int verbose)
{
	const bd_node_info *ni = bd_model_node(m);
	char when[64] = "?";
	if (n->time != INT64_MIN) {
		time_t tt = (time_t)n->time;
		struct tm tm;
		if (gmtime_r(&tt, &tm))
			strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
	}
	const char *what = what_fault(n);
	printf("Native crash: %s", n->signal_name ? n->signal_name : "signal ?");
	if (n->code_name)
		printf(" (%s)", n->code_name);
	if (n->fault_addr != BD_UNKNOWN)
		printf(" at address 0x%" PRIx64, n->fault_addr);
	if (what)
		printf(": %s", what);
	printf("\n");
	if (n->abort_message)
		printf("Message: %s\n", out_txt(n->abort_message));
	if (n->fault_mapping && n->fault_addr != BD_UNKNOWN && n->fault_addr >= 4096 &&
	    (n->signal == 11 || n->signal == 7) && n->crashed >= 0 && n->threads[n->crashed].pc != n->fault_addr)
		printf("Address: 0x%" PRIx64 " is in %s\n", n->fault_addr, out_txt(n->fault_mapping));
	if (n->cxx_exception)
		printf("Exception: %s (uncaught: std::terminate)\n", out_txt(n->cxx_exception));
	printf("Process: %s pid %u, node %s, erts %s, %s %s\n", out_txt(base_name(n->exe)), n->pid,
	       ni->node_name ? out_txt(ni->node_name) : "?", ni->erts_version ? out_txt(ni->erts_version) : "?",
	       !strcmp(n->source ? n->source : "", "guard") ? "guard snapshot" : "core", when);
	if (n->cmdline) { /* one line of it on a terminal, 300 columns into a file */
		char cut[1024];
		int cols = out_columns();
		size_t w = cols > 9 ? (size_t)cols - 9 : 300;
		printf("Command: %s\n", out_fit(out_txt(n->cmdline), w, cut, sizeof cut));
	}
	if (n->crashed < 0) {
		printf("Crashing thread: unknown\n");
	} else {
		const bd_native_thread *t = &n->threads[n->crashed];
		char lab[64];
		printf("Thread:  %s, tid %u%s%s (kind %s%s)\n", thread_label(t, lab, sizeof lab), t->tid,
		       t->name ? ", name " : "", t->name ? out_txt(t->name) : "",
		       kind_source(t) ? "from " : "unknown", kind_source(t) ? kind_source(t) : "");
		char sty[512];
		if (t->nif_frame >= 0 && n->callback && strcmp(n->callback, "resource"))
			printf("Callback: %s, the %s callback of %s%s%s, run by erlang:load_nif/2 as the module "
			       "loads (no NIF call)\n", t->nif ? out_txt(t->nif) : "(no symbol)", n->callback,
			       out_txt(t->nif_library), nif_module(n, t) ? ", module " : "",
			       nif_module(n, t) ? out_txt(style_label(nif_module(n, t), sty, sizeof sty)) : "");
		else if (t->nif_frame >= 0 && n->callback)
			printf("Callback: %s in %s, called by the VM with no NIF on the stack: most likely a "
			       "resource destructor (run when the last reference is garbage collected) or a "
			       "resource stop/down callback (best-effort)\n",
			       t->nif ? out_txt(t->nif) : "(no symbol)", out_txt(t->nif_library));
		else if (t->nif_frame >= 0 && !t->nif_mfa && !t->frames_cut && nif_is_lib(n, t))
			printf("NIF:     %s in %s (not in the library's ErlNifFunc table: a function run "
			       "by enif_schedule_nif, or the table is unreadable)\n",
			       t->nif ? out_txt(t->nif) : "?", out_txt(t->nif_library));
		else if (t->nif_frame >= 0)
			printf("NIF:     %s%s%s in %s\n", t->nif_mfa ? out_txt(style_label(t->nif_mfa, sty, sizeof sty)) : "",
			       t->nif_mfa ? " -> C function " : "",
			       t->nif ? out_txt(t->nif) : t->nif_mfa ? "(no symbol: stripped)" : "?",
			       out_txt(t->nif_library));
		else if (t->recent_nif)
			printf("NIF:     none on the stack; last NIF run on this thread (stale frame, "
			       "best-effort): %s\n", out_txt(t->recent_nif));
		if (t->erlang_process || t->erlang_function)
			printf("Erlang:  %s%s%s%s (best-effort)\n",
			       t->erlang_process ? "process " : "", t->erlang_process ? out_txt(t->erlang_process) : "",
			       t->erlang_function ? (t->erlang_process ? ", in " : "in ") : "",
			       t->erlang_function ? out_txt(style_label(t->erlang_function, sty, sizeof sty)) : "");
		const char *api = t->frame_count && n->in_vm && t->nif_frame > 0 ? n->frames[t->frame_first].function : NULL;
		if (api && !strncmp(api, "enif_", 5))
			printf("Fault in: the VM's NIF API, %s, called by the NIF: a bad argument (a NULL or "
			       "dangling pointer, a term or env that is not valid there)\n", out_txt(api));
		else if (api)
			printf("Fault in: the emulator (%s), called by the NIF\n", out_txt(api));
		else
			printf("Fault in: %s\n", n->in_vm ? "the emulator (beam.smp) or JIT code" :
				   t->frame_count ? "native code outside the emulator" : "?");
		printf("\nCrashing thread %u (%s):\n", t->tid, thread_label(t, lab, sizeof lab));
		print_frames(n, t);
	}
	print_others(n, verbose);
	print_objects(n, verbose);
	if (n->nnotes) {
		printf("\nNotes:\n");
		for (uint32_t i = 0; i < n->nnotes; i++)
			printf("  - %s\n", out_txt(n->notes[i]));
	}
}

/* ---- JSON (docs/schema/core.schema.json) ---- */
static void jw_hex(jw *w, const char *k, uint64_t v)
{
	char b[24];
	jw_key(w, k);
	if (v == BD_UNKNOWN) {
		jw_null(w);
		return;
	}
	snprintf(b, sizeof b, "0x%" PRIx64, v);
	jw_str(w, b);
}

static void json_frame(jw *w, const bd_native *n, const bd_native_frame *f)
{
	jw_obj(w);
	jw_hex(w, "pc", f->pc);
	jw_hex(w, "sp", f->sp);
	jw_kstr(w, "how", bd_unwind_how_name(f->how));
	jw_kstr(w, "kind", bd_frame_kind_name(f->kind));
	jw_kstr(w, "object", f->object >= 0 ? n->objects[f->object].path : NULL);
	jw_kstr(w, "function", f->function);
	jw_ku64(w, "offset", f->offset);
	jw_kstr(w, "file", f->file);
	jw_key(w, "line");
	if (f->line)
		jw_u64(w, f->line);
	else
		jw_null(w);
	jw_kstr(w, "erlang", f->erlang);
	jw_ku64(w, "repeat", f->repeat);
	jw_key(w, "inlined");
	jw_bool(w, f->inlined);
	jw_obj_end(w);
}

static void json_thread(jw *w, const bd_native *n, const bd_native_thread *t)
{
	jw_obj(w);
	jw_ku64(w, "tid", t->tid);
	jw_kstr(w, "kind", bd_thread_kind_name(t->kind));
	jw_kstr(w, "kind_source", t->kind_src == BD_TKS_NAME ? "name" : t->kind_src == BD_TKS_VM_TABLE ? "vm_table" :
				   t->kind_src == BD_TKS_FRAMES ? "frames" : t->kind_src == BD_TKS_ORDER ? "order" : NULL);
	jw_key(w, "index");
	if (t->index >= 0)
		jw_i64(w, t->index);
	else
		jw_null(w);
	jw_kstr(w, "name", t->name);
	jw_key(w, "crashed");
	jw_bool(w, t->crashed);
	char st[2] = {t->state, 0};
	jw_kstr(w, "state", t->state ? st : NULL);
	jw_hex(w, "pc", t->pc);
	jw_hex(w, "sp", t->sp);
	jw_key(w, "nif");
	if (t->nif_frame >= 0) {
		jw_obj(w);
		jw_kstr(w, "function", t->nif);
		jw_kstr(w, "mfa", t->nif_mfa);
		jw_kstr(w, "library", t->nif_library);
		jw_ku64(w, "frame", (uint64_t)t->nif_frame);
		jw_obj_end(w);
	} else {
		jw_null(w);
	}
	jw_kstr(w, "recent_nif", t->recent_nif);
	jw_kstr(w, "erlang_process", t->erlang_process);
	jw_kstr(w, "erlang_function", t->erlang_function);
	jw_kstr(w, "stop_reason", t->stop_reason);
	jw_key(w, "frames");
	jw_arr(w);
	for (uint32_t i = 0; i < t->frame_count; i++)
		json_frame(w, n, &n->frames[t->frame_first + i]);
	jw_arr_end(w);
	jw_obj_end(w);
}

static void print_json(const bd_model *m, const bd_native *n)
{
	const bd_node_info *ni = bd_model_node(m);
	jw w;
	jw_init(&w, stdout);
	jw_obj(&w);
	jw_kstr(&w, "schema", "beamdump.core/1");
	jw_kstr(&w, "source", n->source);
	jw_ku64(&w, "pid", n->pid);
	jw_kstr(&w, "exe", n->exe);
	jw_kstr(&w, "cmdline", n->cmdline);
	jw_kstr(&w, "node", ni->node_name);
	jw_kstr(&w, "erts_version", ni->erts_version);
	jw_key(&w, "time");
	if (n->time != INT64_MIN)
		jw_i64(&w, n->time);
	else
		jw_null(&w);
	jw_key(&w, "signal");
	jw_obj(&w);
	jw_key(&w, "number");
	if (n->signal)
		jw_i64(&w, n->signal);
	else
		jw_null(&w);
	jw_kstr(&w, "name", n->signal_name);
	jw_key(&w, "code");
	if (n->si_code != INT32_MIN)
		jw_i64(&w, n->si_code);
	else
		jw_null(&w);
	jw_kstr(&w, "code_name", n->code_name);
	jw_hex(&w, "fault_address", n->fault_addr);
	jw_key(&w, "sender_pid");
	if (n->sender_pid)
		jw_u64(&w, n->sender_pid);
	else
		jw_null(&w);
	jw_kstr(&w, "what", what_fault(n));
	jw_kstr(&w, "abort_message", n->abort_message);
	jw_kstr(&w, "fault_mapping", n->fault_mapping);
	jw_kstr(&w, "cxx_exception", n->cxx_exception);
	jw_obj_end(&w);
	jw_kstr(&w, "callback", n->callback);
	jw_key(&w, "stack_overflow");
	jw_bool(&w, n->stack_overflow);
	jw_key(&w, "in_vm");
	jw_bool(&w, n->in_vm);
	jw_key(&w, "crashed_thread");
	if (n->crashed >= 0)
		jw_u64(&w, (uint64_t)n->crashed);
	else
		jw_null(&w);
	jw_key(&w, "threads");
	jw_arr(&w);
	/* The crashing thread first, as in the text. */
	if (n->crashed >= 0)
		json_thread(&w, n, &n->threads[n->crashed]);
	for (uint32_t i = 0; i < n->nthreads; i++)
		if ((int32_t)i != n->crashed)
			json_thread(&w, n, &n->threads[i]);
	jw_arr_end(&w);
	jw_key(&w, "objects");
	jw_arr(&w);
	for (uint32_t i = 0; i < n->nobjects; i++) {
		const bd_native_object *o = &n->objects[i];
		jw_obj(&w);
		jw_kstr(&w, "path", o->path);
		jw_kstr(&w, "file", o->file);
		jw_hex(&w, "start", o->start);
		jw_hex(&w, "end", o->end);
		jw_hex(&w, "bias", o->bias);
		jw_kstr(&w, "build_id", o->build_id);
		jw_kstr(&w, "build_id_status", bd_buildid_status_name(o->build_id_status));
		jw_kstr(&w, "symbols", o->symbols == 2 ? "symtab" : o->symbols ? "dynsym" : NULL);
		jw_key(&w, "debug_info");
		jw_bool(&w, o->debug_info);
		jw_kstr(&w, "debug_file", o->debug_file);
		jw_key(&w, "nif");
		jw_bool(&w, o->is_nif);
		jw_kstr(&w, "nif_module", o->nif_module);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_kstr(&w, "perf_map", n->perf_map);
	jw_key(&w, "notes");
	jw_arr(&w);
	for (uint32_t i = 0; i < n->nnotes; i++)
		jw_str(&w, n->notes[i]);
	jw_arr_end(&w);
	jw_key(&w, "partial");
	jw_bool(&w, n->partial);
	jw_obj_end(&w);
	jw_end(&w);
}

static const cli_opt core_opts[] = {
	{"exe", 0, CLI_VALUE, "PATH", "the executable (beam.smp) when it is not where the core says"},
	{"sysroot", 0, CLI_VALUE, "DIR", "prefix for every object and debug path (a core from elsewhere)"},
	{"perf-map", 0, CLI_VALUE, "FILE", "JIT names (default /tmp/perf-<pid>.map, written by +JPperf map)"},
	{"debug-dir", 0, CLI_VALUE, "DIR", "separate debug files besides /usr/lib/debug"},
	CLI_OPT_VERBOSE("every frame of every thread, and every mapped object"),
	CLI_OPT_JSON,
	CLI_OPT_STYLE,
	CLI_END};

const cli_cmd core_cmd = {
	"core", cmd_core, "<core>", 1, 1, core_opts,
	"A native crash: signal, threads and their frames, the NIF, from an ELF core or a guard snapshot.",
	"<core>: an ELF core file of beam.smp, or a snapshot of the crash guard\n"
	"(libbeamdump_guard.so); objects are read from this machine (docs/native.md).\n",
	"0 ok, 2 usage, 3 not a core or unreadable, 4 partial answer (cut core, missing or\n"
	"            different objects: see the notes)"};

int cmd_core(const opts *o)
{
	bd_core_opts co = BD_CORE_OPTS_INIT;
	co.exe = opt_str(o, "exe");
	co.sysroot = opt_str(o, "sysroot");
	co.perf_map = opt_str(o, "perf-map");
	co.debug_dir = opt_str(o, "debug-dir");
	int json = o->json, verbose = o->verbose;
	const char *path = o->args[o->nargs - 1];
	bd_model *m;
	bd_error err = {0};
	if (bd_model_open_native(&m, path, &co, &err)) {
		fprintf(stderr, "beamdump: %s\n", out_txt(err.msg));
		return EXIT_UNREADABLE;
	}
	const bd_native *n = bd_model_native(m);
	if (!n) {
		fprintf(stderr, "beamdump: %s: not a native crash (an ELF core file or a crash guard "
				"snapshot); for crash dumps use beamdump analyze\n", path);
		bd_model_free(m);
		return EXIT_UNREADABLE;
	}
	cli_style(o, m);
	if (json)
		print_json(m, n);
	else
		print_text(m, n, verbose);
	int rc = EXIT_OK;
	if (n->partial) {
		fprintf(stderr, "beamdump: partial answer: %s\n",
			n->partial_reason ? out_txt(n->partial_reason) : "see the notes");
		rc = EXIT_PARTIAL;
	}
	bd_model_free(m);
	return rc;
}
