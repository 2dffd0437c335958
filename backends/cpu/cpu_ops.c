/*
 * The cpu backend's op table. Every compute op runs on the device's pool: the slice (ith, nth) of the
 * reference kernel (backends/ref/ref_kernels.h), or the backend's own code where it has some (SGEMM,
 * sum_sq, and the SIMD cells and activations of cpu_simd.c). Results never depend on the thread count:
 * the ref kernels write every output element from one slice with the same arithmetic, and the own code
 * keeps fixed reduction orders.
 *
 * Small ops stay on the calling thread: an op is split only when each thread gets at least
 * MIN_CHEAP (memory-bound ops) or MIN_HEAVY (exp/log/sqrt per element) elements.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"
#include "cpu_simd.h"
#include "ref_kernels.h"

#define MIN_CHEAP 32768
#define MIN_HEAVY 4096

#define F(p) cpu_f(p)
#define I(p) cpu_i(p)

/* Slices per thread: a faster core steals the tail of a slower one's (cpu_pool.h, parts with stealing). */
#define SLICES_PER_THREAD 4

void cpu_run_parts(cpu_dev *d, cpu_task_fn fn, void *ctx, size_t work, size_t min_per_thread, size_t parts) {
    int nt = d->threads;
    size_t cap = d->split_small ? SIZE_MAX : work / (min_per_thread ? min_per_thread : 1);
    if (parts < cap) cap = parts;
    if (cap < (size_t)nt) nt = cap < 1 ? 1 : (int)cap;
    if (nt == 1) {
        fn(ctx, 0, 1);
        return;
    }
    /* as many slices as the work allows, up to SLICES_PER_THREAD per thread */
    size_t slices = (size_t)nt * SLICES_PER_THREAD;
    if (cap < slices) slices = cap;
    cpu_pool_lock(d->pool);
    cpu_pool_run_parts_locked(d->pool, fn, ctx, slices, nt);
    cpu_pool_unlock(d->pool);
}

/* d->partials with room for n doubles; call with the pool locked. */
static double *partials(cpu_dev *d, size_t n) {
    if (n == 0) n = 1; /* a valid pointer even for empty inputs */
    if (d->partials_len < n) {
        double *np = realloc(d->partials, n * sizeof *np);
        if (!np) return NULL;
        d->partials = np;
        d->partials_len = n;
    }
    return d->partials;
}

static int invalid_act(int act) { return cpu_error(RECUR_E_INVALID, "cpu: unknown activation %d", act); }

/* ---- memory ---- */

typedef struct {
    size_t n;
    float value;
    float *y;
} fill_a;
static void fill_t(void *p, int ith, int nth) {
    fill_a *a = p;
    recur_k_fill(a->n, a->value, a->y, ith, nth);
}
static int c_fill(void *dev, size_t n, float value, recur_ptr y) {
    fill_a a = {n, value, F(y)};
    cpu_run(dev, fill_t, &a, n, MIN_CHEAP);
    return RECUR_OK;
}

typedef struct {
    size_t rows, cols;
    const float *x;
    size_t ldx;
    float *y;
    size_t ldy;
} copy_a;
static void copy_t(void *p, int ith, int nth) {
    copy_a *a = p;
    recur_k_copy(a->rows, a->cols, a->x, a->ldx, a->y, a->ldy, ith, nth);
}
/* A contiguous block (or one row): split over elements, so that a single long row is threaded too. */
static void copy_flat_t(void *p, int ith, int nth) {
    copy_a *a = p;
    size_t lo, hi;
    recur_k_slice(a->rows * a->cols, ith, nth, &lo, &hi);
    if (hi > lo) memmove(a->y + lo, a->x + lo, (hi - lo) * sizeof(float));
}
static int c_copy(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, recur_ptr y, size_t ldy) {
    copy_a a = {rows, cols, F(x), ldx, F(y), ldy};
    if (a.x == a.y || rows == 0 || cols == 0) return RECUR_OK; /* in place (ldx == ldy): nothing to move */
    if (rows == 1 || (ldx == cols && ldy == cols)) cpu_run(dev, copy_flat_t, &a, rows * cols, MIN_CHEAP);
    else cpu_run_parts(dev, copy_t, &a, rows * cols, MIN_CHEAP, rows);
    return RECUR_OK;
}

