"""The branched-signature group on given vectors: Chen products, straight segments.

Branched signatures multiply like path signatures: the signature of a path followed
by another is the product of theirs in the dual of the coproduct (Butcher-Connes-Kreimer
for trees, Munthe-Kaas-Wright for planar forests). These functions apply that product
to signatures the caller already has (combine two, append or prepend one straight
segment, or take the signature of one segment), each with its exact adjoint, computed
by the native core on the CPU.
"""

import textwrap

import numpy as np

from sksig._array import as_array, check_same_batch, check_trailing_length
from sksig._branched import _check_method, bsig_has_scalar
from sksig._core import _backend as _cpu
from sksig._docs import fill_doc, joined
from sksig._tree_tables import native_tables
from sksig._validation import check_bool, check_int, resolve_n_jobs

# Forward functions, then their backprops.
__all__ = [
    "branched_log_sig_join",
    "branched_sig_combine",
    "branched_sig_join",
    "linear_branched_log_sig",
    "linear_branched_sig",
    "branched_log_sig_join_backprop",
    "branched_sig_combine_backprop",
    "branched_sig_join_backprop",
    "linear_branched_log_sig_backprop",
    "linear_branched_sig_backprop",
]

_DOC = {
    "basis": """
        dimension : int
            Dimension of the basis (the path dimension after any transform), >= 0.
        degree : int
            Truncation degree (maximal number of nodes), >= 0.""",
    "raises_join": """
        Raises
        ------
        TypeError, ValueError
            Bad argument types, shapes or batch shapes, NaN or inf.
        FloatingPointError
            If the result overflows.""",
    "raises_derivs": """
        Raises
        ------
        TypeError, ValueError
            As in the forward call, and if ``derivs`` is not shaped like the forward
            call's result.""",
}


def _as_forward(like, inputs, *entries):
    """``fill_doc`` for a backprop: ``{parameters}`` is its Parameters section,
    ``derivs`` (shaped ``like``), then the entries it shares with its forward call
    (each "As in the forward call."): the inputs, dimension and degree, ``entries``,
    then n_jobs."""
    entries = (inputs, "dimension, degree : int", *entries)
    forward = "".join(f"\n{entry}\n    As in the forward call." for entry in entries)
    derivs = textwrap.fill("Derivatives of a scalar ``F`` with respect to the result, "
                           f"shaped like {like}.", 80, subsequent_indent="    ")
    params = ("Parameters\n----------\nderivs : array-like or torch.Tensor\n    "
              f"{derivs}{forward}\n{joined('n_jobs')}")
    return fill_doc(**_DOC, parameters=params)


def _basis(dimension, degree, planar, n_jobs):
    """(tables, n_threads) of validated basis arguments."""
    dimension = check_int(dimension, "dimension")
    degree = check_int(degree, "degree")
    planar = check_bool(planar, "planar")
    return native_tables(dimension, degree, planar), resolve_n_jobs(n_jobs)


def _bsig(bsig, name, tb, scalar_term, caller=None):
    """(array, caller, had_scalar) of a branched-signature argument."""
    array, caller = as_array(bsig, name, caller=caller, min_ndim=1)
    try:
        had_scalar = bsig_has_scalar(array.shape, tb, scalar_term)
    except ValueError as err:  # name the argument, not "bsig"
        raise ValueError(str(err).replace("bsig", name, 1)) from None
    return array, caller, had_scalar


def _same_format(shape1, shape2, s1, s2, name1, name2):
    check_same_batch(shape1[:-1], shape2[:-1], name1, name2)
    if s1 != s2:
        raise ValueError(
            f"{name1} and {name2} must both have the scalar term or both not, got "
            f"trailing lengths {shape1[-1]} and {shape2[-1]}"
        )


def _displacement(displacement, tb, caller=None, batch_shape=None):
    """(rows (batch, dim), caller, batch_shape) of a displacement argument."""
    array, caller = as_array(displacement, "displacement", caller=caller, min_ndim=1)
    check_trailing_length(array.shape, "displacement", tb.d,
                          f" (the dimension {tb.d})")
    if batch_shape is not None:
        check_same_batch(batch_shape, array.shape[:-1], "bsig", "displacement")
    rows = int(np.prod(array.shape[:-1], dtype=np.int64))
    return array.reshape((rows, tb.d)), caller, array.shape[:-1]


