"""Streams against recomputation from scratch (sksig.sig / sksig.log_sig of the same
points), on short and long streams, and pySigLib 4 cross-checks."""

import warnings

import numpy as np
import pytest

import sksig
from sksig._streams import SigAlgebra, _Algebra


def _walk(rng, n, d, batch=()):
    return np.cumsum(rng.normal(size=batch + (n, d)) * 0.3, axis=-2)


def _push_in_pieces(stream, x, rng):
    """Push x (..., n, d) as a mix of single points and runs of random lengths."""
    t = 0
    n = x.shape[-2]
    while t < n:
        k = int(rng.integers(1, 6))
        if k == 1:
            stream.push(x[..., t, :])
        else:
            stream.push_batch(x[..., t:t + k, :])
        t += k


# ------------------------------------------------------------------ cumulative


@pytest.mark.parametrize("batch", [(), (3,), (2, 2)])
def test_sig_stream_intervals_equal_sig_from_scratch(rng, batch):
    x = _walk(rng, 30, 3, batch)
    stream = sksig.SigStream(3, 3)
    _push_in_pieces(stream, x, rng)
    assert stream.size == 30 and stream.batch_shape == batch
    for a, b in [(0, 29), (5, 6), (7, 7), (3, 20), (28, 29)]:
        np.testing.assert_allclose(stream.sig(a, b), sksig.sig(x[..., a:b + 1, :], 3),
                                   rtol=1e-9, atol=1e-10)
    got = stream.sig_batch([(0, 4), (10, 12)])
    assert got.shape == (2,) + batch + (39,)
    np.testing.assert_allclose(got[1], sksig.sig(x[..., 10:13, :], 3), atol=1e-10)
    all_ = stream.sig_all()
    assert all_.shape == (30,) + batch + (39,)
    np.testing.assert_allclose(all_[17], sksig.sig(x[..., :18, :], 3), rtol=1e-10,
                               atol=1e-10)


def test_sig_stream_pop_front_scalar_term_and_float32(rng):
    x = _walk(rng, 12, 2).astype(np.float32)
    stream = sksig.SigStream(2, 4, scalar_term=True)
    stream.push_batch(x)
    stream.pop_front()
    stream.pop_front()
    assert (stream.start_index, stream.end_index, stream.size) == (2, 11, 10)
    got = stream.sig(2, 11)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, sksig.sig(x[2:], 4, scalar_term=True), rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(stream.sig_all()[-1], got, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="not within"):
        stream.sig(1, 5)
    with pytest.raises(ValueError, match="not within"):
        stream.sig(5, 3)


@pytest.mark.parametrize("method", [2, 3])
def test_log_sig_stream_equals_log_sig_from_scratch(rng, method):
    x = _walk(rng, 25, 2, (2,))
    stream = sksig.LogSigStream(2, 4, method=method)
    _push_in_pieces(stream, x, rng)
    for a, b in [(0, 24), (4, 9), (11, 12), (6, 6)]:
        np.testing.assert_allclose(stream.sig(a, b),
                                   sksig.log_sig(x[..., a:b + 1, :], 4, method=2),
                                   rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(stream.sig_all()[9],
                               sksig.log_sig(x[:, :10], 4, method=2), rtol=1e-9,
                               atol=1e-10)


def test_stream_inputs_are_checked(rng):
    stream = sksig.SigStream(2, 2)
    with pytest.raises(ValueError, match="dimension=2"):
        stream.push(np.ones(3))
    stream.push(np.ones((4, 2)))
    with pytest.raises(ValueError, match="batch shape"):
        stream.push(np.ones((3, 2)))
    with pytest.raises(TypeError, match="dtype"):
        stream.push(np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        stream.push(np.full((4, 2), np.nan))
    with pytest.raises(ValueError, match="method"):
        sksig.LogSigStream(2, 2, method=1)
    with pytest.raises(ValueError, match="window_size"):
        sksig.SigWindowStream(2, 2, 0)
    with pytest.raises(ValueError, match="stride"):
        sksig.SigWindowStream(2, 2, 3, stride=0)
    empty = sksig.SigStream(2, 2)
    with pytest.raises(ValueError, match="empty"):
        empty.pop_front()


def test_torch_points_give_torch_results(rng):
    torch = pytest.importorskip("torch")
    x = _walk(rng, 10, 2)
    stream = sksig.SigStream(2, 3)
    stream.push_batch(torch.from_numpy(x))
    got = stream.sig(2, 8)
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), sksig.sig(x[2:9], 3), atol=1e-10)


# --------------------------------------------------------------------- windows


def _windows_from_scratch(x, w, stride, fn):
    n = x.shape[-2]
    return np.stack([fn(x[..., a:a + w, :]) for a in range(0, n - w + 1, stride)])


@pytest.mark.parametrize("w, stride", [(1, 1), (2, 1), (5, 1), (5, 2), (4, 7), (9, 3),
                                       (30, 4)])
