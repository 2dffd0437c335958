/*
 * The opencl backend: entry point, probe, device description, device open/close, options and extras.
 *
 * Devices are numbered across platforms in the order the ICD loader lists them. device_open creates a
 * context and one in-order queue, then builds the kernel programs (through the binary cache of
 * ocl_cache.c) and creates every kernel once.
 */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl_internal.h" /* first: it fixes CL_TARGET_OPENCL_VERSION before any OpenCL header */

#include <clblast_c.h>

#include "ocl_kernels_src.h" /* generated from the .cl files in kernels/ */

#define MAX_DEVICES 64

static struct {
    int count;
    cl_platform_id platform[MAX_DEVICES];
    cl_device_id device[MAX_DEVICES];
} devs;

static int open_devices; /* CLBlast's kernel cache is cleared when the last device closes */

/* List every device of every platform. Returns the count, or 0 with a reason. */
static int enumerate(char *reason, size_t reason_size) {
    cl_uint np = 0;
    cl_int e = clGetPlatformIDs(0, NULL, &np);
    devs.count = 0;
    if (e != CL_SUCCESS || np == 0) {
        if (reason)
            snprintf(reason, reason_size, "no OpenCL platform found (clGetPlatformIDs: %s); is an ICD installed "
                     "under /etc/OpenCL/vendors?", e == CL_SUCCESS ? "0 platforms" : ocl_cl_name(e));
        return 0;
    }
    cl_platform_id plats[16];
    if (np > 16) np = 16;
    if ((e = clGetPlatformIDs(np, plats, NULL)) != CL_SUCCESS) {
        if (reason) snprintf(reason, reason_size, "clGetPlatformIDs failed: %s (%d)", ocl_cl_name(e), (int)e);
        return 0;
    }
    for (cl_uint p = 0; p < np && devs.count < MAX_DEVICES; p++) {
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || nd == 0) continue;
        if (nd > (cl_uint)(MAX_DEVICES - devs.count)) nd = (cl_uint)(MAX_DEVICES - devs.count);
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, devs.device + devs.count, NULL) != CL_SUCCESS) continue;
        for (cl_uint i = 0; i < nd; i++) devs.platform[devs.count + i] = plats[p];
        devs.count += (int)nd;
    }
    if (devs.count == 0 && reason)
        snprintf(reason, reason_size, "%u OpenCL platform%s found, but no device", np, np == 1 ? "" : "s");
    return devs.count;
}

static int ocl_probe(char *reason, size_t reason_size) {
    if (reason && reason_size) reason[0] = 0;
    return enumerate(reason, reason_size);
}

static int check_index(int index, const char *what) {
    if (devs.count == 0) enumerate(NULL, 0);
    if (index < 0 || index >= devs.count)
        return ocl_error(RECUR_E_NOTFOUND, "opencl: %s: device index %d out of range (%d device%s)", what, index,
                         devs.count, devs.count == 1 ? "" : "s");
    return RECUR_OK;
}

static void copy_info_string(cl_device_id dev, cl_device_info what, char *out, size_t size) {
    out[0] = 0;
    if (clGetDeviceInfo(dev, what, size - 1, out, NULL) != CL_SUCCESS) {
        /* Too long for the field: read it whole and truncate. */
        size_t n = 0;
        if (clGetDeviceInfo(dev, what, 0, NULL, &n) == CL_SUCCESS && n) {
            char *tmp = malloc(n + 1);
            if (tmp && clGetDeviceInfo(dev, what, n, tmp, NULL) == CL_SUCCESS) {
                tmp[n] = 0;
                snprintf(out, size, "%s", tmp);
            }
            free(tmp);
        }
    }
    out[size - 1] = 0;
}

