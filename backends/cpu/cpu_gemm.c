/*
 * SGEMM driver: ISA choice, the portable kernel, packing fallbacks, cache blocking and the thread split.
 *
 * Loop nest per thread region (rows [m0, m1) x columns [n0, n1) of one C_k), GotoBLAS order:
 *   for jc in NC blocks of N:                  B block (KC x NC) packed, lives in L2/L3
 *     for pc in KC blocks of K:                (blocks depend on K only: determinism)
 *       pack op(B)[pc.., jc..]
 *       for ic in MC blocks of M:              A block (MC x KC) packed, lives in L2
 *         pack op(A)[ic.., pc..]
 *         for jr in NR panels, ir in MR panels: micro-kernel on one tile (B micro-panel stays in L1)
 * Two shortcuts, chosen by the shape alone (so never by the thread count):
 *   - a region of at most MC rows (the recurrent step, M = batch): A packed once per K block, or, not
 *     transposed and where the kernel can, read in place (kr->ukernel_a); each B micro-panel packed just
 *     before its tiles (or, B not transposed, read in place by the kernel);
 *   - M <= kr->dot_nt_max_m, A not transposed, B transposed: dot products along K, nothing packed.
 *
 * Threads: the work is cut, once per call, into parts — whole matrices of the batch; row blocks when M is
 * large, up to PARTS_PER_THREAD per thread; single column panels when M is small (the recurrent step) —
 * scheduled by cpu_parts (cpu_pool.h): thread i owns the i-th contiguous run of parts and takes them front to
 * back; a thread that runs out steals from the back of another's run. Column panels are taken guided (half
 * of what is left of the thread's own run at a time, cpu_parts_next_guided): few takes, and at the end the
 * other thread waits for at most about one panel instead of one of 8 parts per thread (at H = 512, ~40 us
 * of the step's ~310; pool waiting in infer.large fell from 6.4-7.5% to 2.7-3.2% of the step GEMMs' CPU
 * time). On shared or heterogeneous machines the cores do not run at one speed (two vCPUs of a VM differ
 * by 10-20% from moment to moment), and a static split waits for the slowest; here a faster core takes over
 * the tail of a slower one's work. Owning a run keeps the same columns of B (the recurrent weights, step
 * after step) in the same core's cache. Which thread computes a tile never changes how it is computed, so
 * results stay independent of the thread count and of the timing. Each thread packs into its own scratch
 * buffer and keeps the whole A (column parts) or the whole B (row parts, when B is one column block) across
 * its parts; there is no barrier inside a call. Small problems use fewer threads (CPU_GEMM_MIN_FLOPS per
 * thread) so a tiny GEMM never pays for waking the pool.
 */
#define _POSIX_C_SOURCE 200809L
#include "cpu_gemm.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>


/* ---- ISA ---- */

int cpu_isa_detect(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return CPU_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CPU_ISA_AVX2;
#endif
    return CPU_ISA_GENERIC;
}

const char *cpu_isa_name(int isa) {
    switch (isa) {
    case CPU_ISA_AVX512: return "avx512";
    case CPU_ISA_AVX2: return "avx2";
    default: return "generic";
    }
}

int cpu_isa_parse(const char *s) {
    if (!s) return -1;
    if (!strcmp(s, "auto")) return cpu_isa_detect();
    if (!strcmp(s, "avx512")) return CPU_ISA_AVX512;
    if (!strcmp(s, "avx2")) return CPU_ISA_AVX2;
    if (!strcmp(s, "generic")) return CPU_ISA_GENERIC;
    return -1;
}

int cpu_isa_usable(const char *s) {
    const int v = cpu_isa_parse(s);
    return v <= cpu_isa_detect() ? v : -1;
}

const cpu_gemm_kernel *cpu_gemm_kernel_for(int isa) {
#if defined(__x86_64__)
    if (isa == CPU_ISA_AVX512) return &cpu_gemm_avx512;
    if (isa == CPU_ISA_AVX2) return &cpu_gemm_avx2;
#else
    (void)isa;
#endif
    return &cpu_gemm_generic;
}

/* ---- packing, portable (also the edge cases of the SIMD packers) ---- */

void cpu_pack_a_generic(size_t mc, size_t kc, const float *A, size_t lda, int trans, float *dst, int MR);
void cpu_pack_b_generic(size_t kc, size_t nc, const float *B, size_t ldb, int trans, float *dst, int NR);

void cpu_pack_a_generic(size_t mc, size_t kc, const float *A, size_t lda, int trans, float *dst, int MR) {
    for (size_t i0 = 0; i0 < mc; i0 += (size_t)MR, dst += kc * (size_t)MR) {
        const size_t h = mc - i0 < (size_t)MR ? mc - i0 : (size_t)MR;
        if (trans) {
            const float *src = A + i0;
            for (size_t k = 0; k < kc; k++, src += lda) {
                float *d = dst + k * (size_t)MR;
                for (size_t i = 0; i < h; i++) d[i] = src[i];
                for (size_t i = h; i < (size_t)MR; i++) d[i] = 0.0f;
            }
        } else {
            const float *src = A + i0 * lda;
            for (size_t i = 0; i < h; i++)
                for (size_t k = 0; k < kc; k++) dst[k * (size_t)MR + i] = src[i * lda + k];
            for (size_t i = h; i < (size_t)MR; i++)
                for (size_t k = 0; k < kc; k++) dst[k * (size_t)MR + i] = 0.0f;
        }
    }
}

