"""Pure-Python builder of the Lyndon tables: the oracle of the native builder.

This is the former ``sksig._lyndon._build_tables`` (the tables' definition, SPEC.md
section 8), on words enumerated by brute force: the native builder in
sksig/_core/include/sksig/lyndon.hpp must return exactly these arrays, entry by entry
and in the same order.
"""

import numpy as np
from _oracles_tensor import lyndon_words


def _index(word, dim):
    """Row-major index of a word within its level."""
    i = 0
    for letter in word:
        i = i * dim + letter
    return i


def build_tables(dim, degree):
    """(pos, tri_ptr, tri_col, tri_val, exp_ptr, exp_pos, exp_val) of (dim, degree)."""
    # From the definition (smaller than every proper rotation), by length then
    # lexicographically: not the library's generator.
    words_ = lyndon_words(dim, degree)
    id_of = {w: n for n, w in enumerate(words_)}
    offsets = np.cumsum([0] + [dim**k for k in range(degree + 1)])
    pos = np.array([offsets[len(w)] + _index(w, dim) for w in words_], dtype=np.int64)

    # Standard bracketing P_w = [P_u, P_v], v the longest proper Lyndon suffix of w,
    # expanded as {index within level: integer coefficient}, keys in insertion order.
    expansion = []
    for w in words_:
        if len(w) == 1:
            expansion.append({w[0]: 1})
            continue
        split = next(i for i in range(1, len(w)) if w[i:] in id_of)
        pu, pv = expansion[id_of[w[:split]]], expansion[id_of[w[split:]]]
        shift_u, shift_v = dim ** split, dim ** (len(w) - split)
        terms = {}
        for a, ca in pu.items():
            for b, cb in pv.items():
                uv, vu = a * shift_v + b, b * shift_u + a
                terms[uv] = terms.get(uv, 0) + ca * cb
                terms[vu] = terms.get(vu, 0) - ca * cb
        expansion.append({k: c for k, c in terms.items() if c})

    # T[u, w] = <P_w, u> for Lyndon u of the same length: unit diagonal, zero above it,
    # stored by row u, no diagonal.
    rows = [[] for _ in words_]
    level_lyndon = [
        {_index(w, dim): id_of[w] for w in words_ if len(w) == k}
        for k in range(degree + 1)
    ]
    for n, w in enumerate(words_):
        lookup = level_lyndon[len(w)]
        for key, coef in expansion[n].items():
            u = lookup.get(key)
            if u is not None and u != n:
                rows[u].append((n, coef))
    tri_ptr = np.cumsum([0] + [len(r) for r in rows]).astype(np.int64)
    tri_col = np.array([c for r in rows for c, _ in r], dtype=np.int64)
    tri_val = np.array([v for r in rows for _, v in r], dtype=np.float64)

    exp_ptr = np.cumsum([0] + [len(e) for e in expansion]).astype(np.int64)
    exp_pos = np.array(
        [offsets[len(w)] + k
         for w, e in zip(words_, expansion, strict=True) for k in e],
        dtype=np.int64,
    )
    exp_val = np.array([c for e in expansion for c in e.values()], dtype=np.float64)
    return pos, tri_ptr, tri_col, tri_val, exp_ptr, exp_pos, exp_val
