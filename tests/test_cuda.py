"""CUDA signature kernels against the CPU cores.

The tests marked ``cuda`` compare every CUDA result with the CPU implementation (itself
tested against reference files and naive oracles) to 1e-10 (float64) and 1e-5 (float32)
relative. Those taking ``cuda_target`` run twice: on a GPU where one is visible, and on
the CPU emulation of the CUDA cores where it is built (tests/_cuda_targets.py); the
others need a GPU. The unmarked tests check the device-side input layer (torch
transforms, ragged padding and their autograd adjoints) on CPU tensors against the
numpy layer.
"""

import warnings

import numpy as np
import pytest
from _cuda_targets import Target
from _tolerances import tol
from conftest import assert_close_ref

import sksig
from sksig._array import (
    DevicePathBatch,
    as_path_batch,
    device_caller,
    device_tensor,
    device_transform,
)

torch = pytest.importorskip("torch")
gpu = pytest.importorskip("sksig.cuda._backend")

STATIC = [
    None,
    sksig.ScaledLinearKernel(scale=0.7),
    sksig.RBFKernel(sigma=0.5),
    sksig.PolynomialKernel(degree=3.0, gamma=1.0, scale=0.5),
    pytest.param(  # clamped (the warning itself is tested below)
        sksig.PolynomialKernel(degree=2.5, gamma=0.5, scale=0.5),
        marks=pytest.mark.filterwarnings("ignore:PolynomialKernel clamps"),
    ),
    sksig.Matern12Kernel(sigma=0.8),
    sksig.Matern32Kernel(sigma=0.8),
    sksig.Matern52Kernel(sigma=1.2),
    sksig.RationalQuadraticKernel(sigma=0.7, alpha=1.5),
]


def _paths(rng, shape, dtype=np.float64, step=None):
    """Random walks (..., L, d) with increments small enough for a moderate kernel."""
    *batch, length, dim = shape
    step = 0.5 / np.sqrt(max(length, 1)) if step is None else step
    inc = rng.normal(size=tuple(batch) + (length, dim)) * step
    return np.cumsum(inc, axis=-2).astype(dtype)


def _cuda(a):
    if isinstance(a, list):
        return [_cuda(b) for b in a]
    return torch.from_numpy(np.ascontiguousarray(a)).cuda()


def _close(on, got, want, dtype):
    """got (on the target) equals the CPU result want to the "device" tolerance."""
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            _close(on, g, w, dtype)
        return
    assert_close_ref(on.check(got, dtype), want, **tol("device", dtype))


# ---------------------------------------------------------------- forward


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("static_kernel", STATIC)
@pytest.mark.parametrize("orders", [0, 1, (2, 0), (0, 3)])
def test_sig_kernel_matches_cpu(cuda_target, dtype, static_kernel, orders, rng):
    on = cuda_target
    x = _paths(rng, (37, 9, 3), dtype)  # 37 pairs: not a multiple of any block size
    y = _paths(rng, (37, 14, 3), dtype)
    want = sksig.sig_kernel(x, y, orders, static_kernel=static_kernel)
    got = on.sig_kernel(on.put(x), on.put(y), orders, static_kernel=static_kernel)
    assert_close_ref(on.check(got, dtype), want, **tol("device", dtype))


