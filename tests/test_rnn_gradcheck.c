/*
 * Finite-difference gradient checks of the recurrent layers on the backend from RECUR_BACKEND: every cell,
 * 1 and 2 layers, one and two directions, varied lengths, projection, no bias, and dropout with a fixed
 * mask (the generator is reset before every forward, so each forward draws the same mask).
 *   loss = sum(y * wy) + sum(h_n * wh) + sum(c_n * wc),  central differences with step EPS.
 * The no_dy cases drop the y term (wy = 0) and pass no dy at all (NULL) to the backward.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnn_harness.h"
#include "testlib.h"

#define EPS 4e-3
#define ATOL 2e-3
#define RTOL 2e-2

typedef struct gc_case {
    const char *name;
    int cell;
    size_t layers, proj;
    int bidir, bias;
    float dropout;
    int varied;
    int no_dy;
} gc_case;

typedef struct gc_state {
    recur_device *d;
    recur_params *p;
    recur_rnn *r;
    size_t T, B, I, H, P, LD;
    int lstm;
    recur_ptr x, len, h0, c0, y, hn, cn, dx, dh0, dc0, wy, wh, wc;
    float *hwy, *hwh, *hwc;
    int relu, kinks;
} gc_state;

static float rnd(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((*s >> 40) & 0xffffff) / 16777216.0f * 2.0f - 1.0f;
}

static double loss(gc_state *g) {
    recur_rnn_set_rng(g->r, 1234, 0);
    if (recur_rnn_forward(g->r, g->T, g->B, g->x, g->len, g->h0, g->c0, 1, g->y, g->hn, g->cn)) {
        fprintf(stderr, "forward: %s\n", recur_last_error());
        return NAN;
    }
    size_t ny = g->T * g->B * (recur_rnn_output_size(g->r)), nh = g->LD * g->B * g->P, nc = g->LD * g->B * g->H;
    float *y = harness_download(g->y, ny), *h = harness_download(g->hn, nh);
    double L = 0;
    for (size_t i = 0; i < ny; i++) L += (double)y[i] * g->hwy[i];
    for (size_t i = 0; i < nh; i++) L += (double)h[i] * g->hwh[i];
    if (g->lstm) {
        float *c = harness_download(g->cn, nc);
        for (size_t i = 0; i < nc; i++) L += (double)c[i] * g->hwc[i];
        free(c);
    }
    free(y);
    free(h);
    return L;
}

/* Perturb element i of device tensor p, measure the loss slope, compare with the analytic value. */
static int check_entry(gc_state *g, recur_ptr p, size_t i, float analytic, const char *what, double *worst) {
    float v;
    recur_read(g->d, &v, recur_at(p, i), 1);
    float vp = v + (float)EPS, vm = v - (float)EPS;
    recur_write(g->d, recur_at(p, i), &vp, 1);
    double lp = loss(g);
    recur_write(g->d, recur_at(p, i), &vm, 1);
    double lm = loss(g);
    recur_write(g->d, recur_at(p, i), &v, 1);
    double fd = (lp - lm) / ((double)vp - (double)vm);
    /* A ReLU kink inside [v - EPS, v + EPS] makes the loss non-differentiable there: the one-sided slopes
     * disagree. Such entries say nothing about the backward pass; they are counted, not checked. */
    if (g->relu) {
        double l0 = loss(g);
        double up = (lp - l0) / ((double)vp - v), down = (l0 - lm) / ((double)v - vm);
        if (fabs(up - down) > ATOL + RTOL * fabs(fd)) {
            g->kinks++;
            return 1;
        }
    }
    double err = fabs(fd - analytic) / (ATOL + RTOL * fabs(fd));
    if (err > *worst) *worst = err;
    if (err > 1.0) fprintf(stderr, "  %s[%zu]: finite difference %.6f, backward %.6f\n", what, i, fd, (double)analytic);
    return err <= 1.0;
}

