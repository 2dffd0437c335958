/* Models: construction under PyTorch's names, default initialisation, batch buffers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

static const char *const head_names[] = {"last", "additive_attention", "dot_attention", "per_step"};

const char *recur_head_name(int head) { return head >= 0 && head <= RECUR_HEAD_PER_STEP ? head_names[head] : "?"; }

int recur_head_from_name(const char *name) {
    for (int i = 0; i <= RECUR_HEAD_PER_STEP; i++)
        if (!strcmp(name, head_names[i])) return i;
    return -1;
}

static int add(recur_params *p, const char *name, size_t d0, size_t d1, int *idx) {
    size_t shape[2] = {d0, d1};
    return recur_params_add(p, name, d1 ? 2 : 1, shape, idx);
}

int recur_model_create(recur_device *d, const recur_model_config *cfg_in, recur_model **out) {
    *out = NULL;
    recur_model_config cfg = *cfg_in;
    if (cfg.head < 0 || cfg.head > RECUR_HEAD_PER_STEP)
        return recur_set_error(RECUR_E_INVALID, "model: unknown head %d", cfg.head);
    if (!cfg.num_outputs) return recur_set_error(RECUR_E_INVALID, "model: num_outputs must be > 0");
    if (cfg.vocab) {
        if (!cfg.embed_dim) return recur_set_error(RECUR_E_INVALID, "model: embed_dim must be > 0 with a vocabulary");
        if (cfg.padding_idx >= (int64_t)cfg.vocab)
            return recur_set_error(RECUR_E_INVALID, "model: padding_idx %lld outside vocabulary of %zu",
                                   (long long)cfg.padding_idx, cfg.vocab);
        cfg.rnn.input_size = cfg.embed_dim;
    } else {
        cfg.padding_idx = -1;
    }
    recur_model *m = calloc(1, sizeof *m);
    if (!m) return recur_set_error(RECUR_E_NOMEM, "model: out of memory");
    m->cfg = cfg;
    m->d = d;
    m->emb = m->proj_w = m->proj_b = m->v_w = m->fc_w = m->fc_b = -1;
    m->dropout_seed = 0x5eed;
    int st = recur_params_new(d, &m->p);
    if (!st && cfg.vocab) st = add(m->p, "emb.weight", cfg.vocab, cfg.embed_dim, &m->emb);
    if (!st) st = recur_rnn_create(m->p, "rnn.", &cfg.rnn, &m->rnn);
    if (!st) {
        m->F = recur_rnn_output_size(m->rnn);
        m->I = cfg.rnn.input_size;
        m->LD = cfg.rnn.num_layers * (cfg.rnn.bidirectional ? 2 : 1);
    }
    if (!st && cfg.head == RECUR_HEAD_ADDITIVE_ATTENTION) {
        st = add(m->p, "attn.project.weight", m->F, m->F, &m->proj_w);
        if (!st) st = add(m->p, "attn.project.bias", m->F, 0, &m->proj_b);
        if (!st) st = add(m->p, "attn.v.weight", 1, m->F, &m->v_w);
    }
    if (!st) st = add(m->p, "fc.weight", cfg.num_outputs, m->F, &m->fc_w);
    if (!st) st = add(m->p, "fc.bias", cfg.num_outputs, 0, &m->fc_b);
    if (!st) st = recur_params_finalize(m->p);
    if (!st) recur_rnn_set_rng(m->rnn, m->dropout_seed, 0);
    if (st) {
        recur_model_free(m);
        return st;
    }
    *out = m;
    return RECUR_OK;
}

static void release(recur_model *m) {
    recur_ptr *bufs[] = {&m->ids, &m->x, &m->lengths, &m->h0, &m->c0, &m->hn, &m->cn, &m->y, &m->feat, &m->query,
                         &m->energy, &m->scores, &m->attw, &m->logits, &m->dlogits, &m->dfeat, &m->dquery, &m->dy,
                         &m->dx, &m->dhn, &m->denergy, &m->dscores, &m->dscores_t, &m->tmp_bf, &m->targets};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        recur_free(m->d, *bufs[i]);
        *bufs[i] = RECUR_NULLPTR;
    }
    free(m->host_ids);
    free(m->host_x);
    free(m->host_t);
    free(m->host_len);
    m->host_len = NULL;
    m->host_ids = NULL;
    m->host_x = NULL;
    m->host_t = NULL;
    m->cap_tb = m->cap_b = 0;
}

void recur_model_free(recur_model *m) {
    if (!m) return;
    release(m);
    recur_free(m->d, m->loss);
    recur_free(m->d, m->class_w);
    recur_free(m->d, m->pos_w);
    recur_rnn_free(m->rnn);
    recur_params_free(m->p);
    free(m);
}

const recur_model_config *recur_model_get_config(const recur_model *m) { return &m->cfg; }
recur_params *recur_model_params(recur_model *m) { return m->p; }
recur_rnn *recur_model_rnn(recur_model *m) { return m->rnn; }
recur_device *recur_model_device(recur_model *m) { return m->d; }
recur_ptr recur_model_logits(const recur_model *m) { return m->logits; }
void recur_model_set_dropout_seed(recur_model *m, uint64_t seed) {
    m->dropout_seed = seed;
    recur_rnn_set_rng(m->rnn, seed, 0);
}

size_t recur_model_logit_rows(const recur_model *m) {
    return m->cfg.head == RECUR_HEAD_PER_STEP ? m->T * m->B : m->B;
}

int recur_model_head_has_dy(const recur_model *m) { return m->cfg.head != RECUR_HEAD_LAST; }

/* Standard normal from two uniforms of the counter-based generator (Box-Muller). */
static float normal(uint64_t seed, uint64_t k) {
    float u1 = recur_philox_uniform(seed, 2 * k), u2 = recur_philox_uniform(seed, 2 * k + 1);
    return sqrtf(-2.0f * logf(1.0f - u1)) * cosf(6.28318530718f * u2);
}

