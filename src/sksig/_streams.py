"""Streams: signatures and log-signatures of growing paths and of sliding windows.

Two generic bases (:class:`_CumulativeStream`, :class:`_WindowStream`) hold all the
bookkeeping; a concrete stream only supplies its algebra through the hooks of
:class:`_Algebra`, so that other algebras (e.g. branched signatures) are thin
subclasses of the same bases.
"""

import numpy as np

from sksig._array import as_array
from sksig._core import _backend as _cpu
from sksig._docs import fill_doc, joined
from sksig._log_sig import log_sig_join, log_sig_length, sig_length
from sksig._lyndon import check_tensor_size, lyndon_tables
from sksig._sig_algebra import (
    log_sig_combine,
    sig_combine,
    sig_join,
    sig_to_log_sig,
)
from sksig._validation import check_bool, check_int, resolve_n_jobs

__all__ = ["LogSigStream", "LogSigWindowStream", "SigStream", "SigWindowStream"]


# Docstring fragments of the streams here and in sksig._branched_streams.
_DOCS = {
    "points": """
        dimension : int
            Dimension of the points, >= 1.""",
    "points_level": """
        dimension : int
            Dimension of the points, >= 1.
        degree : int
            Truncation level, >= 1.""",
    "window": """
        window_size : int
            Points per window, >= 1.
        stride : int, default=1
            Points between the starts of consecutive windows, >= 1.""",
    "stream_n_jobs": """
        n_jobs : int, default=1
            CPU threads of the native calls; None means 1, -1 all cores.""",
    "cumulative_attributes": """
        Attributes
        ----------
        size : int
            Number of points held.
        start_index, end_index : int
            Absolute indices of the oldest and newest points held.
        batch_shape : tuple or None
            The batch shape fixed by the first push.""",
    "window_attributes": """
        Attributes
        ----------
        num_windows : int
            Number of complete windows so far.
        batch_shape : tuple or None
            The batch shape fixed by the first push.""",
    "returns_in_place": """
        Returns
        -------
        None
            The stream is updated in place.""",
    "raises_empty": """
        Raises
        ------
        ValueError
            If the stream holds no point.""",
}
_DOCS["n_jobs_attributes"] = "\n\n".join(
    [joined("stream_n_jobs", **_DOCS), joined("cumulative_attributes", **_DOCS)])
_DOCS["window_n_jobs_attributes"] = "\n\n".join(
    [joined("stream_n_jobs", **_DOCS), joined("window_attributes", **_DOCS)])


class _Algebra:
    """The algebra a stream runs in.

    Elements are rows of ``width`` floats, batched as numpy arrays of shape
    ``(..., width)``: the (log-)signatures of pieces of the path. A subclass sets
    ``dim`` (the points' dimension), ``n_threads`` and ``width``, and defines the hooks

    ``identity(shape, dtype)``
        The element of a piece of one point, of shape ``shape + (width,)``.
    ``join(elem, increment, prepend=False)``
        The element of the piece extended by one straight segment of increment
        ``increment`` (shape ``(..., dim)``) at its end, or at its start with
        ``prepend``.
    ``combine(a, b)``
        The element of piece ``a`` followed by piece ``b`` (Chen or BCH product).
    ``invert(elem)``
        The element of the piece run backwards (the group inverse).
    ``output(elem)``
        What the user reads (e.g. with the scalar term, or the logarithm).

    ``expanding(points)`` (the elements of every prefix of a run of points: shape
    ``(k, ..., dim)`` to ``(k, ..., width)``, the first the identity) and
    ``suffixes(points)`` (of every suffix, the last the identity) default to repeated
    joins; an algebra with a native pass overrides them. ``suffix_table(points)`` is
    what the window stream indexes (``table[i]`` for an integer array ``i``); by
    default the array of ``suffixes``.
    """

    dim = 0
    n_threads = 1
    width = 0

    def identity(self, shape, dtype):
        return np.zeros(tuple(shape) + (self.width,), dtype)

    def join(self, elem, increment, prepend=False):
        raise NotImplementedError

    def combine(self, a, b):
        raise NotImplementedError

    def invert(self, elem):
        raise NotImplementedError

    def output(self, elem):
        return elem

    def expanding(self, points):
        out = np.empty(points.shape[:-1] + (self.width,), points.dtype)
        out[0] = self.identity(points.shape[1:-1], points.dtype)
        for t in range(1, len(points)):
            out[t] = self.join(out[t - 1], points[t] - points[t - 1])
        return out

    def suffix_table(self, points):
        return self.suffixes(points)

    def suffixes(self, points):
        out = np.empty(points.shape[:-1] + (self.width,), points.dtype)
        out[-1] = self.identity(points.shape[1:-1], points.dtype)
        for t in range(len(points) - 2, -1, -1):
            out[t] = self.join(out[t + 1], points[t + 1] - points[t], prepend=True)
        return out


