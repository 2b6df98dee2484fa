"""Signatures, log-signatures and the log-signature join."""

import numpy as np

from sksig._array import (
    as_array,
    as_path_batch,
    check_same_batch,
    check_trailing_length,
    contiguous,
    nonfinite_error,
    overflow_error,
    scalar_term_length,
    transformed_dim,
)
from sksig._dispatch import backend, cuda_arrays
from sksig._docs import fill_doc
from sksig._interrupt import call
from sksig._limits import check_memory
from sksig._lyndon import check_tensor_size, lyndon_count, lyndon_tables, tensor_size
from sksig._validation import check_bool, check_end_time, check_int, resolve_n_jobs

__all__ = [
    "log_sig",
    "log_sig_backprop",
    "log_sig_join",
    "log_sig_join_backprop",
    "log_sig_length",
    "prepare_log_sig",
    "sig",
    "sig_backprop",
    "sig_length",
    "signature",
]

def _witt(dim, degree):
    return sum(lyndon_count(dim, n) for n in range(1, degree + 1))


_LENGTH_ARGS = """
    dimension : int
        Dimension of the (untransformed) path, >= 0.
    degree : int
        Truncation level, >= 0.
    time_aug, lead_lag : bool, default=False
        Count for the transformed dimension (see :func:`sksig.transform_path`)."""


def _length_args(dimension, degree, time_aug, lead_lag):
    """(transformed dimension, degree) of validated length arguments."""
    dimension = check_int(dimension, "dimension")
    degree = check_int(degree, "degree")
    return transformed_dim(dimension, check_bool(time_aug, "time_aug"),
                           check_bool(lead_lag, "lead_lag")), degree


@fill_doc(length_args=_LENGTH_ARGS)
def sig_length(dimension, degree, *, time_aug=False, lead_lag=False, scalar_term=False):
    """Length of a truncated signature.

    Parameters
    ----------
    {length_args}
    scalar_term : bool, default=False
        Count the constant level-0 term.

    Returns
    -------
    int
        ``sum_{k=1..degree} d'^k`` (+1 with ``scalar_term``), ``d'`` the transformed
        dimension.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``dimension`` or ``degree`` is negative, or the length would exceed 2**64.

    Examples
    --------
    >>> import sksig
    >>> sksig.sig_length(2, 3)
    14
    """
    dim, degree = _length_args(dimension, degree, time_aug, lead_lag)
    scalar_term = check_bool(scalar_term, "scalar_term")
    if dim == 0:
        return int(scalar_term)
    return tensor_size(dim, degree) - 1 + int(scalar_term)


@fill_doc(length_args=_LENGTH_ARGS)
def log_sig_length(dimension, degree, *, time_aug=False, lead_lag=False):
    """Number of Lyndon words, i.e. the length of a log-signature (Witt's formula).

    Parameters
    ----------
    {length_args}

    Returns
    -------
    int
        ``sum_{n=1..degree} (1/n) sum_{k | n} mu(n/k) d'^k``: 0 for degree 0 or an
        empty alphabet (the empty log-signature; pySigLib raises for these instead).

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``dimension`` or ``degree`` is negative, or ``degree`` is absurdly large.

    Examples
    --------
    >>> import sksig
    >>> sksig.log_sig_length(2, 4)
    8
    """
    dim, degree = _length_args(dimension, degree, time_aug, lead_lag)
    if dim == 0 or degree == 0:
        return 0
    if dim == 1:
        return 1  # the single letter; Witt's sum would loop over every degree
    tensor_size(dim, degree)  # refuses absurd degrees before counting
    return _witt(dim, degree)


def _check_method(method):
    method = check_int(method, "method")
    if method not in (0, 1, 2, 3):
        raise ValueError(
            f"method must be 0 (expanded tensor), 1 (Lyndon words), 2 or 3 (Lyndon "
            f"brackets), got {method}"
        )
    return method


