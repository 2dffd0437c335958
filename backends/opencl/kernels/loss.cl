/*
 * loss.cl - embeddings and losses. Loss values are reduced in a fixed order (see reduce.cl): per-row or
 * per-element terms first, then k_pair_part / k_*_part partials, then k_reduce_final.
 */

/* out[i, :] = table[ids[i], :] */
__kernel void k_embed_fwd(ulong n, ulong dim, __global const int *ids, ulong io, __global const float *table,
                          ulong to, __global float *out, ulong oo) {
    ELEMENT2(c, i, dim, n);
    const size_t k = i * dim + c;
    out[oo + k] = table[to + (size_t)ids[io + i] * dim + c];
}

/* dtable[ids[i], :] += dout[i, :] in increasing i, skipping padding_idx: parallel over columns, serial
 * over i, so repeated ids accumulate in a fixed order. */
__kernel void k_embed_bwd(ulong n, ulong dim, __global const int *ids, ulong io, __global const float *dout,
                          ulong doo, int padding_idx, __global float *dtable, ulong dto) {
    ELEMENT(c, dim);
    for (size_t i = 0; i < n; i++) {
        const int id = ids[io + i];
        if (id == padding_idx) continue;
        dtable[dto + (size_t)id * dim + c] += dout[doo + i * dim + c];
    }
}

/* Cross-entropy, pass 1: one work-group per row i. With logp = log_softmax(x_i), w = weights or 1:
 *   lse[i] = logsumexp(x_i);  wt[i] = w[y_i];  wsum[i] = sum_c w[c];
 *   num[i] = (1 - eps) * (-w[y_i] logp[y_i]) + (eps / C) * (-sum_c w[c] logp[c])
 * Ignored rows (target == ignore_index, or a target outside [0, C)) get num = wt = 0.
 * scratch + so holds lse, num, wt, wsum, N floats each. */
