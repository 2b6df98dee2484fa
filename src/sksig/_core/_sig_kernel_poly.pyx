# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/goursat_poly.hpp (the polynomial Goursat solver).

Every argument was checked in sksig/_sig_kernel_poly.py and sksig/_static_kernels.py;
``kernel`` is the tuple ``(kind, p0, p1, p2, clamp)`` built there.
"""
from cython cimport floating
from libc.stdint cimport int64_t
from libcpp cimport bool as cbool

from sksig._core._errors import raise_for_status

include "_interrupt.pxi"


# ---- native entry points of this module (include/sksig/goursat_poly.hpp) ----
cdef extern from "sksig/goursat_poly.hpp" namespace "sksig" nogil:
    cdef struct KernelParams:
        int kind
        double p0, p1, p2
        cbool clamp

    int sig_kernel_poly_pairs[T](const T* x, const T* y, int64_t n_pairs, int64_t ny,
                                 cbool gram, int64_t L1, int64_t L2, int64_t d,
                                 int order, KernelParams kernel, T* out, T* grid,
                                 int n_threads) noexcept
    int sig_kernel_poly_pairs_backprop[T](const T* x, const T* y, int64_t p_begin,
                                          int64_t n_pairs, int64_t ny, cbool gram,
                                          int64_t L1, int64_t L2, int64_t d, int order,
                                          KernelParams kernel, const T* derivs,
                                          cbool grid_derivs, T* gx, T* gy,
                                          int n_threads) noexcept
    int sig_kernel_poly_gram_backprop[T](const T* x, int64_t nx, const T* y, int64_t ny,
                                         int64_t L1, int64_t L2, int64_t d, int order,
                                         KernelParams kernel, const T* derivs,
                                         cbool grid_derivs, T* gx, T* gy, int64_t chunk,
                                         int n_threads) noexcept
# ---- end of native entry points ----


cdef KernelParams _kernel(tuple kernel):
    cdef KernelParams k
    k.kind = kernel[0]
    k.p0 = kernel[1]
    k.p1 = kernel[2]
    k.p2 = kernel[3]
    k.clamp = kernel[4]
    return k


cdef floating* _ptr(floating[::1] a) noexcept nogil:
    # Flat views of possibly empty buffers: callers never dereference an empty one.
    return &a[0] if a.shape[0] else NULL


def forward(const floating[:, :, ::1] x, const floating[:, :, ::1] y, bint gram,
            int order, tuple kernel, floating[::1] out, floating[::1] grid,
            int n_threads):
    """Kernels of pairs (x[p], y[p]) or of the Gram pairs (x[i], y[j]) into out;
    grid (flat, possibly empty) receives the vertex grids when non-empty."""
    cdef int status
    cdef KernelParams k = _kernel(kernel)
    cdef int64_t n_pairs = out.shape[0]
    if n_pairs == 0:
        return
    with nogil:
        status = sig_kernel_poly_pairs(&x[0, 0, 0], &y[0, 0, 0], n_pairs, y.shape[0],
                                       gram, x.shape[1], y.shape[1], x.shape[2], order,
                                       k, &out[0], _ptr(grid), n_threads)
    raise_for_status(status, "sig_kernel")


def backward(const floating[:, :, ::1] x, const floating[:, :, ::1] y, int order,
             tuple kernel, const floating[::1] derivs, bint grid_derivs,
             floating[::1] gx, floating[::1] gy, int n_threads):
    """Per-pair gradients of pairs (x[p], y[p]); gx, gy flat, possibly empty."""
    cdef int status
    cdef KernelParams k = _kernel(kernel)
    cdef int64_t n_pairs = x.shape[0]
    if n_pairs == 0:
        return
    with nogil:
        status = sig_kernel_poly_pairs_backprop(
            &x[0, 0, 0], &y[0, 0, 0], 0, n_pairs, y.shape[0], False, x.shape[1],
            y.shape[1], x.shape[2], order, k, &derivs[0], grid_derivs, _ptr(gx),
            _ptr(gy), n_threads)
    raise_for_status(status, "sig_kernel_backprop")


def backward_gram(const floating[:, :, ::1] x, const floating[:, :, ::1] y, int order,
                  tuple kernel, const floating[::1] derivs, bint grid_derivs,
                  floating[::1] gx, floating[::1] gy, int64_t chunk, int n_threads):
    """Gram gradients summed over the other side; gx, gy flat, possibly empty."""
    cdef int status
    cdef KernelParams k = _kernel(kernel)
    if x.shape[0] == 0 or y.shape[0] == 0:
        return
    with nogil:
        status = sig_kernel_poly_gram_backprop(
            &x[0, 0, 0], x.shape[0], &y[0, 0, 0], y.shape[0], x.shape[1], y.shape[1],
            x.shape[2], order, k, &derivs[0], grid_derivs, _ptr(gx), _ptr(gy), chunk,
            n_threads)
    raise_for_status(status, "sig_kernel_gram_backprop")
