/*
 * Reference kernels over raw host pointers: the math of every op of recur_ops (include/recur/backend.h),
 * one function per op, named recur_k_<op>. Each takes the op's sizes and scalars (same order as the op,
 * recur_ptr arguments replaced by float * / int32_t *) plus (ith, nth): this call processes slice ith of
 * nth of the kernel's split dimension, the elements [ith*R/nth, (ith+1)*R/nth) of R (recur_k_slice).
 *
 * A threaded backend calls a kernel once per thread with the same arguments and its own (ith, nth); the
 * ref backend calls it once with (0, 1). Results are bit-identical for every nth: no kernel sums across
 * slices, and each output element is written by exactly one slice with the same arithmetic. All slices
 * must have returned before the results are read (a barrier), as usual.
 *
 * Split dimension of each kernel (R):
 *   elementwise (fill, scale, axpy, mul, act_*, sgd, adam, clip_*, dropout)  n, in contiguous chunks
 *   copy, add_bias, softmax_*                                               rows
 *   transpose                                                               cols (rows of the output)
 *   gemm                                                                    M (rows of C), every batch item
 *   lstm_*, gru_*, rnn_*, select_step                                       B (samples)
 *   rnn_step, rnn_step_input, rnn_steps_input                               B (their gemm, bias and cell parts)
 *   embed_fwd                                                               n (ids)
 *   sum_rows, embed_bwd                                                     columns (each output element
 *                                                                           still sums in increasing row order)
 *   xent                                                                    N (rows of dlogits); the loss
 *   bce, mse                                                                n (elements of the gradient); the loss
 *       scalar is written by ith == 0 alone, in one fixed-order pass over all rows; xent's every slice
 *       computes the normaliser W itself (an O(N) pass), so its gradient rows do not wait for ith == 0.
 *   sum_sq                                                                  none: ith == 0 does it all
 *
 * Pointers that an op marks optional (lengths, y, dy, h_prev where allowed, weights, pos_weight, dlogits,
 * dpred, momentum buffer, select_step's other) are NULL when absent. Sizes may be 0.
 */
#ifndef RECUR_REF_KERNELS_H
#define RECUR_REF_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "recur/backend.h"

/* Elements [lo, hi) of R for slice ith of nth (0 <= ith < nth). */
static inline void recur_k_slice(size_t R, int ith, int nth, size_t *lo, size_t *hi) {
    *lo = R * (size_t)ith / (size_t)nth;
    *hi = R * (size_t)(ith + 1) / (size_t)nth;
}

/* y = f(x) for recur_activation f:  identity x;  sigmoid 1 / (1 + e^-x);  tanh;  relu (x < 0 ? 0 : x, so NaN
 * and -0 pass through, as torch.relu). */
static inline float recur_k_act(int act, float x) {
    switch (act) {
    case RECUR_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case RECUR_ACT_TANH: return tanhf(x);
    case RECUR_ACT_RELU: return x < 0.0f ? 0.0f : x;
    default: return x;
    }
}

/* f'(x) written from y = f(x):  sigmoid y (1 - y);  tanh 1 - y^2;  relu [y > 0];  identity 1. */
static inline float recur_k_act_grad(int act, float y) {
    switch (act) {
    case RECUR_ACT_SIGMOID: return y * (1.0f - y);
    case RECUR_ACT_TANH: return 1.0f - y * y;
    case RECUR_ACT_RELU: return y > 0.0f ? 1.0f : 0.0f;
    default: return 1.0f;
    }
}

/* valid(b, t) = !lengths || t < lengths[b] */
static inline int recur_k_valid(const int32_t *lengths, size_t b, size_t t) {
    return !lengths || (int64_t)t < (int64_t)lengths[b];
}

/* ---- memory (ref_memory_ops.c) ---- */
void recur_k_fill(size_t n, float value, float *y, int ith, int nth);
void recur_k_copy(size_t rows, size_t cols, const float *x, size_t ldx, float *y, size_t ldy, int ith, int nth);
void recur_k_transpose(size_t rows, size_t cols, const float *x, size_t ldx, float *y, size_t ldy, int ith,
                       int nth);
