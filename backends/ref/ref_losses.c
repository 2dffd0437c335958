/* Losses with their gradients, as torch.nn.functional's; one fixed-order sum (ith == 0 only). */
#include <math.h>
#include <string.h>

#include "recur/backend.h"
#include "ref_kernels.h"

/* Cross-entropy with ignore_index, label smoothing eps and class weights w:
 *   loss = [(1 - eps) sum_i w[y_i] (-logp[i, y_i]) + (eps / C) sum_i sum_c w[c] (-logp[i, c])] / W  (mean)
 *   W = sum_i w[y_i] over kept rows.   d/dx[i, c] = ((1-eps) w[y_i] (p_c - [c = y_i]) + (eps/C)(p_c S - w[c])) / W,
 *   S = sum_c w[c]. */
void recur_k_xent(size_t N, size_t C, const float *logits, const int32_t *targets, const float *weights,
                  int32_t ignore_index, float smoothing, int reduction, float grad_scale, float *loss, float *dlogits,
                  int ith, int nth) {
    if (ith != 0) return;
    double nll = 0.0, smooth = 0.0, W = 0.0, S = 0.0;
    for (size_t c = 0; c < C; c++) S += weights ? weights[c] : 1.0;
    for (size_t i = 0; i < N; i++) {
        int32_t y = targets[i];
        if (y == ignore_index) continue;
        const float *x = logits + i * C;
        double mx = -INFINITY, sum = 0.0;
        for (size_t c = 0; c < C; c++) mx = x[c] > mx ? x[c] : mx;
        for (size_t c = 0; c < C; c++) sum += exp((double)x[c] - mx);
        double lse = mx + log(sum);
        double wy = weights ? weights[y] : 1.0;
        W += wy;
        nll -= wy * ((double)x[y] - lse);
        for (size_t c = 0; c < C; c++) smooth -= (weights ? weights[c] : 1.0) * ((double)x[c] - lse);
    }
    double norm = reduction == RECUR_REDUCE_MEAN ? W : 1.0;
    *loss = (float)(((1.0 - smoothing) * nll + (smoothing / (double)C) * smooth) / norm);
    if (!dlogits) return;
    for (size_t i = 0; i < N; i++) {
        float *d = dlogits + i * C;
        int32_t y = targets[i];
        if (y == ignore_index || norm == 0.0) {
            memset(d, 0, C * sizeof(float));
            continue;
        }
        const float *x = logits + i * C;
        double mx = -INFINITY, sum = 0.0;
        for (size_t c = 0; c < C; c++) mx = x[c] > mx ? x[c] : mx;
        for (size_t c = 0; c < C; c++) sum += exp((double)x[c] - mx);
        double wy = weights ? weights[y] : 1.0;
        for (size_t c = 0; c < C; c++) {
            double p = exp((double)x[c] - mx) / sum;
            double wc = weights ? weights[c] : 1.0;
            double g = (1.0 - smoothing) * wy * (p - (c == (size_t)y)) + (smoothing / (double)C) * (p * S - wc);
            d[c] = (float)(grad_scale * g / norm);
        }
    }
}

/* BCE with logits: l = (1 - y) x + (1 + (p - 1) y)(log(1 + exp(-|x|)) + max(-x, 0));
 * dl/dx = s(x)(1 + (p - 1) y) - p y. */
void recur_k_bce(size_t n, size_t C, const float *logits, const float *targets, const float *pos_weight, int reduction,
                 float grad_scale, float *loss, float *dlogits, int ith, int nth) {
    if (ith != 0) return;
    double acc = 0.0, norm = reduction == RECUR_REDUCE_MEAN ? (double)n : 1.0;
    for (size_t i = 0; i < n; i++) {
        double x = logits[i], y = targets[i], p = pos_weight ? pos_weight[i % C] : 1.0;
        double lw = 1.0 + (p - 1.0) * y;
        acc += (1.0 - y) * x + lw * (log1p(exp(-fabs(x))) + (x < 0 ? -x : 0.0));
        if (dlogits) {
            double s = 1.0 / (1.0 + exp(-x));
            dlogits[i] = (float)(grad_scale * (s * lw - p * y) / norm);
        }
    }
    *loss = (float)(n ? acc / norm : (reduction == RECUR_REDUCE_MEAN ? NAN : 0.0));
}

/* MSE: l = sum (x - y)^2 (/ n);  dl/dx = 2 (x - y) (/ n). */
void recur_k_mse(size_t n, const float *pred, const float *target, int reduction, float grad_scale, float *loss,
                 float *dpred, int ith, int nth) {
    if (ith != 0) return;
    double acc = 0.0, norm = reduction == RECUR_REDUCE_MEAN ? (double)n : 1.0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)pred[i] - target[i];
        acc += e * e;
        if (dpred) dpred[i] = (float)(grad_scale * 2.0 * e / norm);
    }
    *loss = (float)(n ? acc / norm : (reduction == RECUR_REDUCE_MEAN ? NAN : 0.0));
}
