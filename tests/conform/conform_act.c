/* Conformance: act_fwd, act_bwd (every activation), softmax_fwd, softmax_bwd. */
#include <math.h>

#include "conform_util.h"

static const char *const act_names[] = {"identity", "sigmoid", "tanh", "relu"};
#define N_ACTS 4

/* ---- act_fwd ------------------------------------------------------------------------------------------- */

typedef struct {
    size_t n, off;
    int inplace; /* x == y */
    float lo, hi;
} act_fwd_case;

static const act_fwd_case act_fwd_cases[] = {
    {.n = 0, .lo = -1, .hi = 1},
    {.n = 1, .lo = -1, .hi = 1},
    {.n = 17, .off = 3, .lo = -8, .hi = 8},
    {.n = 67, .inplace = 1, .lo = -8, .hi = 8},
    {.n = 1031, .off = 2, .lo = -30, .hi = 30},
    {.n = 4099, .off = 1, .inplace = 1, .lo = -4, .hi = 4},
    {.n = 100003, .off = 2, .lo = -6, .hi = 6},
};

static void test_act_fwd(void) {
    ct_op_begin("act_fwd");
    for (int act = 0; act < N_ACTS; act++)
        for (size_t i = 0; i < sizeof act_fwd_cases / sizeof act_fwd_cases[0]; i++) {
            const act_fwd_case *k = &act_fwd_cases[i];
            ct_case *c = ct_case_begin("%s n=%zu off=%zu x in [%g, %g]%s", act_names[act], k->n, k->off,
                                       (double)k->lo, (double)k->hi, k->inplace ? " x==y" : "");
            ct_case_offset(c, k->off);
            ct_tensor *x = k->inplace ? NULL : ct_vec(c, "x", CT_IN, k->n);
            ct_tensor *y = ct_vec(c, "y", CT_OUT, k->n);
            ct_tensor *xs = x ? x : y;
            ct_rand(xs, k->lo, k->hi);
            if (k->n > 2) {
                ct_f(xs)[0] = 0.0f; /* relu(0), sigmoid(0), tanh(0) */
                ct_f(xs)[1] = -0.0f;
            }
            if (x) ct_const(y, NAN);
            ct_tol(y, c->op->rtol, 1.0);
            CT_RUN(c, recur_op_act_fwd(CT_D, act, k->n, CT_P(xs), CT_P(y)));
            ct_case_end(c);
        }
}

/* ---- act_bwd ------------------------------------------------------------------------------------------- */

typedef struct {
    size_t n, off;
    float beta;  /* 0: dx overwritten (pre-filled with NaN unless aliased); 1: dx += */
    int alias;   /* dx == dy (beta 0) */
} act_bwd_case;

static const act_bwd_case act_bwd_cases[] = {
    {.n = 0, .beta = 0},
    {.n = 1, .beta = 0},
    {.n = 17, .off = 3, .beta = 1},
    {.n = 67, .beta = 0, .alias = 1},
    {.n = 1031, .off = 2, .beta = 1},
    {.n = 4099, .off = 1, .beta = 0},
    {.n = 33, .off = 4, .beta = 0, .alias = 1},
    {.n = 100003, .off = 1, .beta = 1},
};

/* y values as f produces them. */
static void act_outputs(ct_tensor *y, int act) {
    switch (act) {
    case RECUR_ACT_SIGMOID: ct_rand(y, 0.001f, 0.999f); break;
    case RECUR_ACT_TANH: ct_rand(y, -0.999f, 0.999f); break;
    case RECUR_ACT_RELU: {
        ct_rand(y, -1.5f, 3.0f);
        float *f = ct_f(y);
        for (size_t i = 0; i < y->span; i++)
            if (f[i] < 0) f[i] = 0; /* about a third exactly 0: derivative 0 */
        break;
    }
    default: ct_rand(y, -3, 3); break;
    }
}

