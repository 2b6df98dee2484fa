"""Degree 0 and dimension 0 give the trivial branched results everywhere, the methods
pySigLib accepts (0-3) are accepted, and scalar_term means the same in every function.

Expected values are written by hand (a signature of degree 0 is its scalar term 1, a
log-signature of degree 0 is empty or its scalar 0, gradients are 0) and checked
against pySigLib 4 where it is installed.
"""

import numpy as np
import pytest

import sksig

PATH = np.array([[0.0, 0.0], [1.0, 0.5], [0.3, 2.0]])


@pytest.mark.parametrize("planar", [False, True])
def test_degree_zero_is_trivial_everywhere(planar):
    assert sksig.branched_sig_length(2, 0, planar=planar) == 0
    assert sksig.branched_sig_length(2, 0, planar=planar, scalar_term=True) == 1
    assert sksig.branched_log_sig_length(2, 0, planar=planar) == 0
    assert sksig.prepare_branched_sig(2, 0, planar=planar) is None
    for method in ((0, 1, 2, 3) if planar else (0,)):
        assert sksig.prepare_branched_log_sig(2, 0, method, planar=planar) is None
    np.testing.assert_array_equal(sksig.branched_sig(PATH, 0, planar=planar),
                                  np.zeros(0))
    np.testing.assert_array_equal(
        sksig.branched_sig(PATH, 0, planar=planar, scalar_term=True), [1.0])
    np.testing.assert_array_equal(sksig.branched_log_sig(PATH, 0, planar=planar),
                                  np.zeros(0))
    np.testing.assert_array_equal(
        sksig.branched_log_sig(PATH, 0, planar=planar, method=0, scalar_term=True),
        [0.0])
    np.testing.assert_array_equal(
        sksig.branched_sig_to_log_sig(np.ones(1), 2, 0, planar=planar, method=0), [0.0])
    np.testing.assert_array_equal(
        sksig.branched_sig_to_log_sig_backprop(np.ones(1), np.ones(1), 2, 0,
                                               planar=planar, method=0), [0.0])
    np.testing.assert_array_equal(
        sksig.branched_sig_backprop(PATH, np.ones(1), np.ones(1), 0, planar=planar),
        np.zeros_like(PATH))
    np.testing.assert_array_equal(
        sksig.branched_log_sig_backprop(PATH, np.zeros(0), np.zeros(0), 0,
                                        planar=planar),
        np.zeros_like(PATH))


@pytest.mark.parametrize("planar", [False, True])
def test_dimension_zero_has_no_trees(planar):
    assert sksig.branched_sig_length(0, 3, planar=planar) == 0
    assert sksig.branched_log_sig_length(0, 3, planar=planar) == 0
    assert sksig.prepare_branched_sig(0, 3, planar=planar) is None
    assert sksig.prepare_branched_log_sig(0, 3, 0, planar=planar) is None
    np.testing.assert_array_equal(
        sksig.branched_sig_to_log_sig(np.ones((2, 1)), 0, 3, planar=planar, method=0),
        np.zeros((2, 1)))


def test_method_three_is_method_two(rng):
    x = rng.normal(size=(3, 5, 2))
    two = sksig.branched_log_sig(x, 4, planar=True, method=2)
    np.testing.assert_array_equal(sksig.branched_log_sig(x, 4, planar=True, method=3),
                                  two)
    bsig = sksig.branched_sig(x, 4, planar=True)
    np.testing.assert_array_equal(
        sksig.branched_sig_to_log_sig(bsig, 2, 4, planar=True, method=3), two)
    with pytest.raises(ValueError, match="planar"):
        sksig.branched_log_sig(x, 4, method=3)
    with pytest.raises(ValueError, match="method"):
        sksig.branched_log_sig(x, 4, planar=True, method=4)


