/*
 * Recurrent cell ops of the cpu backend, split over samples (rows b) on the pool. A valid row runs the
 * SIMD row kernel of cpu_simd.h when the device's ISA has one; invalid rows (and every row on the generic
 * ISA) run the ref kernel on that one row (B = 1, lengths advanced to the row), so the held-state rules
 * live in one place, backends/ref/ref_cells.c. Either way each row is computed by one thread with the same
 * code whatever the thread count. The forward tasks also serve rnn_step (at the end of this file), whose
 * biases the row kernels add as they load the pre-activations.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <string.h>
#include <time.h>

#include "cpu_internal.h"
#include "cpu_simd.h"
#include "ref_kernels.h"

typedef struct {
    const cpu_simd_kernels *k;
    size_t B, H;
    int flag; /* reset_after / act */
    float *p[8];
    const float *bh, *bx; /* forward: rnn_step's biases (NULL for the cell ops themselves) */
    const int32_t *lengths;
    size_t ldy, t;
} cell_a;

static void run_cell(cpu_dev *d, cpu_task_fn fn, cell_a *a) {
    cpu_run_parts(d, fn, a, a->B * a->H, CPU_MIN_CELL, a->B);
}

#define ROW(p, b, w) ((p) ? (p) + (b) * (w) : NULL)
#define LEN(a, b) ((a)->lengths ? (a)->lengths + (b) : NULL)
#define VALID(a, b) (!(a)->lengths || (int64_t)(a)->t < (int64_t)(a)->lengths[b])

/* rnn_step's biases on rows [lo, hi), where no row kernel takes them (invalid rows, the ref kernels' paths):
 * bh into acc (hg for GRU, else the gates themselves), then bx into the gates, as its add_bias ops would. */
static void add_step_biases(const cell_a *a, size_t lo, size_t hi, float *gates, float *acc, size_t w) {
    if (a->bh) recur_k_add_bias(hi - lo, w, a->bh, acc + lo * w, w, 0, 1);
    if (a->bx) recur_k_add_bias(hi - lo, w, a->bx, gates + lo * w, w, 0, 1);
}

/* ---- LSTM: p = gates, c_prev, c, h_prev, h, y / gates, c_prev, c, dy, dh, dc, dgates ---- */

static void lstm_fwd_t(void *arg, int ith, int nth) {
    cell_a *a = arg;
    const size_t H = a->H;
    float *g = a->p[0], *cp = a->p[1], *c = a->p[2], *hp = a->p[3], *h = a->p[4], *y = a->p[5];
    size_t lo, hi;
    recur_k_slice(a->B, ith, nth, &lo, &hi);
    if (!a->k) {
        add_step_biases(a, lo, hi, g, g, 4 * H);
        recur_k_lstm_fwd(a->B, H, g, cp, c, hp, h, y, a->ldy, a->lengths, a->t, ith, nth);
        return;
    }
    for (size_t b = lo; b < hi; b++) {
        if (VALID(a, b)) {
            a->k->lstm_fwd_row(H, g + b * 4 * H, a->bh, a->bx, cp + b * H, c + b * H, h + b * H, ROW(y, b, a->ldy));
        } else {
            add_step_biases(a, b, b + 1, g, g, 4 * H);
            recur_k_lstm_fwd(1, H, g + b * 4 * H, cp + b * H, c + b * H, ROW(hp, b, H), h + b * H, ROW(y, b, a->ldy),
                             a->ldy, LEN(a, b), a->t, 0, 1);
        }
    }
}
int cpu_lstm_fwd(void *dev, size_t B, size_t H, recur_ptr gates, recur_ptr c_prev, recur_ptr c, recur_ptr h_prev,
                 recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    cpu_dev *d = dev;
    cell_a a = {.k = cpu_simd_for(d->isa), .B = B, .H = H,
                .p = {cpu_f(gates), cpu_f(c_prev), cpu_f(c), cpu_f(h_prev), cpu_f(h), cpu_f(y)},
                .lengths = cpu_i(lengths), .ldy = ldy, .t = t};
    run_cell(d, lstm_fwd_t, &a);
    return RECUR_OK;
}

static void lstm_bwd_t(void *arg, int ith, int nth) {
    cell_a *a = arg;
    const size_t H = a->H;
    float *g = a->p[0], *cp = a->p[1], *c = a->p[2], *dy = a->p[3], *dh = a->p[4], *dc = a->p[5], *dg = a->p[6];
    if (!a->k) {
        recur_k_lstm_bwd(a->B, H, g, cp, c, dy, a->ldy, dh, dc, dg, a->lengths, a->t, ith, nth);
        return;
    }
    size_t lo, hi;
    recur_k_slice(a->B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        if (VALID(a, b))
            a->k->lstm_bwd_row(H, g + b * 4 * H, cp + b * H, c + b * H, ROW(dy, b, a->ldy), dh + b * H, dc + b * H,
                               dg + b * 4 * H);
        else
            recur_k_lstm_bwd(1, H, g + b * 4 * H, cp + b * H, c + b * H, ROW(dy, b, a->ldy), a->ldy, dh + b * H,
                             dc + b * H, dg + b * 4 * H, LEN(a, b), a->t, 0, 1);
    }
}
int cpu_lstm_bwd(void *dev, size_t B, size_t H, recur_ptr gates, recur_ptr c_prev, recur_ptr c, recur_ptr dy,
                 size_t ldy, recur_ptr dh, recur_ptr dc, recur_ptr dgates, recur_ptr lengths, size_t t) {
    cpu_dev *d = dev;
    cell_a a = {.k = cpu_simd_for(d->isa), .B = B, .H = H,
                .p = {cpu_f(gates), cpu_f(c_prev), cpu_f(c), cpu_f(dy), cpu_f(dh), cpu_f(dc), cpu_f(dgates)},
                .lengths = cpu_i(lengths), .ldy = ldy, .t = t};
    run_cell(d, lstm_bwd_t, &a);
    return RECUR_OK;
}

