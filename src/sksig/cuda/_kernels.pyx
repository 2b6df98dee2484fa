"""Cython over the CUDA launchers (launchers.cuh, goursat.cuh). Never imports torch.

Device arrays travel as raw pointers (``uintptr_t``) with the caller's CUDA stream
handle and device index; the Python layer (sksig/cuda/_sig_kernel.py) has checked
every shape, dtype and device.
"""
from libc.stdint cimport int64_t, uintptr_t
from libcpp cimport bool as cbool

from sksig._core._errors import raise_for_status


cdef extern from "launchers.cuh" namespace "sksig::cuda" nogil:
    int c_device_count "sksig::cuda::device_count"(int* count) noexcept
    int c_device_name "sksig::cuda::device_name"(int device, char* buf, int length) noexcept
    int c_emulation_control "sksig::cuda::emulation_control"(
        int order, unsigned seed, char* buf, int length) noexcept


cdef extern from "sksig/goursat.hpp" namespace "sksig" nogil:
    cdef struct KernelParams:
        int kind
        double p0, p1, p2
        cbool clamp

    cdef cppclass GoursatShape:
        int64_t L1, L2, d
        int lam1, lam2


cdef extern from "goursat.cuh" namespace "sksig::cuda" nogil:
    int c_forward "sksig::cuda::sig_kernel_forward"(
        cbool dbl, const void* x, const void* y, int64_t n_pairs, int64_t ny, cbool gram,
        GoursatShape sh, KernelParams kernel, void* out, void* grid, int64_t chunk,
        int device, void* stream) noexcept
    int c_backward "sksig::cuda::sig_kernel_backward"(
        cbool dbl, const void* x, const void* y, int64_t nx, int64_t ny, cbool gram,
        GoursatShape sh, KernelParams kernel, const void* derivs, cbool grid_derivs,
        const void* k_grid, void* gx, void* gy, void* gamma, int64_t chunk, int device,
        void* stream) noexcept


def device_count():
    """Number of CUDA devices visible to the runtime (0 without a driver)."""
    cdef int n = 0
    raise_for_status(c_device_count(&n), "sksig.cuda.device_count")
    return n


def device_name(int device=0):
    """Name of a CUDA device."""
    cdef char buf[256]
    raise_for_status(c_device_name(device, buf, 256), "sksig.cuda.device_name")
    return buf.decode("utf-8", "replace")


def emulation_control(int order=0, unsigned seed=0):
    """CPU emulation only: set the thread order of barrier phases (0 ascending,
    1 descending, 2 random from seed) and return the memory fault seen since the
    last call ("" when none)."""
    cdef char buf[512]
    raise_for_status(c_emulation_control(order, seed, buf, 512), "emulation_control")
    return buf.decode("utf-8", "replace")


cdef GoursatShape _shape(int64_t L1, int64_t L2, int64_t d, tuple orders):
    cdef GoursatShape sh
    sh.L1 = L1
    sh.L2 = L2
    sh.d = d
    sh.lam1 = orders[0]
    sh.lam2 = orders[1]
    return sh


cdef KernelParams _kernel(tuple kernel):
    cdef KernelParams k
    k.kind = kernel[0]
    k.p0 = kernel[1]
    k.p1 = kernel[2]
    k.p2 = kernel[3]
    k.clamp = kernel[4]
    return k


def sig_kernel_forward(bint dbl, uintptr_t x, uintptr_t y, int64_t n_pairs, int64_t ny,
                       bint gram, int64_t L1, int64_t L2, int64_t d, tuple orders,
                       tuple kernel, uintptr_t out, uintptr_t grid, int64_t chunk,
                       int device, uintptr_t stream):
    """Kernels of n_pairs pairs into out (and their grids into grid unless it is 0)."""
    cdef int status
    cdef GoursatShape sh = _shape(L1, L2, d, orders)
    cdef KernelParams k = _kernel(kernel)
    with nogil:
        status = c_forward(dbl, <const void*>x, <const void*>y, n_pairs, ny, gram, sh, k,
                           <void*>out, <void*>grid, chunk, device, <void*>stream)
    raise_for_status(status, "sig_kernel (CUDA)")


def sig_kernel_backward(bint dbl, uintptr_t x, uintptr_t y, int64_t nx, int64_t ny,
                        bint gram, int64_t L1, int64_t L2, int64_t d, tuple orders,
                        tuple kernel, uintptr_t derivs, bint grid_derivs,
                        uintptr_t k_grid, uintptr_t gx, uintptr_t gy, uintptr_t gamma,
                        int64_t chunk, int device, uintptr_t stream):
    """Backprop of pairwise or Gram pairs; pointers that are 0 are not computed."""
    cdef int status
    cdef GoursatShape sh = _shape(L1, L2, d, orders)
    cdef KernelParams k = _kernel(kernel)
    with nogil:
        status = c_backward(dbl, <const void*>x, <const void*>y, nx, ny, gram, sh, k,
                            <const void*>derivs, grid_derivs, <const void*>k_grid,
                            <void*>gx, <void*>gy, <void*>gamma, chunk, device,
                            <void*>stream)
    raise_for_status(status, "sig_kernel_backprop (CUDA)")
