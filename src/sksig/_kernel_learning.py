"""Kernel learning: gradients of signature kernels with respect to the parameters of the
static kernel, from the adjoint of the PDE scheme.

A signature kernel sees its static kernel ``kappa`` only through the increment Gram
``Delta`` of the two paths (:meth:`StaticKernel.increment_gram`). The adjoint of the
scheme gives ``Gamma = dF/dDelta`` (:func:`sig_kernel_delta_backprop`); the native core
contracts it, pair by pair and without ever holding ``Gamma`` for all pairs, with the
derivatives of ``kappa`` with respect to its parameters at every pair of points. One
call costs about as much as a forward solve plus a path gradient, whatever the number
of parameters.
"""

import numpy as np

from sksig._docs import fill_doc
from sksig._kernel_setup import (
    _check_finite,
    _derivs_array,
    _native,
    _pair_derivs,
    _Setup,
)
from sksig._normalized_kernel import check_positive_diagonal, diagonal_kernels
from sksig._static_kernels import (
    _MATERN12,
    _MATERN32,
    _MATERN52,
    _POLYNOMIAL,
    _RATIONAL_QUADRATIC,
    _RBF,
    _SCALED_LINEAR,
    RBFKernel,
    as_static_kernel,
)
from sksig._validation import check_max_batch

__all__ = [
    "sig_kernel_gram_param_backprop",
    "sig_kernel_param_backprop",
    "static_kernel_parameters",
]

# Learnable parameters of each kind of static kernel: (name, column of the native
# Jacobian). The polynomial degree is a discrete choice (it decides the clamping rule)
# and is never differentiated; the linear kernel has no parameters.
_PARAMETERS = {
    _SCALED_LINEAR: (("scale", 0),),
    _RBF: (("sigma", 0),),
    _POLYNOMIAL: (("gamma", 1), ("scale", 2)),
    _MATERN12: (("sigma", 0),),
    _MATERN32: (("sigma", 0),),
    _MATERN52: (("sigma", 0),),
    _RATIONAL_QUADRATIC: (("sigma", 0), ("alpha", 1)),
}
# Column of d k / d log(scale), for a scale multiplying the path values.
SCALE_COLUMN = 3
# Gradients are summed over blocks of _SUM_BLOCK pairs, then block after block, and
# pairs go to the native core in rounds of whole blocks (2**18 pairs by default): the
# order of the additions, hence the result, does not depend on the round size.
_SUM_BLOCK = 4096
_CHUNK_PAIRS = 2**18


def static_kernel_parameters(static_kernel):
    """Return the names of the differentiable parameters of a static kernel.

    Parameters
    ----------
    static_kernel : StaticKernel or None
        A static kernel (None means :class:`sksig.LinearKernel`).

    Returns
    -------
    tuple of str
        The names, in the order the gradient functions return them: ``("sigma",)``
        for RBF and Matérn kernels, ``("sigma", "alpha")`` for the rational
        quadratic, ``("scale",)`` for the scaled linear, ``("gamma", "scale")`` for the
        polynomial kernel (its degree is discrete) and ``()`` for the linear kernel.

    Raises
    ------
    ValueError
        If ``static_kernel`` is not a static kernel.

    Examples
    --------
    >>> import sksig
    >>> sksig.static_kernel_parameters(sksig.RationalQuadraticKernel(sigma=1.0))
    ('sigma', 'alpha')
    """
    return tuple(name for name, _ in _columns(as_static_kernel(static_kernel)))


def _columns(kernel):
    return _PARAMETERS.get(kernel.kind, ())


def param_jacobian(x, y, i1, i2, orders, kernel, *, derivs=None, time_last=False,
                   n_threads=1, values=False):
    """Native call: ``(values or None, jac)`` for the pairs ``(x[i1], y[i2])``.

    ``jac[p]`` holds ``derivs[p]`` times ``dk/dp0, dk/dp1, dk/dp2, dk/dlog(scale)`` of
    pair ``p`` (see kernel_learning.hpp); ``x`` and ``y`` are transformed, padded
    paths of one dtype.
    """
    from sksig._core import _kernel_learning

    n = len(i1)
    dtype = x.dtype
    jac = np.empty((n, 4), dtype)
    out = np.empty(n if values else 0, dtype)
    d = np.empty(0, dtype) if derivs is None else np.ascontiguousarray(derivs, dtype)
    i1 = np.ascontiguousarray(i1, np.int64)
    i2 = np.ascontiguousarray(i2, np.int64)
    _native("signature kernel parameter gradient", _kernel_learning.param_jacobian,
            x, y, i1, i2, orders, kernel, d, time_last, out, jac, n_threads)
    return (out if values else None), jac


