"""Learning-rate choice by successive halving (the paper, Section 3, chooses each model's rate
on validation error after the full training length; halving reaches that choice at a bounded
cost).

Every rate of the grid trains for a first budget; the better half by validation error at that
budget (ties: validation cost, then the smaller rate) continues from its checkpoint to twice
the budget; and so on until one rate is left, which trains the full length: that trial *is*
the model's run (nothing is retrained). With n rates there are R = ⌈log2 n⌉ cuts; the first
budget defaults to ``updates / 2^R``, so for n = 2^R the cost is (1 + R/2) full runs: 2 for a
4-rate grid (when the evaluation/monitor step is at most ``updates / 2^R``; a coarser step
rounds the first budget up to one step, and costs more). A first budget equal to ``updates``
(``tune_updates = updates``) trains every rate the full length: the paper's own procedure, at
n full runs.

Budgets are multiples of the evaluation and monitor intervals, so a trial stopped at a budget
and continued holds exactly the points of an uninterrupted run (``run.py`` resumes bit for
bit). A trial that diverges ranks last.

This module only decides (``halving``: a pure function of the trials' results); who trains the
trials — this process (``successive_halving``) or a Dask cluster (``varprop.engine``) — is
another matter.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import TrainConfig
from .run import CHECKPOINT, RESULTS_JSON, Diverged, read_results, train

CRITERION = ("validation error at the budget (ties: validation cost, then the smaller rate); "
             "the better half continues")


def trial_folder(model_folder, lr: float) -> Path:
    """Where the trial of one rate lives inside a model's folder."""
    return Path(model_folder) / f"lr={lr:g}"


def trial_config(config: TrainConfig, lr: float) -> TrainConfig:
    """The full-length run of one rate (the config a trial's results are keyed by)."""
    return config.replace(lr=lr, lr_grid=[], tune_updates=None)


