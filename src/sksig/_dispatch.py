"""Routing of calls on GPU arrays to the CUDA twins of the public functions.

A public function decorated with :func:`cuda_dispatch` runs its twin of the same name
in a module of :mod:`sksig.cuda` when one of its array arguments lives on a CUDA
device and the CUDA cores are usable. Otherwise it runs as written (CUDA tensors are
then copied to the host and results copied back). CPU inputs never import or touch
CUDA.

CUDA arrays of other libraries (CuPy, JAX, Numba: anything exporting DLPack or
``__cuda_array_interface__``) are viewed as torch tensors without a copy, and results go
back through the producing library's ``from_dlpack``, on the same device; the DLPack
protocol orders the work after the producer's stream and hands results to the
consumer's.
"""

import functools
import importlib
import inspect

import numpy as np

from sksig._array import _is_torch, foreign_cuda_array

__all__ = ["cuda_dispatch", "foreign_cuda_array", "on_cuda_device"]

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


def on_cuda_device(*values):
    """True when a value (or the first item of a list) is a torch CUDA tensor and
    the CUDA cores are available."""
    for v in values:
        first = v[0] if isinstance(v, (list, tuple)) and v else v
        if _is_torch(first) and first.is_cuda:
            from sksig import cuda

            return cuda.is_available()
    return False


def cuda_dispatch(twin_module, *array_args):
    """Decorator: send calls whose ``array_args`` include a CUDA array to the function
    of the same name in ``twin_module`` (imported on first use)."""

    def decorate(fn):
        names = list(inspect.signature(fn).parameters)
        positions = [(name, names.index(name)) for name in array_args if name in names]

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if _all_host(args) and _all_host(kwargs.values()):
                return fn(*args, **kwargs)  # the common case
            foreign = _first_foreign((*args, *kwargs.values()))
            if foreign is not None:
                back = _returner(foreign)
                args = [_convert(v, _as_torch, foreign_cuda_array) for v in args]
                kwargs = {name: _convert(v, _as_torch, foreign_cuda_array)
                          for name, v in kwargs.items()}
                return _convert(wrapper(*args, **kwargs), back, _is_torch)
            arrays = (args[i] if i < len(args) else kwargs.get(name)
                      for name, i in positions)
            if on_cuda_device(*arrays):
                twin = importlib.import_module(twin_module)
                return getattr(twin, fn.__name__)(*args, **kwargs)
            return fn(*args, **kwargs)

        wrapper.cuda_twin = twin_module  # where the tests find the twin
        return wrapper

    return decorate
