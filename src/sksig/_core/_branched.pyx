# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/branched.hpp; arguments were checked in Python."""
from cython cimport floating
from libc.stdint cimport int32_t, int64_t
from libcpp cimport bool as cbool

from sksig._core._errors import raise_for_status

include "_interrupt.pxi"


cdef extern from "sksig/branched.hpp" namespace "sksig" nogil:
    cdef cppclass BranchedTables[T]:
        int64_t n
        int degree
        const int32_t* term_ptr
        const T* term_coef
        const int32_t* term_right
        const int32_t* term_left
        int64_t n_forest
        const int32_t* forest_first
        const int32_t* forest_rest
        const int32_t* seg_parent
        const int32_t* seg_label
        const T* seg_ratio
        const int32_t* order_start
        const int32_t* level_ptr
        const int32_t* level_idx
        const int32_t* run_idx
        const int32_t* run_end
        const int32_t* rev_lev_r
        const int32_t* rev_ptr_r
        const int32_t* rev_t_r
        const int32_t* rev_e_r
        const int32_t* rev_lev_l
        const int32_t* rev_ptr_l
        const int32_t* rev_t_l
        const int32_t* rev_e_l

    cdef cppclass LyndonMap:
        int64_t n_lyndon
        const int64_t* pos
        cbool solve
        const int64_t* tri_ptr
        const int64_t* tri_idx
        const double* tri_val

    int branched_sig[T](const T* path, T* out, int64_t batch, int64_t length,
                        int64_t dim, const BranchedTables[T]& tb, cbool scalar_out,
                        int n_threads) noexcept
    int branched_sig_backprop[T](const T* path, const T* bsig, const T* grad,
                                 T* grad_path, int64_t batch, int64_t length,
                                 int64_t dim, const BranchedTables[T]& tb, cbool scalar,
                                 int n_threads) noexcept
    int branched_log[T](const T* x, T* out, int64_t batch, const BranchedTables[T]& tb,
                        cbool scalar_in, cbool scalar_out, const LyndonMap* lyn,
                        int n_threads) noexcept
    int branched_log_backprop[T](const T* x, const T* grad_out, T* grad_x,
                                 int64_t batch, const BranchedTables[T]& tb,
                                 cbool scalar_in, cbool scalar_grad,
                                 const LyndonMap* lyn, int n_threads) noexcept


cdef int64_t _dummy_i = 0
cdef int32_t _dummy_i32 = 0
cdef double _dummy_d = 0.0


cdef const int64_t* _iptr(const int64_t[::1] a):
    return &a[0] if a.shape[0] else &_dummy_i


cdef const int32_t* _i32(const int32_t[::1] a):
    return &a[0] if a.shape[0] else &_dummy_i32


cdef const double* _dptr(const double[::1] a):
    return &a[0] if a.shape[0] else &_dummy_d


cdef void _lyndon_map(LyndonMap* ly, dict lyn):
    ly.n_lyndon = lyn["positions"].shape[0]
    ly.pos = _iptr(lyn["positions"])
    ly.solve = False
    ly.tri_ptr = _iptr(lyn["tri_ptr"])
    ly.tri_idx = _iptr(lyn["tri_idx"])
    ly.tri_val = _dptr(lyn["tri_val"])


cdef void _fill(BranchedTables[floating]* tb, dict t, dict levels, int64_t n,
                const floating[::1] coef, const floating[::1] ratio):
    tb.n = n
    tb.degree = t["degree"]
    tb.term_ptr = _i32(t["term_ptr"])
    tb.term_coef = &coef[0] if coef.shape[0] else NULL
    tb.term_right = _i32(t["term_right"])
    tb.term_left = _i32(t["term_left"])
    tb.n_forest = t["forest_first"].shape[0]
    tb.forest_first = _i32(t["forest_first"])
    tb.forest_rest = _i32(t["forest_rest"])
    tb.seg_parent = _i32(t["seg_parent"])
    tb.seg_label = _i32(t["seg_label"])
    tb.seg_ratio = &ratio[0]
    tb.order_start = _i32(t["order_start"])
    if not levels:  # the signature reads no level tables
        tb.level_ptr = tb.level_idx = tb.run_idx = tb.run_end = NULL
        tb.rev_lev_r = tb.rev_ptr_r = tb.rev_t_r = tb.rev_e_r = NULL
        tb.rev_lev_l = tb.rev_ptr_l = tb.rev_t_l = tb.rev_e_l = NULL
        return
    tb.level_ptr = _i32(levels["level_ptr"])
    tb.level_idx = _i32(levels["level_idx"])
    tb.run_idx = _i32(levels["run_idx"])
    tb.run_end = _i32(levels["run_end"])
    tb.rev_lev_r = _i32(levels["rev_lev_r"])
    tb.rev_ptr_r = _i32(levels["rev_ptr_r"])
    tb.rev_t_r = _i32(levels["rev_t_r"])
    tb.rev_e_r = _i32(levels["rev_e_r"])
    tb.rev_lev_l = _i32(levels["rev_lev_l"])
    tb.rev_ptr_l = _i32(levels["rev_ptr_l"])
    tb.rev_t_l = _i32(levels["rev_t_l"])
    tb.rev_e_l = _i32(levels["rev_e_l"])


