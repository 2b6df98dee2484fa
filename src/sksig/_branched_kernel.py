"""Branched signature kernels: the kernel of branched (non-planar) rough paths.

The kernel of two paths is built by a recursion over the depth of the rooted trees:
``K_0 = 1`` and ``K_m(s, t) = exp(int_0^s int_0^t K_{m-1} dkappa)``, where ``dkappa`` is
the increment of the static kernel on the two paths; ``K_depth`` at the end points is
the kernel of forests of depth at most ``depth``. It is solved on the grid that refines
every segment pair ``2**dyadic_order`` times (each cell adds its coefficient times the
mean of ``K_{m-1}`` at its corners), with the exact adjoint of that scheme for the
gradients. The native core is include/sksig/branched_kernel.hpp.
"""

import numpy as np

from sksig import _limits
from sksig._core import _backend
from sksig._docs import fill_doc
from sksig._kernel_setup import (
    _backprop_flags,
    _check_finite,
    _gram_derivs,
    _native,
    _pair_derivs,
    _path_grads,
    _Setup,
)
from sksig._validation import check_bool, check_int, check_max_batch

__all__ = [
    "branched_sig_kernel",
    "branched_sig_kernel_backprop",
    "branched_sig_kernel_gram",
    "branched_sig_kernel_gram_backprop",
]

# The parameters the siblings of branched_sig_kernel take as it does
# (sksig._docs.fill_doc).
_AS_IN_BRANCHED = """
    depth, dyadic_order : int
        As in :func:`branched_sig_kernel`.
    static_kernel, time_aug, lead_lag, end_time, basepoint : optional
        As in :func:`branched_sig_kernel`."""


def _setup(path1, path2, depth, dyadic_order, static_kernel, time_aug, lead_lag,
           end_time, n_jobs, basepoint, gram):
    depth = check_int(depth, "depth")
    s = _Setup(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time,
               n_jobs, gram=gram, basepoint=basepoint)
    s.depth = depth
    return s


def _check_memory(s, where):
    """The backprop keeps the grids of every depth per thread."""
    cells = s.grid_shape[0] * s.grid_shape[1]
    _limits.check_memory((s.depth + 3) * cells * 8 * max(s.n_threads, 1), where,
                         "dyadic_order or depth")


def _kernels(x, y, s, gram, grid, where):
    """Kernels of the transformed paths x, y (flat), checked finite."""
    out = np.empty(x.shape[0] * y.shape[0] if gram else x.shape[0], s.caller.dtype)
    _native(where, _backend.branched_kernel_forward, x, y, gram, s.orders, s.depth,
            s.kernel, out, grid, s.n_threads)
    _check_finite(out, where)
    return out


def _kernel_function(s, gram, normalize, return_grid, where):
    """The body of both kernel functions after their checks."""
    shape = s.b1.batch_shape + s.b2.batch_shape if gram else s.b1.batch_shape
    if return_grid:
        s.no_ragged_grid("return_grid=True")
        grid = np.empty(shape + s.grid_shape, s.caller.dtype)
        _kernels(s.b1.data, s.b2.data, s, gram, grid, where)
        return s.caller.out(grid)
    k = _kernels(s.b1.data, s.b2.data, s, gram, None, where)
    if normalize:
        d1, d2 = (_kernels(b.data, b.data, s, False, None, where).astype(np.float64)
                  for b in (s.b1, s.b2))
        denom = np.sqrt(np.multiply.outer(d1, d2).ravel() if gram else d1 * d2)
        k = (k / denom).astype(s.caller.dtype)
    return s.caller.out(k.reshape(shape))


