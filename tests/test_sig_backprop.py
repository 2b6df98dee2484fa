"""sig_backprop and log_sig_backprop: exact adjoints of sig and log_sig.

Oracles: central finite differences of the (separately tested) forwards, recomputation
per path, and pySigLib 4 when installed.
"""

import numpy as np
import pytest
from conftest import central_differences

import sksig

# The length and batch-shape errors of signature-shaped inputs.
BAD_SHAPE = "must have (trailing length|the paths' batch shape)"


def _fd_check(forward, backprop, x, w, rtol=1e-6):
    """backprop(x, w) equals the central-difference gradient of w . forward(x)."""
    got = backprop(x, w)
    want = central_differences(lambda p: float(np.sum(w * forward(p))), x)
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize(("dim", "degree", "length"),
                         [(1, 3, 4), (2, 1, 3), (2, 4, 6), (3, 3, 5), (4, 2, 4),
                          (5, 3, 3)])
@pytest.mark.parametrize("scalar_term", [False, True])
def test_sig_backprop_finite_differences(rng, dim, degree, length, scalar_term):
    x = 0.6 * rng.normal(size=(length, dim))
    s = sksig.sig(x, degree, scalar_term=scalar_term)
    w = rng.normal(size=s.shape)
    _fd_check(lambda p: sksig.sig(p, degree, scalar_term=scalar_term),
              lambda p, g: sksig.sig_backprop(p, s, g, degree,
                                              scalar_term=scalar_term), x, w)
    if dim > 1:  # in dimension 1 an inferred scalar term is ambiguous (refused)
        np.testing.assert_array_equal(
            sksig.sig_backprop(x, s, w, degree, scalar_term=scalar_term),
            sksig.sig_backprop(x, s, w, degree))


@pytest.mark.parametrize(("time_aug", "lead_lag"),
                         [(True, False), (False, True), (True, True)])
def test_sig_backprop_transforms(rng, time_aug, lead_lag):
    x = 0.5 * rng.normal(size=(2, 4, 2))
    opts = dict(time_aug=time_aug, lead_lag=lead_lag, end_time=2.5)
    s = sksig.sig(x, 3, **opts)
    w = rng.normal(size=s.shape)
    _fd_check(lambda p: sksig.sig(p, 3, **opts),
              lambda p, g: sksig.sig_backprop(p, s, g, 3, **opts), x, w)


@pytest.mark.parametrize("method", [0, 1, 2])
@pytest.mark.parametrize(("dim", "degree"), [(1, 3), (2, 4), (3, 3), (4, 2)])
def test_log_sig_backprop_finite_differences(rng, method, dim, degree):
    x = 0.6 * rng.normal(size=(2, 5, dim))
    ls = sksig.log_sig(x, degree, method=method)
    w = rng.normal(size=ls.shape)
    _fd_check(lambda p: sksig.log_sig(p, degree, method=method),
              lambda p, g: sksig.log_sig_backprop(p, ls, g, degree, method=method),
              x, w)


@pytest.mark.parametrize("method", [0, 1, 2])
def test_log_sig_backprop_transforms_and_scalar_term(rng, method):
    x = 0.5 * rng.normal(size=(4, 2))
    opts = dict(time_aug=True, lead_lag=True, end_time=0.7, method=method,
                scalar_term=True)
    ls = sksig.log_sig(x, 3, **opts)
    w = rng.normal(size=ls.shape)
    _fd_check(lambda p: sksig.log_sig(p, 3, **opts),
              lambda p, g: sksig.log_sig_backprop(p, ls, g, 3, **opts), x, w)


