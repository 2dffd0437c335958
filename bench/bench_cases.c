/*
 * The benchmark's cases and what one run of each does.
 *
 *   gemm.*   one SGEMM at a shape the recurrent layers issue (core/rnn_forward.c, core/rnn_backward.c):
 *            xproj    NT  (T*B) x 4H x I    every step's input projection at once: x W_ih^T
 *            step     NT  B x 4H x H        one recurrent step: h W_hh^T
 *            step_bwd NN  B x H x 4H        one step backward: dh = dgates W_hh
 *            dw       TN  4H x I x (T*B)    weight gradient: dW_ih = dgates^T x
 *            dx       NN  (T*B) x I x 4H    input gradient: dx = dgates W_ih
 *   layer.*  one recurrent layer (recur_rnn), forward only, or forward + backward down to dx
 *   train.*  a whole training step of a model (recur_model): upload, forward, cross-entropy and its
 *            gradient (one read-back: the loss), backward, Adam, zeroing the gradients
 *   infer.*  a model's forward pass (upload included)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define TRY(call)                                                                                          \
    do {                                                                                                   \
        int st_ = (call);                                                                                  \
        if (st_) return st_;                                                                               \
    } while (0)

/* ---- the table ---------------------------------------------------------------------------------------- */
typedef struct sizes {
    size_t B, T, I, H, L;
} sizes;

static bench_case *push(bench_case *out, size_t max, size_t *n) {
    if (*n >= max) return NULL;
    bench_case *c = &out[(*n)++];
    memset(c, 0, sizeof *c);
    c->head = RECUR_HEAD_LAST;
    c->layers = 1;
    return c;
}

static void add_gemms(bench_case *out, size_t max, size_t *n, const char *size_name, sizes s) {
    const size_t G = 4; /* LSTM: the widest gate block */
    struct {
        const char *id, *what;
        int ta, tb;
        size_t M, N, K;
    } g[] = {
        {"xproj", "input projection of all steps, x W_ih^T", 0, 1, s.T * s.B, G * s.H, s.I},
        {"step", "one recurrent step, h W_hh^T", 0, 1, s.B, G * s.H, s.H},
        {"step_bwd", "one step backward, dgates W_hh", 0, 0, s.B, s.H, G * s.H},
        {"dw", "weight gradient, dgates^T x", 1, 0, G * s.H, s.I, s.T * s.B},
        {"dx", "input gradient, dgates W_ih", 0, 0, s.T * s.B, s.I, G * s.H},
    };
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        bench_case *c = push(out, max, n);
        if (!c) return;
        snprintf(c->name, sizeof c->name, "gemm.%s.%s", size_name, g[i].id);
        snprintf(c->what, sizeof c->what, "SGEMM: %s (LSTM, %s)", g[i].what, size_name);
        c->kind = BENCH_GEMM;
        c->trans_a = g[i].ta;
        c->trans_b = g[i].tb;
        c->M = g[i].M;
        c->N = g[i].N;
        c->K = g[i].K;
        c->cell = RECUR_CELL_LSTM;
        c->batch = s.B;
        c->seq = s.T;
        c->input = s.I;
        c->hidden = s.H;
    }
}

static void set_rnn(bench_case *c, int kind, int train, int cell, sizes s, int bidir) {
    c->kind = kind;
    c->train = train;
    c->cell = cell;
    c->batch = s.B;
    c->seq = s.T;
    c->input = s.I;
    c->hidden = s.H;
    c->layers = s.L;
    c->bidirectional = bidir;
    c->classes = kind == BENCH_MODEL ? 10 : 0;
}

