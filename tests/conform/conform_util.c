/* The conformance harness: seeded data, tensors with sentinel padding on two devices, comparison. */
#include "conform_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CT_TAIL_PAD 7                /* sentinel elements after every data region */
#define CT_SENTINEL 0x7FDEAD00u      /* a quiet NaN; + tensor index */
#define CT_MISMATCHES_SHOWN 3        /* per tensor, in a failure message */

/* Every compute op of recur_ops, in slot order, with its tolerance (docs/conformance.md explains them). */
ct_op_info ct_ops[] = {
    {.name = "fill", .suite = "memory", .rtol = 0, .floor = "exact"},
    {.name = "copy", .suite = "memory", .rtol = 0, .floor = "exact (bits)"},
    {.name = "scale", .suite = "memory", .rtol = 1e-6, .floor = "|alpha| max|y|"},
    {.name = "axpy", .suite = "memory", .rtol = 1e-6, .floor = "|alpha| max|x| + max|y|"},
    {.name = "mul", .suite = "memory", .rtol = 1e-6, .floor = "|alpha| max|a| max|b| + |beta| max|y|"},
    {.name = "gemm", .suite = "gemm", .rtol = 1e-5, .floor = "|alpha| K max|A| max|B| + |beta| max|C|"},
    {.name = "add_bias", .suite = "reduce", .rtol = 1e-6, .floor = "max|bias| + max|y|"},
    {.name = "sum_rows", .suite = "reduce", .rtol = 1e-6, .floor = "rows max|x| + |beta| max|y|"},
    {.name = "sum_sq", .suite = "reduce", .rtol = 1e-5, .floor = "0 (relative)"},
    {.name = "act_fwd", .suite = "act", .rtol = 1e-6, .floor = "0.1"},
    {.name = "act_bwd", .suite = "act", .rtol = 1e-6, .floor = "max|dy| + |beta| max|dx|"},
    {.name = "softmax_fwd", .suite = "act", .rtol = 1e-5, .floor = "1e-6"},
    {.name = "softmax_bwd", .suite = "act", .rtol = 1e-5, .floor = "max|y| max|dy|"},
    {.name = "lstm_fwd", .suite = "cells", .rtol = 1e-5, .floor = "1"},
    {.name = "lstm_bwd", .suite = "cells", .rtol = 1e-5, .floor = "1"},
    {.name = "gru_fwd", .suite = "cells", .rtol = 1e-5, .floor = "1"},
    {.name = "gru_bwd", .suite = "cells", .rtol = 1e-5, .floor = "1"},
    {.name = "gru_reset", .suite = "cells", .rtol = 1e-5, .floor = "1"},
    {.name = "gru_reset_bwd", .suite = "cells", .rtol = 1e-5, .floor = "1"},
    {.name = "rnn_fwd", .suite = "cells", .rtol = 1e-5, .floor = "1"},
    {.name = "rnn_bwd", .suite = "cells", .rtol = 1e-5, .floor = "1"},
    {.name = "select_step", .suite = "cells", .rtol = 0, .floor = "exact"},
    {.name = "embed_fwd", .suite = "embed", .rtol = 0, .floor = "exact"},
    {.name = "embed_bwd", .suite = "embed", .rtol = 1e-6, .floor = "max|dtable| + repeats max|dout|"},
    {.name = "xent_fwd_bwd", .suite = "losses", .rtol = 1e-5, .floor = "loss: 0; grad: max|grad|"},
    {.name = "bce_fwd_bwd", .suite = "losses", .rtol = 1e-5, .floor = "loss: 0; grad: max|grad|"},
    {.name = "mse_fwd_bwd", .suite = "losses", .rtol = 1e-5, .floor = "loss: 0; grad: max|grad|"},
    {.name = "sgd_step", .suite = "optim", .rtol = 1e-5, .floor = "max|tensor|"},
    {.name = "adam_step", .suite = "optim", .rtol = 1e-5, .floor = "max|tensor|"},
    {.name = "clip_norm", .suite = "optim", .rtol = 1e-6, .floor = "max|grad|"},
    {.name = "clip_value", .suite = "optim", .rtol = 0, .floor = "exact"},
    {.name = "dropout", .suite = "optim", .rtol = 1e-6, .floor = "0 (relative); zeros exact"},
};
const size_t ct_op_count = sizeof ct_ops / sizeof ct_ops[0];

ct_config ct_cfg = {.max_fail_lines = 10};

static ct_op_info *cur_op;
static int cur_fail_lines;

ct_op_info *ct_op_find(const char *name) {
    for (size_t i = 0; i < ct_op_count; i++)
        if (!strcmp(ct_ops[i].name, name)) return &ct_ops[i];
    return NULL;
}

void ct_op_begin(const char *name) {
    cur_op = ct_op_find(name);
    if (!cur_op) {
        fprintf(stderr, "recur-conform: internal error: unknown op '%s'\n", name);
        abort();
    }
    cur_op->ran = 1;
    cur_fail_lines = 0;
}