void cpu_pack_b_generic(size_t kc, size_t nc, const float *B, size_t ldb, int trans, float *dst, int NR) {
    for (size_t j0 = 0; j0 < nc; j0 += (size_t)NR, dst += kc * (size_t)NR) {
        const size_t w = nc - j0 < (size_t)NR ? nc - j0 : (size_t)NR;
        if (!trans) {
            const float *src = B + j0;
            for (size_t k = 0; k < kc; k++, src += ldb) {
                float *d = dst + k * (size_t)NR;
                for (size_t j = 0; j < w; j++) d[j] = src[j];
                for (size_t j = w; j < (size_t)NR; j++) d[j] = 0.0f;
            }
        } else {
            const float *src = B + j0 * ldb;
            for (size_t j = 0; j < w; j++)
                for (size_t k = 0; k < kc; k++) dst[k * (size_t)NR + j] = src[j * ldb + k];
            for (size_t j = w; j < (size_t)NR; j++)
                for (size_t k = 0; k < kc; k++) dst[k * (size_t)NR + j] = 0.0f;
        }
    }
}

/* ---- the portable kernel: 4 x 16, plain C (compilers vectorise the j loops) ---- */

#define KG_MR 4
#define KG_NR 16

static void kgen(size_t kc, const float *a, const float *b, float *c, size_t ldc, int mr, int nr, float alpha,
                 float beta) {
    float acc[KG_MR][KG_NR];
    memset(acc, 0, sizeof acc);
    for (size_t k = 0; k < kc; k++, a += KG_MR, b += KG_NR)
        for (int i = 0; i < KG_MR; i++) {
            const float ai = a[i];
            for (int j = 0; j < KG_NR; j++) acc[i][j] += ai * b[j];
        }
    for (int i = 0; i < mr; i++) {
        float *ci = c + (size_t)i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < nr; j++) ci[j] = alpha * acc[i][j];
        else
            for (int j = 0; j < nr; j++) ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
}

static void pack_a_gen(size_t mc, size_t kc, const float *A, size_t lda, int trans, float *dst) {
    cpu_pack_a_generic(mc, kc, A, lda, trans, dst, KG_MR);
}

static void pack_b_gen(size_t kc, size_t nc, const float *B, size_t ldb, int trans, float *dst) {
    cpu_pack_b_generic(kc, nc, B, ldb, trans, dst, KG_NR);
}

const cpu_gemm_kernel cpu_gemm_generic = {
    .name = "generic",
    .mr = KG_MR,
    .nr = KG_NR,
    .mc = 128,
    .kc = 256,
    .nc = 1024,
    .ukernel = kgen,
    .pack_a = pack_a_gen,
    .pack_b = pack_b_gen,
};

/* ---- the driver ---- */

typedef struct gemm_plan {
    const cpu_gemm_kernel *kr;
    cpu_pool *pool;
    int ta, tb;
    size_t M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    size_t lda, ldb, ldc, sa, sb, sc, batch;
    size_t kc;      /* K block, a function of K only */
    int nt;         /* threads used */
    int split;      /* what a part is: SPLIT_BATCH, SPLIT_COLS or SPLIT_ROWS */
    size_t per;     /* tiles (MR rows or NR columns) per part; SPLIT_BATCH: 1 matrix */
    size_t nparts;
    int guided;      /* SPLIT_COLS: parts of one panel, taken several at a time (cpu_parts_next_guided) */
    cpu_parts sched; /* who takes which part (cpu_pool.h) */
    int few_rows;   /* M <= kr->mc: A packed whole (every K block) once per thread and matrix */
    int in_place_a; /* few rows, A not transposed, the kernel able to: A read in place, never packed */
    int whole_b;    /* else, N <= kr->nc: B packed whole (every K block) once per thread and matrix */
    int direct_b;   /* few-rows path: the kernel reads op(B) in place (not transposed) */
    const float *bpk; /* few-rows path: op(B) packed before the call (cpu_sgemm_pack_b), or NULL */
    int dot;        /* M <= kr->dot_nt_max_m, A not transposed, B transposed: dot products, no packing */
    size_t b_off;   /* scratch layout (floats): packed B at 0, packed A at a_off */
    size_t a_off;
    /* cpu_sgemm_terms: the next term, over the same rows and columns (few rows only); its A is packed at
     * next->a_off, its B panels share b_off */
    const struct gemm_plan *next;
} gemm_plan;

enum { SPLIT_BATCH, SPLIT_COLS, SPLIT_ROWS };

