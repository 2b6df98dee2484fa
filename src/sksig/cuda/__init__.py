"""Optional CUDA cores.

The compiled module exists only when the package was built with a CUDA compiler
(``SKSIG_CUDA=AUTO`` finds nvcc, ``ON`` requires it, ``OFF`` skips it). Importing this
package never imports torch and never fails: use :func:`is_built` and
:func:`is_available` to find out what can run.
"""

try:
    from sksig.cuda import _kernels
except ImportError:  # built without CUDA
    _kernels = None

__all__ = ["device_count", "device_name", "is_available", "is_built"]


def is_built():
    """Return True when the CUDA module was compiled into this installation."""
    return _kernels is not None


def device_count():
    """Return the number of CUDA devices visible to sksig (0 when not built)."""
    return _kernels.device_count() if _kernels is not None else 0


def is_available():
    """Return True when the CUDA module is built and at least one GPU is visible."""
    return device_count() > 0


def device_name(device=0):
    """Return the name of CUDA device ``device``, or None when none is available."""
    if not is_available():
        return None
    return _kernels.device_name(device)
