/* Device memory (not host-addressable) yet leaves every compute op empty: opening a device must fail,
 * naming the first empty op. With HOST_ADDRESSABLE 1 the same file is a valid "memory only" backend
 * whose ops all fall back to ref (built as librecur-minimal.so). */
#ifndef HOST_ADDRESSABLE
#define HOST_ADDRESSABLE 0
#endif
#include "broken_common.h"

static int probe(char *reason, size_t n) { return 1; }
static recur_backend_iface iface = {
    .abi_major = RECUR_ABI_MAJOR, .abi_minor = RECUR_ABI_MINOR, .struct_size = sizeof(recur_backend_iface),
    .name = PLUGIN_NAME, .probe = probe, .device_info = b_devinfo, .device_open = b_open,
    .device_close = b_close, .ops = &broken_ops,
};
RECUR_BACKEND_EXPORT int recur_backend_entry(uint32_t major, uint32_t minor, const recur_services *s,
                                             const recur_backend_iface **out) {
    svc = s;
    *out = &iface;
    return 0;
}