size_t bench_builtin_cases(int quick, bench_case *out, size_t max) {
    /* medium: B 64, T 100, I 256, H 256, one layer; large: I 512, H 512, two layers. */
    sizes medium = quick ? (sizes){4, 6, 8, 8, 1} : (sizes){64, 100, 256, 256, 1};
    sizes large = quick ? (sizes){4, 6, 12, 12, 2} : (sizes){64, 100, 512, 512, 2};
    /* seeds/001: GRU, vocabulary 20, embedding 32, hidden 64, additive attention, 2 classes, B 64, T 20. */
    sizes seed = quick ? (sizes){4, 5, 8, 8, 1} : (sizes){64, 20, 32, 64, 1};
    size_t n = 0;
    bench_case *c;
    add_gemms(out, max, &n, "medium", medium);
    add_gemms(out, max, &n, "large", large);

    static const int cells[] = {RECUR_CELL_RNN_TANH, RECUR_CELL_LSTM, RECUR_CELL_GRU};
    static const char *const cell_ids[] = {"rnn", "lstm", "gru"};
    for (int i = 0; i < 3; i++)
        for (int train = 0; train <= 1; train++) {
            if (!(c = push(out, max, &n))) return n;
            set_rnn(c, BENCH_LAYER, train, cells[i], medium, 0);
            snprintf(c->name, sizeof c->name, "layer.%s.%s", cell_ids[i], train ? "fwd_bwd" : "fwd");
            snprintf(c->what, sizeof c->what, "one %s layer (medium), %s", recur_cell_name(cells[i]),
                     train ? "forward + backward incl. dx" : "forward");
        }

    if (!(c = push(out, max, &n))) return n;
    set_rnn(c, BENCH_MODEL, 1, RECUR_CELL_GRU, seed, 0);
    strcpy(c->name, "train.seed001");
    strcpy(c->what, "training step: seeds/001 (embedding, GRU, additive attention, fc; Adam)");
    c->vocab = 20;
    c->embed = seed.I;
    c->head = RECUR_HEAD_ADDITIVE_ATTENTION;
    c->classes = 2;

    if (!(c = push(out, max, &n))) return n;
    set_rnn(c, BENCH_MODEL, 1, RECUR_CELL_LSTM, medium, 0);
    strcpy(c->name, "train.medium");
    strcpy(c->what, "training step: LSTM (medium), last state -> fc; Adam");

    if (!(c = push(out, max, &n))) return n;
    set_rnn(c, BENCH_MODEL, 1, RECUR_CELL_LSTM, large, 0);
    strcpy(c->name, "train.large");
    strcpy(c->what, "training step: 2-layer LSTM (large), last state -> fc; Adam");

    if (!(c = push(out, max, &n))) return n;
    set_rnn(c, BENCH_MODEL, 1, RECUR_CELL_LSTM, medium, 1);
    strcpy(c->name, "train.bilstm_medium");
    strcpy(c->what, "training step: bidirectional LSTM (medium), last states -> fc; Adam");

    if (!(c = push(out, max, &n))) return n;
    set_rnn(c, BENCH_MODEL, 0, RECUR_CELL_LSTM, medium, 0);
    strcpy(c->name, "infer.medium");
    strcpy(c->what, "inference: LSTM (medium), last state -> fc");

    if (!(c = push(out, max, &n))) return n;
    set_rnn(c, BENCH_MODEL, 0, RECUR_CELL_LSTM, large, 0);
    strcpy(c->name, "infer.large");
    strcpy(c->what, "inference: 2-layer LSTM (large), last state -> fc");
    return n;
}

/* ---- work counted -------------------------------------------------------------------------------------- */
static size_t gate_count(int cell) {
    switch (cell) {
    case RECUR_CELL_LSTM: return 4;
    case RECUR_CELL_GRU:
    case RECUR_CELL_GRU_ORIGINAL: return 3;
    default: return 1;
    }
}

/* Forward GEMM work of the recurrent stack: per layer and direction, x W_ih^T over all steps and one
 * h W_hh^T per step. */
static double rnn_forward_flops(const bench_case *c) {
    const double G = (double)gate_count(c->cell), H = (double)c->hidden, D = c->bidirectional ? 2.0 : 1.0;
    const double TB = (double)c->seq * (double)c->batch;
    double in = (double)(c->vocab ? c->embed : c->input), f = 0.0;
    for (size_t l = 0; l < c->layers; l++) {
        f += D * 2.0 * TB * G * H * (in + H);
        in = D * H;
    }
    return f;
}

double bench_case_flops(const bench_case *c) {
    if (c->kind == BENCH_GEMM) return 2.0 * (double)c->M * (double)c->N * (double)c->K;
    double f = rnn_forward_flops(c);
    if (c->kind == BENCH_MODEL) {
        const double F = (double)c->hidden * (c->bidirectional ? 2.0 : 1.0), B = (double)c->batch;
        const double T = (double)c->seq, C = (double)c->classes;
        switch (c->head) {
        case RECUR_HEAD_ADDITIVE_ATTENTION: f += 2.0 * T * B * F * F + 2.0 * T * B * F + 2.0 * B * T * F; break;
        case RECUR_HEAD_DOT_ATTENTION: f += 4.0 * B * T * F; break;
        default: break;
        }
        f += c->head == RECUR_HEAD_PER_STEP ? 2.0 * T * B * C * F : 2.0 * B * C * F;
    }
    return c->train ? 3.0 * f : f;
}

size_t bench_case_sequences(const bench_case *c) { return c->kind == BENCH_GEMM ? 0 : c->batch; }

