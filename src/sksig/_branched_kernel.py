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

from sksig._validation import check_bool, check_int, check_max_batch

__all__ = [
    "branched_sig_kernel",
    "branched_sig_kernel_backprop",
    "branched_sig_kernel_gram",
    "branched_sig_kernel_gram_backprop",
]

# Bytes of per-pair gradient buffers the Gram backprop may hold at once by default.
_GRAM_BUFFER_BYTES = 64 * 2**20


def _setup(path1, path2, depth, dyadic_order, static_kernel, time_aug, lead_lag,
           end_time, n_jobs, basepoint, gram):
    from sksig._kernel_setup import _Setup

    depth = check_int(depth, "depth")
    s = _Setup(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time,
               n_jobs, gram=gram, basepoint=basepoint)
    s.depth = depth
    return s


def _native(where, fn, *args):
    from sksig._kernel_setup import _native as native

    native(where, fn, *args)


def _check_memory(s, n_threads, where):
    """The backprop keeps the grids of every depth per thread."""
    from sksig import _limits

    cells = s.grid_shape[0] * s.grid_shape[1]
    _limits.check_memory((s.depth + 3) * cells * 8 * max(n_threads, 1), where,
                         "dyadic_order or depth")


def _forward(s, gram, return_grid, where):
    from sksig._core import _branched_kernel
    from sksig._kernel_setup import _check_finite

    n = s.b1.n_paths * s.b2.n_paths if gram else s.b1.n_paths
    out = np.empty(n, s.caller.dtype)
    cells = s.grid_shape[0] * s.grid_shape[1]
    grid = np.empty(n * cells if return_grid else 0, s.caller.dtype)
    _native(where, _branched_kernel.forward, s.b1.data, s.b2.data, gram, s.orders,
            s.depth, s.kernel, out, grid, s.n_threads)
    _check_finite(out, where)
    return out, grid


def _normalized(s, k, gram, where):
    from sksig._core import _branched_kernel
    from sksig._kernel_setup import _check_finite

    diagonals = []
    for b in (s.b1, s.b2):
        d = np.empty(b.n_paths, s.caller.dtype)
        _native(where, _branched_kernel.forward, b.data, b.data, False, s.orders,
                s.depth, s.kernel, d, np.empty(0, s.caller.dtype), s.n_threads)
        _check_finite(d, where)
        diagonals.append(d.astype(np.float64))
    d1, d2 = diagonals
    denom = np.sqrt(np.multiply.outer(d1, d2).ravel() if gram else d1 * d2)
    return (k / denom).astype(s.caller.dtype)


def _check_output(normalize, return_grid):
    normalize = check_bool(normalize, "normalize")
    if normalize and return_grid:
        raise ValueError("return_grid=True cannot be combined with normalize=True")
    return normalize


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
    n_jobs : int, default=1
        CPU threads; None means 1, -1 all cores. Results do not depend on it.
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
    if return_grid:
        s.no_ragged_grid("return_grid=True")
    k, grid = _forward(s, False, return_grid, "branched_sig_kernel")
    if return_grid:
        return s.caller.out(grid.reshape(s.b1.batch_shape + s.grid_shape))
    if normalize:
        k = _normalized(s, k, False, "branched_sig_kernel")
    return s.caller.out(k.reshape(s.b1.batch_shape))


