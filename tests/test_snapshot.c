/* .bdump snapshots: round trip (model and CLI output identical to the text dump),
 * corruption and cuts (a damaged record is skipped and named, the rest still answers;
 * a cut file gives its recovered prefix; never a crash), golden files, and the term
 * codec on its own. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "beamdump/term.h"
#include "snapshot_int.h"
#include "snaputil.h"
#include "testutil.h"

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

/* Same --json output (and exit code) from the text dump and its snapshot. */
static void same_cli(const char *cmd, const char *text, const char *snap)
{
	char *a = NULL, *b = NULL;
	int ra = tu_run(&a, "%s --json '%s' 2>/dev/null", cmd, text);
	int rb = tu_run(&b, "%s --json '%s' 2>/dev/null", cmd, snap);
	if (ra != rb || !a || !b || strcmp(a, b)) {
		fprintf(stderr, "text:     %.300s\nsnapshot: %.300s\n", a ? a : "", b ? b : "");
		fail_msg("'%s' differs between %s (exit %d) and %s (exit %d)", cmd, text, ra, snap, rb);
	}
	free(a);
	free(b);
}

static void same_model(const char *text, const char *snap)
{
	bd_model *a, *b;
	bd_error err = {0};
	if (bd_model_open(&a, text, &err))
		fail_msg("%s: %s", text, err.msg);
	if (bd_model_open(&b, snap, &err))
		fail_msg("%s: %s", snap, err.msg);
	char why[512];
	if (su_models_equal(a, b, why, sizeof why))
		fail_msg("%s vs %s: %s", text, snap, why);
	bd_model_free(a);
	bd_model_free(b);
}

/* Up to max pids of the dump, named ones first. */
static size_t some_pids(const char *path, char pids[][48], size_t max)
{
	bd_model *m;
	bd_error err = {0};
	if (bd_model_open(&m, path, &err))
		fail_msg("%s: %s", path, err.msg);
	size_t n, k = 0;
	const bd_proc *p = bd_model_procs(m, &n);
	/* named processes by name (the name lookup path), then others by pid */
	for (int named = 1; named >= 0; named--)
		for (size_t i = 0; i < n && k < max; i++)
			if ((p[i].name != NULL) == named) {
				if (named && strlen(p[i].name) < 40 && !strchr(p[i].name, '\''))
					snprintf(pids[k++], 48, "%s", p[i].name);
				else
					bd_pid_fmt(p[i].pid, pids[k++], 48);
			}
	bd_model_free(m);
	return k;
}

static void roundtrip(const char *text, size_t max_procs)
{
	const char *snap = su_temp(".bdump");
	su_convert(text, snap);
	same_model(text, snap);
	static const char *cmds[] = {"info", "top", "top --by mq", "top --by binary", "analyze",
				     "binaries", "ets", "memory", "schedulers", "ports", "atoms"};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		same_cli(cmds[i], text, snap);
	char pids[64][48];
	size_t np = some_pids(text, pids, max_procs < 64 ? max_procs : 64);
	for (size_t i = 0; i < np; i++) {
		char cmd[80];
		snprintf(cmd, sizeof cmd, "proc '%.48s'", pids[i]);
		same_cli(cmd, text, snap);
	}
	unlink(snap);
}

static void test_roundtrip_fixtures(void **state)
{
	(void)state;
	roundtrip(tu_fixture("tests/fixtures/terms_otp27.dump.zst"), 64);
	roundtrip(tu_fixture("tests/fixtures/terms_otp27_trunc.dump.zst"), 64);
}

/* The command itself: convert writes the file (no .partial left), a snapshot converts
 * again into an equal snapshot, and stdin works. */
static void test_cli_convert(void **state)
{
	(void)state;
	const char *text = tu_fixture("tests/fixtures/terms_otp27.dump.zst");
	const char *a = su_temp(".bdump"), *b = su_temp(".bdump");
	assert_int_equal(tu_run(NULL, "convert '%s' -o '%s' 2>/dev/null", text, a), 0);
	char partial[200];
	snprintf(partial, sizeof partial, "%s.partial", a);
	assert_int_equal(access(partial, F_OK), -1);
	assert_int_equal(tu_run(NULL, "convert - -o '%s' < '%s' 2>/dev/null", b, a), 0);
	same_model(text, a);
	same_model(text, b);
	same_cli("info", a, b);
	assert_int_equal(tu_run(NULL, "convert '%s' 2>/dev/null", text), 2); /* no -o */
	unlink(a);
	unlink(b);
}

/* Every generated sample dump (samples/gen.sh), when present. */
static void test_roundtrip_samples(void **state)
{
	(void)state;
	const char *dir = getenv("BD_SAMPLES");
	DIR *d = dir ? opendir(dir) : NULL;
	if (!d) {
		if (getenv("BD_REQUIRE_SAMPLES"))
			fail_msg("no sample dumps in %s", dir ? dir : "(BD_SAMPLES unset)");
		skip();
	}
	struct dirent *e;
	int seen = 0;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".dump"))
			continue;
		char path[1200];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		roundtrip(path, 6);
		seen++;
	}
	closedir(d);
	if (!seen && getenv("BD_REQUIRE_SAMPLES"))
		fail_msg("no sample dumps in %s", dir);
}

