"""Degree 0, the empty alphabet and log_sig method 3: one convention everywhere (the
trivial result: an empty log-signature, a signature that is only its scalar term, zero
gradients), checked against hand-written values and against pySigLib where pySigLib
accepts the call (it raises for a log-signature of degree 0; sksig returns the empty
one, consistently with prepare_log_sig and sig_length, which pySigLib accepts)."""

import numpy as np
import pytest
from conftest import central_differences

import sksig


def test_lengths_at_degree_0_and_dimension_0():
    for st in (False, True):
        assert sksig.sig_length(3, 0, scalar_term=st) == int(st)
        assert sksig.sig_length(0, 4, scalar_term=st) == int(st)
    assert sksig.log_sig_length(3, 0) == 0
    assert sksig.log_sig_length(0, 4) == 0
    assert sksig.log_sig_length(0, 0, time_aug=True) == 0
    assert sksig.log_sig_length(0, 2, time_aug=True) == 1  # the time channel alone


@pytest.mark.parametrize("method", [0, 1, 2, 3])
def test_degree_0_is_trivial_for_every_method(rng, method):
    x = rng.standard_normal((2, 5, 3))
    for d, deg in ((3, 0), (0, 3), (0, 0)):
        assert sksig.prepare_log_sig(d, deg, method) is None  # nothing to build
    np.testing.assert_array_equal(sksig.sig(x, 0), np.zeros((2, 0)))
    np.testing.assert_array_equal(sksig.sig(x, 0, scalar_term=True), np.ones((2, 1)))
    for st in (False, True):
        out = sksig.log_sig(x, 0, method=method, scalar_term=st)
        # The log of the scalar term 1 is 0; only method 0 has that coefficient.
        want = np.zeros((2, int(st and method == 0)))
        np.testing.assert_array_equal(out, want)
        grad = sksig.log_sig_backprop(x, out, np.ones_like(out), 0, method=method)
        np.testing.assert_array_equal(grad, np.zeros_like(x))
        s = sksig.sig(x, 0, scalar_term=st)
        np.testing.assert_array_equal(sksig.sig_backprop(x, s, np.ones_like(s), 0),
                                      np.zeros_like(x))
    c, v = np.zeros((2, 0)), rng.standard_normal((2, 3))
    np.testing.assert_array_equal(sksig.log_sig_join(c, v, 3, 0), c)
    g_c, g_v = sksig.log_sig_join_backprop(c, c, v, 3, 0)
    assert g_c.shape == (2, 0)
    np.testing.assert_array_equal(g_v, np.zeros((2, 3)))


def test_method_3_gives_the_lyndon_bracket_coordinates(rng):
    # Hand-written: x = (0,0) -> (1,0) -> (1,1) at degree 3 has bracket coordinates
    # [1, 1, 1/2, 1/12, 1/12].
    x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(sksig.log_sig(x, 3, method=3),
                               [1, 1, 0.5, 1 / 12, 1 / 12], rtol=1e-14)
    y = rng.standard_normal((3, 6, 3)) * 0.5
    ls = sksig.log_sig(y, 4, method=3)
    np.testing.assert_array_equal(ls, sksig.log_sig(y, 4, method=2))
    # Its gradient against finite differences.
    w = rng.standard_normal(ls.shape)
    grad = sksig.log_sig_backprop(y, ls, w, 4, method=3)
    fd = central_differences(
        lambda z: float((sksig.log_sig(z, 4, method=3) * w).sum()), y)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)
    # scalar_term does not apply to the Lie coordinates (as for methods 1 and 2).
    np.testing.assert_array_equal(sksig.log_sig(y, 4, method=3, scalar_term=True), ls)


@pytest.mark.filterwarnings("ignore:Detected a non-contiguous")  # pySigLib, on views
def test_cross_check_with_pysiglib(rng):
    pysiglib = pytest.importorskip("pysiglib")
    x = rng.standard_normal((2, 6, 3)) * 0.5
    for d, deg in ((3, 0), (0, 3)):
        for st in (False, True):
            assert sksig.sig_length(d, deg, scalar_term=st) == pysiglib.sig_length(
                d, deg, scalar_term=st)
    for st in (False, True):
        np.testing.assert_array_equal(sksig.sig(x, 0, scalar_term=st),
                                      pysiglib.sig(x, 0, scalar_term=st))
        s = sksig.sig(x, 0, scalar_term=st)
        np.testing.assert_array_equal(
            sksig.sig_backprop(x, s, np.ones_like(s), 0),
            pysiglib.sig_backprop(x, s, np.ones_like(s), 0))
    for method in (0, 1, 2, 3):
        pysiglib.prepare_log_sig(3, 0, method)  # accepted by both, a no-op
        pysiglib.prepare_log_sig(3, 4, method)
        for st in (False, True):
            np.testing.assert_allclose(
                sksig.log_sig(x, 4, method=method, scalar_term=st),
                pysiglib.log_sig(x, 4, method=method, scalar_term=st),
                rtol=1e-10, atol=1e-12)
        # pySigLib raises for degree 0; sksig gives the empty log-signature.
        with pytest.raises(Exception):  # noqa: B017 (pySigLib raises a bare Exception)
            pysiglib.log_sig(x, 0, method=method)
        assert sksig.log_sig(x, 0, method=method).shape == (2, 0)
