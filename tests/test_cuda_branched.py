"""CUDA branched signatures and log-signatures against the CPU cores.

Every test runs on a GPU when one is visible and on the CPU emulation of the CUDA cores
(tests/_cuda_targets.py: both thread orders, bitwise equal, no memory faults). Results
are compared with the CPU functions (themselves tested against reference files and
oracles) to 1e-10 (float64) and 1e-5 (float32) relative.
"""

import numpy as np
import pytest
from _tolerances import tol
from conftest import assert_close_ref

import sksig

torch = pytest.importorskip("torch")


def _paths(rng, shape, dtype=np.float64):
    *batch, length, dim = shape
    step = 0.7 / np.sqrt(max(length, 1))
    inc = rng.normal(size=tuple(batch) + (length, dim)) * step
    return np.cumsum(inc, axis=-2).astype(dtype)


def _same_error(cpu_call, device_call):
    """Both calls raise the same exception type with the same message."""
    with pytest.raises(Exception) as want:
        cpu_call()
    with pytest.raises(type(want.value)) as got:
        device_call()
    assert str(got.value) == str(want.value)


# ---------------------------------------------------------------- branched_sig


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("planar", [False, True])
@pytest.mark.parametrize("dim, degree", [(2, 3), (1, 5), (3, 2)])
def test_branched_sig_matches_cpu(cuda_target, dtype, planar, dim, degree, rng):
    on = cuda_target
    x = _paths(rng, (37, 5, dim), dtype)  # 37 paths: not a multiple of a block size
    for scalar_term in (False, True):
        want = sksig.branched_sig(x, degree, planar=planar, scalar_term=scalar_term)
        got = on.branched_sig(on.put(x), degree, planar=planar, scalar_term=scalar_term)
        assert_close_ref(on.check(got, dtype), want, **tol("device", dtype))


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("planar", [False, True])
def test_long_paths_match_cpu(cuda_target, dtype, planar, rng):
    on = cuda_target
    x = _paths(rng, (3, 4096, 2), dtype)  # 4,095 sequential Chen steps per path
    want = sksig.branched_sig(x, 3, planar=planar)
    got = on.branched_sig(on.put(x), 3, planar=planar)
    assert_close_ref(on.check(got, dtype), want, **tol("device", dtype))


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "time_aug, lead_lag", [(True, False), (False, True), (True, True)]
)
def test_branched_sig_transforms_multi_axis(cuda_target, dtype, time_aug, lead_lag,
                                            rng):
    on = cuda_target
    x = _paths(rng, (2, 3, 4, 2), dtype)
    kw = dict(time_aug=time_aug, lead_lag=lead_lag, end_time=2.0, planar=lead_lag)
    want = sksig.branched_sig(x, 3, **kw)
    got = on.branched_sig(on.put(x), 3, **kw)
    assert got.shape == want.shape
    assert_close_ref(on.check(got, dtype), want, **tol("device", dtype))


@pytest.mark.cuda
@pytest.mark.parametrize("planar", [False, True])
def test_branched_sig_ragged_and_degenerate(cuda_target, planar, rng):
    on = cuda_target
    ragged = [_paths(rng, (k, 2)) for k in (4, 1, 6, 2)]
    want = sksig.branched_sig(ragged, 3, planar=planar, time_aug=True)
    got = on.branched_sig(on.put(ragged), 3, planar=planar, time_aug=True)
    assert_close_ref(on.check(got, np.float64), want, **tol("device"))
    cases = [
        (np.zeros((0, 5, 2)), 3, {}),  # empty batch
        (np.zeros((3, 0, 2)), 2, {"scalar_term": True}),  # paths without points
        (np.zeros((2, 0, 2)), 2, {"time_aug": True, "lead_lag": True}),
        (_paths(rng, (4, 1, 2)), 3, {"scalar_term": True}),  # a single point
        (_paths(rng, (3, 5, 2)), 0, {"scalar_term": True}),  # degree 0
        (_paths(rng, (3, 5, 2)), 0, {}),
    ]
    for x, degree, kw in cases:
        want = sksig.branched_sig(x, degree, planar=planar, **kw)
        got = on.branched_sig(on.put(x), degree, planar=planar, **kw)
        assert got.shape == want.shape
        assert_close_ref(on.check(got, np.float64), want, **tol("device"))


