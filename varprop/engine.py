"""Planning and running experiments: configs → what the store lacks → Dask tasks → the store.

This is the one place that decides what to compute and where. It reads the experiment configs
(``simulations/NAME.toml`` at a scale), asks the results store (``varprop.store``) what it
does not hold, and submits the missing work to a Dask cluster, every unit a task:

- a training trial (one learning rate of a model trained to a budget of updates, continued
  from its checkpoint: ``tuning.train_trial``); the successive halving of each model
  (``tuning.halving``) decides here, as trials finish, which rates go on;
- a batch of Monte-Carlo networks at initialisation (``montecarlo.sample_networks``), and the
  task that combines a model's batches and stores the result;
- any other experiment at initialisation, whole (``experiments.compute``).

The cluster is a ``LocalCluster`` of ``jobs`` worker processes with one thread each (BLAS and
Numba limited to one thread inside every task), or an existing cluster (``scheduler``: its
address). Every task writes its result to the store itself, so the store folder must be one that
every worker reaches, and every worker must run the same varprop (checked: the code digests).
A task whose worker dies is run again by Dask (``distributed.scheduler.allowed-failures``) and
continues from the store: a training trial from its last checkpoint, with the same bits.

Results do not depend on the number of workers or on where a task ran: every task is a pure
function of its parameters and seeds, run on one thread, and batches are combined in order.
"""
from __future__ import annotations

import math
import os
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import store
from .training.config import KEYS, from_dict

SCALES = ("smoke", "gallery", "paper")
SIMULATIONS = Path(__file__).resolve().parent.parent / "simulations"
TRAINING = "training"
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
# thread counts inside every worker process: one core per worker, no pool fighting another
WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMBA_NUM_THREADS": "1"}
POLL_SECONDS = 2.0


# ----------------------------------------------------------------------------- configs

def load_config(name: str, scale: str, folder=None) -> dict:
    """``simulations/NAME.toml``: top-level keys shared by every scale, overridden by the keys
    of the [SCALE] table."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of: {', '.join(SCALES)}")
    path = Path(folder or SIMULATIONS) / f"{name}.toml"
    if not path.is_file():
        raise ValueError(f"{path}: no such experiment config")
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    base = {k: v for k, v in raw.items() if k not in SCALES}
    if scale not in raw:
        raise ValueError(f"{path}: no [{scale}] table")
    return {**base, **raw[scale]}


# ----------------------------------------------------------------------------- jobs

@dataclass
class TaskSpec:
    """One unit of work: ``fn(*args)`` on a worker; ``updates`` its SGD updates (0 for work at
    initialisation), ``cost`` its estimated core-seconds (``--plan``)."""

    name: str
    fn: object
    args: tuple
    updates: int = 0
    kwargs: dict = field(default_factory=dict)


class ModelJob:
    """One training model: its successive halving, trial by trial, in ``folder``."""

    def __init__(self, config_name: str, label: str, config, folder: Path):
        from .training import tuning

        self.config_name, self.label, self.folder = config_name, label, Path(folder)
        self.config = config.replace(threads=1)
        self.tuning = tuning
        self.trials = {}
        self.running: dict[float, int] = {}           # lr → budget being trained
        grid = self.config.lr_grid or (self.config.lr,)
        self._tidy(grid)
        for lr in grid:
            tc = tuning.trial_config(self.config, lr)
            folder = tuning.trial_folder(self.folder, lr)
            store.claim(folder, TRAINING, tc.results_key())   # a stale trial is removed
            self.trials[lr] = tuning.Trial.read(lr, folder)
        self.planned = tuning.planned_updates(self.config)
        self._decide()

    def _decide(self) -> None:
        from .files import write_json

        self.decision = self.tuning.halving(self.config, self.trials)
        if self.decision.decided and not self._table_current():
            write_json(self.folder / store.TUNING_JSON, self.table())

    def _tidy(self, grid) -> None:
        """Remove what is not a trial of this grid (an older layout, a rate no longer in it)."""
        if not self.folder.is_dir():
            return
        keep = {self.tuning.trial_folder(self.folder, lr).name for lr in grid} | {
            store.TUNING_JSON}
        for p in self.folder.iterdir():
            if p.name not in keep:
                shutil.rmtree(p) if p.is_dir() else p.unlink()

    @property
    def done(self) -> bool:
        return self.decision.decided

    def _table_current(self) -> bool:
        import json
        try:
            return json.loads((self.folder / store.TUNING_JSON).read_text()) == self.table()
        except (OSError, ValueError):
            return False

    def table(self) -> dict:
        return self.tuning.table(self.config, self.decision, self.trials)

    def updates_done(self) -> int:
        return sum(min(t.updates_done, self.config.updates) for t in self.trials.values())

    def next_tasks(self) -> list[TaskSpec]:
        out = []
        for lr, budget in self.decision.todo.items():
            if self.running.get(lr) == budget:
                continue
            self.running[lr] = budget
            t = self.trials[lr]
            out.append(TaskSpec(
                f"{self.config_name}/{store.slug(self.label)}/lr={lr:g}@{budget}",
                self.tuning.train_trial,
                (self.tuning.trial_config(self.config, lr),
                 str(self.tuning.trial_folder(self.folder, lr)), budget),
                kwargs={"log": self.tuning.silent},
                updates=budget - min(t.updates_done, budget)))
        return out

    def finish(self, spec: TaskSpec, trial) -> None:
        self.trials[trial.lr] = trial
        self.running.pop(trial.lr, None)
        self._decide()

    def remaining_updates(self) -> int:
        """Updates still to train when no trial diverges (the halving's plan less what is
        done)."""
        return max(0, self.planned - self.updates_done())

    def poll(self) -> None:
        """Re-read the running trials' progress (their results.json, written at checkpoints)."""
        import json
        for lr in self.running:
            p = self.tuning.trial_folder(self.folder, lr) / store.RESULTS_JSON
            try:
                self.trials[lr].updates_done = max(self.trials[lr].updates_done,
                                                   int(json.loads(p.read_text())["updates_done"]))
            except (OSError, ValueError, KeyError):
                pass


