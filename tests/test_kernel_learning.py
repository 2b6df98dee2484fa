"""Kernel learning: static-kernel parameter gradients of signature kernels (functional,
estimator, torch module), checked against finite differences of the kernels."""

import numpy as np
import pytest
from sklearn.base import clone

import sksig

# (constructor, parameter values): every kind of static kernel with parameters.
KERNELS = {
    "rbf": (sksig.RBFKernel, dict(sigma=0.8)),
    "matern12": (sksig.Matern12Kernel, dict(sigma=0.9)),
    "matern32": (sksig.Matern32Kernel, dict(sigma=0.7)),
    "matern52": (sksig.Matern52Kernel, dict(sigma=1.1)),
    "rational_quadratic": (sksig.RationalQuadraticKernel, dict(sigma=0.8, alpha=1.6)),
    "scaled_linear": (sksig.ScaledLinearKernel, dict(scale=0.9)),
    "polynomial": (sksig.PolynomialKernel, dict(degree=3, gamma=0.6, scale=0.8)),
}
NAMES = {"rbf": ("sigma",), "matern12": ("sigma",), "matern32": ("sigma",),
         "matern52": ("sigma",), "rational_quadratic": ("sigma", "alpha"),
         "scaled_linear": ("scale",), "polynomial": ("gamma", "scale")}
TRANSFORMS = [dict(), dict(time_aug=True), dict(lead_lag=True),
              dict(time_aug=True, lead_lag=True)]


def _paths(rng, n, length, dim=2):
    return rng.normal(size=(n, length, dim)).cumsum(axis=1) / 4


def _fd_param(value_of, params, name, h=1e-5):
    """Central difference of value_of(params) in the raw parameter ``name``."""
    up, down = dict(params), dict(params)
    up[name] = params[name] + h
    down[name] = params[name] - h
    return (value_of(up) - value_of(down)) / (2 * h)


def test_parameter_names():
    for key, (cls, params) in KERNELS.items():
        assert sksig.static_kernel_parameters(cls(**params)) == NAMES[key]
    assert sksig.static_kernel_parameters(None) == ()
    assert sksig.static_kernel_parameters(sksig.LinearKernel()) == ()
    with pytest.raises(ValueError, match="static_kernel"):
        sksig.static_kernel_parameters("rbf")


