"""The choice of backend, at the bottom of every public function with a CUDA kernel.

A public function validates its inputs once through :mod:`sksig._array` with
``device=True``; the caller it gets back says where the arrays are, and
:func:`backend` gives the module that computes: :mod:`sksig._core._backend` (numpy
arrays, the CPU cores) or :mod:`sksig.cuda._backend` (torch tensors kept on their CUDA
device, or CPU tensors inside the CUDA emulation). Both have the same functions with
the same signatures. CPU inputs never import or touch CUDA.

CUDA arrays of other libraries (CuPy, JAX, Numba: anything exporting DLPack or
``__cuda_array_interface__``) reach such a function through :func:`cuda_arrays`: they
are viewed as torch tensors without a copy, and results go back through the producing
library's ``from_dlpack``, on the same device; the DLPack protocol orders the work
after the producer's stream and hands results to the consumer's. Functions without a
CUDA kernel refuse them with a TypeError (:func:`sksig._array.as_array`).
"""

import functools
import importlib

import numpy as np

from sksig._array import _is_torch, foreign_cuda_array
from sksig._core import _backend as _cpu

__all__ = ["backend", "cuda_arrays", "foreign_cuda_array"]


def backend(caller):
    """The backend module for the arrays described by ``caller``."""
    if caller.on_device:  # imports torch: only when a tensor is on its device
        from sksig.cuda import _backend as cuda

        return cuda
    return _cpu

def _as_torch(x):
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            f"CUDA arrays of {type(x).__module__} are computed through torch; install "
            "it (pip install 'sksig[torch]') or pass numpy arrays"
        ) from exc
    if hasattr(x, "__dlpack__"):
        return torch.from_dlpack(x)
    return torch.as_tensor(x, device="cuda")  # __cuda_array_interface__ only


def _returner(x):
    """Function giving results back in the library of the foreign array x."""
    library = importlib.import_module(type(x).__module__.split(".")[0])
    from_dlpack = getattr(library, "from_dlpack", None)
    if from_dlpack is None:  # e.g. Numba: results stay torch tensors on the device
        return lambda t: t
    return from_dlpack


def _convert(value, fn, leaf):
    """Apply fn to the leaves of value (lists and tuples are walked)."""
    if isinstance(value, (list, tuple)):
        return type(value)(_convert(v, fn, leaf) for v in value)
    return fn(value) if leaf(value) else value


def _first_foreign(values):
    for v in values:
        if type(v) in _HOST_TYPES or _is_torch(v):
            continue
        if isinstance(v, (list, tuple)):
            found = _first_foreign(v)
            if found is not None:
                return found
        elif foreign_cuda_array(v):
            return v
    return None


_HOST_TYPES = frozenset((np.ndarray, int, float, bool, str, type(None)))


def _all_host(values):
    """True when no value (nor list item) is a torch tensor or a foreign CUDA array:
    the common case, in which a call needs no routing."""
    for v in values:
        if type(v) in _HOST_TYPES:
            continue
        if isinstance(v, (list, tuple)):
            if not _all_host(v):
                return False
        elif _is_torch(v) or foreign_cuda_array(v):
            return False
    return True


def cuda_arrays(fn):
    """Decorator of the public functions with a CUDA kernel: CUDA arrays of other
    libraries go in as torch tensors and come back in their library."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _all_host(args) and _all_host(kwargs.values()):
            return fn(*args, **kwargs)  # the common case
        foreign = _first_foreign((*args, *kwargs.values()))
        if foreign is None:
            return fn(*args, **kwargs)
        back = _returner(foreign)
        args = [_convert(v, _as_torch, foreign_cuda_array) for v in args]
        kwargs = {name: _convert(v, _as_torch, foreign_cuda_array)
                  for name, v in kwargs.items()}
        return _convert(fn(*args, **kwargs), back, _is_torch)

    return wrapper
