/*
 * rnn_step of the cpu backend: the step's recurrent GEMM (this backend's SGEMM, as the gemm op runs it),
 * then one pass over the rows that adds the biases while it loads the pre-activations and runs the cell —
 * the SIMD row kernels of cpu_simd.h take the biases as arguments. Against the separate ops this saves the
 * passes that put the biases into every step's gates up front (one over all of xg for LSTM and RNN; for
 * GRU one over xg and two over hg, filled with b_hh before its GEMM could accumulate).
 * A small gain, measured on the 2-core development VM against the separate ops (alternating runs, best of 7
 * samples each): train.seed001 faster in 9 of 16 rounds (median 1.50 vs 1.57 ms), infer.medium in 6 of 8
 * (40.2 vs 40.8 ms).
 *
 * A version that fused more — each thread computing the GEMM columns of its own hidden units and the cell
 * on them right away, one parallel section per step — was slower here (infer.medium lost 6 of 6 rounds by
 * ~8%, train.seed001 7 of 10): its short row pieces cost more in the cell kernels than the hand-off saved.
 *
 * The generic ISA (no SIMD row kernels) runs the op as its definition, on this backend's own ops.
 */
#include "cpu_internal.h"
#include "cpu_simd.h"
#include "ref_kernels.h"

typedef struct {
    const cpu_simd_kernels *k;
    int cell;
    size_t B, H, G;
    const float *h_prev, *bias_x, *bias_h, *c_prev;
    float *xg, *hg, *c, *h, *y;
    size_t ldy;
    const int32_t *lengths;
    size_t t;
} step_a;

/* Biases and cell for samples [lo, hi): valid rows by the SIMD row kernels (biases added as they load),
 * invalid rows get the biases and then the ref kernel's held state (h = h_prev, c = c_prev, y = 0). */
static void cell_task(void *ctx, int ith, int nth) {
    const step_a *a = ctx;
    const size_t H = a->H, GH = a->G * H;
    const int gru = a->cell == RECUR_STEP_GRU;
    float *acc = gru ? a->hg : a->xg;
    /* LSTM and RNN: acc is xg, and both biases go to it (bias_h first); GRU: bias_h to hg, bias_x to xg. */
    const float *bh = a->bias_h, *bx = a->bias_x;
    size_t lo, hi;
    recur_k_slice(a->B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        float *ab = acc + b * GH, *xb = a->xg + b * GH, *hb = a->h + b * H, *yb = a->y ? a->y + b * a->ldy : NULL;
        const float *hp = a->h_prev + b * H;
        if (!recur_k_valid(a->lengths, b, a->t)) {
            if (bh) a->k->add_bias_row(GH, bh, ab);
            if (bx) a->k->add_bias_row(GH, bx, xb);
            const int32_t *len = a->lengths + b;
            switch (a->cell) {
            case RECUR_STEP_LSTM:
                recur_k_lstm_fwd(1, H, xb, a->c_prev + b * H, a->c + b * H, hp, hb, yb, a->ldy, len, a->t, 0, 1);
                break;
            case RECUR_STEP_GRU: recur_k_gru_fwd(1, H, 1, xb, ab, hp, hb, yb, a->ldy, len, a->t, 0, 1); break;
            default:
                recur_k_rnn_fwd(1, H, a->cell == RECUR_STEP_RNN_RELU ? RECUR_ACT_RELU : RECUR_ACT_TANH, xb, hp, hb, yb,
                                a->ldy, len, a->t, 0, 1);
                break;
            }
            continue;
        }
        switch (a->cell) {
        case RECUR_STEP_LSTM: a->k->lstm_fwd_row(H, xb, bh, bx, a->c_prev + b * H, a->c + b * H, hb, yb); break;
        case RECUR_STEP_GRU: a->k->gru_fwd_row(H, 1, xb, bx, ab, bh, hp, hb, yb); break;
        case RECUR_STEP_RNN_TANH: a->k->rnn_tanh_row(H, xb, bh, bx, hb, yb); break;
        default: /* relu: the ref kernel's arithmetic, after the biases */
            if (bh) a->k->add_bias_row(H, bh, xb);
            if (bx) a->k->add_bias_row(H, bx, xb);
            recur_k_rnn_fwd(1, H, RECUR_ACT_RELU, xb, hp, hb, yb, a->ldy, NULL, a->t, 0, 1);
            break;
        }
    }
}

/* The op as defined: GEMM, biases, cell, each one of this backend's ops. */
static int step_composed(void *dev, int cell, size_t B, size_t H, recur_ptr h_prev, recur_ptr bias_x, recur_ptr bias_h,
                         recur_ptr xg, recur_ptr hg, recur_ptr c_prev, recur_ptr c, recur_ptr h, recur_ptr y,
                         size_t ldy, recur_ptr lengths, size_t t) {
    const size_t GH = recur_k_step_gates(cell) * H;
    recur_ptr acc = cell == RECUR_STEP_GRU ? hg : xg;
    int st = bias_h.buf ? cpu_ops.add_bias(dev, B, GH, bias_h, acc, GH) : RECUR_OK;
    if (!st && bias_x.buf) st = cpu_ops.add_bias(dev, B, GH, bias_x, xg, GH);
    if (st) return st;
    switch (cell) {
    case RECUR_STEP_LSTM: return cpu_lstm_fwd(dev, B, H, xg, c_prev, c, h_prev, h, y, ldy, lengths, t);
    case RECUR_STEP_GRU: return cpu_gru_fwd(dev, B, H, 1, xg, hg, h_prev, h, y, ldy, lengths, t);
    default:
        return cpu_rnn_fwd(dev, B, H, cell == RECUR_STEP_RNN_RELU ? RECUR_ACT_RELU : RECUR_ACT_TANH, xg, h_prev, h, y,
                           ldy, lengths, t);
    }
}

int cpu_rnn_step(void *dev, int cell, size_t B, size_t H, recur_ptr h_prev, recur_ptr w, size_t ldw, recur_ptr bias_x,
                 recur_ptr bias_h, recur_ptr xg, recur_ptr hg, recur_ptr c_prev, recur_ptr c, recur_ptr h, recur_ptr y,
                 size_t ldy, recur_ptr lengths, size_t t) {
    cpu_dev *d = dev;
    const size_t G = recur_k_step_gates(cell);
    if (!G) return cpu_error(RECUR_E_INVALID, "cpu: rnn_step: unknown cell %d (RECUR_STEP_*)", cell);
    const int gru = cell == RECUR_STEP_GRU;
    int st = cpu_ops.gemm(dev, 0, 0, B, G * H, H, 1.0f, h_prev, H, 0, w, ldw, 0, gru ? 0.0f : 1.0f, gru ? hg : xg,
                          G * H, 0, 1);
    if (st) return st;
    step_a a = {.k = cpu_simd_for(d->isa), .cell = cell, .B = B, .H = H, .G = G,
                .h_prev = cpu_f(h_prev), .bias_x = cpu_f(bias_x), .bias_h = cpu_f(bias_h), .c_prev = cpu_f(c_prev),
                .xg = cpu_f(xg), .hg = cpu_f(hg), .c = cpu_f(c), .h = cpu_f(h), .y = cpu_f(y), .ldy = ldy,
                .lengths = cpu_i(lengths), .t = t};
    if (!a.k) return step_composed(dev, cell, B, H, h_prev, bias_x, bias_h, xg, hg, c_prev, c, h, y, ldy, lengths, t);
    cpu_run_parts(d, cell_task, &a, B * H, CPU_MIN_CELL, B);
    return RECUR_OK;
}