/* What a thread has in its scratch buffer, kept across the parts it takes within one call: the whole A
 * (few rows) or the whole B (whole_b) of one batch item. Otherwise nothing is kept: a part then packs
 * every B block it uses, which is why such row parts are MIN_PART_ROWS tall. */
typedef struct packed_state {
    size_t item; /* the batch item whose A or B is packed, if ok */
    int ok;
} packed_state;

static inline size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }
static inline size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }
static inline size_t round_up(size_t a, size_t b) { return ceil_div(a, b) * b; }

/* The few-rows path (M <= kr->mc): every K block of rows [m0, m0 + mc) of op(A), packed at ws + a_off,
 * block pc at pc * round_up(mc, MR). */
static void few_rows_pack(const gemm_plan *p, size_t bi, size_t m0, size_t mc, float *ws) {
    const cpu_gemm_kernel *kr = p->kr;
    const size_t mcr = round_up(mc, (size_t)kr->mr);
    const float *A = p->A + bi * p->sa;
    for (size_t pc = 0; pc < p->K; pc += p->kc)
        kr->pack_a(mc, min_sz(p->kc, p->K - pc), p->ta ? A + pc * p->lda + m0 : A + m0 * p->lda + pc, p->lda, p->ta,
                   ws + p->a_off + pc * mcr);
}

/* Where B packed whole (every K block: cpu_sgemm_pack_b, and the whole_b path) has the panel of columns jr..
 * (jr a multiple of NR) of the K block starting at row pc (kc rows): the blocks one after the other, each
 * ceil(N / NR) panels of kc x NR. */
static inline size_t packed_b_off(size_t N, size_t NR, size_t pc, size_t jr, size_t kc) {
    return pc * round_up(N, NR) + jr * kc;
}

/* Columns [n0, n1) of op(B) (K x N; B itself N x K when tb), every K block of kc rows, into dst at
 * packed_b_off. */
static void pack_b_blocks(const cpu_gemm_kernel *kr, size_t K, size_t kc, size_t N, const float *B, size_t ldb, int tb,
                          float *dst, size_t n0, size_t n1) {
    for (size_t pc = 0; pc < K; pc += kc) {
        const size_t kcb = min_sz(kc, K - pc);
        kr->pack_b(kcb, n1 - n0, tb ? B + n0 * ldb + pc : B + pc * ldb + n0, ldb, tb,
                   dst + packed_b_off(N, (size_t)kr->nr, pc, n0, kcb));
    }
}

/* The few-rows path's tiles in columns [n0, n1), A packed by few_rows_pack: each B micro-panel is packed
 * right before the tiles that use it, so it is still in L1 (no B block round trip via L2/L3), or, B not
 * transposed, read in place by the kernel. With A read in place, rows whose last block of MR would be short
 * (under MR / 2: M = 64 on AVX-512 is 5 x 12 + 4) are cut into blocks of near-equal size instead (11, 11,
 * 11, 11, 10, 10): the same B loads, but no block with too few accumulators to cover the FMA latency.
 * Each element of C is computed as before, whichever block holds its row. Alternating runs on the Zen 5 VM:
 * gemm.medium.step 3-11% faster (4 of 4), infer.large 1% (median of 10 rounds, 7 faster); at M = 32 (12,
 * 12, 8) the same split was 2% slower on infer.medium (3 of 4), so it is kept for short last blocks. */
static void few_rows_span(const gemm_plan *p, size_t bi, size_t m0, size_t mc, size_t n0, size_t n1, float *ws) {
    const cpu_gemm_kernel *kr = p->kr;
    const size_t MR = (size_t)kr->mr, NR = (size_t)kr->nr, mcr = round_up(mc, MR), nblk = mcr / MR;
    const int balance = mc % MR != 0 && mc % MR < MR / 2;
    const float *B = p->B + bi * p->sb;
    float *C = p->C + bi * p->sc, *bp = ws + p->b_off;
    /* B packed before the call: each block's panel where cpu_sgemm_pack_b put it. Else, not transposed, its
     * rows are contiguous in N and the kernel reads them in place (direct); else each micro-panel is packed
     * right before its tiles. */
    const int direct = p->direct_b && !p->bpk;
    for (size_t pc = 0; pc < p->K; pc += p->kc) {
        const size_t kc = min_sz(p->kc, p->K - pc);
        const float beta = pc == 0 ? p->beta : 1.0f;
        /* A: in place (this K block of rows m0..), or packed by few_rows_pack (never both: no scratch for A
         * is reserved when it is read in place) */
        const float *A = p->in_place_a ? p->A + bi * p->sa + m0 * p->lda + pc : NULL;
        const float *apc = p->in_place_a ? NULL : ws + p->a_off + pc * mcr;
        for (size_t jr = n0; jr < n1; jr += NR) {
            const int nr = (int)min_sz(NR, n1 - jr);
            float *cj = C + m0 * p->ldc + jr;
            const float *bj = p->bpk ? p->bpk + packed_b_off(p->N, NR, pc, jr, kc) : direct ? B + pc * p->ldb + jr : bp;
            if (!p->bpk && !direct)
                kr->pack_b(kc, (size_t)nr, p->tb ? B + jr * p->ldb + pc : B + pc * p->ldb + jr, p->ldb, p->tb, bp);
            if (p->in_place_a) { /* A's rows read where they are */
                for (size_t ib = 0, ir = 0; ib < nblk; ib++) {
                    const size_t mr = balance ? mc / nblk + (ib < mc % nblk) : min_sz(MR, mc - ir);
                    kr->ukernel_a(kc, A + ir * p->lda, p->lda, bj, direct ? p->ldb : 0, cj + ir * p->ldc,
                                  p->ldc, (int)mr, nr, p->alpha, beta);
                    ir += mr;
                }
                continue;
            }
            for (size_t ir = 0; ir < mc; ir += MR) {
                const int mr = (int)min_sz(MR, mc - ir);
                float *c = cj + ir * p->ldc;
                if (direct)
                    kr->ukernel_direct(kc, apc + ir * kc, bj, p->ldb, c, p->ldc, mr, nr, p->alpha, beta);
                else
                    kr->ukernel(kc, apc + ir * kc, bj, c, p->ldc, mr, nr, p->alpha, beta);
            }
        }
    }
}

