"""``LogSigJoin``: Lyndon-basis log-signatures as a transformer, joins, streams."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from sksig._array import _is_ragged_list
from sksig._estimator_input import (
    PATH_CONSTRAINTS,
    PathEstimatorMixin,
    channel_names,
    estimator_doc,
)
from sksig._log_sig import log_sig, log_sig_join, log_sig_join_backprop
from sksig._lyndon import check_tensor_size, lyndon_words
from sksig._validation import Interval

__all__ = ["LogSigJoin"]

# log_sig's Lyndon bracket basis: the coordinates log_sig_join works in.
_BRACKET_METHOD = 2


def is_lyndon(word):
    """True if ``word`` is strictly smaller than each of its proper rotations."""
    word = tuple(word)
    rotations = (word[i:] + word[:i] for i in range(1, len(word)))
    return len(word) > 0 and all(word < rotation for rotation in rotations)


def bracket_name(word, letter_name=str):
    """Standard bracketing of a Lyndon word as text: ``(0, 0, 1)`` -> ``[0,[0,1]]``.

    The word splits as ``u v`` with ``v`` its longest proper Lyndon suffix;
    ``letter_name`` writes one letter.
    """
    word = tuple(word)
    if len(word) == 1:
        return letter_name(word[0])
    split = next(i for i in range(1, len(word)) if is_lyndon(word[i:]))
    return (f"[{bracket_name(word[:split], letter_name)},"
            f"{bracket_name(word[split:], letter_name)}]")


@estimator_doc
class LogSigJoin(PathEstimatorMixin, TransformerMixin, BaseEstimator):
    """Log-signatures in the Lyndon bracket basis, with joins and online updates.

    ``transform(X)`` returns the truncated log-signature of every path in the Lyndon
    bracket basis (``sksig.log_sig(..., method=2)``): feature ``w`` is the coefficient
    of the standard bracketing ``P_w`` of the Lyndon word ``w``. :meth:`join` extends
    log-signatures by a straight segment without the path (truncated
    Baker-Campbell-Hausdorff product), :meth:`join_backprop` differentiates the join,
    and :meth:`partial_transform` keeps the log-signatures of growing streams up to
    date as new points arrive.

    Parameters
    ----------
    degree : int, default=2
        Truncation level (longest Lyndon word).
    {feature_options}

    Attributes
    ----------
    dimension_ : int
        Channels of the paths after the transforms (the log-signature's alphabet).
    lyndon_words_ : list of tuple of int
        The Lyndon words indexing the features, in output order.
    {input_attributes}
    stream_log_sig_ : ndarray of shape (n_streams, n_features_out)
        Log-signatures of the streams fed to :meth:`partial_transform` so far.
    stream_last_point_ : ndarray of shape (n_streams, ``n_channels_in_``)
        Last point of every stream.

    Examples
    --------
    >>> import numpy as np
    >>> from sksig import LogSigJoin
    >>> X = np.array([[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]])
    >>> est = LogSigJoin(degree=3).fit(X)
    >>> est.transform(X).round(4)
    array([[1.    , 1.    , 0.5   , 0.0833, 0.0833]])
    >>> list(est.get_feature_names_out())
    ['0', '1', '[0,1]', '[0,[0,1]]', '[[0,1],1]']
    """

    _parameter_constraints: dict = {
        "degree": [Interval(Integral, 1, None, closed="left")], **PATH_CONSTRAINTS,
    }

    def __init__(self, *, degree=2, time_aug=False, lead_lag=False, end_time=1.0,
                 basepoint=None, n_channels=None, n_jobs=None):
        self._store_params(locals())

    def _log_sig(self, data):
        return np.asarray(log_sig(data, self.degree, method=_BRACKET_METHOD,
                                  n_jobs=self.n_jobs))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Record the input format and the Lyndon basis.

        {fit}
        """
        paths = self._paths(X, reset=True)
        self.dimension_ = paths.dim
        check_tensor_size(paths.dim, self.degree)  # names degree, not max_length
        self.lyndon_words_ = [tuple(w) for w in lyndon_words(paths.dim, self.degree)]
        return self

    def transform(self, X):
        """Compute the log-signatures of the paths in the Lyndon bracket basis.

        Columns are ordered as :attr:`lyndon_words_`.

        {transform}
        """
        check_is_fitted(self)
        return self._log_sig(self._paths(X, reset=False).data)

    def join(self, log_sig, displacement):
        """Extend log-signatures by one straight segment each.

        Parameters
        ----------
        log_sig : array-like or torch.Tensor of shape (..., n_features_out)
            Log-signatures in this estimator's basis (``transform`` output).
        displacement : array-like or torch.Tensor of shape (..., ``dimension_``)
            The segments' increments, in the channels of the *transformed* paths
            (a time channel, if any, is the last one).

        Returns
        -------
        ndarray or torch.Tensor of shape (..., n_features_out)
            ``log(exp(log_sig) * exp(displacement))`` truncated at ``degree``: the
            log-signature of the path extended by the segment.
        """
        check_is_fitted(self)
        return log_sig_join(log_sig, displacement, self.dimension_, self.degree,
                            n_jobs=self.n_jobs)

    def join_backprop(self, grad_output, log_sig, displacement):
        """Differentiate ``sum(grad_output * self.join(log_sig, displacement))``.

        Parameters
        ----------
        grad_output : array-like or torch.Tensor of shape (..., n_features_out)
            Gradient of a scalar loss with respect to the join's output.
        log_sig, displacement : array-like or torch.Tensor
            The join's inputs, as in :meth:`join`.

        Returns
        -------
        grad_log_sig : ndarray or torch.Tensor of shape (..., n_features_out)
            Gradient with respect to ``log_sig``.
        grad_displacement : ndarray or torch.Tensor of shape (..., ``dimension_``)
            Gradient with respect to ``displacement``.
        """
        check_is_fitted(self)
        return log_sig_join_backprop(grad_output, log_sig, displacement,
                                     self.dimension_, self.degree, n_jobs=self.n_jobs)

    def partial_transform(self, X):
        """Append points to streams and return their updated log-signatures.

        The first call (after ``fit`` or :meth:`reset_streams`) starts one stream per
        path of ``X``; every later call appends the points of ``X[i]`` to stream ``i``
        with :meth:`join` (one segment per point, two with lead-lag) and returns the
        log-signatures of the whole streams, equal to ``transform`` of the
        concatenated paths.

        Parameters
        ----------
        X : array-like, torch.Tensor or list of 2-D arrays
            New points of every stream. A ragged list lets the streams grow by
            different amounts, including none (after the first call, which needs at
            least one point per stream).

        Returns
        -------
        ndarray of shape (n_streams, n_features_out)
            The log-signatures of the streams so far (:attr:`stream_log_sig_`).

        Raises
        ------
        ValueError
            With ``time_aug=True`` (the time channel depends on a stream's final
            length, so it cannot be extended point by point: add time as a channel
            of ``X`` instead), or if the number of streams changes.
        """
        check_is_fitted(self)
        if self.time_aug:
            raise ValueError(
                "partial_transform cannot extend time-augmented streams: the time "
                "channel depends on the final length. Use time_aug=False and pass "
                "time as a channel of X."
            )
        started = hasattr(self, "stream_log_sig_")
        streams = None  # stream of each path of X, when some chunks are empty
        if started and _is_ragged_list(X):
            lengths = [len(chunk) for chunk in X]
            streams = np.flatnonzero(lengths)
            if streams.size == 0:
                return self.stream_log_sig_.copy()
            if streams.size < len(X):
                X = [X[i] for i in streams]
        paths = self._paths(X, reset=None, transforms=False)
        if paths.n_channels != self.n_channels_in_:
            raise ValueError(
                f"X has {paths.n_channels} channels per point, but LogSigJoin was "
                f"fitted with {self.n_channels_in_}"
            )
        points = paths.data  # raw points, ragged lists padded with last points
        if not started:
            self.stream_log_sig_ = self._log_sig(
                self._paths(X, reset=None).data
            )
            self.stream_last_point_ = points[:, -1].copy()
            return self.stream_log_sig_.copy()
        n_streams = self.stream_log_sig_.shape[0]
        n_given = points.shape[0] if streams is None else len(lengths)
        if n_given != n_streams:
            raise ValueError(
                f"X continues {n_given} streams but {n_streams} were started; "
                "call reset_streams() to start new ones"
            )
        if streams is None:
            streams = np.arange(n_streams)
        lengths = paths.batch.raw_lengths
        if lengths is None:
            lengths = [points.shape[1]] * points.shape[0]
        lengths = np.asarray(lengths)
        state = self.stream_log_sig_.astype(points.dtype)
        last = self.stream_last_point_.astype(points.dtype)
        for step in range(points.shape[1]):
            moving = np.flatnonzero(lengths > step)
            rows = streams[moving]
            new = points[moving, step]
            increment = new - last[rows]
            if self.lead_lag:  # lag block first: the lead moves, then the lag
                zero = np.zeros_like(increment)
                segments = [np.concatenate([zero, increment], axis=1),
                            np.concatenate([increment, zero], axis=1)]
            else:
                segments = [increment]
            for segment in segments:
                state[rows] = self.join(state[rows], segment)
            last[rows] = new
        self.stream_log_sig_, self.stream_last_point_ = state, last
        return state.copy()

    def reset_streams(self):
        """Forget the streams of :meth:`partial_transform`.

        Returns
        -------
        LogSigJoin
            The estimator (``self``), without streams.
        """
        for attribute in ("stream_log_sig_", "stream_last_point_"):
            if hasattr(self, attribute):
                delattr(self, attribute)
        return self

    def get_feature_names_out(self, input_features=None):
        """Return the names of the features: Lyndon brackets, e.g. ``[0,[0,1]]``.

        Letters are the channels of the transformed paths (with lead-lag, the lag
        channels come first; a time channel comes last): numbered from 0, or named
        after the channels, e.g. ``[x,[x,y]]`` (and ``x_lag``, ``x_lead``, ``time``).

        Parameters
        ----------
        {feature_names}
        """
        check_is_fitted(self)
        letters = channel_names(self, input_features, self.dimension_)
        return np.asarray([bracket_name(w, letters.__getitem__)
                           for w in self.lyndon_words_], dtype=object)
