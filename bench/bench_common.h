/*
 * What `recur bench` (bench_main.c, bench_report.c) and recur-bench-onednn (onednn_rnn.c) share, so that the
 * two time and report a case the same way: the clock, the measuring method, its statistics, the machine, and
 * JSON keys. No dependency on librecur (recur-bench-onednn does not link it). See docs/bench.md, "Method".
 */
#ifndef RECUR_BENCH_COMMON_H
#define RECUR_BENCH_COMMON_H

#include <stddef.h>
#include <stdio.h>

#include "json_write.h"

/* CLOCK_MONOTONIC in milliseconds. */
double bench_now_ms(void);

/* ---- the measuring method ------------------------------------------------------------------------------- */
typedef struct bench_stats {
    int warmup;      /* warm-up runs before measuring (not counted) */
    int runs;        /* samples taken */
    int inner;       /* runs per sample (short cases are repeated so one sample lasts long enough) */
    int cold;        /* 1: the only sample is the first run, taken cold (one run exceeded --max-time) */
    double first_ms; /* the very first run on this device, with any lazy compilation */
    double median_ms, min_ms, max_ms, q1_ms, q3_ms, mean_ms; /* per run */
} bench_stats;

/* Fill runs, median/min/max/quartiles/mean from samples (sorted in place). */
void bench_stats_compute(double *samples, int n, bench_stats *s);

/* recur bench's --warmup, --repeat, --max-time and --min-sample-ms. */
typedef struct bench_method {
    int warmup;           /* warm-up runs (at most; a slow case stops after the one that used a third of the budget) */
    int repeat;           /* samples (fewer where the budget runs out) */
    double max_time_s;    /* budget in seconds for warm-up and samples together; 0: none */
    double min_sample_ms; /* runs are repeated inside one sample until it lasts about this long */
} bench_method;

/* One timing: run the case n times, wait until it has finished, store the milliseconds per run in *ms.
 * Returns 0, or a nonzero status of the caller's that stops the measurement. */
typedef int (*bench_run_fn)(void *ctx, int n, double *ms);

/* bench_measure's status when it cannot allocate the samples. */
#define BENCH_E_NOMEM (-1)

/* The method (docs/bench.md): warm-up runs (the first one's time kept as first_ms), then `repeat` samples of
 * `inner` runs each, inner chosen so a sample lasts min_sample_ms, the count cut to the budget; a case whose
 * single warm-up run exceeds the budget reports that run alone, flagged cold. Fills s (zeroed first).
 * Returns 0, BENCH_E_NOMEM, or the first nonzero status run returned. */
int bench_measure(bench_run_fn run, void *ctx, const bench_method *method, bench_stats *s);

/* ---- the machine ---------------------------------------------------------------------------------------- */
typedef struct bench_machine {
    char hostname[128];
    char cpu[160];    /* /proc/cpuinfo's name for it, "unknown" if none */
    char cpu_id[96];  /* which design that name stands for: "family 26 model 2 stepping 0" (x86), "implementer
                       * 0x41 part 0xd0c" (Arm), "unknown" if /proc/cpuinfo has neither. A VM may name two
                       * generations alike ("AMD EPYC"); this tells them apart */
    char caches[128]; /* cpu0's data and unified caches, "L1d 48K, L2 1024K, L3 32768K" (sysfs), "unknown" if none */
    char os[400];     /* uname: system, release, machine */
    long cores;       /* online */
} bench_machine;
void bench_machine_probe(bench_machine *m);
/* The "machine" object of a result line: ,"machine":{hostname, cpu, cpu_id, caches, cores, os}. */
void bench_json_machine(FILE *f, const bench_machine *m);

/* The time now in UTC, ISO 8601 ("2024-05-01T12:00:00Z"); "" if unknown. */
void bench_utc_time(char *buf, size_t size);

/* ---- JSON keys ------------------------------------------------------------------------------------------ */
/* ,"key":"value" (no comma when comma is 0), the value escaped by json_write_string. */
void bench_json_str(FILE *f, const char *key, const char *value, int comma);
/* ,"key":number: an integer where v is one, else %.6g; null where unknown (negative) or not finite. */
void bench_json_num(FILE *f, const char *key, double v, int comma);

#endif
