/*
 * Models against PyTorch (fixtures from tests/fixtures/make_model_fixtures.py):
 *   inference: load a PyTorch-made model file by its state_dict names and compare logits, per-step
 *              outputs, h_n, c_n and attention weights;
 *   training:  K steps with SGD (momentum, Nesterov, weight decay, clipping), Adam (label smoothing) and
 *              AdamW on fixed batches must give PyTorch's losses and weights.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/model.h"
#include "recur/safetensors.h"
#include "rnn_harness.h"
#include "testlib.h"

#define ATOL 2e-5
#define RTOL 2e-4
/* Training compounds rounding over K optimizer steps. */
#define TRAIN_ATOL 1e-4
#define TRAIN_RTOL 1e-3

static double worst_infer, worst_train;

static char *path_of(const char *name, const char *suffix) {
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s%s", FIXTURE_DIR, name, suffix);
    return buf;
}

static int cmp(const char *cs, const char *what, const float *got, const float *want, size_t n, double atol, double rtol,
               double *worst) {
    double mabs;
    double r = harness_err(got, want, n, atol, rtol, &mabs);
    if (mabs > *worst) *worst = mabs;
    if (r > 1.0) fprintf(stderr, "%s: %s differs: max |err| %.3g (%.2f x tolerance)\n", cs, what, mabs, r);
    return r <= 1.0;
}

/* Fill a batch from tensors named input/lengths (+ suffix); ids may be I32. */
static int batch_from(const recur_st_file *io, const char *suffix, recur_batch *b) {
    char n1[64], n2[64];
    snprintf(n1, sizeof n1, "input%s", suffix);
    snprintf(n2, sizeof n2, "lengths%s", suffix);
    const recur_st_tensor *x = recur_st_find(io, n1), *l = recur_st_find(io, n2);
    if (!x || !l) return 0;
    memset(b, 0, sizeof *b);
    b->B = (size_t)x->shape[0];
    b->T = (size_t)x->shape[1];
    if (x->dtype == RECUR_DT_I32) b->ids = x->data;
    else b->features = x->data;
    b->lengths = l->data;
    return 1;
}

static int infer_case(const char *cs) {
    recur_device *d = harness_device();
    recur_model *m = NULL;
    recur_st_file *io = NULL;
    int ok = 1;
    if (recur_model_load(d, path_of(cs, ".safetensors"), &m) || recur_st_read(path_of(cs, ".io.safetensors"), &io)) {
        fprintf(stderr, "%s: %s\n", cs, recur_last_error());
        recur_model_free(m);
        return 0;
    }
    recur_batch b;
    ok = batch_from(io, "", &b) && recur_model_forward(m, &b, 0) == RECUR_OK;
    if (!ok) fprintf(stderr, "%s: forward: %s\n", cs, recur_last_error());
    const char *names[] = {"logits", "output", "h_n", "c_n", "attention"};
    for (int k = 0; ok && k < 5; k++) {
        const recur_st_tensor *t = recur_st_find(io, names[k]);
        if (!t) continue;
        float *got = calloc(t->numel, sizeof(float));
        int st = k == 0   ? recur_model_read_logits(m, got)
                 : k == 1 ? recur_model_read_output(m, got)
                 : k == 2 ? recur_model_read_state(m, got, NULL)
                 : k == 3 ? recur_model_read_state(m, NULL, got)
                          : recur_model_read_attention(m, got);
        ok &= st == RECUR_OK && cmp(cs, names[k], got, t->data, t->numel, ATOL, RTOL, &worst_infer);
        free(got);
    }
    recur_st_free(io);
    recur_model_free(m);
    return ok;
}

static float meta_f(const recur_st_file *f, const char *k) {
    const char *v = recur_st_meta(f, k);
    return v ? strtof(v, NULL) : 0.0f;
}

