# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/goursat_delta.hpp (the signature-kernel PDE on a
precomputed increment Gram); arguments were checked in Python."""
from cython cimport floating

from sksig._core cimport native

include "_interrupt.pxi"


def forward(const floating[:, :, ::1] delta,  # IN  (n_pairs, n1, n2)
            floating[::1] out,                # OUT (n_pairs,)
            int lam1, int lam2, int n_threads):
    if delta.shape[0] == 0:
        return
    if delta.shape[1] == 0 or delta.shape[2] == 0:
        out[:] = 1  # a one-point path: the kernel is 1
        return
    with nogil:
        native.check(native.sig_kernel_from_delta(
            &delta[0, 0, 0], delta.shape[0], delta.shape[1], delta.shape[2], lam1, lam2,
            &out[0], n_threads), "sig_kernel (user-defined static kernel)")


def backward(const floating[:, :, ::1] delta,  # IN  (n_pairs, n1, n2)
             const floating[::1] derivs,       # IN  (n_pairs,)
             floating[:, :, ::1] gamma,        # OUT (n_pairs, n1, n2)
             int lam1, int lam2, int n_threads):
    if delta.shape[0] and delta.shape[1] and delta.shape[2]:
        with nogil:
            native.check(native.sig_kernel_from_delta_backprop(
                &delta[0, 0, 0], &derivs[0], delta.shape[0], delta.shape[1],
                delta.shape[2], lam1, lam2, &gamma[0, 0, 0], n_threads),
                "sig_kernel_backprop (user-defined static kernel)")
