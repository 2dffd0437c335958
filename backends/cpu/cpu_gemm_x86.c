/*
 * x86-64 SGEMM micro-kernels and packing routines, compiled with per-function target attributes so that
 * this file builds with the default -march and the code is only entered after __builtin_cpu_supports said
 * yes (cpu_isa_detect).
 *
 *   AVX-512: 12 x 32 tile = 24 zmm accumulators; per k two 16-wide loads of packed B and 12 broadcasts of
 *            packed A straight from memory (vfmadd231ps zmm, zmm, m32{1to16}). Partial tiles: the row count
 *            is a compile-time constant of one of 12 specialised bodies; partial columns use masked loads
 *            and stores.
 *   AVX2:    6 x 16 tile = 12 ymm accumulators (the BLIS Haswell shape); B packed or read in place (masked
 *            loads for a partial panel), A packed or read in place, as AVX-512; partial columns are stored
 *            through a small buffer.
 *
 * Both write c = alpha * acc + beta * c as one FMA on beta * c (beta == 0: alpha * acc, C never read), the
 * rounding every other path of cpu_gemm.c uses too.
 */
#include "cpu_gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

void cpu_pack_a_generic(size_t mc, size_t kc, const float *A, size_t lda, int trans, float *dst, int MR);
void cpu_pack_b_generic(size_t kc, size_t nc, const float *B, size_t ldb, int trans, float *dst, int NR);

#define ALWAYS_INLINE inline __attribute__((always_inline))
#define T512 __attribute__((target("avx512f,avx2,fma")))
#define T256 __attribute__((target("avx2,fma")))

/* Masks with lanes [0, n) set and the others clear (n <= 0: none; n >= the lane count: all), for partial
 * panels and K tails: a 16-lane AVX-512 mask, and the 8-lane AVX2 form (lanes all ones) that maskload and
 * maskstore take. */
static ALWAYS_INLINE T512 __mmask16 first_lanes16(int n) {
    return (__mmask16)(n <= 0 ? 0 : n >= 16 ? 0xffff : (1u << n) - 1);
}
static ALWAYS_INLINE T256 __m256i first_lanes8(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* ================================ AVX-512: 12 x 32 ================================ */

#define K512_MR 12
#define K512_NR 32
#ifndef K512_MC
#define K512_MC 144
#endif
#ifndef K512_KC
#define K512_KC 256
#endif
/* K <= 512 in one block, not two of 256: the recurrent step at H = 512 (K = 512) then reads and writes its C
 * (64 x 2048, 512 KiB) once instead of twice, and the input projection at I = 512 likewise. One thread,
 * recur-bench-sgemm: large step 96-105 GFLOP/s (69-90 with two blocks), large xproj 107 (96-104);
 * infer.large 3% faster (4 of 4 alternating runs), train.large even (2 of 4). Longer K keeps blocks of at
 * most 256: blocks of up to 512 throughout made train.seed001 (K = 1280) 3% slower (7 of 10). */
#ifndef K512_KC_WHOLE
#define K512_KC_WHOLE 512
#endif
#ifndef K512_NC
#define K512_NC 2048
#endif

static ALWAYS_INLINE T512 void st512(float *ci, __m512 x0, __m512 x1, __m512 va, __m512 vb, int bz) {
    if (bz) {
        _mm512_storeu_ps(ci, _mm512_mul_ps(x0, va));
        _mm512_storeu_ps(ci + 16, _mm512_mul_ps(x1, va));
    } else {
        _mm512_storeu_ps(ci, _mm512_fmadd_ps(x0, va, _mm512_mul_ps(vb, _mm512_loadu_ps(ci))));
        _mm512_storeu_ps(ci + 16, _mm512_fmadd_ps(x1, va, _mm512_mul_ps(vb, _mm512_loadu_ps(ci + 16))));
    }
}

static ALWAYS_INLINE T512 void st512m(float *ci, __m512 x0, __m512 x1, __m512 va, __m512 vb, int bz,
                                       __mmask16 m0, __mmask16 m1) {
    if (bz) {
        _mm512_mask_storeu_ps(ci, m0, _mm512_mul_ps(x0, va));
        _mm512_mask_storeu_ps(ci + 16, m1, _mm512_mul_ps(x1, va));
    } else {
        _mm512_mask_storeu_ps(ci, m0, _mm512_fmadd_ps(x0, va, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m0, ci))));
        _mm512_mask_storeu_ps(ci + 16, m1,
                              _mm512_fmadd_ps(x1, va, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m1, ci + 16))));
    }
}