def _word_reversal(dim, degree):
    """rev[i]: the flat index (levels 1..degree, no scalar term) of word i reversed."""
    parts, start = [], 0
    for k in range(1, degree + 1):
        idx = np.arange(dim**k).reshape((dim,) * k)
        parts.append(start + idx.transpose(tuple(range(k - 1, -1, -1))).ravel())
        start += dim**k
    return np.concatenate(parts)


class SigAlgebra(_Algebra):
    """Truncated signatures, stored without their scalar term."""

    def __init__(self, dimension, degree, scalar_term, n_jobs):
        self.dim = check_int(dimension, "dimension", minimum=1)
        self.degree = check_int(degree, "degree", minimum=1)
        self.scalar_term = check_bool(scalar_term, "scalar_term")
        self.n_threads = resolve_n_jobs(n_jobs)
        check_tensor_size(self.dim, self.degree)
        self.width = sig_length(self.dim, self.degree)
        self.rev = _word_reversal(self.dim, self.degree)
        # (-1)^k on level k: the antipode of a signature is its inverse.
        self.sign = np.concatenate([np.full(self.dim**k, (-1.0)**k)
                                    for k in range(1, self.degree + 1)])

    def join(self, elem, increment, prepend=False):
        return sig_join(elem, increment, self.dim, self.degree, prepend=prepend,
                        scalar_term=False, n_jobs=self.n_threads)

    def combine(self, a, b):
        return sig_combine(a, b, self.dim, self.degree, scalar_term=False,
                           n_jobs=self.n_threads)

    def invert(self, elem):
        # S^-1 = sum_w (-1)^|w| <S, reversed w> w, exact for signatures.
        return elem[..., self.rev] * self.sign.astype(elem.dtype)

    def output(self, elem):
        if not self.scalar_term:
            return elem
        return np.concatenate([np.ones(elem.shape[:-1] + (1,), elem.dtype), elem], -1)

    def expanding(self, points):
        """One native pass over each path of the run."""
        k = points.shape[0]
        batch = points.shape[1:-1]
        paths = np.ascontiguousarray(np.moveaxis(points, 0, -2))
        paths = paths.reshape(-1, k, self.dim)
        out = np.empty(paths.shape[:2] + (self.width,), points.dtype)
        _cpu.sig_expanding(paths, out, self.degree, False, self.n_threads)
        return np.moveaxis(out.reshape(batch + (k, self.width)), -2, 0)

    def suffixes(self, points):
        # sig(x[t:]) = rev(sig(y[:k-t])) for y = -x run backwards: reversing words
        # maps the signature of a path to that of its negated reversal.
        return self.expanding(-points[::-1])[::-1][..., self.rev]

    def suffix_table(self, points):
        # The word reversal applied only to the rows read.
        return _Reversed(self.expanding(-points[::-1])[::-1], self.rev)


class _Reversed:
    """rows[i][..., rev], computed for the rows indexed only."""

    def __init__(self, rows, rev):
        self.rows, self.rev = rows, rev

    def __getitem__(self, i):
        return self.rows[i][..., self.rev]


class LogSigAlgebra(_Algebra):
    """Log-signatures in Lyndon-bracket coordinates."""

    def __init__(self, dimension, degree, n_jobs):
        self.dim = check_int(dimension, "dimension", minimum=1)
        self.degree = check_int(degree, "degree", minimum=1)
        self.n_threads = resolve_n_jobs(n_jobs)
        check_tensor_size(self.dim, self.degree)
        lyndon_tables(self.dim, self.degree)
        self.width = log_sig_length(self.dim, self.degree)
        self._sigs = SigAlgebra(dimension, degree, False, n_jobs)

    def join(self, elem, increment, prepend=False):
        if prepend:
            seg = np.zeros(increment.shape[:-1] + (self.width,), elem.dtype)
            seg[..., :self.dim] = increment  # the letters come first
            return self.combine(seg, elem)
        return log_sig_join(elem, increment, self.dim, self.degree,
                            n_jobs=self.n_threads)

    def combine(self, a, b):
        return log_sig_combine(a, b, self.dim, self.degree, n_jobs=self.n_threads)

    def invert(self, elem):
        return -elem  # exp(L)^-1 = exp(-L)

    def expanding(self, points):
        return self.log(self._sigs.expanding(points))

    def suffixes(self, points):
        return self.log(self._sigs.suffixes(points))

    def log(self, sigs):
        return sig_to_log_sig(sigs, self.dim, self.degree, method=2, scalar_term=False,
                              n_jobs=self.n_threads)


