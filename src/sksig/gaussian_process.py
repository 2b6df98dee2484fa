"""Gaussian processes over paths: the signature kernel as a scikit-learn GP kernel.

:class:`SignatureKernel` plugs into
:class:`~sklearn.gaussian_process.GaussianProcessRegressor` and
:class:`~sklearn.gaussian_process.GaussianProcessClassifier`, alone or in sums and
products with scikit-learn's kernels. Its hyperparameters are the positive parameters of
the static kernel and a scale applied to the paths; the gradient of the Gram matrix
with respect to them, which the GP optimisers need, comes from the adjoint of the PDE
scheme (see :func:`sksig.sig_kernel_gram_param_backprop`), never from finite
differences.

Inputs are 2-D arrays ``(n_samples, length * n_channels)`` (each row holds the points
one after the other), the form scikit-learn's GPs validate; :func:`pad_paths` turns a
list of paths of different lengths into that form exactly.
"""

import numbers

import numpy as np
from sklearn.base import clone
from sklearn.gaussian_process.kernels import Hyperparameter, Kernel

from sksig._array import as_path_batch
from sksig._estimator_input import check_paths, store_params
from sksig._kernel_learning import (
    SCALE_COLUMN,
    _columns,
    default_static_kernel,
    symmetric_gram_jacobian,
)
from sksig._normalized_kernel import (
    check_positive_diagonal,
    diagonal_kernels,
    normalize_gram,
)
from sksig._sig_kernel import sig_kernel_gram
from sksig._static_kernels import as_static_kernel
from sksig._validation import (
    check_bool,
    check_dyadic_order,
    check_end_time,
    check_int,
    check_max_batch,
    resolve_n_jobs,
)

__all__ = ["SignatureKernel", "pad_paths"]

_DEFAULT_BOUNDS = (1e-5, 1e5)


def _check_bounds(value, name):
    """``"fixed"`` or a pair ``(low, high)`` with ``0 < low <= high`` finite."""
    if isinstance(value, str):
        if value == "fixed":
            return value
        raise ValueError(f'{name} must be "fixed" or a pair (low, high), got {value!r}')
    try:
        low, high = (float(v) for v in np.asarray(value, dtype=float).reshape(-1))
    except (TypeError, ValueError):
        raise ValueError(
            f'{name} must be "fixed" or a pair (low, high) of positive numbers, got '
            f"{value!r}"
        ) from None
    if not (np.isfinite(low) and np.isfinite(high) and 0 < low <= high):
        raise ValueError(
            f"{name} must satisfy 0 < low <= high (finite), got {value!r}"
        )
    return (low, high)