@pytest.mark.filterwarnings("ignore:Detected a non-contiguous")
@pytest.mark.parametrize("planar", [False, True])
def test_edges_agree_with_pysiglib(rng, planar):
    pysiglib = pytest.importorskip("pysiglib")
    for d, n in ((2, 0), (0, 3), (3, 0)):
        assert sksig.branched_sig_length(d, n, planar=planar) == \
            pysiglib.branched_sig_length(d, n, planar=planar)
        assert sksig.branched_log_sig_length(d, n, planar=planar) == \
            pysiglib.branched_log_sig_length(d, n, planar=planar)
    for scalar in (False, True):
        pysiglib.prepare_branched_sig(2, 0, planar=planar)
        np.testing.assert_array_equal(
            sksig.branched_sig(PATH, 0, planar=planar, scalar_term=scalar),
            pysiglib.branched_sig(PATH, 0, planar=planar, scalar_term=scalar))
        pysiglib.prepare_branched_log_sig(2, 0, 0, planar=planar)
        np.testing.assert_array_equal(
            sksig.branched_log_sig(PATH, 0, planar=planar, method=0,
                                   scalar_term=scalar),
            pysiglib.branched_log_sig(PATH, 0, planar=planar, method=0,
                                      scalar_term=scalar))
    if planar:
        x = rng.normal(size=(3, 5, 2))
        pysiglib.prepare_branched_log_sig(2, 4, 3, planar=True)
        np.testing.assert_allclose(
            sksig.branched_log_sig(x, 4, planar=True, method=3),
            pysiglib.branched_log_sig(x, 4, planar=True, method=3),
            rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("planar, method, scalar", [
    (False, 0, False), (False, 0, True), (True, 0, True), (True, 1, False),
    (True, 2, False), (True, 3, False)])
def test_log_sig_backprop_matches_finite_differences(rng, planar, method, scalar):
    from conftest import central_differences

    x = rng.normal(size=(2, 4, 2)) * 0.7
    kw = dict(planar=planar, method=method, scalar_term=scalar)
    ls = sksig.branched_log_sig(x, 3, **kw)
    w = rng.normal(size=ls.shape)
    got = sksig.branched_log_sig_backprop(x, ls, w, 3, **kw)
    want = central_differences(
        lambda z: float(np.sum(w * sksig.branched_log_sig(z, 3, **kw))), x)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    # With transforms and a basepoint the gradient is pulled back to the input.
    kw2 = dict(kw, time_aug=True, basepoint=True)
    w2 = rng.normal(size=sksig.branched_log_sig(x, 2, **kw2).shape)
    got = sksig.branched_log_sig_backprop(x, w2, w2, 2, **kw2)
    want = central_differences(
        lambda z: float(np.sum(w2 * sksig.branched_log_sig(z, 2, **kw2))), x)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(
        sksig.branched_log_sig_backprop(x, ls, w, 3, n_jobs=2, **kw),
        sksig.branched_log_sig_backprop(x, ls, w, 3, **kw))
    with pytest.raises(ValueError, match="blogsig_derivs"):
        sksig.branched_log_sig_backprop(x, ls, w[..., 1:], 3, **kw)


@pytest.mark.parametrize("planar, method",
                         [(False, 0), (True, 0), (True, 1), (True, 2)])
@pytest.mark.parametrize("dtype, big", [(np.float64, 1e110), (np.float32, 1e14)])
def test_log_overflow_in_one_block_raises(rng, planar, method, dtype, big):
    # The log and its backprop check each block's result in the core (no second scan
    # of the output): a finite input whose log (products of up to four entries) and
    # gradient (up to three) overflow in one item of the last, partial block raises,
    # at every n_jobs; the other items alone give finite results.
    d, degree = 2, 4
    n = sksig.branched_sig_length(d, degree, planar=planar)
    bsig = (0.1 * rng.normal(size=(37, n))).astype(dtype)
    bad = bsig.copy()
    bad[35] = big
    for n_jobs in (1, 2):
        kw = dict(planar=planar, method=method, n_jobs=n_jobs)
        fine = sksig.branched_sig_to_log_sig(bsig, d, degree, **kw)
        g = np.ones_like(fine)
        assert np.isfinite(fine).all()
        assert np.isfinite(sksig.branched_sig_to_log_sig_backprop(bsig, g, d, degree,
                                                                  **kw)).all()
        with pytest.raises(FloatingPointError, match="rescale"):
            sksig.branched_sig_to_log_sig(bad, d, degree, **kw)
        with pytest.raises(FloatingPointError, match="rescale"):
            sksig.branched_sig_to_log_sig_backprop(bad, g, d, degree, **kw)
