/* The model's state shared by its construction, forward, backward, attention and file code. */
#ifndef RECUR_MODEL_INTERNAL_H
#define RECUR_MODEL_INTERNAL_H

#include "recur/model.h"

#define TRY(call)                                                                                          \
    do {                                                                                                   \
        int st_ = (call);                                                                                  \
        if (st_) return st_;                                                                               \
    } while (0)

struct recur_model {
    recur_model_config cfg;
    recur_device *d;
    recur_params *p;
    recur_rnn *rnn;
    int emb, proj_w, proj_b, v_w, fc_w, fc_b; /* parameter indices, -1 if absent */
    size_t F;  /* feature width the head reads: D * H_out */
    size_t I;  /* the RNN's input width */
    size_t LD; /* L * D */
    /* the current batch (sequence-first on the device) */
    size_t B, T, cap_tb, cap_b;
    int has_lengths, has_h0, has_c0, trained;
    recur_ptr ids;     /* (T, B) int32 */
    recur_ptr x;       /* (T, B, I) */
    recur_ptr lengths; /* (B) int32 */
    recur_ptr h0, c0, hn, cn; /* (L*D, B, H_out / H) */
    recur_ptr y;       /* (T, B, F) */
    recur_ptr feat;    /* (B, F): the head's input (last state or attention context) */
    recur_ptr query;   /* (B, F): dot attention's query */
    recur_ptr energy;  /* (T, B, F): additive attention, tanh(W y + b) */
    recur_ptr scores;  /* (B, T) */
    recur_ptr attw;    /* (B, T) attention weights */
    recur_ptr logits;  /* (B, C) or (T, B, C) */
    recur_ptr dlogits, dfeat, dquery, dy, dx, dhn, denergy, dscores, tmp_bf;
    recur_ptr dscores_t; /* (T, B): dscores transposed to the layout of y and energy */
    recur_ptr targets, loss, class_w, pos_w;
    int32_t *host_ids;  /* (T, B) scratch */
    float *host_x;      /* (T, B, I) scratch */
    float *host_t;      /* targets scratch */
    int32_t *host_len;  /* (B) the batch's lengths */
    uint64_t dropout_seed;
};

/* Sizes of the logits: rows (B, or T*B for per_step) times C. */
size_t recur_model_logit_rows(const recur_model *m);
/* Whether the head's backward reaches the RNN's outputs y, so that the model has a dy (T, B, F) for it: every
 * head but the last-state one, whose gradient enters through h_n alone (its backward passes dy = NULL). */
int recur_model_head_has_dy(const recur_model *m);

/* Optimizer state for checkpoints: which 0 = exp_avg / momentum_buffer, 1 = exp_avg_sq (NULL ptr if none). */
recur_ptr recur_optim_state(const recur_optim *o, int which);
int recur_optim_epoch(const recur_optim *o);
recur_params *recur_optim_params(const recur_optim *o);
void recur_optim_restore(recur_optim *o, int64_t step, int epoch, float lr);

int recur_attention_forward(recur_model *m);
int recur_attention_backward(recur_model *m); /* from dfeat: adds into dy (and dquery for dot) */

#endif
