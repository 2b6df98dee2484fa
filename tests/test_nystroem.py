"""SigKernelNystroem: exactness, convergence, landmarks, pipelines, inputs, errors.

The kernel values come from the naive PDE oracle of ``_oracles_estimators``; the
features are checked through their inner products against that exact kernel.
"""

import numpy as np
import pytest
from _oracles_estimators import sig_kernel_gram as oracle_gram
from _oracles_estimators import time_aug as oracle_time_aug
from _tolerances import tol
from sklearn.base import clone
from sklearn.linear_model import RidgeClassifier, SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC
from sklearn.utils._param_validation import InvalidParameterError

from sksig import RBFKernel, SigKernel, SigKernelNystroem
from sksig._nystroem import _inverse_sqrt
from sksig.datasets import load_japanese_vowels


def _paths(rng, n, length, dim, scale=0.3):
    return scale * rng.standard_normal((n, length, dim)).cumsum(axis=1)


def _relative_error(F, K):
    return np.linalg.norm(F @ F.T - K) / np.linalg.norm(K)


@pytest.mark.parametrize("landmarks", ["random", "kmeans++"])
def test_exact_when_the_landmarks_are_all_paths(rng, landmarks):
    X = _paths(rng, 15, 5, 2)
    F = SigKernelNystroem(15, landmarks=landmarks, random_state=0).fit_transform(X)
    K = oracle_gram(X, X, (1, 1))
    np.testing.assert_allclose(F @ F.T, K, rtol=1e-9, atol=1e-9 * np.abs(K).max())


def test_exact_normalized_rbf_time_aug(rng):
    X = _paths(rng, 12, 4, 2)
    ny = SigKernelNystroem(12, normalize=True, static_kernel=RBFKernel(1.5),
                           time_aug=True, random_state=1)
    F = ny.fit_transform(X)
    Xt = [oracle_time_aug(x) for x in X]
    K = oracle_gram(Xt, Xt, (1, 1), ("rbf", {"sigma": 1.5}))
    d = np.sqrt(np.diag(K))
    np.testing.assert_allclose(F @ F.T, K / np.outer(d, d), atol=1e-9)
    np.testing.assert_allclose(np.diag(ny.diag_components_), np.diag(K)[:, None]
                               * np.eye(12), atol=1e-10)


def test_cross_features_reproduce_the_kernel(rng):
    # With all training paths as landmarks (and a positive definite Gram),
    # <f(z), f(x)> = k(z, L) K(L, L)^-1 K(L, x) = k(z, x) for training x.
    X, Z = _paths(rng, 14, 4, 2), _paths(rng, 6, 6, 2)
    K = oracle_gram(X, X, (3, 3))
    assert np.linalg.eigvalsh(K)[0] > 1e-4  # the premise
    ny = SigKernelNystroem(14, dyadic_order=3, random_state=0).fit(X)
    got = ny.transform(Z) @ ny.transform(X).T
    np.testing.assert_allclose(got, oracle_gram(Z, X, (3, 3)), rtol=1e-8)


@pytest.mark.parametrize("landmarks", ["random", "kmeans++"])
def test_error_falls_as_n_components_grows(rng, landmarks):
    X = _paths(rng, 60, 6, 3)
    K = oracle_gram(X, X, (3, 3))
    assert np.linalg.eigvalsh(K)[0] > 1e-4  # fine grid: positive definite
    errors = [
        _relative_error(SigKernelNystroem(m, landmarks=landmarks, dyadic_order=3,
                                          random_state=0).fit_transform(X), K)
        for m in (3, 10, 30, 60)
    ]
    assert errors[0] > errors[1] > errors[2] > errors[3]
    assert errors[0] > 1e-3 and errors[3] < 1e-9


def test_indefinite_coarse_grid_gram_gives_its_positive_part(rng):
    # On a coarse grid the discretised kernel may have small negative eigenvalues;
    # features can only carry the positive part, which they then reproduce exactly.
    X = _paths(rng, 60, 6, 3)
    K = oracle_gram(X, X, (1, 1))
    w, V = np.linalg.eigh(K)
    assert w[0] < -1e-5 * w[-1]  # the premise: clearly indefinite
    positive = (V * np.maximum(w, 0)) @ V.T
    F = SigKernelNystroem(60, random_state=0).fit_transform(X)
    np.testing.assert_allclose(F @ F.T, positive, atol=1e-9 * w[-1])