static int run(const gc_case *c, double *worst, int *kinks) {
    gc_state g = {.d = harness_device(), .T = 4, .B = 3, .I = 3, .H = 4};
    uint64_t seed = 99;
    recur_rnn_config cfg = {.cell = c->cell, .input_size = g.I, .hidden_size = g.H, .proj_size = c->proj,
                            .num_layers = c->layers, .bidirectional = c->bidir, .bias = c->bias, .dropout = c->dropout};
    g.P = c->proj ? c->proj : g.H;
    g.LD = c->layers * (c->bidir ? 2 : 1);
    g.lstm = c->cell == RECUR_CELL_LSTM;
    g.relu = c->cell == RECUR_CELL_RNN_RELU;
    if (recur_params_new(g.d, &g.p) || recur_rnn_create(g.p, "", &cfg, &g.r) || recur_params_finalize(g.p) ||
        recur_rnn_init(g.r, 7)) {
        fprintf(stderr, "%s: setup: %s\n", c->name, recur_last_error());
        return 0;
    }
    size_t T = g.T, B = g.B, Y = recur_rnn_output_size(g.r);
    size_t nx = T * B * g.I, ny = T * B * Y, nh = g.LD * B * g.P, nc = g.LD * B * g.H;
    float *hx = malloc(sizeof(float) * nx), *hh0 = malloc(sizeof(float) * nh), *hc0 = malloc(sizeof(float) * nc);
    g.hwy = malloc(sizeof(float) * ny);
    g.hwh = malloc(sizeof(float) * nh);
    g.hwc = malloc(sizeof(float) * nc);
    for (size_t i = 0; i < nx; i++) hx[i] = rnd(&seed);
    for (size_t i = 0; i < nh; i++) hh0[i] = 0.5f * rnd(&seed), g.hwh[i] = rnd(&seed);
    for (size_t i = 0; i < nc; i++) hc0[i] = 0.5f * rnd(&seed), g.hwc[i] = rnd(&seed);
    for (size_t i = 0; i < ny; i++) g.hwy[i] = c->no_dy ? 0.0f : rnd(&seed);
    int32_t lens[3] = {4, 4, 4};
    if (c->varied) lens[1] = 2, lens[2] = 3;
    g.x = harness_upload(hx, nx);
    g.len = harness_upload(lens, B);
    g.h0 = harness_upload(hh0, nh);
    g.c0 = g.lstm ? harness_upload(hc0, nc) : RECUR_NULLPTR;
    g.wy = harness_upload(g.hwy, ny);
    g.wh = harness_upload(g.hwh, nh);
    g.wc = g.lstm ? harness_upload(g.hwc, nc) : RECUR_NULLPTR;
    recur_alloc(g.d, ny, &g.y);
    recur_alloc(g.d, nh, &g.hn);
    recur_alloc(g.d, nx, &g.dx);
    recur_alloc(g.d, nh, &g.dh0);
    if (g.lstm) recur_alloc(g.d, nc, &g.cn), recur_alloc(g.d, nc, &g.dc0);

    int ok = 1;
    loss(&g);
    if (recur_rnn_backward(g.r, c->no_dy ? RECUR_NULLPTR : g.wy, g.wh, g.wc, g.dx, g.dh0, g.dc0)) {
        fprintf(stderr, "%s: backward: %s\n", c->name, recur_last_error());
        ok = 0;
    }
    float *adx = harness_download(g.dx, nx), *adh = harness_download(g.dh0, nh);
    for (size_t i = 0; ok && i < nx; i++) ok &= check_entry(&g, g.x, i, adx[i], "x", worst);
    for (size_t i = 0; ok && i < nh; i++) ok &= check_entry(&g, g.h0, i, adh[i], "h0", worst);
    if (g.lstm) {
        float *adc = harness_download(g.dc0, nc);
        for (size_t i = 0; ok && i < nc; i++) ok &= check_entry(&g, g.c0, i, adc[i], "c0", worst);
        free(adc);
    }
    for (int k = 0; ok && k < recur_params_count(g.p); k++) {
        size_t n = recur_params_numel(g.p, k);
        float *ag = malloc(sizeof(float) * n);
        recur_params_read_grad(g.p, k, ag);
        /* Every third entry, starting at a different place per tensor: all gates and rows get visited. */
        for (size_t i = (size_t)k % 3; ok && i < n; i += 3)
            ok &= check_entry(&g, recur_params_data(g.p, k), i, ag[i], recur_params_name(g.p, k), worst);
        free(ag);
    }
    free(adx);
    free(adh);
    recur_ptr all[] = {g.x, g.len, g.h0, g.c0, g.y, g.hn, g.cn, g.dx, g.dh0, g.dc0, g.wy, g.wh, g.wc};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) recur_free(g.d, all[i]);
    free(hx), free(hh0), free(hc0), free(g.hwy), free(g.hwh), free(g.hwc);
    recur_rnn_free(g.r);
    recur_params_free(g.p);
    *kinks = g.kinks;
    return ok;
}

