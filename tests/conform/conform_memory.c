/* Conformance: fill, copy, scale, axpy, mul, transpose. */
#include <math.h>

#include "conform_util.h"

/* ---- fill ---------------------------------------------------------------------------------------------- */

typedef struct {
    size_t n, off;
    float value;
    int ints; /* the buffer holds int32 (fill 0 clears it) */
} fill_case;

static const fill_case fill_cases[] = {
    {.n = 0, .value = 1.0f},
    {.n = 1, .value = 2.5f},
    {.n = 1, .off = 3, .value = -1.0f},
    {.n = 3, .off = 1, .value = 0.0f},
    {.n = 17, .value = -0.0f},
    {.n = 67, .off = 5, .value = 3.25f},
    {.n = 1031, .off = 2, .value = 1e-3f},
    {.n = 4099, .value = -INFINITY},
    {.n = 67, .off = 1, .value = 0.0f, .ints = 1},
    {.n = 100003, .off = 3, .value = 0.5f}, /* large enough for threaded / vector paths */
};

static void test_fill(void) {
    ct_op_begin("fill");
    for (size_t i = 0; i < sizeof fill_cases / sizeof fill_cases[0]; i++) {
        const fill_case *k = &fill_cases[i];
        ct_case *c = ct_case_begin("n=%zu off=%zu value=%g%s", k->n, k->off, (double)k->value,
                                   k->ints ? " int32 buffer" : "");
        ct_case_offset(c, k->off);
        ct_tensor *y = ct_vec(c, "y", CT_OUT, k->n);
        if (k->ints) {
            y->is_int = 1;
            ct_rand_int(y, -1000000, 1000000);
        } else {
            ct_rand(y, -1, 1);
        }
        CT_RUN(c, recur_op_fill(CT_D, k->n, k->value, CT_P(y)));
        ct_case_end(c);
    }
}

/* ---- copy ---------------------------------------------------------------------------------------------- */

typedef struct {
    size_t rows, cols, ldx, ldy, off;
    int inplace; /* x == y (ldx == ldy) */
    int bits;    /* arbitrary bit patterns (int32, NaN payloads): copy moves bits */
} copy_case;

static const copy_case copy_cases[] = {
    {.rows = 0, .cols = 0, .ldx = 1, .ldy = 1},
    {.rows = 0, .cols = 5, .ldx = 5, .ldy = 7, .off = 2},
    {.rows = 5, .cols = 0, .ldx = 3, .ldy = 3, .off = 1},
    {.rows = 1, .cols = 1, .ldx = 1, .ldy = 1},
    {.rows = 1, .cols = 17, .ldx = 17, .ldy = 17, .off = 3},
    {.rows = 3, .cols = 17, .ldx = 17, .ldy = 17},
    {.rows = 3, .cols = 17, .ldx = 20, .ldy = 25, .off = 2},
    {.rows = 17, .cols = 3, .ldx = 5, .ldy = 3, .off = 1},
    {.rows = 33, .cols = 1, .ldx = 4, .ldy = 2, .off = 7},
    {.rows = 67, .cols = 67, .ldx = 70, .ldy = 67, .off = 1},
    {.rows = 5, .cols = 5, .ldx = 8, .ldy = 8, .off = 3, .inplace = 1},
    {.rows = 7, .cols = 13, .ldx = 13, .ldy = 13, .bits = 1},
    {.rows = 9, .cols = 11, .ldx = 12, .ldy = 15, .off = 4, .bits = 1},
    {.rows = 1000, .cols = 129, .ldx = 130, .ldy = 131, .off = 1},
};

static void test_copy(void) {
    ct_op_begin("copy");
    for (size_t i = 0; i < sizeof copy_cases / sizeof copy_cases[0]; i++) {
        const copy_case *k = &copy_cases[i];
        ct_case *c = ct_case_begin("rows=%zu cols=%zu ldx=%zu ldy=%zu off=%zu%s%s", k->rows, k->cols, k->ldx,
                                   k->ldy, k->off, k->inplace ? " in-place" : "", k->bits ? " raw bits" : "");
        ct_case_offset(c, k->off);
        ct_tensor *x = k->inplace ? NULL : ct_mat(c, "x", CT_IN, k->rows, k->cols, k->ldx);
        ct_tensor *y = ct_mat(c, "y", CT_OUT, k->rows, k->cols, k->ldy);
        ct_tensor *src = k->inplace ? y : x;
        if (k->bits) {
            src->is_int = y->is_int = 1;
            ct_rand_int(src, INT32_MIN, INT32_MAX);
            int32_t *p = ct_i(src);
            p[0] = (int32_t)0x7FC00123; /* NaN payloads must survive */
            if (k->cols > 1) p[1] = (int32_t)0xFF800001;
        } else {
            ct_rand(src, -4, 4);
        }
        if (!k->inplace) ct_rand(y, -1, 1);
        CT_RUN(c, recur_op_copy(CT_D, k->rows, k->cols, CT_P(src), k->ldx, CT_P(y), k->ldy));
        ct_case_end(c);
    }
}

