# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/kernel_learning.hpp.

Every argument was checked in sksig/_kernel_learning.py; ``kernel`` is the
:class:`sksig._core.native.StaticKernelParams` of sksig/_static_kernels.py.
"""
from cython cimport floating
from libc.stdint cimport int64_t

from sksig._core cimport native

include "_interrupt.pxi"


def param_jacobian(const floating[:, :, ::1] x,  # IN (nx, L1, d)
                   const floating[:, :, ::1] y,  # IN (ny, L2, d)
                   const int64_t[::1] i1,  # IN (n_pairs,) rows of x
                   const int64_t[::1] i2,  # IN (n_pairs,) rows of y
                   (int, int) orders, native.StaticKernelParams kernel not None,
                   const floating[::1] derivs,  # IN (n_pairs,) or empty (all ones)
                   bint time_last,
                   floating[::1] values,  # OUT (n_pairs,) or empty (not wanted)
                   floating[:, ::1] jac,  # OUT (n_pairs, 4)
                   int n_threads):
    """Kernels and derivs-weighted parameter derivatives of the pairs (x[i1], y[i2])."""
    if i1.shape[0]:
        with nogil:
            native.check(native.sig_kernel_param_jacobian(
                &x[0, 0, 0], &y[0, 0, 0], &i1[0], &i2[0], i1.shape[0],
                native.paths_shape(x.shape, y.shape, orders), kernel.c,
                native.cdata_or_null(derivs), time_last, native.data_or_null(values),
                &jac[0, 0], n_threads), "signature kernel parameter gradient")
