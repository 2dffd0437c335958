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
    {.name = "fill", .suite = "memory", .rtol = 0, .floor = "-"},
    {.name = "copy", .suite = "memory", .rtol = 0, .floor = "- (bitwise)"},
    {.name = "scale", .suite = "memory", .rtol = 1e-6, .floor = "|alpha| max|y|"},
    {.name = "axpy", .suite = "memory", .rtol = 1e-6, .floor = "|alpha| max|x| + max|y|"},
    {.name = "mul", .suite = "memory", .rtol = 1e-6, .floor = "|alpha| max|a| max|b| + |beta| max|y|"},
    {.name = "gemm", .suite = "gemm", .rtol = 1e-5, .floor = "|alpha| K max|A| max|B| + |beta| max|C|"},
    {.name = "add_bias", .suite = "reduce", .rtol = 1e-6, .floor = "max|bias| + max|y|"},
    {.name = "sum_rows", .suite = "reduce", .rtol = 1e-6, .floor = "rows max|x| + |beta| max|y|"},
    {.name = "sum_sq", .suite = "reduce", .rtol = 1e-5, .floor = "0 (relative)"},
    {.name = "act_fwd", .suite = "act", .rtol = 1e-6, .floor = "1"},
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
    {.name = "select_step", .suite = "cells", .rtol = 0, .floor = "-"},
    {.name = "embed_fwd", .suite = "embed", .rtol = 0, .floor = "-"},
    {.name = "embed_bwd", .suite = "embed", .rtol = 1e-6, .floor = "max|dtable| + repeats max|dout|"},
    {.name = "xent_fwd_bwd", .suite = "losses", .rtol = 1e-5, .floor = "loss: 0; grad: max|grad|"},
    {.name = "bce_fwd_bwd", .suite = "losses", .rtol = 1e-5, .floor = "loss: 0; grad: max|grad|"},
    {.name = "mse_fwd_bwd", .suite = "losses", .rtol = 1e-5, .floor = "loss: 0; grad: max|grad|"},
    {.name = "sgd_step", .suite = "optim", .rtol = 1e-5, .floor = "max|tensor|"},
    {.name = "adam_step", .suite = "optim", .rtol = 1e-5, .floor = "max|tensor|"},
    {.name = "clip_norm", .suite = "optim", .rtol = 1e-6, .floor = "max|grad|"},
    {.name = "clip_value", .suite = "optim", .rtol = 0, .floor = "-"},
    {.name = "dropout", .suite = "optim", .rtol = 1e-6, .floor = "0 (relative); zeros exact"},
    /* ABI 1.1 (optional) */
    {.name = "transpose", .suite = "memory", .rtol = 0, .floor = "- (bitwise)"},
    /* ABI 1.2 (optional) */
    {.name = "rnn_step", .suite = "cells", .rtol = 1e-5,
     .floor = "max(1, H max|h_prev| max|w| + max|xg| + max|bias_x| + max|bias_h|)"},
    /* ABI 1.3 (optional) */
    {.name = "rnn_step_input", .suite = "cells", .rtol = 1e-5,
     .floor = "max(1, in max|x| max|wx| + H max|h_prev| max|w| + max|bias_x| + max|bias_h|)"},
    {.name = "rnn_steps_input", .suite = "cells", .rtol = 1e-5,
     .floor = "T max(1, in max|x| max|wx| + H max|w| + max|bias_x| + max|bias_h|)"},
    /* ABI 1.4 (optional) */
    {.name = "rnn_steps", .suite = "cells", .rtol = 1e-5,
     .floor = "T max(1, max|xg| + H max|w| + max|bias_x| + max|bias_h|)"},
    {.name = "rnn_steps_bwd", .suite = "cells", .rtol = 1e-5,
     .floor = "T max(1, max|dh| + max|dc| + max|dy|, the oracle's largest element of the output)"},
};
const size_t ct_op_count = sizeof ct_ops / sizeof ct_ops[0];

ct_config ct_cfg = {.max_fail_lines = 10};

