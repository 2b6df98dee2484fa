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
from sksig._estimator_input import check_paths, encoding_tags
from sksig._gram_blocks import gram_blocks, is_dask_array, map_path_chunks
from sksig._sig_kernel import (
    sig_kernel,
    sig_kernel_backprop,
    sig_kernel_gram_backprop,
)
from sksig._static_kernels import LinearKernel, StaticKernel
from sksig._validation import (
    MAX_BATCH_CONSTRAINT,
    Interval,
    check_dyadic_order,
    check_end_time,
    resolve_n_jobs,
)

__all__ = ["SigKernel"]


class SigKernel(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Signature kernel between paths, as a transformer and as a kernel function.

    ``fit(X)`` stores the paths of ``X``; ``transform(Z)`` returns the Gram matrix
    ``K[i, j] = k(Z[i], X[j])`` of signature kernels against them, so that
    ``make_pipeline(SigKernel(), SVC(kernel="precomputed"))`` trains and predicts on
    paths. Calling the estimator, ``SigKernel()(X, Y)``, returns ``K(X, Y)`` without
    fitting (usable as ``SVC(kernel=SigKernel(...))`` on 2-D input), and
    :meth:`gram_backprop` differentiates that Gram with respect to the paths.

    The kernel is the solution of the Goursat PDE of :func:`sksig.sig_kernel`,
    discretised on a grid refined ``2**dyadic_order`` times per path increment.

    Parameters
    ----------
    dyadic_order : int or tuple of two ints, default=1
        Grid refinement per increment (one order per side for a pair).
    static_kernel : static kernel estimator or None, default=None
        Kernel applied to the points before the signature kernel, for example
        :class:`sksig.RBFKernel`; None means :class:`sksig.LinearKernel`. Its
        parameters are searchable as ``static_kernel__<name>``.
    time_aug : bool, default=False
        Append a time channel to every path (from 0 to ``end_time``).
    lead_lag : bool, default=False
        Apply the lead-lag transform.
    end_time : float, default=1.0
        Final value of the time channel.
    normalize : bool, default=False
        Return ``k(x, y) / sqrt(k(x, x) k(y, y))`` (unit diagonal).
    n_channels : int or None, default=None
        Channels per point of 2-D input ``(n_samples, length * n_channels)``; None
        means 1. For 3-D and ragged input it is read from the data (if given, it
        must match).
    max_batch : int, default=-1
        Bound on the number of path pairs solved at once (memory only); -1 means no
        bound.
    n_jobs : int or None, default=None
        CPU threads; None means 1 and -1 all cores. Results do not depend on it.
    verbose : int, default=0
        If positive, print the progress of every Gram computation (blocks done, rate,
        time left). Grams are computed in blocks sized by scikit-learn's
        ``working_memory`` and run through joblib (a Dask cluster under
        ``joblib.parallel_config(backend="dask")``): see
        :func:`sksig.sig_kernel_gram_blocks`.

    Attributes
    ----------
    paths_fit_ : ndarray of shape (n_samples_fit, length', dim')
        The fitted paths after the path transforms (ragged input padded exactly with
        last points).
    diag_fit_ : ndarray of shape (n_samples_fit,)
        ``k(x, x)`` of the fitted paths (only with ``normalize=True``).
    n_channels_in_ : int
        Channels per point seen in ``fit``.
    n_features_in_ : int
        Columns of 2-D input seen in ``fit`` (absent for 3-D or ragged input).
    feature_names_in_ : ndarray of str
        Column names of a DataFrame seen in ``fit``.

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
        "time_aug": ["boolean"],
        "lead_lag": ["boolean"],
        "end_time": [Real],
        "normalize": ["boolean"],
        "n_channels": [None, Interval(Integral, 1, None, closed="left")],
        "max_batch": MAX_BATCH_CONSTRAINT,
        "n_jobs": [None, Integral],
        "verbose": ["verbose"],
    }

    def __init__(self, *, dyadic_order=1, static_kernel=None, time_aug=False,
                 lead_lag=False, end_time=1.0, normalize=False, n_channels=None,
                 max_batch=-1, n_jobs=None, verbose=0):
        self.dyadic_order = dyadic_order
        self.static_kernel = static_kernel
        self.time_aug = time_aug
        self.lead_lag = lead_lag
        self.end_time = end_time
        self.normalize = normalize
        self.n_channels = n_channels
        self.max_batch = max_batch
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ helpers
    def _paths(self, X, reset, name="X"):
        check_dyadic_order(self.dyadic_order)  # pairs: clear message before any work
        return check_paths(
            self, X, reset=reset, time_aug=self.time_aug, lead_lag=self.lead_lag,
            end_time=check_end_time(self.end_time),
            n_threads=resolve_n_jobs(self.n_jobs),
            name=name,
        )

    def _options(self):
        # The estimator has already transformed the paths: the flags stay off here.
        static = LinearKernel() if self.static_kernel is None else self.static_kernel
        return dict(dyadic_order=self.dyadic_order, static_kernel=static,
                    n_jobs=self.n_jobs)

    def _symmetric(self):
        order = check_dyadic_order(self.dyadic_order)
        return order[0] == order[1]  # with unequal orders k(x, y) != k(y, x)

    def _gram(self, A, B, symmetric=False):
        """Gram matrix of transformed paths; ``symmetric`` means ``B is A``.

        Computed in blocks (bounded memory, progress with ``verbose``, Ctrl-C between
        blocks, joblib backends such as dask): see :func:`sksig.sig_kernel_gram_blocks`.
        """
        return gram_blocks(A, B, symmetric=symmetric and self._symmetric(),
                           max_batch=self.max_batch, verbose=self.verbose,
                           label=type(self).__name__, **self._options())

    def _diag(self, A):
        """``k(x, x)`` for every transformed path, checked positive when normalizing."""
        if A.shape[0] == 0:
            return np.zeros(0, A.dtype)
        return np.asarray(sig_kernel(A, A, **self._options()))

    @staticmethod
    def _check_diag(diag, name):
        bad = np.flatnonzero(~(diag > 0))
        if bad.size:
            raise ValueError(
                f"normalize=True needs k(x, x) > 0, but the signature kernel of "
                f"{name}[{bad[0]}] with itself is {diag[bad[0]]}; the PDE grid is too "
                "coarse for these paths: raise dyadic_order or scale the paths down"
            )
        return diag

    @staticmethod
    def _normalized(gram, diag1, diag2):
        return gram / np.sqrt(np.multiply.outer(diag1, diag2))

    # ------------------------------------------------------------------ sklearn API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Store the paths of ``X`` (and their ``k(x, x)`` when normalizing).

        Parameters
        ----------
        X : array-like of shape (n_samples, length, n_channels) or (n_samples, \
length * n_channels), torch.Tensor, or list of 2-D arrays
            Training paths; a list may hold paths of different lengths.
        y : None
            Ignored.

        Returns
        -------
        SigKernel
            The fitted estimator (``self``).
        """
        paths = self._paths(X, reset=True)
        self.paths_fit_ = paths.data
        if self.normalize:
            self.diag_fit_ = self._check_diag(self._diag(paths.data), "X")
        self._n_features_out = paths.n_samples
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit on ``X`` and return its Gram matrix ``K(X, X)`` (computed symmetrically).

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
        gram = self._gram(A, A, symmetric=True)
        if self.normalize:
            diag = np.diagonal(gram).copy() if self._symmetric() else self._diag(A)
            self.diag_fit_ = self._check_diag(diag, "X")
            gram = self._normalized(gram, diag, diag)
        return gram

    def transform(self, X):
        """Compute the Gram matrix of ``X`` against the fitted paths.

        Parameters
        ----------
        X : array-like, torch.Tensor, list of 2-D arrays or dask.array
            Paths with the fitted number of channels (any lengths for 3-D or ragged
            input; the fitted number of columns for 2-D input). A dask array must be
            chunked along samples only.

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
        gram = self._gram(A, B)
        if self.normalize:
            diag = self._check_diag(self._diag(A), "X")
            gram = self._normalized(gram, diag, self.diag_fit_.astype(A.dtype))
        return gram

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
            The Gram matrix ``K[i, j] = k(X[i], Y[j])``.
        """
        self._validate_params()
        A = self._paths(X, reset=None).data
        if Y is None:
            B = A
        else:
            B = self._paths(Y, reset=None, name="Y").data
            _check_pair(A, B)
        gram = self._gram(A, B, symmetric=Y is None)
        if self.normalize:
            diag1 = self._check_diag(self._diag(A), "X")
            diag2 = diag1 if Y is None else self._check_diag(self._diag(B), "Y")
            gram = self._normalized(gram, diag1, diag2)
        return gram

    def gram_backprop(self, grad_gram, X, Y=None):
        """Differentiate ``sum(grad_gram * self(X, Y))`` with respect to the paths.

        This differentiates the Gram returned by :meth:`__call__` (normalization
        included) with respect to every point of every path, for kernel learning or
        for moving the paths themselves (adversarial examples, generative models).

        Parameters
        ----------
        grad_gram : array-like of shape (n_samples_X, n_samples_Y)
            Gradient of a scalar loss with respect to the Gram matrix.
        X : array-like, torch.Tensor or list of 2-D arrays
            Paths.
        Y : array-like, torch.Tensor, list of 2-D arrays or None, default=None
            Paths; None means the Gram ``K(X, X)``.

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
        self._validate_params()
        X_paths = self._paths(X, reset=None)
        A = X_paths.data
        if Y is None:
            Y_paths, B = None, A
        else:
            Y_paths = self._paths(Y, reset=None, name="Y")
            B = Y_paths.data
            _check_pair(A, B)
        grad, _ = as_array(grad_gram, "grad_gram")
        if grad.shape != (A.shape[0], B.shape[0]):
            raise ValueError(
                f"grad_gram must have the Gram's shape {(A.shape[0], B.shape[0])}, "
                f"got {grad.shape}"
            )
        grad = grad.astype(A.dtype, copy=False)
        options = self._options()
        grad_diag_A = grad_diag_B = None
        if self.normalize:
            gram = self._gram(A, B, symmetric=Y is None)
            diag_A = self._check_diag(self._diag(A), "X")
            diag_B = diag_A if Y is None else self._check_diag(self._diag(B), "Y")
            scale = 1.0 / np.sqrt(np.multiply.outer(diag_A, diag_B))
            weighted = grad * gram * scale  # grad * normalized Gram
            grad_diag_A = -0.5 * weighted.sum(axis=1) / diag_A
            grad_diag_B = -0.5 * weighted.sum(axis=0) / diag_B
            grad = grad * scale
        grad_A, grad_B = sig_kernel_gram_backprop(
            grad, A, B, left_deriv=True, right_deriv=True, max_batch=self.max_batch,
            **options,
        )
        grad_A = np.array(grad_A, dtype=A.dtype)
        grad_B = np.array(grad_B, dtype=A.dtype)
        if Y is None:
            grad_A += grad_B
            if self.normalize:
                grad_A += _diag_backprop(grad_diag_A + grad_diag_B, A, options)
            return X_paths.to_input(grad_A), None
        if self.normalize:
            grad_A += _diag_backprop(grad_diag_A, A, options)
            grad_B += _diag_backprop(grad_diag_B, B, options)
        return X_paths.to_input(grad_A), Y_paths.to_input(grad_B)

    def static_kernel_backprop(self, grad_gram, X, Y=None):
        """Differentiate ``sum(grad_gram * self(X, Y))`` in static-kernel parameters.

        This is what kernel learning needs.

        Parameters
        ----------
        grad_gram : array-like of shape (n_samples_X, n_samples_Y)
            Gradient of a scalar loss with respect to the Gram matrix.
        X : array-like, torch.Tensor or list of 2-D arrays
            Paths.
        Y : array-like, torch.Tensor, list of 2-D arrays or None, default=None
            Paths; None means the Gram ``K(X, X)``.

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

    def __sklearn_tags__(self):
        return encoding_tags(super().__sklearn_tags__())


def _diag_backprop(grad_diag, A, options):
    """Gradient of ``sum(grad_diag[i] * k(A[i], A[i]))`` with respect to ``A``."""
    if A.shape[0] == 0:
        return np.zeros_like(A)
    grad1, grad2 = sig_kernel_backprop(grad_diag, A, A, left_deriv=True,
                                       right_deriv=True, **options)
    return np.asarray(grad1, dtype=A.dtype) + np.asarray(grad2, dtype=A.dtype)


def _check_pair(A, B):
    if A.shape[2] != B.shape[2]:
        raise ValueError(
            f"X and Y must have the same number of channels after the path transforms, "
            f"got {A.shape[2]} and {B.shape[2]}"
        )
    if A.dtype != B.dtype:
        raise TypeError(
            f"X and Y must have the same dtype, got {A.dtype} and {B.dtype}"
        )
