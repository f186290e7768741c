"""Planning and running experiments: configs → what the store lacks → Dask tasks → the store.

This is the one place that decides what to compute and where. It reads the experiment configs
(``varprop/configs/NAME.toml`` at a scale), asks the results store (``varprop.store``) what it
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

import os
import shutil
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import configs, store
from .resources import require_memory, writable_folder
from .training.config import KEYS, from_dict

SCALES = ("smoke", "gallery", "paper")
TRAINING = "training"
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
# thread counts inside every worker process: one core per worker, no pool fighting another
WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMBA_NUM_THREADS": "1"}
# Dask's housekeeping inside CPU-bound single-thread workers: no 10 ms stack profiler, no
# malloc-trim setting, rarer ticks and monitors. Measured with benchmarks/montecarlo_speed.py:
# 2 workers reach 74-77 % of twice the single-thread GEMM throughput with these, 68-71 % without.
WORKER_CONFIG = {"distributed.worker.profile.enabled": False,
                 "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                 "distributed.admin.tick.interval": "1s",
                 "distributed.admin.system-monitor.interval": "5s",
                 "distributed.worker.memory.monitor-interval": "1s"}
# A worker process and its nanny with varprop, NumPy and Numba imported: 166 MB measured
# (peak RSS of the worker); with the nanny's and room for Dask's buffers, 300 MB each.
WORKER_BYTES = 300 * 2 ** 20
POLL_SECONDS = 2.0
TASKS_RUN: list[int] = []     # tasks run by each ``run`` call of this process (tests read it)


# ----------------------------------------------------------------------------- configs

def load_config(name: str, scale: str, folder=None) -> dict:
    """The experiment config NAME (``configs.path``: ``varprop/configs/NAME.toml``, or
    ``folder/NAME.toml``): top-level keys shared by every scale, overridden by the keys of the
    [SCALE] table."""
    import tomllib
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of: {', '.join(SCALES)}")
    path = configs.path(name, folder)
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
    """One unit of work: ``fn(*args, **kwargs)`` on a worker; ``name`` says what it is (and
    keys it on the cluster)."""

    name: str
    fn: object
    args: tuple
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
        self.grid = self.config.lr_grid or (self.config.lr,)
        for lr in self.grid:    # a stale trial counts as missing (removed when trained)
            folder = tuning.trial_folder(self.folder, lr)
            fresh = store.state(folder, TRAINING, self._params(lr)) in ("done", "partial")
            self.trials[lr] = tuning.Trial.read(lr, folder) if fresh else tuning.Trial(lr)
        self.planned = tuning.planned_updates(self.config)
        self.decision = tuning.halving(self.config, self.trials)

    def memory_needed(self) -> int:
        from .training.run import memory_needed, widths_for
        return memory_needed(self.config, widths_for(self.config))

    def _params(self, lr: float) -> dict:
        """A trial's key: its full-length run's config."""
        return self.tuning.trial_config(self.config, lr).results_key()

    def prepare(self) -> None:
        """Before training: remove what is not a trial of this grid (an older layout, a rate
        no longer in it) and label every trial's folder (a stale one is emptied first)."""
        self._tidy()
        for lr in self.grid:
            store.claim(self.tuning.trial_folder(self.folder, lr), TRAINING, self._params(lr))
        self._decide()

    def _decide(self) -> None:
        from .files import write_json

        self.decision = self.tuning.halving(self.config, self.trials)
        if self.decision.decided and not self._table_current():
            write_json(self.folder / store.TUNING_JSON, self.table())

    def _tidy(self) -> None:
        """Remove what is not a trial of this grid (an older layout, a rate no longer in it)."""
        if not self.folder.is_dir():
            return
        keep = {self.tuning.trial_folder(self.folder, lr).name for lr in self.grid} | {
            store.TUNING_JSON}
        for p in self.folder.iterdir():
            if p.name not in keep:
                shutil.rmtree(p) if p.is_dir() else p.unlink()

    @property
    def done(self) -> bool:
        return self.decision.decided and self._table_current()

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
            out.append(TaskSpec(
                f"{self.config_name}/{store.slug(self.label)}/lr={lr:g}@{budget}",
                self.tuning.train_trial,
                (self.tuning.trial_config(self.config, lr),
                 str(self.tuning.trial_folder(self.folder, lr)), budget),
                kwargs={"log": self.tuning.silent}))
        return out

    def result(self) -> dict:
        """The model's results: the chosen rate's trial, its halving record, config, digest."""
        lr = self.decision.chosen_lr
        folder = self.tuning.trial_folder(self.folder, lr)
        meta, arrays = store.read_result(folder)
        return {"meta": meta, "arrays": arrays, "tuning": self.table(),
                "config": self.tuning.trial_config(self.config, lr),
                "digest": store.digest(TRAINING, self._params(lr)), "folder": str(folder)}

    def finish(self, spec: TaskSpec, trial) -> None:
        self.trials[trial.lr] = trial
        self.running.pop(trial.lr, None)
        self._decide()

    def remaining_updates(self) -> int:
        """Updates still to train when no trial diverges (the halving's plan less what is
        done)."""
        return max(0, self.planned - self.updates_done())

    def remaining_tasks(self) -> int:
        """Trial steps still to run when no trial diverges: per rung, the k furthest trials
        that have not reached its budget."""
        from .training.tuning import rungs

        furthest = sorted(self.trials.values(), key=lambda t: -t.updates_done)
        return sum(sum(1 for t in furthest[:k] if t.updates_done < b)
                   for k, b in rungs(self.config))

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
    CIFAR-10, which no registry ships, whether its batches are found (in ``data_dir``,
    $VARPROP_CIFAR10 or the data cache); every other data set is always present (fetched or
    generated when needed). Figures take their ``OPTIONAL`` configs only when True."""
    from .datasets.cache import DataMissing
    from .datasets.interface import canonical_name, require_data
    if canonical_name(params.get("dataset", "shapeset")) != "cifar-10":
        return True
    try:
        require_data("cifar-10", params.get("data_dir"))
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
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise ValueError(f"cannot reach the Dask scheduler at {scheduler!r} "
                             f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                             "start one with `dask scheduler`, or give --scheduler "
                             f"(or ${SCHEDULER_ENV}) its address, e.g. tcp://HOST:8786") from None
        with client:
            _check_workers(client)
            yield client
        return
    n = (os.cpu_count() or 1) if jobs is None else jobs
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    import dask

    # ":0": any free port for the scheduler's web server (the dashboard when bokeh is there)
    with dask.config.set(WORKER_CONFIG):
        lc = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, env=WORKER_ENV,
                          dashboard_address=":0", silence_logs=40)
    with lc, Client(lc) as client:
        yield client


def _worker_digests():
    from varprop import store as s
    return s.code_digest(TRAINING), s.code_digest("init_statistics")


def _worker_cpu() -> str:
    """The CPU Numba compiles for: the SGD step lets LLVM vectorise its sums
    (``fastmath`` reassoc, contract), so their rounding follows the vector width and FMA."""
    import llvmlite.binding as ll
    import numba
    return (f"{numba.config.CPU_NAME or ll.get_host_cpu_name()} "
            f"{numba.config.CPU_FEATURES or ll.get_host_cpu_features().flatten()}")


def _check_workers(client) -> None:
    """Every worker runs this varprop, on one kind of CPU (else the same config could give
    other bits depending on where a task ran)."""
    ours = _worker_digests()
    theirs = client.run(_worker_digests)
    if not theirs:
        raise ValueError("the Dask cluster has no workers; start some with "
                         "`dask worker ADDRESS` on machines that share the store folder")
    bad = [w for w, d in theirs.items() if tuple(d) != ours]
    if bad:
        raise ValueError(f"worker(s) {', '.join(bad)} run another varprop than this one "
                         "(install the same checkout on every worker)")
    cpus = set(client.run(_worker_cpu).values())
    if len(cpus) > 1:
        names = sorted({c.split()[0] for c in cpus})
        raise ValueError(f"the workers' CPUs differ ({', '.join(names)}): the SGD step's "
                         "rounding follows the CPU's vector width, so results would depend on "
                         "where a task ran; use one CPU model, or set NUMBA_CPU_NAME=generic "
                         "for every worker")


# ----------------------------------------------------------------------------- running

class Progress:
    """One display for a whole sweep: SGD updates done / total with their rate and the ETA,
    and tasks done / total (a sweep without training counts tasks instead); the Dask
    dashboard's address when the cluster has one. Written to stderr."""

    def __init__(self, jobs, log, dashboard: str | None):
        from tqdm import tqdm

        self.jobs = jobs
        self.start_updates = self.updates()
        self.total_updates = self.start_updates + sum(j.remaining_updates() for j in jobs)
        self.by_updates = self.total_updates > self.start_updates
        self.tasks_done = 0
        self.tasks_planned = sum(j.remaining_tasks() for j in jobs)
        self.tasks_submitted = 0
        if dashboard:
            log(f"Dask dashboard: {dashboard}")
        total, start = ((self.total_updates, self.start_updates) if self.by_updates else
                        (self.tasks_planned, 0))
        self.bar = tqdm(total=total, initial=start, unit="upd" if self.by_updates else "task",
                        dynamic_ncols=True, smoothing=0.05, desc="sweep", file=sys.stderr,
                        mininterval=1.0)

    def updates(self) -> int:
        return sum(j.updates_done() for j in self.jobs)

    def refresh(self) -> None:
        total = max(self.tasks_planned, self.tasks_submitted)
        if self.by_updates:
            self.bar.n = min(self.updates(), self.total_updates)
            self.bar.set_postfix_str(f"tasks {self.tasks_done}/{total}", refresh=False)
        else:
            self.bar.total = total
            self.bar.n = self.tasks_done
        self.bar.refresh()

    def close(self) -> None:
        self.refresh()
        self.bar.close()


