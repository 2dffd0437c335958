/*
 * Finite-difference checks of whole models on the backend from RECUR_BACKEND: embedding (with a padding
 * row) or float features, the recurrent stack, every head (last, additive and dot attention, per-step),
 * and every loss (cross-entropy with label smoothing and class weights, BCE with pos_weight, MSE), with
 * varied lengths. The loss is the model's own; central differences with step EPS.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/model.h"
#include "rnn_harness.h"
#include "testlib.h"

#define EPS 4e-3
#define ATOL 2e-3
#define RTOL 2e-2

typedef struct mcase {
    const char *name;
    int cell, head, bidir, layers, vocab, loss;
} mcase;

enum { B = 3, T = 5, V = 7, E = 4, I = 3, H = 4, C = 3 };

static float rnd(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((*s >> 40) & 0xffffff) / 16777216.0f * 2.0f - 1.0f;
}

typedef struct ctx {
    recur_model *m;
    recur_batch batch;
    recur_loss_config lc;
    const void *targets;
} ctx;

static double loss_of(ctx *c) {
    float l = NAN;
    if (recur_model_forward(c->m, &c->batch, 1) || recur_model_loss(c->m, &c->lc, c->targets, &l))
        fprintf(stderr, "forward/loss: %s\n", recur_last_error());
    return l;
}

static int run(const mcase *mc, double *worst) {
    recur_device *d = harness_device();
    recur_model_config cfg = {
        .vocab = mc->vocab ? V : 0, .embed_dim = E, .padding_idx = mc->vocab ? 0 : -1,
        .rnn = {.cell = mc->cell, .input_size = I, .hidden_size = H, .num_layers = (size_t)mc->layers,
                .bidirectional = mc->bidir, .bias = 1},
        .head = mc->head, .num_outputs = C,
    };
    ctx c = {0};
    if (recur_model_create(d, &cfg, &c.m) || recur_model_init(c.m, 3)) {
        fprintf(stderr, "%s: %s\n", mc->name, recur_last_error());
        return 0;
    }
    uint64_t seed = 5;
    int32_t ids[B * T], lengths[B] = {T, 2, 4}, cls[B * T];
    float feats[B * T * I], ftargets[B * T * C], weights[C] = {0.5f, 1.0f, 2.0f}, posw[C] = {1.5f, 0.7f, 1.0f};
    for (int i = 0; i < B * T; i++) ids[i] = (int)((rnd(&seed) + 1.0f) * 3.4f) % V, cls[i] = i % C;
    for (int i = 0; i < B * T * I; i++) feats[i] = rnd(&seed);
    for (int i = 0; i < B * T * C; i++) ftargets[i] = mc->loss == RECUR_LOSS_BCE_WITH_LOGITS ? (rnd(&seed) > 0) : rnd(&seed);
    ids[1] = 0; /* a padding token inside a sequence */
    c.batch = (recur_batch){.B = B, .T = T, .ids = mc->vocab ? ids : NULL, .features = mc->vocab ? NULL : feats,
                            .lengths = lengths};
    int per_step = mc->head == RECUR_HEAD_PER_STEP;
    if (per_step && mc->loss != RECUR_LOSS_CROSS_ENTROPY) lengths[1] = lengths[2] = T; /* BCE/MSE need equal lengths */
    c.lc = (recur_loss_config){.kind = mc->loss, .reduction = RECUR_REDUCE_MEAN, .ignore_index = -100};
    if (mc->loss == RECUR_LOSS_CROSS_ENTROPY) c.lc.label_smoothing = 0.1f, c.lc.class_weights = weights;
    if (mc->loss == RECUR_LOSS_BCE_WITH_LOGITS) c.lc.pos_weight = posw;
    c.targets = mc->loss == RECUR_LOSS_CROSS_ENTROPY ? (const void *)cls : (const void *)ftargets;

    recur_params *p = recur_model_params(c.m);
    float l;
    int ok = recur_model_forward(c.m, &c.batch, 1) == RECUR_OK && recur_model_loss_backward(c.m, &c.lc, c.targets, &l) == RECUR_OK;
    if (!ok) fprintf(stderr, "%s: %s\n", mc->name, recur_last_error());
    for (int k = 0; ok && k < recur_params_count(p); k++) {
        size_t n = recur_params_numel(p, k);
        float *g = malloc(sizeof(float) * n), *w = malloc(sizeof(float) * n);
        recur_params_read_grad(p, k, g);
        recur_params_read(p, k, w);
        const char *name = recur_params_name(p, k);
        int is_emb = !strcmp(name, "emb.weight");
        for (size_t i = (size_t)k % 2; ok && i < n; i += 2) {
            /* The padding row (0) gets no gradient, as PyTorch's padding_idx: checked, not differenced. */
            if (is_emb && i < E) {
                if (g[i] != 0.0f) {
                    fprintf(stderr, "  %s: padding row has gradient %g\n", mc->name, (double)g[i]);
                    ok = 0;
                }
                continue;
            }
            float v = w[i];
            w[i] = v + (float)EPS;
            recur_params_write(p, k, w);
            double lp = loss_of(&c);
            w[i] = v - (float)EPS;
            recur_params_write(p, k, w);
            double lm = loss_of(&c);
            w[i] = v;
            recur_params_write(p, k, w);
            double fd = (lp - lm) / (2 * EPS);
            double err = fabs(fd - g[i]) / (ATOL + RTOL * fabs(fd));
            if (err > *worst) *worst = err;
            if (err > 1.0) {
                fprintf(stderr, "  %s: %s[%zu]: finite difference %.6f, backward %.6f\n", mc->name, name, i, fd, (double)g[i]);
                ok = 0;
            }
        }
        free(g);
        free(w);
    }
    recur_model_free(c.m);
    return ok;
}