cdef class Tables:
    """Native views of one set of branched tables, made once and reused by every call
    (taking ~25 memoryviews per call cost more than a small batch's arithmetic).

    ``tables`` is the dict of ``_tree_tables.BranchedTables.native()``, ``levels`` that of
    ``levels()`` (None for the signature), ``lyn`` that of ``lyndon()`` (planar
    methods 1-2 only). The dicts are kept alive with the views.
    """
    cdef BranchedTables[double] f64
    cdef BranchedTables[float] f32
    cdef LyndonMap lyn
    cdef bint has_lyn
    cdef readonly tuple source

    def __init__(self, dict tables, int64_t n, dict levels=None, dict lyn=None):
        self.source = (tables, levels, lyn)
        _fill[double](&self.f64, tables, levels, n, tables["term_coef_float64"],
                      tables["seg_ratio_float64"])
        _fill[float](&self.f32, tables, levels, n, tables["term_coef_float32"],
                     tables["seg_ratio_float32"])
        self.has_lyn = lyn is not None
        if self.has_lyn:
            _lyndon_map(&self.lyn, lyn)


def sig(const floating[:, :, ::1] path,  # IN  (batch, length, dim)
        floating[:, ::1] out,            # OUT (batch, n + scalar_out)
        Tables tables, bint scalar_out, int n_threads):
    cdef int status
    if path.shape[0] == 0 or out.shape[1] == 0:
        return
    with nogil:
        if floating is double:
            status = branched_sig(&path[0, 0, 0], &out[0, 0], path.shape[0],
                                  path.shape[1], path.shape[2], tables.f64, scalar_out,
                                  n_threads)
        else:
            status = branched_sig(&path[0, 0, 0], &out[0, 0], path.shape[0],
                                  path.shape[1], path.shape[2], tables.f32, scalar_out,
                                  n_threads)
    raise_for_status(status, "branched_sig")


def sig_backprop(const floating[:, :, ::1] path,  # IN  (batch, length, dim)
                 const floating[:, ::1] bsig,        # IN  (batch, n + scalar)
                 const floating[:, ::1] grad,        # IN  (batch, n + scalar)
                 floating[:, :, ::1] grad_path,      # OUT (batch, length, dim)
                 Tables tables, bint scalar, int n_threads):
    cdef int status
    if path.shape[0] == 0 or path.shape[1] == 0 or bsig.shape[1] == 0:
        return
    with nogil:
        if floating is double:
            status = branched_sig_backprop(&path[0, 0, 0], &bsig[0, 0], &grad[0, 0],
                                           &grad_path[0, 0, 0], path.shape[0],
                                           path.shape[1], path.shape[2], tables.f64,
                                           scalar, n_threads)
        else:
            status = branched_sig_backprop(&path[0, 0, 0], &bsig[0, 0], &grad[0, 0],
                                           &grad_path[0, 0, 0], path.shape[0],
                                           path.shape[1], path.shape[2], tables.f32,
                                           scalar, n_threads)
    raise_for_status(status, "branched_sig_backprop")


def log(const floating[:, ::1] x,  # IN  (batch, n + scalar_in), scalar entry ignored
        floating[:, ::1] out,      # OUT (batch, n + scalar_out) or (batch, n_lyndon)
        Tables tables, bint scalar_in, bint scalar_out, int n_threads,
        bint solve=False):
    cdef int status
    cdef LyndonMap ly = tables.lyn
    cdef const LyndonMap* lyp = &ly if tables.has_lyn else NULL
    ly.solve = solve
    if x.shape[0] == 0:
        return
    with nogil:
        if floating is double:
            status = branched_log(&x[0, 0], &out[0, 0], x.shape[0], tables.f64,
                                  scalar_in, scalar_out, lyp, n_threads)
        else:
            status = branched_log(&x[0, 0], &out[0, 0], x.shape[0], tables.f32,
                                  scalar_in, scalar_out, lyp, n_threads)
    raise_for_status(status, "branched_sig_to_log_sig")


