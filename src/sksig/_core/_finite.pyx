# cython: boundscheck=False, wraparound=False
"""Thin wrapper over include/sksig/finite.hpp: the finiteness check of the input layer
(one pass, no temporary, no floating-point warnings); and the OpenMP thread limit that
n_jobs=-1 resolves to (sksig._validation.resolve_n_jobs)."""
from libcpp cimport bool as cbool

from sksig._core cimport native


# Two entry points instead of one fused def: fused dispatch costs more than the check
# itself on the small arrays of a single-item call.
def all_finite_float64(const double[::1] x):
    """True when the 1-D contiguous float64 array ``x`` has no NaN or inf."""
    cdef cbool result
    with nogil:
        result = native.all_finite(&x[0], x.shape[0]) if x.shape[0] else True
    return result


def all_finite_float32(const float[::1] x):
    """True when the 1-D contiguous float32 array ``x`` has no NaN or inf."""
    cdef cbool result
    with nogil:
        result = native.all_finite(&x[0], x.shape[0]) if x.shape[0] else True
    return result


def omp_max_threads():
    """``omp_get_max_threads()`` of the OpenMP runtime the cores run on: it follows
    ``OMP_NUM_THREADS`` and threadpoolctl's limits (1 when built without OpenMP)."""
    return native.omp_max_threads()
