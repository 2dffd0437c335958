/* The parameter arena: named tensors in one device buffer, gradients mirrored in a second. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recur/nn.h"

typedef struct param {
    char name[RECUR_PARAM_NAME_MAX];
    int ndim;
    size_t shape[4];
    size_t numel, offset;
} param;

struct recur_params {
    recur_device *d;
    param *list;
    int count, cap;
    size_t total;
    recur_ptr data, grad;
    int finalized;
};

int recur_params_new(recur_device *d, recur_params **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return recur_set_error(RECUR_E_NOMEM, "parameter arena: out of memory");
    (*out)->d = d;
    return RECUR_OK;
}

void recur_params_free(recur_params *p) {
    if (!p) return;
    recur_free(p->d, p->data);
    recur_free(p->d, p->grad);
    free(p->list);
    free(p);
}

int recur_params_add(recur_params *p, const char *name, int ndim, const size_t *shape, int *index) {
    if (p->finalized)
        return recur_set_error(RECUR_E_INVALID, "parameter '%s': the arena is already allocated", name);
    if (ndim < 1 || ndim > 4 || strlen(name) >= RECUR_PARAM_NAME_MAX)
        return recur_set_error(RECUR_E_INVALID, "parameter '%s': rank %d or name length unsupported", name, ndim);
    if (recur_params_find(p, name) >= 0)
        return recur_set_error(RECUR_E_INVALID, "parameter '%s' registered twice", name);
    if (p->count == p->cap) {
        int cap = p->cap ? 2 * p->cap : 16;
        param *l = realloc(p->list, sizeof *l * (size_t)cap);
        if (!l) return recur_set_error(RECUR_E_NOMEM, "parameter arena: out of memory");
        p->list = l;
        p->cap = cap;
    }
    param *q = &p->list[p->count];
    memset(q, 0, sizeof *q);
    strcpy(q->name, name);
    q->ndim = ndim;
    q->numel = 1;
    for (int i = 0; i < ndim; i++) {
        q->shape[i] = shape[i];
        q->numel *= shape[i];
    }
    /* Keep every tensor 16-element aligned: vector kernels and OpenCL sub-ranges like it. */
    q->offset = p->total;
    p->total += (q->numel + 15) & ~(size_t)15;
    if (index) *index = p->count;
    p->count++;
    return RECUR_OK;
}

int recur_params_finalize(recur_params *p) {
    if (p->finalized) return RECUR_OK;
    size_t n = p->total ? p->total : 1;
    int st = recur_alloc(p->d, n, &p->data);
    if (!st) st = recur_alloc(p->d, n, &p->grad);
    if (!st) st = recur_op_fill(p->d, n, 0.0f, p->data);
    if (!st) st = recur_op_fill(p->d, n, 0.0f, p->grad);
    if (st) return st;
    p->finalized = 1;
    return RECUR_OK;
}

int recur_params_count(const recur_params *p) { return p->count; }

int recur_params_find(const recur_params *p, const char *name) {
    for (int i = 0; i < p->count; i++)
        if (!strcmp(p->list[i].name, name)) return i;
    return -1;
}

const char *recur_params_name(const recur_params *p, int i) { return p->list[i].name; }

int recur_params_shape(const recur_params *p, int i, size_t *shape) {
    for (int k = 0; k < p->list[i].ndim; k++) shape[k] = p->list[i].shape[k];
    return p->list[i].ndim;
}

size_t recur_params_numel(const recur_params *p, int i) { return p->list[i].numel; }
size_t recur_params_total(const recur_params *p) { return p->total; }
recur_ptr recur_params_data(const recur_params *p, int i) { return recur_at(p->data, p->list[i].offset); }
recur_ptr recur_params_grad(const recur_params *p, int i) { return recur_at(p->grad, p->list[i].offset); }
recur_ptr recur_params_data_all(const recur_params *p) { return p->data; }
recur_ptr recur_params_grad_all(const recur_params *p) { return p->grad; }
recur_device *recur_params_device(const recur_params *p) { return p->d; }

int recur_params_zero_grad(recur_params *p) {
    return p->total ? recur_op_fill(p->d, p->total, 0.0f, p->grad) : RECUR_OK;
}

int recur_params_init_uniform(recur_params *p, int index, float bound, uint64_t seed) {
    const param *q = &p->list[index];
    float *host = malloc(sizeof(float) * (q->numel ? q->numel : 1));
    if (!host) return recur_set_error(RECUR_E_NOMEM, "parameter '%s': out of memory", q->name);
    /* Stream per parameter: the counter's high bits carry the parameter's index. */
    for (size_t i = 0; i < q->numel; i++)
        host[i] = (2.0f * recur_philox_uniform(seed, ((uint64_t)index << 40) + i) - 1.0f) * bound;
    int st = recur_write(p->d, recur_params_data(p, index), host, q->numel);
    free(host);
    return st;
}
