/* SVG charts (see plot_svg.h). Coordinates are in user units; the files open in any browser. */
#include "plot_svg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "recur/recur.h"

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"};

static void text_escaped(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static FILE *open_svg(const char *path, double w, double h) {
    FILE *f = fopen(path, "w");
    if (!f) {
        recur_set_error(RECUR_E_IO, "%s: cannot write: %s", path, strerror(errno));
        return NULL;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            w, h, w, h);
    return f;
}

static int close_svg(FILE *f, const char *path) {
    fputs("</svg>\n", f);
    int bad = ferror(f);
    if (fclose(f) || bad) return recur_set_error(RECUR_E_IO, "%s: write error", path);
    return 0;
}

static void label(FILE *f, double x, double y, const char *anchor, double rot, const char *s, int size) {
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\"", x, y, anchor, size);
    if (rot != 0) fprintf(f, " transform=\"rotate(%.0f %.1f %.1f)\"", rot, x, y);
    fputc('>', f);
    text_escaped(f, s);
    fputs("</text>\n", f);
}

/* A "nice" tick step for a range (1, 2 or 5 times a power of ten). */
static double nice_step(double range, int ticks) {
    double raw = range / ticks, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * p;
}

int svg_line_chart(const char *path, const char *title, const char *xlabel, const char *ylabel, const svg_series *s,
                   int ns, size_t n, double x_first, const char *const *xlabels, int markers) {
    const double W = 720, H = 420, L = 70, R = 150, Tm = 40, Bm = xlabels ? 80 : 55;
    const double pw = W - L - R, ph = H - Tm - Bm;
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < ns; k++)
        for (size_t i = 0; i < n; i++)
            if (isfinite(s[k].y[i])) {
                if (s[k].y[i] < lo) lo = s[k].y[i];
                if (s[k].y[i] > hi) hi = s[k].y[i];
            }
    if (!(lo <= hi)) lo = 0, hi = 1;
    if (hi - lo < 1e-12) lo -= 0.5, hi += 0.5;
    double pad = 0.05 * (hi - lo);
    lo -= pad, hi += pad;
    double xlo = x_first, xhi = x_first + (double)(n > 1 ? n - 1 : 1);
    FILE *f = open_svg(path, W, H);
    if (!f) return 1;
#define PX(x) (L + ((x) - xlo) / (xhi - xlo) * pw)
#define PY(y) (Tm + (hi - (y)) / (hi - lo) * ph)
    label(f, W / 2, 22, "middle", 0, title, 15);
    /* grid and ticks */
    double ys = nice_step(hi - lo, 6);
    for (double y = ceil(lo / ys) * ys; y <= hi + 1e-12; y += ys) {
        char b[32];
        snprintf(b, sizeof b, "%g", fabs(y) < ys * 1e-6 ? 0.0 : y);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L, PY(y), L + pw, PY(y));
        label(f, L - 6, PY(y) + 4, "end", 0, b, 11);
    }
    if (xlabels) {
        for (size_t i = 0; i < n; i++) label(f, PX(x_first + (double)i) + 4, Tm + ph + 12, "end", -60, xlabels[i], 11);
    } else {
        double xs = nice_step(xhi - xlo, 8);
        if (xs < 1) xs = 1;
        for (double x = ceil(xlo / xs) * xs; x <= xhi + 1e-9; x += xs) {
            char b[32];
            snprintf(b, sizeof b, "%g", x);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", PX(x), Tm, PX(x), Tm + ph);
            label(f, PX(x), Tm + ph + 16, "middle", 0, b, 11);
        }
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#444\"/>\n", L, Tm, pw, ph);
    label(f, L + pw / 2, H - 10, "middle", 0, xlabel, 12);
    label(f, 18, Tm + ph / 2, "middle", -90, ylabel, 12);
    for (int k = 0; k < ns; k++) {
        const char *col = palette[k % 6];
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
        for (size_t i = 0; i < n; i++)
            if (isfinite(s[k].y[i])) fprintf(f, "%.1f,%.1f ", PX(x_first + (double)i), PY(s[k].y[i]));
        fputs("\"/>\n", f);
        if (markers)
            for (size_t i = 0; i < n; i++)
                if (isfinite(s[k].y[i]))
                    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", PX(x_first + (double)i),
                            PY(s[k].y[i]), col);
        double ly = Tm + 14 + 18 * k;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n", L + pw + 12,
                ly - 4, L + pw + 32, ly - 4, col);
        label(f, L + pw + 36, ly, "start", 0, s[k].label, 11);
    }
