/* The loader: every way a plugin can be wrong gets its own clear message; good plugins load by name,
 * by path and from the environment. BROKEN_DIR and REF_PATH come from CMake. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/recur.h"
#include "testlib.h"

static char path_buf[4096];
static const char *broken(const char *name) {
    snprintf(path_buf, sizeof path_buf, "%s/librecur-%s.so", BROKEN_DIR, name);
    return path_buf;
}

#define ASSERT_MSG_HAS(needle)                                                                             \
    do {                                                                                                   \
        const char *msg_ = recur_last_error();                                                             \
        if (!strstr(msg_, needle)) fprintf(stderr, "\nmessage was: %s\n", msg_);                           \
        CU_ASSERT_PTR_NOT_NULL(strstr(msg_, needle));                                                      \
    } while (0)

static void test_missing_file(void) {
    recur_backend *b = (recur_backend *)1;
    CU_ASSERT_EQUAL(recur_backend_load("/nonexistent/librecur-x.so", &b), RECUR_E_NOTFOUND);
    CU_ASSERT_PTR_NULL(b);
    ASSERT_MSG_HAS("/nonexistent/librecur-x.so");
    ASSERT_MSG_HAS("not found");
}

static void test_unknown_name(void) {
    recur_backend *b;
    CU_ASSERT_EQUAL(recur_backend_load("nosuchbackend", &b), RECUR_E_NOTFOUND);
    ASSERT_MSG_HAS("unknown backend 'nosuchbackend'");
    ASSERT_MSG_HAS("backends found:");
    ASSERT_MSG_HAS("ref"); /* the names found are listed */
    ASSERT_MSG_HAS("folders searched:");
}

static void test_not_a_shared_object(void) {
    recur_backend *b;
    CU_ASSERT_EQUAL(recur_backend_load(broken("garbage"), &b), RECUR_E_BACKEND);
    ASSERT_MSG_HAS("librecur-garbage.so");
    ASSERT_MSG_HAS("cannot be loaded");
}

static void test_missing_symbol(void) {
    recur_backend *b;
    CU_ASSERT_EQUAL(recur_backend_load(broken("nosym"), &b), RECUR_E_NOTFOUND);
    ASSERT_MSG_HAS("librecur-nosym.so");
    ASSERT_MSG_HAS("not a recur backend");
    ASSERT_MSG_HAS("recur_backend_entry");
}

static void test_abi_mismatch(void) {
    recur_backend *b;
    CU_ASSERT_EQUAL(recur_backend_load(broken("abi"), &b), RECUR_E_ABI);
    ASSERT_MSG_HAS("librecur-abi.so");
    ASSERT_MSG_HAS("ABI 99.3");
    char want[64];
    snprintf(want, sizeof want, "ABI %d.%d", RECUR_ABI_MAJOR, RECUR_ABI_MINOR);
    ASSERT_MSG_HAS(want);
}

static void test_init_failure(void) {
    recur_backend *b;
    CU_ASSERT_EQUAL(recur_backend_load(broken("init"), &b), RECUR_E_BACKEND);
    ASSERT_MSG_HAS("librecur-init.so");
    ASSERT_MSG_HAS("initialisation failed");
    ASSERT_MSG_HAS("the frobnicator is not plugged in");
}

static void test_zero_devices(void) {
    recur_backend *b;
    CU_ASSERT_EQUAL(recur_backend_load(broken("nodev"), &b), RECUR_E_NODEVICE);
    ASSERT_MSG_HAS("broken-nodev");
    ASSERT_MSG_HAS("no frobnicator card in this machine");
}

static void test_device_memory_with_empty_slots(void) {
    recur_backend *b;
    CU_ASSERT_EQUAL_FATAL(recur_backend_load(broken("devmem"), &b), RECUR_OK);
    recur_device *d;
    CU_ASSERT_EQUAL(recur_device_open(b, "0", &d), RECUR_E_ABI);
    ASSERT_MSG_HAS("op 'fill' is empty");
    ASSERT_MSG_HAS("not host-addressable");
    recur_backend_unload(b);
}

