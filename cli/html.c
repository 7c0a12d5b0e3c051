/* The HTML writer of beamdump report: escaping of untrusted text, numbers, and the
 * page frame (CSS, content-security policy, the small script that sorts, filters,
 * pages and folds). The page loads nothing: no fonts, images or scripts from
 * anywhere, and the policy forbids it even if something tried. */
#define _GNU_SOURCE /* fopencookie */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "beamdump/term.h"
#include "beamdump/util.h"
#include "html.h"

static ssize_t count_write(void *cookie, const char *buf, size_t n)
{
	hw *w = cookie;
	size_t k = fwrite(buf, 1, n, w->out);
	w->bytes += k;
	return k < n ? -1 : (ssize_t)k;
}

int hw_open(hw *w, FILE *out)
{
	static const cookie_io_functions_t io = {NULL, count_write, NULL, NULL};
	w->out = out;
	w->bytes = 0;
	w->f = fopencookie(w, "w", io);
	if (!w->f)
		return -1;
	setvbuf(w->f, NULL, _IOFBF, 1 << 16);
	return 0;
}

uint64_t hw_size(hw *w)
{
	fflush(w->f);
	return w->bytes;
}

int hw_close(hw *w)
{
	int rc = fclose(w->f);
	w->f = NULL;
	return rc || ferror(w->out) ? -1 : 0;
}

void hw_raw(hw *w, const char *s) { fputs(s, w->f); }

void hw_fmt(hw *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(w->f, fmt, ap);
	va_end(ap);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned c = s[0];
	size_t need = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
	if (!need || need > n || (need == 2 && c < 0xc2))
		return 0;
	uint32_t v = need == 1 ? c : need == 2 ? c & 0x1f : need == 3 ? c & 0x0f : c & 0x07;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((need == 3 && v < 0x800) || (need == 4 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return need;
}

/* Bidirectional controls reorder what a reader sees (a name can look like another)
 * and C1 controls are invisible: they are shown, not applied. */
static int is_bidi(uint32_t cp)
{
	return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0x200e || cp == 0x200f || cp == 0x061c || (cp >= 0x80 && cp <= 0x9f) ||
	       /* invisible too: line and paragraph separators, zero-width space and joiners */
	       cp == 0x2028 || cp == 0x2029 || cp == 0x200b || cp == 0x2060 || cp == 0xfeff;
}

/* The model stores a NUL byte of the input as C0 80 (modified UTF-8). */
static int is_nul_pair(const unsigned char *p, size_t left)
{
	return left >= 2 && p[0] == 0xc0 && p[1] == 0x80;
}

/* For an Elixir node (bd_term_style), module names as Elixir writes them: MyApp.Cache,
 * MyApp.Cache.init/1, not 'Elixir.MyApp.Cache'. *buf is set when s was rewritten. */
static const char *styled(const char *s, size_t *n, char *buf, size_t cap)
{
	if (bd_term_style() != BD_STYLE_ELIXIR || *n >= cap || !memmem(s, *n, "Elixir.", 7))
		return s;
	char in[2048];
	memcpy(in, s, *n);
	in[*n] = 0;
	bd_style_text(in, buf, cap);
	*n = strlen(buf);
	return buf;
}

void hw_textn(hw *w, const char *s, size_t n)
{
	char sb[2048];
	s = styled(s, &n, sb, sizeof sb);
	const unsigned char *p = (const unsigned char *)s;
	FILE *f = w->f;
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		uint32_t cp;
		size_t l;
		switch (c) {
		case '&': fputs("&amp;", f); i++; continue;
		case '<': fputs("&lt;", f); i++; continue;
		case '>': fputs("&gt;", f); i++; continue;
		case '"': fputs("&quot;", f); i++; continue;
		case '\'': fputs("&#39;", f); i++; continue;
		case '\n': case '\t': fputc(c, f); i++; continue;
		default: break;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\x%02x", c);
			i++;
		} else if (c < 0x80) {
			fputc(c, f);
			i++;
		} else if (is_nul_pair(p + i, n - i)) {
			fputs("\\x00", f);
			i += 2;
		} else if ((l = utf8_len(p + i, n - i, &cp)) != 0) {
			if (is_bidi(cp))
				fprintf(f, "\\u{%04X}", cp);
			else
				fwrite(p + i, 1, l, f);
			i += l;
		} else {
			fputs("\xef\xbf\xbd", f); /* U+FFFD */
			i++;
		}
	}
}

void hw_text(hw *w, const char *s)
{
	if (s)
		hw_textn(w, s, strlen(s));
}

void hw_textcut(hw *w, const char *s, size_t max)
{
	if (!s)
		return;
	size_t n = strlen(s);
	char sb[2048];
	s = styled(s, &n, sb, sizeof sb); /* cut what the reader sees */
	if (n <= max) {
		hw_textn(w, s, n);
		return;
	}
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--; /* not inside a UTF-8 sequence */
	hw_textn(w, s, max);
	hw_raw(w, "\xe2\x80\xa6"); /* … */
}

void hw_td_mono(hw *w, const char *s, size_t max)
{
	hw_raw(w, "<td class=\"mono\">");
	hw_textcut(w, s, max);
	hw_raw(w, "</td>");
}

void hw_jsonn(hw *w, const char *s, size_t n)
{
	char sb[2048];
	s = styled(s, &n, sb, sizeof sb);
	const unsigned char *p = (const unsigned char *)s;
	FILE *f = w->f;
	fputc('"', f);
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		uint32_t cp;
		size_t l;
		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
			i++;
		} else if (c == '<' || c == '>' || c == '&') {
			fprintf(f, "\\u%04x", c); /* never "</script" or "<!--" in the block */
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\\\x%02x", c); /* shown as \xNN, like hw_text */
			i++;
		} else if (c < 0x80) {
			fputc(c, f);
			i++;
		} else if (is_nul_pair(p + i, n - i)) {
			fputs("\\\\x00", f);
			i += 2;
		} else if ((l = utf8_len(p + i, n - i, &cp)) != 0) {
			if (is_bidi(cp)) /* also U+2028/9: never raw in the script block */
				fprintf(f, "\\\\u{%04X}", cp);
			else
				fwrite(p + i, 1, l, f);
			i += l;
		} else {
			fputs("\\ufffd", f);
			i++;
		}
	}
	fputc('"', f);
}

