# cython: language_level=3
"""Flags the native cores were compiled with (read by sksig._config).

Every extension module of sksig._core is compiled with the same options, so what the
preprocessor sees here (the probe of native.pxd) is what the cores were built with.
"""
from sksig._core cimport native


def built_with_avx():
    """Whether the compiler was allowed to emit AVX instructions for the cores."""
    return bool(native.built_with_avx())