static void gemm_region(const gemm_plan *p, size_t bi, size_t m0, size_t m1, size_t n0, size_t n1, float *ws,
                        packed_state *ps) {
    const cpu_gemm_kernel *kr = p->kr;
    const size_t MR = (size_t)kr->mr, NR = (size_t)kr->nr;
    const float *A = p->A + bi * p->sa, *B = p->B + bi * p->sb;
    float *C = p->C + bi * p->sc;
    if (p->dot) {
        kr->dot_nt(m1 - m0, n0, n1, p->K, p->alpha, A + m0 * p->lda, p->lda, B, p->ldb, p->beta, C + m0 * p->ldc,
                   p->ldc);
        return;
    }
    float *bp = ws + p->b_off, *ap = ws + p->a_off;
    if (p->few_rows) {
        /* Few rows (the recurrent step: M = batch, parts are column panels): all of A is packed once per
         * thread and matrix (few_rows_pack), and the tiles of the part's columns follow (few_rows_span). */
        const size_t mc = m1 - m0;
        if (!ps->ok || ps->item != bi) {
            for (const gemm_plan *t = p; t; t = t->next)
                if (!t->in_place_a) few_rows_pack(t, bi, m0, mc, ws);
            *ps = (packed_state){.item = bi, .ok = 1};
        }
        if (!p->next) {
            few_rows_span(p, bi, m0, mc, n0, n1, ws);
            return;
        }
        /* Terms: all of them, one column panel after the other, so that the panel of C (mc x NR) is still
         * in L1 when a later term adds to it. */
        for (size_t jr = n0; jr < n1; jr += NR) {
            const size_t je = min_sz(n1, jr + NR);
            for (const gemm_plan *t = p; t; t = t->next) few_rows_span(t, bi, m0, mc, jr, je, ws);
        }
        return;
    }
    if (p->whole_b && (!ps->ok || ps->item != bi)) { /* every K block of B, once per thread and matrix */
        pack_b_blocks(kr, p->K, p->kc, p->N, B, p->ldb, p->tb, bp, 0, p->N);
        *ps = (packed_state){.item = bi, .ok = 1};
    }
    for (size_t jc = n0; jc < n1; jc += kr->nc) {
        const size_t nc = min_sz(kr->nc, n1 - jc);
        for (size_t pc = 0; pc < p->K; pc += p->kc) {
            const size_t kc = min_sz(p->kc, p->K - pc);
            const float beta = pc == 0 ? p->beta : 1.0f;
            const float *bpc = p->whole_b ? bp + packed_b_off(p->N, NR, pc, 0, kc) : bp;
            if (!p->whole_b) kr->pack_b(kc, nc, p->tb ? B + jc * p->ldb + pc : B + pc * p->ldb + jc, p->ldb, p->tb, bp);
            for (size_t ic = m0; ic < m1; ic += kr->mc) {
                const size_t mc = min_sz(kr->mc, m1 - ic);
                kr->pack_a(mc, kc, p->ta ? A + pc * p->lda + ic : A + ic * p->lda + pc, p->lda, p->ta, ap);
                for (size_t jr = 0; jr < nc; jr += NR) {
                    const int nr = (int)min_sz(NR, nc - jr);
                    float *cj = C + ic * p->ldc + jc + jr;
                    for (size_t ir = 0; ir < mc; ir += MR)
                        kr->ukernel(kc, ap + ir * kc, bpc + jr * kc, cj + ir * p->ldc, p->ldc, (int)min_sz(MR, mc - ir),
                                    nr, p->alpha, beta);
                }
            }
        }
    }
}

