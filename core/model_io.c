/*
 * Model files (docs/model-format.md): safetensors with PyTorch state_dict names; __metadata__ holds what
 * shapes cannot say (recur.cell, recur.head, recur.padding_idx, recur.format). Checkpoints add the
 * optimizer's state as optim.<exp_avg|exp_avg_sq|momentum_buffer>.<name> and its step in the metadata.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "recur/safetensors.h"

#define FORMAT_VERSION "1"

static const char *state_names[2][3] = {
    /* [which][kind]: SGD, Adam, AdamW */
    {"momentum_buffer", "exp_avg", "exp_avg"},
    {NULL, "exp_avg_sq", "exp_avg_sq"},
};

/* Well-formed UTF-8 without NUL (JSON strings in the header). */
static int utf8_ok(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
        if (n < 0 || (n == 1 && *p < 0xc2) || (n == 3 && *p > 0xf4)) return 0;
        for (int k = 1; k <= n; k++)
            if ((p[k] & 0xc0) != 0x80) return 0;
        p += n + 1;
    }
    return 1;
}

static int reserved_key(const char *k) {
    return !strcmp(k, "recur.format") || !strcmp(k, "recur.cell") || !strcmp(k, "recur.head") ||
           !strcmp(k, "recur.padding_idx") || !strncmp(k, "recur.optim", 11);
}

int recur_model_save(recur_model *m, const recur_optim *o, const char *path) {
    return recur_model_save_with_meta(m, o, path, NULL, 0);
}

int recur_model_save_with_meta(recur_model *m, const recur_optim *o, const char *path, const recur_meta_entry *extra,
                               size_t n_extra) {
    for (size_t i = 0; i < n_extra; i++) {
        if (!extra[i].key || !extra[i].value || !*extra[i].key)
            return recur_set_error(RECUR_E_INVALID, "%s: metadata entry %zu has no key or no value", path, i);
        if (reserved_key(extra[i].key))
            return recur_set_error(RECUR_E_INVALID, "%s: metadata key '%s' is written by the library itself", path,
                                   extra[i].key);
        if (!utf8_ok(extra[i].key) || !utf8_ok(extra[i].value))
            return recur_set_error(RECUR_E_INVALID, "%s: metadata entry '%s' is not valid UTF-8", path, extra[i].key);
    }
    recur_params *p = m->p;
    size_t total = recur_params_total(p);
    int nstate = 0;
    float *host = malloc(sizeof(float) * (total ? total : 1) * 3);
    if (!host) return recur_set_error(RECUR_E_NOMEM, "%s: out of memory", path);
    int st = recur_read(m->d, host, recur_params_data_all(p), total);
    if (!st && o)
        for (int which = 0; which < 2 && !st; which++) {
            recur_ptr s = recur_optim_state(o, which);
            if (s.buf) st = recur_read(m->d, host + (size_t)(1 + which) * total, s, total), nstate = which + 1;
        }
    recur_st_writer *w = NULL;
    if (!st) st = recur_st_writer_new(&w);
    char names[3][64][RECUR_PARAM_NAME_MAX + 32];
    int np = recur_params_count(p);
    if (!st && np > 64) st = recur_set_error(RECUR_E_INVALID, "%s: more than 64 parameters", path);
    size_t offset = 0;
    for (int i = 0; i < np && !st; i++) {
        size_t shape[4];
        int64_t s64[4];
        int nd = recur_params_shape(p, i, shape);
        for (int k = 0; k < nd; k++) s64[k] = (int64_t)shape[k];
        /* Offsets in the arena: recompute from the data pointer. */
        offset = recur_params_data(p, i).off - recur_params_data_all(p).off;
        st = recur_st_writer_add(w, recur_params_name(p, i), RECUR_DT_F32, nd, s64, host + offset);
        for (int which = 0; which < nstate && !st; which++) {
            const char *sn = state_names[which][recur_optim_get_config(o)->kind];
            if (!sn) continue;
            snprintf(names[which][i], sizeof names[which][i], "optim.%s.%s", sn, recur_params_name(p, i));
            st = recur_st_writer_add(w, names[which][i], RECUR_DT_F32, nd, s64, host + (size_t)(1 + which) * total + offset);
        }
    }
    char buf[64];
    if (!st) {
        recur_st_writer_meta(w, "recur.format", FORMAT_VERSION);
        recur_st_writer_meta(w, "recur.cell", recur_cell_name(m->cfg.rnn.cell));
        recur_st_writer_meta(w, "recur.head", recur_head_name(m->cfg.head));
        if (m->cfg.padding_idx >= 0) {
            snprintf(buf, sizeof buf, "%lld", (long long)m->cfg.padding_idx);
            recur_st_writer_meta(w, "recur.padding_idx", buf);
        }
        if (o) {
            recur_st_writer_meta(w, "recur.optim", recur_optim_name(recur_optim_get_config(o)->kind));
            snprintf(buf, sizeof buf, "%lld", (long long)recur_optim_steps(o));
            recur_st_writer_meta(w, "recur.optim.step", buf);
            snprintf(buf, sizeof buf, "%d", recur_optim_epoch(o));
            recur_st_writer_meta(w, "recur.optim.epoch", buf);
            snprintf(buf, sizeof buf, "%.9g", (double)recur_optim_lr(o));
            recur_st_writer_meta(w, "recur.optim.lr", buf);
        }
        for (size_t i = 0; i < n_extra; i++) recur_st_writer_meta(w, extra[i].key, extra[i].value);
        st = recur_st_write(w, path);
    }
    recur_st_writer_free(w);
    free(host);
    return st;
}