#define R512_DECL(i) __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = _mm512_setzero_ps();
#define R512_FMA(i)                                                                                          \
    if (MR > i) {                                                                                            \
        const __m512 ai = _mm512_set1_ps(da ? a[i * lda] : a[i]);                                            \
        c##i##0 = _mm512_fmadd_ps(ai, b0, c##i##0);                                                          \
        c##i##1 = _mm512_fmadd_ps(ai, b1, c##i##1);                                                          \
    }
#define R512_PF(i) \
    if (MR > i) { \
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0); \
        _mm_prefetch((const char *)(c + i * ldc + 31), _MM_HINT_T0); \
    }
#define R512_ST(i) \
    if (MR > i) st512(c + i * ldc, c##i##0, c##i##1, va, vb, bz);
#define R512_STM(i) \
    if (MR > i) st512m(c + i * ldc, c##i##0, c##i##1, va, vb, bz, m0, m1);
#define R512_ALL(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

/* direct (a compile-time constant): B is op(B) itself, row k at b + k * bs (unaligned, nr columns valid; a
 * partial panel is read with masked loads); else B is a packed panel (bs = 32, aligned, zero-padded). */
static ALWAYS_INLINE T512 void k512_body(const int MR, const int direct, const int da, size_t kc, const float *a,
                                         size_t lda, const float *b, size_t bs, float *c, size_t ldc, int nr,
                                         float alpha, float beta) {
    R512_ALL(R512_DECL)
    R512_ALL(R512_PF)
    const __mmask16 m0 = first_lanes16(nr), m1 = first_lanes16(nr - 16);
    if (!direct || nr == K512_NR) {
        for (size_t k = 0; k < kc; k++) {
            const __m512 b0 = direct ? _mm512_loadu_ps(b) : _mm512_load_ps(b);
            const __m512 b1 = direct ? _mm512_loadu_ps(b + 16) : _mm512_load_ps(b + 16);
            R512_ALL(R512_FMA)
            a += da ? 1 : K512_MR;
            b += bs;
        }
    } else {
        for (size_t k = 0; k < kc; k++) {
            const __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_maskz_loadu_ps(m1, b + 16);
            R512_ALL(R512_FMA)
            a += da ? 1 : K512_MR;
            b += bs;
        }
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    const int bz = beta == 0.0f;
    if (nr == K512_NR) {
        R512_ALL(R512_ST)
    } else {
        R512_ALL(R512_STM)
    }
}

/* A switch on the row count mr to a body specialised for it (MR, its first argument, a compile-time
 * constant): cases 12 (or 6) down to 2, then 1. */
#define MR_CASE(n, body, ...) \
    case n: body(n, __VA_ARGS__); break;
#define MR_CASES_6(body, ...)                                                                          \
    MR_CASE(6, body, __VA_ARGS__) MR_CASE(5, body, __VA_ARGS__) MR_CASE(4, body, __VA_ARGS__)         \
    MR_CASE(3, body, __VA_ARGS__) MR_CASE(2, body, __VA_ARGS__) default: body(1, __VA_ARGS__); break;
#define MR_CASES_12(body, ...)                                                                         \
    MR_CASE(12, body, __VA_ARGS__) MR_CASE(11, body, __VA_ARGS__) MR_CASE(10, body, __VA_ARGS__)      \
    MR_CASE(9, body, __VA_ARGS__) MR_CASE(8, body, __VA_ARGS__) MR_CASE(7, body, __VA_ARGS__)         \
    MR_CASES_6(body, __VA_ARGS__)

#define K512_CASES(direct, da, lda, bs) \
    switch (mr) { MR_CASES_12(k512_body, direct, da, kc, a, lda, b, bs, c, ldc, nr, alpha, beta) }

/* The three entry points of a kernel (cpu_gemm_kernel: ukernel, ukernel_direct, ukernel_a) over its
 * CASES switch: A and B packed; B in place; A in place with B packed (ldb 0) or in place. */
#define UKERNEL_ENTRIES(name, TGT, CASES, NR)                                                              \
    static TGT void name(size_t kc, const float *a, const float *b, float *c, size_t ldc, int mr, int nr,  \
                         float alpha, float beta) {                                                       \
        CASES(0, 0, 0, NR)                                                                                \
    }                                                                                                     \
    static TGT void name##_direct(size_t kc, const float *a, const float *b, size_t ldb, float *c,         \
                                  size_t ldc, int mr, int nr, float alpha, float beta) {                  \
        CASES(1, 0, 0, ldb)                                                                               \
    }                                                                                                     \
    static TGT void name##_in_place_a(size_t kc, const float *a, size_t lda, const float *b, size_t ldb,   \
                                      float *c, size_t ldc, int mr, int nr, float alpha, float beta) {    \
        if (ldb) {                                                                                        \
            CASES(1, 1, lda, ldb)                                                                         \
        } else {                                                                                          \
            CASES(0, 1, lda, NR)                                                                          \
        }                                                                                                 \
    }

UKERNEL_ENTRIES(k512, T512, K512_CASES, K512_NR)

/* ---- few rows, B transposed (C = A B^T, M <= 16): dot products along K, B rows read in place ----
 * Each C element: one vector of lane sums over k (k mod the lane count), reduced by a fixed shuffle tree,
 * then c = alpha * sum + beta * c (FMA on beta * c; beta == 0: C not read). Columns [n0, n1); rows in
 * blocks of 4, each against NJ1 (one row) or NJN (several) columns at a time, which sets the accumulators
 * (AVX-512: up to 16 of 32 registers; AVX2: up to 8 of 16). DOT_DEFINE makes dot_block##S and dot_nt##S
 * from the vector type's operations; MLOAD(p, n) loads the first n < VL lanes, the others 0. */
#define DOT_MAX_NJ 8
#define DOT_DEFINE(S, TGT, V, VL, ZERO, LOADU, MLOAD, FMA, HSUM, NJ1, NJN)                                    \
    static ALWAYS_INLINE TGT void dot_block##S(const int MI, const int NJ, size_t K, float alpha, const float *A, \
                                               size_t lda, const float *B, size_t ldb, float beta, float *C,    \
                                               size_t ldc) {                                                    \
        V acc[4][DOT_MAX_NJ];                                                                                  \
        _Pragma("GCC unroll 8") for (int i = 0; i < MI; i++)                                                   \
            _Pragma("GCC unroll 8") for (int j = 0; j < NJ; j++) acc[i][j] = ZERO();                           \
        size_t k = 0;                                                                                          \
        for (; k + VL <= K; k += VL) {                                                                         \
            V b[DOT_MAX_NJ];                                                                                   \
            _Pragma("GCC unroll 8") for (int j = 0; j < NJ; j++) b[j] = LOADU(B + (size_t)j * ldb + k);        \
            _Pragma("GCC unroll 8") for (int i = 0; i < MI; i++) {                                             \
                const V a = LOADU(A + (size_t)i * lda + k);                                                    \
                _Pragma("GCC unroll 8") for (int j = 0; j < NJ; j++) acc[i][j] = FMA(a, b[j], acc[i][j]);      \
            }                                                                                                  \
        }                                                                                                      \
        if (k < K) {                                                                                           \
            V b[DOT_MAX_NJ];                                                                                   \
            _Pragma("GCC unroll 8") for (int j = 0; j < NJ; j++) b[j] = MLOAD(B + (size_t)j * ldb + k, K - k); \
            _Pragma("GCC unroll 8") for (int i = 0; i < MI; i++) {                                             \
                const V a = MLOAD(A + (size_t)i * lda + k, K - k);                                             \
                _Pragma("GCC unroll 8") for (int j = 0; j < NJ; j++) acc[i][j] = FMA(a, b[j], acc[i][j]);      \
            }                                                                                                  \
        }                                                                                                      \
        _Pragma("GCC unroll 8") for (int i = 0; i < MI; i++)                                                   \
            _Pragma("GCC unroll 8") for (int j = 0; j < NJ; j++) {                                             \
                float *c = C + (size_t)i * ldc + j;                                                            \
                const float s = HSUM(acc[i][j]);                                                               \
                if (beta == 0.0f) *c = alpha * s;                                                              \
                else _mm_store_ss(c, _mm_fmadd_ss(_mm_set_ss(s), _mm_set_ss(alpha), _mm_set_ss(beta * *c)));   \
            }                                                                                                  \
    }                                                                                                          \
    static TGT void dot_nt##S(size_t M, size_t n0, size_t n1, size_t K, float alpha, const float *A, size_t lda, \
                              const float *B, size_t ldb, float beta, float *C, size_t ldc) {                  \
        for (size_t i = 0; i < M; i += 4) {                                                                    \
            switch (M - i >= 4 ? 4 : M - i) {                                                                  \
            case 4: DOT_J(S, 4, NJN); break;                                                                   \
            case 3: DOT_J(S, 3, NJN); break;                                                                   \
            case 2: DOT_J(S, 2, NJN); break;                                                                   \
            default: DOT_J(S, 1, NJ1); break;                                                                  \
            }                                                                                                  \
        }                                                                                                      \
    }
