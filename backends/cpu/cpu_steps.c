/*
 * The cpu backend's whole-sequence recurrent ops: rnn_steps_input (inference, with each step's input
 * projection), rnn_steps (the training forward) and rnn_steps_bwd (its backward recurrence), all steps of one
 * direction of a layer in one call.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "cpu_cells.h"
#include "ref_kernels.h"

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
    const float *wp[CPU_GEMM_TERMS_MAX];     /* the terms' B packed for the whole sequence (pack_weights) */
    float *rec; /* rnn_steps, LSTM: the step's product h W held apart (B x 4H, d->step_acc; see fwd_term) */
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
    cpu_input_step_terms(a->cell, a->H, a->in, cpu_f(at(a->x, t * a->B * a->ldx)), a->ldx, cpu_f(a->wx), a->ldwx,
                         cpu_f(at(a->s, i * a->B * a->H)), cpu_f(a->w), a->ldw, cpu_f(a->xg), cpu_f(a->hg), terms);
    terms[0].Bp = a->wp[0];
    terms[1].Bp = a->wp[1];
}

/* rnn_steps' term at time t: h_i W added to xg_t (LSTM, RNN) or into hg_t (GRU), as rnn_step's GEMM; or, for
 * an LSTM that holds it apart (a->rec), into the scratch with beta 0, for the cell to add to xg_t as
 * rnn_step does (cpu_cells.c, lstm_step_apart: the same sum, rounded once, so the same bits). The scratch
 * rows a thread writes are its own samples', the same memory at every step, in that core's cache; the GEMM no
 * longer waits for xg_t's slot (256 KiB at B = 64, H = 256, written by the input projection long before) to
 * come in from memory, which the cell now streams in once. */
static cpu_gemm_term fwd_term(const steps_a *a, size_t t, size_t i) {
    const size_t GH = steps_gh(a), slot = t * a->B * GH;
    const int gru = a->cell == RECUR_STEP_GRU;
    float *C = a->rec ? a->rec : cpu_f(at(gru ? a->hg : a->xg, slot));
    return (cpu_gemm_term){.K = a->H, .A = cpu_f(at(a->s, i * a->B * a->H)), .lda = a->H, .B = cpu_f(a->w),
                           .Bp = a->wp[0], .ldb = a->ldw, .beta = gru || a->rec ? 0.0f : 1.0f, .C = C, .ldc = GH};
}

/* rnn_steps_bwd's term at time t: dh += acc_t W_hh (acc = dhg for GRU, else dg). */
static cpu_gemm_term bwd_term(const steps_a *a, size_t t) {
    const size_t GH = steps_gh(a);
    recur_ptr acc = a->cell == RECUR_STEP_GRU ? a->dhg : a->dg;
    return (cpu_gemm_term){.K = GH, .A = cpu_f(at(acc, t * a->B * GH)), .lda = GH, .B = cpu_f(a->w), .Bp = a->wp[0],
                           .ldb = a->ldw, .beta = 1.0f, .C = cpu_f(a->dh), .ldc = a->H};
}

/* The forward cell on rows [lo, hi) of time t alone (gates in xg_s, hg_s): every pointer moved to row lo, as
 * one slice. */
