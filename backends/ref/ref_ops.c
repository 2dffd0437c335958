#define _POSIX_C_SOURCE 200809L
/* The reference op table: each slot resolves its buffers to host pointers and runs the kernel whole
 * (ith = 0, nth = 1). Memory slots are the ref plugin's own: 64-byte aligned host buffers. */
#include <stdlib.h>
#include <string.h>

#include "ref_kernels.h"
#include "ref_ops.h"

const recur_services *recur_ref_services;

struct recur_buf {
    size_t bytes;
    void *data;
};

#define F(p) ((float *)resolve(dev, p))
#define I(p) ((int32_t *)resolve(dev, p))

static void *resolve(void *dev, recur_ptr p) {
    if (!p.buf) return NULL;
    const recur_hostmem *hm = dev;
    return (float *)hm->host_ptr(hm->dev, p.buf) + p.off;
}

static int invalid(const char *what, int value) {
    if (recur_ref_services) return recur_ref_services->set_error(RECUR_E_INVALID, "ref: unknown %s %d", what, value);
    return RECUR_E_INVALID;
}

static int out_of_range(const char *what, double value, const char *range) {
    if (recur_ref_services)
        return recur_ref_services->set_error(RECUR_E_INVALID, "ref: %s = %g, must be in %s", what, value, range);
    return RECUR_E_INVALID;
}

/* ---- memory ----------------------------------------------------------------------------------------- */
static int ref_buf_alloc(void *dev, size_t bytes, recur_buf **out) {
    recur_buf *b = malloc(sizeof *b);
    size_t rounded = (bytes + 63) & ~(size_t)63;
    void *data = NULL;
    if (!b || posix_memalign(&data, 64, rounded ? rounded : 64) != 0) {
        free(b);
        if (recur_ref_services)
            return recur_ref_services->set_error(RECUR_E_NOMEM, "ref: cannot allocate %zu bytes", bytes);
        return RECUR_E_NOMEM;
    }
    b->bytes = bytes;
    b->data = data;
    *out = b;
    return RECUR_OK;
}
static void ref_buf_free(void *dev, recur_buf *b) {
    if (!b) return;
    free(b->data);
    free(b);
}
static void *ref_host_ptr(void *dev, recur_buf *b) { return b ? b->data : NULL; }
static int ref_write(void *dev, recur_ptr dst, const void *src, size_t n) {
    if (n) memcpy((float *)dst.buf->data + dst.off, src, n * 4);
    return RECUR_OK;
}
static int ref_read(void *dev, void *dst, recur_ptr src, size_t n) {
    if (n) memcpy(dst, (const float *)src.buf->data + src.off, n * 4);
    return RECUR_OK;
}
static int ref_sync(void *dev) { return RECUR_OK; }

