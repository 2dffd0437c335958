/*
 * Recurrent layer forward (the structure cuDNN uses): per layer and direction, one GEMM projects every
 * time step's input at once; then each step is one recurrent GEMM plus one fused pointwise op (or, where
 * the device has it, one rnn_step op doing both, with the biases added in the cell's pass). Inference on a
 * CPU with small enough weights projects each step's input right before its step instead (rnn_internal.h).
 *
 *   LSTM  gates = x W_ih^T + b_ih + h W_hh^T + b_hh  (i, f, g, o)
 *         c' = s(f) c + s(i) tanh(g),  h' = s(o) tanh(c')  [ h' = (s(o) tanh(c')) W_hr^T with a projection ]
 *   GRU   r = s(x W_ir^T + b_ir + h W_hr^T + b_hr),  z likewise,
 *         n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))     [original: W_hn (r * h) + b_hn]
 *         h' = (1 - z) n + z h
 *   RNN   h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)
 * Steps past a sample's length hold the state and output 0 (the ops' lengths/t contract).
 */
#include "internal.h"
#include "rnn_internal.h"

#include <assert.h>

/* rnn_step takes the cell as recur_cell numbers it (recur_step_cell mirrors them). */
static_assert((int)RECUR_STEP_RNN_TANH == (int)RECUR_CELL_RNN_TANH &&
                  (int)RECUR_STEP_RNN_RELU == (int)RECUR_CELL_RNN_RELU && (int)RECUR_STEP_LSTM == (int)RECUR_CELL_LSTM &&
                  (int)RECUR_STEP_GRU == (int)RECUR_CELL_GRU,
              "recur_step_cell and recur_cell must agree");

#define TRY(call)                                                                                          \
    do {                                                                                                   \
        int st_ = (call);                                                                                  \
        if (st_) return st_;                                                                               \
    } while (0)

/* Index of the state a step reads / writes (see rnn_internal.h). */
static size_t prev_index(int rev, size_t t) { return rev ? t + 1 : t; }
static size_t out_index(int rev, size_t t) { return rev ? t : t + 1; }