static int ocl_device_info(int index, recur_device_info *info) {
    int st = check_index(index, "device_info");
    if (st) return st;
    cl_device_id dev = devs.device[index];
    copy_info_string(dev, CL_DEVICE_NAME, info->name, sizeof info->name);
    copy_info_string(dev, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    copy_info_string(dev, CL_DRIVER_VERSION, info->driver, sizeof info->driver);
    info->platform[0] = 0;
    char plat[256] = "";
    if (clGetPlatformInfo(devs.platform[index], CL_PLATFORM_NAME, sizeof plat - 1, plat, NULL) == CL_SUCCESS)
        snprintf(info->platform, sizeof info->platform, "%.*s", (int)sizeof info->platform - 1, plat);
    cl_device_type type = 0;
    cl_ulong mem = 0;
    cl_uint cus = 0;
    clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL);
    info->kind = (type & CL_DEVICE_TYPE_GPU)   ? RECUR_DEVICE_GPU
                 : (type & CL_DEVICE_TYPE_CPU) ? RECUR_DEVICE_CPU
                                               : RECUR_DEVICE_ACCELERATOR;
    info->memory_bytes = mem;
    info->compute_units = cus;
    info->host_addressable = 0;
    return RECUR_OK;
}

/* ---- programs ---- */

typedef struct program_src {
    const char *label;
    const char *text;
    size_t len;
} program_src;

#define SRC(label, bytes) ((program_src){label, (const char *)(bytes), sizeof(bytes) - 1})

static program_src family_source(int prog) {
    switch (prog) {
    case P_ELEMENTWISE: return SRC("elementwise", ocl_cl_elementwise);
    case P_REDUCE: return SRC("reduce", ocl_cl_reduce);
    case P_CELLS: return SRC("cells", ocl_cl_cells);
    case P_LOSS: return SRC("loss", ocl_cl_loss);
    case P_OPTIM: return SRC("optim", ocl_cl_optim);
    default: return SRC("gemm", ocl_cl_gemm);
    }
}
#undef SRC

static const struct {
    const char *name;
    int prog;
} kernel_table[K_COUNT] = {
#define OCL_KERNEL_ROW(id, name, prog) {name, prog},
    OCL_KERNELS(OCL_KERNEL_ROW)
#undef OCL_KERNEL_ROW
};

static void build_options(ocl_dev *d, char *out, size_t size) {
    cl_device_fp_config fp = 0;
    clGetDeviceInfo(d->device, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL);
    /* Correctly rounded division and sqrt where the device offers them: closer to the reference. */
    snprintf(out, size, "-cl-std=CL1.2%s",
             (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) ? " -cl-fp32-correctly-rounded-divide-sqrt" : "");
}

/* Build program `prog` (common.cl + its family) and create its kernels. */
static int build_family(ocl_dev *d, int prog) {
    if (d->prog[prog]) return RECUR_OK;
    program_src fam = family_source(prog);
    /* common.cl, then the family, each under a #line directive so that build logs name the right file */
    const size_t common_len = sizeof ocl_cl_common - 1;
    char head[64], mid[64];
    const int hl = snprintf(head, sizeof head, "#line 1 \"common.cl\"\n");
    const int ml = snprintf(mid, sizeof mid, "\n#line 1 \"%s.cl\"\n", fam.label);
    const size_t len = (size_t)hl + common_len + (size_t)ml + fam.len;
    char *src = malloc(len + 1);
    if (!src) return ocl_error(RECUR_E_NOMEM, "opencl: out of host memory building '%s'", fam.label);
    size_t at = 0;
    memcpy(src + at, head, (size_t)hl), at += (size_t)hl;
    memcpy(src + at, ocl_cl_common, common_len), at += common_len;
    memcpy(src + at, mid, (size_t)ml), at += (size_t)ml;
    memcpy(src + at, fam.text, fam.len), at += fam.len;
    src[at] = 0;
    char options[256];
    build_options(d, options, sizeof options);
    int st = ocl_build_program(d, fam.label, src, len, options, &d->prog[prog]);
    free(src);
    if (st) return st;
    for (int k = 0; k < K_COUNT; k++) {
        if (kernel_table[k].prog != prog) continue;
        cl_int e;
        d->kern[k] = clCreateKernel(d->prog[prog], kernel_table[k].name, &e);
        if (!d->kern[k]) {
            char what[128];
            snprintf(what, sizeof what, "creating kernel %s", kernel_table[k].name);
            return ocl_cl_fail(what, "clCreateKernel", e);
        }
        size_t wg = 0;
        if (clGetKernelWorkGroupInfo(d->kern[k], d->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg, NULL) !=
                CL_SUCCESS || wg == 0)
            wg = 64;
        if (wg > d->max_item[0]) wg = d->max_item[0];
        if (wg > d->local_cap) wg = d->local_cap;
        d->lws[k] = wg;
    }
    return RECUR_OK;
}

