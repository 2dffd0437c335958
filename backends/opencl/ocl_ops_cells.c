/* Fused recurrent cells (one launch per time step) of the opencl backend; the math is in kernels/cells.cl. */
#include "ocl_internal.h"

int ocl_lstm_fwd(void *dev, size_t B, size_t H, recur_ptr gates, recur_ptr c_prev, recur_ptr c, recur_ptr h_prev,
                 recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    ocl_args a = ocl_args_begin(dev, K_LSTM_FWD);
    ocl_arg_u64(&a, B);
    ocl_arg_u64(&a, H);
    ocl_arg_ptr(&a, gates);
    ocl_arg_ptr(&a, c_prev);
    ocl_arg_ptr(&a, c);
    ocl_arg_ptr(&a, h_prev);
    ocl_arg_ptr(&a, h);
    ocl_arg_ptr(&a, y);
    ocl_arg_u64(&a, ldy);
    ocl_arg_ptr(&a, lengths);
    ocl_arg_u64(&a, t);
    return ocl_launch_rows(&a, B, H, "lstm_fwd");
}

int ocl_lstm_bwd(void *dev, size_t B, size_t H, recur_ptr gates, recur_ptr c_prev, recur_ptr c, recur_ptr dy,
                 size_t ldy, recur_ptr dh, recur_ptr dc, recur_ptr dgates, recur_ptr lengths, size_t t) {
    ocl_args a = ocl_args_begin(dev, K_LSTM_BWD);
    ocl_arg_u64(&a, B);
    ocl_arg_u64(&a, H);
    ocl_arg_ptr(&a, gates);
    ocl_arg_ptr(&a, c_prev);
    ocl_arg_ptr(&a, c);
    ocl_arg_ptr(&a, dy);
    ocl_arg_u64(&a, ldy);
    ocl_arg_ptr(&a, dh);
    ocl_arg_ptr(&a, dc);
    ocl_arg_ptr(&a, dgates);
    ocl_arg_ptr(&a, lengths);
    ocl_arg_u64(&a, t);
    return ocl_launch_rows(&a, B, H, "lstm_bwd");
}

int ocl_gru_fwd(void *dev, size_t B, size_t H, int reset_after, recur_ptr xg, recur_ptr hg, recur_ptr h_prev,
                recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    ocl_args a = ocl_args_begin(dev, K_GRU_FWD);
    ocl_arg_u64(&a, B);
    ocl_arg_u64(&a, H);
    ocl_arg_i32(&a, reset_after != 0);
    ocl_arg_ptr(&a, xg);
    ocl_arg_ptr(&a, hg);
    ocl_arg_ptr(&a, h_prev);
    ocl_arg_ptr(&a, h);
    ocl_arg_ptr(&a, y);
    ocl_arg_u64(&a, ldy);
    ocl_arg_ptr(&a, lengths);
    ocl_arg_u64(&a, t);
    return ocl_launch_rows(&a, B, H, "gru_fwd");
}

int ocl_gru_bwd(void *dev, size_t B, size_t H, int reset_after, recur_ptr xg, recur_ptr hg, recur_ptr h_prev,
                recur_ptr dy, size_t ldy, recur_ptr dh, recur_ptr dxg, recur_ptr dhg, recur_ptr lengths, size_t t) {
    ocl_args a = ocl_args_begin(dev, K_GRU_BWD);
    ocl_arg_u64(&a, B);
    ocl_arg_u64(&a, H);
    ocl_arg_i32(&a, reset_after != 0);
    ocl_arg_ptr(&a, xg);
    ocl_arg_ptr(&a, hg);
    ocl_arg_ptr(&a, h_prev);
    ocl_arg_ptr(&a, dy);
    ocl_arg_u64(&a, ldy);
    ocl_arg_ptr(&a, dh);
    ocl_arg_ptr(&a, dxg);
    ocl_arg_ptr(&a, dhg);
    ocl_arg_ptr(&a, lengths);
    ocl_arg_u64(&a, t);
    return ocl_launch_rows(&a, B, H, "gru_bwd");
}

