"""Overflow-safe normalized signature kernels and log-kernels, with their gradients.

Signature kernels of unscaled paths can exceed the range of double while the
normalized kernel ``k(x, y) / sqrt(k(x, x) k(y, y))`` and ``log k(x, y)`` are ordinary
numbers. Kernels are handled here in split form ``k = m * 2**e`` (float64 mantissa,
int64 exponent): the double-precision cores are tried first (``e = 0``, results
bitwise those of the plain kernel); when they overflow, the extended-range cores of
``goursat_log.hpp`` (long double arithmetic, exponents far beyond 2**1024) give the
split form directly. Normalization and logarithms then combine mantissas and
exponents separately, and gradients are seeded in split form (the seeds carry the
``1 / sqrt(k(x, x) k(y, y))`` factors), so no overflowing value is ever formed.
"""

import numpy as np

from sksig._core import _sig_kernel
from sksig._core._backend import _GRAM_BUFFER_BYTES
from sksig._gram_blocks import gram_blocks
from sksig._kernel_setup import _native, _overflow_message, host_kernels
from sksig._static_kernels import LinearKernel, as_static_kernel
from sksig._validation import check_dyadic_order, resolve_n_jobs

# Pairs per call of the extended cores (bounds their per-pair gradient buffers).
_CHUNK = 2048


def _extended_available():
    return _sig_kernel.has_extended_range()


def _no_extended(where):
    return FloatingPointError(
        _overflow_message(where) + ". This platform's long double has no wider "
        "exponent range, so normalize=True and return_log=True cannot avoid it here"
    )


def _plain(s, x, y, kind):
    """Kernels by the double-precision functions: (n,) pairs or (n1, n2) Grams of the
    transformed paths (the transforms are off here), float64. Grams run through the
    block engine of :mod:`sksig._gram_blocks` (bounded memory, Ctrl-C between blocks,
    joblib backends), with the progress output ``s`` asks for."""
    options = dict(dyadic_order=s.orders, static_kernel=s.static_kernel,
                   n_jobs=s.n_threads)
    if kind == "pairs":
        k = host_kernels(x, y, gram=False, **options)
    else:
        symmetric = kind == "symmetric"
        # (the functional API's setup has no progress: silent blocks)
        k = gram_blocks(x, x if symmetric else y, symmetric=symmetric, **options,
                        **getattr(s, "progress", {}))
    return np.asarray(k, dtype=np.float64)


def diagonal_kernels(A, *, dyadic_order, static_kernel, n_jobs):
    """``k(x, x)`` for every transformed path of ``A`` (n, length, dim), in its
    dtype."""
    if A.shape[0] == 0:
        return np.zeros(0, A.dtype)
    return host_kernels(A, A, gram=False, dyadic_order=dyadic_order,
                        static_kernel=static_kernel, n_jobs=n_jobs)


class _Paths:
    def __init__(self, data):
        self.data = data


class _Transformed:
    """The attributes of the functional API's validated setup that the normalization
    reads, for paths that are already transformed and padded (the estimators')."""

    def __init__(self, A, B, orders, static_kernel, n_threads, progress):
        self.b1, self.b2 = _Paths(A), _Paths(B)
        self.orders, self.n_threads = orders, n_threads
        self.static_kernel = static_kernel
        self.kernel = as_static_kernel(static_kernel)
        self.progress = progress


def normalized_gram(A, B, *, symmetric, dyadic_order, static_kernel=None, n_jobs=1,
                    max_batch=-1, verbose=0, label="sksig"):
    """The normalized Gram of transformed paths ``A``, ``B`` (3-D arrays), in their
    dtype: the computation of ``sig_kernel_gram(normalize=True)``, with the Gram
    computed by :func:`sksig._gram_blocks.gram_blocks` (same arguments), whose blocks
    report the progress. ``symmetric`` means ``B`` holds the paths of ``A``: the
    diagonal kernels are then read off the Gram."""
    orders = check_dyadic_order(dyadic_order)
    symmetric = symmetric and orders[0] == orders[1]
    if A.shape[0] == 0 or B.shape[0] == 0:
        return np.empty((A.shape[0], B.shape[0]), A.dtype)
    static = LinearKernel() if static_kernel is None else static_kernel
    s = _Transformed(A, B, orders, static, resolve_n_jobs(n_jobs),
                     dict(max_batch=max_batch, verbose=verbose, label=label))
    return normalized(s, "symmetric" if symmetric else "gram")[0].astype(A.dtype)