/* ---- damage ---- */
/* Touch everything a command could: every table, every span, every decoder. */
static void exercise(bd_model *m)
{
	size_t n;
	const bd_proc *p = bd_model_procs(m, &n);
	for (size_t i = 0; i < n; i++) {
		bd_heap *h;
		bd_error err = {0};
		if (bd_heap_open(&h, m, &p[i], &err))
			continue;
		bd_frame *fr;
		size_t nf;
		bd_heap_stack(h, &fr, &nf, &err);
		bd_term *msgs[8];
		bd_heap_messages(h, 0, 8, msgs);
		bd_mailbox_stats st;
		bd_heap_mailbox_stats(h, &st, &err);
		bd_term **k, **v;
		size_t nd;
		bd_heap_dictionary(h, &k, &v, &nd, &err);
		bd_heap_free(h);
	}
	const bd_binary *b = bd_model_binaries(m, &n);
	for (size_t i = 0; i < n; i++) {
		uint8_t buf[64];
		bd_binary_read(m, &b[i], 0, buf, sizeof buf);
	}
	bd_model_atoms_each(m, NULL, NULL);
	bd_proc_find(m, "<0.1.0>");
	bd_proc_find(m, "init");
}

static char *snapshot_bytes(const char *fixture, size_t *len)
{
	const char *snap = su_temp(".bdump");
	su_convert(tu_fixture(fixture), snap);
	char *bytes = tu_read_file(snap, len);
	assert_non_null(bytes);
	unlink(snap);
	return bytes;
}

static void open_damaged(const char *path, const char *what, size_t at)
{
	bd_model *m;
	bd_error err = {0};
	int rc = bd_model_open(&m, path, &err);
	if (rc) {
		/* One line, naming the record (or the missing header) and the offset. A file
		 * cut before the 4-byte magic is not recognisable as a snapshot at all. */
		if (!strstr(err.msg, "record") && !strstr(err.msg, "header") && at >= 4)
			fail_msg("%s at %zu: error does not name the record: %s", what, at, err.msg);
		if (strchr(err.msg, '\n'))
			fail_msg("%s at %zu: multi-line error", what, at);
		return;
	}
	exercise(m);
	bd_model_free(m);
}

/* Every flipped byte is noticed: the open fails (file header) or says what it
 * skipped. */
static void test_corrupt_flips(void **state)
{
	(void)state;
	size_t len;
	char *bytes = snapshot_bytes("tests/fixtures/terms_otp27_trunc.dump.zst", &len);
	const char *path = su_temp(".bdump");
	write_file(path, bytes, len);
	bd_model *m;
	bd_error err = {0};
	if (bd_model_open(&m, path, &err))
		fail_msg("%s", err.msg);
	uint64_t base = bd_model_node(m)->skipped;
	bd_model_free(m);
	srand(1234);
	int errors = 0, noticed = 0;
	for (int i = 0; i < 400; i++) {
		size_t at = i < 120 ? (size_t)i * 3 % len /* headers at the start */
				    : (size_t)rand() % len;
		char *c = malloc(len);
		memcpy(c, bytes, len);
		c[at] ^= (char)(1 + rand() % 255);
		write_file(path, c, len);
		if (bd_model_open(&m, path, &err)) {
			errors++;
		} else {
			noticed += bd_model_node(m)->skipped > base;
			bd_model_free(m);
		}
		open_damaged(path, "flip", at);
		free(c);
	}
	assert_int_equal(errors + noticed, 400); /* CRCs catch every flip */
	assert_true(errors < 100);                /* only the file header is fatal */
	unlink(path);
	free(bytes);
}

static void test_corrupt_cuts(void **state)
{
	(void)state;
	size_t len;
	char *bytes = snapshot_bytes("tests/fixtures/terms_otp27_trunc.dump.zst", &len);
	const char *path = su_temp(".bdump");
	srand(99);
	for (int i = 0; i < 300; i++) {
		size_t at = i < 100 ? (size_t)i : (size_t)rand() % len;
		write_file(path, bytes, at);
		open_damaged(path, "cut", at);
	}
	/* A cut after the first records recovers them and says the file is partial. The
	 * dump itself was cut too: that stays its truncation, the snapshot's cut is noted. */
	write_file(path, bytes, len * 2 / 3);
	bd_model *m;
	bd_error err = {0};
	if (bd_model_open(&m, path, &err))
		fail_msg("cut file: %s", err.msg);
	assert_true(bd_model_node(m)->truncated);
	assert_non_null(bd_model_node(m)->truncated_in);
	assert_non_null(strstr(bd_model_node(m)->skipped_first, "snapshot: cut at offset"));
	bd_model_free(m);
	unlink(path);
	free(bytes);
}

/* ---- one damaged record: skipped, named, and the rest answers as before ---- */
#define FIXTURE "tests/fixtures/terms_otp27.dump.zst"

/* A snapshot of FIXTURE in small records (several process-data records, table chunks
 * of 8 rows), written to a new file. */
