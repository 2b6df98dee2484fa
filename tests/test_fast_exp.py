"""Accuracy of the cores' own exp (sksig/_core/include/sksig/fast_exp.hpp).

The exp-based static kernels (RBF, Matern 1/2, 3/2, 5/2) and the branched signature
kernel compute exp with a vectorisable routine of their own instead of the C library's,
so its error is measured here, in units in the last place (ulp) of the result, against
an independent oracle: numpy's long-double exp (64-bit mantissa on x86-64: its own
error, below 2^-11 ulp of a double, does not show at the bounds asserted),
spot-checked with mpmath where installed. The sweep is dense over the whole range
where exp is a positive finite double ([-745.2, 709.8]) and its edges, for float64 and
float32.
"""

import numpy as np
import pytest

from sksig._core import _fast_exp

LONG_DOUBLE_IS_WIDE = np.finfo(np.longdouble).nmant >= 63
needs_long_double = pytest.mark.skipif(
    not LONG_DOUBLE_IS_WIDE, reason="long double has no 64-bit mantissa here")


def fast_exp(x):
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    _fast_exp.exp_row(x, out)
    return out


def ulp_error(got, x, dtype):
    """|got - exp(x)| in ulps of the exact value's spacing in dtype (subnormal spacing
    below the smallest normal), for the finite in-range values."""
    info = np.finfo(dtype)
    want = np.exp(x.astype(np.longdouble))
    mag = np.maximum(want, np.longdouble(info.smallest_normal))
    exponent = np.floor(np.log2(mag)).astype(np.int64)
    spacing = np.ldexp(np.longdouble(1), exponent - info.nmant)
    return np.abs(got.astype(np.longdouble) - want) / spacing, want


def sweep(lo, hi, n, rng):
    return np.concatenate([np.linspace(lo, hi, n), rng.uniform(lo, hi, n),
                           rng.uniform(-1.0, 1.0, n // 4)])


@needs_long_double
def test_float64_within_0_7_ulp_normal_and_0_8_ulp_subnormal(rng):
    x = sweep(-745.2, 709.78, 400_000, rng)
    x = np.concatenate([x, np.linspace(-745.2, -707.0, 20_000)])  # subnormal results
    got = fast_exp(x)
    err, want = ulp_error(got, x, np.float64)
    normal = want >= np.finfo(np.float64).smallest_normal
    assert np.all(np.isfinite(got)) and np.all(got >= 0)
    assert err[normal].max() <= 0.7
    assert err[~normal].max() <= 0.8
    # Nearly always the correctly rounded double.
    assert np.mean(got == want.astype(np.float64)) > 0.97


@needs_long_double
def test_float32_is_correctly_rounded(rng):
    x = sweep(-103.9, 88.72, 400_000, rng).astype(np.float32)
    got = fast_exp(x)
    assert got.dtype == np.float32
    err, want = ulp_error(got, x, np.float32)
    # The double routine rounded once to float: the correctly rounded float except
    # possibly in a near-tie (within 2^-28 ulp of one).
    assert err.max() <= 0.5 + 2.0**-20
    assert np.mean(got == want.astype(np.float32)) > 0.99999


def test_edges_float64():
    big = np.float64(709.782712893384)  # largest x with exp(x) finite
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, big, np.nextafter(big, 800.0),
                  710.0, 1e300, -745.1332191019411, -745.1332191019412, -746.0, -1e300,
                  5e-324, -5e-324])
    got = fast_exp(x)
    assert got[0] == 1.0 and got[1] == 1.0
    assert got[2] == np.inf and got[3] == 0.0 and np.isnan(got[4])
    assert got[5] == np.exp(big) and np.isfinite(got[5])
    assert np.all(got[6:9] == np.inf)
    assert got[9] == 5e-324  # the smallest subnormal, not flushed
    assert np.all(got[10:13] == 0.0)
    assert got[13] == 1.0 and got[14] == 1.0


def test_edges_float32():
    big = np.float32(88.72283)  # largest float32 x with exp(x) finite in float32
    x = np.array([0.0, np.inf, -np.inf, np.nan, big, np.nextafter(big, np.float32(99)),
                  -103.27893, -104.0, -87.0], dtype=np.float32)
    got = fast_exp(x)
    assert got[0] == 1.0 and got[1] == np.inf and got[2] == 0.0 and np.isnan(got[3])
    assert np.isfinite(got[4]) and got[5] == np.inf
    assert got[6] == np.float32(1e-45) and got[7] == 0.0  # subnormal, then underflow
    assert got[8] == np.float32(np.exp(np.longdouble(-87.0)))


def test_matches_mpmath_at_spot_points(rng):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.prec = 120
    x = np.concatenate([rng.uniform(-745.0, 709.7, 300), rng.uniform(-0.4, 0.4, 100)])
    got = fast_exp(x)
    for xi, gi in zip(x, got, strict=True):
        want = mpmath.exp(mpmath.mpf(float(xi)))
        spacing = np.spacing(float(want)) if float(want) > 2.3e-308 else 5e-324
        assert abs(mpmath.mpf(float(gi)) - want) <= 0.8 * spacing


def test_rows_of_any_length_and_mismatch_rejected():
    for n in range(0, 11):  # vector body and remainders
        x = np.linspace(-3.0, 3.0, n)
        np.testing.assert_array_equal(fast_exp(x), fast_exp(x[::-1])[::-1])
    with pytest.raises(ValueError, match="same length"):
        _fast_exp.exp_row(np.zeros(3), np.zeros(2))


@pytest.mark.parametrize("dyadic_order", [0, 1])
def test_rbf_forward_vector_exp_matches_one_lane_path(dyadic_order, rng):
    # Blocks of 16 float64 pairs form the RBF kernel values with fast_exp_vec (a
    # vector of lanes at a time, one exact scaling when every lane lies in [-708, 709],
    # fast_exp per lane otherwise); a pair alone runs in a one-lane block on fast_exp
    # itself, whose accuracy the tests above measure. Pairs 0-7 keep every exp argument
    # in range, pairs 8-15 go far below -708 (underflow, subnormal and zero values), so
    # both branches run; the results must agree to the bit.
    import sksig

    kernel = sksig.RBFKernel(sigma=0.01)
    x = np.cumsum(rng.standard_normal((16, 12, 3)), axis=1) * 0.05
    y = np.cumsum(rng.standard_normal((16, 9, 3)), axis=1) * 0.05
    x[8:] *= 40.0
    args = -((x[:, :, None, :] - y[:, None, :, :]) ** 2).sum(-1) / 0.01
    assert (args[:8] > -708.0).all() and (args[8:] < -708.0).any()
    grid = sksig.sig_kernel(x, y, dyadic_order, static_kernel=kernel, return_grid=True)
    for i in range(16):
        one = sksig.sig_kernel(x[i:i + 1], y[i:i + 1], dyadic_order,
                               static_kernel=kernel, return_grid=True)
        np.testing.assert_array_equal(one[0], grid[i])
