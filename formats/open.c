/* Opening an input: the source bytes (file, pipe, or decompressed .zst), recognised by
 * their content and handed to the reader that knows them; the model is then finished
 * (lookups, counts). The readers do not know each other; only this file does. */
#include <string.h>

#include "readers.h"

/* Text crash dumps: what the first bytes say, before the reader runs. */
static int check_text(const bd_model *m, bd_error *err)
{
	const char *d = m->base, *name = m->src->name;
	uint64_t n = m->size;
	static const char magic[] = "=erl_crash_dump:";
	if (n >= 4 && memcmp(d, "ENC0", 4) == 0)
		return bd_error_set(err, BD_EUNSUPPORTED, 0,
				    "%s: encrypted crash dump (ENC0): decrypt it first", name);
	if (n >= 19 && memcmp(d, "<Erlang crash dump>", 19) == 0)
		return bd_error_set(err, BD_EUNSUPPORTED, 0,
				    "%s: pre-R10B crash dump format is not supported", name);
	if (n == 0)
		return bd_error_set(err, BD_EUNSUPPORTED, 0, "%s: empty file", name);
	if (n < sizeof magic - 1 || memcmp(d, magic, sizeof magic - 1) != 0)
		return bd_error_set(err, BD_EUNSUPPORTED, 0,
				    "%s: not an Erlang crash dump (no '=erl_crash_dump:' at offset 0)",
				    name);
	return 0;
}

static int read_text(bd_model *m, bd_error *err)
{
	int rc = check_text(m, err);
	if (rc)
		return rc;
	m->node.source = "erl_crash.dump";
	rc = bd_crashdump_read(m, err);
	if (rc)
		return rc;
	if (m->src->stream_cut && m->node.truncated && !m->node.abort_reason)
		m->node.abort_reason = "compressed input cut short (zstd frame incomplete)";
	if ((m->node.dump_major > 0 || m->node.dump_minor > 5) && !m->node.skipped_first)
		/* Newer than we know: read on, but say so. */
		m->node.skipped_first = "dump version newer than 0.5: fields may be missed";
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
