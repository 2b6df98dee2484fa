"""Branched signatures and branched log-signatures."""

import numpy as np

from sksig._array import (
    all_finite,
    as_array,
    as_path_batch,
    check_same_batch,
    goes_to_device,
    nonfinite_error,
    scalar_term_length,
    transformed_dim,
)
from sksig._dispatch import backend, cuda_arrays
from sksig._docs import fill_doc
from sksig._tree_tables import native_tables
from sksig._trees import branched_sig_length
from sksig._validation import check_bool, check_end_time, check_int, resolve_n_jobs

__all__ = [
    "branched_log_sig",
    "branched_log_sig_backprop",
    "branched_sig",
    "branched_sig_backprop",
    "branched_sig_to_log_sig",
    "branched_sig_to_log_sig_backprop",
    "prepare_branched_log_sig",
    "prepare_branched_sig",
]


def _path_args(degree, time_aug, lead_lag, end_time, planar, scalar_term, n_jobs, *,
               min_degree=0):
    """Validated arguments of the functions of paths:
    ``(degree, time_aug, lead_lag, end_time, planar, scalar_term, n_threads)``."""
    args = (check_int(degree, "degree", minimum=min_degree),
            check_bool(time_aug, "time_aug"), check_bool(lead_lag, "lead_lag"),
            check_end_time(end_time), check_bool(planar, "planar"),
            check_bool(scalar_term, "scalar_term"))
    return args + (resolve_n_jobs(n_jobs),)


def _correction(correction, batch, time_aug, lead_lag, degree, basepoint):
    """The validated correction of a CPU call (see sksig/_branched_correction.py), or
    None when absent or empty."""
    if correction is None:
        return None
    from sksig._branched_correction import check_correction

    if lead_lag:
        raise ValueError("correction cannot be combined with lead_lag=True")
    return check_correction(correction, batch.dim - time_aug, degree, batch, basepoint)


def _check_method(method, planar):
    """Resolve ``method`` (None -> 0 non-planar, 1 planar; 3 -> 2, the same
    coordinates, see :func:`branched_sig_to_log_sig`)."""
    if method is None:
        return 1 if planar else 0
    method = check_int(method, "method")
    if method > 3:
        raise ValueError(f"method must be 0, 1, 2 or 3, got {method}")
    if method and not planar:
        raise ValueError(
            f"method={method} needs planar=True; non-planar branched log-signatures "
            "only have method 0"
        )
    return min(method, 2)


def _zero_point_paths(path):
    """True for an array (not a ragged list) of paths with no points."""
    if isinstance(path, (list, tuple)):
        return False
    shape = getattr(path, "shape", None)
    return shape is not None and len(shape) >= 2 and shape[-2] == 0


def _branched_sig(path, degree, time_aug, lead_lag, end_time, planar, scalar_term,
                  n_threads, basepoint=None, correction=None):
    """(signatures (n_paths, n + scalar_term), batch_shape, caller, tables)."""
    if _zero_point_paths(path):
        array, caller = as_array(path, "path", min_ndim=2, device=True)
        if array.shape[-1] < 1:
            raise ValueError(
                f"path must have at least one channel, got shape {tuple(array.shape)}"
            )
        dim = transformed_dim(array.shape[-1], time_aug, lead_lag)
        tb = native_tables(dim, degree, planar)
        n_paths = int(np.prod(array.shape[:-2], dtype=np.int64))
        out = backend(caller).zeros((n_paths, tb.n + scalar_term), caller)
        out[:, :scalar_term] = 1
        return out, tuple(array.shape[:-2]), caller, tb
    batch = as_path_batch(path, "path", time_aug=time_aug, lead_lag=lead_lag,
                          end_time=end_time, n_threads=n_threads, basepoint=basepoint,
                          device=correction is None)  # corrections run on the host
    tb = native_tables(batch.dim, degree, planar)
    corr = _correction(correction, batch, time_aug, lead_lag, degree, basepoint)
    if corr is not None:
        from sksig._branched_correction import corrected_sig

        out = corrected_sig(batch, tb, corr, n_threads)
        if scalar_term:
            out = np.concatenate([np.ones_like(out[:, :1]), out], axis=1)
        return out, batch.batch_shape, batch.caller, tb
    compute = backend(batch.caller)
    out = compute.empty((batch.n_paths, tb.n + scalar_term), batch.caller)
    compute.branched_sig(batch.data, out, tb, scalar_term, n_threads)
    return out, batch.batch_shape, batch.caller, tb


