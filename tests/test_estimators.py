"""SigKernel, LogSigJoin, BranchedLogSig: values, encodings, models, gradients, errors.

Kernel values are checked against the naive PDE oracle of ``_oracles_estimators``;
gradients against central finite differences; log-signature features against the
tensor expansion of their Lyndon brackets and the examples of SPEC.md.
"""

import pickle

import numpy as np
import pytest
from _oracles_estimators import sig_kernel_gram as oracle_gram
from _oracles_estimators import time_aug as oracle_time_aug
from _tolerances import tol
from conftest import central_differences
from sklearn.base import clone
from sklearn.kernel_ridge import KernelRidge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.svm import SVC

import sksig
from sksig import BranchedLogSig, LogSigJoin, RBFKernel, SigKernel

LINEAR = ("linear", {})


def _paths(rng, n, length, dim, scale=0.3):
    return scale * rng.standard_normal((n, length, dim)).cumsum(axis=1)


def _ragged(rng, lengths, dim, scale=0.3):
    return [scale * rng.standard_normal((n, dim)).cumsum(axis=0) for n in lengths]


def _pad(paths):
    longest = max(len(p) for p in paths)
    return np.stack([np.concatenate([p, np.repeat(p[-1:], longest - len(p), 0)])
                     for p in paths])


def _spiral_data(rng, n):
    """Two classes: paths turning counter-clockwise (0) or clockwise (1)."""
    t = np.linspace(0, np.pi, 8)
    y = rng.integers(0, 2, n)
    sign = np.where(y == 0, 1.0, -1.0)[:, None]
    X = np.stack([np.cos(t) * np.ones((n, 1)), sign * np.sin(t)], axis=-1)
    return X + 0.05 * rng.standard_normal(X.shape), y


# --------------------------------------------------------------------- SigKernel
@pytest.mark.parametrize("order", [0, 1, (1, 2)])
@pytest.mark.parametrize("kernel", [LINEAR, ("rbf", {"sigma": 2.0})])
def test_sig_kernel_transform_matches_oracle(rng, order, kernel):
    X, Z = _paths(rng, 4, 5, 3), _paths(rng, 3, 6, 3)
    static = None if kernel[0] == "linear" else RBFKernel(**kernel[1])
    est = SigKernel(dyadic_order=order, static_kernel=static).fit(X)
    pair = order if isinstance(order, tuple) else (order, order)
    np.testing.assert_allclose(est.transform(Z), oracle_gram(Z, X, pair, kernel),
                               **tol("oracle"))
    np.testing.assert_allclose(est(Z, X), oracle_gram(Z, X, pair, kernel),
                               **tol("oracle"))


def test_sig_kernel_ragged_equals_padded_and_unpadded_oracle(rng):
    X = _ragged(rng, [3, 6, 4, 2], 2)
    est = SigKernel(dyadic_order=1)
    gram = est.fit_transform(X)
    np.testing.assert_allclose(gram, oracle_gram(X, X), **tol("oracle"))
    np.testing.assert_allclose(est.fit_transform(_pad(X)), gram, rtol=1e-13)
    # the time channel runs over each path's own points: compare with the oracle on
    # individually time-augmented, unpadded paths
    est = SigKernel(dyadic_order=1, time_aug=True, end_time=2.0).fit(X)
    want = oracle_gram([oracle_time_aug(x, 2.0) for x in X],
                       [oracle_time_aug(x, 2.0) for x in X])
    np.testing.assert_allclose(est.transform(X), want, **tol("oracle"))


def test_sig_kernel_2d_encoding_equals_3d(rng):
    X = _paths(rng, 5, 4, 3)
    flat = X.reshape(5, -1)
    est3, est2 = SigKernel().fit(X), SigKernel(n_channels=3).fit(flat)
    np.testing.assert_array_equal(est2.transform(flat), est3.transform(X))
    assert est2.n_features_in_ == 12 and est2.n_channels_in_ == 3
    assert not hasattr(est3, "n_features_in_") and est3.n_channels_in_ == 3


