"""Streams of branched signatures and branched log-signatures.

Thin subclasses of the generic streams of :mod:`sksig._streams`: only the algebra
changes. Elements are branched signatures without their scalar term (the constant 1),
joined and multiplied by the native group operations of
:mod:`sksig._branched_algebra`; outputs are taken to log-signatures by
:func:`sksig.branched_sig_to_log_sig` where asked.
"""

import numpy as np

from sksig._branched import _check_method, branched_sig_to_log_sig
from sksig._branched_algebra import branched_sig_combine, branched_sig_join
from sksig._docs import fill_doc
from sksig._streams import _DOCS, _Algebra, _CumulativeStream, _Rows, _WindowStream
from sksig._tree_tables import native_tables
from sksig._trees import branched_sig_length
from sksig._validation import check_bool, check_int, resolve_n_jobs

__all__ = [
    "BranchedLogSigStream",
    "BranchedLogSigWindowStream",
    "BranchedSigStream",
    "BranchedSigWindowStream",
]

_DOCS = {**_DOCS, "points_nodes": """
    dimension : int
        Dimension of the points, >= 1.
    degree : int
        Truncation degree (number of nodes), >= 1.""", "log_options": """
    planar : bool, default=False
        Planar (ordered) trees instead of non-planar ones.
    scalar_term : bool, default=False
        Put the log's scalar entry (0) first (method 0; ignored by the others, as in
        :func:`sksig.branched_log_sig`).
    method : int or None, default=None
        Coordinates as :func:`sksig.branched_log_sig` (None: 0 for non-planar trees,
        1 for planar ones)."""}


class _BranchedAlgebra(_Algebra):
    """Branched signatures (planar or not), stored without their scalar term."""

    def __init__(self, dimension, degree, planar, scalar_term, n_jobs):
        self.dim = check_int(dimension, "dimension", minimum=1)
        self.degree = check_int(degree, "degree", minimum=1)
        self.planar = check_bool(planar, "planar")
        self.scalar_term = check_bool(scalar_term, "scalar_term")
        self.n_threads = resolve_n_jobs(n_jobs)
        native_tables(self.dim, self.degree, self.planar)  # bounds checked up front
        self.width = branched_sig_length(self.dim, self.degree, planar=self.planar)

    def _options(self):
        return dict(planar=self.planar, scalar_term=False, n_jobs=self.n_threads)

    def join(self, elem, increment, prepend=False):
        return branched_sig_join(elem, increment, self.dim, self.degree,
                                 prepend=prepend, **self._options())

    def combine(self, a, b):
        return branched_sig_combine(a, b, self.dim, self.degree, **self._options())

    def output(self, elem):
        if not self.scalar_term:
            return elem
        return np.concatenate([np.ones(elem.shape[:-1] + (1,), elem.dtype), elem], -1)


class _BranchedLogAlgebra(_BranchedAlgebra):
    """Branched signatures inside, branched log-signatures out (in the coordinates of
    ``method``, as :func:`sksig.branched_log_sig`; ``scalar_term`` puts the log's
    scalar entry, 0, first in method 0 and is ignored by the others, as there)."""

    def __init__(self, dimension, degree, planar, scalar_term, method, n_jobs):
        super().__init__(dimension, degree, planar, scalar_term, n_jobs)
        self.method = _check_method(method, self.planar)

    def output(self, elem):
        out = branched_sig_to_log_sig(
            np.ascontiguousarray(elem), self.dim, self.degree, planar=self.planar,
            method=self.method, scalar_term=False, n_jobs=self.n_threads)
        if self.scalar_term and self.method == 0:
            out = np.concatenate([np.zeros(out.shape[:-1] + (1,), out.dtype), out], -1)
        return out


class _BranchedCumulativeStream(_CumulativeStream):
    """A cumulative stream that keeps, beside each prefix element ``E(t0, t)``, its
    inverse: the branched signature of the prefix run backwards, extended at its
    front by each new segment reversed. A query is then one product, with no group
    inverse to compute (the branched algebra has no cheap one)."""

    def _start(self, algebra):
        super()._start(algebra)
        self._inverse = _Rows()

    def _extend(self, pts):
        alg, previous = self._alg, self._last
        super()._extend(pts)
        if previous is None:
            self._inverse.extend(alg.identity(pts.shape[1:-1], pts.dtype)[None])
            previous, pts = pts[0], pts[1:]
        inverse, rows = self._inverse.view()[-1], []
        for point in pts:
            inverse = alg.join(inverse, previous - point, prepend=True)
            rows.append(inverse)
            previous = point
        if rows:
            self._inverse.extend(np.stack(rows))

    def _interval_elements(self, a, b):
        return self._alg.combine(self._inverse.view()[a], self._prefix.view()[b])