void recur_k_scale(size_t n, float alpha, float *y, int ith, int nth);
void recur_k_axpy(size_t n, float alpha, const float *x, float *y, int ith, int nth);
void recur_k_mul(size_t n, float alpha, const float *a, const float *b, float beta, float *y, int ith, int nth);

/* ---- GEMM (ref_gemm.c): split over rows of C (M) of every batch item ---- */
void recur_k_gemm(int ta, int tb, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda, size_t sa,
                  const float *B, size_t ldb, size_t sb, float beta, float *C, size_t ldc, size_t sc, size_t batch,
                  int ith, int nth);

/* ---- bias and reductions (ref_reduce.c) ---- */
void recur_k_add_bias(size_t rows, size_t cols, const float *bias, float *y, size_t ldy, int ith, int nth);
/* Split over columns. */
void recur_k_sum_rows(size_t rows, size_t cols, const float *x, size_t ldx, float beta, float *y, int ith, int nth);
/* Only ith == 0 works (one sum in increasing i). */
void recur_k_sum_sq(size_t n, const float *x, float *out, int ith, int nth);

/* ---- activations and softmax (ref_activations.c) ---- */
void recur_k_act_fwd(int act, size_t n, const float *x, float *y, int ith, int nth);
void recur_k_act_bwd(int act, size_t n, const float *y, const float *dy, float beta, float *dx, int ith, int nth);
void recur_k_softmax_fwd(size_t rows, size_t cols, const float *x, const int32_t *lengths, float *y, int ith, int nth);
void recur_k_softmax_bwd(size_t rows, size_t cols, const float *y, const float *dy, float *dx, int ith, int nth);

/* ---- recurrent cells, one step (ref_cells.c): split over B ---- */
void recur_k_lstm_fwd(size_t B, size_t H, float *gates, const float *c_prev, float *c, const float *h_prev, float *h,
                      float *y, size_t ldy, const int32_t *lengths, size_t t, int ith, int nth);
void recur_k_lstm_bwd(size_t B, size_t H, const float *gates, const float *c_prev, const float *c, const float *dy,
                      size_t ldy, float *dh, float *dc, float *dgates, const int32_t *lengths, size_t t, int ith,
                      int nth);
void recur_k_gru_fwd(size_t B, size_t H, int reset_after, float *xg, const float *hg, const float *h_prev, float *h,
                     float *y, size_t ldy, const int32_t *lengths, size_t t, int ith, int nth);
void recur_k_gru_bwd(size_t B, size_t H, int reset_after, const float *xg, const float *hg, const float *h_prev,
                     const float *dy, size_t ldy, float *dh, float *dxg, float *dhg, const int32_t *lengths, size_t t,
                     int ith, int nth);
void recur_k_gru_reset(size_t B, size_t H, float *xg, const float *hg, const float *h_prev, float *rh,
                       const int32_t *lengths, size_t t, int ith, int nth);
void recur_k_gru_reset_bwd(size_t B, size_t H, const float *xg, const float *h_prev, const float *drh, float *dxg,
                           float *dhg, float *dh, const int32_t *lengths, size_t t, int ith, int nth);
void recur_k_rnn_fwd(size_t B, size_t H, int act, const float *pre, const float *h_prev, float *h, float *y, size_t ldy,
                     const int32_t *lengths, size_t t, int ith, int nth);
void recur_k_rnn_bwd(size_t B, size_t H, int act, const float *h, const float *dy, size_t ldy, float *dh, float *dpre,
                     const int32_t *lengths, size_t t, int ith, int nth);
/* ---- a whole forward step (ref_step.c): split over B ---- */
/* G, the gate blocks of a recur_step_cell (4, 3 or 1), or 0 for an unknown cell. */
size_t recur_k_step_gates(int cell);
/* Step `step` (0 .. T-1) of one direction of a sequence, as rnn_steps_input defines it: its time t, the state
 * slot it reads (i) and the one it writes (o). */
