/*
 * Recurrent layer backward: the recurrence runs backwards through time with one fused pointwise op and
 * one recurrent GEMM per step; then every weight gradient is one large GEMM over all steps
 * (dW_ih += dG^T X, dW_hh += dG^T H_prev, db = column sums of dG), and the input gradient is one GEMM
 * (dX = dG W_ih). Gradients accumulate into the arena; dx, dh0, dc0 are overwritten.
 */
#include "internal.h"
#include "rnn_internal.h"

#define TRY(call)                                                                                          \
    do {                                                                                                   \
        int st_ = (call);                                                                                  \
        if (st_) return st_;                                                                               \
    } while (0)

static size_t prev_index(int rev, size_t t) { return rev ? t + 1 : t; }
static size_t out_index(int rev, size_t t) { return rev ? t : t + 1; }

/* The backward recurrence of one direction: fills dg (and dhg, dhp), leaves dL/dh0 in carry, dL/dc0 in dc. */
static int recurrence(recur_rnn *r, size_t l, size_t dir, recur_ptr dy) {
    recur_device *d = r->d;
    rnn_dir *q = &r->layer[l].dir[dir];
    const size_t T = r->T, B = r->B, H = r->H, P = r->Hout, GH = r->G * H, ldy = r->D * P;
    const int rev = (int)dir, cell = r->cfg.cell;
    recur_ptr w_hh = recur_params_data(r->p, q->w_hh);
    /* The cells rnn_steps_bwd knows (their recur_step_cell numbers are recur_cell's, rnn_forward.c), all steps
     * in one op where the backend has it: it may keep its threads on their own samples through the sequence. */
    if (cell != RECUR_CELL_GRU_ORIGINAL && !r->cfg.proj_size && recur_op_native(d, "rnn_steps_bwd")) {
        const int lstm = cell == RECUR_CELL_LSTM, gru = cell == RECUR_CELL_GRU;
        return recur_op_rnn_steps_bwd(d, cell, T, B, H, rev, w_hh, H, q->s, lstm ? q->c : RECUR_NULLPTR, q->xg,
                                      gru ? q->hg : RECUR_NULLPTR, dy.buf ? recur_at(dy, dir * P) : RECUR_NULLPTR, ldy,
                                      r->carry, lstm ? r->dc : RECUR_NULLPTR, q->dg, gru ? q->dhg : RECUR_NULLPTR,
                                      r->lengths);
    }
    for (size_t k = 0; k < T; k++) {
        size_t step = T - 1 - k, t = rev ? T - 1 - step : step;
        recur_ptr h_prev = recur_at(q->s, prev_index(rev, t) * B * P);
        recur_ptr h_out = recur_at(q->s, out_index(rev, t) * B * P);
        recur_ptr dy_t = dy.buf ? recur_at(dy, t * B * ldy + dir * P) : RECUR_NULLPTR;
        recur_ptr xg_t = recur_at(q->xg, t * B * GH), dg_t = recur_at(q->dg, t * B * GH);
        switch (cell) {
        case RECUR_CELL_LSTM: {
            recur_ptr c_prev = recur_at(q->c, prev_index(rev, t) * B * H);
            recur_ptr c_out = recur_at(q->c, out_index(rev, t) * B * H);
            if (!r->cfg.proj_size) {
                TRY(recur_op_lstm_bwd(d, B, H, xg_t, c_prev, c_out, dy_t, ldy, r->carry, r->dc, dg_t, r->lengths, t));
            } else {
                /* total = carry + dy (valid rows); dr = total W_hr; past the length the total passes on. */
                recur_ptr w_hr = recur_params_data(r->p, q->w_hr);
                if (dy_t.buf) {
                    TRY(recur_op_select_step(d, B, P, dy_t, ldy, RECUR_NULLPTR, 0, r->tmp, P, r->lengths, t));
                    TRY(recur_op_axpy(d, B * P, 1.0f, r->tmp, r->carry));
                }
                TRY(recur_op_copy(d, 1, B * P, r->carry, 0, recur_at(q->dhp, t * B * P), 0));
                TRY(recur_op_gemm(d, 0, 0, B, H, P, 1.0f, r->carry, P, 0, w_hr, H, 0, 0.0f, r->dr, H, 0, 1));
                TRY(recur_op_lstm_bwd(d, B, H, xg_t, c_prev, c_out, RECUR_NULLPTR, 0, r->dr, r->dc, dg_t, r->lengths, t));
                TRY(recur_op_select_step(d, B, P, r->zeros, 0, r->carry, P, r->carry, P, r->lengths, t));
            }
            TRY(recur_op_gemm(d, 0, 0, B, P, GH, 1.0f, dg_t, GH, 0, w_hh, P, 0, 1.0f, r->carry, P, 0, 1));
            break;
        }
        case RECUR_CELL_GRU: {
            recur_ptr hg_t = recur_at(q->hg, t * B * GH), dhg_t = recur_at(q->dhg, t * B * GH);
            TRY(recur_op_gru_bwd(d, B, H, 1, xg_t, hg_t, h_prev, dy_t, ldy, r->carry, dg_t, dhg_t, r->lengths, t));
            TRY(recur_op_gemm(d, 0, 0, B, H, GH, 1.0f, dhg_t, GH, 0, w_hh, H, 0, 1.0f, r->carry, H, 0, 1));
            break;
        }
        case RECUR_CELL_GRU_ORIGINAL: {
            /* n's h-side input is (r * h) W_hn^T: d(rh) = dhn W_hn, then through r and h. */
            recur_ptr hg_t = recur_at(q->hg, t * B * GH), dhg_t = recur_at(q->dhg, t * B * GH);
            TRY(recur_op_gru_bwd(d, B, H, 0, xg_t, hg_t, h_prev, dy_t, ldy, r->carry, dg_t, dhg_t, r->lengths, t));
            TRY(recur_op_gemm(d, 0, 0, B, H, H, 1.0f, recur_at(dhg_t, 2 * H), GH, 0, recur_at(w_hh, 2 * H * H), H, 0,
                              0.0f, r->dr, H, 0, 1));
            TRY(recur_op_gru_reset_bwd(d, B, H, xg_t, h_prev, r->dr, dg_t, dhg_t, r->carry, r->lengths, t));
            TRY(recur_op_gemm(d, 0, 0, B, H, 2 * H, 1.0f, dhg_t, GH, 0, w_hh, H, 0, 1.0f, r->carry, H, 0, 1));
            break;
        }
        default: {
            int act = cell == RECUR_CELL_RNN_RELU ? RECUR_ACT_RELU : RECUR_ACT_TANH;
            TRY(recur_op_rnn_bwd(d, B, H, act, h_out, dy_t, ldy, r->carry, dg_t, r->lengths, t));
            TRY(recur_op_gemm(d, 0, 0, B, H, H, 1.0f, dg_t, H, 0, w_hh, H, 0, 1.0f, r->carry, H, 0, 1));
            break;
        }
        }
    }
    return RECUR_OK;
}

