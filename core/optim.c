/*
 * Optimizers over the whole parameter arena in one op per step (PyTorch's update rules; formulas in
 * recur/backend.h): optional clipping by value and by total norm (computed on the device, no read-back),
 * then SGD, Adam or AdamW, then the gradients are zeroed. StepLR multiplies lr by gamma every
 * step_size epochs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

struct recur_optim {
    recur_optim_config cfg;
    recur_params *p;
    recur_ptr m, v, sumsq; /* SGD: m = momentum buffer */
    int64_t step;
    int epoch;
    float lr;
};

static const char *const optim_names[] = {"sgd", "adam", "adamw"};
const char *recur_optim_name(int kind) { return kind >= 0 && kind <= RECUR_OPTIM_ADAMW ? optim_names[kind] : "?"; }
int recur_optim_from_name(const char *name) {
    for (int i = 0; i <= RECUR_OPTIM_ADAMW; i++)
        if (!strcmp(name, optim_names[i])) return i;
    return -1;
}

void recur_optim_defaults(int kind, recur_optim_config *c) {
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->lr = kind == RECUR_OPTIM_SGD ? 0.01f : 1e-3f;
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
    c->eps = 1e-8f;
    c->weight_decay = kind == RECUR_OPTIM_ADAMW ? 1e-2f : 0.0f;
    c->lr_gamma = 0.1f;
}

int recur_optim_create(recur_params *p, const recur_optim_config *cfg, recur_optim **out) {
    *out = NULL;
    if (cfg->kind < 0 || cfg->kind > RECUR_OPTIM_ADAMW)
        return recur_set_error(RECUR_E_INVALID, "optimizer: unknown kind %d", cfg->kind);
    if (!(cfg->lr >= 0.0f) || !(cfg->eps >= 0.0f) || !(cfg->beta1 >= 0.0f && cfg->beta1 < 1.0f) ||
        !(cfg->beta2 >= 0.0f && cfg->beta2 < 1.0f) || !(cfg->momentum >= 0.0f) || !(cfg->weight_decay >= 0.0f))
        return recur_set_error(RECUR_E_INVALID, "optimizer: lr %g, momentum %g, betas (%g, %g), eps %g, weight decay %g: "
                               "out of range", (double)cfg->lr, (double)cfg->momentum, (double)cfg->beta1,
                               (double)cfg->beta2, (double)cfg->eps, (double)cfg->weight_decay);
    if (cfg->nesterov && (cfg->momentum <= 0.0f || cfg->dampening != 0.0f))
        return recur_set_error(RECUR_E_INVALID, "optimizer: Nesterov momentum requires a momentum and zero dampening");
    recur_optim *o = calloc(1, sizeof *o);
    if (!o) return recur_set_error(RECUR_E_NOMEM, "optimizer: out of memory");
    o->cfg = *cfg;
    o->p = p;
    o->lr = cfg->lr;
    recur_device *d = recur_params_device(p);
    size_t n = recur_params_total(p) ? recur_params_total(p) : 1;
    int st = recur_alloc(d, 1, &o->sumsq);
    if (!st && (cfg->kind != RECUR_OPTIM_SGD || cfg->momentum > 0.0f)) {
        st = recur_alloc(d, n, &o->m);
        if (!st) st = recur_op_fill(d, n, 0.0f, o->m);
    }
    if (!st && cfg->kind != RECUR_OPTIM_SGD) {
        st = recur_alloc(d, n, &o->v);
        if (!st) st = recur_op_fill(d, n, 0.0f, o->v);
    }
    if (st) {
        recur_optim_free(o);
        return st;
    }
    *out = o;
    return RECUR_OK;
}

void recur_optim_free(recur_optim *o) {
    if (!o) return;
    recur_device *d = recur_params_device(o->p);
    recur_free(d, o->m);
    recur_free(d, o->v);
    recur_free(d, o->sumsq);
    free(o);
}

int recur_optim_step(recur_optim *o) {
    recur_device *d = recur_params_device(o->p);
    size_t n = recur_params_total(o->p);
    recur_ptr w = recur_params_data_all(o->p), g = recur_params_grad_all(o->p);
    const recur_optim_config *c = &o->cfg;
    int st = RECUR_OK;
    o->step++;
    if (c->clip_value > 0.0f) st = recur_op_clip_value(d, n, g, c->clip_value);
    if (!st && c->clip_norm > 0.0f) {
        st = recur_op_sum_sq(d, n, g, o->sumsq);
        if (!st) st = recur_op_clip_norm(d, n, g, o->sumsq, c->clip_norm);
    }
    if (st) return st;
    if (c->kind == RECUR_OPTIM_SGD)
        st = recur_op_sgd_step(d, n, w, g, o->m, o->lr, c->momentum, c->dampening, c->nesterov, c->weight_decay, o->step);
    else
        st = recur_op_adam_step(d, n, w, g, o->m, o->v, o->lr, c->beta1, c->beta2, c->eps, c->weight_decay,
                                c->kind == RECUR_OPTIM_ADAMW, o->step);
    if (st) return st;
    return recur_params_zero_grad(o->p);
}

int64_t recur_optim_steps(const recur_optim *o) { return o->step; }
float recur_optim_lr(const recur_optim *o) { return o->lr; }
const recur_optim_config *recur_optim_get_config(const recur_optim *o) { return &o->cfg; }

void recur_optim_epoch_end(recur_optim *o) {
    o->epoch++;
    if (o->cfg.lr_step_size > 0 && o->epoch % o->cfg.lr_step_size == 0) o->lr *= o->cfg.lr_gamma;
}

/* For checkpoints (model_io.c). */
recur_ptr recur_optim_state(const recur_optim *o, int which) { return which == 0 ? o->m : o->v; }
int recur_optim_epoch(const recur_optim *o) { return o->epoch; }
recur_params *recur_optim_params(const recur_optim *o) { return o->p; }
void recur_optim_restore(recur_optim *o, int64_t step, int epoch, float lr) {
    o->step = step;
    o->epoch = epoch;
    o->lr = lr;
}