class _Points:
    """Points pushed to a stream: validation, kind of the first push, batch shape."""

    def __init__(self, dim):
        self.dim = dim
        self.caller = None
        self.batch_shape = None

    def take(self, value, name, single):
        """A point (``single``) or a run of points as an array (k, *batch, dim)."""
        array, caller = as_array(value, name, caller=self.caller,
                                 min_ndim=1 if single else 2)
        if array.shape[-1] != self.dim:
            raise ValueError(f"{name} must have trailing length dimension={self.dim}, "
                             f"got shape {array.shape}")
        batch = array.shape[:-1] if single else array.shape[:-2]
        if self.batch_shape is not None and batch != self.batch_shape:
            raise ValueError(f"{name} has batch shape {batch}, but this stream's batch "
                             f"shape is {self.batch_shape} (fixed by the first push)")
        self.caller, self.batch_shape = caller, batch
        return array[None] if single else np.moveaxis(array, -2, 0)

    def out(self, array):
        array = np.ascontiguousarray(array)
        return array if self.caller is None else self.caller.out(array)


class _Rows:
    """A growable stack of rows (amortised O(1) append)."""

    def __init__(self):
        self.data, self.n = None, 0

    def extend(self, rows):
        if self.data is None:
            self.data = np.empty((max(16, 2 * len(rows)),) + rows.shape[1:], rows.dtype)
        elif self.n + len(rows) > len(self.data):
            grown = np.empty((max(2 * len(self.data), self.n + len(rows)),)
                             + rows.shape[1:], rows.dtype)
            grown[:self.n] = self.data[:self.n]
            self.data = grown
        self.data[self.n:self.n + len(rows)] = rows
        self.n += len(rows)

    def view(self):
        return self.data[:self.n] if self.data is not None else None


class _Stream:
    """What every stream shares: points pushed one at a time or in runs (validated by
    ``self._points``), handed to the subclass's ``_extend``."""

    @fill_doc(**_DOCS)
    def push(self, point):
        """Append one point (one per tracked path).

        A window stream computes the windows the point completes.

        Parameters
        ----------
        point : array-like or torch.Tensor of shape (..., dimension)
            The leading axes are the batch shape, fixed by the first push.

        {returns_in_place}
        """
        self._extend(self._points.take(point, "point", True))

    @fill_doc(**_DOCS)
    def push_batch(self, points):
        """Append a run of points (one run per tracked path).

        A window stream computes the windows the points complete.

        Parameters
        ----------
        points : array-like or torch.Tensor of shape (..., n_points, dimension)
            The leading axes are the batch shape, fixed by the first push.

        {returns_in_place}
        """
        self._extend(self._points.take(points, "points", False))

    @property
    def batch_shape(self):
        """The batch shape fixed by the first push (None before it)."""
        return self._points.batch_shape


