"""Signature kernels by the high-order ("polynomial") solver of the Goursat PDE.

``sig_kernel(..., method="polynomial", order=P)`` and its Gram and backprop siblings
are routed here by :func:`polynomial_method`. On the cell of two segments the PDE
``d2k/dsdt = c k`` has a constant coefficient ``c`` (the static kernel's increment of
the two segments). The solver keeps the kernel at every vertex of the segment grid and
the first ``P`` derivatives of the kernel along every cell edge; across a cell these
propagate exactly through the power series of the solution (a Bessel-type series), and
each new edge is truncated to degree ``P``. The error falls like a factorial in ``P``,
so a few tens of degrees reach machine precision on the plain segment grid, where
finite differences need dyadic refinement. The gradients are the exact adjoint of this
discrete scheme. The native core is include/sksig/goursat_poly.hpp.
"""

import functools

import numpy as np

from sksig import _kernel_setup as setup
from sksig._core import _backend
from sksig._validation import check_bool, check_max_batch

__all__ = ["check_order", "polynomial_method"]

_METHODS = ("finite_difference", "polynomial")
_MIN_ORDER, _MAX_ORDER = 2, 64


def check_order(value, name="order"):
    """``order`` of the polynomial method as a Python int in [2, 64]."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if not _MIN_ORDER <= value <= _MAX_ORDER:
        raise ValueError(f"{name} must be between {_MIN_ORDER} and {_MAX_ORDER}, "
                         f"got {value}")
    return value


def _check_method(method):
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, _METHODS))}, "
                         f"got {method!r}")
    return method


def polynomial_method(poly_fn, dyadic_position):
    """Decorator of a finite-difference kernel function: accept ``method`` and
    ``order`` and send ``method="polynomial"`` to ``poly_fn`` (same arguments, with
    ``order``). ``dyadic_position`` is the index of ``dyadic_order`` among the
    positional arguments. ``method`` and ``order`` are removed before the wrapped
    function (and its CUDA twin) sees the call."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            dyadic = (args[dyadic_position] if len(args) > dyadic_position
                      else kwargs.get("dyadic_order"))
            if "method" not in kwargs and "order" not in kwargs and dyadic is not None:
                return fn(*args, **kwargs)  # the common case
            method = _check_method(kwargs.pop("method", "finite_difference"))
            order = kwargs.pop("order", None)
            if method == "polynomial":
                if dyadic is not None:
                    raise ValueError("dyadic_order is not supported when "
                                     "method='polynomial' (use order)")
                if order is None:
                    raise ValueError("order is required when method='polynomial'")
                order = check_order(order)
                args = args[:dyadic_position]
                kwargs.pop("dyadic_order", None)
                return poly_fn(*args, order=order, **kwargs)
            if order is not None:
                raise ValueError("order is not supported when "
                                 "method='finite_difference' (use dyadic_order)")
            if dyadic is None:
                raise ValueError("dyadic_order is required when "
                                 "method='finite_difference'")
            return fn(*args, **kwargs)

        return wrapper

    return decorate


def _setup(path1, path2, order, static_kernel, time_aug, lead_lag, end_time, n_jobs,
           basepoint, gram):
    # The vertex grid of the polynomial solver is the finite-difference grid at
    # dyadic order 0: reuse its validated setup.
    s = setup._Setup(path1, path2, 0, static_kernel, time_aug, lead_lag, end_time,
                     n_jobs, gram=gram, basepoint=basepoint)
    s.order = order
    return s


def _kernels(x, y, s, gram, grid, where):
    """Plain kernels of the transformed paths x, y (flat), checked finite."""
    out = np.empty(x.shape[0] * y.shape[0] if gram else x.shape[0], s.caller.dtype)
    setup._native(where, _backend.sig_kernel_poly_forward, x, y, gram, s.order,
                  s.kernel, out, grid, s.n_threads)
    setup._check_finite(out, where)
    return out


