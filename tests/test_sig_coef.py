"""sig_coef / extract_sig_coef / sig_coef_backprop against the naive tensor algebra,
finite differences and pySigLib (skipped without it)."""

import numpy as np
import pytest
from _oracles_tensor import signature
from conftest import central_differences

import sksig

WORDS = [(0, 1), (2, 1, 0), (1,), (), (0, 0, 0, 2), (2, 2, 1, 0, 1), (0, 1)]


def _naive(x, words):
    n = max(len(w) for w in words)
    levels = signature(x, n)
    return np.array([levels[len(w)][w] for w in words])


def _with_prefixes(words):
    return [w[:m] for w in words for m in range(1, len(w) + 1)] or [()]


def test_sig_coef_matches_the_naive_tensor_algebra(rng):
    x = rng.standard_normal((3, 7, 3)) * 0.7
    got = sksig.sig_coef(x, WORDS)
    assert got.shape == (3, len(WORDS))
    for b in range(3):
        np.testing.assert_allclose(got[b], _naive(x[b], WORDS), rtol=1e-12, atol=1e-14)


def test_prefixes_are_every_prefix_in_order(rng):
    x = rng.standard_normal((2, 5, 3))
    got = sksig.sig_coef(x, WORDS, prefixes=True)
    want_words = [p for w in WORDS for p in (_with_prefixes([w]) if w else [()])]
    np.testing.assert_allclose(got, sksig.sig_coef(x, want_words), rtol=1e-13, atol=0)
    assert got.shape[-1] == len(want_words)


def test_sig_coef_equals_extract_from_the_full_signature(rng):
    x = rng.standard_normal((4, 2, 6, 2))
    words = sksig.words(2, 4)
    s = sksig.sig(x, 4, scalar_term=True)
    np.testing.assert_allclose(sksig.extract_sig_coef(s, words, 2, scalar_term=True), s,
                               rtol=0, atol=0)
    np.testing.assert_allclose(sksig.sig_coef(x, words), s, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("time_aug,lead_lag",
                         [(True, False), (False, True), (True, True)])
def test_transforms_and_basepoint_match_transforming_first(rng, time_aug, lead_lag):
    x = rng.standard_normal((2, 5, 2))
    opts = dict(time_aug=time_aug, lead_lag=lead_lag, end_time=2.0, basepoint=True)
    dim = sksig.sig_length(2, 1, time_aug=time_aug, lead_lag=lead_lag)
    words = [(dim - 1, 0), (1, dim - 1, 0), (dim - 1,)]
    y = sksig.transform_path(np.concatenate([np.zeros((2, 1, 2)), x], axis=1),
                             time_aug=time_aug, lead_lag=lead_lag, end_time=2.0)
    np.testing.assert_allclose(sksig.sig_coef(x, words, **opts),
                               sksig.sig_coef(y, words), rtol=1e-13, atol=1e-15)
    s = sksig.sig(x, 3, time_aug=time_aug, lead_lag=lead_lag, end_time=2.0,
                  basepoint=True)
    np.testing.assert_allclose(
        sksig.extract_sig_coef(s, words, 2, time_aug=time_aug, lead_lag=lead_lag),
        sksig.sig_coef(x, words, **opts), rtol=1e-12, atol=1e-14)


def test_short_paths_float32_n_jobs_torch_and_ragged(rng):
    x = rng.standard_normal((5, 9, 3))
    want = sksig.sig_coef(x, WORDS)
    for n_jobs in (2, -1, None):
        np.testing.assert_array_equal(sksig.sig_coef(x, WORDS, n_jobs=n_jobs), want)
    got32 = sksig.sig_coef(x.astype(np.float32), WORDS)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, want, rtol=1e-4, atol=1e-5)
    for length in (0, 1):
        np.testing.assert_array_equal(sksig.sig_coef(x[:, :length], WORDS),
                                      np.tile([w == () for w in WORDS], (5, 1)))
    ragged = [x[0], x[1, :4], x[2, :1]]
    got = sksig.sig_coef(ragged, WORDS)
    for g, p in zip(got, ragged, strict=True):
        np.testing.assert_allclose(g, sksig.sig_coef(p, WORDS), rtol=1e-14, atol=0)
    torch = pytest.importorskip("torch")
    t = sksig.sig_coef(torch.from_numpy(x), WORDS)
    assert isinstance(t, torch.Tensor)
    np.testing.assert_array_equal(t.numpy(), want)


@pytest.mark.parametrize("prefixes", [True, False])
def test_backprop_matches_finite_differences(rng, prefixes):
    x = rng.standard_normal((2, 6, 3)) * 0.6
    c = sksig.sig_coef(x, WORDS, prefixes=prefixes)
    weights = rng.standard_normal(c.shape)
    weights_in = weights.copy()
    grad = sksig.sig_coef_backprop(x, WORDS, c, weights, prefixes=prefixes)
    np.testing.assert_array_equal(weights, weights_in)  # derivs is not modified
    fd = central_differences(
        lambda y: float((sksig.sig_coef(y, WORDS, prefixes=prefixes) * weights).sum()),
        x)
    np.testing.assert_allclose(grad, fd, rtol=1e-7, atol=1e-8)


