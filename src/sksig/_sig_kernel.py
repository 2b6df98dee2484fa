"""Signature kernels by the Goursat PDE and their exact gradients.

The kernel of two paths solves ``d^2 k / ds dt = k * d^2 kappa(x_s, y_t) / ds dt`` with
``k = 1`` on the axes. We use pySigLib's finite-difference scheme on a grid refined
``2**dyadic_order`` times per segment, and the exact discrete adjoint of
that scheme for gradients, chained through the static kernel and the path transforms.
"""



from sksig import _custom_kernel, _gram_blocks, _normalized_kernel
from sksig import _sig_kernel_poly as _poly
from sksig._array import all_finite
from sksig._dispatch import cuda_arrays
from sksig._docs import fill_doc
from sksig._kernel_setup import (
    _backprop_flags,
    _check_normalize_backprop,
    _check_output,
    _gram_derivs,
    _k_grid,
    _native,
    _pair_derivs,
    _path_grads,
    _Setup,
    forward,
)
from sksig._sig_kernel_poly import polynomial_method
from sksig._static_kernels import is_custom
from sksig._validation import (
    check_bool,
    check_max_batch,
)

__all__ = [
    "sig_kernel",
    "sig_kernel_backprop",
    "sig_kernel_delta_backprop",
    "sig_kernel_gram",
    "sig_kernel_gram_backprop",
]

# The parameters every sibling of sig_kernel takes as it does (sksig._docs.fill_doc).
_AS_IN_SIG_KERNEL = """
    dyadic_order : int or pair of ints
        As in :func:`sig_kernel`.
    method : {"finite_difference", "polynomial"}, default="finite_difference"
        As in :func:`sig_kernel`.
    order : int, optional
        As in :func:`sig_kernel`.
    static_kernel, time_aug, lead_lag, end_time, basepoint : optional
        As in :func:`sig_kernel`."""


def _custom_args(args):
    """A public function's arguments for its user-kernel twin in _custom_kernel (the
    polynomial method was routed away before: the finite-difference arguments)."""
    args = dict(args)
    args["kernel"] = args.pop("static_kernel")
    del args["method"], args["order"]
    return args


