"""Rooted trees and ordered forests: enumeration, counting and indexing.

Pure Python. The tree lists and bases are built once per (dimension, planar[,
degree]) and cached; the lock makes concurrent first calls build each only once. The
Hopf-algebra side (coproducts, segment coefficients, Lyndon forests) is in
:mod:`sksig._tree_algebra`, the flat tables of the native core in
:mod:`sksig._tree_tables`.

Internal encodings (indices start at 0 in the tree list ``T(d, N, planar)``):

* a tree is ``(children, label)`` with ``children`` a tuple of tree indices (sorted for
  non-planar trees, left-to-right = earliest-to-latest for planar ones);
* a planar basis element is an ordered forest, a tuple of planar tree indices (the
  empty tuple is the scalar term).

The public encoding is the nested tuple ``(child_1, ...,
child_k, label)``; the empty tree/forest is ``None``.
"""

import functools
import threading
from fractions import Fraction

import numpy as np

from sksig._docs import fill_doc
from sksig._lyndon import mobius
from sksig._memo import build_once
from sksig._validation import check_bool, check_int

_RAISES_BAD_ARGS = """
    Raises
    ------
    TypeError, ValueError
        If an argument has the wrong type or is negative."""

__all__ = [
    "branched_log_sig_length",
    "branched_sig_length",
    "idx_to_tree",
    "tree_to_idx",
    "trees",
    "trees_of_order",
]

_LOCK = threading.RLock()
_TREE_LISTS = {}  # (d, planar) -> _TreeList
_BASES = {}  # (d, N, planar) -> TreeBasis

class _TreeList:
    """All trees with at most ``max_order`` nodes, in basis order (see ``trees``).

    The order of trees with fewer nodes does not depend on the degree, so one list per
    (dimension, planar) grows on demand.
    """

    def __init__(self, d, planar):
        self.d = d
        self.planar = planar
        self.nodes = []  # (children, label)
        self.size = []  # node count
        self.index = {}  # (children, label) -> index
        self.first_of_order = [0, 0]  # first index with n nodes (n = 0, 1, ...)
        self.max_order = 0

    def extend(self, order):
        while self.max_order < order:
            n = self.max_order + 1
            sequences = _index_sequences(self.size, len(self.nodes), n - 1,
                                         non_decreasing=not self.planar)
            for children in sequences:
                for label in range(self.d):
                    key = (children, label)
                    self.index[key] = len(self.nodes)
                    self.nodes.append(key)
                    self.size.append(n)
            self.first_of_order.append(len(self.nodes))
            self.max_order = n

    def count(self, order):
        """Number of trees with at most ``order`` nodes."""
        self.extend(order)
        return self.first_of_order[order + 1]

    def to_tuple(self, i):
        children, label = self.nodes[i]
        return tuple(self.to_tuple(c) for c in children) + (label,)


def _tree_list(d, planar, order):
    with _LOCK:
        tl = _TREE_LISTS.get((d, planar))
        if tl is None:
            tl = _TREE_LISTS[(d, planar)] = _TreeList(d, planar)
        tl.extend(order)
        return tl


def _index_sequences(sizes, count, total, *, non_decreasing):
    """Sequences of indices into sizes[:count] whose sizes add up to ``total``.

    Lexicographic order (depth first, indices tried in increasing order); only
    non-decreasing sequences (multisets) when asked. ``sizes`` is non-decreasing, so
    the indices that still fit form a prefix.
    """
    fits = [0] * (total + 1)  # fits[r] = number of indices with size <= r
    for r in range(total + 1):
        fits[r] = fits[r - 1] if r else 0
        while fits[r] < count and sizes[fits[r]] <= r:
            fits[r] += 1
    out = []
    seq = []

    def dfs(remaining, start):
        if remaining == 0:
            out.append(tuple(seq))
            return
        for i in range(start, fits[remaining]):
            seq.append(i)
            dfs(remaining - sizes[i], i if non_decreasing else 0)
            seq.pop()

    dfs(total, 0)
    return out


def _forests_of_order(tl, n, order_limit):
    """Ordered forests (tuples of planar tree indices) with exactly n nodes, sorted."""
    return _index_sequences(tl.size, tl.count(order_limit), n, non_decreasing=False)


