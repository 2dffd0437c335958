/* Conformance: the fused recurrent cells (LSTM, both GRU variants, Elman RNN), rnn_step, rnn_step_input,
 * rnn_steps_input and select_step. */
#include <math.h>
#include <stdio.h>

#include "conform_util.h"

enum { LEN_NULL = 0, LEN_MIXED = 1, LEN_ALL_INVALID = 2, LEN_ALL_VALID = 3 };
enum { Y_NULL = 0, Y_DENSE = 1, Y_SLOT = 2 }; /* Y_SLOT: one direction's slot, ldy = 2H + 1 */

typedef struct {
    size_t B, H, t, off;
    int lengths;     /* LEN_* */
    int y;           /* Y_*; for backward ops, dy follows the same choice (Y_NULL: dy NULL) */
    int h_prev_null; /* LSTM forward only (the one cell whose contract allows it) */
} cell_case;

static const cell_case cell_cases[] = {
    {.B = 0, .H = 3, .t = 0, .y = Y_DENSE},
    {.B = 3, .H = 0, .t = 0, .y = Y_DENSE, .lengths = LEN_MIXED},
    {.B = 1, .H = 1, .t = 0, .y = Y_DENSE},
    {.B = 3, .H = 17, .t = 2, .lengths = LEN_MIXED, .y = Y_SLOT, .off = 3},
    {.B = 5, .H = 67, .t = 0, .lengths = LEN_MIXED, .y = Y_NULL, .off = 1},
    {.B = 17, .H = 3, .t = 4, .lengths = LEN_MIXED, .y = Y_DENSE},
    {.B = 4, .H = 5, .t = 1, .lengths = LEN_MIXED, .y = Y_DENSE, .h_prev_null = 1, .off = 2},
    {.B = 6, .H = 1, .t = 3, .lengths = LEN_MIXED, .y = Y_SLOT},
    {.B = 2, .H = 129, .t = 7, .lengths = LEN_NULL, .y = Y_SLOT, .off = 1},
    {.B = 7, .H = 9, .t = 5, .lengths = LEN_ALL_INVALID, .y = Y_DENSE, .off = 4},
    {.B = 9, .H = 11, .t = 6, .lengths = LEN_ALL_VALID, .y = Y_SLOT, .h_prev_null = 1},
    {.B = 37, .H = 131, .t = 3, .lengths = LEN_MIXED, .y = Y_SLOT, .off = 1}, /* large: threaded paths */
};
#define N_CELL_CASES (sizeof cell_cases / sizeof cell_cases[0])

static const char *const len_names[] = {"lengths NULL", "lengths mixed", "all rows invalid", "all rows valid"};
static const char *const y_names[] = {"y NULL", "y dense", "y slot ldy=2H+1"};
static const char *const dy_names[] = {"dy NULL", "dy dense", "dy slot ldy=2H+1"};

/* lengths: LEN_MIXED gives some t >= lengths[b] (including length 0) and some valid rows. */
static ct_tensor *cell_lengths(ct_case *c, const cell_case *k) {
    if (k->lengths == LEN_NULL) return NULL;
    ct_tensor *len = ct_ints(c, "lengths", k->B, NULL);
    int32_t *L = ct_i(len), t = (int32_t)k->t;
    for (size_t b = 0; b < k->B; b++) {
        switch (k->lengths) {
        case LEN_ALL_INVALID: L[b] = ct_randi(c, 0, t); break;
        case LEN_ALL_VALID: L[b] = ct_randi(c, t + 1, t + 4); break;
        default:
            L[b] = b % 3 == 0 ? 0 : b % 3 == 1 ? ct_randi(c, t + 1, t + 4) : ct_randi(c, 0, t + 3);
            if (b % 3 == 0 && t > 0 && b % 2) L[b] = t; /* exactly at the boundary: invalid */
            break;
        }
    }
    return len;
}

static size_t cell_ldy(const cell_case *k) { return k->y == Y_SLOT ? 2 * k->H + 1 : k->H; }

/* The tensors of a cell case, floor 1 like every cell tensor. w: columns in units of H, so a (B x w*H) dense
 * matrix; w = AS_Y: laid out like y (B x H at ldy), and no tensor (NULL) where the case has y NULL. */
enum { AS_Y = 0 };

static ct_tensor *cell_mat(ct_case *c, const cell_case *k, const char *name, int role, size_t w) {
    ct_tensor *t;
    if (w != AS_Y)
        t = ct_mat(c, name, role, k->B, w * k->H, w * k->H);
    else if (k->y == Y_NULL)
        return NULL;
    else
        t = ct_mat(c, name, role, k->B, k->H, cell_ldy(k) ? cell_ldy(k) : 1);
    ct_tol(t, c->op->rtol, 1.0);
    return t;
}

/* ... filled with uniform values in [lo, hi]. */
static ct_tensor *cell_rand(ct_case *c, const cell_case *k, const char *name, int role, size_t w, float lo,
                            float hi) {
    ct_tensor *t = cell_mat(c, k, name, role, w);
    if (t) ct_rand(t, lo, hi);
    return t;
}

/* ... an output: NaN until the op writes it. */
static ct_tensor *cell_nan(ct_case *c, const cell_case *k, const char *name, size_t w) {
    ct_tensor *t = cell_mat(c, k, name, CT_OUT, w);
    if (t) ct_const(t, NAN);
    return t;
}

/* Fill columns [from, to) of a (rows x width) matrix with values in [lo, hi]. */
static void rand_cols(ct_tensor *m, size_t from, size_t to, float lo, float hi) {
    float *f = ct_f(m);
    for (size_t r = 0; r < m->rows; r++)
        for (size_t col = from; col < to; col++) f[r * m->ld + col] = ct_randf(m->owner, lo, hi);
}

/* Gate activations as the backward ops read them: columns [0, 2H) sigmoid outputs in (0, 1) (LSTM i, f;
 * GRU r, z), [2H, 3H) tanh outputs in (-1, 1) (LSTM g; GRU n), and for LSTM [3H, 4H) sigmoid again (o). */
static void rand_gate_acts(ct_tensor *m, size_t H) {
    rand_cols(m, 0, 2 * H, 0.01f, 0.99f);
    rand_cols(m, 2 * H, 3 * H, -0.99f, 0.99f);
    if (m->cols == 4 * H) rand_cols(m, 3 * H, 4 * H, 0.01f, 0.99f);
}

