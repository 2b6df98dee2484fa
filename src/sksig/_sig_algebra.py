"""The signature algebra on stored signatures and log-signatures.

Chen products (:func:`sig_combine`, :func:`sig_join`), the signature of one segment
(:func:`linear_sig`, :func:`linear_log_sig`), the conversions between signatures and
log-signatures (:func:`sig_to_log_sig`, :func:`logsig_to_sig`) and the BCH product of
log-signatures (:func:`log_sig_combine`), each with the exact vector-Jacobian product
of its native forward pass. All are computed on the CPU (torch tensors are accepted
and results returned on their device).
"""

import numpy as np

from sksig._array import (
    all_finite,
    as_array,
    check_same_batch,
    check_trailing_length,
    contiguous,
    scalar_term_length,
    transformed_dim,
)
from sksig._interrupt import call
from sksig._log_sig import _check_work, _empty_tables, log_sig_length, sig_length
from sksig._lyndon import check_tensor_size, lyndon_tables
from sksig._validation import check_bool, check_int, resolve_n_jobs

__all__ = [
    "linear_log_sig",
    "linear_log_sig_backprop",
    "linear_sig",
    "linear_sig_backprop",
    "log_sig_combine",
    "log_sig_combine_backprop",
    "logsig_to_sig",
    "logsig_to_sig_backprop",
    "sig_combine",
    "sig_combine_backprop",
    "sig_join",
    "sig_join_backprop",
    "sig_to_log_sig",
    "sig_to_log_sig_backprop",
]


def _core():
    from sksig._core import _sig_algebra

    return _sig_algebra


class _Call:
    """The validated common arguments of one call and its array inputs.

    ``arrays`` are numpy views of the inputs (same kind, dtype and device, checked by
    :func:`sksig._array.as_array`); ``flat(a, k)`` reshapes one to (n_items, k).
    """

    def __init__(self, named, dimension, degree, n_jobs, *, time_aug=False,
                 lead_lag=False, min_degree=0, lazy_finite=False):
        dimension = check_int(dimension, "dimension", minimum=1)
        self.degree = check_int(degree, "degree", minimum=min_degree)
        self.dim = transformed_dim(dimension, check_bool(time_aug, "time_aug"),
                                   check_bool(lead_lag, "lead_lag"))
        self.n_threads = resolve_n_jobs(n_jobs)
        check_tensor_size(self.dim, self.degree)
        _check_work(self.dim, self.degree, self.n_threads, 8)
        self.caller = None
        self.arrays = []
        for name, value in named:
            array, self.caller = as_array(value, name, caller=self.caller, min_ndim=1,
                                          check_finite=not lazy_finite)
            self.arrays.append(array)
        self.names = [name for name, _ in named]
        self.batch_shape = tuple(self.arrays[0].shape[:-1])
        for name, array in zip(self.names[1:], self.arrays[1:], strict=True):
            check_same_batch(self.batch_shape, array.shape[:-1], self.names[0], name)
        self.n_items = int(np.prod(self.batch_shape, dtype=np.int64))

    def sig_term(self, i, scalar_term=None):
        """Whether input i (signature-shaped) has the scalar term."""
        length = sig_length(self.dim, self.degree)
        return scalar_term_length(self.arrays[i].shape, self.names[i], length,
                                  scalar_term,
                                  next_length=sig_length(self.dim, self.degree + 1))

    def exact(self, i, length, what=""):
        check_trailing_length(self.arrays[i].shape, self.names[i], length, what)

    def flat(self, i):
        a = self.arrays[i]
        return contiguous(a.reshape(self.n_items, a.shape[-1]))

    def empty(self, width):
        return np.zeros((self.n_items, width), self.caller.dtype)

    def uninitialized(self, width):
        """For outputs the native code writes entirely."""
        return np.empty((self.n_items, width), self.caller.dtype)

    def out(self, array):
        return self.caller.out(array.reshape(self.batch_shape + array.shape[1:]))

    def out_checked(self, array):
        """``out`` for a call made with ``lazy_finite``: every input entry reaches the
        output, so a finite output proves finite inputs (one pass over memory instead
        of one per input); otherwise name the input with NaN or inf."""
        try:
            return self.out(array)
        except FloatingPointError:
            for name, a in zip(self.names, self.arrays, strict=True):
                if not all_finite(a):
                    raise ValueError(f"{name} contains NaN or inf values") from None
            raise


def _term(scalar_term):
    return None if scalar_term is None else check_bool(scalar_term, "scalar_term")


def _sig_len(c, has_term):
    return sig_length(c.dim, c.degree) + int(has_term)


