/*
 * The cpu backend's shared definitions: the device context, buffers, and the helpers every op file uses.
 *
 * Files:
 *   cpu_main.c      entry symbol, probe, device description, open/close, memory and queue, options
 *   cpu_pool.c      the persistent thread pool
 *   cpu_gemm.c      SGEMM driver (blocking, packing, thread split) and the portable micro-kernel
 *   cpu_gemm_x86.c  AVX-512 and AVX2 micro-kernels and packing
 *   cpu_ops.c       the op table and the non-cell ops, run on the pool (ref kernels, own SGEMM and sum_sq)
 *   cpu_cells.c     the recurrent cell ops (SIMD row kernels for valid rows, ref kernels otherwise), and
 *                   rnn_step (the step's GEMM, then the forward cell task with the biases) and
 *                   rnn_step_input (the same after the input's GEMM, both GEMMs in one section)
 *   cpu_steps.c     rnn_steps_input / rnn_steps / rnn_steps_bwd: every step of a direction in one section,
 *                   each thread on its own samples (cpu_cells.h: what they share with cpu_cells.c)
 *   cpu_simd.h      vectorised sigmoid / tanh and cell rows; cpu_simd_x86.c instantiates cpu_simd_tmpl.h
 *                   for AVX-512 and AVX2
 */
#ifndef RECUR_CPU_INTERNAL_H
#define RECUR_CPU_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu_gemm.h"
#include "cpu_pool.h"
#include "recur/backend.h"

#define CPU_VERSION "0.1.0"
#define CPU_ALIGN 64

extern const recur_services *cpu_svc;
extern const recur_ops cpu_ops;

struct recur_buf {
    void *data; /* CPU_ALIGN-aligned */
    size_t bytes;
};

typedef struct cpu_dev {
    cpu_pool *pool;
    int threads; /* pool size */
    int isa;     /* enum cpu_isa used by every op */
    int spin_us;
    int split_small; /* testing knob: split every op over all threads, however small */
    double *partials; /* sum_sq block sums, grown under the pool lock */
    size_t partials_len;
    /* rnn_steps_input, rnn_steps, rnn_steps_bwd: each thread's speed (samples per ms, an average of recent calls) for steps_nt threads,
     * which sets its share of the samples (cpu_steps.c); under the pool lock */
    double steps_speed[CPU_PARTS_MAX_THREADS];
    int steps_nt;
    /* Guards the scratch below across the parallel sections that use it: held by rnn_step's LSTM step with
     * its product apart (step_acc, step_len floats; cpu_cells.c, lstm_step_apart) and by the whole-sequence
     * ops' sample split (cpu_steps.c, steps_run: packed, packed_len floats, the sequence's weights packed
     * once per call; and rnn_steps' LSTM product apart, each thread its own rows of step_acc). */
    pthread_mutex_t seq_mu;
    float *step_acc;
    size_t step_len;
    float *packed;
    size_t packed_len;
} cpu_dev;

/* The smallest GEMM share worth a thread on this device (split_small: any). */
static inline double cpu_gemm_min_flops(const cpu_dev *d) { return d->split_small ? 0.0 : CPU_GEMM_MIN_FLOPS; }

/* set_error through the host's services (or just the status when there are none). */
int cpu_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline float *cpu_f(recur_ptr p) { return p.buf ? (float *)p.buf->data + p.off : NULL; }
static inline int32_t *cpu_i(recur_ptr p) { return p.buf ? (int32_t *)p.buf->data + p.off : NULL; }

/* Make *buf (*len floats, allocated as buffers are: CPU_ALIGN-aligned, huge pages from 4 MiB) hold at least
 * n floats, its contents lost when it grows; 0 or ENOMEM (then *buf is NULL and *len 0). */
int cpu_grow(float **buf, size_t *len, size_t n);
/* Free what cpu_grow allocated (*buf NULL, *len 0 after). */
void cpu_shrink(float **buf, size_t *len);

/* Run fn on min(threads, work / min_per_thread, parts) threads, at least 1 (split_small: all threads). */
void cpu_run_parts(cpu_dev *d, cpu_task_fn fn, void *ctx, size_t work, size_t min_per_thread, size_t parts);
#define cpu_run(d, fn, ctx, work, min_per_thread) cpu_run_parts((d), (fn), (ctx), (work), (min_per_thread), SIZE_MAX)