static char *small_snapshot(size_t *len)
{
	bd_model *m;
	bd_error err = {0};
	if (bd_model_open(&m, tu_fixture(FIXTURE), &err))
		fail_msg("%s", err.msg);
	bd_snapshot_opts o = BD_SNAPSHOT_OPTS_INIT;
	o.record_target = 8192;
	o.table_rows = 8;
	su_recs r;
	assert_int_equal(su_collect_opts(m, &o, &r), 0);
	const char *path = su_temp(".bdump");
	assert_int_equal(su_write(&r, path, NULL), 0);
	su_recs_free(&r);
	bd_model_free(m);
	char *bytes = tu_read_file(path, len);
	assert_non_null(bytes);
	unlink(path);
	return bytes;
}

typedef struct recpos {
	size_t off, comp, index; /* frame offset, payload bytes, record number */
} recpos;

/* The nth record (from 0, in file order) of a type, and of a table when inst != 0. */
static int find_rec_maybe(const char *bytes, size_t len, unsigned type, unsigned inst,
			  unsigned nth, recpos *out)
{
	size_t off = 0, index = 0;
	while (off + BD_REC_FRAME <= len) {
		const uint8_t *h = (const uint8_t *)bytes + off, *b = h + 8;
		if (bd_get32(h) != BD_SKIP_MAGIC || memcmp(b + BD_RH_SIG, BD_REC_SIG, 4) != 0)
			break;
		uint32_t comp = bd_get32(b + BD_RH_COMPLEN);
		if (bd_get16(b + BD_RH_TYPE) == type && (!inst || bd_get32(b + BD_RH_INSTANCE) == inst) &&
		    nth-- == 0) {
			if (out)
				*out = (recpos){off, comp, index};
			return 1;
		}
		off += BD_REC_FRAME + comp;
		index++;
	}
	return 0;
}

static recpos find_rec(const char *bytes, size_t len, unsigned type, unsigned inst, unsigned nth)
{
	recpos r = {0, 0, 0};
	if (!find_rec_maybe(bytes, len, type, inst, nth, &r))
		fail_msg("no record of type %#x/%u", type, inst);
	return r;
}

/* A path of its own (su_temp's are reused after a few calls). */
static const char *keep_path(char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", su_temp(".bdump"));
	return buf;
}

/* bytes with the byte at each offset in at[0..n) flipped, written to a new file. */
static const char *damaged_copy(const char *bytes, size_t len, const size_t *at, size_t n)
{
	static char path[128];
	char *c = malloc(len);
	assert_non_null(c);
	memcpy(c, bytes, len);
	for (size_t i = 0; i < n; i++)
		c[at[i]] ^= 0x5a;
	keep_path(path, sizeof path);
	write_file(path, c, len);
	free(c);
	return path;
}

/* The middle of a record's payload (payload CRC mismatch). */
static size_t in_payload(recpos r) { return r.off + BD_REC_FRAME + r.comp / 2; }

static bd_model *open_ok(const char *path)
{
	bd_model *m;
	bd_error err = {0};
	if (bd_model_open(&m, path, &err))
		fail_msg("%s", err.msg);
	return m;
}

/* Opens, not truncated, one skipped note more than the intact file, naming what. */
static bd_model *open_skipped(const char *path, const bd_model *intact, const char *what)
{
	bd_model *m = open_ok(path);
	const bd_node_info *n = bd_model_node(m);
	assert_false(n->truncated);
	assert_int_equal(n->skipped, bd_model_node(intact)->skipped + 1);
	if (!n->skipped_first || !strstr(n->skipped_first, what))
		fail_msg("skipped note does not name '%s': %s", what,
			 n->skipped_first ? n->skipped_first : "(none)");
	return m;
}

/* "beamdump CMD 'path'": exit code, stdout in *out, stderr in *errs. */
static int cli(char **out, char **errs, const char *cmd, const char *path)
{
	const char *ef = su_temp(".err");
	int rc = tu_run(out, "%s '%s' 2>'%s'", cmd, path, ef);
	*errs = tu_read_file(ef, NULL);
	assert_non_null(*errs);
	unlink(ef);
	return rc;
}

static int lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* CMD gives the same stdout on both files: exit 0 on the intact one, and on the
 * damaged one exit 4 with one stderr line naming what was skipped. */
static void same_answer(const char *cmd, const char *intact, const char *damaged, const char *what)
{
	char *a, *b, *ea, *eb;
	assert_int_equal(cli(&a, &ea, cmd, intact), 0);
	int rc = cli(&b, &eb, cmd, damaged);
	if (rc != 4 || lines(eb) != 1 || !strstr(eb, what))
		fail_msg("'%s' on a damaged file: exit %d, stderr: %s", cmd, rc, eb);
	if (strcmp(a, b)) {
		size_t d = 0;
		while (a[d] == b[d])
			d++;
		d = d > 60 ? d - 60 : 0;
		fail_msg("'%s' differs:\nintact:  ...%.200s\ndamaged: ...%.200s", cmd, a + d, b + d);
	}
	free(a);
	free(b);
	free(ea);
	free(eb);
}

