/*
 * Losses with their gradients, as torch.nn.functional's, in double. The gradient is split over rows
 * (xent) or elements (bce, mse); the loss scalar is one fixed-order sum written by slice ith == 0 alone.
 * dlogits / dpred hold grad_scale * dloss/dinput.
 */
#include <math.h>
#include <string.h>

#include "recur/backend.h"
#include "ref_kernels.h"

/* log sum_c exp(x[c]), stabilised by the row max. */
static double logsumexp(size_t C, const float *x) {
    double mx = -INFINITY, sum = 0.0;
    for (size_t c = 0; c < C; c++) mx = x[c] > mx ? x[c] : mx;
    for (size_t c = 0; c < C; c++) sum += exp((double)x[c] - mx);
    return mx + log(sum);
}

/* Cross-entropy (torch 1.13 F.cross_entropy) with ignore_index, label smoothing eps and class weights w
 * (w = 1 when absent), over kept rows i (targets[i] != ignore_index), logp = log_softmax(x):
 *   nll_i    = -w[y_i] logp[i, y_i]
 *   smooth_i = -sum_c w[c] logp[i, c]
 *   loss     = ((1 - eps) sum_i nll_i + (eps / C) sum_i smooth_i) / W,   W = sum_i w[y_i]   (mean)
 *              the same without / W                                                       (sum)
 * With p = softmax(x[i]) and S = sum_c w[c], dlogp_c/dx_k = [c = k] - p_k gives
 *   dloss/dx[i, k] = ((1 - eps) w[y_i] (p_k - [k = y_i]) + (eps / C) (S p_k - w[k])) / W
 * Ignored rows get 0. W == 0 (mean): the loss is NaN (0/0, as PyTorch) and dlogits is 0. */
void recur_k_xent(size_t N, size_t C, const float *logits, const int32_t *targets, const float *weights,
                  int32_t ignore_index, float smoothing, int reduction, float grad_scale, float *loss, float *dlogits,
                  int ith, int nth) {
    const double eps = smoothing, eps_c = C ? (double)smoothing / (double)C : 0.0;
    double W = 0.0, S = 0.0;
    for (size_t i = 0; i < N; i++)
        if (targets[i] != ignore_index) W += weights ? weights[targets[i]] : 1.0;
    for (size_t c = 0; c < C; c++) S += weights ? weights[c] : 1.0;
    const double norm = reduction == RECUR_REDUCE_MEAN ? W : 1.0;

    if (ith == 0 && loss) {
        double nll = 0.0, smooth = 0.0;
        for (size_t i = 0; i < N; i++) {
            int32_t y = targets[i];
            if (y == ignore_index) continue;
            const float *x = logits + i * C;
            double lse = logsumexp(C, x);
            nll -= (weights ? weights[y] : 1.0) * ((double)x[y] - lse);
            for (size_t c = 0; c < C; c++) smooth -= (weights ? weights[c] : 1.0) * ((double)x[c] - lse);
        }
        *loss = (float)(((1.0 - eps) * nll + eps_c * smooth) / norm);
    }
    if (!dlogits) return;

    size_t lo, hi;
    recur_k_slice(N, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        float *d = dlogits + i * C;
        int32_t y = targets[i];
        if (y == ignore_index || norm == 0.0) {
            memset(d, 0, C * sizeof(float));
            continue;
        }
        const float *x = logits + i * C;
        double lse = logsumexp(C, x), wy = weights ? weights[y] : 1.0;
        for (size_t k = 0; k < C; k++) {
            double p = exp((double)x[k] - lse), wk = weights ? weights[k] : 1.0;
            double g = (1.0 - eps) * wy * (p - (k == (size_t)y ? 1.0 : 0.0)) + eps_c * (S * p - wk);
            d[k] = (float)((double)grad_scale * g / norm);
        }
    }
}

/* Binary cross-entropy with logits (torch BCEWithLogitsLoss), x = logit, y = target, p = pos_weight[i mod C]
 * (1 when absent), lw = 1 + (p - 1) y:
 *   l_i = (1 - y) x + lw (log(1 + e^{-|x|}) + max(-x, 0))        (= -p y log s(x) - (1 - y) log(1 - s(x)))
 *   dl_i/dx = (1 - y) - lw (1 - s(x)) = lw s(x) - p y
 * mean divides by n (n == 0: NaN, as torch's mean of nothing). */
void recur_k_bce(size_t n, size_t C, const float *logits, const float *targets, const float *pos_weight, int reduction,
                 float grad_scale, float *loss, float *dlogits, int ith, int nth) {
    const double norm = reduction == RECUR_REDUCE_MEAN ? (double)n : 1.0;
    if (ith == 0 && loss) {
        double acc = 0.0;
        for (size_t i = 0; i < n; i++) {
            double x = logits[i], y = targets[i], p = pos_weight ? pos_weight[i % C] : 1.0;
            double lw = 1.0 + (p - 1.0) * y;
            acc += (1.0 - y) * x + lw * (log1p(exp(-fabs(x))) + (x < 0.0 ? -x : 0.0));
        }
        *loss = (float)(acc / norm);
    }
    if (!dlogits) return;
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        double x = logits[i], y = targets[i], p = pos_weight ? pos_weight[i % C] : 1.0;
        double lw = 1.0 + (p - 1.0) * y, s = 1.0 / (1.0 + exp(-x));
        dlogits[i] = (float)((double)grad_scale * (lw * s - p * y) / norm);
    }
}

/* Mean squared error:  l = sum_i (x_i - y_i)^2 (/ n for mean);  dl/dx_i = 2 (x_i - y_i) (/ n). */
void recur_k_mse(size_t n, const float *pred, const float *target, int reduction, float grad_scale, float *loss,
                 float *dpred, int ith, int nth) {
    const double norm = reduction == RECUR_REDUCE_MEAN ? (double)n : 1.0;
    if (ith == 0 && loss) {
        double acc = 0.0;
        for (size_t i = 0; i < n; i++) {
            double e = (double)pred[i] - target[i];
            acc += e * e;
        }
        *loss = (float)(acc / norm);
    }
    if (!dpred) return;
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++)
        dpred[i] = (float)((double)grad_scale * 2.0 * ((double)pred[i] - target[i]) / norm);
}