@fill_doc
def prepare_log_sig(dimension, degree, method=2, *, time_aug=False, lead_lag=False,
                    use_disk=False, device="both"):
    """Build the Lyndon-basis tables ahead of time (optional warm-up).

    Every function builds the tables it needs on first use, once per process and
    dimension/degree, so calling this is never required; it only moves that one-off
    cost (milliseconds for the usual sizes, about a second when the tables reach
    hundreds of megabytes, e.g. dimension 4 at degree 10) out of the first call.
    Preparing one degree neither covers nor hinders another.

    Parameters
    ----------
    dimension : int
        Dimension of the (untransformed) path, >= 0. An empty alphabet needs no table
        (pySigLib fails to allocate one).
    degree : int
        Truncation level, >= 0; degree 0 needs no table.
    method : int, default=2
        0 needs no table; 1, 2 and 3 (pySigLib's key for :func:`log_sig_join`) build
        the same tables.
    time_aug, lead_lag : bool, default=False
        Prepare for the transformed dimension.
    use_disk : bool, default=False
        Accepted for pySigLib compatibility; tables are kept in memory only (see
        :func:`sksig.clear_cache`).
    device : {"both", "cpu", "cuda"}, default="both"
        Where to prepare: "cuda" and "both" also upload the tables of
        :func:`log_sig_join` to the current CUDA device when sksig's CUDA cores are
        available (elsewhere they are skipped without error).

    {returns_tables_cached}

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``dimension`` or ``degree`` is negative, or ``method`` is not 0 to 3.

    Examples
    --------
    >>> import sksig
    >>> sksig.prepare_log_sig(3, 4, method=2)
    """
    dimension = check_int(dimension, "dimension")
    degree = check_int(degree, "degree")
    method = _check_method(method)
    check_bool(use_disk, "use_disk")
    if device not in ("cpu", "cuda", "both"):
        raise ValueError(f'device must be "cpu", "cuda" or "both", got {device!r}')
    dim = transformed_dim(dimension, check_bool(time_aug, "time_aug"),
                          check_bool(lead_lag, "lead_lag"))
    check_tensor_size(dim, degree)
    if dim == 0 or degree == 0:
        return  # the empty log-signature needs no table
    if method:
        lyndon_tables(dim, degree)
    if device != "cpu" and _cuda_available():
        # The join's tables on the current CUDA device (CPU-only machines skip this).
        import torch

        from sksig.cuda import _tables

        _tables.log_sig_tables(dim, degree, torch.cuda.current_device())


def _cuda_available():
    from sksig import cuda

    return cuda.is_available()


def _check_work(dim, degree, n_threads, itemsize):
    """Each thread holds about degree + 8 truncated tensors (the log's Horner chain and
    the backprop's cotangents); refuse what cannot be allocated."""
    check_memory(n_threads * (degree + 8) * tensor_size(dim, degree) * itemsize,
                 f"the work tensors of degree {degree} in dimension {dim} for "
                 f"{n_threads} thread(s)", "degree (or n_jobs)")


def _path_input(path, time_aug, lead_lag, end_time, n_jobs, basepoint):
    """(batch, n_threads) of a validated path argument and its transforms."""
    time_aug = check_bool(time_aug, "time_aug")
    lead_lag = check_bool(lead_lag, "lead_lag")
    end_time = check_end_time(end_time)
    n_threads = resolve_n_jobs(n_jobs)
    # Without transforms a path of no points has the trivial signature; the transforms
    # need a point to start from.
    batch = as_path_batch(path, "path", time_aug=time_aug, lead_lag=lead_lag,
                          end_time=end_time, n_threads=n_threads,
                          min_length=1 if time_aug or lead_lag else 0,
                          basepoint=basepoint)
    return batch, n_threads


def _path_batch(path, degree, time_aug, lead_lag, end_time, n_jobs, basepoint=None):
    batch, n_threads = _path_input(path, time_aug, lead_lag, end_time, n_jobs,
                                   basepoint)
    check_tensor_size(batch.dim, degree)
    _check_work(batch.dim, degree, n_threads, batch.data.itemsize)
    return batch, n_threads


