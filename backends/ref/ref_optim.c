/* Optimizer updates, clipping and dropout over flat buffers (torch.optim's single-tensor rules). */
#include <math.h>
#include <string.h>

#include "recur/backend.h"
#include "ref_kernels.h"

/* SGD (torch.optim.SGD, one tensor):
 *   g = grad + wd * p
 *   momentum != 0:  buf = (step == 1) ? g : momentum * buf + (1 - dampening) * g
 *                   g = nesterov ? g + momentum * buf : buf
 *   p -= lr * g
 * grad is not modified; buf may be NULL when momentum == 0. */
void recur_k_sgd(size_t n, float *p, const float *g, float *buf, float lr, float momentum, float dampening,
                 int nesterov, float wd, int64_t step, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        float d = g[i];
        if (wd != 0.0f) d += wd * p[i];
        if (momentum != 0.0f) {
            float b = step <= 1 ? d : momentum * buf[i] + (1.0f - dampening) * d;
            buf[i] = b;
            d = nesterov ? d + momentum * b : b;
        }
        p[i] -= lr * d;
    }
}

/* Adam / AdamW (torch.optim.Adam(W), one tensor, step is 1-based):
 *   decoupled (AdamW):  p *= 1 - lr * wd          else:  g = grad + wd * p
 *   m = b1 m + (1 - b1) g,   v = b2 v + (1 - b2) g^2
 *   denom = sqrt(v) / sqrt(1 - b2^step) + eps
 *   p -= (lr / (1 - b1^step)) * m / denom
 * The bias corrections lr / (1 - b1^step) and sqrt(1 - b2^step) are computed in double and rounded to float
 * once, as PyTorch computes them in Python floats; the per-element arithmetic is float, as torch's. */
void recur_k_adam(size_t n, float *p, const float *g, float *m, float *v, float lr, float b1, float b2, float eps,
                  float wd, int decoupled, int64_t step, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    double bc1 = 1.0 - pow((double)b1, (double)step), bc2 = 1.0 - pow((double)b2, (double)step);
    const float step_size = (float)((double)lr / bc1), bc2_sqrt = (float)sqrt(bc2), decay = 1.0f - lr * wd;
    for (size_t i = lo; i < hi; i++) {
        float d = g[i];
        if (wd != 0.0f) {
            if (decoupled) p[i] *= decay;
            else d += wd * p[i];
        }
        m[i] = b1 * m[i] + (1.0f - b1) * d;
        v[i] = b2 * v[i] + (1.0f - b2) * d * d;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] -= step_size * (m[i] / denom);
    }
}

/* Clip by total norm (torch.nn.utils.clip_grad_norm_), sumsq = sum of squares from sum_sq:
 *   coef = min(1, max_norm / (sqrt(sumsq) + 1e-6)),   g *= coef    (a NaN norm gives NaN gradients, as torch) */
void recur_k_clip_norm(size_t n, float *g, const float *sumsq, float max_norm, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    float coef = max_norm / (sqrtf(*sumsq) + 1e-6f);
    if (coef > 1.0f) coef = 1.0f;
    for (size_t i = lo; i < hi; i++) g[i] *= coef;
}

/* g = min(max(g, -limit), limit)  (NaN stays NaN) */
void recur_k_clip_value(size_t n, float *g, float limit, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) g[i] = g[i] < -limit ? -limit : g[i] > limit ? limit : g[i];
}

/* Inverted dropout, counter-based mask (recur_philox_uniform in recur/backend.h):
 *   keep_i = uniform(seed, counter + i) >= p,   y[i] = keep_i ? x[i] * scale : 0,   scale = 1 / (1 - p)
 * scale is rounded to float once, as torch's mask.div_(1 - p); p == 0 copies. x == y allowed. The same call
 * on the output gradient is the backward. */
void recur_k_dropout(size_t n, float p, uint64_t seed, uint64_t counter, const float *x, float *y, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    if (p == 0.0f) {
        if (x != y) memmove(y + lo, x + lo, (hi - lo) * sizeof(float));
        return;
    }
    const float scale = 1.0f / (1.0f - p);
    for (size_t i = lo; i < hi; i++) y[i] = recur_philox_uniform(seed, counter + i) >= p ? x[i] * scale : 0.0f;
}
