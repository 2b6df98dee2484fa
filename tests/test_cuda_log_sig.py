"""CUDA log_sig_join and log_sig_join_backprop against the CPU cores.

Every test takes the ``cuda_target`` fixture: on a GPU the public functions are called
with CUDA tensors (the dispatcher picks the CUDA twin); on the CPU emulation of the
CUDA cores the twin runs on CPU tensors under two thread orders (bitwise equal results
required) with fenced, NaN-poisoned memory. Results are compared with the CPU functions
(tested against oracles in test_log_sig_join.py) to 1e-10 (float64) / 1e-5 (float32)
relative.
"""

import numpy as np
import pytest
from _tolerances import tol
from conftest import assert_close_ref

import sksig

torch = pytest.importorskip("torch")
pytest.importorskip("sksig.cuda._backend")

# (dim, degree): small tensors, deeper levels, wide alphabets, dimension 1, and sizes
# whose block workspace exceeds shared memory (global scratch slices): all three for
# the float64 backward, (10, 4) and (5, 6) for the float64 forward, (2, 10) and (5, 6)
# for float32.
SHAPES = [(2, 1), (1, 1), (3, 1), (2, 3), (3, 4), (4, 3), (2, 6), (5, 2), (1, 7)]
BIG = [
    pytest.param(2, 10, np.float64),
    pytest.param(10, 4, np.float64),
    pytest.param(5, 6, np.float64),
    pytest.param(10, 4, np.float32),
    pytest.param(5, 6, np.float32),
    # Not (2, 10) in float32: there the CPU's own float32 result is ~1e-3 away from the
    # float64 one (the top-level Lyndon-bracket solve amplifies rounding about 1e4
    # times), so two float32 implementations cannot agree to 1e-5 short of rounding
    # identically; the float64 case above checks that size.
]


def _inputs(rng, dim, degree, batch, dtype, scale=0.4):
    n = sksig.log_sig_length(dim, degree)
    c = (rng.normal(size=batch + (n,)) * scale).astype(dtype)
    v = (rng.normal(size=batch + (dim,)) * scale).astype(dtype)
    g = rng.normal(size=batch + (n,)).astype(dtype)
    return c, v, g


