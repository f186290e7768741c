"""The results store: one digest rule derived from imports, byte-identical files, entry states."""
from __future__ import annotations

import shutil
import time

import numpy as np
import pytest

from varprop import store
from varprop.files import read_npz, write_npz


def test_code_behind_each_kind_follows_imports():
    """Training results depend on the training code, not on the Monte-Carlo code, the
    experiments at initialisation, the engine or the drawing code; and the other way round."""
    training = set(store.code_modules("training"))
    init = set(store.code_modules("init_statistics"))
    assert {"varprop.training.run", "varprop.training.sgd", "varprop.training.monitors",
            "varprop.quantities", "varprop.theory"} <= training
    assert {"varprop.experiments", "varprop.montecarlo", "varprop.kernels.passes",
            "varprop.quantities"} <= init
    for outside in ("varprop.montecarlo", "varprop.experiments", "varprop.engine",
                    "varprop.store", "varprop.figures", "varprop.training.tuning"):
        assert outside not in training
    for outside in ("varprop.training.run", "varprop.training.sgd", "varprop.engine",
                    "varprop.figures", "varprop.cli"):
        assert outside not in init
    for kind in store.KINDS:
        assert not any(m.startswith("varprop.figures") for m in store.code_modules(kind))


@pytest.fixture
def package_copy(tmp_path, monkeypatch):
    """A copy of the package that the store digests instead of the installed one."""
    copy = tmp_path / "varprop"
    shutil.copytree(store.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(store, "PACKAGE", copy)
    for f in (store.code_modules, store.code_digest):
        f.cache_clear()
    yield copy
    for f in (store.code_modules, store.code_digest):
        f.cache_clear()


def _digests():
    for f in (store.code_modules, store.code_digest):
        f.cache_clear()
    return {k: store.code_digest(k) for k in ("training", "init_statistics")}


def test_an_edit_changes_the_digest_of_the_results_behind_it_only(package_copy):
    before = _digests()
    (package_copy / "montecarlo.py").write_text(
        (package_copy / "montecarlo.py").read_text() + "\n# an edit\n")
    after_mc = _digests()
    assert after_mc["training"] == before["training"]           # the gallery's runs stay valid
    assert after_mc["init_statistics"] != before["init_statistics"]
    (package_copy / "figures" / "fig2.py").write_text("# drawing code\n")
    assert _digests() == after_mc                               # drawing invalidates nothing
    (package_copy / "quantities.py").write_text(
        (package_copy / "quantities.py").read_text() + "\n# shared names\n")
    after_shared = _digests()
    assert after_shared["training"] != after_mc["training"]
    assert after_shared["init_statistics"] != after_mc["init_statistics"]
    params = {"a": 1}
    assert store.digest("training", params) != store.digest("training", {"a": 2})


def test_npz_files_carry_no_time(tmp_path):
    arrays = {"x": np.arange(5.0), "y": np.eye(3, dtype=np.float32), "n": np.int64(7)}
    write_npz(tmp_path / "a.npz", arrays)
    time.sleep(2.1)     # the zip format's clock ticks in 2-second steps
    write_npz(tmp_path / "b.npz", arrays, compress=False)
    write_npz(tmp_path / "c.npz", arrays, compress=True)
    time.sleep(2.1)
    write_npz(tmp_path / "d.npz", arrays, compress=True)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    assert (tmp_path / "c.npz").read_bytes() == (tmp_path / "d.npz").read_bytes()
    back = read_npz(tmp_path / "c.npz")
    assert set(back) == set(arrays)
    for k, v in arrays.items():
        assert np.array_equal(back[k], v) and back[k].dtype == np.asarray(v).dtype


def test_entry_states_and_stale_entries(tmp_path):
    folder = tmp_path / "smoke" / "cfg" / "model"
    params = {"widths": [3, 2], "seed": 0}
    assert store.state(folder, "cost_surface", params) == "missing"
    assert store.claim(folder, "cost_surface", params) == "missing"
    assert store.state(folder, "cost_surface", params) == "partial"
    meta = store.write_result(folder, "cost_surface", params, {"v": np.ones(2)}, {"note": "x"})
    assert meta["digest"] == store.digest("cost_surface", params)
    assert store.state(folder, "cost_surface", params) == "done"
    got, arrays = store.read_result(folder)
    assert got == meta and np.array_equal(arrays["v"], np.ones(2))
    # another config (or code): stale, and claiming it empties the folder first
    other = {**params, "seed": 1}
    assert store.state(folder, "cost_surface", other) == "stale"
    (folder / "leftover.txt").write_text("old")
    assert store.claim(folder, "cost_surface", other) == "stale"
    assert not (folder / "leftover.txt").exists()
    assert store.state(folder, "cost_surface", other) == "partial"
    # files without a label are stale too
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "results.json").write_text("{}")
    assert store.state(bare, "cost_surface", params) == "stale"


def test_unreadable_results_name_the_file(tmp_path):
    folder = tmp_path / "e"
    store.write_result(folder, "cost_surface", {}, {"v": np.ones(1)}, {})
    (folder / store.RESULTS_JSON).write_text("{not json")
    with pytest.raises(store.StoreError, match=r"results\.json: unreadable .*delete its folder"):
        store.read_result(folder)


# Each computation in a fresh interpreter: import its kind's module, compute a small result, and
# list the varprop modules that are loaded then (lazy loads included, e.g. datasets._LAZY). The
# configs are read with tomllib alone, so that nothing but the computation loads varprop.
_SETUP = """
import tomllib
from pathlib import Path
import varprop


def smoke_config(name):
    with open(Path(varprop.__file__).parent / "configs" / f"{name}.toml", "rb") as f:
        raw = tomllib.load(f)
    return {**{k: v for k, v in raw.items() if not isinstance(v, dict)}, **raw["smoke"]}
"""
_COMPUTE = {
    "training": """
from varprop.training import run
from varprop.training.config import from_dict
run.train(from_dict(dict(hidden=[6], updates=4, monitor_every=2, eval_every=2,
                         checkpoint_every=2, eval_examples=20, monitor_examples=10, bins=5,
                         threads=1)), OUT, quiet=True, log=lambda m: None)
""",
    "init_statistics": """
from varprop import experiments
params = smoke_config("init_tanh")
kind = params.pop("kind")
entry = next(iter(experiments.entries(kind, params).values()))
entry.update(widths=[1024, 8, 9], networks=1, samples=20)
experiments.finish(kind, entry, [experiments.sample_batch(entry, 0, 1)])
""",
    "shapeset_examples": """
from varprop import experiments
params = smoke_config("shapeset_examples")
experiments.finish(params.pop("kind"), params)
""",
}


@pytest.mark.parametrize("kind", sorted(_COMPUTE))
def test_the_digest_covers_every_module_the_computation_loads(kind, tmp_path):
    """``code_modules`` reads imports statically; this runs the computation and checks that no
    varprop module it loads is missing from its kind's digest."""
    import subprocess
    import sys

    script = (f"OUT = {str(tmp_path / 'run')!r}\n" + _SETUP + _COMPUTE[kind] +
              "import sys\nprint(' '.join(sorted(m for m in sys.modules "
              "if m == 'varprop' or m.startswith('varprop.'))))\n")
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    loaded = set(res.stdout.split())
    assert loaded - set(store.code_modules(kind)) == set()
