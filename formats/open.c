/* Opening an input: the source bytes (file, pipe, or decompressed .zst), recognised by
 * their content and handed to the reader that knows them; the model is then finished
 * (lookups, counts). The readers do not know each other; only this file does. */
#include <string.h>

#include "readers.h"

static int read_text(bd_model *m, bd_error *err)
{
	int rc = bd_crashdump_check(m->base, m->size, m->src->name, err);
	if (rc)
		return rc;
	m->node.source = "erl_crash.dump";
	rc = bd_crashdump_read(m, err);
	if (rc)
		return rc;
	if (m->src->cut_reason[0] && m->node.truncated && !m->node.abort_reason)
		m->node.abort_reason = bd_model_intern(m, m->src->cut_reason,
						       strlen(m->src->cut_reason));
	m->node.crlf = m->src->crlf;
	return 0;
}

int bd_model_open_ex(bd_model **out, const char *path, const bd_open_opts *o, bd_error *err)
{
	*out = NULL;
	if (o && o->version != BD_OPEN_OPTS_VERSION)
		return bd_error_set(err, BD_EUSAGE, 0, "bd_model_open_ex: options version %u, expected %u",
				    o->version, BD_OPEN_OPTS_VERSION);
	bd_model *m = bd_model_new();
	if (!m)
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	int rc = bd_source_open(&m->src, path, err);
	if (!rc) {
		m->base = m->src->data;
		m->size = m->src->size;
		m->node.input_size = m->size;
		if (bd_snapshot_is(m->base, m->size))
			rc = bd_snapshot_read(m, err);
		else
			rc = read_text(m, err);
	}
	if (!rc)
		rc = bd_model_finish(m, err);
	if (rc) {
		bd_model_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int bd_model_open(bd_model **out, const char *path, bd_error *err)
{
	return bd_model_open_ex(out, path, NULL, err);
}
