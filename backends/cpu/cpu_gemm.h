/*
 * SGEMM for the cpu backend: GotoBLAS/BLIS-style packing and cache blocking around a register-tiled
 * micro-kernel chosen at run time (AVX-512, AVX2+FMA, or portable C).
 *
 * Row-major throughout: C (M x N) = alpha op(A) op(B) + beta C, op(A) M x K, op(B) K x N.
 * The micro-kernel computes an mr x nr tile of C (mr <= MR rows, nr <= NR columns) from a packed A
 * micro-panel (for each k: MR values of column k of op(A)) and a packed B micro-panel (for each k: NR values
 * of row k of op(B)); vectors run along N, A values are broadcast.
 *
 * Determinism: every element of C is computed the same way whatever the thread count: the K loop is cut
 * into KC blocks that depend on K only, each block accumulates in increasing k in one FMA chain, and a
 * block's sum enters C as  c = alpha * acc + beta' * c  (one FMA, beta' = beta for the first block, 1 after).
 * Threads only decide which tiles a thread computes, never how a tile is computed.
 */
#ifndef RECUR_CPU_GEMM_H
#define RECUR_CPU_GEMM_H

#include <stddef.h>

#include "cpu_pool.h"

enum cpu_isa { CPU_ISA_GENERIC = 0, CPU_ISA_AVX2 = 1, CPU_ISA_AVX512 = 2 };

/* The best ISA this CPU (and OS) supports. */
int cpu_isa_detect(void);
const char *cpu_isa_name(int isa);
/* Parse "avx512" / "avx2" / "generic" (or "auto" = detect); -1 if unknown. */
int cpu_isa_parse(const char *s);
/* The same, and -1 too for an ISA this CPU does not have: RECUR_CPU_ISA's value, or the default. */
int cpu_isa_usable(const char *s);

typedef void (*cpu_ukernel_fn)(size_t kc, const float *a, const float *b, float *c, size_t ldc, int mr, int nr,
                               float alpha, float beta);
/* The same tile with B read in place: op(B) row k at b + k * ldb, nr valid columns (not transposed only). */
typedef void (*cpu_ukernel_direct_fn)(size_t kc, const float *a, const float *b, size_t ldb, float *c, size_t ldc,
                                      int mr, int nr, float alpha, float beta);
/* The same tile with A read in place (row i, column k at a + i * lda + k; not transposed) and B packed
 * (ldb 0) or, as for the direct kernel, in place. */
typedef void (*cpu_ukernel_a_fn)(size_t kc, const float *a, size_t lda, const float *b, size_t ldb, float *c,
                                 size_t ldc, int mr, int nr, float alpha, float beta);
/* Pack rows [0, mc) x columns [0, kc) of op(A) (A already offset to the block's first element) into
 * ceil(mc / MR) micro-panels of MR x kc; rows past mc are zero. */
typedef void (*cpu_pack_a_fn)(size_t mc, size_t kc, const float *A, size_t lda, int trans, float *dst);
/* Pack rows [0, kc) x columns [0, nc) of op(B) into ceil(nc / NR) micro-panels of kc x NR; columns past
 * nc are zero. */
typedef void (*cpu_pack_b_fn)(size_t kc, size_t nc, const float *B, size_t ldb, int trans, float *dst);

typedef struct cpu_gemm_kernel {
    const char *name;
    int mr, nr;           /* register tile */
    size_t mc, kc, nc;    /* cache blocks: mc a multiple of mr, nc of nr */
    size_t kc_whole;      /* K up to this is one K block (0: kc) */
    cpu_ukernel_fn ukernel;
    cpu_ukernel_direct_fn ukernel_direct; /* NULL: always pack B */
    cpu_ukernel_a_fn ukernel_a;           /* NULL: always pack A */
    /* C = alpha A B^T + beta C for M <= dot_nt_max_m rows, columns [n0, n1), by dot products (NULL: none) */
    void (*dot_nt)(size_t M, size_t n0, size_t n1, size_t K, float alpha, const float *A, size_t lda, const float *B,
                   size_t ldb, float beta, float *C, size_t ldc);
    size_t dot_nt_max_m;
    /* K = 1 (an outer product), one row of C: c[j] = alpha (a b[j]) + beta c[j], j < n, rounded as the
     * micro-kernels round a one-long product (a b[j] once, then one FMA on beta c[j]; beta == 0: alpha times
     * the product, C not read). NULL: the packed path runs it. */
    void (*rank1_row)(size_t n, float a, const float *b, float alpha, float beta, float *c);
    cpu_pack_a_fn pack_a;
    cpu_pack_b_fn pack_b;
    /* The transpose op on columns [c0, c1) of x: y[c * ldy + r] = x[r * ldx + c], r < rows (NULL: none;
     * ldy <= INT_MAX). A copy: bit-identical whatever the path. */
    void (*transpose)(size_t rows, const float *x, size_t ldx, float *y, size_t ldy, size_t c0, size_t c1);
} cpu_gemm_kernel;

const cpu_gemm_kernel *cpu_gemm_kernel_for(int isa);

/* Flops per thread below which cpu_sgemm uses fewer threads. Between the ops of a training step the
 * workers are still spinning, so handing a thread work costs well under a microsecond, and 256 Ki flops
 * (~2.5 us of one core) pays for it: the seeds/001 step GEMMs (64 x 192 x 64, 1.5 MFLOP) now use both
 * cores, and train.seed001 ran faster than with 1 Mi in 8-9 of 10 paired rounds (median 1.7-1.9 ms vs
 * 2.6 ms on the noisy development VM). A sleeping worker costs more (~5-50 us), but only after spin_us
 * of idleness. */
