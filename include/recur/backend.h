/*
 * recur/backend.h — the backend plugin ABI.
 *
 * This is the only header a backend author needs. A backend is a shared object that exports one symbol,
 * RECUR_BACKEND_ENTRY_SYMBOL, of type recur_backend_entry_fn. The host (librecur) calls it with its own ABI
 * version and a table of services; the backend answers with its interface table.
 *
 * Versioning (see docs/abi.md):
 *   - Every table that crosses the boundary starts with `abi_major` and `struct_size`.
 *   - Methods are only ever appended, at the end of a table, and each block is marked with the minor version
 *     that introduced it. A host reads a method only when the table's struct_size covers it.
 *   - A change that moves or removes a field bumps RECUR_ABI_MAJOR; tests/test_abi_layout.c pins sizeof and
 *     offsetof of every struct here, so such a change fails CI until the version is bumped on purpose.
 *
 * Memory model:
 *   - A device owns opaque buffers (recur_buf). Op arguments are recur_ptr = buffer + element offset, never
 *     host pointers, so a GPU backend needs no special case.
 *   - Every element is 4 bytes: float32 for data, int32 for indices and lengths. Offsets, counts and
 *     leading dimensions are in elements.
 *   - Ops are enqueued on the device's single in-order queue and may run asynchronously. `write` returns
 *     when `src` may be reused; `read` returns when the data is in host memory (so it waits for every op
 *     enqueued before it); `sync` waits for everything.
 *   - Matrices are row-major. A matrix argument (p, ld) means element (r, c) lives at p.off + r*ld + c.
 *   - Unless an op says otherwise, its outputs must not overlap its inputs.
 *
 * Empty op slots: a backend whose devices report host_addressable = 1 may leave any compute op NULL; the
 * host then synchronises the queue and runs the reference kernel on the memory that host_ptr returns (and
 * logs once which ops fell back). A backend with device memory must fill every slot. The memory and queue
 * slots (buf_alloc .. sync) are always required.
 *
 * Return values: every method returns RECUR_OK (0) or a recur_status code; on failure it first calls
 * services->set_error with a message that says what was wrong.
 */
#ifndef RECUR_BACKEND_H
#define RECUR_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RECUR_ABI_MAJOR 1
#define RECUR_ABI_MINOR 4

#define RECUR_BACKEND_ENTRY_SYMBOL "recur_backend_entry"

#if defined(_WIN32)
#define RECUR_BACKEND_EXPORT __declspec(dllexport)
#else
#define RECUR_BACKEND_EXPORT __attribute__((visibility("default")))
#endif

/* ---- status codes, grouped by origin ---------------------------------------------------------------- */
typedef enum recur_status {
    RECUR_OK = 0,
    /* core: 1..99 */
    RECUR_E_INVALID = 1,     /* bad argument: shape, size, value, name */
    RECUR_E_NOMEM = 2,       /* host or device allocation failed */
    RECUR_E_IO = 3,          /* file could not be read or written */
    RECUR_E_FORMAT = 4,      /* file is malformed, truncated or inconsistent */
    RECUR_E_NOTFOUND = 5,    /* backend, device, tensor or task not found */
    RECUR_E_ABI = 6,         /* plugin ABI version or table size mismatch */
    RECUR_E_NODEVICE = 7,    /* backend found no device it can drive here */
    RECUR_E_UNSUPPORTED = 8, /* op or option not supported by this backend */
    RECUR_E_NUMERIC = 9,     /* NaN or infinity where a finite value was needed */
    RECUR_E_BACKEND = 10,    /* a backend failed for a reason of its own (message says which) */
    /* threads: 100..199 */
    RECUR_E_THREAD = 100,
    /* OpenCL: 200..299 (the message names the CL error code) */
    RECUR_E_OPENCL = 200,
    RECUR_E_OPENCL_BUILD = 201, /* program build failed; the message holds the build log */
    /* CLBlast: 300..399 */
    RECUR_E_CLBLAST = 300
} recur_status;

/* ---- handles ---------------------------------------------------------------------------------------- */
typedef struct recur_buf recur_buf; /* defined by each backend */

/* A tensor argument: a buffer and an element offset into it. buf == NULL means "absent" where an op
 * allows an optional argument. */
typedef struct recur_ptr {
    recur_buf *buf;
    size_t off;
} recur_ptr;

/* ---- services the host hands to the plugin ------------------------------------------------------------ */
enum recur_log_level { RECUR_LOG_DEBUG = 0, RECUR_LOG_INFO = 1, RECUR_LOG_WARN = 2, RECUR_LOG_ERROR = 3 };

