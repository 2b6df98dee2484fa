"""Signature kernels of torch CUDA tensors, computed on their GPU.

:mod:`sksig._sig_kernel` sends a call here when a path is a CUDA tensor and the CUDA
cores are available; arguments and results are those of the CPU functions (same
checks, same shapes), but nothing leaves the device: transforms and ragged padding are
torch operations on the device (their adjoints come from torch autograd), the static
kernel, the PDE and its adjoint run in goursat.cu on the caller's current stream, and
results are tensors on the inputs' device. ``n_jobs`` is validated and ignored.
"""

import os

import torch

from sksig import _sig_kernel as _cpu
from sksig._validation import (
    check_bool,
    check_max_batch,
)
from sksig.cuda._device_arrays import (
    Paths,
    check_finite,
    launch,
    native,
    pointer,
    reference,
    tensor,
)

__all__ = [
    "sig_kernel",
    "sig_kernel_backprop",
    "sig_kernel_delta_backprop",
    "sig_kernel_gram",
    "sig_kernel_gram_backprop",
]


class _Setup(_cpu._Setup):
    """The CPU's validated arguments, with the paths prepared on the device."""

    def __init__(self, *args, gram, need_grad=(False, False)):
        self.need_grad = need_grad
        self.ref = reference(args[0], args[1])
        super().__init__(*args, gram=gram)

    def _path_batches(self, path1, path2, caller):
        args = (self.ref, self.time_aug, self.lead_lag, self.end_time)
        self.caller = None
        return (
            Paths(path1, "path1", *args, self.need_grad[0]),
            Paths(path2, "path2", *args, self.need_grad[1]),
        )

    def _host_paths(self):
        return tuple(b.data.detach().cpu().numpy() for b in (self.b1, self.b2))

    def empty(self, shape):
        return torch.empty(shape, dtype=self.ref.dtype, device=self.ref.device)

    def gridtensor(self, value, name, batch_shape):
        t = tensor(value, name, self.ref)
        want = tuple(batch_shape) + self.grid_shape
        if tuple(t.shape) != want:
            raise self.grid_shape_error(name, want, tuple(t.shape))
        return t.reshape(-1)

    def k_grid(self, k_grid, batch_shape):
        if k_grid is None:
            return None
        self.no_ragged_grid("k_grid")
        return self.gridtensor(k_grid, "k_grid", batch_shape)

    def _launch(self, name, counts, *args):
        """Call a launcher: (dtype, x, y, *counts, shapes, orders, kernel, *args)."""
        x, y = self.b1.data, self.b2.data
        with launch(self.ref) as (device, stream):
            getattr(native(), name)(
                x.dtype == torch.float64,
                pointer(x),
                pointer(y),
                *counts,
                x.shape[1],
                y.shape[1],
                x.shape[2],
                self.orders,
                self.kernel,
                *(_argument(a) for a in args),
                device,
                stream,
            )

    def forward(self, gram, out, grid, symmetric=False):
        counts = (out.numel(), self.b2.n_paths, gram, symmetric)
        self._launch("sig_kernel_forward", counts, _fused_delta(), out, grid, 0)

    def symmetric(self):
        """A Gram of the paths with themselves, solvable on its upper triangle: equal
        dyadic orders and equal transformed paths (the CPU's rule)."""
        x, y = self.b1.data, self.b2.data
        return (
            self.orders[0] == self.orders[1]
            and x.shape == y.shape
            and bool(torch.equal(x, y))
        )

    def backward(self, gram, derivs, grid_derivs, k_grid, gx, gy, gamma, chunk=0):
        self._launch(
            "sig_kernel_backward",
            (self.b1.n_paths, self.b2.n_paths, gram),
            derivs,
            grid_derivs,
            k_grid,
            gx,
            gy,
            gamma,
            chunk,
        )


def _cpu_only(where, **options):
    """basepoint, normalize and return_log are CPU features: a clear error here."""
    for name, value in options.items():
        if value is not None and value is not False:
            raise NotImplementedError(
                f"{where}({name}=...) is not implemented for CUDA tensors; pass CPU "
                "tensors (or, for basepoint, prepend the point with torch.cat)"
            )


