"""Every public callable of sksig and of its public submodules, and every public method
of a public class, is documented (numpydoc sections), and its examples run as
doctests. numpydoc's own validation of the same names is in test_numpydoc.py."""

import doctest
import inspect

import numpy as np
import pytest
from _public_api import public_objects

import sksig


def _public_callables():
    """The public callables and their methods, each object once (under the first name
    that exports it)."""
    found, seen = {}, set()
    for qualname, (obj, is_method) in public_objects().items():
        if is_method:
            if qualname.rsplit(".", 1)[0] in found:  # its class is checked here
                found[qualname] = (obj, True)
        elif callable(obj) and id(obj) not in seen:
            seen.add(id(obj))
            found[qualname] = (obj, False)
    return found


PUBLIC = _public_callables()
NAMES = sorted(PUBLIC)


def test_methods_are_collected():
    assert {"sksig.sig_kernel", "sksig.SigKernel.fit", "sksig.SigKernel.__call__",
            "sksig.StaticKernel.fit", "sksig.StaticKernel.increment_gram",
            "sksig.gaussian_process.SignatureKernel.diag"} <= set(NAMES)


@pytest.mark.parametrize("qualname", NAMES)
def test_public_callable_has_numpydoc_sections(qualname):
    obj, is_method = PUBLIC[qualname]
    doc = inspect.getdoc(obj) or ""
    assert doc, f"{qualname} has no docstring"
    if isinstance(obj, property):
        return
    parameters = [p for p in _parameters(obj) if p not in ("self", "cls")]
    assert "Parameters\n----------" in doc or not parameters, (
        f"{qualname} documents none of its parameters {parameters}")
    if is_method and "Returns\n-------" not in doc and "Yields\n------" not in doc:
        # A method without a Returns section must return nothing.
        assert _returns_nothing(obj), f"{qualname} documents no return value"


def _parameters(obj):
    try:
        return inspect.signature(obj).parameters
    except ValueError:  # a warning class: only the builtin (*args) of Warning
        assert issubclass(obj, Warning), f"{obj} has no signature"
        return {}


def _returns_nothing(function):
    source = inspect.getsource(function)
    return "return " not in source.replace("return None", "") and "yield" not in source


def _globs():
    globs = {"np": np, "sksig": sksig}
    try:
        import torch
    except ImportError:
        return globs
    return dict(globs, torch=torch)


@pytest.mark.parametrize("qualname", NAMES)
def test_docstring_examples_run(qualname):
    obj, _ = PUBLIC[qualname]
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE
                                   | doctest.ELLIPSIS)
    for test in finder.find(obj, qualname, globs=_globs()):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} failing example(s) in {qualname}"
