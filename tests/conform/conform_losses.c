/* Conformance: xent_fwd_bwd, bce_fwd_bwd, mse_fwd_bwd (every option, NULL gradients). */
#include <math.h>

#include "conform_util.h"

#define LOSS_PREFILL 12345.0f /* the loss is always written: NaN results must replace this */

static const char *const red_names[] = {"mean", "sum"};

/* The one-float loss: relative tolerance. The gradient: relative to its largest element. */
static ct_tensor *loss_out(ct_case *c) {
    ct_tensor *loss = ct_vec(c, "loss", CT_OUT, 1);
    ct_const(loss, LOSS_PREFILL);
    return loss;
}

static ct_tensor *grad_out(ct_case *c, const char *name, size_t rows, size_t cols, int null) {
    if (null) return NULL;
    ct_tensor *g = ct_mat(c, name, CT_OUT, rows, cols, cols);
    ct_const(g, NAN);
    ct_floor_rel(g, 1.0);
    return g;
}

/* ---- cross-entropy ------------------------------------------------------------------------------------- */

enum { IGN_NONE = 0, IGN_SOME = 1, IGN_ALL = 2 };

typedef struct {
    size_t N, C, off;
    int weights;          /* class weights (one of them 0) */
    int32_t ignore_index; /* -100 or a class index */
    int ignored;          /* IGN_*: rows whose target is set to ignore_index */
    float smoothing;
    int reduction;
    float grad_scale;
    int no_grad; /* dlogits NULL */
    float range; /* logits in [-range, range] */
} xent_case;

static const xent_case xent_cases[] = {
    {.N = 0, .C = 3, .ignore_index = -100, .reduction = RECUR_REDUCE_MEAN, .grad_scale = 1, .range = 3},
    {.N = 0, .C = 3, .ignore_index = -100, .reduction = RECUR_REDUCE_SUM, .grad_scale = 1, .range = 3},
    {.N = 1, .C = 1, .ignore_index = -100, .reduction = RECUR_REDUCE_MEAN, .grad_scale = 1, .range = 3},
    {.N = 1, .C = 5, .ignore_index = -100, .reduction = RECUR_REDUCE_MEAN, .grad_scale = 1, .range = 3, .off = 2},
    {.N = 3, .C = 17, .ignore_index = -100, .ignored = IGN_SOME, .reduction = RECUR_REDUCE_MEAN, .grad_scale = 1,
     .range = 3},
    {.N = 17, .C = 3, .weights = 1, .ignore_index = -100, .reduction = RECUR_REDUCE_SUM, .grad_scale = 0.5f,
     .range = 3, .off = 1},
    {.N = 5, .C = 67, .weights = 1, .ignore_index = 2, .ignored = IGN_SOME, .smoothing = 0.1f,
     .reduction = RECUR_REDUCE_MEAN, .grad_scale = 1, .range = 3, .off = 3},
    {.N = 7, .C = 9, .ignore_index = -100, .smoothing = 0.2f, .reduction = RECUR_REDUCE_SUM, .grad_scale = 1,
     .no_grad = 1, .range = 3},
    {.N = 4, .C = 6, .ignore_index = -100, .ignored = IGN_ALL, .reduction = RECUR_REDUCE_MEAN, .grad_scale = 1,
     .range = 3}, /* W == 0: NaN loss, zero gradient */
    {.N = 4, .C = 6, .weights = 1, .ignore_index = 5, .ignored = IGN_ALL, .smoothing = 0.1f,
     .reduction = RECUR_REDUCE_SUM, .grad_scale = 1, .range = 3},
    {.N = 33, .C = 17, .weights = 1, .ignore_index = -100, .ignored = IGN_SOME, .smoothing = 0.1f,
     .reduction = RECUR_REDUCE_MEAN, .grad_scale = 2, .range = 3, .off = 1},
    {.N = 33, .C = 17, .weights = 1, .ignore_index = -100, .ignored = IGN_SOME, .smoothing = 0.1f,
     .reduction = RECUR_REDUCE_MEAN, .grad_scale = 2, .no_grad = 1, .range = 3},
    {.N = 6, .C = 5, .ignore_index = -100, .reduction = RECUR_REDUCE_MEAN, .grad_scale = 1, .range = 50},
    {.N = 6, .C = 5, .weights = 1, .ignore_index = 0, .ignored = IGN_SOME, .smoothing = 0.3f,
     .reduction = RECUR_REDUCE_SUM, .grad_scale = 1, .range = 50, .off = 4},
    {.N = 67, .C = 1031, .ignore_index = -100, .ignored = IGN_SOME, .smoothing = 0.05f,
     .reduction = RECUR_REDUCE_MEAN, .grad_scale = 1, .range = 4},
    {.N = 1000, .C = 67, .weights = 1, .ignore_index = -100, .ignored = IGN_SOME, .smoothing = 0.1f,
     .reduction = RECUR_REDUCE_MEAN, .grad_scale = 1, .range = 4, .off = 1},
};

