"""Static kernels: kernels on points that signature kernels build on.

Each kernel is a small scikit-learn estimator (``get_params``/``set_params``, ``clone``,
``repr``), so a signature-kernel estimator holding one can be tuned with
``GridSearchCV(..., {"static_kernel__sigma": [...]})``. As scikit-learn requires,
``__init__`` only stores the parameters; they are validated by ``fit`` and at every
use (``ValueError``/``TypeError`` naming the parameter).

The formulas and their gradients are evaluated in C++ (``static_kernels.hpp``); the
signature kernel sees only the *increment Gram*
``Delta[p, q] = k(x[p+1], y[q+1]) - k(x[p], y[q+1]) - k(x[p+1], y[q]) + k(x[p], y[q])``,
available here as :meth:`StaticKernel.increment_gram` with its vector-Jacobian product.
"""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import validate_data

from sksig._array import as_array, check_same_batch
from sksig._core.native import KERNEL_KINDS, StaticKernelParams
from sksig._docs import fill_doc
from sksig._validation import resolve_n_jobs

__all__ = [
    "LinearKernel",
    "Matern12Kernel",
    "Matern32Kernel",
    "Matern52Kernel",
    "PolynomialKernel",
    "RBFKernel",
    "RationalQuadraticKernel",
    "ScaledLinearKernel",
    "StaticKernel",
]

# Finite real parameters (sklearn's Interval excludes NaN, and inf with finite ends).
_POSITIVE = Interval(Real, 0, np.inf, closed="neither")
_NONNEGATIVE = Interval(Real, 0, np.inf, closed="left")
_FINITE = Interval(Real, -np.inf, np.inf, closed="neither")

# Codes of the C++ enum sksig::KernelKind (include/sksig/static_kernels.hpp), exported
# by the compiled module (sksig/_core/native.pyx).
_LINEAR, _SCALED_LINEAR, _RBF, _POLYNOMIAL = (
    KERNEL_KINDS[k] for k in ("linear", "scaled_linear", "rbf", "polynomial"))
_MATERN12, _MATERN32, _MATERN52, _RATIONAL_QUADRATIC = (
    KERNEL_KINDS[k] for k in ("matern12", "matern32", "matern52", "rational_quadratic"))


# The Parameters of grad_x and grad_y, with the Returns header (sksig._docs.fill_doc).
_GRAD_PARAMETERS = """
    Parameters
    ----------
    ctx : Context
        The context filled by :meth:`__call__`.
    derivs : ndarray or torch.Tensor of shape (batch, length_1 - 1, length_2 - 1)
        Cotangent of the increment Gram.

    Returns
    -------"""


