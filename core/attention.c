/*
 * Attention over the RNN's outputs y (T, B, F), per sample b with y_b = rows t*B + b (ld = B*F):
 *   additive (Bahdanau, as AdditiveAttention in seeds/001):
 *       e = tanh(y W_p^T + b_p)  (T, B, F);   s_b,t = v . e_t,b;   w_b = softmax_t(s_b) (masked past the
 *       length);   context_b = sum_t w_b,t y_t,b
 *   dot (scaled, with the last hidden state q as the query):
 *       s_b,t = (q_b . y_t,b) / sqrt(F);  w_b = softmax_t(s_b);  context_b = sum_t w_b,t y_t,b
 * The per-sample products are strided-batched GEMMs with batch B (stride F, leading dimension B*F).
 */
#include <math.h>

#include "model_internal.h"

int recur_attention_forward(recur_model *m) {
    recur_device *d = m->d;
    const size_t B = m->B, T = m->T, F = m->F, TB = T * B, ld = B * F;
    if (m->cfg.head == RECUR_HEAD_ADDITIVE_ATTENTION) {
        TRY(recur_op_gemm(d, 0, 1, TB, F, F, 1.0f, m->y, F, 0, recur_params_data(m->p, m->proj_w), F, 0, 0.0f,
                          m->energy, F, 0, 1));
        TRY(recur_op_add_bias(d, TB, F, recur_params_data(m->p, m->proj_b), m->energy, F));
        TRY(recur_op_act_fwd(d, RECUR_ACT_TANH, TB * F, m->energy, m->energy));
        /* s_b (1, T) = v (1, F) e_b^T */
        TRY(recur_op_gemm(d, 0, 1, 1, T, F, 1.0f, recur_params_data(m->p, m->v_w), F, 0, m->energy, ld, F, 0.0f,
                          m->scores, T, T, B));
    } else {
        /* s_b (1, T) = q_b (1, F) y_b^T / sqrt(F) */
        TRY(recur_op_gemm(d, 0, 1, 1, T, F, 1.0f / sqrtf((float)F), m->query, F, F, m->y, ld, F, 0.0f, m->scores, T, T,
                          B));
    }
    TRY(recur_op_softmax_fwd(d, B, T, m->scores, m->has_lengths ? m->lengths : RECUR_NULLPTR, m->attw));
    /* context_b (1, F) = w_b (1, T) y_b (T, F) */
    return recur_op_gemm(d, 0, 0, 1, F, T, 1.0f, m->attw, T, T, m->y, ld, F, 0.0f, m->feat, F, F, B);
}

/* From dfeat (B, F): adds into dy (T, B, F); for dot attention writes dquery (B, F). */
int recur_attention_backward(recur_model *m) {
    recur_device *d = m->d;
    const size_t B = m->B, T = m->T, F = m->F, TB = T * B, ld = B * F;
    /* dw_b (1, T) = dctx_b (1, F) y_b^T;   dy_b += w_b^T (T, 1) dctx_b (1, F) */
    TRY(recur_op_gemm(d, 0, 1, 1, T, F, 1.0f, m->dfeat, F, F, m->y, ld, F, 0.0f, m->dscores, T, T, B));
    TRY(recur_op_gemm(d, 1, 0, T, F, 1, 1.0f, m->attw, T, T, m->dfeat, F, F, 1.0f, m->dy, ld, F, B));
    /* ds = softmax backward (in place) */
    TRY(recur_op_softmax_bwd(d, B, T, m->attw, m->dscores, m->dscores));
    if (m->cfg.head == RECUR_HEAD_DOT_ATTENTION) {
        float k = 1.0f / sqrtf((float)F);
        /* dq_b (1, F) = k ds_b (1, T) y_b;   dy_b += k ds_b^T (T, 1) q_b (1, F) */
        TRY(recur_op_gemm(d, 0, 0, 1, F, T, k, m->dscores, T, T, m->y, ld, F, 0.0f, m->dquery, F, F, B));
        return recur_op_gemm(d, 1, 0, T, F, 1, k, m->dscores, T, T, m->query, F, F, 1.0f, m->dy, ld, F, B);
    }
    recur_ptr gv = recur_params_grad(m->p, m->v_w), v = recur_params_data(m->p, m->v_w);
    if (recur_op_available(d, "transpose")) {
        /* With ds in the (T, B) layout of e, both products are single GEMMs over all T*B rows (instead of B
         * per-sample products whose rows sit B*F floats apart):  dv += ds_flat (1, TB) e (TB, F);
         * de (TB, F) = ds_flat^T (TB, 1) v (1, F). */
        TRY(recur_op_transpose(d, B, T, m->dscores, T, m->dscores_t, B));
        TRY(recur_op_gemm(d, 0, 0, 1, F, TB, 1.0f, m->dscores_t, TB, 0, m->energy, F, 0, 1.0f, gv, F, 0, 1));
        TRY(recur_op_gemm(d, 0, 0, TB, F, 1, 1.0f, m->dscores_t, 1, 0, v, F, 0, 0.0f, m->denergy, F, 0, 1));
    } else {
        /* dv += sum_b ds_b (1, T) e_b (T, F): per-sample rows, then summed in order. */
        TRY(recur_op_gemm(d, 0, 0, 1, F, T, 1.0f, m->dscores, T, T, m->energy, ld, F, 0.0f, m->tmp_bf, F, F, B));
        TRY(recur_op_sum_rows(d, B, F, m->tmp_bf, F, 1.0f, gv));
        /* de_b (T, F) = ds_b^T (T, 1) v (1, F) */
        TRY(recur_op_gemm(d, 1, 0, T, F, 1, 1.0f, m->dscores, T, T, v, F, 0, 0.0f, m->denergy, ld, F, B));
    }
    /* then through tanh */
    TRY(recur_op_act_bwd(d, RECUR_ACT_TANH, TB * F, m->energy, m->denergy, 0.0f, m->denergy));
    /* dW_p += de^T y;  db_p += sum de;  dy += de W_p */
    TRY(recur_op_gemm(d, 1, 0, F, F, TB, 1.0f, m->denergy, F, 0, m->y, F, 0, 1.0f, recur_params_grad(m->p, m->proj_w), F,
                      0, 1));
    TRY(recur_op_sum_rows(d, TB, F, m->denergy, F, 1.0f, recur_params_grad(m->p, m->proj_b)));
    return recur_op_gemm(d, 0, 0, TB, F, F, 1.0f, m->denergy, F, 0, recur_params_data(m->p, m->proj_w), F, 0, 1.0f, m->dy,
                         F, 0, 1);
}
