/*
 * Template of the vectorised kernels (cpu_simd.h), included by cpu_simd_x86.c once per ISA with these
 * macros defined:
 *   S_TGT             function attribute (target ISA)      S_FN(name)   name with the ISA suffix
 *   S_V, S_VL, S_M    vector type, lanes, lane-mask type   S_MASK(n)    mask of the first n lanes
 *   S_LD(p) S_ST(p,v) unaligned load / store               S_LDM(p,m) S_STM(p,m,v)  masked
 *   S_SET1 S_ADD S_SUB S_MUL S_DIV S_FMA(a,b,c)=a*b+c S_FNMA(a,b,c)=c-a*b S_MIN S_MAX S_AND S_XOR S_ANDNOT
 *   S_ROUND(x)        round to nearest integer value       S_POW2(n)    2^n for integral n in [-126, 127]
 *   S_SQRT(x)         correctly rounded square root      S_SCALEF(p,n) p 2^n, rounded once (optional)
 *   S_SEL_LT(a,b,t,f) a < b ? t : f per lane
 *   S_NAME            the ISA's name                       S_DROPOUT    its dropout kernel, or NULL
 * No include guard: meant to be included more than once.
 */

#define S_ALWAYS static inline __attribute__((always_inline)) S_TGT

/* exp(x): Cody-Waite reduction x = n ln2 + r, degree-6 polynomial, then 2^n. Without S_SCALEF (AVX2) 2^n is
 * made by integer add and the inputs are clamped to [-87, 88] for the arithmetic; x > 88 gives +inf (the
 * true overflow is at 88.72) and x < -87.33 gives 0 (the true values there are subnormal). With it
 * (AVX-512) the scaling over- and underflows as the true exp does. Either way sigmoid(-inf) = 0 and
 * softmax's exp(-inf) = 0, and the two agree bit for bit on [-87, 88]. NaN passes
 * (S_MIN/S_MAX take x second; the compares are false for NaN). */
S_ALWAYS S_V S_FN(vexp)(S_V x) {
#ifdef S_SCALEF
    /* With a scale-by-2^n instruction the product p 2^n over- and underflows by itself (inf, subnormals,
     * 0), so the argument needs only a clamp that keeps n finite and the two selects go: 7 fewer operations.
     * On [-87, 88] the result is the same bits as below (p 2^n is one rounding either way). */
    const S_V xc = S_MIN(S_SET1(89.0f), S_MAX(S_SET1(-104.0f), x));
#else
    S_V xc = S_MAX(S_SET1(-87.0f), x);
    xc = S_MIN(S_SET1(88.0f), xc);
#endif
    const S_V n = S_ROUND(S_MUL(xc, S_SET1(1.44269504088896341f)));
    S_V r = S_FNMA(n, S_SET1(0.693359375f), xc);
    r = S_FNMA(n, S_SET1(-2.12194440e-4f), r);
    S_V p = S_SET1(1.9875691500e-4f);
    p = S_FMA(p, r, S_SET1(1.3981999507e-3f));
    p = S_FMA(p, r, S_SET1(8.3334519073e-3f));
    p = S_FMA(p, r, S_SET1(4.1665795894e-2f));
    p = S_FMA(p, r, S_SET1(1.6666665459e-1f));
    p = S_FMA(p, r, S_SET1(5.0000001201e-1f));
    p = S_FMA(p, S_MUL(r, r), S_ADD(r, S_SET1(1.0f)));
#ifdef S_SCALEF
    return S_SCALEF(p, n);
#else
    p = S_MUL(p, S_POW2(n));
    p = S_SEL_LT(S_SET1(88.0f), x, S_SET1(__builtin_inff()), p);
    return S_SEL_LT(x, S_SET1(-87.33f), S_SET1(0.0f), p);
#endif
}

S_ALWAYS S_V S_FN(vsigm)(S_V x) {
    const S_V one = S_SET1(1.0f);
    return S_DIV(one, S_ADD(one, S_FN(vexp)(S_SUB(S_SET1(0.0f), x))));
}

