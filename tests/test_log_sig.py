"""Tests for Lyndon words, log_sig_length, log_sig and prepare_log_sig (SPEC.md 8)."""

import threading

import _oracles_tensor as ot
import numpy as np
import pytest
from _tolerances import tol
from conftest import assert_close_ref, reference_cases

import sksig


@pytest.mark.parametrize(("case", "inputs", "outputs"),
                         reference_cases("log_sig.npz", "lyndon_words"))
def test_lyndon_words_reference(case, inputs, outputs):
    want = [tuple(int(x) for x in row if x >= 0) for row in outputs["words"]]
    assert sksig.lyndon_words(**case["kwargs"]) == want


@pytest.mark.parametrize(("case", "inputs", "outputs"),
                         reference_cases("log_sig.npz", "log_sig"))
def test_log_sig_reference(case, inputs, outputs):
    kwargs = dict(case["kwargs"])
    degree = kwargs.pop("degree")
    assert_close_ref(sksig.log_sig(inputs["path"], degree, **kwargs), outputs["result"])


def test_lyndon_words_spec_examples():
    assert sksig.lyndon_words(2, 4) == [(0,), (1,), (0, 1), (0, 0, 1), (0, 1, 1),
                                        (0, 0, 0, 1), (0, 0, 1, 1), (0, 1, 1, 1)]
    assert sksig.lyndon_words_of_length(3, 2) == [(0, 1), (0, 2), (1, 2)]
    assert sksig.lyndon_words(0, 3) == [] and sksig.lyndon_words(3, 0) == []
    assert sksig.lyndon_words_of_length(2, 0) == []


@pytest.mark.parametrize(("dim", "degree"), [(1, 5), (2, 6), (3, 4), (4, 3)])
def test_lyndon_words_brute_force(dim, degree):
    assert sksig.lyndon_words(dim, degree) == ot.lyndon_words(dim, degree)
    assert len(sksig.lyndon_words(dim, degree)) == sksig.log_sig_length(dim, degree)
    for n in range(1, degree + 1):
        assert sksig.lyndon_words_of_length(dim, n) == [
            w for w in ot.lyndon_words(dim, degree) if len(w) == n]


def test_log_sig_length_values():
    assert [sksig.log_sig_length(2, n) for n in range(1, 6)] == [2, 3, 5, 8, 14]
    assert [sksig.log_sig_length(3, n) for n in range(1, 6)] == [3, 6, 14, 32, 80]
    assert [sksig.log_sig_length(1, n) for n in range(1, 6)] == [1] * 5
    assert sksig.log_sig_length(2, 3, time_aug=True) == 14
    assert sksig.log_sig_length(10, 4) == 2860
    # Degree 0 and the empty alphabet: the empty log-signature (test_edge_cases.py).
    assert sksig.log_sig_length(2, 0) == sksig.log_sig_length(0, 2) == 0
    with pytest.raises(ValueError, match="degree"):
        sksig.log_sig_length(2, -1)
    with pytest.raises(ValueError, match="dimension"):
        sksig.log_sig_length(-1, 2)


def test_log_sig_spec_example():
    x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(sksig.log_sig(x, 3, method=2),
                               [1, 1, 0.5, 1 / 12, 1 / 12])


@pytest.mark.parametrize("method", [0, 1, 2])
@pytest.mark.parametrize(("dim", "degree"), [(1, 3), (2, 5), (3, 3), (4, 2)])
def test_log_sig_matches_naive_tensor_log(rng, method, dim, degree):
    path = 0.5 * rng.normal(size=(7, dim))
    want = ot.log_sig(path, degree, method)
    np.testing.assert_allclose(sksig.log_sig(path, degree, method=method), want,
                               rtol=1e-10, atol=1e-12)


def test_log_sig_method0_scalar_term(rng):
    path = rng.normal(size=(4, 2))
    with_scalar = sksig.log_sig(path, 3, method=0, scalar_term=True)
    assert with_scalar[0] == 0.0
    np.testing.assert_allclose(with_scalar[1:], sksig.log_sig(path, 3, method=0))


@pytest.mark.parametrize("method", [0, 1, 2])
def test_log_sig_single_segment_is_the_segment(rng, method):
    v = rng.normal(size=3)
    got = sksig.log_sig(np.stack([np.ones(3), np.ones(3) + v]), 4, method=method)
    want = np.zeros_like(got)
    want[:3] = v
    np.testing.assert_allclose(got, want, atol=1e-13 * max(1.0, np.abs(v).max()) ** 4)


