"""Rooted trees and ordered forests: enumeration, indexing and Hopf-algebra tables.

Pure Python (numpy only for the flat tables handed to the native core). Everything is
built once per (dimension, planar[, degree]) and cached; the locks make concurrent
first calls build each table only once.

Internal encodings (indices start at 0 in the tree list ``T(d, N, planar)``):

* a tree is ``(children, label)`` with ``children`` a tuple of tree indices (sorted for
  non-planar trees, left-to-right = earliest-to-latest for planar ones);
* a planar basis element is an ordered forest, a tuple of planar tree indices (the
  empty tuple is the scalar term).

The public encoding is the nested tuple ``(child_1, ...,
child_k, label)``; the empty tree/forest is ``None``.
"""

import threading
from fractions import Fraction

import numpy as np

from sksig._limits import check_memory, check_time
from sksig._validation import check_bool, check_int

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
_TABLES = {}  # (d, N, planar) -> BranchedTables


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


class BranchedTables:
    """Basis and coproduct tables for one (dimension, degree, planar).

    Attributes
    ----------
    basis : list
        Internal basis elements; index 0 is the scalar term. Non-planar: tree indices
        (``None`` at 0); planar: forests (``()`` at 0).
    n : int
        Number of basis elements without the scalar term.
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
        self._lock = threading.Lock()
        self._native = None
        self._lyndon = None
        self._core = {}

    # -- public-encoding conversions ---------------------------------------------------
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

    # -- coproducts --------------------------------------------------------------------
    def _bck_tree(self, t, memo):
        """BCK coproduct of tree t: dict {(left multiset, right tree or -1): coef}."""
        if t in memo:
            return memo[t]
        children, label = self.tl.nodes[t]
        forest = {((), ()): 1}
        for c in children:
            nxt = {}
            for (l1, r1), k1 in forest.items():
                for (l2, r2), k2 in self._bck_tree(c, memo).items():
                    left = tuple(sorted(l1 + l2))
                    right = tuple(sorted(r1 + ((r2,) if r2 >= 0 else ())))
                    key = (left, right)
                    nxt[key] = nxt.get(key, 0) + k1 * k2
            forest = nxt
        out = {((t,), -1): 1}
        for (left, right), k in forest.items():
            key = (left, self.tl.index[(right, label)])
            out[key] = out.get(key, 0) + k
        memo[t] = out
        return out

    def _mkw_forest(self, forest, memo):
        """MKW coproduct of an ordered forest: {(left forest, right forest): coef}."""
        if forest in memo:
            return memo[forest]
        if not forest:
            out = {((), ()): 1}
        else:
            head, last = forest[:-1], forest[-1]
            children, label = self.tl.nodes[last]
            out = {(forest, ()): 1}
            for (l1, r1), k1 in self._mkw_forest(head, memo).items():
                for (l2, r2), k2 in self._mkw_forest(children, memo).items():
                    right = r1 + (self.tl.index[(r2, label)],)
                    for s, k3 in _shuffles(l1, l2).items():
                        key = (s, right)
                        out[key] = out.get(key, 0) + k1 * k2 * k3
        memo[forest] = out
        return out

    def _remove_leaf(self, t):
        """(tree index or None, label): tree t with one leaf removed, and its label."""
        children, label = self.tl.nodes[t]
        if not children:
            return None, label
        smaller, removed = self._remove_leaf(children[-1])
        rest = children[:-1] + ((smaller,) if smaller is not None else ())
        if not self.planar:
            rest = tuple(sorted(rest))
        return self.tl.index[(rest, label)], removed

    def _parent(self, b):
        """(basis position, label): element b with one node fewer, and that label."""
        if self.planar:
            smaller, label = self._remove_leaf(b[-1])
            parent = b[:-1] + ((smaller,) if smaller is not None else ())
            return self.position[parent], label
        smaller, label = self._remove_leaf(b)
        return (0 if smaller is None else smaller + 1), label

    def _build_native(self):
        """Flat arrays for the native core (see branched.hpp for their meaning)."""
        pos = self.position
        term_ptr = [0]
        coef, right, left = [], [], []
        seg_coef = np.ones(self.n + 1)
        seg_parent = np.zeros(self.n + 1, np.int64)
        seg_label = np.zeros(self.n + 1, np.int64)
        forest_first, forest_rest, forest_index = [], [], {}

        def extended(trees):
            """Index of a non-planar forest (sorted basis positions) in the extended
            vector: the tree itself, or a product entry registered after its rest."""
            if len(trees) == 1:
                return trees[0]
            j = forest_index.get(trees)
            if j is None:
                rest = extended(trees[1:])
                j = forest_index[trees] = self.n + 1 + len(forest_first)
                forest_first.append(trees[0])
                forest_rest.append(rest)
            return j

        memo = {}
        for e in range(1, self.n + 1):
            b = self.basis[e]
            if self.planar:
                terms = [(pos[r], pos[s], k)
                         for (s, r), k in self._mkw_forest(b, memo).items() if s and r]
            else:
                terms = [(r + 1, extended(tuple(t + 1 for t in s)), k)
                         for (s, r), k in self._bck_tree(b, memo).items()
                         if s and r >= 0]
            # Descending right index: the log's scans stop at the first small right.
            terms.sort(key=lambda term: (-term[0], term[1]))
            for r, lft, k in terms:
                coef.append(k)
                right.append(r)
                left.append(lft)
            term_ptr.append(len(coef))
            seg_coef[e] = self._segment_coef(b)
            seg_parent[e], seg_label[e] = self._parent(b)
        order_start = [1] * (self.degree + 2)
        for k in range(self.degree + 1, 1, -1):
            order_start[k] = next(
                (e for e in range(1, self.n + 1) if self.order(e) >= k), self.n + 1
            )
        order_start[0] = 0
        if len(coef) >= 2**31 or self.n + 1 + len(forest_first) >= 2**31:
            raise MemoryError("branched tables too large for 32-bit indices")
        i32 = np.int32
        ratio = seg_coef / seg_coef[seg_parent]
        coef = np.asarray(coef, np.float64)
        return {
            "term_ptr": np.asarray(term_ptr, i32),
            "term_coef_float64": coef,
            "term_coef_float32": coef.astype(np.float32),
            "term_right": np.asarray(right, i32),
            "term_left": np.asarray(left, i32),
            "forest_first": np.asarray(forest_first, i32),
            "forest_rest": np.asarray(forest_rest, i32),
            "seg_parent": seg_parent.astype(i32),
            "seg_label": seg_label.astype(i32),
            "seg_ratio_float64": ratio,
            "seg_ratio_float32": ratio.astype(np.float32),
            "order_start": np.asarray(order_start, i32),
            "degree": self.degree,
        }

    def native(self):
        with self._lock:
            if self._native is None:
                check_native_build(self.d, self.degree, self.planar)
                self._native = self._build_native()
            return self._native

    def core(self, kind):
        """The tables as the CPU core reads them, made once per kind: "sig" (the
        signature), "log" (the log on every element) or "lyndon" (planar methods 1-2).
        """
        cached = self._core.get(kind)
        if cached is None:
            from sksig._core import _branched

            if kind == "sig":
                cached = _branched.Tables(self.native(), self.n)
            elif kind == "log":
                cached = _branched.Tables(self.native(), self.n, self.levels(False))
            else:
                cached = _branched.Tables(self.native(), self.n, self.levels(True),
                                          self.lyndon())
            with self._lock:
                cached = self._core.setdefault(kind, cached)
        return cached

    def levels(self, lyndon_only):
        """Elements at which the log computes P_K (K = 2..degree), as CSR over K.

        All elements with >= K nodes, or (``lyndon_only``, planar methods 1-2) only
        those the Lyndon-forest outputs depend on: Lyndon forests with >= K nodes
        and the right factors that level K + 1 reads.
        """
        key = "levels_lyndon" if lyndon_only else "levels_full"
        nat = self.native()
        with self._lock:
            if key in nat:
                return nat[key]
        order_start = nat["order_start"]
        per_level = {}
        if lyndon_only:
            wanted = np.zeros(self.n + 1, bool)
            wanted[self.lyndon()["positions"]] = True
            term_ptr, right = nat["term_ptr"], nat["term_right"]
            required = np.zeros(self.n + 1, bool)
            for k in range(self.degree, 1, -1):
                elems = np.arange(order_start[k], self.n + 1)
                elems = elems[wanted[elems] | required[elems]]
                per_level[k] = elems
                required = np.zeros(self.n + 1, bool)
                first = order_start[k - 1]
                for e in elems:
                    r = right[term_ptr[e - 1]:term_ptr[e]]
                    required[r[r >= first]] = True
        else:
            for k in range(2, self.degree + 1):
                per_level[k] = np.arange(order_start[k], self.n + 1)
        ptr = [0, 0, 0]
        idx, run_idx, run_end = [], [], []
        term_ptr, right, left = nat["term_ptr"], nat["term_right"], nat["term_left"]
        # Backprop gathers: the level's terms grouped by right (by left) index, groups
        # ascending, each group in the (element, term) order of the level.
        rev = {side: {"lev": [0, 0, 0], "ptr": [0], "t": [], "e": []}
               for side in ("r", "l")}
        for k in range(2, self.degree + 1):
            elems = per_level[k]
            # End of the terms whose right factor has >= k - 1 nodes (rights descend).
            first = order_start[k - 1]
            ends = np.array([term_ptr[e - 1] + np.count_nonzero(
                right[term_ptr[e - 1]:term_ptr[e]] >= first) for e in elems], np.int64)
            # Run order: descending term count, ties in level order.
            order = np.argsort(-(ends - term_ptr[elems - 1]), kind="stable")
            idx.extend(elems.tolist())
            run_idx.extend(elems[order].tolist())
            run_end.extend(ends[order].tolist())
            ptr.append(len(idx))
            starts = term_ptr[elems - 1].astype(np.int64)
            counts = ends - starts
            terms = (np.repeat(starts - np.cumsum(counts) + counts, counts)
                     + np.arange(counts.sum()))
            owner = np.repeat(elems, counts)
            for side, keys in (("r", right), ("l", left)):
                r = rev[side]
                by = keys[terms]
                order = np.argsort(by, kind="stable")
                _, first_of = np.unique(by[order], return_index=True)
                bounds = np.append(first_of[1:], len(order)) if len(order) else first_of
                bounds = bounds + len(r["t"])
                r["ptr"].extend(bounds.tolist())
                r["lev"].append(len(r["ptr"]) - 1)
                r["t"].extend(terms[order].tolist())
                r["e"].extend(owner[order].tolist())
        out = {"level_ptr": np.asarray(ptr[: self.degree + 2], np.int32),
               "level_idx": np.asarray(idx, np.int32),
               "run_idx": np.asarray(run_idx, np.int32),
               "run_end": np.asarray(run_end, np.int32)}
        for side, r in rev.items():
            for name in ("lev", "ptr", "t", "e"):
                values = r[name][: self.degree + 2] if name == "lev" else r[name]
                out[f"rev_{name}_{side}"] = np.asarray(values, np.int32)
        with self._lock:
            nat[key] = out
        return out

    # -- single segment ----------------------------------------------------------------
    def _tree_factorial(self, t):
        children, _ = self.tl.nodes[t]
        out = self.tl.size[t]
        for c in children:
            out *= self._tree_factorial(c)
        return out

    def _planar_coef(self, forest):
        """c(omega), the planar value on a unit segment (exact rational, memoised)."""
        memo = self.__dict__.setdefault("_coef_memo", {})
        if forest in memo:
            return memo[forest]
        memo[forest] = value = self._planar_coef_uncached(forest)
        return value

    def _planar_coef_uncached(self, forest):
        if not forest:
            return Fraction(1)
        head, last = forest[:-1], forest[-1]
        children, _ = self.tl.nodes[last]
        size = self.tl.size[last]
        c_tree = self._planar_coef(children) / size
        if not head:
            return c_tree
        head_size = sum(self.tl.size[t] for t in head)
        return self._planar_coef(head) * c_tree * Fraction(size, head_size + size)

    def _segment_coef(self, b):
        if self.planar:
            return float(self._planar_coef(b))
        return 1.0 / self._tree_factorial(b)

    # -- Lyndon forests (planar log-signature methods 1 and 2) -------------------------
    def lyndon(self):
        """(positions of Lyndon forests in the basis, strictly-lower CSR of T)."""
        with self._lock:
            if self._lyndon is None:
                self._lyndon = self._build_lyndon()
            return self._lyndon

    def _build_lyndon(self):
        if not self.planar:
            raise ValueError("Lyndon forests exist only for planar=True")
        words = [b for b in self.basis[1:] if _is_lyndon(b)]
        where = {w: i for i, w in enumerate(words)}
        positions = np.asarray([self.position[w] for w in words], np.int64)
        cols, vals = [], []
        memo = {}
        for i, w in enumerate(words):
            for u, k in sorted(_bracket(w, memo).items()):
                j = where.get(u)
                if j is None or k == 0:
                    continue
                if j == i:
                    if k != 1:
                        raise AssertionError("Lyndon bracket matrix not unitriangular")
                    continue
                # T[j, i] with j > i (P_w = w + larger words): stored row-wise below.
                cols.append((j, i, k))
        # Re-sort into row-major CSR over rows j.
        cols.sort()
        rows = [[] for _ in words]
        for j, i, k in cols:
            rows[j].append((i, k))
        ptr, idx = [0], []
        for r in rows:
            for i, k in r:
                idx.append(i)
                vals.append(k)
            ptr.append(len(idx))
        return {
            "positions": positions,
            "tri_ptr": np.asarray(ptr, np.int64),
            "tri_idx": np.asarray(idx, np.int64),
            "tri_val": np.asarray(vals, np.float64),
        }


def _shuffles(a, b):
    """Shuffles of two tuples as {sequence: multiplicity}."""
    out = {}
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return {a + b: 1}
    for mask in _interleavings(n, m):
        ia = ib = 0
        seq = []
        for from_a in mask:
            if from_a:
                seq.append(a[ia])
                ia += 1
            else:
                seq.append(b[ib])
                ib += 1
        key = tuple(seq)
        out[key] = out.get(key, 0) + 1
    return out


def _interleavings(n, m):
    if n == 0:
        yield (False,) * m
        return
    if m == 0:
        yield (True,) * n
        return
    for rest in _interleavings(n - 1, m):
        yield (True,) + rest
    for rest in _interleavings(n, m - 1):
        yield (False,) + rest


def _is_lyndon(w):
    return all(w < w[i:] + w[:i] for i in range(1, len(w)))


def _bracket(w, memo):
    """Standard bracketing P_w of a Lyndon word as {word: coef}."""
    if w in memo:
        return memo[w]
    if len(w) == 1:
        out = {w: 1}
    else:
        for i in range(1, len(w)):
            if _is_lyndon(w[i:]):
                u, v = w[:i], w[i:]
                break
        pu, pv = _bracket(u, memo), _bracket(v, memo)
        out = {}
        for x, kx in pu.items():
            for y, ky in pv.items():
                out[x + y] = out.get(x + y, 0) + kx * ky
                out[y + x] = out.get(y + x, 0) - kx * ky
    memo[w] = out
    return out


# The tables are built in Python: beyond this many basis elements (minutes of work and
# gigabytes) a call would appear to hang, so it is refused up front.
_MAX_BASIS = 2**22
# Cost of one coproduct term while the tables are built (Python lists and dicts).
_TERM_SECONDS = 5e-6
_TERM_BYTES = 200
# Lengths beyond 2**63 index nothing; refusing them bounds the counting loops.
_MAX_LENGTH = 2**63


def tables(d, degree, planar):
    """The cached :class:`BranchedTables` for (dimension, degree, planar)."""
    if d == 0:
        degree = min(degree, 1)  # no labels: the basis is the scalar term at any degree
    key = (d, degree, planar)
    with _LOCK:
        t = _TABLES.get(key)
        if t is None:
            n = sum(_tree_counts(d, degree, planar)[1][1:])
            if n > _MAX_BASIS:
                raise ValueError(
                    f"the branched basis of dimension {d} at degree {degree} "
                    f"(planar={planar}) has {n} elements, more than the {_MAX_BASIS} "
                    "sksig can build tables for; lower the degree"
                )
            t = _TABLES[key] = BranchedTables(d, degree, planar)
        return t


def build_estimate(d, degree, planar):
    """(coproduct terms, seconds, bytes) that building the native tables of
    (d, degree, planar) is expected to need, from the basis counts alone.

    Each basis element of ``k`` nodes has about ``1.5**k`` coproduct terms
    (``1.55**k`` planar; within 3x of the measured counts for dimensions 1 to 5),
    built in Python at a few microseconds and some 200 bytes each.
    """
    growth = 1.55 if planar else 1.5
    counts = _tree_counts(d, degree, planar)[1]
    terms = sum(c * growth**k for k, c in enumerate(counts) if k)
    return terms, terms * _TERM_SECONDS, terms * _TERM_BYTES


def check_native_build(d, degree, planar):
    """Refuse (ValueError naming degree) tables too large or slow to build here."""
    _, seconds, nbytes = build_estimate(d, degree, planar)
    what = f"the branched tables of dimension {d} at degree {degree} (planar={planar})"
    check_memory(nbytes, what, "degree")
    check_time(seconds, what, "degree")


def native_tables(d, degree, planar):
    """:func:`tables` for the functions that compute with them: the build is checked
    against the memory and time limits before anything is enumerated."""
    key = (d, min(degree, 1) if d == 0 else degree, planar)
    t = _TABLES.get(key)
    if t is None or t._native is None:
        check_native_build(d, degree, planar)
    return tables(d, degree, planar)


# -- lengths (closed-form counts, no enumeration) --------------------------------------
def _tree_counts(d, degree, planar):
    """(trees with n nodes, basis elements with n nodes) for n = 0..degree."""
    if d == 0:  # no labels, no trees (and no loop over an absurd degree)
        return [0] * 2, [1 if planar else 0, 0]
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
    return trees, (forests if planar else trees)


def _mobius(n):
    result, p = 1, 2
    while p * p <= n:
        if n % p == 0:
            n //= p
            if n % p == 0:
                return 0
            result = -result
        p += 1
    return -result if n > 1 else result


def _check_dims(dimension, degree, planar):
    dimension = check_int(dimension, "dimension")
    degree = check_int(degree, "degree")
    planar = check_bool(planar, "planar")
    return dimension, degree, planar


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

    Raises
    ------
    TypeError, ValueError
        If an argument has the wrong type or is negative.

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

    Raises
    ------
    TypeError, ValueError
        If an argument has the wrong type or is negative.

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
        ell = sum(_mobius(n // k) * k * c[k] for k in range(1, n + 1) if n % k == 0) / n
        total += int(ell)
    return total


# -- public enumeration API ------------------------------------------------------------
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

    Raises
    ------
    TypeError, ValueError
        If an argument has the wrong type or is negative.

    Examples
    --------
    >>> import sksig
    >>> sksig.trees(2, 2)
    (None, (0,), (1,), ((0,), 0), ((0,), 1), ((1,), 0), ((1,), 1))
    """
    dimension, degree, planar = _check_dims(dimension, degree, planar)
    t = tables(dimension, degree, planar)
    return tuple(t.element_tuple(i) for i in range(t.n + 1))


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

    Raises
    ------
    TypeError, ValueError
        If an argument has the wrong type or is negative.

    Examples
    --------
    >>> import sksig
    >>> sksig.trees_of_order(1, 3)
    (((0,), (0,), 0), (((0,), 0), 0))
    """
    dimension, order, planar = _check_dims(dimension, order, planar)
    if order == 0:
        return (None,)
    t = tables(dimension, order, planar)
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
    t = tables(dimension, degree, planar)
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
    t = tables(dimension, degree, planar)
    i = idx + (0 if scalar_term else 1)
    if i > t.n:
        raise ValueError(
            f"idx must be in [0, {t.n + (1 if scalar_term else 0)}), got {idx}"
        )
    return t.element_tuple(i)