/* ---- transpose (ABI 1.1, optional) --------------------------------------------------------------------- */

static const copy_case transpose_cases[] = {
    {.rows = 0, .cols = 0, .ldx = 1, .ldy = 1},
    {.rows = 0, .cols = 5, .ldx = 5, .ldy = 1, .off = 2},
    {.rows = 5, .cols = 0, .ldx = 3, .ldy = 5, .off = 1},
    {.rows = 1, .cols = 1, .ldx = 1, .ldy = 1},
    {.rows = 1, .cols = 17, .ldx = 17, .ldy = 1, .off = 3},
    {.rows = 17, .cols = 1, .ldx = 1, .ldy = 17},
    {.rows = 3, .cols = 17, .ldx = 20, .ldy = 5, .off = 2},
    {.rows = 33, .cols = 31, .ldx = 31, .ldy = 33},       /* crosses the 32 x 32 tiles of the ref kernel */
    {.rows = 64, .cols = 65, .ldx = 70, .ldy = 80, .off = 1},
    {.rows = 9, .cols = 11, .ldx = 12, .ldy = 15, .off = 4, .bits = 1},
    {.rows = 1024, .cols = 256, .ldx = 256, .ldy = 1040}, /* W_hh of an LSTM with H = 256, as the core uses it */
    {.rows = 129, .cols = 1000, .ldx = 1001, .ldy = 131, .off = 1},
};

static void test_transpose(void) {
    if (!ct_optional_op_begin("transpose", "1.1")) return;
    for (size_t i = 0; i < sizeof transpose_cases / sizeof transpose_cases[0]; i++) {
        const copy_case *k = &transpose_cases[i];
        ct_case *c = ct_case_begin("rows=%zu cols=%zu ldx=%zu ldy=%zu off=%zu%s", k->rows, k->cols, k->ldx, k->ldy,
                                   k->off, k->bits ? " raw bits" : "");
        ct_case_offset(c, k->off);
        ct_tensor *x = ct_mat(c, "x", CT_IN, k->rows, k->cols, k->ldx);
        ct_tensor *y = ct_mat(c, "y", CT_OUT, k->cols, k->rows, k->ldy);
        if (k->bits) {
            x->is_int = y->is_int = 1;
            ct_rand_int(x, INT32_MIN, INT32_MAX);
            ct_i(x)[0] = (int32_t)0x7FC00123; /* NaN payloads must survive */
        } else {
            ct_rand(x, -4, 4);
        }
        ct_rand(y, -1, 1);
        CT_RUN(c, recur_op_transpose(CT_D, k->rows, k->cols, CT_P(x), k->ldx, CT_P(y), k->ldy));
        ct_case_end(c);
    }
}

/* ---- scale --------------------------------------------------------------------------------------------- */

typedef struct {
    size_t n, off;
    float alpha;
} scale_case;

static const scale_case scale_cases[] = {
    {.n = 0, .alpha = 2.0f},         {.n = 1, .alpha = -1.0f},          {.n = 3, .off = 1, .alpha = 0.5f},
    {.n = 17, .off = 3, .alpha = 0.0f}, {.n = 67, .alpha = -2.5f},      {.n = 1031, .off = 2, .alpha = 1.0f},
    {.n = 4099, .off = 5, .alpha = 0.37f}, {.n = 100003, .off = 1, .alpha = -0.7f},
};

static void test_scale(void) {
    ct_op_begin("scale");
    for (size_t i = 0; i < sizeof scale_cases / sizeof scale_cases[0]; i++) {
        const scale_case *k = &scale_cases[i];
        ct_case *c = ct_case_begin("n=%zu off=%zu alpha=%g", k->n, k->off, (double)k->alpha);
        ct_case_offset(c, k->off);
        ct_tensor *y = ct_vec(c, "y", CT_OUT, k->n);
        ct_rand(y, -3, 3);
        ct_tol(y, c->op->rtol, fabs(k->alpha) * ct_amax(y));
        CT_RUN(c, recur_op_scale(CT_D, k->n, k->alpha, CT_P(y)));
        ct_case_end(c);
    }
}

/* ---- axpy ---------------------------------------------------------------------------------------------- */

typedef struct {
    size_t n, off;
    float alpha;
    int inplace; /* x == y */
} axpy_case;

static const axpy_case axpy_cases[] = {
    {.n = 0, .alpha = 1.0f},
    {.n = 1, .alpha = 2.0f},
    {.n = 3, .off = 1, .alpha = -0.5f},
    {.n = 17, .off = 3, .alpha = 0.0f},
    {.n = 67, .alpha = 1.5f, .inplace = 1},
    {.n = 17, .off = 2, .alpha = -1.0f, .inplace = 1},
    {.n = 1031, .off = 2, .alpha = -1.0f},
    {.n = 4099, .off = 5, .alpha = 0.25f},
    {.n = 100003, .off = 2, .alpha = 0.3f},
};

