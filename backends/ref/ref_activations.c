/* Activations and the row softmax, forward and backward. */
#include <math.h>

#include "recur/backend.h"
#include "ref_kernels.h"

/* y[i] = f(x[i]);  x == y allowed. */
void recur_k_act_fwd(int act, size_t n, const float *x, float *y, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) y[i] = recur_k_act(act, x[i]);
}

/* dx[i] = dy[i] f'(y[i]) + beta dx[i];  beta == 0 overwrites dx without reading it (dx may alias dy). */
void recur_k_act_bwd(int act, size_t n, const float *y, const float *dy, float beta, float *dx, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        float v = dy[i] * recur_k_act_grad(act, y[i]);
        dx[i] = beta == 0.0f ? v : v + beta * dx[i];
    }
}

/* Row softmax over the first L = min(lengths[r], cols) columns (L = cols without lengths):
 *   m = max_{c < L} x[r, c],   y[r, c] = e^{x[r, c] - m} / sum_{k < L} e^{x[r, k] - m}   (c < L),   0 (c >= L).
 * The sum runs in increasing c in double. x == y allowed (each element is read before it is written). */
void recur_k_softmax_fwd(size_t rows, size_t cols, const float *x, const int32_t *lengths, float *y, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(rows, ith, nth, &lo, &hi);
    for (size_t r = lo; r < hi; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        size_t L = cols;
        if (lengths) L = lengths[r] <= 0 ? 0 : (size_t)lengths[r] < cols ? (size_t)lengths[r] : cols;
        float mx = -INFINITY;
        for (size_t c = 0; c < L; c++) mx = xr[c] > mx ? xr[c] : mx;
        double sum = 0.0;
        for (size_t c = 0; c < L; c++) {
            float e = expf(xr[c] - mx);
            yr[c] = e;
            sum += e;
        }
        for (size_t c = 0; c < L; c++) yr[c] = (float)(yr[c] / sum);
        for (size_t c = L; c < cols; c++) yr[c] = 0.0f;
    }
}

/* Softmax Jacobian-vector product: dx[r, c] = y[r, c] (dy[r, c] - sum_k y[r, k] dy[r, k]).
 * (From dy_c/dx_j = y_c ([c = j] - y_j).) The dot product is summed in increasing k in double; masked
 * entries have y = 0 and get dx = 0. dx may alias dy (the dot is complete before any write). */
void recur_k_softmax_bwd(size_t rows, size_t cols, const float *y, const float *dy, float *dx, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(rows, ith, nth, &lo, &hi);
    for (size_t r = lo; r < hi; r++) {
        const float *yr = y + r * cols, *dyr = dy + r * cols;
        double dot = 0.0;
        for (size_t c = 0; c < cols; c++) dot += (double)yr[c] * dyr[c];
        for (size_t c = 0; c < cols; c++) dx[r * cols + c] = (float)(yr[c] * (dyr[c] - dot));
    }
}
