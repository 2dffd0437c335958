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
    ocl_args a = ocl_args_begin(dev, K_EMBED_FWD);
    ocl_arg_u64(&a, n);
    ocl_arg_u64(&a, dim);
    ocl_arg_ptr(&a, ids);
    ocl_arg_ptr(&a, table);
    ocl_arg_ptr(&a, out);
    return ocl_launch_rows(&a, n, dim, "embed_fwd");
}

int ocl_embed_bwd(void *dev, size_t n, size_t dim, recur_ptr ids, recur_ptr dout, int32_t padding_idx,
                  recur_ptr dtable) {
    if (n == 0) return RECUR_OK;
    ocl_args a = ocl_args_begin(dev, K_EMBED_BWD);
    ocl_arg_u64(&a, n);
    ocl_arg_u64(&a, dim);
    ocl_arg_ptr(&a, ids);
    ocl_arg_ptr(&a, dout);
    ocl_arg_i32(&a, padding_idx);
    ocl_arg_ptr(&a, dtable);
    return ocl_launch_items(&a, dim, "embed_bwd");
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
        ocl_args a = ocl_args_begin(d, d->row_per_item ? K_XENT_ROWS_CPU : K_XENT_ROWS);
        ocl_arg_u64(&a, N);
        ocl_arg_u64(&a, C);
        ocl_arg_ptr(&a, logits);
        ocl_arg_ptr(&a, targets);
        ocl_arg_ptr(&a, weights);
        ocl_arg_i32(&a, ignore_index);
        ocl_arg_f32(&a, label_smoothing);
        ocl_arg_mem(&a, scr);
        ocl_arg_u64(&a, SCR_ROWS);
        st = d->row_per_item ? ocl_launch_items(&a, N, "xent_fwd_bwd")
                       : ocl_launch_groups(&a, N < d->max_groups ? N : d->max_groups, "xent_fwd_bwd");
        if (st) return st;
    }
    /* pass 2: partial sums of num and wt over rows */
    size_t groups, chunk;
    ocl_reduce_plan(N, &groups, &chunk);
    ocl_args a = ocl_args_begin(d, K_PAIR_PART);
    ocl_arg_u64(&a, N);
    ocl_arg_u64(&a, chunk);
    ocl_arg_mem(&a, scr);
    ocl_arg_u64(&a, SCR_ROWS + N);
    ocl_arg_mem(&a, scr);
    ocl_arg_u64(&a, SCR_ROWS + 2 * N);
    ocl_arg_mem(&a, scr);
    if ((st = ocl_launch_groups(&a, groups, "xent_fwd_bwd"))) return st;
    /* pass 3: the loss, and W for the gradient */
    const int mean = reduction == RECUR_REDUCE_MEAN;
    if ((st = ocl_reduce_final(d, groups, scr, 1.0f, mean ? 1 : 2, loss, SCR_W, "xent_fwd_bwd"))) return st;
    if (!dlogits.buf || N == 0) return RECUR_OK;
    /* pass 4: the gradient */
    a = ocl_args_begin(d, d->row_per_item ? K_XENT_GRAD_CPU : K_XENT_GRAD);
    ocl_arg_u64(&a, N);
    ocl_arg_u64(&a, C);
    ocl_arg_ptr(&a, logits);
    ocl_arg_ptr(&a, targets);
    ocl_arg_ptr(&a, weights);
    ocl_arg_f32(&a, label_smoothing);
    ocl_arg_i32(&a, mean);
    ocl_arg_f32(&a, grad_scale);
    ocl_arg_mem(&a, scr);
    ocl_arg_u64(&a, SCR_ROWS);
    ocl_arg_u64(&a, SCR_W);
    ocl_arg_ptr(&a, dlogits);
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
    ocl_args a = ocl_args_begin(d, K_BCE_PART);
    ocl_arg_u64(&a, n);
    ocl_arg_u64(&a, C ? C : 1);
    ocl_arg_u64(&a, chunk);
    ocl_arg_ptr(&a, logits);
    ocl_arg_ptr(&a, targets);
    ocl_arg_ptr(&a, pos_weight);
    ocl_arg_f32(&a, gs);
    ocl_arg_ptr(&a, dlogits);
    ocl_arg_mem(&a, scr);
    if ((st = ocl_launch_groups(&a, groups, "bce_fwd_bwd"))) return st;
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
    ocl_args a = ocl_args_begin(d, K_MSE_PART);
    ocl_arg_u64(&a, n);
    ocl_arg_u64(&a, chunk);
    ocl_arg_ptr(&a, pred);
    ocl_arg_ptr(&a, target);
    ocl_arg_f32(&a, gs);
    ocl_arg_ptr(&a, dpred);
    ocl_arg_mem(&a, scr);
    if ((st = ocl_launch_groups(&a, groups, "mse_fwd_bwd"))) return st;
    return ocl_reduce_final(d, groups, scr, scale, 0, loss, 0, "mse_fwd_bwd");
}