@pytest.mark.parametrize("batch", [(), (2,)])
def test_sig_window_stream_equals_sig_of_each_window(rng, w, stride, batch):
    x = _walk(rng, 40, 2, batch)
    ws = sksig.SigWindowStream(2, 3, w, stride=stride)
    _push_in_pieces(ws, x, rng)
    want = _windows_from_scratch(x, w, stride, lambda p: sksig.sig(p, 3))
    got = ws.sig()
    assert ws.num_windows == len(want)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_sig_window_stream_scalar_term_and_no_window_yet(rng):
    ws = sksig.SigWindowStream(2, 2, 6, scalar_term=True)
    assert ws.sig().shape == (0, 7)
    ws.push_batch(np.zeros((4, 2)))
    assert ws.sig().shape == (0, 7)
    x = _walk(rng, 10, 2)
    ws.push_batch(x)
    full = np.vstack([np.zeros((4, 2)), x])
    np.testing.assert_allclose(ws.sig(), _windows_from_scratch(
        full, 6, 1, lambda p: sksig.sig(p, 2, scalar_term=True)), atol=1e-12)


@pytest.mark.parametrize("method", [1, 2, 3])
def test_log_sig_window_stream_equals_log_sig_of_each_window(rng, method):
    x = _walk(rng, 30, 3, (2,))
    ws = sksig.LogSigWindowStream(3, 3, 7, stride=2, method=method)
    _push_in_pieces(ws, x, rng)
    want = _windows_from_scratch(x, 7, 2,
                                 lambda p: sksig.log_sig(p, 3, method=min(method, 2)))
    np.testing.assert_allclose(ws.sig(), want, rtol=1e-9, atol=1e-11)


def test_long_stream_accuracy_window_versus_inverse(rng):
    """100,000 points of a wandering walk: the window stream stays at round-off of a
    from-scratch signature; the cumulative stream's interval query (inverse prefix
    times prefix) loses accuracy to cancellation, as documented."""
    n, w = 100_000, 20
    x = np.cumsum(rng.normal(size=(n, 2)), axis=0)  # |x| grows like sqrt(n) ~ 300
    ws = sksig.SigWindowStream(2, 3, w, stride=997)
    ws.push_batch(x[:50_000])
    for t in range(50_000, 50_010):
        ws.push(x[t])
    ws.push_batch(x[50_010:])
    want = _windows_from_scratch(x, w, 997, lambda p: sksig.sig(p, 3))
    scale = np.abs(want).max()
    window_err = np.abs(ws.sig() - want).max() / scale
    assert window_err < 1e-12
    stream = sksig.SigStream(2, 3)
    stream.push_batch(x)
    a = n - w
    inverse_err = np.abs(stream.sig(a, n - 1) - want[-1]).max() / scale
    assert inverse_err > 100 * window_err  # the documented trade-off, measured


def test_generic_algebra_defaults_match_the_native_passes(rng):
    """The hooks' default expanding/suffix passes (repeated joins), used by algebras
    without a native pass, agree with the signature algebra's native ones."""
    alg = SigAlgebra(2, 3, False, 1)
    pts = _walk(rng, 7, 2, (3,)).transpose(1, 0, 2)  # (k, batch, dim)
    np.testing.assert_allclose(_Algebra.expanding(alg, pts), alg.expanding(pts),
                               atol=1e-12)
    np.testing.assert_allclose(_Algebra.suffixes(alg, pts), alg.suffixes(pts),
                               atol=1e-12)
    np.testing.assert_allclose(alg.suffixes(pts)[2],
                               sksig.sig(pts[2:].transpose(1, 0, 2), 3), atol=1e-12)


def test_n_jobs_gives_identical_windows(rng):
    x = _walk(rng, 60, 3, (5,))
    one = sksig.SigWindowStream(3, 3, 8, stride=2)
    many = sksig.SigWindowStream(3, 3, 8, stride=2, n_jobs=2)
    one.push_batch(x)
    many.push_batch(x)
    np.testing.assert_array_equal(one.sig(), many.sig())


# ------------------------------------------------------------------- pySigLib


def test_cross_check_pysiglib_streams(rng):
    ps = pytest.importorskip("pysiglib")
    warnings.filterwarnings("ignore", message="Detected a non-contiguous")
    x = _walk(rng, 40, 3, (2,))
    ours, theirs = sksig.SigStream(3, 3), ps.SigStream(3, 3)
    ours.push_batch(x)
    for t in range(x.shape[1]):  # pySigLib's push_batch indexes only a run's end
        theirs.push(x[:, t])
    np.testing.assert_allclose(ours.sig(5, 30), theirs.sig(5, 30), atol=1e-9)
    ours_w = sksig.SigWindowStream(3, 3, 10, stride=3)
    theirs_w = ps.SigWindowStream(3, 3, 10, stride=3)
    ours_w.push_batch(x)
    theirs_w.push_batch(x)
    np.testing.assert_allclose(ours_w.sig(), theirs_w.sig(), atol=1e-10)
    ps.prepare_log_sig(3, 3, method=2)
    ps.prepare_log_sig(3, 3, method=3)
    ours_l = sksig.LogSigWindowStream(3, 3, 10, stride=3)
    theirs_l = ps.LogSigWindowStream(3, 3, 10, stride=3)
    ours_l.push_batch(x)
    theirs_l.push_batch(x)
    np.testing.assert_allclose(ours_l.sig(), theirs_l.sig(), atol=1e-10)
