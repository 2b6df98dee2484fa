"""Static kernels: reference values, a naive oracle, finite differences, sklearn API."""

import numpy as np
import pytest
from _oracles_kernel import increment_gram
from conftest import assert_close_ref, reference_cases
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import GridSearchCV

import sksig

KERNELS = [
    ("LinearKernel", {}),
    ("ScaledLinearKernel", {"scale": 0.7}),
    ("RBFKernel", {"sigma": 0.5}),
    ("PolynomialKernel", {"degree": 3.0, "gamma": 1.0, "scale": 0.5}),
    ("PolynomialKernel", {"degree": 2.5, "gamma": 2.0, "scale": 1.0}),
    ("PolynomialKernel", {"degree": 0, "gamma": 1.0, "scale": 2.0}),
    ("PolynomialKernel", {"degree": 6, "gamma": -0.2, "scale": 1.0}),
    ("Matern12Kernel", {"sigma": 0.8}),
    ("Matern32Kernel", {"sigma": 0.8}),
    ("Matern52Kernel", {"sigma": 1.2}),
    ("RationalQuadraticKernel", {"sigma": 0.7, "alpha": 1.5}),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(KERNELS)]


@pytest.mark.parametrize(
    "case, inputs, outputs", reference_cases("static_kernels.npz", "static_kernel")
)
def test_reference(case, inputs, outputs):
    spec = case["kwargs"]["static_kernel"]
    kernel = getattr(sksig, spec["name"])(**spec["params"])
    x, y, w = inputs["x"], inputs["y"], inputs["W"]
    assert_close_ref(kernel.increment_gram(x, y), outputs["delta"])
    gx, gy = kernel.increment_gram_backprop(w, x, y)
    assert_close_ref(gx, outputs["grad_x"])
    assert_close_ref(gy, outputs["grad_y"])


@pytest.mark.parametrize("name, params", KERNELS, ids=IDS)
def test_increment_gram_matches_naive_oracle(name, params, rng):
    x = 0.5 * rng.standard_normal((3, 6, 3))
    y = 0.5 * rng.standard_normal((3, 4, 3))
    got = getattr(sksig, name)(**params).increment_gram(x, y)
    want = np.stack(
        [increment_gram(name, params, a, b) for a, b in zip(x, y, strict=True)]
    )
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name, params", KERNELS, ids=IDS)
def test_increment_gram_backprop_matches_finite_differences(name, params, rng):
    kernel = getattr(sksig, name)(**params)
    x = 0.5 * rng.standard_normal((5, 2))
    y = 0.5 * rng.standard_normal((4, 2))
    w = rng.standard_normal((4, 3))
    gx, gy = kernel.increment_gram_backprop(w, x, y)
    h = 1e-6
    for path, grad, first in ((x, gx, True), (y, gy, False)):
        fd = np.zeros_like(path)
        for idx in np.ndindex(path.shape):
            plus, minus = path.copy(), path.copy()
            plus[idx] += h
            minus[idx] -= h
            args_p = (plus, y) if first else (x, plus)
            args_m = (minus, y) if first else (x, minus)
            fd[idx] = np.sum(
                w * (kernel.increment_gram(*args_p) - kernel.increment_gram(*args_m))
            ) / (2 * h)
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-7)


def test_rbf_sigma_is_sklearn_two_length_scale_squared(rng):
    # RBFKernel(sigma) = exp(-r^2 / sigma); sklearn's RBF(l) = exp(-r^2 / (2 l^2)).
    from sklearn.gaussian_process.kernels import RBF

    x, y = rng.standard_normal((5, 2)), rng.standard_normal((4, 2))
    length_scale = 0.8
    k = RBF(length_scale)(x, y)
    want = k[1:, 1:] - k[:-1, 1:] - k[1:, :-1] + k[:-1, :-1]
    got = sksig.RBFKernel(sigma=2 * length_scale**2).increment_gram(x, y)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_linear_kernel_increment_gram_is_increment_inner_products(rng):
    x, y = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 4, 3))
    want = np.einsum("bpc,bqc->bpq", np.diff(x, axis=1), np.diff(y, axis=1))
    np.testing.assert_allclose(
        sksig.LinearKernel().increment_gram(x, y), want, rtol=1e-12, atol=1e-12
    )