def _backprop(s, d, gram, flags, max_batch=-1):
    """The body of both backprops after their checks."""
    left, right, return_grid = flags
    where = "branched_sig_kernel_gram_backprop" if gram else \
        "branched_sig_kernel_backprop"
    _check_memory(s, where)
    x, y = s.b1.data, s.b2.data
    gx = np.zeros(x.size if left else 0, x.dtype)
    gy = np.zeros(y.size if right else 0, y.dtype)
    d = np.ascontiguousarray(d, dtype=x.dtype)
    if gram:
        _native(where, _backend.branched_kernel_backward_gram, x, y, s.orders, s.depth,
                s.kernel, d, return_grid, gx, gy, max_batch, s.n_threads)
    else:
        _native(where, _backend.branched_kernel_backward, x, y, s.orders, s.depth,
                s.kernel, d, return_grid, gx, gy, s.n_threads)
    return _path_grads(s, gx, gy, left, right)


def _check_output(normalize, return_grid):
    normalize = check_bool(normalize, "normalize")
    if normalize and return_grid:
        raise ValueError("return_grid=True cannot be combined with normalize=True")
    return normalize


@fill_doc(as_in_branched=_AS_IN_BRANCHED)
def branched_sig_kernel(path1, path2, depth, dyadic_order, *, static_kernel=None,
                        time_aug=False, lead_lag=False, end_time=1.0, basepoint=None,
                        n_jobs=1, return_grid=False, normalize=False):
    """Branched signature kernels of pairs of paths (non-planar trees, by depth).

    The kernel of the branched signatures of two paths, whose coordinates are indexed
    by forests of non-planar rooted trees, truncated by the depth of the trees. It
    solves ``K_0 = 1``, ``K_m(s, t) = exp(int_0^s int_0^t K_{m-1} dkappa)`` for
    ``m = 1..depth`` on the grid of segment pairs refined ``2**dyadic_order`` times:
    each refined cell adds its static-kernel increment times the mean of ``K_{m-1}``
    at its four corners. ``depth=1`` gives ``exp`` of the static-kernel increment of
    the whole paths (forests of single nodes). Computed on the CPU.

    Parameters
    ----------
    path1 : array-like of shape (..., length_1, dim), torch.Tensor or list of 2-D arrays
        First paths; a ragged list of 2-D paths is a batch of shape ``(n,)``.
    path2 : array-like of shape (..., length_2, dim), torch.Tensor or list of 2-D arrays
        Second paths, with the same batch shape and dimension.
    depth : int
        Largest tree depth kept (0 gives the kernel 1).
    dyadic_order : int or pair of ints
        Each segment is split into ``2**dyadic_order`` steps; a pair refines the two
        paths differently.
    static_kernel : StaticKernel, optional
        Kernel on points, e.g. ``RBFKernel(sigma=1.0)``; None means linear.
    time_aug, lead_lag : bool, default=False
        Path transforms applied first (see :func:`transform_path`).
    end_time : float, default=1.0
        Last value of the time channel.
    basepoint : None, True or array-like of shape (dim,), default=None
        A point prepended to every path before the transforms (True: the origin).
    {n_jobs}
    return_grid : bool, default=False
        Return the grid of ``K_depth`` (shape ``(M1 + 1, M2 + 1)`` with
        ``M_k = (L_k' - 1) * 2**order_k``) instead of its last entry.
    normalize : bool, default=False
        Return ``K(x, y) / sqrt(K(x, x) K(y, y))`` (not with ``return_grid``).

    Returns
    -------
    ndarray or torch.Tensor of shape (...) or (..., M1 + 1, M2 + 1)
        The kernels (0-d for one unbatched pair), or their grids.

    Raises
    ------
    TypeError
        For non-float arrays, a non-int ``depth`` or non-bool flags.
    ValueError
        For a negative ``depth``, mismatched batch shapes or dimensions, NaN/inf,
        bad dyadic orders, or ``normalize`` with ``return_grid``.
    FloatingPointError
        If the kernel overflows (rescale the paths).

    See Also
    --------
    sig_kernel : The signature kernel (ordered words instead of trees).

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0], [1.0]]); y = np.array([[0.0], [0.5]])
    >>> round(float(sksig.branched_sig_kernel(x, y, 1, 0)), 6)  # exp(<1, 0.5>)
    1.648721
    >>> k2 = sksig.branched_sig_kernel(x, y, 2, 0)  # exp(0.5 (3 + e^0.5) / 4)
    >>> round(float(k2), 6)
    1.787987
    """
    return_grid = check_bool(return_grid, "return_grid")
    normalize = _check_output(normalize, return_grid)
    s = _setup(path1, path2, depth, dyadic_order, static_kernel, time_aug, lead_lag,
               end_time, n_jobs, basepoint, gram=False)
    return _kernel_function(s, False, normalize, return_grid, "branched_sig_kernel")