/* ---- GRU: p = xg, hg, h_prev, h, y / xg, hg, h_prev, dy, dh, dxg, dhg / xg, hg, h_prev, rh ---- */

static void gru_fwd_t(void *arg, int ith, int nth) {
    cell_a *a = arg;
    const size_t H = a->H;
    float *xg = a->p[0], *hg = a->p[1], *hp = a->p[2], *h = a->p[3], *y = a->p[4];
    size_t lo, hi;
    recur_k_slice(a->B, ith, nth, &lo, &hi);
    if (!a->k) {
        add_step_biases(a, lo, hi, xg, hg, 3 * H);
        recur_k_gru_fwd(a->B, H, a->flag, xg, hg, hp, h, y, a->ldy, a->lengths, a->t, ith, nth);
        return;
    }
    for (size_t b = lo; b < hi; b++) {
        if (VALID(a, b)) {
            a->k->gru_fwd_row(H, a->flag, xg + b * 3 * H, a->bx, hg + b * 3 * H, a->bh, ROW(hp, b, H), h + b * H,
                              ROW(y, b, a->ldy));
        } else {
            add_step_biases(a, b, b + 1, xg, hg, 3 * H);
            recur_k_gru_fwd(1, H, a->flag, xg + b * 3 * H, hg + b * 3 * H, ROW(hp, b, H), h + b * H, ROW(y, b, a->ldy),
                            a->ldy, LEN(a, b), a->t, 0, 1);
        }
    }
}
int cpu_gru_fwd(void *dev, size_t B, size_t H, int reset_after, recur_ptr xg, recur_ptr hg, recur_ptr h_prev,
                recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    cpu_dev *d = dev;
    cell_a a = {.k = cpu_simd_for(d->isa), .B = B, .H = H, .flag = reset_after != 0,
                .p = {cpu_f(xg), cpu_f(hg), cpu_f(h_prev), cpu_f(h), cpu_f(y)},
                .lengths = cpu_i(lengths), .ldy = ldy, .t = t};
    run_cell(d, gru_fwd_t, &a);
    return RECUR_OK;
}

static void gru_bwd_t(void *arg, int ith, int nth) {
    cell_a *a = arg;
    const size_t H = a->H;
    float *xg = a->p[0], *hg = a->p[1], *hp = a->p[2], *dy = a->p[3], *dh = a->p[4], *dxg = a->p[5], *dhg = a->p[6];
    if (!a->k) {
        recur_k_gru_bwd(a->B, H, a->flag, xg, hg, hp, dy, a->ldy, dh, dxg, dhg, a->lengths, a->t, ith, nth);
        return;
    }
    size_t lo, hi;
    recur_k_slice(a->B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        if (VALID(a, b))
            a->k->gru_bwd_row(H, a->flag, xg + b * 3 * H, hg + b * 3 * H, ROW(hp, b, H), ROW(dy, b, a->ldy),
                              dh + b * H, dxg + b * 3 * H, dhg + b * 3 * H);
        else
            recur_k_gru_bwd(1, H, a->flag, xg + b * 3 * H, hg + b * 3 * H, ROW(hp, b, H), ROW(dy, b, a->ldy), a->ldy,
                            dh + b * H, dxg + b * 3 * H, dhg + b * 3 * H, LEN(a, b), a->t, 0, 1);
    }
}
int cpu_gru_bwd(void *dev, size_t B, size_t H, int reset_after, recur_ptr xg, recur_ptr hg, recur_ptr h_prev,
                recur_ptr dy, size_t ldy, recur_ptr dh, recur_ptr dxg, recur_ptr dhg, recur_ptr lengths, size_t t) {
    cpu_dev *d = dev;
    cell_a a = {.k = cpu_simd_for(d->isa), .B = B, .H = H, .flag = reset_after != 0,
                .p = {cpu_f(xg), cpu_f(hg), cpu_f(h_prev), cpu_f(dy), cpu_f(dh), cpu_f(dxg), cpu_f(dhg)},
                .lengths = cpu_i(lengths), .ldy = ldy, .t = t};
    run_cell(d, gru_bwd_t, &a);
    return RECUR_OK;
}

