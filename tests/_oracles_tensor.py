"""Naive numpy tensor algebra written from SPEC.md sections 7-9 (test oracle only).

A truncated tensor is a list of levels ``[t0, t1, ..., tN]`` with ``tk`` of shape
``(d,) * k``; products use ``np.multiply.outer``, exp and log their power series, and
Lyndon words come from a brute-force rotation check. Nothing here shares code or
algorithms with sksig's native core (Horner chains, sparse tables, triangular solves).
"""

import itertools
import math

import numpy as np


def zero(d, n):
    return [np.zeros((d,) * k) for k in range(n + 1)]


def one(d, n):
    t = zero(d, n)
    t[0][()] = 1.0
    return t


def add(a, b, scale=1.0):
    return [x + scale * y for x, y in zip(a, b, strict=True)]


def mul(a, b):
    n = len(a) - 1
    return [
        sum(np.multiply.outer(a[i], b[k - i]) for i in range(k + 1))
        for k in range(n + 1)
    ]


def power(a, m):
    d, n = a[1].shape[0], len(a) - 1
    out = one(d, n)
    for _ in range(m):
        out = mul(out, a)
    return out


def exp(x):
    """exp of a tensor with zero scalar term: sum_m x^m / m!."""
    d, n = x[1].shape[0], len(x) - 1
    out = zero(d, n)
    for m in range(n + 1):
        out = add(out, power(x, m), 1.0 / math.factorial(m))
    return out


def log(s):
    """log of a tensor with scalar term 1: sum_m (-1)^(m-1) (s-1)^m / m."""
    d, n = s[1].shape[0], len(s) - 1
    x = add(s, one(d, n), -1.0)
    out = zero(d, n)
    for m in range(1, n + 1):
        out = add(out, power(x, m), (-1.0) ** (m - 1) / m)
    return out


def segment(v, n):
    t = zero(len(v), n)
    t[1] = np.asarray(v, dtype=float)
    return t


def signature(path, n):
    """exp(dx_0) (x) ... (x) exp(dx_{L-2}), as a tensor (list of levels)."""
    path = np.asarray(path, dtype=float)
    s = one(path.shape[1], n)
    for i in range(len(path) - 1):
        s = mul(s, exp(segment(path[i + 1] - path[i], n)))
    return s


def flatten(t, scalar_term=False):
    """SPEC layout: levels concatenated, words row-major within a level."""
    return np.concatenate([np.ravel(x) for x in t[0 if scalar_term else 1:]])


def is_lyndon(word):
    return all(word < word[i:] + word[:i] for i in range(1, len(word)))


def lyndon_words(d, n):
    return [
        w for k in range(1, n + 1) for w in itertools.product(range(d), repeat=k)
        if is_lyndon(w)
    ]


def bracket(w, d, n):
    """Tensor of P_w, the standard bracketing of the Lyndon word w."""
    if len(w) == 1:
        t = zero(d, n)
        t[1][w[0]] = 1.0
        return t
    split = min(i for i in range(1, len(w)) if is_lyndon(w[i:]))
    pu, pv = bracket(w[:split], d, n), bracket(w[split:], d, n)
    return add(mul(pu, pv), mul(pv, pu), -1.0)


def lyndon_coordinates(t, d, n):
    """method 1: coefficients of t at the Lyndon words."""
    return np.array([t[len(w)][w] for w in lyndon_words(d, n)])


def bracket_coordinates(t, d, n):
    """method 2: c with t = sum_w c_w P_w, by least squares on all coefficients."""
    basis = np.stack([flatten(bracket(w, d, n)) for w in lyndon_words(d, n)], axis=1)
    c, *_ = np.linalg.lstsq(basis, flatten(t), rcond=None)
    np.testing.assert_allclose(basis @ c, flatten(t), atol=1e-10)  # t is a Lie element
    return c


def from_bracket_coordinates(c, d, n):
    t = zero(d, n)
    for cw, w in zip(c, lyndon_words(d, n), strict=True):
        t = add(t, bracket(w, d, n), cw)
    return t


def log_sig(path, n, method):
    path = np.asarray(path, dtype=float)
    d = path.shape[1]
    ell = log(signature(path, n))
    if method == 0:
        return flatten(ell)
    if method == 1:
        return lyndon_coordinates(ell, d, n)
    return bracket_coordinates(ell, d, n)


def log_sig_join(c, v, d, n):
    """Coordinates of log(exp(sum c_w P_w) (x) exp(v)) in the bracket basis."""
    z = log(mul(exp(from_bracket_coordinates(c, d, n)), exp(segment(v, n))))
    return bracket_coordinates(z, d, n)
