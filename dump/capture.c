/* Live capture over ei (include/beamdump/capture.h): the connection (epmd lookup,
 * handshake), rpc calls with a poll loop that honours a stop flag, and the reply
 * decoders that fill a bd_live builder. Only read-only BIFs are called, through rex,
 * with external funs (EXPORT_EXT) for batching, so no code is loaded on the node; the
 * one exception is sys:get_state/2 of a few alarm managers (collect_states). */
#define _GNU_SOURCE
#define _REENTRANT /* libei.a is the thread-safe build: erl_errno is per thread */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ei.h>

#include "beamdump/capture.h"
#include "beamdump/progress.h"

enum { MAX_REMOTE = 32, MAX_BINS_PER_PROC = 1 << 17, ETF_MSG_MAX = 1u << 20 };

struct bd_capture {
	ei_cnode ec;
	int fd;                 /* -1 once the connection is lost */
	char node[MAXATOMLEN_UTF8];
	char *cookie;           /* locked page, zeroed on close */
	size_t cookie_len, cookie_map;
	char remote[MAX_REMOTE][MAXATOMLEN_UTF8]; /* other nodes seen in pids */
	int nremote;
	uint64_t calls, bytes_in;
};

/* ---- time ---- */
static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
	struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&t, &t) && errno == EINTR)
		break; /* a signal ends the pause: the caller checks its stop flag */
}

/* ---- connecting ---- */
static int set_why(bd_capture_why *why, bd_capture_why w)
{
	if (why)
		*why = w;
	return 0;
}

/* TCP connect with a timeout; returns the fd or -1 (errno set). */
static int tcp_connect(const struct sockaddr_in *sa, unsigned tmo_ms)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	struct pollfd p = {fd, POLLOUT, 0};
	int r;
	while ((r = poll(&p, 1, (int)tmo_ms)) < 0 && errno == EINTR)
		;
	int soerr = 0;
	socklen_t l = sizeof soerr;
	if (r == 0)
		soerr = ETIMEDOUT;
	else if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &l) < 0)
		soerr = errno;
	if (soerr) {
		close(fd);
		errno = soerr;
		return -1;
	}
	return fd;
}

