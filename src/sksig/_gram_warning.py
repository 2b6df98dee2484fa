"""A warning for Gram matrices that no downstream model can learn from."""

import warnings

import numpy as np

__all__ = ["GramWarning", "warn_if_useless"]

# Thresholds of the three failure modes (see GramWarning).
_MAX_DECADES = 8.0  # entries spanning more than 1e8
_MIN_SPREAD = 1e-6  # (max - min) / max |K| below this: nearly constant
_MIN_OFFDIAG = 1e-3  # typical max_j |K_ij| / sqrt(K_ii K_jj) below this


class GramWarning(RuntimeWarning):
    """A signature-kernel Gram matrix is numerically useless for a downstream model.

    Issued (once per fit) by :class:`sksig.SigKernel` when the training Gram

    * has entries spanning more than eight orders of magnitude (a few pairs of
      paths dominate everything: the paths are too large for the kernel),
    * is nearly constant (all paths look alike: the paths are too small), or
    * has a diagonal that dwarfs the off-diagonal entries (every path is similar
      only to itself: nothing generalizes).

    The remedy is to bring the paths to unit size with :class:`sksig.PathScaler`,
    then to search the ``scale`` parameter of :class:`sksig.SigKernel` on a log grid;
    ``normalize=True`` removes the differences in magnitude between paths.

    Examples
    --------
    >>> import warnings, sksig
    >>> issubclass(sksig.GramWarning, RuntimeWarning)
    True
    """


def _problem(gram):
    """A description of what makes the symmetric ``gram`` useless, or None."""
    gram = np.asarray(gram, dtype=np.float64)
    n = gram.shape[0]
    if n < 3 or gram.shape != (n, n) or not np.all(np.isfinite(gram)):
        return None
    magnitude = np.abs(gram)
    top = magnitude.max()
    if top == 0:
        return "all its entries are zero"
    nonzero = magnitude[magnitude > 0]
    decades = np.log10(top / nonzero.min())
    if decades > _MAX_DECADES:
        return f"its entries span {decades:.0f} orders of magnitude"
    if (gram.max() - gram.min()) <= _MIN_SPREAD * top:
        return "it is nearly constant"
    diag = np.diagonal(gram)
    if np.all(diag > 0):
        similarity = magnitude / np.sqrt(np.multiply.outer(diag, diag))
        np.fill_diagonal(similarity, 0)
        typical = np.median(similarity.max(axis=1))
        if typical < _MIN_OFFDIAG:
            return ("its diagonal dwarfs the off-diagonal entries (typical largest "
                    f"normalized off-diagonal entry {typical:.1e})")
    return None


def warn_if_useless(gram, where, normalized=False):
    """Issue a :class:`GramWarning` when the symmetric ``gram`` is useless."""
    problem = _problem(gram)
    if problem is not None:
        from sksig._kernel_setup import _caller_level

        warnings.warn(
            f"{where}: the signature-kernel Gram is numerically useless for a "
            f"downstream model: {problem}. Rescale the paths (sksig.PathScaler "
            "first in the pipeline), then search SigKernel's scale parameter on a "
            "log grid" + ("." if normalized else ", or use normalize=True."),
            GramWarning, stacklevel=_caller_level(),
        )