def execute(jobs: list, client, log=print) -> int:
    """Run every job's tasks on the client's cluster until every job is done; returns the
    number of tasks run."""
    from distributed import wait

    running = {}          # future → (job, spec)
    dashboard = client.dashboard_link if client.cluster is None or _has_bokeh() else None
    progress = Progress(jobs, log, dashboard)

    def submit(job):
        for spec in job.next_tasks():
            fut = client.submit(spec.fn, *spec.args, **spec.kwargs,
                                key=f"{spec.name}-{uuid.uuid4().hex[:8]}")
            running[fut] = (job, spec)
            progress.tasks_submitted += 1

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
                job.poll()
            progress.refresh()
    finally:
        for fut in running:
            fut.cancel()
        progress.close()
    return progress.tasks_done


def _has_bokeh() -> bool:
    import importlib.util
    return importlib.util.find_spec("bokeh") is not None


def experiment_module(kind):
    """The module that computes a kind of result at initialisation (``store.KINDS``): it has
    ``entries``, ``tasks``, ``finish`` and ``memory_needed``."""
    import importlib

    if kind not in store.KINDS or kind == TRAINING:
        raise ValueError(f"unknown experiment kind {kind!r}; choose one of: "
                         f"{', '.join(store.KINDS)}")
    return importlib.import_module(store.KINDS[kind])


