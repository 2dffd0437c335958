/* Moving parameters between the arena and host memory or safetensors files. */
#include <stdlib.h>
#include <string.h>

#include "recur/nn.h"
#include "recur/safetensors.h"

int recur_params_read(recur_params *p, int index, float *host) {
    return recur_read(recur_params_device(p), host, recur_params_data(p, index), recur_params_numel(p, index));
}

int recur_params_write(recur_params *p, int index, const float *host) {
    return recur_write(recur_params_device(p), recur_params_data(p, index), host, recur_params_numel(p, index));
}

int recur_params_read_grad(recur_params *p, int index, float *host) {
    return recur_read(recur_params_device(p), host, recur_params_grad(p, index), recur_params_numel(p, index));
}

int recur_params_load(recur_params *p, const recur_st_file *f, int strict) {
    for (int i = 0; i < recur_params_count(p); i++) {
        size_t shape[4];
        int64_t want[4];
        int ndim = recur_params_shape(p, i, shape);
        for (int k = 0; k < ndim; k++) want[k] = (int64_t)shape[k];
        const recur_st_tensor *t;
        int st = recur_st_expect(f, recur_params_name(p, i), RECUR_DT_F32, ndim, want, &t);
        if (st) return st;
        if ((st = recur_params_write(p, i, (const float *)t->data)) != RECUR_OK) return st;
    }
    if (strict) {
        for (int i = 0; i < recur_st_count(f); i++) {
            const recur_st_tensor *t = recur_st_get(f, i);
            if (recur_params_find(p, t->name) < 0)
                return recur_set_error(RECUR_E_FORMAT, "%s: tensor '%s' does not belong to this model", recur_st_path(f),
                                       t->name);
        }
    }
    return RECUR_OK;
}
