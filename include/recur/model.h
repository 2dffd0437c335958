/*
 * recur/model.h — a sequence model: optional embedding, the recurrent stack, and a head; its loss and
 * optimizer; model files in safetensors with PyTorch's state_dict names (docs/model-format.md).
 *
 * Parameter names are those of a PyTorch module with submodules `emb` (nn.Embedding), `rnn`
 * (nn.RNN/LSTM/GRU), `attn.project` and `attn.v` (additive attention) and `fc` (nn.Linear) — the names of
 * BaseRNNClassifier in seeds/001, so its state_dict loads as it is.
 */
#ifndef RECUR_MODEL_H
#define RECUR_MODEL_H

#include "recur/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

enum recur_head {
    RECUR_HEAD_LAST = 0,               /* fc(final hidden state; forward ++ reverse when bidirectional) */
    RECUR_HEAD_ADDITIVE_ATTENTION = 1, /* fc(context), context = sum_t softmax_t(v . tanh(W y_t + b)) y_t */
    RECUR_HEAD_DOT_ATTENTION = 2,      /* fc(context), scores_t = (q . y_t) / sqrt(d), q = the "last" state */
    RECUR_HEAD_PER_STEP = 3,           /* fc on every step's output: logits (B, T, C) */
};
const char *recur_head_name(int head); /* "last", "additive_attention", "dot_attention", "per_step" */
int recur_head_from_name(const char *name);

typedef struct recur_model_config {
    size_t vocab;        /* > 0: inputs are token ids embedded by `emb`; 0: float features */
    size_t embed_dim;    /* embedding width (the RNN's input size) when vocab > 0 */
    int64_t padding_idx; /* embedding row kept at zero, or -1 */
    recur_rnn_config rnn; /* rnn.input_size = embed_dim when vocab > 0, else the feature width */
    int head;            /* recur_head */
    size_t num_outputs;  /* C: classes, or output values per step */
} recur_model_config;

typedef struct recur_model recur_model;

int recur_model_create(recur_device *d, const recur_model_config *cfg, recur_model **out);
void recur_model_free(recur_model *m);
const recur_model_config *recur_model_get_config(const recur_model *m);
recur_params *recur_model_params(recur_model *m);
recur_rnn *recur_model_rnn(recur_model *m);
recur_device *recur_model_device(recur_model *m);
/* PyTorch's default initialisation, seeded: embedding N(0, 1) (padding row 0), RNN U(-1/sqrt(H), 1/sqrt(H)),
 * Linear weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
int recur_model_init(recur_model *m, uint64_t seed);
void recur_model_set_dropout_seed(recur_model *m, uint64_t seed);

/* A batch, batch-first on the host: ids (B, T) int32 when vocab > 0, else features (B, T, I) float;
 * lengths (B) or NULL (all T); h0/c0 (L*D, B, H_out / H) or NULL. */
typedef struct recur_batch {
    size_t B, T;
    const int32_t *ids;
    const float *features;
    const int32_t *lengths;
    const float *h0, *c0;
} recur_batch;

/* Forward. training = 1 keeps what backward needs and applies dropout. The logits stay on the device:
 * (B, C), or (T, B, C) sequence-first for per_step heads. */
int recur_model_forward(recur_model *m, const recur_batch *batch, int training);
recur_ptr recur_model_logits(const recur_model *m);
/* Copy results to the host, batch-first. Sizes: logits B*C (or B*T*C), output B*T*D*H_out,
 * h_n and c_n L*D*B*H_out / H, attention B*T (attention heads only; RECUR_E_INVALID otherwise). */
int recur_model_read_logits(recur_model *m, float *out);
int recur_model_read_output(recur_model *m, float *out);
int recur_model_read_state(recur_model *m, float *h_n, float *c_n);
int recur_model_read_attention(recur_model *m, float *out);
/* LSTM gate activations of the last layer's forward direction, for plots: (B, T, 4H) i, f, g, o. */
int recur_model_read_gates(recur_model *m, float *out);

/* Backward from dlogits (device, same layout as the logits); adds into the parameter gradients. */
int recur_model_backward(recur_model *m, recur_ptr dlogits);