class EntryJob:
    """One result at initialisation: its Monte-Carlo batches (tasks), then the step that
    combines them, adds the theories and stores the result (a task too)."""

    def __init__(self, config_name: str, kind: str, entry: str, params: dict, folder: Path):
        self.config_name, self.kind, self.entry = config_name, kind, entry
        self.params, self.folder = params, Path(folder)
        self.steps = experiment_module(kind).tasks(kind, params)
        self.partials = [None] * len(self.steps)
        self.submitted = False
        self.finishing = False
        self.done = store.state(self.folder, kind, params) == "done"

    def updates_done(self) -> int:
        return 0

    def remaining_updates(self) -> int:
        return 0

    def prepare(self) -> None:
        pass

    def poll(self) -> None:
        pass

    def remaining_tasks(self) -> int:
        return 0 if self.done else len(self.steps) + 1

    def memory_needed(self) -> int:
        return experiment_module(self.kind).memory_needed(self.kind, self.params)

    def next_tasks(self) -> list[TaskSpec]:
        name = f"{self.config_name}/{store.slug(self.entry)}"
        if not self.submitted:
            self.submitted = True
            if self.steps:
                return [TaskSpec(f"{name}#{i}", fn, args) for i, (fn, args) in enumerate(self.steps)]
        if not self.finishing and all(p is not None for p in self.partials):
            self.finishing = True
            return [TaskSpec(f"{name}#store", compute_entry,
                             (self.kind, self.params, str(self.folder), self.partials))]
        return []

    def result(self) -> dict:
        meta, arrays = store.read_result(self.folder)
        return {"meta": meta, **arrays}

    def finish(self, spec: TaskSpec, result) -> None:
        if spec.name.endswith("#store"):
            self.done = True
            self.partials = []           # free the batches
        else:
            self.partials[int(spec.name.rpartition("#")[2])] = result


