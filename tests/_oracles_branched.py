"""Naive oracles for branched signatures, written from SPEC.md sections 7 and 10-11.

Nothing here uses sksig's coproduct tables: iterated integrals are integrated exactly as
piecewise polynomials, single segments use the closed forms, the BCK coproduct is
enumerated by admissible cuts, the ordinary signature by tensor exponentials.
"""

from fractions import Fraction
from itertools import product

import numpy as np
from numpy.polynomial import Polynomial

# -- exact iterated integrals over a polyline (SPEC.md 10.3) ---------------------------
# A path-dependent quantity is a list of polynomials, one per segment, in the local
# parameter s in [0, 1]; x(s) = x_i + s * v_i on segment i.


def _integrate(integrand, increments, label):
    """t -> int_0^t integrand dx^label, as per-segment polynomials."""
    out, start = [], 0.0
    for poly, v in zip(integrand, increments, strict=True):
        antiderivative = (poly * v[label]).integ()
        piece = antiderivative - antiderivative(0.0) + start
        out.append(piece)
        start = piece(1.0)
    return out


def _one(increments):
    return [Polynomial([1.0]) for _ in increments]


def _mul(a, b):
    return [p * q for p, q in zip(a, b, strict=True)]


def _nonplanar(tree, increments, memo):
    if tree not in memo:
        integrand = _one(increments)
        for child in tree[:-1]:
            integrand = _mul(integrand, _nonplanar(child, increments, memo))
        memo[tree] = _integrate(integrand, increments, tree[-1])
    return memo[tree]


def _planar_forest(forest, increments, memo):
    if forest not in memo:
        if not forest:
            memo[forest] = _one(increments)
        else:
            head, last = forest[:-1], forest[-1]
            integrand = _mul(_planar_forest(head, increments, memo),
                             _planar_forest(tuple(last[:-1]), increments, memo))
            memo[forest] = _integrate(integrand, increments, last[-1])
    return memo[forest]


def iterated_integral(element, path, planar):
    """X_{0,1}(element) of the polyline ``path`` (L, d) by exact integration."""
    increments = np.diff(np.asarray(path, dtype=np.float64), axis=0)
    if element is None:
        return 1.0
    if len(increments) == 0:
        return 0.0
    memo = {}
    if planar:
        return float(_planar_forest(element, increments, memo)[-1](1.0))
    return float(_nonplanar(element, increments, memo)[-1](1.0))


# -- single segment closed forms -------------------------------------------------------
def _labels(tree):
    out = [tree[-1]]
    for child in tree[:-1]:
        out.extend(_labels(child))
    return out


def _size(tree):
    return 1 + sum(_size(c) for c in tree[:-1])


def tree_factorial(tree):
    out = _size(tree)
    for child in tree[:-1]:
        out *= tree_factorial(child)
    return out


def planar_coefficient(forest):
    """c(omega) of SPEC.md 10.3."""
    if not forest:
        return Fraction(1)
    head, last = forest[:-1], forest[-1]
    c_tree = planar_coefficient(tuple(last[:-1])) / _size(last)
    if not head:
        return c_tree
    head_size = sum(_size(t) for t in head)
    return planar_coefficient(head) * c_tree * Fraction(_size(last),
                                                       head_size + _size(last))


def segment_value(element, v, planar):
    if element is None:
        return 1.0
    if planar:
        labels = [a for t in element for a in _labels(t)]
        return float(planar_coefficient(element)) * float(np.prod(v[labels]))
    return float(np.prod(v[_labels(element)])) / tree_factorial(element)


# -- BCK coproduct by admissible cuts (non-planar) -------------------------------------
def _nodes(tree, path=()):
    """Yield (address, subtree) for every node; the address is the child-index path."""
    yield path, tree
    for i, child in enumerate(tree[:-1]):
        yield from _nodes(child, path + (i,))


