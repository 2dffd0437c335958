/*
 * Single steps and carried state: running T steps at once must equal running T single-step calls
 * (T = 1, as nn.LSTMCell/GRUCell/RNNCell), each starting from the previous call's h_n/c_n — the way a
 * decoder streams and truncated backpropagation through time carries state between batches.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "rnn_harness.h"
#include "testlib.h"

enum { T = 6, B = 2, I = 3, H = 5, L = 2 };

static int run(int cell, int bidir_unused) {
    recur_device *d = harness_device();
    recur_rnn_config cfg = {.cell = cell, .input_size = I, .hidden_size = H, .num_layers = L, .bias = 1};
    recur_params *p;
    recur_rnn *r;
    if (recur_params_new(d, &p) || recur_rnn_create(p, "", &cfg, &r) || recur_params_finalize(p) || recur_rnn_init(r, 9))
        return 0;
    float x[T * B * I];
    for (int i = 0; i < T * B * I; i++) x[i] = sinf(0.37f * (float)i);
    recur_ptr dx = harness_upload(x, T * B * I), y, hn, cn, ys, hs, cs;
    recur_alloc(d, T * B * H, &y);
    recur_alloc(d, L * B * H, &hn);
    recur_alloc(d, L * B * H, &cn);
    recur_alloc(d, B * H, &ys);
    recur_alloc(d, L * B * H, &hs);
    recur_alloc(d, L * B * H, &cs);
    int lstm = cell == RECUR_CELL_LSTM, ok = 1;
    ok &= recur_rnn_forward(r, T, B, dx, RECUR_NULLPTR, RECUR_NULLPTR, RECUR_NULLPTR, 0, y, hn, lstm ? cn : RECUR_NULLPTR) == 0;
    float *whole = harness_download(y, T * B * H), *hwhole = harness_download(hn, L * B * H);
    recur_op_fill(d, L * B * H, 0.0f, hs);
    recur_op_fill(d, L * B * H, 0.0f, cs);
    double worst = 0;
    for (int t = 0; ok && t < T; t++) {
        /* One step from the carried state; h_n of this call is the state of the next. */
        ok &= recur_rnn_forward(r, 1, B, recur_at(dx, (size_t)t * B * I), RECUR_NULLPTR, hs, lstm ? cs : RECUR_NULLPTR, 0,
                                ys, hn, lstm ? cn : RECUR_NULLPTR) == 0;
        recur_op_copy(d, 1, L * B * H, hn, 0, hs, 0);
        if (lstm) recur_op_copy(d, 1, L * B * H, cn, 0, cs, 0);
        float *step = harness_download(ys, B * H);
        double e = 0;
        harness_err(step, whole + (size_t)t * B * H, B * H, 1e-6, 1e-5, &e);
        if (e > worst) worst = e;
        free(step);
    }
    float *hstep = harness_download(hs, L * B * H);
    double eh;
    harness_err(hstep, hwhole, L * B * H, 1e-6, 1e-5, &eh);
    printf("  %-14s step-by-step vs whole sequence: max |err| outputs %.2g, h_n %.2g\n", recur_cell_name(cell), worst, eh);
    ok &= worst <= 1e-6 && eh <= 1e-6;
    free(whole), free(hwhole), free(hstep);
    recur_ptr all[] = {dx, y, hn, cn, ys, hs, cs};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) recur_free(d, all[i]);
    recur_rnn_free(r);
    recur_params_free(p);
    (void)bidir_unused;
    return ok;
}

static void test_streaming(void) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(harness_device());
    printf("\n");
    for (int cell = RECUR_CELL_RNN_TANH; cell <= RECUR_CELL_GRU_ORIGINAL; cell++) CU_ASSERT_TRUE(run(cell, 0));
    harness_close();
}

static CU_TestInfo tests[] = {
    {.pName = "streaming", .pTestFunc = test_streaming},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {.pName = "rnn_streaming", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv) { return recur_test_main(argc, argv, suites); }