@fill_doc(as_in_branched=_AS_IN_BRANCHED)
def branched_sig_kernel_gram(path1, path2, depth, dyadic_order, *, static_kernel=None,
                             time_aug=False, lead_lag=False, end_time=1.0,
                             basepoint=None, n_jobs=1, max_batch=-1, return_grid=False,
                             normalize=False):
    """Gram matrix of branched signature kernels between two batches of paths.

    ``G[i..., j...] = branched_sig_kernel(path1[i...], path2[j...])`` with the same
    options. Computed on the CPU.

    Parameters
    ----------
    {gram_paths}
    {as_in_branched}
    n_jobs : int, default=1
        CPU threads. Results do not depend on it.
    max_batch : int, default=-1
        Accepted for compatibility: -1 or a positive int; results never depend on it.
    return_grid : bool, default=False
        Return the grid of every pair.
    normalize : bool, default=False
        Return the normalized Gram (not with ``return_grid``).

    Returns
    -------
    ndarray or torch.Tensor of shape (b1..., b2...) or (b1..., b2..., M1 + 1, M2 + 1)
        The Gram matrix of branched kernels (with ``return_grid``, the grid of
        ``K_depth`` of every pair).

    Raises
    ------
    TypeError, ValueError, FloatingPointError
        As in :func:`branched_sig_kernel`; ``ValueError`` also for a bad
        ``max_batch``.

    {gram_example}
    >>> np.round(sksig.branched_sig_kernel_gram(X, X, 1, 0), 4)
    array([[ 2.7183,  7.3891],
           [ 7.3891, 54.5982]])
    """
    return_grid = check_bool(return_grid, "return_grid")
    normalize = _check_output(normalize, return_grid)
    check_max_batch(max_batch)
    s = _setup(path1, path2, depth, dyadic_order, static_kernel, time_aug, lead_lag,
               end_time, n_jobs, basepoint, gram=True)
    return _kernel_function(s, True, normalize, return_grid,
                            "branched_sig_kernel_gram")


@fill_doc(as_in_branched=_AS_IN_BRANCHED)
def branched_sig_kernel_backprop(derivs, path1, path2, depth, dyadic_order, *,
                                 static_kernel=None, time_aug=False, lead_lag=False,
                                 end_time=1.0, basepoint=None, left_deriv=True,
                                 right_deriv=False, k_stack=None, n_jobs=1,
                                 return_grid=False):
    """Differentiate a function of :func:`branched_sig_kernel` w.r.t. the paths.

    The exact vector-Jacobian product of the discrete scheme (its adjoint), chained
    through the static kernel and the path transforms. Computed on the CPU.

    Parameters
    ----------
    derivs : array-like of shape (...) or (..., M1 + 1, M2 + 1)
        ``dF/dK`` for each kernel, or, with ``return_grid=True``, ``dF/dgrid`` shaped
        like the grid of :func:`branched_sig_kernel` (row 0 and column 0 have no
        effect).
    path1, path2 : array-like, torch.Tensor or list of 2-D arrays
        The paths passed to :func:`branched_sig_kernel`.
    {as_in_branched}
    {deriv_flags}
    k_stack : None, optional
        Accepted for compatibility and ignored: the grids of every depth are
        recomputed (which costs one forward pass).
    n_jobs : int, default=1
        CPU threads. Results do not depend on it.
    return_grid : bool, default=False
        Whether ``derivs`` is shaped like the grids of ``K_depth``.

    Returns
    -------
    grad_path1 : ndarray, torch.Tensor, list or None
        Gradient with respect to ``path1``, shaped like it; None if ``left_deriv`` is
        False.
    grad_path2 : ndarray, torch.Tensor, list or None
        Gradient with respect to ``path2``; None if ``right_deriv`` is False.

    Raises
    ------
    ValueError
        If both flags are False, ``derivs`` has the wrong shape, or for the invalid
        inputs of :func:`branched_sig_kernel`.
    {backprop_errors}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0], [1.0]]); y = np.array([[0.0], [0.5]])
    >>> gx, _ = sksig.branched_sig_kernel_backprop(1.0, x, y, 1, 0)
    >>> np.round(gx.ravel(), 6)  # d exp(x1 * 0.5) / dx1 = 0.5 e^0.5
    array([-0.824361,  0.824361])
    """
    flags = _backprop_flags(left_deriv, right_deriv, return_grid)
    s = _setup(path1, path2, depth, dyadic_order, static_kernel, time_aug, lead_lag,
               end_time, n_jobs, basepoint, gram=False)
    return _backprop(s, _pair_derivs(s, derivs, flags[2]), False, flags)


