/*
 * Recurrent cell ops of the cpu backend, split over samples (rows b) on the pool. A valid row runs the
 * SIMD row kernel of cpu_simd.h when the device's ISA has one; invalid rows (and every row on the generic
 * ISA) run the ref kernel on that one row (B = 1, lengths advanced to the row), so the held-state rules
 * live in one place, backends/ref/ref_cells.c. Either way each row is computed by one thread with the same
 * code whatever the thread count. The forward tasks also serve rnn_step and rnn_step_input (at the end of
 * this file), whose biases the row kernels add as they load the pre-activations, and the whole-sequence ops
 * of cpu_steps.c.
 */
#include <pthread.h>
#include <string.h>

#include "cpu_cells.h"
#include "ref_kernels.h"

void cpu_run_cell(cpu_dev *d, cpu_task_fn fn, cell_a *a) {
    cpu_run_parts(d, fn, a, a->B * a->H, CPU_MIN_CELL, a->B);
}


/* rnn_step's biases on rows [lo, hi), where no row kernel takes them (invalid rows, the ref kernels' paths):
 * bh into acc (hg for GRU, else the gates themselves), then bx into the gates, as its add_bias ops would.
 * First the recurrent product where the step held it apart (a->rec): rec + gates, the one rounding the
 * GEMM's beta 1 would have done. */
static void add_step_biases(const cell_a *a, size_t lo, size_t hi, float *gates, float *acc, size_t w) {
    if (a->rec)
        for (size_t i = lo * w; i < hi * w; i++) gates[i] = a->rec[i] + gates[i];
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
            a->k->lstm_fwd_row(H, g + b * 4 * H, ROW(a->rec, b, 4 * H), a->bh, a->bx, cp + b * H, c + b * H, h + b * H,
                               ROW(y, b, a->ldy));
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
    cpu_run_cell(d, lstm_fwd_t, &a);
    return RECUR_OK;
}

void cpu_lstm_bwd_task(void *arg, int ith, int nth) {
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
    cpu_run_cell(d, cpu_lstm_bwd_task, &a);
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
    cpu_run_cell(d, gru_fwd_t, &a);
    return RECUR_OK;
}

void cpu_gru_bwd_task(void *arg, int ith, int nth) {
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
    cpu_run_cell(d, cpu_gru_bwd_task, &a);
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
    cpu_run_cell(d, gru_reset_t, &a);
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
    cpu_run_cell(dev, gru_reset_bwd_t, &a);
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
    cpu_run_cell(d, rnn_fwd_t, &a);
    return RECUR_OK;
}

void cpu_rnn_bwd_task(void *arg, int ith, int nth) {
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
    cpu_run_cell(d, cpu_rnn_bwd_task, &a);
    return RECUR_OK;
}

/* The cell part of a step, after its GEMM(s): the forward cell task with the biases, its arguments in *a. */
cpu_task_fn cpu_step_cell(cpu_dev *d, int cell, size_t B, size_t H, recur_ptr h_prev, recur_ptr bias_x,
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
    const double min_flops = cpu_gemm_min_flops(d);
    int st = cpu_sgemm_terms_rows(d->pool, d->threads, min_flops, d->isa, B, GH, terms, nterms, cell_fn, a);
    if (st == CPU_GEMM_UNFUSED) {
        st = cpu_sgemm_terms(d->pool, d->threads, min_flops, d->isa, B, GH, terms, nterms);
        if (!st) cpu_run_cell(d, cell_fn, a);
    }
    return st ? cpu_error(RECUR_E_NOMEM, "cpu: %s: out of memory for the GEMM's packing buffers", op) : RECUR_OK;
}

/* The LSTM step with its recurrent product held apart: h_prev W (B x 4H) into the device's step scratch with
 * beta 0, then the cell, which adds it to the step's xg as it loads the pre-activations (rec + xg, then the
 * biases). With K = H in one GEMM block (cpu_sgemm_one_block) the GEMM's beta 1 would have rounded that same
 * sum once, so the results are those of gemm + lstm_fwd bit for bit. Why: the scratch is the same memory at
 * every step and stays in cache, where each step's slot of xg (fresh, 512 KiB at B = 64, H = 512) had to
 * come in from memory for the GEMM to add to and then cross to the other core for its rows of the cell; the
 * cell now reads xg once, row by row, as the prefetcher likes. */