def compute_entry(kind: str, params: dict, folder: str, partials=()) -> str:
    """A task: compute one result at initialisation from its batches and store it."""
    from .threads import thread_limits

    with thread_limits(blas_threads=1, numba_threads=1):
        arrays, meta = experiment_module(kind).finish(kind, params, partials)
    store.write_result(folder, kind, params, arrays, meta)
    return folder


def jobs_for(names, scale: str, root=None, configs=None) -> list:
    """Every job of the configs ``names`` at ``scale`` (done or not); ``configs``: the folder
    of the configs (default: the package's, ``varprop/configs/``)."""
    root = store.root(root)
    jobs = []
    for name in names:
        params = load_config(name, scale, configs)
        kind = params.pop("kind", None)
        if kind == TRAINING:
            jobs += training_jobs(name, params, scale, root)
            continue
        for entry, sub in experiment_module(kind).entries(kind, params).items():
            jobs.append(EntryJob(name, kind, entry, sub, root / scale / name / store.slug(entry)))
    return jobs


def run(names, scale: str, root=None, jobs: int | None = None, scheduler: str | None = None,
        recompute: bool = False, log=print, configs=None) -> int:
    """Compute what the store lacks of the configs ``names`` at ``scale`` on a Dask cluster
    (``cluster``); ``recompute``: remove their stored results first. Returns the number of
    tasks run."""
    root = store.root(root).absolute()      # workers elsewhere resolve no relative path
    writable_folder(root, "--store")
    todo = [j for j in jobs_for(names, scale, root, configs) if recompute or not j.done]
    if not todo:
        TASKS_RUN.append(0)
        return 0
    if scheduler is None and not os.environ.get(SCHEDULER_ENV):
        workers = jobs or os.cpu_count() or 1
        require_memory(workers * (WORKER_BYTES + max(j.memory_needed() for j in todo)),
                       f"a local cluster of {workers} workers", "use fewer --jobs")
    with cluster(jobs, scheduler, log) as client:   # reached: now the store may change
        if recompute:
            for name in names:
                shutil.rmtree(root / scale / name, ignore_errors=True)
            todo = [j for j in jobs_for(names, scale, root, configs) if not j.done]
        root.mkdir(parents=True, exist_ok=True)
        for job in todo:
            job.prepare()
        todo = [j for j in todo if not j.done]
        TASKS_RUN.append(execute(todo, client, log) if todo else 0)
    return TASKS_RUN[-1]


# ----------------------------------------------------------------------------- the plan

@dataclass
class PlanRow:
    """What one config still needs: tasks, SGD updates and estimated core-seconds."""

    config: str
    what: str
    tasks: int
    updates: int
    core_seconds: float


def _training_rate(config, seconds: float = 1.5) -> float:
    """SGD updates per second of one core on ``config``'s network and data stream (the step
    and the stream's generation; monitors and evaluations aside), timed here."""
    import time

    import numpy as np

    from .datasets.interface import stream
    from .threads import thread_limits
    from .training.network import init_network
    from .training.run import widths_for
    from .training.sgd import step_for

    net = init_network(widths_for(config), config.activation, config.init, config.law,
                       config.dtype, 0)
    kw = {} if config.dataset == "shapeset" else {"data_dir": config.data_dir}
    batches = stream(config.dataset, config.batch_size * 100, config.data_seed, **kw)
    step = step_for(net, config.batch_size, config.cost, threads=1)
    B = config.batch_size
    with thread_limits(blas_threads=1, numba_threads=1):
        n, t0, started = 0, 0.0, False
        while True:
            xs, ys = next(batches)
            xs = np.ascontiguousarray(xs, dtype=config.dtype)
            for k in range(100):
                step(xs[k * B:(k + 1) * B], ys[k * B:(k + 1) * B], 1e-4)
            if not started:        # the first 100 updates compile and warm up
                started, t0 = True, time.perf_counter()
                continue
            n += 100
            if time.perf_counter() - t0 >= seconds:
                return n / (time.perf_counter() - t0)


