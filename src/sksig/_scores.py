"""Kernel scores of samples of paths: signature MMD, scoring rules, a two-sample test.

Every score is a weighted sum of signature-kernel Gram entries, so it is computed from
:func:`sksig.sig_kernel_gram` (the symmetric fast path for a sample against itself) and
differentiated exactly through :func:`sksig.sig_kernel_gram_backprop` with the weights
as the Gram cotangent. A sample against itself: with ``F = sum_ij D_ij k(x_i, x_j)`` and
a kernel symmetric in its arguments (equal refinement on both sides), the total
derivative is the first-slot gradient with cotangent ``D + D^T``.

With a pair of dyadic orders ``(o1, o2)``, sample 1's paths are refined ``2**o1``
times and sample 2's (or ``y``'s) ``2**o2`` times in every Gram they enter.
"""

import math
import numbers
from collections import namedtuple

import numpy as np

from sksig._array import _is_ragged_list, as_array, foreign_cuda_array
from sksig._docs import fill_doc
from sksig._kernel_setup import _check_flags
from sksig._sig_kernel import sig_kernel_gram, sig_kernel_gram_backprop
from sksig._validation import (
    check_dyadic_order,
    check_end_time,
    check_int,
    check_max_batch,
)

__all__ = [
    "SigMMDTestResult",
    "expected_sig_score",
    "expected_sig_score_backprop",
    "sig_mmd",
    "sig_mmd_backprop",
    "sig_mmd_test",
    "sig_score",
    "sig_score_backprop",
]


def _batch_shape(sample, name):
    """Batch shape of a sample (array, tensor or ragged list) without converting it."""
    if _is_ragged_list(sample):
        return (len(sample),)
    if foreign_cuda_array(sample):  # the TypeError of the functions without CUDA cores
        as_array(sample, name)
    shape = tuple(sample.shape) if hasattr(sample, "shape") else np.shape(sample)
    if len(shape) < 2:
        raise ValueError(
            f"{name} must be paths of shape (..., length, dim) or a list of 2-D "
            f"paths, got shape {shape}")
    return shape[:-2]


def _count(sample, name, minimum):
    n = math.prod(_batch_shape(sample, name))
    if n < minimum:
        raise ValueError(f"{name} must hold at least {minimum} paths, got {n}")
    return n


class _Options:
    """Validated options shared by the scores and their backprops (``flags``: a
    backprop's ``left_deriv`` and ``right_deriv``)."""

    def __init__(self, dyadic_order, static_kernel, time_aug, lead_lag, end_time,
                 n_jobs, max_batch, lam=None, flags=None):
        self.left, self.right = (None, None) if flags is None else _check_flags(*flags)
        self.orders = check_dyadic_order(dyadic_order)
        check_max_batch(max_batch)
        self.lam = None if lam is None else check_end_time(lam, "lam")
        self.kw = dict(static_kernel=static_kernel, time_aug=time_aug,
                       lead_lag=lead_lag, end_time=end_time, n_jobs=n_jobs,
                       max_batch=max_batch)

    def pair(self, first, second):
        return (self.orders[first], self.orders[second])

    def gram(self, a, b, orders):
        """The Gram as a 2-D numpy array, and the caller to give results back."""
        g = sig_kernel_gram(a, b, orders, **self.kw)
        array, caller = as_array(g, "gram", check_finite=False)
        return array.reshape(_count(a, "", 0), -1), caller

    def grads(self, weights, a, b, orders, left, right):
        """Slot-wise gradients of sum(weights * gram(a, b)); weights of shape (m, n)."""
        shape = _batch_shape(a, "") + _batch_shape(b, "")
        weights = _caller(a).out(weights.reshape(shape))  # the samples' kind and dtype
        return sig_kernel_gram_backprop(weights, a, b, orders, left_deriv=left,
                                        right_deriv=right, **self.kw)

    def self_grad(self, weights, a, order):
        """Total gradient of sum(weights * gram(a, a)) with respect to a."""
        return self.grads(weights + weights.T, a, a, (order, order), True, False)[0]


def _offdiag_mean(gram):
    m = gram.shape[0]
    return (gram.sum() - np.trace(gram)) / (m * (m - 1))


def _offdiag_weights(m, scale):
    weights = np.full((m, m), scale / (m * (m - 1)))
    np.fill_diagonal(weights, 0.0)
    return weights


