"""Tests for log_sig_join, its backprop and the torch autograd wrappers (SPEC.md 9)."""

import _oracles_tensor as ot
import numpy as np
import pytest
from _tolerances import tol
from conftest import DATA, assert_close_ref, central_differences, reference_cases

import sksig

JOIN_CASES = reference_cases("log_sig_join.npz", "log_sig_join")


def _dims(case):
    return case["kwargs"]["dimension"], case["kwargs"]["degree"]


@pytest.mark.parametrize(("case", "inputs", "outputs"), JOIN_CASES)
def test_log_sig_join_reference(case, inputs, outputs):
    d, n = _dims(case)
    got = sksig.log_sig_join(inputs["log_sig"], inputs["displacement"], d, n)
    assert_close_ref(got, outputs["result"])
    if "extended_path" in inputs:  # the join is the log-signature of the longer path
        assert_close_ref(got, sksig.log_sig(inputs["extended_path"], n, method=2))


@pytest.mark.parametrize(("case", "inputs", "outputs"), JOIN_CASES)
def test_log_sig_join_backprop_reference(case, inputs, outputs):
    d, n = _dims(case)
    g_ls, g_v = sksig.log_sig_join_backprop(inputs["d_out"], inputs["log_sig"],
                                            inputs["displacement"], d, n)
    assert_close_ref(g_ls, outputs["grad_log_sig"])
    assert_close_ref(g_v, outputs["grad_displacement"])


def test_log_sig_join_spec_example():
    c = np.array([0.3, -0.2, 0.7, 0.1, -0.4])
    v = np.array([0.5, 2.0])
    np.testing.assert_allclose(sksig.log_sig_join(c, v, 2, 3),
                               [0.8, 1.8, 1.05, -0.26 / 3, 0.4283333333333333],
                               rtol=1e-13)
    np.testing.assert_allclose(sksig.log_sig_join(np.zeros(5), v, 2, 3),
                               [0.5, 2.0, 0, 0, 0], atol=1e-15)