@pytest.mark.cuda
@pytest.mark.parametrize("planar, method", [(False, 0), (True, 1), (True, 2)])
def test_small_every_kernel(cuda_target, planar, method, rng):
    """Every kernel on a tiny case (what tools/gpu_session.sh runs under
    compute-sanitizer): forest products (non-planar), the Lyndon solve (method 2)."""
    on = cuda_target
    x = _paths(rng, (3, 4, 2))
    bsig = sksig.branched_sig(x, 3, planar=planar, scalar_term=True)
    got = on.branched_sig(on.put(x), 3, planar=planar, scalar_term=True)
    assert_close_ref(on.check(got, np.float64), bsig, **tol("device"))
    kw = dict(planar=planar, method=method)
    log = sksig.branched_sig_to_log_sig(bsig, 2, 3, **kw)
    got = on.branched_sig_to_log_sig(on.put(bsig), 2, 3, **kw)
    assert_close_ref(on.check(got, np.float64), log, **tol("device"))
    derivs = rng.normal(size=log.shape)
    grad = sksig.branched_sig_to_log_sig_backprop(bsig, derivs, 2, 3, **kw)
    got = on.branched_sig_to_log_sig_backprop(on.put(bsig), on.put(derivs), 2, 3, **kw)
    assert_close_ref(on.check(got, np.float64), grad, **tol("device"))


# ---------------------------------------------------------------- log and backprop


def _log_cases():
    out = []
    for planar, methods in ((False, (0,)), (True, (0, 1, 2))):
        for dim, degree in ((2, 3), (1, 5), (3, 2)):
            for method in methods:
                out.append((planar, dim, degree, method))
    return out


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("planar, dim, degree, method", _log_cases())
def test_log_and_backprop_match_cpu(cuda_target, dtype, planar, dim, degree, method,
                                    rng):
    on = cuda_target
    x = _paths(rng, (37, 4, dim))
    for scalar in (False, True):
        bsig = sksig.branched_sig(x, degree, planar=planar, scalar_term=scalar)
        bsig = bsig.reshape(37, -1).astype(dtype)
        kw = dict(planar=planar, method=method)
        want = sksig.branched_sig_to_log_sig(bsig, dim, degree, **kw)
        got = on.branched_sig_to_log_sig(on.put(bsig), dim, degree, **kw)
        assert_close_ref(on.check(got, dtype), want, **tol("device", dtype))
        derivs = rng.normal(size=want.shape).astype(dtype)
        want = sksig.branched_sig_to_log_sig_backprop(bsig, derivs, dim, degree, **kw)
        got = on.branched_sig_to_log_sig_backprop(on.put(bsig), on.put(derivs), dim,
                                                  degree, **kw)
        assert_close_ref(on.check(got, dtype), want, **tol("device", dtype))