def test_sig_kernel_fit_transform_call_and_transform_agree(rng):
    X = _paths(rng, 6, 5, 2)
    est = SigKernel(dyadic_order=2, static_kernel=RBFKernel(1.5))
    gram = est.fit_transform(X)
    np.testing.assert_allclose(gram, gram.T, **tol("same_value"))
    np.testing.assert_allclose(est.transform(X), gram, **tol("same_value"))
    np.testing.assert_allclose(est(X), gram, **tol("same_value"))


@pytest.mark.parametrize("time_aug", [False, True])
def test_sig_kernel_normalized_has_unit_diagonal(rng, time_aug):
    X, Z = _paths(rng, 5, 6, 2, scale=0.8), _paths(rng, 3, 4, 2, scale=0.8)
    est = SigKernel(dyadic_order=1, normalize=True, time_aug=time_aug)
    gram = est.fit_transform(X)
    np.testing.assert_allclose(np.diag(gram), 1.0, **tol("same_value"))
    np.testing.assert_allclose(np.diag(est(Z)), 1.0, **tol("same_value"))
    aug = (lambda p: [oracle_time_aug(x) for x in p]) if time_aug else list
    raw = oracle_gram(aug(Z), aug(X))
    diag_z = np.diag(oracle_gram(aug(Z), aug(Z)))
    diag_x = np.diag(oracle_gram(aug(X), aug(X)))
    np.testing.assert_allclose(est.transform(Z),
                               raw / np.sqrt(np.outer(diag_z, diag_x)), **tol("oracle"))


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sig_kernel_gram_is_the_functional_gram_bitwise(rng, normalize, dtype):
    # The estimator is a thin layer over the functional API: its Grams (blocked,
    # normalized or not) are bit for bit those of sig_kernel_gram on the same
    # options; the values themselves are checked against the oracle above.
    X = _paths(rng, 7, 5, 2, scale=0.8).astype(dtype)
    Z = _paths(rng, 4, 6, 2, scale=0.8).astype(dtype)
    options = dict(static_kernel=RBFKernel(0.7), time_aug=True, basepoint=True,
                   normalize=normalize)
    est = SigKernel(dyadic_order=2, **options)
    want = sksig.sig_kernel_gram(X, X, 2, **options)
    cross = sksig.sig_kernel_gram(Z, X, 2, **options)
    assert want.dtype == dtype
    np.testing.assert_array_equal(est.fit_transform(X), want)
    np.testing.assert_array_equal(est(X), want)
    np.testing.assert_array_equal(est.transform(Z), cross)
    np.testing.assert_array_equal(est(Z, X), cross)


def test_sig_kernel_float32_preserved(rng):
    X = _paths(rng, 4, 5, 2)
    gram64 = SigKernel().fit_transform(X)
    est = SigKernel().fit(X.astype(np.float32))
    gram32 = est.transform(X.astype(np.float32))
    assert gram32.dtype == np.float32
    # float32 rounding relative to the Gram's scale (entries can cancel to ~0)
    np.testing.assert_allclose(gram32, gram64, rtol=0, atol=1e-5 * np.abs(gram64).max())
    # float64 input against float32 fitted paths computes in float64
    assert est.transform(X).dtype == np.float64


def test_sig_kernel_torch_input(rng):
    torch = pytest.importorskip("torch")
    X = _paths(rng, 4, 5, 2)
    est = SigKernel().fit(torch.from_numpy(X))
    gram = est.transform([torch.from_numpy(x) for x in X])
    assert isinstance(gram, np.ndarray)
    np.testing.assert_allclose(gram, oracle_gram(X, X), **tol("oracle"))


def test_pipeline_with_svc_precomputed(rng):
    X, y = _spiral_data(rng, 40)
    X_test, y_test = _spiral_data(rng, 20)
    model = make_pipeline(SigKernel(dyadic_order=1), SVC(kernel="precomputed"))
    model.fit(X, y)
    reference = SVC(kernel="precomputed").fit(oracle_gram(X, X), y)
    np.testing.assert_array_equal(model.predict(X_test),
                                  reference.predict(oracle_gram(X_test, X)))
    assert model.score(X_test, y_test) >= 0.95