int ocl_gru_reset(void *dev, size_t B, size_t H, recur_ptr xg, recur_ptr hg, recur_ptr h_prev, recur_ptr rh,
                  recur_ptr lengths, size_t t) {
    ocl_args a = ocl_args_begin(dev, K_GRU_RESET);
    ocl_arg_u64(&a, B);
    ocl_arg_u64(&a, H);
    ocl_arg_ptr(&a, xg);
    ocl_arg_ptr(&a, hg);
    ocl_arg_ptr(&a, h_prev);
    ocl_arg_ptr(&a, rh);
    ocl_arg_ptr(&a, lengths);
    ocl_arg_u64(&a, t);
    return ocl_launch_rows(&a, B, H, "gru_reset");
}

int ocl_gru_reset_bwd(void *dev, size_t B, size_t H, recur_ptr xg, recur_ptr h_prev, recur_ptr drh, recur_ptr dxg,
                      recur_ptr dhg, recur_ptr dh, recur_ptr lengths, size_t t) {
    ocl_args a = ocl_args_begin(dev, K_GRU_RESET_BWD);
    ocl_arg_u64(&a, B);
    ocl_arg_u64(&a, H);
    ocl_arg_ptr(&a, xg);
    ocl_arg_ptr(&a, h_prev);
    ocl_arg_ptr(&a, drh);
    ocl_arg_ptr(&a, dxg);
    ocl_arg_ptr(&a, dhg);
    ocl_arg_ptr(&a, dh);
    ocl_arg_ptr(&a, lengths);
    ocl_arg_u64(&a, t);
    return ocl_launch_rows(&a, B, H, "gru_reset_bwd");
}

int ocl_rnn_fwd(void *dev, size_t B, size_t H, int act, recur_ptr pre, recur_ptr h_prev, recur_ptr h, recur_ptr y,
                size_t ldy, recur_ptr lengths, size_t t) {
    if (act != RECUR_ACT_TANH && act != RECUR_ACT_RELU)
        return ocl_error(RECUR_E_INVALID, "opencl: rnn_fwd: activation %d is not tanh or relu", act);
    ocl_args a = ocl_args_begin(dev, K_RNN_FWD);
    ocl_arg_u64(&a, B);
    ocl_arg_u64(&a, H);
    ocl_arg_i32(&a, act);
    ocl_arg_ptr(&a, pre);
    ocl_arg_ptr(&a, h_prev);
    ocl_arg_ptr(&a, h);
    ocl_arg_ptr(&a, y);
    ocl_arg_u64(&a, ldy);
    ocl_arg_ptr(&a, lengths);
    ocl_arg_u64(&a, t);
    return ocl_launch_rows(&a, B, H, "rnn_fwd");
}

int ocl_rnn_bwd(void *dev, size_t B, size_t H, int act, recur_ptr h, recur_ptr dy, size_t ldy, recur_ptr dh,
                recur_ptr dpre, recur_ptr lengths, size_t t) {
    if (act != RECUR_ACT_TANH && act != RECUR_ACT_RELU)
        return ocl_error(RECUR_E_INVALID, "opencl: rnn_bwd: activation %d is not tanh or relu", act);
    ocl_args a = ocl_args_begin(dev, K_RNN_BWD);
    ocl_arg_u64(&a, B);
    ocl_arg_u64(&a, H);
    ocl_arg_i32(&a, act);
    ocl_arg_ptr(&a, h);
    ocl_arg_ptr(&a, dy);
    ocl_arg_u64(&a, ldy);
    ocl_arg_ptr(&a, dh);
    ocl_arg_ptr(&a, dpre);
    ocl_arg_ptr(&a, lengths);
    ocl_arg_u64(&a, t);
    return ocl_launch_rows(&a, B, H, "rnn_bwd");
}