/* A variant of a cell op, run over every shape of cell_cases in turn. */
typedef struct {
    const char *name; /* starts the case name */
    int reset_after;  /* GRU */
    int act;          /* Elman RNN */
    int pre_is_h;     /* rnn_fwd: pre aliases h (on the even-indexed shapes only) */
} cell_variant;

static const cell_variant plain[] = {{.name = ""}};
static const cell_variant gru_variants[] = {
    {.name = "reset_after=1 ", .reset_after = 1},
    {.name = "reset_after=0 ", .reset_after = 0},
};
static const cell_variant rnn_fwd_variants[] = {
    {.name = "tanh ", .act = RECUR_ACT_TANH},
    {.name = "tanh pre==h ", .act = RECUR_ACT_TANH, .pre_is_h = 1},
    {.name = "relu ", .act = RECUR_ACT_RELU},
    {.name = "relu pre==h ", .act = RECUR_ACT_RELU, .pre_is_h = 1},
};
static const cell_variant rnn_bwd_variants[] = {
    {.name = "tanh ", .act = RECUR_ACT_TANH},
    {.name = "relu ", .act = RECUR_ACT_RELU},
};

/* One case of a cell op: make the tensors (after `len`, made already), fill them in order, CT_RUN the op. */
typedef void cell_body(ct_case *c, const cell_case *k, const cell_variant *v, ct_tensor *len);

static void run_cell_op(const char *op, const cell_variant *variants, size_t n_variants, cell_body *body) {
    ct_op_begin(op);
    for (size_t vi = 0; vi < n_variants; vi++)
        for (size_t i = 0; i < N_CELL_CASES; i++) {
            const cell_variant *v = &variants[vi];
            const cell_case *k = &cell_cases[i];
            if (v->pre_is_h && i % 2) continue; /* pre == h on half of the shapes */
            ct_case *c = ct_case_begin("%sB=%zu H=%zu t=%zu off=%zu %s, %s%s", v->name, k->B, k->H, k->t, k->off,
                                       len_names[k->lengths], y_names[k->y], k->h_prev_null ? ", h_prev NULL" : "");
            ct_case_offset(c, k->off);
            body(c, k, v, cell_lengths(c, k));
            ct_case_end(c);
        }
}
#define RUN_CELL_OP(op, variants, body) run_cell_op(op, variants, sizeof variants / sizeof variants[0], body)

/* ---- LSTM ---------------------------------------------------------------------------------------------- */

static void lstm_fwd_case(ct_case *c, const cell_case *k, const cell_variant *v, ct_tensor *len) {
    ct_tensor *gates = cell_rand(c, k, "gates", CT_OUT, 4, -3, 3);
    ct_tensor *c_prev = cell_rand(c, k, "c_prev", CT_IN, 1, -2, 2);
    ct_tensor *cc = cell_nan(c, k, "c", 1);
    ct_tensor *h_prev = k->h_prev_null ? NULL : cell_rand(c, k, "h_prev", CT_IN, 1, -1, 1);
    ct_tensor *h = cell_nan(c, k, "h", 1);
    ct_tensor *y = cell_nan(c, k, "y", AS_Y);
    CT_RUN(c, recur_op_lstm_fwd(CT_D, k->B, k->H, CT_P(gates), CT_P(c_prev), CT_P(cc), CT_P(h_prev), CT_P(h),
                                CT_P(y), cell_ldy(k), CT_P(len), k->t));
}

static void lstm_bwd_case(ct_case *c, const cell_case *k, const cell_variant *v, ct_tensor *len) {
    ct_tensor *gates = cell_mat(c, k, "gates", CT_IN, 4);
    rand_gate_acts(gates, k->H);
    ct_tensor *c_prev = cell_rand(c, k, "c_prev", CT_IN, 1, -2, 2);
    ct_tensor *cc = cell_rand(c, k, "c", CT_IN, 1, -2, 2);
    ct_tensor *dy = cell_rand(c, k, "dy", CT_IN, AS_Y, -1, 1);
    ct_tensor *dh = cell_rand(c, k, "dh", CT_OUT, 1, -1, 1);
    ct_tensor *dc = cell_rand(c, k, "dc", CT_OUT, 1, -1, 1);
    ct_tensor *dgates = cell_nan(c, k, "dgates", 4);
    CT_RUN(c, recur_op_lstm_bwd(CT_D, k->B, k->H, CT_P(gates), CT_P(c_prev), CT_P(cc), CT_P(dy), cell_ldy(k),
                                CT_P(dh), CT_P(dc), CT_P(dgates), CT_P(len), k->t));
}

static void test_lstm_fwd(void) { RUN_CELL_OP("lstm_fwd", plain, lstm_fwd_case); }
static void test_lstm_bwd(void) { RUN_CELL_OP("lstm_bwd", plain, lstm_bwd_case); }

/* ---- GRU ----------------------------------------------------------------------------------------------- */

static void gru_fwd_case(ct_case *c, const cell_case *k, const cell_variant *v, ct_tensor *len) {
    ct_tensor *xg = cell_mat(c, k, "xg", CT_OUT, 3);
    if (v->reset_after) {
        ct_rand(xg, -3, 3);
    } else { /* gru_reset already turned the r, z parts into activations */
        rand_cols(xg, 0, 2 * k->H, 0.01f, 0.99f);
        rand_cols(xg, 2 * k->H, 3 * k->H, -3, 3);
    }
    ct_tensor *hg = cell_rand(c, k, "hg", CT_IN, 3, -3, 3);
    ct_tensor *h_prev = cell_rand(c, k, "h_prev", CT_IN, 1, -1, 1);
    ct_tensor *h = cell_nan(c, k, "h", 1);
    ct_tensor *y = cell_nan(c, k, "y", AS_Y);
    CT_RUN(c, recur_op_gru_fwd(CT_D, k->B, k->H, v->reset_after, CT_P(xg), CT_P(hg), CT_P(h_prev), CT_P(h),
                               CT_P(y), cell_ldy(k), CT_P(len), k->t));
}

