/* Strided-batched SGEMM, row-major: C_k = alpha op(A_k) op(B_k) + beta C_k, accumulated in double. */
#include "ref_kernels.h"

void recur_k_gemm(int ta, int tb, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda, size_t sa,
                  const float *B, size_t ldb, size_t sb, float beta, float *C, size_t ldc, size_t sc, size_t batch,
                  int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(M, ith, nth, &lo, &hi);
    for (size_t k = 0; k < batch; k++) {
        const float *a = A + k * sa, *b = B + k * sb;
        float *c = C + k * sc;
        for (size_t i = lo; i < hi; i++)
            for (size_t j = 0; j < N; j++) {
                double acc = 0.0;
                for (size_t p = 0; p < K; p++) {
                    double av = ta ? a[p * lda + i] : a[i * lda + p];
                    double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
                    acc += av * bv;
                }
                float v = (float)((double)alpha * acc);
                c[i * ldc + j] = beta == 0.0f ? v : (float)((double)alpha * acc + (double)beta * c[i * ldc + j]);
            }
    }
}