static void gemm_task(void *ctx, int ith, int nth) {
    gemm_plan *p = ctx;
    float *ws = cpu_pool_scratch(p->pool, ith);
    packed_state ps = {0};
    (void)nth;
    const size_t MR = (size_t)p->kr->mr, NR = (size_t)p->kr->nr;
    for (;;) {
        size_t cnt = 1; /* parts taken at once: more than one only when guided (SPLIT_COLS) */
        const size_t part = p->guided ? cpu_parts_next_guided(&p->sched, ith, &cnt) : cpu_parts_next(&p->sched, ith);
        if (part == SIZE_MAX) return;
        if (p->split == SPLIT_BATCH) {
            gemm_region(p, part, 0, p->M, 0, p->N, ws, &ps);
        } else if (p->split == SPLIT_COLS) {
            const size_t n0 = part * p->per * NR, n1 = min_sz(p->N, (part + cnt) * p->per * NR);
            for (size_t b = 0; b < p->batch; b++) gemm_region(p, b, 0, p->M, n0, n1, ws, &ps);
        } else {
            const size_t m0 = part * p->per * MR, m1 = min_sz(p->M, m0 + p->per * MR);
            for (size_t b = 0; b < p->batch; b++) gemm_region(p, b, m0, m1, 0, p->N, ws, &ps);
        }
    }
}

/* C = beta * C (K == 0); beta == 0 writes zeros without reading C. */
static void scale_c(size_t M, size_t N, float beta, float *C, size_t ldc, size_t sc, size_t batch) {
    for (size_t b = 0; b < batch; b++)
        for (size_t i = 0; i < M; i++) {
            float *c = C + b * sc + i * ldc;
            if (beta == 0.0f) memset(c, 0, N * sizeof *c);
            else if (beta != 1.0f)
                for (size_t j = 0; j < N; j++) c[j] *= beta;
        }
}

/* Row-block parts per thread at most: enough for a faster core to take over a slower one's share, few
 * enough that taking a part (one compare-and-swap) and re-packing per part stay negligible. */
#define PARTS_PER_THREAD 8
/* Row-block parts: at least this many rows each when B spans several blocks (re-packed per part: a cost
 * of about 16 / rows of the FMA work), else at least one MC block. */
#define MIN_PART_ROWS 512 /* (with whole_b, B is packed once per thread instead, and MC rows suffice) */

/* Threads for `flops` of work: at most nth (and CPU_PARTS_MAX_THREADS), each with at least min_flops, at
 * least one. */
static int threads_for(int nth, double min_flops, double flops) {
    const double cap = flops / (min_flops > 1.0 ? min_flops : 1.0);
    int nt = nth < CPU_PARTS_MAX_THREADS ? nth : CPU_PARTS_MAX_THREADS;
    if (cap < (double)nt) nt = cap < 1.0 ? 1 : (int)cap;
    return nt < 1 ? 1 : nt;
}

/* Pick the thread count and the parts. */
static void plan_threads(gemm_plan *p, int nth, double min_flops, double flops) {
    const int nt = threads_for(nth, min_flops, flops);
    p->nt = nt;
    const size_t MR = (size_t)p->kr->mr, NR = (size_t)p->kr->nr;
    const size_t tm = ceil_div(p->M, MR), tn = ceil_div(p->N, NR);
    const size_t most = (size_t)nt * PARTS_PER_THREAD;
    if (nt > 1 && p->batch >= (size_t)nt && (p->batch % (size_t)nt == 0 || p->batch >= 4 * (size_t)nt)) {
        p->split = SPLIT_BATCH;
        p->per = 1;
        p->nparts = p->batch;
        return;
    }
    size_t want, tiles;
    if (p->few_rows) {
        p->split = SPLIT_COLS;
        tiles = tn;
        p->guided = nt > 1; /* parts of one panel, taken several at a time */
        want = tn;
    } else {
        p->split = SPLIT_ROWS;
        tiles = tm;
        const size_t rows = p->whole_b ? p->kr->mc : MIN_PART_ROWS; /* whole_b: no re-packing per part */
        want = min_sz(most, p->M / rows);
        if (want < (size_t)nt) want = (size_t)nt;
    }
    if (nt == 1) want = 1;
    p->per = ceil_div(tiles, want ? want : 1);
    p->nparts = ceil_div(tiles, p->per);
}

/* The K block: K itself up to kr->kc_whole, else blocks as even as possible and at most kr->kc; a function of
 * K alone. */
static size_t k_block(const cpu_gemm_kernel *kr, size_t K) {
    return K <= kr->kc_whole ? K : ceil_div(K, ceil_div(K, kr->kc));
}

/* The plan of one product: its operands, K blocks and path, all from the shape alone (never from the
 * thread count, so that results do not depend on it either). */
