/* Conformance: sgd_step, adam_step, clip_norm, clip_value, dropout. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "conform_util.h"

/* Optimizer state and parameters: each tensor relative to its own largest element (learning rates are
 * large enough here that an update off by 0.1% exceeds the tolerance). */
static void rel_to_max(ct_case *c) {
    for (int i = 0; i < c->ntensors; i++)
        if (c->t[i].role == CT_OUT) ct_floor_rel(&c->t[i], 1.0);
}

/* ---- SGD ----------------------------------------------------------------------------------------------- */

typedef struct {
    size_t n, off;
    float lr, momentum, dampening, weight_decay;
    int nesterov;
    int64_t step;
    int with_buf; /* momentum == 0: pass a buffer anyway (it must stay untouched) */
} sgd_case;

static const sgd_case sgd_cases[] = {
    {.n = 0, .lr = 0.1f, .momentum = 0.9f, .step = 1},
    {.n = 1, .lr = 0.1f, .step = 1},
    {.n = 3, .lr = 0.05f, .weight_decay = 0.01f, .step = 3, .with_buf = 1, .off = 1},
    {.n = 17, .lr = 0.1f, .momentum = 0.9f, .step = 1, .off = 3},
    {.n = 17, .lr = 0.1f, .momentum = 0.9f, .step = 5},
    {.n = 67, .lr = 0.05f, .momentum = 0.9f, .dampening = 0.1f, .weight_decay = 0.01f, .step = 5, .off = 2},
    {.n = 67, .lr = 0.05f, .momentum = 0.9f, .dampening = 0.1f, .step = 1},
    {.n = 1031, .lr = 0.1f, .momentum = 0.5f, .nesterov = 1, .step = 1, .off = 1},
    {.n = 1031, .lr = 0.1f, .momentum = 0.5f, .nesterov = 1, .weight_decay = 0.001f, .step = 7},
    {.n = 4099, .lr = 0.02f, .momentum = 0.99f, .dampening = 0.5f, .weight_decay = 0.1f, .step = 2, .off = 5},
    {.n = 100003, .lr = 0.05f, .momentum = 0.9f, .nesterov = 1, .weight_decay = 0.01f, .step = 3, .off = 1},
};

static void test_sgd(void) {
    ct_op_begin("sgd_step");
    for (size_t i = 0; i < sizeof sgd_cases / sizeof sgd_cases[0]; i++) {
        const sgd_case *k = &sgd_cases[i];
        int has_buf = k->momentum != 0 || k->with_buf;
        ct_case *c = ct_case_begin("n=%zu off=%zu lr=%g momentum=%g dampening=%g nesterov=%d wd=%g step=%lld%s", k->n,
                                   k->off, (double)k->lr, (double)k->momentum, (double)k->dampening, k->nesterov,
                                   (double)k->weight_decay, (long long)k->step,
                                   !has_buf ? " buf NULL" : k->momentum == 0 ? " buf unused" : "");
        ct_case_offset(c, k->off);
        ct_tensor *p = ct_vec(c, "param", CT_OUT, k->n);
        ct_tensor *g = ct_vec(c, "grad", CT_IN, k->n);
        ct_tensor *buf = has_buf ? ct_vec(c, "momentum_buf", CT_OUT, k->n) : NULL;
        ct_rand(p, -1, 1);
        ct_rand(g, -1, 1);
        if (buf) {
            if (k->momentum != 0 && k->step == 1)
                ct_const(buf, NAN); /* step 1 sets buf = g without reading it */
            else
                ct_rand(buf, -0.5f, 0.5f);
        }
        rel_to_max(c);
        CT_RUN(c, recur_op_sgd_step(CT_D, k->n, CT_P(p), CT_P(g), CT_P(buf), k->lr, k->momentum, k->dampening,
                                    k->nesterov, k->weight_decay, k->step));
        ct_case_end(c);
    }
}

/* ---- Adam / AdamW -------------------------------------------------------------------------------------- */

typedef struct {
    size_t n, off;
    float lr, beta1, beta2, eps, weight_decay;
    int decoupled;
    int64_t step;
    float grad_scale; /* grads in [-grad_scale, grad_scale] */
} adam_case;

static const adam_case adam_cases[] = {
    {.n = 0, .lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .step = 1, .grad_scale = 1},
    {.n = 1, .lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .step = 1, .grad_scale = 1},
    {.n = 17, .lr = 0.05f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .step = 1, .grad_scale = 1, .off = 3},
    {.n = 67, .lr = 0.05f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .step = 10, .grad_scale = 1},
    {.n = 67, .lr = 0.05f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f, .step = 3,
     .grad_scale = 1, .off = 1},
    {.n = 1031, .lr = 0.05f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f, .decoupled = 1,
     .step = 1, .grad_scale = 1, .off = 2},
    {.n = 1031, .lr = 0.02f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.1f, .decoupled = 1,
     .step = 100, .grad_scale = 1},
    {.n = 4099, .lr = 0.05f, .beta1 = 0.8f, .beta2 = 0.99f, .eps = 1e-6f, .step = 2, .grad_scale = 1, .off = 5},
    {.n = 17, .lr = 0.05f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-3f, .weight_decay = 0.05f, .step = 4,
     .grad_scale = 1e-3f},
    {.n = 100003, .lr = 0.05f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f, .decoupled = 1,
     .step = 5, .grad_scale = 1, .off = 2},
};