static const gc_case cases[] = {
#define CELLS(nm, cell)                                                                                    \
    {nm "_1layer", cell, 1, 0, 0, 1, 0.0f, 0, 0}, {nm "_1layer_varied", cell, 1, 0, 0, 1, 0.0f, 1, 0},    \
        {nm "_2layer_bidir_varied", cell, 2, 0, 1, 1, 0.0f, 1, 0},                                         \
        {nm "_bidir_nobias", cell, 1, 0, 1, 0, 0.0f, 1, 0}, {nm "_2layer_dropout", cell, 2, 0, 1, 1, 0.3f, 1, 0}
    CELLS("rnn_tanh", RECUR_CELL_RNN_TANH),
    CELLS("rnn_relu", RECUR_CELL_RNN_RELU),
    CELLS("lstm", RECUR_CELL_LSTM),
    CELLS("gru", RECUR_CELL_GRU),
    CELLS("gru_original", RECUR_CELL_GRU_ORIGINAL),
    {"lstm_proj_varied", RECUR_CELL_LSTM, 1, 2, 0, 1, 0.0f, 1, 0},
    {"lstm_proj_2layer_bidir_varied", RECUR_CELL_LSTM, 2, 2, 1, 1, 0.0f, 1, 0},
    {"lstm_2layer_bidir_varied_no_dy", RECUR_CELL_LSTM, 2, 0, 1, 1, 0.0f, 1, 1},
    {"lstm_proj_varied_no_dy", RECUR_CELL_LSTM, 1, 2, 0, 1, 0.0f, 1, 1},
    {"gru_varied_no_dy", RECUR_CELL_GRU, 1, 0, 0, 1, 0.0f, 1, 1},
    {"gru_original_no_dy", RECUR_CELL_GRU_ORIGINAL, 1, 0, 1, 1, 0.0f, 1, 1},
    {"rnn_tanh_varied_no_dy", RECUR_CELL_RNN_TANH, 2, 0, 0, 1, 0.0f, 1, 1},
#undef CELLS
};

static void test_gradcheck(void) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(harness_device());
    printf("\n");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double worst = 0;
        int kinks = 0;
        int ok = run(&cases[i], &worst, &kinks);
        printf("  %-34s worst error/tolerance %.3f %s", cases[i].name, worst, ok ? "ok" : "FAIL");
        if (kinks) printf(" (%d entries at a ReLU kink skipped)", kinks);
        printf("\n");
        CU_ASSERT_TRUE(kinks <= 10);
        CU_ASSERT_TRUE(ok);
    }
    harness_close();
}

static CU_TestInfo tests[] = {
    {.pName = "gradcheck", .pTestFunc = test_gradcheck},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {.pName = "rnn_gradcheck", .pTests = tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv) { return recur_test_main(argc, argv, suites); }
