"""sig_kernel and sig_kernel_gram: reference files, naive oracles, traps, bad input."""

import json
import warnings

import numpy as np
import pytest
from _oracles_kernel import kernel_grid, signature_inner_product
from conftest import DATA, assert_close_ref, reference_cases

import sksig

STATIC = [
    ("LinearKernel", {}),
    ("ScaledLinearKernel", {"scale": 0.7}),
    ("RBFKernel", {"sigma": 0.5}),
    ("PolynomialKernel", {"degree": 2.5, "gamma": 2.0, "scale": 1.0}),
    ("Matern12Kernel", {"sigma": 0.8}),
    ("Matern32Kernel", {"sigma": 0.8}),
    ("Matern52Kernel", {"sigma": 1.2}),
    ("RationalQuadraticKernel", {"sigma": 0.7, "alpha": 1.5}),
]


def _kwargs(case):
    kw = dict(case["kwargs"])
    kw.pop("symmetric", None)
    if isinstance(kw.get("dyadic_order"), list):
        kw["dyadic_order"] = tuple(kw["dyadic_order"])
    spec = kw.get("static_kernel")
    kw["static_kernel"] = (
        None if spec is None else getattr(sksig, spec["name"])(**spec["params"])
    )
    return kw


@pytest.mark.parametrize(
    "case, inputs, outputs", reference_cases("sig_kernel.npz", "sig_kernel")
)
def test_sig_kernel_reference(case, inputs, outputs):
    kw = _kwargs(case)
    got = sksig.sig_kernel(inputs["path1"], inputs["path2"], **kw)
    assert_close_ref(got, outputs["result"])
    if "grid" in outputs:
        grid = sksig.sig_kernel(
            inputs["path1"], inputs["path2"], return_grid=True, **kw
        )
        assert_close_ref(grid, outputs["grid"])


@pytest.mark.parametrize(
    "case, inputs, outputs", reference_cases("sig_kernel_gram.npz", "sig_kernel_gram")
)
def test_sig_kernel_gram_reference(case, inputs, outputs):
    x = inputs["path1"]
    y = x if case["kwargs"].get("symmetric") else inputs["path2"]
    assert_close_ref(sksig.sig_kernel_gram(x, y, **_kwargs(case)), outputs["result"])


