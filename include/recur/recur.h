/*
 * recur/recur.h — the public C API of librecur: errors, backend loading, devices, buffers and ops.
 *
 * Every function returns a recur_status (0 = RECUR_OK) unless it says otherwise; on failure
 * recur_last_error() gives this thread's message (what, where, expected against got).
 */
#ifndef RECUR_RECUR_H
#define RECUR_RECUR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "recur/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RECUR_VERSION_STRING "0.1.0"

/* ---- errors ---------------------------------------------------------------------------------------- */
const char *recur_strerror(int status);  /* the code's name and meaning, static text */
const char *recur_last_error(void);       /* this thread's last message ("" if none) */
int recur_set_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int recur_set_errorv(int status, const char *fmt, va_list ap);
void recur_clear_error(void);

/* Logging: lines go to stderr at RECUR_LOG_WARN and above by default; RECUR_LOG=debug|info|warn|error
 * changes the level. A program may install its own sink. */
typedef void (*recur_log_fn)(int level, const char *msg, void *user);
void recur_set_log(recur_log_fn fn, void *user);
void recur_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Environment, read with secure_getenv where available. */
const char *recur_getenv(const char *name);

/* ---- backends ------------------------------------------------------------------------------------- */
typedef struct recur_backend recur_backend; /* a loaded plugin */
typedef struct recur_device recur_device;   /* an open device with its queue */

/* Load a backend by name ("ref", "cpu", "opencl", a plugin's name), by path to a .so, or "auto" (the
 * fastest available: a GPU OpenCL device, else cpu). NULL or "" reads RECUR_BACKEND (unset: "cpu" if
 * built, else "ref"). Fails with a message naming the file and the reason; for an unknown name it lists
 * the names found and the folders searched. Zero devices is RECUR_E_NODEVICE with the probe's reason. */
int recur_backend_load(const char *name_or_path, recur_backend **out);
void recur_backend_unload(recur_backend *b);

const char *recur_backend_name(const recur_backend *b);
const char *recur_backend_version(const recur_backend *b);
const char *recur_backend_path(const recur_backend *b);
const char *recur_backend_description(const recur_backend *b);
uint32_t recur_backend_abi_minor(const recur_backend *b);
int recur_backend_device_count(const recur_backend *b);
int recur_backend_device_info(const recur_backend *b, int index, recur_device_info *info);
const recur_backend_iface *recur_backend_get_iface(const recur_backend *b);

/* The folders searched for plugins, in order: RECUR_BACKEND_PATH (':'-separated), the build folder,
 * the install folder. Writes up to max entries; returns the count. Strings are static per process. */
int recur_backend_search_dirs(const char **dirs, int max);

/* Discovery for `recur devices`: calls fn for every plugin file found in the search folders (first
 * occurrence of a name wins). b is NULL when loading failed; status/message then say why. */
typedef void (*recur_discover_fn)(const char *name, const char *path, recur_backend *b, int status,
                                  const char *message, void *user);
void recur_backend_discover(recur_discover_fn fn, void *user);

/* Open a device. selector NULL or "" reads RECUR_DEVICE; unset means device 0. A selector is an index or
 * a case-insensitive substring of the device name, vendor or platform. */
int recur_device_open(recur_backend *b, const char *selector, recur_device **out);
void recur_device_close(recur_device *d);
/* Load backend (from RECUR_BACKEND when name is NULL) and open device (from RECUR_DEVICE when NULL).
 * The device owns the backend: closing the device unloads it. */
int recur_device_open_default(const char *backend, const char *selector, recur_device **out);
/* Same, but the device does not take ownership of b. */
recur_backend *recur_device_backend(const recur_device *d);
const recur_device_info *recur_device_get_info(const recur_device *d);
int recur_device_set_option(recur_device *d, const char *key, const char *value);
int recur_device_get_option(recur_device *d, const char *key, char *out, size_t out_size);
void *recur_device_get_proc(recur_device *d, const char *name);
/* The device's index within its backend. */
int recur_device_index(const recur_device *d);
/* Run the backend's warm-up (get_proc "warmup": int warmup(void *dev)), e.g. compile OpenCL kernels and
 * CLBlast's GEMMs before timing. *has_warmup says whether the backend has one; none is not an error. */
int recur_device_warmup(recur_device *d, int *has_warmup);
/* Names of ops that fell back to the reference kernels on this device (NULL-terminated, static). */
int recur_device_fallback_ops(const recur_device *d, const char **names, int max);