/* tanh(x) = x P(x^2) / Q(x^2) on |x| <= 9 (beyond, tanh rounds to +-1 in float and the clamped argument
 * gives 0.9999998): a rational minimax fit of relative error 7e-9, made for this kernel (tools/fit_tanh.py);
 * evaluated in float with FMAs, 3.3e-7 at worst. Odd, so -0 stays -0; NaN passes (x second in S_MIN/S_MAX). */
S_ALWAYS S_V S_FN(vtanh)(S_V x) {
    const S_V xc = S_MAX(S_SET1(-9.0f), S_MIN(S_SET1(9.0f), x));
    const S_V z = S_MUL(xc, xc);
    S_V p = S_SET1(-8.48967909319008e-14f);
    p = S_FMA(p, z, S_SET1(5.278425960208999e-11f));
    p = S_FMA(p, z, S_SET1(-2.0226442742909967e-08f));
    p = S_FMA(p, z, S_SET1(1.115465784096159e-05f));
    p = S_FMA(p, z, S_SET1(0.0031039926689118147f));
    p = S_FMA(p, z, S_SET1(0.13084043562412262f));
    p = S_FMA(p, z, S_SET1(1.0f));
    S_V q = S_SET1(0.00025461966288276017f);
    q = S_FMA(q, z, S_SET1(0.024495327845215797f));
    q = S_FMA(q, z, S_SET1(0.46417370438575745f));
    q = S_FMA(q, z, S_SET1(1.0f));
    const S_V r = S_DIV(S_MUL(xc, p), q);
    return S_MAX(S_SET1(-1.0f), S_MIN(S_SET1(1.0f), r)); /* the rounded ratio can pass 1 by an ulp */
}

/* Loads and stores of a group of lanes: full (constant 1 in the main loop) or masked (the tail). */
#define LDX(p) (full ? S_LD(p) : S_LDM(p, m))
#define STX(p, v)                      \
    do {                               \
        if (full) S_ST((p), (v));      \
        else S_STM((p), m, (v));       \
    } while (0)

/* Run CHUNK(j, full, m) over j in steps of S_VL, the last group masked. */
#define S_LOOP(n, CHUNK, ...)                                                   \
    do {                                                                        \
        size_t j_ = 0;                                                          \
        const S_M mfull_ = S_MASK(S_VL);                                        \
        for (; j_ + S_VL <= (n); j_ += S_VL) CHUNK(j_, 1, mfull_, __VA_ARGS__); \
        if (j_ < (n)) CHUNK(j_, 0, S_MASK((int)((n) - j_)), __VA_ARGS__);       \
    } while (0)

/* ---- activations ---- */

S_ALWAYS void S_FN(sigm_chunk)(size_t j, int full, S_M m, const float *x, float *y) {
    STX(y + j, S_FN(vsigm)(LDX(x + j)));
}
static S_TGT void S_FN(sigmoid)(size_t n, const float *x, float *y) { S_LOOP(n, S_FN(sigm_chunk), x, y); }

S_ALWAYS void S_FN(tanh_chunk)(size_t j, int full, S_M m, const float *x, float *y) {
    STX(y + j, S_FN(vtanh)(LDX(x + j)));
}
static S_TGT void S_FN(tanh)(size_t n, const float *x, float *y) { S_LOOP(n, S_FN(tanh_chunk), x, y); }

/* ---- LSTM ---- */

/* Pre-activation at p + o plus the recurrent product held apart (acc + o, when given: rnn_step's GEMM with
 * beta 0, the sum its beta 1 would have rounded once) and the biases given (b1 first, then b2: the order
 * rnn_step defines); stored back to p + o when something was added and `keep`. */
