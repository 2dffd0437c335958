/*
 * The vectorised pointwise kernels (cpu_simd.h) for x86-64: the template cpu_simd_tmpl.h instantiated for
 * AVX-512 (16 lanes, k-register masks for the tails) and AVX2+FMA (8 lanes, vmaskmov tails). Each function
 * carries its target attribute, so this file builds with the default -march and runs only where
 * cpu_isa_detect said so. On other architectures cpu_simd_for returns NULL and the ref kernels run.
 */
#include "cpu_simd.h"

#include <math.h>

#include "cpu_gemm.h" /* enum cpu_isa */
#include "recur/backend.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* ---- dropout with a 16-lane Philox4x32-10 (AVX-512) ---- */

#define T512 __attribute__((target("avx512f,avx2,fma")))

/* High 32 bits of a * b per 32-bit lane (b: the same constant in every lane). */
static inline __attribute__((always_inline)) T512 __m512i mulhi32(__m512i a, __m512i b) {
    const __m512i even = _mm512_mul_epu32(a, b);
    const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), b);
    return _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

/* Elements [i, i + 64) with (counter + i) % 4 == 0: blocks q0 .. q0 + 15, q0 = (counter + i) / 4, whose low
 * words do not wrap. */
static inline __attribute__((always_inline)) T512 void dropout64(uint64_t q0, uint64_t seed, __m512 pv, __m512 scale,
                                                               const float *x, float *y) {
    const __m512i m0 = _mm512_set1_epi32((int)0xD2511F53u), m1 = _mm512_set1_epi32((int)0xCD9E8D57u);
    __m512i c0 = _mm512_add_epi32(_mm512_set1_epi32((int)(uint32_t)q0),
                                  _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    __m512i c1 = _mm512_set1_epi32((int)(uint32_t)(q0 >> 32)), c2 = _mm512_setzero_si512(), c3 = c2;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        const __m512i hi0 = mulhi32(c0, m0), lo0 = _mm512_mullo_epi32(c0, m0);
        const __m512i hi1 = mulhi32(c2, m1), lo1 = _mm512_mullo_epi32(c2, m1);
        c0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1), _mm512_set1_epi32((int)k0));
        c1 = lo1;
        c2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3), _mm512_set1_epi32((int)k1));
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    /* (c0..c3 of blocks 0..15) -> element order: words of block b at 4b .. 4b+3 */
    const __m512i t0 = _mm512_unpacklo_epi32(c0, c1), t1 = _mm512_unpackhi_epi32(c0, c1);
    const __m512i t2 = _mm512_unpacklo_epi32(c2, c3), t3 = _mm512_unpackhi_epi32(c2, c3);
    const __m512i u0 = _mm512_unpacklo_epi64(t0, t2), u1 = _mm512_unpackhi_epi64(t0, t2); /* blocks 4L, 4L+1 */
    const __m512i u2 = _mm512_unpacklo_epi64(t1, t3), u3 = _mm512_unpackhi_epi64(t1, t3); /* blocks 4L+2, 4L+3 */
    const __m512i v0 = _mm512_shuffle_i32x4(u0, u1, 0x44), v1 = _mm512_shuffle_i32x4(u2, u3, 0x44);
    const __m512i v2 = _mm512_shuffle_i32x4(u0, u1, 0xEE), v3 = _mm512_shuffle_i32x4(u2, u3, 0xEE);
    __m512i w[4];
    w[0] = _mm512_shuffle_i32x4(v0, v1, 0x88); /* blocks 0..3 */
    w[1] = _mm512_shuffle_i32x4(v0, v1, 0xDD); /* 4..7 */
    w[2] = _mm512_shuffle_i32x4(v2, v3, 0x88); /* 8..11 */
    w[3] = _mm512_shuffle_i32x4(v2, v3, 0xDD); /* 12..15 */
    const __m512 inv24 = _mm512_set1_ps(1.0f / 16777216.0f);
    for (int q = 0; q < 4; q++) {
        const __m512 u = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(w[q], 8)), inv24);
        const __mmask16 keep = _mm512_cmp_ps_mask(u, pv, _CMP_GE_OQ);
        _mm512_storeu_ps(y + 16 * q, _mm512_maskz_mul_ps(keep, _mm512_loadu_ps(x + 16 * q), scale));
    }
}

static T512 void dropout_avx512(size_t lo, size_t hi, float p, uint64_t seed, uint64_t counter, const float *x,
                                float *y) {
    size_t i = lo;
    const size_t head = (size_t)((4 - ((counter + i) & 3)) & 3);
    if (head) {
        const size_t e = hi - i < head ? hi : i + head;
        cpu_dropout_generic(i, e, p, seed, counter, x, y);
        i = e;
    }
    const __m512 pv = _mm512_set1_ps(p), scale = _mm512_set1_ps(1.0f / (1.0f - p));
    while (i + 64 <= hi) {
        const uint64_t q0 = (counter + i) >> 2;
        if ((uint32_t)q0 > 0xFFFFFFFFu - 15u) { /* the 16 blocks' low words would wrap: plain C */
            cpu_dropout_generic(i, i + 64, p, seed, counter, x, y);
        } else {
            dropout64(q0, seed, pv, scale, x + i, y + i);
        }
        i += 64;
    }
    if (i < hi) cpu_dropout_generic(i, hi, p, seed, counter, x, y);
}

