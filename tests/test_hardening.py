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
    match = f"blogsig_derivs must have trailing length {n + 1}"
    with pytest.raises(ValueError, match=match):
        sksig.branched_sig_to_log_sig_backprop(bsig, np.ones(n), 2, 2)
    grad = sksig.branched_sig_to_log_sig_backprop(bsig, np.ones(n + 1), 2, 2)
    assert grad.shape == (n + 1,) and grad[0] == 0


# --- Sizes and times estimated before building, refused with the argument named ----


def test_lyndon_table_estimate_bounds_the_built_size():
    from sksig._lyndon import _build_tables, table_bytes

    for dim, degrees in ((2, range(1, 13)), (3, range(1, 9)), (5, range(1, 6))):
        for degree in degrees:
            built = sum(a.nbytes for a in _build_tables(dim, degree))
            estimate = table_bytes(dim, degree)
            assert built <= estimate <= 3 * built + 4096, (dim, degree)


def test_branched_table_estimate_bounds_the_built_size():
    from sksig._branched import _n_terms
    from sksig._trees import build_estimate, tables

    for planar in (False, True):
        for dim, degree in ((1, 6), (2, 4), (3, 3)):
            tb = tables(dim, degree, planar)
            terms = _n_terms(tb) - tb.n
            estimate = build_estimate(dim, degree, planar)[0]
            assert terms <= estimate <= 3 * terms + 100, (planar, dim, degree)


def _refused(call, match):
    with pytest.raises(ValueError, match=match) as info:
        call()
    return str(info.value)


@pytest.mark.parametrize("call, argument", [
    (lambda: sksig.lyndon_words(2, 30), "max_length"),
    (lambda: sksig.lyndon_words_of_length(3, 21), "length"),
    (lambda: sksig.log_sig(X2, 23, method=2), "degree"),
    (lambda: sksig.log_sig(X2, 24, method=1), "degree"),
    (lambda: sksig.prepare_log_sig(2, 25), "degree"),
    (lambda: sksig.log_sig_join(np.zeros(10), np.ones(2), 2, 26), "degree"),
    (lambda: sksig.branched_sig(X2, 11), "degree"),
    (lambda: sksig.branched_log_sig(X1, 13, planar=True), "degree"),
    (lambda: sksig.prepare_branched_sig(3, 9), "degree"),
])
def test_oversized_tables_are_refused_before_building(call, argument):
    # Far beyond this machine (the estimates are terabytes or hours), refused at once.
    message = _refused(call, "would (need|take) about")
    assert f"lower {argument}" in message


def test_limits_follow_the_environment(monkeypatch):
    from sksig._lyndon import table_bytes

    # A fresh (dimension, degree), so no cached table skips the check.
    need = table_bytes(7, 4)
    monkeypatch.setenv("SKSIG_MEMORY_LIMIT", str(need / 2))
    message = _refused(lambda: sksig.prepare_log_sig(7, 4), "Lyndon-basis tables")
    assert "SKSIG_MEMORY_LIMIT" in message and "lower degree" in message
    monkeypatch.setenv("SKSIG_MEMORY_LIMIT", str(need * 2))
    sksig.prepare_log_sig(7, 4)  # allowed: legitimately large calls stay possible
    # Work tensors are checked at every call (they are not cached).
    monkeypatch.setenv("SKSIG_MEMORY_LIMIT", "1000")
    _refused(lambda: sksig.sig(np.zeros((3, 2)), 6), "work tensors.*degree")
    monkeypatch.setenv("SKSIG_MEMORY_LIMIT", "bad")
    _refused(lambda: sksig.sig(np.zeros((3, 2)), 2), "SKSIG_MEMORY_LIMIT")
    monkeypatch.delenv("SKSIG_MEMORY_LIMIT")
    monkeypatch.setenv("SKSIG_TIME_LIMIT", "1e-9")
    _refused(lambda: sksig.lyndon_words(4, 4), "would take about.*max_length")
    _refused(lambda: sksig.branched_sig(np.zeros((2, 4)), 3), "branched tables.*degree")
