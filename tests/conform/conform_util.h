/*
 * The conformance kit's harness: every case runs one op on identical inputs on two devices — the oracle
 * (`ref`, device 0) and the target — then reads back every tensor it touched, whole (sentinel padding,
 * leading-dimension gaps and inputs included), and compares.
 *
 * A tensor is one allocation per device laid out as
 *     [lead sentinels][data region, possibly with ld / batch-stride gaps][tail sentinels]
 * and the op receives recur_at(buffer, lead). Elements outside the data region (and every element of an
 * input tensor) must come back bit-identical to what was uploaded; elements of an output's data region
 * are compared with the oracle's within the op's tolerance:
 *     err = |target - ref| / max(|ref|, S),   pass iff err <= rtol     (rtol == 0: exact equality)
 * where S (the "floor") is chosen per op and tensor (docs/conformance.md lists them).
 *
 * Typical op test:
 *     ct_case *c = ct_case_begin("n=%zu", n);
 *     ct_tensor *x = ct_vec(c, "x", CT_IN, n);   ct_rand(x, -1, 1);
 *     ct_tensor *y = ct_vec(c, "y", CT_OUT, n);  ct_const(y, NAN);
 *     CT_RUN(c, recur_op_act_fwd(CT_D, act, n, CT_P(x), CT_P(y)));
 *     ct_case_end(c);
 */
#ifndef RECUR_CONFORM_UTIL_H
#define RECUR_CONFORM_UTIL_H

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdint.h>

#include "recur/recur.h"

#define CT_REF 0 /* the oracle */
#define CT_TGT 1 /* the backend under test */

#define CT_MAX_TENSORS 16

/* ---- the run: devices, options, per-op statistics ---------------------------------------------------- */

typedef struct ct_op_info {
    const char *name;  /* the recur_ops slot */
    const char *suite; /* the CUnit suite (op family) */
    double rtol;       /* 0: exact */
    const char *floor; /* how S is chosen, one line */
    /* statistics of this run */
    int ran, cases, passed;
    double max_err;
} ct_op_info;

extern ct_op_info ct_ops[];
extern const size_t ct_op_count;

typedef struct ct_config {
    recur_device *dev[2];
    int verbose;
    int max_fail_lines; /* failure details printed per op (verbose: all) */
} ct_config;
extern ct_config ct_cfg;

/* What is running now (NULL between cases), for the crash report. */
extern const char *volatile ct_running_op;
extern const char *volatile ct_running_case;

ct_op_info *ct_op_find(const char *name);
/* Start the test of one op: sets the current op for the cases that follow. */
void ct_op_begin(const char *name);
/* ct_op_begin for an optional op (added in ABI `since`): 1 where the target can run it; otherwise 0, after
 * saying it was skipped (a backend with device memory may leave it out, and the core then does without). */
int ct_optional_op_begin(const char *name, const char *since);

/* ---- cases and tensors --------------------------------------------------------------------------------- */

enum ct_role {
    CT_IN = 0,  /* input: must come back bit-identical */
    CT_OUT = 1, /* output or in-out: compared with the oracle */
};

typedef struct ct_tensor {
    struct ct_case *owner;
    char name[24];
    int role;
    int is_int;       /* int32 contents: compared bitwise */
    int mask_exact;   /* the set of exact zeros must match the oracle's (dropout masks) */
    double rtol;      /* defaults to the op's */
    double floor;     /* S */
    double floor_rel; /* S = max(floor, floor_rel * max |oracle data|) */
    size_t rows, cols, ld, batch, stride;
    size_t lead, span, total; /* elements */
    void *init;               /* uploaded contents, total elements of 4 bytes */
    unsigned char *is_data;   /* 1 inside the data region */
    void *got[2];             /* read back from each device */
    recur_ptr p[2];
} ct_tensor;

typedef struct ct_case {
    char name[200];
    ct_op_info *op;
    uint64_t rng;
    size_t off; /* offset of the first tensor; later ones get off + k (0: all at 0) */
    int ntensors;
    ct_tensor t[CT_MAX_TENSORS];
    int uploaded, ran;
    int st[2];
    int failed;
    double max_err;
    char msg[2048];
    size_t msg_len;
} ct_case;

