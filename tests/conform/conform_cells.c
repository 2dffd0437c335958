/* Conformance: the fused recurrent cells (LSTM, both GRU variants, Elman RNN) and select_step. */
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

static ct_tensor *cell_y(ct_case *c, const char *name, int role, const cell_case *k) {
    if (k->y == Y_NULL) return NULL;
    return ct_mat(c, name, role, k->B, k->H, cell_ldy(k) ? cell_ldy(k) : 1);
}

static ct_case *cell_begin(const cell_case *k, const char *variant) {
    ct_case *c = ct_case_begin("%sB=%zu H=%zu t=%zu off=%zu %s, %s%s", variant, k->B, k->H, k->t, k->off,
                               len_names[k->lengths], y_names[k->y], k->h_prev_null ? ", h_prev NULL" : "");
    ct_case_offset(c, k->off);
    return c;
}

static void cell_tols(ct_case *c) {
    for (int i = 0; i < c->ntensors; i++) ct_tol(&c->t[i], c->op->rtol, 1.0);
}

/* Fill columns [from, to) of a (rows x width) matrix with values in [lo, hi]. */
static void rand_cols(ct_tensor *m, size_t from, size_t to, float lo, float hi) {
    float *f = ct_f(m);
    for (size_t r = 0; r < m->rows; r++)
        for (size_t col = from; col < to; col++) f[r * m->ld + col] = ct_randf(m->owner, lo, hi);
}

/* ---- LSTM ---------------------------------------------------------------------------------------------- */

static void test_lstm_fwd(void) {
    ct_op_begin("lstm_fwd");
    for (size_t i = 0; i < N_CELL_CASES; i++) {
        const cell_case *k = &cell_cases[i];
        size_t B = k->B, H = k->H;
        ct_case *c = cell_begin(k, "");
        ct_tensor *len = cell_lengths(c, k);
        ct_tensor *gates = ct_mat(c, "gates", CT_OUT, B, 4 * H, 4 * H);
        ct_tensor *c_prev = ct_mat(c, "c_prev", CT_IN, B, H, H);
        ct_tensor *cc = ct_mat(c, "c", CT_OUT, B, H, H);
        ct_tensor *h_prev = k->h_prev_null ? NULL : ct_mat(c, "h_prev", CT_IN, B, H, H);
        ct_tensor *h = ct_mat(c, "h", CT_OUT, B, H, H);
        ct_tensor *y = cell_y(c, "y", CT_OUT, k);
        ct_rand(gates, -3, 3);
        ct_rand(c_prev, -2, 2);
        if (h_prev) ct_rand(h_prev, -1, 1);
        ct_const(cc, NAN);
        ct_const(h, NAN);
        if (y) ct_const(y, NAN);
        cell_tols(c);
        CT_RUN(c, recur_op_lstm_fwd(CT_D, B, H, CT_P(gates), CT_P(c_prev), CT_P(cc), CT_P(h_prev), CT_P(h), CT_P(y),
                                    cell_ldy(k), CT_P(len), k->t));
        ct_case_end(c);
    }
}

static void test_lstm_bwd(void) {
    ct_op_begin("lstm_bwd");
    for (size_t i = 0; i < N_CELL_CASES; i++) {
        const cell_case *k = &cell_cases[i];
        size_t B = k->B, H = k->H;
        ct_case *c = cell_begin(k, "");
        ct_tensor *len = cell_lengths(c, k);
        ct_tensor *gates = ct_mat(c, "gates", CT_IN, B, 4 * H, 4 * H);
        ct_tensor *c_prev = ct_mat(c, "c_prev", CT_IN, B, H, H);
        ct_tensor *cc = ct_mat(c, "c", CT_IN, B, H, H);
        ct_tensor *dy = cell_y(c, "dy", CT_IN, k);
        ct_tensor *dh = ct_mat(c, "dh", CT_OUT, B, H, H);
        ct_tensor *dc = ct_mat(c, "dc", CT_OUT, B, H, H);
        ct_tensor *dgates = ct_mat(c, "dgates", CT_OUT, B, 4 * H, 4 * H);
        /* activations: i, f in (0, 1), g in (-1, 1), o in (0, 1) */
        rand_cols(gates, 0, 2 * H, 0.01f, 0.99f);
        rand_cols(gates, 2 * H, 3 * H, -0.99f, 0.99f);
        rand_cols(gates, 3 * H, 4 * H, 0.01f, 0.99f);
        ct_rand(c_prev, -2, 2);
        ct_rand(cc, -2, 2);
        if (dy) ct_rand(dy, -1, 1);
        ct_rand(dh, -1, 1);
        ct_rand(dc, -1, 1);
        ct_const(dgates, NAN);
        cell_tols(c);
        CT_RUN(c, recur_op_lstm_bwd(CT_D, B, H, CT_P(gates), CT_P(c_prev), CT_P(cc), CT_P(dy), cell_ldy(k), CT_P(dh),
                                    CT_P(dc), CT_P(dgates), CT_P(len), k->t));
        ct_case_end(c);
    }
}

/* ---- GRU ----------------------------------------------------------------------------------------------- */

