/*
 * cells.cl - fused recurrent cells, one launch per time step, one work-item per (sample b, unit j).
 * Shapes: gates (B, 4H) in order i, f, g, o; xg, hg (B, 3H) in order r, z, n; states (B, H).
 * Invalid samples (t >= lengths[b]) hold their state and emit y = 0. An absent h_prev (offset ABSENT) reads
 * as zeros, as in the reference.
 */

/* LSTM:  i, f, o = s(.), g = tanh(.);  c = f * c_prev + i * g;  h = o * tanh(c);  y = h.
 * h_prev may be absent (0 on invalid rows, used with projections); y may be absent. */
__kernel void k_lstm_fwd(ulong B, ulong H, __global float *gates, ulong go, __global const float *c_prev, ulong cpo,
                         __global float *c, ulong co, __global const float *h_prev, ulong hpo, __global float *h,
                         ulong ho, __global float *y, ulong yo, ulong ldy, __global const int *len, ulong lo,
                         ulong t) {
    ELEMENT2(j, b, H, B);
    const size_t idx = b * H + j;
    const size_t s = idx;                       /* (B, H) element */
    __global float *gr = gates + go + b * 4 * H;
    if (valid_row(len, lo, b, t)) {
        const float i = sigmoidf(gr[j]), f = sigmoidf(gr[H + j]);
        const float g = tanh(gr[2 * H + j]), o = sigmoidf(gr[3 * H + j]);
        gr[j] = i; gr[H + j] = f; gr[2 * H + j] = g; gr[3 * H + j] = o;
        const float cn = f * c_prev[cpo + s] + i * g;
        const float hn = o * tanh(cn);
        c[co + s] = cn;
        h[ho + s] = hn;
        if (PRESENT(yo)) y[yo + b * ldy + j] = hn;
    } else {
        c[co + s] = c_prev[cpo + s];
        h[ho + s] = PRESENT(hpo) ? h_prev[hpo + s] : 0.0f;
        if (PRESENT(yo)) y[yo + b * ldy + j] = 0.0f;
    }
}

/* LSTM backward, step t. dh, dc in: gradients from step t+1; out: dh = 0 (valid) / unchanged (invalid),
 * dc = dL/dc_{t-1} (valid) / unchanged (invalid). dgates = dL/d(pre-activations), 0 on invalid rows. */
__kernel void k_lstm_bwd(ulong B, ulong H, __global const float *gates, ulong go, __global const float *c_prev,
                         ulong cpo, __global const float *c, ulong co, __global const float *dy, ulong dyo, ulong ldy,
                         __global float *dh, ulong dho, __global float *dc, ulong dco, __global float *dgates,
                         ulong dgo, __global const int *len, ulong lo, ulong t) {
    ELEMENT2(j, b, H, B);
    const size_t idx = b * H + j;
    __global const float *gr = gates + go + b * 4 * H;
    __global float *dg = dgates + dgo + b * 4 * H;
    if (valid_row(len, lo, b, t)) {
        const float i = gr[j], f = gr[H + j], g = gr[2 * H + j], o = gr[3 * H + j];
        float dht = dh[dho + idx];
        if (PRESENT(dyo)) dht += dy[dyo + b * ldy + j];
        const float tc = tanh(c[co + idx]);
        const float dct = dc[dco + idx] + dht * o * (1.0f - tc * tc);
        dg[j] = dct * g * i * (1.0f - i);
        dg[H + j] = dct * c_prev[cpo + idx] * f * (1.0f - f);
        dg[2 * H + j] = dct * i * (1.0f - g * g);
        dg[3 * H + j] = dht * tc * o * (1.0f - o);
        dc[dco + idx] = dct * f;
        dh[dho + idx] = 0.0f;
    } else {
        dg[j] = 0.0f; dg[H + j] = 0.0f; dg[2 * H + j] = 0.0f; dg[3 * H + j] = 0.0f;
    }
}