def symmetric_gram_jacobian(x, order, kernel, *, time_last=False, n_threads=1):
    """Gram ``K`` of ``x`` with itself and ``J[i, j] = dK[i, j]/d(p0, p1, p2, log c)``.

    Only pairs ``i <= j`` are solved and mirrored, so both are exactly symmetric.
    """
    n = x.shape[0]
    i1, i2 = np.triu_indices(n)
    values, jac = param_jacobian(x, x, i1, i2, (order, order), kernel,
                                 time_last=time_last, n_threads=n_threads, values=True)
    gram = np.empty((n, n), x.dtype)
    gram[i1, i2] = values
    gram[i2, i1] = values
    full = np.empty((n, n, 4), x.dtype)
    full[i1, i2] = jac
    full[i2, i1] = jac
    return gram, full


def _named(s, jac_sum, shape):
    """Dict ``name -> gradient`` in the caller's kind from Jacobian columns."""
    return {name: s.caller.out(np.asarray(jac_sum[..., column]).reshape(shape))
            for name, column in _columns(s.kernel)}


@fill_doc
def sig_kernel_param_backprop(derivs, path1, path2, dyadic_order, *, static_kernel=None,
                              time_aug=False, lead_lag=False, end_time=1.0, n_jobs=1,
                              reduce=True):
    """Differentiate a function of :func:`sig_kernel` in the static kernel's parameters.

    Given ``derivs = dF/dk`` for the kernels ``k`` of the pairs ``(path1[i],
    path2[i])``, returns ``dF/dtheta`` for every differentiable parameter ``theta`` of
    ``static_kernel`` (see :func:`static_kernel_parameters`), in the parameter's own
    units (not in log space). It is exact for the discrete scheme: the adjoint of the
    PDE gives ``dF/dDelta`` for the increment Gram, which is contracted natively with
    the derivatives of the static kernel at every pair of points.

    Parameters
    ----------
    derivs : array-like of shape (...)
        ``dF/dk`` for each kernel (a number or 0-d array for one unbatched pair).
    path1, path2 : array-like, torch.Tensor or list of 2-D arrays
        The paths passed to :func:`sig_kernel`.
    dyadic_order : int or pair of ints
        As in :func:`sig_kernel`.
    static_kernel, time_aug, lead_lag, end_time, n_jobs : optional
        As in :func:`sig_kernel`. Results do not depend on ``n_jobs``.
    reduce : bool, default=True
        Sum over the pairs. With False, each value has the kernels' batch shape and
        holds ``derivs[i] * dk_i/dtheta`` (with ``derivs=1``, the Jacobian).

    Returns
    -------
    dict of str to ndarray or torch.Tensor
        Parameter name to gradient, 0-d (or of the batch shape when ``reduce`` is
        False); empty for :class:`LinearKernel`.

    Raises
    ------
    ValueError
        If ``derivs`` does not have the kernels' batch shape, or for the invalid inputs
        of :func:`sig_kernel`.
    {backprop_errors}

    {pair_example}
    >>> kernel = sksig.ScaledLinearKernel(scale=1.0)
    >>> grad = sksig.sig_kernel_param_backprop(1.0, x, y, 0, static_kernel=kernel)
    >>> round(float(grad["scale"]), 12)  # k = 1 + 2 s**2 + s**4: dk/ds = 8 at s = 1
    8.0
    """
    from sksig._validation import check_bool

    reduce = check_bool(reduce, "reduce")
    s = _Setup(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time,
               n_jobs, gram=False)
    d = _pair_derivs(s, derivs, False)
    x, y = s.b1.data, s.b2.data
    index = np.arange(x.shape[0], dtype=np.int64)
    _, jac = param_jacobian(x, y, index, index, s.orders, s.kernel, derivs=d,
                            n_threads=s.n_threads)
    if reduce:
        return _named(s, jac.sum(axis=0, dtype=np.float64), ())
    return _named(s, jac, s.b1.batch_shape)