static void test_gru_fwd(void) {
    ct_op_begin("gru_fwd");
    for (int ra = 1; ra >= 0; ra--)
        for (size_t i = 0; i < N_CELL_CASES; i++) {
            const cell_case *k = &cell_cases[i];
            size_t B = k->B, H = k->H;
            ct_case *c = cell_begin(k, ra ? "reset_after=1 " : "reset_after=0 ");
            ct_tensor *len = cell_lengths(c, k);
            ct_tensor *xg = ct_mat(c, "xg", CT_OUT, B, 3 * H, 3 * H);
            ct_tensor *hg = ct_mat(c, "hg", CT_IN, B, 3 * H, 3 * H);
            ct_tensor *h_prev = ct_mat(c, "h_prev", CT_IN, B, H, H);
            ct_tensor *h = ct_mat(c, "h", CT_OUT, B, H, H);
            ct_tensor *y = cell_y(c, "y", CT_OUT, k);
            if (ra) {
                ct_rand(xg, -3, 3);
            } else { /* gru_reset already turned the r, z parts into activations */
                rand_cols(xg, 0, 2 * H, 0.01f, 0.99f);
                rand_cols(xg, 2 * H, 3 * H, -3, 3);
            }
            ct_rand(hg, -3, 3);
            ct_rand(h_prev, -1, 1);
            ct_const(h, NAN);
            if (y) ct_const(y, NAN);
            cell_tols(c);
            CT_RUN(c, recur_op_gru_fwd(CT_D, B, H, ra, CT_P(xg), CT_P(hg), CT_P(h_prev), CT_P(h), CT_P(y), cell_ldy(k),
                                       CT_P(len), k->t));
            ct_case_end(c);
        }
}

static void test_gru_bwd(void) {
    ct_op_begin("gru_bwd");
    for (int ra = 1; ra >= 0; ra--)
        for (size_t i = 0; i < N_CELL_CASES; i++) {
            const cell_case *k = &cell_cases[i];
            size_t B = k->B, H = k->H;
            ct_case *c = cell_begin(k, ra ? "reset_after=1 " : "reset_after=0 ");
            ct_tensor *len = cell_lengths(c, k);
            ct_tensor *xg = ct_mat(c, "xg", CT_IN, B, 3 * H, 3 * H);
            ct_tensor *hg = ct_mat(c, "hg", CT_IN, B, 3 * H, 3 * H);
            ct_tensor *h_prev = ct_mat(c, "h_prev", CT_IN, B, H, H);
            ct_tensor *dy = cell_y(c, "dy", CT_IN, k);
            ct_tensor *dh = ct_mat(c, "dh", CT_OUT, B, H, H);
            ct_tensor *dxg = ct_mat(c, "dxg", CT_OUT, B, 3 * H, 3 * H);
            ct_tensor *dhg = ct_mat(c, "dhg", CT_OUT, B, 3 * H, 3 * H);
            rand_cols(xg, 0, 2 * H, 0.01f, 0.99f); /* r, z */
            rand_cols(xg, 2 * H, 3 * H, -0.99f, 0.99f); /* n */
            ct_rand(hg, -3, 3);
            ct_rand(h_prev, -1, 1);
            if (dy) ct_rand(dy, -1, 1);
            ct_rand(dh, -1, 1);
            ct_const(dxg, NAN);
            ct_const(dhg, NAN);
            cell_tols(c);
            CT_RUN(c, recur_op_gru_bwd(CT_D, B, H, ra, CT_P(xg), CT_P(hg), CT_P(h_prev), CT_P(dy), cell_ldy(k),
                                       CT_P(dh), CT_P(dxg), CT_P(dhg), CT_P(len), k->t));
            ct_case_end(c);
        }
}

static void test_gru_reset(void) {
    ct_op_begin("gru_reset");
    for (size_t i = 0; i < N_CELL_CASES; i++) {
        const cell_case *k = &cell_cases[i];
        size_t B = k->B, H = k->H;
        ct_case *c = cell_begin(k, "");
        ct_tensor *len = cell_lengths(c, k);
        ct_tensor *xg = ct_mat(c, "xg", CT_OUT, B, 3 * H, 3 * H);
        ct_tensor *hg = ct_mat(c, "hg", CT_IN, B, 3 * H, 3 * H);
        ct_tensor *h_prev = ct_mat(c, "h_prev", CT_IN, B, H, H);
        ct_tensor *rh = ct_mat(c, "rh", CT_OUT, B, H, H);
        ct_rand(xg, -3, 3);
        ct_rand(hg, -3, 3);
        ct_rand(h_prev, -1, 1);
        ct_const(rh, NAN);
        cell_tols(c);
        CT_RUN(c, recur_op_gru_reset(CT_D, B, H, CT_P(xg), CT_P(hg), CT_P(h_prev), CT_P(rh), CT_P(len), k->t));
        ct_case_end(c);
    }
}

