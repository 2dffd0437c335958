/*
 * Op dispatch: each recur_op_* calls the backend's slot, or — when the slot is empty (or beyond an older
 * plugin's table) on host-addressable memory — the reference kernel on the host view of the buffers.
 */
#include <assert.h>
#include <string.h>

#include "internal.h"

static const char *const slot_names[] = {
    "fill", "copy", "scale", "axpy", "mul", "gemm", "add_bias", "sum_rows", "sum_sq", "act_fwd", "act_bwd",
    "softmax_fwd", "softmax_bwd", "lstm_fwd", "lstm_bwd", "gru_fwd", "gru_bwd", "gru_reset", "gru_reset_bwd",
    "rnn_fwd", "rnn_bwd", "select_step", "embed_fwd", "embed_bwd", "xent_fwd_bwd", "bce_fwd_bwd",
    "mse_fwd_bwd", "sgd_step", "adam_step", "clip_norm", "clip_value", "dropout", "transpose", "rnn_step",
    "rnn_step_input", "rnn_steps_input", "rnn_steps", "rnn_steps_bwd",
};
static_assert(sizeof slot_names / sizeof slot_names[0] == RECUR_OPS_COMPUTE_SLOTS,
              "slot_names must list every compute slot of recur_ops, in order");

const char *recur_ops_slot_name(size_t index) {
    return index < RECUR_OPS_COMPUTE_SLOTS ? slot_names[index] : "?";
}

/* The slot, or NULL when empty or past the end of the plugin's table (an older minor version). */
#define SLOT(d, name) (offsetof(recur_ops, name) < (d)->ops->struct_size ? (d)->ops->name : NULL)

#define DISPATCH(d, name, ...)                                                                             \
    do {                                                                                                   \
        if (SLOT(d, name)) return (d)->ops->name((d)->ctx, __VA_ARGS__);                                   \
        int st_ = recur_fallback_begin(d, offsetof(recur_ops, name));                                      \
        if (st_) return st_;                                                                               \
        return recur_ref_ops.name((void *)&(d)->hm, __VA_ARGS__);                                          \
    } while (0)

int recur_op_fill(recur_device *d, size_t n, float value, recur_ptr y) { DISPATCH(d, fill, n, value, y); }

int recur_op_copy(recur_device *d, size_t rows, size_t cols, recur_ptr x, size_t ldx, recur_ptr y, size_t ldy) {
    DISPATCH(d, copy, rows, cols, x, ldx, y, ldy);
}

int recur_op_scale(recur_device *d, size_t n, float alpha, recur_ptr y) { DISPATCH(d, scale, n, alpha, y); }

int recur_op_axpy(recur_device *d, size_t n, float alpha, recur_ptr x, recur_ptr y) {
    DISPATCH(d, axpy, n, alpha, x, y);
}

int recur_op_mul(recur_device *d, size_t n, float alpha, recur_ptr a, recur_ptr b, float beta, recur_ptr y) {
    DISPATCH(d, mul, n, alpha, a, b, beta, y);
}

int recur_op_gemm(recur_device *d, int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                  recur_ptr A, size_t lda, size_t stride_a, recur_ptr B, size_t ldb, size_t stride_b, float beta,
                  recur_ptr C, size_t ldc, size_t stride_c, size_t batch) {
    DISPATCH(d, gemm, trans_a, trans_b, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C, ldc, stride_c,
             batch);
}

int recur_op_add_bias(recur_device *d, size_t rows, size_t cols, recur_ptr bias, recur_ptr y, size_t ldy) {
    DISPATCH(d, add_bias, rows, cols, bias, y, ldy);
}

int recur_op_sum_rows(recur_device *d, size_t rows, size_t cols, recur_ptr x, size_t ldx, float beta, recur_ptr y) {
    DISPATCH(d, sum_rows, rows, cols, x, ldx, beta, y);
}

int recur_op_sum_sq(recur_device *d, size_t n, recur_ptr x, recur_ptr out) { DISPATCH(d, sum_sq, n, x, out); }

int recur_op_act_fwd(recur_device *d, int act, size_t n, recur_ptr x, recur_ptr y) {
    DISPATCH(d, act_fwd, act, n, x, y);
}

int recur_op_act_bwd(recur_device *d, int act, size_t n, recur_ptr y, recur_ptr dy, float beta, recur_ptr dx) {
    DISPATCH(d, act_bwd, act, n, y, dy, beta, dx);
}

int recur_op_softmax_fwd(recur_device *d, size_t rows, size_t cols, recur_ptr x, recur_ptr lengths, recur_ptr y) {
    DISPATCH(d, softmax_fwd, rows, cols, x, lengths, y);
}

int recur_op_softmax_bwd(recur_device *d, size_t rows, size_t cols, recur_ptr y, recur_ptr dy, recur_ptr dx) {
    DISPATCH(d, softmax_bwd, rows, cols, y, dy, dx);
}

