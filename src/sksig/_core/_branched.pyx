# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/branched.hpp; arguments were checked in Python."""
from cython cimport floating
from libc.stdint cimport int32_t, int64_t

from sksig._core cimport native
from sksig._core.native cimport BranchedTables, LyndonMap

include "_interrupt.pxi"


cdef extern from "sksig/branched.hpp" namespace "sksig" nogil:
    # A field of BranchedTables that native.pxd does not declare.
    void set_fused_order[T](BranchedTables[T]& tb, const int32_t* order) noexcept


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
    _reverse(levels, "r", &tb.rev_lev_r, &tb.rev_ptr_r, &tb.rev_t_r, &tb.rev_e_r)
    _reverse(levels, "l", &tb.rev_lev_l, &tb.rev_ptr_l, &tb.rev_t_l, &tb.rev_e_l)
    if "fused_order" in levels:
        set_fused_order(tb[0], _i32(levels["fused_order"]))


cdef void _reverse(dict levels, str side, const int32_t** lev, const int32_t** ptr,
                   const int32_t** term, const int32_t** elem):
    """The reverse map of one side ("r" or "l") of the products (see branched.hpp)."""
    lev[0] = _i32(levels["rev_lev_" + side])
    ptr[0] = _i32(levels["rev_ptr_" + side])
    term[0] = _i32(levels["rev_t_" + side])
    elem[0] = _i32(levels["rev_e_" + side])


cdef class Tables:
    """Native views of one set of branched tables, made once and reused by every call
    (taking ~25 memoryviews per call cost more than a small batch's arithmetic).

    ``tables`` is the dict of ``_tree_tables.BranchedTables.native()``, ``levels`` that of
    ``levels()`` (None for the signature), ``lyn`` that of ``lyndon()`` (planar
    methods 1-2 only). The dicts are kept alive with the views.
    """
    cdef BranchedTables[double] f64
    cdef BranchedTables[float] f32
    cdef LyndonMap lyn[2]  # without and with the triangular solve
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
            _lyndon_map(&self.lyn[0], lyn)
            self.lyn[1] = self.lyn[0]
            self.lyn[1].solve = True

    cdef const LyndonMap* lyndon(self, bint solve) noexcept nogil:
        """The Lyndon map of the planar log (methods 1-2), NULL for method 0."""
        return &self.lyn[1 if solve else 0] if self.has_lyn else NULL


cdef inline const BranchedTables[floating]* _of(Tables tables,
                                                const floating* like) noexcept nogil:
    """The tables in the precision of ``like`` (only its type is used)."""
    if floating is double:
        return &tables.f64
    else:
        return &tables.f32


def sig(const floating[:, :, ::1] path,  # IN  (batch, length, dim)
        floating[:, ::1] out,            # OUT (batch, n + scalar_out)
        Tables tables not None, bint scalar_out, int n_threads):
    if path.shape[0] and out.shape[1]:
        with nogil:
            native.check(native.branched_sig(
                &path[0, 0, 0], &out[0, 0], path.shape[0], path.shape[1], path.shape[2],
                _of(tables, <floating*> NULL)[0], scalar_out, n_threads),
                "branched_sig")


def sig_backprop(const floating[:, :, ::1] path,  # IN  (batch, length, dim)
                 const floating[:, ::1] bsig,        # IN  (batch, n + scalar)
                 const floating[:, ::1] grad,        # IN  (batch, n + scalar)
                 floating[:, :, ::1] grad_path,      # OUT (batch, length, dim)
                 Tables tables not None, bint scalar, int n_threads):
    if path.shape[0] and path.shape[1] and bsig.shape[1]:
        with nogil:
            native.check(native.branched_sig_backprop(
                &path[0, 0, 0], &bsig[0, 0], &grad[0, 0], &grad_path[0, 0, 0],
                path.shape[0], path.shape[1], path.shape[2],
                _of(tables, <floating*> NULL)[0], scalar, n_threads),
                "branched_sig_backprop")


def log(const floating[:, ::1] x,  # IN  (batch, n + scalar_in), scalar entry ignored
        floating[:, ::1] out,      # OUT (batch, n + scalar_out) or (batch, n_lyndon)
        Tables tables not None, bint scalar_in, bint scalar_out, int n_threads,
        bint solve=False):
    if x.shape[0]:
        with nogil:
            native.check(native.branched_log(
                &x[0, 0], &out[0, 0], x.shape[0], _of(tables, <floating*> NULL)[0],
                scalar_in, scalar_out, tables.lyndon(solve), n_threads),
                "branched_sig_to_log_sig")


