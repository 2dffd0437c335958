/*
 * The cpu backend: entry symbol, probe, the device, memory and queue, options.
 *
 *   device      one: this machine's CPU (name from /proc/cpuinfo), kind CPU, host-addressable memory,
 *               compute units = online cores, memory = physical RAM
 *   memory      plain host buffers, 64-byte aligned
 *   queue       synchronous: an op runs on the calling thread and the pool and is done when it returns,
 *               so sync, read and buf_free have nothing to wait for
 *   threads     a persistent pool made at device_open: RECUR_NUM_THREADS, else the online cores
 *   options     threads (get/set; "0" or "default" restores the default), isa (get/set: avx512, avx2,
 *               generic, or auto; set only to one this CPU supports), spin_us (get/set: how long idle
 *               workers spin before sleeping), split_small (get/set 0/1: a testing knob that splits every
 *               op over all threads however small it is), version (get)
 *   environment RECUR_NUM_THREADS, RECUR_CPU_ISA (same values as the isa option), RECUR_CPU_SPIN_US,
 *               RECUR_CPU_SPLIT_SMALL=1
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpu_internal.h"

#define DEFAULT_SPIN_US 200
#define CPU_HUGE_MIN_BYTES ((size_t)4 << 20)
#define CPU_HUGE_ALIGN ((size_t)2 << 20)

const recur_services *cpu_svc;

int cpu_error(int status, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (cpu_svc && cpu_svc->set_error) return cpu_svc->set_error(status, "%s", msg);
    return status;
}

static void cpu_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cpu_log(int level, const char *fmt, ...) {
    if (!cpu_svc || !cpu_svc->log) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cpu_svc->log(level, "%s", msg);
}

static const char *env(const char *name) { return cpu_svc && cpu_svc->getenv ? cpu_svc->getenv(name) : NULL; }

/* ---- machine facts ---- */

static int online_cores(void) {
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)(n > CPU_MAX_THREADS ? CPU_MAX_THREADS : n) : 1;
}

/* The CPU's model name and vendor from /proc/cpuinfo (x86: "model name"; ARM: "Model" or "Hardware"). */
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
        if (!*value) continue;
        if (!got_name && (!strncmp(line, "model name", 10) || !strncmp(line, "Model\t", 6) ||
                          !strncmp(line, "Hardware", 8))) {
            snprintf(out, size, "%s", value);
            got_name = 1;
        } else if (!got_vendor && (!strncmp(line, "vendor_id", 9) || !strncmp(line, "CPU implementer", 15))) {
            snprintf(vendor, vendor_size, "%s", value);
            got_vendor = 1;
        }
    }
    fclose(f);
}