static void plan_init(gemm_plan *p, int isa, int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                      const float *A, size_t lda, size_t stride_a, const float *B, size_t ldb, size_t stride_b,
                      float beta, float *C, size_t ldc, size_t stride_c, size_t batch) {
    memset(p, 0, sizeof *p);
    p->kr = cpu_gemm_kernel_for(isa);
    p->ta = trans_a;
    p->tb = trans_b;
    p->M = M;
    p->N = N;
    p->K = K;
    p->alpha = alpha;
    p->beta = beta;
    p->A = A;
    p->B = B;
    p->C = C;
    p->lda = lda;
    p->ldb = ldb;
    p->ldc = ldc;
    p->sa = stride_a;
    p->sb = stride_b;
    p->sc = stride_c;
    p->batch = batch;
    p->kc = k_block(p->kr, K);
    p->direct_b = !trans_b && p->kr->ukernel_direct != NULL;
    p->dot = !trans_a && trans_b && p->kr->dot_nt && M <= p->kr->dot_nt_max_m;
    /* Few rows: A is packed whole, so only while that stays small (1 Mi floats: 4 MiB per thread). */
    p->few_rows = M <= p->kr->mc && round_up(M, (size_t)p->kr->mr) * K <= ((size_t)1 << 20);
    /* ... or not packed at all: a few rows not transposed are read in place by the kernel (12 row streams
     * for its broadcasts). Packing copied all of A on every thread that took a column part (the recurrent
     * step's h or gate gradients, every step); in place, alternating runs on the 2-core Zen 5 VM:
     * infer.medium 1.3-5% faster (8 of 8), train.medium 1.5% (3 of 4), seeds/001 on one thread 3-7%. */
    p->in_place_a = p->few_rows && !trans_a && p->kr->ukernel_a != NULL;
    /* Whole B likewise, when it is one column block and stays small (1 Mi floats). */
    p->whole_b = !p->few_rows && N <= p->kr->nc && round_up(N, (size_t)p->kr->nr) * K <= ((size_t)1 << 20);
}

int cpu_sgemm_one_block(int isa, size_t K) { return k_block(cpu_gemm_kernel_for(isa), K) >= K; }

int cpu_sgemm_nr(int isa) { return cpu_gemm_kernel_for(isa)->nr; }

size_t cpu_sgemm_packed_b_floats(int isa, size_t K, size_t N) {
    return round_up(N, (size_t)cpu_gemm_kernel_for(isa)->nr) * K;
}

void cpu_sgemm_pack_b(int isa, size_t K, size_t N, const float *B, size_t ldb, float *dst, size_t n0, size_t n1) {
    const cpu_gemm_kernel *kr = cpu_gemm_kernel_for(isa);
    pack_b_blocks(kr, K, k_block(kr, K), N, B, ldb, 0, dst, n0, n1);
}

/* Scratch floats for B (packed whole, or one KC x NC block) and for A (few rows: all of A; else one MC x KC
 * block). */
static size_t plan_b_floats(const gemm_plan *p) {
    const size_t NR = (size_t)p->kr->nr;
    return p->whole_b ? round_up(p->N, NR) * p->K : p->kc * min_sz(p->kr->nc, round_up(p->N, NR));
}
static size_t plan_a_floats(const gemm_plan *p) {
    const size_t MR = (size_t)p->kr->mr;
    if (p->in_place_a) return 0;
    return p->few_rows ? round_up(p->M, MR) * p->K : p->kc * min_sz(p->kr->mc, round_up(p->M, MR));
}

/* Split p over up to nth threads (flops: the work, both products of a pair), reserve the scratch and run. */
static int plan_run(gemm_plan *p, cpu_pool *pool, int nth, double min_flops, double flops, size_t scratch_floats) {
    p->pool = pool;
    if (nth < 1) nth = 1;
    if (nth > cpu_pool_size(pool)) nth = cpu_pool_size(pool);
    plan_threads(p, nth, min_flops, flops);
    cpu_parts_init(&p->sched, p->nparts, p->nt);
    cpu_pool_lock(pool);
    if (cpu_pool_reserve(pool, scratch_floats * sizeof(float))) {
        cpu_pool_unlock(pool);
        return ENOMEM;
    }
    cpu_pool_run_locked(pool, gemm_task, p, p->nt);
    cpu_pool_unlock(pool);
    return 0;
}

/* K = 1: C = alpha a b^T + beta C, row by row (kr->rank1_row), rows split over the threads. Packing a one-long
 * A and B and running whole tiles for products of depth 1 cost 5x the time of the rows themselves
 * (train.seed001's attention backward: a 1280 x 64 outer product took 56 us). */
typedef struct rank1_task {
    const cpu_gemm_kernel *kr;
    int ta;
    size_t M, N, lda, sa, sb, ldc, sc, batch, rows_per_part;
    float alpha, beta;
    const float *A, *b; /* b: op(B)'s one row of every batch item, contiguous (stride sb) */
    float *C;
} rank1_task;

static void rank1_part(void *ctx, int part, int nparts) {
    const rank1_task *t = ctx;
    (void)nparts;
    const size_t r0 = (size_t)part * t->rows_per_part, r1 = min_sz(t->M * t->batch, r0 + t->rows_per_part);
    for (size_t r = r0; r < r1; r++) {
        const size_t bi = r / t->M, i = r % t->M;
        const float a = t->A[bi * t->sa + (t->ta ? i : i * t->lda)];
        t->kr->rank1_row(t->N, a, t->b + bi * t->sb, t->alpha, t->beta, t->C + bi * t->sc + i * t->ldc);
    }
}

