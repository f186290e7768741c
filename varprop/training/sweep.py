"""Training experiments: the paper's models trained at a scale, for the training-time figures
(2, 3, 4, 9, 10, 11, 12, T) and Table 1.

A config (``simulations/train_*.toml``, ``kind = "training"``) names the models as
``[label, activation, init, depth]``, optionally with a fifth entry, a table of the model's own
training keys; every other key is a ``TrainConfig`` key shared by them (``width`` gives
``hidden = [width] * depth``). Each model, as in the paper (Section 3): its
learning rate is chosen on validation error over ``lr_grid`` (``tuning.tune``, ``tune_updates``
updates per rate), then it trains for ``updates`` updates at the chosen rate.

Every model's runs live in ``RUNS/SCALE/CONFIG/LABEL/`` (RUNS: ``$VARPROP_RUNS``, else
``simulations/runs``; the gallery's are committed, checkpoints aside):

- ``experiment.json``: the model's key — a SHA-256 of its TrainConfig (threads and data folder
  aside), the package version and the source the results depend on (``code_digest``);
- ``tuning.json`` and ``lr-grid/lr=RATE/``: the grid and every rate's run;
- ``results.json`` and ``results.npz``: the run at the chosen rate (``run.py``).

A folder whose key matches and whose run has finished (or diverged) is reused as it is; one
whose key matches but which stopped early is resumed from its checkpoints (bit for bit, see
``run.py``); one whose key differs is stale and is recomputed from scratch. Models run one after
another, or in ``jobs`` worker processes with one thread each.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path

from .. import __version__
from ..datasets.cache import atomic_path
from .config import KEYS, TrainConfig, from_dict
from .run import RESULTS_JSON, Diverged, read_results, train
from .tuning import tune

RUNS_ENV = "VARPROP_RUNS"
DEFAULT_RUNS = Path(__file__).resolve().parents[2] / "simulations" / "runs"
EXPERIMENT_JSON, TUNING_JSON = "experiment.json", "tuning.json"
# The source behind training results (what run.py imports, directly or not): a change here
# makes every stored run stale. Drawing, command lines, reports and orchestration are not.
BEHIND = ("activations.py", "choices.py", "gaussian.py", "init.py",
          "montecarlo.py", "theory.py", "threads.py", "validation.py", "kernels/", "symbolic/",
          "datasets/cache.py", "datasets/cifar.py", "datasets/idx.py", "datasets/interface.py",
          "datasets/mnist.py", "datasets/shapeset.py", "datasets/__init__.py",
          "training/config.py", "training/monitors.py",
          "training/network.py", "training/run.py", "training/sgd.py", "training/tuning.py")


def runs_dir() -> Path:
    return Path(os.environ.get(RUNS_ENV) or DEFAULT_RUNS)


@cache
def code_digest() -> str:
    """SHA-256 over the package source behind training results (sorted by path)."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for p in sorted(root.rglob("*.py")):
        rel = p.relative_to(root).as_posix()
        if not any(rel == b or (b.endswith("/") and rel.startswith(b)) for b in BEHIND):
            continue
        h.update(rel.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def slug(label: str) -> str:
    """'Tanh N' → 'tanh-n': the model's folder name."""
    s = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    if not s:
        raise ValueError(f"model label {label!r} has no letters or digits")
    return s


def model_configs(params: dict) -> dict[str, TrainConfig]:
    """{label: TrainConfig} of a training experiment's models (params: the config's keys)."""
    shared = {k: v for k, v in params.items() if k not in ("models", "width")}
    unknown = sorted(set(shared) - set(KEYS))
    if unknown:
        raise ValueError(f"training experiment: unknown key(s) {', '.join(map(repr, unknown))}; "
                         f"valid keys: models, width, {', '.join(KEYS)}")
    out = {}
    for model in params["models"]:
        if len(model) not in (4, 5) or (len(model) == 5 and not isinstance(model[4], dict)):
            raise ValueError("a model is [label, activation, init, depth] or [label, activation, "
                             f"init, depth, {{key = value, ...}}], got {model!r}")
        label, activation, init, depth = model[:4]
        own = model[4] if len(model) == 5 else {}     # the model's own training keys
        bad = sorted(set(own) - set(KEYS))
        if bad:
            raise ValueError(f"model {label!r}: unknown key(s) {', '.join(map(repr, bad))}; "
                             f"valid keys: {', '.join(KEYS)}")
        out[label] = from_dict({**shared, "activation": activation, "init": init,
                                "hidden": [int(params["width"])] * int(depth), **own})
    if len({slug(lb) for lb in out}) != len(out):
        raise ValueError(f"model labels must differ in their letters and digits: {list(out)}")
    return out


def data_present(params: dict) -> bool:
    """Whether a training experiment's data are here (params: the config's keys): for
    CIFAR-10, which no registry ships, whether ``cifar.locate`` finds its batches (in
    ``data_dir``, $VARPROP_CIFAR10 or the data cache); every other data set is always present
    (fetched or generated when needed). Figures take their ``OPTIONAL`` configs only when True."""
    from ..datasets import cifar
    from ..datasets.cache import DataMissing
    from ..datasets.interface import canonical_name
    if canonical_name(params.get("dataset", "shapeset")) != "cifar-10":
        return True
    try:
        cifar.locate(params.get("data_dir"))
    except DataMissing:
        return False
    return True


def key(config: TrainConfig) -> str:
    d = config.to_dict()
    for k in ("threads", "data_dir"):
        d.pop(k)
    blob = json.dumps({"config": d, "version": __version__, "code": code_digest()},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def state(folder: Path, config: TrainConfig) -> str:
    """'done', 'partial' (same key, unfinished), 'stale' (another key) or 'missing'."""
    exp = folder / EXPERIMENT_JSON
    if not exp.is_file():
        return "stale" if folder.exists() and any(folder.iterdir()) else "missing"
    if json.loads(exp.read_text()).get("digest") != key(config):
        return "stale"
    res = folder / RESULTS_JSON
    if res.is_file() and json.loads(res.read_text())["status"] in ("finished", "diverged") and \
            (folder / TUNING_JSON).is_file():
        return "done"
    return "partial"


def train_model(config: TrainConfig, folder, *, quiet: bool = True, log=print) -> str:
    """Tune and train one model in ``folder`` (reusing, resuming or recomputing, see above);
    returns the state it was found in."""
    folder = Path(folder)
    found = state(folder, config)
    if found == "done":
        return found
    if found == "stale":
        log(f"{folder}: stale (config or code changed): recomputing")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / EXPERIMENT_JSON) as tmp:
        tmp.write_text(json.dumps({"digest": key(config), "version": __version__,
                                   "config": config.to_dict()}, indent=2) + "\n")
    if config.lr_grid:
        table = tune(config, folder, quiet=True, log=lambda m: log(f"{folder.name}: {m}"))
        chosen = config.replace(lr=table["chosen_lr"])
    else:   # no grid: the config's rate, recorded as a one-rate table
        chosen = config
    try:
        train(chosen, folder, resume=(folder / RESULTS_JSON).is_file(), quiet=quiet,
              log=lambda m: log(f"{folder.name}: {m}"))
    except Diverged as exc:
        log(f"{folder.name}: {exc}")
    if not config.lr_grid:
        with atomic_path(folder / TUNING_JSON) as tmp:
            tmp.write_text(json.dumps({"grid": [config.lr], "chosen_lr": config.lr,
                                       "runs": []}, indent=2) + "\n")
    return found


def _worker(args):
    config, folder = args
    return train_model(config.replace(threads=1), folder, quiet=True, log=_print)


def _print(message):
    print(message, flush=True)


_RECOMPUTED: set[Path] = set()   # folders recomputed in this process (``recompute=True``)
TRAINED: list[str] = []          # folders trained (or resumed) by run_all: tests read it


def run_all(experiments: dict, scale: str, jobs: int = 1, log=print,
            recompute: bool = False) -> None:
    """Tune and train every model of ``experiments`` ({config name: params}) at ``scale``,
    in ``jobs`` processes (1: in this process, with a progress bar). ``recompute``: discard the
    stored runs and train anew (once per process)."""
    if jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs}")
    todo = []
    for name, params in experiments.items():
        for label, config in model_configs(params).items():
            folder = runs_dir() / scale / name / slug(label)
            if recompute and folder not in _RECOMPUTED:
                shutil.rmtree(folder, ignore_errors=True)
                _RECOMPUTED.add(folder)
            if state(folder, config) != "done":
                todo.append((config, folder))
    if not todo:
        return
    TRAINED.extend(str(f) for _, f in todo)
    log(f"training {len(todo)} model(s) at scale {scale} "
        f"({'in this process' if jobs == 1 else f'{jobs} processes, one thread each'})")
    # the longest first: a fair share between the processes
    todo.sort(key=lambda cf: -cf[0].updates * sum(cf[0].hidden))
    if jobs == 1:
        for config, folder in todo:
            log(f"{folder.relative_to(runs_dir())}: {config.activation} {config.init} "
                f"{len(config.hidden)}x{config.hidden[0]}, {config.updates:,} updates")
            train_model(config, folder, quiet=False, log=log)
        return
    import multiprocessing
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        for _ in pool.map(_worker, todo):
            pass


def load_model(name: str, scale: str, label: str, config: TrainConfig) -> dict:
    """One model's results: {"meta", "arrays", "tuning", "config"} (after run_all)."""
    folder = runs_dir() / scale / name / slug(label)
    if state(folder, config) != "done":
        raise ValueError(f"{folder}: no finished run for this config (run the experiment first)")
    meta, arrays = read_results(folder)
    tuning = json.loads((folder / TUNING_JSON).read_text())
    return {"meta": meta, "arrays": arrays, "tuning": tuning, "config": config,
            "digest": key(config), "folder": str(folder)}


def training(params: dict, name: str, scale: str, jobs: int = 1, log=print,
             recompute: bool = False) -> dict:
    """The experiment runner: {label: load_model(...)} for every model, training what is
    missing or stale first."""
    run_all({name: params}, scale, jobs, log, recompute)
    return {label: load_model(name, scale, label, c)
            for label, c in model_configs(params).items()}