def sig_kernel_gram_param_backprop(derivs, path1, path2, dyadic_order, *,
                                   static_kernel=None, time_aug=False, lead_lag=False,
                                   end_time=1.0, n_jobs=1, max_batch=-1, reduce=True):
    """Differentiate a function of :func:`sig_kernel_gram` in static-kernel parameters.

    Given ``derivs = dF/dG`` for the Gram ``G = sig_kernel_gram(path1, path2, ...)``,
    returns ``dF/dtheta`` for every differentiable parameter of ``static_kernel`` (see
    :func:`sig_kernel_param_backprop`). When the two batches are equal in content and
    the orders are equal, only the pairs ``i <= j`` are solved, as in
    :func:`sig_kernel_gram`. Pairs with ``derivs`` zero are skipped.

    Parameters
    ----------
    derivs : array-like of shape (b1..., b2...)
        ``dF/dG``.
    path1, path2 : array-like, torch.Tensor or list of 2-D arrays
        The paths passed to :func:`sig_kernel_gram`.
    dyadic_order : int or pair of ints
        As in :func:`sig_kernel`.
    static_kernel, time_aug, lead_lag, end_time, n_jobs : optional
        As in :func:`sig_kernel_gram`.
    max_batch : int, default=-1
        Pairs are solved in rounds of about ``max_batch**2`` (default: 262 144), which
        bounds the memory; results never depend on it.
    reduce : bool, default=True
        Sum over the pairs. With False, each value has the Gram's shape and holds
        ``derivs[i, j] * dG[i, j]/dtheta`` (with all-ones ``derivs``, the Jacobian).

    Returns
    -------
    dict of str to ndarray or torch.Tensor
        Parameter name to gradient, 0-d (or Gram-shaped when ``reduce`` is False).

    Raises
    ------
    ValueError, TypeError, FloatingPointError
        As in :func:`sig_kernel_param_backprop`, with ``derivs`` of the Gram's shape;
        ``ValueError`` also for a bad ``max_batch``.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> X = np.array([[[0.0], [1.0]], [[0.0], [2.0]]])
    >>> grad = sksig.sig_kernel_gram_param_backprop(
    ...     np.ones((2, 2)), X, X, 1, static_kernel=sksig.RBFKernel(sigma=1.0))
    >>> sorted(grad)
    ['sigma']
    """
    from sksig._validation import check_bool

    reduce = check_bool(reduce, "reduce")
    max_batch = check_max_batch(max_batch)
    s = _Setup(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time,
               n_jobs, gram=True)
    shape = s.b1.batch_shape + s.b2.batch_shape
    array = _derivs_array(s, derivs)
    if array.shape != tuple(shape):
        raise ValueError(
            f"derivs must have the Gram's shape {tuple(shape)}, got {array.shape}"
        )
    x, y = s.b1.data, s.b2.data
    n1, n2 = x.shape[0], y.shape[0]
    weights = array.reshape(n1, n2).astype(x.dtype, copy=False)
    symmetric = (s.orders[0] == s.orders[1] and x.shape == y.shape
                 and np.array_equal(x, y))
    if not reduce:
        if symmetric:
            _, jac = symmetric_gram_jacobian(x, s.orders[0], s.kernel,
                                             n_threads=s.n_threads)
        else:
            i1, i2 = np.divmod(np.arange(n1 * n2, dtype=np.int64), n2)
            _, jac = param_jacobian(x, y, i1, i2, s.orders, s.kernel,
                                    n_threads=s.n_threads)
            jac = jac.reshape(n1, n2, 4)
        return _named(s, weights[..., None] * jac, shape)
    if symmetric:  # k(x_i, x_j) = k(x_j, x_i): solve i <= j with both weights
        i1, i2 = np.triu_indices(n1)
        w = weights[i1, i2] + np.where(i1 != i2, weights[i2, i1], 0)
    else:
        i1, i2 = np.divmod(np.arange(n1 * n2, dtype=np.int64), n2)
        w = weights.reshape(-1)
    keep = np.flatnonzero(w)
    chunk = _CHUNK_PAIRS
    if max_batch > 0:
        chunk = -(-max_batch**2 // _SUM_BLOCK) * _SUM_BLOCK
    total = np.zeros(4, np.float64)
    for lo in range(0, keep.size, chunk):
        part = keep[lo:lo + chunk]
        _, jac = param_jacobian(x, y, i1[part], i2[part], s.orders, s.kernel,
                                derivs=w[part], n_threads=s.n_threads)
        starts = np.arange(0, part.size, _SUM_BLOCK)
        for block in np.add.reduceat(jac.astype(np.float64), starts, axis=0):
            total += block
    _check_finite(total, "sig_kernel_gram_param_backprop")
    return _named(s, total, ())


def default_static_kernel():
    """The default static kernel of :class:`sksig.gaussian_process.SignatureKernel`."""
    return RBFKernel(sigma=1.0)


def estimator_param_backprop(estimator, grad_gram, X, Y):
    """:meth:`SigKernel.static_kernel_backprop` (normalization included)."""
    X_paths, Y_paths, grad = estimator._backprop_args(grad_gram, X, Y)
    A = X_paths.data
    B = A if Y is None else Y_paths.data
    options = estimator._options()
    diag_terms = []
    if estimator.normalize:  # d(k / sqrt(k_x k_y)): the diagonals move too
        gram = estimator._gram(A, B, symmetric=Y is None)
        diag_A = check_positive_diagonal(diagonal_kernels(A, **options), "X")
        diag_B = diag_A if Y is None else check_positive_diagonal(
            diagonal_kernels(B, **options), "Y")
        inv = 1.0 / np.sqrt(np.multiply.outer(diag_A, diag_B))
        weighted = grad * gram * inv
        grad_diag_A = -0.5 * weighted.sum(axis=1) / diag_A
        grad_diag_B = -0.5 * weighted.sum(axis=0) / diag_B
        grad = grad * inv
        if Y is None:
            diag_terms.append((grad_diag_A + grad_diag_B, A))
        else:
            diag_terms += [(grad_diag_A, A), (grad_diag_B, B)]
    total = sig_kernel_gram_param_backprop(grad, A, B, max_batch=estimator.max_batch,
                                           **options)
    for weights, paths in diag_terms:
        if paths.shape[0]:
            for name, value in sig_kernel_param_backprop(weights, paths, paths,
                                                         **options).items():
                total[name] = total[name] + value
    return {name: float(value) for name, value in total.items()}