def _rows(array, width):
    rows = int(np.prod(array.shape[:-1], dtype=np.int64))
    return np.ascontiguousarray(array.reshape((rows, width)))


@fill_doc(**_DOC)
def branched_sig_combine(bsig1, bsig2, dimension, degree, *, planar=False,
                         scalar_term=None, n_jobs=1):
    """Multiply two branched signatures by Chen's product.

    If ``bsig1`` is the branched signature of a path ending where a second path
    starts, and ``bsig2`` that of the second path, the result is the branched
    signature of the two paths run one after the other, truncated at ``degree``
    nodes. Computed on the CPU (torch tensors are accepted and returned on their
    device).

    Parameters
    ----------
    bsig1, bsig2 : array-like or torch.Tensor of shape (..., n) or (..., n + 1)
        Branched signatures of the same batch shape and format, ``n =
        branched_sig_length(dimension, degree, planar=planar)``. A scalar entry, if
        present, is read as 1.
    {basis}
    planar : bool, default=False
        Planar branched signatures (ordered forests).
    scalar_term : bool or None, default=None
        Whether the inputs have the scalar entry first; None infers it from their
        length (see :func:`sksig.branched_sig_to_log_sig`).
    {n_jobs}

    Returns
    -------
    ndarray or torch.Tensor
        The product, shaped like ``bsig1`` (a scalar entry, if present, is 1).

    Raises
    ------
    TypeError, ValueError
        Bad argument types, lengths that fit neither ``n`` nor ``n + 1``, inputs of
        different batch shapes, formats, kinds or dtypes, NaN or inf.
    FloatingPointError
        If the product overflows.

    See Also
    --------
    branched_sig_join : The product with one straight segment.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> a = sksig.branched_sig(x[:2], 2)
    >>> b = sksig.branched_sig(x[1:], 2)
    >>> sksig.branched_sig_combine(a, b, 2, 2)
    array([1. , 1. , 0.5, 1. , 0. , 0.5])
    """
    tb, n_threads = _basis(dimension, degree, planar, n_jobs)
    a, caller, s1 = _bsig(bsig1, "bsig1", tb, scalar_term)
    b, _, s2 = _bsig(bsig2, "bsig2", tb, scalar_term, caller)
    _same_format(a.shape, b.shape, s1, s2, "bsig1", "bsig2")
    width, shape = tb.n + s1, a.shape
    a, b = _rows(a, width), _rows(b, width)
    out = np.empty_like(a)
    _cpu.branched_combine(a, b, out, tb, s1, n_threads)
    return caller.out(out.reshape(shape))


@_as_forward("it", "bsig1, bsig2 : array-like or torch.Tensor",
             "planar : bool, default=False", "scalar_term : bool or None, default=None")
def branched_sig_combine_backprop(derivs, bsig1, bsig2, dimension, degree, *,
                                  planar=False, scalar_term=None, n_jobs=1):
    """Backpropagate through :func:`branched_sig_combine`.

    {parameters}

    Returns
    -------
    tuple of two ndarrays or torch.Tensors
        ``(dF/d bsig1, dF/d bsig2)``, shaped like the inputs (0 at a scalar entry).

    {raises_derivs}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> a = sksig.linear_branched_sig(np.array([1.0]), 1, 2)
    >>> sksig.branched_sig_combine_backprop(np.array([0.0, 1.0]), a, a, 1, 2)
    (array([1., 1.]), array([1., 1.]))
    """
    tb, n_threads = _basis(dimension, degree, planar, n_jobs)
    a, caller, s1 = _bsig(bsig1, "bsig1", tb, scalar_term)
    b, _, s2 = _bsig(bsig2, "bsig2", tb, scalar_term, caller)
    g, _ = as_array(derivs, "derivs", caller=caller, min_ndim=1)
    _same_format(a.shape, b.shape, s1, s2, "bsig1", "bsig2")
    if g.shape != a.shape:
        raise ValueError(f"derivs must have the shape of the product {a.shape}, got "
                         f"{g.shape}")
    width = tb.n + s1
    shape = a.shape
    a, b, g = _rows(a, width), _rows(b, width), _rows(g, width)
    ga, gb = np.empty_like(a), np.empty_like(a)
    _cpu.branched_combine_backprop(a, b, g, ga, gb, tb, s1, n_threads)
    return caller.out(ga.reshape(shape)), caller.out(gb.reshape(shape))


