/* Conformance: strided-batched gemm, every case under the four transpose combinations. */
#include <math.h>

#include "conform_util.h"

typedef struct {
    size_t M, N, K, batch;
    size_t pad_a, pad_b, pad_c; /* leading dimension = width + pad */
    size_t gap;                 /* extra elements between batch items (strides larger than needed) */
    int bcast_a, bcast_b;       /* stride 0: the same A (B) for every batch item */
    float alpha, beta;          /* beta == 0: C is pre-filled with NaN, which must not propagate */
    size_t off;
} gemm_case;

static const gemm_case gemm_cases[] = {
    {.M = 0, .N = 0, .K = 0, .batch = 1, .alpha = 1, .beta = 0},
    {.M = 1, .N = 1, .K = 1, .batch = 1, .alpha = 1, .beta = 0},
    {.M = 1, .N = 1, .K = 1, .batch = 1, .alpha = -2, .beta = 1, .off = 3},
    {.M = 3, .N = 17, .K = 67, .batch = 1, .alpha = 1, .beta = 0},
    {.M = 17, .N = 3, .K = 5, .batch = 1, .pad_a = 2, .pad_b = 3, .pad_c = 4, .alpha = -0.5f, .beta = 1, .off = 3},
    {.M = 67, .N = 5, .K = 17, .batch = 1, .pad_a = 1, .pad_b = 7, .pad_c = 2, .alpha = 2, .beta = -0.75f, .off = 1},
    {.M = 0, .N = 5, .K = 3, .batch = 1, .pad_c = 1, .alpha = 1, .beta = 0},
    {.M = 4, .N = 0, .K = 3, .batch = 1, .pad_a = 1, .alpha = 1, .beta = 0},
    {.M = 4, .N = 5, .K = 0, .batch = 1, .pad_c = 2, .alpha = 1, .beta = 0.5f, .off = 2},
    {.M = 4, .N = 5, .K = 0, .batch = 1, .pad_c = 2, .alpha = 1, .beta = 0},
    {.M = 5, .N = 7, .K = 9, .batch = 3, .gap = 5, .alpha = 1, .beta = 0, .off = 1},
    {.M = 3, .N = 17, .K = 67, .batch = 2, .pad_a = 3, .pad_b = 1, .pad_c = 5, .gap = 2, .alpha = 0.75f,
     .beta = 1},
    {.M = 6, .N = 4, .K = 5, .batch = 4, .pad_c = 1, .gap = 3, .bcast_b = 1, .alpha = 1, .beta = 0.5f, .off = 2},
    {.M = 7, .N = 3, .K = 2, .batch = 3, .pad_a = 2, .bcast_a = 1, .alpha = -1, .beta = 0},
    {.M = 3, .N = 3, .K = 3, .batch = 0, .alpha = 1, .beta = 0},
    {.M = 1, .N = 67, .K = 17, .batch = 1, .pad_b = 2, .alpha = 1, .beta = 0},
    {.M = 67, .N = 1, .K = 17, .batch = 1, .pad_a = 2, .pad_c = 3, .alpha = 1, .beta = 1, .off = 5},
    {.M = 33, .N = 65, .K = 129, .batch = 1, .alpha = 1, .beta = 0},
    {.M = 64, .N = 64, .K = 64, .batch = 1, .alpha = 1, .beta = 1},
    {.M = 130, .N = 70, .K = 3, .batch = 2, .pad_a = 1, .pad_b = 1, .pad_c = 1, .alpha = 0.5f, .beta = 0,
     .off = 1},
    /* past the blocking of tuned kernels (K panels of 256, N panels of 1024) and threading thresholds */
    {.M = 257, .N = 1030, .K = 520, .batch = 1, .pad_a = 1, .pad_c = 3, .alpha = 1, .beta = 0, .off = 1},
    {.M = 130, .N = 260, .K = 300, .batch = 2, .gap = 1, .alpha = -1, .beta = 1},
    /* the recurrent step's shape: few rows, many column panels (a backend that splits the columns over
     * threads in pieces of changing size must still cover each once) */
    {.M = 64, .N = 1030, .K = 100, .batch = 1, .pad_b = 1, .pad_c = 2, .alpha = 1, .beta = 1, .off = 1},
    /* K = 1, outer products (the attention backward's): batched with gaps, and B broadcast */
    {.M = 150, .N = 37, .K = 1, .batch = 3, .pad_a = 2, .pad_b = 3, .pad_c = 1, .gap = 2, .alpha = 0.5f, .beta = 1, .off = 1},
    {.M = 20, .N = 64, .K = 1, .batch = 4, .pad_c = 2, .bcast_b = 1, .alpha = 1, .beta = 0},
};

static size_t ld_for(size_t width, size_t pad) { return width + pad ? width + pad : 1; }

static void test_gemm(void) {
    ct_op_begin("gemm");
    for (size_t i = 0; i < sizeof gemm_cases / sizeof gemm_cases[0]; i++) {
        const gemm_case *k = &gemm_cases[i];
        for (int tr = 0; tr < 4; tr++) {
            int ta = tr >> 1, tb = tr & 1;
            /* Stored shapes: A is M x K (K x M when trans_a), B is K x N (N x K when trans_b). */
            size_t a_rows = ta ? k->K : k->M, a_cols = ta ? k->M : k->K;
            size_t b_rows = tb ? k->N : k->K, b_cols = tb ? k->K : k->N;
            size_t lda = ld_for(a_cols, k->pad_a), ldb = ld_for(b_cols, k->pad_b), ldc = ld_for(k->N, k->pad_c);
            size_t sa = k->bcast_a ? 0 : a_rows * lda + k->gap;
            size_t sb = k->bcast_b ? 0 : b_rows * ldb + k->gap;
            size_t sc = k->M * ldc + k->gap;
            ct_case *c = ct_case_begin("%c%c M=%zu N=%zu K=%zu batch=%zu lda=%zu ldb=%zu ldc=%zu strides=%zu/%zu/%zu "
                                       "alpha=%g beta=%g off=%zu",
                                       ta ? 'T' : 'N', tb ? 'T' : 'N', k->M, k->N, k->K, k->batch, lda, ldb, ldc, sa,
                                       sb, sc, (double)k->alpha, (double)k->beta, k->off);
            ct_case_offset(c, k->off);
            ct_tensor *A = ct_tensor_new(c, "A", CT_IN, a_rows, a_cols, lda, k->batch, sa);
            ct_tensor *B = ct_tensor_new(c, "B", CT_IN, b_rows, b_cols, ldb, k->batch, sb);
            ct_tensor *C = ct_tensor_new(c, "C", CT_OUT, k->M, k->N, ldc, k->batch, sc);
            ct_rand(A, -1, 1);
            ct_rand(B, -1, 1);
            if (k->beta == 0 && k->batch)
                ct_const(C, NAN);
            else
                ct_rand(C, -1, 1);
            double S = fabs(k->alpha) * (double)k->K * ct_amax(A) * ct_amax(B);
            if (k->beta != 0) S += fabs(k->beta) * ct_amax(C);
            ct_tol(C, c->op->rtol, S);
            CT_RUN(c, recur_op_gemm(CT_D, ta, tb, k->M, k->N, k->K, k->alpha, CT_P(A), lda, sa, CT_P(B), ldb, sb,
                                    k->beta, CT_P(C), ldc, sc, k->batch));
            ct_case_end(c);
        }
    }
}

CU_TestInfo ct_gemm_tests[] = {
    {.pName = "gemm", .pTestFunc = test_gemm},
    CU_TEST_INFO_NULL,
};