def test_sig_kernel_as_svc_kernel_callable(rng):
    # SVC(kernel=callable) passes 2-D arrays: paths flattened point after point.
    X, y = _spiral_data(rng, 30)
    X_test = _spiral_data(rng, 10)[0]
    model = SVC(kernel=SigKernel(n_channels=2)).fit(X.reshape(30, -1), y)
    reference = SVC(kernel="precomputed").fit(oracle_gram(X, X), y)
    np.testing.assert_array_equal(model.predict(X_test.reshape(10, -1)),
                                  reference.predict(oracle_gram(X_test, X)))


def test_pipeline_with_kernel_ridge_precomputed(rng):
    X, Z = _paths(rng, 8, 5, 2), _paths(rng, 4, 6, 2)
    y = rng.standard_normal(8)
    model = make_pipeline(SigKernel(static_kernel=RBFKernel(1.0)),
                          KernelRidge(alpha=0.5, kernel="precomputed")).fit(X, y)
    kernel = ("rbf", {"sigma": 1.0})
    coef = np.linalg.solve(oracle_gram(X, X, kernel=kernel) + 0.5 * np.eye(8), y)
    want = oracle_gram(Z, X, kernel=kernel) @ coef
    np.testing.assert_allclose(model.predict(Z), want, rtol=1e-10)


def test_grid_search_over_sigma_and_dyadic_order(rng):
    X, y = _spiral_data(rng, 24)
    pipeline = Pipeline([("sigkernel", SigKernel(static_kernel=RBFKernel(1.0))),
                         ("svc", SVC(kernel="precomputed"))])
    grid = {"sigkernel__static_kernel__sigma": [0.5, 4.0],
            "sigkernel__dyadic_order": [0, 1]}
    search = GridSearchCV(pipeline, grid, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    chosen = search.best_estimator_.named_steps["sigkernel"]
    assert chosen.static_kernel.sigma == search.best_params_[
        "sigkernel__static_kernel__sigma"]
    assert chosen.dyadic_order == search.best_params_["sigkernel__dyadic_order"]
    assert pipeline.named_steps["sigkernel"].static_kernel.sigma == 1.0  # cloned
    # the searched parameters reach the kernel: sigma changes the Gram
    small = clone(pipeline).set_params(sigkernel__static_kernel__sigma=0.5)
    large = clone(pipeline).set_params(sigkernel__static_kernel__sigma=4.0)
    assert not np.allclose(small[0].fit_transform(X), large[0].fit_transform(X))
    assert search.score(X, y) >= 0.9


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("with_y", [False, True])
def test_gram_backprop_matchescentral_differences(rng, normalize, with_y):
    X, Y = _paths(rng, 3, 4, 2), _paths(rng, 2, 3, 2)
    est = SigKernel(dyadic_order=1, static_kernel=RBFKernel(2.0), normalize=normalize,
                    time_aug=True)
    Y_arg = Y if with_y else None
    grad_gram = rng.standard_normal((3, 2 if with_y else 3))
    grad_X, grad_Y = est.gram_backprop(grad_gram, X, Y_arg)
    fd_X = central_differences(lambda x: np.sum(grad_gram * est(x, Y_arg)), X)
    np.testing.assert_allclose(grad_X, fd_X, **tol("fd"))
    if with_y:
        fd_Y = central_differences(lambda y: np.sum(grad_gram * est(X, y)), Y)
        np.testing.assert_allclose(grad_Y, fd_Y, **tol("fd"))
    else:
        assert grad_Y is None


def test_gram_backprop_ragged_2d_and_torch(rng):
    X = _ragged(rng, [3, 5], 2)
    Y = _paths(rng, 2, 4, 2)
    est = SigKernel(dyadic_order=1)
    grad_gram = rng.standard_normal((2, 2))
    grad_X, grad_Y = est.gram_backprop(grad_gram, X, Y)
    assert [g.shape for g in grad_X] == [(3, 2), (5, 2)]
    for i, x in enumerate(X):
        def f(xi, i=i):
            paths = list(X)
            paths[i] = xi
            return np.sum(grad_gram * est(paths, Y))
        np.testing.assert_allclose(grad_X[i], central_differences(f, x), rtol=1e-6,
                                   atol=1e-8)
    # 2-D encoding: gradients come back flattened like the input
    flat = SigKernel(dyadic_order=1, n_channels=2)
    _, grad_flat = flat.gram_backprop(grad_gram, _pad(X).reshape(2, -1),
                                      Y.reshape(2, -1))
    np.testing.assert_allclose(grad_flat, grad_Y.reshape(2, -1), rtol=1e-12)
    torch = pytest.importorskip("torch")
    grad_t, _ = est.gram_backprop(grad_gram, torch.from_numpy(_pad(X)),
                                  torch.from_numpy(Y))
    assert isinstance(grad_t, torch.Tensor) and grad_t.dtype == torch.float64


def test_sig_kernel_verbose_shows_progress(rng, capsys):
    X = _paths(rng, 12, 4, 2)
    SigKernel(verbose=1).fit(X).transform(X[:5])
    out = capsys.readouterr().out
    assert "[SigKernel] Gram 5 x 12" in out and "100.0%" in out


def test_sig_kernel_verbose_gram_equals_silent(rng):
    X, Z = _paths(rng, 12, 4, 2), _paths(rng, 7, 3, 2)
    loud, quiet = SigKernel(verbose=1), SigKernel()
    np.testing.assert_allclose(loud.fit_transform(X), quiet.fit_transform(X),
                               **tol("same_value"))
    np.testing.assert_allclose(loud.transform(Z), quiet.transform(Z),
                               **tol("same_value"))


def test_sig_kernel_pickle_and_pandas_output(rng):
    pd = pytest.importorskip("pandas")
    X = _paths(rng, 4, 5, 2)
    est = SigKernel(normalize=True).fit(X)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.transform(X), est.transform(X))
    frame = est.set_output(transform="pandas").transform(X)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [f"sigkernel{i}" for i in range(4)]


