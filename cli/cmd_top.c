/* beamdump top: the processes that matter, by memory, queue, reductions, binary or heap
 * (recon:proc_count/2 on a dump). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beamdump/analyze.h"
#include "cli.h"

/* A name column as wide as the longest name shown, within reason. */
enum { LABEL_CAP = 160 };

typedef uint64_t (*key_fn)(const bd_model *m, const bd_proc *p);

static uint64_t add(uint64_t a, uint64_t b)
{
	if (a == BD_UNKNOWN)
		return b;
	if (b == BD_UNKNOWN)
		return a;
	return a + b;
}

static uint64_t k_memory(const bd_model *m, const bd_proc *p)
{
	return p->memory != BD_UNKNOWN ? p->memory : words_to_bytes(m, add(p->stack_heap, p->old_heap));
}
static uint64_t k_mq(const bd_model *m, const bd_proc *p) { (void)m; return p->msgq_len; }
static uint64_t k_reds(const bd_model *m, const bd_proc *p) { (void)m; return p->reductions; }
/* BinVHeap counts each reference to a binary: capped at erlang:memory(binary). */
static uint64_t k_binary(const bd_model *m, const bd_proc *p)
{
	return bd_proc_binary_bytes(m, p, NULL);
}
static uint64_t k_heap(const bd_model *m, const bd_proc *p)
{
	return words_to_bytes(m, add(p->stack_heap, p->old_heap));
}

static const struct {
	const char *name;
	key_fn fn;
} keys[] = {
	{"memory", k_memory}, {"mq", k_mq}, {"reductions", k_reds}, {"binary", k_binary}, {"heap", k_heap},
};

/* Indices of the n largest by key (unknown sorts last), largest first. */
static size_t top_n(const bd_model *m, const bd_proc *procs, size_t count, key_fn fn, size_t n,
		    size_t *out, uint64_t *vals)
{
	size_t k = 0;
	for (size_t i = 0; i < count; i++) {
		uint64_t v = fn(m, &procs[i]);
		if (v == BD_UNKNOWN)
			v = 0;
		if (k == n && (n == 0 || v <= vals[k - 1]))
			continue;
		size_t j = k < n ? k++ : k - 1;
		while (j > 0 && vals[j - 1] < v) {
			vals[j] = vals[j - 1];
			out[j] = out[j - 1];
			j--;
		}
		vals[j] = v;
		out[j] = i;
	}
	return k;
}

/* The text table: fitted to the terminal (names and functions cut with a mark, then
 * HEAP, BINARY, REDUCTIONS and STATE left out), full width into a pipe. */
static void print_table(const bd_model *m, const bd_proc *procs, const size_t *idx, size_t k,
			char (*label)[LABEL_CAP], const bd_pname_source *src)
{
	static const tcol cols[] = {
		{"PID", 0, 0, 0, 0, 0, 0},        {"NAME", 0, 12, 0, 1, 0, 0},     {"STATE", 0, 0, 4, 1, 0, 0},
		{"MSGQ", 1, 0, 0, 1, 0, 0},       {"MEMORY", 1, 0, 0, 1, 0, 0},    {"REDUCTIONS", 1, 0, 3, 1, 0, 0},
		{"BINARY", 1, 0, 2, 1, 0, 0},     {"HEAP", 1, 0, 1, 1, 0, 0},      {"CURRENT FUNCTION", 0, 16, 0, 2, 0, 0}};
	enum { NC = sizeof cols / sizeof cols[0], W = 64 };
	char(*cell)[NC][W] = k ? malloc(k * sizeof *cell) : NULL;
	const char **cells = k ? malloc(k * NC * sizeof *cells) : NULL;
	char name[LABEL_CAP];
	for (size_t i = 0; cell && cells && i < k; i++) {
		const bd_proc *p = &procs[idx[i]];
		char *c[NC];
		for (size_t j = 0; j < NC; j++)
			cells[i * NC + j] = c[j] = cell[i][j];
		bd_pid_fmt(p->pid, c[0], W);
		cells[i * NC + 1] = src[i] == BD_PNAME_PID ? "-"
							   : out_txt(style_label(label[i], name, sizeof name));
		if (src[i] != BD_PNAME_PID) { /* names can be longer than a cell */
			snprintf(name, sizeof name, "%s", cells[i * NC + 1]);
			snprintf(label[i], LABEL_CAP, "%s", name);
			cells[i * NC + 1] = label[i];
		}
		snprintf(c[2], W, "%s", bd_proc_state_name(p->state));
		fmt_count(p->msgq_len, c[3], W);
		fmt_bytes(k_memory(m, p), c[4], W);
		fmt_count(p->reductions, c[5], W);
		int clamped; /* "~": cut to erlang:memory(binary) (BinVHeap counts references) */
		char bb[32];
		uint64_t bin = bd_proc_binary_bytes(m, p, &clamped);
		snprintf(c[6], W, "%s%s", clamped ? "~" : "", fmt_bytes(bin, bb, sizeof bb));
		fmt_bytes(k_heap(m, p), c[7], W);
		snprintf(c[8], W, "%s",
			 out_txt(style_label(p->pc_mfa ? p->pc_mfa : p->pc ? p->pc : "?", c[8], W)));
	}
	if (!k || (cell && cells))
		table_print(cols, NC, cells, k);
	free(cell);
	free(cells);
}

