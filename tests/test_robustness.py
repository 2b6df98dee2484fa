"""Adversarial robustness of the public API: random valid inputs give finite results
of the right shape; random invalid inputs give ValueError/TypeError before any native
code runs. Potential crashes (huge n_jobs, absurd degrees) run in a subprocess.

torch is optional (sksig[torch]): without it the random inputs are numpy arrays only
and each torch-specific case skips by itself (checked by
``test_runs_without_torch``)."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sksig

# Random inputs are numpy arrays or torch tensors; torch is optional (sksig[torch]).
try:
    import torch

    import sksig.torch as skt
except ImportError:
    torch = skt = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
AS_TORCH = st.booleans() if torch is not None else st.just(False)

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)
DTYPES = [np.float32, np.float64]


@st.composite
def path_batches(draw, min_length=1):
    """(paths, batch_shape, dim, dtype, as_torch): random batch shapes incl. 0-sized."""
    batch = tuple(draw(st.lists(st.integers(0, 2), max_size=2)))
    length = draw(st.integers(min_length, 6))
    dim = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**16))
    x = np.random.default_rng(seed).uniform(-0.5, 0.5, batch + (length, dim))
    x = x.astype(dtype)
    as_torch = draw(AS_TORCH)
    return (torch.from_numpy(x) if as_torch else x), batch, dim, dtype, as_torch


def _check(result, shape, dtype, as_torch):
    assert isinstance(result, torch.Tensor) if as_torch else isinstance(result,
                                                                        np.ndarray)
    array = result.numpy() if as_torch else result
    assert array.shape == shape
    assert array.dtype == dtype
    assert np.isfinite(array).all()


@SETTINGS
@given(path_batches(), st.integers(0, 3), st.booleans(), st.booleans())
def test_sig_and_log_sig_random_valid(args, degree, time_aug, lead_lag):
    x, batch, dim, dtype, as_torch = args
    kw = dict(time_aug=time_aug, lead_lag=lead_lag)
    n = sksig.sig_length(dim, degree, **kw)
    s = sksig.sig(x, degree, **kw)
    _check(s, batch + (n,), dtype, as_torch)
    np.testing.assert_array_equal(s, sksig.sig(x, degree, n_jobs=3, **kw))
    one = sksig.transform_path(np.zeros((x.shape[-2], dim)), **kw)
    _check(sksig.transform_path(x, **kw), batch + one.shape, dtype, as_torch)
    if degree:
        for method in (0, 1, 2):
            n = (sksig.sig_length(dim, degree, **kw) if method == 0
                 else sksig.log_sig_length(dim, degree, **kw))
            _check(sksig.log_sig(x, degree, method=method, **kw), batch + (n,), dtype,
                   as_torch)
        n = sksig.branched_sig_length(
            dim * (2 if lead_lag else 1) + time_aug, degree, planar=True)
        _check(sksig.branched_sig(x, degree, planar=True, **kw), batch + (n,), dtype,
               as_torch)


@SETTINGS
@given(path_batches(), st.integers(0, 2), st.booleans())
def test_sig_kernels_random_valid(args, order, time_aug):
    x, batch, dim, dtype, as_torch = args
    kw = dict(time_aug=time_aug)
    k = sksig.sig_kernel(x, x, order, **kw)
    _check(k, batch, dtype, as_torch)
    np.testing.assert_array_equal(k, sksig.sig_kernel(x, x, order, n_jobs=3, **kw))
    _check(sksig.sig_kernel_gram(x, x, order, **kw), batch + batch, dtype, as_torch)
    ones = np.ones(batch, dtype)
    derivs = torch.from_numpy(ones) if as_torch else ones
    g, _ = sksig.sig_kernel_backprop(derivs, x, x, order, **kw)
    _check(g, tuple(x.shape), dtype, as_torch)
    gram_derivs = np.ones(batch + batch, dtype)
    g, _ = sksig.sig_kernel_gram_backprop(
        torch.from_numpy(gram_derivs) if as_torch else gram_derivs, x, x, order, **kw)
    _check(g, tuple(x.shape), dtype, as_torch)


@SETTINGS
@given(st.lists(st.integers(0, 5), min_size=1, max_size=3), st.integers(1, 3),
       st.sampled_from(DTYPES))
def test_ragged_lists_match_arrays(lengths, dim, dtype):
    rng = np.random.default_rng(len(lengths) * 10 + dim)
    paths = [rng.uniform(-1, 1, (n, dim)).astype(dtype) for n in lengths]
    got = sksig.sig(paths, 2)
    for p, g in zip(paths, got, strict=True):
        np.testing.assert_allclose(g, sksig.sig(p, 2), rtol=1e-5, atol=1e-6)
    got = sksig.log_sig(paths, 2, method=2)
    for p, g in zip(paths, got, strict=True):
        np.testing.assert_allclose(g, sksig.log_sig(p, 2, method=2), rtol=1e-5,
                                   atol=1e-6)


@SETTINGS
@given(st.lists(st.integers(0, 2), max_size=2), st.sampled_from(DTYPES), AS_TORCH)
def test_join_and_branched_log_random_valid(batch, dtype, as_torch):
    batch = tuple(batch)
    rng = np.random.default_rng(sum(batch))

    def arr(shape):
        a = rng.uniform(-1, 1, batch + shape).astype(dtype)
        return torch.from_numpy(a) if as_torch else a

    _check(sksig.log_sig_join(arr((5,)), arr((2,)), 2, 3), batch + (5,), dtype,
           as_torch)
    g_ls, g_v = sksig.log_sig_join_backprop(arr((5,)), arr((5,)), arr((2,)), 2, 3)
    _check(g_ls, batch + (5,), dtype, as_torch)
    _check(g_v, batch + (2,), dtype, as_torch)
    _check(sksig.branched_sig_to_log_sig(arr((6,)), 2, 2), batch + (6,), dtype,
           as_torch)
    _check(sksig.branched_sig_to_log_sig_backprop(arr((6,)), arr((6,)), 2, 2),
           batch + (6,), dtype, as_torch)


def _bad(x):
    """Invalid path arrays, each expected to give a ValueError or TypeError."""
    return [
        x[..., 0, 0],  # too few dimensions
        x[..., :0],  # no channels
        np.where(np.ones_like(x, bool), np.nan, x),
        np.where(np.ones_like(x, bool), np.inf, x),
        x.astype(np.float16),
        x.astype(np.complex128),
        x.astype(bool),
        x.astype(object),
        "path",
        None,
        [],
    ]


@pytest.mark.parametrize("i", range(11))
def test_invalid_paths_raise(i):
    x = np.random.default_rng(0).normal(size=(2, 3, 2))
    bad = _bad(x)[i]
    calls = [
        lambda: sksig.sig(bad, 2),
        lambda: sksig.log_sig(bad, 2),
        lambda: sksig.branched_sig(bad, 2),
        lambda: sksig.branched_log_sig(bad, 2),
        lambda: sksig.transform_path(bad, lead_lag=True),
        lambda: sksig.sig_kernel(bad, x, 1),
        lambda: sksig.sig_kernel(x, bad, 1),
        lambda: sksig.sig_kernel_gram(bad, x, 1),
        lambda: sksig.sig_kernel_backprop(np.ones(2), x, bad, 1),
        lambda: sksig.sig_kernel_gram_backprop(np.ones((2, 2)), bad, x, 1),
    ]
    for call in calls:
        with pytest.raises((ValueError, TypeError)):
            call()


@pytest.mark.parametrize("call", [
    lambda x: sksig.sig(x, -1),
    lambda x: sksig.sig(x, 2.0),
    lambda x: sksig.sig(x, None),
    lambda x: sksig.log_sig(x, -1),
    lambda x: sksig.log_sig(x, 2, method=4),
    lambda x: sksig.log_sig(x, 2, n_jobs=0),
    lambda x: sksig.log_sig(x, 2, n_jobs=1.5),
    lambda x: sksig.sig(x, 2, time_aug=1),
    lambda x: sksig.sig(x, 2, time_aug=True, end_time=float("nan")),
    lambda x: sksig.sig_kernel(x, x, -1),
    lambda x: sksig.sig_kernel(x, x, 31),
    lambda x: sksig.sig_kernel(x, x, (1, 2, 3)),
    lambda x: sksig.sig_kernel(x, x[0], 1),
    lambda x: sksig.sig_kernel(x, x[..., :1], 1),
    lambda x: sksig.sig_kernel(x, x.astype(np.float32), 1),
    pytest.param(lambda x: sksig.sig_kernel(x, torch.from_numpy(x), 1),
                 marks=needs_torch),
    lambda x: sksig.sig_kernel_gram(x, x, 1, max_batch=0),
    lambda x: sksig.sig_kernel_backprop(np.ones(3), x, x, 1),
    lambda x: sksig.sig_kernel_gram_backprop(np.ones(2), x, x, 1),
    lambda x: sksig.log_sig_join(np.zeros((2, 5)), np.zeros((3, 2)), 2, 3),
    lambda x: sksig.log_sig_join(np.zeros(5), np.zeros(3), 2, 3),
    lambda x: sksig.log_sig_join(np.float64(0), np.zeros(2), 2, 3),
    lambda x: sksig.branched_sig_to_log_sig(np.zeros(5), 2, 2),
    lambda x: sksig.branched_sig_to_log_sig_backprop(np.zeros(6), np.ones(5), 2, 2),
    pytest.param(lambda x: skt.sig_kernel(x, x, 1), marks=needs_torch),
    pytest.param(lambda x: skt.sig_kernel_gram(x, x, 1), marks=needs_torch),
    pytest.param(lambda x: skt.log_sig(x, 2), marks=needs_torch),
    pytest.param(lambda x: skt.branched_sig_to_log_sig(np.zeros(6), 2, 2),
                 marks=needs_torch),
    pytest.param(lambda x: skt.log_sig_join(np.zeros(5), np.zeros(2), 2, 3),
                 marks=needs_torch),
])
def test_invalid_arguments_raise(call):
    with pytest.raises((ValueError, TypeError)):
        call(np.random.default_rng(0).normal(size=(2, 3, 2)))


# -- regressions -----------------------------------------------------------------------
def test_zero_d_inputs_stay_zero_d():
    from sksig._array import as_array

    array, caller = as_array(np.float64(2.0), "x")
    assert array.shape == ()
    out = caller.out(np.float64(2.0))
    assert out.shape == ()


@needs_torch
def test_zero_d_tensors_stay_zero_d():
    from sksig._array import as_array

    array, caller = as_array(torch.tensor(2.0), "x")
    assert array.shape == () and caller.out(array).shape == ()


@needs_torch
def test_unbatched_torch_kernel_is_zero_d():
    x = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    k = sksig.sig_kernel(x, 2 * x, 1)
    assert k.shape == ()
    np.testing.assert_allclose(float(k), 4.25830078125)
    assert sksig.sig_kernel_gram(x, x, 1).shape == ()


def test_gram_backprop_unbatched_derivs_need_gram_shape():
    x = np.array([[0.0], [1.0]])
    want = sksig.sig_kernel_backprop(1.0, x, x, 0)[0]
    for d in (1.0, np.float64(1.0), np.array(1.0)):
        np.testing.assert_allclose(sksig.sig_kernel_gram_backprop(d, x, x, 0)[0], want)
    np.testing.assert_allclose(
        sksig.sig_kernel_gram_backprop(1.0, x.astype(np.float32), x.astype(np.float32),
                                       0)[0], want)
    with pytest.raises(ValueError, match="Gram's shape"):
        sksig.sig_kernel_gram_backprop(np.ones(1), x, x, 0)


def test_ragged_list_with_a_pointless_path():
    paths = [np.zeros((0, 2)), np.array([[0.0, 0.0], [1.0, 2.0]])]
    got = sksig.sig(paths, 2)
    np.testing.assert_allclose(got[0], np.zeros(6))
    np.testing.assert_allclose(got[1], sksig.sig(paths[1], 2))
    np.testing.assert_allclose(sksig.log_sig(paths, 2, method=2)[0], np.zeros(3))
    np.testing.assert_allclose(sksig.sig([np.zeros((0, 1))] * 2, 1), np.zeros((2, 1)))


@needs_torch
def test_torch_wrappers_reject_numpy():
    x = np.zeros((3, 1))
    for call in (lambda: skt.sig_kernel(x, x, 0), lambda: skt.sig_kernel_gram(x, x, 0),
                 lambda: skt.branched_sig_to_log_sig(np.zeros(2), 1, 2)):
        with pytest.raises(TypeError, match="torch.Tensor"):
            call()


def test_huge_n_jobs_is_capped():
    from sksig._validation import resolve_n_jobs

    cores = resolve_n_jobs(-1)
    assert resolve_n_jobs(2**40) == max(256, cores)
    assert resolve_n_jobs(257) == min(257, max(256, cores))
    small = (None, 1, np.int64(1), 3, 256)
    assert [resolve_n_jobs(n) for n in small] == [1, 1, 1, 3, 256]
    assert resolve_n_jobs(-2) == max(1, cores - 1)
    for bad, error in ((0, ValueError), (True, TypeError), (1.0, TypeError),
                       ("1", TypeError), (np.ones(2), TypeError)):
        with pytest.raises(error, match="n_jobs"):
            resolve_n_jobs(bad)
    x = np.random.default_rng(0).normal(size=(300, 3, 2))
    # In a subprocess (-P: the installed package): uncapped, OpenMP was asked for
    # 10**6 threads and crashed.
    code = (
        "import numpy as np, sksig\n"
        "x = np.random.default_rng(0).normal(size=(300, 3, 2))\n"
        "print(sksig.sig(x, 2, n_jobs=10**6).sum(),"
        " sksig.sig(x, 2, n_jobs=2**40).sum())"
    )
    run = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    want = sksig.sig(x, 2).sum()
    assert [float(v) for v in run.stdout.split()] == [want, want]


@pytest.mark.parametrize("call", [
    lambda: sksig.sig(np.zeros((2, 1)), 10**20),
    lambda: sksig.sig(np.zeros((2, 1)), 10**7),
    lambda: sksig.log_sig(np.zeros((2, 2)), 10**20),
    lambda: sksig.log_sig_join(np.zeros(1), np.zeros(1), 1, 10**20),
    lambda: sksig.sig_length(2, 10**7),
    lambda: sksig.log_sig_length(2, 10**6),
    lambda: sksig.lyndon_words(2, 10**6),
    lambda: sksig.lyndon_words_of_length(2, 10**6),
    lambda: sksig.prepare_log_sig(2, 10**20, method=0),
    lambda: sksig.branched_sig_length(2, 10**20),
    lambda: sksig.branched_sig_length(1, 10**4),
    lambda: sksig.branched_log_sig_length(2, 10**4, planar=True),
    lambda: sksig.trees(1, 30),
    lambda: sksig.branched_sig(np.zeros((2, 1)), 10**7),
    lambda: sksig.prepare_branched_sig(2, 40),
])
def test_absurd_degrees_raise_quickly(call):
    with pytest.raises(ValueError, match="degree|max_length|length"):
        call()


def test_counts_for_huge_but_trivial_degrees():
    assert sksig.sig_length(1, 10**20) == 10**20
    assert sksig.log_sig_length(1, 10**20) == 1
    assert sksig.branched_sig_length(0, 10**20) == 0
    assert sksig.branched_log_sig_length(0, 10**20, planar=True) == 0
    assert sksig.trees(0, 10**20) == (None,)
    assert sksig.trees_of_order(0, 10**20) == ()


def test_estimator_absurd_degree_names_degree():
    X = np.random.default_rng(0).normal(size=(2, 3, 2))
    for est in (sksig.LogSigJoin(degree=10**20), sksig.BranchedLogSig(degree=10**20)):
        with pytest.raises(ValueError, match="degree"):
            est.fit_transform(X)
    with pytest.raises(ValueError, match="degree must be at most"):
        sksig.LogSigJoin(degree=10**20).fit(X)


def test_overflow_raises_instead_of_returning_nan():
    x = np.random.default_rng(0).normal(size=(4, 2))
    for dtype, scale in ((np.float64, 1e200), (np.float32, 1e30)):
        big = (x * scale).astype(dtype)
        for fn in (sksig.sig, sksig.log_sig, sksig.branched_log_sig):
            with pytest.raises(FloatingPointError, match="rescale"):
                fn(big, 3)
    with pytest.raises(FloatingPointError):
        sksig.sig(x, 2, time_aug=True, end_time=1e308)
    with pytest.raises(ValueError, match="derivs"):
        sksig.sig_kernel_backprop(float("nan"), x, x, 0)


@needs_torch
def test_overflow_of_tensors_raises():
    x = np.random.default_rng(0).normal(size=(4, 2))
    for dtype, scale in ((np.float64, 1e200), (np.float32, 1e30)):
        with pytest.raises(FloatingPointError, match="rescale"):
            sksig.sig(torch.from_numpy((x * scale).astype(dtype)), 3)


@needs_torch
def test_unusual_torch_tensors():
    # A real tensor can carry torch's lazy negation bit (the imaginary part of a
    # conjugate view): it must be read with its sign, not copied raw or refused.
    z = torch.complex(torch.randn(4, 3, 2, dtype=torch.float64),
                      torch.randn(4, 3, 2, dtype=torch.float64))
    negated = z.conj().imag
    assert negated.is_neg()
    plain = negated.resolve_neg()
    assert torch.equal(sksig.sig(negated, 3), sksig.sig(plain, 3))
    assert torch.equal(sksig.sig_kernel(negated, plain, 0),
                       sksig.sig_kernel(plain, plain, 0))
    for dtype in (torch.bfloat16, torch.float16, torch.complex128, torch.bool):
        with pytest.raises(TypeError, match="path"):
            sksig.sig(torch.zeros(3, 2, dtype=dtype), 2)
    ints = torch.arange(6).reshape(3, 2)  # integers are taken as float64
    assert torch.equal(sksig.sig(ints, 2), sksig.sig(ints.double(), 2))


# A finder for which torch is not installed (sys.modules["torch"] = None would
# confuse libraries that look torch up there, such as scipy's array API layer).
_NO_TORCH = """
import sys

class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoTorch())
"""


def test_runs_without_torch():
    # This module in a process where ``import torch`` fails, as on a machine without
    # it: it collects, and its torch cases skip one by one next to the numpy cases
    # of the same test. (A sample of the quick cases: the whole module passes
    # without torch too, but would double its time here.)
    code = _NO_TORCH + (
        "import pytest\n"
        f"sys.exit(pytest.main([{__file__!r}, '-q', '-p', 'no:cacheprovider', '-rs',"
        " '-k', 'invalid_arguments or zero_d or torch and not without_torch']))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "torch is not installed" in run.stdout
    assert " passed" in run.stdout and "failed" not in run.stdout