#define DOT_J(S, MI, NJ)                                                                                    \
    do {                                                                                                    \
        size_t j = n0;                                                                                      \
        for (; j + NJ <= n1; j += NJ)                                                                       \
            dot_block##S(MI, NJ, K, alpha, A + i * lda, lda, B + j * ldb, ldb, beta, C + i * ldc + j, ldc); \
        for (; j < n1; j++) dot_block##S(MI, 1, K, alpha, A + i * lda, lda, B + j * ldb, ldb, beta, C + i * ldc + j, ldc); \
    } while (0)

static ALWAYS_INLINE T256 float hsum256(__m256 v) {
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}
static ALWAYS_INLINE T512 float hsum512(__m512 v) {
    return hsum256(_mm256_add_ps(_mm512_castps512_ps256(v),
                                 _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}
#define MLOAD512(p, n) _mm512_maskz_loadu_ps(first_lanes16((int)(n)), (p))
DOT_DEFINE(512, T512, __m512, 16, _mm512_setzero_ps, _mm512_loadu_ps, MLOAD512, _mm512_fmadd_ps, hsum512, 8, 4)

/* ---- K = 1: one row of an outer product (cpu_gemm_kernel.rank1_row) ----
 * c[j] = alpha (a b[j]) + beta c[j]: the product rounded once, then the micro-kernels' FMA on beta c (beta 0:
 * alpha times the product, C not read). RANK1_DEFINE makes rank1_row##S from the vector type's operations;
 * MLOAD(p, n) / MSTORE(p, n, v) load / store the first n lanes (n up to VL), the others 0 / untouched. */
#define RANK1_DEFINE(S, TGT, V, VL, SET1, MUL, FMA, MLOAD, MSTORE)                                        \
    static TGT void rank1_row##S(size_t n, float a, const float *b, float alpha, float beta, float *c) {   \
        const V va = SET1(alpha), vb = SET1(beta), vx = SET1(a);                                          \
        for (size_t j = 0; j < n; j += VL) {                                                              \
            const size_t w = n - j < VL ? n - j : VL;                                                     \
            const V p = MUL(vx, MLOAD(b + j, w));                                                         \
            MSTORE(c + j, w, beta == 0.0f ? MUL(p, va) : FMA(p, va, MUL(vb, MLOAD(c + j, w))));           \
        }                                                                                                 \
    }
#define MSTORE512(p, n, v) _mm512_mask_storeu_ps((p), first_lanes16((int)(n)), (v))
RANK1_DEFINE(512, T512, __m512, 16, _mm512_set1_ps, _mm512_mul_ps, _mm512_fmadd_ps, MLOAD512, MSTORE512)

/* ---- packing ---- */

/* 8 x 8 transpose of rows r[0..7] (8 floats each) in registers. */
static ALWAYS_INLINE T256 void tr8x8(__m256 *r) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* Transposing pack: dst[k * W + j] = src[j * ld + k] for j < 8 (rows j0..j0+7 of src), k < kc, into a
 * panel of width W, 8 columns starting at dst. Full 8-row groups only. */
static ALWAYS_INLINE T256 void pack_t8(size_t kc, const float *src, size_t ld, float *dst, int W) {
    size_t k = 0;
    for (; k + 8 <= kc; k += 8) {
        __m256 r[8];
        for (int j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(src + j * ld + k);
        tr8x8(r);
        for (int q = 0; q < 8; q++) _mm256_storeu_ps(dst + (k + q) * W, r[q]);
    }
    for (; k < kc; k++)
        for (int j = 0; j < 8; j++) dst[k * W + j] = src[j * ld + k];
}

/* The same for 4 rows: dst[k * W + j] = src[j * ld + k], j < 4. */
static ALWAYS_INLINE T256 void pack_t4(size_t kc, const float *src, size_t ld, float *dst, int W) {
    size_t k = 0;
    for (; k + 8 <= kc; k += 8) {
        const __m256 r0 = _mm256_loadu_ps(src + k), r1 = _mm256_loadu_ps(src + ld + k);
        const __m256 r2 = _mm256_loadu_ps(src + 2 * ld + k), r3 = _mm256_loadu_ps(src + 3 * ld + k);
        const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
        const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
        const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE); /* k, k+1 | +4 */
        const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE); /* k+2, k+3 | +4 */
        _mm_storeu_ps(dst + (k + 0) * W, _mm256_castps256_ps128(u0));
        _mm_storeu_ps(dst + (k + 1) * W, _mm256_castps256_ps128(u1));
        _mm_storeu_ps(dst + (k + 2) * W, _mm256_castps256_ps128(u2));
        _mm_storeu_ps(dst + (k + 3) * W, _mm256_castps256_ps128(u3));
        _mm_storeu_ps(dst + (k + 4) * W, _mm256_extractf128_ps(u0, 1));
        _mm_storeu_ps(dst + (k + 5) * W, _mm256_extractf128_ps(u1, 1));
        _mm_storeu_ps(dst + (k + 6) * W, _mm256_extractf128_ps(u2, 1));
        _mm_storeu_ps(dst + (k + 7) * W, _mm256_extractf128_ps(u3, 1));
    }
    for (; k < kc; k++)
        for (int j = 0; j < 4; j++) dst[k * W + j] = src[j * ld + k];
}

