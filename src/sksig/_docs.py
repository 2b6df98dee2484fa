"""Shared numpydoc fragments, so that a parameter many functions take is worded once.

A docstring line holding only ``{name}`` (any indentation) is replaced by the fragment
``name``, re-indented to that line. Fragments come from :data:`FRAGMENTS` or from the
keyword arguments of :func:`fill_doc` (a module's own siblings). An unknown name is an
error at import, so a typo cannot reach the rendered docs.
"""

import re
import textwrap

FRAGMENTS = {
    "n_jobs": """
        n_jobs : int, default=1
            CPU threads; None means 1, -1 all the cores this process may use (OpenMP
            and threadpoolctl limits respected). Results do not depend on it.""",
    "float_input_errors": """
        TypeError
            If an input is not a float array, or inputs mix kinds or dtypes.""",
    # The signature-kernel family (finite differences, polynomial, branched, kernel
    # learning, the blocked Gram).
    "gram_paths": """
    path1 : array-like of shape (b1..., length_1, dim), torch.Tensor or list of arrays
        First batch (an unbatched path contributes no axes).
    path2 : array-like of shape (b2..., length_2, dim), torch.Tensor or list of arrays
        Second batch, same dimension.""",
    "deriv_flags": """
        left_deriv : bool, default=True
            Return the gradient with respect to ``path1``.
        right_deriv : bool, default=False
            Return the gradient with respect to ``path2``.""",
    "backprop_errors": """
        TypeError
            For mixed array kinds or dtypes.
        FloatingPointError
            If the computation overflows (rescale the paths).""",
    "pair_example": """
        Examples
        --------
        >>> import numpy as np, sksig
        >>> x = np.array([[0.0], [1.0]]); y = np.array([[0.0], [2.0]])""",
    "gram_example": """
        Examples
        --------
        >>> import numpy as np, sksig
        >>> X = np.array([[[0.0], [1.0]], [[0.0], [2.0]]])""",
    "raises_batch": """
        Raises
        ------
        TypeError
            If an input is not a float array, or inputs mix kinds or dtypes.
        ValueError
            If a trailing length does not fit ``dimension`` and ``degree``, the batch
            shapes differ, or an input has NaN or inf.""",
    "scalar_term_infer": """
        scalar_term : bool or None, default=None
            Whether the signature-shaped arrays start with the scalar term; None infers
            it from their trailing length (refused where that is ambiguous, e.g.
            dimension 1).""",
    "paths": """
    path : array-like of shape (..., length, dim), torch.Tensor or list of 2-D arrays
        Paths with any number of leading batch axes, or a ragged list of paths.""",
    "transforms_end_time": """
        time_aug, lead_lag : bool, default=False
            Transform the paths first (see :func:`sksig.transform_path`).
        end_time : float, default=1.0
            Final value of the time channel.""",
    "word_list_parameters": """
        Parameters
        ----------
        alphabet_size : int
            Number of letters (the path dimension), >= 0.
        max_length : int
            Longest word length (the degree), >= 0.""",
    "word_length_parameters": """
        Parameters
        ----------
        alphabet_size : int
            Number of letters, >= 0.
        length : int
            Word length, >= 0.""",
    "basepoint": """
        basepoint : None, True or array-like of shape (dim,), default=None
            A point prepended to every path before the transforms (True: the origin),
            so that the result depends on where the paths start.""",
    "basepoint_backprop": """
        basepoint : None, True or array-like of shape (dim,), default=None
            The basepoint used for the forward call; the prepended point is not an
            input and gets no gradient.""",
    "returns_path_gradient": """
        Returns
        -------
        ndarray, torch.Tensor or list
            ``dF/d path``, of the shape and kind of ``path`` (a list for a ragged
            list).""",
    "path_input_errors": """
        TypeError
            If an input is not a float array, inputs mix kinds or dtypes, or an
            argument has the wrong type.""",
    "returns_tables_cached": """
        Returns
        -------
        None
            The tables are cached in memory for later calls.""",
    "result_overflow": """
        FloatingPointError
            If the result overflows (rescale the paths).""",
    "gradient_overflow": """
        FloatingPointError
            If the gradient overflows (rescale the paths).""",
}


def joined(*names, **fragments):
    """One fragment made of several, in order (named ones from :data:`FRAGMENTS` or
    given as keywords), for siblings that always list them together."""
    table = {**FRAGMENTS, **fragments}
    return "\n".join(textwrap.dedent(table[name]).strip("\n") for name in names)


FRAGMENTS["basepoint_n_jobs"] = joined("basepoint", "n_jobs")
FRAGMENTS["basepoint_backprop_n_jobs"] = joined("basepoint_backprop", "n_jobs")
# The end of a path gradient's docstring, up to its ValueError entry.
FRAGMENTS["path_backprop_tail"] = "\n\n".join([
    FRAGMENTS["basepoint_backprop_n_jobs"], joined("returns_path_gradient"),
    joined("raises", "path_input_errors", raises="Raises\n------")])

_PLACEHOLDER = re.compile(r"^([ \t]*)\{(\w+)\}[ \t]*$", re.MULTILINE)


def _fill(doc, fragments):
    def replace(match):
        indent, name = match.groups()
        if name not in fragments:
            raise KeyError(f"no docstring fragment {name!r}")
        text = textwrap.dedent(fragments[name]).strip("\n")
        return textwrap.indent(text, indent)

    return _PLACEHOLDER.sub(replace, doc)


def fill_doc(obj=None, /, **fragments):
    """Fill the ``{name}`` lines of a docstring: ``@fill_doc`` or ``@fill_doc(x=...)``.

    Keyword fragments are written like the entries of :data:`FRAGMENTS` (any common
    indentation) and take precedence over them.
    """
    table = {**FRAGMENTS, **fragments}

    def apply(target):
        if target.__doc__:
            target.__doc__ = _fill(target.__doc__, table)
        return target

    return apply if obj is None else apply(obj)
