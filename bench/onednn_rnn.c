/*
 * recur-bench-onednn: recur bench's inference cases in oneDNN (DNNL 2.6, C API), timed the way `recur bench`
 * times them, printed as one recur-bench/1 JSON line (backend "onednn"). bench/compare_pytorch.py runs it
 * for the "infer" model cases and the forward-only layer cases, beside recur and PyTorch (docs/bench.md,
 * "Against oneDNN"). The measuring method, the statistics, the machine's description and the JSON keys are
 * recur bench's own (bench_common.c), so the two cannot drift apart.
 *
 * What one run is: forward_inference, f32, of L stacked recurrent layers (optionally bidirectional, outputs
 * concatenated), src/dst in tnc, zero initial state, dst_iter (and dst_iter_c) written. Weights are given in
 * ldigo and reordered once, before timing, to the layout the primitive asks for (format_tag any): what a user
 * of oneDNN does; the reorder is timed apart ("weights_reorder_ms") and is not in any run.
 *
 * One primitive holds all L layers when oneDNN can (unidirectional, and input width == hidden when L > 1:
 * its multi-layer primitive needs SLC == DHC, and its bidirectional multi-layer stacks run each direction on
 * its own, unlike PyTorch's and recur's, where a layer reads both directions of the layer below); otherwise
 * one primitive per layer, chained through dst_layer.
 *
 * Cells: lstm (oneDNN vanilla_lstm, gate order i f g o as PyTorch), gru (PyTorch's GRU, reset gate applied to
 * W_hn h + b_hn: oneDNN lbr_gru), gru_original (reset gate applied to h before the product: oneDNN
 * vanilla_gru), rnn_tanh / rnn_relu (vanilla_rnn).
 *
 * Values are a fixed formula of the logical index (for checking against another implementation; --dump
 * writes the last layer's output after one run):
 *   x[t][n][c]                  = sin(0.3 + 0.29 * ((t*N + n)*I + c))
 *   W_layer[l][d][i][g][o]      = s * sin(0.1 + 0.37 * ((i*G + g)*H + o) + 1.1*l + 2.3*d),   s = 1/sqrt(H)
 *   W_iter[l][d][i][g][o]       = s * sin(0.7 + 0.41 * ((i*G + g)*H + o) + 1.1*l + 2.3*d)
 *   bias[l][d][g][o]            = s * sin(0.2 + 0.53 * (g*H + o) + 1.1*l + 2.3*d)
 * (oneDNN's ldigo / ldgo order; lbr_gru has G + 1 bias blocks.)
 */
#define _GNU_SOURCE /* dladdr, RTLD_DEFAULT */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "bench_common.h"

#define PROG "recur-bench-onednn"
#define MAX_PRIMS 64

/* ---- options ------------------------------------------------------------------------------------------- */
typedef struct options {
    const char *cell, *dump;
    long batch, seq, input, hidden, layers, repeat, warmup;
    int bidirectional;
    double min_sample_ms, max_time_s;
} options;

static void usage(FILE *f) {
    fprintf(f,
            "usage: " PROG " --cell lstm|gru|gru_original|rnn_tanh|rnn_relu --batch B --seq T --input I --hidden H\n"
            "       --layers L [--bidirectional] [--repeat N] [--warmup N] [--min-sample-ms X] [--max-time S]\n"
            "       [--dump FILE]\n"
            "Times oneDNN's RNN primitive (forward_inference, f32, tnc) the way `recur bench` times its cases and\n"
            "prints one recur-bench/1 JSON line (backend \"onednn\"). Threads: OMP_NUM_THREADS (oneDNN's OpenMP).\n"
            "  --repeat N         samples (default 5)\n"
            "  --warmup N         untimed runs first (default 2)\n"
            "  --min-sample-ms X  repeat short runs inside one sample until it lasts this long (default 50)\n"
            "  --max-time S       time budget in seconds (default 20; 0: none), as recur bench's --max-time\n"
            "  --dump FILE        after one run, write the last layer's output (T x B x D*H float32, tnc) to FILE\n"
            "                     and exit without timing (for checking the numbers; see the formula in the source)\n"
            "gru is PyTorch's GRU (oneDNN lbr_gru); gru_original is oneDNN's vanilla_gru.\n");
}

static void die(const char *what, const char *detail) {
    fprintf(stderr, PROG ": %s%s\n", what, detail);
    exit(1);
}

