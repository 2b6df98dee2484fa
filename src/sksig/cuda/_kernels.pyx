"""Cython over the CUDA launchers (launchers.cuh, goursat.cuh). Never imports torch.

Device arrays travel as raw pointers (``uintptr_t``) with the caller's CUDA stream
handle and device index; the Python layer (sksig/cuda/_backend.py) has checked
every shape, dtype and device.
"""
from libc.stdint cimport int32_t, int64_t, uint8_t, uintptr_t
from libcpp cimport bool as cbool

from sksig._core._errors import raise_for_status
from sksig._core.native cimport (
    GoursatShape,
    KernelParams,
    goursat_shape as _shape,
    kernel_params as _kernel,
)


cdef extern from "launchers.cuh" namespace "sksig::cuda" nogil:
    int c_device_count "sksig::cuda::device_count"(int* count) noexcept
    int c_device_name "sksig::cuda::device_name"(int device, char* buf, int length) noexcept
    int c_emulation_control "sksig::cuda::emulation_control"(
        int order, unsigned seed, char* buf, int length) noexcept


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


cdef class BranchedTables:
    """The gather tables of branched.cuh on one device: counts, and pointers into
    tensors that ``keep`` holds alive (built once per table by sksig/cuda/_tables.py)."""
    cdef BranchedDeviceTables t
    cdef readonly object keep

    def __init__(self, dict counts, dict pointers, keep):
        self.keep = keep
        self.t.n = counts["n"]
        self.t.n_forest = counts["n_forest"]
        self.t.degree = counts["degree"]
        self.t.forest_levels = counts["forest_levels"]
        self.t.term_ptr = <const int32_t*><uintptr_t>pointers["term_ptr"]
        self.t.term_right = <const int32_t*><uintptr_t>pointers["term_right"]
        self.t.term_left = <const int32_t*><uintptr_t>pointers["term_left"]
        self.t.term_elem = <const int32_t*><uintptr_t>pointers["term_elem"]
        self.t.term_coef = <const void*><uintptr_t>pointers["term_coef"]
        self.t.seg_parent = <const int32_t*><uintptr_t>pointers["seg_parent"]
        self.t.seg_label = <const int32_t*><uintptr_t>pointers["seg_label"]
        self.t.seg_ratio = <const void*><uintptr_t>pointers["seg_ratio"]
        self.t.order_start = <const int32_t*><uintptr_t>pointers["order_start"]
        self.t.forest_first = <const int32_t*><uintptr_t>pointers["forest_first"]
        self.t.forest_rest = <const int32_t*><uintptr_t>pointers["forest_rest"]
        self.t.fl_ptr = <const int32_t*><uintptr_t>pointers["fl_ptr"]
        self.t.fl_idx = <const int32_t*><uintptr_t>pointers["fl_idx"]
        self.t.tr_ptr = <const int32_t*><uintptr_t>pointers["tr_ptr"]
        self.t.tr_term = <const int32_t*><uintptr_t>pointers["tr_term"]
        self.t.tl_ptr = <const int32_t*><uintptr_t>pointers["tl_ptr"]
        self.t.tl_term = <const int32_t*><uintptr_t>pointers["tl_term"]
        self.t.fb_ptr = <const int32_t*><uintptr_t>pointers["fb_ptr"]
        self.t.fb_src = <const int32_t*><uintptr_t>pointers["fb_src"]
        self.t.fb_other = <const int32_t*><uintptr_t>pointers["fb_other"]
        self.t.ft_ptr = <const int32_t*><uintptr_t>pointers["ft_ptr"]
        self.t.ft_idx = <const int32_t*><uintptr_t>pointers["ft_idx"]
        self.t.sc_ptr = <const int32_t*><uintptr_t>pointers["sc_ptr"]
        self.t.sc_idx = <const int32_t*><uintptr_t>pointers["sc_idx"]
        self.t.sl_ptr = <const int32_t*><uintptr_t>pointers["sl_ptr"]
        self.t.sl_idx = <const int32_t*><uintptr_t>pointers["sl_idx"]


cdef class BranchedLevels:
    """The level masks of the branched log on one device (see BranchedTables)."""
    cdef BranchedDeviceLevels t
    cdef readonly object keep

    def __init__(self, dict counts, dict pointers, keep):
        self.keep = keep
        self.t.level_ptr = <const int32_t*><uintptr_t>pointers["level_ptr"]
        self.t.level_idx = <const int32_t*><uintptr_t>pointers["level_idx"]
        self.t.mask = <const uint8_t*><uintptr_t>pointers["mask"]


