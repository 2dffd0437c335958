/*
 * recur-bench-sgemm: the cpu backend's SGEMM (cpu_sgemm) against OpenBLAS's cblas_sgemm at the shapes an
 * LSTM's training step runs, in one process, on the same buffers, interleaved round after round (so that a
 * noisy moment of a shared machine hits both), best of the rounds for each. Prints GFLOP/s and the ratio.
 *
 *   recur-bench-sgemm [THREADS [ROUNDS]]      THREADS: both libraries' thread count (default 2), ROUNDS 7
 *   RECUR_CPU_ISA=avx2 OPENBLAS_CORETYPE=Haswell recur-bench-sgemm    both on their AVX2 kernels
 *
 * Between the two sides each round waits SETTLE_MS, so that the other library's threads have stopped
 * spinning: OpenBLAS's keep a core busy for about 2^28 cycles (its THREAD_TIMEOUT, ~70 ms here) after each
 * call, and a recur batch started in that window ran on one and a half cores (the "large step" shape at
 * 0.46-0.55 of OpenBLAS in 2 of 3 runs, 1.38 in the third); the pool's own workers spin 200 us. Each side's
 * batch then starts with an untimed call that wakes its threads.
 *
 * Shapes (B = 64, T = 100): medium H = I = 256, large H = I = 512, 4H gate columns. "step NN" is the
 * recurrent step as the RNN forward runs it (W_hh^T stored, see docs/ops.md `transpose`); "step NT" reads
 * W_hh transposed, as a backend without that op does.
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_common.h"
#include "cpu_gemm.h"

typedef struct shape {
    const char *name;
    int ta, tb;
    size_t M, N, K;
} shape;

static const shape SHAPES[] = {
    {"medium xproj NT", 0, 1, 6400, 1024, 256}, {"medium step NT", 0, 1, 64, 1024, 256},
    {"medium step NN", 0, 0, 64, 1024, 256},    {"medium step_bwd NN", 0, 0, 64, 256, 1024},
    {"medium dw TN", 1, 0, 1024, 256, 6400},    {"medium dx NN", 0, 0, 6400, 256, 1024},
    {"large xproj NT", 0, 1, 6400, 2048, 512},  {"large step NN", 0, 0, 64, 2048, 512},
    {"large dw TN", 1, 0, 2048, 512, 6400},     {"large dx NN", 0, 0, 6400, 512, 2048},
};

#define SETTLE_MS 100

static void settle(void) {
    const struct timespec ts = {0, SETTLE_MS * 1000000L};
    nanosleep(&ts, NULL);
}

static float *filled(size_t n) {
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "recur-bench-sgemm: out of memory (%zu floats)\n", n);
        exit(1);
    }
    for (size_t i = 0; i < n; i++) p[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    return p;
}

/* One product at one shape, as both libraries are asked to compute it. */
typedef struct problem {
    const shape *h;
    const float *A, *B;
    float *C;
    size_t lda, ldb;
    cpu_pool *pool;
    int threads, isa;
} problem;

static int call_recur(const problem *q) {
    const shape *h = q->h;
    return cpu_sgemm(q->pool, q->threads, CPU_GEMM_MIN_FLOPS, q->isa, h->ta, h->tb, h->M, h->N, h->K, 1.0f, q->A,
                     q->lda, 0, q->B, q->ldb, 0, 0.0f, q->C, h->N, 0, 1);
}

static int call_openblas(const problem *q) {
    const shape *h = q->h;
    cblas_sgemm(CblasRowMajor, h->ta ? CblasTrans : CblasNoTrans, h->tb ? CblasTrans : CblasNoTrans, (int)h->M,
                (int)h->N, (int)h->K, 1.0f, q->A, (int)q->lda, q->B, (int)q->ldb, 0.0f, q->C, (int)h->N);
    return 0;
}

/* One side's batch: settle, one untimed call that wakes its threads (and, for recur, reserves its buffers:
 * the only call whose failure is possible), then ms per call over `reps` calls; negative on failure. */
