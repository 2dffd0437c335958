/*
 * Memory and queue slots, element-wise ops, reductions and softmax of the opencl backend.
 * Ops only enqueue; write and read are blocking, sync is clFinish.
 */
#include <stdlib.h>
#include <string.h>

#include "ocl_internal.h"

/* ---- memory and queue ---- */

int ocl_buf_alloc(void *dev, size_t bytes, recur_buf **out) {
    ocl_dev *d = dev;
    *out = NULL;
    recur_buf *b = calloc(1, sizeof *b);
    if (!b) return ocl_error(RECUR_E_NOMEM, "opencl: buf_alloc: out of host memory");
    cl_int e;
    /* OpenCL refuses 0-byte buffers: give those a small one. */
    b->mem = clCreateBuffer(d->ctx, CL_MEM_READ_WRITE, bytes ? bytes : 16, NULL, &e);
    if (!b->mem) {
        free(b);
        int st = (e == CL_MEM_OBJECT_ALLOCATION_FAILURE || e == CL_OUT_OF_RESOURCES || e == CL_OUT_OF_HOST_MEMORY ||
                  e == CL_INVALID_BUFFER_SIZE) ? RECUR_E_NOMEM : RECUR_E_OPENCL;
        return ocl_error(st, "opencl: buf_alloc(%zu bytes) on %s: clCreateBuffer failed: %s (%d)", bytes, d->name,
                         ocl_cl_name(e), (int)e);
    }
    b->bytes = bytes;
    *out = b;
    return RECUR_OK;
}

void ocl_buf_free(void *dev, recur_buf *buf) {
    (void)dev;
    if (!buf) return;
    /* Deferred by OpenCL until the kernels that use it have finished. */
    clReleaseMemObject(buf->mem);
    free(buf);
}

void *ocl_host_ptr(void *dev, recur_buf *buf) {
    (void)dev;
    (void)buf;
    return NULL;
}

static int check_range(const char *op, recur_ptr p, size_t n) {
    if (!p.buf) return ocl_error(RECUR_E_INVALID, "opencl: %s: NULL buffer", op);
    const size_t elems = p.buf->bytes / 4;
    if (p.off > elems || n > elems - p.off)
        return ocl_error(RECUR_E_INVALID, "opencl: %s: %zu elements at offset %zu overrun a buffer of %zu elements",
                         op, n, p.off, elems);
    return RECUR_OK;
}

int ocl_write(void *dev, recur_ptr dst, const void *src, size_t n) {
    ocl_dev *d = dev;
    if (n == 0) return RECUR_OK;
    int st = check_range("write", dst, n);
    if (st) return st;
    cl_int e = clEnqueueWriteBuffer(d->queue, dst.buf->mem, CL_TRUE, dst.off * 4, n * 4, src, 0, NULL, NULL);
    return e == CL_SUCCESS ? RECUR_OK : ocl_cl_fail("write", "clEnqueueWriteBuffer", e);
}

int ocl_read(void *dev, void *dst, recur_ptr src, size_t n) {
    ocl_dev *d = dev;
    if (n == 0) return ocl_sync(dev);
    int st = check_range("read", src, n);
    if (st) return st;
    cl_int e = clEnqueueReadBuffer(d->queue, src.buf->mem, CL_TRUE, src.off * 4, n * 4, dst, 0, NULL, NULL);
    return e == CL_SUCCESS ? RECUR_OK : ocl_cl_fail("read", "clEnqueueReadBuffer", e);
}

int ocl_sync(void *dev) {
    ocl_dev *d = dev;
    cl_int e = clFinish(d->queue);
    return e == CL_SUCCESS ? RECUR_OK : ocl_cl_fail("sync", "clFinish", e);
}

/* ---- element-wise ---- */

int ocl_fill(void *dev, size_t n, float value, recur_ptr y) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    return ocl_run_items(dev, K_FILL, n, "fill", OCL_ARGS(ARG_U64(n), ARG_U32(bits), ARG_PTR(y)));
}

