# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/goursat_delta.hpp (the signature-kernel PDE on a
precomputed increment Gram); arguments were checked in Python."""
from cython cimport floating
from libc.stdint cimport int64_t

from sksig._core._errors import raise_for_status

include "_interrupt.pxi"


# ---- native entry points (include/sksig/goursat_delta.hpp) ---------------------------
cdef extern from "sksig/goursat_delta.hpp" namespace "sksig" nogil:
    int c_forward "sksig::sig_kernel_from_delta"[T](
        const T* delta, int64_t n_pairs, int64_t n1, int64_t n2, int lam1, int lam2,
        T* out, int n_threads) noexcept
    int c_backward "sksig::sig_kernel_from_delta_backprop"[T](
        const T* delta, const T* derivs, int64_t n_pairs, int64_t n1, int64_t n2,
        int lam1, int lam2, T* gamma, int n_threads) noexcept
# --------------------------------------------------------------------------------------


def forward(const floating[:, :, ::1] delta,  # IN  (n_pairs, n1, n2)
            floating[::1] out,                # OUT (n_pairs,)
            int lam1, int lam2, int n_threads):
    cdef int status
    if delta.shape[0] == 0:
        return
    if delta.shape[1] == 0 or delta.shape[2] == 0:
        out[:] = 1  # a one-point path: the kernel is 1
        return
    with nogil:
        status = c_forward(&delta[0, 0, 0], delta.shape[0], delta.shape[1],
                           delta.shape[2], lam1, lam2, &out[0], n_threads)
    raise_for_status(status, "sig_kernel (user-defined static kernel)")


def backward(const floating[:, :, ::1] delta,  # IN  (n_pairs, n1, n2)
             const floating[::1] derivs,       # IN  (n_pairs,)
             floating[:, :, ::1] gamma,        # OUT (n_pairs, n1, n2)
             int lam1, int lam2, int n_threads):
    cdef int status
    if delta.shape[0] == 0 or delta.shape[1] == 0 or delta.shape[2] == 0:
        return
    with nogil:
        status = c_backward(&delta[0, 0, 0], &derivs[0], delta.shape[0],
                            delta.shape[1], delta.shape[2], lam1, lam2, &gamma[0, 0, 0],
                            n_threads)
    raise_for_status(status, "sig_kernel_backprop (user-defined static kernel)")
