/*
 * Embeddings, losses and optimizers of the opencl backend; the math is in kernels/loss.cl and optim.cl.
 *
 * Loss reductions use the device scratch buffer, laid out in floats as
 *   [0, 2*RLANES)            partial sums (two rows: numerator, weight)
 *   [SCR_W]                  W, the summed target weight (cross-entropy)
 *   [SCR_ROWS, + 4N)         per-row terms of cross-entropy: lse, num, wt, wsum
 * and the final pass writes the loss to the caller's buffer, so no host round trip is needed.
 */
#include <math.h>

#include "ocl_internal.h"

#define SCR_W (2 * OCL_RLANES)
#define SCR_ROWS (2 * OCL_RLANES + 64)

int ocl_embed_fwd(void *dev, size_t n, size_t dim, recur_ptr ids, recur_ptr table, recur_ptr out) {
    return ocl_run_rows(dev, K_EMBED_FWD, n, dim, "embed_fwd",
                        OCL_ARGS(ARG_U64(n), ARG_U64(dim), ARG_PTR(ids), ARG_PTR(table), ARG_PTR(out)));
}

int ocl_embed_bwd(void *dev, size_t n, size_t dim, recur_ptr ids, recur_ptr dout, int32_t padding_idx,
                  recur_ptr dtable) {
    if (n == 0) return RECUR_OK;
    return ocl_run_items(dev, K_EMBED_BWD, dim, "embed_bwd",
                         OCL_ARGS(ARG_U64(n), ARG_U64(dim), ARG_PTR(ids), ARG_PTR(dout), ARG_I32(padding_idx),
                                  ARG_PTR(dtable)));
}

int ocl_xent_fwd_bwd(void *dev, size_t N, size_t C, recur_ptr logits, recur_ptr targets, recur_ptr weights,
                     int32_t ignore_index, float label_smoothing, int reduction, float grad_scale, recur_ptr loss,
                     recur_ptr dlogits) {
    ocl_dev *d = dev;
    if (reduction != RECUR_REDUCE_MEAN && reduction != RECUR_REDUCE_SUM)
        return ocl_error(RECUR_E_INVALID, "opencl: xent_fwd_bwd: unknown reduction %d", reduction);
    if (!(label_smoothing >= 0.0f && label_smoothing <= 1.0f))
        return ocl_error(RECUR_E_INVALID, "opencl: xent_fwd_bwd: label_smoothing = %g, must be in [0, 1]",
                         label_smoothing);
    if (C == 0 && N > 0) return ocl_error(RECUR_E_INVALID, "opencl: xent_fwd_bwd: C = 0 classes");
    cl_mem scr;
    int st = ocl_scratch(d, (SCR_ROWS + 4 * N) * 4, &scr);
    if (st) return st;
    /* pass 1: per-row terms (one work-group per row) */
    if (N > 0) {
        st = ocl_run_per_row(d, K_XENT_ROWS, K_XENT_ROWS_CPU, N, "xent_fwd_bwd",
                             OCL_ARGS(ARG_U64(N), ARG_U64(C), ARG_PTR(logits), ARG_PTR(targets), ARG_PTR(weights),
                                      ARG_I32(ignore_index), ARG_F32(label_smoothing), ARG_MEM(scr),
                                      ARG_U64(SCR_ROWS)));
        if (st) return st;
    }
    /* pass 2: partial sums of num and wt over rows */
    size_t groups, chunk;
    ocl_reduce_plan(N, &groups, &chunk);
    st = ocl_run_groups(d, K_PAIR_PART, groups, "xent_fwd_bwd",
                        OCL_ARGS(ARG_U64(N), ARG_U64(chunk), ARG_MEM(scr), ARG_U64(SCR_ROWS + N), ARG_MEM(scr),
                                 ARG_U64(SCR_ROWS + 2 * N), ARG_MEM(scr)));
    if (st) return st;
    /* pass 3: the loss, and W for the gradient */
    const int mean = reduction == RECUR_REDUCE_MEAN;
    if ((st = ocl_reduce_final(d, groups, scr, 1.0f, mean ? 1 : 2, loss, SCR_W, "xent_fwd_bwd"))) return st;
    if (!dlogits.buf || N == 0) return RECUR_OK;
    /* pass 4: the gradient */
    ocl_args a = ocl_args_with(d, d->row_per_item ? K_XENT_GRAD_CPU : K_XENT_GRAD,
                               OCL_ARGS(ARG_U64(N), ARG_U64(C), ARG_PTR(logits), ARG_PTR(targets), ARG_PTR(weights),
                                        ARG_F32(label_smoothing), ARG_I32(mean), ARG_F32(grad_scale), ARG_MEM(scr),
                                        ARG_U64(SCR_ROWS), ARG_U64(SCR_W), ARG_PTR(dlogits)));
    return d->row_per_item ? ocl_launch_items(&a, N, "xent_fwd_bwd") : ocl_launch_rows(&a, N, C, "xent_fwd_bwd");
}