ct_case *ct_case_begin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Offset (in elements) of the tensors created after this call; 0 puts them at the buffer start. */
void ct_case_offset(ct_case *c, size_t off);

/* A batch of row-major matrices: element (k, r, col) of the data at k*stride + r*ld + col. */
ct_tensor *ct_tensor_new(ct_case *c, const char *name, int role, size_t rows, size_t cols, size_t ld,
                         size_t batch, size_t stride);
ct_tensor *ct_vec(ct_case *c, const char *name, int role, size_t n);
ct_tensor *ct_mat(ct_case *c, const char *name, int role, size_t rows, size_t cols, size_t ld);
/* int32 input, n values copied from vals (vals may be NULL: zeros). */
ct_tensor *ct_ints(ct_case *c, const char *name, size_t n, const int32_t *vals);

/* Host view of the initial contents, indexed like the op indexes its argument (element 0 = p.off). */
float *ct_f(ct_tensor *t);
int32_t *ct_i(ct_tensor *t);
/* What a device returned, same indexing (after CT_RUN). */
const float *ct_got(const ct_tensor *t, int dev);

/* Fill the data region (gaps keep their sentinels). */
void ct_rand(ct_tensor *t, float lo, float hi);
/* Uniform in [lo, hi] but never closer to 0 than minabs. */
void ct_rand_nz(ct_tensor *t, float lo, float hi, float minabs);
void ct_const(ct_tensor *t, float v);
/* Random integers in [lo, hi] into an int tensor. */
void ct_rand_int(ct_tensor *t, int32_t lo, int32_t hi);

/* Tolerance per tensor. */
void ct_tol(ct_tensor *t, double rtol, double floor);
void ct_floor_rel(ct_tensor *t, double frac);
void ct_mask_exact(ct_tensor *t);

/* Largest |value| in the data region of the initial contents (NaN ignored). */
double ct_amax(ct_tensor *t);

/* The case's generator (seeded from the op name and the case's index within the op). */
double ct_uniform(ct_case *c); /* [0, 1) */
float ct_randf(ct_case *c, float lo, float hi);
int32_t ct_randi(ct_case *c, int32_t lo, int32_t hi); /* [lo, hi] */

/* Argument for device d; NULL tensor -> RECUR_NULLPTR. */
recur_ptr ct_p(const ct_tensor *t, int dev);

/* Record a failure of the case (printf-style message). */
void ct_fail(ct_case *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Allocate and upload every tensor on both devices; 0 if that failed (the case is then failed). */
int ct_upload(ct_case *c);
/* Read every tensor back from both devices and compare; called by CT_RUN after the op ran on both. */
void ct_compare(ct_case *c);
/* Report, count and free. Returns 1 if the case passed. */
int ct_case_end(ct_case *c);

/* Run `call` once per device: CT_D is the device, CT_P(t) the argument for it. */
#define CT_RUN(c, call)                                                                                    \
    do {                                                                                                   \
        ct_case *ct_c_ = (c);                                                                              \
        if (ct_upload(ct_c_)) {                                                                            \
            for (int ct_d = 0; ct_d < 2; ct_d++) {                                                         \
                recur_clear_error();                                                                       \
                ct_c_->st[ct_d] = (call);                                                                  \
                if (ct_c_->st[ct_d])                                                                       \
                    ct_fail(ct_c_, "%s returned %d (%s): %s", ct_d == CT_REF ? "oracle (ref)" : "target", \
                            ct_c_->st[ct_d], recur_strerror(ct_c_->st[ct_d]), recur_last_error());        \
            }                                                                                              \
            ct_c_->ran = 1;                                                                                \
            ct_compare(ct_c_);                                                                             \
        }                                                                                                  \
    } while (0)
#define CT_D (ct_cfg.dev[ct_d])
#define CT_P(t) ct_p((t), ct_d)

/* ---- the suites ---------------------------------------------------------------------------------------- */
extern CU_TestInfo ct_memory_tests[];
extern CU_TestInfo ct_gemm_tests[];
extern CU_TestInfo ct_reduce_tests[];
extern CU_TestInfo ct_act_tests[];
extern CU_TestInfo ct_cells_tests[];
extern CU_TestInfo ct_embed_tests[];
extern CU_TestInfo ct_losses_tests[];
extern CU_TestInfo ct_optim_tests[];

#endif
