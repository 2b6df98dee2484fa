"""branched_sig_combine / _join, linear_branched_sig / _log_sig and their backprops.

Oracles: recomputation from scratch (the branched signature of a concatenated or
extended polyline, of a two-point path), the exact iterated integrals and segment
closed forms of tests/_oracles_branched.py, central differences for the backprops,
and pySigLib where it is installed.
"""

import numpy as np
import pytest
from _oracles_branched import iterated_integral, segment_value
from conftest import central_differences

import sksig

CASES = [(False, 2, 3), (False, 3, 4), (False, 1, 5), (True, 2, 3), (True, 3, 3),
         (True, 1, 4)]


@pytest.mark.parametrize("planar, d, N", CASES)
@pytest.mark.parametrize("scalar", [False, True])
def test_combine_is_the_signature_of_the_concatenated_path(rng, planar, d, N, scalar):
    x = rng.normal(size=(5, 7, d))
    kw = dict(planar=planar, scalar_term=scalar)
    whole = sksig.branched_sig(x, N, **kw)
    a = sksig.branched_sig(x[:, :4], N, **kw)
    b = sksig.branched_sig(x[:, 3:], N, **kw)
    got = sksig.branched_sig_combine(a, b, d, N, planar=planar)
    np.testing.assert_allclose(got, whole, rtol=1e-12, atol=1e-12)
    if scalar:
        np.testing.assert_array_equal(got[:, 0], 1.0)


