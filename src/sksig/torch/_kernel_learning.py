"""A torch module for learning signature kernels: the Gram matrix with the static
kernel's parameters (and a path scale) as log-parametrised ``torch.nn.Parameter``s."""

import math

import torch
from sklearn.base import clone

import sksig
from sksig._kernel_learning import default_static_kernel, static_kernel_parameters
from sksig.torch._function import check_tensors, differentiable

__all__ = ["SigKernelGram"]


def _static(template, names, logs):
    """A new static kernel: ``template`` with the parameters ``names`` set to
    ``exp(logs)``."""
    values = {n: float(torch.exp(p.detach())) for n, p in zip(names, logs, strict=True)}
    return clone(template).set_params(**values)


def _kernel(path1, path2, template, names, options, gram, log_params):
    """Signature kernels (paired or Gram) differentiable in the paths and in the log
    parameters ``log_params`` of the static kernel (named ``names``)."""
    if not gram:
        options = {k: v for k, v in options.items() if k != "max_batch"}

    def forward(a, b, *logs):
        fn = sksig.sig_kernel_gram if gram else sksig.sig_kernel
        return fn(a, b, static_kernel=_static(template, names, logs), **options)

    def backward(grad, out, needs, a, b, *logs):
        static = _static(template, names, logs)
        left, right = needs[0], needs[1]
        g1 = g2 = None
        if left or right:
            fn = sksig.sig_kernel_gram_backprop if gram else sksig.sig_kernel_backprop
            g1, g2 = fn(grad, a, b, left_deriv=left, right_deriv=right,
                        static_kernel=static, **options)
        grads = [None] * len(logs)
        if any(needs[2:]):
            fn = (sksig.sig_kernel_gram_param_backprop if gram
                  else sksig.sig_kernel_param_backprop)
            raw = fn(grad, a, b, static_kernel=static, **options)
            # d/dlog(theta) = theta d/dtheta
            grads = [(raw[n] * getattr(static, n)).to(p.dtype).reshape(p.shape)
                     for n, p in zip(names, logs, strict=True)]
        return (g1, g2, *grads)

    return differentiable(forward, backward, path1, path2, *log_params)


class SigKernelGram(torch.nn.Module):
    """Signature-kernel Gram matrix with learnable static-kernel parameters.

    ``module(X, Y)`` returns ``K[i, j] = k(scale * X[i], scale * Y[j])`` as
    :func:`sksig.sig_kernel_gram` computes it, differentiable with respect to the paths,
    to every positive parameter of the static kernel (see
    :func:`sksig.static_kernel_parameters`) and to ``scale``. The parameters are held
    in log space (``log_params[name]``, ``log_scale``), so any torch optimiser keeps
    them positive. Gradients come from the adjoint of the PDE scheme
    (:func:`sksig.sig_kernel_gram_backprop` and
    :func:`sksig.sig_kernel_gram_param_backprop`).

    Parameters
    ----------
    static_kernel : StaticKernel or None, default=None
        Kernel on points giving the initial parameter values; None means
        ``RBFKernel(sigma=1.0)``. Its positive parameters become learnable (the
        polynomial degree stays fixed).
    dyadic_order : int or pair of ints, default=1
        As in :func:`sksig.sig_kernel_gram`.
    time_aug, lead_lag : bool, default=False
        Path transforms, applied after the scale (the time channel is not scaled).
    end_time : float, default=1.0
        Last value of the time channel.
    scale : float, default=1.0
        Initial positive factor applied to the paths.
    learn_scale : bool, default=True
        Whether ``log_scale`` is a trainable parameter.
    normalize : bool, default=False
        Return ``k(x, y) / sqrt(k(x, x) k(y, y))``.
    n_jobs : int, default=1
        CPU threads.
    max_batch : int, default=-1
        As in :func:`sksig.sig_kernel_gram`.

    Attributes
    ----------
    log_params : torch.nn.ParameterDict
        Logarithms of the static kernel's positive parameters (float64).
    log_scale : torch.nn.Parameter or torch.Tensor
        Logarithm of ``scale`` (a buffer when ``learn_scale`` is False).

    Raises
    ------
    ValueError
        If a learnable parameter is not positive, or ``scale`` is not positive.

    Examples
    --------
    >>> import torch, sksig, sksig.torch
    >>> module = sksig.torch.SigKernelGram(sksig.RBFKernel(sigma=2.0), dyadic_order=0)
    >>> X = torch.rand(4, 5, 2, dtype=torch.float64)
    >>> loss = module(X).sum()
    >>> loss.backward()
    >>> sorted(name for name, _ in module.named_parameters())
    ['log_params.sigma', 'log_scale']
    """

    def __init__(self, static_kernel=None, dyadic_order=1, *, time_aug=False,
                 lead_lag=False, end_time=1.0, scale=1.0, learn_scale=True,
                 normalize=False, n_jobs=1, max_batch=-1):
        super().__init__()
        template = default_static_kernel() if static_kernel is None else static_kernel
        self._names = static_kernel_parameters(template)
        self._template = clone(template)
        params = {}
        for name in self._names:
            value = getattr(template, name)
            if not value > 0:
                raise ValueError(
                    f"{type(template).__name__}.{name} must be > 0 to be learned in "
                    f"log space, got {value!r}"
                )
            params[name] = torch.nn.Parameter(
                torch.tensor(math.log(value), dtype=torch.float64))
        self.log_params = torch.nn.ParameterDict(params)
        if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a positive finite number, got {scale!r}")
        log_scale = torch.tensor(math.log(scale), dtype=torch.float64)
        if learn_scale:
            self.log_scale = torch.nn.Parameter(log_scale)
        else:
            self.register_buffer("log_scale", log_scale)
        self.dyadic_order = dyadic_order
        self.normalize = normalize
        self._options = dict(dyadic_order=dyadic_order, time_aug=time_aug,
                             lead_lag=lead_lag, end_time=end_time, n_jobs=n_jobs,
                             max_batch=max_batch)

    def static_kernel(self):
        """The static kernel with the current parameter values (a new object).

        Returns
        -------
        StaticKernel
            A new static kernel holding the learned parameter values.
        """
        return _static(self._template, self._names,
                       [self.log_params[n] for n in self._names])

    def _kernel(self, X, Y, gram):
        logs = [self.log_params[n] for n in self._names]
        return _kernel(X, Y, self._template, self._names, self._options, gram, logs)

    def forward(self, X, Y=None):
        """Gram matrix of ``X`` against ``Y`` (``X`` itself when None).

        Parameters
        ----------
        X : torch.Tensor of shape (n_x, length, dim)
            Paths.
        Y : torch.Tensor of shape (n_y, length_y, dim), optional
            Paths; None means ``X``.

        Returns
        -------
        torch.Tensor of shape (n_x, n_y)
            The Gram matrix, attached to the autograd graph.
        """
        check_tensors(X=X, **({} if Y is None else {"Y": Y}))
        scale = torch.exp(self.log_scale).to(X.dtype)
        Xs = X * scale
        Ys = Xs if Y is None else Y * scale
        gram = self._kernel(Xs, Ys, True)
        if not self.normalize:
            return gram
        diag_x = self._kernel(Xs, Xs, False)
        diag_y = diag_x if Y is None else self._kernel(Ys, Ys, False)
        return gram / torch.sqrt(diag_x[:, None] * diag_y[None, :])