__kernel void k_xent_rows(ulong N, ulong C, __global const float *x, ulong xo, __global const int *tg, ulong tgo,
                          __global const float *w, ulong wo, int ignore_index, float eps,
                          __global float *scratch, ulong so) {
    __local float part[RLANES];
    __local float part2[RLANES];
    const size_t lid = get_local_id(0), lsz = get_local_size(0);
    __global float *lse_out = scratch + so, *num_out = lse_out + N, *wt_out = lse_out + 2 * N;
    __global float *ws_out = lse_out + 3 * N;
    for (size_t r = get_group_id(0); r < N; r += get_num_groups(0)) {
        const int target = tg[tgo + r];
        if (target == ignore_index || target < 0 || (ulong)target >= C) {   /* uniform over the group */
            if (lid == 0) {
                lse_out[r] = 0.0f;
                num_out[r] = 0.0f;
                wt_out[r] = 0.0f;
                ws_out[r] = 0.0f;
            }
            continue;
        }
        __global const float *xr = x + xo + r * C;
        float sum;
        const float mx = row_max_sumexp(xr, C, part, &sum);
        const float lse = mx + log(sum);
        barrier(CLK_LOCAL_MEM_FENCE);
        float smooth = 0.0f, wsum = 0.0f;
        if (eps != 0.0f) {
            for (size_t j = lid; j < RLANES; j += lsz) {
                float s = 0.0f, sw = 0.0f;
                for (size_t c = j; c < C; c += RLANES) {
                    const float wc = PRESENT(wo) ? w[wo + c] : 1.0f;
                    s += wc * (xr[c] - lse);
                    sw += wc;
                }
                part[j] = s;
                part2[j] = sw;
            }
            tree_reduce(part);
            tree_reduce(part2);
            smooth = -part[0];
            wsum = part2[0];
        }
        if (lid == 0) {
            const float wy = PRESENT(wo) ? w[wo + target] : 1.0f;
            const float nll = -wy * (xr[target] - lse);
            lse_out[r] = lse;
            num_out[r] = (1.0f - eps) * nll + (eps / (float)C) * smooth;
            wt_out[r] = wy;
            ws_out[r] = wsum;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

/* k_xent_rows for CPU devices: one work-item per row, explicit float16 over classes. */
__kernel void k_xent_rows_cpu(ulong N, ulong C, __global const float *x, ulong xo, __global const int *tg,
                              ulong tgo, __global const float *w, ulong wo, int ignore_index, float eps,
                              __global float *scratch, ulong so) {
    ELEMENT(r, N);
    __global float *lse_out = scratch + so, *num_out = lse_out + N, *wt_out = lse_out + 2 * N;
    __global float *ws_out = lse_out + 3 * N;
    const int target = tg[tgo + r];
    if (target == ignore_index || target < 0 || (ulong)target >= C) {
        lse_out[r] = 0.0f;
        num_out[r] = 0.0f;
        wt_out[r] = 0.0f;
        ws_out[r] = 0.0f;
        return;
    }
    __global const float *xr = x + xo + r * C;
    const float mx = row_max(xr, C);
    const float lse = mx + log(row_sum_exp(xr, C, mx));
    float smooth = 0.0f, wsum = 0.0f;
    if (eps != 0.0f) {
        const size_t c16 = C / 16 * 16;
        float16 s16 = (float16)(0.0f), w16 = (float16)(0.0f);
        for (size_t c = 0; c < c16; c += 16) {
            const float16 wc = PRESENT(wo) ? vload16(0, w + wo + c) : (float16)(1.0f);
            s16 = fma(wc, vload16(0, xr + c) - lse, s16);
            w16 += wc;
        }
        float s = hsum16(s16), sw = hsum16(w16);
        for (size_t c = c16; c < C; c++) {
            const float wc = PRESENT(wo) ? w[wo + c] : 1.0f;
            s = fma(wc, xr[c] - lse, s);
            sw += wc;
        }
        smooth = -s;
        wsum = sw;
    }
    const float wy = PRESENT(wo) ? w[wo + target] : 1.0f;
    lse_out[r] = lse;
    num_out[r] = (1.0f - eps) * (-wy * (xr[target] - lse)) + (eps / (float)C) * smooth;
    wt_out[r] = wy;
    ws_out[r] = wsum;
}

/* Two sums at once, pass 1: part[g] = sum a over group g's chunk, part[RLANES + g] = sum b. */
__kernel void k_pair_part(ulong n, ulong chunk, __global const float *a, ulong ao, __global const float *b,
                          ulong bo, __global float *part_out) {
    __local float pa[RLANES];
    __local float pb[RLANES];
    const size_t g = get_group_id(0), lid = get_local_id(0), lsz = get_local_size(0);
    const size_t start = g * chunk, end = min((size_t)n, start + (size_t)chunk);
    for (size_t j = lid; j < RLANES; j += lsz) {
        float sa = 0.0f, sb = 0.0f;
        for (size_t i = start + j; i < end; i += RLANES) {
            sa += a[ao + i];
            sb += b[bo + i];
        }
        pa[j] = sa;
        pb[j] = sb;
    }
    tree_reduce(pa);
    tree_reduce(pb);
    if (lid == 0) {
        part_out[g] = pa[0];
        part_out[RLANES + g] = pb[0];
    }
}

/* Cross-entropy gradient: dlogits[i, c] = s * ((1 - eps) w[y_i] (p - [c == y_i]) + (eps / C)(p wsum - w[c]))
 * with p = exp(x - lse), s = grad_scale (sum) or grad_scale / W (mean); 0 on ignored rows, and everywhere
 * for a mean over W == 0. */
__kernel void k_xent_grad(ulong N, ulong C, __global const float *x, ulong xo, __global const int *tg, ulong tgo,
                          __global const float *w, ulong wo, float eps, int mean, float grad_scale,
                          __global const float *scratch, ulong so, ulong Wo, __global float *dx, ulong dxo) {
    const float W = scratch[Wo];
    const float s = !mean ? grad_scale : W == 0.0f ? 0.0f : grad_scale / W;
    __global const float *lse = scratch + so, *wt = lse + 2 * N, *ws = lse + 3 * N;
    ELEMENT2(c, i, C, N);
    const size_t k = i * C + c;
    const float wy = wt[i];
    float g = 0.0f;
    if (wy != 0.0f || ws[i] != 0.0f) {
        const int target = tg[tgo + i];
        const float p = exp(x[xo + k] - lse[i]);
        g = (1.0f - eps) * wy * ((size_t)target == c ? p - 1.0f : p);
        if (eps != 0.0f) g += (eps / (float)C) * (p * ws[i] - (PRESENT(wo) ? w[wo + c] : 1.0f));
        g *= s;
    }
    dx[dxo + k] = g;
}

/* k_xent_grad for CPU devices: one work-item per row, explicit float16 over classes; the target's entry is
 * then rewritten with the scalar formula, so both forms compute every entry the same way. */
__kernel void k_xent_grad_cpu(ulong N, ulong C, __global const float *x, ulong xo, __global const int *tg,
                              ulong tgo, __global const float *w, ulong wo, float eps, int mean, float grad_scale,
                              __global const float *scratch, ulong so, ulong Wo, __global float *dx, ulong dxo) {
    ELEMENT(i, N);
    const float W = scratch[Wo];
    const float s = !mean ? grad_scale : W == 0.0f ? 0.0f : grad_scale / W;
    __global const float *lse = scratch + so, *wt = lse + 2 * N, *ws = lse + 3 * N;
    __global const float *xr = x + xo + i * C;
    __global float *dr = dx + dxo + i * C;
    const float wy = wt[i], wsum = ws[i], l = lse[i], ec = eps / (float)C;
    const size_t c16 = C / 16 * 16;
    const int target = tg[tgo + i];
    if (s == 0.0f || (wy == 0.0f && wsum == 0.0f) || target < 0 || (ulong)target >= C) { /* ignored row */
        for (size_t c = 0; c < c16; c += 16) vstore16((float16)(0.0f), 0, dr + c);
        for (size_t c = c16; c < C; c++) dr[c] = 0.0f;
        return;
    }
    for (size_t c = 0; c < c16; c += 16) {
        const float16 p = exp(vload16(0, xr + c) - l);
        float16 g = (1.0f - eps) * wy * p;
        if (eps != 0.0f) g += ec * (p * wsum - (PRESENT(wo) ? vload16(0, w + wo + c) : (float16)(1.0f)));
        vstore16(g * s, 0, dr + c);
    }
    for (size_t c = c16; c < C; c++) {
        const float p = exp(xr[c] - l);
        float g = (1.0f - eps) * wy * p;
        if (eps != 0.0f) g += ec * (p * wsum - (PRESENT(wo) ? w[wo + c] : 1.0f));
        dr[c] = g * s;
    }
    const size_t t = (size_t)target;
    const float p = exp(xr[t] - l);
    float g = (1.0f - eps) * wy * (p - 1.0f);
    if (eps != 0.0f) g += ec * (p * wsum - (PRESENT(wo) ? w[wo + t] : 1.0f));
    dr[t] = g * s;
}

/* BCE with logits, pass 1: part[g] = sum over group g's chunk of
 *   l_i = (1 - y) x + (1 + (p_c - 1) y) (log(1 + exp(-|x|)) + max(-x, 0)),  c = i mod C;
 * and, when dx is present, dx[i] = gs * (sigmoid(x) (1 + (p_c - 1) y) - p_c y). */
__kernel void k_bce_part(ulong n, ulong C, ulong chunk, __global const float *x, ulong xo, __global const float *y,
                         ulong yo, __global const float *pw, ulong pwo, float gs, __global float *dx, ulong dxo,
                         __global float *part_out) {
    __local float part[RLANES];
    const size_t g = get_group_id(0), lid = get_local_id(0), lsz = get_local_size(0);
    const size_t start = g * chunk, end = min((size_t)n, start + (size_t)chunk);
    for (size_t j = lid; j < RLANES; j += lsz) {
        float s = 0.0f;
        for (size_t i = start + j; i < end; i += RLANES) {
            const float xi = x[xo + i], yi = y[yo + i];
            const float p = PRESENT(pwo) ? pw[pwo + i % C] : 1.0f;
            const float lw = 1.0f + (p - 1.0f) * yi;
            s += (1.0f - yi) * xi + lw * (log1p(exp(-fabs(xi))) + fmax(-xi, 0.0f));
            if (PRESENT(dxo)) dx[dxo + i] = gs * (sigmoidf(xi) * lw - p * yi);
        }
        part[j] = s;
    }
    tree_reduce(part);
    if (lid == 0) part_out[g] = part[0];
}

/* MSE, pass 1: part[g] = sum (x - y)^2 over group g's chunk; dx[i] = gs * 2 (x - y) when present. */
__kernel void k_mse_part(ulong n, ulong chunk, __global const float *x, ulong xo, __global const float *y, ulong yo,
                         float gs, __global float *dx, ulong dxo, __global float *part_out) {
    __local float part[RLANES];
    const size_t g = get_group_id(0), lid = get_local_id(0), lsz = get_local_size(0);
    const size_t start = g * chunk, end = min((size_t)n, start + (size_t)chunk);
    for (size_t j = lid; j < RLANES; j += lsz) {
        float s = 0.0f;
        for (size_t i = start + j; i < end; i += RLANES) {
            const float d = x[xo + i] - y[yo + i];
            s += d * d;
            if (PRESENT(dxo)) dx[dxo + i] = gs * 2.0f * d;
        }
        part[j] = s;
    }
    tree_reduce(part);
    if (lid == 0) part_out[g] = part[0];
}