int ocl_copy(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, recur_ptr y, size_t ldy) {
    if (rows == 0 || cols == 0) return RECUR_OK;
    ocl_dev *d = dev;
    if (ldx == cols && ldy == cols && x.buf != y.buf) {
        /* Contiguous: one buffer copy, the fastest path on every driver. */
        cl_int e = clEnqueueCopyBuffer(d->queue, x.buf->mem, y.buf->mem, x.off * 4, y.off * 4, rows * cols * 4, 0,
                                       NULL, NULL);
        return e == CL_SUCCESS ? RECUR_OK : ocl_cl_fail("copy", "clEnqueueCopyBuffer", e);
    }
    if (x.buf == y.buf && x.off == y.off && ldx == ldy) return RECUR_OK; /* in place: nothing to move */
    return ocl_run_rows(dev, K_COPY, rows, cols, "copy",
                        OCL_ARGS(ARG_U64(rows), ARG_U64(cols), ARG_PTR(x), ARG_U64(ldx), ARG_PTR(y), ARG_U64(ldy)));
}

int ocl_transpose(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, recur_ptr y, size_t ldy) {
    if (rows == 0 || cols == 0) return RECUR_OK;
    ocl_args a = ocl_args_with(dev, K_TRANSPOSE, OCL_ARGS(ARG_U64(rows), ARG_U64(cols), ARG_PTR(x), ARG_U64(ldx),
                                                          ARG_U64(0), ARG_PTR(y), ARG_U64(ldy), ARG_U64(0)));
    return ocl_launch_transpose(&a, rows, cols, 1, "transpose");
}

int ocl_scale(void *dev, size_t n, float alpha, recur_ptr y) {
    return ocl_run_items(dev, K_SCALE, n, "scale", OCL_ARGS(ARG_U64(n), ARG_F32(alpha), ARG_PTR(y)));
}

int ocl_axpy(void *dev, size_t n, float alpha, recur_ptr x, recur_ptr y) {
    return ocl_run_items(dev, K_AXPY, n, "axpy", OCL_ARGS(ARG_U64(n), ARG_F32(alpha), ARG_PTR(x), ARG_PTR(y)));
}

int ocl_mul(void *dev, size_t n, float alpha, recur_ptr x, recur_ptr b, float beta, recur_ptr y) {
    return ocl_run_items(dev, K_MUL, n, "mul",
                         OCL_ARGS(ARG_U64(n), ARG_F32(alpha), ARG_PTR(x), ARG_PTR(b), ARG_F32(beta), ARG_PTR(y)));
}

int ocl_add_bias(void *dev, size_t rows, size_t cols, recur_ptr bias, recur_ptr y, size_t ldy) {
    return ocl_run_rows(dev, K_ADD_BIAS, rows, cols, "add_bias",
                        OCL_ARGS(ARG_U64(rows), ARG_U64(cols), ARG_PTR(bias), ARG_PTR(y), ARG_U64(ldy)));
}

int ocl_act_fwd(void *dev, int act, size_t n, recur_ptr x, recur_ptr y) {
    if (act < RECUR_ACT_IDENTITY || act > RECUR_ACT_RELU)
        return ocl_error(RECUR_E_INVALID, "opencl: act_fwd: unknown activation %d", act);
    return ocl_run_items(dev, K_ACT_FWD, n, "act_fwd", OCL_ARGS(ARG_I32(act), ARG_U64(n), ARG_PTR(x), ARG_PTR(y)));
}

int ocl_act_bwd(void *dev, int act, size_t n, recur_ptr y, recur_ptr dy, float beta, recur_ptr dx) {
    if (act < RECUR_ACT_IDENTITY || act > RECUR_ACT_RELU)
        return ocl_error(RECUR_E_INVALID, "opencl: act_bwd: unknown activation %d", act);
    return ocl_run_items(dev, K_ACT_BWD, n, "act_bwd",
                         OCL_ARGS(ARG_I32(act), ARG_U64(n), ARG_PTR(y), ARG_PTR(dy), ARG_F32(beta), ARG_PTR(dx)));
}

int ocl_select_step(void *dev, size_t B, size_t N, recur_ptr x, size_t lda, recur_ptr other, size_t ldo,
                    recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    return ocl_run_rows(dev, K_SELECT_STEP, B, N, "select_step",
                        OCL_ARGS(ARG_U64(B), ARG_U64(N), ARG_PTR(x), ARG_U64(lda), ARG_PTR(other), ARG_U64(ldo),
                                 ARG_PTR(y), ARG_U64(ldy), ARG_PTR(lengths), ARG_U64(t)));
}

int ocl_clip_value(void *dev, size_t n, recur_ptr grad, float limit) {
    return ocl_run_items(dev, K_CLIP_VALUE, n, "clip_value", OCL_ARGS(ARG_U64(n), ARG_PTR(grad), ARG_F32(limit)));
}

