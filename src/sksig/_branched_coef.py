"""Chosen coefficients of branched signatures (the analogue of picking words).

The requested trees (planar: ordered forests) fix the degree, their largest number
of nodes; the coefficients are the entries of the branched signature of that degree
at the trees' positions (:func:`sksig.tree_to_idx`), and the backprop scatters the
derivatives there before the reverse pass of :func:`sksig.branched_sig_backprop`.
"""

import numpy as np

from sksig._array import as_array, transformed_dim
from sksig._branched import branched_sig, branched_sig_backprop, prepare_branched_sig
from sksig._docs import fill_doc
from sksig._trees import branched_sig_length, tree_to_idx
from sksig._validation import check_bool, check_int

__all__ = [
    "branched_sig_coef",
    "branched_sig_coef_backprop",
    "extract_branched_sig_coef",
    "prepare_branched_sig_coef",
]


def _is_label(x):
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _tree_nodes(tree):
    if not isinstance(tree, tuple) or not tree or not _is_label(tree[-1]):
        raise ValueError(
            f"trees: {tree!r} is not a tree (a tuple of child trees ending with an "
            "int label)"
        )
    return 1 + sum(_tree_nodes(c) for c in tree[:-1])


def _nodes(element, planar):
    """Number of nodes of a requested element (None: 0)."""
    if element is None:
        return 0
    if planar and isinstance(element, tuple) and element and not _is_label(element[-1]):
        return sum(_tree_nodes(t) for t in element)  # an ordered forest
    return _tree_nodes(element)


def _requested(trees, dimension, planar):
    """(positions in the layout with the scalar term, degree) of ``trees``."""
    if trees is None or isinstance(trees, tuple):
        trees = [trees]
    elif not isinstance(trees, list):
        raise TypeError(
            "trees must be a tree (tuple), None or a list of these, got "
            f"{type(trees).__name__}"
        )
    if not trees:
        raise ValueError("trees must request at least one tree")
    degree = max(_nodes(t, planar) for t in trees)
    idx = [tree_to_idx(t, dimension, degree, planar=planar, scalar_term=True)
           for t in trees]
    return np.asarray(idx, np.int64), degree


def _flags(time_aug, lead_lag, planar):
    return (check_bool(time_aug, "time_aug"), check_bool(lead_lag, "lead_lag"),
            check_bool(planar, "planar"))


def _path_dim(path):
    """Channel count of a path argument (array, tensor or ragged list)."""
    if isinstance(path, (list, tuple)) and path:
        return np.shape(path[0])[-1]
    shape = np.shape(path) if not hasattr(path, "shape") else tuple(path.shape)
    if len(shape) < 2:
        raise ValueError(
            f"path must have shape (..., length, dim), got shape {tuple(shape)}"
        )
    return shape[-1]


@fill_doc
def prepare_branched_sig_coef(dimension, trees, *, use_disk=False, time_aug=False,
                              lead_lag=False, planar=False, device="both"):
    """Build and cache the tables :func:`branched_sig_coef` needs (optional).

    Parameters
    ----------
    dimension : int
        Original path dimension, >= 1.
    trees : tuple, None or list
        The requested trees (see :func:`branched_sig_coef`); they fix the degree.
    use_disk : bool, default=False
        Accepted for compatibility; tables are kept in memory.
    time_aug, lead_lag : bool, default=False
        Path transforms (the trees are over the transformed dimension).
    planar : bool, default=False
        Planar tables (ordered forests).
    device : {"both", "cpu", "cuda"}, default="both"
        As in :func:`sksig.prepare_branched_sig`.

    {returns_tables_cached}

    Raises
    ------
    TypeError, ValueError
        Bad argument types or values, or a requested element that is not a tree of
        the basis.

    Examples
    --------
    >>> import sksig
    >>> sksig.prepare_branched_sig_coef(2, [(0,), ((0,), 1)])
    """
    dimension = check_int(dimension, "dimension", minimum=1)
    time_aug, lead_lag, planar = _flags(time_aug, lead_lag, planar)
    _, degree = _requested(trees, transformed_dim(dimension, time_aug, lead_lag),
                           planar)
    prepare_branched_sig(dimension, degree, use_disk=use_disk, time_aug=time_aug,
                         lead_lag=lead_lag, planar=planar, device=device)


