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


# ---------------- log_sig

cdef extern from "log_sig.cuh" namespace "sksig::cuda" nogil:
    int c_log_sig_tables "sksig::cuda::log_sig_tables"(
        int dim, int degree, int64_t n_words, const int64_t* pos, const int64_t* tri_ptr,
        const int64_t* tri_col, const double* tri_val, const int64_t* exp_ptr,
        const int64_t* exp_pos, const double* exp_val, int device,
        uintptr_t* handle) noexcept
    int c_log_sig_join "sksig::cuda::log_sig_join"(
        cbool dbl, const void* ls, const void* disp, void* out, int64_t batch,
        uintptr_t tables, int device, void* stream) noexcept
    int c_log_sig_join_backprop "sksig::cuda::log_sig_join_backprop"(
        cbool dbl, const void* d_out, const void* ls, const void* disp, void* grad_ls,
        void* grad_disp, int64_t batch, uintptr_t tables, int device,
        void* stream) noexcept


def log_sig_tables(int dim, int degree, tuple tables, int device):
    """Handle of the device copy of the Lyndon tables of (dim, degree), uploaded on the
    first call per device (tables: the host arrays of sksig._lyndon._build_tables)."""
    cdef const int64_t[::1] pos = tables[0]
    cdef const int64_t[::1] tri_ptr = tables[1]
    cdef const int64_t[::1] tri_col = tables[2]
    cdef const double[::1] tri_val = tables[3]
    cdef const int64_t[::1] exp_ptr = tables[4]
    cdef const int64_t[::1] exp_pos = tables[5]
    cdef const double[::1] exp_val = tables[6]
    cdef uintptr_t handle = 0
    cdef int status
    cdef int64_t n_words = pos.shape[0]
    with nogil:
        status = c_log_sig_tables(
            dim, degree, n_words, &pos[0] if pos.shape[0] else NULL, &tri_ptr[0],
            &tri_col[0] if tri_col.shape[0] else NULL,
            &tri_val[0] if tri_val.shape[0] else NULL, &exp_ptr[0],
            &exp_pos[0] if exp_pos.shape[0] else NULL,
            &exp_val[0] if exp_val.shape[0] else NULL, device, &handle)
    raise_for_status(status, "log_sig tables (CUDA)")
    return handle


def log_sig_join(bint dbl, uintptr_t ls, uintptr_t disp, uintptr_t out, int64_t batch,
                 uintptr_t tables, int device, uintptr_t stream):
    """Joined log-signatures of batch items into out."""
    cdef int status
    with nogil:
        status = c_log_sig_join(dbl, <const void*>ls, <const void*>disp, <void*>out, batch,
                                tables, device, <void*>stream)
    raise_for_status(status, "log_sig_join (CUDA)")


def log_sig_join_backprop(bint dbl, uintptr_t d_out, uintptr_t ls, uintptr_t disp,
                          uintptr_t grad_ls, uintptr_t grad_disp, int64_t batch,
                          uintptr_t tables, int device, uintptr_t stream):
    """Gradients of log_sig_join with respect to ls and disp (overwritten)."""
    cdef int status
    with nogil:
        status = c_log_sig_join_backprop(dbl, <const void*>d_out, <const void*>ls,
                                         <const void*>disp, <void*>grad_ls,
                                         <void*>grad_disp, batch, tables, device,
                                         <void*>stream)
    raise_for_status(status, "log_sig_join_backprop (CUDA)")
