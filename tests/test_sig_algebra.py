"""The signature algebra (sksig._sig_algebra): naive tensor algebra, recomputation from
scratch, finite differences, and pySigLib 4 cross-checks (skipped without it)."""

import warnings

import _oracles_tensor as ot
import numpy as np
import pytest
from conftest import central_differences

import sksig
from sksig._sig_algebra import (
    linear_log_sig,
    linear_log_sig_backprop,
    linear_sig,
    linear_sig_backprop,
    log_sig_combine,
    log_sig_combine_backprop,
    logsig_to_sig,
    logsig_to_sig_backprop,
    sig_combine,
    sig_combine_backprop,
    sig_join,
    sig_join_backprop,
    sig_to_log_sig,
    sig_to_log_sig_backprop,
)

SHAPES = [(1, 3), (2, 3), (3, 2), (4, 2), (5, 2)]


def _tensor(flat, d, n):
    """Levels of a flat signature without scalar term (scalar 1)."""
    levels = [np.ones(())]
    start = 0
    for k in range(1, n + 1):
        levels.append(np.asarray(flat[start:start + d**k]).reshape((d,) * k))
        start += d**k
    return levels


def _rand_sig(rng, d, n, batch=()):
    """Signatures of random short paths (group-like, as the functions expect)."""
    x = rng.normal(size=batch + (4, d)) * 0.6
    return sksig.sig(x, n)


# ----------------------------------------------------------------- forward oracles


