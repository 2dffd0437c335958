/* safetensors reading (validated) and atomic writing, with jansson for the JSON header. */
#define _GNU_SOURCE
#include "recur/safetensors.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recur/recur.h"

#define MAX_HEADER (100u * 1024u * 1024u)

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [RECUR_DT_F32] = {"F32", 4}, [RECUR_DT_I32] = {"I32", 4}, [RECUR_DT_I64] = {"I64", 8},
    [RECUR_DT_F64] = {"F64", 8}, [RECUR_DT_F16] = {"F16", 2}, [RECUR_DT_BF16] = {"BF16", 2},
    [RECUR_DT_U8] = {"U8", 1},   [RECUR_DT_I8] = {"I8", 1},   [RECUR_DT_BOOL] = {"BOOL", 1},
    [RECUR_DT_I16] = {"I16", 2},
};
#define NDTYPES ((int)(sizeof dtypes / sizeof dtypes[0]))

const char *recur_dtype_name(int dtype) { return dtype >= 0 && dtype < NDTYPES ? dtypes[dtype].name : "?"; }
size_t recur_dtype_size(int dtype) { return dtype >= 0 && dtype < NDTYPES ? dtypes[dtype].size : 0; }

static int dtype_from_name(const char *s) {
    for (int i = 0; i < NDTYPES; i++)
        if (!strcmp(dtypes[i].name, s)) return i;
    return -1;
}

struct recur_st_file {
    char *path;
    unsigned char *bytes; /* the whole file */
    size_t size;
    recur_st_tensor *tensors;
    int count;
    char **meta_keys, **meta_values;
    int meta_count;
};

static void shape_str(char *out, size_t n, int ndim, const int64_t *shape) {
    size_t used = (size_t)snprintf(out, n, "(");
    for (int i = 0; i < ndim && used < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (used < n) snprintf(out + used, n - used, ndim == 1 ? ",)" : ")");
}

void recur_st_free(recur_st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->count; i++) free((char *)f->tensors[i].name);
    for (int i = 0; i < f->meta_count; i++) {
        free(f->meta_keys[i]);
        free(f->meta_values[i]);
    }
    free(f->tensors);
    free(f->meta_keys);
    free(f->meta_values);
    free(f->bytes);
    free(f->path);
    free(f);
}

static int cmp_range(const void *a, const void *b) {
    const recur_st_tensor *x = *(recur_st_tensor *const *)a, *y = *(recur_st_tensor *const *)b;
    return x->data < y->data ? -1 : x->data > y->data;
}

static int parse_tensor(recur_st_file *f, const char *name, json_t *v, const unsigned char *data, size_t data_len,
                        recur_st_tensor *t) {
    const char *path = f->path;
    json_t *jd = json_object_get(v, "dtype"), *js = json_object_get(v, "shape"), *jo = json_object_get(v, "data_offsets");
    if (!json_is_string(jd) || !json_is_array(js) || !json_is_array(jo) || json_array_size(jo) != 2)
        return recur_set_error(RECUR_E_FORMAT, "%s: tensor '%s': header entry must have dtype, shape and two "
                               "data_offsets", path, name);
    t->dtype = dtype_from_name(json_string_value(jd));
    if (t->dtype < 0)
        return recur_set_error(RECUR_E_FORMAT, "%s: tensor '%s': unknown dtype '%s'", path, name, json_string_value(jd));
    if (json_array_size(js) > RECUR_ST_MAX_DIMS)
        return recur_set_error(RECUR_E_FORMAT, "%s: tensor '%s': %zu dimensions, at most %d supported", path, name,
                               json_array_size(js), RECUR_ST_MAX_DIMS);
    t->ndim = (int)json_array_size(js);
    size_t numel = 1;
    for (int i = 0; i < t->ndim; i++) {
        json_t *e = json_array_get(js, (size_t)i);
        if (!json_is_integer(e) || json_integer_value(e) < 0)
            return recur_set_error(RECUR_E_FORMAT, "%s: tensor '%s': shape entry %d is not a non-negative integer",
                                   path, name, i);
        t->shape[i] = json_integer_value(e);
        if (t->shape[i] && numel > SIZE_MAX / (size_t)t->shape[i] / 8)
            return recur_set_error(RECUR_E_FORMAT, "%s: tensor '%s': shape too large", path, name);
        numel *= (size_t)t->shape[i];
    }
    json_t *b = json_array_get(jo, 0), *e = json_array_get(jo, 1);
    if (!json_is_integer(b) || !json_is_integer(e) || json_integer_value(b) < 0 ||
        json_integer_value(e) < json_integer_value(b))
        return recur_set_error(RECUR_E_FORMAT, "%s: tensor '%s': data_offsets must be two integers, begin <= end",
                               path, name);
    size_t begin = (size_t)json_integer_value(b), end = (size_t)json_integer_value(e);
    t->numel = numel;
    t->nbytes = numel * dtypes[t->dtype].size;
    if (end - begin != t->nbytes) {
        char s[128];
        shape_str(s, sizeof s, t->ndim, t->shape);
        return recur_set_error(RECUR_E_FORMAT, "%s: tensor '%s': %s %s needs %zu bytes, data_offsets give %zu",
                               path, name, dtypes[t->dtype].name, s, t->nbytes, end - begin);
    }
    if (end > data_len)
        return recur_set_error(RECUR_E_FORMAT, "%s: tensor '%s': data ends at byte %zu, but the file holds only %zu "
                               "bytes of data (truncated?)", path, name, end, data_len);
    t->data = data + begin;
    return RECUR_OK;
}