@cuda_arrays
@fill_doc
def branched_sig(path, degree, *, time_aug=False, lead_lag=False, end_time=1.0,
                 planar=False, scalar_term=False, correction=None, basepoint=None,
                 n_jobs=1):
    """Branched (tree-indexed) signatures of piecewise-linear paths.

    Values of the tree-indexed iterated integrals on every tree (non-planar,
    Butcher-Connes-Kreimer) or every ordered forest of planar trees (planar,
    Munthe-Kaas-Wright) with 1..degree nodes, computed by Chen's identity over the
    segments.

    Parameters
    ----------
    {paths}
    degree : int
        Truncation degree (maximal number of nodes), >= 0.
    time_aug, lead_lag : bool, default=False
        Path transforms applied first (see :func:`sksig.transform_path`); the basis is
        then that of the transformed dimension.
    end_time : float, default=1.0
        Final value of the time channel.
    planar : bool, default=False
        Planar branched signature (ordered forests) instead of non-planar (trees).
    scalar_term : bool, default=False
        Include the leading constant 1.
    correction : array-like or None, default=None
        Per-segment corrections of levels 2 to m (m <= degree) on the chain trees
        (a root and one line of descendants; labels from the root down), added to
        each segment's increment before its local branched signature, which becomes
        the exponential of that sum in the group of branched signatures (as in
        pySigLib). Shape ``(C,)`` (every segment), ``(length - 1, C)`` (per segment)
        or ``batch_shape + (length - 1, C)``, with ``C = d**2 + ... + d**m`` over the
        path's own ``d`` channels (not a time channel); level k's entry for labels
        ``(i_1, ..., i_k)`` at ``i_1 d**(k-1) + ... + i_k`` after the lower levels.
        None or an empty array: no correction. CPU only, not with ``lead_lag``,
        ``basepoint`` or ragged lists; computed in numpy (meant for modest bases).
        sksig takes the exact exponential, so an all-zero correction changes
        nothing; non-planar, pySigLib 4.0.0 treats the exponential's powers as
        characters, which agrees up to degree 2 but not beyond (there even a zero
        correction moves its result).
    {basepoint_n_jobs}

    Returns
    -------
    ndarray or torch.Tensor of shape (..., branched_sig_length)
        Entries in the order of :func:`sksig.trees` for the transformed dimension
        (without its leading ``None`` unless ``scalar_term``). Paths with fewer than
        two points give zeros.

    Raises
    ------
    TypeError
        If ``path`` is not a float array or an argument has the wrong type.
    ValueError
        If ``path`` has a bad shape or NaN/inf, or ``degree`` is negative.
    {result_overflow}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> sksig.branched_sig(x, 2)
    array([1. , 1. , 0.5, 1. , 0. , 0.5])
    """
    degree, time_aug, lead_lag, end_time, planar, scalar_term, n_threads = _path_args(
        degree, time_aug, lead_lag, end_time, planar, scalar_term, n_jobs)
    out, batch_shape, caller, _ = _branched_sig(
        path, degree, time_aug, lead_lag, end_time, planar, scalar_term, n_threads,
        basepoint, correction
    )
    return caller.out(out.reshape(tuple(batch_shape) + tuple(out.shape[1:])))