def _check_method(method, allowed=(0, 1, 2)):
    method = check_int(method, "method")
    if method not in allowed:
        names = ", ".join(str(m) for m in allowed)
        raise ValueError(f"method must be one of {names}, got {method}")
    return method


def _tables(c, method):
    return _empty_tables() if method == 0 else lyndon_tables(c.dim, c.degree)


def _ls_what(c):
    return f" (log_sig_length({c.dim}, {c.degree}); Lyndon coordinates, no scalar term)"


# ---------------------------------------------------------------------- Chen products


def sig_combine(sig1, sig2, dimension, degree, *, time_aug=False, lead_lag=False,
                scalar_term=None, n_jobs=1):
    """Chen product of two truncated signatures: the signature of a concatenation.

    If ``sig1`` and ``sig2`` are the signatures of two paths, the second starting where
    the first ends, ``sig1 (x) sig2`` (the product of the truncated tensor algebra) is
    the signature of the two paths run one after the other. Computed on the CPU.

    Parameters
    ----------
    sig1, sig2 : array-like or torch.Tensor of shape (..., sig_length)
        Signatures with the same batch shape, both with or both without the scalar
        term (a scalar term is taken as 1).
    dimension : int
        Dimension of the paths, >= 1.
    degree : int
        Truncation level, >= 0.
    time_aug, lead_lag : bool, default=False
        Whether the signatures were computed with these transforms (the dimension is
        then that of the transformed paths).
    scalar_term : bool or None, default=None
        Whether the signature-shaped arrays start with the scalar term; None infers it
        from their trailing length (refused where that is ambiguous, e.g. dimension 1).
    n_jobs : int, default=1
        CPU threads; None means 1, -1 all cores. Results do not depend on it.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., sig_length)
        The combined signatures, in the scalar-term format of the inputs.

    Raises
    ------
    TypeError
        If an input is not a float array, or inputs mix kinds or dtypes.
    ValueError
        If a trailing length does not fit ``dimension`` and ``degree``, the batch
        shapes differ, or an input has NaN or inf.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 2.0]])
    >>> s = sksig.sig_combine(sksig.sig(x[:2], 2), sksig.sig(x[1:], 2), 2, 2)
    >>> np.allclose(s, sksig.sig(x, 2))
    True
    """
    # Every entry of levels 1..degree of both inputs is a term of the output.
    c = _Call([("sig1", sig1), ("sig2", sig2)], dimension, degree, n_jobs,
              time_aug=time_aug, lead_lag=lead_lag, lazy_finite=True)
    term = c.sig_term(0, _term(scalar_term))
    c.sig_term(1, term)
    out = c.uninitialized(_sig_len(c, term))
    if c.degree == 0:
        out[:] = 1.0
    else:
        call(_core().sig_combine, c.flat(0), c.flat(1), out, c.dim, c.degree, term,
             c.n_threads)
    return c.out_checked(out)


def sig_combine_backprop(deriv, sig1, sig2, dimension, degree, *, time_aug=False,
                         lead_lag=False, scalar_term=None, n_jobs=1):
    """Differentiate a scalar function of :func:`sig_combine`'s result.

    Given ``deriv = dF/d(sig1 (x) sig2)``, returns ``dF/d sig1`` and ``dF/d sig2``
    (the exact adjoint of the bilinear product). Computed on the CPU.

    Parameters
    ----------
    deriv : array-like or torch.Tensor of shape (..., sig_length)
        Derivatives with respect to the combined signature, in the inputs' format.
    sig1, sig2 : array-like or torch.Tensor of shape (..., sig_length)
        The inputs of :func:`sig_combine`.
    dimension : int
        Dimension of the paths, >= 1.
    degree : int
        Truncation level, >= 0.
    time_aug, lead_lag : bool, default=False
        As for :func:`sig_combine`.
    scalar_term : bool or None, default=None
        Whether the signature-shaped arrays start with the scalar term; None infers it
        from their trailing length (refused where that is ambiguous, e.g. dimension 1).
    n_jobs : int, default=1
        CPU threads; None means 1, -1 all cores. Results do not depend on it.

    Returns
    -------
    grad_sig1 : ndarray or torch.Tensor of shape (..., sig_length)
        ``dF/d sig1``, in the inputs' scalar-term format; a scalar term gets gradient 0
        (it is the constant 1).
    grad_sig2 : ndarray or torch.Tensor of shape (..., sig_length)
        ``dF/d sig2``, likewise.

    Raises
    ------
    TypeError
        If an input is not a float array, or inputs mix kinds or dtypes.
    ValueError
        If a trailing length does not fit ``dimension`` and ``degree``, the batch
        shapes differ, or an input has NaN or inf.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> a, b = np.array([1.0, 0.0, 0.5, 0, 0, 0]), np.array([0.0, 1.0, 0, 0, 0, 0.5])
    >>> g1, g2 = sksig.sig_combine_backprop(np.ones(6), a, b, 2, 2)
    >>> g1
    array([2., 2., 1., 1., 1., 1.])
    """
    c = _Call([("deriv", deriv), ("sig1", sig1), ("sig2", sig2)], dimension, degree,
              n_jobs, time_aug=time_aug, lead_lag=lead_lag)
    term = c.sig_term(1, _term(scalar_term))
    c.sig_term(0, term)
    c.sig_term(2, term)
    g1, g2 = c.empty(_sig_len(c, term)), c.empty(_sig_len(c, term))
    if c.degree:
        call(_core().sig_combine_backprop, c.flat(0), c.flat(1), c.flat(2), g1, g2,
             c.dim, c.degree, term, c.n_threads)
    return c.out(g1), c.out(g2)