@fill_doc(as_in_branched=_AS_IN_BRANCHED)
def branched_sig_kernel_gram_backprop(derivs, path1, path2, depth, dyadic_order, *,
                                      static_kernel=None, time_aug=False,
                                      lead_lag=False, end_time=1.0, basepoint=None,
                                      left_deriv=True, right_deriv=False, k_stack=None,
                                      n_jobs=1, return_grid=False, max_batch=-1):
    """Differentiate a function of :func:`branched_sig_kernel_gram` w.r.t. the paths.

    ``grad_path1[i] = sum_j`` of the first-slot gradient of ``K(path1[i], path2[j])``
    weighted by ``derivs[i, j]``, likewise for ``grad_path2``, summed in a fixed order
    (identical for every ``n_jobs`` and ``max_batch``). Computed on the CPU.

    Parameters
    ----------
    derivs : array-like of shape (b1..., b2...) or (b1..., b2..., M1 + 1, M2 + 1)
        ``dF/dG``, or ``dF/dgrid`` for the grids of ``K_depth`` with
        ``return_grid=True``.
    path1, path2 : array-like, torch.Tensor or list of 2-D arrays
        The paths passed to :func:`branched_sig_kernel_gram`.
    {as_in_branched}
    {deriv_flags}
    k_stack : None, optional
        Accepted for compatibility and ignored.
    n_jobs : int, default=1
        CPU threads. Results do not depend on it.
    return_grid : bool, default=False
        Whether ``derivs`` is grid-shaped.
    max_batch : int, default=-1
        Pairs are processed in rounds of ``max_batch**2`` (default: bounded by
        memory); results never depend on it.

    Returns
    -------
    grad_path1 : ndarray, torch.Tensor, list or None
        Gradient with respect to ``path1``; None if ``left_deriv`` is False.
    grad_path2 : ndarray, torch.Tensor, list or None
        Gradient with respect to ``path2``; None if ``right_deriv`` is False.

    Raises
    ------
    ValueError, TypeError, FloatingPointError
        As in :func:`branched_sig_kernel_backprop`; ``ValueError`` also for a bad
        ``max_batch``.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> X = np.array([[[0.0], [1.0]]])
    >>> gx, _ = sksig.branched_sig_kernel_gram_backprop(np.ones((1, 1)), X, X, 1, 0)
    >>> np.round(gx.ravel(), 6)  # d exp(x1 * 1) / dx1 (first slot only) = e
    array([-2.718282,  2.718282])
    """
    flags = _backprop_flags(left_deriv, right_deriv, return_grid)
    max_batch = check_max_batch(max_batch)
    s = _setup(path1, path2, depth, dyadic_order, static_kernel, time_aug, lead_lag,
               end_time, n_jobs, basepoint, gram=True)
    return _backprop(s, _gram_derivs(s, derivs, flags[2]), True, flags, max_batch)