static long parse_long(const char *flag, const char *s, long min, long max) {
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || *end || end == s || v < min || v > max) {
        fprintf(stderr, PROG ": %s expects an integer in [%ld, %ld], got '%s'\n", flag, min, max, s ? s : "");
        exit(2);
    }
    return v;
}

static double parse_double(const char *flag, const char *s, double min, double max) {
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : 0.0;
    if (!s || errno || *end || end == s || !(v >= min && v <= max)) {
        fprintf(stderr, PROG ": %s expects a number in [%g, %g], got '%s'\n", flag, min, max, s ? s : "");
        exit(2);
    }
    return v;
}

static void parse_args(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->repeat = 5;
    o->warmup = 2;
    o->min_sample_ms = 50.0;
    o->max_time_s = 20.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(a, "--bidirectional")) {
            o->bidirectional = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, PROG ": %s needs a value (see --help)\n", a);
            exit(2);
        }
        i++;
        if (!strcmp(a, "--cell")) o->cell = v;
        else if (!strcmp(a, "--dump")) o->dump = v;
        else if (!strcmp(a, "--batch")) o->batch = parse_long(a, v, 1, 1L << 20);
        else if (!strcmp(a, "--seq")) o->seq = parse_long(a, v, 1, 1L << 20);
        else if (!strcmp(a, "--input")) o->input = parse_long(a, v, 1, 1L << 20);
        else if (!strcmp(a, "--hidden")) o->hidden = parse_long(a, v, 1, 1L << 20);
        else if (!strcmp(a, "--layers")) o->layers = parse_long(a, v, 1, MAX_PRIMS);
        else if (!strcmp(a, "--repeat")) o->repeat = parse_long(a, v, 1, 100000);
        else if (!strcmp(a, "--warmup")) o->warmup = parse_long(a, v, 0, 100000);
        else if (!strcmp(a, "--min-sample-ms")) o->min_sample_ms = parse_double(a, v, 0.0, 1e6);
        else if (!strcmp(a, "--max-time")) o->max_time_s = parse_double(a, v, 0.0, 1e6);
        else {
            fprintf(stderr, PROG ": unknown argument '%s' (see --help)\n", a);
            exit(2);
        }
    }
    if (!o->cell || !o->batch || !o->seq || !o->input || !o->hidden || !o->layers) {
        fprintf(stderr, PROG ": --cell, --batch, --seq, --input, --hidden and --layers are required (see --help)\n");
        exit(2);
    }
}

/* ---- oneDNN errors: every status is checked; a failure ends the program with a message ---------------- */
static void check(dnnl_status_t st, const char *what, const char *context) {
    if (st == dnnl_success) return;
    fprintf(stderr, PROG ": %s failed: %s (%s)%s%s\n", what, dnnl_status2str(st),
            st == dnnl_unimplemented ? "oneDNN has no implementation for this configuration" : "oneDNN status",
            context ? " while " : "", context ? context : "");
    exit(1);
}
#define CHECK(call, context) check((call), #call, (context))

/* ---- the cells ----------------------------------------------------------------------------------------- */
typedef struct cell_info {
    const char *name;     /* recur's name */
    const char *dnnl_alg; /* oneDNN's */
    int gates, bias_gates, has_c;
} cell_info;

static const cell_info CELLS[] = {
    {"lstm", "vanilla_lstm", 4, 4, 1},
    {"gru", "lbr_gru", 3, 4, 0},
    {"gru_original", "vanilla_gru", 3, 3, 0},
    {"rnn_tanh", "vanilla_rnn (tanh)", 1, 1, 0},
    {"rnn_relu", "vanilla_rnn (relu)", 1, 1, 0},
};

/* ---- one primitive: layers [l0, l0 + nl) ---------------------------------------------------------------- */
typedef struct prim {
    int l0, nl;
    long in;
    dnnl_primitive_t p;
    dnnl_memory_t w_layer, w_iter, bias, dst_layer, dst_iter, dst_iter_c;
    dnnl_memory_t src_layer; /* not owned: the input, or the previous primitive's dst_layer */
    dnnl_exec_arg_t args[8];
    int nargs;
} prim;

static dnnl_memory_desc_t md(int ndims, const dnnl_dims_t dims, dnnl_format_tag_t tag, const char *ctx) {
    dnnl_memory_desc_t d;
    CHECK(dnnl_memory_desc_init_by_tag(&d, ndims, dims, dnnl_f32, tag), ctx);
    return d;
}