int recur_st_read(const char *path, recur_st_file **out) {
    *out = NULL;
    recur_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return recur_set_error(RECUR_E_NOMEM, "%s: out of memory", path);
    }
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        int e = errno;
        recur_st_free(f);
        return recur_set_error(RECUR_E_IO, "%s: cannot open: %s", path, strerror(e));
    }
    int st = RECUR_OK;
    if (fseek(fp, 0, SEEK_END) || (long)(f->size = (size_t)ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET)) {
        st = recur_set_error(RECUR_E_IO, "%s: cannot determine size", path);
        goto fail;
    }
    if (f->size < 8) {
        st = recur_set_error(RECUR_E_FORMAT, "%s: %zu bytes is too short for a safetensors file (need at least 8)",
                             path, f->size);
        goto fail;
    }
    f->bytes = malloc(f->size);
    if (!f->bytes) {
        st = recur_set_error(RECUR_E_NOMEM, "%s: cannot hold %zu bytes in memory", path, f->size);
        goto fail;
    }
    if (fread(f->bytes, 1, f->size, fp) != f->size) {
        st = recur_set_error(RECUR_E_IO, "%s: read failed", path);
        goto fail;
    }
    fclose(fp);
    fp = NULL;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | f->bytes[i];
    if (hlen > MAX_HEADER || hlen > f->size - 8) {
        st = recur_set_error(RECUR_E_FORMAT, "%s: header length %llu exceeds the file (%zu bytes) or the %u-byte "
                             "limit: truncated or not a safetensors file", path, (unsigned long long)hlen, f->size,
                             MAX_HEADER);
        goto fail;
    }
    json_error_t jerr;
    json_t *root = json_loadb((const char *)f->bytes + 8, (size_t)hlen, 0, &jerr);
    if (!root || !json_is_object(root)) {
        st = recur_set_error(RECUR_E_FORMAT, "%s: header is not a JSON object: %s (line %d)", path,
                             root ? "wrong type" : jerr.text, root ? 0 : jerr.line);
        json_decref(root);
        goto fail;
    }
    size_t n = json_object_size(root);
    f->tensors = calloc(n ? n : 1, sizeof *f->tensors);
    f->meta_keys = calloc(n ? n : 1, sizeof(char *));
    f->meta_values = calloc(n ? n : 1, sizeof(char *));
    const unsigned char *data = f->bytes + 8 + hlen;
    size_t data_len = f->size - 8 - (size_t)hlen;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__")) {
            if (!json_is_object(v)) {
                st = recur_set_error(RECUR_E_FORMAT, "%s: __metadata__ must be an object of strings", path);
                break;
            }
            const char *mk;
            json_t *mv;
            json_object_foreach(v, mk, mv) {
                if (!json_is_string(mv)) {
                    st = recur_set_error(RECUR_E_FORMAT, "%s: __metadata__ value of '%s' is not a string", path, mk);
                    break;
                }
                if ((size_t)f->meta_count >= n) break;
                f->meta_keys = realloc(f->meta_keys, sizeof(char *) * (size_t)(f->meta_count + 1));
                f->meta_values = realloc(f->meta_values, sizeof(char *) * (size_t)(f->meta_count + 1));
                f->meta_keys[f->meta_count] = strdup(mk);
                f->meta_values[f->meta_count] = strdup(json_string_value(mv));
                f->meta_count++;
            }
            if (st) break;
            continue;
        }
        recur_st_tensor *t = &f->tensors[f->count];
        if ((st = parse_tensor(f, key, v, data, data_len, t)) != RECUR_OK) break;
        t->name = strdup(key);
        f->count++;
    }
    json_decref(root);
    if (st) goto fail;
    /* Byte ranges must not overlap. */
    recur_st_tensor **order = malloc(sizeof *order * (size_t)(f->count ? f->count : 1));
    for (int i = 0; i < f->count; i++) order[i] = &f->tensors[i];
    qsort(order, (size_t)f->count, sizeof *order, cmp_range);
    for (int i = 1; i < f->count; i++) {
        const unsigned char *prev_end = (const unsigned char *)order[i - 1]->data + order[i - 1]->nbytes;
        if ((const unsigned char *)order[i]->data < prev_end) {
            st = recur_set_error(RECUR_E_FORMAT, "%s: tensors '%s' and '%s' overlap", path, order[i - 1]->name,
                                 order[i]->name);
            break;
        }
    }
    free(order);
    if (st) goto fail;
    *out = f;
    return RECUR_OK;
fail:
    if (fp) fclose(fp);
    recur_st_free(f);
    return st;
}

