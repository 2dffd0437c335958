/*
 * common.cl - helpers prepended to every program of the opencl backend.
 *
 * Conventions shared by all kernels:
 *   - A tensor argument is a (buffer, ulong element offset) pair; an optional tensor whose recur_ptr was
 *     NULL arrives as a dummy buffer with offset ABSENT, tested with PRESENT(off).
 *   - Element-wise kernels run one work-item per element: ELEMENT(i, n) names the index and returns from
 *     the work-items past the end (the host rounds the global size up to a multiple of the local size).
 *     Straight-line bodies let CPU drivers such as PoCL vectorize across work-items. Kernels over a
 *     (rows, cols) matrix use ELEMENT2(c, r, cols, rows) on a 2-D range (dimension 0 = columns), which
 *     spares a 64-bit division per element.
 *   - Lengths are int32, one per sample: valid(b, t) = lengths absent || t < lengths[b].
 */
#define ABSENT ((ulong)0xFFFFFFFFFFFFFFFFUL)
#define PRESENT(off) ((off) != ABSENT)

#define ELEMENT(i, n)                                                                                      \
    const size_t i = get_global_id(0);                                                                     \
    if (i >= (size_t)(n)) return

#define ELEMENT2(c, r, cols, rows)                                                                         \
    const size_t c = get_global_id(0), r = get_global_id(1);                                               \
    if (c >= (size_t)(cols) || r >= (size_t)(rows)) return

int valid_row(__global const int *len, ulong len_off, ulong b, ulong t) {
    return !PRESENT(len_off) || (long)t < (long)len[len_off + b];
}

float sigmoidf(float x) { return 1.0f / (1.0f + exp(-x)); }

/* Activations (recur_activation): 0 identity, 1 sigmoid, 2 tanh, 3 relu. */
float act_apply(int act, float x) {
    switch (act) {
    case 1: return sigmoidf(x);
    case 2: return tanh(x);
    case 3: return x < 0.0f ? 0.0f : x;   /* NaN and -0 pass through, as torch.relu */
    default: return x;
    }
}

/* f'(x) written from y = f(x). */
float act_grad(int act, float y) {
    switch (act) {
    case 1: return y * (1.0f - y);
    case 2: return 1.0f - y * y;
    case 3: return y > 0.0f ? 1.0f : 0.0f;
    default: return 1.0f;
    }
}

/* ---- deterministic reductions ----
 * A reduction over one work-group uses RLANES logical lanes whatever the real work-group size: lane j sums
 * its strided elements in increasing order, then a fixed binary tree combines the lanes. Work-items loop
 * over lanes when the work-group is smaller than RLANES, so the summation order (and the result) does not
 * depend on the device or on the launch size. */
#define RLANES 256

/* Tree-reduce part[0..RLANES) into part[0]. Every work-item of the group must call it. */
void tree_reduce(__local float *part) {
    const size_t lid = get_local_id(0), lsz = get_local_size(0);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = RLANES / 2; s > 0; s >>= 1) {
        for (size_t j = lid; j < s; j += lsz) part[j] += part[j + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

/* Max over part[0..RLANES) into part[0]; same contract. */
void tree_max(__local float *part) {
    const size_t lid = get_local_id(0), lsz = get_local_size(0);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = RLANES / 2; s > 0; s >>= 1) {
        for (size_t j = lid; j < s; j += lsz) part[j] = fmax(part[j], part[j + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

/* Work-group log-sum-exp pieces of one row xr[0..n): returns max_c xr[c] and writes
 * sum_c exp(xr[c] - max) to *sum, both reduced over RLANES lanes in a fixed order (softmax, cross-entropy).
 * Every work-item of the group must call it. */
float row_max_sumexp(__global const float *xr, size_t n, __local float *part, float *sum) {
    const size_t lid = get_local_id(0), lsz = get_local_size(0);
    for (size_t j = lid; j < RLANES; j += lsz) {
        float m = -INFINITY;
        for (size_t c = j; c < n; c += RLANES) m = fmax(m, xr[c]);
        part[j] = m;
    }
    tree_max(part);
    const float mx = part[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (size_t j = lid; j < RLANES; j += lsz) {
        float s = 0.0f;
        for (size_t c = j; c < n; c += RLANES) s += exp(xr[c] - mx);
        part[j] = s;
    }
    tree_reduce(part);
    *sum = part[0];
    return mx;
}

/* Horizontal sum and max of a float16, in a fixed pairwise order (row kernels for CPU devices, GEMM). */
float hsum16(float16 v) {
    const float8 s8 = v.lo + v.hi;
    const float4 s4 = s8.lo + s8.hi;
    const float2 s2 = s4.lo + s4.hi;
    return s2.x + s2.y;
}

float hmax16(float16 v) {
    const float8 s8 = fmax(v.lo, v.hi);
    const float4 s4 = fmax(s8.lo, s8.hi);
    const float2 s2 = fmax(s4.lo, s4.hi);
    return fmax(s2.x, s2.y);
}

/* Row reductions for CPU devices, one work-item per row: 16 interleaved partial sums (one float16
 * accumulator, explicit SIMD) over c < n - n % 16, combined with hsum16, then the tail in order. */
float row_max(__global const float *x, size_t n) {
    const size_t n16 = n / 16 * 16;
    float m = -INFINITY;
    if (n16) {
        float16 v = vload16(0, x);
        for (size_t c = 16; c < n16; c += 16) v = fmax(v, vload16(0, x + c));
        m = hmax16(v);
    }
    for (size_t c = n16; c < n; c++) m = fmax(m, x[c]);
    return m;
}

float row_sum_exp(__global const float *x, size_t n, float shift) {
    const size_t n16 = n / 16 * 16;
    float16 v = (float16)(0.0f);
    for (size_t c = 0; c < n16; c += 16) v += exp(vload16(0, x + c) - shift);
    float s = hsum16(v);
    for (size_t c = n16; c < n; c++) s += exp(x[c] - shift);
    return s;
}

float row_dot(__global const float *x, __global const float *y, size_t n) {
    const size_t n16 = n / 16 * 16;
    float16 v = (float16)(0.0f);
    for (size_t c = 0; c < n16; c += 16) v = fma(vload16(0, x + c), vload16(0, y + c), v);
    float s = hsum16(v);
    for (size_t c = n16; c < n; c++) s = fma(x[c], y[c], s);
    return s;
}
