"""Autograd wrapper for sig."""

import torch

from sksig._log_sig import sig as _sig
from sksig._log_sig import sig_backprop as _sig_backprop

__all__ = ["sig"]


class PathFeatures(torch.autograd.Function):
    """A feature map of paths (``sig``, ``log_sig``, ``branched_sig``) whose backward
    is the matching native ``*_backprop``, started from the saved output.

    ``apply(path, forward, backprop, degree, options, backprop_options)`` computes
    ``forward(path, degree, **options)``; the backward calls
    ``backprop(path, out, grad, degree, **backprop_options)``.
    """

    @staticmethod
    def forward(ctx, path, forward, backprop, degree, options, backprop_options):
        out = forward(path.detach(), degree, **options)
        ctx.save_for_backward(path, out)
        ctx.backprop, ctx.degree, ctx.options = backprop, degree, backprop_options
        return out

    @staticmethod
    def backward(ctx, grad):
        path, out = ctx.saved_tensors
        grad_path = ctx.backprop(path.detach(), out, grad.contiguous(), ctx.degree,
                                 **ctx.options)
        return grad_path, None, None, None, None, None


def without_scalar_term(options):
    """The backprop's options: the scalar term is told by the output's length."""
    return {k: v for k, v in options.items() if k != "scalar_term"}


def sig(path, degree, *, time_aug=False, lead_lag=False, end_time=1.0, horner=True,
        scalar_term=False, basepoint=None, n_jobs=1):
    """Differentiable :func:`sksig.sig` for a torch tensor of paths.

    ``backward`` runs :func:`sksig.sig_backprop` from the saved signatures.

    Parameters
    ----------
    path : torch.Tensor of shape (..., length, dim)
        Paths (float32 or float64); gradients flow back to them.
    degree : int
        Truncation degree, as in :func:`sksig.sig`.
    time_aug, lead_lag, end_time, horner, scalar_term, basepoint, n_jobs : optional
        As in :func:`sksig.sig` (a basepoint gets no gradient).

    Returns
    -------
    torch.Tensor of shape (..., sig_length)
        The signatures, attached to the autograd graph.

    Raises
    ------
    TypeError, ValueError
        As :func:`sksig.sig`; also ``TypeError`` if ``path`` is not a tensor.

    Examples
    --------
    >>> import torch, sksig.torch
    >>> x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]], requires_grad=True)
    >>> sksig.torch.sig(x, 2).sum().backward()
    >>> x.grad
    tensor([[-3., -3.],
            [ 0.,  0.],
            [ 3.,  3.]])
    """
    if not isinstance(path, torch.Tensor):
        raise TypeError(f"path must be a torch.Tensor, got {type(path).__name__}")
    options = dict(time_aug=time_aug, lead_lag=lead_lag, end_time=end_time,
                   horner=horner, scalar_term=scalar_term, basepoint=basepoint,
                   n_jobs=n_jobs)
    return PathFeatures.apply(path, _sig, _sig_backprop, degree, options,
                              without_scalar_term(options))