/* `info --json` up to the skipped fields: same counts, memory, truncation. */
static void same_info(const char *intact, const char *damaged)
{
	char *a, *b, *ea, *eb;
	assert_int_equal(cli(&a, &ea, "info --json", intact), 0);
	assert_int_equal(cli(&b, &eb, "info --json", damaged), 4);
	char *ka = strstr(a, "\"skipped_sections\""), *kb = strstr(b, "\"skipped_sections\"");
	assert_non_null(ka);
	assert_non_null(kb);
	*ka = *kb = 0;
	assert_string_equal(a, b);
	free(a);
	free(b);
	free(ea);
	free(eb);
}

/* A process-data record: the processes whose term data it held have none (their
 * spans fail; never other text), all others and every table answer as before. */
static void test_damaged_procdata(void **state)
{
	(void)state;
	size_t len;
	char *bytes = small_snapshot(&len);
	char ipath[128];
	const char *intact = keep_path(ipath, sizeof ipath);
	write_file(intact, bytes, len);
	recpos r = find_rec(bytes, len, BD_REC_PROCDATA, 0, 1);
	size_t at = in_payload(r);
	const char *damaged = damaged_copy(bytes, len, &at, 1);
	char what[64];
	snprintf(what, sizeof what, "record %zu (process data, chunk 1)", r.index);
	bd_model *a = open_ok(intact), *b = open_skipped(damaged, a, what);
	size_t na, nb, lost = 0, kept = 0;
	const bd_proc *pa = bd_model_procs(a, &na), *pb = bd_model_procs(b, &nb);
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_true(bd_pid_eq(pa[i].pid, pb[i].pid));
		bd_span sa[4] = {pa[i].sec_heap, pa[i].sec_stack, pa[i].sec_messages, pa[i].sec_dictionary};
		bd_span sb[4] = {pb[i].sec_heap, pb[i].sec_stack, pb[i].sec_messages, pb[i].sec_dictionary};
		for (int k = 0; k < 4; k++) {
			const char *x, *y;
			size_t lx, ly;
			if (!sa[k].len)
				continue;
			assert_int_equal(bd_model_span_text(a, sa[k], &x, &lx), 0);
			if (bd_model_span_text(b, sb[k], &y, &ly)) {
				lost++;
				continue;
			}
			kept++;
			assert_int_equal(lx, ly);
			assert_memory_equal(x, y, lx);
		}
	}
	assert_true(lost > 0);
	assert_true(kept > lost);
	exercise(b);
	bd_model_free(a);
	bd_model_free(b);
	same_info(intact, damaged);
	same_answer("top --json", intact, damaged, what);
	same_answer("top --json --by mq", intact, damaged, what);
	same_answer("ets --json", intact, damaged, what);
	/* converted again, it keeps what is left, and says where it came from */
	char again[128];
	keep_path(again, sizeof again);
	assert_int_equal(tu_run(NULL, "convert '%s' -o '%s' 2>/dev/null", damaged, again), 4);
	same_answer("top --json", intact, again, what);
	unlink(again);
	unlink(intact);
	unlink(damaged);
	free(bytes);
}

/* A chunk of the process table: its rows are missing, the others (found by pid through
 * the rows that are left) keep their data; a chunk of the links table: the processes
 * whose links it held have none, the others keep theirs. */
