/* The `blas` backend: shared declarations of its two files (blas_backend.c, blas_ops.c). */
#ifndef RECUR_BLAS_INTERNAL_H
#define RECUR_BLAS_INTERNAL_H

#include <stddef.h>

#include <recur/backend.h>

/* Buffer memory is 64-byte aligned (a cache line, and the widest SIMD load) and host-addressable. */
#define BLAS_ALIGN 64

struct recur_buf {
    float *data;  /* BLAS_ALIGN-aligned; what host_ptr returns; never NULL, even for 0 bytes */
    size_t elems; /* capacity in 4-byte elements (bytes / 4, rounded down) */
};

/* The device context handed to every op. There is one device (the CPU), so this is mostly a marker. */
typedef struct blas_device {
    int index;
} blas_device;

/* The host's services, stored by the entry call (valid until shutdown). */
extern const recur_services *blas_svc;

/* The ops table: memory and queue from blas_backend.c, compute ops from blas_ops.c. */
extern const recur_ops blas_ops;

/* Element address of a tensor argument; NULL when the argument is absent. */
static inline float *blas_at(recur_ptr p) { return p.buf ? p.buf->data + p.off : NULL; }

/* The slots blas_ops.c fills; every other compute slot stays NULL (the host runs ref there). */
int blas_fill(void *dev, size_t n, float value, recur_ptr y);
int blas_copy(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, recur_ptr y, size_t ldy);
int blas_scale(void *dev, size_t n, float alpha, recur_ptr y);
int blas_axpy(void *dev, size_t n, float alpha, recur_ptr x, recur_ptr y);
int blas_gemm(void *dev, int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha, recur_ptr A,
              size_t lda, size_t stride_a, recur_ptr B, size_t ldb, size_t stride_b, float beta, recur_ptr C,
              size_t ldc, size_t stride_c, size_t batch);

/* Thread control, where the BLAS library has it (OpenBLAS). Return 0 when unavailable. */
int blas_threads_available(void);
int blas_get_threads(void);
void blas_set_threads(int n);
/* A line describing the BLAS library ("OpenBLAS 0.3.21 ... Haswell MAX_THREADS=64", or "CBLAS"). */
const char *blas_library_info(void);
/* The same, short enough for recur_device_info.driver ("OpenBLAS 0.3.21, Haswell kernels"). */
void blas_library_short(char *out, size_t size);

#endif /* RECUR_BLAS_INTERNAL_H */