const char *volatile ct_running_op;
const char *volatile ct_running_case;

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
    if (ct_cfg.verbose) printf("== %s (suite %s)\n", cur_op->name, cur_op->suite);
}

int ct_optional_op_begin(const char *name, const char *since) {
    if (!recur_op_available(ct_cfg.dev[CT_TGT], name)) {
        printf("\n  %s: not provided by this backend (optional since ABI %s): skipped\n", name, since);
        return 0;
    }
    ct_op_begin(name);
    return 1;
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
    if (hi <= lo) return lo;
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
    ct_running_op = cur_op->name;
    ct_running_case = c->name;
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

void ct_rand(ct_tensor *t, float lo, float hi) {
    float *f = t->init;
    for (size_t i = 0; i < t->total; i++)
        if (t->is_data[i]) f[i] = ct_randf(t->owner, lo, hi);
}

void ct_rand_nz(ct_tensor *t, float lo, float hi, float minabs) {
    float *f = t->init;
    for (size_t i = 0; i < t->total; i++) {
        if (!t->is_data[i]) continue;
        float v;
        do v = ct_randf(t->owner, lo, hi);
        while (fabsf(v) < minabs);
        f[i] = v;
    }
}

void ct_const(ct_tensor *t, float v) {
    float *f = t->init;
    for (size_t i = 0; i < t->total; i++)
        if (t->is_data[i]) f[i] = v;
}

void ct_rand_int(ct_tensor *t, int32_t lo, int32_t hi) {
    int32_t *p = t->init;
    for (size_t i = 0; i < t->total; i++)
        if (t->is_data[i]) p[i] = ct_randi(t->owner, lo, hi);
}

void ct_tol(ct_tensor *t, double rtol, double floor) {
    t->rtol = rtol;
    t->floor = floor;
}

void ct_floor_rel(ct_tensor *t, double frac) { t->floor_rel = frac; }
void ct_mask_exact(ct_tensor *t) { t->mask_exact = 1; }

double ct_amax(ct_tensor *t) {
    const float *f = t->init;
    double m = 0;
    for (size_t i = 0; i < t->total; i++)
        if (t->is_data[i] && !isnan(f[i]) && fabs(f[i]) > m) m = fabs(f[i]);
    return m;
}

recur_ptr ct_p(const ct_tensor *t, int dev) { return t ? recur_at(t->p[dev], t->lead) : RECUR_NULLPTR; }

/* ---- upload, read back, compare ------------------------------------------------------------------------ */

static const char *dev_name(int d) { return d == CT_REF ? "oracle (ref)" : "target"; }

int ct_upload(ct_case *c) {
    if (c->uploaded) return !c->failed;
    c->uploaded = 1;
    for (int k = 0; k < c->ntensors; k++) {
        ct_tensor *t = &c->t[k];
        for (int d = 0; d < 2; d++) {
            int st = recur_alloc(ct_cfg.dev[d], t->total, &t->p[d]);
            if (!st) st = recur_write(ct_cfg.dev[d], t->p[d], t->init, t->total);
            if (st) {
                ct_fail(c, "%s: cannot allocate/upload %s (%zu elements): %s", dev_name(d), t->name, t->total,
                        recur_last_error());
                return 0;
            }
        }
    }
    return 1;
}

/* "[17]" or "[b=1 r=2 c=3]" or "[lead pad -2]" / "[tail pad +1]" or "[gap r=2 c=19]". */
static void where(const ct_tensor *t, size_t i, char *out, size_t size) {
    if (i < t->lead) {
        snprintf(out, size, "[lead padding %td]", (ptrdiff_t)i - (ptrdiff_t)t->lead);
        return;
    }
    size_t j = i - t->lead;
    if (j >= t->span) {
        snprintf(out, size, "[tail padding +%zu after the data]", j - t->span);
        return;
    }
    const char *gap = t->is_data[i] ? "" : "gap ";
    if (t->rows <= 1 && t->batch <= 1) {
        snprintf(out, size, "[%s%zu]", gap, j);
        return;
    }
    size_t k = 0, rem = j;
    if (t->batch > 1 && t->stride) {
        k = j / t->stride;
        rem = j % t->stride;
    }
    size_t r = rem / t->ld, col = rem % t->ld;
    if (t->batch > 1)
        snprintf(out, size, "[%sbatch %zu, row %zu, col %zu]", gap, k, r, col);
    else
        snprintf(out, size, "[%srow %zu, col %zu]", gap, r, col);
}

static void fmt_val(char *out, size_t size, uint32_t bits, int is_int) {
    if (is_int) {
        snprintf(out, size, "%d", (int32_t)bits);
        return;
    }
    float f = float_of(bits);
    if (isnan(f))
        snprintf(out, size, "NaN(0x%08x)", (unsigned)bits);
    else
        snprintf(out, size, "%.9g", (double)f);
}

static int same_exact(uint32_t a, uint32_t b, int is_int) {
    if (a == b) return 1;
    if (is_int) return 0;
    float fa = float_of(a), fb = float_of(b);
    return !isnan(fa) && fa == fb; /* +0 == -0 */
}

static void compare_tensor(ct_case *c, ct_tensor *t) {
    /* Floor S of this tensor. */
    double S = t->floor;
    if (t->floor_rel > 0) {
        double m = 0;
        for (size_t i = 0; i < t->total; i++) {
            if (!t->is_data[i]) continue;
            float r = float_of(bits_at(t->got[CT_REF], i));
            if (isfinite(r) && fabs(r) > m) m = fabs(r);
        }
        if (t->floor_rel * m > S) S = t->floor_rel * m;
    }
    if (S < 1e-30) S = 1e-30;

    size_t bad_ref = 0, bad_keep = 0, bad_val = 0, bad_mask = 0;
    char w[96], a[48], b[48];
    for (size_t i = 0; i < t->total; i++) {
        uint32_t ib = bits_at(t->init, i), rb = bits_at(t->got[CT_REF], i), gb = bits_at(t->got[CT_TGT], i);
        if (!t->is_data[i] || t->role == CT_IN) {
            const char *what = t->is_data[i] ? "input" : (i < t->lead || i >= t->lead + t->span) ? "padding"
                                                                                                  : "gap";
            if (rb != ib && bad_ref++ < CT_MISMATCHES_SHOWN) {
                where(t, i, w, sizeof w);
                fmt_val(a, sizeof a, rb, t->is_int);
                fmt_val(b, sizeof b, ib, t->is_int);
                ct_fail(c, "  oracle changed %s %s%s: %s, was %s (the kit or ref is wrong)", what, t->name, w, a, b);
            }
            if (gb != ib && bad_keep++ < CT_MISMATCHES_SHOWN) {
                where(t, i, w, sizeof w);
                fmt_val(a, sizeof a, gb, t->is_int);
                fmt_val(b, sizeof b, ib, t->is_int);
                ct_fail(c, "  target changed %s %s%s: %s, must stay %s", what, t->name, w, a, b);
            }
            continue;
        }
        double err = 0;
        int ok;
        if (t->rtol == 0 || t->is_int) {
            ok = same_exact(rb, gb, t->is_int);
            if (!ok) err = INFINITY;
        } else {
            float r = float_of(rb), g = float_of(gb);
            if (isnan(r) || isnan(g)) {
                ok = isnan(r) && isnan(g);
                err = ok ? 0 : INFINITY;
            } else if (isinf(r) || isinf(g)) {
                ok = r == g;
                err = ok ? 0 : INFINITY;
            } else {
                double den = fabs((double)r) > S ? fabs((double)r) : S;
                err = fabs((double)g - (double)r) / den;
                ok = err <= t->rtol;
            }
        }
        if (err > c->max_err) c->max_err = err;
        if (!ok && bad_val++ < CT_MISMATCHES_SHOWN) {
            where(t, i, w, sizeof w);
            fmt_val(a, sizeof a, gb, t->is_int);
            fmt_val(b, sizeof b, rb, t->is_int);
            if (t->rtol == 0 || t->is_int)
                ct_fail(c, "  %s%s = %s, oracle %s (must be exact)", t->name, w, a, b);
            else
                ct_fail(c, "  %s%s = %s, oracle %s (err %.3g > tol %.3g, floor %.3g)", t->name, w, a, b, err,
                        t->rtol, S);
        }
        if (t->mask_exact) {
            float r = float_of(rb), g = float_of(gb);
            if ((r == 0) != (g == 0) && bad_mask++ < CT_MISMATCHES_SHOWN) {
                where(t, i, w, sizeof w);
                fmt_val(a, sizeof a, gb, 0);
                fmt_val(b, sizeof b, rb, 0);
                ct_fail(c, "  %s%s = %s, oracle %s (the set of zeros must match exactly)", t->name, w, a, b);
            }
        }
    }
    if (bad_ref > CT_MISMATCHES_SHOWN) ct_fail(c, "  ... oracle changed %zu protected elements of %s", bad_ref, t->name);
    if (bad_keep > CT_MISMATCHES_SHOWN)
        ct_fail(c, "  ... target changed %zu protected elements of %s", bad_keep, t->name);
    if (bad_val > CT_MISMATCHES_SHOWN)
        ct_fail(c, "  ... %zu of %s's elements differ from the oracle", bad_val, t->name);
    if (bad_mask > CT_MISMATCHES_SHOWN) ct_fail(c, "  ... %zu zero-pattern mismatches in %s", bad_mask, t->name);
}

void ct_compare(ct_case *c) {
    if (c->st[CT_REF] || c->st[CT_TGT]) return; /* already failed with the status */
    for (int k = 0; k < c->ntensors; k++) {
        ct_tensor *t = &c->t[k];
        for (int d = 0; d < 2; d++) {
            t->got[d] = malloc(4 * t->total);
            if (!t->got[d]) {
                fprintf(stderr, "recur-conform: out of memory\n");
                exit(2);
            }
            int st = recur_read(ct_cfg.dev[d], t->got[d], t->p[d], t->total);
            if (st) {
                ct_fail(c, "%s: reading %s back failed (%s): %s", dev_name(d), t->name, recur_strerror(st),
                        recur_last_error());
                return;
            }
        }
    }
    for (int k = 0; k < c->ntensors; k++) compare_tensor(c, &c->t[k]);
}

int ct_case_end(ct_case *c) {
    ct_op_info *op = c->op;
    if (!c->ran && !c->failed) ct_fail(c, "the op was never run (kit error)");
    int pass = !c->failed;
    if (pass) op->passed++;
    if (c->max_err > op->max_err) op->max_err = c->max_err;

    if (!pass) {
        if (ct_cfg.verbose || cur_fail_lines < ct_cfg.max_fail_lines) {
            printf("FAIL %s [%s]\n%s\n", op->name, c->name, c->msg);
        } else if (cur_fail_lines == ct_cfg.max_fail_lines) {
            printf("FAIL %s: more failing cases not shown (use --verbose)\n", op->name);
        }
        cur_fail_lines++;
    } else if (ct_cfg.verbose) {
        printf("ok   %s [%s] max err %.3g\n", op->name, c->name, c->max_err);
    }
    fflush(stdout);

    char cond[512];
    snprintf(cond, sizeof cond, "%s [%s]: %.*s", op->name, c->name, (int)(sizeof cond / 2), c->msg);
    CU_assertImplementation(pass ? CU_TRUE : CU_FALSE, 0, cond, "recur-conform", "", CU_FALSE);

    for (int k = 0; k < c->ntensors; k++) {
        ct_tensor *t = &c->t[k];
        for (int d = 0; d < 2; d++) {
            if (t->p[d].buf) recur_free(ct_cfg.dev[d], t->p[d]);
            free(t->got[d]);
        }
        free(t->init);
        free(t->is_data);
    }
    ct_running_case = NULL;
    free(c);
    return pass;
}