void hw_json(hw *w, const char *s)
{
	if (!s)
		fputs("null", w->f);
	else
		hw_jsonn(w, s, strlen(s));
}

void hw_count(hw *w, uint64_t v)
{
	char b[32];
	fputs(bd_count_fmt(v, b, sizeof b), w->f);
}

void hw_bytes(hw *w, uint64_t v)
{
	char b[32];
	fputs(bd_bytes_fmt(v, b, sizeof b), w->f);
}

void hw_td_count(hw *w, uint64_t v)
{
	char b[32];
	if (v == BD_UNKNOWN)
		fputs("<td class=\"num\" data-v=\"-1\">?</td>", w->f);
	else
		fprintf(w->f, "<td class=\"num\" data-v=\"%llu\">%s</td>", (unsigned long long)v,
			bd_count_fmt(v, b, sizeof b));
}

void hw_td_bytes(hw *w, uint64_t v)
{
	char b[32], c[32];
	if (v == BD_UNKNOWN)
		fputs("<td class=\"num\" data-v=\"-1\">?</td>", w->f);
	else
		fprintf(w->f, "<td class=\"num\" data-v=\"%llu\" title=\"%s bytes\">%s</td>",
			(unsigned long long)v, bd_count_fmt(v, c, sizeof c), bd_bytes_fmt(v, b, sizeof b));
}

/* ---- SHA-256 (FIPS 180-4), for the script's hash in the content-security policy ---- */
typedef struct sha256 {
	uint32_t h[8];
	uint8_t buf[64];
	uint64_t len;
} sha256;