static void test_act_bwd(void) {
    ct_op_begin("act_bwd");
    for (int act = 0; act < N_ACTS; act++)
        for (size_t i = 0; i < sizeof act_bwd_cases / sizeof act_bwd_cases[0]; i++) {
            const act_bwd_case *k = &act_bwd_cases[i];
            ct_case *c = ct_case_begin("%s n=%zu off=%zu beta=%g%s", act_names[act], k->n, k->off,
                                       (double)k->beta, k->alias ? " dx==dy" : "");
            ct_case_offset(c, k->off);
            ct_tensor *y = ct_vec(c, "y", CT_IN, k->n);
            ct_tensor *dy = k->alias ? NULL : ct_vec(c, "dy", CT_IN, k->n);
            ct_tensor *dx = ct_vec(c, "dx", CT_OUT, k->n);
            ct_tensor *dys = dy ? dy : dx;
            act_outputs(y, act);
            ct_rand(dys, -2, 2);
            if (!k->alias) {
                if (k->beta == 0)
                    ct_const(dx, NAN);
                else
                    ct_rand(dx, -2, 2);
            }
            ct_tol(dx, c->op->rtol, ct_amax(dys) + (k->beta != 0 ? fabs(k->beta) * ct_amax(dx) : 0));
            CT_RUN(c, recur_op_act_bwd(CT_D, act, k->n, CT_P(y), CT_P(dys), k->beta, CT_P(dx)));
            ct_case_end(c);
        }
}

/* ---- softmax ------------------------------------------------------------------------------------------- */

enum { LEN_NONE = 0, LEN_MIXED = 1 };

typedef struct {
    size_t rows, cols, off;
    int lengths; /* LEN_MIXED: rows with length 0, full rows and rows in between */
    int inplace; /* x == y (fwd) / dx == dy (bwd) */
    float range; /* logits in [-range, range] */
} softmax_case;

static const softmax_case softmax_cases[] = {
    {.rows = 0, .cols = 5, .range = 3},
    {.rows = 5, .cols = 0, .range = 3, .lengths = LEN_MIXED},
    {.rows = 1, .cols = 1, .range = 3},
    {.rows = 1, .cols = 1, .range = 3, .lengths = LEN_MIXED, .off = 2},
    {.rows = 3, .cols = 17, .range = 3},
    {.rows = 4, .cols = 1, .range = 3, .lengths = LEN_MIXED, .off = 1},
    {.rows = 5, .cols = 67, .range = 3, .lengths = LEN_MIXED, .off = 3},
    {.rows = 7, .cols = 17, .range = 5, .lengths = LEN_MIXED, .inplace = 1},
    {.rows = 3, .cols = 17, .range = 100, .off = 1},
    {.rows = 6, .cols = 17, .range = 100, .lengths = LEN_MIXED, .off = 2},
    {.rows = 17, .cols = 3, .range = 3, .inplace = 1, .off = 5},
    {.rows = 2, .cols = 1031, .range = 8, .lengths = LEN_MIXED},
    {.rows = 33, .cols = 67, .range = 2},
    {.rows = 257, .cols = 129, .range = 4, .lengths = LEN_MIXED, .off = 1},
};

/* Row r's length: 0 for r % 4 == 0, cols for r % 4 == 1, otherwise random in [1, cols]. */
static void make_lengths(ct_case *c, int32_t *len, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++)
        len[r] = r % 4 == 0 ? 0 : r % 4 == 1 ? (int32_t)cols : ct_randi(c, 1, cols ? (int32_t)cols : 1);
}

