/* Elementwise memory ops: fill, copy, scale, axpy, mul (split over n; copy over rows), transpose. */
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

/* y[c*ldy + r] = x[r*ldx + c]: y (cols x rows) = x^T. Split over the rows of y (the columns of x), walked in
 * 32 x 32 tiles so that both the strided reads and the writes stay within a few cache lines per tile. */
void recur_k_transpose(size_t rows, size_t cols, const float *x, size_t ldx, float *y, size_t ldy, int ith,
                       int nth) {
    enum { TILE = 32 };
    size_t lo, hi;
    recur_k_slice(cols, ith, nth, &lo, &hi);
    for (size_t c0 = lo; c0 < hi; c0 += TILE) {
        const size_t c1 = c0 + TILE < hi ? c0 + TILE : hi;
        for (size_t r0 = 0; r0 < rows; r0 += TILE) {
            const size_t r1 = r0 + TILE < rows ? r0 + TILE : rows;
            for (size_t c = c0; c < c1; c++)
                for (size_t r = r0; r < r1; r++) y[c * ldy + r] = x[r * ldx + c];
        }
    }
}