int ocl_ensure_gemm_program(ocl_dev *d) { return build_family(d, P_GEMM); }

/* Row kernels (softmax, cross-entropy): "item" (one work-item per row, explicit SIMD over columns: fast on
 * CPU drivers) or "group" (one work-group per row, tree reductions: GPUs); NULL or "auto" by device type. */
static int choose_row_kernels(ocl_dev *d, const char *v) {
    if (!v || !*v || !strcmp(v, "auto")) d->row_per_item = d->is_cpu;
    else if (!strcmp(v, "item")) d->row_per_item = 1;
    else if (!strcmp(v, "group")) d->row_per_item = 0;
    else return ocl_error(RECUR_E_INVALID, "opencl: option rows: '%s' is not item, group or auto", v);
    return RECUR_OK;
}

static void ocl_device_close(void *dev) {
    ocl_dev *d = dev;
    if (!d) return;
    if (d->queue) clFinish(d->queue);
    for (int k = 0; k < K_COUNT; k++)
        if (d->kern[k]) clReleaseKernel(d->kern[k]);
    for (int p = 0; p < P_COUNT; p++)
        if (d->prog[p]) clReleaseProgram(d->prog[p]);
    if (d->scratch) clReleaseMemObject(d->scratch);
    if (d->gemm_tmp) clReleaseMemObject(d->gemm_tmp);
    if (d->dummy) clReleaseMemObject(d->dummy);
    if (d->queue) clReleaseCommandQueue(d->queue);
    if (d->ctx) clReleaseContext(d->ctx);
    free(d);
    /* CLBlast keeps compiled programs per context in a process-wide cache; drop them with the last device. */
    if (open_devices > 0 && --open_devices == 0) CLBlastClearCache();
}

