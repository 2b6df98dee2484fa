"""sig_kernel(..., method="polynomial"): the high-order Goursat solver and its adjoint.

Oracles: the signature inner product (tensor algebra) for the linear kernel; for other
static kernels the same constant-coefficient PDE rewritten as the kernel of two
auxiliary paths (Delta = U V^T with U = I), or Richardson-extrapolated finite
differences on the cell coefficients; central finite differences for the backprops;
recomputation on prefixes for the grid; pySigLib (skipped without it).
"""

import numpy as np
import pytest
from _oracles_kernel import goursat_grid, increment_gram, signature_inner_product
from conftest import central_differences as _fd_grad

import sksig

STATIC = [
    ("LinearKernel", {}),
    ("ScaledLinearKernel", {"scale": 0.7}),
    ("RBFKernel", {"sigma": 0.5}),
    ("PolynomialKernel", {"degree": 2.0, "gamma": 1.0, "scale": 1.0}),
    ("Matern32Kernel", {"sigma": 0.8}),
    ("Matern52Kernel", {"sigma": 1.2}),
    ("RationalQuadraticKernel", {"sigma": 0.7, "alpha": 1.5}),
]


def _walk(rng, *shape, step=0.4):
    return np.cumsum(rng.normal(scale=step, size=shape), axis=-2)


def _poly(x, y, order, **kw):
    return sksig.sig_kernel(x, y, method="polynomial", order=order, **kw)


def test_converges_to_the_signature_inner_product(rng):
    x, y = _walk(rng, 5, 2), _walk(rng, 4, 2)
    exact = signature_inner_product(x, y, 19)
    errors = [abs(float(_poly(x, y, order)) - exact) for order in (2, 3, 4, 6, 8)]
    assert all(b < a for a, b in zip(errors, errors[1:]) if a > 1e-14), errors
    assert errors[0] > 1e-6 and errors[-1] < 1e-13 * abs(exact)
    # Far beyond finite differences on the same (unrefined) grid, or refined 16 times.
    fd = abs(float(sksig.sig_kernel(x, y, 4)) - exact)
    assert errors[-1] < 1e-6 * fd


def test_one_cell_is_the_bessel_series():
    x = np.array([[0.0, 0.0], [1.0, 0.5]])
    y = np.array([[0.0, 0.0], [0.3, 2.0]])
    c = 1.3  # <dx, dy>: k = sum_j c^j / j!^2 = I_0(2 sqrt(c)), for every order
    fact = np.cumprod([1.0] + list(range(1, 40)))
    exact = sum(c**j / fact[j] ** 2 for j in range(40))
    for order in (2, 5, 64):
        assert float(_poly(x, y, order)) == pytest.approx(exact, rel=1e-15)


@pytest.mark.parametrize("name, params", STATIC[2:])
def test_static_kernels_against_auxiliary_paths(rng, name, params):
    # The PDE with cell coefficients Delta[p, q] (p < 2) is the linear kernel of the
    # paths with increments e_p and Delta[:, q].
    x, y = _walk(rng, 3, 2, step=0.5), _walk(rng, 4, 2, step=0.5)
    delta = increment_gram(name, params, x, y)
    u = np.vstack([np.zeros(2), np.cumsum(np.eye(2), axis=0)])
    v = np.vstack([np.zeros(2), np.cumsum(delta.T, axis=0)])
    exact = signature_inner_product(u, v, 18)
    kernel = getattr(sksig, name)(**params)
    got = float(_poly(x, y, 24, static_kernel=kernel))
    assert got == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("name, params", STATIC)