def test_kmeanspp_spreads_landmarks_over_clusters(rng):
    # Three tight groups of paths far apart in the kernel's feature space: k-means++
    # seeding takes one landmark from each (random sampling often would not).
    centres = [np.zeros((5, 2)), np.linspace(0, 1, 5)[:, None] * [1.0, 0.0],
               np.linspace(0, 1, 5)[:, None] * [0.0, -1.0]]
    groups = [c + 1e-3 * rng.standard_normal((10, 5, 2)) for c in centres]
    X = np.concatenate(groups)
    for seed in range(5):
        ny = SigKernelNystroem(3, landmarks="kmeans++", random_state=seed).fit(X)
        assert sorted(ny.component_indices_ // 10) == [0, 1, 2]


def test_duplicate_paths_stay_stable(rng):
    # Repeated landmarks make K(L, L) singular: the pseudo-inverse square root keeps
    # the features finite and the approximation exact.
    base = _paths(rng, 6, 4, 2)
    X = np.concatenate([base, base, base[:3]])
    F = SigKernelNystroem(15, random_state=0).fit_transform(X)
    assert np.all(np.isfinite(F))
    K = oracle_gram(X, X, (1, 1))
    np.testing.assert_allclose(F @ F.T, K, atol=1e-8 * np.abs(K).max())


def test_inverse_sqrt_oracle(rng):
    A = rng.standard_normal((8, 8))
    K = A @ A.T + 0.5 * np.eye(8)
    W = _inverse_sqrt(K)
    np.testing.assert_allclose(W, W.T, atol=1e-12)
    np.testing.assert_allclose(W @ K @ W, np.eye(8), atol=1e-10)
    # Rank-deficient with a rounding-level negative eigenvalue: W K W is the
    # projector onto the range of K.
    B = rng.standard_normal((8, 3))
    K = B @ B.T - 1e-14 * np.eye(8)
    W = _inverse_sqrt(K)
    P = B @ np.linalg.pinv(B)
    np.testing.assert_allclose(W @ K @ W, P, atol=1e-8)


def test_scale_multiplies_the_raw_paths(rng):
    X = _paths(rng, 10, 5, 2)
    scaled = SigKernelNystroem(6, scale=2.5, time_aug=True, random_state=0)
    plain = SigKernelNystroem(6, time_aug=True, random_state=0)
    np.testing.assert_allclose(scaled.fit_transform(X), plain.fit_transform(2.5 * X),
                               rtol=1e-12)
    Xt = [oracle_time_aug(2.5 * x) for x in X]  # the time channel is not scaled
    np.testing.assert_allclose(scaled.components_,
                               np.asarray(Xt)[scaled.component_indices_], rtol=1e-14)
    ragged = [x[: 3 + i % 3] for i, x in enumerate(X)]
    np.testing.assert_allclose(scaled.fit_transform(ragged),
                               plain.fit_transform([2.5 * x for x in ragged]),
                               rtol=1e-12)


def test_basepoint_prepends_a_point(rng):
    X = _paths(rng, 10, 5, 2) + 1.0  # paths away from the origin
    point = np.array([0.5, -1.0])
    with_bp = SigKernelNystroem(6, basepoint=point, scale=0.5, random_state=0)
    plain = SigKernelNystroem(6, scale=0.5, random_state=0)
    prepended = np.concatenate([np.broadcast_to(point, (10, 1, 2)), X], axis=1)
    np.testing.assert_allclose(with_bp.fit_transform(X), plain.fit_transform(prepended),
                               rtol=1e-12, atol=1e-12)


def test_ragged_input_matches_padded_oracle(rng):
    X = [0.3 * rng.standard_normal((n, 2)).cumsum(axis=0) for n in [3, 6, 4, 5] * 4]
    ny = SigKernelNystroem(16, random_state=0).fit(X)
    F = ny.transform(X)
    np.testing.assert_allclose(F @ F.T, oracle_gram(X, X, (1, 1)), rtol=1e-8)
    # A path alone or in a ragged batch has the same features.
    np.testing.assert_allclose(ny.transform([X[1]]), F[1:2], **tol("oracle"))


@pytest.mark.parametrize("landmarks", ["random", "kmeans++"])
def test_results_do_not_depend_on_n_jobs(rng, landmarks):
    X = _paths(rng, 40, 5, 2)
    one = SigKernelNystroem(10, landmarks=landmarks, random_state=0).fit_transform(X)
    many = SigKernelNystroem(10, landmarks=landmarks, random_state=0,
                             n_jobs=-1).fit_transform(X)
    np.testing.assert_array_equal(one, many)


def test_float32_and_2d_input(rng):
    X = _paths(rng, 20, 4, 3)
    ny = SigKernelNystroem(8, n_channels=3, random_state=0)
    F32 = ny.fit_transform(X.reshape(20, -1).astype(np.float32))
    assert F32.dtype == np.float32 and ny.n_features_in_ == 12
    F64 = SigKernelNystroem(8, random_state=0).fit_transform(X)
    np.testing.assert_allclose(F32, F64, rtol=1e-3, atol=1e-4)


def test_pipelines_on_a_bundled_dataset():
    # Japanese vowels (ragged, 12 channels): Nyström features with linear models come
    # close to the exact kernel machine.
    X, y = load_japanese_vowels(return_X_y=True)
    Xt, yt = load_japanese_vowels(split="test", return_X_y=True)
    options = dict(dyadic_order=0, time_aug=True, normalize=True)
    exact = make_pipeline(SigKernel(**options), SVC(kernel="precomputed", C=10))
    exact_score = exact.fit(X, y).score(Xt, yt)
    features = SigKernelNystroem(100, random_state=0, **options)
    for model in (LinearSVC(C=10), RidgeClassifier(alpha=1e-3)):
        score = make_pipeline(clone(features), model).fit(X, y).score(Xt, yt)
        assert score >= exact_score - 0.05, (type(model).__name__, score, exact_score)
    # Out of core: features of a fitted transformer computed chunk by chunk, a
    # scaler and an SGDClassifier trained on them with partial_fit.
    fitted = clone(features).fit(X[:150])
    chunks = [(fitted.transform(X[lo:lo + 64]), y[lo:lo + 64])
              for lo in range(0, len(X), 64)]
    scaler, sgd = StandardScaler(), SGDClassifier(random_state=0)
    for F, _ in chunks:
        scaler.partial_fit(F)
    for _ in range(20):
        for F, labels in chunks:
            sgd.partial_fit(scaler.transform(F), labels, classes=np.unique(y))
    score = sgd.score(scaler.transform(fitted.transform(Xt)), yt)
    assert score >= exact_score - 0.05, (score, exact_score)


def test_pandas_output_and_feature_names(rng):
    pd = pytest.importorskip("pandas")
    X = _paths(rng, 12, 4, 2)
    ny = SigKernelNystroem(5, random_state=0).set_output(transform="pandas")
    df = ny.fit_transform(X)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == [f"sigkernelnystroem{i}" for i in range(5)]
    assert list(ny.get_feature_names_out()) == list(df.columns)


def test_verbose_reports_the_grams(rng, capsys):
    X = _paths(rng, 20, 4, 2)
    quiet = SigKernelNystroem(6, random_state=0).fit_transform(X)
    loud = SigKernelNystroem(6, random_state=0, verbose=1).fit_transform(X)
    text = capsys.readouterr().out
    assert "[SigKernelNystroem] Gram 6 x 6" in text
    assert "[SigKernelNystroem] Gram 20 x 6" in text and "s left" in text
    np.testing.assert_array_equal(loud, quiet)


def test_random_state_reproducible_and_landmarks_distinct(rng):
    X = _paths(rng, 30, 4, 2)
    a = SigKernelNystroem(10, random_state=3).fit(X)
    b = SigKernelNystroem(10, random_state=3).fit(X)
    np.testing.assert_array_equal(a.component_indices_, b.component_indices_)
    assert len(set(a.component_indices_)) == 10
    np.testing.assert_array_equal(a.components_, X[a.component_indices_])


def test_errors(rng):
    X = _paths(rng, 6, 4, 2)
    with pytest.raises(ValueError, match=r"n_components=7 must not exceed .*"
                                         r"n_samples=6"):
        SigKernelNystroem(7).fit(X)
    with pytest.raises(InvalidParameterError, match="landmarks"):
        SigKernelNystroem(2, landmarks="leverage").fit(X)
    with pytest.raises(InvalidParameterError, match="scale"):
        SigKernelNystroem(2, scale=0.0).fit(X)
    with pytest.raises(InvalidParameterError, match="dyadic_order"):
        SigKernelNystroem(2, dyadic_order=(1, 2)).fit(X)
    # A Gram that overflows is refused with advice, not turned into NaN features.
    with pytest.raises(FloatingPointError, match="overflowed.*rescale"):
        SigKernelNystroem(3, scale=100.0, dyadic_order=2).fit(X.astype(np.float32))
    # A coarse grid can give k(x, x) <= 0 for rough paths: normalizing is refused.
    rough = np.array([[-1.92, 0.95], [0.87, 1.94], [-1.13, 2.53], [-0.43, 2.36],
                      [-0.65, -1.10], [0.37, 1.55]])
    assert oracle_gram([rough], [rough], (0, 0))[0, 0] < 0
    paths = [rough] + list(X)
    for landmarks in ("random", "kmeans++"):
        with pytest.raises(ValueError, match="normalize=True needs k"):
            SigKernelNystroem(7, landmarks=landmarks, normalize=True, dyadic_order=0,
                              random_state=0).fit(paths)
    fitted = SigKernelNystroem(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="X has 3 channels per point, but "
                                         "SigKernelNystroem was fitted with 2"):
        fitted.transform(_paths(rng, 2, 4, 3))
    with pytest.raises(ValueError, match="NaN|finite"):
        fitted.transform(np.full((1, 4, 2), np.nan))