/* ---- generator: splitmix64 -------------------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double ct_uniform(ct_case *c) { return (double)(splitmix(&c->rng) >> 11) * (1.0 / 9007199254740992.0); }

float ct_randf(ct_case *c, float lo, float hi) { return (float)(lo + (hi - lo) * ct_uniform(c)); }

int32_t ct_randi(ct_case *c, int32_t lo, int32_t hi) {
    uint64_t span = (uint64_t)((int64_t)hi - lo) + 1;
    return (int32_t)(lo + (int64_t)(splitmix(&c->rng) % span));
}

/* ---- bits ------------------------------------------------------------------------------------------- */

static uint32_t bits_at(const void *base, size_t i) {
    uint32_t u;
    memcpy(&u, (const char *)base + 4 * i, 4);
    return u;
}

static float float_of(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void set_bits(void *base, size_t i, uint32_t u) { memcpy((char *)base + 4 * i, &u, 4); }

/* ---- cases -------------------------------------------------------------------------------------------- */

ct_case *ct_case_begin(const char *fmt, ...) {
    ct_case *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "recur-conform: out of memory\n");
        exit(2);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->name, sizeof c->name, fmt, ap);
    va_end(ap);
    c->op = cur_op;
    /* Seed from the op name and the case's index, so `--op NAME` reproduces the full run's data. */
    uint64_t h = 1469598103934665603ull;
    for (const char *s = cur_op->name; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    c->rng = h ^ ((uint64_t)cur_op->cases * 0x9E3779B97F4A7C15ull);
    cur_op->cases++;
    return c;
}

void ct_case_offset(ct_case *c, size_t off) { c->off = off; }

void ct_fail(ct_case *c, const char *fmt, ...) {
    c->failed = 1;
    if (c->msg_len + 8 >= sizeof c->msg) return;
    if (c->msg_len) c->msg[c->msg_len++] = '\n';
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->msg + c->msg_len, sizeof c->msg - c->msg_len, fmt, ap);
    va_end(ap);
    if (n > 0) c->msg_len += (size_t)n;
    if (c->msg_len >= sizeof c->msg) c->msg_len = sizeof c->msg - 1;
}

ct_tensor *ct_tensor_new(ct_case *c, const char *name, int role, size_t rows, size_t cols, size_t ld,
                         size_t batch, size_t stride) {
    if (c->ntensors >= CT_MAX_TENSORS) {
        fprintf(stderr, "recur-conform: internal error: too many tensors in one case\n");
        abort();
    }
    int idx = c->ntensors++;
    ct_tensor *t = &c->t[idx];
    memset(t, 0, sizeof *t);
    t->owner = c;
    snprintf(t->name, sizeof t->name, "%s", name);
    t->role = role;
    t->rtol = c->op->rtol;
    t->floor = 0;
    t->rows = rows;
    t->cols = cols;
    t->ld = ld;
    t->batch = batch;
    t->stride = stride;
    t->lead = c->off ? c->off + (size_t)idx : 0;
    t->span = (rows && cols && batch) ? (batch - 1) * stride + (rows - 1) * ld + cols : 0;
    t->total = t->lead + t->span + CT_TAIL_PAD;
    t->init = malloc(4 * t->total);
    t->is_data = calloc(t->total, 1);
    if (!t->init || !t->is_data) {
        fprintf(stderr, "recur-conform: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < t->total; i++) set_bits(t->init, i, CT_SENTINEL + (uint32_t)idx);
    for (size_t k = 0; k < (rows && cols ? batch : 0); k++)
        for (size_t r = 0; r < rows; r++)
            for (size_t col = 0; col < cols; col++) {
                size_t i = t->lead + k * stride + r * ld + col;
                t->is_data[i] = 1;
                set_bits(t->init, i, 0); /* data defaults to 0 (also int 0) */
            }
    return t;
}

ct_tensor *ct_vec(ct_case *c, const char *name, int role, size_t n) {
    return ct_tensor_new(c, name, role, 1, n, n, 1, 0);
}

ct_tensor *ct_mat(ct_case *c, const char *name, int role, size_t rows, size_t cols, size_t ld) {
    return ct_tensor_new(c, name, role, rows, cols, ld, 1, 0);
}

ct_tensor *ct_ints(ct_case *c, const char *name, size_t n, const int32_t *vals) {
    ct_tensor *t = ct_vec(c, name, CT_IN, n);
    t->is_int = 1;
    t->rtol = 0;
    if (vals) memcpy(ct_i(t), vals, 4 * n);
    return t;
}

float *ct_f(ct_tensor *t) { return (float *)t->init + t->lead; }
int32_t *ct_i(ct_tensor *t) { return (int32_t *)t->init + t->lead; }
const float *ct_got(const ct_tensor *t, int dev) { return (const float *)t->got[dev] + t->lead; }