void bench_case_shape(const bench_case *c, char *buf, size_t size) {
    if (c->kind == BENCH_GEMM) {
        snprintf(buf, size, "%c%c %zux%zux%zu", c->trans_a ? 'T' : 'N', c->trans_b ? 'T' : 'N', c->M, c->N, c->K);
        return;
    }
    char emb[32] = "";
    if (c->vocab) snprintf(emb, sizeof emb, " V%zu E%zu", c->vocab, c->embed);
    else snprintf(emb, sizeof emb, " I%zu", c->input);
    snprintf(buf, size, "%s%s B%zu T%zu%s H%zu L%zu", c->bidirectional ? "bi" : "", recur_cell_name(c->cell),
             c->batch, c->seq, emb, c->hidden, c->layers);
}

/* ---- runners ------------------------------------------------------------------------------------------ */
struct bench_runner {
    const bench_case *c;
    recur_device *d;
    /* GEMM */
    recur_ptr A, B, C;
    /* layer */
    recur_params *params;
    recur_rnn *rnn;
    recur_ptr x, y, hn, cn, dy, dx;
    /* model */
    recur_model *model;
    recur_optim *optim;
    recur_batch batch;
    int32_t *ids, *targets;
    float *features;
};

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* U(-scale, scale) */
static void fill_uniform(float *v, size_t n, float scale, uint64_t *s) {
    for (size_t i = 0; i < n; i++) v[i] = scale * (2.0f * (float)(splitmix(s) >> 40) / 16777216.0f - 1.0f);
}

/* A device buffer of n floats holding U(-scale, scale). */
static int random_buffer(recur_device *d, size_t n, float scale, uint64_t *seed, recur_ptr *out) {
    TRY(recur_alloc(d, n, out));
    float *h = malloc(sizeof(float) * (n ? n : 1));
    if (!h) return recur_set_error(RECUR_E_NOMEM, "bench: out of host memory (%zu floats)", n);
    fill_uniform(h, n, scale, seed);
    int st = recur_write(d, *out, h, n);
    free(h);
    return st;
}

static int setup_gemm(bench_runner *r, uint64_t *seed) {
    const bench_case *c = r->c;
    TRY(random_buffer(r->d, c->M * c->K, 1.0f, seed, &r->A));
    TRY(random_buffer(r->d, c->K * c->N, 1.0f, seed, &r->B));
    TRY(recur_alloc(r->d, c->M * c->N, &r->C));
    return recur_op_fill(r->d, c->M * c->N, 0.0f, r->C);
}

static recur_rnn_config rnn_config(const bench_case *c) {
    recur_rnn_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.cell = c->cell;
    cfg.input_size = c->vocab ? c->embed : c->input;
    cfg.hidden_size = c->hidden;
    cfg.num_layers = c->layers;
    cfg.bidirectional = c->bidirectional;
    cfg.bias = 1;
    return cfg;
}

static int setup_layer(bench_runner *r, uint64_t *seed) {
    const bench_case *c = r->c;
    const size_t T = c->seq, B = c->batch, D = c->bidirectional ? 2 : 1, H = c->hidden, LD = c->layers * D;
    recur_rnn_config cfg = rnn_config(c);
    TRY(recur_params_new(r->d, &r->params));
    TRY(recur_rnn_create(r->params, "", &cfg, &r->rnn));
    TRY(recur_params_finalize(r->params));
    TRY(recur_rnn_init(r->rnn, *seed));
    TRY(random_buffer(r->d, T * B * cfg.input_size, 1.0f, seed, &r->x));
    TRY(random_buffer(r->d, T * B * D * H, 0.01f, seed, &r->dy));
    TRY(recur_alloc(r->d, T * B * D * H, &r->y));
    TRY(recur_alloc(r->d, LD * B * H, &r->hn));
    TRY(recur_alloc(r->d, LD * B * H, &r->cn));
    return recur_alloc(r->d, T * B * cfg.input_size, &r->dx);
}