static void test_damaged_table_chunk(void **state)
{
	(void)state;
	size_t len;
	char *bytes = small_snapshot(&len);
	char ipath[128];
	const char *intact = keep_path(ipath, sizeof ipath);
	write_file(intact, bytes, len);
	recpos r = find_rec(bytes, len, BD_REC_TABLE, ST_PROCS, 1);
	size_t at = in_payload(r);
	const char *damaged = damaged_copy(bytes, len, &at, 1);
	char what[64];
	snprintf(what, sizeof what, "record %zu (table processes, chunk 1)", r.index);
	bd_model *a = open_ok(intact), *b = open_skipped(damaged, a, what);
	assert_non_null(strstr(bd_model_node(b)->skipped_first, "processes rows 8 to 15 missing"));
	size_t na, nb;
	const bd_proc *pa = bd_model_procs(a, &na), *pb = bd_model_procs(b, &nb);
	assert_int_equal(nb, na - 8);
	char pid[48];
	for (size_t i = 0; i < na; i++) {
		const bd_proc *q = bd_proc_by_pid(b, pa[i].pid);
		if (i >= 8 && i < 16) {
			assert_null(q);
			continue;
		}
		assert_non_null(q);
		assert_int_equal(q->memory, pa[i].memory);
		assert_int_equal(q->link_count, pa[i].link_count);
		const char *x, *y;
		size_t lx, ly;
		if (!pa[i].sec_heap.len)
			continue;
		assert_int_equal(bd_model_span_text(a, pa[i].sec_heap, &x, &lx), 0);
		assert_int_equal(bd_model_span_text(b, q->sec_heap, &y, &ly), 0);
		assert_int_equal(lx, ly);
		assert_memory_equal(x, y, lx);
	}
	(void)pb;
	exercise(b);
	/* on the command line: a kept process is shown as before (one that does not mention
	 * a lost one: their names are unknown now), a lost one is not found */
	char cmd[96], *o, *e;
	size_t shown = 0;
	for (size_t i = 16; i < na && !shown; i++) {
		snprintf(cmd, sizeof cmd, "proc --json '%s'", bd_pid_fmt(pa[i].pid, pid, sizeof pid));
		assert_int_equal(cli(&o, &e, cmd, intact), 0);
		int mentions = 0;
		for (size_t k = 8; k < 16; k++)
			mentions |= strstr(o, bd_pid_fmt(pa[k].pid, pid, sizeof pid)) != NULL;
		free(o);
		free(e);
		if (!mentions) {
			same_answer(cmd, intact, damaged, what);
			shown++;
		}
	}
	assert_true(shown);
	snprintf(cmd, sizeof cmd, "proc '%s'", bd_pid_fmt(pa[9].pid, pid, sizeof pid));
	assert_int_equal(cli(&o, &e, cmd, damaged), 2);
	free(o);
	free(e);
	bd_model_free(b);
	unlink(damaged);

	/* links: chunk 0 lost */
	r = find_rec(bytes, len, BD_REC_TABLE, ST_LINKS, 0);
	at = in_payload(r);
	damaged = damaged_copy(bytes, len, &at, 1);
	snprintf(what, sizeof what, "record %zu (table links, chunk 0)", r.index);
	b = open_skipped(damaged, a, what);
	size_t nla, nlb, with = 0, without = 0;
	const bd_link *la = bd_model_links(a, &nla), *lb = bd_model_links(b, &nlb);
	pb = bd_model_procs(b, &nb);
	assert_int_equal(nb, na);
	assert_int_equal(nlb, nla - 8);
	for (size_t i = 0; i < na; i++) {
		if (!pa[i].link_count)
			continue;
		if (pa[i].link_first < 8) { /* some of its links were in the lost chunk */
			assert_int_equal(pb[i].link_count, 0);
			without++;
			continue;
		}
		with++;
		assert_int_equal(pb[i].link_count, pa[i].link_count);
		for (uint32_t k = 0; k < pa[i].link_count; k++) {
			const bd_link *x = &la[pa[i].link_first + k], *y = &lb[pb[i].link_first + k];
			assert_int_equal(x->kind, y->kind);
			assert_true(bd_pid_eq(x->id, y->id));
		}
	}
	assert_true(with > 0 && without > 0);
	exercise(b);
	bd_model_free(b);
	unlink(damaged);
	bd_model_free(a);
	unlink(intact);
	free(bytes);
}

/* The literals/persistent terms/atoms record: no literals or atoms; the tables answer
 * as before. A string record: its strings read as NULL. A term dictionary record:
 * the term data that uses it is unknown. None of them stops the file opening. */
static void test_damaged_other_records(void **state)
{
	(void)state;
	size_t len;
	char *bytes = small_snapshot(&len);
	char ipath[128];
	const char *intact = keep_path(ipath, sizeof ipath);
	write_file(intact, bytes, len);
	bd_model *a = open_ok(intact);
	/* the first record of the stream holds the start of the literals, the last one the
	 * end of the atoms (in small records, each spans several) */
	size_t ntt = 0;
	while (ntt < 1000 && find_rec_maybe(bytes, len, BD_REC_TERMTEXT, 0, (unsigned)ntt, NULL))
		ntt++;
	assert_true(ntt > 1);
	for (int last = 0; last < 2; last++) {
		recpos r = find_rec(bytes, len, BD_REC_TERMTEXT, 0, last ? (unsigned)ntt - 1 : 0);
		size_t at = in_payload(r);
		const char *damaged = damaged_copy(bytes, len, &at, 1);
		char what[80];
		snprintf(what, sizeof what, "record %zu (literals/persistent terms/atoms, chunk %zu)",
			 r.index, last ? ntt - 1 : 0);
		bd_model *b = open_skipped(damaged, a, what);
		const char *t;
		size_t tl;
		assert_true(a->literals.len > 0);
		assert_int_equal(bd_model_span_text(a, a->literals, &t, &tl), 0);
		assert_true(bd_model_atoms_each(a, NULL, NULL) > 0);
		if (last)
			assert_int_equal(bd_model_atoms_each(b, NULL, NULL), 0);
		else
			assert_int_not_equal(bd_model_span_text(b, b->literals, &t, &tl), 0);
		exercise(b);
		bd_model_free(b);
		same_info(intact, damaged);
		same_answer("top --json", intact, damaged, what);
		same_answer("ets --json", intact, damaged, what);
		unlink(damaged);
	}
	recpos r;
	size_t at;
	const char *damaged;
	bd_model *b;

	/* strings (the second STRINGS record), term dictionary: open, say so, no crash */
	const unsigned types[] = {BD_REC_STRINGS, BD_REC_TERMDICT};
	const char *names[] = {"strings, chunk 1", "term dictionary, chunk 0"};
	for (int k = 0; k < 2; k++) {
		r = find_rec(bytes, len, types[k], 0, k ? 0 : 1);
		at = in_payload(r);
		damaged = damaged_copy(bytes, len, &at, 1);
		b = open_skipped(damaged, a, names[k]);
		exercise(b);
		bd_model_free(b);
		char *o, *e;
		static const char *cmds[] = {"info", "top", "analyze", "ets", "atoms", "memory", "ports"};
		for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
			int rc = cli(&o, &e, cmds[c], damaged);
			if (rc != 4 || lines(e) != 1 || !strstr(e, names[k]))
				fail_msg("'%s' with %s damaged: exit %d: %s", cmds[c], names[k], rc, e);
			free(o);
			free(e);
		}
		unlink(damaged);
	}
	bd_model_free(a);
	unlink(intact);
	free(bytes);
}