def _batched_out(batch, out):
    return batch.caller.out(out.reshape(batch.batch_shape + out.shape[1:]))


@fill_doc
def sig(path, degree, *, time_aug=False, lead_lag=False, end_time=1.0, horner=True,
        scalar_term=False, correction=None, basepoint=None, n_jobs=1):
    """Truncated signatures of piecewise-linear paths.

    ``S(x) = exp(dx_0) (x) exp(dx_1) (x) ... (x) exp(dx_{L-2})`` in the tensor algebra
    truncated at ``degree``; level ``k`` holds the iterated integrals over words of
    ``k`` letters, word ``(i1, ..., ik)`` at offset ``i1 d^(k-1) + ... + ik``.

    Parameters
    ----------
    {paths}
    degree : int
        Truncation level, >= 0.
    {transforms_end_time}
    horner : bool, default=True
        Accepted for pySigLib compatibility; the Horner scheme is always used.
    scalar_term : bool, default=False
        Include the constant level-0 term 1 first.
    correction : None or array-like, default=None
        Of shape ``(C,)``, ``(length - 1, C)`` or ``(..., length - 1, C)``.
        A fixed correction of levels 2 to m added to each segment's increment before
        exponentiation: segment i contributes ``exp(dx_i + c_i)`` instead of
        ``exp(dx_i)`` (e.g. ``c_i = -dt/2`` times the identity at level 2 turns the
        Stratonovich signature of a Brownian sample into an Ito one). A row holds
        levels 2..m concatenated in the signature's layout for the untransformed
        dimension d, ``C = d^2 + ... + d^m`` with ``2 <= m <= degree``; one row is
        shared by every segment, ``length - 1`` rows by every path, or one set per
        path. With ``time_aug`` the time channel gets no correction. None or an empty
        array means no correction. Not allowed with ``lead_lag`` or ``basepoint``.
    {basepoint_n_jobs}

    Returns
    -------
    ndarray or torch.Tensor of shape (..., sig_length)
        Paths with 0 or 1 points have signature 1 (zeros after the scalar term).

    Raises
    ------
    TypeError
        If ``path`` is not a float array, or an argument has the wrong type.
    ValueError
        If ``path`` has fewer than 2 dimensions, no channel, NaN or inf, no point
        while a transform is requested, or ``degree`` is negative.
    {result_overflow}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> sksig.sig(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]), 2)
    array([1. , 1. , 0.5, 1. , 0. , 0.5])
    """
    degree = check_int(degree, "degree")
    check_bool(horner, "horner")
    scalar_term = check_bool(scalar_term, "scalar_term")
    batch, n_threads = _path_batch(path, degree, time_aug, lead_lag, end_time, n_jobs,
                                   basepoint)
    length = sig_length(batch.dim, degree, scalar_term=scalar_term)
    out = np.zeros((batch.n_paths, length), batch.data.dtype)
    rows = _correction(correction, batch, degree, lead_lag)
    if degree == 0:
        out[:] = 1.0  # only the scalar term, when asked for
    elif rows is not None:
        from sksig._sig_correction import corrected_sig

        out[:, :int(scalar_term)] = 1.0  # paths of fewer than 2 points
        corrected_sig(batch, rows, out, degree, scalar_term, n_threads)
    else:
        from sksig._core import _log_sig

        call(_log_sig.sig, batch.data, out, degree, scalar_term, n_threads)
    return _batched_out(batch, out)


#: Alias of :func:`sig` (pySigLib's older name).
signature = sig


def _correction(correction, batch, degree, lead_lag):
    if correction is None:
        return None
    from sksig._sig_correction import correction_rows

    return correction_rows(correction, batch, degree, lead_lag)


