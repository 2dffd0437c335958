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
    if (!strcmp(verb, "version")) {
        printf("recur %s (ABI %d.%d)\n", RECUR_VERSION_STRING, RECUR_ABI_MAJOR, RECUR_ABI_MINOR);
        return 0;
    }
    if (!strcmp(verb, "help") || !strcmp(verb, "--help") || !strcmp(verb, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "recur: unknown verb '%s'\n", verb);
    usage(stderr);
    return 2;
}
