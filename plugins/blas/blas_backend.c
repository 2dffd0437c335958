/*
 * The `blas` backend: a recur plugin built outside the recur tree, against the installed SDK only.
 *
 * This file is the part every backend has: the entry symbol, probe, the device, memory and the queue,
 * and options. blas_ops.c holds the compute ops. docs/plugins.md walks through both.
 *
 *   device      one: the CPU, through the system's CBLAS (OpenBLAS on Debian: libopenblas-dev)
 *   memory      host memory, 64-byte aligned; host_addressable = 1, so empty op slots run on the host's
 *               reference kernels
 *   queue       synchronous: each op is done when it returns, so sync has nothing to wait for
 *   options     "threads" (get/set: OpenBLAS's thread count, process-wide; "0" or "default" restores
 *               the count OpenBLAS started with), "library" (get: the BLAS library's build line)
 *   environment RECUR_BLAS_DISABLE=1 makes probe report no device (shows how a backend says "skip me")
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blas_internal.h"

#define BLAS_BACKEND_VERSION "0.1.0"

const recur_services *blas_svc;
static int default_threads; /* OpenBLAS's own choice, read at entry; 0 when the library has no control */

/* ---- memory and queue --------------------------------------------------------------------------------- */

static int b_alloc(void *dev, size_t bytes, recur_buf **out) {
    *out = NULL;
    size_t rounded = bytes ? bytes : 1;
    if (rounded > SIZE_MAX - (BLAS_ALIGN - 1))
        return blas_svc->set_error(RECUR_E_NOMEM, "blas: cannot allocate %zu bytes (too large)", bytes);
    rounded = (rounded + BLAS_ALIGN - 1) / BLAS_ALIGN * BLAS_ALIGN; /* aligned_alloc wants a multiple */
    recur_buf *b = malloc(sizeof *b);
    float *data = aligned_alloc(BLAS_ALIGN, rounded);
    if (!b || !data) {
        free(b);
        free(data);
        return blas_svc->set_error(RECUR_E_NOMEM, "blas: out of host memory allocating %zu bytes", bytes);
    }
    b->data = data;
    b->elems = bytes / sizeof(float);
    *out = b;
    return RECUR_OK;
}

static void b_free(void *dev, recur_buf *b) {
    if (!b) return;
    free(b->data); /* the queue is synchronous: nothing can still be using it */
    free(b);
}

static void *b_host_ptr(void *dev, recur_buf *b) { return b ? b->data : NULL; }

/* Transfers check their range: a wrong offset here is a host bug worth a clear message, not a crash. */
static int check_range(const char *what, recur_ptr p, size_t n) {
    if (!p.buf) return blas_svc->set_error(RECUR_E_INVALID, "blas: %s: no buffer given", what);
    if (p.off > p.buf->elems || n > p.buf->elems - p.off)
        return blas_svc->set_error(RECUR_E_INVALID, "blas: %s of %zu elements at offset %zu overruns a buffer "
                                   "of %zu elements", what, n, p.off, p.buf->elems);
    return RECUR_OK;
}

static int b_write(void *dev, recur_ptr dst, const void *src, size_t n) {
    int st = check_range("write", dst, n);
    if (st) return st;
    if (n) memcpy(dst.buf->data + dst.off, src, n * sizeof(float));
    return RECUR_OK;
}

static int b_read(void *dev, void *dst, recur_ptr src, size_t n) {
    int st = check_range("read", src, n);
    if (st) return st;
    if (n) memcpy(dst, src.buf->data + src.off, n * sizeof(float));
    return RECUR_OK;
}

static int b_sync(void *dev) { return RECUR_OK; }

/* The table. Slots not named stay NULL: the host runs the reference kernel there (and `recur-conform`
 * lists them as fallbacks). */
const recur_ops blas_ops = {
    .abi_major = RECUR_ABI_MAJOR,
    .struct_size = sizeof(recur_ops),
    .buf_alloc = b_alloc,
    .buf_free = b_free,
    .host_ptr = b_host_ptr,
    .write = b_write,
    .read = b_read,
    .sync = b_sync,
    .fill = blas_fill,
    .copy = blas_copy,
    .scale = blas_scale,
    .axpy = blas_axpy,
    .gemm = blas_gemm,
};

/* ---- devices ---------------------------------------------------------------------------------------------- */

static int b_probe(char *reason, size_t reason_size) {
    const char *off = blas_svc->getenv("RECUR_BLAS_DISABLE");
    if (off && *off && strcmp(off, "0") != 0) {
        snprintf(reason, reason_size, "disabled by RECUR_BLAS_DISABLE=%s", off);
        return 0;
    }
    return 1;
}

