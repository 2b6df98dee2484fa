"""The one autograd Function behind the wrappers: a sksig function forward, its
``*_backprop`` backward."""

import torch

from sksig._docs import fill_doc

__all__ = ["check_tensors", "differentiable", "path_features", "paired", "wrapper_doc"]


def wrapper_doc(name, errors="TypeError, ValueError", **fragments):
    """:func:`sksig._docs.fill_doc` for the wrapper of ``sksig.<name>``: its
    ``{path}`` argument, its ``{raises}`` section and a module's ``fragments``."""
    return fill_doc(**fragments, path="""
        path : torch.Tensor of shape (..., length, dim)
            Paths (float32 or float64); gradients flow back to them.""", raises=f"""
        Raises
        ------
        {errors}
            As :func:`sksig.{name}`; also ``TypeError`` if an input is not a
            tensor.""")


def check_tensors(**values):
    """``TypeError`` naming the first argument that is not a torch tensor."""
    for name, value in values.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f"{name} must be a torch.Tensor, got {type(value).__name__}")


class _Native(torch.autograd.Function):
    """``apply(forward, backward, keep_output, *inputs)`` returns
    ``forward(*inputs)`` computed on the detached tensors; its backward returns
    ``backward(grad, output, needs, *inputs)``, one gradient (or None) per input,
    where ``needs`` tells which inputs want one and ``output`` is the saved output
    (None unless ``keep_output``: saving it would forbid changing it in place)."""

    @staticmethod
    def forward(ctx, forward, backward, keep_output, *inputs):
        output = forward(*(x.detach() for x in inputs))
        ctx.save_for_backward(*inputs, *((output,) if keep_output else ()))
        ctx.backward_fn, ctx.n_inputs = backward, len(inputs)
        return output

    @staticmethod
    def backward(ctx, grad):
        saved = [x.detach() for x in ctx.saved_tensors]
        inputs, output = saved[:ctx.n_inputs], (saved[ctx.n_inputs:] or [None])[0]
        grads = ctx.backward_fn(grad.detach().contiguous(), output,
                                ctx.needs_input_grad[3:], *inputs)
        return (None, None, None, *grads)


def differentiable(forward, backward, *inputs, keep_output=False):
    """``forward(*inputs)`` attached to the autograd graph (see :class:`_Native`)."""
    return _Native.apply(forward, backward, keep_output, *inputs)


def path_features(forward, backprop, arguments, *, backprop_drops=()):
    """A feature map of paths (``sig``, ``log_sig``, ``branched_sig``) called with the
    wrapper's ``arguments`` (its ``locals()``: ``path``, ``degree`` and options by
    name): ``forward(path, degree, **options)``, differentiated by the matching
    native ``backprop(path, out, grad, degree, **options)`` from the saved output,
    without the options named in ``backprop_drops``."""
    options = dict(arguments)
    path, degree = options.pop("path"), options.pop("degree")
    check_tensors(path=path)
    backprop_options = {k: v for k, v in options.items() if k not in backprop_drops}
    return differentiable(
        lambda x: forward(x, degree, **options),
        lambda grad, out, needs, x: (backprop(x, out, grad, degree,
                                              **backprop_options),),
        path, keep_output=True)


def paired(forward, backprop, dyadic_order, options, **paths):
    """A function of two batches of paths (kernels and scores), passed by name
    (for the type check): ``forward(path1, path2, dyadic_order, **options)``,
    differentiated by ``backprop(grad, path1, path2, dyadic_order, left_deriv=...,
    right_deriv=..., **options)`` for the batches that need it."""
    check_tensors(**paths)
    return differentiable(
        lambda a, b: forward(a, b, dyadic_order, **options),
        lambda grad, out, needs, a, b: backprop(
            grad, a, b, dyadic_order, left_deriv=needs[0], right_deriv=needs[1],
            **options),
        *paths.values())