static void test_gru_reset_bwd(void) {
    ct_op_begin("gru_reset_bwd");
    for (size_t i = 0; i < N_CELL_CASES; i++) {
        const cell_case *k = &cell_cases[i];
        size_t B = k->B, H = k->H;
        ct_case *c = cell_begin(k, "");
        ct_tensor *len = cell_lengths(c, k);
        ct_tensor *xg = ct_mat(c, "xg", CT_IN, B, 3 * H, 3 * H);
        ct_tensor *h_prev = ct_mat(c, "h_prev", CT_IN, B, H, H);
        ct_tensor *drh = ct_mat(c, "drh", CT_IN, B, H, H);
        ct_tensor *dxg = ct_mat(c, "dxg", CT_OUT, B, 3 * H, 3 * H);
        ct_tensor *dhg = ct_mat(c, "dhg", CT_OUT, B, 3 * H, 3 * H);
        ct_tensor *dh = ct_mat(c, "dh", CT_OUT, B, H, H);
        rand_cols(xg, 0, 2 * H, 0.01f, 0.99f);
        rand_cols(xg, 2 * H, 3 * H, -0.99f, 0.99f);
        ct_rand(h_prev, -1, 1);
        ct_rand(drh, -1, 1);
        /* Only the r parts of valid rows are written: the rest must keep these values. */
        ct_rand(dxg, -1, 1);
        ct_rand(dhg, -1, 1);
        ct_rand(dh, -1, 1);
        cell_tols(c);
        CT_RUN(c, recur_op_gru_reset_bwd(CT_D, B, H, CT_P(xg), CT_P(h_prev), CT_P(drh), CT_P(dxg), CT_P(dhg), CT_P(dh),
                                         CT_P(len), k->t));
        ct_case_end(c);
    }
}

/* ---- Elman RNN ----------------------------------------------------------------------------------------- */

static void test_rnn_fwd(void) {
    static const int acts[] = {RECUR_ACT_TANH, RECUR_ACT_RELU};
    ct_op_begin("rnn_fwd");
    for (int a = 0; a < 2; a++)
        for (int alias = 0; alias < 2; alias++)
            for (size_t i = 0; i < N_CELL_CASES; i++) {
                const cell_case *k = &cell_cases[i];
                if (alias && i % 2) continue; /* pre == h on half of the shapes */
                size_t B = k->B, H = k->H;
                char variant[48];
                snprintf(variant, sizeof variant, "%s%s ", acts[a] == RECUR_ACT_TANH ? "tanh" : "relu",
                         alias ? " pre==h" : "");
                ct_case *c = cell_begin(k, variant);
                ct_tensor *len = cell_lengths(c, k);
                ct_tensor *pre = alias ? NULL : ct_mat(c, "pre", CT_IN, B, H, H);
                ct_tensor *h_prev = ct_mat(c, "h_prev", CT_IN, B, H, H);
                ct_tensor *h = ct_mat(c, "h", CT_OUT, B, H, H);
                ct_tensor *y = cell_y(c, "y", CT_OUT, k);
                ct_tensor *pres = pre ? pre : h;
                ct_rand(pres, -3, 3);
                ct_rand(h_prev, -1, 1);
                if (pre) ct_const(h, NAN);
                if (y) ct_const(y, NAN);
                cell_tols(c);
                CT_RUN(c, recur_op_rnn_fwd(CT_D, B, H, acts[a], CT_P(pres), CT_P(h_prev), CT_P(h), CT_P(y),
                                           cell_ldy(k), CT_P(len), k->t));
                ct_case_end(c);
            }
}

static void test_rnn_bwd(void) {
    static const int acts[] = {RECUR_ACT_TANH, RECUR_ACT_RELU};
    ct_op_begin("rnn_bwd");
    for (int a = 0; a < 2; a++)
        for (size_t i = 0; i < N_CELL_CASES; i++) {
            const cell_case *k = &cell_cases[i];
            size_t B = k->B, H = k->H;
            ct_case *c = cell_begin(k, acts[a] == RECUR_ACT_TANH ? "tanh " : "relu ");
            ct_tensor *len = cell_lengths(c, k);
            ct_tensor *h = ct_mat(c, "h", CT_IN, B, H, H);
            ct_tensor *dy = cell_y(c, "dy", CT_IN, k);
            ct_tensor *dh = ct_mat(c, "dh", CT_OUT, B, H, H);
            ct_tensor *dpre = ct_mat(c, "dpre", CT_OUT, B, H, H);
            if (acts[a] == RECUR_ACT_TANH) {
                ct_rand(h, -0.99f, 0.99f);
            } else {
                ct_rand(h, -1, 2);
                for (size_t j = 0; j < B * H; j++)
                    if (ct_f(h)[j] < 0) ct_f(h)[j] = 0; /* relu outputs, a third exactly 0 */
            }
            if (dy) ct_rand(dy, -1, 1);
            ct_rand(dh, -1, 1);
            ct_const(dpre, NAN);
            cell_tols(c);
            CT_RUN(c, recur_op_rnn_bwd(CT_D, B, H, acts[a], CT_P(h), CT_P(dy), cell_ldy(k), CT_P(dh), CT_P(dpre),
                                       CT_P(len), k->t));
            ct_case_end(c);
        }
}

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
    CU_TEST_INFO_NULL,
};
