# cython: boundscheck=False, wraparound=False
"""The typed objects that cross from Python into the native cores (declared in
native.pxd): a built-in static kernel and the Lyndon-basis tables.

Both are filled here, once, when Python builds them; the wrappers of sksig/_core and
sksig/cuda read their C structs directly.
"""
from libc.stdint cimport int64_t

import numpy as np

# The codes of the C++ enum sksig::KernelKind, by static kernel (sksig/_static_kernels.py
# builds its StaticKernelParams with them; never copied by hand).
KERNEL_KINDS = {
    "linear": kLinear,
    "scaled_linear": kScaledLinear,
    "rbf": kRBF,
    "polynomial": kPolynomial,
    "matern12": kMatern12,
    "matern32": kMatern32,
    "matern52": kMatern52,
    "rational_quadratic": kRationalQuadratic,
}


cdef class StaticKernelParams:
    """A built-in static kernel as the kernel cores receive it (``sksig::KernelParams``).

    ``kind`` is a code of :data:`KERNEL_KINDS`; ``p0``, ``p1``, ``p2`` are the kernel's
    parameters in the order include/sksig/static_kernels.hpp reads them (unused ones
    0); ``clamp`` is the polynomial kernel's clamp of a negative base at zero. Built by
    each static kernel's ``_native()`` after validating its parameters.
    """

    def __init__(self, int kind, double p0=0.0, double p1=0.0, double p2=0.0,
                 bint clamp=False):
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {sorted(_KINDS)}, got {kind}")
        self.c.kind = self.kind = kind
        self.c.p0 = self.p0 = p0
        self.c.p1 = self.p1 = p1
        self.c.p2 = self.p2 = p2
        self.c.clamp = self.clamp = clamp

    def _fields(self):
        return (self.kind, self.p0, self.p1, self.p2, self.clamp)

    def __reduce__(self):
        return (StaticKernelParams, self._fields())

    def __eq__(self, other):
        if not isinstance(other, StaticKernelParams):
            return NotImplemented
        return self._fields() == (<StaticKernelParams> other)._fields()

    def __hash__(self):
        return hash(self._fields())

    def __repr__(self):
        kind, p0, p1, p2, clamp = self._fields()
        return (f"StaticKernelParams(kind={kind}, p0={p0!r}, p1={p1!r}, p2={p2!r}, "
                f"clamp={clamp})")


_KINDS = frozenset(KERNEL_KINDS.values())


# The arrays of LyndonTables, by name (include/sksig/lyndon.hpp documents each).
LYNDON_FIELDS = ("pos", "tri_ptr", "tri_col", "tri_val", "exp_ptr", "exp_pos", "exp_val")


cdef class LyndonTables:
    """The Lyndon-basis tables of one (dim, degree) (include/sksig/lyndon.hpp documents
    each array), kept alive with the native view that the cores read.

    ``pos``, ``tri_ptr``, ``tri_col``, ``exp_ptr``, ``exp_pos`` are int64 and
    ``tri_val``, ``exp_val`` float64 contiguous 1-D arrays; built natively by
    ``sksig._core._log_sig.build_tables``. :meth:`empty` gives the tables of no word
    (what method 0 passes: it reads none).
    """

    def __init__(self, pos, tri_ptr, tri_col, tri_val, exp_ptr, exp_pos, exp_val):
        cdef const int64_t[::1] v_pos = pos
        cdef const int64_t[::1] v_tri_ptr = tri_ptr
        cdef const int64_t[::1] v_tri_col = tri_col
        cdef const double[::1] v_tri_val = tri_val
        cdef const int64_t[::1] v_exp_ptr = exp_ptr
        cdef const int64_t[::1] v_exp_pos = exp_pos
        cdef const double[::1] v_exp_val = exp_val
        if (v_tri_ptr.shape[0] != v_pos.shape[0] + 1
                or v_exp_ptr.shape[0] != v_pos.shape[0] + 1):
            raise ValueError("tri_ptr and exp_ptr must have one entry more than pos")
        self.pos, self.tri_ptr, self.tri_col, self.tri_val = pos, tri_ptr, tri_col, tri_val
        self.exp_ptr, self.exp_pos, self.exp_val = exp_ptr, exp_pos, exp_val
        self.view.n = v_pos.shape[0]
        self.view.pos = cdata_or_null(v_pos)
        self.view.tri_ptr = &v_tri_ptr[0]
        self.view.tri_col = cdata_or_null(v_tri_col)
        self.view.tri_val = cdata_or_null(v_tri_val)
        self.view.exp_ptr = &v_exp_ptr[0]
        self.view.exp_pos = cdata_or_null(v_exp_pos)
        self.view.exp_val = cdata_or_null(v_exp_val)

    @staticmethod
    def empty():
        """The tables of no Lyndon word."""
        i0 = np.zeros(0, np.int64)
        one = np.zeros(1, np.int64)
        f0 = np.zeros(0, np.float64)
        return LyndonTables(i0, one, i0, f0, one, i0, f0)

    @property
    def n_words(self):
        """Number of Lyndon words (``log_sig_length``)."""
        return self.view.n

    def set_read_only(self):
        """Make every array read-only (tables shared by all callers of a process)."""
        for name in LYNDON_FIELDS:
            getattr(self, name).flags.writeable = False