def _forward(s, gram, return_grid, where):
    n = s.b1.n_paths * s.b2.n_paths if gram else s.b1.n_paths
    grid = np.empty((n,) + s.grid_shape, s.caller.dtype) if return_grid else None
    return _kernels(s.b1.data, s.b2.data, s, gram, grid, where), grid


def _diagonal(s, which, where="sig_kernel"):
    """k(x, x) of every path of batch 1 or 2 (flat)."""
    b = s.b1 if which == 1 else s.b2
    return _kernels(b.data, b.data, s, False, None, where)


def _finish(s, k, gram, normalize, return_log, where):
    """Normalized and/or log kernels from plain kernels k (flat)."""
    if normalize:
        d1, d2 = _diagonal(s, 1, where), _diagonal(s, 2, where)
        denom = np.sqrt(np.multiply.outer(d1, d2).ravel() if gram else d1 * d2)
        k = k / denom
    if return_log:
        if np.any(k <= 0):
            raise ValueError(f"{where}: return_log=True needs positive kernels; some "
                             "are <= 0")
        k = np.log(k)
    return k


def _kernel_function(s, gram, normalize, return_log, return_grid, where):
    """The body of sig_kernel and sig_kernel_gram after their checks."""
    shape = s.b1.batch_shape + s.b2.batch_shape if gram else s.b1.batch_shape
    if return_grid:
        s.no_ragged_grid("return_grid=True")
    k, grid = _forward(s, gram, return_grid, where)
    if return_grid:
        return s.caller.out(grid.reshape(shape + s.grid_shape))
    k = _finish(s, k, gram, normalize, return_log, where)
    return s.caller.out(k.astype(s.caller.dtype).reshape(shape))


def sig_kernel(path1, path2, *, order, static_kernel=None, time_aug=False,
               lead_lag=False, end_time=1.0, basepoint=None, normalize=False,
               return_log=False, n_jobs=1, return_grid=False):
    """``sksig.sig_kernel(..., method="polynomial", order=order)``."""
    return_grid = check_bool(return_grid, "return_grid")
    normalize, return_log = setup._check_output(normalize, return_log, return_grid)
    s = _setup(path1, path2, order, static_kernel, time_aug, lead_lag, end_time, n_jobs,
               basepoint, gram=False)
    return _kernel_function(s, False, normalize, return_log, return_grid, "sig_kernel")


def sig_kernel_gram(path1, path2, *, order, static_kernel=None, time_aug=False,
                    lead_lag=False, end_time=1.0, basepoint=None, normalize=False,
                    return_log=False, n_jobs=1, max_batch=-1, return_grid=False):
    """``sksig.sig_kernel_gram(..., method="polynomial", order=order)``."""
    return_grid = check_bool(return_grid, "return_grid")
    normalize, return_log = setup._check_output(normalize, return_log, return_grid)
    check_max_batch(max_batch)
    s = _setup(path1, path2, order, static_kernel, time_aug, lead_lag, end_time, n_jobs,
               basepoint, gram=True)
    return _kernel_function(s, True, normalize, return_log, return_grid,
                            "sig_kernel_gram")


def _native_grads(s, x, y, d, grid, left, right, gram, max_batch=-1):
    """Gradients on the transformed paths (flat, zeros where not asked)."""
    gx = np.zeros(x.size if left else 0, x.dtype)
    gy = np.zeros(y.size if right else 0, y.dtype)
    d = np.ascontiguousarray(d, dtype=x.dtype)
    if gram:
        setup._native("sig_kernel_gram_backprop",
                      _backend.sig_kernel_poly_backward_gram, x, y, s.order, s.kernel,
                      d, grid, gx, gy, max_batch, s.n_threads)
    else:
        setup._native("sig_kernel_backprop", _backend.sig_kernel_poly_backward, x, y,
                      s.order, s.kernel, d, grid, gx, gy, s.n_threads)
    return gx, gy


