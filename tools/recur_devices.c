/* `recur devices`: every backend found, its version and path, its devices, and why any were skipped. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *kind_name(uint32_t kind) {
    return kind == RECUR_DEVICE_GPU ? "gpu" : kind == RECUR_DEVICE_ACCELERATOR ? "accelerator" : "cpu";
}

static void show(const char *name, const char *path, recur_backend *b, int status, const char *message, void *user) {
    int *count = user;
    if (!b) {
        printf("%-8s skipped: %s\n         (%s)\n", name, message, recur_strerror(status));
        return;
    }
    printf("%-8s %s  ABI 1.%u  %s\n         %s\n", recur_backend_name(b), recur_backend_version(b),
           recur_backend_abi_minor(b), recur_backend_path(b), recur_backend_description(b));
    int n = recur_backend_device_count(b);
    if (n == 0) printf("         no devices: %s\n", message);
    for (int i = 0; i < n; i++) {
        recur_device_info info;
        if (recur_backend_device_info(b, i, &info) != RECUR_OK) {
            printf("  [%d] (cannot describe: %s)\n", i, recur_last_error());
            continue;
        }
        printf("  [%d] %s\n      vendor %s, %s%s%s, driver %s, %u compute units, %.1f GiB, memory %s\n", i,
               info.name, info.vendor, kind_name(info.kind), info.platform[0] ? ", platform " : "", info.platform,
               info.driver[0] ? info.driver : "-", info.compute_units,
               (double)info.memory_bytes / (1024.0 * 1024.0 * 1024.0),
               info.host_addressable ? "host-addressable" : "on the device");
        (*count)++;
    }
    (void)path;
    recur_backend_unload(b);
}

int cli_devices(int argc, char **argv) {
    (void)argc;
    (void)argv;
    const char *dirs[32];
    int nd = recur_backend_search_dirs(dirs, 32);
    printf("backend folders searched:");
    for (int i = 0; i < nd; i++) printf(" %s", dirs[i]);
    printf("\n\n");
    int count = 0;
    recur_backend_discover(show, &count);
    printf("\n%d device%s usable. Choose with RECUR_BACKEND=name|path|auto and RECUR_DEVICE=index|name.\n", count,
           count == 1 ? "" : "s");
    return count > 0 ? 0 : 1;
}
