# cython: boundscheck=False, wraparound=False, cdivision=True
"""Thin wrapper over include/sksig/transform_path.hpp; arguments were checked in Python."""
from cython cimport floating
from libc.stdint cimport int64_t
from libcpp cimport bool as cbool

from sksig._core._errors import raise_for_status


cdef extern from "sksig/transform_path.hpp" namespace "sksig" nogil:
    int transform_path[T](const T* path, T* out, int64_t batch, int64_t length,
                          int64_t dim, cbool time_aug, cbool lead_lag, T end_time,
                          int n_threads) noexcept
    int transform_path_backprop[T](const T* grad_out, T* grad_in, int64_t batch,
                                   int64_t length, int64_t dim, cbool time_aug,
                                   cbool lead_lag, int n_threads) noexcept


def forward(const floating[:, :, ::1] path,  # IN  (batch, length, dim)
            floating[:, :, ::1] out,         # OUT (batch, length', dim')
            bint time_aug, bint lead_lag, double end_time, int n_threads):
    cdef int status
    if path.shape[0] == 0 or path.shape[2] == 0:
        return
    with nogil:
        status = transform_path(&path[0, 0, 0], &out[0, 0, 0], path.shape[0],
                                path.shape[1], path.shape[2], time_aug, lead_lag,
                                <floating> end_time, n_threads)
    raise_for_status(status, "transform_path")


def backward(const floating[:, :, ::1] grad_out,  # IN  (batch, length', dim')
             floating[:, :, ::1] grad_in,         # OUT (batch, length, dim)
             bint time_aug, bint lead_lag, int n_threads):
    cdef int status
    if grad_in.shape[0] == 0 or grad_in.shape[2] == 0:
        return
    with nogil:
        status = transform_path_backprop(&grad_out[0, 0, 0], &grad_in[0, 0, 0],
                                         grad_in.shape[0], grad_in.shape[1],
                                         grad_in.shape[2], time_aug, lead_lag, n_threads)
    raise_for_status(status, "transform_path_backprop")
