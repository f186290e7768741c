"""The results store: one folder tree for every result, at initialisation and in training.

Layout (ROOT: ``--store``, else ``$VARPROP_STORE``, else ``DEFAULT_ROOT``: ``simulations/runs``
of the source checkout varprop runs from, where the gallery's results are committed, checkpoints
aside, or ``varprop-runs`` in the working directory for an installed package)::

    ROOT/SCALE/CONFIG/ENTRY/            one result (ENTRY: a model's slug, or "result")
        experiment.json                 {"kind", "digest", "version", "params"}: what it is
        results.json, results.npz       its metadata and arrays (results.json written last)
    ROOT/SCALE/CONFIG/MODEL/lr=RATE/    a training trial (same three files, plus
        checkpoint.npz, provenance.json)  its checkpoint and where/how long it ran)
    ROOT/SCALE/CONFIG/MODEL/tuning.json the successive-halving record of a trained model

One digest rule for every kind of result (``digest``): the SHA-256 of the kind, its parameters,
the package version and the source of the code behind that kind (``code_digest``). That code is
*derived*, not listed: the module that computes the kind (``KINDS``) and every varprop module it
imports, directly or not, read from the import statements. So an edit to the Monte-Carlo code
leaves stored training runs valid, and an edit to the drawing code leaves every result valid.

An entry whose experiment.json carries another digest is stale and is removed before it is
computed anew; an entry with the right digest and a results.json whose status is final is done.
Files are written whole or not at all (``varprop.files``), and the same result has the same
bytes wherever and in whatever order it was computed.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import os
import re
import shutil
from functools import cache
from pathlib import Path

from . import __version__
from .files import UnreadableFile, read_json, read_npz, write_json, write_npz

STORE_ENV = "VARPROP_STORE"
PACKAGE = Path(__file__).resolve().parent
# From a source checkout (an editable install, or PYTHONPATH) the checkout's simulations/runs,
# where the gallery's results are committed; from an installed package (site-packages: no
# checkout around it) varprop-runs/ in the working directory.
CHECKOUT_ROOT = PACKAGE.parent / "simulations" / "runs"
IN_CHECKOUT = (PACKAGE.parent / "setup.cfg").is_file() and CHECKOUT_ROOT.parent.is_dir()
DEFAULT_ROOT = CHECKOUT_ROOT if IN_CHECKOUT else Path("varprop-runs")
EXPERIMENT_JSON, RESULTS_JSON, RESULTS_NPZ = "experiment.json", "results.json", "results.npz"
TUNING_JSON = "tuning.json"
FINAL = ("finished", "diverged")          # a result's status once nothing is left to compute

# Each kind of result and the module that computes it: the root of its code digest.
KINDS = {
    "init_statistics": "varprop.experiments",
    "cost_surface": "varprop.experiments",
    "shapeset_examples": "varprop.experiments",
    "jacobian_spectrum": "varprop.spectral_experiments",
    "phase_diagram": "varprop.spectral_experiments",
    "training": "varprop.training.run",
}


class StoreError(ValueError):
    """A stored file that cannot be read (the message names it and what to do)."""


def root(path=None) -> Path:
    """The store's root folder: ``path``, else $VARPROP_STORE, else ``DEFAULT_ROOT``."""
    return Path(path or os.environ.get(STORE_ENV) or DEFAULT_ROOT)


def slug(label: str) -> str:
    """'Tanh N' → 'tanh-n': a model's folder name."""
    s = re.sub(r"[^a-z0-9]+", "-", str(label).lower()).strip("-")
    if not s:
        raise ValueError(f"model label {label!r} has no letters or digits")
    return s


# ----------------------------------------------------------------------------- digests

def _module_file(name: str) -> Path | None:
    """The source file of module ``name`` (varprop.x.y), or None when it is not one."""
    parts = name.split(".")
    if parts[0] != "varprop":
        return None
    base = PACKAGE.joinpath(*parts[1:])
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.is_file():
            return p
    return None


def _lazy_submodules(path: Path, package: str) -> set[str]:
    """The submodules a package loads on first use: the string values of its module-level
    dicts that name one of its submodules (``datasets._LAZY``: attribute → submodule)."""
    found = set()
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            for v in node.value.values:
                if isinstance(v, ast.Constant) and isinstance(v.value, str) and \
                        _module_file(f"{package}.{v.value}") is not None:
                    found.add(f"{package}.{v.value}")
    return found