int recur_model_init(recur_model *m, uint64_t seed) {
    TRY(recur_rnn_init(m->rnn, seed));
    if (m->emb >= 0) {
        size_t n = recur_params_numel(m->p, m->emb), E = m->cfg.embed_dim;
        float *w = malloc(sizeof(float) * n);
        if (!w) return recur_set_error(RECUR_E_NOMEM, "model init: out of memory");
        for (size_t i = 0; i < n; i++) w[i] = normal(seed ^ 0xe3b0c442ull, i);
        if (m->cfg.padding_idx >= 0) memset(w + (size_t)m->cfg.padding_idx * E, 0, sizeof(float) * E);
        int st = recur_params_write(m->p, m->emb, w);
        free(w);
        if (st) return st;
    }
    /* nn.Linear: kaiming_uniform(a = sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the bias the same. */
    int linear[][2] = {{m->proj_w, m->proj_b}, {m->v_w, -1}, {m->fc_w, m->fc_b}};
    for (int k = 0; k < 3; k++) {
        if (linear[k][0] < 0) continue;
        size_t shape[2];
        recur_params_shape(m->p, linear[k][0], shape);
        float bound = 1.0f / sqrtf((float)shape[1]);
        TRY(recur_params_init_uniform(m->p, linear[k][0], bound, seed + 1));
        if (linear[k][1] >= 0) TRY(recur_params_init_uniform(m->p, linear[k][1], bound, seed + 1));
    }
    return RECUR_OK;
}

/* Buffers for T steps of B samples, allocated once per larger shape. */
int recur_model_reserve(recur_model *m, size_t T, size_t B);
int recur_model_reserve(recur_model *m, size_t T, size_t B) {
    if (T * B <= m->cap_tb && B <= m->cap_b) return RECUR_OK;
    release(m);
    size_t TB = T * B, F = m->F, C = m->cfg.num_outputs, I = m->I, H = m->cfg.rnn.hidden_size;
    size_t P = m->cfg.rnn.proj_size ? m->cfg.rnn.proj_size : H;
    size_t rows = m->cfg.head == RECUR_HEAD_PER_STEP ? TB : B;
    int st = RECUR_OK;
#define ALLOC(ptr, n) \
    if (!st) st = recur_alloc(m->d, (n), &(ptr))
    ALLOC(m->ids, TB);
    ALLOC(m->x, TB * I);
    ALLOC(m->lengths, B);
    ALLOC(m->h0, m->LD * B * P);
    ALLOC(m->c0, m->LD * B * H);
    ALLOC(m->hn, m->LD * B * P);
    ALLOC(m->cn, m->LD * B * H);
    ALLOC(m->y, TB * F);
    ALLOC(m->feat, B * F);
    ALLOC(m->query, B * F);
    ALLOC(m->energy, TB * F);
    ALLOC(m->scores, TB);
    ALLOC(m->attw, TB);
    ALLOC(m->logits, rows * C);
    ALLOC(m->dlogits, rows * C);
    ALLOC(m->dfeat, B * F);
    ALLOC(m->dquery, B * F);
    if (recur_model_head_has_dy(m)) ALLOC(m->dy, TB * F);
    ALLOC(m->dx, TB * I);
    ALLOC(m->dhn, m->LD * B * P);
    ALLOC(m->denergy, TB * F);
    ALLOC(m->dscores, TB);
    ALLOC(m->dscores_t, TB);
    ALLOC(m->tmp_bf, B * F);
    ALLOC(m->targets, rows * C);
#undef ALLOC
    if (!m->loss.buf && !st) st = recur_alloc(m->d, 1, &m->loss);
    m->host_ids = malloc(sizeof(int32_t) * TB);
    m->host_x = malloc(sizeof(float) * TB * (I > C ? I : C));
    m->host_t = malloc(sizeof(float) * rows * C);
    m->host_len = malloc(sizeof(int32_t) * B);
    if (!st && (!m->host_ids || !m->host_x || !m->host_t || !m->host_len))
        st = recur_set_error(RECUR_E_NOMEM, "model: out of host memory for a batch of %zu x %zu", B, T);
    if (st) {
        release(m);
        return st;
    }
    m->cap_tb = TB;
    m->cap_b = B;
    return RECUR_OK;
}