/* ---- buffers -------------------------------------------------------------------------------------- */
/* Allocate n 4-byte elements; out->off = 0. */
int recur_alloc(recur_device *d, size_t n, recur_ptr *out);
void recur_free(recur_device *d, recur_ptr p);
int recur_write(recur_device *d, recur_ptr dst, const void *src, size_t n);
int recur_read(recur_device *d, void *dst, recur_ptr src, size_t n);
int recur_sync(recur_device *d);
static inline recur_ptr recur_at(recur_ptr p, size_t off) {
    p.off += off;
    return p;
}
#define RECUR_NULLPTR ((recur_ptr){0, 0})

/* ---- ops: the contracts are in recur/backend.h (recur_ops) ------------------------------------------
 * Each wrapper validates nothing the backend would not; it dispatches to the backend's slot, or to the
 * reference kernel on host-addressable memory when the slot is empty. */
int recur_op_fill(recur_device *d, size_t n, float value, recur_ptr y);
int recur_op_copy(recur_device *d, size_t rows, size_t cols, recur_ptr x, size_t ldx, recur_ptr y, size_t ldy);
int recur_op_scale(recur_device *d, size_t n, float alpha, recur_ptr y);
int recur_op_axpy(recur_device *d, size_t n, float alpha, recur_ptr x, recur_ptr y);
int recur_op_mul(recur_device *d, size_t n, float alpha, recur_ptr a, recur_ptr b, float beta, recur_ptr y);
int recur_op_gemm(recur_device *d, int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                  recur_ptr A, size_t lda, size_t stride_a, recur_ptr B, size_t ldb, size_t stride_b, float beta,
                  recur_ptr C, size_t ldc, size_t stride_c, size_t batch);
int recur_op_add_bias(recur_device *d, size_t rows, size_t cols, recur_ptr bias, recur_ptr y, size_t ldy);
int recur_op_sum_rows(recur_device *d, size_t rows, size_t cols, recur_ptr x, size_t ldx, float beta, recur_ptr y);
int recur_op_sum_sq(recur_device *d, size_t n, recur_ptr x, recur_ptr out);
int recur_op_act_fwd(recur_device *d, int act, size_t n, recur_ptr x, recur_ptr y);
int recur_op_act_bwd(recur_device *d, int act, size_t n, recur_ptr y, recur_ptr dy, float beta, recur_ptr dx);
int recur_op_softmax_fwd(recur_device *d, size_t rows, size_t cols, recur_ptr x, recur_ptr lengths, recur_ptr y);
int recur_op_softmax_bwd(recur_device *d, size_t rows, size_t cols, recur_ptr y, recur_ptr dy, recur_ptr dx);
int recur_op_lstm_fwd(recur_device *d, size_t B, size_t H, recur_ptr gates, recur_ptr c_prev, recur_ptr c,
                      recur_ptr h_prev, recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t);
int recur_op_lstm_bwd(recur_device *d, size_t B, size_t H, recur_ptr gates, recur_ptr c_prev, recur_ptr c,
                      recur_ptr dy, size_t ldy, recur_ptr dh, recur_ptr dc, recur_ptr dgates, recur_ptr lengths,
                      size_t t);
int recur_op_gru_fwd(recur_device *d, size_t B, size_t H, int reset_after, recur_ptr xg, recur_ptr hg,
                     recur_ptr h_prev, recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t);
int recur_op_gru_bwd(recur_device *d, size_t B, size_t H, int reset_after, recur_ptr xg, recur_ptr hg,
                     recur_ptr h_prev, recur_ptr dy, size_t ldy, recur_ptr dh, recur_ptr dxg, recur_ptr dhg,
                     recur_ptr lengths, size_t t);
int recur_op_gru_reset(recur_device *d, size_t B, size_t H, recur_ptr xg, recur_ptr hg, recur_ptr h_prev,
                       recur_ptr rh, recur_ptr lengths, size_t t);
int recur_op_gru_reset_bwd(recur_device *d, size_t B, size_t H, recur_ptr xg, recur_ptr h_prev, recur_ptr drh,
                           recur_ptr dxg, recur_ptr dhg, recur_ptr dh, recur_ptr lengths, size_t t);
int recur_op_rnn_fwd(recur_device *d, size_t B, size_t H, int act, recur_ptr pre, recur_ptr h_prev, recur_ptr h,
                     recur_ptr y, size_t ldy, recur_ptr lengths, size_t t);
int recur_op_rnn_bwd(recur_device *d, size_t B, size_t H, int act, recur_ptr h, recur_ptr dy, size_t ldy,
                     recur_ptr dh, recur_ptr dpre, recur_ptr lengths, size_t t);
int recur_op_select_step(recur_device *d, size_t B, size_t N, recur_ptr a, size_t lda, recur_ptr other,
                         size_t ldo, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t);