static void gru_bwd_case(ct_case *c, const cell_case *k, const cell_variant *v, ct_tensor *len) {
    ct_tensor *xg = cell_mat(c, k, "xg", CT_IN, 3);
    rand_gate_acts(xg, k->H);
    ct_tensor *hg = cell_rand(c, k, "hg", CT_IN, 3, -3, 3);
    ct_tensor *h_prev = cell_rand(c, k, "h_prev", CT_IN, 1, -1, 1);
    ct_tensor *dy = cell_rand(c, k, "dy", CT_IN, AS_Y, -1, 1);
    ct_tensor *dh = cell_rand(c, k, "dh", CT_OUT, 1, -1, 1);
    ct_tensor *dxg = cell_nan(c, k, "dxg", 3);
    ct_tensor *dhg = cell_nan(c, k, "dhg", 3);
    CT_RUN(c, recur_op_gru_bwd(CT_D, k->B, k->H, v->reset_after, CT_P(xg), CT_P(hg), CT_P(h_prev), CT_P(dy),
                               cell_ldy(k), CT_P(dh), CT_P(dxg), CT_P(dhg), CT_P(len), k->t));
}

static void gru_reset_case(ct_case *c, const cell_case *k, const cell_variant *v, ct_tensor *len) {
    ct_tensor *xg = cell_rand(c, k, "xg", CT_OUT, 3, -3, 3);
    ct_tensor *hg = cell_rand(c, k, "hg", CT_IN, 3, -3, 3);
    ct_tensor *h_prev = cell_rand(c, k, "h_prev", CT_IN, 1, -1, 1);
    ct_tensor *rh = cell_nan(c, k, "rh", 1);
    CT_RUN(c, recur_op_gru_reset(CT_D, k->B, k->H, CT_P(xg), CT_P(hg), CT_P(h_prev), CT_P(rh), CT_P(len), k->t));
}

static void gru_reset_bwd_case(ct_case *c, const cell_case *k, const cell_variant *v, ct_tensor *len) {
    ct_tensor *xg = cell_mat(c, k, "xg", CT_IN, 3);
    rand_gate_acts(xg, k->H);
    ct_tensor *h_prev = cell_rand(c, k, "h_prev", CT_IN, 1, -1, 1);
    ct_tensor *drh = cell_rand(c, k, "drh", CT_IN, 1, -1, 1);
    /* Only the r parts of valid rows are written: the rest must keep these values. */
    ct_tensor *dxg = cell_rand(c, k, "dxg", CT_OUT, 3, -1, 1);
    ct_tensor *dhg = cell_rand(c, k, "dhg", CT_OUT, 3, -1, 1);
    ct_tensor *dh = cell_rand(c, k, "dh", CT_OUT, 1, -1, 1);
    CT_RUN(c, recur_op_gru_reset_bwd(CT_D, k->B, k->H, CT_P(xg), CT_P(h_prev), CT_P(drh), CT_P(dxg), CT_P(dhg),
                                     CT_P(dh), CT_P(len), k->t));
}

static void test_gru_fwd(void) { RUN_CELL_OP("gru_fwd", gru_variants, gru_fwd_case); }
static void test_gru_bwd(void) { RUN_CELL_OP("gru_bwd", gru_variants, gru_bwd_case); }
static void test_gru_reset(void) { RUN_CELL_OP("gru_reset", plain, gru_reset_case); }
static void test_gru_reset_bwd(void) { RUN_CELL_OP("gru_reset_bwd", plain, gru_reset_bwd_case); }

/* ---- Elman RNN ----------------------------------------------------------------------------------------- */

static void rnn_fwd_case(ct_case *c, const cell_case *k, const cell_variant *v, ct_tensor *len) {
    ct_tensor *pre = v->pre_is_h ? NULL : cell_mat(c, k, "pre", CT_IN, 1);
    ct_tensor *h_prev = cell_mat(c, k, "h_prev", CT_IN, 1);
    ct_tensor *h = cell_mat(c, k, "h", CT_OUT, 1);
    ct_tensor *y = cell_nan(c, k, "y", AS_Y);
    ct_tensor *pres = pre ? pre : h;
    ct_rand(pres, -3, 3);
    ct_rand(h_prev, -1, 1);
    if (pre) ct_const(h, NAN);
    CT_RUN(c, recur_op_rnn_fwd(CT_D, k->B, k->H, v->act, CT_P(pres), CT_P(h_prev), CT_P(h), CT_P(y), cell_ldy(k),
                               CT_P(len), k->t));
}

static void rnn_bwd_case(ct_case *c, const cell_case *k, const cell_variant *v, ct_tensor *len) {
    ct_tensor *h = cell_mat(c, k, "h", CT_IN, 1);
    if (v->act == RECUR_ACT_TANH) {
        ct_rand(h, -0.99f, 0.99f);
    } else {
        ct_rand(h, -1, 2);
        for (size_t j = 0; j < k->B * k->H; j++)
            if (ct_f(h)[j] < 0) ct_f(h)[j] = 0; /* relu outputs, a third exactly 0 */
    }
    ct_tensor *dy = cell_rand(c, k, "dy", CT_IN, AS_Y, -1, 1);
    ct_tensor *dh = cell_rand(c, k, "dh", CT_OUT, 1, -1, 1);
    ct_tensor *dpre = cell_nan(c, k, "dpre", 1);
    CT_RUN(c, recur_op_rnn_bwd(CT_D, k->B, k->H, v->act, CT_P(h), CT_P(dy), cell_ldy(k), CT_P(dh), CT_P(dpre),
                               CT_P(len), k->t));
}

static void test_rnn_fwd(void) { RUN_CELL_OP("rnn_fwd", rnn_fwd_variants, rnn_fwd_case); }
static void test_rnn_bwd(void) { RUN_CELL_OP("rnn_bwd", rnn_bwd_variants, rnn_bwd_case); }

/* ---- rnn_step (ABI 1.2) and rnn_step_input (ABI 1.3), optional --------------------------------------------------------------------- */

typedef struct {
    const char *name;
    int cell;             /* RECUR_STEP_* */
    int bias_x, bias_h;   /* which biases are given */
    size_t ldw_pad;       /* ldw = G*H + ldw_pad */
    int all_shapes;       /* every shape of the cell table (the calls the core makes); else half of them */
} step_variant;

