/*
 * `recur bench`: the cross-backend benchmark. Internal interfaces shared by its files:
 *   bench_main.c    flags, which backends and devices, measuring each case, `--pytorch`
 *   bench_cases.c   the table of cases and what one run of each does (SGEMM, layer, whole model)
 *   bench_report.c  the readable table and the JSON lines
 * and bench_common.h: the clock, the measuring method, statistics, the machine and JSON keys, which
 * recur-bench-onednn (onednn_rnn.c) shares. See docs/bench.md.
 */
#ifndef RECUR_BENCH_H
#define RECUR_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench_common.h"
#include "recur/model.h"

/* The `recur bench` verb: the one symbol the `recur` tool links against. */
int cli_bench(int argc, char **argv);

/* ---- cases ------------------------------------------------------------------------------------------- */
enum bench_kind { BENCH_GEMM = 0, BENCH_LAYER = 1, BENCH_MODEL = 2 };

typedef struct bench_case {
    char name[48];
    int kind;  /* bench_kind */
    int train; /* layer: forward + backward; model: forward, loss, backward, Adam. 0: forward only */
    char what[96]; /* one line for the table and docs */
    /* SGEMM: C (M, N) = op(A) op(B), row-major, alpha 1, beta 0 */
    int trans_a, trans_b;
    size_t M, N, K;
    /* recurrent layer / model */
    int cell; /* recur_cell */
    size_t batch, seq, input, hidden, layers;
    int bidirectional;
    size_t vocab, embed; /* vocab > 0: token ids through an embedding of width embed (input = embed) */
    int head;            /* recur_head (models) */
    size_t classes;      /* models: cross-entropy over this many classes */
} bench_case;

/* The built-in cases at full size, or at tiny sizes for smoke tests (quick). Returns the count written
 * (at most max). */
size_t bench_builtin_cases(int quick, bench_case *out, size_t max);

/* Work counted for GFLOP/s: GEMM work only, 2*M*N*K per product. Layers and models count the forward
 * pass's GEMMs; a training step counts three times that (forward, and backward's two products per
 * forward product). */
double bench_case_flops(const bench_case *c);
/* Sequences per run (batch size), 0 for GEMM cases. */
size_t bench_case_sequences(const bench_case *c);
/* "NT 6400x1024x256" or "lstm B64 T100 I256 H256 L1" into buf. */
void bench_case_shape(const bench_case *c, char *buf, size_t size);

/* One prepared case on one device: buffers, model, data. */
typedef struct bench_runner bench_runner;
int bench_runner_new(recur_device *d, const bench_case *c, uint64_t seed, bench_runner **out);
/* Enqueue one run (the caller syncs before reading the clock). */
int bench_runner_run(bench_runner *r);
void bench_runner_free(bench_runner *r);

/* ---- reporting (the statistics and the machine: bench_common.h) ------------------------------------- */
/* What happened when a device was opened (all in milliseconds; < 0 where unknown). */
typedef struct bench_startup {
    double load_ms;       /* recur_backend_load: dlopen + probe */
    double open_ms;       /* recur_device_open: as measured here */
    double backend_ms;    /* the backend's own "startup_ms" option */
    double warmup_ms;     /* the backend's "warmup" entry point, if any */
    long cache_hits;      /* the backend's "cache_hits" / "cache_misses" options, -1 if none */
    long cache_misses;
    char threads[32];     /* the backend's "threads" option, "" if none */
    char isa[32];         /* the backend's "isa" option (the cpu backend: the kernels in use), "" if none */
} bench_startup;

typedef struct bench_device_ctx {
    recur_device *dev;
    int index;
    const char *backend_name, *backend_version, *backend_path;
    const recur_device_info *info;
    bench_startup startup;
} bench_device_ctx;

/* "warm", "cold", "partial" or "n/a" from the cache counters. */
const char *bench_cache_state(const bench_startup *s);
const char *bench_kind_name(int kind);
const char *bench_device_kind_name(uint32_t kind);

/* One JSON object (one line) per result; error != NULL: the case failed, with this message; skipped !=
 * NULL: it was not run, for this reason (no timings then). */
void bench_print_json(FILE *f, const bench_machine *m, const bench_device_ctx *dc, const bench_case *c,
                      const bench_stats *s, const char *error, const char *skipped);
/* The case as one JSON object (no newline): name, kind, mode, sizes. */
void bench_print_case_json(FILE *f, const bench_case *c);
void bench_print_device_header(FILE *f, const bench_device_ctx *dc);
void bench_print_table_header(FILE *f);
void bench_print_row(FILE *f, const bench_case *c, const bench_stats *s, const char *error, const char *skipped);

#endif
