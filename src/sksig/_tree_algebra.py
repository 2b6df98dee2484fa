"""The Hopf algebras of rooted trees: coproducts, one segment's values, Lyndon forests.

:class:`TreeAlgebra` adds to a :class:`sksig._trees.TreeBasis` the combinatorics the
native tables are made of: the Butcher-Connes-Kreimer coproduct of a tree (non-planar)
and the Munthe-Kaas-Wright coproduct of an ordered forest (planar), the value of every
element on a unit straight segment (tree factorials, planar coefficients), the parent
of every element (one node fewer) and the Lyndon forests with their bracket matrix
(planar log-signature methods 1 and 2). All exact (integers and fractions).
"""

import threading
from fractions import Fraction

import numpy as np

from sksig._trees import TreeBasis, basis


class TreeAlgebra(TreeBasis):
    """A basis with its coproducts, segment coefficients and Lyndon forests.

    Shares the enumeration of the cached :func:`sksig._trees.basis` (no copy).
    """

    def __init__(self, d, degree, planar):
        b = basis(d, degree, planar)
        self.__dict__.update(b.__dict__)
        self._lock = threading.Lock()
        self._lyndon = None

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

    def lyndon_expansion(self):
        """(positions, Lyndon indices, coefficients): the bracket polynomial P_w of
        every Lyndon forest w (in the order of :meth:`lyndon`) on every forest, as
        COO entries; a log-signature with coordinates c in the Lyndon bracket basis
        has the value sum_j c_j P_{w_j}(u) at the forest u."""
        with self._lock:
            cached = self.__dict__.get("_lyndon_expansion")
        if cached is not None:
            return cached
        if not self.planar:
            raise ValueError("Lyndon forests exist only for planar=True")
        words = [b for b in self.basis[1:] if _is_lyndon(b)]
        rows, cols, vals = [], [], []
        memo = {}
        for j, w in enumerate(words):
            for u, k in sorted(_bracket(w, memo).items()):
                if k:
                    rows.append(self.position[u])
                    cols.append(j)
                    vals.append(k)
        out = (np.asarray(rows, np.int64), np.asarray(cols, np.int64),
               np.asarray(vals, np.float64))
        with self._lock:
            return self.__dict__.setdefault("_lyndon_expansion", out)

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

