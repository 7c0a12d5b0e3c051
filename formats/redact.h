/* Term text rewritten for sharing (formats/redact.c): used by the snapshot writer
 * when bd_snapshot_opts.redact is set. */
#ifndef BD_REDACT_H
#define BD_REDACT_H

#include <stddef.h>

#include "int.h"

/* A term section (heap, stack, messages, dictionary, persistent terms; literals are
 * heap lines) with binaries and strings blanked and the cookie hidden. hex: the
 * dump writes binaries as hex (version < 0.5). Returns malloc'ed text (*outlen bytes,
 * NUL after) or NULL when out of memory. */
char *bd_redact_terms(bd_ts_kind kind, const char *t, size_t len, int hex, size_t *outlen);
/* The =atoms section with the cookie atom shown as '<cookie>'. */
char *bd_redact_atoms(const char *t, size_t len, size_t *outlen);

#endif
