/* The training loop of `recur train`: epochs of shuffled mini-batches, validation metrics, checkpoints,
 * the final test report, attention display, --trace, --json and --plot. */
#ifndef RECUR_CLI_TRAINER_H
#define RECUR_CLI_TRAINER_H

#include <stdio.h>

#include "recur/model.h"
#include "tasks.h"

typedef struct train_setup {
    const char *verb; /* for messages: "train" */
    const char *name; /* task name (JSON "task") */
    cli_data *train, *val, *test; /* val and test may be empty (N = 0) */
    int eval;                     /* eval_kind */
    recur_loss_config loss;
    size_t num_classes;           /* confusion matrix size (EVAL_CLASSES, EVAL_BINARY) */
    const char *const *class_names; /* or NULL */
    char *const *token_names;       /* or NULL; vocab entries */
    long long epochs, batch;
    int shuffle;
    uint64_t seed;
    int json, trace;
    const char *plot_dir; /* or NULL */
    const char *save_path; /* or NULL: no checkpoint */
    const recur_meta_entry *meta; /* extra metadata for the checkpoint */
    size_t nmeta;
    FILE *out; /* human-readable lines: stdout, or stderr with --json */
} train_setup;

/* Returns the exit status: 0, or 1 after printing one line naming the problem. */
int trainer_run(recur_model *m, recur_optim *o, const train_setup *s);

#endif
