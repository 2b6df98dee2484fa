"""The device-side input layer shared by the CUDA twins of the public functions.

Tensors are validated with the rules of :mod:`sksig._array` (dtype, device, NaN/inf)
but never leave their device; native launchers receive raw pointers, the device index
and the caller's current stream. :func:`native` is the compiled launcher module: the
real CUDA one, or, inside :func:`emulated`, the same sources compiled for the CPU
(``sksig.cuda._emulation``, built with ``SKSIG_CUDA_EMULATION=ON``), which then takes
CPU tensors. The emulation is how the CUDA code is tested on machines without a GPU.
"""

import contextlib
import threading
from dataclasses import dataclass

import torch

from sksig._array import _is_torch, check_time_channel, overflow_error

__all__ = [
    "Paths",
    "Reference",
    "check_finite",
    "emulated",
    "finite_result",
    "launch",
    "native",
    "pointer",
    "reference",
    "tensor",
    "transform",
]

_state = threading.local()


def native():
    """The launcher module: the CUDA one, or the CPU emulation inside emulated()."""
    module = getattr(_state, "module", None)
    if module is not None:
        return module
    from sksig.cuda import _kernels

    return _kernels


@contextlib.contextmanager
def emulated():
    """Run the CUDA twins on CPU tensors with the CPU emulation of the CUDA cores."""
    from sksig.cuda import _emulation

    previous = getattr(_state, "module", None)
    _state.module = _emulation
    try:
        yield _emulation
    finally:
        _state.module = previous


@dataclass(frozen=True)
class Reference:
    """Device and dtype fixed by the first tensor of a call."""

    device: torch.device
    dtype: torch.dtype

    def empty(self, shape):
        return torch.empty(shape, dtype=self.dtype, device=self.device)

    def zeros(self, shape):
        return torch.zeros(shape, dtype=self.dtype, device=self.device)


def reference(*values):
    """The Reference of the first tensor among values (lists: their first item)."""
    for v in values:
        first = v[0] if isinstance(v, (list, tuple)) and v else v
        if _is_torch(first):
            dtype = first.dtype if first.dtype in (torch.float32, torch.float64) else (
                torch.float64)
            return Reference(first.device, dtype)
    raise TypeError("no torch tensor among the inputs")  # the dispatcher checked this


def tensor(x, name, ref, min_ndim=0):
    """Validate one tensor argument (the rules of sksig._array.as_array), contiguous."""
    if not _is_torch(x):
        raise TypeError(
            f"{name} is a {type(x).__name__} but the other inputs are torch tensors on "
            f"{ref.device}; pass all arrays of one call as torch tensors on one device"
        )
    if x.device != ref.device:
        raise ValueError(
            f"{name} is on {x.device} but the other inputs are on {ref.device}"
        )
    if x.dtype.is_complex or x.dtype == torch.bool:
        raise TypeError(f"{name} must be float32 or float64, got {x.dtype}")
    if x.dtype.is_floating_point:
        if x.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"{name} must be float32 or float64, got {x.dtype}")
        if x.dtype != ref.dtype:
            raise TypeError(
                f"{name} has dtype {x.dtype} but the other inputs have {ref.dtype}; "
                "use one floating dtype for all arrays of one call"
            )
    x = x.detach().to(ref.dtype)
    if x.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimensions, got shape "
            f"{tuple(x.shape)}"
        )
    if x.numel() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or inf values")
    return x.contiguous()


def pointer(t):
    """Data pointer of a tensor for the launchers (0 for None or empty)."""
    return t.data_ptr() if t is not None and t.numel() else 0


@contextlib.contextmanager
def launch(ref):
    """(device index, stream handle) for the launchers, with the device made current.

    Work goes on the caller's current stream of that device; the CPU emulation (CPU
    tensors inside emulated()) has device 0 and stream 0.
    """
    if ref.device.type != "cuda":
        yield 0, 0
        return
    stream = torch.cuda.current_stream(ref.device).cuda_stream
    with torch.cuda.device(ref.device):
        yield ref.device.index, stream


def check_finite(t, message):
    """Raise FloatingPointError(message) when a result holds NaN or inf."""
    if t is not None and t.numel() and not bool(torch.isfinite(t).all()):
        raise FloatingPointError(message)


