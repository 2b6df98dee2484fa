"""Map native status codes (include/sksig/status.hpp) to Python exceptions."""

_OK = 0
_INVALID_ARGUMENT = 1
_OUT_OF_MEMORY = 2
_CUDA_ERROR = 3
_INTERNAL = 4
_NON_FINITE = 5
_INTERRUPTED = 6


class NativeInterrupt(KeyboardInterrupt):
    """SIGINT stopped a native call (see sksig/_interrupt.py, which delivers it)."""


def raise_for_status(status, where):
    """Raise the exception that matches a native status code (0 means success)."""
    if status == _OK:
        return
    if status == _INVALID_ARGUMENT:
        raise ValueError(f"{where}: the native core rejected its arguments")
    if status == _OUT_OF_MEMORY:
        raise MemoryError(
            f"{where}: out of memory (the native core could not allocate its work "
            "buffers); use fewer or smaller inputs"
        )
    if status == _INTERRUPTED:
        raise NativeInterrupt(f"{where}: interrupted")
    if status == _CUDA_ERROR:
        raise RuntimeError(f"{where}: a CUDA call failed")
    if status == _NON_FINITE:
        raise FloatingPointError(
            f"{where}: the result overflowed; rescale the paths or lower the order"
        )
    raise RuntimeError(f"{where}: internal error in the native core (status {status})")
