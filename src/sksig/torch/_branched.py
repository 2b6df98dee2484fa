"""Autograd wrapper for the branched log-signature map."""

import torch

import sksig

__all__ = ["branched_sig_to_log_sig"]


class _BranchedSigToLogSig(torch.autograd.Function):
    @staticmethod
    def forward(ctx, bsig, dimension, degree, time_aug, lead_lag, planar, method,
                scalar_term, n_jobs):
        ctx.args = (dimension, degree)
        ctx.kwargs = {"time_aug": time_aug, "lead_lag": lead_lag, "planar": planar,
                      "method": method, "scalar_term": scalar_term, "n_jobs": n_jobs}
        ctx.save_for_backward(bsig)
        return sksig.branched_sig_to_log_sig(bsig.detach(), *ctx.args, **ctx.kwargs)

    @staticmethod
    def backward(ctx, grad_out):
        (bsig,) = ctx.saved_tensors
        grad = sksig.branched_sig_to_log_sig_backprop(
            bsig.detach(), grad_out.contiguous(), *ctx.args, **ctx.kwargs
        )
        return (grad,) + (None,) * 8


def branched_sig_to_log_sig(bsig, dimension, degree, *, time_aug=False, lead_lag=False,
                            planar=False, method=None, scalar_term=None, n_jobs=1):
    """Differentiable :func:`sksig.branched_sig_to_log_sig` for torch tensors.

    Same arguments and result; ``backward`` calls
    :func:`sksig.branched_sig_to_log_sig_backprop`.

    Parameters
    ----------
    bsig : torch.Tensor of shape (..., n) or (..., n + 1)
        Branched signatures (a leading scalar entry is ignored); gradients flow back
        to them.
    dimension, degree : int
        As in :func:`sksig.branched_sig_to_log_sig`.
    time_aug, lead_lag, planar, method, n_jobs : optional
        As in :func:`sksig.branched_sig_to_log_sig`.

    Returns
    -------
    torch.Tensor
        The branched log-signatures, attached to the autograd graph.

    Raises
    ------
    TypeError, ValueError
        As :func:`sksig.branched_sig_to_log_sig`; also ``TypeError`` if ``bsig`` is
        not a tensor.

    Examples
    --------
    >>> import torch, sksig.torch
    >>> bsig = torch.tensor([1.0, 0.5, 0.5], dtype=torch.float64, requires_grad=True)
    >>> sksig.torch.branched_sig_to_log_sig(bsig, 1, 2, planar=True).sum().backward()
    """
    if not isinstance(bsig, torch.Tensor):
        raise TypeError(f"bsig must be a torch.Tensor, got {type(bsig).__name__}")
    return _BranchedSigToLogSig.apply(bsig, dimension, degree, time_aug, lead_lag,
                                      planar, method, scalar_term, n_jobs)
