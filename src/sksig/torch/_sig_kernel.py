"""torch autograd wrappers for the signature kernels.

``sksig.torch.sig_kernel(x, y, 2)`` returns a tensor whose ``backward`` runs
:func:`sksig.sig_kernel_backprop` (the exact adjoint of the discrete scheme), and
likewise for :func:`sig_kernel_gram`. Ragged lists are not supported here (pass
tensors).
"""

import sksig
from sksig.torch._function import paired, wrapper_doc

__all__ = ["sig_kernel", "sig_kernel_gram"]


def _extra(basepoint, normalize):
    """basepoint and normalize, passed on only when set (the CUDA functions take
    neither)."""
    extra = {}
    if basepoint is not None:
        extra["basepoint"] = basepoint
    if normalize is not False:
        extra["normalize"] = normalize
    return extra


@wrapper_doc("sig_kernel")
def sig_kernel(path1, path2, dyadic_order, *, static_kernel=None, time_aug=False,
               lead_lag=False, end_time=1.0, basepoint=None, normalize=False, n_jobs=1,
               return_grid=False):
    """:func:`sksig.sig_kernel` for tensors, differentiable with respect to both paths.

    Parameters and returns are those of :func:`sksig.sig_kernel` (tensors only);
    ``basepoint`` and ``normalize`` are differentiated too (a basepoint gets no
    gradient: it is not an input).

    Parameters
    ----------
    path1, path2 : torch.Tensor of shape (..., length, dim)
        Paired paths with the same batch shape; gradients flow back to both.
    dyadic_order : int or pair of ints
        As in :func:`sksig.sig_kernel`.
    static_kernel, time_aug, lead_lag, end_time, basepoint : optional
        As in :func:`sksig.sig_kernel`.
    normalize, n_jobs, return_grid : optional
        As in :func:`sksig.sig_kernel`.

    Returns
    -------
    torch.Tensor of shape (...) or (..., M1 + 1, M2 + 1)
        The kernels (or grids), attached to the autograd graph.

    {raises}

    Examples
    --------
    >>> import torch, sksig.torch
    >>> x = torch.tensor([[0.0], [1.0]], dtype=torch.float64, requires_grad=True)
    >>> y = torch.tensor([[0.0], [2.0]], dtype=torch.float64)
    >>> sksig.torch.sig_kernel(x, y, 0).backward()
    >>> [round(v, 12) for v in x.grad.ravel().tolist()]
    [-4.0, 4.0]
    """
    options = dict(static_kernel=static_kernel, time_aug=time_aug, lead_lag=lead_lag,
                   end_time=end_time, n_jobs=n_jobs, return_grid=return_grid,
                   **_extra(basepoint, normalize))
    return paired(sksig.sig_kernel, sksig.sig_kernel_backprop, dyadic_order, options,
                  path1=path1, path2=path2)


@wrapper_doc("sig_kernel_gram")
def sig_kernel_gram(path1, path2, dyadic_order, *, static_kernel=None, time_aug=False,
                    lead_lag=False, end_time=1.0, basepoint=None, normalize=False,
                    n_jobs=1, max_batch=-1, return_grid=False):
    """:func:`sksig.sig_kernel_gram` for tensors, differentiable in both paths.

    When the same tensor is passed twice, autograd adds the two slot-wise gradients,
    giving the total derivative.

    Parameters
    ----------
    path1, path2 : torch.Tensor of shape (..., length, dim)
        The two batches; gradients flow back to both.
    dyadic_order : int or pair of ints
        As in :func:`sksig.sig_kernel`.
    static_kernel, time_aug, lead_lag, end_time, basepoint, normalize, n_jobs : optional
        As in :func:`sksig.sig_kernel_gram`.
    max_batch, return_grid : optional
        As in :func:`sksig.sig_kernel_gram`.

    Returns
    -------
    torch.Tensor of shape (b1..., b2...) or (b1..., b2..., M1 + 1, M2 + 1)
        The Gram matrix (or grids), attached to the autograd graph.

    {raises}

    Examples
    --------
    >>> import torch, sksig.torch
    >>> X = torch.tensor([[[0.0], [1.0]]], dtype=torch.float64, requires_grad=True)
    >>> sksig.torch.sig_kernel_gram(X, X, 0).sum().backward()
    >>> X.grad.ravel()
    tensor([-3.,  3.], dtype=torch.float64)
    """
    options = dict(static_kernel=static_kernel, time_aug=time_aug, lead_lag=lead_lag,
                   end_time=end_time, n_jobs=n_jobs, max_batch=max_batch,
                   return_grid=return_grid, **_extra(basepoint, normalize))
    return paired(sksig.sig_kernel_gram, sksig.sig_kernel_gram_backprop, dyadic_order,
                  options, path1=path1, path2=path2)