static const uint32_t K256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_block(sha256 *s, const uint8_t *p)
{
	uint32_t w[64], a[8];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(a, s->h, sizeof a);
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = a[7] + (ror(a[4], 6) ^ ror(a[4], 11) ^ ror(a[4], 25)) +
			      ((a[4] & a[5]) ^ (~a[4] & a[6])) + K256[i] + w[i];
		uint32_t t2 = (ror(a[0], 2) ^ ror(a[0], 13) ^ ror(a[0], 22)) +
			      ((a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]));
		memmove(a + 1, a, 7 * sizeof *a);
		a[4] += t1;
		a[0] = t1 + t2;
	}
	for (int i = 0; i < 8; i++)
		s->h[i] += a[i];
}

void html_sha256(const void *data, size_t n, uint8_t out[32])
{
	sha256 s = {{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c,
		     0x1f83d9ab, 0x5be0cd19},
		    {0},
		    0};
	const uint8_t *p = data;
	size_t i = 0;
	for (; i + 64 <= n; i += 64)
		sha256_block(&s, p + i);
	uint8_t last[128] = {0};
	size_t rest = n - i;
	memcpy(last, p + i, rest);
	last[rest] = 0x80;
	size_t blocks = rest + 9 > 64 ? 2 : 1;
	uint64_t bits = (uint64_t)n * 8;
	for (int k = 0; k < 8; k++)
		last[blocks * 64 - 1 - k] = (uint8_t)(bits >> (8 * k));
	for (size_t b = 0; b < blocks; b++)
		sha256_block(&s, last + 64 * b);
	for (int k = 0; k < 8; k++) {
		out[4 * k] = (uint8_t)(s.h[k] >> 24);
		out[4 * k + 1] = (uint8_t)(s.h[k] >> 16);
		out[4 * k + 2] = (uint8_t)(s.h[k] >> 8);
		out[4 * k + 3] = (uint8_t)s.h[k];
	}
}

static void base64(const uint8_t *in, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t k = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);
		out[k++] = t[v >> 18 & 63];
		out[k++] = t[v >> 12 & 63];
		out[k++] = i + 1 < n ? t[v >> 6 & 63] : '=';
		out[k++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[k] = 0;
}