/* ---- compute ---------------------------------------------------------------------------------------- */
static int ref_fill(void *dev, size_t n, float value, recur_ptr y) {
    recur_k_fill(n, value, F(y), 0, 1);
    return RECUR_OK;
}
static int ref_copy(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, recur_ptr y, size_t ldy) {
    recur_k_copy(rows, cols, F(x), ldx, F(y), ldy, 0, 1);
    return RECUR_OK;
}
static int ref_transpose(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, recur_ptr y, size_t ldy) {
    recur_k_transpose(rows, cols, F(x), ldx, F(y), ldy, 0, 1);
    return RECUR_OK;
}
static int ref_scale(void *dev, size_t n, float alpha, recur_ptr y) {
    recur_k_scale(n, alpha, F(y), 0, 1);
    return RECUR_OK;
}
static int ref_axpy(void *dev, size_t n, float alpha, recur_ptr x, recur_ptr y) {
    recur_k_axpy(n, alpha, F(x), F(y), 0, 1);
    return RECUR_OK;
}
static int ref_mul(void *dev, size_t n, float alpha, recur_ptr a, recur_ptr b, float beta, recur_ptr y) {
    recur_k_mul(n, alpha, F(a), F(b), beta, F(y), 0, 1);
    return RECUR_OK;
}
static int ref_gemm(void *dev, int ta, int tb, size_t M, size_t N, size_t K, float alpha, recur_ptr A, size_t lda,
                    size_t sa, recur_ptr B, size_t ldb, size_t sb, float beta, recur_ptr C, size_t ldc, size_t sc,
                    size_t batch) {
    recur_k_gemm(ta, tb, M, N, K, alpha, F(A), lda, sa, F(B), ldb, sb, beta, F(C), ldc, sc, batch, 0, 1);
    return RECUR_OK;
}
static int ref_add_bias(void *dev, size_t rows, size_t cols, recur_ptr bias, recur_ptr y, size_t ldy) {
    recur_k_add_bias(rows, cols, F(bias), F(y), ldy, 0, 1);
    return RECUR_OK;
}
static int ref_sum_rows(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, float beta, recur_ptr y) {
    recur_k_sum_rows(rows, cols, F(x), ldx, beta, F(y), 0, 1);
    return RECUR_OK;
}
static int ref_sum_sq(void *dev, size_t n, recur_ptr x, recur_ptr out) {
    recur_k_sum_sq(n, F(x), F(out), 0, 1);
    return RECUR_OK;
}
static int check_act(int act) {
    return act < RECUR_ACT_IDENTITY || act > RECUR_ACT_RELU ? invalid("activation", act) : 0;
}
static int ref_act_fwd(void *dev, int act, size_t n, recur_ptr x, recur_ptr y) {
    if (check_act(act)) return RECUR_E_INVALID;
    recur_k_act_fwd(act, n, F(x), F(y), 0, 1);
    return RECUR_OK;
}
static int ref_act_bwd(void *dev, int act, size_t n, recur_ptr y, recur_ptr dy, float beta, recur_ptr dx) {
    if (check_act(act)) return RECUR_E_INVALID;
    recur_k_act_bwd(act, n, F(y), F(dy), beta, F(dx), 0, 1);
    return RECUR_OK;
}
static int ref_softmax_fwd(void *dev, size_t rows, size_t cols, recur_ptr x, recur_ptr lengths, recur_ptr y) {
    recur_k_softmax_fwd(rows, cols, F(x), I(lengths), F(y), 0, 1);
    return RECUR_OK;
}
static int ref_softmax_bwd(void *dev, size_t rows, size_t cols, recur_ptr y, recur_ptr dy, recur_ptr dx) {
    recur_k_softmax_bwd(rows, cols, F(y), F(dy), F(dx), 0, 1);
    return RECUR_OK;
}
static int ref_lstm_fwd(void *dev, size_t B, size_t H, recur_ptr gates, recur_ptr c_prev, recur_ptr c, recur_ptr h_prev,
                        recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    recur_k_lstm_fwd(B, H, F(gates), F(c_prev), F(c), F(h_prev), F(h), F(y), ldy, I(lengths), t, 0, 1);
    return RECUR_OK;
}
static int ref_lstm_bwd(void *dev, size_t B, size_t H, recur_ptr gates, recur_ptr c_prev, recur_ptr c, recur_ptr dy,
                        size_t ldy, recur_ptr dh, recur_ptr dc, recur_ptr dgates, recur_ptr lengths, size_t t) {
    recur_k_lstm_bwd(B, H, F(gates), F(c_prev), F(c), F(dy), ldy, F(dh), F(dc), F(dgates), I(lengths), t, 0, 1);
    return RECUR_OK;
}
static int ref_gru_fwd(void *dev, size_t B, size_t H, int reset_after, recur_ptr xg, recur_ptr hg, recur_ptr h_prev,
                       recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    recur_k_gru_fwd(B, H, reset_after, F(xg), F(hg), F(h_prev), F(h), F(y), ldy, I(lengths), t, 0, 1);
    return RECUR_OK;
}
static int ref_gru_bwd(void *dev, size_t B, size_t H, int reset_after, recur_ptr xg, recur_ptr hg, recur_ptr h_prev,
                       recur_ptr dy, size_t ldy, recur_ptr dh, recur_ptr dxg, recur_ptr dhg, recur_ptr lengths,
                       size_t t) {
    recur_k_gru_bwd(B, H, reset_after, F(xg), F(hg), F(h_prev), F(dy), ldy, F(dh), F(dxg), F(dhg), I(lengths), t, 0, 1);
    return RECUR_OK;
}
static int ref_gru_reset(void *dev, size_t B, size_t H, recur_ptr xg, recur_ptr hg, recur_ptr h_prev, recur_ptr rh,
                         recur_ptr lengths, size_t t) {
    recur_k_gru_reset(B, H, F(xg), F(hg), F(h_prev), F(rh), I(lengths), t, 0, 1);
    return RECUR_OK;
}
static int ref_gru_reset_bwd(void *dev, size_t B, size_t H, recur_ptr xg, recur_ptr h_prev, recur_ptr drh,
                             recur_ptr dxg, recur_ptr dhg, recur_ptr dh, recur_ptr lengths, size_t t) {
    recur_k_gru_reset_bwd(B, H, F(xg), F(h_prev), F(drh), F(dxg), F(dhg), F(dh), I(lengths), t, 0, 1);
    return RECUR_OK;
}
static int check_rnn_act(int act) {
    return act != RECUR_ACT_TANH && act != RECUR_ACT_RELU ? invalid("RNN activation (tanh or relu)", act) : 0;
}
static int ref_rnn_fwd(void *dev, size_t B, size_t H, int act, recur_ptr pre, recur_ptr h_prev, recur_ptr h,
                       recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    if (check_rnn_act(act)) return RECUR_E_INVALID;
    recur_k_rnn_fwd(B, H, act, F(pre), F(h_prev), F(h), F(y), ldy, I(lengths), t, 0, 1);
    return RECUR_OK;
}
static int ref_rnn_step(void *dev, int cell, size_t B, size_t H, recur_ptr h_prev, recur_ptr w, size_t ldw,
                        recur_ptr bias_x, recur_ptr bias_h, recur_ptr xg, recur_ptr hg, recur_ptr c_prev, recur_ptr c,
                        recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    if (!recur_k_step_gates(cell)) return invalid("rnn_step cell (RECUR_STEP_*)", cell);
    recur_k_rnn_step(cell, B, H, F(h_prev), F(w), ldw, F(bias_x), F(bias_h), F(xg), F(hg), F(c_prev), F(c), F(h), F(y),
                     ldy, I(lengths), t, 0, 1);
    return RECUR_OK;
}
static int ref_rnn_step_input(void *dev, int cell, size_t B, size_t H, size_t in, recur_ptr x, size_t ldx,
                              recur_ptr wx, size_t ldwx, recur_ptr h_prev, recur_ptr w, size_t ldw, recur_ptr bias_x,
                              recur_ptr bias_h, recur_ptr xg, recur_ptr hg, recur_ptr c_prev, recur_ptr c, recur_ptr h,
                              recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    if (!recur_k_step_gates(cell)) return invalid("rnn_step_input cell (RECUR_STEP_*)", cell);
    recur_k_rnn_step_input(cell, B, H, in, F(x), ldx, F(wx), ldwx, F(h_prev), F(w), ldw, F(bias_x), F(bias_h), F(xg),
                           F(hg), F(c_prev), F(c), F(h), F(y), ldy, I(lengths), t, 0, 1);
    return RECUR_OK;
}
static int ref_rnn_steps_input(void *dev, int cell, size_t T, size_t B, size_t H, size_t in, int reverse, recur_ptr x,
                               size_t ldx, recur_ptr wx, size_t ldwx, recur_ptr w, size_t ldw, recur_ptr bias_x,
                               recur_ptr bias_h, recur_ptr s, recur_ptr c, recur_ptr xg, recur_ptr hg, recur_ptr y,
                               size_t ldy, recur_ptr lengths) {
    if (!recur_k_step_gates(cell)) return invalid("rnn_steps_input cell (RECUR_STEP_*)", cell);
    recur_k_rnn_steps_input(cell, T, B, H, in, reverse, F(x), ldx, F(wx), ldwx, F(w), ldw, F(bias_x), F(bias_h), F(s),
                            F(c), F(xg), F(hg), F(y), ldy, I(lengths), 0, 1);
    return RECUR_OK;
}
static int ref_rnn_steps(void *dev, int cell, size_t T, size_t B, size_t H, int reverse, recur_ptr w, size_t ldw,
                         recur_ptr bias_x, recur_ptr bias_h, recur_ptr s, recur_ptr c, recur_ptr xg, recur_ptr hg,
                         recur_ptr y, size_t ldy, recur_ptr lengths) {
    if (!recur_k_step_gates(cell)) return invalid("rnn_steps cell (RECUR_STEP_*)", cell);
    recur_k_rnn_steps(cell, T, B, H, reverse, F(w), ldw, F(bias_x), F(bias_h), F(s), F(c), F(xg), F(hg), F(y), ldy,
                      I(lengths), 0, 1);
    return RECUR_OK;
}
static int ref_rnn_steps_bwd(void *dev, int cell, size_t T, size_t B, size_t H, int reverse, recur_ptr w, size_t ldw,
                             recur_ptr s, recur_ptr c, recur_ptr xg, recur_ptr hg, recur_ptr dy, size_t ldy,
                             recur_ptr dh, recur_ptr dc, recur_ptr dg, recur_ptr dhg, recur_ptr lengths) {
    if (!recur_k_step_gates(cell)) return invalid("rnn_steps_bwd cell (RECUR_STEP_*)", cell);
    recur_k_rnn_steps_bwd(cell, T, B, H, reverse, F(w), ldw, F(s), F(c), F(xg), F(hg), F(dy), ldy, F(dh), F(dc), F(dg),
                          F(dhg), I(lengths), 0, 1);
    return RECUR_OK;
}
static int ref_rnn_bwd(void *dev, size_t B, size_t H, int act, recur_ptr h, recur_ptr dy, size_t ldy, recur_ptr dh,
                       recur_ptr dpre, recur_ptr lengths, size_t t) {
    if (check_rnn_act(act)) return RECUR_E_INVALID;
    recur_k_rnn_bwd(B, H, act, F(h), F(dy), ldy, F(dh), F(dpre), I(lengths), t, 0, 1);
    return RECUR_OK;
}
static int ref_select_step(void *dev, size_t B, size_t N, recur_ptr a, size_t lda, recur_ptr other, size_t ldo,
                           recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    recur_k_select_step(B, N, F(a), lda, F(other), ldo, F(y), ldy, I(lengths), t, 0, 1);
    return RECUR_OK;
}
static int ref_embed_fwd(void *dev, size_t n, size_t dim, recur_ptr ids, recur_ptr table, recur_ptr out) {
    recur_k_embed_fwd(n, dim, I(ids), F(table), F(out), 0, 1);
    return RECUR_OK;
}
static int ref_embed_bwd(void *dev, size_t n, size_t dim, recur_ptr ids, recur_ptr dout, int32_t padding_idx,
                         recur_ptr dtable) {
    recur_k_embed_bwd(n, dim, I(ids), F(dout), padding_idx, F(dtable), 0, 1);
    return RECUR_OK;
}
static int check_red(int r) { return r != RECUR_REDUCE_MEAN && r != RECUR_REDUCE_SUM ? invalid("reduction", r) : 0; }
static int ref_xent(void *dev, size_t N, size_t C, recur_ptr logits, recur_ptr targets, recur_ptr weights,
                    int32_t ignore_index, float smoothing, int reduction, float grad_scale, recur_ptr loss,
                    recur_ptr dlogits) {
    if (check_red(reduction)) return RECUR_E_INVALID;
    if (!(smoothing >= 0.0f && smoothing <= 1.0f))
        return out_of_range("label_smoothing", smoothing, "[0, 1]");
    recur_k_xent(N, C, F(logits), I(targets), F(weights), ignore_index, smoothing, reduction, grad_scale, F(loss),
                 F(dlogits), 0, 1);
    return RECUR_OK;
}
static int ref_bce(void *dev, size_t n, size_t C, recur_ptr logits, recur_ptr targets, recur_ptr pos_weight,
                   int reduction, float grad_scale, recur_ptr loss, recur_ptr dlogits) {
    if (check_red(reduction)) return RECUR_E_INVALID;
    recur_k_bce(n, C, F(logits), F(targets), F(pos_weight), reduction, grad_scale, F(loss), F(dlogits), 0, 1);
    return RECUR_OK;
}
static int ref_mse(void *dev, size_t n, recur_ptr pred, recur_ptr target, int reduction, float grad_scale,
                   recur_ptr loss, recur_ptr dpred) {
    if (check_red(reduction)) return RECUR_E_INVALID;
    recur_k_mse(n, F(pred), F(target), reduction, grad_scale, F(loss), F(dpred), 0, 1);
    return RECUR_OK;
}
static int ref_sgd(void *dev, size_t n, recur_ptr p, recur_ptr g, recur_ptr buf, float lr, float momentum,
                   float dampening, int nesterov, float wd, int64_t step) {
    recur_k_sgd(n, F(p), F(g), F(buf), lr, momentum, dampening, nesterov, wd, step, 0, 1);
    return RECUR_OK;
}
static int ref_adam(void *dev, size_t n, recur_ptr p, recur_ptr g, recur_ptr m, recur_ptr v, float lr, float b1,
                    float b2, float eps, float wd, int decoupled, int64_t step) {
    recur_k_adam(n, F(p), F(g), F(m), F(v), lr, b1, b2, eps, wd, decoupled, step, 0, 1);
    return RECUR_OK;
}
static int ref_clip_norm(void *dev, size_t n, recur_ptr g, recur_ptr sumsq, float max_norm) {
    recur_k_clip_norm(n, F(g), F(sumsq), max_norm, 0, 1);
    return RECUR_OK;
}
static int ref_clip_value(void *dev, size_t n, recur_ptr g, float limit) {
    recur_k_clip_value(n, F(g), limit, 0, 1);
    return RECUR_OK;
}
static int ref_dropout(void *dev, size_t n, float p, uint64_t seed, uint64_t counter, recur_ptr x, recur_ptr y) {
    if (!(p >= 0.0f && p < 1.0f)) return out_of_range("dropout p", p, "[0, 1)");
    recur_k_dropout(n, p, seed, counter, F(x), F(y), 0, 1);
    return RECUR_OK;
}