def test_backprops_batch_shapes_ragged_n_jobs_and_kinds(rng):
    x = 0.4 * rng.normal(size=(2, 3, 6, 3))
    s = sksig.sig(x, 4)
    w = rng.normal(size=s.shape)
    g = sksig.sig_backprop(x, s, w, 4, n_jobs=2)
    assert g.shape == x.shape
    ls = sksig.log_sig(x, 4, method=2)
    wl = rng.normal(size=ls.shape)
    gl = sksig.log_sig_backprop(x, ls, wl, 4, method=2, n_jobs=-1)
    for i, j in np.ndindex(2, 3):
        # Each path alone gives bitwise the same gradient (packs never mix lanes).
        assert np.array_equal(sksig.sig_backprop(x[i, j], s[i, j], w[i, j], 4), g[i, j])
        assert np.array_equal(
            sksig.log_sig_backprop(x[i, j], ls[i, j], wl[i, j], 4, method=2), gl[i, j])
    assert np.array_equal(sksig.sig_backprop(x, s, w, 4, n_jobs=1), g)
    # Ragged lists: one gradient per path, of its own length (time_aug included).
    paths = [x[0, 0], x[0, 1, :3], x[1, 2, :1]]
    sr = sksig.sig(paths, 3, time_aug=True)
    wr = rng.normal(size=sr.shape)
    gr = sksig.sig_backprop(paths, sr, wr, 3, time_aug=True)
    for p, sp, wp, gp in zip(paths, sr, wr, gr, strict=True):
        np.testing.assert_allclose(gp, sksig.sig_backprop(p, sp, wp, 3, time_aug=True),
                                   rtol=1e-12, atol=1e-14)
    lr = sksig.log_sig(paths, 3, method=1)
    glr = sksig.log_sig_backprop(paths, lr, np.ones_like(lr), 3, method=1)
    assert [gp.shape for gp in glr] == [p.shape for p in paths]
    # float32 follows float64; torch in, torch out.
    x32 = x.astype(np.float32)
    g32 = sksig.sig_backprop(x32, s.astype(np.float32), w.astype(np.float32), 4)
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, g, rtol=0, atol=1e-4 * np.abs(g).max())
    torch = pytest.importorskip("torch")
    gt = sksig.sig_backprop(torch.tensor(x), torch.tensor(s), torch.tensor(w), 4)
    assert isinstance(gt, torch.Tensor) and np.array_equal(gt.numpy(), g)


def test_backprops_short_paths_degree_zero_and_empty_batch(rng):
    for length in (0, 1):
        x = np.zeros((3, length, 2))
        s = sksig.sig(x, 2)
        assert np.array_equal(sksig.sig_backprop(x, s, np.ones_like(s), 2), x)
        ls = sksig.log_sig(x, 2)
        assert np.array_equal(sksig.log_sig_backprop(x, ls, np.ones_like(ls), 2), x)
    x = rng.normal(size=(3, 2))
    s0 = sksig.sig(x, 0, scalar_term=True)
    assert np.array_equal(sksig.sig_backprop(x, s0, np.ones(1), 0), np.zeros_like(x))
    e = np.zeros((0, 4, 2))
    assert sksig.sig_backprop(e, np.zeros((0, 6)), np.zeros((0, 6)), 2).shape == e.shape


def test_backprops_bad_input(rng):
    x = rng.normal(size=(2, 4, 2))
    s = sksig.sig(x, 2)
    with pytest.raises(ValueError, match="sig " + BAD_SHAPE):
        sksig.sig_backprop(x, s[:, :-1], s, 2)
    with pytest.raises(ValueError, match="sig " + BAD_SHAPE):
        sksig.sig_backprop(x, s[:1], s[:1], 2)
    with pytest.raises(ValueError, match="sig_derivs " + BAD_SHAPE):
        sksig.sig_backprop(x, s, np.ones((2, 7)), 2)  # with a scalar term, sig without
    with pytest.raises(ValueError, match="sig " + BAD_SHAPE):
        sksig.sig_backprop(x, s, s, 2, scalar_term=True)
    with pytest.raises(ValueError, match="NaN"):
        sksig.sig_backprop(x, s, np.full_like(s, np.nan), 2)
    with pytest.raises(TypeError, match="dtype"):
        sksig.sig_backprop(x, s.astype(np.float32), s, 2)
    with pytest.raises(ValueError, match="degree"):
        sksig.sig_backprop(x, s, s, -1)
    with pytest.raises(TypeError, match="scalar_term"):
        sksig.sig_backprop(x, s, s, 2, scalar_term="yes")
    ls = sksig.log_sig(x, 2, method=1)
    with pytest.raises(ValueError, match="method"):
        sksig.log_sig_backprop(x, ls, ls, 2, method=4)
    with pytest.raises(ValueError, match="log_sig_derivs " + BAD_SHAPE):
        sksig.log_sig_backprop(x, ls, np.ones((2, 4)), 2, method=1)
    with pytest.raises(ValueError, match="log_sig " + BAD_SHAPE):
        sksig.log_sig_backprop(x, ls, ls, 2, method=0)


