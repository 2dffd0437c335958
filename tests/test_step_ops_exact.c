/*
 * The step ops against the ops they are defined as, bit for bit, on the backend under test (RECUR_BACKEND):
 *   rnn_steps_input (all T steps)  ==  T x rnn_step_input  ==  T x (gemm of the input, then rnn_step)
 *   rnn_steps (all T steps)        ==  T x rnn_step
 *   rnn_steps_bwd (all T steps)    ==  T x (the cell's backward op, then gemm into dh)
 * The conformance kit compares each op with the reference within a tolerance; this test holds a backend to
 * its own claim that fusing changes nothing (docs/cpu.md: every tile computed as the separate GEMMs compute
 * it), at one thread and at two with every op split (cpu: threads, split_small), both directions, with
 * lengths. Shapes: a medium-like LSTM, a GRU with odd sizes, and an RNN with more samples than the CPU
 * GEMM's few-rows block (split into chunks).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/recur.h"
#include "rnn_harness.h"
#include "testlib.h"

typedef struct {
    int cell;
    size_t T, B, H, in;
} shape;

static const shape shapes[] = {
    {RECUR_STEP_LSTM, 5, 64, 64, 48},
    {RECUR_STEP_GRU, 4, 37, 33, 20},
    {RECUR_STEP_RNN_TANH, 3, 300, 19, 11},
};

enum { WAYS = 3 }; /* 0: rnn_steps_input, 1: rnn_step_input per step, 2: gemm + rnn_step per step */

static float *wave(size_t n, float scale, float f) {
    float *v = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) v[i] = scale * sinf(f * (float)i + 0.3f);
    return v;
}

/* Lengths 0, T and values between, sample after sample. */
static int32_t *lengths_of(size_t B, size_t T) {
    int32_t *l = malloc(sizeof(int32_t) * B);
    for (size_t b = 0; b < B; b++) l[b] = (int32_t)(b % 4 == 0 ? 0 : b % 4 == 1 ? T : b % T);
    return l;
}

/* Runs one way; returns the states, cell states (LSTM) and outputs, downloaded into one array. */
static float *run_way(const shape *k, int way, int reverse, size_t *n_out) {
    recur_device *d = harness_device();
    const size_t T = k->T, B = k->B, H = k->H, in = k->in, G = k->cell == RECUR_STEP_LSTM ? 4 : k->cell == RECUR_STEP_GRU ? 3 : 1;
    const size_t GH = G * H, BH = B * H, ldw = GH + 16, ldy = 2 * H;
    const int lstm = k->cell == RECUR_STEP_LSTM, gru = k->cell == RECUR_STEP_GRU;
    float *hx = wave(T * B * in, 1.0f, 0.37f), *hwx = wave(in * GH, 1.5f / sqrtf((float)in), 0.11f);
    float *hw = wave(H * ldw, 1.5f / sqrtf((float)H), 0.23f), *hb = wave(GH, 0.5f, 0.7f), *hb2 = wave(GH, 0.5f, 0.9f);
    float *hs = wave((T + 1) * BH, 0.8f, 0.05f); /* only the first step's slot is read */
    int32_t *hl = lengths_of(B, T);
    recur_ptr x = harness_upload(hx, T * B * in), wx = harness_upload(hwx, in * GH), w = harness_upload(hw, H * ldw);
    recur_ptr bx = gru ? harness_upload(hb, GH) : RECUR_NULLPTR, bh = harness_upload(hb2, GH);
    recur_ptr s = harness_upload(hs, (T + 1) * BH), c = lstm ? harness_upload(hs, (T + 1) * BH) : RECUR_NULLPTR;
    recur_ptr len = RECUR_NULLPTR, xg = RECUR_NULLPTR, hg = RECUR_NULLPTR, y = RECUR_NULLPTR;
    recur_alloc(d, B, &len);
    recur_write(d, len, hl, B);
    recur_alloc(d, B * GH, &xg);
    if (gru) recur_alloc(d, B * GH, &hg);
    recur_alloc(d, T * B * ldy, &y);
    recur_op_fill(d, T * B * ldy, 0.0f, y);
    int st = RECUR_OK;
    if (way == 0)
        st = recur_op_rnn_steps_input(d, k->cell, T, B, H, in, reverse, x, in, wx, GH, w, ldw, bx, bh, s, c, xg, hg, y, ldy,
                                      len);
    for (size_t step = 0; way && step < T && !st; step++) {
        const size_t t = reverse ? T - 1 - step : step, i = reverse ? t + 1 : t, o = reverse ? t : t + 1;
        recur_ptr x_t = recur_at(x, t * B * in), y_t = recur_at(y, t * B * ldy);
        recur_ptr c_i = lstm ? recur_at(c, i * BH) : RECUR_NULLPTR, c_o = lstm ? recur_at(c, o * BH) : RECUR_NULLPTR;
        if (way == 1)
            st = recur_op_rnn_step_input(d, k->cell, B, H, in, x_t, in, wx, GH, recur_at(s, i * BH), w, ldw, bx, bh, xg, hg,
                                         c_i, c_o, recur_at(s, o * BH), y_t, ldy, len, t);
        else if (!(st = recur_op_gemm(d, 0, 0, B, GH, in, 1.0f, x_t, in, 0, wx, GH, 0, 0.0f, xg, GH, 0, 1)))
            st = recur_op_rnn_step(d, k->cell, B, H, recur_at(s, i * BH), w, ldw, bx, bh, xg, hg, c_i, c_o,
                                   recur_at(s, o * BH), y_t, ldy, len, t);
    }
    float *out = NULL;
    if (st) {
        printf("\n  way %d failed: %s\n", way, recur_last_error());
    } else {
        *n_out = (T + 1) * BH * (lstm ? 2 : 1) + T * B * ldy;
        out = malloc(sizeof(float) * *n_out);
        recur_read(d, out, s, (T + 1) * BH);
        if (lstm) recur_read(d, out + (T + 1) * BH, c, (T + 1) * BH);
        recur_read(d, out + (T + 1) * BH * (lstm ? 2 : 1), y, T * B * ldy);
    }
    recur_ptr bufs[] = {x, wx, w, bx, bh, s, c, len, xg, hg, y};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) recur_free(d, bufs[i]);
    free(hx), free(hwx), free(hw), free(hb), free(hb2), free(hs), free(hl);
    return out;
}

