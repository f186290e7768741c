"""The package's layers: no import cycle, and no module importing a module of a higher layer.

The import graph is read from the source with ``ast`` (nothing is imported): every ``import``
and ``from ... import`` of a varprop module anywhere in a module's body (one inside a function
is a dependency too), absolute or relative. ``from P import x`` is an import of module ``P.x``
when that is a module, else of ``P`` (a package's ``__init__``). The parents a submodule import
runs (``a/__init__.py`` for ``a.b``) are not edges: every package would then be in a cycle
with the modules it re-exports. A package that re-exports its submodules lazily, through
``importlib.import_module`` (``varprop.datasets``: ``_LAZY``; ``varprop.figures``: one module
per figure, ``FIGURES``), imports them all: ``DYNAMIC`` reads those targets from the package's
own constants, and any other run-time import fails the test until it is declared there.

The layers, in the order the project is built (``LAYERS``; a module's layer is that of the
first pattern it matches, read from the top layer down). A module may import modules of its
own layer and of lower ones.

    8 commands   varprop.cli, varprop.*.cli, varprop.__main__: argument parsing only
    7 figures    varprop.figures (the pipeline; re-exports one module per figure), figures.*
    7.5 integrations  varprop.torch: PyTorch models through the theory (draws with figures.style)
    6 results    experiments, spectral_experiments, summaries, store, engine: configs ->
                 computed and stored results
    5 training   varprop.training.*: networks, SGD, monitors, runs, tuning
    4 data       varprop.datasets (lazy re-export of interface/shapeset/cache), datasets.*
    3 sampling   montecarlo, check, spectrum, phase: Monte-Carlo measurements and their
                 comparison to theory
    2 numerics   kernels (the activations' numeric forms), kernels.*, initialization,
                 gaussian, theory, criticality
    1 symbolic   varprop.symbolic.*: the derivations (SymPy)
    0 base       varprop (__version__), files, validation, quantities, threads, choices,
                 text, resources, configs (finds the shipped TOML configs): no varprop import
"""
from __future__ import annotations

import ast
import fnmatch
import importlib.util
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "varprop"

LAYERS = (   # lowest first; the docstring says what each holds
    ("base", ("varprop", "varprop.files", "varprop.validation", "varprop.quantities",
              "varprop.threads", "varprop.choices", "varprop.text", "varprop.resources",
              "varprop.configs")),
    ("symbolic", ("varprop.symbolic", "varprop.symbolic.*")),
    ("numerics", ("varprop.kernels", "varprop.kernels.*", "varprop.initialization",
                  "varprop.gaussian", "varprop.theory", "varprop.criticality")),
    ("sampling", ("varprop.montecarlo", "varprop.check", "varprop.spectrum", "varprop.phase")),
    ("data", ("varprop.datasets", "varprop.datasets.*")),
    ("training", ("varprop.training", "varprop.training.*")),
    ("results", ("varprop.experiments", "varprop.spectral_experiments", "varprop.summaries",
                 "varprop.store", "varprop.engine")),
    ("figures", ("varprop.figures", "varprop.figures.*")),
    ("integrations", ("varprop.torch",)),
    ("commands", ("varprop.cli", "varprop.*.cli", "varprop.__main__")),
)

