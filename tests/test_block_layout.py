"""The PDE cores solve pairs in blocks whose layout depends on the batch size: full
blocks of 8 float64 (16 float32) lanes, a padded full block or a padded block of one
vector's lanes (4 / 8) for the pairs left over, one lane where blocks would be too
large; the linear kernel at dyadic order 0 uses blocks of one vector's lanes for its
backprop, for long paths and for few pairs on several threads. Every lane performs the
same operations, so a pair's result must not depend on which block it lands in, and
must match the naive PDE."""

import numpy as np
import pytest
from _oracles_kernel import goursat_grid, kernel_grid

import sksig

# Every layout: one pair, vector tails (2-4 pairs), padded full blocks (5-7), full
# blocks alone (8, 16) and with tails (9, 12, 13, 17, 21), for both dtypes' widths.
BATCHES = [1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 17, 21, 33]
KERNELS = [("LinearKernel", {}), ("RBFKernel", {"sigma": 0.9})]


def _paths(rng, batch, length, dtype):
    x = 0.4 * rng.standard_normal((batch, length, 2))
    y = 0.4 * rng.standard_normal((batch, length + 2, 2))
    return x.astype(dtype), y.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, params", KERNELS)
@pytest.mark.parametrize("orders", [(0, 0), (1, 2)])
def test_forward_does_not_depend_on_the_block(dtype, name, params, orders, rng):
    kernel = getattr(sksig, name)(**params)
    x, y = _paths(rng, max(BATCHES), 6, dtype)
    alone = np.array([sksig.sig_kernel(x[i:i + 1], y[i:i + 1], orders,
                                       static_kernel=kernel)[0] for i in range(len(x))])
    for batch in BATCHES:
        for n_jobs in (1, 2):
            got = sksig.sig_kernel(x[:batch], y[:batch], orders, static_kernel=kernel,
                                   n_jobs=n_jobs)
            np.testing.assert_array_equal(got, alone[:batch])
    if dtype is np.float64:  # the naive PDE on every pair
        want = [kernel_grid(a, b, orders, name, params)[-1, -1] for a, b in zip(x, y)]
        np.testing.assert_allclose(alone, want, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_symmetric_gram_does_not_depend_on_the_block(dtype, rng):
    # Row i of a symmetric Gram holds n - i pairs: every tail size occurs.
    x, _ = _paths(rng, 19, 5, dtype)
    gram = sksig.sig_kernel_gram(x, x, 1)
    pairs = sksig.sig_kernel(np.repeat(x, len(x), 0), np.tile(x, (len(x), 1, 1)), 1)
    np.testing.assert_array_equal(gram, pairs.reshape(len(x), len(x)))
    if dtype is np.float64:
        want = [[kernel_grid(a, b, (1, 1))[-1, -1] for b in x] for a in x]
        np.testing.assert_allclose(gram, want, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("use_grid", [False, True])
@pytest.mark.parametrize("order", [0, 1])
def test_backprop_does_not_depend_on_the_block(dtype, use_grid, order, rng):
    x, y = _paths(rng, max(BATCHES), 5, dtype)
    derivs = rng.standard_normal(len(x)).astype(dtype)

    def grads(a, b, d, n_jobs=1):
        grid = sksig.sig_kernel(a, b, order, return_grid=True) if use_grid else None
        return sksig.sig_kernel_backprop(d, a, b, order, left_deriv=True,
                                         right_deriv=True, k_grid=grid, n_jobs=n_jobs)

    alone = [grads(x[i:i + 1], y[i:i + 1], derivs[i:i + 1]) for i in range(len(x))]
    for batch in BATCHES:
        gx, gy = grads(x[:batch], y[:batch], derivs[:batch], n_jobs=2)
        np.testing.assert_array_equal(gx, np.concatenate([g[0] for g in alone[:batch]]))
        np.testing.assert_array_equal(gy, np.concatenate([g[1] for g in alone[:batch]]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_long_linear_pairs_match_the_naive_pde(dtype, rng):
    # Dim 24 and 200 points: a wide block's increments and coefficient rows outgrow
    # the L2 share, so the linear kernel at dyadic order 0 solves blocks of one vector.
    batch, length, dim = 9, 200, 24
    walk = rng.standard_normal((2, batch, length, dim)).cumsum(axis=2)
    x, y = (walk / np.sqrt(length * dim)).astype(dtype)
    alone = np.array([sksig.sig_kernel(x[i:i + 1], y[i:i + 1], 0)[0]
                      for i in range(batch)])
    for n_jobs in (1, 2):
        np.testing.assert_array_equal(sksig.sig_kernel(x, y, 0, n_jobs=n_jobs), alone)
    if dtype is np.float64:  # the naive PDE on the increments' inner products
        delta = np.diff(x, axis=1) @ np.diff(y, axis=1).transpose(0, 2, 1)
        want = goursat_grid(delta, (0, 0))[:, -1, -1]
        np.testing.assert_allclose(alone, want, rtol=1e-12)


def test_backprop_of_a_tail_block_matches_finite_differences(rng):
    # Three pairs: one padded 4-lane block.
    x = 0.4 * rng.standard_normal((3, 5, 2))
    y = 0.4 * rng.standard_normal((3, 4, 2))
    derivs = rng.standard_normal(3)
    gx, gy = sksig.sig_kernel_backprop(derivs, x, y, 1, left_deriv=True,
                                       right_deriv=True)
    h = 1e-6
    for path, grad in ((x, gx), (y, gy)):
        fd = np.zeros_like(path)
        for idx in np.ndindex(path.shape):
            keep = path[idx]
            path[idx] = keep + h
            up = derivs @ sksig.sig_kernel(x, y, 1)
            path[idx] = keep - h
            down = derivs @ sksig.sig_kernel(x, y, 1)
            path[idx] = keep
            fd[idx] = (up - down) / (2 * h)
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)
