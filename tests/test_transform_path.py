"""transform_path and its backprop: reference values, an oracle, finite differences."""

import numpy as np
import pytest
from conftest import assert_close_ref, reference_cases

import sksig


def naive_transform(x, time_aug, lead_lag, end_time):
    """Written from SPEC.md section 2, one row at a time."""
    rows = []
    if lead_lag:
        for k in range(len(x)):
            rows.append(np.concatenate([x[k], x[k]]))
            if k + 1 < len(x):
                rows.append(np.concatenate([x[k], x[k + 1]]))
    else:
        rows = [row for row in x]
    out = np.array(rows, dtype=float)
    if time_aug:
        n = len(out)
        t = end_time * np.arange(n) / (n - 1) if n > 1 else np.zeros(1)
        out = np.column_stack([out, t])
    return out


@pytest.mark.parametrize("case, inputs, outputs",
                         reference_cases("transform_path.npz"))
def test_matches_reference(case, inputs, outputs):
    kwargs = case["kwargs"]
    got = sksig.transform_path(inputs["path"], **kwargs)
    assert_close_ref(got, outputs["result"], rtol=1e-12)
    grad = sksig.transform_path_backprop(inputs["derivs"], **kwargs)
    assert_close_ref(grad, outputs["path_grad"], rtol=1e-12)


FLAGS = [(True, False), (False, True), (True, True)]


@pytest.mark.parametrize("time_aug, lead_lag", FLAGS)
@pytest.mark.parametrize("length", [1, 2, 5])
def test_matches_naive_oracle(rng, time_aug, lead_lag, length):
    x = rng.standard_normal((length, 3))
    got = sksig.transform_path(x, time_aug=time_aug, lead_lag=lead_lag, end_time=2.5)
    np.testing.assert_allclose(got, naive_transform(x, time_aug, lead_lag, 2.5),
                               rtol=1e-15, atol=0)


@pytest.mark.parametrize("time_aug, lead_lag", FLAGS)
def test_backprop_is_the_adjoint(rng, time_aug, lead_lag):
    # The transform is linear in x (plus a constant time channel), so the backprop must
    # satisfy <T(x) - T(0), g> = <x, T*(g)>; central differences agree as well.
    x = rng.standard_normal((2, 4, 3))
    y = sksig.transform_path(x, time_aug=time_aug, lead_lag=lead_lag)
    g = rng.standard_normal(y.shape)
    grad = sksig.transform_path_backprop(g, time_aug=time_aug, lead_lag=lead_lag)
    assert grad.shape == x.shape
    eps = 1e-6
    fd = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = eps
        plus = sksig.transform_path(x + e, time_aug=time_aug, lead_lag=lead_lag)
        minus = sksig.transform_path(x - e, time_aug=time_aug, lead_lag=lead_lag)
        fd[idx] = np.sum((plus - minus) * g) / (2 * eps)
    np.testing.assert_allclose(grad, fd, rtol=1e-8, atol=1e-10)


def test_batch_axes_float32_fortran_readonly(rng):
    x = rng.standard_normal((2, 3, 6, 2))
    want = np.stack([naive_transform(p, True, True, 1.0)
                     for p in x.reshape(-1, 6, 2)]).reshape(2, 3, 11, 5)
    fortran = np.asfortranarray(x)
    readonly = x.copy()
    readonly.flags.writeable = False
    for arr in (x, fortran, readonly):
        np.testing.assert_allclose(
            sksig.transform_path(arr, time_aug=True, lead_lag=True), want, rtol=1e-15)
    got32 = sksig.transform_path(x.astype(np.float32), time_aug=True, lead_lag=True)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, want, rtol=1e-6)


def test_memmap_and_integer_input(tmp_path):
    x = np.arange(12, dtype=np.int64).reshape(6, 2)
    got = sksig.transform_path(x, lead_lag=True)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, naive_transform(x, False, True, 1.0))
    mm = np.memmap(tmp_path / "x.dat", dtype=np.float64, mode="w+", shape=(6, 2))
    mm[:] = x
    np.testing.assert_array_equal(sksig.transform_path(mm, lead_lag=True), got)


def test_lenient_scalar_arguments():
    x = np.array([[0.0, 1.0], [2.0, 3.0], [5.0, 7.0]])
    got = sksig.transform_path(x, time_aug=np.bool_(True), lead_lag=np.True_,
                               end_time=2)
    np.testing.assert_allclose(got, naive_transform(x, True, True, 2.0))
    assert sksig.transform_path(x, n_jobs=None) is x
    np.testing.assert_array_equal(
        sksig.transform_path(x, lead_lag=True, n_jobs=-1),
        sksig.transform_path(x, lead_lag=True, n_jobs=1))


def test_spec_example():
    x = np.array([[0.0, 1.0], [2.0, 3.0], [5.0, 7.0]])
    want = np.array([[0, 1, 0, 1, 0], [0, 1, 2, 3, 0.25], [2, 3, 2, 3, 0.5],
                     [2, 3, 5, 7, 0.75], [5, 7, 5, 7, 1]])
    np.testing.assert_array_equal(sksig.transform_path(x, time_aug=True, lead_lag=True),
                                  want)


def test_ragged_list_transforms_each_path(rng):
    paths = [rng.standard_normal((n, 2)) for n in (3, 1, 5)]
    got = sksig.transform_path(paths, time_aug=True, lead_lag=True)
    assert isinstance(got, list) and len(got) == 3
    for p, g in zip(paths, got):
        np.testing.assert_allclose(g, naive_transform(p, True, True, 1.0), rtol=1e-15)
    derivs = [rng.standard_normal(g.shape) for g in got]
    grads = sksig.transform_path_backprop(derivs, time_aug=True, lead_lag=True)
    for p, d, g in zip(paths, derivs, grads):
        assert g.shape == p.shape
        np.testing.assert_allclose(
            g, sksig.transform_path_backprop(d, time_aug=True, lead_lag=True))


