/* Inline SVG charts of beamdump report: horizontal bars, a stacked bar with its
 * legend, a squarified treemap and a gauge. Labels come from dumps and are escaped;
 * every shape has a <title> so a pointer shows the exact value. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "beamdump/util.h"
#include "html.h"

/* No red in the palette: red marks culprits. */
static const char *const PALETTE[] = {"#3b6fd4", "#e07b39", "#2a9d8f", "#9b5de5", "#e9c46a",
				      "#57a773", "#4ea8de", "#b5838d", "#7a9e9f", "#c49a6c"};
#define MUTED "#9aa4b5"
enum { NPAL = sizeof PALETTE / sizeof PALETTE[0] };
#define HOT "#b42318"

static void value_text(hw *w, const chart_item *it, uint64_t v)
{
	if (it->bytes)
		hw_bytes(w, v);
	else
		hw_count(w, v);
}

/* <title>label: value</title> */
static void title(hw *w, const chart_item *it)
{
	char b[32];
	hw_raw(w, "<title>");
	hw_text(w, it->label);
	hw_raw(w, ": ");
	value_text(w, it, it->value);
	if (it->bytes)
		hw_fmt(w, " (%s bytes)", bd_count_fmt(it->value, b, sizeof b));
	hw_raw(w, "</title>");
}

static void link_open(hw *w, const chart_item *it)
{
	if (it->href)
		hw_fmt(w, "<a href=\"%s\">", it->href);
}

static void link_close(hw *w, const chart_item *it)
{
	if (it->href)
		hw_raw(w, "</a>");
}

static void chart_head(hw *w, const char *t)
{
	hw_raw(w, "<div class=\"chart\"><h4>");
	hw_text(w, t);
	hw_raw(w, "</h4>\n");
}