int recur_op_lstm_fwd(recur_device *d, size_t B, size_t H, recur_ptr gates, recur_ptr c_prev, recur_ptr c,
                      recur_ptr h_prev, recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    DISPATCH(d, lstm_fwd, B, H, gates, c_prev, c, h_prev, h, y, ldy, lengths, t);
}

int recur_op_lstm_bwd(recur_device *d, size_t B, size_t H, recur_ptr gates, recur_ptr c_prev, recur_ptr c,
                      recur_ptr dy, size_t ldy, recur_ptr dh, recur_ptr dc, recur_ptr dgates, recur_ptr lengths,
                      size_t t) {
    DISPATCH(d, lstm_bwd, B, H, gates, c_prev, c, dy, ldy, dh, dc, dgates, lengths, t);
}

int recur_op_gru_fwd(recur_device *d, size_t B, size_t H, int reset_after, recur_ptr xg, recur_ptr hg,
                     recur_ptr h_prev, recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    DISPATCH(d, gru_fwd, B, H, reset_after, xg, hg, h_prev, h, y, ldy, lengths, t);
}

int recur_op_gru_bwd(recur_device *d, size_t B, size_t H, int reset_after, recur_ptr xg, recur_ptr hg,
                     recur_ptr h_prev, recur_ptr dy, size_t ldy, recur_ptr dh, recur_ptr dxg, recur_ptr dhg,
                     recur_ptr lengths, size_t t) {
    DISPATCH(d, gru_bwd, B, H, reset_after, xg, hg, h_prev, dy, ldy, dh, dxg, dhg, lengths, t);
}

int recur_op_gru_reset(recur_device *d, size_t B, size_t H, recur_ptr xg, recur_ptr hg, recur_ptr h_prev,
                       recur_ptr rh, recur_ptr lengths, size_t t) {
    DISPATCH(d, gru_reset, B, H, xg, hg, h_prev, rh, lengths, t);
}

int recur_op_gru_reset_bwd(recur_device *d, size_t B, size_t H, recur_ptr xg, recur_ptr h_prev, recur_ptr drh,
                           recur_ptr dxg, recur_ptr dhg, recur_ptr dh, recur_ptr lengths, size_t t) {
    DISPATCH(d, gru_reset_bwd, B, H, xg, h_prev, drh, dxg, dhg, dh, lengths, t);
}

int recur_op_rnn_fwd(recur_device *d, size_t B, size_t H, int act, recur_ptr pre, recur_ptr h_prev, recur_ptr h,
                     recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    DISPATCH(d, rnn_fwd, B, H, act, pre, h_prev, h, y, ldy, lengths, t);
}

int recur_op_rnn_bwd(recur_device *d, size_t B, size_t H, int act, recur_ptr h, recur_ptr dy, size_t ldy,
                     recur_ptr dh, recur_ptr dpre, recur_ptr lengths, size_t t) {
    DISPATCH(d, rnn_bwd, B, H, act, h, dy, ldy, dh, dpre, lengths, t);
}

int recur_op_select_step(recur_device *d, size_t B, size_t N, recur_ptr a, size_t lda, recur_ptr other,
                         size_t ldo, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    DISPATCH(d, select_step, B, N, a, lda, other, ldo, y, ldy, lengths, t);
}

int recur_op_embed_fwd(recur_device *d, size_t n, size_t dim, recur_ptr ids, recur_ptr table, recur_ptr out) {
    DISPATCH(d, embed_fwd, n, dim, ids, table, out);
}

int recur_op_embed_bwd(recur_device *d, size_t n, size_t dim, recur_ptr ids, recur_ptr dout, int32_t padding_idx,
                       recur_ptr dtable) {
    DISPATCH(d, embed_bwd, n, dim, ids, dout, padding_idx, dtable);
}

int recur_op_xent_fwd_bwd(recur_device *d, size_t N, size_t C, recur_ptr logits, recur_ptr targets,
                          recur_ptr weights, int32_t ignore_index, float label_smoothing, int reduction,
                          float grad_scale, recur_ptr loss, recur_ptr dlogits) {
    DISPATCH(d, xent_fwd_bwd, N, C, logits, targets, weights, ignore_index, label_smoothing, reduction, grad_scale,
             loss, dlogits);
}

int recur_op_bce_fwd_bwd(recur_device *d, size_t n, size_t C, recur_ptr logits, recur_ptr targets,
                         recur_ptr pos_weight, int reduction, float grad_scale, recur_ptr loss, recur_ptr dlogits) {
    DISPATCH(d, bce_fwd_bwd, n, C, logits, targets, pos_weight, reduction, grad_scale, loss, dlogits);
}

int recur_op_mse_fwd_bwd(recur_device *d, size_t n, recur_ptr pred, recur_ptr target, int reduction,
                         float grad_scale, recur_ptr loss, recur_ptr dpred) {
    DISPATCH(d, mse_fwd_bwd, n, pred, target, reduction, grad_scale, loss, dpred);
}

int recur_op_sgd_step(recur_device *d, size_t n, recur_ptr param, recur_ptr grad, recur_ptr momentum_buf, float lr,
                      float momentum, float dampening, int nesterov, float weight_decay, int64_t step) {
    DISPATCH(d, sgd_step, n, param, grad, momentum_buf, lr, momentum, dampening, nesterov, weight_decay, step);
}