typedef struct recur_services {
    uint32_t abi_major;
    uint32_t struct_size;
    uint32_t abi_minor;
    uint32_t reserved;
    /* --- ABI 1.0 --- */
    /* Log a line (no trailing newline needed). Never writes to stdout. */
    void (*log)(int level, const char *fmt, ...);
    /* Record the calling thread's last error; returns `status` so a backend can `return set_error(...)`. */
    int (*set_error)(int status, const char *fmt, ...);
    /* Read an environment variable the safe way (secure_getenv on glibc); may return NULL. */
    const char *(*getenv)(const char *name);
} recur_services;

/* ---- devices -------------------------------------------------------------------------------------------- */
enum recur_device_kind { RECUR_DEVICE_CPU = 0, RECUR_DEVICE_GPU = 1, RECUR_DEVICE_ACCELERATOR = 2 };

typedef struct recur_device_info {
    uint32_t abi_major;
    uint32_t struct_size;
    char name[128];
    char vendor[64];
    char driver[64];   /* driver or library version, free text */
    char platform[64]; /* e.g. the OpenCL platform; empty if none */
    uint64_t memory_bytes;
    uint32_t compute_units;
    uint32_t kind;             /* recur_device_kind */
    uint32_t host_addressable; /* 1: host_ptr returns usable pointers to buffer memory */
    uint32_t reserved;
} recur_device_info;

/* ---- the ops table -------------------------------------------------------------------------------------
 * `dev` is the backend's own device context, as returned by recur_backend_iface.device_open.
 * Notation: valid(b, t) = lengths.buf == NULL || t < lengths[b]   (int32 lengths, one per sample).
 */
enum recur_activation { RECUR_ACT_IDENTITY = 0, RECUR_ACT_SIGMOID = 1, RECUR_ACT_TANH = 2, RECUR_ACT_RELU = 3 };
enum recur_reduction { RECUR_REDUCE_MEAN = 0, RECUR_REDUCE_SUM = 1 };
/* The cells rnn_step runs (the same numbers as recur_cell in recur/nn.h). */
enum recur_step_cell { RECUR_STEP_RNN_TANH = 0, RECUR_STEP_RNN_RELU = 1, RECUR_STEP_LSTM = 2, RECUR_STEP_GRU = 3 };