def _log_sig_setup(path, degree, time_aug, lead_lag, end_time, method, scalar_term,
                   n_jobs, basepoint=None):
    degree = check_int(degree, "degree")
    method = _check_method(method)
    scalar_term = check_bool(scalar_term, "scalar_term")
    batch, n_threads = _path_batch(path, degree, time_aug, lead_lag, end_time, n_jobs,
                                   basepoint)
    if degree == 0:  # the trivial log-signature (the log of the scalar term is 0)
        length = sig_length(batch.dim, 0, scalar_term=scalar_term) if method == 0 else 0
        return degree, method, scalar_term, batch, n_threads, None, length
    if method == 0:
        from sksig._core._backend import log_tables

        tables = log_tables(batch.dim, degree, 0)
        length = sig_length(batch.dim, degree, scalar_term=scalar_term)
    else:
        tables = lyndon_tables(batch.dim, degree)
        length = log_sig_length(batch.dim, degree)
    return degree, method, scalar_term, batch, n_threads, tables, length


@fill_doc
def log_sig(path, degree, *, time_aug=False, lead_lag=False, end_time=1.0, method=1,
            scalar_term=False, basepoint=None, n_jobs=1):
    """Truncated log-signatures of piecewise-linear paths.

    The log-signature is the tensor logarithm ``l = log S(x)`` of the truncated
    signature, a Lie element. Its coordinates are given in one of three forms:

    * ``method=0``: every tensor coefficient, laid out like :func:`sig`;
    * ``method=1``: the coefficients at the Lyndon words, ``<l, w>``;
    * ``method=2``: the coordinates ``c`` in the Lyndon bracket basis,
      ``l = sum_w c_w P_w`` (standard bracketing of each Lyndon word ``w``);
    * ``method=3``: the same coordinates as method 2. pySigLib computes them by the
      Baker-Campbell-Hausdorff formula, segment by segment, to save memory; sksig
      computes them as method 2 does (one truncated signature per thread, faster for
      the usual sizes), so the two methods give the same numbers here.

    Words are ordered as in :func:`sksig.lyndon_words`. Degree 0 gives the empty
    log-signature (with ``method=0`` and ``scalar_term=True``, the single level-0
    coefficient 0); pySigLib raises for degree 0.

    Parameters
    ----------
    {paths}
    degree : int
        Truncation level, >= 0 (degree 0: the empty log-signature).
    {transforms_end_time}
    method : {0, 1, 2, 3}, default=1
        Output basis (pySigLib's default is 1, the Lyndon-word coordinates).
    scalar_term : bool, default=False
        With ``method=0``, put the level-0 coefficient (always 0) first; ignored by
        methods 1 to 3.
    {basepoint_n_jobs}

    Returns
    -------
    ndarray or torch.Tensor of shape (..., n)
        ``n = log_sig_length(dim', degree)`` for methods 1 to 3, ``sig_length`` for
        method 0. Paths with 0 or 1 points give zeros.

    Raises
    ------
    TypeError
        If ``path`` is not a float array, or an argument has the wrong type.
    ValueError
        If ``path`` has a bad shape or NaN/inf (or no point while a transform is
        requested), ``degree`` is negative or ``method`` is not 0 to 3.
    {result_overflow}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> sksig.log_sig(x, 3, method=2)
    array([1.        , 1.        , 0.5       , 0.08333333, 0.08333333])
    """
    degree, method, scalar_term, batch, n_threads, tables, length = _log_sig_setup(
        path, degree, time_aug, lead_lag, end_time, method, scalar_term, n_jobs,
        basepoint)
    from sksig._core import _log_sig

    out = np.zeros((batch.n_paths, length), batch.data.dtype)
    if degree:
        call(_log_sig.log_sig, batch.data, out, degree, min(method, 2), scalar_term,
             tables, n_threads)
    return _batched_out(batch, out)


