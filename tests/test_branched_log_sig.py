"""Branched log-signatures and their backprop: reference values and oracles."""

import numpy as np
import pytest
from _oracles_branched import derivative_at_zero_weights, lyndon_bracket, repeated
from _tolerances import tol
from conftest import assert_close_ref, reference_cases

import sksig
from sksig._core import _backend

FILE = "branched_log_sig.npz"
N23 = sksig.branched_sig_length(2, 3)
P23 = sksig.branched_sig_length(2, 3, planar=True)
L23 = sksig.branched_log_sig_length(2, 3, planar=True)


@pytest.mark.parametrize(
    "case, inputs, outputs", reference_cases(FILE, "branched_sig_to_log_sig")
)
def test_to_log_sig_reference(case, inputs, outputs):
    kw = dict(case["kwargs"])
    kw["scalar_term"] = bool(kw.pop("scalar_term_in_bsig"))
    d, n = kw.pop("dimension"), kw.pop("degree")
    got = sksig.branched_sig_to_log_sig(inputs["bsig"], d, n, **kw)
    assert_close_ref(got, outputs["result"])
    grad = sksig.branched_sig_to_log_sig_backprop(inputs["bsig"],
                                                  inputs["blogsig_derivs"], d, n, **kw)
    assert_close_ref(grad, outputs["grad_bsig"])


@pytest.mark.parametrize(
    "case, inputs, outputs", reference_cases(FILE, "branched_log_sig")
)
def test_log_sig_reference(case, inputs, outputs):
    kw = dict(case["kwargs"])
    got = sksig.branched_log_sig(inputs["path"], kw.pop("degree"), **kw)
    assert_close_ref(got, outputs["result"])


@pytest.mark.parametrize(
    "case, inputs, outputs", reference_cases(FILE, "branched_sig_to_log_sig_backprop")
)
def test_backprop_reference(case, inputs, outputs):
    kw = dict(case["kwargs"])
    d, n = kw.pop("dimension"), kw.pop("degree")
    got = sksig.branched_sig_to_log_sig_backprop(
        inputs["bsig"], inputs["blogsig_derivs"], d, n, **kw
    )
    assert_close_ref(got, outputs["grad_bsig"])


def test_spec_examples():
    path = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(sksig.branched_log_sig(path, 2), [1, 1, 0, 0.5, -0.5, 0],
                               atol=1e-15)
    np.testing.assert_allclose(
        sksig.branched_log_sig(path, 2, planar=True, method=0),
        [1, 1, 0, 0.5, -0.5, 0, 0, 0.5, -0.5, 0], atol=1e-15,
    )
    for method in (None, 1, 2):
        np.testing.assert_allclose(
            sksig.branched_log_sig(path, 2, planar=True, method=method),
            [1, 1, 0.5, 0, 0.5, -0.5, 0], atol=1e-15,
        )


# Degrees 5-6 at d = 1-2: the full series takes an element's levels in register groups
# (3 per group in float64) and collapses the levels of the elements with `degree` nodes
# (top_log in branched.hpp); these need several groups.
@pytest.mark.parametrize("planar", [False, True])
@pytest.mark.parametrize("d, degree", [(1, 5), (2, 4), (3, 3), (1, 6), (2, 5)])
def test_log_is_derivative_of_powers(rng, d, degree, planar):
    # X^{*n} is the branched signature of the path run n times; log X = d/dt X^{*t}|0.
    path = rng.normal(size=(4, d)) * (0.6 if degree < 5 else 0.5)
    weights = derivative_at_zero_weights(degree)
    powers = [sksig.branched_sig(repeated(path, k), degree, planar=planar)
              for k in range(degree + 1)]
    want = sum(w * p for w, p in zip(weights, powers, strict=True))
    got = sksig.branched_log_sig(path, degree, planar=planar, method=0)
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-9)


def _letters(forest, d, degree):
    """A planar forest as its sequence of tree indices in T(d, degree, planar=True)."""
    return tuple(sksig.tree_to_idx(t, d, degree, planar=True) for t in forest)


