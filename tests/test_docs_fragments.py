"""The shared docstring fragments: placement, indentation and unknown names."""

import pytest

from sksig._docs import FRAGMENTS, fill_doc


def test_fragment_replaces_placeholder_line_with_its_indentation():
    @fill_doc(extra="""
        extra : int
            Something.""")
    def f():
        """Summary.

        Parameters
        ----------
        {extra}
        {n_jobs}
        """

    lines = f.__doc__.splitlines()
    assert lines[4] == "        extra : int"
    assert lines[5] == "            Something."
    assert lines[6] == "        n_jobs : int, default=1"
    assert "{" not in f.__doc__


def test_plain_decorator_and_unknown_name():
    @fill_doc
    def g():
        """Summary.

        {n_jobs}
        """

    assert "n_jobs : int" in g.__doc__
    with pytest.raises(KeyError, match="no_such"):
        @fill_doc
        def h():
            """Summary.

            {no_such}
            """


def test_braces_inside_text_are_left_alone():
    @fill_doc
    def k():
        """Summary with {braces} and a dict {'a': 1}."""

    assert k.__doc__ == "Summary with {braces} and a dict {'a': 1}."
    assert set(FRAGMENTS) >= {"n_jobs"}