def test_sig_kernel_bad_input(rng):
    X = _paths(rng, 4, 5, 2)
    est = SigKernel().fit(X)
    with pytest.raises(ValueError, match="3 channels per point, but SigKernel was "
                                         "fitted with 2"):
        est.transform(_paths(rng, 2, 5, 3))
    with pytest.raises(ValueError, match="n_channels=3"):
        SigKernel(n_channels=3).fit(X)
    with pytest.raises(ValueError, match="not a multiple of n_channels=2"):
        SigKernel(n_channels=2).fit(np.ones((3, 5)))
    with pytest.raises(ValueError, match="X has 6 features, but SigKernel is "
                                         "expecting 10"):
        SigKernel(n_channels=2).fit(X.reshape(4, -1)).transform(np.ones((2, 6)))
    bad = _ragged(rng, [3, 4], 2)
    bad[1][2, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.transform(bad)
    with pytest.raises(ValueError, match="same number of channels"):
        est.transform([np.ones((3, 2)), np.ones((3, 3))])
    with pytest.raises(ValueError, match="grad_gram must have the Gram's shape"):
        est.gram_backprop(np.ones((3, 3)), X)
    with pytest.raises(TypeError, match="same dtype"):
        est(X, X.astype(np.float32))
    with pytest.raises(ValueError, match="dyadic_order"):
        SigKernel(dyadic_order=-1).fit(X)
    with pytest.raises(ValueError, match="static_kernel"):
        SigKernel(static_kernel="rbf").fit(X)


def test_sig_kernel_normalize_rejects_nonpositive_self_kernel():
    # A coarse grid on a path with large increments gives k(x, x) < 0 (SPEC.md T17).
    x = np.array([[3.3, 0.0], [-0.4, 0.1], [0.2, -0.4]])
    assert oracle_gram([x], [x], (0, 0))[0, 0] <= 0
    with pytest.raises(ValueError, match="normalize=True needs k"):
        SigKernel(dyadic_order=0, normalize=True).fit_transform(x[None])


# --------------------------------------------------------------------- LogSigJoin
def _word_tensor(word, dim):
    """Tensor of the standard bracketing P_w (SPEC.md 8.2), built independently."""
    if len(word) == 1:
        t = np.zeros(dim)
        t[word[0]] = 1.0
        return t
    for split in range(1, len(word)):
        v = word[split:]
        if all(v < v[i:] + v[:i] for i in range(1, len(v))):
            break
    a, b = _word_tensor(word[:split], dim), _word_tensor(word[split:], dim)
    return np.multiply.outer(a, b) - np.multiply.outer(b, a)


def test_log_sig_transform_spec_example():
    X = np.array([[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]])
    est = LogSigJoin(degree=3).fit(X)
    np.testing.assert_allclose(est.transform(X), [[1, 1, 0.5, 1 / 12, 1 / 12]],
                               rtol=1e-14)
    assert list(est.get_feature_names_out()) == [
        "0", "1", "[0,1]", "[0,[0,1]]", "[[0,1],1]"]


def test_log_sig_feature_names_follow_lyndon_words():
    est = LogSigJoin(degree=4).fit(np.zeros((1, 2, 2)))
    assert est.lyndon_words_ == [tuple(w) for w in sksig.lyndon_words(2, 4)]
    assert list(est.get_feature_names_out()) == [
        "0", "1", "[0,1]", "[0,[0,1]]", "[[0,1],1]", "[0,[0,[0,1]]]",
        "[0,[[0,1],1]]", "[[[0,1],1],1]"]


@pytest.mark.parametrize("options", [{}, {"time_aug": True, "lead_lag": True}])
def test_log_sig_features_expand_to_the_tensor_log(rng, options):
    # sum_w c_w P_w, with P_w built from the feature's Lyndon word, is log S(x).
    X = _paths(rng, 3, 5, 2)
    est = LogSigJoin(degree=3, **options).fit(X)
    coords = est.transform(X)
    d = est.dimension_
    full = sksig.log_sig(X, 3, method=0, **options)
    for n in range(3):
        levels = [np.zeros((d,) * k) for k in (1, 2, 3)]
        for c, w in zip(coords[n], est.lyndon_words_, strict=True):
            levels[len(w) - 1] += c * _word_tensor(w, d)
        np.testing.assert_allclose(np.concatenate([t.ravel() for t in levels]),
                                   full[n], atol=1e-12)


def test_log_sig_ragged_and_2d_equal_per_path(rng):
    X = _ragged(rng, [4, 2, 6], 3)
    est = LogSigJoin(degree=3, time_aug=True).fit(X)
    got = est.transform(X)
    for i, x in enumerate(X):
        np.testing.assert_allclose(got[i], est.transform(x[None])[0],
                                   **tol("same_value"))
    plain = LogSigJoin(degree=3).fit(X)
    np.testing.assert_allclose(plain.transform(X), plain.transform(_pad(X)),
                               rtol=1e-13, atol=1e-15)
    flat = LogSigJoin(degree=3, n_channels=3).fit(_pad(X).reshape(3, -1))
    np.testing.assert_array_equal(flat.transform(_pad(X).reshape(3, -1)),
                                  plain.transform(_pad(X)))


def test_log_sig_float32_preserved(rng):
    X = _paths(rng, 3, 5, 2)
    est = LogSigJoin(degree=3).fit(X)
    got = est.transform(X.astype(np.float32))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, est.transform(X), rtol=1e-4, atol=1e-6)


