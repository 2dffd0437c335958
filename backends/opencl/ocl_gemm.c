/*
 * SGEMM of the opencl backend: CLBlast (row-major, strided-batched) on GPUs and accelerators, our own
 * register-tiled kernel (kernels/gemm.cl) on CPU devices, where CLBlast's generic parameters are slow.
 * The choice is per device (ocl_gemm_choose), overridable with RECUR_OPENCL_GEMM=clblast|own or the
 * device option "gemm".
 *
 * Contract (recur/backend.h): M, N or batch == 0 does nothing; K == 0 gives C = beta * C; beta == 0
 * overwrites C without reading it, so NaN or garbage in C never leaks into the result.
 */
#include <string.h>

#include "ocl_internal.h" /* first: it fixes CL_TARGET_OPENCL_VERSION before any OpenCL header */

#include <clblast_c.h>

void ocl_gemm_choose(ocl_dev *d) {
    const char *env = ocl_svc && ocl_svc->getenv ? ocl_svc->getenv("RECUR_OPENCL_GEMM") : NULL;
    if (env && !strcmp(env, "clblast")) d->gemm_impl = OCL_GEMM_CLBLAST;
    else if (env && !strcmp(env, "own")) d->gemm_impl = OCL_GEMM_OWN;
    else {
        if (env && *env && strcmp(env, "auto"))
            OCL_LOG(RECUR_LOG_WARN, "opencl: RECUR_OPENCL_GEMM=%s ignored (clblast, own or auto)", env);
        d->gemm_impl = d->is_cpu ? OCL_GEMM_OWN : OCL_GEMM_CLBLAST;
    }
}

/* C_k = beta * C_k over M x N (beta == 0: zeros), for K == 0. */
static int gemm_beta(ocl_dev *d, size_t M, size_t N, float beta, recur_ptr C, size_t ldc, size_t stride_c,
                     size_t batch) {
    return ocl_run_rows(d, K_GEMM_BETA, M * batch, N, "gemm",
                        OCL_ARGS(ARG_U64(M), ARG_U64(N), ARG_U64(batch), ARG_F32(beta), ARG_PTR(C), ARG_U64(ldc),
                                 ARG_U64(stride_c)));
}

static int clblast_fail(CLBlastStatusCode s, const char *call, int ta, int tb, size_t M, size_t N, size_t K,
                        size_t lda, size_t ldb, size_t ldc, size_t batch) {
    return ocl_error(RECUR_E_CLBLAST, "opencl: gemm (trans_a %d, trans_b %d, M %zu, N %zu, K %zu, lda %zu, ldb %zu, "
                     "ldc %zu, batch %zu): %s failed: %s (%d)", ta, tb, M, N, K, lda, ldb, ldc, batch, call,
                     ocl_clblast_name(s), (int)s);
}

static int clblast_gemm(ocl_dev *d, int ta, int tb, size_t M, size_t N, size_t K, float alpha, recur_ptr A,
                        size_t lda, size_t stride_a, recur_ptr B, size_t ldb, size_t stride_b, float beta,
                        recur_ptr C, size_t ldc, size_t stride_c, size_t batch) {
    /* beta == 0: CLBlast (1.5.3, checked on every path: direct, indirect with padding, strided-batched)
     * writes alpha * AB without reading C, so NaN in C does not survive and no clearing pass is needed. */
    const CLBlastTranspose cta = ta ? CLBlastTransposeYes : CLBlastTransposeNo;
    const CLBlastTranspose ctb = tb ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastStatusCode s;
    if (batch == 1) {
        s = CLBlastSgemm(CLBlastLayoutRowMajor, cta, ctb, M, N, K, alpha, A.buf->mem, A.off, lda, B.buf->mem, B.off,
                         ldb, beta, C.buf->mem, C.off, ldc, &d->queue, NULL);
        if (s != CLBlastSuccess) return clblast_fail(s, "CLBlastSgemm", ta, tb, M, N, K, lda, ldb, ldc, batch);
    } else {
        s = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, cta, ctb, M, N, K, alpha, A.buf->mem, A.off, lda,
                                       stride_a, B.buf->mem, B.off, ldb, stride_b, beta, C.buf->mem, C.off, ldc,
                                       stride_c, batch, &d->queue, NULL);
        if (s != CLBlastSuccess)
            return clblast_fail(s, "CLBlastSgemmStridedBatched", ta, tb, M, N, K, lda, ldb, ldc, batch);
    }
    return RECUR_OK;
}