def test_backprop_through_transforms_and_its_conventions(rng):
    x = rng.standard_normal((3, 4, 2)) * 0.5
    words = [(0, 4, 1), (3,), ()]
    opts = dict(time_aug=True, lead_lag=True, basepoint=True)
    c = sksig.sig_coef(x, words, prefixes=True, **opts)
    weights = rng.standard_normal(c.shape)
    grad = sksig.sig_coef_backprop(x, words, c, weights, **opts)
    fd = central_differences(
        lambda y: float((sksig.sig_coef(y, words, prefixes=True, **opts)
                         * weights).sum()), x)
    np.testing.assert_allclose(grad, fd, rtol=1e-7, atol=1e-8)
    for n_jobs in (2, -1):
        np.testing.assert_array_equal(
            sksig.sig_coef_backprop(x, words, c, weights, n_jobs=n_jobs, **opts), grad)
    # One-point paths and the empty word have zero gradient.
    one = np.ones((3, 2))
    np.testing.assert_array_equal(
        sksig.sig_coef_backprop(x[:, :1], [(0, 1)], one, one), np.zeros((3, 1, 2)))
    np.testing.assert_array_equal(
        sksig.sig_coef_backprop(x, [()], np.ones((3, 1)), np.ones((3, 1))), 0 * x)


@pytest.mark.filterwarnings("ignore:Detected a non-contiguous")  # pySigLib, on views
def test_cross_check_with_pysiglib(rng):
    pysiglib = pytest.importorskip("pysiglib")
    x = rng.standard_normal((3, 8, 3)) * 0.5
    for prefixes in (False, True):
        np.testing.assert_allclose(
            sksig.sig_coef(x, WORDS, prefixes=prefixes),
            pysiglib.sig_coef(x, WORDS, prefixes=prefixes), rtol=1e-11, atol=1e-13)
    c = sksig.sig_coef(x, WORDS, prefixes=True)
    weights = rng.standard_normal(c.shape)
    np.testing.assert_allclose(sksig.sig_coef_backprop(x, WORDS, c, weights),
                               pysiglib.sig_coef_backprop(x, WORDS, c, weights.copy()),
                               rtol=1e-10, atol=1e-12)
    s = sksig.sig(x, 5, lead_lag=True)
    words = [(5, 0), (1, 2, 3)]
    np.testing.assert_array_equal(
        sksig.extract_sig_coef(s, words, 3, lead_lag=True),
        pysiglib.extract_sig_coef(s, words, 3, lead_lag=True))


@pytest.mark.parametrize("call,error,match", [
    (lambda x: sksig.sig_coef(x, []), ValueError, "at least one word"),
    (lambda x: sksig.sig_coef(x, [0, 1]), TypeError, "words"),
    (lambda x: sksig.sig_coef(x, "01"), TypeError, "words"),
    (lambda x: sksig.sig_coef(x, [(0, 3)]), ValueError, r"\[0, 3\)"),
    (lambda x: sksig.sig_coef(x, [(0, -1)]), ValueError, ">= 0"),
    (lambda x: sksig.sig_coef(x, [(0,)], prefixes=1), TypeError, "prefixes"),
    (lambda x: sksig.sig_coef(x[0, 0], [(0,)]), ValueError, "path"),
    (lambda x: sksig.sig_coef_backprop(x, [(0, 1)], np.ones((2, 1)), np.ones((2, 1))),
     ValueError, "coefs"),
    (lambda x: sksig.sig_coef_backprop(x, [(0, 1)], np.ones((2, 2)), np.ones((3, 2))),
     ValueError, "derivs"),
    (lambda x: sksig.extract_sig_coef(sksig.sig(x, 2), [(0, 1)], 3,
                                      scalar_term=True), ValueError, "scalar term"),
    (lambda x: sksig.extract_sig_coef(sksig.sig(x, 2), [(0, 1, 2)], 3),
     ValueError, "degree 2"),
    (lambda x: sksig.extract_sig_coef(sksig.sig(x, 2), [()], 3), ValueError,
     "scalar_term=True"),
    (lambda x: sksig.extract_sig_coef(sksig.sig(x, 2), [(0,)], 2), ValueError,
     "dimension 2"),
])
def test_bad_arguments_raise_clear_errors(rng, call, error, match):
    x = rng.standard_normal((2, 4, 3))
    with pytest.raises(error, match=match):
        call(x)


def test_huge_word_lists_are_refused(monkeypatch, rng):
    monkeypatch.setenv("SKSIG_MEMORY_LIMIT", str(2**16))
    with pytest.raises(ValueError, match="trie"):
        sksig.sig_coef(rng.standard_normal((4, 2)), [(0, 1) * 200] * 10)