/* GRU forward, step t. reset_after = 1: r = s(xr + hr), z = s(xz + hz), n = tanh(xn + r * hn);
 * reset_after = 0: xg's r, z already hold activations, hg's n part holds hn; n = tanh(xn + hn).
 * h = (1 - z) * n + z * h_prev;  y = h.  xg's r, z, n parts get the activations on valid rows. */
__kernel void k_gru_fwd(ulong B, ulong H, int reset_after, __global float *xg, ulong xo, __global const float *hg,
                        ulong hgo, __global const float *h_prev, ulong hpo, __global float *h, ulong ho,
                        __global float *y, ulong yo, ulong ldy, __global const int *len, ulong lo, ulong t) {
    ELEMENT2(j, b, H, B);
    const size_t idx = b * H + j;
    __global float *xr = xg + xo + b * 3 * H;
    __global const float *hr = hg + hgo + b * 3 * H;
    const float hp = PRESENT(hpo) ? h_prev[hpo + idx] : 0.0f;
    if (valid_row(len, lo, b, t)) {
        float r, z, n;
        if (reset_after) {
            r = sigmoidf(xr[j] + hr[j]);
            z = sigmoidf(xr[H + j] + hr[H + j]);
            n = tanh(xr[2 * H + j] + r * hr[2 * H + j]);
            xr[j] = r;
            xr[H + j] = z;
        } else {
            z = xr[H + j];
            n = tanh(xr[2 * H + j] + hr[2 * H + j]);
        }
        xr[2 * H + j] = n;
        const float hn = (1.0f - z) * n + z * hp;
        h[ho + idx] = hn;
        if (PRESENT(yo)) y[yo + b * ldy + j] = hn;
    } else {
        h[ho + idx] = hp;
        if (PRESENT(yo)) y[yo + b * ldy + j] = 0.0f;
    }
}

/* GRU backward, step t. dh in: dL/dh_t from t+1; out: z * (dh + dy) on valid rows, unchanged otherwise.
 * dxg, dhg (B, 3H): see recur/backend.h; both 0 on invalid rows. */
__kernel void k_gru_bwd(ulong B, ulong H, int reset_after, __global const float *xg, ulong xo,
                        __global const float *hg, ulong hgo, __global const float *h_prev, ulong hpo,
                        __global const float *dy, ulong dyo, ulong ldy, __global float *dh, ulong dho,
                        __global float *dxg, ulong dxo, __global float *dhg, ulong dhgo, __global const int *len,
                        ulong lo, ulong t) {
    ELEMENT2(j, b, H, B);
    const size_t idx = b * H + j;
    __global const float *xr = xg + xo + b * 3 * H;
    __global const float *hr = hg + hgo + b * 3 * H;
    __global float *dx = dxg + dxo + b * 3 * H;
    __global float *dhh = dhg + dhgo + b * 3 * H;
    if (valid_row(len, lo, b, t)) {
        const float r = xr[j], z = xr[H + j], n = xr[2 * H + j];
        const float hp = PRESENT(hpo) ? h_prev[hpo + idx] : 0.0f;
        float dht = dh[dho + idx];
        if (PRESENT(dyo)) dht += dy[dyo + b * ldy + j];
        const float dn = dht * (1.0f - z) * (1.0f - n * n);
        const float dz = dht * (hp - n) * z * (1.0f - z);
        dx[H + j] = dz;
        dhh[H + j] = dz;
        dx[2 * H + j] = dn;
        if (reset_after) {
            const float dr = dn * hr[2 * H + j] * r * (1.0f - r);
            dx[j] = dr;
            dhh[j] = dr;
            dhh[2 * H + j] = dn * r;
        } else {
            dx[j] = 0.0f;
            dhh[j] = 0.0f;
            dhh[2 * H + j] = dn;
        }
        dh[dho + idx] = z * dht;
    } else {
        dx[j] = 0.0f; dx[H + j] = 0.0f; dx[2 * H + j] = 0.0f;
        dhh[j] = 0.0f; dhh[H + j] = 0.0f; dhh[2 * H + j] = 0.0f;
    }
}