/* ---- the page ---- */
static const char CSS[] =
	":root{--fg:#1d2330;--muted:#5d6675;--bg:#fff;--panel:#f5f7fa;--line:#dde2ea;"
	"--accent:#2f5fb3;--crit:#b42318;--warn:#b54708;--info:#475467;--ok:#067647;"
	"--c1:#3b6fd4;--c2:#e07b39;--c3:#2a9d8f;--c4:#9b5de5;--c5:#e9c46a;--c6:#8d99ae;--c7:#d1495b}\n"
	"*{box-sizing:border-box}\n"
	"body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
	"color:var(--fg);background:var(--bg)}\n"
	"header.top{background:#17223b;color:#fff;padding:10px 24px;position:sticky;top:0;z-index:5}\n"
	"header.top b{font-size:15px;margin-right:18px}\n"
	"header.top nav{display:inline}\n"
	"header.top nav a{color:#cfd8ea;text-decoration:none;margin-right:14px;font-size:13px;white-space:nowrap}\n"
	"header.top nav a:hover{color:#fff;text-decoration:underline}\n"
	"main{max-width:1400px;margin:0 auto;padding:8px 24px 40px}\n"
	"section{margin:22px 0 10px;scroll-margin-top:56px}\n"
	"h1{font-size:22px;margin:14px 0 6px;word-break:break-word}\n"
	"h2{font-size:18px;border-bottom:2px solid var(--line);padding-bottom:4px;margin:26px 0 10px}\n"
	"h3{font-size:15px;margin:16px 0 6px}\n"
	"a{color:var(--accent)}\n"
	"code,pre,.mono{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:12.5px}\n"
	"pre{background:var(--panel);border:1px solid var(--line);padding:8px 10px;overflow:auto;"
	"max-height:360px;white-space:pre-wrap;word-break:break-all;margin:4px 0}\n"
	".muted{color:var(--muted)}\n"
	".note{color:var(--muted);font-size:12.5px;margin:4px 0}\n"
	".facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:6px 18px;"
	"background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:10px 14px}\n"
	".facts.small{grid-template-columns:repeat(auto-fill,minmax(200px,1fr));padding:6px 10px;font-size:13px;"
	"background:#fafbfc}\n"
	".facts>div{word-break:break-word}\n"
	".facts div span{display:block;color:var(--muted);font-size:11.5px;text-transform:uppercase;letter-spacing:.03em}\n"
	".slogan{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:16px;background:#fff6f5;"
	"border-left:4px solid var(--crit);padding:8px 12px;margin:8px 0;white-space:pre-wrap;word-break:break-word;"
	"max-height:7.6em;overflow:auto}\n"
	".slogan.none{background:var(--panel);border-left-color:var(--line);color:var(--muted)}\n"
	".verdict{font-size:17px;font-weight:600;margin:10px 0;padding:8px 12px;border-radius:6px;"
	"background:#eef2f8;border:1px solid var(--line);word-break:break-word}\n"
	".verdict.critical{background:#fef3f2;border-color:#fda29b}\n"
	".verdict.warning{background:#fffaeb;border-color:#fedf89}\n"
	".verdict.ok{background:#ecfdf3;border-color:#abefc6}\n"
	".cut{background:#fffaeb;border:1px solid #fedf89;border-radius:6px;padding:8px 12px;margin:8px 0}\n"
	"ol.findings{padding-left:0;list-style:none;counter-reset:f}\n"
	"ol.findings>li{overflow-wrap:anywhere;border:1px solid var(--line);border-left:5px solid var(--info);border-radius:6px;"
	"padding:8px 12px;margin:8px 0;counter-increment:f;break-inside:avoid}\n"
	"ol.findings>li.critical{border-left-color:var(--crit)}\n"
	"ol.findings>li.warning{border-left-color:var(--warn)}\n"
	".ftitle{font-weight:600}\n"
	".ftitle:before{content:counter(f) '. ';color:var(--muted)}\n"
	".sev{display:inline-block;font-size:11px;font-weight:700;text-transform:uppercase;border-radius:3px;"
	"padding:1px 6px;margin-right:6px;color:#fff;background:var(--info);white-space:nowrap}\n"
	".facts.two{grid-template-columns:minmax(0,1fr) minmax(0,1fr)}\n"
	".sev.critical{background:var(--crit)}.sev.warning{background:var(--warn)}\n"
	".kind{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:12px;color:var(--muted);margin-right:6px}\n"
	"dl.ev{display:grid;grid-template-columns:max-content 1fr;gap:1px 12px;margin:6px 0;font-size:13px}\n"
	"dl.ev dt{color:var(--muted)}dl.ev dd{margin:0;word-break:break-word}\n"
	".advice{background:#ecfdf3;border-left:3px solid var(--ok);padding:4px 10px;margin:6px 0}\n"
	"table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}\n"
	"th,td{border-bottom:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}\n"
	"th{background:var(--panel);font-weight:600;white-space:nowrap;position:relative}\n"
	"td{word-break:break-word}\n"
	"td.num,th.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\n"
	"td.pid,td.nw{white-space:nowrap}\n"
	"tr.culprit td{background:#fef3f2}\n"
	"tr.culprit td:first-child{box-shadow:inset 4px 0 var(--crit)}\n"
	"tfoot td{color:var(--muted);font-style:italic}\n"
	".js th.sk{cursor:pointer}.js th.sk:hover{background:#e8edf5}\n"
	"th[aria-sort=ascending]:after{content:' \\25B2';font-size:10px}\n"
	"th[aria-sort=descending]:after{content:' \\25BC';font-size:10px}\n"
	".tools{display:none;gap:10px;align-items:center;margin:6px 0;flex-wrap:wrap}\n"
	".js .tools{display:flex}\n"
	".tools input[type=search]{padding:4px 8px;border:1px solid var(--line);border-radius:4px;min-width:260px}\n"
	".tools select,.tools button{padding:3px 8px;border:1px solid var(--line);border-radius:4px;background:#fff}\n"
	".split{display:grid;grid-template-columns:minmax(0,5fr) minmax(0,7fr);gap:8px 28px;align-items:start}\n"
	"@media (max-width:1000px){.split{grid-template-columns:1fr}}\n"
	".charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(600px,1fr));gap:12px 24px}\n"
	".chart{margin:6px 0}.chart h4{margin:4px 0;font-size:13px}\n"
	"svg{max-width:100%;height:auto;font-family:system-ui,'DejaVu Sans',sans-serif}\n"
	"svg text{font-size:11px;fill:#1d2330}\n"
	"svg a:hover rect{opacity:.8}\n"
	".badge{display:inline-block;font-size:11px;border-radius:3px;padding:0 5px;background:#eef2f8;"
	"color:var(--muted);margin-left:4px}\n"
	".badge.hot{background:var(--crit);color:#fff}\n"
	"details{margin:3px 0}\n"
	"summary{cursor:pointer}\n"
	".proc{border:1px solid var(--line);border-radius:6px;padding:6px 12px;margin:12px 0;break-inside:avoid-page}\n"
	".proc.culprit{border-left:5px solid var(--crit)}\n"
	".proc>h3{margin:6px 0}\n"
	"ul.tree{list-style:none;padding-left:18px;margin:2px 0;border-left:1px dotted #c5ccd8}\n"
	"ul.tree.root{border-left:none;padding-left:0}\n"
	"ul.tree li{margin:1px 0}\n"
	"ul.tree summary::marker{color:var(--muted)}\n"
	".tn{white-space:nowrap}.tn.hot{background:#fef3f2;outline:1px solid #fda29b;border-radius:3px}\n"
	".bar{display:inline-block;height:8px;background:var(--c1);vertical-align:middle;margin-right:4px;border-radius:1px}\n"
	".pager{display:none;gap:8px;align-items:center;margin:6px 0}.js .pager{display:flex}\n"
	"footer{border-top:1px solid var(--line);margin-top:30px;padding-top:8px;color:var(--muted);font-size:12px}\n"
	".js .nojs{display:none}\n"
	"button.fold{display:none;font-size:12px}.js button.fold{display:inline-block}\n"
	"@media print{header.top{position:static}header.top nav{display:none}.tools,.pager,button.fold{display:none!important}"
	"pre,.slogan{max-height:none}body{font-size:11px}section{break-inside:auto}a{color:inherit;text-decoration:none}"
	/* folded parts print too, even without the script's beforeprint */
	"details::details-content{content-visibility:visible;display:block}}\n";