def test_join_extends_the_path_and_join_backprop_matches_fd(rng):
    X = _paths(rng, 3, 5, 2)
    est = LogSigJoin(degree=3).fit(X)
    head = est.transform(X[:, :-1])
    step = X[:, -1] - X[:, -2]
    np.testing.assert_allclose(est.join(head, step), est.transform(X), atol=1e-13)
    grad_out = rng.standard_normal(head.shape)
    grad_ls, grad_v = est.join_backprop(grad_out, head, step)
    np.testing.assert_allclose(
        grad_ls, central_differences(lambda c: np.sum(grad_out * est.join(c, step)),
                                     head), **tol("fd"))
    np.testing.assert_allclose(
        grad_v, central_differences(lambda v: np.sum(grad_out * est.join(head, v)),
                                    step), **tol("fd"))


@pytest.mark.parametrize("lead_lag", [False, True])
def test_partial_transform_equals_recomputing(rng, lead_lag):
    streams = _ragged(rng, [9, 7, 8], 2)
    est = LogSigJoin(degree=3, lead_lag=lead_lag).fit(streams)
    cuts = [(3, 2, 4), (5, 6, 4), (9, 7, 8)]  # points seen after each call
    seen = [0, 0, 0]
    for cut in cuts:
        chunk = [s[a:b] for s, a, b in zip(streams, seen, cut, strict=True)]
        got = est.partial_transform(chunk)
        seen = list(cut)
        want = est.transform([s[:n] for s, n in zip(streams, seen, strict=True)])
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-13)
    with pytest.raises(ValueError, match="continues 2 streams but 3 were started"):
        est.partial_transform([np.ones((2, 2))] * 2)
    est.reset_streams()
    np.testing.assert_allclose(est.partial_transform(streams), est.transform(streams),
                               **tol("same_value"))


