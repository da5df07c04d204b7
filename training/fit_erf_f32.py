"""Coefficients of the wasm engine's float32 erf / GELU kernels (src/engine/wasm/kernels.wat).

    /usr/bin/python3 training/fit_erf_f32.py

Two near-minimax polynomial fits (least squares on Chebyshev nodes, then Lawson reweighting),
in float64 against scipy's erf and erfcx, printed as float32 for the WAT source:
  small |z| <= 1:         erf(z) = z * P(z^2),                        P of degree 6
  tail 0.7 <= z <= 10.5:  erfc(z) = t * exp(-z^2 + R(t)), t = 1/(1 + z/2), R of degree 8
(the tail's form is Numerical Recipes' erfcc, refitted on the bounded range: beyond z = 10.5
erfc underflows float32, so the kernels clamp there). Prints each fit's max error in float64
(P: relative error of erf; R: absolute error of the exponent = relative error of erfc); the
kernels' errors after float32 rounding are measured in src/engine/wasm.test.ts.
erf uses P for |x| < 1 and the tail beyond; the normal CDF Phi (GELU) uses Q, P rescaled to
x = z*sqrt(2) (Phi(x) - 1/2 = x * Q(x^2)), for |x| < 1 only (z < 0.71: below, 1/2 + x*Q cancels) and
the tail beyond, which is why the tail's fit starts at z = 0.7.
"""
import numpy as np
from numpy.polynomial import polynomial as P
from scipy.special import erf, erfcx

Z1, ZT, ZMAX, TP = 1.0, 0.7, 10.5, 0.5


def fit(f, lo, hi, deg, n=4000, rounds=30):
    k = np.arange(n)
    x = (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / n)
    y = f(x)
    w = np.ones(n)
    for _ in range(rounds):
        c = P.polyfit(x, y, deg, w=np.sqrt(w))
        e = np.abs(P.polyval(x, c) - y)
        w = w * (e + 1e-300)
        w /= w.sum()
    xx = np.linspace(lo, hi, 200001)
    return c, np.max(np.abs(P.polyval(xx, c) - f(xx)))


def small(u):
    z = np.sqrt(np.maximum(u, 1e-300))
    return np.where(u > 0, erf(z) / z, 2 / np.sqrt(np.pi))


def tail(t):
    z = (1 / t - 1) / TP
    return np.log(erfcx(z) / t)


def f32(v):
    return repr(float(np.float32(v)))


ps, eps_ = fit(small, 0, Z1 * Z1, 6)
rs, ers = fit(tail, 1 / (1 + TP * ZMAX), 1 / (1 + TP * ZT), 8)
qs = [0.5 * c * 2 ** -(k + 0.5) for k, c in enumerate(ps)]
print(f';; erf P (max rel error {eps_:.2e}):', ' '.join(f32(c) for c in ps))
print(f';; GELU Q:', ' '.join(f32(c) for c in qs))
print(f';; erfc R (max abs error {ers:.2e}):', ' '.join(f32(c) for c in rs))