/* ---- memory and queue (cpu_main.c) ---- */
int cpu_buf_alloc(void *dev, size_t bytes, recur_buf **out);
void cpu_buf_free(void *dev, recur_buf *b);
void *cpu_host_ptr(void *dev, recur_buf *b);
int cpu_write(void *dev, recur_ptr dst, const void *src, size_t n);
int cpu_read(void *dev, void *dst, recur_ptr src, size_t n);
int cpu_sync(void *dev);

/* ---- recurrent cells (cpu_cells.c) ---- */
/* Split a cell op only when each thread gets this many elements (B * H) and at least one row. */
#define CPU_MIN_CELL 2048
int cpu_lstm_fwd(void *dev, size_t B, size_t H, recur_ptr gates, recur_ptr c_prev, recur_ptr c, recur_ptr h_prev,
                 recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t);
int cpu_lstm_bwd(void *dev, size_t B, size_t H, recur_ptr gates, recur_ptr c_prev, recur_ptr c, recur_ptr dy,
                 size_t ldy, recur_ptr dh, recur_ptr dc, recur_ptr dgates, recur_ptr lengths, size_t t);
int cpu_gru_fwd(void *dev, size_t B, size_t H, int reset_after, recur_ptr xg, recur_ptr hg, recur_ptr h_prev,
                recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t);
int cpu_gru_bwd(void *dev, size_t B, size_t H, int reset_after, recur_ptr xg, recur_ptr hg, recur_ptr h_prev,
                recur_ptr dy, size_t ldy, recur_ptr dh, recur_ptr dxg, recur_ptr dhg, recur_ptr lengths, size_t t);
int cpu_gru_reset(void *dev, size_t B, size_t H, recur_ptr xg, recur_ptr hg, recur_ptr h_prev, recur_ptr rh,
                  recur_ptr lengths, size_t t);
int cpu_gru_reset_bwd(void *dev, size_t B, size_t H, recur_ptr xg, recur_ptr h_prev, recur_ptr drh, recur_ptr dxg,
                      recur_ptr dhg, recur_ptr dh, recur_ptr lengths, size_t t);
int cpu_rnn_fwd(void *dev, size_t B, size_t H, int act, recur_ptr pre, recur_ptr h_prev, recur_ptr h, recur_ptr y,
                size_t ldy, recur_ptr lengths, size_t t);
int cpu_rnn_bwd(void *dev, size_t B, size_t H, int act, recur_ptr h, recur_ptr dy, size_t ldy, recur_ptr dh,
                recur_ptr dpre, recur_ptr lengths, size_t t);

/* ---- a whole forward step (cpu_cells.c) ---- */
int cpu_rnn_step(void *dev, int cell, size_t B, size_t H, recur_ptr h_prev, recur_ptr w, size_t ldw, recur_ptr bias_x,
                 recur_ptr bias_h, recur_ptr xg, recur_ptr hg, recur_ptr c_prev, recur_ptr c, recur_ptr h, recur_ptr y,
                 size_t ldy, recur_ptr lengths, size_t t);
int cpu_rnn_step_input(void *dev, int cell, size_t B, size_t H, size_t in, recur_ptr x, size_t ldx, recur_ptr wx,
                       size_t ldwx, recur_ptr h_prev, recur_ptr w, size_t ldw, recur_ptr bias_x, recur_ptr bias_h,
                       recur_ptr xg, recur_ptr hg, recur_ptr c_prev, recur_ptr c, recur_ptr h, recur_ptr y, size_t ldy,
                       recur_ptr lengths, size_t t);
int cpu_rnn_steps_input(void *dev, int cell, size_t T, size_t B, size_t H, size_t in, int reverse, recur_ptr x,
                        size_t ldx, recur_ptr wx, size_t ldwx, recur_ptr w, size_t ldw, recur_ptr bias_x,
                        recur_ptr bias_h, recur_ptr s, recur_ptr c, recur_ptr xg, recur_ptr hg, recur_ptr y, size_t ldy,
                        recur_ptr lengths);
int cpu_rnn_steps(void *dev, int cell, size_t T, size_t B, size_t H, int reverse, recur_ptr w, size_t ldw,
                  recur_ptr bias_x, recur_ptr bias_h, recur_ptr s, recur_ptr c, recur_ptr xg, recur_ptr hg, recur_ptr y,
                  size_t ldy, recur_ptr lengths);
int cpu_rnn_steps_bwd(void *dev, int cell, size_t T, size_t B, size_t H, int reverse, recur_ptr w, size_t ldw,
                      recur_ptr s, recur_ptr c, recur_ptr xg, recur_ptr hg, recur_ptr dy, size_t ldy, recur_ptr dh,
                      recur_ptr dc, recur_ptr dg, recur_ptr dhg, recur_ptr lengths);

#endif