@pytest.mark.parametrize("name, params", STATIC)
@pytest.mark.parametrize("orders", [(0, 0), (1, 1), (2, 0), (1, 2)])
def test_sig_kernel_matches_naive_pde(name, params, orders, rng):
    x = 0.4 * rng.standard_normal((2, 5, 2))
    y = 0.4 * rng.standard_normal((2, 3, 2))
    kernel = getattr(sksig, name)(**params)
    got = sksig.sig_kernel(x, y, orders, static_kernel=kernel, return_grid=True)
    for b in range(2):
        want = kernel_grid(x[b], y[b], orders, name, params)
        np.testing.assert_allclose(got[b], want, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(
        sksig.sig_kernel(x, y, orders, static_kernel=kernel), got[:, -1, -1]
    )


@pytest.mark.parametrize(
    "time_aug, lead_lag", [(True, False), (False, True), (True, True)]
)
def test_transforms_match_naive_pde(time_aug, lead_lag, rng):
    x, y = 0.4 * rng.standard_normal((4, 2)), 0.4 * rng.standard_normal((3, 2))
    got = sksig.sig_kernel(
        x, y, 1, time_aug=time_aug, lead_lag=lead_lag, end_time=2.0, return_grid=True
    )
    want = kernel_grid(x, y, (1, 1), time_aug=time_aug, lead_lag=lead_lag, end_time=2.0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_spec_sanity_numbers():
    x, y = np.array([[0.0], [1.0]]), np.array([[0.0], [2.0]])
    want = {0: 4.0, 1: 4.25830078125, 2: 4.264523677065481, 5: 4.252681652911478}
    for order, value in want.items():
        np.testing.assert_allclose(sksig.sig_kernel(x, y, order), value, rtol=1e-13)
    np.testing.assert_allclose(
        sksig.sig_kernel(x, y, 1, return_grid=True),
        [[1, 1, 1], [1, 1.5625, 2.27734375], [1, 2.27734375, 4.25830078125]],
        rtol=1e-15,
    )


def test_converges_to_truncated_signature_inner_product(rng):
    x = 0.3 * rng.standard_normal((4, 3))
    y = 0.3 * rng.standard_normal((5, 3))
    limit = signature_inner_product(x, y, 12)  # levels > 12 are below 1e-15 here
    errors = [abs(float(sksig.sig_kernel(x, y, order)) - limit) for order in range(10)]
    assert errors[-1] < 1e-7 * abs(limit)
    # A second-order scheme: each refinement divides the error by about 4.
    ratios = [errors[k] / errors[k + 1] for k in range(3, 9)]
    np.testing.assert_allclose(ratios, 4.0, rtol=0.1)


def test_one_point_path_has_kernel_one_and_grid_of_ones(rng):
    x = rng.standard_normal((2, 1, 3))
    y = rng.standard_normal((2, 4, 3))
    np.testing.assert_array_equal(sksig.sig_kernel(x, y, 2), np.ones(2))
    np.testing.assert_array_equal(
        sksig.sig_kernel(x, y, 2, return_grid=True), np.ones((2, 1, 13))
    )
    np.testing.assert_array_equal(
        sksig.sig_kernel(y, x, 1, return_grid=True), np.ones((2, 7, 1))
    )


def test_swapping_paths_transposes_grid_with_swapped_orders(rng):
    x, y = 0.5 * rng.standard_normal((3, 4, 2)), 0.5 * rng.standard_normal((3, 6, 2))
    g = sksig.sig_kernel(x, y, (1, 2), return_grid=True)
    gt = sksig.sig_kernel(y, x, (2, 1), return_grid=True)
    np.testing.assert_array_equal(g, np.swapaxes(gt, -1, -2))


def test_gram_equals_pairwise(rng):
    x, y = 0.5 * rng.standard_normal((3, 5, 2)), 0.5 * rng.standard_normal((4, 3, 2))
    kernel = sksig.RBFKernel(sigma=1.0)
    gram = sksig.sig_kernel_gram(x, y, (2, 1), static_kernel=kernel, return_grid=True)
    for i in range(3):
        want = sksig.sig_kernel(
            np.repeat(x[i : i + 1], 4, axis=0),
            y,
            (2, 1),
            static_kernel=kernel,
            return_grid=True,
        )
        np.testing.assert_array_equal(gram[i], want)


def test_symmetric_gram_for_equal_content_is_exactly_symmetric(rng):
    x = 0.5 * rng.standard_normal((21, 4, 2))
    g = sksig.sig_kernel_gram(x, x.copy(), 1)
    np.testing.assert_array_equal(g, g.T)
    general = sksig.sig_kernel_gram(
        x, x + 0.0 * rng.standard_normal(x.shape) + 1e-300, 1
    )
    np.testing.assert_allclose(g, general, rtol=1e-14)
    grid = sksig.sig_kernel_gram(x, x.copy(), 1, return_grid=True)
    np.testing.assert_array_equal(grid, np.swapaxes(grid, 0, 1).swapaxes(-1, -2))
    np.testing.assert_array_equal(grid[..., -1, -1], g)


def test_symmetric_gram_with_unequal_orders_is_correct():
    # traps.npz: pySigLib mirrors the upper triangle for X, X with orders (0, 3) (T3).
    z = np.load(DATA / "traps.npz")
    case = next(
        c for c in json.loads(str(z["meta"]))["cases"] if "correct" in c["outputs"]
    )
    x = z[case["inputs"]["path1"]]
    kw = _kwargs(case)
    kw.pop("same_object", None)
    want = z[case["outputs"]["correct"]]
    assert_close_ref(sksig.sig_kernel_gram(x, x, **kw), want)
    n = len(x)
    for i in range(n):
        for j in range(n):
            np.testing.assert_allclose(
                sksig.sig_kernel_gram(x, x, **kw)[j, i],
                sksig.sig_kernel(x[j], x[i], **kw),
                rtol=1e-14,
            )


@pytest.mark.parametrize("n_jobs", [1, 2, -1, None])
@pytest.mark.parametrize("max_batch", [-1, 1, 3])
def test_results_identical_for_any_n_jobs_and_max_batch(n_jobs, max_batch, rng):
    x = 0.5 * rng.standard_normal((37, 6, 2))
    y = 0.5 * rng.standard_normal((37, 5, 2))
    ref = sksig.sig_kernel(x, y, 1)
    np.testing.assert_array_equal(sksig.sig_kernel(x, y, 1, n_jobs=n_jobs), ref)
    gref = sksig.sig_kernel_gram(x, y[:9], 1)
    np.testing.assert_array_equal(
        sksig.sig_kernel_gram(x, y[:9], 1, n_jobs=n_jobs, max_batch=max_batch), gref
    )
    sref = sksig.sig_kernel_gram(x, x, 1)
    np.testing.assert_array_equal(
        sksig.sig_kernel_gram(x, x, 1, n_jobs=n_jobs, max_batch=max_batch), sref
    )


def test_leading_batch_axes_and_unbatched(rng):
    x = 0.5 * rng.standard_normal((2, 3, 4, 2))
    y = 0.5 * rng.standard_normal((2, 3, 5, 2))
    got = sksig.sig_kernel(x, y, 1)
    assert got.shape == (2, 3)
    np.testing.assert_array_equal(
        got.ravel(), sksig.sig_kernel(x.reshape(6, 4, 2), y.reshape(6, 5, 2), 1)
    )
    one = sksig.sig_kernel(x[1, 2], y[1, 2], 1)
    assert one.shape == ()
    assert one == got[1, 2]
    gram = sksig.sig_kernel_gram(x, y[0], 1)
    assert gram.shape == (2, 3, 3)
    assert sksig.sig_kernel_gram(x[0, 0], y[0, 0], 1).shape == ()
    assert sksig.sig_kernel(x, y, 1, return_grid=True).shape == (2, 3, 7, 9)


def test_ragged_lists_on_both_sides(rng):
    xs = [0.5 * rng.standard_normal((n, 2)) for n in (3, 6, 4)]
    ys = [0.5 * rng.standard_normal((n, 2)) for n in (5, 2, 4)]
    for kw in (
        {},
        {"time_aug": True, "lead_lag": True},
        {"static_kernel": sksig.RBFKernel(sigma=1.0)},
    ):
        got = sksig.sig_kernel(xs, ys, 1, **kw)
        want = [sksig.sig_kernel(a, b, 1, **kw) for a, b in zip(xs, ys, strict=True)]
        np.testing.assert_allclose(got, want, rtol=1e-13)
        gram = sksig.sig_kernel_gram(xs, ys, 1, **kw)
        want = [[sksig.sig_kernel(a, b, 1, **kw) for b in ys] for a in xs]
        np.testing.assert_allclose(gram, want, rtol=1e-13)
    np.testing.assert_allclose(
        sksig.sig_kernel_gram(xs, np.stack(ys[:1]), 1)[:, 0],
        sksig.sig_kernel(xs, [ys[0]] * 3, 1),
        rtol=1e-13,
    )


def test_torch_in_torch_out_and_float32(rng):
    torch = pytest.importorskip("torch")
    x = 0.5 * rng.standard_normal((3, 4, 2))
    y = 0.5 * rng.standard_normal((3, 5, 2))
    want = sksig.sig_kernel(x, y, 2)
    got = sksig.sig_kernel(torch.from_numpy(x), torch.from_numpy(y), 2)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    np.testing.assert_array_equal(got.numpy(), want)
    got32 = sksig.sig_kernel(x.astype(np.float32), y.astype(np.float32), 2)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, want, rtol=1e-5)
    g32 = sksig.sig_kernel_gram(
        torch.from_numpy(x).float(), torch.from_numpy(y).float(), 2
    )
    assert g32.dtype == torch.float32
    np.testing.assert_allclose(g32.numpy(), sksig.sig_kernel_gram(x, y, 2), rtol=1e-5)


def test_empty_batches(rng):
    x = np.zeros((0, 4, 2))
    assert sksig.sig_kernel(x, x, 1).shape == (0,)
    assert sksig.sig_kernel(x, x, 1, return_grid=True).shape == (0, 7, 7)
    assert sksig.sig_kernel_gram(x, rng.standard_normal((3, 5, 2)), 1).shape == (0, 3)


def test_dyadic_order_positional_keyword_and_pair(rng):
    x, y = 0.5 * rng.standard_normal((4, 2)), 0.5 * rng.standard_normal((4, 2))
    a = sksig.sig_kernel(x, y, 2)
    assert sksig.sig_kernel(x, y, dyadic_order=2) == a
    assert sksig.sig_kernel(x, y, (2, 2)) == a
    assert sksig.sig_kernel(x, y, np.int64(2)) == a
    assert sksig.sig_kernel_gram(x, y, [2, 2]) == a


def test_overflow_raises_with_remedy():
    x = (np.linspace(0, 1, 200)[:, None] * np.array([[100.0, 100.0]])).astype(
        np.float32
    )
    with pytest.raises(FloatingPointError, match="rescale"):
        sksig.sig_kernel(x, x, 0)
    big = np.linspace(0, 1, 200)[:, None] * np.array([[300.0, 200.0]])
    with pytest.raises(FloatingPointError, match="rescale"):
        sksig.sig_kernel(big, big, 3)
    with pytest.raises(FloatingPointError, match="rescale"):
        sksig.sig_kernel_gram(big[None], big[None], 3)
    # A returned grid is checked through its last entries (every entry feeds them).
    with pytest.raises(FloatingPointError, match="rescale"):
        sksig.sig_kernel(x, x, 0, return_grid=True)
    with pytest.raises(FloatingPointError, match="rescale"):
        sksig.sig_kernel_gram(big[None], big[None], 3, return_grid=True)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda x: sksig.sig_kernel(x, x[:2], 1), ValueError, "batch shape"),
        (lambda x: sksig.sig_kernel(x, x[..., :1], 1), ValueError, "dimension"),
        (lambda x: sksig.sig_kernel(x[0, 0], x[0, 0], 1), ValueError, "dimensions"),
        (lambda x: sksig.sig_kernel(x[:, :0], x, 1), ValueError, "point"),
        (lambda x: sksig.sig_kernel(x[..., :0], x[..., :0], 1), ValueError, "channel"),
        (
            lambda x: sksig.sig_kernel(np.where(x > 0, np.nan, x), x, 1),
            ValueError,
            "NaN",
        ),
        (lambda x: sksig.sig_kernel(x, x, -1), ValueError, "dyadic_order"),
        (lambda x: sksig.sig_kernel(x, x, (1, 2, 3)), ValueError, "dyadic_order"),
        (lambda x: sksig.sig_kernel(x, x, 1.5), TypeError, "dyadic_order"),
        (lambda x: sksig.sig_kernel(x, x, 40), ValueError, "dyadic_order"),
        (lambda x: sksig.sig_kernel(x, x, (20, 20)), ValueError, "dyadic order"),
        (
            lambda x: sksig.sig_kernel(x, x, 1, static_kernel="rbf"),
            ValueError,
            "static_kernel",
        ),
        (lambda x: sksig.sig_kernel(x, x, 1, time_aug=1), TypeError, "time_aug"),
        (lambda x: sksig.sig_kernel(x, x, 1, n_jobs=0), ValueError, "n_jobs"),
        (lambda x: sksig.sig_kernel(x.astype(np.float16), x, 1), TypeError, "float"),
        (lambda x: sksig.sig_kernel(x.astype(np.float32), x, 1), TypeError, "dtype"),
        (
            lambda x: sksig.sig_kernel(
                [x[0, :2], x[1]], [x[0], x[1]], 1, return_grid=True
            ),
            ValueError,
            "ragged",
        ),
        (
            lambda x: sksig.sig_kernel_gram(x, x, 1, max_batch=0),
            ValueError,
            "max_batch",
        ),
        (
            lambda x: sksig.sig_kernel_gram(x, x, 1, max_batch=-2),
            ValueError,
            "max_batch",
        ),
        (lambda x: sksig.sig_kernel_gram(x, x[..., :1], 1), ValueError, "dimension"),
        (lambda x: sksig.sig_kernel(x, "path", 1), TypeError, "path2"),
    ],
)
def test_bad_inputs(call, error, match, rng):
    x = rng.standard_normal((3, 4, 2))
    with pytest.raises(error, match=match):
        call(x)


