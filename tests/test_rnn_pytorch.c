/*
 * Recurrent layers against PyTorch: every fixture in tests/fixtures/rnn (made by make_rnn_fixtures.py)
 * holds inputs, weights under PyTorch's names, PyTorch's outputs and every gradient of
 *   loss = sum(output * dout) + sum(h_n * dh_n) [+ sum(c_n * dc_n)].
 * We load the weights by name, run an inference forward, a training forward and backward on the backend from
 * RECUR_BACKEND, and compare.
 * Tolerance: |got - want| <= ATOL + RTOL * |want| (float32 throughout; see docs/tolerances.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/safetensors.h"
#include "rnn_harness.h"
#include "testlib.h"

#define ATOL 1e-5
#define RTOL 1e-4

static int64_t meta_int(const recur_st_file *f, const char *key) {
    const char *v = recur_st_meta(f, key);
    return v ? atoll(v) : -1;
}

static const float *tensor_f32(const recur_st_file *f, const char *name) {
    const recur_st_tensor *t = recur_st_find(f, name);
    return t && t->dtype == RECUR_DT_F32 ? (const float *)t->data : NULL;
}

/* Compare one device tensor (optionally sequence-first, transposed back) with the fixture's. */
static int compare(const char *cs, const char *what, const float *got, const recur_st_file *f, const char *name,
                   size_t n, double *worst_abs) {
    const float *want = tensor_f32(f, name);
    if (!want) {
        fprintf(stderr, "%s: fixture lacks '%s'\n", cs, name);
        return 0;
    }
    double mabs;
    double r = harness_err(got, want, n, ATOL, RTOL, &mabs);
    if (mabs > *worst_abs) *worst_abs = mabs;
    if (r > 1.0) fprintf(stderr, "%s: %s (%s) differs: max |err| %.3g (ratio to tolerance %.2f)\n", cs, what, name, mabs, r);
    return r <= 1.0;
}