static int forward_direction(recur_rnn *r, size_t l, size_t dir, size_t T, size_t B, recur_ptr h0, recur_ptr c0,
                             recur_ptr y, int training) {
    recur_device *d = r->d;
    rnn_layer *L = &r->layer[l];
    rnn_dir *q = &L->dir[dir];
    const size_t H = r->H, P = r->Hout, G = r->G, GH = G * H, in = L->in_size, rows = T * B;
    const size_t ldy = r->D * P;
    const int rev = (int)dir, cell = r->cfg.cell;
    const int gru = cell == RECUR_CELL_GRU || cell == RECUR_CELL_GRU_ORIGINAL;
    recur_ptr w_ih = recur_params_data(r->p, q->w_ih), w_hh = recur_params_data(r->p, q->w_hh);

    /* The recurrent weights as each step's GEMM reads them: op(B) = W_hh^T, either W_hh read transposed
     * (tb = 1, ldb = its row length) or the transposed copy read as is (tb = 0). */
    const int tb = !(q->whh_t.buf && T >= RNN_TRANSPOSE_MIN_STEPS);
    recur_ptr wb = tb ? w_hh : q->whh_t;
    const size_t ldb = tb ? P : r->ld_wt;
    /* One op per step (rnn_step: GEMM, biases and cell together) where W_hh^T is stored and the layer can
     * (recur_rnn_step_op). The biases then enter at each step, while the step's gates are in cache, instead of
     * in passes over every step's xg (and hg) up front. */
    const int step_op = !tb && recur_rnn_step_op(r);
    recur_ptr bias_x = RECUR_NULLPTR, bias_h = RECUR_NULLPTR;
    /* Inference may project each step's input at that step, into one reused slot of xg (and of hg) that
     * stays in cache (rnn_internal.h, RNN_STEP_PROJ_MAX_BYTES); nothing after the forward reads xg then. */
    const int per_step = step_op && !training && q->wih_t.buf && recur_rnn_step_projection(r, l, B);
    /* ... and then, where the backend has them, all steps in one op (rnn_steps_input: the backend may keep its
     * threads on their own samples across steps), or each step in its own op (rnn_step_input: both GEMMs in
     * one pass). */
    const int steps_input = per_step && recur_op_native(d, "rnn_steps_input");
    /* Likewise with every step's input projected up front (training, larger weights): rnn_steps. */
    const int steps = step_op && !per_step && recur_op_native(d, "rnn_steps");
    const int step_input = per_step && recur_op_native(d, "rnn_step_input");

    /* All steps' input projection at once: xg (T*B, G*H) = input (T*B, in) W_ih^T (+ biases). */
    if (per_step) TRY(recur_op_transpose(d, GH, in, w_ih, in, q->wih_t, r->ld_wt));
    else TRY(recur_op_gemm(d, 0, 1, rows, GH, in, 1.0f, L->input, in, 0, w_ih, in, 0, 0.0f, q->xg, GH, 0, 1));
    if (gru) {
        if (step_op) {
            if (q->b_ih >= 0) bias_x = recur_params_data(r->p, q->b_ih);
            if (q->b_hh >= 0) bias_h = recur_params_data(r->p, q->b_hh);
        } else {
            if (q->b_ih >= 0) TRY(recur_op_add_bias(d, rows, GH, recur_params_data(r->p, q->b_ih), q->xg, GH));
            /* hg starts as b_hh for every step; each step's recurrent GEMM then accumulates into it. */
            TRY(recur_op_fill(d, rows * 3 * H, 0.0f, q->hg));
            if (q->b_hh >= 0) TRY(recur_op_add_bias(d, rows, GH, recur_params_data(r->p, q->b_hh), q->hg, GH));
        }
    } else if (q->b_ih >= 0) {
        /* Both biases meet in xg: add their sum in one pass (or at each step). */
        TRY(recur_op_copy(d, 1, GH, recur_params_data(r->p, q->b_ih), GH, q->bias, GH));
        TRY(recur_op_axpy(d, GH, 1.0f, recur_params_data(r->p, q->b_hh), q->bias));
        if (step_op) bias_h = q->bias;
        else TRY(recur_op_add_bias(d, rows, GH, q->bias, q->xg, GH));
    }
    if (!tb) TRY(recur_op_transpose(d, GH, P, w_hh, P, q->whh_t, ldb));

    /* Initial states. */
    size_t row = l * r->D + dir, s0 = rev ? T : 0;
    recur_ptr s_init = recur_at(q->s, s0 * B * P);
    if (h0.buf) TRY(recur_op_copy(d, 1, B * P, recur_at(h0, row * B * P), 0, s_init, 0));
    else TRY(recur_op_fill(d, B * P, 0.0f, s_init));
    if (cell == RECUR_CELL_LSTM) {
        recur_ptr c_init = recur_at(q->c, s0 * B * H);
        if (c0.buf) TRY(recur_op_copy(d, 1, B * H, recur_at(c0, row * B * H), 0, c_init, 0));
        else TRY(recur_op_fill(d, B * H, 0.0f, c_init));
    }

    if (steps_input)
        return recur_op_rnn_steps_input(d, cell, T, B, H, in, rev, L->input, in, q->wih_t, r->ld_wt, wb, ldb, bias_x,
                                        bias_h, q->s, cell == RECUR_CELL_LSTM ? q->c : RECUR_NULLPTR, q->xg,
                                        gru ? q->hg : RECUR_NULLPTR, recur_at(y, dir * P), ldy, r->lengths);
    if (steps)
        return recur_op_rnn_steps(d, cell, T, B, H, rev, wb, ldb, bias_x, bias_h, q->s,
                                  cell == RECUR_CELL_LSTM ? q->c : RECUR_NULLPTR, q->xg, gru ? q->hg : RECUR_NULLPTR,
                                  recur_at(y, dir * P), ldy, r->lengths);
    for (size_t step = 0; step < T; step++) {
        size_t t = rev ? T - 1 - step : step;
        recur_ptr h_prev = recur_at(q->s, prev_index(rev, t) * B * P);
        recur_ptr h_out = recur_at(q->s, out_index(rev, t) * B * P);
        recur_ptr y_t = recur_at(y, t * B * ldy + dir * P);
        const size_t slot = per_step ? 0 : t;
        recur_ptr xg_t = recur_at(q->xg, slot * B * GH);
        recur_ptr x_t = recur_at(L->input, t * B * in);
        if (per_step && !step_input)
            TRY(recur_op_gemm(d, 0, 0, B, GH, in, 1.0f, x_t, in, 0, q->wih_t, r->ld_wt, 0, 0.0f, xg_t, GH, 0, 1));
        if (step_op) {
            const int lstm = cell == RECUR_CELL_LSTM;
            recur_ptr c_prev = lstm ? recur_at(q->c, prev_index(rev, t) * B * H) : RECUR_NULLPTR;
            recur_ptr c_out = lstm ? recur_at(q->c, out_index(rev, t) * B * H) : RECUR_NULLPTR;
            recur_ptr hg_t = gru ? recur_at(q->hg, slot * B * GH) : RECUR_NULLPTR;
            if (step_input)
                TRY(recur_op_rnn_step_input(d, cell, B, H, in, x_t, in, q->wih_t, r->ld_wt, h_prev, wb, ldb, bias_x, bias_h,
                                            xg_t, hg_t, c_prev, c_out, h_out, y_t, ldy, r->lengths, t));
            else
                TRY(recur_op_rnn_step(d, cell, B, H, h_prev, wb, ldb, bias_x, bias_h, xg_t, hg_t, c_prev, c_out, h_out,
                                      y_t, ldy, r->lengths, t));
            continue;
        }
        switch (cell) {
        case RECUR_CELL_LSTM: {
            recur_ptr c_prev = recur_at(q->c, prev_index(rev, t) * B * H);
            recur_ptr c_out = recur_at(q->c, out_index(rev, t) * B * H);
            TRY(recur_op_gemm(d, 0, tb, B, GH, P, 1.0f, h_prev, P, 0, wb, ldb, 0, 1.0f, xg_t, GH, 0, 1));
            if (!r->cfg.proj_size) {
                TRY(recur_op_lstm_fwd(d, B, H, xg_t, c_prev, c_out, h_prev, h_out, y_t, ldy, r->lengths, t));
            } else {
                /* r_t = o * tanh(c) (B, H); h = r_t W_hr^T (B, P), held / zeroed past the length. */
                recur_ptr r_t = recur_at(q->r, t * B * H);
                TRY(recur_op_lstm_fwd(d, B, H, xg_t, c_prev, c_out, RECUR_NULLPTR, r_t, RECUR_NULLPTR, 0, r->lengths, t));
                TRY(recur_op_gemm(d, 0, 1, B, P, H, 1.0f, r_t, H, 0, recur_params_data(r->p, q->w_hr), H, 0, 0.0f,
                                  r->tmp, P, 0, 1));
                TRY(recur_op_select_step(d, B, P, r->tmp, P, h_prev, P, h_out, P, r->lengths, t));
                TRY(recur_op_select_step(d, B, P, r->tmp, P, RECUR_NULLPTR, 0, y_t, ldy, r->lengths, t));
            }
            break;
        }
        case RECUR_CELL_GRU: {
            recur_ptr hg_t = recur_at(q->hg, t * B * GH);
            TRY(recur_op_gemm(d, 0, tb, B, GH, H, 1.0f, h_prev, H, 0, wb, ldb, 0, 1.0f, hg_t, GH, 0, 1));
            TRY(recur_op_gru_fwd(d, B, H, 1, xg_t, hg_t, h_prev, h_out, y_t, ldy, r->lengths, t));
            break;
        }
        case RECUR_CELL_GRU_ORIGINAL: {
            /* r, z from h W_h{r,z}^T; then hn = (r * h) W_hn^T + b_hn; then n and h'. */
            recur_ptr hg_t = recur_at(q->hg, t * B * GH), rh_t = recur_at(q->rh, t * B * H);
            TRY(recur_op_gemm(d, 0, tb, B, 2 * H, H, 1.0f, h_prev, H, 0, wb, ldb, 0, 1.0f, hg_t, GH, 0, 1));
            TRY(recur_op_gru_reset(d, B, H, xg_t, hg_t, h_prev, rh_t, r->lengths, t));
            TRY(recur_op_gemm(d, 0, tb, B, H, H, 1.0f, rh_t, H, 0, recur_at(wb, tb ? 2 * H * H : 2 * H), ldb, 0, 1.0f,
                              recur_at(hg_t, 2 * H), GH, 0, 1));
            TRY(recur_op_gru_fwd(d, B, H, 0, xg_t, hg_t, h_prev, h_out, y_t, ldy, r->lengths, t));
            break;
        }
        default: {
            int act = cell == RECUR_CELL_RNN_RELU ? RECUR_ACT_RELU : RECUR_ACT_TANH;
            TRY(recur_op_gemm(d, 0, tb, B, H, H, 1.0f, h_prev, H, 0, wb, ldb, 0, 1.0f, xg_t, H, 0, 1));
            TRY(recur_op_rnn_fwd(d, B, H, act, xg_t, h_prev, h_out, y_t, ldy, r->lengths, t));
            break;
        }
        }
    }
    return RECUR_OK;
}

