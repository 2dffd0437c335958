/*
 * Data sets for `recur train`: the seed tasks (generated from a seed, deterministic), a character-level
 * language model over any text file, and user data read from safetensors.
 */
#ifndef RECUR_CLI_TASKS_H
#define RECUR_CLI_TASKS_H

#include <stddef.h>
#include <stdint.h>

#include "recur/model.h"

/* How a task is scored. */
enum eval_kind {
    EVAL_CLASSES = 0,    /* cross-entropy over C classes, one label per sample: accuracy, macro-F1, confusion */
    EVAL_BINARY = 1,     /* BCE with logits: each output thresholded at 0; accuracy, macro-F1, confusion */
    EVAL_REGRESSION = 2, /* MSE */
    EVAL_LM = 3,         /* cross-entropy per step: perplexity and next-token accuracy */
};

/* Samples, batch-first on the host. */
typedef struct cli_data {
    size_t N, T, I;    /* I = 0: token ids */
    int32_t *ids;      /* (N, T) when I == 0 */
    float *x;          /* (N, T, I) when I > 0 */
    int32_t *lengths;  /* (N), or NULL: all T steps */
    int per_step;      /* targets per step (per_step head) */
    int float_targets; /* 1: yf; 0: y */
    size_t C;          /* values per target (float targets) */
    int32_t *y;        /* class ids (N) or (N, T) */
    float *yf;         /* (N, C) or (N, T, C) */
} cli_data;

int data_alloc(cli_data *d, size_t N, size_t T, size_t I, int has_lengths, int per_step, int float_targets, size_t C);
void data_free(cli_data *d);
/* dst = the rows idx[0..n) of src (dst is allocated). */
int data_subset(const cli_data *src, const size_t *idx, size_t n, cli_data *dst);
size_t data_target_stride(const cli_data *d); /* target values per sample */

/* What a generated task hands the trainer. */
typedef struct task_data {
    cli_data train, val, test;
    size_t vocab;          /* > 0: token ids; 0: float features (width train.I) */
    int64_t padding_idx;   /* -1 if none */
    size_t num_outputs;    /* the model's C */
    size_t num_classes;    /* for the confusion matrix (EVAL_CLASSES / EVAL_BINARY) */
    const char *const *class_names;
    char **token_names;    /* vocab entries (for showing a sample), or NULL */
    char *chars;           /* chars task: the vocabulary as UTF-8, id order (stored as recur.chars) */
} task_data;
void task_data_free(task_data *t);

/* Options the generators read. */
typedef struct task_params {
    uint64_t seed;
    long long n_train, n_val, n_test; /* < 0: the task's default */
    long long seq_len;                /* < 0: the task's default */
    const char *text_path;            /* chars */
    int notebook_data;                /* magic: exactly seeds/001's generator (filler may contain the magic token) */
    long long max_value;              /* parity: numbers 0..max_value */
} task_params;

typedef struct task_def {
    const char *name;
    const char *summary; /* one line */
    const char *help;    /* details: the data, the seed's defaults, what differs from the notebook */
    /* model defaults */
    const char *cell;
    long long hidden, layers, embed;
    int bidirectional;
    const char *attention; /* "additive", "dot", "none" */
    int per_step;
    /* training defaults */
    long long epochs, batch;
    double lr;
    const char *optimizer;
    double dropout;
    int loss; /* recur_loss_kind */
    int eval; /* eval_kind */
    /* make the data; on error returns non-zero after recur_set_error */
    int (*make)(const task_params *p, task_data *out);
} task_def;

const task_def *task_find(const char *name);
const task_def *task_list(size_t *n);

/* The chars task's vocabulary: decode UTF-8 text into code points (errors name the byte offset). */
int utf8_decode(const char *path, const char *s, size_t n, uint32_t **cps, size_t *ncp);
/* Encode one code point; returns bytes written (<= 4) to out. */
int utf8_encode(uint32_t cp, char *out);
/* A printable form of a character for display ("\\n", "\\t", or the character). */
void char_display(uint32_t cp, char *out, size_t size);

#endif
