"""Signature kernels with a static kernel written in Python.

A subclass of :class:`sksig.StaticKernel` that does not map onto the native kernels
implements pySigLib's contract instead:

* ``__call__(ctx, x, y)`` returns the increment Gram ``Delta`` of paired batches of
  points ``x`` (batch, L1, d) and ``y`` (batch, L2, d), shape (batch, L1-1, L2-1),
  saving on ``ctx`` (a :class:`Context`) whatever its gradients need;
* ``grad_x(ctx, derivs)`` and ``grad_y(ctx, derivs)`` return the gradients of
  ``sum(derivs * Delta)`` with respect to ``x`` and ``y``.

The signature kernel then solves the Goursat PDE on that increment Gram natively
(include/sksig/goursat_delta.hpp), and its backprop takes the PDE's adjoint
``dF/dDelta`` back through ``grad_x``/``grad_y``. Pairs are processed in blocks of
bounded memory.
"""

import numpy as np

from sksig._limits import check_memory
from sksig._static_kernels import check_custom
from sksig._user_kernels import _Lender

__all__ = ["sig_kernel", "sig_kernel_backprop"]

# Memory of one block of pairs: their points, increment Grams and gradients.
_BLOCK_BYTES = 64 * 2**20


def _block_pairs(x, y, n_threads):
    """Pairs per block: points, increment Gram (twice) and gradients within
    _BLOCK_BYTES, and at least one pair (whose own size is checked)."""
    (_, L1, d), L2 = x.shape, y.shape[1]
    per_pair = (2 * (L1 + L2) * d + 2 * (L1 - 1) * (L2 - 1)) * x.itemsize
    check_memory(per_pair, "one pair of a user-defined static kernel", "the paths")
    return max(1, min(_BLOCK_BYTES // per_pair, 1 << 20), n_threads)


def _grid_bytes(s):
    return s.grid_shape[0] * s.grid_shape[1] * s.b1.data.itemsize


def _solve(s, kernel, index1, index2, derivs=None, left=True, right=False):
    """Kernels (derivs None) or gradients of the pairs (index1[p], index2[p])."""
    from sksig._core import _goursat_delta

    x, y = s.b1.data, s.b2.data
    lender = _Lender(kernel, s.caller.kind, x.dtype)
    lam1, lam2 = s.orders
    n = index1.size
    if derivs is not None:  # the adjoint holds a whole grid per thread
        check_memory(2 * s.n_threads * _grid_bytes(s),
                     f"the PDE grids of {s.n_threads} thread(s)", "dyadic_order")
    out = np.empty(n, x.dtype) if derivs is None else None
    gx = np.zeros_like(x) if derivs is not None and left else None
    gy = np.zeros_like(y) if derivs is not None and right else None
    block = _block_pairs(x, y, s.n_threads)
    for start in range(0, n, block):
        i1, i2 = index1[start:start + block], index2[start:start + block]
        xb, yb = np.ascontiguousarray(x[i1]), np.ascontiguousarray(y[i2])
        ctx, delta = lender.increments(xb, yb)
        if derivs is None:
            _goursat_delta.forward(delta, out[start:start + block], lam1, lam2,
                                   s.n_threads)
            continue
        d = np.ascontiguousarray(derivs[start:start + block], dtype=x.dtype)
        gamma = np.zeros_like(delta)
        _goursat_delta.backward(delta, d, gamma, lam1, lam2, s.n_threads)
        bx, by = lender.grads(ctx, gamma, xb, yb, left, right)
        if left:
            np.add.at(gx, i1, bx)
        if right:
            np.add.at(gy, i2, by)
    return out if derivs is None else (gx, gy)


def _unsupported(**flags):
    for name, value in flags.items():
        if value is not None and value is not False:
            raise ValueError(
                f"{name} is not available with a user-defined static kernel (the "
                "kernel, its Gram and their gradients are); use a built-in kernel"
            )


def _setup(path1, path2, dyadic_order, kernel, time_aug, lead_lag, end_time, n_jobs,
           basepoint, gram, max_batch):
    from sksig._kernel_setup import _Setup
    from sksig._validation import check_max_batch

    check_custom(kernel)
    check_max_batch(max_batch)  # accepted; blocks are bounded by memory anyway
    # The paths and options are validated as for a built-in kernel.
    s = _Setup(path1, path2, dyadic_order, None, time_aug, lead_lag, end_time,
               n_jobs, gram=gram, basepoint=basepoint)
    if not (isinstance(s.b1.data, np.ndarray) and isinstance(s.b2.data, np.ndarray)):
        # A backend that keeps device arrays on their device: this route is host-only.
        raise ValueError(
            f"static_kernel {type(kernel).__name__} is a user-defined kernel, computed "
            "on the CPU only: pass numpy arrays or CPU tensors"
        )
    return s


def _pairs(s):
    n = s.b1.n_paths
    return np.arange(n), np.arange(n)


def _gram_pairs(s):
    n1, n2 = s.b1.n_paths, s.b2.n_paths
    check_memory(16 * n1 * n2, f"the index of the {n1} x {n2} pairs", "the batches")
    return np.repeat(np.arange(n1), n2), np.tile(np.arange(n2), n1)


def sig_kernel(path1, path2, dyadic_order, kernel, *, time_aug, lead_lag, end_time,
               basepoint, n_jobs, normalize, return_log, return_grid, max_batch=-1,
               gram=False):
    """:func:`sksig.sig_kernel` / :func:`sksig.sig_kernel_gram` for a user kernel."""
    _unsupported(normalize=normalize, return_log=return_log, return_grid=return_grid)
    s = _setup(path1, path2, dyadic_order, kernel, time_aug, lead_lag, end_time, n_jobs,
               basepoint, gram, max_batch)
    i1, i2 = _gram_pairs(s) if gram else _pairs(s)
    out = _solve(s, kernel, i1, i2)
    shape = s.b1.batch_shape + (s.b2.batch_shape if gram else ())
    return s.caller.out(out.reshape(shape))


def sig_kernel_backprop(derivs, path1, path2, dyadic_order, kernel, *, time_aug,
                        lead_lag, end_time, basepoint, normalize, left_deriv,
                        right_deriv, k_grid, n_jobs, return_grid, max_batch=-1,
                        gram=False):
    """:func:`sksig.sig_kernel_backprop` / :func:`sksig.sig_kernel_gram_backprop`."""
    from sksig._kernel_setup import _check_flags, _derivs_array, _pair_derivs

    left, right = _check_flags(left_deriv, right_deriv)
    _unsupported(normalize=normalize, k_grid=k_grid, return_grid=return_grid)
    s = _setup(path1, path2, dyadic_order, kernel, time_aug, lead_lag, end_time, n_jobs,
               basepoint, gram, max_batch)
    if gram:
        shape = s.b1.batch_shape + s.b2.batch_shape
        array = _derivs_array(s, derivs)
        if array.shape != tuple(shape):
            raise ValueError(
                f"derivs must have the Gram's shape {tuple(shape)}, got {array.shape}")
        d = array.reshape(-1)
        i1, i2 = _gram_pairs(s)
    else:
        d = _pair_derivs(s, derivs, False)
        i1, i2 = _pairs(s)
    gx, gy = _solve(s, kernel, i1, i2, d, left, right)
    return (s.b1.grad_to_input(gx, s.n_threads) if left else None,
            s.b2.grad_to_input(gy, s.n_threads) if right else None)