class SignatureKernel(Kernel):
    r"""Signature kernel of paths for scikit-learn's Gaussian processes.

    ``k(x, y)`` is the signature kernel of the paths ``scale * x`` and ``scale * y``
    (after the optional path transforms) with the static kernel ``static_kernel``,
    solved by the Goursat PDE as in :func:`sksig.sig_kernel_gram`. It is a
    :class:`sklearn.gaussian_process.kernels.Kernel`: combine it with
    ``ConstantKernel``, ``WhiteKernel`` and the other kernels, and fit its
    hyperparameters with the GP's optimiser.

    The hyperparameters, in this order, are the positive parameters of the static
    kernel, named ``static_kernel__<name>`` (``sigma`` of the RBF and Matérn kernels;
    ``sigma`` and ``alpha`` of the rational quadratic; ``scale`` of the scaled linear;
    ``gamma`` and ``scale`` of the polynomial, whose degree stays fixed), then
    ``scale``. Like every scikit-learn kernel, ``theta`` holds their logarithms.

    Parameters
    ----------
    static_kernel : StaticKernel or None, default=None
        Kernel on points, e.g. :class:`sksig.RBFKernel`; None means
        ``RBFKernel(sigma=1.0)``. Its positive parameters are hyperparameters.
    dyadic_order : int, default=1
        Refinement of the PDE grid (each increment split in ``2**dyadic_order``).
    time_aug : bool, default=False
        Append a time channel from 0 to ``end_time`` (not multiplied by ``scale``).
    lead_lag : bool, default=False
        Apply the lead-lag transform.
    end_time : float, default=1.0
        Last value of the time channel.
    n_channels : int or None, default=None
        Channels per point of the 2-D input rows; None means 1.
    scale : float, default=1.0
        Positive factor applied to the path values before the path transforms.
    scale_bounds : pair of floats or "fixed", default=(1e-5, 1e5)
        Bounds of ``scale``; "fixed" excludes it from the optimisation.
    static_kernel_bounds : pair of floats, "fixed" or dict, default=(1e-5, 1e5)
        Bounds of the static kernel's hyperparameters: one pair (or "fixed") for all of
        them, or a dict from parameter name to a pair or "fixed" (names left out get
        ``(1e-5, 1e5)``). A parameter that is not positive (a polynomial ``gamma`` of
        zero or less) must be "fixed".
    normalize : bool, default=False
        Use ``k(x, y) / sqrt(k(x, x) k(y, y))``, whose diagonal is 1.
    n_jobs : int or None, default=None
        CPU threads; None means 1 and -1 all cores. Results do not depend on it.
    max_batch : int, default=-1
        Bound on the number of pairs of the forward Gram solved at once; -1 means no
        bound. Results do not depend on it.

    Notes
    -----
    With ``eval_gradient=True`` the kernel returns ``dK/dtheta`` of shape
    ``(n, n, n_theta)``. One call solves every pair ``i <= j`` forward, runs the adjoint
    of the scheme and contracts it with the static kernel's derivatives; it costs a
    few forward solves whatever ``n_theta`` is, and holds no per-pair grids.

    The kernel grows exponentially with the size of the path increments. Grams that
    overflow raise ``FloatingPointError``; keep the paths of order one (standardise
    them) and the bounds of ``scale`` and of multiplicative static-kernel parameters
    moderate so that the optimiser stays in a usable range.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.gaussian_process import GaussianProcessRegressor
    >>> from sklearn.gaussian_process.kernels import ConstantKernel, WhiteKernel
    >>> from sksig.gaussian_process import SignatureKernel
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 10, 2)).cumsum(axis=1) / 5  # 30 paths, 10 points
    >>> y = X[:, -1, 0] * X[:, -1, 1]
    >>> kernel = ConstantKernel() * SignatureKernel(n_channels=2) + WhiteKernel()
    >>> gp = GaussianProcessRegressor(kernel, normalize_y=True, random_state=0)
    >>> gp.fit(X.reshape(30, -1), y).predict(X[:2].reshape(2, -1)).shape
    (2,)
    """

    def __init__(self, static_kernel=None, *, dyadic_order=1, time_aug=False,
                 lead_lag=False, end_time=1.0, n_channels=None, scale=1.0,
                 scale_bounds=_DEFAULT_BOUNDS, static_kernel_bounds=_DEFAULT_BOUNDS,
                 normalize=False, n_jobs=None, max_batch=-1):
        store_params(self, locals())

    # ------------------------------------------------------------- parameters
    def _static(self):
        """The static kernel in use (the default RBF kernel for None)."""
        if self.static_kernel is None:
            return default_static_kernel()
        as_static_kernel(self.static_kernel)  # a clear error for anything else
        return self.static_kernel

    def _static_hyper(self):
        """``[(parameter name, native column, bounds)]`` of the static kernel."""
        static = self._static()
        columns = _columns(static._native())
        names = [name for name, _ in columns]
        spec = self.static_kernel_bounds
        if isinstance(spec, dict):
            unknown = sorted(set(spec) - set(names))
            if unknown:
                raise ValueError(
                    f"static_kernel_bounds names {unknown}, which are not "
                    f"hyperparameters of {type(static).__name__} (those are {names})"
                )
            bounds = {n: _check_bounds(spec.get(n, _DEFAULT_BOUNDS),
                                       f"static_kernel_bounds[{n!r}]") for n in names}
        else:
            common = _check_bounds(spec, "static_kernel_bounds")
            bounds = dict.fromkeys(names, common)
        out = []
        for name, column in columns:
            if bounds[name] != "fixed" and not getattr(static, name) > 0:
                raise ValueError(
                    f"the hyperparameter static_kernel__{name} is "
                    f"{getattr(static, name)!r}, but hyperparameters live in log space "
                    f"and must be > 0; set static_kernel_bounds={{{name!r}: 'fixed'}} "
                    "to keep it out of the optimisation"
                )
            out.append((name, column, bounds[name]))
        return out

    def _scale(self):
        value = self.scale
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"scale must be a real number, got {type(value).__name__}")
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"scale must be positive and finite, got {value!r}")
        return float(value)

    @property
    def hyperparameters(self):
        """The hyperparameter specifications: the static kernel's, then ``scale``."""
        specs = [Hyperparameter(f"static_kernel__{name}", "numeric", bounds)
                 for name, _, bounds in self._static_hyper()]
        specs.append(Hyperparameter("scale", "numeric",
                                    _check_bounds(self.scale_bounds, "scale_bounds")))
        return specs

    @property
    def theta(self):
        """Logarithms of the non-fixed hyperparameters.

        Returns
        -------
        ndarray of shape (n_dims,)
            In :attr:`hyperparameters` order.
        """
        static = self._static()
        values = [getattr(static, name) for name, _, bounds in self._static_hyper()
                  if bounds != "fixed"]
        if _check_bounds(self.scale_bounds, "scale_bounds") != "fixed":
            values.append(self._scale())
        return np.log(np.array(values, dtype=float))

    @theta.setter
    def theta(self, theta):
        theta = np.asarray(theta, dtype=float).reshape(-1)
        free = [name for name, _, bounds in self._static_hyper() if bounds != "fixed"]
        learn_scale = _check_bounds(self.scale_bounds, "scale_bounds") != "fixed"
        if theta.size != len(free) + learn_scale:
            raise ValueError(
                f"theta has not the correct number of entries. Should be "
                f"{len(free) + learn_scale}; given are {theta.size}"
            )
        if free:  # a new static kernel: the one passed in is never modified
            values = {name: float(np.exp(t))
                      for name, t in zip(free, theta, strict=False)}
            self.static_kernel = clone(self._static()).set_params(**values)
        if learn_scale:
            self.scale = float(np.exp(theta[-1]))

    def get_params(self, deep=True):
        """Get the parameters of the kernel (``static_kernel__<name>`` when ``deep``).

        Parameters
        ----------
        deep : bool, default=True
            Also return the static kernel's parameters.

        Returns
        -------
        dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=False)
        if deep and self.static_kernel is not None:
            for key, value in self.static_kernel.get_params().items():
                params[f"static_kernel__{key}"] = value
        return params

    def set_params(self, **params):
        """Set parameters, including the static kernel's as ``static_kernel__<name>``.

        Parameters
        ----------
        **params : dict
            Parameter names and values.

        Returns
        -------
        SignatureKernel
            The kernel (``self``).
        """
        if self.static_kernel is None and any(k.startswith("static_kernel__")
                                              for k in params):
            self.static_kernel = default_static_kernel()
        return super().set_params(**params)

    def _key(self):
        params = self.get_params(deep=False)
        static = self._static()
        params["static_kernel"] = (type(static).__name__,
                                   tuple(sorted(static.get_params().items())))
        for name in ("scale_bounds", "static_kernel_bounds"):
            value = params[name]
            if isinstance(value, dict):
                params[name] = tuple(sorted((k, repr(v)) for k, v in value.items()))
            else:
                params[name] = repr(value if isinstance(value, str)
                                    else tuple(np.asarray(value).tolist()))
        return tuple(sorted((k, repr(v)) for k, v in params.items()))

    def __eq__(self, other):
        return type(self) is type(other) and self._key() == other._key()

    __hash__ = None

    def __repr__(self):
        parts = [f"static_kernel={self._static()!r}",
                 f"dyadic_order={self.dyadic_order!r}", f"scale={self.scale:.3g}"]
        for name in ("time_aug", "lead_lag", "normalize"):
            if getattr(self, name):
                parts.append(f"{name}=True")
        return f"SignatureKernel({', '.join(parts)})"

    @property
    def requires_vector_input(self):
        """False: the kernel is defined on paths, not on vectors."""
        return False

    def is_stationary(self):
        """Return False: signature kernels are not functions of ``x - y``.

        Returns
        -------
        bool
            Always False.
        """
        return False

    # -------------------------------------------------------------- computing
    def _config(self):
        """Validated options (before any native work)."""
        order = check_int(self.dyadic_order, "dyadic_order")
        check_dyadic_order(order)
        check_bool(self.time_aug, "time_aug")
        check_bool(self.lead_lag, "lead_lag")
        check_bool(self.normalize, "normalize")
        check_end_time(self.end_time)
        if self.n_channels is not None:
            check_int(self.n_channels, "n_channels", minimum=1)
        check_max_batch(self.max_batch)
        self._scale()
        _check_bounds(self.scale_bounds, "scale_bounds")
        self._static_hyper()
        return dict(dyadic_order=order, static_kernel=self._static(),
                    n_jobs=resolve_n_jobs(self.n_jobs))

    def _paths(self, X, name):
        """Scaled and transformed paths ``(n, length', dim')`` of 2-D input (3-D arrays
        and ragged lists of 2-D paths are accepted too)."""
        batch = check_paths(self, X, reset=None, name=name).batch
        scale = np.asarray(self._scale(), batch.data.dtype)
        if batch.ragged:  # each path transformed before padding (its own time axis)
            raw = [batch.data[i, :n] * scale for i, n in enumerate(batch.raw_lengths)]
        else:
            raw = batch.data * scale
        return as_path_batch(raw, name, time_aug=self.time_aug, lead_lag=self.lead_lag,
                             end_time=self.end_time,
                             n_threads=resolve_n_jobs(self.n_jobs)).data

    def _overflow(self):
        return FloatingPointError(
            f"{self!r}: the signature kernel of these paths overflowed (inf or NaN); "
            "it grows exponentially with the size of the path increments. Scale the "
            "paths down (a smaller `scale`, or standardise them, e.g. with "
            "sksig.PathScaler), tighten `scale_bounds` and the static kernel's bounds "
            "so that the optimiser stays in a usable range, or lower dyadic_order"
        )

    @staticmethod
    def _diagonal(A, options, name):
        return check_positive_diagonal(diagonal_kernels(A, **options), name)

    def __call__(self, X, Y=None, eval_gradient=False):
        """The Gram matrix ``K(X, Y)`` and, optionally, its gradient.

        Parameters
        ----------
        X : ndarray of shape (n_samples_X, length * n_channels)
            Paths, one per row (3-D arrays ``(n, length, n_channels)`` and lists of
            2-D paths of different lengths are accepted too).
        Y : ndarray of shape (n_samples_Y, length_Y * n_channels), default=None
            Paths; None means ``Y = X`` (the Gram is then exactly symmetric).
        eval_gradient : bool, default=False
            Also return the gradient with respect to the log hyperparameters (only
            when ``Y`` is None).

        Returns
        -------
        K : ndarray of shape (n_samples_X, n_samples_Y)
            The Gram matrix.
        K_gradient : ndarray of shape (n_samples_X, n_samples_X, n_dims)
            ``dK/dtheta``; only when ``eval_gradient`` is True.

        Raises
        ------
        ValueError
            For invalid parameters or paths, ``eval_gradient`` with ``Y``, or (with
            ``normalize``) a non-positive ``k(x, x)``.
        FloatingPointError
            If the Gram overflows (see Notes of the class).
        """
        options = self._config()
        try:
            return self._call(X, Y, eval_gradient, options)
        except FloatingPointError:
            raise self._overflow() from None

    def _call(self, X, Y, eval_gradient, options):
        A = self._paths(X, "X")
        if Y is not None:
            if eval_gradient:
                raise ValueError("Gradient can only be evaluated when Y is None.")
            B = self._paths(Y, "Y")
            if B.shape[2] != A.shape[2] or B.dtype != A.dtype:
                raise ValueError(
                    "X and Y must have the same number of channels and dtype, got "
                    f"{A.shape[2]} ({A.dtype}) and {B.shape[2]} ({B.dtype})"
                )
            gram = np.asarray(sig_kernel_gram(A, B, max_batch=self.max_batch,
                                              **options))
            if self.normalize:
                gram = normalize_gram(gram, self._diagonal(A, options, "X"),
                                      self._diagonal(B, options, "Y"))
            return gram
        static = options["static_kernel"]
        free = [(column, getattr(static, name))
                for name, column, bounds in self._static_hyper() if bounds != "fixed"]
        if _check_bounds(self.scale_bounds, "scale_bounds") != "fixed":
            free.append((SCALE_COLUMN, 1.0))  # that column is already d/dlog(scale)
        n = A.shape[0]
        if eval_gradient and free:
            gram, jac = symmetric_gram_jacobian(
                A, options["dyadic_order"], options["static_kernel"]._native(),
                time_last=bool(self.time_aug), n_threads=options["n_jobs"])
            # d/dlog(theta) = theta d/dtheta
            grad = np.stack([value * jac[..., column] for column, value in free], -1)
        else:
            gram = np.asarray(sig_kernel_gram(A, A, max_batch=self.max_batch,
                                              **options))
            grad = np.empty((n, n, 0), gram.dtype)
        if self.normalize:
            diag = np.diagonal(gram).copy()
            gram = normalize_gram(gram, diag, diag, ("X", "X"))
            inv = 1.0 / np.sqrt(np.multiply.outer(diag, diag))
            if eval_gradient:
                rel = np.einsum("iim->im", grad) / diag[:, None]  # dlog k(x_i, x_i)
                grad = (grad * inv[..., None]
                        - 0.5 * gram[..., None] * (rel[:, None, :] + rel[None, :, :]))
        return (gram, grad) if eval_gradient else gram

    def diag(self, X):
        """``k(x, x)`` for every path of ``X`` (the diagonal pairs only).

        Parameters
        ----------
        X : ndarray of shape (n_samples, length * n_channels)
            Paths, one per row.

        Returns
        -------
        ndarray of shape (n_samples,)
            The diagonal ``k(x, x)``; ones when ``normalize`` is True.
        """
        options = self._config()
        try:
            A = self._paths(X, "X")
            if not self.normalize:
                return diagonal_kernels(A, **options)
            self._diagonal(A, options, "X")  # checked > 0
            return np.ones(A.shape[0], A.dtype)
        except FloatingPointError:
            raise self._overflow() from None


def pad_paths(paths, length=None):
    """Stack paths of different lengths as rows of a 2-D array, padding exactly.

    Each path ``(length_i, n_channels)`` is extended to ``length`` points with copies of
    its last point and flattened to one row of ``length * n_channels`` values, the input
    form of :class:`SignatureKernel` and of scikit-learn's GPs. Repeated last points add
    only zero increments, so every signature kernel without time augmentation is
    unchanged. (With ``time_aug`` the time channel would spread over the padded length:
    add the time channel to each path first, e.g. with :func:`sksig.transform_path`, and
    use ``time_aug=False``.)

    Parameters
    ----------
    paths : list of array-like of shape (length_i, n_channels), or array-like of shape \
