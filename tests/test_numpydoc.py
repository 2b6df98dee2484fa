"""Every public name, and every public method of a public class, passes numpydoc's
docstring validation (``numpydoc.validate``), up to the checks ignored below."""

import importlib
import inspect
import pkgutil

import pytest

import sksig

validate = pytest.importorskip("numpydoc.validate").validate

# Checks we do not enforce, and why:
IGNORED = {
    # "See Also" sections: related names are grouped in the API reference and linked
    # from the user guide; a See Also on every name would repeat those lists.
    "SA01",
    # Extended summaries: short functions and methods (``fit``, ``is_built``) are
    # fully described by their one-line summary and their Parameters/Returns.
    "ES01",
}
# Examples are required of every public function and class; a method is shown in
# its class's example (methods of estimators need a fitted instance), so EX01 is
# not enforced on methods.
IGNORED_FOR_METHODS = {"EX01"}

# sksig and its public submodules (no leading underscore), including later ones.
MODULES = ["sksig"] + sorted(f"sksig.{m.name}"
                             for m in pkgutil.iter_modules(sksig.__path__)
                             if not m.name.startswith("_"))


OBJECTS = {}  # qualified name -> object


def _public_objects():
    names = []
    for modname in MODULES:
        try:
            module = importlib.import_module(modname)
        except ImportError:  # an optional dependency (torch) is missing
            continue
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not (callable(obj) or inspect.isclass(obj)):
                # Module constants (the BUILT_WITH_* flags, SYSTEM) cannot carry a
                # docstring of their own: docs/api.rst describes them.
                continue
            names.append((f"{modname}.{name}", False))
            OBJECTS[f"{modname}.{name}"] = obj
            if inspect.isclass(obj):  # its own methods (inherited ones: at their class)
                for attr, member in vars(obj).items():
                    if attr.startswith("_") and attr != "__call__":
                        continue
                    if callable(member) or isinstance(member, property):
                        names.append((f"{modname}.{name}.{attr}", True))
                        OBJECTS[f"{modname}.{name}.{attr}"] = getattr(obj, attr)
    return names


PUBLIC = _public_objects()


def test_the_public_api_is_collected():
    qualnames = {q for q, _ in PUBLIC}
    assert {"sksig.sig_kernel", "sksig.SigKernel.fit", "sksig.datasets.load_gunpoint",
            "sksig.cuda.is_built", "sksig.StaticKernel.increment_gram"} <= qualnames
    assert len(PUBLIC) > len(sksig.__all__)


@pytest.mark.parametrize("qualname, is_method", PUBLIC, ids=[q for q, _ in PUBLIC])
def test_docstring_cites_no_file_outside_the_package(qualname, is_method):
    # Users do not have the development notes: docstrings explain in their own words.
    obj = OBJECTS[qualname]
    doc = inspect.getdoc(obj) or ""
    assert "SPEC" not in doc, f"{qualname} cites SPEC.md"


@pytest.mark.parametrize("qualname, is_method", PUBLIC, ids=[q for q, _ in PUBLIC])
def test_numpydoc_validation(qualname, is_method):
    ignored = IGNORED | (IGNORED_FOR_METHODS if is_method else set())
    errors = [f"{code}: {message}" for code, message in validate(qualname)["errors"]
              if code not in ignored]
    assert not errors, f"{qualname}:\n" + "\n".join(errors)


@pytest.mark.parametrize("modname", MODULES)
def test_module_docstring_cites_no_file_outside_the_package(modname):
    if modname == "sksig.torch":
        pytest.importorskip("torch")
    module = importlib.import_module(modname)
    assert "SPEC" not in (module.__doc__ or ""), f"{modname} cites SPEC.md"
