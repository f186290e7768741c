"""A training run: SGD with the paper's monitors, checkpoints, resume and divergence handling.

Files in the run's folder (all written atomically: temporary file, then rename):

- ``results.json``: metadata — the full config, widths, status (running / finished /
  diverged), message, package version, updates done: the same bytes wherever the run went;
- ``provenance.json``: where and how it ran — git revision, threads, wall time;
- ``results.npz``: the arrays — monitor points (``monitor_updates``, the per-layer monitors
  and the theories' predictions for the network's current weight variances, stacked over
  points), evaluation points (``eval_updates``, ``valid_error``, ``valid_cost``,
  ``test_error``, ``test_cost``), the training cost averaged over each monitor interval, and the
  histograms' edges (``activation_edges``, ``backprop_edges``); results.json's ``keys`` says
  what each array is;
- ``checkpoint.npz``: the network (W0.., b0..), the update count and the result arrays so far.

Every update is a pure function of (config, update number): the weights come from ``seed``,
minibatch t holds stream examples t·B … (t+1)·B − 1 of ``data_seed``, and the Numba step gives
the same bits for any thread count. So a run killed at any moment and resumed from its last
checkpoint ends with the same arrays, bit for bit, as an uninterrupted run.
"""
from __future__ import annotations

import math
import os
import subprocess
import time
from pathlib import Path

import numpy as np

from .. import __version__
from ..files import UnreadableFile, read_json, read_npz, remove_partial, write_json, write_npz
from ..resources import require_memory
from ..theory import input_second_moments
from ..threads import thread_limits
from .config import TrainConfig, from_dict
from .network import Network, init_network
from .sgd import BlasStep, FusedStep, step_for

RESULTS_JSON, RESULTS_NPZ, CHECKPOINT = "results.json", "results.npz", "checkpoint.npz"
PROVENANCE = "provenance.json"
PREFETCH = 100        # minibatches drawn from the data stream at a time
PROGRESS_EVERY = 100  # updates between progress-bar refreshes


class Diverged(RuntimeError):
    """NaN or inf in the cost or the weights: the run stopped, its last good state kept."""


class RunExists(ValueError):
    """The output folder already holds a run (resume it, or choose another folder)."""


class NothingToResume(ValueError):
    """--resume of a folder that holds no run."""


# ----------------------------------------------------------------------------- data

def widths_for(config: TrainConfig) -> tuple[int, ...]:
    """n_0 .. n_L of the config's network: the data set's input size, the hidden widths, the
    number of classes."""
    from ..datasets.interface import describe

    facts = describe(config.dataset)
    return (int(np.prod(facts["image_shape"])), *config.hidden, len(facts["classes"]))


def data_for(config: TrainConfig):
    """(widths, valid, test, stream factory) for the config's data set."""
    from ..datasets.interface import load, stream

    widths = widths_for(config)
    kw = {"seed": config.data_seed} if config.dataset == "shapeset" else {"data_dir": config.data_dir}
    if config.dataset == "shapeset" and config.eval_examples is not None:
        kw["n"] = config.eval_examples
    sets = []
    for split in ("valid", "test"):
        d = load(config.dataset, split, **kw)
        x, y = d.x, d.y
        if config.eval_examples is not None:
            x, y = x[:config.eval_examples], y[:config.eval_examples]
        sets.append((np.ascontiguousarray(x, dtype=config.dtype), y))
    if config.monitor_examples > len(sets[1][1]):
        raise ValueError(f"monitor_examples ({config.monitor_examples}) exceeds the test set "
                         f"({len(sets[1][1])} examples)")

    def minibatches(start_update: int):
        """Minibatch after minibatch from update ``start_update`` on, PREFETCH at a time."""
        B = config.batch_size
        src = stream(config.dataset, B * PREFETCH, config.data_seed, start=start_update * B,
                     **({} if config.dataset == "shapeset" else {"data_dir": config.data_dir}))
        for xs, ys in src:
            xs = np.ascontiguousarray(xs, dtype=config.dtype)
            for k in range(PREFETCH):
                yield xs[k * B:(k + 1) * B], ys[k * B:(k + 1) * B]

    return widths, sets[0], sets[1], minibatches


# ----------------------------------------------------------------------------- files