int recur_st_count(const recur_st_file *f) { return f->count; }
const recur_st_tensor *recur_st_get(const recur_st_file *f, int i) { return i >= 0 && i < f->count ? &f->tensors[i] : NULL; }
const char *recur_st_path(const recur_st_file *f) { return f->path; }

const recur_st_tensor *recur_st_find(const recur_st_file *f, const char *name) {
    for (int i = 0; i < f->count; i++)
        if (!strcmp(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}

const char *recur_st_meta(const recur_st_file *f, const char *key) {
    for (int i = 0; i < f->meta_count; i++)
        if (!strcmp(f->meta_keys[i], key)) return f->meta_values[i];
    return NULL;
}

int recur_st_expect(const recur_st_file *f, const char *name, int dtype, int ndim, const int64_t *shape,
                    const recur_st_tensor **out) {
    const recur_st_tensor *t = recur_st_find(f, name);
    if (out) *out = t;
    if (!t) return recur_set_error(RECUR_E_FORMAT, "%s: tensor '%s' is missing", f->path, name);
    int ok = t->dtype == dtype && t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = shape[i] < 0 || shape[i] == t->shape[i];
    if (!ok) {
        char want[128], got[128];
        shape_str(want, sizeof want, ndim, shape);
        shape_str(got, sizeof got, t->ndim, t->shape);
        for (char *p = want; (p = strstr(p, "-1")) != NULL;) memcpy(p, " *", 2);
        return recur_set_error(RECUR_E_FORMAT, "%s: tensor '%s': expected %s %s, got %s %s", f->path, name,
                               recur_dtype_name(dtype), want, recur_dtype_name(t->dtype), got);
    }
    return RECUR_OK;
}

/* ---- writing ------------------------------------------------------------------------------------ */

struct recur_st_writer {
    recur_st_tensor *tensors;
    int count, cap;
    json_t *meta;
};

int recur_st_writer_new(recur_st_writer **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return recur_set_error(RECUR_E_NOMEM, "safetensors writer: out of memory");
    (*out)->meta = json_object();
    return RECUR_OK;
}

void recur_st_writer_free(recur_st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->count; i++) free((char *)w->tensors[i].name);
    free(w->tensors);
    json_decref(w->meta);
    free(w);
}

int recur_st_writer_add(recur_st_writer *w, const char *name, int dtype, int ndim, const int64_t *shape,
                        const void *data) {
    if (ndim < 0 || ndim > RECUR_ST_MAX_DIMS || !recur_dtype_size(dtype))
        return recur_set_error(RECUR_E_INVALID, "safetensors writer: tensor '%s': bad dtype or rank", name);
    if (w->count == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        recur_st_tensor *t = realloc(w->tensors, sizeof *t * (size_t)cap);
        if (!t) return recur_set_error(RECUR_E_NOMEM, "safetensors writer: out of memory");
        w->tensors = t;
        w->cap = cap;
    }
    recur_st_tensor *t = &w->tensors[w->count];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->dtype = dtype;
    t->ndim = ndim;
    t->numel = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->numel *= (size_t)shape[i];
    }
    t->nbytes = t->numel * recur_dtype_size(dtype);
    t->data = data;
    w->count++;
    return RECUR_OK;
}

int recur_st_writer_meta(recur_st_writer *w, const char *key, const char *value) {
    json_object_set_new(w->meta, key, json_string(value));
    return RECUR_OK;
}

int recur_st_write(recur_st_writer *w, const char *path) {
    json_t *root = json_object();
    size_t off = 0;
    if (json_object_size(w->meta)) json_object_set(root, "__metadata__", w->meta);
    for (int i = 0; i < w->count; i++) {
        recur_st_tensor *t = &w->tensors[i];
        json_t *shape = json_array();
        for (int k = 0; k < t->ndim; k++) json_array_append_new(shape, json_integer(t->shape[k]));
        json_t *e = json_pack("{s:s, s:o, s:[I,I]}", "dtype", recur_dtype_name(t->dtype), "shape", shape,
                              "data_offsets", (json_int_t)off, (json_int_t)(off + t->nbytes));
        json_object_set_new(root, t->name, e);
        off += t->nbytes;
    }
    char *header = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!header) return recur_set_error(RECUR_E_NOMEM, "%s: cannot encode the header", path);
    size_t hlen = strlen(header), padded = (hlen + 7) & ~(size_t)7;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        int e = errno;
        free(header);
        return recur_set_error(RECUR_E_IO, "%s: cannot create: %s", tmp, strerror(e));
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    int ok = fwrite(len8, 1, 8, fp) == 8 && fwrite(header, 1, hlen, fp) == hlen;
    for (size_t i = hlen; ok && i < padded; i++) ok = fputc(' ', fp) != EOF;
    for (int i = 0; ok && i < w->count; i++)
        ok = w->tensors[i].nbytes == 0 || fwrite(w->tensors[i].data, 1, w->tensors[i].nbytes, fp) == w->tensors[i].nbytes;
    free(header);
    ok = ok && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    ok = (fclose(fp) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return recur_set_error(RECUR_E_IO, "%s: write failed: %s (the previous file, if any, is untouched)", path,
                               strerror(e));
    }
    return RECUR_OK;
}
