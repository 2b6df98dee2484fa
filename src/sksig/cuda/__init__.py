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
    """Return True when the CUDA module was compiled into this installation.

    Returns
    -------
    bool
        Whether ``sksig.cuda`` has its compiled kernels (the package was built with
        a CUDA compiler).

    Examples
    --------
    >>> import sksig.cuda
    >>> sksig.cuda.is_built() in (True, False)
    True
    """
    return _kernels is not None


def device_count():
    """Return the number of CUDA devices visible to sksig (0 when not built).

    Returns
    -------
    int
        Number of visible CUDA devices; 0 without the CUDA module or without a GPU.

    Examples
    --------
    >>> import sksig.cuda
    >>> sksig.cuda.device_count() >= 0
    True
    """
    return _kernels.device_count() if _kernels is not None else 0


def is_available():
    """Return True when the CUDA module is built and at least one GPU is visible.

    Returns
    -------
    bool
        Whether CUDA inputs will be computed on a GPU.

    Examples
    --------
    >>> import sksig.cuda
    >>> sksig.cuda.is_available() == (sksig.cuda.device_count() > 0)
    True
    """
    return device_count() > 0


def device_name(device=0):
    """Return the name of CUDA device ``device``, or None when none is available.

    Parameters
    ----------
    device : int, default=0
        Index of the device, from 0 to ``device_count() - 1``.

    Returns
    -------
    str or None
        The device's name as reported by the CUDA runtime, or None when no GPU is
        available.

    Examples
    --------
    >>> import sksig.cuda
    >>> name = sksig.cuda.device_name()
    >>> name is None or isinstance(name, str)
    True
    """
    if not is_available():
        return None
    return _kernels.device_name(device)
