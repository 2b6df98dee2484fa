"""``BranchedLogSig``: branched (tree-indexed) log-signatures as a transformer."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from sksig._branched import branched_log_sig, branched_sig_to_log_sig_backprop
from sksig._estimator_input import (
    PATH_CONSTRAINTS,
    PathEstimatorMixin,
    channel_names,
    estimator_doc,
)
from sksig._log_sig_estimator import bracket_name, is_lyndon
from sksig._trees import trees
from sksig._validation import Interval

__all__ = ["BranchedLogSig"]


def _tree_name(tree, letter=str):
    """A tree as text: its root's label, followed by its children in parentheses
    (``1(0,0)``: a root labelled 1 with two leaves labelled 0); a planar forest is its
    trees separated by spaces (``0 1(0)``). ``letter`` writes a label."""
    if isinstance(tree[-1], tuple):  # a forest: a tuple of trees
        return " ".join(_tree_name(t, letter) for t in tree)
    *children, label = tree
    if not children:
        return letter(label)
    return f"{letter(label)}({','.join(_tree_name(c, letter) for c in children)})"


def branched_feature_names(dimension, degree, planar, method, letter=str):
    """Names of ``branched_log_sig``'s coordinates, in output order.

    Non-planar: the trees. Planar, method 0: every ordered forest; method 1: the
    Lyndon forests (forests whose sequence of tree indices is Lyndon); method 2: the
    standard bracketings of the Lyndon forests, trees as letters. ``letter`` writes
    a node label.
    """
    basis = list(trees(dimension, degree, planar=planar))[1:]  # drop None
    if not planar or method == 0:
        return [_tree_name(element, letter) for element in basis]
    # Letters are the planar trees, ordered as the single-tree forests of the basis.
    letters = {forest[0]: i for i, forest in enumerate(f for f in basis if len(f) == 1)}
    lyndon = [
        (forest, word) for forest in basis
        if is_lyndon(word := tuple(letters[tree] for tree in forest))
    ]
    if method == 1:
        return [_tree_name(forest, letter) for forest, _ in lyndon]
    names = {i: _tree_name(tree, letter) for tree, i in letters.items()}
    return [bracket_name(word, names.__getitem__) for _, word in lyndon]


@estimator_doc
class BranchedLogSig(PathEstimatorMixin, TransformerMixin, BaseEstimator):
    """Branched log-signatures of paths (coordinates indexed by trees or forests).

    ``transform(X)`` returns ``sksig.branched_log_sig`` of every path: the logarithm
    of the branched signature in the Butcher-Connes-Kreimer Hopf algebra of
    decorated rooted trees (``planar=False``) or the Munthe-Kaas-Wright algebra of
    ordered forests (``planar=True``). :meth:`backprop` differentiates the map from
    branched signatures to branched log-signatures.

    Parameters
    ----------
    degree : int, default=2
        Truncation: trees/forests with at most ``degree`` nodes.
    planar : bool, default=False
        Use planar (ordered) trees and forests.
    method : {0, 1, 2} or None, default=None
        Output coordinates; None means 0 for non-planar and 1 for planar.
        0: every tree (non-planar) or every ordered forest (planar); 1 (planar
        only): the values at the Lyndon forests; 2 (planar only): the coordinates in
        the Lyndon bracket basis of forests.
    {feature_options}

    Attributes
    ----------
    dimension_ : int
        Channels of the paths after the transforms (the tree labels).
    method_ : int
        The method in effect.
    {input_attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from sksig import BranchedLogSig
    >>> X = np.array([[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]])
    >>> est = BranchedLogSig(degree=2)
    >>> est.fit_transform(X)
    array([[ 1. ,  1. ,  0. ,  0.5, -0.5,  0. ]])
    >>> list(est.get_feature_names_out())
    ['0', '1', '0(0)', '1(0)', '0(1)', '1(1)']
    >>> list(est.get_feature_names_out(["x", "y"]))
    ['x', 'y', 'x(x)', 'y(x)', 'x(y)', 'y(y)']
    """

    _parameter_constraints: dict = {
        "degree": [Interval(Integral, 1, None, closed="left")],
        "planar": ["boolean"],
        "method": [None, Interval(Integral, 0, 2, closed="both")],
        **PATH_CONSTRAINTS,
    }

    def __init__(self, *, degree=2, planar=False, method=None, time_aug=False,
                 lead_lag=False, end_time=1.0, basepoint=None, n_channels=None,
                 n_jobs=None):
        self._store_params(locals())

    def _method(self):
        if self.method is None:
            return 1 if self.planar else 0
        if self.method != 0 and not self.planar:
            raise ValueError(
                f"method={self.method} needs planar=True; non-planar branched "
                "log-signatures have only method 0 (every tree)"
            )
        return int(self.method)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Record the input format and the tree basis.

        {fit}
        """
        method = self._method()
        paths = self._paths(X, reset=True)
        self.method_ = method
        self.dimension_ = paths.dim
        return self

    def transform(self, X):
        """Compute the branched log-signatures of the paths.

        {transform}
        """
        check_is_fitted(self)
        data = self._paths(X, reset=False).data
        return np.asarray(branched_log_sig(data, self.degree, planar=self.planar,
                                           method=self.method_, n_jobs=self.n_jobs))

    def backprop(self, bsig, blogsig_derivs):
        """Gradient of ``sum(blogsig_derivs * log(bsig))`` with respect to ``bsig``.

        The vector-Jacobian product of ``sksig.branched_sig_to_log_sig`` with this
        estimator's degree, planarity, method and (transformed) dimension.

        Parameters
        ----------
        bsig : array-like or torch.Tensor of shape (..., n) or (..., n + 1)
            Branched signatures of transformed paths (``sksig.branched_sig``), with
            or without the scalar term.
        blogsig_derivs : array-like or torch.Tensor of shape (..., n_features_out)
            Gradient of a scalar loss with respect to the branched log-signatures.

        Returns
        -------
        ndarray or torch.Tensor shaped like ``bsig``
            The gradient with respect to ``bsig``.
        """
        check_is_fitted(self)
        return branched_sig_to_log_sig_backprop(
            bsig, blogsig_derivs, self.dimension_, self.degree, planar=self.planar,
            method=self.method_, n_jobs=self.n_jobs,
        )

    def get_feature_names_out(self, input_features=None):
        """Return the names of the features: trees, forests or brackets of trees.

        A tree is its root's label followed by its children in parentheses:
        ``1(0,0)`` is a root labelled 1 with two leaves labelled 0 (the tuple
        ``((0,),(0,),1)`` of :func:`sksig.trees`); a planar forest is its trees
        separated by spaces, ``0 1(0)``; method 2 names are brackets of trees such as
        ``[0,1(0)]``. Labels are the channels of the transformed paths: numbered from
        0, or named after the channels (``y(x)``; ``x_lag``, ``x_lead``, ``time``
        with the transforms).

        Parameters
        ----------
        {feature_names}
        """
        check_is_fitted(self)
        letters = channel_names(self, input_features, self.dimension_)
        return np.asarray(
            branched_feature_names(self.dimension_, self.degree, self.planar,
                                   self.method_, letters.__getitem__),
            dtype=object,
        )
