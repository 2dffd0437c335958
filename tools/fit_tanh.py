#!/usr/bin/python3
"""Fit the rational tanh of the cpu backend's vector kernels (backends/cpu/cpu_simd_tmpl.h, vtanh):

    tanh(x) ~ x P(x^2) / Q(x^2),  |x| <= 9,  P of degree 6 and Q of degree 3 in x^2, Q(0) = 1,

by linearised least squares on the relative error (x P - t (Q - 1) = t, weighted by 1 / (t Q_prev)),
reweighted towards minimax (Lawson), in the variable u = x^2 / 81 for conditioning; then prints the
coefficients in x^2 as float32 and the worst relative error of the float32 evaluation (Horner with FMAs,
emulated in double, one rounding per step) over a dense grid. Needs numpy (Debian python3-numpy).

    /usr/bin/python3 tools/fit_tanh.py
"""
import numpy as np

C = 9.0       # clamp: tanh rounds to 1 in float beyond about 9.01
NP, NQ = 7, 4  # coefficients of P and of Q (Q's first is 1)


def fit():
    x = np.concatenate([np.linspace(1e-4, 1, 20000), np.linspace(1, C, 40000)])
    t = np.tanh(x)
    u = x * x / (C * C)
    w = np.ones_like(x)
    q_prev = np.ones_like(x)
    for _ in range(60):
        a = np.hstack([np.stack([x * u**k for k in range(NP)], 1), np.stack([-t * u**k for k in range(1, NQ)], 1)])
        sc = w / (t * q_prev)
        sol, *_ = np.linalg.lstsq(a * sc[:, None], t * sc, rcond=None)
        p, q = sol[:NP], np.concatenate([[1.0], sol[NP:]])
        q_prev = np.polyval(q[::-1], u)
        err = np.abs(x * np.polyval(p[::-1], u) / q_prev / t - 1)
        w = w * (err / err.max()) ** 0.5 + 1e-12
        w /= w.max()
    # back to the variable z = x^2
    p = [p[k] / C ** (2 * k) for k in range(NP)]
    q = [q[k] / C ** (2 * k) for k in range(NQ)]
    assert all(r < 0 for r in np.roots(q[::-1]).real), "Q must have no root for z >= 0"
    return p, q, err.max()


def horner_fma(coef, z):
    acc = np.full_like(z, np.float32(coef[-1]))
    for c in coef[-2::-1]:
        acc = np.float32(acc.astype(np.float64) * z.astype(np.float64) + np.float64(np.float32(c)))
    return acc


def main():
    p, q, e64 = fit()
    xs = np.float32(np.concatenate([np.linspace(0, 10, 2000001), np.logspace(-30, 0, 200001)]))
    xc = np.minimum(xs, np.float32(C))
    z = xc * xc
    r = np.minimum(xc * horner_fma(p, z) / horner_fma(q, z), np.float32(1))
    ref = np.tanh(xs.astype(np.float64))
    nz = ref > 0
    rel = np.abs(r[nz].astype(np.float64) / ref[nz] - 1)
    print("P (in x^2, constant first):", ", ".join("%.17g" % np.float32(c) for c in p))
    print("Q (in x^2, constant first):", ", ".join("%.17g" % np.float32(c) for c in q))
    print("fit, in double: max relative error %.3g" % e64)
    print("float32 evaluation: max relative error %.3g at x = %.9g" % (rel.max(), xs[nz][rel.argmax()]))


if __name__ == "__main__":
    main()
