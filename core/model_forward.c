/*
 * Model forward:  x = emb(ids) or features (T, B, I) -> y, h_n = rnn(x) -> head -> logits.
 *   last:      feat (B, F) = h_n[last layer] (forward ++ reverse),      logits = feat W_fc^T + b_fc
 *   attention: feat = context (see attention.c),                        logits = feat W_fc^T + b_fc
 *   per_step:  logits (T, B, C) = y W_fc^T + b_fc
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "model_internal.h"
#include "rnn_internal.h"

int recur_model_reserve(recur_model *m, size_t T, size_t B);

/* Upload the batch sequence-first, checking ids and lengths on the host (devices cannot report them). */
static int upload_batch(recur_model *m, const recur_batch *b) {
    const size_t B = b->B, T = b->T, I = m->I;
    if (!B || !T) return recur_set_error(RECUR_E_INVALID, "model forward: batch %zu x %zu steps; both must be > 0", B, T);
    TRY(recur_model_reserve(m, T, B));
    m->B = B;
    m->T = T;
    if (m->cfg.vocab) {
        if (!b->ids) return recur_set_error(RECUR_E_INVALID, "model forward: this model embeds token ids; batch has none");
        for (size_t s = 0; s < B; s++)
            for (size_t t = 0; t < T; t++) {
                int32_t id = b->ids[s * T + t];
                if (id < 0 || (size_t)id >= m->cfg.vocab)
                    return recur_set_error(RECUR_E_INVALID, "model forward: token id %d at sample %zu, step %zu is "
                                           "outside the vocabulary [0, %zu)", id, s, t, m->cfg.vocab);
                m->host_ids[t * B + s] = id;
            }
        TRY(recur_write(m->d, m->ids, m->host_ids, T * B));
        TRY(recur_op_embed_fwd(m->d, T * B, m->cfg.embed_dim, m->ids, recur_params_data(m->p, m->emb), m->x));
    } else {
        if (!b->features)
            return recur_set_error(RECUR_E_INVALID, "model forward: this model reads float features; batch has none");
        /* Batch-first to sequence-first: straight into the device buffer where the host can address it
         * (one pass over the batch instead of two), else through host_x and a write. */
        int st;
        float *dst = recur_host_view(m->d, m->x, &st);
        if (st) return st;
        float *x = dst ? dst : m->host_x;
        for (size_t s = 0; s < B; s++)
            for (size_t t = 0; t < T; t++) memcpy(x + (t * B + s) * I, b->features + (s * T + t) * I, sizeof(float) * I);
        if (!dst) TRY(recur_write(m->d, m->x, m->host_x, T * B * I));
    }
    m->has_lengths = b->lengths != NULL;
    if (b->lengths) {
        for (size_t s = 0; s < B; s++)
            if (b->lengths[s] < 0 || (size_t)b->lengths[s] > T)
                return recur_set_error(RECUR_E_INVALID, "model forward: length %d of sample %zu is outside [0, %zu]",
                                       b->lengths[s], s, T);
        memcpy(m->host_len, b->lengths, sizeof(int32_t) * B);
        TRY(recur_write(m->d, m->lengths, b->lengths, B));
    }
    size_t H = m->cfg.rnn.hidden_size, P = m->cfg.rnn.proj_size ? m->cfg.rnn.proj_size : H;
    m->has_h0 = b->h0 != NULL;
    m->has_c0 = b->c0 != NULL && m->cfg.rnn.cell == RECUR_CELL_LSTM;
    if (m->has_h0) TRY(recur_write(m->d, m->h0, b->h0, m->LD * B * P));
    if (m->has_c0) TRY(recur_write(m->d, m->c0, b->c0, m->LD * B * H));
    return RECUR_OK;
}

/* feat (B, F) = the last layer's final states, forward then reverse. */
static int last_state(recur_model *m, recur_ptr dst) {
    size_t D = m->cfg.rnn.bidirectional ? 2 : 1, P = m->F / D, B = m->B;
    for (size_t dir = 0; dir < D; dir++) {
        size_t row = m->LD - D + dir;
        TRY(recur_op_copy(m->d, B, P, recur_at(m->hn, row * B * P), P, recur_at(dst, dir * P), m->F));
    }
    return RECUR_OK;
}