@cuda_arrays
@fill_doc
def branched_sig_backprop(path, bsig, bsig_derivs, degree, *, time_aug=False,
                          lead_lag=False, end_time=1.0, planar=False, correction=None,
                          basepoint=None, n_jobs=1):
    """Compute the gradient of a scalar function of branched signatures in the paths.

    Given ``bsig = branched_sig(path, degree, ...)`` and ``bsig_derivs`` the
    derivatives ``dF/d bsig`` of a scalar ``F``, returns ``dF/d path``. The exact
    reverse of the forward pass: the segments are taken off ``bsig`` from the last one
    back (Chen's product with the segment run backwards, its inverse), while the
    adjoints of each Chen product and of the segment's values are accumulated; no
    intermediate signature is stored.

    Parameters
    ----------
    path : array-like of shape (..., length, dim), torch.Tensor or list of 2-D arrays
        The paths given to :func:`sksig.branched_sig`.
    bsig : array-like or torch.Tensor of shape (..., n) or (..., n + 1)
        Their branched signatures (with or without the scalar term), the starting
        point of the reverse pass.
    bsig_derivs : array-like or torch.Tensor, same shape as ``bsig``
        ``dF/d bsig``; a scalar term, if present, gets no gradient.
    degree : int
        Truncation degree used for ``bsig``, >= 0.
    time_aug, lead_lag : bool, default=False
        The transforms of the forward call.
    end_time : float, default=1.0
        Final value of the time channel.
    planar : bool, default=False
        Whether ``bsig`` is the planar branched signature.
    correction : array-like or None, default=None
        The correction of the forward call (see :func:`branched_sig`), a constant:
        it gets no gradient.
    {path_backprop_tail}
    ValueError
        If a shape does not fit the paths, ``degree`` and ``planar``, an input has NaN
        or inf, or ``degree`` is negative.
    {gradient_overflow}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> b = sksig.branched_sig(x, 2, planar=True)
    >>> sksig.branched_sig_backprop(x, b, np.ones_like(b), 2, planar=True)
    array([[-5., -5.],
           [ 0.,  0.],
           [ 5.,  5.]])
    """
    from sksig._log_sig import _cotangent

    degree, time_aug, lead_lag, end_time, planar, _, n_threads = _path_args(
        degree, time_aug, lead_lag, end_time, planar, False, n_jobs)
    if _zero_point_paths(path):  # no segment: no gradient
        array, caller = as_array(path, "path", min_ndim=2, device=True)
        return caller.out(backend(caller).zeros(array.shape, caller))
    batch = as_path_batch(path, "path", time_aug=time_aug, lead_lag=lead_lag,
                          end_time=end_time, n_threads=n_threads, basepoint=basepoint,
                          device=correction is None)  # corrections run on the host
    tb = native_tables(batch.dim, degree, planar)
    next_n = branched_sig_length(batch.dim, degree + 1, planar=planar)
    flat, scalar = _cotangent(bsig, "bsig", batch, tb.n, None, next_n)
    derivs, _ = _cotangent(bsig_derivs, "bsig_derivs", batch, tb.n, scalar)
    corr = _correction(correction, batch, time_aug, lead_lag, degree, basepoint)
    if corr is not None:
        from sksig._branched_correction import corrected_sig_backprop

        grad = corrected_sig_backprop(batch, tb, corr, derivs[:, scalar:], n_threads)
        return batch.grad_to_input(grad, n_threads)
    compute = backend(batch.caller)
    grad = compute.zeros(batch.data.shape, batch.caller)
    compute.branched_sig_backprop(batch.data, flat, derivs, grad, tb, scalar, n_threads)
    return batch.grad_to_input(grad, n_threads)


def bsig_has_scalar(shape, tb, scalar_term):
    """Whether ``bsig`` of this shape has the scalar entry first (see
    :func:`sksig._array.scalar_term_length`)."""
    if scalar_term is not None:
        scalar_term = check_bool(scalar_term, "scalar_term")
    # n + 1 is also the length of the next degree when that degree adds a single
    # tree (dimension 1 at degree 1): then only an explicit scalar_term decides.
    next_n = branched_sig_length(tb.d, tb.degree + 1, planar=tb.planar)
    return scalar_term_length(shape, "bsig", tb.n, scalar_term, next_length=next_n)


