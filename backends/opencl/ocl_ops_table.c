/*
 * The op table of the opencl backend, and warmup(): one tiny run of every kernel (drivers such as PoCL
 * finish compiling a kernel at its first launch) plus CLBlast's GEMM kernels for each transpose
 * combination, so that timings taken afterwards measure work, not compilation.
 */
#include <string.h>

#include "ocl_internal.h"

const recur_ops ocl_ops = {
    .abi_major = RECUR_ABI_MAJOR,
    .struct_size = sizeof(recur_ops),
    .buf_alloc = ocl_buf_alloc,
    .buf_free = ocl_buf_free,
    .host_ptr = ocl_host_ptr,
    .write = ocl_write,
    .read = ocl_read,
    .sync = ocl_sync,
    .fill = ocl_fill,
    .copy = ocl_copy,
    .scale = ocl_scale,
    .axpy = ocl_axpy,
    .mul = ocl_mul,
    .gemm = ocl_gemm,
    .add_bias = ocl_add_bias,
    .sum_rows = ocl_sum_rows,
    .sum_sq = ocl_sum_sq,
    .act_fwd = ocl_act_fwd,
    .act_bwd = ocl_act_bwd,
    .softmax_fwd = ocl_softmax_fwd,
    .softmax_bwd = ocl_softmax_bwd,
    .lstm_fwd = ocl_lstm_fwd,
    .lstm_bwd = ocl_lstm_bwd,
    .gru_fwd = ocl_gru_fwd,
    .gru_bwd = ocl_gru_bwd,
    .gru_reset = ocl_gru_reset,
    .gru_reset_bwd = ocl_gru_reset_bwd,
    .rnn_fwd = ocl_rnn_fwd,
    .rnn_bwd = ocl_rnn_bwd,
    .select_step = ocl_select_step,
    .embed_fwd = ocl_embed_fwd,
    .embed_bwd = ocl_embed_bwd,
    .xent_fwd_bwd = ocl_xent_fwd_bwd,
    .bce_fwd_bwd = ocl_bce_fwd_bwd,
    .mse_fwd_bwd = ocl_mse_fwd_bwd,
    .sgd_step = ocl_sgd_step,
    .adam_step = ocl_adam_step,
    .clip_norm = ocl_clip_norm,
    .clip_value = ocl_clip_value,
    .dropout = ocl_dropout,
    .transpose = ocl_transpose,
};

/* Every op once on a zeroed buffer: B = 2 samples, H = 3 units. Slices of one buffer stand for all the
 * tensors (the values do not matter, only that each kernel is launched once with its real configuration). */
static int run_every_kernel(ocl_dev *d) {
    enum { B = 2, H = 3, SLICE = 64, SLICES = 24 };
    recur_buf *buf = NULL;
    int st = ocl_buf_alloc(d, SLICE * SLICES * 4, &buf);
    if (st) return st;
    recur_ptr s[SLICES];
    for (int i = 0; i < SLICES; i++) s[i] = (recur_ptr){buf, (size_t)i * SLICE};
    const recur_ptr none = {NULL, 0};
#define RUN(call)                                                                                          \
    do {                                                                                                   \
        if (!st) st = (call);                                                                              \
    } while (0)
    RUN(ocl_fill(d, SLICE * SLICES, 0.0f, s[0]));
    RUN(ocl_copy(d, B, H, s[0], H + 1, s[1], H));
    RUN(ocl_transpose(d, B, H, s[0], H, s[1], B));
    RUN(ocl_scale(d, B * H, 0.5f, s[1]));
    RUN(ocl_axpy(d, B * H, 0.5f, s[0], s[1]));
    RUN(ocl_mul(d, B * H, 1.0f, s[0], s[1], 0.0f, s[2]));
    RUN(ocl_add_bias(d, B, H, s[0], s[2], H));
    RUN(ocl_sum_rows(d, B, H, s[2], H, 0.0f, s[3]));
    RUN(ocl_sum_sq(d, B * H, s[2], s[3]));
    RUN(ocl_act_fwd(d, RECUR_ACT_TANH, B * H, s[2], s[3]));
    RUN(ocl_act_bwd(d, RECUR_ACT_TANH, B * H, s[3], s[2], 0.0f, s[4]));
    RUN(ocl_softmax_fwd(d, B, H, s[2], s[23], s[3]));
    RUN(ocl_softmax_bwd(d, B, H, s[3], s[2], s[4]));
    RUN(ocl_lstm_fwd(d, B, H, s[5], s[6], s[7], s[8], s[9], s[10], H, s[23], 0));
    RUN(ocl_lstm_bwd(d, B, H, s[5], s[6], s[7], s[10], H, s[11], s[12], s[13], s[23], 0));
    RUN(ocl_gru_fwd(d, B, H, 1, s[5], s[6], s[8], s[9], s[10], H, s[23], 0));
    RUN(ocl_gru_bwd(d, B, H, 1, s[5], s[6], s[8], s[10], H, s[11], s[13], s[14], s[23], 0));
    RUN(ocl_gru_reset(d, B, H, s[5], s[6], s[8], s[15], s[23], 0));
    RUN(ocl_gru_reset_bwd(d, B, H, s[5], s[8], s[15], s[13], s[14], s[11], s[23], 0));
    RUN(ocl_rnn_fwd(d, B, H, RECUR_ACT_TANH, s[5], s[8], s[9], s[10], H, s[23], 0));
    RUN(ocl_rnn_bwd(d, B, H, RECUR_ACT_TANH, s[9], s[10], H, s[11], s[12], s[23], 0));
    RUN(ocl_select_step(d, B, H, s[9], H, s[8], H, s[10], H, s[23], 0));
    RUN(ocl_embed_fwd(d, B, H, s[23], s[16], s[17]));
    RUN(ocl_embed_bwd(d, B, H, s[23], s[17], -1, s[16]));
    RUN(ocl_xent_fwd_bwd(d, B, H, s[2], s[23], none, -100, 0.1f, RECUR_REDUCE_MEAN, 1.0f, s[18], s[19]));
    RUN(ocl_bce_fwd_bwd(d, B * H, H, s[2], s[3], none, RECUR_REDUCE_MEAN, 1.0f, s[18], s[19]));
    RUN(ocl_mse_fwd_bwd(d, B * H, s[2], s[3], RECUR_REDUCE_MEAN, 1.0f, s[18], s[19]));
    RUN(ocl_sgd_step(d, B * H, s[20], s[19], s[21], 0.1f, 0.9f, 0.0f, 0, 0.0f, 1));
    RUN(ocl_adam_step(d, B * H, s[20], s[19], s[21], s[22], 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, 1, 1));
    RUN(ocl_clip_norm(d, B * H, s[19], s[18], 1.0f));
    RUN(ocl_clip_value(d, B * H, s[19], 1.0f));
    RUN(ocl_dropout(d, B * H, 0.5f, 1, 0, s[19], s[20]));
    RUN(ocl_philox_u32(d, B * H, 1, 0, s[20]));
#undef RUN
    if (!st) st = ocl_sync(d);
    ocl_buf_free(d, buf);
    return st;
}

int ocl_warmup(void *dev) {
    ocl_dev *d = dev;
    if (!d) return ocl_error(RECUR_E_INVALID, "opencl: warmup: NULL device");
    const double t0 = ocl_now_ms();
    int st = run_every_kernel(d);
    if (!st) st = ocl_gemm_warmup(d);
    d->warmup_ms = ocl_now_ms() - t0;
    if (!st) OCL_LOG(RECUR_LOG_INFO, "opencl: warmup of %s took %.1f ms", d->name, d->warmup_ms);
    return st;
}
