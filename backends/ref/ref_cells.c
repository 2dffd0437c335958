/*
 * Fused recurrent cells, one time step, split over samples b. s() is the logistic sigmoid, s' = s (1 - s),
 * tanh' = 1 - tanh^2. valid(b) = !lengths || t < lengths[b]. An invalid sample holds its state (h = h_prev,
 * c = c_prev) and outputs y = 0, which gives PyTorch's packed-sequence results in either direction; in
 * backward an invalid sample passes dh (and dc) through unchanged and gets zero pre-activation gradients.
 *
 * Backward contract shared by all cells ("dh carry"): on entry dh = dL/dh_t arriving from step t+1 (not
 * counting this step's output gradient dy); on return dh = the part of dL/dh_{t-1} that does NOT go through
 * W_hh (the caller adds dgates W_hh with a GEMM, beta = 1). Full derivations: docs/ops.md.
 */
#include <math.h>
#include <string.h>

#include "recur/backend.h"
#include "ref_kernels.h"

static float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

/* Held state of an invalid sample: h = h_prev (0 when h_prev is NULL), y = 0. */
static void hold(size_t H, const float *h_prev, float *h, float *y) {
    if (h_prev) memmove(h, h_prev, H * sizeof(float));
    else memset(h, 0, H * sizeof(float));
    if (y) memset(y, 0, H * sizeof(float));
}

/* LSTM forward. gates (B, 4H) in: pre-activations [i f g o]; out (valid rows): their activations.
 *   i = s(a_i),  f = s(a_f),  g = tanh(a_g),  o = s(a_o)
 *   c_t = f * c_{t-1} + i * g
 *   h_t = o * tanh(c_t),   y = h_t
 * Invalid rows: c_t = c_{t-1}, h_t = h_{t-1} (0 without h_prev), y = 0, gates untouched. */
void recur_k_lstm_fwd(size_t B, size_t H, float *gates, const float *c_prev, float *c, const float *h_prev, float *h,
                      float *y, size_t ldy, const int32_t *lengths, size_t t, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        float *g4 = gates + b * 4 * H, *cb = c + b * H, *hb = h + b * H, *yb = y ? y + b * ldy : NULL;
        const float *cp = c_prev + b * H;
        if (!recur_k_valid(lengths, b, t)) {
            memmove(cb, cp, H * sizeof(float));
            hold(H, h_prev ? h_prev + b * H : NULL, hb, yb);
            continue;
        }
        for (size_t j = 0; j < H; j++) {
            float ig = sigm(g4[j]), fg = sigm(g4[H + j]), gg = tanhf(g4[2 * H + j]), og = sigm(g4[3 * H + j]);
            g4[j] = ig, g4[H + j] = fg, g4[2 * H + j] = gg, g4[3 * H + j] = og;
            float cv = fg * cp[j] + ig * gg;
            float hv = og * tanhf(cv);
            cb[j] = cv;
            hb[j] = hv;
            if (yb) yb[j] = hv;
        }
    }
}

/* LSTM backward, valid rows (gates hold the activations i, f, g, o):
 *   dh_t   = dh + dy                                   (total gradient on h_t)
 *   dc_t   = dc + dh_t * o * (1 - tanh(c_t)^2)         (through h_t = o tanh(c_t), plus the carry from t+1)
 *   da_i   = dc_t * g * i (1 - i)
 *   da_f   = dc_t * c_{t-1} * f (1 - f)
 *   da_g   = dc_t * i * (1 - g^2)
 *   da_o   = dh_t * tanh(c_t) * o (1 - o)
 *   dc    := dc_t * f       (= dL/dc_{t-1})
 *   dh    := 0              (h_{t-1} reaches the loss only through W_hh: caller adds dgates W_hh)
 * Invalid rows (c_t = c_{t-1}, h_t = h_{t-1}, y = 0): dgates = 0, dh and dc unchanged. */
void recur_k_lstm_bwd(size_t B, size_t H, const float *gates, const float *c_prev, const float *c, const float *dy,
                      size_t ldy, float *dh, float *dc, float *dgates, const int32_t *lengths, size_t t, int ith,
                      int nth) {
    size_t lo, hi;
    recur_k_slice(B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        float *dg4 = dgates + b * 4 * H, *dhb = dh + b * H, *dcb = dc + b * H;
        if (!recur_k_valid(lengths, b, t)) {
            memset(dg4, 0, 4 * H * sizeof(float));
            continue;
        }
        const float *g4 = gates + b * 4 * H, *cp = c_prev + b * H, *cb = c + b * H, *dyb = dy ? dy + b * ldy : NULL;
        for (size_t j = 0; j < H; j++) {
            float ig = g4[j], fg = g4[H + j], gg = g4[2 * H + j], og = g4[3 * H + j];
            float dht = dhb[j] + (dyb ? dyb[j] : 0.0f);
            float tc = tanhf(cb[j]);
            float dct = dcb[j] + dht * og * (1.0f - tc * tc);
            dg4[j] = dct * gg * ig * (1.0f - ig);
            dg4[H + j] = dct * cp[j] * fg * (1.0f - fg);
            dg4[2 * H + j] = dct * ig * (1.0f - gg * gg);
            dg4[3 * H + j] = dht * tc * og * (1.0f - og);
            dcb[j] = dct * fg;
            dhb[j] = 0.0f;
        }
    }
}

