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
    ocl_args a = ocl_args_begin(dev, K_FILL);
    ocl_arg_u64(&a, n);
    ocl_arg_u32(&a, bits);
    ocl_arg_ptr(&a, y);
    return ocl_launch_items(&a, n, "fill");
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
    ocl_args a = ocl_args_begin(dev, K_COPY);
    ocl_arg_u64(&a, rows);
    ocl_arg_u64(&a, cols);
    ocl_arg_ptr(&a, x);
    ocl_arg_u64(&a, ldx);
    ocl_arg_ptr(&a, y);
    ocl_arg_u64(&a, ldy);
    return ocl_launch_rows(&a, rows, cols, "copy");
}

int ocl_transpose(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, recur_ptr y, size_t ldy) {
    if (rows == 0 || cols == 0) return RECUR_OK;
    ocl_args a = ocl_args_begin(dev, K_TRANSPOSE);
    ocl_arg_u64(&a, rows);
    ocl_arg_u64(&a, cols);
    ocl_arg_ptr(&a, x);
    ocl_arg_u64(&a, ldx);
    ocl_arg_u64(&a, 0);
    ocl_arg_ptr(&a, y);
    ocl_arg_u64(&a, ldy);
    ocl_arg_u64(&a, 0);
    return ocl_launch_transpose(&a, rows, cols, 1, "transpose");
}

int ocl_scale(void *dev, size_t n, float alpha, recur_ptr y) {
    ocl_args a = ocl_args_begin(dev, K_SCALE);
    ocl_arg_u64(&a, n);
    ocl_arg_f32(&a, alpha);
    ocl_arg_ptr(&a, y);
    return ocl_launch_items(&a, n, "scale");
}

int ocl_axpy(void *dev, size_t n, float alpha, recur_ptr x, recur_ptr y) {
    ocl_args a = ocl_args_begin(dev, K_AXPY);
    ocl_arg_u64(&a, n);
    ocl_arg_f32(&a, alpha);
    ocl_arg_ptr(&a, x);
    ocl_arg_ptr(&a, y);
    return ocl_launch_items(&a, n, "axpy");
}

int ocl_mul(void *dev, size_t n, float alpha, recur_ptr x, recur_ptr b, float beta, recur_ptr y) {
    ocl_args a = ocl_args_begin(dev, K_MUL);
    ocl_arg_u64(&a, n);
    ocl_arg_f32(&a, alpha);
    ocl_arg_ptr(&a, x);
    ocl_arg_ptr(&a, b);
    ocl_arg_f32(&a, beta);
    ocl_arg_ptr(&a, y);
    return ocl_launch_items(&a, n, "mul");
}

int ocl_add_bias(void *dev, size_t rows, size_t cols, recur_ptr bias, recur_ptr y, size_t ldy) {
    ocl_args a = ocl_args_begin(dev, K_ADD_BIAS);
    ocl_arg_u64(&a, rows);
    ocl_arg_u64(&a, cols);
    ocl_arg_ptr(&a, bias);
    ocl_arg_ptr(&a, y);
    ocl_arg_u64(&a, ldy);
    return ocl_launch_rows(&a, rows, cols, "add_bias");
}

int ocl_act_fwd(void *dev, int act, size_t n, recur_ptr x, recur_ptr y) {
    if (act < RECUR_ACT_IDENTITY || act > RECUR_ACT_RELU)
        return ocl_error(RECUR_E_INVALID, "opencl: act_fwd: unknown activation %d", act);
    ocl_args a = ocl_args_begin(dev, K_ACT_FWD);
    ocl_arg_i32(&a, act);
    ocl_arg_u64(&a, n);
    ocl_arg_ptr(&a, x);
    ocl_arg_ptr(&a, y);
    return ocl_launch_items(&a, n, "act_fwd");
}

int ocl_act_bwd(void *dev, int act, size_t n, recur_ptr y, recur_ptr dy, float beta, recur_ptr dx) {
    if (act < RECUR_ACT_IDENTITY || act > RECUR_ACT_RELU)
        return ocl_error(RECUR_E_INVALID, "opencl: act_bwd: unknown activation %d", act);
    ocl_args a = ocl_args_begin(dev, K_ACT_BWD);
    ocl_arg_i32(&a, act);
    ocl_arg_u64(&a, n);
    ocl_arg_ptr(&a, y);
    ocl_arg_ptr(&a, dy);
    ocl_arg_f32(&a, beta);
    ocl_arg_ptr(&a, dx);
    return ocl_launch_items(&a, n, "act_bwd");
}

int ocl_select_step(void *dev, size_t B, size_t N, recur_ptr x, size_t lda, recur_ptr other, size_t ldo,
                    recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    ocl_args a = ocl_args_begin(dev, K_SELECT_STEP);
    ocl_arg_u64(&a, B);
    ocl_arg_u64(&a, N);
    ocl_arg_ptr(&a, x);
    ocl_arg_u64(&a, lda);
    ocl_arg_ptr(&a, other);
    ocl_arg_u64(&a, ldo);
    ocl_arg_ptr(&a, y);
    ocl_arg_u64(&a, ldy);
    ocl_arg_ptr(&a, lengths);
    ocl_arg_u64(&a, t);
    return ocl_launch_rows(&a, B, N, "select_step");
}

int ocl_clip_value(void *dev, size_t n, recur_ptr grad, float limit) {
    ocl_args a = ocl_args_begin(dev, K_CLIP_VALUE);
    ocl_arg_u64(&a, n);
    ocl_arg_ptr(&a, grad);
    ocl_arg_f32(&a, limit);
    return ocl_launch_items(&a, n, "clip_value");
}