static void gru_reset_t(void *arg, int ith, int nth) {
    cell_a *a = arg;
    const size_t H = a->H;
    float *xg = a->p[0], *hg = a->p[1], *hp = a->p[2], *rh = a->p[3];
    if (!a->k) {
        recur_k_gru_reset(a->B, H, xg, hg, hp, rh, a->lengths, a->t, ith, nth);
        return;
    }
    size_t lo, hi;
    recur_k_slice(a->B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        if (VALID(a, b)) a->k->gru_reset_row(H, xg + b * 3 * H, hg + b * 3 * H, ROW(hp, b, H), rh + b * H);
        else recur_k_gru_reset(1, H, xg + b * 3 * H, hg + b * 3 * H, ROW(hp, b, H), rh + b * H, LEN(a, b), a->t, 0, 1);
    }
}
int cpu_gru_reset(void *dev, size_t B, size_t H, recur_ptr xg, recur_ptr hg, recur_ptr h_prev, recur_ptr rh,
                  recur_ptr lengths, size_t t) {
    cpu_dev *d = dev;
    cell_a a = {.k = cpu_simd_for(d->isa), .B = B, .H = H, .p = {cpu_f(xg), cpu_f(hg), cpu_f(h_prev), cpu_f(rh)},
                .lengths = cpu_i(lengths), .t = t};
    run_cell(d, gru_reset_t, &a);
    return RECUR_OK;
}

/* p = xg, h_prev, drh, dxg, dhg, dh: no transcendental, the ref kernel on the pool */
static void gru_reset_bwd_t(void *arg, int ith, int nth) {
    cell_a *a = arg;
    recur_k_gru_reset_bwd(a->B, a->H, a->p[0], a->p[1], a->p[2], a->p[3], a->p[4], a->p[5], a->lengths, a->t, ith,
                          nth);
}
int cpu_gru_reset_bwd(void *dev, size_t B, size_t H, recur_ptr xg, recur_ptr h_prev, recur_ptr drh, recur_ptr dxg,
                      recur_ptr dhg, recur_ptr dh, recur_ptr lengths, size_t t) {
    cell_a a = {.B = B, .H = H,
                .p = {cpu_f(xg), cpu_f(h_prev), cpu_f(drh), cpu_f(dxg), cpu_f(dhg), cpu_f(dh)},
                .lengths = cpu_i(lengths), .t = t};
    run_cell(dev, gru_reset_bwd_t, &a);
    return RECUR_OK;
}

/* ---- Elman RNN: p = pre, h_prev, h, y / h, dy, dh, dpre ---- */

static void rnn_fwd_t(void *arg, int ith, int nth) {
    cell_a *a = arg;
    const size_t H = a->H;
    float *pre = a->p[0], *hp = a->p[1], *h = a->p[2], *y = a->p[3];
    size_t lo, hi;
    recur_k_slice(a->B, ith, nth, &lo, &hi);
    if (!a->k || a->flag != RECUR_ACT_TANH) {
        add_step_biases(a, lo, hi, pre, pre, H);
        recur_k_rnn_fwd(a->B, H, a->flag, pre, hp, h, y, a->ldy, a->lengths, a->t, ith, nth);
        return;
    }
    for (size_t b = lo; b < hi; b++) {
        if (VALID(a, b)) {
            a->k->rnn_tanh_row(H, pre + b * H, a->bh, a->bx, h + b * H, ROW(y, b, a->ldy));
        } else {
            add_step_biases(a, b, b + 1, pre, pre, H);
            recur_k_rnn_fwd(1, H, a->flag, pre + b * H, ROW(hp, b, H), h + b * H, ROW(y, b, a->ldy), a->ldy, LEN(a, b),
                            a->t, 0, 1);
        }
    }
}
int cpu_rnn_fwd(void *dev, size_t B, size_t H, int act, recur_ptr pre, recur_ptr h_prev, recur_ptr h, recur_ptr y,
                size_t ldy, recur_ptr lengths, size_t t) {
    if (act != RECUR_ACT_TANH && act != RECUR_ACT_RELU)
        return cpu_error(RECUR_E_INVALID, "cpu: unknown RNN activation %d (tanh or relu)", act);
    cpu_dev *d = dev;
    cell_a a = {.k = cpu_simd_for(d->isa), .B = B, .H = H, .flag = act,
                .p = {cpu_f(pre), cpu_f(h_prev), cpu_f(h), cpu_f(y)}, .lengths = cpu_i(lengths), .ldy = ldy, .t = t};
    run_cell(d, rnn_fwd_t, &a);
    return RECUR_OK;
}

static void rnn_bwd_t(void *arg, int ith, int nth) {
    cell_a *a = arg;
    const size_t H = a->H;
    float *h = a->p[0], *dy = a->p[1], *dh = a->p[2], *dp = a->p[3];
    if (!a->k) {
        recur_k_rnn_bwd(a->B, H, a->flag, h, dy, a->ldy, dh, dp, a->lengths, a->t, ith, nth);
        return;
    }
    size_t lo, hi;
    recur_k_slice(a->B, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        if (VALID(a, b)) a->k->rnn_bwd_row(H, a->flag == RECUR_ACT_RELU, h + b * H, ROW(dy, b, a->ldy), dh + b * H, dp + b * H);
        else
            recur_k_rnn_bwd(1, H, a->flag, h + b * H, ROW(dy, b, a->ldy), a->ldy, dh + b * H, dp + b * H, LEN(a, b),
                            a->t, 0, 1);
    }
}
int cpu_rnn_bwd(void *dev, size_t B, size_t H, int act, recur_ptr h, recur_ptr dy, size_t ldy, recur_ptr dh,
                recur_ptr dpre, recur_ptr lengths, size_t t) {
    if (act != RECUR_ACT_TANH && act != RECUR_ACT_RELU)
        return cpu_error(RECUR_E_INVALID, "cpu: unknown RNN activation %d (tanh or relu)", act);
    cpu_dev *d = dev;
    cell_a a = {.k = cpu_simd_for(d->isa), .B = B, .H = H, .flag = act,
                .p = {cpu_f(h), cpu_f(dy), cpu_f(dh), cpu_f(dpre)}, .lengths = cpu_i(lengths), .ldy = ldy, .t = t};
    run_cell(d, rnn_bwd_t, &a);
    return RECUR_OK;
}

