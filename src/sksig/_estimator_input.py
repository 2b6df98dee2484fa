"""Input handling shared by the sksig estimators.

Every estimator accepts four encodings of a batch of paths:

* a 3-D array ``(n_samples, length, n_channels)``;
* a 2-D array ``(n_samples, length * n_channels)``, each row holding the points one
  after the other (``row[t * n_channels:(t + 1) * n_channels]`` is point ``t``). This is
  the encoding of scikit-learn's common checks, of ``SVC(kernel=callable)`` and of
  pandas DataFrames; ``n_channels=None`` means 1 (univariate paths);
* a ragged list of 2-D arrays ``(length_i, n_channels)`` of different lengths, packed
  exactly by the input layer (last-point padding after the path transforms);
* torch tensors (CPU or CUDA) in either array encoding, or in a ragged list.

Estimators compute with numpy: ``transform`` returns numpy arrays as scikit-learn does,
while gradient methods give results back in the encoding, kind and dtype of the input
they differentiate (:meth:`EstimatorPaths.to_input`).

Fitting records ``n_channels_in_`` (channels per point) for every encoding, and, for
2-D input only, scikit-learn's ``n_features_in_`` (and ``feature_names_in_`` for a
DataFrame). Later calls must agree with them.
"""

import inspect
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from scipy.sparse import issparse
from sklearn.utils import check_array
from sklearn.utils.validation import validate_data

from sksig._array import _is_ragged_list, _is_torch, as_path_batch
from sksig._docs import fill_doc
from sksig._validation import Interval, check_end_time, resolve_n_jobs

__all__ = ["DOCS", "PATH_CONSTRAINTS", "EstimatorPaths", "PathEstimatorMixin",
           "channel_names", "check_pair", "check_paths", "encoding_tags",
           "estimator_doc", "estimator_paths", "store_params"]

# Constraints of the parameters every path estimator shares (sklearn's
# ``_parameter_constraints`` format): ``{"degree": [...], **PATH_CONSTRAINTS}``.
PATH_CONSTRAINTS = {
    "time_aug": ["boolean"],
    "lead_lag": ["boolean"],
    "end_time": [Real],
    "basepoint": [None, "boolean", "array-like"],
    "n_channels": [None, Interval(Integral, 1, None, closed="left")],
    "n_jobs": [None, Integral],
}

# Docstring fragments of the estimators (``{name}`` lines, see :func:`estimator_doc`).
DOCS = {
    "path_transforms": """
        time_aug : bool, default=False
            Append a time channel to every path (from 0 to ``end_time``).
        lead_lag : bool, default=False
            Apply the lead-lag transform.
        end_time : float, default=1.0
            Final value of the time channel.""",
    "basepoint": """
        basepoint : None, True or array-like of shape (n_channels,), default=None
            A point prepended to every path before the transforms (True: the origin),
            so that the result depends on where the paths start, not only on their
            increments.""",
    "n_channels": """
        n_channels : int or None, default=None
            Channels per point of 2-D input ``(n_samples, length * n_channels)``; None
            means 1. For 3-D and ragged input it is read from the data (if given, it
            must match).""",
    "estimator_n_jobs": """
        n_jobs : int or None, default=None
            CPU threads; None means 1 and -1 all cores. Results do not depend on it.""",
    "input_attributes": """
        n_channels_in_ : int
            Channels per point seen in ``fit``.
        n_features_in_ : int
            Columns of 2-D input seen in ``fit`` (absent for 3-D or ragged input).
        feature_names_in_ : ndarray of str
            Column names of a DataFrame seen in ``fit``.""",
    "fit": """
        Parameters
        ----------
        X : array-like of shape (n_samples, length, n_channels) or (n_samples, \
length * n_channels), torch.Tensor, or list of 2-D arrays
            Training paths; a list may hold paths of different lengths.
        y : None
            Ignored.

        Returns
        -------
        object
            The fitted estimator (``self``).""",
    "transform": """
        Parameters
        ----------
        X : array-like, torch.Tensor or list of 2-D arrays
            Paths with the fitted number of channels.

        Returns
        -------
        ndarray of shape (n_samples, n_features_out)
            In the dtype of ``X``; columns named by :meth:`get_feature_names_out`.""",
    "dask_transform": """
        Parameters
        ----------
        X : array-like, torch.Tensor, list of 2-D arrays or dask.array
            Paths with the fitted number of channels (any lengths for 3-D or ragged
            input; the fitted number of columns for 2-D input). A dask array must be
            chunked along samples only.""",
    "feature_names": """
        input_features : array-like of str or None, default=None
            Channel names (one per channel), or the input column names of 2-D input
            (the first ``n_channels_in_`` name the channels). None uses the
            DataFrame columns seen in ``fit``, if any, else channel numbers.

        Returns
        -------
        ndarray of str of shape (n_features_out,)
            One name per output column.""",
}

# The options of the feature transformers, in their order.
DOCS["feature_options"] = "\n".join(
    DOCS[name].strip("\n") for name in ("path_transforms", "basepoint", "n_channels",
                                        "estimator_n_jobs"))