int cpu_lstm_apart_ok(const cpu_dev *d, int cell, size_t B, size_t H) {
    return cell == RECUR_STEP_LSTM && B > 0 && H > 0 && cpu_sgemm_one_block(d->isa, H);
}

/* Call with d->seq_mu held (it guards d->step_acc). */
static int lstm_step_apart(cpu_dev *d, size_t B, size_t H, recur_ptr h_prev, recur_ptr w, size_t ldw,
                           recur_ptr bias_x, recur_ptr bias_h, recur_ptr xg, recur_ptr c_prev, recur_ptr c,
                           recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    const size_t GH = 4 * H;
    if (cpu_grow(&d->step_acc, &d->step_len, B * GH))
        return cpu_error(RECUR_E_NOMEM, "cpu: rnn_step: out of memory for the step's scratch (%zu x %zu)", B, GH);
    if (cpu_sgemm(d->pool, d->threads, cpu_gemm_min_flops(d), d->isa, 0, 0, B, GH, H, 1.0f, cpu_f(h_prev), H, 0,
                  cpu_f(w), ldw, 0, 0.0f, d->step_acc, GH, 0, 1))
        return cpu_error(RECUR_E_NOMEM, "cpu: rnn_step: out of memory for the GEMM's packing buffers");
    cell_a a;
    cpu_task_fn fn = cpu_step_cell(d, RECUR_STEP_LSTM, B, H, h_prev, bias_x, bias_h, xg, (recur_ptr){0}, c_prev, c, h, y,
                                   ldy, lengths, t, &a);
    a.rec = d->step_acc;
    cpu_run_cell(d, fn, &a);
    return RECUR_OK;
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
    cpu_dev *d = dev;
    const size_t G = recur_k_step_gates(cell);
    if (!G) return cpu_error(RECUR_E_INVALID, "cpu: rnn_step: unknown cell %d (RECUR_STEP_*)", cell);
    if (cpu_lstm_apart_ok(d, cell, B, H)) {
        pthread_mutex_lock(&d->seq_mu);
        const int st = lstm_step_apart(d, B, H, h_prev, w, ldw, bias_x, bias_h, xg, c_prev, c, h, y, ldy, lengths, t);
        pthread_mutex_unlock(&d->seq_mu);
        return st;
    }
    const int gru = cell == RECUR_STEP_GRU;
    int st = cpu_ops.gemm(dev, 0, 0, B, G * H, H, 1.0f, h_prev, H, 0, w, ldw, 0, gru ? 0.0f : 1.0f, gru ? hg : xg,
                          G * H, 0, 1);
    if (st) return st;
    cell_a a;
    cpu_task_fn fn = cpu_step_cell(dev, cell, B, H, h_prev, bias_x, bias_h, xg, hg, c_prev, c, h, y, ldy, lengths, t, &a);
    cpu_run_cell(dev, fn, &a);
    return RECUR_OK;
}

/* The GEMM terms of a step with its input: x W_x into xg, then h_prev W added to it (LSTM, RNN: beta 1) or
 * into hg (GRU: beta 0). */
void cpu_input_step_terms(int cell, size_t H, size_t in, const float *x, size_t ldx, const float *wx, size_t ldwx,
                          const float *h_prev, const float *w, size_t ldw, float *xg, float *hg, cpu_gemm_term *terms) {
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
    cpu_input_step_terms(cell, H, in, cpu_f(x), ldx, cpu_f(wx), ldwx, cpu_f(h_prev), cpu_f(w), ldw, cpu_f(xg),
                         cpu_f(hg), terms);
    cell_a a;
    cpu_task_fn fn = cpu_step_cell(dev, cell, B, H, h_prev, bias_x, bias_h, xg, hg, c_prev, c, h, y, ldy, lengths, t, &a);
    return step_run(dev, "rnn_step_input", B, G * H, terms, 2, fn, &a);
}