static float *mem_ptr(dnnl_memory_t m) {
    void *h = NULL;
    CHECK(dnnl_memory_get_data_handle(m, &h), "reading a memory's buffer");
    return h;
}

/* The weights layout the primitive asked for, by name where it is a plain one. */
static const char *format_name(const dnnl_memory_desc_t *d) {
    if (d->format_kind == dnnl_format_kind_rnn_packed) return "rnn_packed";
    if (d->format_kind != dnnl_blocked) return "other";
    static const struct {
        dnnl_format_tag_t tag;
        const char *name;
    } plain[] = {{dnnl_ldigo, "ldigo"}, {dnnl_ldgoi, "ldgoi"}};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        dnnl_memory_desc_t t;
        if (dnnl_memory_desc_init_by_tag(&t, d->ndims, d->dims, d->data_type, plain[i].tag) == dnnl_success &&
            dnnl_memory_desc_equal(&t, d))
            return plain[i].name;
    }
    /* Otherwise oneDNN's naming: the dims from outermost stride in, blocked dims capitalised, then the inner
     * blocks ("ldgOi32o"-like). */
    static char buf[64];
    const char *letters = "ldigo";
    const dnnl_blocking_desc_t *b = &d->format_desc.blocking;
    int order[DNNL_MAX_NDIMS], n = d->ndims < 5 ? d->ndims : 5, k = 0;
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 1; i < n; i++) /* insertion sort, stable: by stride, largest first */
        for (int j = i; j > 0 && b->strides[order[j]] > b->strides[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int i = 0; i < n && k < (int)sizeof buf - 1; i++) {
        int blocked = 0;
        for (int j = 0; j < b->inner_nblks; j++) blocked |= b->inner_idxs[j] == order[i];
        buf[k++] = blocked ? (char)(letters[order[i]] - 'a' + 'A') : letters[order[i]];
    }
    buf[k] = 0;
    for (int j = 0; j < b->inner_nblks && k < (int)sizeof buf - 16; j++)
        k += snprintf(buf + k, sizeof buf - (size_t)k, "%lld%c", (long long)b->inner_blks[j],
                      b->inner_idxs[j] < 5 ? letters[b->inner_idxs[j]] : '?');
    return buf;
}

/* Weights: fill a user-layout (ldigo) buffer with the formula and reorder it to the primitive's layout. */
static dnnl_memory_t make_weights(dnnl_engine_t eng, dnnl_stream_t strm, const dnnl_memory_desc_t *want,
                                  const dnnl_dims_t dims, int l0, double phase, double step, double scale,
                                  double *reorder_ms, char *fmt, size_t fmt_size) {
    const char *ctx = "preparing the weights";
    dnnl_memory_desc_t user_md = md(5, dims, dnnl_ldigo, ctx);
    dnnl_memory_t user;
    CHECK(dnnl_memory_create(&user, &user_md, eng, DNNL_MEMORY_ALLOCATE), ctx);
    float *w = mem_ptr(user);
    const dnnl_dim_t L = dims[0], D = dims[1], I = dims[2], G = dims[3], H = dims[4];
    for (dnnl_dim_t l = 0; l < L; l++)
        for (dnnl_dim_t d = 0; d < D; d++)
            for (dnnl_dim_t k = 0; k < I * G * H; k++)
                w[(l * D + d) * I * G * H + k] =
                    (float)(scale * sin(phase + step * (double)k + 1.1 * (double)(l0 + l) + 2.3 * (double)d));
    if (dnnl_memory_desc_equal(&user_md, want)) {
        snprintf(fmt, fmt_size, "ldigo");
        return user;
    }
    snprintf(fmt, fmt_size, "%s", format_name(want));
    dnnl_memory_t out;
    CHECK(dnnl_memory_create(&out, want, eng, DNNL_MEMORY_ALLOCATE), ctx);
    dnnl_primitive_desc_t rpd;
    dnnl_primitive_t r;
    CHECK(dnnl_reorder_primitive_desc_create(&rpd, &user_md, eng, want, eng, NULL), ctx);
    CHECK(dnnl_primitive_create(&r, rpd), ctx);
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, out}};
    const double t0 = bench_now_ms();
    CHECK(dnnl_primitive_execute(r, strm, 2, args), ctx);
    CHECK(dnnl_stream_wait(strm), ctx);
    *reorder_ms += bench_now_ms() - t0;
    CHECK(dnnl_primitive_destroy(r), ctx);
    CHECK(dnnl_primitive_desc_destroy(rpd), ctx);
    CHECK(dnnl_memory_destroy(user), ctx);
    return out;
}