def model_configs(params: dict) -> dict[str, object]:
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
    if len({store.slug(lb) for lb in out}) != len(out):
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


def training_jobs(name: str, params: dict, scale: str, root: Path) -> list[ModelJob]:
    return [ModelJob(name, label, config, root / scale / name / store.slug(label))
            for label, config in model_configs(params).items()]


# ----------------------------------------------------------------------------- cluster

@contextmanager
def cluster(jobs: int | None = None, scheduler: str | None = None, log=print):
    """A Dask client: of the cluster at ``scheduler`` (else $DASK_SCHEDULER_ADDRESS), else of a
    new LocalCluster of ``jobs`` worker processes (default: the cores), one thread each."""
    from distributed import Client, LocalCluster

    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if scheduler:
        with Client(scheduler, timeout="30s") as client:
            _check_workers(client)
            yield client
        return
    n = os.cpu_count() or 1 if jobs is None else jobs
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, env=WORKER_ENV,
                      dashboard_address=None, silence_logs=40) as lc, Client(lc) as client:
        yield client


def _worker_digests():
    from varprop import store as s
    return s.code_digest(TRAINING), s.code_digest("init_statistics")


def _check_workers(client) -> None:
    ours = _worker_digests()
    theirs = client.run(_worker_digests)
    if not theirs:
        raise ValueError("the Dask cluster has no workers; start some with "
                         "`dask worker ADDRESS` on machines that share the store folder")
    bad = [w for w, d in theirs.items() if tuple(d) != ours]
    if bad:
        raise ValueError(f"worker(s) {', '.join(bad)} run another varprop than this one "
                         "(install the same checkout on every worker)")


# ----------------------------------------------------------------------------- running

class Progress:
    """One display for a whole sweep: tasks done / total, updates done / total, rate, ETA."""

    def __init__(self, jobs, log, dashboard: str | None):
        from tqdm import tqdm

        self.jobs = jobs
        self.start_updates = self.updates()
        self.total_updates = self.start_updates + sum(j.remaining_updates() for j in jobs)
        self.tasks_done = 0
        self.tasks_total = 0
        self.log = log
        if dashboard:
            log(f"Dask dashboard: {dashboard}")
        self.bar = tqdm(total=self.total_updates, initial=self.start_updates, unit="upd",
                        dynamic_ncols=True, smoothing=0.05, desc="sweep", file=sys.stderr,
                        disable=self.total_updates == self.start_updates)

    def updates(self) -> int:
        return sum(j.updates_done() for j in self.jobs)

    def refresh(self) -> None:
        self.bar.n = min(self.updates(), self.total_updates)
        self.bar.set_postfix_str(f"tasks {self.tasks_done}/{self.tasks_total}", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.refresh()
        self.bar.close()


def execute(jobs: list, client, log=print) -> None:
    """Run every job's tasks on the client's cluster until every job is done."""
    from distributed import wait

    running = {}          # future → (job, spec)
    dashboard = getattr(client, "dashboard_link", None) if client.cluster is None else None
    progress = Progress(jobs, log, dashboard)

    def submit(job):
        for spec in job.next_tasks():
            fut = client.submit(spec.fn, *spec.args, **spec.kwargs,
                                key=f"{spec.name}-{_token(spec)}", pure=False)
            running[fut] = (job, spec)
            progress.tasks_total += 1

    for job in jobs:
        submit(job)
    try:
        while running:
            try:
                done, _ = wait(list(running), timeout=POLL_SECONDS,
                               return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = ()
            for fut in done:
                job, spec = running.pop(fut)
                job.finish(spec, fut.result())
                progress.tasks_done += 1
                submit(job)
            for job in jobs:
                if hasattr(job, "poll"):
                    job.poll()
            progress.refresh()
    finally:
        for fut in running:
            fut.cancel()
        progress.close()


def _token(spec) -> str:
    import hashlib
    return hashlib.sha256(repr(spec.args).encode()).hexdigest()[:8]


def run_training(names, scale: str, root=None, jobs: int | None = None,
                 scheduler: str | None = None, log=print) -> None:
    """Train every model of the training configs ``names`` at ``scale`` into the store."""
    root = store.root(root)
    todo = []
    for name in names:
        params = {k: v for k, v in load_config(name, scale).items() if k != "kind"}
        todo += [j for j in training_jobs(name, params, scale, root) if not j.done]
    if not todo:
        return
    with cluster(jobs, scheduler, log) as client:
        execute(todo, client, log)