@fill_doc(**_DOC)
def branched_sig_join(bsig, displacement, dimension, degree, *, planar=False,
                      prepend=False, scalar_term=None, n_jobs=1):
    """Append (or prepend) a straight segment to branched signatures.

    The result is the branched signature of the path extended at its end (at its
    start with ``prepend=True``) by a straight segment of increment
    ``displacement``: ``bsig`` times (or divided into) the segment's signature by
    Chen's product. Computed on the CPU (torch tensors are accepted and returned on
    their device).

    Parameters
    ----------
    bsig : array-like or torch.Tensor of shape (..., n) or (..., n + 1)
        Branched signatures, ``n = branched_sig_length(dimension, degree,
        planar=planar)``; a scalar entry, if present, is read as 1.
    displacement : array-like or torch.Tensor of shape (..., dimension)
        The segments' increments, with the batch shape, kind and dtype of ``bsig``.
    {basis}
    planar : bool, default=False
        Planar branched signatures.
    prepend : bool, default=False
        Put the segment before the path instead of after it.
    scalar_term : bool or None, default=None
        Whether ``bsig`` has the scalar entry first; None infers it from the length.
    {n_jobs}

    Returns
    -------
    ndarray or torch.Tensor
        The extended signatures, shaped like ``bsig``.

    {raises_join}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> a = sksig.branched_sig(np.array([[0.0, 0.0], [1.0, 0.0]]), 2)
    >>> sksig.branched_sig_join(a, np.array([0.0, 1.0]), 2, 2)
    array([1. , 1. , 0.5, 1. , 0. , 0.5])
    """
    prepend = check_bool(prepend, "prepend")
    tb, n_threads = _basis(dimension, degree, planar, n_jobs)
    x, caller, scalar = _bsig(bsig, "bsig", tb, scalar_term)
    v, _, _ = _displacement(displacement, tb, caller, x.shape[:-1])
    shape = x.shape
    x = _rows(x, tb.n + scalar)
    out = np.empty_like(x)
    _cpu.branched_join(x, np.ascontiguousarray(v), out, tb, scalar, prepend, n_threads)
    return caller.out(out.reshape(shape))


@_as_forward("``bsig``", "bsig, displacement : array-like or torch.Tensor",
             "planar, prepend : bool, default=False",
             "scalar_term : bool or None, default=None")
def branched_sig_join_backprop(derivs, bsig, displacement, dimension, degree, *,
                               planar=False, prepend=False, scalar_term=None, n_jobs=1):
    """Backpropagate through :func:`branched_sig_join`.

    {parameters}

    Returns
    -------
    tuple of two ndarrays or torch.Tensors
        ``(dF/d bsig, dF/d displacement)`` (0 at a scalar entry).

    {raises_derivs}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> a = sksig.linear_branched_sig(np.array([1.0]), 1, 2)
    >>> sksig.branched_sig_join_backprop(np.array([0.0, 1.0]), a, np.array([2.0]), 1, 2)
    (array([2., 1.]), array([3.]))
    """
    prepend = check_bool(prepend, "prepend")
    tb, n_threads = _basis(dimension, degree, planar, n_jobs)
    x, caller, scalar = _bsig(bsig, "bsig", tb, scalar_term)
    v, _, _ = _displacement(displacement, tb, caller, x.shape[:-1])
    g, _ = as_array(derivs, "derivs", caller=caller, min_ndim=1)
    if g.shape != x.shape:
        raise ValueError(f"derivs must have the shape of bsig {x.shape}, got {g.shape}")
    shape, vshape = x.shape, tuple(x.shape[:-1]) + (tb.d,)
    x, g, v = _rows(x, tb.n + scalar), _rows(g, tb.n + scalar), np.ascontiguousarray(v)
    gx, gv = np.empty_like(x), np.zeros_like(v)
    _cpu.branched_join_backprop(x, v, g, gx, gv, tb, scalar, prepend, n_threads)
    return caller.out(gx.reshape(shape)), caller.out(gv.reshape(vshape))


