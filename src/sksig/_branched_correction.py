"""Branched signatures with per-segment corrections (``correction=`` of branched_sig).

A correction adds, on every segment, values of level ``k >= 2`` on the chain trees (a
root and a single line of descendants, labels read from the root to the leaf) to the
segment's increment on the single-node trees. The segment's local branched signature
is then the exponential of that primitive element ``P`` in the group of branched
signatures, not the closed form of a straight line. It is computed as the solution at
time 1 of ``dX/dt = X * P``, ``X(0) = 1``: every coefficient of ``X`` is a polynomial in
``t`` whose coefficients follow exactly from those of smaller trees (the product with a
primitive ``P`` only cuts off single trees), integrated term by term. The local
signatures are then multiplied by Chen's product (the native
:func:`sksig.branched_sig_combine` core), and the reverse pass runs the same steps
backwards; the correction is a constant and gets no gradient.

Computed in numpy (one loop over the basis per call): meant for modest bases.
"""

import numpy as np

from sksig._array import as_array
from sksig._limits import check_memory

__all__ = []


def check_correction(correction, original_dim, degree, batch, basepoint):
    """``(correction (n_paths, n_segments, C), highest level, original_dim)`` in
    float64, or None when absent or empty. ``original_dim`` channels carry it (a time
    channel appended by time_aug, the last one, does not)."""
    if correction is None:
        return None
    array, _ = as_array(correction, "correction")
    if array.size == 0:
        return None
    if batch.ragged:
        raise ValueError("correction needs paths of one length (an array), not a "
                         "ragged list")
    if basepoint is not None:
        raise ValueError("correction cannot be combined with basepoint")
    width = array.shape[-1] if array.ndim else -1
    top, total = None, 0
    for level in range(2, degree + 1):
        total += original_dim**level
        if total == width:
            top = level
            break
    if top is None:
        raise ValueError(
            "correction must have a trailing length d**2 + ... + d**m with 2 <= m <= "
            f"degree={degree} (d = {original_dim}, the path's own channels), got "
            f"shape {array.shape}"
        )
    n_paths, n_segments = batch.n_paths, max(batch.length - 1, 0)
    full_shape = tuple(batch.batch_shape) + (n_segments, width)
    if array.shape == (width,):
        full = np.broadcast_to(array, (n_paths, n_segments, width))
    elif array.shape == (n_segments, width):
        full = np.broadcast_to(array[None], (n_paths, n_segments, width))
    elif array.shape == full_shape:
        full = array.reshape((n_paths, n_segments, width))
    else:
        raise ValueError(
            f"correction must have shape ({width},), ({n_segments}, {width}) or "
            f"{full_shape} (one row per segment and path), got {array.shape}"
        )
    return np.ascontiguousarray(full, dtype=np.float64), top, original_dim


def _chain_positions(tb, original_dim, top):
    """Basis positions of the chain trees with labels (i_1 .. i_k), root i_1, k =
    2..top, in the flat correction order (levels, then words lexicographically)."""
    from itertools import product

    from sksig._trees import tree_to_idx

    out = []
    for k in range(2, top + 1):
        for word in product(range(original_dim), repeat=k):
            tree = (word[-1],)
            for label in reversed(word[:-1]):
                tree = (tree, label)
            element = (tree,) if tb.planar else tree
            out.append(tree_to_idx(element, tb.d, tb.degree, planar=tb.planar,
                                   scalar_term=True))
    return np.asarray(out, np.int64)


class _Program:
    """The recursion of dX/dt = X * P on one basis, as index lists."""

    def __init__(self, tb):
        nat = tb.native()
        self.n, self.degree = tb.n, tb.degree
        ptr = nat["term_ptr"]
        self.terms = [(nat["term_left"][ptr[e - 1]:ptr[e]].astype(np.int64),
                       nat["term_right"][ptr[e - 1]:ptr[e]].astype(np.int64),
                       nat["term_coef_float64"][ptr[e - 1]:ptr[e]])
                      for e in range(1, tb.n + 1)]
        self.forest_first = nat["forest_first"].astype(np.int64)
        self.forest_rest = nat["forest_rest"].astype(np.int64)


def _poly_mul(a, b, degree):
    out = np.zeros_like(a)
    for i in range(degree + 1):
        out[:, i:] += a[:, i:i + 1] * b[:, :degree + 1 - i]
    return out


def _local_forward(prog, P):
    """Polynomial coefficients A (m + n_forest, rows, degree + 1) of X(t)."""
    rows, N = P.shape[0], prog.degree
    m = prog.n + 1
    A = np.zeros((m + prog.forest_first.shape[0], rows, N + 1))
    A[0, :, 0] = 1.0
    done = np.zeros(A.shape[0], bool)
    done[0] = True
    inv = 1.0 / np.arange(1, N + 1)

    order = []

    def need(j):
        if not done[j]:  # a forest entry: the product of its first tree and the rest
            f = j - m
            need(prog.forest_first[f])
            need(prog.forest_rest[f])
            A[j] = _poly_mul(A[prog.forest_first[f]], A[prog.forest_rest[f]], N)
            done[j] = True
            order.append(j)

    for e in range(1, m):
        left, right, coef = prog.terms[e - 1]
        s = np.zeros((rows, N + 1))
        s[:, 0] = P[:, e]
        for lt, rt, c in zip(left, right, coef, strict=True):
            need(lt)
            s += (c * P[:, rt])[:, None] * A[lt]
        A[e, :, 1:] = s[:, :-1] * inv
        done[e] = True
        order.append(e)
    return A, order