def _check_join(on, c, v, g, dim, degree, dtype):
    want = sksig.log_sig_join(c, v, dim, degree)
    got = on.log_sig_join(on.put(c), on.put(v), dim, degree)
    assert_close_ref(on.check(got, dtype), want, **tol("device", dtype))
    want_c, want_v = sksig.log_sig_join_backprop(g, c, v, dim, degree)
    got_c, got_v = on.log_sig_join_backprop(
        on.put(g), on.put(c), on.put(v), dim, degree)
    assert_close_ref(on.check(got_c, dtype), want_c, **tol("device", dtype))
    assert_close_ref(on.check(got_v, dtype), want_v, **tol("device", dtype))


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("dim, degree", SHAPES)
def test_join_matches_cpu(cuda_target, dim, degree, dtype, rng):
    # 37 items: not a multiple of any block or grid size.
    c, v, g = _inputs(rng, dim, degree, (37,), dtype)
    _check_join(cuda_target, c, v, g, dim, degree, dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("dim, degree, dtype", BIG)
def test_large_tensors_match_cpu(cuda_target, dim, degree, dtype, rng):
    c, v, g = _inputs(rng, dim, degree, (3,), dtype, scale=0.2)
    _check_join(cuda_target, c, v, g, dim, degree, dtype)


@pytest.mark.cuda
def test_high_degree_in_dimension_one(cuda_target, rng):
    # Only the letter itself: the join is c + v, through chains of 40 steps.
    c, v, g = _inputs(rng, 1, 40, (5,), np.float64)
    _check_join(cuda_target, c, v, g, 1, 40, np.float64)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batch_shapes_scalar_term_and_empty(cuda_target, dtype, rng):
    on = cuda_target
    dim, degree = 3, 3
    n = sksig.log_sig_length(dim, degree)
    c, v, g = _inputs(rng, dim, degree, (2, 3, 5), dtype)
    _check_join(on, c, v, g, dim, degree, dtype)
    # A leading scalar term is not a log_sig convention: n + 1 entries are refused
    # like on the CPU.
    c1 = np.concatenate([np.ones(c.shape[:-1] + (1,), dtype), c], axis=-1)
    _raises_like_cpu(lambda: sksig.log_sig_join(c1, v, dim, degree),
                     lambda: on.log_sig_join(on.put(c1), on.put(v), dim, degree))
    _raises_like_cpu(
        lambda: sksig.log_sig_join_backprop(c1, c, v, dim, degree),
        lambda: on.log_sig_join_backprop(on.put(c1), on.put(c), on.put(v), dim, degree))
    # One item without batch axes, and empty batches.
    _check_join(on, c[0, 0, 0], v[0, 0, 0], g[0, 0, 0], dim, degree, dtype)
    for shape in [(0,), (2, 0)]:
        ce, ve, ge = _inputs(rng, dim, degree, shape, dtype)
        got = on.log_sig_join(on.put(ce), on.put(ve), dim, degree)
        assert tuple(got.shape) == shape + (n,)
        on.check(got, dtype)
        got_c, got_v = on.log_sig_join_backprop(
            on.put(ge), on.put(ce), on.put(ve), dim, degree)
        assert tuple(got_c.shape) == shape + (n,)
        assert tuple(got_v.shape) == shape + (dim,)


def _raises_like_cpu(call_cpu, call_gpu):
    """The CUDA call raises the exception type and message of the CPU call."""
    with pytest.raises(Exception) as want:
        call_cpu()
    with pytest.raises(want.type) as got:
        call_gpu()
    assert str(got.value) == str(want.value)


@pytest.mark.cuda
def test_bad_inputs_are_rejected_like_cpu(cuda_target, rng):
    on = cuda_target
    dim, degree = 2, 3
    c, v, g = _inputs(rng, dim, degree, (4,), np.float64)
    cases = [
        ((c[:, :3], v), {}),                     # wrong log_sig length
        ((c, v[:, :1]), {}),                     # wrong displacement length
        ((c, np.zeros((4, 3))), {}),             # dimension + 1 entries: an error
        ((np.zeros((4, 6)), v), {}),             # log_sig_length + 1: an error
        ((c[:3], v), {}),                        # batch shapes differ
        ((c, v), {"dim": 0}),                    # dimension < 1
        ((c, v), {"degree": 0}),                 # degree < 1
        ((c, v), {"degree": 1.5}),               # not an int
        ((c, v), {"degree": 1001}),              # beyond MAX_DEGREE
        ((c, v), {"n_jobs": "x"}),
    ]
    nan = c.copy()
    nan[1, 2] = np.nan
    cases.append(((nan, v), {}))
    for (a, b), kw in cases:
        dim_, degree_ = kw.get("dim", dim), kw.get("degree", degree)
        extra = {"n_jobs": kw["n_jobs"]} if "n_jobs" in kw else {}
        _raises_like_cpu(
            lambda a=a, b=b, d=dim_, n=degree_, e=extra: sksig.log_sig_join(
                a, b, d, n, **e),
            lambda a=a, b=b, d=dim_, n=degree_, e=extra: on.log_sig_join(
                on.put(a), on.put(b), d, n, **e),
        )
    # 0-d log_sig (Target.put would make it 1-d).
    _raises_like_cpu(
        lambda: sksig.log_sig_join(c[0, 0], v, dim, degree),
        lambda: on.log_sig_join(torch.tensor(c[0, 0]).to(on.device), on.put(v), dim,
                                degree),
    )
    # Finite inputs whose result overflows: the CPU's FloatingPointError.
    huge = (np.full_like(c, 1e200), np.full_like(v, 1e200))
    _raises_like_cpu(
        lambda: sksig.log_sig_join(*huge, dim, degree),
        lambda: on.log_sig_join(on.put(huge[0]), on.put(huge[1]), dim, degree),
    )
    _raises_like_cpu(
        lambda: sksig.log_sig_join_backprop(g, *huge, dim, degree),
        lambda: on.log_sig_join_backprop(
            on.put(g), on.put(huge[0]), on.put(huge[1]), dim, degree),
    )
    # Backprop: bad d_out (length, batch shape, NaN).
    for bad in (g[:, :4], g[:2], np.where(np.arange(5) == 3, np.inf, g)):
        _raises_like_cpu(
            lambda bad=bad: sksig.log_sig_join_backprop(bad, c, v, dim, degree),
            lambda bad=bad: on.log_sig_join_backprop(on.put(bad), on.put(c), on.put(v),
                                                     dim, degree),
        )
    # Mixed dtypes and kinds: TypeError; mixed devices: ValueError.
    with pytest.raises(TypeError, match="dtype"):
        on.log_sig_join(on.put(c), on.put(v.astype(np.float32)), dim, degree)
    with pytest.raises(TypeError, match="torch"):
        on.log_sig_join(on.put(c), v, dim, degree)
    with pytest.raises(TypeError, match="torch"):
        on.log_sig_join_backprop(on.put(g), c, on.put(v), dim, degree)
    elsewhere = "cpu" if on.kind == "gpu" else "meta"
    with pytest.raises(ValueError, match="is on"):
        on.log_sig_join(on.put(c), torch.from_numpy(v).to(elsewhere), dim, degree)
    with pytest.raises(ValueError, match="is on"):
        on.log_sig_join_backprop(
            on.put(g), on.put(c), torch.from_numpy(v).to(elsewhere), dim, degree)


@pytest.mark.cuda
def test_torch_autograd_wrapper_on_gpu(cuda_target, rng):
    # sksig.torch.log_sig_join calls the public functions: CUDA tensors stay on the GPU.
    if cuda_target.kind != "gpu":
        pytest.skip("the autograd wrapper dispatches CUDA tensors only")
    import sksig.torch as st

    dim, degree = 3, 4
    c, v, g = _inputs(rng, dim, degree, (6,), np.float64)
    grads = []
    for device in ("cpu", "cuda"):
        ct = torch.tensor(c, device=device, requires_grad=True)
        vt = torch.tensor(v, device=device, requires_grad=True)
        out = st.log_sig_join(ct, vt, dim, degree)
        assert out.device.type == device
        (out * torch.tensor(g, device=device)).sum().backward()
        grads.append((out.detach().cpu().numpy(), ct.grad.cpu().numpy(),
                      vt.grad.cpu().numpy()))
    for got, want in zip(grads[1], grads[0], strict=True):
        assert_close_ref(got, want, **tol("device"))


@pytest.mark.cuda
def test_prepare_uploads_the_join_tables_to_the_gpu():
    from _cuda_targets import gpu_available

    if not gpu_available():
        pytest.skip("no CUDA GPU visible")
    from sksig.cuda import _tables as gpu

    sksig.prepare_log_sig(3, 5, device="cuda")
    device = torch.cuda.current_device()
    assert any(key[1:] == (device, 3, 5) for key in gpu._HANDLES)
