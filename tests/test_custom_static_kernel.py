"""User-defined static kernels (pySigLib's StaticKernel/Context contract): a numpy
re-implementation of the RBF kernel reproduces the built-in RBFKernel in sig_kernel,
sig_kernel_gram and their backprops; finite differences check the gradients of a kernel
the library does not have."""

import numpy as np
import pytest
from conftest import central_differences

import sksig


def _second_difference_adjoint(g):
    # Adjoint of k -> k[1:, 1:] - k[:-1, 1:] - k[1:, :-1] + k[:-1, :-1].
    dk = np.zeros(g.shape[:-2] + (g.shape[-2] + 1, g.shape[-1] + 1), g.dtype)
    dk[..., 1:, 1:] += g
    dk[..., :-1, 1:] -= g
    dk[..., 1:, :-1] -= g
    dk[..., :-1, :-1] += g
    return dk


class NumpyRBF(sksig.StaticKernel):
    """exp(-|a - b|^2 / sigma) in numpy, value and gradient written by hand."""

    def __init__(self, sigma=1.0):
        self.sigma = sigma

    def __call__(self, ctx, x, y):
        diff = x[:, :, None, :] - y[:, None, :, :]
        k = np.exp(-(diff**2).sum(-1) / self.sigma)
        ctx.save_for_backward(diff, k)
        return k[:, 1:, 1:] - k[:, :-1, 1:] - k[:, 1:, :-1] + k[:, :-1, :-1]

    def _weights(self, ctx, derivs):
        diff, k = ctx.saved_tensors
        w = _second_difference_adjoint(derivs) * k * (-2.0 / self.sigma)
        return w[..., None] * diff

    def grad_x(self, ctx, derivs):
        return self._weights(ctx, derivs).sum(2)

    def grad_y(self, ctx, derivs):
        return -self._weights(ctx, derivs).sum(1)


class CubicDot(sksig.StaticKernel):
    """k(a, b) = <a, b> + <a, b>^3 / 6 (no built-in has it), with its gradient, in
    torch when given torch tensors (as a kernel written for pySigLib would be)."""

    def __call__(self, ctx, x, y):
        if hasattr(x, "detach"):  # torch tensors: torch operations
            dot = x @ y.transpose(-1, -2)
        else:
            dot = np.einsum("bid,bjd->bij", x, y)
        k = dot + dot**3 / 6
        ctx.save_for_backward(x, y, dot)
        return k[:, 1:, 1:] - k[:, :-1, 1:] - k[:, 1:, :-1] + k[:, :-1, :-1]

    def grad_x(self, ctx, derivs):
        x, y, dot = ctx.saved_tensors
        w = np.asarray(_second_difference_adjoint(np.asarray(derivs))) * (
            1 + np.asarray(dot) ** 2 / 2)
        return np.einsum("bij,bjd->bid", w, np.asarray(y))

    def grad_y(self, ctx, derivs):
        x, y, dot = ctx.saved_tensors
        w = np.asarray(_second_difference_adjoint(np.asarray(derivs))) * (
            1 + np.asarray(dot) ** 2 / 2)
        return np.einsum("bij,bid->bjd", w, np.asarray(x))


OPTIONS = [dict(), dict(time_aug=True, basepoint=True), dict(lead_lag=True)]


