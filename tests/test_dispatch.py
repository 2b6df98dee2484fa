"""Routing of GPU arrays: torch CUDA tensors and other libraries' CUDA arrays."""

import sys
import types

import numpy as np
import pytest
from _tolerances import tol
from conftest import assert_close_ref

import sksig
from sksig import _dispatch

torch = pytest.importorskip("torch")


class ForeignArray:
    """An array of another library that exports DLPack only (like CuPy or JAX)."""

    def __init__(self, tensor, device=(2, 0)):
        self.tensor = tensor
        self.device = device

    def __dlpack__(self, **kwargs):
        return self.tensor.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.device


ForeignArray.__module__ = "foreign_library.core"


@pytest.fixture
def foreign_library(monkeypatch):
    """A library module whose from_dlpack wraps tensors back into ForeignArray."""
    module = types.ModuleType("foreign_library")
    module.from_dlpack = lambda t: ForeignArray(torch.from_dlpack(t))
    monkeypatch.setitem(sys.modules, "foreign_library", module)
    return module


def test_foreign_cuda_arrays_are_recognised():
    assert not _dispatch.foreign_cuda_array(np.zeros(3))
    assert not _dispatch.foreign_cuda_array(torch.zeros(3))
    assert not _dispatch.foreign_cuda_array([1.0, 2.0])
    assert _dispatch.foreign_cuda_array(ForeignArray(torch.zeros(3)))
    assert _dispatch.foreign_cuda_array(ForeignArray(torch.zeros(3), device=(13, 0)))
    assert not _dispatch.foreign_cuda_array(ForeignArray(torch.zeros(3), (1, 0)))

    class Interface:  # Numba-style: __cuda_array_interface__ only
        __cuda_array_interface__ = {}

    assert _dispatch.foreign_cuda_array(Interface())
    with pytest.raises(TypeError, match="path is a CUDA array of foreign_library"):
        sksig.log_sig(ForeignArray(torch.zeros(2, 3, 2)), 2)


def test_foreign_arrays_go_through_torch_and_come_back(
    foreign_library, monkeypatch, rng
):
    # Without a GPU the "CUDA" arrays hold CPU tensors: this checks the conversions
    # of every argument (lists included) and of every result, not the device.
    monkeypatch.setattr(_dispatch, "_as_torch", lambda a: a.tensor)
    x = np.cumsum(rng.normal(size=(3, 5, 2)) * 0.3, axis=1)
    y = np.cumsum(rng.normal(size=(3, 4, 2)) * 0.3, axis=1)
    fx, fy = ForeignArray(torch.from_numpy(x)), ForeignArray(torch.from_numpy(y))
    got = sksig.sig_kernel(fx, fy, 1)
    assert isinstance(got, ForeignArray)
    np.testing.assert_array_equal(got.tensor.numpy(), sksig.sig_kernel(x, y, 1))
    ragged = sksig.sig_kernel_gram([fx.tensor[0], fx.tensor[1]], fy.tensor, 0)
    assert isinstance(ragged, torch.Tensor)  # no foreign array among the inputs
    with pytest.raises(ValueError, match=r"path2\[0\] must be a 2-D path"):
        sksig.sig_kernel_gram(fx, [fy], 0)
    d = np.ones(3)
    gx, gy = sksig.sig_kernel_backprop(
        ForeignArray(torch.from_numpy(d)), fx, fy, 1, right_deriv=True
    )
    want = sksig.sig_kernel_backprop(d, x, y, 1, right_deriv=True)
    for g, w in zip((gx, gy), want, strict=True):
        assert isinstance(g, ForeignArray)
        np.testing.assert_array_equal(g.tensor.numpy(), w)
    xs = [ForeignArray(fx.tensor[i]) for i in range(3)]
    ys = [ForeignArray(fy.tensor[i]) for i in range(3)]
    fd = ForeignArray(torch.from_numpy(d))
    gx, gy = sksig.sig_kernel_backprop(fd, xs, ys, 1, left_deriv=True)
    assert gy is None and isinstance(gx, list) and isinstance(gx[0], ForeignArray)
    np.testing.assert_array_equal(gx[2].tensor.numpy(), want[0][2])