@pytest.mark.cuda
@pytest.mark.parametrize(
    "planar, method", [(False, 0), (True, 0), (True, 1), (True, 2)]
)
def test_log_multi_axis_transforms_and_empty(cuda_target, planar, method, rng):
    on = cuda_target
    kw = dict(time_aug=True, lead_lag=True, planar=planar, method=method)
    dim = 2 * 1 + 1
    n = sksig.branched_sig_length(dim, 2, planar=planar)
    bsig = rng.normal(size=(2, 3, n + 1)) * 0.5
    want = sksig.branched_sig_to_log_sig(bsig, 1, 2, **kw)
    got = on.branched_sig_to_log_sig(on.put(bsig), 1, 2, **kw)
    assert got.shape == want.shape
    assert_close_ref(on.check(got, np.float64), want, **tol("device"))
    derivs = rng.normal(size=want.shape)
    want = sksig.branched_sig_to_log_sig_backprop(bsig, derivs, 1, 2, **kw)
    got = on.branched_sig_to_log_sig_backprop(on.put(bsig), on.put(derivs), 1, 2, **kw)
    assert got.shape == want.shape
    assert_close_ref(on.check(got, np.float64), want, **tol("device"))
    empty = np.zeros((0, 4, n))
    want = sksig.branched_sig_to_log_sig(empty, 1, 2, **kw)
    got = on.branched_sig_to_log_sig(on.put(empty), 1, 2, **kw)
    assert tuple(got.shape) == want.shape
    derivs = np.zeros(want.shape)
    want = sksig.branched_sig_to_log_sig_backprop(empty, derivs, 1, 2, **kw)
    got = on.branched_sig_to_log_sig_backprop(on.put(empty), on.put(derivs), 1, 2, **kw)
    assert tuple(got.shape) == want.shape


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("planar, method, scalar_term",
                         [(False, None, True), (True, None, False), (True, 2, False),
                          (True, 0, True)])
def test_branched_log_sig_matches_cpu(cuda_target, dtype, planar, method, scalar_term,
                                      rng):
    on = cuda_target
    x = _paths(rng, (3, 5, 6, 2), dtype)
    ragged = [_paths(rng, (k, 2), dtype) for k in (3, 7, 1)]
    kw = dict(planar=planar, method=method, scalar_term=scalar_term, time_aug=True)
    for path in (x, ragged):
        want = sksig.branched_log_sig(path, 3, **kw)
        got = on.branched_log_sig(on.put(path), 3, **kw)
        assert got.shape == want.shape
        assert_close_ref(on.check(got, dtype), want, **tol("device", dtype))


@pytest.mark.cuda
def test_tables_beyond_shared_memory(cuda_target, rng):
    """Planar dimension 2, degree 6: the working vectors exceed the shared memory of
    one block (227 KiB), so they live in global scratch."""
    on = cuda_target
    x = _paths(rng, (2, 3, 2))
    want = sksig.branched_sig(x, 6, planar=True)
    got = on.branched_sig(on.put(x), 6, planar=True)
    assert_close_ref(on.check(got, np.float64), want, **tol("device"))
    for method in (0, 2):
        log = sksig.branched_sig_to_log_sig(want, 2, 6, planar=True, method=method)
        got = on.branched_sig_to_log_sig(on.put(want), 2, 6, planar=True, method=method)
        assert_close_ref(on.check(got, np.float64), log, **tol("device"))
        derivs = rng.normal(size=log.shape)
        grad = sksig.branched_sig_to_log_sig_backprop(want, derivs, 2, 6, planar=True,
                                                      method=method)
        got = on.branched_sig_to_log_sig_backprop(on.put(want), on.put(derivs), 2, 6,
                                                  planar=True, method=method)
        assert_close_ref(on.check(got, np.float64), grad, **tol("device"))


# ---------------------------------------------------------------- branched_sig_backprop


def _backprop_both(on, path, degree, dtype, scalar_term=False, **kw):
    """(device gradient as numpy, CPU gradient) at random cotangents."""
    rng = np.random.default_rng(degree)
    bsig = sksig.branched_sig(path, degree, scalar_term=scalar_term, **kw)
    derivs = rng.normal(size=bsig.shape).astype(dtype)
    want = sksig.branched_sig_backprop(path, bsig, derivs, degree, **kw)
    got = on.branched_sig_backprop(on.put(path), on.put(bsig), on.put(derivs), degree,
                                   **kw)
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want)
        return [on.check(g, dtype) for g in got], want
    assert got.shape == want.shape
    return on.check(got, dtype), want


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("planar", [False, True])
@pytest.mark.parametrize("dim, degree", [(3, 1), (3, 2), (2, 3), (2, 4), (1, 4)])
def test_branched_sig_backprop_matches_cpu(cuda_target, dtype, planar, dim, degree,
                                           rng):
    on = cuda_target
    x = _paths(rng, (37, 5, dim), dtype)
    for scalar_term in (False, True):
        got, want = _backprop_both(on, x, degree, dtype, scalar_term, planar=planar)
        assert_close_ref(got, want, **tol("device", dtype))