static const recur_st_tensor *need2(const recur_st_file *f, const char *name, int64_t d0, int64_t d1, int *st) {
    if (*st) return NULL;
    int64_t shape[2] = {d0, d1};
    const recur_st_tensor *t;
    *st = recur_st_expect(f, name, RECUR_DT_F32, d1 == -2 ? 1 : 2, shape, &t);
    return t;
}

int recur_model_load(recur_device *d, const char *path, recur_model **out) {
    *out = NULL;
    recur_st_file *f;
    TRY(recur_st_read(path, &f));
    int st = RECUR_OK;
    recur_model_config cfg = {.padding_idx = -1};
    const char *fmt = recur_st_meta(f, "recur.format");
    if (fmt && strcmp(fmt, FORMAT_VERSION))
        st = recur_set_error(RECUR_E_FORMAT, "%s: recur.format is '%s'; this build reads format %s", path, fmt,
                             FORMAT_VERSION);
    const recur_st_tensor *ih = need2(f, "rnn.weight_ih_l0", -1, -1, &st);
    const recur_st_tensor *hh = need2(f, "rnn.weight_hh_l0", -1, -1, &st);
    if (!st) {
        size_t GH = (size_t)ih->shape[0];
        const char *cell = recur_st_meta(f, "recur.cell");
        int c = cell ? recur_cell_from_name(cell) : -1;
        if (cell && c < 0) st = recur_set_error(RECUR_E_FORMAT, "%s: unknown recur.cell '%s'", path, cell);
        const recur_st_tensor *hr = recur_st_find(f, "rnn.weight_hr_l0");
        size_t Hout = (size_t)hh->shape[1];
        size_t H = hr ? (size_t)hr->shape[1] : Hout;
        if (!cell) c = GH == 4 * H ? RECUR_CELL_LSTM : GH == 3 * H ? RECUR_CELL_GRU : RECUR_CELL_RNN_TANH;
        size_t G = (size_t)(c == RECUR_CELL_LSTM ? 4 : (c == RECUR_CELL_GRU || c == RECUR_CELL_GRU_ORIGINAL) ? 3 : 1);
        if (!st && GH != G * H)
            st = recur_set_error(RECUR_E_FORMAT, "%s: tensor 'rnn.weight_ih_l0': a %s layer of hidden size %zu needs "
                                 "%zu rows, got %zu", path, recur_cell_name(c), H, G * H, GH);
        cfg.rnn.cell = c;
        cfg.rnn.hidden_size = H;
        cfg.rnn.proj_size = hr ? Hout : 0;
        cfg.rnn.input_size = (size_t)ih->shape[1];
        cfg.rnn.bidirectional = recur_st_find(f, "rnn.weight_ih_l0_reverse") != NULL;
        cfg.rnn.bias = recur_st_find(f, "rnn.bias_ih_l0") != NULL;
        char name[64];
        size_t L = 0;
        do snprintf(name, sizeof name, "rnn.weight_ih_l%zu", ++L);
        while (recur_st_find(f, name) && L < 64);
        cfg.rnn.num_layers = L;
    }
    const recur_st_tensor *emb = recur_st_find(f, "emb.weight");
    if (!st && emb) {
        emb = need2(f, "emb.weight", -1, (int64_t)cfg.rnn.input_size, &st);
        if (!st) {
            cfg.vocab = (size_t)emb->shape[0];
            cfg.embed_dim = (size_t)emb->shape[1];
        }
        const char *pad = recur_st_meta(f, "recur.padding_idx");
        if (pad) cfg.padding_idx = atoll(pad);
    }
    const recur_st_tensor *fc = need2(f, "fc.weight", -1, -1, &st);
    if (!st) {
        cfg.num_outputs = (size_t)fc->shape[0];
        const char *head = recur_st_meta(f, "recur.head");
        cfg.head = head ? recur_head_from_name(head)
                        : recur_st_find(f, "attn.project.weight") ? RECUR_HEAD_ADDITIVE_ATTENTION : RECUR_HEAD_LAST;
        if (cfg.head < 0) st = recur_set_error(RECUR_E_FORMAT, "%s: unknown recur.head '%s'", path, head);
    }
    recur_model *m = NULL;
    if (!st) st = recur_model_create(d, &cfg, &m);
    if (!st) st = recur_params_load(m->p, f, 0);
    /* Everything in the file must belong to the model or to the optimizer. */
    for (int i = 0; !st && i < recur_st_count(f); i++) {
        const recur_st_tensor *t = recur_st_get(f, i);
        if (recur_params_find(m->p, t->name) < 0 && strncmp(t->name, "optim.", 6))
            st = recur_set_error(RECUR_E_FORMAT, "%s: tensor '%s' does not fit a %s model with %zu layer(s)%s, head %s",
                                 path, t->name, recur_cell_name(cfg.rnn.cell), cfg.rnn.num_layers,
                                 cfg.rnn.bidirectional ? ", bidirectional" : "", recur_head_name(cfg.head));
    }
    recur_st_free(f);
    if (st) {
        recur_model_free(m);
        return st;
    }
    *out = m;
    return RECUR_OK;
}

