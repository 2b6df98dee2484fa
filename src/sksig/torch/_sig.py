"""Autograd wrapper for sig."""

from sksig._log_sig import sig as _sig
from sksig._log_sig import sig_backprop as _sig_backprop
from sksig.torch._function import path_features, wrapper_doc

__all__ = ["sig"]


@wrapper_doc("sig")
def sig(path, degree, *, time_aug=False, lead_lag=False, end_time=1.0, horner=True,
        scalar_term=False, basepoint=None, n_jobs=1):
    """Differentiable :func:`sksig.sig` for a torch tensor of paths.

    ``backward`` runs :func:`sksig.sig_backprop` from the saved signatures.

    Parameters
    ----------
    {path}
    degree : int
        Truncation degree, as in :func:`sksig.sig`.
    time_aug, lead_lag, end_time, horner, scalar_term, basepoint, n_jobs : optional
        As in :func:`sksig.sig` (a basepoint gets no gradient).

    Returns
    -------
    torch.Tensor of shape (..., sig_length)
        The signatures, attached to the autograd graph.

    {raises}

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
    return path_features(_sig, _sig_backprop, locals(), backprop_drops=("scalar_term",))
