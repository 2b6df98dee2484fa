"""Autograd wrappers for log_sig and log_sig_join."""

import torch

from sksig._log_sig import log_sig as _log_sig
from sksig._log_sig import log_sig_backprop as _log_sig_backprop
from sksig._log_sig import log_sig_join as _log_sig_join
from sksig._log_sig import log_sig_join_backprop as _log_sig_join_backprop
from sksig.torch._sig import PathFeatures

__all__ = ["log_sig", "log_sig_join"]


class _LogSigJoin(torch.autograd.Function):
    @staticmethod
    def forward(ctx, ls, displacement, dimension, degree, n_jobs):
        ctx.save_for_backward(ls, displacement)
        ctx.args = (dimension, degree, n_jobs)
        return _log_sig_join(ls.detach(), displacement.detach(), dimension, degree,
                             n_jobs=n_jobs)

    @staticmethod
    def backward(ctx, grad):
        ls, displacement = ctx.saved_tensors
        dimension, degree, n_jobs = ctx.args
        grad_ls, grad_disp = _log_sig_join_backprop(
            grad.contiguous(), ls.detach(), displacement.detach(), dimension, degree,
            n_jobs=n_jobs)
        return grad_ls, grad_disp, None, None, None


def log_sig(path, degree, *, time_aug=False, lead_lag=False, end_time=1.0, method=1,
            scalar_term=False, basepoint=None, n_jobs=1):
    """Differentiable :func:`sksig.log_sig` for a torch tensor of paths.

    Parameters
    ----------
    path : torch.Tensor of shape (..., length, dim)
        Paths (float32 or float64); gradients flow back to them.
    degree : int
        Truncation degree, as in :func:`sksig.log_sig`.
    time_aug, lead_lag, end_time, method, scalar_term, basepoint, n_jobs : optional
        As in :func:`sksig.log_sig` (a basepoint gets no gradient).

    Returns
    -------
    torch.Tensor of shape (..., n)
        The log-signatures, attached to the autograd graph.

    Raises
    ------
    TypeError, ValueError
        As :func:`sksig.log_sig`; also ``TypeError`` if ``path`` is not a tensor.

    Examples
    --------
    >>> import torch, sksig.torch
    >>> x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]], requires_grad=True)
    >>> sksig.torch.log_sig(x, 2, method=2).sum().backward()
    >>> x.grad
    tensor([[-1.5000, -1.0000],
            [ 0.5000, -0.5000],
            [ 1.0000,  1.5000]])
    """
    if not isinstance(path, torch.Tensor):
        raise TypeError(f"path must be a torch.Tensor, got {type(path).__name__}")
    options = dict(time_aug=time_aug, lead_lag=lead_lag, end_time=end_time,
                   method=method, scalar_term=scalar_term, basepoint=basepoint,
                   n_jobs=n_jobs)
    return PathFeatures.apply(path, _log_sig, _log_sig_backprop, degree, options,
                              options)


def log_sig_join(log_sig, displacement, dimension, degree, *, n_jobs=1):
    """Differentiable :func:`sksig.log_sig_join` for torch tensors.

    Parameters
    ----------
    log_sig : torch.Tensor of shape (..., n)
        Lyndon-bracket coordinates (no scalar term).
    displacement : torch.Tensor of shape (..., dimension)
        Segment increments with the same batch shape.
    dimension, degree : int
        As in :func:`sksig.log_sig_join`.
    n_jobs : int, default=1
        CPU threads; None means 1, -1 all cores.

    Returns
    -------
    torch.Tensor of shape (..., n)
        The joined log-signatures, attached to the autograd graph.

    Raises
    ------
    TypeError, ValueError
        As :func:`sksig.log_sig_join`; also ``TypeError`` for non-tensor inputs.

    Examples
    --------
    >>> import torch, sksig.torch
    >>> c = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    >>> v = torch.tensor([0.5, 2.0], dtype=torch.float64, requires_grad=True)
    >>> sksig.torch.log_sig_join(c, v, 2, 3).sum().backward()
    >>> torch.allclose(v.grad, torch.ones(2, dtype=torch.float64))
    True
    """
    for name, value in (("log_sig", log_sig), ("displacement", displacement)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return _LogSigJoin.apply(log_sig, displacement, dimension, degree, n_jobs)
