/* Embedding gather and its scatter-add backward. */
#include <string.h>

#include "ref_kernels.h"

/* out[i, :] = table[ids[i], :] */
void recur_k_embed_fwd(size_t n, size_t dim, const int32_t *ids, const float *table, float *out, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(n, ith, nth, &lo, &hi);
    for (size_t i = lo; i < hi; i++) memcpy(out + i * dim, table + (size_t)ids[i] * dim, dim * sizeof(float));
}

/* dtable[ids[i], :] += dout[i, :] in increasing i, skipping padding_idx; split over columns, so every
 * element's additions happen in the same order whatever the split. */
void recur_k_embed_bwd(size_t n, size_t dim, const int32_t *ids, const float *dout, int32_t padding_idx,
                       float *dtable, int ith, int nth) {
    size_t lo, hi;
    recur_k_slice(dim, ith, nth, &lo, &hi);
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == padding_idx) continue;
        float *row = dtable + (size_t)ids[i] * dim;
        const float *d = dout + i * dim;
        for (size_t c = lo; c < hi; c++) row[c] += d[c];
    }
}