static void test_xent(void) {
    static const char *const ign_names[] = {"", " some ignored", " all ignored"};
    ct_op_begin("xent_fwd_bwd");
    for (size_t i = 0; i < sizeof xent_cases / sizeof xent_cases[0]; i++) {
        const xent_case *k = &xent_cases[i];
        ct_case *c = ct_case_begin("N=%zu C=%zu off=%zu %s%s ignore_index=%d%s smoothing=%g grad_scale=%g%s "
                                   "logits +-%g",
                                   k->N, k->C, k->off, red_names[k->reduction], k->weights ? " weights" : "",
                                   (int)k->ignore_index, ign_names[k->ignored], (double)k->smoothing,
                                   (double)k->grad_scale, k->no_grad ? " dlogits NULL" : "", (double)k->range);
        ct_case_offset(c, k->off);
        ct_tensor *logits = ct_mat(c, "logits", CT_IN, k->N, k->C, k->C);
        ct_tensor *targets = ct_ints(c, "targets", k->N, NULL);
        ct_tensor *w = k->weights ? ct_vec(c, "weights", CT_IN, k->C) : NULL;
        ct_tensor *loss = loss_out(c);
        ct_tensor *dl = grad_out(c, "dlogits", k->N, k->C, k->no_grad);
        ct_rand(logits, -k->range, k->range);
        ct_rand_int(targets, 0, (int32_t)k->C - 1);
        int32_t *tg = ct_i(targets);
        for (size_t r = 0; r < k->N; r++) {
            if (k->ignored == IGN_ALL || (k->ignored == IGN_SOME && r % 3 == 1)) tg[r] = k->ignore_index;
            else if (tg[r] == k->ignore_index) tg[r] = (tg[r] + 1) % (int32_t)k->C; /* keep the rest */
        }
        if (w) {
            ct_rand(w, 0.2f, 3.0f);
            if (k->C > 3) ct_f(w)[k->C - 1] = 0.0f; /* a class weighted 0 */
        }
        CT_RUN(c, recur_op_xent_fwd_bwd(CT_D, k->N, k->C, CT_P(logits), CT_P(targets), CT_P(w), k->ignore_index,
                                        k->smoothing, k->reduction, k->grad_scale, CT_P(loss), CT_P(dl)));
        ct_case_end(c);
    }
}

/* ---- binary cross-entropy with logits ------------------------------------------------------------------ */

typedef struct {
    size_t N, C, off; /* n = N * C */
    int pos_weight;
    int soft; /* targets in [0, 1] rather than {0, 1} */
    int reduction;
    float grad_scale;
    int no_grad;
    float range;
} bce_case;

static const bce_case bce_cases[] = {
    {.N = 0, .C = 3, .reduction = RECUR_REDUCE_MEAN, .grad_scale = 1, .range = 3},
    {.N = 0, .C = 3, .reduction = RECUR_REDUCE_SUM, .grad_scale = 1, .range = 3},
    {.N = 1, .C = 1, .reduction = RECUR_REDUCE_MEAN, .grad_scale = 1, .range = 3},
    {.N = 3, .C = 17, .reduction = RECUR_REDUCE_MEAN, .grad_scale = 1, .range = 3, .off = 1},
    {.N = 17, .C = 3, .pos_weight = 1, .soft = 1, .reduction = RECUR_REDUCE_SUM, .grad_scale = 0.5f, .range = 3},
    {.N = 5, .C = 67, .pos_weight = 1, .reduction = RECUR_REDUCE_MEAN, .grad_scale = 1, .range = 40, .off = 3},
    {.N = 7, .C = 9, .soft = 1, .reduction = RECUR_REDUCE_SUM, .grad_scale = 1, .no_grad = 1, .range = 3},
    {.N = 33, .C = 5, .pos_weight = 1, .soft = 1, .reduction = RECUR_REDUCE_MEAN, .grad_scale = 2, .range = 6,
     .off = 2},
    {.N = 33, .C = 5, .pos_weight = 1, .soft = 1, .reduction = RECUR_REDUCE_MEAN, .grad_scale = 2, .range = 6,
     .no_grad = 1},
    {.N = 1031, .C = 1, .pos_weight = 1, .reduction = RECUR_REDUCE_MEAN, .grad_scale = 1, .range = 5},
    {.N = 600, .C = 67, .pos_weight = 1, .soft = 1, .reduction = RECUR_REDUCE_SUM, .grad_scale = 1, .range = 6,
     .off = 1},
};