static void test_softmax_fwd(void) {
    ct_op_begin("softmax_fwd");
    for (size_t i = 0; i < sizeof softmax_cases / sizeof softmax_cases[0]; i++) {
        const softmax_case *k = &softmax_cases[i];
        ct_case *c = ct_case_begin("rows=%zu cols=%zu off=%zu logits in +-%g%s%s", k->rows, k->cols, k->off,
                                   (double)k->range, k->lengths ? " lengths (some 0)" : " lengths NULL",
                                   k->inplace ? " x==y" : "");
        ct_case_offset(c, k->off);
        ct_tensor *len = k->lengths ? ct_ints(c, "lengths", k->rows, NULL) : NULL;
        ct_tensor *x = k->inplace ? NULL : ct_mat(c, "x", CT_IN, k->rows, k->cols, k->cols);
        ct_tensor *y = ct_mat(c, "y", CT_OUT, k->rows, k->cols, k->cols);
        ct_tensor *xs = x ? x : y;
        ct_rand(xs, -k->range, k->range);
        if (len) {
            make_lengths(c, ct_i(len), k->rows, k->cols);
            for (size_t r = 0; r < k->rows; r++) /* masked logits would dominate if they were used */
                for (size_t col = (size_t)ct_i(len)[r]; col < k->cols; col++) ct_f(xs)[r * k->cols + col] = 30.0f;
        }
        if (x) ct_const(y, NAN);
        ct_tol(y, c->op->rtol, 1e-6);
        CT_RUN(c, recur_op_softmax_fwd(CT_D, k->rows, k->cols, CT_P(xs), CT_P(len), CT_P(y)));
        ct_case_end(c);
    }
}

static void test_softmax_bwd(void) {
    ct_op_begin("softmax_bwd");
    for (size_t i = 0; i < sizeof softmax_cases / sizeof softmax_cases[0]; i++) {
        const softmax_case *k = &softmax_cases[i];
        ct_case *c = ct_case_begin("rows=%zu cols=%zu off=%zu%s%s", k->rows, k->cols, k->off,
                                   k->lengths ? " y with masked zeros" : "", k->inplace ? " dx==dy" : "");
        ct_case_offset(c, k->off);
        ct_tensor *y = ct_mat(c, "y", CT_IN, k->rows, k->cols, k->cols);
        ct_tensor *dy = k->inplace ? NULL : ct_mat(c, "dy", CT_IN, k->rows, k->cols, k->cols);
        ct_tensor *dx = ct_mat(c, "dx", CT_OUT, k->rows, k->cols, k->cols);
        ct_tensor *dys = dy ? dy : dx;
        /* y = a softmax (masked like the forward case), computed here in double. */
        float *yf = ct_f(y);
        for (size_t r = 0; r < k->rows; r++) {
            size_t L = k->cols;
            if (k->lengths) L = r % 4 == 0 ? 0 : r % 4 == 1 ? k->cols : (size_t)ct_randi(c, 1, (int32_t)k->cols);
            double m = -INFINITY, s = 0;
            double logit[1031];
            for (size_t col = 0; col < L; col++) {
                logit[col] = ct_randf(c, -k->range, k->range);
                if (logit[col] > m) m = logit[col];
            }
            for (size_t col = 0; col < L; col++) s += exp(logit[col] - m);
            for (size_t col = 0; col < k->cols; col++)
                yf[r * k->cols + col] = col < L ? (float)(exp(logit[col] - m) / s) : 0.0f;
        }
        ct_rand(dys, -1, 1);
        if (dy) ct_const(dx, NAN);
        ct_tol(dx, c->op->rtol, ct_amax(y) * ct_amax(dys));
        CT_RUN(c, recur_op_softmax_bwd(CT_D, k->rows, k->cols, CT_P(y), CT_P(dys), CT_P(dx)));
        ct_case_end(c);
    }
}

CU_TestInfo ct_act_tests[] = {
    {.pName = "act_fwd", .pTestFunc = test_act_fwd},
    {.pName = "act_bwd", .pTestFunc = test_act_bwd},
    {.pName = "softmax_fwd", .pTestFunc = test_softmax_fwd},
    {.pName = "softmax_bwd", .pTestFunc = test_softmax_bwd},
    CU_TEST_INFO_NULL,
};