def _bsig_input(bsig, tb, scalar_term, check_finite=True):
    """Validate ``bsig`` (trailing length n or n + 1, see :func:`bsig_has_scalar`;
    NaN/inf only if ``check_finite``).

    Returns ``(flat, had_scalar, caller, batch_shape)`` with ``flat`` C-contiguous of
    shape (batch, n + had_scalar).
    """
    array, caller = as_array(bsig, "bsig", min_ndim=1, device=True,
                             check_finite=check_finite)
    had_scalar = bsig_has_scalar(tuple(array.shape), tb, scalar_term)
    batch = int(np.prod(array.shape[:-1], dtype=np.int64))  # -1 fails at width 0
    return (array.reshape((batch, tb.n + had_scalar)), had_scalar, caller,
            tuple(array.shape[:-1]))


def _log_args(dimension, degree, time_aug, lead_lag, planar, method):
    dimension = check_int(dimension, "dimension")
    degree = check_int(degree, "degree")
    time_aug = check_bool(time_aug, "time_aug")
    lead_lag = check_bool(lead_lag, "lead_lag")
    planar = check_bool(planar, "planar")
    method = _check_method(method, planar)
    return transformed_dim(dimension, time_aug, lead_lag), degree, planar, method


def _log(flat, had_scalar, tb, method, scalar_out, n_threads, caller):
    """Branched log of (batch, n + had_scalar) values in the layout of ``method``
    (methods 1 and 2: only the Lyndon entries, stored straight into the output). The
    CPU core raises FloatingPointError on an overflow: no scan of the result needed."""
    compute = backend(caller)
    if tb.n == 0:  # degree or dimension 0: the log is 0 (method 0) or empty
        return compute.zeros((flat.shape[0], int(scalar_out) if method == 0 else 0),
                             caller)
    width = tb.n + scalar_out if method == 0 else tb.lyndon()["positions"].shape[0]
    out = compute.empty((flat.shape[0], width), caller)
    compute.branched_log(flat, out, tb, method, had_scalar, scalar_out, n_threads)
    return out


@cuda_arrays
def branched_sig_to_log_sig(bsig, dimension, degree, *, time_aug=False, lead_lag=False,
                            planar=False, method=None, scalar_term=None, n_jobs=1):
    """Branched log-signatures from branched signatures.

    The logarithm ``sum_k (-1)^(k-1)/k (X - eps)^(*k)`` in the Hopf algebra of the
    branched signature, truncated at ``degree`` nodes. The scalar entry of ``bsig``,
    if present, is ignored (taken as 1). Any vector is accepted, not only signatures
    of paths.

    Parameters
    ----------
    bsig : array-like of shape (..., n) or (..., n + 1), or torch.Tensor
        Branched signatures, ``n = branched_sig_length(dim', degree, planar=planar)``.
    dimension : int
        Dimension of the original paths (>= 0); the flags give the transformed one.
    degree : int
        Truncation degree, >= 0 (degree 0 gives the empty log, or its 0 scalar entry).
    time_aug, lead_lag : bool, default=False
        Whether ``bsig`` was computed with these path transforms.
    planar : bool, default=False
        Planar branched signatures.
    method : int or None, default=None
        0: the log on every basis element (same layout as ``bsig``, a leading 0 when
        ``bsig`` has the scalar entry); 1: its values at the Lyndon forests; 2:
        coordinates in the Lyndon bracket basis; 3: the same coordinates as 2 (the
        name pySigLib gives them when it builds them by one Baker-Campbell-Hausdorff
        update per segment; the values are equal). None means 0 when non-planar and
        1 when planar; methods 1 to 3 need ``planar=True``.
    scalar_term : bool or None, default=None
        Whether ``bsig`` has the scalar entry first: True demands ``n + 1`` entries,
        False ``n``. None infers it from the length, except where ``n + 1`` is also
        the length of the next degree (dimension 1, degree 1), which is refused as
        ambiguous.
    n_jobs : int, default=1
        CPU threads; None means 1, -1 all cores.

    Returns
    -------
    ndarray or torch.Tensor
        Shape ``(..., n)`` or ``(..., n + 1)`` for method 0, ``(...,
        branched_log_sig_length(dim', degree, planar=True))`` for methods 1 to 3.

    Raises
    ------
    TypeError, ValueError
        Bad argument types, a trailing length other than n or n + 1 (or not the one
        ``scalar_term`` asks for, or an ambiguous one), NaN/inf, an unsupported
        method.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> sksig.branched_sig_to_log_sig(np.array([1.0, 1.0, 0.5, 1.0, 0.0, 0.5]), 2, 2)
    array([ 1. ,  1. ,  0. ,  0.5, -0.5,  0. ])
    """
    dim, degree, planar, method = _log_args(dimension, degree, time_aug, lead_lag,
                                            planar, method)
    n_threads = resolve_n_jobs(n_jobs)
    tb = native_tables(dim, degree, planar)
    lazy = not goes_to_device(bsig)  # the CPU core checks the entries it reads
    flat, had_scalar, caller, batch_shape = _bsig_input(bsig, tb, scalar_term,
                                                        check_finite=not lazy)
    out = _core_checks_finite(
        lambda: _log(flat, had_scalar, tb, method, had_scalar, n_threads, caller),
        [("bsig", flat, had_scalar)] if lazy else [])
    return caller.out(out.reshape(tuple(batch_shape) + tuple(out.shape[1:])),
                      checked=True)