static void test_axpy(void) {
    ct_op_begin("axpy");
    for (size_t i = 0; i < sizeof axpy_cases / sizeof axpy_cases[0]; i++) {
        const axpy_case *k = &axpy_cases[i];
        ct_case *c = ct_case_begin("n=%zu off=%zu alpha=%g%s", k->n, k->off, (double)k->alpha,
                                   k->inplace ? " x==y" : "");
        ct_case_offset(c, k->off);
        ct_tensor *x = k->inplace ? NULL : ct_vec(c, "x", CT_IN, k->n);
        ct_tensor *y = ct_vec(c, "y", CT_OUT, k->n);
        if (x) ct_rand(x, -2, 2);
        ct_rand(y, -2, 2);
        ct_tensor *xs = x ? x : y;
        ct_tol(y, c->op->rtol, fabs(k->alpha) * ct_amax(xs) + ct_amax(y));
        CT_RUN(c, recur_op_axpy(CT_D, k->n, k->alpha, CT_P(xs), CT_P(y)));
        ct_case_end(c);
    }
}

/* ---- mul ----------------------------------------------------------------------------------------------- */

enum { MUL_NO_ALIAS = 0, MUL_A_IS_Y = 1, MUL_B_IS_Y = 2, MUL_AB_ARE_Y = 3 };

typedef struct {
    size_t n, off;
    float alpha, beta;
    int alias;
} mul_case;

static const mul_case mul_cases[] = {
    {.n = 0, .alpha = 1.0f, .beta = 0.0f},
    {.n = 1, .alpha = 1.0f, .beta = 0.0f},
    {.n = 3, .off = 1, .alpha = 2.0f, .beta = 0.0f},
    {.n = 17, .off = 3, .alpha = -1.0f, .beta = 1.0f},
    {.n = 67, .alpha = 0.5f, .beta = 0.5f},
    {.n = 1031, .off = 2, .alpha = 1.0f, .beta = 0.0f, .alias = MUL_A_IS_Y},
    {.n = 17, .off = 1, .alpha = 1.5f, .beta = -2.0f, .alias = MUL_B_IS_Y},
    {.n = 67, .off = 4, .alpha = 1.0f, .beta = 0.0f, .alias = MUL_AB_ARE_Y},
    {.n = 33, .alpha = -0.75f, .beta = 1.0f, .alias = MUL_A_IS_Y},
    {.n = 4099, .off = 5, .alpha = 0.3f, .beta = 1.0f},
    {.n = 100003, .off = 1, .alpha = 1.25f, .beta = 0.0f},
};

static void test_mul(void) {
    static const char *const alias_names[] = {"", " a==y", " b==y", " a==b==y"};
    ct_op_begin("mul");
    for (size_t i = 0; i < sizeof mul_cases / sizeof mul_cases[0]; i++) {
        const mul_case *k = &mul_cases[i];
        ct_case *c = ct_case_begin("n=%zu off=%zu alpha=%g beta=%g%s%s", k->n, k->off, (double)k->alpha,
                                   (double)k->beta, alias_names[k->alias],
                                   k->beta == 0 && !k->alias ? " (y pre-filled with NaN)" : "");
        ct_case_offset(c, k->off);
        ct_tensor *a = (k->alias & MUL_A_IS_Y) ? NULL : ct_vec(c, "a", CT_IN, k->n);
        ct_tensor *b = (k->alias & MUL_B_IS_Y) ? NULL : ct_vec(c, "b", CT_IN, k->n);
        ct_tensor *y = ct_vec(c, "y", CT_OUT, k->n);
        if (a) ct_rand(a, -2, 2);
        if (b) ct_rand(b, -2, 2);
        if (k->beta == 0 && !k->alias)
            ct_const(y, NAN); /* beta == 0 must not read y */
        else
            ct_rand(y, -2, 2);
        ct_tensor *as = a ? a : y, *bs = b ? b : y;
        double ym = k->beta != 0 ? fabs(k->beta) * ct_amax(y) : 0;
        ct_tol(y, c->op->rtol, fabs(k->alpha) * ct_amax(as) * ct_amax(bs) + ym);
        CT_RUN(c, recur_op_mul(CT_D, k->n, k->alpha, CT_P(as), CT_P(bs), k->beta, CT_P(y)));
        ct_case_end(c);
    }
}

CU_TestInfo ct_memory_tests[] = {
    {.pName = "fill", .pTestFunc = test_fill},   {.pName = "copy", .pTestFunc = test_copy},
    {.pName = "scale", .pTestFunc = test_scale}, {.pName = "axpy", .pTestFunc = test_axpy},
    {.pName = "mul", .pTestFunc = test_mul},     {.pName = "transpose", .pTestFunc = test_transpose},
    CU_TEST_INFO_NULL,
};