@pytest.mark.cuda
@pytest.mark.parametrize("planar", [False, True])
def test_branched_sig_backprop_finite_differences(cuda_target, planar, rng):
    """An oracle independent of the CPU core: the directional derivative of the
    device's own forward, by central differences."""
    on = cuda_target
    x = _paths(rng, (3, 4, 2))
    bsig = sksig.branched_sig(x, 3, planar=planar)
    w = rng.normal(size=bsig.shape)
    grad = on.check(on.branched_sig_backprop(on.put(x), on.put(bsig), on.put(w), 3,
                                             planar=planar), np.float64)
    step, h = rng.normal(size=x.shape), 1e-5

    def f(y):
        return float((on.check(on.branched_sig(on.put(y), 3, planar=planar),
                               np.float64) * w).sum())

    fd = (f(x + h * step) - f(x - h * step)) / (2 * h)
    assert abs(fd - float((grad * step).sum())) <= 1e-7 * max(1.0, abs(fd))


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "time_aug, lead_lag", [(True, False), (False, True), (True, True)]
)
def test_branched_sig_backprop_transforms_multi_axis(cuda_target, dtype, time_aug,
                                                     lead_lag, rng):
    on = cuda_target
    x = _paths(rng, (2, 3, 4, 2), dtype)
    kw = dict(time_aug=time_aug, lead_lag=lead_lag, end_time=2.0, planar=lead_lag)
    got, want = _backprop_both(on, x, 3, dtype, **kw)
    assert_close_ref(got, want, **tol("device", dtype))


@pytest.mark.cuda
@pytest.mark.parametrize("planar", [False, True])
def test_branched_sig_backprop_ragged_and_degenerate(cuda_target, planar, rng):
    on = cuda_target
    ragged = [_paths(rng, (k, 2)) for k in (4, 1, 6, 2)]  # padded with constant pieces
    for kw in ({}, {"time_aug": True}, {"lead_lag": True}):
        got, want = _backprop_both(on, ragged, 3, np.float64, planar=planar, **kw)
        for g, w in zip(got, want, strict=True):
            assert_close_ref(g, w, **tol("device"))
    cases = [
        (np.zeros((0, 5, 2)), 3, {}),  # empty batch
        (np.zeros((3, 0, 2)), 2, {}),  # paths without points
        (_paths(rng, (4, 1, 2)), 3, {"scalar_term": True}),  # a single point
        (_paths(rng, (3, 5, 2)), 0, {"scalar_term": True}),  # degree 0
        (_paths(rng, (3, 5, 2)), 0, {}),
    ]
    for x, degree, kw in cases:
        got, want = _backprop_both(on, x, degree, np.float64, planar=planar, **kw)
        assert_close_ref(got, want, **tol("device"))


@pytest.mark.cuda
def test_branched_sig_backprop_beyond_shared_memory(cuda_target, rng):
    """Planar dimension 2, degree 6: the working vectors live in global scratch."""
    on = cuda_target
    got, want = _backprop_both(on, _paths(rng, (2, 4, 2)), 6, np.float64, planar=True)
    assert_close_ref(got, want, **tol("device"))