def test_mixed_numpy_and_torch_rejected(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 4, 2))
    with pytest.raises(TypeError, match="torch"):
        sksig.sig_kernel(x, torch.from_numpy(x), 1)


def test_polynomial_degree_six_clamps_like_pysiglib():
    # traps.npz T7: the base <a, b> + gamma is clamped at 0 for integer degrees >= 6;
    # we keep pySigLib's rule (documented in PolynomialKernel) for parity.
    z = np.load(DATA / "traps.npz")
    case = next(c for c in json.loads(str(z["meta"]))["cases"] if "c001" == c["id"])
    x, y = z[case["inputs"]["path1"]], z[case["inputs"]["path2"]]
    kernel = sksig.PolynomialKernel(degree=6.0, gamma=0.3, scale=0.5)
    with pytest.warns(RuntimeWarning, match="PolynomialKernel clamps"):
        got = sksig.sig_kernel(x, y, 0, static_kernel=kernel)
    assert_close_ref(got, z[case["outputs"]["pysiglib"]])
    params = {"degree": 6.0, "gamma": 0.3, "scale": 0.5}
    x2, y2 = np.atleast_3d(x).reshape(-1, *x.shape[-2:]), y.reshape(-1, *y.shape[-2:])
    want = [
        kernel_grid(a, b, (0, 0), "PolynomialKernel", params)[-1, -1]
        for a, b in zip(x2, y2, strict=True)
    ]
    np.testing.assert_allclose(np.ravel(got), want, rtol=1e-12)


