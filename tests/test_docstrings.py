"""Every public callable is documented, and its examples run (as doctests)."""

import doctest
import inspect

import numpy as np
import pytest

import sksig

PUBLIC = [name for name in sksig.__all__ if callable(getattr(sksig, name))]


@pytest.mark.parametrize("name", PUBLIC)
def test_public_callable_has_numpydoc_sections(name):
    doc = inspect.getdoc(getattr(sksig, name)) or ""
    assert doc, f"{name} has no docstring"
    assert "Parameters\n----------" in doc or not _parameters(
        getattr(sksig, name)), f"{name} documents no parameters"


def _parameters(obj):
    try:
        return inspect.signature(obj).parameters
    except ValueError:  # a warning class: only the builtin (*args) of Warning
        assert issubclass(obj, Warning), f"{obj} has no signature"
        return {}


@pytest.mark.parametrize("name", PUBLIC)
def test_docstring_examples_run(name):
    obj = getattr(sksig, name)
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE
                                   | doctest.ELLIPSIS)
    tests = finder.find(obj, name, globs={"np": np, "sksig": sksig})
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} failing example(s) in {name}"