#define CPU_GEMM_MIN_FLOPS (1 << 18)

#if defined(__x86_64__)
extern const cpu_gemm_kernel cpu_gemm_avx512;
extern const cpu_gemm_kernel cpu_gemm_avx2;
#endif
extern const cpu_gemm_kernel cpu_gemm_generic;

/* The strided-batched SGEMM of recur_ops.gemm over host pointers, on up to `nth` threads of `pool`, each
 * with at least min_flops flops (CPU_GEMM_MIN_FLOPS; 0 splits even tiny problems, for tests).
 * Returns 0, or ENOMEM when packing buffers could not be allocated. */
int cpu_sgemm(cpu_pool *pool, int nth, double min_flops, int isa, int trans_a, int trans_b, size_t M, size_t N,
              size_t K, float alpha, const float *A, size_t lda, size_t stride_a, const float *B, size_t ldb, size_t stride_b, float beta,
              float *C, size_t ldc, size_t stride_c, size_t batch);

/* Whether cpu_sgemm sums a product of depth K in one K block (c = alpha * acc + beta * c, rounded once):
 * then C = A B with beta 0, added to a matrix afterwards (acc + c), gives the bits of beta 1 on it. */
int cpu_sgemm_one_block(int isa, size_t K);

/* B (K x N, not transposed, at ldb) packed ahead of products that read it many times (the recurrent weights,
 * step after step): its K blocks one after the other, each as ceil(N / NR) micro-panels of kc x NR, columns
 * past N zero. The panels reach the micro-kernel as one contiguous stream each, where B read in place is
 * one row of NR floats every ldb. cpu_sgemm_pack_b packs columns [n0, n1) (n0 a multiple of the kernel's NR,
 * n1 one too or N), so that threads can share the work; dst holds cpu_sgemm_packed_b_floats floats. */
size_t cpu_sgemm_packed_b_floats(int isa, size_t K, size_t N);
void cpu_sgemm_pack_b(int isa, size_t K, size_t N, const float *B, size_t ldb, float *dst, size_t n0, size_t n1);
int cpu_sgemm_nr(int isa); /* the kernel's NR */

/* One term of a sum of products over the same M x N: C = A B + beta C, A (M x K) and B (K x N) neither
 * transposed, alpha 1; Bp: B packed by cpu_sgemm_pack_b (same isa), which the few-rows path then reads
 * instead (NULL: B itself). */
typedef struct cpu_gemm_term {
    size_t K;
    const float *A;
    size_t lda;
    const float *B;
    const float *Bp;
    size_t ldb;
    float beta;
    float *C;
    size_t ldc;
} cpu_gemm_term;
#define CPU_GEMM_TERMS_MAX 2

/* The terms in order (a later term on the same C with beta 1 adds to an earlier one): the recurrent step's
 * x_t W_ih^T + h W_hh^T, a batch-reduce GEMM. When every term takes the few-rows path (M small), in one
 * parallel section over column parts: each thread packs every term's A, and each column panel gets every
 * term in turn while its C (M x NR) is in L1, so a shared C leaves the cache once. Results are those of
 * cpu_sgemm called term by term, bit for bit (every tile is computed as it computes it); otherwise it makes
 * those calls. Returns 0, ENOMEM or EINVAL (n outside 1..CPU_GEMM_TERMS_MAX). */
int cpu_sgemm_terms(cpu_pool *pool, int nth, double min_flops, int isa, size_t M, size_t N, const cpu_gemm_term *t,
                    int n);

/* The same split by rows, each thread's rows followed on that thread by then(ctx, i, n): slice i of n is rows
 * [i M / n, (i + 1) M / n) (recur_k_slice's split), and `then` must read and write only those rows of the
 * terms' C. Nothing is shared between threads but the B's, so a pass over the rows of C (the recurrent
 * cell) needs no second parallel section and finds its rows in its own core's cache; each thread packs only
 * its rows of A, in chunks of at most the kernel's MC rows (each chunk on the few-rows path). But every
 * thread reads all of every B (once per chunk), so only while they are small: at most
 * CPU_GEMM_ROWS_MAX_B_BYTES together (2 MiB: inference's per-step terms at medium size; the step of
 * infer.large, 4 MiB of W_hh^T, ran 2% slower split by rows). Same results as cpu_sgemm_terms. Returns
 * CPU_GEMM_UNFUSED, having done nothing, when the B's are larger or a term has K = 0 (or A too large to
 * pack whole): the caller then runs cpu_sgemm_terms and its pass itself. */
#define CPU_GEMM_UNFUSED (-1)
#define CPU_GEMM_ROWS_MAX_B_BYTES ((double)(2u << 20))
int cpu_sgemm_terms_rows(cpu_pool *pool, int nth, double min_flops, int isa, size_t M, size_t N,
                         const cpu_gemm_term *t, int n, cpu_task_fn then, void *ctx);
/* The same in pieces, for a caller that runs its own parallel task (several steps in one section): the
 * thread count cpu_sgemm_terms_rows would use (at most nth), or 0 when the terms cannot be split by rows,
 * with the scratch each thread needs (floats; cpu_pool_reserve it); then rows [m0, m1) on the calling
 * thread, scratch at ws. */
int cpu_sgemm_terms_rows_plan(int nth, double min_flops, int isa, size_t M, size_t N, const cpu_gemm_term *t, int n,
                              size_t *scratch_floats);
void cpu_sgemm_terms_rows_run(int isa, size_t M, size_t N, const cpu_gemm_term *t, int n, size_t m0, size_t m1,
                              float *ws);

#endif
