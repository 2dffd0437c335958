/* Helpers shared by the recurrent-layer tests: a device from RECUR_BACKEND, host<->device arrays,
 * batch-first <-> sequence-first transposes, and error statistics. */
#ifndef RECUR_TEST_RNN_HARNESS_H
#define RECUR_TEST_RNN_HARNESS_H

#include <stddef.h>

#include "recur/nn.h"

recur_device *harness_device(void); /* opened once from RECUR_BACKEND (default ref); NULL on failure */
void harness_close(void);

recur_ptr harness_upload(const void *host, size_t n);  /* aborts the test on failure (returns NULL ptr) */
float *harness_download(recur_ptr p, size_t n);        /* malloc'd */

/* (B, T, F) <-> (T, B, F) */
void harness_bt_to_tb(const float *src, float *dst, size_t B, size_t T, size_t F);
void harness_tb_to_bt(const float *src, float *dst, size_t T, size_t B, size_t F);

/* max over i of |got - want| / (atol + rtol * |want|); <= 1 means within tolerance */
double harness_err(const float *got, const float *want, size_t n, double atol, double rtol, double *max_abs);

#endif
