"""Regression tests of issue 13 (hardening): length conventions, bounded tables and
memory, interrupts and clear errors. Each property is checked across every function
that has it, not only on the reported reproducer."""

import math

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
    from sksig._core.native import LYNDON_FIELDS

    from sksig._lyndon import _build_tables, table_bytes

    for dim, degrees in ((2, range(1, 13)), (3, range(1, 9)), (5, range(1, 6))):
        for degree in degrees:
            tables = _build_tables(dim, degree)
            built = sum(getattr(tables, name).nbytes for name in LYNDON_FIELDS)
            estimate = table_bytes(dim, degree)
            assert built <= estimate <= 3 * built + 4096, (dim, degree)


def test_branched_table_estimate_bounds_the_built_size():
    from sksig._core._backend import _n_terms
    from sksig._tree_tables import build_estimate, tables

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
    _refused(lambda: sksig.branched_sig(np.zeros((2, 13)), 2, planar=True),
             "branched tables.*degree")  # a fresh (uncached) table


# --- Ctrl-C: long native calls stop within about a second --------------------------

# Each family runs a call that takes far longer than the test (tens of seconds on a
# 2-core machine); SIGINT arrives 0.5 s in, from another thread (as a terminal sends it
# to the process). The child reports, per family, whether the call was interrupted and
# how long after the signal KeyboardInterrupt arrived, then checks that the process
# still computes.
_CHILD = r"""
import json, os, signal, sys, threading, time
import math

import numpy as np
import sksig

rng = np.random.default_rng(0)
P = rng.normal(size=(3, 200, 3)) / 10
X = rng.random((1500, 50, 3)) / 7
L = rng.normal(size=(200, 10000, 3)) / 100


def log_sig_backward():
    # log_sig_backprop recomputes the signature; its log_sig is only shape-checked.
    n = sksig.log_sig_length(3, 8)
    sksig.log_sig_backprop(L[:100, :4000], np.zeros((100, n)), np.ones((100, n)), 8,
                           method=2)


FAMILIES = {
    "sig_kernel_gram": lambda: sksig.sig_kernel_gram(X, X[::-1].copy(), 2),
    "sig_kernel_gram_symmetric": lambda: sksig.sig_kernel_gram(X, X, 2),
    "sig_kernel": lambda: sksig.sig_kernel(P[0], P[1], 9),
    "sig_kernel_backprop": lambda: sksig.sig_kernel_backprop(1.0, P[0], P[1], 8),
    "sig_kernel_gram_backprop": lambda: sksig.sig_kernel_gram_backprop(
        np.ones((300, 300)), X[:300], X[300:600], 2, right_deriv=True),
    "sig": lambda: sksig.sig(L, 8),
    "log_sig": lambda: sksig.log_sig(L, 8, method=2),
    "log_sig_backprop": log_sig_backward,
    "log_sig_join": lambda: sksig.log_sig_join(
        np.zeros((8000, sksig.log_sig_length(2, 14))), np.ones((8000, 2)), 2, 14),
    "lyndon_tables": lambda: sksig.prepare_log_sig(6, 9),
    "branched_sig": lambda: sksig.branched_sig(L, 5),
    "branched_log_sig": lambda: sksig.branched_log_sig(L, 5),
}

results = {}
for name in sys.argv[1:]:
    sent = []

    def fire():
        time.sleep(0.5)
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Thread(target=fire)
    timer.start()
    try:
        FAMILIES[name]()
        outcome = "finished"
    except KeyboardInterrupt:
        outcome = "interrupted"
    stop = time.perf_counter()
    timer.join()
    results[name] = {"outcome": outcome, "latency": stop - sent[0] if sent else None}
# The process is still usable, and Python's own handler is back in place.
assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
value = float(sksig.sig_kernel(P[0, :5], P[1, :5], 1))
results["after"] = value
print(json.dumps(results))
"""

_FAMILIES = ["sig_kernel_gram", "sig_kernel_gram_symmetric", "sig_kernel",
             "sig_kernel_backprop", "sig_kernel_gram_backprop", "sig", "log_sig",
             "log_sig_backprop", "log_sig_join", "lyndon_tables", "branched_sig",
             "branched_log_sig"]