def _cotangent(value, name, batch, length, scalar_term, next_length=None):
    """Validate a signature-shaped array of ``batch``: ``length`` trailing entries, or
    ``length + 1`` with the scalar term first, as decided by
    :func:`sksig._array.scalar_term_length` (``scalar_term`` True, False or None;
    ``next_length`` is the next degree's length, which makes ``length + 1`` ambiguous
    when equal to it).

    Returns the (n_paths, trailing) C-contiguous array and whether it has the term.
    """
    array, _ = as_array(value, name, caller=batch.caller, min_ndim=1)
    shape = tuple(array.shape)
    if shape[:-1] != tuple(batch.batch_shape):
        raise ValueError(f"{name} must have the paths' batch shape "
                         f"{tuple(batch.batch_shape)} before its last axis, got shape "
                         f"{shape}")
    has_term = scalar_term_length(shape, name, length, scalar_term,
                                  next_length=next_length)
    return contiguous(array.reshape(batch.n_paths, length + has_term)), has_term


@fill_doc
def sig_backprop(path, sig, sig_derivs, degree, *, time_aug=False, lead_lag=False,
                 end_time=1.0, horner=True, scalar_term=None, correction=None,
                 basepoint=None, n_jobs=1):
    """Gradient with respect to the paths of a scalar function of their signatures.

    Given ``sig = sksig.sig(path, degree, ...)`` and ``sig_derivs`` the derivatives
    ``dF/d sig`` of a scalar ``F``, returns ``dF/d path``. The exact reverse of the
    forward product ``exp(dx_0) (x) ... (x) exp(dx_{L-2})``: the segments are taken off
    ``sig`` from the last one back (each by multiplying with ``exp(-dx_i)``), and the
    adjoint of each segment's factor is accumulated on the way; no intermediate
    signature is stored. Through ``time_aug``/``lead_lag`` the gradient is pulled back
    to the untransformed path (see :func:`sksig.transform_path_backprop`).

    Parameters
    ----------
    path : array-like of shape (..., length, dim), torch.Tensor or list of 2-D arrays
        The paths given to :func:`sksig.sig`.
    sig : array-like or torch.Tensor of shape (..., sig_length)
        Their signatures, as returned by :func:`sksig.sig` (with or without the scalar
        term); the reverse pass starts from them instead of recomputing them.
    sig_derivs : array-like or torch.Tensor, same shape as ``sig``
        ``dF/d sig``. The scalar term, if present, is a constant and gets no gradient.
    degree : int
        Truncation level used for ``sig``, >= 0.
    time_aug, lead_lag : bool, default=False
        The transforms used for ``sig``.
    end_time : float, default=1.0
        Final value of the time channel.
    horner : bool, default=True
        Accepted for pySigLib compatibility (the forward always uses Horner's rule).
    scalar_term : bool or None, default=None
        Whether ``sig`` and ``sig_derivs`` start with the scalar term; None infers it
        from their trailing length.
    correction : None or array-like, default=None
        The correction given to :func:`sksig.sig` (see there). A constant: no
        gradient is returned for it, and the reverse pass takes each corrected
        factor ``exp(dx_i + c_i)`` off the signature as ``sig`` does the plain ones.
    {path_backprop_tail}
    ValueError
        If a shape does not fit the path and degree, an input has NaN or inf, or
        ``degree`` is negative.
    {gradient_overflow}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> s = sksig.sig(x, 2)
    >>> sksig.sig_backprop(x, s, np.ones_like(s), 2)
    array([[-3., -3.],
           [ 0.,  0.],
           [ 3.,  3.]])
    """
    degree = check_int(degree, "degree")
    check_bool(horner, "horner")
    if scalar_term is not None:
        scalar_term = check_bool(scalar_term, "scalar_term")
    batch, n_threads = _path_batch(path, degree, time_aug, lead_lag, end_time, n_jobs,
                                   basepoint)
    length = sig_length(batch.dim, degree)
    sig, has_term = _cotangent(sig, "sig", batch, length, scalar_term,
                               sig_length(batch.dim, degree + 1))
    derivs, _ = _cotangent(sig_derivs, "sig_derivs", batch, length, has_term)
    grad = np.zeros_like(batch.data)
    rows = _correction(correction, batch, degree, lead_lag)
    if degree > 0 and rows is not None:
        from sksig._sig_correction import corrected_sig_backprop

        corrected_sig_backprop(batch, rows, sig, derivs, grad, degree, has_term,
                               n_threads)
    elif degree > 0:
        from sksig._core import _log_sig

        call(_log_sig.sig_backprop, batch.data, sig, derivs, grad, degree, has_term,
             n_threads)
    return batch.grad_to_input(grad, n_threads)