/* Damage the scan must step over: a record whose header is damaged too (identity
 * unknown) with no trailer to find the records by. The file header is fatal. */
static void test_damaged_scan(void **state)
{
	(void)state;
	size_t len;
	char *bytes = small_snapshot(&len);
	char ipath[128];
	const char *intact = keep_path(ipath, sizeof ipath);
	write_file(intact, bytes, len);
	bd_model *a = open_ok(intact);
	recpos r = find_rec(bytes, len, BD_REC_PROCDATA, 0, 1);
	size_t at[2] = {r.off + 20, len - 10}; /* header and trailer */
	const char *damaged = damaged_copy(bytes, len, at, 2);
	char what[64];
	snprintf(what, sizeof what, "record %zu (damaged header)", r.index);
	bd_model *m = open_ok(damaged);
	const bd_node_info *n = bd_model_node(m);
	assert_false(n->truncated);
	assert_int_equal(n->skipped, bd_model_node(a)->skipped + 2); /* the record, the trailer */
	if (!strstr(n->skipped_first, what))
		fail_msg("%s", n->skipped_first);
	size_t na, nm;
	bd_model_procs(a, &na);
	bd_model_procs(m, &nm);
	assert_int_equal(na, nm);
	exercise(m);
	bd_model_free(m);
	same_answer("top --json", intact, damaged, what);
	unlink(damaged);

	/* the file header: nothing can be trusted, exit 3 naming record 0 */
	at[0] = in_payload(find_rec(bytes, len, BD_REC_FILE, 0, 0));
	damaged = damaged_copy(bytes, len, at, 1);
	bd_error err = {0};
	assert_int_not_equal(bd_model_open(&m, damaged, &err), 0);
	assert_non_null(strstr(err.msg, "record 0 (file header, chunk 0)"));
	char *o, *e;
	assert_int_equal(cli(&o, &e, "info", damaged), 3);
	free(o);
	free(e);
	unlink(damaged);
	bd_model_free(a);
	unlink(intact);
	free(bytes);
}

/* A cut file: one stderr line in snapshot words, truncation in the model (not also a
 * "skipped" note), the records before the cut used. */
static void test_cut_notice(void **state)
{
	(void)state;
	size_t len;
	char *bytes = small_snapshot(&len);
	recpos r = find_rec(bytes, len, BD_REC_PROCDATA, 0, 1);
	const char *path = su_temp(".bdump");
	write_file(path, bytes, r.off + 100);
	bd_model *m = open_ok(path);
	const bd_node_info *n = bd_model_node(m);
	assert_true(n->truncated);
	assert_null(n->truncated_in);
	assert_int_equal(n->truncated_at, r.off);
	char want[96], num[32];
	snprintf(want, sizeof want, "snapshot: cut at offset %s (%zu records recovered)",
		 bd_count_fmt(r.off, num, sizeof num), r.index);
	assert_string_equal(n->abort_reason, want);
	assert_int_equal(n->skipped, 0); /* skipped_first may name it, uncounted */
	size_t np;
	bd_model_procs(m, &np);
	assert_int_equal(np, 43);
	bd_model_free(m);
	char *o, *e, line[128];
	assert_int_equal(cli(&o, &e, "info", path), 4);
	snprintf(line, sizeof line, "beamdump: partial %s\n", want);
	assert_string_equal(e, line);
	assert_non_null(strstr(o, "Truncated:  yes: snapshot: cut at offset"));
	assert_null(strstr(o, "Skipped:"));
	free(o);
	free(e);
	unlink(path);
	free(bytes);
}

/* ---- golden files: every later reader must still read them ---- */
static void golden(const char *name, const char *fixture)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/tests/golden/%s", getenv("BD_SOURCE"), name);
	bd_model *g, *t;
	bd_error err = {0};
	if (bd_model_open(&g, path, &err))
		fail_msg("golden: %s", err.msg);
	if (bd_model_open(&t, tu_fixture(fixture), &err))
		fail_msg("%s", err.msg);
	const bd_node_info *gn = bd_model_node(g), *tn = bd_model_node(t);
	assert_string_equal(gn->slogan, tn->slogan);
	assert_int_equal(gn->truncated, tn->truncated);
	size_t ng, nt;
	const bd_proc *gp = bd_model_procs(g, &ng), *tp = bd_model_procs(t, &nt);
	assert_int_equal(ng, nt);
	for (size_t i = 0; i < ng; i++) {
		assert_true(bd_pid_eq(gp[i].pid, tp[i].pid));
		bd_span gs[4] = {gp[i].sec_heap, gp[i].sec_stack, gp[i].sec_messages, gp[i].sec_dictionary};
		bd_span ts[4] = {tp[i].sec_heap, tp[i].sec_stack, tp[i].sec_messages, tp[i].sec_dictionary};
		for (int k = 0; k < 4; k++) {
			const char *a, *b;
			size_t la, lb;
			if (!gs[k].len && !ts[k].len)
				continue;
			assert_int_equal(bd_model_span_text(g, gs[k], &a, &la), 0);
			assert_int_equal(bd_model_span_text(t, ts[k], &b, &lb), 0);
			assert_int_equal(la, lb);
			assert_memory_equal(a, b, la);
		}
	}
	exercise(g);
	bd_model_free(g);
	bd_model_free(t);
}