/* ---- optimizers ---- */

int ocl_sgd_step(void *dev, size_t n, recur_ptr param, recur_ptr grad, recur_ptr momentum_buf, float lr,
                 float momentum, float dampening, int nesterov, float weight_decay, int64_t step) {
    if (momentum != 0.0f && !momentum_buf.buf)
        return ocl_error(RECUR_E_INVALID, "opencl: sgd_step: momentum %g needs a momentum buffer", momentum);
    ocl_args a = ocl_args_begin(dev, K_SGD);
    ocl_arg_u64(&a, n);
    ocl_arg_ptr(&a, param);
    ocl_arg_ptr(&a, grad);
    ocl_arg_ptr(&a, momentum_buf);
    ocl_arg_f32(&a, lr);
    ocl_arg_f32(&a, momentum);
    ocl_arg_f32(&a, dampening);
    ocl_arg_i32(&a, nesterov != 0);
    ocl_arg_f32(&a, weight_decay);
    ocl_arg_i32(&a, step <= 1);
    return ocl_launch_items(&a, n, "sgd_step");
}

int ocl_adam_step(void *dev, size_t n, recur_ptr param, recur_ptr grad, recur_ptr m, recur_ptr v, float lr,
                  float beta1, float beta2, float eps, float weight_decay, int decoupled, int64_t step) {
    /* bias corrections in double, as torch does on the host */
    const double bc1 = 1.0 - pow((double)beta1, (double)step);
    const double bc2 = 1.0 - pow((double)beta2, (double)step);
    ocl_args a = ocl_args_begin(dev, K_ADAM);
    ocl_arg_u64(&a, n);
    ocl_arg_ptr(&a, param);
    ocl_arg_ptr(&a, grad);
    ocl_arg_ptr(&a, m);
    ocl_arg_ptr(&a, v);
    ocl_arg_f32(&a, lr);
    ocl_arg_f32(&a, beta1);
    ocl_arg_f32(&a, beta2);
    ocl_arg_f32(&a, eps);
    ocl_arg_f32(&a, weight_decay);
    ocl_arg_i32(&a, decoupled != 0);
    ocl_arg_f32(&a, (float)((double)lr / bc1));
    ocl_arg_f32(&a, (float)sqrt(bc2));
    return ocl_launch_items(&a, n, "adam_step");
}

int ocl_clip_norm(void *dev, size_t n, recur_ptr grad, recur_ptr sumsq, float max_norm) {
    ocl_args a = ocl_args_begin(dev, K_CLIP_NORM);
    ocl_arg_u64(&a, n);
    ocl_arg_ptr(&a, grad);
    ocl_arg_ptr(&a, sumsq);
    ocl_arg_f32(&a, max_norm);
    return ocl_launch_items(&a, n, "clip_norm");
}