def test_partial_transform_rejects_time_aug(rng):
    est = LogSigJoin(time_aug=True).fit(_paths(rng, 2, 3, 2))
    with pytest.raises(ValueError, match="time-augmented"):
        est.partial_transform(_paths(rng, 2, 3, 2))


def test_log_sig_pickle_and_pandas_output(rng):
    pd = pytest.importorskip("pandas")
    X = _paths(rng, 3, 4, 2)
    est = pickle.loads(pickle.dumps(LogSigJoin(degree=2).fit(X)))
    frame = est.set_output(transform="pandas").transform(X)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["0", "1", "[0,1]"]


# --------------------------------------------------------------------- BranchedLogSig
def test_branched_spec_examples():
    X = np.array([[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]])
    est = BranchedLogSig(degree=2).fit(X)
    np.testing.assert_allclose(est.transform(X), [[1, 1, 0, 0.5, -0.5, 0]], atol=1e-15)
    assert list(est.get_feature_names_out()) == [
        "0", "1", "0(0)", "1(0)", "0(1)", "1(1)"]
    planar = BranchedLogSig(degree=2, planar=True).fit(X)  # method 1 by default
    np.testing.assert_allclose(planar.transform(X), [[1, 1, 0.5, 0, 0.5, -0.5, 0]],
                               atol=1e-15)
    assert list(planar.get_feature_names_out()) == [
        "0", "1", "0 1", "0(0)", "1(0)", "0(1)", "1(1)"]


@pytest.mark.parametrize("degree", [2, 3])
def test_branched_lyndon_forest_names_select_method0_columns(rng, degree):
    # Method 1 is log*X at the Lyndon forests: its names pick those columns of method 0.
    X = _paths(rng, 2, 4, 2)
    full = BranchedLogSig(degree=degree, planar=True, method=0).fit(X)
    lyndon = BranchedLogSig(degree=degree, planar=True, method=1).fit(X)
    names = list(full.get_feature_names_out())
    columns = [names.index(n) for n in lyndon.get_feature_names_out()]
    np.testing.assert_allclose(lyndon.transform(X), full.transform(X)[:, columns],
                               atol=1e-13)
    assert len(columns) == sksig.branched_log_sig_length(2, degree, planar=True)


@pytest.mark.parametrize("planar, method", [(False, None), (True, 0), (True, 1),
                                            (True, 2)])
def test_branched_names_count_and_order(rng, planar, method):
    X = _paths(rng, 2, 3, 2)
    est = BranchedLogSig(degree=3, planar=planar, method=method, time_aug=True).fit(X)
    names = est.get_feature_names_out()
    assert len(names) == est.transform(X).shape[1] == len(set(names))
    if not planar or method == 0:
        # In the order of sksig.trees: the labels of a name's nodes, read off its
        # text, are those of the tree's tuple (children before the root's label).
        basis = sksig.trees(3, 3, planar=planar)[1:]
        labels = ["".join(c for c in repr(t) if c.isdigit()) for t in basis]
        assert len(names) == len(basis)
        for name, want in zip(names, labels):
            assert sorted(c for c in name if c.isdigit()) == sorted(want)