S_ALWAYS S_V S_FN(pre)(size_t o, int full, S_M m, float *p, const float *acc, const float *b1, const float *b2,
                       int keep) {
    S_V v = LDX(p + o);
    if (acc) v = S_ADD(LDX(acc + o), v);
    if (b1) v = S_ADD(v, LDX(b1 + o));
    if (b2) v = S_ADD(v, LDX(b2 + o));
    if (keep && (acc || b1 || b2)) STX(p + o, v);
    return v;
}

/*   i = s(a_i), f = s(a_f), g = tanh(a_g), o = s(a_o);  c = f c_prev + i g;  h = o tanh(c);  y = h */
S_ALWAYS void S_FN(lstm_fwd_chunk)(size_t j, int full, S_M m, size_t H, float *g4, const float *acc, const float *b1,
                                   const float *b2, const float *cp, float *c, float *h, float *y) {
    const S_V i = S_FN(vsigm)(S_FN(pre)(j, full, m, g4, acc, b1, b2, 0));
    const S_V f = S_FN(vsigm)(S_FN(pre)(H + j, full, m, g4, acc, b1, b2, 0));
    const S_V g = S_FN(vtanh)(S_FN(pre)(2 * H + j, full, m, g4, acc, b1, b2, 0));
    const S_V o = S_FN(vsigm)(S_FN(pre)(3 * H + j, full, m, g4, acc, b1, b2, 0));
    const S_V cv = S_FMA(f, LDX(cp + j), S_MUL(i, g));
    const S_V hv = S_MUL(o, S_FN(vtanh)(cv));
    STX(g4 + j, i);
    STX(g4 + H + j, f);
    STX(g4 + 2 * H + j, g);
    STX(g4 + 3 * H + j, o);
    STX(c + j, cv);
    STX(h + j, hv);
    if (y) STX(y + j, hv);
}
static S_TGT void S_FN(lstm_fwd_row)(size_t H, float *g4, const float *acc, const float *b1, const float *b2,
                                     const float *c_prev, float *c, float *h, float *y) {
    if (acc) S_LOOP(H, S_FN(lstm_fwd_chunk), H, g4, acc, b1, b2, c_prev, c, h, y);
    else if (b1 || b2) S_LOOP(H, S_FN(lstm_fwd_chunk), H, g4, NULL, b1, b2, c_prev, c, h, y);
    else S_LOOP(H, S_FN(lstm_fwd_chunk), H, g4, NULL, NULL, NULL, c_prev, c, h, y);
}

/*   dh_t = dh + dy;  tc = tanh(c);  dc_t = dc + dh_t o (1 - tc^2)
 *   da_i = dc_t g i (1 - i);  da_f = dc_t c_prev f (1 - f);  da_g = dc_t i (1 - g^2);  da_o = dh_t tc o (1 - o)
 *   dc := dc_t f;  dh := 0 */
S_ALWAYS void S_FN(lstm_bwd_chunk)(size_t j, int full, S_M m, size_t H, const float *g4, const float *cp,
                                   const float *c, const float *dy, float *dh, float *dc, float *dg4) {
    const S_V one = S_SET1(1.0f);
    const S_V i = LDX(g4 + j), f = LDX(g4 + H + j), g = LDX(g4 + 2 * H + j), o = LDX(g4 + 3 * H + j);
    S_V dht = LDX(dh + j);
    if (dy) dht = S_ADD(dht, LDX(dy + j));
    const S_V tc = S_FN(vtanh)(LDX(c + j));
    const S_V dct = S_FMA(S_MUL(dht, o), S_FNMA(tc, tc, one), LDX(dc + j));
    const S_V cpv = LDX(cp + j);
    STX(dg4 + j, S_MUL(S_MUL(dct, g), S_MUL(i, S_SUB(one, i))));
    STX(dg4 + H + j, S_MUL(S_MUL(dct, cpv), S_MUL(f, S_SUB(one, f))));
    STX(dg4 + 2 * H + j, S_MUL(S_MUL(dct, i), S_FNMA(g, g, one)));
    STX(dg4 + 3 * H + j, S_MUL(S_MUL(dht, tc), S_MUL(o, S_SUB(one, o))));
    STX(dc + j, S_MUL(dct, f));
    STX(dh + j, S_SET1(0.0f));
}
static S_TGT void S_FN(lstm_bwd_row)(size_t H, const float *g4, const float *c_prev, const float *c, const float *dy,
                                     float *dh, float *dc, float *dg4) {
    S_LOOP(H, S_FN(lstm_bwd_chunk), H, g4, c_prev, c, dy, dh, dc, dg4);
}