cdef class BranchedLyndon:
    """The Lyndon coordinates of the planar branched log on one device."""
    cdef BranchedDeviceLyndon t
    cdef readonly object keep

    def __init__(self, dict counts, dict pointers, keep):
        self.keep = keep
        self.t.n_lyndon = counts["n_lyndon"]
        self.t.pos = <const int64_t*><uintptr_t>pointers["pos"]
        self.t.solve = False
        self.t.tri_ptr = <const int64_t*><uintptr_t>pointers["tri_ptr"]
        self.t.tri_idx = <const int64_t*><uintptr_t>pointers["tri_idx"]
        self.t.tri_val = <const double*><uintptr_t>pointers["tri_val"]
        self.t.n_solve = counts["n_solve"]
        self.t.solve_rows = <const int64_t*><uintptr_t>pointers["solve_rows"]


cdef BranchedDeviceLyndon _lyndon(BranchedLyndon lyndon, bint solve):
    """Method 0 when lyndon is None (n_lyndon = -1)."""
    cdef BranchedDeviceLyndon out
    if lyndon is not None:
        out = lyndon.t
        out.solve = solve
        return out
    out.n_lyndon = -1
    out.pos = NULL
    out.solve = False
    out.tri_ptr = NULL
    out.tri_idx = NULL
    out.tri_val = NULL
    out.n_solve = 0
    out.solve_rows = NULL
    return out


def branched_sig(bint dbl, uintptr_t path, uintptr_t out, int64_t batch, int64_t length,
                 int64_t dim, BranchedTables tables not None, bint scalar_out, int device,
                 uintptr_t stream):
    """Branched signatures (batch, n + scalar_out) of paths (batch, length, dim)."""
    cdef int status
    with nogil:
        status = c_branched_sig(dbl, <const void*>path, <void*>out, batch, length, dim,
                                tables.t, scalar_out, device, <void*>stream)
    raise_for_status(status, "branched_sig (CUDA)")


def branched_sig_backprop(bint dbl, uintptr_t path, uintptr_t bsig, uintptr_t grad,
                          uintptr_t grad_path, int64_t batch, int64_t length, int64_t dim,
                          BranchedTables tables not None, bint scalar, int device,
                          uintptr_t stream):
    """Gradient (batch, length, dim) of branched_sig at paths (batch, length, dim)."""
    cdef int status
    with nogil:
        status = c_branched_sig_backprop(dbl, <const void*>path, <const void*>bsig,
                                         <const void*>grad, <void*>grad_path, batch,
                                         length, dim, tables.t, scalar, device,
                                         <void*>stream)
    raise_for_status(status, "branched_sig_backprop (CUDA)")


def branched_log(bint dbl, uintptr_t x, uintptr_t out, int64_t batch,
                 BranchedTables tables not None, BranchedLevels levels not None,
                 bint scalar_in, bint scalar_out, BranchedLyndon lyndon, bint solve,
                 int device, uintptr_t stream):
    """The branched log of (batch, n + scalar_in) values (lyndon None: method 0)."""
    cdef int status
    cdef BranchedDeviceLyndon ly = _lyndon(lyndon, solve)
    with nogil:
        status = c_branched_log(dbl, <const void*>x, <void*>out, batch, tables.t,
                                levels.t, scalar_in, scalar_out, ly, device,
                                <void*>stream)
    raise_for_status(status, "branched_sig_to_log_sig (CUDA)")


def branched_log_backprop(bint dbl, uintptr_t x, uintptr_t grad_out, uintptr_t grad_x,
                          int64_t batch, BranchedTables tables not None,
                          BranchedLevels levels not None, bint scalar_in,
                          bint scalar_grad, BranchedLyndon lyndon, bint solve, int device,
                          uintptr_t stream):
    """Vector-Jacobian product of branched_log (lyndon None: method 0)."""
    cdef int status
    cdef BranchedDeviceLyndon ly = _lyndon(lyndon, solve)
    with nogil:
        status = c_branched_log_backprop(dbl, <const void*>x, <const void*>grad_out,
                                         <void*>grad_x, batch, tables.t, levels.t,
                                         scalar_in, scalar_grad, ly, device,
                                         <void*>stream)
    raise_for_status(status, "branched_sig_to_log_sig_backprop (CUDA)")