@pytest.mark.parametrize("key", sorted(KERNELS))
@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("transforms", TRANSFORMS, ids=["none", "time", "ll", "both"])
def test_gram_param_backprop_matches_finite_differences(rng, key, order, transforms):
    cls, params = KERNELS[key]
    X, Y = _paths(rng, 3, 5), _paths(rng, 2, 4)
    D = rng.normal(size=(3, 2))
    got = sksig.sig_kernel_gram_param_backprop(
        D, X, Y, order, static_kernel=cls(**params), **transforms)
    assert sorted(got) == sorted(NAMES[key])

    def F(p):
        return np.sum(D * sksig.sig_kernel_gram(X, Y, order, static_kernel=cls(**p),
                                                **transforms))

    for name in NAMES[key]:
        want = _fd_param(F, params, name)
        np.testing.assert_allclose(float(got[name]), want, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("key", ["rbf", "rational_quadratic", "polynomial"])
def test_symmetric_gram_and_jacobian(rng, key):
    cls, params = KERNELS[key]
    X = _paths(rng, 4, 5)
    D = rng.normal(size=(4, 4))  # not symmetric: both weights of a pair count
    got = sksig.sig_kernel_gram_param_backprop(D, X, X.copy(), 1,
                                               static_kernel=cls(**params))
    jac = sksig.sig_kernel_gram_param_backprop(np.ones((4, 4)), X, X, 1, reduce=False,
                                               static_kernel=cls(**params))
    for name in NAMES[key]:
        def K(p, name=name):
            return sksig.sig_kernel_gram(X, X, 1, static_kernel=cls(**p))

        want = _fd_param(K, params, name)
        assert jac[name].shape == (4, 4)
        np.testing.assert_array_equal(jac[name], jac[name].T)
        np.testing.assert_allclose(jac[name], want, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(float(got[name]), np.sum(D * want), rtol=1e-6)


@pytest.mark.parametrize("key", ["matern32", "rational_quadratic", "polynomial"])
def test_paired_param_backprop(rng, key):
    cls, params = KERNELS[key]
    X, Y = _paths(rng, 3, 6), _paths(rng, 3, 4)
    d = rng.normal(size=3)
    got = sksig.sig_kernel_param_backprop(d, X, Y, (1, 0), static_kernel=cls(**params),
                                          time_aug=True)
    per_pair = sksig.sig_kernel_param_backprop(d, X, Y, (1, 0), reduce=False,
                                               static_kernel=cls(**params),
                                               time_aug=True)
    for name in NAMES[key]:
        want = _fd_param(lambda p: d * sksig.sig_kernel(X, Y, (1, 0),
                                                        static_kernel=cls(**p),
                                                        time_aug=True), params, name)
        assert per_pair[name].shape == (3,)
        np.testing.assert_allclose(per_pair[name], want, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(float(got[name]), want.sum(), rtol=1e-6)


def test_unbatched_pair_and_doc_value():
    x = np.array([[0.0], [1.0]])
    y = np.array([[0.0], [2.0]])
    # Order 0, one cell: k = 2 A(D) - B(D) = 1 + D + D**2 / 4 with D = 2 s**2.
    grad = sksig.sig_kernel_param_backprop(1.0, x, y, 0,
                                           static_kernel=sksig.ScaledLinearKernel(1.5))
    s = 1.5
    D = 2 * s**2
    assert grad["scale"].shape == ()
    np.testing.assert_allclose(float(grad["scale"]), (1 + D / 2) * 4 * s, rtol=1e-14)


def test_linear_kernel_has_no_parameters(rng):
    X = _paths(rng, 2, 4)
    assert sksig.sig_kernel_gram_param_backprop(np.ones((2, 2)), X, X, 1) == {}
    assert sksig.sig_kernel_param_backprop(np.ones(2), X, X, 1) == {}


def test_results_do_not_depend_on_n_jobs_or_max_batch(rng, monkeypatch):
    import sksig._kernel_learning as kl

    X, Y = _paths(rng, 9, 6), _paths(rng, 7, 5)
    D = rng.normal(size=(9, 7))
    rq = sksig.RationalQuadraticKernel(sigma=0.8, alpha=1.5)
    monkeypatch.setattr(kl, "_SUM_BLOCK", 4)  # 63 pairs: many blocks and rounds
    ref = sksig.sig_kernel_gram_param_backprop(D, X, Y, 1, static_kernel=rq)
    for kw in (dict(n_jobs=2), dict(max_batch=3), dict(n_jobs=2, max_batch=1)):
        got = sksig.sig_kernel_gram_param_backprop(D, X, Y, 1, static_kernel=rq, **kw)
        for name in ref:
            assert float(got[name]) == float(ref[name])
    jac1 = sksig.sig_kernel_gram_param_backprop(D, X, Y, 1, static_kernel=rq,
                                                reduce=False)
    jac2 = sksig.sig_kernel_gram_param_backprop(D, X, Y, 1, static_kernel=rq,
                                                reduce=False, n_jobs=3)
    for name in jac1:
        np.testing.assert_array_equal(jac1[name], jac2[name])
        np.testing.assert_allclose(jac1[name].sum(), ref[name], rtol=1e-12)


def test_zero_weights_and_ragged_lists(rng):
    rbf = sksig.RBFKernel(sigma=0.9)
    paths = [_paths(rng, 1, n)[0] for n in (3, 6, 4)]
    padded = np.stack([np.concatenate([p, np.repeat(p[-1:], 6 - len(p), 0)])
                       for p in paths])
    D = rng.normal(size=(3, 3))
    D[0, 1] = D[1, 0] = 0.0
    got = sksig.sig_kernel_gram_param_backprop(D, paths, paths, 1, static_kernel=rbf)
    want = sksig.sig_kernel_gram_param_backprop(D, padded, padded, 1, static_kernel=rbf)
    np.testing.assert_allclose(got["sigma"], want["sigma"], rtol=1e-12)
    fd = _fd_param(lambda p: np.sum(D * sksig.sig_kernel_gram(
        paths, paths, 1, static_kernel=sksig.RBFKernel(**p))), dict(sigma=0.9), "sigma")
    np.testing.assert_allclose(float(got["sigma"]), fd, rtol=1e-6)


def test_float32_agrees_with_float64(rng):
    X, Y = _paths(rng, 3, 6), _paths(rng, 4, 5)
    D = rng.normal(size=(3, 4))
    rq = sksig.RationalQuadraticKernel(sigma=0.8, alpha=1.5)
    g64 = sksig.sig_kernel_gram_param_backprop(D, X, Y, 1, static_kernel=rq)
    f32 = [a.astype(np.float32) for a in (D, X, Y)]
    g32 = sksig.sig_kernel_gram_param_backprop(*f32, 1, static_kernel=rq)
    for name in g64:
        assert g32[name].dtype == np.float32
        np.testing.assert_allclose(g32[name], g64[name], rtol=1e-4)


def test_bad_input():
    X = np.zeros((2, 3, 1))
    rbf = sksig.RBFKernel(sigma=1.0)
    with pytest.raises(ValueError, match="derivs must have the Gram's shape"):
        sksig.sig_kernel_gram_param_backprop(np.ones((2, 3)), X, X, 1,
                                             static_kernel=rbf)
    with pytest.raises(ValueError, match="derivs"):
        sksig.sig_kernel_param_backprop(np.ones(3), X, X, 1, static_kernel=rbf)
    with pytest.raises(ValueError, match="NaN"):
        sksig.sig_kernel_param_backprop(np.ones(2), X + np.nan, X, 1, static_kernel=rbf)
    with pytest.raises(TypeError, match="reduce"):
        sksig.sig_kernel_param_backprop(np.ones(2), X, X, 1, reduce="yes")
    with pytest.raises(ValueError, match="max_batch"):
        sksig.sig_kernel_gram_param_backprop(np.ones((2, 2)), X, X, 1, max_batch=0)


def test_overflow_raises(rng):
    X = _paths(rng, 2, 30) * 200
    with pytest.raises(FloatingPointError):
        sksig.sig_kernel_gram_param_backprop(
            np.ones((2, 2)), X, X, 0, static_kernel=sksig.ScaledLinearKernel(5.0))


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("with_y", [False, True])
def test_estimator_static_kernel_backprop(rng, normalize, with_y):
    X = _paths(rng, 3, 5)
    Y = _paths(rng, 2, 4) if with_y else None
    G = rng.normal(size=(3, 2 if with_y else 3))
    params = dict(sigma=0.8, alpha=1.4)

    def make(p):
        return sksig.SigKernel(static_kernel=sksig.RationalQuadraticKernel(**p),
                               normalize=normalize, lead_lag=True)

    got = make(params).static_kernel_backprop(G, X, Y)
    assert sorted(got) == ["alpha", "sigma"]
    for name in params:
        want = _fd_param(lambda p: np.sum(G * make(p)(X, Y)), params, name)
        np.testing.assert_allclose(got[name], want, rtol=1e-6, atol=1e-10)
    with pytest.raises(ValueError, match="grad_gram"):
        make(params).static_kernel_backprop(np.ones((4, 4)), X, Y)


def test_estimator_linear_kernel_gives_empty_dict(rng):
    assert sksig.SigKernel().static_kernel_backprop(np.ones((2, 2)),
                                                    _paths(rng, 2, 3)) == {}


# ------------------------------------------------------------------ torch module
torch = pytest.importorskip("torch")


def _functional(module):
    names = [n for n, _ in module.named_parameters()]

    def call(*args):
        tensors, params = args[:-len(names)], args[-len(names):]
        return torch.func.functional_call(module, dict(zip(names, params, strict=True)),
                                          tuple(tensors))

    return call, [p.detach().clone().requires_grad_() for p in module.parameters()]


@pytest.mark.parametrize("key", ["rbf", "rational_quadratic", "polynomial", "linear"])
@pytest.mark.parametrize("normalize", [False, True])
def test_torch_module_gradcheck(rng, key, normalize):
    import sksig.torch

    if key == "linear":
        static = sksig.LinearKernel()
    else:
        static = KERNELS[key][0](**KERNELS[key][1])
    module = sksig.torch.SigKernelGram(static, 1, time_aug=True, scale=0.8,
                                       normalize=normalize)
    X = torch.tensor(_paths(rng, 3, 4), requires_grad=True)
    Y = torch.tensor(_paths(rng, 2, 5), requires_grad=True)
    call, params = _functional(module)
    assert len(params) == len(NAMES.get(key, ())) + 1  # static parameters and scale
    assert torch.autograd.gradcheck(call, (X, Y, *params))
    assert torch.autograd.gradcheck(call, (X, *params))


def test_torch_module_values_and_training(rng):
    import sksig.torch

    rbf = sksig.RBFKernel(sigma=0.7)
    module = sksig.torch.SigKernelGram(rbf, 1, scale=1.3, lead_lag=True)
    X = _paths(rng, 4, 5)
    K = module(torch.tensor(X))
    want = sksig.sig_kernel_gram(1.3 * X, 1.3 * X, 1, static_kernel=rbf, lead_lag=True)
    np.testing.assert_allclose(K.detach().numpy(), want, rtol=1e-12)
    assert module.static_kernel().sigma == pytest.approx(0.7)
    assert rbf.sigma == 0.7  # the template is never modified
    # A few optimiser steps on a loss that wants a smaller kernel move sigma and scale.
    optimiser = torch.optim.SGD(module.parameters(), lr=0.05)
    before = [p.detach().clone() for p in module.parameters()]
    for _ in range(3):
        optimiser.zero_grad()
        loss = module(torch.tensor(X)).sum()
        loss.backward()
        optimiser.step()
    assert all(not torch.equal(a, b.detach())
               for a, b in zip(before, module.parameters(), strict=True))
    frozen = sksig.torch.SigKernelGram(rbf, 1, learn_scale=False)
    assert [n for n, _ in frozen.named_parameters()] == ["log_params.sigma"]


def test_torch_module_bad_input():
    import sksig.torch

    with pytest.raises(ValueError, match="gamma"):
        sksig.torch.SigKernelGram(sksig.PolynomialKernel(degree=2, gamma=-1.0))
    with pytest.raises(ValueError, match="scale"):
        sksig.torch.SigKernelGram(scale=0.0)
    with pytest.raises(TypeError, match="torch.Tensor"):
        sksig.torch.SigKernelGram()(np.zeros((2, 3, 1)))
    assert clone(sksig.RBFKernel(sigma=1.0)).sigma == 1.0