@pytest.mark.parametrize("planar, method", [(False, None), (True, 1), (True, 2)])
def test_branched_backprop_matchescentral_differences(rng, planar, method):
    X = _paths(rng, 2, 4, 2)
    est = BranchedLogSig(degree=3, planar=planar, method=method).fit(X)
    bsig = sksig.branched_sig(X, 3, planar=planar)
    derivs = rng.standard_normal(est.transform(X).shape)
    got = est.backprop(bsig, derivs)

    def f(b):
        return np.sum(derivs * sksig.branched_sig_to_log_sig(
            b, 2, 3, planar=planar, method=est.method_))

    np.testing.assert_allclose(got, central_differences(f, bsig), rtol=1e-6,
                               atol=1e-8)


def test_branched_ragged_equals_padded_and_float32(rng):
    X = _ragged(rng, [3, 5, 2], 2)
    est = BranchedLogSig(degree=3).fit(X)
    np.testing.assert_allclose(est.transform(X), est.transform(_pad(X)), atol=1e-14)
    got32 = est.transform([x.astype(np.float32) for x in X])
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, est.transform(X), rtol=1e-4, atol=1e-6)


def test_branched_bad_method(rng):
    with pytest.raises(ValueError, match="method=1 needs planar=True"):
        BranchedLogSig(method=1).fit(_paths(rng, 2, 3, 2))
    with pytest.raises(ValueError, match="method"):
        BranchedLogSig(planar=True, method=3).fit(_paths(rng, 2, 3, 2))


@pytest.mark.cuda
def test_estimators_take_cuda_tensors_and_return_gradients_there(rng):
    torch = pytest.importorskip("torch")
    X = _paths(rng, 3, 4, 2)
    X_cuda = torch.from_numpy(X).cuda()
    est = SigKernel(dyadic_order=1).fit(X_cuda)
    np.testing.assert_allclose(est.transform(X_cuda), oracle_gram(X, X),
                               **tol("oracle"))
    grad, _ = est.gram_backprop(np.ones((3, 3)), X_cuda)
    assert grad.device == X_cuda.device
    np.testing.assert_allclose(grad.cpu().numpy(),
                               est.gram_backprop(np.ones((3, 3)), X)[0], rtol=1e-12)
    log_sigs = LogSigJoin(degree=2).fit(X_cuda).transform(X_cuda)
    np.testing.assert_allclose(log_sigs, LogSigJoin(degree=2).fit(X).transform(X),
                               rtol=1e-12)


def test_feature_names_use_channel_names():
    X = np.zeros((2, 3, 2))
    est = LogSigJoin(degree=2, lead_lag=True).fit(X)
    assert list(est.get_feature_names_out(["x", "y"]))[:5] == [
        "x_lag", "y_lag", "x_lead", "y_lead", "[x_lag,y_lag]"]
    tree = BranchedLogSig(degree=2, time_aug=True).fit(X)
    assert list(tree.get_feature_names_out(["x", "y"]))[:5] == [
        "x", "y", "time", "x(x)", "y(x)"]
    with pytest.raises(ValueError, match="input_features must name the 2 channels"):
        est.get_feature_names_out(["x"])


def test_feature_names_from_dataframe_columns():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(np.arange(8.0).reshape(2, 4), columns=["a0", "b0", "a1", "b1"])
    est = LogSigJoin(degree=2, n_channels=2).fit(frame)
    assert list(est.get_feature_names_out()) == ["a0", "b0", "[a0,b0]"]
    assert list(est.get_feature_names_out(["a0", "b0", "a1", "b1"])) == [
        "a0", "b0", "[a0,b0]"]
    with pytest.raises(ValueError, match="feature_names_in_"):
        est.get_feature_names_out(["p", "q", "r", "s"])
