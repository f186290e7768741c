"""Learning-rate selection as in the paper (Section 3): every rate of a grid trains for the same
budget of updates; the rate with the lowest final validation error is chosen. Every rate's run
is kept (``OUT/lr-grid/lr=RATE/``) and the table is written to ``OUT/tuning.json``."""
from __future__ import annotations

import json
import math
from pathlib import Path

from ..datasets.cache import atomic_path
from .config import TrainConfig
from .run import RESULTS_JSON, Diverged, train


def grid_config(config: TrainConfig, lr: float) -> TrainConfig:
    """The config of one rate of the grid: ``tune_updates`` updates, evaluated at the end."""
    budget = config.tune_updates
    return config.replace(lr=lr, updates=budget, lr_grid=[],
                          eval_every=min(config.eval_every, budget),
                          monitor_every=min(config.monitor_every, budget),
                          checkpoint_every=min(config.checkpoint_every, budget))


def tune(config: TrainConfig, out, *, quiet: bool = False, log=print) -> dict:
    """Train every rate of ``config.lr_grid`` for ``config.tune_updates`` updates (resuming
    the ones already in ``out``); returns and writes the table with the chosen rate."""
    if not config.lr_grid:
        raise ValueError("lr_grid is empty: give the rates to compare, e.g. --lr-grid 0.01,0.1")
    out = Path(out)
    rows = []
    for lr in config.lr_grid:
        sub = out / "lr-grid" / f"lr={lr:g}"
        c = grid_config(config, lr)
        try:
            _, arrays = train(c, sub, resume=(sub / RESULTS_JSON).is_file(), quiet=quiet, log=log)
            rows.append({"lr": lr, "status": "finished", "folder": str(sub.relative_to(out)),
                         "valid_error": float(arrays["valid_error"][-1]),
                         "valid_cost": float(arrays["valid_cost"][-1]),
                         "test_error": float(arrays["test_error"][-1])})
        except Diverged as exc:
            rows.append({"lr": lr, "status": "diverged", "folder": str(sub.relative_to(out)),
                         "valid_error": math.inf, "message": str(exc)})
        if not quiet:
            log(f"lr {lr:g}: " + (f"valid error {rows[-1]['valid_error']:.2%}"
                                  if rows[-1]["status"] == "finished" else "diverged"))
    finished = [r for r in rows if r["status"] == "finished"]
    if not finished:
        raise Diverged(f"every learning rate of the grid diverged: {list(config.lr_grid)}")
    best = min(finished, key=lambda r: (r["valid_error"], r["valid_cost"]))
    table = {"grid": list(config.lr_grid), "budget_updates": config.tune_updates,
             "criterion": "final validation error (ties: validation cost)",
             "chosen_lr": best["lr"], "runs": rows}
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "tuning.json") as tmp:
        tmp.write_text(json.dumps(table, indent=2, default=str) + "\n")
    return table