/* GRU forward. xg (B, 3H) in: x-side pre-activations [r z n]; out (valid rows): activations r, z, n.
 * hg (B, 3H): h-side pre-activations, read only.
 *   reset_after = 1 (PyTorch):   r = s(x_r + h_r),  z = s(x_z + h_z),  n = tanh(x_n + r * h_n)
 *   reset_after = 0 (original):  r, z already in xg (gru_reset),       n = tanh(x_n + h_n),
 *                                with h_n = (r * h_{t-1}) W_hn^T + b_hn
 *   h_t = (1 - z) * n + z * h_{t-1},   y = h_t
 * Invalid rows: h_t = h_{t-1}, y = 0, xg untouched. */
void recur_k_gru_fwd(size_t B, size_t H, int reset_after, float *xg, const float *hg, const float *h_prev, float *h,
                     float *y, size_t ldy, const int32_t *lengths, size_t t, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        float *x3 = xg + b * 3 * H, *hb = h + b * H, *yb = y ? y + b * ldy : NULL;
        const float *h3 = hg + b * 3 * H, *hp = h_prev ? h_prev + b * H : NULL;
        if (!recur_k_valid(lengths, b, t)) {
            hold(H, hp, hb, yb);
            continue;
        }
        for (size_t j = 0; j < H; j++) {
            float r, z, n;
            if (reset_after) {
                r = sigm(x3[j] + h3[j]);
                z = sigm(x3[H + j] + h3[H + j]);
                n = tanhf(x3[2 * H + j] + r * h3[2 * H + j]);
            } else {
                r = x3[j];
                z = x3[H + j];
                n = tanhf(x3[2 * H + j] + h3[2 * H + j]);
            }
            x3[j] = r, x3[H + j] = z, x3[2 * H + j] = n;
            float hv = (1.0f - z) * n + z * (hp ? hp[j] : 0.0f);
            hb[j] = hv;
            if (yb) yb[j] = hv;
        }
    }
}

/* GRU backward, valid rows (xg holds r, z, n):
 *   dh_t  = dh + dy
 *   dn_pre = dh_t * (1 - z) * (1 - n^2)                 (n's pre-activation)
 *   dz_pre = dh_t * (h_{t-1} - n) * z (1 - z)
 *   dh    := dh_t * z                                    (direct path h_t <- z h_{t-1}; W_hh part by caller)
 *   reset_after = 1:  dr_pre = dn_pre * h_n * r (1 - r)
 *       dxg = [dr_pre, dz_pre, dn_pre],   dhg = [dr_pre, dz_pre, dn_pre * r]
 *   reset_after = 0:  dxg = [0, dz_pre, dn_pre],   dhg = [0, dz_pre, dn_pre]
 *       (r acts only through rh = r h_{t-1}: gru_reset_bwd fills the r parts and adds its dh term)
 * Invalid rows: dxg = dhg = 0, dh unchanged. */
void recur_k_gru_bwd(size_t B, size_t H, int reset_after, const float *xg, const float *hg, const float *h_prev,
                     const float *dy, size_t ldy, float *dh, float *dxg, float *dhg, const int32_t *lengths, size_t t,
                     int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        float *dx3 = dxg + b * 3 * H, *dh3 = dhg + b * 3 * H, *dhb = dh + b * H;
        if (!recur_k_valid(lengths, b, t)) {
            memset(dx3, 0, 3 * H * sizeof(float));
            memset(dh3, 0, 3 * H * sizeof(float));
            continue;
        }
        const float *x3 = xg + b * 3 * H, *h3 = hg + b * 3 * H, *hp = h_prev ? h_prev + b * H : NULL;
        const float *dyb = dy ? dy + b * ldy : NULL;
        for (size_t j = 0; j < H; j++) {
            float r = x3[j], z = x3[H + j], n = x3[2 * H + j];
            float dht = dhb[j] + (dyb ? dyb[j] : 0.0f);
            float dn_pre = dht * (1.0f - z) * (1.0f - n * n);
            float dz_pre = dht * ((hp ? hp[j] : 0.0f) - n) * z * (1.0f - z);
            if (reset_after) {
                float dr_pre = dn_pre * h3[2 * H + j] * r * (1.0f - r);
                dx3[j] = dr_pre, dh3[j] = dr_pre;
                dx3[2 * H + j] = dn_pre, dh3[2 * H + j] = dn_pre * r;
            } else {
                dx3[j] = 0.0f, dh3[j] = 0.0f;
                dx3[2 * H + j] = dn_pre, dh3[2 * H + j] = dn_pre;
            }
            dx3[H + j] = dz_pre, dh3[H + j] = dz_pre;
            dhb[j] = dht * z;
        }
    }
}

