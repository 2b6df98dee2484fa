"""``SigKernel``: the signature kernel as a scikit-learn transformer and kernel."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils.validation import check_is_fitted

from sksig._array import as_array
from sksig._estimator_input import (
    PATH_CONSTRAINTS,
    PathEstimatorMixin,
    check_pair,
    estimator_doc,
)
from sksig._gram_blocks import gram_blocks, is_dask_array, map_path_chunks
from sksig._gram_warning import warn_if_useless
from sksig._normalized_kernel import normalized_gram
from sksig._sig_kernel import sig_kernel_gram_backprop
from sksig._static_kernels import LinearKernel, StaticKernel, as_static_kernel
from sksig._validation import (
    MAX_BATCH_CONSTRAINT,
    Interval,
    check_dyadic_order,
)

__all__ = ["SigKernel"]


@estimator_doc(gram_args="""
    grad_gram : array-like of shape (n_samples_X, n_samples_Y)
        Gradient of a scalar loss with respect to the Gram matrix.
    X : array-like, torch.Tensor or list of 2-D arrays
        Paths.
    Y : array-like, torch.Tensor, list of 2-D arrays or None, default=None
        Paths; None means the Gram ``K(X, X)``.""")
class SigKernel(PathEstimatorMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin,
                BaseEstimator):
    """Signature kernel between paths, as a transformer and as a kernel function.

    ``fit(X)`` stores the paths of ``X``; ``transform(Z)`` returns the Gram matrix
    ``K[i, j] = k(Z[i], X[j])`` of signature kernels against them, so that
    ``make_pipeline(SigKernel(), SVC(kernel="precomputed"))`` trains and predicts on
    paths. Calling the estimator, ``SigKernel()(X, Y)``, returns ``K(X, Y)`` without
    fitting (usable as ``SVC(kernel=SigKernel(...))`` on 2-D input), and
    :meth:`gram_backprop` differentiates that Gram with respect to the paths.

    The kernel is the solution of the Goursat PDE of :func:`sksig.sig_kernel`,
    discretised on a grid refined ``2**dyadic_order`` times per path increment.

    Signature kernels grow exponentially with the size of the path increments, so
    raw data (sensor units, prices) gives astronomical or overflowing Grams that no
    downstream model can use. Put a :class:`sksig.PathScaler` first and search
    ``scale`` on a log grid: ``scale`` multiplies the paths, so it acts like the
    inverse of a length scale. A larger ``scale`` makes the increments larger, which
    needs a finer grid (raise ``dyadic_order`` until the increments of one grid
    cell, ``scale * |dx| / 2**dyadic_order``, are well below 1) and, for radial static
    kernels, is equivalent to a smaller bandwidth (``RBFKernel(sigma)`` on
    ``scale * x`` equals ``RBFKernel(sigma / scale**2)`` on ``x``). A
    :class:`sksig.GramWarning` is issued when a Gram is numerically useless.

    Parameters
    ----------
    dyadic_order : int or tuple of two ints, default=1
        Grid refinement per increment (one order per side for a pair).
    static_kernel : static kernel estimator or None, default=None
        Kernel applied to the points before the signature kernel, for example
        :class:`sksig.RBFKernel`; None means :class:`sksig.LinearKernel`. Its
        parameters are searchable as ``static_kernel__<name>``.
    {path_transforms}
    scale : float, default=1.0
        Factor multiplying the path values (after ``basepoint``, before the
        transforms; the time channel is not scaled). Search it on a log grid, e.g.
        ``[0.25, 0.5, 1, 2, 4]`` after a :class:`sksig.PathScaler`.
    {basepoint}
    normalize : bool, default=False
        Return ``k(x, y) / sqrt(k(x, x) k(y, y))`` (unit diagonal), computed without
        overflow even where the kernels themselves exceed the float64 range.
    {n_channels}
    max_batch : int, default=-1
        Bound on the number of path pairs solved at once (memory only); -1 means no
        bound.
    {estimator_n_jobs}
    verbose : int, default=0
        If positive, print the progress of every Gram computation (blocks done, rate,
        time left). Grams are computed in blocks sized by scikit-learn's
        ``working_memory`` and run through joblib (a Dask cluster under
        ``joblib.parallel_config(backend="dask")``): see
        :func:`sksig.sig_kernel_gram_blocks`.

    Attributes
    ----------
    paths_fit_ : ndarray of shape (n_samples_fit, length', dim')
        The fitted paths after ``basepoint``, ``scale`` and the path transforms
        (ragged input padded exactly with last points).
    {input_attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.svm import SVC
    >>> from sksig import SigKernel
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 8, 2)).cumsum(axis=1) / 4
    >>> y = (X[:, -1, 0] > 0).astype(int)
    >>> model = make_pipeline(SigKernel(dyadic_order=1), SVC(kernel="precomputed"))
    >>> model.fit(X, y).predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "dyadic_order": [Interval(Integral, 0, 30, closed="both"), tuple],
        "static_kernel": [None, StaticKernel],
        **PATH_CONSTRAINTS,
        "scale": [Interval(Real, 0, None, closed="neither")],
        "normalize": ["boolean"],
        "max_batch": MAX_BATCH_CONSTRAINT,
        "verbose": ["verbose"],
    }

    def __init__(self, *, dyadic_order=1, static_kernel=None, time_aug=False,
                 lead_lag=False, end_time=1.0, scale=1.0, basepoint=None,
                 normalize=False, n_channels=None, max_batch=-1, n_jobs=None,
                 verbose=0):
        self._store_params(locals())

    # ------------------------------------------------------------------ helpers
    def _paths(self, X, reset, name="X"):
        check_dyadic_order(self.dyadic_order)  # pairs: clear message before any work
        as_static_kernel(self.static_kernel)  # its parameters, named, before any work
        return super()._paths(X, reset, name)

    def _options(self):
        # The estimator has already transformed the paths: the flags stay off here.
        static = LinearKernel() if self.static_kernel is None else self.static_kernel
        return dict(dyadic_order=self.dyadic_order, static_kernel=static,
                    n_jobs=self.n_jobs)

    def _gram(self, A, B, symmetric=False, normalize=False):
        """Gram matrix of transformed paths (normalized with ``normalize``);
        ``symmetric`` means ``B is A``.

        The functional engine of :func:`sksig.sig_kernel_gram_blocks` and
        ``sig_kernel_gram(normalize=True)``: blocks of bounded memory, progress with
        ``verbose``, Ctrl-C between blocks, joblib backends such as dask, and a
        normalization that does not overflow where the kernels exceed float64.
        """
        engine = normalized_gram if normalize else gram_blocks
        return engine(A, B, symmetric=symmetric, max_batch=self.max_batch,
                      verbose=self.verbose, label=type(self).__name__,
                      **self._options())

    def _pair(self, X, Y):
        """The validated parameters, then paths of ``X`` and ``Y`` (None when ``Y``
        is), unfitted; their transformed data ``A`` and ``B`` (``A`` when ``Y`` is
        None)."""
        self._validate_params()
        X_paths = self._paths(X, reset=None)
        A = B = X_paths.data
        Y_paths = None if Y is None else self._paths(Y, reset=None, name="Y")
        if Y_paths is not None:
            B = Y_paths.data
            check_pair(A, B)
        return X_paths, Y_paths, A, B

    def _backprop_args(self, grad_gram, X, Y):
        """The validated paths of ``X`` and ``Y`` (None when ``Y`` is) and
        ``grad_gram`` (checked to have the Gram's shape, in the paths' dtype)."""
        X_paths, Y_paths, A, B = self._pair(X, Y)
        grad, _ = as_array(grad_gram, "grad_gram")
        if grad.shape != (A.shape[0], B.shape[0]):
            raise ValueError(
                f"grad_gram must have the Gram's shape {(A.shape[0], B.shape[0])}, "
                f"got {grad.shape}"
            )
        return X_paths, Y_paths, grad.astype(A.dtype, copy=False)

    # ------------------------------------------------------------------ sklearn API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Store the paths of ``X``.

        {fit}
        """
        paths = self._paths(X, reset=True)
        self.paths_fit_ = paths.data
        self._n_features_out = paths.n_samples
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit on ``X`` and return its Gram matrix ``K(X, X)`` (computed symmetrically).

        A :class:`sksig.GramWarning` is issued when this Gram is numerically useless
        for a downstream model (see :class:`sksig.GramWarning`).

        Parameters
        ----------
        X : array-like, torch.Tensor or list of 2-D arrays
            Training paths, as in :meth:`fit`.
        y : None
            Ignored.

        Returns
        -------
        ndarray of shape (n_samples, n_samples)
            The Gram matrix ``K[i, j] = k(X[i], X[j])`` of the fitted paths.
        """
        paths = self._paths(X, reset=True)
        A = paths.data
        self.paths_fit_ = A
        self._n_features_out = paths.n_samples
        gram = self._gram(A, A, symmetric=True, normalize=self.normalize)
        warn_if_useless(gram, "SigKernel.fit_transform", self.normalize)
        return gram

    def transform(self, X):
        """Compute the Gram matrix of ``X`` against the fitted paths.

        {dask_transform}

        Returns
        -------
        ndarray or dask.array of shape (n_samples, n_samples_fit)
            The Gram matrix ``K[i, j] = k(X[i], X_fit[j])``, in the dtype of ``X``; a
            lazy dask array (computed chunk by chunk) for a dask array ``X``.
        """
        check_is_fitted(self)
        if is_dask_array(X):
            return map_path_chunks(self, X, self._n_features_out)
        paths = self._paths(X, reset=False)
        A = paths.data
        B = self.paths_fit_.astype(A.dtype, copy=False)
        return self._gram(A, B, normalize=self.normalize)

    def __call__(self, X, Y=None):
        """Compute the Gram matrix ``K(X, Y)`` (``K(X, X)`` if ``Y`` is None), unfitted.

        Parameters
        ----------
        X : array-like, torch.Tensor or list of 2-D arrays
            Paths.
        Y : array-like, torch.Tensor, list of 2-D arrays or None, default=None
            Paths with the channels and dtype of ``X``.

        Returns
        -------
        ndarray of shape (n_samples_X, n_samples_Y)
            The Gram matrix ``K[i, j] = k(X[i], Y[j])``. With ``Y`` None, a
            :class:`sksig.GramWarning` is issued when ``K`` is numerically useless (as
            in :meth:`fit_transform`).
        """
        _, _, A, B = self._pair(X, Y)
        gram = self._gram(A, B, symmetric=Y is None, normalize=self.normalize)
        if Y is None:
            warn_if_useless(gram, "SigKernel()(X)", self.normalize)
        return gram

    def gram_backprop(self, grad_gram, X, Y=None):
        """Differentiate ``sum(grad_gram * self(X, Y))`` with respect to the paths.

        This differentiates the Gram returned by :meth:`__call__` (normalization,
        ``scale`` and ``basepoint`` included) with respect to every point of every
        path, for kernel learning or for moving the paths themselves (adversarial
        examples, generative models).

        Parameters
        ----------
        {gram_args}

        Returns
        -------
        grad_X : ndarray, torch.Tensor or list
            Shaped (and typed) like ``X``. When ``Y`` is None this is the total
            derivative, both arguments of ``K(X, X)`` moving together.
        grad_Y : ndarray, torch.Tensor, list or None
            Shaped like ``Y``; None when ``Y`` is None.

        Raises
        ------
        ValueError
            If ``grad_gram`` does not have the Gram's shape or is not finite, or the
            paths are invalid.
        """
        X_paths, Y_paths, grad = self._backprop_args(grad_gram, X, Y)
        A = X_paths.data
        B = A if Y is None else Y_paths.data
        if A.shape[0] == 0 or B.shape[0] == 0:
            grad_A, grad_B = np.zeros_like(A), np.zeros_like(B)
        else:
            grad_A, grad_B = sig_kernel_gram_backprop(
                grad, A, B, left_deriv=True, right_deriv=True, max_batch=self.max_batch,
                normalize=self.normalize, **self._options(),
            )
        grad_A = np.array(grad_A, dtype=A.dtype)
        grad_B = np.array(grad_B, dtype=A.dtype)
        if Y is None:
            return X_paths.to_input(grad_A + grad_B), None
        return X_paths.to_input(grad_A), Y_paths.to_input(grad_B)

    def static_kernel_backprop(self, grad_gram, X, Y=None):
        """Differentiate ``sum(grad_gram * self(X, Y))`` in static-kernel parameters.

        This is what kernel learning needs.

        Parameters
        ----------
        {gram_args}

        Returns
        -------
        dict of str to float
            ``dF/dtheta`` for every name of
            :func:`sksig.static_kernel_parameters` (normalization included).

        Raises
        ------
        ValueError
            If ``grad_gram`` does not have the Gram's shape, or the paths are invalid.

        Examples
        --------
        >>> import numpy as np, sksig
        >>> X = np.random.default_rng(0).normal(size=(3, 5, 2)) / 3
        >>> est = sksig.SigKernel(static_kernel=sksig.RBFKernel(sigma=1.0))
        >>> sorted(est.static_kernel_backprop(np.ones((3, 3)), X))
        ['sigma']
        """
        from sksig._kernel_learning import estimator_param_backprop

        return estimator_param_backprop(self, grad_gram, X, Y)
