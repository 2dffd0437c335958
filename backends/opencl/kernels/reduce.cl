/*
 * reduce.cl - reductions with a fixed summation order: sum_rows, sum_sq, the shared final pass, and the
 * row softmax (one work-group per row).
 *
 * Two-pass reductions over n elements: the host picks G = min(RLANES, ceil(n / 4096)) groups from n alone;
 * group g sums its contiguous chunk [g*chunk, min(n, (g+1)*chunk)) with the RLANES-lane tree of common.cl
 * and writes one partial; k_reduce_final sums the G partials with the same tree. The order depends only on
 * n, never on the device.
 */

/* y[c] = beta * y[c] + sum_{r < rows} x[r*ldx + c], summed in increasing r; beta == 0 overwrites.
 * Compensated (Kahan) summation keeps long columns (bias gradients over T*B rows) close to a double sum. */
__kernel void k_sum_rows(ulong rows, ulong cols, __global const float *x, ulong xo, ulong ldx, float beta,
                         __global float *y, ulong yo) {
    ELEMENT(c, cols);
    float s = 0.0f, comp = 0.0f;
    for (size_t r = 0; r < rows; r++) {
        const float v = x[xo + r * ldx + c] - comp;
        const float t = s + v;
        comp = (t - s) - v;
        s = t;
    }
    y[yo + c] = beta == 0.0f ? s : beta * y[yo + c] + s;
}

/* Pass 1 of sum_sq: part[g] = sum of x[i]^2 over group g's chunk. */
__kernel void k_sumsq_part(ulong n, ulong chunk, __global const float *x, ulong xo, __global float *part_out) {
    __local float part[RLANES];
    const size_t g = get_group_id(0), lid = get_local_id(0), lsz = get_local_size(0);
    const size_t start = g * chunk, end = min((size_t)n, start + (size_t)chunk);
    for (size_t j = lid; j < RLANES; j += lsz) {
        float s = 0.0f;
        for (size_t i = start + j; i < end; i += RLANES) {
            const float v = x[xo + i];
            s += v * v;
        }
        part[j] = s;
    }
    tree_reduce(part);
    if (lid == 0) part_out[g] = part[0];
}

/* Final pass, one work-group: S = sum of part[0..G) (G <= RLANES) with the fixed tree.
 *   mode 0: out[0] = scale * S.
 *   mode 1: also D = sum of part[RLANES..RLANES+G); wout[0] = D; out[0] = scale * S / D (mean
 *           cross-entropy: loss = num / W, NaN when nothing was kept).
 *   mode 2: as mode 1 but out[0] = scale * S (sum cross-entropy; W kept for the gradient). */
__kernel void k_reduce_final(ulong G, __global const float *part_in, float scale, int mode,
                             __global float *out, ulong oo, __global float *wout, ulong wo) {
    __local float part[RLANES];
    __local float den[RLANES];
    const size_t lid = get_local_id(0), lsz = get_local_size(0);
    for (size_t j = lid; j < RLANES; j += lsz) {
        part[j] = j < G ? part_in[j] : 0.0f;
        den[j] = (mode != 0 && j < G) ? part_in[RLANES + j] : 0.0f;
    }
    tree_reduce(part);
    tree_reduce(den);
    if (lid == 0) {
        float v = scale * part[0];
        if (mode != 0) {
            const float W = den[0];
            wout[wo] = W;
            if (mode == 1) v /= W;
        }
        if (PRESENT(oo)) out[oo] = v;   /* the loss may be absent when only the gradient is wanted */
    }
}

/* Row softmax, one work-group per row; columns c >= lengths[r] (when present) get 0, as does a row of
 * length 0. x == y allowed. */
__kernel void k_softmax_fwd(ulong rows, ulong cols, __global const float *x, ulong xo, __global const int *len,
                            ulong lo, __global float *y, ulong yo) {
    __local float part[RLANES];
    const size_t lid = get_local_id(0), lsz = get_local_size(0);
    for (size_t r = get_group_id(0); r < rows; r += get_num_groups(0)) {
        size_t n = cols;
        if (PRESENT(lo)) {
            const int l = len[lo + r];
            n = l <= 0 ? 0 : min((size_t)l, (size_t)cols);
        }
        __global const float *xr = x + xo + r * cols;
        __global float *yr = y + yo + r * cols;
        float sum;
        const float mx = row_max_sumexp(xr, n, part, &sum);
        for (size_t c = lid; c < cols; c += lsz) yr[c] = c < n ? exp(xr[c] - mx) / sum : 0.0f;
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

/* dx = y * (dy - sum_k y_k dy_k), one work-group per row; dx may alias dy. */
__kernel void k_softmax_bwd(ulong rows, ulong cols, __global const float *y, ulong yo, __global const float *dy,
                            ulong dyo, __global float *dx, ulong dxo) {
    __local float part[RLANES];
    const size_t lid = get_local_id(0), lsz = get_local_size(0);
    for (size_t r = get_group_id(0); r < rows; r += get_num_groups(0)) {
        __global const float *yr = y + yo + r * cols;
        __global const float *dyr = dy + dyo + r * cols;
        __global float *dxr = dx + dxo + r * cols;
        for (size_t j = lid; j < RLANES; j += lsz) {
            float s = 0.0f;
            for (size_t c = j; c < cols; c += RLANES) s += yr[c] * dyr[c];
            part[j] = s;
        }
        tree_reduce(part);
        const float dot = part[0];
        for (size_t c = lid; c < cols; c += lsz) dxr[c] = yr[c] * (dyr[c] - dot);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

/* ---- CPU variants: one work-item per row, explicit float16 over columns (see row_* in common.cl).
 * Work-group tree reductions cost a barrier region per row on CPU drivers; these do not. ---- */

__kernel void k_softmax_fwd_cpu(ulong rows, ulong cols, __global const float *x, ulong xo, __global const int *len,
                                ulong lo, __global float *y, ulong yo) {
    ELEMENT(r, rows);
    size_t n = cols;
    if (PRESENT(lo)) {
        const int l = len[lo + r];
        n = l <= 0 ? 0 : min((size_t)l, (size_t)cols);
    }
    __global const float *xr = x + xo + r * cols;
    __global float *yr = y + yo + r * cols;
    const float mx = row_max(xr, n);
    const float sum = row_sum_exp(xr, n, mx);
    const size_t n16 = n / 16 * 16;
    for (size_t c = 0; c < n16; c += 16) vstore16(exp(vload16(0, xr + c) - mx) / sum, 0, yr + c);
    for (size_t c = n16; c < n; c++) yr[c] = exp(xr[c] - mx) / sum;
    for (size_t c = n; c < cols; c++) yr[c] = 0.0f;
}

__kernel void k_softmax_bwd_cpu(ulong rows, ulong cols, __global const float *y, ulong yo, __global const float *dy,
                                ulong dyo, __global float *dx, ulong dxo) {
    ELEMENT(r, rows);
    __global const float *yr = y + yo + r * cols;
    __global const float *dyr = dy + dyo + r * cols;
    __global float *dxr = dx + dxo + r * cols;
    const float dot = row_dot(yr, dyr, cols);
    for (size_t c = 0; c < cols; c++) dxr[c] = yr[c] * (dyr[c] - dot);
}