@pytest.mark.parametrize("d, degree", [(1, 5), (2, 4)])
def test_lyndon_methods_against_the_full_log(rng, d, degree):
    path = rng.normal(size=(5, d)) * 0.6
    full = sksig.branched_log_sig(path, degree, planar=True, method=0)
    basis = sksig.trees(d, degree, planar=True)[1:]
    words = [_letters(f, d, degree) for f in basis]
    lyndon = [i for i, w in enumerate(words)
              if all(w < w[j:] + w[:j] for j in range(1, len(w)))]
    assert len(lyndon) == sksig.branched_log_sig_length(d, degree, planar=True)
    m1 = sksig.branched_log_sig(path, degree, planar=True, method=1)
    np.testing.assert_allclose(m1, full[lyndon], rtol=1e-13, atol=1e-15)
    # Method 2: the log is a Lie series in the tree letters, sum_w c_w P_w.
    m2 = sksig.branched_log_sig(path, degree, planar=True, method=2)
    position = {w: i for i, w in enumerate(words)}
    rebuilt = np.zeros_like(full)
    for c, i in zip(m2, lyndon, strict=True):
        for word, k in lyndon_bracket(words[i]).items():
            rebuilt[position[word]] += k * c
    np.testing.assert_allclose(rebuilt, full, rtol=1e-10, atol=1e-12)


def _central_differences(func, x, cotangent, eps=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = np.sum(cotangent * (func(x + step) - func(x - step))) / (2 * eps)
    return grad


@pytest.mark.parametrize("scalar", [False, True])
@pytest.mark.parametrize(
    "planar, method", [(False, 0), (True, 0), (True, 1), (True, 2)]
)
def test_backprop_finite_differences(rng, planar, method, scalar):
    d, degree = 2, 3
    n = sksig.branched_sig_length(d, degree, planar=planar, scalar_term=scalar)
    bsig = rng.normal(size=(2, n)) * 0.5

    def forward(x):
        return sksig.branched_sig_to_log_sig(x, d, degree, planar=planar, method=method)

    cotangent = rng.normal(size=forward(bsig).shape)
    got = sksig.branched_sig_to_log_sig_backprop(bsig, cotangent, d, degree,
                                                 planar=planar, method=method)
    want = _central_differences(forward, bsig, cotangent)
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-8)
    if scalar:
        assert np.all(got[:, 0] == 0)


@pytest.mark.parametrize("planar, method", [(False, 0), (True, 1), (True, 2)])
def test_torch_gradcheck(rng, planar, method):
    torch = pytest.importorskip("torch")
    import sksig.torch

    n = sksig.branched_sig_length(2, 3, planar=planar)
    bsig = torch.tensor(rng.normal(size=(2, n)) * 0.5, requires_grad=True)

    def func(x):
        return sksig.torch.branched_sig_to_log_sig(x, 2, 3, planar=planar,
                                                   method=method)

    assert torch.autograd.gradcheck(func, (bsig,), eps=1e-6, atol=1e-7)


def test_scalar_entry_is_ignored_and_mirrored(rng):
    n = sksig.branched_sig_length(2, 3)
    bsig = rng.normal(size=(3, n))
    with_one = np.concatenate([np.full((3, 1), 7.0), bsig], axis=1)
    plain = sksig.branched_sig_to_log_sig(bsig, 2, 3)
    mirrored = sksig.branched_sig_to_log_sig(with_one, 2, 3)
    assert mirrored.shape == (3, n + 1)
    np.testing.assert_array_equal(mirrored[:, 0], 0)
    np.testing.assert_array_equal(mirrored[:, 1:], plain)
    planar = rng.normal(size=(3, P23))
    planar_one = np.concatenate([np.full((3, 1), -3.0), planar], axis=1)
    for method in (0, 1, 2):
        a = sksig.branched_sig_to_log_sig(planar, 2, 3, planar=True, method=method)
        b = sksig.branched_sig_to_log_sig(planar_one, 2, 3, planar=True, method=method)
        np.testing.assert_array_equal(b[:, 1:] if method == 0 else b, a)
    # branched_log_sig: scalar_term only changes method 0
    path = rng.normal(size=(4, 2))
    with_zero = sksig.branched_log_sig(path, 3, scalar_term=True)
    assert with_zero[0] == 0
    np.testing.assert_array_equal(with_zero[1:], sksig.branched_log_sig(path, 3))
    np.testing.assert_array_equal(
        sksig.branched_log_sig(path, 3, planar=True, scalar_term=True),
        sksig.branched_log_sig(path, 3, planar=True),
    )


