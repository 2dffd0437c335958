/* Strided-batched SGEMM, row-major, the oracle version: a plain triple loop with a double accumulator.
 *   C_k[i, j] = alpha * sum_{p < K} op(A_k)[i, p] op(B_k)[p, j] + beta * C_k[i, j],   X_k = X + k * stride_X
 *   op(A)[i, p] = trans_a ? A[p, i] : A[i, p],   op(B)[p, j] = trans_b ? B[j, p] : B[p, j]
 * The sum runs in increasing p; alpha * acc + beta * c is formed in double and rounded once.
 * beta == 0 overwrites C without reading it (a NaN already in C does not propagate). */
#include "ref_kernels.h"

void recur_k_gemm(int ta, int tb, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda, size_t sa,
                  const float *B, size_t ldb, size_t sb, float beta, float *C, size_t ldc, size_t sc, size_t batch,
                  int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(M, ith, nth, &lo, &hi);
    if (lo == hi || N == 0) return; /* nothing to write; A, B, C may then be NULL */
    for (size_t k = 0; k < batch; k++) {
        float *c = C + k * sc;
        for (size_t i = lo; i < hi; i++)
            for (size_t j = 0; j < N; j++) {
                double acc = 0.0; /* K == 0: A and B are never read */
                for (size_t p = 0; p < K; p++) {
                    double av = ta ? A[k * sa + p * lda + i] : A[k * sa + i * lda + p];
                    double bv = tb ? B[k * sb + j * ldb + p] : B[k * sb + p * ldb + j];
                    acc += av * bv;
                }
                double v = (double)alpha * acc;
                if (beta != 0.0f) v += (double)beta * c[i * ldc + j];
                c[i * ldc + j] = (float)v;
            }
    }
}