def _clamps_brute_force(x, y, gram, gamma):
    """Whether <a, b> + gamma < 0 for a point a of a path of x and b of its partner."""
    if gram:
        dots = np.einsum("ild,jmd->ijlm", x, y)
    else:
        dots = np.einsum("pld,pmd->plm", x, y)
    return bool((dots + gamma < 0).any())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_polynomial_clamping_test_matches_brute_force(dtype):
    from sksig._core import _sig_kernel as core

    rng = np.random.default_rng(7)
    seen = set()
    for trial in range(60):
        nx, ny = rng.integers(1, 4, size=2)
        lx, ly, d = rng.integers(1, 6, size=3)
        x = rng.normal(size=(nx, lx, d)).astype(dtype)
        y = rng.normal(size=(nx if trial % 2 else ny, ly, d)).astype(dtype)
        gram = trial % 2 == 0
        gamma = float(rng.uniform(0, 4))
        want = _clamps_brute_force(x.astype(np.float64), y.astype(np.float64), gram,
                                   gamma)
        for n_threads in (1, 2):
            assert core.polynomial_kernel_clamps(x, y, gram, gamma, n_threads) == want
        seen.add(want)
    assert seen == {True, False}  # both answers were exercised


def test_polynomial_clamping_warns_once_and_only_when_clamping():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 5, 2))
    far = x + 10.0  # every <a, b> is large and positive: no clamping
    fractional = sksig.PolynomialKernel(degree=2.5, gamma=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sksig.sig_kernel(far, far, 0, static_kernel=fractional)
        sksig.sig_kernel_gram(far, far, 0, static_kernel=fractional)
        # Integer degrees 1-5 never clamp, whatever the sign of <a, b> + gamma.
        sksig.sig_kernel(x, -x, 0, static_kernel=sksig.PolynomialKernel(degree=3.0))
    with pytest.warns(RuntimeWarning, match="PolynomialKernel clamps") as record:
        sksig.sig_kernel_gram_backprop(np.ones((3, 3)), x, -x, 0,
                                       static_kernel=fractional)
    assert len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process: no second warning
        sksig.sig_kernel(x, -x, 1, static_kernel=fractional)


def test_polynomial_clamping_sees_the_transformed_paths():
    # <x1, y1> = -1 < 0 clamps; with the time channel (0 then 2) it becomes 4 - 1 = 3.
    x, y = np.array([[0.0], [1.0]]), np.array([[0.0], [-1.0]])
    kernel = sksig.PolynomialKernel(degree=1.5, gamma=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sksig.sig_kernel(x, y, 0, static_kernel=kernel, time_aug=True, end_time=2.0)
    with pytest.warns(RuntimeWarning, match="PolynomialKernel clamps"):
        sksig.sig_kernel(x, y, 0, static_kernel=kernel)