static void fwd_cell_rows(const steps_a *a, size_t t, size_t i, size_t o, recur_ptr xg_s, recur_ptr hg_s, size_t lo,
                          size_t hi) {
    const size_t GH = steps_gh(a), BH = a->B * a->H, H = a->H;
    cell_a ca;
    cpu_task_fn fn = cpu_step_cell(a->d, a->cell, hi - lo, H, at(a->s, i * BH + lo * H), a->bias_x, a->bias_h,
                                   at(xg_s, lo * GH), at(hg_s, lo * GH), at(a->c, i * BH + lo * H),
                                   at(a->c, o * BH + lo * H), at(a->s, o * BH + lo * H),
                                   at(a->y, (t * a->B + lo) * a->ldy), a->ldy, at(a->lengths, lo), t, &ca);
    ca.rec = a->rec ? a->rec + lo * GH : NULL;
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
        return cpu_lstm_bwd_task;
    }
    case RECUR_STEP_GRU: {
        float *p[] = {cpu_f(at(a->xg, g)), cpu_f(at(a->hg, g)), cpu_f(at(a->s, i * BH + lo * H)), dy, dh,
                      cpu_f(at(a->dg, g)), cpu_f(at(a->dhg, g))};
        memcpy(ca->p, p, sizeof p);
        ca->flag = 1; /* reset_after */
        return cpu_gru_bwd_task;
    }
    default: {
        float *p[] = {cpu_f(at(a->s, o * BH + lo * H)), dy, dh, cpu_f(at(a->dg, g))};
        memcpy(ca->p, p, sizeof p);
        ca->flag = a->cell == RECUR_STEP_RNN_RELU ? RECUR_ACT_RELU : RECUR_ACT_TANH;
        return cpu_rnn_bwd_task;
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

/* ---- the weights, packed once per call ----
 * Each step's GEMM reads every column panel of the weights (NR columns, K rows). In place that is one row
 * of NR floats every ldb, 4 KiB apart at H = 256, a new page at every row; packed (cpu_sgemm_pack_b) it is
 * one stream the prefetchers follow. Packing costs one pass over the weights per call, and the panels are
 * read T times. The micro-kernel's arithmetic is the same either way, so the results are too, bit for bit.
 * Measured on the 2-core VM (alternating runs): infer.medium on 2 threads 1.5% faster (median of 10
 * rounds, 7 faster), 1 thread even; train.medium and train.seed001 even. The two cores stream their
 * weights at the same time there, and the strided reads suffered more from that than the packed ones (a
 * lone kernel test, M = 32: 174-217 GFLOP/s in place, 204-226 packed, with the other core doing the same).
 * infer.large's step-by-step path (4 MiB of W_hh^T, cpu_rnn_step) measured even to 1% slower packed and
 * reads its weights in place. */
typedef struct pack_a {
    int isa, n;
    size_t N;
    cpu_gemm_term t[CPU_GEMM_TERMS_MAX];
    float *dst[CPU_GEMM_TERMS_MAX];
} pack_a;

/* Thread ith's share of every term's column panels. */
static void pack_t(void *arg, int ith, int nth) {
    const pack_a *p = arg;
    const size_t NR = (size_t)cpu_sgemm_nr(p->isa);
    size_t p0, p1;
    recur_k_slice((p->N + NR - 1) / NR, ith, nth, &p0, &p1);
    const size_t n0 = p0 * NR, n1 = p1 * NR < p->N ? p1 * NR : p->N;
    for (int i = 0; i < p->n && n0 < n1; i++)
        cpu_sgemm_pack_b(p->isa, p->t[i].K, p->N, p->t[i].B, p->t[i].ldb, p->dst[i], n0, n1);
}

/* Pack the B of each term (over N columns) into d->packed on up to nt threads, wp[i] pointing at term i's;
 * 0 or ENOMEM. Call with d->seq_mu held. */
static int pack_weights(cpu_dev *d, size_t N, const cpu_gemm_term *terms, int nterms, int nt, const float **wp) {
    pack_a p = {.isa = d->isa, .n = nterms, .N = N};
    size_t total = 0, size[CPU_GEMM_TERMS_MAX];
    for (int i = 0; i < nterms; i++) {
        size[i] = (cpu_sgemm_packed_b_floats(d->isa, terms[i].K, N) + 15) / 16 * 16; /* 64-byte multiples */
        total += size[i];
    }
    if (cpu_grow(&d->packed, &d->packed_len, total)) return ENOMEM;
    float *dst = d->packed;
    for (int i = 0; i < nterms; i++) {
        p.t[i] = terms[i];
        p.dst[i] = dst;
        wp[i] = dst;
        dst += size[i];
    }
    cpu_pool_run(d->pool, pack_t, &p, nt);
    return 0;
}

/* Every step of *a in one parallel section over samples, when its GEMM terms (those of the first step, over
 * N columns) can be split by rows; else CPU_GEMM_UNFUSED, having done nothing. rec_floats > 0: a->rec is
 * d->step_acc grown to that size. */
static int steps_run(steps_a *a, const char *op, size_t N, const cpu_gemm_term *terms, int nterms,
                     size_t rec_floats) {
    cpu_dev *d = a->d;
    size_t scratch = 0;
    const int nt =
        a->T ? cpu_sgemm_terms_rows_plan(d->threads, cpu_gemm_min_flops(d), d->isa, a->B, N, terms, nterms, &scratch) : 0;
    if (nt == 0) return CPU_GEMM_UNFUSED;
    pthread_mutex_lock(&d->seq_mu);
    int st = RECUR_OK;
    if (pack_weights(d, N, terms, nterms, nt, a->wp)) {
        st = cpu_error(RECUR_E_NOMEM, "cpu: %s: out of memory for the packed weights", op);
    } else if (rec_floats && cpu_grow(&d->step_acc, &d->step_len, rec_floats)) {
        st = cpu_error(RECUR_E_NOMEM, "cpu: %s: out of memory for the step's scratch (%zu floats)", op, rec_floats);
    } else {
        a->rec = rec_floats ? d->step_acc : NULL;
        cpu_pool_lock(d->pool);
        if (cpu_pool_reserve(d->pool, scratch * sizeof(float))) {
            st = cpu_error(RECUR_E_NOMEM, "cpu: %s: out of memory for the GEMM's packing buffers", op);
        } else {
            steps_split(d, a, nt);
            cpu_pool_run_locked(d->pool, steps_t, a, nt);
            steps_learn(d, a, nt);
        }
        cpu_pool_unlock(d->pool);
    }
    pthread_mutex_unlock(&d->seq_mu);
    return st;
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
    int st = steps_run(&a, "rnn_steps_input", G * H, terms, 2, 0);
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
    int st = steps_run(&a, "rnn_steps", GH, &term, 1, cpu_lstm_apart_ok(dev, cell, B, H) ? B * GH : 0);
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
    cpu_dev *d = dev;
    const size_t G = recur_k_step_gates(cell), GH = G * H;
    if (!G) return cpu_error(RECUR_E_INVALID, "cpu: rnn_steps_bwd: unknown cell %d (RECUR_STEP_*)", cell);
    steps_a a = {.d = dev, .step = bwd_step, .cell = cell, .reverse = reverse, .T = T, .B = B, .H = H, .ldw = ldw,
                 .ldy = ldy, .w = w, .s = s, .c = c, .xg = xg, .hg = hg, .lengths = lengths, .dy = dy, .dh = dh,
                 .dc = dc, .dg = dg, .dhg = dhg};
    const cpu_gemm_term term = bwd_term(&a, 0);
    int st = steps_run(&a, "rnn_steps_bwd", H, &term, 1, 0);
    for (size_t k = 0; st == CPU_GEMM_UNFUSED && k < T; k++) {
        size_t t, i, o;
        recur_k_step_slots(T, reverse, T - 1 - k, &t, &i, &o);
        cell_a ca;
        cpu_task_fn fn = bwd_cell(&a, t, i, o, 0, B, &ca);
        cpu_run_cell(d, fn, &ca);
        const cpu_gemm_term tm = bwd_term(&a, t);
        if (cpu_sgemm(d->pool, d->threads, cpu_gemm_min_flops(d), d->isa, 0, 0, B, H, GH, 1.0f, tm.A, tm.lda, 0, tm.B,
                      tm.ldb, 0, tm.beta, tm.C, tm.ldc, 0, 1))
            return cpu_error(RECUR_E_NOMEM, "cpu: rnn_steps_bwd: out of memory for the GEMM's packing buffers");
    }
    return st == CPU_GEMM_UNFUSED ? RECUR_OK : st;
}