typedef struct recur_ops {
    uint32_t abi_major;
    uint32_t struct_size;

    /* ===== ABI 1.0: memory and queue (always required) ===== */

    /* Allocate `bytes` bytes of device memory (contents undefined). bytes may be 0. */
    int (*buf_alloc)(void *dev, size_t bytes, recur_buf **out);
    /* Free a buffer; waits for pending ops that use it. buf may be NULL. */
    void (*buf_free)(void *dev, recur_buf *buf);
    /* Host address of the buffer's first byte, or NULL when memory is not host-addressable. */
    void *(*host_ptr)(void *dev, recur_buf *buf);
    /* Copy n elements host -> device. Returns when src may be reused. */
    int (*write)(void *dev, recur_ptr dst, const void *src, size_t n);
    /* Copy n elements device -> host, after every op enqueued before it. Returns when dst is filled. */
    int (*read)(void *dev, void *dst, recur_ptr src, size_t n);
    /* Wait until every enqueued op has finished. */
    int (*sync)(void *dev);

    /* ===== ABI 1.0: compute ops (may be NULL when host_addressable) ===== */

    /* y[i] = value, i < n. (Also clears int32 buffers: the bits of 0.0f are those of 0.) */
    int (*fill)(void *dev, size_t n, float value, recur_ptr y);
    /* y[r*ldy + c] = x[r*ldx + c] for r < rows, c < cols. In place (x == y) allowed only if ldx == ldy.
     * Copies bits, so works for int32 too. */
    int (*copy)(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, recur_ptr y, size_t ldy);
    /* y[i] = alpha * y[i]. */
    int (*scale)(void *dev, size_t n, float alpha, recur_ptr y);
    /* y[i] += alpha * x[i]. x == y allowed. */
    int (*axpy)(void *dev, size_t n, float alpha, recur_ptr x, recur_ptr y);
    /* y[i] = alpha * a[i] * b[i] + beta * y[i]; beta == 0 overwrites y without reading it. a, b may alias y. */
    int (*mul)(void *dev, size_t n, float alpha, recur_ptr a, recur_ptr b, float beta, recur_ptr y);

    /* Strided-batched SGEMM, row-major: for k < batch,
     *   C_k = alpha * op(A_k) * op(B_k) + beta * C_k,   X_k = X + k*strideX,
     * op(A_k) is M x K (A_k is K x M when trans_a), op(B_k) is K x N (B_k is N x K when trans_b), C_k is
     * M x N with leading dimension ldc. beta == 0 overwrites C without reading it (NaN in C is not
     * propagated). M, N, K or batch may be 0 (K == 0 gives C = beta*C). C must not overlap A or B. */
    int (*gemm)(void *dev, int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                recur_ptr A, size_t lda, size_t stride_a, recur_ptr B, size_t ldb, size_t stride_b,
                float beta, recur_ptr C, size_t ldc, size_t stride_c, size_t batch);

    /* y[r*ldy + c] += bias[c]  for r < rows, c < cols. */
    int (*add_bias)(void *dev, size_t rows, size_t cols, recur_ptr bias, recur_ptr y, size_t ldy);
    /* y[c] = beta * y[c] + sum_{r < rows} x[r*ldx + c], summed in increasing r (bias gradients).
     * beta == 0 overwrites. */
    int (*sum_rows)(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, float beta, recur_ptr y);
    /* out[0] = sum_i x[i]^2 (one float, written on the device; gradient norms without a host round trip).
     * The summation order is fixed by the backend and must not depend on its thread count. */
    int (*sum_sq)(void *dev, size_t n, recur_ptr x, recur_ptr out);

    /* Activation, elementwise: y = f(x), f one of recur_activation. x == y allowed. */
    int (*act_fwd)(void *dev, int act, size_t n, recur_ptr x, recur_ptr y);
    /* dx = dy * f'(x) written from y = f(x):  sigmoid y(1-y); tanh 1-y^2; relu (y > 0); identity 1.
     * beta == 0: dx overwritten; beta == 1: dx += .  dx may alias dy (then beta must be 0). */
    int (*act_bwd)(void *dev, int act, size_t n, recur_ptr y, recur_ptr dy, float beta, recur_ptr dx);

    /* Row softmax: for r < rows, y[r,:] = softmax(x[r,:cols]); with lengths (int32, one per row), columns
     * c >= lengths[r] get probability 0 and are excluded; a row with length 0 is all zero. x == y allowed.
     * Rows are contiguous (ld = cols). */
    int (*softmax_fwd)(void *dev, size_t rows, size_t cols, recur_ptr x, recur_ptr lengths, recur_ptr y);
    /* dx[r,c] = y[r,c] * (dy[r,c] - sum_k y[r,k] dy[r,k]) (masked entries have y = 0, hence dx = 0).
     * dx overwritten; dx may alias dy. */
    int (*softmax_bwd)(void *dev, size_t rows, size_t cols, recur_ptr y, recur_ptr dy, recur_ptr dx);

    /* ---- fused recurrent cells: one call per time step ----
     * Shared arguments: B samples, hidden size H; lengths and t give valid(b, t). y (with leading dimension
     * ldy) is the step's slot in the layer output and may be NULL. h_prev may be NULL only where stated.
     * For an invalid sample the state is held (outputs = previous state) and y is 0, so variable-length
     * batches give PyTorch's packed-sequence results in either direction. */

    /* LSTM. gates (B, 4H) in: pre-activations x W_ih^T + b_ih + h W_hh^T + b_hh in row order i, f, g, o;
     * out (valid rows): activations i = s(.), f = s(.), g = tanh(.), o = s(.), kept for backward.
     *   c = f * c_prev + i * g,   h = o * tanh(c),   y = h.
     * c_prev, c (B, H); h_prev, h (B, H). Invalid rows: c = c_prev, h = h_prev (0 when h_prev is NULL, used
     * with projections), y = 0, gates left as they were. */
    int (*lstm_fwd)(void *dev, size_t B, size_t H, recur_ptr gates, recur_ptr c_prev, recur_ptr c,
                    recur_ptr h_prev, recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t);
    /* LSTM backward for step t. In: gates (activations from lstm_fwd), c_prev, c; dy (step slot of the
     * output gradient, may be NULL); dh (B, H): in = dL/dh_t arriving from step t+1 (excluding dy).
     * dc (B, H): in = dL/dc_t from step t+1; out = dL/dc_{t-1}.
     * Out: dgates (B, 4H) = dL/d(pre-activations) (0 on invalid rows);
     *      dh (in place) = the part of dL/dh_{t-1} that does not pass through W_hh:
     *      0 on valid rows (the caller then adds dgates W_hh with a GEMM, beta = 1), on invalid rows the
     *      incoming total dh + (nothing from dy, since y = 0 there) passes through unchanged. */
    int (*lstm_bwd)(void *dev, size_t B, size_t H, recur_ptr gates, recur_ptr c_prev, recur_ptr c,
                    recur_ptr dy, size_t ldy, recur_ptr dh, recur_ptr dc, recur_ptr dgates,
                    recur_ptr lengths, size_t t);

    /* GRU. xg (B, 3H) in: x W_ih^T + b_ih (rows r, z, n); out (valid rows): activations r, z, n.
     * hg (B, 3H) in: h-side pre-activations, left unchanged (its n part is needed by backward).
     *   reset_after = 1 (PyTorch): hg = h_prev W_hh^T + b_hh;  r = s(xr + hr), z = s(xz + hz),
     *                              n = tanh(xn + r * hn)
     *   reset_after = 0 (original): gru_reset ran first, so xg's r, z parts already hold r, z; hg's n part
     *                              holds hn = (r * h_prev) W_hn^T + b_hn;  n = tanh(xn + hn)
     *   h = (1 - z) * n + z * h_prev,  y = h.   Invalid rows: h = h_prev, y = 0. */
    int (*gru_fwd)(void *dev, size_t B, size_t H, int reset_after, recur_ptr xg, recur_ptr hg,
                   recur_ptr h_prev, recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t);
    /* GRU backward for step t. In: xg (activations r, z, n), hg, h_prev, dy (may be NULL).
     * dh (B, H): in = dL/dh_t from step t+1; out = the part of dL/dh_{t-1} not through W_hh:
     *   valid rows z * (dh + dy), invalid rows dh unchanged.
     * Out: dxg (B, 3H) = dL/d(x-side pre-activations) (= dL/db_ih); dhg (B, 3H) = dL/d(h-side
     * pre-activations) (= dL/db_hh). reset_after = 1: r, z parts equal in both; n part dn_pre in dxg,
     * dn_pre * r in dhg. reset_after = 0: n part dn_pre in both; r parts are 0 here (r acts only through
     * r * h_prev; gru_reset_bwd fills them). Both 0 on invalid rows. */
    int (*gru_bwd)(void *dev, size_t B, size_t H, int reset_after, recur_ptr xg, recur_ptr hg,
                   recur_ptr h_prev, recur_ptr dy, size_t ldy, recur_ptr dh, recur_ptr dxg, recur_ptr dhg,
                   recur_ptr lengths, size_t t);
    /* Original GRU, first half of a step: hg (B, 3H) r, z parts in = h_prev W_h{r,z}^T + b_h{r,z}.
     * Valid rows: xg r, z parts := r = s(xr + hr), z = s(xz + hz);  rh = r * h_prev (B, H).
     * Invalid rows: rh = 0, xg unchanged. */
    int (*gru_reset)(void *dev, size_t B, size_t H, recur_ptr xg, recur_ptr hg, recur_ptr h_prev,
                     recur_ptr rh, recur_ptr lengths, size_t t);
    /* Original GRU backward through rh = r * h_prev. In: xg (activations), h_prev, drh = dL/d(rh) (B, H).
     * Valid rows: dxg r part = dhg r part = drh * h_prev * r (1 - r);  dh += drh * r.
     * Invalid rows: untouched. (dh is gru_bwd's output, to which the caller still adds dhg W_hh.) */
    int (*gru_reset_bwd)(void *dev, size_t B, size_t H, recur_ptr xg, recur_ptr h_prev, recur_ptr drh,
                         recur_ptr dxg, recur_ptr dhg, recur_ptr dh, recur_ptr lengths, size_t t);

    /* Elman RNN. pre (B, H) in: x W_ih^T + b_ih + h W_hh^T + b_hh.  h = act(pre) (act tanh or relu),
     * y = h. Invalid rows: h = h_prev, y = 0. pre may alias h. */
    int (*rnn_fwd)(void *dev, size_t B, size_t H, int act, recur_ptr pre, recur_ptr h_prev, recur_ptr h,
                   recur_ptr y, size_t ldy, recur_ptr lengths, size_t t);
    /* RNN backward. In: h (this step's output state, B x H), dy (may be NULL); dh in = dL/dh_t from step
     * t+1, out = 0 on valid rows / unchanged on invalid rows. Out: dpre (B, H), 0 on invalid rows. */
    int (*rnn_bwd)(void *dev, size_t B, size_t H, int act, recur_ptr h, recur_ptr dy, size_t ldy,
                   recur_ptr dh, recur_ptr dpre, recur_ptr lengths, size_t t);

    /* Masked select for one step: for b < B, c < N:
     *   valid(b, t):  y[b*ldy + c] = a[b*lda + c]
     *   otherwise:    y[b*ldy + c] = other.buf ? other[b*ldo + c] : 0
     * Used around projections (LSTM proj_size) and attention; y may alias `other` when ldy == ldo. */
    int (*select_step)(void *dev, size_t B, size_t N, recur_ptr a, size_t lda, recur_ptr other, size_t ldo,
                       recur_ptr y, size_t ldy, recur_ptr lengths, size_t t);

    /* Embedding: out[i, :] = table[ids[i], :] for i < n (dim columns). Ids are int32 and must be in
     * [0, V) — the host checks them before upload. padding_idx < 0 means none; its row is not special in
     * forward (it holds zeros by construction). */
    int (*embed_fwd)(void *dev, size_t n, size_t dim, recur_ptr ids, recur_ptr table, recur_ptr out);
    /* dtable[ids[i], :] += dout[i, :] in increasing i, skipping ids[i] == padding_idx. */
    int (*embed_bwd)(void *dev, size_t n, size_t dim, recur_ptr ids, recur_ptr dout, int32_t padding_idx,
                     recur_ptr dtable);

    /* ---- losses: forward and gradient in one call; loss (one float) written on the device ---- */

    /* Softmax cross-entropy over logits (N, C) with int32 targets, as torch.nn.functional.cross_entropy:
     *   logp = log_softmax(logits);  rows with target == ignore_index are excluded;
     *   nll_i = -w[y_i] logp[i, y_i];  smooth_i = -sum_c w[c] logp[i, c]   (w = 1 when weights absent)
     *   mean:  loss = (1-eps) sum nll_i / W + (eps/C) sum smooth_i / W,  W = sum_i w[y_i] over kept rows
     *   sum:   the same without / W.
     * dlogits (N, C), may be NULL: grad_scale * dloss/dlogits (0 on ignored rows). If W == 0 the loss is NaN
     * (as PyTorch) and dlogits is 0. */
    int (*xent_fwd_bwd)(void *dev, size_t N, size_t C, recur_ptr logits, recur_ptr targets,
                        recur_ptr weights, int32_t ignore_index, float label_smoothing, int reduction,
                        float grad_scale, recur_ptr loss, recur_ptr dlogits);
    /* Binary cross-entropy with logits, as torch's BCEWithLogitsLoss, over n = N*C values (targets float):
     *   l_i = (1 - y_i) x_i + (1 + (p_c - 1) y_i) (log(1 + exp(-|x_i|)) + max(-x_i, 0)),  c = i mod C,
     *   p = pos_weight (length C) or 1;  mean divides by n.  dlogits may be NULL. */
    int (*bce_fwd_bwd)(void *dev, size_t n, size_t C, recur_ptr logits, recur_ptr targets,
                       recur_ptr pos_weight, int reduction, float grad_scale, recur_ptr loss,
                       recur_ptr dlogits);
    /* Mean squared error: l = sum (x - y)^2 (/ n for mean). dpred may be NULL. */
    int (*mse_fwd_bwd)(void *dev, size_t n, recur_ptr pred, recur_ptr target, int reduction,
                       float grad_scale, recur_ptr loss, recur_ptr dpred);

    /* ---- optimizers over one flat parameter buffer; step is 1-based ---- */

    /* SGD, torch.optim.SGD:  g = grad + wd * p;  if momentum != 0: buf = (step == 1) ? g
     *   : momentum * buf + (1 - dampening) * g;  g = nesterov ? g + momentum * buf : buf;   p -= lr * g.
     * buf may be NULL when momentum == 0. grad is not modified. */
    int (*sgd_step)(void *dev, size_t n, recur_ptr param, recur_ptr grad, recur_ptr momentum_buf, float lr,
                    float momentum, float dampening, int nesterov, float weight_decay, int64_t step);
    /* Adam / AdamW, torch.optim.Adam(W):
     *   decoupled (AdamW): p *= 1 - lr * wd;   else: g = grad + wd * p
     *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
     *   p -= (lr / (1 - b1^step)) * m / (sqrt(v) / sqrt(1 - b2^step) + eps) */
    int (*adam_step)(void *dev, size_t n, recur_ptr param, recur_ptr grad, recur_ptr m, recur_ptr v,
                     float lr, float beta1, float beta2, float eps, float weight_decay, int decoupled,
                     int64_t step);
    /* Clip by total norm, torch.nn.utils.clip_grad_norm_: sumsq (one float on the device, from sum_sq);
     *   coef = min(1, max_norm / (sqrt(sumsq) + 1e-6));  g *= coef.  No host round trip. */
    int (*clip_norm)(void *dev, size_t n, recur_ptr grad, recur_ptr sumsq, float max_norm);
    /* Clip by value: g = min(max(g, -limit), limit). */
    int (*clip_value)(void *dev, size_t n, recur_ptr grad, float limit);

    /* Inverted dropout with a counter-based mask: keep_i = recur_philox_uniform(seed, counter + i) >= p;
     *   y[i] = keep_i ? x[i] / (1 - p) : 0.  The same call on the output gradient is the backward.
     * x == y allowed. p in [0, 1); p == 0 copies. See recur_philox_uniform below for the generator. */
    int (*dropout)(void *dev, size_t n, float p, uint64_t seed, uint64_t counter, recur_ptr x, recur_ptr y);

    /* ===== end of ABI 1.0 ===== */

    /* ===== ABI 1.1: compute ops, optional for every backend =====
     * The host reads these only when struct_size covers them. An empty slot is never an error: on
     * host-addressable memory the reference kernel stands in (as for 1.0 ops); on device memory the host
     * avoids the op and does without it (recur_op_available says which). */

    /* y[c*ldy + r] = x[r*ldx + c] for r < rows, c < cols: y (cols x rows) is the transpose of x (rows x
     * cols). ldx >= cols, ldy >= rows. x and y must not overlap. Copies bits. Used to hold W_hh^T once per
     * forward, so that every step's recurrent GEMM reads its weights untransposed. */
    int (*transpose)(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, recur_ptr y, size_t ldy);

    /* ===== end of ABI 1.1 ===== */

    /* ===== ABI 1.2: compute ops, optional for every backend (as those of 1.1) ===== */

    /* One whole forward step of a recurrent layer — the recurrent GEMM, its biases and the cell — in one
     * call, so that a backend can apply the cell to the GEMM's output while it is still in cache and run one
     * parallel section per step instead of two. cell is a recur_step_cell; G = 4 (LSTM), 3 (GRU,
     * PyTorch's reset-after form), 1 (RNN). The result is defined as these ops, in this order:
     *   LSTM, RNN:  gemm(0, 0, B, G*H, H, 1, h_prev, H, w, ldw, 1, xg, G*H)        acc = xg
     *   GRU:        gemm(0, 0, B, G*H, H, 1, h_prev, H, w, ldw, 0, hg, G*H)        acc = hg
     *   bias_h given: add_bias(B, G*H, bias_h, acc, G*H);  bias_x given: add_bias(B, G*H, bias_x, xg, G*H)
     *   lstm_fwd(B, H, xg, c_prev, c, h_prev, h, y, ldy, lengths, t)
     *   gru_fwd(B, H, 1, xg, hg, h_prev, h, y, ldy, lengths, t)
     *   rnn_fwd(B, H, tanh or relu, xg, h_prev, h, y, ldy, lengths, t)
     * w (H x G*H, leading dimension ldw >= G*H) is W_hh^T (from transpose); bias_x, bias_h (G*H) may be
     * NULL; hg is used by GRU only, c_prev and c by LSTM only (NULL otherwise). Every row of acc gets the
     * GEMM and the biases, valid or not, as the ops above do. h_prev is read by the GEMM of every row, so
     * it must not overlap h, y, xg, hg or c; c may equal c_prev. Tolerance: that of gemm and of the cell. */
    int (*rnn_step)(void *dev, int cell, size_t B, size_t H, recur_ptr h_prev, recur_ptr w, size_t ldw,
                    recur_ptr bias_x, recur_ptr bias_h, recur_ptr xg, recur_ptr hg, recur_ptr c_prev, recur_ptr c,
                    recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t);

    /* ===== end of ABI 1.2 ===== */

    /* ===== ABI 1.3: compute ops, optional for every backend (as those of 1.1) ===== */

    /* rnn_step with the step's input projection in the same call, so that a backend can compute both
     * products of the step's gates in one parallel section, tile by tile (a batch-reduce GEMM: each tile of
     * the gates leaves the cache once, not twice). Defined as these ops, in this order:
     *   gemm(0, 0, B, G*H, in, 1, x, ldx, wx, ldwx, 0, xg, G*H)
     *   rnn_step(cell, B, H, h_prev, w, ldw, bias_x, bias_h, xg, hg, c_prev, c, h, y, ldy, lengths, t)
     * x (B x in, ldx >= in) is the step's input, wx (in x G*H, ldwx >= G*H) is W_ih^T; xg is written, not
     * read, so its contents on entry do not matter. x must not overlap any output. The other arguments and
     * the rules are rnn_step's. Tolerance: that of rnn_step, with the input's GEMM in its floor. */
    int (*rnn_step_input)(void *dev, int cell, size_t B, size_t H, size_t in, recur_ptr x, size_t ldx, recur_ptr wx,
                          size_t ldwx, recur_ptr h_prev, recur_ptr w, size_t ldw, recur_ptr bias_x, recur_ptr bias_h,
                          recur_ptr xg, recur_ptr hg, recur_ptr c_prev, recur_ptr c, recur_ptr h, recur_ptr y,
                          size_t ldy, recur_ptr lengths, size_t t);

    /* All T steps of one direction of a recurrent layer's forward pass, each as rnn_step_input, in one call.
     * A sample's row of every step depends only on its own earlier rows, so a backend may run groups of
     * samples through all the steps without waiting for the others between steps (one parallel section for
     * the whole sequence instead of one per step). Defined as, for step = 0 .. T-1, with
     * t = reverse ? T-1-step : step,  i = reverse ? t+1 : t (the state read),  o = reverse ? t : t+1 (written):
     *   rnn_step_input(cell, B, H, in, x + t*B*ldx, ldx, wx, ldwx, s + i*B*H, w, ldw, bias_x, bias_h, xg, hg,
     *                  c + i*B*H, c + o*B*H, s + o*B*H, y + t*B*ldy, ldy, lengths, t)
     * (pointer + n: n elements further; a NULL y, or c, stays NULL). s and c (LSTM only, else NULL) hold T+1
     * states of B x H: the first step's state i is read (h0, c0), the others written. xg (B x G*H) and hg
     * (GRU only, B x G*H) are work space, left as the last step leaves them. x (T*B rows at ldx; NULL allowed
     * only when in = 0) must not overlap any output. Tolerance: rnn_step_input's, through T steps (each
     * step's errors reach the next state). */
    int (*rnn_steps_input)(void *dev, int cell, size_t T, size_t B, size_t H, size_t in, int reverse, recur_ptr x,
                           size_t ldx, recur_ptr wx, size_t ldwx, recur_ptr w, size_t ldw, recur_ptr bias_x,
                           recur_ptr bias_h, recur_ptr s, recur_ptr c, recur_ptr xg, recur_ptr hg, recur_ptr y,
                           size_t ldy, recur_ptr lengths);

    /* ===== end of ABI 1.3 ===== */

    /* ===== ABI 1.4: compute ops, optional for every backend (as those of 1.1) ===== */

    /* All T steps of one direction of a recurrent layer's forward pass, each as rnn_step, in one call: the
     * training forward's counterpart of rnn_steps_input (every step's gates stay in xg, and hg, for the
     * backward). A sample's row of every step depends only on its own earlier rows, so a backend may run
     * groups of samples through all the steps without waiting for the others between steps. Defined as, for
     * step = 0 .. T-1, with t, i, o as for rnn_steps_input and GH = G*H:
     *   rnn_step(cell, B, H, s + i*B*H, w, ldw, bias_x, bias_h, xg + t*B*GH, hg + t*B*GH, c + i*B*H, c + o*B*H,
     *            s + o*B*H, y + t*B*ldy, ldy, lengths, t)
     * (a NULL y, hg or c stays NULL). xg (and hg, GRU) hold T blocks of B x GH: xg's the step's input
     * projection on entry, both its gates as rnn_step leaves them on return. Tolerance: rnn_step's, through
     * T steps. */
    int (*rnn_steps)(void *dev, int cell, size_t T, size_t B, size_t H, int reverse, recur_ptr w, size_t ldw,
                     recur_ptr bias_x, recur_ptr bias_h, recur_ptr s, recur_ptr c, recur_ptr xg, recur_ptr hg,
                     recur_ptr y, size_t ldy, recur_ptr lengths);

    /* The backward recurrence of what rnn_steps computed, in one call: for step = T-1 .. 0 (t, i, o as
     * there), the cell's backward op and then the gradient through the recurrent weights, as the core runs
     * them one by one:
     *   LSTM:  lstm_bwd(B, H, xg_t, c + i*B*H, c + o*B*H, dy_t, ldy, dh, dc, dg_t, lengths, t);  acc = dg_t
     *   GRU:   gru_bwd(B, H, 1, xg_t, hg_t, s + i*B*H, dy_t, ldy, dh, dg_t, dhg_t, lengths, t);  acc = dhg_t
     *   RNN:   rnn_bwd(B, H, tanh or relu, s + o*B*H, dy_t, ldy, dh, dg_t, lengths, t);        acc = dg_t
     *   gemm(0, 0, B, H, GH, 1, acc, GH, w, ldw, 1, dh, H)
     * with xg_t = xg + t*B*GH (and hg_t, dg_t, dhg_t likewise) and dy_t = dy + t*B*ldy (dy may be NULL).
     * w (GH x H, ldw >= H) is W_hh itself. dh (B x H) holds dL/dh after the last step on entry and dL/dh0
     * on return; dc (B x H, LSTM only) likewise for the cell state. dg (and dhg, GRU) receive T blocks of
     * B x GH: the gradients the weight GEMMs then read. Rows of every step depend only on the same rows of
     * the later steps, so a backend may again keep groups of samples on their own threads. Tolerance: that
     * of the cell's backward op and the GEMM, through T steps. */
    int (*rnn_steps_bwd)(void *dev, int cell, size_t T, size_t B, size_t H, int reverse, recur_ptr w, size_t ldw,
                         recur_ptr s, recur_ptr c, recur_ptr xg, recur_ptr hg, recur_ptr dy, size_t ldy, recur_ptr dh,
                         recur_ptr dc, recur_ptr dg, recur_ptr dhg, recur_ptr lengths);

    /* ===== end of ABI 1.4 ===== */
} recur_ops;

