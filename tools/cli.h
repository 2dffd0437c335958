/* The `recur` command-line tool: one file per verb. */
#ifndef RECUR_CLI_H
#define RECUR_CLI_H

#include "recur/recur.h"

int cli_devices(int argc, char **argv);
int cli_demo(int argc, char **argv);
int cli_train(int argc, char **argv);  /* recur_train.c */
int cli_infer(int argc, char **argv);  /* recur_infer.c */
int cli_sample(int argc, char **argv); /* recur_sample.c */
int cli_bench(int argc, char **argv);  /* bench/bench_main.c */

/* Print the last error as "recur: <what>: <message>" to stderr and return exit code 1. */
int cli_fail(const char *what, int status);

#endif