static void test_golden(void **state)
{
	(void)state;
	golden("terms27.v1.bdump", "tests/fixtures/terms_otp27.dump.zst");
	golden("terms27_trunc.v1.bdump", "tests/fixtures/terms_otp27_trunc.dump.zst");
}

/* ---- the term codec on its own ---- */
static void codec_roundtrip(int kind, const char *text, size_t len, int expect_raw)
{
	sbuf enc = {0}, dec = {0};
	snap_dict d = {0};
	snap_ctx cx = {0};
	const char *p = text, *end = text + len;
	size_t raw = 0;
	while (p < end) {
		size_t at = enc.len;
		p = snap_enc_line(&enc, &cx, &d, kind, p, end);
		raw += enc.p[at] == OP_RAW;
	}
	if (expect_raw >= 0)
		assert_int_equal(raw, (size_t)expect_raw);
	snap_tdict td = {d.ent_s, d.ent_len, d.count, {0}};
	scur c = {enc.p, enc.p + enc.len, 0};
	memset(&cx, 0, sizeof cx);
	while (c.p < c.end) {
		int op = sc_u8(&c);
		assert_int_equal(snap_dec_line(&c, op, &cx, &td, &dec), 0);
	}
	assert_int_equal(dec.len, len);
	assert_memory_equal(dec.p, text, len);
	sb_free(&enc);
	sb_free(&dec);
	snap_dict_free(&d);
}

static void test_codec_lines(void **state)
{
	(void)state;
	static const char heap[] =
		"7F45797F59F0:t3:A6:worker,I58079,H7F45797F59E0\n"
		"7F45797F59E0:lI-5|H7F45797F59D0\n"
		"7F45797F59D0:lA3:a|b|N\n" /* atom with '|' inside: length decides */
		"10:Yh4:AQID/w==\n"
		"20:Yh0:\n"
		"30:Yc56493A8F8DD0:0:C8\n"
		"40:Ys7FC42F884218:0:0\n"
		"50:Mf3:H7FC42F883DF8:I1,H7FC42F883E48,N\n"
		"60:Mh28:F:H1,H2,H3,H4,H5,H6,H7,H8,H9,HA,HB,HC,HD,HE,HF\n"
		"70:Mn2:H80,H90\n"
		"80:F1A:3.14158999999999988262e+00\n"
		"90:B-1180591620717411303424\n"
		"A0:P<8525.88.0>\n"
		"B0:p<0.5>\n"
		"C0:E24:g1oAA2QADW5vbm9kZUBub2hvc3QAAAAAAAKXzyGAAAHw8q1l\n"
		"D0:Rf7FF1A503C7B8\n"
		"E0:t0:\n"
		"F0:lI9223372036854775807|I-9223372036854775808\n";
	codec_roundtrip(SK_HEAP, heap, sizeof heap - 1, 0);
	/* Not what the VM writes: kept verbatim, still exact. */
	static const char odd[] =
		"7f00:t1:N\n"          /* lowercase address */
		"007F:t1:N\n"          /* leading zero */
		"80:t2:N\n"            /* arity says 2, one element */
		"90:Yh4:AQID/x==\n"    /* non-canonical base64 padding bits */
		"A0:lI-0|N\n"          /* minus zero */
		"B0:lI00|N\n"
		"C0:A5:ab\n"           /* atom running past the line */
		"no colon here\n"
		"\n"
		"D0:t1:N";             /* no final newline */
	codec_roundtrip(SK_HEAP, odd, sizeof odd - 1, 10);
	static const char stack[] =
		"y0:H7F45797F59F0\n"
		"0x00007f45797f5f68:SReturn addr 0x7B000C30 (<terminate process normally>)\n"
		"y1:SCatch 0xA9C72DD9 (erlang:halt/1 + 161)\n"
		"y2:I42\n"
		"0x00007ff1a516d078:SReturn addr 0xA9C10A8C (init:start_it/1 + 476)\n"
		"y3:Sodd text\n";
	codec_roundtrip(SK_STACK, stack, sizeof stack - 1, 0);
	static const char msgs[] = "H7F4528DE1080:N\nH7F4528DE10A0:H7F90A3C68208\nD0:E0::N\n";
	codec_roundtrip(SK_MESSAGES, msgs, sizeof msgs - 1, 1);
	static const char pterms[] = "A9:my_pt_key|H7FC42F884AF0\nH7FF1B1267C18|A4:true\n";
	codec_roundtrip(SK_PTERMS, pterms, sizeof pterms - 1, 0);
}

