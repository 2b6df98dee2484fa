"""The log-signature join of torch CUDA tensors, computed on their GPU.

:mod:`sksig._log_sig` sends :func:`log_sig_join` and :func:`log_sig_join_backprop`
here when an array argument is a CUDA tensor and the CUDA cores are available.
Arguments, checks and results are those of the CPU functions; the work runs in
log_sig.cu on the caller's current stream and results are tensors on the inputs'
device. ``n_jobs`` is validated and ignored.
"""

import threading

import torch

from sksig import _log_sig as _cpu
from sksig._lyndon import lyndon_tables
from sksig.cuda._device_arrays import (
    finite_result,
    launch,
    native,
    pointer,
    reference,
    tensor,
)

__all__ = ["log_sig_join", "log_sig_join_backprop"]

_HANDLES = {}
_LOCK = threading.Lock()


def device_tables(dim, degree, device):
    """Handle of the device tables of (dim, degree) for the launcher module in use."""
    module = native()
    key = (module.__name__, device, dim, degree)
    handle = _HANDLES.get(key)
    if handle is None:
        with _LOCK:
            handle = _HANDLES.get(key)
            if handle is None:
                # The host arrays of the CPU cores (built once per process).
                host = lyndon_tables(dim, degree).arrays
                handle = module.log_sig_tables(dim, degree, host, device)
                _HANDLES[key] = handle
    return handle


def _join_inputs(log_sig, displacement, dimension, degree, n_jobs, d_out=_cpu.NO_D_OUT):
    # The CPU's checks (same order, same messages), on tensors kept on their device.
    def as_tensors(named):
        ref = reference(*(value for _, value in named))
        return ref, [tensor(value, name, ref, min_ndim=1) for name, value in named]

    dim, degree, _, n_ls, ref, batch_shape, ls, disp, grads = _cpu._join_inputs(
        log_sig, displacement, dimension, degree, n_jobs, d_out, as_arrays=as_tensors)
    return dim, degree, n_ls, ref, batch_shape, ls, disp, grads


def log_sig_join(log_sig, displacement, dimension, degree, *, n_jobs=1):
    """CUDA twin of :func:`sksig.log_sig_join` (same arguments and results)."""
    dim, degree, n_ls, ref, batch_shape, ls, disp, _ = _join_inputs(
        log_sig, displacement, dimension, degree, n_jobs)
    if degree == 0:  # no Lyndon words: the empty log-signature
        return ls.clone().reshape(batch_shape + (0,))
    out = ref.empty(ls.shape)
    if ls.shape[0]:
        with launch(ref) as (device, stream):
            native().log_sig_join(
                ls.dtype == torch.float64, pointer(ls), pointer(disp),
                pointer(out), ls.shape[0], device_tables(dim, degree, device), device,
                stream)
    return finite_result(out).reshape(batch_shape + (n_ls,))


def log_sig_join_backprop(d_out, log_sig, displacement, dimension, degree, *, n_jobs=1):
    """CUDA twin of :func:`sksig.log_sig_join_backprop` (same arguments and results)."""
    dim, degree, n_ls, ref, batch_shape, ls, disp, grads = _join_inputs(
        log_sig, displacement, dimension, degree, n_jobs, d_out=d_out)
    if degree == 0:  # nothing depends on the inputs: zero gradients
        return (ls.clone().reshape(batch_shape + (0,)),
                (disp * 0).reshape(batch_shape + (dim,)))
    grad_ls = ref.empty(ls.shape)
    grad_disp = ref.empty(disp.shape)
    if ls.shape[0]:
        with launch(ref) as (device, stream):
            native().log_sig_join_backprop(
                ls.dtype == torch.float64, pointer(grads[0]),
                pointer(ls), pointer(disp), pointer(grad_ls), pointer(grad_disp),
                ls.shape[0], device_tables(dim, degree, device), device, stream)
    return (finite_result(grad_ls).reshape(batch_shape + (n_ls,)),
            finite_result(grad_disp).reshape(batch_shape + (dim,)))