def estimator_doc(cls=None, /, **fragments):
    """Fill the ``{name}`` lines of a class's docstring and of its methods' from
    :data:`DOCS` (and ``fragments``, a module's own); ``@estimator_doc`` on a class."""
    def apply(cls):
        fill = fill_doc(**{**DOCS, **fragments})
        fill(cls)
        for member in vars(cls).values():
            if inspect.isfunction(member):
                fill(member)
        return cls

    return apply if cls is None else apply(cls)


def store_params(estimator, arguments):
    """Store the arguments of ``__init__`` (its ``locals()``) as attributes of the same
    names, and nothing else: scikit-learn's rule for ``__init__``."""
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


@dataclass
class EstimatorPaths:
    """A validated batch of paths, transformed and padded for the functional API.

    Attributes
    ----------
    batch : PathBatch
        ``batch.data`` of shape ``(n_samples, length', dim')`` holds the transformed,
        padded paths (pass them on with the transform flags off).
    encoding : {"2d", "3d", "ragged"}
        How the caller passed the paths.
    n_channels : int
        Channels per point of the untransformed paths.
    """

    batch: object
    encoding: str
    n_channels: int
    torch_device: object = None  # the caller's torch device, None for numpy input

    @property
    def data(self):
        return self.batch.data

    @property
    def n_samples(self):
        return self.batch.data.shape[0]

    @property
    def dim(self):
        """Channels of the transformed paths."""
        return self.batch.data.shape[2]

    def to_input(self, grad):
        """Pull a gradient on ``data`` back to the caller's paths, in their encoding.

        Padding and the path transforms are undone by the input layer; a 2-D input gets
        its gradient flattened the same way, a ragged list gets a list.
        """
        grad = self.batch.grad_to_input(np.asarray(grad, dtype=self.data.dtype))
        if self.encoding == "2d":
            grad = grad.reshape(grad.shape[0], -1)
        if self.torch_device is None:
            return grad
        import torch

        if self.encoding == "ragged":
            return [torch.from_numpy(g).to(self.torch_device) for g in grad]
        return torch.from_numpy(grad).to(self.torch_device)


def _to_numpy(x):
    """Return ``(x as numpy if it is a torch tensor, its device or None)``."""
    if _is_torch(x):
        return x.detach().cpu().resolve_conj().resolve_neg().numpy(), x.device
    return x, None


