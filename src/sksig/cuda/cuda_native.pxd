# cython: language_level=3
"""The native contract of the CUDA backend: every launcher of launchers.cuh,
goursat.cuh, log_sig.cuh and branched.cuh that sksig/cuda/_kernels.pyx calls (and the
CPU emulation's copy of it), declared once.

A separate file from sksig/_core/native.pxd because these headers exist only in the
CUDA builds; the structs both backends share (``KernelParams``, ``GoursatShape``) and
the helpers (``check``) come from there. Device arrays cross as raw pointers.
"""
from libc.stdint cimport int32_t, int64_t, uint8_t, uintptr_t
from libcpp cimport bool as cbool

from sksig._core.native cimport (
    GoursatShape,
    KernelParams,
    int32_array,
    int64_array,
)


cdef extern from "launchers.cuh" namespace "sksig::cuda" nogil:
    int device_count(int* count) noexcept
    int device_name(int device, char* buf, int length) noexcept
    int emulation_control(int order, unsigned seed, char* buf, int length) noexcept


cdef extern from "goursat.cuh" namespace "sksig::cuda" nogil:
    int sig_kernel_forward(
        cbool dbl, const void* x, const void* y, int64_t n_pairs, int64_t ny, cbool gram,
        cbool symmetric, GoursatShape sh, KernelParams kernel, cbool fused_delta,
        void* out, void* grid, int64_t chunk, int device, void* stream) noexcept
    int sig_kernel_backward(
        cbool dbl, const void* x, const void* y, int64_t nx, int64_t ny, cbool gram,
        GoursatShape sh, KernelParams kernel, const void* derivs, cbool grid_derivs,
        const void* k_grid, void* gx, void* gy, void* gamma, int64_t chunk, int device,
        void* stream) noexcept


cdef extern from "log_sig.cuh" namespace "sksig::cuda" nogil:
    int log_sig_tables(
        int dim, int degree, int64_t n_words, const int64_t* pos, const int64_t* tri_ptr,
        const int64_t* tri_col, const double* tri_val, const int64_t* exp_ptr,
        const int64_t* exp_pos, const double* exp_val, int device,
        uintptr_t* handle) noexcept
    int log_sig_join(
        cbool dbl, const void* ls, const void* disp, void* out, int64_t batch,
        uintptr_t tables, int device, void* stream) noexcept
    int log_sig_join_backprop(
        cbool dbl, const void* d_out, const void* ls, const void* disp, void* grad_ls,
        void* grad_disp, int64_t batch, uintptr_t tables, int device,
        void* stream) noexcept


cdef extern from "branched.cuh" namespace "sksig::cuda" nogil:
    cdef struct BranchedDeviceTables:  # the fields grouped as branched.cuh documents them
        int64_t n, n_forest
        int degree, forest_levels
        const void* term_coef
        const void* seg_ratio
        int32_array term_ptr, term_right, term_left, term_elem
        int32_array seg_parent, seg_label, order_start
        int32_array forest_first, forest_rest, fl_ptr, fl_idx
        int32_array tr_ptr, tr_term, tl_ptr, tl_term
        int32_array fb_ptr, fb_src, fb_other, ft_ptr, ft_idx
        int32_array sc_ptr, sc_idx, sl_ptr, sl_idx

    cdef struct BranchedDeviceLevels:
        int32_array level_ptr, level_idx
        const uint8_t* mask

    cdef struct BranchedDeviceLyndon:
        int64_t n_lyndon, n_solve
        cbool solve
        int64_array pos, tri_ptr, tri_idx, solve_rows
        const double* tri_val

    int branched_sig(
        cbool dbl, const void* path, void* out, int64_t batch, int64_t length,
        int64_t dim, const BranchedDeviceTables& tb, cbool scalar_out, int device,
        void* stream) noexcept
    int branched_sig_backprop(
        cbool dbl, const void* path, const void* bsig, const void* grad, void* grad_path,
        int64_t batch, int64_t length, int64_t dim, const BranchedDeviceTables& tb,
        cbool scalar, int device, void* stream) noexcept
    int branched_log(
        cbool dbl, const void* x, void* out, int64_t batch,
        const BranchedDeviceTables& tb, const BranchedDeviceLevels& levels,
        cbool scalar_in, cbool scalar_out, const BranchedDeviceLyndon& lyn, int device,
        void* stream) noexcept
    int branched_log_backprop(
        cbool dbl, const void* x, const void* grad_out, void* grad_x, int64_t batch,
        const BranchedDeviceTables& tb, const BranchedDeviceLevels& levels,
        cbool scalar_in, cbool scalar_grad, const BranchedDeviceLyndon& lyn, int device,
        void* stream) noexcept