/* The transpose op on columns [c0, c1) of x (cpu_gemm_kernel.transpose): 8 x 8 register transposes (the
 * packing's) over blocks of 64 columns, so that the 64 rows of y a block writes stay in L1 while groups of 8
 * rows of x pass; the last rows one by one. About 4x the scalar loop's speed. */
static T256 void transpose256(size_t rows, const float *x, size_t ldx, float *y, size_t ldy, size_t c0, size_t c1) {
    for (size_t cb = c0; cb < c1; cb += 64) {
        const size_t ce = cb + 64 < c1 ? cb + 64 : c1;
        size_t r = 0;
        for (; r + 8 <= rows; r += 8) pack_t8(ce - cb, x + r * ldx + cb, ldx, y + cb * ldy + r, (int)ldy);
        for (; r < rows; r++)
            for (size_t c = cb; c < ce; c++) y[c * ldy + r] = x[r * ldx + c];
    }
}

/* op(B) panels of 32 columns; trans: op(B)[k][j] = B[j * ldb + k]. */
static T512 void pack_b512(size_t kc, size_t nc, const float *B, size_t ldb, int trans, float *dst) {
    for (size_t j0 = 0; j0 < nc; j0 += K512_NR, dst += kc * K512_NR) {
        const size_t w = nc - j0 < K512_NR ? nc - j0 : K512_NR;
        if (!trans) {
            const __mmask16 m0 = first_lanes16((int)w), m1 = first_lanes16((int)w - 16);
            const float *src = B + j0;
            if (w == K512_NR) {
                for (size_t k = 0; k < kc; k++, src += ldb) {
                    _mm512_store_ps(dst + k * K512_NR, _mm512_loadu_ps(src));
                    _mm512_store_ps(dst + k * K512_NR + 16, _mm512_loadu_ps(src + 16));
                }
            } else {
                for (size_t k = 0; k < kc; k++, src += ldb) {
                    _mm512_store_ps(dst + k * K512_NR, _mm512_maskz_loadu_ps(m0, src));
                    _mm512_store_ps(dst + k * K512_NR + 16, _mm512_maskz_loadu_ps(m1, src + 16));
                }
            }
        } else if (w == K512_NR) {
            const float *src = B + j0 * ldb;
            for (int g = 0; g < K512_NR / 8; g++) pack_t8(kc, src + (size_t)g * 8 * ldb, ldb, dst + g * 8, K512_NR);
        } else {
            cpu_pack_b_generic(kc, w, B + j0 * ldb, ldb, 1, dst, K512_NR);
        }
    }
}