int cmd_top(const opts *o)
{
	key_fn fn = NULL;
	const char *by = o->by ? o->by : "memory";
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (!strcmp(by, keys[i].name))
			fn = keys[i].fn;
	if (!fn) {
		fprintf(stderr, "beamdump top: --by takes memory, mq, reductions, binary or heap, "
				"got '%s'\n", by);
		return EXIT_USAGE;
	}
	bd_model *m;
	int rc = open_input(o, &m);
	if (rc)
		return rc;
	size_t count;
	const bd_proc *procs = bd_model_procs(m, &count);
	size_t n = o->n >= 0 ? (size_t)o->n : 20;
	if (n > count)
		n = count;
	size_t *idx = malloc((n + 1) * sizeof *idx);
	uint64_t *vals = malloc((n + 1) * sizeof *vals);
	if (!idx || !vals) {
		fprintf(stderr, "beamdump: out of memory\n");
		bd_model_free(m);
		free(idx);
		free(vals);
		return EXIT_UNREADABLE;
	}
	size_t k = top_n(m, procs, count, fn, n, idx, vals);
	char a[32], b[32];
	/* Best names of the rows shown only: a million-process dump decodes n of them. */
	char(*label)[LABEL_CAP] = k ? malloc(k * sizeof *label) : NULL;
	bd_pname_source *src = k ? malloc(k * sizeof *src) : NULL;
	for (size_t i = 0; label && src && i < k; i++)
		src[i] = bd_proc_name(m, &procs[idx[i]], NULL, label[i], LABEL_CAP);
	if (k && (!label || !src)) {
		fprintf(stderr, "beamdump: out of memory\n");
		free(label);
		free(src);
		free(idx);
		free(vals);
		bd_model_free(m);
		return EXIT_UNREADABLE;
	}
	if (o->json) {
		jw w;
		jw_init(&w, stdout);
		jw_obj(&w);
		jw_kstr(&w, "by", by);
		jw_ku64(&w, "processes", count);
		jw_key(&w, "top");
		jw_arr(&w);
		for (size_t i = 0; i < k; i++) {
			const bd_proc *p = &procs[idx[i]];
			jw_obj(&w);
			jw_kpid(&w, "pid", p->pid);
			jw_kstr(&w, "name", p->name);
			jw_kstr(&w, "display_name", label[i]);
			jw_kstr(&w, "display_name_source", bd_pname_source_name(src[i]));
			jw_kstr(&w, "spawned_as", p->spawned_as);
			jw_kstr(&w, "state", bd_proc_state_name(p->state));
			jw_kstr(&w, "current_function", p->pc_mfa ? p->pc_mfa : p->pc);
			jw_ku64(&w, "message_queue_len", p->msgq_len);
			jw_ku64(&w, "memory", k_memory(m, p));
			jw_ku64(&w, "reductions", p->reductions);
			int clamped;
			jw_ku64(&w, "binary_bytes", bd_proc_binary_bytes(m, p, &clamped));
			jw_key(&w, "binary_bytes_clamped");
			jw_bool(&w, clamped);
			jw_ku64(&w, "heap_bytes", k_heap(m, p));
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_end(&w);
	} else {
		print_table(m, procs, idx, k, label, src);
		printf("(%s of %s processes, by %s)\n", fmt_count(k, a, sizeof a),
		       fmt_count(count, b, sizeof b), by);
	}
	free(label);
	free(src);
	free(idx);
	free(vals);
	rc = partial_notice(m);
	bd_model_free(m);
	return rc;
}