def test_sklearn_estimator_protocol():
    k = sksig.RationalQuadraticKernel(sigma=0.5, alpha=2.0)
    assert k.get_params() == {"sigma": 0.5, "alpha": 2.0}
    assert repr(k) == "RationalQuadraticKernel(alpha=2.0, sigma=0.5)"
    c = clone(k)
    assert c is not k and c.get_params() == k.get_params()
    assert k.set_params(sigma=1.5) is k and k.sigma == 1.5
    assert repr(sksig.LinearKernel()) == "LinearKernel()"
    assert repr(sksig.PolynomialKernel(degree=2)) == "PolynomialKernel(degree=2)"


class _KernelRidgeOnPaths(BaseEstimator):
    """Minimal estimator holding a static kernel, to exercise nested parameters."""

    def __init__(self, static_kernel=None, alpha=1e-3):
        self.static_kernel = static_kernel
        self.alpha = alpha

    def fit(self, X, y):
        gram = sksig.sig_kernel_gram(X, X, 0, static_kernel=self.static_kernel)
        self.X_ = X
        self.coef_ = np.linalg.solve(gram + self.alpha * np.eye(len(X)), y)
        return self

    def predict(self, X):
        return (
            sksig.sig_kernel_gram(X, self.X_, 0, static_kernel=self.static_kernel)
            @ self.coef_
        )

    def score(self, X, y):
        return -float(np.mean((self.predict(X) - y) ** 2))


def test_grid_search_over_static_kernel_sigma(rng):
    X = 0.3 * rng.standard_normal((12, 4, 2))
    y = X[:, -1, 0] - X[:, 0, 0]
    search = GridSearchCV(
        _KernelRidgeOnPaths(sksig.RBFKernel(sigma=1.0)),
        {"static_kernel__sigma": [0.5, 2.0]},
        cv=3,
    )
    search.fit(X, y)
    assert search.best_params_["static_kernel__sigma"] in (0.5, 2.0)
    assert (
        search.best_estimator_.static_kernel.sigma
        == search.best_params_["static_kernel__sigma"]
    )


@pytest.mark.parametrize(
    "cls, kwargs, error",
    [
        (sksig.RBFKernel, {"sigma": 0.0}, ValueError),
        (sksig.RBFKernel, {"sigma": -1.0}, ValueError),
        (sksig.RBFKernel, {"sigma": float("nan")}, ValueError),
        (sksig.RBFKernel, {"sigma": "1"}, TypeError),
        (sksig.RBFKernel, {"sigma": True}, TypeError),
        (sksig.ScaledLinearKernel, {"scale": -0.1}, ValueError),
        (sksig.PolynomialKernel, {"degree": -1.0}, ValueError),
        (sksig.PolynomialKernel, {"scale": -1.0}, ValueError),
        (sksig.PolynomialKernel, {"gamma": float("inf")}, ValueError),
        (sksig.Matern12Kernel, {"sigma": 0}, ValueError),
        (sksig.Matern32Kernel, {"sigma": -2}, ValueError),
        (sksig.Matern52Kernel, {"sigma": 0}, ValueError),
        (sksig.RationalQuadraticKernel, {"sigma": 1.0, "alpha": 0.0}, ValueError),
        (sksig.RationalQuadraticKernel, {"sigma": 0.0}, ValueError),
    ],
)
def test_invalid_parameters_rejected_at_fit_and_use(cls, kwargs, error):
    # scikit-learn's rule: __init__ only stores; fit and every use validate, and the
    # message names the parameter.
    kernel = cls(**kwargs)
    assert kernel.get_params()[next(iter(kwargs))] is kwargs[next(iter(kwargs))]
    pattern = "|".join(f"'{name}' parameter of {cls.__name__}" for name in kwargs)
    with pytest.raises(error, match=pattern):
        kernel.fit()
    x = np.zeros((3, 2))
    with pytest.raises(error, match=pattern):
        kernel.increment_gram(x, x)
    with pytest.raises(error, match=pattern):
        sksig.sig_kernel(x, x, 0, static_kernel=kernel)
    with pytest.raises(error, match=pattern):  # nested in an estimator: at its fit
        sksig.SigKernel(static_kernel=kernel).fit(x[None])


