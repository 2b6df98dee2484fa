"""The increment Gram of a user-defined (Python) static kernel, and its gradient.

A static kernel written in Python (a :class:`sksig.StaticKernel` subclass giving
``__call__``, ``grad_x`` and ``grad_y``, pySigLib's contract) is evaluated here for
:meth:`sksig.StaticKernel.increment_gram` and its backprop; the signature kernels of
such kernels are in :mod:`sksig._custom_kernel`. This module imports no other part of
sksig's kernels, so the static kernels can call it.
"""

import numpy as np


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


def increment_gram(kernel, path1, path2):
    """The user kernel's increment Gram (for StaticKernel.increment_gram)."""
    x, y, caller, batch = kernel._pair(path1, path2)
    kernel._check_user_methods()
    _, delta = _Lender(kernel, caller.kind, caller.dtype).increments(x, y)
    return caller.out(delta.reshape(batch + delta.shape[1:]))


def increment_gram_backprop(kernel, derivs, path1, path2):
    """Its vector-Jacobian product (StaticKernel.increment_gram_backprop)."""
    from sksig._array import as_array

    x, y, caller, batch = kernel._pair(path1, path2)
    kernel._check_user_methods()
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