/* A huge tuple line (a 16M-element tuple is one line in the dump) must not make one
 * op bigger than a record: past 1 MiB encoded it is kept verbatim, in pieces. */
static void test_codec_huge_line(void **state)
{
	(void)state;
	size_t n = 700000;
	char *t = malloc(n * 8 + 64);
	size_t len = (size_t)sprintf(t, "7F00:t%zX:", n);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(t + len, "%sI%zu", i ? "," : "", i * 1000003 % 99991);
	t[len++] = '\n';
	codec_roundtrip(SK_HEAP, t, len, -1);
	sbuf enc = {0};
	snap_dict d = {0};
	snap_ctx cx = {0};
	const char *p = t;
	size_t biggest = 0;
	while (p < t + len) {
		size_t at = enc.len;
		p = snap_enc_line(&enc, &cx, &d, SK_HEAP, p, t + len);
		if (enc.len - at > biggest)
			biggest = enc.len - at;
	}
	assert_true(biggest <= (1u << 20) + 16);
	sb_free(&enc);
	snap_dict_free(&d);
	free(t);
}

/* Random damage to real heap text: whatever the encoder keeps, it gives back exactly. */
static void test_codec_mutations(void **state)
{
	(void)state;
	bd_model *m;
	bd_error err = {0};
	if (bd_model_open(&m, tu_fixture("tests/fixtures/terms_otp27.dump.zst"), &err))
		fail_msg("%s", err.msg);
	size_t n;
	const bd_proc *p = bd_model_procs(m, &n);
	srand(7);
	int done = 0;
	for (size_t i = 0; i < n && done < 12; i++) {
		const char *t;
		size_t len;
		if (!p[i].sec_heap.len || bd_model_span_text(m, p[i].sec_heap, &t, &len) || len > 200000)
			continue;
		done++;
		char *c = malloc(len);
		for (int round = 0; round < 20; round++) {
			memcpy(c, t, len);
			for (int k = 0; k < 30; k++)
				c[rand() % len] = "0123456789ABCDEFHINPAtlY:,|<>.\n-xyz="[rand() % 37];
			codec_roundtrip(SK_HEAP, c, len, -1);
			codec_roundtrip(SK_STACK, c, len, -1);
			codec_roundtrip(SK_MESSAGES, c, len, -1);
		}
		free(c);
	}
	bd_model_free(m);
}

/* Garbage ops and tables: errors, never a crash (the CRC usually stops them first). */
static const char *g_str(void *ctx, uint64_t id, int *bad)
{
	(void)ctx;
	if (id > 2)
		*bad = 1;
	return id ? "s" : NULL;
}
static bd_span g_blob(void *ctx, const uint8_t *p, size_t n)
{
	(void)ctx;
	(void)p;
	return (bd_span){0, n};
}
static bd_span g_span(void *ctx, unsigned table, uint64_t row, unsigned part, uint64_t len)
{
	(void)ctx;
	(void)table;
	(void)row;
	(void)part;
	return (bd_span){0, len};
}

static void test_decoder_garbage(void **state)
{
	(void)state;
	static const char *words[] = {"atom", "x"};
	uint32_t lens[] = {4, 1};
	snap_tdict td = {words, lens, 2, {0}};
	snap_dec_cb cb = {g_str, g_blob, g_span, NULL};
	uint8_t buf[512];
	srand(3);
	for (int i = 0; i < 20000; i++) {
		size_t n = (size_t)(rand() % (int)sizeof buf);
		for (size_t k = 0; k < n; k++)
			buf[k] = (uint8_t)(rand() % 4 ? rand() % 0x60 : rand());
		scur c = {buf, buf + n, 0};
		snap_ctx cx = {0};
		sbuf out = {0};
		while (c.p < c.end && !c.bad)
			if (snap_dec_line(&c, sc_u8(&c), &cx, &td, (i & 1) ? &out : NULL))
				break;
		sb_free(&out);
		const snap_table *t = snap_table_get(1 + (unsigned)i % (ST__COUNT - 1));
		_Alignas(8) uint8_t rows[4 * 1024];
		size_t nr = sizeof rows / t->row_size < 4 ? sizeof rows / t->row_size : 4;
		int64_t want = snap_table_rows(buf, n);
		if (want < 0 || (size_t)want > nr)
			continue;
		snap_table_defaults(t, rows, (size_t)want);
		const char *why;
		snap_table_decode(t, buf, n, rows, (size_t)want, 0, &cb, &why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec_lines),
		cmocka_unit_test(test_codec_mutations),
		cmocka_unit_test(test_codec_huge_line),
		cmocka_unit_test(test_decoder_garbage),
		cmocka_unit_test(test_roundtrip_fixtures),
		cmocka_unit_test(test_cli_convert),
		cmocka_unit_test(test_roundtrip_samples),
		cmocka_unit_test(test_corrupt_flips),
		cmocka_unit_test(test_corrupt_cuts),
		cmocka_unit_test(test_damaged_procdata),
		cmocka_unit_test(test_damaged_table_chunk),
		cmocka_unit_test(test_damaged_other_records),
		cmocka_unit_test(test_damaged_scan),
		cmocka_unit_test(test_cut_notice),
		cmocka_unit_test(test_golden),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