def _local_backward(prog, P, A, order, gX):
    """dF/dP (rows, m) from dF/dX(1) (rows, m) through _local_forward."""
    m, N = prog.n + 1, prog.degree
    gA = np.zeros_like(A)
    gA[:m] = gX.T[:, :, None]  # X(1) = sum_k A[e, k]
    gP = np.zeros_like(P)
    inv = 1.0 / np.arange(1, N + 1)
    for j in reversed(order):
        if j >= m:
            f = j - m
            a, b = prog.forest_first[f], prog.forest_rest[f]
            g = gA[j]
            for i in range(N + 1):  # out[:, i + k] += A[a][:, i] * A[b][:, k]
                gA[a][:, i] += np.sum(g[:, i:] * A[b][:, :N + 1 - i], axis=1)
                gA[b][:, :N + 1 - i] += g[:, i:] * A[a][:, i:i + 1]
            continue
        gs = np.zeros((P.shape[0], N + 1))
        gs[:, :-1] = gA[j][:, 1:] * inv
        gP[:, j] += gs[:, 0]
        left, right, coef = prog.terms[j - 1]
        for lt, rt, c in zip(left, right, coef, strict=True):
            gP[:, rt] += c * np.sum(gs * A[lt], axis=1)
            gA[lt] += (c * P[:, rt])[:, None] * gs
    return gP


def _primitive(tb, v, corr, positions):
    P = np.zeros((v.shape[0], tb.n + 1))
    P[:, 1:tb.d + 1] = v
    np.add.at(P, (slice(None), positions), corr)
    return P


def _locals(batch, tb, corr):
    """(program, P, A, order, values (n_paths, segs, n + 1)) of the segments."""
    corr_array, top, original_dim = corr
    prog = _Program(tb)
    positions = _chain_positions(tb, original_dim, top)
    inc = np.diff(batch.data.astype(np.float64), axis=1)  # (n_paths, segs, dim)
    n_paths, segs = inc.shape[:2]
    n_entries = tb.n + 1 + prog.forest_first.shape[0]
    check_memory(3 * 8 * n_entries * n_paths * segs * (tb.degree + 1),
                 "the corrected local signatures (numpy, every segment at once)",
                 "the number of paths or segments")
    P = _primitive(tb, inc.reshape((-1, tb.d)),
                   corr_array.reshape((n_paths * segs, -1)), positions)
    A, order = _local_forward(prog, P)
    values = A[:tb.n + 1].sum(axis=2).T.reshape((n_paths, segs, tb.n + 1))
    return prog, P, A, order, np.ascontiguousarray(values)


def _chen_prefixes(values, tb, n_threads):
    """[X_0, X_0 X_1, ...] of the local signatures (n_paths, segs, n + 1)."""
    from sksig._core import _backend

    prefixes = [np.ascontiguousarray(values[:, 0])]
    for s in range(1, values.shape[1]):
        nxt = np.empty_like(prefixes[-1])
        _backend.branched_combine(prefixes[-1], np.ascontiguousarray(values[:, s]), nxt,
                                  tb, True, n_threads)
        prefixes.append(nxt)
    return prefixes


def corrected_sig(batch, tb, corr, n_threads):
    """(n_paths, n) branched signatures of the transformed paths with corrections."""
    if batch.length < 2 or tb.n == 0:
        return np.zeros((batch.n_paths, tb.n), batch.data.dtype)
    values = _locals(batch, tb, corr)[4]
    return _chen_prefixes(values, tb, n_threads)[-1][:, 1:].astype(batch.data.dtype)


def corrected_sig_backprop(batch, tb, corr, derivs, n_threads):
    """dF/d(transformed paths) (n_paths, length, dim) for dF/d bsig ``derivs``
    (n_paths, n) of :func:`corrected_sig`."""
    from sksig._core import _backend

    grad = np.zeros(batch.data.shape, np.float64)
    if batch.length < 2 or tb.n == 0:
        return grad.astype(batch.data.dtype)
    prog, P, A, order, values = _locals(batch, tb, corr)
    n_paths, segs = values.shape[:2]
    prefixes = _chen_prefixes(values, tb, n_threads)
    g = np.zeros((n_paths, tb.n + 1))
    g[:, 1:] = derivs
    g_local = np.zeros_like(values)
    for s in range(segs - 1, 0, -1):  # the reverse of the Chen products
        g_prev, g_seg = np.empty_like(g), np.empty_like(g)
        seg = np.ascontiguousarray(values[:, s])
        _backend.branched_combine_backprop(prefixes[s - 1], seg, g, g_prev, g_seg, tb,
                                           True, n_threads)
        g_local[:, s] = g_seg
        g = g_prev
    g_local[:, 0] = g
    g_local[:, :, 0] = 0.0
    gP = _local_backward(prog, P, A, order, g_local.reshape((n_paths * segs, -1)))
    gv = gP[:, 1:tb.d + 1].reshape((n_paths, segs, tb.d))
    grad[:, 1:] += gv
    grad[:, :-1] -= gv
    return grad.astype(batch.data.dtype)
