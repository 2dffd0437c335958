/* Internal structures of librecur shared by the loader, the device layer and the op dispatch. */
#ifndef RECUR_CORE_INTERNAL_H
#define RECUR_CORE_INTERNAL_H

#include <limits.h>
#include <stddef.h>

#include "recur/recur.h"
#include "ref_ops.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

struct recur_backend {
    void *handle;                     /* dlopen handle */
    char path[PATH_MAX];              /* the file it came from */
    const recur_backend_iface *iface; /* checked: version and size */
    int device_count;                 /* from probe */
    char probe_reason[256];           /* why device_count is 0 */
};

/* Compute slots of the ops table: all this host knows (fill .. rnn_steps_bwd), and those of ABI 1.0 (fill ..
 * dropout), which a device-memory backend must fill; later ones are optional everywhere. */
#define RECUR_OPS_FIRST_COMPUTE offsetof(recur_ops, fill)
#define RECUR_OPS_SLOT_INDEX(off) (((off) - RECUR_OPS_FIRST_COMPUTE) / sizeof(void (*)(void)))
#define RECUR_OPS_COMPUTE_SLOTS (RECUR_OPS_SLOT_INDEX(offsetof(recur_ops, rnn_steps_bwd)) + 1)
#define RECUR_OPS_REQUIRED_SLOTS (RECUR_OPS_SLOT_INDEX(offsetof(recur_ops, dropout)) + 1)

/* Compute slot i of a plugin's table, or NULL when it is empty or past the table's struct_size (a plugin
 * built for an older minor version). */
static inline void (*recur_ops_slot(const recur_ops *ops, size_t i))(void) {
    const size_t off = RECUR_OPS_FIRST_COMPUTE + i * sizeof(void (*)(void));
    return off < ops->struct_size ? *(void (*const *)(void))((const char *)ops + off) : NULL;
}

struct recur_device {
    recur_backend *backend;
    int owns_backend;
    int index;
    void *ctx;                /* the backend's device context */
    const recur_ops *ops;     /* the backend's table (struct_size checked) */
    recur_device_info info;
    recur_hostmem hm;         /* host view, for reference fallbacks */
    unsigned char fell_back[RECUR_OPS_COMPUTE_SLOTS]; /* which slots have run on ref */
};

/* The services table handed to every plugin. */
extern const recur_services recur_host_services;

/* Name of compute slot i (0-based from fill), for messages. */
const char *recur_ops_slot_name(size_t index);

/* Host pointer to p's first element on a host-addressable device, after waiting for its queue (the host
 * may then read and write the buffer directly); NULL on device memory, or when the sync fails (the error is
 * set then: *st says so). */
float *recur_host_view(recur_device *d, recur_ptr p, int *st);

/* 1 when the backend fills op `name`'s slot itself (no reference fallback): for ops that only pay off when
 * the backend runs them its own way (rnn_step: a single-threaded reference step would be slower than the
 * backend's gemm and cell ops one by one). */
int recur_op_native(const recur_device *d, const char *name);

/* Prepare a reference fallback for the empty slot at byte offset `off` of recur_ops. */
int recur_fallback_begin(recur_device *d, size_t off);

#endif