def _core_checks_finite(run, inputs):
    """``run()``, a call of a CPU branched log core, which tests the input entries it
    reads for NaN/inf as they pass through registers, and raises FloatingPointError
    for them as for an overflowed result (a separate pass over the inputs before the
    call cost a sixth to a quarter of it). ``inputs``: ``(name, flat, scalar)`` of the
    arrays the core reads, whose scalar entries (column 0 where ``scalar``) it ignores
    and which are checked here; the arrays are scanned again only on that error, to
    report the input's fault instead of an overflow."""
    for name, flat, scalar in inputs:
        if scalar and not all_finite(flat[:, 0]):
            raise nonfinite_error(name)
    try:
        return run()
    except FloatingPointError:
        for name, flat, _ in inputs:
            if not all_finite(flat):
                raise nonfinite_error(name) from None
        raise


@cuda_arrays
@fill_doc
def branched_log_sig(path, degree, *, time_aug=False, lead_lag=False, end_time=1.0,
                     planar=False, scalar_term=False, method=None, correction=None,
                     basepoint=None, n_jobs=1):
    """Branched log-signatures of piecewise-linear paths.

    Equal to ``branched_sig_to_log_sig(branched_sig(path, ...), ...)``.

    Parameters
    ----------
    {paths}
    degree : int
        Truncation degree (maximal number of nodes), >= 0.
    {transforms_end_time}
    planar : bool, default=False
        Planar branched log-signature.
    scalar_term : bool, default=False
        Method 0 only: include a leading 0 for the scalar term.
    method : int or None, default=None
        As in :func:`branched_sig_to_log_sig` (None: 0 non-planar, 1 planar).
    correction : array-like or None, default=None
        Per-segment corrections, as in :func:`branched_sig` (the log is taken of the
        corrected branched signature).
    {basepoint_n_jobs}

    Returns
    -------
    ndarray or torch.Tensor of shape (..., length_out)
        The branched log-signatures (the layout of :func:`branched_sig_to_log_sig`).

    Raises
    ------
    TypeError, ValueError
        Bad argument types or values, bad path shapes, NaN/inf.
    {result_overflow}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> path = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> sksig.branched_log_sig(path, 2, planar=True)
    array([ 1. ,  1. ,  0.5,  0. ,  0.5, -0.5,  0. ])
    """
    degree, time_aug, lead_lag, end_time, planar, scalar_term, n_threads = _path_args(
        degree, time_aug, lead_lag, end_time, planar, scalar_term, n_jobs)
    method = _check_method(method, planar)
    bsig, batch_shape, caller, tb = _branched_sig(
        path, degree, time_aug, lead_lag, end_time, planar, False, n_threads, basepoint,
        correction
    )
    out = _log(bsig, False, tb, method, scalar_term, n_threads, caller)
    return caller.out(out.reshape(tuple(batch_shape) + tuple(out.shape[1:])),
                      checked=True)


