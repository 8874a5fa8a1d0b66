#!/usr/bin/env python3
"""Fits the rational tanh of assembly/activations.ts (tanhFast4) and checks it in float32.

tanh(x) ~ x P(x^2) / Q(x^2) on x clamped to [-C, C], P of degree 4 and Q = 1 + ... of degree 3 in
x^2. The fit minimises the largest error on a dense grid of [0, C] by linear programming on the
linearised error |x P - tanh(x) Q| <= E Q_prev, re-weighted with the previous Q until it settles.
Then the coefficients are rounded to float32 and the function is evaluated as the kernel does
(Horner in x^2, one division), with FMA (relaxed binary) and with separate mul + add (SIMD128
binary), and as sigmoid(x) = 1/2 + tanh(x/2)/2; prints the max abs errors vs float64.

Needs numpy and scipy. Usage: scripts/fit-tanh.py [C]   (C = 8 in the kernel)
"""
import sys

import numpy as np
from scipy.optimize import linprog

C = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
NP, NQ = 5, 3
x = np.unique(np.concatenate([np.linspace(0, C, 6000), C * (1 - np.cos(np.linspace(0, np.pi / 2, 3000)))]))
t = np.tanh(x)
x2 = x * x
q_prev = np.ones_like(x)
for _ in range(30):
    m = np.stack([x * x2**i for i in range(NP)] + [-t * x2 ** (j + 1) for j in range(NQ)], axis=1)
    a_ub = np.vstack([np.hstack([m, -q_prev[:, None]]), np.hstack([-m, -q_prev[:, None]])])
    b_ub = np.concatenate([t, -t])
    cost = np.zeros(NP + NQ + 1)
    cost[-1] = 1
    v = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=[(None, None)] * (NP + NQ) + [(0, None)], method="highs").x
    p, q = v[:NP], v[NP : NP + NQ]
    q_prev = 1 + sum(q[j] * x2 ** (j + 1) for j in range(NQ))
print(f"C = {C}, float64 fit error {np.max(np.abs(x * sum(p[i] * x2**i for i in range(NP)) / q_prev - t)):.3g}")

f = np.float32
P = [f(c) for c in p]
Q = [f(c) for c in q]
print("P (x^0 .. x^8):", ", ".join(repr(float(c)) for c in P))
print("Q (x^2 .. x^6):", ", ".join(repr(float(c)) for c in Q))

for fma in (True, False):

    def madd(a, b, c):
        prod = np.float64(a) * np.float64(b)
        return f(prod + np.float64(c)) if fma else f(np.float64(f(prod)) + np.float64(c))

    def tanh32(xs):
        c = np.clip(xs, f(-C), f(C)).astype(np.float32)
        z = f(c.astype(np.float64) * c)
        pp = madd(z, P[4], P[3])
        qq = madd(z, Q[2], Q[1])
        pp = madd(pp, z, P[2])
        qq = madd(qq, z, Q[0])
        pp = madd(pp, z, P[1])
        qq = madd(qq, z, f(1))
        pp = madd(pp, z, P[0])
        return f(f(c.astype(np.float64) * pp).astype(np.float64) / qq)

    xs = np.concatenate([np.linspace(-30, 30, 4000001), np.linspace(-1e-3, 1e-3, 200001)]).astype(np.float32)
    e = np.abs(tanh32(xs).astype(np.float64) - np.tanh(xs.astype(np.float64)))
    s = madd(tanh32(f(xs * f(0.5))), f(0.5), f(0.5))
    es = np.abs(s.astype(np.float64) - 1 / (1 + np.exp(-xs.astype(np.float64))))
    print(f"{'FMA' if fma else 'mul + add'}: tanh max abs error {e.max():.3g} (x = {xs[e.argmax()]:.4g}), sigmoid {es.max():.3g} (x = {xs[es.argmax()]:.4g})")