/* op(A) panels of 12 rows; trans: op(A)[i][k] = A[k * lda + i]. */
static T512 void pack_a512(size_t mc, size_t kc, const float *A, size_t lda, int trans, float *dst) {
    for (size_t i0 = 0; i0 < mc; i0 += K512_MR, dst += kc * K512_MR) {
        const size_t h = mc - i0 < K512_MR ? mc - i0 : K512_MR;
        if (trans) {
            const __mmask16 m = first_lanes16((int)h);
            const float *src = A + i0;
            /* 12 floats per k: masked 16-wide loads and stores (the store's upper 4 lanes are masked off). */
            for (size_t k = 0; k < kc; k++, src += lda)
                _mm512_mask_storeu_ps(dst + k * K512_MR, 0x0fff, _mm512_maskz_loadu_ps(m, src));
        } else {
            /* Groups of 8 and 4 rows through the register transposes (M = 64, a common batch, ends in a
             * 4-row panel), then any last rows one by one; rows past h are zero. */
            const float *src = A + i0 * lda;
            size_t j = 0;
            for (; j + 8 <= h; j += 8) pack_t8(kc, src + j * lda, lda, dst + j, K512_MR);
            for (; j + 4 <= h; j += 4) pack_t4(kc, src + j * lda, lda, dst + j, K512_MR);
            for (size_t k = 0; j < K512_MR && k < kc; k++) { /* nothing left in a full panel */
                float *d = dst + k * K512_MR;
                for (size_t i = j; i < h; i++) d[i] = src[i * lda + k];
                for (size_t i = h; i < K512_MR; i++) d[i] = 0.0f;
            }
        }
    }
}