def _join_call(named, dimension, degree, n_jobs, sig_index):
    c = _Call(named, dimension, degree, n_jobs)
    # pySigLib reads the last `dimension` entries of a longer displacement; here a
    # displacement is exactly `dimension` entries.
    c.exact(sig_index + 1, c.dim, " (the dimension)")
    return c


def sig_join(sig, displacement, dimension, degree, *, prepend=False, scalar_term=None,
             n_jobs=1):
    """Extend signatures by one straight segment.

    Returns ``sig (x) exp(v)``, the signature of the path extended by the segment of
    increment ``v`` (``exp(v)`` is :func:`linear_sig`), or with ``prepend=True``
    ``exp(v) (x) sig``, the segment run first. Equal to ``sig_combine(sig,
    linear_sig(v))`` but without forming ``exp(v)``: one Horner pass in place.
    Computed on the CPU.

    Parameters
    ----------
    sig : array-like or torch.Tensor of shape (..., sig_length)
        Signatures, with or without the scalar term (taken as 1).
    displacement : array-like or torch.Tensor of shape (..., dimension)
        The segments' increments, with the same batch shape. Exactly ``dimension``
        entries.
    dimension : int
        Path dimension, >= 1.
    degree : int
        Truncation level, >= 0.
    prepend : bool, default=False
        Put the segment before the path instead of after it.
    scalar_term : bool or None, default=None
        Whether the signature-shaped arrays start with the scalar term; None infers it
        from their trailing length (refused where that is ambiguous, e.g. dimension 1).
    n_jobs : int, default=1
        CPU threads; None means 1, -1 all cores. Results do not depend on it.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., sig_length)
        In the scalar-term format of ``sig``.

    Raises
    ------
    TypeError
        If an input is not a float array, or inputs mix kinds or dtypes.
    ValueError
        If a trailing length is wrong, the batch shapes differ, or an input has NaN
        or inf.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 2.0]])
    >>> s = sksig.sig_join(sksig.sig(x[:2], 3), x[2] - x[1], 2, 3)
    >>> np.allclose(s, sksig.sig(x, 3))
    True
    """
    prepend = check_bool(prepend, "prepend")
    c = _join_call([("sig", sig), ("displacement", displacement)], dimension, degree,
                   n_jobs, 0)
    term = c.sig_term(0, _term(scalar_term))
    out = c.empty(_sig_len(c, term))
    if c.degree == 0:
        out[:] = 1.0
    else:
        call(_core().sig_join, c.flat(0), c.flat(1), out, c.dim, c.degree, prepend,
             term, c.n_threads)
    return c.out(out)


