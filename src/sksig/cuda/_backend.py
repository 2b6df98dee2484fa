"""The CUDA backend: thin functions over the launchers of :mod:`sksig.cuda._kernels`.

The twin of :mod:`sksig._core._backend`: same names, same signatures, but the arrays
are torch tensors on one device (CPU tensors inside the CUDA emulation, see
:func:`sksig.cuda._runtime.emulated`), already validated, contiguous and shaped by the
public functions. The work runs on the caller's current stream of that device and
nothing leaves it; ``n_threads`` is ignored. A non-finite signature kernel or
gradient raises FloatingPointError, as the CPU cores do (other results are checked by
:meth:`sksig._array.Caller.out`, as on the CPU).
"""

import os

import torch

from sksig.cuda._runtime import launch, native, pointer
from sksig.cuda._tables import branched_tables, log_sig_tables


def _dtype(caller):
    return torch.float64 if caller.dtype.itemsize == 8 else torch.float32


def empty(shape, caller):
    return torch.empty(shape, dtype=_dtype(caller), device=caller.device)


def zeros(shape, caller):
    return torch.zeros(shape, dtype=_dtype(caller), device=caller.device)


def equal(x, y):
    """Whether two tensors have equal shapes and values."""
    return x.shape == y.shape and bool(torch.equal(x, y))


def _finite(*tensors):
    for t in tensors:
        if t is not None and t.numel() and not bool(torch.isfinite(t).all()):
            raise FloatingPointError


def _arg(a):
    """Tensors (or None for "not wanted") travel as pointers, flags and counts as is."""
    return pointer(a) if a is None or isinstance(a, torch.Tensor) else a


def _goursat(name, x, y, counts, orders, kernel, *args):
    """Call a launcher: (dtype, x, y, *counts, shapes, orders, kernel, *args)."""
    with launch(x.device) as (device, stream):
        getattr(native(), name)(
            x.dtype == torch.float64, pointer(x), pointer(y), *counts, x.shape[1],
            y.shape[1], x.shape[2], orders, kernel, *(_arg(a) for a in args), device,
            stream)


# ------------------------------------------------------------------ signature kernel


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


def sig_kernel_forward(x, y, gram, symmetric, orders, kernel, out, grid, n_threads):
    if out.numel():
        # Grids are computed for every pair (no mirrored Gram with grids).
        counts = (out.numel(), y.shape[0], gram, symmetric and grid is None)
        _goursat("sig_kernel_forward", x, y, counts, orders, kernel, _fused_delta(),
                 out, grid, 0)
    _finite(out, grid)


def sig_kernel_backward(x, y, orders, kernel, derivs, grid_derivs, k_grid, gx, gy,
                        gamma, n_threads):
    if x.shape[0]:
        _goursat("sig_kernel_backward", x, y, (x.shape[0], y.shape[0], False), orders,
                 kernel, derivs, grid_derivs, k_grid, gx, gy, gamma, 0)
    _finite(gx, gy, gamma)


def sig_kernel_backward_gram(x, y, orders, kernel, derivs, grid_derivs, k_grid, gx, gy,
                             max_batch, n_threads):
    """Pairs in rounds of max_batch**2 (default: about 1 GiB of scratch per round)."""
    if x.shape[0] and y.shape[0]:
        _goursat("sig_kernel_backward", x, y, (x.shape[0], y.shape[0], True), orders,
                 kernel, derivs, grid_derivs, k_grid, gx, gy, None,
                 max_batch**2 if max_batch > 0 else 0)
    _finite(gx, gy)


# ------------------------------------------------------------------ log-signature join


def log_sig_join(ls, disp, out, dim, degree, n_threads):
    if ls.shape[0]:
        with launch(ls.device) as (device, stream):
            native().log_sig_join(
                ls.dtype == torch.float64, pointer(ls), pointer(disp), pointer(out),
                ls.shape[0], log_sig_tables(dim, degree, device), device, stream)


def log_sig_join_backprop(d_out, ls, disp, grad_ls, grad_disp, dim, degree, n_threads):
    if ls.shape[0]:
        with launch(ls.device) as (device, stream):
            native().log_sig_join_backprop(
                ls.dtype == torch.float64, pointer(d_out), pointer(ls), pointer(disp),
                pointer(grad_ls), pointer(grad_disp), ls.shape[0],
                log_sig_tables(dim, degree, device), device, stream)


# ------------------------------------------------------------------ branched signatures


def branched_sig(data, out, tb, scalar_term, n_threads):
    if data.shape[0] and tb.n:
        tables = branched_tables(tb, "gathers", data.device, data.dtype)
        with launch(data.device) as (device, stream):
            native().branched_sig(
                data.dtype == torch.float64, pointer(data), pointer(out), data.shape[0],
                data.shape[1], data.shape[2], tables, scalar_term, device, stream)
    elif tb.n == 0:
        out.fill_(1)


def branched_sig_backprop(data, bsig, derivs, grad, tb, scalar_term, n_threads):
    if data.shape[0] and tb.n:
        tables = branched_tables(tb, "gathers", data.device, data.dtype)
        with launch(data.device) as (device, stream):
            native().branched_sig_backprop(
                data.dtype == torch.float64, pointer(data), pointer(bsig),
                pointer(derivs), pointer(grad), data.shape[0], data.shape[1],
                data.shape[2], tables, scalar_term, device, stream)


def _log_tables(tb, method, device, dtype):
    """(gathers, levels, lyndon or None) of the branched log in method's layout."""
    gathers = branched_tables(tb, "gathers", device, dtype)
    levels = branched_tables(tb, "levels_lyndon" if method else "levels_full", device,
                             dtype)
    lyndon = branched_tables(tb, "lyndon", device, dtype) if method else None
    return gathers, levels, lyndon


def branched_log(flat, out, tb, method, had_scalar, scalar_out, n_threads):
    if flat.shape[0] and out.shape[1]:
        gathers, levels, lyndon = _log_tables(tb, method, flat.device, flat.dtype)
        with launch(flat.device) as (device, stream):
            native().branched_log(
                flat.dtype == torch.float64, pointer(flat), pointer(out), flat.shape[0],
                gathers, levels, had_scalar, bool(scalar_out and method == 0), lyndon,
                method == 2, device, stream)


def branched_log_backprop(flat, derivs, grad, tb, method, had_scalar, scalar_grad,
                          n_threads):
    if flat.shape[0]:
        gathers, levels, lyndon = _log_tables(tb, method, flat.device, flat.dtype)
        with launch(flat.device) as (device, stream):
            native().branched_log_backprop(
                flat.dtype == torch.float64, pointer(flat), pointer(derivs),
                pointer(grad), flat.shape[0], gathers, levels, had_scalar, scalar_grad,
                lyndon, method == 2, device, stream)
