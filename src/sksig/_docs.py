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
}

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
