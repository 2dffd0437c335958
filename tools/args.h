/*
 * Command-line options for the `recur` verbs: a table of flags, parsed in one pass, with one-line errors
 * ("recur train: unknown flag '--fo' (see recur train --help)"), plus the small helpers every verb shares
 * (error messages, a seeded random generator, JSON string output).
 */
#ifndef RECUR_CLI_ARGS_H
#define RECUR_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "json_write.h"

enum arg_kind {
    ARG_FLAG,   /* --name: sets *(int *)dst = 1 */
    ARG_NOFLAG, /* --name: sets *(int *)dst = 0 */
    ARG_INT,    /* --name N: long long, checked against [min, max] */
    ARG_FLOAT,  /* --name X: finite double, checked against [min, max] */
    ARG_STR,    /* --name S */
    ARG_CHOICE, /* --name S where S is one of choices ("a|b|c"): *(const char **)dst */
};

typedef struct arg_spec {
    const char *name; /* without the dashes */
    int kind;
    void *dst;        /* int *, long long *, double *, const char ** */
    int *seen;        /* set to 1 when given, or NULL */
    double min, max;  /* ARG_INT / ARG_FLOAT; min == max means unchecked */
    const char *choices;
    const char *metavar;
    const char *help;
} arg_spec;

/* Parse argv[first..argc). Positional words go to pos (up to max_pos). Returns 0, or 2 after printing
 * one line naming the problem. "--help"/"-h" sets *help (if help is NULL it is an unknown flag). */
int args_parse(const char *verb, int argc, char **argv, int first, const arg_spec *specs, size_t nspecs,
               const char **pos, int max_pos, int *npos, int *help);
/* Print "  --name METAVAR   help" lines for the table. */
void args_print_help(FILE *f, const arg_spec *specs, size_t nspecs);

/* "recur VERB: message" on stderr, one line; returns 1 (runtime errors) so callers can `return`. */
int cli_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The library's last error, one line: "recur VERB: CONTEXT: message". Returns 1. */
int cli_lib_error(const char *verb, const char *context);

/* A seeded generator (SplitMix64 stream) for data sets, shuffling and sampling. */
typedef struct cli_rng {
    uint64_t s;
} cli_rng;
cli_rng cli_rng_new(uint64_t seed, uint64_t stream);
uint64_t cli_rng_next(cli_rng *r);
double cli_rng_uniform(cli_rng *r);             /* [0, 1) */
uint32_t cli_rng_below(cli_rng *r, uint32_t n); /* [0, n), unbiased */
void cli_shuffle(cli_rng *r, size_t *idx, size_t n);


/* Seconds on a monotonic clock. */
double cli_now(void);

#endif