class _CumulativeStream(_Stream):
    """A growing path: the element ``E(t0, t)`` from the first point to every point.

    A push extends the last element by the new segments (one join for a point, one
    expanding pass and one batched product for a run); the element of points
    ``a..b`` is ``invert(E(t0, a)) E(t0, b)``: O(1) per point and per query.
    Subclasses set ``self._alg`` (an :class:`_Algebra`) in ``__init__``.
    """

    def _start(self, algebra):
        self._alg = algebra
        self._points = _Points(algebra.dim)
        self._prefix = _Rows()
        self._last = None
        self._first = 0  # absolute index of the oldest point held
        self._offset = 0  # rows dropped by pop_front

    def _extend(self, pts):
        alg = self._alg
        if self._last is None:
            self._prefix.extend(alg.identity(pts.shape[1:-1], pts.dtype)[None])
            self._last, pts = pts[0], pts[1:]
        if not len(pts):
            return
        last = self._prefix.view()[-1]
        if len(pts) == 1:
            new = alg.join(last, pts[0] - self._last)[None]
        else:
            run = np.concatenate([self._last[None], pts], 0)
            new = alg.expanding(run)[1:]
            if self._prefix.n > 1:  # else last is the identity
                new = alg.combine(np.broadcast_to(last, new.shape), new)
        self._prefix.extend(new)
        self._last = pts[-1]

    @fill_doc(**_DOCS)
    def pop_front(self):
        """Forget the oldest point (the others keep their absolute indices).

        {returns_in_place}

        {raises_empty}
        """
        if not self.size:
            raise ValueError("pop_front on an empty stream")
        self._offset += 1
        self._first += 1

    @property
    def size(self):
        """Number of points held."""
        return self._prefix.n - self._offset

    @property
    def start_index(self):
        """Absolute index of the oldest point held."""
        return self._first

    @property
    def end_index(self):
        """Absolute index of the newest point held (``start_index - 1`` if none)."""
        return self._first + self.size - 1


    def _rows(self, intervals):
        a, b = [], []
        for start, end in intervals:
            start, end = check_int(start, "start"), check_int(end, "end")
            if not self.start_index <= start <= end <= self.end_index:
                raise ValueError(
                    f"interval ({start}, {end}) is not within the points held "
                    f"[{self.start_index}, {self.end_index}] with start <= end")
            a.append(start - self._first + self._offset)
            b.append(end - self._first + self._offset)
        return self._alg.output(self._interval_elements(a, b))

    def _interval_elements(self, a, b):
        """The elements of the intervals from prefix rows ``a`` to rows ``b``."""
        rows = self._prefix.view()
        return self._alg.combine(self._alg.invert(rows[a]), rows[b])

    def sig(self, start, end):
        """The (log-)signature of the points ``start..end`` (absolute, inclusive).

        Parameters
        ----------
        start, end : int
            Absolute indices, ``start_index <= start <= end <= end_index``.

        Returns
        -------
        ndarray or torch.Tensor of shape (..., length)
            Of the kind of the pushed points.

        Raises
        ------
        ValueError
            If the interval is not within the points held.
        """
        return self._points.out(self._rows([(start, end)])[0])

    def sig_batch(self, intervals):
        """The (log-)signatures of several intervals, stacked.

        Parameters
        ----------
        intervals : list of (int, int)
            ``(start, end)`` pairs as for :meth:`sig`.

        Returns
        -------
        ndarray or torch.Tensor of shape (len(intervals), ..., length)
            Of the kind of the pushed points.

        Raises
        ------
        ValueError
            If an interval is not within the points held, or there is none.
        """
        intervals = list(intervals)
        if not intervals:
            raise ValueError("intervals is empty")
        return self._points.out(self._rows(intervals))

    @fill_doc(**_DOCS)
    def sig_all(self):
        """The (log-)signatures from the oldest point held to every point held.

        Returns
        -------
        ndarray or torch.Tensor of shape (size, ..., length)
            Of the kind of the pushed points.

        {raises_empty}
        """
        if not self.size:
            raise ValueError("the stream holds no point")
        return self.sig_batch([(self.start_index, t)
                               for t in range(self.start_index, self.end_index + 1)])


_ACCURACY = """
    Accuracy: the prefix elements grow with the path (level k like ``|x|^k / k!``)
    while the element of a short interval far into the stream is small, so a query
    loses about ``eps * |E(0, end)|`` to cancellation. For long streams and short
    intervals use the window streams, which never form long prefixes."""


@fill_doc(**_DOCS)
class SigStream(_CumulativeStream):
    """Signatures of a growing path, with O(1) queries over any interval.

    Keeps the signature ``S(0, t)`` of every prefix; the signature of the points
    ``a..b`` is ``S(0, a)^-1 (x) S(0, b)`` (Chen's identity), the inverse of a
    signature being exact and cheap (words reversed, signs ``(-1)^k`` on level k).
    A pushed point costs one segment step, a pushed run one native pass and one
    batched product, a query one product. Every pushed point gets its own index
    (pySigLib 4.0.0's ``push_batch`` indexes only the last point of a run).
    Accuracy: the prefixes grow with the path (level k like ``|x|^k / k!``) while the
    signature of a short interval far into the stream stays small, so a query loses
    about ``eps * |S(0, end)|`` to cancellation; for long, wandering streams and short
    intervals prefer :class:`SigWindowStream`, which never forms long prefixes.
    Computed on the CPU; torch tensors are accepted and results given back as such.

    Parameters
    ----------
    {points_level}
    scalar_term : bool, default=False
        Put the constant 1 first in every result.
    {n_jobs_attributes}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    >>> stream = sksig.SigStream(2, 2)
    >>> stream.push_batch(x[:3])
    >>> stream.push(x[3])
    >>> np.allclose(stream.sig(1, 3), sksig.sig(x[1:], 2))
    True
    """

    def __init__(self, dimension, degree, *, scalar_term=False, n_jobs=1):
        self._start(SigAlgebra(dimension, degree, scalar_term, n_jobs))