static double batch_ms(int (*call)(const problem *), const problem *q, int reps) {
    settle();
    if (call(q)) return -1.0;
    const double t0 = bench_now_ms();
    for (int i = 0; i < reps; i++) call(q);
    return (bench_now_ms() - t0) / reps;
}

int main(int argc, char **argv) {
    const int threads = argc > 1 ? atoi(argv[1]) : 2, rounds = argc > 2 ? atoi(argv[2]) : 7;
    if (threads < 1 || rounds < 1) {
        fprintf(stderr, "usage: recur-bench-sgemm [THREADS [ROUNDS]]\n");
        return 2;
    }
    cpu_pool *pool;
    if (cpu_pool_create(&pool, threads, 200)) {
        fprintf(stderr, "recur-bench-sgemm: cannot create a pool of %d threads\n", threads);
        return 1;
    }
    openblas_set_num_threads(threads);
    /* RECUR_CPU_ISA as the cpu backend reads it (an ISA this CPU has; with OPENBLAS_CORETYPE=Haswell on
     * OpenBLAS's side, "avx2" compares both as an AVX2-only machine would run them). */
    int isa = cpu_isa_detect();
    const char *want = getenv("RECUR_CPU_ISA");
    if (want && *want) {
        const int v = cpu_isa_usable(want);
        if (v < 0) fprintf(stderr, "recur-bench-sgemm: RECUR_CPU_ISA=%s ignored\n", want);
        else isa = v;
    }
    printf("cpu_sgemm (%s) vs OpenBLAS %s, %d thread%s, best of %d interleaved rounds\n", cpu_isa_name(isa),
           openblas_get_config(), threads, threads == 1 ? "" : "s", rounds);
    printf("%-20s %-18s %12s %12s %8s\n", "shape", "M x N x K", "recur GF/s", "OpenBLAS", "ratio");
    for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++) {
        const shape *h = &SHAPES[s];
        /* The step's stored W^T has rows padded by 16 floats where G*H is a multiple of 256 (core/rnn.c,
         * ld_wt: rows a power of two apart share cache sets), so "step NN" reads B at that stride too. */
        const int step_nn = !h->ta && !h->tb && h->M <= 64 && h->N > h->K;
        const size_t lda = h->ta ? h->M : h->K;
        const size_t ldb = h->tb ? h->K : h->N + (step_nn && h->N % 256 == 0 ? 16 : 0);
        float *A = filled(h->M * h->K), *B = filled((h->tb ? h->N : h->K) * ldb), *C = filled(h->M * h->N);
        const double flops = 2.0 * (double)h->M * (double)h->N * (double)h->K;
        /* ~20 ms per timed batch (at 200 GFLOP/s), at least 2 calls, after batch_ms's untimed call (on a VM an
         * idle vCPU can take a millisecond to come back) */
        const int reps = flops > 2e9 ? 2 : (int)(4e9 / flops) + 1;
        const problem q = {.h = h, .A = A, .B = B, .C = C, .lda = lda, .ldb = ldb, .pool = pool, .threads = threads,
                           .isa = isa};
        double best_r = 1e30, best_o = 1e30;
        for (int r = 0; r < rounds; r++) {
            const double ms_r = batch_ms(call_recur, &q, reps), ms_o = batch_ms(call_openblas, &q, reps);
            if (ms_r < 0) {
                fprintf(stderr, "recur-bench-sgemm: cpu_sgemm: out of memory\n");
                return 1;
            }
            if (ms_r < best_r) best_r = ms_r;
            if (ms_o < best_o) best_o = ms_o;
        }
        char dims[40];
        snprintf(dims, sizeof dims, "%zux%zux%zu", h->M, h->N, h->K);
        printf("%-20s %-18s %12.1f %12.1f %8.2f\n", h->name, dims, flops / best_r * 1e-6, flops / best_o * 1e-6,
               best_o / best_r);
        free(A), free(B), free(C);
    }
    cpu_pool_destroy(pool);
    return 0;
}