def test_batch_axes_n_jobs_float32_torch(rng, monkeypatch):
    import sksig._branched

    torch = pytest.importorskip("torch")
    monkeypatch.setattr(_backend, "_WORK_PER_THREAD", 1)  # thread tiny batches
    paths = rng.normal(size=(2, 11, 5, 2)) * 0.5
    out = sksig.branched_log_sig(paths, 3, planar=True, method=2)
    assert out.shape == (2, 11, sksig.branched_log_sig_length(2, 3, planar=True))
    np.testing.assert_array_equal(
        out, sksig.branched_log_sig(paths, 3, planar=True, method=2, n_jobs=3))
    for planar, method in [(False, 0), (True, 0), (True, 1)]:
        bsig = sksig.branched_sig(paths, 3, planar=planar)
        derivs = rng.normal(size=sksig.branched_sig_to_log_sig(
            bsig, 2, 3, planar=planar, method=method).shape)
        grads = [sksig.branched_sig_to_log_sig_backprop(
            bsig, derivs, 2, 3, planar=planar, method=method, n_jobs=j) for j in (1, 3)]
        np.testing.assert_array_equal(grads[0], grads[1])
    np.testing.assert_array_equal(
        out[1, 0], sksig.branched_log_sig(paths[1, 0], 3, planar=True, method=2))
    out32 = sksig.branched_log_sig(paths.astype(np.float32), 3, planar=True, method=2)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out, **tol("float32"))
    bsig = sksig.branched_sig(torch.from_numpy(paths), 3)
    log = sksig.branched_sig_to_log_sig(bsig, 2, 3)
    assert isinstance(log, torch.Tensor)
    grad = sksig.branched_sig_to_log_sig_backprop(bsig, torch.ones_like(log), 2, 3,
                                                  n_jobs=2)
    assert isinstance(grad, torch.Tensor) and grad.shape == bsig.shape
    np.testing.assert_array_equal(
        grad.numpy(),
        sksig.branched_sig_to_log_sig_backprop(bsig.numpy(), np.ones(log.shape), 2, 3))


def test_empty_batch():
    n = sksig.branched_sig_length(2, 3, planar=True)
    m = sksig.branched_log_sig_length(2, 3, planar=True)
    assert sksig.branched_sig_to_log_sig(np.zeros((0, n)), 2, 3, planar=True).shape == (
        0, m)
    grad = sksig.branched_sig_to_log_sig_backprop(np.zeros((0, n)), np.zeros((0, m)),
                                                  2, 3, planar=True)
    assert grad.shape == (0, n)


@pytest.mark.parametrize("planar, method", [(False, 0), (True, 1)])
def test_degree_zero_rows_of_width_zero(planar, method):
    # Degree 0 without the scalar term: a batch of empty rows in, empty rows out.
    x = np.zeros((4, 3, 0))
    log = sksig.branched_sig_to_log_sig(x, 2, 0, planar=planar, method=method)
    assert log.shape == (4, 3, 0)
    grad = sksig.branched_sig_to_log_sig_backprop(x, log, 2, 0, planar=planar,
                                                  method=method)
    assert grad.shape == (4, 3, 0)


def test_flags_select_transformed_dimension(rng):
    path = rng.normal(size=(4, 2))
    bsig = sksig.branched_sig(path, 2, time_aug=True, lead_lag=True)
    got = sksig.branched_sig_to_log_sig(bsig, 2, 2, time_aug=True, lead_lag=True)
    want = sksig.branched_sig_to_log_sig(bsig, 5, 2)
    np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="trailing length"):
        sksig.branched_sig_to_log_sig(bsig, 2, 2)


@pytest.mark.parametrize(
    "bsig, kwargs, exc, match",
    [
        (np.zeros(N23 + 2), {}, ValueError, "trailing length"),
        (np.zeros(N23 - 1), {}, ValueError, "trailing length"),
        (np.full(N23, np.nan), {}, ValueError, "NaN"),
        (np.zeros(N23), {"method": 1}, ValueError, "planar"),
        (np.zeros(P23), {"planar": True, "method": 4}, ValueError, "method"),
        (np.zeros(P23), {"planar": True, "method": 7}, ValueError, "method"),
        (np.zeros(P23), {"planar": True, "method": 1.0}, TypeError, "method"),
        (np.zeros(N23), {"degree": -1}, ValueError, "degree"),
        (np.zeros(N23), {"dimension": -1}, ValueError, "dimension"),
        (np.zeros(N23), {"degree": 0}, ValueError, "trailing length"),
        (np.zeros(N23, np.int8).astype(np.float16), {}, TypeError, "float32"),
        (np.zeros(N23), {"n_jobs": 0}, ValueError, "n_jobs"),
    ],
)
def test_bad_input(bsig, kwargs, exc, match):
    kwargs = {"dimension": 2, "degree": 3, **kwargs}
    d, n = kwargs.pop("dimension"), kwargs.pop("degree")
    with pytest.raises(exc, match=match):
        sksig.branched_sig_to_log_sig(bsig, d, n, **kwargs)