def _trunk(tree, cut, address=()):
    kept = [
        _trunk(child, cut, address + (i,))
        for i, child in enumerate(tree[:-1])
        if address + (i,) not in cut
    ]
    return tuple(kept) + (tree[-1],)


def admissible_cuts(tree):
    """Yield (pruned subtrees, trunk) over admissible cuts, the full cut included."""
    addresses = [a for a, _ in _nodes(tree) if a]
    subtree = dict(_nodes(tree))
    yield [tree], None
    for mask in product((False, True), repeat=len(addresses)):
        cut = {a for a, m in zip(addresses, mask, strict=True) if m}
        # at most one cut per root-to-leaf path: no cut address prefixes another
        if any(a != b and b[: len(a)] == a for a in cut for b in cut):
            continue
        yield [subtree[a] for a in cut], _trunk(tree, cut)


def canonical(tree, key):
    """Children of a non-planar tree sorted by ``key`` (recursively)."""
    children = sorted((canonical(c, key) for c in tree[:-1]), key=key)
    return tuple(children) + (tree[-1],)


# -- ordinary signature (SPEC.md 7) ----------------------------------------------------
def signature_levels(path, degree):
    """[S^1, ..., S^N] as dense tensors, Chen products of tensor exponentials."""
    path = np.asarray(path, dtype=np.float64)
    d = path.shape[1]
    levels = [np.zeros((d,) * k) for k in range(1, degree + 1)]
    for v in np.diff(path, axis=0):
        exp = [v.copy()]
        for k in range(2, degree + 1):
            exp.append(np.multiply.outer(exp[-1], v) / k)
        new = []
        for k in range(1, degree + 1):
            acc = levels[k - 1] + exp[k - 1]
            for j in range(1, k):
                acc = acc + np.multiply.outer(levels[j - 1], exp[k - j - 1])
            new.append(acc)
        levels = new
    return levels


def ladder(word):
    """Linear tree: the deepest node carries word[0], the root word[-1]."""
    tree = (word[0],)
    for a in word[1:]:
        tree = (tree, a)
    return tree


# -- log via d/dt X^{*t} at t = 0 (SPEC.md 11.1) ---------------------------------------
def repeated(path, times):
    """The path run ``times`` times in a row (translated copies), (times*(L-1)+1, d)."""
    path = np.asarray(path, dtype=np.float64)
    inc = np.tile(np.diff(path, axis=0), (times, 1))
    return np.vstack([path[:1], path[:1] + np.cumsum(inc, axis=0)])


def derivative_at_zero_weights(degree):
    """w_n (n = 0..degree) with p'(0) = sum_n w_n p(n) for p of that degree."""
    nodes = range(degree + 1)
    weights = []
    for n in nodes:
        # Lagrange basis l_n(t) = prod_{m != n} (t - m) / (n - m); l_n'(0).
        denom = Fraction(1)
        for m in nodes:
            if m != n:
                denom *= n - m
        others = [m for m in nodes if m != n]
        # derivative at 0 of prod (t - m) = sum_j prod_{i != j} (0 - m_i)
        deriv = Fraction(0)
        for j in range(len(others)):
            term = Fraction(1)
            for i, m in enumerate(others):
                if i != j:
                    term *= -m
            deriv += term
        weights.append(float(deriv / denom))
    return weights


def lyndon_bracket(word):
    """Standard bracketing of a Lyndon word over any ordered alphabet: {word: coef}."""
    if len(word) == 1:
        return {word: 1}
    for i in range(1, len(word)):
        suffix = word[i:]
        if all(suffix < suffix[j:] + suffix[:j] for j in range(1, len(suffix))):
            u, v = word[:i], suffix
            break
    out = {}
    for x, kx in lyndon_bracket(u).items():
        for y, ky in lyndon_bracket(v).items():
            out[x + y] = out.get(x + y, 0) + kx * ky
            out[y + x] = out.get(y + x, 0) - kx * ky
    return out
