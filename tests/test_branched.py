"""branched_sig: reference values, independent oracles, conventions, bad input."""

import numpy as np
import pytest
from _oracles_branched import (
    admissible_cuts,
    canonical,
    iterated_integral,
    ladder,
    segment_value,
    signature_levels,
)
from _tolerances import tol
from conftest import assert_close_ref, reference_cases

import sksig
from sksig._core import _backend


@pytest.mark.parametrize(
    "case, inputs, outputs", reference_cases("branched_sig.npz", "branched_sig")
)
def test_branched_sig_reference(case, inputs, outputs):
    kw = dict(case["kwargs"])
    degree = kw.pop("degree")
    got = sksig.branched_sig(inputs["path"], degree, **kw)
    assert_close_ref(got, outputs["result"])


@pytest.mark.parametrize("planar", [False, True])
@pytest.mark.parametrize("d, degree, length", [(1, 4, 4), (2, 3, 4), (3, 3, 3)])
def test_iterated_integrals(rng, d, degree, length, planar):
    path = rng.normal(size=(length, d))
    got = sksig.branched_sig(path, degree, planar=planar)
    basis = sksig.trees(d, degree, planar=planar)[1:]
    want = [iterated_integral(e, path, planar) for e in basis]
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("planar", [False, True])
def test_single_segment_closed_form(rng, planar):
    d, degree = 3, 4
    path = rng.normal(size=(2, d))
    got = sksig.branched_sig(path, degree, planar=planar, scalar_term=True)
    v = path[1] - path[0]
    want = [segment_value(e, v, planar) for e in sksig.trees(d, degree, planar=planar)]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_spec_planar_unit_segment_example():
    # d=1, v=1: [..]->1/2, [[.]]->1/2, (.,[.])->1/3, ([.],.)->1/6, [..]->1/6
    got = sksig.branched_sig(np.array([[0.0], [1.0]]), 3, planar=True)
    basis = sksig.trees(1, 3, planar=True)[1:]
    values = dict(zip(basis, got, strict=True))
    assert values[((0,), (0,))] == pytest.approx(0.5)
    assert values[(((0,), 0),)] == pytest.approx(0.5)
    assert values[((0,), ((0,), 0))] == pytest.approx(1 / 3)
    assert values[(((0,), 0), (0,))] == pytest.approx(1 / 6)
    assert values[(((0,), (0,), 0),)] == pytest.approx(1 / 6)
    nonplanar = sksig.branched_sig(np.array([[0.0], [1.0]]), 3)
    assert nonplanar[sksig.tree_to_idx(((0,), (0,), 0), 1, 3)] == pytest.approx(1 / 3)


def test_chen_identity_nonplanar(rng):
    d, degree = 2, 4
    path = rng.normal(size=(7, d)) * 0.7
    first, second = path[:4], path[3:]
    basis = sksig.trees(d, degree)
    whole = sksig.branched_sig(path, degree, scalar_term=True)
    a = sksig.branched_sig(first, degree, scalar_term=True)
    b = sksig.branched_sig(second, degree, scalar_term=True)

    def idx(tree):
        return sksig.tree_to_idx(canonical(tree, idx), d, degree, scalar_term=True)

    for i, tree in enumerate(basis[1:], start=1):
        total = 0.0
        for pruned, trunk in admissible_cuts(tree):
            value = b[idx(trunk)] if trunk is not None else 1.0
            for t in pruned:
                value *= a[idx(t)]
            total += value
        np.testing.assert_allclose(whole[i], total, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("planar", [False, True])
def test_ladders_are_the_signature(rng, planar):
    d, degree = 3, 4
    path = rng.normal(size=(6, d))
    bsig = sksig.branched_sig(path, degree, planar=planar)
    levels = signature_levels(path, degree)
    for k in range(1, degree + 1):
        for word in np.ndindex(*(d,) * k):
            tree = ladder(word)
            i = sksig.tree_to_idx(tree, d, degree, planar=planar)
            np.testing.assert_allclose(bsig[i], levels[k - 1][word], rtol=1e-11,
                                       atol=1e-13)
            if planar:  # a forest of single nodes, earliest first, is also the word
                forest = tuple((a,) for a in word)
                j = sksig.tree_to_idx(forest, d, degree, planar=True)
                np.testing.assert_allclose(bsig[j], levels[k - 1][word], rtol=1e-11,
                                           atol=1e-13)


@pytest.mark.parametrize("planar", [False, True])
def test_transforms_match_transform_path(rng, planar):
    path = rng.normal(size=(2, 4, 2))
    for time_aug, lead_lag in [(True, False), (False, True), (True, True)]:
        got = sksig.branched_sig(path, 3, time_aug=time_aug, lead_lag=lead_lag,
                                 end_time=2.0, planar=planar)
        transformed = sksig.transform_path(path, time_aug=time_aug, lead_lag=lead_lag,
                                           end_time=2.0)
        want = sksig.branched_sig(transformed, 3, planar=planar)
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("planar", [False, True])
def test_batch_axes_ragged_and_n_jobs(rng, planar, monkeypatch):
    import sksig._branched

    monkeypatch.setattr(_backend, "_WORK_PER_THREAD", 1)  # thread tiny batches
    paths = rng.normal(size=(2, 11, 5, 2))
    out = sksig.branched_sig(paths, 3, planar=planar)
    n = sksig.branched_sig_length(2, 3, planar=planar)
    assert out.shape == (2, 11, n)
    single = sksig.branched_sig(paths[1, 2], 3, planar=planar)
    np.testing.assert_array_equal(out[1, 2], single)
    threaded = sksig.branched_sig(paths, 3, planar=planar, n_jobs=3)
    np.testing.assert_array_equal(out, threaded)
    ragged = [paths[0, 0], paths[0, 1, :3], paths[1, 0, :1]]
    got = sksig.branched_sig(ragged, 3, planar=planar)
    assert got.shape == (3, n)
    for g, p in zip(got, ragged, strict=True):
        np.testing.assert_allclose(g, sksig.branched_sig(p, 3, planar=planar),
                                   rtol=1e-14, atol=1e-15)


def test_float32_and_torch(rng):
    torch = pytest.importorskip("torch")
    path = rng.normal(size=(3, 5, 2)) * 0.5
    want = sksig.branched_sig(path, 3, planar=True)
    got32 = sksig.branched_sig(path.astype(np.float32), 3, planar=True)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, want, **tol("float32"))
    tensor = sksig.branched_sig(torch.from_numpy(path), 3, planar=True)
    assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.float64
    np.testing.assert_array_equal(tensor.numpy(), want)


