"""Branched streams against recomputation from scratch (branched_sig / branched_log_sig
of the same points), and the exact inverse against the group identity."""

import warnings

import numpy as np
import pytest

import sksig

PLANAR = [False, True]


def _walk(rng, shape):
    return np.cumsum(0.3 * rng.standard_normal(shape), axis=-2)


@pytest.mark.parametrize("planar", PLANAR)
def test_prefix_inverses_are_group_inverses(planar, rng):
    # The inverse rows kept beside the prefixes: X^-1 X = 1 (no non-scalar part).
    x = _walk(rng, (3, 6, 2))
    stream = sksig.BranchedSigStream(2, 4, planar=planar)
    stream.push_batch(x[:, :3])
    stream.push(x[:, 3])
    stream.push_batch(x[:, 4:])
    inverse, prefix = stream._inverse.view(), stream._prefix.view()
    np.testing.assert_allclose(stream._alg.combine(inverse, prefix), 0, atol=1e-12)
    want = sksig.branched_sig(x[:, ::-1], 4, planar=planar)  # the whole path backwards
    np.testing.assert_allclose(inverse[-1], want, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("planar", PLANAR)
@pytest.mark.parametrize("scalar_term", [False, True])
def test_cumulative_stream_equals_recomputation(planar, scalar_term, rng):
    x = _walk(rng, (2, 9, 2))
    stream = sksig.BranchedSigStream(2, 3, planar=planar, scalar_term=scalar_term)
    stream.push_batch(x[:, :4])
    for t in range(4, 9):  # mixed single and batched pushes
        stream.push(x[:, t])
    for a, b in ((0, 8), (2, 5), (6, 8), (3, 4)):
        want = sksig.branched_sig(x[:, a:b + 1], 3, planar=planar,
                                  scalar_term=scalar_term)
        np.testing.assert_allclose(stream.sig(a, b), want, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("planar,method", [(False, None), (False, 0), (True, None),
                                           (True, 1), (True, 2), (True, 3)])
def test_log_stream_equals_recomputation(planar, method, rng):
    x = _walk(rng, (7, 3))
    stream = sksig.BranchedLogSigStream(3, 3, planar=planar, method=method)
    stream.push_batch(x)
    want = sksig.branched_log_sig(x[2:6], 3, planar=planar, method=method)
    np.testing.assert_allclose(stream.sig(2, 5), want, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("planar", PLANAR)
@pytest.mark.parametrize("window_size,stride", [(4, 1), (4, 3), (5, 5), (2, 2)])
def test_window_stream_equals_recomputation(planar, window_size, stride, rng):
    x = _walk(rng, (2, 15, 2))
    ws = sksig.BranchedSigWindowStream(2, 3, window_size, stride=stride, planar=planar)
    ws.push_batch(x[:, :6])
    for t in range(6, 15):
        ws.push(x[:, t])
    starts = range(0, 15 - window_size + 1, stride)
    got = ws.sig()
    assert ws.num_windows == len(starts)
    for k, a in enumerate(starts):
        want = sksig.branched_sig(x[:, a:a + window_size], 3, planar=planar)
        np.testing.assert_allclose(got[k], want, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("planar,method,scalar_term",
                         [(False, None, False), (False, 0, True), (True, 2, False)])
def test_log_window_stream_equals_recomputation(planar, method, scalar_term, rng):
    x = _walk(rng, (12, 2))
    ws = sksig.BranchedLogSigWindowStream(2, 3, 5, stride=2, planar=planar,
                                          method=method, scalar_term=scalar_term)
    ws.push_batch(x)
    got = ws.sig()
    for k, a in enumerate(range(0, 8, 2)):
        want = sksig.branched_log_sig(x[a:a + 5], 3, planar=planar, method=method,
                                      scalar_term=scalar_term)
        np.testing.assert_allclose(got[k], want, rtol=1e-11, atol=1e-12)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="degree"):
        sksig.BranchedSigStream(2, 0)
    with pytest.raises(TypeError, match="planar"):
        sksig.BranchedSigWindowStream(2, 3, 4, planar="yes")
    with pytest.raises(ValueError, match="method"):
        sksig.BranchedLogSigStream(2, 3, planar=False, method=2)


def test_against_pysiglib(rng):
    pysiglib = pytest.importorskip("pysiglib")
    x = _walk(rng, (10, 2))
    pysiglib.prepare_branched_sig(2, 3)
    ws = sksig.BranchedSigWindowStream(2, 3, 4, stride=2)
    theirs = pysiglib.BranchedSigWindowStream(2, 3, 4, stride=2)
    ws.push_batch(x)
    with warnings.catch_warnings():  # pySigLib warns about its own internal views
        warnings.simplefilter("ignore", UserWarning)
        for point in x:  # pySigLib 4's push_batch indexes only a run's last point
            theirs.push(point)
        want = np.asarray(theirs.sig())
    np.testing.assert_allclose(ws.sig(), want, rtol=1e-10, atol=1e-12)
