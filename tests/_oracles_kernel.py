"""Naive numpy oracles for the signature-kernel tests, written from SPEC.md §2-§4.

Slow and simple on purpose: explicit loops, no sharing with the package.
"""

import math

import numpy as np


def static_kernel(name, params, a, b):
    """kappa(a, b) for the static kernel `name` (SPEC.md §3.1 table)."""
    dot = float(np.dot(a, b))
    r2 = max(float(np.dot(a, a)) - 2 * dot + float(np.dot(b, b)), 0.0)
    if name == "LinearKernel":
        return dot
    if name == "ScaledLinearKernel":
        return params.get("scale", 1.0) ** 2 * dot
    if name == "RBFKernel":
        return math.exp(-r2 / params["sigma"])
    if name == "PolynomialKernel":
        degree = params.get("degree", 3.0)
        gamma = params.get("gamma", 1.0)
        scale = params.get("scale", 1.0)
        beta = dot + gamma
        if not (degree == 0 or (float(degree).is_integer() and 1 <= degree <= 5)):
            beta = max(beta, 0.0)
        return scale * beta**degree
    rho = math.sqrt(r2 + 1e-30)
    sigma = params["sigma"]
    if name == "Matern12Kernel":
        return math.exp(-rho / sigma)
    if name == "Matern32Kernel":
        u = math.sqrt(3) * rho / sigma
        return (1 + u) * math.exp(-u)
    if name == "Matern52Kernel":
        u = math.sqrt(5) * rho / sigma
        return (1 + u + u * u / 3) * math.exp(-u)
    if name == "RationalQuadraticKernel":
        alpha = params.get("alpha", 1.0)
        return (1 + r2 / (2 * alpha * sigma**2)) ** (-alpha)
    raise KeyError(name)


def increment_gram(name, params, x, y):
    """Delta[p, q] of SPEC.md §3.2 for one pair of 2-D paths."""
    k = np.array([[static_kernel(name, params, a, b) for b in y] for a in x])
    return k[1:, 1:] - k[:-1, 1:] - k[1:, :-1] + k[:-1, :-1]


def goursat_grid(delta, orders):
    """The PDE grid of SPEC.md §4.2, cell by cell: increment Grams ``delta`` of shape
    (..., n1, n2) give grids (..., m1 + 1, m2 + 1) (loops over the cells; only the
    leading axes, independent pairs, are vectorised). The one Goursat oracle of the
    test suite."""
    lam1, lam2 = orders
    delta = np.asarray(delta, dtype=np.float64)
    n1, n2 = delta.shape[-2:]
    m1, m2 = n1 * 2**lam1, n2 * 2**lam2
    f = 2.0 ** -(lam1 + lam2)
    grid = np.ones(delta.shape[:-2] + (m1 + 1, m2 + 1))
    for i in range(m1):
        for j in range(m2):
            d = f * delta[..., i >> lam1, j >> lam2]
            a = 1 + d / 2 + d * d / 12
            b = 1 - d * d / 12
            grid[..., i + 1, j + 1] = ((grid[..., i, j + 1] + grid[..., i + 1, j]) * a
                                       - grid[..., i, j] * b)
    return grid


def transform(path, time_aug=False, lead_lag=False, end_time=1.0):
    """transform_path of SPEC.md §2 for one 2-D path."""
    path = np.asarray(path, dtype=np.float64)
    if lead_lag:
        rows = []
        for k in range(len(path)):
            rows.append(np.concatenate([path[k], path[k]]))
            if k + 1 < len(path):
                rows.append(np.concatenate([path[k], path[k + 1]]))
        path = np.array(rows)
    if time_aug:
        n = len(path)
        t = end_time * np.arange(n) / max(n - 1, 1)
        path = np.concatenate([path, t[:, None]], axis=1)
    return path


def kernel_grid(x, y, orders, name="LinearKernel", params=None, **transform_kw):
    """Grid of one pair of 2-D paths, with transforms and a static kernel."""
    x = transform(x, **transform_kw)
    y = transform(y, **transform_kw)
    return goursat_grid(increment_gram(name, params or {}, x, y), orders)


def truncated_signature(path, degree):
    """Levels 0..degree of the signature, by Chen's identity over the segments."""
    path = np.asarray(path, dtype=np.float64)
    d = path.shape[1]
    sig = [np.ones(())] + [np.zeros((d,) * k) for k in range(1, degree + 1)]
    for v in np.diff(path, axis=0):
        seg = [np.ones(())]
        for k in range(1, degree + 1):
            seg.append(np.multiply.outer(seg[-1], v) / k)
        sig = [
            sum(np.multiply.outer(sig[i], seg[k - i]) for i in range(k + 1))
            for k in range(degree + 1)
        ]
    return sig


def signature_inner_product(x, y, degree):
    """sum_k <S^k(x), S^k(y)> up to `degree` (the limit of the linear kernel)."""
    sx, sy = truncated_signature(x, degree), truncated_signature(y, degree)
    return float(sum(np.sum(a * b) for a, b in zip(sx, sy, strict=True)))
