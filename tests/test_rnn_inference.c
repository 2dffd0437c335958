/*
 * Inference forward against training forward, at sizes where the cpu backend takes inference's own path:
 * each step's input projected right before that step (core/rnn_internal.h, RNN_STEP_PROJ_*), while
 * training projects all steps at once. The PyTorch fixtures are too small to select that path, so here the
 * training forward (checked against PyTorch by test_rnn_pytorch) is the reference. Bidirectional, two
 * layers (the upper one reads 2H inputs: there the weights are too large and inference projects up front
 * too), varied lengths, given h0 and c0. Runs on every backend; on those without the per-step path both
 * forwards take the same one.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnn_harness.h"
#include "testlib.h"

enum { T = 6, B = 64, L = 2, D = 2 };

static float *wave(size_t n, float f) {
    float *v = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) v[i] = 0.5f * sinf(f * (float)i);
    return v;
}

/* Forward in one mode; y, h_n (and c_n) downloaded into one host array. */
static float *forward(recur_rnn *r, int training, size_t H, int lstm, recur_ptr x, recur_ptr len,
                      recur_ptr h0, recur_ptr c0, size_t *n_out) {
    recur_device *d = harness_device();
    const size_t ny = (size_t)T * B * D * H, ns = (size_t)L * D * B * H;
    recur_ptr y = RECUR_NULLPTR, hn = RECUR_NULLPTR, cn = RECUR_NULLPTR;
    recur_alloc(d, ny, &y);
    recur_alloc(d, ns, &hn);
    if (lstm) recur_alloc(d, ns, &cn);
    float *out = NULL;
    if (recur_rnn_forward(r, T, B, x, len, h0, c0, training, y, hn, cn) == RECUR_OK) {
        out = malloc(sizeof(float) * (ny + 2 * ns));
        float *py = harness_download(y, ny), *ph = harness_download(hn, ns), *pc = lstm ? harness_download(cn, ns) : NULL;
        memcpy(out, py, sizeof(float) * ny);
        memcpy(out + ny, ph, sizeof(float) * ns);
        if (pc) memcpy(out + ny + ns, pc, sizeof(float) * ns);
        else memset(out + ny + ns, 0, sizeof(float) * ns);
        free(py), free(ph), free(pc);
    } else {
        fprintf(stderr, "forward (training %d) failed: %s\n", training, recur_last_error());
    }
    *n_out = ny + 2 * ns;
    recur_free(d, y), recur_free(d, hn), recur_free(d, cn);
    return out;
}

static int run(int cell, size_t I, size_t H) {
    recur_device *d = harness_device();
    recur_rnn_config cfg = {.cell = cell, .input_size = I, .hidden_size = H, .num_layers = L, .bias = 1, .bidirectional = 1};
    recur_params *p = NULL;
    recur_rnn *r = NULL;
    if (recur_params_new(d, &p) || recur_rnn_create(p, "", &cfg, &r) || recur_params_finalize(p) || recur_rnn_init(r, 5)) {
        fprintf(stderr, "setup failed: %s\n", recur_last_error());
        recur_rnn_free(r);
        recur_params_free(p);
        return 0;
    }
    const int lstm = cell == RECUR_CELL_LSTM;
    int32_t lengths[B];
    for (int b = 0; b < B; b++) lengths[b] = 1 + (b * 7) % T; /* 1..T, every length present */
    float *xs = wave((size_t)T * B * I, 0.37f), *hs = wave((size_t)L * D * B * H, 0.11f);
    recur_ptr x = harness_upload(xs, (size_t)T * B * I), len = harness_upload(lengths, B);
    recur_ptr h0 = harness_upload(hs, (size_t)L * D * B * H), c0 = lstm ? harness_upload(hs, (size_t)L * D * B * H) : RECUR_NULLPTR;
    size_t n = 0;
    float *infer = forward(r, 0, H, lstm, x, len, h0, c0, &n), *train = forward(r, 1, H, lstm, x, len, h0, c0, &n);
    int ok = infer && train;
    double worst = 0, ratio = ok ? harness_err(infer, train, n, 1e-6, 1e-5, &worst) : 0;
    printf("  %-8s I %3zu H %3zu  inference vs training forward: max |err| %.2g\n", recur_cell_name(cell), I, H, worst);
    ok &= ratio <= 1.0;
    free(infer), free(train), free(xs), free(hs);
    recur_ptr all[] = {x, len, h0, c0};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) recur_free(d, all[i]);
    recur_rnn_free(r);
    recur_params_free(p);
    return ok;
}

static void test_inference_matches_training(void) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(harness_device());
    printf("\n");
    /* Each first layer has at most 2 MiB of weights and at least 16 MFLOP of projection per step (the core's
     * bound for one op per step; with rnn_steps_input 2 MFLOP suffice). */
    CU_ASSERT_TRUE(run(RECUR_CELL_LSTM, 256, 256));
    CU_ASSERT_TRUE(run(RECUR_CELL_GRU, 256, 256));
    CU_ASSERT_TRUE(run(RECUR_CELL_RNN_TANH, 512, 512));
    CU_ASSERT_TRUE(run(RECUR_CELL_RNN_RELU, 512, 512));
    harness_close();
}

static CU_TestInfo tests[] = {
    {.pName = "inference_matches_training", .pTestFunc = test_inference_matches_training},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {.pName = "rnn_inference", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv) { return recur_test_main(argc, argv, suites); }