/* The cell part of a step, after its GEMM(s): the forward cell task with the biases, its arguments in *a. */
static cpu_task_fn step_cell(cpu_dev *d, int cell, size_t B, size_t H, recur_ptr h_prev, recur_ptr bias_x,
                             recur_ptr bias_h, recur_ptr xg, recur_ptr hg, recur_ptr c_prev, recur_ptr c, recur_ptr h,
                             recur_ptr y, size_t ldy, recur_ptr lengths, size_t t, cell_a *a) {
    *a = (cell_a){.k = cpu_simd_for(d->isa), .B = B, .H = H, .bh = cpu_f(bias_h), .bx = cpu_f(bias_x),
                  .lengths = cpu_i(lengths), .ldy = ldy, .t = t};
    switch (cell) {
    case RECUR_STEP_LSTM: {
        float *p[] = {cpu_f(xg), cpu_f(c_prev), cpu_f(c), cpu_f(h_prev), cpu_f(h), cpu_f(y)};
        memcpy(a->p, p, sizeof p);
        return lstm_fwd_t;
    }
    case RECUR_STEP_GRU: {
        float *p[] = {cpu_f(xg), cpu_f(hg), cpu_f(h_prev), cpu_f(h), cpu_f(y)};
        memcpy(a->p, p, sizeof p);
        a->flag = 1; /* reset_after */
        return gru_fwd_t;
    }
    default: {
        float *p[] = {cpu_f(xg), cpu_f(h_prev), cpu_f(h), cpu_f(y)};
        memcpy(a->p, p, sizeof p);
        a->flag = cell == RECUR_STEP_RNN_RELU ? RECUR_ACT_RELU : RECUR_ACT_TANH;
        return rnn_fwd_t;
    }
    }
}

/* The step's GEMM terms and then its cell: fused by rows where the terms allow (cpu_sgemm_terms_rows: each
 * thread's rows of the gates go from its GEMM to its cell in its own cache, one parallel section per step),
 * else the GEMMs and then the cell task. */
static int step_run(cpu_dev *d, const char *op, size_t B, size_t GH, const cpu_gemm_term *terms, int nterms,
                    cpu_task_fn cell_fn, cell_a *a) {
    const double min_flops = d->split_small ? 0.0 : CPU_GEMM_MIN_FLOPS;
    int st = cpu_sgemm_terms_rows(d->pool, d->threads, min_flops, d->isa, B, GH, terms, nterms, cell_fn, a);
    if (st == CPU_GEMM_UNFUSED) {
        st = cpu_sgemm_terms(d->pool, d->threads, min_flops, d->isa, B, GH, terms, nterms);
        if (!st) run_cell(d, cell_fn, a);
    }
    return st ? cpu_error(RECUR_E_NOMEM, "cpu: %s: out of memory for the GEMM's packing buffers", op) : RECUR_OK;
}

/* ---- rnn_step: a whole forward step ----
 * The step's recurrent GEMM (this backend's SGEMM, as the gemm op runs it), then the forward cell task
 * above with rnn_step's biases: the SIMD row kernels add them as they load the pre-activations, so no pass
 * puts the biases into every step's gates up front (one over all of xg for LSTM and RNN; for GRU one over
 * xg and two over hg, filled with b_hh before its GEMM could accumulate). A small gain, measured on the
 * 2-core development VM against the separate ops (alternating runs, best of 7 samples each): train.seed001
 * faster in 9 of 16 rounds (median 1.50 vs 1.57 ms), infer.medium in 6 of 8 (40.2 vs 40.8 ms).
 *
 * A version that fused more — each thread computing the GEMM columns of its own hidden units and the cell
 * on them right away, one parallel section per step — was slower here (infer.medium lost 6 of 6 rounds by
 * ~8%, train.seed001 7 of 10): its short row pieces cost more in the cell kernels than the hand-off saved.
 * Tried again for the LSTM at 9cd4496+ (parts of 32 hidden units, stolen between cores: the part's four gate
 * panels through the few-rows GEMM, then the cell on those units of all 64 rows while in L1): infer.large
 * 4.5% slower (median of 8 alternating rounds, 6 slower). */