def sig_join_backprop(d_out, sig, displacement, dimension, degree, *, prepend=False,
                      scalar_term=None, n_jobs=1):
    """Differentiate a scalar function of :func:`sig_join`'s result.

    The exact adjoint of the in-place Horner pass of :func:`sig_join`. Computed on the
    CPU.

    Parameters
    ----------
    d_out : array-like or torch.Tensor of shape (..., sig_length)
        Derivatives with respect to the joined signature, in the format of ``sig``.
    sig : array-like or torch.Tensor of shape (..., sig_length)
        The signatures given to :func:`sig_join`.
    displacement : array-like or torch.Tensor of shape (..., dimension)
        The displacements given to :func:`sig_join`.
    dimension : int
        Path dimension, >= 1.
    degree : int
        Truncation level, >= 0.
    prepend : bool, default=False
        As for :func:`sig_join`.
    scalar_term : bool or None, default=None
        Whether the signature-shaped arrays start with the scalar term; None infers it
        from their trailing length (refused where that is ambiguous, e.g. dimension 1).
    n_jobs : int, default=1
        CPU threads; None means 1, -1 all cores. Results do not depend on it.

    Returns
    -------
    grad_sig : ndarray or torch.Tensor of shape (..., sig_length)
        Gradient with respect to ``sig`` (0 at a scalar term).
    grad_displacement : ndarray or torch.Tensor of shape (..., dimension)
        Gradient with respect to ``displacement``.

    Raises
    ------
    TypeError
        If an input is not a float array, or inputs mix kinds or dtypes.
    ValueError
        If a trailing length is wrong, the batch shapes differ, or an input has NaN
        or inf.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> s = sksig.sig(np.array([[0.0, 0.0], [1.0, 0.0]]), 2)
    >>> g_s, g_v = sksig.sig_join_backprop(np.ones(6), s, np.array([0.0, 1.0]), 2, 2)
    >>> g_v
    array([3., 3.])
    """
    prepend = check_bool(prepend, "prepend")
    c = _join_call([("sig", sig), ("displacement", displacement), ("d_out", d_out)],
                   dimension, degree, n_jobs, 0)
    term = c.sig_term(0, _term(scalar_term))
    c.sig_term(2, term)
    g_sig, g_disp = c.empty(_sig_len(c, term)), c.empty(c.dim)
    if c.degree:
        call(_core().sig_join_backprop, c.flat(2), c.flat(0), c.flat(1), g_sig, g_disp,
             c.dim, c.degree, prepend, term, c.n_threads)
    return c.out(g_sig), c.out(g_disp)


def linear_sig(displacement, dimension, degree, *, scalar_term=False, n_jobs=1):
    """Signature of one straight segment, ``exp(v) = (1, v, v^2/2!, ..., v^N/N!)``.

    Computed on the CPU.

    Parameters
    ----------
    displacement : array-like or torch.Tensor of shape (..., dimension)
        The increments ``v``.
    dimension : int
        Dimension, >= 1.
    degree : int
        Truncation level, >= 0.
    scalar_term : bool, default=False
        Include the constant level-0 term 1 first.
    n_jobs : int, default=1
        CPU threads; None means 1, -1 all cores.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., sig_length)
        Equal to :func:`sksig.sig` of the two-point path ``(0, v)``.

    Raises
    ------
    TypeError
        If ``displacement`` is not a float array, or an argument has the wrong type.
    ValueError
        If ``displacement`` does not have ``dimension`` trailing entries or has NaN
        or inf.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> sksig.linear_sig(np.array([1.0, 2.0]), 2, 2)
    array([1. , 2. , 0.5, 1. , 1. , 2. ])
    """
    scalar_term = check_bool(scalar_term, "scalar_term")
    c = _Call([("displacement", displacement)], dimension, degree, n_jobs)
    c.exact(0, c.dim, " (the dimension)")
    out = c.empty(_sig_len(c, scalar_term))
    if c.degree == 0:
        out[:] = 1.0
    else:
        call(_core().sig_join, None, c.flat(0), out, c.dim, c.degree, False,
             scalar_term, c.n_threads)
    return c.out(out)


def linear_sig_backprop(derivs, displacement, dimension, degree, *, scalar_term=None,
                        n_jobs=1):
    """Differentiate a scalar function of :func:`linear_sig` by its increments.

    Computed on the CPU.

    Parameters
    ----------
    derivs : array-like or torch.Tensor of shape (..., sig_length)
        Derivatives with respect to the output of :func:`linear_sig`.
    displacement : array-like or torch.Tensor of shape (..., dimension)
        The increments given to :func:`linear_sig`.
    dimension : int
        Dimension, >= 1.
    degree : int
        Truncation level, >= 0.
    scalar_term : bool or None, default=None
        Whether ``derivs`` starts with the scalar term; None infers it from its length.
    n_jobs : int, default=1
        CPU threads; None means 1, -1 all cores. Results do not depend on it.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., dimension)
        ``dF/d displacement``.

    Raises
    ------
    TypeError
        If an input is not a float array, or inputs mix kinds or dtypes.
    ValueError
        If a trailing length is wrong, the batch shapes differ, or an input has NaN
        or inf.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> sksig.linear_sig_backprop(np.ones(6), np.array([1.0, 2.0]), 2, 2)
    array([4., 4.])
    """
    if scalar_term is not None:
        scalar_term = check_bool(scalar_term, "scalar_term")
    c = _Call([("displacement", displacement), ("derivs", derivs)], dimension, degree,
              n_jobs)
    c.exact(0, c.dim, " (the dimension)")
    term = c.sig_term(1, scalar_term)
    g = c.empty(c.dim)
    if c.degree:
        call(_core().sig_join_backprop, c.flat(1), None, c.flat(0), None, g, c.dim,
             c.degree, False, term, c.n_threads)
    return c.out(g)