/* Tile of C per work-item in kernels/gemm.cl: TM x 32 (outer-product kernels), 4 x 4 (NT). */
#define OWN_TM 8
/* With trans_b and at least this many rows of C, B^T is packed once and the outer-product kernels run
 * (fastest for big products); below it the NT / transposed-store kernels skip the packing pass. */
#define OWN_PACK_MIN_M 1024

/* B_k (N x K, ld ldb) -> the device's packing panel as K x N (ld N), for every k < batch. */
static int pack_bt(ocl_dev *d, size_t N, size_t K, recur_ptr B, size_t ldb, size_t stride_b, size_t batch) {
    const size_t need = batch * K * N * 4;
    if (!d->gemm_tmp || d->gemm_tmp_bytes < need) {
        cl_int e;
        cl_mem m = clCreateBuffer(d->ctx, CL_MEM_READ_WRITE, need, NULL, &e);
        if (!m) return ocl_cl_fail("gemm (packing B)", "clCreateBuffer", e);
        if (d->gemm_tmp) clReleaseMemObject(d->gemm_tmp); /* freed by OpenCL once pending kernels are done */
        d->gemm_tmp = m;
        d->gemm_tmp_bytes = need;
    }
    ocl_args a = ocl_args_with(d, K_TRANSPOSE, OCL_ARGS(ARG_U64(N), ARG_U64(K), ARG_PTR(B), ARG_U64(ldb),
                                                        ARG_U64(stride_b), ARG_MEM(d->gemm_tmp), ARG_U64(0),
                                                        ARG_U64(N), ARG_U64(K * N)));
    return ocl_launch_transpose(&a, N, K, batch, "gemm (packing B)");
}

static int own_gemm(ocl_dev *d, int ta, int tb, size_t M, size_t N, size_t K, float alpha, recur_ptr A,
                    size_t lda, size_t stride_a, recur_ptr B, size_t ldb, size_t stride_b, float beta, recur_ptr C,
                    size_t ldc, size_t stride_c, size_t batch) {
    int st = ocl_ensure_gemm_program(d);
    if (st) return st;
    int kid;
    size_t rows = M, cols = N;             /* of the product the kernel computes */
    recur_ptr L = A, R = B;
    size_t ldl = lda, sl = stride_a, ldr = ldb, sr = stride_b;
    recur_buf panel;
    if (tb && M >= OWN_PACK_MIN_M) {
        if ((st = pack_bt(d, N, K, B, ldb, stride_b, batch))) return st;
        panel.mem = d->gemm_tmp;
        panel.bytes = d->gemm_tmp_bytes;
        R = (recur_ptr){&panel, 0};
        ldr = N;
        sr = K * N;
        tb = 0;
    }
    if (!tb) {
        kid = ta ? K_GEMM_TN : K_GEMM_NN;
    } else if (!ta) {
        kid = K_GEMM_NT;
    } else {
        /* C^T = B A: B (N x K) is the left operand, A (K x M) the right one. */
        kid = K_GEMM_NN_CT;
        rows = N;
        cols = M;
        L = B;
        R = A;
        ldl = ldb;
        sl = stride_b;
        ldr = lda;
        sr = stride_a;
    }
    ocl_args a = ocl_args_with(d, kid, OCL_ARGS(ARG_U64(rows), ARG_U64(cols), ARG_U64(K), ARG_F32(alpha), ARG_PTR(L),
                                                ARG_U64(ldl), ARG_U64(sl), ARG_PTR(R), ARG_U64(ldr), ARG_U64(sr),
                                                ARG_F32(beta), ARG_PTR(C), ARG_U64(ldc), ARG_U64(stride_c)));
    size_t g[3];
    if (kid == K_GEMM_NT) {
        g[0] = (cols + 3) / 4;
        g[1] = (rows + 3) / 4;
    } else {
        g[0] = (cols + 31) / 32;
        g[1] = (rows + OWN_TM - 1) / OWN_TM;
    }
    g[2] = batch;
    /* A fixed local size (4 x 4 tiles), so that drivers which compile per local size (PoCL) compile one
     * variant, in warmup, rather than one per global size. */
    if (d->lws[kid] < 16 || d->max_item[1] < 4) return ocl_launch_3d(&a, g, NULL, "gemm");
    const size_t local[3] = {4, 4, 1};
    g[0] = (g[0] + 3) / 4 * 4;
    g[1] = (g[1] + 3) / 4 * 4;
    return ocl_launch_3d(&a, g, local, "gemm");
}