@pytest.mark.parametrize("scalar_term", [False, True])
def test_short_paths_and_degree_zero(scalar_term):
    n = sksig.branched_sig_length(2, 3, scalar_term=scalar_term)
    want = np.zeros(n)
    if scalar_term:
        want[0] = 1.0
    for path in (np.ones((1, 2)), np.zeros((0, 2))):
        got = sksig.branched_sig(path, 3, scalar_term=scalar_term)
        np.testing.assert_array_equal(got, want)
    got = sksig.branched_sig(np.ones((1, 2)), 3, time_aug=True, scalar_term=scalar_term)
    assert got.shape == (sksig.branched_sig_length(3, 3, scalar_term=scalar_term),)
    assert sksig.branched_sig(np.ones((4, 2)), 0, scalar_term=scalar_term).shape == (
        int(scalar_term),
    )


def test_empty_batch():
    got = sksig.branched_sig(np.zeros((0, 5, 2)), 3, planar=True)
    assert got.shape == (0, sksig.branched_sig_length(2, 3, planar=True))


@pytest.mark.parametrize(
    "path, kwargs, exc, match",
    [
        (np.array([[0.0, np.nan], [1.0, 1.0]]), {}, ValueError, "NaN"),
        (np.zeros(4), {}, ValueError, "dimensions"),
        (np.zeros((3, 0)), {}, ValueError, "channel"),
        (np.zeros((3, 2), np.float16), {}, TypeError, "float32 or float64"),
        (np.zeros((3, 2)), {"degree": -1}, ValueError, "degree"),
        (np.zeros((3, 2)), {"degree": 2.0}, TypeError, "degree"),
        (np.zeros((3, 2)), {"planar": "yes"}, TypeError, "planar"),
        (np.zeros((3, 2)), {"correction": 1.0}, ValueError, "correction"),
        (np.zeros((3, 2)), {"n_jobs": 0}, ValueError, "n_jobs"),
        (np.zeros((3, 2)), {"end_time": float("inf"), "time_aug": True}, ValueError,
         "end_time"),
        ("path", {}, TypeError, "path"),
        ([np.zeros((3, 2)), np.zeros((3, 3))], {}, ValueError, "same dimension"),
    ],
)
def test_bad_input(path, kwargs, exc, match):
    kwargs = {"degree": 2, **kwargs}
    degree = kwargs.pop("degree")
    with pytest.raises(exc, match=match):
        sksig.branched_sig(path, degree, **kwargs)


def test_prepare_is_optional_and_validated():
    assert sksig.prepare_branched_sig(2, 3, planar=True, lead_lag=True) is None
    with pytest.raises(ValueError, match="device"):
        sksig.prepare_branched_sig(2, 3, device="tpu")
    with pytest.raises(ValueError, match="dimension"):
        sksig.prepare_branched_sig(-1, 3)


def test_concurrent_first_use_builds_consistent_tables(rng):
    from concurrent.futures import ThreadPoolExecutor

    path = rng.normal(size=(3, 4, 5)) * 0.3  # d=5 is used by no other test
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(
            lambda planar: sksig.branched_log_sig(path, 3, planar=planar, method=0),
            [True, False, True, False],
        ))
    np.testing.assert_array_equal(results[0], results[2])
    np.testing.assert_array_equal(results[1], results[3])
    np.testing.assert_allclose(
        results[1][..., : 5], sksig.branched_sig(path, 1), rtol=1e-14, atol=0
    )
