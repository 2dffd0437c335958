/* Devices: choosing one by index or name, opening its queue, buffers, and reference fallbacks. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

static int parse_index(const char *s, int *out) {
    if (!*s) return 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 0 || v > 1000000) return 0;
    *out = (int)v;
    return 1;
}

/* Pick the device matching `selector` (index or case-insensitive substring of name/vendor/platform). */
static int select_device(recur_backend *b, const char *selector, int *index) {
    if (!selector || !*selector) selector = recur_getenv("RECUR_DEVICE");
    if (!selector || !*selector) {
        *index = 0;
        return RECUR_OK;
    }
    int want;
    if (parse_index(selector, &want)) {
        if (want >= b->device_count)
            return recur_set_error(RECUR_E_NOTFOUND, "backend '%s': device index %d out of range (it has %d "
                                   "device%s)", b->iface->name, want, b->device_count,
                                   b->device_count == 1 ? "" : "s");
        *index = want;
        return RECUR_OK;
    }
    char names[1024] = "";
    size_t used = 0;
    for (int i = 0; i < b->device_count; i++) {
        recur_device_info info;
        if (recur_backend_device_info(b, i, &info) != RECUR_OK) continue;
        if (strcasestr(info.name, selector) || strcasestr(info.vendor, selector) ||
            strcasestr(info.platform, selector)) {
            *index = i;
            return RECUR_OK;
        }
        if (used < sizeof names)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%d: %s", i ? "; " : "", i, info.name);
    }
    return recur_set_error(RECUR_E_NOTFOUND, "backend '%s': no device matches '%s' (devices: %s)",
                           b->iface->name, selector, names);
}

int recur_device_open(recur_backend *b, const char *selector, recur_device **out) {
    if (!b || !out) return recur_set_error(RECUR_E_INVALID, "recur_device_open: NULL argument");
    *out = NULL;
    int index = 0;
    int st = select_device(b, selector, &index);
    if (st) return st;
    recur_device *d = calloc(1, sizeof *d);
    if (!d) return recur_set_error(RECUR_E_NOMEM, "recur_device_open: out of memory");
    d->backend = b;
    d->index = index;
    d->ops = b->iface->ops;
    if ((st = recur_backend_device_info(b, index, &d->info)) != RECUR_OK) {
        free(d);
        return st;
    }
    /* A backend with device memory must fill every 1.0 compute slot: the host cannot run ref on it. */
    if (!d->info.host_addressable) {
        for (size_t i = 0; i < RECUR_OPS_REQUIRED_SLOTS; i++) {
            if (!recur_ops_slot(d->ops, i)) {
                recur_set_error(RECUR_E_ABI, "backend '%s' (%s): op '%s' is empty, but device memory is not "
                                "host-addressable, so the reference kernel cannot stand in for it",
                                b->iface->name, b->path, recur_ops_slot_name(i));
                free(d);
                return RECUR_E_ABI;
            }
        }
    }
    recur_clear_error();
    st = b->iface->device_open(index, &d->ctx);
    if (st != RECUR_OK) {
        char why[768];
        snprintf(why, sizeof why, "%s", recur_last_error()[0] ? recur_last_error() : recur_strerror(st));
        recur_set_error(st, "backend '%s': cannot open device %d (%s): %s", b->iface->name, index,
                        d->info.name, why);
        free(d);
        return st;
    }
    d->hm.host_ptr = d->ops->host_ptr;
    d->hm.dev = d->ctx;
    *out = d;
    return RECUR_OK;
}

int recur_device_open_default(const char *backend, const char *selector, recur_device **out) {
    recur_backend *b;
    int st = recur_backend_load(backend, &b);
    if (st) return st;
    st = recur_device_open(b, selector, out);
    if (st) {
        recur_backend_unload(b);
        return st;
    }
    (*out)->owns_backend = 1;
    return RECUR_OK;
}

void recur_device_close(recur_device *d) {
    if (!d) return;
    d->ops->sync(d->ctx);
    d->backend->iface->device_close(d->ctx);
    if (d->owns_backend) recur_backend_unload(d->backend);
    free(d);
}

recur_backend *recur_device_backend(const recur_device *d) { return d->backend; }
const recur_device_info *recur_device_get_info(const recur_device *d) { return &d->info; }