def _normalized_grads(s, d, gram, left, right, max_batch):
    """Gradients of F(k / sqrt(k(x, x) k(y, y))) on the transformed paths: the plain
    kernels' backprop with weights d / sqrt(k_xx k_yy), plus each diagonal kernel's
    (both slots, as its path fills both) with weights -d N / (2 k_diag)."""
    x, y = s.b1.data, s.b2.data
    k, _ = _forward(s, gram, False, "sig_kernel_backprop")
    a, b = (_diagonal(s, i).astype(np.float64) for i in (1, 2))
    k = k.astype(np.float64)
    d = np.asarray(d, dtype=np.float64)
    if gram:
        root = np.sqrt(np.multiply.outer(a, b)).ravel()
        weights_a = -(d * k / root).reshape(a.size, b.size).sum(axis=1) / (2 * a)
        weights_b = -(d * k / root).reshape(a.size, b.size).sum(axis=0) / (2 * b)
    else:
        root = np.sqrt(a * b)
        weights_a = -d * k / root / (2 * a)
        weights_b = -d * k / root / (2 * b)
    gx, gy = _native_grads(s, x, y, d / root, False, left, right, gram, max_batch)
    if left:
        da, db = _native_grads(s, x, x, weights_a, False, True, True, False)
        gx = gx + da + db
    if right:
        da, db = _native_grads(s, y, y, weights_b, False, True, True, False)
        gy = gy + da + db
    return gx.astype(x.dtype), gy.astype(y.dtype)


def _backprop(s, d, gram, flags, normalize, max_batch=-1):
    """The body of the two backprops after their checks."""
    left, right, return_grid = flags
    if normalize:
        gx, gy = _normalized_grads(s, d, gram, left, right, max_batch)
    else:
        gx, gy = _native_grads(s, s.b1.data, s.b2.data, d, return_grid, left, right,
                               gram, max_batch)
    return setup._path_grads(s, gx, gy, left, right)


def sig_kernel_backprop(derivs, path1, path2, *, order, static_kernel=None,
                        time_aug=False, lead_lag=False, end_time=1.0, basepoint=None,
                        normalize=False, left_deriv=True, right_deriv=False,
                        k_grid=None, n_jobs=1, return_grid=False):
    """``sksig.sig_kernel_backprop(..., method="polynomial", order=order)``."""
    flags = setup._backprop_flags(left_deriv, right_deriv, return_grid)
    normalize = setup._check_normalize_backprop(normalize, k_grid, flags[2])
    s = _setup(path1, path2, order, static_kernel, time_aug, lead_lag, end_time, n_jobs,
               basepoint, gram=False)
    d = setup._pair_derivs(s, derivs, flags[2])
    setup._k_grid(s, k_grid, s.b1.batch_shape)  # shape-checked; the solver recomputes
    return _backprop(s, d, False, flags, normalize)


def sig_kernel_gram_backprop(derivs, path1, path2, *, order, static_kernel=None,
                             time_aug=False, lead_lag=False, end_time=1.0,
                             basepoint=None, normalize=False, left_deriv=True,
                             right_deriv=False, k_grid=None, n_jobs=1,
                             return_grid=False, max_batch=-1):
    """``sksig.sig_kernel_gram_backprop(..., method="polynomial", order=order)``."""
    flags = setup._backprop_flags(left_deriv, right_deriv, return_grid)
    normalize = setup._check_normalize_backprop(normalize, k_grid, flags[2])
    max_batch = check_max_batch(max_batch)
    s = _setup(path1, path2, order, static_kernel, time_aug, lead_lag, end_time, n_jobs,
               basepoint, gram=True)
    d = setup._gram_derivs(s, derivs, flags[2])
    # shape-checked; the solver recomputes
    setup._k_grid(s, k_grid, s.b1.batch_shape + s.b2.batch_shape)
    return _backprop(s, d, True, flags, normalize, max_batch)
