"""Cython over the CUDA launchers (declared in cuda_native.pxd). Never imports torch.

Device arrays travel as raw pointers (``uintptr_t``) with the caller's CUDA stream
handle and device index; the Python layer (sksig/cuda/_backend.py) has checked
every shape, dtype and device. The static kernel and the Lyndon tables are the typed
objects of sksig/_core/native.pxd, shared with the CPU cores.
"""
from libc.stdint cimport int32_t, int64_t, uint8_t, uintptr_t

from sksig._core cimport native
from sksig._core.native cimport (
    LyndonTables,
    StaticKernelParams,
)
from sksig.cuda cimport cuda_native as cu
from sksig.cuda.cuda_native cimport (
    BranchedDeviceLevels,
    BranchedDeviceLyndon,
    BranchedDeviceTables,
)


def device_count():
    """Number of CUDA devices visible to the runtime (0 without a driver)."""
    cdef int n = 0
    native.check(cu.device_count(&n), "sksig.cuda.device_count")
    return n


def device_name(int device=0):
    """Name of a CUDA device."""
    cdef char buf[256]
    native.check(cu.device_name(device, buf, 256), "sksig.cuda.device_name")
    return buf.decode("utf-8", "replace")


def emulation_control(int order=0, unsigned seed=0):
    """CPU emulation only: set the thread order of barrier phases (0 ascending,
    1 descending, 2 random from seed) and return the memory fault seen since the
    last call ("" when none)."""
    cdef char buf[512]
    native.check(cu.emulation_control(order, seed, buf, 512), "emulation_control")
    return buf.decode("utf-8", "replace")


def sig_kernel_forward(bint dbl, uintptr_t x, uintptr_t y, int64_t n_pairs, int64_t ny,
                       bint gram, bint symmetric, int64_t L1, int64_t L2, int64_t d,
                       (int, int) orders, StaticKernelParams kernel not None,
                       bint fused_delta, uintptr_t out, uintptr_t grid, int64_t chunk,
                       int device, uintptr_t stream):
    """Kernels of n_pairs pairs into out (and their grids into grid unless it is 0);
    symmetric: a Gram of x with itself, solved on the upper triangle; fused_delta:
    linear kernels compute Delta inside the wavefront."""
    with nogil:
        native.check(cu.sig_kernel_forward(
            dbl, <const void*>x, <const void*>y, n_pairs, ny, gram, symmetric,
            native.goursat_shape(L1, L2, d, orders), kernel.c, fused_delta, <void*>out,
            <void*>grid, chunk, device, <void*>stream), "sig_kernel (CUDA)")


def sig_kernel_backward(bint dbl, uintptr_t x, uintptr_t y, int64_t nx, int64_t ny,
                        bint gram, int64_t L1, int64_t L2, int64_t d, (int, int) orders,
                        StaticKernelParams kernel not None, uintptr_t derivs,
                        bint grid_derivs, uintptr_t k_grid, uintptr_t gx, uintptr_t gy,
                        uintptr_t gamma, int64_t chunk, int device, uintptr_t stream):
    """Backprop of pairwise or Gram pairs; pointers that are 0 are not computed."""
    with nogil:
        native.check(cu.sig_kernel_backward(
            dbl, <const void*>x, <const void*>y, nx, ny, gram,
            native.goursat_shape(L1, L2, d, orders), kernel.c, <const void*>derivs,
            grid_derivs, <const void*>k_grid, <void*>gx, <void*>gy, <void*>gamma, chunk,
            device, <void*>stream), "sig_kernel_backprop (CUDA)")


# ---------------- log_sig

def log_sig_tables(int dim, int degree, LyndonTables tables not None, int device):
    """Handle of the device copy of the Lyndon tables of (dim, degree), uploaded on the
    first call per device (tables: the host tables of sksig._lyndon.lyndon_tables)."""
    cdef uintptr_t handle = 0
    with nogil:
        native.check(cu.log_sig_tables(
            dim, degree, tables.view.n, tables.view.pos, tables.view.tri_ptr,
            tables.view.tri_col, tables.view.tri_val, tables.view.exp_ptr,
            tables.view.exp_pos, tables.view.exp_val, device, &handle),
            "log_sig tables (CUDA)")
    return handle


def log_sig_join(bint dbl, uintptr_t ls, uintptr_t disp, uintptr_t out, int64_t batch,
                 uintptr_t tables, int device, uintptr_t stream):
    """Joined log-signatures of batch items into out."""
    with nogil:
        native.check(cu.log_sig_join(dbl, <const void*>ls, <const void*>disp, <void*>out,
                                     batch, tables, device, <void*>stream),
                     "log_sig_join (CUDA)")


def log_sig_join_backprop(bint dbl, uintptr_t d_out, uintptr_t ls, uintptr_t disp,
                          uintptr_t grad_ls, uintptr_t grad_disp, int64_t batch,
                          uintptr_t tables, int device, uintptr_t stream):
    """Gradients of log_sig_join with respect to ls and disp (overwritten)."""
    with nogil:
        native.check(cu.log_sig_join_backprop(
            dbl, <const void*>d_out, <const void*>ls, <const void*>disp, <void*>grad_ls,
            <void*>grad_disp, batch, tables, device, <void*>stream),
            "log_sig_join_backprop (CUDA)")


