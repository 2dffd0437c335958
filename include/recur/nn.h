/*
 * recur/nn.h — parameters and layers, written once over the ops so they run on every backend.
 *
 * Shapes are given as comments: (T, B, H) means T steps of B samples of H features, row-major.
 * Layers work sequence-first internally: a time step's slice (B, .) is contiguous.
 */
#ifndef RECUR_NN_H
#define RECUR_NN_H

#include "recur/recur.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the parameter arena ------------------------------------------------------------------------------
 * All parameters of a model live in one device buffer, their gradients in a second of the same layout,
 * so an optimizer step is one op over the whole model (../shared/STYLE.md item 7). Layers register their
 * parameters by PyTorch state_dict name, then recur_params_finalize allocates. Gradients accumulate:
 * backward adds into them; recur_params_zero_grad clears. */
#define RECUR_PARAM_NAME_MAX 96
typedef struct recur_params recur_params;

int recur_params_new(recur_device *d, recur_params **out);
void recur_params_free(recur_params *p);
/* Register a tensor; *index receives its handle. Fails after finalize or on a duplicate name. */
int recur_params_add(recur_params *p, const char *name, int ndim, const size_t *shape, int *index);
int recur_params_finalize(recur_params *p); /* allocate data and grad (grad zeroed, data zeroed) */
int recur_params_count(const recur_params *p);
int recur_params_find(const recur_params *p, const char *name); /* index, or -1 */
const char *recur_params_name(const recur_params *p, int index);
int recur_params_shape(const recur_params *p, int index, size_t *shape); /* returns ndim */
size_t recur_params_numel(const recur_params *p, int index);
size_t recur_params_total(const recur_params *p);
recur_ptr recur_params_data(const recur_params *p, int index); /* valid after finalize */
recur_ptr recur_params_grad(const recur_params *p, int index);
recur_ptr recur_params_data_all(const recur_params *p);
recur_ptr recur_params_grad_all(const recur_params *p);
recur_device *recur_params_device(const recur_params *p);
int recur_params_zero_grad(recur_params *p);
/* Fill parameter `index` with U(-bound, bound) from the counter-based generator (seed, index). */
int recur_params_init_uniform(recur_params *p, int index, float bound, uint64_t seed);

/* Load every parameter from a safetensors file, by its name in the arena. F32 only; each tensor's shape must match
 * the arena's exactly, and a missing tensor is an error naming it. Tensors in the file that the arena
 * does not have are ignored unless strict. */
struct recur_st_file;
int recur_params_load(recur_params *p, const struct recur_st_file *f, int strict);
/* Copy parameter `index` to / from host memory (numel floats). */
int recur_params_read(recur_params *p, int index, float *host);
int recur_params_write(recur_params *p, int index, const float *host);
int recur_params_read_grad(recur_params *p, int index, float *host);

/* ---- recurrent layers -------------------------------------------------------------------------------- */
enum recur_cell {
    RECUR_CELL_RNN_TANH = 0,
    RECUR_CELL_RNN_RELU = 1,
    RECUR_CELL_LSTM = 2,
    RECUR_CELL_GRU = 3,          /* PyTorch's: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) */
    RECUR_CELL_GRU_ORIGINAL = 4, /* Cho et al.: n = tanh(W_in x + b_in + W_hn (r * h) + b_hn) */
};
const char *recur_cell_name(int cell);       /* "rnn_tanh", "rnn_relu", "lstm", "gru", "gru_original" */
int recur_cell_from_name(const char *name); /* -1 if unknown */

typedef struct recur_rnn_config {
    int cell;           /* recur_cell */
    size_t input_size;  /* I */
    size_t hidden_size; /* H */
    size_t proj_size;   /* P: LSTM only, 0 = none; H_out = P if set, else H */
    size_t num_layers;  /* L */
    int bidirectional;  /* D = 2 if set */
    int bias;           /* 1: bias_ih and bias_hh */
    float dropout;      /* between stacked layers, training only */
} recur_rnn_config;

typedef struct recur_rnn recur_rnn;

/* Register the layer's parameters in p under PyTorch's names, prefixed (e.g. "rnn." or ""):
 * weight_ih_l{k}[_reverse] (G*H, in), weight_hh_l{k} (G*H, H_out), bias_ih_l{k}, bias_hh_l{k} (G*H),
 * weight_hr_l{k} (P, H); G = 4 (LSTM: rows i, f, g, o), 3 (GRU: r, z, n), 1 (RNN). */
int recur_rnn_create(recur_params *p, const char *prefix, const recur_rnn_config *cfg, recur_rnn **out);
void recur_rnn_free(recur_rnn *r);
const recur_rnn_config *recur_rnn_get_config(const recur_rnn *r);
size_t recur_rnn_output_size(const recur_rnn *r); /* D * H_out */
/* PyTorch's default initialisation: every parameter U(-1/sqrt(H), 1/sqrt(H)), seeded. */
int recur_rnn_init(recur_rnn *r, uint64_t seed);
/* The dropout masks' generator: seed, and the counter the next training forward starts from. */
void recur_rnn_set_rng(recur_rnn *r, uint64_t seed, uint64_t counter);

/* Forward over T steps, sequence-first:
 *   x (T, B, I); lengths (B) int32, or NULL for all T; h0 (L*D, B, H_out) and c0 (L*D, B, H), or NULL
 *   for zeros; outputs y (T, B, D*H_out) (0 at steps t >= lengths[b]), h_n (L*D, B, H_out), c_n (LSTM;
 *   may be NULL). Row layer*D + direction of h_n is that direction's final state; the reverse direction
 *   starts at each sample's last valid step and its final state is after reading step 0.
 * When training, what backward needs is kept; x, lengths and h0/c0 must stay unchanged until then.
 * Single steps (as nn.LSTMCell / GRUCell / RNNCell, for decoding and streaming): T = 1 with the previous
 * call's h_n / c_n as h0 / c0 — bit-identical to one call over the whole sequence. Carrying h_n into the
 * next batch the same way is truncated backpropagation through time (backward stops at h0; dh0 says how
 * the loss depends on the carried state). */
int recur_rnn_forward(recur_rnn *r, size_t T, size_t B, recur_ptr x, recur_ptr lengths, recur_ptr h0,
                      recur_ptr c0, int training, recur_ptr y, recur_ptr h_n, recur_ptr c_n);
/* Backward of the last training forward: dy (T, B, D*H_out); dy, dh_n, dc_n may be NULL (zero: a loss on
 * the final states alone needs no dy of zeros).
 * Adds parameter gradients into the arena's grad buffer; writes dx (T, B, I), dh0, dc0 (each may be
 * NULL to skip). */
int recur_rnn_backward(recur_rnn *r, recur_ptr dy, recur_ptr dh_n, recur_ptr dc_n, recur_ptr dx, recur_ptr dh0,
                       recur_ptr dc0);

#ifdef __cplusplus
}
#endif
#endif
