# cython: boundscheck=False, wraparound=False
"""Thin wrapper over include/sksig/finite.hpp: the finiteness check of the input layer
(one pass, no temporary, no floating-point warnings); and the OpenMP thread limit that
n_jobs=-1 resolves to (sksig._validation.resolve_n_jobs)."""
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


cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int sksig_omp_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int sksig_omp_max_threads(void) { return 1; }
    #endif
    """
    int sksig_omp_max_threads() noexcept nogil


def omp_max_threads():
    """``omp_get_max_threads()`` of the OpenMP runtime the cores run on: it follows
    ``OMP_NUM_THREADS`` and threadpoolctl's limits (1 when built without OpenMP)."""
    return sksig_omp_max_threads()
