/*
 * The step ops against the ops they are defined as, bit for bit, on the backend under test (RECUR_BACKEND):
 *   rnn_steps_input (all T steps)  ==  T x rnn_step_input  ==  T x (gemm of the input, then rnn_step)
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

/* Runs one way; returns the states, cell states (LSTM) and outputs, downloaded into one array. */
static float *run_way(const shape *k, int way, int reverse, size_t *n_out) {
    recur_device *d = harness_device();
    const size_t T = k->T, B = k->B, H = k->H, in = k->in, G = k->cell == RECUR_STEP_LSTM ? 4 : k->cell == RECUR_STEP_GRU ? 3 : 1;
    const size_t GH = G * H, BH = B * H, ldw = GH + 16, ldy = 2 * H;
    const int lstm = k->cell == RECUR_STEP_LSTM, gru = k->cell == RECUR_STEP_GRU;
    float *hx = wave(T * B * in, 1.0f, 0.37f), *hwx = wave(in * GH, 1.5f / sqrtf((float)in), 0.11f);
    float *hw = wave(H * ldw, 1.5f / sqrtf((float)H), 0.23f), *hb = wave(GH, 0.5f, 0.7f), *hb2 = wave(GH, 0.5f, 0.9f);
    float *hs = wave((T + 1) * BH, 0.8f, 0.05f); /* only the first step's slot is read */
    int32_t *hl = malloc(sizeof(int32_t) * B);
    for (size_t b = 0; b < B; b++) hl[b] = (int32_t)(b % 4 == 0 ? 0 : b % 4 == 1 ? T : b % T);
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
        }
    return ok;
}

static void test_fused_equals_definition(void) {
    recur_device *d = harness_device();
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    if (!recur_op_available(d, "rnn_steps_input") || !recur_op_available(d, "rnn_step_input") ||
        !recur_op_available(d, "rnn_step")) {
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