@pytest.mark.cuda
def test_foreign_cuda_arrays_run_on_the_gpu(foreign_library, rng):
    from _cuda_targets import gpu_available

    if not gpu_available():
        pytest.skip("no CUDA GPU visible")
    x = np.cumsum(rng.normal(size=(4, 6, 3)) * 0.3, axis=1)
    fx = ForeignArray(torch.from_numpy(x).cuda())
    got = sksig.sig_kernel_gram(fx, fx, 1)
    assert isinstance(got, ForeignArray) and got.tensor.device.type == "cuda"
    assert_close_ref(
        got.tensor.cpu().numpy(), sksig.sig_kernel_gram(x, x, 1), rtol=1e-10
    )


@pytest.mark.cuda
def test_cupy_arrays_run_on_the_gpu_and_come_back_as_cupy(rng):
    from _cuda_targets import gpu_available

    if not gpu_available():
        pytest.skip("no CUDA GPU visible")
    cupy = pytest.importorskip("cupy")
    x = np.cumsum(rng.normal(size=(5, 7, 2)) * 0.3, axis=1)
    y = np.cumsum(rng.normal(size=(5, 6, 2)) * 0.3, axis=1)
    got = sksig.sig_kernel(cupy.asarray(x), cupy.asarray(y), 2)
    assert isinstance(got, cupy.ndarray)
    assert_close_ref(cupy.asnumpy(got), sksig.sig_kernel(x, y, 2), **tol("device"))
    gx, gy = sksig.sig_kernel_backprop(
        cupy.ones(5), cupy.asarray(x), cupy.asarray(y), 2, right_deriv=True
    )
    want = sksig.sig_kernel_backprop(np.ones(5), x, y, 2, right_deriv=True)
    for g, w in zip((gx, gy), want, strict=True):
        assert isinstance(g, cupy.ndarray)
        assert_close_ref(cupy.asnumpy(g), w, **tol("device"))


def test_functions_without_a_gpu_twin_refuse_foreign_cuda_arrays(rng):
    """sig_backprop, log_sig_backprop and sig_mmd have no CUDA core: a CUDA array of
    another library gets the TypeError of every such function (torch CUDA tensors are
    copied to the host and the result back, see the GPU test below)."""
    x = np.cumsum(rng.normal(size=(3, 4, 2)) * 0.3, axis=1)
    fx = ForeignArray(torch.from_numpy(x))
    s, ls = sksig.sig(x, 2), sksig.log_sig(x, 2)
    calls = [lambda: sksig.sig_backprop(fx, s, s, 2),
             lambda: sksig.log_sig_backprop(fx, ls, ls, 2),
             lambda: sksig.sig_mmd(fx, x, 0),
             lambda: sksig.sig_mmd(x, fx, 0)]
    for call in calls:
        with pytest.raises(TypeError, match="is a CUDA array of foreign_library, which "
                                            "this function does not take"):
            call()


@pytest.mark.cuda
def test_functions_without_a_gpu_twin_copy_torch_cuda_tensors(rng):
    from _cuda_targets import gpu_available

    if not gpu_available():
        pytest.skip("no CUDA GPU visible")
    x = np.cumsum(rng.normal(size=(3, 4, 2)) * 0.3, axis=1)
    y = np.cumsum(rng.normal(size=(4, 5, 2)) * 0.3, axis=1)
    s, ls = sksig.sig(x, 2), sksig.log_sig(x, 2)
    cases = [(sksig.sig_backprop, (x, s, s, 2)),
             (sksig.log_sig_backprop, (x, ls, ls, 2)),
             (sksig.sig_mmd, (x, y, 0))]
    for fn, args in cases:
        got = fn(*(torch.from_numpy(a).cuda() if isinstance(a, np.ndarray) else a
                   for a in args))
        assert got.device.type == "cuda"
        assert_close_ref(got.cpu().numpy(), fn(*args), **tol("device"))
