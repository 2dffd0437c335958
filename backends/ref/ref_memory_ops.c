/* Elementwise memory ops: fill, copy, scale, axpy, mul (split over n; copy over rows). */
#include <string.h>

#include "ref_kernels.h"

/* y[i] = value  (0.0f also clears int32 data: same bits) */
void recur_k_fill(size_t n, float value, float *y, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) y[i] = value;
}

/* y[r*ldy + c] = x[r*ldx + c];  bit copies, so int32 data pass unchanged; x == y (with ldx == ldy) is a no-op. */
void recur_k_copy(size_t rows, size_t cols, const float *x, size_t ldx, float *y, size_t ldy, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(rows, ith, nth, &lo, &hi);
    if (x == y) return;
    for (size_t r = lo; r < hi; r++) memmove(y + r * ldy, x + r * ldx, cols * sizeof(float));
}

/* y[i] = alpha y[i] */
void recur_k_scale(size_t n, float alpha, float *y, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) y[i] *= alpha;
}

/* y[i] += alpha x[i]  (x == y allowed) */
void recur_k_axpy(size_t n, float alpha, const float *x, float *y, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) y[i] += alpha * x[i];
}

/* y[i] = alpha a[i] b[i] + beta y[i];  beta == 0 overwrites y without reading it. a, b may alias y. */
void recur_k_mul(size_t n, float alpha, const float *a, const float *b, float beta, float *y, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        float v = alpha * a[i] * b[i];
        y[i] = beta == 0.0f ? v : v + beta * y[i];
    }
}