static int train_case(const char *cs) {
    char model_name[256];
    snprintf(model_name, sizeof model_name, "%s", cs);
    *strstr(model_name, ".train_") = '\0';
    recur_device *d = harness_device();
    recur_model *m = NULL;
    recur_st_file *f = NULL;
    recur_optim *o = NULL;
    if (recur_model_load(d, path_of(model_name, ".safetensors"), &m) || recur_st_read(path_of(cs, ".safetensors"), &f)) {
        fprintf(stderr, "%s: %s\n", cs, recur_last_error());
        recur_model_free(m);
        return 0;
    }
    recur_optim_config oc;
    recur_optim_defaults(recur_optim_from_name(recur_st_meta(f, "optim")), &oc);
    oc.lr = meta_f(f, "lr");
    oc.momentum = meta_f(f, "momentum");
    oc.dampening = meta_f(f, "dampening");
    oc.nesterov = (int)meta_f(f, "nesterov");
    oc.weight_decay = meta_f(f, "weight_decay");
    oc.clip_norm = meta_f(f, "clip_norm");
    if (recur_st_meta(f, "beta1")) oc.beta1 = meta_f(f, "beta1"), oc.beta2 = meta_f(f, "beta2"), oc.eps = meta_f(f, "eps");
    recur_loss_config lc = {.kind = recur_loss_from_name(recur_st_meta(f, "loss")), .reduction = RECUR_REDUCE_MEAN,
                            .ignore_index = -100, .label_smoothing = meta_f(f, "label_smoothing")};
    int ok = recur_optim_create(recur_model_params(m), &oc, &o) == RECUR_OK;
    int steps = (int)meta_f(f, "steps");
    const float *want_losses = recur_st_find(f, "losses")->data;
    for (int k = 0; ok && k < steps; k++) {
        char sfx[16], tn[32];
        snprintf(sfx, sizeof sfx, "_%d", k);
        snprintf(tn, sizeof tn, "target_%d", k);
        recur_batch b;
        float loss;
        ok = batch_from(f, sfx, &b) && recur_model_forward(m, &b, 1) == RECUR_OK &&
             recur_model_loss_backward(m, &lc, recur_st_find(f, tn)->data, &loss) == RECUR_OK &&
             recur_optim_step(o) == RECUR_OK;
        if (!ok) fprintf(stderr, "%s: step %d: %s\n", cs, k, recur_last_error());
        else ok &= cmp(cs, "loss", &loss, &want_losses[k], 1, TRAIN_ATOL, TRAIN_RTOL, &worst_train);
    }
    recur_params *p = recur_model_params(m);
    for (int i = 0; ok && i < recur_params_count(p); i++) {
        char name[160];
        snprintf(name, sizeof name, "after.%s", recur_params_name(p, i));
        const recur_st_tensor *t = recur_st_find(f, name);
        size_t n = recur_params_numel(p, i);
        float *w = malloc(sizeof(float) * n);
        recur_params_read(p, i, w);
        ok &= t && cmp(cs, name, w, t->data, n, TRAIN_ATOL, TRAIN_RTOL, &worst_train);
        free(w);
    }
    recur_optim_free(o);
    recur_st_free(f);
    recur_model_free(m);
    return ok;
}

static void run_index(const char *index, int (*fn)(const char *)) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(harness_device());
    FILE *fp = fopen(path_of(index, ""), "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    char line[256];
    int n = 0, passed = 0;
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) continue;
        int ok = fn(line);
        n++;
        passed += ok;
        CU_ASSERT_TRUE(ok);
    }
    fclose(fp);
    printf("\n  %d/%d cases pass; worst |err| inference %.3g, training %.3g\n", passed, n, worst_infer, worst_train);
    CU_ASSERT_TRUE(n > 0);
}

static void test_infer(void) { run_index("index.txt", infer_case); }
static void test_train(void) { run_index("train_index.txt", train_case); }

static CU_TestInfo tests[] = {
    {.pName = "infer", .pTestFunc = test_infer},
    {.pName = "train", .pTestFunc = test_train},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {.pName = "model_pytorch", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv) {
    int rc = recur_test_main(argc, argv, suites);
    harness_close();
    return rc;
}
