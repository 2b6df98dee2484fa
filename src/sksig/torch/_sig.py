"""Autograd wrapper for sig."""

import torch

from sksig._log_sig import sig as _sig
from sksig._log_sig import sig_backprop as _sig_backprop

__all__ = ["sig"]


class _Sig(torch.autograd.Function):
    @staticmethod
    def forward(ctx, path, degree, options):
        out = _sig(path.detach(), degree, **options)
        ctx.save_for_backward(path, out)
        ctx.degree, ctx.options = degree, options
        return out

    @staticmethod
    def backward(ctx, grad):
        path, out = ctx.saved_tensors
        options = dict(ctx.options)
        options.pop("scalar_term")  # told by the output's length
        grad_path = _sig_backprop(path.detach(), out, grad.contiguous(), ctx.degree,
                                  **options)
        return grad_path, None, None


def sig(path, degree, *, time_aug=False, lead_lag=False, end_time=1.0, horner=True,
        scalar_term=False, n_jobs=1):
    """Differentiable :func:`sksig.sig` for a torch tensor of paths.

    ``backward`` runs :func:`sksig.sig_backprop` from the saved signatures.

    Parameters
    ----------
    path : torch.Tensor of shape (..., length, dim)
        Paths (float32 or float64); gradients flow back to them.
    degree : int
        Truncation degree, as in :func:`sksig.sig`.
    time_aug, lead_lag, end_time, horner, scalar_term, n_jobs : optional
        As in :func:`sksig.sig`.

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
                   horner=horner, scalar_term=scalar_term, n_jobs=n_jobs)
    return _Sig.apply(path, degree, options)
