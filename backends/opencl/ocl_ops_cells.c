/* Fused recurrent cells (one launch per time step) of the opencl backend; the math is in kernels/cells.cl. */
#include "ocl_internal.h"

int ocl_lstm_fwd(void *dev, size_t B, size_t H, recur_ptr gates, recur_ptr c_prev, recur_ptr c, recur_ptr h_prev,
                 recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    return ocl_run_rows(dev, K_LSTM_FWD, B, H, "lstm_fwd",
                        OCL_ARGS(ARG_U64(B), ARG_U64(H), ARG_PTR(gates), ARG_PTR(c_prev), ARG_PTR(c),
                                 ARG_PTR(h_prev), ARG_PTR(h), ARG_PTR(y), ARG_U64(ldy), ARG_PTR(lengths),
                                 ARG_U64(t)));
}

int ocl_lstm_bwd(void *dev, size_t B, size_t H, recur_ptr gates, recur_ptr c_prev, recur_ptr c, recur_ptr dy,
                 size_t ldy, recur_ptr dh, recur_ptr dc, recur_ptr dgates, recur_ptr lengths, size_t t) {
    return ocl_run_rows(dev, K_LSTM_BWD, B, H, "lstm_bwd",
                        OCL_ARGS(ARG_U64(B), ARG_U64(H), ARG_PTR(gates), ARG_PTR(c_prev), ARG_PTR(c), ARG_PTR(dy),
                                 ARG_U64(ldy), ARG_PTR(dh), ARG_PTR(dc), ARG_PTR(dgates), ARG_PTR(lengths),
                                 ARG_U64(t)));
}

int ocl_gru_fwd(void *dev, size_t B, size_t H, int reset_after, recur_ptr xg, recur_ptr hg, recur_ptr h_prev,
                recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    return ocl_run_rows(dev, K_GRU_FWD, B, H, "gru_fwd",
                        OCL_ARGS(ARG_U64(B), ARG_U64(H), ARG_I32(reset_after != 0), ARG_PTR(xg), ARG_PTR(hg),
                                 ARG_PTR(h_prev), ARG_PTR(h), ARG_PTR(y), ARG_U64(ldy), ARG_PTR(lengths),
                                 ARG_U64(t)));
}

int ocl_gru_bwd(void *dev, size_t B, size_t H, int reset_after, recur_ptr xg, recur_ptr hg, recur_ptr h_prev,
                recur_ptr dy, size_t ldy, recur_ptr dh, recur_ptr dxg, recur_ptr dhg, recur_ptr lengths, size_t t) {
    return ocl_run_rows(dev, K_GRU_BWD, B, H, "gru_bwd",
                        OCL_ARGS(ARG_U64(B), ARG_U64(H), ARG_I32(reset_after != 0), ARG_PTR(xg), ARG_PTR(hg),
                                 ARG_PTR(h_prev), ARG_PTR(dy), ARG_U64(ldy), ARG_PTR(dh), ARG_PTR(dxg),
                                 ARG_PTR(dhg), ARG_PTR(lengths), ARG_U64(t)));
}

int ocl_gru_reset(void *dev, size_t B, size_t H, recur_ptr xg, recur_ptr hg, recur_ptr h_prev, recur_ptr rh,
                  recur_ptr lengths, size_t t) {
    return ocl_run_rows(dev, K_GRU_RESET, B, H, "gru_reset",
                        OCL_ARGS(ARG_U64(B), ARG_U64(H), ARG_PTR(xg), ARG_PTR(hg), ARG_PTR(h_prev), ARG_PTR(rh),
                                 ARG_PTR(lengths), ARG_U64(t)));
}

int ocl_gru_reset_bwd(void *dev, size_t B, size_t H, recur_ptr xg, recur_ptr h_prev, recur_ptr drh, recur_ptr dxg,
                      recur_ptr dhg, recur_ptr dh, recur_ptr lengths, size_t t) {
    return ocl_run_rows(dev, K_GRU_RESET_BWD, B, H, "gru_reset_bwd",
                        OCL_ARGS(ARG_U64(B), ARG_U64(H), ARG_PTR(xg), ARG_PTR(h_prev), ARG_PTR(drh), ARG_PTR(dxg),
                                 ARG_PTR(dhg), ARG_PTR(dh), ARG_PTR(lengths), ARG_U64(t)));
}

/* The Elman kernels know tanh and relu only. */
static int check_rnn_act(int act, const char *op) {
    if (act == RECUR_ACT_TANH || act == RECUR_ACT_RELU) return RECUR_OK;
    return ocl_error(RECUR_E_INVALID, "opencl: %s: activation %d is not tanh or relu", op, act);
}

int ocl_rnn_fwd(void *dev, size_t B, size_t H, int act, recur_ptr pre, recur_ptr h_prev, recur_ptr h, recur_ptr y,
                size_t ldy, recur_ptr lengths, size_t t) {
    int st = check_rnn_act(act, "rnn_fwd");
    if (st) return st;
    return ocl_run_rows(dev, K_RNN_FWD, B, H, "rnn_fwd",
                        OCL_ARGS(ARG_U64(B), ARG_U64(H), ARG_I32(act), ARG_PTR(pre), ARG_PTR(h_prev), ARG_PTR(h),
                                 ARG_PTR(y), ARG_U64(ldy), ARG_PTR(lengths), ARG_U64(t)));
}

int ocl_rnn_bwd(void *dev, size_t B, size_t H, int act, recur_ptr h, recur_ptr dy, size_t ldy, recur_ptr dh,
                recur_ptr dpre, recur_ptr lengths, size_t t) {
    int st = check_rnn_act(act, "rnn_bwd");
    if (st) return st;
    return ocl_run_rows(dev, K_RNN_BWD, B, H, "rnn_bwd",
                        OCL_ARGS(ARG_U64(B), ARG_U64(H), ARG_I32(act), ARG_PTR(h), ARG_PTR(dy), ARG_U64(ldy),
                                 ARG_PTR(dh), ARG_PTR(dpre), ARG_PTR(lengths), ARG_U64(t)));
}