class TreeBasis:
    """The basis of the branched signature for one (dimension, degree, planar).

    Attributes
    ----------
    basis : list
        Internal basis elements; index 0 is the scalar term. Non-planar: tree indices
        (``None`` at 0); planar: forests (``()`` at 0).
    position : dict
        Basis element -> its index in ``basis``.
    n : int
        Number of basis elements without the scalar term.
    tl : _TreeList
        The trees the elements are made of.
    """

    def __init__(self, d, degree, planar):
        self.d, self.degree, self.planar = d, degree, planar
        self.tl = _tree_list(d, planar, degree)
        n_trees = self.tl.count(degree)
        if planar:
            self.basis = [()]
            for k in range(1, degree + 1):
                self.basis.extend(_forests_of_order(self.tl, k, degree))
        else:
            self.basis = [None] + list(range(n_trees))
        self.position = {b: i for i, b in enumerate(self.basis)}
        self.n = len(self.basis) - 1

    def element_tuple(self, i):
        b = self.basis[i]
        if i == 0:
            return None
        if self.planar:
            return tuple(self.tl.to_tuple(t) for t in b)
        return self.tl.to_tuple(b)

    def order(self, i):
        b = self.basis[i]
        if i == 0:
            return 0
        if self.planar:
            return sum(self.tl.size[t] for t in b)
        return self.tl.size[b]


# The tables are built in Python: beyond this many basis elements (minutes of work and
# gigabytes) a call would appear to hang, so it is refused up front.
_MAX_BASIS = 2**22
# Lengths beyond 2**63 index nothing; refusing them bounds the counting loops.
_MAX_LENGTH = 2**63


def cached(cache, lock, d, degree, planar, build):
    """``cache[(d, degree, planar)]``, made by ``build(d, degree, planar)`` under
    ``lock`` on first use."""
    if d == 0:
        degree = min(degree, 1)  # no labels: the basis is the scalar term at any degree
    key = (d, degree, planar)
    return build_once(cache, lock, key, lambda: build(*key))


def _new_basis(d, degree, planar):
    n = sum(_tree_counts(d, degree, planar)[1][1:])
    if n > _MAX_BASIS:
        raise ValueError(
            f"the branched basis of dimension {d} at degree {degree} "
            f"(planar={planar}) has {n} elements, more than the {_MAX_BASIS} "
            "sksig can build tables for; lower the degree"
        )
    return TreeBasis(d, degree, planar)


def basis(d, degree, planar):
    """The cached :class:`TreeBasis` for (dimension, degree, planar)."""
    return cached(_BASES, _LOCK, d, degree, planar, _new_basis)


# -- lengths (closed-form counts, no enumeration) --------------------------------------
@functools.lru_cache(maxsize=256)
def _tree_counts(d, degree, planar):
    """(trees with n nodes, basis elements with n nodes) for n = 0..degree, as tuples.

    Cached: every branched call asks for the length of the next degree (to tell a
    scalar entry apart), which cost tens of microseconds per call recomputed."""
    if d == 0:  # no labels, no trees (and no loop over an absurd degree)
        return (0, 0), (1 if planar else 0, 0)
    # Grown one order at a time: an absurd degree stops at the size check below.
    trees = [0]
    forests = [1]  # planar: ordered forests; non-planar: multisets
    for n in range(1, degree + 1):
        trees.append(d * forests[n - 1])
        forests.append(0)
        if planar:
            forests[n] = sum(trees[k] * forests[n - k] for k in range(1, n + 1))
        else:
            # Euler transform: multisets of trees with n nodes.
            weights = [
                sum(k * trees[k] for k in range(1, j + 1) if j % k == 0)
                for j in range(n + 1)
            ]
            forests[n] = sum(weights[j] * forests[n - j] for j in range(1, n + 1)) // n
        # The counts grow exponentially: this stops absurd degrees after ~50 steps.
        if sum((forests if planar else trees)[: n + 1]) > _MAX_LENGTH:
            raise ValueError(
                f"degree={degree} is too large: the branched basis of dimension {d} "
                f"(planar={planar}) would have more than 2**63 elements"
            )
    return tuple(trees), tuple(forests if planar else trees)


def _check_dims(dimension, degree, planar):
    dimension = check_int(dimension, "dimension")
    degree = check_int(degree, "degree")
    planar = check_bool(planar, "planar")
    return dimension, degree, planar


