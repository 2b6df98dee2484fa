"""branched_sig_kernel and its Gram and backprops.

Oracles: a naive numpy loop over the depth recursion on the refined grid (written
here from the definition), closed forms for one segment (depth 1 is exp of the static
kernel increment; depth 2 converges to exp(sum_n c^(n+1) / (n! (n+1)^2))), central
finite differences for the backprops, pySigLib (skipped without it).
"""

import math

import numpy as np
import pytest
from _oracles_kernel import increment_gram
from conftest import central_differences as _fd_grad

import sksig


def _walk(rng, *shape, step=0.3):
    return np.cumsum(rng.normal(scale=step, size=shape), axis=-2)


def naive_grid(delta, depth, orders):
    """K_depth on the refined grid: K_0 = 1, I_m += delta_cell * mean of K_{m-1} at
    the corners of the cell (2-D running sums), K_m = exp(I_m)."""
    lam1, lam2 = orders
    n1, n2 = delta.shape
    m1, m2 = n1 * 2**lam1, n2 * 2**lam2
    f = 2.0 ** -(lam1 + lam2)
    K = np.ones((m1 + 1, m2 + 1))
    for _ in range(depth):
        I = np.zeros((m1 + 1, m2 + 1))  # noqa: E741
        for i in range(m1):
            for j in range(m2):
                mean = (K[i, j] + K[i + 1, j] + K[i, j + 1] + K[i + 1, j + 1]) / 4
                cell = f * delta[i >> lam1, j >> lam2] * mean
                I[i + 1, j + 1] = I[i, j + 1] + I[i + 1, j] - I[i, j] + cell
        K = np.exp(I)
    return K


@pytest.mark.parametrize("name, params", [("LinearKernel", {}),
                                          ("RBFKernel", {"sigma": 0.6}),
                                          ("Matern52Kernel", {"sigma": 1.0})])
@pytest.mark.parametrize("depth, orders", [(1, (0, 0)), (2, (1, 0)), (3, (1, 2))])
def test_against_the_naive_recursion(rng, name, params, depth, orders):
    x, y = _walk(rng, 4, 2), _walk(rng, 3, 2)
    want = naive_grid(increment_gram(name, params, x, y), depth, orders)
    kernel = getattr(sksig, name)(**params)
    got = sksig.branched_sig_kernel(x, y, depth, orders, static_kernel=kernel,
                                    return_grid=True)
    np.testing.assert_allclose(got, want, rtol=1e-13)
    value = sksig.branched_sig_kernel(x, y, depth, orders, static_kernel=kernel)
    assert float(value) == pytest.approx(want[-1, -1], rel=1e-13)


def test_closed_forms_on_one_segment():
    x = np.array([[0.0, 0.0], [1.0, 0.5]])
    y = np.array([[0.0, 0.0], [0.3, 0.8]])
    c = 0.7  # <dx, dy>
    for order in (0, 3):
        assert float(sksig.branched_sig_kernel(x, y, 1, order)) == pytest.approx(
            math.exp(c), rel=1e-15)
        assert float(sksig.branched_sig_kernel(x, y, 0, order)) == 1.0
    # Depth 2: exp(int int exp(c u v) c du dv), second order in the grid step.
    exact = math.exp(sum(c ** (n + 1) / (math.factorial(n) * (n + 1) ** 2)
                         for n in range(30)))
    errors = [abs(float(sksig.branched_sig_kernel(x, y, 2, lam)) - exact)
              for lam in (2, 3, 4, 5)]
    for a, b in zip(errors, errors[1:]):
        assert 3.5 < a / b < 4.5
    f3, f4, f5 = (float(sksig.branched_sig_kernel(x, y, 2, lam)) for lam in (3, 4, 5))
    r4, r5 = f4 + (f4 - f3) / 3, f5 + (f5 - f4) / 3  # h^2, then h^4 eliminated
    assert r5 + (r5 - r4) / 15 == pytest.approx(exact, rel=1e-10)


def test_batches_gram_threads_dtypes_and_normalize(rng):
    X, Y = _walk(rng, 6, 5, 3, step=0.15), _walk(rng, 4, 6, 3, step=0.15)
    gram = sksig.branched_sig_kernel_gram(X, Y, 3, 1)
    want = [float(sksig.branched_sig_kernel(X[i], Y[j], 3, 1))
            for i in range(6) for j in range(4)]
    np.testing.assert_array_equal(gram.ravel(), want)
    np.testing.assert_array_equal(sksig.branched_sig_kernel_gram(X, Y, 3, 1, n_jobs=2),
                                  gram)
    f32 = sksig.branched_sig_kernel_gram(X.astype(np.float32), Y.astype(np.float32),
                                         3, 1)
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32, gram, rtol=1e-5)
    dx = [float(sksig.branched_sig_kernel(a, a, 3, 1)) for a in X]
    dy = [float(sksig.branched_sig_kernel(b, b, 3, 1)) for b in Y]
    norm = sksig.branched_sig_kernel_gram(X, Y, 3, 1, normalize=True)
    np.testing.assert_allclose(norm, gram / np.sqrt(np.outer(dx, dy)), rtol=1e-14)
    pairs = sksig.branched_sig_kernel(X[:4], Y, 3, 1, normalize=True)
    np.testing.assert_allclose(pairs, np.diag(gram) / np.sqrt(np.array(dx[:4]) * dy),
                               rtol=1e-14)