def test_static_kernels_against_richardson(rng, name, params):
    x, y = _walk(rng, 5, 2, step=0.3), _walk(rng, 4, 2, step=0.3)
    delta = increment_gram(name, params, x, y)
    f3, f4, f5 = (goursat_grid(delta, (lam, lam))[-1, -1] for lam in (4, 5, 6))
    r4, r5 = f4 + (f4 - f3) / 3, f5 + (f5 - f4) / 3  # h^2, then h^4 eliminated
    extrapolated = r5 + (r5 - r4) / 15
    kernel = getattr(sksig, name)(**params)
    got = float(_poly(x, y, 16, static_kernel=kernel))
    assert got == pytest.approx(extrapolated, rel=1e-6)
    assert abs(got - extrapolated) < abs(f5 - extrapolated)


def test_grid_holds_the_kernels_of_prefixes(rng):
    x, y = _walk(rng, 4, 3), _walk(rng, 5, 3)
    grid = _poly(x, y, 12, return_grid=True)
    assert grid.shape == (4, 5)
    for i in range(4):
        for j in range(5):
            want = 1.0 if i == 0 or j == 0 else float(_poly(x[: i + 1], y[: j + 1], 12))
            assert grid[i, j] == pytest.approx(want, rel=1e-14)


def test_batches_gram_threads_and_dtypes(rng):
    X, Y = _walk(rng, 7, 6, 3), _walk(rng, 5, 4, 3)
    one = [float(_poly(X[i], Y[j], 10)) for i in range(7) for j in range(5)]
    gram = sksig.sig_kernel_gram(X, Y, method="polynomial", order=10)
    np.testing.assert_allclose(gram.ravel(), one, rtol=1e-14)
    for n_jobs in (2, -1):
        again = sksig.sig_kernel_gram(X, Y, method="polynomial", order=10,
                                      n_jobs=n_jobs)
        np.testing.assert_array_equal(again, gram)
    pairs = _poly(X[:5], Y, 10, n_jobs=2)
    np.testing.assert_allclose(pairs, np.diag(gram[:5]), rtol=1e-14)
    f32 = sksig.sig_kernel_gram(X.astype(np.float32), Y.astype(np.float32),
                                method="polynomial", order=10)
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32, gram, rtol=2e-5)
    norm = sksig.sig_kernel_gram(X, Y, method="polynomial", order=10, normalize=True)
    dx = np.array([float(_poly(a, a, 10)) for a in X])
    dy = np.array([float(_poly(b, b, 10)) for b in Y])
    np.testing.assert_allclose(norm, gram / np.sqrt(np.outer(dx, dy)), rtol=1e-14)
    logs = _poly(X[:5], Y, 10, return_log=True)
    np.testing.assert_allclose(logs, np.log(np.diag(gram[:5])), rtol=1e-14)


def test_transforms_basepoint_and_one_point_paths(rng):
    x, y = _walk(rng, 4, 2), _walk(rng, 3, 2)
    kw = dict(time_aug=True, lead_lag=True, end_time=2.0)
    want = _poly(sksig.transform_path(x, **kw), sksig.transform_path(y, **kw), 12)
    assert float(_poly(x, y, 12, **kw)) == pytest.approx(float(want), rel=1e-14)
    zero = np.zeros((1, 2))
    want = _poly(np.vstack([zero, x]), np.vstack([zero, y]), 12)
    got = float(_poly(x, y, 12, basepoint=True))
    assert got == pytest.approx(float(want), rel=1e-14)
    assert float(_poly(x[:1], y, 5)) == 1.0
    np.testing.assert_array_equal(_poly(x[:1], y, 5, return_grid=True), np.ones((1, 3)))


@pytest.mark.parametrize("name, params", [STATIC[0], STATIC[2], STATIC[3]])
def test_backprop_against_finite_differences(rng, name, params):
    kernel = getattr(sksig, name)(**params)
    x, y = _walk(rng, 2, 4, 2, step=0.3), _walk(rng, 2, 3, 2, step=0.3)
    d = np.array([0.7, -1.3])
    kw = dict(method="polynomial", order=14, static_kernel=kernel)
    gx, gy = sksig.sig_kernel_backprop(d, x, y, right_deriv=True, **kw)
    fx = _fd_grad(lambda a: float(d @ sksig.sig_kernel(a, y, **kw)), x)
    fy = _fd_grad(lambda b: float(d @ sksig.sig_kernel(x, b, **kw)), y)
    np.testing.assert_allclose(gx, fx, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gy, fy, rtol=1e-6, atol=1e-8)