class StaticKernel(BaseEstimator):
    """Base class of the static kernels: use a subclass, or write one in Python.

    A static kernel ``k(a, b)`` compares two points. Signature kernels use it through
    :meth:`increment_gram`, the second differences of ``k`` over consecutive points
    of two paths; every subclass also knows the gradient of ``k`` in both arguments,
    which the signature-kernel backprops chain through.

    A user-defined kernel subclasses this class and implements pySigLib's contract:
    ``__call__(ctx, x, y)`` returns the increment Gram of paired batches of points
    ``x`` (batch, L1, d) and ``y`` (batch, L2, d), shape (batch, L1-1, L2-1), and
    ``grad_x(ctx, derivs)`` / ``grad_y(ctx, derivs)`` the gradients of
    ``sum(derivs * increment_gram)`` with respect to ``x`` and ``y``; ``ctx`` is a
    :class:`sksig.Context` on which ``__call__`` saves what the gradients need. The
    arrays are numpy arrays, or torch CPU tensors when the caller passed torch
    tensors. :func:`sksig.sig_kernel`, :func:`sksig.sig_kernel_gram` and their
    backprops accept such a kernel on CPU arrays (the Goursat PDE is still solved
    natively, but the increment Gram costs a Python call per block of pairs, and
    ``normalize``, ``return_log``, ``return_grid`` and ``k_grid`` are not available);
    the other kernel functions and the GPU take the built-in kernels only. The
    built-in kernels implement the same three methods, natively.

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0], [1.0]]); y = np.array([[0.0], [2.0]])
    >>> isinstance(sksig.RBFKernel(1.0), sksig.StaticKernel)
    True
    >>> sksig.LinearKernel().increment_gram(x, y)  # <x1 - x0, y1 - y0>
    array([[2.]])
    """

    # Subclasses list their parameters here (scikit-learn's validation): __init__
    # only stores them, they are checked by ``fit`` and at every use (``set_params``
    # may change them after construction).
    _parameter_constraints: dict = {}

    def fit(self, X=None, y=None):
        """Check the parameters (a static kernel learns nothing from data).

        Static kernels work unfitted; ``fit`` exists so that they follow
        scikit-learn's contract: parameters are validated here and at every use,
        not at construction.

        Parameters
        ----------
        X : array-like of shape (n_points, n_channels), default=None
            Points; if given, checked to be finite real numbers (and
            ``n_features_in_`` set).
        y : None
            Ignored.

        Returns
        -------
        StaticKernel
            The kernel itself.

        Raises
        ------
        ValueError, TypeError
            If a parameter is invalid (the message names it), or ``X`` is not a
            finite 2-D array.

        Examples
        --------
        >>> import sksig
        >>> sksig.RBFKernel(sigma=2.0).fit().sigma
        2.0
        """
        if type(self)._native is not StaticKernel._native:  # built-in kernels
            self._native()
        if X is not None:
            validate_data(self, X, reset=True)
        return self

    def _params(self):
        """The parameters, validated, as floats."""
        self._validate_params()
        for name in self._parameter_constraints:
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)):  # a Real to Python, not to us
                raise TypeError(
                    f"The {name!r} parameter of {type(self).__name__} must be a real "
                    f"number, got {value!r}"
                )
        return {name: float(getattr(self, name))
                for name in self._parameter_constraints}

    def _native(self):
        """Validated parameters as the native cores read them (StaticKernelParams)."""
        raise NotImplementedError

    def _check_user_methods(self):
        """Raise TypeError unless a user-defined kernel has its three methods."""
        check_custom(self)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags

    def __call__(self, ctx, x, y):
        """Return the increment Gram of paired paths (pySigLib's kernel contract).

        Saves on ``ctx`` what :meth:`grad_x` and :meth:`grad_y` need.

        Parameters
        ----------
        ctx : Context
            Storage for :meth:`grad_x` and :meth:`grad_y`.
        x : ndarray or torch.Tensor of shape (batch, length_1, dim)
            First paths.
        y : ndarray or torch.Tensor of shape (batch, length_2, dim)
            Second paths.

        Returns
        -------
        ndarray or torch.Tensor of shape (batch, length_1 - 1, length_2 - 1)
            As :meth:`increment_gram`.
        """
        if type(self)._native is StaticKernel._native:
            raise NotImplementedError(
                f"{type(self).__name__} must implement __call__(ctx, x, y)")
        ctx.save_for_backward(x, y)
        return self.increment_gram(x, y)

    @fill_doc(grad_parameters=_GRAD_PARAMETERS)
    def grad_x(self, ctx, derivs):
        """Return the gradient of ``sum(derivs * increment_gram)`` with respect to x.

        {grad_parameters}
        ndarray or torch.Tensor of shape (batch, length_1, dim)
            The gradient with respect to the first paths ``x``.
        """
        return self._grad(ctx, derivs, 0)

    @fill_doc(grad_parameters=_GRAD_PARAMETERS)
    def grad_y(self, ctx, derivs):
        """Return the gradient of ``sum(derivs * increment_gram)`` with respect to y.

        {grad_parameters}
        ndarray or torch.Tensor of shape (batch, length_2, dim)
            The gradient with respect to ``y``.
        """
        return self._grad(ctx, derivs, 1)

    def _grad(self, ctx, derivs, side):
        """grad_x (side 0) or grad_y (side 1) of a built-in kernel."""
        if type(self)._native is StaticKernel._native:
            raise NotImplementedError(f"{type(self).__name__} must implement "
                                      f"grad_{'xy'[side]}(ctx, derivs)")
        x, y = ctx.saved_tensors
        return self.increment_gram_backprop(derivs, x, y)[side]

    def increment_gram(self, path1, path2, *, n_jobs=1):
        """Return the increment Gram ``Delta`` of paired paths.

        Parameters
        ----------
        path1 : array-like of shape (..., length_1, dim)
            First paths.
        path2 : array-like of shape (..., length_2, dim)
            Second paths, same batch shape and dimension as ``path1``.
        n_jobs : int, default=1
            CPU threads; None means 1, -1 all cores.

        Returns
        -------
        ndarray or torch.Tensor of shape (..., length_1 - 1, length_2 - 1)
            ``Delta[..., p, q] = k(x[p+1], y[q+1]) - k(x[p], y[q+1]) - k(x[p+1], y[q])
            + k(x[p], y[q])``.

        Raises
        ------
        ValueError
            On mismatched batch shapes or dimensions, NaN/inf, or invalid parameters.

        Examples
        --------
        >>> import numpy as np, sksig
        >>> x = np.array([[0.0, 0.0], [1.0, 0.0]])
        >>> y = np.array([[0.0, 0.0], [2.0, 1.0]])
        >>> sksig.LinearKernel().increment_gram(x, y)
        array([[2.]])
        """
        from sksig import _user_kernels
        from sksig._core import _sig_kernel

        if is_custom(self):
            return _user_kernels.increment_gram(self, path1, path2)
        x, y, caller, batch = self._pair(path1, path2)
        out = np.empty((x.shape[0], x.shape[1] - 1, y.shape[1] - 1), caller.dtype)
        _sig_kernel.delta(x, y, out, self._native(), resolve_n_jobs(n_jobs))
        return caller.out(out.reshape(batch + out.shape[1:]))

    def increment_gram_backprop(self, derivs, path1, path2, *, n_jobs=1):
        """Return the gradients of ``sum(derivs * increment_gram(path1, path2))``.

        Parameters
        ----------
        derivs : array-like of shape (..., length_1 - 1, length_2 - 1)
            Cotangent of the increment Gram.
        path1, path2 : array-like
            As in :meth:`increment_gram`.
        n_jobs : int, default=1
            CPU threads.

        Returns
        -------
        grad_path1 : ndarray or torch.Tensor
            Gradient with respect to ``path1``, shaped like it.
        grad_path2 : ndarray or torch.Tensor
            Gradient with respect to ``path2``, shaped like it.

        Raises
        ------
        ValueError
            If ``derivs`` does not have the increment Gram's shape.

        Examples
        --------
        >>> import numpy as np, sksig
        >>> x = np.array([[0.0], [1.0]]); y = np.array([[0.0], [2.0]])
        >>> gx, gy = sksig.LinearKernel().increment_gram_backprop(np.ones((1, 1)), x, y)
        >>> gx.ravel(), gy.ravel()
        (array([-2.,  2.]), array([-1.,  1.]))
        """
        from sksig import _user_kernels
        from sksig._core import _sig_kernel

        if is_custom(self):
            return _user_kernels.increment_gram_backprop(self, derivs, path1, path2)
        x, y, caller, batch = self._pair(path1, path2)
        g, _ = as_array(derivs, "derivs", caller=caller)
        want = batch + (x.shape[1] - 1, y.shape[1] - 1)
        if g.shape != want:
            raise ValueError(f"derivs must have shape {want}, got {g.shape}")
        g = g.reshape((x.shape[0],) + want[-2:])
        gx, gy = np.empty_like(x), np.empty_like(y)
        _sig_kernel.delta_backward(g, x, y, gx, gy, self._native(),
                                   resolve_n_jobs(n_jobs))
        return (caller.out(gx.reshape(batch + gx.shape[1:])),
                caller.out(gy.reshape(batch + gy.shape[1:])))

    def _pair(self, path1, path2):
        x, caller = as_array(path1, "path1", min_ndim=2)
        y, _ = as_array(path2, "path2", caller=caller, min_ndim=2)
        check_same_batch(x.shape[:-2], y.shape[:-2], "path1", "path2")
        if x.shape[-1] != y.shape[-1] or x.shape[-1] < 1:
            raise ValueError(
                f"path1 and path2 must have the same dimension >= 1, got shapes "
                f"{x.shape} and {y.shape}"
            )
        if x.shape[-2] < 1 or y.shape[-2] < 1:
            raise ValueError("path1 and path2 must have at least one point")
        batch = x.shape[:-2]
        return (x.reshape((-1,) + x.shape[-2:]), y.reshape((-1,) + y.shape[-2:]),
                caller, batch)