const recur_ops recur_ref_ops = {
    .abi_major = RECUR_ABI_MAJOR,
    .struct_size = sizeof(recur_ops),
    .buf_alloc = ref_buf_alloc,
    .buf_free = ref_buf_free,
    .host_ptr = ref_host_ptr,
    .write = ref_write,
    .read = ref_read,
    .sync = ref_sync,
    .fill = ref_fill,
    .copy = ref_copy,
    .scale = ref_scale,
    .axpy = ref_axpy,
    .mul = ref_mul,
    .gemm = ref_gemm,
    .add_bias = ref_add_bias,
    .sum_rows = ref_sum_rows,
    .sum_sq = ref_sum_sq,
    .act_fwd = ref_act_fwd,
    .act_bwd = ref_act_bwd,
    .softmax_fwd = ref_softmax_fwd,
    .softmax_bwd = ref_softmax_bwd,
    .lstm_fwd = ref_lstm_fwd,
    .lstm_bwd = ref_lstm_bwd,
    .gru_fwd = ref_gru_fwd,
    .gru_bwd = ref_gru_bwd,
    .gru_reset = ref_gru_reset,
    .gru_reset_bwd = ref_gru_reset_bwd,
    .rnn_fwd = ref_rnn_fwd,
    .rnn_bwd = ref_rnn_bwd,
    .select_step = ref_select_step,
    .embed_fwd = ref_embed_fwd,
    .embed_bwd = ref_embed_bwd,
    .xent_fwd_bwd = ref_xent,
    .bce_fwd_bwd = ref_bce,
    .mse_fwd_bwd = ref_mse,
    .sgd_step = ref_sgd,
    .adam_step = ref_adam,
    .clip_norm = ref_clip_norm,
    .clip_value = ref_clip_value,
    .dropout = ref_dropout,
    .transpose = ref_transpose,
    .rnn_step = ref_rnn_step,
    .rnn_step_input = ref_rnn_step_input,
    .rnn_steps_input = ref_rnn_steps_input,
    .rnn_steps = ref_rnn_steps,
    .rnn_steps_bwd = ref_rnn_steps_bwd,
};
