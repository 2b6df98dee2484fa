"""The ``correction`` argument of branched_sig and its backprops.

Oracles: a zero correction is no correction; on one segment with no increment the
local signature is the exponential of the correction alone (by hand: its value on the
chain trees, degree 3); Chen's identity over the segments (branched_sig_combine of the
single-segment results); central differences; pySigLib where installed.
"""

import numpy as np
import pytest
from conftest import central_differences

import sksig


@pytest.mark.parametrize("planar", [False, True])
def test_zero_correction_is_no_correction(rng, planar):
    x = rng.normal(size=(3, 5, 2))
    for c in (np.zeros(4), np.zeros((4, 4)), np.zeros((3, 4, 12))):
        np.testing.assert_allclose(
            sksig.branched_sig(x, 3, planar=planar, correction=c),
            sksig.branched_sig(x, 3, planar=planar), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(
        sksig.branched_sig(x, 3, planar=planar, correction=np.zeros(0)),
        sksig.branched_sig(x, 3, planar=planar))


@pytest.mark.parametrize("planar", [False, True])
def test_constant_segment_is_the_correction_on_chain_trees(planar):
    # No increment: exp(P) with P of level 2 only, at degree 3, is P itself.
    x = np.zeros((2, 2))
    c = np.array([1.0, 2.0, 3.0, 4.0])  # (0,0), (0,1), (1,0), (1,1)
    got = sksig.branched_sig(x, 3, planar=planar, correction=c)
    want = np.zeros_like(got)
    for (i, j), value in zip([(0, 0), (0, 1), (1, 0), (1, 1)], c, strict=True):
        tree = ((j,), i)  # root i, leaf j
        element = (tree,) if planar else tree
        want[sksig.tree_to_idx(element, 2, 3, planar=planar)] = value
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("planar", [False, True])
def test_chen_identity_over_segments(rng, planar):
    x = rng.normal(size=(4, 2)) * 0.5
    c = rng.normal(size=(3, 4 + 8)) * 0.3  # levels 2 and 3, per segment (d=2)
    whole = sksig.branched_sig(x, 3, planar=planar, correction=c)
    pieces = [sksig.branched_sig(x[s:s + 2], 3, planar=planar, correction=c[s:s + 1])
              for s in range(3)]
    got = pieces[0]
    for p in pieces[1:]:
        got = sksig.branched_sig_combine(got, p, 2, 3, planar=planar)
    np.testing.assert_allclose(whole, got, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("planar", [False, True])
def test_backprops_match_finite_differences(rng, planar):
    x = rng.normal(size=(2, 4, 2)) * 0.6
    c = rng.normal(size=(2, 3, 4)) * 0.4
    kw = dict(planar=planar, correction=c, time_aug=True)
    b = sksig.branched_sig(x, 3, **kw)
    w = rng.normal(size=b.shape)
    got = sksig.branched_sig_backprop(x, b, w, 3, **kw)
    want = central_differences(
        lambda z: float(np.sum(w * sksig.branched_sig(z, 3, **kw))), x)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    ls = sksig.branched_log_sig(x, 3, **kw)
    w = rng.normal(size=ls.shape)
    got = sksig.branched_log_sig_backprop(x, ls, w, 3, **kw)
    want = central_differences(
        lambda z: float(np.sum(w * sksig.branched_log_sig(z, 3, **kw))), x)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_bad_correction(rng):
    x = rng.normal(size=(3, 4, 2))
    with pytest.raises(ValueError, match="trailing length"):
        sksig.branched_sig(x, 3, correction=np.zeros(5))
    with pytest.raises(ValueError, match="degree"):
        sksig.branched_sig(x, 2, correction=np.zeros(12))
    with pytest.raises(ValueError, match="shape"):
        sksig.branched_sig(x, 3, correction=np.zeros((2, 4)))
    with pytest.raises(ValueError, match="lead_lag"):
        sksig.branched_sig(x, 3, lead_lag=True, correction=np.zeros(4))
    with pytest.raises(ValueError, match="basepoint"):
        sksig.branched_sig(x, 3, basepoint=True, correction=np.zeros(4))
    with pytest.raises(ValueError, match="ragged"):
        sksig.branched_sig([x[0], x[1, :2]], 3, correction=np.zeros(4))
    with pytest.raises(ValueError, match="NaN"):
        sksig.branched_sig(x, 3, correction=np.full(4, np.nan))


@pytest.mark.filterwarnings("ignore:Detected a non-contiguous")
@pytest.mark.parametrize("planar", [False, True])
def test_cross_check_with_pysiglib(rng, planar):
    # Planar: pySigLib 4.0.0 agrees at every degree. Non-planar it agrees up to
    # degree 2; beyond, it forms the powers of the exponential as if they were
    # characters, so even an all-zero correction changes its result (checked below)
    # and sksig (the exact exponential) differs.
    pysiglib = pytest.importorskip("pysiglib")
    degree = 3 if planar else 2
    x = rng.normal(size=(3, 5, 2)) * 0.6
    c = rng.normal(size=(3, 4, 12 if planar else 4)) * 0.3
    pysiglib.prepare_branched_sig(3, degree, planar=planar)
    kw = dict(planar=planar, correction=c, time_aug=True)
    b = sksig.branched_sig(x, degree, **kw)
    np.testing.assert_allclose(b, pysiglib.branched_sig(x, degree, **kw), rtol=1e-10,
                               atol=1e-12)
    w = rng.normal(size=b.shape)
    np.testing.assert_allclose(sksig.branched_sig_backprop(x, b, w, degree, **kw),
                               pysiglib.branched_sig_backprop(x, b, w, degree, **kw),
                               rtol=1e-9, atol=1e-11)
    if not planar:
        pysiglib.prepare_branched_sig(2, 3)
        plain = pysiglib.branched_sig(x, 3)
        zero = pysiglib.branched_sig(x, 3, correction=np.zeros(4))
        assert np.abs(zero - plain).max() > 1e-6
        np.testing.assert_allclose(sksig.branched_sig(x, 3, correction=np.zeros(4)),
                                   plain, rtol=1e-12, atol=1e-13)