void svg_bars(hw *w, const char *t, const chart_item *items, size_t n)
{
	uint64_t max = 0;
	for (size_t i = 0; i < n; i++) {
		if (items[i].value != BD_UNKNOWN && items[i].value > max)
			max = items[i].value;
		if (items[i].value2 != BD_UNKNOWN && items[i].value2 > max)
			max = items[i].value2;
	}
	if (!max)
		return;
	const int W = 600, LABEL = 220, VAL = 110, ROW = 20;
	const int BAR = W - LABEL - VAL - 10;
	int h = (int)n * ROW + 4;
	chart_head(w, t);
	hw_fmt(w, "<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"", W, h, W, h);
	hw_text(w, t);
	hw_raw(w, "\">\n");
	for (size_t i = 0; i < n; i++) {
		const chart_item *it = &items[i];
		uint64_t v = it->value == BD_UNKNOWN ? 0 : it->value;
		int y = (int)i * ROW + 2;
		double bw = (double)BAR * (double)v / (double)max;
		link_open(w, it);
		hw_raw(w, "<g>");
		title(w, it);
		hw_fmt(w, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", LABEL - 6, y + 13);
		hw_textcut(w, it->label, 34);
		hw_raw(w, "</text>");
		if (it->value2 != BD_UNKNOWN) /* the whole behind the part (carriers) */
			hw_fmt(w, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#c9d6ee\"/>",
			       LABEL, y + 2, (double)BAR * (double)it->value2 / (double)max, ROW - 6);
		hw_fmt(w, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>", LABEL,
		       y + 2, bw < 1 && v ? 1.0 : bw, ROW - 6, it->hot ? HOT : PALETTE[0]);
		double end = bw < 1 ? 1 : bw;
		if (it->value2 != BD_UNKNOWN && (double)BAR * (double)it->value2 / (double)max > end)
			end = (double)BAR * (double)it->value2 / (double)max;
		hw_fmt(w, "<text x=\"%.1f\" y=\"%d\">", LABEL + end + 4, y + 13);
		value_text(w, it, v);
		if (it->value2 != BD_UNKNOWN && it->value2) {
			hw_raw(w, " of ");
			value_text(w, it, it->value2);
		}
		hw_raw(w, "</text></g>");
		link_close(w, it);
		hw_raw(w, "\n");
	}
	hw_raw(w, "</svg></div>\n");
}

void svg_stack(hw *w, const char *t, const chart_item *items, size_t n, uint64_t total)
{
	if (!total || total == BD_UNKNOWN)
		return;
	const int W = 560, BARH = 26, ROW = 18;
	int cols = 2, rows = (int)(n + 1) / cols;
	int h = BARH + 10 + rows * ROW + 4;
	chart_head(w, t);
	hw_fmt(w, "<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"", W, h, W, h);
	hw_text(w, t);
	hw_raw(w, "\">\n");
	double x = 0;
	for (size_t i = 0; i < n; i++) {
		const chart_item *it = &items[i];
		uint64_t v = it->value == BD_UNKNOWN ? 0 : it->value;
		double bw = (double)W * (double)v / (double)total;
		if (x + bw > W)
			bw = W - x;
		link_open(w, it);
		hw_fmt(w, "<rect x=\"%.1f\" y=\"0\" width=\"%.1f\" height=\"%d\" fill=\"%s\">", x, bw,
		       BARH, PALETTE[i % NPAL]);
		title(w, it);
		hw_raw(w, "</rect>");
		link_close(w, it);
		x += bw;
	}
	for (size_t i = 0; i < n; i++) {
		const chart_item *it = &items[i];
		uint64_t v = it->value == BD_UNKNOWN ? 0 : it->value;
		int lx = (int)(i % (size_t)cols) * (W / cols), ly = BARH + 10 + (int)(i / (size_t)cols) * ROW;
		hw_fmt(w, "<rect x=\"%d\" y=\"%d\" width=\"11\" height=\"11\" fill=\"%s\"/>", lx, ly,
		       PALETTE[i % NPAL]);
		hw_fmt(w, "<text x=\"%d\" y=\"%d\">", lx + 16, ly + 10);
		hw_textcut(w, it->label, 40);
		hw_raw(w, ": ");
		value_text(w, it, v);
		hw_fmt(w, " (%.1f %%)</text>\n", 100.0 * (double)v / (double)total);
	}
	hw_raw(w, "</svg></div>\n");
}

/* ---- squarified treemap (Bruls, Huizing, van Wijk 2000) ---- */
typedef struct rectd {
	double x, y, w, h;
} rectd;

static double worst(const double *a, size_t n, double side)
{
	double s = 0, mx = 0, mn = INFINITY;
	for (size_t i = 0; i < n; i++) {
		s += a[i];
		mx = a[i] > mx ? a[i] : mx;
		mn = a[i] < mn ? a[i] : mn;
	}
	if (s <= 0 || mn <= 0)
		return INFINITY;
	double s2 = s * s, w2 = side * side;
	double r1 = w2 * mx / s2, r2 = s2 / (w2 * mn);
	return r1 > r2 ? r1 : r2;
}

/* Lay out areas a[0..n) (descending, summing to r's area) into out. */
static void squarify(const double *a, size_t n, rectd r, rectd *out)
{
	size_t i = 0;
	while (i < n) {
		double side = r.w < r.h ? r.w : r.h;
		size_t k = 1;
		while (i + k < n && worst(a + i, k + 1, side) <= worst(a + i, k, side))
			k++;
		double s = 0;
		for (size_t j = 0; j < k; j++)
			s += a[i + j];
		if (r.w >= r.h) { /* a column at the left */
			double cw = r.h > 0 ? s / r.h : 0, y = r.y;
			for (size_t j = 0; j < k; j++) {
				double hh = cw > 0 ? a[i + j] / cw : 0;
				out[i + j] = (rectd){r.x, y, cw, hh};
				y += hh;
			}
			r.x += cw;
			r.w -= cw;
		} else { /* a row at the top */
			double rh = r.w > 0 ? s / r.w : 0, x = r.x;
			for (size_t j = 0; j < k; j++) {
				double ww = rh > 0 ? a[i + j] / rh : 0;
				out[i + j] = (rectd){x, r.y, ww, rh};
				x += ww;
			}
			r.y += rh;
			r.h -= rh;
		}
		i += k;
	}
}

static const char *color_of(const chart_item *items, size_t i, const size_t *top_rank)
{
	if (items[i].hot)
		return HOT;
	for (size_t k = i; k != (size_t)BD_UNKNOWN; k = (size_t)items[k].value2)
		if (items[k].muted)
			return MUTED;
		else if (items[k].value2 == BD_UNKNOWN || items[k].value2 >= k)
			break;
	return PALETTE[top_rank[i] % NPAL];
}

/* The children of parent (BD_UNKNOWN: top level) with a value, in r. */
static void treemap_level(hw *w, const chart_item *items, size_t n, uint64_t parent, rectd r,
			  const size_t *top_rank, int depth)
{
	size_t *idx = malloc((n + 1) * sizeof *idx);
	double *area = malloc((n + 1) * sizeof *area);
	rectd *out = malloc((n + 1) * sizeof *out);
	size_t k = 0;
	double sum = 0, psum = 0;
	for (size_t i = 0; idx && area && out && i < n; i++)
		if (items[i].value2 == parent && items[i].value && items[i].value != BD_UNKNOWN) {
			idx[k++] = i;
			sum += (double)items[i].value;
		}
	if (parent != BD_UNKNOWN)
		psum = (double)items[parent].value;
	if (!k || sum <= 0 || r.w < 2 || r.h < 2)
		goto out;
	/* Children fill the part of their parent they account for: the rest stays the
	 * parent's own colour ("other"). */
	double scale = r.w * r.h / (psum > sum ? psum : sum);
	for (size_t j = 0; j < k; j++)
		area[j] = (double)items[idx[j]].value * scale;
	if (psum > sum) { /* a virtual last item for the rest */
		area[k] = (psum - sum) * scale;
	}
	/* sort descending (k is small) */
	for (size_t a = 1; a < k; a++)
		for (size_t b = a; b > 0 && area[b] > area[b - 1]; b--) {
			double t = area[b];
			area[b] = area[b - 1];
			area[b - 1] = t;
			size_t u = idx[b];
			idx[b] = idx[b - 1];
			idx[b - 1] = u;
		}
	squarify(area, k + (psum > sum), r, out);
	for (size_t j = 0; j < k; j++) {
		const chart_item *it = &items[idx[j]];
		rectd q = out[j];
		if (q.w < 0.5 || q.h < 0.5)
			continue;
		link_open(w, it);
		hw_fmt(w, "<g><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
			  "fill-opacity=\"%.2f\" stroke=\"#fff\" stroke-width=\"%d\">",
		       q.x, q.y, q.w, q.h, color_of(items, idx[j], top_rank), depth ? 0.55 : 0.9,
		       depth ? 1 : 2);
		title(w, it);
		hw_raw(w, "</rect>");
		int chars = (int)(q.w / 6.4);
		if (q.h >= 14 && chars >= 4) {
			hw_fmt(w, "<text x=\"%.1f\" y=\"%.1f\"%s>", q.x + 3, q.y + 12,
			       depth ? "" : " font-weight=\"600\"");
			hw_textcut(w, it->label, (size_t)chars);
			hw_raw(w, "</text>");
			if (q.h >= 28 && chars >= 8) {
				hw_fmt(w, "<text x=\"%.1f\" y=\"%.1f\">", q.x + 3, q.y + 25);
				value_text(w, it, it->value);
				hw_raw(w, "</text>");
			}
		}
		hw_raw(w, "</g>");
		link_close(w, it);
		hw_raw(w, "\n");
		/* children below the label strip */
		rectd inner = {q.x + 2, q.y + 30, q.w - 4, q.h - 32};
		if (depth < 2 && inner.w > 20 && inner.h > 20)
			treemap_level(w, items, n, idx[j], inner, top_rank, depth + 1);
	}
out:
	free(idx);
	free(area);
	free(out);
}

void svg_treemap(hw *w, const char *t, const chart_item *items, size_t n, int width, int height)
{
	size_t *top_rank = calloc(n + 1, sizeof *top_rank);
	if (!top_rank)
		return;
	/* Colour of a child: its top-level ancestor's. */
	size_t rank = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t p = items[i].value2;
		if (p == BD_UNKNOWN || p >= i)
			top_rank[i] = rank++;
		else
			top_rank[i] = top_rank[p];
	}
	chart_head(w, t);
	hw_fmt(w, "<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"",
	       width, height, width, height);
	hw_text(w, t);
	hw_raw(w, "\">\n");
	treemap_level(w, items, n, BD_UNKNOWN, (rectd){0, 0, width, height}, top_rank, 0);
	hw_raw(w, "</svg></div>\n");
	free(top_rank);
}

void svg_gauge(hw *w, const char *t, uint64_t value, uint64_t limit)
{
	if (value == BD_UNKNOWN || limit == BD_UNKNOWN || !limit)
		return;
	const int W = 640, H = 34;
	double share = (double)value / (double)limit;
	double bw = (double)W * (share > 1 ? 1 : share);
	const char *col = share >= 0.9 ? HOT : share >= 0.75 ? "#b54708" : PALETTE[0];
	char a[32], b[32];
	chart_head(w, t);
	hw_fmt(w, "<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"",
	       W, H, W, H);
	hw_text(w, t);
	hw_fmt(w, "\"><rect x=\"0\" y=\"0\" width=\"%d\" height=\"16\" fill=\"#e4e9f2\"/>"
		  "<rect x=\"0\" y=\"0\" width=\"%.1f\" height=\"16\" fill=\"%s\"><title>%s of %s</title></rect>"
		  "<text x=\"0\" y=\"30\">%s of %s (%.1f %%)</text></svg></div>\n",
	       W, bw, col, bd_count_fmt(value, a, sizeof a), bd_count_fmt(limit, b, sizeof b), a, b,
	       100.0 * share);
}