/* The training ops one way: 0 rnn_steps then rnn_steps_bwd, 1 the ops they are defined as, step by step.
 * Returns s, c (LSTM), xg, hg (GRU), y, then dh, dc (LSTM), dg, dhg (GRU), downloaded into one array. */
static float *run_train_way(const shape *k, int way, int reverse, size_t *n_out) {
    recur_device *d = harness_device();
    const size_t T = k->T, B = k->B, H = k->H, G = k->cell == RECUR_STEP_LSTM ? 4 : k->cell == RECUR_STEP_GRU ? 3 : 1;
    const size_t GH = G * H, BH = B * H, ldw = GH + 16, ldy = 2 * H, ldwb = H + 3;
    const int lstm = k->cell == RECUR_STEP_LSTM, gru = k->cell == RECUR_STEP_GRU;
    float *hw = wave(H * ldw, 1.5f / sqrtf((float)H), 0.23f), *hwb = wave(GH * ldwb, 1.5f / sqrtf((float)GH), 0.19f);
    float *hb = wave(GH, 0.5f, 0.7f), *hb2 = wave(GH, 0.5f, 0.9f), *hxg = wave(T * B * GH, 1.0f, 0.31f);
    float *hs = wave((T + 1) * BH, 0.8f, 0.05f), *hdy = wave(T * B * ldy, 1.0f, 0.13f), *hdh = wave(BH, 1.0f, 0.29f);
    int32_t *hl = lengths_of(B, T);
    recur_ptr w = harness_upload(hw, H * ldw), wb = harness_upload(hwb, GH * ldwb), xg = harness_upload(hxg, T * B * GH);
    recur_ptr bx = gru ? harness_upload(hb, GH) : RECUR_NULLPTR, bh = harness_upload(hb2, GH);
    recur_ptr s = harness_upload(hs, (T + 1) * BH), c = lstm ? harness_upload(hs, (T + 1) * BH) : RECUR_NULLPTR;
    recur_ptr dy = harness_upload(hdy, T * B * ldy), dh = harness_upload(hdh, BH);
    recur_ptr dc = lstm ? harness_upload(hdh, BH) : RECUR_NULLPTR;
    recur_ptr len = RECUR_NULLPTR, hg = RECUR_NULLPTR, y = RECUR_NULLPTR, dg = RECUR_NULLPTR, dhg = RECUR_NULLPTR;
    recur_alloc(d, B, &len);
    recur_write(d, len, hl, B);
    if (gru) recur_alloc(d, T * B * GH, &hg), recur_alloc(d, T * B * GH, &dhg);
    recur_alloc(d, T * B * GH, &dg);
    recur_alloc(d, T * B * ldy, &y);
    recur_op_fill(d, T * B * ldy, 0.0f, y);
    int st = RECUR_OK;
    if (way == 0) {
        st = recur_op_rnn_steps(d, k->cell, T, B, H, reverse, w, ldw, bx, bh, s, c, xg, hg, y, ldy, len);
        if (!st) st = recur_op_rnn_steps_bwd(d, k->cell, T, B, H, reverse, wb, ldwb, s, c, xg, hg, dy, ldy, dh, dc, dg, dhg, len);
    }
    for (size_t step = 0; way && step < T && !st; step++) {
        const size_t t = reverse ? T - 1 - step : step, i = reverse ? t + 1 : t, o = reverse ? t : t + 1;
        st = recur_op_rnn_step(d, k->cell, B, H, recur_at(s, i * BH), w, ldw, bx, bh, recur_at(xg, t * B * GH),
                               gru ? recur_at(hg, t * B * GH) : RECUR_NULLPTR, lstm ? recur_at(c, i * BH) : RECUR_NULLPTR,
                               lstm ? recur_at(c, o * BH) : RECUR_NULLPTR, recur_at(s, o * BH), recur_at(y, t * B * ldy),
                               ldy, len, t);
    }
    for (size_t step = T; way && step-- > 0 && !st;) {
        const size_t t = reverse ? T - 1 - step : step, i = reverse ? t + 1 : t, o = reverse ? t : t + 1, g = t * B * GH;
        recur_ptr dy_t = recur_at(dy, t * B * ldy), acc = recur_at(gru ? dhg : dg, g);
        if (lstm)
            st = recur_op_lstm_bwd(d, B, H, recur_at(xg, g), recur_at(c, i * BH), recur_at(c, o * BH), dy_t, ldy, dh, dc,
                                   recur_at(dg, g), len, t);
        else if (gru)
            st = recur_op_gru_bwd(d, B, H, 1, recur_at(xg, g), recur_at(hg, g), recur_at(s, i * BH), dy_t, ldy, dh,
                                  recur_at(dg, g), recur_at(dhg, g), len, t);
        else
            st = recur_op_rnn_bwd(d, B, H, RECUR_ACT_TANH, recur_at(s, o * BH), dy_t, ldy, dh, recur_at(dg, g), len, t);
        if (!st) st = recur_op_gemm(d, 0, 0, B, H, GH, 1.0f, acc, GH, 0, wb, ldwb, 0, 1.0f, dh, H, 0, 1);
    }
    float *out = NULL;
    if (st) {
        printf("\n  training way %d failed: %s\n", way, recur_last_error());
    } else {
        struct { recur_ptr p; size_t n; } parts[] = {{s, (T + 1) * BH}, {c, lstm ? (T + 1) * BH : 0}, {xg, T * B * GH},
                                                    {hg, gru ? T * B * GH : 0}, {y, T * B * ldy}, {dh, BH},
                                                    {dc, lstm ? BH : 0}, {dg, T * B * GH}, {dhg, gru ? T * B * GH : 0}};
        size_t n = 0;
        for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) n += parts[i].n;
        out = malloc(sizeof(float) * n);
        *n_out = n;
        n = 0;
        for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
            if (parts[i].n) recur_read(d, out + n, parts[i].p, parts[i].n);
            n += parts[i].n;
        }
    }
    recur_ptr bufs[] = {w, wb, xg, bx, bh, s, c, dy, dh, dc, len, hg, y, dg, dhg};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) recur_free(d, bufs[i]);
    free(hw), free(hwb), free(hb), free(hb2), free(hxg), free(hs), free(hdy), free(hdh), free(hl);
    return out;
}

