"""sksig.gaussian_process: the signature kernel as a scikit-learn GP kernel."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessClassifier, GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

import sksig
from sksig.gaussian_process import SignatureKernel, pad_paths

STATIC = {
    "rbf": sksig.RBFKernel(sigma=0.8),
    "matern12": sksig.Matern12Kernel(sigma=0.9),
    "matern32": sksig.Matern32Kernel(sigma=0.7),
    "matern52": sksig.Matern52Kernel(sigma=1.1),
    "rational_quadratic": sksig.RationalQuadraticKernel(sigma=0.8, alpha=1.6),
    "scaled_linear": sksig.ScaledLinearKernel(scale=0.9),
    "polynomial": sksig.PolynomialKernel(degree=3, gamma=0.6, scale=0.8),
    "linear": sksig.LinearKernel(),
}


def _rows(rng, n, length, dim=2):
    return (rng.normal(size=(n, length, dim)).cumsum(axis=1) / 4).reshape(n, -1)


def _fd_jacobian(kernel, X, h=1e-5):
    """dK/dtheta by central differences in log space, one hyperparameter at a time."""
    theta = kernel.theta
    out = np.empty(X.shape[:1] * 2 + theta.shape)
    for m in range(theta.size):
        step = np.zeros_like(theta)
        step[m] = h
        out[..., m] = (kernel.clone_with_theta(theta + step)(X)
                       - kernel.clone_with_theta(theta - step)(X)) / (2 * h)
    return out


@pytest.mark.parametrize("key", sorted(STATIC))
@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("transforms",
                         [(False, False), (True, False), (False, True), (True, True)],
                         ids=["none", "time", "ll", "both"])
@pytest.mark.parametrize("normalize", [False, True])
def test_gradient_matches_finite_differences(rng, key, order, transforms, normalize):
    X = _rows(rng, 4, 5)
    kernel = SignatureKernel(STATIC[key], dyadic_order=order, time_aug=transforms[0],
                             lead_lag=transforms[1], normalize=normalize, n_channels=2,
                             scale=0.9)
    K, grad = kernel(X, eval_gradient=True)
    n_static = len(sksig.static_kernel_parameters(STATIC[key]))
    assert grad.shape == (4, 4, n_static + 1) == (4, 4, kernel.n_dims)
    np.testing.assert_array_equal(K, kernel(X))  # the same forward values
    want = _fd_jacobian(kernel, X)
    for m in range(grad.shape[-1]):
        np.testing.assert_allclose(grad[..., m], want[..., m], rtol=1e-6,
                                   atol=1e-6 * np.abs(want[..., m]).max())


def test_values_match_the_functional_api(rng):
    X, Y = _rows(rng, 5, 6, 3), _rows(rng, 3, 4, 3)
    rbf = sksig.RBFKernel(sigma=0.7)
    kernel = SignatureKernel(rbf, n_channels=3, scale=1.7, time_aug=True, end_time=2.0)
    P, Q = 1.7 * X.reshape(5, 6, 3), 1.7 * Y.reshape(3, 4, 3)
    opts = dict(static_kernel=rbf, time_aug=True, end_time=2.0)
    # The time channel is added after scaling (it is not multiplied by scale).
    want = sksig.sig_kernel_gram(P, Q, 1, **opts)
    np.testing.assert_allclose(kernel(X, Y), want, rtol=1e-12)
    KXX = kernel(X)
    np.testing.assert_array_equal(KXX, KXX.T)
    np.testing.assert_allclose(KXX, sksig.sig_kernel_gram(P, P, 1, **opts), rtol=1e-12)
    np.testing.assert_allclose(kernel.diag(X), np.diag(KXX), rtol=1e-12)
    # Normalized: unit diagonal, k / sqrt(kxx kyy) off it.
    normed = clone(kernel).set_params(normalize=True)
    dx, dy = sksig.sig_kernel(P, P, 1, **opts), sksig.sig_kernel(Q, Q, 1, **opts)
    np.testing.assert_allclose(normed(X, Y), want / np.sqrt(np.outer(dx, dy)),
                               rtol=1e-12)
    np.testing.assert_allclose(np.diag(normed(X)), 1.0, rtol=1e-15)
    np.testing.assert_array_equal(normed.diag(X), np.ones(5))
    # 3-D input is accepted as well.
    np.testing.assert_allclose(kernel(X.reshape(5, 6, 3)), KXX, rtol=1e-15)


def test_gradient_of_compound_kernels(rng):
    X = _rows(rng, 4, 5)
    sig = SignatureKernel(sksig.RationalQuadraticKernel(sigma=0.9, alpha=1.2),
                          n_channels=2, normalize=True)
    kernel = ConstantKernel(1.5) * sig + WhiteKernel(0.1) + RBF(2.0) * sig
    K, grad = kernel(X, eval_gradient=True)
    assert grad.shape == (4, 4, kernel.n_dims) == (4, 4, 1 + 3 + 1 + 1 + 3)
    want = _fd_jacobian(kernel, X)
    np.testing.assert_allclose(grad, want, rtol=1e-6, atol=1e-6 * np.abs(want).max())


def test_hyperparameters_theta_and_bounds():
    rq = sksig.RationalQuadraticKernel(sigma=0.5, alpha=2.0)
    kernel = SignatureKernel(rq, scale=3.0, scale_bounds=(1e-2, 1e2),
                             static_kernel_bounds={"alpha": "fixed"})
    names = [h.name for h in kernel.hyperparameters]
    assert names == ["static_kernel__sigma", "static_kernel__alpha", "scale"]
    assert [h.fixed for h in kernel.hyperparameters] == [False, True, False]
    np.testing.assert_allclose(kernel.theta, np.log([0.5, 3.0]))
    np.testing.assert_allclose(kernel.bounds, np.log([[1e-5, 1e5], [1e-2, 1e2]]))
    assert kernel.n_dims == 2
    params = kernel.get_params()
    assert params["static_kernel__sigma"] == 0.5 and params["scale"] == 3.0
    assert "static_kernel__sigma" not in kernel.get_params(deep=False)
    # clone_with_theta gives a new kernel; neither the kernel nor rq changes.
    other = kernel.clone_with_theta(np.log([0.25, 4.0]))
    assert other.static_kernel.sigma == pytest.approx(0.25)
    assert other.static_kernel.alpha == 2.0
    assert other.scale == pytest.approx(4.0)
    assert rq.sigma == 0.5 and kernel.scale == 3.0
    np.testing.assert_allclose(other.theta, np.log([0.25, 4.0]))
    with pytest.raises(ValueError, match="theta has not the correct number"):
        kernel.theta = np.zeros(3)
    fixed = SignatureKernel(rq, scale_bounds="fixed", static_kernel_bounds="fixed")
    assert fixed.n_dims == 0 and fixed.bounds.size == 0
    K, grad = fixed(np.zeros((2, 3)) + np.arange(3), eval_gradient=True)
    assert grad.shape == (2, 2, 0)
    # The default static kernel is RBF(sigma=1).
    default = SignatureKernel()
    names = [h.name for h in default.hyperparameters]
    assert names == ["static_kernel__sigma", "scale"]
    np.testing.assert_allclose(default.theta, [0.0, 0.0])
    default.set_params(static_kernel__sigma=2.0)
    assert isinstance(default.static_kernel, sksig.RBFKernel)
    assert default.static_kernel.sigma == 2.0


def test_clone_pickle_get_params_round_trip(rng):
    X = _rows(rng, 3, 4)
    kernel = SignatureKernel(sksig.PolynomialKernel(degree=2, gamma=0.5, scale=2.0),
                             dyadic_order=2, time_aug=True, lead_lag=True,
                             n_channels=2, scale=0.5, static_kernel_bounds=(1e-3, 1e3),
                             normalize=True, n_jobs=2, max_batch=4)
    for copy in (clone(kernel), pickle.loads(pickle.dumps(kernel)),
                 SignatureKernel(**kernel.get_params(deep=False))):
        assert copy == kernel
        assert copy is not kernel
        np.testing.assert_array_equal(copy(X), kernel(X))
        np.testing.assert_array_equal(copy.theta, kernel.theta)
    assert clone(kernel).static_kernel is not kernel.static_kernel
    assert kernel != clone(kernel).set_params(scale=0.6)
    assert kernel != clone(kernel).set_params(static_kernel__gamma=0.7)
    assert kernel != RBF()
    assert SignatureKernel() == SignatureKernel(sksig.RBFKernel(sigma=1.0))
    text = repr(kernel)
    assert text.startswith("SignatureKernel(static_kernel=PolynomialKernel(")
    assert "scale=0.5" in text and "normalize=True" in text
    assert kernel.requires_vector_input is False
    assert kernel.is_stationary() is False


def test_results_do_not_depend_on_n_jobs(rng):
    X = _rows(rng, 7, 5)
    one = SignatureKernel(n_channels=2, time_aug=True)
    K1, G1 = one(X, eval_gradient=True)
    K2, G2 = clone(one).set_params(n_jobs=2, max_batch=2)(X, eval_gradient=True)
    np.testing.assert_array_equal(K1, K2)
    np.testing.assert_array_equal(G1, G2)
    np.testing.assert_array_equal(K1, clone(one).set_params(n_jobs=-1)(X))


def test_float32(rng):
    X = _rows(rng, 4, 5)
    kernel = SignatureKernel(n_channels=2)
    K32, G32 = kernel(X.astype(np.float32), eval_gradient=True)
    K64, G64 = kernel(X, eval_gradient=True)
    assert K32.dtype == G32.dtype == np.float32
    np.testing.assert_allclose(K32, K64, rtol=1e-5)
    np.testing.assert_allclose(G32, G64, rtol=1e-4, atol=1e-5 * np.abs(G64).max())


def test_pad_paths_keeps_every_kernel(rng):
    paths = [rng.normal(size=(n, 2)).cumsum(axis=0) / 4 for n in (3, 7, 5)]
    rows = pad_paths(paths)
    assert rows.shape == (3, 14)
    np.testing.assert_array_equal(rows[0].reshape(7, 2)[3:],
                                  np.repeat(paths[0][-1:], 4, axis=0))
    longer = pad_paths(paths, length=9)
    assert longer.shape == (3, 18)
    rbf = sksig.RBFKernel(sigma=1.0)
    for lead_lag in (False, True):
        kernel = SignatureKernel(n_channels=2, lead_lag=lead_lag)
        want = sksig.sig_kernel_gram(paths, paths, 1, static_kernel=rbf,
                                     lead_lag=lead_lag)
        np.testing.assert_allclose(kernel(rows), want, rtol=1e-12)
        np.testing.assert_allclose(kernel(longer), want, rtol=1e-12)
        # Each pair from its own unpadded paths, as an independent check.
        k01 = sksig.sig_kernel(paths[0], paths[1], 1, static_kernel=rbf,
                               lead_lag=lead_lag)
        np.testing.assert_allclose(kernel(rows)[0, 1], k01, rtol=1e-12)
    np.testing.assert_array_equal(pad_paths(np.stack([paths[1]] * 2)),
                                  np.stack([paths[1].ravel()] * 2))
    assert pad_paths([p.astype(np.float32) for p in paths]).dtype == np.float32
    integers = pad_paths([[[1], [2]], [[3]]])
    np.testing.assert_array_equal(integers, [[1.0, 2.0], [3.0, 3.0]])
    with pytest.raises(ValueError, match="shorter than the longest"):
        pad_paths(paths, length=6)
    # A ragged list passed directly keeps each path's own time axis.
    timed = SignatureKernel(n_channels=2, time_aug=True, scale=0.5)
    want = sksig.sig_kernel_gram([0.5 * p for p in paths], [0.5 * p for p in paths], 1,
                                 static_kernel=rbf, time_aug=True)
    np.testing.assert_allclose(timed(paths), want, rtol=1e-12)
    with pytest.raises(ValueError, match="same dimension"):
        pad_paths([np.zeros((2, 1)), np.zeros((2, 2))])


def test_bad_parameters_and_input(rng):
    X = _rows(rng, 3, 4)
    with pytest.raises(ValueError, match="Gradient can only be evaluated"):
        SignatureKernel(n_channels=2)(X, X, eval_gradient=True)
    with pytest.raises(ValueError, match="scale_bounds"):
        SignatureKernel(scale_bounds=(0.0, 1.0))(X)
    with pytest.raises(ValueError, match="static_kernel_bounds"):
        SignatureKernel(static_kernel_bounds="free")(X)
    with pytest.raises(ValueError, match="not hyperparameters of RBFKernel"):
        _ = SignatureKernel(static_kernel_bounds={"alpha": (1, 2)}).hyperparameters
    with pytest.raises(ValueError, match="'gamma': 'fixed'"):
        _ = SignatureKernel(sksig.PolynomialKernel(degree=2, gamma=0.0)).theta
    assert SignatureKernel(sksig.PolynomialKernel(degree=2, gamma=-1.0),
                           static_kernel_bounds={"gamma": "fixed"}).n_dims == 2
    with pytest.raises(ValueError, match="scale must be positive"):
        SignatureKernel(scale=-1.0)(X)
    with pytest.raises(TypeError, match="dyadic_order"):
        SignatureKernel(dyadic_order=(1, 2))(X)
    with pytest.raises(ValueError, match="static_kernel"):
        SignatureKernel(static_kernel="rbf")(X)
    with pytest.raises(ValueError, match="multiple of n_channels=2"):
        SignatureKernel(n_channels=2)(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="same number of channels"):
        SignatureKernel()(np.zeros((2, 4)), np.zeros((2, 4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        SignatureKernel()(np.full((2, 4), np.nan))


def test_overflow_names_the_remedy(rng):
    X = _rows(rng, 3, 30) * 30
    kernel = SignatureKernel(sksig.LinearKernel(), n_channels=2, scale=50.0)
    for call in (lambda: kernel(X), lambda: kernel(X, eval_gradient=True),
                 lambda: kernel.diag(X), lambda: kernel(X, X[:1])):
        with pytest.raises(FloatingPointError, match="scale_bounds"):
            call()


def _brownian(rng, n, length):
    increments = rng.normal(size=(n, length - 1, 2)) / np.sqrt(length - 1)
    paths = np.concatenate([np.zeros((n, 1, 2)), increments.cumsum(axis=1)], axis=1)
    area = 0.5 * np.sum(paths[:, :-1, 0] * increments[:, :, 1]
                        - paths[:, :-1, 1] * increments[:, :, 0], axis=1)
    return paths.reshape(n, -1), area


def test_regression_of_levy_area(rng):
    X, area = _brownian(rng, 50, 8)
    train, test = slice(0, 35), slice(35, None)
    kernel = (ConstantKernel() * SignatureKernel(n_channels=2, dyadic_order=1)
              + WhiteKernel(1e-2))
    gp = GaussianProcessRegressor(kernel, normalize_y=True, random_state=0,
                                  n_restarts_optimizer=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(X[train], area[train])
    start = gp.log_marginal_likelihood(kernel.theta)
    assert gp.log_marginal_likelihood_value_ > start + 10
    mean, std = gp.predict(X[test], return_std=True)
    residual = area[test] - mean
    r2 = 1 - np.sum(residual**2) / np.sum((area[test] - area[test].mean())**2)
    print(f"Levy area: R^2 = {r2:.4f}, log-marginal likelihood {start:.1f} -> "
          f"{gp.log_marginal_likelihood_value_:.1f}")
    assert r2 > 0.9
    assert np.all(std > 0)


def test_classification_on_gunpoint():
    from sksig.datasets import load_gunpoint

    X_train, y_train = load_gunpoint(split="train", return_X_y=True)
    X_test, y_test = load_gunpoint(split="test", return_X_y=True)
    std = X_train.std()

    def prepare(X):  # every 10th point, centred, unit scale
        X = X[:, ::10]
        return ((X - X.mean(axis=1, keepdims=True)) / std).reshape(len(X), -1)

    kernel = ConstantKernel() * SignatureKernel(n_channels=1, time_aug=True)
    gpc = GaussianProcessClassifier(kernel, random_state=0, n_restarts_optimizer=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gpc.fit(prepare(X_train), y_train)
    start = gpc.log_marginal_likelihood(kernel.theta)
    assert gpc.log_marginal_likelihood_value_ > start
    accuracy = gpc.score(prepare(X_test), y_test)
    print(f"GunPoint (50 train / 150 test, 15 points): accuracy {accuracy:.3f}")
    assert accuracy > 0.85


def test_normalize_rejects_non_positive_self_kernels(rng, monkeypatch):
    import sksig.gaussian_process as gp_module

    X = _rows(rng, 3, 4)
    kernel = SignatureKernel(n_channels=2, normalize=True)
    # No path gives k(x, x) <= 0 on a fine grid: stand in a kernel that does.
    monkeypatch.setattr(gp_module, "diagonal_kernels",
                        lambda A, **kw: np.array([1.0, -2.0, 1.0]))
    for call in (lambda: kernel.diag(X), lambda: kernel(X, X)):
        with pytest.raises(ValueError, match=r"X\[1\] with itself is -2.0"):
            call()


def test_lazy_submodule():
    assert sksig.gaussian_process.SignatureKernel is SignatureKernel
