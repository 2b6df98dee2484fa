"""Naive numpy oracles for the estimator tests, written from SPEC.md.

The signature kernel is solved with the discretisation of SPEC.md section 4.2 in plain
loops over the grid (vectorised over path pairs only); static kernels follow section
3.1. Ragged paths are handled one pair at a time, without any padding.
"""

import numpy as np


def static_gram(kernel, x, y):
    """kappa(x[..., p, :], y[..., q, :]) for points x (..., n, d), y (..., m, d)."""
    name, params = kernel
    inner = np.einsum("...pd,...qd->...pq", x, y)
    if name == "linear":
        return inner
    sq = np.maximum(
        (x**2).sum(-1)[..., :, None] - 2 * inner + (y**2).sum(-1)[..., None, :], 0.0
    )
    if name == "rbf":
        return np.exp(-sq / params["sigma"])
    raise ValueError(name)


def increment_gram(kernel, x, y):
    """Second difference of the static Gram over consecutive points (section 3.2)."""
    k = static_gram(kernel, x, y)
    return k[..., 1:, 1:] - k[..., :-1, 1:] - k[..., 1:, :-1] + k[..., :-1, :-1]


def goursat(delta, order):
    """Final PDE grid value for increment Grams ``delta`` of shape (P, n1, n2)."""
    l1, l2 = order
    d = np.repeat(np.repeat(delta, 2**l1, axis=1), 2**l2, axis=2) * 2.0 ** -(l1 + l2)
    a = 1 + d / 2 + d**2 / 12
    b = 1 - d**2 / 12
    m1, m2 = d.shape[1:]
    k = np.ones((d.shape[0], m1 + 1, m2 + 1))
    for i in range(m1):
        for j in range(m2):
            k[:, i + 1, j + 1] = (k[:, i, j + 1] + k[:, i + 1, j]) * a[:, i, j] - k[
                :, i, j
            ] * b[:, i, j]
    return k[:, -1, -1]


def sig_kernel_gram(X, Y, order=(1, 1), kernel=("linear", {})):
    """K[i, j] = k(X[i], Y[j]) for lists or arrays of paths (each (length, d))."""
    X = [np.asarray(x, dtype=np.float64) for x in X]
    Y = [np.asarray(y, dtype=np.float64) for y in Y]
    gram = np.empty((len(X), len(Y)))
    for i, x in enumerate(X):
        lengths = {len(y) for y in Y}
        for length in lengths:  # vectorise over the paths of Y of one length
            cols = [j for j, y in enumerate(Y) if len(y) == length]
            ys = np.stack([Y[j] for j in cols])
            xs = np.broadcast_to(x, (len(cols),) + x.shape)
            gram[i, cols] = goursat(increment_gram(kernel, xs, ys), order)
    return gram


def time_aug(x, end_time=1.0):
    """Append the time channel 0..end_time over the points (SPEC.md section 2)."""
    t = end_time * np.arange(len(x)) / (len(x) - 1)
    return np.concatenate([x, t[:, None]], axis=1)