int ocl_gemm(void *dev, int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha, recur_ptr A,
             size_t lda, size_t stride_a, recur_ptr B, size_t ldb, size_t stride_b, float beta, recur_ptr C,
             size_t ldc, size_t stride_c, size_t batch) {
    ocl_dev *d = dev;
    if (M == 0 || N == 0 || batch == 0) return RECUR_OK;
    if (!C.buf) return ocl_error(RECUR_E_INVALID, "opencl: gemm: C is NULL");
    if (K == 0) return gemm_beta(d, M, N, beta, C, ldc, stride_c, batch);
    if (!A.buf || !B.buf) return ocl_error(RECUR_E_INVALID, "opencl: gemm: A or B is NULL");
    if (d->gemm_impl == OCL_GEMM_OWN)
        return own_gemm(d, trans_a, trans_b, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C, ldc,
                        stride_c, batch);
    return clblast_gemm(d, trans_a, trans_b, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C, ldc,
                        stride_c, batch);
}

/* Run one small and one large GEMM of each transpose combination (and a batched one), so that CLBlast
 * compiles its direct and indirect kernels, or the driver our own, now rather than inside the first timed
 * step. */
int ocl_gemm_warmup(ocl_dev *d) {
    const size_t big = 256, n = big * big;
    cl_int e;
    cl_mem m[3] = {NULL, NULL, NULL};
    int st = RECUR_OK;
    for (int i = 0; i < 3 && !st; i++) {
        m[i] = clCreateBuffer(d->ctx, CL_MEM_READ_WRITE, n * 4, NULL, &e);
        if (!m[i]) st = ocl_cl_fail("warmup", "clCreateBuffer", e);
    }
    recur_buf bufs[3];
    for (int i = 0; i < 3 && !st; i++) {
        bufs[i].mem = m[i];
        bufs[i].bytes = n * 4;
        const cl_float zero = 0.0f;
        e = clEnqueueFillBuffer(d->queue, m[i], &zero, sizeof zero, 0, n * 4, 0, NULL, NULL);
        if (e != CL_SUCCESS) st = ocl_cl_fail("warmup", "clEnqueueFillBuffer", e);
    }
    /* The implementation in use only: on a CPU device running our own GEMM, compiling CLBlast's kernels
     * would cost tens of seconds for nothing (call warmup again after switching with option "gemm"). */
    const size_t sizes[2] = {8, big};
    for (int s = 0; s < 2 && !st; s++)
        for (int ta = 0; ta < 2 && !st; ta++)
            for (int tb = 0; tb < 2 && !st; tb++) {
                const size_t z = sizes[s];
                recur_ptr A = {&bufs[0], 0}, B = {&bufs[1], 0}, C = {&bufs[2], 0};
                st = ocl_gemm(d, ta, tb, z, z, z, 1.0f, A, z, 0, B, z, 0, 0.0f, C, z, 0, 1);
                if (!st && s == 0)
                    st = ocl_gemm(d, ta, tb, z, z, z, 1.0f, A, z, z * z, B, z, z * z, 1.0f, C, z, z * z, 2);
            }
    if (!st && d->gemm_impl == OCL_GEMM_OWN) { /* the packing pass of large trans_b products */
        recur_ptr A = {&bufs[0], 0}, B = {&bufs[1], 0}, C = {&bufs[2], 0};
        st = ocl_gemm(d, 0, 1, OWN_PACK_MIN_M, 8, 8, 1.0f, A, 8, 0, B, 8, 0, 0.0f, C, 8, 0, 1);
    }
    if (!st) {
        e = clFinish(d->queue);
        if (e != CL_SUCCESS) st = ocl_cl_fail("warmup", "clFinish", e);
    }
    for (int i = 0; i < 3; i++)
        if (m[i]) clReleaseMemObject(m[i]);
    return st;
}
