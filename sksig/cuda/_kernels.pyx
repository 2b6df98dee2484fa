"""Cython over the CUDA launchers (launchers.cuh). Never imports torch."""
from sksig._core._errors import raise_for_status


cdef extern from "launchers.cuh" namespace "sksig::cuda" nogil:
    int c_device_count "sksig::cuda::device_count"(int* count) noexcept
    int c_device_name "sksig::cuda::device_name"(int device, char* buf, int length) noexcept


def device_count():
    """Number of CUDA devices visible to the runtime (0 without a driver)."""
    cdef int n = 0
    raise_for_status(c_device_count(&n), "sksig.cuda.device_count")
    return n


def device_name(int device=0):
    """Name of a CUDA device."""
    cdef char buf[256]
    raise_for_status(c_device_name(device, buf, 256), "sksig.cuda.device_name")
    return buf.decode("utf-8", "replace")
