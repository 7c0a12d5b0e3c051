/* beamdump convert: any input -> .bdump snapshot, through the async-signal-safe writer.
 * Streaming: the model holds rows and spans, records are built one at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "beamdump/dump.h"
#include "beamdump/snapshot.h"
#include "cli.h"

static int sink(void *ctx, const bd_record *r, const void *payload, size_t len)
{
	return bd_writer_record(ctx, r, payload, len);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int cmd_convert(const opts *o)
{
	if (!o->out) {
		fprintf(stderr, "beamdump convert: -o FILE is required (the snapshot to write)\n");
		fprintf(stderr, "usage: beamdump %s\n", cli_synopsis(o->cmd));
		return EXIT_USAGE;
	}
	struct stat in_st, out_st;
	if (stat(o->args[0], &in_st) == 0 && stat(o->out, &out_st) == 0 &&
	    in_st.st_dev == out_st.st_dev && in_st.st_ino == out_st.st_ino) {
		fprintf(stderr, "beamdump convert: -o %s is the input itself: choose another file\n",
			o->out);
		return EXIT_USAGE;
	}
	double t0 = now();
	bd_model *m;
	int rc = open_input(o, &m);
	if (rc)
		return rc;
	const bd_node_info *ni = bd_model_node(m);
	bd_writer_opts wo = BD_WRITER_OPTS_INIT;
	bd_snapshot_opts so = BD_SNAPSHOT_OPTS_INIT;
	wo.level = 3;
	wo.max_record = so.max_record;
	so.redact = opt_count(o, "redact") > 0;
	wo.producer = so.redact ? "beamdump convert --redact" : "beamdump convert";
	/* ~1 record per 256 KiB of input, plus tables: far more than needed. The index is
	 * allocated up front, and a snapshot states its dump's size (it may lie): at most
	 * 2^20 records (a 256 GB dump), 84 MB. */
	uint64_t est = ni->input_size / (256u * 1024) + 4096;
	wo.max_records = est > (1u << 20) ? 1u << 20 : (uint32_t)est;
	size_t need = bd_writer_size(&wo);
	void *arena = need ? malloc(need) : NULL;
	bd_writer *w = NULL;
	bd_error err = {0};
	if (!arena || bd_writer_init(&w, arena, need, o->out, &wo, &err)) {
		fprintf(stderr, "beamdump convert: cannot write %s: %s\n", o->out,
			arena ? err_reason(&err) : "out of memory");
		free(arena);
		bd_model_free(m);
		return EXIT_UNREADABLE;
	}
	double t1 = now();
	bd_snapshot_stats st;
	rc = bd_snapshot_write(m, sink, w, &so, &st, &err);
	if (rc && rc != BD_EBUDGET) {
		bd_error werr = {0};
		if (bd_writer_error(w, &werr))
			err = werr;
		bd_writer_discard(w); /* no half file left on a full disk */
		if (err.sys_errno)
			fprintf(stderr, "beamdump convert: cannot write %s: %s\n", o->out,
				strerror(err.sys_errno));
		else
			fprintf(stderr, "beamdump convert: %s\n", err.msg);
		free(arena);
		bd_model_free(m);
		return EXIT_UNREADABLE;
	}
	rc = bd_writer_finish(w);
	if (rc) {
		bd_writer_error(w, &err);
		bd_writer_discard(w);
		fprintf(stderr, "beamdump convert: cannot write %s: %s\n", o->out, err_reason(&err));
		free(arena);
		bd_model_free(m);
		return EXIT_UNREADABLE;
	}
	double t2 = now();
	uint64_t out = bd_writer_bytes(w);
	fprintf(stderr,
		"beamdump: wrote %s: %llu bytes (%.2f %% of %llu), %llu records; read %.2f s, "
		"convert %.2f s (%.0f MB/s); %llu of %llu term lines verbatim\n",
		o->out, (unsigned long long)out,
		ni->input_size ? 100.0 * (double)out / (double)ni->input_size : 0.0,
		(unsigned long long)ni->input_size, (unsigned long long)st.records, t1 - t0, t2 - t1,
		(double)ni->input_size / 1e6 / (t2 - t0), (unsigned long long)st.raw_lines,
		(unsigned long long)st.lines);
	free(arena);
	rc = partial_notice(m);
	bd_model_free(m);
	return rc;
}
