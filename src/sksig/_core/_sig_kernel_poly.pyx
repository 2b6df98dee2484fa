# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/goursat_poly.hpp, the polynomial Goursat solver of
sksig/_sig_kernel_poly.py (arguments checked there; ``kernel``: a StaticKernelParams)."""
from cython cimport floating
from libc.stdint cimport int64_t

from sksig._core cimport native

include "_interrupt.pxi"


def forward(const floating[:, :, ::1] x, const floating[:, :, ::1] y, bint gram,
            int order, native.StaticKernelParams kernel not None, floating[::1] out,
            floating[::1] grid, int n_threads):
    """Kernels of pairs (x[p], y[p]) or of the Gram pairs (x[i], y[j]) into out;
    grid (flat, possibly empty) receives the vertex grids when non-empty."""
    if out.shape[0]:
        with nogil:
            native.check(native.sig_kernel_poly_pairs(
                &x[0, 0, 0], &y[0, 0, 0], out.shape[0], y.shape[0], gram, x.shape[1],
                y.shape[1], x.shape[2], order, kernel.c, &out[0],
                native.data_or_null(grid), n_threads), "sig_kernel")


def backward(const floating[:, :, ::1] x, const floating[:, :, ::1] y, int order,
             native.StaticKernelParams kernel not None, const floating[::1] derivs,
             bint grid_derivs, floating[::1] gx, floating[::1] gy, int n_threads):
    """Per-pair gradients of pairs (x[p], y[p]); gx, gy flat, possibly empty."""
    if x.shape[0]:
        with nogil:
            native.check(native.sig_kernel_poly_pairs_backprop(
                &x[0, 0, 0], &y[0, 0, 0], 0, x.shape[0], y.shape[0], False, x.shape[1],
                y.shape[1], x.shape[2], order, kernel.c, &derivs[0], grid_derivs,
                native.data_or_null(gx), native.data_or_null(gy), n_threads),
                "sig_kernel_backprop")


def backward_gram(const floating[:, :, ::1] x, const floating[:, :, ::1] y, int order,
                  native.StaticKernelParams kernel not None, const floating[::1] derivs,
                  bint grid_derivs, floating[::1] gx, floating[::1] gy, int64_t chunk,
                  int n_threads):
    """Gram gradients summed over the other side; gx, gy flat, possibly empty."""
    if x.shape[0] and y.shape[0]:
        with nogil:
            native.check(native.sig_kernel_poly_gram_backprop(
                &x[0, 0, 0], x.shape[0], &y[0, 0, 0], y.shape[0], x.shape[1], y.shape[1],
                x.shape[2], order, kernel.c, &derivs[0], grid_derivs,
                native.data_or_null(gx), native.data_or_null(gy), chunk, n_threads),
                "sig_kernel_gram_backprop")
