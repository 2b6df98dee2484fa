# cython: language_level=3
"""The native types shared by the CPU cores (sksig/_core/*.pyx) and the CUDA launchers
(sksig/cuda/_kernels.pyx and its CPU emulation), declared once.

``cimport`` it as ``from sksig._core.native cimport ...`` (the build puts ``src`` on
Cython's include path). The static kernel's codes are those of the C++ enum
``sksig::KernelKind``: Python reads them from ``sksig._core._sig_kernel.KERNEL_KINDS``,
never from a copy.
"""
from libc.stdint cimport int64_t
from libcpp cimport bool as cbool


cdef extern from "sksig/static_kernels.hpp" namespace "sksig" nogil:
    cdef enum KernelKind:
        kLinear
        kScaledLinear
        kRBF
        kPolynomial
        kMatern12
        kMatern32
        kMatern52
        kRationalQuadratic


cdef extern from "sksig/goursat.hpp" namespace "sksig" nogil:
    cdef struct KernelParams:
        int kind
        double p0, p1, p2
        cbool clamp

    cdef cppclass GoursatShape:
        int64_t L1, L2, d
        int lam1, lam2


cdef inline GoursatShape goursat_shape(int64_t L1, int64_t L2, int64_t d, tuple orders):
    """The PDE grid of paths of L1 and L2 points in d channels, refined by orders."""
    cdef GoursatShape sh
    sh.L1 = L1
    sh.L2 = L2
    sh.d = d
    sh.lam1 = orders[0]
    sh.lam2 = orders[1]
    return sh


cdef inline KernelParams kernel_params(tuple kernel):
    """The static kernel ``(kind, p0, p1, p2, clamp)`` of sksig/_static_kernels.py."""
    cdef KernelParams k
    k.kind = kernel[0]
    k.p0 = kernel[1]
    k.p1 = kernel[2]
    k.p2 = kernel[3]
    k.clamp = kernel[4]
    return k
