"""Naive numpy oracles for the estimator tests, written from SPEC.md.

Gram matrices of signature kernels: static kernels follow section 3.1 (vectorised over
points), the PDE is the cell-by-cell oracle of ``_oracles_kernel`` (vectorised over
path pairs only). Ragged paths are handled one pair at a time, without any padding.
"""

import numpy as np
from _oracles_kernel import goursat_grid, transform


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
            grids = goursat_grid(increment_gram(kernel, xs, ys), order)
            gram[i, cols] = grids[:, -1, -1]
    return gram


def time_aug(x, end_time=1.0):
    """Append the time channel 0..end_time over the points (SPEC.md section 2)."""
    return transform(x, time_aug=True, end_time=end_time)