@fill_doc
def log_sig_backprop(path, log_sig, log_sig_derivs, degree, *, time_aug=False,
                     lead_lag=False, end_time=1.0, method=1, scalar_term=None,
                     basepoint=None, n_jobs=1):
    """Gradient with respect to the paths of a scalar function of their log-signatures.

    Given ``log_sig = sksig.log_sig(path, degree, method=method, ...)`` and
    ``log_sig_derivs`` the derivatives ``dF/d log_sig`` of a scalar ``F``, returns
    ``dF/d path``, for every output basis. The cotangent is pulled back exactly through
    each step of the forward map: the Lyndon triangular solve (``method=2``) and the
    selection of Lyndon-word coefficients (methods 1 and 2), the truncated tensor
    logarithm, then the signature (as in :func:`sksig.sig_backprop`) and the path
    transforms. The signature is recomputed from ``path``; ``log_sig`` is only checked
    for its shape.

    Parameters
    ----------
    path : array-like of shape (..., length, dim), torch.Tensor or list of 2-D arrays
        The paths given to :func:`sksig.log_sig`.
    log_sig : array-like or torch.Tensor of shape (..., n)
        Their log-signatures, as returned by :func:`sksig.log_sig`.
    log_sig_derivs : array-like or torch.Tensor, same shape as ``log_sig``
        ``dF/d log_sig``.
    degree : int
        Truncation level, >= 0 (degree 0 gives zero gradients).
    time_aug, lead_lag : bool, default=False
        The transforms used for ``log_sig``.
    end_time : float, default=1.0
        Final value of the time channel.
    method : {0, 1, 2, 3}, default=1
        The output basis used for ``log_sig`` (see :func:`sksig.log_sig`).
    scalar_term : bool or None, default=None
        With ``method=0``, whether the arrays start with the (zero) level-0 entry;
        None infers it from their trailing length. Methods 1 to 3 have none.
    {path_backprop_tail}
    ValueError
        If a shape does not fit the path, degree and method, an input has NaN or inf,
        ``degree`` is negative or ``method`` is not 0 to 3.
    {gradient_overflow}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> ls = sksig.log_sig(x, 2, method=2)
    >>> sksig.log_sig_backprop(x, ls, np.ones_like(ls), 2, method=2)
    array([[-1.5, -1. ],
           [ 0.5, -0.5],
           [ 1. ,  1.5]])
    """
    if scalar_term is not None:
        scalar_term = check_bool(scalar_term, "scalar_term")
    degree, method, _, batch, n_threads, tables, length = _log_sig_setup(
        path, degree, time_aug, lead_lag, end_time, method, False, n_jobs, basepoint)
    if method:
        scalar_term = False
    # Method 0 has the signature's layout, where n + 1 may be the next degree's length.
    next_length = None if method else sig_length(batch.dim, degree + 1)
    _, has_term = _cotangent(log_sig, "log_sig", batch, length, scalar_term,
                             next_length)
    derivs, _ = _cotangent(log_sig_derivs, "log_sig_derivs", batch, length, has_term)
    from sksig._core import _log_sig

    grad = np.zeros_like(batch.data)
    if degree:
        call(_log_sig.log_sig_backprop, batch.data, derivs, grad, degree,
             min(method, 2), has_term, tables, n_threads)
    return batch.grad_to_input(grad, n_threads)


_RAISES_JOIN = """
    Raises
    ------
    TypeError
        If an input is not a float array, or inputs mix kinds or dtypes.
    ValueError
        If a trailing length is wrong, batch shapes differ, an input has NaN/inf, or
        ``dimension``/``degree`` is invalid (dimension below 1, negative degree)."""

# d_out of the forward join, which has none (None is a bad d_out of the backprop).
NO_D_OUT = object()


