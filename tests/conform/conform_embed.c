/* Conformance: embed_fwd, embed_bwd (repeated ids, padding_idx). */
#include <math.h>

#include "conform_util.h"

typedef struct {
    size_t n, dim, V, off;
    int32_t padding_idx; /* embed_bwd: < 0 none; otherwise ids[0] is set to it so it occurs */
} embed_case;

static const embed_case embed_cases[] = {
    {.n = 0, .dim = 3, .V = 5, .padding_idx = -1},
    {.n = 5, .dim = 0, .V = 3, .padding_idx = -1, .off = 1},
    {.n = 1, .dim = 1, .V = 1, .padding_idx = -1},
    {.n = 1, .dim = 1, .V = 1, .padding_idx = 0, .off = 2},
    {.n = 3, .dim = 17, .V = 5, .padding_idx = 2, .off = 3},
    {.n = 17, .dim = 3, .V = 4, .padding_idx = -1},          /* every id repeats */
    {.n = 67, .dim = 67, .V = 10, .padding_idx = 0, .off = 1},
    {.n = 1031, .dim = 2, .V = 7, .padding_idx = 6},
    {.n = 4, .dim = 129, .V = 1000, .padding_idx = 999, .off = 5},
    {.n = 33, .dim = 5, .V = 3, .padding_idx = 1},
    {.n = 5000, .dim = 33, .V = 50, .padding_idx = 7, .off = 1},
};
#define N_EMBED_CASES (sizeof embed_cases / sizeof embed_cases[0])

static ct_tensor *make_ids(ct_case *c, const embed_case *k, int with_padding) {
    ct_tensor *ids = ct_ints(c, "ids", k->n, NULL);
    ct_rand_int(ids, 0, (int32_t)k->V - 1);
    if (with_padding && k->padding_idx >= 0 && k->n) {
        ct_i(ids)[0] = k->padding_idx;
        if (k->n > 2) ct_i(ids)[k->n - 1] = k->padding_idx;
    }
    return ids;
}

static void test_embed_fwd(void) {
    ct_op_begin("embed_fwd");
    for (size_t i = 0; i < N_EMBED_CASES; i++) {
        const embed_case *k = &embed_cases[i];
        ct_case *c = ct_case_begin("n=%zu dim=%zu V=%zu off=%zu", k->n, k->dim, k->V, k->off);
        ct_case_offset(c, k->off);
        ct_tensor *ids = make_ids(c, k, 0);
        ct_tensor *table = ct_mat(c, "table", CT_IN, k->V, k->dim, k->dim);
        ct_tensor *out = ct_mat(c, "out", CT_OUT, k->n, k->dim, k->dim);
        ct_rand(table, -2, 2);
        ct_const(out, NAN);
        CT_RUN(c, recur_op_embed_fwd(CT_D, k->n, k->dim, CT_P(ids), CT_P(table), CT_P(out)));
        ct_case_end(c);
    }
}

static void test_embed_bwd(void) {
    ct_op_begin("embed_bwd");
    for (size_t i = 0; i < N_EMBED_CASES; i++) {
        const embed_case *k = &embed_cases[i];
        ct_case *c = ct_case_begin("n=%zu dim=%zu V=%zu padding_idx=%d off=%zu", k->n, k->dim, k->V,
                                   (int)k->padding_idx, k->off);
        ct_case_offset(c, k->off);
        ct_tensor *ids = make_ids(c, k, 1);
        ct_tensor *dout = ct_mat(c, "dout", CT_IN, k->n, k->dim, k->dim);
        ct_tensor *dtable = ct_mat(c, "dtable", CT_OUT, k->V, k->dim, k->dim);
        ct_rand(dout, -1, 1);
        ct_rand(dtable, -1, 1); /* accumulated into */
        size_t maxrep = 0;
        for (size_t v = 0; v < k->V; v++) {
            size_t rep = 0;
            for (size_t j = 0; j < k->n; j++) rep += ct_i(ids)[j] == (int32_t)v;
            if (rep > maxrep) maxrep = rep;
        }
        ct_tol(dtable, c->op->rtol, ct_amax(dtable) + (double)maxrep * ct_amax(dout));
        CT_RUN(c, recur_op_embed_bwd(CT_D, k->n, k->dim, CT_P(ids), CT_P(dout), k->padding_idx, CT_P(dtable)));
        ct_case_end(c);
    }
}

CU_TestInfo ct_embed_tests[] = {
    {.pName = "embed_fwd", .pTestFunc = test_embed_fwd},
    {.pName = "embed_bwd", .pTestFunc = test_embed_bwd},
    CU_TEST_INFO_NULL,
};