@pytest.mark.parametrize("opts", OPTIONS)
@pytest.mark.parametrize("order", [0, 1, (2, 1)])
def test_numpy_rbf_reproduces_the_builtin_rbf(rng, opts, order):
    x = rng.standard_normal((3, 5, 2)) * 0.6
    y = rng.standard_normal((3, 4, 2)) * 0.6
    mine, ref = NumpyRBF(0.7), sksig.RBFKernel(0.7)
    kw = dict(dyadic_order=order, **opts)
    np.testing.assert_allclose(sksig.sig_kernel(x, y, static_kernel=mine, **kw),
                               sksig.sig_kernel(x, y, static_kernel=ref, **kw),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sksig.sig_kernel_gram(x, y, static_kernel=mine, **kw),
                               sksig.sig_kernel_gram(x, y, static_kernel=ref, **kw),
                               rtol=1e-12, atol=1e-12)
    d = rng.standard_normal(3)
    for a, b in zip(sksig.sig_kernel_backprop(d, x, y, static_kernel=mine,
                                              right_deriv=True, **kw),
                    sksig.sig_kernel_backprop(d, x, y, static_kernel=ref,
                                              right_deriv=True, **kw), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    d = rng.standard_normal((3, 3))
    got = sksig.sig_kernel_gram_backprop(d, x, y, static_kernel=mine, right_deriv=True,
                                         **kw)
    want = sksig.sig_kernel_gram_backprop(d, x, y, static_kernel=ref, right_deriv=True,
                                          **kw)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_functions_built_on_the_gram_accept_a_user_kernel(rng):
    x = rng.standard_normal((4, 5, 2)) * 0.5
    y = rng.standard_normal((3, 5, 2)) * 0.5
    mine = sksig.sig_mmd(x, y, 1, static_kernel=NumpyRBF(0.9))
    ref = sksig.sig_mmd(x, y, 1, static_kernel=sksig.RBFKernel(0.9))
    np.testing.assert_allclose(mine, ref, rtol=1e-12, atol=1e-13)


def test_increment_gram_and_its_backprop_follow_the_user_kernel(rng):
    x, y = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 6, 3))
    mine, ref = NumpyRBF(1.3), sksig.RBFKernel(1.3)
    np.testing.assert_allclose(mine.increment_gram(x, y), ref.increment_gram(x, y),
                               rtol=1e-13, atol=1e-14)
    g = rng.standard_normal((2, 3, 5))
    for a, b in zip(mine.increment_gram_backprop(g, x, y),
                    ref.increment_gram_backprop(g, x, y), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    # The built-in kernels implement the same contract (and agree with themselves).
    ctx = sksig.Context()
    np.testing.assert_array_equal(ref(ctx, x, y), ref.increment_gram(x, y))
    np.testing.assert_array_equal(ref.grad_y(ctx, g),
                                  ref.increment_gram_backprop(g, x, y)[1])


def test_a_kernel_sksig_lacks_matches_finite_differences(rng):
    x = rng.standard_normal((2, 4, 2)) * 0.5
    y = rng.standard_normal((3, 5, 2)) * 0.5
    kernel = CubicDot()
    w = rng.standard_normal((2, 3))
    gx, gy = sksig.sig_kernel_gram_backprop(w, x, y, 1, static_kernel=kernel,
                                            right_deriv=True)
    f = lambda a, b: float((sksig.sig_kernel_gram(a, b, 1, static_kernel=kernel)  # noqa: E731
                            * w).sum())
    np.testing.assert_allclose(gx, central_differences(lambda a: f(a, y), x),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gy, central_differences(lambda b: f(x, b), y),
                               rtol=1e-6, atol=1e-8)
    # Versus the truncated-signature series: the kernel converges to the same value
    # as the dyadic order grows (a sanity check of the user-kernel route itself).
    coarse = sksig.sig_kernel(x[:1], y[:1], 0, static_kernel=kernel)
    fine = sksig.sig_kernel(x[:1], y[:1], 4, static_kernel=kernel)
    finer = sksig.sig_kernel(x[:1], y[:1], 5, static_kernel=kernel)
    assert abs(finer - fine) < abs(fine - coarse)


def test_float32_n_jobs_ragged_torch_and_short_paths(rng):
    x = rng.standard_normal((5, 6, 2)) * 0.5
    mine = NumpyRBF(1.0)
    want = sksig.sig_kernel_gram(x, x, 1, static_kernel=mine)
    for n_jobs in (2, -1):
        np.testing.assert_array_equal(
            sksig.sig_kernel_gram(x, x, 1, static_kernel=mine, n_jobs=n_jobs), want)
    got32 = sksig.sig_kernel_gram(x.astype(np.float32), x.astype(np.float32), 1,
                                  static_kernel=mine)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, want, rtol=1e-4)
    ragged = [x[0], x[1, :3], x[2, :1]]
    got = sksig.sig_kernel_gram(ragged, ragged, 1, static_kernel=mine)
    ref = sksig.sig_kernel_gram(ragged, ragged, 1, static_kernel=sksig.RBFKernel(1.0))
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    g = sksig.sig_kernel_backprop(np.ones(5), x[:, :1], x, 1, static_kernel=mine)[0]
    np.testing.assert_array_equal(g, np.zeros((5, 1, 2)))
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(x)
    np.testing.assert_allclose(
        sksig.sig_kernel_gram(t, t, 1, static_kernel=CubicDot()).numpy(),
        sksig.sig_kernel_gram(x, x, 1, static_kernel=CubicDot()), rtol=1e-13)


class Incomplete(sksig.StaticKernel):
    def __call__(self, ctx, x, y):
        return x


class WrongShape(NumpyRBF):
    def __call__(self, ctx, x, y):
        return super().__call__(ctx, x, y)[:, :1]


def test_bad_user_kernels_and_unsupported_options_raise_clear_errors(rng):
    x = rng.standard_normal((2, 4, 2))
    with pytest.raises(TypeError, match="grad_x, grad_y"):
        sksig.sig_kernel(x, x, 0, static_kernel=Incomplete())
    with pytest.raises(ValueError, match=r"__call__ must return .*\(2, 3, 3\)"):
        sksig.sig_kernel(x, x, 0, static_kernel=WrongShape())
    for option in ("normalize", "return_grid", "return_log"):
        with pytest.raises(ValueError, match=option):
            sksig.sig_kernel(x, x, 0, static_kernel=NumpyRBF(), **{option: True})
    with pytest.raises(ValueError, match="user-defined"):
        sksig.sig_kernel_delta_backprop(np.ones(2), x, x, 0, static_kernel=NumpyRBF())


def test_cross_check_with_pysiglib_rbf(rng):
    pysiglib = pytest.importorskip("pysiglib")
    x = rng.standard_normal((3, 5, 2)) * 0.5
    y = rng.standard_normal((3, 6, 2)) * 0.5
    theirs = pysiglib.sig_kernel(x, y, dyadic_order=1,
                                 static_kernel=pysiglib.RBFKernel(0.8))
    np.testing.assert_allclose(sksig.sig_kernel(x, y, 1, static_kernel=NumpyRBF(0.8)),
                               theirs, rtol=1e-10, atol=1e-12)