@fill_doc(**_DOC)
def linear_branched_sig(displacement, dimension, degree, *, planar=False,
                        scalar_term=False, n_jobs=1):
    """Branched signatures of straight segments from the origin.

    The value on a tree (or planar forest) is the product of the increments over its
    node labels divided by the tree factorial (its planar analogue): the branched
    signature of the two-point path ``[0, displacement]``. Computed on the CPU (torch
    tensors are accepted and returned on their device).

    Parameters
    ----------
    displacement : array-like or torch.Tensor of shape (..., dimension)
        The segments' increments.
    {basis}
    planar : bool, default=False
        Planar branched signatures.
    scalar_term : bool, default=False
        Include the leading constant 1.
    {n_jobs}

    Returns
    -------
    ndarray or torch.Tensor of shape (..., branched_sig_length)
        In the order of :func:`sksig.trees`.

    Raises
    ------
    TypeError, ValueError
        Bad argument types, a trailing length other than ``dimension``, NaN or inf.
    FloatingPointError
        If the result overflows.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> sksig.linear_branched_sig(np.array([2.0]), 1, 3)
    array([2.        , 2.        , 2.66666667, 1.33333333])
    """
    scalar = check_bool(scalar_term, "scalar_term")
    tb, n_threads = _basis(dimension, degree, planar, n_jobs)
    v, caller, batch_shape = _displacement(displacement, tb)
    v = np.ascontiguousarray(v)
    out = np.empty((v.shape[0], tb.n + scalar), v.dtype)
    if tb.d == 0:
        out[:] = 1
    else:
        _cpu.branched_linear(v, out, tb, scalar, n_threads)
    return caller.out(out.reshape(tuple(batch_shape) + out.shape[1:]))


@_as_forward("it",
             "displacement : array-like or torch.Tensor of shape (..., dimension)",
             "planar, scalar_term : bool, default=False")
def linear_branched_sig_backprop(derivs, displacement, dimension, degree, *,
                                 planar=False, scalar_term=False, n_jobs=1):
    """Backpropagate through :func:`linear_branched_sig`.

    {parameters}

    Returns
    -------
    ndarray or torch.Tensor
        ``dF/d displacement``, shaped like ``displacement``.

    {raises_derivs}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> sksig.linear_branched_sig_backprop(np.ones(2), np.array([2.0]), 1, 2)
    array([3.])
    """
    scalar = check_bool(scalar_term, "scalar_term")
    tb, n_threads = _basis(dimension, degree, planar, n_jobs)
    v, caller, batch_shape = _displacement(displacement, tb)
    g, _ = as_array(derivs, "derivs", caller=caller, min_ndim=1)
    want = tuple(batch_shape) + (tb.n + scalar,)
    if g.shape != want:
        raise ValueError(f"derivs must have shape {want} (that of the forward's "
                         f"output), got {g.shape}")
    v = np.ascontiguousarray(v)
    gv = np.zeros_like(v)
    if tb.d:
        _cpu.branched_linear_backprop(v, _rows(g, tb.n + scalar), gv, tb, scalar,
                                      n_threads)
    return caller.out(gv.reshape(tuple(batch_shape) + (tb.d,)))


def _linear_log_layout(dimension, degree, planar, scalar_term, method, n_jobs):
    """(tables, output length, offset of the single-node entries)."""
    scalar = check_bool(scalar_term, "scalar_term")
    planar = check_bool(planar, "planar")
    method = _check_method(method, planar)
    tb, _ = _basis(dimension, degree, planar, n_jobs)
    if method == 0:
        return tb, tb.n + scalar, int(scalar)
    return tb, tb.lyndon()["positions"].shape[0] if tb.n else 0, 0


