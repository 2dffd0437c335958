/* Model backward: head -> dy, dh_n -> the recurrent stack -> embedding. Gradients accumulate. */
#include "model_internal.h"

int recur_model_backward(recur_model *m, recur_ptr dlogits) {
    if (!m->trained)
        return recur_set_error(RECUR_E_INVALID, "model backward: no training forward to differentiate");
    recur_device *d = m->d;
    const size_t B = m->B, T = m->T, F = m->F, C = m->cfg.num_outputs, D = m->cfg.rnn.bidirectional ? 2 : 1;
    const size_t P = F / D, rows = recur_model_logit_rows(m);
    recur_ptr w = recur_params_data(m->p, m->fc_w);
    int per_step = m->cfg.head == RECUR_HEAD_PER_STEP;
    recur_ptr head_in = per_step ? m->y : m->feat, dhead_in = per_step ? m->dy : m->dfeat;
    /* fc: dW += dlogits^T in;  db += sum dlogits;  d(in) = dlogits W */
    TRY(recur_op_gemm(d, 1, 0, C, F, rows, 1.0f, dlogits, C, 0, head_in, F, 0, 1.0f, recur_params_grad(m->p, m->fc_w), F,
                      0, 1));
    TRY(recur_op_sum_rows(d, rows, C, dlogits, C, 1.0f, recur_params_grad(m->p, m->fc_b)));
    TRY(recur_op_gemm(d, 0, 0, rows, F, C, 1.0f, dlogits, C, 0, w, F, 0, 0.0f, dhead_in, F, 0, 1));

    TRY(recur_op_fill(d, m->LD * B * P, 0.0f, m->dhn));
    /* The last-state head reaches the outputs y only through h_n: no dy at all (NULL), rather than T*B*F
     * zeros written here and read back at every step. Attention adds into dy, so it starts at zero. */
    const int has_dy = recur_model_head_has_dy(m);
    if (has_dy && !per_step) TRY(recur_op_fill(d, T * B * F, 0.0f, m->dy));
    /* The "last" features (the head's input, or dot attention's query) came from h_n's last layer. */
    recur_ptr dlast = RECUR_NULLPTR;
    if (m->cfg.head == RECUR_HEAD_LAST) dlast = m->dfeat;
    if (m->cfg.head == RECUR_HEAD_ADDITIVE_ATTENTION || m->cfg.head == RECUR_HEAD_DOT_ATTENTION)
        TRY(recur_attention_backward(m));
    if (m->cfg.head == RECUR_HEAD_DOT_ATTENTION) dlast = m->dquery;
    for (size_t dir = 0; dlast.buf && dir < D; dir++) {
        size_t row = m->LD - D + dir;
        TRY(recur_op_copy(d, B, P, recur_at(dlast, dir * P), F, recur_at(m->dhn, row * B * P), P));
    }
    recur_ptr dx = m->cfg.vocab ? m->dx : RECUR_NULLPTR;
    TRY(recur_rnn_backward(m->rnn, has_dy ? m->dy : RECUR_NULLPTR, m->dhn, RECUR_NULLPTR, dx, RECUR_NULLPTR,
                           RECUR_NULLPTR));
    if (m->cfg.vocab)
        TRY(recur_op_embed_bwd(d, T * B, m->cfg.embed_dim, m->ids, m->dx,
                               m->cfg.padding_idx >= 0 ? (int32_t)m->cfg.padding_idx : -1,
                               recur_params_grad(m->p, m->emb)));
    return RECUR_OK;
}