@pytest.mark.parametrize("planar, method",
                         [(False, 0), (True, 0), (True, 1), (True, 2)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scalar", [False, True])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_entry_anywhere_is_the_inputs_fault(rng, planar, method, dtype,
                                                      scalar, bad):
    # The CPU log and its backprop do not scan bsig and blogsig_derivs up front: the
    # core tests every entry it reads (the scalar entries, which it ignores, are
    # checked apart). The message must still blame the input, wherever the entry is
    # (scalar entry, first/last column, a partial lane block) and for every n_jobs. A
    # finite overflow stays an overflow.
    n = sksig.branched_sig_length(3, 3 if planar else 4, planar=planar)
    degree = 3 if planar else 4
    clean = (rng.normal(size=(37, n)) * 0.3).astype(dtype)
    if scalar:
        clean = np.concatenate([np.ones((37, 1), dtype), clean], axis=1)
    kw = {"planar": planar, "method": method}
    derivs = np.ones_like(sksig.branched_sig_to_log_sig(clean, 3, degree, **kw))
    first = int(scalar)  # the first tree's column (a bool would index as a mask)
    for row, col in [(0, 0), (36, n - 1 + first), (17, 5), (33, first)]:
        x = clean.copy()
        x[row, col] = bad
        for n_jobs in (1, 2):
            with pytest.raises(ValueError, match="bsig contains NaN or inf"):
                sksig.branched_sig_to_log_sig(x, 3, degree, n_jobs=n_jobs, **kw)
            with pytest.raises(ValueError, match="bsig contains NaN or inf"):
                sksig.branched_sig_to_log_sig_backprop(x, derivs, 3, degree,
                                                       n_jobs=n_jobs, **kw)
    for row, col in [(0, 0), (36, derivs.shape[1] - 1), (17, 2)]:
        d = derivs.copy()
        d[row, col] = bad
        for n_jobs in (1, 2):
            with pytest.raises(ValueError, match="blogsig_derivs contains NaN or inf"):
                sksig.branched_sig_to_log_sig_backprop(clean, d, 3, degree,
                                                       n_jobs=n_jobs, **kw)
    big = clean * dtype(1e30 if dtype == np.float32 else 1e200)
    if scalar:
        big[:, 0] = 1
    with pytest.raises(FloatingPointError, match="overflowed"):
        sksig.branched_sig_to_log_sig(big, 3, degree, **kw)
    with pytest.raises(FloatingPointError, match="overflowed"):
        sksig.branched_sig_to_log_sig_backprop(big, derivs, 3, degree, **kw)


@pytest.mark.parametrize(
    "bsig, derivs, kwargs, exc, match",
    [
        (np.zeros((2, N23)), np.zeros((3, N23)), {}, ValueError, "batch shape"),
        (np.zeros((2, N23)), np.zeros((2, N23 + 2)), {}, ValueError, "trailing"),
        (np.zeros((2, P23)), np.zeros((2, L23 + 1)), {"planar": True}, ValueError,
         "trailing length"),
        (np.zeros((2, N23)), np.zeros((2, N23), np.float32), {}, TypeError, "dtype"),
        (np.zeros((2, N23)), np.full((2, N23), np.inf), {}, ValueError, "NaN"),
    ],
)
def test_backprop_bad_input(bsig, derivs, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        sksig.branched_sig_to_log_sig_backprop(bsig, derivs, 2, 3, **kwargs)


def test_backprop_kind_mismatch():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="numpy"):
        sksig.branched_sig_to_log_sig_backprop(np.zeros(N23), torch.zeros(N23), 2, 3)


def test_log_sig_bad_input():
    path = np.zeros((4, 2))
    with pytest.raises(ValueError, match="degree"):
        sksig.branched_log_sig(path, -1)
    with pytest.raises(ValueError, match="planar"):
        sksig.branched_log_sig(path, 2, method=2)
    with pytest.raises(TypeError, match="correction"):
        sksig.branched_log_sig(path, 2, correction=True)


def test_prepare_log_sig():
    assert sksig.prepare_branched_log_sig(2, 3, 2, planar=True) is None
    with pytest.raises(ValueError, match="planar"):
        sksig.prepare_branched_log_sig(2, 3, 1)
    with pytest.raises(ValueError, match="degree"):
        sksig.prepare_branched_log_sig(2, -1, 0)


@pytest.mark.parametrize(
    "planar, method", [(False, 0), (True, 0), (True, 1), (True, 2)]
)
def test_cross_check_pysiglib(rng, planar, method):
    pysiglib = pytest.importorskip("pysiglib")
    d, degree = 2, 4
    paths = rng.normal(size=(3, 6, d)) * 0.5
    pysiglib.prepare_branched_sig(d, degree, planar=planar)
    pysiglib.prepare_branched_log_sig(d, degree, method, planar=planar)
    # np.array: owning copies, which pySigLib accepts without a warning.
    bsig = np.array(sksig.branched_sig(paths, degree, planar=planar))
    assert_close_ref(bsig, pysiglib.branched_sig(paths, degree, planar=planar))
    kw = {"planar": planar, "method": method}
    log = sksig.branched_sig_to_log_sig(bsig, d, degree, **kw)
    assert_close_ref(log, pysiglib.branched_sig_to_log_sig(bsig, d, degree, **kw))
    derivs = rng.normal(size=log.shape)
    assert_close_ref(
        sksig.branched_sig_to_log_sig_backprop(bsig, derivs, d, degree, **kw),
        pysiglib.branched_sig_to_log_sig_backprop(bsig, derivs, d, degree, **kw),
    )


def test_float32_backprop_matches_float64(rng):
    bsig = rng.normal(size=(4, P23)) * 0.5
    derivs = rng.normal(size=(4, L23))
    want = sksig.branched_sig_to_log_sig_backprop(bsig, derivs, 2, 3, planar=True,
                                                  method=2)
    got = sksig.branched_sig_to_log_sig_backprop(
        bsig.astype(np.float32), derivs.astype(np.float32), 2, 3, planar=True, method=2
    )
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


# High degrees: the reverse pass takes an element's cotangents in register groups (3
# levels per group in float64, 6 in float32) and the top elements' terms once for all
# levels (reverse_right, reverse_left in branched.hpp); these cases need several
# groups, which the degree-3 tests above do not reach.
@pytest.mark.parametrize("planar", [False, True])
@pytest.mark.parametrize("d, degree", [(1, 6), (2, 5)])
def test_high_degree_backprop_against_differences(rng, d, degree, planar):
    path = rng.normal(size=(3, d)) * 0.5
    bsig = sksig.branched_sig(path[None] * np.array([[1.0], [0.7]])[:, :, None],
                              degree, planar=planar)

    def forward(x):
        return sksig.branched_sig_to_log_sig(x, d, degree, planar=planar, method=0)

    cotangent = rng.normal(size=bsig.shape)
    grad = sksig.branched_sig_to_log_sig_backprop(bsig, cotangent, d, degree,
                                                  planar=planar, method=0)
    np.testing.assert_allclose(grad, _central_differences(forward, bsig, cotangent),
                               rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("planar", [False, True])
def test_float32_high_degree_matches_float64(rng, planar):
    # d = 1, degree 8: right factors of up to 7 nodes, more than one float32 group.
    bsig = sksig.branched_sig(rng.normal(size=(5, 6, 1)) * 0.4, 8, planar=planar)
    derivs = rng.normal(size=bsig.shape)
    for fn, args in ((sksig.branched_sig_to_log_sig, ()),
                     (sksig.branched_sig_to_log_sig_backprop, (derivs,))):
        want = fn(bsig, *args, 1, 8, planar=planar, method=0)
        got = fn(bsig.astype(np.float32), *(a.astype(np.float32) for a in args), 1, 8,
                 planar=planar, method=0)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=2e-4,
                                   atol=2e-4 * np.max(np.abs(want)))