/* ---- the backend interface ---------------------------------------------------------------------------- */
typedef struct recur_backend_iface {
    uint32_t abi_major;
    uint32_t struct_size;
    uint32_t abi_minor;
    uint32_t reserved;
    const char *name;        /* short name users type: "ref", "cpu", "opencl", "blas" */
    const char *version;     /* the backend's own version string */
    const char *description; /* one line */

    /* --- ABI 1.0 --- */
    /* Cheap: count the devices this backend can drive here, without heavy initialisation. Returns the
     * count (>= 0); 0 means "skip", and then a reason is written to `reason`. Negative = error status. */
    int (*probe)(char *reason, size_t reason_size);
    /* Describe device `index` (< probe count). info->abi_major/struct_size are set by the caller. */
    int (*device_info)(int index, recur_device_info *info);
    /* Open device `index` and its queue; *dev is the context passed to every op. */
    int (*device_open)(int index, void **dev);
    void (*device_close)(void *dev);
    /* The op table (shared by all devices of this backend). */
    const recur_ops *ops;
    /* String-keyed options ("threads", "tuning", ...). Unknown key: RECUR_E_UNSUPPORTED.
     * get_option writes a NUL-terminated value into out. Either may be NULL (no options). */
    int (*set_option)(void *dev, const char *key, const char *value);
    int (*get_option)(void *dev, const char *key, char *out, size_t out_size);
    /* Backend-specific extras by name (e.g. "warmup"); NULL if unknown. May be NULL. */
    void *(*get_proc)(const char *name);
    /* Release what the entry call or probe set up; called before dlclose. May be NULL. */
    void (*shutdown)(void);
} recur_backend_iface;