static void make_prim(prim *P, const options *o, const cell_info *ci, dnnl_engine_t eng, dnnl_stream_t strm,
                      dnnl_memory_t src, double *reorder_ms, char *wfmt, size_t wfmt_size) {
    char ctx[160];
    snprintf(ctx, sizeof ctx, "creating the %s primitive for layer%s %d%s", ci->dnnl_alg, P->nl > 1 ? "s" : "",
             P->l0 + 1, P->nl > 1 ? "..." : "");
    const dnnl_dim_t T = o->seq, N = o->batch, H = o->hidden, D = o->bidirectional ? 2 : 1, L = P->nl;
    const dnnl_dim_t G = ci->gates, IN = P->in;
    const dnnl_dims_t d_src = {T, N, IN}, d_dst = {T, N, D * H}, d_wl = {L, D, IN, G, H}, d_wi = {L, D, H, G, H},
                      d_b = {L, D, ci->bias_gates, H}, d_st = {L, D, N, H};
    dnnl_memory_desc_t src_md = md(3, d_src, dnnl_tnc, ctx), dst_md = md(3, d_dst, dnnl_tnc, ctx),
                       wl_any = md(5, d_wl, dnnl_format_tag_any, ctx), wi_any = md(5, d_wi, dnnl_format_tag_any, ctx),
                       b_md = md(4, d_b, dnnl_ldgo, ctx), st_md = md(4, d_st, dnnl_ldnc, ctx);
    const dnnl_rnn_direction_t dir = o->bidirectional ? dnnl_bidirectional_concat : dnnl_unidirectional_left2right;
    const dnnl_prop_kind_t prop = dnnl_forward_inference;
    dnnl_rnn_desc_t rd;
    if (!strcmp(ci->name, "lstm"))
        CHECK(dnnl_lstm_forward_desc_init(&rd, prop, dir, &src_md, NULL, NULL, &wl_any, &wi_any, &b_md, &dst_md, &st_md,
                                          &st_md, 0),
              ctx);
    else if (!strcmp(ci->name, "gru"))
        CHECK(dnnl_lbr_gru_forward_desc_init(&rd, prop, dir, &src_md, NULL, &wl_any, &wi_any, &b_md, &dst_md, &st_md, 0),
              ctx);
    else if (!strcmp(ci->name, "gru_original"))
        CHECK(dnnl_gru_forward_desc_init(&rd, prop, dir, &src_md, NULL, &wl_any, &wi_any, &b_md, &dst_md, &st_md, 0), ctx);
    else
        CHECK(dnnl_vanilla_rnn_forward_desc_init(&rd, prop, !strcmp(ci->name, "rnn_relu") ? dnnl_eltwise_relu
                                                                                          : dnnl_eltwise_tanh,
                                                 dir, &src_md, NULL, &wl_any, &wi_any, &b_md, &dst_md, &st_md, 0, 0.0f,
                                                 0.0f),
              ctx);
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_primitive_desc_create(&pd, &rd, NULL, eng, NULL), ctx);
    const dnnl_memory_desc_t *wl_want = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_LAYER);
    const dnnl_memory_desc_t *wi_want = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_ITER);
    if (!wl_want || !wi_want) die("the primitive reports no weights layout, ", ctx);
    const double s = 1.0 / sqrt((double)H);
    char f1[64], f2[64];
    P->w_layer = make_weights(eng, strm, wl_want, d_wl, P->l0, 0.1, 0.37, s, reorder_ms, f1, sizeof f1);
    P->w_iter = make_weights(eng, strm, wi_want, d_wi, P->l0, 0.7, 0.41, s, reorder_ms, f2, sizeof f2);
    snprintf(wfmt, wfmt_size, "%s", !strcmp(f1, f2) ? f1 : "mixed");
    CHECK(dnnl_memory_create(&P->bias, &b_md, eng, DNNL_MEMORY_ALLOCATE), ctx);
    float *b = mem_ptr(P->bias);
    const dnnl_dim_t GB = ci->bias_gates;
    for (dnnl_dim_t l = 0; l < L; l++)
        for (dnnl_dim_t d = 0; d < D; d++)
            for (dnnl_dim_t k = 0; k < GB * H; k++)
                b[(l * D + d) * GB * H + k] =
                    (float)(s * sin(0.2 + 0.53 * (double)k + 1.1 * (double)(P->l0 + l) + 2.3 * (double)d));
    CHECK(dnnl_memory_create(&P->dst_layer, &dst_md, eng, DNNL_MEMORY_ALLOCATE), ctx);
    CHECK(dnnl_memory_create(&P->dst_iter, &st_md, eng, DNNL_MEMORY_ALLOCATE), ctx);
    P->dst_iter_c = NULL;
    if (ci->has_c) CHECK(dnnl_memory_create(&P->dst_iter_c, &st_md, eng, DNNL_MEMORY_ALLOCATE), ctx);
    P->src_layer = src;
    CHECK(dnnl_primitive_create(&P->p, pd), ctx);
    CHECK(dnnl_primitive_desc_destroy(pd), ctx);
    int n = 0;
    P->args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SRC_LAYER, P->src_layer};
    P->args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS_LAYER, P->w_layer};
    P->args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS_ITER, P->w_iter};
    P->args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, P->bias};
    P->args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DST_LAYER, P->dst_layer};
    P->args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DST_ITER, P->dst_iter};
    if (ci->has_c) P->args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DST_ITER_C, P->dst_iter_c};
    P->nargs = n;
}

