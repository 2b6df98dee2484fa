"""Real data out of the box: PathScaler, scale, basepoint, overflow-safe normalized and
log kernels with their gradients, and the GramWarning."""

import warnings

import numpy as np
import pytest
from _tolerances import tol
from conftest import central_differences
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

import sksig
from sksig import _normalized_kernel
from sksig._kernel_setup import _Setup
from sksig.datasets import load_basic_motions


def _paths(rng, n=4, length=6, dim=2, size=0.3):
    return rng.normal(scale=size, size=(n, length, dim)).cumsum(axis=1)


@pytest.fixture(scope="module")
def basic_motions():
    X, y = load_basic_motions("train", return_X_y=True)
    return np.asarray(X), np.asarray(y)


# ---------------------------------------------------------------- PathScaler
def test_path_scaler_std_matches_numpy(rng):
    X = rng.normal(loc=[3.0, -40.0], scale=[2.0, 25.0], size=(5, 7, 2))
    scaler = sksig.PathScaler().fit(X)
    points = X.reshape(-1, 2)
    np.testing.assert_allclose(scaler.center_, points.mean(axis=0), **tol("same_value"))
    np.testing.assert_allclose(scaler.scale_, points.std(axis=0), **tol("same_value"))
    np.testing.assert_allclose(scaler.transform(X),
                               (X - points.mean(axis=0)) / points.std(axis=0),
                               **tol("same_value"))
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X,
                               rtol=1e-12)


@pytest.mark.parametrize("method", ["std", "increment_rms", "maxabs", "minmax"])
@pytest.mark.parametrize("common", [False, True])
def test_path_scaler_methods_match_numpy(rng, method, common):
    X = rng.normal(loc=[1.0, 5.0, -2.0], scale=[0.5, 8.0, 3.0], size=(4, 9, 3))
    points = X.reshape(-1, 3)
    increments = np.diff(X, axis=1).reshape(-1, 3)
    center = points.mean(axis=0)
    if method == "std":
        scale = points.std(axis=0)
    elif method == "increment_rms":
        scale = np.sqrt((increments**2).mean(axis=0))
    elif method == "maxabs":
        scale = np.abs(points - center).max(axis=0)
    else:
        center = (points.min(axis=0) + points.max(axis=0)) / 2
        scale = (points.max(axis=0) - points.min(axis=0)) / 2
    if common:
        pooled = (scale.max() if method in ("maxabs", "minmax")
                  else np.sqrt((scale**2).mean()))
        scale = np.full(3, pooled)
    scaler = sksig.PathScaler(method=method, common_scale=common).fit(X)
    np.testing.assert_allclose(scaler.center_, center, **tol("same_value"))
    np.testing.assert_allclose(scaler.scale_, scale, **tol("same_value"))
    out = scaler.transform(X)
    if method == "minmax" and not common:
        np.testing.assert_allclose(out.reshape(-1, 3).min(axis=0), -1, atol=1e-14)
        np.testing.assert_allclose(out.reshape(-1, 3).max(axis=0), 1, atol=1e-14)


def test_path_scaler_encodings_agree(rng):
    X = rng.normal(loc=2.0, scale=3.0, size=(3, 5, 2))
    scaler = sksig.PathScaler().fit(X)
    want = scaler.transform(X)
    flat = sksig.PathScaler(n_channels=2).fit(X.reshape(3, -1))
    np.testing.assert_allclose(flat.transform(X.reshape(3, -1)), want.reshape(3, -1),
                               rtol=1e-14)
    ragged = [X[0], X[1, :3], X[2, :4]]
    fitted = sksig.PathScaler().fit(ragged)
    points = np.concatenate(ragged)
    np.testing.assert_allclose(fitted.center_, points.mean(axis=0), **tol("same_value"))
    np.testing.assert_allclose(fitted.scale_, points.std(axis=0), **tol("same_value"))
    out = fitted.transform(ragged)
    assert isinstance(out, list) and [o.shape for o in out] == [p.shape for p in ragged]
    np.testing.assert_allclose(out[1], (ragged[1] - points.mean(0)) / points.std(0),
                               **tol("same_value"))
    assert scaler.transform(X.astype(np.float32)).dtype == np.float32