/* ---- losses ------------------------------------------------------------------------------------------ */
enum recur_loss_kind { RECUR_LOSS_CROSS_ENTROPY = 0, RECUR_LOSS_BCE_WITH_LOGITS = 1, RECUR_LOSS_MSE = 2 };
typedef struct recur_loss_config {
    int kind;
    int reduction;         /* recur_reduction */
    int32_t ignore_index;  /* cross-entropy; -100 as PyTorch */
    float label_smoothing; /* cross-entropy */
    const float *class_weights; /* cross-entropy, C values, or NULL */
    const float *pos_weight;    /* BCE, C values, or NULL */
} recur_loss_config;
const char *recur_loss_name(int kind);
int recur_loss_from_name(const char *name);

/* Loss of the last forward against host targets and its gradient, then backward through the model.
 * Targets: cross-entropy int32 class ids (B) or (B, T) for per_step; BCE/MSE float (B, C) or (B, T, C).
 * For per_step heads, steps past a sample's length are ignored (cross-entropy: as ignore_index; MSE and
 * BCE: target taken equal to the prediction's... see docs: they are excluded by the lengths mask).
 * *loss receives the loss (the one read-back of a training step). */
int recur_model_loss_backward(recur_model *m, const recur_loss_config *lc, const void *targets, float *loss);
/* The loss only (evaluation). */
int recur_model_loss(recur_model *m, const recur_loss_config *lc, const void *targets, float *loss);

/* ---- optimizers -------------------------------------------------------------------------------------- */
enum recur_optim_kind { RECUR_OPTIM_SGD = 0, RECUR_OPTIM_ADAM = 1, RECUR_OPTIM_ADAMW = 2 };
typedef struct recur_optim_config {
    int kind;
    float lr;
    float momentum, dampening; /* SGD */
    int nesterov;              /* SGD */
    float beta1, beta2, eps;   /* Adam(W) */
    float weight_decay;
    float clip_norm;  /* > 0: clip the total gradient norm to this */
    float clip_value; /* > 0: clip every gradient to [-v, v] */
    int lr_step_size; /* > 0: multiply lr by lr_gamma every lr_step_size epochs (StepLR) */
    float lr_gamma;
} recur_optim_config;
const char *recur_optim_name(int kind);
int recur_optim_from_name(const char *name);
void recur_optim_defaults(int kind, recur_optim_config *out); /* PyTorch's defaults */

typedef struct recur_optim recur_optim;
int recur_optim_create(recur_params *p, const recur_optim_config *cfg, recur_optim **out);
void recur_optim_free(recur_optim *o);
/* Clip (if configured) and update every parameter, then zero the gradients. */
int recur_optim_step(recur_optim *o);
int64_t recur_optim_steps(const recur_optim *o);
/* StepLR: call at the end of each epoch. */
void recur_optim_epoch_end(recur_optim *o);
float recur_optim_lr(const recur_optim *o);
const recur_optim_config *recur_optim_get_config(const recur_optim *o);

/* ---- files ------------------------------------------------------------------------------------------- */
/* Save the model's parameters (and, for a checkpoint, the optimizer's state and step) atomically. */
int recur_model_save(recur_model *m, const recur_optim *o, const char *path);
/* The same, with extra __metadata__ entries (string keys and values, UTF-8) stored beside recur's own:
 * applications keep what the tensors cannot say (e.g. `recur train chars` stores its vocabulary under
 * `recur.chars`). Keys the library writes itself (recur.format, recur.cell, recur.head, recur.padding_idx,
 * recur.optim*) are refused; read the values back with recur_st_read and recur_st_meta. */
typedef struct recur_meta_entry {
    const char *key, *value;
} recur_meta_entry;
int recur_model_save_with_meta(recur_model *m, const recur_optim *o, const char *path, const recur_meta_entry *extra,
                               size_t n_extra);
/* Build a model from a file: sizes from the tensors' names and shapes, cell and head from __metadata__
 * (docs/model-format.md). Refuses inconsistent files, naming the tensor and what was expected. */
int recur_model_load(recur_device *d, const char *path, recur_model **out);
/* Restore the optimizer's state and step from a checkpoint written by recur_model_save. */
int recur_optim_load(recur_optim *o, const char *path);

#ifdef __cplusplus
}
#endif
#endif