/* The entry symbol. The host passes its ABI version and services; the backend checks host_abi_major,
 * stores `services` (valid until shutdown) and sets *out. Returns RECUR_OK, RECUR_E_ABI, or an error. */
typedef int (*recur_backend_entry_fn)(uint32_t host_abi_major, uint32_t host_abi_minor,
                                      const recur_services *services, const recur_backend_iface **out);

/* ---- the counter-based generator every backend shares --------------------------------------------------
 * Philox4x32-10 (Salmon et al., SC'11). For element index k: counter = (k >> 2, 0, 0, 0)... precisely:
 *   ctr = { (uint32)(k >> 2), (uint32)(k >> 34), 0, 0 },  key = { (uint32)seed, (uint32)(seed >> 32) },
 *   u = philox4x32_10(ctr, key)[k & 3],   uniform = (u >> 8) * 2^-24  in [0, 1).
 * Provided here, inline, so that every backend (and OpenCL C, by translation) draws identical numbers. */
static inline uint32_t recur_philox_mulhi_(uint32_t a, uint32_t b, uint32_t *lo) {
    uint64_t p = (uint64_t)a * b;
    *lo = (uint32_t)p;
    return (uint32_t)(p >> 32);
}

static inline uint32_t recur_philox_u32(uint64_t seed, uint64_t k) {
    uint32_t c0 = (uint32_t)(k >> 2), c1 = (uint32_t)(k >> 34), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        uint32_t lo0, lo1;
        uint32_t hi0 = recur_philox_mulhi_(0xD2511F53u, c0, &lo0);
        uint32_t hi1 = recur_philox_mulhi_(0xCD9E8D57u, c2, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    switch (k & 3) {
    case 0: return c0;
    case 1: return c1;
    case 2: return c2;
    default: return c3;
    }
}

static inline float recur_philox_uniform(uint64_t seed, uint64_t k) {
    return (float)(recur_philox_u32(seed, k) >> 8) * (1.0f / 16777216.0f);
}

#ifdef __cplusplus
}
#endif
#endif /* RECUR_BACKEND_H */