def test_grid_backprop_against_finite_differences(rng):
    x, y = _walk(rng, 4, 2, step=0.3), _walk(rng, 5, 2, step=0.3)
    D = rng.normal(size=(4, 5))
    kw = dict(method="polynomial", order=10)
    gx, gy = sksig.sig_kernel_backprop(D, x, y, right_deriv=True, return_grid=True,
                                       **kw)
    f = lambda a, b: float(np.sum(D * sksig.sig_kernel(a, b, return_grid=True, **kw)))  # noqa: E731
    np.testing.assert_allclose(gx, _fd_grad(lambda a: f(a, y), x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gy, _fd_grad(lambda b: f(x, b), y), rtol=1e-6, atol=1e-8)


def test_gram_backprop_against_finite_differences(rng):
    X, Y = _walk(rng, 5, 3, 2, step=0.3), _walk(rng, 3, 4, 2, step=0.3)
    D = rng.normal(size=(5, 3))
    kw = dict(method="polynomial", order=8, static_kernel=sksig.RBFKernel(sigma=0.7))
    gx, gy = sksig.sig_kernel_gram_backprop(D, X, Y, right_deriv=True, **kw)
    f = lambda a, b: float(np.sum(D * sksig.sig_kernel_gram(a, b, **kw)))  # noqa: E731
    np.testing.assert_allclose(gx, _fd_grad(lambda a: f(a, Y), X), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gy, _fd_grad(lambda b: f(X, b), Y), rtol=1e-6, atol=1e-8)
    for n_jobs, max_batch in ((2, -1), (1, 2)):
        again = sksig.sig_kernel_gram_backprop(D, X, Y, right_deriv=True, n_jobs=n_jobs,
                                               max_batch=max_batch, **kw)
        np.testing.assert_array_equal(again[0], gx)
        np.testing.assert_array_equal(again[1], gy)


def test_normalized_backprops_against_finite_differences(rng):
    x, y = _walk(rng, 2, 4, 2, step=0.3), _walk(rng, 2, 3, 2, step=0.3)
    d = np.array([0.4, -1.2])
    kw = dict(method="polynomial", order=10, normalize=True)
    gx, gy = sksig.sig_kernel_backprop(d, x, y, right_deriv=True, **kw)
    f = lambda a, b: float(d @ sksig.sig_kernel(a, b, **kw))  # noqa: E731
    np.testing.assert_allclose(gx, _fd_grad(lambda a: f(a, y), x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gy, _fd_grad(lambda b: f(x, b), y), rtol=1e-6, atol=1e-8)
    X, Y = _walk(rng, 3, 3, 2, step=0.3), _walk(rng, 2, 4, 2, step=0.3)
    D = rng.normal(size=(3, 2))
    gx, gy = sksig.sig_kernel_gram_backprop(D, X, Y, right_deriv=True, **kw)
    f = lambda a, b: float(np.sum(D * sksig.sig_kernel_gram(a, b, **kw)))  # noqa: E731
    np.testing.assert_allclose(gx, _fd_grad(lambda a: f(a, Y), X), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gy, _fd_grad(lambda b: f(X, b), Y), rtol=1e-6, atol=1e-8)


def test_backprop_with_checkpointed_stripes(rng):
    # Four pairs of 150 points at order 64 exceed the 64 MiB of stored cell states, so
    # the adjoint recomputes stripes of rows from checkpoints.
    x, y = _walk(rng, 4, 150, 2, step=0.05), _walk(rng, 4, 150, 2, step=0.05)
    kw = dict(method="polynomial", order=64)
    gx, _ = sksig.sig_kernel_backprop(np.ones(4), x, y, **kw)
    v = rng.normal(size=x.shape)
    h = 1e-5
    fd = (np.sum(sksig.sig_kernel(x + h * v, y, **kw))
          - np.sum(sksig.sig_kernel(x - h * v, y, **kw))) / (2 * h)
    assert float(np.sum(gx * v)) == pytest.approx(float(fd), rel=1e-6)


def test_torch_and_float32_backprop(rng):
    torch = pytest.importorskip("torch")
    x, y = _walk(rng, 3, 5, 2, step=0.3), _walk(rng, 3, 4, 2, step=0.3)
    kw = dict(method="polynomial", order=8)
    k = sksig.sig_kernel(torch.from_numpy(x), torch.from_numpy(y), **kw)
    assert isinstance(k, torch.Tensor)
    np.testing.assert_allclose(k.numpy(), sksig.sig_kernel(x, y, **kw), rtol=0)
    g64, _ = sksig.sig_kernel_backprop(np.ones(3), x, y, **kw)
    g32, _ = sksig.sig_kernel_backprop(np.ones(3, np.float32), x.astype(np.float32),
                                       y.astype(np.float32), **kw)
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5)


def test_bad_arguments():
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match="order is required"):
        sksig.sig_kernel(x, x, method="polynomial")
    with pytest.raises(ValueError, match="between 2 and 64"):
        sksig.sig_kernel(x, x, method="polynomial", order=65)
    with pytest.raises(TypeError, match="order must be an int"):
        sksig.sig_kernel(x, x, method="polynomial", order=4.0)
    with pytest.raises(ValueError, match="dyadic_order is not supported"):
        sksig.sig_kernel(x, x, 1, method="polynomial", order=4)
    with pytest.raises(ValueError, match="order is not supported"):
        sksig.sig_kernel_gram(x[None], x[None], 1, order=4)
    with pytest.raises(ValueError, match="dyadic_order is required"):
        sksig.sig_kernel(x, x)
    with pytest.raises(ValueError, match="method must be one of"):
        sksig.sig_kernel_backprop(1.0, x, x, 0, method="pde")
    with pytest.raises(ValueError, match="normalize=True cannot be combined"):
        sksig.sig_kernel_backprop(1.0, x, x, method="polynomial", order=4,
                                  normalize=True, return_grid=True)
    with pytest.raises(ValueError, match="derivs must have the PDE grid shape"):
        sksig.sig_kernel_backprop(np.ones((2, 2)), x, x, method="polynomial", order=4,
                                  return_grid=True)