@fill_doc(**_DOCS)
class BranchedSigStream(_BranchedCumulativeStream):
    """Branched signatures of a growing path, with queries over any interval.

    The branched counterpart of :class:`sksig.SigStream`: keeps the branched
    signature from the first point to every point and its inverse (the signature of
    that prefix run backwards), so a pushed point costs two segment joins; the
    branched signature of the points ``a..b`` is the inverse of the prefix up to ``a``
    times the prefix up to ``b`` (Chen's identity), one product. Accuracy as for
    :class:`sksig.SigStream` (long prefixes cancel in short intervals far into the
    stream; prefer :class:`BranchedSigWindowStream` there). Computed on the CPU.

    Parameters
    ----------
    {points_nodes}
    planar : bool, default=False
        Planar (ordered) trees instead of non-planar ones.
    scalar_term : bool, default=False
        Put the constant 1 (the scalar term) first in every result.
    {n_jobs_attributes}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.cumsum([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 1.0]], axis=0)
    >>> stream = sksig.BranchedSigStream(2, 3)
    >>> stream.push_batch(x)
    >>> np.allclose(stream.sig(1, 3), sksig.branched_sig(x[1:], 3))
    True
    """

    def __init__(self, dimension, degree, *, planar=False, scalar_term=False,
                 n_jobs=1):
        self._start(_BranchedAlgebra(dimension, degree, planar, scalar_term, n_jobs))


@fill_doc(**_DOCS)
class BranchedLogSigStream(_BranchedCumulativeStream):
    """Branched log-signatures of a growing path, with queries over any interval.

    As :class:`BranchedSigStream`, each result then taken to its branched
    log-signature (:func:`sksig.branched_sig_to_log_sig`). Computed on the CPU.

    Parameters
    ----------
    {points_nodes}
    {log_options}
    {n_jobs_attributes}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    >>> stream = sksig.BranchedLogSigStream(2, 3, planar=True)
    >>> stream.push_batch(x)
    >>> np.allclose(stream.sig(0, 2), sksig.branched_log_sig(x[:3], 3, planar=True))
    True
    """

    def __init__(self, dimension, degree, *, planar=False, scalar_term=False,
                 method=None, n_jobs=1):
        self._start(_BranchedLogAlgebra(dimension, degree, planar, scalar_term, method,
                                      n_jobs))


@fill_doc(**_DOCS)
class BranchedSigWindowStream(_WindowStream):
    """Branched signatures of sliding windows over a stream of points.

    The branched counterpart of :class:`sksig.SigWindowStream` (same windows, same
    incremental scheme of block suffixes and prefixes: no inverse, no cancellation).
    Computed on the CPU.

    Parameters
    ----------
    {points_nodes}
    {window}
    planar : bool, default=False
        Planar (ordered) trees instead of non-planar ones.
    scalar_term : bool, default=False
        Put the constant 1 (the scalar term) first in every window's signature.
    {window_n_jobs_attributes}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.random.default_rng(0).normal(size=(10, 2)).cumsum(axis=0)
    >>> ws = sksig.BranchedSigWindowStream(2, 3, 4, stride=3)
    >>> ws.push_batch(x)
    >>> np.allclose(ws.sig()[1], sksig.branched_sig(x[3:7], 3))
    True
    """

    def __init__(self, dimension, degree, window_size, *, stride=1, planar=False,
                 scalar_term=False, n_jobs=1):
        self._start(_BranchedAlgebra(dimension, degree, planar, scalar_term, n_jobs),
                    window_size, stride)


@fill_doc(**_DOCS)
class BranchedLogSigWindowStream(_WindowStream):
    """Branched log-signatures of sliding windows over a stream of points.

    As :class:`BranchedSigWindowStream`, each window's branched signature then taken
    to its branched log-signature. Computed on the CPU.

    Parameters
    ----------
    {points_nodes}
    window_size : int
        Points per window, >= 1.
    stride : int, default=1
        Points between the starts of consecutive windows, >= 1.
    {log_options}
    {window_n_jobs_attributes}

    Examples
    --------
    >>> import numpy as np, sksig
    >>> x = np.random.default_rng(1).standard_normal((10, 2))
    >>> ws = sksig.BranchedLogSigWindowStream(2, 3, window_size=5, stride=5)
    >>> ws.push_batch(x)
    >>> np.allclose(ws.sig()[1], sksig.branched_log_sig(x[5:], 3))
    True
    """

    def __init__(self, dimension, degree, window_size, *, stride=1, planar=False,
                 scalar_term=False, method=None, n_jobs=1):
        self._start(_BranchedLogAlgebra(dimension, degree, planar, scalar_term, method,
                                      n_jobs), window_size, stride)