const cpu_gemm_kernel cpu_gemm_avx512 = {
    .name = "avx512",
    .mr = K512_MR,
    .nr = K512_NR,
    .mc = K512_MC,
    .kc = K512_KC,
    .kc_whole = K512_KC_WHOLE,
    .nc = K512_NC,
    .ukernel = k512,
    .ukernel_direct = k512_direct,
    .ukernel_a = k512_in_place_a,
    .dot_nt = dot_nt512,
    .dot_nt_max_m = 16,
    .rank1_row = rank1_row512,
    .pack_a = pack_a512,
    .pack_b = pack_b512,
    .transpose = transpose256,
};

/* ================================ AVX2 + FMA: 6 x 16 ================================ */

#define K256_MR 6
#define K256_NR 16
/* K <= 512 in one block, as the AVX-512 kernel (a 512 x 16 B micro-panel is 32 KiB, still L1-sized):
 * RECUR_CPU_ISA=avx2 on the Zen 5 VM, alternating runs against blocks of 256: infer.large 0.91-1.01 of
 * the time (6 of 7 rounds faster, median 0.95), train.large even (0.91-1.01). */
#ifndef K256_KC_WHOLE
#define K256_KC_WHOLE 512
#endif

#define R256_DECL(i) __m256 c##i##0 = _mm256_setzero_ps(), c##i##1 = _mm256_setzero_ps();
#define R256_FMA(i)                                                                                          \
    if (MR > i) {                                                                                            \
        const __m256 ai = _mm256_broadcast_ss(da ? a + i * lda : a + i);                                     \
        c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);                                                          \
        c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);                                                          \
    }
#define R256_PF(i) \
    if (MR > i) { \
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0); \
        _mm_prefetch((const char *)(c + i * ldc + 15), _MM_HINT_T0); \
    }
