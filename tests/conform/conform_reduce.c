/* Conformance: add_bias, sum_rows, sum_sq. */
#include <math.h>
#include <string.h>

#include "conform_util.h"

/* ---- add_bias ------------------------------------------------------------------------------------------ */

typedef struct {
    size_t rows, cols, ldy, off;
} add_bias_case;

static const add_bias_case add_bias_cases[] = {
    {.rows = 0, .cols = 0, .ldy = 1},           {.rows = 0, .cols = 5, .ldy = 5, .off = 1},
    {.rows = 5, .cols = 0, .ldy = 2, .off = 2}, {.rows = 1, .cols = 1, .ldy = 1},
    {.rows = 3, .cols = 17, .ldy = 17},         {.rows = 17, .cols = 3, .ldy = 8, .off = 2},
    {.rows = 67, .cols = 67, .ldy = 70, .off = 1}, {.rows = 1, .cols = 1031, .ldy = 1031, .off = 3},
    {.rows = 4, .cols = 17, .ldy = 40},         {.rows = 1000, .cols = 129, .ldy = 133, .off = 1},
};

static void test_add_bias(void) {
    ct_op_begin("add_bias");
    for (size_t i = 0; i < sizeof add_bias_cases / sizeof add_bias_cases[0]; i++) {
        const add_bias_case *k = &add_bias_cases[i];
        ct_case *c = ct_case_begin("rows=%zu cols=%zu ldy=%zu off=%zu", k->rows, k->cols, k->ldy, k->off);
        ct_case_offset(c, k->off);
        ct_tensor *bias = ct_vec(c, "bias", CT_IN, k->cols);
        ct_tensor *y = ct_mat(c, "y", CT_OUT, k->rows, k->cols, k->ldy);
        ct_rand(bias, -2, 2);
        ct_rand(y, -2, 2);
        ct_tol(y, c->op->rtol, ct_amax(bias) + ct_amax(y));
        CT_RUN(c, recur_op_add_bias(CT_D, k->rows, k->cols, CT_P(bias), CT_P(y), k->ldy));
        ct_case_end(c);
    }
}

/* ---- sum_rows ------------------------------------------------------------------------------------------ */

typedef struct {
    size_t rows, cols, ldx, off;
    float beta; /* 0: y pre-filled with NaN */
} sum_rows_case;

static const sum_rows_case sum_rows_cases[] = {
    {.rows = 0, .cols = 0, .ldx = 1, .beta = 0},
    {.rows = 0, .cols = 5, .ldx = 5, .beta = 0, .off = 1}, /* y must become 0 */
    {.rows = 0, .cols = 5, .ldx = 5, .beta = 1, .off = 2}, /* y unchanged */
    {.rows = 1, .cols = 1, .ldx = 1, .beta = 0},
    {.rows = 3, .cols = 17, .ldx = 17, .beta = 0},
    {.rows = 17, .cols = 3, .ldx = 8, .beta = 1, .off = 2},
    {.rows = 67, .cols = 67, .ldx = 70, .beta = 0.5f, .off = 1},
    {.rows = 1031, .cols = 3, .ldx = 3, .beta = 0, .off = 3},
    {.rows = 5, .cols = 1031, .ldx = 1031, .beta = 1},
    {.rows = 5000, .cols = 70, .ldx = 71, .beta = 0.5f, .off = 1},
};

static void test_sum_rows(void) {
    ct_op_begin("sum_rows");
    for (size_t i = 0; i < sizeof sum_rows_cases / sizeof sum_rows_cases[0]; i++) {
        const sum_rows_case *k = &sum_rows_cases[i];
        ct_case *c = ct_case_begin("rows=%zu cols=%zu ldx=%zu beta=%g off=%zu%s", k->rows, k->cols, k->ldx,
                                   (double)k->beta, k->off, k->beta == 0 ? " (y pre-filled with NaN)" : "");
        ct_case_offset(c, k->off);
        ct_tensor *x = ct_mat(c, "x", CT_IN, k->rows, k->cols, k->ldx);
        ct_tensor *y = ct_vec(c, "y", CT_OUT, k->cols);
        ct_rand(x, -2, 2);
        if (k->beta == 0)
            ct_const(y, NAN);
        else
            ct_rand(y, -2, 2);
        double S = (double)k->rows * ct_amax(x) + (k->beta != 0 ? fabs(k->beta) * ct_amax(y) : 0);
        ct_tol(y, c->op->rtol, S);
        CT_RUN(c, recur_op_sum_rows(CT_D, k->rows, k->cols, CT_P(x), k->ldx, k->beta, CT_P(y)));
        ct_case_end(c);
    }
}