def _entry_seconds(job) -> float:
    """Core-seconds of one init entry's Monte-Carlo networks, extrapolated from one network
    timed here on at most 100 inputs (and one Jacobian SVD set when the entry takes any)."""
    import time

    from . import experiments

    if job.kind != "init_statistics":
        return 1.0
    p = job.params
    samples, jac = int(p["samples"]), int(p.get("jacobian_inputs", 0))
    small = {**p, "networks": 1, "samples": min(samples, 100), "jacobian_inputs": 0}
    experiments.sample_batch(small, 0, 1)                       # compile
    t0 = time.perf_counter()
    experiments.sample_batch(small, 0, 1)
    t_in = (time.perf_counter() - t0) / small["samples"]
    t_jac = 0.0
    if jac:
        t0 = time.perf_counter()
        experiments.sample_batch({**small, "jacobian_inputs": 1}, 0, 1)
        t_jac = max(0.0, time.perf_counter() - t0 - t_in * small["samples"])
    return int(p["networks"]) * (samples * t_in + jac * t_jac)


def plan(names, scale: str, root=None, log=None, configs=None) -> list[PlanRow]:
    """What the store lacks of configs ``names`` at ``scale``, without computing it: per model
    or entry its tasks and updates, and core-seconds from rates timed on this machine (one
    timing per distinct network: a few seconds)."""
    rows, rates, entry_costs = [], {}, {}
    for job in jobs_for(names, scale, root, configs):
        if job.done:
            continue
        if isinstance(job, ModelJob):
            c = job.config
            shape = (c.dataset, c.hidden, c.batch_size, c.dtype, c.cost)
            if shape not in rates:
                if log:
                    log(f"timing the SGD step of {c.dataset} {len(c.hidden)}x{c.hidden[0]} ...")
                rates[shape] = _training_rate(c)
            left = job.remaining_updates()
            rows.append(PlanRow(job.config_name, job.label, job.remaining_tasks(), left,
                                left / rates[shape]))
        else:
            key = (job.config_name, job.kind)
            if key not in entry_costs:
                if log and job.kind == "init_statistics":
                    log(f"timing one Monte-Carlo network of {job.config_name} ...")
                entry_costs[key] = _entry_seconds(job)
            rows.append(PlanRow(job.config_name, job.entry, job.remaining_tasks(), 0,
                                entry_costs[key]))
    return rows


def format_plan(rows: list[PlanRow], scale: str, workers: int | None = None) -> str:
    """The plan as a table, one line per config, and the total in core-hours."""
    from .text import format_table

    if not rows:
        return f"scale {scale}: the store holds every result; nothing to compute"
    per = {}
    for r in rows:
        t = per.setdefault(r.config, [0, 0, 0, 0.0])
        t[0] += 1
        t[1] += r.tasks
        t[2] += r.updates
        t[3] += r.core_seconds
    table = [[name, str(m), f"{k:,}", f"{u:,}", f"{sec / 3600:,.2f}"]
             for name, (m, k, u, sec) in per.items()]
    tasks = sum(r.tasks for r in rows)
    updates = sum(r.updates for r in rows)
    hours = sum(r.core_seconds for r in rows) / 3600
    table.append(["total", str(len(rows)), f"{tasks:,}", f"{updates:,}", f"{hours:,.2f}"])
    text = "\n".join(format_table(["config", "results", "tasks", "updates", "core-hours"],
                                   table, left=(0,)))
    n = workers or os.cpu_count() or 1
    return (f"scale {scale}: {len(rows)} result(s) missing, {tasks:,} tasks, {updates:,} SGD "
            f"updates, about {hours:,.1f} core-hours (rates timed on this machine; monitors "
            f"and evaluations not counted): {hours / n:,.1f} h on {n} worker(s), "
            f"{hours / n / 24:,.1f} days\n{text}")


# ----------------------------------------------------------------------------- reading results

def load(name: str, scale: str, root=None, configs=None) -> dict:
    """The stored results of config ``name`` at ``scale`` (after ``run``), as the figures read
    them: training, {label: {"meta", "arrays", "tuning", "config", "digest", "folder"}} with
    the chosen rate's run; init_statistics, {label: {"meta", **arrays}}; else {"meta",
    **arrays}."""
    jobs = jobs_for([name], scale, root, configs)
    for job in jobs:
        if not job.done:
            raise ValueError(f"{job.folder}: no stored result for this config (run `varprop "
                             "figures` to compute it)")
    out = {job.label if isinstance(job, ModelJob) else job.entry: job.result() for job in jobs}
    return out if len(jobs) > 1 or "result" not in out else out["result"]
