"""Tests for sig and sig_length (SPEC.md section 7)."""

import _oracles_tensor as ot
import numpy as np
import pytest
from _tolerances import tol
from conftest import assert_close_ref, reference_cases

import sksig


@pytest.mark.parametrize(("case", "inputs", "outputs"),
                         reference_cases("sig.npz", "sig"))
def test_sig_reference(case, inputs, outputs):
    kwargs = dict(case["kwargs"])
    degree = kwargs.pop("degree")
    assert_close_ref(sksig.sig(inputs["path"], degree, **kwargs), outputs["result"])


def test_sig_spec_example():
    x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(sksig.sig(x, 2), [1, 1, 0.5, 1, 0, 0.5])
    np.testing.assert_allclose(sksig.sig(x, 2, scalar_term=True),
                               [1, 1, 1, 0.5, 1, 0, 0.5])


@pytest.mark.parametrize(("dim", "degree"), [(1, 5), (2, 4), (3, 3), (4, 2)])
def test_sig_matches_naive_tensor_algebra(rng, dim, degree):
    path = rng.normal(size=(6, dim))
    want = ot.flatten(ot.signature(path, degree), scalar_term=True)
    np.testing.assert_allclose(sksig.sig(path, degree, scalar_term=True), want,
                               rtol=1e-12, atol=1e-12)


def test_sig_single_segment_is_tensor_powers(rng):
    v = rng.normal(size=3)
    got = sksig.sig(np.stack([np.zeros(3), v]), 3)
    want = np.concatenate([v, np.outer(v, v).ravel() / 2,
                           np.multiply.outer(np.outer(v, v), v).ravel() / 6])
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_sig_chen_identity(rng):
    # S(x) = S(x[:k+1]) (x) S(x[k:]) for a path split at point k.
    path = rng.normal(size=(9, 2))
    degree = 4
    s = sksig.sig(path, degree, scalar_term=True)
    a = sksig.sig(path[:5], degree, scalar_term=True)
    b = sksig.sig(path[4:], degree, scalar_term=True)

    def levels(flat):
        out, start = [], 0
        for k in range(degree + 1):
            out.append(flat[start:start + 2**k].reshape((2,) * k))
            start += 2**k
        return out

    np.testing.assert_allclose(s, ot.flatten(ot.mul(levels(a), levels(b)), True),
                               rtol=1e-12, atol=1e-12)


def test_sig_length_values():
    assert [sksig.sig_length(1, n) for n in range(1, 6)] == [1, 2, 3, 4, 5]
    assert [sksig.sig_length(2, n) for n in range(1, 6)] == [2, 6, 14, 30, 62]
    assert [sksig.sig_length(3, n) for n in range(1, 6)] == [3, 12, 39, 120, 363]
    assert sksig.sig_length(2, 2, time_aug=True, lead_lag=True, scalar_term=True) == 31
    assert sksig.sig_length(2, 0) == 0
    assert sksig.sig_length(0, 3, scalar_term=True) == 1


def test_sig_batch_axes_ragged_and_n_jobs(rng):
    paths = rng.normal(size=(2, 3, 5, 2))
    got = sksig.sig(paths, 3)
    assert got.shape == (2, 3, 14)
    np.testing.assert_allclose(got[1, 2], sksig.sig(paths[1, 2], 3))
    assert np.array_equal(sksig.sig(paths, 3, n_jobs=-1), got)
    ragged = [paths[0, 0], paths[0, 1][:3]]
    out = sksig.sig(ragged, 3)
    np.testing.assert_allclose(out[1], sksig.sig(paths[0, 1][:3], 3))


def test_sig_short_paths_and_empty_batch():
    assert np.array_equal(sksig.sig(np.ones((1, 2)), 2, scalar_term=True),
                          [1, 0, 0, 0, 0, 0, 0])
    assert np.array_equal(sksig.sig(np.ones((0, 2)), 2), np.zeros(6))
    assert sksig.sig(np.ones((0, 4, 2)), 2).shape == (0, 6)
    assert np.array_equal(sksig.sig(np.ones((3, 2)), 0, scalar_term=True), [1.0])
    assert sksig.sig(np.ones((3, 2)), 0).shape == (0,)


def test_sig_float32_and_torch(rng):
    torch = pytest.importorskip("torch")
    path = rng.normal(size=(4, 6, 3))
    ref = sksig.sig(path, 3)
    got32 = sksig.sig(path.astype(np.float32), 3)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, ref, **tol("float32"))
    t = sksig.sig(torch.from_numpy(path), 3)
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float64
    np.testing.assert_allclose(t.numpy(), ref)


def test_sig_bad_input():
    with pytest.raises(ValueError, match="path"):
        sksig.sig(np.ones(3), 2)
    with pytest.raises(TypeError, match="path"):
        sksig.sig(np.ones((3, 2), dtype=np.float16), 2)
    with pytest.raises(ValueError, match="NaN"):
        sksig.sig(np.array([[0.0, np.nan], [1.0, 1.0]]), 2)
    with pytest.raises(ValueError, match="degree"):
        sksig.sig(np.ones((3, 2)), -1)
    with pytest.raises(TypeError, match="degree"):
        sksig.sig(np.ones((3, 2)), 2.0)
    with pytest.raises(TypeError, match="time_aug"):
        sksig.sig(np.ones((3, 2)), 2, time_aug="yes")
    with pytest.raises(ValueError, match="lower the degree"):
        sksig.sig(np.ones((3, 10)), 20)