int ocl_bce_fwd_bwd(void *dev, size_t n, size_t C, recur_ptr logits, recur_ptr targets, recur_ptr pos_weight,
                    int reduction, float grad_scale, recur_ptr loss, recur_ptr dlogits) {
    ocl_dev *d = dev;
    if (reduction != RECUR_REDUCE_MEAN && reduction != RECUR_REDUCE_SUM)
        return ocl_error(RECUR_E_INVALID, "opencl: bce_fwd_bwd: unknown reduction %d", reduction);
    if (C == 0 && pos_weight.buf && n > 0)
        return ocl_error(RECUR_E_INVALID, "opencl: bce_fwd_bwd: C = 0 with pos_weight");
    cl_mem scr;
    int st = ocl_scratch(d, SCR_ROWS * 4, &scr);
    if (st) return st;
    const int mean = reduction == RECUR_REDUCE_MEAN;
    /* mean over 0 elements is 0/0 = NaN, as torch */
    const float scale = mean ? (n ? 1.0f / (float)n : NAN) : 1.0f;
    const float gs = mean && n ? grad_scale / (float)n : grad_scale;
    size_t groups, chunk;
    ocl_reduce_plan(n, &groups, &chunk);
    st = ocl_run_groups(d, K_BCE_PART, groups, "bce_fwd_bwd",
                        OCL_ARGS(ARG_U64(n), ARG_U64(C ? C : 1), ARG_U64(chunk), ARG_PTR(logits), ARG_PTR(targets),
                                 ARG_PTR(pos_weight), ARG_F32(gs), ARG_PTR(dlogits), ARG_MEM(scr)));
    if (st) return st;
    return ocl_reduce_final(d, groups, scr, scale, 0, loss, 0, "bce_fwd_bwd");
}

int ocl_mse_fwd_bwd(void *dev, size_t n, recur_ptr pred, recur_ptr target, int reduction, float grad_scale,
                    recur_ptr loss, recur_ptr dpred) {
    ocl_dev *d = dev;
    if (reduction != RECUR_REDUCE_MEAN && reduction != RECUR_REDUCE_SUM)
        return ocl_error(RECUR_E_INVALID, "opencl: mse_fwd_bwd: unknown reduction %d", reduction);
    cl_mem scr;
    int st = ocl_scratch(d, SCR_ROWS * 4, &scr);
    if (st) return st;
    const int mean = reduction == RECUR_REDUCE_MEAN;
    const float scale = mean ? (n ? 1.0f / (float)n : NAN) : 1.0f;
    const float gs = mean && n ? grad_scale / (float)n : grad_scale;
    size_t groups, chunk;
    ocl_reduce_plan(n, &groups, &chunk);
    st = ocl_run_groups(d, K_MSE_PART, groups, "mse_fwd_bwd",
                        OCL_ARGS(ARG_U64(n), ARG_U64(chunk), ARG_PTR(pred), ARG_PTR(target), ARG_F32(gs),
                                 ARG_PTR(dpred), ARG_MEM(scr)));
    if (st) return st;
    return ocl_reduce_final(d, groups, scr, scale, 0, loss, 0, "mse_fwd_bwd");
}

/* ---- optimizers ---- */

int ocl_sgd_step(void *dev, size_t n, recur_ptr param, recur_ptr grad, recur_ptr momentum_buf, float lr,
                 float momentum, float dampening, int nesterov, float weight_decay, int64_t step) {
    if (momentum != 0.0f && !momentum_buf.buf)
        return ocl_error(RECUR_E_INVALID, "opencl: sgd_step: momentum %g needs a momentum buffer", momentum);
    return ocl_run_items(dev, K_SGD, n, "sgd_step",
                         OCL_ARGS(ARG_U64(n), ARG_PTR(param), ARG_PTR(grad), ARG_PTR(momentum_buf), ARG_F32(lr),
                                  ARG_F32(momentum), ARG_F32(dampening), ARG_I32(nesterov != 0), ARG_F32(weight_decay),
                                  ARG_I32(step <= 1)));
}

int ocl_adam_step(void *dev, size_t n, recur_ptr param, recur_ptr grad, recur_ptr m, recur_ptr v, float lr,
                  float beta1, float beta2, float eps, float weight_decay, int decoupled, int64_t step) {
    /* bias corrections in double, as torch does on the host */
    const double bc1 = 1.0 - pow((double)beta1, (double)step);
    const double bc2 = 1.0 - pow((double)beta2, (double)step);
    return ocl_run_items(dev, K_ADAM, n, "adam_step",
                         OCL_ARGS(ARG_U64(n), ARG_PTR(param), ARG_PTR(grad), ARG_PTR(m), ARG_PTR(v), ARG_F32(lr),
                                  ARG_F32(beta1), ARG_F32(beta2), ARG_F32(eps), ARG_F32(weight_decay),
                                  ARG_I32(decoupled != 0), ARG_F32((float)((double)lr / bc1)),
                                  ARG_F32((float)sqrt(bc2))));
}

int ocl_clip_norm(void *dev, size_t n, recur_ptr grad, recur_ptr sumsq, float max_norm) {
    return ocl_run_items(dev, K_CLIP_NORM, n, "clip_norm",
                         OCL_ARGS(ARG_U64(n), ARG_PTR(grad), ARG_PTR(sumsq), ARG_F32(max_norm)));
}