/* Weight and bias gradients of one direction: large GEMMs over all T*B rows. */
static int weight_grads(recur_rnn *r, size_t l, size_t dir) {
    recur_device *d = r->d;
    rnn_layer *L = &r->layer[l];
    rnn_dir *q = &L->dir[dir];
    const size_t T = r->T, B = r->B, H = r->H, P = r->Hout, GH = r->G * H, rows = T * B, in = L->in_size;
    const int cell = r->cfg.cell;
    recur_params *p = r->p;
    /* The previous state of every step, as one block of T*B rows (see rnn_internal.h). */
    recur_ptr h_prev_all = recur_at(q->s, (dir ? 1 : 0) * B * P);
    recur_ptr dh_side = (cell == RECUR_CELL_GRU || cell == RECUR_CELL_GRU_ORIGINAL) ? q->dhg : q->dg;

    TRY(recur_op_gemm(d, 1, 0, GH, in, rows, 1.0f, q->dg, GH, 0, L->input, in, 0, 1.0f, recur_params_grad(p, q->w_ih),
                      in, 0, 1));
    if (cell == RECUR_CELL_GRU_ORIGINAL) {
        recur_ptr g_hh = recur_params_grad(p, q->w_hh);
        TRY(recur_op_gemm(d, 1, 0, 2 * H, H, rows, 1.0f, q->dhg, GH, 0, h_prev_all, H, 0, 1.0f, g_hh, H, 0, 1));
        TRY(recur_op_gemm(d, 1, 0, H, H, rows, 1.0f, recur_at(q->dhg, 2 * H), GH, 0, q->rh, H, 0, 1.0f,
                          recur_at(g_hh, 2 * H * H), H, 0, 1));
    } else {
        TRY(recur_op_gemm(d, 1, 0, GH, P, rows, 1.0f, dh_side, GH, 0, h_prev_all, P, 0, 1.0f,
                          recur_params_grad(p, q->w_hh), P, 0, 1));
    }
    if (q->b_ih >= 0 && q->b_hh >= 0 && dh_side.buf == q->dg.buf && dh_side.off == q->dg.off && q->bias.buf) {
        /* LSTM and RNN: both biases get the same gradient, the column sums of dg (T*B x G*H, the largest
         * tensor of the step): sum it once, into the forward's bias scratch, and add that to both. */
        TRY(recur_op_sum_rows(d, rows, GH, q->dg, GH, 0.0f, q->bias));
        TRY(recur_op_axpy(d, GH, 1.0f, q->bias, recur_params_grad(p, q->b_ih)));
        TRY(recur_op_axpy(d, GH, 1.0f, q->bias, recur_params_grad(p, q->b_hh)));
    } else {
        if (q->b_ih >= 0) TRY(recur_op_sum_rows(d, rows, GH, q->dg, GH, 1.0f, recur_params_grad(p, q->b_ih)));
        if (q->b_hh >= 0) TRY(recur_op_sum_rows(d, rows, GH, dh_side, GH, 1.0f, recur_params_grad(p, q->b_hh)));
    }
    if (q->w_hr >= 0)
        TRY(recur_op_gemm(d, 1, 0, P, H, rows, 1.0f, q->dhp, P, 0, q->r, H, 0, 1.0f, recur_params_grad(p, q->w_hr), H, 0,
                          1));
    return RECUR_OK;
}

