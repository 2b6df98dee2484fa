"""branched_sig_backprop: the exact adjoint of branched_sig, planar and non-planar.

Oracles: central finite differences of the (separately tested) forward, recomputation
per path, torch.autograd.gradcheck of the wrapper, and pySigLib 4 when installed.
"""

import numpy as np
import pytest
from conftest import central_differences

import sksig
from sksig._core import _backend

# The length and batch-shape errors of signature-shaped inputs.
BAD_SHAPE = "must have (trailing length|the paths' batch shape)"


@pytest.mark.parametrize("planar", [False, True])
@pytest.mark.parametrize(("dim", "degree", "length"),
                         [(1, 4, 4), (2, 3, 5), (3, 2, 4), (2, 4, 3)])
@pytest.mark.parametrize("scalar_term", [False, True])
def test_branched_sig_backprop_finite_differences(rng, planar, dim, degree, length,
                                                  scalar_term):
    x = 0.6 * rng.normal(size=(length, dim))
    opts = dict(planar=planar)
    b = sksig.branched_sig(x, degree, scalar_term=scalar_term, **opts)
    w = rng.normal(size=b.shape)
    got = sksig.branched_sig_backprop(x, b, w, degree, **opts)
    want = central_differences(
        lambda p: w @ sksig.branched_sig(p, degree, scalar_term=scalar_term, **opts), x)
    np.testing.assert_allclose(got, want, rtol=0,
                               atol=1e-6 * max(1.0, float(np.abs(want).max())))


@pytest.mark.parametrize("planar", [False, True])
def test_branched_sig_backprop_transforms(rng, planar):
    x = 0.5 * rng.normal(size=(2, 4, 2))
    opts = dict(planar=planar, time_aug=True, lead_lag=True, end_time=1.5)
    b = sksig.branched_sig(x, 3, **opts)
    w = rng.normal(size=b.shape)
    got = sksig.branched_sig_backprop(x, b, w, 3, **opts)
    want = central_differences(
        lambda p: float(np.sum(w * sksig.branched_sig(p, 3, **opts))), x)
    np.testing.assert_allclose(got, want, rtol=0,
                               atol=1e-6 * max(1.0, float(np.abs(want).max())))


@pytest.mark.parametrize("planar", [False, True])
def test_branched_sig_backprop_batches_ragged_n_jobs(rng, planar, monkeypatch):
    import sksig._branched

    monkeypatch.setattr(_backend, "_WORK_PER_THREAD", 1)  # thread tiny batches
    x = 0.4 * rng.normal(size=(3, 7, 5, 2))  # 21 paths: two lane blocks
    b = sksig.branched_sig(x, 3, planar=planar)
    w = rng.normal(size=b.shape)
    g = sksig.branched_sig_backprop(x, b, w, 3, planar=planar)
    assert g.shape == x.shape
    np.testing.assert_array_equal(
        sksig.branched_sig_backprop(x, b, w, 3, planar=planar, n_jobs=3), g)
    for i, j in ((0, 0), (1, 5), (2, 6)):
        np.testing.assert_array_equal(
            sksig.branched_sig_backprop(x[i, j], b[i, j], w[i, j], 3, planar=planar),
            g[i, j])
    ragged = [x[0, 0], x[0, 1, :3], x[1, 0, :1]]
    br = sksig.branched_sig(ragged, 3, planar=planar)
    gr = sksig.branched_sig_backprop(ragged, br, w[0, :3], 3, planar=planar)
    for p, bp, wp, gp in zip(ragged, br, w[0, :3], gr, strict=True):
        np.testing.assert_allclose(
            gp, sksig.branched_sig_backprop(p, bp, wp, 3, planar=planar),
            rtol=1e-13, atol=1e-15)
    g32 = sksig.branched_sig_backprop(x.astype(np.float32), b.astype(np.float32),
                                      w.astype(np.float32), 3, planar=planar)
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, g, rtol=0, atol=1e-4 * np.abs(g).max())


def test_branched_sig_backprop_edges_and_bad_input(rng):
    for path in (np.zeros((0, 2)), np.ones((1, 2))):
        b = sksig.branched_sig(path, 2)
        assert np.array_equal(sksig.branched_sig_backprop(path, b, b, 2),
                              np.zeros_like(path))
    x = rng.normal(size=(2, 4, 2))
    b = sksig.branched_sig(x, 2, planar=True)
    with pytest.raises(ValueError, match="bsig " + BAD_SHAPE):
        sksig.branched_sig_backprop(x, b, b, 2)  # planar bsig, non-planar call
    with pytest.raises(ValueError, match="bsig_derivs " + BAD_SHAPE):
        sksig.branched_sig_backprop(x, b, b[:, 1:], 2, planar=True)
    with pytest.raises(ValueError, match="correction"):
        sksig.branched_sig_backprop(x, b, b, 2, planar=True, correction=np.ones(2))
    with pytest.raises(ValueError, match="NaN"):
        sksig.branched_sig_backprop(x, b, b * np.nan, 2, planar=True)


@pytest.mark.parametrize("planar", [False, True])
def test_torch_branched_sig_gradcheck(rng, planar):
    torch = pytest.importorskip("torch")
    import sksig.torch as st

    x = torch.tensor(0.5 * rng.normal(size=(2, 4, 2)), requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda p: st.branched_sig(p, 3, planar=planar, scalar_term=True,
                                  time_aug=True), (x,))


@pytest.mark.parametrize("method", [0, 1, 2])
def test_torch_branched_log_sig_gradcheck(rng, method):
    torch = pytest.importorskip("torch")
    import sksig.torch as st

    x = torch.tensor(0.5 * rng.normal(size=(2, 4, 2)), requires_grad=True)
    out = st.branched_log_sig(x, 3, planar=True, method=method)
    np.testing.assert_allclose(
        out.detach().numpy(),
        sksig.branched_log_sig(x.detach().numpy(), 3, planar=True, method=method),
        rtol=1e-13, atol=1e-15)
    assert torch.autograd.gradcheck(
        lambda p: st.branched_log_sig(p, 3, planar=True, method=method,
                                      lead_lag=True), (x,))


@pytest.mark.filterwarnings("ignore:Detected a non-contiguous")  # pySigLib, on views
@pytest.mark.parametrize("planar", [False, True])
def test_branched_sig_backprop_cross_check_with_pysiglib(rng, planar):
    pysiglib = pytest.importorskip("pysiglib")
    x = 0.4 * rng.normal(size=(5, 6, 3))
    for opts in ({}, {"time_aug": True, "end_time": 2.0}, {"lead_lag": True}):
        pysiglib.prepare_branched_sig(3, 3, planar=planar, **{
            k: v for k, v in opts.items() if k != "end_time"})
        b = sksig.branched_sig(x, 3, planar=planar, **opts)
        w = rng.normal(size=b.shape)
        theirs = pysiglib.branched_sig_backprop(x, b, w, 3, planar=planar, **opts)
        np.testing.assert_allclose(
            sksig.branched_sig_backprop(x, b, w, 3, planar=planar, **opts), theirs,
            rtol=1e-9, atol=1e-11)