# ------------------------------------------------------------ logs and exponentials


def linear_log_sig(displacement, dimension, degree, *, method=1, scalar_term=False,
                   n_jobs=1):
    """Log-signature of one straight segment: the increment itself at level 1.

    Computed on the CPU.

    Parameters
    ----------
    displacement : array-like or torch.Tensor of shape (..., dimension)
        The increments ``v``.
    dimension : int
        Dimension, >= 1.
    degree : int
        Truncation level, >= 1.
    method : {0, 1, 2, 3}, default=1
        Output format as :func:`sksig.log_sig` (0: the tensor, 1: Lyndon-word
        coefficients, 2 and 3: Lyndon-bracket coordinates, which agree here).
    scalar_term : bool, default=False
        With ``method=0``, put the (zero) level-0 entry first; ignored otherwise.
    n_jobs : int, default=1
        Accepted for pySigLib compatibility (the result is a copy of the input).

    Returns
    -------
    ndarray or torch.Tensor of shape (..., n)
        ``v`` in the level-1 entries (the first ``dimension`` Lyndon words are the
        letters), zeros elsewhere.

    Raises
    ------
    TypeError
        If ``displacement`` is not a float array, or an argument has the wrong type.
    ValueError
        If ``displacement`` does not have ``dimension`` trailing entries, has NaN or
        inf, or ``method`` is not 0 to 3.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> sksig.linear_log_sig(np.array([1.0, 2.0]), 2, 3, method=2)
    array([1., 2., 0., 0., 0.])
    """
    method = _check_method(method, (0, 1, 2, 3))
    scalar_term = check_bool(scalar_term, "scalar_term") and method == 0
    c = _Call([("displacement", displacement)], dimension, degree, n_jobs, min_degree=1)
    c.exact(0, c.dim, " (the dimension)")
    width = (_sig_len(c, scalar_term) if method == 0
             else log_sig_length(c.dim, c.degree))
    out = c.empty(width)
    out[:, int(scalar_term):int(scalar_term) + c.dim] = c.flat(0)
    return c.out(out)


def linear_log_sig_backprop(derivs, displacement, dimension, degree, *, method=1,
                            scalar_term=False, n_jobs=1):
    """Differentiate a scalar function of :func:`linear_log_sig` by its increments.

    Parameters
    ----------
    derivs : array-like or torch.Tensor of shape (..., n)
        Derivatives with respect to the output of :func:`linear_log_sig`.
    displacement : array-like or torch.Tensor of shape (..., dimension)
        The increments given to :func:`linear_log_sig`.
    dimension : int
        Dimension, >= 1.
    degree : int
        Truncation level, >= 1.
    method : {0, 1, 2, 3}, default=1
        The forward's method.
    scalar_term : bool, default=False
        The forward's ``scalar_term`` (method 0 only).
    n_jobs : int, default=1
        Accepted for pySigLib compatibility.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., dimension)
        The level-1 entries of ``derivs``.

    Raises
    ------
    TypeError
        If an input is not a float array, or inputs mix kinds or dtypes.
    ValueError
        If a trailing length is wrong, the batch shapes differ, or an input has NaN
        or inf.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> sksig.linear_log_sig_backprop(np.arange(5.0), np.zeros(2), 2, 3, method=2)
    array([0., 1.])
    """
    method = _check_method(method, (0, 1, 2, 3))
    scalar_term = check_bool(scalar_term, "scalar_term") and method == 0
    c = _Call([("displacement", displacement), ("derivs", derivs)], dimension, degree,
              n_jobs, min_degree=1)
    c.exact(0, c.dim, " (the dimension)")
    width = (_sig_len(c, scalar_term) if method == 0
             else log_sig_length(c.dim, c.degree))
    c.exact(1, width, f" (method={method}, scalar_term={scalar_term})")
    first = int(scalar_term)
    return c.out(np.ascontiguousarray(c.flat(1)[:, first:first + c.dim]))


def _log_width(c, method, term):
    return _sig_len(c, term) if method == 0 else log_sig_length(c.dim, c.degree)