@pytest.mark.parametrize(("dim", "degree"), [(1, 3), (2, 4), (3, 3), (4, 2)])
def test_log_sig_join_matches_naive_bch(rng, dim, degree):
    c = rng.normal(size=sksig.log_sig_length(dim, degree))
    v = rng.normal(size=dim)
    np.testing.assert_allclose(sksig.log_sig_join(c, v, dim, degree),
                               ot.log_sig_join(c, v, dim, degree), rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize(("dim", "degree"), [(2, 6), (4, 4), (10, 3)])
def test_log_sig_join_extends_the_path(rng, dim, degree):
    paths = 0.4 * rng.normal(size=(3, 6, dim))
    v = 0.4 * rng.normal(size=(3, dim))
    extended = np.concatenate([paths, (paths[:, -1] + v)[:, None]], axis=1)
    got = sksig.log_sig_join(sksig.log_sig(paths, degree, method=2), v, dim, degree)
    np.testing.assert_allclose(got, sksig.log_sig(extended, degree, method=2),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("dim", "degree"), [(2, 4), (3, 3)])
def test_log_sig_join_backprop_finite_differences(rng, dim, degree):
    n = sksig.log_sig_length(dim, degree)
    c, v, w = rng.normal(size=n), rng.normal(size=dim), rng.normal(size=n)
    g_c, g_v = sksig.log_sig_join_backprop(w, c, v, dim, degree)
    fd_c = central_differences(lambda x: w @ sksig.log_sig_join(x, v, dim, degree), c)
    fd_v = central_differences(lambda x: w @ sksig.log_sig_join(c, x, dim, degree), v)
    np.testing.assert_allclose(g_c, fd_c, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(g_v, fd_v, rtol=1e-7, atol=1e-8)


def test_log_sig_join_batch_float32_n_jobs(rng):
    c = rng.normal(size=(2, 3, 8))
    v = rng.normal(size=(2, 3, 2))
    w = rng.normal(size=(2, 3, 8))
    out = sksig.log_sig_join(c, v, 2, 4)
    assert out.shape == (2, 3, 8)
    np.testing.assert_allclose(out[1, 2], sksig.log_sig_join(c[1, 2], v[1, 2], 2, 4))
    assert np.array_equal(sksig.log_sig_join(c, v, 2, 4, n_jobs=-1), out)
    grads = sksig.log_sig_join_backprop(w, c, v, 2, 4)
    grads_par = sksig.log_sig_join_backprop(w, c, v, 2, 4, n_jobs=-1)
    assert all(np.array_equal(a, b) for a, b in zip(grads, grads_par, strict=True))
    out32 = sksig.log_sig_join(c.astype(np.float32), v.astype(np.float32), 2, 4)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out, **tol("float32"))
    g32 = sksig.log_sig_join_backprop(w.astype(np.float32), c.astype(np.float32),
                                      v.astype(np.float32), 2, 4)
    assert g32[0].dtype == np.float32 and g32[1].dtype == np.float32
    np.testing.assert_allclose(g32[1], grads[1], rtol=1e-4, atol=1e-4)


def test_log_sig_join_empty_batch():
    out = sksig.log_sig_join(np.zeros((0, 5)), np.zeros((0, 2)), 2, 3)
    assert out.shape == (0, 5)
    g_ls, g_v = sksig.log_sig_join_backprop(np.zeros((0, 5)), np.zeros((0, 5)),
                                            np.zeros((0, 2)), 2, 3)
    assert g_ls.shape == (0, 5) and g_v.shape == (0, 2)


def test_log_sig_join_displacement_of_length_d_plus_one_is_an_error():
    # pySigLib silently uses displacement[1:] (SPEC T6); sksig refuses to guess.
    z = np.load(DATA / "traps.npz")
    c, v = z["c002_log_sig"], z["c002_displacement"]
    with pytest.raises(ValueError, match="displacement must have trailing length"):
        sksig.log_sig_join(c, v, 2, 3)
    with pytest.raises(ValueError, match="displacement"):
        sksig.log_sig_join_backprop(np.ones(5), c, v, 2, 3)
    # The explicit call a user meant gives what pySigLib computed.
    np.testing.assert_allclose(sksig.log_sig_join(c, v[1:], 2, 3),
                               z["c002_with_last_two"], rtol=1e-12)


def test_log_sig_join_bad_input():
    c, v = np.zeros(5), np.zeros(2)
    with pytest.raises(ValueError, match="log_sig must have trailing length 5"):
        sksig.log_sig_join(np.zeros(4), v, 2, 3)
    with pytest.raises(ValueError, match="log_sig must have trailing length 5"):
        sksig.log_sig_join(np.zeros(7), v, 2, 3)
    with pytest.raises(ValueError, match="displacement"):
        sksig.log_sig_join(c, np.zeros(1), 2, 3)
    with pytest.raises(ValueError, match="d_out"):
        sksig.log_sig_join_backprop(np.zeros(4), c, v, 2, 3)
    with pytest.raises(ValueError, match="same batch shape"):
        sksig.log_sig_join(np.zeros((3, 5)), np.zeros((2, 2)), 2, 3)
    with pytest.raises(ValueError, match="same batch shape"):
        sksig.log_sig_join_backprop(np.zeros((2, 5)), np.zeros((3, 5)),
                                    np.zeros((3, 2)), 2, 3)
    with pytest.raises(TypeError, match="dtype"):
        sksig.log_sig_join(c, v.astype(np.float32), 2, 3)
    with pytest.raises(ValueError, match="NaN"):
        sksig.log_sig_join(c, np.array([np.nan, 0.0]), 2, 3)
    with pytest.raises(ValueError, match="degree"):
        sksig.log_sig_join(c, v, 2, -1)
    with pytest.raises(ValueError, match="dimension"):
        sksig.log_sig_join(c, v, 0, 3)
    with pytest.raises(TypeError, match="dimension"):
        sksig.log_sig_join(c, v, 2.0, 3)
    with pytest.raises(ValueError, match="log_sig"):
        sksig.log_sig_join(np.float64(1.0), v, 2, 3)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_log_sig_join_non_finite_input_named(rng, dtype, bad, n_jobs):
    # The CPU join tests its inputs as it reads them: a NaN/inf anywhere in a batch
    # (here in item 9 of 13, in the third pack) is a ValueError naming the argument,
    # the first bad one in argument order, at every degree (degree 0: no join runs).
    d, n = 3, 3
    m = sksig.log_sig_length(d, n)
    c = rng.normal(size=(13, m)).astype(dtype)
    v = rng.normal(size=(13, d)).astype(dtype)
    g = rng.normal(size=(13, m)).astype(dtype)
    for name, arr in [("log_sig", c), ("displacement", v), ("d_out", g)]:
        broken = arr.copy()
        broken[9, -1] = bad
        args = {"log_sig": c, "displacement": v, "d_out": g, name: broken}
        if name != "d_out":
            with pytest.raises(ValueError, match=f"^{name} contains NaN or inf"):
                sksig.log_sig_join(args["log_sig"], args["displacement"], d, n,
                                   n_jobs=n_jobs)
        with pytest.raises(ValueError, match=f"^{name} contains NaN or inf"):
            sksig.log_sig_join_backprop(args["d_out"], args["log_sig"],
                                        args["displacement"], d, n, n_jobs=n_jobs)
    with pytest.raises(ValueError, match="^d_out contains NaN or inf"):  # first bad
        sksig.log_sig_join_backprop(np.full_like(g, bad), np.full_like(c, bad), v, d, n)
    with pytest.raises(ValueError, match="^displacement contains NaN or inf"):
        sksig.log_sig_join(c[:, :0], np.full_like(v, bad), d, 0)
    with pytest.raises(ValueError, match="^displacement contains NaN or inf"):
        sksig.log_sig_join_backprop(g[:, :0], c[:, :0], np.full_like(v, bad), d, 0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_sig_join_overflow_is_an_error(dtype):
    # Finite inputs whose join overflows in one item of a batch: the degree-3 terms
    # are about |v|**3 / 6, beyond the dtype's range (1e330 > 1.8e308 in float64,
    # 1e42 > 3.4e38 in float32). FloatingPointError, as for the other signature
    # functions, never an inf returned.
    big = dtype(1e110 if dtype == np.float64 else 1e14)
    c = np.zeros((7, 5), dtype)
    v = np.zeros((7, 2), dtype)
    v[5] = [big, -big]
    with pytest.raises(FloatingPointError, match="overflowed"):
        sksig.log_sig_join(c, v, 2, 3)
    v[5] *= big  # the gradients grow like |v|**2: square the magnitude
    with pytest.raises(FloatingPointError, match="overflowed"):
        sksig.log_sig_join_backprop(np.ones_like(c), c, v, 2, 3)
    v[5] = [1.0, -1.0]  # the same batch, finite: no error, results finite
    assert np.isfinite(sksig.log_sig_join(c, v, 2, 3)).all()


# ---- torch ----------------------------------------------------------------------


def test_torch_kind_mismatch_and_devices():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="torch"):
        sksig.log_sig_join(torch.zeros(5, dtype=torch.float64), np.zeros(2), 2, 3)
    out = sksig.log_sig_join(torch.zeros(5), torch.ones(2), 2, 3)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32


def test_torch_gradcheck_log_sig_join(rng):
    torch = pytest.importorskip("torch")
    import sksig.torch as st

    c = torch.tensor(rng.normal(size=(2, 5)), requires_grad=True)
    v = torch.tensor(rng.normal(size=(2, 2)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: st.log_sig_join(a, b, 2, 3), (c, v))
    c1 = torch.tensor(rng.normal(size=5), requires_grad=True)  # unbatched
    v1 = torch.tensor(rng.normal(size=2), requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: st.log_sig_join(a, b, 2, 3), (c1, v1))


@pytest.mark.parametrize("method", [0, 1, 2])
@pytest.mark.parametrize(("time_aug", "lead_lag"), [(False, False), (True, True)])
def test_torch_gradcheck_log_sig(rng, method, time_aug, lead_lag):
    torch = pytest.importorskip("torch")
    import sksig.torch as st

    x = torch.tensor(0.5 * rng.normal(size=(2, 5, 2)), requires_grad=True)

    def f(p):
        return st.log_sig(p, 3, method=method, time_aug=time_aug, lead_lag=lead_lag,
                          scalar_term=True)

    assert torch.autograd.gradcheck(f, (x,))


def test_torch_log_sig_gradient_matches_finite_differences(rng):
    torch = pytest.importorskip("torch")
    import sksig.torch as st

    x = 0.5 * rng.normal(size=(6, 3))
    w = rng.normal(size=sksig.log_sig_length(3, 4))
    xt = torch.tensor(x, requires_grad=True)
    (st.log_sig(xt, 4, method=2) @ torch.tensor(w)).backward()
    fd = central_differences(lambda p: w @ sksig.log_sig(p, 4, method=2), x)
    np.testing.assert_allclose(xt.grad.numpy(), fd, rtol=1e-7, atol=1e-8)


def test_torch_wrappers_reject_numpy():
    pytest.importorskip("torch")
    import sksig.torch as st

    with pytest.raises(TypeError, match="path"):
        st.log_sig(np.zeros((3, 2)), 2)
    with pytest.raises(TypeError, match="displacement"):
        import torch

        st.log_sig_join(torch.zeros(5), np.zeros(2), 2, 3)


def test_results_do_not_depend_on_batch_neighbours(rng):
    # Items are computed in packs of several lanes; each item must come out bitwise the
    # same alone or in any batch, and for any n_jobs.
    c = rng.normal(size=(7, 14))
    v = rng.normal(size=(7, 3))
    w = rng.normal(size=(7, 14))
    batched = sksig.log_sig_join(c, v, 3, 3, n_jobs=2)
    grads = sksig.log_sig_join_backprop(w, c, v, 3, 3, n_jobs=2)
    paths = rng.normal(size=(7, 5, 3))
    ls = sksig.log_sig(paths, 3, method=2, n_jobs=2)
    for i in range(7):
        assert np.array_equal(sksig.log_sig_join(c[i], v[i], 3, 3), batched[i])
        g_c, g_v = sksig.log_sig_join_backprop(w[i], c[i], v[i], 3, 3)
        assert np.array_equal(g_c, grads[0][i]) and np.array_equal(g_v, grads[1][i])
        assert np.array_equal(sksig.log_sig(paths[i], 3, method=2), ls[i])


def test_cross_check_with_pysiglib_if_installed(rng):
    # Optional peer check beyond the reference files (skipped without pySigLib).
    pysiglib = pytest.importorskip("pysiglib")
    d, n = 4, 4
    paths = 0.3 * rng.normal(size=(5, 7, d))
    pysiglib.prepare_log_sig(d, n, method=2)
    pysiglib.prepare_log_sig(d, n, method=3)
    for method in (0, 1, 2):
        np.testing.assert_allclose(sksig.log_sig(paths, n, method=method),
                                   pysiglib.log_sig(paths, n, method=method),
                                   rtol=1e-10, atol=1e-12)
    ls = sksig.log_sig(paths, n, method=2).copy()
    v = 0.3 * rng.normal(size=(5, d))
    w = rng.normal(size=ls.shape)
    np.testing.assert_allclose(sksig.log_sig_join(ls, v, d, n),
                               pysiglib.log_sig_join(ls, v, d, n),
                               rtol=1e-10, atol=1e-12)
    theirs_all = pysiglib.log_sig_join_backprop(w, ls, v, d, n)
    ours_all = sksig.log_sig_join_backprop(w, ls, v, d, n)
    for ours, theirs in zip(ours_all, theirs_all, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