/* op(B) with trans_b is a column of B (N values ldb apart): gathered into scratch first. */
static int rank1(cpu_pool *pool, int nth, double min_flops, const cpu_gemm_kernel *kr, int trans_a, int trans_b,
                 size_t M, size_t N, float alpha, const float *A, size_t lda, size_t stride_a, const float *B,
                 size_t ldb, size_t stride_b, float beta, float *C, size_t ldc, size_t stride_c, size_t batch) {
    rank1_task t = {.kr = kr, .ta = trans_a, .M = M, .N = N, .lda = lda, .sa = stride_a, .sb = stride_b, .ldc = ldc,
                    .sc = stride_c, .batch = batch, .alpha = alpha, .beta = beta, .A = A, .b = B, .C = C};
    const size_t rows = M * batch;
    const int nt = threads_for(nth < cpu_pool_size(pool) ? nth : cpu_pool_size(pool), min_flops,
                               2.0 * (double)rows * (double)N);
    const size_t nparts = min_sz(rows, (size_t)nt * PARTS_PER_THREAD);
    t.rows_per_part = ceil_div(rows, nparts);
    cpu_pool_lock(pool);
    if (trans_b) {
        if (cpu_pool_reserve(pool, N * batch * sizeof(float))) {
            cpu_pool_unlock(pool);
            return ENOMEM;
        }
        float *bc = cpu_pool_scratch(pool, 0);
        for (size_t bi = 0; bi < batch; bi++)
            for (size_t j = 0; j < N; j++) bc[bi * N + j] = B[bi * stride_b + j * ldb];
        t.b = bc;
        t.sb = N;
    }
    cpu_pool_run_parts_locked(pool, rank1_part, &t, ceil_div(rows, t.rows_per_part), nt);
    cpu_pool_unlock(pool);
    return 0;
}

int cpu_sgemm(cpu_pool *pool, int nth, double min_flops, int isa, int trans_a, int trans_b, size_t M, size_t N,
              size_t K, float alpha, const float *A, size_t lda, size_t stride_a, const float *B, size_t ldb, size_t stride_b, float beta,
              float *C, size_t ldc, size_t stride_c, size_t batch) {
    if (M == 0 || N == 0 || batch == 0) return 0;
    if (K == 0) { /* A and B are not read (they may be NULL) */
        scale_c(M, N, beta, C, ldc, stride_c, batch);
        return 0;
    }
    const cpu_gemm_kernel *kr = cpu_gemm_kernel_for(isa);
    if (K == 1 && kr->rank1_row)
        return rank1(pool, nth, min_flops, kr, trans_a, trans_b, M, N, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C,
                     ldc, stride_c, batch);
    gemm_plan p;
    plan_init(&p, isa, trans_a, trans_b, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C, ldc, stride_c,
              batch);
    p.b_off = 0;
    p.a_off = round_up(plan_b_floats(&p), 16);
    const double flops = 2.0 * (double)M * (double)N * (double)K * (double)batch;
    return plan_run(&p, pool, nth, min_flops, flops, p.a_off + plan_a_floats(&p));
}

/* Plans for terms over one M x N (cpu_sgemm_terms): 1 when every term takes the few-rows path (then chained,
 * with their scratch laid out: one B panel buffer for all, then each term's A; *scratch gets the floats),
 * 0 otherwise. */
static int terms_plan(gemm_plan *plans, int isa, size_t M, size_t N, const cpu_gemm_term *t, int n,
                      size_t *scratch) {
    size_t b_floats = 0;
    int few = M > 0 && N > 0;
    for (int i = 0; i < n; i++) {
        plan_init(&plans[i], isa, 0, 0, M, N, t[i].K, 1.0f, t[i].A, t[i].lda, 0, t[i].B, t[i].ldb, 0, t[i].beta, t[i].C,
                  t[i].ldc, 0, 1);
        plans[i].bpk = t[i].Bp;
        few = few && t[i].K > 0 && plans[i].few_rows;
        if (plan_b_floats(&plans[i]) > b_floats) b_floats = plan_b_floats(&plans[i]);
    }
    if (!few) return 0;
    size_t off = round_up(b_floats, 16);
    for (int i = 0; i < n; i++) {
        plans[i].b_off = 0;
        plans[i].a_off = off;
        off += round_up(plan_a_floats(&plans[i]), 16);
        plans[i].next = i + 1 < n ? &plans[i + 1] : NULL;
    }
    *scratch = off;
    return 1;
}

static double terms_flops(size_t M, size_t N, const cpu_gemm_term *t, int n) {
    double k = 0.0;
    for (int i = 0; i < n; i++) k += (double)t[i].K;
    return 2.0 * (double)M * (double)N * k;
}

