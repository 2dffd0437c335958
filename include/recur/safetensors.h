/*
 * recur/safetensors.h — reading and writing safetensors files (https://github.com/huggingface/safetensors):
 * an 8-byte little-endian header length N, N bytes of JSON naming each tensor's dtype, shape and byte
 * range, then the raw little-endian data. recur's model files, checkpoints, data sets and test fixtures
 * all use it (docs/model-format.md).
 */
#ifndef RECUR_SAFETENSORS_H
#define RECUR_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum recur_dtype { RECUR_DT_F32 = 0, RECUR_DT_I32 = 1, RECUR_DT_I64 = 2, RECUR_DT_F64 = 3, RECUR_DT_F16 = 4,
                   RECUR_DT_BF16 = 5, RECUR_DT_U8 = 6, RECUR_DT_I8 = 7, RECUR_DT_BOOL = 8, RECUR_DT_I16 = 9 };

#define RECUR_ST_MAX_DIMS 8

typedef struct recur_st_tensor {
    const char *name;
    int dtype; /* recur_dtype */
    int ndim;
    int64_t shape[RECUR_ST_MAX_DIMS];
    size_t numel;
    size_t nbytes;
    const void *data; /* points into the file's buffer (read) or the caller's memory (write) */
} recur_st_tensor;

typedef struct recur_st_file recur_st_file;

const char *recur_dtype_name(int dtype);
size_t recur_dtype_size(int dtype);

/* Read and validate a whole file: header bounds, JSON, dtypes, shapes against byte ranges, ranges inside
 * the data and not overlapping. Errors name the file, the tensor and what was expected. */
int recur_st_read(const char *path, recur_st_file **out);
void recur_st_free(recur_st_file *f);
int recur_st_count(const recur_st_file *f);
const recur_st_tensor *recur_st_get(const recur_st_file *f, int index);
const recur_st_tensor *recur_st_find(const recur_st_file *f, const char *name);
const char *recur_st_meta(const recur_st_file *f, const char *key); /* NULL if absent */
const char *recur_st_path(const recur_st_file *f);

/* Find `name` and check its dtype and shape (ndim dims; a dim < 0 matches anything). Errors say what
 * was expected against what the file holds. */
int recur_st_expect(const recur_st_file *f, const char *name, int dtype, int ndim, const int64_t *shape,
                    const recur_st_tensor **out);

/* Writing: collect tensors (data is borrowed until recur_st_write returns) and metadata, then write
 * atomically: a temporary file in the same folder, fsync, rename. */
typedef struct recur_st_writer recur_st_writer;
int recur_st_writer_new(recur_st_writer **out);
int recur_st_writer_add(recur_st_writer *w, const char *name, int dtype, int ndim, const int64_t *shape,
                        const void *data);
int recur_st_writer_meta(recur_st_writer *w, const char *key, const char *value);
int recur_st_write(recur_st_writer *w, const char *path);
void recur_st_writer_free(recur_st_writer *w);

#ifdef __cplusplus
}
#endif
#endif