static const step_variant step_variants[] = {
    /* as the core calls it: LSTM and RNN with b_ih + b_hh as bias_h, GRU with both; ldw padded (rnn.c) */
    {.name = "lstm bias_h ", .cell = RECUR_STEP_LSTM, .bias_h = 1, .ldw_pad = 16, .all_shapes = 1},
    {.name = "gru both biases ", .cell = RECUR_STEP_GRU, .bias_x = 1, .bias_h = 1, .ldw_pad = 16, .all_shapes = 1},
    {.name = "rnn_tanh bias_h ", .cell = RECUR_STEP_RNN_TANH, .bias_h = 1, .all_shapes = 1},
    {.name = "rnn_relu bias_h ", .cell = RECUR_STEP_RNN_RELU, .bias_h = 1, .ldw_pad = 2, .all_shapes = 1},
    /* the rest of the contract: either bias alone, both, none */
    {.name = "lstm both biases ", .cell = RECUR_STEP_LSTM, .bias_x = 1, .bias_h = 1},
    {.name = "lstm no bias ", .cell = RECUR_STEP_LSTM, .ldw_pad = 3},
    {.name = "gru bias_x ", .cell = RECUR_STEP_GRU, .bias_x = 1},
    {.name = "gru bias_h ", .cell = RECUR_STEP_GRU, .bias_h = 1, .ldw_pad = 1},
    {.name = "gru no bias ", .cell = RECUR_STEP_GRU, .ldw_pad = 5},
    {.name = "rnn_relu both biases ", .cell = RECUR_STEP_RNN_RELU, .bias_x = 1, .bias_h = 1, .ldw_pad = 2},
};

/* GEMM, biases and cell in one op: every output may differ from the reference by the GEMM's rounding, so
 * all of them get the GEMM's floor, S = H max|h_prev| max|w| + max|xg| + max|bias_x| + max|bias_h| (at
 * least 1, the cells' floor); the cell after it only contracts errors (|derivatives| <= 1).
 * in > 0: rnn_step_input with an input of width `in` (ldx = in + 1, ldwx = G*H + 3); xg is then written,
 * not read (NaN on entry), and its term of S is the input GEMM's, in max|x| max|wx|. */
static void rnn_step_case(ct_case *c, const cell_case *k, const step_variant *v, ct_tensor *len, int with_input,
                          size_t in) {
    const size_t H = k->H, G = v->cell == RECUR_STEP_LSTM ? 4 : v->cell == RECUR_STEP_GRU ? 3 : 1, GH = G * H;
    const size_t ldw = GH + v->ldw_pad;
    const int gru = v->cell == RECUR_STEP_GRU, lstm = v->cell == RECUR_STEP_LSTM;
    const float ws = H ? 2.0f / sqrtf((float)H) : 1.0f; /* h W of order 1: pre-activations in and past [-3, 3] */
    ct_tensor *h_prev = cell_rand(c, k, "h_prev", CT_IN, 1, -1, 1);
    ct_tensor *w = ct_mat(c, "w", CT_IN, H, GH, ldw ? ldw : 1);
    ct_rand(w, -ws, ws);
    ct_tensor *x = NULL, *wx = NULL;
    if (with_input) { /* x W_x of order 1 too */
        const float xs = in ? 2.0f / sqrtf((float)in) : 1.0f;
        x = ct_mat(c, "x", CT_IN, k->B, in, in + 1);
        wx = ct_mat(c, "wx", CT_IN, in, GH, GH + 3);
        ct_rand(x, -1, 1);
        ct_rand(wx, -xs, xs);
    }
    ct_tensor *bx = v->bias_x ? ct_mat(c, "bias_x", CT_IN, 1, GH, GH ? GH : 1) : NULL;
    ct_tensor *bh = v->bias_h ? ct_mat(c, "bias_h", CT_IN, 1, GH, GH ? GH : 1) : NULL;
    if (bx) ct_rand(bx, -1, 1);
    if (bh) ct_rand(bh, -1, 1);
    ct_tensor *xg = with_input ? cell_nan(c, k, "xg", G) : cell_rand(c, k, "xg", CT_OUT, G, -3, 3);
    ct_tensor *hg = gru ? cell_nan(c, k, "hg", 3) : NULL; /* beta = 0: never read */
    ct_tensor *c_prev = lstm ? cell_rand(c, k, "c_prev", CT_IN, 1, -2, 2) : NULL;
    ct_tensor *cc = lstm ? cell_nan(c, k, "c", 1) : NULL;
    ct_tensor *h = cell_nan(c, k, "h", 1);
    ct_tensor *y = cell_nan(c, k, "y", AS_Y);
    double S = (double)H * ct_amax(h_prev) * ct_amax(w) + (bx ? ct_amax(bx) : 0) + (bh ? ct_amax(bh) : 0);
    S += with_input ? (double)in * ct_amax(x) * ct_amax(wx) : ct_amax(xg);
    if (S < 1) S = 1;
    ct_tensor *outs[] = {xg, hg, cc, h, y};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
        if (outs[i]) ct_tol(outs[i], c->op->rtol, S);
    if (with_input)
        CT_RUN(c, recur_op_rnn_step_input(CT_D, v->cell, k->B, H, in, CT_P(x), in + 1, CT_P(wx), GH + 3, CT_P(h_prev),
                                          CT_P(w), ldw, CT_P(bx), CT_P(bh), CT_P(xg), CT_P(hg), CT_P(c_prev), CT_P(cc),
                                          CT_P(h), CT_P(y), cell_ldy(k), CT_P(len), k->t));
    else
        CT_RUN(c, recur_op_rnn_step(CT_D, v->cell, k->B, H, CT_P(h_prev), CT_P(w), ldw, CT_P(bx), CT_P(bh), CT_P(xg),
                                    CT_P(hg), CT_P(c_prev), CT_P(cc), CT_P(h), CT_P(y), cell_ldy(k), CT_P(len), k->t));
}

/* The cell table's shapes plus, for rnn_step_input, one with more rows than a CPU GEMM's few-rows block (its
 * row split then runs in chunks) and one whose weights (2.3 MB) are too large for the row split (both GEMMs
 * then share one column-split section). */
static const cell_case step_input_extras[] = {
    {.B = 150, .H = 19, .t = 2, .lengths = LEN_MIXED, .y = Y_SLOT, .off = 2},
    {.B = 16, .H = 256, .t = 1, .lengths = LEN_MIXED, .y = Y_DENSE, .off = 1},
};
#define N_STEP_INPUT_EXTRAS (sizeof step_input_extras / sizeof step_input_extras[0])