def _pair_indices(n1, n2, kind):
    if kind == "pairs":
        i = np.arange(n1, dtype=np.int64)
        return i, i
    if kind == "symmetric":
        i, j = np.triu_indices(n1)
        return i.astype(np.int64), j.astype(np.int64)
    i, j = np.divmod(np.arange(n1 * n2, dtype=np.int64), n2)
    return i, j


def _extended(s, x, y, kind):
    """Split kernels ``(m, e)`` by the extended-range cores (same shapes as _plain)."""
    if not _extended_available():
        raise _no_extended("sig_kernel")
    n1, n2 = x.shape[0], y.shape[0]
    ii, jj = _pair_indices(n1, n2, kind)
    m = np.empty(ii.size)
    e = np.empty(ii.size, np.int64)
    for lo in range(0, ii.size, _CHUNK):  # the cores copy the paths of their pairs
        hi = lo + _CHUNK
        _sig_kernel.forward_extended(x, y, ii[lo:hi], jj[lo:hi], s.orders, s.kernel,
                                     m[lo:hi], e[lo:hi], s.n_threads)
    if kind == "pairs":
        return m, e
    M = np.empty((n1, n2))
    E = np.empty((n1, n2), np.int64)
    M[ii, jj], E[ii, jj] = m, e
    if kind == "symmetric":  # mirrored: exactly symmetric
        M[jj, ii], E[jj, ii] = m, e
    return M, E


def split_kernels(s, x, y, kind, extended=None):
    """Kernels ``k = m * 2**e`` of the transformed paths ``x``, ``y``.

    ``kind`` is "pairs" (x[p] with y[p]), "gram" or "symmetric" (a Gram of x with
    itself, solved on i <= j). ``extended`` forces (True) or forbids (False) the
    extended-range cores; None tries double precision first.
    """
    if not extended:
        try:
            # Split form of the float64 kernels too: products of two of them may
            # overflow, products of mantissas never do.
            m, e = np.frexp(_plain(s, x, y, kind))
            return m, e.astype(np.int64)
        except FloatingPointError:
            if extended is False:
                raise
    return _extended(s, x, y, kind)


def check_positive_diagonal(m, name):
    """``m`` (kernels ``k(x, x)`` or their mantissas), checked > 0 for normalizing."""
    bad = np.flatnonzero(~(m > 0))
    if bad.size:
        raise ValueError(
            f"normalize=True needs k(x, x) > 0, but the signature kernel of "
            f"{name}[{bad[0]}] with itself is {m[bad[0]]}; the PDE grid is too "
            "coarse for these paths: raise dyadic_order or scale the paths down"
        )
    return m


def _half_power(m, e):
    """``(mantissa, exponent)`` of ``m * 2**(e / 2)`` for integer ``e``."""
    odd = e % 2
    return m * np.where(odd == 1, np.sqrt(2.0), 1.0), (e - odd) // 2


def normalize_split(m, e, mx, ex, my, ey, names=("path1", "path2")):
    """``k / sqrt(kx ky)`` from split kernels: pairs (all 1-D) or a Gram (``m``,
    ``e`` 2-D, diagonals 1-D). Raises ValueError for a diagonal kernel <= 0."""
    check_positive_diagonal(mx, names[0])
    check_positive_diagonal(my, names[1])
    if np.ndim(m) == 1:
        dm, de = np.sqrt(mx * my), ex + ey
    else:
        dm, de = np.sqrt(np.multiply.outer(mx, my)), np.add.outer(ex, ey)
    # k / sqrt(kx ky) = (m / sqrt(mx my)) * 2**((2 e - ex - ey) / 2)
    hm, he = _half_power(m / dm, 2 * e - de)
    return np.ldexp(hm, he)


