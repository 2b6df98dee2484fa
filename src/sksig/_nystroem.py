"""``SigKernelNystroem``: low-rank signature-kernel features by the Nyström method."""

from numbers import Integral, Real

import numpy as np
from scipy.linalg import eigh
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from sksig._estimator_input import PATH_CONSTRAINTS, PathEstimatorMixin, estimator_doc
from sksig._gram_blocks import gram_blocks, is_dask_array, map_path_chunks
from sksig._normalized_kernel import (
    check_positive_diagonal,
    diagonal_kernels,
    normalize_gram,
)
from sksig._static_kernels import LinearKernel, StaticKernel
from sksig._validation import (
    Interval,
    StrOptions,
    check_dyadic_order,
)

__all__ = ["SigKernelNystroem"]


@estimator_doc
class SigKernelNystroem(PathEstimatorMixin, ClassNamePrefixFeaturesOutMixin,
                        TransformerMixin, BaseEstimator):
    """Signature-kernel features of fixed size, by the Nyström approximation.

    ``fit(X)`` picks ``n_components`` landmark paths ``L`` of ``X`` and computes
    ``W = K(L, L)^(-1/2)``; ``transform(Z)`` returns the features ``K(Z, L) W``, whose
    inner products approximate the signature kernel:
    ``K(Z, L) K(L, L)^+ K(L, Y) ~ K(Z, Y)`` (exact when the landmarks are all of ``X``
    and ``Z, Y`` are among them). A linear model on these features (``LinearSVC``,
    ``RidgeClassifier``, ``SGDClassifier`` with ``partial_fit``) then stands in for a
    kernel machine at a cost linear in the number of paths: transforming ``n`` paths
    solves ``n * n_components`` kernels instead of ``n**2``.

    ``K(Z, L)`` is computed in blocks like every Gram of :class:`SigKernel` (see
    :func:`sksig.sig_kernel_gram_blocks`): under ``joblib.parallel_config(
    backend="dask")`` the blocks run on a Dask cluster, and a ``dask.array`` of paths
    is transformed lazily, chunk by chunk.

    Parameters
    ----------
    n_components : int, default=100
        Number of landmarks, hence of features. Must not exceed the number of
        training paths (a ``ValueError`` says so, rather than silently using fewer).
    landmarks : {"random", "kmeans++"}, default="random"
        How landmarks are chosen: uniformly without replacement, or by k-means++
        seeding in the kernel's feature space (each next landmark drawn with
        probability proportional to its squared kernel distance to the nearest one
        already chosen). k-means++ spreads the landmarks over the data and usually
        approximates better for the same ``n_components``, at the price of
        ``n_samples * n_components`` kernel evaluations in ``fit``.
    dyadic_order : int, default=1
        Grid refinement per increment, as in :class:`SigKernel` (one order for both
        sides: the features need a symmetric kernel).
    static_kernel : static kernel estimator or None, default=None
        Kernel on points, for example :class:`sksig.RBFKernel`; None means linear.
    {path_transforms}
    scale : float, default=1.0
        Factor applied to the path values (after ``basepoint``, before the path
        transforms; the time channel is not scaled). The signature kernel grows
        quickly with the size of the increments; scaling paths down keeps it well
        conditioned.
    {basepoint}
    normalize : bool, default=False
        Approximate the normalized kernel ``k(x, y) / sqrt(k(x, x) k(y, y))``.
    {n_channels}
    max_batch : int, default=-1
        As in :class:`SigKernel` (memory only; results never depend on it).
    {estimator_n_jobs}
    random_state : int, RandomState instance or None, default=None
        Seed of the landmark choice.
    verbose : int, default=0
        If positive, print the progress of the Gram computations.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, length', dim')
        The landmark paths after ``scale`` and the path transforms (ragged input padded
        exactly with last points).
    component_indices_ : ndarray of shape (n_components,)
        Indices of the landmarks in the training paths.
    normalization_ : ndarray of shape (n_components, n_components)
        ``K(L, L)^(-1/2)``, symmetric, as a pseudo-inverse: eigenvalues below
        ``n_components * eps`` times the largest are dropped, which keeps
        near-singular landmark Grams stable. On a coarse PDE grid the discretised
        kernel may have small negative eigenvalues (they vanish as ``dyadic_order``
        grows); features carry only the positive part of the kernel.
    diag_components_ : ndarray of shape (n_components,)
        ``k(l, l)`` of the landmarks (only with ``normalize=True``).
    {input_attributes}

    See Also
    --------
    SigKernel : The exact signature kernel (Gram matrices).
    sklearn.kernel_approximation.Nystroem : The same method for vector kernels.

    Examples
    --------
    >>> import numpy as np
    >>> from sksig import SigKernelNystroem
    >>> X = np.random.default_rng(0).normal(size=(40, 10, 2)).cumsum(axis=1) / 4
    >>> features = SigKernelNystroem(n_components=20, random_state=0)
    >>> features.fit_transform(X).shape
    (40, 20)
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.svm import LinearSVC
    >>> y = (X[:, -1, 0] > 0).astype(int)
    >>> model = make_pipeline(features, LinearSVC()).fit(X, y)
    >>> model.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "landmarks": [StrOptions({"random", "kmeans++"})],
        "dyadic_order": [Interval(Integral, 0, 30, closed="both")],
        "static_kernel": [None, StaticKernel],
        **PATH_CONSTRAINTS,
        "scale": [Interval(Real, 0, None, closed="neither")],
        "normalize": ["boolean"],
        "max_batch": [Interval(Integral, -1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, n_components=100, *, landmarks="random", dyadic_order=1,
                 static_kernel=None, time_aug=False, lead_lag=False, end_time=1.0,
                 scale=1.0, basepoint=None, normalize=False, n_channels=None,
                 max_batch=-1, n_jobs=None, random_state=None, verbose=0):
        self._store_params(locals())

    # ------------------------------------------------------------------ helpers
    def _paths(self, X, reset):
        check_dyadic_order(self.dyadic_order)
        return super()._paths(X, reset)

    def _options(self):
        static = LinearKernel() if self.static_kernel is None else self.static_kernel
        return dict(dyadic_order=self.dyadic_order, static_kernel=static,
                    n_jobs=self.n_jobs)

    def _gram(self, A, B, symmetric=False, verbose=True):
        return gram_blocks(A, B, symmetric=symmetric, max_batch=self.max_batch,
                           verbose=self.verbose if verbose else 0,
                           label=type(self).__name__,
                           **self._options())

    def _diag(self, A):
        return diagonal_kernels(A, **self._options())

    def _check_n_components(self, n):
        if self.n_components > n:
            raise ValueError(
                f"n_components={self.n_components} must not exceed the number of "
                f"training paths (n_samples={n}); lower n_components or fit on more "
                "paths"
            )

    def _choose(self, A, rng):
        """Indices of the landmarks among the transformed training paths ``A``."""
        n, m = A.shape[0], self.n_components
        if self.landmarks == "random":
            return np.sort(rng.choice(n, size=m, replace=False))
        # k-means++ seeding with the kernel distance
        # d(x, l)^2 = k(x, x) + k(l, l) - 2 k(x, l) (of the normalized kernel if asked).
        diag = self._diag(A).astype(np.float64)
        if self.normalize:
            check_positive_diagonal(diag, "X")
        chosen = [int(rng.randint(n))]
        nearest = np.full(n, np.inf)
        for _ in range(1, m):
            c = chosen[-1]
            column = self._gram(A, A[c:c + 1], verbose=False)[:, 0].astype(np.float64)
            if self.normalize:
                dist = 2.0 - 2.0 * column / np.sqrt(diag * diag[c])
            else:
                dist = diag + diag[c] - 2.0 * column
            nearest = np.minimum(nearest, np.maximum(dist, 0.0))
            nearest[chosen] = 0.0
            total = nearest.sum()
            if total > 0 and np.isfinite(total):
                chosen.append(int(rng.choice(n, p=nearest / total)))
            else:  # every path coincides with a landmark: fill in at random
                rest = np.setdiff1d(np.arange(n), chosen)
                chosen.append(int(rng.choice(rest)))
        return np.sort(np.asarray(chosen))

    # ------------------------------------------------------------------ sklearn API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Choose the landmarks among the paths of ``X`` and whiten their Gram.

        Parameters
        ----------
        X : array-like of shape (n_samples, length, n_channels) or (n_samples, \
length * n_channels), torch.Tensor, list of 2-D arrays or dask.array
            Training paths; a list may hold paths of different lengths. From a dask
            array only the landmarks are computed and loaded with
            ``landmarks="random"``; k-means++ loads the whole array.
        y : None
            Ignored.

        Returns
        -------
        SigKernelNystroem
            The fitted estimator (``self``).

        Raises
        ------
        ValueError
            If ``n_components`` exceeds the number of paths, or for invalid paths.
        FloatingPointError
            If the landmarks' Gram overflows (rescale the paths with ``scale``).
        """
        rng = check_random_state(self.random_state)
        index = None
        if is_dask_array(X):
            if self.landmarks == "random":  # only the landmarks leave the cluster
                self._check_n_components(X.shape[0])
                index = np.sort(rng.choice(X.shape[0], size=self.n_components,
                                           replace=False))
                X = X[index]
            X = X.compute()
        paths = self._paths(X, reset=True)
        if index is None:
            self._check_n_components(paths.n_samples)
            index = self._choose(paths.data, rng)
            L = np.ascontiguousarray(paths.data[index])
        else:
            L = paths.data
        gram = self._gram(L, L, symmetric=True).astype(np.float64)
        if self.normalize:
            diag = np.diagonal(gram).copy()
            self.diag_components_ = diag
            gram = normalize_gram(gram, diag, diag, ("the landmarks",) * 2)
        self.components_ = L
        self.component_indices_ = index
        self.normalization_ = _inverse_sqrt(gram)
        self._n_features_out = self.n_components
        return self

    def transform(self, X):
        """Nyström features ``K(X, L) W`` of the paths ``X``.

        {dask_transform}

        Returns
        -------
        ndarray of shape (n_samples, n_components), or dask.array
            The Nyström features, in the dtype of ``X``; a lazy dask array
            (computed chunk by chunk) for a dask array ``X``.

        Raises
        ------
        ValueError
            For invalid paths, or a dask array chunked along another axis.
        """
        check_is_fitted(self)
        if is_dask_array(X):
            return map_path_chunks(self, X, self.n_components)
        A = self._paths(X, reset=False).data
        L = self.components_.astype(A.dtype, copy=False)
        gram = self._gram(A, L)
        if self.normalize:
            gram = normalize_gram(gram, self._diag(A), self.diag_components_,
                                  ("X", "the landmarks")).astype(A.dtype)
        return (gram @ self.normalization_.astype(A.dtype)).astype(A.dtype, copy=False)


def _inverse_sqrt(gram):
    """``gram^(-1/2)`` of a symmetric positive semi-definite matrix, as a
    pseudo-inverse: eigenvalues below ``n * eps * max`` (rounding noise, or the tiny
    negative ones a discretised kernel may have) are dropped."""
    w, V = eigh(gram)
    keep = w > gram.shape[0] * np.finfo(np.float64).eps * max(w.max(), 0.0)
    inv = np.zeros_like(w)
    inv[keep] = 1.0 / np.sqrt(w[keep])
    return (V * inv) @ V.T
