/* Texts beamdump never prints: the distribution cookie of the node a dump comes from
 * (and of the node a capture connects to). Printers replace them by '<cookie>'.
 *
 * The set is process-global because term printing takes no model; it is filled when
 * a model is first asked for terms or atoms, and by capture. Only a length and a
 * 64-bit hash are kept per text, so no copy of a cookie stays in memory. Thread-safe. */
#ifndef BEAMDUMP_SECRET_H
#define BEAMDUMP_SECRET_H

#include <stddef.h>

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What is printed instead of a cookie. */
#define BD_SECRET_SHOWN "<cookie>"

/* Add a text (bytes s[0..n)) to the set. No allocation; at most 64 texts are kept. */
void bd_secret_add(const void *s, size_t n);
/* 1 when s[0..n) is a cookie: one of the set, or an atom-sized text of 20 capital
 * letters, the shape of every cookie the VM generates (~/.erlang.cookie). */
int bd_secret_is(const void *s, size_t n);
/* The same for an atom as the VM prints it ('QUOTED' or bare). */
int bd_secret_is_atom_text(const char *s, size_t n);
/* Find the cookies in the data of m (auth's state, init's -setcookie argument) and
 * add them; once per model, later calls return at once. Opens two small heaps. */
void bd_secret_learn(const bd_model *m);

#ifdef __cplusplus
}
#endif
#endif
