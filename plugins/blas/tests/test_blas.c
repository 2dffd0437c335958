/*
 * Self-test of the `blas` plugin through the public API of an installed librecur (recur::recur):
 * loads the plugin by path, checks each native op against plain loops — gemm in every transpose, with
 * padded and degenerate leading dimensions, M/N/K/batch == 0, and beta == 0 over NaN — then an op that
 * falls back to the reference kernel, the options, and a transfer error. The full contract check is
 * recur-conform's job; this catches a broken build early and needs nothing but the SDK.
 *
 *   test_blas /path/to/librecur-blas.so
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <recur/recur.h>

static int failures;
static recur_device *dev;

#define CHECK(cond, ...)                                                                                      \
    do {                                                                                                      \
        if (!(cond)) {                                                                                        \
            failures++;                                                                                       \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                              \
            fprintf(stderr, __VA_ARGS__);                                                                     \
            fprintf(stderr, "\n");                                                                            \
        }                                                                                                     \
    } while (0)

#define MUST(call)                                                                                            \
    do {                                                                                                      \
        int st_ = (call);                                                                                     \
        if (st_) {                                                                                            \
            fprintf(stderr, "FAIL %s:%d: %s: %s\n", __FILE__, __LINE__, #call, recur_last_error());           \
            exit(1);                                                                                          \
        }                                                                                                     \
    } while (0)

static unsigned rng = 12345u;
static float frand(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static recur_ptr upload(const float *h, size_t n) {
    recur_ptr p;
    MUST(recur_alloc(dev, n ? n : 1, &p));
    if (n) MUST(recur_write(dev, p, h, n));
    return p;
}

/* ---- gemm ------------------------------------------------------------------------------------------ */

/* Elements spanned by a rows x cols row-major matrix with leading dimension ld. */
static size_t extent(size_t rows, size_t cols, size_t ld) { return rows && cols ? (rows - 1) * ld + cols : 0; }

static void gemm_case(int ta, int tb, size_t M, size_t N, size_t K, float alpha, size_t lda, size_t ldb,
                      size_t ldc, float beta, size_t batch, int nan_c) {
    size_t sa = extent(ta ? K : M, ta ? M : K, lda) + 3, sb = extent(tb ? N : K, tb ? K : N, ldb) + 1;
    size_t sc = extent(M, N, ldc) + 2;
    size_t na = sa * batch + 1, nb = sb * batch + 1, nc = sc * batch + 1;
    float *a = malloc(na * 4), *b = malloc(nb * 4), *c = malloc(nc * 4), *got = malloc(nc * 4);
    char *inside = calloc(nc, 1);
    for (size_t i = 0; i < na; i++) a[i] = frand();
    for (size_t i = 0; i < nb; i++) b[i] = frand();
    for (size_t i = 0; i < nc; i++) c[i] = nan_c ? NAN : frand();
    recur_ptr A = upload(a, na), B = upload(b, nb), C = upload(c, nc);
    int st = recur_op_gemm(dev, ta, tb, M, N, K, alpha, A, lda, sa, B, ldb, sb, beta, C, ldc, sc, batch);
    CHECK(st == 0, "gemm ta=%d tb=%d %zux%zux%zu batch %zu: %s", ta, tb, M, N, K, batch, recur_last_error());
    MUST(recur_read(dev, got, C, nc));
    int bad = 0;
    for (size_t k = 0; k < batch; k++)
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++) {
                double s = 0;
                for (size_t q = 0; q < K; q++)
                    s += (double)(ta ? a[k * sa + q * lda + i] : a[k * sa + i * lda + q]) *
                         (double)(tb ? b[k * sb + j * ldb + q] : b[k * sb + q * ldb + j]);
                size_t at = k * sc + i * ldc + j;
                inside[at] = 1;
                double want = alpha * s + (beta == 0.0f ? 0.0 : beta * (double)c[at]);
                double tol = 1e-5 * (1.0 + fabs(want) + (double)K);
                if (!(fabs((double)got[at] - want) <= tol) && bad++ < 3)
                    CHECK(0, "gemm ta=%d tb=%d %zux%zux%zu batch %zu beta %g: C[%zu][%zu][%zu] = %g, want %g", ta,
                          tb, M, N, K, batch, beta, k, i, j, got[at], want);
            }
    /* Nothing outside the M x N blocks may change (the padding between rows and batches). */
    for (size_t at = 0; at < nc; at++) {
        if (!inside[at] && memcmp(&got[at], &c[at], 4) && bad++ < 3)
            CHECK(0, "gemm %zux%zux%zu wrote outside C (element %zu)", M, N, K, at);
    }
    recur_free(dev, A);
    recur_free(dev, B);
    recur_free(dev, C);
    free(a);
    free(b);
    free(c);
    free(got);
    free(inside);
}