def rungs(config: TrainConfig) -> list[tuple[int, int]]:
    """[(rates trained, budget)] of the halving, last budget = ``config.updates``."""
    grid = config.lr_grid or (config.lr,)
    n, total = len(grid), config.updates
    step = math.lcm(config.eval_every, config.monitor_every)
    cuts = math.ceil(math.log2(n)) if n > 1 else 0
    first = config.tune_updates if config.tune_updates is not None else total // 2 ** cuts
    first = min(total, max(step, first // step * step))
    out, k, b = [], n, first
    while True:
        if k == 1 or b >= total:
            out.append((k, total))
            return out
        out.append((k, b))
        k, b = math.ceil(k / 2), 2 * b


def planned_updates(config: TrainConfig) -> int:
    """Updates the halving trains when no trial diverges: its cost."""
    total, done = 0, 0
    for k, b in rungs(config):
        total += k * (b - done)
        done = b
    return total


@dataclass
class Trial:
    """What the halving needs of one rate's run: how far it went and its validation points."""

    lr: float
    updates_done: int = 0
    status: str = "missing"                   # missing, running, finished, diverged
    evals: dict = field(default_factory=dict)  # {update: (valid error, valid cost)}

    @classmethod
    def read(cls, lr: float, folder) -> Trial:
        folder = Path(folder)
        if not (folder / RESULTS_JSON).is_file():
            return cls(lr)
        meta, arrays = read_results(folder)
        evals = {int(u): (float(e), float(c)) for u, e, c in
                 zip(arrays.get("eval_updates", ()), arrays.get("valid_error", ()),
                     arrays.get("valid_cost", ()))}
        return cls(lr, int(meta["updates_done"]), meta["status"], evals)

    def reached(self, budget: int) -> bool:
        return self.status == "diverged" or (self.updates_done >= budget and budget in self.evals)

    def score(self, budget: int) -> tuple:
        if budget not in self.evals or self.status == "diverged" and self.updates_done < budget:
            return (math.inf, math.inf, self.lr)
        e, c = self.evals[budget]
        return (e if np.isfinite(e) else math.inf, c if np.isfinite(c) else math.inf, self.lr)


@dataclass
class Decision:
    """Where the halving stands: the trials to train next ({lr: budget}), or the chosen rate."""

    todo: dict
    chosen_lr: float | None
    record: list                              # every trial at every budget it was ranked

    @property
    def decided(self) -> bool:
        return self.chosen_lr is not None


def halving(config: TrainConfig, trials: dict) -> Decision:
    """The successive-halving state of ``config``'s grid given its trials ({lr: Trial})."""
    alive = list(config.lr_grid or (config.lr,))
    plan = rungs(config)
    record = []
    for r, (_, budget) in enumerate(plan):
        todo = {lr: budget for lr in alive if not trials.get(lr, Trial(lr)).reached(budget)}
        if todo:
            return Decision(todo, None, record)
        ranked = sorted(alive, key=lambda lr: trials[lr].score(budget))
        for lr in ranked:
            e, c, _ = trials[lr].score(budget)
            record.append({"lr": lr, "budget": budget, "valid_error": e, "valid_cost": c,
                           "status": "diverged" if math.isinf(e) else "trained",
                           "continues": r + 1 < len(plan) and lr in ranked[:plan[r + 1][0]]})
        if r + 1 < len(plan):
            alive = ranked[:plan[r + 1][0]]
    return Decision({}, ranked[0], record)


def table(config: TrainConfig, decision: Decision, trials: dict) -> dict:
    """tuning.json: the grid, the budgets, every trial at every budget, the chosen rate and the
    updates spent."""
    return {"method": "successive halving", "criterion": CRITERION,
            "grid": list(config.lr_grid or (config.lr,)),
            "budgets": [b for _, b in rungs(config)],
            "planned_updates": planned_updates(config), "full_run_updates": config.updates,
            "updates_spent": int(sum(t.updates_done for t in trials.values())),
            "chosen_lr": decision.chosen_lr, "trials": decision.record}


def read_trials(config: TrainConfig, model_folder) -> dict:
    return {lr: Trial.read(lr, trial_folder(model_folder, lr))
            for lr in (config.lr_grid or (config.lr,))}


def silent(*_args) -> None:
    """A log that says nothing (trials on a cluster's workers)."""


def train_trial(config: TrainConfig, folder, budget: int, *, quiet: bool = True,
                log=print) -> Trial:
    """Train one rate's trial to ``budget`` updates (continuing it from its checkpoint);
    a divergence is recorded in the trial, not raised."""
    folder = Path(folder)
    resume = (folder / RESULTS_JSON).is_file() or (folder / CHECKPOINT).is_file()
    try:
        train(config.replace(updates=budget), folder, resume=resume, quiet=quiet, log=log)
    except Diverged as exc:
        log(f"{folder.name}: {exc}")
    return Trial.read(config.lr, folder)


def successive_halving(config: TrainConfig, out, *, quiet: bool = False, log=print) -> dict:
    """Choose the rate of ``config.lr_grid`` in this process, trials in ``OUT/lr=RATE/``
    (continued where they stand); returns the table (also written to ``OUT/tuning.json``).
    The chosen rate's trial holds the model's full-length run."""
    from ..files import write_json

    if not config.lr_grid:
        raise ValueError("lr_grid is empty: give the rates to compare, e.g. --lr-grid 0.01,0.1")
    out = Path(out)
    trials = read_trials(config, out)
    while True:
        decision = halving(config, trials)
        if decision.decided:
            break
        for lr, budget in decision.todo.items():
            if not quiet:
                log(f"lr {lr:g}: training to {budget:,} updates")
            trials[lr] = train_trial(trial_config(config, lr), trial_folder(out, lr), budget,
                                     quiet=quiet, log=log)
    result = table(config, decision, trials)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "tuning.json", result)
    if not quiet:
        log(f"chosen lr {decision.chosen_lr:g} by successive halving "
            f"({result['updates_spent']:,} updates spent; a full run is {config.updates:,})")
    return result