static inline void recur_k_step_slots(size_t T, int reverse, size_t step, size_t *t, size_t *i, size_t *o) {
    *t = reverse ? T - 1 - step : step;
    *i = reverse ? *t + 1 : *t;
    *o = reverse ? *t : *t + 1;
}
void recur_k_rnn_step(int cell, size_t B, size_t H, const float *h_prev, const float *w, size_t ldw,
                      const float *bias_x, const float *bias_h, float *xg, float *hg, const float *c_prev, float *c,
                      float *h, float *y, size_t ldy, const int32_t *lengths, size_t t, int ith, int nth);
void recur_k_rnn_step_input(int cell, size_t B, size_t H, size_t in, const float *x, size_t ldx, const float *wx,
                            size_t ldwx, const float *h_prev, const float *w, size_t ldw, const float *bias_x,
                            const float *bias_h, float *xg, float *hg, const float *c_prev, float *c, float *h,
                            float *y, size_t ldy, const int32_t *lengths, size_t t, int ith, int nth);
void recur_k_rnn_steps_input(int cell, size_t T, size_t B, size_t H, size_t in, int reverse, const float *x, size_t ldx,
                             const float *wx, size_t ldwx, const float *w, size_t ldw, const float *bias_x,
                             const float *bias_h, float *s, float *c, float *xg, float *hg, float *y, size_t ldy,
                             const int32_t *lengths, int ith, int nth);
void recur_k_rnn_steps(int cell, size_t T, size_t B, size_t H, int reverse, const float *w, size_t ldw,
                       const float *bias_x, const float *bias_h, float *s, float *c, float *xg, float *hg, float *y,
                       size_t ldy, const int32_t *lengths, int ith, int nth);
void recur_k_rnn_steps_bwd(int cell, size_t T, size_t B, size_t H, int reverse, const float *w, size_t ldw,
                           const float *s, const float *c, const float *xg, const float *hg, const float *dy, size_t ldy,
                           float *dh, float *dc, float *dg, float *dhg, const int32_t *lengths, int ith, int nth);
void recur_k_select_step(size_t B, size_t N, const float *a, size_t lda, const float *other, size_t ldo, float *y,
                         size_t ldy, const int32_t *lengths, size_t t, int ith, int nth);

/* ---- embedding (ref_embedding.c) ---- */
void recur_k_embed_fwd(size_t n, size_t dim, const int32_t *ids, const float *table, float *out, int ith, int nth);
/* Split over columns: each slice visits i in increasing order. */
void recur_k_embed_bwd(size_t n, size_t dim, const int32_t *ids, const float *dout, int32_t padding_idx,
                       float *dtable, int ith, int nth);

/* ---- losses (ref_losses.c): gradient split over rows / elements, loss written by ith == 0 ---- */
void recur_k_xent(size_t N, size_t C, const float *logits, const int32_t *targets, const float *weights,
                  int32_t ignore_index, float smoothing, int reduction, float grad_scale, float *loss, float *dlogits,
                  int ith, int nth);
void recur_k_bce(size_t n, size_t C, const float *logits, const float *targets, const float *pos_weight, int reduction,
                 float grad_scale, float *loss, float *dlogits, int ith, int nth);
void recur_k_mse(size_t n, const float *pred, const float *target, int reduction, float grad_scale, float *loss,
                 float *dpred, int ith, int nth);

/* ---- optimizers, clipping, dropout (ref_optim.c): elementwise over n ---- */
void recur_k_sgd(size_t n, float *p, const float *g, float *buf, float lr, float momentum, float dampening,
                 int nesterov, float wd, int64_t step, int ith, int nth);
void recur_k_adam(size_t n, float *p, const float *g, float *m, float *v, float lr, float b1, float b2, float eps,
                  float wd, int decoupled, int64_t step, int ith, int nth);
/* Every slice reads *sumsq; none writes it. */
void recur_k_clip_norm(size_t n, float *g, const float *sumsq, float max_norm, int ith, int nth);
void recur_k_clip_value(size_t n, float *g, float limit, int ith, int nth);
void recur_k_dropout(size_t n, float p, uint64_t seed, uint64_t counter, const float *x, float *y, int ith, int nth);

#endif
