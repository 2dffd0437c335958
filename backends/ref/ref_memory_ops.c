/* Elementwise memory ops: fill, copy, scale, axpy, mul. */
#include <string.h>

#include "ref_kernels.h"

/* y[i] = value */
void recur_k_fill(size_t n, float value, float *y, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) y[i] = value;
}

/* y[r, :cols] = x[r, :cols]; bit copies, so int32 data pass unchanged. */
void recur_k_copy(size_t rows, size_t cols, const float *x, size_t ldx, float *y, size_t ldy, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(rows, ith, nth, &lo, &hi);
    if (x == y) return;
    for (size_t r = lo; r < hi; r++) memmove(y + r * ldy, x + r * ldx, cols * sizeof(float));
}

/* y = alpha y */
void recur_k_scale(size_t n, float alpha, float *y, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) y[i] *= alpha;
}

/* y += alpha x */
void recur_k_axpy(size_t n, float alpha, const float *x, float *y, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) y[i] += alpha * x[i];
}

/* y = alpha a b + beta y  (beta == 0: y is not read) */
void recur_k_mul(size_t n, float alpha, const float *a, const float *b, float beta, float *y, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        float v = alpha * a[i] * b[i];
        y[i] = beta == 0.0f ? v : v + beta * y[i];
    }
}