def test_log_sig_transforms_equal_transformed_path(rng):
    path = rng.normal(size=(3, 5, 2))
    got = sksig.log_sig(path, 3, time_aug=True, lead_lag=True, end_time=2, method=2)
    want = sksig.log_sig(sksig.transform_path(path, time_aug=True, lead_lag=True,
                                              end_time=2.0), 3, method=2)
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_log_sig_batch_ragged_torch_float32_n_jobs(rng):
    torch = pytest.importorskip("torch")
    paths = rng.normal(size=(2, 3, 6, 2))
    got = sksig.log_sig(paths, 4, method=2)
    assert got.shape == (2, 3, 8)
    np.testing.assert_allclose(got[1, 0], sksig.log_sig(paths[1, 0], 4, method=2))
    assert np.array_equal(sksig.log_sig(paths, 4, method=2, n_jobs=-1), got)
    ragged = sksig.log_sig([paths[0, 0], paths[0, 1][:2]], 4, method=2)
    np.testing.assert_allclose(ragged[1], sksig.log_sig(paths[0, 1][:2], 4, method=2))
    t = sksig.log_sig(torch.from_numpy(paths.astype(np.float32)), 4, method=2)
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float32
    np.testing.assert_allclose(t.numpy(), got, **tol("float32"))


def test_log_sig_short_paths_and_empty_batch():
    assert np.array_equal(sksig.log_sig(np.ones((1, 2)), 3, method=2), np.zeros(5))
    assert np.array_equal(sksig.log_sig(np.ones((0, 2)), 3, method=1), np.zeros(5))
    assert sksig.log_sig(np.ones((0, 4, 2)), 3, method=2).shape == (0, 5)
    assert sksig.log_sig(np.ones((0, 4, 2)), 3, method=0).shape == (0, 14)
    assert np.array_equal(sksig.log_sig(np.ones((1, 2)), 2, lead_lag=True, method=2),
                          np.zeros(10))
    with pytest.raises(ValueError, match="at least 1 point"):
        sksig.log_sig(np.ones((0, 2)), 2, time_aug=True)
    with pytest.raises(ValueError, match="at least 1 point"):
        sksig.sig(np.ones((3, 0, 2)), 2, lead_lag=True)


def test_log_sig_large_dimension_and_degree(rng):
    # The sizes users use: d = 10 at degree 4 and d = 2 up to degree 8.
    path = 0.3 * rng.normal(size=(2, 20, 10))
    out = sksig.log_sig(path, 4, method=2)
    assert out.shape == (2, 2860) and np.isfinite(out).all()
    np.testing.assert_allclose(out[:, :10], path[:, -1] - path[:, 0], rtol=1e-12)
    path2 = rng.normal(size=(20, 2))
    out2 = sksig.log_sig(path2, 8, method=2)
    assert out2.shape == (sksig.log_sig_length(2, 8),)
    # Time reversal negates a log-signature.
    np.testing.assert_allclose(sksig.log_sig(path2[::-1], 8, method=0),
                               -sksig.log_sig(path2, 8, method=0), atol=1e-9)


def test_prepare_log_sig_is_optional_and_harmless(rng):
    path = rng.normal(size=(5, 3))
    before = sksig.log_sig(path, 3, method=2)
    assert sksig.prepare_log_sig(3, 4, method=2) is None  # another degree
    assert sksig.prepare_log_sig(3, 3, 3, time_aug=True) is None
    assert np.array_equal(sksig.log_sig(path, 3, method=2), before)
    with pytest.raises(ValueError, match="method"):
        sksig.prepare_log_sig(3, 3, method=4)
    with pytest.raises(ValueError, match="device"):
        sksig.prepare_log_sig(3, 3, device="tpu")


def test_tables_built_concurrently_are_consistent(rng):
    # First use from many threads at once: one table per (dimension, degree).
    path = rng.normal(size=(4, 7))
    results = []

    def work():
        results.append(sksig.log_sig(path, 3, method=2))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6
    for r in results[1:]:
        assert np.array_equal(r, results[0])


def test_log_sig_bad_input():
    x = np.ones((3, 2))
    with pytest.raises(ValueError, match="degree"):
        sksig.log_sig(x, -1)
    with pytest.raises(ValueError, match="method"):
        sksig.log_sig(x, 2, method=4)
    with pytest.raises(TypeError, match="method"):
        sksig.log_sig(x, 2, method="brackets")
    with pytest.raises(ValueError, match="path"):
        sksig.log_sig(np.ones(3), 2)
    with pytest.raises(ValueError, match="NaN"):
        sksig.log_sig(np.array([[0.0, np.inf], [1.0, 1.0]]), 2)
    with pytest.raises(TypeError, match="path"):
        sksig.log_sig(np.ones((3, 2), dtype=np.int8).astype(np.complex64), 2)
    with pytest.raises(TypeError, match="path"):
        sksig.log_sig("path", 2)
    with pytest.raises(TypeError, match="scalar_term"):
        sksig.log_sig(x, 2, scalar_term=1)
    with pytest.raises(ValueError, match="n_jobs"):
        sksig.log_sig(x, 2, n_jobs=0)
    with pytest.raises(TypeError, match="alphabet_size"):
        sksig.lyndon_words(2.5, 3)
    with pytest.raises(ValueError, match="max_length"):
        sksig.lyndon_words(2, -1)