int recur_op_embed_fwd(recur_device *d, size_t n, size_t dim, recur_ptr ids, recur_ptr table, recur_ptr out);
int recur_op_embed_bwd(recur_device *d, size_t n, size_t dim, recur_ptr ids, recur_ptr dout, int32_t padding_idx,
                       recur_ptr dtable);
int recur_op_xent_fwd_bwd(recur_device *d, size_t N, size_t C, recur_ptr logits, recur_ptr targets,
                          recur_ptr weights, int32_t ignore_index, float label_smoothing, int reduction,
                          float grad_scale, recur_ptr loss, recur_ptr dlogits);
int recur_op_bce_fwd_bwd(recur_device *d, size_t n, size_t C, recur_ptr logits, recur_ptr targets,
                         recur_ptr pos_weight, int reduction, float grad_scale, recur_ptr loss, recur_ptr dlogits);
int recur_op_mse_fwd_bwd(recur_device *d, size_t n, recur_ptr pred, recur_ptr target, int reduction,
                         float grad_scale, recur_ptr loss, recur_ptr dpred);
int recur_op_sgd_step(recur_device *d, size_t n, recur_ptr param, recur_ptr grad, recur_ptr momentum_buf, float lr,
                      float momentum, float dampening, int nesterov, float weight_decay, int64_t step);
int recur_op_adam_step(recur_device *d, size_t n, recur_ptr param, recur_ptr grad, recur_ptr m, recur_ptr v,
                       float lr, float beta1, float beta2, float eps, float weight_decay, int decoupled,
                       int64_t step);
int recur_op_clip_norm(recur_device *d, size_t n, recur_ptr grad, recur_ptr sumsq, float max_norm);
int recur_op_clip_value(recur_device *d, size_t n, recur_ptr grad, float limit);
int recur_op_dropout(recur_device *d, size_t n, float p, uint64_t seed, uint64_t counter, recur_ptr x,
                     recur_ptr y);
/* ABI 1.1 (optional in backends; see recur_op_available) */
int recur_op_transpose(recur_device *d, size_t rows, size_t cols, recur_ptr x, size_t ldx, recur_ptr y, size_t ldy);
/* ABI 1.2 (optional in backends; see recur_op_available) */
int recur_op_rnn_step(recur_device *d, int cell, size_t B, size_t H, recur_ptr h_prev, recur_ptr w, size_t ldw,
                      recur_ptr bias_x, recur_ptr bias_h, recur_ptr xg, recur_ptr hg, recur_ptr c_prev, recur_ptr c,
                      recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t);
/* ABI 1.3 (optional in backends; see recur_op_available) */
int recur_op_rnn_step_input(recur_device *d, int cell, size_t B, size_t H, size_t in, recur_ptr x, size_t ldx,
                            recur_ptr wx, size_t ldwx, recur_ptr h_prev, recur_ptr w, size_t ldw, recur_ptr bias_x,
                            recur_ptr bias_h, recur_ptr xg, recur_ptr hg, recur_ptr c_prev, recur_ptr c, recur_ptr h,
                            recur_ptr y, size_t ldy, recur_ptr lengths, size_t t);
int recur_op_rnn_steps_input(recur_device *d, int cell, size_t T, size_t B, size_t H, size_t in, int reverse,
                             recur_ptr x, size_t ldx, recur_ptr wx, size_t ldwx, recur_ptr w, size_t ldw,
                             recur_ptr bias_x, recur_ptr bias_h, recur_ptr s, recur_ptr c, recur_ptr xg, recur_ptr hg,
                             recur_ptr y, size_t ldy, recur_ptr lengths);
/* ABI 1.4 (optional in backends; see recur_op_available) */
int recur_op_rnn_steps(recur_device *d, int cell, size_t T, size_t B, size_t H, int reverse, recur_ptr w, size_t ldw,
                       recur_ptr bias_x, recur_ptr bias_h, recur_ptr s, recur_ptr c, recur_ptr xg, recur_ptr hg,
                       recur_ptr y, size_t ldy, recur_ptr lengths);
int recur_op_rnn_steps_bwd(recur_device *d, int cell, size_t T, size_t B, size_t H, int reverse, recur_ptr w,
                           size_t ldw, recur_ptr s, recur_ptr c, recur_ptr xg, recur_ptr hg, recur_ptr dy, size_t ldy,
                           recur_ptr dh, recur_ptr dc, recur_ptr dg, recur_ptr dhg, recur_ptr lengths);

/* 1 when op `name` (a recur_ops slot name, e.g. "transpose") can run on d: the backend has it, or its memory
 * is host-addressable so the reference kernel stands in; 0 otherwise (or for an unknown name). */
int recur_op_available(const recur_device *d, const char *name);

#ifdef __cplusplus
}
#endif
#endif /* RECUR_RECUR_H */
