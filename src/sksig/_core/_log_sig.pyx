# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/log_sig.hpp; arguments were checked in Python.

``tables`` is a :class:`sksig._core.native.LyndonTables` (sksig._lyndon.lyndon_tables),
built by :func:`build_tables`.
"""
from cpython.buffer cimport PyBUF_FORMAT
from cython cimport floating
from libc.stdint cimport int64_t
from libc.stdlib cimport free

import numpy as np

from sksig._core cimport native
from sksig._core.native cimport LyndonTables, PodArray, LyndonTableArrays

include "_interrupt.pxi"


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
    """The LyndonTables of (dim, degree), dim >= 1 and degree >= 1, built without the
    GIL (writable numpy arrays, owning their memory)."""
    cdef LyndonTableArrays t
    with nogil:
        native.check(native.build_lyndon_tables_status(dim, degree, t), "Lyndon tables")
    return LyndonTables(
        pos=_int64_array(t.pos), tri_ptr=_int64_array(t.tri_ptr),
        tri_col=_int64_array(t.tri_col), tri_val=_float64_array(t.tri_val),
        exp_ptr=_int64_array(t.exp_ptr), exp_pos=_int64_array(t.exp_pos),
        exp_val=_float64_array(t.exp_val))


cdef inline const floating* _path(const floating[:, :, ::1] path) noexcept nogil:
    # A batch of paths of no point has no element 0: the cores then read none.
    return &path[0, 0, 0] if path.shape[1] else NULL


def sig(const floating[:, :, ::1] path,  # IN  (batch, length, dim), length may be 0
        floating[:, ::1] out,            # OUT (batch, sig_length)
        int degree, bint scalar_term, int n_threads):
    if path.shape[0]:
        with nogil:
            native.check(native.sig(_path(path), &out[0, 0], path.shape[0], path.shape[1],
                                    path.shape[2], degree, scalar_term, n_threads), "sig")


def sig_backprop(const floating[:, :, ::1] path,  # IN  (batch, length, dim)
                 const floating[:, ::1] sig,         # IN  (batch, sig_length)
                 const floating[:, ::1] grad_sig,    # IN  (batch, sig_length)
                 floating[:, :, ::1] grad_path,      # OUT (batch, length, dim)
                 int degree, bint scalar_term, int n_threads):
    if path.shape[0] and path.shape[1]:
        with nogil:
            native.check(native.sig_backprop(
                &path[0, 0, 0], &sig[0, 0], &grad_sig[0, 0], &grad_path[0, 0, 0],
                path.shape[0], path.shape[1], path.shape[2], degree, scalar_term,
                n_threads), "sig_backprop")


def log_sig(const floating[:, :, ::1] path,  # IN  (batch, length, dim), length may be 0
            floating[:, ::1] out,            # OUT (batch, out_len)
            int degree, int method, bint scalar_term, LyndonTables tables not None,
            int n_threads):
    if path.shape[0]:
        with nogil:
            native.check(native.log_sig(
                _path(path), &out[0, 0], path.shape[0], path.shape[1], path.shape[2],
                degree, method, scalar_term, tables.view, n_threads), "log_sig")


def log_sig_backprop(const floating[:, :, ::1] path,  # IN  (batch, length, dim)
                     const floating[:, ::1] grad_out,  # IN  (batch, out_len)
                     floating[:, :, ::1] grad_path,  # OUT (batch, length, dim)
                     int degree, int method, bint scalar_term,
                     LyndonTables tables not None, int n_threads):
    if path.shape[0] and path.shape[1]:
        with nogil:
            native.check(native.log_sig_backprop(
                &path[0, 0, 0], &grad_out[0, 0], &grad_path[0, 0, 0], path.shape[0],
                path.shape[1], path.shape[2], degree, method, scalar_term, tables.view,
                n_threads), "log_sig_backprop")


def log_sig_join(const floating[:, ::1] ls,    # IN  (batch, n_ls)
                 const floating[:, ::1] disp,  # IN  (batch, dim)
                 floating[:, ::1] out,         # OUT (batch, n_ls)
                 int dim, int degree, LyndonTables tables not None, int n_threads):
    """Returns the finiteness bits of log_sig.hpp's log_sig_join (0: all finite)."""
    cdef int nonfinite = 0
    if ls.shape[0]:
        with nogil:
            native.check(native.log_sig_join(&ls[0, 0], &disp[0, 0], &out[0, 0],
                                             ls.shape[0], dim, degree, tables.view,
                                             n_threads, &nonfinite), "log_sig_join")
    return nonfinite


def log_sig_join_backprop(const floating[:, ::1] d_out,  # IN  (batch, n_ls)
                          const floating[:, ::1] ls,     # IN  (batch, n_ls)
                          const floating[:, ::1] disp,   # IN  (batch, dim)
                          floating[:, ::1] grad_ls,      # OUT (batch, n_ls)
                          floating[:, ::1] grad_disp,    # OUT (batch, dim)
                          int dim, int degree, LyndonTables tables not None,
                          int n_threads):
    """Returns the finiteness bits of log_sig.hpp's log_sig_join_backprop."""
    cdef int nonfinite = 0
    if ls.shape[0]:
        with nogil:
            native.check(native.log_sig_join_backprop(&d_out[0, 0], &ls[0, 0],
                                                      &disp[0, 0], &grad_ls[0, 0],
                                                      &grad_disp[0, 0], ls.shape[0], dim,
                                                      degree, tables.view, n_threads,
                                                      &nonfinite),
                         "log_sig_join_backprop")
    return nonfinite