def _fused_delta():
    """SKSIG_CUDA_DELTA: "fused" (default) lets linear kernels compute Delta inside the
    wavefront; "scratch" keeps the materialised Delta (to compare the two designs)."""
    choice = os.environ.get("SKSIG_CUDA_DELTA", "fused")
    if choice not in ("fused", "scratch"):
        raise ValueError(
            f'the environment variable SKSIG_CUDA_DELTA must be "fused" or "scratch", '
            f"got {choice!r}"
        )
    return choice == "fused"


def _argument(a):
    """Tensors (or None for "not wanted") travel as pointers, flags and counts as is."""
    return pointer(a) if a is None or isinstance(a, torch.Tensor) else a


def _check_finite(t, where):
    check_finite(t, _cpu._overflow_message(where))


def sig_kernel(
    path1,
    path2,
    dyadic_order,
    *,
    static_kernel=None,
    time_aug=False,
    lead_lag=False,
    end_time=1.0,
    n_jobs=1,
    return_grid=False,
    basepoint=None,
    normalize=False,
    return_log=False,
):
    """:func:`sksig.sig_kernel` on the GPU (same arguments and results)."""
    _cpu_only(
        "sig_kernel", basepoint=basepoint, normalize=normalize, return_log=return_log
    )
    return_grid = check_bool(return_grid, "return_grid")
    s = _Setup(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time,
               n_jobs, gram=False)
    if return_grid:
        s.no_ragged_grid("return_grid=True")
    n = s.b1.n_paths
    out = s.empty(n)
    grid = s.empty((n,) + s.grid_shape) if return_grid else None
    if n:
        s.forward(False, out, grid)
    result = grid if return_grid else out
    _check_finite(result, "sig_kernel")
    return result.reshape(s.b1.batch_shape + (s.grid_shape if return_grid else ()))


def sig_kernel_gram(
    path1,
    path2,
    dyadic_order,
    *,
    static_kernel=None,
    time_aug=False,
    lead_lag=False,
    end_time=1.0,
    n_jobs=1,
    max_batch=-1,
    return_grid=False,
    basepoint=None,
    normalize=False,
    return_log=False,
):
    """:func:`sksig.sig_kernel_gram` on the GPU (same arguments and results)."""
    _cpu_only(
        "sig_kernel_gram", basepoint=basepoint, normalize=normalize,
        return_log=return_log,
    )
    return_grid = check_bool(return_grid, "return_grid")
    check_max_batch(max_batch)
    s = _Setup(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time,
               n_jobs, gram=True)
    if return_grid:
        s.no_ragged_grid("return_grid=True")
    n_pairs = s.b1.n_paths * s.b2.n_paths
    out = s.empty(n_pairs)
    grid = s.empty((n_pairs,) + s.grid_shape) if return_grid else None
    if n_pairs:
        # Like the CPU, a Gram of paths with themselves is solved on i <= j and
        # mirrored (exactly symmetric); grids are computed for every pair.
        s.forward(True, out, grid, symmetric=not return_grid and s.symmetric())
    result = grid if return_grid else out
    _check_finite(result, "sig_kernel_gram")
    shape = s.b1.batch_shape + s.b2.batch_shape
    return result.reshape(shape + (s.grid_shape if return_grid else ()))


def _pair_derivs(s, derivs, return_grid):
    batch = s.b1.batch_shape
    if return_grid:
        s.no_ragged_grid("return_grid=True")
        return s.gridtensor(derivs, "derivs", batch)
    t = tensor(derivs, "derivs", s.ref)
    n = s.b1.n_paths
    shape = tuple(t.shape)
    ok = (
        shape == tuple(batch)
        or shape == (n,)
        or (batch == () and t.numel() == 1 and t.ndim <= 2)
    )
    if not ok:
        raise ValueError(
            f"derivs must have the kernels' batch shape {tuple(batch)}"
            + (" (or a flat vector of that size)" if len(batch) > 1 else "")
            + f", got {shape}"
        )
    return t.reshape(-1)


