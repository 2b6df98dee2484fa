# cython: boundscheck=False, wraparound=False
"""Thin wrapper over include/sksig/fast_exp.hpp, the exp of the static kernels.

Not public: tests/test_fast_exp.py measures its accuracy and compares its vector and
scalar copies through it.
"""
from cython cimport floating

from sksig._core cimport native


def exp_row(const floating[::1] x,  # IN (n,)
            floating[::1] out):  # OUT (n,), the same dtype
    """out[i] = exp(x[i]) by the cores' vectorisable exp."""
    if x.shape[0] != out.shape[0]:
        raise ValueError("exp_row: x and out must have the same length")
    if x.shape[0]:
        with nogil:
            native.exp_row(&x[0], &out[0], x.shape[0])