int recur_device_set_option(recur_device *d, const char *key, const char *value) {
    if (!d->backend->iface->set_option)
        return recur_set_error(RECUR_E_UNSUPPORTED, "backend '%s' has no options (asked to set '%s')",
                               d->backend->iface->name, key);
    return d->backend->iface->set_option(d->ctx, key, value);
}

int recur_device_get_option(recur_device *d, const char *key, char *out, size_t out_size) {
    if (!d->backend->iface->get_option)
        return recur_set_error(RECUR_E_UNSUPPORTED, "backend '%s' has no options (asked for '%s')",
                               d->backend->iface->name, key);
    return d->backend->iface->get_option(d->ctx, key, out, out_size);
}

void *recur_device_get_proc(recur_device *d, const char *name) {
    return d->backend->iface->get_proc ? d->backend->iface->get_proc(name) : NULL;
}

int recur_device_index(const recur_device *d) { return d->index; }

int recur_device_warmup(recur_device *d, int *has_warmup) {
    typedef int (*warmup_fn)(void *dev);
    void *p = recur_device_get_proc(d, "warmup");
    if (has_warmup) *has_warmup = p != NULL;
    if (!p) return RECUR_OK;
    warmup_fn fn;
    memcpy(&fn, &p, sizeof fn); /* object pointer to function pointer, as POSIX allows */
    return fn(d->ctx);
}

int recur_device_fallback_ops(const recur_device *d, const char **names, int max) {
    int n = 0;
    for (size_t i = 0; i < RECUR_OPS_COMPUTE_SLOTS; i++)
        if (d->fell_back[i] && n < max) names[n++] = recur_ops_slot_name(i);
    if (n < max) names[n] = NULL;
    return n;
}

/* Called by the dispatch when a slot is empty: wait for the queue, then the caller runs ref on the
 * host view of the same buffers. Logged once per op and device. */
int recur_fallback_begin(recur_device *d, size_t off) {
    size_t i = RECUR_OPS_SLOT_INDEX(off);
    if (!d->info.host_addressable)
        return recur_set_error(RECUR_E_UNSUPPORTED, "backend '%s': op '%s' is empty and memory is not "
                               "host-addressable", d->backend->iface->name, recur_ops_slot_name(i));
    if (!d->fell_back[i]) {
        d->fell_back[i] = 1;
        recur_log(RECUR_LOG_INFO, "backend '%s': op '%s' runs on the reference kernel", d->backend->iface->name,
                  recur_ops_slot_name(i));
    }
    return d->ops->sync(d->ctx);
}

float *recur_host_view(recur_device *d, recur_ptr p, int *st) {
    *st = RECUR_OK;
    if (!d->info.host_addressable || !p.buf) return NULL;
    if ((*st = d->ops->sync(d->ctx))) return NULL;
    return (float *)d->hm.host_ptr(d->hm.dev, p.buf) + p.off;
}

/* ---- buffers ------------------------------------------------------------------------------------ */

int recur_alloc(recur_device *d, size_t n, recur_ptr *out) {
    *out = RECUR_NULLPTR;
    if (n > SIZE_MAX / 4) return recur_set_error(RECUR_E_INVALID, "recur_alloc: %zu elements overflow", n);
    recur_buf *buf = NULL;
    int st = d->ops->buf_alloc(d->ctx, n * 4, &buf);
    if (st) return st;
    if (!buf && n) return recur_set_error(RECUR_E_NOMEM, "backend '%s': allocation of %zu bytes returned nothing",
                                          d->backend->iface->name, n * 4);
    out->buf = buf;
    return RECUR_OK;
}

void recur_free(recur_device *d, recur_ptr p) {
    if (p.buf) d->ops->buf_free(d->ctx, p.buf);
}

int recur_write(recur_device *d, recur_ptr dst, const void *src, size_t n) {
    return n ? d->ops->write(d->ctx, dst, src, n) : RECUR_OK;
}

int recur_read(recur_device *d, void *dst, recur_ptr src, size_t n) {
    return n ? d->ops->read(d->ctx, dst, src, n) : d->ops->sync(d->ctx);
}

int recur_sync(recur_device *d) { return d->ops->sync(d->ctx); }
