/* Bias add and reductions: add_bias, sum_rows (bias gradients), sum_sq (gradient norms). */
#include "ref_kernels.h"

/* y[r*ldy + c] += bias[c]  (split over rows) */
void recur_k_add_bias(size_t rows, size_t cols, const float *bias, float *y, size_t ldy, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(rows, ith, nth, &lo, &hi);
    for (size_t r = lo; r < hi; r++)
        for (size_t c = 0; c < cols; c++) y[r * ldy + c] += bias[c];
}

/* y[c] = beta y[c] + sum_{r < rows} x[r*ldx + c], summed in increasing r in double; split over columns.
 * beta == 0 overwrites y without reading it. */
void recur_k_sum_rows(size_t rows, size_t cols, const float *x, size_t ldx, float beta, float *y, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(cols, ith, nth, &lo, &hi);
    for (size_t c = lo; c < hi; c++) {
        double acc = 0.0;
        for (size_t r = 0; r < rows; r++) acc += x[r * ldx + c];
        y[c] = beta == 0.0f ? (float)acc : (float)((double)beta * y[c] + acc);
    }
}

/* out[0] = sum_i x[i]^2, in increasing i in double; ith == 0 alone (a fixed order for every nth). */
void recur_k_sum_sq(size_t n, const float *x, float *out, int ith, int nth) {
    if (ith != 0) return;
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) acc += (double)x[i] * x[i];
    *out = (float)acc;
}