typedef struct {
    copy_a m;
    void (*fn)(size_t rows, const float *x, size_t ldx, float *y, size_t ldy, size_t c0, size_t c1);
} transpose_a;
static void transpose_t(void *p, int ith, int nth) {
    transpose_a *a = p;
    if (!a->fn) {
        recur_k_transpose(a->m.rows, a->m.cols, a->m.x, a->m.ldx, a->m.y, a->m.ldy, ith, nth);
        return;
    }
    size_t lo, hi; /* the ref kernel's split: columns of x */
    recur_k_slice(a->m.cols, ith, nth, &lo, &hi);
    a->fn(a->m.rows, a->m.x, a->m.ldx, a->m.y, a->m.ldy, lo, hi);
}
static int c_transpose(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, recur_ptr y, size_t ldy) {
    cpu_dev *d = dev;
    transpose_a a = {{rows, cols, F(x), ldx, F(y), ldy}, cpu_gemm_kernel_for(d->isa)->transpose};
    if (ldy > INT_MAX) a.fn = NULL; /* the SIMD path's panel stride is an int */
    cpu_run_parts(dev, transpose_t, &a, rows * cols, MIN_CHEAP, cols);
    return RECUR_OK;
}

typedef struct {
    size_t n;
    float alpha, beta;
    const float *x, *b;
    float *y;
} ew_a;
static void scale_t(void *p, int ith, int nth) {
    ew_a *a = p;
    recur_k_scale(a->n, a->alpha, a->y, ith, nth);
}
static int c_scale(void *dev, size_t n, float alpha, recur_ptr y) {
    ew_a a = {.n = n, .alpha = alpha, .y = F(y)};
    cpu_run(dev, scale_t, &a, n, MIN_CHEAP);
    return RECUR_OK;
}
static void axpy_t(void *p, int ith, int nth) {
    ew_a *a = p;
    recur_k_axpy(a->n, a->alpha, a->x, a->y, ith, nth);
}
static int c_axpy(void *dev, size_t n, float alpha, recur_ptr x, recur_ptr y) {
    ew_a a = {.n = n, .alpha = alpha, .x = F(x), .y = F(y)};
    cpu_run(dev, axpy_t, &a, n, MIN_CHEAP);
    return RECUR_OK;
}
static void mul_t(void *p, int ith, int nth) {
    ew_a *a = p;
    recur_k_mul(a->n, a->alpha, a->x, a->b, a->beta, a->y, ith, nth);
}
static int c_mul(void *dev, size_t n, float alpha, recur_ptr x, recur_ptr b, float beta, recur_ptr y) {
    ew_a a = {.n = n, .alpha = alpha, .beta = beta, .x = F(x), .b = F(b), .y = F(y)};
    cpu_run(dev, mul_t, &a, n, MIN_CHEAP);
    return RECUR_OK;
}

/* ---- GEMM ---- */

static int c_gemm(void *dev, int ta, int tb, size_t M, size_t N, size_t K, float alpha, recur_ptr A, size_t lda,
                  size_t sa, recur_ptr B, size_t ldb, size_t sb, float beta, recur_ptr C, size_t ldc, size_t sc,
                  size_t batch) {
    cpu_dev *d = dev;
    if (cpu_sgemm(d->pool, d->threads, cpu_gemm_min_flops(d), d->isa, ta, tb, M, N, K, alpha, F(A), lda, sa, F(B), ldb,
                  sb, beta, F(C), ldc, sc, batch))
        return cpu_error(RECUR_E_NOMEM, "cpu: gemm: out of memory for packing buffers (M=%zu N=%zu K=%zu)", M, N, K);
    return RECUR_OK;
}

/* ---- bias and reductions ---- */

typedef struct {
    const cpu_simd_kernels *k;
    size_t rows, cols;
    const float *x;
    size_t ldx;
    float beta;
    float *y;
    size_t ldy;
} rows_a;
static void add_bias_t(void *p, int ith, int nth) {
    rows_a *a = p;
    if (!a->k) {
        recur_k_add_bias(a->rows, a->cols, a->x, a->y, a->ldy, ith, nth);
        return;
    }
    size_t lo, hi;
    recur_k_slice(a->rows, ith, nth, &lo, &hi);
    for (size_t r = lo; r < hi; r++) a->k->add_bias_row(a->cols, a->x, a->y + r * a->ldy);
}
static int c_add_bias(void *dev, size_t rows, size_t cols, recur_ptr bias, recur_ptr y, size_t ldy) {
    cpu_dev *d = dev;
    rows_a a = {.k = cpu_simd_for(d->isa), .rows = rows, .cols = cols, .x = F(bias), .y = F(y), .ldy = ldy};
    cpu_run_parts(dev, add_bias_t, &a, rows * cols, MIN_CHEAP, rows);
    return RECUR_OK;
}
/* Column sums in increasing r in double, as recur_k_sum_rows, but walking the rows (contiguous) for a block
 * of columns at a time instead of one column down all rows (a cache miss per element). Split over columns;
 * bit-identical to the ref kernel. */
