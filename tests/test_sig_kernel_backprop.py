"""Backprops: reference files, finite differences, gradcheck, traps, bad input."""

import numpy as np
import pytest
from _oracles_kernel import goursat_grid
from _tolerances import tol
from conftest import assert_close_ref, reference_cases

import sksig

STATIC = [
    None,
    sksig.ScaledLinearKernel(scale=0.7),
    sksig.RBFKernel(sigma=0.5),
    sksig.PolynomialKernel(degree=3.0, gamma=1.0, scale=0.5),
    sksig.Matern12Kernel(sigma=0.8),
    sksig.Matern32Kernel(sigma=0.8),
    sksig.Matern52Kernel(sigma=1.2),
    sksig.RationalQuadraticKernel(sigma=0.7, alpha=1.5),
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
    "case, inputs, outputs",
    reference_cases("sig_kernel_backprop.npz", "sig_kernel_backprop"),
)
def test_sig_kernel_backprop_reference(case, inputs, outputs):
    p1, p2 = inputs["path1"], inputs["path2"]
    g1, g2 = sksig.sig_kernel_backprop(inputs["derivs"], p1, p2, **_kwargs(case))
    # Gradients are shaped like the paths (pySigLib stores (1, L, d) for 2-D paths, T1).
    assert g1.shape == p1.shape and g2.shape == p2.shape
    assert_close_ref(g1, outputs["grad_path1"].reshape(p1.shape))
    assert_close_ref(g2, outputs["grad_path2"].reshape(p2.shape))


@pytest.mark.parametrize(
    "case, inputs, outputs",
    reference_cases("sig_kernel_gram_backprop.npz", "sig_kernel_gram_backprop"),
)
def test_sig_kernel_gram_backprop_reference(case, inputs, outputs):
    p1 = inputs["path1"]
    p2 = p1 if case["kwargs"].get("symmetric") else inputs["path2"]
    g1, g2 = sksig.sig_kernel_gram_backprop(inputs["derivs"], p1, p2, **_kwargs(case))
    assert_close_ref(g1, outputs["grad_path1"])
    assert_close_ref(g2, outputs["grad_path2"])


def _fd(f, arrays, h=1e-6):
    """Central differences of the scalar f(*arrays) with respect to every array."""
    grads = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus = [b.copy() for b in arrays]
            minus = [b.copy() for b in arrays]
            plus[k][idx] += h
            minus[k][idx] -= h
            g[idx] = (f(*plus) - f(*minus)) / (2 * h)
        grads.append(g)
    return grads


@pytest.mark.parametrize("static_kernel", STATIC, ids=lambda k: repr(k))
@pytest.mark.parametrize(
    "orders, time_aug, lead_lag",
    [(0, False, False), ((1, 2), True, False), ((2, 0), False, True), (1, True, True)],
)
def test_backprop_matches_finite_differences(
    static_kernel, orders, time_aug, lead_lag, rng
):
    x = 0.4 * rng.standard_normal((2, 4, 2))
    y = 0.4 * rng.standard_normal((2, 3, 2))
    w = rng.standard_normal(2)
    kw = dict(
        static_kernel=static_kernel, time_aug=time_aug, lead_lag=lead_lag, end_time=1.5
    )
    g1, g2 = sksig.sig_kernel_backprop(w, x, y, orders, right_deriv=True, **kw)
    fd1, fd2 = _fd(
        lambda a, b: float(np.sum(w * sksig.sig_kernel(a, b, orders, **kw))), [x, y]
    )
    np.testing.assert_allclose(g1, fd1, **tol("fd"))
    np.testing.assert_allclose(g2, fd2, **tol("fd"))


@pytest.mark.parametrize("orders", [0, (1, 2)])
def test_grid_backprop_matches_finite_differences(orders, rng):
    x = 0.4 * rng.standard_normal((5, 2))
    y = 0.4 * rng.standard_normal((3, 2))
    kernel = sksig.RBFKernel(sigma=1.0)
    shape = sksig.sig_kernel(x, y, orders, static_kernel=kernel, return_grid=True).shape
    w = rng.standard_normal(shape)
    g1, g2 = sksig.sig_kernel_backprop(
        w, x, y, orders, static_kernel=kernel, right_deriv=True, return_grid=True
    )
    fd1, fd2 = _fd(
        lambda a, b: float(
            np.sum(
                w
                * sksig.sig_kernel(a, b, orders, static_kernel=kernel, return_grid=True)
            )
        ),
        [x, y],
    )
    np.testing.assert_allclose(g1, fd1, **tol("fd"))
    np.testing.assert_allclose(g2, fd2, **tol("fd"))