@fill_doc(raises_bad_args=_RAISES_BAD_ARGS)
def branched_sig_length(dimension, degree, *, planar=False, scalar_term=False):
    """Length of a branched signature.

    Parameters
    ----------
    dimension : int
        Path dimension (after any transform), >= 0.
    degree : int
        Truncation degree (maximal number of nodes), >= 0.
    planar : bool, default=False
        Planar (ordered forests) instead of non-planar (trees).
    scalar_term : bool, default=False
        Count the leading scalar term.

    Returns
    -------
    int
        Number of trees (non-planar) or ordered forests (planar) with 1..degree nodes,
        plus one with the scalar term. 0 for degree 0 or dimension 0 without it.

    {raises_bad_args}

    Examples
    --------
    >>> import sksig
    >>> sksig.branched_sig_length(2, 3), sksig.branched_sig_length(2, 3, planar=True)
    (20, 50)
    """
    dimension, degree, planar = _check_dims(dimension, degree, planar)
    scalar_term = check_bool(scalar_term, "scalar_term")
    _, basis = _tree_counts(dimension, degree, planar)
    return sum(basis[1:]) + (1 if scalar_term else 0)


@fill_doc(raises_bad_args=_RAISES_BAD_ARGS)
def branched_log_sig_length(dimension, degree, *, planar=False):
    """Length of a branched log-signature (method 1 or 2 when planar).

    Parameters
    ----------
    dimension : int
        Path dimension (after any transform), >= 0.
    degree : int
        Truncation degree, >= 0.
    planar : bool, default=False
        Planar: the number of Lyndon forests; non-planar: the number of trees.

    Returns
    -------
    int
        The number of coordinates of the branched log-signature.

    {raises_bad_args}

    Examples
    --------
    >>> import sksig
    >>> sksig.branched_log_sig_length(2, 3, planar=True)
    33
    """
    dimension, degree, planar = _check_dims(dimension, degree, planar)
    if dimension == 0:
        return 0
    trees, basis = _tree_counts(dimension, degree, planar)
    if not planar:
        return sum(basis[1:])
    # c_k = [t^k] log(1 / (1 - P(t))) = sum_m P(t)^m / m, with P(t) = sum_n p_n t^n.
    c = [Fraction(0)] * (degree + 1)
    power = [Fraction(1)] + [Fraction(0)] * degree
    for m in range(1, degree + 1):
        power = [
            sum(power[j] * trees[k - j] for j in range(0, k)) for k in range(degree + 1)
        ]
        for k in range(degree + 1):
            c[k] += power[k] / m
    total = 0
    for n in range(1, degree + 1):
        ell = sum(mobius(n // k) * k * c[k] for k in range(1, n + 1) if n % k == 0) / n
        total += int(ell)
    return total


# -- public enumeration API ------------------------------------------------------------
@fill_doc(raises_bad_args=_RAISES_BAD_ARGS)
def trees(dimension, degree, *, planar=False):
    """Return the branched-signature basis in coefficient order.

    Parameters
    ----------
    dimension : int
        Number of labels (path dimension after transforms), >= 0.
    degree : int
        Maximal number of nodes, >= 0.
    planar : bool, default=False
        Ordered forests of planar trees instead of non-planar trees.

    Returns
    -------
    tuple
        ``None`` (the scalar term) followed by the trees (non-planar) or ordered
        forests (planar) in basis order; a tree is ``(child_1, ..., child_k, label)``.

    {raises_bad_args}

    Examples
    --------
    >>> import sksig
    >>> sksig.trees(2, 2)
    (None, (0,), (1,), ((0,), 0), ((0,), 1), ((1,), 0), ((1,), 1))
    """
    dimension, degree, planar = _check_dims(dimension, degree, planar)
    t = basis(dimension, degree, planar)
    return tuple(t.element_tuple(i) for i in range(t.n + 1))


@fill_doc(raises_bad_args=_RAISES_BAD_ARGS)
def trees_of_order(dimension, order, *, planar=False):
    """Return the basis elements with exactly ``order`` nodes, in basis order.

    Parameters
    ----------
    dimension : int
        Number of labels, >= 0.
    order : int
        Number of nodes, >= 0.
    planar : bool, default=False
        Ordered forests (planar) instead of trees.

    Returns
    -------
    tuple
        ``(None,)`` for order 0.

    {raises_bad_args}

    Examples
    --------
    >>> import sksig
    >>> sksig.trees_of_order(1, 3)
    (((0,), (0,), 0), (((0,), 0), 0))
    """
    dimension, order, planar = _check_dims(dimension, order, planar)
    if order == 0:
        return (None,)
    t = basis(dimension, order, planar)
    return tuple(
        t.element_tuple(i) for i in range(1, t.n + 1) if t.order(i) == order
    )


def _internal_tree(tree, tl, where):
    """Index of a public-encoded tree in the tree list, or raise ValueError."""
    if not isinstance(tree, tuple) or not tree:
        raise ValueError(f"{where}: {tree!r} is not a tree (a non-empty tuple)")
    label = tree[-1]
    if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)):
        raise ValueError(f"{where}: the last entry of {tree!r} must be an int label")
    children = tuple(_internal_tree(c, tl, where) for c in tree[:-1])
    i = tl.index.get((children, int(label)))
    if i is None:
        raise ValueError(
            f"{where}: {tree!r} is not a basis tree (labels must lie in "
            f"[0, {tl.d}); non-planar children in canonical order)"
        )
    return i


