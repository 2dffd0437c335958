/* Built for a future ABI major version: the host must refuse it and name both versions. */
#define HOST_ADDRESSABLE 1
#include "broken_common.h"

static int probe(char *reason, size_t n) { return 1; }
static recur_backend_iface iface = {
    .abi_major = RECUR_ABI_MAJOR + 98, .abi_minor = 3, .struct_size = sizeof(recur_backend_iface),
    .name = "broken-abi", .probe = probe, .device_info = b_devinfo, .device_open = b_open,
    .device_close = b_close, .ops = &broken_ops,
};
RECUR_BACKEND_EXPORT int recur_backend_entry(uint32_t major, uint32_t minor, const recur_services *s,
                                             const recur_backend_iface **out) {
    svc = s;
    *out = &iface;
    return 0;
}
