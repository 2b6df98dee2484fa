# cython: boundscheck=False, wraparound=False
"""Thin wrapper over include/sksig/finite.hpp: the finiteness check of the input layer
(one pass, no temporary, no floating-point warnings)."""
from libc.stdint cimport int64_t
from libcpp cimport bool as cbool


cdef extern from "sksig/finite.hpp" namespace "sksig" nogil:
    cbool all_finite[T](const T* v, int64_t n) noexcept


# Two entry points instead of one fused def: fused dispatch costs more than the check
# itself on the small arrays of a single-item call.
def all_finite_float64(const double[::1] x):
    """True when the 1-D contiguous float64 array ``x`` has no NaN or inf."""
    cdef cbool result
    with nogil:
        result = all_finite(&x[0], x.shape[0]) if x.shape[0] else True
    return result


def all_finite_float32(const float[::1] x):
    """True when the 1-D contiguous float32 array ``x`` has no NaN or inf."""
    cdef cbool result
    with nogil:
        result = all_finite(&x[0], x.shape[0]) if x.shape[0] else True
    return result