int recur_model_forward(recur_model *m, const recur_batch *b, int training) {
    m->trained = 0;
    TRY(upload_batch(m, b));
    const size_t B = m->B, T = m->T, F = m->F, C = m->cfg.num_outputs;
    TRY(recur_rnn_forward(m->rnn, T, B, m->x, m->has_lengths ? m->lengths : RECUR_NULLPTR,
                          m->has_h0 ? m->h0 : RECUR_NULLPTR, m->has_c0 ? m->c0 : RECUR_NULLPTR, training, m->y, m->hn,
                          m->cfg.rnn.cell == RECUR_CELL_LSTM ? m->cn : RECUR_NULLPTR));
    recur_ptr w = recur_params_data(m->p, m->fc_w), bias = recur_params_data(m->p, m->fc_b);
    switch (m->cfg.head) {
    case RECUR_HEAD_PER_STEP:
        TRY(recur_op_gemm(m->d, 0, 1, T * B, C, F, 1.0f, m->y, F, 0, w, F, 0, 0.0f, m->logits, C, 0, 1));
        TRY(recur_op_add_bias(m->d, T * B, C, bias, m->logits, C));
        break;
    case RECUR_HEAD_LAST:
        TRY(last_state(m, m->feat));
        TRY(recur_op_gemm(m->d, 0, 1, B, C, F, 1.0f, m->feat, F, 0, w, F, 0, 0.0f, m->logits, C, 0, 1));
        TRY(recur_op_add_bias(m->d, B, C, bias, m->logits, C));
        break;
    default:
        if (m->cfg.head == RECUR_HEAD_DOT_ATTENTION) TRY(last_state(m, m->query));
        TRY(recur_attention_forward(m));
        TRY(recur_op_gemm(m->d, 0, 1, B, C, F, 1.0f, m->feat, F, 0, w, F, 0, 0.0f, m->logits, C, 0, 1));
        TRY(recur_op_add_bias(m->d, B, C, bias, m->logits, C));
        break;
    }
    m->trained = training;
    return RECUR_OK;
}

/* ---- reading results back, batch-first ---------------------------------------------------------------- */

static int read_tb(recur_model *m, recur_ptr src, size_t F, float *out) {
    size_t T = m->T, B = m->B;
    float *tmp = m->host_x; /* (T, B, max(I, C)) scratch; F <= that only for logits, so use a fresh buffer */
    float *buf = F <= (m->I > m->cfg.num_outputs ? m->I : m->cfg.num_outputs) ? tmp : malloc(sizeof(float) * T * B * F);
    if (!buf) return recur_set_error(RECUR_E_NOMEM, "model read: out of memory");
    int st = recur_read(m->d, buf, src, T * B * F);
    if (!st)
        for (size_t t = 0; t < T; t++)
            for (size_t s = 0; s < B; s++) memcpy(out + (s * T + t) * F, buf + (t * B + s) * F, sizeof(float) * F);
    if (buf != tmp) free(buf);
    return st;
}

int recur_model_read_logits(recur_model *m, float *out) {
    if (m->cfg.head == RECUR_HEAD_PER_STEP) return read_tb(m, m->logits, m->cfg.num_outputs, out);
    return recur_read(m->d, out, m->logits, m->B * m->cfg.num_outputs);
}

int recur_model_read_output(recur_model *m, float *out) { return read_tb(m, m->y, m->F, out); }

int recur_model_read_state(recur_model *m, float *h_n, float *c_n) {
    size_t H = m->cfg.rnn.hidden_size, P = m->cfg.rnn.proj_size ? m->cfg.rnn.proj_size : H;
    if (h_n) TRY(recur_read(m->d, h_n, m->hn, m->LD * m->B * P));
    if (c_n && m->cfg.rnn.cell == RECUR_CELL_LSTM) TRY(recur_read(m->d, c_n, m->cn, m->LD * m->B * H));
    return RECUR_OK;
}

int recur_model_read_attention(recur_model *m, float *out) {
    if (m->cfg.head != RECUR_HEAD_ADDITIVE_ATTENTION && m->cfg.head != RECUR_HEAD_DOT_ATTENTION)
        return recur_set_error(RECUR_E_INVALID, "model: head '%s' has no attention weights", recur_head_name(m->cfg.head));
    return recur_read(m->d, out, m->attw, m->B * m->T);
}

int recur_model_read_gates(recur_model *m, float *out) {
    if (m->cfg.rnn.cell != RECUR_CELL_LSTM)
        return recur_set_error(RECUR_E_INVALID, "model: gate activations are for LSTM cells (this is %s)",
                               recur_cell_name(m->cfg.rnn.cell));
    const struct recur_rnn *r = (const struct recur_rnn *)m->rnn;
    const rnn_dir *q = &r->layer[m->cfg.rnn.num_layers - 1].dir[0];
    return read_tb(m, q->xg, 4 * m->cfg.rnn.hidden_size, out);
}
