# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/goursat.hpp and static_kernels.hpp.

Every argument was checked in sksig/_sig_kernel.py and sksig/_static_kernels.py;
``kernel`` is the tuple ``(kind, p0, p1, p2, clamp)`` built there.
"""
from cython cimport floating
from libc.stdint cimport int64_t
from libcpp cimport bool as cbool

from sksig._core._errors import raise_for_status
from sksig._core.native cimport (
    GoursatShape,
    KernelParams,
    goursat_shape as _shape,
    kernel_params as _kernel,
    kLinear,
    kMatern12,
    kMatern32,
    kMatern52,
    kPolynomial,
    kRationalQuadratic,
    kRBF,
    kScaledLinear,
)

include "_interrupt.pxi"


cdef extern from "sksig/goursat.hpp" namespace "sksig" nogil:
    int increment_gram[T](const T* x, const T* y, int64_t batch, int64_t L1, int64_t L2,
                          int64_t d, KernelParams k, T* delta,
                          int n_threads) noexcept
    int increment_gram_backprop[T](const T* gamma, const T* x, const T* y, int64_t batch,
                                   int64_t L1, int64_t L2, int64_t d, KernelParams k,
                                   T* gx, T* gy, int n_threads) noexcept
    int sig_kernel_pairs[T](const T* x, const T* y, int64_t n_pairs, int64_t ny,
                            cbool gram, GoursatShape sh, KernelParams kernel, T* out,
                            T* grid, int n_threads) noexcept
    int sig_kernel_gram_symmetric[T](const T* x, int64_t n, GoursatShape sh,
                                     KernelParams kernel, T* out, T* grid,
                                     int n_threads) noexcept
    int sig_kernel_pairs_backprop[T](const T* x, const T* y, int64_t p_begin,
                                     int64_t n_pairs, int64_t ny, cbool gram,
                                     GoursatShape sh, KernelParams kernel,
                                     const T* derivs, cbool grid_derivs, const T* k_grid,
                                     T* gx, T* gy, T* gamma, int n_threads) noexcept
    int polynomial_clamps[T](const T* x, int64_t nx, int64_t L1, const T* y, int64_t ny,
                             int64_t L2, int64_t d, cbool gram, T gamma, int n_threads,
                             cbool* clamps) noexcept
    int sig_kernel_gram_backprop[T](const T* x, int64_t nx, const T* y, int64_t ny,
                                    GoursatShape sh, KernelParams kernel,
                                    const T* derivs, cbool grid_derivs, const T* k_grid,
                                    T* gx, T* gy, int64_t chunk, int n_threads) noexcept


cdef extern from "sksig/goursat_log.hpp" namespace "sksig" nogil:
    cbool extended_range()
    int sig_kernel_pairs_extended[T](const T* x, const T* y, int64_t n_pairs,
                                     const int64_t* ii, const int64_t* jj, GoursatShape sh,
                                     KernelParams kernel, double* mantissa,
                                     int64_t* exponent, int n_threads) noexcept
    int sig_kernel_pairs_backprop_extended[T](const T* x, const T* y, int64_t n_pairs,
                                              const int64_t* ii, const int64_t* jj,
                                              GoursatShape sh, KernelParams kernel,
                                              const double* seed_mantissa,
                                              const int64_t* seed_exponent, T* gx, T* gy,
                                              int n_threads) noexcept


# The codes of the C++ enum sksig::KernelKind, by static kernel (sksig/_static_kernels.py
# builds its (kind, p0, p1, p2, clamp) tuples with them).
KERNEL_KINDS = {
    "linear": kLinear,
    "scaled_linear": kScaledLinear,
    "rbf": kRBF,
    "polynomial": kPolynomial,
    "matern12": kMatern12,
    "matern32": kMatern32,
    "matern52": kMatern52,
    "rational_quadratic": kRationalQuadratic,
}


cdef floating* _ptr(floating[::1] a) noexcept nogil:
    # Flat views of possibly empty buffers: callers never dereference an empty one.
    return &a[0] if a.shape[0] else NULL


def delta(const floating[:, :, ::1] x, const floating[:, :, ::1] y,
          floating[:, :, ::1] out, tuple kernel, int n_threads):
    """Increment Gram of pairs (x[b], y[b]) into out (batch, L1-1, L2-1)."""
    cdef int status
    cdef KernelParams k = _kernel(kernel)
    if x.shape[0] == 0 or out.shape[1] == 0 or out.shape[2] == 0:
        return
    with nogil:
        status = increment_gram(&x[0, 0, 0], &y[0, 0, 0], x.shape[0], x.shape[1],
                                y.shape[1], x.shape[2], k, &out[0, 0, 0], n_threads)
    raise_for_status(status, "static kernel")


def delta_backward(const floating[:, :, ::1] gamma, const floating[:, :, ::1] x,
                   const floating[:, :, ::1] y, floating[:, :, ::1] gx,
                   floating[:, :, ::1] gy, tuple kernel, int n_threads):
    """Vector-Jacobian product of delta() (gx, gy are overwritten)."""
    cdef int status
    cdef KernelParams k = _kernel(kernel)
    cdef const floating* g = &gamma[0, 0, 0] if gamma.size else NULL
    if x.shape[0] == 0:
        return
    with nogil:
        status = increment_gram_backprop(g, &x[0, 0, 0], &y[0, 0, 0], x.shape[0],
                                         x.shape[1], y.shape[1], x.shape[2], k,
                                         &gx[0, 0, 0], &gy[0, 0, 0], n_threads)
    raise_for_status(status, "static kernel backprop")


def forward(const floating[:, :, ::1] x, const floating[:, :, ::1] y, bint gram,
            tuple orders, tuple kernel, floating[::1] out, floating[::1] grid,
            int n_threads):
    """Kernels of pairs (x[p], y[p]) or of the Gram pairs (x[i], y[j]) into out;
    grid (flat, possibly empty) receives the grids when non-empty."""
    cdef int status
    cdef KernelParams k = _kernel(kernel)
    cdef GoursatShape sh = _shape(x.shape[1], y.shape[1], x.shape[2], orders)
    cdef int64_t n_pairs = out.shape[0]
    if n_pairs == 0:
        return
    with nogil:
        status = sig_kernel_pairs(&x[0, 0, 0], &y[0, 0, 0], n_pairs, y.shape[0], gram, sh,
                                  k, &out[0], _ptr(grid), n_threads)
    raise_for_status(status, "sig_kernel")


def forward_symmetric(const floating[:, :, ::1] x, tuple orders, tuple kernel,
                      floating[::1] out, floating[::1] grid, int n_threads):
    """Gram of x with itself (equal orders) into out, mirrored."""
    cdef int status
    cdef KernelParams k = _kernel(kernel)
    cdef GoursatShape sh = _shape(x.shape[1], x.shape[1], x.shape[2], orders)
    if x.shape[0] == 0:
        return
    with nogil:
        status = sig_kernel_gram_symmetric(&x[0, 0, 0], x.shape[0], sh, k, &out[0],
                                           _ptr(grid), n_threads)
    raise_for_status(status, "sig_kernel_gram")


def backward(const floating[:, :, ::1] x, const floating[:, :, ::1] y, tuple orders,
             tuple kernel, const floating[::1] derivs, bint grid_derivs,
             const floating[::1] k_grid, floating[::1] gx, floating[::1] gy,
             floating[::1] gamma, int n_threads):
    """Per-pair backprop of pairs (x[p], y[p]); empty outputs are skipped."""
    cdef int status
    cdef KernelParams k = _kernel(kernel)
    cdef GoursatShape sh = _shape(x.shape[1], y.shape[1], x.shape[2], orders)
    cdef const floating* kg = &k_grid[0] if k_grid.shape[0] else NULL
    if x.shape[0] == 0:
        return
    with nogil:
        status = sig_kernel_pairs_backprop(&x[0, 0, 0], &y[0, 0, 0], 0, x.shape[0],
                                           y.shape[0], False, sh, k, &derivs[0],
                                           grid_derivs, kg, _ptr(gx), _ptr(gy),
                                           _ptr(gamma), n_threads)
    raise_for_status(status, "sig_kernel_backprop")


def backward_gram(const floating[:, :, ::1] x, const floating[:, :, ::1] y,
                  tuple orders, tuple kernel, const floating[::1] derivs,
                  bint grid_derivs, const floating[::1] k_grid, floating[::1] gx,
                  floating[::1] gy, int64_t chunk, int n_threads):
    """Gram backprop, gradients summed over the other side; empty outputs skipped."""
    cdef int status
    cdef KernelParams k = _kernel(kernel)
    cdef GoursatShape sh = _shape(x.shape[1], y.shape[1], x.shape[2], orders)
    cdef const floating* kg = &k_grid[0] if k_grid.shape[0] else NULL
    if x.shape[0] == 0 or y.shape[0] == 0:
        return
    with nogil:
        status = sig_kernel_gram_backprop(&x[0, 0, 0], x.shape[0], &y[0, 0, 0],
                                          y.shape[0], sh, k, &derivs[0], grid_derivs,
                                          kg, _ptr(gx), _ptr(gy), chunk, n_threads)
    raise_for_status(status, "sig_kernel_gram_backprop")


def polynomial_kernel_clamps(const floating[:, :, ::1] x,  # IN (nx, L1, d)
                             const floating[:, :, ::1] y,  # IN (ny, L2, d)
                             bint gram, double gamma, int n_threads):
    """True when <a, b> + gamma < 0 for some evaluated pair of points (see the header)."""
    cdef cbool clamps = False
    cdef int status
    if x.shape[0] == 0 or y.shape[0] == 0 or x.shape[1] == 0 or y.shape[1] == 0:
        return False
    with nogil:
        status = polynomial_clamps(&x[0, 0, 0], x.shape[0], x.shape[1], &y[0, 0, 0],
                                   y.shape[0], y.shape[1], x.shape[2], gram,
                                   <floating> gamma, n_threads, &clamps)
    raise_for_status(status, "sig_kernel")
    return clamps


def has_extended_range():
    """True when this build's extended-range kernels reach beyond double's range."""
    return extended_range()


def forward_extended(const floating[:, :, ::1] x, const floating[:, :, ::1] y,
                     const int64_t[::1] ii, const int64_t[::1] jj, tuple orders,
                     tuple kernel, double[::1] mantissa, int64_t[::1] exponent,
                     int n_threads):
    """k(x[ii[p]], y[jj[p]]) = mantissa[p] * 2**exponent[p], in extended range."""
    cdef int status
    cdef KernelParams k = _kernel(kernel)
    cdef GoursatShape sh = _shape(x.shape[1], y.shape[1], x.shape[2], orders)
    if ii.shape[0] == 0:
        return
    with nogil:
        status = sig_kernel_pairs_extended(&x[0, 0, 0], &y[0, 0, 0], ii.shape[0], &ii[0],
                                           &jj[0], sh, k, &mantissa[0], &exponent[0],
                                           n_threads)
    raise_for_status(status, "sig_kernel")


def backward_extended(const floating[:, :, ::1] x, const floating[:, :, ::1] y,
                      const int64_t[::1] ii, const int64_t[::1] jj, tuple orders,
                      tuple kernel, const double[::1] seed_mantissa,
                      const int64_t[::1] seed_exponent, floating[::1] gx,
                      floating[::1] gy, int n_threads):
    """Per-pair gradients of sum_p seed[p] k(x[ii[p]], y[jj[p]]) in extended range."""
    cdef int status
    cdef KernelParams k = _kernel(kernel)
    cdef GoursatShape sh = _shape(x.shape[1], y.shape[1], x.shape[2], orders)
    if ii.shape[0] == 0:
        return
    with nogil:
        status = sig_kernel_pairs_backprop_extended(
            &x[0, 0, 0], &y[0, 0, 0], ii.shape[0], &ii[0], &jj[0], sh, k,
            &seed_mantissa[0], &seed_exponent[0], _ptr(gx), _ptr(gy), n_threads)
    raise_for_status(status, "sig_kernel_backprop")