@fill_doc
def branched_sig_coef(path, trees, *, time_aug=False, lead_lag=False, end_time=1.0,
                      planar=False, correction=None, basepoint=None, n_jobs=1):
    """Compute the branched signature's coefficients at chosen trees or forests.

    The degree is the largest number of nodes among ``trees``; the values are those
    of :func:`sksig.branched_sig` at that degree, at the positions of the trees. The
    whole signature of that degree is computed (every coefficient needs the smaller
    ones of its coproduct).

    Parameters
    ----------
    path : array-like of shape (..., length, dim), torch.Tensor or list of 2-D arrays
        Paths, as for :func:`sksig.branched_sig`.
    trees : tuple, None or list of these
        One tree ``(child_1, ..., child_k, label)`` or a list of trees; with
        ``planar=True`` ordered forests (tuples of trees; a bare tree is a one-tree
        forest). ``None`` is the scalar term (coefficient 1). Labels refer to the
        channels of the transformed path.
    {transforms_end_time}
    planar : bool, default=False
        Planar branched signature.
    correction : None
        Per-segment corrections, as in :func:`sksig.branched_sig`.
    basepoint : None, True or array-like of shape (dim,), default=None
        As in :func:`sksig.branched_sig`.
    n_jobs : int, default=1
        CPU threads; None means 1, -1 all cores. Results do not depend on it.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., len(trees))
        One coefficient per requested tree (a single tree gives a trailing length
        of 1).

    Raises
    ------
    TypeError, ValueError
        Bad paths or arguments, or a requested element that is not a tree of the
        basis (labels beyond the dimension, non-canonical non-planar children).

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> sksig.branched_sig_coef(x, [(0,), ((0,), 1)])
    array([1., 1.])
    """
    time_aug, lead_lag, planar = _flags(time_aug, lead_lag, planar)
    dim = transformed_dim(_path_dim(path), time_aug, lead_lag)
    idx, degree = _requested(trees, dim, planar)
    bsig = branched_sig(path, degree, time_aug=time_aug, lead_lag=lead_lag,
                        end_time=end_time, planar=planar, scalar_term=True,
                        correction=correction, basepoint=basepoint, n_jobs=n_jobs)
    if hasattr(bsig, "index_select"):  # torch, on its device
        import torch

        return bsig.index_select(-1, torch.as_tensor(idx, device=bsig.device))
    return np.ascontiguousarray(bsig[..., idx])


@fill_doc
def branched_sig_coef_backprop(path, trees, coefs, derivs, *, time_aug=False,
                               lead_lag=False, end_time=1.0, planar=False,
                               correction=None, basepoint=None, n_jobs=1):
    """Backpropagate through :func:`branched_sig_coef`.

    The reverse pass needs the whole branched signature, which is recomputed;
    ``coefs`` (the forward's output) is only checked for its shape.

    Parameters
    ----------
    path : array-like of shape (..., length, dim), torch.Tensor or list of 2-D arrays
        The paths of the forward call.
    trees : tuple, None or list of these
        The requested trees of the forward call.
    coefs : array-like or torch.Tensor of shape (..., len(trees))
        The forward's output.
    derivs : array-like or torch.Tensor, shaped like ``coefs``
        Derivatives of a scalar ``F`` with respect to the coefficients.
    time_aug, lead_lag : bool, default=False
        As in the forward call.
    end_time : float, default=1.0
        The forward call's final value of the time channel.
    planar : bool, default=False
        As in the forward call.
    correction : None
        As in the forward call.
    {basepoint_backprop_n_jobs}

    {returns_path_gradient}

    Raises
    ------
    TypeError, ValueError
        As in the forward call, and if ``coefs`` or ``derivs`` has the wrong shape.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> c = sksig.branched_sig_coef(x, [(0,)])
    >>> sksig.branched_sig_coef_backprop(x, [(0,)], c, np.ones(1))
    array([[-1.,  0.],
           [ 0.,  0.],
           [ 1.,  0.]])
    """
    time_aug, lead_lag, planar = _flags(time_aug, lead_lag, planar)
    dim = transformed_dim(_path_dim(path), time_aug, lead_lag)
    idx, degree = _requested(trees, dim, planar)
    kwargs = dict(time_aug=time_aug, lead_lag=lead_lag, end_time=end_time,
                  planar=planar, correction=correction, basepoint=basepoint,
                  n_jobs=n_jobs)
    bsig = branched_sig(path, degree, scalar_term=True, **kwargs)
    full, caller = as_array(bsig, "bsig")
    want = full.shape[:-1] + (idx.shape[0],)
    c, _ = as_array(coefs, "coefs", caller=caller)
    g, _ = as_array(derivs, "derivs", caller=caller)
    for name, a in (("coefs", c), ("derivs", g)):
        if a.shape != want:
            raise ValueError(f"{name} must have shape {want} (one entry per requested "
                             f"tree), got {a.shape}")
    scattered = np.zeros((int(np.prod(full.shape[:-1], dtype=np.int64)),
                          full.shape[-1]), full.dtype)
    np.add.at(scattered, (slice(None), idx), g.reshape((-1, idx.shape[0])))
    scattered = caller.out(scattered.reshape(full.shape))
    return branched_sig_backprop(path, bsig, scattered, degree, **kwargs)


