/*
 * rnn_step (ABI 1.2): one whole forward step of a recurrent layer, defined as the ops it replaces —
 *   acc (= xg for LSTM and RNN, hg for GRU) = h_prev W + (xg or 0),  acc += bias_h,  xg += bias_x,  cell.
 * rnn_step_input (ABI 1.3): the same step after xg = x W_x (the step's input projection);
 * rnn_steps_input (ABI 1.3): T such steps, one direction of a layer;
 * rnn_steps (ABI 1.4): T rnn_steps on every step's own slot of xg and hg (the training forward), and
 * rnn_steps_bwd (ABI 1.4): their backward recurrence, per step the cell's backward and dh += dacc W_hh.
 * Split over samples b like their parts: row b of the GEMMs, the bias adds and the cell read only row b of
 * x, h_prev, xg, hg, c_prev, so each slice runs the kernels on its own rows, in order.
 */
#include "ref_kernels.h"

size_t recur_k_step_gates(int cell) {
    switch (cell) {
    case RECUR_STEP_LSTM: return 4;
    case RECUR_STEP_GRU: return 3;
    case RECUR_STEP_RNN_TANH:
    case RECUR_STEP_RNN_RELU: return 1;
    default: return 0;
    }
}

void recur_k_rnn_step(int cell, size_t B, size_t H, const float *h_prev, const float *w, size_t ldw,
                      const float *bias_x, const float *bias_h, float *xg, float *hg, const float *c_prev, float *c,
                      float *h, float *y, size_t ldy, const int32_t *lengths, size_t t, int ith, int nth) {
    const int gru = cell == RECUR_STEP_GRU;
    const size_t GH = recur_k_step_gates(cell) * H;
    float *acc = gru ? hg : xg;
    recur_k_gemm(0, 0, B, GH, H, 1.0f, h_prev, H, 0, w, ldw, 0, gru ? 0.0f : 1.0f, acc, GH, 0, 1, ith, nth);
    if (bias_h) recur_k_add_bias(B, GH, bias_h, acc, GH, ith, nth);
    if (bias_x) recur_k_add_bias(B, GH, bias_x, xg, GH, ith, nth);
    switch (cell) {
    case RECUR_STEP_LSTM: recur_k_lstm_fwd(B, H, xg, c_prev, c, h_prev, h, y, ldy, lengths, t, ith, nth); break;
    case RECUR_STEP_GRU: recur_k_gru_fwd(B, H, 1, xg, hg, h_prev, h, y, ldy, lengths, t, ith, nth); break;
    default:
        recur_k_rnn_fwd(B, H, cell == RECUR_STEP_RNN_RELU ? RECUR_ACT_RELU : RECUR_ACT_TANH, xg, h_prev, h, y, ldy,
                        lengths, t, ith, nth);
        break;
    }
}

void recur_k_rnn_step_input(int cell, size_t B, size_t H, size_t in, const float *x, size_t ldx, const float *wx,
                            size_t ldwx, const float *h_prev, const float *w, size_t ldw, const float *bias_x,
                            const float *bias_h, float *xg, float *hg, const float *c_prev, float *c, float *h,
                            float *y, size_t ldy, const int32_t *lengths, size_t t, int ith, int nth) {
    const size_t GH = recur_k_step_gates(cell) * H;
    recur_k_gemm(0, 0, B, GH, in, 1.0f, x, ldx, 0, wx, ldwx, 0, 0.0f, xg, GH, 0, 1, ith, nth);
    recur_k_rnn_step(cell, B, H, h_prev, w, ldw, bias_x, bias_h, xg, hg, c_prev, c, h, y, ldy, lengths, t, ith, nth);
}

void recur_k_rnn_steps_input(int cell, size_t T, size_t B, size_t H, size_t in, int reverse, const float *x, size_t ldx,
                             const float *wx, size_t ldwx, const float *w, size_t ldw, const float *bias_x,
                             const float *bias_h, float *s, float *c, float *xg, float *hg, float *y, size_t ldy,
                             const int32_t *lengths, int ith, int nth) {
    const size_t BH = B * H;
    for (size_t step = 0; step < T; step++) {
        size_t t, i, o;
        recur_k_step_slots(T, reverse, step, &t, &i, &o);
        recur_k_rnn_step_input(cell, B, H, in, x ? x + t * B * ldx : NULL, ldx, wx, ldwx, s + i * BH, w, ldw, bias_x,
                               bias_h, xg, hg, c ? c + i * BH : NULL, c ? c + o * BH : NULL, s + o * BH,
                               y ? y + t * B * ldy : NULL, ldy, lengths, t, ith, nth);
    }
}

void recur_k_rnn_steps(int cell, size_t T, size_t B, size_t H, int reverse, const float *w, size_t ldw,
                       const float *bias_x, const float *bias_h, float *s, float *c, float *xg, float *hg, float *y,
                       size_t ldy, const int32_t *lengths, int ith, int nth) {
    const size_t BH = B * H, GH = recur_k_step_gates(cell) * H;
    for (size_t step = 0; step < T; step++) {
        size_t t, i, o;
        recur_k_step_slots(T, reverse, step, &t, &i, &o);
        recur_k_rnn_step(cell, B, H, s + i * BH, w, ldw, bias_x, bias_h, xg + t * B * GH, hg ? hg + t * B * GH : NULL,
                         c ? c + i * BH : NULL, c ? c + o * BH : NULL, s + o * BH, y ? y + t * B * ldy : NULL, ldy,
                         lengths, t, ith, nth);
    }
}

void recur_k_rnn_steps_bwd(int cell, size_t T, size_t B, size_t H, int reverse, const float *w, size_t ldw,
                           const float *s, const float *c, const float *xg, const float *hg, const float *dy, size_t ldy,
                           float *dh, float *dc, float *dg, float *dhg, const int32_t *lengths, int ith, int nth) {
    const size_t BH = B * H, GH = recur_k_step_gates(cell) * H;
    for (size_t k = 0; k < T; k++) {
        size_t t, i, o;
        recur_k_step_slots(T, reverse, T - 1 - k, &t, &i, &o);
        const size_t g = t * B * GH;
        const float *dy_t = dy ? dy + t * B * ldy : NULL;
        float *acc = dg + g;
        switch (cell) {
        case RECUR_STEP_LSTM:
            recur_k_lstm_bwd(B, H, xg + g, c + i * BH, c + o * BH, dy_t, ldy, dh, dc, dg + g, lengths, t, ith, nth);
            break;
        case RECUR_STEP_GRU:
            recur_k_gru_bwd(B, H, 1, xg + g, hg + g, s + i * BH, dy_t, ldy, dh, dg + g, dhg + g, lengths, t, ith, nth);
            acc = dhg + g;
            break;
        default:
            recur_k_rnn_bwd(B, H, cell == RECUR_STEP_RNN_RELU ? RECUR_ACT_RELU : RECUR_ACT_TANH, s + o * BH, dy_t, ldy,
                            dh, dg + g, lengths, t, ith, nth);
            break;
        }
        recur_k_gemm(0, 0, B, H, GH, 1.0f, acc, GH, 0, w, ldw, 0, 1.0f, dh, H, 0, 1, ith, nth);
    }
}