def git_revision() -> str | None:
    """The checkout's commit (with '+dirty' when the tree differs), or None outside git."""
    root = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10, check=False)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10,
                               check=False).stdout.strip()
        return rev.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


# What to do about a damaged file of a run: the checkpoint can go (every update is a pure
# function of the config, so a resume without it restarts from update 0 and ends with the same
# bits); results.json holds the run's config and has no copy.
REDO_CHECKPOINT = "delete it and --resume restarts the run from update 0 (same result)"
REDO_RESULTS = "restore it, or start the run again in another --out"


def read_results(out) -> tuple[dict, dict]:
    """(metadata, arrays) of the run in ``out``."""
    out = Path(out)
    if not (out / RESULTS_JSON).is_file() or not (out / RESULTS_NPZ).is_file():
        raise ValueError(f"{out}: no training results here ({RESULTS_JSON}, {RESULTS_NPZ})")
    return read_json(out / RESULTS_JSON, REDO_RESULTS), read_npz(out / RESULTS_NPZ, REDO_RESULTS)


def stored_config(out) -> TrainConfig:
    """The config of the run in ``out`` (its results.json)."""
    path = Path(out) / RESULTS_JSON
    meta = read_json(path, REDO_RESULTS)
    try:
        return from_dict(meta["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UnreadableFile(f"{path}: no valid config ({exc}); {REDO_RESULTS}") from None


def memory_needed(config: TrainConfig, widths) -> int:
    """Bytes a run of ``config`` on ``widths`` holds at its peak, roughly: the weights three
    times (network, checkpoint arrays, archive being written), the validation and test sets in
    float64 and cast, the prefetched stream, the monitors' per-layer passes and the monitor
    points' arrays (histograms of ``bins`` per layer), twice (the series and its stack)."""
    item = np.dtype(config.dtype).itemsize
    params = sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
    examples = 2 * (config.eval_examples or 10_000)
    passes = max(config.monitor_examples, 1000) * sum(widths) * 8 * 4
    stream = PREFETCH * config.batch_size * widths[0] * 8 * 2
    points = config.updates // config.monitor_every + 2
    series = 2 * points * len(widths) * (2 * config.bins + 64) * 8
    return 3 * params * item + examples * widths[0] * (8 + item) + passes + stream + series


def preflight(config: TrainConfig) -> None:
    """What a run of ``config`` needs from the machine, checked before anything is loaded or
    written: its memory, and its data set in place (ValueError, one line)."""
    from ..datasets.interface import require_data

    widths = widths_for(config)
    require_memory(memory_needed(config, widths), f"training {'-'.join(map(str, widths))}",
                   "use smaller --hidden, fewer eval_examples or bins, or more monitor_every")
    require_data(config.dataset, config.data_dir)


# ----------------------------------------------------------------------------- the run

class _Series:
    """Result arrays grown point by point ({name: list of per-point arrays}), beside the arrays
    fixed for the run (``fixed``: the histograms' edges)."""

    def __init__(self, arrays: dict, fixed_keys):
        self.fixed = {k: v for k, v in arrays.items() if k in fixed_keys}
        self.lists: dict[str, list] = {k: list(v) for k, v in arrays.items()
                                       if k not in fixed_keys}

    def add(self, values: dict) -> None:
        for name, v in values.items():
            self.lists.setdefault(name, []).append(np.asarray(v))

    def arrays(self) -> dict:
        out = dict(self.fixed)
        out.update({k: np.stack(v) for k, v in self.lists.items() if v})
        return out


def _first_nonfinite(arrays) -> int | None:
    for k, a in enumerate(arrays):
        if not np.isfinite(a).all():
            return k
    return None


def train(config: TrainConfig, out, *, resume: bool = False, quiet: bool = False,
          log=print) -> tuple[dict, dict]:
    """Train to ``config.updates`` updates in folder ``out``; returns (metadata, arrays).

    resume: continue the run in ``out`` from its last checkpoint (its stored config must
    equal ``config`` in every key the results depend on). Without it, ``out`` must hold no run.
    Raises ``Diverged`` when the cost or the weights become NaN/inf (the last good checkpoint
    and results are kept, results.json says where it stopped).
    """
    from tqdm import tqdm

    from . import monitors

    out = Path(out)
    exists = (out / RESULTS_JSON).is_file() or (out / CHECKPOINT).is_file()
    if exists and not resume:
        raise RunExists(f"{out} already holds a run; pass --resume to continue it, or choose "
                        "another --out")
    if resume and not exists:
        raise NothingToResume(f"{out}: no run to resume here (no {RESULTS_JSON} or "
                              f"{CHECKPOINT}); leave out --resume to start one")
    if resume and (out / RESULTS_JSON).is_file():
        old = stored_config(out)
        diff = {k: (v, config.results_key()[k]) for k, v in old.results_key().items()
                if config.results_key()[k] != v and k != "updates"}
        if diff:
            k, (a, b) = next(iter(diff.items()))
            raise ValueError(f"{out} holds a run with {k}={a!r}, not {b!r}; resume it with its "
                             "own config, or choose another --out")
    preflight(config)
    widths, (xv, yv), (xt, yt), minibatches = data_for(config)   # fails before any writing
    out.mkdir(parents=True, exist_ok=True)
    remove_partial(out, (RESULTS_JSON, RESULTS_NPZ, CHECKPOINT, PROVENANCE))
    xm, ym = xt[:config.monitor_examples], yt[:config.monitor_examples]
    moments = input_second_moments(xm)       # (M,): the theories per monitor example
    edge_keys = [k for k, _, _ in monitors.EDGE_KEYS]
    with thread_limits(blas_threads=config.threads, numba_threads=config.threads):
        if resume and (out / CHECKPOINT).is_file():
            ck = read_npz(out / CHECKPOINT, REDO_CHECKPOINT)
            try:
                net = Network.from_arrays(widths, config.activation, ck)
                update = int(ck["update"])
                cost_sum, cost_count = float(ck["train_cost_sum"]), int(ck["train_cost_count"])
            except (KeyError, TypeError, ValueError) as exc:
                raise UnreadableFile(f"{out / CHECKPOINT}: not a checkpoint of this run ({exc}); "
                                     f"{REDO_CHECKPOINT}") from None
            series = _Series({k[2:]: v for k, v in ck.items() if k.startswith("r:")}, edge_keys)
            prov = out / PROVENANCE
            try:
                wall = float(read_json(prov, "").get("wall_seconds", 0.0))
            except (UnreadableFile, TypeError, ValueError):
                wall = 0.0                      # where it ran is not a result: start afresh
            log_resume = f"resuming {out} at update {update:,}"
        else:
            net = init_network(widths, config.activation, config.init, config.law, config.dtype,
                               config.seed)
            update, cost_sum, cost_count, wall = 0, 0.0, 0, 0.0
            edges = monitors.monitor_edges(net, xm, ym, config.cost, config.bins)
            series = _Series({k: np.asarray(v) for k, v in edges.items()}, edge_keys)
            log_resume = None
        edges = series.fixed
        meta = {"config": config.to_dict(), "widths": list(widths), "status": "running",
                "message": "", "version": __version__,
                "updates_done": update, "examples_seen": update * config.batch_size,
                "keys": _documentation(monitors)}
        provenance = {"git_revision": git_revision(), "threads": config.threads or os.cpu_count(),
                      "wall_seconds": wall}
        step = step_for(net, config.batch_size, config.cost, threads=config.threads)

        def observe():
            """Monitors (and evaluation) at the current update."""
            nonlocal cost_sum, cost_count
            if update % config.monitor_every == 0 or update == config.updates:
                measured = monitors.monitor(net, xm, ym, edges, config.cost)
                theory = monitors.theory_comparison(net, measured, input_moments=moments)
                series.add({"monitor_updates": update,
                            "train_cost": cost_sum / cost_count if cost_count else np.nan,
                            **measured, **theory})
                cost_sum, cost_count = 0.0, 0
            if update % config.eval_every == 0 or update == config.updates:
                ve, vc = monitors.evaluate(net, xv, yv, config.cost)
                te, tc = monitors.evaluate(net, xt, yt, config.cost)
                series.add({"eval_updates": update, "valid_error": ve, "valid_cost": vc,
                            "test_error": te, "test_cost": tc})
                return ve
            return None

        def save(checkpoint=True):
            arrays = series.arrays()
            meta.update(updates_done=update, examples_seen=update * config.batch_size)
            provenance.update(wall_seconds=wall + (time.perf_counter() - t0))
            if checkpoint:
                bad = _first_nonfinite(net.weights + net.biases)
                if bad is not None:
                    return bad
                write_npz(out / CHECKPOINT, {
                    **net.arrays(), "update": np.int64(update),
                    "train_cost_sum": np.float64(cost_sum), "train_cost_count": np.int64(cost_count),
                    **{f"r:{k}": v for k, v in arrays.items()}})
            write_npz(out / RESULTS_NPZ, arrays)
            write_json(out / PROVENANCE, provenance)
            write_json(out / RESULTS_JSON, meta)
            return None

        t0 = time.perf_counter()
        if log_resume and not quiet:
            log(log_resume)
        if update == 0 and not series.lists.get("monitor_updates"):   # not a resumed start
            last_valid = observe()
            save()
        else:
            last_valid = series.lists["valid_error"][-1] if series.lists.get("valid_error") else None
        bar = tqdm(total=config.updates, initial=update, unit="upd", disable=quiet,
                   dynamic_ncols=True, smoothing=0.1, desc=out.name)
        batches = minibatches(update)
        try:
            while update < config.updates:
                stops = [config.updates]
                for every in (config.monitor_every, config.eval_every, config.checkpoint_every,
                              PROGRESS_EVERY):
                    stops.append((update // every + 1) * every)
                stop = min(stops)
                start = update
                while update < stop:
                    x, y = next(batches)
                    cost = step(x, y, config.lr)
                    if not math.isfinite(cost):
                        raise Diverged(_divergence_message(step, update + 1, cost, config, out))
                    cost_sum += cost
                    cost_count += 1
                    update += 1
                bar.update(update - start)
                ve = observe()
                if ve is not None:
                    last_valid = ve
                    if quiet:
                        log(f"update {update:,}/{config.updates:,} "
                            f"({update * config.batch_size:,} examples): valid error {ve:.2%}, "
                            f"test error {series.lists['test_error'][-1]:.2%}")
                if last_valid is not None:
                    bar.set_postfix_str(f"{update * config.batch_size:,} examples, "
                                        f"valid error {last_valid:.2%}", refresh=False)
                if update % config.checkpoint_every == 0 or update == config.updates:
                    bad = save()
                    if bad is not None:
                        raise Diverged(f"diverged by update {update:,}: non-finite weights or "
                                       f"biases in layer {bad % net.n_layers} "
                                       f"(lr {config.lr:g}); the last good checkpoint is kept")
        except Diverged as exc:
            bar.close()
            meta.update(status="diverged", message=str(exc))
            write_json(out / RESULTS_JSON, meta)
            raise
        bar.close()
        meta.update(status="finished", message="")
        save(checkpoint=False)
        write_json(out / RESULTS_JSON, meta)
    return read_results(out)


def _documentation(monitors) -> dict:
    """{array name: "shape: meaning"} for every array of results.npz (P monitor points, E
    evaluation points, L weight layers, H = L − 1 hidden layers, B bins)."""
    doc = {"monitor_updates": "(P,): update count of each monitor point",
           "train_cost": "(P,): mean minibatch cost over the updates since the previous point",
           "eval_updates": "(E,): update count of each evaluation point",
           "valid_error": "(E,): validation error rate", "valid_cost": "(E,): mean validation cost",
           "test_error": "(E,): test error rate", "test_cost": "(E,): mean test cost"}
    for key, shape, meaning in monitors.MONITOR_KEYS + monitors.THEORY_KEYS:
        doc[key] = f"(P, {shape.strip('()')}): {meaning}".replace(", )", ")")
    doc.update({key: f"{shape}: {meaning}" for key, shape, meaning in monitors.EDGE_KEYS})
    return doc


def _divergence_message(step: FusedStep | BlasStep, update: int, cost: float, config, out) -> str:
    k = _first_nonfinite(step.preactivations)
    where = (f"first non-finite pre-activation in layer {k} (s^{k})" if k is not None else
             "finite pre-activations: the softmax gave the label probability 0")
    return (f"diverged at update {update:,} (lr {config.lr:g}): the minibatch cost is {cost}; "
            f"{where}; the last good checkpoint is kept")
