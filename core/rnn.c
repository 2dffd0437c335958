/* Recurrent layers: configuration, parameters under PyTorch's names, initialisation, workspaces. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "rnn_internal.h"

static const char *const cell_names[] = {"rnn_tanh", "rnn_relu", "lstm", "gru", "gru_original"};

const char *recur_cell_name(int cell) { return cell >= 0 && cell <= RECUR_CELL_GRU_ORIGINAL ? cell_names[cell] : "?"; }

int recur_cell_from_name(const char *name) {
    for (int i = 0; i <= RECUR_CELL_GRU_ORIGINAL; i++)
        if (!strcmp(name, cell_names[i])) return i;
    return -1;
}

int recur_rnn_gates(int cell) {
    return cell == RECUR_CELL_LSTM ? 4 : (cell == RECUR_CELL_GRU || cell == RECUR_CELL_GRU_ORIGINAL) ? 3 : 1;
}

static int add_param(recur_params *p, const char *prefix, const char *stem, size_t l, int rev, int ndim,
                     size_t d0, size_t d1, int *index) {
    char name[RECUR_PARAM_NAME_MAX];
    snprintf(name, sizeof name, "%s%s_l%zu%s", prefix, stem, l, rev ? "_reverse" : "");
    size_t shape[2] = {d0, d1};
    return recur_params_add(p, name, ndim, shape, index);
}

int recur_rnn_create(recur_params *p, const char *prefix, const recur_rnn_config *cfg, recur_rnn **out) {
    *out = NULL;
    if (cfg->cell < 0 || cfg->cell > RECUR_CELL_GRU_ORIGINAL)
        return recur_set_error(RECUR_E_INVALID, "rnn: unknown cell %d", cfg->cell);
    if (!cfg->input_size || !cfg->hidden_size || !cfg->num_layers || cfg->num_layers > RECUR_RNN_MAX_LAYERS)
        return recur_set_error(RECUR_E_INVALID, "rnn: input_size %zu, hidden_size %zu, num_layers %zu: each must be "
                               "positive, layers at most %d", cfg->input_size, cfg->hidden_size, cfg->num_layers,
                               RECUR_RNN_MAX_LAYERS);
    if (cfg->proj_size && (cfg->cell != RECUR_CELL_LSTM || cfg->proj_size >= cfg->hidden_size))
        return recur_set_error(RECUR_E_INVALID, "rnn: proj_size %zu needs an LSTM with hidden_size > proj_size "
                               "(hidden_size %zu, cell %s)", cfg->proj_size, cfg->hidden_size, recur_cell_name(cfg->cell));
    if (!(cfg->dropout >= 0.0f && cfg->dropout < 1.0f))
        return recur_set_error(RECUR_E_INVALID, "rnn: dropout %g must be in [0, 1)", (double)cfg->dropout);
    recur_rnn *r = calloc(1, sizeof *r);
    if (!r) return recur_set_error(RECUR_E_NOMEM, "rnn: out of memory");
    r->cfg = *cfg;
    r->p = p;
    r->d = recur_params_device(p);
    r->G = (size_t)recur_rnn_gates(cfg->cell);
    r->H = cfg->hidden_size;
    r->Hout = cfg->proj_size ? cfg->proj_size : cfg->hidden_size;
    r->D = cfg->bidirectional ? 2 : 1;
    r->ld_wt = r->G * r->H % 256 ? r->G * r->H : r->G * r->H + 16;
    int st = RECUR_OK;
    for (size_t l = 0; l < cfg->num_layers && !st; l++) {
        rnn_layer *L = &r->layer[l];
        L->in_size = l == 0 ? cfg->input_size : r->D * r->Hout;
        for (size_t dir = 0; dir < r->D && !st; dir++) {
            rnn_dir *q = &L->dir[dir];
            q->b_ih = q->b_hh = q->w_hr = -1;
            int rev = (int)dir;
            st = add_param(p, prefix, "weight_ih", l, rev, 2, r->G * r->H, L->in_size, &q->w_ih);
            if (!st) st = add_param(p, prefix, "weight_hh", l, rev, 2, r->G * r->H, r->Hout, &q->w_hh);
            if (!st && cfg->bias) st = add_param(p, prefix, "bias_ih", l, rev, 1, r->G * r->H, 0, &q->b_ih);
            if (!st && cfg->bias) st = add_param(p, prefix, "bias_hh", l, rev, 1, r->G * r->H, 0, &q->b_hh);
            if (!st && cfg->proj_size) st = add_param(p, prefix, "weight_hr", l, rev, 2, r->Hout, r->H, &q->w_hr);
        }
    }
    if (st) {
        free(r);
        return st;
    }
    *out = r;
    return RECUR_OK;
}

const recur_rnn_config *recur_rnn_get_config(const recur_rnn *r) { return &r->cfg; }
size_t recur_rnn_output_size(const recur_rnn *r) { return r->D * r->Hout; }

void recur_rnn_set_rng(recur_rnn *r, uint64_t seed, uint64_t counter) {
    r->seed = seed;
    r->counter = counter;
}

int recur_rnn_init(recur_rnn *r, uint64_t seed) {
    float bound = 1.0f / sqrtf((float)r->H);
    for (size_t l = 0; l < r->cfg.num_layers; l++)
        for (size_t dir = 0; dir < r->D; dir++) {
            const rnn_dir *q = &r->layer[l].dir[dir];
            int idx[5] = {q->w_ih, q->w_hh, q->b_ih, q->b_hh, q->w_hr};
            for (int k = 0; k < 5; k++) {
                if (idx[k] < 0) continue;
                int st = recur_params_init_uniform(r->p, idx[k], bound, seed);
                if (st) return st;
            }
        }
    return RECUR_OK;
}

int recur_rnn_step_op(const recur_rnn *r) {
    /* rnn_step covers neither the LSTM projection nor the original GRU; the reference fallback would run its
     * GEMM as a plain loop on one thread, slower than the gemm and cell ops one by one. */
    return !r->cfg.proj_size && r->cfg.cell != RECUR_CELL_GRU_ORIGINAL && recur_op_native(r->d, "rnn_step");
}

