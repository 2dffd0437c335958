/*
 * Losses over the model's logits: host targets are checked and uploaded, then one fused op computes the
 * loss (one float, read back) and dlogits, and backward runs through the model.
 * Per-step heads: targets (B, T) are reordered to the logits' (T, B) rows; for cross-entropy, steps past a
 * sample's length count as ignore_index, so the mean is over real tokens only, as PyTorch's with padding.
 */
#include <string.h>

#include "model_internal.h"

static const char *const loss_names[] = {"cross_entropy", "bce_with_logits", "mse"};
const char *recur_loss_name(int kind) { return kind >= 0 && kind <= RECUR_LOSS_MSE ? loss_names[kind] : "?"; }
int recur_loss_from_name(const char *name) {
    for (int i = 0; i <= RECUR_LOSS_MSE; i++)
        if (!strcmp(name, loss_names[i])) return i;
    return -1;
}

static int upload_optional(recur_model *m, recur_ptr *dst, const float *src, size_t n) {
    if (!src) return RECUR_OK;
    if (!dst->buf) TRY(recur_alloc(m->d, m->cfg.num_outputs, dst));
    return recur_write(m->d, *dst, src, n);
}

static int compute(recur_model *m, const recur_loss_config *lc, const void *targets, float *loss, int with_grad) {
    if (!m->B) return recur_set_error(RECUR_E_INVALID, "loss: run a forward first");
    const size_t B = m->B, T = m->T, C = m->cfg.num_outputs, rows = recur_model_logit_rows(m);
    const int per_step = m->cfg.head == RECUR_HEAD_PER_STEP;
    recur_ptr dl = with_grad ? m->dlogits : RECUR_NULLPTR;
    const int32_t *lens = per_step && m->has_lengths ? m->host_len : NULL;
    int st = RECUR_OK;
    if (lc->kind == RECUR_LOSS_CROSS_ENTROPY) {
        const int32_t *tg = targets;
        int32_t *out = m->host_ids; /* (rows) scratch */
        for (size_t r = 0; r < rows && !st; r++) {
            size_t s = per_step ? r % B : r, t = per_step ? r / B : 0;
            int32_t y = per_step ? tg[s * T + t] : tg[s];
            if (lens && (int32_t)t >= lens[s]) y = lc->ignore_index;
            if (y != lc->ignore_index && (y < 0 || (size_t)y >= C))
                st = recur_set_error(RECUR_E_INVALID, "loss: target class %d of sample %zu%s is outside [0, %zu)", y, s,
                                     per_step ? " (at some step)" : "", C);
            out[r] = y;
        }
        if (!st) st = recur_write(m->d, m->targets, out, rows);
        if (!st) st = upload_optional(m, &m->class_w, lc->class_weights, C);
        if (!st)
            st = recur_op_xent_fwd_bwd(m->d, rows, C, m->logits, m->targets,
                                       lc->class_weights ? m->class_w : RECUR_NULLPTR, lc->ignore_index,
                                       lc->label_smoothing, lc->reduction, 1.0f, m->loss, dl);
    } else if (lc->kind == RECUR_LOSS_BCE_WITH_LOGITS || lc->kind == RECUR_LOSS_MSE) {
        if (lens)
            for (size_t s = 0; s < B && !st; s++)
                if ((size_t)lens[s] != T)
                    st = recur_set_error(RECUR_E_UNSUPPORTED, "loss: %s with per-step outputs needs equal lengths "
                                         "(sample %zu has %d of %zu steps); use cross-entropy, or pad the targets",
                                         recur_loss_name(lc->kind), s, lens[s], T);
        const float *tg = targets;
        float *out = m->host_t;
        for (size_t r = 0; r < rows && !st; r++) {
            size_t s = per_step ? r % B : r, t = per_step ? r / B : 0;
            memcpy(out + r * C, tg + (per_step ? (s * T + t) * C : s * C), sizeof(float) * C);
        }
        if (!st) st = recur_write(m->d, m->targets, out, rows * C);
        if (!st && lc->kind == RECUR_LOSS_MSE)
            st = recur_op_mse_fwd_bwd(m->d, rows * C, m->logits, m->targets, lc->reduction, 1.0f, m->loss, dl);
        if (!st && lc->kind == RECUR_LOSS_BCE_WITH_LOGITS) {
            st = upload_optional(m, &m->pos_w, lc->pos_weight, C);
            if (!st)
                st = recur_op_bce_fwd_bwd(m->d, rows * C, C, m->logits, m->targets,
                                          lc->pos_weight ? m->pos_w : RECUR_NULLPTR, lc->reduction, 1.0f, m->loss, dl);
        }
    } else {
        st = recur_set_error(RECUR_E_INVALID, "loss: unknown kind %d", lc->kind);
    }
    if (!st) st = recur_read(m->d, loss, m->loss, 1);
    if (!st && !(*loss == *loss && *loss - *loss == 0.0f))
        st = recur_set_error(RECUR_E_NUMERIC, "loss is %s: training diverged (lower the learning rate, or clip "
                             "gradients with --clip-norm)", *loss == *loss ? "infinite" : "NaN");
    return st;
}

int recur_model_loss(recur_model *m, const recur_loss_config *lc, const void *targets, float *loss) {
    return compute(m, lc, targets, loss, 0);
}

int recur_model_loss_backward(recur_model *m, const recur_loss_config *lc, const void *targets, float *loss) {
    TRY(compute(m, lc, targets, loss, 1));
    return recur_model_backward(m, m->dlogits);
}
