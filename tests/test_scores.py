"""Kernel scores: sig_mmd, sig_score, expected_sig_score, their backprops, the test.

Oracles: the estimators written out as explicit double loops over Gram entries (the
Grams come from sksig.sig_kernel_gram, tested elsewhere), central finite differences of
the scores, recomputation of permuted MMDs from scratch, and pySigLib 4 when installed.
"""

import numpy as np
import pytest
from conftest import central_differences

import sksig


def _gram(a, b, order, **kw):
    g = np.asarray(sksig.sig_kernel_gram(a, b, order, **kw), dtype=np.float64)
    return g.reshape(len(a), len(b))


def _naive_offdiag_mean(k):
    m = k.shape[0]
    total = 0.0
    for i in range(m):
        for j in range(m):
            if i != j:
                total += k[i, j]
    return total / (m * (m - 1))


def _naive_mmd(x, y, o1, o2, **kw):
    k12 = _gram(x, y, (o1, o2), **kw)
    cross = sum(k12[i, j] for i in range(len(x)) for j in range(len(y)))
    return (_naive_offdiag_mean(_gram(x, x, o1, **kw)) - 2 * cross / (len(x) * len(y))
            + _naive_offdiag_mean(_gram(y, y, o2, **kw)))


def _naive_score(x, y, lam, o1, o2, **kw):
    k = _gram(x, y, (o1, o2), **kw)
    self_term = lam * _naive_offdiag_mean(_gram(x, x, o1, **kw))
    return np.array([self_term - 2 * sum(k[i, j] for i in range(len(x))) / len(x)
                     for j in range(len(y))])


def _paths(rng, n, length=4, dim=2, drift=0.0):
    x = 0.4 * rng.normal(size=(n, length, dim)).cumsum(axis=1)
    x[..., 0] += drift * np.linspace(0.0, 1.0, length)
    return x


@pytest.mark.parametrize("orders", [0, 1, (1, 2)])
@pytest.mark.parametrize("kw", [{}, {"time_aug": True, "end_time": 2.0},
                                {"static_kernel": sksig.RBFKernel(sigma=1.5)}])
def test_scores_equal_naive_formulas(rng, orders, kw):
    o1, o2 = (orders, orders) if isinstance(orders, int) else orders
    x, y = _paths(rng, 5), _paths(rng, 4, length=3, drift=1.0)
    np.testing.assert_allclose(sksig.sig_mmd(x, y, orders, **kw),
                               _naive_mmd(x, y, o1, o2, **kw), rtol=1e-12, atol=1e-12)
    for lam in (1.0, 0.5):
        want = _naive_score(x, y, lam, o1, o2, **kw)
        np.testing.assert_allclose(sksig.sig_score(x, y, orders, lam=lam, **kw), want,
                                   rtol=1e-12, atol=1e-12)
        got = sksig.expected_sig_score(x, y, orders, lam=lam, **kw)
        np.testing.assert_allclose(got, [want.mean()], rtol=1e-12, atol=1e-12)


def test_score_shapes_and_batch_axes(rng):
    x, y = _paths(rng, 6), _paths(rng, 6)
    assert sksig.sig_mmd(x, y, 0).shape == ()
    assert sksig.sig_score(x, y[0], 0).shape == (1,)
    assert sksig.expected_sig_score(x, y, 0).shape == (1,)
    nested = sksig.sig_score(x.reshape(2, 3, 4, 2), y.reshape(2, 3, 4, 2), 0)
    np.testing.assert_allclose(nested.ravel(), sksig.sig_score(x, y, 0), rtol=1e-13)
    np.testing.assert_allclose(sksig.sig_mmd(x.reshape(3, 2, 4, 2), y, 0),
                               sksig.sig_mmd(x, y, 0), rtol=1e-13)
    # A ragged list is a batch; paths of one length as a list give the same numbers.
    np.testing.assert_allclose(sksig.sig_mmd(list(x), list(y), 1),
                               sksig.sig_mmd(x, y, 1), rtol=1e-12)
    ragged = [x[0], x[1, :3], x[2, :2]]
    np.testing.assert_allclose(sksig.sig_mmd(ragged, y, 1),
                               _naive_mmd(ragged, y, 1, 1), rtol=1e-12)
    # float32 and torch follow the samples; max_batch and n_jobs change nothing.
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    assert sksig.sig_mmd(x32, y32, 0).dtype == np.float32
    base = sksig.sig_mmd_backprop(1.0, x, y, 1, right_deriv=True)
    other = sksig.sig_mmd_backprop(1.0, x, y, 1, right_deriv=True, max_batch=2,
                                   n_jobs=2)
    for a, b in zip(base, other, strict=True):
        np.testing.assert_array_equal(a, b)
    torch = pytest.importorskip("torch")
    out = sksig.sig_score(torch.tensor(x), torch.tensor(y), 0)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
    xt, yt = torch.tensor(x), torch.tensor(y)
    g = sksig.sig_mmd_backprop(torch.tensor(1.0), xt, yt, 0)[0]
    assert isinstance(g, torch.Tensor)
    g32 = sksig.sig_score_backprop(np.ones(6), x.astype(np.float32),
                                   y.astype(np.float32), 0)[0]
    assert g32.dtype == np.float32