@polynomial_method(_poly.sig_kernel, 2)
@cuda_arrays
@fill_doc
def sig_kernel(path1, path2, dyadic_order=None, *, method="finite_difference",
               order=None, static_kernel=None, time_aug=False, lead_lag=False,
               end_time=1.0, basepoint=None, normalize=False, return_log=False,
               n_jobs=1, return_grid=False):
    """Signature kernels of pairs of paths, ``<S(x), S(y)>``, by the Goursat PDE.

    The Goursat PDE ``d2k/dsdt = k * <dx_s, dy_t>`` (``k = 1`` on the axes) is solved
    on a grid that splits every pair of segments into ``2**dyadic_order`` sub-steps
    per side; the value converges to the inner product of full signatures as the
    order grows. The static kernel ``kappa`` replaces the
    inner product of the points (the kernel of the lifted paths).

    Parameters
    ----------
    path1 : array-like of shape (..., length_1, dim), torch.Tensor or list of 2-D arrays
        First paths; a ragged list of 2-D paths is a batch of shape ``(n,)``.
    path2 : array-like of shape (..., length_2, dim), torch.Tensor or list of 2-D arrays
        Second paths, with the same batch shape and dimension (lengths may differ).
    dyadic_order : int or pair of ints
        Refinement of the PDE grid: each segment is split into ``2**dyadic_order``
        steps; a pair ``(order_1, order_2)`` refines the two paths differently.
        Required by ``method="finite_difference"``; not accepted by
        ``method="polynomial"``.
    method : {"finite_difference", "polynomial"}, default="finite_difference"
        Solver of the PDE. ``"polynomial"`` keeps one value per vertex of the
        unrefined grid of segment pairs and the first ``order`` derivatives of the
        kernel along every cell edge, propagated exactly across each cell (the PDE has
        a constant coefficient there) and truncated to degree ``order``; its error
        falls factorially with ``order``, far below finite differences on the same
        grid. Its grid (``return_grid``) has shape ``(L1', L2')``. It is computed on
        the CPU (CUDA tensors are copied there and results copied back), and its
        ``normalize`` and ``return_log`` divide and take logs of the plain kernels
        (an overflow raises ``FloatingPointError``).
    order : int, optional
        Highest degree kept by ``method="polynomial"`` (2 to 64; required there, not
        accepted with finite differences).
    static_kernel : StaticKernel, optional
        Kernel on points, e.g. ``RBFKernel(sigma=1.0)``; None means linear.
    time_aug : bool, default=False
        Append a time channel to the paths first (see :func:`transform_path`).
    lead_lag : bool, default=False
        Apply the lead-lag transform first.
    end_time : float, default=1.0
        Last value of the time channel.
    basepoint : None, True or array-like of shape (dim,), default=None
        A point prepended to every path before the transforms (True: the origin), so
        that the kernel sees where the paths start; gradients are those of the
        original points.
    normalize : bool, default=False
        Return ``k(x, y) / sqrt(k(x, x) k(y, y))``. It is computed without forming
        overflowing values: where the kernels exceed the float64 range, they are
        solved in extended range and combined as mantissas and powers of two.
    return_log : bool, default=False
        Return ``log k(x, y)`` (of the normalized kernel with ``normalize``), finite
        even where ``k`` itself overflows float64. Needs ``k > 0``.
    {n_jobs}
    return_grid : bool, default=False
        Return the whole PDE grid instead of its last entry (not with
        ``normalize`` or ``return_log``).

    Returns
    -------
    ndarray or torch.Tensor of shape (...) or (..., M1 + 1, M2 + 1)
        The kernels (0-d for one unbatched pair). With ``return_grid``,
        ``M_k = (L_k' - 1) * 2**order_k`` for the transformed lengths ``L_k'``; row 0
        and column 0 are 1 and the last entry is the kernel. A one-point path has
        kernel 1 (and a grid of ones).

    Raises
    ------
    TypeError
        For non-float arrays, mixed array kinds or dtypes, or non-bool flags.
    ValueError
        For mismatched batch shapes or dimensions, NaN/inf, paths without points or
        channels, negative orders, a non-kernel ``static_kernel``, or
        ``return_grid`` with ragged lists.
    FloatingPointError
        If the kernel overflows (rescale the paths).

    {pair_example}
    >>> float(sksig.sig_kernel(x, y, 1))
    4.25830078125
    >>> big = 30 * np.array([[0.0], [1.0]])
    >>> round(float(sksig.sig_kernel(big, big, 0, return_log=True)), 6)  # log 203401
    12.222935
    >>> k = sksig.sig_kernel(x, y, method="polynomial", order=8)  # I_0(2 sqrt 2)
    >>> round(float(k), 6)
    4.252351
    """
    if is_custom(static_kernel):  # a Python static kernel (sksig/_custom_kernel.py)
        return _custom_kernel.sig_kernel(**_custom_args(locals()))
    return_grid = check_bool(return_grid, "return_grid")
    normalize, return_log = _check_output(normalize, return_log, return_grid)
    s = _Setup(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time,
               n_jobs, gram=False, basepoint=basepoint, device=True)
    if s.caller.on_device:
        s.cpu_only("sig_kernel", normalize=normalize, return_log=return_log)
    if normalize or return_log:
        return s.caller.out(_scaled_output(s, "pairs", normalize, return_log)
                            .reshape(s.b1.batch_shape))

    if return_grid:
        s.no_ragged_grid("return_grid=True")
    grid = s.empty((s.b1.n_paths,) + s.grid_shape) if return_grid else None
    out = forward(s, "sig_kernel", False, grid=grid)
    if return_grid:
        return _grid_out(s, grid, s.b1.batch_shape)
    return s.caller.out(out.reshape(s.b1.batch_shape))