def _imports(path: Path, name: str) -> set[str]:
    """The varprop modules that ``path`` (module ``name``) imports anywhere in its body, with
    their packages (importing a.b runs a/__init__.py too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            mod = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)   # `from . import x`
    if path.name == "__init__.py":
        found.update(_lazy_submodules(path, name))
    out = set()
    for mod in found:
        parts = mod.split(".")
        for k in range(1, len(parts) + 1):
            out.add(".".join(parts[:k]))
    return {m for m in out if _module_file(m) is not None}


@cache
def code_modules(kind: str) -> tuple[str, ...]:
    """The varprop modules behind a kind of result: its computing module and every module it
    imports, transitively (sorted)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of result {kind!r}; choose one of: {', '.join(KINDS)}")
    todo, seen = [KINDS[kind]], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_imports(_module_file(name), name) - seen)
    seen.add("varprop")
    return tuple(sorted(seen))


@cache
def code_digest(kind: str) -> str:
    """SHA-256 over the source of ``code_modules(kind)``."""
    h = hashlib.sha256()
    for name in code_modules(kind):
        p = _module_file(name)
        h.update(p.relative_to(PACKAGE).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def digest(kind: str, params: dict) -> str:
    """The one key of a result: its kind, parameters, the version and the code behind it."""
    blob = json.dumps({"kind": kind, "params": params, "version": __version__,
                       "code": code_digest(kind)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


# ----------------------------------------------------------------------------- entries

REDO = "delete its folder to compute it again"


def _read_json(path: Path) -> dict:
    try:
        return read_json(path, REDO)
    except UnreadableFile as exc:
        raise StoreError(str(exc)) from None


def state(folder, kind: str, params: dict) -> str:
    """'done' (same digest, final status), 'partial' (same digest, unfinished), 'stale'
    (another digest, or files without a digest) or 'missing'."""
    folder = Path(folder)
    exp = folder / EXPERIMENT_JSON
    if not exp.is_file():
        return "stale" if folder.is_dir() and any(folder.iterdir()) else "missing"
    try:
        if read_json(exp, REDO).get("digest") != digest(kind, params):
            return "stale"
    except UnreadableFile:
        return "stale"
    res = folder / RESULTS_JSON
    if res.is_file() and (folder / RESULTS_NPZ).is_file() and \
            _read_json(res).get("status") in FINAL:
        return "done"
    return "partial"


def claim(folder, kind: str, params: dict) -> str:
    """Make ``folder`` the entry of this result: a stale entry is removed, a missing one made
    and labelled (experiment.json). Returns the state it was found in."""
    folder = Path(folder)
    found = state(folder, kind, params)
    if found == "stale":
        shutil.rmtree(folder)
    if found in ("stale", "missing"):
        folder.mkdir(parents=True, exist_ok=True)
        write_json(folder / EXPERIMENT_JSON, {"kind": kind, "digest": digest(kind, params),
                                              "version": __version__, "params": params})
    return found


def write_result(folder, kind: str, params: dict, arrays: dict, meta: dict) -> dict:
    """Store a computed result in ``folder``: experiment.json, results.npz, then results.json
    (the last file marks the entry complete). Returns the metadata stored."""
    folder = Path(folder)
    claim(folder, kind, params)
    meta = {**meta, "kind": kind, "params": params, "digest": digest(kind, params),
            "version": __version__, "status": meta.get("status", "finished")}
    write_npz(folder / RESULTS_NPZ, arrays, compress=True)
    write_json(folder / RESULTS_JSON, meta)
    return meta


def read_result(folder) -> tuple[dict, dict]:
    """(metadata, arrays) of the entry in ``folder``."""
    folder = Path(folder)
    if not (folder / RESULTS_JSON).is_file() or not (folder / RESULTS_NPZ).is_file():
        raise StoreError(f"{folder}: no results here ({RESULTS_JSON}, {RESULTS_NPZ})")
    meta = _read_json(folder / RESULTS_JSON)
    try:
        arrays = read_npz(folder / RESULTS_NPZ, REDO)
    except UnreadableFile as exc:
        raise StoreError(str(exc)) from None
    return meta, arrays


def results_files(top) -> list[Path]:
    """Every result file under ``top`` (experiment, results, tuning; not checkpoints or
    provenance), sorted: what two runs of the same configs must agree on byte for byte."""
    names = (EXPERIMENT_JSON, RESULTS_JSON, RESULTS_NPZ, TUNING_JSON)
    return sorted(p for p in Path(top).rglob("*") if p.name in names)