@pytest.mark.parametrize("orders", [0, (1, 0)])
def test_backprops_finite_differences(rng, orders):
    x = _paths(rng, 3, length=3)
    y = _paths(rng, 2, length=4, drift=0.5)
    kw = dict(time_aug=True)
    w = rng.normal(size=2)

    def check(value, grads, fx, fy):
        got_x, got_y = grads
        for got, f, at in ((got_x, fx, x), (got_y, fy, y)):
            want = central_differences(f, at)
            scale = max(1.0, float(np.abs(want).max()))
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 * scale)

    both = dict(left_deriv=True, right_deriv=True)
    check(None, sksig.sig_mmd_backprop(0.7, x, y, orders, **both, **kw),
          lambda p: 0.7 * float(sksig.sig_mmd(p, y, orders, **kw)),
          lambda p: 0.7 * float(sksig.sig_mmd(x, p, orders, **kw)))
    for lam in (1.0, 0.3):
        check(None, sksig.sig_score_backprop(w, x, y, orders, lam=lam, **both, **kw),
              lambda p, lam=lam: w @ sksig.sig_score(p, y, orders, lam=lam, **kw),
              lambda p, lam=lam: w @ sksig.sig_score(x, p, orders, lam=lam, **kw))
        check(None, sksig.expected_sig_score_backprop(
                  [1.3], x, y, orders, lam=lam, **both, **kw),
              lambda p, lam=lam: 1.3 * sksig.expected_sig_score(p, y, orders, lam=lam,
                                                                **kw)[0],
              lambda p, lam=lam: 1.3 * sksig.expected_sig_score(x, p, orders, lam=lam,
                                                                **kw)[0])
    # One observed path: a 2-D y and a float cotangent.
    g_x, g_y = sksig.sig_score_backprop(2.0, x, y[0], orders, **both)
    want = central_differences(lambda p: 2.0 * sksig.sig_score(x, p, orders)[0], y[0])
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(g_y, want, rtol=0, atol=1e-6 * scale)
    assert g_x.shape == x.shape


def test_mmd_test_null_distribution_is_recomputed_mmd(rng):
    x, y = _paths(rng, 4), _paths(rng, 3, drift=0.5)
    res = sksig.sig_mmd_test(x, y, 1, n_permutations=12, random_state=3)
    np.testing.assert_allclose(res.statistic, sksig.sig_mmd(x, y, 1), rtol=1e-12)
    pooled = np.concatenate([x, y])
    state = np.random.RandomState(3)
    for stat in res.null_distribution:
        perm = state.permutation(7)
        first = np.zeros(7, bool)
        first[perm[:4]] = True
        want = sksig.sig_mmd(pooled[first], pooled[~first], 1)
        np.testing.assert_allclose(stat, want, rtol=1e-10, atol=1e-12)
    assert res.pvalue == (1 + np.sum(res.null_distribution >= res.statistic)) / 13
    # The same seed gives the same result; ragged samples go through a pooled list.
    again = sksig.sig_mmd_test(x, y, 1, n_permutations=12, random_state=3)
    np.testing.assert_array_equal(again.null_distribution, res.null_distribution)
    ragged = sksig.sig_mmd_test(list(x), [y[0], y[1, :3], y[2]], 1, n_permutations=5,
                                random_state=0)
    assert 0 < ragged.pvalue <= 1


def test_mmd_test_pvalues(rng):
    same = sksig.sig_mmd_test(_paths(rng, 20), _paths(rng, 20), 0, n_permutations=200,
                              random_state=1)
    assert same.pvalue > 0.05
    shifted = sksig.sig_mmd_test(_paths(rng, 20), _paths(rng, 20, drift=1.5), 0,
                                 n_permutations=200, random_state=1)
    assert shifted.pvalue < 0.01 and shifted.statistic > same.statistic