@pytest.mark.parametrize("planar", [False, True])
def test_combine_against_exact_iterated_integrals(rng, planar):
    x = rng.normal(size=(6, 2))
    a = sksig.branched_sig(x[:3], 3, planar=planar)
    b = sksig.branched_sig(x[2:], 3, planar=planar)
    got = sksig.branched_sig_combine(a, b, 2, 3, planar=planar)
    basis = sksig.trees(2, 3, planar=planar)[1:]
    want = [iterated_integral(e, x, planar) for e in basis]
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("planar, d, N", CASES)
@pytest.mark.parametrize("prepend", [False, True])
def test_join_is_the_signature_of_the_extended_path(rng, planar, d, N, prepend):
    x = rng.normal(size=(4, 6, d))
    whole = sksig.branched_sig(x, N, planar=planar)
    if prepend:
        part, v = sksig.branched_sig(x[:, 1:], N, planar=planar), x[:, 1] - x[:, 0]
    else:
        part, v = sksig.branched_sig(x[:, :-1], N, planar=planar), x[:, -1] - x[:, -2]
    got = sksig.branched_sig_join(part, v, d, N, planar=planar, prepend=prepend)
    np.testing.assert_allclose(got, whole, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("planar, d, N", CASES)
def test_linear_is_the_signature_of_a_two_point_path(rng, planar, d, N):
    v = rng.normal(size=(3, d))
    got = sksig.linear_branched_sig(v, d, N, planar=planar, scalar_term=True)
    path = np.stack([np.zeros_like(v), v], axis=1)
    np.testing.assert_allclose(
        got, sksig.branched_sig(path, N, planar=planar, scalar_term=True), rtol=1e-14)
    basis = sksig.trees(d, N, planar=planar)
    want = [[segment_value(e, vi, planar) for e in basis] for vi in v]
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("planar, method", [(False, 0), (True, 0), (True, 1),
                                            (True, 2), (True, 3)])
@pytest.mark.parametrize("scalar", [False, True])
def test_linear_log_is_the_log_of_a_two_point_path(rng, planar, method, scalar):
    v = rng.normal(size=(3, 2))
    got = sksig.linear_branched_log_sig(v, 2, 4, planar=planar, method=method,
                                        scalar_term=scalar)
    path = np.stack([np.zeros_like(v), v], axis=1)
    want = sksig.branched_log_sig(path, 4, planar=planar, method=method,
                                  scalar_term=scalar)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
    # By hand: the increment on the single-node trees, 0 elsewhere.
    offset = int(scalar and method == 0)
    np.testing.assert_array_equal(got[:, offset:offset + 2], v)
    assert not np.any(np.delete(got, [offset, offset + 1], axis=1))


def _fd_check(forward, backprop, args, index, rng, rtol=1e-6):
    """Backprop (wrt args[index]) against central differences of <w, forward>."""
    out = forward(*args)
    w = rng.normal(size=out.shape)
    got = backprop(w, *args)

    def f(z):
        moved = list(args)
        moved[index] = z
        return float(np.sum(w * forward(*moved)))

    want = central_differences(f, args[index])
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("planar", [False, True])
@pytest.mark.parametrize("scalar", [False, True])
def test_combine_backprop_matches_finite_differences(rng, planar, scalar):
    d, N = 2, 4
    a = sksig.branched_sig(rng.normal(size=(2, 4, d)), N, planar=planar,
                           scalar_term=scalar)
    b = sksig.branched_sig(rng.normal(size=(2, 4, d)), N, planar=planar,
                           scalar_term=scalar)

    def fwd(p, q):
        return sksig.branched_sig_combine(p, q, d, N, planar=planar)

    def bp(w, p, q):
        return sksig.branched_sig_combine_backprop(w, p, q, d, N, planar=planar)

    ga, gb = bp(np.ones_like(a), a, b)
    if scalar:  # the scalar entry is the constant 1: no gradient
        assert not np.any(ga[:, 0]) and not np.any(gb[:, 0])
        a, b = a[:, 1:], b[:, 1:]
    _fd_check(fwd, lambda w, p, q: bp(w, p, q)[0], (a, b), 0, rng)
    _fd_check(fwd, lambda w, p, q: bp(w, p, q)[1], (a, b), 1, rng)


@pytest.mark.parametrize("planar", [False, True])
@pytest.mark.parametrize("prepend", [False, True])
def test_join_backprop_matches_finite_differences(rng, planar, prepend):
    d, N = 2, 4
    a = sksig.branched_sig(rng.normal(size=(2, 4, d)), N, planar=planar)
    v = rng.normal(size=(2, d))

    def fwd(p, q):
        return sksig.branched_sig_join(p, q, d, N, planar=planar, prepend=prepend)

    def bp(w, p, q):
        return sksig.branched_sig_join_backprop(w, p, q, d, N, planar=planar,
                                                prepend=prepend)

    _fd_check(fwd, lambda w, p, q: bp(w, p, q)[0], (a, v), 0, rng)
    _fd_check(fwd, lambda w, p, q: bp(w, p, q)[1], (a, v), 1, rng)


@pytest.mark.parametrize("planar", [False, True])
def test_linear_backprops_match_finite_differences(rng, planar):
    v = rng.normal(size=(3, 2))
    _fd_check(lambda z: sksig.linear_branched_sig(z, 2, 4, planar=planar),
              lambda w, z: sksig.linear_branched_sig_backprop(w, z, 2, 4,
                                                              planar=planar),
              (v,), 0, rng)
    for method in ((0, 1, 2, 3) if planar else (0,)):
        _fd_check(lambda z, m=method: sksig.linear_branched_log_sig(
                      z, 2, 3, planar=planar, method=m, scalar_term=True),
                  lambda w, z, m=method: sksig.linear_branched_log_sig_backprop(
                      w, z, 2, 3, planar=planar, method=m, scalar_term=True),
                  (v,), 0, rng)


def test_results_do_not_depend_on_n_jobs_and_float32_works(rng):
    d, N = 3, 4
    a = sksig.branched_sig(rng.normal(size=(37, 3, d)), N)
    b = sksig.branched_sig(rng.normal(size=(37, 3, d)), N)
    v = rng.normal(size=(37, d))
    w = rng.normal(size=a.shape)
    calls = [
        lambda j: sksig.branched_sig_combine(a, b, d, N, n_jobs=j),
        lambda j: sksig.branched_sig_combine_backprop(w, a, b, d, N, n_jobs=j)[0],
        lambda j: sksig.branched_sig_join(a, v, d, N, prepend=True, n_jobs=j),
        lambda j: sksig.branched_sig_join_backprop(w, a, v, d, N, n_jobs=j)[1],
        lambda j: sksig.linear_branched_sig(v, d, N, n_jobs=j),
        lambda j: sksig.linear_branched_sig_backprop(w, v, d, N, n_jobs=j),
    ]
    for fn in calls:
        np.testing.assert_array_equal(fn(1), fn(2))
        np.testing.assert_array_equal(fn(1), fn(-1))
    got = sksig.branched_sig_combine(a.astype(np.float32), b.astype(np.float32), d, N)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, sksig.branched_sig_combine(a, b, d, N), rtol=1e-4,
                               atol=1e-5)
    g32 = sksig.branched_sig_join_backprop(w.astype(np.float32), a.astype(np.float32),
                                           v.astype(np.float32), d, N)
    assert g32[0].dtype == g32[1].dtype == np.float32
    g64 = sksig.branched_sig_join_backprop(w, a, v, d, N)[1]
    np.testing.assert_allclose(g32[1], g64, rtol=1e-3, atol=1e-3)