/* ---- GRU ---- */

/*   reset_after: r = s(x_r + h_r), z = s(x_z + h_z), n = tanh(x_n + r h_n);  else r, z given, n = tanh(x_n + h_n)
 *   h = (1 - z) n + z h_prev;  y = h.   (x += bx and h3 += bh first, when given; h3 keeps them) */
S_ALWAYS void S_FN(gru_fwd_chunk)(size_t j, int full, S_M m, size_t H, int reset_after, float *x3, const float *bx,
                                  float *h3, const float *bh, const float *hp, float *h, float *y) {
    S_V r, z, n;
    if (reset_after) {
        r = S_FN(vsigm)(S_ADD(S_FN(pre)(j, full, m, x3, NULL, bx, NULL, 0),
                              S_FN(pre)(j, full, m, h3, NULL, bh, NULL, 1)));
        z = S_FN(vsigm)(S_ADD(S_FN(pre)(H + j, full, m, x3, NULL, bx, NULL, 0),
                              S_FN(pre)(H + j, full, m, h3, NULL, bh, NULL, 1)));
        n = S_FN(vtanh)(S_FMA(r, S_FN(pre)(2 * H + j, full, m, h3, NULL, bh, NULL, 1),
                              S_FN(pre)(2 * H + j, full, m, x3, NULL, bx, NULL, 0)));
    } else {
        r = LDX(x3 + j);
        z = LDX(x3 + H + j);
        n = S_FN(vtanh)(S_ADD(LDX(x3 + 2 * H + j), LDX(h3 + 2 * H + j)));
    }
    const S_V hpv = hp ? LDX(hp + j) : S_SET1(0.0f);
    const S_V hv = S_FMA(z, hpv, S_MUL(S_SUB(S_SET1(1.0f), z), n));
    STX(x3 + j, r);
    STX(x3 + H + j, z);
    STX(x3 + 2 * H + j, n);
    STX(h + j, hv);
    if (y) STX(y + j, hv);
}
static S_TGT void S_FN(gru_fwd_row)(size_t H, int reset_after, float *x3, const float *bx, float *h3, const float *bh,
                                    const float *h_prev, float *h, float *y) {
    if (!reset_after) S_LOOP(H, S_FN(gru_fwd_chunk), H, 0, x3, NULL, h3, NULL, h_prev, h, y);
    else if (bx || bh) S_LOOP(H, S_FN(gru_fwd_chunk), H, 1, x3, bx, h3, bh, h_prev, h, y);
    else S_LOOP(H, S_FN(gru_fwd_chunk), H, 1, x3, NULL, h3, NULL, h_prev, h, y);
}

/*   dh_t = dh + dy;  dn_pre = dh_t (1 - z)(1 - n^2);  dz_pre = dh_t (h_prev - n) z (1 - z);  dh := dh_t z
 *   reset_after: dr_pre = dn_pre h_n r (1 - r);  dxg = [dr, dz, dn],  dhg = [dr, dz, dn r]
 *   else:        dxg = [0, dz, dn],  dhg = [0, dz, dn] */