int recur_op_adam_step(recur_device *d, size_t n, recur_ptr param, recur_ptr grad, recur_ptr m, recur_ptr v,
                       float lr, float beta1, float beta2, float eps, float weight_decay, int decoupled,
                       int64_t step) {
    DISPATCH(d, adam_step, n, param, grad, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, step);
}

int recur_op_clip_norm(recur_device *d, size_t n, recur_ptr grad, recur_ptr sumsq, float max_norm) {
    DISPATCH(d, clip_norm, n, grad, sumsq, max_norm);
}

int recur_op_clip_value(recur_device *d, size_t n, recur_ptr grad, float limit) {
    DISPATCH(d, clip_value, n, grad, limit);
}

int recur_op_dropout(recur_device *d, size_t n, float p, uint64_t seed, uint64_t counter, recur_ptr x,
                     recur_ptr y) {
    DISPATCH(d, dropout, n, p, seed, counter, x, y);
}

int recur_op_transpose(recur_device *d, size_t rows, size_t cols, recur_ptr x, size_t ldx, recur_ptr y, size_t ldy) {
    DISPATCH(d, transpose, rows, cols, x, ldx, y, ldy);
}

int recur_op_rnn_step(recur_device *d, int cell, size_t B, size_t H, recur_ptr h_prev, recur_ptr w, size_t ldw,
                      recur_ptr bias_x, recur_ptr bias_h, recur_ptr xg, recur_ptr hg, recur_ptr c_prev, recur_ptr c,
                      recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    DISPATCH(d, rnn_step, cell, B, H, h_prev, w, ldw, bias_x, bias_h, xg, hg, c_prev, c, h, y, ldy, lengths, t);
}

int recur_op_rnn_step_input(recur_device *d, int cell, size_t B, size_t H, size_t in, recur_ptr x, size_t ldx,
                            recur_ptr wx, size_t ldwx, recur_ptr h_prev, recur_ptr w, size_t ldw, recur_ptr bias_x,
                            recur_ptr bias_h, recur_ptr xg, recur_ptr hg, recur_ptr c_prev, recur_ptr c, recur_ptr h,
                            recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    DISPATCH(d, rnn_step_input, cell, B, H, in, x, ldx, wx, ldwx, h_prev, w, ldw, bias_x, bias_h, xg, hg, c_prev, c, h,
             y, ldy, lengths, t);
}

int recur_op_rnn_steps_input(recur_device *d, int cell, size_t T, size_t B, size_t H, size_t in, int reverse,
                             recur_ptr x, size_t ldx, recur_ptr wx, size_t ldwx, recur_ptr w, size_t ldw,
                             recur_ptr bias_x, recur_ptr bias_h, recur_ptr s, recur_ptr c, recur_ptr xg, recur_ptr hg,
                             recur_ptr y, size_t ldy, recur_ptr lengths) {
    DISPATCH(d, rnn_steps_input, cell, T, B, H, in, reverse, x, ldx, wx, ldwx, w, ldw, bias_x, bias_h, s, c, xg, hg, y,
             ldy, lengths);
}

int recur_op_rnn_steps(recur_device *d, int cell, size_t T, size_t B, size_t H, int reverse, recur_ptr w, size_t ldw,
                       recur_ptr bias_x, recur_ptr bias_h, recur_ptr s, recur_ptr c, recur_ptr xg, recur_ptr hg,
                       recur_ptr y, size_t ldy, recur_ptr lengths) {
    DISPATCH(d, rnn_steps, cell, T, B, H, reverse, w, ldw, bias_x, bias_h, s, c, xg, hg, y, ldy, lengths);
}

int recur_op_rnn_steps_bwd(recur_device *d, int cell, size_t T, size_t B, size_t H, int reverse, recur_ptr w,
                           size_t ldw, recur_ptr s, recur_ptr c, recur_ptr xg, recur_ptr hg, recur_ptr dy, size_t ldy,
                           recur_ptr dh, recur_ptr dc, recur_ptr dg, recur_ptr dhg, recur_ptr lengths) {
    DISPATCH(d, rnn_steps_bwd, cell, T, B, H, reverse, w, ldw, s, c, xg, hg, dy, ldy, dh, dc, dg, dhg, lengths);
}

static int slot_index(const char *name) {
    for (size_t i = 0; i < RECUR_OPS_COMPUTE_SLOTS; i++)
        if (!strcmp(slot_names[i], name)) return (int)i;
    return -1;
}

int recur_op_available(const recur_device *d, const char *name) {
    const int i = slot_index(name);
    /* on host-addressable memory the reference kernel stands in for an empty slot */
    return i >= 0 && (d->info.host_addressable || recur_ops_slot(d->ops, (size_t)i) != NULL);
}

int recur_op_native(const recur_device *d, const char *name) {
    const int i = slot_index(name);
    return i >= 0 && recur_ops_slot(d->ops, (size_t)i) != NULL;
}