/* A host-addressable plugin with no compute ops at all still works: every op runs on ref, and the
 * device reports which ones fell back. */
static void test_fallback_to_reference(void) {
    recur_device *d;
    CU_ASSERT_EQUAL_FATAL(recur_device_open_default(broken("minimal"), NULL, &d), RECUR_OK);
    recur_ptr x, y;
    CU_ASSERT_EQUAL_FATAL(recur_alloc(d, 4, &x), RECUR_OK);
    CU_ASSERT_EQUAL_FATAL(recur_alloc(d, 4, &y), RECUR_OK);
    float xs[4] = {1, 2, 3, 4}, ys[4] = {10, 20, 30, 40}, out[4];
    recur_write(d, x, xs, 4);
    recur_write(d, y, ys, 4);
    CU_ASSERT_EQUAL(recur_op_axpy(d, 3, 2.0f, x, recur_at(y, 1)), RECUR_OK);
    recur_read(d, out, y, 4);
    CU_ASSERT_EQUAL(out[0], 10.0f);
    CU_ASSERT_EQUAL(out[1], 22.0f);
    CU_ASSERT_EQUAL(out[2], 34.0f);
    CU_ASSERT_EQUAL(out[3], 46.0f);
    const char *names[8];
    CU_ASSERT_EQUAL(recur_device_fallback_ops(d, names, 8), 1);
    CU_ASSERT_STRING_EQUAL(names[0], "axpy");
    recur_free(d, x);
    recur_free(d, y);
    recur_device_close(d);
}

/* A plugin built against ABI 1.0 (its ops table ends after dropout) loads on this newer host; the host never
 * reads past its table: the later ops (transpose, rnn_step, rnn_step_input, rnn_steps_input, rnn_steps,
 * rnn_steps_bwd) count as empty slots, and on host-addressable memory the reference kernels run them. */