S_ALWAYS void S_FN(gru_bwd_chunk)(size_t j, int full, S_M m, size_t H, int reset_after, const float *x3,
                                  const float *h3, const float *hp, const float *dy, float *dh, float *dx3,
                                  float *dh3) {
    const S_V one = S_SET1(1.0f), zero = S_SET1(0.0f);
    const S_V r = LDX(x3 + j), z = LDX(x3 + H + j), n = LDX(x3 + 2 * H + j);
    S_V dht = LDX(dh + j);
    if (dy) dht = S_ADD(dht, LDX(dy + j));
    const S_V hpv = hp ? LDX(hp + j) : zero;
    const S_V dn = S_MUL(S_MUL(dht, S_SUB(one, z)), S_FNMA(n, n, one));
    const S_V dz = S_MUL(S_MUL(dht, S_SUB(hpv, n)), S_MUL(z, S_SUB(one, z)));
    if (reset_after) {
        const S_V dr = S_MUL(S_MUL(dn, LDX(h3 + 2 * H + j)), S_MUL(r, S_SUB(one, r)));
        STX(dx3 + j, dr);
        STX(dh3 + j, dr);
        STX(dx3 + 2 * H + j, dn);
        STX(dh3 + 2 * H + j, S_MUL(dn, r));
    } else {
        STX(dx3 + j, zero);
        STX(dh3 + j, zero);
        STX(dx3 + 2 * H + j, dn);
        STX(dh3 + 2 * H + j, dn);
    }
    STX(dx3 + H + j, dz);
    STX(dh3 + H + j, dz);
    STX(dh + j, S_MUL(dht, z));
}
static S_TGT void S_FN(gru_bwd_row)(size_t H, int reset_after, const float *x3, const float *h3, const float *h_prev,
                                    const float *dy, float *dh, float *dx3, float *dh3) {
    if (reset_after) S_LOOP(H, S_FN(gru_bwd_chunk), H, 1, x3, h3, h_prev, dy, dh, dx3, dh3);
    else S_LOOP(H, S_FN(gru_bwd_chunk), H, 0, x3, h3, h_prev, dy, dh, dx3, dh3);
}

/*   r = s(x_r + h_r), z = s(x_z + h_z) into xg;  rh = r h_prev (0 without h_prev) */
S_ALWAYS void S_FN(gru_reset_chunk)(size_t j, int full, S_M m, size_t H, float *x3, const float *h3,
                                    const float *hp, float *rh) {
    const S_V r = S_FN(vsigm)(S_ADD(LDX(x3 + j), LDX(h3 + j)));
    const S_V z = S_FN(vsigm)(S_ADD(LDX(x3 + H + j), LDX(h3 + H + j)));
    const S_V rhv = hp ? S_MUL(r, LDX(hp + j)) : S_SET1(0.0f);
    STX(x3 + j, r);
    STX(x3 + H + j, z);
    STX(rh + j, rhv);
}
static S_TGT void S_FN(gru_reset_row)(size_t H, float *x3, const float *h3, const float *h_prev, float *rh) {
    S_LOOP(H, S_FN(gru_reset_chunk), H, x3, h3, h_prev, rh);
}

/* ---- Elman RNN, tanh ---- */

S_ALWAYS void S_FN(rnn_tanh_chunk)(size_t j, int full, S_M m, float *pre, const float *b1, const float *b2, float *h,
                                   float *y) {
    const S_V v = S_FN(vtanh)(S_FN(pre)(j, full, m, pre, NULL, b1, b2, 1));
    STX(h + j, v);
    if (y) STX(y + j, v);
}
static S_TGT void S_FN(rnn_tanh_row)(size_t H, float *pre, const float *b1, const float *b2, float *h, float *y) {
    if (b1 || b2) S_LOOP(H, S_FN(rnn_tanh_chunk), pre, b1, b2, h, y);
    else S_LOOP(H, S_FN(rnn_tanh_chunk), pre, NULL, NULL, h, y);
}

