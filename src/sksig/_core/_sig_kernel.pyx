# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/goursat.hpp and goursat_log.hpp.

Every argument was checked in sksig/_sig_kernel.py and sksig/_static_kernels.py;
``kernel`` is the :class:`sksig._core.native.StaticKernelParams` built there.
"""
from cython cimport floating
from libc.stdint cimport int64_t
from libcpp cimport bool as cbool

from sksig._core cimport native

include "_interrupt.pxi"


def delta(const floating[:, :, ::1] x, const floating[:, :, ::1] y,
          floating[:, :, ::1] out, native.StaticKernelParams kernel not None, int n_threads):
    """Increment Gram of pairs (x[b], y[b]) into out (batch, L1-1, L2-1)."""
    if x.shape[0] and out.shape[1] and out.shape[2]:
        with nogil:
            native.check(native.increment_gram(
                &x[0, 0, 0], &y[0, 0, 0], x.shape[0], x.shape[1], y.shape[1], x.shape[2],
                kernel.c, &out[0, 0, 0], n_threads), "static kernel")


def delta_backward(const floating[:, :, ::1] gamma, const floating[:, :, ::1] x,
                   const floating[:, :, ::1] y, floating[:, :, ::1] gx,
                   floating[:, :, ::1] gy, native.StaticKernelParams kernel not None,
                   int n_threads):
    """Vector-Jacobian product of delta() (gx, gy are overwritten)."""
    cdef const floating* g = &gamma[0, 0, 0] if gamma.size else NULL
    if x.shape[0]:
        with nogil:
            native.check(native.increment_gram_backprop(
                g, &x[0, 0, 0], &y[0, 0, 0], x.shape[0], x.shape[1], y.shape[1],
                x.shape[2], kernel.c, &gx[0, 0, 0], &gy[0, 0, 0], n_threads),
                "static kernel backprop")


def forward(const floating[:, :, ::1] x, const floating[:, :, ::1] y, bint gram,
            (int, int) orders, native.StaticKernelParams kernel not None, floating[::1] out,
            floating[::1] grid, int n_threads):
    """Kernels of pairs (x[p], y[p]) or of the Gram pairs (x[i], y[j]) into out;
    grid (flat, possibly empty) receives the grids when non-empty."""
    if out.shape[0]:
        with nogil:
            native.check(native.sig_kernel_pairs(
                &x[0, 0, 0], &y[0, 0, 0], out.shape[0], y.shape[0], gram,
                native.paths_shape(x.shape, y.shape, orders), kernel.c, &out[0],
                native.data_or_null(grid), n_threads), "sig_kernel")


def forward_symmetric(const floating[:, :, ::1] x, (int, int) orders,
                      native.StaticKernelParams kernel not None, floating[::1] out,
                      floating[::1] grid, int n_threads):
    """Gram of x with itself (equal orders) into out, mirrored."""
    if x.shape[0]:
        with nogil:
            native.check(native.sig_kernel_gram_symmetric(
                &x[0, 0, 0], x.shape[0], native.paths_shape(x.shape, x.shape, orders), kernel.c,
                &out[0], native.data_or_null(grid), n_threads), "sig_kernel_gram")


def backward(const floating[:, :, ::1] x, const floating[:, :, ::1] y,
             (int, int) orders, native.StaticKernelParams kernel not None,
             const floating[::1] derivs, bint grid_derivs, const floating[::1] k_grid,
             floating[::1] gx, floating[::1] gy, floating[::1] gamma, int n_threads):
    """Per-pair backprop of pairs (x[p], y[p]); empty outputs are skipped."""
    if x.shape[0]:
        with nogil:
            native.check(native.sig_kernel_pairs_backprop(
                &x[0, 0, 0], &y[0, 0, 0], 0, x.shape[0], y.shape[0], False,
                native.paths_shape(x.shape, y.shape, orders), kernel.c, &derivs[0], grid_derivs,
                native.cdata_or_null(k_grid), native.data_or_null(gx),
                native.data_or_null(gy), native.data_or_null(gamma), n_threads),
                "sig_kernel_backprop")


def backward_gram(const floating[:, :, ::1] x, const floating[:, :, ::1] y,
                  (int, int) orders, native.StaticKernelParams kernel not None,
                  const floating[::1] derivs, bint grid_derivs,
                  const floating[::1] k_grid, floating[::1] gx, floating[::1] gy,
                  int64_t chunk, int n_threads):
    """Gram backprop, gradients summed over the other side; empty outputs skipped."""
    if x.shape[0] and y.shape[0]:
        with nogil:
            native.check(native.sig_kernel_gram_backprop(
                &x[0, 0, 0], x.shape[0], &y[0, 0, 0], y.shape[0],
                native.paths_shape(x.shape, y.shape, orders), kernel.c, &derivs[0], grid_derivs,
                native.cdata_or_null(k_grid), native.data_or_null(gx),
                native.data_or_null(gy), chunk, n_threads), "sig_kernel_gram_backprop")


def polynomial_kernel_clamps(const floating[:, :, ::1] x,  # IN (nx, L1, d)
                             const floating[:, :, ::1] y,  # IN (ny, L2, d)
                             bint gram, double gamma, int n_threads):
    """True when <a, b> + gamma < 0 for some evaluated pair of points (see the header)."""
    cdef cbool clamps = False
    if x.shape[0] and y.shape[0] and x.shape[1] and y.shape[1]:
        with nogil:
            native.check(native.polynomial_clamps(
                &x[0, 0, 0], x.shape[0], x.shape[1], &y[0, 0, 0], y.shape[0], y.shape[1],
                x.shape[2], gram, <floating> gamma, n_threads, &clamps), "sig_kernel")
    return clamps


def has_extended_range():
    """True when this build's extended-range kernels reach beyond double's range."""
    return native.extended_range()


def forward_extended(const floating[:, :, ::1] x, const floating[:, :, ::1] y,
                     const int64_t[::1] ii, const int64_t[::1] jj, (int, int) orders,
                     native.StaticKernelParams kernel not None, double[::1] mantissa,
                     int64_t[::1] exponent, int n_threads):
    """k(x[ii[p]], y[jj[p]]) = mantissa[p] * 2**exponent[p], in extended range."""
    if ii.shape[0]:
        with nogil:
            native.check(native.sig_kernel_pairs_extended(
                &x[0, 0, 0], &y[0, 0, 0], ii.shape[0], &ii[0], &jj[0],
                native.paths_shape(x.shape, y.shape, orders), kernel.c, &mantissa[0], &exponent[0],
                n_threads), "sig_kernel")


def backward_extended(const floating[:, :, ::1] x, const floating[:, :, ::1] y,
                      const int64_t[::1] ii, const int64_t[::1] jj, (int, int) orders,
                      native.StaticKernelParams kernel not None, const double[::1] seed_mantissa,
                      const int64_t[::1] seed_exponent, floating[::1] gx,
                      floating[::1] gy, int n_threads):
    """Per-pair gradients of sum_p seed[p] k(x[ii[p]], y[jj[p]]) in extended range."""
    if ii.shape[0]:
        with nogil:
            native.check(native.sig_kernel_pairs_backprop_extended(
                &x[0, 0, 0], &y[0, 0, 0], ii.shape[0], &ii[0], &jj[0],
                native.paths_shape(x.shape, y.shape, orders), kernel.c, &seed_mantissa[0],
                &seed_exponent[0], native.data_or_null(gx), native.data_or_null(gy),
                n_threads), "sig_kernel_backprop")