/* The input widths rnn_step_input runs with: none, narrower and wider than H, one over a 512 K block. */
static size_t step_input_width(size_t i) {
    static const size_t widths[] = {0, 1, 7, 40, 300, 530};
    return widths[i % (sizeof widths / sizeof widths[0])];
}

static void run_step_op(const char *op, int with_input) {
    if (!ct_optional_op_begin(op, with_input ? "1.3" : "1.2")) return;
    for (size_t vi = 0; vi < sizeof step_variants / sizeof step_variants[0]; vi++)
        for (size_t i = 0; i < N_CELL_CASES + N_STEP_INPUT_EXTRAS; i++) {
            const step_variant *v = &step_variants[vi];
            if (i >= N_CELL_CASES && !with_input) break;
            const cell_case *k = i < N_CELL_CASES ? &cell_cases[i] : &step_input_extras[i - N_CELL_CASES];
            /* h_prev is the GEMM's A (never NULL); the other variants take every other shape, in turn */
            if (k->h_prev_null || (!v->all_shapes && (i + vi) % 2)) continue;
            const size_t in = !with_input ? 0 : k->H == 256 ? 300 : step_input_width(i + vi);
            ct_case *c = ct_case_begin("%sldw=G*H+%zu B=%zu H=%zu in=%zu t=%zu off=%zu %s, %s", v->name, v->ldw_pad,
                                       k->B, k->H, in, k->t, k->off, len_names[k->lengths], y_names[k->y]);
            ct_case_offset(c, k->off);
            rnn_step_case(c, k, v, cell_lengths(c, k), with_input, in);
            ct_case_end(c);
        }
}

static void test_rnn_step(void) { run_step_op("rnn_step", 0); }
static void test_rnn_step_input(void) { run_step_op("rnn_step_input", 1); }

/* ---- rnn_steps_input (ABI 1.3, optional): T steps of one direction ------------------------------------ */

typedef struct {
    int cell;            /* RECUR_STEP_* */
    size_t T, B, H, in;
    int reverse;
    int lengths;         /* LEN_NULL, LEN_MIXED (0, T and values between), LEN_ALL_VALID */
    int y;               /* Y_* */
    int bias_x, bias_h;
    size_t ldw_pad, off;
} steps_case;

static const steps_case steps_cases[] = {
    {.cell = RECUR_STEP_LSTM, .T = 1, .B = 1, .H = 1, .in = 1, .lengths = LEN_NULL, .y = Y_DENSE, .bias_h = 1},
    {.cell = RECUR_STEP_LSTM, .T = 0, .B = 3, .H = 4, .in = 2, .y = Y_DENSE, .bias_h = 1},
    {.cell = RECUR_STEP_LSTM, .T = 4, .B = 3, .H = 17, .in = 5, .lengths = LEN_MIXED, .y = Y_SLOT, .bias_h = 1,
     .ldw_pad = 16, .off = 3},
    {.cell = RECUR_STEP_LSTM, .T = 5, .B = 37, .H = 131, .in = 40, .reverse = 1, .lengths = LEN_MIXED, .y = Y_DENSE,
     .bias_h = 1, .ldw_pad = 16}, /* threaded, split by samples */
    {.cell = RECUR_STEP_LSTM, .T = 3, .B = 64, .H = 128, .in = 96, .lengths = LEN_ALL_VALID, .y = Y_SLOT, .bias_x = 1,
     .bias_h = 1, .off = 1},
    {.cell = RECUR_STEP_GRU, .T = 4, .B = 37, .H = 67, .in = 300, .lengths = LEN_MIXED, .y = Y_SLOT, .bias_x = 1,
     .bias_h = 1, .ldw_pad = 16, .off = 2},
    {.cell = RECUR_STEP_GRU, .T = 3, .B = 5, .H = 9, .in = 7, .reverse = 1, .lengths = LEN_NULL, .y = Y_NULL,
     .bias_x = 1},
    {.cell = RECUR_STEP_RNN_TANH, .T = 6, .B = 9, .H = 33, .in = 12, .lengths = LEN_MIXED, .y = Y_DENSE, .bias_h = 1},
    {.cell = RECUR_STEP_RNN_RELU, .T = 3, .B = 17, .H = 3, .in = 2, .reverse = 1, .lengths = LEN_MIXED, .y = Y_SLOT,
     .bias_h = 1, .ldw_pad = 2},
    /* more samples than a CPU GEMM's few-rows block: a thread's samples in chunks */
    {.cell = RECUR_STEP_LSTM, .T = 3, .B = 150, .H = 19, .in = 11, .lengths = LEN_MIXED, .y = Y_SLOT, .bias_h = 1},
    {.cell = RECUR_STEP_GRU, .T = 2, .B = 300, .H = 7, .in = 5, .reverse = 1, .lengths = LEN_MIXED, .y = Y_DENSE,
     .bias_x = 1, .bias_h = 1, .off = 1},
    /* step by step on a CPU: weights of 2.3 MB (too large to split by samples); no input */
    {.cell = RECUR_STEP_LSTM, .T = 2, .B = 16, .H = 256, .in = 300, .lengths = LEN_MIXED, .y = Y_DENSE, .bias_h = 1},
    {.cell = RECUR_STEP_GRU, .T = 2, .B = 4, .H = 5, .in = 0, .reverse = 1, .lengths = LEN_MIXED, .y = Y_DENSE,
     .bias_x = 1, .bias_h = 1},
    /* W_hh alone 2.4 MB: rnn_steps and rnn_steps_bwd step by step on a CPU too */
    {.cell = RECUR_STEP_LSTM, .T = 2, .B = 5, .H = 384, .in = 3, .reverse = 1, .lengths = LEN_MIXED, .y = Y_SLOT,
     .bias_h = 1},
};

static const char *const steps_cell_names[] = {"rnn_tanh", "rnn_relu", "lstm", "gru"};

/* What every step case derives from its cell: gates, state width, the output's leading dimension (one
 * direction's slot: 2H + 1) and the weights' scale (relu's kept small so that its states stay within [-1, 1]). */
typedef struct {
    size_t G, GH, ldy;
    int gru, lstm;
    float scale;
} steps_dims;