static void test_gemm(void) {
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            size_t M = 5, N = 7, K = 3;
            size_t lda = ta ? M : K, ldb = tb ? K : N;
            gemm_case(ta, tb, M, N, K, 1.0f, lda, ldb, N, 0.0f, 1, 0);          /* tight */
            gemm_case(ta, tb, M, N, K, 0.5f, lda + 2, ldb + 3, N + 1, 1.0f, 1, 0); /* padded, accumulate */
            gemm_case(ta, tb, M, N, K, -1.5f, lda, ldb, N + 4, 0.25f, 3, 0);  /* batched */
            gemm_case(ta, tb, M, N, K, 2.0f, lda, ldb, N, 0.0f, 2, 1);          /* beta 0 over NaN */
            gemm_case(ta, tb, 64, 33, 65, 1.0f, ta ? 64 : 65, tb ? 65 : 33, 40, 0.0f, 2, 1);
        }
    /* Large enough for OpenBLAS's threaded, packed path: beta 0 over NaN again. */
    gemm_case(0, 1, 256, 257, 129, 1.0f, 129, 129, 260, 0.0f, 1, 1);
    gemm_case(1, 0, 300, 200, 100, -1.0f, 300, 200, 200, 0.5f, 1, 0);
    /* Degenerate sizes: nothing happens, or C = beta * C for K == 0 (beta 0 clears even NaN). */
    gemm_case(0, 0, 0, 4, 3, 1.0f, 3, 4, 4, 0.0f, 1, 0);
    gemm_case(0, 0, 4, 0, 3, 1.0f, 3, 1, 1, 0.0f, 1, 0);
    gemm_case(0, 0, 4, 3, 0, 1.0f, 1, 3, 3, 0.0f, 2, 1);
    gemm_case(0, 0, 4, 3, 0, 1.0f, 1, 3, 3, 0.5f, 2, 0);
    gemm_case(1, 1, 4, 3, 2, 1.0f, 4, 2, 3, 0.0f, 0, 0);
    /* One row: ld values cblas would refuse are harmless; overlapping rows run on loops. */
    gemm_case(0, 0, 1, 6, 4, 1.0f, 0, 6, 0, 0.0f, 1, 1);
    gemm_case(0, 0, 3, 2, 4, 1.0f, 2, 2, 2, 0.0f, 1, 0); /* lda 2 < K 4: rows of A overlap */
}

/* ---- fill, copy, scale, axpy ------------------------------------------------------------------------------- */

static void test_vector_ops(void) {
    enum { n = 1000 };
    float x[n], y[n], got[n];
    for (int i = 0; i < n; i++) {
        x[i] = frand();
        y[i] = frand();
    }
    recur_ptr X = upload(x, n), Y = upload(y, n);

    MUST(recur_op_fill(dev, n - 10, 2.5f, recur_at(Y, 5)));
    MUST(recur_read(dev, got, Y, n));
    for (int i = 0; i < n; i++) CHECK(got[i] == (i >= 5 && i < n - 5 ? 2.5f : y[i]), "fill [%d] = %g", i, got[i]);
    MUST(recur_op_fill(dev, n, 0.0f, Y));
    MUST(recur_read(dev, got, Y, n));
    for (int i = 0; i < n; i++) CHECK(got[i] == 0.0f, "fill 0 [%d] = %g", i, got[i]);

    /* copy a 10 x 7 block from ld 9 to ld 11, at offsets */
    MUST(recur_write(dev, Y, y, n));
    MUST(recur_op_copy(dev, 10, 7, recur_at(X, 3), 9, recur_at(Y, 2), 11));
    MUST(recur_read(dev, got, Y, n));
    for (int i = 0; i < n; i++) {
        int r = (i - 2) / 11, c = (i - 2) % 11;
        float want = (i >= 2 && r < 10 && c < 7) ? x[3 + r * 9 + c] : y[i];
        CHECK(got[i] == want, "copy [%d] = %g, want %g", i, got[i], want);
    }

    MUST(recur_write(dev, Y, y, n));
    MUST(recur_op_scale(dev, n, -0.75f, Y));
    MUST(recur_read(dev, got, Y, n));
    for (int i = 0; i < n; i++) CHECK(got[i] == -0.75f * y[i], "scale [%d] = %g", i, got[i]);
    float nan1 = NAN;
    MUST(recur_write(dev, Y, &nan1, 1));
    MUST(recur_op_scale(dev, n, 0.0f, Y));
    MUST(recur_read(dev, got, Y, n));
    CHECK(isnan(got[0]), "scale by 0 must keep NaN (got %g)", got[0]);

    MUST(recur_write(dev, Y, y, n));
    MUST(recur_op_axpy(dev, n, 0.5f, X, Y));
    MUST(recur_read(dev, got, Y, n));
    for (int i = 0; i < n; i++)
        CHECK(fabsf(got[i] - (y[i] + 0.5f * x[i])) <= 1e-6f, "axpy [%d] = %g, want %g", i, got[i], y[i] + 0.5f * x[i]);
    MUST(recur_write(dev, Y, y, n));
    MUST(recur_op_axpy(dev, n, 2.0f, Y, Y)); /* x == y is allowed */
    MUST(recur_read(dev, got, Y, n));
    for (int i = 0; i < n; i++) CHECK(got[i] == y[i] + 2.0f * y[i], "axpy x == y [%d] = %g", i, got[i]);

    recur_free(dev, X);
    recur_free(dev, Y);
}