def test_batch_shapes_and_torch(rng):
    a = sksig.branched_sig(rng.normal(size=(2, 3, 4, 2)), 3)
    v = rng.normal(size=(2, 3, 2))
    assert sksig.branched_sig_combine(a, a, 2, 3).shape == a.shape
    assert sksig.branched_sig_join(a, v, 2, 3).shape == a.shape
    assert sksig.linear_branched_sig(v, 2, 3).shape == a.shape
    torch = pytest.importorskip("torch")
    t = sksig.branched_sig_combine(torch.from_numpy(a), torch.from_numpy(a), 2, 3)
    assert isinstance(t, torch.Tensor)
    np.testing.assert_array_equal(t.numpy(), sksig.branched_sig_combine(a, a, 2, 3))


def test_trivial_degree_and_dimension():
    # Degree 0: the signature is its scalar term; the log is empty (or its 0).
    v = np.array([[1.0, 2.0]])
    assert sksig.linear_branched_sig(v, 2, 0).shape == (1, 0)
    np.testing.assert_array_equal(sksig.linear_branched_sig(v, 2, 0, scalar_term=True),
                                  [[1.0]])
    np.testing.assert_array_equal(
        sksig.linear_branched_log_sig(v, 2, 0, scalar_term=True), [[0.0]])
    assert sksig.linear_branched_log_sig(v, 2, 0, planar=True).shape == (1, 0)
    one = np.ones((1, 1))
    np.testing.assert_array_equal(sksig.branched_sig_combine(one, one, 2, 0), one)
    np.testing.assert_array_equal(
        sksig.branched_sig_join_backprop(one, one, v, 2, 0)[1], np.zeros((1, 2)))
    np.testing.assert_array_equal(sksig.linear_branched_sig_backprop(one, v, 2, 0,
                                                                     scalar_term=True),
                                  np.zeros((1, 2)))
    # Dimension 0: no labels, no trees at any degree.
    np.testing.assert_array_equal(
        sksig.linear_branched_sig(np.zeros((2, 0)), 0, 3, scalar_term=True),
        np.ones((2, 1)))