def test_one_point_path_has_time_zero():
    got = sksig.transform_path(np.array([[3.0, 4.0]]), time_aug=True, lead_lag=True)
    np.testing.assert_array_equal(got, [[3.0, 4.0, 3.0, 4.0, 0.0]])


def test_empty_batch():
    x = np.zeros((0, 4, 2))
    got = sksig.transform_path(x, time_aug=True, lead_lag=True)
    assert got.shape == (0, 7, 5)
    grad = sksig.transform_path_backprop(np.zeros((0, 7, 5)), time_aug=True,
                                         lead_lag=True)
    assert grad.shape == (0, 4, 2)


def test_torch_in_torch_out():
    torch = pytest.importorskip("torch")
    x = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    got = sksig.transform_path(x, time_aug=True, lead_lag=True)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    np.testing.assert_allclose(
        got.numpy(), sksig.transform_path(x.detach().numpy(), time_aug=True,
                                          lead_lag=True))
    g = torch.randn(got.shape, dtype=torch.float32)
    grad = sksig.transform_path_backprop(g, time_aug=True, lead_lag=True)
    assert isinstance(grad, torch.Tensor) and grad.dtype == torch.float32
    assert grad.shape == x.shape


@pytest.mark.parametrize(
    "path, kwargs, error, match",
    [
        (np.zeros(3), {}, ValueError, "at least 2 dimensions"),
        (np.zeros((0, 2)), {}, ValueError, "at least 1 point"),
        (np.zeros((3, 0)), {}, ValueError, "at least one channel"),
        (np.array([[np.nan, 1.0], [0, 0]]), {}, ValueError, "NaN or inf"),
        (np.array([[np.inf, 1.0], [0, 0]]), {}, ValueError, "NaN or inf"),
        (np.zeros((3, 2), dtype=np.float16), {}, TypeError, "float32 or float64"),
        (np.zeros((3, 2), dtype=complex), {}, TypeError, "float32 or float64"),
        (np.zeros((3, 2), dtype=bool), {}, TypeError, "float32 or float64"),
        ("abc", {}, TypeError, "numpy array or a torch tensor"),
        (np.zeros((3, 2)), {"time_aug": 1}, TypeError, "time_aug must be a bool"),
        (np.zeros((3, 2)), {"lead_lag": "yes"}, TypeError, "lead_lag must be a bool"),
        (np.zeros((3, 2)), {"end_time": "1"}, TypeError, "end_time"),
        (np.zeros((3, 2)), {"end_time": np.inf}, ValueError, "end_time must be finite"),
        (np.zeros((3, 2)), {"n_jobs": 0}, ValueError, "n_jobs must not be 0"),
        (np.zeros((3, 2)), {"n_jobs": 1.5}, TypeError, "n_jobs must be an int"),
        ([np.zeros((3, 2)), np.zeros((3, 3))], {}, ValueError, "same dimension"),
        ([], {}, ValueError, "empty list"),
    ],
)
def test_bad_input(path, kwargs, error, match):
    with pytest.raises(error, match=match):
        sksig.transform_path(path, **kwargs)


@pytest.mark.parametrize(
    "derivs, kwargs, match",
    [
        (np.zeros((4, 4)), {"lead_lag": True}, "odd length"),
        (np.zeros((3, 3)), {"lead_lag": True}, "even number of path channels"),
        (np.zeros((3, 1)), {"time_aug": True}, "cannot produce"),
        (np.zeros(3), {"time_aug": True}, "at least 2 dimensions"),
    ],
)
def test_backprop_bad_input(derivs, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sksig.transform_path_backprop(derivs, **kwargs)


def test_mixed_kinds_rejected():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="torch"):
        sksig.transform_path([np.zeros((3, 2)), torch.zeros(3, 2, dtype=torch.float64)])
    with pytest.raises(TypeError, match="dtype"):
        sksig.transform_path([np.zeros((3, 2)), np.zeros((3, 2), np.float32)])


def test_all_finite_fast_path_and_overflowing_sums():
    from sksig._array import all_finite

    assert all_finite(np.zeros(0))
    assert all_finite(np.array([1.0, 2.0]))
    # Finite entries whose sum overflows must still count as finite.
    assert all_finite(np.array([1e308, 1e308, -1e308]))
    assert all_finite(np.array([3e38, 3e38], dtype=np.float32))
    for bad in (np.nan, np.inf, -np.inf):
        assert not all_finite(np.array([1.0, bad, 2.0]))
    assert not all_finite(np.array([np.inf, -np.inf]))
    assert not all_finite(np.array([1e308, 1e308, np.nan]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_all_finite_finds_a_bad_entry_at_every_position(dtype):
    # The native check sums in four strands plus a tail: every position must count.
    from sksig._array import all_finite

    info = np.finfo(dtype)
    for n in range(1, 10):
        good = np.full(n, info.max, dtype)
        good[::2] = -info.tiny / 4  # subnormal
        assert all_finite(good)
        assert all_finite(good.reshape(1, n, 1))
        for i in range(n):
            for bad in (np.nan, np.inf, -np.inf):
                x = good.copy()
                x[i] = bad
                assert not all_finite(x), (n, i, bad)
                assert not all_finite(np.repeat(x, 2)[::2]), (n, i, bad)  # strided
    assert all_finite(np.arange(6).reshape(2, 3))  # not a float array: numpy's check