/* Blocks of four Philox counters that counter .. counter + n - 1 (n > 0) touch. */
static size_t philox_blocks(size_t n, uint64_t counter) {
    return (size_t)(((counter + n - 1) >> 2) - (counter >> 2) + 1);
}

int ocl_dropout(void *dev, size_t n, float p, uint64_t seed, uint64_t counter, recur_ptr x, recur_ptr y) {
    if (!(p >= 0.0f && p < 1.0f)) return ocl_error(RECUR_E_INVALID, "opencl: dropout: p = %g is not in [0, 1)", p);
    if (n == 0) return RECUR_OK;
    if (p == 0.0f) return ocl_copy(dev, 1, n, x, n, y, n);
    /* one work-item per block of four counters */
    return ocl_run_items(dev, K_DROPOUT, philox_blocks(n, counter), "dropout",
                         OCL_ARGS(ARG_U64(n), ARG_F32(p), ARG_F32(1.0f / (1.0f - p)), ARG_U64(seed), ARG_U64(counter),
                                  ARG_PTR(x), ARG_PTR(y)));
}

int ocl_philox_u32(void *dev, size_t n, uint64_t seed, uint64_t counter, recur_ptr out) {
    if (n == 0) return RECUR_OK;
    return ocl_run_items(dev, K_PHILOX_U32, philox_blocks(n, counter), "philox_u32",
                         OCL_ARGS(ARG_U64(n), ARG_U64(seed), ARG_U64(counter), ARG_PTR(out)));
}

/* ---- reductions ---- */

int ocl_sum_rows(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, float beta, recur_ptr y) {
    return ocl_run_items(dev, K_SUM_ROWS, cols, "sum_rows",
                         OCL_ARGS(ARG_U64(rows), ARG_U64(cols), ARG_PTR(x), ARG_U64(ldx), ARG_F32(beta), ARG_PTR(y)));
}

/* Final pass shared by sum_sq and the losses: out = scale * sum(part[0..G)) (mode 0), see reduce.cl. */
int ocl_reduce_final(ocl_dev *d, size_t groups, cl_mem part, float scale, int mode, recur_ptr out, size_t wo,
                     const char *op) {
    return ocl_run_groups(d, K_REDUCE_FINAL, 1, op,
                          OCL_ARGS(ARG_U64(groups), ARG_MEM(part), ARG_F32(scale), ARG_I32(mode), ARG_PTR(out),
                                   ARG_MEM(part), ARG_U64(wo)));
}

int ocl_sum_sq(void *dev, size_t n, recur_ptr x, recur_ptr out) {
    ocl_dev *d = dev;
    size_t groups, chunk;
    ocl_reduce_plan(n, &groups, &chunk);
    cl_mem part;
    int st = ocl_scratch(d, 2 * OCL_RLANES * 4, &part);
    if (st) return st;
    st = ocl_run_groups(d, K_SUMSQ_PART, groups, "sum_sq",
                        OCL_ARGS(ARG_U64(n), ARG_U64(chunk), ARG_PTR(x), ARG_MEM(part)));
    if (st) return st;
    return ocl_reduce_final(d, groups, part, 1.0f, 0, out, 0, "sum_sq");
}

int ocl_softmax_fwd(void *dev, size_t rows, size_t cols, recur_ptr x, recur_ptr lengths, recur_ptr y) {
    ocl_dev *d = dev;
    if (rows == 0 || cols == 0) return RECUR_OK;
    return ocl_run_per_row(d, K_SOFTMAX_FWD, K_SOFTMAX_FWD_CPU, rows, "softmax_fwd",
                           OCL_ARGS(ARG_U64(rows), ARG_U64(cols), ARG_PTR(x), ARG_PTR(lengths), ARG_PTR(y)));
}

int ocl_softmax_bwd(void *dev, size_t rows, size_t cols, recur_ptr y, recur_ptr dy, recur_ptr dx) {
    ocl_dev *d = dev;
    if (rows == 0 || cols == 0) return RECUR_OK;
    return ocl_run_per_row(d, K_SOFTMAX_BWD, K_SOFTMAX_BWD_CPU, rows, "softmax_bwd",
                           OCL_ARGS(ARG_U64(rows), ARG_U64(cols), ARG_PTR(y), ARG_PTR(dy), ARG_PTR(dx)));
}