static const mcase cases[] = {
    {"gru_additive_attention_ids", RECUR_CELL_GRU, RECUR_HEAD_ADDITIVE_ATTENTION, 0, 1, 1, RECUR_LOSS_CROSS_ENTROPY},
    {"lstm_bidir_additive_attention", RECUR_CELL_LSTM, RECUR_HEAD_ADDITIVE_ATTENTION, 1, 1, 1, RECUR_LOSS_CROSS_ENTROPY},
    {"lstm_dot_attention_features", RECUR_CELL_LSTM, RECUR_HEAD_DOT_ATTENTION, 0, 2, 0, RECUR_LOSS_CROSS_ENTROPY},
    {"gru_bidir_dot_attention", RECUR_CELL_GRU, RECUR_HEAD_DOT_ATTENTION, 1, 1, 1, RECUR_LOSS_CROSS_ENTROPY},
    {"lstm_bidir_last_bce", RECUR_CELL_LSTM, RECUR_HEAD_LAST, 1, 2, 1, RECUR_LOSS_BCE_WITH_LOGITS},
    {"rnn_last_features", RECUR_CELL_RNN_TANH, RECUR_HEAD_LAST, 0, 1, 0, RECUR_LOSS_CROSS_ENTROPY},
    {"lstm_per_step_mse", RECUR_CELL_LSTM, RECUR_HEAD_PER_STEP, 0, 2, 0, RECUR_LOSS_MSE},
    {"gru_per_step_xent_ids", RECUR_CELL_GRU, RECUR_HEAD_PER_STEP, 1, 1, 1, RECUR_LOSS_CROSS_ENTROPY},
    {"gru_original_last_ids", RECUR_CELL_GRU_ORIGINAL, RECUR_HEAD_LAST, 0, 1, 1, RECUR_LOSS_CROSS_ENTROPY},
};

static void test_model_gradcheck(void) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(harness_device());
    printf("\n");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double worst = 0;
        int ok = run(&cases[i], &worst);
        printf("  %-32s worst error/tolerance %.3f %s\n", cases[i].name, worst, ok ? "ok" : "FAIL");
        CU_ASSERT_TRUE(ok);
    }
    harness_close();
}

static CU_TestInfo tests[] = {
    {.pName = "model_gradcheck", .pTestFunc = test_model_gradcheck},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {.pName = "model_gradcheck", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv) { return recur_test_main(argc, argv, suites); }