int cpu_rnn_step(void *dev, int cell, size_t B, size_t H, recur_ptr h_prev, recur_ptr w, size_t ldw, recur_ptr bias_x,
                 recur_ptr bias_h, recur_ptr xg, recur_ptr hg, recur_ptr c_prev, recur_ptr c, recur_ptr h, recur_ptr y,
                 size_t ldy, recur_ptr lengths, size_t t) {
    const size_t G = recur_k_step_gates(cell);
    if (!G) return cpu_error(RECUR_E_INVALID, "cpu: rnn_step: unknown cell %d (RECUR_STEP_*)", cell);
    const int gru = cell == RECUR_STEP_GRU;
    int st = cpu_ops.gemm(dev, 0, 0, B, G * H, H, 1.0f, h_prev, H, 0, w, ldw, 0, gru ? 0.0f : 1.0f, gru ? hg : xg,
                          G * H, 0, 1);
    if (st) return st;
    cell_a a;
    run_cell(dev, step_cell(dev, cell, B, H, h_prev, bias_x, bias_h, xg, hg, c_prev, c, h, y, ldy, lengths, t, &a), &a);
    return RECUR_OK;
}

/* The GEMM terms of a step with its input: x W_x into xg, then h_prev W added to it (LSTM, RNN: beta 1) or
 * into hg (GRU: beta 0). */
static void input_step_terms(int cell, size_t H, size_t in, const float *x, size_t ldx, const float *wx, size_t ldwx,
                             const float *h_prev, const float *w, size_t ldw, float *xg, float *hg,
                             cpu_gemm_term *terms) {
    const size_t GH = recur_k_step_gates(cell) * H;
    const int gru = cell == RECUR_STEP_GRU;
    terms[0] = (cpu_gemm_term){.K = in, .A = x, .lda = ldx, .B = wx, .ldb = ldwx, .beta = 0.0f, .C = xg, .ldc = GH};
    terms[1] = (cpu_gemm_term){.K = H, .A = h_prev, .lda = H, .B = w, .ldb = ldw, .beta = gru ? 0.0f : 1.0f,
                               .C = gru ? hg : xg, .ldc = GH};
}

/* ---- rnn_step_input: a whole forward step with its input projection ----
 * Both products of the step's gates, x W_x into xg and then h_prev W added to it (LSTM, RNN) or into hg
 * (GRU), as terms of one batch-reduce GEMM (cpu_sgemm_terms), and the cell, fused by rows (step_run).
 * The results are those of the gemm op followed by rnn_step, bit for bit. */
int cpu_rnn_step_input(void *dev, int cell, size_t B, size_t H, size_t in, recur_ptr x, size_t ldx, recur_ptr wx,
                       size_t ldwx, recur_ptr h_prev, recur_ptr w, size_t ldw, recur_ptr bias_x, recur_ptr bias_h,
                       recur_ptr xg, recur_ptr hg, recur_ptr c_prev, recur_ptr c, recur_ptr h, recur_ptr y, size_t ldy,
                       recur_ptr lengths, size_t t) {
    const size_t G = recur_k_step_gates(cell);
    if (!G) return cpu_error(RECUR_E_INVALID, "cpu: rnn_step_input: unknown cell %d (RECUR_STEP_*)", cell);
    cpu_gemm_term terms[2];
    input_step_terms(cell, H, in, cpu_f(x), ldx, cpu_f(wx), ldwx, cpu_f(h_prev), cpu_f(w), ldw, cpu_f(xg), cpu_f(hg),
                     terms);
    cell_a a;
    cpu_task_fn fn = step_cell(dev, cell, B, H, h_prev, bias_x, bias_h, xg, hg, c_prev, c, h, y, ldy, lengths, t, &a);
    return step_run(dev, "rnn_step_input", B, G * H, terms, 2, fn, &a);
}

/* ---- rnn_steps_input, rnn_steps, rnn_steps_bwd: every step of one direction, in one parallel section ----
 * A sample's rows depend only on its own rows of the earlier steps (of the later ones, backwards), so each
 * thread takes a slice of the samples (the row split of cpu_sgemm_terms_rows) through all T steps: per step
 * its rows of the GEMM terms and of the cell, then the next step, never waiting for the other threads. The
 * per-step join and hand-off are gone; what is left of the imbalance between cores is paid once per
 * sequence. Where the terms cannot be split by rows (larger weights, more rows than the few-rows block, no
 * input), the steps run one by one as the single-step ops. Results are those of the steps one by one, bit
 * for bit. */
typedef struct steps_a steps_a;
/* Step number `step` (0 .. T-1 in the op's own order) of samples [lo, hi), ws the thread's GEMM scratch. */
typedef void (*steps_fn)(const steps_a *a, size_t step, size_t lo, size_t hi, float *ws);
struct steps_a {
    cpu_dev *d;
    steps_fn step;
    int cell, reverse;
    size_t T, B, H, in, ldx, ldwx, ldw, ldy;
    recur_ptr x, wx, w, bias_x, bias_h, s, c, xg, hg, y, lengths;
    recur_ptr dy, dh, dc, dg, dhg;           /* rnn_steps_bwd */
    size_t first[CPU_PARTS_MAX_THREADS + 1]; /* thread i takes samples [first[i], first[i + 1]) */
    double ms[CPU_PARTS_MAX_THREADS];        /* and reports how long it took */
};

static recur_ptr at(recur_ptr p, size_t n) {
    if (p.buf) p.off += n;
    return p;
}

static size_t steps_gh(const steps_a *a) { return recur_k_step_gates(a->cell) * a->H; }

