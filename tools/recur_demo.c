/*
 * `recur demo`: a small computation through the ops on the chosen backend: one LSTM step for a batch of
 * two, then a cross-entropy loss and an Adam step, printing every intermediate value.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define CHECK(call)                                                                                        \
    do {                                                                                                   \
        int st_ = (call);                                                                                  \
        if (st_) { rc = cli_fail(#call, st_); goto done; }                                                 \
    } while (0)

static void print_row(const char *label, const float *v, size_t n) {
    printf("  %-26s", label);
    for (size_t i = 0; i < n; i++) printf(" %8.5f", v[i]);
    printf("\n");
}

int cli_demo(int argc, char **argv) {
    const char *backend = NULL, *device = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc) backend = argv[++i];
        else if (!strcmp(argv[i], "--device") && i + 1 < argc) device = argv[++i];
        else {
            fprintf(stderr, "recur demo: unknown argument '%s' (use --backend NAME --device SEL)\n", argv[i]);
            return 2;
        }
    }
    recur_device *d = NULL;
    int st = recur_device_open_default(backend, device, &d);
    if (st) return cli_fail("opening the backend", st);
    const recur_device_info *info = recur_device_get_info(d);
    printf("backend %s, device %s\n", recur_backend_name(recur_device_backend(d)), info->name);

    enum { B = 2, I = 3, H = 2, C = 2 };
    /* x (B, I), W_ih (4H, I), W_hh (4H, H), bias (4H), fc (C, H) */
    float x[B * I] = {0.5f, -1.0f, 0.25f, 1.5f, 0.0f, -0.5f};
    float w_ih[4 * H * I], w_hh[4 * H * H], bias[4 * H], fc[C * H] = {0.3f, -0.2f, -0.4f, 0.6f};
    for (int i = 0; i < 4 * H * I; i++) w_ih[i] = 0.1f * (float)((i * 7) % 11 - 5);
    for (int i = 0; i < 4 * H * H; i++) w_hh[i] = 0.05f * (float)((i * 5) % 9 - 4);
    for (int i = 0; i < 4 * H; i++) bias[i] = 0.01f * (float)i;
    int32_t target[B] = {1, 0};
    float h0[B * H] = {0}, c0[B * H] = {0};
    recur_ptr px = {0}, pwih = {0}, pwhh = {0}, pb = {0}, pfc = {0}, pgates = {0}, ph0 = {0}, pc0 = {0}, ph = {0},
              pc = {0}, plog = {0}, ptgt = {0}, ploss = {0}, pdlog = {0}, pdfc = {0}, pm = {0}, pv = {0};
    int rc = 0;
    CHECK(recur_alloc(d, B * I, &px));
    CHECK(recur_alloc(d, 4 * H * I, &pwih));
    CHECK(recur_alloc(d, 4 * H * H, &pwhh));
    CHECK(recur_alloc(d, 4 * H, &pb));
    CHECK(recur_alloc(d, C * H, &pfc));
    CHECK(recur_alloc(d, B * 4 * H, &pgates));
    CHECK(recur_alloc(d, B * H, &ph0));
    CHECK(recur_alloc(d, B * H, &pc0));
    CHECK(recur_alloc(d, B * H, &ph));
    CHECK(recur_alloc(d, B * H, &pc));
    CHECK(recur_alloc(d, B * C, &plog));
    CHECK(recur_alloc(d, B, &ptgt));
    CHECK(recur_alloc(d, 1, &ploss));
    CHECK(recur_alloc(d, B * C, &pdlog));
    CHECK(recur_alloc(d, C * H, &pdfc));
    CHECK(recur_alloc(d, C * H, &pm));
    CHECK(recur_alloc(d, C * H, &pv));
    CHECK(recur_write(d, px, x, B * I));
    CHECK(recur_write(d, pwih, w_ih, 4 * H * I));
    CHECK(recur_write(d, pwhh, w_hh, 4 * H * H));
    CHECK(recur_write(d, pb, bias, 4 * H));
    CHECK(recur_write(d, pfc, fc, C * H));
    CHECK(recur_write(d, ph0, h0, B * H));
    CHECK(recur_write(d, pc0, c0, B * H));
    CHECK(recur_write(d, ptgt, target, B));
    CHECK(recur_op_fill(d, C * H, 0.0f, pm));
    CHECK(recur_op_fill(d, C * H, 0.0f, pv));

    /* gates = x W_ih^T + h0 W_hh^T + b;  then the fused LSTM cell. */
    CHECK(recur_op_gemm(d, 0, 1, B, 4 * H, I, 1.0f, px, I, 0, pwih, I, 0, 0.0f, pgates, 4 * H, 0, 1));
    CHECK(recur_op_gemm(d, 0, 1, B, 4 * H, H, 1.0f, ph0, H, 0, pwhh, H, 0, 1.0f, pgates, 4 * H, 0, 1));
    CHECK(recur_op_add_bias(d, B, 4 * H, pb, pgates, 4 * H));
    CHECK(recur_op_lstm_fwd(d, B, H, pgates, pc0, pc, ph0, ph, RECUR_NULLPTR, 0, RECUR_NULLPTR, 0));
    /* logits = h fc^T; cross-entropy; dfc = dlogits^T h; one Adam step on fc. */
    CHECK(recur_op_gemm(d, 0, 1, B, C, H, 1.0f, ph, H, 0, pfc, H, 0, 0.0f, plog, C, 0, 1));
    CHECK(recur_op_xent_fwd_bwd(d, B, C, plog, ptgt, RECUR_NULLPTR, -100, 0.0f, RECUR_REDUCE_MEAN, 1.0f, ploss,
                                pdlog));
    CHECK(recur_op_gemm(d, 1, 0, C, H, B, 1.0f, pdlog, C, 0, ph, H, 0, 0.0f, pdfc, H, 0, 1));
    CHECK(recur_op_adam_step(d, C * H, pfc, pdfc, pm, pv, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, 0, 1));

    float gates[B * 4 * H], hv[B * H], cv[B * H], logits[B * C], loss, dfc[C * H], fc1[C * H];
    CHECK(recur_read(d, gates, pgates, B * 4 * H));
    CHECK(recur_read(d, hv, ph, B * H));
    CHECK(recur_read(d, cv, pc, B * H));
    CHECK(recur_read(d, logits, plog, B * C));
    CHECK(recur_read(d, &loss, ploss, 1));
    CHECK(recur_read(d, dfc, pdfc, C * H));
    CHECK(recur_read(d, fc1, pfc, C * H));
    printf("one LSTM step (batch %d, input %d, hidden %d), a linear head, cross-entropy and Adam:\n", B, I, H);
    print_row("gates i,f,g,o (sample 0)", gates, 4 * H);
    print_row("gates i,f,g,o (sample 1)", gates + 4 * H, 4 * H);
    print_row("c_1", cv, B * H);
    print_row("h_1", hv, B * H);
    print_row("logits", logits, B * C);
    print_row("cross-entropy loss", &loss, 1);
    print_row("dL/d fc.weight", dfc, C * H);
    print_row("fc.weight after Adam", fc1, C * H);
    const char *fb[40];
    int nfb = recur_device_fallback_ops(d, fb, 40);
    if (nfb) {
        printf("ops that ran on the reference kernels:");
        for (int i = 0; i < nfb; i++) printf(" %s", fb[i]);
        printf("\n");
    }
done:;
    recur_ptr all[] = {px, pwih, pwhh, pb, pfc, pgates, ph0, pc0, ph, pc, plog, ptgt, ploss, pdlog, pdfc, pm, pv};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) recur_free(d, all[i]);
    recur_device_close(d);
    return rc;
}
