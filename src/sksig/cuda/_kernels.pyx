"""Cython over the CUDA launchers (launchers.cuh, goursat.cuh). Never imports torch.

Device arrays travel as raw pointers (``uintptr_t``) with the caller's CUDA stream
handle and device index; the Python layer (sksig/cuda/_backend.py) has checked
every shape, dtype and device.
"""
from libc.stdint cimport int32_t, int64_t, uint8_t, uintptr_t
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
        cbool symmetric, GoursatShape sh, KernelParams kernel, cbool fused_delta,
        void* out, void* grid, int64_t chunk, int device, void* stream) noexcept
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
                       bint gram, bint symmetric, int64_t L1, int64_t L2, int64_t d,
                       tuple orders, tuple kernel, bint fused_delta, uintptr_t out,
                       uintptr_t grid, int64_t chunk, int device, uintptr_t stream):
    """Kernels of n_pairs pairs into out (and their grids into grid unless it is 0);
    symmetric: a Gram of x with itself, solved on the upper triangle; fused_delta:
    linear kernels compute Delta inside the wavefront."""
    cdef int status
    cdef GoursatShape sh = _shape(L1, L2, d, orders)
    cdef KernelParams k = _kernel(kernel)
    with nogil:
        status = c_forward(dbl, <const void*>x, <const void*>y, n_pairs, ny, gram, symmetric,
                           sh, k, fused_delta, <void*>out, <void*>grid, chunk, device,
                           <void*>stream)
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
    first call per device (tables: the host arrays of sksig._lyndon.lyndon_tables)."""
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


# ---------------- branched

cdef extern from "branched.cuh" namespace "sksig::cuda" nogil:
    cdef struct BranchedDeviceTables:
        int64_t n, n_forest
        int degree, forest_levels
        const int32_t* term_ptr
        const int32_t* term_right
        const int32_t* term_left
        const int32_t* term_elem
        const void* term_coef
        const int32_t* seg_parent
        const int32_t* seg_label
        const void* seg_ratio
        const int32_t* order_start
        const int32_t* forest_first
        const int32_t* forest_rest
        const int32_t* fl_ptr
        const int32_t* fl_idx
        const int32_t* tr_ptr
        const int32_t* tr_term
        const int32_t* tl_ptr
        const int32_t* tl_term
        const int32_t* fb_ptr
        const int32_t* fb_src
        const int32_t* fb_other
        const int32_t* ft_ptr
        const int32_t* ft_idx
        const int32_t* sc_ptr
        const int32_t* sc_idx
        const int32_t* sl_ptr
        const int32_t* sl_idx

    cdef struct BranchedDeviceLevels:
        const int32_t* level_ptr
        const int32_t* level_idx
        const uint8_t* mask

    cdef struct BranchedDeviceLyndon:
        int64_t n_lyndon
        const int64_t* pos
        cbool solve
        const int64_t* tri_ptr
        const int64_t* tri_idx
        const double* tri_val
        int64_t n_solve
        const int64_t* solve_rows

    int c_branched_sig "sksig::cuda::branched_sig"(
        cbool dbl, const void* path, void* out, int64_t batch, int64_t length,
        int64_t dim, const BranchedDeviceTables& tb, cbool scalar_out, int device,
        void* stream) noexcept
    int c_branched_sig_backprop "sksig::cuda::branched_sig_backprop"(
        cbool dbl, const void* path, const void* bsig, const void* grad, void* grad_path,
        int64_t batch, int64_t length, int64_t dim, const BranchedDeviceTables& tb,
        cbool scalar, int device, void* stream) noexcept
    int c_branched_log "sksig::cuda::branched_log"(
        cbool dbl, const void* x, void* out, int64_t batch,
        const BranchedDeviceTables& tb, const BranchedDeviceLevels& levels,
        cbool scalar_in, cbool scalar_out, const BranchedDeviceLyndon& lyn, int device,
        void* stream) noexcept
    int c_branched_log_backprop "sksig::cuda::branched_log_backprop"(
        cbool dbl, const void* x, const void* grad_out, void* grad_x, int64_t batch,
        const BranchedDeviceTables& tb, const BranchedDeviceLevels& levels,
        cbool scalar_in, cbool scalar_grad, const BranchedDeviceLyndon& lyn, int device,
        void* stream) noexcept


cdef BranchedDeviceTables _branched_tables(dict t):
    """The device tables from the dict of sksig/cuda/_tables.py (pointers, counts)."""
    cdef BranchedDeviceTables tb
    tb.n = t["n"]
    tb.n_forest = t["n_forest"]
    tb.degree = t["degree"]
    tb.forest_levels = t["forest_levels"]
    tb.term_ptr = <const int32_t*><uintptr_t>t["term_ptr"]
    tb.term_right = <const int32_t*><uintptr_t>t["term_right"]
    tb.term_left = <const int32_t*><uintptr_t>t["term_left"]
    tb.term_elem = <const int32_t*><uintptr_t>t["term_elem"]
    tb.term_coef = <const void*><uintptr_t>t["term_coef"]
    tb.seg_parent = <const int32_t*><uintptr_t>t["seg_parent"]
    tb.seg_label = <const int32_t*><uintptr_t>t["seg_label"]
    tb.seg_ratio = <const void*><uintptr_t>t["seg_ratio"]
    tb.order_start = <const int32_t*><uintptr_t>t["order_start"]
    tb.forest_first = <const int32_t*><uintptr_t>t["forest_first"]
    tb.forest_rest = <const int32_t*><uintptr_t>t["forest_rest"]
    tb.fl_ptr = <const int32_t*><uintptr_t>t["fl_ptr"]
    tb.fl_idx = <const int32_t*><uintptr_t>t["fl_idx"]
    tb.tr_ptr = <const int32_t*><uintptr_t>t["tr_ptr"]
    tb.tr_term = <const int32_t*><uintptr_t>t["tr_term"]
    tb.tl_ptr = <const int32_t*><uintptr_t>t["tl_ptr"]
    tb.tl_term = <const int32_t*><uintptr_t>t["tl_term"]
    tb.fb_ptr = <const int32_t*><uintptr_t>t["fb_ptr"]
    tb.fb_src = <const int32_t*><uintptr_t>t["fb_src"]
    tb.fb_other = <const int32_t*><uintptr_t>t["fb_other"]
    tb.ft_ptr = <const int32_t*><uintptr_t>t["ft_ptr"]
    tb.ft_idx = <const int32_t*><uintptr_t>t["ft_idx"]
    tb.sc_ptr = <const int32_t*><uintptr_t>t["sc_ptr"]
    tb.sc_idx = <const int32_t*><uintptr_t>t["sc_idx"]
    tb.sl_ptr = <const int32_t*><uintptr_t>t["sl_ptr"]
    tb.sl_idx = <const int32_t*><uintptr_t>t["sl_idx"]
    return tb


cdef BranchedDeviceLevels _branched_levels(dict lv):
    cdef BranchedDeviceLevels out
    out.level_ptr = <const int32_t*><uintptr_t>lv["level_ptr"]
    out.level_idx = <const int32_t*><uintptr_t>lv["level_idx"]
    out.mask = <const uint8_t*><uintptr_t>lv["mask"]
    return out


cdef BranchedDeviceLyndon _branched_lyndon(dict ly, bint solve):
    """Method 0 when ly is None (n_lyndon = -1)."""
    cdef BranchedDeviceLyndon out
    out.n_lyndon = -1
    out.pos = NULL
    out.solve = False
    out.tri_ptr = NULL
    out.tri_idx = NULL
    out.tri_val = NULL
    out.n_solve = 0
    out.solve_rows = NULL
    if ly is not None:
        out.n_lyndon = ly["n_lyndon"]
        out.pos = <const int64_t*><uintptr_t>ly["pos"]
        out.solve = solve
        out.tri_ptr = <const int64_t*><uintptr_t>ly["tri_ptr"]
        out.tri_idx = <const int64_t*><uintptr_t>ly["tri_idx"]
        out.tri_val = <const double*><uintptr_t>ly["tri_val"]
        out.n_solve = ly["n_solve"]
        out.solve_rows = <const int64_t*><uintptr_t>ly["solve_rows"]
    return out


def branched_sig(bint dbl, uintptr_t path, uintptr_t out, int64_t batch, int64_t length,
                 int64_t dim, dict tables, bint scalar_out, int device, uintptr_t stream):
    """Branched signatures (batch, n + scalar_out) of paths (batch, length, dim)."""
    cdef int status
    cdef BranchedDeviceTables tb = _branched_tables(tables)
    with nogil:
        status = c_branched_sig(dbl, <const void*>path, <void*>out, batch, length, dim, tb,
                                scalar_out, device, <void*>stream)
    raise_for_status(status, "branched_sig (CUDA)")


def branched_sig_backprop(bint dbl, uintptr_t path, uintptr_t bsig, uintptr_t grad,
                          uintptr_t grad_path, int64_t batch, int64_t length, int64_t dim,
                          dict tables, bint scalar, int device, uintptr_t stream):
    """Gradient (batch, length, dim) of branched_sig at paths (batch, length, dim)."""
    cdef int status
    cdef BranchedDeviceTables tb = _branched_tables(tables)
    with nogil:
        status = c_branched_sig_backprop(dbl, <const void*>path, <const void*>bsig,
                                         <const void*>grad, <void*>grad_path, batch,
                                         length, dim, tb, scalar, device, <void*>stream)
    raise_for_status(status, "branched_sig_backprop (CUDA)")


def branched_log(bint dbl, uintptr_t x, uintptr_t out, int64_t batch, dict tables,
                 dict levels, bint scalar_in, bint scalar_out, dict lyndon, bint solve,
                 int device, uintptr_t stream):
    """The branched log of (batch, n + scalar_in) values (lyndon None: method 0)."""
    cdef int status
    cdef BranchedDeviceTables tb = _branched_tables(tables)
    cdef BranchedDeviceLevels lv = _branched_levels(levels)
    cdef BranchedDeviceLyndon ly = _branched_lyndon(lyndon, solve)
    with nogil:
        status = c_branched_log(dbl, <const void*>x, <void*>out, batch, tb, lv, scalar_in,
                                scalar_out, ly, device, <void*>stream)
    raise_for_status(status, "branched_sig_to_log_sig (CUDA)")


def branched_log_backprop(bint dbl, uintptr_t x, uintptr_t grad_out, uintptr_t grad_x,
                          int64_t batch, dict tables, dict levels, bint scalar_in,
                          bint scalar_grad, dict lyndon, bint solve, int device,
                          uintptr_t stream):
    """Vector-Jacobian product of branched_log (lyndon None: method 0)."""
    cdef int status
    cdef BranchedDeviceTables tb = _branched_tables(tables)
    cdef BranchedDeviceLevels lv = _branched_levels(levels)
    cdef BranchedDeviceLyndon ly = _branched_lyndon(lyndon, solve)
    with nogil:
        status = c_branched_log_backprop(dbl, <const void*>x, <const void*>grad_out,
                                         <void*>grad_x, batch, tb, lv, scalar_in,
                                         scalar_grad, ly, device, <void*>stream)
    raise_for_status(status, "branched_sig_to_log_sig_backprop (CUDA)")