/* ---- sum_sq -------------------------------------------------------------------------------------------- */

typedef struct {
    size_t n, off;
} sum_sq_case;

static const sum_sq_case sum_sq_cases[] = {
    {.n = 0},   {.n = 1, .off = 1},       {.n = 3},           {.n = 17, .off = 3},
    {.n = 67},  {.n = 1031, .off = 2},    {.n = 4099, .off = 5},    {.n = 40009, .off = 1},
};

/* "The summation order is fixed by the backend and must not depend on its thread count": when the target has
 * the "threads" option, sum_sq must give the same bits under several thread counts. */
static void sum_sq_thread_counts(void) {
    static const char *const counts[] = {"1", "2", "3", "7"};
    enum { NC = sizeof counts / sizeof counts[0] };
    recur_device *tgt = ct_cfg.dev[CT_TGT];
    char orig[64];
    if (recur_device_get_option(tgt, "threads", orig, sizeof orig) != RECUR_OK) {
        recur_clear_error(); /* no such option: nothing to check */
        return;
    }
    const size_t n = 40009;
    ct_case *c = ct_case_begin("n=%zu under threads=1,2,3,7: identical bits (option was %s)", n, orig);
    ct_case_offset(c, 1);
    ct_tensor *x = ct_vec(c, "x", CT_IN, n);
    ct_tensor *out = ct_vec(c, "out", CT_OUT, NC);
    ct_rand(x, -2, 2);
    ct_const(out, NAN);
    if (ct_upload(c)) {
        for (int d = 0; d < 2 && !c->failed; d++)
            for (int i = 0; i < NC; i++) {
                int st = d == CT_TGT ? recur_device_set_option(tgt, "threads", counts[i]) : RECUR_OK;
                if (!st) st = recur_op_sum_sq(ct_cfg.dev[d], n, ct_p(x, d), recur_at(ct_p(out, d), (size_t)i));
                if (!st && d == CT_TGT) st = recur_sync(tgt);
                if (st) {
                    ct_fail(c, "%s: threads=%s: %s", d == CT_REF ? "oracle" : "target", counts[i], recur_last_error());
                    break;
                }
            }
        if (recur_device_set_option(tgt, "threads", orig) != RECUR_OK)
            ct_fail(c, "target: cannot restore threads=%s: %s", orig, recur_last_error());
        c->ran = 1;
        ct_compare(c);
        if (out->got[CT_TGT])
            for (int i = 1; i < NC; i++)
                if (memcmp(&ct_got(out, CT_TGT)[i], &ct_got(out, CT_TGT)[0], 4))
                    ct_fail(c, "  threads=%s gives %.9g, threads=1 gives %.9g: the sum depends on the thread count",
                            counts[i], (double)ct_got(out, CT_TGT)[i], (double)ct_got(out, CT_TGT)[0]);
    }
    ct_case_end(c);
}

static void test_sum_sq(void) {
    ct_op_begin("sum_sq");
    for (size_t i = 0; i < sizeof sum_sq_cases / sizeof sum_sq_cases[0]; i++) {
        const sum_sq_case *k = &sum_sq_cases[i];
        ct_case *c = ct_case_begin("n=%zu off=%zu (out pre-filled with NaN)", k->n, k->off);
        ct_case_offset(c, k->off);
        ct_tensor *x = ct_vec(c, "x", CT_IN, k->n);
        ct_tensor *out = ct_vec(c, "out", CT_OUT, 1);
        ct_rand(x, -2, 2);
        ct_const(out, NAN);
        CT_RUN(c, recur_op_sum_sq(CT_D, k->n, CT_P(x), CT_P(out)));
        ct_case_end(c);
    }
    sum_sq_thread_counts();
}

CU_TestInfo ct_reduce_tests[] = {
    {.pName = "add_bias", .pTestFunc = test_add_bias},
    {.pName = "sum_rows", .pTestFunc = test_sum_rows},
    {.pName = "sum_sq", .pTestFunc = test_sum_sq},
    CU_TEST_INFO_NULL,
};
