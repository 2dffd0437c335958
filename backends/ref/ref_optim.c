/* Optimizer updates, clipping and dropout over flat buffers (torch.optim's single-tensor rules). */
#include <math.h>

#include "recur/backend.h"
#include "ref_kernels.h"

/* g = grad + wd p;  buf = step == 1 ? g : m buf + (1 - d) g;  g = nesterov ? g + m buf : buf;  p -= lr g */
void recur_k_sgd(size_t n, float *p, const float *g, float *buf, float lr, float momentum, float dampening, int nesterov,
                 float wd, int64_t step, int ith, int nth) {
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

/* Adam(W): see recur/backend.h. Bias corrections in double, as PyTorch computes them in Python floats. */
void recur_k_adam(size_t n, float *p, const float *g, float *m, float *v, float lr, float b1, float b2, float eps,
                  float wd, int decoupled, int64_t step, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    double bc1 = 1.0 - pow((double)b1, (double)step), bc2 = 1.0 - pow((double)b2, (double)step);
    float step_size = (float)((double)lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    for (size_t i = lo; i < hi; i++) {
        float d = g[i];
        if (wd != 0.0f) {
            if (decoupled) p[i] *= 1.0f - lr * wd;
            else d += wd * p[i];
        }
        m[i] = b1 * m[i] + (1.0f - b1) * d;
        v[i] = b2 * v[i] + (1.0f - b2) * d * d;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] -= step_size * (m[i] / denom);
    }
}

/* g *= min(1, max_norm / (sqrt(sumsq) + 1e-6)) */
void recur_k_clip_norm(size_t n, float *g, const float *sumsq, float max_norm, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    float coef = max_norm / (sqrtf(*sumsq) + 1e-6f);
    if (coef > 1.0f) coef = 1.0f;
    for (size_t i = lo; i < hi; i++) g[i] *= coef;
}

void recur_k_clip_value(size_t n, float *g, float limit, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) g[i] = g[i] < -limit ? -limit : g[i] > limit ? limit : g[i];
}

/* keep_i = philox_uniform(seed, counter + i) >= p;  y = keep ? x * (1 / (1 - p)) : 0 */
void recur_k_dropout(size_t n, float p, uint64_t seed, uint64_t counter, const float *x, float *y, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    float scale = 1.0f / (1.0f - p);
    for (size_t i = lo; i < hi; i++) {
        if (p == 0.0f) {
            y[i] = x[i];
            continue;
        }
        y[i] = recur_philox_uniform(seed, counter + i) >= p ? x[i] * scale : 0.0f;
    }
}
