/* Tensor conversion for user files (see tensors.h). */
#include "tensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/recur.h"

void shape_str(const recur_st_tensor *t, char *buf, size_t size) {
    size_t off = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < t->ndim && off < size; i++)
        off += (size_t)snprintf(buf + off, size - off, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (off < size) snprintf(buf + off, size - off, ")");
}

int dtype_is_int(int dt) {
    return dt == RECUR_DT_I32 || dt == RECUR_DT_I64 || dt == RECUR_DT_I16 || dt == RECUR_DT_I8 || dt == RECUR_DT_U8;
}
int dtype_is_float(int dt) { return dt == RECUR_DT_F32 || dt == RECUR_DT_F64; }

/* Element index as "[i, j, k]". */
static void where(const recur_st_tensor *t, size_t flat, char *buf, size_t size) {
    size_t idx[RECUR_ST_MAX_DIMS];
    for (int i = t->ndim - 1; i >= 0; i--) {
        size_t d = t->shape[i] ? (size_t)t->shape[i] : 1;
        idx[i] = flat % d;
        flat /= d;
    }
    size_t off = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < t->ndim && off < size; i++) off += (size_t)snprintf(buf + off, size - off, i ? ", %zu" : "%zu", idx[i]);
    if (off < size) snprintf(buf + off, size - off, "]");
}

int tensor_to_i32(const char *file, const recur_st_tensor *t, int32_t **out) {
    *out = NULL;
    if (!dtype_is_int(t->dtype))
        return recur_set_error(RECUR_E_FORMAT, "%s: tensor '%s' is %s; expected integers (int32 or int64)", file, t->name,
                               recur_dtype_name(t->dtype));
    int32_t *v = malloc(sizeof(int32_t) * (t->numel ? t->numel : 1));
    if (!v) return recur_set_error(RECUR_E_NOMEM, "%s: out of memory for '%s'", file, t->name);
    const unsigned char *p = t->data;
    for (size_t i = 0; i < t->numel; i++) {
        int64_t x;
        switch (t->dtype) {
        case RECUR_DT_I64: memcpy(&x, p + 8 * i, 8); break;
        case RECUR_DT_I32: {
            int32_t y;
            memcpy(&y, p + 4 * i, 4);
            x = y;
            break;
        }
        case RECUR_DT_I16: {
            int16_t y;
            memcpy(&y, p + 2 * i, 2);
            x = y;
            break;
        }
        case RECUR_DT_I8: x = ((const int8_t *)p)[i]; break;
        default: x = p[i]; break;
        }
        if (x < INT32_MIN || x > INT32_MAX) {
            char w[96];
            where(t, i, w, sizeof w);
            free(v);
            return recur_set_error(RECUR_E_FORMAT, "%s: tensor '%s' value %lld at %s does not fit in int32", file, t->name,
                                   (long long)x, w);
        }
        v[i] = (int32_t)x;
    }
    *out = v;
    return 0;
}

int tensor_to_f32(const char *file, const recur_st_tensor *t, float **out) {
    *out = NULL;
    if (!dtype_is_float(t->dtype))
        return recur_set_error(RECUR_E_FORMAT, "%s: tensor '%s' is %s; expected float32 (or float64)", file, t->name,
                               recur_dtype_name(t->dtype));
    float *v = malloc(sizeof(float) * (t->numel ? t->numel : 1));
    if (!v) return recur_set_error(RECUR_E_NOMEM, "%s: out of memory for '%s'", file, t->name);
    for (size_t i = 0; i < t->numel; i++) {
        double x;
        if (t->dtype == RECUR_DT_F64) memcpy(&x, (const char *)t->data + 8 * i, 8);
        else {
            float y;
            memcpy(&y, (const char *)t->data + 4 * i, 4);
            x = y;
        }
        if (!isfinite(x) || !isfinite((float)x)) {
            char w[96];
            where(t, i, w, sizeof w);
            free(v);
            return recur_set_error(RECUR_E_FORMAT, "%s: tensor '%s' holds %s at %s; values must be finite", file, t->name,
                                   isnan(x) ? "NaN" : "an infinity", w);
        }
        v[i] = (float)x;
    }
    *out = v;
    return 0;
}
