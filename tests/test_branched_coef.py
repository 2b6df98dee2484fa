"""branched_sig_coef, extract_branched_sig_coef, prepare_branched_sig_coef and
branched_sig_coef_backprop.

Oracles: the exact iterated integrals of tests/_oracles_branched.py for the chosen
trees, the full branched signature indexed by tree_to_idx, central differences, and
pySigLib where it is installed.
"""

import numpy as np
import pytest
from _oracles_branched import iterated_integral
from conftest import central_differences

import sksig

NONPLANAR = [(0,), ((0,), 1), ((0,), (1,), 0), (((1,), 0), 1), None, (0,)]
PLANAR = [((0,),), (((0,), 1),), ((0,), (1,)), ((1,), 0), None]


@pytest.mark.parametrize("planar, requested", [(False, NONPLANAR), (True, PLANAR)])
def test_coefficients_are_the_iterated_integrals(rng, planar, requested):
    x = rng.normal(size=(3, 5, 2))
    got = sksig.branched_sig_coef(x, requested, planar=planar)
    assert got.shape == (3, len(requested))
    for i, element in enumerate(requested):
        if planar and element is not None and isinstance(element[-1], int):
            element = (element,)  # a bare planar tree is a one-tree forest
        want = [iterated_integral(element, xi, planar) for xi in x]
        np.testing.assert_allclose(got[:, i], want, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("planar, requested", [(False, NONPLANAR), (True, PLANAR)])
def test_extract_indexes_the_full_signature(rng, planar, requested):
    x = rng.normal(size=(2, 3, 4, 2))
    for degree, scalar in ((4, False), (4, True), (5, None)):
        bsig = sksig.branched_sig(x, degree, planar=planar, scalar_term=bool(scalar))
        got = sksig.extract_branched_sig_coef(bsig, requested, 2, planar=planar,
                                              scalar_term=scalar)
        idx = [sksig.tree_to_idx(t, 2, degree, planar=planar, scalar_term=True)
               for t in requested]
        full = sksig.branched_sig(x, degree, planar=planar, scalar_term=True)
        np.testing.assert_array_equal(got, full[..., idx])
        np.testing.assert_allclose(
            got, sksig.branched_sig_coef(x, requested, planar=planar), rtol=1e-12)


def test_transforms_and_single_tree(rng):
    x = rng.normal(size=(4, 2))
    got = sksig.branched_sig_coef(x, ((2,), 0), time_aug=True, end_time=2.0)
    assert got.shape == (1,)
    want = iterated_integral(((2,), 0), sksig.transform_path(x, time_aug=True,
                                                             end_time=2.0), False)
    np.testing.assert_allclose(got, [want], rtol=1e-12)
    bsig = sksig.branched_sig(x, 3, lead_lag=True)
    np.testing.assert_array_equal(
        sksig.extract_branched_sig_coef(bsig, [((3,), 1)], 2, lead_lag=True),
        bsig[[sksig.tree_to_idx(((3,), 1), 4, 3)]])


@pytest.mark.parametrize("planar, requested", [(False, NONPLANAR), (True, PLANAR)])
def test_backprop_matches_finite_differences(rng, planar, requested):
    x = rng.normal(size=(2, 4, 2))
    c = sksig.branched_sig_coef(x, requested, planar=planar)
    w = rng.normal(size=c.shape)
    got = sksig.branched_sig_coef_backprop(x, requested, c, w, planar=planar)
    want = central_differences(
        lambda z: float(np.sum(w * sksig.branched_sig_coef(z, requested,
                                                           planar=planar))), x)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(
        sksig.branched_sig_coef_backprop(x, requested, c, w, planar=planar, n_jobs=2),
        got)


def test_float32_and_torch(rng):
    x = rng.normal(size=(3, 4, 2))
    got = sksig.branched_sig_coef(x.astype(np.float32), NONPLANAR)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, sksig.branched_sig_coef(x, NONPLANAR), rtol=1e-4,
                               atol=1e-5)
    torch = pytest.importorskip("torch")
    t = sksig.branched_sig_coef(torch.from_numpy(x), NONPLANAR)
    assert isinstance(t, torch.Tensor)
    np.testing.assert_array_equal(t.numpy(), sksig.branched_sig_coef(x, NONPLANAR))
    g = sksig.branched_sig_coef_backprop(torch.from_numpy(x), NONPLANAR, t,
                                         torch.ones_like(t))
    assert isinstance(g, torch.Tensor) and g.shape == x.shape


@pytest.mark.parametrize("call, exc, match", [
    (lambda x: sksig.branched_sig_coef(x, [(5,)]), ValueError, "basis tree"),
    (lambda x: sksig.branched_sig_coef(x, [((1,), (0,), 0)]), ValueError,
     "canonical"),
    (lambda x: sksig.branched_sig_coef(x, ["a"]), ValueError, "not a tree"),
    (lambda x: sksig.branched_sig_coef(x, []), ValueError, "at least one"),
    (lambda x: sksig.branched_sig_coef(x, {(0,)}), TypeError, "list"),
    (lambda x: sksig.extract_branched_sig_coef(np.zeros(8), [(0,)], 2), ValueError,
     "no branched signature length"),
    (lambda x: sksig.extract_branched_sig_coef(np.zeros(6), [((0,), (1,), 0)], 2),
     ValueError, "need degree 3"),
    (lambda x: sksig.extract_branched_sig_coef(np.zeros(2), [(0,)], 1), ValueError,
     "ambiguous"),
    (lambda x: sksig.branched_sig_coef_backprop(x, [(0,)], np.zeros((2, 2)),
                                                np.zeros((2, 2))), ValueError,
     "coefs"),
    (lambda x: sksig.prepare_branched_sig_coef(0, [(0,)]), ValueError, "dimension"),
])
def test_bad_input(rng, call, exc, match):
    x = rng.normal(size=(2, 3, 2))
    with pytest.raises(exc, match=match):
        call(x)


def test_prepare_is_optional():
    assert sksig.prepare_branched_sig_coef(2, NONPLANAR) is None
    assert sksig.prepare_branched_sig_coef(2, PLANAR, planar=True) is None


@pytest.mark.filterwarnings("ignore:Detected a non-contiguous")
@pytest.mark.parametrize("planar, requested", [(False, NONPLANAR), (True, PLANAR)])
def test_cross_check_with_pysiglib(rng, planar, requested):
    pysiglib = pytest.importorskip("pysiglib")
    x = rng.normal(size=(3, 5, 2))
    pysiglib.prepare_branched_sig_coef(2, requested, planar=planar)
    c = sksig.branched_sig_coef(x, requested, planar=planar)
    peer = pysiglib.branched_sig_coef(x, requested, planar=planar)
    np.testing.assert_allclose(c, peer, rtol=1e-10, atol=1e-12)
    w = rng.normal(size=c.shape)
    np.testing.assert_allclose(
        sksig.branched_sig_coef_backprop(x, requested, c, w, planar=planar),
        pysiglib.branched_sig_coef_backprop(x, requested, c, w, planar=planar),
        rtol=1e-10, atol=1e-12)
    bsig = sksig.branched_sig(x, 4, planar=planar, scalar_term=True)
    np.testing.assert_allclose(
        sksig.extract_branched_sig_coef(bsig, requested, 2, planar=planar),
        pysiglib.extract_branched_sig_coef(bsig, requested, 2, planar=planar,
                                           scalar_term=True),
        rtol=1e-12)