@pytest.fixture(scope="module")
def sigint_results():
    import json
    import subprocess
    import sys

    if sys.platform == "win32":
        pytest.skip("SIGINT from another thread is a POSIX test")
    done = subprocess.run([sys.executable, "-c", _CHILD, *_FAMILIES],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("family", _FAMILIES)
def test_sigint_stops_long_native_calls(sigint_results, family):
    result = sigint_results[family]
    assert result["outcome"] == "interrupted"
    assert result["latency"] < 2.0, result


def test_process_is_usable_after_interrupts(sigint_results):
    x = np.random.default_rng(0).normal(size=(3, 200, 3))[:, :5] / 10
    want = float(sksig.sig_kernel(x[0], x[1], 1))
    assert sigint_results["after"] == want


def _polling_cases():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 6, 2)) / 4
    n_ls = sksig.log_sig_length(2, 3)
    n_b = sksig.branched_sig_length(2, 3)

    def torch_backward():
        torch = pytest.importorskip("torch")
        import sksig.torch as st

        st.log_sig(torch.tensor(x, requires_grad=True), 3, method=2).sum().backward()

    return [
        ("_sig_kernel", lambda: sksig.sig_kernel(x, x, 1)),
        ("_sig_kernel", lambda: sksig.sig_kernel_gram(x, x[::-1].copy(), 1)),
        ("_sig_kernel", lambda: sksig.sig_kernel_gram(x, x, 1)),
        ("_sig_kernel", lambda: sksig.sig_kernel_backprop(np.ones(3), x, x, 1)),
        ("_sig_kernel", lambda: sksig.sig_kernel_delta_backprop(np.ones(3), x, x, 1)),
        ("_sig_kernel",
         lambda: sksig.sig_kernel_gram_backprop(np.ones((3, 3)), x, x, 1)),
        ("_log_sig", lambda: sksig.sig(x, 3)),
        ("_log_sig", lambda: sksig.log_sig(x, 3, method=0)),
        ("_log_sig", lambda: sksig.log_sig(x, 3, method=2)),
        ("_log_sig", torch_backward),
        ("_log_sig", lambda: sksig.log_sig_join(np.zeros((3, n_ls)), x[:, 0], 2, 3)),
        ("_log_sig", lambda: sksig.log_sig_join_backprop(
            np.ones((3, n_ls)), np.zeros((3, n_ls)), x[:, 0], 2, 3)),
        ("_log_sig", lambda: sksig.prepare_log_sig(11, 3)),  # a fresh table build
        ("_branched", lambda: sksig.branched_sig(x, 3)),
        ("_branched", lambda: sksig.branched_log_sig(x, 3)),
        ("_branched", lambda: sksig.branched_sig_to_log_sig(np.zeros((3, n_b)), 2, 3)),
        ("_branched", lambda: sksig.branched_sig_to_log_sig_backprop(
            np.zeros((3, n_b)), np.ones((3, n_b)), 2, 3)),
        ("_kernel_learning", lambda: sksig.sig_kernel_param_backprop(
            np.ones(3), x, x, 1, static_kernel=sksig.RBFKernel())),
        ("_transform_path", lambda: sksig.transform_path(x, time_aug=True)),
    ]


def test_every_native_entry_polls_the_interrupt_flag(monkeypatch):
    """With the flag already set, each native core stops at its first poll."""
    import importlib
    import signal

    import sksig._interrupt

    # The flag is set by hand below: the call must not install (and clear) it again.
    monkeypatch.setattr(sksig._interrupt, "_installable", lambda: False)
    for module_name, fn in _polling_cases():
        module = importlib.import_module(f"sksig._core.{module_name}")
        assert module.interrupt_begin() == 0
        try:
            signal.raise_signal(signal.SIGINT)  # only sets this module's flag
            with pytest.raises(KeyboardInterrupt, match="interrupted"):
                fn()
        finally:
            assert module.interrupt_end()  # previous handler back, flag cleared
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # Nothing is left behind: every case computes again.
    monkeypatch.undo()
    for _, fn in _polling_cases():
        fn()


def test_interrupt_goes_to_a_custom_handler(monkeypatch):
    """A SIGINT during a call reaches the handler the user installed."""
    import signal

    import sksig._interrupt

    seen = []
    previous = signal.signal(signal.SIGINT, lambda *a: seen.append("handled"))
    try:
        from sksig._core import _sig_kernel

        def native(*args):  # a native call during which SIGINT arrives
            signal.raise_signal(signal.SIGINT)
            return _sig_kernel.interrupt_begin  # any result

        native.__module__ = _sig_kernel.__name__
        result = sksig._interrupt.call(native)
        # The call completed: its result stands, and the user's handler ran once.
        assert result is _sig_kernel.interrupt_begin and seen == ["handled"]
    finally:
        signal.signal(signal.SIGINT, previous)


# --- Clear errors and accepted inputs ------------------------------------------------