int cpu_sgemm_terms(cpu_pool *pool, int nth, double min_flops, int isa, size_t M, size_t N, const cpu_gemm_term *t,
                    int n) {
    gemm_plan plans[CPU_GEMM_TERMS_MAX];
    size_t scratch = 0;
    if (n < 1 || n > CPU_GEMM_TERMS_MAX) return EINVAL;
    if (!terms_plan(plans, isa, M, N, t, n, &scratch)) { /* one by one */
        for (int i = 0; i < n; i++) {
            int st = cpu_sgemm(pool, nth, min_flops, isa, 0, 0, M, N, t[i].K, 1.0f, t[i].A, t[i].lda, 0, t[i].B, t[i].ldb,
                               0, t[i].beta, t[i].C, t[i].ldc, 0, 1);
            if (st) return st;
        }
        return 0;
    }
    return plan_run(&plans[0], pool, nth, min_flops, terms_flops(M, N, t, n), scratch);
}

/* The row split's plans (cpu_sgemm_terms_rows): the terms planned for chunks of at most the kernel's MC rows
 * (each chunk takes the few-rows path, however many rows a thread has), *chunk set; 0 when the terms cannot
 * be split by rows. */
static int rows_plan(gemm_plan *plans, int isa, size_t M, size_t N, const cpu_gemm_term *t, int n, size_t *scratch,
                     size_t *chunk) {
    double b_bytes = 0.0; /* every thread reads all of every B */
    for (int i = 0; i < n && i < CPU_GEMM_TERMS_MAX; i++) b_bytes += (double)t[i].K * (double)N * sizeof(float);
    *chunk = min_sz(M, cpu_gemm_kernel_for(isa)->mc);
    return n >= 1 && n <= CPU_GEMM_TERMS_MAX && b_bytes <= CPU_GEMM_ROWS_MAX_B_BYTES &&
           terms_plan(plans, isa, *chunk, N, t, n, scratch);
}

/* Rows [m0, m1) of the planned terms, chunk by chunk. */
static void rows_run(const gemm_plan *p, size_t chunk, size_t m0, size_t m1, float *ws) {
    for (size_t r = m0; r < m1; r += chunk) {
        packed_state ps = {0};
        gemm_region(p, 0, r, min_sz(m1, r + chunk), 0, p->N, ws, &ps);
    }
}

/* The threads the row split uses: as many as the work allows (plan_threads' count; its parts are not used),
 * at most one per row. */
static int rows_threads(gemm_plan *p, int nth, double min_flops, size_t M, size_t N, const cpu_gemm_term *t, int n) {
    plan_threads(p, nth < 1 ? 1 : nth, min_flops, terms_flops(M, N, t, n));
    return (size_t)p->nt < M ? p->nt : (int)M;
}

int cpu_sgemm_terms_rows_plan(int nth, double min_flops, int isa, size_t M, size_t N, const cpu_gemm_term *t, int n,
                              size_t *scratch_floats) {
    gemm_plan plans[CPU_GEMM_TERMS_MAX];
    size_t chunk;
    if (!rows_plan(plans, isa, M, N, t, n, scratch_floats, &chunk)) return 0;
    return rows_threads(&plans[0], nth, min_flops, M, N, t, n);
}

void cpu_sgemm_terms_rows_run(int isa, size_t M, size_t N, const cpu_gemm_term *t, int n, size_t m0, size_t m1,
                              float *ws) {
    gemm_plan plans[CPU_GEMM_TERMS_MAX];
    size_t scratch, chunk;
    if (m0 < m1 && rows_plan(plans, isa, M, N, t, n, &scratch, &chunk)) rows_run(&plans[0], chunk, m0, m1, ws);
}

typedef struct rows_task {
    const gemm_plan *p;
    size_t M, chunk;
    cpu_task_fn then;
    void *ctx;
} rows_task;

/* Slice ith of the rows: every term on all columns, then the caller's pass on the same rows. */
static void terms_rows_task(void *arg, int ith, int nth) {
    const rows_task *r = arg;
    const size_t m0 = r->M * (size_t)ith / (size_t)nth, m1 = r->M * (size_t)(ith + 1) / (size_t)nth;
    rows_run(r->p, r->chunk, m0, m1, cpu_pool_scratch(r->p->pool, ith));
    r->then(r->ctx, ith, nth);
}

int cpu_sgemm_terms_rows(cpu_pool *pool, int nth, double min_flops, int isa, size_t M, size_t N,
                         const cpu_gemm_term *t, int n, cpu_task_fn then, void *ctx) {
    gemm_plan plans[CPU_GEMM_TERMS_MAX];
    size_t scratch = 0, chunk;
    if (!rows_plan(plans, isa, M, N, t, n, &scratch, &chunk)) return CPU_GEMM_UNFUSED;
    gemm_plan *p = &plans[0];
    p->pool = pool;
    const int nt = rows_threads(p, nth < cpu_pool_size(pool) ? nth : cpu_pool_size(pool), min_flops, M, N, t, n);
    rows_task r = {.p = p, .M = M, .chunk = chunk, .then = then, .ctx = ctx};
    cpu_pool_lock(pool);
    if (cpu_pool_reserve(pool, scratch * sizeof(float))) {
        cpu_pool_unlock(pool);
        return ENOMEM;
    }
    cpu_pool_run_locked(pool, terms_rows_task, &r, nt);
    cpu_pool_unlock(pool);
    return 0;
}
