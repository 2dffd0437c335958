/* Hand-written SVG charts for `recur train --plot DIR`: line charts and heatmap panels, no dependencies. */
#ifndef RECUR_CLI_PLOT_SVG_H
#define RECUR_CLI_PLOT_SVG_H

#include <stddef.h>

typedef struct svg_series {
    const char *label;
    const float *y; /* n values; non-finite values are skipped */
} svg_series;

/* Line chart of ns series of n points each, x = 0..n-1 (or x_first..), with optional per-point x labels
 * (tokens). Returns 0, or non-zero after recur_set_error naming the file. */
int svg_line_chart(const char *path, const char *title, const char *xlabel, const char *ylabel, const svg_series *s,
                   int ns, size_t n, double x_first, const char *const *xlabels, int markers);

/* Panels of heatmaps side by side: panel k is data[k] (rows x cols, row-major: row = time step, col = unit),
 * coloured red (vmin) - yellow - green (vmax) like matplotlib's RdYlGn. */
int svg_heatmaps(const char *path, const char *title, int npanels, const char *const *panel_titles,
                 const float *const *data, size_t rows, size_t cols, float vmin, float vmax, const char *row_label,
                 const char *col_label);

#endif