def test_huge_max_batch_is_a_bound_not_an_overflow():
    derivs = np.ones((1, 1))
    want = sksig.sig_kernel_gram_backprop(derivs, X2[None], X2[None], 0)
    for max_batch in (2**40, 2**62, np.int64(2**40)):
        got = sksig.sig_kernel_gram_backprop(derivs, X2[None], X2[None], 0,
                                             max_batch=max_batch)
        np.testing.assert_array_equal(got[0], want[0])
    # Oracle: the kernel of two straight segments is 1 + <dx, dy> (+ ...): here
    # d/dx of k at dyadic order 0 is the increment of y scaled (2 segments, 1 cell).
    np.testing.assert_allclose(want[0][0, 1], [0.101, 0.101])


def test_log_sig_join_backprop_none_derivative_is_a_type_error():
    with pytest.raises(TypeError, match="d_out must be a numpy array or a torch"):
        sksig.log_sig_join_backprop(None, np.zeros(3), np.ones(2), 2, 2)


def test_zero_dimensional_integer_arrays_are_ints():
    want = sksig.sig_kernel(X2, X2, 1)
    assert sksig.sig_kernel(X2, X2, np.array(1)) == want
    assert sksig.sig_kernel(X2, X2, np.array([1, 1])) == want
    assert sksig.sig_kernel(X2, X2, (np.array(1), np.int32(1))) == want
    np.testing.assert_array_equal(sksig.sig(X2, np.array(2), n_jobs=np.array(2)),
                                  sksig.sig(X2, 2))
    assert sksig.log_sig_length(np.array(2), np.array(3)) == 5
    for bad, exc, match in [(np.array(1.0), TypeError, "dtype float64"),
                            (np.array(True), TypeError, "dtype bool"),
                            (np.array([[1]]), ValueError, r"shape \(1, 1\)"),
                            (np.array([1, 2, 3]), ValueError, "3 values")]:
        with pytest.raises(exc, match=match):
            sksig.sig_kernel(X2, X2, bad)


def test_torch_meta_and_sparse_tensors_get_clear_errors():
    torch = pytest.importorskip("torch")
    meta = torch.zeros(3, 2, device="meta", dtype=torch.float64)
    sparse = torch.tensor(X2).to_sparse()
    for fn in (lambda p: sksig.sig(p, 2), lambda p: sksig.sig_kernel(p, p, 0),
               lambda p: sksig.transform_path(p, time_aug=True)):
        with pytest.raises(TypeError, match="path1? is a meta tensor"):
            fn(meta)
        with pytest.raises(TypeError, match=r"dense \(strided\).*to_dense"):
            fn(sparse)
    with pytest.raises(TypeError, match="got torch.bfloat16$"):
        sksig.sig(torch.zeros(3, 2, dtype=torch.bfloat16), 2)
    # Densified, the same values work (oracle: the signature of a segment is exp(v)).
    np.testing.assert_allclose(sksig.sig(sparse.to_dense(), 2).numpy(),
                               [0.1, 0.1, 0.005, 0.005, 0.005, 0.005])


@pytest.mark.parametrize("dtype", [">f8", ">f4", "<f8", "=f4"])
def test_non_native_byte_order_is_converted_like_numpy(dtype):
    x = np.random.default_rng(2).normal(size=(4, 5, 2)).astype(dtype)
    native = x.astype(x.dtype.newbyteorder("="))
    got = sksig.sig(x, 3)
    assert got.dtype == native.dtype and got.dtype.isnative
    np.testing.assert_array_equal(got, sksig.sig(native, 3))
    np.testing.assert_array_equal(sksig.sig_kernel(x, x, 1),
                                  sksig.sig_kernel(native, native, 1))
    other = np.float32 if x.dtype.itemsize == 8 else np.float64
    with pytest.raises(TypeError, match="use one floating dtype"):
        sksig.sig_kernel(x, native.astype(other), 1)


def test_time_channel_near_the_largest_float_is_finite():
    out = sksig.transform_path(np.zeros((1, 2, 1)), lead_lag=True, time_aug=True,
                               end_time=1e308)
    np.testing.assert_array_equal(out[0, :, -1], [0.0, 5e307, 1e308])
    # Ordinary values keep their usual rounding (end_time * i / (L - 1)).
    got = sksig.transform_path(np.zeros((7, 1)), time_aug=True, end_time=0.3)[:, -1]
    np.testing.assert_array_equal(got, [0.3 * i / 6 for i in range(7)])
    with pytest.raises(ValueError, match="end_time=1e.308 does not fit in float32"):
        sksig.transform_path(np.zeros((2, 1), np.float32), time_aug=True,
                             end_time=1e308)