/* Original GRU, first half: valid rows xg r, z := s(xr + hr), s(xz + hz); rh = r * h_prev. Invalid: rh = 0. */
__kernel void k_gru_reset(ulong B, ulong H, __global float *xg, ulong xo, __global const float *hg, ulong hgo,
                          __global const float *h_prev, ulong hpo, __global float *rh, ulong rho,
                          __global const int *len, ulong lo, ulong t) {
    ELEMENT2(j, b, H, B);
    const size_t idx = b * H + j;
    __global float *xr = xg + xo + b * 3 * H;
    __global const float *hr = hg + hgo + b * 3 * H;
    if (valid_row(len, lo, b, t)) {
        const float r = sigmoidf(xr[j] + hr[j]);
        const float z = sigmoidf(xr[H + j] + hr[H + j]);
        xr[j] = r;
        xr[H + j] = z;
        rh[rho + idx] = PRESENT(hpo) ? r * h_prev[hpo + idx] : 0.0f;
    } else {
        rh[rho + idx] = 0.0f;
    }
}

/* Backward through rh = r * h_prev: dxg r = dhg r = drh * h_prev * r (1 - r);  dh += drh * r (valid rows). */
__kernel void k_gru_reset_bwd(ulong B, ulong H, __global const float *xg, ulong xo, __global const float *h_prev,
                              ulong hpo, __global const float *drh, ulong drho, __global float *dxg, ulong dxo,
                              __global float *dhg, ulong dhgo, __global float *dh, ulong dho,
                              __global const int *len, ulong lo, ulong t) {
    ELEMENT2(j, b, H, B);
    const size_t idx = b * H + j;
    if (valid_row(len, lo, b, t)) {
        const float r = xg[xo + b * 3 * H + j];
        const float d = drh[drho + idx];
        const float dr = d * (PRESENT(hpo) ? h_prev[hpo + idx] : 0.0f) * r * (1.0f - r);
        dxg[dxo + b * 3 * H + j] = dr;
        dhg[dhgo + b * 3 * H + j] = dr;
        dh[dho + idx] += d * r;
    }
}

/* Elman RNN: h = act(pre) (tanh or relu), y = h; invalid rows h = h_prev (0 when absent), y = 0.
 * pre may alias h. */
__kernel void k_rnn_fwd(ulong B, ulong H, int act, __global const float *pre, ulong po, __global const float *h_prev,
                        ulong hpo, __global float *h, ulong ho, __global float *y, ulong yo, ulong ldy,
                        __global const int *len, ulong lo, ulong t) {
    ELEMENT2(j, b, H, B);
    const size_t idx = b * H + j;
    const int ok = valid_row(len, lo, b, t);
    const float v = ok ? act_apply(act, pre[po + idx]) : PRESENT(hpo) ? h_prev[hpo + idx] : 0.0f;
    h[ho + idx] = v;
    if (PRESENT(yo)) y[yo + b * ldy + j] = ok ? v : 0.0f;
}

/* RNN backward: dpre = (dh + dy) * act'(h), dh = 0 on valid rows; dpre = 0, dh unchanged on invalid rows. */
__kernel void k_rnn_bwd(ulong B, ulong H, int act, __global const float *h, ulong ho, __global const float *dy,
                        ulong dyo, ulong ldy, __global float *dh, ulong dho, __global float *dpre, ulong dpo,
                        __global const int *len, ulong lo, ulong t) {
    ELEMENT2(j, b, H, B);
    const size_t idx = b * H + j;
    if (valid_row(len, lo, b, t)) {
        float d = dh[dho + idx];
        if (PRESENT(dyo)) d += dy[dyo + b * ldy + j];
        dpre[dpo + idx] = d * act_grad(act, h[ho + idx]);
        dh[dho + idx] = 0.0f;
    } else {
        dpre[dpo + idx] = 0.0f;
    }
}