@fill_doc
def branched_log_sig_backprop(path, blogsig, blogsig_derivs, degree, *, time_aug=False,
                              lead_lag=False, end_time=1.0, planar=False,
                              scalar_term=False, method=None, correction=None,
                              basepoint=None, n_jobs=1):
    """Compute the gradient of a function of branched log-signatures in the paths.

    The adjoint of :func:`branched_log_sig`: the branched signatures are recomputed,
    the derivatives pulled back through the log (the reverse pass of
    :func:`branched_sig_to_log_sig_backprop`) and then through the signature (that of
    :func:`branched_sig_backprop`), both exact. Computed on the CPU (torch tensors,
    CUDA ones included, are copied to the host and the gradient returned on their
    device).

    Parameters
    ----------
    path : array-like of shape (..., length, dim), torch.Tensor or list of 2-D arrays
        The paths given to :func:`sksig.branched_log_sig`.
    blogsig : array-like or torch.Tensor
        Their branched log-signatures, the forward's output; only its shape is used
        (the reverse pass needs the signatures, which are recomputed).
    blogsig_derivs : array-like or torch.Tensor, shaped like ``blogsig``
        ``dF/d blogsig``; a method 0 scalar entry, if present, gets no gradient.
    degree : int
        Truncation degree of the forward call, >= 0.
    time_aug, lead_lag : bool, default=False
        As in the forward call.
    end_time : float, default=1.0
        As in the forward call.
    planar : bool, default=False
        As in the forward call.
    scalar_term : bool, default=False
        As in the forward call (method 0 only).
    method : int or None, default=None
        As in the forward call.
    correction : array-like or None, default=None
        The correction of the forward call (see :func:`branched_sig`), a constant:
        it gets no gradient.
    {basepoint_backprop_n_jobs}

    {returns_path_gradient}

    Raises
    ------
    TypeError, ValueError
        Bad argument types or values, shapes that do not fit the forward call,
        NaN or inf.
    {gradient_overflow}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.cumsum([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], axis=0)
    >>> ls = sksig.branched_log_sig(x, 2, method=0)
    >>> sksig.branched_log_sig_backprop(x, ls, np.eye(6)[4], 2, method=0)
    array([[ 0.5,  0. ],
           [-0.5,  0.5],
           [ 0. , -0.5]])
    """
    degree, time_aug, lead_lag, end_time, planar, scalar_term, n_threads = _path_args(
        degree, time_aug, lead_lag, end_time, planar, scalar_term, n_jobs)
    method = _check_method(method, planar)
    if _zero_point_paths(path):  # no segment: no gradient
        array, caller = as_array(path, "path", min_ndim=2)
        return caller.out(np.zeros_like(array))
    batch = as_path_batch(path, "path", time_aug=time_aug, lead_lag=lead_lag,
                          end_time=end_time, n_threads=n_threads, basepoint=basepoint)
    tb = native_tables(batch.dim, degree, planar)
    if method == 0:
        length = tb.n + scalar_term
    else:
        length = tb.lyndon()["positions"].shape[0] if tb.n else 0
    want = tuple(batch.batch_shape) + (length,)
    arrays = []
    for name, value in (("blogsig", blogsig), ("blogsig_derivs", blogsig_derivs)):
        array, _ = as_array(value, name, caller=batch.caller, min_ndim=1)
        if array.shape != want:
            raise ValueError(f"{name} must have shape {want} (that of the forward's "
                             f"output), got {array.shape}")
        arrays.append(array)
    derivs = np.ascontiguousarray(arrays[1].reshape((batch.n_paths, length)))
    grad = np.zeros_like(batch.data)
    if tb.n == 0:
        return batch.grad_to_input(grad, n_threads)
    compute = backend(batch.caller)  # the CPU backend: the batch is on the host
    corr = _correction(correction, batch, time_aug, lead_lag, degree, basepoint)
    if corr is not None:
        from sksig._branched_correction import corrected_sig, corrected_sig_backprop

        bsig = np.ascontiguousarray(corrected_sig(batch, tb, corr, n_threads))
    else:
        bsig = np.empty((batch.n_paths, tb.n), batch.data.dtype)
        compute.branched_sig(batch.data, bsig, tb, False, n_threads)
    bsig_derivs = np.empty_like(bsig)
    compute.branched_log_backprop(bsig, derivs, bsig_derivs, tb, method, False,
                                  method == 0 and scalar_term, n_threads)
    if corr is not None:
        grad = corrected_sig_backprop(batch, tb, corr, bsig_derivs, n_threads)
        return batch.grad_to_input(grad, n_threads)
    compute.branched_sig_backprop(batch.data, bsig, bsig_derivs, grad, tb, False,
                                  n_threads)
    return batch.grad_to_input(grad, n_threads)