static steps_dims steps_dims_of(const steps_case *k) {
    const size_t G = k->cell == RECUR_STEP_LSTM ? 4 : k->cell == RECUR_STEP_GRU ? 3 : 1;
    return (steps_dims){.G = G, .GH = G * k->H, .ldy = k->y == Y_SLOT ? 2 * k->H + 1 : k->H,
                        .gru = k->cell == RECUR_STEP_GRU, .lstm = k->cell == RECUR_STEP_LSTM,
                        .scale = k->cell == RECUR_STEP_RNN_RELU ? 0.5f : 2.0f};
}

/* lengths for the T steps of case k: none, 0, T and values between (LEN_MIXED), or all valid */
static ct_tensor *steps_lengths(ct_case *c, const steps_case *k) {
    if (k->lengths == LEN_NULL) return NULL;
    ct_tensor *len = ct_ints(c, "lengths", k->B, NULL);
    for (size_t b = 0; b < k->B; b++)
        ct_i(len)[b] = k->lengths == LEN_ALL_VALID ? (int32_t)k->T + ct_randi(c, 0, 2)
                       : b % 3 == 0                ? 0
                       : b % 3 == 1                ? (int32_t)k->T
                                                   : ct_randi(c, 0, (int32_t)k->T + 1);
    return len;
}

/* The forward step ops' biases (per the case) and states: T + 1 slots of B x H, the first step's slot (h0, c0)
 * given, the rest NaN until written. */
static void steps_fwd_tensors(ct_case *c, const steps_case *k, size_t GH, int lstm, ct_tensor **bx, ct_tensor **bh,
                              ct_tensor **st, ct_tensor **cs) {
    const size_t T = k->T, B = k->B, H = k->H, BH = B * H, first = k->reverse ? T : 0;
    *bx = k->bias_x ? ct_mat(c, "bias_x", CT_IN, 1, GH, GH ? GH : 1) : NULL;
    *bh = k->bias_h ? ct_mat(c, "bias_h", CT_IN, 1, GH, GH ? GH : 1) : NULL;
    if (*bx) ct_rand(*bx, -0.5f, 0.5f);
    if (*bh) ct_rand(*bh, -0.5f, 0.5f);
    *st = ct_mat(c, "s", CT_OUT, (T + 1) * B, H, H ? H : 1);
    *cs = lstm ? ct_mat(c, "c", CT_OUT, (T + 1) * B, H, H ? H : 1) : NULL;
    ct_const(*st, NAN);
    if (*cs) ct_const(*cs, NAN);
    for (size_t i = 0; i < BH; i++) {
        ct_f(*st)[first * BH + i] = ct_randf(c, -1, 1);
        if (*cs) ct_f(*cs)[first * BH + i] = ct_randf(c, -2, 2);
    }
}

/* Each step may differ from the reference by the GEMMs' rounding, and the next step reads that state, so
 * every output gets T times a step's floor, S = in max|x| max|wx| + H max|h| max|w| + max|bias_x| +
 * max|bias_h| (at least 1), with max|h| = 1 (the states of these cells and weights stay within [-1, 1]:
 * relu's are kept small). */
static void rnn_steps_case(ct_case *c, const steps_case *k) {
    const size_t T = k->T, B = k->B, H = k->H, in = k->in;
    const steps_dims dm = steps_dims_of(k);
    const size_t GH = dm.GH, ldw = GH + k->ldw_pad, ldx = in + 1, ldwx = GH + 3, ldy = dm.ldy;
    const int gru = dm.gru, lstm = dm.lstm;
    const float scale = dm.scale;
    const float ws = scale / sqrtf((float)(H ? H : 1)), xs = scale / sqrtf((float)(in ? in : 1));
    ct_tensor *x = ct_mat(c, "x", CT_IN, T * B, in, ldx);
    ct_tensor *wx = ct_mat(c, "wx", CT_IN, in, GH, ldwx);
    ct_tensor *w = ct_mat(c, "w", CT_IN, H, GH, ldw ? ldw : 1);
    ct_rand(x, -1, 1);
    ct_rand(wx, -xs, xs);
    ct_rand(w, -ws, ws);
    ct_tensor *bx, *bh, *st, *cs;
    steps_fwd_tensors(c, k, GH, lstm, &bx, &bh, &st, &cs);
    ct_tensor *xg = ct_mat(c, "xg", CT_OUT, B, GH, GH ? GH : 1);
    ct_tensor *hg = gru ? ct_mat(c, "hg", CT_OUT, B, GH, GH ? GH : 1) : NULL;
    ct_const(xg, NAN);
    if (hg) ct_const(hg, NAN);
    ct_tensor *y = k->y == Y_NULL ? NULL : ct_mat(c, "y", CT_OUT, T * B, H, ldy ? ldy : 1);
    if (y) ct_const(y, NAN);
    ct_tensor *len = steps_lengths(c, k);
    double S = (double)in * ct_amax(x) * ct_amax(wx) + (double)H * ct_amax(w) + (bx ? ct_amax(bx) : 0) +
               (bh ? ct_amax(bh) : 0);
    if (S < 1) S = 1;
    ct_tensor *outs[] = {st, cs, xg, hg, y};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
        if (outs[i]) ct_tol(outs[i], c->op->rtol, S * (double)(T ? T : 1));
    CT_RUN(c, recur_op_rnn_steps_input(CT_D, k->cell, T, B, H, in, k->reverse, CT_P(x), ldx, CT_P(wx), ldwx, CT_P(w),
                                       ldw, CT_P(bx), CT_P(bh), CT_P(st), CT_P(cs), CT_P(xg), CT_P(hg), CT_P(y), ldy,
                                       CT_P(len)));
}

static void test_rnn_steps_input(void) {
    if (!ct_optional_op_begin("rnn_steps_input", "1.3")) return;
    for (size_t i = 0; i < sizeof steps_cases / sizeof steps_cases[0]; i++) {
        const steps_case *k = &steps_cases[i];
        ct_case *c = ct_case_begin("%s T=%zu B=%zu H=%zu in=%zu %s ldw=G*H+%zu%s%s off=%zu %s, %s",
                                   steps_cell_names[k->cell], k->T, k->B, k->H, k->in, k->reverse ? "reverse" : "forward",
                                   k->ldw_pad, k->bias_x ? " bias_x" : "", k->bias_h ? " bias_h" : "", k->off,
                                   len_names[k->lengths], y_names[k->y]);
        ct_case_offset(c, k->off);
        rnn_steps_case(c, k);
        ct_case_end(c);
    }
}