#define R256_ST(i)                                                                                             \
    if (MR > i) {                                                                                              \
        float *ci = cb + i * cld;                                                                              \
        if (bz) {                                                                                              \
            _mm256_storeu_ps(ci, _mm256_mul_ps(c##i##0, va));                                                  \
            _mm256_storeu_ps(ci + 8, _mm256_mul_ps(c##i##1, va));                                              \
        } else {                                                                                               \
            _mm256_storeu_ps(ci, _mm256_fmadd_ps(c##i##0, va, _mm256_mul_ps(vb, _mm256_loadu_ps(ci))));        \
            _mm256_storeu_ps(ci + 8, _mm256_fmadd_ps(c##i##1, va, _mm256_mul_ps(vb, _mm256_loadu_ps(ci + 8)))); \
        }                                                                                                      \
    }
#define R256_ALL(X) X(0) X(1) X(2) X(3) X(4) X(5)

/* As k512_body: direct (a compile-time constant): B is op(B) itself, row k at b + k * bs (unaligned; a
 * partial panel is read with masked loads), else a packed panel (bs = 16, aligned, zero-padded); da: A read
 * in place, row i at a + i * lda, else a packed panel. */
static ALWAYS_INLINE T256 void k256_body(const int MR, const int direct, const int da, size_t kc, const float *a,
                                         size_t lda, const float *b, size_t bs, float *c, size_t ldc, int nr,
                                         float alpha, float beta) {
    R256_ALL(R256_DECL)
    R256_ALL(R256_PF)
    if (!direct || nr == K256_NR) {
        for (size_t k = 0; k < kc; k++) {
            const __m256 b0 = direct ? _mm256_loadu_ps(b) : _mm256_load_ps(b);
            const __m256 b1 = direct ? _mm256_loadu_ps(b + 8) : _mm256_load_ps(b + 8);
            R256_ALL(R256_FMA)
            a += da ? 1 : K256_MR;
            b += bs;
        }
    } else { /* lanes j < nr loaded, the others zero */
        const __m256i m0 = first_lanes8(nr), m1 = first_lanes8(nr - 8);
        for (size_t k = 0; k < kc; k++) {
            const __m256 b0 = _mm256_maskload_ps(b, m0), b1 = _mm256_maskload_ps(b + 8, m1);
            R256_ALL(R256_FMA)
            a += da ? 1 : K256_MR;
            b += bs;
        }
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    const int bz = beta == 0.0f;
    if (nr == K256_NR) {
        float *cb = c;
        const size_t cld = ldc;
        R256_ALL(R256_ST)
    } else { /* partial columns: stage the tile in tmp (unused lanes 0), compute there, copy back */
        _Alignas(32) float tmp[K256_MR * K256_NR] = {0};
        float *cb = tmp;
        const size_t cld = K256_NR;
        if (!bz)
            for (int i = 0; i < MR; i++) memcpy(tmp + i * K256_NR, c + i * ldc, sizeof(float) * (size_t)nr);
        R256_ALL(R256_ST)
        for (int i = 0; i < MR; i++) memcpy(c + i * ldc, tmp + i * K256_NR, sizeof(float) * (size_t)nr);
    }
}

#define K256_CASES(direct, da, lda, bs) \
    switch (mr) { MR_CASES_6(k256_body, direct, da, kc, a, lda, b, bs, c, ldc, nr, alpha, beta) }

UKERNEL_ENTRIES(k256, T256, K256_CASES, K256_NR)

#define MLOAD256(p, n) _mm256_maskload_ps((p), first_lanes8((int)(n)))
#define MSTORE256(p, n, v) _mm256_maskstore_ps((p), first_lanes8((int)(n)), (v))
RANK1_DEFINE(256, T256, __m256, 8, _mm256_set1_ps, _mm256_mul_ps, _mm256_fmadd_ps, MLOAD256, MSTORE256)
DOT_DEFINE(256, T256, __m256, 8, _mm256_setzero_ps, _mm256_loadu_ps, MLOAD256, _mm256_fmadd_ps, hsum256, 4, 2)

static T256 void pack_b256(size_t kc, size_t nc, const float *B, size_t ldb, int trans, float *dst) {
    for (size_t j0 = 0; j0 < nc; j0 += K256_NR, dst += kc * K256_NR) {
        const size_t w = nc - j0 < K256_NR ? nc - j0 : K256_NR;
        if (!trans) {
            const float *src = B + j0;
            if (w == K256_NR) {
                for (size_t k = 0; k < kc; k++, src += ldb) {
                    _mm256_store_ps(dst + k * K256_NR, _mm256_loadu_ps(src));
                    _mm256_store_ps(dst + k * K256_NR + 8, _mm256_loadu_ps(src + 8));
                }
            } else { /* a partial panel (w < 16): masked loads, the lanes past w zero */
                const __m256i m0 = first_lanes8((int)w), m1 = first_lanes8((int)w - 8);
                for (size_t k = 0; k < kc; k++, src += ldb) {
                    _mm256_store_ps(dst + k * K256_NR, _mm256_maskload_ps(src, m0));
                    _mm256_store_ps(dst + k * K256_NR + 8, _mm256_maskload_ps(src + 8, m1));
                }
            }
        } else if (w < K256_NR) {
            cpu_pack_b_generic(kc, w, B + j0 * ldb, ldb, 1, dst, K256_NR);
        } else {
            const float *src = B + j0 * ldb;
            pack_t8(kc, src, ldb, dst, K256_NR);
            pack_t8(kc, src + 8 * ldb, ldb, dst + 8, K256_NR);
        }
    }
}

/* The same for 2 rows: dst[k * W + j] = src[j * ld + k], j < 2. */
static ALWAYS_INLINE T256 void pack_t2(size_t kc, const float *src, size_t ld, float *dst, int W) {
    size_t k = 0;
    for (; k + 4 <= kc; k += 4) {
        const __m128 r0 = _mm_loadu_ps(src + k), r1 = _mm_loadu_ps(src + ld + k);
        const __m128 lo = _mm_unpacklo_ps(r0, r1), hi = _mm_unpackhi_ps(r0, r1); /* k, k+1 | k+2, k+3 */
        _mm_storel_pi((__m64 *)(dst + (k + 0) * W), lo);
        _mm_storeh_pi((__m64 *)(dst + (k + 1) * W), lo);
        _mm_storel_pi((__m64 *)(dst + (k + 2) * W), hi);
        _mm_storeh_pi((__m64 *)(dst + (k + 3) * W), hi);
    }
    for (; k < kc; k++) {
        dst[k * W] = src[k];
        dst[k * W + 1] = src[ld + k];
    }
}

/* op(A) panels of 6 rows; trans: op(A)[i][k] = A[k * lda + i]. Rows past h are zero. */
static T256 void pack_a256(size_t mc, size_t kc, const float *A, size_t lda, int trans, float *dst) {
    const __m256i m6 = first_lanes8(K256_MR);
    for (size_t i0 = 0; i0 < mc; i0 += K256_MR, dst += kc * K256_MR) {
        const size_t h = mc - i0 < K256_MR ? mc - i0 : K256_MR;
        if (trans) { /* 6 floats per k, lanes past h loaded as 0; the stores write lanes 0..5 */
            const __m256i mh = first_lanes8((int)h);
            const float *src = A + i0;
            for (size_t k = 0; k < kc; k++, src += lda)
                _mm256_maskstore_ps(dst + k * K256_MR, m6, _mm256_maskload_ps(src, mh));
        } else if (h >= 4) { /* rows 0-3 and 4-5 through the register transposes */
            const float *src = A + i0 * lda;
            pack_t4(kc, src, lda, dst, K256_MR);
            if (h == K256_MR) {
                pack_t2(kc, src + 4 * lda, lda, dst + 4, K256_MR);
            } else {
                for (size_t k = 0; k < kc; k++) {
                    float *d = dst + k * K256_MR;
                    for (size_t i = 4; i < h; i++) d[i] = src[i * lda + k];
                    for (size_t i = h; i < K256_MR; i++) d[i] = 0.0f;
                }
            }
        } else {
            cpu_pack_a_generic(h, kc, A + i0 * lda, lda, 0, dst, K256_MR);
        }
    }
}

const cpu_gemm_kernel cpu_gemm_avx2 = {
    .name = "avx2",
    .mr = K256_MR,
    .nr = K256_NR,
    .mc = 72,
    .kc = 256,
    .kc_whole = K256_KC_WHOLE,
    .nc = 2048,
    .ukernel = k256,
    .ukernel_direct = k256_direct,
    .ukernel_a = k256_in_place_a,
    .dot_nt = dot_nt256,
    .dot_nt_max_m = 16,
    .rank1_row = rank1_row256,
    .pack_a = pack_a256,
    .pack_b = pack_b256,
    .transpose = transpose256,
};

#else
typedef int cpu_gemm_x86_empty; /* other architectures: nothing here (ISO C wants a declaration) */
#endif /* __x86_64__ */
