"""Learning-rate choice by successive halving (``varprop.training.tuning``).

The pure parts (``rungs``, ``planned_updates``, ``halving``) on hand-made configs and trials;
then the acceptance test: on a small MNIST problem where a choice after a short budget differs
from the paper's choice after the full training length, successive halving reaches the paper's
choice at 2 full runs' cost (counted in updates), and its chosen trial holds, bit for bit, the
results of that rate trained the full length in one go."""
import json
import math
import os

import pytest

from varprop.datasets import DataMissing
from varprop.training.config import from_dict
from varprop.training.run import RESULTS_JSON, RESULTS_NPZ, read_results
from varprop.training.tuning import (
    Trial,
    halving,
    planned_updates,
    read_trials,
    rungs,
    successive_halving,
    trial_folder,
)

REQUIRE = os.environ.get("VARPROP_REQUIRE_DATA") == "1"
GRID = (0.01, 0.03, 0.1, 0.3)


def cfg(**kw):
    base = dict(updates=1000, eval_every=50, monitor_every=50, checkpoint_every=50,
                lr_grid=GRID)
    return from_dict({**base, **kw})


# ----------------------------------------------------------------------------- rungs

def test_rungs_four_rates_quarter_half_full():
    c = cfg()
    assert rungs(c) == [(4, 250), (2, 500), (1, 1000)]
    assert planned_updates(c) == 4 * 250 + 2 * 250 + 1 * 500 == 2 * c.updates


def test_rungs_two_and_three_rates():
    assert rungs(cfg(lr_grid=(0.01, 0.1))) == [(2, 500), (1, 1000)]
    assert planned_updates(cfg(lr_grid=(0.01, 0.1))) == 1500
    # 3 rates: ⌈log2 3⌉ = 2 cuts, first budget L/4; 3 → 2 → 1
    assert rungs(cfg(lr_grid=(0.01, 0.1, 1.0))) == [(3, 250), (2, 500), (1, 1000)]
    assert planned_updates(cfg(lr_grid=(0.01, 0.1, 1.0))) == 3 * 250 + 2 * 250 + 500


def test_rungs_eight_rates():
    c = cfg(lr_grid=tuple(0.01 * 2 ** k for k in range(8)), eval_every=25, monitor_every=25)
    assert rungs(c) == [(8, 125), (4, 250), (2, 500), (1, 1000)]
    assert planned_updates(c) == 1000 + 500 + 500 + 500       # (1 + 3/2) full runs


def test_rungs_one_rate_is_one_full_run():
    for c in (cfg(lr_grid=(0.1,)), cfg(lr_grid=())):
        assert rungs(c) == [(1, 1000)]
        assert planned_updates(c) == 1000


def test_tune_updates_equal_to_updates_trains_every_rate_the_full_length():
    c = cfg(tune_updates=1000)
    assert rungs(c) == [(4, 1000)]
    assert planned_updates(c) == 4 * 1000
    assert rungs(cfg(tune_updates=5000)) == [(4, 1000)]          # capped at the full length
    # an explicit first budget: halves from there, the last rate trains the full length
    assert rungs(cfg(tune_updates=100)) == [(4, 100), (2, 200), (1, 1000)]
    assert rungs(cfg(tune_updates=500)) == [(4, 500), (2, 1000)]


def test_budgets_are_multiples_of_the_eval_and_monitor_intervals():
    # lcm(40, 60) = 120: L/4 = 250 rounds down to 240
    c = cfg(eval_every=40, monitor_every=60)
    assert rungs(c) == [(4, 240), (2, 480), (1, 1000)]
    # lcm(100, 60) = 300 > L/4: the first budget is one step
    c = cfg(eval_every=100, monitor_every=60)
    assert rungs(c) == [(4, 300), (2, 600), (1, 1000)]
    assert planned_updates(c) == 2200                 # so more than 2 full runs here
    # an explicit first budget rounds down to the step too, but never below one step
    assert rungs(cfg(eval_every=40, monitor_every=60, tune_updates=300))[0] == (4, 240)
    assert rungs(cfg(eval_every=40, monitor_every=60, tune_updates=7))[0] == (4, 120)
    for c in (cfg(eval_every=40, monitor_every=60), cfg(eval_every=100, monitor_every=60),
              cfg(eval_every=7, monitor_every=3, updates=999)):
        step = math.lcm(c.eval_every, c.monitor_every)
        assert all(b % step == 0 for _, b in rungs(c)[:-1])
        assert rungs(c)[-1] == (1, c.updates)


