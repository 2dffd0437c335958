/*
 * Program building with an on-disk cache of program binaries.
 *
 * Key: a 128-bit hash (two FNV-1a 64 streams) of the cache format version, the program source, the build
 * options, the platform name, the device name and the driver version. File: <dir>/ocl-<key>.bin with a
 * header (magic, format, key, payload size, payload checksum) and the binary. Entries are written to a
 * temporary file and renamed into place, so a reader never sees a half-written file. An entry whose header,
 * size or checksum does not match, or which the driver refuses (clCreateProgramWithBinary or clBuildProgram
 * fails), is rebuilt from source and overwritten: the cache is never trusted over the source.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "ocl_internal.h"

#define CACHE_FORMAT 1u
static const char cache_magic[8] = {'R', 'E', 'C', 'U', 'R', 'O', 'C', 'L'};

typedef struct cache_header {
    char magic[8];
    uint32_t format;
    uint32_t reserved;
    uint64_t key[2];
    uint64_t size;
    uint64_t checksum;
} cache_header;

typedef struct hash128 {
    uint64_t a, b;
} hash128;

static void fnv(hash128 *h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h->a = (h->a ^ p[i]) * 0x100000001b3ULL;
        h->b = (h->b ^ p[i]) * 0x100000001b3ULL;
    }
}

/* Length-prefixed field, so that ("ab", "c") and ("a", "bc") hash differently. */
static void fnv_field(hash128 *h, const void *data, size_t n) {
    uint64_t len = n;
    fnv(h, &len, sizeof len);
    fnv(h, data, n);
}

static uint64_t checksum64(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static void device_string(cl_device_id dev, cl_device_info what, char *out, size_t size) {
    out[0] = 0;
    if (clGetDeviceInfo(dev, what, size - 1, out, NULL) != CL_SUCCESS) out[0] = 0;
    out[size - 1] = 0;
}

void ocl_cache_dir(char *out, size_t size) {
    const char *(*get)(const char *) = ocl_svc && ocl_svc->getenv ? ocl_svc->getenv : NULL;
    const char *v = get ? get("RECUR_CACHE_DIR") : NULL;
    out[0] = 0;
    if (v && *v) {
        snprintf(out, size, "%s", v);
        return;
    }
    v = get ? get("XDG_CACHE_HOME") : NULL;
    if (v && *v) {
        snprintf(out, size, "%s/recur", v);
        return;
    }
    v = get ? get("HOME") : NULL;
    if (v && *v) snprintf(out, size, "%s/.cache/recur", v);
}

/* mkdir -p, mode 0700 for what it creates. */
static int make_dirs(const char *path) {
    char tmp[1024];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) return -1;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return -1;
    return 0;
}

static hash128 cache_key(ocl_dev *d, const char *source, size_t source_len, const char *options) {
    char platform[256], name[256], driver[256];
    platform[0] = 0;
    if (clGetPlatformInfo(d->platform, CL_PLATFORM_NAME, sizeof platform - 1, platform, NULL) != CL_SUCCESS)
        platform[0] = 0;
    platform[sizeof platform - 1] = 0;
    device_string(d->device, CL_DEVICE_NAME, name, sizeof name);
    device_string(d->device, CL_DRIVER_VERSION, driver, sizeof driver);
    hash128 h = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL};
    uint32_t format = CACHE_FORMAT;
    fnv_field(&h, &format, sizeof format);
    fnv_field(&h, source, source_len);
    fnv_field(&h, options, strlen(options));
    fnv_field(&h, platform, strlen(platform));
    fnv_field(&h, name, strlen(name));
    fnv_field(&h, driver, strlen(driver));
    return h;
}

static void cache_path(ocl_dev *d, hash128 key, char *out, size_t size) {
    snprintf(out, size, "%s/ocl-%016llx%016llx.bin", d->cache_dir, (unsigned long long)key.a,
             (unsigned long long)key.b);
}

/* Read and check an entry; returns a malloc'ed binary and its size, or NULL. */
static unsigned char *cache_load(const char *path, hash128 key, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    cache_header hd;
    unsigned char *bin = NULL;
    if (fread(&hd, sizeof hd, 1, f) != 1 || memcmp(hd.magic, cache_magic, sizeof cache_magic) != 0 ||
        hd.format != CACHE_FORMAT || hd.key[0] != key.a || hd.key[1] != key.b || hd.size == 0 ||
        hd.size > ((uint64_t)1 << 31))
        goto bad;
    bin = malloc((size_t)hd.size);
    if (!bin || fread(bin, 1, (size_t)hd.size, f) != (size_t)hd.size || fgetc(f) != EOF ||
        checksum64(bin, (size_t)hd.size) != hd.checksum)
        goto bad;
    fclose(f);
    *size = (size_t)hd.size;
    return bin;
bad:
    OCL_LOG(RECUR_LOG_INFO, "opencl: cache entry %s is stale or corrupt; rebuilding it from source", path);
    free(bin);
    fclose(f);
    return NULL;
}

