"""Autograd wrappers for log_sig and log_sig_join."""

from sksig._log_sig import log_sig as _log_sig
from sksig._log_sig import log_sig_backprop as _log_sig_backprop
from sksig._log_sig import log_sig_join as _log_sig_join
from sksig._log_sig import log_sig_join_backprop as _log_sig_join_backprop
from sksig.torch._function import (
    check_tensors,
    differentiable,
    path_features,
    wrapper_doc,
)

__all__ = ["log_sig", "log_sig_join"]


@wrapper_doc("log_sig")
def log_sig(path, degree, *, time_aug=False, lead_lag=False, end_time=1.0, method=1,
            scalar_term=False, basepoint=None, n_jobs=1):
    """Differentiable :func:`sksig.log_sig` for a torch tensor of paths.

    Parameters
    ----------
    {path}
    degree : int
        Truncation degree, as in :func:`sksig.log_sig`.
    time_aug, lead_lag, end_time : optional
        As in :func:`sksig.log_sig`.
    method : {0, 1, 2, 3}, default=1
        Output coordinates, as in :func:`sksig.log_sig`.
    scalar_term, basepoint, n_jobs : optional
        As in :func:`sksig.log_sig` (a basepoint gets no gradient).

    Returns
    -------
    torch.Tensor of shape (..., n)
        The log-signatures, attached to the autograd graph.

    {raises}

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
    return path_features(_log_sig, _log_sig_backprop, locals())


@wrapper_doc("log_sig_join")
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

    {raises}

    Examples
    --------
    >>> import torch, sksig.torch
    >>> c = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    >>> v = torch.tensor([0.5, 2.0], dtype=torch.float64, requires_grad=True)
    >>> sksig.torch.log_sig_join(c, v, 2, 3).sum().backward()
    >>> torch.allclose(v.grad, torch.ones(2, dtype=torch.float64))
    True
    """
    check_tensors(log_sig=log_sig, displacement=displacement)
    return differentiable(
        lambda ls, d: _log_sig_join(ls, d, dimension, degree, n_jobs=n_jobs),
        lambda grad, out, needs, ls, d: _log_sig_join_backprop(
            grad, ls, d, dimension, degree, n_jobs=n_jobs),
        log_sig, displacement)