def test_backprops_overflow_is_an_error():
    x = np.array([[0.0], [1e120], [0.0]])
    s = np.ones(4)  # any finite signature: the reverse pass overflows on the way
    with pytest.raises(FloatingPointError, match="overflow"):
        sksig.sig_backprop(x, s, np.ones(4), 4)
    b = np.ones(sksig.branched_sig_length(1, 4))
    with pytest.raises(FloatingPointError, match="overflow"):
        sksig.branched_sig_backprop(x, b, b, 4)


def test_backprops_cross_check_with_pysiglib(rng):
    pysiglib = pytest.importorskip("pysiglib")
    x = 0.4 * rng.normal(size=(5, 7, 3))
    for opts in (dict(), dict(time_aug=True, end_time=2.0), dict(lead_lag=True)):
        s = sksig.sig(x, 4, **opts).copy()  # pySigLib warns on views
        w = rng.normal(size=s.shape)
        np.testing.assert_allclose(sksig.sig_backprop(x, s, w, 4, **opts),
                                   pysiglib.sig_backprop(x, s, w, 4, **opts),
                                   rtol=1e-9, atol=1e-11)
        for method in (0, 1, 2):
            pysiglib.prepare_log_sig(3, 4, method=method, **{
                k: v for k, v in opts.items() if k != "end_time"})
            ls = sksig.log_sig(x, 4, method=method, **opts)
            wl = rng.normal(size=ls.shape)
            # pySigLib's chain: the log map's adjoint, then the signature's.
            ds = pysiglib.sig_to_log_sig_backprop(
                s, wl, 3, 4, method=method,
                **{k: v for k, v in opts.items() if k != "end_time"})
            theirs = pysiglib.sig_backprop(x, s, ds, 4, **opts)
            np.testing.assert_allclose(
                sksig.log_sig_backprop(x, ls, wl, 4, method=method, **opts), theirs,
                rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("scalar_term", [False, True])
@pytest.mark.parametrize(("time_aug", "lead_lag"), [(False, False), (True, True)])
def test_torch_sig_gradcheck(rng, scalar_term, time_aug, lead_lag):
    torch = pytest.importorskip("torch")
    import sksig.torch as st

    x = torch.tensor(0.5 * rng.normal(size=(2, 4, 2)), requires_grad=True)

    def f(p):
        return st.sig(p, 3, scalar_term=scalar_term, time_aug=time_aug,
                      lead_lag=lead_lag, end_time=1.5)

    assert torch.autograd.gradcheck(f, (x,))
    with pytest.raises(TypeError, match="path"):
        st.sig(x.detach().numpy(), 2)


def test_sig_backprop_refuses_an_ambiguous_scalar_term():
    # Dimension 1: sig_length(1, 2) + 1 == sig_length(1, 3), so a length-3 sig could be
    # degree 2 with the scalar term or degree 3 without it; only scalar_term decides.
    x = np.array([[0.0], [0.5], [1.5]])
    s3 = sksig.sig(x, 3)
    with pytest.raises(ValueError, match="ambiguous"):
        sksig.sig_backprop(x, s3, np.ones_like(s3), 2)
    s2 = sksig.sig(x, 2, scalar_term=True)
    g = sksig.sig_backprop(x, s2, np.ones_like(s2), 2, scalar_term=True)
    # sum of levels 1 and 2 of a 1-D path: h + h**2/2 with h = x[-1] - x[0]
    h = x[-1, 0] - x[0, 0]
    assert np.allclose(g[:, 0], np.array([-1.0, 0.0, 1.0]) * (1 + h))


@pytest.mark.parametrize("name", ["sig", "branched_sig", "branched_log_sig"])
def test_torch_basepoint_is_a_prepended_point(rng, name):
    # Oracle: prepend the basepoint by hand; its gradient row is dropped (not an input).
    torch = pytest.importorskip("torch")
    import sksig.torch

    fn = getattr(sksig.torch, name)
    x = rng.normal(size=(3, 4, 2)) + 1.0
    point = np.array([0.5, -0.25])
    a = torch.tensor(x, requires_grad=True)
    out = fn(a, 3, basepoint=point)
    w = torch.tensor(rng.normal(size=tuple(out.shape)))
    (out * w).sum().backward()
    prepended = np.concatenate([np.broadcast_to(point, (3, 1, 2)), x], axis=1)
    b = torch.tensor(prepended, requires_grad=True)
    want = fn(b, 3)
    (want * w).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy()[:, 1:], rtol=1e-12,
                               atol=1e-13)
    gradcheck = torch.autograd.gradcheck
    assert gradcheck(lambda p: fn(p, 2, basepoint=point),
                     (torch.tensor(x[:1, :3], requires_grad=True),))