@cuda_arrays
def branched_sig_to_log_sig_backprop(bsig, blogsig_derivs, dimension, degree, *,
                                     time_aug=False, lead_lag=False, planar=False,
                                     method=None, scalar_term=None, n_jobs=1):
    """Backpropagate through :func:`branched_sig_to_log_sig`.

    Parameters
    ----------
    bsig : array-like of shape (..., n) or (..., n + 1), or torch.Tensor
        The branched signatures of the forward pass.
    blogsig_derivs : array-like or torch.Tensor
        Gradient of a scalar function with respect to the output of the forward pass,
        with its shape: method 0, the trailing length of ``bsig`` (the gradient at
        a scalar entry is ignored); methods 1 to 3, the log-signature length.
    dimension, degree : int
        As in the forward pass.
    time_aug, lead_lag, planar : bool, default=False
        As in the forward pass.
    method : int or None, default=None
        As in the forward pass.
    scalar_term : bool or None, default=None
        As in the forward pass.
    n_jobs : int, default=1
        CPU threads; None means 1, -1 all cores.

    Returns
    -------
    ndarray or torch.Tensor shaped like ``bsig``
        The gradient with respect to ``bsig`` (0 at the scalar entry, if present).

    Raises
    ------
    TypeError, ValueError
        Bad argument types, shapes, batch shapes, dtypes, kinds or NaN/inf.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> bsig = np.array([1.0, 1.0, 0.5, 1.0, 0.0, 0.5])
    >>> sksig.branched_sig_to_log_sig_backprop(bsig, np.ones(6), 2, 2)
    array([-1., -1.,  1.,  1.,  1.,  1.])
    """
    dim, degree, planar, method = _log_args(dimension, degree, time_aug, lead_lag,
                                            planar, method)
    n_threads = resolve_n_jobs(n_jobs)
    tb = native_tables(dim, degree, planar)
    lazy = not goes_to_device(bsig)  # the CPU core checks the entries it reads
    flat, had_scalar, caller, batch_shape = _bsig_input(bsig, tb, scalar_term,
                                                        check_finite=not lazy)
    derivs, _ = as_array(blogsig_derivs, "blogsig_derivs", caller=caller, min_ndim=1,
                         check_finite=not lazy)
    check_same_batch(batch_shape, derivs.shape[:-1], "bsig", "blogsig_derivs")
    scalar_grad = _check_log_derivs_length(tb, method, tuple(derivs.shape), had_scalar)
    derivs = derivs.reshape((flat.shape[0], derivs.shape[-1]))
    compute = backend(caller)

    def run():
        if tb.n == 0:  # degree or dimension 0: a constant log, no gradient
            return compute.zeros(flat.shape, caller)
        grad = compute.empty(flat.shape, caller)
        compute.branched_log_backprop(flat, derivs, grad, tb, method, had_scalar,
                                      scalar_grad, n_threads)
        return grad

    inputs = [("bsig", flat, had_scalar), ("blogsig_derivs", derivs, scalar_grad)]
    grad = _core_checks_finite(run, inputs if lazy else [])
    return caller.out(grad.reshape(tuple(batch_shape) + tuple(grad.shape[1:])),
                      checked=True)


