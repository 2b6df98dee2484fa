# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/log_sig.hpp; arguments were checked in Python.

``tables`` is the tuple built by sksig._lyndon.lyndon_tables:
(pos, tri_ptr, tri_col, tri_val, exp_ptr, exp_pos, exp_val), the arrays of
``build_tables`` (include/sksig/lyndon.hpp).
"""
from cpython.buffer cimport PyBUF_FORMAT
from cython cimport floating
from libc.stdint cimport int64_t
from libc.stdlib cimport free
from libcpp cimport bool as cbool

import numpy as np

from sksig._core._errors import raise_for_status

include "_interrupt.pxi"


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

    cdef cppclass PodArray[T]:
        size_t size()
        T* release()

    cdef cppclass LyndonTableArrays:
        PodArray[int64_t] pos, tri_ptr, tri_col, exp_ptr, exp_pos
        PodArray[double] tri_val, exp_val


cdef extern from "sksig/log_sig.hpp" namespace "sksig" nogil:
    int build_lyndon_tables_status(int dim, int degree, LyndonTableArrays& out) noexcept
    int c_sig "sksig::sig"[T](const T* path, T* out, int64_t batch, int64_t length,
                              int dim, int degree, cbool scalar_term,
                              int n_threads) noexcept
    int c_sig_backprop "sksig::sig_backprop"[T](
        const T* path, const T* sig, const T* grad_sig, T* grad_path, int64_t batch,
        int64_t length, int dim, int degree, cbool scalar_term, int n_threads) noexcept
    int c_log_sig "sksig::log_sig"[T](const T* path, T* out, int64_t batch,
                                      int64_t length, int dim, int degree, int method,
                                      cbool scalar_term, const LyndonTables& tables,
                                      int n_threads) noexcept
    int c_log_sig_backprop "sksig::log_sig_backprop"[T](
        const T* path, const T* grad_out, T* grad_path, int64_t batch, int64_t length,
        int dim, int degree, int method, cbool scalar_term, const LyndonTables& tables,
        int n_threads) noexcept
    int c_log_sig_join "sksig::log_sig_join"[T](
        const T* ls, const T* disp, T* out, int64_t batch, int dim, int degree,
        const LyndonTables& tables, int n_threads) noexcept
    int c_log_sig_join_backprop "sksig::log_sig_join_backprop"[T](
        const T* d_out, const T* ls, const T* disp, T* grad_ls, T* grad_disp,
        int64_t batch, int dim, int degree, const LyndonTables& tables,
        int n_threads) noexcept


cdef class _Tables:
    """Keeps the table arrays alive while native code reads them (``arrays``: the
    tuple of numpy arrays, also uploaded by the CUDA join)."""
    cdef LyndonTables t
    cdef readonly tuple arrays

    def __init__(self, tables):
        cdef const int64_t[::1] pos = tables[0]
        cdef const int64_t[::1] tri_ptr = tables[1]
        cdef const int64_t[::1] tri_col = tables[2]
        cdef const double[::1] tri_val = tables[3]
        cdef const int64_t[::1] exp_ptr = tables[4]
        cdef const int64_t[::1] exp_pos = tables[5]
        cdef const double[::1] exp_val = tables[6]
        self.arrays = tuple(tables)
        self.t.n = pos.shape[0]
        # Empty arrays have no element 0; the native code never reads them then.
        self.t.pos = &pos[0] if pos.shape[0] else NULL
        self.t.tri_ptr = &tri_ptr[0]
        self.t.tri_col = &tri_col[0] if tri_col.shape[0] else NULL
        self.t.tri_val = &tri_val[0] if tri_val.shape[0] else NULL
        self.t.exp_ptr = &exp_ptr[0]
        self.t.exp_pos = &exp_pos[0] if exp_pos.shape[0] else NULL
        self.t.exp_val = &exp_val[0] if exp_val.shape[0] else NULL


def make_tables(tables):
    return _Tables(tables)


cdef class _Memory:
    """malloc'd memory of `size` items of 8 bytes (format "q" or "d"), lent to numpy
    without a copy through the buffer protocol and freed with the last array using it."""
    cdef void* data
    cdef Py_ssize_t shape[1]
    cdef Py_ssize_t strides[1]
    cdef bytes format

    def __dealloc__(self):
        free(self.data)

    def __getbuffer__(self, Py_buffer* buf, int flags):
        buf.buf = self.data
        buf.obj = self
        buf.len = self.shape[0] * 8
        buf.itemsize = 8
        buf.format = NULL
        if flags & PyBUF_FORMAT:
            buf.format = self.format
        buf.ndim = 1
        buf.shape = self.shape
        buf.strides = self.strides
        buf.suboffsets = NULL
        buf.readonly = 0
        buf.internal = NULL

    def __releasebuffer__(self, Py_buffer* buf):
        pass


cdef _array(void* data, size_t size, bytes fmt):
    """A numpy array owning data (taken even when size is 0, so always freed)."""
    cdef _Memory owner = _Memory()
    owner.data = data
    owner.shape[0] = size
    owner.strides[0] = 8
    owner.format = fmt
    if size == 0:
        return np.empty(0, dtype=np.int64 if fmt == b"q" else np.float64)
    return np.asarray(owner)


cdef _int64_array(PodArray[int64_t]& a):
    cdef size_t size = a.size()
    return _array(a.release(), size, b"q")


cdef _float64_array(PodArray[double]& a):
    cdef size_t size = a.size()
    return _array(a.release(), size, b"d")


def build_tables(int dim, int degree):
    """(pos, tri_ptr, tri_col, tri_val, exp_ptr, exp_pos, exp_val) of (dim, degree),
    dim >= 1 and degree >= 1: int64 and float64 numpy arrays, built without the GIL."""
    cdef LyndonTableArrays t
    cdef int status
    with nogil:
        status = build_lyndon_tables_status(dim, degree, t)
    raise_for_status(status, "Lyndon tables")
    return (_int64_array(t.pos), _int64_array(t.tri_ptr), _int64_array(t.tri_col),
            _float64_array(t.tri_val), _int64_array(t.exp_ptr), _int64_array(t.exp_pos),
            _float64_array(t.exp_val))


def sig(const floating[:, :, ::1] path,  # IN  (batch, length, dim)
        floating[:, ::1] out,            # OUT (batch, sig_length)
        int degree, bint scalar_term, int n_threads):
    cdef int status
    cdef const floating* p = NULL
    if path.shape[0] == 0:
        return
    if path.shape[1]:
        p = &path[0, 0, 0]
    with nogil:
        status = c_sig(p, &out[0, 0],
                       path.shape[0], path.shape[1], path.shape[2], degree, scalar_term,
                       n_threads)
    raise_for_status(status, "sig")


def sig_backprop(const floating[:, :, ::1] path,  # IN  (batch, length, dim)
                 const floating[:, ::1] sig,         # IN  (batch, sig_length)
                 const floating[:, ::1] grad_sig,    # IN  (batch, sig_length)
                 floating[:, :, ::1] grad_path,      # OUT (batch, length, dim)
                 int degree, bint scalar_term, int n_threads):
    cdef int status
    if path.shape[0] == 0 or path.shape[1] == 0:
        return
    with nogil:
        status = c_sig_backprop(&path[0, 0, 0], &sig[0, 0], &grad_sig[0, 0],
                                &grad_path[0, 0, 0], path.shape[0], path.shape[1],
                                path.shape[2], degree, scalar_term, n_threads)
    raise_for_status(status, "sig_backprop")


def log_sig(const floating[:, :, ::1] path,  # IN  (batch, length, dim)
            floating[:, ::1] out,            # OUT (batch, out_len)
            int degree, int method, bint scalar_term, _Tables tables, int n_threads):
    cdef int status
    cdef const floating* p = NULL
    if path.shape[0] == 0:
        return
    if path.shape[1]:
        p = &path[0, 0, 0]
    with nogil:
        status = c_log_sig(p, &out[0, 0], path.shape[0], path.shape[1], path.shape[2],
                           degree, method, scalar_term, tables.t, n_threads)
    raise_for_status(status, "log_sig")


def log_sig_backprop(const floating[:, :, ::1] path,  # IN  (batch, length, dim)
                     const floating[:, ::1] grad_out,  # IN  (batch, out_len)
                     floating[:, :, ::1] grad_path,  # OUT (batch, length, dim)
                     int degree, int method, bint scalar_term, _Tables tables,
                     int n_threads):
    cdef int status
    if path.shape[0] == 0 or path.shape[1] == 0:
        return
    with nogil:
        status = c_log_sig_backprop(&path[0, 0, 0], &grad_out[0, 0], &grad_path[0, 0, 0],
                                    path.shape[0], path.shape[1], path.shape[2], degree,
                                    method, scalar_term, tables.t, n_threads)
    raise_for_status(status, "log_sig_backprop")


def log_sig_join(const floating[:, ::1] ls,    # IN  (batch, n_ls)
                 const floating[:, ::1] disp,  # IN  (batch, dim)
                 floating[:, ::1] out,         # OUT (batch, n_ls)
                 int dim, int degree, _Tables tables, int n_threads):
    cdef int status
    if ls.shape[0] == 0:
        return
    with nogil:
        status = c_log_sig_join(&ls[0, 0], &disp[0, 0], &out[0, 0], ls.shape[0], dim,
                                degree, tables.t, n_threads)
    raise_for_status(status, "log_sig_join")


def log_sig_join_backprop(const floating[:, ::1] d_out,  # IN  (batch, n_ls)
                          const floating[:, ::1] ls,     # IN  (batch, n_ls)
                          const floating[:, ::1] disp,   # IN  (batch, dim)
                          floating[:, ::1] grad_ls,      # OUT (batch, n_ls)
                          floating[:, ::1] grad_disp,    # OUT (batch, dim)
                          int dim, int degree, _Tables tables, int n_threads):
    cdef int status
    if ls.shape[0] == 0:
        return
    with nogil:
        status = c_log_sig_join_backprop(&d_out[0, 0], &ls[0, 0], &disp[0, 0],
                                         &grad_ls[0, 0], &grad_disp[0, 0], ls.shape[0],
                                         dim, degree, tables.t, n_threads)
    raise_for_status(status, "log_sig_join_backprop")
