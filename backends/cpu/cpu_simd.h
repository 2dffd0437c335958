/*
 * Vectorised pointwise kernels of the cpu backend: activations and the valid-row math of the recurrent
 * cells, for AVX-512 and AVX2+FMA (cpu_simd_x86.c, from one template, cpu_simd_tmpl.h).
 *
 * sigmoid is computed from a vector exp (Cody-Waite reduction by ln 2, degree-6 polynomial, exponent by
 * integer add), tanh from a rational fit:
 *   sigmoid(x) = 1 / (1 + exp(-x))
 *   tanh(x)    = x P(x^2) / Q(x^2), x clamped to [-9, 9], the result to [-1, 1] (tools/fit_tanh.py)
 * Measured against double precision over [-20, 20] (and dense samples of [-1, 1]): max relative error
 * about 1.9e-7 for sigmoid and 3.3e-7 for tanh (a few ulp). On AVX2 exp's argument is clamped to
 * [-87, 88] (beyond: 0 or +inf), so sigmoid(x) for x in (-88.72, -88) returns 0 instead of a number under
 * 1.2e-38; on AVX-512 exp over- and underflows as the true one does.
 * NaN propagates; +-inf give the limits (0 or 1, +-1).
 *
 * The row kernels take one valid row of a cell (the caller handles invalid rows with the ref kernel) and
 * follow the equations of backends/ref/ref_cells.c; they load every input of a group of lanes before
 * storing its outputs, so the in-place uses the ops allow (c == c_prev, h == h_prev, pre == h) are safe.
 */
#ifndef RECUR_CPU_SIMD_H
#define RECUR_CPU_SIMD_H

#include <stddef.h>
#include <stdint.h>

/* Adam's per-call constants, computed as recur_k_adam computes them. */
typedef struct cpu_adam_consts {
    float b1, b2, omb1, omb2; /* beta1, beta2, 1 - beta1, 1 - beta2 */
    float eps, wd, decay;     /* decay = 1 - lr wd (AdamW) */
    float step_size, bc2_sqrt; /* lr / (1 - b1^t), sqrt(1 - b2^t), from double */
    int decoupled;
} cpu_adam_consts;

typedef struct cpu_simd_kernels {
    const char *name;
    void (*sigmoid)(size_t n, const float *x, float *y);
    void (*tanh)(size_t n, const float *x, float *y);
    /* LSTM forward, one valid row: g4 (4H) pre-activations in, activations out; acc (4H, may be NULL: the
     * step's recurrent product, when its GEMM kept it apart), then b1, b2 (4H, may be NULL: rnn_step's
     * biases) are added to the pre-activations first, in that order; c_prev, c, h (H); y may be NULL. */
    void (*lstm_fwd_row)(size_t H, float *g4, const float *acc, const float *b1, const float *b2,
                         const float *c_prev, float *c, float *h, float *y);
    /* LSTM backward, one valid row; dy may be NULL. */
    void (*lstm_bwd_row)(size_t H, const float *g4, const float *c_prev, const float *c, const float *dy, float *dh,
                         float *dc, float *dg4);
    /* GRU forward, one valid row; h_prev and y may be NULL. reset_after only: bx (3H) is added to x3 and bh
     * to h3 first (NULL: none), and h3 keeps bh (backward reads it). */
    void (*gru_fwd_row)(size_t H, int reset_after, float *x3, const float *bx, float *h3, const float *bh,
                        const float *h_prev, float *h, float *y);
    /* GRU backward, one valid row; h_prev and dy may be NULL. */
    void (*gru_bwd_row)(size_t H, int reset_after, const float *x3, const float *h3, const float *h_prev,
                        const float *dy, float *dh, float *dx3, float *dh3);
    /* Original GRU's reset half, one valid row; h_prev may be NULL. */
    void (*gru_reset_row)(size_t H, float *x3, const float *h3, const float *h_prev, float *rh);
    /* Elman RNN forward with tanh, one valid row; b1, b2 (may be NULL) are added to pre first and kept
     * there; y may be NULL. */
    void (*rnn_tanh_row)(size_t H, float *pre, const float *b1, const float *b2, float *h, float *y);
    /* Elman RNN backward, one valid row (tanh, or relu when relu != 0); dy may be NULL. Bit-identical to ref. */
    void (*rnn_bwd_row)(size_t H, int relu, const float *h, const float *dy, float *dh, float *dpre);
    /* y[c] += bias[c], c < n. Bit-identical to ref. */
    void (*add_bias_row)(size_t n, const float *bias, float *y);
    /* Adam / AdamW over n elements, the same float operations as recur_k_adam (bit-identical). */
    void (*adam)(size_t n, const cpu_adam_consts *k, float *p, const float *g, float *m, float *v);
    /* Softmax of one row: y[:L] = softmax(x[:L]), y[L:cols] = 0; x == y allowed. */
    void (*softmax_row)(size_t L, size_t cols, const float *x, float *y);
    /* Softmax cross-entropy of one kept row (target y): returns lse = log sum_c exp(x_c) (double sum of
     * float exps); *wx = sum_c w_c x_c (w = 1 without weights). d (may be NULL) gets
     *   d_k = coef_p p_k - coef_w w_k  (p = softmax(x)),  then d_y = dy (computed by the caller in double). */
    double (*xent_row)(size_t C, const float *x, const float *w, float coef_p, float coef_w, float *d, double *wx);
    /* Dropout of elements [lo, hi) (y[i], x[i] for lo <= i < hi), p > 0; NULL: use cpu_dropout_generic. */
    void (*dropout)(size_t lo, size_t hi, float p, uint64_t seed, uint64_t counter, const float *x, float *y);
} cpu_simd_kernels;

/* Dropout of elements [lo, hi), p > 0, in plain C: one Philox block per 4 elements (the ref kernel draws one
 * block per element). Bit-identical to recur_k_dropout. */
void cpu_dropout_generic(size_t lo, size_t hi, float p, uint64_t seed, uint64_t counter, const float *x, float *y);

/* The kernels for `isa` (enum cpu_isa), or NULL when it has none (generic: the ref kernels run). */
const cpu_simd_kernels *cpu_simd_for(int isa);

/* act_fwd for sigmoid / tanh on the SIMD path; returns 0 (nothing done) when there is none. */
int cpu_simd_act_fwd(int isa, int act, size_t n, const float *x, float *y);

#endif
