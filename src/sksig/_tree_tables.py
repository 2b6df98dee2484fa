"""The branched tables as the native cores read them, and their cache.

:class:`BranchedTables` flattens the coproducts and segment coefficients of
:class:`sksig._tree_algebra.TreeAlgebra` into the arrays of ``branched.hpp`` (see that
header for their meaning), with the level and gather tables of the log; :func:`tables`
keeps one per (dimension, degree, planar). The build runs in Python, so its cost is
estimated from the basis counts and checked against the limits before it starts.
"""

import threading

import numpy as np

from sksig._limits import check_memory, check_time
from sksig._tree_algebra import TreeAlgebra
from sksig._trees import _tree_counts, basis, cached

_LOCK = threading.RLock()
_TABLES = {}  # (d, N, planar) -> BranchedTables
# Cost of one coproduct term while the tables are built (Python lists and dicts).
_TERM_SECONDS = 5e-6
_TERM_BYTES = 200


class BranchedTables(TreeAlgebra):
    """Basis, coproduct and native tables for one (dimension, degree, planar).

    Attributes
    ----------
    basis : list
        The internal basis elements, as :attr:`sksig._trees.TreeBasis.basis`.
    n : int
        Number of basis elements without the scalar term.
    """

    def __init__(self, d, degree, planar):
        super().__init__(d, degree, planar)
        self._native = None
        self._core = {}

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
        signature), "log" (the log on every element) or "lyndon" (planar methods 1-2:
        the same full log, its Lyndon entries read off; computing every element in
        one fused pass is faster than the levels restricted to what those entries
        need, 1.1-1.4x for the log and 1.3-1.8x for its backprop, d 2-5, degree 3-6).
        """
        cached = self._core.get(kind)
        if cached is None:
            from sksig._core import _branched

            if kind == "sig":
                cached = _branched.Tables(self.native(), self.n)
            elif kind == "log":
                cached = _branched.Tables(self.native(), self.n, self.levels(False))
            else:
                cached = _branched.Tables(self.native(), self.n, self.levels(False),
                                          self.lyndon())
            with self._lock:
                cached = self._core.setdefault(kind, cached)
        return cached

    def _fused_order(self, nat):
        """Elements 1..n in the order the native core's single pass of the log takes
        them (method 0, see branched.hpp): by number of nodes, then by the number of
        terms whose right factor has s - 1, s - 2, ... nodes, then by index."""
        order_start, term_ptr = nat["order_start"], nat["term_ptr"]
        elems = np.arange(1, self.n + 1)
        nodes = np.searchsorted(order_start[1:self.degree + 1], elems, side="right")
        right_nodes = np.searchsorted(order_start[1:self.degree + 1], nat["term_right"],
                                      side="right")
        keys = []
        for e, s in zip(elems.tolist(), nodes.tolist()):
            r = right_nodes[term_ptr[e - 1]:term_ptr[e]]
            counts = tuple(int(np.count_nonzero(r == k)) for k in range(s - 1, 0, -1))
            keys.append((s,) + counts + (e,))
        return np.asarray([key[-1] for key in sorted(keys)], np.int32)

    def levels(self, lyndon_only):
        """Elements at which the log computes P_K (K = 2..degree), as CSR over K.

        All elements with >= K nodes (the CPU cores), or (``lyndon_only``, planar
        methods 1-2 on the CUDA core) only those the Lyndon-forest outputs depend on:
        Lyndon forests with >= K nodes and the right factors that level K + 1 reads.
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
            # Run order: the elements below degree nodes, then the top elements (the
            # log of these collapses its levels, see top_log in branched.hpp), each
            # part by descending term count, ties in level order.
            is_top = elems >= order_start[self.degree]
            order = np.lexsort((-(ends - term_ptr[elems - 1]), is_top))
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
        if not lyndon_only:
            out["fused_order"] = self._fused_order(nat)
        for side, r in rev.items():
            for name in ("lev", "ptr", "t", "e"):
                values = r[name][: self.degree + 2] if name == "lev" else r[name]
                out[f"rev_{name}_{side}"] = np.asarray(values, np.int32)
        with self._lock:
            nat[key] = out
        return out



def _new_tables(d, degree, planar):
    basis(d, degree, planar)  # refuses bases too large to enumerate
    return BranchedTables(d, degree, planar)


def tables(d, degree, planar):
    """The cached :class:`BranchedTables` for (dimension, degree, planar)."""
    return cached(_TABLES, _LOCK, d, degree, planar, _new_tables)


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