static void free_prim(prim *P) {
    CHECK(dnnl_primitive_destroy(P->p), "cleaning up");
    dnnl_memory_t ms[] = {P->w_layer, P->w_iter, P->bias, P->dst_layer, P->dst_iter, P->dst_iter_c};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        if (ms[i]) CHECK(dnnl_memory_destroy(ms[i]), "cleaning up");
}

/* ---- timing: recur bench's method (bench_measure, bench/bench_common.c) --------------------------------- */
typedef struct model {
    prim prims[MAX_PRIMS];
    int n;
    dnnl_stream_t strm;
} model;

/* n runs, then wait for the stream (as recur bench's time_runs: enqueue, sync, clock); ms per run. */
static int time_runs(void *ctx, int n, double *ms) {
    model *m = ctx;
    double t0 = bench_now_ms();
    for (int r = 0; r < n; r++)
        for (int i = 0; i < m->n; i++)
            CHECK(dnnl_primitive_execute(m->prims[i].p, m->strm, m->prims[i].nargs, m->prims[i].args), "running");
    CHECK(dnnl_stream_wait(m->strm), "running");
    *ms = (bench_now_ms() - t0) / n;
    return 0;
}

/* ---- threads, the library ------------------------------------------------------------------------------- */
/* The threads oneDNN's OpenMP runtime will use: omp_get_max_threads from the libgomp that libdnnl loaded. */
static int omp_threads(void) {
    int (*get)(void) = NULL;
    void *sym = dlsym(RTLD_DEFAULT, "omp_get_max_threads");
    memcpy(&get, &sym, sizeof get);
    if (get) return get();
    const char *e = getenv("OMP_NUM_THREADS");
    if (e && atoi(e) > 0) return atoi(e);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static const char *isa_name(dnnl_cpu_isa_t isa) {
    switch ((int)isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "unknown";
    }
}

static const char *runtime_name(unsigned r) {
    return r == DNNL_RUNTIME_OMP ? "OpenMP" : r == DNNL_RUNTIME_TBB ? "TBB" : r == DNNL_RUNTIME_SEQ ? "sequential"
           : r == DNNL_RUNTIME_THREADPOOL ? "threadpool" : "unknown";
}

/* ---- main ----------------------------------------------------------------------------------------------- */
int main(int argc, char **argv) {
    options o;
    parse_args(argc, argv, &o);
    const cell_info *ci = NULL;
    for (size_t i = 0; i < sizeof CELLS / sizeof CELLS[0]; i++)
        if (!strcmp(o.cell, CELLS[i].name)) ci = &CELLS[i];
    if (!ci) {
        fprintf(stderr, PROG ": unknown --cell '%s' (lstm, gru, gru_original, rnn_tanh, rnn_relu)\n", o.cell);
        return 2;
    }
    const long T = o.seq, N = o.batch, I = o.input, H = o.hidden, L = o.layers, D = o.bidirectional ? 2 : 1;

    dnnl_engine_t eng;
    dnnl_stream_t strm;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0), "opening the CPU engine");
    CHECK(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags), "opening a stream");

    /* The input: T x N x I, tnc. */
    const dnnl_dims_t d_src = {T, N, I};
    dnnl_memory_desc_t src_md = md(3, d_src, dnnl_tnc, "making the input");
    dnnl_memory_t src;
    CHECK(dnnl_memory_create(&src, &src_md, eng, DNNL_MEMORY_ALLOCATE), "making the input");
    float *x = mem_ptr(src);
    for (long k = 0; k < T * N * I; k++) x[k] = (float)sin(0.3 + 0.29 * (double)k);

    /* One primitive for all layers where oneDNN's multi-layer semantics match PyTorch's; else one per layer. */
    static model m;
    m.strm = strm;
    const int native = L == 1 || (D == 1 && I == H);
    m.n = native ? 1 : (int)L;
    double reorder_ms = 0.0;
    char wfmt[64] = "";
    for (int i = 0; i < m.n; i++) {
        prim *P = &m.prims[i];
        P->l0 = native ? 0 : i;
        P->nl = native ? (int)L : 1;
        P->in = i == 0 ? I : D * H;
        make_prim(P, &o, ci, eng, strm, i == 0 ? src : m.prims[i - 1].dst_layer, &reorder_ms, wfmt, sizeof wfmt);
    }

    if (o.dump) {
        double ms;
        (void)time_runs(&m, 1, &ms);
        FILE *f = fopen(o.dump, "wb");
        size_t count = (size_t)(T * N * D * H);
        if (!f || fwrite(mem_ptr(m.prims[m.n - 1].dst_layer), sizeof(float), count, f) != count || fclose(f)) {
            fprintf(stderr, PROG ": cannot write %s: %s\n", o.dump, strerror(errno));
            return 1;
        }
        fprintf(stderr, PROG ": wrote %zu floats (T=%ld x B=%ld x %ld, tnc) to %s\n", count, T, N, D * H, o.dump);
        return 0;
    }

    bench_stats s;
    const bench_method method = {(int)o.warmup, (int)o.repeat, o.max_time_s, o.min_sample_ms};
    if (bench_measure(time_runs, &m, &method, &s)) die("out of memory", "");

    /* GEMM work, counted as recur bench counts a layer's forward: 2*T*B*G*H*(in + H) per layer and direction. */
    double gflop = 0.0;
    for (long l = 0; l < L; l++)
        gflop += (double)D * 2.0 * (double)T * (double)N * ci->gates * (double)H * (double)((l ? D * H : I) + H);
    gflop *= 1e-9;

    bench_machine mach;
    bench_machine_probe(&mach);
    char shape[128], what[400], driver[256], threads_s[16];
    const dnnl_version_t *ver = dnnl_version();
    char version[64];
    snprintf(version, sizeof version, "%d.%d.%d", ver->major, ver->minor, ver->patch);
    Dl_info dli;
    const char *libpath = "";
    void *fn_addr;
    const dnnl_version_t *(*fn)(void) = dnnl_version;
    memcpy(&fn_addr, &fn, sizeof fn_addr);
    if (dladdr(fn_addr, &dli) && dli.dli_fname) libpath = dli.dli_fname;
    const int threads = omp_threads();
    const char *wait = getenv("OMP_WAIT_POLICY");
    const char *isa = isa_name(dnnl_get_effective_cpu_isa());
    snprintf(threads_s, sizeof threads_s, "%d", threads);
    snprintf(driver, sizeof driver, "oneDNN %s (%s), %d thread%s%s%s, ISA %s", version,
             runtime_name(ver->cpu_runtime), threads, threads == 1 ? "" : "s", wait ? ", OMP_WAIT_POLICY=" : "",
             wait ? wait : "", isa);
    snprintf(shape, sizeof shape, "%s%s B%ld T%ld I%ld H%ld L%ld", D == 2 ? "bi" : "", ci->name, N, T, I, H, L);
    snprintf(what, sizeof what,
             "oneDNN %s forward_inference, f32, src/dst tnc, zero initial state, %d primitive%s for %ld layer%s; "
             "weights reordered once from ldigo to the primitive's layout (%s) before timing, not timed",
             ci->dnnl_alg, m.n, m.n == 1 ? "" : "s", L, L == 1 ? "" : "s", wfmt);
    char when[32];
    bench_utc_time(when, sizeof when);

    FILE *out = stdout;
    fputs("{\"schema\":\"recur-bench/1\"", out);
    bench_json_str(out, "time", when, 1);
    bench_json_machine(out, &mach);
    fputs(",\"backend\":{", out);
    bench_json_str(out, "name", "onednn", 0);
    bench_json_str(out, "version", version, 1);
    bench_json_str(out, "path", libpath, 1);
    fputs("},\"device\":{", out);
    bench_json_num(out, "index", 0, 0);
    bench_json_str(out, "name", mach.cpu, 1);
    bench_json_str(out, "vendor", "", 1);
    bench_json_str(out, "kind", "cpu", 1);
    bench_json_str(out, "driver", driver, 1);
    bench_json_str(out, "threads", threads_s, 1);
    fputs("},\"onednn\":{", out);
    bench_json_str(out, "version", version, 0);
    bench_json_str(out, "hash", ver->hash, 1);
    bench_json_str(out, "cpu_runtime", runtime_name(ver->cpu_runtime), 1);
    bench_json_num(out, "threads", threads, 1);
    if (wait) bench_json_str(out, "omp_wait_policy", wait, 1);
    else fputs(",\"omp_wait_policy\":null", out);
    bench_json_str(out, "isa", isa, 1);
    bench_json_str(out, "cell", ci->dnnl_alg, 1);
    bench_json_num(out, "primitives", m.n, 1);
    bench_json_str(out, "weights_format", wfmt, 1);
    bench_json_num(out, "weights_reorder_ms", reorder_ms, 1);
    fputs("},\"case\":{", out);
    bench_json_str(out, "name", "onednn", 0);
    bench_json_str(out, "kind", "layer", 1);
    bench_json_str(out, "mode", "infer", 1);
    bench_json_str(out, "what", "recurrent layers, forward (inference)", 1);
    bench_json_str(out, "shape", shape, 1);
    bench_json_str(out, "cell", ci->name, 1);
    bench_json_num(out, "batch", (double)N, 1);
    bench_json_num(out, "seq", (double)T, 1);
    bench_json_num(out, "input", (double)I, 1);
    bench_json_num(out, "hidden", (double)H, 1);
    bench_json_num(out, "layers", (double)L, 1);
    fprintf(out, ",\"bidirectional\":%s", D == 2 ? "true" : "false");
    bench_json_num(out, "gflop", gflop, 1);
    fputs("},\"timing\":{", out);
    bench_json_num(out, "warmup", s.warmup, 0);
    bench_json_num(out, "runs", s.runs, 1);
    bench_json_num(out, "inner", s.inner, 1);
    fprintf(out, ",\"cold\":%s", s.cold ? "true" : "false");
    bench_json_num(out, "first_ms", s.first_ms, 1);
    bench_json_num(out, "median_ms", s.median_ms, 1);
    bench_json_num(out, "min_ms", s.min_ms, 1);
    bench_json_num(out, "max_ms", s.max_ms, 1);
    bench_json_num(out, "q1_ms", s.q1_ms, 1);
    bench_json_num(out, "q3_ms", s.q3_ms, 1);
    bench_json_num(out, "mean_ms", s.mean_ms, 1);
    fputs("},\"throughput\":{", out);
    bench_json_num(out, "gflop", gflop, 0);
    bench_json_num(out, "gflop_per_s", gflop / (s.median_ms * 1e-3), 1);
    bench_json_num(out, "gflop_per_s_best", gflop / (s.min_ms * 1e-3), 1);
    bench_json_num(out, "seq_per_s", (double)N / (s.median_ms * 1e-3), 1);
    bench_json_str(out, "flop_count", "GEMM work only: the recurrent layers' forward pass (2*M*N*K per product)", 1);
    fputs("}", out);
    bench_json_str(out, "onednn_what", what, 1);
    fputs("}\n", out);
    fflush(stdout);

    for (int i = 0; i < m.n; i++) free_prim(&m.prims[i]);
    CHECK(dnnl_memory_destroy(src), "cleaning up");
    CHECK(dnnl_stream_destroy(strm), "cleaning up");
    CHECK(dnnl_engine_destroy(eng), "cleaning up");
    return 0;
}