def branched_sig_kernel_gram(path1, path2, depth, dyadic_order, *, static_kernel=None,
                             time_aug=False, lead_lag=False, end_time=1.0,
                             basepoint=None, n_jobs=1, max_batch=-1, return_grid=False,
                             normalize=False):
    """Gram matrix of branched signature kernels between two batches of paths.

    ``G[i..., j...] = branched_sig_kernel(path1[i...], path2[j...])`` with the same
    options. Computed on the CPU.

    Parameters
    ----------
    path1 : array-like of shape (b1..., length_1, dim), torch.Tensor or list of arrays
        First batch (an unbatched path contributes no axes).
    path2 : array-like of shape (b2..., length_2, dim), torch.Tensor or list of arrays
        Second batch, same dimension.
    depth, dyadic_order : int
        As in :func:`branched_sig_kernel`.
    static_kernel, time_aug, lead_lag, end_time, basepoint : optional
        As in :func:`branched_sig_kernel`.
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
        The Gram matrix (with ``return_grid``, the grid of every pair).

    Raises
    ------
    TypeError, ValueError, FloatingPointError
        As in :func:`branched_sig_kernel`; ``ValueError`` also for a bad
        ``max_batch``.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> X = np.array([[[0.0], [1.0]], [[0.0], [2.0]]])
    >>> np.round(sksig.branched_sig_kernel_gram(X, X, 1, 0), 4)
    array([[ 2.7183,  7.3891],
           [ 7.3891, 54.5982]])
    """
    return_grid = check_bool(return_grid, "return_grid")
    normalize = _check_output(normalize, return_grid)
    check_max_batch(max_batch)
    s = _setup(path1, path2, depth, dyadic_order, static_kernel, time_aug, lead_lag,
               end_time, n_jobs, basepoint, gram=True)
    if return_grid:
        s.no_ragged_grid("return_grid=True")
    shape = s.b1.batch_shape + s.b2.batch_shape
    k, grid = _forward(s, True, return_grid, "branched_sig_kernel_gram")
    if return_grid:
        return s.caller.out(grid.reshape(shape + s.grid_shape))
    if normalize:
        k = _normalized(s, k, True, "branched_sig_kernel_gram")
    return s.caller.out(k.reshape(shape))


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
    depth, dyadic_order : int
        As in :func:`branched_sig_kernel`.
    static_kernel, time_aug, lead_lag, end_time, basepoint : optional
        As in :func:`branched_sig_kernel`.
    left_deriv : bool, default=True
        Return the gradient with respect to ``path1``.
    right_deriv : bool, default=False
        Return the gradient with respect to ``path2``.
    k_stack : None, optional
        Accepted for compatibility and ignored: the grids of every depth are
        recomputed (which costs one forward pass).
    n_jobs : int, default=1
        CPU threads. Results do not depend on it.
    return_grid : bool, default=False
        Whether ``derivs`` is grid-shaped.

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
    TypeError
        For mixed array kinds or dtypes.
    FloatingPointError
        If the computation overflows.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0], [1.0]]); y = np.array([[0.0], [0.5]])
    >>> gx, _ = sksig.branched_sig_kernel_backprop(1.0, x, y, 1, 0)
    >>> np.round(gx.ravel(), 6)  # d exp(x1 * 0.5) / dx1 = 0.5 e^0.5
    array([-0.824361,  0.824361])
    """
    from sksig._core import _branched_kernel
    from sksig._kernel_setup import _check_flags, _pair_derivs

    left, right = _check_flags(left_deriv, right_deriv)
    return_grid = check_bool(return_grid, "return_grid")
    s = _setup(path1, path2, depth, dyadic_order, static_kernel, time_aug, lead_lag,
               end_time, n_jobs, basepoint, gram=False)
    d = _pair_derivs(s, derivs, return_grid)
    _check_memory(s, s.n_threads, "branched_sig_kernel_backprop")
    x, y = s.b1.data, s.b2.data
    gx = np.empty(x.size if left else 0, x.dtype)
    gy = np.empty(y.size if right else 0, y.dtype)
    _native("branched_sig_kernel_backprop", _branched_kernel.backward, x, y, s.orders,
            s.depth, s.kernel, np.ascontiguousarray(d, dtype=x.dtype), return_grid, gx,
            gy, s.n_threads)
    return (s.b1.grad_to_input(gx.reshape(x.shape), s.n_threads) if left else None,
            s.b2.grad_to_input(gy.reshape(y.shape), s.n_threads) if right else None)


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
        ``dF/dG``, or ``dF/dgrid`` with ``return_grid=True``.
    path1, path2 : array-like, torch.Tensor or list of 2-D arrays
        The paths passed to :func:`branched_sig_kernel_gram`.
    depth, dyadic_order : int
        As in :func:`branched_sig_kernel`.
    static_kernel, time_aug, lead_lag, end_time, basepoint : optional
        As in :func:`branched_sig_kernel`.
    left_deriv, right_deriv : bool
        Which gradients to return (as in :func:`branched_sig_kernel_backprop`).
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
        As in :func:`branched_sig_kernel_backprop`.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> X = np.array([[[0.0], [1.0]]])
    >>> gx, _ = sksig.branched_sig_kernel_gram_backprop(np.ones((1, 1)), X, X, 1, 0)
    >>> np.round(gx.ravel(), 6)  # d exp(x1 * 1) / dx1 (first slot only) = e
    array([-2.718282,  2.718282])
    """
    from sksig._core import _branched_kernel
    from sksig._kernel_setup import _check_flags, _derivs_array

    left, right = _check_flags(left_deriv, right_deriv)
    return_grid = check_bool(return_grid, "return_grid")
    max_batch = check_max_batch(max_batch)
    s = _setup(path1, path2, depth, dyadic_order, static_kernel, time_aug, lead_lag,
               end_time, n_jobs, basepoint, gram=True)
    shape = s.b1.batch_shape + s.b2.batch_shape
    if return_grid:
        s.no_ragged_grid("return_grid=True")
        d = s.grid_array(derivs, "derivs", shape)
    else:
        array = _derivs_array(s, derivs)
        if array.shape != tuple(shape):
            raise ValueError(
                f"derivs must have the Gram's shape {tuple(shape)}, got {array.shape}"
            )
        d = array.reshape(-1)
    _check_memory(s, s.n_threads, "branched_sig_kernel_gram_backprop")
    x, y = s.b1.data, s.b2.data
    per_pair = (x[0].size + y[0].size) * x.itemsize if x.shape[0] else 1
    chunk = max_batch**2 if max_batch > 0 else max(64, _GRAM_BUFFER_BYTES // per_pair)
    chunk = min(chunk, max(1, x.shape[0] * y.shape[0]))
    gx = np.zeros(x.size if left else 0, x.dtype)
    gy = np.zeros(y.size if right else 0, y.dtype)
    _native("branched_sig_kernel_gram_backprop", _branched_kernel.backward_gram, x, y,
            s.orders, s.depth, s.kernel, np.ascontiguousarray(d, dtype=x.dtype),
            return_grid, gx, gy, chunk, s.n_threads)
    return (s.b1.grad_to_input(gx.reshape(x.shape), s.n_threads) if left else None,
            s.b2.grad_to_input(gy.reshape(y.shape), s.n_threads) if right else None)