/* ---- fallback, options, errors ---------------------------------------------------------------------------- */

static void test_fallback_and_options(void) {
    float bias[3] = {1, 2, 3}, y[6] = {0}, got[6];
    recur_ptr Bi = upload(bias, 3), Y = upload(y, 6);
    MUST(recur_op_add_bias(dev, 2, 3, Bi, Y, 3)); /* empty slot: the host's reference kernel */
    MUST(recur_read(dev, got, Y, 6));
    for (int i = 0; i < 6; i++) CHECK(got[i] == bias[i % 3], "add_bias (fallback) [%d] = %g", i, got[i]);
    const char *names[64];
    int n = recur_device_fallback_ops(dev, names, 63);
    int saw_add_bias = 0, saw_native = 0;
    for (int i = 0; i < n; i++) {
        saw_add_bias |= !strcmp(names[i], "add_bias");
        saw_native |= !strcmp(names[i], "gemm") || !strcmp(names[i], "axpy") || !strcmp(names[i], "fill");
    }
    CHECK(saw_add_bias, "add_bias should be listed as a fallback");
    CHECK(!saw_native, "gemm, axpy and fill are native and must not be listed as fallbacks");

    char value[256];
    int st = recur_device_get_option(dev, "library", value, sizeof value);
    CHECK(st == 0, "get_option library: %s", recur_last_error());
    if (!st) printf("blas library: %s\n", value);
    st = recur_device_get_option(dev, "threads", value, sizeof value);
    if (st == RECUR_OK) {
        MUST(recur_device_set_option(dev, "threads", "1"));
        MUST(recur_device_get_option(dev, "threads", value, sizeof value));
        CHECK(!strcmp(value, "1"), "threads after set 1: %s", value);
        MUST(recur_device_set_option(dev, "threads", "default"));
        CHECK(recur_device_set_option(dev, "threads", "many") == RECUR_E_INVALID, "threads=many must be refused");
    } else {
        CHECK(st == RECUR_E_UNSUPPORTED, "get_option threads: %s", recur_last_error());
    }
    CHECK(recur_device_set_option(dev, "no-such-option", "1") == RECUR_E_UNSUPPORTED,
          "an unknown option must give RECUR_E_UNSUPPORTED");
    CHECK(strstr(recur_last_error(), "no-such-option") != NULL, "the message should name the option: %s",
          recur_last_error());

    st = recur_write(dev, recur_at(Y, 4), y, 3); /* 4 + 3 > 6 */
    CHECK(st == RECUR_E_INVALID, "an overrunning write must fail with RECUR_E_INVALID (got %d)", st);
    CHECK(strstr(recur_last_error(), "overruns") != NULL, "message: %s", recur_last_error());
    recur_free(dev, Bi);
    recur_free(dev, Y);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_blas /path/to/librecur-blas.so\n");
        return 2;
    }
    recur_backend *b;
    MUST(recur_backend_load(argv[1], &b));
    CHECK(!strcmp(recur_backend_name(b), "blas"), "backend name is '%s'", recur_backend_name(b));
    MUST(recur_device_open(b, "0", &dev));
    const recur_device_info *info = recur_device_get_info(dev);
    printf("backend %s %s, device %s (%s)\n", recur_backend_name(b), recur_backend_version(b), info->name,
           info->driver);
    CHECK(info->host_addressable == 1, "the blas device must be host-addressable");

    test_gemm();
    test_vector_ops();
    test_fallback_and_options();

    recur_device_close(dev);
    recur_backend_unload(b);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all blas checks passed\n");
    return 0;
}
