/* Shared bits of the deliberately broken plugins: a minimal, otherwise valid backend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recur/backend.h"

static const recur_services *svc;
struct recur_buf { float data[1]; };

static int b_alloc(void *dev, size_t bytes, recur_buf **out) { *out = malloc(bytes ? bytes : 1); return 0; }
static void b_free(void *dev, recur_buf *b) { free(b); }
static void *b_host(void *dev, recur_buf *b) { return b; }
static int b_write(void *dev, recur_ptr dst, const void *src, size_t n) {
    memcpy((float *)dst.buf + dst.off, src, n * 4);
    return 0;
}
static int b_read(void *dev, void *dst, recur_ptr src, size_t n) {
    memcpy(dst, (float *)src.buf + src.off, n * 4);
    return 0;
}
static int b_sync(void *dev) { return 0; }
static inline int b_devinfo(int i, recur_device_info *info) {
    snprintf(info->name, sizeof info->name, "broken device");
    info->host_addressable = HOST_ADDRESSABLE;
    return 0;
}
static inline int b_open(int i, void **dev) { *dev = (void *)&svc; return 0; }
static inline void b_close(void *dev) {}

/* OPS_V1_0: the ops table as a plugin built against ABI 1.0 has it (it ends after dropout). What lies
 * beyond struct_size is not the plugin's: here a transpose, an rnn_step, an rnn_step_input, an
 * rnn_steps_input, an rnn_steps and an rnn_steps_bwd that fail loudly if the host ever calls them. */
#ifdef OPS_V1_0
#define BROKEN_OPS_SIZE offsetof(recur_ops, transpose)
static int b_beyond_table(void *dev, size_t rows, size_t cols, recur_ptr x, size_t ldx, recur_ptr y, size_t ldy) {
    return svc->set_error(RECUR_E_ABI, "the host called a method past the plugin's struct_size");
}
static int b_step_beyond_table(void *dev, int cell, size_t B, size_t H, recur_ptr h_prev, recur_ptr w, size_t ldw,
                               recur_ptr bias_x, recur_ptr bias_h, recur_ptr xg, recur_ptr hg, recur_ptr c_prev,
                               recur_ptr c, recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    return svc->set_error(RECUR_E_ABI, "the host called a method past the plugin's struct_size");
}
static int b_step_input_beyond_table(void *dev, int cell, size_t B, size_t H, size_t in, recur_ptr x, size_t ldx,
                                     recur_ptr wx, size_t ldwx, recur_ptr h_prev, recur_ptr w, size_t ldw,
                                     recur_ptr bias_x, recur_ptr bias_h, recur_ptr xg, recur_ptr hg, recur_ptr c_prev,
                                     recur_ptr c, recur_ptr h, recur_ptr y, size_t ldy, recur_ptr lengths, size_t t) {
    return svc->set_error(RECUR_E_ABI, "the host called a method past the plugin's struct_size");
}
static int b_steps_input_beyond_table(void *dev, int cell, size_t T, size_t B, size_t H, size_t in, int reverse,
                                      recur_ptr x, size_t ldx, recur_ptr wx, size_t ldwx, recur_ptr w, size_t ldw,
                                      recur_ptr bias_x, recur_ptr bias_h, recur_ptr s, recur_ptr c, recur_ptr xg,
                                      recur_ptr hg, recur_ptr y, size_t ldy, recur_ptr lengths) {
    return svc->set_error(RECUR_E_ABI, "the host called a method past the plugin's struct_size");
}
static int b_steps_beyond_table(void *dev, int cell, size_t T, size_t B, size_t H, int reverse, recur_ptr w,
                                size_t ldw, recur_ptr bias_x, recur_ptr bias_h, recur_ptr s, recur_ptr c, recur_ptr xg,
                                recur_ptr hg, recur_ptr y, size_t ldy, recur_ptr lengths) {
    return svc->set_error(RECUR_E_ABI, "the host called a method past the plugin's struct_size");
}
static int b_steps_bwd_beyond_table(void *dev, int cell, size_t T, size_t B, size_t H, int reverse, recur_ptr w,
                                    size_t ldw, recur_ptr s, recur_ptr c, recur_ptr xg, recur_ptr hg, recur_ptr dy,
                                    size_t ldy, recur_ptr dh, recur_ptr dc, recur_ptr dg, recur_ptr dhg,
                                    recur_ptr lengths) {
    return svc->set_error(RECUR_E_ABI, "the host called a method past the plugin's struct_size");
}
#define BROKEN_OPS_BEYOND                                                                                  \
    .transpose = b_beyond_table, .rnn_step = b_step_beyond_table, .rnn_step_input = b_step_input_beyond_table, \
    .rnn_steps_input = b_steps_input_beyond_table, .rnn_steps = b_steps_beyond_table,                          \
    .rnn_steps_bwd = b_steps_bwd_beyond_table,
#else
#define BROKEN_OPS_SIZE sizeof(recur_ops)
#define BROKEN_OPS_BEYOND
#endif
static const recur_ops broken_ops = {
    .abi_major = RECUR_ABI_MAJOR, .struct_size = BROKEN_OPS_SIZE,
    .buf_alloc = b_alloc, .buf_free = b_free, .host_ptr = b_host, .write = b_write, .read = b_read, .sync = b_sync,
    BROKEN_OPS_BEYOND
};
