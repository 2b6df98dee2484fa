"""Routing of calls on GPU arrays to the CUDA twins of the public functions.

A public function decorated with :func:`cuda_dispatch` runs its twin of the same name
in a module of :mod:`sksig.cuda` when one of its array arguments lives on a CUDA
device and the CUDA cores are usable. Otherwise it runs as written (CUDA tensors are
then copied to the host and results copied back). CPU inputs never import or touch
CUDA.
"""

import functools
import importlib
import inspect

from sksig._array import _is_torch

__all__ = ["cuda_dispatch", "on_cuda_device"]


def on_cuda_device(*values):
    """True when a value (or the first item of a list) is a torch CUDA tensor and
    the CUDA cores are available."""
    for v in values:
        first = v[0] if isinstance(v, (list, tuple)) and v else v
        if _is_torch(first) and first.device.type == "cuda":
            from sksig import cuda

            return cuda.is_available()
    return False


def cuda_dispatch(twin_module, *array_args):
    """Decorator: send calls whose ``array_args`` include a CUDA array to the function
    of the same name in ``twin_module`` (imported on first use)."""

    def decorate(fn):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                bound = signature.bind(*args, **kwargs).arguments
            except TypeError:
                return fn(*args, **kwargs)  # let fn report the bad call
            if on_cuda_device(*(bound.get(name) for name in array_args)):
                twin = importlib.import_module(twin_module)
                return getattr(twin, fn.__name__)(*args, **kwargs)
            return fn(*args, **kwargs)

        wrapper.cuda_twin = twin_module  # where the tests find the twin
        return wrapper

    return decorate
