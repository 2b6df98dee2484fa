"""The tolerances of the test suite: one table, by kind of comparison and dtype.

A test compares a result with an independent value; how close they must be depends on
what the two computations share, not on the test. Use ``tol(kind, dtype)`` (keyword
arguments of ``numpy.testing.assert_allclose``) instead of literals, so that one
meaning has one number. Entries are never loosened to make a test pass.
"""

import numpy as np

_F64, _F32 = np.dtype(np.float64), np.dtype(np.float32)

TOLERANCES = {
    # Two computations of one number by the same formula (a transform and a call,
    # ragged and padded, a scale inside or outside, sksig's statistic and numpy's):
    # the same float64 operations, possibly reordered.
    "same_value": {_F64: dict(rtol=1e-13)},
    # A result against a naive numpy oracle of the same formula (the Goursat PDE cell
    # by cell, static kernels point by point): rounding of short float64 sums.
    "oracle": {_F64: dict(rtol=1e-12)},
    # A result against the stored reference files (computed by other code, pySigLib
    # among it); relative to max(1, |want|) (see conftest.assert_close_ref).
    "reference": {_F64: dict(rtol=1e-9)},
    # An exact gradient against central differences with step 1e-6: truncation error
    # O(h**2) relative, cancellation O(eps / h) absolute.
    "fd": {_F64: dict(rtol=1e-6, atol=1e-8)},
    # A float32 computation against the float64 one (or its oracle): float32 rounding
    # accumulated over a path.
    "float32": {_F32: dict(rtol=1e-4, atol=1e-5)},
    # A CUDA twin (on a GPU or the CPU emulation) against the CPU core or a reference,
    # relative to max(1, |want|): other summation orders and FMA contractions.
    "device": {_F64: dict(rtol=1e-10), _F32: dict(rtol=1e-5)},
}


def tol(kind, dtype=None):
    """``dict(rtol=..., atol=...)`` of comparison ``kind`` for results of ``dtype``
    (None: float64, or the one dtype the kind has)."""
    table = TOLERANCES[kind]
    key = next(iter(table)) if dtype is None and _F64 not in table else np.dtype(
        dtype or np.float64)
    return dict(table[key])