def test_sig_kernel_estimator_rejects_max_batch_zero_at_fit():
    from sklearn.utils._param_validation import InvalidParameterError

    X = np.random.default_rng(3).normal(size=(3, 4, 2)) / 4
    for bad in (0, -2):
        with pytest.raises(InvalidParameterError, match="max_batch"):
            sksig.SigKernel(max_batch=bad).fit(X)
    for good in (-1, 1, 2**40):
        sksig.SigKernel(max_batch=good).fit(X)


def test_memory_errors_name_the_calls_own_arguments():
    from sksig._core import _errors
    from sksig._kernel_setup import _native

    def oom(*args):
        _errors.raise_for_status(_errors._OUT_OF_MEMORY, "core")

    oom.__module__ = "sksig._core._sig_kernel"  # run as the native core would be

    with pytest.raises(MemoryError) as info:
        _native("sig_kernel", oom)
    assert "dyadic_order" in str(info.value) and "max_batch" not in str(info.value)
    with pytest.raises(MemoryError, match="max_batch"):
        _native("sig_kernel_gram_backprop", oom)


# --- Goursat blocks: few pairs cost what they cost, results independent of the cut ---


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kernel", [None, "rbf", "poly"])
def test_any_pair_count_gives_the_bits_of_one_pair(dtype, kernel):
    """Full SIMD blocks, padded tails and one-lane pairs compute every pair alike."""
    static = {None: None, "rbf": sksig.RBFKernel(1.3),
              "poly": sksig.PolynomialKernel(2, 1.0, 0.5)}[kernel]
    rng = np.random.default_rng(4)
    x = (rng.normal(size=(40, 5, 2)) / 4).astype(dtype)
    y = (rng.normal(size=(40, 4, 2)) / 4).astype(dtype)
    kw = dict(static_kernel=static)
    one = np.array([sksig.sig_kernel(x[i], y[i], (1, 2), **kw) for i in range(40)])
    for n in (1, 2, 9, 16, 17, 31, 33, 40):  # tails of 1 to 15 pairs, padded or not
        np.testing.assert_array_equal(sksig.sig_kernel(x[:n], y[:n], (1, 2), **kw),
                                      one[:n])
    gram = sksig.sig_kernel_gram(x[:18], y[:17], (1, 2), **kw)
    np.testing.assert_array_equal(np.diag(gram[:17]), one[:17])
    sym = sksig.sig_kernel_gram(x[:19], x[:19], 1, **kw)
    assert sym[3, 17] == sym[17, 3] == sksig.sig_kernel(x[3], x[17], 1, **kw)
    ones = np.ones(17, dtype)
    gx, gy = sksig.sig_kernel_backprop(ones, x[:17], y[:17], (1, 2), right_deriv=True,
                                       **kw)
    for i in (0, 15, 16):
        gx1, gy1 = sksig.sig_kernel_backprop(ones[:1], x[i:i + 1], y[i:i + 1], (1, 2),
                                             right_deriv=True, **kw)
        np.testing.assert_array_equal(gx[i], gx1[0])
        np.testing.assert_array_equal(gy[i], gy1[0])


def test_long_second_side_is_solved_transposed_with_the_same_bits():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 3, 2)) / 4
    y = rng.normal(size=(3, 9, 2)) / 4
    grid = sksig.sig_kernel(x, y, (0, 3), return_grid=True)
    assert grid.shape == (3, 3, 8 * 8 + 1)
    np.testing.assert_array_equal(grid[..., -1, -1], sksig.sig_kernel(x, y, (0, 3)))
    swapped = sksig.sig_kernel(y, x, (3, 0), return_grid=True)
    np.testing.assert_array_equal(grid, np.swapaxes(swapped, -1, -2))
    w = rng.normal(size=3)
    a = sksig.sig_kernel_backprop(w, x, y, (0, 3), right_deriv=True)
    b = sksig.sig_kernel_backprop(w, x, y, (0, 3), right_deriv=True, k_grid=grid)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    # Oracle: two straight segments have k = sum_n <dx, dy>^n / (n!)^2.
    d = 0.02
    exact = sum(d**n / math.factorial(n) ** 2 for n in range(10))
    assert abs(float(sksig.sig_kernel(X2, X2, (0, 14))) - exact) < 1e-6
    assert abs(float(sksig.sig_kernel(X2, X2, (14, 0))) - exact) < 1e-6