int recur_rnn_step_projection(const recur_rnn *r, size_t l, size_t B) {
    const size_t GH = r->G * r->H, in = r->layer[l].in_size;
    const double weights = (double)(in + r->Hout) * (double)GH * sizeof(float), flops = 2.0 * (double)B * (double)in * (double)GH;
    const double min_flops = recur_op_native(r->d, "rnn_steps_input") ? RNN_STEPS_PROJ_MIN_FLOPS : RNN_STEP_PROJ_MIN_FLOPS;
    return r->d->info.kind == RECUR_DEVICE_CPU && weights <= RNN_STEP_PROJ_MAX_BYTES && flops >= min_flops &&
           recur_op_available(r->d, "transpose") && recur_rnn_step_op(r);
}

static void free_buf(recur_rnn *r, recur_ptr *p) {
    recur_free(r->d, *p);
    *p = RECUR_NULLPTR;
}

static void free_workspace(recur_rnn *r) {
    for (size_t l = 0; l < r->cfg.num_layers; l++) {
        rnn_layer *L = &r->layer[l];
        for (size_t dir = 0; dir < r->D; dir++) {
            rnn_dir *q = &L->dir[dir];
            recur_ptr *bufs[] = {&q->xg, &q->hg, &q->rh, &q->s, &q->c, &q->r, &q->dg, &q->dhg, &q->dhp, &q->whh_t, &q->wih_t, &q->bias};
            for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++) free_buf(r, bufs[k]);
        }
        if (l + 1 < r->cfg.num_layers) free_buf(r, &L->y);
        free_buf(r, &L->drop);
        free_buf(r, &L->dy);
    }
    recur_ptr *scratch[] = {&r->carry, &r->dc, &r->tmp, &r->dr, &r->zeros};
    for (size_t k = 0; k < sizeof scratch / sizeof scratch[0]; k++) free_buf(r, scratch[k]);
    r->cap_rows = r->cap_batch = 0;
}

void recur_rnn_free(recur_rnn *r) {
    if (!r) return;
    free_workspace(r);
    free(r);
}

static int alloc_at_least_one(recur_device *d, size_t n, recur_ptr *p) { return recur_alloc(d, n ? n : 1, p); }

/* Allocate workspaces for T steps of B samples, once per larger shape (never inside the time loop). */
int recur_rnn_reserve(recur_rnn *r, size_t T, size_t B) {
    /* (T+1)*B <= cap_rows + cap_batch follows from the two bounds. */
    if (T * B <= r->cap_rows && B <= r->cap_batch) return RECUR_OK;
    free_workspace(r);
    size_t rows = T * B, H = r->H, P = r->Hout, G = r->G;
    int gru = r->cfg.cell == RECUR_CELL_GRU || r->cfg.cell == RECUR_CELL_GRU_ORIGINAL;
    int st = RECUR_OK;
#define ALLOC(ptr, n) \
    if (!st) st = alloc_at_least_one(r->d, (n), &(ptr))
    for (size_t l = 0; l < r->cfg.num_layers; l++) {
        rnn_layer *L = &r->layer[l];
        for (size_t dir = 0; dir < r->D; dir++) {
            rnn_dir *q = &L->dir[dir];
            ALLOC(q->xg, rows * G * H);
            ALLOC(q->dg, rows * G * H);
            ALLOC(q->s, (T + 1) * B * P);
            if (gru) {
                ALLOC(q->hg, rows * 3 * H);
                ALLOC(q->dhg, rows * 3 * H);
            }
            if (r->cfg.cell == RECUR_CELL_GRU_ORIGINAL) ALLOC(q->rh, rows * H);
            if (r->cfg.cell == RECUR_CELL_LSTM) ALLOC(q->c, (T + 1) * B * H);
            if (r->cfg.proj_size) {
                ALLOC(q->r, rows * H);
                ALLOC(q->dhp, rows * P);
            }
            if (recur_op_available(r->d, "transpose")) ALLOC(q->whh_t, P * r->ld_wt);
            if (recur_rnn_step_projection(r, l, B)) ALLOC(q->wih_t, L->in_size * r->ld_wt);
            if (!gru && r->cfg.bias) ALLOC(q->bias, G * H);
        }
        if (l + 1 < r->cfg.num_layers) {
            ALLOC(L->y, rows * r->D * P);
            ALLOC(L->dy, rows * r->D * P);
        }
        if (l > 0 && r->cfg.dropout > 0.0f) ALLOC(L->drop, rows * L->in_size);
    }
    size_t wide = H > P ? H : P;
    ALLOC(r->carry, B * wide);
    ALLOC(r->dc, B * H);
    ALLOC(r->tmp, B * wide);
    ALLOC(r->dr, B * wide);
    ALLOC(r->zeros, wide);
    if (!st) st = recur_op_fill(r->d, wide, 0.0f, r->zeros);
#undef ALLOC
    if (st) {
        free_workspace(r);
        return st;
    }
    r->cap_rows = rows;
    r->cap_batch = B;
    return RECUR_OK;
}