def finite_result(t):
    """t, or the CPU functions' overflow error when it holds NaN or inf (the inputs
    were checked finite)."""
    if t.numel() and not bool(torch.isfinite(t).all()):
        raise overflow_error(str(t.dtype).removeprefix("torch."))
    return t


def transform(x, time_aug, lead_lag, end_time):
    """transform_path of (n, L, d) paths with torch operations."""
    if lead_lag:
        length = x.shape[1]
        doubled = x.repeat_interleave(2, dim=1)
        # row 2k = (x[k], x[k]), row 2k+1 = (x[k], x[k+1]): lag first, lead second.
        x = torch.cat([doubled[:, : 2 * length - 1], doubled[:, 1:]], dim=2)
    if time_aug:
        check_time_channel(end_time, str(x.dtype).replace("torch.", ""),
                           torch.finfo(x.dtype).max)
        n, length = x.shape[:2]
        t = torch.arange(length, dtype=x.dtype, device=x.device)
        if length <= 1:
            t = torch.zeros_like(t)
        elif abs(end_time) > torch.finfo(x.dtype).max / (length - 1):
            t = end_time / (length - 1) * t  # end_time * t would overflow (as on CPU)
        else:
            t = end_time * t / (length - 1)
        x = torch.cat([x, t[None, :, None].expand(n, length, 1)], dim=2)
    return x


class Paths:
    """Transformed, padded paths on the device: ``data`` (n, L', d'), contiguous.

    With ``need_grad`` the transforms and padding are recorded by autograd, whose
    vector-Jacobian product is their exact adjoint (grad_to_input).
    """

    def __init__(self, path, name, ref, time_aug, lead_lag, end_time, need_grad):
        self.ragged = isinstance(path, (list, tuple))
        if self.ragged and len(path) == 0:
            raise ValueError(
                f"{name} is an empty list; for an empty batch pass a tensor of shape "
                "(0, length, dim)"
            )
        items = list(path) if self.ragged else [path]
        leaves = []
        for k, p in enumerate(items):
            label = f"{name}[{k}]" if self.ragged else name
            t = tensor(p, label, ref, min_ndim=2)
            if self.ragged and t.ndim != 2:
                raise ValueError(
                    f"{label} must be a 2-D path (length, dim), got shape "
                    f"{tuple(t.shape)}"
                )
            if t.shape[-1] < 1:
                raise ValueError(
                    f"{name} must have at least one channel (shape (..., length, dim) "
                    f"with dim >= 1), got shape {tuple(t.shape)}"
                )
            if t.shape[-2] < 1:
                raise ValueError(
                    f"{name} must have at least 1 point(s) per path, got shape "
                    f"{tuple(t.shape)}"
                )
            leaves.append(t.requires_grad_(True) if need_grad else t)
        dims = sorted({t.shape[-1] for t in leaves})
        if len(dims) != 1:
            raise ValueError(
                f"all paths in {name} must have the same dimension, got {dims}"
            )
        self.raw_dim = dims[0]
        self.leaves = leaves
        with torch.set_grad_enabled(need_grad):
            if self.ragged:
                paths = [
                    transform(t[None], time_aug, lead_lag, end_time)[0] for t in leaves
                ]
                longest = max(p.shape[0] for p in paths)
                graph = torch.stack(
                    [
                        torch.cat([p, p[-1:].expand(longest - p.shape[0], -1)])
                        for p in paths
                    ]
                )
                self.batch_shape = (len(leaves),)
            else:
                t = leaves[0]
                self.batch_shape = tuple(t.shape[:-2])
                graph = transform(
                    t.reshape((-1,) + tuple(t.shape[-2:])), time_aug, lead_lag, end_time
                )
        self._graph = graph
        self.data = graph.detach().contiguous()

    @property
    def n_paths(self):
        return self.data.shape[0]

    @property
    def length(self):
        return self.data.shape[1]

    def grad_to_input(self, grad):
        """Pull a gradient on ``data`` back to the caller's tensor(s)."""
        grads = torch.autograd.grad(
            self._graph, self.leaves, grad.reshape(self.data.shape), allow_unused=True
        )
        grads = [
            torch.zeros_like(t) if g is None else g
            for g, t in zip(grads, self.leaves, strict=True)
        ]
        return grads if self.ragged else grads[0]