int recur_rnn_backward(recur_rnn *r, recur_ptr dy, recur_ptr dh_n, recur_ptr dc_n, recur_ptr dx, recur_ptr dh0,
                       recur_ptr dc0) {
    if (!r->have_forward)
        return recur_set_error(RECUR_E_INVALID, "rnn backward: no training forward to differentiate (call "
                               "recur_rnn_forward with training = 1 first)");
    recur_device *d = r->d;
    const size_t T = r->T, B = r->B, H = r->H, P = r->Hout, GH = r->G * H, rows = T * B, nl = r->cfg.num_layers;
    const int lstm = r->cfg.cell == RECUR_CELL_LSTM;
    for (size_t li = nl; li-- > 0;) {
        rnn_layer *L = &r->layer[li];
        recur_ptr dy_l = li + 1 == nl ? dy : L->dy;
        /* Where this layer's input gradient goes: the layer below's dy (through dropout), or dx. */
        recur_ptr dinput = li == 0 ? dx : (L->drop.buf ? L->drop : r->layer[li - 1].dy);
        for (size_t dir = 0; dir < r->D; dir++) {
            size_t row = li * r->D + dir;
            if (dh_n.buf) TRY(recur_op_copy(d, 1, B * P, recur_at(dh_n, row * B * P), 0, r->carry, 0));
            else TRY(recur_op_fill(d, B * P, 0.0f, r->carry));
            if (lstm) {
                if (dc_n.buf) TRY(recur_op_copy(d, 1, B * H, recur_at(dc_n, row * B * H), 0, r->dc, 0));
                else TRY(recur_op_fill(d, B * H, 0.0f, r->dc));
            }
            TRY(recurrence(r, li, dir, dy_l));
            if (dh0.buf) TRY(recur_op_copy(d, 1, B * P, r->carry, 0, recur_at(dh0, row * B * P), 0));
            if (lstm && dc0.buf) TRY(recur_op_copy(d, 1, B * H, r->dc, 0, recur_at(dc0, row * B * H), 0));
            TRY(weight_grads(r, li, dir));
        }
        /* dX = dG W_ih, summed over directions (after every weight gradient has read the input, since
         * dX may overwrite the dropped-out input in place). */
        for (size_t dir = 0; dinput.buf && dir < r->D; dir++)
            TRY(recur_op_gemm(d, 0, 0, rows, L->in_size, GH, 1.0f, L->dir[dir].dg, GH, 0,
                              recur_params_data(r->p, L->dir[dir].w_ih), L->in_size, 0, dir ? 1.0f : 0.0f, dinput,
                              L->in_size, 0, 1));
        if (li > 0 && L->drop.buf)
            TRY(recur_op_dropout(d, rows * L->in_size, r->cfg.dropout, r->seed, L->drop_counter, L->drop,
                                 r->layer[li - 1].dy));
    }
    return RECUR_OK;
}