@pytest.mark.parametrize("call, exc, match", [
    (lambda a, v: sksig.branched_sig_combine(a, a[:1], 2, 3), ValueError, "batch"),
    (lambda a, v: sksig.branched_sig_combine(a, a[:, 1:], 2, 3), ValueError,
     "scalar term"),
    (lambda a, v: sksig.branched_sig_combine(a[:, :5], a[:, :5], 2, 3), ValueError,
     "bsig1"),
    (lambda a, v: sksig.branched_sig_combine(a, a.astype(np.float32), 2, 3), TypeError,
     "dtype"),
    (lambda a, v: sksig.branched_sig_join(a, v[:, :1], 2, 3), ValueError,
     "displacement"),
    (lambda a, v: sksig.branched_sig_join(a, v[:1], 2, 3), ValueError, "batch"),
    (lambda a, v: sksig.branched_sig_join(a, v, 2, 3, prepend=1), TypeError,
     "prepend"),
    (lambda a, v: sksig.linear_branched_sig(v * np.nan, 2, 3), ValueError, "NaN"),
    (lambda a, v: sksig.linear_branched_sig(v, 2, -1), ValueError, "degree"),
    (lambda a, v: sksig.linear_branched_log_sig(v, 2, 3, method=1), ValueError,
     "planar"),
    (lambda a, v: sksig.linear_branched_sig_backprop(v, v, 2, 3), ValueError,
     "derivs"),
    (lambda a, v: sksig.branched_sig_combine_backprop(a[:, 1:], a, a, 2, 3),
     ValueError, "derivs"),
])
def test_bad_input(rng, call, exc, match):
    a = sksig.branched_sig(rng.normal(size=(2, 3, 2)), 3, scalar_term=True)
    v = rng.normal(size=(2, 2))
    with pytest.raises(exc, match=match):
        call(a, v)


@pytest.mark.filterwarnings("ignore:Detected a non-contiguous")
@pytest.mark.parametrize("planar", [False, True])
def test_cross_check_with_pysiglib(rng, planar):
    pysiglib = pytest.importorskip("pysiglib")
    d, N = 2, 4
    pysiglib.prepare_branched_sig(d, N, planar=planar)
    a = sksig.branched_sig(rng.normal(size=(3, 4, d)), N, planar=planar)
    b = sksig.branched_sig(rng.normal(size=(3, 4, d)), N, planar=planar)
    v = rng.normal(size=(3, d))
    w = rng.normal(size=a.shape)
    close = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sksig.branched_sig_combine(a, b, d, N, planar=planar),
                               pysiglib.branched_sig_combine(a, b, d, N, planar=planar),
                               **close)
    for ours, theirs in zip(
            sksig.branched_sig_combine_backprop(w, a, b, d, N, planar=planar),
            pysiglib.branched_sig_combine_backprop(w, a, b, d, N, planar=planar),
            strict=True):
        np.testing.assert_allclose(ours, theirs, **close)
    for prepend in (False, True):
        kw = dict(planar=planar, prepend=prepend)
        np.testing.assert_allclose(sksig.branched_sig_join(a, v, d, N, **kw),
                                   pysiglib.branched_sig_join(a, v, d, N, **kw),
                                   **close)
        got = sksig.branched_sig_join_backprop(w, a, v, d, N, **kw)
        peer = pysiglib.branched_sig_join_backprop(w, a, v, d, N, **kw)
        for ours, theirs in zip(got, peer, strict=True):
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-11)
    np.testing.assert_allclose(
        sksig.linear_branched_sig(v, d, N, planar=planar, scalar_term=True),
        pysiglib.linear_branched_sig(v, d, N, planar=planar, scalar_term=True), **close)
    np.testing.assert_allclose(
        sksig.linear_branched_sig_backprop(w, v, d, N, planar=planar),
        pysiglib.linear_branched_sig_backprop(w, v, d, N, planar=planar), **close)
    for method in ((0, 1, 2, 3) if planar else (0,)):
        pysiglib.prepare_branched_log_sig(d, N, method, planar=planar)
        np.testing.assert_allclose(
            sksig.linear_branched_log_sig(v, d, N, planar=planar, method=method),
            pysiglib.linear_branched_log_sig(v, d, N, planar=planar, method=method),
            rtol=1e-10, atol=1e-12)