def log_backprop(const floating[:, ::1] x,         # IN  (batch, n + scalar_in)
                 const floating[:, ::1] grad_out,  # IN  (batch, n + scalar_grad) or
                                                   #     (batch, n_lyndon)
                 floating[:, ::1] grad_x,          # OUT (batch, n + scalar_in)
                 Tables tables, bint scalar_in, bint scalar_grad, int n_threads,
                 bint solve=False):
    cdef int status
    cdef LyndonMap ly = tables.lyn
    cdef const LyndonMap* lyp = &ly if tables.has_lyn else NULL
    ly.solve = solve
    if x.shape[0] == 0:
        return
    with nogil:
        if floating is double:
            status = branched_log_backprop(&x[0, 0], &grad_out[0, 0], &grad_x[0, 0],
                                           x.shape[0], tables.f64, scalar_in,
                                           scalar_grad, lyp, n_threads)
        else:
            status = branched_log_backprop(&x[0, 0], &grad_out[0, 0], &grad_x[0, 0],
                                           x.shape[0], tables.f32, scalar_in,
                                           scalar_grad, lyp, n_threads)
    raise_for_status(status, "branched_sig_to_log_sig_backprop")


# -- the group operations on given vectors (include/sksig/branched_algebra.hpp) --------
cdef extern from "sksig/branched_algebra.hpp" namespace "sksig" nogil:
    int branched_combine[T](const T* a, const T* b, T* out, int64_t batch,
                            const BranchedTables[T]& tb, cbool scalar,
                            int n_threads) noexcept
    int branched_combine_backprop[T](const T* a, const T* b, const T* g, T* ga, T* gb,
                                     int64_t batch, const BranchedTables[T]& tb,
                                     cbool scalar, int n_threads) noexcept
    int branched_join[T](const T* bsig, const T* disp, T* out, int64_t batch,
                         int64_t dim, const BranchedTables[T]& tb, cbool scalar,
                         cbool prepend, int n_threads) noexcept
    int branched_join_backprop[T](const T* bsig, const T* disp, const T* g, T* gbsig,
                                  T* gdisp, int64_t batch, int64_t dim,
                                  const BranchedTables[T]& tb, cbool scalar,
                                  cbool prepend, int n_threads) noexcept
    int linear_branched_sig[T](const T* disp, T* out, int64_t batch, int64_t dim,
                               const BranchedTables[T]& tb, cbool scalar,
                               int n_threads) noexcept
    int linear_branched_sig_backprop[T](const T* disp, const T* g, T* gdisp,
                                        int64_t batch, int64_t dim,
                                        const BranchedTables[T]& tb, cbool scalar,
                                        int n_threads) noexcept


def combine(const floating[:, ::1] a,  # IN  (batch, n + scalar)
            const floating[:, ::1] b,  # IN  (batch, n + scalar)
            floating[:, ::1] out,      # OUT (batch, n + scalar)
            Tables tables, bint scalar, int n_threads):
    cdef int status
    if a.shape[0] == 0 or a.shape[1] == 0:
        return
    with nogil:
        if floating is double:
            status = branched_combine(&a[0, 0], &b[0, 0], &out[0, 0], a.shape[0],
                                      tables.f64, scalar, n_threads)
        else:
            status = branched_combine(&a[0, 0], &b[0, 0], &out[0, 0], a.shape[0],
                                      tables.f32, scalar, n_threads)
    raise_for_status(status, "branched_sig_combine")