def _check_log_derivs_length(tb, method, shape, had_scalar):
    """Check the trailing length of blogsig_derivs: that of the forward's output (for
    method 0, ``bsig``'s). Returns whether it has a scalar entry."""
    length = shape[-1]
    if method == 0:
        if length != tb.n + had_scalar:
            raise ValueError(
                f"blogsig_derivs must have trailing length {tb.n + had_scalar} (that "
                f"of the method 0 output, {'with' if had_scalar else 'without'} the "
                f"scalar term like bsig), got shape {tuple(shape)}"
            )
        return had_scalar
    expected = tb.lyndon()["positions"].shape[0] if tb.n else 0
    if length != expected:
        raise ValueError(
            f"blogsig_derivs must have trailing length {expected} (the method "
            f"{method} log-signature length), got shape {tuple(shape)}"
        )
    return False


def _check_prepare(dimension, degree, time_aug, lead_lag, planar, use_disk, device):
    dimension = check_int(dimension, "dimension")
    degree = check_int(degree, "degree")
    time_aug = check_bool(time_aug, "time_aug")
    lead_lag = check_bool(lead_lag, "lead_lag")
    planar = check_bool(planar, "planar")
    check_bool(use_disk, "use_disk")
    if device not in ("cpu", "cuda", "both"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'both', got {device!r}")
    return transformed_dim(dimension, time_aug, lead_lag), degree, planar


def _prepare_gpu(device, tb, parts):
    """Upload table parts to the current CUDA device when device asks for it and the
    CUDA cores are available (CPU-only machines skip this)."""
    from sksig import cuda

    if device != "cpu" and cuda.is_available():
        from sksig.cuda import _tables

        _tables.prepare_branched(tb, parts)


_PREPARE_OPTIONS = """
    use_disk : bool, default=False
        Accepted for compatibility; tables are kept in memory.
    time_aug, lead_lag : bool, default=False
        Path transforms (the tables are those of the transformed dimension).
    planar : bool, default=False
        Planar tables.
    device : {"both", "cpu", "cuda"}, default="both"
        Where to prepare: "cuda" and "both" also upload the tables to the current CUDA
        device when sksig's CUDA cores are available (elsewhere they are skipped)."""


@fill_doc(prepare_options=_PREPARE_OPTIONS)
def prepare_branched_sig(dimension, degree, *, use_disk=False, time_aug=False,
                         lead_lag=False, planar=False, device="both"):
    """Build and cache the tables of :func:`branched_sig` ahead of time (optional).

    sksig builds them lazily on first use; calling this only moves that cost.

    Parameters
    ----------
    dimension : int
        Original path dimension, >= 0.
    degree : int
        Truncation degree, >= 0.
    {prepare_options}

    {returns_tables_cached}

    Raises
    ------
    TypeError, ValueError
        Bad argument types or values.

    Examples
    --------
    >>> import sksig
    >>> sksig.prepare_branched_sig(2, 4, planar=True)
    """
    dim, degree, planar = _check_prepare(dimension, degree, time_aug, lead_lag, planar,
                                         use_disk, device)
    tb = native_tables(dim, degree, planar)
    tb.native()
    _prepare_gpu(device, tb, ("gathers",))


@fill_doc(prepare_options=_PREPARE_OPTIONS)
def prepare_branched_log_sig(dimension, degree, method=None, *, use_disk=False,
                             time_aug=False, lead_lag=False, planar=False,
                             device="both"):
    """Build and cache the tables of the branched log-signature (optional).

    Parameters
    ----------
    dimension : int
        Original path dimension, >= 0.
    degree : int
        Truncation degree (maximal number of nodes), >= 0.
    method : int or None, default=None
        As in :func:`branched_sig_to_log_sig`.
    {prepare_options}

    {returns_tables_cached}

    Raises
    ------
    TypeError, ValueError
        Bad argument types or values (e.g. method 1 with ``planar=False``).

    Examples
    --------
    >>> import sksig
    >>> sksig.prepare_branched_log_sig(2, 3, 2, planar=True)
    """
    dim, degree, planar = _check_prepare(dimension, degree, time_aug, lead_lag, planar,
                                         use_disk, device)
    method = _check_method(method, planar)
    tb = native_tables(dim, degree, planar)
    tb.native()
    if method and tb.n:
        tb.lyndon()
    levels = "levels_lyndon" if method else "levels_full"
    _prepare_gpu(device, tb, ("gathers", levels) + (("lyndon",) if method else ()))