@polynomial_method(_poly.sig_kernel_gram, 2)
@cuda_arrays
@fill_doc(as_in_sig_kernel=_AS_IN_SIG_KERNEL)
def sig_kernel_gram(path1, path2, dyadic_order=None, *, method="finite_difference",
                    order=None, static_kernel=None, time_aug=False, lead_lag=False,
                    end_time=1.0, basepoint=None, normalize=False, return_log=False,
                    n_jobs=1, max_batch=-1, return_grid=False):
    """Gram matrix of signature kernels between two batches of paths.

    ``G[i..., j...] = sig_kernel(path1[i...], path2[j...])`` with the same options.
    When ``path1`` and ``path2`` are equal in content (not only the same object) and
    the two dyadic orders are equal, only pairs ``i <= j`` are solved and mirrored, so
    the result is exactly symmetric. With unequal orders ``k(x_j, x_i)`` is a
    different number from ``k(x_i, x_j)`` and every pair is computed. A Gram larger
    than one block of :func:`sig_kernel_gram_blocks` (scikit-learn's
    ``working_memory``, a fraction of a second of work) is computed in such blocks,
    with the same values: Ctrl-C stops it between blocks, and under
    ``joblib.parallel_config(backend="dask")`` the blocks run on a Dask cluster.

    Parameters
    ----------
    {gram_paths}
    {as_in_sig_kernel}
    normalize, return_log : bool, default=False
        As in :func:`sig_kernel`. With ``normalize``, the diagonal kernels of a Gram
        of paths with themselves are taken from the Gram (computed once).
    n_jobs : int, default=1
        As in :func:`sig_kernel`.
    max_batch : int, default=-1
        Accepted for compatibility: -1 or a positive int. Memory here is already
        bounded per thread; results never depend on it.
    return_grid : bool, default=False
        Return the PDE grid of every pair.

    Returns
    -------
    ndarray or torch.Tensor of shape (b1..., b2...) or (b1..., b2..., M1 + 1, M2 + 1)
        The Gram matrix (with ``return_grid``, the grid of every pair).

    Raises
    ------
    TypeError, ValueError, FloatingPointError
        As in :func:`sig_kernel`; ``ValueError`` also for a bad ``max_batch``.

    {gram_example}
    >>> sksig.sig_kernel_gram(X, X, 0)
    array([[2.25, 4.  ],
           [4.  , 9.  ]])
    """
    if is_custom(static_kernel):  # a Python static kernel (sksig/_custom_kernel.py)
        return _custom_kernel.sig_kernel(**_custom_args(locals()), gram=True)
    return_grid = check_bool(return_grid, "return_grid")
    normalize, return_log = _check_output(normalize, return_log, return_grid)
    check_max_batch(max_batch)
    s = _Setup(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time,
               n_jobs, gram=True, basepoint=basepoint, device=True)
    if s.caller.on_device:
        s.cpu_only("sig_kernel_gram", normalize=normalize, return_log=return_log)
    if return_grid:
        s.no_ragged_grid("return_grid=True")
    n1, n2 = s.b1.n_paths, s.b2.n_paths
    shape = s.b1.batch_shape + s.b2.batch_shape
    if normalize or return_log:
        kind = "symmetric" if s.symmetric() else "gram"
        return s.caller.out(_scaled_output(s, kind, normalize, return_log)
                            .reshape(shape))
    cells = s.grid_shape[0] * s.grid_shape[1]
    grid = s.empty((n1 * n2,) + s.grid_shape) if return_grid else None
    symmetric = s.symmetric()
    if not return_grid and not s.caller.on_device and _gram_blocks.needs_blocks(
            n1, n2, symmetric, s.b1.data.itemsize, cells, s.n_threads):
        # Larger than one block: blocks of bounded memory and time (Ctrl-C between
        # them), run through joblib (a Dask cluster under its joblib backend).
        out = _gram_blocks.gram_blocks(s.b1.data, s.b2.data, symmetric=symmetric,
                                       dyadic_order=s.orders,
                                       static_kernel=static_kernel, n_jobs=n_jobs)
    else:
        out = forward(s, "sig_kernel_gram", True, symmetric, grid)
    if return_grid:
        return _grid_out(s, grid, shape)
    return s.caller.out(out.reshape(shape))


