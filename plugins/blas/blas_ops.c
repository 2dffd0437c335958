/*
 * The `blas` backend's compute ops: GEMM through cblas_sgemm, plus fill, copy, scale and axpy.
 *
 * Every other compute slot of the ops table is NULL. The devices are host-addressable, so for those the
 * host waits for the queue (sync) and runs its reference kernel on the memory host_ptr returns. That is
 * how a backend can start with one fast op and grow: each slot filled must meet the contract in
 * recur/backend.h exactly, and `recur-conform` checks it against the reference.
 *
 * The queue is synchronous: each op has finished when it returns (OpenBLAS may use its own threads
 * inside a call, but joins them before returning).
 */
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <cblas.h>

#include "blas_internal.h"

#ifdef RECUR_BLAS_OPENBLAS
/* OpenBLAS extras (also declared by OpenBLAS's cblas.h; repeated for other headers of the same library). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_config(void);
char *openblas_get_corename(void);
#endif

static int missing(const char *op, const char *arg) {
    return blas_svc->set_error(RECUR_E_INVALID, "blas: %s: argument %s has no buffer", op, arg);
}

/* ---- fill, copy, scale, axpy ----------------------------------------------------------------------- */

int blas_fill(void *dev, size_t n, float value, recur_ptr y) {
    if (n == 0) return RECUR_OK;
    float *py = blas_at(y);
    if (!py) return missing("fill", "y");
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    if (bits == 0) {
        memset(py, 0, n * sizeof(float)); /* +0.0f: also the int32 clear the contract promises */
        return RECUR_OK;
    }
    for (size_t i = 0; i < n; i++) py[i] = value;
    return RECUR_OK;
}

int blas_copy(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, recur_ptr y, size_t ldy) {
    if (rows == 0 || cols == 0) return RECUR_OK;
    const float *px = blas_at(x);
    float *py = blas_at(y);
    if (!px) return missing("copy", "x");
    if (!py) return missing("copy", "y");
    if (px == py) {
        if (ldx == ldy || rows == 1) return RECUR_OK; /* in place: nothing moves */
        return blas_svc->set_error(RECUR_E_INVALID, "blas: copy in place needs ldx == ldy (got ldx %zu, ldy %zu)",
                                   ldx, ldy);
    }
    /* memcpy copies bits, so int32 data passes unchanged (cblas_scopy would too, but says float). */
    if (rows == 1 || (ldx == cols && ldy == cols)) {
        memcpy(py, px, rows * cols * sizeof(float));
        return RECUR_OK;
    }
    for (size_t r = 0; r < rows; r++) memcpy(py + r * ldy, px + r * ldx, cols * sizeof(float));
    return RECUR_OK;
}

/* BLAS counts are int: long vectors go in chunks. */
#define CHUNK ((size_t)1 << 30)

int blas_scale(void *dev, size_t n, float alpha, recur_ptr y) {
    if (n == 0 || alpha == 1.0f) return RECUR_OK;
    float *py = blas_at(y);
    if (!py) return missing("scale", "y");
    if (alpha == 0.0f) {
        /* Some BLAS versions store 0 for alpha == 0 even where y is NaN or infinite; the contract is
         * y = alpha * y, which keeps NaN, so multiply here. */
        for (size_t i = 0; i < n; i++) py[i] *= alpha;
        return RECUR_OK;
    }
    for (size_t i = 0; i < n; i += CHUNK) {
        size_t m = n - i < CHUNK ? n - i : CHUNK;
        cblas_sscal((int)m, alpha, py + i, 1);
    }
    return RECUR_OK;
}

int blas_axpy(void *dev, size_t n, float alpha, recur_ptr x, recur_ptr y) {
    if (n == 0) return RECUR_OK;
    const float *px = blas_at(x);
    float *py = blas_at(y);
    if (!px) return missing("axpy", "x");
    if (!py) return missing("axpy", "y");
    if (alpha == 0.0f || px == py) {
        /* BLAS returns at once for alpha == 0 (the contract still adds 0 * x, so NaN in x shows), and
         * saxpy's arguments must not alias (the contract allows x == y). A plain loop does both. */
        for (size_t i = 0; i < n; i++) py[i] += alpha * px[i];
        return RECUR_OK;
    }
    for (size_t i = 0; i < n; i += CHUNK) {
        size_t m = n - i < CHUNK ? n - i : CHUNK;
        cblas_saxpy((int)m, alpha, px + i, 1, py + i, 1);
    }
    return RECUR_OK;
}

/* ---- gemm ------------------------------------------------------------------------------------------- */

/* C = beta * C for an M x N block; beta == 0 stores zeros without reading C (NaN in C disappears). */
static void scale_block(size_t M, size_t N, float beta, float *c, size_t ldc) {
    if (beta == 1.0f) return;
    for (size_t r = 0; r < M; r++) {
        float *row = c + r * ldc;
        if (beta == 0.0f)
            memset(row, 0, N * sizeof(float));
        else
            for (size_t j = 0; j < N; j++) row[j] *= beta;
    }
}