static void test_older_minor_plugin(void) {
    recur_device *d;
    CU_ASSERT_EQUAL_FATAL(recur_device_open_default(broken("minimal10"), NULL, &d), RECUR_OK);
    CU_ASSERT_TRUE(recur_op_available(d, "transpose"));
    CU_ASSERT_TRUE(recur_op_available(d, "rnn_step"));
    CU_ASSERT_TRUE(recur_op_available(d, "rnn_step_input"));
    CU_ASSERT_TRUE(recur_op_available(d, "rnn_steps_input"));
    CU_ASSERT_TRUE(recur_op_available(d, "rnn_steps"));
    CU_ASSERT_TRUE(recur_op_available(d, "rnn_steps_bwd"));
    CU_ASSERT_TRUE(recur_op_available(d, "gemm"));
    CU_ASSERT_FALSE(recur_op_available(d, "no_such_op"));
    recur_ptr x, y;
    CU_ASSERT_EQUAL_FATAL(recur_alloc(d, 6, &x), RECUR_OK);
    CU_ASSERT_EQUAL_FATAL(recur_alloc(d, 6, &y), RECUR_OK);
    const float xs[6] = {1, 2, 3, 4, 5, 6}; /* 2 x 3 */
    float out[6];
    recur_write(d, x, xs, 6);
    CU_ASSERT_EQUAL(recur_op_transpose(d, 2, 3, x, 3, y, 2), RECUR_OK);
    recur_read(d, out, y, 6);
    const float want[6] = {1, 4, 2, 5, 3, 6}; /* 3 x 2 */
    for (int i = 0; i < 6; i++) CU_ASSERT_EQUAL(out[i], want[i]);
    /* rnn_step on the reference kernel too: one RNN unit, h_prev 0.5, W^T 2, xg 0.1, bias_h 0.25:
     * h = tanh(0.1 + 0.5 * 2 + 0.25). */
    const float step_in[6] = {0.5f, 2.0f, 0.1f, 0.25f, 0, 0}; /* h_prev, w, xg, bias_h, h, - */
    recur_write(d, x, step_in, 6);
    CU_ASSERT_EQUAL(recur_op_rnn_step(d, RECUR_STEP_RNN_TANH, 1, 1, recur_at(x, 0), recur_at(x, 1), 1, RECUR_NULLPTR,
                                      recur_at(x, 3), recur_at(x, 2), RECUR_NULLPTR, RECUR_NULLPTR, RECUR_NULLPTR,
                                      recur_at(x, 4), RECUR_NULLPTR, 1, RECUR_NULLPTR, 0),
                    RECUR_OK);
    recur_read(d, out, x, 6);
    CU_ASSERT_DOUBLE_EQUAL(out[4], tanh(1.35), 1e-6);
    /* and rnn_step_input: the same step with xg = x W_x = 0.4 * 0.25 (x in y[0], W_x in y[1]) */
    const float proj_in[2] = {0.4f, 0.25f};
    recur_write(d, y, proj_in, 2);
    CU_ASSERT_EQUAL(recur_op_rnn_step_input(d, RECUR_STEP_RNN_TANH, 1, 1, 1, recur_at(y, 0), 1, recur_at(y, 1), 1,
                                            recur_at(x, 0), recur_at(x, 1), 1, RECUR_NULLPTR, recur_at(x, 3),
                                            recur_at(x, 2), RECUR_NULLPTR, RECUR_NULLPTR, RECUR_NULLPTR, recur_at(x, 4),
                                            RECUR_NULLPTR, 1, RECUR_NULLPTR, 0),
                    RECUR_OK);
    recur_read(d, out, x, 6);
    CU_ASSERT_DOUBLE_EQUAL(out[4], tanh(1.35), 1e-6);
    /* and rnn_steps_input over one step: W^T x[0], bias_h x[1], work space x[2], states x[4] (h0) and x[5]:
     * the same h again */
    const float steps_in[6] = {2.0f, 0.25f, 0, 0, 0.5f, 0};
    recur_write(d, x, steps_in, 6);
    CU_ASSERT_EQUAL(recur_op_rnn_steps_input(d, RECUR_STEP_RNN_TANH, 1, 1, 1, 1, 0, recur_at(y, 0), 1, recur_at(y, 1), 1,
                                             recur_at(x, 0), 1, RECUR_NULLPTR, recur_at(x, 1), recur_at(x, 4),
                                             RECUR_NULLPTR, recur_at(x, 2), RECUR_NULLPTR, RECUR_NULLPTR, 1,
                                             RECUR_NULLPTR),
                    RECUR_OK);
    recur_read(d, out, x, 6);
    CU_ASSERT_DOUBLE_EQUAL(out[5], tanh(1.35), 1e-6);
    /* rnn_steps over one step: W^T x[0], bias_h x[1], the step's xg x[2] = 0.1, states x[4] and x[5] */
    const float steps_fwd[6] = {2.0f, 0.25f, 0.1f, 0, 0.5f, 0};
    recur_write(d, x, steps_fwd, 6);
    CU_ASSERT_EQUAL(recur_op_rnn_steps(d, RECUR_STEP_RNN_TANH, 1, 1, 1, 0, recur_at(x, 0), 1, RECUR_NULLPTR,
                                       recur_at(x, 1), recur_at(x, 4), RECUR_NULLPTR, recur_at(x, 2), RECUR_NULLPTR,
                                       RECUR_NULLPTR, 1, RECUR_NULLPTR),
                    RECUR_OK);
    recur_read(d, out, x, 6);
    const double h1 = tanh(1.35);
    CU_ASSERT_DOUBLE_EQUAL(out[5], h1, 1e-6);
    /* and its backward: dh = 1 in y[2] becomes dpre W_hh = (1 - h1^2) 2, dpre in y[3] */
    const float dh_in[2] = {1.0f, 0};
    recur_write(d, recur_at(y, 2), dh_in, 2);
    CU_ASSERT_EQUAL(recur_op_rnn_steps_bwd(d, RECUR_STEP_RNN_TANH, 1, 1, 1, 0, recur_at(x, 0), 1, recur_at(x, 4),
                                           RECUR_NULLPTR, recur_at(x, 2), RECUR_NULLPTR, RECUR_NULLPTR, 1,
                                           recur_at(y, 2), RECUR_NULLPTR, recur_at(y, 3), RECUR_NULLPTR, RECUR_NULLPTR),
                    RECUR_OK);
    recur_read(d, out, y, 6);
    CU_ASSERT_DOUBLE_EQUAL(out[3], 1.0 - h1 * h1, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(out[2], 2.0 * (1.0 - h1 * h1), 1e-6);
    const char *names[8];
    CU_ASSERT_EQUAL(recur_device_fallback_ops(d, names, 8), 6);
    CU_ASSERT_STRING_EQUAL(names[0], "transpose");
    CU_ASSERT_STRING_EQUAL(names[1], "rnn_step");
    CU_ASSERT_STRING_EQUAL(names[2], "rnn_step_input");
    CU_ASSERT_STRING_EQUAL(names[3], "rnn_steps_input");
    CU_ASSERT_STRING_EQUAL(names[4], "rnn_steps");
    CU_ASSERT_STRING_EQUAL(names[5], "rnn_steps_bwd");
    recur_free(d, x);
    recur_free(d, y);
    recur_device_close(d);
}

static void test_load_ref_by_name_path_and_env(void) {
    recur_backend *b;
    CU_ASSERT_EQUAL_FATAL(recur_backend_load("ref", &b), RECUR_OK);
    CU_ASSERT_STRING_EQUAL(recur_backend_name(b), "ref");
    CU_ASSERT_TRUE(recur_backend_device_count(b) >= 1);
    recur_backend_unload(b);
    CU_ASSERT_EQUAL_FATAL(recur_backend_load(REF_PATH, &b), RECUR_OK);
    CU_ASSERT_STRING_EQUAL(recur_backend_name(b), "ref");
    recur_backend_unload(b);
    setenv("RECUR_BACKEND", "ref", 1);
    CU_ASSERT_EQUAL_FATAL(recur_backend_load(NULL, &b), RECUR_OK);
    CU_ASSERT_STRING_EQUAL(recur_backend_name(b), "ref");
    recur_backend_unload(b);
    unsetenv("RECUR_BACKEND");
}

static void test_device_selector(void) {
    recur_backend *b;
    recur_device *d;
    CU_ASSERT_EQUAL_FATAL(recur_backend_load("ref", &b), RECUR_OK);
    CU_ASSERT_EQUAL(recur_device_open(b, "7", &d), RECUR_E_NOTFOUND);
    ASSERT_MSG_HAS("out of range");
    CU_ASSERT_EQUAL(recur_device_open(b, "quantum", &d), RECUR_E_NOTFOUND);
    ASSERT_MSG_HAS("no device matches 'quantum'");
    CU_ASSERT_EQUAL_FATAL(recur_device_open(b, "REFERENCE", &d), RECUR_OK);
    recur_device_close(d);
    recur_backend_unload(b);
}

static CU_TestInfo loader_tests[] = {
    {.pName = "missing_file", .pTestFunc = test_missing_file},
    {.pName = "unknown_name", .pTestFunc = test_unknown_name},
    {.pName = "not_a_shared_object", .pTestFunc = test_not_a_shared_object},
    {.pName = "missing_symbol", .pTestFunc = test_missing_symbol},
    {.pName = "abi_mismatch", .pTestFunc = test_abi_mismatch},
    {.pName = "init_failure", .pTestFunc = test_init_failure},
    {.pName = "zero_devices", .pTestFunc = test_zero_devices},
    {.pName = "device_memory_with_empty_slots", .pTestFunc = test_device_memory_with_empty_slots},
    {.pName = "fallback_to_reference", .pTestFunc = test_fallback_to_reference},
    {.pName = "older_minor_plugin", .pTestFunc = test_older_minor_plugin},
    {.pName = "load_ref_by_name_path_and_env", .pTestFunc = test_load_ref_by_name_path_and_env},
    {.pName = "device_selector", .pTestFunc = test_device_selector},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "loader", .pTests = loader_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv) { return recur_test_main(argc, argv, suites); }
