/*
 * Fused recurrent cells, one time step; s() is the logistic sigmoid. valid(b) = !lengths || t < lengths[b];
 * an invalid row holds its state and outputs 0 (variable-length batches, packed-sequence semantics).
 */
#include <math.h>
#include <string.h>

#include "recur/backend.h"
#include "ref_kernels.h"

static float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }
static int valid(const int32_t *lengths, size_t b, size_t t) { return !lengths || (int64_t)t < (int64_t)lengths[b]; }

/* Held state: h = h_prev (or 0), y = 0. */
static void hold(size_t H, const float *h_prev, float *h, float *y) {
    if (h) {
        if (h_prev) memmove(h, h_prev, H * sizeof(float));
        else memset(h, 0, H * sizeof(float));
    }
    if (y) memset(y, 0, H * sizeof(float));
}

/* LSTM: i = s(.), f = s(.), g = tanh(.), o = s(.);  c = f c_prev + i g;  h = o tanh(c). */
void recur_k_lstm_fwd(size_t B, size_t H, float *gates, const float *c_prev, float *c, const float *h_prev, float *h,
                      float *y, size_t ldy, const int32_t *lengths, size_t t, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        float *g4 = gates + b * 4 * H, *cb = c + b * H, *hb = h + b * H, *yb = y ? y + b * ldy : NULL;
        const float *cp = c_prev + b * H;
        if (!valid(lengths, b, t)) {
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

/* LSTM backward. dh_tot = dh + dy;  do = dh_tot tanh(c);  dc_tot = dc + dh_tot o (1 - tanh(c)^2);
 * di = dc_tot g, df = dc_tot c_prev, dg = dc_tot i;  dc_prev = dc_tot f;  pre-activations through s', tanh'. */
void recur_k_lstm_bwd(size_t B, size_t H, const float *gates, const float *c_prev, const float *c, const float *dy,
                      size_t ldy, float *dh, float *dc, float *dgates, const int32_t *lengths, size_t t, int ith,
                      int nth) {
    size_t lo, hi;
    recur_k_slice(B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        float *dg4 = dgates + b * 4 * H, *dhb = dh + b * H, *dcb = dc + b * H;
        if (!valid(lengths, b, t)) {
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

/* GRU: r = s(xr + hr), z = s(xz + hz); n = tanh(xn + r hn) (reset_after) or tanh(xn + hn);
 * h = (1 - z) n + z h_prev. With reset_after = 0, xg's r and z already hold the activations. */
void recur_k_gru_fwd(size_t B, size_t H, int reset_after, float *xg, const float *hg, const float *h_prev, float *h,
                     float *y, size_t ldy, const int32_t *lengths, size_t t, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        float *x3 = xg + b * 3 * H, *hb = h + b * H, *yb = y ? y + b * ldy : NULL;
        const float *h3 = hg + b * 3 * H, *hp = h_prev + b * H;
        if (!valid(lengths, b, t)) {
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
            float hv = (1.0f - z) * n + z * hp[j];
            hb[j] = hv;
            if (yb) yb[j] = hv;
        }
    }
}

/* GRU backward. dh_tot = dh + dy;  dn = dh_tot (1 - z), dz = dh_tot (h_prev - n), dh_prev (direct) = dh_tot z;
 * dn_pre = dn (1 - n^2), dz_pre = dz z (1 - z);  reset_after: dr_pre = dn_pre hn r (1 - r). */
void recur_k_gru_bwd(size_t B, size_t H, int reset_after, const float *xg, const float *hg, const float *h_prev,
                     const float *dy, size_t ldy, float *dh, float *dxg, float *dhg, const int32_t *lengths, size_t t,
                     int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        float *dx3 = dxg + b * 3 * H, *dh3 = dhg + b * 3 * H, *dhb = dh + b * H;
        if (!valid(lengths, b, t)) {
            memset(dx3, 0, 3 * H * sizeof(float));
            memset(dh3, 0, 3 * H * sizeof(float));
            continue;
        }
        const float *x3 = xg + b * 3 * H, *h3 = hg + b * 3 * H, *hp = h_prev + b * H, *dyb = dy ? dy + b * ldy : NULL;
        for (size_t j = 0; j < H; j++) {
            float r = x3[j], z = x3[H + j], n = x3[2 * H + j];
            float dht = dhb[j] + (dyb ? dyb[j] : 0.0f);
            float dn_pre = dht * (1.0f - z) * (1.0f - n * n);
            float dz_pre = dht * (hp[j] - n) * z * (1.0f - z);
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

/* Original GRU, first half: r = s(xr + hr), z = s(xz + hz) into xg; rh = r h_prev. */
void recur_k_gru_reset(size_t B, size_t H, float *xg, const float *hg, const float *h_prev, float *rh,
                       const int32_t *lengths, size_t t, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        float *x3 = xg + b * 3 * H, *rhb = rh + b * H;
        if (!valid(lengths, b, t)) {
            memset(rhb, 0, H * sizeof(float));
            continue;
        }
        const float *h3 = hg + b * 3 * H, *hp = h_prev + b * H;
        for (size_t j = 0; j < H; j++) {
            float r = sigm(x3[j] + h3[j]), z = sigm(x3[H + j] + h3[H + j]);
            x3[j] = r, x3[H + j] = z;
            rhb[j] = r * hp[j];
        }
    }
}

/* Through rh = r h_prev: dr_pre = drh h_prev r (1 - r) into the r parts; dh += drh r. */
void recur_k_gru_reset_bwd(size_t B, size_t H, const float *xg, const float *h_prev, const float *drh, float *dxg,
                           float *dhg, float *dh, const int32_t *lengths, size_t t, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        if (!valid(lengths, b, t)) continue;
        const float *x3 = xg + b * 3 * H, *hp = h_prev + b * H, *d = drh + b * H;
        float *dx3 = dxg + b * 3 * H, *dh3 = dhg + b * 3 * H, *dhb = dh + b * H;
        for (size_t j = 0; j < H; j++) {
            float r = x3[j];
            float dr_pre = d[j] * hp[j] * r * (1.0f - r);
            dx3[j] = dr_pre, dh3[j] = dr_pre;
            dhb[j] += d[j] * r;
        }
    }
}

/* Elman RNN: h = act(pre). */
void recur_k_rnn_fwd(size_t B, size_t H, int act, const float *pre, const float *h_prev, float *h, float *y, size_t ldy,
                     const int32_t *lengths, size_t t, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        float *hb = h + b * H, *yb = y ? y + b * ldy : NULL;
        if (!valid(lengths, b, t)) {
            hold(H, h_prev ? h_prev + b * H : NULL, hb, yb);
            continue;
        }
        const float *pb = pre + b * H;
        for (size_t j = 0; j < H; j++) {
            float v = act == RECUR_ACT_RELU ? (pb[j] > 0.0f ? pb[j] : 0.0f) : tanhf(pb[j]);
            hb[j] = v;
            if (yb) yb[j] = v;
        }
    }
}

/* dpre = (dh + dy) act'(h);  dh = 0 (valid rows). */
void recur_k_rnn_bwd(size_t B, size_t H, int act, const float *h, const float *dy, size_t ldy, float *dh, float *dpre,
                     const int32_t *lengths, size_t t, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        float *dp = dpre + b * H, *dhb = dh + b * H;
        if (!valid(lengths, b, t)) {
            memset(dp, 0, H * sizeof(float));
            continue;
        }
        const float *hb = h + b * H, *dyb = dy ? dy + b * ldy : NULL;
        for (size_t j = 0; j < H; j++) {
            float g = dhb[j] + (dyb ? dyb[j] : 0.0f);
            float d = act == RECUR_ACT_RELU ? (hb[j] > 0.0f ? 1.0f : 0.0f) : 1.0f - hb[j] * hb[j];
            dp[j] = g * d;
            dhb[j] = 0.0f;
        }
    }
}

/* y = valid ? a : (other or 0) */
void recur_k_select_step(size_t B, size_t N, const float *a, size_t lda, const float *other, size_t ldo, float *y,
                         size_t ldy, const int32_t *lengths, size_t t, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        float *yb = y + b * ldy;
        if (valid(lengths, b, t)) memmove(yb, a + b * lda, N * sizeof(float));
        else if (other) memmove(yb, other + b * ldo, N * sizeof(float));
        else memset(yb, 0, N * sizeof(float));
    }
}
