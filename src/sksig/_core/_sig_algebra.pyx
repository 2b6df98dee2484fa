# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/sig_algebra.hpp; arguments were checked in Python.

``tables`` is a :class:`sksig._core.native.LyndonTables` (sksig._lyndon.lyndon_tables,
or its empty tables for method 0), read through its native view.
"""
from cython cimport floating
from libc.stdint cimport int64_t

from sksig._core cimport native
from sksig._core.native cimport LyndonTables

include "_interrupt.pxi"


def sig_combine(const floating[:, ::1] a, const floating[:, ::1] b,
                floating[:, ::1] out, int dim, int degree, bint scalar_term,
                int n_threads):
    if a.shape[0]:
        with nogil:
            native.check(native.sig_combine(&a[0, 0], &b[0, 0], &out[0, 0], a.shape[0],
                                            dim, degree, scalar_term, n_threads),
                         "sig_combine")


def sig_combine_backprop(const floating[:, ::1] d_out, const floating[:, ::1] a,
                         const floating[:, ::1] b, floating[:, ::1] grad_a,
                         floating[:, ::1] grad_b, int dim, int degree, bint scalar_term,
                         int n_threads):
    if a.shape[0]:
        with nogil:
            native.check(native.sig_combine_backprop(
                &d_out[0, 0], &a[0, 0], &b[0, 0], &grad_a[0, 0], &grad_b[0, 0],
                a.shape[0], dim, degree, scalar_term, n_threads), "sig_combine_backprop")


def sig_join(sig, const floating[:, ::1] disp, floating[:, ::1] out, int dim, int degree,
             bint prepend, bint scalar_term, int n_threads):
    """sig None: the signature of the segment alone (linear_sig)."""
    cdef const floating[:, ::1] s
    cdef const floating* sp = NULL
    if disp.shape[0] == 0:
        return
    if sig is not None:
        s = sig
        sp = &s[0, 0]
    with nogil:
        native.check(native.sig_join(sp, &disp[0, 0], &out[0, 0], disp.shape[0], dim,
                                     degree, prepend, scalar_term, n_threads), "sig_join")


def sig_join_backprop(const floating[:, ::1] d_out, sig, const floating[:, ::1] disp,
                      grad_sig, floating[:, ::1] grad_disp, int dim, int degree,
                      bint prepend, bint scalar_term, int n_threads):
    """sig and grad_sig None: the backprop of linear_sig."""
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
        native.check(native.sig_join_backprop(&d_out[0, 0], sp, &disp[0, 0], gp,
                                              &grad_disp[0, 0], disp.shape[0], dim,
                                              degree, prepend, scalar_term, n_threads),
                     "sig_join_backprop")


def convert(bint to_sig, const floating[:, ::1] x, floating[:, ::1] out, int dim,
            int degree, int method, bint in_term, bint out_term,
            LyndonTables tables not None, int n_threads):
    """sig_to_log_sig of the rows of x into out, or logsig_to_sig when to_sig."""
    cdef int64_t batch = x.shape[0]
    if batch == 0:
        return
    with nogil:
        if to_sig:
            native.check(native.logsig_to_sig(&x[0, 0], &out[0, 0], batch, dim, degree,
                                              method, in_term, out_term, tables.view,
                                              n_threads), "logsig_to_sig")
        else:
            native.check(native.sig_to_log_sig(&x[0, 0], &out[0, 0], batch, dim, degree,
                                               method, in_term, out_term, tables.view,
                                               n_threads), "sig_to_log_sig")


def convert_backprop(bint to_sig, const floating[:, ::1] x,
                     const floating[:, ::1] grad_out, floating[:, ::1] grad_x, int dim,
                     int degree, int method, bint in_term, bint out_term,
                     LyndonTables tables not None, int n_threads):
    """The vector-Jacobian product of convert(to_sig, x): grad_out (rows of the
    converted length) pulled back into grad_x (the shape of x)."""
    cdef int64_t batch = x.shape[0]
    if batch == 0:
        return
    with nogil:
        if to_sig:
            native.check(native.logsig_to_sig_backprop(
                &x[0, 0], &grad_out[0, 0], &grad_x[0, 0], batch, dim, degree, method,
                in_term, out_term, tables.view, n_threads), "logsig_to_sig_backprop")
        else:
            native.check(native.sig_to_log_sig_backprop(
                &x[0, 0], &grad_out[0, 0], &grad_x[0, 0], batch, dim, degree, method,
                in_term, out_term, tables.view, n_threads), "sig_to_log_sig_backprop")


def log_sig_combine(const floating[:, ::1] ls1, const floating[:, ::1] ls2,
                    floating[:, ::1] out, int dim, int degree,
                    LyndonTables tables not None, int n_threads):
    if ls1.shape[0]:
        with nogil:
            native.check(native.log_sig_combine(&ls1[0, 0], &ls2[0, 0], &out[0, 0],
                                                ls1.shape[0], dim, degree, tables.view,
                                                n_threads), "log_sig_combine")


def log_sig_combine_backprop(const floating[:, ::1] d_out, const floating[:, ::1] ls1,
                             const floating[:, ::1] ls2, floating[:, ::1] grad1,
                             floating[:, ::1] grad2, int dim, int degree,
                             LyndonTables tables not None, int n_threads):
    if ls1.shape[0]:
        with nogil:
            native.check(native.log_sig_combine_backprop(
                &d_out[0, 0], &ls1[0, 0], &ls2[0, 0], &grad1[0, 0], &grad2[0, 0],
                ls1.shape[0], dim, degree, tables.view, n_threads),
                "log_sig_combine_backprop")


cdef inline int64_t _stride(const floating[:, :, ::1] corr, int axis) noexcept nogil:
    # Items between consecutive rows of corr along axis; 0 broadcasts an extent of 1.
    return corr.strides[axis] // sizeof(floating) if corr.shape[axis] > 1 else 0


def sig_corrected(const floating[:, :, ::1] path,  # IN  (batch, length, dim)
                  const floating[:, :, ::1] corr,  # IN  (1 or batch, 1 or length-1, w)
                  floating[:, ::1] out,            # OUT (batch, sig_length)
                  int degree, bint scalar_term, int n_threads):
    """corr rows hold levels 2..degree of each segment's correction (broadcast along
    an axis of extent 1)."""
    if path.shape[0] and path.shape[1] >= 2:
        with nogil:
            native.check(native.sig_corrected(
                &path[0, 0, 0], &corr[0, 0, 0], _stride(corr, 0), _stride(corr, 1),
                &out[0, 0], path.shape[0], path.shape[1], path.shape[2], degree,
                scalar_term, n_threads), "sig")


def sig_corrected_backprop(const floating[:, :, ::1] path,
                           const floating[:, :, ::1] corr,
                           const floating[:, ::1] sig, const floating[:, ::1] grad_sig,
                           floating[:, :, ::1] grad_path, int degree, bint scalar_term,
                           int n_threads):
    if path.shape[0] and path.shape[1] >= 2:
        with nogil:
            native.check(native.sig_corrected_backprop(
                &path[0, 0, 0], &corr[0, 0, 0], _stride(corr, 0), _stride(corr, 1),
                &sig[0, 0], &grad_sig[0, 0], &grad_path[0, 0, 0], path.shape[0],
                path.shape[1], path.shape[2], degree, scalar_term, n_threads),
                "sig_backprop")


def sig_expanding(const floating[:, :, ::1] path,  # IN  (batch, length, dim)
                  floating[:, :, ::1] out,         # OUT (batch, length, sig_length)
                  int degree, bint scalar_term, int n_threads):
    if path.shape[0] and path.shape[1]:
        with nogil:
            native.check(native.sig_expanding(
                &path[0, 0, 0], &out[0, 0, 0], path.shape[0], path.shape[1],
                path.shape[2], degree, scalar_term, n_threads), "sig_expanding")
