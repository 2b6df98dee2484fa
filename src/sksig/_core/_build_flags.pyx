# cython: language_level=3
"""Flags the native cores were compiled with (read by sksig._config).

Every extension module of sksig._core is compiled with the same options, so what the
preprocessor sees here is what the cores were built with.
"""

# ---- native probe (a compile-time check, no header) ---------------------------------
cdef extern from *:
    """
    static int sksig_built_with_avx(void) {
    #if defined(__AVX__)
      return 1;
    #else
      return 0;
    #endif
    }
    """
    int sksig_built_with_avx() noexcept nogil
# --------------------------------------------------------------------------------------


def built_with_avx():
    """Whether the compiler was allowed to emit AVX instructions for the cores."""
    return bool(sksig_built_with_avx())