#define SR_COLS 512
/* The body of sum_rows_t for one slice [lo, hi) of the columns: per column, the same double additions in
 * increasing r as the ref kernel, whatever the vector width the compiler picks. */
#define SUM_ROWS_BODY(a, lo, hi)                                                                                  \
    do {                                                                                                          \
        double acc[SR_COLS];                                                                                      \
        for (size_t c0 = (lo); c0 < (hi); c0 += SR_COLS) {                                                        \
            const size_t w = (hi) - c0 < SR_COLS ? (hi) - c0 : SR_COLS;                                           \
            for (size_t c = 0; c < w; c++) acc[c] = 0.0;                                                          \
            for (size_t r = 0; r < (a)->rows; r++) {                                                              \
                const float *xr = (a)->x + r * (a)->ldx + c0;                                                     \
                for (size_t c = 0; c < w; c++) acc[c] += xr[c];                                                   \
            }                                                                                                     \
            float *y = (a)->y + c0;                                                                               \
            if ((a)->beta == 0.0f)                                                                                \
                for (size_t c = 0; c < w; c++) y[c] = (float)acc[c];                                              \
            else                                                                                                  \
                for (size_t c = 0; c < w; c++) y[c] = (float)((double)(a)->beta * y[c] + acc[c]);                \
        }                                                                                                         \
    } while (0)
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* The same loops compiled for AVX2 (4 doubles a vector instead of 2); no FMA, so no contraction. */
__attribute__((target("avx2"))) static void sum_rows_avx2(const rows_a *a, size_t lo, size_t hi) {
    SUM_ROWS_BODY(a, lo, hi);
}
#endif
static void sum_rows_t(void *p, int ith, int nth) {
    rows_a *a = p;
    size_t lo, hi;
    recur_k_slice(a->cols, ith, nth, &lo, &hi);
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (a->k) { /* an AVX2 or AVX-512 device */
        sum_rows_avx2(a, lo, hi);
        return;
    }
#endif
    SUM_ROWS_BODY(a, lo, hi);
}
#undef SUM_ROWS_BODY
static int c_sum_rows(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, float beta, recur_ptr y) {
    rows_a a = {.k = cpu_simd_for(((cpu_dev *)dev)->isa), .rows = rows, .cols = cols, .x = F(x), .ldx = ldx,
                .beta = beta, .y = F(y)};
    /* at least 16 columns (a cache line) per thread */
    cpu_run_parts(dev, sum_rows_t, &a, rows * cols, MIN_CHEAP, cols / 16);
    return RECUR_OK;
}

/* sum_sq: fixed blocks of SS_BLOCK elements (independent of the thread count), each summed in double in a
 * fixed order (8 interleaved partial sums, then those in order); the block sums are added in block order. */