/* ---- AVX-512 ---- */
#define S_TGT __attribute__((target("avx512f,avx2,fma")))
#define S_FN(name) name##_avx512
#define S_NAME "avx512"
#define S_DROPOUT dropout_avx512
#define S_V __m512
#define S_VL 16
#define S_M __mmask16
#define S_MASK(n) ((__mmask16)((n) >= 16 ? 0xffffu : (1u << (n)) - 1u))
#define S_LD(p) _mm512_loadu_ps(p)
#define S_ST(p, v) _mm512_storeu_ps((p), (v))
#define S_LDM(p, m) _mm512_maskz_loadu_ps((m), (p))
#define S_STM(p, m, v) _mm512_mask_storeu_ps((p), (m), (v))
#define S_SET1(x) _mm512_set1_ps(x)
#define S_ADD _mm512_add_ps
#define S_SUB _mm512_sub_ps
#define S_MUL _mm512_mul_ps
#define S_DIV _mm512_div_ps
#define S_SQRT _mm512_sqrt_ps
#define S_FMA _mm512_fmadd_ps
#define S_FNMA _mm512_fnmadd_ps
#define S_MIN _mm512_min_ps
#define S_MAX _mm512_max_ps
#define S_I(x) _mm512_castps_si512(x)
#define S_AND(a, b) _mm512_castsi512_ps(_mm512_and_si512(S_I(a), S_I(b)))
#define S_XOR(a, b) _mm512_castsi512_ps(_mm512_xor_si512(S_I(a), S_I(b)))
#define S_ANDNOT(a, b) _mm512_castsi512_ps(_mm512_andnot_si512(S_I(a), S_I(b)))
#define S_ROUND(x) _mm512_roundscale_ps((x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define S_POW2(n) \
    _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23))
#define S_SEL_LT(a, b, t, f) _mm512_mask_blend_ps(_mm512_cmp_ps_mask((a), (b), _CMP_LT_OQ), (f), (t))
#define S_SCALEF(p, n) _mm512_scalef_ps((p), (n))

#include "cpu_simd_tmpl.h"

#undef S_TGT
#undef S_FN
#undef S_NAME
#undef S_DROPOUT
#undef S_V
#undef S_VL
#undef S_M
#undef S_MASK
#undef S_LD
#undef S_ST
#undef S_LDM
#undef S_STM
#undef S_SET1
#undef S_ADD
#undef S_SUB
#undef S_MUL
#undef S_DIV
#undef S_SQRT
#undef S_SCALEF
#undef S_FMA
#undef S_FNMA
#undef S_MIN
#undef S_MAX
#undef S_I
#undef S_AND
#undef S_XOR
#undef S_ANDNOT
#undef S_ROUND
#undef S_POW2
#undef S_SEL_LT

/* ---- AVX2 + FMA ---- */
#define S_TGT __attribute__((target("avx2,fma")))
#define S_FN(name) name##_avx2
#define S_NAME "avx2"
#define S_DROPOUT NULL
#define S_V __m256
#define S_VL 8
#define S_M __m256i
#define S_MASK(n) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define S_LD(p) _mm256_loadu_ps(p)
#define S_ST(p, v) _mm256_storeu_ps((p), (v))
#define S_LDM(p, m) _mm256_maskload_ps((p), (m))
#define S_STM(p, m, v) _mm256_maskstore_ps((p), (m), (v))
#define S_SET1(x) _mm256_set1_ps(x)
#define S_ADD _mm256_add_ps
#define S_SUB _mm256_sub_ps
#define S_MUL _mm256_mul_ps
#define S_DIV _mm256_div_ps
#define S_SQRT _mm256_sqrt_ps
#define S_FMA _mm256_fmadd_ps
#define S_FNMA _mm256_fnmadd_ps
#define S_MIN _mm256_min_ps
#define S_MAX _mm256_max_ps
#define S_AND _mm256_and_ps
#define S_XOR _mm256_xor_ps
#define S_ANDNOT _mm256_andnot_ps
#define S_ROUND(x) _mm256_round_ps((x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define S_POW2(n) \
    _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23))
#define S_SEL_LT(a, b, t, f) _mm256_blendv_ps((f), (t), _mm256_cmp_ps((a), (b), _CMP_LT_OQ))

#include "cpu_simd_tmpl.h"

const cpu_simd_kernels *cpu_simd_for(int isa) {
    if (isa == CPU_ISA_AVX512) return &kernels_avx512;
    if (isa == CPU_ISA_AVX2) return &kernels_avx2;
    return NULL;
}

#else

const cpu_simd_kernels *cpu_simd_for(int isa) {
    (void)isa;
    return NULL;
}

#endif

int cpu_simd_act_fwd(int isa, int act, size_t n, const float *x, float *y) {
    const cpu_simd_kernels *k = cpu_simd_for(isa);
    if (!k) return 0;
    if (act == RECUR_ACT_SIGMOID) k->sigmoid(n, x, y);
    else if (act == RECUR_ACT_TANH) k->tanh(n, x, y);
    else return 0;
    return 1;
}