static int check_all(const char *setting) {
    int ok = 1;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (int reverse = 0; reverse < 2; reverse++) {
            float *res[WAYS];
            size_t n[WAYS] = {0};
            for (int way = 0; way < WAYS; way++) res[way] = run_way(&shapes[si], way, reverse, &n[way]);
            for (int way = 1; way < WAYS; way++) {
                const int same = res[0] && res[way] && n[0] == n[way] && !memcmp(res[0], res[way], n[0] * sizeof(float));
                if (!same) {
                    printf("\n  %s, shape %zu, %s: way %d differs from rnn_steps_input\n", setting, si,
                           reverse ? "reverse" : "forward", way);
                    ok = 0;
                }
            }
            for (int way = 0; way < WAYS; way++) free(res[way]);
            size_t nt[2] = {0};
            float *tr[2] = {run_train_way(&shapes[si], 0, reverse, &nt[0]), run_train_way(&shapes[si], 1, reverse, &nt[1])};
            if (!tr[0] || !tr[1] || nt[0] != nt[1] || memcmp(tr[0], tr[1], nt[0] * sizeof(float))) {
                printf("\n  %s, shape %zu, %s: rnn_steps + rnn_steps_bwd differ from their ops step by step\n", setting,
                       si, reverse ? "reverse" : "forward");
                ok = 0;
            }
            free(tr[0]), free(tr[1]);
        }
    return ok;
}

static void test_fused_equals_definition(void) {
    recur_device *d = harness_device();
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    if (!recur_op_available(d, "rnn_steps_input") || !recur_op_available(d, "rnn_step_input") ||
        !recur_op_available(d, "rnn_step") || !recur_op_available(d, "rnn_steps") ||
        !recur_op_available(d, "rnn_steps_bwd")) {
        printf("\n  the step ops are not available on this backend (optional): nothing to compare\n");
        harness_close();
        return;
    }
    CU_ASSERT_TRUE(check_all("default"));
    /* The cpu backend: one thread, then two with every op split however small (other backends have no such
     * options: the default run above is theirs). */
    if (recur_device_set_option(d, "threads", "1") == RECUR_OK) {
        CU_ASSERT_TRUE(check_all("1 thread"));
        CU_ASSERT_EQUAL(recur_device_set_option(d, "threads", "2"), RECUR_OK);
        CU_ASSERT_EQUAL(recur_device_set_option(d, "split_small", "1"), RECUR_OK);
        CU_ASSERT_TRUE(check_all("2 threads, split_small"));
    }
    harness_close();
}

static CU_TestInfo tests[] = {
    {"fused step ops equal their definition, bit for bit", test_fused_equals_definition},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"step_ops_exact", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv) { return recur_test_main(argc, argv, suites); }