def sig_to_log_sig(sig, dimension, degree, *, time_aug=False, lead_lag=False, method=1,
                   scalar_term=None, n_jobs=1):
    """Compute log-signatures from stored signatures (the truncated tensor logarithm).

    ``sig_to_log_sig(sig(x, N), d, N, method=m)`` equals ``log_sig(x, N, method=m)``.
    Computed on the CPU.

    Parameters
    ----------
    sig : array-like or torch.Tensor of shape (..., sig_length)
        Signatures, with or without the scalar term (taken as 1).
    dimension : int
        Dimension of the paths, >= 1.
    degree : int
        Truncation level, >= 1.
    time_aug, lead_lag : bool, default=False
        Whether the signatures were computed with these transforms.
    method : {0, 1, 2}, default=1
        Output format as :func:`sksig.log_sig`; method 0 keeps the scalar-term format
        of ``sig`` (its level-0 entry is 0).
    scalar_term : bool or None, default=None
        Whether the signature-shaped arrays start with the scalar term; None infers it
        from their trailing length (refused where that is ambiguous, e.g. dimension 1).
    n_jobs : int, default=1
        CPU threads; None means 1, -1 all cores. Results do not depend on it.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., n)
        The log-signatures.

    Raises
    ------
    TypeError
        If ``sig`` is not a float array, or an argument has the wrong type.
    ValueError
        If ``sig`` does not fit ``dimension`` and ``degree``, has NaN or inf, or
        ``method`` is not 0, 1 or 2.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> sksig.sig_to_log_sig(sksig.sig(x, 2), 2, 2, method=2)
    array([1. , 1. , 0.5])
    """
    method = _check_method(method)
    c = _Call([("sig", sig)], dimension, degree, n_jobs, time_aug=time_aug,
              lead_lag=lead_lag, min_degree=1)
    term = c.sig_term(0, _term(scalar_term))
    out = c.empty(_log_width(c, method, term))
    call(_core().convert, False, c.flat(0), out, c.dim, c.degree, method, term, term,
         _tables(c, method), c.n_threads)
    return c.out(out)


def sig_to_log_sig_backprop(sig, log_sig_derivs, dimension, degree, *, time_aug=False,
                            lead_lag=False, method=1, scalar_term=None, n_jobs=1):
    """Differentiate a scalar function of :func:`sig_to_log_sig` by its signatures.

    The exact adjoint of the forward pass (Lyndon solve and gather, then the Horner
    chain of the logarithm). Computed on the CPU.

    Parameters
    ----------
    sig : array-like or torch.Tensor of shape (..., sig_length)
        The signatures given to :func:`sig_to_log_sig`.
    log_sig_derivs : array-like or torch.Tensor of shape (..., n)
        Derivatives with respect to its output.
    dimension : int
        Dimension of the paths, >= 1.
    degree : int
        Truncation level, >= 1.
    time_aug, lead_lag : bool, default=False
        As for :func:`sig_to_log_sig`.
    method : {0, 1, 2}, default=1
        The forward's method.
    scalar_term : bool or None, default=None
        Whether the signature-shaped arrays start with the scalar term; None infers it
        from their trailing length (refused where that is ambiguous, e.g. dimension 1).
    n_jobs : int, default=1
        CPU threads; None means 1, -1 all cores. Results do not depend on it.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., sig_length)
        ``dF/d sig``, in the format of ``sig`` (0 at a scalar term).

    Raises
    ------
    TypeError
        If an input is not a float array, or inputs mix kinds or dtypes.
    ValueError
        If a trailing length is wrong, the batch shapes differ, an input has NaN or
        inf, or ``method`` is not 0, 1 or 2.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> s = sksig.sig(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]), 2)
    >>> sksig.sig_to_log_sig_backprop(s, np.array([0.0, 0.0, 1.0]), 2, 2, method=2)
    array([-0.5, -0.5,  0. ,  1. ,  0. ,  0. ])
    """
    method = _check_method(method)
    c = _Call([("sig", sig), ("log_sig_derivs", log_sig_derivs)], dimension, degree,
              n_jobs, time_aug=time_aug, lead_lag=lead_lag, min_degree=1)
    term = c.sig_term(0, _term(scalar_term))
    if method == 0:
        c.sig_term(1, term)
    else:
        c.exact(1, log_sig_length(c.dim, c.degree), _ls_what(c))
    g = c.empty(_sig_len(c, term))
    call(_core().convert_backprop, False, c.flat(0), c.flat(1), g, c.dim, c.degree,
         method, term, term, _tables(c, method), c.n_threads)
    return c.out(g)


def _log_input(c, method, scalar_term):
    """Scalar-term flags (input, output) of logsig_to_sig's log_sig argument."""
    if method == 0:
        term = c.sig_term(0, scalar_term)
        return term, term
    c.exact(0, log_sig_length(c.dim, c.degree), _ls_what(c))
    return False, bool(scalar_term)


