/*
 * Pins the layout of every struct in recur/backend.h (x86-64 / LP64). A change that moves, resizes or
 * removes a field fails here: that is an ABI break, which must bump RECUR_ABI_MAJOR on purpose and then
 * update this table. Appending methods (a minor version) only adds rows and changes the struct's size.
 * Regenerate the rows with tests/gen_abi_layout.py after a deliberate change.
 */
#include <stddef.h>
#include <stdio.h>

#include "recur/backend.h"
#include "testlib.h"

struct row {
    const char *what;
    size_t got, want;
};

#define SIZE(s, n) {"sizeof(" #s ")", sizeof(s), n}
#define FIELD(s, f, n) {"offsetof(" #s ", " #f ")", offsetof(s, f), n}

static const struct row rows[] = {
    SIZE(recur_ptr, 16),
    FIELD(recur_ptr, buf, 0),
    FIELD(recur_ptr, off, 8),
    SIZE(recur_services, 40),
    FIELD(recur_services, abi_major, 0),
    FIELD(recur_services, struct_size, 4),
    FIELD(recur_services, abi_minor, 8),
    FIELD(recur_services, reserved, 12),
    FIELD(recur_services, log, 16),
    FIELD(recur_services, set_error, 24),
    FIELD(recur_services, getenv, 32),
    SIZE(recur_device_info, 352),
    FIELD(recur_device_info, abi_major, 0),
    FIELD(recur_device_info, struct_size, 4),
    FIELD(recur_device_info, name, 8),
    FIELD(recur_device_info, vendor, 136),
    FIELD(recur_device_info, driver, 200),
    FIELD(recur_device_info, platform, 264),
    FIELD(recur_device_info, memory_bytes, 328),
    FIELD(recur_device_info, compute_units, 336),
    FIELD(recur_device_info, kind, 340),
    FIELD(recur_device_info, host_addressable, 344),
    FIELD(recur_device_info, reserved, 348),
    SIZE(recur_ops, 360),
    FIELD(recur_ops, abi_major, 0),
    FIELD(recur_ops, struct_size, 4),
    FIELD(recur_ops, buf_alloc, 8),
    FIELD(recur_ops, buf_free, 16),
    FIELD(recur_ops, host_ptr, 24),
    FIELD(recur_ops, write, 32),
    FIELD(recur_ops, read, 40),
    FIELD(recur_ops, sync, 48),
    FIELD(recur_ops, fill, 56),
    FIELD(recur_ops, copy, 64),
    FIELD(recur_ops, scale, 72),
    FIELD(recur_ops, axpy, 80),
    FIELD(recur_ops, mul, 88),
    FIELD(recur_ops, gemm, 96),
    FIELD(recur_ops, add_bias, 104),
    FIELD(recur_ops, sum_rows, 112),
    FIELD(recur_ops, sum_sq, 120),
    FIELD(recur_ops, act_fwd, 128),
    FIELD(recur_ops, act_bwd, 136),
    FIELD(recur_ops, softmax_fwd, 144),
    FIELD(recur_ops, softmax_bwd, 152),
    FIELD(recur_ops, lstm_fwd, 160),
    FIELD(recur_ops, lstm_bwd, 168),
    FIELD(recur_ops, gru_fwd, 176),
    FIELD(recur_ops, gru_bwd, 184),
    FIELD(recur_ops, gru_reset, 192),
    FIELD(recur_ops, gru_reset_bwd, 200),
    FIELD(recur_ops, rnn_fwd, 208),
    FIELD(recur_ops, rnn_bwd, 216),
    FIELD(recur_ops, select_step, 224),
    FIELD(recur_ops, embed_fwd, 232),
    FIELD(recur_ops, embed_bwd, 240),
    FIELD(recur_ops, xent_fwd_bwd, 248),
    FIELD(recur_ops, bce_fwd_bwd, 256),
    FIELD(recur_ops, mse_fwd_bwd, 264),
    FIELD(recur_ops, sgd_step, 272),
    FIELD(recur_ops, adam_step, 280),
    FIELD(recur_ops, clip_norm, 288),
    FIELD(recur_ops, clip_value, 296),
    FIELD(recur_ops, dropout, 304),
    FIELD(recur_ops, transpose, 312),
    FIELD(recur_ops, rnn_step, 320),
    FIELD(recur_ops, rnn_step_input, 328),
    FIELD(recur_ops, rnn_steps_input, 336),
    FIELD(recur_ops, rnn_steps, 344),
    FIELD(recur_ops, rnn_steps_bwd, 352),
    SIZE(recur_backend_iface, 112),
    FIELD(recur_backend_iface, abi_major, 0),
    FIELD(recur_backend_iface, struct_size, 4),
    FIELD(recur_backend_iface, abi_minor, 8),
    FIELD(recur_backend_iface, reserved, 12),
    FIELD(recur_backend_iface, name, 16),
    FIELD(recur_backend_iface, version, 24),
    FIELD(recur_backend_iface, description, 32),
    FIELD(recur_backend_iface, probe, 40),
    FIELD(recur_backend_iface, device_info, 48),
    FIELD(recur_backend_iface, device_open, 56),
    FIELD(recur_backend_iface, device_close, 64),
    FIELD(recur_backend_iface, ops, 72),
    FIELD(recur_backend_iface, set_option, 80),
    FIELD(recur_backend_iface, get_option, 88),
    FIELD(recur_backend_iface, get_proc, 96),
    FIELD(recur_backend_iface, shutdown, 104),
};

static void test_layout(void) {
#if defined(__x86_64__) || defined(__aarch64__)
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].got != rows[i].want)
            fprintf(stderr, "\nABI layout changed: %s is %zu, pinned %zu\n", rows[i].what, rows[i].got, rows[i].want);
        CU_ASSERT_EQUAL(rows[i].got, rows[i].want);
    }
#endif
}

static void test_version(void) {
    /* Pinned together with the rows above: bump both on purpose. */
    CU_ASSERT_EQUAL(RECUR_ABI_MAJOR, 1);
    CU_ASSERT_EQUAL(RECUR_ABI_MINOR, 4);
}

/* The generator every backend shares: Philox4x32-10's published known-answer test
 * (Random123 kat_vectors: ctr = 0, key = 0 gives 6627e8d5 e169c58d bc57ac4c 9b00dbd8), and its mapping to
 * element indices. */
static void test_philox(void) {
    CU_ASSERT_EQUAL(recur_philox_u32(0, 0), 0x6627e8d5u);
    CU_ASSERT_EQUAL(recur_philox_u32(0, 1), 0xe169c58du);
    CU_ASSERT_EQUAL(recur_philox_u32(0, 2), 0xbc57ac4cu);
    CU_ASSERT_EQUAL(recur_philox_u32(0, 3), 0x9b00dbd8u);
    float u = recur_philox_uniform(42, 12345);
    CU_ASSERT_TRUE(u >= 0.0f && u < 1.0f);
}

static CU_TestInfo abi_tests[] = {
    {.pName = "layout", .pTestFunc = test_layout},
    {.pName = "version", .pTestFunc = test_version},
    {.pName = "philox", .pTestFunc = test_philox},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {.pName = "abi", .pTests = abi_tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv) { return recur_test_main(argc, argv, suites); }
