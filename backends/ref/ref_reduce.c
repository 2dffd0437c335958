/* Bias add and reductions: add_bias, sum_rows (bias gradients), sum_sq (gradient norms). */
#include "ref_kernels.h"

/* y[r, c] += bias[c] */
void recur_k_add_bias(size_t rows, size_t cols, const float *bias, float *y, size_t ldy, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(rows, ith, nth, &lo, &hi);
    for (size_t r = lo; r < hi; r++)
        for (size_t c = 0; c < cols; c++) y[r * ldy + c] += bias[c];
}

/* y[c] = beta y[c] + sum_r x[r, c], in increasing r; split over columns. */
void recur_k_sum_rows(size_t rows, size_t cols, const float *x, size_t ldx, float beta, float *y, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(cols, ith, nth, &lo, &hi);
    for (size_t c = lo; c < hi; c++) {
        double acc = 0.0;
        for (size_t r = 0; r < rows; r++) acc += x[r * ldx + c];
        y[c] = beta == 0.0f ? (float)acc : (float)((double)beta * y[c] + acc);
    }
}

/* out = sum x^2 */
void recur_k_sum_sq(size_t n, const float *x, float *out, int ith, int nth) {
    if (ith != 0) return;
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) acc += (double)x[i] * x[i];
    *out = (float)acc;
}