@fill_doc(**_DOCS)
class LogSigStream(_CumulativeStream):
    """Log-signatures of a growing path, with O(1) queries over any interval.

    Keeps the log-signature ``L(0, t)`` of every prefix in Lyndon-bracket coordinates
    (as :func:`sksig.log_sig` with ``method=2``); the log-signature of the points
    ``a..b`` is the BCH product of ``-L(0, a)`` (the log-signature of the inverse) and
    ``L(0, b)``. Accuracy as for :class:`SigStream`. Computed on the CPU.

    Parameters
    ----------
    {points_level}
    method : {2, 3}, default=2
        Output coordinates; both are the Lyndon-bracket basis (pySigLib's 3 differs
        from 2 only in how it computes them).
    {n_jobs_attributes}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0, 0], [1, 0], [1, 1], [0, 2]], dtype=float)
    >>> stream = sksig.LogSigStream(2, 3)
    >>> stream.push_batch(x)
    >>> np.allclose(stream.sig(1, 3), sksig.log_sig(x[1:], 3, method=2))
    True
    """

    def __init__(self, dimension, degree, *, method=2, n_jobs=1):
        _check_bracket_method(method)
        self._start(LogSigAlgebra(dimension, degree, n_jobs))


def _check_bracket_method(method):
    method = check_int(method, "method")
    if method not in (2, 3):
        raise ValueError(f"method must be 2 or 3 (Lyndon-bracket coordinates), got "
                         f"{method}")
    return method


class _WindowStream(_Stream):
    """Windows of ``window_size`` points every ``stride`` points, each window's element
    computed from its own segments only (no inverse, no cancellation).

    The segments are cut into blocks of ``m = window_size - 1``; a window starting at
    point ``a`` of block ``b`` is the suffix of block ``b`` from ``a`` followed by the
    prefix of block ``b + 1`` of the same length (van Herk / Gil-Werman): the prefixes
    of the growing block are extended as points arrive (one expanding pass per push),
    the suffixes of a block computed once when it completes, and each window costs one
    product. Amortised O(1) per point, as accurate as a signature computed from scratch
    over the window. Subclasses set ``self._alg`` through ``_start``.
    """

    def _start(self, algebra, window_size, stride):
        self._alg = algebra
        self._points = _Points(algebra.dim)
        self._w = check_int(window_size, "window_size", minimum=1)
        self._stride = check_int(stride, "stride", minimum=1)
        self._m = self._w - 1
        self._windows = _Rows()
        self._next = 0  # start of the next window (absolute point index)
        self._seen = 0  # points received
        self._block = None  # points of the current block (first = block start)
        self._block_start = 0
        self._prefix = None  # elements of the current block's prefixes
        self._suffix = None  # elements of the previous block's suffixes

    @property
    def num_windows(self):
        """Number of complete windows so far."""
        return self._windows.n


    def sig(self):
        """The (log-)signatures of all complete windows, oldest first.

        Returns
        -------
        ndarray or torch.Tensor of shape (num_windows, ..., length)
            Of the kind of the pushed points; no row before the first window is
            complete.
        """
        rows = self._windows.view()
        if rows is None:
            alg = self._alg
            batch = self._points.batch_shape or ()
            rows = alg.output(alg.identity((0,) + batch, np.float64))
        return self._points.out(rows)

    def _extend(self, pts):
        alg = self._alg
        if not len(pts):
            return
        if self._m == 0:  # windows of one point: the identity
            starts = np.arange(self._seen, self._seen + len(pts))
            count = int(np.count_nonzero(starts % self._stride == 0))
            self._seen += len(pts)
            if count:
                self._windows.extend(alg.output(
                    alg.identity((count,) + pts.shape[1:-1], pts.dtype)))
            return
        if self._block is None:
            self._block, self._prefix = _Rows(), _Rows()
            self._block.extend(pts[:1])
            self._prefix.extend(alg.identity((1,) + pts.shape[1:-1], pts.dtype))
            self._seen, pts = 1, pts[1:]
        while len(pts):
            take = pts[:self._m + 1 - self._block.n]
            pts = pts[len(take):]
            block, prefix = self._block.view(), self._prefix.view()
            if len(take) == 1:
                new = alg.join(prefix[-1], take[0] - block[-1])[None]
            else:
                new = alg.expanding(np.concatenate([block[-1:], take], 0))[1:]
                if len(prefix) > 1:  # else prefix[-1] is the identity
                    new = alg.combine(np.broadcast_to(prefix[-1], new.shape), new)
            self._prefix.extend(new)
            self._block.extend(take)
            self._seen += len(take)
            self._emit()
            if self._block.n == self._m + 1:  # complete: its suffixes, a new block
                block = self._block.view()
                self._suffix = alg.suffix_table(block)  # m + 1 rows, last the identity
                self._block_start += self._m
                self._block, self._prefix = _Rows(), _Rows()
                self._block.extend(block[-1:])
                self._prefix.extend(alg.identity((1,) + block.shape[1:-1], block.dtype))
                self._emit()

    def _emit(self):
        """Windows ending in the current block's known prefix: suffix (x) prefix."""
        if self._suffix is None:
            return
        prefix = self._prefix.view()
        end = self._block_start + len(prefix) - 1  # newest point covered
        last_start = end - self._m
        if self._next > last_start:
            return
        starts = np.arange(self._next, last_start + 1, self._stride)
        self._next = int(starts[-1]) + self._stride
        i = starts - (self._block_start - self._m)  # offset in the previous block
        alg = self._alg
        self._windows.extend(alg.output(alg.combine(self._suffix[i], prefix[i])))


