/*
 * elementwise.cl - memory-bound element-wise ops: fill, copy, scale, axpy, mul, add_bias, activations,
 * select_step, the beta pass of GEMM, clip_value and dropout.
 */

/* y[i] = bits, i < n (bits of a float; also clears int32 buffers). */
__kernel void k_fill(ulong n, uint bits, __global uint *y, ulong yo) {
    ELEMENT(i, n);
    y[yo + i] = bits;
}

/* y[r*ldy + c] = x[r*ldx + c], copied as bits. x == y allowed when ldx == ldy. */
__kernel void k_copy(ulong rows, ulong cols, __global const uint *x, ulong xo, ulong ldx,
                     __global uint *y, ulong yo, ulong ldy) {
    ELEMENT2(c, r, cols, rows);
    y[yo + r * ldy + c] = x[xo + r * ldx + c];
}

/* dst_k[c * ldd + r] = src_k[r * lds + c] for r < rows, c < cols, k < batch: the transpose op (batch 1), and
 * the own GEMM's packing of a transposed B into a K x N panel (ocl_gemm.c). Launched in 16 x 16 tiles. */
__kernel void k_transpose(ulong rows, ulong cols, __global const float *src, ulong so, ulong lds, ulong ss,
                          __global float *dst, ulong dso, ulong ldd, ulong sd) {
    const size_t c = get_global_id(0), r = get_global_id(1), k = get_global_id(2);
    if (c < cols && r < rows) dst[dso + k * sd + c * ldd + r] = src[so + k * ss + r * lds + c];
}

/* y = alpha * y */
__kernel void k_scale(ulong n, float alpha, __global float *y, ulong yo) {
    ELEMENT(i, n);
    y[yo + i] *= alpha;
}

/* y += alpha * x  (x == y allowed) */
__kernel void k_axpy(ulong n, float alpha, __global const float *x, ulong xo, __global float *y, ulong yo) {
    ELEMENT(i, n);
    y[yo + i] += alpha * x[xo + i];
}

/* y = alpha * a * b + beta * y; beta == 0 overwrites without reading y. a, b may alias y. */
__kernel void k_mul(ulong n, float alpha, __global const float *a, ulong ao, __global const float *b, ulong bo,
                    float beta, __global float *y, ulong yo) {
    ELEMENT(i, n);
    const float v = alpha * a[ao + i] * b[bo + i];
    y[yo + i] = beta == 0.0f ? v : v + beta * y[yo + i];
}

/* y[r*ldy + c] += bias[c] */
__kernel void k_add_bias(ulong rows, ulong cols, __global const float *bias, ulong bo, __global float *y, ulong yo,
                         ulong ldy) {
    ELEMENT2(c, r, cols, rows);
    y[yo + r * ldy + c] += bias[bo + c];
}

/* y = f(x); x == y allowed. */
__kernel void k_act_fwd(int act, ulong n, __global const float *x, ulong xo, __global float *y, ulong yo) {
    ELEMENT(i, n);
    y[yo + i] = act_apply(act, x[xo + i]);
}

/* dx = dy * f'(x), from y = f(x); beta == 0 overwrites dx, else dx = that + beta * dx. */
__kernel void k_act_bwd(int act, ulong n, __global const float *y, ulong yo, __global const float *dy, ulong dyo,
                        float beta, __global float *dx, ulong dxo) {
    ELEMENT(i, n);
    const float v = dy[dyo + i] * act_grad(act, y[yo + i]);
    dx[dxo + i] = beta == 0.0f ? v : v + beta * dx[dxo + i];
}

/* valid(b, t): y[b, c] = a[b, c]; otherwise y[b, c] = other present ? other[b, c] : 0. y may alias other. */
__kernel void k_select_step(ulong B, ulong N, __global const float *a, ulong ao, ulong lda,
                            __global const float *other, ulong oo, ulong ldo, __global float *y, ulong yo, ulong ldy,
                            __global const int *len, ulong lo, ulong t) {
    ELEMENT2(c, b, N, B);
    float v;
    if (valid_row(len, lo, b, t)) v = a[ao + b * lda + c];
    else v = PRESENT(oo) ? other[oo + b * ldo + c] : 0.0f;
    y[yo + b * ldy + c] = v;
}