@pytest.mark.cuda
@pytest.mark.parametrize("delta", ["fused", "scratch"])
@pytest.mark.parametrize(
    "shape1, shape2, orders",
    [
        ((37, 9, 3), (37, 14, 3), (1, 2)),
        ((3, 1, 2), (3, 5, 2), 1),
        ((2, 300, 4), (2, 7, 4), 0),
    ],
)
def test_linear_kernels_with_fused_or_scratch_delta_match_cpu(
    cuda_target, delta, shape1, shape2, orders, monkeypatch, rng
):
    # Linear kernels compute Delta inside the wavefront unless SKSIG_CUDA_DELTA=scratch.
    on = cuda_target
    if delta == "scratch":
        monkeypatch.setenv("SKSIG_CUDA_DELTA", "scratch")
    x, y = _paths(rng, shape1), _paths(rng, shape2)
    for kernel in (None, sksig.ScaledLinearKernel(scale=1.3)):
        want = sksig.sig_kernel(x, y, orders, static_kernel=kernel, return_grid=True)
        got = on.sig_kernel(
            on.put(x), on.put(y), orders, static_kernel=kernel, return_grid=True
        )
        _close(on, got, want, np.float64)
        want = sksig.sig_kernel_gram(x, y[:2], orders, static_kernel=kernel)
        got = on.sig_kernel_gram(on.put(x), on.put(y[:2]), orders, static_kernel=kernel)
        _close(on, got, want, np.float64)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "time_aug, lead_lag", [(True, False), (False, True), (True, True)]
)
def test_transforms_and_grid_match_cpu(cuda_target, dtype, time_aug, lead_lag, rng):
    on = cuda_target
    x = _paths(rng, (2, 3, 6, 2), dtype)
    y = _paths(rng, (2, 3, 5, 2), dtype)
    kw = dict(time_aug=time_aug, lead_lag=lead_lag, end_time=2.0, return_grid=True)
    want = sksig.sig_kernel(x, y, (1, 2), **kw)
    got = on.sig_kernel(on.put(x), on.put(y), (1, 2), **kw)
    assert got.shape == want.shape
    _close(on, got, want, dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "lengths, orders",
    [
        (
            (4097, 4097),
            0,
        ),  # 4096 refined points a side: anti-diagonals longer than a block
        ((1025, 513), (2, 3)),
        ((16385, 9), 0),  # diagonals too long for shared memory: global scratch
        ((9, 16385), 0),
    ],
)
def test_long_paths_match_cpu(cuda_target, dtype, lengths, orders, rng):
    on = cuda_target
    x = _paths(rng, (2, lengths[0], 2), dtype)
    y = _paths(rng, (2, lengths[1], 2), dtype)
    want = sksig.sig_kernel(x, y, orders, n_jobs=-1)
    got = on.sig_kernel(on.put(x), on.put(y), orders)
    _close(on, got, want, dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("static_kernel", [None, sksig.RBFKernel(sigma=0.5)])
def test_gram_matches_cpu(cuda_target, dtype, static_kernel, rng):
    on = cuda_target
    x = _paths(rng, (37, 7, 3), dtype)
    y = _paths(rng, (29, 11, 3), dtype)
    for a, b in ((x, y), (x, x)):
        want = sksig.sig_kernel_gram(a, b, (1, 0), static_kernel=static_kernel)
        got = on.sig_kernel_gram(
            on.put(a), on.put(b), (1, 0), static_kernel=static_kernel
        )
        _close(on, got, want, dtype)
    want = sksig.sig_kernel_gram(x[:3], y[:4], 1, return_grid=True, lead_lag=True)
    got = on.sig_kernel_gram(
        on.put(x[:3]), on.put(y[:4]), 1, return_grid=True, lead_lag=True
    )
    _close(on, got, want, dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("n, length", [(1, 5), (23, 6), (200, 2)])
def test_gram_of_paths_with_themselves_is_exactly_symmetric(
    cuda_target, n, length, rng
):
    # Solved on the upper triangle and mirrored, as on the CPU; n = 200 checks that the
    # triangle's pair numbering reaches every pair once.
    on = cuda_target
    x = _paths(rng, (n, length, 3))
    for kernel in (None, sksig.RBFKernel(sigma=0.7)):
        want = sksig.sig_kernel_gram(x, x, 1, static_kernel=kernel)
        got = on.check(
            on.sig_kernel_gram(on.put(x), on.put(x), 1, static_kernel=kernel),
            np.float64,
        )
        np.testing.assert_array_equal(got, got.T)
        assert_close_ref(got, want, **tol("device"))
    xs = [_paths(rng, (k, 2)) for k in (3, 7, 1, 4)]
    got = on.check(on.sig_kernel_gram(on.put(xs), on.put(xs), 2), np.float64)
    np.testing.assert_array_equal(got, got.T)
    assert_close_ref(got, sksig.sig_kernel_gram(xs, xs, 2), **tol("device"))


@pytest.mark.cuda
def test_ragged_lists_match_cpu(cuda_target, rng):
    on = cuda_target
    xs = [_paths(rng, (n, 2)) for n in (3, 8, 1, 5)]
    ys = [_paths(rng, (n, 2)) for n in (6, 2, 4, 9)]
    for time_aug in (False, True):
        want = sksig.sig_kernel(xs, ys, 1, time_aug=time_aug)
        got = on.sig_kernel(on.put(xs), on.put(ys), 1, time_aug=time_aug)
        _close(on, got, want, np.float64)
        want = sksig.sig_kernel_gram(xs, ys, 1, time_aug=time_aug)
        got = on.sig_kernel_gram(on.put(xs), on.put(ys), 1, time_aug=time_aug)
        _close(on, got, want, np.float64)


@pytest.mark.cuda
def test_results_stay_on_device_and_stream(rng):
    x = _paths(rng, (5, 6, 2))
    y = _paths(rng, (5, 7, 2))
    want = sksig.sig_kernel(x, y, 2)
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        xc, yc = _cuda(x), _cuda(y)
        got = sksig.sig_kernel(xc, yc, 2)
    stream.synchronize()
    _close(Target("gpu"), got, want, np.float64)
    unbatched = sksig.sig_kernel(_cuda(x[0]), _cuda(y[0]), 2)
    assert unbatched.shape == () and unbatched.device == xc.device


@pytest.mark.cuda
def test_one_point_and_empty_batches(cuda_target, rng):
    on = cuda_target
    x = _paths(rng, (3, 1, 2))
    y = _paths(rng, (3, 6, 2))
    _close(
        on,
        on.sig_kernel(on.put(x), on.put(y), 1, return_grid=True),
        sksig.sig_kernel(x, y, 1, return_grid=True),
        np.float64,
    )
    empty = on.sig_kernel(on.put(x[:0]), on.put(y[:0]), 1)
    assert empty.shape == (0,) and empty.device.type == on.device.type
    gram = on.sig_kernel_gram(on.put(x[:0]), on.put(y), 1)
    assert gram.shape == (0, 3)


@pytest.mark.cuda
def test_bad_inputs_are_rejected(cuda_target, rng):
    on = cuda_target
    x = on.put(_paths(rng, (2, 4, 2)))
    with pytest.raises(TypeError, match="torch"):
        on.sig_kernel(x, _paths(rng, (2, 4, 2)), 0)
    if on.kind == "gpu":
        with pytest.raises(ValueError, match="path2 is on cpu"):
            on.sig_kernel(x, x.cpu(), 0)
    with pytest.raises(TypeError, match="dtype"):
        on.sig_kernel(x, x.float(), 0)
    bad = x.clone()
    bad[0, 1, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        on.sig_kernel(x, bad, 0)
    with pytest.raises(ValueError, match="batch shape"):
        on.sig_kernel(x, x[:1], 0)
    with pytest.raises(ValueError, match="derivs"):
        on.sig_kernel_backprop(torch.ones(3, device=x.device, dtype=x.dtype), x, x, 0)
    huge = _paths(rng, (2, 4, 2)) * 1e100  # the CPU overflows too
    with pytest.raises(FloatingPointError, match="rescale"):
        sksig.sig_kernel(huge, huge, 0)
    with pytest.raises(FloatingPointError, match="rescale"):
        on.sig_kernel(on.put(huge), on.put(huge), 0)


# ---------------------------------------------------------------- backprops


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("static_kernel", STATIC)
@pytest.mark.parametrize("orders", [0, (1, 2)])
def test_backprop_matches_cpu(cuda_target, dtype, static_kernel, orders, rng):
    on = cuda_target
    x = _paths(rng, (19, 8, 3), dtype)
    y = _paths(rng, (19, 6, 3), dtype)
    derivs = rng.normal(size=19).astype(dtype)
    kw = dict(static_kernel=static_kernel, left_deriv=True, right_deriv=True)
    want = sksig.sig_kernel_backprop(derivs, x, y, orders, **kw)
    got = on.sig_kernel_backprop(on.put(derivs), on.put(x), on.put(y), orders, **kw)
    _close(on, got[0], want[0], dtype)
    _close(on, got[1], want[1], dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("time_aug, lead_lag", [(False, False), (True, True)])
def test_grid_backprop_k_grid_and_delta_backprop_match_cpu(
    cuda_target, time_aug, lead_lag, rng
):
    on = cuda_target
    x = _paths(rng, (4, 5, 2))
    y = _paths(rng, (4, 7, 2))
    kw = dict(time_aug=time_aug, lead_lag=lead_lag, static_kernel=sksig.RBFKernel(1.0))
    grid = sksig.sig_kernel(x, y, 1, return_grid=True, **kw)
    derivs = rng.normal(size=grid.shape)
    want = sksig.sig_kernel_backprop(
        derivs, x, y, 1, return_grid=True, k_grid=grid, right_deriv=True, **kw
    )
    got = on.sig_kernel_backprop(
        on.put(derivs),
        on.put(x),
        on.put(y),
        1,
        return_grid=True,
        k_grid=on.put(grid),
        right_deriv=True,
        **kw,
    )
    _close(on, got[0], want[0], np.float64)
    _close(on, got[1], want[1], np.float64)
    d = rng.normal(size=4)
    _close(
        on,
        on.sig_kernel_delta_backprop(on.put(d), on.put(x), on.put(y), (2, 1), **kw),
        sksig.sig_kernel_delta_backprop(d, x, y, (2, 1), **kw),
        np.float64,
    )


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("max_batch", [-1, 1, 2, 5])
def test_gram_backprop_matches_cpu_for_any_max_batch(
    cuda_target, dtype, max_batch, rng
):
    on = cuda_target
    x = _paths(rng, (7, 6, 2), dtype)
    y = _paths(rng, (5, 8, 2), dtype)
    derivs = rng.normal(size=(7, 5)).astype(dtype)
    for static_kernel in (None, sksig.Matern32Kernel(sigma=0.8)):
        kw = dict(
            static_kernel=static_kernel,
            left_deriv=True,
            right_deriv=True,
            lead_lag=True,
        )
        want = sksig.sig_kernel_gram_backprop(derivs, x, y, 1, **kw)
        got = on.sig_kernel_gram_backprop(
            on.put(derivs), on.put(x), on.put(y), 1, max_batch=max_batch, **kw
        )
        _close(on, got[0], want[0], dtype)
        _close(on, got[1], want[1], dtype)
    grid = sksig.sig_kernel_gram(x[:3], y[:2], 1, return_grid=True)
    gd = rng.normal(size=grid.shape).astype(dtype)
    want = sksig.sig_kernel_gram_backprop(
        gd, x[:3], y[:2], 1, return_grid=True, right_deriv=True
    )
    got = on.sig_kernel_gram_backprop(
        on.put(gd),
        on.put(x[:3]),
        on.put(y[:2]),
        1,
        return_grid=True,
        right_deriv=True,
        max_batch=max_batch,
    )
    _close(on, got[0], want[0], dtype)
    _close(on, got[1], want[1], dtype)


@pytest.mark.cuda
def test_long_path_backprop_matches_cpu(cuda_target, rng):
    on = cuda_target
    x = _paths(rng, (2, 4097, 2))
    y = _paths(rng, (2, 33, 2))
    d = rng.normal(size=2)
    want = sksig.sig_kernel_backprop(d, x, y, 0, right_deriv=True, n_jobs=-1)
    got = on.sig_kernel_backprop(on.put(d), on.put(x), on.put(y), 0, right_deriv=True)
    _close(on, got[0], want[0], np.float64)
    _close(on, got[1], want[1], np.float64)


@pytest.mark.cuda
def test_ragged_backprop_matches_cpu(cuda_target, rng):
    on = cuda_target
    xs = [_paths(rng, (n, 2)) for n in (3, 8, 5)]
    ys = [_paths(rng, (n, 2)) for n in (6, 2, 4)]
    d = rng.normal(size=3)
    want = sksig.sig_kernel_backprop(d, xs, ys, 1, right_deriv=True, lead_lag=True)
    got = on.sig_kernel_backprop(
        on.put(d), on.put(xs), on.put(ys), 1, right_deriv=True, lead_lag=True
    )
    _close(on, got[0], want[0], np.float64)
    _close(on, got[1], want[1], np.float64)


@pytest.mark.cuda
@pytest.mark.parametrize("basepoint", [True, np.array([0.4, -0.3])])
def test_basepoint_on_the_device_matches_cpu(cuda_target, basepoint, rng):
    """The basepoint is prepended on the device (torch operations) and its gradient
    dropped there, as the CPU does; ragged lists and Grams included."""
    on = cuda_target
    x = _paths(rng, (3, 5, 2))
    y = _paths(rng, (3, 4, 2))
    kw = dict(basepoint=basepoint, time_aug=True)
    _close(on, on.sig_kernel(on.put(x), on.put(y), 1, **kw),
           sksig.sig_kernel(x, y, 1, **kw), np.float64)
    _close(on, on.sig_kernel_gram(on.put(x), on.put(y), 0, **kw),
           sksig.sig_kernel_gram(x, y, 0, **kw), np.float64)
    d = rng.normal(size=(3, 3))
    want = sksig.sig_kernel_gram_backprop(d, x, y, 0, right_deriv=True, **kw)
    got = on.sig_kernel_gram_backprop(on.put(d), on.put(x), on.put(y), 0,
                                      right_deriv=True, **kw)
    _close(on, list(got), list(want), np.float64)
    xs = [x[0], x[1, :3]]
    want = sksig.sig_kernel_backprop(np.ones(2), xs, y[:2], 1, **kw)[0]
    got = on.sig_kernel_backprop(on.put(np.ones(2)), on.put(xs), on.put(y[:2]), 1,
                                 **kw)[0]
    _close(on, got, want, np.float64)


@pytest.mark.cuda
def test_torch_autograd_on_device(rng):
    import sksig.torch

    x = _paths(rng, (4, 6, 2))
    y = _paths(rng, (3, 5, 2))
    xc = _cuda(x).requires_grad_(True)
    yc = _cuda(y).requires_grad_(True)
    sksig.torch.sig_kernel_gram(xc, yc, 1).sum().backward()
    want = sksig.sig_kernel_gram_backprop(np.ones((4, 3)), x, y, 1, right_deriv=True)
    on = Target("gpu")
    _close(on, xc.grad, want[0], np.float64)
    _close(on, yc.grad, want[1], np.float64)
    xc.grad = None
    sksig.torch.sig_kernel(xc, xc, 2).sum().backward()
    w1, w2 = sksig.sig_kernel_backprop(np.ones(4), x, x, 2, right_deriv=True)
    _close(on, xc.grad, w1 + w2, np.float64)


# ------------------------------------------- device-side input layer (runs on the CPU)


@pytest.mark.parametrize(
    "time_aug, lead_lag", [(False, True), (True, False), (True, True)]
)
def test_torch_transform_matches_transform_path(time_aug, lead_lag, rng):
    x = _paths(rng, (3, 5, 2))
    want = sksig.transform_path(x, time_aug=time_aug, lead_lag=lead_lag, end_time=3.0)
    got = device_transform(torch.from_numpy(x), time_aug, lead_lag, 3.0)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-15, atol=1e-15)
    one = device_transform(torch.from_numpy(x[:, :1]), time_aug, lead_lag, 3.0)
    want_one = sksig.transform_path(x[:, :1], time_aug=time_aug, lead_lag=lead_lag)
    np.testing.assert_array_equal(one.numpy(), want_one)


@pytest.mark.parametrize("ragged", [False, True])
def test_device_paths_and_their_adjoint_match_the_numpy_layer(ragged, rng):
    from sksig._array import as_path_batch

    if ragged:
        path = [_paths(rng, (n, 2)) for n in (4, 2, 6)]
        tensors = [torch.from_numpy(p) for p in path]
    else:
        path = _paths(rng, (2, 3, 4, 2))
        tensors = torch.from_numpy(path)
    kw = dict(time_aug=True, lead_lag=True, end_time=1.5)
    want = as_path_batch(path, "path1", **kw)
    head = tensors[0] if ragged else tensors
    got = DevicePathBatch(tensors, "path1", device_caller(head), True, True, 1.5, 1,
                          None, 1.0)
    np.testing.assert_allclose(got.data.numpy(), want.data, rtol=1e-15, atol=1e-15)
    assert got.batch_shape == want.batch_shape
    grad = rng.normal(size=want.data.shape)
    g_want = want.grad_to_input(grad)
    g_got = got.grad_to_input(torch.from_numpy(grad))
    if ragged:
        for a, b in zip(g_got, g_want, strict=True):
            np.testing.assert_allclose(a.numpy(), b, rtol=1e-14, atol=1e-14)
    else:
        np.testing.assert_allclose(g_got.numpy(), g_want, rtol=1e-14, atol=1e-14)


def test_device_layer_rejects_bad_tensors(rng):
    x = torch.from_numpy(_paths(rng, (2, 4, 2)))
    ref = device_caller(x)
    with pytest.raises(TypeError, match="torch tensors"):
        device_tensor(np.zeros((2, 4, 2)), "path2", ref)
    with pytest.raises(TypeError, match="dtype"):
        device_tensor(x.float(), "path2", ref)
    with pytest.raises(TypeError, match="float32 or float64"):
        device_tensor(x.bool(), "path2", ref)
    with pytest.raises(ValueError, match="NaN"):
        device_tensor(x / 0, "path2", ref)
    with pytest.raises(ValueError, match="empty list"):
        as_path_batch([], "path1", caller=ref)
    assert device_tensor(x.long(), "path2", ref).dtype == torch.float64


def test_cpu_inputs_never_reach_the_cuda_layer(rng, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("CUDA layer called for CPU input")

    monkeypatch.setattr(gpu, "sig_kernel_forward", boom)
    x = _paths(rng, (2, 4, 2))
    assert sksig.sig_kernel(x, x, 0).shape == (2,)
    assert sksig.sig_kernel(torch.from_numpy(x), torch.from_numpy(x), 0).shape == (2,)


@pytest.mark.cuda
def test_bad_delta_choice_and_emulation_controls_are_rejected(
    cuda_target, monkeypatch, rng
):
    on = cuda_target
    x = on.put(_paths(rng, (2, 4, 2)))
    monkeypatch.setenv("SKSIG_CUDA_DELTA", "scrach")
    with pytest.raises(ValueError, match='SKSIG_CUDA_DELTA must be "fused" or'):
        on.sig_kernel(x, x, 0)
    if on.kind == "emulated":
        from sksig.cuda import _emulation

        with pytest.raises(ValueError, match="emulation_control"):
            _emulation.emulation_control(3, 0)
        assert _emulation.emulation_control(0, 0) == ""


@pytest.mark.cuda
def test_clamping_warning_on_the_device_as_on_the_cpu(cuda_target):
    on = cuda_target
    x, y = np.array([[[0.0], [1.0]]]), np.array([[[0.0], [-1.0]]])  # <x1, y1> = -1
    kernel = sksig.PolynomialKernel(degree=1.5, gamma=0.5)
    with pytest.warns(RuntimeWarning, match="PolynomialKernel clamps"):
        on.sig_kernel(on.put(x), on.put(y), 0, static_kernel=kernel)
    sksig._kernel_setup._clamping_reported = False  # as in a fresh process
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        on.sig_kernel(on.put(x), on.put(-y), 0, static_kernel=kernel)
        on.sig_kernel_gram(on.put(x), on.put(-y), 0, static_kernel=kernel)