static int ocl_device_open(int index, void **out) {
    *out = NULL;
    int st = check_index(index, "device_open");
    if (st) return st;
    const double t0 = ocl_now_ms();
    ocl_dev *d = calloc(1, sizeof *d);
    if (!d) return ocl_error(RECUR_E_NOMEM, "opencl: out of host memory");
    open_devices++; /* balanced by ocl_device_close, also on the failure paths below */
    d->index = index;
    d->platform = devs.platform[index];
    d->device = devs.device[index];
    copy_info_string(d->device, CL_DEVICE_NAME, d->name, sizeof d->name);
    cl_device_type type = 0;
    clGetDeviceInfo(d->device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    d->is_cpu = (type & CL_DEVICE_TYPE_CPU) != 0;
    clGetDeviceInfo(d->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof d->compute_units, &d->compute_units, NULL);
    if (d->compute_units == 0) d->compute_units = 1;
    size_t items[3] = {1, 1, 1};
    clGetDeviceInfo(d->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof items, items, NULL);
    for (int i = 0; i < 3; i++) d->max_item[i] = items[i] ? items[i] : 1;
    /* Local size cap, 256 by default; RECUR_OPENCL_LOCAL lowers it (a testing knob: every kernel must give
     * the same results with any local size, down to 1). */
    d->local_cap = 256;
    const char *cap = ocl_svc && ocl_svc->getenv ? ocl_svc->getenv("RECUR_OPENCL_LOCAL") : NULL;
    if (cap && atoi(cap) >= 1 && atoi(cap) < 256) d->local_cap = (size_t)atoi(cap);
    /* row-per-group kernels (softmax, cross-entropy) loop over rows beyond this many groups */
    d->max_groups = (size_t)d->compute_units * 1024;

    cl_int e;
    cl_context_properties props[3] = {CL_CONTEXT_PLATFORM, (cl_context_properties)d->platform, 0};
    d->ctx = clCreateContext(props, 1, &d->device, NULL, NULL, &e);
    if (!d->ctx) {
        st = ocl_cl_fail("device_open", "clCreateContext", e);
        goto fail;
    }
    d->queue = clCreateCommandQueue(d->ctx, d->device, 0, &e);
    if (!d->queue) {
        st = ocl_cl_fail("device_open", "clCreateCommandQueue", e);
        goto fail;
    }
    d->dummy = clCreateBuffer(d->ctx, CL_MEM_READ_WRITE, 64, NULL, &e);
    if (!d->dummy) {
        st = ocl_cl_fail("device_open", "clCreateBuffer", e);
        goto fail;
    }
    ocl_cache_dir(d->cache_dir, sizeof d->cache_dir);
    ocl_gemm_choose(d);
    const char *rows = ocl_svc && ocl_svc->getenv ? ocl_svc->getenv("RECUR_OPENCL_ROWS") : NULL;
    if (choose_row_kernels(d, rows) != RECUR_OK) {
        OCL_LOG(RECUR_LOG_WARN, "opencl: RECUR_OPENCL_ROWS=%s ignored (item, group or auto)", rows);
        choose_row_kernels(d, NULL);
    }
    for (int p = 0; p < P_COUNT; p++) {
        if (p == P_GEMM && d->gemm_impl != OCL_GEMM_OWN) continue; /* built on first use */
        if ((st = build_family(d, p)) != RECUR_OK) goto fail;
    }
    d->startup_ms = ocl_now_ms() - t0;
    OCL_LOG(RECUR_LOG_INFO, "opencl: opened %s in %.1f ms (program cache %s: %d hit%s, %d built)", d->name,
            d->startup_ms, d->cache_dir[0] ? d->cache_dir : "off", d->cache_hits, d->cache_hits == 1 ? "" : "s",
            d->cache_misses);
    *out = d;
    return RECUR_OK;
fail:
    ocl_device_close(d);
    return st;
}

/* ---- options and extras ---- */

static int put(char *out, size_t size, const char *fmt, double v) {
    if (!out || size == 0) return ocl_error(RECUR_E_INVALID, "opencl: get_option: no output buffer");
    snprintf(out, size, fmt, v);
    return RECUR_OK;
}

static int ocl_get_option(void *dev, const char *key, char *out, size_t size) {
    ocl_dev *d = dev;
    if (!d || !key) return ocl_error(RECUR_E_INVALID, "opencl: get_option: NULL device or key");
    if (!out || size == 0) return ocl_error(RECUR_E_INVALID, "opencl: get_option('%s'): no output buffer", key);
    if (!strcmp(key, "cache_dir")) {
        snprintf(out, size, "%s", d->cache_dir);
        return RECUR_OK;
    }
    if (!strcmp(key, "startup_ms")) return put(out, size, "%.3f", d->startup_ms);
    if (!strcmp(key, "warmup_ms")) return put(out, size, "%.3f", d->warmup_ms);
    if (!strcmp(key, "cache_hits")) return put(out, size, "%.0f", d->cache_hits);
    if (!strcmp(key, "cache_misses")) return put(out, size, "%.0f", d->cache_misses);
    if (!strcmp(key, "gemm")) {
        snprintf(out, size, "%s", d->gemm_impl == OCL_GEMM_OWN ? "own" : "clblast");
        return RECUR_OK;
    }
    if (!strcmp(key, "rows")) {
        snprintf(out, size, "%s", d->row_per_item ? "item" : "group");
        return RECUR_OK;
    }
    return ocl_error(RECUR_E_UNSUPPORTED, "opencl: unknown option '%s' (known: cache_dir, startup_ms, warmup_ms, "
                     "cache_hits, cache_misses, gemm, rows)", key);
}

static int ocl_set_option(void *dev, const char *key, const char *value) {
    ocl_dev *d = dev;
    if (!d || !key || !value) return ocl_error(RECUR_E_INVALID, "opencl: set_option: NULL argument");
    if (!strcmp(key, "gemm")) {
        if (!strcmp(value, "clblast")) {
            d->gemm_impl = OCL_GEMM_CLBLAST;
            return RECUR_OK;
        }
        if (!strcmp(value, "own")) {
            int st = ocl_ensure_gemm_program(d);
            if (st) return st;
            d->gemm_impl = OCL_GEMM_OWN;
            return RECUR_OK;
        }
        if (!strcmp(value, "auto")) {
            ocl_gemm_choose(d);
            return d->gemm_impl == OCL_GEMM_OWN ? ocl_ensure_gemm_program(d) : RECUR_OK;
        }
        return ocl_error(RECUR_E_INVALID, "opencl: option gemm: '%s' is not clblast, own or auto", value);
    }
    if (!strcmp(key, "rows")) return choose_row_kernels(d, value);
    if (!strcmp(key, "cache_dir") || !strcmp(key, "startup_ms") || !strcmp(key, "warmup_ms") ||
        !strcmp(key, "cache_hits") || !strcmp(key, "cache_misses"))
        return ocl_error(RECUR_E_INVALID, "opencl: option '%s' is read-only (set RECUR_CACHE_DIR for the cache "
                         "folder)", key);
    return ocl_error(RECUR_E_UNSUPPORTED, "opencl: unknown option '%s' (settable: gemm, rows)", key);
}

int ocl_warmup(void *dev); /* ocl_warmup.c */

static void *ocl_get_proc(const char *name) {
    if (name && !strcmp(name, "warmup")) return (void *)ocl_warmup;
    if (name && !strcmp(name, "philox_u32")) return (void *)ocl_philox_u32;
    return NULL;
}

static void ocl_shutdown(void) {
    CLBlastClearCache();
    devs.count = 0;
    ocl_svc = NULL;
}

static const recur_backend_iface iface = {
    .abi_major = RECUR_ABI_MAJOR,
    .struct_size = sizeof(recur_backend_iface),
    .abi_minor = RECUR_ABI_MINOR,
    .name = "opencl",
    .version = OCL_VERSION,
    .description = "OpenCL 1.2 devices of any vendor (GEMM via CLBlast, other ops as own kernels)",
    .probe = ocl_probe,
    .device_info = ocl_device_info,
    .device_open = ocl_device_open,
    .device_close = ocl_device_close,
    .ops = &ocl_ops,
    .set_option = ocl_set_option,
    .get_option = ocl_get_option,
    .get_proc = ocl_get_proc,
    .shutdown = ocl_shutdown,
};

RECUR_BACKEND_EXPORT int recur_backend_entry(uint32_t host_abi_major, uint32_t host_abi_minor,
                                             const recur_services *services, const recur_backend_iface **out) {
    (void)host_abi_minor;
    if (!out) return RECUR_E_INVALID;
    *out = NULL;
    /* Keep the services only when their table covers the 1.0 methods we call. */
    const int services_ok = services && services->abi_major == RECUR_ABI_MAJOR &&
                            services->struct_size >= offsetof(recur_services, getenv) + sizeof services->getenv;
    if (host_abi_major != RECUR_ABI_MAJOR || !services_ok) {
        if (services_ok)
            services->set_error(RECUR_E_ABI, "opencl: host ABI %u.x, this plugin was built for %u.%u",
                                host_abi_major, RECUR_ABI_MAJOR, RECUR_ABI_MINOR);
        return RECUR_E_ABI;
    }
    ocl_svc = services;
    *out = &iface;
    return RECUR_OK;
}