def extract_branched_sig_coef(bsig, trees, dimension, *, time_aug=False,
                              lead_lag=False, planar=False, scalar_term=None):
    """Pick the coefficients at chosen trees from branched signatures.

    Parameters
    ----------
    bsig : array-like or torch.Tensor of shape (..., length)
        Branched signatures of any degree at least that of the requested trees (the
        degree is read from ``length``).
    trees : tuple, None or list of these
        As in :func:`branched_sig_coef`.
    dimension : int
        Original path dimension, >= 1 (the flags give the transformed one).
    time_aug, lead_lag : bool, default=False
        The transforms ``bsig`` was computed with.
    planar : bool, default=False
        Planar branched signatures.
    scalar_term : bool or None, default=None
        Whether ``bsig`` has the scalar entry first. None infers it from the length,
        which is refused as ambiguous when a length fits two degrees, with and
        without the scalar entry.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., len(trees))
        The coefficients (1 for the scalar term ``None``).

    Raises
    ------
    TypeError, ValueError
        Bad argument types, a length that is no branched-signature length of the
        dimension, trees of more nodes than that degree has, NaN or inf.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    >>> b = sksig.branched_sig(x, 3)
    >>> sksig.extract_branched_sig_coef(b, [(1,), ((0,), 1)], 2)
    array([1., 1.])
    """
    dimension = check_int(dimension, "dimension", minimum=1)
    time_aug, lead_lag, planar = _flags(time_aug, lead_lag, planar)
    if scalar_term is not None:
        scalar_term = check_bool(scalar_term, "scalar_term")
    dim = transformed_dim(dimension, time_aug, lead_lag)
    array, caller = as_array(bsig, "bsig", min_ndim=1)
    degree, scalar = _degree_of(array.shape[-1], dim, planar, scalar_term)
    idx, need = _requested(trees, dim, planar)
    if need > degree:
        raise ValueError(
            f"trees need degree {need} but bsig has degree {degree} (trailing length "
            f"{array.shape[-1]})"
        )
    # Positions at the requested degree equal those at any higher one (the basis of
    # fewer nodes comes first, in the same order).
    rows = array.reshape((-1, array.shape[-1]))
    out = np.ones((rows.shape[0], idx.shape[0]), array.dtype)
    has = idx > 0
    out[:, has] = rows[:, idx[has] - (0 if scalar else 1)]
    return caller.out(out.reshape(array.shape[:-1] + (idx.shape[0],)))


def _degree_of(length, dim, planar, scalar_term):
    """(degree, has scalar) of a branched signature of trailing ``length``."""
    fits = []
    degree = 0
    while True:
        n = branched_sig_length(dim, degree, planar=planar)
        for scalar in (False, True):
            if n + scalar == length and scalar_term in (None, scalar):
                fits.append((degree, scalar))
        if n >= length or (dim == 0 and degree > 0):
            break
        degree += 1
    if not fits:
        raise ValueError(
            f"bsig has trailing length {length}, which is no branched signature length "
            f"of dimension {dim} (planar={planar})"
            + ("" if scalar_term is None else f" with scalar_term={scalar_term}")
        )
    if len(fits) > 1:
        raise ValueError(
            f"bsig has trailing length {length}, which is ambiguous: degree "
            f"{fits[0][0]} with the scalar term or degree {fits[-1][0]} without it "
            "(or the reverse); pass scalar_term=True or scalar_term=False"
        )
    return fits[0]