@fill_doc(**_DOCS)
class SigWindowStream(_WindowStream):
    """Signatures of sliding windows over a stream of points.

    A window of ``window_size`` points starts every ``stride`` points; its signature
    is computed as soon as its last point arrives. Each window is the product of a
    suffix and a prefix of fixed blocks of ``window_size - 1`` segments, both
    computed incrementally: amortised O(1) per point whatever the window size, and
    no subtraction of large prefixes (so as accurate on a stream of millions of points
    as :func:`sksig.sig` of the window itself). Computed on the CPU; torch tensors
    are accepted and results given back as such.

    Parameters
    ----------
    {points_level}
    {window}
    scalar_term : bool, default=False
        Put the constant 1 first in every window's signature.
    {window_n_jobs_attributes}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.random.default_rng(0).normal(size=(10, 2))
    >>> ws = sksig.SigWindowStream(2, 3, window_size=4, stride=3)
    >>> ws.push_batch(x)
    >>> ws.sig().shape
    (3, 14)
    >>> np.allclose(ws.sig()[1], sksig.sig(x[3:7], 3))
    True
    """

    def __init__(self, dimension, degree, window_size, *, stride=1, scalar_term=False,
                 n_jobs=1):
        self._start(SigAlgebra(dimension, degree, scalar_term, n_jobs), window_size,
                    stride)


class _LogOfSig(SigAlgebra):
    """Signatures inside, log-signatures out (methods 1 and 2 of sig_to_log_sig)."""

    def __init__(self, dimension, degree, method, n_jobs):
        super().__init__(dimension, degree, False, n_jobs)
        self.method = method
        lyndon_tables(self.dim, self.degree)

    def output(self, elem):
        flat = np.ascontiguousarray(elem)
        return sig_to_log_sig(flat, self.dim, self.degree, method=self.method,
                              scalar_term=False, n_jobs=self.n_threads)


@fill_doc(**_DOCS)
class LogSigWindowStream(_WindowStream):
    """Log-signatures of sliding windows over a stream of points.

    As :class:`SigWindowStream` (same windows, same incremental scheme), each
    window's signature then taken to its log-signature.

    Parameters
    ----------
    {points_level}
    {window}
    method : {1, 2, 3}, default=2
        Output coordinates as :func:`sksig.log_sig` (3 means the Lyndon-bracket
        coordinates, as 2).
    {window_n_jobs_attributes}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.cumsum(np.random.default_rng(0).normal(size=(10, 2)), axis=0)
    >>> ws = sksig.LogSigWindowStream(2, 3, window_size=5, stride=5)
    >>> ws.push_batch(x)
    >>> np.allclose(ws.sig()[1], sksig.log_sig(x[5:], 3, method=2))
    True
    """

    def __init__(self, dimension, degree, window_size, *, stride=1, method=2, n_jobs=1):
        method = check_int(method, "method")
        if method not in (1, 2, 3):
            raise ValueError(f"method must be 1, 2 or 3, got {method}")
        self._start(_LogOfSig(dimension, degree, min(method, 2), n_jobs), window_size,
                    stride)