# Violations awaiting a fix (none now).
# ("cycle", *its modules sorted) or ("upward", importer, imported). The test fails when one
# of these no longer occurs, so that this list only shrinks.
KNOWN: set[tuple] = set()


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PACKAGE.rglob("*.py")):
        parts = ["varprop", *p.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = p
    return out


MODULES = _modules()


def _constant(name: str, var: str):
    """The literal value assigned to ``var`` at the top of module ``name``."""
    for node in ast.parse(MODULES[name].read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == var
                                                for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} has no constant {var}")


def _figure_modules() -> set[str]:   # as varprop.figures.module names them
    texts = _constant("varprop.figures", "TEXTS")
    return {f"varprop.figures.{f.lower() if f in texts else 'fig' + f.lower()}"
            for f in _constant("varprop.figures", "FIGURES")}


# The modules a package imports at run time through importlib, read from its own constants.
DYNAMIC = {
    "varprop.datasets": lambda: {f"varprop.datasets.{m}"
                                 for m in _constant("varprop.datasets", "_LAZY").values()},
    "varprop.figures": _figure_modules,
    # engine.experiment_module: the module behind each kind of result
    "varprop.engine": lambda: set(_constant("varprop.store", "KINDS").values()),
}


def _is_dynamic_import(node) -> bool:
    if not isinstance(node, ast.Call):
        return False
    f = node.func
    return getattr(f, "attr", None) == "import_module" or getattr(f, "id", None) in (
        "import_module", "__import__")


def _imports(name: str) -> dict[str, int]:
    """{imported varprop module: line of its first import} for module ``name``."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, int] = {}

    def add(mod, line):
        if mod != name:
            found.setdefault(mod, line)

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "varprop":
                    assert a.name in MODULES, f"{path}:{node.lineno}: no module {a.name}"
                    add(a.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            mod = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            if mod.split(".")[0] != "varprop":
                continue
            assert mod in MODULES, f"{path}:{node.lineno}: no module {mod}"
            for a in node.names:
                sub = f"{mod}.{a.name}"
                add(sub if sub in MODULES else mod, node.lineno)
        elif _is_dynamic_import(node):
            assert name in DYNAMIC, (f"{path}:{node.lineno}: a run-time import; declare its "
                                     f"targets in DYNAMIC ({__file__})")
            for mod in DYNAMIC[name]():
                assert mod in MODULES, f"{name}: DYNAMIC names {mod}, not a module"
                add(mod, node.lineno)
    return found


GRAPH = {m: _imports(m) for m in MODULES}


def layer_of(name: str) -> int:
    for i in reversed(range(len(LAYERS))):
        if any(fnmatch.fnmatchcase(name, pat) for pat in LAYERS[i][1]):
            return i
    raise AssertionError(f"{name} is in no layer: add it to LAYERS in {__file__}")


def _components() -> list[list[str]]:
    """The strongly connected components of GRAPH with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return out


def _cycle_path(comp: list[str]) -> str:
    """One cycle through the component's first module, as 'a (line) -> b (line) -> a'."""
    start, members = comp[0], set(comp)
    prev, todo = {start: None}, [start]
    while todo:   # breadth first: the shortest way back to start
        v = todo.pop(0)
        for w in sorted(GRAPH[v]):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                path.reverse()
                steps = [f"{a} (line {GRAPH[a][b]})"
                         for a, b in zip(path, path[1:] + [start])]
                return " -> ".join(steps + [start])
            if w in members and w not in prev:
                prev[w] = v
                todo.append(w)
    raise AssertionError(comp)


def violations() -> dict[tuple, str]:
    out = {}
    for comp in _components():
        out[("cycle", *comp)] = "import cycle: " + _cycle_path(comp)
    for a in sorted(GRAPH):
        for b, line in sorted(GRAPH[a].items()):
            la, lb = layer_of(a), layer_of(b)
            if lb > la:
                out[("upward", a, b)] = (f"{a} (layer {la} {LAYERS[la][0]}, line {line}) imports "
                                         f"{b} (layer {lb} {LAYERS[lb][0]})")
    return out


def test_every_module_has_a_layer_and_every_pattern_a_module():
    for name in MODULES:
        layer_of(name)
    for label, patterns in LAYERS:
        for pat in patterns:
            assert any(fnmatch.fnmatchcase(m, pat) for m in MODULES), \
                f"layer {label}: {pat} matches no module"


def test_no_import_cycle_and_no_upward_import():
    found = violations()
    new = [msg for key, msg in found.items() if key not in KNOWN]
    gone = sorted(KNOWN - set(found))
    assert not new, "\n".join(new)
    assert not gone, f"fixed: remove from KNOWN in {__file__}: {gone}"


def test_the_commands_parse_no_import_cycle():
    """The cycle this test was written for: varprop.datasets.cli took _Parser from
    varprop.cli, which imports it."""
    assert "varprop.cli" not in GRAPH["varprop.datasets.cli"]
    assert "varprop.datasets.cli" in GRAPH["varprop.cli"]


@pytest.mark.parametrize("source, expect", [
    ("from . import store", {"varprop.store"}),
    ("from . import __version__", {"varprop"}),
    ("from .datasets import load\nfrom .datasets.cache import data_dir",
     {"varprop.datasets", "varprop.datasets.cache"}),
    ("def f():\n    import varprop.figures.style", {"varprop.figures.style"}),
    ("import numpy\nfrom numpy import linalg", set()),
])
def test_the_graph_reads_each_kind_of_import(tmp_path, monkeypatch, source, expect):
    """Relative and absolute, package and submodule, inside functions; other packages not.
    (The sources are read as if they were varprop/engine.py.)"""
    path = tmp_path / "engine.py"
    path.write_text(source)
    monkeypatch.setitem(MODULES, "varprop.engine", path)
    assert set(_imports("varprop.engine")) == expect


def test_a_cycle_and_an_upward_import_are_found(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "GRAPH", {
        "varprop.files": {"varprop.engine": 3}, "varprop.engine": {"varprop.files": 9},
        "varprop.text": {}})
    assert violations() == {
        ("cycle", "varprop.engine", "varprop.files"):
            "import cycle: varprop.engine (line 9) -> varprop.files (line 3) -> varprop.engine",
        ("upward", "varprop.files", "varprop.engine"):
            "varprop.files (layer 0 base, line 3) imports varprop.engine (layer 6 results)"}
