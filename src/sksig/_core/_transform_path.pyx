# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/transform_path.hpp; arguments were checked in Python."""
from cython cimport floating

from sksig._core cimport native

include "_interrupt.pxi"


def forward(const floating[:, :, ::1] path,  # IN  (batch, length, dim)
            floating[:, :, ::1] out,         # OUT (batch, length', dim')
            bint time_aug, bint lead_lag, double end_time, int n_threads):
    if path.shape[0] and path.shape[2]:
        with nogil:
            native.check(native.transform_path(
                &path[0, 0, 0], &out[0, 0, 0], path.shape[0], path.shape[1],
                path.shape[2], time_aug, lead_lag, <floating> end_time, n_threads),
                "transform_path")


def backward(const floating[:, :, ::1] grad_out,  # IN  (batch, length', dim')
             floating[:, :, ::1] grad_in,         # OUT (batch, length, dim)
             bint time_aug, bint lead_lag, int n_threads):
    if grad_in.shape[0] and grad_in.shape[2]:
        with nogil:
            native.check(native.transform_path_backprop(
                &grad_out[0, 0, 0], &grad_in[0, 0, 0], grad_in.shape[0],
                grad_in.shape[1], grad_in.shape[2], time_aug, lead_lag, n_threads),
                "transform_path_backprop")