/* The page's only script. Data comes from <script type="application/json"> blocks
 * and is written with textContent, never as markup. */
static const char JS[] =
	"(function(){'use strict';\n"
	"var d=document,A=Array.prototype;d.documentElement.className+=' js';\n"
	"function all(s,r){return A.slice.call((r||d).querySelectorAll(s));}\n"
	"function fmtC(v){return v<0?'?':String(v).replace(/\\B(?=(\\d{3})+(?!\\d))/g,',');}\n"
	"function fmtB(v){if(v<0)return '?';var u=['B','kB','MB','GB','TB'],i=0,x=v;"
	"while(x>=1000&&i<4){x/=1000;i++;}return (i?x.toFixed(x<10?2:x<100?1:0):String(x))+' '+u[i];}\n"
	"function key(td){var v=td.getAttribute('data-v');return v!==null?parseFloat(v):td.textContent.toLowerCase();}\n"
	"function cmp(a,b){return typeof a==='number'&&typeof b==='number'?a-b:String(a)<String(b)?-1:String(a)>String(b)?1:0;}\n"
	"function mark(ths,th,asc){ths.forEach(function(x){x.removeAttribute('aria-sort');});"
	"th.setAttribute('aria-sort',asc?'ascending':'descending');}\n"
	/* static tables */
	"all('table.sortable').forEach(function(t){if(!t.tHead)return;var ths=A.slice.call(t.tHead.rows[0].cells);"
	"ths.forEach(function(th,i){th.classList.add('sk');th.tabIndex=0;function go(){"
	"var asc=th.getAttribute('aria-sort')==='descending'?true:th.getAttribute('aria-sort')==='ascending'?false:!th.classList.contains('num');"
	"var b=t.tBodies[0],rows=A.slice.call(b.rows);rows.sort(function(x,y){var r=cmp(key(x.cells[i]||x),key(y.cells[i]||y));return asc?r:-r;});"
	"rows.forEach(function(r){b.appendChild(r);});mark(ths,th,asc);}"
	"th.addEventListener('click',go);th.addEventListener('keydown',function(e){if(e.key==='Enter')go();});});});\n"
	"all('input.filter').forEach(function(inp){var t=d.getElementById(inp.getAttribute('data-table'));if(!t)return;"
	"var out=inp.parentNode.querySelector('.count');inp.addEventListener('input',function(){var q=inp.value.toLowerCase(),n=0;"
	"A.forEach.call(t.tBodies[0].rows,function(r){var ok=!q||r.textContent.toLowerCase().indexOf(q)>=0;r.hidden=!ok;n+=ok;});"
	"if(out)out.textContent=n+' shown';});});\n"
	/* the process table */
	"var pd=d.getElementById('proc-data');if(pd){var D=JSON.parse(pd.textContent),S=D.s,R=D.rows,C=D.cols;"
	"var t=d.getElementById('proc-table'),tb=t.tBodies[0],ths=A.slice.call(t.tHead.rows[0].cells);"
	"var q=d.getElementById('proc-q'),app=d.getElementById('proc-app'),st=d.getElementById('proc-state'),"
	"ps=d.getElementById('proc-ps'),info=d.getElementById('proc-info'),page=0,view=R,sc=6,asc=false;\n"
	"function str(i){return i<0?'':S[i];}\n"
	/* a pid is <0.85.0> or, in Elixir style, #PID<0.85.0>: its three numbers */
	"function pidn(p){var m=/(\\d+)\\.(\\d+)\\.(\\d+)/.exec(p);return m?[m[1],m[2],m[3]]:['0','0','0'];}\n"
	"function pidk(p){var x=pidn(p);return (+x[0])*1e15+(+x[1])*1e4+(+x[2]);}\n"
	"function val(r,c){var k=C[c].k;return k==='s'?str(r[c]).toLowerCase():k==='t'?(r[c]===null?'':r[c].toLowerCase()):"
	"k==='p'?(r._k===undefined?(r._k=pidk(r[0])):r._k):r[c];}\n"
	"function txt(r){if(r._t===undefined)r._t=(r[0]+' '+(r[1]||'')+' '+str(r[2])+' '+str(r[3])+' '+str(r[9])+' '+str(r[4])).toLowerCase();return r._t;}\n"
	"function opts(sel,col){var seen={};R.forEach(function(r){if(r[col]>=0)seen[r[col]]=(seen[r[col]]||0)+1;});"
	"Object.keys(seen).sort(function(a,b){return seen[b]-seen[a];}).forEach(function(k){var o=d.createElement('option');"
	"o.value=k;o.textContent=S[k]+' ('+fmtC(seen[k])+')';sel.appendChild(o);});}\n"
	"opts(app,9);opts(st,4);\n"
	"function apply(){var s=q.value.toLowerCase(),a=app.value,z=st.value;view=R.filter(function(r){"
	"return (!s||txt(r).indexOf(s)>=0)&&(a===''||String(r[9])===a)&&(z===''||String(r[4])===z);});"
	"view.sort(function(x,y){var r=cmp(val(x,sc),val(y,sc));return asc?r:-r;});page=0;draw();}\n"
	"function cell(tr,v,cls,title){var td=d.createElement('td');if(cls)td.className=cls;td.textContent=v;if(title)td.title=title;tr.appendChild(td);return td;}\n"
	"function draw(){var n=+ps.value,pages=Math.max(1,Math.ceil(view.length/n));if(page>=pages)page=pages-1;"
	"var f=d.createDocumentFragment();view.slice(page*n,page*n+n).forEach(function(r){var tr=d.createElement('tr');"
	"if(r[10]&2)tr.className='culprit';var td=cell(tr,'','mono pid');if(r[10]&1){var a=d.createElement('a');"
	"a.href='#p-'+pidn(r[0]).join('.');a.textContent=r[0];td.appendChild(a);}else td.textContent=r[0];"
	"cell(tr,r[1]||'');cell(tr,str(r[2]),'mono');cell(tr,str(r[3]),'mono');cell(tr,str(r[4]),'nw');"
	"cell(tr,fmtC(r[5]),'num');cell(tr,fmtB(r[6]),'num',fmtC(r[6])+' bytes');cell(tr,fmtC(r[7]),'num');"
	"cell(tr,fmtB(r[8]),'num',fmtC(r[8])+' bytes');cell(tr,str(r[9]));f.appendChild(tr);});"
	"tb.textContent='';tb.appendChild(f);info.textContent='page '+(page+1)+' of '+fmtC(pages)+' \\u00b7 '+"
	"fmtC(view.length)+' of '+fmtC(R.length)+' rows match';}\n"
	"ths.forEach(function(th,i){th.classList.add('sk');th.tabIndex=0;function go(){"
	"if(sc===i)asc=!asc;else{sc=i;asc=C[i].k!=='n';}mark(ths,th,asc);apply();}"
	"th.addEventListener('click',go);th.addEventListener('keydown',function(e){if(e.key==='Enter')go();});});\n"
	"mark(ths,ths[sc],asc);[q,app,st].forEach(function(e){e.addEventListener('input',apply);});ps.addEventListener('change',draw);\n"
	"d.getElementById('proc-prev').onclick=function(){if(page>0){page--;draw();}};"
	"d.getElementById('proc-next').onclick=function(){page++;draw();};\n"
	"d.getElementById('proc-first').onclick=function(){page=0;draw();};"
	"d.getElementById('proc-last').onclick=function(){page=1e9;draw();};\n"
	"d.addEventListener('click',function(e){var a=e.target.closest&&e.target.closest('a.pq');if(!a)return;"
	"q.value='<'+a.getAttribute('data-pid')+'>';app.value='';st.value='';apply();});\n"
	"apply();}\n"
	/* folding */
	"all('button.fold').forEach(function(b){b.addEventListener('click',function(){var s=d.getElementById(b.getAttribute('data-in'));"
	"var open=b.getAttribute('data-open')==='1';all('details',s).forEach(function(x){x.open=open;});});});\n"
	"window.addEventListener('beforeprint',function(){all('details').forEach(function(x){x.open=true;});});\n"
	"})();\n";