/* rnn_steps_input's GEMM terms at time t, reading state i: x_t W_x and h_i W into the work space. */
static void input_terms(const steps_a *a, size_t t, size_t i, cpu_gemm_term *terms) {
    input_step_terms(a->cell, a->H, a->in, cpu_f(at(a->x, t * a->B * a->ldx)), a->ldx, cpu_f(a->wx), a->ldwx,
                     cpu_f(at(a->s, i * a->B * a->H)), cpu_f(a->w), a->ldw, cpu_f(a->xg), cpu_f(a->hg), terms);
}

/* rnn_steps' term at time t: h_i W added to xg_t (LSTM, RNN) or into hg_t (GRU), as rnn_step's GEMM. */
static cpu_gemm_term fwd_term(const steps_a *a, size_t t, size_t i) {
    const size_t GH = steps_gh(a), slot = t * a->B * GH;
    const int gru = a->cell == RECUR_STEP_GRU;
    return (cpu_gemm_term){.K = a->H, .A = cpu_f(at(a->s, i * a->B * a->H)), .lda = a->H, .B = cpu_f(a->w),
                           .ldb = a->ldw, .beta = gru ? 0.0f : 1.0f,
                           .C = cpu_f(at(gru ? a->hg : a->xg, slot)), .ldc = GH};
}

/* rnn_steps_bwd's term at time t: dh += acc_t W_hh (acc = dhg for GRU, else dg). */
static cpu_gemm_term bwd_term(const steps_a *a, size_t t) {
    const size_t GH = steps_gh(a);
    recur_ptr acc = a->cell == RECUR_STEP_GRU ? a->dhg : a->dg;
    return (cpu_gemm_term){.K = GH, .A = cpu_f(at(acc, t * a->B * GH)), .lda = GH, .B = cpu_f(a->w), .ldb = a->ldw,
                           .beta = 1.0f, .C = cpu_f(a->dh), .ldc = a->H};
}

/* The forward cell on rows [lo, hi) of time t alone (gates in xg_s, hg_s): every pointer moved to row lo, as
 * one slice. */
static void fwd_cell_rows(const steps_a *a, size_t t, size_t i, size_t o, recur_ptr xg_s, recur_ptr hg_s, size_t lo,
                          size_t hi) {
    const size_t GH = steps_gh(a), BH = a->B * a->H, H = a->H;
    cell_a ca;
    cpu_task_fn fn = step_cell(a->d, a->cell, hi - lo, H, at(a->s, i * BH + lo * H), a->bias_x, a->bias_h,
                               at(xg_s, lo * GH), at(hg_s, lo * GH), at(a->c, i * BH + lo * H),
                               at(a->c, o * BH + lo * H), at(a->s, o * BH + lo * H), at(a->y, (t * a->B + lo) * a->ldy),
                               a->ldy, at(a->lengths, lo), t, &ca);
    fn(&ca, 0, 1);
}

static void input_step(const steps_a *a, size_t step, size_t lo, size_t hi, float *ws) {
    size_t t, i, o;
    recur_k_step_slots(a->T, a->reverse, step, &t, &i, &o);
    cpu_gemm_term terms[2];
    input_terms(a, t, i, terms);
    cpu_sgemm_terms_rows_run(a->d->isa, a->B, steps_gh(a), terms, 2, lo, hi, ws);
    fwd_cell_rows(a, t, i, o, a->xg, a->hg, lo, hi);
}

static void fwd_step(const steps_a *a, size_t step, size_t lo, size_t hi, float *ws) {
    size_t t, i, o;
    recur_k_step_slots(a->T, a->reverse, step, &t, &i, &o);
    const size_t slot = t * a->B * steps_gh(a);
    const cpu_gemm_term term = fwd_term(a, t, i);
    cpu_sgemm_terms_rows_run(a->d->isa, a->B, steps_gh(a), &term, 1, lo, hi, ws);
    fwd_cell_rows(a, t, i, o, at(a->xg, slot), at(a->hg, slot), lo, hi);
}

/* The backward cell task of time t on n rows from row lo, its arguments in *ca (as cpu_lstm_bwd, cpu_gru_bwd
 * and cpu_rnn_bwd build them, every pointer moved to row lo). */
static cpu_task_fn bwd_cell(const steps_a *a, size_t t, size_t i, size_t o, size_t lo, size_t n, cell_a *ca) {
    const size_t GH = steps_gh(a), H = a->H, BH = a->B * H, g = (t * a->B + lo) * GH;
    *ca = (cell_a){.k = cpu_simd_for(a->d->isa), .B = n, .H = H, .lengths = cpu_i(at(a->lengths, lo)),
                   .ldy = a->ldy, .t = t};
    float *dy = cpu_f(at(a->dy, (t * a->B + lo) * a->ldy)), *dh = cpu_f(at(a->dh, lo * H));
    switch (a->cell) {
    case RECUR_STEP_LSTM: {
        float *p[] = {cpu_f(at(a->xg, g)), cpu_f(at(a->c, i * BH + lo * H)), cpu_f(at(a->c, o * BH + lo * H)), dy, dh,
                      cpu_f(at(a->dc, lo * H)), cpu_f(at(a->dg, g))};
        memcpy(ca->p, p, sizeof p);
        return lstm_bwd_t;
    }
    case RECUR_STEP_GRU: {
        float *p[] = {cpu_f(at(a->xg, g)), cpu_f(at(a->hg, g)), cpu_f(at(a->s, i * BH + lo * H)), dy, dh,
                      cpu_f(at(a->dg, g)), cpu_f(at(a->dhg, g))};
        memcpy(ca->p, p, sizeof p);
        ca->flag = 1; /* reset_after */
        return gru_bwd_t;
    }
    default: {
        float *p[] = {cpu_f(at(a->s, o * BH + lo * H)), dy, dh, cpu_f(at(a->dg, g))};
        memcpy(ca->p, p, sizeof p);
        ca->flag = a->cell == RECUR_STEP_RNN_RELU ? RECUR_ACT_RELU : RECUR_ACT_TANH;
        return rnn_bwd_t;
    }
    }
}

