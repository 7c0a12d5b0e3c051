/* Fuzz target: native crashes. The ELF core reader (notes, mappings, the file table),
 * the unwinder (CFI of the objects the core names, frame pointers, stack scan), the
 * symbolizer, and the crash guard's NATIVE record (raw facts, resolved table), then
 * everything that reads the model. Three kinds of input:
 *  - an ELF core as it is ("\177ELF");
 *  - a .bdump as it is (a guard snapshot, framing and CRCs included);
 *  - otherwise a NATIVE record: a control byte (bit 0: the resolved table, else the
 *    guard's raw facts) and the payload, which this target frames, compresses and
 *    checksums into a valid .bdump, so that mutations reach the record's entries.
 * The replay build also converts a guard snapshot's NATIVE record into this form:
 * fuzz_core_replay --unframe in.bdump out.nat (to make seeds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "beamdump/container.h"
#include "beamdump/model.h"
#include "beamdump/native.h"
#include "elfobj.h"
#include "frame.h"
#include "walk.h"

enum { RAW = 1, TABLE = 2 }; /* NATIVE record instances (formats/native_int.h) */

static volatile size_t sink;

static void str(const char *s)
{
	if (s)
		sink += strlen(s);
}

/* What `beamdump core` and the report's native section read. */
static void walk_native(const bd_model *m)
{
	const bd_native *n = bd_model_native(m);
	if (!n)
		return;
	const char *ss[] = {n->source, n->signal_name, n->code_name, n->exe, n->cmdline,
			    n->perf_map, n->abort_message, n->partial_reason, bd_native_fault(n)};
	for (size_t i = 0; i < sizeof ss / sizeof ss[0]; i++)
		str(ss[i]);
	for (uint32_t i = 0; i < n->nnotes; i++)
		str(n->notes[i]);
	for (uint32_t i = 0; i < n->nobjects; i++) {
		const bd_native_object *o = &n->objects[i];
		str(o->path), str(o->file), str(o->build_id), str(o->debug_file), str(o->nif_module);
		str(bd_buildid_status_name(o->build_id_status));
	}
	for (uint32_t i = 0; i < n->nthreads; i++) {
		const bd_native_thread *t = &n->threads[i];
		str(t->name), str(t->stop_reason), str(t->nif), str(t->nif_mfa), str(t->nif_library);
		str(t->erlang_process), str(t->erlang_function), str(t->recent_nif);
		str(bd_thread_kind_name(t->kind));
		if ((uint64_t)t->frame_first + t->frame_count > n->nframes)
			abort(); /* the table promises its frames */
		for (uint32_t j = 0; j < t->frame_count; j++) {
			const bd_native_frame *f = &n->frames[t->frame_first + j];
			str(f->function), str(f->file), str(f->erlang);
			str(bd_frame_kind_name(f->kind)), str(bd_unwind_how_name(f->how));
			if (f->object >= 0 && (uint32_t)f->object >= n->nobjects)
				abort();
			if (f->object >= 0)
				str(n->objects[f->object].path);
		}
	}
	if (n->crashed >= 0 && (uint32_t)n->crashed >= n->nthreads)
		abort();
}

/* A NATIVE record framed into a .bdump: FILE, NATIVE, END, index, trailer. */
static void build(const uint8_t *data, size_t size, fz_buf *out)
{
	static const uint8_t file_hdr[20] = {'B', 'D', 'U', 'M', 'P', 0, BD_FORMAT_MAJOR, 0,
					     BD_FORMAT_MINOR, 0};
	fz_rec e[3] = {{.type = BD_REC_FILE},
		       {.type = BD_REC_NATIVE, .instance = size && (data[0] & 1) ? TABLE : RAW},
		       {.type = BD_REC_END}};
	fz_put_record(out, &e[0], file_hdr, sizeof file_hdr);
	fz_put_record(out, &e[1], size ? data + 1 : NULL, size ? size - 1 : 0);
	fz_put_record(out, &e[2], NULL, 0);
	fz_put_index(out, e, 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bd_model *m;
	bd_error err = {0};
	fz_buf b = {0};
	const uint8_t *in = data;
	size_t n = size;
	const char *name = "fuzz.core";
	static int cached;
	if (!cached) {
		/* The objects of this machine (libc and its debug file, beam.smp...) stay
		 * open across inputs, as for a batch of cores: loading their symbols, CFI
		 * and line tables again is most of a run otherwise. What is fuzzed is the
		 * core, not them; test_native checks the cache gives the same answers. */
		cached = 1;
		nat_obj_cache(32);
	}
	if (!(size >= 4 && !memcmp(data, "\177ELF", 4))) {
		name = "fuzz.bdump";
		if (!(size >= 4 && bd_get32(data) == BD_SKIP_MAGIC)) {
			build(data, size, &b);
			uint8_t *exact = realloc(b.p, b.len); /* exact size, as a file */
			b.p = exact ? exact : b.p;
			in = b.p;
			n = b.len;
		}
	}
	if (bd_model_open_mem(&m, in, n, name, &err) == 0) {
		walk_native(m);
		fz_walk(m);
		bd_model_free(m);
	}
	free(b.p);
	return 0;
}

#ifdef BD_FUZZ_UNFRAME
/* The guard's raw entries, each memory copy cut to its first MEM_SEED bytes (the
 * stack from the stack pointer up) and each JIT table to JIT_SEED: a seed of a few
 * KiB instead of a megabyte of stack keeps the target fast. */
enum { MEM_SEED = 4096, JIT_SEED = 1024 };

static void put_trimmed(const uint8_t *p, size_t len, FILE *out)
{
	for (size_t off = 0; off + 6 <= len;) {
		uint16_t tag = bd_get16(p + off);
		uint32_t l = bd_get32(p + off + 2);
		if (l > len - off - 6)
			break;
		uint32_t k = tag == BD_NAT_MEM && l > 8 + MEM_SEED ? 8 + MEM_SEED
			   : tag == BD_NAT_JIT && l > JIT_SEED	   ? JIT_SEED
								   : l;
		uint8_t h[6];
		bd_put16(h, tag);
		bd_put32(h + 2, k);
		fwrite(h, 1, 6, out);
		fwrite(p + off + 6, 1, k, out);
		off += 6 + (size_t)l;
	}
}

/* .bdump -> the first NATIVE record's payload in this target's form (the guard's raw
 * facts trimmed by put_trimmed). Returns 0, or 1 when there is none. */
int fz_unframe(const uint8_t *d, size_t size, FILE *out)
{
	for (size_t off = 0; off + BD_REC_FRAME <= size;) {
		const uint8_t *h = d + off, *b = h + 8;
		if (bd_get32(h) != BD_SKIP_MAGIC || bd_get32(h + 4) != BD_REC_HDR)
			break;
		uint32_t comp = bd_get32(b + BD_RH_COMPLEN);
		uint64_t raw = bd_get64(b + BD_RH_RAWLEN);
		if (off + BD_REC_FRAME + comp > size)
			break;
		if (bd_get16(b + BD_RH_TYPE) == BD_REC_NATIVE && raw < (64u << 20)) {
			uint8_t *p = malloc(raw ? raw : 1);
			size_t got = comp ? ZSTD_decompress(p, raw, h + BD_REC_FRAME, comp) : 0;
			if (ZSTD_isError(got))
				got = 0;
			int table = bd_get32(b + BD_RH_INSTANCE) == TABLE;
			fputc(table, out);
			if (table)
				fwrite(p, 1, got, out);
			else
				put_trimmed(p, got, out);
			free(p);
			return 0;
		}
		off += BD_REC_FRAME + comp;
	}
	return 1;
}
#endif