int recur_optim_load(recur_optim *o, const char *path) {
    recur_st_file *f;
    TRY(recur_st_read(path, &f));
    const recur_optim_config *c = recur_optim_get_config(o);
    const char *kind = recur_st_meta(f, "recur.optim");
    int st = RECUR_OK;
    if (!kind) st = recur_set_error(RECUR_E_FORMAT, "%s: not a checkpoint (no recur.optim in the metadata)", path);
    else if (strcmp(kind, recur_optim_name(c->kind)))
        st = recur_set_error(RECUR_E_FORMAT, "%s: checkpoint holds %s state; the optimizer is %s", path, kind,
                             recur_optim_name(c->kind));
    /* The optimizer's state mirrors the model's arena: each tensor goes to its parameter's offset. */
    const recur_params *p = recur_optim_params(o);
    recur_device *d = recur_params_device(p);
    for (int which = 0; which < 2 && !st; which++) {
        const char *sn = state_names[which][c->kind];
        recur_ptr s = recur_optim_state(o, which);
        if (!sn || !s.buf) continue;
        for (int i = 0; i < recur_params_count(p) && !st; i++) {
            char name[RECUR_PARAM_NAME_MAX + 32];
            snprintf(name, sizeof name, "optim.%s.%s", sn, recur_params_name(p, i));
            size_t shape[4];
            int64_t s64[4];
            int nd = recur_params_shape(p, i, shape);
            for (int k = 0; k < nd; k++) s64[k] = (int64_t)shape[k];
            const recur_st_tensor *t;
            st = recur_st_expect(f, name, RECUR_DT_F32, nd, s64, &t);
            size_t off = recur_params_data(p, i).off - recur_params_data_all(p).off;
            if (!st) st = recur_write(d, recur_at(s, off), t->data, t->numel);
        }
    }
    if (!st) {
        const char *step = recur_st_meta(f, "recur.optim.step"), *epoch = recur_st_meta(f, "recur.optim.epoch"),
                   *lr = recur_st_meta(f, "recur.optim.lr");
        if (!step || !epoch || !lr)
            st = recur_set_error(RECUR_E_FORMAT, "%s: checkpoint lacks recur.optim.step, .epoch or .lr", path);
        else
            recur_optim_restore(o, atoll(step), atoi(epoch), strtof(lr, NULL));
    }
    recur_st_free(f);
    return st;
}