/* Backward step number k runs time step T-1-k of the forward's order: the cell's backward, then the term. */
static void bwd_step(const steps_a *a, size_t k, size_t lo, size_t hi, float *ws) {
    size_t t, i, o;
    recur_k_step_slots(a->T, a->reverse, a->T - 1 - k, &t, &i, &o);
    cell_a ca;
    bwd_cell(a, t, i, o, lo, hi - lo, &ca)(&ca, 0, 1);
    const cpu_gemm_term term = bwd_term(a, t);
    cpu_sgemm_terms_rows_run(a->d->isa, a->B, a->H, &term, 1, lo, hi, ws);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static void steps_t(void *arg, int ith, int nth) {
    steps_a *a = arg;
    const double t0 = now_ms();
    const size_t lo = a->first[ith], hi = a->first[ith + 1];
    float *ws = cpu_pool_scratch(a->d->pool, ith);
    (void)nth;
    for (size_t step = 0; step < a->T && lo < hi; step++) a->step(a, step, lo, hi, ws);
    a->ms[ith] = now_ms() - t0;
}

/* The samples each of nt threads takes, in proportion to its measured speed (d->steps_speed: samples per
 * ms, from earlier calls; equal shares at first). The two cores of a shared VM often run at different
 * speeds for seconds at a time (3-8% apart within one process, measured), and a thread has no other to
 * hand its surplus to within a sequence, so the split follows them. Which thread computes a sample never
 * changes its numbers, so results do not depend on this. */
static void steps_split(cpu_dev *d, steps_a *a, int nt) {
    if (d->steps_nt != nt) {
        for (int i = 0; i < nt; i++) d->steps_speed[i] = 1.0;
        d->steps_nt = nt;
    }
    double total = 0.0, acc = 0.0;
    for (int i = 0; i < nt; i++) total += d->steps_speed[i];
    a->first[0] = 0;
    for (int i = 0; i < nt; i++) {
        acc += d->steps_speed[i];
        size_t end = i + 1 == nt ? a->B : (size_t)((double)a->B * acc / total + 0.5);
        if (end < a->first[i] + 1) end = a->first[i] + 1; /* at least one sample each (nt <= B) */
        if (end + (size_t)(nt - 1 - i) > a->B) end = a->B - (size_t)(nt - 1 - i);
        a->first[i + 1] = end;
    }
}

/* Fold this call's timings into the speeds (an average over the last few calls). */
static void steps_learn(cpu_dev *d, const steps_a *a, int nt) {
    for (int i = 0; i < nt; i++) {
        const double n = (double)(a->first[i + 1] - a->first[i]);
        if (a->ms[i] > 0.0 && n > 0.0) d->steps_speed[i] = 0.7 * d->steps_speed[i] + 0.3 * (n / a->ms[i]);
    }
}

/* Every step of *a in one parallel section over samples, when its GEMM terms (those of the first step, over
 * N columns) can be split by rows; else CPU_GEMM_UNFUSED, having done nothing. */
static int steps_run(steps_a *a, const char *op, size_t N, const cpu_gemm_term *terms, int nterms) {
    cpu_dev *d = a->d;
    size_t scratch = 0;
    const int nt = a->T ? cpu_sgemm_terms_rows_plan(d->threads, d->split_small ? 0.0 : CPU_GEMM_MIN_FLOPS, d->isa, a->B,
                                                    N, terms, nterms, &scratch)
                        : 0;
    if (nt == 0) return CPU_GEMM_UNFUSED;
    cpu_pool_lock(d->pool);
    if (cpu_pool_reserve(d->pool, scratch * sizeof(float))) {
        cpu_pool_unlock(d->pool);
        return cpu_error(RECUR_E_NOMEM, "cpu: %s: out of memory for the GEMM's packing buffers", op);
    }
    steps_split(d, a, nt);
    cpu_pool_run_locked(d->pool, steps_t, a, nt);
    steps_learn(d, a, nt);
    cpu_pool_unlock(d->pool);
    return RECUR_OK;
}

int cpu_rnn_steps_input(void *dev, int cell, size_t T, size_t B, size_t H, size_t in, int reverse, recur_ptr x,
                        size_t ldx, recur_ptr wx, size_t ldwx, recur_ptr w, size_t ldw, recur_ptr bias_x,
                        recur_ptr bias_h, recur_ptr s, recur_ptr c, recur_ptr xg, recur_ptr hg, recur_ptr y, size_t ldy,
                        recur_ptr lengths) {
    const size_t G = recur_k_step_gates(cell);
    if (!G) return cpu_error(RECUR_E_INVALID, "cpu: rnn_steps_input: unknown cell %d (RECUR_STEP_*)", cell);
    steps_a a = {.d = dev, .step = input_step, .cell = cell, .reverse = reverse, .T = T, .B = B, .H = H, .in = in,
                 .ldx = ldx, .ldwx = ldwx, .ldw = ldw, .ldy = ldy, .x = x, .wx = wx, .w = w, .bias_x = bias_x,
                 .bias_h = bias_h, .s = s, .c = c, .xg = xg, .hg = hg, .y = y, .lengths = lengths};
    cpu_gemm_term terms[2];
    input_terms(&a, 0, 0, terms); /* the shapes, for the plan */
    int st = steps_run(&a, "rnn_steps_input", G * H, terms, 2);
    for (size_t step = 0; st == CPU_GEMM_UNFUSED && step < T; step++) { /* step by step */
        size_t t, i, o;
        recur_k_step_slots(T, reverse, step, &t, &i, &o);
        int e = cpu_rnn_step_input(dev, cell, B, H, in, at(x, t * B * ldx), ldx, wx, ldwx, at(s, i * B * H), w, ldw,
                                   bias_x, bias_h, xg, hg, at(c, i * B * H), at(c, o * B * H), at(s, o * B * H),
                                   at(y, t * B * ldy), ldy, lengths, t);
        if (e) return e;
    }
    return st == CPU_GEMM_UNFUSED ? RECUR_OK : st;
}

int cpu_rnn_steps(void *dev, int cell, size_t T, size_t B, size_t H, int reverse, recur_ptr w, size_t ldw,
                  recur_ptr bias_x, recur_ptr bias_h, recur_ptr s, recur_ptr c, recur_ptr xg, recur_ptr hg, recur_ptr y,
                  size_t ldy, recur_ptr lengths) {
    const size_t G = recur_k_step_gates(cell), GH = G * H;
    if (!G) return cpu_error(RECUR_E_INVALID, "cpu: rnn_steps: unknown cell %d (RECUR_STEP_*)", cell);
    steps_a a = {.d = dev, .step = fwd_step, .cell = cell, .reverse = reverse, .T = T, .B = B, .H = H, .ldw = ldw,
                 .ldy = ldy, .w = w, .bias_x = bias_x, .bias_h = bias_h, .s = s, .c = c, .xg = xg, .hg = hg, .y = y,
                 .lengths = lengths};
    const cpu_gemm_term term = fwd_term(&a, 0, 0);
    int st = steps_run(&a, "rnn_steps", GH, &term, 1);
    for (size_t step = 0; st == CPU_GEMM_UNFUSED && step < T; step++) {
        size_t t, i, o;
        recur_k_step_slots(T, reverse, step, &t, &i, &o);
        int e = cpu_rnn_step(dev, cell, B, H, at(s, i * B * H), w, ldw, bias_x, bias_h, at(xg, t * B * GH),
                             at(hg, t * B * GH), at(c, i * B * H), at(c, o * B * H), at(s, o * B * H),
                             at(y, t * B * ldy), ldy, lengths, t);
        if (e) return e;
    }
    return st == CPU_GEMM_UNFUSED ? RECUR_OK : st;
}

int cpu_rnn_steps_bwd(void *dev, int cell, size_t T, size_t B, size_t H, int reverse, recur_ptr w, size_t ldw,
                      recur_ptr s, recur_ptr c, recur_ptr xg, recur_ptr hg, recur_ptr dy, size_t ldy, recur_ptr dh,
                      recur_ptr dc, recur_ptr dg, recur_ptr dhg, recur_ptr lengths) {
    const size_t G = recur_k_step_gates(cell), GH = G * H;
    if (!G) return cpu_error(RECUR_E_INVALID, "cpu: rnn_steps_bwd: unknown cell %d (RECUR_STEP_*)", cell);
    steps_a a = {.d = dev, .step = bwd_step, .cell = cell, .reverse = reverse, .T = T, .B = B, .H = H, .ldw = ldw,
                 .ldy = ldy, .w = w, .s = s, .c = c, .xg = xg, .hg = hg, .lengths = lengths, .dy = dy, .dh = dh,
                 .dc = dc, .dg = dg, .dhg = dhg};
    const cpu_gemm_term term = bwd_term(&a, 0);
    int st = steps_run(&a, "rnn_steps_bwd", H, &term, 1);
    for (size_t k = 0; st == CPU_GEMM_UNFUSED && k < T; k++) {
        size_t t, i, o;
        recur_k_step_slots(T, reverse, T - 1 - k, &t, &i, &o);
        cell_a ca;
        cpu_task_fn fn = bwd_cell(&a, t, i, o, 0, B, &ca);
        run_cell(dev, fn, &ca);
        int e = cpu_ops.gemm(dev, 0, 0, B, H, GH, 1.0f, cell == RECUR_STEP_GRU ? at(dhg, t * B * GH) : at(dg, t * B * GH),
                             GH, 0, w, ldw, 0, 1.0f, dh, H, 0, 1);
        if (e) return e;
    }
    return st == CPU_GEMM_UNFUSED ? RECUR_OK : st;
}