static int read_full(int fd, unsigned char *b, size_t n, unsigned tmo_ms)
{
	size_t got = 0;
	while (got < n) {
		struct pollfd p = {fd, POLLIN, 0};
		int r = poll(&p, 1, (int)tmo_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		ssize_t k = read(fd, b + got, n - got);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

/* Ask epmd on host for the distribution port of alive (PORT_PLEASE2_REQ). */
static int epmd_port(const char *host, const char *alive, unsigned tmo_ms, struct in_addr *addr,
		     int *port, bd_capture_why *why, bd_error *err)
{
	struct addrinfo hints = {0}, *res = NULL;
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	int g = getaddrinfo(host, NULL, &hints, &res);
	if (g || !res) {
		set_why(why, BD_CAPTURE_NO_HOST);
		return bd_error_set(err, BD_ENOTFOUND, 0, "cannot resolve host '%s': %s", host,
				    gai_strerror(g));
	}
	struct sockaddr_in sa = *(struct sockaddr_in *)res->ai_addr;
	freeaddrinfo(res);
	*addr = sa.sin_addr;
	const char *ep = getenv("ERL_EPMD_PORT");
	sa.sin_port = htons(ep && atoi(ep) > 0 ? (uint16_t)atoi(ep) : 4369);
	int fd = tcp_connect(&sa, tmo_ms);
	if (fd < 0) {
		set_why(why, BD_CAPTURE_NO_EPMD);
		return bd_error_set(err, BD_ENOTFOUND, errno,
				    "no epmd on %s (%s): is a node running there?", host,
				    strerror(errno));
	}
	size_t al = strlen(alive);
	unsigned char req[3 + 256];
	req[0] = (unsigned char)((al + 1) >> 8);
	req[1] = (unsigned char)(al + 1);
	req[2] = 122; /* PORT_PLEASE2_REQ */
	memcpy(req + 3, alive, al);
	unsigned char resp[4];
	int ok = write(fd, req, 3 + al) == (ssize_t)(3 + al) && read_full(fd, resp, 2, tmo_ms) == 0;
	if (ok && resp[0] == 119 && resp[1] == 0)
		ok = read_full(fd, resp + 2, 2, tmo_ms) == 0;
	close(fd);
	if (!ok || resp[0] != 119) {
		set_why(why, BD_CAPTURE_NO_EPMD);
		return bd_error_set(err, BD_ENOTFOUND, 0, "epmd on %s did not answer", host);
	}
	if (resp[1] != 0) {
		set_why(why, BD_CAPTURE_NO_NODE);
		return bd_error_set(err, BD_ENOTFOUND, 0,
				    "no node named '%s' on %s (epmd does not know it)", alive, host);
	}
	*port = resp[2] << 8 | resp[3];
	return 0;
}

/* A page of locked memory for the cookie: never swapped, never in a core dump. */
static char *secret_copy(const char *s, size_t n, size_t *map)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	*map = (n + pg) / pg * pg;
	char *p = mmap(NULL, *map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	(void)mlock(p, *map);
#ifdef MADV_DONTDUMP
	(void)madvise(p, *map, MADV_DONTDUMP);
#endif
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

static void secret_free(char *p, size_t n, size_t map)
{
	if (!p)
		return;
	explicit_bzero(p, n);
	munlock(p, map);
	munmap(p, map);
}

int bd_capture_connect(bd_capture **out, const char *node, const char *cookie,
		       size_t cookie_len, unsigned timeout_ms, bd_capture_why *why,
		       bd_error *err)
{
	*out = NULL;
	set_why(why, BD_CAPTURE_OK);
	const char *at = strchr(node, '@');
	size_t nl = strlen(node);
	if (!at || at == node || !at[1] || nl >= MAXATOMLEN || (size_t)(at - node) > 200 ||
	    cookie_len == 0 || cookie_len > EI_MAX_COOKIE_SIZE) {
		set_why(why, BD_CAPTURE_BAD_NAME);
		return bd_error_set(err, BD_EUSAGE, 0,
				    cookie_len ? "node name '%s' is not name@host"
					       : "empty cookie (for node '%s')",
				    node);
	}
	char alive[256], host[256];
	snprintf(alive, sizeof alive, "%.*s", (int)(at - node), node);
	snprintf(host, sizeof host, "%s", at + 1);
	struct in_addr addr;
	int port = 0;
	int rc = epmd_port(host, alive, timeout_ms, &addr, &port, why, err);
	if (rc)
		return rc;
	bd_capture *c = calloc(1, sizeof *c);
	if (!c)
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	c->fd = -1;
	snprintf(c->node, sizeof c->node, "%s", node);
	c->cookie = secret_copy(cookie, cookie_len, &c->cookie_map);
	c->cookie_len = cookie_len;
	if (!c->cookie) {
		free(c);
		return bd_error_set(err, BD_ENOMEM, 0, "out of memory");
	}
	static unsigned serial;
	char me_alive[64], me[64 + 256];
	snprintf(me_alive, sizeof me_alive, "beamdump_%ld_%u", (long)getpid(), serial++);
	snprintf(me, sizeof me, "%s@%s", me_alive, host);
	ei_init();
	ei_set_tracelevel(0); /* ei's trace output could name the handshake */
	struct in_addr dummy = {0};
	if (ei_connect_xinit(&c->ec, host, me_alive, me, &dummy, c->cookie,
			     (unsigned)time(NULL) & 0x7fffffff) < 0) {
		bd_capture_close(c);
		return bd_error_set(err, BD_EIO, 0, "cannot set up the C node (ei)");
	}
	c->fd = ei_xconnect_host_port_tmo(&c->ec, (Erl_IpAddr)&addr, port, timeout_ms);
	/* The handshake is done (or failed): ei needs the cookie no longer. */
	explicit_bzero(c->ec.ei_connect_cookie, sizeof c->ec.ei_connect_cookie);
	if (c->fd < 0) {
		int e = erl_errno;
		bd_capture_close(c);
		if (e == ECONNREFUSED || e == ETIMEDOUT || e == EHOSTUNREACH) {
			set_why(why, BD_CAPTURE_REFUSED);
			return bd_error_set(err, BD_EIO, e, "cannot connect to %s (port %d): %s",
					    node, port, strerror(e));
		}
		set_why(why, BD_CAPTURE_AUTH);
		return bd_error_set(err, BD_EIO, 0,
				    "authentication failed: %s refused the handshake (wrong cookie?)",
				    node);
	}
	*out = c;
	return 0;
}

void bd_capture_close(bd_capture *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		ei_close_connection(c->fd);
	explicit_bzero(c->ec.ei_connect_cookie, sizeof c->ec.ei_connect_cookie);
	secret_free(c->cookie, c->cookie_len, c->cookie_map);
	free(c);
}

const char *bd_capture_node(const bd_capture *c) { return c->node; }

int bd_capture_idle(bd_capture *c, unsigned ms, volatile sig_atomic_t *stop)
{
	double end = now_s() + ms / 1000.0;
	ei_x_buff x;
	ei_x_new(&x);
	int rc = 0;
	while (c->fd >= 0 && !(stop && *stop)) {
		double left = end - now_s();
		if (left <= 0)
			break;
		struct pollfd p = {c->fd, POLLIN, 0};
		int r = poll(&p, 1, left > 0.2 ? 200 : (int)(left * 1000) + 1);
		if (r <= 0)
			continue;
		erlang_msg msg;
		x.index = 0;
		/* Ticks are answered inside ei; anything else is dropped. */
		int got = ei_xreceive_msg_tmo(c->fd, &msg, &x, 5000);
		if (got < 0 && !(stop && *stop)) {
			ei_close_connection(c->fd);
			c->fd = -1;
			rc = BD_EIO;
		}
	}
	ei_x_free(&x);
	return rc;
}

/* ---- rpc ---- */
typedef struct call {
	bd_capture *c;
	const bd_capture_opts *o;
	bd_live *lv;
	bd_error *err;
	const char *step;   /* what is being collected, for messages */
	int word_size;
	int otp;
	int stopped;        /* stop flag seen */
	int lost;           /* connection lost or call timed out */
	bd_pid *gl;         /* group leader per process row (applications) */
	size_t ngl;
	bd_pid own;         /* the node's process of our own connection, or BD_PID_NONE */
	bd_pid own_ports[4]; /* and the ports it holds (the socket) */
	int nown_ports;
} call;

static int stop_requested(const call *k) { return k->o->stop && *k->o->stop; }

/* Wait for the {rex, Reply} of the call just sent; *idx = index of Reply in x. */
static int wait_reply(call *k, ei_x_buff *x, int *idx)
{
	bd_capture *c = k->c;
	double deadline = now_s() + k->o->timeout_ms / 1000.0;
	for (;;) {
		if (stop_requested(k)) {
			k->stopped = 1;
			return BD_EBUDGET;
		}
		struct pollfd p = {c->fd, POLLIN, 0};
		int r = poll(&p, 1, 100);
		if (r < 0 && errno != EINTR)
			goto lost;
		if (r <= 0) {
			if (now_s() > deadline) {
				k->lost = 1;
				return bd_error_set(k->err, BD_EIO, 0,
						    "%s: no reply from %s within %u ms", k->step,
						    c->node, k->o->timeout_ms);
			}
			continue;
		}
		erlang_msg msg;
		x->index = 0;
		int got = ei_rpc_from(&c->ec, c->fd, (int)k->o->timeout_ms, &msg, x);
		if (got == ERL_TICK)
			continue;
		if ((got == ERL_TIMEOUT || got < 0) && stop_requested(k)) {
			/* a signal cut the read short: the stream is out of step now */
			k->stopped = 1;
			ei_close_connection(c->fd);
			c->fd = -1;
			return BD_EBUDGET;
		}
		if (got == ERL_TIMEOUT || got < 0)
			goto lost;
		c->bytes_in += (uint64_t)x->index;
		int i = 0, ver, ar;
		char a[MAXATOMLEN_UTF8];
		if (ei_decode_version(x->buff, &i, &ver) || ei_decode_tuple_header(x->buff, &i, &ar) ||
		    ar != 2 || ei_decode_atom(x->buff, &i, a) || strcmp(a, "rex"))
			continue; /* not an rpc reply: not for us */
		*idx = i;
		/* {badrpc, Reason}: the call failed on the node. */
		int j = i, ar2;
		if (!ei_decode_tuple_header(x->buff, &j, &ar2) && ar2 == 2 &&
		    !ei_decode_atom(x->buff, &j, a) && !strcmp(a, "badrpc")) {
			char *s = NULL;
			ei_s_print_term(&s, x->buff, &j);
			bd_error_set(k->err, BD_EUNSUPPORTED, 0, "%s: the node answered badrpc: %.160s",
				     k->step, s ? s : "?");
			free(s);
			return BD_EUNSUPPORTED;
		}
		return 0;
	}
lost:
	k->lost = 1;
	ei_close_connection(c->fd);
	c->fd = -1;
	return bd_error_set(k->err, BD_EIO, 0, "%s: connection to %s lost", k->step, c->node);
}

/* rpc:call(Node, mod, fun, args): args is the encoded argument list (no version). */
static int rpc(call *k, const char *mod, const char *fun, const ei_x_buff *args, ei_x_buff *x,
	       int *idx)
{
	bd_capture *c = k->c;
	if (c->fd < 0) {
		k->lost = 1;
		return bd_error_set(k->err, BD_EIO, 0, "%s: not connected to %s", k->step, c->node);
	}
	if (stop_requested(k)) {
		k->stopped = 1;
		return BD_EBUDGET;
	}
	c->calls++;
	if (ei_rpc_to(&c->ec, c->fd, (char *)mod, (char *)fun, args->buff, args->index) < 0) {
		k->lost = 1;
		ei_close_connection(c->fd);
		c->fd = -1;
		return bd_error_set(k->err, BD_EIO, 0, "%s: connection to %s lost", k->step, c->node);
	}
	return wait_reply(k, x, idx);
}

/* ---- encoding helpers ---- */
static void enc_export(ei_x_buff *x, const char *mod, const char *fun, int arity)
{
	char tag = ERL_EXPORT_EXT;
	ei_x_append_buf(x, &tag, 1);
	ei_x_encode_atom(x, mod);
	ei_x_encode_atom(x, fun);
	ei_x_encode_long(x, arity);
}

/* ---- decoding helpers (all skip what they cannot read) ---- */
static int type_of(const char *b, int i, int *size)
{
	int t, s;
	if (ei_get_type(b, &i, &t, &s))
		return -1;
	if (size)
		*size = s;
	return t;
}

static int skip(const char *b, int *i) { return ei_skip_term(b, i); }

/* After the n elements of a list decoded with ei_decode_list_header: its tail.
 * An empty list has none (ei_decode_list_header consumed the NIL). */
static void list_tail(const char *b, int *i, int n)
{
	if (n > 0)
		skip(b, i);
}

static int dec_atom(const char *b, int *i, char *out)
{
	return ei_decode_atom_as(b, i, out, MAXATOMLEN_UTF8, ERLANG_UTF8, NULL, NULL);
}

static int dec_u64(const char *b, int *i, uint64_t *v)
{
	EI_ULONGLONG u;
	int j = *i;
	if (ei_decode_ulonglong(b, &j, &u) == 0) {
		*i = j;
		*v = u;
		return 0;
	}
	*v = BD_UNKNOWN;
	return skip(b, i);
}

/* A string as STRING_EXT, a list of small integers, or []; copied into out. */
static int dec_text(const char *b, int *i, char *out, size_t cap)
{
	int size, t = type_of(b, *i, &size);
	out[0] = 0;
	if (t == ERL_STRING_EXT && (size_t)size < cap)
		return ei_decode_string(b, i, out);
	if (t == ERL_NIL_EXT)
		return skip(b, i);
	if (t == ERL_LIST_EXT) {
		int n, j = *i;
		size_t k = 0;
		if (ei_decode_list_header(b, &j, &n))
			return skip(b, i);
		for (int e = 0; e < n; e++) {
			long ch;
			if (ei_decode_long(b, &j, &ch))
				return skip(b, i);
			if (k + 1 < cap && ch > 0 && ch < 256)
				out[k++] = (char)ch;
		}
		out[k] = 0;
		if (type_of(b, j, NULL) != ERL_NIL_EXT)
			return skip(b, i);
		*i = j + 1;
		return 0;
	}
	return skip(b, i);
}

static uint32_t node_index(bd_capture *c, const char *node)
{
	if (!strcmp(node, c->node))
		return 0;
	for (int r = 0; r < c->nremote; r++)
		if (!strcmp(c->remote[r], node))
			return (uint32_t)r + 1;
	if (c->nremote == MAX_REMOTE)
		return MAX_REMOTE + 1;
	snprintf(c->remote[c->nremote], sizeof c->remote[0], "%s", node);
	return (uint32_t)++c->nremote;
}

static int dec_pid(bd_capture *c, const char *b, int *i, bd_pid *p)
{
	erlang_pid e;
	if (ei_decode_pid(b, i, &e)) {
		*p = BD_PID_NONE;
		return skip(b, i);
	}
	*p = (bd_pid){node_index(c, e.node), e.num, e.serial};
	return 0;
}

static int dec_port(bd_capture *c, const char *b, int *i, bd_pid *p)
{
	erlang_port e;
	if (ei_decode_port(b, i, &e)) {
		*p = BD_PID_NONE;
		return skip(b, i);
	}
	*p = (bd_pid){node_index(c, e.node), (uint32_t)e.id, 0};
	return 0;
}

static int is_pid_type(int t) { return t == ERL_PID_EXT || t == ERL_NEW_PID_EXT; }
static int is_port_type(int t)
{
	return t == ERL_PORT_EXT || t == ERL_NEW_PORT_EXT || t == ERL_V4_PORT_EXT;
}

/* {M,F,A} (A an integer or an argument list) as an interned "M:F/A", NULL if not. */
static const char *dec_mfa(bd_live *lv, const char *b, int *i)
{
	int ar, j = *i;
	char m[MAXATOMLEN_UTF8], f[MAXATOMLEN_UTF8];
	if (ei_decode_tuple_header(b, &j, &ar) || ar < 3 || dec_atom(b, &j, m) || dec_atom(b, &j, f)) {
		skip(b, i);
		return NULL;
	}
	long a;
	int t = type_of(b, j, NULL);
	if (t == ERL_LIST_EXT || t == ERL_NIL_EXT || t == ERL_STRING_EXT) {
		int n = 0, size = 0;
		if (t == ERL_STRING_EXT) {
			type_of(b, j, &size);
			n = size;
		} else if (t == ERL_LIST_EXT) {
			int k = j;
			ei_decode_list_header(b, &k, &n);
		}
		a = n;
	} else if (ei_decode_long(b, &j, &a)) {
		a = 0;
	}
	skip(b, i);
	return bd_live_mfa(lv, m, f, (unsigned)a);
}

static void ref_text(const erlang_ref *r, char *buf, size_t cap)
{
	unsigned n0 = r->len > 0 ? r->n[0] : 0, n1 = r->len > 1 ? r->n[1] : 0,
		 n2 = r->len > 2 ? r->n[2] : 0;
	snprintf(buf, cap, "#Ref<0.%u.%u.%u>", n2, n1, n0);
}

/* ---- system facts ---- */
static const char *const sysinfo_items[] = {
	"otp_release",  "version",     "system_version", "wordsize",   "process_count",
	"process_limit", "port_count", "port_limit",     "atom_count", "atom_limit",
	"ets_limit",    "schedulers",  "ets_count",
};
enum { SI_OTP, SI_VERSION, SI_SYSVER, SI_WORDSIZE, SI_PROCS, SI_PROCS_LIMIT, SI_PORTS,
       SI_PORTS_LIMIT, SI_ATOMS, SI_ATOMS_LIMIT, SI_ETS_LIMIT, SI_SCHEDULERS, SI_ETS_COUNT,
       SI__COUNT };

static int collect_sysinfo(call *k, int *schedulers)
{
	k->step = "system_info";
	bd_live *lv = k->lv;
	bd_node_info *ni = bd_live_node(lv);
	bd_limits *lim = bd_live_limits(lv);
	ei_x_buff a, x;
	int rc = 0, idx, n;
	ei_x_new(&x);
	/* ets_count is OTP 21.1+: ask without it when the node refuses. */
	for (int items = SI__COUNT; items >= SI__COUNT - 1; items--) {
		ei_x_new(&a);
		ei_x_encode_list_header(&a, 2);
		enc_export(&a, "erlang", "system_info", 1);
		ei_x_encode_list_header(&a, items);
		for (int i = 0; i < items; i++)
			ei_x_encode_atom(&a, sysinfo_items[i]);
		ei_x_encode_empty_list(&a);
		ei_x_encode_empty_list(&a);
		rc = rpc(k, "lists", "map", &a, &x, &idx);
		ei_x_free(&a);
		if (rc != BD_EUNSUPPORTED)
			break;
	}
	if (rc)
		goto out;
	const char *b = x.buff;
	if (ei_decode_list_header(b, &idx, &n) || n < SI__COUNT - 1) {
		rc = bd_error_set(k->err, BD_ECORRUPT, 0, "system_info: unexpected reply");
		goto out;
	}
	char text[1024];
	uint64_t v[SI__COUNT];
	for (int i = 0; i < n && i < SI__COUNT; i++) {
		v[i] = BD_UNKNOWN;
		if (i == SI_OTP || i == SI_VERSION || i == SI_SYSVER) {
			dec_text(b, &idx, text, sizeof text);
			size_t l = strlen(text);
			while (l && (text[l - 1] == '\n' || text[l - 1] == ' '))
				text[--l] = 0;
			const char *s = bd_live_str(lv, text, l);
			if (i == SI_OTP)
				ni->otp_release = s;
			else if (i == SI_VERSION)
				ni->erts_version = s;
			else
				ni->system_version = s;
		} else {
			dec_u64(b, &idx, &v[i]);
		}
	}
	if (n <= SI_ETS_COUNT)
		v[SI_ETS_COUNT] = BD_UNKNOWN;
	ni->word_size = v[SI_WORDSIZE] == 4 || v[SI_WORDSIZE] == 8 ? (int)v[SI_WORDSIZE] : 0;
	k->word_size = ni->word_size ? ni->word_size : 8;
	k->otp = ni->otp_release ? atoi(ni->otp_release) : 0;
	/* process_count counts the rpc worker that asks for it and our connection's
	 * process, port_count its socket: not the node's own */
	uint64_t ours = 1 + (bd_pid_valid(k->own) ? 1 : 0);
	lim->procs = v[SI_PROCS] != BD_UNKNOWN && v[SI_PROCS] >= ours ? v[SI_PROCS] - ours : v[SI_PROCS];
	lim->procs_limit = v[SI_PROCS_LIMIT];
	lim->ports = v[SI_PORTS] != BD_UNKNOWN && v[SI_PORTS] >= (uint64_t)k->nown_ports
			     ? v[SI_PORTS] - (uint64_t)k->nown_ports
			     : v[SI_PORTS];
	lim->ports_limit = v[SI_PORTS_LIMIT];
	lim->atoms = ni->atoms = v[SI_ATOMS];
	lim->atoms_limit = v[SI_ATOMS_LIMIT];
	lim->ets = v[SI_ETS_COUNT];
	lim->ets_limit = v[SI_ETS_LIMIT];
	*schedulers = v[SI_SCHEDULERS] != BD_UNKNOWN ? (int)v[SI_SCHEDULERS] : 0;
out:
	ei_x_free(&x);
	return rc;
}

static int collect_memory(call *k)
{
	k->step = "erlang:memory/0";
	ei_x_buff a, x;
	int idx, n;
	ei_x_new(&a);
	ei_x_new(&x);
	ei_x_encode_empty_list(&a);
	int rc = rpc(k, "erlang", "memory", &a, &x, &idx);
	const char *b = x.buff;
	bd_memory *mm = bd_live_memory(k->lv);
	static const struct { const char *n; size_t off; } f[] = {
		{"total", offsetof(bd_memory, total)},
		{"processes", offsetof(bd_memory, processes)},
		{"processes_used", offsetof(bd_memory, processes_used)},
		{"system", offsetof(bd_memory, system)},
		{"atom", offsetof(bd_memory, atom)},
		{"atom_used", offsetof(bd_memory, atom_used)},
		{"binary", offsetof(bd_memory, binary)},
		{"code", offsetof(bd_memory, code)},
		{"ets", offsetof(bd_memory, ets)},
		{"maximum", offsetof(bd_memory, maximum)},
	};
	if (!rc && !ei_decode_list_header(b, &idx, &n)) {
		for (int e = 0; e < n; e++) {
			int ar;
			char key[MAXATOMLEN_UTF8];
			uint64_t v;
			if (ei_decode_tuple_header(b, &idx, &ar) || ar != 2 || dec_atom(b, &idx, key))
				break;
			dec_u64(b, &idx, &v);
			for (size_t j = 0; j < sizeof f / sizeof *f; j++)
				if (!strcmp(key, f[j].n))
					*(uint64_t *)((char *)mm + f[j].off) = v;
		}
	}
	ei_x_free(&a);
	ei_x_free(&x);
	return rc;
}

/* statistics(Item) into x; idx at the value. */
static int statistics(call *k, const char *item, ei_x_buff *x, int *idx)
{
	ei_x_buff a;
	ei_x_new(&a);
	ei_x_encode_list_header(&a, 1);
	ei_x_encode_atom(&a, item);
	ei_x_encode_empty_list(&a);
	int rc = rpc(k, "erlang", "statistics", &a, x, idx);
	ei_x_free(&a);
	return rc;
}

typedef struct swt {
	int n;
	uint64_t id[1024], active[1024], total[1024];
} swt;

/* statistics(scheduler_wall_time): n = 0 when it is not enabled (we never enable it:
 * that would change the node's state). */
static int sample_wall_time(call *k, swt *s)
{
	k->step = "statistics(scheduler_wall_time)";
	ei_x_buff x;
	int idx, n, rc;
	ei_x_new(&x);
	s->n = 0;
	rc = statistics(k, "scheduler_wall_time", &x, &idx);
	if (!rc && !ei_decode_list_header(x.buff, &idx, &n)) {
		for (int e = 0; e < n && s->n < 1024; e++) {
			int ar;
			if (ei_decode_tuple_header(x.buff, &idx, &ar) || ar != 3)
				break;
			dec_u64(x.buff, &idx, &s->id[s->n]);
			dec_u64(x.buff, &idx, &s->active[s->n]);
			dec_u64(x.buff, &idx, &s->total[s->n]);
			s->n++;
		}
	}
	ei_x_free(&x);
	return rc == BD_EUNSUPPORTED ? 0 : rc;
}

static int collect_run_queues(call *k, int schedulers, const swt *w0, const swt *w1)
{
	k->step = "statistics(run_queue_lengths_all)";
	ei_x_buff x;
	int idx, n;
	ei_x_new(&x);
	int rc = statistics(k, "run_queue_lengths_all", &x, &idx);
	if (rc == BD_EUNSUPPORTED)
		rc = statistics(k, "run_queue_lengths", &x, &idx);
	/* A list of small integers: term_to_binary sends it as a string. */
	long lens[1024];
	int peek = idx;
	n = 0;
	if (!rc && ei_decode_intlist(x.buff, &peek, NULL, &n) == 0 && n > 0 && n <= 1024 &&
	    ei_decode_intlist(x.buff, &idx, lens, &n) == 0) {
		for (int e = 0; e < n; e++) {
			uint64_t len = lens[e] < 0 ? BD_UNKNOWN : (uint64_t)lens[e];
			bd_sched *s = bd_live_sched_add(k->lv);
			if (!s)
				break;
			if (e < schedulers || !schedulers) {
				s->id = (uint32_t)e + 1;
				s->type = BD_SCHED_NORMAL;
			} else {
				s->type = e == schedulers ? BD_SCHED_DIRTY_CPU_RQ : BD_SCHED_DIRTY_IO_RQ;
			}
			s->rq_normal = len;
		}
	}
	ei_x_free(&x);
	/* Scheduler utilisation between the two samples (active / total time). Ids
	 * beyond the normal schedulers are the dirty ones: rows of their own. */
	for (int i = 0; w0->n && i < w1->n; i++)
		for (int j = 0; j < w0->n; j++) {
			if (w0->id[j] != w1->id[i] || w1->total[i] <= w0->total[j])
				continue;
			bd_sched *s = bd_live_sched_find(k->lv, (uint32_t)w1->id[i]);
			if (!s && (s = bd_live_sched_add(k->lv))) {
				s->id = (uint32_t)w1->id[i];
				s->type = BD_SCHED_OTHER;
			}
			if (s)
				s->utilization = (double)(w1->active[i] - w0->active[j]) /
						 (double)(w1->total[i] - w0->total[j]);
		}
	return rc == BD_EUNSUPPORTED ? 0 : rc;
}

/* ---- the process table ---- */
typedef struct prow {
	int pid_off, pid_len; /* the pid's ETF bytes in the processes() reply */
	size_t row;           /* model row, SIZE_MAX if the process was gone */
} prow;

typedef struct ptab {
	ei_x_buff pids;       /* reply of erlang:processes() */
	prow *p;
	size_t n;
} ptab;

typedef void (*item_fn)(call *k, size_t row, const char *b, int *i);

static bd_proc *row_of(call *k, size_t row) { return bd_live_proc_at(k->lv, row); }

static void it_name(call *k, size_t row, const char *b, int *i)
{
	char a[MAXATOMLEN_UTF8];
	if (type_of(b, *i, NULL) == ERL_NIL_EXT || dec_atom(b, i, a)) {
		skip(b, i);
		return;
	}
	row_of(k, row)->name = bd_live_atom(k->lv, a, strlen(a));
}

static void it_initial_call(call *k, size_t row, const char *b, int *i)
{
	const char *m = dec_mfa(k->lv, b, i);
	row_of(k, row)->spawned_as = m;
}

static void it_current_function(call *k, size_t row, const char *b, int *i)
{
	const char *m = dec_mfa(k->lv, b, i);
	bd_proc *p = row_of(k, row);
	p->current_call = m;
	if (!p->pc)
		p->pc = p->pc_mfa = m;
}

static void it_status(call *k, size_t row, const char *b, int *i)
{
	static const struct { const char *n; bd_proc_state s; } st[] = {
		{"running", BD_PS_RUNNING},     {"runnable", BD_PS_SCHEDULED},
		{"waiting", BD_PS_WAITING},     {"exiting", BD_PS_EXITING},
		{"garbage_collecting", BD_PS_GARBING}, {"suspended", BD_PS_SUSPENDED},
	};
	char a[MAXATOMLEN_UTF8];
	if (dec_atom(b, i, a)) {
		skip(b, i);
		return;
	}
	for (size_t j = 0; j < sizeof st / sizeof *st; j++)
		if (!strcmp(a, st[j].n))
			row_of(k, row)->state = st[j].s;
}

#define U64_ITEM(fn, field)                                                   \
	static void fn(call *k, size_t row, const char *b, int *i)           \
	{                                                                     \
		dec_u64(b, i, &row_of(k, row)->field);                       \
	}
U64_ITEM(it_msgq, msgq_len)
U64_ITEM(it_reductions, reductions)
U64_ITEM(it_memory, memory)

static void it_total_heap(call *k, size_t row, const char *b, int *i)
{
	/* total_heap_size: young + old heap + fragments (words); stored as the old-heap
	 * share once heap_size is known (below). */
	dec_u64(b, i, &row_of(k, row)->old_heap);
}

static void it_heap(call *k, size_t row, const char *b, int *i)
{
	/* heap_size: the young generation, which holds the stack: "Stack+heap". */
	bd_proc *p = row_of(k, row);
	dec_u64(b, i, &p->stack_heap);
	if (p->old_heap != BD_UNKNOWN && p->stack_heap != BD_UNKNOWN)
		p->old_heap = p->old_heap > p->stack_heap ? p->old_heap - p->stack_heap : 0;
}

static void it_parent(call *k, size_t row, const char *b, int *i)
{
	if (is_pid_type(type_of(b, *i, NULL)))
		dec_pid(k->c, b, i, &row_of(k, row)->spawned_by);
	else
		skip(b, i);
}

static void add_link(call *k, bd_link_kind kind, bd_target_kind tk, bd_pid id, const char *name,
		     const char *node)
{
	bd_link l = {(uint8_t)kind, (uint8_t)tk, id, name, node, NULL};
	bd_live_link_add(k->lv, &l);
}

/* One pid or port of a links / monitored_by list. */
static void link_target(call *k, bd_link_kind kind, const char *b, int *i)
{
	int t = type_of(b, *i, NULL);
	bd_pid id;
	if (is_pid_type(t)) {
		dec_pid(k->c, b, i, &id);
		add_link(k, kind, BD_TGT_PID, id, NULL, NULL);
	} else if (is_port_type(t)) {
		dec_port(k->c, b, i, &id);
		add_link(k, kind, BD_TGT_PORT, id, NULL, NULL);
	} else {
		skip(b, i); /* NIF resource monitors (references) */
	}
}

static void links_list(call *k, bd_link_kind kind, const char *b, int *i)
{
	int n, j = *i;
	if (ei_decode_list_header(b, &j, &n)) {
		skip(b, i);
		return;
	}
	for (int e = 0; e < n; e++)
		link_target(k, kind, b, &j);
	*i = j;
	list_tail(b, i, n);
}

static void it_links(call *k, size_t row, const char *b, int *i)
{
	(void)row;
	links_list(k, BD_LINK, b, i);
}

static void it_monitored_by(call *k, size_t row, const char *b, int *i)
{
	(void)row;
	links_list(k, BD_MON_FROM, b, i);
}

/* [{process, Pid | {Name, Node}} | {port, Port | {Name, Node}}] */
static void it_monitors(call *k, size_t row, const char *b, int *i)
{
	(void)row;
	int n, j = *i;
	if (ei_decode_list_header(b, &j, &n)) {
		skip(b, i);
		return;
	}
	for (int e = 0; e < n; e++) {
		int ar, start = j;
		char kind[MAXATOMLEN_UTF8];
		if (ei_decode_tuple_header(b, &j, &ar) || ar != 2 || dec_atom(b, &j, kind)) {
			j = start;
			skip(b, &j);
			continue;
		}
		int t = type_of(b, j, NULL);
		if (t == ERL_SMALL_TUPLE_EXT) {
			char nm[MAXATOMLEN_UTF8], nd[MAXATOMLEN_UTF8];
			int ar2, q = j;
			if (!ei_decode_tuple_header(b, &q, &ar2) && ar2 == 2 && !dec_atom(b, &q, nm) &&
			    !dec_atom(b, &q, nd))
				add_link(k, BD_MON_TO, BD_TGT_NAME, BD_PID_NONE,
					 bd_live_atom(k->lv, nm, strlen(nm)), bd_live_str(k->lv, nd, strlen(nd)));
			skip(b, &j);
		} else {
			link_target(k, BD_MON_TO, b, &j);
		}
	}
	*i = j;
	list_tail(b, i, n);
}

/* [{Addr, Size, Refc}]: one entry per reference (ProcBin), each with the whole
 * binary's size, garbage included: 300,000 messages cut from one buffer list that
 * buffer 300,000 times. A binary counts once per process (by its address). */
typedef struct bin_ent {
	uint64_t addr, size;
} bin_ent;

static int cmp_bin_ent(const void *a, const void *b)
{
	uint64_t x = ((const bin_ent *)a)->addr, y = ((const bin_ent *)b)->addr;
	return x < y ? -1 : x > y;
}

static void it_binary(call *k, size_t row, const char *b, int *i)
{
	int n, j = *i;
	uint64_t sum = 0;
	if (ei_decode_list_header(b, &j, &n)) {
		skip(b, i);
		return;
	}
	bin_ent *es = n > 0 ? malloc((size_t)n * sizeof *es) : NULL;
	size_t ne = 0;
	for (int e = 0; e < n; e++) {
		int ar, start = j;
		uint64_t addr, size, refc;
		if (ei_decode_tuple_header(b, &j, &ar) || ar != 3) {
			j = start;
			skip(b, &j);
			continue;
		}
		dec_u64(b, &j, &addr);
		dec_u64(b, &j, &size);
		dec_u64(b, &j, &refc);
		if (es && addr != BD_UNKNOWN && size != BD_UNKNOWN)
			es[ne++] = (bin_ent){addr, size};
	}
	*i = j;
	list_tail(b, i, n);
	if (ne)
		qsort(es, ne, sizeof *es, cmp_bin_ent);
	size_t kept = 0;
	for (size_t e = 0; e < ne; e++) {
		if (e && es[e].addr == es[e - 1].addr)
			continue;
		sum += es[e].size;
		if (kept++ < MAX_BINS_PER_PROC)
			bd_live_proc_binary(k->lv, row, es[e].addr, es[e].size);
	}
	free(es);
	bd_proc *p = row_of(k, row);
	/* BinVHeap is in words, like the dump's; here each binary once. */
	p->bin_vheap = (sum + (uint64_t)k->word_size - 1) / (uint64_t)k->word_size;
	p->old_bin_vheap = 0;
}

/* Only the keys the analyses read: supervision ancestry, the real initial call, and
 * the names a process is known by (bd_proc_name). */
static void it_dictionary(call *k, size_t row, const char *b, int *i)
{
	static const char *const keep[] = {"$ancestors", "$initial_call", "$process_label",
					   "process_name", "connection_user_provided_name"};
	int n, j = *i;
	if (ei_decode_list_header(b, &j, &n)) {
		skip(b, i);
		return;
	}
	for (int e = 0; e < n; e++) {
		int ar, start = j;
		char key[MAXATOMLEN_UTF8];
		if (ei_decode_tuple_header(b, &j, &ar) || ar != 2 ||
		    type_of(b, j, NULL) == ERL_SMALL_TUPLE_EXT || dec_atom(b, &j, key)) {
			j = start;
			skip(b, &j);
			continue;
		}
		int v = j;
		skip(b, &j);
		for (size_t q = 0; q < sizeof keep / sizeof *keep; q++)
			if (!strcmp(key, keep[q]))
				bd_live_proc_dict(k->lv, row, key, b + v, (size_t)(j - v));
	}
	*i = j;
	list_tail(b, i, n);
}

/* The group leader: an application's processes have its master as group leader
 * (what application:get_application/1 reads); resolved after the table is read. */
static void it_group_leader(call *k, size_t row, const char *b, int *i)
{
	if (!is_pid_type(type_of(b, *i, NULL))) {
		skip(b, i);
		return;
	}
	if (row >= k->ngl) {
		size_t cap = k->ngl ? 2 * k->ngl : 1024;
		while (cap <= row)
			cap *= 2;
		bd_pid *g = realloc(k->gl, cap * sizeof *g);
		if (!g) {
			skip(b, i);
			return;
		}
		for (size_t q = k->ngl; q < cap; q++)
			g[q] = BD_PID_NONE;
		k->gl = g;
		k->ngl = cap;
	}
	dec_pid(k->c, b, i, &k->gl[row]);
}

static const struct item {
	const char *name;
	item_fn fn;
	int min_otp;
} items[] = {
	{"registered_name", it_name, 0},
	{"initial_call", it_initial_call, 0},
	{"current_function", it_current_function, 0},
	{"status", it_status, 0},
	{"message_queue_len", it_msgq, 0},
	{"reductions", it_reductions, 0},
	{"memory", it_memory, 0},
	{"total_heap_size", it_total_heap, 0},
	{"heap_size", it_heap, 0},
	{"binary", it_binary, 0},
	{"links", it_links, 0},
	{"monitors", it_monitors, 0},
	{"monitored_by", it_monitored_by, 0},
	{"dictionary", it_dictionary, 0},
	{"group_leader", it_group_leader, 0},
	{"parent", it_parent, 25},
};

/* Applications: ets:match(ac_tab, {{application_master, '$1'}, '$2'}) lists each
 * running application with its master (application_controller's own table, read
 * the way application:get_application/1 reads it); a process belongs to the
 * application whose master is its group leader, or is that master. */
static int collect_apps(call *k)
{
	k->step = "ets:match(ac_tab, application masters)";
	ei_x_buff a, x;
	int idx, n;
	ei_x_new(&a);
	ei_x_new(&x);
	ei_x_encode_list_header(&a, 2);
	ei_x_encode_atom(&a, "ac_tab");
	ei_x_encode_tuple_header(&a, 2);
	ei_x_encode_tuple_header(&a, 2);
	ei_x_encode_atom(&a, "application_master");
	ei_x_encode_atom(&a, "$1");
	ei_x_encode_atom(&a, "$2");
	ei_x_encode_empty_list(&a);
	int rc = rpc(k, "ets", "match", &a, &x, &idx);
	ei_x_free(&a);
	if (rc == BD_EUNSUPPORTED)
		rc = 0; /* no application controller: no applications */
	if (!rc && !ei_decode_list_header(x.buff, &idx, &n)) {
		for (int e = 0; e < n; e++) {
			int m, start = idx;
			char app[MAXATOMLEN_UTF8];
			bd_pid master;
			if (ei_decode_list_header(x.buff, &idx, &m) || m != 2 || dec_atom(x.buff, &idx, app) ||
			    !is_pid_type(type_of(x.buff, idx, NULL)) || dec_pid(k->c, x.buff, &idx, &master)) {
				idx = start;
				skip(x.buff, &idx);
				continue;
			}
			list_tail(x.buff, &idx, m);
			const char *name = bd_live_atom(k->lv, app, strlen(app));
			size_t nrows = bd_live_proc_count(k->lv);
			for (size_t r = 0; r < nrows; r++) {
				bd_proc *p = bd_live_proc_at(k->lv, r);
				if (bd_pid_eq(p->pid, master) || (r < k->ngl && bd_pid_eq(k->gl[r], master)))
					bd_live_proc_set_application(k->lv, r, name);
			}
		}
	}
	ei_x_free(&x);
	return rc;
}

/* Our own connection: net_kernel's owner of it and its ports (the socket) exist on the
 * node only while we are connected, so they are not counted as the node's (as the rpc
 * worker that answers each call is not). Best-effort: a node that does not answer keeps
 * them. */
static void own_connection(call *k)
{
	bd_error saved = *k->err;
	ei_x_buff a, x;
	int idx, n, ar;
	char key[MAXATOMLEN_UTF8];
	ei_x_new(&a);
	ei_x_new(&x);
	k->step = "net_kernel:node_info/1";
	ei_x_encode_list_header(&a, 1);
	ei_x_encode_atom(&a, ei_thisnodename(&k->c->ec));
	ei_x_encode_empty_list(&a);
	int pid_at = -1, pid_len = 0;
	if (rpc(k, "net_kernel", "node_info", &a, &x, &idx) == 0 &&
	    !ei_decode_tuple_header(x.buff, &idx, &ar) && ar == 2 && !dec_atom(x.buff, &idx, key) &&
	    !strcmp(key, "ok") && !ei_decode_list_header(x.buff, &idx, &n)) {
		for (int e = 0; e < n && pid_at < 0; e++) {
			int j = idx;
			if (!ei_decode_tuple_header(x.buff, &j, &ar) && ar == 2 &&
			    !dec_atom(x.buff, &j, key) && !strcmp(key, "owner") &&
			    is_pid_type(type_of(x.buff, j, NULL))) {
				pid_at = j;
				dec_pid(k->c, x.buff, &j, &k->own);
				pid_len = j - pid_at;
			}
			if (skip(x.buff, &idx))
				break;
		}
	}
	ei_x_free(&a);
	if (pid_at >= 0) { /* process_info(Owner, links): its ports */
		k->step = "process_info(links) of the connection";
		ei_x_buff r;
		ei_x_new(&r);
		ei_x_new(&a);
		ei_x_encode_list_header(&a, 2);
		ei_x_append_buf(&a, x.buff + pid_at, pid_len);
		ei_x_encode_atom(&a, "links");
		ei_x_encode_empty_list(&a);
		if (rpc(k, "erlang", "process_info", &a, &r, &idx) == 0 &&
		    !ei_decode_tuple_header(r.buff, &idx, &ar) && ar == 2 && !skip(r.buff, &idx) &&
		    !ei_decode_list_header(r.buff, &idx, &n))
			for (int e = 0; e < n; e++) {
				if (is_port_type(type_of(r.buff, idx, NULL)) && k->nown_ports < 4)
					dec_port(k->c, r.buff, &idx, &k->own_ports[k->nown_ports++]);
				else if (skip(r.buff, &idx))
					break;
			}
		ei_x_free(&a);
		ei_x_free(&r);
	}
	ei_x_free(&x);
	if (!k->lost && !k->stopped)
		*k->err = saved; /* a refusal here is not the capture's failure */
}

static int own_port(const call *k, bd_pid id)
{
	for (int i = 0; i < k->nown_ports; i++)
		if (bd_pid_eq(k->own_ports[i], id))
			return 1;
	return 0;
}

static int collect_pids(call *k, ptab *t)
{
	k->step = "erlang:processes/0";
	ei_x_buff a;
	int idx, n;
	ei_x_new(&a);
	ei_x_encode_empty_list(&a);
	int rc = rpc(k, "erlang", "processes", &a, &t->pids, &idx);
	ei_x_free(&a);
	if (rc)
		return rc;
	const char *b = t->pids.buff;
	if (ei_decode_list_header(b, &idx, &n) || n < 0)
		return bd_error_set(k->err, BD_ECORRUPT, 0, "processes: unexpected reply");
	t->p = calloc((size_t)n + 1, sizeof *t->p);
	if (!t->p)
		return bd_error_set(k->err, BD_ENOMEM, 0, "out of memory");
	for (int e = 0; e < n; e++) {
		int s = idx;
		if (skip(b, &idx))
			return bd_error_set(k->err, BD_ECORRUPT, 0, "processes: bad pid");
		t->p[t->n++] = (prow){s, idx - s, SIZE_MAX};
	}
	return 0;
}

/* One {Item, Value} list of process_info/2 into a new row. */
static void decode_proc(call *k, const ptab *t, size_t e, const char *b, int *i,
			const struct item *const *its, int nits)
{
	int n, j = *i;
	if (type_of(b, j, NULL) != ERL_LIST_EXT || ei_decode_list_header(b, &j, &n)) {
		skip(b, i); /* undefined: the process is gone */
		return;
	}
	bd_pid pid;
	int pj = t->p[e].pid_off;
	dec_pid(k->c, t->pids.buff, &pj, &pid);
	if (bd_pid_valid(k->own) && bd_pid_eq(pid, k->own)) {
		skip(b, i); /* our own connection: not the node's */
		return;
	}
	if (!bd_live_proc_add(k->lv, pid)) {
		skip(b, i);
		return;
	}
	size_t row = bd_live_proc_count(k->lv) - 1;
	((prow *)t->p)[e].row = row;
	for (int q = 0; q < n; q++) {
		int ar, start = j;
		char key[MAXATOMLEN_UTF8];
		if (ei_decode_tuple_header(b, &j, &ar) || ar != 2 || dec_atom(b, &j, key)) {
			j = start;
			skip(b, &j);
			continue;
		}
		int done = 0;
		for (int it = 0; it < nits && !done; it++)
			if (!strcmp(key, its[it]->name)) {
				its[it]->fn(k, row, b, &j);
				done = 1;
			}
		if (!done)
			skip(b, &j);
	}
	*i = j;
	list_tail(b, i, n);
}

/* lists:zipwith(fun erlang:process_info/2, Pids, [Items, Items, ...]) per batch. */
static int collect_procs(call *k, ptab *t)
{
	k->step = "process_info batches";
	const struct item *its[sizeof items / sizeof *items];
	int nits = 0;
	for (size_t q = 0; q < sizeof items / sizeof *items; q++)
		if (k->otp >= items[q].min_otp)
			its[nits++] = &items[q];
	ei_x_buff il;
	ei_x_new(&il);
	ei_x_encode_list_header(&il, nits);
	for (int q = 0; q < nits; q++)
		ei_x_encode_atom(&il, its[q]->name);
	ei_x_encode_empty_list(&il);
	ei_x_buff x;
	ei_x_new(&x);
	int rc = 0;
	size_t batch = k->o->batch ? k->o->batch : 250;
	for (size_t s = 0; s < t->n && !rc; s += batch) {
		size_t e = s + batch < t->n ? s + batch : t->n;
		bd_progress("reading processes", s, t->n, BD_PROGRESS_ITEMS);
		ei_x_buff a;
		ei_x_new(&a);
		ei_x_encode_list_header(&a, 3);
		enc_export(&a, "erlang", "process_info", 2);
		ei_x_encode_list_header(&a, (long)(e - s));
		for (size_t q = s; q < e; q++)
			ei_x_append_buf(&a, t->pids.buff + t->p[q].pid_off, t->p[q].pid_len);
		ei_x_encode_empty_list(&a);
		ei_x_encode_list_header(&a, (long)(e - s));
		for (size_t q = s; q < e; q++)
			ei_x_append_buf(&a, il.buff, il.index);
		ei_x_encode_empty_list(&a);
		ei_x_encode_empty_list(&a);
		int idx, n;
		rc = rpc(k, "lists", "zipwith", &a, &x, &idx);
		ei_x_free(&a);
		if (rc)
			break;
		if (ei_decode_list_header(x.buff, &idx, &n) || (size_t)n != e - s) {
			rc = bd_error_set(k->err, BD_ECORRUPT, 0, "process_info: unexpected reply");
			break;
		}
		for (size_t q = s; q < e; q++)
			decode_proc(k, t, q, x.buff, &idx, its, nits);
		if (k->o->pause_ms && e < t->n)
			sleep_ms(k->o->pause_ms);
	}
	ei_x_free(&x);
	ei_x_free(&il);
	return rc;
}

/* ---- details of a few processes: messages, stack traces ---- */
static uint64_t metric(const bd_proc *p, int m)
{
	uint64_t v = m == 0 ? p->msgq_len : m == 1 ? p->memory : m == 2 ? p->reductions : p->bin_vheap;
	return v == BD_UNKNOWN ? 0 : v;
}

typedef struct by_metric {
	bd_live *lv;
	int metric;
} by_metric;

static int cmp_rows(const void *a, const void *b, void *ctx)
{
	const by_metric *bm = ctx;
	const bd_proc *x = bd_live_proc_at(bm->lv, *(const size_t *)a);
	const bd_proc *y = bd_live_proc_at(bm->lv, *(const size_t *)b);
	uint64_t u = metric(x, bm->metric), v = metric(y, bm->metric);
	return u < v ? 1 : u > v ? -1 : 0;
}

/* Row indexes sorted by a metric, largest first. */
static void sort_rows(bd_live *lv, size_t *order, size_t n, int m)
{
	by_metric bm = {lv, m};
	for (size_t r = 0; r < n; r++)
		order[r] = r;
	qsort_r(order, n, sizeof *order, cmp_rows, &bm);
}

/* The pid ETF of model row r (row -> table entry map built on demand). */
static const prow *entry_of(const ptab *t, size_t r, const size_t *inv)
{
	return inv[r] < t->n ? &t->p[inv[r]] : NULL;
}

static int contains(const char *hay, size_t n, const char *needle, size_t m)
{
	return m && n >= m && memmem(hay, n, needle, m) != NULL;
}

/* process_info(Pid, messages) for the longest queues; keep the first N. */
static int collect_messages(call *k, const ptab *t, const size_t *order, size_t nrows,
			    const size_t *inv, bd_capture_stats *st)
{
	k->step = "messages of the longest queues";
	ei_x_buff x;
	ei_x_new(&x);
	int rc = 0;
	unsigned done = 0;
	for (size_t q = 0; q < nrows && done < k->o->top_queues && !rc; q++) {
		size_t r = order[q];
		const bd_proc *p = bd_live_proc_at(k->lv, r);
		uint64_t len = metric(p, 0);
		if (!len)
			break;
		done++;
		if (len > k->o->max_queue)
			continue; /* copying it would cost the node too much: documented */
		const prow *e = entry_of(t, r, inv);
		if (!e)
			continue;
		ei_x_buff a;
		ei_x_new(&a);
		ei_x_encode_list_header(&a, 2);
		ei_x_append_buf(&a, t->pids.buff + e->pid_off, e->pid_len);
		ei_x_encode_atom(&a, "messages");
		ei_x_encode_empty_list(&a);
		int idx, ar, n;
		rc = rpc(k, "erlang", "process_info", &a, &x, &idx);
		ei_x_free(&a);
		if (rc)
			break;
		const char *b = x.buff;
		if (ei_decode_tuple_header(b, &idx, &ar) || ar != 2 || skip(b, &idx))
			continue; /* undefined: gone */
		st->queues_read++;
		int ty, size;
		ty = type_of(b, idx, &size);
		if (ty == ERL_STRING_EXT) {
			/* all messages are small integers: the list came as a string */
			char *s = malloc((size_t)size + 1);
			if (s && !ei_decode_string(b, &idx, s))
				for (int m = 0; m < size && (unsigned)m < k->o->messages; m++) {
					unsigned char etf[2] = {ERL_SMALL_INTEGER_EXT, (unsigned char)s[m]};
					bd_live_proc_message(k->lv, r, etf, 2);
					st->messages++;
				}
			free(s);
			continue;
		}
		if (ei_decode_list_header(b, &idx, &n))
			continue;
		for (int m = 0; m < n && (unsigned)m < k->o->messages; m++) {
			int s = idx;
			if (skip(b, &idx))
				break;
			size_t l = (size_t)(idx - s);
			if (contains(b + s, l, k->c->cookie, k->c->cookie_len))
				bd_live_proc_message_atom(k->lv, r, "$beamdump_redacted");
			else if (l + 1 > ETF_MSG_MAX)
				bd_live_proc_message_atom(k->lv, r, "$beamdump_too_large");
			else
				bd_live_proc_message(k->lv, r, b + s, l);
			st->messages++;
		}
	}
	ei_x_free(&x);
	return rc;
}

/* current_stacktrace of the top processes by each metric. */
static int collect_stacks(call *k, const ptab *t, size_t nrows, const size_t *inv,
			  bd_capture_stats *st)
{
	k->step = "current_stacktrace";
	size_t *order = malloc((nrows + 1) * sizeof *order);
	unsigned char *want = calloc(nrows + 1, 1);
	size_t *pick = malloc((nrows + 1) * sizeof *pick);
	size_t np = 0;
	int rc = 0;
	if (!order || !want || !pick) {
		rc = bd_error_set(k->err, BD_ENOMEM, 0, "out of memory");
		goto out;
	}
	for (int m = 0; m < 4; m++) {
		sort_rows(k->lv, order, nrows, m);
		for (size_t q = 0; q < nrows && q < k->o->stack_top; q++)
			if (!want[order[q]] && metric(bd_live_proc_at(k->lv, order[q]), m)) {
				want[order[q]] = 1;
				pick[np++] = order[q];
			}
	}
	/* Processes in a synchronous call: the wait-for graph wants their callers. */
	for (size_t r = 0; r < nrows && np < 4 * k->o->stack_top + 256; r++) {
		const char *pc = bd_live_proc_at(k->lv, r)->pc_mfa;
		if (!want[r] && pc && !strncmp(pc, "gen:do_call/", 12)) {
			want[r] = 1;
			pick[np++] = r;
		}
	}
	if (!np)
		goto out;
	ei_x_buff a, x;
	ei_x_new(&a);
	ei_x_new(&x);
	ei_x_encode_list_header(&a, 3);
	enc_export(&a, "erlang", "process_info", 2);
	size_t nv = 0;
	for (size_t q = 0; q < np; q++)
		nv += entry_of(t, pick[q], inv) != NULL;
	ei_x_encode_list_header(&a, (long)nv);
	for (size_t q = 0; q < np; q++) {
		const prow *e = entry_of(t, pick[q], inv);
		if (e)
			ei_x_append_buf(&a, t->pids.buff + e->pid_off, e->pid_len);
	}
	ei_x_encode_empty_list(&a);
	ei_x_encode_list_header(&a, (long)nv);
	for (size_t q = 0; q < nv; q++)
		ei_x_encode_atom(&a, "current_stacktrace");
	ei_x_encode_empty_list(&a);
	ei_x_encode_empty_list(&a);
	int idx, n;
	rc = rpc(k, "lists", "zipwith", &a, &x, &idx);
	if (!rc && !ei_decode_list_header(x.buff, &idx, &n)) {
		const char *b = x.buff;
		size_t q = 0;
		for (int e = 0; e < n; e++) {
			while (q < np && !entry_of(t, pick[q], inv))
				q++;
			size_t r = q < np ? pick[q++] : SIZE_MAX;
			int ar, fr, start = idx;
			if (r == SIZE_MAX || ei_decode_tuple_header(b, &idx, &ar) || ar != 2 ||
			    skip(b, &idx) || ei_decode_list_header(b, &idx, &fr)) {
				idx = start;
				skip(b, &idx);
				continue;
			}
			/* The first frame is the current function: it becomes the pc. */
			bd_live_proc_at(k->lv, r)->pc = NULL;
			for (int f = 0; f < fr; f++) {
				const char *mfa = dec_mfa(k->lv, b, &idx);
				if (mfa)
					bd_live_proc_frame(k->lv, r, mfa);
			}
			if (fr && !bd_live_proc_at(k->lv, r)->pc)
				bd_live_proc_at(k->lv, r)->pc = bd_live_proc_at(k->lv, r)->pc_mfa;
			if (fr)
				skip(b, &idx);
			st->stacks++;
		}
	}
	ei_x_free(&a);
	ei_x_free(&x);
out:
	free(order);
	free(want);
	free(pick);
	return rc;
}

/* ---- behaviour states of the alarm managers ----
 * A crash dump holds a behaviour's state in its loop frame's y registers, and the
 * analyses read it there (memory_alarm: OTP's alarm_handler, RabbitMQ's rabbit_alarm
 * and vm_memory_monitor, the blocked connection readers). A live capture asks the
 * process (sys:get_state/2, a system message every behaviour answers) and writes the
 * state into the same frame, in the layout of the VM's own loop: a gen_event's
 * handler list [{handler, Mod, Id, State, false}], a gen_server's Mod then State. */
enum { STATE_MAX = 256 << 10, STATE_TMO_MS = 1000, READERS_MAX = 64, READERS_MS = 5000 };

static const struct {
	const char *name, *frame; /* registered name; its loop function's prefix */
	int event;                /* gen_event (else gen_server) */
} managers[] = {
	{"alarm_handler", "gen_event:", 1},
	{"rabbit_alarm", "gen_event:", 1},
	{"vm_memory_monitor", "gen_server:", 0},
};

/* sys:get_state(Who, Tmo) where Who is a name (atom) or a pid (its ETF bytes).
 * 1: a state at x.buff + *idx; 0: the process did not answer (not an error of the
 * capture); < 0: the error of a lost connection or a stop. */
static int get_state(call *k, const char *name, const char *pid, int pid_len, unsigned tmo,
		     ei_x_buff *x, int *idx)
{
	ei_x_buff a;
	ei_x_new(&a);
	ei_x_encode_list_header(&a, 2);
	if (name)
		ei_x_encode_atom(&a, name);
	else
		ei_x_append_buf(&a, pid, pid_len);
	ei_x_encode_long(&a, (long)tmo);
	ei_x_encode_empty_list(&a);
	int rc = rpc(k, "sys", "get_state", &a, x, idx);
	ei_x_free(&a);
	if (rc && !k->lost && !k->stopped) { /* badrpc: no such process, timeout */
		k->err->code = 0;
		k->err->msg[0] = 0;
		return 0;
	}
	if (rc)
		return -rc;
	int end = *idx;
	return !skip(x->buff, &end) && end - *idx <= STATE_MAX;
}

/* [{Mod, Id, State}] (sys:get_state of a gen_event) as the manager's handler list. */
static int handler_list(const char *b, int i, ei_x_buff *out)
{
	int n;
	if (ei_decode_list_header(b, &i, &n) || n <= 0)
		return -1;
	ei_x_encode_list_header(out, n);
	for (int e = 0; e < n; e++) {
		int ar, s;
		if (ei_decode_tuple_header(b, &i, &ar) || ar != 3)
			return -1;
		ei_x_encode_tuple_header(out, 5);
		ei_x_encode_atom(out, "handler");
		for (int q = 0; q < 3; q++) {
			s = i;
			if (skip(b, &i))
				return -1;
			ei_x_append_buf(out, b + s, i - s);
		}
		ei_x_encode_atom(out, "false");
	}
	ei_x_encode_empty_list(out);
	return 0;
}

/* Pids in a term (the alertees of rabbit_alarm), and whether it names a resource
 * alarm (the atom memory or disk). */
typedef struct pid_walk {
	int pid_off[READERS_MAX], pid_len[READERS_MAX];
	int npids;
	int alarm;
} pid_walk;

static int walk_term(const char *b, int *i, int depth, pid_walk *w)
{
	int t = type_of(b, *i, NULL), n, s = *i;
	if (depth > 40)
		return skip(b, i);
	if (is_pid_type(t)) {
		if (skip(b, i))
			return -1;
		if (w->npids < READERS_MAX) {
			w->pid_off[w->npids] = s;
			w->pid_len[w->npids++] = *i - s;
		}
		return 0;
	}
	if (t == ERL_ATOM_EXT || t == ERL_SMALL_ATOM_EXT || t == ERL_ATOM_UTF8_EXT ||
	    t == ERL_SMALL_ATOM_UTF8_EXT) {
		char a[MAXATOMLEN_UTF8];
		if (dec_atom(b, i, a))
			return -1;
		w->alarm |= !strcmp(a, "memory") || !strcmp(a, "disk");
		return 0;
	}
	if (t == ERL_SMALL_TUPLE_EXT || t == ERL_LARGE_TUPLE_EXT || t == ERL_MAP_EXT) {
		if ((t == ERL_MAP_EXT ? ei_decode_map_header(b, i, &n) : ei_decode_tuple_header(b, i, &n)))
			return -1;
		for (int e = 0; e < (t == ERL_MAP_EXT ? 2 * n : n); e++)
			if (walk_term(b, i, depth + 1, w))
				return -1;
		return 0;
	}
	if (t == ERL_LIST_EXT) {
		if (ei_decode_list_header(b, i, &n))
			return -1;
		for (int e = 0; e <= n; e++) /* the elements, then the tail */
			if (walk_term(b, i, depth + 1, w))
				return -1;
		return 0;
	}
	return skip(b, i);
}

static size_t row_named(call *k, const char *name)
{
	const char *a = bd_live_atom(k->lv, name, strlen(name));
	for (size_t r = 0; r < bd_live_proc_count(k->lv); r++)
		if (bd_live_proc_at(k->lv, r)->name == a)
			return r;
	return SIZE_MAX;
}

/* The state goes on frame 0 when the process sits in its loop (the current function
 * is the loop's); a process busy elsewhere keeps no state from us. */
static int in_loop(call *k, size_t row, const char *prefix)
{
	const char *pc = bd_live_proc_at(k->lv, row)->pc_mfa;
	return pc && !strncmp(pc, prefix, strlen(prefix));
}

/* gen_server:call(Pid, {info, [state]}, Tmo), which a RabbitMQ connection reader
 * answers with {ok, [{state, S}]} (its whole state holds the unread socket data:
 * megabytes per blocked connection). 1: the [{state, S}] list at x.buff + *idx. */
static int reader_info(call *k, const char *pid, int pid_len, ei_x_buff *x, int *idx)
{
	ei_x_buff a;
	ei_x_new(&a);
	ei_x_encode_list_header(&a, 3);
	ei_x_append_buf(&a, pid, pid_len);
	ei_x_encode_tuple_header(&a, 2);
	ei_x_encode_atom(&a, "info");
	ei_x_encode_list_header(&a, 1);
	ei_x_encode_atom(&a, "state");
	ei_x_encode_empty_list(&a);
	ei_x_encode_long(&a, STATE_TMO_MS / 2);
	ei_x_encode_empty_list(&a);
	int rc = rpc(k, "gen_server", "call", &a, x, idx);
	ei_x_free(&a);
	if (rc && !k->lost && !k->stopped) { /* not a reader, or no answer in time */
		k->err->code = 0;
		k->err->msg[0] = 0;
		return 0;
	}
	if (rc)
		return -rc;
	int ar, end;
	char tag[MAXATOMLEN_UTF8];
	if (ei_decode_tuple_header(x->buff, idx, &ar) || ar != 2 || dec_atom(x->buff, idx, tag) ||
	    strcmp(tag, "ok"))
		return 0;
	end = *idx;
	return !skip(x->buff, &end) && end - *idx <= 4096;
}

/* The connection readers rabbit_alarm told to conserve resources, while an alarm is
 * set: whether each is blocked (a dump has it in the reader's #v1{} record; live,
 * the reader's own answer [{state, S}] goes in the same place). */
static int reader_states(call *k, const pid_walk *w, const char *b)
{
	double until = now_s() + READERS_MS / 1000.0;
	ei_x_buff x;
	ei_x_new(&x);
	int rc = 0;
	for (int q = 0; q < w->npids && now_s() < until; q++) {
		int j = w->pid_off[q], idx;
		bd_pid pid;
		dec_pid(k->c, b, &j, &pid);
		size_t row = SIZE_MAX;
		for (size_t r = 0; r < bd_live_proc_count(k->lv) && row == SIZE_MAX; r++)
			if (bd_pid_eq(bd_live_proc_at(k->lv, r)->pid, pid))
				row = r;
		if (row == SIZE_MAX)
			continue;
		int got = reader_info(k, b + w->pid_off[q], w->pid_len[q], &x, &idx);
		if (got < 0) {
			rc = -got;
			break;
		}
		if (got)
			bd_live_proc_slot(k->lv, row, 0, 0, x.buff + idx, (size_t)(x.index - idx));
	}
	ei_x_free(&x);
	return rc;
}

static int collect_states(call *k)
{
	k->step = "sys:get_state of the alarm managers";
	ei_x_buff x, h;
	ei_x_new(&x);
	int rc = 0;
	for (size_t q = 0; q < sizeof managers / sizeof *managers && !rc; q++) {
		size_t row = row_named(k, managers[q].name);
		int idx;
		if (row == SIZE_MAX || !in_loop(k, row, managers[q].frame))
			continue;
		int got = get_state(k, managers[q].name, NULL, 0, STATE_TMO_MS, &x, &idx);
		if (got < 0) {
			rc = -got;
			break;
		}
		if (!got)
			continue;
		if (!managers[q].event) {
			ei_x_new(&h);
			ei_x_encode_atom(&h, managers[q].name);
			bd_live_proc_slot(k->lv, row, 0, 2, h.buff, (size_t)h.index);
			bd_live_proc_slot(k->lv, row, 0, 3, x.buff + idx, (size_t)(x.index - idx));
			ei_x_free(&h);
			continue;
		}
		ei_x_new(&h);
		if (!handler_list(x.buff, idx, &h))
			bd_live_proc_slot(k->lv, row, 0, 0, h.buff, (size_t)h.index);
		ei_x_free(&h);
		pid_walk w = {{0}, {0}, 0, 0};
		int j = idx;
		if (!strcmp(managers[q].name, "rabbit_alarm") && !walk_term(x.buff, &j, 0, &w) &&
		    w.alarm && w.npids) {
			/* x is reused by the readers' calls: keep the pids' bytes. */
			char *copy = malloc((size_t)x.index);
			if (!copy) {
				rc = bd_error_set(k->err, BD_ENOMEM, 0, "out of memory");
				break;
			}
			memcpy(copy, x.buff, (size_t)x.index);
			rc = reader_states(k, &w, copy);
			free(copy);
		}
	}
	ei_x_free(&x);
	return rc;
}

/* ---- ports ---- */
static const char *const port_items[] = {"name", "connected", "links", "input", "output",
					 "queue_size"};
enum { NPORT_ITEMS = sizeof port_items / sizeof *port_items };

static void decode_port_item(call *k, bd_port *p, const char *b, int *i)
{
	int ar, start = *i;
	char key[MAXATOMLEN_UTF8];
	if (ei_decode_tuple_header(b, i, &ar) || ar != 2 || dec_atom(b, i, key)) {
		*i = start;
		skip(b, i);
		return;
	}
	if (!strcmp(key, "name")) {
		char text[512];
		dec_text(b, i, text, sizeof text);
		p->name = p->driver = bd_live_str(k->lv, text, strlen(text));
	} else if (!strcmp(key, "connected") && is_pid_type(type_of(b, *i, NULL))) {
		dec_pid(k->c, b, i, &p->connected);
	} else if (!strcmp(key, "links")) {
		links_list(k, BD_LINK, b, i);
	} else if (!strcmp(key, "input")) {
		dec_u64(b, i, &p->input);
	} else if (!strcmp(key, "output")) {
		dec_u64(b, i, &p->output);
	} else if (!strcmp(key, "queue_size")) {
		dec_u64(b, i, &p->queue);
	} else {
		skip(b, i);
	}
}

static int collect_ports(call *k)
{
	k->step = "ports";
	ei_x_buff a, x, ports;
	int idx, n, rc;
	ei_x_new(&a);
	ei_x_new(&x);
	ei_x_new(&ports);
	ei_x_encode_empty_list(&a);
	rc = rpc(k, "erlang", "ports", &a, &ports, &idx);
	ei_x_free(&a);
	if (rc || ei_decode_list_header(ports.buff, &idx, &n) || n <= 0)
		goto out;
	int *off = malloc((size_t)n * 2 * sizeof *off);
	if (!off) {
		rc = bd_error_set(k->err, BD_ENOMEM, 0, "out of memory");
		goto out;
	}
	int kept = 0;
	for (int e = 0; e < n; e++) {
		int at = idx, pj = idx;
		bd_pid id;
		skip(ports.buff, &idx);
		if (k->nown_ports && !dec_port(k->c, ports.buff, &pj, &id) && own_port(k, id))
			continue; /* our connection's socket */
		off[2 * kept] = at;
		off[2 * kept + 1] = idx - at;
		kept++;
	}
	n = kept;
	for (int s = 0; s < n && !rc; s += 256) {
		int e = s + 256 < n ? s + 256 : n, m = (e - s) * NPORT_ITEMS;
		ei_x_new(&a);
		ei_x_encode_list_header(&a, 3);
		enc_export(&a, "erlang", "port_info", 2);
		ei_x_encode_list_header(&a, m);
		for (int q = s; q < e; q++)
			for (int it = 0; it < NPORT_ITEMS; it++)
				ei_x_append_buf(&a, ports.buff + off[2 * q], off[2 * q + 1]);
		ei_x_encode_empty_list(&a);
		ei_x_encode_list_header(&a, m);
		for (int q = s; q < e; q++)
			for (int it = 0; it < NPORT_ITEMS; it++)
				ei_x_encode_atom(&a, port_items[it]);
		ei_x_encode_empty_list(&a);
		ei_x_encode_empty_list(&a);
		int ri, rn;
		rc = rpc(k, "lists", "zipwith", &a, &x, &ri);
		ei_x_free(&a);
		if (rc || ei_decode_list_header(x.buff, &ri, &rn) || rn != m)
			break;
		for (int q = s; q < e; q++) {
			int pj = off[2 * q];
			bd_pid id;
			dec_port(k->c, ports.buff, &pj, &id);
			bd_port *p = bd_live_port_add(k->lv, id);
			for (int it = 0; it < NPORT_ITEMS; it++) {
				if (p && type_of(x.buff, ri, NULL) == ERL_SMALL_TUPLE_EXT)
					decode_port_item(k, p, x.buff, &ri);
				else
					skip(x.buff, &ri);
			}
		}
	}
	free(off);
out:
	ei_x_free(&x);
	ei_x_free(&ports);
	return rc;
}

/* ---- ETS ---- */
static void decode_ets(call *k, const char *b, int *i)
{
	int n, j = *i;
	if (type_of(b, j, NULL) != ERL_LIST_EXT || ei_decode_list_header(b, &j, &n)) {
		skip(b, i); /* undefined: deleted meanwhile */
		return;
	}
	bd_ets *t = bd_live_ets_add(k->lv);
	char tid[128] = "";
	for (int q = 0; q < n; q++) {
		int ar, start = j;
		char key[MAXATOMLEN_UTF8], a[MAXATOMLEN_UTF8];
		if (ei_decode_tuple_header(b, &j, &ar) || ar != 2 || dec_atom(b, &j, key) || !t) {
			j = start;
			skip(b, &j);
			continue;
		}
		int ty = type_of(b, j, NULL);
		if (!strcmp(key, "id")) {
			erlang_ref r;
			if (ty == ERL_NEWER_REFERENCE_EXT || ty == ERL_NEW_REFERENCE_EXT) {
				if (!ei_decode_ref(b, &j, &r))
					ref_text(&r, tid, sizeof tid);
				else
					skip(b, &j);
			} else if (!dec_atom(b, &j, a)) {
				snprintf(tid, sizeof tid, "%.120s", a);
			} else {
				skip(b, &j);
			}
		} else if (!strcmp(key, "owner") && is_pid_type(ty)) {
			dec_pid(k->c, b, &j, &t->owner);
		} else if (!strcmp(key, "size")) {
			dec_u64(b, &j, &t->objects);
		} else if (!strcmp(key, "memory")) {
			dec_u64(b, &j, &t->words);
		} else if (ty == ERL_ATOM_EXT || ty == ERL_SMALL_ATOM_UTF8_EXT || ty == ERL_ATOM_UTF8_EXT ||
			   ty == ERL_SMALL_ATOM_EXT) {
			dec_atom(b, &j, a);
			const char *s = bd_live_str(k->lv, a, strlen(a));
			if (!strcmp(key, "name"))
				t->name = bd_live_atom(k->lv, a, strlen(a));
			else if (!strcmp(key, "type"))
				t->type = s;
			else if (!strcmp(key, "protection"))
				t->protection = s;
			else if (!strcmp(key, "compressed"))
				t->compressed = s;
			else if (!strcmp(key, "write_concurrency"))
				t->write_concurrency = s;
			else if (!strcmp(key, "read_concurrency"))
				t->read_concurrency = s;
			else if (!strcmp(key, "named_table"))
				t->named = !strcmp(a, "true");
		} else {
			skip(b, &j);
		}
	}
	if (t) {
		/* A named table's id is its name, as the dump prints it. */
		t->table = t->named && t->name ? t->name : tid[0] ? bd_live_str(k->lv, tid, strlen(tid)) : t->name;
	}
	*i = j;
	list_tail(b, i, n);
}

static int collect_ets(call *k)
{
	k->step = "ets";
	ei_x_buff a, x, all;
	int idx, n, rc;
	ei_x_new(&a);
	ei_x_new(&x);
	ei_x_new(&all);
	ei_x_encode_empty_list(&a);
	rc = rpc(k, "ets", "all", &a, &all, &idx);
	ei_x_free(&a);
	if (rc || ei_decode_list_header(all.buff, &idx, &n) || n <= 0)
		goto out;
	for (int s = 0; s < n && !rc; s += 500) {
		int e = s + 500 < n ? s + 500 : n;
		ei_x_new(&a);
		ei_x_encode_list_header(&a, 2);
		enc_export(&a, "ets", "info", 1);
		ei_x_encode_list_header(&a, e - s);
		for (int q = s; q < e; q++) {
			int st = idx;
			skip(all.buff, &idx);
			ei_x_append_buf(&a, all.buff + st, idx - st);
		}
		ei_x_encode_empty_list(&a);
		ei_x_encode_empty_list(&a);
		int ri, rn;
		rc = rpc(k, "lists", "map", &a, &x, &ri);
		ei_x_free(&a);
		if (rc || ei_decode_list_header(x.buff, &ri, &rn))
			break;
		for (int q = 0; q < rn; q++)
			decode_ets(k, x.buff, &ri);
	}
out:
	ei_x_free(&x);
	ei_x_free(&all);
	return rc;
}

/* ---- allocators: system_info({allocator, A}) as the dump's statistics lines ---- */
static void alloc_line(call *k, const char *alloc, int inst, const char *key, const uint64_t *v,
		       int nv)
{
	bd_alloc_stat *st = bd_live_alloc_add(k->lv);
	if (!st)
		return;
	st->alloc = bd_live_str(k->lv, alloc, strlen(alloc));
	st->instance = inst;
	st->key = bd_live_str(k->lv, key, strlen(key));
	for (int q = 0; q < nv && q < 3; q++)
		st->v[q] = v[q];
}

/* {Name, V1[, V2, V3]} with integers: one line "<sect> <Name>". */
static void alloc_tuple(call *k, const char *alloc, int inst, const char *sect, const char *b,
			int *i)
{
	int ar, start = *i;
	char name[MAXATOMLEN_UTF8], key[3 * MAXATOMLEN_UTF8 + 32];
	if (ei_decode_tuple_header(b, i, &ar) || ar < 2 || dec_atom(b, i, name)) {
		*i = start;
		skip(b, i);
		return;
	}
	if (!strcmp(name, "blocks") && ar == 2 && type_of(b, *i, NULL) == ERL_LIST_EXT) {
		/* OTP 23+: [{Type, [{count, C, LM, M}, {size, S, LM, M}]}] */
		int n;
		ei_decode_list_header(b, i, &n);
		for (int e = 0; e < n; e++) {
			int a2, st2 = *i, m;
			char type[MAXATOMLEN_UTF8];
			if (ei_decode_tuple_header(b, i, &a2) || a2 != 2 || dec_atom(b, i, type) ||
			    ei_decode_list_header(b, i, &m)) {
				*i = st2;
				skip(b, i);
				continue;
			}
			for (int q = 0; q < m; q++) {
				int a3;
				char what[MAXATOMLEN_UTF8];
				uint64_t v[3] = {BD_UNKNOWN, BD_UNKNOWN, BD_UNKNOWN};
				if (ei_decode_tuple_header(b, i, &a3) || a3 < 2 || dec_atom(b, i, what))
					break;
				for (int z = 0; z < a3 - 1; z++)
					dec_u64(b, i, z < 3 ? &v[z] : &v[2]);
				snprintf(key, sizeof key, "%s blocks[%s] %s", sect, type, what);
				alloc_line(k, alloc, inst, key, v, 3);
			}
			if (m)
				skip(b, i);
		}
		list_tail(b, i, n);
		return;
	}
	uint64_t v[3] = {BD_UNKNOWN, BD_UNKNOWN, BD_UNKNOWN};
	int nv = 0;
	for (int z = 1; z < ar; z++) {
		if (type_of(b, *i, NULL) == ERL_SMALL_INTEGER_EXT || type_of(b, *i, NULL) == ERL_INTEGER_EXT ||
		    type_of(b, *i, NULL) == ERL_SMALL_BIG_EXT) {
			uint64_t u;
			dec_u64(b, i, &u);
			if (nv < 3)
				v[nv++] = u;
		} else {
			skip(b, i);
		}
	}
	if (!nv)
		return;
	for (char *c = name; *c; c++)
		if (*c == '_')
			*c = ' ';
	snprintf(key, sizeof key, "%s %s", sect, name);
	alloc_line(k, alloc, inst, key, v, nv);
}

static void decode_allocator(call *k, const char *alloc, const char *b, int *i)
{
	int n, j = *i;
	if (type_of(b, j, NULL) != ERL_LIST_EXT || ei_decode_list_header(b, &j, &n)) {
		skip(b, i); /* false: not enabled */
		return;
	}
	for (int e = 0; e < n; e++) {
		int ar, start = j, m;
		char tag[MAXATOMLEN_UTF8];
		long inst;
		if (ei_decode_tuple_header(b, &j, &ar) || ar != 3 || dec_atom(b, &j, tag) ||
		    strcmp(tag, "instance") || ei_decode_long(b, &j, &inst) ||
		    ei_decode_list_header(b, &j, &m)) {
			j = start;
			skip(b, &j);
			continue;
		}
		for (int q = 0; q < m; q++) {
			int a2, s2 = j, l;
			char sect[MAXATOMLEN_UTF8];
			if (ei_decode_tuple_header(b, &j, &a2) || a2 != 2 || dec_atom(b, &j, sect) ||
			    (strcmp(sect, "mbcs") && strcmp(sect, "sbcs") && strcmp(sect, "mbcs_pool") &&
			     strcmp(sect, "calls")) ||
			    type_of(b, j, NULL) != ERL_LIST_EXT || ei_decode_list_header(b, &j, &l)) {
				j = s2;
				skip(b, &j);
				continue;
			}
			for (int z = 0; z < l; z++) {
				if (strcmp(sect, "calls")) {
					alloc_tuple(k, alloc, (int)inst, sect, b, &j);
					continue;
				}
				/* {binary_alloc, Giga, Count} -> "binary_alloc calls" */
				int a3, s3 = j;
				char what[MAXATOMLEN_UTF8], key[MAXATOMLEN_UTF8 + 16];
				uint64_t giga, cnt;
				if (ei_decode_tuple_header(b, &j, &a3) || a3 != 3 || dec_atom(b, &j, what)) {
					j = s3;
					skip(b, &j);
					continue;
				}
				dec_u64(b, &j, &giga);
				dec_u64(b, &j, &cnt);
				uint64_t v = giga == BD_UNKNOWN || cnt == BD_UNKNOWN ? BD_UNKNOWN
										      : giga * 1000000000u + cnt;
				snprintf(key, sizeof key, "%s calls", what);
				alloc_line(k, alloc, (int)inst, key, &v, 1);
			}
			if (l)
				skip(b, &j);
		}
		if (m)
			skip(b, &j);
	}
	*i = j;
	list_tail(b, i, n);
}

static int collect_allocators(call *k)
{
	k->step = "allocators";
	ei_x_buff a, x, names;
	int idx, n, rc;
	ei_x_new(&a);
	ei_x_new(&x);
	ei_x_new(&names);
	ei_x_encode_list_header(&a, 1);
	ei_x_encode_atom(&a, "alloc_util_allocators");
	ei_x_encode_empty_list(&a);
	rc = rpc(k, "erlang", "system_info", &a, &names, &idx);
	ei_x_free(&a);
	if (rc || ei_decode_list_header(names.buff, &idx, &n) || n <= 0 || n > 64)
		goto out;
	char alloc[64][MAXATOMLEN_UTF8];
	ei_x_new(&a);
	ei_x_encode_list_header(&a, 2);
	enc_export(&a, "erlang", "system_info", 1);
	ei_x_encode_list_header(&a, n);
	for (int e = 0; e < n; e++) {
		if (dec_atom(names.buff, &idx, alloc[e]))
			snprintf(alloc[e], sizeof alloc[e], "?");
		ei_x_encode_tuple_header(&a, 2);
		ei_x_encode_atom(&a, "allocator");
		ei_x_encode_atom(&a, alloc[e]);
	}
	ei_x_encode_empty_list(&a);
	ei_x_encode_empty_list(&a);
	int ri, rn;
	rc = rpc(k, "lists", "map", &a, &x, &ri);
	ei_x_free(&a);
	if (!rc && !ei_decode_list_header(x.buff, &ri, &rn))
		for (int e = 0; e < rn && e < n; e++)
			decode_allocator(k, alloc[e], x.buff, &ri);
out:
	ei_x_free(&x);
	ei_x_free(&names);
	return rc == BD_EUNSUPPORTED ? 0 : rc;
}

/* ---- one capture ---- */
static void node_facts(call *k)
{
	bd_node_info *ni = bd_live_node(k->lv);
	time_t t = time(NULL);
	char buf[64];
	struct tm tm;
	ni->node_name = bd_live_atom(k->lv, k->c->node, strlen(k->c->node)); /* as the dump prints it */
	ni->distributed = 1;
	ni->created_unix = (int64_t)t;
	if (gmtime_r(&t, &tm) && strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y UTC", &tm))
		ni->created = bd_live_str(k->lv, buf, strlen(buf));
	ni->dump_version = NULL; /* not a crash dump: no dump format version */
}

int bd_capture_run(bd_capture *c, const bd_capture_opts *opts, bd_live **out,
		   bd_capture_stats *stats, bd_error *err)
{
	*out = NULL;
	bd_capture_opts o = opts ? *opts : (bd_capture_opts)BD_CAPTURE_OPTS_INIT;
	bd_capture_stats st0 = {0}, *st = stats ? stats : &st0;
	memset(st, 0, sizeof *st);
	double t0 = now_s();
	uint64_t calls0 = c->calls, bytes0 = c->bytes_in;
	bd_live *lv;
	int rc = bd_live_new(&lv, err);
	if (rc)
		return rc;
	call k = {c, &o, lv, err, "connect", 8, 0, 0, 0, NULL, 0, BD_PID_NONE, {{0}}, 0};
	node_facts(&k);
	own_connection(&k);
	swt *w0 = calloc(2, sizeof *w0);
	ptab t = {0};
	ei_x_new(&t.pids);
	size_t *order = NULL, *inv = NULL;
	int schedulers = 0;
	if (!w0) {
		rc = bd_error_set(err, BD_ENOMEM, 0, "out of memory");
		goto done;
	}
	if ((rc = collect_sysinfo(&k, &schedulers)) || (rc = collect_memory(&k)) ||
	    (rc = sample_wall_time(&k, &w0[0])) || (rc = collect_pids(&k, &t)) ||
	    (rc = collect_procs(&k, &t)) || (rc = collect_apps(&k)))
		goto done;
	size_t nrows = bd_live_proc_count(lv);
	order = malloc((nrows + 1) * sizeof *order);
	inv = malloc((nrows + 1) * sizeof *inv);
	if (!order || !inv) {
		rc = bd_error_set(err, BD_ENOMEM, 0, "out of memory");
		goto done;
	}
	for (size_t r = 0; r < nrows; r++)
		order[r] = r, inv[r] = SIZE_MAX;
	for (size_t e = 0; e < t.n; e++)
		if (t.p[e].row < nrows)
			inv[t.p[e].row] = e;
	sort_rows(lv, order, nrows, 0);
	if ((rc = collect_messages(&k, &t, order, nrows, inv, st)) ||
	    (rc = collect_stacks(&k, &t, nrows, inv, st)) || (rc = collect_states(&k)) ||
	    (rc = collect_ports(&k)) ||
	    (rc = collect_ets(&k)) || (rc = collect_allocators(&k)) ||
	    (rc = sample_wall_time(&k, &w0[1])) ||
	    (rc = collect_run_queues(&k, schedulers, &w0[0], &w0[1])))
		goto done;
done:
	st->procs = bd_live_proc_count(lv);
	st->wall_time = w0 && w0[0].n && w0[1].n;
	st->calls = c->calls - calls0;
	st->bytes_in = c->bytes_in - bytes0;
	st->seconds = now_s() - t0;
	free(order);
	free(inv);
	free(t.p);
	free(k.gl);
	ei_x_free(&t.pids);
	free(w0);
	if (rc && (k.stopped || k.lost)) {
		char why[300];
		snprintf(why, sizeof why, "%s during %s",
			 k.stopped ? "capture interrupted" : "connection to the node lost", k.step);
		if (k.lost)
			snprintf(why, sizeof why, "%s", err->msg);
		bd_live_set_partial(lv, why);
		if (k.stopped)
			bd_error_set(err, BD_ETRUNCATED, 0, "%s", why);
		err->code = BD_ETRUNCATED;
		*out = lv;
		return BD_ETRUNCATED;
	}
	if (rc) {
		bd_live_free(lv);
		return rc;
	}
	*out = lv;
	return 0;
}