def sig_kernel_backprop(
    derivs,
    path1,
    path2,
    dyadic_order,
    *,
    static_kernel=None,
    time_aug=False,
    lead_lag=False,
    end_time=1.0,
    left_deriv=True,
    right_deriv=False,
    k_grid=None,
    n_jobs=1,
    return_grid=False,
    basepoint=None,
    normalize=False,
):
    """:func:`sksig.sig_kernel_backprop` on the GPU (same arguments and results)."""
    _cpu_only(
        "sig_kernel_backprop", basepoint=basepoint, normalize=normalize
    )
    left, right = _cpu._check_flags(left_deriv, right_deriv)
    return_grid = check_bool(return_grid, "return_grid")
    s = _Setup(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time,
               n_jobs, gram=False, need_grad=(left, right))
    d = _pair_derivs(s, derivs, return_grid)
    kg = s.k_grid(k_grid, s.b1.batch_shape)
    x, y = s.b1.data, s.b2.data
    gx = torch.zeros_like(x) if left else None
    gy = torch.zeros_like(y) if right else None
    if s.b1.n_paths:
        s.backward(False, d, return_grid, kg, gx, gy, None)
    for g in (gx, gy):
        _check_finite(g, "sig_kernel_backprop")
    return (
        s.b1.grad_to_input(gx) if left else None,
        s.b2.grad_to_input(gy) if right else None,
    )


def sig_kernel_delta_backprop(
    derivs,
    path1,
    path2,
    dyadic_order,
    *,
    static_kernel=None,
    time_aug=False,
    lead_lag=False,
    end_time=1.0,
    k_grid=None,
    n_jobs=1,
    return_grid=False,
    basepoint=None,
):
    """:func:`sksig.sig_kernel_delta_backprop` on the GPU (same arguments, results)."""
    _cpu_only(
        "sig_kernel_delta_backprop", basepoint=basepoint
    )
    return_grid = check_bool(return_grid, "return_grid")
    s = _Setup(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time,
               n_jobs, gram=False)
    s.no_ragged_grid("sig_kernel_delta_backprop")
    d = _pair_derivs(s, derivs, return_grid)
    kg = s.k_grid(k_grid, s.b1.batch_shape)
    segments = (s.b1.length - 1, s.b2.length - 1)
    gamma = torch.zeros(
        (s.b1.n_paths,) + segments, dtype=s.ref.dtype, device=s.ref.device
    )
    if s.b1.n_paths:
        s.backward(False, d, return_grid, kg, None, None, gamma)
    _check_finite(gamma, "sig_kernel_delta_backprop")
    return gamma.reshape(s.b1.batch_shape + segments)


def sig_kernel_gram_backprop(
    derivs,
    path1,
    path2,
    dyadic_order,
    *,
    static_kernel=None,
    time_aug=False,
    lead_lag=False,
    end_time=1.0,
    left_deriv=True,
    right_deriv=False,
    k_grid=None,
    n_jobs=1,
    return_grid=False,
    max_batch=-1,
    basepoint=None,
    normalize=False,
):
    """:func:`sksig.sig_kernel_gram_backprop` on the GPU (same arguments and results).

    Pairs are processed in rounds of ``max_batch**2`` (default: about 1 GiB of scratch
    per round); results never depend on it.
    """
    _cpu_only(
        "sig_kernel_gram_backprop", basepoint=basepoint, normalize=normalize
    )
    left, right = _cpu._check_flags(left_deriv, right_deriv)
    return_grid = check_bool(return_grid, "return_grid")
    max_batch = check_max_batch(max_batch)
    s = _Setup(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time,
               n_jobs, gram=True, need_grad=(left, right))
    shape = s.b1.batch_shape + s.b2.batch_shape
    if return_grid:
        s.no_ragged_grid("return_grid=True")
        d = s.gridtensor(derivs, "derivs", shape)
    else:
        t = tensor(derivs, "derivs", s.ref)
        if tuple(t.shape) != tuple(shape):
            raise ValueError(
                f"derivs must have the Gram's shape {tuple(shape)}, got "
                f"{tuple(t.shape)}"
            )
        d = t.reshape(-1)
    kg = s.k_grid(k_grid, shape)
    x, y = s.b1.data, s.b2.data
    gx = torch.zeros_like(x) if left else None
    gy = torch.zeros_like(y) if right else None
    if s.b1.n_paths and s.b2.n_paths:
        s.backward(
            True,
            d,
            return_grid,
            kg,
            gx,
            gy,
            None,
            chunk=max_batch**2 if max_batch > 0 else 0,
        )
    for g in (gx, gy):
        _check_finite(g, "sig_kernel_gram_backprop")
    return (
        s.b1.grad_to_input(gx) if left else None,
        s.b2.grad_to_input(gy) if right else None,
    )