@pytest.mark.parametrize("return_grid", [False, True])
def test_gram_backprop_matches_finite_differences(return_grid, rng):
    x = 0.4 * rng.standard_normal((2, 4, 2))
    y = 0.4 * rng.standard_normal((3, 3, 2))
    kw = dict(
        static_kernel=sksig.Matern52Kernel(sigma=1.0),
        time_aug=True,
        return_grid=return_grid,
    )
    w = rng.standard_normal(sksig.sig_kernel_gram(x, y, (1, 0), **kw).shape)
    g1, g2 = sksig.sig_kernel_gram_backprop(w, x, y, (1, 0), right_deriv=True, **kw)
    fd1, fd2 = _fd(
        lambda a, b: float(np.sum(w * sksig.sig_kernel_gram(a, b, (1, 0), **kw))),
        [x, y],
    )
    np.testing.assert_allclose(g1, fd1, **tol("fd"))
    np.testing.assert_allclose(g2, fd2, **tol("fd"))


def test_delta_backprop_matches_finite_differences_of_naive_pde(rng):
    x = 0.4 * rng.standard_normal((4, 2))
    y = 0.4 * rng.standard_normal((5, 2))
    kernel = sksig.RBFKernel(sigma=0.7)
    delta = kernel.increment_gram(x, y)
    for orders in [(0, 0), (2, 1)]:
        got = sksig.sig_kernel_delta_backprop(1.0, x, y, orders, static_kernel=kernel)
        (fd,) = _fd(lambda d, o=orders: goursat_grid(d, o)[-1, -1], [delta])
        np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-9)
        # The path gradients are this chained through the static kernel.
        g1, g2 = kernel.increment_gram_backprop(got, x, y)
        w1, w2 = sksig.sig_kernel_backprop(
            1.0, x, y, orders, static_kernel=kernel, right_deriv=True
        )
        np.testing.assert_allclose(g1, w1, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g2, w2, rtol=1e-12, atol=1e-14)


def test_gradcheck_through_sksig_torch(rng):
    torch = pytest.importorskip("torch")
    import sksig.torch as st

    x = torch.tensor(0.4 * rng.standard_normal((2, 4, 2)), requires_grad=True)
    y = torch.tensor(0.4 * rng.standard_normal((2, 3, 2)), requires_grad=True)
    rbf = sksig.RBFKernel(sigma=1.0)
    assert torch.autograd.gradcheck(
        lambda a, b: st.sig_kernel(a, b, (1, 2), static_kernel=rbf, lead_lag=True),
        (x, y),
    )
    assert torch.autograd.gradcheck(
        lambda a, b: st.sig_kernel(a, b, 1, time_aug=True, return_grid=True), (x, y)
    )
    assert torch.autograd.gradcheck(
        lambda a, b: st.sig_kernel_gram(a, b, (0, 1), static_kernel=rbf), (x, y)
    )
    assert torch.autograd.gradcheck(lambda a: st.sig_kernel_gram(a, a, 1), (x,))
    assert torch.autograd.gradcheck(lambda a: st.sig_kernel(a[0], a[1], 1), (x,))


def test_loss_backward_reaches_paths():
    torch = pytest.importorskip("torch")
    import sksig.torch as st

    x = torch.tensor([[0.0], [1.0]], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[0.0], [2.0]], dtype=torch.float64, requires_grad=True)
    # k = 1 + D + D^2/4 with D = dx dy = 2, so dk/dD = 2, dk/ddx = 2 dy, dk/ddy = 2 dx.
    st.sig_kernel(x, y, 0).backward()
    np.testing.assert_allclose(x.grad.numpy().ravel(), [-4.0, 4.0])
    np.testing.assert_allclose(y.grad.numpy().ravel(), [-2.0, 2.0])