@pytest.mark.parametrize("d, n", SHAPES)
def test_sig_combine_is_the_naive_product(rng, d, n):
    a = rng.normal(size=sksig.sig_length(d, n))
    b = rng.normal(size=sksig.sig_length(d, n))
    want = ot.flatten(ot.mul(_tensor(a, d, n), _tensor(b, d, n)))
    np.testing.assert_allclose(sig_combine(a, b, d, n), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("d, n", SHAPES)
def test_sig_combine_of_parts_is_sig_of_concatenation(rng, d, n):
    x = rng.normal(size=(3, 9, d))
    s1, s2 = sksig.sig(x[:, :5], n), sksig.sig(x[:, 4:], n)
    np.testing.assert_allclose(sig_combine(s1, s2, d, n, scalar_term=False),
                               sksig.sig(x, n), rtol=1e-11,
                               atol=1e-12)
    with_term = sig_combine(sksig.sig(x[:, :5], n, scalar_term=True),
                            sksig.sig(x[:, 4:], n, scalar_term=True), d, n,
                            scalar_term=True)
    np.testing.assert_allclose(with_term, sksig.sig(x, n, scalar_term=True), rtol=1e-11,
                               atol=1e-12)


@pytest.mark.parametrize("d, n", SHAPES)
@pytest.mark.parametrize("prepend", [False, True])
def test_sig_join_is_sig_of_extended_path(rng, d, n, prepend):
    x = rng.normal(size=(2, 6, d))
    if prepend:
        got = sig_join(sksig.sig(x[:, 1:], n), x[:, 1] - x[:, 0], d, n, prepend=True)
    else:
        got = sig_join(sksig.sig(x[:, :-1], n), x[:, -1] - x[:, -2], d, n)
    np.testing.assert_allclose(got, sksig.sig(x, n), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("prepend", [False, True])
def test_sig_join_of_any_tensor_is_the_naive_product(rng, prepend):
    d, n = 3, 3
    a, v = rng.normal(size=sksig.sig_length(d, n)), rng.normal(size=d)
    ta, ev = _tensor(a, d, n), ot.exp(ot.segment(v, n))
    want = ot.flatten(ot.mul(ev, ta) if prepend else ot.mul(ta, ev))
    np.testing.assert_allclose(sig_join(a, v, d, n, prepend=prepend), want, rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("d, n", SHAPES)
def test_linear_sig_is_exp_of_segment(rng, d, n):
    v = rng.normal(size=(3, d))
    for scalar_term in (False, True):
        got = linear_sig(v, d, n, scalar_term=scalar_term)
        want = [ot.flatten(ot.exp(ot.segment(w, n)), scalar_term) for w in v]
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(got, sksig.sig(np.stack([0 * v, v], 1), n,
                                                  scalar_term=scalar_term), atol=1e-14)


@pytest.mark.parametrize("method", [0, 1, 2, 3])
def test_linear_log_sig_is_log_sig_of_segment(rng, method):
    d, n = 3, 3
    v = rng.normal(size=(2, d))
    got = linear_log_sig(v, d, n, method=method)
    want = sksig.log_sig(np.stack([0 * v, v], 1), n, method=min(method, 2))
    np.testing.assert_allclose(got, want, atol=1e-14)
    got0 = linear_log_sig(v, d, n, method=0, scalar_term=True)
    assert got0.shape == (2, sksig.sig_length(d, n) + 1)
    np.testing.assert_array_equal(got0[:, 1:1 + d], v)
    assert not got0[:, 0].any() and not got0[:, 1 + d:].any()


@pytest.mark.parametrize("d, n", SHAPES)
@pytest.mark.parametrize("method", [0, 1, 2])
def test_sig_to_log_sig_equals_log_sig(rng, d, n, method):
    x = rng.normal(size=(3, 6, d)) * 0.7
    got = sig_to_log_sig(sksig.sig(x, n), d, n, method=method)
    np.testing.assert_allclose(got, sksig.log_sig(x, n, method=method), rtol=1e-10,
                               atol=1e-12)
    if method == 0:  # the scalar-term format of the input is kept
        got = sig_to_log_sig(sksig.sig(x, n, scalar_term=True), d, n, method=0,
                             scalar_term=True)
        np.testing.assert_allclose(got, sksig.log_sig(x, n, method=0, scalar_term=True),
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("d, n", [(2, 3), (3, 2), (2, 4)])
@pytest.mark.parametrize("method", [0, 1, 2])
def test_sig_to_log_sig_of_any_tensor_is_the_naive_log(rng, d, n, method):
    s = rng.normal(size=sksig.sig_length(d, n)) * 0.5
    ell = ot.log(_tensor(s, d, n))
    got = sig_to_log_sig(s, d, n, method=method)
    if method == 0:
        want = ot.flatten(ell)
    elif method == 1:
        want = ot.lyndon_coordinates(ell, d, n)
    else:  # a general tensor's log is not a Lie element: compare method 1's values
        want = None
        c = got
        lie = ot.from_bracket_coordinates(c, d, n)
        np.testing.assert_allclose(ot.lyndon_coordinates(lie, d, n),
                                   ot.lyndon_coordinates(ell, d, n), atol=1e-12)
    if want is not None:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("d, n", SHAPES)
@pytest.mark.parametrize("method", [0, 1, 2])
def test_logsig_to_sig_inverts_sig_to_log_sig(rng, d, n, method):
    s = _rand_sig(rng, d, n, (3,))
    ls = sig_to_log_sig(s, d, n, method=method)
    np.testing.assert_allclose(logsig_to_sig(ls, d, n, method=method), s, rtol=1e-10,
                               atol=1e-12)
    if method:
        full = logsig_to_sig(ls, d, n, method=method, scalar_term=True)
        np.testing.assert_allclose(full[:, 1:], s, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(full[:, 0], 1.0)
    else:  # method 0 keeps the (signature-shaped) input's format
        ls = sig_to_log_sig(np.pad(s, ((0, 0), (1, 0)), constant_values=1.0), d, n,
                            method=0, scalar_term=True)
        full = logsig_to_sig(ls, d, n, method=0, scalar_term=True)
        np.testing.assert_allclose(full[:, 1:], s, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(full[:, 0], 1.0)


@pytest.mark.parametrize("method", [0, 1, 2])
def test_logsig_to_sig_is_the_naive_exp(rng, method):
    d, n = 3, 3
    c = rng.normal(size=sksig.log_sig_length(d, n))
    lie = ot.from_bracket_coordinates(c, d, n)
    want = ot.flatten(ot.exp(lie))
    arg = {0: ot.flatten(lie), 1: ot.lyndon_coordinates(lie, d, n), 2: c}[method]
    np.testing.assert_allclose(logsig_to_sig(arg, d, n, method=method), want,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("d, n", SHAPES)
def test_log_sig_combine_of_parts_is_log_sig_of_concatenation(rng, d, n):
    x = rng.normal(size=(3, 8, d)) * 0.7
    l1, l2 = sksig.log_sig(x[:, :4], n, method=2), sksig.log_sig(x[:, 3:], n, method=2)
    np.testing.assert_allclose(log_sig_combine(l1, l2, d, n),
                               sksig.log_sig(x, n, method=2), rtol=1e-10, atol=1e-12)


def test_log_sig_combine_is_the_naive_bch(rng):
    d, n = 3, 3
    c1, c2 = rng.normal(size=(2, sksig.log_sig_length(d, n)))
    z = ot.log(ot.mul(ot.exp(ot.from_bracket_coordinates(c1, d, n)),
                      ot.exp(ot.from_bracket_coordinates(c2, d, n))))
    np.testing.assert_allclose(log_sig_combine(c1, c2, d, n),
                               ot.bracket_coordinates(z, d, n), rtol=1e-10, atol=1e-12)


def test_time_aug_and_lead_lag_mean_the_transformed_dimension(rng):
    x = rng.normal(size=(7, 2))
    s1 = sksig.sig(x[:4], 3, time_aug=True, lead_lag=True)
    s2 = sksig.sig(x[3:], 3, time_aug=True, lead_lag=True)
    got = sig_combine(s1, s2, 2, 3, time_aug=True, lead_lag=True)
    assert got.shape == (sksig.sig_length(2, 3, time_aug=True, lead_lag=True),)
    ls = sig_to_log_sig(got, 2, 3, time_aug=True, lead_lag=True, method=2)
    np.testing.assert_allclose(logsig_to_sig(ls, 2, 3, time_aug=True, lead_lag=True,
                                             method=2), got, atol=1e-10)


# --------------------------------------------------------------------- backprops


def _fd_check(forward, backward_grads, inputs, rng, atol=1e-7):
    """Each gradient against central differences of <w, forward(inputs)>."""
    w = rng.normal(size=np.shape(forward(*inputs)))
    grads = backward_grads(w, *inputs)
    for i, g in enumerate(grads):
        def f(xi, i=i):
            args = list(inputs)
            args[i] = xi
            return float(np.sum(w * forward(*args)))
        np.testing.assert_allclose(g, central_differences(f, inputs[i]), rtol=1e-6,
                                   atol=atol)


@pytest.mark.parametrize("d, n", [(2, 3), (3, 2), (4, 2)])
@pytest.mark.parametrize("scalar_term", [False, True])
def test_sig_combine_backprop_finite_differences(rng, d, n, scalar_term):
    a = sksig.sig(rng.normal(size=(2, 3, d)), n, scalar_term=scalar_term)
    b = sksig.sig(rng.normal(size=(2, 3, d)), n, scalar_term=scalar_term)
    g1, g2 = sig_combine_backprop(np.ones_like(a), a, b, d, n)
    if scalar_term:  # the scalar term is the constant 1
        assert not g1[:, 0].any() and not g2[:, 0].any()

    def fwd(x, y):
        if scalar_term:
            x, y = x.copy(), y.copy()
            x[:, 0] = y[:, 0] = 1.0
        return sig_combine(x, y, d, n)

    _fd_check(fwd, lambda w, x, y: sig_combine_backprop(w, x, y, d, n), [a, b], rng)


@pytest.mark.parametrize("d, n", [(2, 3), (3, 3), (4, 2), (5, 2)])
@pytest.mark.parametrize("prepend", [False, True])
def test_sig_join_backprop_finite_differences(rng, d, n, prepend):
    s = _rand_sig(rng, d, n, (2,))
    v = rng.normal(size=(2, d))
    _fd_check(lambda x, y: sig_join(x, y, d, n, prepend=prepend),
              lambda w, x, y: sig_join_backprop(w, x, y, d, n, prepend=prepend), [s, v],
              rng)


@pytest.mark.parametrize("d, n", [(2, 4), (3, 3), (5, 2)])
def test_linear_sig_backprop_finite_differences(rng, d, n):
    v = rng.normal(size=(2, d))
    _fd_check(lambda x: linear_sig(x, d, n),
              lambda w, x: (linear_sig_backprop(w, x, d, n),), [v], rng)
    w = rng.normal(size=(2, sksig.sig_length(d, n) + 1))
    np.testing.assert_allclose(linear_sig_backprop(w, v, d, n),
                               linear_sig_backprop(w[:, 1:], v, d, n))


@pytest.mark.parametrize("method", [0, 1, 2, 3])
def test_linear_log_sig_backprop_finite_differences(rng, method):
    v = rng.normal(size=(2, 3))
    _fd_check(lambda x: linear_log_sig(x, 3, 3, method=method),
              lambda w, x: (linear_log_sig_backprop(w, x, 3, 3, method=method),), [v],
              rng)


@pytest.mark.parametrize("d, n", [(2, 4), (3, 3), (4, 2)])
@pytest.mark.parametrize("method", [0, 1, 2])
def test_sig_to_log_sig_backprop_finite_differences(rng, d, n, method):
    s = _rand_sig(rng, d, n, (2,))
    _fd_check(lambda x: sig_to_log_sig(x, d, n, method=method),
              lambda w, x: (sig_to_log_sig_backprop(x, w, d, n, method=method),), [s],
              rng)


@pytest.mark.parametrize("d, n", [(2, 4), (3, 3), (4, 2)])
@pytest.mark.parametrize("method", [0, 1, 2])
def test_logsig_to_sig_backprop_finite_differences(rng, d, n, method):
    ls = sig_to_log_sig(_rand_sig(rng, d, n, (2,)), d, n, method=method)
    _fd_check(lambda x: logsig_to_sig(x, d, n, method=method),
              lambda w, x: (logsig_to_sig_backprop(x, w, d, n, method=method),), [ls],
              rng)


@pytest.mark.parametrize("d, n", [(2, 4), (3, 3), (4, 2), (2, 1)])
def test_log_sig_combine_backprop_finite_differences(rng, d, n):
    m = sksig.log_sig_length(d, n)
    l1, l2 = rng.normal(size=(2, 2, m)) * 0.5
    _fd_check(lambda x, y: log_sig_combine(x, y, d, n),
              lambda w, x, y: log_sig_combine_backprop(w, x, y, d, n), [l1, l2], rng)


# -------------------------------------------------- batches, dtypes, threads, edges


def test_batch_axes_float32_and_n_jobs(rng):
    d, n = 3, 3
    x = rng.normal(size=(2, 5, 4, d)) * 0.5
    a, b = sksig.sig(x[..., :3, :], n), sksig.sig(x[..., 2:, :], n)
    one = sig_combine(a, b, d, n)
    assert one.shape == (2, 5, sksig.sig_length(d, n))
    for n_jobs in (2, 3, -1):
        np.testing.assert_array_equal(sig_combine(a, b, d, n, n_jobs=n_jobs), one)
        parts = (one[..., :14], one[..., 14:28], one[..., 1:15], d, n)
        np.testing.assert_array_equal(
            log_sig_combine_backprop(*parts, n_jobs=n_jobs)[0],
            log_sig_combine_backprop(*parts)[0])
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    got = sig_combine(a32, b32, d, n)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, one, rtol=1e-4, atol=1e-5)
    ls = sig_to_log_sig(a32, d, n, method=2)
    assert ls.dtype == np.float32
    np.testing.assert_allclose(ls, sig_to_log_sig(a, d, n, method=2), rtol=1e-4,
                               atol=1e-5)


def test_empty_batch_and_degree_zero(rng):
    assert sig_combine(np.zeros((0, 6)), np.zeros((0, 6)), 2, 2).shape == (0, 6)
    np.testing.assert_array_equal(sig_combine(np.ones(1), np.ones(1), 2, 0), [1.0])
    assert sig_combine(np.zeros(0), np.zeros(0), 2, 0).shape == (0,)
    np.testing.assert_array_equal(linear_sig(np.ones(2), 2, 0, scalar_term=True), [1.0])
    g, gv = sig_join_backprop(np.ones(1), np.ones(1), np.ones(2), 2, 0)
    assert not g.any() and not gv.any()


def test_bad_inputs_raise_clear_errors(rng):
    s = sksig.sig(rng.normal(size=(3, 2)), 2)
    with pytest.raises(ValueError, match="sig2 must have trailing length 6"):
        sig_combine(s, s[:5], 2, 2)
    with pytest.raises(ValueError, match="same batch shape"):
        sig_combine(s, np.stack([s, s]), 2, 2)
    with pytest.raises(ValueError, match="displacement must have trailing length 2"):
        sig_join(s, np.ones(3), 2, 2)
    with pytest.raises(TypeError, match="dtype"):
        sig_combine(s, s.astype(np.float32), 2, 2)
    with pytest.raises(ValueError, match="NaN"):
        sig_combine(s, s * np.nan, 2, 2)
    with pytest.raises(ValueError, match="method"):
        sig_to_log_sig(s, 2, 2, method=3)
    with pytest.raises(ValueError, match="log_sig must have trailing length 3"):
        logsig_to_sig(np.ones(4), 2, 2, method=2)
    with pytest.raises(ValueError, match="dimension"):
        sig_combine(s, s, 0, 2)
    with pytest.raises(TypeError, match="prepend"):
        sig_join(s, np.ones(2), 2, 2, prepend=1)
    with pytest.raises(ValueError, match="ambiguous"):  # d=1: 2 entries = N 1 + term
        sig_combine(np.ones(2), np.ones(2), 1, 1)


def test_torch_in_torch_out(rng):
    torch = pytest.importorskip("torch")
    s = sksig.sig(rng.normal(size=(2, 4, 2)), 3)
    got = sig_combine(torch.from_numpy(s), torch.from_numpy(s), 2, 3)
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), sig_combine(s, s, 2, 3))


# ----------------------------------------------------------- pySigLib cross-checks


def _pysiglib():
    pysiglib = pytest.importorskip("pysiglib")
    warnings.filterwarnings("ignore", message="Detected a non-contiguous")
    return pysiglib


def test_cross_check_pysiglib_signature_algebra(rng):
    ps = _pysiglib()
    d, n = 3, 3
    a, b = _rand_sig(rng, d, n, (4,)), _rand_sig(rng, d, n, (4,))
    v, w = rng.normal(size=(4, d)), rng.normal(size=a.shape)
    np.testing.assert_allclose(sig_combine(a, b, d, n), ps.sig_combine(a, b, d, n),
                               atol=1e-12)
    for x, y in zip(sig_combine_backprop(w, a, b, d, n),
                    ps.sig_combine_backprop(w, a, b, d, n), strict=True):
        np.testing.assert_allclose(x, y, atol=1e-12)
    for prepend in (False, True):
        np.testing.assert_allclose(sig_join(a, v, d, n, prepend=prepend),
                                   ps.sig_join(a, v, d, n, prepend=prepend), atol=1e-12)
        for x, y in zip(sig_join_backprop(w, a, v, d, n, prepend=prepend),
                        ps.sig_join_backprop(w, a, v, d, n, prepend=prepend),
                        strict=True):
            np.testing.assert_allclose(x, y, atol=1e-11)
    np.testing.assert_allclose(linear_sig(v, d, n, scalar_term=True),
                               ps.linear_sig(v, d, n, scalar_term=True), atol=1e-13)


@pytest.mark.parametrize("method", [0, 1, 2])
def test_cross_check_pysiglib_log_and_exp(rng, method):
    ps = _pysiglib()
    d, n = 3, 4
    ps.prepare_log_sig(d, n, method=method)
    ps.prepare_log_sig(d, n, method=3)
    s = _rand_sig(rng, d, n, (3,))
    ls = sig_to_log_sig(s, d, n, method=method)
    np.testing.assert_allclose(ls, ps.sig_to_log_sig(s, d, n, method=method),
                               atol=1e-11)
    g = rng.normal(size=ls.shape)
    np.testing.assert_allclose(sig_to_log_sig_backprop(s, g, d, n, method=method),
                               ps.sig_to_log_sig_backprop(s, g, d, n, method=method),
                               atol=1e-10)
    np.testing.assert_allclose(logsig_to_sig(ls, d, n, method=method),
                               ps.logsig_to_sig(ls, d, n, method=method), atol=1e-11)
    if method == 2:
        ls2 = sig_to_log_sig(_rand_sig(rng, d, n, (3,)), d, n, method=2)
        np.testing.assert_allclose(log_sig_combine(ls, ls2, d, n),
                                   ps.log_sig_combine(ls, ls2, d, n), atol=1e-11)
        for x, y in zip(log_sig_combine_backprop(g, ls, ls2, d, n),
                        ps.log_sig_combine_backprop(g, ls, ls2, d, n), strict=True):
            np.testing.assert_allclose(x, y, atol=1e-10)


# -------------------------------------------------------- sig with a correction


def _naive_corrected_sig(path, corr_rows, n):
    """prod_i exp(dx_i + c_i) with the naive tensor algebra (c_i: flat levels 2..m)."""
    path = np.asarray(path, dtype=float)
    d = path.shape[1]
    s = ot.one(d, n)
    for i in range(len(path) - 1):
        x = ot.segment(path[i + 1] - path[i], n)
        row, start = corr_rows[i], 0
        for k in range(2, n + 1):
            if start < len(row):
                x[k] = x[k] + row[start:start + d**k].reshape((d,) * k)
            start += d**k
        s = ot.mul(s, ot.exp(x))
    return ot.flatten(s)


@pytest.mark.parametrize("d, n, m", [(2, 3, 2), (2, 3, 3), (3, 2, 2), (1, 4, 3)])
def test_sig_with_correction_is_the_naive_product(rng, d, n, m):
    x = rng.normal(size=(2, 5, d))
    width = sum(d**k for k in range(2, m + 1))
    for corr in (rng.normal(size=width), rng.normal(size=(4, width)),
                 rng.normal(size=(2, 4, width))):
        got = sksig.sig(x, n, correction=corr)
        rows = np.broadcast_to(corr, (2, 4, width))
        want = [_naive_corrected_sig(x[b], rows[b], n) for b in range(2)]
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)


def test_sig_with_zero_or_empty_correction_is_sig(rng):
    x = rng.normal(size=(3, 6, 2))
    want = sksig.sig(x, 3)
    np.testing.assert_allclose(sksig.sig(x, 3, correction=np.zeros(4)), want,
                               atol=1e-13)
    np.testing.assert_array_equal(sksig.sig(x, 3, correction=np.zeros((0,))), want)


def test_sig_correction_with_time_aug_leaves_time_uncorrected(rng):
    x = rng.normal(size=(5, 2))
    corr = rng.normal(size=4)
    got = sksig.sig(x, 3, time_aug=True, correction=corr)
    t = np.linspace(0, 1, 5)[:, None]
    embedded = np.zeros(9)
    embedded[[0, 1, 3, 4]] = corr  # words (i, j) over 2 letters inside 3 letters
    want = _naive_corrected_sig(np.hstack([x, t]), np.broadcast_to(embedded, (4, 9)), 3)
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("time_aug", [False, True])
def test_sig_backprop_with_correction_finite_differences(rng, time_aug):
    x = rng.normal(size=(2, 5, 2)) * 0.7
    corr = rng.normal(size=(4, 12)) * 0.3
    s = sksig.sig(x, 3, time_aug=time_aug, correction=corr, scalar_term=True)
    w = rng.normal(size=s.shape)
    got = sksig.sig_backprop(x, s, w, 3, time_aug=time_aug, correction=corr)
    want = central_differences(
        lambda p: float(np.sum(w * sksig.sig(p, 3, time_aug=time_aug, correction=corr,
                                             scalar_term=True))), x)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_sig_correction_bad_input(rng):
    x = rng.normal(size=(2, 5, 2))
    with pytest.raises(ValueError, match="lead_lag"):
        sksig.sig(x, 3, lead_lag=True, correction=np.ones(4))
    with pytest.raises(ValueError, match="basepoint"):
        sksig.sig(x, 3, basepoint=True, correction=np.ones(4))
    with pytest.raises(ValueError, match="one of \\[4, 12\\]"):
        sksig.sig(x, 3, correction=np.ones(5))
    with pytest.raises(ValueError, match="correction must have shape"):
        sksig.sig(x, 3, correction=np.ones((3, 4)))
    with pytest.raises(ValueError, match="NaN"):
        sksig.sig(x, 3, correction=np.full(4, np.nan))
    with pytest.raises(TypeError, match="dtype"):
        sksig.sig(x, 3, correction=np.ones(4, np.float32))


def test_cross_check_pysiglib_correction(rng):
    ps = _pysiglib()
    x = rng.normal(size=(3, 6, 2))
    corr = rng.normal(size=(3, 5, 4)) * 0.2
    for time_aug in (False, True):
        s = sksig.sig(x, 3, time_aug=time_aug, correction=corr)
        np.testing.assert_allclose(s, ps.sig(x, 3, time_aug=time_aug, correction=corr),
                                   atol=1e-12)
        w = rng.normal(size=s.shape)
        np.testing.assert_allclose(
            sksig.sig_backprop(x, s, w, 3, time_aug=time_aug, correction=corr),
            ps.sig_backprop(x, s, w, 3, time_aug=time_aug, correction=corr), atol=1e-10)