/* GEMM with K == 0 (or the beta pass of our own GEMM): C_k = beta * C_k, beta == 0 overwrites. */
__kernel void k_gemm_beta(ulong M, ulong N, ulong batch, float beta, __global float *C, ulong co, ulong ldc,
                          ulong stride_c) {
    ELEMENT2(c, row, N, M * batch);         /* row = k * M + r */
    const size_t k = row / M, r = row - k * M;
    const size_t idx = co + k * stride_c + r * ldc + c;
    C[idx] = beta == 0.0f ? 0.0f : beta * C[idx];
}

/* g = min(max(g, -limit), limit); NaN stays NaN (as torch.clamp). */
__kernel void k_clip_value(ulong n, __global float *g, ulong go, float limit) {
    ELEMENT(i, n);
    float v = g[go + i];
    if (v < -limit) v = -limit;
    if (v > limit) v = limit;
    g[go + i] = v;
}

/* ---- Philox4x32-10, the port of recur_philox_u32 in recur/backend.h (bit-exact) ----
 * Element k uses counter block q = k >> 2: ctr = {(uint)q, (uint)(q >> 32), 0, 0}, key = seed halves, and
 * word k & 3 of the output. */
uint4 philox4x32_10(ulong q, ulong seed) {
    uint c0 = (uint)q, c1 = (uint)(q >> 32), c2 = 0, c3 = 0;
    uint k0 = (uint)seed, k1 = (uint)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        const ulong p0 = (ulong)0xD2511F53u * c0, p1 = (ulong)0xCD9E8D57u * c2;
        const uint lo0 = (uint)p0, hi0 = (uint)(p0 >> 32), lo1 = (uint)p1, hi1 = (uint)(p1 >> 32);
        const uint n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return (uint4)(c0, c1, c2, c3);
}

/* The four Philox words of counter block q = get_global_id(0) + (counter >> 2), kept where their element
 * index k = 4q + j lies in [counter, counter + n): calls f(i, word) with i = k - counter. */
#define PHILOX_BLOCK(n, seed, counter, F)                                                                  \
    const ulong q = (counter >> 2) + get_global_id(0);                                                     \
    if (q > ((counter + n - 1) >> 2)) return;                                                              \
    const uint4 r = philox4x32_10(q, seed);                                                                \
    const ulong k0 = 4 * q;                                                                                \
    if (k0 + 0 >= counter && k0 + 0 - counter < n) F((size_t)(k0 + 0 - counter), r.x);                     \
    if (k0 + 1 >= counter && k0 + 1 - counter < n) F((size_t)(k0 + 1 - counter), r.y);                     \
    if (k0 + 2 >= counter && k0 + 2 - counter < n) F((size_t)(k0 + 2 - counter), r.z);                     \
    if (k0 + 3 >= counter && k0 + 3 - counter < n) F((size_t)(k0 + 3 - counter), r.w)

/* Raw generator, for tests: out[i] = recur_philox_u32(seed, counter + i). */
__kernel void k_philox_u32(ulong n, ulong seed, ulong counter, __global uint *out, ulong oo) {
#define STORE_WORD(i, w) out[oo + (i)] = (w)
    PHILOX_BLOCK(n, seed, counter, STORE_WORD);
#undef STORE_WORD
}

/* Inverted dropout: keep_i = uniform(seed, counter + i) >= p;  y[i] = keep_i ? x[i] * scale : 0, with
 * uniform = (word >> 8) * 2^-24 and scale = 1 / (1 - p) rounded to float by the host. One Philox call serves
 * the (up to) four elements of a counter block. x == y allowed. */
__kernel void k_dropout(ulong n, float p, float scale, ulong seed, ulong counter, __global const float *x, ulong xo,
                        __global float *y, ulong yo) {
#define DROP(i, w) y[yo + (i)] = (float)((w) >> 8) * (1.0f / 16777216.0f) >= p ? x[xo + (i)] * scale : 0.0f
    PHILOX_BLOCK(n, seed, counter, DROP);
#undef DROP
}