# ---------------- branched

cdef inline const int32_t* _i32(dict pointers, str name):
    return <const int32_t*><uintptr_t>pointers[name]


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
        self.t.term_coef = <const void*><uintptr_t>pointers["term_coef"]
        self.t.seg_ratio = <const void*><uintptr_t>pointers["seg_ratio"]
        self.t.term_ptr = _i32(pointers, "term_ptr")
        self.t.term_right = _i32(pointers, "term_right")
        self.t.term_left = _i32(pointers, "term_left")
        self.t.term_elem = _i32(pointers, "term_elem")
        self.t.seg_parent = _i32(pointers, "seg_parent")
        self.t.seg_label = _i32(pointers, "seg_label")
        self.t.order_start = _i32(pointers, "order_start")
        self.t.forest_first = _i32(pointers, "forest_first")
        self.t.forest_rest = _i32(pointers, "forest_rest")
        self.t.fl_ptr = _i32(pointers, "fl_ptr")
        self.t.fl_idx = _i32(pointers, "fl_idx")
        self.t.tr_ptr = _i32(pointers, "tr_ptr")
        self.t.tr_term = _i32(pointers, "tr_term")
        self.t.tl_ptr = _i32(pointers, "tl_ptr")
        self.t.tl_term = _i32(pointers, "tl_term")
        self.t.fb_ptr = _i32(pointers, "fb_ptr")
        self.t.fb_src = _i32(pointers, "fb_src")
        self.t.fb_other = _i32(pointers, "fb_other")
        self.t.ft_ptr = _i32(pointers, "ft_ptr")
        self.t.ft_idx = _i32(pointers, "ft_idx")
        self.t.sc_ptr = _i32(pointers, "sc_ptr")
        self.t.sc_idx = _i32(pointers, "sc_idx")
        self.t.sl_ptr = _i32(pointers, "sl_ptr")
        self.t.sl_idx = _i32(pointers, "sl_idx")


cdef class BranchedLevels:
    """The level masks of the branched log on one device (see BranchedTables)."""
    cdef BranchedDeviceLevels t
    cdef readonly object keep

    def __init__(self, dict counts, dict pointers, keep):
        self.keep = keep
        self.t.level_ptr = _i32(pointers, "level_ptr")
        self.t.level_idx = _i32(pointers, "level_idx")
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
    with nogil:
        native.check(cu.branched_sig(dbl, <const void*>path, <void*>out, batch, length,
                                     dim, tables.t, scalar_out, device, <void*>stream),
                     "branched_sig (CUDA)")


def branched_sig_backprop(bint dbl, uintptr_t path, uintptr_t bsig, uintptr_t grad,
                          uintptr_t grad_path, int64_t batch, int64_t length, int64_t dim,
                          BranchedTables tables not None, bint scalar, int device,
                          uintptr_t stream):
    """Gradient (batch, length, dim) of branched_sig at paths (batch, length, dim)."""
    with nogil:
        native.check(cu.branched_sig_backprop(
            dbl, <const void*>path, <const void*>bsig, <const void*>grad,
            <void*>grad_path, batch, length, dim, tables.t, scalar, device,
            <void*>stream), "branched_sig_backprop (CUDA)")


def branched_log(bint dbl, uintptr_t x, uintptr_t out, int64_t batch,
                 BranchedTables tables not None, BranchedLevels levels not None,
                 bint scalar_in, bint scalar_out, BranchedLyndon lyndon, bint solve,
                 int device, uintptr_t stream):
    """The branched log of (batch, n + scalar_in) values (lyndon None: method 0)."""
    cdef BranchedDeviceLyndon ly = _lyndon(lyndon, solve)
    with nogil:
        native.check(cu.branched_log(dbl, <const void*>x, <void*>out, batch, tables.t,
                                     levels.t, scalar_in, scalar_out, ly, device,
                                     <void*>stream), "branched_sig_to_log_sig (CUDA)")


def branched_log_backprop(bint dbl, uintptr_t x, uintptr_t grad_out, uintptr_t grad_x,
                          int64_t batch, BranchedTables tables not None,
                          BranchedLevels levels not None, bint scalar_in,
                          bint scalar_grad, BranchedLyndon lyndon, bint solve, int device,
                          uintptr_t stream):
    """Vector-Jacobian product of branched_log (lyndon None: method 0)."""
    cdef BranchedDeviceLyndon ly = _lyndon(lyndon, solve)
    with nogil:
        native.check(cu.branched_log_backprop(
            dbl, <const void*>x, <const void*>grad_out, <void*>grad_x, batch, tables.t,
            levels.t, scalar_in, scalar_grad, ly, device, <void*>stream),
            "branched_sig_to_log_sig_backprop (CUDA)")