def normalize_gram(gram, diag1, diag2, names=("X", "Y")):
    """Normalized Gram from a float64-finite Gram and diagonals (no product of two
    kernels is formed, so it does not overflow either)."""
    parts = [np.frexp(np.asarray(a, dtype=np.float64)) for a in (gram, diag1, diag2)]
    (m, e), (mx, ex), (my, ey) = parts
    return normalize_split(m, e, mx, ex, my, ey, names)


def normalized(s, kind, extended=None):
    """Normalized kernels (n,) or (n1, n2), and the split parts for the gradients.

    Returns ``(kn, parts)`` with ``parts = (m, e, mx, ex, my, ey)``: the split kernels
    of the pairs and of the diagonals of both sides.
    """
    x, y = s.b1.data, s.b2.data
    m, e = split_kernels(s, x, y, kind, extended)
    if kind == "symmetric":
        mx, ex = np.diagonal(m).copy(), np.diagonal(e).copy()
        my, ey = mx, ex
    else:
        mx, ex = split_kernels(s, x, x, "pairs", extended)
        my, ey = split_kernels(s, y, y, "pairs", extended)
    return normalize_split(m, e, mx, ex, my, ey), (m, e, mx, ex, my, ey)


def log_kernels(s, kind, normalize, extended=None):
    """``log k`` (or the log of the normalized kernel) of the pairs or the Gram."""
    x, y = s.b1.data, s.b2.data
    if normalize:
        _, (m, e, mx, ex, my, ey) = normalized(s, kind, extended)
        if kind == "pairs":
            lx, ly = np.log(mx) + ex * np.log(2), np.log(my) + ey * np.log(2)
            shift = (lx + ly) / 2
        else:
            lx, ly = np.log(mx) + ex * np.log(2), np.log(my) + ey * np.log(2)
            shift = np.add.outer(lx, ly) / 2
    else:
        m, e = split_kernels(s, x, y, kind, extended)
        shift = 0.0
    bad = np.flatnonzero(~(m.ravel() > 0))
    if bad.size:
        raise ValueError(
            f"return_log=True needs k > 0, but a kernel of these paths is "
            f"{m.ravel()[bad[0]]} * 2**{e.ravel()[bad[0]]}; the PDE grid is too "
            "coarse for these paths: raise dyadic_order or scale the paths down"
        )
    return np.log(m) + e * np.log(2) - shift


def _pairs_backprop(s, x, y, ii, jj, seed_m, seed_e, left, right, extended):
    """Gradients of sum_p seed[p] k(x[ii[p]], y[jj[p]]), accumulated per path."""
    gx = np.zeros(x.shape if left else (0,), np.float64)
    gy = np.zeros(y.shape if right else (0,), np.float64)
    if ii.size == 0:
        return gx, gy
    if not extended:
        seeds = np.ldexp(seed_m, seed_e).astype(x.dtype)
        xs, ys = np.ascontiguousarray(x[ii]), np.ascontiguousarray(y[jj])
        px = np.empty(xs.size if left else 0, x.dtype)
        py = np.empty(ys.size if right else 0, x.dtype)
        _native("sig_kernel_backprop", _sig_kernel.backward, xs, ys, s.orders, s.kernel,
                seeds, False, np.empty(0, x.dtype), px, py, np.empty(0, x.dtype),
                s.n_threads)
        if left:
            np.add.at(gx, ii, px.reshape(xs.shape))
        if right:
            np.add.at(gy, jj, py.reshape(ys.shape))
        return gx, gy
    if not _extended_available():
        raise _no_extended("sig_kernel_backprop")
    for lo in range(0, ii.size, _CHUNK):
        i, j = ii[lo:lo + _CHUNK], jj[lo:lo + _CHUNK]
        px = np.empty(i.size * x[0].size if left else 0, x.dtype)
        py = np.empty(j.size * y[0].size if right else 0, x.dtype)
        _sig_kernel.backward_extended(
            x, y, i, j, s.orders, s.kernel,
            np.ascontiguousarray(seed_m[lo:lo + _CHUNK], dtype=np.float64),
            np.ascontiguousarray(seed_e[lo:lo + _CHUNK], dtype=np.int64),
            px, py, s.n_threads)
        if left:
            np.add.at(gx, i, px.reshape((i.size,) + x.shape[1:]))
        if right:
            np.add.at(gy, j, py.reshape((j.size,) + y.shape[1:]))
    return gx, gy


