/*
 * Reference kernels over raw host pointers. Each takes the op's sizes and scalars plus (ith, nth): this
 * call's slice of the natural row dimension, rows [ith*R/nth, (ith+1)*R/nth). A threaded backend calls
 * them from its pool; results never depend on nth because no kernel sums across slices (reductions over
 * rows are split by columns, or run only on ith == 0). Optional pointers are NULL when absent.
 */
#ifndef RECUR_REF_KERNELS_H
#define RECUR_REF_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Rows [lo, hi) of R for slice ith of nth. */
static inline void recur_k_slice(size_t R, int ith, int nth, size_t *lo, size_t *hi) {
    *lo = R * (size_t)ith / (size_t)nth;
    *hi = R * (size_t)(ith + 1) / (size_t)nth;
}

void recur_k_fill(size_t n, float value, float *y, int ith, int nth);
void recur_k_copy(size_t rows, size_t cols, const float *x, size_t ldx, float *y, size_t ldy, int ith, int nth);
void recur_k_scale(size_t n, float alpha, float *y, int ith, int nth);
void recur_k_axpy(size_t n, float alpha, const float *x, float *y, int ith, int nth);
void recur_k_mul(size_t n, float alpha, const float *a, const float *b, float beta, float *y, int ith, int nth);
/* Split over rows of C (M) of every batch item. */
void recur_k_gemm(int ta, int tb, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda, size_t sa,
                  const float *B, size_t ldb, size_t sb, float beta, float *C, size_t ldc, size_t sc, size_t batch,
                  int ith, int nth);
void recur_k_add_bias(size_t rows, size_t cols, const float *bias, float *y, size_t ldy, int ith, int nth);
/* Split over columns. */
void recur_k_sum_rows(size_t rows, size_t cols, const float *x, size_t ldx, float beta, float *y, int ith, int nth);
/* Only ith == 0 works. */
void recur_k_sum_sq(size_t n, const float *x, float *out, int ith, int nth);
void recur_k_act_fwd(int act, size_t n, const float *x, float *y, int ith, int nth);
void recur_k_act_bwd(int act, size_t n, const float *y, const float *dy, float beta, float *dx, int ith, int nth);
void recur_k_softmax_fwd(size_t rows, size_t cols, const float *x, const int32_t *lengths, float *y, int ith, int nth);
void recur_k_softmax_bwd(size_t rows, size_t cols, const float *y, const float *dy, float *dx, int ith, int nth);
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
void recur_k_select_step(size_t B, size_t N, const float *a, size_t lda, const float *other, size_t ldo, float *y,
                         size_t ldy, const int32_t *lengths, size_t t, int ith, int nth);
void recur_k_embed_fwd(size_t n, size_t dim, const int32_t *ids, const float *table, float *out, int ith, int nth);
/* Split over columns: each slice visits i in increasing order. */
void recur_k_embed_bwd(size_t n, size_t dim, const int32_t *ids, const float *dout, int32_t padding_idx,
                       float *dtable, int ith, int nth);
/* Losses: only ith == 0 works (one fixed-order sum). */
void recur_k_xent(size_t N, size_t C, const float *logits, const int32_t *targets, const float *weights,
                  int32_t ignore_index, float smoothing, int reduction, float grad_scale, float *loss, float *dlogits,
                  int ith, int nth);
void recur_k_bce(size_t n, size_t C, const float *logits, const float *targets, const float *pos_weight, int reduction,
                 float grad_scale, float *loss, float *dlogits, int ith, int nth);
void recur_k_mse(size_t n, const float *pred, const float *target, int reduction, float grad_scale, float *loss,
                 float *dpred, int ith, int nth);
void recur_k_sgd(size_t n, float *p, const float *g, float *buf, float lr, float momentum, float dampening, int nesterov,
                 float wd, int64_t step, int ith, int nth);
void recur_k_adam(size_t n, float *p, const float *g, float *m, float *v, float lr, float b1, float b2, float eps,
                  float wd, int decoupled, int64_t step, int ith, int nth);
void recur_k_clip_norm(size_t n, float *g, const float *sumsq, float max_norm, int ith, int nth);
void recur_k_clip_value(size_t n, float *g, float limit, int ith, int nth);
void recur_k_dropout(size_t n, float p, uint64_t seed, uint64_t counter, const float *x, float *y, int ith, int nth);

#endif