def _grid_out(s, grid, batch_shape):
    """A returned PDE grid, checked through its last entries only: every entry feeds
    the last one through the recurrence (sums and products, where inf or NaN stays
    non-finite, 0 * inf included), so finite kernels mean a finite grid."""
    grid = grid.reshape(batch_shape + s.grid_shape)
    checked = not s.caller.on_device and all_finite(grid[..., -1, -1])
    return s.caller.out(grid, checked=checked)


def _scaled_output(s, kind, normalize, return_log):
    """Normalized kernels and/or log-kernels, overflow-safe (_normalized_kernel)."""
    if return_log:
        out = _normalized_kernel.log_kernels(s, kind, normalize)
    else:
        out = _normalized_kernel.normalized(s, kind)[0]
    return out.astype(s.caller.dtype)


def _backprop(s, derivs, k_grid, flags, normalize, max_batch=None):
    """The body of sig_kernel_backprop (``max_batch`` None) and
    sig_kernel_gram_backprop after their checks."""
    left, right, return_grid = flags
    gram = max_batch is not None
    where = "sig_kernel_gram_backprop" if gram else "sig_kernel_backprop"
    if s.caller.on_device:
        s.cpu_only(where, normalize=normalize)
    if gram:
        d = _gram_derivs(s, derivs, return_grid)
    else:
        d = _pair_derivs(s, derivs, return_grid)
    if normalize:
        gx, gy = _normalized_kernel.normalized_backprop(s, d, gram, left, right)
        dtype = s.b1.data.dtype
        return _path_grads(s, gx.astype(dtype), gy.astype(dtype), left, right)
    kg = _k_grid(s, k_grid, s.b1.batch_shape + (s.b2.batch_shape if gram else ()))
    x, y = s.b1.data, s.b2.data
    gx = s.zeros(x.shape) if left else None
    gy = s.zeros(y.shape) if right else None
    if gram:
        _native(where, s.backend.sig_kernel_backward_gram, x, y, s.orders, s.kernel, d,
                return_grid, kg, gx, gy, max_batch, s.n_threads)
    else:
        _native(where, s.backend.sig_kernel_backward, x, y, s.orders, s.kernel, d,
                return_grid, kg, gx, gy, None, s.n_threads)
    return _path_grads(s, gx, gy, left, right)