def test_k_grid_reuse_equals_recompute(rng):
    x = 0.4 * rng.standard_normal((3, 4, 2))
    y = 0.4 * rng.standard_normal((3, 5, 2))
    kw = dict(lead_lag=True, static_kernel=sksig.RBFKernel(sigma=1.0))
    grid = sksig.sig_kernel(x, y, 1, return_grid=True, **kw)
    w = rng.standard_normal(3)
    a = sksig.sig_kernel_backprop(w, x, y, 1, right_deriv=True, **kw)
    b = sksig.sig_kernel_backprop(w, x, y, 1, right_deriv=True, k_grid=grid, **kw)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    ggrid = sksig.sig_kernel_gram(x, y, 1, return_grid=True, **kw)
    wg = rng.standard_normal((3, 3))
    a = sksig.sig_kernel_gram_backprop(wg, x, y, 1, right_deriv=True, **kw)
    b = sksig.sig_kernel_gram_backprop(
        wg, x, y, 1, right_deriv=True, k_grid=ggrid, **kw
    )
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_gram_backprop_is_sum_of_pairwise(rng):
    x = 0.4 * rng.standard_normal((3, 4, 2))
    y = 0.4 * rng.standard_normal((2, 5, 2))
    w = rng.standard_normal((3, 2))
    g1, g2 = sksig.sig_kernel_gram_backprop(w, x, y, 1, right_deriv=True)
    for i in range(3):
        want = sum(
            sksig.sig_kernel_backprop(w[i, j], x[i], y[j], 1)[0] for j in range(2)
        )
        np.testing.assert_allclose(g1[i], want, rtol=1e-13, atol=1e-15)
    for j in range(2):
        want = sum(
            sksig.sig_kernel_backprop(
                w[i, j], x[i], y[j], 1, left_deriv=False, right_deriv=True
            )[1]
            for i in range(3)
        )
        np.testing.assert_allclose(g2[j], want, rtol=1e-13, atol=1e-15)


def test_shapes_dtypes_and_flags(rng):
    x = (0.4 * rng.standard_normal((4, 2))).astype(np.float32)
    y = (0.4 * rng.standard_normal((5, 2))).astype(np.float32)
    g1, g2 = sksig.sig_kernel_backprop(np.float32(1), x, y, 1)
    assert g1.shape == (4, 2) and g1.dtype == np.float32 and g2 is None
    g1, g2 = sksig.sig_kernel_backprop(
        np.ones(1, np.float32), x, y, 1, left_deriv=False, right_deriv=True
    )
    assert g1 is None and g2.shape == (5, 2)
    g1, g2 = sksig.sig_kernel_gram_backprop(
        np.ones((), np.float32), x, y, 1, right_deriv=True
    )
    assert g1.dtype == np.float32 and g2.dtype == np.float32
    assert g1.shape == (4, 2) and g2.shape == (5, 2)
    want = sksig.sig_kernel_backprop(
        1.0, x.astype(np.float64), y.astype(np.float64), 1
    )[0]
    np.testing.assert_allclose(g1, want, rtol=1e-4)


def test_plain_number_derivs_take_the_paths_dtype_and_kind(rng):
    x = (0.4 * rng.standard_normal((4, 2))).astype(np.float32)
    g1, _ = sksig.sig_kernel_backprop(2.0, x, x[::-1], 1)
    want = sksig.sig_kernel_backprop(np.float32(2.0), x, x[::-1], 1)[0]
    assert g1.dtype == np.float32
    np.testing.assert_array_equal(g1, want)
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(x)
    g1, _ = sksig.sig_kernel_backprop(2, t, t.flip(0), 1)
    assert isinstance(g1, torch.Tensor) and g1.dtype == torch.float32
    np.testing.assert_array_equal(g1.numpy(), want)


def test_torch_backprop_returns_tensors(rng):
    torch = pytest.importorskip("torch")
    x = torch.tensor(0.4 * rng.standard_normal((2, 4, 2)))
    g1, _ = sksig.sig_kernel_backprop(torch.ones(2, dtype=torch.float64), x, x, 1)
    assert isinstance(g1, torch.Tensor) and g1.shape == x.shape


def test_one_point_path_gets_zero_gradient(rng):
    x = rng.standard_normal((1, 2))
    y = rng.standard_normal((4, 2))
    g1, g2 = sksig.sig_kernel_backprop(1.0, x, y, 2, right_deriv=True)
    np.testing.assert_array_equal(g1, np.zeros_like(x))
    np.testing.assert_array_equal(g2, np.zeros_like(y))