def test_path_scaler_torch_keeps_kind_and_graph(rng):
    torch = pytest.importorskip("torch")
    X = rng.normal(size=(3, 5, 2))
    scaler = sksig.PathScaler().fit(X)
    t = torch.tensor(X, requires_grad=True)
    out = scaler.transform(t)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
    np.testing.assert_allclose(out.detach().numpy(), scaler.transform(X), rtol=1e-14)
    out.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), np.broadcast_to(1 / scaler.scale_,
                                                               X.shape), rtol=1e-14)


def test_path_scaler_constant_channel_is_left_unscaled():
    X = np.zeros((2, 3, 2))
    X[..., 0] = 5.0
    X[1, :, 1] = [1.0, 2.0, 3.0]
    scaler = sksig.PathScaler().fit(X)
    assert scaler.scale_[0] == 1.0
    np.testing.assert_array_equal(scaler.transform(X)[..., 0], 0.0)


def test_path_scaler_rejects_other_channel_counts(rng):
    scaler = sksig.PathScaler().fit(rng.normal(size=(2, 4, 3)))
    with pytest.raises(ValueError, match="channels"):
        scaler.transform(rng.normal(size=(2, 4, 2)))


def test_pipeline_with_scaler_learns_raw_basic_motions(basic_motions):
    # Raw accelerometer values: with the scaler first the signature kernel is usable
    # (half the points for speed; the full search is measured in the user guide).
    X, y = basic_motions
    X_test, y_test = load_basic_motions("test", return_X_y=True)
    pipe = make_pipeline(
        sksig.PathScaler(method="minmax"),
        sksig.SigKernel(dyadic_order=0, time_aug=True, scale=0.6,
                        static_kernel=sksig.RBFKernel(2.0)),
        SVC(kernel="precomputed", C=10.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pipe.fit(X[:, ::2], y)
    assert pipe.score(np.asarray(X_test)[:, ::2], y_test) >= 0.9
    search = GridSearchCV(pipe, {"sigkernel__scale": [0.3, 0.6]}, cv=2)
    search.fit(X[::2, ::4], y[::2])  # runs inside a search
    assert search.best_params_["sigkernel__scale"] in (0.3, 0.6)


# ---------------------------------------------------------------- scale
def test_scale_equals_scaling_the_values_not_the_time(rng):
    X = _paths(rng)
    for kw in ({}, {"time_aug": True, "end_time": 2.0}, {"lead_lag": True}):
        got = sksig.SigKernel(scale=0.5, dyadic_order=1, **kw)(X)
        want = sksig.SigKernel(dyadic_order=1, **kw)(0.5 * X)
        np.testing.assert_allclose(got, want, **tol("same_value"))


def test_scale_gradient_is_chained(rng):
    X = _paths(rng, n=2, length=4)
    G = rng.normal(size=(2, 2))
    est = sksig.SigKernel(scale=0.7, dyadic_order=1, time_aug=True)
    got, _ = est.gram_backprop(G, X)
    want = central_differences(lambda Z: float(np.sum(G * est(Z))), X)
    np.testing.assert_allclose(got, want, **tol("fd"))


def test_scale_is_validated():
    with pytest.raises(ValueError, match="scale"):
        sksig.SigKernel(scale=0.0).fit(np.zeros((2, 3, 1)))


# ---------------------------------------------------------------- basepoint
def _prepend(X, point):
    start = np.broadcast_to(point, X[..., :1, :].shape)
    return np.concatenate([start, X], axis=-2)


@pytest.mark.parametrize("basepoint", [True, [0.5, -1.0]])
def test_basepoint_equals_prepending_by_hand(rng, basepoint):
    X, Y = _paths(rng), _paths(rng)
    point = np.zeros(2) if basepoint is True else np.asarray(basepoint)
    Xp, Yp = _prepend(X, point), _prepend(Y, point)
    kw = dict(time_aug=True, lead_lag=True)
    np.testing.assert_allclose(sksig.sig_kernel(X, Y, 1, basepoint=basepoint, **kw),
                               sksig.sig_kernel(Xp, Yp, 1, **kw), **tol("same_value"))
    np.testing.assert_allclose(
        sksig.sig_kernel_gram(X, Y, 1, basepoint=basepoint, **kw),
        sksig.sig_kernel_gram(Xp, Yp, 1, **kw), **tol("same_value"))
    np.testing.assert_allclose(
        sksig.transform_path(X, basepoint=basepoint, time_aug=True),
        sksig.transform_path(Xp, time_aug=True), rtol=1e-14)
    np.testing.assert_allclose(sksig.sig(X, 3, basepoint=basepoint),
                               sksig.sig(Xp, 3), **tol("same_value"))
    np.testing.assert_allclose(sksig.log_sig(X, 3, basepoint=basepoint),
                               sksig.log_sig(Xp, 3), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sksig.branched_sig(X, 3, basepoint=basepoint),
                               sksig.branched_sig(Xp, 3), **tol("same_value"))
    np.testing.assert_allclose(
        sksig.branched_log_sig(X, 2, basepoint=basepoint, planar=True),
        sksig.branched_log_sig(Xp, 2, planar=True), rtol=1e-12, atol=1e-14)
    # Gradients: those of the prepended paths without the prepended point's row.
    D = rng.normal(size=(4, 4))
    gx, gy = sksig.sig_kernel_gram_backprop(D, X, Y, 1, basepoint=basepoint,
                                            right_deriv=True, **kw)
    hx, hy = sksig.sig_kernel_gram_backprop(D, Xp, Yp, 1, right_deriv=True, **kw)
    np.testing.assert_allclose(gx, hx[:, 1:], rtol=1e-12)
    np.testing.assert_allclose(gy, hy[:, 1:], rtol=1e-12)
    d = rng.normal(size=4)
    gx, gy = sksig.sig_kernel_backprop(d, X, Y, 1, basepoint=basepoint,
                                       right_deriv=True)
    hx, hy = sksig.sig_kernel_backprop(d, Xp, Yp, 1, right_deriv=True)
    np.testing.assert_allclose(gx, hx[:, 1:], rtol=1e-12)
    np.testing.assert_allclose(gy, hy[:, 1:], rtol=1e-12)


def test_torch_log_sig_basepoint_gradient(rng):
    torch = pytest.importorskip("torch")
    import sksig.torch as st

    X = _paths(rng, n=2, length=4)
    t = torch.tensor(X, requires_grad=True)
    st.log_sig(t, 3, basepoint=True).sum().backward()
    want = central_differences(
        lambda Z: float(sksig.log_sig(Z, 3, basepoint=True).sum()), X)
    np.testing.assert_allclose(t.grad.numpy(), want, **tol("fd"))


def test_basepoint_with_ragged_lists(rng):
    X = _paths(rng)
    ragged = [X[0], X[1, :4], X[2, :2]]
    got = sksig.sig_kernel_gram(ragged, ragged, 1, basepoint=True)
    want = sksig.sig_kernel_gram([_prepend(p, np.zeros(2)) for p in ragged],
                                 [_prepend(p, np.zeros(2)) for p in ragged], 1)
    np.testing.assert_allclose(got, want, **tol("same_value"))
    grads = sksig.sig_kernel_gram_backprop(np.ones((3, 3)), ragged, ragged, 1,
                                           basepoint=True)[0]
    assert [g.shape for g in grads] == [p.shape for p in ragged]


def test_estimators_take_basepoint(rng):
    X = _paths(rng)
    Xp = _prepend(X, np.zeros(2))
    np.testing.assert_allclose(sksig.SigKernel(basepoint=True)(X),
                               sksig.SigKernel()(Xp), **tol("same_value"))
    np.testing.assert_allclose(sksig.LogSigJoin(basepoint=True).fit_transform(X),
                               sksig.LogSigJoin().fit_transform(Xp), rtol=1e-12)
    np.testing.assert_allclose(
        sksig.BranchedLogSig(basepoint=True).fit_transform(X),
        sksig.BranchedLogSig().fit_transform(Xp), rtol=1e-12, atol=1e-15)


def test_basepoint_is_validated(rng):
    X = _paths(rng)
    with pytest.raises(ValueError, match="basepoint has 3 coordinates"):
        sksig.sig_kernel(X, X, 0, basepoint=[0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="basepoint must be"):
        sksig.sig_kernel(X, X, 0, basepoint=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        sksig.sig_kernel(X, X, 0, basepoint=[np.nan, 0.0])


def test_basepoint_lets_gradient_descent_learn_a_shift(rng):
    torch = pytest.importorskip("torch")
    import sksig.torch as st

    X = torch.tensor(_paths(rng, n=4, length=6))
    shift = torch.tensor([0.5, -0.3], dtype=torch.float64)
    Y = X + shift
    theta = torch.zeros(2, dtype=torch.float64, requires_grad=True)

    def loss(basepoint):
        # ||S(x + theta) - S(y)||^2 - ||S(y)||^2, summed over the paths.
        A = X + theta
        return (st.sig_kernel(A, A, 1, basepoint=basepoint).sum()
                - 2 * st.sig_kernel(A, Y, 1, basepoint=basepoint).sum())

    # Without a basepoint the kernel sees increments only: no gradient for a shift.
    loss(None).backward()
    assert float(theta.grad.abs().max()) <= 1e-12
    opt = torch.optim.SGD([theta], lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        loss(True).backward()
        opt.step()
    np.testing.assert_allclose(theta.detach().numpy(), shift.numpy(), atol=1e-6)


# ---------------------------------------------------------------- normalized, log
def _plain_normalized(X, Y, order, **kw):
    K = sksig.sig_kernel_gram(X, Y, order, **kw)
    dx = sksig.sig_kernel(X, X, order, **kw)
    dy = sksig.sig_kernel(Y, Y, order, **kw)
    return K / np.sqrt(np.multiply.outer(dx, dy))


@pytest.mark.parametrize("kernel", [None, sksig.RBFKernel(1.5)])
def test_extended_range_equals_plain_where_finite(rng, kernel):
    X, Y = _paths(rng, size=1.0), _paths(rng, n=3, size=1.0)
    want = _plain_normalized(X, Y, 2, static_kernel=kernel)
    for kind, (a, b) in (("gram", (X, Y)), ("symmetric", (X, X))):
        s = _Setup(a, b, 2, kernel, False, False, 1.0, 1, gram=True)
        got, _ = _normalized_kernel.normalized(s, kind, extended=True)
        ref = want if kind == "gram" else _plain_normalized(X, X, 2,
                                                            static_kernel=kernel)
        np.testing.assert_allclose(got, ref, rtol=1e-12)
    # log k where k > 0 (increments with positive coordinates).
    P, Q = np.abs(X).cumsum(axis=1), np.abs(Y).cumsum(axis=1)
    for kind, (a, b) in (("gram", (P, Q)), ("symmetric", (P, P))):
        s = _Setup(a, b, 2, kernel, False, False, 1.0, 1, gram=True)
        log = _normalized_kernel.log_kernels(s, kind, False, extended=True)
        # An absolute error of log k is a relative error of k.
        np.testing.assert_allclose(
            log, np.log(sksig.sig_kernel_gram(a, b, 2, static_kernel=kernel)),
            rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(
        sksig.sig_kernel_gram(X, Y, 2, static_kernel=kernel, normalize=True), want,
        rtol=1e-14)
    np.testing.assert_allclose(
        sksig.sig_kernel(X[:3], Y, 2, static_kernel=kernel, normalize=True),
        np.diagonal(want), rtol=1e-14)
    want = _plain_normalized(P, Q, 2, static_kernel=kernel)
    np.testing.assert_allclose(
        sksig.sig_kernel(P[:3], Q, 2, static_kernel=kernel, return_log=True,
                         normalize=True),
        np.log(np.diagonal(want)), rtol=1e-12, atol=1e-13)


def test_normalized_kernel_where_products_of_kernels_overflow():
    # k(x, x) ~ 1e225 is a float64 number, but k(x, x) k(y, y) is not.
    t = np.linspace(0, 1, 20)[None, :, None]
    lines = 65 * t * np.array([[[1.0, 2.0, 3.0]], [[3.0, -1.0, 2.0]]])
    K = sksig.sig_kernel_gram(lines, lines, 2)
    assert np.log(K[0, 0]) + np.log(K[1, 1]) > np.log(np.finfo(np.float64).max)
    d = np.sqrt(np.diagonal(K))
    want = K / d[:, None] / d[None, :]
    np.testing.assert_allclose(sksig.sig_kernel_gram(lines, lines, 2, normalize=True),
                               want, **tol("same_value"))
    G = np.array([[0.0, 1.0], [0.0, 0.0]])
    g = sksig.sig_kernel_gram_backprop(G, lines, lines, 2, normalize=True)[0]
    assert np.all(np.isfinite(g))


def _longdouble_log_kernel(x, y, order):
    """log k(x, y), linear static kernel, by the PDE scheme in numpy long double
    (written out here from the cell formula, independently of the library)."""
    dx = np.diff(x, axis=0).astype(np.longdouble)
    dy = np.diff(y, axis=0).astype(np.longdouble)
    r = 2**order
    delta = dx @ dy.T / r**2
    a = 1 + delta / 2 + delta**2 / 12
    b = 1 - delta**2 / 12
    a = np.repeat(np.repeat(a, r, axis=0), r, axis=1)
    b = np.repeat(np.repeat(b, r, axis=0), r, axis=1)
    k = np.ones(a.shape[1] + 1, np.longdouble)
    for i in range(a.shape[0]):
        new = np.ones_like(k)
        for j in range(a.shape[1]):
            new[j + 1] = (k[j + 1] + new[j]) * a[i, j] - k[j] * b[i, j]
        k = new
    return float(np.log(k[-1]))


def test_normalized_kernel_of_raw_basic_motions_is_finite(basic_motions):
    X, _ = basic_motions
    X = X[10:16]  # raw values; k(x, x) > 0 for these at dyadic order 2
    with pytest.raises(FloatingPointError):
        sksig.sig_kernel_gram(X, X, 2)
    K = sksig.sig_kernel_gram(X, X, 2, normalize=True)
    assert np.all(np.isfinite(K))
    np.testing.assert_allclose(np.diagonal(K), 1.0, rtol=1e-14)
    np.testing.assert_array_equal(K, K.T)
    # log k far beyond float64's range, against an independent long-double solver.
    x, y = X[0, :40], X[1, :40]
    log_k = float(sksig.sig_kernel(x, y, 2, return_log=True))
    assert log_k > np.log(np.finfo(np.float64).max)
    assert log_k == pytest.approx(_longdouble_log_kernel(x, y, 2), rel=1e-12)


def test_normalized_gradients_equal_finite_differences(rng):
    X, Y = _paths(rng, n=3, length=4, size=0.8), _paths(rng, n=2, length=5, size=0.8)
    D = rng.normal(size=(3, 2))
    kw = dict(static_kernel=sksig.RBFKernel(2.0), time_aug=True)
    gx, gy = sksig.sig_kernel_gram_backprop(D, X, Y, 1, normalize=True,
                                            right_deriv=True, **kw)

    def f(A, B):
        return float(np.sum(D * sksig.sig_kernel_gram(A, B, 1, normalize=True, **kw)))

    np.testing.assert_allclose(gx, central_differences(lambda A: f(A, Y), X),
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gy, central_differences(lambda B: f(X, B), Y),
                               rtol=1e-6, atol=1e-9)
    # The extended-range adjoint gives the same gradients.
    s = _Setup(X, Y, 1, kw["static_kernel"], True, False, 1.0, 1, gram=True)
    ex, ey = _normalized_kernel.normalized_backprop(s, D, True, True, True,
                                                    extended=True)
    np.testing.assert_allclose(s.b1.grad_to_input(ex), gx, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(s.b2.grad_to_input(ey), gy, rtol=1e-11, atol=1e-14)
    d = rng.normal(size=2)
    px, py = sksig.sig_kernel_backprop(d, X[:2], Y, 1, normalize=True,
                                       right_deriv=True, **kw)

    def g(A, B):
        return float(np.sum(d * sksig.sig_kernel(A, B, 1, normalize=True, **kw)))

    np.testing.assert_allclose(px, central_differences(lambda A: g(A, Y), X[:2]),
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(py, central_differences(lambda B: g(X[:2], B), Y),
                               rtol=1e-6, atol=1e-9)


def test_estimator_normalizes_where_the_kernel_overflows(basic_motions):
    X, _ = basic_motions
    X = X[10:14, :40]
    est = sksig.SigKernel(dyadic_order=2, normalize=True)
    with pytest.warns(sksig.GramWarning, match="log grid\\.$"):  # finite, useless
        K = est.fit_transform(X)
    np.testing.assert_allclose(K, sksig.sig_kernel_gram(X, X, 2, normalize=True),
                               rtol=1e-14)
    np.testing.assert_allclose(est.transform(X[:2]), K[:2], **tol("same_value"))
    grad, _ = est.gram_backprop(np.ones((4, 4)), X)
    assert np.all(np.isfinite(grad))


def test_normalized_gradient_where_the_kernel_overflows(basic_motions):
    X, _ = basic_motions
    x, y = X[10, :40], X[11, :40]
    with pytest.raises(FloatingPointError):
        sksig.sig_kernel(x, y, 2)
    gx, gy = sksig.sig_kernel_backprop(1.0, x, y, 2, normalize=True, right_deriv=True)
    assert np.all(np.isfinite(gx)) and np.all(np.isfinite(gy))
    # Directional central differences of the (finite) normalized kernel.
    rng = np.random.default_rng(3)
    for _ in range(2):
        u, v = rng.normal(size=x.shape), rng.normal(size=y.shape)
        h = 1e-5

        def f(t, u=u, v=v):
            return float(sksig.sig_kernel(x + t * u, y + t * v, 2, normalize=True))

        want = (f(h) - f(-h)) / (2 * h)
        got = float(np.sum(gx * u) + np.sum(gy * v))
        assert got == pytest.approx(want, rel=1e-5, abs=1e-9)


def test_sig_kernel_gram_estimator_normalize_uses_functional(rng):
    X, Y = _paths(rng), _paths(rng, n=3)
    est = sksig.SigKernel(dyadic_order=1, normalize=True).fit(Y)
    np.testing.assert_allclose(est.transform(X), _plain_normalized(X, Y, 1),
                               **tol("same_value"))
    G = rng.normal(size=(4, 4))
    got, _ = est.gram_backprop(G, X)
    want = central_differences(lambda Z: float(np.sum(G * est(Z))), X)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_normalize_and_log_option_errors(rng):
    X = _paths(rng)
    with pytest.raises(ValueError, match="return_grid"):
        sksig.sig_kernel(X, X, 0, normalize=True, return_grid=True)
    with pytest.raises(ValueError, match="k_grid"):
        sksig.sig_kernel_backprop(np.ones(4), X, X, 0, normalize=True,
                                  k_grid=np.ones((4, 6, 6)))
    x = np.array([[3.3, 0.0], [-0.4, 0.1], [0.2, -0.4]])  # coarse grid: k(x, x) < 0
    with pytest.raises(ValueError, match="normalize=True needs k"):
        sksig.sig_kernel(x, x, 0, normalize=True)
    with pytest.raises(ValueError, match="return_log=True needs k > 0"):
        sksig.sig_kernel(x, x, 0, return_log=True)


# ---------------------------------------------------------------- GramWarning
def test_gram_warning_fires_on_raw_data_and_not_on_scaled(basic_motions):
    X, _ = basic_motions
    X = X[::4, ::4]
    est = sksig.SigKernel(static_kernel=sksig.RBFKernel(1.0), time_aug=True)
    with pytest.warns(sksig.GramWarning, match="PathScaler"):
        est.fit_transform(X)
    with pytest.warns(sksig.GramWarning, match="SigKernel\\(\\)\\(X\\)"):
        est(X)  # SVC(kernel=SigKernel(...)) calls it so on the training paths
    scaled = sksig.PathScaler(method="minmax").fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sksig.SigKernel(static_kernel=sksig.RBFKernel(2.0), time_aug=True,
                        scale=0.6).fit_transform(scaled)


def test_gram_warning_modes():
    from sksig._gram_warning import _problem

    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 6))
    good = A @ A.T + 6 * np.eye(6)
    assert _problem(good) is None
    assert "orders of magnitude" in _problem(good * np.logspace(0, 20, 6))
    assert "nearly constant" in _problem(np.full((6, 6), 3.0) + 1e-9 * good)
    assert "diagonal dwarfs" in _problem(np.eye(6) + 1e-6 * np.abs(good))


def test_transform_path_backprop_drops_the_basepoint(rng):
    X = _paths(rng)
    Xp = _prepend(X, np.zeros(2))
    D = rng.normal(size=sksig.transform_path(Xp, time_aug=True, lead_lag=True).shape)
    got = sksig.transform_path_backprop(D, time_aug=True, lead_lag=True,
                                        basepoint=True)
    want = sksig.transform_path_backprop(D, time_aug=True, lead_lag=True)[:, 1:]
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_path_scaler_before_signature_features(rng):
    X = rng.normal(loc=50.0, scale=20.0, size=(6, 5, 2))
    for est in (sksig.LogSigJoin(degree=3), sksig.BranchedLogSig(degree=2)):
        pipe = make_pipeline(sksig.PathScaler(), est).fit(X)
        want = est.fit_transform(sksig.PathScaler().fit_transform(X))
        np.testing.assert_allclose(pipe.transform(X), want, **tol("same_value"))


# ---------------------------------------------------------------- frictions
def test_static_kernels_have_unit_bandwidth_defaults():
    x = np.array([[[0.0, 0.0], [1.0, 0.5], [0.2, 1.0]]])
    for cls in (sksig.RBFKernel, sksig.Matern12Kernel, sksig.Matern32Kernel,
                sksig.Matern52Kernel, sksig.RationalQuadraticKernel):
        np.testing.assert_array_equal(cls().increment_gram(x, x),
                                      cls(sigma=1.0).increment_gram(x, x))


def test_import_sksig_torch_without_torch_names_the_install_command():
    import subprocess
    import sys

    # sksig (and scipy) first: scipy looks torch up in sys.modules as it loads.
    code = ("import sys, sksig; sys.modules['torch'] = None\n"
            "try:\n    import sksig.torch\n"
            "except ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout
    assert "pip install sksig[torch]" in out


def test_cuda_backend_refuses_cpu_only_options():
    torch = pytest.importorskip("torch")
    pytest.importorskip("sksig.cuda._emulation")
    from sksig.cuda._runtime import emulated

    x = torch.zeros((3, 2), dtype=torch.float64)
    with emulated(), pytest.raises(NotImplementedError, match="normalize"):
        sksig.sig_kernel(x, x, 0, normalize=True)
    with emulated(), pytest.raises(NotImplementedError, match="return_log"):
        sksig.sig_kernel_gram(x[None], x[None], 0, return_log=True)


def test_extended_range_in_chunks_of_pairs(rng, monkeypatch):
    monkeypatch.setattr(_normalized_kernel, "_CHUNK", 7)
    X = _paths(rng, n=9, length=5)
    s = _Setup(X, X, 1, None, False, False, 1.0, 1, gram=True)
    got, _ = _normalized_kernel.normalized(s, "symmetric", extended=True)
    np.testing.assert_allclose(got, _plain_normalized(X, X, 1), rtol=1e-12)
    s = _Setup(X, X[:4], 1, None, False, False, 1.0, 1, gram=True)
    D = rng.normal(size=(9, 4))
    ext = _normalized_kernel.normalized_backprop(s, D, True, True, True, extended=True)
    plain = _normalized_kernel.normalized_backprop(s, D, True, True, True,
                                                   extended=False)
    for a, b in zip(ext, plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-14)
