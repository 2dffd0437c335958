/*
 * gemm.cl - our own SGEMM for CPU OpenCL devices (PoCL and the like), where CLBlast's untuned kernels are
 * slow. Row-major, strided-batched:  C_k = alpha * op(A_k) * op(B_k) + beta * C_k;  beta == 0 overwrites C
 * without reading it. Explicit float16 vectors map onto AVX/AVX-512 FMAs on CPU compilers.
 *
 * Outer-product kernels (NN, TN, and TT computed as C^T = B A): a work-item owns a TM x 32 tile of C in
 * registers (two float16 per row), streams row k of the right operand as two vectors and broadcasts TM
 * values of column k of the left operand. Global size (ceil(N / 32), ceil(M / TM), batch).
 *
 * Dot-product kernel (NT: both operands are read along k): a work-item owns a 4 x 4 tile of C, each entry
 * a float16 accumulator over k in steps of 16, summed horizontally at the end. Global size
 * (ceil(N / 4), ceil(M / 4), batch).
 *
 * Edge tiles take a scalar path (outer-product) or clamp their loads and skip their stores (dot-product).
 */
#ifndef TM
#define TM 8
#endif

/* Store v = alpha * acc (+ beta * C) at C element (m, n). */
#define STORE_C(m, n, acc)                                                                                 \
    do {                                                                                                   \
        __global float *c_ = C + C_AT(m, n);                                                               \
        *c_ = beta != 0.0f ? alpha * (acc) + beta * *c_ : alpha * (acc);                                   \
    } while (0)

/* Outer-product kernel. L(m, k): left operand element; R row k starts at R + k * ldr (contiguous in n);
 * C_AT(m, n): offset of C element (m, n); VEC_STORE: 1 when a C row segment is contiguous. */
#define GEMM_OUTER(NAME, L, VEC_STORE)                                                                      \
__kernel void NAME(ulong M, ulong N, ulong K, float alpha, __global const float *A, ulong ao, ulong lda,     \
                   ulong sa, __global const float *R, ulong ro, ulong ldr, ulong sr, float beta,             \
                   __global float *C, ulong co, ulong ldc, ulong sc) {                                       \
    const size_t n0 = get_global_id(0) * 32, m0 = get_global_id(1) * TM, bt = get_global_id(2);             \
    if (n0 >= N || m0 >= M) return;                                                                        \
    A += ao + bt * sa;                                                                                     \
    R += ro + bt * sr;                                                                                     \
    C += co + bt * sc;                                                                                     \
    if (n0 + 32 <= N && m0 + TM <= M) {                                                                    \
        float16 acc0[TM], acc1[TM];                                                                        \
        _Pragma("unroll") for (int r = 0; r < TM; r++) { acc0[r] = (float16)(0.0f); acc1[r] = acc0[r]; }   \
        for (size_t k = 0; k < K; k++) {                                                                   \
            const float16 b0 = vload16(0, R + k * ldr + n0), b1 = vload16(0, R + k * ldr + n0 + 16);      \
            _Pragma("unroll") for (int r = 0; r < TM; r++) {                                               \
                const float16 a = (float16)(L(m0 + r, k));                                                 \
                acc0[r] = fma(a, b0, acc0[r]);                                                             \
                acc1[r] = fma(a, b1, acc1[r]);                                                             \
            }                                                                                              \
        }                                                                                                  \
        _Pragma("unroll") for (int r = 0; r < TM; r++) {                                                   \
            if (VEC_STORE) {                                                                               \
                __global float *c = C + C_AT(m0 + r, n0);                                                  \
                float16 v0 = alpha * acc0[r], v1 = alpha * acc1[r];                                        \
                if (beta != 0.0f) {                                                                        \
                    v0 += beta * vload16(0, c);                                                            \
                    v1 += beta * vload16(0, c + 16);                                                       \
                }                                                                                          \
                vstore16(v0, 0, c);                                                                        \
                vstore16(v1, 0, c + 16);                                                                   \
            } else {                                                                                       \
                float a0[16], a1[16];                                                                      \
                vstore16(acc0[r], 0, a0);                                                                  \
                vstore16(acc1[r], 0, a1);                                                                  \
                for (int j = 0; j < 16; j++) {                                                             \
                    STORE_C(m0 + r, n0 + j, a0[j]);                                                        \
                    STORE_C(m0 + r, n0 + 16 + j, a1[j]);                                                   \
                }                                                                                          \
            }                                                                                              \
        }                                                                                                  \
    } else {                                                                                               \
        const size_t mend = min((size_t)M, m0 + TM), nend = min((size_t)N, n0 + 32);                       \
        for (size_t m = m0; m < mend; m++)                                                                 \
            for (size_t n = n0; n < nend; n++) {                                                           \
                float s = 0.0f;                                                                            \
                for (size_t k = 0; k < K; k++) s = fma(L(m, k), R[k * ldr + n], s);                          \
                STORE_C(m, n, s);                                                                          \
            }                                                                                              \
    }                                                                                                      \
}