@pytest.mark.parametrize("n_jobs", [2, -1])
@pytest.mark.parametrize("max_batch", [-1, 1, 2, 5])
def test_backprop_identical_for_any_n_jobs_and_max_batch(n_jobs, max_batch, rng):
    x = 0.4 * rng.standard_normal((19, 4, 2))
    y = 0.4 * rng.standard_normal((7, 5, 2))
    w = rng.standard_normal((19, 7))
    ref = sksig.sig_kernel_gram_backprop(w, x, y, 1, right_deriv=True)
    got = sksig.sig_kernel_gram_backprop(
        w, x, y, 1, right_deriv=True, n_jobs=n_jobs, max_batch=max_batch
    )
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])
    ref = sksig.sig_kernel_backprop(w[:, 0], x, x[::-1], 1, right_deriv=True)
    got = sksig.sig_kernel_backprop(
        w[:, 0], x, x[::-1], 1, right_deriv=True, n_jobs=n_jobs
    )
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])


def test_ragged_backprop(rng):
    xs = [0.4 * rng.standard_normal((n, 2)) for n in (3, 5)]
    ys = [0.4 * rng.standard_normal((n, 2)) for n in (4, 2)]
    w = rng.standard_normal(2)
    g1, g2 = sksig.sig_kernel_backprop(w, xs, ys, 1, right_deriv=True, lead_lag=True)
    for i in range(2):
        a, b = sksig.sig_kernel_backprop(
            w[i], xs[i], ys[i], 1, right_deriv=True, lead_lag=True
        )
        np.testing.assert_allclose(g1[i], a, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g2[i], b, rtol=1e-12, atol=1e-14)
    wg = rng.standard_normal((2, 2))
    g1, g2 = sksig.sig_kernel_gram_backprop(wg, xs, ys, 1, right_deriv=True)
    for i in range(2):
        want = sum(
            sksig.sig_kernel_backprop(wg[i, j], xs[i], ys[j], 1)[0] for j in range(2)
        )
        np.testing.assert_allclose(g1[i], want, rtol=1e-12, atol=1e-14)


def test_empty_batches(rng):
    x = np.zeros((0, 4, 2))
    g1, g2 = sksig.sig_kernel_backprop(np.zeros(0), x, x, 1, right_deriv=True)
    assert g1.shape == x.shape and g2.shape == x.shape
    y = rng.standard_normal((3, 5, 2))
    g1, g2 = sksig.sig_kernel_gram_backprop(np.zeros((0, 3)), x, y, 1, right_deriv=True)
    assert g1.shape == x.shape
    np.testing.assert_array_equal(g2, np.zeros_like(y))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda x, w: sksig.sig_kernel_backprop(w, x, x, 1, left_deriv=False),
            ValueError,
            "left_deriv",
        ),
        (
            lambda x, w: sksig.sig_kernel_gram_backprop(
                np.ones((3, 3)), x, x, 1, left_deriv=False
            ),
            ValueError,
            "right_deriv",
        ),
        (lambda x, w: sksig.sig_kernel_backprop(w[:2], x, x, 1), ValueError, "derivs"),
        (
            lambda x, w: sksig.sig_kernel_backprop(
                np.ones((3, 7, 6)), x, x, 1, return_grid=True
            ),
            ValueError,
            "grid shape",
        ),
        (
            lambda x, w: sksig.sig_kernel_backprop(
                np.ones((3, 7, 7)), x, x, 1, return_grid=True, k_grid=np.ones((3, 49))
            ),
            ValueError,
            "k_grid",
        ),
        (
            lambda x, w: sksig.sig_kernel_backprop(
                w, x, x, 1, k_grid=np.ones((2, 7, 7))
            ),
            ValueError,
            "k_grid",
        ),
        (
            lambda x, w: sksig.sig_kernel_gram_backprop(np.ones((3, 2)), x, x, 1),
            ValueError,
            "Gram's shape",
        ),
        (
            lambda x, w: sksig.sig_kernel_gram_backprop(
                np.ones((3, 3, 7, 6)), x, x, 1, return_grid=True
            ),
            ValueError,
            "grid shape",
        ),
        (
            lambda x, w: sksig.sig_kernel_backprop(w.astype(np.float32), x, x, 1),
            TypeError,
            "dtype",
        ),
        (
            lambda x, w: sksig.sig_kernel_backprop(w * np.nan, x, x, 1),
            ValueError,
            "NaN",
        ),
        (
            lambda x, w: sksig.sig_kernel_backprop(w, x, x, 1, left_deriv=np.int64(1)),
            TypeError,
            "left_deriv",
        ),
        (
            lambda x, w: sksig.sig_kernel_gram_backprop(
                np.ones((3, 3)), x, x, 1, max_batch=0
            ),
            ValueError,
            "max_batch",
        ),
        (
            lambda x, w: sksig.sig_kernel_delta_backprop(
                w[:2], [x[0], x[1, :2]], [x[0], x[1]], 1
            ),
            ValueError,
            "ragged",
        ),
    ],
)
def test_bad_inputs(call, error, match, rng):
    x = 0.4 * rng.standard_normal((3, 4, 2))
    with pytest.raises(error, match=match):
        call(x, rng.standard_normal(3))


