# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/branched_kernel.hpp: the branched signature kernels
of sksig/_branched_kernel.py (which checked every argument), on the static kernel
``kernel`` (a :class:`sksig._core.native.StaticKernelParams`), truncated at ``depth``.
"""
from cython cimport floating
from libc.stdint cimport int64_t

from sksig._core cimport native

include "_interrupt.pxi"


def forward(const floating[:, :, ::1] x, const floating[:, :, ::1] y, bint gram,
            (int, int) orders, int depth, native.StaticKernelParams kernel not None,
            floating[::1] out, floating[::1] grid, int n_threads):
    """Kernels of pairs (x[p], y[p]) or of the Gram pairs (x[i], y[j]) into out;
    grid (flat, possibly empty) receives the final-depth grids when non-empty."""
    if out.shape[0]:
        with nogil:
            native.check(native.branched_kernel_pairs(
                &x[0, 0, 0], &y[0, 0, 0], out.shape[0], y.shape[0], gram,
                native.paths_shape(x.shape, y.shape, orders), depth, kernel.c, &out[0],
                native.data_or_null(grid), n_threads), "branched_sig_kernel")


def backward(const floating[:, :, ::1] x, const floating[:, :, ::1] y,
             (int, int) orders, int depth, native.StaticKernelParams kernel not None,
             const floating[::1] derivs, bint grid_derivs, floating[::1] gx,
             floating[::1] gy, int n_threads):
    """Per-pair gradients of pairs (x[p], y[p]); gx, gy flat, possibly empty."""
    if x.shape[0]:
        with nogil:
            native.check(native.branched_kernel_pairs_backprop(
                &x[0, 0, 0], &y[0, 0, 0], 0, x.shape[0], y.shape[0], False,
                native.paths_shape(x.shape, y.shape, orders), depth, kernel.c, &derivs[0],
                grid_derivs, native.data_or_null(gx), native.data_or_null(gy),
                n_threads), "branched_sig_kernel_backprop")


def backward_gram(const floating[:, :, ::1] x, const floating[:, :, ::1] y,
                  (int, int) orders, int depth, native.StaticKernelParams kernel not None,
                  const floating[::1] derivs, bint grid_derivs, floating[::1] gx,
                  floating[::1] gy, int64_t chunk, int n_threads):
    """Gram gradients summed over the other side; gx, gy flat, possibly empty."""
    if x.shape[0] and y.shape[0]:
        with nogil:
            native.check(native.branched_kernel_gram_backprop(
                &x[0, 0, 0], x.shape[0], &y[0, 0, 0], y.shape[0],
                native.paths_shape(x.shape, y.shape, orders), depth, kernel.c, &derivs[0],
                grid_derivs, native.data_or_null(gx), native.data_or_null(gy), chunk,
                n_threads), "branched_sig_kernel_gram_backprop")
