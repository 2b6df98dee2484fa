"""Signature kernels with a static kernel written in Python.

A subclass of :class:`sksig.StaticKernel` that does not map onto the native kernels
implements pySigLib's contract instead:

* ``__call__(ctx, x, y)`` returns the increment Gram ``Delta`` of paired batches of
  points ``x`` (batch, L1, d) and ``y`` (batch, L2, d), shape (batch, L1-1, L2-1),
  saving on ``ctx`` (a :class:`Context`) whatever its gradients need;
* ``grad_x(ctx, derivs)`` and ``grad_y(ctx, derivs)`` return the gradients of
  ``sum(derivs * Delta)`` with respect to ``x`` and ``y``.

The signature kernel then solves the Goursat PDE on that increment Gram natively
(include/sksig/goursat_delta.hpp), and its backprop takes the PDE's adjoint
``dF/dDelta`` back through ``grad_x``/``grad_y``. Pairs are processed in blocks of
bounded memory.
"""

import numpy as np

from sksig._limits import check_memory

__all__ = ["Context", "is_custom"]

# Memory of one block of pairs: their points, increment Grams and gradients.
_BLOCK_BYTES = 64 * 2**20


class Context:
    """What a user-defined static kernel keeps between its value and its gradients.

    sksig creates one per block of pairs, passes it to the kernel's ``__call__`` and
    then (for gradients) to its ``grad_x`` and ``grad_y``, in that order; nothing
    needs to create one by hand. The attribute names are pySigLib's, so kernels
    written for it run unchanged.

    Attributes
    ----------
    saved_tensors : tuple
        What ``save_for_backward`` stored (empty at first).
    saved_for_y : tuple
        What ``save_for_grad_y`` stored (empty at first).

    See Also
    --------
    StaticKernel : The base class of static kernels, user-defined ones included.

    Examples
    --------
    >>> import sksig
    >>> ctx = sksig.Context()
    >>> ctx.save_for_backward(1, 2)
    >>> ctx.saved_tensors
    (1, 2)
    """

    def __init__(self):
        self.saved_tensors = ()
        self.saved_for_y = ()

    def save_for_backward(self, *args):
        """Keep objects of the forward pass for ``grad_x`` and ``grad_y``.

        Parameters
        ----------
        *args : object
            Anything (arrays, scalars); stored as ``saved_tensors``.
        """
        self.saved_tensors = args

    def save_for_grad_y(self, *args):
        """Keep objects computed by ``grad_x`` for ``grad_y`` (called after it).

        Parameters
        ----------
        *args : object
            Anything; stored as ``saved_for_y``.
        """
        self.saved_for_y = args


def is_custom(static_kernel):
    """Whether ``static_kernel`` is a user-defined (Python) static kernel."""
    from sksig._static_kernels import StaticKernel

    return (isinstance(static_kernel, StaticKernel)
            and type(static_kernel) is not StaticKernel
            and type(static_kernel)._native is StaticKernel._native)


def check_custom(kernel):
    """Raise TypeError unless the user kernel implements the three methods."""
    from sksig._static_kernels import StaticKernel

    cls = type(kernel)
    missing = [m for m in ("__call__", "grad_x", "grad_y")
               if getattr(cls, m) is getattr(StaticKernel, m)]
    if missing:
        raise TypeError(
            f"static_kernel {cls.__name__} is a user-defined StaticKernel but does not "
            f"implement {', '.join(missing)}: a Python static kernel defines "
            "__call__(ctx, x, y) (the increment Gram), grad_x(ctx, derivs) and "
            "grad_y(ctx, derivs)"
        )


