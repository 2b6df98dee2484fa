"""``PathScaler``: per-channel centring and scaling of paths, learnt in ``fit``."""

import numpy as np
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils.validation import check_is_fitted

from sksig._array import _is_torch
from sksig._estimator_input import (
    PATH_CONSTRAINTS,
    PathEstimatorMixin,
    check_paths,
    estimator_doc,
)
from sksig._validation import StrOptions

__all__ = ["PathScaler"]


@estimator_doc
class PathScaler(PathEstimatorMixin, OneToOneFeatureMixin, TransformerMixin,
                 BaseEstimator):
    """Centre and scale every channel of paths, with statistics of the training paths.

    Signature kernels and signatures grow exponentially with the size of the path
    increments, so paths in raw units (sensor readings, prices) make them overflow or
    lose all contrast. This transformer brings every channel to unit size:
    ``transform(X) = (X - center_) / scale_`` point by point, where the statistics are
    learnt in :meth:`fit` over every point (or increment) of every training path.
    scikit-learn's scalers reject 3-D and ragged input; this one takes the path
    encodings of the sksig estimators and returns the same encoding, so it goes first
    in ``make_pipeline(PathScaler(), SigKernel(), SVC(kernel="precomputed"))``.

    Parameters
    ----------
    method : {"std", "increment_rms", "maxabs", "minmax"}, default="std"
        What ``scale_`` measures per channel: the standard deviation of the points;
        the root-mean-square of the increments between consecutive points (the size
        that signature methods actually see); the largest absolute value after
        centring; or half the range, mapping the training values into ``[-1, 1]``
        (``"minmax"`` centres on the middle of the range).
    with_centering : bool, default=True
        Subtract ``center_`` (the mean of the points; the middle of the range for
        ``"minmax"``). Signatures and signature kernels without a ``basepoint`` do not
        depend on a constant shift, but radial static kernels and basepoints do.
    common_scale : bool, default=False
        Use one factor for all channels (the root-mean-square of the per-channel
        factors; their maximum for ``"maxabs"`` and ``"minmax"``), which keeps the
        ratios between channels, e.g. for the coordinates of one physical vector.
    {n_channels}

    Attributes
    ----------
    center_ : ndarray of shape (n_channels,)
        Subtracted from every point (zeros without centring).
    scale_ : ndarray of shape (n_channels,)
        Divides every centred point. Channels without variation get 1.
    {input_attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from sksig import PathScaler
    >>> X = np.array([[[0.0, 10.0], [2.0, 30.0]], [[4.0, 50.0], [6.0, 70.0]]])
    >>> scaler = PathScaler().fit(X)
    >>> scaler.center_, scaler.scale_
    (array([ 3., 40.]), array([ 2.23606798, 22.36067977]))
    >>> np.allclose(scaler.inverse_transform(scaler.transform(X)), X)
    True
    """

    _parameter_constraints: dict = {
        "method": [StrOptions({"std", "increment_rms", "maxabs", "minmax"})],
        "with_centering": ["boolean"],
        "common_scale": ["boolean"],
        "n_channels": PATH_CONSTRAINTS["n_channels"],
    }

    def __init__(self, *, method="std", with_centering=True, common_scale=False,
                 n_channels=None):
        self._store_params(locals())

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn ``center_`` and ``scale_`` from the training paths.

        {fit}
        """
        paths = check_paths(self, X, reset=True)
        points, increments = _points_and_increments(paths)
        if self.method == "minmax":
            low, high = points.min(axis=0), points.max(axis=0)
            center = (low + high) / 2
            scale = (high - low) / 2
        else:
            center = points.mean(axis=0)
            centred = points - center if self.with_centering else points
            if self.method == "std":
                scale = centred.std(axis=0)
            elif self.method == "maxabs":
                scale = np.abs(centred).max(axis=0)
            elif increments.shape[0]:  # increment_rms
                scale = np.sqrt(np.mean(increments**2, axis=0))
            else:  # one-point paths have no increments
                scale = np.ones(points.shape[1])
        if self.common_scale:
            pooled = (scale.max() if self.method in ("maxabs", "minmax")
                      else np.sqrt(np.mean(scale**2)))
            scale = np.full_like(scale, pooled)
        self.center_ = center if self.with_centering else np.zeros_like(center)
        # A channel without variation is left unscaled (as scikit-learn's scalers).
        self.scale_ = np.where(scale > 10 * np.finfo(np.float64).eps * np.maximum(
            1.0, np.abs(center)), scale, 1.0)
        return self

    def transform(self, X):
        """Centre and scale paths: ``(X - center_) / scale_`` at every point.

        Parameters
        ----------
        X : array-like, torch.Tensor or list of 2-D arrays
            Paths with the fitted number of channels (any lengths for 3-D or ragged
            input).

        Returns
        -------
        ndarray, torch.Tensor or list
            The same encoding, kind and dtype as ``X`` (a DataFrame gives an array;
            torch tensors keep their device and autograd graph).
        """
        check_is_fitted(self)
        return self._apply(X, lambda x, c, s: (x - c) / s)

    def inverse_transform(self, X):
        """Undo :meth:`transform`: ``X * scale_ + center_`` at every point.

        Parameters
        ----------
        X : array-like, torch.Tensor or list of 2-D arrays
            Scaled paths.

        Returns
        -------
        ndarray, torch.Tensor or list
            The same encoding, kind and dtype as ``X``.
        """
        check_is_fitted(self)
        return self._apply(X, lambda x, c, s: x * s + c)

    def _apply(self, X, fn):
        paths = check_paths(self, X, reset=False)
        if paths.encoding == "ragged":
            return [fn(p, *self._stats(p, 1)) for p in X]
        if _is_torch(X):
            return fn(X, *self._stats(X, X.shape[-1] // self.n_channels_in_
                                      if paths.encoding == "2d" else 1))
        data = paths.data
        out = fn(data, *self._stats(data, 1))
        return out.reshape(out.shape[0], -1) if paths.encoding == "2d" else out

    def _stats(self, like, repeat):
        """``center_`` and ``scale_`` in the kind, dtype and device of ``like``, tiled
        ``repeat`` times (2-D rows hold the points one after the other)."""
        center, scale = np.tile(self.center_, repeat), np.tile(self.scale_, repeat)
        if _is_torch(like):
            import torch

            return (torch.as_tensor(center, dtype=like.dtype, device=like.device),
                    torch.as_tensor(scale, dtype=like.dtype, device=like.device))
        dtype = np.asarray(like).dtype
        if dtype not in (np.float32, np.float64):
            dtype = np.float64
        return center.astype(dtype), scale.astype(dtype)


def _points_and_increments(paths):
    """All points (n_points, n_channels) and increments of the paths, in float64
    (ragged paths without their padding)."""
    data = np.asarray(paths.data, dtype=np.float64)
    lengths = paths.batch.raw_lengths or [data.shape[1]] * data.shape[0]
    points = [data[i, :n] for i, n in enumerate(lengths)]
    increments = [np.diff(p, axis=0) for p in points]
    dim = data.shape[2]
    return (np.concatenate(points).reshape(-1, dim),
            np.concatenate(increments).reshape(-1, dim))