/* The CPU's model name from /proc/cpuinfo, or "CPU". */
static void cpu_name(char *out, size_t size, char *vendor, size_t vendor_size) {
    snprintf(out, size, "CPU");
    snprintf(vendor, vendor_size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    int got_name = 0, got_vendor = 0;
    while ((!got_name || !got_vendor) && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t') value++;
        value[strcspn(value, "\n")] = '\0';
        if (!got_name && !strncmp(line, "model name", 10)) {
            snprintf(out, size, "%s", value);
            got_name = 1;
        } else if (!got_vendor && !strncmp(line, "vendor_id", 9)) {
            snprintf(vendor, vendor_size, "%s", value);
            got_vendor = 1;
        }
    }
    fclose(f);
}

static int b_device_info(int index, recur_device_info *info) {
    if (index != 0)
        return blas_svc->set_error(RECUR_E_NOTFOUND, "blas: device %d does not exist (there is one, 0)", index);
    /* Fill a full local copy, then hand over only what the caller's struct_size covers, so that a host
     * with a smaller (older) struct is never written past its end. */
    recur_device_info full;
    memset(&full, 0, sizeof full);
    cpu_name(full.name, sizeof full.name, full.vendor, sizeof full.vendor);
    blas_library_short(full.driver, sizeof full.driver);
    snprintf(full.platform, sizeof full.platform, "cblas");
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    full.memory_bytes = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    full.compute_units = cpus > 0 ? (uint32_t)cpus : 1;
    full.kind = RECUR_DEVICE_CPU;
    full.host_addressable = 1;
    const size_t header = offsetof(recur_device_info, name);
    size_t size = info->struct_size < sizeof full ? info->struct_size : sizeof full;
    if (size > header) memcpy((char *)info + header, (const char *)&full + header, size - header);
    return RECUR_OK;
}

static int b_device_open(int index, void **dev) {
    *dev = NULL;
    if (index != 0)
        return blas_svc->set_error(RECUR_E_NOTFOUND, "blas: device %d does not exist (there is one, 0)", index);
    blas_device *d = calloc(1, sizeof *d);
    if (!d) return blas_svc->set_error(RECUR_E_NOMEM, "blas: out of memory opening the device");
    d->index = index;
    *dev = d;
    return RECUR_OK;
}

static void b_device_close(void *dev) { free(dev); }

/* ---- options ------------------------------------------------------------------------------------------------ */

static int b_set_option(void *dev, const char *key, const char *value) {
    if (!strcmp(key, "threads")) {
        if (!blas_threads_available())
            return blas_svc->set_error(RECUR_E_UNSUPPORTED, "blas: option 'threads': this BLAS library has no "
                                       "thread control (the plugin was built without OpenBLAS)");
        if (!value || !strcmp(value, "default") || !strcmp(value, "0")) {
            blas_set_threads(default_threads);
            return RECUR_OK;
        }
        char *end;
        errno = 0;
        long n = strtol(value, &end, 10);
        if (errno || end == value || *end || n < 1 || n > 4096)
            return blas_svc->set_error(RECUR_E_INVALID, "blas: option 'threads': '%s' is not a thread count "
                                       "(a number from 1 to 4096, or 0 / default)", value);
        blas_set_threads((int)n);
        return RECUR_OK;
    }
    if (!strcmp(key, "library"))
        return blas_svc->set_error(RECUR_E_INVALID, "blas: option 'library' is read-only");
    return blas_svc->set_error(RECUR_E_UNSUPPORTED, "blas: unknown option '%s' (options: threads, library)", key);
}

static int b_get_option(void *dev, const char *key, char *out, size_t out_size) {
    char value[256];
    if (!strcmp(key, "threads")) {
        if (!blas_threads_available())
            return blas_svc->set_error(RECUR_E_UNSUPPORTED, "blas: option 'threads': this BLAS library has no "
                                       "thread control (the plugin was built without OpenBLAS)");
        snprintf(value, sizeof value, "%d", blas_get_threads());
    } else if (!strcmp(key, "library")) {
        snprintf(value, sizeof value, "%s", blas_library_info());
    } else {
        return blas_svc->set_error(RECUR_E_UNSUPPORTED, "blas: unknown option '%s' (options: threads, library)",
                                   key);
    }
    if (!out || out_size <= strlen(value))
        return blas_svc->set_error(RECUR_E_INVALID, "blas: option '%s': value '%s' needs %zu bytes, got %zu", key,
                                   value, strlen(value) + 1, out ? out_size : 0);
    memcpy(out, value, strlen(value) + 1);
    return RECUR_OK;
}

static void b_shutdown(void) { blas_svc = NULL; }

/* ---- the entry symbol ------------------------------------------------------------------------------------- */

static const recur_backend_iface blas_iface = {
    .abi_major = RECUR_ABI_MAJOR,
    .struct_size = sizeof(recur_backend_iface),
    .abi_minor = RECUR_ABI_MINOR,
    .name = "blas",
    .version = BLAS_BACKEND_VERSION,
    .description = "CPU through the system CBLAS (OpenBLAS): gemm, fill, copy, scale, axpy native; "
                   "other ops on the reference kernels",
    .probe = b_probe,
    .device_info = b_device_info,
    .device_open = b_device_open,
    .device_close = b_device_close,
    .ops = &blas_ops,
    .set_option = b_set_option,
    .get_option = b_get_option,
    .get_proc = NULL,
    .shutdown = b_shutdown,
};

/* The only exported symbol (the SDK builds with hidden visibility; RECUR_BACKEND_EXPORT undoes it here). */
RECUR_BACKEND_EXPORT int recur_backend_entry(uint32_t host_abi_major, uint32_t host_abi_minor,
                                             const recur_services *services, const recur_backend_iface **out);

RECUR_BACKEND_EXPORT int recur_backend_entry(uint32_t host_abi_major, uint32_t host_abi_minor,
                                             const recur_services *services, const recur_backend_iface **out) {
    if (!services || !out) return RECUR_E_INVALID;
    *out = NULL;
    /* Under another major version even the services table may be laid out differently, so do not call
     * into it: RECUR_E_ABI alone makes the host refuse the file with an ABI-mismatch message. */
    if (host_abi_major != RECUR_ABI_MAJOR || services->abi_major != RECUR_ABI_MAJOR) return RECUR_E_ABI;
    if (services->struct_size < offsetof(recur_services, getenv) + sizeof services->getenv || !services->set_error ||
        !services->log || !services->getenv)
        return RECUR_E_ABI;
    blas_svc = services;
    /* A host of an older minor version never calls methods newer than its own: nothing to adapt here,
     * since this plugin uses only ABI 1.0. */
    (void)host_abi_minor;
    if (blas_threads_available() && default_threads == 0) default_threads = blas_get_threads();
    *out = &blas_iface;
    return RECUR_OK;
}