static int run_case(const char *dir, const char *cs, double *worst_fwd, double *worst_bwd) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, cs);
    recur_st_file *f;
    if (recur_st_read(path, &f)) {
        fprintf(stderr, "%s\n", recur_last_error());
        return 0;
    }
    recur_device *d = harness_device();
    recur_rnn_config cfg = {
        .cell = recur_cell_from_name(recur_st_meta(f, "cell") ? recur_st_meta(f, "cell") : "?"),
        .input_size = (size_t)meta_int(f, "input_size"),
        .hidden_size = (size_t)meta_int(f, "hidden_size"),
        .proj_size = (size_t)(meta_int(f, "proj_size") > 0 ? meta_int(f, "proj_size") : 0),
        .num_layers = (size_t)meta_int(f, "num_layers"),
        .bidirectional = (int)meta_int(f, "bidirectional"),
        .bias = (int)meta_int(f, "bias"),
    };
    size_t B = (size_t)meta_int(f, "batch"), T = (size_t)meta_int(f, "seq"), I = cfg.input_size;
    int ok = 1;
    recur_params *p = NULL;
    recur_rnn *r = NULL;
    if (recur_params_new(d, &p) || recur_rnn_create(p, "", &cfg, &r) || recur_params_finalize(p) ||
        recur_params_load(p, f, 0)) {
        fprintf(stderr, "%s: setup failed: %s\n", cs, recur_last_error());
        recur_rnn_free(r);
        recur_params_free(p);
        recur_st_free(f);
        return 0;
    }
    const int lstm = cfg.cell == RECUR_CELL_LSTM;
    const size_t H = cfg.hidden_size, P = cfg.proj_size ? cfg.proj_size : H, D = cfg.bidirectional ? 2 : 1;
    const size_t LD = cfg.num_layers * D, Y = D * P;
    float *xs = malloc(sizeof(float) * T * B * I), *ys = malloc(sizeof(float) * T * B * Y);
    harness_bt_to_tb(tensor_f32(f, "x"), xs, B, T, I);
    recur_ptr x = harness_upload(xs, T * B * I);
    recur_ptr len = harness_upload(recur_st_find(f, "lengths")->data, B);
    recur_ptr h0 = harness_upload(tensor_f32(f, "h0"), LD * B * P);
    recur_ptr c0 = lstm ? harness_upload(tensor_f32(f, "c0"), LD * B * H) : RECUR_NULLPTR;
    recur_ptr y, hn, cn = RECUR_NULLPTR, dy, dhn, dcn = RECUR_NULLPTR, dx, dh0, dc0 = RECUR_NULLPTR;
    recur_alloc(d, T * B * Y, &y);
    recur_alloc(d, LD * B * P, &hn);
    recur_alloc(d, T * B * I, &dx);
    recur_alloc(d, LD * B * P, &dh0);
    if (lstm) {
        recur_alloc(d, LD * B * H, &cn);
        recur_alloc(d, LD * B * H, &dc0);
    }
    /* Inference first (its own code paths: the input projected step by step where the device does that, see
     * core/rnn_internal.h), then the training forward that backward continues from; both must match. */
    for (int training = 0; training <= 1; training++) {
        const char *mode = training ? "training forward" : "inference forward";
        if (recur_rnn_forward(r, T, B, x, len, h0, c0, training, y, hn, cn)) {
            fprintf(stderr, "%s: %s failed: %s\n", cs, mode, recur_last_error());
            ok = 0;
            goto out;
        }
        float *got = harness_download(y, T * B * Y);
        harness_tb_to_bt(got, ys, T, B, Y);
        free(got);
        ok &= compare(cs, mode, ys, f, "output", T * B * Y, worst_fwd);
        got = harness_download(hn, LD * B * P);
        ok &= compare(cs, mode, got, f, "h_n", LD * B * P, worst_fwd);
        free(got);
        if (lstm) {
            got = harness_download(cn, LD * B * H);
            ok &= compare(cs, mode, got, f, "c_n", LD * B * H, worst_fwd);
            free(got);
        }
    }
    /* Backward. */
    harness_bt_to_tb(tensor_f32(f, "dout"), ys, B, T, Y);
    dy = harness_upload(ys, T * B * Y);
    dhn = harness_upload(tensor_f32(f, "dh_n"), LD * B * P);
    if (lstm) dcn = harness_upload(tensor_f32(f, "dc_n"), LD * B * H);
    if (recur_rnn_backward(r, dy, dhn, dcn, dx, dh0, dc0)) {
        fprintf(stderr, "%s: backward failed: %s\n", cs, recur_last_error());
        ok = 0;
        goto out2;
    }
    float *got = harness_download(dx, T * B * I);
    harness_tb_to_bt(got, xs, T, B, I);
    free(got);
    ok &= compare(cs, "dx", xs, f, "grad.x", T * B * I, worst_bwd);
    got = harness_download(dh0, LD * B * P);
    ok &= compare(cs, "dh0", got, f, "grad.h0", LD * B * P, worst_bwd);
    free(got);
    if (lstm) {
        got = harness_download(dc0, LD * B * H);
        ok &= compare(cs, "dc0", got, f, "grad.c0", LD * B * H, worst_bwd);
        free(got);
    }
    for (int i = 0; i < recur_params_count(p); i++) {
        size_t n = recur_params_numel(p, i);
        float *g = malloc(sizeof(float) * n);
        char name[160];
        recur_params_read_grad(p, i, g);
        snprintf(name, sizeof name, "grad.%s", recur_params_name(p, i));
        ok &= compare(cs, recur_params_name(p, i), g, f, name, n, worst_bwd);
        free(g);
    }
out2:
    recur_free(d, dy);
    recur_free(d, dhn);
    recur_free(d, dcn);
out:;
    recur_ptr all[] = {x, len, h0, c0, y, hn, cn, dx, dh0, dc0};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) recur_free(d, all[i]);
    free(xs);
    free(ys);
    recur_rnn_free(r);
    recur_params_free(p);
    recur_st_free(f);
    return ok;
}

static void test_pytorch_fixtures(void) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(harness_device());
    char index[1024], line[256];
    snprintf(index, sizeof index, "%s/index.txt", FIXTURE_DIR);
    FILE *fp = fopen(index, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    int cases = 0, passed = 0;
    double all_fwd = 0, all_bwd = 0;
    printf("\n  %-40s %12s %12s\n", "case", "fwd max|err|", "bwd max|err|");
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#') continue;
        double wf = 0, wb = 0;
        int ok = run_case(FIXTURE_DIR, line, &wf, &wb);
        printf("  %-40s %12.3g %12.3g %s\n", line, wf, wb, ok ? "ok" : "FAIL");
        cases++;
        passed += ok;
        if (wf > all_fwd) all_fwd = wf;
        if (wb > all_bwd) all_bwd = wb;
        CU_ASSERT_TRUE(ok);
    }
    fclose(fp);
    printf("  %d/%d cases within |err| <= %.0e + %.0e |want|; worst forward %.3g, backward %.3g\n", passed, cases, ATOL,
           RTOL, all_fwd, all_bwd);
    CU_ASSERT_TRUE(cases >= 40);
    harness_close();
}

static CU_TestInfo tests[] = {
    {.pName = "pytorch_fixtures", .pTestFunc = test_pytorch_fixtures},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {.pName = "rnn_pytorch", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv) { return recur_test_main(argc, argv, suites); }
