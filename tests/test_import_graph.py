"""The import graph of src/sksig: no cycle, and no import from a lower layer to a
higher one.

Every ``import`` of a sksig module counts, at module level or inside a function (a
lazy import is still a dependency). The layers, from the bottom (CONTRIBUTING.md draws
the same picture):

0. native: compiled or generated modules (``sksig._core._*``, ``sksig.cuda._kernels``,
   ``sksig.cuda._emulation``, ``sksig._build_info``) and modules importing nothing;
1. runtime: argument checks, Ctrl-C, and which CUDA launcher module runs;
2. input and tables: the one input layer for numpy and torch (host or device), the
   estimators' input, the Lyndon and tree tables;
3. backends: ``sksig._core._backend`` (CPU) and ``sksig.cuda._backend`` (CUDA), with
   the same functions and signatures, and the CUDA tables;
4. routing and kernels on points: the backend choice, static kernels, transforms;
5. functional API: the public functions (a module not listed here is taken to be one);
6. estimators;
7. the package: ``sksig``, its configuration, ``sksig.torch``, ``sksig.datasets``.
"""

import ast
import pathlib

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "sksig"

LAYERS = [
    ("native", ["sksig._core", "sksig._core._errors", "sksig._limits", "sksig._docs",
                "sksig._memo",
                "sksig._version"]),
    ("runtime", ["sksig._validation", "sksig._interrupt", "sksig.cuda",
                 "sksig.cuda._runtime"]),
    ("input and tables", ["sksig._array", "sksig._estimator_input", "sksig._lyndon",
                          "sksig._trees", "sksig._tree_algebra", "sksig._tree_tables"]),
    ("backends", ["sksig._core._backend", "sksig.cuda._tables",
                  "sksig.cuda._backend"]),
    ("routing", ["sksig._dispatch", "sksig._static_kernels", "sksig._user_kernels",
                 "sksig._transform_path"]),
    ("functional API", ["sksig._log_sig", "sksig._branched", "sksig._sig_kernel",
                        "sksig._normalized_kernel", "sksig._gram_blocks",
                        "sksig._gram_warning", "sksig._kernel_learning",
                        "sksig._scores"]),
    ("estimators", ["sksig._sig_kernel_estimator", "sksig._log_sig_estimator",
                    "sksig._branched_estimator", "sksig._nystroem",
                    "sksig._path_scaler", "sksig.gaussian_process"]),
    ("package", ["sksig", "sksig._config", "sksig.__main__", "sksig.datasets",
                 "sksig.torch"]),
]
FUNCTIONAL = 5

# No cycle is allowed. (The last one, between the signature kernel, its normalisation
# and its blocked Gram, went when both came to call a lower layer,
# sksig._kernel_setup.host_kernels, instead of the public functions.)
KNOWN_CYCLES = []


def _modules():
    mods = {}
    for f in SRC.rglob("*.py"):
        parts = f.relative_to(SRC.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = f
    return mods


def _graph():
    """{module: set of sksig modules it imports}; compiled or generated modules
    (no .py file) are leaves."""
    mods = _modules()
    edges = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package
                    for _ in range(node.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = anchor + ("." + base if base else "")
                if base.split(".")[0] != "sksig":
                    continue
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    deps.add(full if full in mods or _is_submodule(full) else base)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names
                            if a.name.split(".")[0] == "sksig")
        deps.discard(name)
        edges[name] = deps
    return edges


def _is_submodule(full):
    """A compiled (.pyx) or generated (.py.in) module of that name exists."""
    stem = SRC.parent / full.replace(".", "/")
    return any(stem.with_name(stem.name + ext).exists()
               for ext in (".pyx", ".py.in")) or full.startswith(
        "sksig.cuda._emulation")


def _layer(name, mods):
    if name not in mods:
        return 0  # compiled or generated
    if name.startswith("sksig.torch."):
        name = "sksig.torch"
    for level, (_, members) in enumerate(LAYERS):
        if name in members:
            return level
    return FUNCTIONAL


def _cycles(edges):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_layers_name_existing_modules():
    mods = _modules()
    listed = [m for _, members in LAYERS for m in members]
    assert len(listed) == len(set(listed))
    assert set(listed) <= set(mods), sorted(set(listed) - set(mods))


def test_no_import_climbs_a_layer():
    mods = _modules()
    upward = [
        f"{a} ({LAYERS[_layer(a, mods)][0]}) imports {b} ({LAYERS[_layer(b, mods)][0]})"
        for a, deps in _graph().items() for b in deps
        if _layer(b, mods) > _layer(a, mods)
    ]
    assert upward == []


def test_no_import_cycle():
    cycles = _cycles(_graph())
    unknown = [sorted(c) for c in cycles
               if not any(c <= known for known in KNOWN_CYCLES)]
    assert unknown == []


@pytest.mark.parametrize("package", ["sksig._core._backend", "sksig.cuda._backend"])
def test_backends_import_no_public_module(package):
    """The backends sit below the public functions: they never import them (nor the
    other backend)."""
    mods = _modules()
    deps = _graph()[package]
    assert all(_layer(d, mods) <= 3 for d in deps), sorted(deps)
    other = {"sksig._core._backend", "sksig.cuda._backend"} - {package}
    assert not deps & other


def test_the_two_backends_have_the_same_functions():
    cpu = ast.parse((SRC / "_core" / "_backend.py").read_text())
    gpu = ast.parse((SRC / "cuda" / "_backend.py").read_text())

    def public(tree):
        return {n.name: [a.arg for a in n.args.args] for n in tree.body
                if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")}

    # The CPU backend's CPU_ONLY functions have no CUDA kernel (yet): their public
    # functions say that they compute on the host.
    cpu_only = next(ast.literal_eval(n.value) for n in cpu.body
                    if isinstance(n, ast.Assign)
                    and getattr(n.targets[0], "id", None) == "CPU_ONLY")
    cpu_functions = public(cpu)
    assert set(cpu_only) <= set(cpu_functions)
    for name in cpu_only:
        del cpu_functions[name]
    assert cpu_functions == public(gpu)
