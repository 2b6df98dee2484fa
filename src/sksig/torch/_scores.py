"""Autograd wrappers for transform_path and the kernel scores."""

import torch

import sksig

__all__ = ["expected_sig_score", "sig_mmd", "sig_score", "transform_path"]


def _check_tensors(**values):
    for name, value in values.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f"{name} must be a torch.Tensor, got {type(value).__name__}")


class _TransformPath(torch.autograd.Function):
    @staticmethod
    def forward(ctx, path, options):
        ctx.options = options
        return sksig.transform_path(path.detach(), **options)

    @staticmethod
    def backward(ctx, grad):
        return sksig.transform_path_backprop(grad.contiguous(), **ctx.options), None


def transform_path(path, *, time_aug=False, lead_lag=False, end_time=1.0, n_jobs=1):
    """Differentiable :func:`sksig.transform_path` for a torch tensor of paths.

    Same arguments and result; ``backward`` calls
    :func:`sksig.transform_path_backprop`.

    Parameters
    ----------
    path : torch.Tensor of shape (..., length, dim)
        Paths (float32 or float64); gradients flow back to them.
    time_aug, lead_lag, end_time, n_jobs : optional
        As in :func:`sksig.transform_path`.

    Returns
    -------
    torch.Tensor of shape (..., new_length, new_dim)
        The transformed paths, attached to the autograd graph.

    Raises
    ------
    TypeError, ValueError
        As :func:`sksig.transform_path`; also ``TypeError`` if ``path`` is not a
        tensor.

    Examples
    --------
    >>> import torch, sksig.torch
    >>> x = torch.tensor([[0.0], [1.0]], dtype=torch.float64, requires_grad=True)
    >>> sksig.torch.transform_path(x, lead_lag=True).sum().backward()
    >>> x.grad.ravel()
    tensor([3., 3.], dtype=torch.float64)
    """
    _check_tensors(path=path)
    options = dict(time_aug=time_aug, lead_lag=lead_lag, end_time=end_time,
                   n_jobs=n_jobs)
    return _TransformPath.apply(path, options)


_SCORES = {
    "mmd": (sksig.sig_mmd, sksig.sig_mmd_backprop),
    "score": (sksig.sig_score, sksig.sig_score_backprop),
    "expected": (sksig.expected_sig_score, sksig.expected_sig_score_backprop),
}


class _Score(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b, which, dyadic_order, options):
        ctx.save_for_backward(a, b)
        ctx.which, ctx.dyadic_order, ctx.options = which, dyadic_order, options
        return _SCORES[which][0](a.detach(), b.detach(), dyadic_order, **options)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        left, right = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if not (left or right):
            return None, None, None, None, None
        g1, g2 = _SCORES[ctx.which][1](
            grad.detach().contiguous(), a.detach(), b.detach(), ctx.dyadic_order,
            left_deriv=left, right_deriv=right, **ctx.options)
        return g1, g2, None, None, None


def _options(static_kernel, time_aug, lead_lag, end_time, n_jobs, max_batch, **extra):
    return dict(static_kernel=static_kernel, time_aug=time_aug, lead_lag=lead_lag,
                end_time=end_time, n_jobs=n_jobs, max_batch=max_batch, **extra)


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

    Raises
    ------
    TypeError, ValueError, FloatingPointError
        As :func:`sksig.sig_mmd`; also ``TypeError`` if a sample is not a tensor.

    Examples
    --------
    >>> import torch, sksig.torch
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(4, 5, 2, generator=g, dtype=torch.float64, requires_grad=True)
    >>> y = torch.randn(3, 5, 2, generator=g, dtype=torch.float64)
    >>> sksig.torch.sig_mmd(x, y, 1).backward()
    >>> x.grad.shape
    torch.Size([4, 5, 2])
    """
    _check_tensors(sample1=sample1, sample2=sample2)
    return _Score.apply(sample1, sample2, "mmd", dyadic_order,
                        _options(static_kernel, time_aug, lead_lag, end_time, n_jobs,
                                 max_batch))


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

    Raises
    ------
    TypeError, ValueError, FloatingPointError
        As :func:`sksig.sig_score`; also ``TypeError`` if ``sample`` or ``y`` is not
        a tensor.

    Examples
    --------
    >>> import torch, sksig.torch
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(4, 5, 2, generator=g, dtype=torch.float64, requires_grad=True)
    >>> y = torch.randn(5, 2, generator=g, dtype=torch.float64)
    >>> sksig.torch.sig_score(x, y, 1).sum().backward()
    >>> x.grad.shape
    torch.Size([4, 5, 2])
    """
    _check_tensors(sample=sample, y=y)
    return _Score.apply(sample, y, "score", dyadic_order,
                        _options(static_kernel, time_aug, lead_lag, end_time, n_jobs,
                                 max_batch, lam=lam))


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

    Raises
    ------
    TypeError, ValueError, FloatingPointError
        As :func:`sksig.expected_sig_score`; also ``TypeError`` if a sample is not a
        tensor.

    Examples
    --------
    >>> import torch, sksig.torch
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(4, 5, 2, generator=g, dtype=torch.float64, requires_grad=True)
    >>> y = torch.randn(3, 5, 2, generator=g, dtype=torch.float64)
    >>> sksig.torch.expected_sig_score(x, y, 1).sum().backward()
    >>> x.grad.shape
    torch.Size([4, 5, 2])
    """
    _check_tensors(sample1=sample1, sample2=sample2)
    return _Score.apply(sample1, sample2, "expected", dyadic_order,
                        _options(static_kernel, time_aug, lead_lag, end_time, n_jobs,
                                 max_batch, lam=lam))