/* dpre = (dh + dy) act'(h)  (tanh: 1 - h^2, relu: [h > 0]);  dh := 0   (the ref kernel's operations) */
S_ALWAYS void S_FN(rnn_bwd_chunk)(size_t j, int full, S_M m, int relu, const float *h, const float *dy, float *dh,
                                  float *dp) {
    const S_V one = S_SET1(1.0f), zero = S_SET1(0.0f), hv = LDX(h + j);
    S_V g = LDX(dh + j);
    if (dy) g = S_ADD(g, LDX(dy + j));
    const S_V d = relu ? S_SEL_LT(zero, hv, one, zero) : S_SUB(one, S_MUL(hv, hv));
    STX(dp + j, S_MUL(g, d));
    STX(dh + j, zero);
}
static S_TGT void S_FN(rnn_bwd_row)(size_t H, int relu, const float *h, const float *dy, float *dh, float *dpre) {
    if (relu) S_LOOP(H, S_FN(rnn_bwd_chunk), 1, h, dy, dh, dpre);
    else S_LOOP(H, S_FN(rnn_bwd_chunk), 0, h, dy, dh, dpre);
}

/* y += bias over one row (one add per element, as the ref kernel) */
S_ALWAYS void S_FN(bias_chunk)(size_t j, int full, S_M m, const float *bias, float *y) {
    STX(y + j, S_ADD(LDX(y + j), LDX(bias + j)));
}
static S_TGT void S_FN(add_bias_row)(size_t n, const float *bias, float *y) { S_LOOP(n, S_FN(bias_chunk), bias, y); }

/* ---- Adam / AdamW, the ref kernel's arithmetic op for op (no FMA): bit-identical results ---- */

S_ALWAYS void S_FN(adam_chunk)(size_t j, int full, S_M m, const cpu_adam_consts *k, float *p, const float *g,
                               float *mv, float *vv) {
    S_V d = LDX(g + j), pv = LDX(p + j);
    if (k->wd != 0.0f) {
        if (k->decoupled) pv = S_MUL(pv, S_SET1(k->decay));
        else d = S_ADD(d, S_MUL(S_SET1(k->wd), pv));
    }
    const S_V mn = S_ADD(S_MUL(S_SET1(k->b1), LDX(mv + j)), S_MUL(S_SET1(k->omb1), d));
    const S_V vn = S_ADD(S_MUL(S_SET1(k->b2), LDX(vv + j)), S_MUL(S_MUL(S_SET1(k->omb2), d), d));
    const S_V denom = S_ADD(S_DIV(S_SQRT(vn), S_SET1(k->bc2_sqrt)), S_SET1(k->eps));
    pv = S_SUB(pv, S_MUL(S_SET1(k->step_size), S_DIV(mn, denom)));
    STX(mv + j, mn);
    STX(vv + j, vn);
    STX(p + j, pv);
}
static S_TGT void S_FN(adam)(size_t n, const cpu_adam_consts *k, float *p, const float *g, float *mv, float *vv) {
    S_LOOP(n, S_FN(adam_chunk), k, p, g, mv, vv);
}

/* ---- row softmax: m = max x, e = exp(x - m), y = e / sum e (sum in double, 8 partial sums in order) ---- */

S_ALWAYS void S_FN(sm_exp_chunk)(size_t j, int full, S_M m, const float *x, float *y, S_V mxv) {
    STX(y + j, S_FN(vexp)(S_SUB(LDX(x + j), mxv)));
}
S_ALWAYS void S_FN(sm_div_chunk)(size_t j, int full, S_M m, float *y, S_V sv) { STX(y + j, S_DIV(LDX(y + j), sv)); }

static S_TGT void S_FN(softmax_row)(size_t L, size_t cols, const float *x, float *y) {
    if (L) {
        S_V mxv = S_SET1(-__builtin_inff());
        size_t j = 0;
        for (; j + S_VL <= L; j += S_VL) mxv = S_MAX(S_LD(x + j), mxv); /* NaN x skipped, as in ref */
        float lanes[S_VL], mx = -__builtin_inff();
        S_ST(lanes, mxv);
        for (int l = 0; l < S_VL; l++) mx = lanes[l] > mx ? lanes[l] : mx;
        for (; j < L; j++) mx = x[j] > mx ? x[j] : mx;
        S_LOOP(L, S_FN(sm_exp_chunk), x, y, S_SET1(mx));
        double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        size_t c = 0;
        for (; c + 8 <= L; c += 8)
            for (int q = 0; q < 8; q++) acc[q] += y[c + (size_t)q];
        for (int q = 0; c < L; c++, q++) acc[q] += y[c];
        const double sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        S_LOOP(L, S_FN(sm_div_chunk), y, S_SET1((float)sum));
    }
    for (size_t c = L; c < cols; c++) y[c] = 0.0f;
}