def _join_inputs(log_sig, displacement, dimension, degree, n_jobs, d_out=NO_D_OUT):
    """Validated join inputs, flattened to (n, length) C-contiguous arrays (torch
    tensors on their device for the CUDA backend)."""
    dimension = check_int(dimension, "dimension", minimum=1)
    degree = check_int(degree, "degree")
    n_threads = resolve_n_jobs(n_jobs)
    check_tensor_size(dimension, degree)
    _check_work(dimension, degree, n_threads, 8)
    n_ls = log_sig_length(dimension, degree)
    named = [("log_sig", log_sig), ("displacement", displacement)]
    if d_out is not NO_D_OUT:
        named.insert(0, ("d_out", d_out))
    caller = None
    arrays = []
    for name, value in named:
        # NaN/inf in host arrays: found by the CPU join as it reads them (_join_finite).
        array, caller = as_array(value, name, caller=caller, min_ndim=1, device=True,
                                 check_finite=False)
        arrays.append(array)
    if caller.on_device or degree == 0:  # the CUDA join, or no join: test them here
        for (name, _), array in zip(named, arrays):
            as_array(array, name, caller=caller, min_ndim=1, device=True)
    *grads, ls, disp = arrays
    # Lyndon-bracket coordinates never carry a scalar term (log_sig's methods 1 and 2
    # have none), so exactly n_ls entries: n_ls + 1 is the length of another degree
    # (e.g. dimension 2 at degrees 1 and 2) and must not be read as shifted.
    what = f" (log_sig_length({dimension}, {degree}); no scalar term)"
    check_trailing_length(ls.shape, "log_sig", n_ls, what)
    # pySigLib drops the first of d + 1 displacement entries silently; a displacement
    # is a vector of exactly `dimension` entries, anything else is an error.
    if disp.shape[-1] != dimension:
        raise ValueError(
            f"displacement must have trailing length dimension={dimension}, got shape "
            f"{tuple(disp.shape)}"
        )
    check_same_batch(ls.shape[:-1], disp.shape[:-1], "log_sig", "displacement")
    batch_shape = tuple(ls.shape[:-1])
    rows = int(np.prod(batch_shape))  # not -1: n_ls is 0 at degree 0
    if grads:
        g = grads[0]
        check_trailing_length(g.shape, "d_out", n_ls, what)
        check_same_batch(g.shape[:-1], batch_shape, "d_out", "log_sig")
        grads = [contiguous(g.reshape(rows, n_ls))]
    return (dimension, degree, n_threads, n_ls, caller, batch_shape,
            contiguous(ls.reshape(rows, n_ls)),
            contiguous(disp.reshape(rows, dimension)), grads)


def _join_finite(nonfinite, names, caller):
    """Raise for what a join backend found: bit i set, the i-th input argument in
    ``names`` holds NaN or inf (a ValueError naming it, as the input checks give);
    a higher bit, a result overflowed. None (the CUDA backend) or 0: nothing."""
    if nonfinite:
        for bit, name in enumerate(names):
            if nonfinite >> bit & 1:
                raise nonfinite_error(name)
        raise overflow_error(caller.dtype.name)