@pytest.mark.parametrize("kernel", [None, sksig.RBFKernel(sigma=0.8)])
def test_backprop_against_finite_differences(rng, kernel):
    x, y = _walk(rng, 2, 4, 2), _walk(rng, 2, 3, 2)
    d = np.array([1.1, -0.6])
    kw = dict(static_kernel=kernel, time_aug=True)
    gx, gy = sksig.branched_sig_kernel_backprop(d, x, y, 3, (1, 0), right_deriv=True,
                                                **kw)
    f = lambda a, b: float(d @ sksig.branched_sig_kernel(a, b, 3, (1, 0), **kw))  # noqa: E731
    np.testing.assert_allclose(gx, _fd_grad(lambda a: f(a, y), x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gy, _fd_grad(lambda b: f(x, b), y), rtol=1e-6, atol=1e-8)


def test_grid_and_gram_backprop_against_finite_differences(rng):
    x, y = _walk(rng, 3, 2), _walk(rng, 4, 2)
    D = rng.normal(size=(5, 4))
    gx, gy = sksig.branched_sig_kernel_backprop(D, x, y, 2, (1, 0), right_deriv=True,
                                                return_grid=True)
    f = lambda a, b: float(np.sum(D * sksig.branched_sig_kernel(  # noqa: E731
        a, b, 2, (1, 0), return_grid=True)))
    np.testing.assert_allclose(gx, _fd_grad(lambda a: f(a, y), x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gy, _fd_grad(lambda b: f(x, b), y), rtol=1e-6, atol=1e-8)
    X, Y = _walk(rng, 4, 3, 2), _walk(rng, 3, 4, 2)
    G = rng.normal(size=(4, 3))
    gX, gY = sksig.branched_sig_kernel_gram_backprop(G, X, Y, 3, 1, right_deriv=True)
    f = lambda a, b: float(np.sum(G * sksig.branched_sig_kernel_gram(a, b, 3, 1)))  # noqa: E731
    np.testing.assert_allclose(gX, _fd_grad(lambda a: f(a, Y), X), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gY, _fd_grad(lambda b: f(X, b), Y), rtol=1e-6, atol=1e-8)
    for n_jobs, max_batch in ((2, -1), (1, 2)):
        again = sksig.branched_sig_kernel_gram_backprop(
            G, X, Y, 3, 1, right_deriv=True, n_jobs=n_jobs, max_batch=max_batch)
        np.testing.assert_array_equal(again[0], gX)
        np.testing.assert_array_equal(again[1], gY)


def test_bad_arguments():
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match="depth must be an int >= 0"):
        sksig.branched_sig_kernel(x, x, -1, 0)
    with pytest.raises(TypeError, match="depth must be an int"):
        sksig.branched_sig_kernel(x, x, 2.0, 0)
    with pytest.raises(ValueError, match="normalize"):
        sksig.branched_sig_kernel(x, x, 2, 0, normalize=True, return_grid=True)
    with pytest.raises(ValueError, match="dimension"):
        sksig.branched_sig_kernel_gram(x[None], np.zeros((1, 3, 3)), 2, 0)
    with pytest.raises(ValueError, match="at least one of"):
        sksig.branched_sig_kernel_backprop(1.0, x, x, 2, 0, left_deriv=False)
    with pytest.raises(ValueError, match="derivs must have the Gram's shape"):
        sksig.branched_sig_kernel_gram_backprop(np.ones(2), x[None], x[None], 2, 0)
    assert float(sksig.branched_sig_kernel(x[:1], x, 3, 2)) == 1.0


def test_against_pysiglib(rng):
    pysiglib = pytest.importorskip("pysiglib")
    X, Y = _walk(rng, 3, 6, 3), _walk(rng, 3, 5, 3)
    for ours, theirs in ((None, None),
                         (sksig.RBFKernel(sigma=1.3), pysiglib.RBFKernel(sigma=1.3))):
        for depth, orders in ((2, 0), (3, (1, 2))):
            kw = dict(time_aug=True, lead_lag=False)
            got = sksig.branched_sig_kernel(X, Y, depth, orders, static_kernel=ours,
                                            **kw)
            ref = pysiglib.branched_sig_kernel(X, Y, depth, orders,
                                               static_kernel=theirs, **kw)
            np.testing.assert_allclose(got, ref, rtol=1e-12)
            gx, gy = sksig.branched_sig_kernel_backprop(
                np.ones(3), X, Y, depth, orders, static_kernel=ours, right_deriv=True,
                **kw)
            rx, ry = pysiglib.branched_sig_kernel_backprop(
                np.ones(3), X, Y, depth, orders, static_kernel=theirs, left_deriv=True,
                right_deriv=True, **kw)
            np.testing.assert_allclose(gx, rx, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(gy, ry, rtol=1e-10, atol=1e-12)
    gram = sksig.branched_sig_kernel_gram(X, Y, 3, 1)
    np.testing.assert_allclose(gram, pysiglib.branched_sig_kernel_gram(X, Y, 3, 1),
                               rtol=1e-12)
    x, y = X[0].copy(), Y[0].copy()  # pySigLib warns on views
    grid = sksig.branched_sig_kernel(x, y, 3, 1, return_grid=True)
    ref = pysiglib.branched_sig_kernel(x, y, 3, 1, return_grid=True)
    np.testing.assert_allclose(grid, ref, rtol=1e-12)