@polynomial_method(_poly.sig_kernel_backprop, 3)
@cuda_arrays
@fill_doc(as_in_sig_kernel=_AS_IN_SIG_KERNEL)
def sig_kernel_backprop(derivs, path1, path2, dyadic_order=None, *,
                        method="finite_difference", order=None, static_kernel=None,
                        time_aug=False, lead_lag=False, end_time=1.0, basepoint=None,
                        normalize=False, left_deriv=True, right_deriv=False,
                        k_grid=None, n_jobs=1, return_grid=False):
    """Differentiate a function of :func:`sig_kernel` with respect to the paths.

    The exact vector-Jacobian product of the discrete scheme (its adjoint), chained
    through the static kernel and the path transforms.

    Parameters
    ----------
    derivs : array-like of shape (...) or (..., M1 + 1, M2 + 1)
        ``dF/dk`` for each kernel (a 0-d or size-1 array for one unbatched pair), or,
        with ``return_grid=True``, ``dF/dgrid`` shaped like the PDE grid (entries of
        row 0 and column 0 have no effect).
    path1, path2 : array-like, torch.Tensor or list of 2-D arrays
        The paths passed to :func:`sig_kernel`.
    {as_in_sig_kernel}
    normalize : bool, default=False
        Differentiate the normalized kernel ``k(x, y) / sqrt(k(x, x) k(y, y))``
        (overflow-safe as in :func:`sig_kernel`); not with ``k_grid`` or
        ``return_grid``.
    {deriv_flags}
    k_grid : array-like of shape (..., M1 + 1, M2 + 1), optional
        The forward grid (``sig_kernel(..., return_grid=True)``) to reuse instead of
        recomputing it. Shape-checked. Reading a stored grid is bound by memory
        bandwidth: on the CPU, recomputing it in cache-sized stripes (the default)
        is about as fast at dyadic order 0 and faster from order 1 on.
    n_jobs : int, default=1
        CPU threads. Results do not depend on it.
    return_grid : bool, default=False
        Whether ``derivs`` is grid-shaped.

    Returns
    -------
    grad_path1 : ndarray, torch.Tensor, list or None
        Gradient with respect to ``path1``, shaped like it (``(length, dim)`` for an
        unbatched path, a list for a ragged list); None if ``left_deriv`` is False.
    grad_path2 : ndarray, torch.Tensor, list or None
        Gradient with respect to ``path2``, likewise; None if ``right_deriv`` is
        False.

    Raises
    ------
    ValueError
        If both flags are False, ``derivs`` or ``k_grid`` has the wrong shape, or for
        the invalid inputs of :func:`sig_kernel`.
    {backprop_errors}

    {pair_example}
    >>> gx, gy = sksig.sig_kernel_backprop(1.0, x, y, 0, right_deriv=True)
    >>> gx.ravel(), gy.ravel()
    (array([-4.,  4.]), array([-2.,  2.]))
    """
    if is_custom(static_kernel):  # a Python static kernel (sksig/_custom_kernel.py)
        return _custom_kernel.sig_kernel_backprop(**_custom_args(locals()))
    flags = _backprop_flags(left_deriv, right_deriv, return_grid)
    normalize = _check_normalize_backprop(normalize, k_grid, flags[2])
    s = _Setup(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time,
               n_jobs, gram=False, basepoint=basepoint, device=True)
    return _backprop(s, derivs, k_grid, flags, normalize)


@cuda_arrays
@fill_doc
def sig_kernel_delta_backprop(derivs, path1, path2, dyadic_order, *, static_kernel=None,
                              time_aug=False, lead_lag=False, end_time=1.0,
                              basepoint=None, k_grid=None, n_jobs=1, return_grid=False):
    """Gradient of a function of :func:`sig_kernel` with respect to the increment Gram.

    The signature kernel depends on the paths and on the static kernel only through
    the increment Gram ``Delta`` of the transformed paths (see
    :meth:`StaticKernel.increment_gram`). This returns ``Gamma = dF/dDelta``, from
    which path gradients (:meth:`StaticKernel.increment_gram_backprop`) or gradients
    with respect to static-kernel hyper-parameters follow by the chain rule.

    Parameters
    ----------
    derivs : array-like of shape (...) or (..., M1 + 1, M2 + 1)
        As in :func:`sig_kernel_backprop`.
    path1, path2 : array-like or torch.Tensor
        The paths passed to :func:`sig_kernel` (ragged lists are not accepted).
    dyadic_order : int or pair of ints
        As in :func:`sig_kernel` (finite differences only).
    static_kernel, time_aug, lead_lag, end_time, basepoint : optional
        As in :func:`sig_kernel_backprop`.
    k_grid, n_jobs, return_grid : optional
        As in :func:`sig_kernel_backprop`.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., L1' - 1, L2' - 1)
        ``dF/dDelta`` over the segments of the transformed paths.

    Raises
    ------
    ValueError, TypeError, FloatingPointError
        As in :func:`sig_kernel_backprop`; ``ValueError`` for ragged lists.

    {pair_example}
    >>> sksig.sig_kernel_delta_backprop(1.0, x, y, 0)  # d/dD (1 + D + D**2/4) at D = 2
    array([[2.]])
    """
    return_grid = check_bool(return_grid, "return_grid")
    s = _Setup(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time,
               n_jobs, gram=False, basepoint=basepoint, device=True)
    s.no_ragged_grid("sig_kernel_delta_backprop")
    d = _pair_derivs(s, derivs, return_grid)
    kg = _k_grid(s, k_grid, s.b1.batch_shape)
    x, y = s.b1.data, s.b2.data
    segments = (x.shape[1] - 1, y.shape[1] - 1)
    gamma = s.zeros((x.shape[0],) + segments)
    _native("sig_kernel_delta_backprop", s.backend.sig_kernel_backward, x, y, s.orders,
            s.kernel, d, return_grid, kg, None, None, gamma, s.n_threads)
    return s.caller.out(gamma.reshape(s.b1.batch_shape + segments))