@fill_doc(**_DOC)
def linear_branched_log_sig(displacement, dimension, degree, *, planar=False,
                            scalar_term=False, method=None, n_jobs=1):
    """Branched log-signatures of straight segments.

    A straight segment's branched signature is the exponential of its increment
    placed on the single-node trees, so its log-signature is that increment there
    and 0 on every larger tree or forest, in every layout (method). Computed on the
    CPU (torch tensors are accepted and returned on their device).

    Parameters
    ----------
    displacement : array-like or torch.Tensor of shape (..., dimension)
        The increments of the segments.
    {basis}
    planar : bool, default=False
        Planar branched log-signatures.
    scalar_term : bool, default=False
        Method 0 only: a leading 0 for the scalar term.
    method : int or None, default=None
        The layout of :func:`sksig.branched_log_sig` (0-3; None: 0 non-planar, 1
        planar).
    {n_jobs}

    Returns
    -------
    ndarray or torch.Tensor
        The log-signatures, of the length :func:`sksig.branched_log_sig` gives.

    Raises
    ------
    TypeError, ValueError
        Bad argument types or values, a trailing length other than ``dimension``,
        NaN or inf.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> sksig.linear_branched_log_sig(np.array([2.0, 3.0]), 2, 2)
    array([2., 3., 0., 0., 0., 0.])
    """
    tb, length, offset = _linear_log_layout(dimension, degree, planar, scalar_term,
                                            method, n_jobs)
    v, caller, batch_shape = _displacement(displacement, tb)
    out = np.zeros((v.shape[0], length), v.dtype)
    if tb.n:
        out[:, offset:offset + tb.d] = v
    return caller.out(out.reshape(tuple(batch_shape) + (length,)))


@_as_forward("it",
             "displacement : array-like or torch.Tensor of shape (..., dimension)",
             "planar, scalar_term : bool, default=False",
             "method : int or None, default=None")
def linear_branched_log_sig_backprop(derivs, displacement, dimension, degree, *,
                                     planar=False, scalar_term=False, method=None,
                                     n_jobs=1):
    """Backpropagate through :func:`linear_branched_log_sig`.

    {parameters}

    Returns
    -------
    ndarray or torch.Tensor
        ``dF/d displacement``: the entries of ``derivs`` at the single-node trees.

    {raises_derivs}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> g = np.arange(6.0)
    >>> sksig.linear_branched_log_sig_backprop(g, np.array([2.0, 3.0]), 2, 2)
    array([0., 1.])
    """
    tb, length, offset = _linear_log_layout(dimension, degree, planar, scalar_term,
                                            method, n_jobs)
    v, caller, batch_shape = _displacement(displacement, tb)
    g, _ = as_array(derivs, "derivs", caller=caller, min_ndim=1)
    want = tuple(batch_shape) + (length,)
    if g.shape != want:
        raise ValueError(f"derivs must have shape {want} (that of the forward's "
                         f"output), got {g.shape}")
    gv = np.zeros_like(v)
    if tb.n:
        gv[:] = _rows(g, length)[:, offset:offset + tb.d]
    return caller.out(gv.reshape(tuple(batch_shape) + (tb.d,)))