def test_invalid_parameters_set_later_rejected_at_use():
    k = sksig.RBFKernel(sigma=1.0).set_params(sigma=-1.0)
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match="sigma"):
        k.increment_gram(x, x)
    with pytest.raises(ValueError, match="sigma"):
        sksig.sig_kernel(x, x, 0, static_kernel=k)


def test_increment_gram_bad_inputs():
    k = sksig.LinearKernel()
    with pytest.raises(ValueError, match="batch shape"):
        k.increment_gram(np.zeros((2, 3, 2)), np.zeros((3, 3, 2)))
    with pytest.raises(ValueError, match="dimension"):
        k.increment_gram(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        k.increment_gram(np.full((3, 2), np.nan), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="derivs must have shape"):
        k.increment_gram_backprop(np.zeros((3, 3)), np.zeros((3, 2)), np.zeros((3, 2)))


# The typed contract with the native cores: each built-in kernel crosses as one
# StaticKernelParams whose kind is the C++ enum's code and whose parameters are the
# validated floats, in the order static_kernels.hpp reads them.
_NATIVE = {
    "LinearKernel": ("linear", lambda p: (0.0, 0.0, 0.0)),
    "ScaledLinearKernel": ("scaled_linear", lambda p: (p["scale"], 0.0, 0.0)),
    "RBFKernel": ("rbf", lambda p: (p["sigma"], 0.0, 0.0)),
    "PolynomialKernel": ("polynomial", lambda p: (p["degree"], p["gamma"], p["scale"])),
    "Matern12Kernel": ("matern12", lambda p: (p["sigma"], 0.0, 0.0)),
    "Matern32Kernel": ("matern32", lambda p: (p["sigma"], 0.0, 0.0)),
    "Matern52Kernel": ("matern52", lambda p: (p["sigma"], 0.0, 0.0)),
    "RationalQuadraticKernel": ("rational_quadratic",
                                lambda p: (p["sigma"], p["alpha"], 0.0)),
}


@pytest.mark.parametrize("name, kwargs", KERNELS, ids=IDS)
def test_kernels_cross_as_typed_native_params(name, kwargs):
    import pickle

    from sksig._core.native import KERNEL_KINDS, StaticKernelParams

    params = getattr(sksig, name)(**kwargs)._native()
    kind, values = _NATIVE[name]
    assert isinstance(params, StaticKernelParams)
    assert params.kind == KERNEL_KINDS[kind]
    assert (params.p0, params.p1, params.p2) == values(kwargs)
    # Only non-integer degrees and integers of 6 or more clamp the polynomial base.
    degree = kwargs.get("degree")
    assert params.clamp == (degree is not None and degree not in (0, 1, 2, 3, 4, 5))
    assert pickle.loads(pickle.dumps(params)) == params


def test_native_params_refuse_unknown_kinds_and_tuples():
    from sksig._core.native import KERNEL_KINDS, StaticKernelParams

    from sksig._core import _sig_kernel

    with pytest.raises(ValueError, match="kind must be one of"):
        StaticKernelParams(max(KERNEL_KINDS.values()) + 1)
    x = np.zeros((1, 3, 2))
    with pytest.raises(TypeError):  # the former positional tuple no longer crosses
        _sig_kernel.forward(x, x, False, (0, 0), (0, 0.0, 0.0, 0.0, False),
                            np.zeros(1), np.zeros(0), 1)