static void test_adam(void) {
    ct_op_begin("adam_step");
    for (size_t i = 0; i < sizeof adam_cases / sizeof adam_cases[0]; i++) {
        const adam_case *k = &adam_cases[i];
        ct_case *c = ct_case_begin("%s n=%zu off=%zu lr=%g betas=%g,%g eps=%g wd=%g step=%lld grads +-%g",
                                   k->decoupled ? "AdamW" : "Adam", k->n, k->off, (double)k->lr, (double)k->beta1,
                                   (double)k->beta2, (double)k->eps, (double)k->weight_decay, (long long)k->step,
                                   (double)k->grad_scale);
        ct_case_offset(c, k->off);
        ct_tensor *p = ct_vec(c, "param", CT_OUT, k->n);
        ct_tensor *g = ct_vec(c, "grad", CT_IN, k->n);
        ct_tensor *m = ct_vec(c, "m", CT_OUT, k->n);
        ct_tensor *v = ct_vec(c, "v", CT_OUT, k->n);
        ct_rand(p, -1, 1);
        ct_rand(g, -k->grad_scale, k->grad_scale);
        if (k->step == 1) { /* fresh state */
            ct_const(m, 0);
            ct_const(v, 0);
        } else {
            float s = k->grad_scale;
            ct_rand(m, -0.3f * s, 0.3f * s);
            ct_rand(v, 0, 0.05f * s * s);
        }
        rel_to_max(c);
        CT_RUN(c, recur_op_adam_step(CT_D, k->n, CT_P(p), CT_P(g), CT_P(m), CT_P(v), k->lr, k->beta1, k->beta2, k->eps,
                                     k->weight_decay, k->decoupled, k->step));
        ct_case_end(c);
    }
}

/* ---- clip_norm ----------------------------------------------------------------------------------------- */

typedef struct {
    size_t n, off;
    float max_norm; /* < 0: |max_norm| times the actual norm (so both sides of the threshold are covered) */
    int zeros;      /* all-zero gradient, sumsq 0 */
    float scale;    /* gradients in [-scale, scale] (0: 2) */
} clip_norm_case;

static const clip_norm_case clip_norm_cases[] = {
    {.n = 0, .max_norm = 1},
    {.n = 1, .max_norm = -0.25f},             /* above the threshold: scaled down */
    {.n = 17, .max_norm = -2.0f, .off = 3},   /* below: unchanged */
    {.n = 67, .max_norm = -0.5f},
    {.n = 67, .max_norm = -1.0f, .off = 1},   /* at the threshold */
    {.n = 1031, .max_norm = -0.1f, .off = 2},
    {.n = 4099, .max_norm = -1.5f},
    {.n = 17, .max_norm = 1, .zeros = 1},
    {.n = 33, .max_norm = 1e-3f, .off = 4},
    {.n = 17, .max_norm = -0.5f, .scale = 1e-4f, .off = 1}, /* tiny norm: the 1e-6 in the divisor matters */
    {.n = 100003, .max_norm = -0.5f, .off = 3},
};

static void test_clip_norm(void) {
    ct_op_begin("clip_norm");
    for (size_t i = 0; i < sizeof clip_norm_cases / sizeof clip_norm_cases[0]; i++) {
        const clip_norm_case *k = &clip_norm_cases[i];
        ct_case *c = ct_case_begin("n=%zu off=%zu", k->n, k->off);
        ct_case_offset(c, k->off);
        ct_tensor *g = ct_vec(c, "grad", CT_OUT, k->n);
        ct_tensor *sumsq = ct_vec(c, "sumsq", CT_IN, 1);
        if (k->zeros)
            ct_const(g, 0);
        else
            ct_rand(g, k->scale ? -k->scale : -2, k->scale ? k->scale : 2);
        double ss = 0;
        for (size_t j = 0; j < k->n; j++) ss += (double)ct_f(g)[j] * ct_f(g)[j];
        ct_f(sumsq)[0] = (float)ss;
        float max_norm = k->max_norm < 0 ? (float)(-k->max_norm * sqrt(ss)) : k->max_norm;
        if (max_norm == 0) max_norm = 1; /* n = 1 with a tiny value: keep it positive */
        snprintf(c->name + strlen(c->name), sizeof c->name - strlen(c->name), " norm=%.6g max_norm=%.6g (%s)",
                 sqrt(ss), (double)max_norm,
                 sqrt(ss) + 1e-6 > max_norm ? "above: scaled" : "below: unchanged");
        ct_floor_rel(g, 1.0);
        CT_RUN(c, recur_op_clip_norm(CT_D, k->n, CT_P(g), CT_P(sumsq), max_norm));
        ct_case_end(c);
    }
}