/* The leading dimension cblas accepts for a rows x cols row-major matrix stored with `ld`, or 0 when
 * cblas cannot express it. cblas wants ld >= max(1, cols); with a single row ld is never used, so any
 * value given is fine and we pass the smallest legal one. */
static size_t cblas_ld(size_t rows, size_t cols, size_t ld) {
    size_t need = cols ? cols : 1;
    if (ld >= need) return ld;
    return rows <= 1 ? need : 0;
}

/* One product by plain loops, for the shapes cblas cannot take (dimensions beyond int, or a leading
 * dimension below the row length: rows that overlap, which the ABI does not forbid for inputs). */
static void gemm_loops(int ta, int tb, size_t M, size_t N, size_t K, float alpha, const float *a, size_t lda,
                       const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            float s = 0.0f;
            for (size_t k = 0; k < K; k++)
                s += (ta ? a[k * lda + i] : a[i * lda + k]) * (tb ? b[j * ldb + k] : b[k * ldb + j]);
            float *cij = c + i * ldc + j;
            *cij = beta == 0.0f ? alpha * s : alpha * s + beta * *cij;
        }
}

int blas_gemm(void *dev, int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha, recur_ptr A,
              size_t lda, size_t stride_a, recur_ptr B, size_t ldb, size_t stride_b, float beta, recur_ptr C,
              size_t ldc, size_t stride_c, size_t batch) {
    if (M == 0 || N == 0 || batch == 0) return RECUR_OK;
    float *c = blas_at(C);
    if (!c) return missing("gemm", "C");
    if (K == 0) { /* an empty sum: C = beta * C, and A, B are never touched */
        for (size_t k = 0; k < batch; k++) scale_block(M, N, beta, c + k * stride_c, ldc);
        return RECUR_OK;
    }
    const float *a = blas_at(A), *b = blas_at(B);
    if (!a) return missing("gemm", "A");
    if (!b) return missing("gemm", "B");

    size_t la = cblas_ld(trans_a ? K : M, trans_a ? M : K, lda);
    size_t lb = cblas_ld(trans_b ? N : K, trans_b ? K : N, ldb);
    size_t lc = cblas_ld(M, N, ldc);
    int use_blas = la && lb && lc && M <= INT_MAX && N <= INT_MAX && K <= INT_MAX && la <= INT_MAX &&
                   lb <= INT_MAX && lc <= INT_MAX;
    if (!use_blas)
        blas_svc->log(RECUR_LOG_DEBUG, "blas: gemm %zux%zux%zu (lda %zu, ldb %zu, ldc %zu) runs on plain loops",
                      M, N, K, lda, ldb, ldc);
    for (size_t k = 0; k < batch; k++) {
        const float *ak = a + k * stride_a, *bk = b + k * stride_b;
        float *ck = c + k * stride_c;
        if (use_blas)
            /* The BLAS standard: "when beta is zero, C need not be set on input" — reference BLAS and
             * OpenBLAS store alpha*op(A)op(B) without reading C, which is the contract here
             * (tests/test_blas.c checks it with NaN in C). */
            cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                        (int)M, (int)N, (int)K, alpha, ak, (int)la, bk, (int)lb, beta, ck, (int)lc);
        else
            gemm_loops(trans_a, trans_b, M, N, K, alpha, ak, lda, bk, ldb, beta, ck, ldc);
    }
    return RECUR_OK;
}

/* ---- the BLAS library itself -------------------------------------------------------------------------- */

int blas_threads_available(void) {
#ifdef RECUR_BLAS_OPENBLAS
    return 1;
#else
    return 0;
#endif
}

int blas_get_threads(void) {
#ifdef RECUR_BLAS_OPENBLAS
    return openblas_get_num_threads();
#else
    return 0;
#endif
}

void blas_set_threads(int n) {
#ifdef RECUR_BLAS_OPENBLAS
    openblas_set_num_threads(n);
#else
    (void)n;
#endif
}

const char *blas_library_info(void) {
#ifdef RECUR_BLAS_OPENBLAS
    const char *cfg = openblas_get_config();
    return cfg ? cfg : "OpenBLAS";
#else
    return "CBLAS";
#endif
}

void blas_library_short(char *out, size_t size) {
#ifdef RECUR_BLAS_OPENBLAS
    /* "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ... MAX_THREADS=64" -> "OpenBLAS 0.3.21, Cooperlake kernels" */
    const char *cfg = openblas_get_config(), *core = openblas_get_corename();
    int words = 0;
    size_t len = 0;
    while (cfg && cfg[len] && !(cfg[len] == ' ' && ++words == 2)) len++;
    snprintf(out, size, "%.*s%s%s%s", (int)len, cfg ? cfg : "OpenBLAS", core ? ", " : "", core ? core : "",
             core ? " kernels" : "");
#else
    snprintf(out, size, "CBLAS");
#endif
}
