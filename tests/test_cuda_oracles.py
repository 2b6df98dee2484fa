"""The CUDA cores against independent oracles, not only against the CPU cores.

Naive numpy implementations (the Goursat PDE loop, the truncated tensor algebra, the
iterated integrals of trees) and central finite differences check every CUDA function
directly, on a GPU where one is visible and on the CPU emulation of the CUDA cores
(``cuda_target``, tests/_cuda_targets.py). Tolerances are those of the CPU tests that
use the same oracles.
"""

import _oracles_tensor as ot
import numpy as np
import pytest
from _oracles_branched import iterated_integral
from _oracles_kernel import kernel_grid
from _tolerances import tol
from conftest import central_differences

import sksig

torch = pytest.importorskip("torch")


KERNELS = [
    ("LinearKernel", {}),  # the fused wavefront (Delta per cell)
    ("ScaledLinearKernel", {"scale": 0.8}),
    ("RBFKernel", {"sigma": 0.7}),  # the materialised Delta
    ("Matern32Kernel", {"sigma": 0.9}),
]


@pytest.mark.cuda
@pytest.mark.parametrize("name, params", KERNELS)
@pytest.mark.parametrize("orders", [(0, 0), (1, 2)])
def test_sig_kernel_grid_matches_naive_pde(cuda_target, name, params, orders, rng):
    on = cuda_target
    x = 0.4 * rng.standard_normal((3, 5, 2))
    y = 0.4 * rng.standard_normal((3, 4, 2))
    kernel = getattr(sksig, name)(**params)
    got = on.check(
        on.sig_kernel(on.put(x), on.put(y), orders, static_kernel=kernel,
                      return_grid=True),
        np.float64,
    )
    for b in range(3):
        want = kernel_grid(x[b], y[b], orders, name, params)
        np.testing.assert_allclose(got[b], want, rtol=1e-12, atol=1e-12)


@pytest.mark.cuda
@pytest.mark.parametrize("name, params", KERNELS[::2])
def test_symmetric_gram_matches_naive_pde(cuda_target, name, params, rng):
    on = cuda_target
    x = 0.4 * rng.standard_normal((4, 5, 2))
    kernel = getattr(sksig, name)(**params)
    got = on.check(on.sig_kernel_gram(on.put(x), on.put(x), 1, static_kernel=kernel),
                   np.float64)
    want = np.array([[kernel_grid(a, b, (1, 1), name, params)[-1, -1] for b in x]
                     for a in x])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.cuda
@pytest.mark.parametrize("name, params", KERNELS[::2])
@pytest.mark.parametrize("gram", [False, True])
def test_sig_kernel_backprops_match_finite_differences_of_naive_pde(
    cuda_target, name, params, gram, rng
):
    on = cuda_target
    x = 0.4 * rng.standard_normal((2, 4, 2))
    y = 0.4 * rng.standard_normal((2, 3, 2))
    kernel = getattr(sksig, name)(**params)
    kw = dict(static_kernel=kernel, time_aug=True, end_time=1.5)
    oracle_kw = dict(time_aug=True, end_time=1.5)

    def k(a, b):
        return kernel_grid(a, b, (1, 0), name, params, **oracle_kw)[-1, -1]

    if gram:
        w = rng.standard_normal((2, 2))
        g1, g2 = on.sig_kernel_gram_backprop(on.put(w), on.put(x), on.put(y), (1, 0),
                                             right_deriv=True, **kw)

        def total(a, b):
            return sum(w[i, j] * k(a[i], b[j]) for i in range(2) for j in range(2))
    else:
        w = rng.standard_normal(2)
        g1, g2 = on.sig_kernel_backprop(on.put(w), on.put(x), on.put(y), (1, 0),
                                        right_deriv=True, **kw)

        def total(a, b):
            return sum(w[i] * k(a[i], b[i]) for i in range(2))

    fd1 = central_differences(lambda a: total(a, y), x)
    fd2 = central_differences(lambda b: total(x, b), y)
    np.testing.assert_allclose(on.check(g1, np.float64), fd1, **tol("fd"))
    np.testing.assert_allclose(on.check(g2, np.float64), fd2, **tol("fd"))


@pytest.mark.cuda
@pytest.mark.parametrize("dim, degree", [(1, 3), (2, 4), (3, 3), (4, 2)])
def test_log_sig_join_matches_naive_bch(cuda_target, dim, degree, rng):
    on = cuda_target
    c = rng.normal(size=(3, sksig.log_sig_length(dim, degree)))
    v = rng.normal(size=(3, dim))
    got = on.check(on.log_sig_join(on.put(c), on.put(v), dim, degree), np.float64)
    for b in range(3):
        np.testing.assert_allclose(got[b], ot.log_sig_join(c[b], v[b], dim, degree),
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.cuda
@pytest.mark.parametrize("dim, degree", [(2, 4), (3, 3)])
def test_log_sig_join_backprop_matches_finite_differences_of_naive_bch(
    cuda_target, dim, degree, rng
):
    on = cuda_target
    n = sksig.log_sig_length(dim, degree)
    c, v, w = rng.normal(size=n), rng.normal(size=dim), rng.normal(size=n)
    g_c, g_v = on.log_sig_join_backprop(on.put(w), on.put(c), on.put(v), dim, degree)
    fd_c = central_differences(lambda a: w @ ot.log_sig_join(a, v, dim, degree), c)
    fd_v = central_differences(lambda a: w @ ot.log_sig_join(c, a, dim, degree), v)
    np.testing.assert_allclose(on.check(g_c, np.float64), fd_c, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(on.check(g_v, np.float64), fd_v, rtol=1e-7, atol=1e-8)


@pytest.mark.cuda
@pytest.mark.parametrize("planar", [False, True])
@pytest.mark.parametrize("d, degree, length", [(1, 4, 4), (2, 3, 4), (3, 3, 3)])
def test_branched_sig_matches_iterated_integrals(cuda_target, d, degree, length,
                                                 planar, rng):
    on = cuda_target
    paths = rng.normal(size=(2, length, d))
    got = on.check(on.branched_sig(on.put(paths), degree, planar=planar), np.float64)
    basis = sksig.trees(d, degree, planar=planar)[1:]
    for b in range(2):
        want = [iterated_integral(e, paths[b], planar) for e in basis]
        np.testing.assert_allclose(got[b], want, rtol=1e-11, atol=1e-12)


@pytest.mark.cuda
@pytest.mark.parametrize(
    "planar, method", [(False, 0), (True, 0), (True, 1), (True, 2)]
)
def test_branched_log_backprop_matches_finite_differences(cuda_target, planar, method,
                                                          rng):
    on = cuda_target
    d, degree = 2, 3
    n = sksig.branched_sig_length(d, degree, planar=planar)
    bsig = rng.normal(size=n) * 0.5

    def forward(x):
        out = on.branched_sig_to_log_sig(on.put(x), d, degree, planar=planar,
                                         method=method)
        return on.check(out, np.float64)

    w = rng.normal(size=forward(bsig).shape)
    got = on.branched_sig_to_log_sig_backprop(on.put(bsig), on.put(w), d, degree,
                                              planar=planar, method=method)
    want = central_differences(lambda x: float(w @ forward(x)), bsig)
    np.testing.assert_allclose(on.check(got, np.float64), want, rtol=1e-7, atol=1e-8)