@cuda_arrays
@fill_doc(raises_join=_RAISES_JOIN)
def log_sig_join(log_sig, displacement, dimension, degree, *, n_jobs=1):
    """Extend log-signatures by one straight segment (truncated BCH product).

    With ``L = sum_w c_w P_w`` the Lie element of the Lyndon-bracket coordinates ``c``
    (the output of :func:`log_sig` with ``method=2``), returns the coordinates of
    ``log(exp(L) (x) exp(v))`` truncated at ``degree``. If ``c`` is the log-signature
    of a path ``x``, this is the log-signature of ``x`` extended by the segment from its
    last point to ``x[-1] + v``.

    Parameters
    ----------
    log_sig : array-like of shape (..., n), or torch.Tensor
        Lyndon-bracket coordinates, ``n = log_sig_length(dimension, degree)``. They
        have no scalar term, so any other trailing length (``n + 1`` included) is an
        error: it would be the length of another degree.
    displacement : array-like of shape (..., dimension), or torch.Tensor
        The segment's increment, with the same batch shape. Exactly ``dimension``
        entries (unlike pySigLib, ``dimension + 1`` is an error, not shifted).
    dimension : int
        Path dimension, >= 1.
    degree : int
        Truncation level, >= 0 (degree 0: the empty log-signature).
    {n_jobs}

    Returns
    -------
    ndarray or torch.Tensor of shape (..., n)
        The Lyndon-bracket coordinates of the extended log-signatures.

    {raises_join}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> c = np.array([0.3, -0.2, 0.7, 0.1, -0.4])
    >>> sksig.log_sig_join(c, np.array([0.5, 2.0]), 2, 3)
    array([ 0.8       ,  1.8       ,  1.05      , -0.08666667,  0.42833333])
    """
    dim, degree, n_threads, n_ls, caller, batch_shape, ls, disp, _ = _join_inputs(
        log_sig, displacement, dimension, degree, n_jobs)
    compute = backend(caller)
    if degree == 0:  # no Lyndon words: the empty log-signature
        return caller.out(compute.zeros(batch_shape + (0,), caller))
    out = compute.empty(ls.shape, caller)
    nonfinite = compute.log_sig_join(ls, disp, out, dim, degree, n_threads)
    _join_finite(nonfinite, ("log_sig", "displacement"), caller)
    return caller.out(out.reshape(batch_shape + (n_ls,)), checked=nonfinite is not None)


@cuda_arrays
@fill_doc(raises_join=_RAISES_JOIN)
def log_sig_join_backprop(d_out, log_sig, displacement, dimension, degree, *, n_jobs=1):
    """Differentiate :func:`log_sig_join` with respect to both of its inputs.

    Parameters
    ----------
    d_out : array-like of shape (..., n), or torch.Tensor
        Gradient of a scalar ``F`` with respect to the output of :func:`log_sig_join`.
    log_sig : array-like of shape (..., n), or torch.Tensor
        The Lyndon-bracket coordinates passed to :func:`log_sig_join`.
    displacement : array-like of shape (..., dimension), or torch.Tensor
        The displacement passed to :func:`log_sig_join`.
    dimension : int
        Path dimension, >= 1.
    degree : int
        Truncation level, >= 0 (degree 0: zero gradients).
    {n_jobs}

    Returns
    -------
    grad_log_sig : ndarray or torch.Tensor of shape (..., n)
        Gradient with respect to ``log_sig``.
    grad_displacement : ndarray or torch.Tensor of shape (..., dimension)
        ``dF/d displacement``, a vector of ``dimension`` entries per item.

    {raises_join}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> c, v = np.zeros(5), np.array([0.5, 2.0])
    >>> g_c, g_v = sksig.log_sig_join_backprop(np.ones(5), c, v, 2, 3)
    >>> g_v
    array([1., 1.])
    """
    dim, degree, n_threads, n_ls, caller, batch_shape, ls, disp, grads = _join_inputs(
        log_sig, displacement, dimension, degree, n_jobs, d_out=d_out)
    compute = backend(caller)
    if degree == 0:  # nothing depends on the inputs: zero gradients
        return (caller.out(compute.zeros(batch_shape + (0,), caller)),
                caller.out(compute.zeros(batch_shape + (dim,), caller)))
    grad_ls = compute.empty(ls.shape, caller)
    grad_disp = compute.empty(disp.shape, caller)
    nonfinite = compute.log_sig_join_backprop(grads[0], ls, disp, grad_ls, grad_disp,
                                              dim, degree, n_threads)
    _join_finite(nonfinite, ("d_out", "log_sig", "displacement"), caller)
    checked = nonfinite is not None
    return (caller.out(grad_ls.reshape(batch_shape + (n_ls,)), checked=checked),
            caller.out(grad_disp.reshape(batch_shape + (dim,)), checked=checked))
