/* recur: the command-line tool. Each verb lives in its own file. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_fail(const char *what, int status) {
    fprintf(stderr, "recur: %s failed: %s\n  (%s)\n", what, recur_last_error(), recur_strerror(status));
    return 1;
}

static void usage(FILE *f) {
    fprintf(f, "usage: recur VERB [options]\n"
               "  devices                 list backends, their devices, and why any were skipped\n"
               "  demo [--backend B] [--device D]\n"
               "                          run a small LSTM step, loss and Adam update through the ops\n"
               "  train TASK [flags]      train a seed task's model and save a checkpoint: magic, parity, sine,\n"
               "                          sentiment, bilstm, chars --text FILE (recur train --help)\n"
               "  train --data D --model M --save OUT\n"
               "                          train a model file on your data (safetensors: input, target, lengths)\n"
               "  infer --model M --input X --output Y\n"
               "                          one forward pass: logits, output, h_n, c_n, attention (recur infer --help)\n"
               "  sample --model M [--length N --temperature T --prime TEXT --seed N]\n"
               "                          generate text from a model trained by 'recur train chars'\n"
               "  version                 print the version\n"
               "Environment: RECUR_BACKEND (ref|cpu|opencl|auto|path.so), RECUR_DEVICE (index|name),\n"
               "             RECUR_BACKEND_PATH (extra plugin folders), RECUR_LOG (debug|info|warn|error)\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *verb = argv[1];
    if (!strcmp(verb, "devices")) return cli_devices(argc - 1, argv + 1);
    if (!strcmp(verb, "demo")) return cli_demo(argc - 1, argv + 1);
    if (!strcmp(verb, "train")) return cli_train(argc - 1, argv + 1);
    if (!strcmp(verb, "infer")) return cli_infer(argc - 1, argv + 1);
    if (!strcmp(verb, "sample")) return cli_sample(argc - 1, argv + 1);
    if (!strcmp(verb, "bench")) return cli_bench(argc - 1, argv + 1);
    if (!strcmp(verb, "version")) {
        printf("recur %s (ABI %d.%d)\n", RECUR_VERSION_STRING, RECUR_ABI_MAJOR, RECUR_ABI_MINOR);
        return 0;
    }
    if (!strcmp(verb, "help") || !strcmp(verb, "--help") || !strcmp(verb, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "recur: unknown verb '%s' (see recur help)\n", verb);
    return 2;
}