/* ---- rnn_steps and rnn_steps_bwd (ABI 1.4, optional): the training forward's steps and their backward ----
 * The rnn_steps_input cases without the input: every step's xg (its projection) given instead. */

/* The case's name; the biases only where the op takes them (fwd). */
static const char *steps_case_name(const steps_case *k, int fwd, char *buf, size_t n) {
    snprintf(buf, n, "%s T=%zu B=%zu H=%zu %s ldw=+%zu%s%s off=%zu %s, %s", steps_cell_names[k->cell], k->T, k->B, k->H,
             k->reverse ? "reverse" : "forward", k->ldw_pad, fwd && k->bias_x ? " bias_x" : "",
             fwd && k->bias_h ? " bias_h" : "", k->off, len_names[k->lengths], fwd ? y_names[k->y] : dy_names[k->y]);
    return buf;
}

/* Tolerance as rnn_steps_input's, the projection's term replaced by max|xg|. */
static void rnn_steps_fwd_case(ct_case *c, const steps_case *k) {
    const size_t T = k->T, B = k->B, H = k->H;
    const steps_dims dm = steps_dims_of(k);
    const size_t GH = dm.GH, ldw = GH + k->ldw_pad, ldy = dm.ldy;
    const int gru = dm.gru, lstm = dm.lstm;
    const float scale = dm.scale, ws = scale / sqrtf((float)(H ? H : 1));
    ct_tensor *w = ct_mat(c, "w", CT_IN, H, GH, ldw ? ldw : 1);
    ct_rand(w, -ws, ws);
    ct_tensor *bx, *bh, *st, *cs;
    steps_fwd_tensors(c, k, GH, lstm, &bx, &bh, &st, &cs);
    /* every step's projection in xg (read, then the gates written); GRU's hg written, not read */
    ct_tensor *xg = ct_mat(c, "xg", CT_OUT, T * B, GH, GH ? GH : 1);
    ct_tensor *hg = gru ? ct_mat(c, "hg", CT_OUT, T * B, GH, GH ? GH : 1) : NULL;
    ct_rand(xg, -scale / 2, scale / 2);
    if (hg) ct_const(hg, NAN);
    ct_tensor *y = k->y == Y_NULL ? NULL : ct_mat(c, "y", CT_OUT, T * B, H, ldy ? ldy : 1);
    if (y) ct_const(y, NAN);
    ct_tensor *len = steps_lengths(c, k);
    double S = ct_amax(xg) + (double)H * ct_amax(w) + (bx ? ct_amax(bx) : 0) + (bh ? ct_amax(bh) : 0);
    if (S < 1) S = 1;
    ct_tensor *outs[] = {st, cs, xg, hg, y};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
        if (outs[i]) ct_tol(outs[i], c->op->rtol, S * (double)(T ? T : 1));
    CT_RUN(c, recur_op_rnn_steps(CT_D, k->cell, T, B, H, k->reverse, CT_P(w), ldw, CT_P(bx), CT_P(bh), CT_P(st),
                                 CT_P(cs), CT_P(xg), CT_P(hg), CT_P(y), ldy, CT_P(len)));
}

/* The forward's saved tensors drawn as a forward leaves them (states in [-1, 1], c in [-2, 2], gate
 * activations in (0, 1), GRU's h-side pre-activations in [-1, 1]); dh (and dc) of the last step given, dy
 * per the case. Each step's rounding reaches the earlier steps through the GEMM, whose floor is a sum of
 * GH products: every output gets rtol relative to the largest of its own (the oracle's) elements, T times,
 * and never less than T max(1, max|dh| + max|dy|) (the gradients entering). */
static void rnn_steps_bwd_case(ct_case *c, const steps_case *k) {
    const size_t T = k->T, B = k->B, H = k->H;
    const steps_dims dm = steps_dims_of(k);
    const size_t GH = dm.GH, ldw = H + k->ldw_pad, ldy = dm.ldy;
    const int gru = dm.gru, lstm = dm.lstm;
    const float ws = dm.scale / sqrtf((float)(GH ? GH : 1));
    ct_tensor *w = ct_mat(c, "w", CT_IN, GH, H, ldw ? ldw : 1); /* W_hh itself */
    ct_rand(w, -ws, ws);
    ct_tensor *st = ct_mat(c, "s", CT_IN, (T + 1) * B, H, H ? H : 1);
    ct_tensor *cs = lstm ? ct_mat(c, "c", CT_IN, (T + 1) * B, H, H ? H : 1) : NULL;
    ct_tensor *xg = ct_mat(c, "xg", CT_IN, T * B, GH, GH ? GH : 1);
    ct_tensor *hg = gru ? ct_mat(c, "hg", CT_IN, T * B, GH, GH ? GH : 1) : NULL;
    ct_rand(st, k->cell == RECUR_STEP_RNN_RELU ? 0.0f : -1.0f, 1);
    if (cs) ct_rand(cs, -2, 2);
    ct_rand(xg, 0.01f, 0.99f);
    if (hg) ct_rand(hg, -1, 1);
    ct_tensor *dy = k->y == Y_NULL ? NULL : ct_mat(c, "dy", CT_IN, T * B, H, ldy ? ldy : 1);
    if (dy) ct_rand(dy, -1, 1);
    ct_tensor *dh = ct_mat(c, "dh", CT_OUT, B, H, H ? H : 1);
    ct_tensor *dc = lstm ? ct_mat(c, "dc", CT_OUT, B, H, H ? H : 1) : NULL;
    ct_rand(dh, -1, 1);
    if (dc) ct_rand(dc, -1, 1);
    ct_tensor *dg = ct_mat(c, "dg", CT_OUT, T * B, GH, GH ? GH : 1);
    ct_tensor *dhg = gru ? ct_mat(c, "dhg", CT_OUT, T * B, GH, GH ? GH : 1) : NULL;
    ct_const(dg, NAN);
    if (dhg) ct_const(dhg, NAN);
    ct_tensor *len = steps_lengths(c, k);
    double S = ct_amax(dh) + (dc ? ct_amax(dc) : 0) + (dy ? ct_amax(dy) : 0);
    if (S < 1) S = 1;
    ct_tensor *outs[] = {dh, dc, dg, dhg};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
        if (outs[i]) {
            ct_tol(outs[i], c->op->rtol, S * (double)(T ? T : 1));
            ct_floor_rel(outs[i], (double)(T ? T : 1));
        }
    CT_RUN(c, recur_op_rnn_steps_bwd(CT_D, k->cell, T, B, H, k->reverse, CT_P(w), ldw, CT_P(st), CT_P(cs), CT_P(xg),
                                     CT_P(hg), CT_P(dy), ldy, CT_P(dh), CT_P(dc), CT_P(dg), CT_P(dhg), CT_P(len)));
}

