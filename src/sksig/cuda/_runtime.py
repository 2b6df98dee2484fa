"""Which compiled launcher module runs CUDA work, and how it is launched.

:func:`native` is the real CUDA module (``sksig.cuda._kernels``) or, inside
:func:`emulated`, the same sources compiled for the CPU (``sksig.cuda._emulation``,
built with ``SKSIG_CUDA_EMULATION=ON``), which then takes CPU tensors: that is how the
CUDA backend is tested on machines without a GPU. Nothing here imports torch at import
time.
"""

import contextlib
import threading

__all__ = ["emulating", "emulated", "launch", "native", "pointer"]

_state = threading.local()


def native():
    """The launcher module: the CUDA one, or the CPU emulation inside emulated()."""
    module = getattr(_state, "module", None)
    if module is not None:
        return module
    from sksig.cuda import _kernels

    return _kernels


def emulating():
    """True inside :func:`emulated` (torch CPU tensors then go to the CUDA backend)."""
    return getattr(_state, "module", None) is not None


@contextlib.contextmanager
def emulated():
    """Run the CUDA backend on CPU tensors with the CPU emulation of the CUDA cores."""
    from sksig.cuda import _emulation

    previous = getattr(_state, "module", None)
    _state.module = _emulation
    try:
        yield _emulation
    finally:
        _state.module = previous


def pointer(t):
    """Data pointer of a tensor for the launchers (0 for None or empty)."""
    return t.data_ptr() if t is not None and t.numel() else 0


@contextlib.contextmanager
def launch(device):
    """(device index, stream handle) for the launchers, with ``device`` made current.

    Work goes on the caller's current stream of that device; the CPU emulation (CPU
    tensors inside emulated()) has device 0 and stream 0.
    """
    if device.type != "cuda":
        yield 0, 0
        return
    import torch

    stream = torch.cuda.current_stream(device).cuda_stream
    with torch.cuda.device(device):
        yield device.index, stream