int recur_rnn_forward(recur_rnn *r, size_t T, size_t B, recur_ptr x, recur_ptr lengths, recur_ptr h0, recur_ptr c0,
                      int training, recur_ptr y, recur_ptr h_n, recur_ptr c_n) {
    recur_device *d = r->d;
    r->have_forward = 0;
    if (T == 0 || B == 0) return recur_set_error(RECUR_E_INVALID, "rnn forward: T = %zu, B = %zu; both must be > 0", T, B);
    TRY(recur_rnn_reserve(r, T, B));
    r->T = T;
    r->B = B;
    r->lengths = lengths;
    r->h0 = h0;
    r->c0 = c0;
    const size_t P = r->Hout, H = r->H, nl = r->cfg.num_layers;
    for (size_t l = 0; l < nl; l++) {
        rnn_layer *L = &r->layer[l];
        if (l == 0) {
            L->input = x;
        } else if (training && r->cfg.dropout > 0.0f) {
            /* Dropout between layers, with masks from the counter-based generator. */
            L->drop_counter = r->counter;
            r->counter += T * B * L->in_size;
            TRY(recur_op_dropout(d, T * B * L->in_size, r->cfg.dropout, r->seed, L->drop_counter, r->layer[l - 1].y,
                                 L->drop));
            L->input = L->drop;
        } else {
            L->input = r->layer[l - 1].y;
        }
        recur_ptr out = l + 1 == nl ? y : L->y;
        if (l + 1 == nl) L->y = y;
        for (size_t dir = 0; dir < r->D; dir++) {
            TRY(forward_direction(r, l, dir, T, B, h0, c0, out, training));
            /* Final states: forward after its last step (S[T]), reverse after reading step 0 (S[0]). */
            rnn_dir *q = &L->dir[dir];
            size_t row = l * r->D + dir, last = dir ? 0 : T;
            if (h_n.buf) TRY(recur_op_copy(d, 1, B * P, recur_at(q->s, last * B * P), 0, recur_at(h_n, row * B * P), 0));
            if (c_n.buf && r->cfg.cell == RECUR_CELL_LSTM)
                TRY(recur_op_copy(d, 1, B * H, recur_at(q->c, last * B * H), 0, recur_at(c_n, row * B * H), 0));
        }
    }
    r->have_forward = training;
    return RECUR_OK;
}