def logsig_to_sig(log_sig, dimension, degree, *, time_aug=False, lead_lag=False,
                  method=1, scalar_term=None, n_jobs=1):
    """Compute signatures from log-signatures (the truncated tensor exponential).

    The inverse of :func:`sig_to_log_sig`: for methods 1 and 2 the Lie element is
    rebuilt from its Lyndon coordinates (method 1 through the triangular system that
    links the two bases), then exponentiated. Computed on the CPU.

    Parameters
    ----------
    log_sig : array-like or torch.Tensor of shape (..., n)
        Log-signatures in the format of ``method``.
    dimension : int
        Dimension of the paths, >= 1.
    degree : int
        Truncation level, >= 1.
    time_aug, lead_lag : bool, default=False
        Whether the log-signatures were computed with these transforms.
    method : {0, 1, 2}, default=1
        Format of ``log_sig`` (see :func:`sksig.log_sig`).
    scalar_term : bool or None, default=None
        For methods 1 and 2, include the scalar term 1 in the output (None: no). With
        method 0 the output keeps the format of ``log_sig`` (which is
        signature-shaped): None infers it from its length, True or False declare it
        (needed where the length is ambiguous, e.g. dimension 1).
    n_jobs : int, default=1
        CPU threads; None means 1, -1 all cores. Results do not depend on it.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., sig_length)
        The signatures.

    Raises
    ------
    TypeError
        If ``log_sig`` is not a float array, or an argument has the wrong type.
    ValueError
        If ``log_sig`` does not fit ``dimension``, ``degree`` and ``method``, has NaN
        or inf, or ``method`` is not 0, 1 or 2.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> sksig.logsig_to_sig(np.array([1.0, 1.0, 0.5]), 2, 2, method=2)
    array([1. , 1. , 0.5, 1. , 0. , 0.5])
    """
    method = _check_method(method)
    scalar_term = _term(scalar_term)
    c = _Call([("log_sig", log_sig)], dimension, degree, n_jobs, time_aug=time_aug,
              lead_lag=lead_lag, min_degree=1)
    in_term, out_term = _log_input(c, method, scalar_term)
    out = c.empty(_sig_len(c, out_term))
    call(_core().convert, True, c.flat(0), out, c.dim, c.degree, method, in_term,
         out_term, _tables(c, method), c.n_threads)
    return c.out(out)


def logsig_to_sig_backprop(log_sig, sig_derivs, dimension, degree, *, time_aug=False,
                           lead_lag=False, method=1, scalar_term=None, n_jobs=1):
    """Differentiate a scalar function of :func:`logsig_to_sig` by its input.

    The exact adjoint of the forward pass (Horner chain of the exponential, bracket
    expansion and, for method 1, the triangular solve). Computed on the CPU.

    Parameters
    ----------
    log_sig : array-like or torch.Tensor of shape (..., n)
        The log-signatures given to :func:`logsig_to_sig`.
    sig_derivs : array-like or torch.Tensor of shape (..., sig_length)
        Derivatives with respect to its output.
    dimension : int
        Dimension of the paths, >= 1.
    degree : int
        Truncation level, >= 1.
    time_aug, lead_lag : bool, default=False
        As for :func:`logsig_to_sig`.
    method : {0, 1, 2}, default=1
        The forward's method.
    scalar_term : bool or None, default=None
        The forward's ``scalar_term``.
    n_jobs : int, default=1
        CPU threads; None means 1, -1 all cores. Results do not depend on it.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., n)
        ``dF/d log_sig``, in the format of ``log_sig``.

    Raises
    ------
    TypeError
        If an input is not a float array, or inputs mix kinds or dtypes.
    ValueError
        If a trailing length is wrong, the batch shapes differ, an input has NaN or
        inf, or ``method`` is not 0, 1 or 2.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> ls = np.array([1.0, 1.0, 0.5])
    >>> sksig.logsig_to_sig_backprop(ls, np.ones(6), 2, 2, method=2)
    array([3., 3., 0.])
    """
    method = _check_method(method)
    scalar_term = _term(scalar_term)
    c = _Call([("log_sig", log_sig), ("sig_derivs", sig_derivs)], dimension, degree,
              n_jobs, time_aug=time_aug, lead_lag=lead_lag, min_degree=1)
    in_term, out_term = _log_input(c, method, scalar_term)
    c.sig_term(1, out_term)
    g = c.empty(c.arrays[0].shape[-1])
    call(_core().convert_backprop, True, c.flat(0), c.flat(1), g, c.dim, c.degree,
         method, in_term, out_term, _tables(c, method), c.n_threads)
    return c.out(g)