@polynomial_method(_poly.sig_kernel_gram_backprop, 3)
@cuda_arrays
@fill_doc(as_in_sig_kernel=_AS_IN_SIG_KERNEL)
def sig_kernel_gram_backprop(derivs, path1, path2, dyadic_order=None, *,
                             method="finite_difference", order=None,
                             static_kernel=None, time_aug=False, lead_lag=False,
                             end_time=1.0, basepoint=None, normalize=False,
                             left_deriv=True, right_deriv=False, k_grid=None,
                             n_jobs=1, return_grid=False, max_batch=-1):
    """Differentiate a function of :func:`sig_kernel_gram` with respect to the paths.

    ``grad_path1[i] = sum_j`` of the first-slot gradient of ``k(path1[i], path2[j])``
    weighted by ``derivs[i, j]``, and likewise for ``grad_path2``. When ``path2`` is
    ``path1`` these are still slot-wise; the total derivative with respect to the
    shared batch is ``grad_path1 + grad_path2``. Grids are recomputed block by block,
    so memory stays bounded whatever the Gram size.

    Parameters
    ----------
    derivs : array-like of shape (b1..., b2...) or (b1..., b2..., M1 + 1, M2 + 1)
        ``dF/dG``, or ``dF/dgrid`` with ``return_grid=True``.
    path1, path2 : array-like, torch.Tensor or list of 2-D arrays
        The paths passed to :func:`sig_kernel_gram`.
    {as_in_sig_kernel}
    normalize : bool, default=False
        Differentiate the normalized Gram (see :func:`sig_kernel_backprop`); each
        slot's diagonal kernels are differentiated with that slot.
    {deriv_flags}
    k_grid : array-like of shape (b1..., b2..., M1 + 1, M2 + 1), optional
        Forward grids to reuse (shape-checked).
    n_jobs : int, default=1
        CPU threads. Results do not depend on it.
    return_grid : bool, default=False
        Whether ``derivs`` is grid-shaped.
    max_batch : int, default=-1
        Pairs are processed in rounds of ``max_batch**2`` (default: bounded by memory);
        results never depend on it.

    Returns
    -------
    grad_path1 : ndarray, torch.Tensor, list or None
        Gradient with respect to ``path1``, shaped like it and in its dtype; None if
        ``left_deriv`` is False.
    grad_path2 : ndarray, torch.Tensor, list or None
        Gradient with respect to ``path2``, likewise; None if ``right_deriv`` is
        False.

    Raises
    ------
    ValueError, TypeError, FloatingPointError
        As in :func:`sig_kernel_backprop` (``derivs`` and ``k_grid`` have the Gram's
        batch shape); ``ValueError`` also for a bad ``max_batch``.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> X = np.array([[[0.0], [1.0]]])
    >>> sksig.sig_kernel_gram_backprop(np.ones((1, 1)), X, X, 0)[0]
    array([[[-1.5],
            [ 1.5]]])
    """
    if is_custom(static_kernel):  # a Python static kernel (sksig/_custom_kernel.py)
        return _custom_kernel.sig_kernel_backprop(**_custom_args(locals()), gram=True)
    flags = _backprop_flags(left_deriv, right_deriv, return_grid)
    normalize = _check_normalize_backprop(normalize, k_grid, flags[2])
    max_batch = check_max_batch(max_batch)
    s = _Setup(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time,
               n_jobs, gram=True, basepoint=basepoint, device=True)
    return _backprop(s, derivs, k_grid, flags, normalize, max_batch)