/* Original GRU (reset_after = 0), first half of a step. hg's r, z parts = h_{t-1} W_h{r,z}^T + b_h{r,z}.
 *   valid rows:   r = s(x_r + h_r), z = s(x_z + h_z) stored into xg's r, z parts;  rh = r * h_{t-1}
 *   invalid rows: rh = 0, xg untouched. */
void recur_k_gru_reset(size_t B, size_t H, float *xg, const float *hg, const float *h_prev, float *rh,
                       const int32_t *lengths, size_t t, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        float *x3 = xg + b * 3 * H, *rhb = rh + b * H;
        if (!recur_k_valid(lengths, b, t)) {
            memset(rhb, 0, H * sizeof(float));
            continue;
        }
        const float *h3 = hg + b * 3 * H, *hp = h_prev ? h_prev + b * H : NULL;
        for (size_t j = 0; j < H; j++) {
            float r = sigm(x3[j] + h3[j]), z = sigm(x3[H + j] + h3[H + j]);
            x3[j] = r, x3[H + j] = z;
            rhb[j] = hp ? r * hp[j] : 0.0f;
        }
    }
}

/* Backward through rh = r * h_{t-1} (drh = dL/d(rh), from dhg_n W_hn):
 *   dr_pre = drh * h_{t-1} * r (1 - r)  into the r parts of both dxg and dhg;   dh += drh * r
 * Invalid rows: untouched. */
void recur_k_gru_reset_bwd(size_t B, size_t H, const float *xg, const float *h_prev, const float *drh, float *dxg,
                           float *dhg, float *dh, const int32_t *lengths, size_t t, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        if (!recur_k_valid(lengths, b, t)) continue;
        const float *x3 = xg + b * 3 * H, *hp = h_prev ? h_prev + b * H : NULL, *d = drh + b * H;
        float *dx3 = dxg + b * 3 * H, *dh3 = dhg + b * 3 * H, *dhb = dh + b * H;
        for (size_t j = 0; j < H; j++) {
            float r = x3[j];
            float dr_pre = d[j] * (hp ? hp[j] : 0.0f) * r * (1.0f - r);
            dx3[j] = dr_pre, dh3[j] = dr_pre;
            dhb[j] += d[j] * r;
        }
    }
}

/* Elman RNN forward:  h_t = act(pre) (tanh or relu),  y = h_t;  invalid rows h_t = h_{t-1} (0 without h_prev),
 * y = 0. pre may alias h. */
void recur_k_rnn_fwd(size_t B, size_t H, int act, const float *pre, const float *h_prev, float *h, float *y, size_t ldy,
                     const int32_t *lengths, size_t t, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        float *hb = h + b * H, *yb = y ? y + b * ldy : NULL;
        if (!recur_k_valid(lengths, b, t)) {
            hold(H, h_prev ? h_prev + b * H : NULL, hb, yb);
            continue;
        }
        const float *pb = pre + b * H;
        for (size_t j = 0; j < H; j++) {
            float v = recur_k_act(act, pb[j]);
            hb[j] = v;
            if (yb) yb[j] = v;
        }
    }
}

/* Elman RNN backward:  dpre = (dh + dy) * act'(h_t)  (tanh: 1 - h^2, relu: [h > 0]);  dh := 0.
 * Invalid rows: dpre = 0, dh unchanged. */
void recur_k_rnn_bwd(size_t B, size_t H, int act, const float *h, const float *dy, size_t ldy, float *dh, float *dpre,
                     const int32_t *lengths, size_t t, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        float *dp = dpre + b * H, *dhb = dh + b * H;
        if (!recur_k_valid(lengths, b, t)) {
            memset(dp, 0, H * sizeof(float));
            continue;
        }
        const float *hb = h + b * H, *dyb = dy ? dy + b * ldy : NULL;
        for (size_t j = 0; j < H; j++) {
            float g = dhb[j] + (dyb ? dyb[j] : 0.0f);
            dp[j] = g * recur_k_act_grad(act, hb[j]);
            dhb[j] = 0.0f;
        }
    }
}

/* Masked select:  y[b, :N] = valid(b) ? a[b, :N] : (other ? other[b, :N] : 0).  y may alias other (ldy == ldo). */
void recur_k_select_step(size_t B, size_t N, const float *a, size_t lda, const float *other, size_t ldo, float *y,
                         size_t ldy, const int32_t *lengths, size_t t, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        float *yb = y + b * ldy;
        if (recur_k_valid(lengths, b, t)) memmove(yb, a + b * lda, N * sizeof(float));
        else if (other) memmove(yb, other + b * ldo, N * sizeof(float));
        else memset(yb, 0, N * sizeof(float));
    }
}
