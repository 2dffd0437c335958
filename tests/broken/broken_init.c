/* Its initialisation fails with a message of its own, which the host must pass on. */
#define HOST_ADDRESSABLE 1
#include "broken_common.h"

RECUR_BACKEND_EXPORT int recur_backend_entry(uint32_t major, uint32_t minor, const recur_services *s,
                                             const recur_backend_iface **out) {
    return s->set_error(RECUR_E_BACKEND, "the frobnicator is not plugged in");
}