def combine_backprop(const floating[:, ::1] a,  # IN  (batch, n + scalar)
                     const floating[:, ::1] b,  # IN  (batch, n + scalar)
                     const floating[:, ::1] g,  # IN  (batch, n + scalar)
                     floating[:, ::1] ga,       # OUT (batch, n + scalar)
                     floating[:, ::1] gb,       # OUT (batch, n + scalar)
                     Tables tables, bint scalar, int n_threads):
    cdef int status
    if a.shape[0] == 0 or a.shape[1] == 0:
        return
    with nogil:
        if floating is double:
            status = branched_combine_backprop(&a[0, 0], &b[0, 0], &g[0, 0], &ga[0, 0],
                                               &gb[0, 0], a.shape[0], tables.f64,
                                               scalar, n_threads)
        else:
            status = branched_combine_backprop(&a[0, 0], &b[0, 0], &g[0, 0], &ga[0, 0],
                                               &gb[0, 0], a.shape[0], tables.f32,
                                               scalar, n_threads)
    raise_for_status(status, "branched_sig_combine_backprop")


def join(const floating[:, ::1] bsig,  # IN  (batch, n + scalar)
         const floating[:, ::1] disp,  # IN  (batch, dim)
         floating[:, ::1] out,         # OUT (batch, n + scalar)
         Tables tables, bint scalar, bint prepend, int n_threads):
    cdef int status
    if bsig.shape[0] == 0 or bsig.shape[1] == 0:
        return
    with nogil:
        if floating is double:
            status = branched_join(&bsig[0, 0], &disp[0, 0], &out[0, 0], bsig.shape[0],
                                   disp.shape[1], tables.f64, scalar, prepend,
                                   n_threads)
        else:
            status = branched_join(&bsig[0, 0], &disp[0, 0], &out[0, 0], bsig.shape[0],
                                   disp.shape[1], tables.f32, scalar, prepend,
                                   n_threads)
    raise_for_status(status, "branched_sig_join")


def join_backprop(const floating[:, ::1] bsig,  # IN  (batch, n + scalar)
                  const floating[:, ::1] disp,  # IN  (batch, dim)
                  const floating[:, ::1] g,     # IN  (batch, n + scalar)
                  floating[:, ::1] gbsig,       # OUT (batch, n + scalar)
                  floating[:, ::1] gdisp,       # OUT (batch, dim)
                  Tables tables, bint scalar, bint prepend, int n_threads):
    cdef int status
    if bsig.shape[0] == 0 or bsig.shape[1] == 0:
        return
    with nogil:
        if floating is double:
            status = branched_join_backprop(&bsig[0, 0], &disp[0, 0], &g[0, 0],
                                            &gbsig[0, 0], &gdisp[0, 0], bsig.shape[0],
                                            disp.shape[1], tables.f64, scalar, prepend,
                                            n_threads)
        else:
            status = branched_join_backprop(&bsig[0, 0], &disp[0, 0], &g[0, 0],
                                            &gbsig[0, 0], &gdisp[0, 0], bsig.shape[0],
                                            disp.shape[1], tables.f32, scalar, prepend,
                                            n_threads)
    raise_for_status(status, "branched_sig_join_backprop")


def linear(const floating[:, ::1] disp,  # IN  (batch, dim)
           floating[:, ::1] out,         # OUT (batch, n + scalar)
           Tables tables, bint scalar, int n_threads):
    cdef int status
    if disp.shape[0] == 0 or out.shape[1] == 0:
        return
    with nogil:
        if floating is double:
            status = linear_branched_sig(&disp[0, 0], &out[0, 0], disp.shape[0],
                                         disp.shape[1], tables.f64, scalar, n_threads)
        else:
            status = linear_branched_sig(&disp[0, 0], &out[0, 0], disp.shape[0],
                                         disp.shape[1], tables.f32, scalar, n_threads)
    raise_for_status(status, "linear_branched_sig")


def linear_backprop(const floating[:, ::1] disp,  # IN  (batch, dim)
                    const floating[:, ::1] g,     # IN  (batch, n + scalar)
                    floating[:, ::1] gdisp,       # OUT (batch, dim)
                    Tables tables, bint scalar, int n_threads):
    cdef int status
    if disp.shape[0] == 0 or disp.shape[1] == 0 or g.shape[1] == 0:
        return
    with nogil:
        if floating is double:
            status = linear_branched_sig_backprop(&disp[0, 0], &g[0, 0], &gdisp[0, 0],
                                                  disp.shape[0], disp.shape[1],
                                                  tables.f64, scalar, n_threads)
        else:
            status = linear_branched_sig_backprop(&disp[0, 0], &g[0, 0], &gdisp[0, 0],
                                                  disp.shape[0], disp.shape[1],
                                                  tables.f32, scalar, n_threads)
    raise_for_status(status, "linear_branched_sig_backprop")
