/* The cookie set (include/beamdump/secret.h): where a dump keeps the cookie, and the
 * check every printer makes. A dump of a distributed node holds its cookie as an atom
 * in auth's gen_server state ({state, Cookie, OtherCookies}) and in the atom table,
 * and as a binary or string in init's arguments ({setcookie, [Cookie]}). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "beamdump/secret.h"
#include "beamdump/term.h"
#include "int.h"

#define MAX_SECRETS 64

static struct {
	size_t len;
	uint64_t hash;
} g_set[MAX_SECRETS];
static _Atomic int g_count;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t fnv1a(const unsigned char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* What a redacted snapshot holds instead of a cookie: never a cookie itself. */
static int placeholder(const unsigned char *s, size_t n)
{
	if (n == strlen(BD_SECRET_SHOWN) && !memcmp(s, BD_SECRET_SHOWN, n))
		return 1;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '*')
			return 0;
	return 1;
}

void bd_secret_add(const void *s, size_t n)
{
	if (!s || !n || placeholder(s, n))
		return;
	uint64_t h = fnv1a(s, n);
	pthread_mutex_lock(&g_lock);
	int k = atomic_load(&g_count), dup = 0;
	for (int i = 0; i < k; i++)
		dup |= g_set[i].len == n && g_set[i].hash == h;
	if (!dup && k < MAX_SECRETS) {
		g_set[k].len = n;
		g_set[k].hash = h;
		atomic_store(&g_count, k + 1);
	}
	pthread_mutex_unlock(&g_lock);
}

/* The VM's generated cookie: 20 characters A-Z (auth.erl, make_cookie). */
static int generated_shape(const unsigned char *s, size_t n)
{
	if (n != 20)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return 0;
	return 1;
}

int bd_secret_is(const void *s, size_t n)
{
	if (!s || !n)
		return 0;
	if (generated_shape(s, n))
		return 1;
	int k = atomic_load(&g_count);
	if (!k)
		return 0;
	uint64_t h = 0;
	int hashed = 0;
	for (int i = 0; i < k; i++)
		if (g_set[i].len == n) {
			if (!hashed)
				h = fnv1a(s, n), hashed = 1;
			if (g_set[i].hash == h)
				return 1;
		}
	return 0;
}

int bd_secret_is_atom_text(const char *s, size_t n)
{
	if (n >= 2 && s[0] == '\'' && s[n - 1] == '\'' && !memchr(s + 1, '\\', n - 2))
		return bd_secret_is(s + 1, n - 2);
	return bd_secret_is(s, n);
}

/* ---- learning from a model ---- */

static void add_text_term(const bd_term *t)
{
	if (!t)
		return;
	if (t->kind == BD_T_ATOM) {
		bd_secret_add(t->u.s, t->n);
	} else if (t->kind == BD_T_BINARY && t->u.bin.data && t->n == t->u.bin.size) {
		bd_secret_add(t->u.bin.data, t->n);
	} else if (t->kind == BD_T_CONS) {
		char buf[256];
		size_t n = 0;
		for (; t && t->kind == BD_T_CONS && n < sizeof buf; n++) {
			const bd_term *h = t->u.elems[0];
			if (!h || h->kind != BD_T_INT || h->u.i < 0 || h->u.i > 255)
				return;
			buf[n] = (char)h->u.i;
			t = t->u.elems[1];
		}
		if (t && t->kind == BD_T_NIL)
			bd_secret_add(buf, n);
	}
}

/* {setcookie, [Cookie]} (init's arguments) anywhere in t, bounded. */
static void find_setcookie(const bd_term *t, int depth, int *budget)
{
	if (!t || depth > 12 || --*budget < 0)
		return;
	if (t->kind == BD_T_TUPLE && t->n == 2 && bd_term_is_atom(t->u.elems[0], "setcookie")) {
		const bd_term *l = t->u.elems[1];
		for (int i = 0; l && l->kind == BD_T_CONS && i < 8; i++, l = l->u.elems[1])
			add_text_term(l->u.elems[0]);
		return;
	}
	if (t->kind == BD_T_TUPLE || t->kind == BD_T_MAP)
		for (uint32_t i = 0; i < (t->kind == BD_T_MAP ? 2 * t->n : t->n); i++)
			find_setcookie(t->u.elems[i], depth + 1, budget);
	else if (t->kind == BD_T_CONS)
		for (int i = 0; t && t->kind == BD_T_CONS && i < 4096; i++, t = t->u.elems[1])
			find_setcookie(t->u.elems[0], depth + 1, budget);
}

/* Every term on the stack of process name (the state of a server is there). */
static void scan_stack(const bd_model *m, const char *name, int auth)
{
	const bd_proc *p = bd_proc_find(m, name);
	bd_heap *h = NULL;
	bd_error err = {0};
	bd_frame *fr;
	size_t nf;
	if (!p || bd_heap_open(&h, m, p, &err))
		return;
	if (bd_heap_stack(h, &fr, &nf, &err) == 0) {
		int budget = 20000;
		for (size_t i = 0; i < nf; i++)
			for (uint32_t k = 0; k < fr[i].nslots; k++) {
				const bd_term *t = fr[i].slots[k].term;
				if (auth && t && t->kind == BD_T_TUPLE && t->n == 3 &&
				    bd_term_is_atom(t->u.elems[0], "state") && t->u.elems[1] &&
				    t->u.elems[1]->kind == BD_T_ATOM &&
				    !bd_term_is_atom(t->u.elems[1], "nocookie"))
					add_text_term(t->u.elems[1]);
				if (!auth)
					find_setcookie(t, 0, &budget);
			}
	}
	bd_heap_free(h);
}

void bd_secret_learn(const bd_model *m)
{
	if (!m)
		return;
	bd_model *mm = (bd_model *)m; /* a mutable cache flag, like the literal index */
	int expected = 0;
	if (!atomic_compare_exchange_strong(&mm->secrets_learned, &expected, 1))
		return;
	scan_stack(m, "auth", 1);
	scan_stack(m, "init", 0);
}
