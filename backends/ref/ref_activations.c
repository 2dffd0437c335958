/* Activations and the row softmax, forward and backward. */
#include <math.h>

#include "recur/backend.h"
#include "ref_kernels.h"

static float act(int kind, float x) {
    switch (kind) {
    case RECUR_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case RECUR_ACT_TANH: return tanhf(x);
    case RECUR_ACT_RELU: return x > 0.0f ? x : 0.0f;
    default: return x;
    }
}

/* f'(x) written from y = f(x) */
static float act_grad(int kind, float y) {
    switch (kind) {
    case RECUR_ACT_SIGMOID: return y * (1.0f - y);
    case RECUR_ACT_TANH: return 1.0f - y * y;
    case RECUR_ACT_RELU: return y > 0.0f ? 1.0f : 0.0f;
    default: return 1.0f;
    }
}

void recur_k_act_fwd(int kind, size_t n, const float *x, float *y, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) y[i] = act(kind, x[i]);
}

/* dx = dy f'(y) (+ dx when beta == 1) */
void recur_k_act_bwd(int kind, size_t n, const float *y, const float *dy, float beta, float *dx, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        float v = dy[i] * act_grad(kind, y[i]);
        dx[i] = beta == 0.0f ? v : v + beta * dx[i];
    }
}

/* y[r, c] = exp(x[r, c] - max) / sum over c < L,  L = min(lengths[r], cols); 0 for c >= L. */
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

/* dx = y (dy - sum_k y_k dy_k) */
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