static void test_bce(void) {
    ct_op_begin("bce_fwd_bwd");
    for (size_t i = 0; i < sizeof bce_cases / sizeof bce_cases[0]; i++) {
        const bce_case *k = &bce_cases[i];
        size_t n = k->N * k->C;
        ct_case *c = ct_case_begin("n=%zu C=%zu off=%zu %s%s%s grad_scale=%g%s logits +-%g", n, k->C, k->off,
                                   red_names[k->reduction], k->pos_weight ? " pos_weight" : "",
                                   k->soft ? " soft targets" : " 0/1 targets", (double)k->grad_scale,
                                   k->no_grad ? " dlogits NULL" : "", (double)k->range);
        ct_case_offset(c, k->off);
        ct_tensor *logits = ct_mat(c, "logits", CT_IN, k->N, k->C, k->C);
        ct_tensor *targets = ct_mat(c, "targets", CT_IN, k->N, k->C, k->C);
        ct_tensor *pw = k->pos_weight ? ct_vec(c, "pos_weight", CT_IN, k->C) : NULL;
        ct_tensor *loss = loss_out(c);
        ct_tensor *dl = grad_out(c, "dlogits", k->N, k->C, k->no_grad);
        ct_rand(logits, -k->range, k->range);
        ct_rand(targets, 0, 1);
        if (!k->soft)
            for (size_t j = 0; j < n; j++) ct_f(targets)[j] = ct_f(targets)[j] < 0.5f ? 0.0f : 1.0f;
        if (pw) ct_rand(pw, 0.1f, 4.0f);
        CT_RUN(c, recur_op_bce_fwd_bwd(CT_D, n, k->C, CT_P(logits), CT_P(targets), CT_P(pw), k->reduction,
                                       k->grad_scale, CT_P(loss), CT_P(dl)));
        ct_case_end(c);
    }
}

/* ---- mean squared error -------------------------------------------------------------------------------- */

typedef struct {
    size_t n, off;
    int reduction;
    float grad_scale;
    int no_grad;
} mse_case;

static const mse_case mse_cases[] = {
    {.n = 0, .reduction = RECUR_REDUCE_MEAN, .grad_scale = 1},
    {.n = 0, .reduction = RECUR_REDUCE_SUM, .grad_scale = 1},
    {.n = 1, .reduction = RECUR_REDUCE_MEAN, .grad_scale = 1, .off = 1},
    {.n = 3, .reduction = RECUR_REDUCE_SUM, .grad_scale = 1},
    {.n = 17, .reduction = RECUR_REDUCE_MEAN, .grad_scale = 0.5f, .off = 3},
    {.n = 67, .reduction = RECUR_REDUCE_SUM, .grad_scale = 2},
    {.n = 1031, .reduction = RECUR_REDUCE_MEAN, .grad_scale = 1, .no_grad = 1, .off = 2},
    {.n = 4099, .reduction = RECUR_REDUCE_MEAN, .grad_scale = 1, .off = 5},
    {.n = 40009, .reduction = RECUR_REDUCE_SUM, .grad_scale = 0.25f, .off = 1},
};

static void test_mse(void) {
    ct_op_begin("mse_fwd_bwd");
    for (size_t i = 0; i < sizeof mse_cases / sizeof mse_cases[0]; i++) {
        const mse_case *k = &mse_cases[i];
        ct_case *c = ct_case_begin("n=%zu off=%zu %s grad_scale=%g%s", k->n, k->off, red_names[k->reduction],
                                   (double)k->grad_scale, k->no_grad ? " dpred NULL" : "");
        ct_case_offset(c, k->off);
        ct_tensor *pred = ct_vec(c, "pred", CT_IN, k->n);
        ct_tensor *target = ct_vec(c, "target", CT_IN, k->n);
        ct_tensor *loss = loss_out(c);
        ct_tensor *dp = grad_out(c, "dpred", 1, k->n, k->no_grad);
        ct_rand(pred, -2, 2);
        ct_rand(target, -2, 2);
        CT_RUN(c, recur_op_mse_fwd_bwd(CT_D, k->n, CT_P(pred), CT_P(target), k->reduction, k->grad_scale, CT_P(loss),
                                       CT_P(dp)));
        ct_case_end(c);
    }
}

CU_TestInfo ct_losses_tests[] = {
    {.pName = "xent_fwd_bwd", .pTestFunc = test_xent},
    {.pName = "bce_fwd_bwd", .pTestFunc = test_bce},
    {.pName = "mse_fwd_bwd", .pTestFunc = test_mse},
    CU_TEST_INFO_NULL,
};