def test_scores_bad_input(rng):
    x, y = _paths(rng, 3), _paths(rng, 2)
    with pytest.raises(ValueError, match="sample1 must hold at least 2"):
        sksig.sig_mmd(x[:1], y, 0)
    with pytest.raises(ValueError, match="sample2 must hold at least 2"):
        sksig.sig_mmd(x, y[:1], 0)
    with pytest.raises(ValueError, match="sample must hold at least 2"):
        sksig.sig_score(x[:1], y, 0)
    with pytest.raises(ValueError, match="lam"):
        sksig.sig_score(x, y, 0, lam=np.nan)
    with pytest.raises(TypeError, match="lam"):
        sksig.expected_sig_score(x, y, 0, lam="1")
    with pytest.raises(ValueError, match="dimension"):
        sksig.sig_mmd(x, _paths(rng, 2, dim=3), 0)
    with pytest.raises(ValueError, match="shape"):
        sksig.sig_mmd(x[0, 0], y, 0)
    with pytest.raises(ValueError, match="left_deriv"):
        sksig.sig_mmd_backprop(1.0, x, y, 0, left_deriv=False)
    with pytest.raises(ValueError, match="derivs must have the shape"):
        sksig.sig_score_backprop(np.ones(3), x, y, 0)
    with pytest.raises(ValueError, match="NaN"):
        sksig.sig_mmd_backprop(np.nan, x, y, 0)
    with pytest.raises(ValueError, match="one dyadic order"):
        sksig.sig_mmd_test(x, y, (0, 1))
    with pytest.raises(ValueError, match="n_permutations"):
        sksig.sig_mmd_test(x, y, 0, n_permutations=0)
    with pytest.raises(ValueError, match="max_batch"):
        sksig.sig_mmd(x, y, 0, max_batch=0)


@pytest.mark.filterwarnings("ignore:Detected a non-contiguous")  # pySigLib, on views
def test_scores_cross_check_with_pysiglib(rng):
    pysiglib = pytest.importorskip("pysiglib")
    x, y = _paths(rng, 5), _paths(rng, 4, drift=1.0)
    for kw in ({}, {"time_aug": True, "lead_lag": True}):
        np.testing.assert_allclose(sksig.sig_mmd(x, y, 1, **kw),
                                   pysiglib.sig_mmd(x, y, dyadic_order=1, **kw),
                                   rtol=1e-10, atol=1e-12)
        theirs = pysiglib.sig_score(x, y, dyadic_order=1, lam=0.5, **kw)
        np.testing.assert_allclose(sksig.sig_score(x, y, 1, lam=0.5, **kw), theirs,
                                   rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(sksig.sig_score(x, y[0], 1, **kw),
                                   pysiglib.sig_score(x, y[0], dyadic_order=1, **kw),
                                   rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(
            sksig.expected_sig_score(x, y, 1, lam=2.0, **kw),
            pysiglib.expected_sig_score(x, y, dyadic_order=1, lam=2.0, **kw),
            rtol=1e-10, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Detected a non-contiguous")  # pySigLib, on views
def test_score_gradients_cross_check_with_pysiglib_autograd(rng):
    pytest.importorskip("pysiglib")
    torch = pytest.importorskip("torch")
    import pysiglib.torch_api as pt

    x, y = _paths(rng, 4), _paths(rng, 3, drift=1.0)
    both = dict(left_deriv=True, right_deriv=True)
    cases = [
        (lambda a, b: pt.sig_mmd(a, b, dyadic_order=1),
         sksig.sig_mmd_backprop(1.0, x, y, 1, **both)),
        (lambda a, b: pt.sig_score(a, b, dyadic_order=1, lam=0.5).sum(),
         sksig.sig_score_backprop(np.ones(3), x, y, 1, lam=0.5, **both)),
        (lambda a, b: pt.expected_sig_score(a, b, dyadic_order=1).sum(),
         sksig.expected_sig_score_backprop(1.0, x, y, 1, **both)),
    ]
    for theirs_fn, ours in cases:
        xt, yt = (torch.tensor(a, requires_grad=True) for a in (x, y))
        theirs_fn(xt, yt).backward()
        for got, want in zip(ours, (xt.grad, yt.grad), strict=True):
            np.testing.assert_allclose(got, want.numpy(), rtol=1e-9, atol=1e-11)
