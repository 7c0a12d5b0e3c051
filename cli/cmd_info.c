/* beamdump info: what the dump is, why it was written, how complete it is. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void info_json(const bd_model *m)
{
	const bd_node_info *n = bd_model_node(m);
	const bd_limits *l = bd_model_limits(m);
	size_t k;
	jw w;
	jw_init(&w, stdout);
	jw_obj(&w);
	int live = is_live(m);
	jw_kstr(&w, "source", n->source);
	jw_kstr(&w, "dump_version", live ? NULL : n->dump_version);
	jw_kstr(&w, "created", n->created);
	jw_key(&w, "created_unix");
	if (n->created_unix == INT64_MIN)
		jw_null(&w);
	else
		jw_i64(&w, n->created_unix);
	jw_kstr(&w, "slogan", n->slogan);
	jw_kstr(&w, "system_version", n->system_version);
	jw_kstr(&w, "otp_release", n->otp_release);
	jw_kstr(&w, "erts_version", n->erts_version);
	jw_key(&w, "word_size");
	jw_u64(&w, n->word_size ? (uint64_t)n->word_size : BD_UNKNOWN);
	jw_kstr(&w, "node", n->node_name);
	jw_kstr(&w, "calling_thread", n->calling_thread);
	jw_kstr(&w, "taints", n->taints);
	jw_kstr(&w, "compiled", n->compiled);
	jw_kstr(&w, "unknown_sections", n->unknown_sections);
	static const char *kinds[] = {"visible", "hidden", "not_connected"};
	const bd_dist *d = bd_model_dists(m, &k);
	jw_key(&w, "distribution");
	jw_arr(&w);
	for (size_t i = 0; i < k; i++) {
		jw_obj(&w);
		jw_kstr(&w, "name", d[i].name);
		jw_kstr(&w, "kind", kinds[d[i].kind]);
		jw_ku64(&w, "channel", d[i].channel);
		jw_kstr(&w, "controller", d[i].controller);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_ku64(&w, "input_bytes", n->input_size);
	jw_key(&w, "counts");
	jw_obj(&w);
	jw_ku64(&w, "processes", l->procs);
	jw_ku64(&w, "ports", l->ports);
	jw_ku64(&w, "ets_tables", l->ets);
	bd_model_timers(m, &k);
	jw_ku64(&w, "timers", live ? BD_UNKNOWN : k);
	bd_model_modules(m, &k);
	jw_ku64(&w, "modules", live ? BD_UNKNOWN : k);
	bd_model_funs(m, &k);
	jw_ku64(&w, "funs", live ? BD_UNKNOWN : k);
	bd_model_binaries(m, &k);
	jw_ku64(&w, "binaries", k);
	jw_ku64(&w, "atoms", l->atoms);
	jw_ku64(&w, "atoms_limit", l->atoms_limit);
	jw_obj_end(&w);
	jw_ku64(&w, "memory_total", bd_model_memory(m)->total);
	jw_key(&w, "truncated");
	jw_bool(&w, n->truncated);
	jw_key(&w, "truncation");
	if (n->truncated) {
		jw_obj(&w);
		jw_kstr(&w, "reason", n->abort_reason);
		jw_ku64(&w, "offset", n->truncated_at);
		jw_kstr(&w, "section", n->truncated_in);
		jw_obj_end(&w);
	} else {
		jw_null(&w);
	}
	jw_ku64(&w, "skipped_sections", n->skipped);
	jw_kstr(&w, "skipped_first", n->skipped_first);
	jw_kstr(&w, "format_note", n->format_note);
	jw_obj_end(&w);
	jw_end(&w);
}

static void info_text(const bd_model *m)
{
	const bd_node_info *n = bd_model_node(m);
	const bd_limits *l = bd_model_limits(m);
	char a[32], b[32];
	size_t k;
	printf("Slogan:     ");
	if (n->slogan) {
		/* multi-line slogans stay readable: indent continuation lines */
		out_print(stdout, n->slogan, "            ");
		putchar('\n');
	} else {
		printf("(none)\n");
	}
	printf("Node:       %s\n", n->node_name ? out_txt(n->node_name) : "?");
	printf("Created:    %s\n", n->created ? out_txt(n->created) : "?");
	printf("System:     %s\n", n->system_version ? out_txt(n->system_version) : "?");
	int live = is_live(m);
	if (live)
		printf("Dump:       live capture of a running node (beamdump capture), %s\n",
		       fmt_bytes(n->input_size, a, sizeof a));
	else
		printf("Dump:       %s version %s, %s%s\n", n->source,
		       n->dump_version ? out_txt(n->dump_version) : "?",
		       fmt_bytes(n->input_size, a, sizeof a), n->crlf ? ", Windows line endings" : "");
	if (n->format_note)
		printf("Note:       %s\n", out_txt(n->format_note));
	if (n->calling_thread)
		printf("Thread:     %s\n", out_txt(n->calling_thread));
	if (n->taints && *n->taints)
		printf("Taints:     %s\n", out_txt(n->taints));
	if (n->compiled)
		printf("Compiled:   %s\n", out_txt(n->compiled));
	if (n->unknown_sections)
		printf("Unknown:    sections this beamdump does not know, read past: %s\n",
		       out_txt(n->unknown_sections));
	const bd_dist *d = bd_model_dists(m, &k);
	for (size_t i = 0; i < k; i++)
		printf("%s %s (%s, channel %u)\n", i ? "           " : "Connected: ",
		       d[i].name ? out_txt(d[i].name) : "?",
		       d[i].kind == BD_DIST_VISIBLE ? "visible" : d[i].kind == BD_DIST_HIDDEN ? "hidden" : "not connected",
		       d[i].channel);
	printf("Memory:     %s total\n", fmt_bytes(bd_model_memory(m)->total, a, sizeof a));
	printf("Processes:  %s\n", fmt_count(l->procs, a, sizeof a));
	printf("Ports:      %s\n", fmt_count(l->ports, a, sizeof a));
	printf("ETS tables: %s\n", fmt_count(l->ets, a, sizeof a));
	if (l->atoms_limit != BD_UNKNOWN && l->atoms != BD_UNKNOWN && l->atoms_limit)
		printf("Atoms:      %s of %s (%.1f %%)\n", fmt_count(l->atoms, a, sizeof a),
		       fmt_count(l->atoms_limit, b, sizeof b),
		       100.0 * (double)l->atoms / (double)l->atoms_limit);
	else
		printf("Atoms:      %s\n", fmt_count(l->atoms, a, sizeof a));
	bd_model_timers(m, &k);
	printf("Timers:     %s\n", live ? LIVE_UNKNOWN : fmt_count(k, a, sizeof a));
	bd_model_modules(m, &k);
	printf("Modules:    %s\n", live ? LIVE_UNKNOWN : fmt_count(k, a, sizeof a));
	bd_model_binaries(m, &k);
	printf("Binaries:   %s refc binaries %s\n", fmt_count(k, a, sizeof a),
	       live ? "held by processes" : "in the dump");
	if (n->truncated && !n->truncated_in && n->abort_reason) /* a cut .bdump */
		printf("Truncated:  yes: %s\n", out_txt(n->abort_reason));
	else if (n->truncated && n->source && !strcmp(n->source, "live"))
		printf("Truncated:  yes: capture incomplete: %s\n",
		       n->truncated_in ? out_txt(n->truncated_in) : "interrupted");
	else if (n->truncated)
		printf("Truncated:  yes: %s; data stops at byte %s in %s\n",
		       n->abort_reason ? out_txt(n->abort_reason) : "no =end marker",
		       fmt_count(n->truncated_at, a, sizeof a),
		       n->truncated_in ? out_txt(n->truncated_in) : "?");
	else if (live)
		printf("Truncated:  no (the capture completed)\n");
	else
		printf("Truncated:  no (=end present)\n");
	if (n->skipped)
		printf("Skipped:    %llu section(s); first: %s\n", (unsigned long long)n->skipped,
		       n->skipped_first ? out_txt(n->skipped_first) : "?");
}

int cmd_info(const opts *o)
{
	bd_model *m;
	int rc = open_input(o, &m);
	if (rc)
		return rc;
	if (o->json)
		info_json(m);
	else
		info_text(m);
	rc = partial_notice(m);
	bd_model_free(m);
	return rc;
}