def tree_to_idx(tree, dimension, degree, *, planar=False, scalar_term=False):
    """Position of a tree (or planar forest) in the branched-signature layout.

    Parameters
    ----------
    tree : tuple or None
        A tree ``(child_1, ..., child_k, label)``; with ``planar=True`` an ordered
        forest (tuple of trees) or a bare tree (a one-tree forest). ``None`` is the
        scalar term (only with ``scalar_term=True``).
    dimension, degree : int
        The basis (number of labels, maximal number of nodes).
    planar : bool, default=False
        Planar basis.
    scalar_term : bool, default=False
        Whether the layout starts with the scalar term (else positions shift by -1).

    Returns
    -------
    int
        The 0-based position of ``tree`` in the output of :func:`branched_sig`.

    Raises
    ------
    ValueError
        If ``tree`` is not an element of the basis.

    Examples
    --------
    >>> import sksig
    >>> sksig.tree_to_idx(((0,), 1), 2, 2)
    3
    """
    dimension, degree, planar = _check_dims(dimension, degree, planar)
    scalar_term = check_bool(scalar_term, "scalar_term")
    t = basis(dimension, degree, planar)
    shift = 0 if scalar_term else 1
    if tree is None:
        if not scalar_term:
            raise ValueError(
                "tree None (the scalar term) has no index with scalar_term=False"
            )
        return 0
    where = "tree_to_idx"
    if planar:
        is_bare_tree = (
            isinstance(tree, tuple) and tree
            and isinstance(tree[-1], (int, np.integer))
            and not isinstance(tree[-1], (bool, np.bool_))
        )
        forest = (tree,) if is_bare_tree else tree
        if not isinstance(forest, tuple) or not forest:
            raise ValueError(f"{where}: {tree!r} is not a planar forest")
        key = tuple(_internal_tree(c, t.tl, where) for c in forest)
    else:
        key = _internal_tree(tree, t.tl, where)
    i = t.position.get(key)
    if i is None:
        raise ValueError(f"{where}: {tree!r} has more than degree={degree} nodes")
    return i - shift


def idx_to_tree(idx, dimension, degree, *, planar=False, scalar_term=False):
    """Tree (or planar forest) at a position of the branched-signature layout.

    Parameters
    ----------
    idx : int
        Position in the layout.
    dimension, degree : int
        The basis.
    planar : bool, default=False
        Planar basis.
    scalar_term : bool, default=False
        Whether the layout starts with the scalar term.

    Returns
    -------
    tuple or None
        The tree or forest (``None`` for the scalar term).

    Raises
    ------
    ValueError
        If ``idx`` is out of range.

    Examples
    --------
    >>> import sksig
    >>> sksig.idx_to_tree(3, 2, 2)
    ((0,), 1)
    """
    dimension, degree, planar = _check_dims(dimension, degree, planar)
    scalar_term = check_bool(scalar_term, "scalar_term")
    idx = check_int(idx, "idx")
    t = basis(dimension, degree, planar)
    i = idx + (0 if scalar_term else 1)
    if i > t.n:
        raise ValueError(
            f"idx must be in [0, {t.n + (1 if scalar_term else 0)}), got {idx}"
        )
    return t.element_tuple(i)