static int setup_model(bench_runner *r, uint64_t *seed) {
    const bench_case *c = r->c;
    const size_t T = c->seq, B = c->batch;
    recur_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.vocab = c->vocab;
    cfg.embed_dim = c->embed;
    cfg.padding_idx = c->vocab ? 0 : -1; /* seeds/001: nn.Embedding(vocab, emb_dim, padding_idx=0) */
    cfg.rnn = rnn_config(c);
    cfg.head = c->head;
    cfg.num_outputs = c->classes;
    TRY(recur_model_create(r->d, &cfg, &r->model));
    TRY(recur_model_init(r->model, *seed));
    if (c->train) {
        recur_optim_config oc;
        recur_optim_defaults(RECUR_OPTIM_ADAM, &oc);
        TRY(recur_optim_create(recur_model_params(r->model), &oc, &r->optim));
    }
    r->targets = malloc(sizeof(int32_t) * B);
    if (c->vocab) r->ids = malloc(sizeof(int32_t) * B * T);
    else r->features = malloc(sizeof(float) * B * T * c->input);
    if (!r->targets || (!r->ids && !r->features)) return recur_set_error(RECUR_E_NOMEM, "bench: out of host memory");
    for (size_t i = 0; i < B; i++) r->targets[i] = (int32_t)(splitmix(seed) % c->classes);
    if (c->vocab)
        for (size_t i = 0; i < B * T; i++) r->ids[i] = 1 + (int32_t)(splitmix(seed) % (c->vocab - 1 ? c->vocab - 1 : 1));
    else
        fill_uniform(r->features, B * T * c->input, 1.0f, seed);
    r->batch.B = B;
    r->batch.T = T;
    r->batch.ids = r->ids;
    r->batch.features = r->features;
    return RECUR_OK;
}

int bench_runner_new(recur_device *d, const bench_case *c, uint64_t seed, bench_runner **out) {
    *out = NULL;
    bench_runner *r = calloc(1, sizeof *r);
    if (!r) return recur_set_error(RECUR_E_NOMEM, "bench: out of host memory");
    r->c = c;
    r->d = d;
    int st;
    switch (c->kind) {
    case BENCH_GEMM: st = setup_gemm(r, &seed); break;
    case BENCH_LAYER: st = setup_layer(r, &seed); break;
    default: st = setup_model(r, &seed); break;
    }
    if (!st) st = recur_sync(d);
    if (st) {
        bench_runner_free(r);
        return st;
    }
    *out = r;
    return RECUR_OK;
}

int bench_runner_run(bench_runner *r) {
    const bench_case *c = r->c;
    switch (c->kind) {
    case BENCH_GEMM: {
        size_t lda = c->trans_a ? c->M : c->K, ldb = c->trans_b ? c->K : c->N;
        return recur_op_gemm(r->d, c->trans_a, c->trans_b, c->M, c->N, c->K, 1.0f, r->A, lda, 0, r->B, ldb, 0, 0.0f,
                             r->C, c->N, 0, 1);
    }
    case BENCH_LAYER:
        if (!c->train)
            return recur_rnn_forward(r->rnn, c->seq, c->batch, r->x, RECUR_NULLPTR, RECUR_NULLPTR, RECUR_NULLPTR, 0, r->y,
                                     r->hn, c->cell == RECUR_CELL_LSTM ? r->cn : RECUR_NULLPTR);
        /* As a layer inside a network: parameter gradients (cleared first) and the input's gradient. */
        TRY(recur_params_zero_grad(r->params));
        TRY(recur_rnn_forward(r->rnn, c->seq, c->batch, r->x, RECUR_NULLPTR, RECUR_NULLPTR, RECUR_NULLPTR, 1, r->y,
                              r->hn, c->cell == RECUR_CELL_LSTM ? r->cn : RECUR_NULLPTR));
        return recur_rnn_backward(r->rnn, r->dy, RECUR_NULLPTR, RECUR_NULLPTR, r->dx, RECUR_NULLPTR, RECUR_NULLPTR);
    default: {
        TRY(recur_model_forward(r->model, &r->batch, c->train));
        if (!c->train) return RECUR_OK;
        recur_loss_config lc;
        memset(&lc, 0, sizeof lc);
        lc.kind = RECUR_LOSS_CROSS_ENTROPY;
        lc.reduction = RECUR_REDUCE_MEAN;
        lc.ignore_index = -100;
        float loss = 0.0f;
        TRY(recur_model_loss_backward(r->model, &lc, r->targets, &loss));
        if (!isfinite(loss)) return recur_set_error(RECUR_E_NUMERIC, "bench: %s: the loss is %g", c->name, (double)loss);
        return recur_optim_step(r->optim);
    }
    }
}

void bench_runner_free(bench_runner *r) {
    if (!r) return;
    recur_ptr bufs[] = {r->A, r->B, r->C, r->x, r->y, r->hn, r->cn, r->dy, r->dx};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i].buf) recur_free(r->d, bufs[i]);
    recur_rnn_free(r->rnn);
    recur_params_free(r->params);
    recur_optim_free(r->optim);
    recur_model_free(r->model);
    free(r->ids);
    free(r->targets);
    free(r->features);
    free(r);
}
