#include "rnn_harness.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static recur_device *dev;

recur_device *harness_device(void) {
    if (dev) return dev;
    int st = recur_device_open_default(NULL, NULL, &dev);
    if (st) {
        fprintf(stderr, "cannot open the backend: %s\n", recur_last_error());
        dev = NULL;
    }
    return dev;
}

void harness_close(void) {
    recur_device_close(dev);
    dev = NULL;
}

recur_ptr harness_upload(const void *host, size_t n) {
    recur_ptr p = RECUR_NULLPTR;
    if (recur_alloc(dev, n ? n : 1, &p) || (n && recur_write(dev, p, host, n))) {
        fprintf(stderr, "upload failed: %s\n", recur_last_error());
        CU_FAIL("upload failed");
    }
    return p;
}

float *harness_download(recur_ptr p, size_t n) {
    float *h = calloc(n ? n : 1, sizeof(float));
    if (recur_read(dev, h, p, n)) {
        fprintf(stderr, "download failed: %s\n", recur_last_error());
        CU_FAIL("download failed");
    }
    return h;
}

void harness_bt_to_tb(const float *src, float *dst, size_t B, size_t T, size_t F) {
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < T; t++) memcpy(dst + (t * B + b) * F, src + (b * T + t) * F, F * sizeof(float));
}

void harness_tb_to_bt(const float *src, float *dst, size_t T, size_t B, size_t F) {
    for (size_t t = 0; t < T; t++)
        for (size_t b = 0; b < B; b++) memcpy(dst + (b * T + t) * F, src + (t * B + b) * F, F * sizeof(float));
}

double harness_err(const float *got, const float *want, size_t n, double atol, double rtol, double *max_abs) {
    double worst = 0, mabs = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - (double)want[i]);
        if (!(e == e)) e = INFINITY;
        if (e > mabs) mabs = e;
        double ratio = e / (atol + rtol * fabs((double)want[i]));
        if (ratio > worst) worst = ratio;
    }
    if (max_abs) *max_abs = mabs;
    return worst;
}