(n_paths, length, n_channels)
        The paths, with a common number of channels and at least one point each.
    length : int or None, default=None
        Points per padded path; None means the longest path's length.

    Returns
    -------
    ndarray of shape (n_paths, length * n_channels)
        In the paths' dtype (float64 for integer input).

    Raises
    ------
    ValueError
        If the paths disagree in channels, have no points, or ``length`` is shorter
        than the longest path.
    TypeError
        For non-numeric paths.

    Examples
    --------
    >>> import numpy as np
    >>> from sksig.gaussian_process import pad_paths
    >>> pad_paths([np.array([[0.0], [1.0]]), np.array([[0.0], [2.0], [3.0]])])
    array([[0., 1., 1.],
           [0., 2., 3.]])
    """
    batch = as_path_batch(paths, "paths")
    data = batch.data
    if len(batch.batch_shape) != 1:
        raise ValueError(
            "paths must be a list of 2-D paths or a 3-D array (n_paths, length, "
            f"n_channels), got batch shape {batch.batch_shape}"
        )
    n, longest, channels = data.shape
    if length is not None:
        length = check_int(length, "length", minimum=1)
        if length < longest:
            raise ValueError(
                f"length={length} is shorter than the longest path ({longest} points)"
            )
        if length > longest:
            tail = np.repeat(data[:, -1:], length - longest, axis=1)
            data = np.concatenate([data, tail], axis=1)
    return np.ascontiguousarray(data.reshape(n, -1))