#define C_AT(m, n) ((m) * ldc + (n))
#define L_N(m, k) A[(m) * lda + (k)]
#define L_T(m, k) A[(k) * lda + (m)]
GEMM_OUTER(k_gemm_nn, L_N, 1)
GEMM_OUTER(k_gemm_tn, L_T, 1)
#undef C_AT
/* TT: C^T (N x M) = B A, run as NN with the operands swapped (A := B, R := A) and C stored transposed. */
#define C_AT(m, n) ((n) * ldc + (m))
GEMM_OUTER(k_gemm_nn_ct, L_N, 0)
#undef C_AT

/* NT: C[m, n] = sum_k A[m, k] B[n, k], both read along k. */
__kernel void k_gemm_nt(ulong M, ulong N, ulong K, float alpha, __global const float *A, ulong ao, ulong lda,
                        ulong sa, __global const float *B, ulong bo, ulong ldb, ulong sb, float beta,
                        __global float *C, ulong co, ulong ldc, ulong sc) {
    const size_t n0 = get_global_id(0) * 4, m0 = get_global_id(1) * 4, bt = get_global_id(2);
    if (n0 >= N || m0 >= M) return;
    A += ao + bt * sa;
    B += bo + bt * sb;
    C += co + bt * sc;
    __global const float *a[4], *b[4];
    for (int i = 0; i < 4; i++) {
        a[i] = A + min(m0 + i, (size_t)M - 1) * lda;   /* clamped: edge tiles compute, then skip the store */
        b[i] = B + min(n0 + i, (size_t)N - 1) * ldb;
    }
    float16 acc[4][4];
    _Pragma("unroll") for (int i = 0; i < 4; i++)
        _Pragma("unroll") for (int j = 0; j < 4; j++) acc[i][j] = (float16)(0.0f);
    const size_t k16 = K / 16 * 16;
    for (size_t k = 0; k < k16; k += 16) {
        const float16 a0 = vload16(0, a[0] + k), a1 = vload16(0, a[1] + k), a2 = vload16(0, a[2] + k),
                      a3 = vload16(0, a[3] + k);
        _Pragma("unroll") for (int j = 0; j < 4; j++) {
            const float16 bj = vload16(0, b[j] + k);
            acc[0][j] = fma(a0, bj, acc[0][j]);
            acc[1][j] = fma(a1, bj, acc[1][j]);
            acc[2][j] = fma(a2, bj, acc[2][j]);
            acc[3][j] = fma(a3, bj, acc[3][j]);
        }
    }
#define C_AT(m, n) ((m) * ldc + (n))
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            float s = hsum16(acc[i][j]);
            for (size_t k = k16; k < K; k++) s = fma(a[i][k], b[j][k], s);
            if (m0 + i < M && n0 + j < N) STORE_C(m0 + i, n0 + j, s);
        }
#undef C_AT
}

