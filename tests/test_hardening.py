"""Regression tests of issue 13 (hardening): length conventions, bounded tables and
memory, interrupts and clear errors. Each property is checked across every function
that has it, not only on the reported reproducer."""

import numpy as np
import pytest

import sksig

X2 = np.array([[0.0, 0.0], [0.1, 0.1]])
X1 = X2[:, :1]


# --- Length conventions: no input of another length is read silently ---------------


def test_log_sig_join_reproducer_wrong_degree_is_refused():
    ls = sksig.log_sig(X2, 2, method=2)  # 3 entries = log_sig_length(2, 1) + 1
    with pytest.raises(ValueError, match=r"log_sig must have trailing length 2"):
        sksig.log_sig_join(ls, np.ones(2), 2, 1)
    with pytest.raises(ValueError, match=r"log_sig must have trailing length 2"):
        sksig.log_sig_join_backprop(np.ones(2), ls, np.ones(2), 2, 1)
    with pytest.raises(ValueError, match=r"d_out must have trailing length 2"):
        sksig.log_sig_join_backprop(np.ones(3), ls[1:], np.ones(2), 2, 1)
    # The right degree gives the BCH value (degree 1: plain addition).
    np.testing.assert_allclose(sksig.log_sig_join(ls[:2], np.ones(2), 2, 1), [1.1, 1.1])


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("degree", [1, 2, 3, 4])
def test_log_sig_join_accepts_exactly_the_log_sig_length(dim, degree):
    n = sksig.log_sig_length(dim, degree)
    v = np.full(dim, 0.5)
    for length in {0, 1, n - 1, n + 1, n + 2, 2 * n} - {n}:
        if length < 0:
            continue
        bad = np.zeros((2, length))
        with pytest.raises(ValueError, match="log_sig must have trailing length"):
            sksig.log_sig_join(bad, np.tile(v, (2, 1)), dim, degree)
        with pytest.raises(ValueError, match="log_sig must have trailing length"):
            sksig.log_sig_join_backprop(np.zeros((2, n)), bad, np.tile(v, (2, 1)), dim,
                                        degree)
        with pytest.raises(ValueError, match="d_out must have trailing length"):
            sksig.log_sig_join_backprop(bad, np.zeros((2, n)), np.tile(v, (2, 1)), dim,
                                        degree)
    # The one accepted length: joining onto zero is exp(v), whose log is v.
    got = sksig.log_sig_join(np.zeros(n), v, dim, degree)
    np.testing.assert_allclose(got[:dim], v)
    np.testing.assert_allclose(got[dim:], 0, atol=1e-15)


def test_branched_to_log_sig_reproducer_is_refused_or_explicit():
    bsig = sksig.branched_sig(X1, 2)  # [0.1, 0.005]: degree 2 without scalar term
    with pytest.raises(ValueError, match="ambiguous.*scalar_term"):
        sksig.branched_sig_to_log_sig(bsig, 1, 1)
    with pytest.raises(ValueError, match="ambiguous"):
        sksig.branched_sig_to_log_sig_backprop(bsig, np.ones(2), 1, 1)
    with pytest.raises(ValueError, match=r"bsig must have trailing length 1 \(without"):
        sksig.branched_sig_to_log_sig(bsig, 1, 1, scalar_term=False)
    # Explicitly read as a scalar entry followed by the degree-1 part.
    np.testing.assert_array_equal(
        sksig.branched_sig_to_log_sig(bsig, 1, 1, scalar_term=True), [0.0, bsig[1]])
    # At the right degree the log of exp(0.1 x) is 0.1 x: [0.1, 0].
    np.testing.assert_allclose(sksig.branched_sig_to_log_sig(bsig, 1, 2), [0.1, 0.0],
                               atol=1e-18)


def _other_lengths(n):
    return sorted({0, 1, n - 1, n + 2, 2 * n} - {n, n + 1} - {-1})


@pytest.mark.parametrize("planar", [False, True])
@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("degree", [1, 2, 3])
def test_branched_to_log_sig_length_convention(planar, dim, degree):
    n = sksig.branched_sig_length(dim, degree, planar=planar)
    next_n = sksig.branched_sig_length(dim, degree + 1, planar=planar)
    method = 2 if planar else 0
    kw = dict(planar=planar, method=method)
    fwd, bwd = sksig.branched_sig_to_log_sig, sksig.branched_sig_to_log_sig_backprop
    rng = np.random.default_rng(dim * 10 + degree)
    plain = rng.normal(size=(2, n)) * 0.3
    with_one = np.concatenate([np.ones((2, 1)), plain], axis=1)
    want = fwd(plain, dim, degree, scalar_term=False, **kw)
    out_len = want.shape[-1]
    # Explicit scalar_term: exactly n + 1 or exactly n.
    got = fwd(with_one, dim, degree, scalar_term=True, **kw)
    np.testing.assert_array_equal(got[:, 1:] if method == 0 else got, want)
    for scalar_term, array in ((True, plain), (False, with_one)):
        with pytest.raises(ValueError, match=f"scalar_term={scalar_term}"):
            fwd(array, dim, degree, scalar_term=scalar_term, **kw)
        derivs = np.zeros((2, out_len + (scalar_term and method == 0)))
        with pytest.raises(ValueError, match=f"scalar_term={scalar_term}"):
            bwd(array, derivs, dim, degree, scalar_term=scalar_term, **kw)
    # Inferred: n is plain, n + 1 has the scalar term unless that is ambiguous.
    np.testing.assert_array_equal(fwd(plain, dim, degree, **kw), want)
    if next_n == n + 1:
        with pytest.raises(ValueError, match="ambiguous"):
            fwd(with_one, dim, degree, **kw)
    else:
        np.testing.assert_array_equal(fwd(with_one, dim, degree, **kw), got)
    for length in _other_lengths(n):
        for scalar_term in (None, True, False):
            with pytest.raises(ValueError, match="bsig must have trailing length"):
                fwd(np.zeros((2, length)), dim, degree, scalar_term=scalar_term, **kw)
            with pytest.raises(ValueError, match="bsig must have trailing length"):
                bwd(np.zeros((2, length)), np.zeros((2, out_len)), dim, degree,
                    scalar_term=scalar_term, **kw)
    # The gradient has exactly the forward output's length.
    for length in _other_lengths(out_len) + [out_len + 1]:
        with pytest.raises(ValueError, match="blogsig_derivs must have trailing"):
            bwd(plain, np.zeros((2, length)), dim, degree, scalar_term=False, **kw)


def test_branched_backprop_derivs_follow_the_bsig_format():
    n = sksig.branched_sig_length(2, 2)
    bsig = np.r_[1.0, np.linspace(0.1, 0.5, n)]
    with pytest.raises(ValueError, match=f"blogsig_derivs must have trailing length {n + 1}"):
        sksig.branched_sig_to_log_sig_backprop(bsig, np.ones(n), 2, 2)
    grad = sksig.branched_sig_to_log_sig_backprop(bsig, np.ones(n + 1), 2, 2)
    assert grad.shape == (n + 1,) and grad[0] == 0
