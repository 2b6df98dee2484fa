"""The API reference (docs/api.rst) lists every public name.

Parses the reStructuredText directly (no sphinx needed): the names listed in each
``.. autosummary::`` block, qualified by the ``.. currentmodule::`` in force, must cover
``sksig.__all__`` and the ``__all__`` of the public submodules.
"""

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import sksig

API_RST = Path(__file__).resolve().parents[1] / "docs" / "api.rst"


def public_submodules():
    """``sksig.<name>`` for every subpackage or module without a leading underscore
    (sksig.cuda, sksig.datasets, sksig.torch, and any added later)."""
    return sorted(f"sksig.{m.name}" for m in pkgutil.iter_modules(sksig.__path__)
                  if not m.name.startswith("_"))


SUBMODULES = public_submodules()


def documented_names(text):
    """Fully qualified names listed in the autosummary blocks of ``text``."""
    names, module, in_block = set(), None, False
    for line in text.splitlines():
        if m := re.match(r"\.\. currentmodule::\s*(\S+)", line):
            module, in_block = m.group(1), False
        elif line.startswith(".. autosummary::"):
            in_block = True
        elif in_block:
            if line and not line[0].isspace():
                in_block = False  # the block ends at the first unindented line
            elif (entry := line.strip().lstrip("~")) and not entry.startswith(":"):
                names.add(entry if entry.startswith("sksig.") else f"{module}.{entry}")
    return names


def public_names():
    names = {f"sksig.{n}" for n in sksig.__all__}
    for modname in SUBMODULES:
        try:
            module = importlib.import_module(modname)
        except ImportError:  # an optional dependency (torch) is missing
            continue
        names |= {f"{modname}.{n}" for n in getattr(module, "__all__", ())}
    return names


def test_known_submodules_are_found():
    assert {"sksig.cuda", "sksig.datasets", "sksig.torch"} <= set(SUBMODULES)


def test_parser_reads_autosummary_blocks():
    text = (".. currentmodule:: sksig\n\n.. autosummary::\n   :toctree: generated/\n\n"
            "   sig\n   log_sig\n\nProse mentioning not_a_name.\n\n"
            ".. currentmodule:: sksig.torch\n\n.. autosummary::\n\n   sig_kernel\n")
    assert documented_names(text) == {"sksig.sig", "sksig.log_sig",
                                      "sksig.torch.sig_kernel"}


def test_every_public_name_is_in_the_api_reference():
    listed = documented_names(API_RST.read_text(encoding="utf-8"))
    missing = sorted(public_names() - listed)
    assert not missing, (f"public names missing from docs/api.rst (add one line each "
                         f"to an autosummary block): {missing}")


def test_api_reference_lists_only_existing_names():
    for qualname in sorted(documented_names(API_RST.read_text(encoding="utf-8"))):
        modname, _, name = qualname.rpartition(".")
        if modname == "sksig.torch":
            pytest.importorskip("torch")
        module = importlib.import_module(modname)
        assert hasattr(module, name), f"docs/api.rst lists {qualname}, which is unknown"


DOCS = API_RST.parent
USER_GUIDE_PAGES = sorted((DOCS / "user_guide").glob("*.rst"))


@pytest.mark.parametrize("page", USER_GUIDE_PAGES, ids=lambda p: p.name)
def test_user_guide_examples_run(page):
    # The ``>>>`` examples of the user guide are doctests.
    import doctest

    result = doctest.testfile(str(page), module_relative=False, report=False,
                              optionflags=doctest.NORMALIZE_WHITESPACE
                              | doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} failing example(s) in {page.name}"


def test_getting_started_tour_runs():
    # The tour's code blocks, run in order as one script.
    pytest.importorskip("torch")
    text = (DOCS / "getting_started.rst").read_text(encoding="utf-8")
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text)
    assert len(blocks) >= 4
    code = "\n".join("\n".join(line[3:] for line in block.splitlines())
                     for block in blocks)
    namespace = {}
    exec(compile(code, "getting_started.rst", "exec"), namespace)
    assert namespace["x"].grad.shape == namespace["x"].shape