class _Lender:
    """Gives the user's kernel arrays of the kind the caller passed (numpy, or torch
    CPU tensors sharing memory) and takes its results back as checked numpy arrays."""

    def __init__(self, kernel, kind, dtype):
        self.kernel = kernel
        self.kind = kind
        self.dtype = dtype

    def lend(self, array):
        if self.kind == "torch":
            import torch

            return torch.from_numpy(array)
        return array

    def take(self, value, what, shape):
        name = f"{type(self.kernel).__name__}.{what}"
        if hasattr(value, "detach"):  # a torch tensor
            value = value.detach().cpu().numpy()
        try:
            array = np.asarray(value, dtype=self.dtype)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must return a float array, got "
                            f"{type(value).__name__}") from None
        if array.shape != shape:
            raise ValueError(f"{name} must return an array of shape {shape}, got "
                             f"{array.shape}")
        if not np.isfinite(array).all():
            raise ValueError(f"{name} returned NaN or inf values")
        return np.ascontiguousarray(array)

    def increments(self, x, y):
        ctx = Context()
        shape = (x.shape[0], x.shape[1] - 1, y.shape[1] - 1)
        value = self.kernel(ctx, self.lend(x), self.lend(y))
        delta = self.take(value, "__call__", shape)
        return ctx, delta

    def grads(self, ctx, gamma, x, y, left, right):
        g = self.lend(gamma)
        gx = self.take(self.kernel.grad_x(ctx, g), "grad_x", x.shape) if left else None
        gy = self.take(self.kernel.grad_y(ctx, g), "grad_y", y.shape) if right else None
        return gx, gy