def test_against_pysiglib(rng):
    pysiglib = pytest.importorskip("pysiglib")
    X, Y = _walk(rng, 3, 9, 3, step=0.3), _walk(rng, 3, 7, 3, step=0.3)
    for kernel, theirs in ((None, None),
                           (sksig.RBFKernel(sigma=1.5), pysiglib.RBFKernel(sigma=1.5))):
        kw = dict(method="polynomial", order=16)
        ours = sksig.sig_kernel(X, Y, static_kernel=kernel, **kw)
        ref = pysiglib.sig_kernel(X, Y, static_kernel=theirs, **kw)
        np.testing.assert_allclose(ours, ref, rtol=1e-12)
        gx, gy = sksig.sig_kernel_backprop(np.ones(3), X, Y, right_deriv=True,
                                           static_kernel=kernel, **kw)
        rx, ry = pysiglib.sig_kernel_backprop(np.ones(3), X, Y, left_deriv=True,
                                              right_deriv=True, static_kernel=theirs,
                                              **kw)
        np.testing.assert_allclose(gx, rx, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(gy, ry, rtol=1e-9, atol=1e-12)
    gram = sksig.sig_kernel_gram(X, Y, method="polynomial", order=16)
    ref = pysiglib.sig_kernel_gram(X, Y, method="polynomial", order=16)
    np.testing.assert_allclose(gram, ref, rtol=1e-12)
