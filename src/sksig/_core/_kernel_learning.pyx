# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/kernel_learning.hpp.

Every argument was checked in sksig/_kernel_learning.py; ``kernel`` is the tuple
``(kind, p0, p1, p2, clamp)`` of sksig/_static_kernels.py.
"""
from cython cimport floating
from libc.stdint cimport int64_t
from libcpp cimport bool as cbool

from sksig._core._errors import raise_for_status
from sksig._core.native cimport GoursatShape, KernelParams, goursat_shape, kernel_params


cdef extern from "sksig/kernel_learning.hpp" namespace "sksig" nogil:
    int sig_kernel_param_jacobian[T](const T* x, const T* y, const int64_t* i1,
                                     const int64_t* i2, int64_t n_pairs,
                                     GoursatShape sh, KernelParams kernel,
                                     const T* derivs, cbool time_last, T* values,
                                     T* jac, int n_threads) noexcept


def param_jacobian(const floating[:, :, ::1] x,  # IN (nx, L1, d)
                   const floating[:, :, ::1] y,  # IN (ny, L2, d)
                   const int64_t[::1] i1,  # IN (n_pairs,) rows of x
                   const int64_t[::1] i2,  # IN (n_pairs,) rows of y
                   tuple orders, tuple kernel,
                   const floating[::1] derivs,  # IN (n_pairs,) or empty (all ones)
                   bint time_last,
                   floating[::1] values,  # OUT (n_pairs,) or empty (not wanted)
                   floating[:, ::1] jac,  # OUT (n_pairs, 4)
                   int n_threads):
    """Kernels and derivs-weighted parameter derivatives of the pairs (x[i1], y[i2])."""
    cdef int status
    cdef KernelParams k = kernel_params(kernel)
    cdef GoursatShape sh = goursat_shape(x.shape[1], y.shape[1], x.shape[2], orders)
    cdef int64_t n_pairs = i1.shape[0]
    if n_pairs == 0:
        return
    with nogil:
        status = sig_kernel_param_jacobian(
            &x[0, 0, 0], &y[0, 0, 0], &i1[0], &i2[0], n_pairs, sh, k,
            &derivs[0] if derivs.shape[0] else NULL, time_last,
            &values[0] if values.shape[0] else NULL, &jac[0, 0], n_threads)
    raise_for_status(status, "signature kernel parameter gradient")