class LinearKernel(StaticKernel):
    """Linear kernel ``k(a, b) = <a, b>``; the default of every signature kernel.

    Examples
    --------
    >>> import sksig
    >>> sksig.LinearKernel()
    LinearKernel()
    """

    def _native(self):
        return StaticKernelParams(_LINEAR)


class ScaledLinearKernel(StaticKernel):
    """Scaled linear kernel ``k(a, b) = scale**2 <a, b>``.

    Parameters
    ----------
    scale : float, default=1.0
        Non-negative scale (it multiplies the paths, so the kernel gets its square).

    Raises
    ------
    ValueError
        If ``scale`` is negative or not finite; checked by :meth:`fit` and at
        every use, not at construction.

    Examples
    --------
    >>> import sksig
    >>> sksig.ScaledLinearKernel(scale=0.5)
    ScaledLinearKernel(scale=0.5)
    """

    _parameter_constraints: dict = {"scale": [_NONNEGATIVE]}

    def __init__(self, scale=1.0):
        self.scale = scale

    def _native(self):
        return StaticKernelParams(_SCALED_LINEAR, self._params()["scale"])


# The docstring fragments of the kernels of one length scale (sksig._docs.fill_doc).
_SIGMA_RAISES = """
    Raises
    ------
    ValueError
        If ``sigma`` is not positive and finite; checked by :meth:`fit` and at
        every use, not at construction."""
