"""Autograd wrappers for branched signatures and log-signatures."""

import sksig
from sksig.torch._function import (
    check_tensors,
    differentiable,
    path_features,
    wrapper_doc,
)

__all__ = ["branched_log_sig", "branched_sig", "branched_sig_to_log_sig"]


@wrapper_doc("branched_sig_to_log_sig")
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
    time_aug, lead_lag, planar, method, scalar_term, n_jobs : optional
        As in :func:`sksig.branched_sig_to_log_sig`.

    Returns
    -------
    torch.Tensor
        The branched log-signatures, attached to the autograd graph.

    {raises}

    Examples
    --------
    >>> import torch, sksig.torch
    >>> bsig = torch.tensor([1.0, 0.5, 0.5], dtype=torch.float64, requires_grad=True)
    >>> sksig.torch.branched_sig_to_log_sig(bsig, 1, 2, planar=True).sum().backward()
    """
    check_tensors(bsig=bsig)
    options = dict(time_aug=time_aug, lead_lag=lead_lag, planar=planar, method=method,
                   scalar_term=scalar_term, n_jobs=n_jobs)
    return differentiable(
        lambda b: sksig.branched_sig_to_log_sig(b, dimension, degree, **options),
        lambda grad, out, needs, b: (sksig.branched_sig_to_log_sig_backprop(
            b, grad, dimension, degree, **options),),
        bsig)


@wrapper_doc("branched_sig")
def branched_sig(path, degree, *, time_aug=False, lead_lag=False, end_time=1.0,
                 planar=False, scalar_term=False, correction=None, basepoint=None,
                 n_jobs=1):
    """Differentiable :func:`sksig.branched_sig` for a torch tensor of paths.

    Same arguments and result; ``backward`` calls :func:`sksig.branched_sig_backprop`
    from the saved branched signatures.

    Parameters
    ----------
    {path}
    degree : int
        Truncation order of the trees, as in :func:`sksig.branched_sig`.
    time_aug, lead_lag, end_time, planar, scalar_term, correction : optional
        As in :func:`sksig.branched_sig`.
    basepoint, n_jobs : optional
        As in :func:`sksig.branched_sig` (a basepoint gets no gradient).

    Returns
    -------
    torch.Tensor of shape (..., n) or (..., n + 1)
        The branched signatures (with the scalar term if asked), attached to the
        autograd graph.

    {raises}

    Examples
    --------
    >>> import torch, sksig.torch
    >>> x = torch.tensor([[0.0], [1.0], [3.0]], dtype=torch.float64, requires_grad=True)
    >>> bsig = sksig.torch.branched_sig(x, 2)
    >>> bsig.sum().backward()
    >>> x.grad.ravel()
    tensor([-4.,  0.,  4.], dtype=torch.float64)
    """
    return path_features(sksig.branched_sig, sksig.branched_sig_backprop, locals(),
                         backprop_drops=("scalar_term",))


@wrapper_doc("branched_log_sig")
def branched_log_sig(path, degree, *, time_aug=False, lead_lag=False, end_time=1.0,
                     planar=False, scalar_term=False, method=None, correction=None,
                     basepoint=None, n_jobs=1):
    """Differentiable :func:`sksig.branched_log_sig` for a torch tensor of paths.

    Computed as :func:`branched_sig_to_log_sig` of :func:`branched_sig` (both exact
    autograd functions), which is how :func:`sksig.branched_log_sig` is defined.

    Parameters
    ----------
    {path}
    degree : int
        Truncation order of the trees, as in :func:`sksig.branched_log_sig`.
    time_aug, lead_lag, end_time, planar, scalar_term : optional
        As in :func:`sksig.branched_log_sig`.
    method : {0, 1, 2} or None, default=None
        Output coordinates, as in :func:`sksig.branched_log_sig`.
    correction, basepoint, n_jobs : optional
        As in :func:`sksig.branched_log_sig` (a basepoint gets no gradient).

    Returns
    -------
    torch.Tensor of shape (..., n) or (..., n + 1)
        The branched log-signatures, attached to the autograd graph.

    {raises}

    Examples
    --------
    >>> import torch, sksig.torch
    >>> x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64,
    ...                  requires_grad=True)
    >>> sksig.torch.branched_log_sig(x, 2, planar=True).sum().backward()
    >>> x.grad.shape
    torch.Size([3, 2])
    """
    bsig = branched_sig(path, degree, time_aug=time_aug, lead_lag=lead_lag,
                        end_time=end_time, planar=planar, scalar_term=scalar_term,
                        correction=correction, basepoint=basepoint, n_jobs=n_jobs)
    return branched_sig_to_log_sig(bsig, path.shape[-1], degree, time_aug=time_aug,
                                   lead_lag=lead_lag, planar=planar, method=method,
                                   scalar_term=scalar_term, n_jobs=n_jobs)