static int parse_int(const char *s, long lo, long hi, long *out) {
    if (!s || !*s) return 0;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

/* ---- memory and queue ---- */

/* Large buffers (a sequence's inputs, outputs, states and gates) get their own mapping, on a 2 MiB boundary
 * and rounded up to whole 2 MiB pieces, offered to the kernel as transparent huge pages: whole sequences
 * stream through them every forward and backward, and with 4 KiB pages every page costs a TLB walk and
 * stops the hardware prefetcher at its edge. Alternating runs against 4 KiB pages: infer.medium 0.6-2.7%
 * faster (21 of 26), train.medium 1.6% (4 of 4), infer.large 0-1.6% (3 of 4), seed001 even. Without the
 * rounding (only the whole pieces inside a buffer huge) it measured slower (1 of 8), for reasons not pinned
 * down. The rounding costs at most 2 MiB per buffer of 4 MiB or more. Where THP is off, madvise fails
 * harmlessly. A mapping of its own, rather than the heap (posix_memalign): after a process has freed large
 * buffers, glibc serves the next ones from memory it kept, already backed by small pages (infer.large after
 * the training cases in one `recur bench` process: about 6% faster with the mappings, median of 6
 * alternating rounds, 5 faster); and memory freed goes back to the system. */
static size_t huge_bytes(size_t rounded) {
    return rounded >= CPU_HUGE_MIN_BYTES && rounded <= SIZE_MAX - 2 * CPU_HUGE_ALIGN
               ? (rounded + CPU_HUGE_ALIGN - 1) / CPU_HUGE_ALIGN * CPU_HUGE_ALIGN
               : 0;
}

/* `rounded` bytes (a multiple of CPU_ALIGN), CPU_ALIGN-aligned, or NULL; host_free(p, rounded) them. */
static void *host_alloc(size_t rounded) {
    const size_t whole = huge_bytes(rounded);
    if (!whole) return aligned_alloc(CPU_ALIGN, rounded);
    /* map whole + 2 MiB, keep the 2 MiB-aligned whole inside, unmap the rest */
    char *m = mmap(NULL, whole + CPU_HUGE_ALIGN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    char *data = (char *)(((uintptr_t)m + CPU_HUGE_ALIGN - 1) & ~(uintptr_t)(CPU_HUGE_ALIGN - 1));
    if (data > m) munmap(m, (size_t)(data - m));
    const size_t tail = (size_t)(m + whole + CPU_HUGE_ALIGN - (data + whole));
    if (tail) munmap(data + whole, tail);
#ifdef MADV_HUGEPAGE
    (void)madvise(data, whole, MADV_HUGEPAGE);
#endif
    return data;
}

static void host_free(void *p, size_t rounded) {
    const size_t whole = huge_bytes(rounded);
    if (!p) return;
    if (whole) munmap(p, whole);
    else free(p);
}

static size_t rounded_bytes(size_t bytes) { return bytes ? (bytes + CPU_ALIGN - 1) / CPU_ALIGN * CPU_ALIGN : CPU_ALIGN; }

int cpu_buf_alloc(void *dev, size_t bytes, recur_buf **out) {
    (void)dev;
    *out = NULL;
    if (bytes > SIZE_MAX - 2 * CPU_ALIGN)
        return cpu_error(RECUR_E_NOMEM, "cpu: cannot allocate %zu bytes (too large)", bytes);
    const size_t rounded = rounded_bytes(bytes);
    recur_buf *b = malloc(sizeof *b);
    void *data = host_alloc(rounded);
    if (!b || !data) {
        free(b);
        host_free(data, rounded);
        return cpu_error(RECUR_E_NOMEM, "cpu: out of host memory allocating %zu bytes", bytes);
    }
    b->data = data;
    b->bytes = bytes;
    *out = b;
    return RECUR_OK;
}

void cpu_buf_free(void *dev, recur_buf *b) {
    (void)dev;
    if (!b) return;
    host_free(b->data, rounded_bytes(b->bytes)); /* ops are synchronous: nothing can still be using it */
    free(b);
}

void *cpu_host_ptr(void *dev, recur_buf *b) {
    (void)dev;
    return b ? b->data : NULL;
}

static int check_range(const char *what, recur_ptr p, size_t n) {
    if (!p.buf) return cpu_error(RECUR_E_INVALID, "cpu: %s: no buffer given", what);
    const size_t elems = p.buf->bytes / sizeof(float);
    if (p.off > elems || n > elems - p.off)
        return cpu_error(RECUR_E_INVALID, "cpu: %s of %zu elements at offset %zu overruns a buffer of %zu elements",
                         what, n, p.off, elems);
    return RECUR_OK;
}

int cpu_write(void *dev, recur_ptr dst, const void *src, size_t n) {
    (void)dev;
    int st = check_range("write", dst, n);
    if (st) return st;
    if (n) memcpy((float *)dst.buf->data + dst.off, src, n * sizeof(float));
    return RECUR_OK;
}

int cpu_read(void *dev, void *dst, recur_ptr src, size_t n) {
    (void)dev;
    int st = check_range("read", src, n);
    if (st) return st;
    if (n) memcpy(dst, (const float *)src.buf->data + src.off, n * sizeof(float));
    return RECUR_OK;
}

int cpu_sync(void *dev) {
    (void)dev;
    return RECUR_OK;
}

/* ---- the device ---- */

static int c_probe(char *reason, size_t reason_size) {
    if (reason && reason_size) reason[0] = 0;
    return 1;
}

static int c_device_info(int index, recur_device_info *info) {
    if (index != 0) return cpu_error(RECUR_E_NOTFOUND, "cpu: device %d does not exist (there is one, 0)", index);
    if (!info) return cpu_error(RECUR_E_INVALID, "cpu: device_info: NULL info");
    /* Fill a full copy, then hand over only what the caller's struct_size covers. */
    recur_device_info full;
    memset(&full, 0, sizeof full);
    cpu_name(full.name, sizeof full.name, full.vendor, sizeof full.vendor);
    snprintf(full.driver, sizeof full.driver, "recur cpu %s (%s)", CPU_VERSION, cpu_isa_name(cpu_isa_detect()));
    snprintf(full.platform, sizeof full.platform, "pthreads");
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    full.memory_bytes = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
    full.compute_units = (uint32_t)online_cores();
    full.kind = RECUR_DEVICE_CPU;
    full.host_addressable = 1;
    const size_t header = offsetof(recur_device_info, name);
    size_t size = info->struct_size < sizeof full ? info->struct_size : sizeof full;
    if (size > header) memcpy((char *)info + header, (const char *)&full + header, size - header);
    return RECUR_OK;
}

static int default_threads(void) {
    long n;
    const char *s = env("RECUR_NUM_THREADS");
    if (s && *s) {
        if (parse_int(s, 1, CPU_MAX_THREADS, &n)) return (int)n;
        cpu_log(RECUR_LOG_WARN, "cpu: RECUR_NUM_THREADS=%s ignored (want 1..%d)", s, CPU_MAX_THREADS);
    }
    return online_cores();
}

static int make_pool(cpu_dev *d, int threads) {
    cpu_pool *p = NULL;
    int e = cpu_pool_create(&p, threads, d->spin_us);
    if (e == ENOMEM) return cpu_error(RECUR_E_NOMEM, "cpu: out of memory creating a pool of %d threads", threads);
    if (e)
        return cpu_error(RECUR_E_THREAD, "cpu: cannot create a pool of %d threads: %s", threads, strerror(e));
    if (d->pool) cpu_pool_destroy(d->pool);
    d->pool = p;
    d->threads = threads;
    return RECUR_OK;
}

int cpu_grow(float **buf, size_t *len, size_t n) {
    if (*len >= n) return 0;
    cpu_shrink(buf, len);
    *buf = n <= (SIZE_MAX - 2 * CPU_HUGE_ALIGN) / sizeof(float) ? host_alloc(rounded_bytes(n * sizeof(float))) : NULL;
    if (!*buf) return ENOMEM;
    *len = n;
    return 0;
}

void cpu_shrink(float **buf, size_t *len) {
    host_free(*buf, rounded_bytes(*len * sizeof(float)));
    *buf = NULL;
    *len = 0;
}

static void c_device_close(void *dev) {
    cpu_dev *d = dev;
    if (!d) return;
    if (d->pool) cpu_pool_destroy(d->pool);
    free(d->partials);
    cpu_shrink(&d->step_acc, &d->step_len);
    cpu_shrink(&d->packed, &d->packed_len);
    pthread_mutex_destroy(&d->seq_mu);
    free(d);
}

static int c_device_open(int index, void **out) {
    if (!out) return cpu_error(RECUR_E_INVALID, "cpu: device_open: NULL output");
    *out = NULL;
    if (index != 0) return cpu_error(RECUR_E_NOTFOUND, "cpu: device %d does not exist (there is one, 0)", index);
    cpu_dev *d = calloc(1, sizeof *d);
    if (!d) return cpu_error(RECUR_E_NOMEM, "cpu: out of memory opening the device");
    if (pthread_mutex_init(&d->seq_mu, NULL)) {
        free(d);
        return cpu_error(RECUR_E_NOMEM, "cpu: could not create the device's sequence lock");
    }
    d->isa = cpu_isa_detect();
    const char *isa = env("RECUR_CPU_ISA");
    if (isa && *isa) {
        const int v = cpu_isa_usable(isa);
        if (v < 0)
            cpu_log(RECUR_LOG_WARN, "cpu: RECUR_CPU_ISA=%s ignored (not avx512, avx2, generic or auto, or not "
                    "supported here)", isa);
        else
            d->isa = v;
    }
    d->spin_us = DEFAULT_SPIN_US;
    long spin;
    const char *s = env("RECUR_CPU_SPIN_US");
    if (s && *s) {
        if (parse_int(s, 0, 1000000, &spin)) d->spin_us = (int)spin;
        else cpu_log(RECUR_LOG_WARN, "cpu: RECUR_CPU_SPIN_US=%s ignored (want 0..1000000)", s);
    }
    const char *split = env("RECUR_CPU_SPLIT_SMALL");
    d->split_small = split && split[0] == '1';
    int st = make_pool(d, default_threads());
    if (st) {
        c_device_close(d);
        return st;
    }
    *out = d;
    return RECUR_OK;
}

/* ---- options ---- */

static int c_set_option(void *dev, const char *key, const char *value) {
    cpu_dev *d = dev;
    if (!d || !key || !value) return cpu_error(RECUR_E_INVALID, "cpu: set_option: NULL argument");
    if (!strcmp(key, "threads")) {
        long n;
        if (!strcmp(value, "default") || !strcmp(value, "auto") || !strcmp(value, "0")) n = default_threads();
        else if (!parse_int(value, 1, CPU_MAX_THREADS, &n))
            return cpu_error(RECUR_E_INVALID, "cpu: option threads: '%s' is not a thread count (1 to %d, or 0 / "
                             "default)", value, CPU_MAX_THREADS);
        if ((int)n == d->threads) return RECUR_OK;
        return make_pool(d, (int)n);
    }
    if (!strcmp(key, "isa")) {
        const int best = cpu_isa_detect(), v = cpu_isa_parse(value);
        if (v < 0)
            return cpu_error(RECUR_E_INVALID, "cpu: option isa: '%s' is not avx512, avx2, generic or auto", value);
        if (v > best)
            return cpu_error(RECUR_E_UNSUPPORTED, "cpu: option isa: this CPU does not support %s (best: %s)", value,
                             cpu_isa_name(best));
        d->isa = v;
        return RECUR_OK;
    }
    if (!strcmp(key, "spin_us")) {
        long v;
        if (!parse_int(value, 0, 1000000, &v))
            return cpu_error(RECUR_E_INVALID, "cpu: option spin_us: '%s' is not a number of microseconds (0 to "
                             "1000000)", value);
        d->spin_us = (int)v;
        cpu_pool_set_spin(d->pool, (int)v);
        return RECUR_OK;
    }
    if (!strcmp(key, "split_small")) {
        if (strcmp(value, "0") && strcmp(value, "1"))
            return cpu_error(RECUR_E_INVALID, "cpu: option split_small: '%s' is not 0 or 1", value);
        d->split_small = value[0] == '1';
        return RECUR_OK;
    }
    if (!strcmp(key, "version")) return cpu_error(RECUR_E_INVALID, "cpu: option version is read-only");
    return cpu_error(RECUR_E_UNSUPPORTED, "cpu: unknown option '%s' (options: threads, isa, spin_us, split_small, "
                     "version)", key);
}

static int c_get_option(void *dev, const char *key, char *out, size_t out_size) {
    cpu_dev *d = dev;
    if (!d || !key) return cpu_error(RECUR_E_INVALID, "cpu: get_option: NULL device or key");
    char value[64];
    if (!strcmp(key, "threads")) snprintf(value, sizeof value, "%d", d->threads);
    else if (!strcmp(key, "isa")) snprintf(value, sizeof value, "%s", cpu_isa_name(d->isa));
    else if (!strcmp(key, "spin_us")) snprintf(value, sizeof value, "%d", d->spin_us);
    else if (!strcmp(key, "split_small")) snprintf(value, sizeof value, "%d", d->split_small);
    else if (!strcmp(key, "version")) snprintf(value, sizeof value, "%s", CPU_VERSION);
    else
        return cpu_error(RECUR_E_UNSUPPORTED, "cpu: unknown option '%s' (options: threads, isa, spin_us, split_small, "
                         "version)", key);
    const size_t len = strlen(value);
    if (!out || out_size <= len)
        return cpu_error(RECUR_E_INVALID, "cpu: option '%s': value '%s' needs %zu bytes, got %zu", key, value,
                         len + 1, out ? out_size : (size_t)0);
    memcpy(out, value, len + 1);
    return RECUR_OK;
}

static void c_shutdown(void) { cpu_svc = NULL; }

/* ---- the entry symbol ---- */

static const recur_backend_iface cpu_iface = {
    .abi_major = RECUR_ABI_MAJOR,
    .struct_size = sizeof(recur_backend_iface),
    .abi_minor = RECUR_ABI_MINOR,
    .name = "cpu",
    .version = CPU_VERSION,
    .description = "this machine's CPU on a thread pool: packed AVX-512/AVX2 SGEMM, vectorised cells",
    .probe = c_probe,
    .device_info = c_device_info,
    .device_open = c_device_open,
    .device_close = c_device_close,
    .ops = &cpu_ops,
    .set_option = c_set_option,
    .get_option = c_get_option,
    .get_proc = NULL,
    .shutdown = c_shutdown,
};

RECUR_BACKEND_EXPORT int recur_backend_entry(uint32_t host_abi_major, uint32_t host_abi_minor,
                                             const recur_services *services, const recur_backend_iface **out);

RECUR_BACKEND_EXPORT int recur_backend_entry(uint32_t host_abi_major, uint32_t host_abi_minor,
                                             const recur_services *services, const recur_backend_iface **out) {
    (void)host_abi_minor; /* this plugin uses ABI 1.0 only, which every 1.x host has */
    if (!out) return RECUR_E_INVALID;
    *out = NULL;
    /* The services table's first two fields are fixed across versions; call set_error only when the table
     * is of our major version and covers the 1.0 methods. */
    const int services_ok = services && services->abi_major == RECUR_ABI_MAJOR &&
                            services->struct_size >= offsetof(recur_services, getenv) + sizeof services->getenv &&
                            services->set_error && services->log && services->getenv;
    if (host_abi_major != RECUR_ABI_MAJOR || !services_ok) {
        if (services_ok)
            services->set_error(RECUR_E_ABI, "cpu: host ABI %u.x, this plugin was built for ABI %u.%u",
                                host_abi_major, RECUR_ABI_MAJOR, RECUR_ABI_MINOR);
        return RECUR_E_ABI;
    }
    cpu_svc = services;
    *out = &cpu_iface;
    return RECUR_OK;
}