def test_backprop_overflow_raises():
    big = np.linspace(0, 1, 200)[:, None] * np.array([[300.0, 200.0]])
    with pytest.raises(FloatingPointError, match="rescale"):
        sksig.sig_kernel_backprop(1.0, big, big, 1)


@pytest.mark.parametrize("return_grid", [False, True])
def test_large_grids_use_checkpointed_stripes_correctly(return_grid, rng):
    # Grids this large (> 64 MiB per block of pairs) are recomputed in stripes from
    # checkpoint rows; check against a directional central difference.
    x = np.cumsum(0.05 * rng.standard_normal((150, 2)), axis=0)
    y = np.cumsum(0.05 * rng.standard_normal((150, 2)), axis=0)
    orders = (3, 2)
    kw = dict(static_kernel=sksig.RBFKernel(sigma=0.5), return_grid=return_grid)
    shape = sksig.sig_kernel(x, y, orders, **kw).shape
    w = rng.standard_normal(shape) if return_grid else np.ones(())
    g1, g2 = sksig.sig_kernel_backprop(w, x, y, orders, right_deriv=True, **kw)
    v1, v2 = rng.standard_normal(x.shape), rng.standard_normal(y.shape)
    h = 1e-5

    def f(t):
        return float(np.sum(w * sksig.sig_kernel(x + t * v1, y + t * v2, orders, **kw)))

    want = (f(h) - f(-h)) / (2 * h)
    np.testing.assert_allclose(np.sum(g1 * v1) + np.sum(g2 * v2), want, rtol=1e-6)
    if return_grid:
        grid = sksig.sig_kernel(x, y, orders, **kw)
        k1, k2 = sksig.sig_kernel_backprop(
            w, x, y, orders, right_deriv=True, k_grid=grid, **kw
        )
        np.testing.assert_array_equal(k1, g1)
        np.testing.assert_array_equal(k2, g2)


def test_very_long_paths_backprop_one_lane_at_a_time(rng):
    # 900 x 900 segments, two pairs: too few for a 16-lane block, so each pair is
    # solved in a one-lane block; check a directional difference and that a pair gets
    # the same gradient whatever else is in the batch.
    x = np.cumsum(0.02 * rng.standard_normal((2, 901, 2)), axis=1)
    y = np.cumsum(0.02 * rng.standard_normal((2, 901, 2)), axis=1)
    w = np.array([1.0, -0.5])
    g1, g2 = sksig.sig_kernel_backprop(w, x, y, 0, right_deriv=True)
    v1, v2 = rng.standard_normal(x.shape), rng.standard_normal(y.shape)
    h = 1e-5

    def f(t):
        return float(np.sum(w * sksig.sig_kernel(x + t * v1, y + t * v2, 0)))

    want = (f(h) - f(-h)) / (2 * h)
    np.testing.assert_allclose(np.sum(g1 * v1) + np.sum(g2 * v2), want, rtol=1e-6)
    a1, a2 = sksig.sig_kernel_backprop(w[1], x[1], y[1], 0, right_deriv=True)
    np.testing.assert_array_equal(a1, g1[1])
    np.testing.assert_array_equal(a2, g2[1])