@pytest.mark.cuda
def test_branched_sig_backprop_bad_inputs(cuda_target, rng):
    on = cuda_target
    x = _paths(rng, (3, 4, 2))
    bsig = sksig.branched_sig(x, 2)
    nan = x.copy()
    nan[1, 2, 0] = np.nan
    calls = [
        ((nan, bsig, bsig, 2), {}),
        ((x, bsig * np.inf, bsig, 2), {}),
        ((x, bsig, bsig * np.nan, 2), {}),
        ((x, bsig[:, 1:], bsig[:, 1:], 2), {}),  # wrong length
        ((x, bsig, bsig[:, 1:], 2), {}),  # derivs shorter than bsig
        ((x, bsig[:2], bsig[:2], 2), {}),  # batch shape
        ((x, bsig, bsig, 2), {"planar": True}),  # non-planar bsig, planar call
        ((x, bsig, bsig, -1), {}),
        ((x[..., :0], bsig, bsig, 2), {}),
        ((x[0, 0], bsig, bsig, 2), {}),
    ]
    for args, kw in calls:
        _same_error(
            lambda args=args, kw=kw: sksig.branched_sig_backprop(*args, **kw),
            lambda args=args, kw=kw: on.branched_sig_backprop(
                *(on.put(a) if isinstance(a, np.ndarray) else a for a in args), **kw
            ),
        )
    with pytest.raises(TypeError):  # mixed dtypes
        on.branched_sig_backprop(on.put(x), on.put(bsig),
                                 on.put(bsig.astype(np.float32)), 2)
    with pytest.raises(TypeError):  # a numpy array beside tensors
        on.branched_sig_backprop(on.put(x), on.put(bsig), bsig, 2)
    # basepoint is prepended on the device (torch operations), as on the CPU.
    point = np.array([0.3, -0.2]) if x.shape[-1] == 2 else np.full(x.shape[-1], 0.3)
    want_b = sksig.branched_sig(x, 2, basepoint=point)
    got_b = on.branched_sig(on.put(x), 2, basepoint=point)
    np.testing.assert_allclose(on.check(got_b, x.dtype), want_b, rtol=1e-12)
    want_g = sksig.branched_sig_backprop(x, want_b, np.ones_like(want_b), 2,
                                         basepoint=point)
    got_g = on.branched_sig_backprop(on.put(x), got_b, on.put(np.ones_like(want_b)),
                                     2, basepoint=point)
    np.testing.assert_allclose(on.check(got_g, x.dtype), want_g, rtol=1e-12,
                               atol=1e-14)


@pytest.mark.cuda
def test_torch_branched_sig_autograd_on_gpu(rng):
    """sksig.torch.branched_sig on CUDA tensors: the backward runs on the GPU twin of
    branched_sig_backprop and matches the CPU."""
    from _cuda_targets import gpu_available

    import sksig.torch

    if not gpu_available():
        pytest.skip("no CUDA GPU visible")
    x = _paths(rng, (5, 6, 2))
    bsig = sksig.branched_sig(x, 3, planar=True)
    w = rng.normal(size=bsig.shape)
    want = sksig.branched_sig_backprop(x, bsig, w, 3, planar=True)
    t = torch.from_numpy(x).cuda().requires_grad_(True)
    out = sksig.torch.branched_sig(t, 3, planar=True)
    assert out.device.type == "cuda"
    out.backward(torch.from_numpy(w).cuda())
    assert t.grad.device.type == "cuda"
    assert_close_ref(t.grad.cpu().numpy(), want, **tol("device"))


# ---------------------------------------------------------------- bad inputs


