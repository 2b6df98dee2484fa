"""Autograd wrappers for transform_path and the kernel scores."""

import sksig
from sksig.torch._function import check_tensors, differentiable, paired, wrapper_doc

__all__ = ["expected_sig_score", "sig_mmd", "sig_score", "transform_path"]


@wrapper_doc("transform_path")
def transform_path(path, *, time_aug=False, lead_lag=False, end_time=1.0, n_jobs=1):
    """Differentiable :func:`sksig.transform_path` for a torch tensor of paths.

    Same arguments and result; ``backward`` calls
    :func:`sksig.transform_path_backprop`.

    Parameters
    ----------
    {path}
    time_aug, lead_lag, end_time, n_jobs : optional
        As in :func:`sksig.transform_path`.

    Returns
    -------
    torch.Tensor of shape (..., new_length, new_dim)
        The transformed paths, attached to the autograd graph.

    {raises}

    Examples
    --------
    >>> import torch, sksig.torch
    >>> x = torch.tensor([[0.0], [1.0]], dtype=torch.float64, requires_grad=True)
    >>> sksig.torch.transform_path(x, lead_lag=True).sum().backward()
    >>> x.grad.ravel()
    tensor([3., 3.], dtype=torch.float64)
    """
    check_tensors(path=path)
    options = dict(time_aug=time_aug, lead_lag=lead_lag, end_time=end_time,
                   n_jobs=n_jobs)
    return differentiable(
        lambda x: sksig.transform_path(x, **options),
        lambda grad, out, needs, x: (sksig.transform_path_backprop(grad, **options),),
        path)


def _score_doc(name):
    """The docstring fragments of the score wrappers."""
    return wrapper_doc(name, "TypeError, ValueError, FloatingPointError", samples="""
    >>> import torch, sksig.torch
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(4, 5, 2, generator=g, dtype=torch.float64, requires_grad=True)
    """)


def _options(static_kernel, time_aug, lead_lag, end_time, n_jobs, max_batch, **extra):
    return dict(static_kernel=static_kernel, time_aug=time_aug, lead_lag=lead_lag,
                end_time=end_time, n_jobs=n_jobs, max_batch=max_batch, **extra)


@_score_doc("sig_mmd")
def sig_mmd(sample1, sample2, dyadic_order, *, static_kernel=None, time_aug=False,
            lead_lag=False, end_time=1.0, n_jobs=1, max_batch=-1):
    """Differentiable :func:`sksig.sig_mmd` for torch tensors (both samples).

    Same arguments and result; ``backward`` calls :func:`sksig.sig_mmd_backprop`
    for the samples that require gradients.

    Parameters
    ----------
    sample1 : torch.Tensor of shape (..., length_1, dim)
        First sample of paths, at least 2.
    sample2 : torch.Tensor of shape (..., length_2, dim)
        Second sample of paths, at least 2.
    dyadic_order : int or pair of ints
        PDE refinement, as in :func:`sksig.sig_mmd`.
    static_kernel, time_aug, lead_lag, end_time, n_jobs, max_batch : optional
        As in :func:`sksig.sig_mmd`.

    Returns
    -------
    torch.Tensor of shape ()
        The MMD estimate, attached to the autograd graph.

    {raises}

    Examples
    --------
    {samples}
    >>> y = torch.randn(3, 5, 2, generator=g, dtype=torch.float64)
    >>> sksig.torch.sig_mmd(x, y, 1).backward()
    >>> x.grad.shape
    torch.Size([4, 5, 2])
    """
    options = _options(static_kernel, time_aug, lead_lag, end_time, n_jobs, max_batch)
    return paired(sksig.sig_mmd, sksig.sig_mmd_backprop, dyadic_order, options,
                  sample1=sample1, sample2=sample2)


@_score_doc("sig_score")
def sig_score(sample, y, dyadic_order, *, lam=1.0, static_kernel=None, time_aug=False,
              lead_lag=False, end_time=1.0, n_jobs=1, max_batch=-1):
    """Differentiable :func:`sksig.sig_score` for torch tensors (sample and y).

    Same arguments and result; ``backward`` calls :func:`sksig.sig_score_backprop`.

    Parameters
    ----------
    sample : torch.Tensor of shape (..., length_1, dim)
        Paths of the forecast distribution, at least 2.
    y : torch.Tensor of shape (..., length_2, dim)
        The observed path(s); each gets its own score.
    dyadic_order : int or pair of ints
        PDE refinement, as in :func:`sksig.sig_score`.
    lam : float, default=1.0
        Weight of the sample's self-similarity term.
    static_kernel, time_aug, lead_lag, end_time, n_jobs, max_batch : optional
        As in :func:`sksig.sig_score`.

    Returns
    -------
    torch.Tensor of shape y's batch shape, or (1,) for one 2-D path ``y``
        The scores, attached to the autograd graph.

    {raises}

    Examples
    --------
    {samples}
    >>> y = torch.randn(5, 2, generator=g, dtype=torch.float64)
    >>> sksig.torch.sig_score(x, y, 1).sum().backward()
    >>> x.grad.shape
    torch.Size([4, 5, 2])
    """
    options = _options(static_kernel, time_aug, lead_lag, end_time, n_jobs, max_batch,
                       lam=lam)
    return paired(sksig.sig_score, sksig.sig_score_backprop, dyadic_order, options,
                  sample=sample, y=y)


@_score_doc("expected_sig_score")
def expected_sig_score(sample1, sample2, dyadic_order, *, lam=1.0, static_kernel=None,
                       time_aug=False, lead_lag=False, end_time=1.0, n_jobs=1,
                       max_batch=-1):
    """Differentiable :func:`sksig.expected_sig_score` for torch tensors.

    Same arguments and result; ``backward`` calls
    :func:`sksig.expected_sig_score_backprop`.

    Parameters
    ----------
    sample1 : torch.Tensor of shape (..., length_1, dim)
        Paths of the forecast distribution, at least 2.
    sample2 : torch.Tensor of shape (..., length_2, dim)
        The observed paths.
    dyadic_order : int or pair of ints
        PDE refinement, as in :func:`sksig.expected_sig_score`.
    lam : float, default=1.0
        Weight of the self-similarity term.
    static_kernel, time_aug, lead_lag, end_time, n_jobs, max_batch : optional
        As in :func:`sksig.expected_sig_score`.

    Returns
    -------
    torch.Tensor of shape (1,)
        The score, attached to the autograd graph.

    {raises}

    Examples
    --------
    {samples}
    >>> y = torch.randn(3, 5, 2, generator=g, dtype=torch.float64)
    >>> score = sksig.torch.expected_sig_score(x, y, 1)
    >>> score.sum().backward()
    >>> x.grad.shape
    torch.Size([4, 5, 2])
    """
    options = _options(static_kernel, time_aug, lead_lag, end_time, n_jobs, max_batch,
                       lam=lam)
    return paired(sksig.expected_sig_score, sksig.expected_sig_score_backprop,
                  dyadic_order, options, sample1=sample1, sample2=sample2)