#define SS_BLOCK 4096
typedef struct {
    size_t n, nblocks;
    const float *x;
    double *part;
} ss_a;
static double block_sum_sq(const float *x, size_t len) {
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= len; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += (double)x[i + (size_t)j] * (double)x[i + (size_t)j];
    for (int j = 0; i < len; i++, j++) acc[j] += (double)x[i] * (double)x[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}
static void sum_sq_t(void *p, int ith, int nth) {
    ss_a *a = p;
    size_t lo, hi;
    recur_k_slice(a->nblocks, ith, nth, &lo, &hi);
    for (size_t b = lo; b < hi; b++) {
        const size_t start = b * SS_BLOCK, len = a->n - start < SS_BLOCK ? a->n - start : SS_BLOCK;
        a->part[b] = block_sum_sq(a->x + start, len);
    }
}
static int c_sum_sq(void *dev, size_t n, recur_ptr x, recur_ptr out) {
    cpu_dev *d = dev;
    ss_a a = {.n = n, .nblocks = (n + SS_BLOCK - 1) / SS_BLOCK, .x = F(x)};
    if (a.nblocks <= 1) {
        *F(out) = (float)block_sum_sq(a.x, n);
        return RECUR_OK;
    }
    cpu_pool_lock(d->pool);
    if (!(a.part = partials(d, a.nblocks))) {
        cpu_pool_unlock(d->pool);
        return cpu_error(RECUR_E_NOMEM, "cpu: sum_sq: out of memory (%zu blocks)", a.nblocks);
    }
    int nt = d->threads;
    if (a.nblocks < (size_t)nt) nt = (int)a.nblocks;
    if ((size_t)nt > n / MIN_CHEAP && !d->split_small) nt = n / MIN_CHEAP < 1 ? 1 : (int)(n / MIN_CHEAP);
    cpu_pool_run_locked(d->pool, sum_sq_t, &a, nt);
    double s = 0.0;
    for (size_t b = 0; b < a.nblocks; b++) s += a.part[b];
    cpu_pool_unlock(d->pool);
    *F(out) = (float)s;
    return RECUR_OK;
}

/* ---- activations and softmax ---- */

typedef struct {
    cpu_dev *d;
    int act;
    size_t n;
    const float *x, *dy;
    float beta;
    float *y;
} act_a;
static void act_fwd_t(void *p, int ith, int nth) {
    act_a *a = p;
    size_t lo, hi;
    recur_k_slice(a->n, ith, nth, &lo, &hi);
    if (!cpu_simd_act_fwd(a->d->isa, a->act, hi - lo, a->x + lo, a->y + lo))
        recur_k_act_fwd(a->act, a->n, a->x, a->y, ith, nth);
}
static int c_act_fwd(void *dev, int act, size_t n, recur_ptr x, recur_ptr y) {
    if (act < RECUR_ACT_IDENTITY || act > RECUR_ACT_RELU) return invalid_act(act);
    act_a a = {.d = dev, .act = act, .n = n, .x = F(x), .y = F(y)};
    const int heavy = act == RECUR_ACT_SIGMOID || act == RECUR_ACT_TANH;
    cpu_run(dev, act_fwd_t, &a, n, heavy ? MIN_HEAVY : MIN_CHEAP);
    return RECUR_OK;
}
/* The loop of recur_k_act_bwd with the activation and the beta == 0 test taken out of it, so that it
 * vectorises: the same float operations per element (bit-identical; dx == dy allowed). */
#define ACT_BWD_LOOP(GRAD)                                                                                        \
    do {                                                                                                          \
        if (beta == 0.0f)                                                                                         \
            for (size_t i = lo; i < hi; i++) {                                                                    \
                const float yv = y[i];                                                                            \
                dx[i] = dy[i] * (GRAD);                                                                           \
            }                                                                                                     \
        else                                                                                                      \
            for (size_t i = lo; i < hi; i++) {                                                                    \
                const float yv = y[i];                                                                            \
                const float v = dy[i] * (GRAD);                                                                   \
                dx[i] = v + beta * dx[i];                                                                         \
            }                                                                                                     \
    } while (0)
static void act_bwd_t(void *p, int ith, int nth) {
    act_a *a = p;
    size_t lo, hi;
    recur_k_slice(a->n, ith, nth, &lo, &hi);
    const float *y = a->x, *dy = a->dy;
    const float beta = a->beta;
    float *dx = a->y;
    switch (a->act) {
    case RECUR_ACT_SIGMOID: ACT_BWD_LOOP(yv * (1.0f - yv)); break;
    case RECUR_ACT_TANH: ACT_BWD_LOOP(1.0f - yv * yv); break;
    default: recur_k_act_bwd(a->act, a->n, a->x, a->dy, a->beta, a->y, ith, nth); break;
    }
}
#undef ACT_BWD_LOOP
static int c_act_bwd(void *dev, int act, size_t n, recur_ptr y, recur_ptr dy, float beta, recur_ptr dx) {
    if (act < RECUR_ACT_IDENTITY || act > RECUR_ACT_RELU) return invalid_act(act);
    act_a a = {.act = act, .n = n, .x = F(y), .dy = F(dy), .beta = beta, .y = F(dx)};
    cpu_run(dev, act_bwd_t, &a, n, MIN_CHEAP);
    return RECUR_OK;
}

typedef struct {
    const cpu_simd_kernels *k;
    size_t rows, cols;
    const float *x, *dy;
    const int32_t *lengths;
    float *y;
} sm_a;
static void softmax_fwd_t(void *p, int ith, int nth) {
    sm_a *a = p;
    if (!a->k) {
        recur_k_softmax_fwd(a->rows, a->cols, a->x, a->lengths, a->y, ith, nth);
        return;
    }
    size_t lo, hi;
    recur_k_slice(a->rows, ith, nth, &lo, &hi);
    for (size_t r = lo; r < hi; r++) {
        size_t L = a->cols;
        if (a->lengths) L = a->lengths[r] <= 0 ? 0 : (size_t)a->lengths[r] < a->cols ? (size_t)a->lengths[r] : a->cols;
        a->k->softmax_row(L, a->cols, a->x + r * a->cols, a->y + r * a->cols);
    }
}
static int c_softmax_fwd(void *dev, size_t rows, size_t cols, recur_ptr x, recur_ptr lengths, recur_ptr y) {
    cpu_dev *d = dev;
    sm_a a = {.k = cpu_simd_for(d->isa), .rows = rows, .cols = cols, .x = F(x), .lengths = I(lengths), .y = F(y)};
    cpu_run_parts(dev, softmax_fwd_t, &a, rows * cols, MIN_HEAVY, rows);
    return RECUR_OK;
}
static void softmax_bwd_t(void *p, int ith, int nth) {
    sm_a *a = p;
    recur_k_softmax_bwd(a->rows, a->cols, a->x, a->dy, a->y, ith, nth);
}
static int c_softmax_bwd(void *dev, size_t rows, size_t cols, recur_ptr y, recur_ptr dy, recur_ptr dx) {
    sm_a a = {.rows = rows, .cols = cols, .x = F(y), .dy = F(dy), .y = F(dx)};
    cpu_run_parts(dev, softmax_bwd_t, &a, rows * cols, MIN_CHEAP, rows);
    return RECUR_OK;
}

/* ---- masked select ---- */

typedef struct {
    size_t B, N;
    const float *a;
    size_t lda;
    const float *other;
    size_t ldo;
    float *y;
    size_t ldy;
    const int32_t *lengths;
    size_t t;
} sel_a;
static void select_t(void *p, int ith, int nth) {
    sel_a *a = p;
    recur_k_select_step(a->B, a->N, a->a, a->lda, a->other, a->ldo, a->y, a->ldy, a->lengths, a->t, ith, nth);
}
static int c_select_step(void *dev, size_t B, size_t N, recur_ptr a_, size_t lda, recur_ptr other, size_t ldo,
                         recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    sel_a a = {B, N, F(a_), lda, F(other), ldo, F(y), ldy, I(lengths), t};
    cpu_run_parts(dev, select_t, &a, B * N, MIN_CHEAP, B);
    return RECUR_OK;
}

/* ---- embedding ---- */

typedef struct {
    size_t n, dim;
    const int32_t *ids;
    const float *src;
    int32_t padding_idx;
    float *dst;
} emb_a;
static void embed_fwd_t(void *p, int ith, int nth) {
    emb_a *a = p;
    recur_k_embed_fwd(a->n, a->dim, a->ids, a->src, a->dst, ith, nth);
}
static int c_embed_fwd(void *dev, size_t n, size_t dim, recur_ptr ids, recur_ptr table, recur_ptr out) {
    emb_a a = {.n = n, .dim = dim, .ids = I(ids), .src = F(table), .dst = F(out)};
    cpu_run_parts(dev, embed_fwd_t, &a, n * dim, MIN_CHEAP, n);
    return RECUR_OK;
}
static void embed_bwd_t(void *p, int ith, int nth) {
    emb_a *a = p;
    recur_k_embed_bwd(a->n, a->dim, a->ids, a->src, a->padding_idx, a->dst, ith, nth);
}
static int c_embed_bwd(void *dev, size_t n, size_t dim, recur_ptr ids, recur_ptr dout, int32_t padding_idx,
                       recur_ptr dtable) {
    emb_a a = {.n = n, .dim = dim, .ids = I(ids), .src = F(dout), .padding_idx = padding_idx, .dst = F(dtable)};
    /* split over columns: below 16 columns per thread the slices share cache lines */
    cpu_run_parts(dev, embed_bwd_t, &a, n * dim, MIN_CHEAP, dim / 16);
    return RECUR_OK;
}

/* ---- losses ---- */

static int check_red(int r) {
    return r != RECUR_REDUCE_MEAN && r != RECUR_REDUCE_SUM ? cpu_error(RECUR_E_INVALID, "cpu: unknown reduction %d", r)
                                                           : RECUR_OK;
}

typedef struct {
    size_t N, C;
    const float *logits, *ftargets, *weights;
    const int32_t *targets;
    int32_t ignore_index;
    float smoothing;
    int reduction;
    float grad_scale;
    float *loss, *grad;
} loss_a;
static void xent_t(void *p, int ith, int nth) {
    loss_a *a = p;
    recur_k_xent(a->N, a->C, a->logits, a->targets, a->weights, a->ignore_index, a->smoothing, a->reduction,
                 a->grad_scale, a->loss, a->grad, ith, nth);
}

/* The SIMD path: one pass per row gives its gradient and its loss terms nll_i, smooth_i (into part[2i],
 * part[2i+1]); the caller adds those in increasing i, so the loss does not depend on the thread count. */
typedef struct {
    loss_a l;
    const cpu_simd_kernels *k;
    double W, S, norm;
    double *part;
} xent_s;
static void xent_simd_t(void *p, int ith, int nth) {
    xent_s *a = p;
    const size_t C = a->l.C;
    const double eps = a->l.smoothing, eps_c = (double)a->l.smoothing / (double)C;
    const double gs = (double)a->l.grad_scale / a->norm;
    const int grad = a->l.grad && a->norm != 0.0;
    size_t lo, hi;
    recur_k_slice(a->l.N, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        const float *x = a->l.logits + i * C;
        float *d = a->l.grad ? a->l.grad + i * C : NULL;
        const int32_t y = a->l.targets[i];
        if (y == a->l.ignore_index) {
            if (d) memset(d, 0, C * sizeof(float));
            if (a->part) a->part[2 * i] = a->part[2 * i + 1] = 0.0;
            continue;
        }
        const double wy = a->l.weights ? a->l.weights[y] : 1.0;
        /* dloss/dx_k = gs ((1 - eps) wy (p_k - [k = y]) + eps_c (S p_k - w_k)) */
        const float coef_p = (float)(gs * ((1.0 - eps) * wy + eps_c * a->S)), coef_w = (float)(gs * eps_c);
        double wx;
        const double lse = a->k->xent_row(C, x, a->l.weights, coef_p, coef_w, grad ? d : NULL, &wx);
        if (d) {
            if (grad) { /* the target's entry, where p - 1 cancels: in double */
                const double py = exp((double)x[y] - lse);
                d[y] = (float)(gs * ((1.0 - eps) * wy * (py - 1.0) + eps_c * (a->S * py - wy)));
            } else {
                memset(d, 0, C * sizeof(float));
            }
        }
        if (a->part) {
            a->part[2 * i] = -wy * ((double)x[y] - lse);
            a->part[2 * i + 1] = a->S * lse - wx;
        }
    }
}

static int c_xent(void *dev, size_t N, size_t C, recur_ptr logits, recur_ptr targets, recur_ptr weights,
                  int32_t ignore_index, float smoothing, int reduction, float grad_scale, recur_ptr loss,
                  recur_ptr dlogits) {
    if (check_red(reduction)) return RECUR_E_INVALID;
    if (!(smoothing >= 0.0f && smoothing <= 1.0f))
        return cpu_error(RECUR_E_INVALID, "cpu: label_smoothing = %g, must be in [0, 1]", (double)smoothing);
    cpu_dev *d = dev;
    loss_a a = {.N = N, .C = C, .logits = F(logits), .targets = I(targets), .weights = F(weights),
                .ignore_index = ignore_index, .smoothing = smoothing, .reduction = reduction,
                .grad_scale = grad_scale, .loss = F(loss), .grad = F(dlogits)};
    const cpu_simd_kernels *k = cpu_simd_for(d->isa);
    if (!k || C == 0) {
        /* without a gradient only ith == 0 has work (the loss) */
        cpu_run_parts(dev, xent_t, &a, N * C, MIN_HEAVY, a.grad ? N : 1);
        return RECUR_OK;
    }
    xent_s s = {.l = a, .k = k};
    for (size_t i = 0; i < N; i++)
        if (a.targets[i] != ignore_index) s.W += a.weights ? a.weights[a.targets[i]] : 1.0;
    for (size_t c = 0; c < C; c++) s.S += a.weights ? a.weights[c] : 1.0;
    s.norm = reduction == RECUR_REDUCE_MEAN ? s.W : 1.0;
    cpu_pool_lock(d->pool);
    if (a.loss && !(s.part = partials(d, 2 * N))) {
        cpu_pool_unlock(d->pool);
        return cpu_error(RECUR_E_NOMEM, "cpu: xent: out of memory (%zu rows)", N);
    }
    int nt = d->threads;
    size_t cap = d->split_small ? N : N * C / MIN_HEAVY;
    if (cap > N) cap = N;
    if (cap < (size_t)nt) nt = cap < 1 ? 1 : (int)cap;
    cpu_pool_run_locked(d->pool, xent_simd_t, &s, nt);
    if (a.loss) {
        double nll = 0.0, smooth = 0.0;
        for (size_t i = 0; i < N; i++) {
            nll += s.part[2 * i];
            smooth += s.part[2 * i + 1];
        }
        const double eps = smoothing, eps_c = (double)smoothing / (double)C;
        *a.loss = (float)(((1.0 - eps) * nll + eps_c * smooth) / s.norm);
    }
    cpu_pool_unlock(d->pool);
    return RECUR_OK;
}
static void bce_t(void *p, int ith, int nth) {
    loss_a *a = p;
    recur_k_bce(a->N, a->C, a->logits, a->ftargets, a->weights, a->reduction, a->grad_scale, a->loss, a->grad, ith,
                nth);
}
static int c_bce(void *dev, size_t n, size_t C, recur_ptr logits, recur_ptr targets, recur_ptr pos_weight,
                 int reduction, float grad_scale, recur_ptr loss, recur_ptr dlogits) {
    if (check_red(reduction)) return RECUR_E_INVALID;
    loss_a a = {.N = n, .C = C, .logits = F(logits), .ftargets = F(targets), .weights = F(pos_weight),
                .reduction = reduction, .grad_scale = grad_scale, .loss = F(loss), .grad = F(dlogits)};
    cpu_run_parts(dev, bce_t, &a, n, MIN_HEAVY, a.grad ? n : 1);
    return RECUR_OK;
}
static void mse_t(void *p, int ith, int nth) {
    loss_a *a = p;
    recur_k_mse(a->N, a->logits, a->ftargets, a->reduction, a->grad_scale, a->loss, a->grad, ith, nth);
}
static int c_mse(void *dev, size_t n, recur_ptr pred, recur_ptr target, int reduction, float grad_scale,
                 recur_ptr loss, recur_ptr dpred) {
    if (check_red(reduction)) return RECUR_E_INVALID;
    loss_a a = {.N = n, .logits = F(pred), .ftargets = F(target), .reduction = reduction, .grad_scale = grad_scale,
                .loss = F(loss), .grad = F(dpred)};
    cpu_run_parts(dev, mse_t, &a, n, MIN_CHEAP, a.grad ? n : 1);
    return RECUR_OK;
}

/* ---- optimizers, clipping, dropout ---- */

typedef struct {
    const cpu_simd_kernels *k;
    cpu_adam_consts adam;
    size_t n;
    float *p, *m, *v;
    const float *g;
    float lr, b1, b2, eps, wd, dampening;
    int flag1, flag2;
    int64_t step;
    uint64_t seed, counter;
    const float *x;
} opt_a;
static void sgd_t(void *p, int ith, int nth) {
    opt_a *a = p;
    recur_k_sgd(a->n, a->p, a->g, a->m, a->lr, a->b1, a->dampening, a->flag1, a->wd, a->step, ith, nth);
}
static int c_sgd(void *dev, size_t n, recur_ptr param, recur_ptr grad, recur_ptr buf, float lr, float momentum,
                 float dampening, int nesterov, float wd, int64_t step) {
    opt_a a = {.n = n, .p = F(param), .g = F(grad), .m = F(buf), .lr = lr, .b1 = momentum, .dampening = dampening,
               .flag1 = nesterov, .wd = wd, .step = step};
    cpu_run(dev, sgd_t, &a, n, MIN_CHEAP);
    return RECUR_OK;
}
static void adam_t(void *p, int ith, int nth) {
    opt_a *a = p;
    if (!a->k) {
        recur_k_adam(a->n, a->p, a->g, a->m, a->v, a->lr, a->b1, a->b2, a->eps, a->wd, a->flag1, a->step, ith, nth);
        return;
    }
    size_t lo, hi;
    recur_k_slice(a->n, ith, nth, &lo, &hi);
    a->k->adam(hi - lo, &a->adam, a->p + lo, a->g + lo, a->m + lo, a->v + lo);
}
static int c_adam(void *dev, size_t n, recur_ptr param, recur_ptr grad, recur_ptr m, recur_ptr v, float lr, float b1,
                  float b2, float eps, float wd, int decoupled, int64_t step) {
    cpu_dev *d = dev;
    opt_a a = {.k = cpu_simd_for(d->isa), .n = n, .p = F(param), .g = F(grad), .m = F(m), .v = F(v), .lr = lr,
               .b1 = b1, .b2 = b2, .eps = eps, .wd = wd, .flag1 = decoupled, .step = step};
    /* the constants exactly as recur_k_adam computes them */
    const double bc1 = 1.0 - pow((double)b1, (double)step), bc2 = 1.0 - pow((double)b2, (double)step);
    a.adam = (cpu_adam_consts){.b1 = b1, .b2 = b2, .omb1 = 1.0f - b1, .omb2 = 1.0f - b2, .eps = eps, .wd = wd,
                               .decay = 1.0f - lr * wd, .step_size = (float)((double)lr / bc1),
                               .bc2_sqrt = (float)sqrt(bc2), .decoupled = decoupled};
    cpu_run(dev, adam_t, &a, n, MIN_CHEAP);
    return RECUR_OK;
}
static void clip_norm_t(void *p, int ith, int nth) {
    opt_a *a = p;
    recur_k_clip_norm(a->n, a->p, a->g, a->lr, ith, nth);
}
static int c_clip_norm(void *dev, size_t n, recur_ptr grad, recur_ptr sumsq, float max_norm) {
    opt_a a = {.n = n, .p = F(grad), .g = F(sumsq), .lr = max_norm};
    cpu_run(dev, clip_norm_t, &a, n, MIN_CHEAP);
    return RECUR_OK;
}
static void clip_value_t(void *p, int ith, int nth) {
    opt_a *a = p;
    recur_k_clip_value(a->n, a->p, a->lr, ith, nth);
}
static int c_clip_value(void *dev, size_t n, recur_ptr grad, float limit) {
    opt_a a = {.n = n, .p = F(grad), .lr = limit};
    cpu_run(dev, clip_value_t, &a, n, MIN_CHEAP);
    return RECUR_OK;
}
void cpu_dropout_generic(size_t lo, size_t hi, float p, uint64_t seed, uint64_t counter, const float *x, float *y) {
    const float scale = 1.0f / (1.0f - p);
    size_t i = lo;
    while (i < hi) {
        /* one Philox4x32-10 block gives the words of elements 4q .. 4q+3 (recur_philox_u32 with k & 3 = 0..3) */
        const uint64_t k = counter + i, q = k >> 2;
        uint32_t c0 = (uint32_t)q, c1 = (uint32_t)(q >> 32), c2 = 0, c3 = 0;
        uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
        for (int round = 0; round < 10; round++) {
            const uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
            const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
            c1 = (uint32_t)p1;
            c3 = (uint32_t)p0;
            c0 = n0;
            c2 = n2;
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        const uint32_t w[4] = {c0, c1, c2, c3};
        for (unsigned s = (unsigned)(k & 3); s < 4 && i < hi; s++, i++) {
            const float u = (float)(w[s] >> 8) * (1.0f / 16777216.0f);
            y[i] = u >= p ? x[i] * scale : 0.0f;
        }
    }
}

static void dropout_t(void *p, int ith, int nth) {
    opt_a *a = p;
    size_t lo, hi;
    recur_k_slice(a->n, ith, nth, &lo, &hi);
    if (hi <= lo) return;
    if (a->lr == 0.0f) {
        if (a->x != a->p) memmove(a->p + lo, a->x + lo, (hi - lo) * sizeof(float));
    } else if (a->k && a->k->dropout) {
        a->k->dropout(lo, hi, a->lr, a->seed, a->counter, a->x, a->p);
    } else {
        cpu_dropout_generic(lo, hi, a->lr, a->seed, a->counter, a->x, a->p);
    }
}
static int c_dropout(void *dev, size_t n, float p, uint64_t seed, uint64_t counter, recur_ptr x, recur_ptr y) {
    if (!(p >= 0.0f && p < 1.0f))
        return cpu_error(RECUR_E_INVALID, "cpu: dropout p = %g, must be in [0, 1)", (double)p);
    cpu_dev *d = dev;
    opt_a a = {.k = cpu_simd_for(d->isa), .n = n, .lr = p, .seed = seed, .counter = counter, .x = F(x), .p = F(y)};
    cpu_run(dev, dropout_t, &a, n, p == 0.0f ? MIN_CHEAP : MIN_HEAVY);
    return RECUR_OK;
}

/* ---- the table ---- */

const recur_ops cpu_ops = {
    .abi_major = RECUR_ABI_MAJOR,
    .struct_size = sizeof(recur_ops),
    .buf_alloc = cpu_buf_alloc,
    .buf_free = cpu_buf_free,
    .host_ptr = cpu_host_ptr,
    .write = cpu_write,
    .read = cpu_read,
    .sync = cpu_sync,
    .fill = c_fill,
    .copy = c_copy,
    .scale = c_scale,
    .axpy = c_axpy,
    .mul = c_mul,
    .gemm = c_gemm,
    .add_bias = c_add_bias,
    .sum_rows = c_sum_rows,
    .sum_sq = c_sum_sq,
    .act_fwd = c_act_fwd,
    .act_bwd = c_act_bwd,
    .softmax_fwd = c_softmax_fwd,
    .softmax_bwd = c_softmax_bwd,
    .lstm_fwd = cpu_lstm_fwd,
    .lstm_bwd = cpu_lstm_bwd,
    .gru_fwd = cpu_gru_fwd,
    .gru_bwd = cpu_gru_bwd,
    .gru_reset = cpu_gru_reset,
    .gru_reset_bwd = cpu_gru_reset_bwd,
    .rnn_fwd = cpu_rnn_fwd,
    .rnn_bwd = cpu_rnn_bwd,
    .select_step = c_select_step,
    .embed_fwd = c_embed_fwd,
    .embed_bwd = c_embed_bwd,
    .xent_fwd_bwd = c_xent,
    .bce_fwd_bwd = c_bce,
    .mse_fwd_bwd = c_mse,
    .sgd_step = c_sgd,
    .adam_step = c_adam,
    .clip_norm = c_clip_norm,
    .clip_value = c_clip_value,
    .dropout = c_dropout,
    .transpose = c_transpose,
    .rnn_step = cpu_rnn_step,
    .rnn_step_input = cpu_rnn_step_input,
    .rnn_steps_input = cpu_rnn_steps_input,
    .rnn_steps = cpu_rnn_steps,
    .rnn_steps_bwd = cpu_rnn_steps_bwd,
};