def _combine_call(named, dimension, degree, n_jobs, time_aug, lead_lag):
    c = _Call(named, dimension, degree, n_jobs, time_aug=time_aug, lead_lag=lead_lag,
              min_degree=1)
    for i in range(len(named)):
        c.exact(i, log_sig_length(c.dim, c.degree), _ls_what(c))
    return c


def log_sig_combine(log_sig1, log_sig2, dimension, degree, *, time_aug=False,
                    lead_lag=False, n_jobs=1):
    """Combine log-signatures of two consecutive paths (truncated BCH product).

    With ``L1``, ``L2`` the Lie elements of the Lyndon-bracket coordinates (the output
    of :func:`sksig.log_sig` with ``method=2``), returns the coordinates of
    ``log(exp(L1) (x) exp(L2))``: the log-signature of the concatenated path. Level
    ``degree`` of every intermediate is only formed at the Lyndon words. Computed on
    the CPU.

    Parameters
    ----------
    log_sig1, log_sig2 : array-like or torch.Tensor of shape (..., n)
        Lyndon-bracket coordinates, ``n = log_sig_length(dimension, degree)``, with the
        same batch shape.
    dimension : int
        Dimension of the paths, >= 1.
    degree : int
        Truncation level, >= 1.
    time_aug, lead_lag : bool, default=False
        Whether the log-signatures were computed with these transforms.
    n_jobs : int, default=1
        CPU threads; None means 1, -1 all cores. Results do not depend on it.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., n)
        Lyndon-bracket coordinates of the combined log-signatures.

    Raises
    ------
    TypeError
        If an input is not a float array, or inputs mix kinds or dtypes.
    ValueError
        If a trailing length is wrong, the batch shapes differ, or an input has NaN
        or inf.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 2.0]])
    >>> l1, l2 = sksig.log_sig(x[:2], 3, method=2), sksig.log_sig(x[1:], 3, method=2)
    >>> np.allclose(sksig.log_sig_combine(l1, l2, 2, 3), sksig.log_sig(x, 3, method=2))
    True
    """
    c = _combine_call([("log_sig1", log_sig1), ("log_sig2", log_sig2)], dimension,
                      degree, n_jobs, time_aug, lead_lag)
    out = c.empty(log_sig_length(c.dim, c.degree))
    call(_core().log_sig_combine, c.flat(0), c.flat(1), out, c.dim, c.degree,
         lyndon_tables(c.dim, c.degree), c.n_threads)
    return c.out(out)


def log_sig_combine_backprop(deriv, ls1, ls2, dimension, degree, *, time_aug=False,
                             lead_lag=False, n_jobs=1):
    """Differentiate a scalar function of :func:`log_sig_combine`'s result.

    Computed on the CPU.

    Parameters
    ----------
    deriv : array-like or torch.Tensor of shape (..., n)
        Derivatives with respect to the combined log-signature.
    ls1, ls2 : array-like or torch.Tensor of shape (..., n)
        The inputs of :func:`log_sig_combine`.
    dimension : int
        Dimension of the paths, >= 1.
    degree : int
        Truncation level, >= 1.
    time_aug, lead_lag : bool, default=False
        As for :func:`log_sig_combine`.
    n_jobs : int, default=1
        CPU threads; None means 1, -1 all cores. Results do not depend on it.

    Returns
    -------
    grad_ls1 : ndarray or torch.Tensor of shape (..., n)
        Gradient with respect to ``ls1``.
    grad_ls2 : ndarray or torch.Tensor of shape (..., n)
        Gradient with respect to ``ls2``.

    Raises
    ------
    TypeError
        If an input is not a float array, or inputs mix kinds or dtypes.
    ValueError
        If a trailing length is wrong, the batch shapes differ, or an input has NaN
        or inf.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> z = np.zeros(3)
    >>> g1, g2 = sksig.log_sig_combine_backprop(np.ones(3), z, z, 2, 2)
    >>> g1
    array([1., 1., 1.])
    """
    c = _combine_call([("deriv", deriv), ("ls1", ls1), ("ls2", ls2)], dimension, degree,
                      n_jobs, time_aug, lead_lag)
    g1, g2 = c.empty(c.arrays[1].shape[-1]), c.empty(c.arrays[1].shape[-1])
    call(_core().log_sig_combine_backprop, c.flat(0), c.flat(1), c.flat(2), g1, g2,
         c.dim, c.degree, lyndon_tables(c.dim, c.degree), c.n_threads)
    return c.out(g1), c.out(g2)