# -- the planar log-signature join ----------------------------------------------------
class _LogJoinTables:
    """Sparse maps of one planar basis for the log-signature join: the coproduct terms
    (element, left, right, coefficient) as one-hot matrices and the Lyndon expansion
    (log-signature coordinates -> the log on every forest)."""

    def __init__(self, tb):
        from scipy import sparse

        nat = tb.native()
        m = tb.n + 1
        counts = np.diff(nat["term_ptr"].astype(np.int64))
        elem = np.repeat(np.arange(1, m), counts)
        self.left = nat["term_left"].astype(np.int64)
        self.right = nat["term_right"].astype(np.int64)
        self.elem = elem
        self.coef = nat["term_coef_float64"]
        k = elem.shape[0]

        def one_hot(index):
            return sparse.csr_matrix((np.ones(k), (np.arange(k), index)), shape=(k, m))

        self.by_elem, self.by_left, self.by_right = (one_hot(elem), one_hot(self.left),
                                                     one_hot(self.right))
        rows, cols, vals = tb.lyndon_expansion()
        self.expand = sparse.csr_matrix((vals, (rows, cols)),
                                        shape=(m, tb.lyndon()["positions"].shape[0]))

    def _blocks(self, rows):
        """Row blocks whose (rows, terms) temporaries stay near 64 MiB."""
        step = max(1, 2**23 // max(1, self.elem.shape[0]))
        return [slice(i, i + step) for i in range(0, rows, step)]

    def product(self, p, q):
        """The reduced product p * q of rows with scalar entry 0."""
        out = np.empty_like(p)
        for b in self._blocks(p.shape[0]):
            terms = self.coef * p[b][:, self.left] * q[b][:, self.right]
            out[b] = terms @ self.by_elem
        return out

    def product_adjoint(self, g, p, q):
        """(dF/dp, dF/dq) of product(p, q) at cotangent g."""
        gp, gq = np.empty_like(p), np.empty_like(q)
        for b in self._blocks(p.shape[0]):
            weighted = self.coef * g[b][:, self.elem]
            gp[b] = (weighted * q[b][:, self.right]) @ self.by_left
            gq[b] = (weighted * p[b][:, self.left]) @ self.by_right
        return gp, gq


_LOG_JOIN = {}


def _log_join_tables(tb):
    key = (tb.d, tb.degree)
    cached = _LOG_JOIN.get(key)
    if cached is None:
        cached = _LOG_JOIN.setdefault(key, _LogJoinTables(tb))
    return cached


def _exp_powers(lt, coords, degree):
    """(exp of the log with these coordinates (rows, n + 1), the powers L^k)."""
    log = np.asarray(coords @ lt.expand.T)
    powers = [log]
    out = log.copy()
    factorial = 1.0
    for k in range(2, degree + 1):
        powers.append(lt.product(powers[-1], log))
        factorial *= k
        out += powers[-1] / factorial
    out[:, 0] = 1.0
    return out, powers


def _log_join_args(blogsig, displacement, dimension, degree, prepend, n_jobs, derivs):
    prepend = check_bool(prepend, "prepend")
    tb, n_threads = _basis(dimension, degree, True, n_jobs)
    coords, caller = as_array(blogsig, "blogsig", min_ndim=1)
    length = tb.lyndon()["positions"].shape[0] if tb.n else 0
    check_trailing_length(coords.shape, "blogsig", length,
                          " (the planar log-signature length, methods 2 and 3)")
    v, _, _ = _displacement(displacement, tb, caller, coords.shape[:-1])
    g = None
    if derivs is not None:
        g, _ = as_array(derivs, "derivs", caller=caller, min_ndim=1)
        if g.shape != coords.shape:
            raise ValueError(f"derivs must have the shape of blogsig {coords.shape}, "
                             f"got {g.shape}")
        g = _rows(g, length)
    return tb, n_threads, _rows(coords, length), np.ascontiguousarray(v), g, caller, \
        prepend, coords.shape


@fill_doc(**_DOC)
def branched_log_sig_join(blogsig, displacement, dimension, degree, *, prepend=False,
                          n_jobs=1):
    """Append (or prepend) a straight segment to planar branched log-signatures.

    ``blogsig`` holds coordinates in the Lyndon bracket basis (the planar
    :func:`sksig.branched_log_sig` with ``method=2`` or ``3``); the result holds those
    of the path extended by a straight segment of increment ``displacement``, at its
    end (at its start with ``prepend=True``). The log-signature is exponentiated,
    multiplied with the segment's signature by Chen's product and taken back to its
    logarithm, all truncated at ``degree`` nodes. Computed on the CPU (torch tensors
    are accepted and returned on their device).

    Parameters
    ----------
    blogsig : array-like or torch.Tensor of shape (..., n_lyndon)
        Planar log-signatures in the method 2/3 coordinates (no scalar entry),
        ``n_lyndon = branched_log_sig_length(dimension, degree, planar=True)``.
    displacement : array-like or torch.Tensor of shape (..., dimension)
        The segments' increments, with the batch shape, kind and dtype of
        ``blogsig``.
    {basis}
    prepend : bool, default=False
        Put the segment before the path instead of after it.
    n_jobs : int, default=1
        CPU threads for the products and the log; None means 1, -1 all cores.
        Results do not depend on it.

    Returns
    -------
    ndarray or torch.Tensor
        The extended log-signatures, shaped like ``blogsig``.

    {raises_join}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> ls = sksig.branched_log_sig(x[:2], 2, planar=True, method=2)
    >>> sksig.branched_log_sig_join(ls, x[2] - x[1], 2, 2)
    array([ 1. ,  1. ,  0.5,  0. ,  0.5, -0.5,  0. ])
    """
    tb, n_threads, coords, v, _, caller, prepend, shape = _log_join_args(
        blogsig, displacement, dimension, degree, prepend, n_jobs, None)
    if coords.shape[1] == 0:
        return caller.out(np.zeros(shape, coords.dtype))
    out = _log_join_forward(tb, coords, v, prepend, n_threads)[0]
    return caller.out(out.reshape(shape))


def _log_join_forward(tb, coords, v, prepend, n_threads):
    lt = _log_join_tables(tb)
    sig, powers = _exp_powers(lt, coords.astype(np.float64), tb.degree)
    sig = np.ascontiguousarray(sig.astype(coords.dtype))
    joined = np.empty_like(sig)
    _cpu.branched_join(sig, v, joined, tb, True, prepend, n_threads)
    logs = np.zeros((joined.shape[0], tb.lyndon()["positions"].shape[0] if tb.n else 0),
                    joined.dtype)
    if tb.n:
        _cpu.branched_log(joined, logs, tb, 2, True, False, n_threads)
    return logs, sig, joined, powers


@_as_forward("``blogsig``", "blogsig, displacement : array-like or torch.Tensor",
             "prepend : bool, default=False")
def branched_log_sig_join_backprop(derivs, blogsig, displacement, dimension, degree, *,
                                   prepend=False, n_jobs=1):
    """Backpropagate through :func:`branched_log_sig_join`.

    {parameters}

    Returns
    -------
    tuple of two ndarrays or torch.Tensors
        ``(dF/d blogsig, dF/d displacement)``.

    {raises_derivs}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> ls = np.array([1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    >>> g, gv = sksig.branched_log_sig_join_backprop(np.eye(7)[2], ls,
    ...                                              np.array([0.0, 1.0]), 2, 2)
    >>> gv
    array([0. , 0.5])
    """
    tb, n_threads, coords, v, g, caller, prepend, shape = _log_join_args(
        blogsig, displacement, dimension, degree, prepend, n_jobs, derivs)
    vshape = tuple(shape[:-1]) + (tb.d,)
    if coords.shape[1] == 0:
        return (caller.out(np.zeros(shape, coords.dtype)),
                caller.out(np.zeros(vshape, coords.dtype)))
    _, sig, joined, powers = _log_join_forward(tb, coords, v, prepend, n_threads)
    g_joined = np.empty_like(joined)
    _cpu.branched_log_backprop(joined, np.ascontiguousarray(g), g_joined, tb, 2, True,
                               False, n_threads)
    g_sig, g_v = np.empty_like(sig), np.zeros_like(v)
    _cpu.branched_join_backprop(sig, v, g_joined, g_sig, g_v, tb, True, prepend,
                                n_threads)
    # Through the exponential: sig = 1 + sum_k L^k / k!, L^k = L^(k-1) * L.
    lt = _log_join_tables(tb)
    g_sig = g_sig.astype(np.float64)
    g_sig[:, 0] = 0.0
    factorials = np.cumprod(np.arange(1, tb.degree + 1, dtype=np.float64))
    g_log = g_sig.copy()
    g_power = g_sig / factorials[-1] if tb.degree >= 2 else None
    for k in range(tb.degree, 1, -1):  # g_power = dF/d L^k (all paths through it)
        g_prev, g_right = lt.product_adjoint(g_power, powers[k - 2], powers[0])
        g_log += g_right
        if k > 2:
            g_power = g_sig / factorials[k - 2] + g_prev
        else:
            g_log += g_prev
    g_coords = np.asarray(g_log @ lt.expand).astype(coords.dtype)
    return caller.out(g_coords.reshape(shape)), caller.out(g_v.reshape(vshape))