def log_backprop(const floating[:, ::1] x,         # IN  (batch, n + scalar_in)
                 const floating[:, ::1] grad_out,  # IN  (batch, n + scalar_grad) or
                                                   #     (batch, n_lyndon)
                 floating[:, ::1] grad_x,          # OUT (batch, n + scalar_in)
                 Tables tables not None, bint scalar_in, bint scalar_grad, int n_threads,
                 bint solve=False):
    if x.shape[0]:
        with nogil:
            native.check(native.branched_log_backprop(
                &x[0, 0], &grad_out[0, 0], &grad_x[0, 0], x.shape[0],
                _of(tables, <floating*> NULL)[0], scalar_in, scalar_grad,
                tables.lyndon(solve), n_threads), "branched_sig_to_log_sig_backprop")


# -- the group operations on given vectors (include/sksig/branched_algebra.hpp) --------
def combine(const floating[:, ::1] a,  # IN  (batch, n + scalar)
            const floating[:, ::1] b,  # IN  (batch, n + scalar)
            floating[:, ::1] out,      # OUT (batch, n + scalar)
            Tables tables not None, bint scalar, int n_threads):
    if a.shape[0] and a.shape[1]:
        with nogil:
            native.check(native.branched_combine(
                &a[0, 0], &b[0, 0], &out[0, 0], a.shape[0],
                _of(tables, <floating*> NULL)[0], scalar, n_threads),
                "branched_sig_combine")


def combine_backprop(const floating[:, ::1] a,  # IN  (batch, n + scalar)
                     const floating[:, ::1] b,  # IN  (batch, n + scalar)
                     const floating[:, ::1] g,  # IN  (batch, n + scalar)
                     floating[:, ::1] ga,       # OUT (batch, n + scalar)
                     floating[:, ::1] gb,       # OUT (batch, n + scalar)
                     Tables tables not None, bint scalar, int n_threads):
    if a.shape[0] and a.shape[1]:
        with nogil:
            native.check(native.branched_combine_backprop(
                &a[0, 0], &b[0, 0], &g[0, 0], &ga[0, 0], &gb[0, 0], a.shape[0],
                _of(tables, <floating*> NULL)[0], scalar, n_threads),
                "branched_sig_combine_backprop")


def join(const floating[:, ::1] bsig,  # IN  (batch, n + scalar)
         const floating[:, ::1] disp,  # IN  (batch, dim)
         floating[:, ::1] out,         # OUT (batch, n + scalar)
         Tables tables not None, bint scalar, bint prepend, int n_threads):
    if bsig.shape[0] and bsig.shape[1]:
        with nogil:
            native.check(native.branched_join(
                &bsig[0, 0], &disp[0, 0], &out[0, 0], bsig.shape[0], disp.shape[1],
                _of(tables, <floating*> NULL)[0], scalar, prepend, n_threads),
                "branched_sig_join")


def join_backprop(const floating[:, ::1] bsig,  # IN  (batch, n + scalar)
                  const floating[:, ::1] disp,  # IN  (batch, dim)
                  const floating[:, ::1] g,     # IN  (batch, n + scalar)
                  floating[:, ::1] gbsig,       # OUT (batch, n + scalar)
                  floating[:, ::1] gdisp,       # OUT (batch, dim)
                  Tables tables not None, bint scalar, bint prepend, int n_threads):
    if bsig.shape[0] and bsig.shape[1]:
        with nogil:
            native.check(native.branched_join_backprop(
                &bsig[0, 0], &disp[0, 0], &g[0, 0], &gbsig[0, 0], &gdisp[0, 0],
                bsig.shape[0], disp.shape[1], _of(tables, <floating*> NULL)[0], scalar,
                prepend, n_threads), "branched_sig_join_backprop")


def linear(const floating[:, ::1] disp,  # IN  (batch, dim)
           floating[:, ::1] out,         # OUT (batch, n + scalar)
           Tables tables not None, bint scalar, int n_threads):
    if disp.shape[0] and out.shape[1]:
        with nogil:
            native.check(native.linear_branched_sig(
                &disp[0, 0], &out[0, 0], disp.shape[0], disp.shape[1],
                _of(tables, <floating*> NULL)[0], scalar, n_threads),
                "linear_branched_sig")


def linear_backprop(const floating[:, ::1] disp,  # IN  (batch, dim)
                    const floating[:, ::1] g,     # IN  (batch, n + scalar)
                    floating[:, ::1] gdisp,       # OUT (batch, dim)
                    Tables tables not None, bint scalar, int n_threads):
    if disp.shape[0] and disp.shape[1] and g.shape[1]:
        with nogil:
            native.check(native.linear_branched_sig_backprop(
                &disp[0, 0], &g[0, 0], &gdisp[0, 0], disp.shape[0], disp.shape[1],
                _of(tables, <floating*> NULL)[0], scalar, n_threads),
                "linear_branched_sig_backprop")