int ocl_dropout(void *dev, size_t n, float p, uint64_t seed, uint64_t counter, recur_ptr x, recur_ptr y) {
    if (!(p >= 0.0f && p < 1.0f)) return ocl_error(RECUR_E_INVALID, "opencl: dropout: p = %g is not in [0, 1)", p);
    if (n == 0) return RECUR_OK;
    if (p == 0.0f) return ocl_copy(dev, 1, n, x, n, y, n);
    ocl_args a = ocl_args_begin(dev, K_DROPOUT);
    ocl_arg_u64(&a, n);
    ocl_arg_f32(&a, p);
    ocl_arg_f32(&a, 1.0f / (1.0f - p));
    ocl_arg_u64(&a, seed);
    ocl_arg_u64(&a, counter);
    ocl_arg_ptr(&a, x);
    ocl_arg_ptr(&a, y);
    /* one work-item per block of four counters */
    return ocl_launch_items(&a, (size_t)(((counter + n - 1) >> 2) - (counter >> 2) + 1), "dropout");
}

int ocl_philox_u32(void *dev, size_t n, uint64_t seed, uint64_t counter, recur_ptr out) {
    if (n == 0) return RECUR_OK;
    ocl_args a = ocl_args_begin(dev, K_PHILOX_U32);
    ocl_arg_u64(&a, n);
    ocl_arg_u64(&a, seed);
    ocl_arg_u64(&a, counter);
    ocl_arg_ptr(&a, out);
    return ocl_launch_items(&a, (size_t)(((counter + n - 1) >> 2) - (counter >> 2) + 1), "philox_u32");
}

/* ---- reductions ---- */

int ocl_sum_rows(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, float beta, recur_ptr y) {
    ocl_args a = ocl_args_begin(dev, K_SUM_ROWS);
    ocl_arg_u64(&a, rows);
    ocl_arg_u64(&a, cols);
    ocl_arg_ptr(&a, x);
    ocl_arg_u64(&a, ldx);
    ocl_arg_f32(&a, beta);
    ocl_arg_ptr(&a, y);
    return ocl_launch_items(&a, cols, "sum_rows");
}

/* Final pass shared by sum_sq and the losses: out = scale * sum(part[0..G)) (mode 0), see reduce.cl. */
int ocl_reduce_final(ocl_dev *d, size_t groups, cl_mem part, float scale, int mode, recur_ptr out, size_t wo,
                     const char *op) {
    ocl_args a = ocl_args_begin(d, K_REDUCE_FINAL);
    ocl_arg_u64(&a, groups);
    ocl_arg_mem(&a, part);
    ocl_arg_f32(&a, scale);
    ocl_arg_i32(&a, mode);
    ocl_arg_ptr(&a, out);
    ocl_arg_mem(&a, part);
    ocl_arg_u64(&a, wo);
    return ocl_launch_groups(&a, 1, op);
}

int ocl_sum_sq(void *dev, size_t n, recur_ptr x, recur_ptr out) {
    ocl_dev *d = dev;
    size_t groups, chunk;
    ocl_reduce_plan(n, &groups, &chunk);
    cl_mem part;
    int st = ocl_scratch(d, 2 * OCL_RLANES * 4, &part);
    if (st) return st;
    ocl_args a = ocl_args_begin(d, K_SUMSQ_PART);
    ocl_arg_u64(&a, n);
    ocl_arg_u64(&a, chunk);
    ocl_arg_ptr(&a, x);
    ocl_arg_mem(&a, part);
    if ((st = ocl_launch_groups(&a, groups, "sum_sq"))) return st;
    return ocl_reduce_final(d, groups, part, 1.0f, 0, out, 0, "sum_sq");
}

int ocl_softmax_fwd(void *dev, size_t rows, size_t cols, recur_ptr x, recur_ptr lengths, recur_ptr y) {
    ocl_dev *d = dev;
    if (rows == 0 || cols == 0) return RECUR_OK;
    ocl_args a = ocl_args_begin(d, d->row_per_item ? K_SOFTMAX_FWD_CPU : K_SOFTMAX_FWD);
    ocl_arg_u64(&a, rows);
    ocl_arg_u64(&a, cols);
    ocl_arg_ptr(&a, x);
    ocl_arg_ptr(&a, lengths);
    ocl_arg_ptr(&a, y);
    if (d->row_per_item) return ocl_launch_items(&a, rows, "softmax_fwd");
    return ocl_launch_groups(&a, rows < d->max_groups ? rows : d->max_groups, "softmax_fwd");
}

int ocl_softmax_bwd(void *dev, size_t rows, size_t cols, recur_ptr y, recur_ptr dy, recur_ptr dx) {
    ocl_dev *d = dev;
    if (rows == 0 || cols == 0) return RECUR_OK;
    ocl_args a = ocl_args_begin(d, d->row_per_item ? K_SOFTMAX_BWD_CPU : K_SOFTMAX_BWD);
    ocl_arg_u64(&a, rows);
    ocl_arg_u64(&a, cols);
    ocl_arg_ptr(&a, y);
    ocl_arg_ptr(&a, dy);
    ocl_arg_ptr(&a, dx);
    if (d->row_per_item) return ocl_launch_items(&a, rows, "softmax_bwd");
    return ocl_launch_groups(&a, rows < d->max_groups ? rows : d->max_groups, "softmax_bwd");
}