def _block_pairs(x, y, n_threads):
    """Pairs per block: points, increment Gram (twice) and gradients within
    _BLOCK_BYTES, and at least one pair (whose own size is checked)."""
    (_, L1, d), L2 = x.shape, y.shape[1]
    per_pair = (2 * (L1 + L2) * d + 2 * (L1 - 1) * (L2 - 1)) * x.itemsize
    check_memory(per_pair, "one pair of a user-defined static kernel", "the paths")
    return max(1, min(_BLOCK_BYTES // per_pair, 1 << 20), n_threads)


def _grid_bytes(s):
    return s.grid_shape[0] * s.grid_shape[1] * s.b1.data.itemsize


def _solve(s, kernel, index1, index2, derivs=None, left=True, right=False):
    """Kernels (derivs None) or gradients of the pairs (index1[p], index2[p])."""
    from sksig._core import _goursat_delta

    x, y = s.b1.data, s.b2.data
    lender = _Lender(kernel, s.caller.kind, x.dtype)
    lam1, lam2 = s.orders
    n = index1.size
    if derivs is not None:  # the adjoint holds a whole grid per thread
        check_memory(2 * s.n_threads * _grid_bytes(s),
                     f"the PDE grids of {s.n_threads} thread(s)", "dyadic_order")
    out = np.empty(n, x.dtype) if derivs is None else None
    gx = np.zeros_like(x) if derivs is not None and left else None
    gy = np.zeros_like(y) if derivs is not None and right else None
    block = _block_pairs(x, y, s.n_threads)
    for start in range(0, n, block):
        i1, i2 = index1[start:start + block], index2[start:start + block]
        xb, yb = np.ascontiguousarray(x[i1]), np.ascontiguousarray(y[i2])
        ctx, delta = lender.increments(xb, yb)
        if derivs is None:
            _goursat_delta.forward(delta, out[start:start + block], lam1, lam2,
                                   s.n_threads)
            continue
        d = np.ascontiguousarray(derivs[start:start + block], dtype=x.dtype)
        gamma = np.zeros_like(delta)
        _goursat_delta.backward(delta, d, gamma, lam1, lam2, s.n_threads)
        bx, by = lender.grads(ctx, gamma, xb, yb, left, right)
        if left:
            np.add.at(gx, i1, bx)
        if right:
            np.add.at(gy, i2, by)
    return out if derivs is None else (gx, gy)


def _unsupported(**flags):
    for name, value in flags.items():
        if value is not None and value is not False:
            raise ValueError(
                f"{name} is not available with a user-defined static kernel (the "
                "kernel, its Gram and their gradients are); use a built-in kernel"
            )


def _setup(path1, path2, dyadic_order, kernel, time_aug, lead_lag, end_time, n_jobs,
           basepoint, gram, max_batch):
    from sksig._kernel_setup import _Setup
    from sksig._validation import check_max_batch

    check_custom(kernel)
    check_max_batch(max_batch)  # accepted; blocks are bounded by memory anyway
    # The paths and options are validated as for a built-in kernel.
    s = _Setup(path1, path2, dyadic_order, None, time_aug, lead_lag, end_time,
               n_jobs, gram=gram, basepoint=basepoint)
    if not (isinstance(s.b1.data, np.ndarray) and isinstance(s.b2.data, np.ndarray)):
        # A backend that keeps device arrays on their device: this route is host-only.
        raise ValueError(
            f"static_kernel {type(kernel).__name__} is a user-defined kernel, computed "
            "on the CPU only: pass numpy arrays or CPU tensors"
        )
    return s


def _pairs(s):
    n = s.b1.n_paths
    return np.arange(n), np.arange(n)


def _gram_pairs(s):
    n1, n2 = s.b1.n_paths, s.b2.n_paths
    check_memory(16 * n1 * n2, f"the index of the {n1} x {n2} pairs", "the batches")
    return np.repeat(np.arange(n1), n2), np.tile(np.arange(n2), n1)


def sig_kernel(path1, path2, dyadic_order, kernel, *, time_aug, lead_lag, end_time,
               basepoint, n_jobs, normalize, return_log, return_grid, max_batch=-1,
               gram=False):
    """:func:`sksig.sig_kernel` / :func:`sksig.sig_kernel_gram` for a user kernel."""
    _unsupported(normalize=normalize, return_log=return_log, return_grid=return_grid)
    s = _setup(path1, path2, dyadic_order, kernel, time_aug, lead_lag, end_time, n_jobs,
               basepoint, gram, max_batch)
    i1, i2 = _gram_pairs(s) if gram else _pairs(s)
    out = _solve(s, kernel, i1, i2)
    shape = s.b1.batch_shape + (s.b2.batch_shape if gram else ())
    return s.caller.out(out.reshape(shape))


def sig_kernel_backprop(derivs, path1, path2, dyadic_order, kernel, *, time_aug,
                        lead_lag, end_time, basepoint, normalize, left_deriv,
                        right_deriv, k_grid, n_jobs, return_grid, max_batch=-1,
                        gram=False):
    """:func:`sksig.sig_kernel_backprop` / :func:`sksig.sig_kernel_gram_backprop`."""
    from sksig._kernel_setup import _check_flags, _derivs_array, _pair_derivs

    left, right = _check_flags(left_deriv, right_deriv)
    _unsupported(normalize=normalize, k_grid=k_grid, return_grid=return_grid)
    s = _setup(path1, path2, dyadic_order, kernel, time_aug, lead_lag, end_time, n_jobs,
               basepoint, gram, max_batch)
    if gram:
        shape = s.b1.batch_shape + s.b2.batch_shape
        array = _derivs_array(s, derivs)
        if array.shape != tuple(shape):
            raise ValueError(
                f"derivs must have the Gram's shape {tuple(shape)}, got {array.shape}")
        d = array.reshape(-1)
        i1, i2 = _gram_pairs(s)
    else:
        d = _pair_derivs(s, derivs, False)
        i1, i2 = _pairs(s)
    gx, gy = _solve(s, kernel, i1, i2, d, left, right)
    return (s.b1.grad_to_input(gx, s.n_threads) if left else None,
            s.b2.grad_to_input(gy, s.n_threads) if right else None)


def increment_gram(kernel, path1, path2):
    """The user kernel's increment Gram (for StaticKernel.increment_gram)."""
    x, y, caller, batch = kernel._pair(path1, path2)
    check_custom(kernel)
    _, delta = _Lender(kernel, caller.kind, caller.dtype).increments(x, y)
    return caller.out(delta.reshape(batch + delta.shape[1:]))


def increment_gram_backprop(kernel, derivs, path1, path2):
    """Its vector-Jacobian product (StaticKernel.increment_gram_backprop)."""
    from sksig._array import as_array

    x, y, caller, batch = kernel._pair(path1, path2)
    check_custom(kernel)
    g, _ = as_array(derivs, "derivs", caller=caller)
    want = batch + (x.shape[1] - 1, y.shape[1] - 1)
    if g.shape != want:
        raise ValueError(f"derivs must have shape {want}, got {g.shape}")
    lender = _Lender(kernel, caller.kind, caller.dtype)
    ctx, _ = lender.increments(x, y)
    gamma = np.ascontiguousarray(g.reshape((x.shape[0],) + want[-2:]))
    gx, gy = lender.grads(ctx, gamma, x, y, True, True)
    return (caller.out(gx.reshape(batch + gx.shape[1:])),
            caller.out(gy.reshape(batch + gy.shape[1:])))