def _add(a, b):
    if a is None:
        return b
    if isinstance(a, list):
        return [x + y for x, y in zip(a, b, strict=True)]
    return a + b


def _caller(sample):
    """The kind, dtype and device of a (validated) sample."""
    first = sample[0] if _is_ragged_list(sample) else sample
    return as_array(first, "sample", check_finite=False)[1]


def _derivs(derivs, shape, name):
    """The score's cotangent as a float64 numpy array of ``shape``."""
    if isinstance(derivs, numbers.Real) and not isinstance(derivs, (bool, np.bool_)):
        array = np.asarray(float(derivs))
    else:
        array = as_array(derivs, "derivs")[0]
    if array.shape != shape and not (shape in ((), (1,)) and array.size == 1):
        raise ValueError(f"derivs must have the shape {shape} of the {name}, got "
                         f"{array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("derivs contains NaN or inf values")
    return array.astype(np.float64).reshape(shape)


# The docstring fragments of this module (sksig._docs.fill_doc).
_COMMON = """
    static_kernel : StaticKernel, optional
        Kernel on points; None means linear (see :func:`sksig.sig_kernel`).
    time_aug, lead_lag : bool, default=False
        Transform every path first (see :func:`sksig.transform_path`).
    end_time : float, default=1.0
        Final value of the time channel."""
_JOBS = """
    n_jobs : int, default=1
        CPU threads; None means 1, -1 all cores. Results do not depend on it.
    max_batch : int, default=-1
        Bounds the pairs whose PDE buffers are held at once in the gradients (see
        :func:`sksig.sig_kernel_gram_backprop`); -1 picks a memory-bounded default.
        Results do not depend on it."""


def _backprop_doc(a, b):
    """The options, flags and Returns section of a backprop in ``a`` and ``b``."""
    return _COMMON + f"""
    left_deriv : bool, default=True
        Return the gradient with respect to ``{a}``.
    right_deriv : bool, default=False
        Return the gradient with respect to ``{b}``.""" + _JOBS + f"""

    Returns
    -------
    grad_{a} : ndarray, torch.Tensor, list or None
        Gradient with respect to ``{a}``, shaped like it; None if ``left_deriv``
        is False.
    grad_{b} : ndarray, torch.Tensor, list or None
        Gradient with respect to ``{b}``, shaped like it; None if
        ``right_deriv`` is False."""


_PARAMS = dict(common=_COMMON, jobs=_JOBS,
               backprop_samples=_backprop_doc("sample1", "sample2"),
               backprop_sample_y=_backprop_doc("sample", "y"))


@fill_doc(**_PARAMS)
def sig_mmd(sample1, sample2, dyadic_order, *, static_kernel=None, time_aug=False,
            lead_lag=False, end_time=1.0, n_jobs=1, max_batch=-1):
    """Unbiased estimate of the squared signature-kernel MMD between two samples.

    With ``x_1..x_m`` from ``mu`` and ``y_1..y_n`` from ``nu`` and the signature kernel
    ``k``, returns

    .. math::

        \\frac{1}{m(m-1)} \\sum_{i \\ne j} k(x_i, x_j)
        - \\frac{2}{mn} \\sum_{i, j} k(x_i, y_j)
        + \\frac{1}{n(n-1)} \\sum_{i \\ne j} k(y_i, y_j),

    whose expectation is the squared maximum mean discrepancy between ``mu`` and
    ``nu``. It can be slightly negative when the two distributions are close.

    Parameters
    ----------
    sample1 : array-like of shape (..., length_1, dim), torch.Tensor or list of paths
        Paths from the first distribution (all leading axes are one batch), at least 2.
    sample2 : array-like of shape (..., length_2, dim), torch.Tensor or list of paths
        Paths from the second distribution, at least 2.
    dyadic_order : int or pair of ints
        PDE refinement (see :func:`sksig.sig_kernel`); a pair refines the two samples
        differently.
    {common}
    {jobs}

    Returns
    -------
    ndarray or torch.Tensor of shape ()
        The estimate, in the samples' kind and dtype.

    Raises
    ------
    TypeError, ValueError, FloatingPointError
        As :func:`sksig.sig_kernel_gram`; ``ValueError`` also for a sample of fewer
        than 2 paths.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> rng = np.random.default_rng(0)
    >>> x = 0.3 * rng.normal(size=(8, 5, 2)).cumsum(axis=1)
    >>> drift = np.linspace(0.0, 2.0, 5)[:, None]  # signatures ignore a plain shift
    >>> y = 0.3 * rng.normal(size=(6, 5, 2)).cumsum(axis=1) + drift
    >>> float(sksig.sig_mmd(x, y, 1)) > float(sksig.sig_mmd(x[:4], x[4:], 1))
    True
    """
    o = _Options(dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs,
                 max_batch)
    _count(sample1, "sample1", 2)
    _count(sample2, "sample2", 2)
    k11, caller = o.gram(sample1, sample1, o.pair(0, 0))
    k12, _ = o.gram(sample1, sample2, o.pair(0, 1))
    k22, _ = o.gram(sample2, sample2, o.pair(1, 1))
    value = _offdiag_mean(k11) - 2.0 * k12.mean() + _offdiag_mean(k22)
    return caller.out(np.asarray(value))


@fill_doc(**_PARAMS)
def sig_mmd_backprop(derivs, sample1, sample2, dyadic_order, *, static_kernel=None,
                     time_aug=False, lead_lag=False, end_time=1.0, left_deriv=True,
                     right_deriv=False, n_jobs=1, max_batch=-1):
    """Compute the gradients of a function of :func:`sig_mmd` in the samples.

    Parameters
    ----------
    derivs : float or array-like of size 1
        ``dF/d mmd``.
    sample1 : array-like of shape (..., length_1, dim), torch.Tensor or list of paths
        First sample, as in :func:`sig_mmd`.
    sample2 : array-like of shape (..., length_2, dim), torch.Tensor or list of paths
        Second sample, as in :func:`sig_mmd`.
    dyadic_order : int or pair of ints
        PDE refinement, as in :func:`sig_mmd`.
    {backprop_samples}

    Raises
    ------
    TypeError, ValueError, FloatingPointError
        As :func:`sig_mmd`; ``ValueError`` also if both flags are False or ``derivs``
        is not a single finite number.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(3, 4, 2)), rng.normal(size=(2, 4, 2))
    >>> gx, gy = sksig.sig_mmd_backprop(1.0, x, y, 0, right_deriv=True)
    >>> gx.shape, gy.shape
    ((3, 4, 2), (2, 4, 2))
    """
    o = _Options(dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs,
                 max_batch, flags=(left_deriv, right_deriv))
    m = _count(sample1, "sample1", 2)
    n = _count(sample2, "sample2", 2)
    g = float(_derivs(derivs, (), "MMD"))
    cross = np.full((m, n), -2.0 * g / (m * n))
    g1, g2 = o.grads(cross, sample1, sample2, o.pair(0, 1), o.left, o.right)
    if o.left:
        g1 = _add(g1, o.self_grad(_offdiag_weights(m, g), sample1, o.orders[0]))
    if o.right:
        g2 = _add(g2, o.self_grad(_offdiag_weights(n, g), sample2, o.orders[1]))
    return g1, g2


@fill_doc(**_PARAMS)
def sig_score(sample, y, dyadic_order, *, lam=1.0, static_kernel=None, time_aug=False,
              lead_lag=False, end_time=1.0, n_jobs=1, max_batch=-1):
    """Signature kernel scoring rule of a sample against observed paths.

    With ``x_1..x_m`` sampled from a forecast distribution ``mu`` and an observation
    ``y``, returns the unbiased estimate

    .. math::

        \\frac{\\lambda}{m(m-1)} \\sum_{i \\ne j} k(x_i, x_j)
        - \\frac{2}{m} \\sum_i k(x_i, y)

    of ``lam E[k(X, X')] - 2 E[k(X, y)]``, for every path ``y`` of the batch. With
    ``lam = 1`` it is a proper scoring rule (lower is better): its expectation over
    ``y ~ nu`` is smallest when ``mu = nu``.

    Parameters
    ----------
    sample : array-like of shape (..., length_1, dim), torch.Tensor or list of paths
        Paths of the forecast distribution, at least 2.
    y : array-like of shape (..., length_2, dim), torch.Tensor or list of 2-D arrays
        The observed path(s); each gets its own score.
    dyadic_order : int or pair of ints
        PDE refinement (see :func:`sksig.sig_kernel`); a pair refines ``sample`` and
        ``y`` differently.
    lam : float, default=1.0
        Weight of the sample's self-similarity term.
    {common}
    {jobs}

    Returns
    -------
    ndarray or torch.Tensor of shape y's batch shape, or (1,) for one 2-D path ``y``
        One score per observed path, in the sample's kind and dtype.

    Raises
    ------
    TypeError, ValueError, FloatingPointError
        As :func:`sksig.sig_kernel_gram`; ``ValueError`` also for a sample of fewer
        than 2 paths or a non-finite ``lam``.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> rng = np.random.default_rng(0)
    >>> x = 0.3 * rng.normal(size=(8, 5, 2)).cumsum(axis=1)
    >>> sksig.sig_score(x, x[0] + 2.0, 1).shape
    (1,)
    """
    o = _Options(dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs,
                 max_batch, lam)
    _count(sample, "sample", 2)
    shape = _batch_shape(y, "y") or (1,)
    kss, caller = o.gram(sample, sample, o.pair(0, 0))
    ksy, _ = o.gram(sample, y, o.pair(0, 1))
    score = o.lam * _offdiag_mean(kss) - 2.0 * ksy.mean(axis=0)
    return caller.out(score.reshape(shape))


@fill_doc(**_PARAMS)
def sig_score_backprop(derivs, sample, y, dyadic_order, *, lam=1.0, static_kernel=None,
                       time_aug=False, lead_lag=False, end_time=1.0, left_deriv=True,
                       right_deriv=False, n_jobs=1, max_batch=-1):
    """Compute the gradients of a function of :func:`sig_score` in sample and y.

    Parameters
    ----------
    derivs : array-like of the scores' shape (or a float for one score)
        ``dF/d score``.
    sample : array-like of shape (..., length_1, dim), torch.Tensor or list of paths
        Paths of the forecast distribution, as in :func:`sig_score`.
    y : array-like of shape (..., length_2, dim), torch.Tensor or list of 2-D arrays
        The observed path(s), as in :func:`sig_score`.
    dyadic_order : int or pair of ints
        PDE refinement, as in :func:`sig_score`.
    lam : float, default=1.0
        Weight of the sample's self-similarity term.
    {backprop_sample_y}

    Raises
    ------
    TypeError, ValueError, FloatingPointError
        As :func:`sig_score`; ``ValueError`` also if both flags are False or
        ``derivs`` has the wrong shape.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(3, 4, 2)), rng.normal(size=(4, 2))
    >>> sksig.sig_score_backprop(1.0, x, y, 0)[0].shape
    (3, 4, 2)
    """
    o = _Options(dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs,
                 max_batch, lam, flags=(left_deriv, right_deriv))
    m = _count(sample, "sample", 2)
    shape = _batch_shape(y, "y") or (1,)
    g = _derivs(derivs, shape, "scores").reshape(-1)
    cross = np.repeat((-2.0 / m) * g[None, :], m, axis=0)
    gs, gy = o.grads(cross, sample, y, o.pair(0, 1), o.left, o.right)
    if o.left and o.lam != 0:
        gs = _add(gs, o.self_grad(_offdiag_weights(m, o.lam * g.sum()), sample,
                                  o.orders[0]))
    return gs, gy


@fill_doc(**_PARAMS)
def expected_sig_score(sample1, sample2, dyadic_order, *, lam=1.0, static_kernel=None,
                       time_aug=False, lead_lag=False, end_time=1.0, n_jobs=1,
                       max_batch=-1):
    """Signature kernel score of ``sample1`` averaged over the observations ``sample2``.

    Returns the unbiased estimate

    .. math::

        \\frac{\\lambda}{m(m-1)} \\sum_{i \\ne j} k(x_i, x_j)
        - \\frac{2}{mn} \\sum_{i, j} k(x_i, y_j)

    of ``lam E[k(X, X')] - 2 E[k(X, Y)]``, the mean of :func:`sig_score` over the
    paths ``y_j`` of ``sample2``. With ``lam = 1`` it differs from :func:`sig_mmd`
    by a term that does not depend on ``sample1``, so it is a training loss for a
    generator of ``sample1``.

    Parameters
    ----------
    sample1 : array-like of shape (..., length_1, dim), torch.Tensor or list of paths
        Paths of the forecast distribution, at least 2.
    sample2 : array-like of shape (..., length_2, dim), torch.Tensor or list of paths
        The observed paths.
    dyadic_order : int or pair of ints
        PDE refinement (see :func:`sksig.sig_kernel`).
    lam : float, default=1.0
        Weight of the self-similarity term.
    {common}
    {jobs}

    Returns
    -------
    ndarray or torch.Tensor of shape (1,)
        The estimate, in the samples' kind and dtype.

    Raises
    ------
    TypeError, ValueError, FloatingPointError
        As :func:`sig_score`.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> rng = np.random.default_rng(0)
    >>> x = 0.3 * rng.normal(size=(8, 5, 2)).cumsum(axis=1)
    >>> y = rng.normal(scale=0.3, size=(6, 5, 2)).cumsum(axis=1)
    >>> s = sksig.expected_sig_score(x, y, 1)
    >>> bool(np.isclose(s[0], sksig.sig_score(x, y, 1).mean()))
    True
    """
    o = _Options(dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs,
                 max_batch, lam)
    _count(sample1, "sample1", 2)
    _count(sample2, "sample2", 1)
    k11, caller = o.gram(sample1, sample1, o.pair(0, 0))
    k12, _ = o.gram(sample1, sample2, o.pair(0, 1))
    value = o.lam * _offdiag_mean(k11) - 2.0 * k12.mean()
    return caller.out(np.asarray([value]))


@fill_doc(**_PARAMS)
def expected_sig_score_backprop(derivs, sample1, sample2, dyadic_order, *, lam=1.0,
                                static_kernel=None, time_aug=False, lead_lag=False,
                                end_time=1.0, left_deriv=True, right_deriv=False,
                                n_jobs=1, max_batch=-1):
    """Compute the gradients of a function of :func:`expected_sig_score`.

    Parameters
    ----------
    derivs : float or array-like of size 1
        ``dF/d score``.
    sample1 : array-like of shape (..., length_1, dim), torch.Tensor or list of paths
        Paths of the forecast distribution, as in :func:`expected_sig_score`.
    sample2 : array-like of shape (..., length_2, dim), torch.Tensor or list of paths
        The observed paths, as in :func:`expected_sig_score`.
    dyadic_order : int or pair of ints
        PDE refinement, as in :func:`expected_sig_score`.
    lam : float, default=1.0
        Weight of the self-similarity term.
    {backprop_samples}

    Raises
    ------
    TypeError, ValueError, FloatingPointError
        As :func:`expected_sig_score`; ``ValueError`` also if both flags are False or
        ``derivs`` is not a single finite number.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(3, 4, 2)), rng.normal(size=(2, 4, 2))
    >>> gx = sksig.expected_sig_score_backprop(1.0, x, y, 0)[0]
    >>> gx.shape  # the gradient of the mean of the two scores of sig_score:
    (3, 4, 2)
    >>> bool(np.allclose(gx, sksig.sig_score_backprop(np.full(2, 0.5), x, y, 0)[0]))
    True
    """
    o = _Options(dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs,
                 max_batch, lam, flags=(left_deriv, right_deriv))
    m = _count(sample1, "sample1", 2)
    n = _count(sample2, "sample2", 1)
    g = float(_derivs(derivs, (1,), "score")[0])
    cross = np.full((m, n), -2.0 * g / (m * n))
    g1, g2 = o.grads(cross, sample1, sample2, o.pair(0, 1), o.left, o.right)
    if o.left and o.lam != 0:
        g1 = _add(g1, o.self_grad(_offdiag_weights(m, o.lam * g), sample1, o.orders[0]))
    return g1, g2


SigMMDTestResult = namedtuple("SigMMDTestResult",
                              ["statistic", "pvalue", "null_distribution"])
SigMMDTestResult.__doc__ = """Result of :func:`sig_mmd_test` (a named tuple).

Parameters
----------
statistic : float
    The unbiased squared MMD of the two samples (as :func:`sig_mmd`).
pvalue : float
    The permutation p-value, ``(1 + #{permuted >= statistic}) / (1 + n_permutations)``.
null_distribution : ndarray of shape (n_permutations,)
    The statistic of every permuted assignment, in the order drawn.

Examples
--------
>>> import numpy as np, sksig
>>> rng = np.random.default_rng(0)
>>> x, y = rng.normal(size=(4, 5, 2)), rng.normal(size=(4, 5, 2))
>>> result = sksig.sig_mmd_test(x, y, 0, n_permutations=20, random_state=0)
>>> result.null_distribution.shape
(20,)
>>> bool(0.0 < result.pvalue <= 1.0)
True
"""


def _pooled(sample1, sample2):
    """Both samples as one batch: an array when the paths fit, else a ragged list."""
    def paths(sample, name):
        if _is_ragged_list(sample):
            return [as_array(p, f"{name}[{i}]", min_ndim=2)[0]
                    for i, p in enumerate(sample)]
        array = as_array(sample, name, min_ndim=2)[0]
        return array.reshape((-1,) + array.shape[-2:])

    a, b = paths(sample1, "sample1"), paths(sample2, "sample2")
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and (
            a.shape[1:] == b.shape[1:] and a.dtype == b.dtype):
        return np.concatenate([a, b])
    return list(a) + list(b)


@fill_doc(**_PARAMS)
def sig_mmd_test(sample1, sample2, dyadic_order, *, n_permutations=500,
                 random_state=None, static_kernel=None, time_aug=False, lead_lag=False,
                 end_time=1.0, n_jobs=1, max_batch=-1):
    """Two-sample permutation test with the signature-kernel MMD.

    Tests the null hypothesis that both samples come from the same distribution of
    paths. The statistic is :func:`sig_mmd`; its null distribution is sampled by
    reassigning the pooled paths to two groups of the original sizes at random. The
    Gram matrix of the pooled sample is computed once and every permutation only
    re-sums its blocks.

    Parameters
    ----------
    sample1 : array-like of shape (..., length_1, dim), torch.Tensor or list of paths
        First sample, at least 2 paths.
    sample2 : array-like of shape (..., length_2, dim), torch.Tensor or list of paths
        Second sample, at least 2 paths, of the same dimension.
    dyadic_order : int
        PDE refinement, the same for every path (see :func:`sksig.sig_kernel`).
    n_permutations : int, default=500
        Number of random reassignments, >= 1.
    random_state : int, RandomState instance or None, default=None
        Seeds the permutations (as in scikit-learn).
    {common}
    {jobs}

    Returns
    -------
    SigMMDTestResult
        Named tuple ``(statistic, pvalue, null_distribution)``.

    Raises
    ------
    TypeError, ValueError, FloatingPointError
        As :func:`sig_mmd`; ``ValueError`` also for a pair of different dyadic orders
        or ``n_permutations < 1``.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> rng = np.random.default_rng(0)
    >>> x = 0.3 * rng.normal(size=(15, 6, 2)).cumsum(axis=1)
    >>> y = 0.3 * rng.normal(size=(15, 6, 2)).cumsum(axis=1)
    >>> y[..., 0] += np.linspace(0.0, 1.5, 6)  # a drift in the first channel
    >>> result = sksig.sig_mmd_test(x, y, 1, n_permutations=200, random_state=0)
    >>> bool(result.pvalue < 0.05)
    True
    """
    from sklearn.utils import check_random_state

    o = _Options(dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs,
                 max_batch)
    if o.orders[0] != o.orders[1]:
        raise ValueError(
            "sig_mmd_test needs one dyadic order for both samples (the pooled Gram "
            f"refines every path alike), got {dyadic_order}")
    n_permutations = check_int(n_permutations, "n_permutations", minimum=1)
    rng = check_random_state(random_state)
    m = _count(sample1, "sample1", 2)
    n = _count(sample2, "sample2", 2)
    pooled = _pooled(sample1, sample2)
    gram = o.gram(pooled, pooled, o.orders)[0].astype(np.float64)
    np.fill_diagonal(gram, 0.0)  # only off-diagonal sums enter the statistic
    total = m + n

    def statistics(groups):  # groups: (p, total) 0/1 rows with m ones each
        other = 1.0 - groups
        kz = groups @ gram
        s11 = np.einsum("pi,pi->p", kz, groups)
        s12 = np.einsum("pi,pi->p", kz, other)
        s22 = np.einsum("pi,pi->p", other @ gram, other)
        return s11 / (m * (m - 1)) - 2.0 * s12 / (m * n) + s22 / (n * (n - 1))

    observed = float(statistics((np.arange(total) < m)[None].astype(np.float64))[0])
    null = np.empty(n_permutations)
    block = max(1, 2**22 // total)  # bounds the (block, total) work arrays
    for start in range(0, n_permutations, block):
        p = min(block, n_permutations - start)
        groups = np.zeros((p, total))
        for r in range(p):
            groups[r, rng.permutation(total)[:m]] = 1.0
        null[start:start + p] = statistics(groups)
    pvalue = (1 + int(np.count_nonzero(null >= observed))) / (1 + n_permutations)
    return SigMMDTestResult(observed, pvalue, null)