def _gram_backprop_plain(s, x, y, seeds, left, right):
    """Gradients of sum(seeds * K(x, y)) by the double-precision Gram backprop."""
    per_pair = (x[0].size + y[0].size) * x.itemsize if x.shape[0] else 1
    chunk = max(1024, _GRAM_BUFFER_BYTES // per_pair)
    gx = np.zeros(x.size if left else 0, x.dtype)
    gy = np.zeros(y.size if right else 0, x.dtype)
    if x.shape[0] and y.shape[0]:
        _native("sig_kernel_gram_backprop", _sig_kernel.backward_gram, x, y, s.orders,
                s.kernel, np.ascontiguousarray(seeds.ravel(), dtype=x.dtype), False,
                np.empty(0, x.dtype), gx, gy, chunk, s.n_threads)
    return (gx.reshape(x.shape) if left else gx).astype(np.float64), \
        (gy.reshape(y.shape) if right else gy).astype(np.float64)


def normalized_backprop(s, derivs, gram, left, right, extended=None):
    """Slot-wise gradients of ``sum(derivs * kn)`` with respect to the transformed
    paths, ``kn`` the normalized kernels of pairs (``gram`` False) or of the Gram."""
    x, y = s.b1.data, s.b2.data
    kind = "gram" if gram else "pairs"
    W = np.asarray(derivs, dtype=np.float64).reshape((x.shape[0], y.shape[0])
                                                     if gram else (x.shape[0],))
    kn, (m, e, mx, ex, my, ey) = normalized(s, kind, extended)
    # Kernels beyond float64's range need the extended adjoint (in float64 their
    # seeds would underflow to zero and silently drop terms).
    use_extended = extended
    if use_extended is None:
        exponents = np.concatenate([np.ravel(e), ex, ey])
        use_extended = bool(np.any(np.abs(exponents) > 1000))
    # d kn = kn (d k / k - d kx / (2 kx) - d ky / (2 ky)):
    #   pair seed W / sqrt(kx ky), diagonal seeds -sum(W kn) / (2 kx) and / (2 ky).
    wk = W * kn
    if gram:
        pair_m, pair_e = _half_power(W / np.sqrt(np.multiply.outer(mx, my)),
                                     -np.add.outer(ex, ey))
        sx, sy = -0.5 * wk.sum(axis=1), -0.5 * wk.sum(axis=0)
    else:
        pair_m, pair_e = _half_power(W / np.sqrt(mx * my), -(ex + ey))
        sx = sy = -0.5 * wk
    ii, jj = _pair_indices(x.shape[0], y.shape[0], kind)

    def run(ext):
        if gram and not ext:
            g1, g2 = _gram_backprop_plain(s, x, y, np.ldexp(pair_m, pair_e), left,
                                          right)
        else:
            g1, g2 = _pairs_backprop(s, x, y, ii, jj, pair_m.ravel(), pair_e.ravel(),
                                     left, right, ext)
        n_x, n_y = np.arange(x.shape[0], dtype=np.int64), np.arange(y.shape[0],
                                                                    dtype=np.int64)
        if left:
            a, b = _pairs_backprop(s, x, x, n_x, n_x, sx / mx, -ex, True, True, ext)
            g1 = g1 + a + b
        if right:
            a, b = _pairs_backprop(s, y, y, n_y, n_y, sy / my, -ey, True, True, ext)
            g2 = g2 + a + b
        return g1, g2

    if not use_extended:
        try:
            return run(False)
        except FloatingPointError:
            if extended is False:
                raise
    return run(True)