/* ---- softmax cross-entropy, one row ---- */

S_ALWAYS void S_FN(xe_grad_chunk)(size_t j, int full, S_M m, const float *x, const float *w, S_V mx, S_V inv_sum,
                                  S_V cp, S_V cw, float *d) {
    const S_V p = S_MUL(S_FN(vexp)(S_SUB(LDX(x + j), mx)), inv_sum);
    const S_V wk = w ? LDX(w + j) : S_SET1(1.0f);
    STX(d + j, S_FNMA(cw, wk, S_MUL(cp, p)));
}

static S_TGT double S_FN(xent_row)(size_t C, const float *x, const float *w, float coef_p, float coef_w, float *d,
                                   double *wx) {
    float mx = -__builtin_inff();
    size_t j = 0;
    if (C >= S_VL) {
        S_V mxv = S_SET1(-__builtin_inff());
        for (; j + S_VL <= C; j += S_VL) mxv = S_MAX(S_LD(x + j), mxv);
        float lanes[S_VL];
        S_ST(lanes, mxv);
        for (int l = 0; l < S_VL; l++) mx = lanes[l] > mx ? lanes[l] : mx;
    }
    for (; j < C; j++) mx = x[j] > mx ? x[j] : mx;
    /* sum of exp(x - mx) in double: element c into acc[c % 8], fixed order */
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, wacc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const S_V mxv = S_SET1(mx);
    float e[S_VL];
    for (j = 0; j < C; j += S_VL) {
        const size_t n = C - j < S_VL ? C - j : S_VL;
        if (n == S_VL) S_ST(e, S_FN(vexp)(S_SUB(S_LD(x + j), mxv)));
        else S_ST(e, S_FN(vexp)(S_SUB(S_LDM(x + j, S_MASK((int)n)), mxv)));
        for (size_t q = 0; q < n; q++) acc[(j + q) & 7] += e[q];
    }
    for (j = 0; j < C; j++) wacc[j & 7] += (w ? (double)w[j] : 1.0) * (double)x[j];
    const double sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    *wx = ((wacc[0] + wacc[1]) + (wacc[2] + wacc[3])) + ((wacc[4] + wacc[5]) + (wacc[6] + wacc[7]));
    if (d) S_LOOP(C, S_FN(xe_grad_chunk), x, w, mxv, S_SET1((float)(1.0 / sum)), S_SET1(coef_p), S_SET1(coef_w), d);
    return (double)mx + log(sum);
}

static const cpu_simd_kernels S_FN(kernels) = {
    .name = S_NAME,
    .sigmoid = S_FN(sigmoid),
    .tanh = S_FN(tanh),
    .lstm_fwd_row = S_FN(lstm_fwd_row),
    .lstm_bwd_row = S_FN(lstm_bwd_row),
    .gru_fwd_row = S_FN(gru_fwd_row),
    .gru_bwd_row = S_FN(gru_bwd_row),
    .gru_reset_row = S_FN(gru_reset_row),
    .rnn_tanh_row = S_FN(rnn_tanh_row),
    .rnn_bwd_row = S_FN(rnn_bwd_row),
    .add_bias_row = S_FN(add_bias_row),
    .adam = S_FN(adam),
    .softmax_row = S_FN(softmax_row),
    .xent_row = S_FN(xent_row),
    .dropout = S_DROPOUT,
};

#undef S_ALWAYS
#undef LDX
#undef STX
#undef S_LOOP
