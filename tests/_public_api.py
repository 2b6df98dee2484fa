"""The public API as the documentation tests see it: every name exported by sksig and
its public submodules, and every public method of a public class."""

import importlib
import inspect
import pkgutil

import sksig

# sksig and its public submodules (no leading underscore), including later ones.
MODULES = ["sksig"] + sorted(f"sksig.{m.name}"
                             for m in pkgutil.iter_modules(sksig.__path__)
                             if not m.name.startswith("_"))


def public_objects():
    """Qualified name -> (object, is_method), in the modules' order. Methods are a
    class's own, ``__call__`` and properties included (inherited ones are listed at
    their class); modules of a missing optional dependency (torch) are left out."""
    found = {}
    for modname in MODULES:
        try:
            module = importlib.import_module(modname)
        except ImportError:
            continue
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not (callable(obj) or inspect.isclass(obj)):
                # Module constants (the BUILT_WITH_* flags, SYSTEM) carry no docstring
                # of their own: docs/api.rst describes them.
                continue
            found[f"{modname}.{name}"] = (obj, False)
            if not inspect.isclass(obj):
                continue
            for attr, member in vars(obj).items():
                if attr.startswith("_") and attr != "__call__":
                    continue
                if callable(member) or isinstance(member, (property, staticmethod,
                                                           classmethod)):
                    found[f"{modname}.{name}.{attr}"] = (getattr(obj, attr), True)
    return found
