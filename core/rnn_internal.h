/* The recurrent layer's state shared by its construction, forward and backward files. */
#ifndef RECUR_RNN_INTERNAL_H
#define RECUR_RNN_INTERNAL_H

#include "recur/nn.h"

#define RECUR_RNN_MAX_LAYERS 16

/* Per layer and direction: parameter handles and the time-loop workspace kept for backward.
 * "Processing order" runs t = 0..T-1 forward and T-1..0 in reverse. States are stored so that the
 * previous state of every step is one contiguous block (for the weight-gradient GEMM):
 *   forward:  S[0] = h0, step t writes S[t+1], reads S[t]
 *   reverse:  S[T] = h0, step t writes S[t],   reads S[t+1]                                          */
typedef struct rnn_dir {
    int w_ih, w_hh, b_ih, b_hh, w_hr; /* parameter indices (-1 if absent) */
    recur_ptr xg;  /* (T, B, G*H): x W_ih^T + biases, then the step's gate activations */
    recur_ptr hg;  /* (T, B, 3H): GRU h-side pre-activations */
    recur_ptr rh;  /* (T, B, H): GRU original, r * h_prev */
    recur_ptr s;   /* (T+1, B, H_out): hidden states */
    recur_ptr c;   /* (T+1, B, H): LSTM cell states */
    recur_ptr r;   /* (T, B, H): LSTM with projection, o * tanh(c) before the projection */
    recur_ptr dg;  /* (T, B, G*H): gradient of x-side pre-activations */
    recur_ptr dhg; /* (T, B, 3H): GRU gradient of h-side pre-activations */
    recur_ptr dhp; /* (T, B, P): LSTM projection, total gradient of the projected h */
    recur_ptr whh_t; /* (P, ld_wt): W_hh^T, made once per forward of >= RNN_TRANSPOSE_MIN_STEPS steps */
    recur_ptr wih_t; /* (in, ld_wt): W_ih^T, for the input projection made at each step (recur_rnn_step_projection) */
    recur_ptr bias;  /* (G*H), LSTM and RNN with bias: forward b_ih + b_hh (added to the gates once, not
                      * twice); backward the bias gradient both biases receive */
} rnn_dir;

/* Forwards of at least this many steps transpose W_hh once (recur_op_transpose, when the device can) and
 * run every step's recurrent GEMM as h W_hh^T with W_hh^T stored: GEMMs read B untransposed fastest (the
 * cpu backend streams it in place instead of repacking all of W_hh every step: ~15% of a step's GEMM).
 * Shorter forwards (single-step decoding) would pay the transpose without getting it back. */
#define RNN_TRANSPOSE_MIN_STEPS 4

/* Inference on a CPU device with a native rnn_step may project each step's input just before that step
 * (xg_t = x_t W_ih^T, into one reused step slot of xg) instead of all steps up front. Up front, xg is
 * T*B*G*H floats (25 MiB at medium size), written to memory by the projection and read back by the steps;
 * per step it stays in cache, at the price of one more op per step and of streaming W_ih^T along with
 * W_hh^T at every step. Measured on a 2-core Zen 4 (1 MiB L2 per core), LSTM inference, B 64, T 100:
 *   I = H = 256 (2 MiB of weights, 34 MFLOP per step's projection): 4-5% faster; B 32 4%, B 128 2%;
 *   I = H = 512 (8 MiB): 4% slower (the weights no longer stay in L2);
 *   I = H = 128 (8 MFLOP): 2% slower; B 16 30% slower, GRU B 64 H 64 14% slower (the extra op costs more
 *   than the traffic it saves).
 * So: weights of at most 2 MiB, and at least 16 MFLOP per step's projection. Where the backend runs all steps
 * in one op (rnn_steps_input), the extra op per step is gone and 2 MFLOP suffice: alternating runs of LSTM /
 * GRU inference against the projection up front, I = H = 128, B 64: 9% faster, B 16 (2 MFLOP) 8%, GRU B 32
 * 14%; I = H = 64, B 64 (2 MFLOP) 17%; I = 32, H = 128, B 64 44%; below, GRU I = 32, H = 64 at B 64
 * (0.8 MFLOP) 30% slower and at B 128 (1.6 MFLOP) 8% slower (a 32-deep product per step costs more than
 * one deep GEMM up front). */
#define RNN_STEP_PROJ_MAX_BYTES (2u << 20)
#define RNN_STEP_PROJ_MIN_FLOPS (1u << 24)
#define RNN_STEPS_PROJ_MIN_FLOPS (1u << 21)
typedef struct rnn_layer {
    rnn_dir dir[2];
    size_t in_size;  /* I for layer 0, D*H_out above */
    recur_ptr input; /* (T, B, in): what this layer read (x, the layer below's output, or its dropout) */
    recur_ptr y;     /* (T, B, D*H_out): output (the top layer's is the caller's y) */
    recur_ptr drop;  /* (T, B, in): dropped-out input, layers > 0 when training with dropout */
    recur_ptr dy;    /* (T, B, D*H_out): gradient of this layer's output (below the top) */
    uint64_t drop_counter;
} rnn_layer;

struct recur_rnn {
    recur_rnn_config cfg;
    recur_params *p;
    recur_device *d;
    size_t G, H, Hout, D;
    size_t ld_wt; /* leading dimension of whh_t and wih_t: G*H, padded off multiples of 256 floats (4 KiB aliasing) */
    rnn_layer layer[RECUR_RNN_MAX_LAYERS];
    /* workspace capacity, in T*B (rows) */
    size_t cap_rows, cap_batch;
    /* the last training forward */
    size_t T, B;
    recur_ptr lengths, h0, c0;
    int have_forward;
    uint64_t seed, counter;
    /* per-step scratch (B, max(H, P)) */
    recur_ptr carry, dc, tmp, dr, zeros;
};

int recur_rnn_reserve(recur_rnn *r, size_t T, size_t B);
int recur_rnn_gates(int cell);
/* 1 when the forward steps may run as rnn_step ops (given W_hh^T stored): the cell is one rnn_step covers and
 * the backend implements the op itself. */
int recur_rnn_step_op(const recur_rnn *r);
/* 1 when an inference forward of layer l with batch B projects each step's input at that step (see
 * RNN_STEP_PROJ_MAX_BYTES); never less often for a larger B. */
int recur_rnn_step_projection(const recur_rnn *r, size_t l, size_t B);

#endif