COST_CASES = [(updates, every) for updates in (100, 999, 1000, 4096, 10_000, 12_345)
              for every in ((1, 1), (10, 10), (20, 50), (7, 3), (25, 100))
              if math.lcm(*every) <= updates // 4]     # else the first budget rounds up to a step


@pytest.mark.parametrize(("updates", "every"), COST_CASES)
def test_four_rates_cost_at_most_two_full_runs(updates, every):
    c = cfg(updates=updates, eval_every=every[0], monitor_every=every[1])
    plan = rungs(c)
    assert [k for k, _ in plan] == [4, 2, 1] and plan[-1][1] == updates
    assert plan[1][1] == 2 * plan[0][1] <= updates // 2
    assert planned_updates(c) <= 2 * updates


# ----------------------------------------------------------------------------- halving

def trial(lr, done, evals, status="finished"):
    return Trial(lr, done, status, {u: tuple(v) for u, v in evals.items()})


def test_halving_asks_for_every_rate_at_the_first_budget():
    c = cfg()
    d = halving(c, {})
    assert not d.decided and d.chosen_lr is None and d.record == []
    assert d.todo == {lr: 250 for lr in GRID}
    # a trial part-way (resumable) or missing is still to do; one already there is not
    trials = {0.01: trial(0.01, 250, {0: (0.9, 2.3), 250: (0.5, 1.0)}),
              0.03: trial(0.03, 200, {0: (0.9, 2.3)}, status="running")}
    assert halving(c, trials).todo == {0.03: 250, 0.1: 250, 0.3: 250}


def first_rung(errors):
    """Every rate of GRID at 250 updates with the given validation errors (cost 1)."""
    return {lr: trial(lr, 250, {0: (0.9, 2.3), 250: (e, 1.0)}) for lr, e in zip(GRID, errors)}


def test_halving_continues_the_better_half_only():
    c = cfg()
    trials = first_rung([0.40, 0.30, 0.10, 0.20])
    d = halving(c, trials)
    assert d.todo == {0.1: 500, 0.3: 500}                 # the two best by validation error
    assert [(r["lr"], r["budget"], r["continues"]) for r in d.record] == [
        (0.1, 250, True), (0.3, 250, True), (0.03, 250, False), (0.01, 250, False)]
    # one survivor already at the second budget: only the other is left to train
    trials[0.3] = trial(0.3, 500, {0: (0.9, 2.3), 250: (0.20, 1.0), 500: (0.05, 0.5)})
    assert halving(c, trials).todo == {0.1: 500}
    # both there: the better one trains the full length, and then it is the choice
    trials[0.1] = trial(0.1, 500, {0: (0.9, 2.3), 250: (0.10, 1.0), 500: (0.08, 0.4)})
    d = halving(c, trials)
    assert d.todo == {0.3: 1000} and not d.decided
    trials[0.3] = trial(0.3, 1000, {**trials[0.3].evals, 1000: (0.5, 9.9)})
    d = halving(c, trials)
    assert d.decided and d.todo == {} and d.chosen_lr == 0.3   # the last rung has one rate
    assert [(r["lr"], r["budget"]) for r in d.record] == [
        (0.1, 250), (0.3, 250), (0.03, 250), (0.01, 250), (0.3, 500), (0.1, 500), (0.3, 1000)]
    assert [r["continues"] for r in d.record[4:]] == [True, False, False]
    assert d.record[-1]["valid_error"] == 0.5 and d.record[-1]["status"] == "trained"


def test_halving_ties_broken_by_cost_then_smaller_rate():
    c = cfg()
    trials = {0.01: trial(0.01, 250, {250: (0.2, 0.7)}),
              0.03: trial(0.03, 250, {250: (0.2, 0.5)}),   # same error, lower cost
              0.1: trial(0.1, 250, {250: (0.2, 0.7)}),     # same error and cost as 0.01
              0.3: trial(0.3, 250, {250: (0.1, 0.9)})}     # best error despite its cost
    d = halving(c, trials)
    assert [r["lr"] for r in d.record] == [0.3, 0.03, 0.01, 0.1]
    assert d.todo == {0.3: 500, 0.03: 500}
    # full-length trials, equal everywhere: the smallest rate is chosen
    tied = {lr: trial(lr, 1000, {u: (0.2, 0.5) for u in (0, 250, 500, 1000)}) for lr in GRID}
    d = halving(c, tied)
    assert d.decided and d.chosen_lr == 0.01
    assert [r["lr"] for r in d.record if r["budget"] == 250] == list(GRID)


def test_diverged_trial_ranks_last():
    c = cfg()
    trials = first_rung([0.40, 0.20, 0.30, 0.10])
    # 0.3 diverged at update 120 (its last good checkpoint at 100): ranks last at 250 though
    # its last validation error was the best
    trials[0.3] = trial(0.3, 100, {0: (0.9, 2.3), 100: (0.01, 0.1)}, status="diverged")
    assert trials[0.3].reached(250) and trials[0.3].score(250)[:2] == (math.inf, math.inf)
    d = halving(c, trials)
    assert [r["lr"] for r in d.record] == [0.03, 0.1, 0.01, 0.3]
    assert d.record[-1]["status"] == "diverged" and not d.record[-1]["continues"]
    assert d.todo == {0.03: 500, 0.1: 500}                 # nothing asked of the diverged rate
    # a non-finite validation error at the budget ranks last too
    trials[0.3] = trial(0.3, 250, {250: (float("nan"), float("nan"))})
    assert [r["lr"] for r in halving(c, trials).record][-1] == 0.3
    # a survivor that diverges before the next budget loses to the other one
    trials = first_rung([0.40, 0.20, 0.30, 0.10])
    trials[0.3] = trial(0.3, 400, {250: (0.1, 1.0)}, status="diverged")
    trials[0.03] = trial(0.03, 500, {250: (0.2, 1.0), 500: (0.19, 1.0)})
    d = halving(c, trials)
    assert d.todo == {0.03: 1000}
    assert [(r["lr"], r["status"]) for r in d.record[4:]] == [(0.03, "trained"),
                                                               (0.3, "diverged")]


def test_halving_of_full_length_trials_decides_without_training():
    """Trials already trained the full length (the paper's procedure) hold every budget's
    validation point: the halving decides at once, and can differ from the full-length choice."""
    c = cfg()
    evals = {0.01: [0.50, 0.40, 0.30], 0.03: [0.30, 0.20, 0.10], 0.1: [0.10, 0.05, 0.08],
             0.3: [0.20, 0.06, 0.07]}
    trials = {lr: trial(lr, 1000, {u: (e, 1.0) for u, e in zip((250, 500, 1000), es)})
              for lr, es in evals.items()}
    d = halving(c, trials)
    assert d.decided and d.chosen_lr == 0.1                # best at 500 among {0.1, 0.3}
    assert halving(cfg(tune_updates=1000), trials).chosen_lr == 0.3   # best at 1000


# ----------------------------------------------------------------------------- acceptance

# Found by a scan of small MNIST sigmoid networks with the standard init: rate 1.0 learns fastest
# (best validation error at 2,000 updates) but is unstable (its error jumps between points);
# rate 0.3 is best from 4,000 updates on. Measured validation errors (1,000 examples), seed 3:
#            2,000    4,000    8,000 updates
#   0.03     0.678    0.334    0.163
#   0.1      0.209    0.118    0.085
#   0.3      0.116    0.089    0.060
#   1.0      0.093    0.099    0.073
# A choice after the first budget (a quarter of the run) takes 1.0; the paper's (every rate the
# full length) takes 0.3, and so does the halving (1.0 and 0.3 continue; 0.3 is better at
# 4,000). Margins: 23, 10 and 13 examples of the 1,000. The unstable rate's path follows the
# step's rounding: when the forward pass moved to register tiles (other summation order), seed
# 0, chosen before, lost its middle margin (1.0 reached 0.081 at 4,000); seeds 1-3 kept the
# property, seed 3 with the widest margins.
PROBLEM = dict(dataset="mnist", hidden=(32, 32), activation="sigmoid", init="standard",
               updates=8000, eval_every=2000, monitor_every=2000, checkpoint_every=2000,
               eval_examples=1000, monitor_examples=50, bins=10, seed=3, data_seed=0,
               lr_grid=(0.03, 0.1, 0.3, 1.0), threads=1)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """The problem tuned twice: every rate the full length, and by successive halving."""
    root = tmp_path_factory.mktemp("tuning")
    config = from_dict(PROBLEM)
    try:
        grid = successive_halving(config.replace(tune_updates=config.updates), root / "grid",
                                  quiet=True, log=lambda m: None)
    except DataMissing as exc:
        if REQUIRE:
            pytest.fail(f"VARPROP_REQUIRE_DATA=1 but {exc}")
        pytest.skip(str(exc))
    halved = successive_halving(config, root / "halving", quiet=True, log=lambda m: None)
    return {"config": config, "root": root, "grid": grid, "halving": halved}


def test_halving_reaches_the_full_length_choice_where_an_early_choice_differs(tuned):
    config, grid, halved = tuned["config"], tuned["grid"], tuned["halving"]
    L = config.updates
    first = rungs(config)[0][1]
    assert rungs(config) == [(4, L // 4), (2, L // 2), (1, L)]

    # (b) the paper's procedure: every rate the full length, best validation error at the end
    assert grid["budgets"] == [L] and grid["updates_spent"] == 4 * L
    full = read_trials(config, tuned["root"] / "grid")
    assert all(t.status == "finished" and t.updates_done == L for t in full.values())
    assert grid["chosen_lr"] == min(full, key=lambda lr: full[lr].score(L))

    # (a) a choice after the first budget (what the old "choose after a few % of the run" did):
    # from the full-length trials' own validation points there, and from the halving's record
    early = min(full, key=lambda lr: full[lr].score(first))
    rung0 = [r for r in halved["trials"] if r["budget"] == first]
    assert [r["lr"] for r in rung0] == sorted(full, key=lambda lr: full[lr].score(first))
    assert rung0[0]["lr"] == early
    assert early != grid["chosen_lr"]                     # the problem is one where they differ

    # (c) successive halving reaches the full-length choice at <= 2 full runs' cost
    assert halved["chosen_lr"] == grid["chosen_lr"]
    assert halved["updates_spent"] == halved["planned_updates"] == 2 * L
    assert halved["updates_spent"] <= 2 * halved["full_run_updates"]
    assert json.loads((tuned["root"] / "halving" / "tuning.json").read_text()) == halved

    # the numbers behind it, as measured when the problem was found
    assert (early, grid["chosen_lr"]) == (1.0, 0.3)


def test_halving_trials_are_the_full_length_runs_cut_short(tuned):
    """The chosen trial, continued from checkpoints at each budget, ends with the arrays of the
    same rate trained the full length in one go, bit for bit; the eliminated ones hold their
    prefix, so the halving decided exactly as it would from the full-length trials."""
    config, root = tuned["config"], tuned["root"]
    chosen = tuned["halving"]["chosen_lr"]
    meta_h, a_h = read_results(trial_folder(root / "halving", chosen))
    meta_g, a_g = read_results(trial_folder(root / "grid", chosen))
    assert meta_h["status"] == "finished" and meta_h["updates_done"] == config.updates
    assert sorted(a_h) == sorted(a_g)
    for k in a_h:
        assert a_h[k].dtype == a_g[k].dtype and a_h[k].shape == a_g[k].shape, k
        assert a_h[k].tobytes() == a_g[k].tobytes(), k
    assert (trial_folder(root / "halving", chosen) / RESULTS_JSON).read_bytes() == \
        (trial_folder(root / "grid", chosen) / RESULTS_JSON).read_bytes()
    assert (trial_folder(root / "halving", chosen) / RESULTS_NPZ).is_file()

    # every halving trial stopped at the budget it reached, at the full run's points
    halved = read_trials(config, root / "halving")
    reached = {}
    for r in tuned["halving"]["trials"]:
        reached[r["lr"]] = max(reached.get(r["lr"], 0), r["budget"])
    budgets = [b for _, b in rungs(config)]
    full = read_trials(config, root / "grid")
    for lr, t in halved.items():
        assert t.status == "finished" and t.updates_done == reached[lr]
        assert t.evals == {u: v for u, v in full[lr].evals.items() if u <= reached[lr]}
    assert sorted(reached.values()) == [budgets[0], budgets[0], budgets[1], budgets[2]]
    # so the pure halving of the full-length trials makes the same record
    d = halving(config, full)
    assert d.decided and d.chosen_lr == chosen
    assert d.record == tuned["halving"]["trials"]