static void run_steps_op(const char *op, void (*run)(ct_case *, const steps_case *)) {
    if (!ct_optional_op_begin(op, "1.4")) return;
    for (size_t i = 0; i < sizeof steps_cases / sizeof steps_cases[0]; i++) {
        const steps_case *k = &steps_cases[i];
        char name[160];
        ct_case *c = ct_case_begin("%s", steps_case_name(k, run == rnn_steps_fwd_case, name, sizeof name));
        ct_case_offset(c, k->off);
        run(c, k);
        ct_case_end(c);
    }
}
static void test_rnn_steps(void) { run_steps_op("rnn_steps", rnn_steps_fwd_case); }
static void test_rnn_steps_bwd(void) { run_steps_op("rnn_steps_bwd", rnn_steps_bwd_case); }

/* ---- select_step --------------------------------------------------------------------------------------- */

enum { OTHER_NULL = 0, OTHER_SEPARATE = 1, OTHER_IS_Y = 2 };

typedef struct {
    size_t B, N, lda, ldo, ldy, t, off;
    int other;   /* OTHER_*; OTHER_IS_Y: y aliases other (ldy == ldo) */
    int lengths; /* LEN_* */
} select_case;

static const select_case select_cases[] = {
    {.B = 0, .N = 3, .lda = 3, .ldo = 3, .ldy = 3, .other = OTHER_SEPARATE, .lengths = LEN_MIXED},
    {.B = 1, .N = 1, .lda = 1, .ldo = 1, .ldy = 1, .other = OTHER_NULL},
    {.B = 3, .N = 17, .lda = 17, .ldo = 17, .ldy = 17, .t = 2, .other = OTHER_SEPARATE, .lengths = LEN_MIXED},
    {.B = 5, .N = 7, .lda = 9, .ldo = 8, .ldy = 15, .t = 0, .other = OTHER_NULL, .lengths = LEN_MIXED, .off = 1},
    {.B = 17, .N = 3, .lda = 6, .ldo = 4, .ldy = 5, .t = 4, .other = OTHER_SEPARATE, .lengths = LEN_MIXED, .off = 3},
    {.B = 6, .N = 5, .lda = 5, .ldo = 11, .ldy = 11, .t = 3, .other = OTHER_IS_Y, .lengths = LEN_MIXED, .off = 2},
    {.B = 4, .N = 67, .lda = 70, .ldo = 67, .ldy = 67, .t = 1, .other = OTHER_IS_Y, .lengths = LEN_NULL},
    {.B = 7, .N = 9, .lda = 9, .ldo = 9, .ldy = 9, .t = 5, .other = OTHER_SEPARATE, .lengths = LEN_ALL_INVALID},
    {.B = 9, .N = 11, .lda = 12, .ldo = 13, .ldy = 14, .t = 6, .other = OTHER_NULL, .lengths = LEN_ALL_VALID},
    {.B = 64, .N = 300, .lda = 301, .ldo = 302, .ldy = 303, .t = 2, .other = OTHER_SEPARATE, .lengths = LEN_MIXED},
};

static void test_select_step(void) {
    static const char *const other_names[] = {"other NULL", "other separate", "y==other"};
    ct_op_begin("select_step");
    for (size_t i = 0; i < sizeof select_cases / sizeof select_cases[0]; i++) {
        const select_case *k = &select_cases[i];
        ct_case *c = ct_case_begin("B=%zu N=%zu lda=%zu ldo=%zu ldy=%zu t=%zu off=%zu %s, %s", k->B, k->N, k->lda,
                                   k->ldo, k->ldy, k->t, k->off, other_names[k->other], len_names[k->lengths]);
        ct_case_offset(c, k->off);
        cell_case lk = {.B = k->B, .t = k->t, .lengths = k->lengths};
        ct_tensor *len = cell_lengths(c, &lk);
        ct_tensor *a = ct_mat(c, "a", CT_IN, k->B, k->N, k->lda);
        ct_tensor *other = k->other == OTHER_SEPARATE ? ct_mat(c, "other", CT_IN, k->B, k->N, k->ldo) : NULL;
        ct_tensor *y = ct_mat(c, "y", CT_OUT, k->B, k->N, k->ldy);
        ct_rand(a, -2, 2);
        if (other) ct_rand(other, -2, 2);
        if (k->other == OTHER_IS_Y)
            ct_rand(y, -2, 2);
        else
            ct_const(y, NAN);
        ct_tensor *os = k->other == OTHER_IS_Y ? y : other;
        CT_RUN(c, recur_op_select_step(CT_D, k->B, k->N, CT_P(a), k->lda, CT_P(os), k->ldo, CT_P(y), k->ldy,
                                       CT_P(len), k->t));
        ct_case_end(c);
    }
}

CU_TestInfo ct_cells_tests[] = {
    {.pName = "lstm_fwd", .pTestFunc = test_lstm_fwd},
    {.pName = "lstm_bwd", .pTestFunc = test_lstm_bwd},
    {.pName = "gru_fwd", .pTestFunc = test_gru_fwd},
    {.pName = "gru_bwd", .pTestFunc = test_gru_bwd},
    {.pName = "gru_reset", .pTestFunc = test_gru_reset},
    {.pName = "gru_reset_bwd", .pTestFunc = test_gru_reset_bwd},
    {.pName = "rnn_fwd", .pTestFunc = test_rnn_fwd},
    {.pName = "rnn_bwd", .pTestFunc = test_rnn_bwd},
    {.pName = "select_step", .pTestFunc = test_select_step},
    {.pName = "rnn_step", .pTestFunc = test_rnn_step},
    {.pName = "rnn_step_input", .pTestFunc = test_rnn_step_input},
    {.pName = "rnn_steps_input", .pTestFunc = test_rnn_steps_input},
    {.pName = "rnn_steps", .pTestFunc = test_rnn_steps},
    {.pName = "rnn_steps_bwd", .pTestFunc = test_rnn_steps_bwd},
    CU_TEST_INFO_NULL,
};
