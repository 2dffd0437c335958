/* Loads fine but finds no device: the probe says why. */
#define HOST_ADDRESSABLE 1
#include "broken_common.h"

static int probe(char *reason, size_t n) {
    snprintf(reason, n, "no frobnicator card in this machine");
    return 0;
}
static recur_backend_iface iface = {
    .abi_major = RECUR_ABI_MAJOR, .abi_minor = RECUR_ABI_MINOR, .struct_size = sizeof(recur_backend_iface),
    .name = "broken-nodev", .probe = probe, .device_info = b_devinfo, .device_open = b_open,
    .device_close = b_close, .ops = &broken_ops,
};
RECUR_BACKEND_EXPORT int recur_backend_entry(uint32_t major, uint32_t minor, const recur_services *s,
                                             const recur_backend_iface **out) {
    svc = s;
    *out = &iface;
    return 0;
}