#undef PX
#undef PY
    return close_svg(f, path);
}

static void ramp(float v, float vmin, float vmax, int *r, int *g, int *b) {
    /* red (215, 48, 39) -> yellow (255, 255, 191) -> green (26, 152, 80) */
    float t = vmax > vmin ? (v - vmin) / (vmax - vmin) : 0.5f;
    if (!(t >= 0)) t = 0;
    if (t > 1) t = 1;
    static const float c[3][3] = {{215, 48, 39}, {255, 255, 191}, {26, 152, 80}};
    int seg = t < 0.5f ? 0 : 1;
    float u = seg ? (t - 0.5f) * 2 : t * 2;
    *r = (int)(c[seg][0] + u * (c[seg + 1][0] - c[seg][0]));
    *g = (int)(c[seg][1] + u * (c[seg + 1][1] - c[seg][1]));
    *b = (int)(c[seg][2] + u * (c[seg + 1][2] - c[seg][2]));
}

int svg_heatmaps(const char *path, const char *title, int npanels, const char *const *panel_titles,
                 const float *const *data, size_t rows, size_t cols, float vmin, float vmax, const char *row_label,
                 const char *col_label) {
    const double pw = 260, ph = 260, gap = 60, L = 60, Tm = 50, Bm = 70;
    const double W = L + npanels * (pw + gap) + 40, H = Tm + ph + Bm;
    double cw = pw / (double)cols, chh = ph / (double)rows;
    FILE *f = open_svg(path, W, H);
    if (!f) return 1;
    label(f, W / 2, 22, "middle", 0, title, 15);
    for (int k = 0; k < npanels; k++) {
        double x0 = L + k * (pw + gap);
        label(f, x0 + pw / 2, Tm - 8, "middle", 0, panel_titles[k], 13);
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < cols; c++) {
                int R, G, B;
                ramp(data[k][r * cols + c], vmin, vmax, &R, &G, &B);
                fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"rgb(%d,%d,%d)\"/>\n",
                        x0 + (double)c * cw, Tm + (double)r * chh, cw + 0.05, chh + 0.05, R, G, B);
            }
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#444\"/>\n", x0, Tm,
                pw, ph);
        char b[32];
        label(f, x0, Tm + ph + 14, "start", 0, "0", 10);
        snprintf(b, sizeof b, "%zu", cols - 1);
        label(f, x0 + pw, Tm + ph + 14, "end", 0, b, 10);
        label(f, x0 + pw / 2, Tm + ph + 30, "middle", 0, col_label, 12);
        label(f, x0 - 4, Tm + 10, "end", 0, "0", 10);
        snprintf(b, sizeof b, "%zu", rows - 1);
        label(f, x0 - 4, Tm + ph, "end", 0, b, 10);
        if (k == 0) label(f, x0 - 30, Tm + ph / 2, "middle", -90, row_label, 12);
    }
    /* colour bar */
    double bx = L, by = H - 28, bw = 240;
    for (int i = 0; i < 48; i++) {
        int R, G, B;
        ramp(vmin + (vmax - vmin) * (float)i / 47.0f, vmin, vmax, &R, &G, &B);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"10\" fill=\"rgb(%d,%d,%d)\"/>\n", bx + i * bw / 48, by,
                bw / 48 + 0.1, R, G, B);
    }
    char b[32];
    snprintf(b, sizeof b, "%g", (double)vmin);
    label(f, bx - 4, by + 9, "end", 0, b, 10);
    snprintf(b, sizeof b, "%g", (double)vmax);
    label(f, bx + bw + 4, by + 9, "start", 0, b, 10);
    return close_svg(f, path);
}
