"""branched_log_sig_join and its backprop (planar, Lyndon bracket coordinates).

Oracles: recomputation from scratch (the log-signature of the extended polyline),
central differences, and pySigLib where it is installed.
"""

import numpy as np
import pytest
from conftest import central_differences

import sksig


@pytest.mark.parametrize("d, N", [(2, 3), (2, 4), (3, 3), (1, 4)])
@pytest.mark.parametrize("prepend", [False, True])
def test_join_is_the_log_signature_of_the_extended_path(rng, d, N, prepend):
    x = rng.normal(size=(3, 5, d)) * 0.6
    whole = sksig.branched_log_sig(x, N, planar=True, method=2)
    if prepend:
        part, v = x[:, 1:], x[:, 1] - x[:, 0]
    else:
        part, v = x[:, :-1], x[:, -1] - x[:, -2]
    ls = sksig.branched_log_sig(part, N, planar=True, method=3)
    got = sksig.branched_log_sig_join(ls, v, d, N, prepend=prepend)
    np.testing.assert_allclose(got, whole, rtol=1e-10, atol=1e-12)


def test_joining_segment_by_segment_from_zero(rng):
    x = rng.normal(size=(6, 2)) * 0.5
    ls = np.zeros(sksig.branched_log_sig_length(2, 4, planar=True))
    for a, b in zip(x[:-1], x[1:], strict=True):
        ls = sksig.branched_log_sig_join(ls, b - a, 2, 4)
    np.testing.assert_allclose(ls, sksig.branched_log_sig(x, 4, planar=True, method=2),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("prepend", [False, True])
def test_backprop_matches_finite_differences(rng, prepend):
    d, N = 2, 4
    ls = sksig.branched_log_sig(rng.normal(size=(2, 4, d)) * 0.6, N, planar=True,
                                method=2)
    v = rng.normal(size=(2, d))
    w = rng.normal(size=ls.shape)
    g_ls, g_v = sksig.branched_log_sig_join_backprop(w, ls, v, d, N, prepend=prepend)

    def f(z, which):
        args = [ls, v]
        args[which] = z
        return float(np.sum(w * sksig.branched_log_sig_join(*args, d, N,
                                                            prepend=prepend)))

    np.testing.assert_allclose(g_ls, central_differences(lambda z: f(z, 0), ls),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g_v, central_differences(lambda z: f(z, 1), v),
                               rtol=1e-6, atol=1e-8)
    again = sksig.branched_log_sig_join_backprop(w, ls, v, d, N, prepend=prepend,
                                                 n_jobs=2)
    np.testing.assert_array_equal(again[0], g_ls)
    np.testing.assert_array_equal(again[1], g_v)


def test_float32_degree_zero_and_bad_input(rng):
    ls = sksig.branched_log_sig(rng.normal(size=(4, 2)), 3, planar=True, method=2)
    v = np.array([0.3, -0.2])
    got = sksig.branched_log_sig_join(ls.astype(np.float32), v.astype(np.float32), 2, 3)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, sksig.branched_log_sig_join(ls, v, 2, 3),
                               rtol=1e-4, atol=1e-5)
    assert sksig.branched_log_sig_join(np.zeros(0), v, 2, 0).shape == (0,)
    with pytest.raises(ValueError, match="blogsig"):
        sksig.branched_log_sig_join(ls[1:], v, 2, 3)
    with pytest.raises(ValueError, match="displacement"):
        sksig.branched_log_sig_join(ls, v[:1], 2, 3)
    with pytest.raises(ValueError, match="derivs"):
        sksig.branched_log_sig_join_backprop(ls[1:], ls, v, 2, 3)


@pytest.mark.filterwarnings("ignore:Detected a non-contiguous")
@pytest.mark.parametrize("prepend", [False, True])
def test_cross_check_with_pysiglib(rng, prepend):
    pysiglib = pytest.importorskip("pysiglib")
    d, N = 2, 4
    pysiglib.prepare_branched_log_sig(d, N, 3, planar=True)
    ls = sksig.branched_log_sig(rng.normal(size=(3, 4, d)) * 0.6, N, planar=True,
                                method=3)
    v = rng.normal(size=(3, d))
    w = rng.normal(size=ls.shape)
    np.testing.assert_allclose(
        sksig.branched_log_sig_join(ls, v, d, N, prepend=prepend),
        pysiglib.branched_log_sig_join(ls, v, d, N, prepend=prepend),
        rtol=1e-10, atol=1e-12)
    ours = sksig.branched_log_sig_join_backprop(w, ls, v, d, N, prepend=prepend)
    theirs = pysiglib.branched_log_sig_join_backprop(w, ls, v, d, N, prepend=prepend)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