_MATERN = dict(sigma_raises=_SIGMA_RAISES, matern="""
    Parameters
    ----------
    sigma : float, default=1.0
        Positive length scale.
""" + _SIGMA_RAISES + """

    Examples
    --------
    >>> import sksig""")


class _SigmaKernel(StaticKernel):
    """A kernel of one length (or bandwidth) parameter ``sigma``; a subclass names its
    native kind, ``class Matern12Kernel(_SigmaKernel, kind=_MATERN12)``."""

    _kind = None
    _parameter_constraints: dict = {"sigma": [_POSITIVE]}

    def __init_subclass__(cls, kind=None, **kwargs):
        super().__init_subclass__(**kwargs)
        if kind is not None:
            cls._kind = kind

    def __init__(self, sigma=1.0):
        self.sigma = sigma

    def _native(self):
        return StaticKernelParams(self._kind, self._params()["sigma"])


@fill_doc(sigma_raises=_SIGMA_RAISES)
class RBFKernel(_SigmaKernel, kind=_RBF):
    """Gaussian (RBF) kernel ``k(a, b) = exp(-|a - b|**2 / sigma)``.

    Note the parametrisation, which follows pySigLib: ``sigma`` divides the squared
    distance directly (no square, no factor 2). scikit-learn's
    ``RBF(length_scale=l)`` is ``exp(-|a - b|**2 / (2 l**2))``, i.e. ``sigma = 2 l**2``.

    Parameters
    ----------
    sigma : float, default=1.0
        Positive bandwidth.

    {sigma_raises}

    Examples
    --------
    >>> import sksig
    >>> sksig.RBFKernel(sigma=2.0)
    RBFKernel(sigma=2.0)
    """

    def _native(self):
        return StaticKernelParams(_RBF, self._params()["sigma"])


class PolynomialKernel(StaticKernel):
    """Polynomial kernel ``k(a, b) = scale * (<a, b> + gamma)**degree``.

    For ``degree`` 0 or an integer from 1 to 5 the base is used as is. For every other
    degree (non-integers, and integers of 6 or more, as in pySigLib) the base is
    clamped at zero, ``max(<a, b> + gamma, 0)``, so that fractional powers are defined;
    note that this makes an even degree 6 kernel vanish where the base is negative.
    The first signature-kernel call of a process in which the clamp takes effect warns
    (``RuntimeWarning``, as pySigLib does). ``degree=0`` gives a constant kernel, hence
    a signature kernel of 1.

    Parameters
    ----------
    degree : float, default=3.0
        Non-negative degree.
    gamma : float, default=1.0
        Offset added to the inner product.
    scale : float, default=1.0
        Non-negative factor.

    Raises
    ------
    ValueError
        If ``degree`` or ``scale`` is negative, or a parameter is not finite;
        checked by :meth:`fit` and at every use, not at construction.

    Examples
    --------
    >>> import sksig
    >>> sksig.PolynomialKernel(degree=2)
    PolynomialKernel(degree=2)
    """

    _parameter_constraints: dict = {
        "degree": [_NONNEGATIVE], "gamma": [_FINITE], "scale": [_NONNEGATIVE],
    }

    def __init__(self, degree=3.0, gamma=1.0, scale=1.0):
        self.degree = degree
        self.gamma = gamma
        self.scale = scale

    def _native(self):
        p = self._params()
        degree, gamma, scale = p["degree"], p["gamma"], p["scale"]
        clamp = not (degree == 0 or (degree.is_integer() and 1 <= degree <= 5))
        return StaticKernelParams(_POLYNOMIAL, degree, gamma, scale, clamp)


