/* The readers' entry points, as formats/open.c dispatches to them. Each reader fills
 * a fresh model (bd_model_new) from the source bytes in m->base / m->size; open.c
 * recognises the input by its content, picks the reader and finishes the model.
 * Readers include int.h (the model they build) and their own *_int.h, never another
 * reader's internals. */
#ifndef BD_READERS_H
#define BD_READERS_H

#include "int.h"

/* erl_crash.dump text (crashdump.c, cd_sections.c): 0 or BD_ENOMEM. A cut dump is
 * read as far as it goes (m->node.truncated). */
int bd_crashdump_read(bd_model *m, bd_error *err);
/* 0 when the text d is a crash dump we read (also one cut inside its first line),
 * else BD_EUNSUPPORTED with the reason (pre-R10B layout, encrypted, not a dump). */
int bd_crashdump_check(const char *d, uint64_t n, const char *name, bd_error *err);
/* Give a model whose tables came from elsewhere (the cache) the crash-dump reader's
 * lazy hooks (bd_proc_ext_get). */
void bd_crashdump_hooks(bd_model *m);

/* .bdump snapshot (snapshot.c). */
/* Does the input start with the snapshot magic? */
int bd_snapshot_is(const char *data, uint64_t size);
int bd_snapshot_read(bd_model *m, bd_error *err);

/* ELF core files (elfcore.c, native.c): the native-crash table of a core, resolved
 * with m->native_opts (NULL: defaults). Any ELF input goes here: one that is not a
 * core gets BD_EUNSUPPORTED with what it is. */
int bd_native_read_core(bd_model *m, bd_error *err);

#endif