@pytest.mark.cuda
def test_bad_inputs(cuda_target, rng):
    on = cuda_target
    x = _paths(rng, (3, 4, 2))
    n = sksig.branched_sig_length(2, 2)
    bsig = rng.normal(size=(3, n))
    nan = x.copy()
    nan[1, 2, 0] = np.nan
    calls = [
        ("branched_sig", (nan, 2), {}),
        ("branched_sig", (x[..., :0], 2), {}),
        ("branched_sig", (x[0, 0], 2), {}),
        ("branched_sig", (x, -1), {}),
        ("branched_sig_to_log_sig", (bsig[:, 1:], 2, 2), {}),
        ("branched_sig_to_log_sig", (bsig, 2, 2), {"method": 1}),
        ("branched_sig_to_log_sig", (np.full_like(bsig, np.inf), 2, 2), {}),
        ("branched_sig_to_log_sig_backprop", (bsig, bsig[:2], 2, 2), {}),
        ("branched_sig_to_log_sig_backprop", (bsig, bsig[:, 1:], 2, 2), {}),
    ]
    for name, args, kw in calls:
        _same_error(
            lambda name=name, args=args, kw=kw: getattr(sksig, name)(*args, **kw),
            lambda name=name, args=args, kw=kw: getattr(on, name)(
                *(on.put(a) if isinstance(a, np.ndarray) else a for a in args), **kw
            ),
        )
    # Mixed dtypes and mixed kinds/devices: the CPU raises TypeError as well.
    with pytest.raises(TypeError):
        on.branched_sig_to_log_sig_backprop(on.put(bsig),
                                            on.put(bsig.astype(np.float32)), 2, 2)
    with pytest.raises(TypeError):
        on.branched_sig_to_log_sig_backprop(on.put(bsig), bsig, 2, 2)
    if on.kind == "gpu":  # a CPU tensor beside a CUDA one
        with pytest.raises(ValueError, match="is on cpu"):
            on.branched_sig([on.put(x[0]), torch.from_numpy(x[1])], 2)
        with pytest.raises(ValueError, match="is on cpu"):
            on.branched_sig_to_log_sig_backprop(on.put(bsig), torch.from_numpy(bsig),
                                                2, 2)


@pytest.mark.cuda
def test_torch_autograd_on_gpu(rng):
    """sksig.torch.branched_sig_to_log_sig on CUDA tensors: forward and backward run
    on the GPU twins and match the CPU."""
    import sksig.torch

    x = _paths(rng, (5, 6, 2))
    bsig = sksig.branched_sig(x, 3, planar=True)
    derivs = rng.normal(size=(5, sksig.branched_log_sig_length(2, 3, planar=True)))
    want = sksig.branched_sig_to_log_sig_backprop(bsig, derivs, 2, 3, planar=True,
                                                  method=2)
    t = torch.from_numpy(bsig).cuda().requires_grad_(True)
    out = sksig.torch.branched_sig_to_log_sig(t, 2, 3, planar=True, method=2)
    assert out.device.type == "cuda"
    out.backward(torch.from_numpy(derivs).cuda())
    assert_close_ref(t.grad.cpu().numpy(), want, **tol("device"))


@pytest.mark.cuda
def test_prepare_uploads_tables_to_the_gpu():
    from _cuda_targets import gpu_available

    if not gpu_available():
        pytest.skip("no CUDA GPU visible")
    from sksig.cuda import _tables as gpu

    sksig.prepare_branched_log_sig(2, 4, 2, planar=True, device="cuda")
    device = str(torch.device("cuda", torch.cuda.current_device()))
    parts = {key[2][3] for key in gpu._DEVICE if key[0] == device}
    assert {"gathers", "levels_lyndon", "lyndon"} <= parts


@pytest.mark.cuda
def test_a_correction_on_device_tensors_is_computed_on_the_host(cuda_target, rng):
    # Corrections have no CUDA kernel: device tensors are copied to the host and the
    # result comes back on their device, equal to the host call.
    on = cuda_target
    x = _paths(rng, (2, 4, 2), np.float64)
    correction = 0.1 * rng.standard_normal(4)
    want = sksig.branched_sig(x, 2, correction=correction)
    got = on.branched_sig(on.put(x), 2, correction=correction)
    assert got.device == on.device
    np.testing.assert_allclose(got.cpu().numpy(), want, rtol=0, atol=0)
    assert not np.allclose(want, sksig.branched_sig(x, 2))  # the correction counts