@fill_doc(**_MATERN)
class Matern12Kernel(_SigmaKernel, kind=_MATERN12):
    """Matérn-1/2 (exponential) kernel ``k(a, b) = exp(-|a - b| / sigma)``.

    {matern}
    >>> sksig.Matern12Kernel(sigma=2.0)
    Matern12Kernel(sigma=2.0)
    """


@fill_doc(**_MATERN)
class Matern32Kernel(_SigmaKernel, kind=_MATERN32):
    """Matérn-3/2 kernel ``k(a, b) = (1 + u) exp(-u)``, ``u = sqrt(3) |a - b| / sigma``.

    {matern}
    >>> sksig.SigKernel(static_kernel=sksig.Matern32Kernel(sigma=0.5))
    SigKernel(static_kernel=Matern32Kernel(sigma=0.5))
    """


@fill_doc(**_MATERN)
class Matern52Kernel(_SigmaKernel, kind=_MATERN52):
    """Matérn-5/2 kernel ``k(a, b) = (1 + u + u**2 / 3) exp(-u)``.

    Here ``u = sqrt(5) |a - b| / sigma``.

    {matern}
    >>> sksig.Matern52Kernel().get_params()  # the default length scale
    {'sigma': 1.0}
    """


class RationalQuadraticKernel(StaticKernel):
    """Rational quadratic kernel ``k(a, b) = (1 + r**2 / (2 alpha sigma**2))**-alpha``.

    Here ``r = |a - b|``.

    This matches scikit-learn's ``RationalQuadratic(length_scale=sigma, alpha=alpha)``.

    Parameters
    ----------
    sigma : float, default=1.0
        Positive length scale.
    alpha : float, default=1.0
        Positive scale-mixture parameter.

    Raises
    ------
    ValueError
        If ``sigma`` or ``alpha`` is not positive and finite; checked by
        :meth:`fit` and at every use, not at construction.

    Examples
    --------
    >>> import sksig
    >>> sksig.RationalQuadraticKernel(sigma=2.0, alpha=2.0)
    RationalQuadraticKernel(alpha=2.0, sigma=2.0)
    """

    _parameter_constraints: dict = {"sigma": [_POSITIVE], "alpha": [_POSITIVE]}

    def __init__(self, sigma=1.0, alpha=1.0):
        self.sigma = sigma
        self.alpha = alpha

    def _native(self):
        p = self._params()
        return StaticKernelParams(_RATIONAL_QUADRATIC, p["sigma"], p["alpha"])


def as_static_kernel(static_kernel):
    """The StaticKernelParams of ``static_kernel`` (None means linear)."""
    if static_kernel is None:
        return LinearKernel()._native()
    if is_custom(static_kernel):
        raise ValueError(
            f"static_kernel {type(static_kernel).__name__} is a user-defined kernel: "
            "it is accepted by sig_kernel, sig_kernel_gram, sig_kernel_backprop and "
            "sig_kernel_gram_backprop on CPU arrays only; use a built-in kernel here"
        )
    if (not isinstance(static_kernel, StaticKernel)
            or type(static_kernel) is StaticKernel):
        raise ValueError(
            "static_kernel must be None or a static kernel such as "
            "sksig.LinearKernel() or sksig.RBFKernel(sigma=1.0), got "
            f"{type(static_kernel).__name__}"
        )
    return static_kernel._native()


def is_custom(static_kernel):
    """Whether ``static_kernel`` is a user-defined (Python) static kernel."""
    return (isinstance(static_kernel, StaticKernel)
            and type(static_kernel) is not StaticKernel
            and type(static_kernel)._native is StaticKernel._native)


def check_custom(kernel):
    """Raise TypeError unless the user kernel implements the three methods."""
    cls = type(kernel)
    missing = [m for m in ("__call__", "grad_x", "grad_y")
               if getattr(cls, m) is getattr(StaticKernel, m)]
    if missing:
        raise TypeError(
            f"static_kernel {cls.__name__} is a user-defined StaticKernel but does not "
            f"implement {', '.join(missing)}: a Python static kernel defines "
            "__call__(ctx, x, y) (the increment Gram), grad_x(ctx, derivs) and "
            "grad_y(ctx, derivs)"
        )
