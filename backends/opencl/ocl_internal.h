/*
 * Internal declarations of the opencl backend: the device context, buffers, the kernel table and the
 * helpers every op file uses to set arguments and enqueue.
 *
 * Threading: a device (its queue and its cl_kernel objects, whose arguments are set before each enqueue)
 * must be driven by one thread at a time, like every recur device.
 */
#ifndef RECUR_OCL_INTERNAL_H
#define RECUR_OCL_INTERNAL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stddef.h>
#include <stdint.h>

#include "recur/backend.h"

#define OCL_VERSION "0.1.0"

/* The services table from the entry call (valid until shutdown). */
extern const recur_services *ocl_svc;

/* Log through the host, if any. */
#define OCL_LOG(level, ...)                                                                                \
    do {                                                                                                   \
        if (ocl_svc && ocl_svc->log) ocl_svc->log(level, __VA_ARGS__);                                     \
    } while (0)

/* Record an error and return its status. */
int ocl_error(int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Name of an OpenCL status ("CL_OUT_OF_RESOURCES") or of a CLBlast status ("CLBlastInvalidDimension"). */
const char *ocl_cl_name(cl_int err);
const char *ocl_clblast_name(int status);

/* Record an OpenCL failure: "opencl: <what>: <call> failed: CL_NAME (code)". Returns RECUR_E_OPENCL. */
int ocl_cl_fail(const char *what, const char *call, cl_int err);

/* ---- programs and kernels ----
 * X(id, kernel name, program) for every kernel the backend creates. */
enum ocl_program_id { P_ELEMENTWISE, P_REDUCE, P_CELLS, P_LOSS, P_OPTIM, P_GEMM, P_COUNT };

#define OCL_KERNELS(X)                                                                                     \
    X(K_FILL, "k_fill", P_ELEMENTWISE)                                                                     \
    X(K_COPY, "k_copy", P_ELEMENTWISE)                                                                     \
    X(K_SCALE, "k_scale", P_ELEMENTWISE)                                                                   \
    X(K_AXPY, "k_axpy", P_ELEMENTWISE)                                                                     \
    X(K_MUL, "k_mul", P_ELEMENTWISE)                                                                       \
    X(K_ADD_BIAS, "k_add_bias", P_ELEMENTWISE)                                                             \
    X(K_ACT_FWD, "k_act_fwd", P_ELEMENTWISE)                                                               \
    X(K_ACT_BWD, "k_act_bwd", P_ELEMENTWISE)                                                               \
    X(K_SELECT_STEP, "k_select_step", P_ELEMENTWISE)                                                       \
    X(K_GEMM_BETA, "k_gemm_beta", P_ELEMENTWISE)                                                           \
    X(K_CLIP_VALUE, "k_clip_value", P_ELEMENTWISE)                                                         \
    X(K_PHILOX_U32, "k_philox_u32", P_ELEMENTWISE)                                                         \
    X(K_DROPOUT, "k_dropout", P_ELEMENTWISE)                                                               \
    X(K_SUM_ROWS, "k_sum_rows", P_REDUCE)                                                                  \
    X(K_SUMSQ_PART, "k_sumsq_part", P_REDUCE)                                                              \
    X(K_REDUCE_FINAL, "k_reduce_final", P_REDUCE)                                                          \
    X(K_SOFTMAX_FWD, "k_softmax_fwd", P_REDUCE)                                                            \
    X(K_SOFTMAX_BWD, "k_softmax_bwd", P_REDUCE)                                                            \
    X(K_SOFTMAX_FWD_CPU, "k_softmax_fwd_cpu", P_REDUCE)                                                    \
    X(K_SOFTMAX_BWD_CPU, "k_softmax_bwd_cpu", P_REDUCE)                                                    \
    X(K_LSTM_FWD, "k_lstm_fwd", P_CELLS)                                                                   \
    X(K_LSTM_BWD, "k_lstm_bwd", P_CELLS)                                                                   \
    X(K_GRU_FWD, "k_gru_fwd", P_CELLS)                                                                     \
    X(K_GRU_BWD, "k_gru_bwd", P_CELLS)                                                                     \
    X(K_GRU_RESET, "k_gru_reset", P_CELLS)                                                                 \
    X(K_GRU_RESET_BWD, "k_gru_reset_bwd", P_CELLS)                                                         \
    X(K_RNN_FWD, "k_rnn_fwd", P_CELLS)                                                                     \
    X(K_RNN_BWD, "k_rnn_bwd", P_CELLS)                                                                     \
    X(K_EMBED_FWD, "k_embed_fwd", P_LOSS)                                                                  \
    X(K_EMBED_BWD, "k_embed_bwd", P_LOSS)                                                                  \
    X(K_XENT_ROWS, "k_xent_rows", P_LOSS)                                                                  \
    X(K_XENT_ROWS_CPU, "k_xent_rows_cpu", P_LOSS)                                                          \
    X(K_PAIR_PART, "k_pair_part", P_LOSS)                                                                  \
    X(K_XENT_GRAD, "k_xent_grad", P_LOSS)                                                                  \
    X(K_XENT_GRAD_CPU, "k_xent_grad_cpu", P_LOSS)                                                          \
    X(K_BCE_PART, "k_bce_part", P_LOSS)                                                                    \
    X(K_MSE_PART, "k_mse_part", P_LOSS)                                                                    \
    X(K_SGD, "k_sgd", P_OPTIM)                                                                             \
    X(K_ADAM, "k_adam", P_OPTIM)                                                                           \
    X(K_CLIP_NORM, "k_clip_norm", P_OPTIM)                                                                 \
    X(K_GEMM_NN, "k_gemm_nn", P_GEMM)                                                                      \
    X(K_GEMM_TN, "k_gemm_tn", P_GEMM)                                                                      \
    X(K_GEMM_NN_CT, "k_gemm_nn_ct", P_GEMM)                                                                \
    X(K_GEMM_NT, "k_gemm_nt", P_GEMM)                                                                      \
    X(K_TRANSPOSE, "k_transpose", P_ELEMENTWISE)

#define OCL_KERNEL_ENUM(id, name, prog) id,
enum ocl_kernel_id { OCL_KERNELS(OCL_KERNEL_ENUM) K_COUNT };
#undef OCL_KERNEL_ENUM

/* Logical lanes of the deterministic reductions (RLANES in kernels/common.cl). */
#define OCL_RLANES 256
/* Sentinel offset of an absent optional tensor (ABSENT in kernels/common.cl). */
#define OCL_ABSENT UINT64_MAX

enum ocl_gemm_impl { OCL_GEMM_CLBLAST = 0, OCL_GEMM_OWN = 1 };

struct recur_buf {
    cl_mem mem;
    size_t bytes;
};

typedef struct ocl_dev {
    int index;
    cl_platform_id platform;
    cl_device_id device;
    cl_context ctx;
    cl_command_queue queue;
    cl_program prog[P_COUNT];
    cl_kernel kern[K_COUNT];
    size_t lws[K_COUNT];  /* local size used for each kernel */
    size_t max_groups;    /* cap on work-groups of the row-per-group kernels (they loop beyond it) */
    cl_uint compute_units;
    size_t max_item[3];   /* CL_DEVICE_MAX_WORK_ITEM_SIZES */
    size_t local_cap;     /* largest local size we use (256; RECUR_OPENCL_LOCAL lowers it for tests) */
    int is_cpu;
    int row_per_item;     /* row kernels: 1 = one work-item per row (CPU), 0 = one work-group per row */
    cl_mem dummy;         /* bound to absent optional tensors */
    cl_mem scratch;       /* partial sums and per-row loss terms; grown on demand */
    size_t scratch_bytes;
    cl_mem gemm_tmp;      /* packed transposed B of the own GEMM; grown on demand */
    size_t gemm_tmp_bytes;
    int gemm_impl;        /* ocl_gemm_impl */
    double startup_ms;    /* device_open: context, queue, programs */
    double warmup_ms;     /* last warmup() call */
    int cache_hits, cache_misses;
    int cache_warned;     /* the cache folder could not be created (said once) */
    char cache_dir[1024];
    char name[128];
} ocl_dev;

/* ---- argument setting and launches ----
 * A kernel's arguments are a list of typed values, set in order by ocl_args_with:
 *
 *     return ocl_run_rows(dev, K_ADD_BIAS, rows, cols, "add_bias",
 *                         OCL_ARGS(ARG_U64(rows), ARG_U64(cols), ARG_PTR(bias), ARG_PTR(y), ARG_U64(ldy)));
 *
 * Each ARG_* makes an ocl_arg whose tag matches the member it fills, from a parameter of that member's
 * type: a value of the wrong kind (a recur_ptr as ARG_U64, a cl_mem as ARG_PTR) does not compile, and
 * numbers convert as they do when passed to a function.
 * OCL_ARGS(...) gives the array and its length. The first clSetKernelArg failure is kept and reported by
 * the launch. A recur_ptr becomes two arguments (buffer, ulong offset); an absent one is the dummy buffer
 * with OCL_ABSENT. */
enum ocl_arg_kind { OCL_ARG_U64, OCL_ARG_U32, OCL_ARG_I32, OCL_ARG_F32, OCL_ARG_MEM, OCL_ARG_PTR };

typedef struct ocl_arg {
    enum ocl_arg_kind kind;
    union {
        uint64_t u64;
        uint32_t u32;
        int32_t i32;
        float f32;
        cl_mem mem;
        recur_ptr ptr;
    };
} ocl_arg;

/* One typed value each: functions rather than initializers, so that a value of another type is a
 * mismatched argument (a struct initializer would take a pointer as a recur_ptr's first member). */
static inline ocl_arg ocl_arg_u64(uint64_t v) { return (ocl_arg){.kind = OCL_ARG_U64, .u64 = v}; }
static inline ocl_arg ocl_arg_u32(uint32_t v) { return (ocl_arg){.kind = OCL_ARG_U32, .u32 = v}; }
static inline ocl_arg ocl_arg_i32(int32_t v) { return (ocl_arg){.kind = OCL_ARG_I32, .i32 = v}; }
static inline ocl_arg ocl_arg_f32(float v) { return (ocl_arg){.kind = OCL_ARG_F32, .f32 = v}; }
static inline ocl_arg ocl_arg_mem(cl_mem v) { return (ocl_arg){.kind = OCL_ARG_MEM, .mem = v}; }
static inline ocl_arg ocl_arg_ptr(recur_ptr v) { return (ocl_arg){.kind = OCL_ARG_PTR, .ptr = v}; }

#define ARG_U64(x) ocl_arg_u64(x) /* ulong */
#define ARG_U32(x) ocl_arg_u32(x) /* uint */
#define ARG_I32(x) ocl_arg_i32(x) /* int */
#define ARG_F32(x) ocl_arg_f32(x) /* float */
#define ARG_MEM(x) ocl_arg_mem(x) /* a whole buffer */
#define ARG_PTR(x) ocl_arg_ptr(x) /* buffer, ulong offset (two kernel arguments) */

/* `const ocl_arg *args, size_t n` of a list of ARG_* values (the second list is not evaluated). */
#define OCL_ARGS(...) (const ocl_arg[]){__VA_ARGS__}, sizeof((const ocl_arg[]){__VA_ARGS__}) / sizeof(ocl_arg)

/* The state of a kernel's arguments, for the launches below. */
typedef struct ocl_args {
    ocl_dev *d;
    int kid;
    cl_uint next;
    cl_int err;
    cl_uint bad;
} ocl_args;

/* Set the arguments of kernel `kid` from args[0..n), in order. */
ocl_args ocl_args_with(ocl_dev *d, int kid, const ocl_arg *args, size_t n);

/* ocl_args_with, then ocl_launch_items / ocl_launch_rows / ocl_launch_groups. */
int ocl_run_items(ocl_dev *d, int kid, size_t items, const char *op, const ocl_arg *args, size_t n);
int ocl_run_rows(ocl_dev *d, int kid, size_t rows, size_t cols, const char *op, const ocl_arg *args, size_t n);
int ocl_run_groups(ocl_dev *d, int kid, size_t groups, const char *op, const ocl_arg *args, size_t n);
/* A row kernel: kid_cpu, one work-item per row, where d->row_per_item; else kid, one work-group per row
 * (at most d->max_groups groups: the kernel loops beyond). */
int ocl_run_per_row(ocl_dev *d, int kid, int kid_cpu, size_t rows, const char *op, const ocl_arg *args, size_t n);

/* One work-item per unit (1-D), the global size rounded up to the local size. items == 0 enqueues nothing. */
int ocl_launch_items(ocl_args *a, size_t items, const char *op);
/* 2-D launch over a (rows, cols) matrix for ELEMENT2 kernels: dimension 0 = columns, 1 = rows. */
int ocl_launch_rows(ocl_args *a, size_t rows, size_t cols, const char *op);
/* Launch exactly `groups` work-groups of the kernel's local size. */
int ocl_launch_groups(ocl_args *a, size_t groups, const char *op);
/* Raw 3-D launch (own GEMM); local may be NULL (the driver chooses). */
int ocl_launch_3d(ocl_args *a, const size_t global[3], const size_t *local, const char *op);
/* The transpose kernel (K_TRANSPOSE, arguments already set) over rows x cols x batch, in 16 x 16 tiles when the
 * device allows. */
int ocl_launch_transpose(ocl_args *a, size_t rows, size_t cols, size_t batch, const char *op);

/* A scratch buffer of at least `bytes` bytes (device memory; grown, never shrunk). */
int ocl_scratch(ocl_dev *d, size_t bytes, cl_mem *out);

/* cl_mem of a recur_ptr, or the dummy buffer. */
static inline cl_mem ocl_mem(ocl_dev *d, recur_ptr p) { return p.buf ? p.buf->mem : d->dummy; }

/* Final pass of a two-pass reduction (kernels/reduce.cl k_reduce_final). */
int ocl_reduce_final(ocl_dev *d, size_t groups, cl_mem part, float scale, int mode, recur_ptr out, size_t wo,
                     const char *op);

/* Two-pass reductions: number of partial groups and chunk length for n elements (depends on n only). */
void ocl_reduce_plan(size_t n, size_t *groups, size_t *chunk);

/* ---- programs: build with the on-disk binary cache (ocl_cache.c) ---- */
int ocl_build_program(ocl_dev *d, const char *label, const char *source, size_t source_len, const char *options,
                      cl_program *out);
/* The cache folder ($RECUR_CACHE_DIR, $XDG_CACHE_HOME/recur, ~/.cache/recur); "" when none. */
void ocl_cache_dir(char *out, size_t size);

/* ---- ops, by family ---- */
extern const recur_ops ocl_ops;

int ocl_buf_alloc(void *dev, size_t bytes, recur_buf **out);
void ocl_buf_free(void *dev, recur_buf *buf);
void *ocl_host_ptr(void *dev, recur_buf *buf);
int ocl_write(void *dev, recur_ptr dst, const void *src, size_t n);
int ocl_read(void *dev, void *dst, recur_ptr src, size_t n);
int ocl_sync(void *dev);

int ocl_fill(void *dev, size_t n, float value, recur_ptr y);
int ocl_copy(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, recur_ptr y, size_t ldy);
int ocl_transpose(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, recur_ptr y, size_t ldy);
int ocl_scale(void *dev, size_t n, float alpha, recur_ptr y);
int ocl_axpy(void *dev, size_t n, float alpha, recur_ptr x, recur_ptr y);
int ocl_mul(void *dev, size_t n, float alpha, recur_ptr a, recur_ptr b, float beta, recur_ptr y);
int ocl_gemm(void *dev, int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha, recur_ptr A,
             size_t lda, size_t stride_a, recur_ptr B, size_t ldb, size_t stride_b, float beta, recur_ptr C,
             size_t ldc, size_t stride_c, size_t batch);
int ocl_add_bias(void *dev, size_t rows, size_t cols, recur_ptr bias, recur_ptr y, size_t ldy);
int ocl_sum_rows(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, float beta, recur_ptr y);
int ocl_sum_sq(void *dev, size_t n, recur_ptr x, recur_ptr out);
int ocl_act_fwd(void *dev, int act, size_t n, recur_ptr x, recur_ptr y);
int ocl_act_bwd(void *dev, int act, size_t n, recur_ptr y, recur_ptr dy, float beta, recur_ptr dx);
int ocl_softmax_fwd(void *dev, size_t rows, size_t cols, recur_ptr x, recur_ptr lengths, recur_ptr y);
int ocl_softmax_bwd(void *dev, size_t rows, size_t cols, recur_ptr y, recur_ptr dy, recur_ptr dx);
int ocl_select_step(void *dev, size_t B, size_t N, recur_ptr a, size_t lda, recur_ptr other, size_t ldo,
                    recur_ptr y, size_t ldy, recur_ptr lengths, size_t t);

int ocl_lstm_fwd(void *dev, size_t B, size_t H, recur_ptr gates, recur_ptr c_prev, recur_ptr c, recur_ptr h_prev,
                 recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t);
int ocl_lstm_bwd(void *dev, size_t B, size_t H, recur_ptr gates, recur_ptr c_prev, recur_ptr c, recur_ptr dy,
                 size_t ldy, recur_ptr dh, recur_ptr dc, recur_ptr dgates, recur_ptr lengths, size_t t);
int ocl_gru_fwd(void *dev, size_t B, size_t H, int reset_after, recur_ptr xg, recur_ptr hg, recur_ptr h_prev,
                recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t);
int ocl_gru_bwd(void *dev, size_t B, size_t H, int reset_after, recur_ptr xg, recur_ptr hg, recur_ptr h_prev,
                recur_ptr dy, size_t ldy, recur_ptr dh, recur_ptr dxg, recur_ptr dhg, recur_ptr lengths, size_t t);
int ocl_gru_reset(void *dev, size_t B, size_t H, recur_ptr xg, recur_ptr hg, recur_ptr h_prev, recur_ptr rh,
                  recur_ptr lengths, size_t t);
int ocl_gru_reset_bwd(void *dev, size_t B, size_t H, recur_ptr xg, recur_ptr h_prev, recur_ptr drh, recur_ptr dxg,
                      recur_ptr dhg, recur_ptr dh, recur_ptr lengths, size_t t);
int ocl_rnn_fwd(void *dev, size_t B, size_t H, int act, recur_ptr pre, recur_ptr h_prev, recur_ptr h, recur_ptr y,
                size_t ldy, recur_ptr lengths, size_t t);
int ocl_rnn_bwd(void *dev, size_t B, size_t H, int act, recur_ptr h, recur_ptr dy, size_t ldy, recur_ptr dh,
                recur_ptr dpre, recur_ptr lengths, size_t t);

int ocl_embed_fwd(void *dev, size_t n, size_t dim, recur_ptr ids, recur_ptr table, recur_ptr out);
int ocl_embed_bwd(void *dev, size_t n, size_t dim, recur_ptr ids, recur_ptr dout, int32_t padding_idx,
                  recur_ptr dtable);
int ocl_xent_fwd_bwd(void *dev, size_t N, size_t C, recur_ptr logits, recur_ptr targets, recur_ptr weights,
                     int32_t ignore_index, float label_smoothing, int reduction, float grad_scale, recur_ptr loss,
                     recur_ptr dlogits);
int ocl_bce_fwd_bwd(void *dev, size_t n, size_t C, recur_ptr logits, recur_ptr targets, recur_ptr pos_weight,
                    int reduction, float grad_scale, recur_ptr loss, recur_ptr dlogits);
int ocl_mse_fwd_bwd(void *dev, size_t n, recur_ptr pred, recur_ptr target, int reduction, float grad_scale,
                    recur_ptr loss, recur_ptr dpred);
int ocl_sgd_step(void *dev, size_t n, recur_ptr param, recur_ptr grad, recur_ptr momentum_buf, float lr,
                 float momentum, float dampening, int nesterov, float weight_decay, int64_t step);
int ocl_adam_step(void *dev, size_t n, recur_ptr param, recur_ptr grad, recur_ptr m, recur_ptr v, float lr,
                  float beta1, float beta2, float eps, float weight_decay, int decoupled, int64_t step);
int ocl_clip_norm(void *dev, size_t n, recur_ptr grad, recur_ptr sumsq, float max_norm);
int ocl_clip_value(void *dev, size_t n, recur_ptr grad, float limit);
int ocl_dropout(void *dev, size_t n, float p, uint64_t seed, uint64_t counter, recur_ptr x, recur_ptr y);

/* Raw Philox words on the device (for tests): out[i] = recur_philox_u32(seed, counter + i). */
int ocl_philox_u32(void *dev, size_t n, uint64_t seed, uint64_t counter, recur_ptr out);

/* Build the own-GEMM program on first use. */
int ocl_ensure_gemm_program(ocl_dev *d);

/* GEMM set-up: choose the implementation for the device, warm up CLBlast. */
void ocl_gemm_choose(ocl_dev *d);
int ocl_gemm_warmup(ocl_dev *d);

/* Milliseconds from a monotonic clock. */
double ocl_now_ms(void);

#endif
