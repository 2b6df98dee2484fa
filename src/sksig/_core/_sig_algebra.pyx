# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/sig_algebra.hpp; arguments were checked in Python.

``tables`` is a ``sksig._core._log_sig._Tables`` (its ``arrays``: pos, tri_ptr,
tri_col, tri_val, exp_ptr, exp_pos, exp_val, see sksig._lyndon.lyndon_tables); they
are read here into a LyndonTables view for the duration of one call.
"""
from cython cimport floating
from libc.stdint cimport int64_t
from libcpp cimport bool as cbool

from sksig._core._errors import raise_for_status

include "_interrupt.pxi"


# ---- native declarations (include/sksig/sig_algebra.hpp, lyndon.hpp) ----------------
cdef extern from "sksig/lyndon.hpp" namespace "sksig" nogil:
    cdef cppclass LyndonTables:
        int64_t n
        const int64_t* pos
        const int64_t* tri_ptr
        const int64_t* tri_col
        const double* tri_val
        const int64_t* exp_ptr
        const int64_t* exp_pos
        const double* exp_val


cdef extern from "sksig/sig_algebra.hpp" namespace "sksig" nogil:
    int c_sig_combine "sksig::sig_combine"[T](
        const T* a, const T* b, T* out, int64_t batch, int dim, int degree,
        cbool scalar_term, int n_threads) noexcept
    int c_sig_combine_backprop "sksig::sig_combine_backprop"[T](
        const T* d_out, const T* a, const T* b, T* grad_a, T* grad_b, int64_t batch,
        int dim, int degree, cbool scalar_term, int n_threads) noexcept
    int c_sig_join "sksig::sig_join"[T](
        const T* sig, const T* disp, T* out, int64_t batch, int dim, int degree,
        cbool prepend, cbool scalar_term, int n_threads) noexcept
    int c_sig_join_backprop "sksig::sig_join_backprop"[T](
        const T* d_out, const T* sig, const T* disp, T* grad_sig, T* grad_disp,
        int64_t batch, int dim, int degree, cbool prepend, cbool scalar_term,
        int n_threads) noexcept
    int c_sig_to_log_sig "sksig::sig_to_log_sig"[T](
        const T* sig, T* out, int64_t batch, int dim, int degree, int method,
        cbool in_term, cbool out_term, const LyndonTables& tables,
        int n_threads) noexcept
    int c_sig_to_log_sig_backprop "sksig::sig_to_log_sig_backprop"[T](
        const T* sig, const T* grad_out, T* grad_sig, int64_t batch, int dim, int degree,
        int method, cbool in_term, cbool out_term, const LyndonTables& tables,
        int n_threads) noexcept
    int c_logsig_to_sig "sksig::logsig_to_sig"[T](
        const T* ls, T* out, int64_t batch, int dim, int degree, int method,
        cbool in_term, cbool out_term, const LyndonTables& tables,
        int n_threads) noexcept
    int c_logsig_to_sig_backprop "sksig::logsig_to_sig_backprop"[T](
        const T* ls, const T* grad_sig, T* grad_ls, int64_t batch, int dim, int degree,
        int method, cbool in_term, cbool out_term, const LyndonTables& tables,
        int n_threads) noexcept
    int c_log_sig_combine "sksig::log_sig_combine"[T](
        const T* ls1, const T* ls2, T* out, int64_t batch, int dim, int degree,
        const LyndonTables& tables, int n_threads) noexcept
    int c_log_sig_combine_backprop "sksig::log_sig_combine_backprop"[T](
        const T* d_out, const T* ls1, const T* ls2, T* grad1, T* grad2, int64_t batch,
        int dim, int degree, const LyndonTables& tables, int n_threads) noexcept
    int c_sig_corrected "sksig::sig_corrected"[T](
        const T* path, const T* corr, int64_t corr_batch_stride, int64_t corr_seg_stride,
        T* out, int64_t batch, int64_t length, int dim, int degree, cbool scalar_term,
        int n_threads) noexcept
    int c_sig_corrected_backprop "sksig::sig_corrected_backprop"[T](
        const T* path, const T* corr, int64_t corr_batch_stride, int64_t corr_seg_stride,
        const T* sig, const T* grad_sig, T* grad_path, int64_t batch, int64_t length,
        int dim, int degree, cbool scalar_term, int n_threads) noexcept
    int c_sig_expanding "sksig::sig_expanding"[T](
        const T* path, T* out, int64_t batch, int64_t length, int dim, int degree,
        cbool scalar_term, int n_threads) noexcept
# ---- end of native declarations -----------------------------------------------------


cdef class _View:
    """A LyndonTables pointing into the arrays of a _Tables (kept alive here)."""
    cdef LyndonTables t
    cdef tuple arrays

    def __init__(self, tables):
        arrays = tables.arrays
        cdef const int64_t[::1] pos = arrays[0]
        cdef const int64_t[::1] tri_ptr = arrays[1]
        cdef const int64_t[::1] tri_col = arrays[2]
        cdef const double[::1] tri_val = arrays[3]
        cdef const int64_t[::1] exp_ptr = arrays[4]
        cdef const int64_t[::1] exp_pos = arrays[5]
        cdef const double[::1] exp_val = arrays[6]
        self.arrays = tuple(arrays)
        self.t.n = pos.shape[0]
        self.t.pos = &pos[0] if pos.shape[0] else NULL
        self.t.tri_ptr = &tri_ptr[0]
        self.t.tri_col = &tri_col[0] if tri_col.shape[0] else NULL
        self.t.tri_val = &tri_val[0] if tri_val.shape[0] else NULL
        self.t.exp_ptr = &exp_ptr[0]
        self.t.exp_pos = &exp_pos[0] if exp_pos.shape[0] else NULL
        self.t.exp_val = &exp_val[0] if exp_val.shape[0] else NULL


def sig_combine(const floating[:, ::1] a, const floating[:, ::1] b,
                floating[:, ::1] out, int dim, int degree, bint scalar_term,
                int n_threads):
    cdef int status
    if a.shape[0] == 0:
        return
    with nogil:
        status = c_sig_combine(&a[0, 0], &b[0, 0], &out[0, 0], a.shape[0], dim, degree,
                               scalar_term, n_threads)
    raise_for_status(status, "sig_combine")


def sig_combine_backprop(const floating[:, ::1] d_out, const floating[:, ::1] a,
                         const floating[:, ::1] b, floating[:, ::1] grad_a,
                         floating[:, ::1] grad_b, int dim, int degree, bint scalar_term,
                         int n_threads):
    cdef int status
    if a.shape[0] == 0:
        return
    with nogil:
        status = c_sig_combine_backprop(&d_out[0, 0], &a[0, 0], &b[0, 0], &grad_a[0, 0],
                                        &grad_b[0, 0], a.shape[0], dim, degree,
                                        scalar_term, n_threads)
    raise_for_status(status, "sig_combine_backprop")


def sig_join(sig, const floating[:, ::1] disp, floating[:, ::1] out, int dim, int degree,
             bint prepend, bint scalar_term, int n_threads):
    """sig None: the signature of the segment alone (linear_sig)."""
    cdef int status
    cdef const floating[:, ::1] s
    cdef const floating* sp = NULL
    if disp.shape[0] == 0:
        return
    if sig is not None:
        s = sig
        sp = &s[0, 0]
    with nogil:
        status = c_sig_join(sp, &disp[0, 0], &out[0, 0], disp.shape[0], dim, degree,
                            prepend, scalar_term, n_threads)
    raise_for_status(status, "sig_join")


def sig_join_backprop(const floating[:, ::1] d_out, sig, const floating[:, ::1] disp,
                      grad_sig, floating[:, ::1] grad_disp, int dim, int degree,
                      bint prepend, bint scalar_term, int n_threads):
    """sig and grad_sig None: the backprop of linear_sig."""
    cdef int status
    cdef const floating[:, ::1] s
    cdef floating[:, ::1] gs
    cdef const floating* sp = NULL
    cdef floating* gp = NULL
    if disp.shape[0] == 0:
        return
    if sig is not None:
        s = sig
        gs = grad_sig
        sp = &s[0, 0]
        gp = &gs[0, 0]
    with nogil:
        status = c_sig_join_backprop(&d_out[0, 0], sp, &disp[0, 0], gp, &grad_disp[0, 0],
                                     disp.shape[0], dim, degree, prepend, scalar_term,
                                     n_threads)
    raise_for_status(status, "sig_join_backprop")


def sig_to_log_sig(const floating[:, ::1] sig, floating[:, ::1] out, int dim, int degree,
                   int method, bint in_term, bint out_term, tables, int n_threads):
    cdef int status
    cdef _View v = _View(tables)
    if sig.shape[0] == 0:
        return
    with nogil:
        status = c_sig_to_log_sig(&sig[0, 0], &out[0, 0], sig.shape[0], dim, degree,
                                  method, in_term, out_term, v.t, n_threads)
    raise_for_status(status, "sig_to_log_sig")


def sig_to_log_sig_backprop(const floating[:, ::1] sig, const floating[:, ::1] grad_out,
                            floating[:, ::1] grad_sig, int dim, int degree, int method,
                            bint in_term, bint out_term, tables, int n_threads):
    cdef int status
    cdef _View v = _View(tables)
    if sig.shape[0] == 0:
        return
    with nogil:
        status = c_sig_to_log_sig_backprop(&sig[0, 0], &grad_out[0, 0], &grad_sig[0, 0],
                                           sig.shape[0], dim, degree, method, in_term,
                                           out_term, v.t, n_threads)
    raise_for_status(status, "sig_to_log_sig_backprop")


def logsig_to_sig(const floating[:, ::1] ls, floating[:, ::1] out, int dim, int degree,
                  int method, bint in_term, bint out_term, tables, int n_threads):
    cdef int status
    cdef _View v = _View(tables)
    if ls.shape[0] == 0:
        return
    with nogil:
        status = c_logsig_to_sig(&ls[0, 0], &out[0, 0], ls.shape[0], dim, degree, method,
                                 in_term, out_term, v.t, n_threads)
    raise_for_status(status, "logsig_to_sig")


def logsig_to_sig_backprop(const floating[:, ::1] ls, const floating[:, ::1] grad_sig,
                           floating[:, ::1] grad_ls, int dim, int degree, int method,
                           bint in_term, bint out_term, tables, int n_threads):
    cdef int status
    cdef _View v = _View(tables)
    if ls.shape[0] == 0:
        return
    with nogil:
        status = c_logsig_to_sig_backprop(&ls[0, 0], &grad_sig[0, 0], &grad_ls[0, 0],
                                          ls.shape[0], dim, degree, method, in_term,
                                          out_term, v.t, n_threads)
    raise_for_status(status, "logsig_to_sig_backprop")


def log_sig_combine(const floating[:, ::1] ls1, const floating[:, ::1] ls2,
                    floating[:, ::1] out, int dim, int degree, tables, int n_threads):
    cdef int status
    cdef _View v = _View(tables)
    if ls1.shape[0] == 0:
        return
    with nogil:
        status = c_log_sig_combine(&ls1[0, 0], &ls2[0, 0], &out[0, 0], ls1.shape[0], dim,
                                   degree, v.t, n_threads)
    raise_for_status(status, "log_sig_combine")


def log_sig_combine_backprop(const floating[:, ::1] d_out, const floating[:, ::1] ls1,
                             const floating[:, ::1] ls2, floating[:, ::1] grad1,
                             floating[:, ::1] grad2, int dim, int degree, tables,
                             int n_threads):
    cdef int status
    cdef _View v = _View(tables)
    if ls1.shape[0] == 0:
        return
    with nogil:
        status = c_log_sig_combine_backprop(&d_out[0, 0], &ls1[0, 0], &ls2[0, 0],
                                            &grad1[0, 0], &grad2[0, 0], ls1.shape[0], dim,
                                            degree, v.t, n_threads)
    raise_for_status(status, "log_sig_combine_backprop")


def sig_corrected(const floating[:, :, ::1] path,  # IN  (batch, length, dim)
                  const floating[:, :, ::1] corr,  # IN  (1 or batch, 1 or length-1, w)
                  floating[:, ::1] out,            # OUT (batch, sig_length)
                  int degree, bint scalar_term, int n_threads):
    """corr rows hold levels 2..degree of each segment's correction (broadcast along
    an axis of extent 1)."""
    cdef int status
    cdef int64_t sb = corr.strides[0] // sizeof(floating) if corr.shape[0] > 1 else 0
    cdef int64_t ss = corr.strides[1] // sizeof(floating) if corr.shape[1] > 1 else 0
    if path.shape[0] == 0 or path.shape[1] < 2:
        return
    with nogil:
        status = c_sig_corrected(&path[0, 0, 0], &corr[0, 0, 0], sb, ss, &out[0, 0],
                                 path.shape[0], path.shape[1], path.shape[2], degree,
                                 scalar_term, n_threads)
    raise_for_status(status, "sig")


def sig_corrected_backprop(const floating[:, :, ::1] path,
                           const floating[:, :, ::1] corr,
                           const floating[:, ::1] sig, const floating[:, ::1] grad_sig,
                           floating[:, :, ::1] grad_path, int degree, bint scalar_term,
                           int n_threads):
    cdef int status
    cdef int64_t sb = corr.strides[0] // sizeof(floating) if corr.shape[0] > 1 else 0
    cdef int64_t ss = corr.strides[1] // sizeof(floating) if corr.shape[1] > 1 else 0
    if path.shape[0] == 0 or path.shape[1] < 2:
        return
    with nogil:
        status = c_sig_corrected_backprop(&path[0, 0, 0], &corr[0, 0, 0], sb, ss,
                                          &sig[0, 0], &grad_sig[0, 0], &grad_path[0, 0, 0],
                                          path.shape[0], path.shape[1], path.shape[2],
                                          degree, scalar_term, n_threads)
    raise_for_status(status, "sig_backprop")


def sig_expanding(const floating[:, :, ::1] path,  # IN  (batch, length, dim)
                  floating[:, :, ::1] out,         # OUT (batch, length, sig_length)
                  int degree, bint scalar_term, int n_threads):
    cdef int status
    if path.shape[0] == 0 or path.shape[1] == 0:
        return
    with nogil:
        status = c_sig_expanding(&path[0, 0, 0], &out[0, 0, 0], path.shape[0],
                                 path.shape[1], path.shape[2], degree, scalar_term,
                                 n_threads)
    raise_for_status(status, "sig_expanding")
