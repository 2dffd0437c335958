/*
 * What the cpu backend's cell ops (cpu_cells.c) share with its whole-sequence ops (cpu_steps.c): a cell
 * task's arguments and the tasks and helpers the sequence ops run per step.
 */
#ifndef RECUR_CPU_CELLS_H
#define RECUR_CPU_CELLS_H

#include "cpu_internal.h"
#include "cpu_simd.h"

typedef struct {
    const cpu_simd_kernels *k;
    size_t B, H;
    int flag; /* reset_after / act */
    float *p[8];
    const float *bh, *bx; /* forward: rnn_step's biases (NULL for the cell ops themselves) */
    const float *rec;     /* forward LSTM: rnn_step's recurrent product h_prev W held apart (B x 4H), or NULL */
    const int32_t *lengths;
    size_t ldy, t;
} cell_a;

#define ROW(p, b, w) ((p) ? (p) + (b) * (w) : NULL)
#define LEN(a, b) ((a)->lengths ? (a)->lengths + (b) : NULL)
#define VALID(a, b) (!(a)->lengths || (int64_t)(a)->t < (int64_t)(a)->lengths[b])

/* Run a cell task over the rows of *a on the pool (split only when each thread gets CPU_MIN_CELL elements). */
void cpu_run_cell(cpu_dev *d, cpu_task_fn fn, cell_a *a);
/* The forward cell part of rnn_step (after its GEMMs), with rnn_step's biases: the task, its arguments in *a. */
cpu_task_fn cpu_step_cell(cpu_dev *d, int cell, size_t B, size_t H, recur_ptr h_prev, recur_ptr bias_x,
                          recur_ptr bias_h, recur_ptr xg, recur_ptr hg, recur_ptr c_prev, recur_ptr c, recur_ptr h,
                          recur_ptr y, size_t ldy, recur_ptr lengths, size_t t, cell_a *a);
/* Whether an LSTM step of B x H holds its recurrent product apart (rnn_step, rnn_steps): its GEMM with beta 0
 * into a scratch that the cell adds to the gates, which is bit-identical to beta 1 when K = H is one block. */
int cpu_lstm_apart_ok(const cpu_dev *d, int cell, size_t B, size_t H);
/* The GEMM terms of rnn_step_input: x W_x into xg, then h_prev W added to it (LSTM, RNN) or into hg (GRU). */
void cpu_input_step_terms(int cell, size_t H, size_t in, const float *x, size_t ldx, const float *wx, size_t ldwx,
                          const float *h_prev, const float *w, size_t ldw, float *xg, float *hg, cpu_gemm_term *terms);
/* The backward cell tasks (cpu_lstm_bwd, cpu_gru_bwd, cpu_rnn_bwd run them); arguments as those ops set *a. */
void cpu_lstm_bwd_task(void *arg, int ith, int nth);
void cpu_gru_bwd_task(void *arg, int ith, int nth);
void cpu_rnn_bwd_task(void *arg, int ith, int nth);

#endif
