/*
 * The reference op table: every compute op of recur_ops in plain C over host memory.
 *
 * The compute slots of recur_ref_ops interpret their `dev` argument as a `const recur_hostmem *`, which
 * says how to turn a recur_buf into a host address. That lets the same table serve three callers:
 *   - the ref plugin (its device context starts with a recur_hostmem whose host_ptr returns buf->data),
 *   - librecur's fallback for empty slots of a host-addressable backend (core/device.c builds a
 *     recur_hostmem from that backend's own host_ptr),
 *   - the conformance kit, which uses ref as the oracle.
 * The memory and queue slots (buf_alloc .. sync) are those of the ref plugin itself.
 *
 * The math lives in kernels over raw pointers with a row slice (ith, nth), declared in ref_kernels.h, so a
 * threaded backend can call the same kernels with its own split (../shared/STYLE.md item 10).
 */
#ifndef RECUR_REF_OPS_H
#define RECUR_REF_OPS_H

#include "recur/backend.h"

typedef struct recur_hostmem {
    void *(*host_ptr)(void *dev, recur_buf *buf);
    void *dev;
} recur_hostmem;

extern const recur_ops recur_ref_ops;

/* Services for error messages from ref kernels (set by whoever links the library; may stay NULL). */
extern const recur_services *recur_ref_services;

#endif
