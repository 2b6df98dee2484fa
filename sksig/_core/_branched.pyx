# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/branched.hpp; arguments were checked in Python."""
from cython cimport floating
from libc.stdint cimport int64_t
from libcpp cimport bool as cbool

from sksig._core._errors import raise_for_status


cdef extern from "sksig/branched.hpp" namespace "sksig" nogil:
    cdef struct BranchedTables:
        int64_t n
        const int64_t* term_ptr
        const double* term_coef
        const int64_t* term_right
        const int64_t* left_ptr
        const int64_t* left_idx
        const double* seg_coef
        const int64_t* label_ptr
        const int64_t* labels

    int branched_sig[T](const T* path, T* out, int64_t batch, int64_t length,
                        int64_t dim, const BranchedTables& tb, int n_threads) noexcept
    int branched_log[T](const T* x, T* out, int64_t batch, int degree,
                        const BranchedTables& tb, int n_threads) noexcept
    int branched_log_backprop[T](const T* x, const T* grad_out, T* grad_x,
                                 int64_t batch, int degree, const BranchedTables& tb,
                                 int n_threads) noexcept
    int lyndon_project[T](const T* log, T* out, int64_t batch, int64_t m,
                          int64_t n_lyndon, const int64_t* pos, cbool solve,
                          const int64_t* tri_ptr, const int64_t* tri_idx,
                          const double* tri_val, int n_threads) noexcept
    int lyndon_project_backprop[T](const T* grad_out, T* grad_log, int64_t batch,
                                   int64_t m, int64_t n_lyndon, const int64_t* pos,
                                   cbool solve, const int64_t* tri_ptr,
                                   const int64_t* tri_idx, const double* tri_val,
                                   int n_threads) noexcept


cdef int64_t _dummy_i = 0
cdef double _dummy_d = 0.0


cdef const int64_t* _iptr(const int64_t[::1] a):
    return &a[0] if a.shape[0] else &_dummy_i


cdef const double* _dptr(const double[::1] a):
    return &a[0] if a.shape[0] else &_dummy_d


cdef BranchedTables _tables(dict t, int64_t n):
    cdef BranchedTables tb
    tb.n = n
    tb.term_ptr = _iptr(t["term_ptr"])
    tb.term_coef = _dptr(t["term_coef"])
    tb.term_right = _iptr(t["term_right"])
    tb.left_ptr = _iptr(t["left_ptr"])
    tb.left_idx = _iptr(t["left_idx"])
    tb.seg_coef = _dptr(t["seg_coef"])
    tb.label_ptr = _iptr(t["label_ptr"])
    tb.labels = _iptr(t["labels"])
    return tb


def sig(const floating[:, :, ::1] path,  # IN  (batch, length, dim)
        floating[:, ::1] out,            # OUT (batch, n + 1)
        dict tables, int n_threads):
    cdef BranchedTables tb = _tables(tables, out.shape[1] - 1)
    cdef int status
    if path.shape[0] == 0:
        return
    with nogil:
        status = branched_sig(&path[0, 0, 0], &out[0, 0], path.shape[0], path.shape[1],
                              path.shape[2], tb, n_threads)
    raise_for_status(status, "branched_sig")


def log(const floating[:, ::1] x,  # IN  (batch, n + 1), entry 0 ignored
        floating[:, ::1] out,      # OUT (batch, n + 1)
        dict tables, int degree, int n_threads):
    cdef BranchedTables tb = _tables(tables, x.shape[1] - 1)
    cdef int status
    if x.shape[0] == 0:
        return
    with nogil:
        status = branched_log(&x[0, 0], &out[0, 0], x.shape[0], degree, tb, n_threads)
    raise_for_status(status, "branched_sig_to_log_sig")


def log_backprop(const floating[:, ::1] x,         # IN  (batch, n + 1)
                 const floating[:, ::1] grad_out,  # IN  (batch, n + 1)
                 floating[:, ::1] grad_x,          # OUT (batch, n + 1)
                 dict tables, int degree, int n_threads):
    cdef BranchedTables tb = _tables(tables, x.shape[1] - 1)
    cdef int status
    if x.shape[0] == 0:
        return
    with nogil:
        status = branched_log_backprop(&x[0, 0], &grad_out[0, 0], &grad_x[0, 0],
                                       x.shape[0], degree, tb, n_threads)
    raise_for_status(status, "branched_sig_to_log_sig_backprop")


def lyndon(const floating[:, ::1] log,  # IN  (batch, n + 1)
           floating[:, ::1] out,        # OUT (batch, n_lyndon)
           dict lyn, bint solve, int n_threads):
    cdef const int64_t* pos = _iptr(lyn["positions"])
    cdef const int64_t* tri_ptr = _iptr(lyn["tri_ptr"])
    cdef const int64_t* tri_idx = _iptr(lyn["tri_idx"])
    cdef const double* tri_val = _dptr(lyn["tri_val"])
    cdef int status
    if log.shape[0] == 0:
        return
    with nogil:
        status = lyndon_project(&log[0, 0], &out[0, 0], log.shape[0], log.shape[1],
                                out.shape[1], pos, solve, tri_ptr, tri_idx, tri_val,
                                n_threads)
    raise_for_status(status, "branched_sig_to_log_sig")


def lyndon_backprop(const floating[:, ::1] grad_out,  # IN  (batch, n_lyndon)
                    floating[:, ::1] grad_log,        # OUT (batch, n + 1)
                    dict lyn, bint solve, int n_threads):
    cdef const int64_t* pos = _iptr(lyn["positions"])
    cdef const int64_t* tri_ptr = _iptr(lyn["tri_ptr"])
    cdef const int64_t* tri_idx = _iptr(lyn["tri_idx"])
    cdef const double* tri_val = _dptr(lyn["tri_val"])
    cdef int status
    if grad_out.shape[0] == 0:
        return
    with nogil:
        status = lyndon_project_backprop(&grad_out[0, 0], &grad_log[0, 0],
                                         grad_out.shape[0], grad_log.shape[1],
                                         grad_out.shape[1], pos, solve, tri_ptr, tri_idx,
                                         tri_val, n_threads)
    raise_for_status(status, "branched_sig_to_log_sig_backprop")
