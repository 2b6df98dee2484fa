"""Where the CUDA tests run: on a real GPU, or on the CPU emulation of the CUDA cores.

A :class:`Target` puts numpy arrays on its device (``put``) and exposes the public
functions of :mod:`sksig` by name. On a GPU they are called as users call them, with
CUDA tensors (they pick the CUDA backend). In the emulation (``sksig.cuda._emulation``,
built with ``SKSIG_CUDA_EMULATION=ON``) the same public function is called on CPU
tensors inside :func:`sksig.cuda._runtime.emulated`, where they pick the CUDA backend
running on the emulated cores, once with the threads of every barrier phase in
ascending and once in descending order: the results must be bitwise equal (an
order-dependent result is a race between threads), and no allocation may have been
overrun.
"""

import os

import numpy as np
import pytest

import sksig

try:  # torch is optional; without it every CUDA target skips itself
    import torch
except ImportError:
    torch = None


def gpu_available():
    try:
        import sksig.cuda

        return sksig.cuda.is_available()
    except ImportError:
        return False


def emulation_built():
    try:
        import sksig.cuda._emulation  # noqa: F401
    except ImportError:
        return False
    return True


def _same(a, b):
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b))
    if a is None or b is None:
        return a is b
    return bool(torch.equal(a, b))


class Target:
    """Runs sksig's public functions on a GPU (``"gpu"``) or the emulation."""

    def __init__(self, kind):
        self.kind = kind
        self.device = torch.device("cuda" if kind == "gpu" else "cpu")

    def put(self, a):
        """numpy array (or list of them) -> torch tensor(s) on this target."""
        if isinstance(a, (list, tuple)):
            return [self.put(b) for b in a]
        return torch.from_numpy(np.ascontiguousarray(a)).to(self.device)

    def __getattr__(self, name):
        public = getattr(sksig, name)
        if self.kind == "gpu":
            return public

        def emulated(*args, **kwargs):
            from sksig.cuda._runtime import emulated as context

            results = []
            for order in (0, 1):  # ascending, then descending threads per phase
                with context() as emulation:
                    emulation.emulation_control(order, 0)
                    try:
                        results.append(public(*args, **kwargs))
                    except Exception as exc:  # a fault surfaces as a CUDA error
                        fault = emulation.emulation_control(0, 0)
                        if fault:
                            raise AssertionError(f"{name}: {fault}") from exc
                        raise
                    fault = emulation.emulation_control(0, 0)
                    assert fault == "", f"{name}: {fault}"
            assert _same(*results), f"{name}: the result depends on the thread order"
            return results[0]

        return emulated

    def check(self, t, dtype):
        """Assert that a result is a tensor of dtype on this target's device."""
        assert isinstance(t, torch.Tensor) and t.device.type == self.device.type
        assert t.dtype == (torch.float64 if dtype == np.float64 else torch.float32)
        return t.cpu().numpy()


def make_target(kind):
    if torch is None:
        pytest.skip("the CUDA twins take torch tensors; torch is not installed")
    if kind == "gpu":
        if not gpu_available():
            pytest.skip("no CUDA GPU visible")
    elif not emulation_built():
        if os.environ.get("SKSIG_EXPECT_EMULATION"):
            pytest.fail("SKSIG_EXPECT_EMULATION is set but sksig.cuda._emulation is "
                        "not built (build with SKSIG_CUDA_EMULATION=ON)")
        pytest.skip("the CUDA emulation is not built (SKSIG_CUDA_EMULATION=ON)")
    return Target(kind)