def check_paths(estimator, X, *, reset, time_aug=False, lead_lag=False, end_time=1.0,
                n_threads=1, name="X", basepoint=None, scale=1.0):
    """Validate ``X`` for ``estimator`` and pack it (see the module docstring).

    Parameters
    ----------
    estimator : BaseEstimator
        Has an ``n_channels`` parameter; receives ``n_channels_in_`` (and, for 2-D
        input, ``n_features_in_``) when ``reset`` is True, and is checked against them
        otherwise.
    X : array-like, torch.Tensor or list of 2-D arrays
        The paths.
    reset : bool or None
        True in ``fit`` (record the input format); False in ``transform`` (check
        against it); None for stateless uses such as ``__call__`` (neither).
    time_aug, lead_lag, end_time : path transform options.
    n_threads : int
        Threads for the transforms.
    name : str
        Argument name for messages (``"X"`` or ``"Y"``).
    basepoint, scale :
        A point prepended to every path and a factor on the raw values, applied
        before the transforms (see :func:`sksig._array.as_path_batch`).

    Returns
    -------
    EstimatorPaths
    """
    n_channels = estimator.n_channels
    if _is_ragged_list(X):
        encoding = "ragged"
        converted = [_to_numpy(p) for p in X]
        paths = [p for p, _ in converted]
        devices = {device for _, device in converted}
        if len(devices) != 1:
            raise TypeError(
                f"the paths in {name} mix numpy arrays and torch tensors or devices"
            )
        device = devices.pop()
        channels = {np.shape(p)[1] for p in paths}
    else:
        X, device = _to_numpy(X)
        # DataFrames (feature names) and sparse matrices (rejected with sklearn's
        # message) go to validate_data as they are.
        if not (hasattr(X, "iloc") or issparse(X) or isinstance(X, np.ndarray)):
            X = np.asarray(X)
        ndim = 2 if hasattr(X, "iloc") or issparse(X) else X.ndim
        if ndim == 3:
            encoding = "3d"
            paths = X
            channels = {X.shape[2]}
            if X.shape[0] == 0:
                raise ValueError(
                    f"Found array with 0 sample(s) (shape={X.shape}) while a minimum "
                    f"of 1 is required by {type(estimator).__name__}."
                )
        else:
            encoding = "2d"
            if reset or (reset is False and hasattr(estimator, "n_features_in_")):
                X = validate_data(estimator, X, reset=reset,
                                  dtype=[np.float64, np.float32])
            else:  # stateless, or fitted on 3-D or ragged paths: any length
                X = check_array(X, dtype=[np.float64, np.float32], input_name=name)
            c = 1 if n_channels is None else n_channels
            if X.shape[1] % c:
                raise ValueError(
                    f"{name} has {X.shape[1]} features per sample, which is not a "
                    f"multiple of n_channels={c}; 2-D input holds paths as rows of "
                    "length * n_channels values"
                )
            paths = X.reshape(X.shape[0], X.shape[1] // c, c)
            channels = {c}
    if len(channels) != 1:
        raise ValueError(
            f"all paths in {name} must have the same number of channels, got "
            f"{sorted(channels)}"
        )
    channels = channels.pop()
    if encoding != "2d" and n_channels is not None and channels != n_channels:
        raise ValueError(
            f"{name} has {channels} channels per point but n_channels={n_channels}; "
            "leave n_channels=None for 3-D or ragged input"
        )
    if reset is None:
        pass
    elif reset:
        estimator.n_channels_in_ = channels
        if encoding != "2d":
            for attribute in ("n_features_in_", "feature_names_in_"):
                if hasattr(estimator, attribute):
                    delattr(estimator, attribute)
    elif channels != estimator.n_channels_in_:
        raise ValueError(
            f"{name} has {channels} channels per point, but "
            f"{type(estimator).__name__} was fitted with {estimator.n_channels_in_}"
        )
    batch = as_path_batch(paths, name, time_aug=time_aug, lead_lag=lead_lag,
                          end_time=end_time, n_threads=n_threads, basepoint=basepoint,
                          scale=scale)
    return EstimatorPaths(batch, encoding, channels, device)


class PathEstimatorMixin:
    """What the path estimators share: ``_paths`` (:func:`estimator_paths`), the
    storing of ``__init__``'s arguments (:func:`store_params`) and the tags of the
    path encodings (:func:`encoding_tags`). Put it first among the bases."""

    def _paths(self, X, reset, name="X", *, transforms=True):
        return estimator_paths(self, X, reset=reset, name=name, transforms=transforms)

    def _store_params(self, arguments):
        store_params(self, arguments)

    def __sklearn_tags__(self):
        return encoding_tags(super().__sklearn_tags__())


def estimator_paths(estimator, X, *, reset, name="X", transforms=True):
    """:func:`check_paths` with the estimator's own path options: ``time_aug``,
    ``lead_lag``, ``end_time``, ``basepoint``, ``scale`` (1 if it has none) and
    ``n_jobs``; ``transforms=False`` packs the raw points (no basepoint, scale or
    transform)."""
    return check_paths(
        estimator, X, reset=reset, time_aug=estimator.time_aug if transforms else False,
        lead_lag=estimator.lead_lag if transforms else False,
        end_time=check_end_time(estimator.end_time),
        n_threads=resolve_n_jobs(estimator.n_jobs), name=name,
        basepoint=estimator.basepoint if transforms else None,
        scale=getattr(estimator, "scale", 1.0) if transforms else 1.0,
    )


def channel_names(estimator, input_features, dimension):
    """Names of the ``dimension`` channels of the transformed paths, for feature names.

    Without names (``input_features`` None and no DataFrame seen in ``fit``) the
    channels are numbered from 0. Names come from ``input_features`` of length
    ``n_channels_in_`` (one per channel), or of length ``n_features_in_`` (2-D
    columns, the first ``n_channels_in_`` of which belong to point 0), or from the
    DataFrame columns seen in ``fit``; lead-lag turns a name ``x`` into ``x_lag`` and
    ``x_lead``, and time augmentation adds ``time``.
    """
    n = estimator.n_channels_in_
    if input_features is None:
        input_features = getattr(estimator, "feature_names_in_", None)
        if input_features is None:
            return [str(i) for i in range(dimension)]
    names = [str(f) for f in input_features]
    if len(names) != n:
        n_features = getattr(estimator, "n_features_in_", None)
        if len(names) != n_features:
            raise ValueError(
                f"input_features must name the {n} channels"
                + (f" (or the {n_features} input columns)" if n_features else "")
                + f", got {len(names)} names"
            )
        known = getattr(estimator, "feature_names_in_", None)
        if known is not None and list(known) != names:
            raise ValueError("input_features is not equal to feature_names_in_")
        names = names[:n]
    if getattr(estimator, "lead_lag", False):
        names = [f"{c}_lag" for c in names] + [f"{c}_lead" for c in names]
    if getattr(estimator, "time_aug", False):
        names.append("time")
    return names


def encoding_tags(tags):
    """Tags shared by the estimators: 3-D and ragged input, float32 kept, no NaN."""
    tags.input_tags.three_d_array = True
    tags.input_tags.allow_nan = False
    tags.transformer_tags.preserves_dtype = ["float64", "float32"]
    return tags


def check_pair(A, B):
    """Transformed paths X and Y of one Gram: same channels, same dtype."""
    if A.shape[2] != B.shape[2]:
        raise ValueError(
            f"X and Y must have the same number of channels after the path transforms, "
            f"got {A.shape[2]} and {B.shape[2]}"
        )
    if A.dtype != B.dtype:
        raise TypeError(
            f"X and Y must have the same dtype, got {A.dtype} and {B.dtype}"
        )