/* ---- clip_value ---------------------------------------------------------------------------------------- */

typedef struct {
    size_t n, off;
    float limit;
} clip_value_case;

static const clip_value_case clip_value_cases[] = {
    {.n = 0, .limit = 1},        {.n = 1, .limit = 0.5f, .off = 1}, {.n = 17, .limit = 5, .off = 3},
    {.n = 67, .limit = 0.5f},    {.n = 1031, .limit = 0, .off = 2}, {.n = 4099, .limit = 1.5f, .off = 5},
    {.n = 100003, .limit = 1, .off = 1},
};

static void test_clip_value(void) {
    ct_op_begin("clip_value");
    for (size_t i = 0; i < sizeof clip_value_cases / sizeof clip_value_cases[0]; i++) {
        const clip_value_case *k = &clip_value_cases[i];
        ct_case *c = ct_case_begin("n=%zu off=%zu limit=%g", k->n, k->off, (double)k->limit);
        ct_case_offset(c, k->off);
        ct_tensor *g = ct_vec(c, "grad", CT_OUT, k->n);
        ct_rand(g, -3, 3);
        CT_RUN(c, recur_op_clip_value(CT_D, k->n, CT_P(g), k->limit));
        ct_case_end(c);
    }
}

/* ---- dropout ------------------------------------------------------------------------------------------- */

typedef struct {
    size_t n, off;
    float p;
    uint64_t seed, counter;
    int inplace;
} dropout_case;

static const dropout_case dropout_cases[] = {
    {.n = 0, .p = 0.5f, .seed = 1},
    {.n = 1, .p = 0.5f, .seed = 1},
    {.n = 17, .p = 0, .seed = 3, .off = 2}, /* copies */
    {.n = 67, .p = 0.1f, .seed = 42, .counter = 5, .off = 3},
    {.n = 33, .p = 0.3f, .seed = 9, .counter = 1}, /* starts inside a Philox block */
    {.n = 1031, .p = 0.5f, .seed = 0xDEADBEEFCAFEull, .counter = (1ull << 33) + 3, .inplace = 1},
    {.n = 4099, .p = 0.9f, .seed = 7, .counter = (1ull << 34) - 2, .off = 1}, /* counter crosses 2^34 */
    {.n = 4099, .p = 0.5f, .seed = (1ull << 40) + 1, .counter = 123456789, .inplace = 1, .off = 4},
    {.n = 100003, .p = 0.25f, .seed = 99, .counter = 17, .off = 3},
};

static void test_dropout(void) {
    ct_op_begin("dropout");
    for (size_t i = 0; i < sizeof dropout_cases / sizeof dropout_cases[0]; i++) {
        const dropout_case *k = &dropout_cases[i];
        ct_case *c = ct_case_begin("n=%zu off=%zu p=%g seed=%llu counter=%llu%s", k->n, k->off, (double)k->p,
                                   (unsigned long long)k->seed, (unsigned long long)k->counter,
                                   k->inplace ? " x==y" : "");
        ct_case_offset(c, k->off);
        ct_tensor *x = k->inplace ? NULL : ct_vec(c, "x", CT_IN, k->n);
        ct_tensor *y = ct_vec(c, "y", CT_OUT, k->n);
        ct_tensor *xs = x ? x : y;
        ct_rand_nz(xs, -2, 2, 0.01f); /* no zero inputs: a zero output means "dropped" */
        if (x) ct_const(y, NAN);
        ct_mask_exact(y);
        CT_RUN(c, recur_op_dropout(CT_D, k->n, k->p, k->seed, k->counter, CT_P(xs), CT_P(y)));
        /* The oracle itself must follow the generator in recur/backend.h. */
        if (c->ran && y->got[CT_REF]) {
            size_t bad = 0;
            for (size_t j = 0; j < k->n; j++) {
                int keep = recur_philox_uniform(k->seed, k->counter + j) >= k->p;
                if (keep != (ct_got(y, CT_REF)[j] != 0) && bad++ == 0)
                    ct_fail(c, "  oracle's mask disagrees with recur_philox_uniform at %zu (the kit or ref is wrong)",
                            j);
            }
        }
        ct_case_end(c);
    }
}

CU_TestInfo ct_optim_tests[] = {
    {.pName = "sgd_step", .pTestFunc = test_sgd},
    {.pName = "adam_step", .pTestFunc = test_adam},
    {.pName = "clip_norm", .pTestFunc = test_clip_norm},
    {.pName = "clip_value", .pTestFunc = test_clip_value},
    {.pName = "dropout", .pTestFunc = test_dropout},
    CU_TEST_INFO_NULL,
};