static char js_hash[48];

static void hash_js(void)
{
	uint8_t digest[32];
	html_sha256(JS, sizeof JS - 1, digest);
	base64(digest, sizeof digest, js_hash);
}

void html_page_begin(hw *w, const char *title, const char *nav)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, hash_js); /* the script is the same on every page */
	const char *hash = js_hash;
	hw_raw(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
	/* Nothing from the network, and no script but the page's own (its hash). */
	hw_fmt(w, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
		  "script-src 'sha256-%s'; style-src 'unsafe-inline'; img-src data:; "
		  "base-uri 'none'; form-action 'none'\">\n", hash);
	hw_raw(w, "<meta name=\"referrer\" content=\"no-referrer\">\n"
		  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		  "<meta name=\"generator\" content=\"beamdump " BD_VERSION "\">\n<title>");
	hw_text(w, title);
	hw_raw(w, "</title>\n<style>\n");
	hw_raw(w, CSS);
	hw_raw(w, "</style>\n</head>\n<body>\n<header class=\"top\"><b>beamdump report</b><nav>");
	hw_raw(w, nav);
	hw_raw(w, "</nav></header>\n<main>\n");
}

void html_page_end(hw *w)
{
	hw_raw(w, "</main>\n<script>");
	hw_raw(w, JS);
	hw_raw(w, "</script>\n</body>\n</html>\n");
}
