#define _POSIX_C_SOURCE 200809L
/* The `ref` plugin: the reference op table on plain host memory, one device. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ref_ops.h"

typedef struct ref_device {
    recur_hostmem hm; /* first: the compute slots read the context as a recur_hostmem */
} ref_device;

/* One device, always there. */
static int probe(char *reason, size_t size) { return 1; }

static int bad_index(int index) {
    if (!recur_ref_services) return RECUR_E_NOTFOUND;
    return recur_ref_services->set_error(RECUR_E_NOTFOUND, "ref: no device %d (the only device is 0)", index);
}

static int device_info(int index, recur_device_info *info) {
    if (index != 0) return bad_index(index);
    snprintf(info->name, sizeof info->name, "reference (plain C)");
    snprintf(info->vendor, sizeof info->vendor, "recur");
    snprintf(info->driver, sizeof info->driver, "ref 0.1.0");
    info->platform[0] = '\0';
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    info->memory_bytes = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
    info->compute_units = 1;
    info->kind = RECUR_DEVICE_CPU;
    info->host_addressable = 1;
    info->reserved = 0;
    return RECUR_OK;
}

static int device_open(int index, void **out) {
    if (index != 0) return bad_index(index);
    ref_device *d = calloc(1, sizeof *d);
    if (!d) {
        if (!recur_ref_services) return RECUR_E_NOMEM;
        return recur_ref_services->set_error(RECUR_E_NOMEM, "ref: out of memory opening the device");
    }
    d->hm.host_ptr = recur_ref_ops.host_ptr;
    d->hm.dev = d;
    *out = d;
    return RECUR_OK;
}

static void device_close(void *dev) { free(dev); }

static const recur_backend_iface ref_iface = {
    .abi_major = RECUR_ABI_MAJOR,
    .struct_size = sizeof(recur_backend_iface),
    .abi_minor = RECUR_ABI_MINOR,
    .name = "ref",
    .version = "0.1.0",
    .description = "reference kernels in plain C: the executable specification of every op",
    .probe = probe,
    .device_info = device_info,
    .device_open = device_open,
    .device_close = device_close,
    .ops = &recur_ref_ops,
};

RECUR_BACKEND_EXPORT int recur_backend_entry(uint32_t host_abi_major, uint32_t host_abi_minor,
                                             const recur_services *services, const recur_backend_iface **out) {
    if (!services || !services->set_error || !out) return RECUR_E_INVALID;
    if (host_abi_major != RECUR_ABI_MAJOR)
        return services->set_error(RECUR_E_ABI, "ref: built for ABI %d.%d, host speaks %u.%u", RECUR_ABI_MAJOR,
                                   RECUR_ABI_MINOR, host_abi_major, host_abi_minor);
    recur_ref_services = services;
    *out = &ref_iface;
    return RECUR_OK;
}