static void cache_store(const char *path, hash128 key, const unsigned char *bin, size_t size) {
    static unsigned counter;
    char tmp[1280];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(), counter++);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        OCL_LOG(RECUR_LOG_DEBUG, "opencl: cannot write cache entry %s: %s", tmp, strerror(errno));
        return;
    }
    cache_header hd;
    memset(&hd, 0, sizeof hd);
    memcpy(hd.magic, cache_magic, sizeof cache_magic);
    hd.format = CACHE_FORMAT;
    hd.key[0] = key.a;
    hd.key[1] = key.b;
    hd.size = size;
    hd.checksum = checksum64(bin, size);
    int ok = fwrite(&hd, sizeof hd, 1, f) == 1 && fwrite(bin, 1, size, f) == size;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        OCL_LOG(RECUR_LOG_DEBUG, "opencl: cannot write cache entry %s: %s", path, strerror(errno));
        remove(tmp);
    }
}

static char *build_log(ocl_dev *d, cl_program p) {
    size_t n = 0;
    if (clGetProgramBuildInfo(p, d->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) != CL_SUCCESS) n = 0;
    char *log = malloc(n + 1);
    if (!log) return NULL;
    log[0] = 0;
    if (n && clGetProgramBuildInfo(p, d->device, CL_PROGRAM_BUILD_LOG, n, log, NULL) != CL_SUCCESS) log[0] = 0;
    log[n] = 0;
    return log;
}

/* The program's binary for our one device (malloc'ed), or NULL. */
static unsigned char *program_binary(cl_program p, size_t *size) {
    size_t n = 0;
    if (clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof n, &n, NULL) != CL_SUCCESS || n == 0) return NULL;
    unsigned char *bin = malloc(n);
    if (!bin) return NULL;
    unsigned char *ptrs[1] = {bin};
    if (clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof ptrs, ptrs, NULL) != CL_SUCCESS) {
        free(bin);
        return NULL;
    }
    *size = n;
    return bin;
}

int ocl_build_program(ocl_dev *d, const char *label, const char *source, size_t source_len, const char *options,
                      cl_program *out) {
    *out = NULL;
    hash128 key = {0, 0};
    char path[1200] = "";
    const int use_cache = d->cache_dir[0] != 0;
    cl_int e;
    if (use_cache) {
        key = cache_key(d, source, source_len, options);
        cache_path(d, key, path, sizeof path);
        size_t size = 0;
        unsigned char *bin = cache_load(path, key, &size);
        if (bin) {
            const unsigned char *bins[1] = {bin};
            cl_int bin_status = CL_SUCCESS;
            cl_program p = clCreateProgramWithBinary(d->ctx, 1, &d->device, &size, bins, &bin_status, &e);
            free(bin);
            if (p && e == CL_SUCCESS && bin_status == CL_SUCCESS) {
                e = clBuildProgram(p, 1, &d->device, options, NULL, NULL);
                if (e == CL_SUCCESS) {
                    d->cache_hits++;
                    *out = p;
                    return RECUR_OK;
                }
            }
            if (p) clReleaseProgram(p);
            OCL_LOG(RECUR_LOG_INFO, "opencl: cached binary %s was refused by the driver (%s); rebuilding it",
                    path, ocl_cl_name(e != CL_SUCCESS ? e : bin_status));
        }
    }
    d->cache_misses++;
    const char *srcs[1] = {source};
    cl_program p = clCreateProgramWithSource(d->ctx, 1, srcs, &source_len, &e);
    if (!p) return ocl_cl_fail(label, "clCreateProgramWithSource", e);
    e = clBuildProgram(p, 1, &d->device, options, NULL, NULL);
    if (e != CL_SUCCESS) {
        char *log = build_log(d, p);
        int st = ocl_error(RECUR_E_OPENCL_BUILD, "opencl: building program '%s' (options '%s') for %s failed: %s "
                           "(%d); build log:\n%s", label, options, d->name, ocl_cl_name(e), (int)e,
                           log && log[0] ? log : "(empty)");
        free(log);
        clReleaseProgram(p);
        return st;
    }
    if (use_cache) {
        size_t size = 0;
        unsigned char *bin = program_binary(p, &size);
        if (!bin) {
            OCL_LOG(RECUR_LOG_DEBUG, "opencl: program '%s' not cached: the driver gives no binary", label);
        } else if (make_dirs(d->cache_dir) != 0) {
            if (!d->cache_warned)
                OCL_LOG(RECUR_LOG_INFO, "opencl: cannot create the kernel cache folder %s (%s): programs will be "
                        "compiled again by every process (set RECUR_CACHE_DIR)", d->cache_dir, strerror(errno));
            d->cache_warned = 1;
        } else {
            cache_store(path, key, bin, size);
        }
        free(bin);
    }
    *out = p;
    return RECUR_OK;
}
