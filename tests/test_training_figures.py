"""The training-time figures (2, 3, 4, 9, 10, 11, 12, T) and Table 1 at smoke scale: the
training experiments behind them (rate chosen by successive halving, stored runs reused,
resumed or recomputed), and the directions the paper claims that hold robustly at this scale."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from varprop import engine, store
from varprop.training import tuning
from varprop.training.run import read_results

TRAINING_FIGURES = ("2", "3", "4", "9", "10", "11", "12", "T", "TABLE1")


def test_training_figures_and_table_written(smoke):
    ids = [r["id"] for r in smoke["first"]]
    assert set(TRAINING_FIGURES) <= set(ids)
    for rec in smoke["first"]:
        if rec["id"] in TRAINING_FIGURES:
            assert rec["digests"] and all(len(d) == 64 for d in rec["digests"])
    table = {r["id"]: r for r in smoke["first"]}["TABLE1"]
    assert sorted(p.rsplit(".", 1)[1] for p in table["paths"]) == ["md", "tex"]


def test_every_result_computed_once_and_reused(smoke):
    """The first run computes every result (tasks: trials of the halvings, Monte-Carlo
    batches, stores); the second only re-reads the store."""
    assert smoke["tasks_first"] > 17       # at least one task per trained model
    assert smoke["tasks_second"] == 0


@pytest.mark.parametrize("name", ["train_shapeset", "train_mnist", "train_fashion"])
def test_rate_chosen_by_successive_halving_and_kept(smoke, name):
    """Each model: every rate of the grid trained to the first budget; the better half by
    validation error went on; the chosen rate's trial is the model's full-length run."""
    cfg = engine.load_config(name, "smoke")
    for label, r in smoke["results"][name].items():
        t = r["tuning"]
        control = label == "Tanh at 0.01"                # a model with its own one-rate grid
        assert t["grid"] == ([0.01] if control else list(cfg["lr_grid"]))
        assert t["budgets"][-1] == cfg["updates"]
        first = [row for row in t["trials"] if row["budget"] == t["budgets"][0]]
        assert sorted(row["lr"] for row in first) == sorted(t["grid"])
        last = [row for row in t["trials"] if row["budget"] == t["budgets"][-1]]
        best = min(last, key=lambda row: (row["valid_error"], row["valid_cost"], row["lr"]))
        assert t["chosen_lr"] == best["lr"] == r["meta"]["config"]["lr"], label
        assert r["meta"]["status"] == "finished"
        assert r["meta"]["updates_done"] == cfg["updates"]
        assert t["updates_spent"] <= 2 * cfg["updates"] + len(t["grid"]) * t["budgets"][0]
        folder = smoke["runs"] / "smoke" / name / store.slug(label)
        for row in t["trials"]:
            meta, arrays = read_results(tuning.trial_folder(folder, row["lr"]))
            assert meta["config"]["lr"] == row["lr"] and meta["updates_done"] >= row["budget"]
            at = list(arrays["eval_updates"]).index(row["budget"])
            assert arrays["valid_error"][at] == row["valid_error"]


def test_normalized_init_beats_standard_for_tanh_on_mnist(smoke):
    """Table 1's direction at a fixed small budget and seed: Tanh N's test error is lower than
    Tanh's by more than 2 binomial standard errors (1,000 test examples at smoke scale)."""
    res = smoke["results"]["train_mnist"]
    n = engine.load_config("train_mnist", "smoke")["eval_examples"]
    e_std, e_norm = (float(res[m]["arrays"]["test_error"][-1]) for m in ("Tanh", "Tanh N"))
    se = math.sqrt(e_std * (1 - e_std) / n + e_norm * (1 - e_norm) / n)
    assert e_std - e_norm > 2 * se, (e_std, e_norm, se)


def test_standard_init_shrinks_activations_with_depth_at_the_start(smoke):
    """Figures 3 and 10 at update 0 (eqs. 5 and 10): with the standard init tanh's activation
    std falls layer after layer; the normalized init keeps the layers far closer together."""
    res = smoke["results"]["train_shapeset"]
    std = res["Tanh"]["arrays"]["activation_std"][0]          # (H,) at update 0
    norm = res["Tanh N"]["arrays"]["activation_std"][0]
    assert np.all(np.diff(std) < 0)
    assert norm[-1] / norm[0] > 2 * std[-1] / std[0]


def test_monitors_cover_the_run(smoke):
    for name in ("train_shapeset", "train_mnist"):
        cfg = engine.load_config(name, "smoke")
        for r in smoke["results"][name].values():
            a = r["arrays"]
            assert a["monitor_updates"][0] == 0 and a["monitor_updates"][-1] == cfg["updates"]
            np.testing.assert_array_equal(np.diff(a["monitor_updates"]), cfg["monitor_every"])
            assert a["eval_updates"][-1] == cfg["updates"]
            assert np.all((a["test_error"] >= 0) & (a["test_error"] <= 1))


# ----------------------------------------------------------------------------- stored runs

TINY = """
kind = "training"
dataset = "shapeset"
models = [["Tanh N", "tanh", "normalized", 2]]
threads = 1
[smoke]
width = 8
updates = 60
monitor_every = 30
eval_every = 30
checkpoint_every = 30
eval_examples = 200
monitor_examples = 50
lr_grid = [0.01, 0.1]
"""


@pytest.fixture
def configs(tmp_path):
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "tiny.toml").write_text(TINY)
    return folder


def _train(root, configs, **kw):
    n = engine.run(["tiny"], "smoke", root, jobs=1, log=lambda m: None, configs=configs, **kw)
    return engine.load("tiny", "smoke", root, configs)["Tanh N"], n


def test_stored_run_reused_resumed_or_recomputed(tmp_path, configs):
    root = tmp_path / "store"
    first, n = _train(root, configs)
    assert n == 3                                            # 2 trials to 30, the best to 60
    folder = root / "smoke" / "tiny" / "tanh-n"
    again, n = _train(root, configs)                         # reused as it is
    assert n == 0 and again["digest"] == first["digest"]
    # interrupted: the chosen trial stopped early (its final files gone) -> resumed, same bits
    trial = tuning.trial_folder(folder, first["tuning"]["chosen_lr"])
    (folder / "tuning.json").unlink()
    (trial / "results.json").write_text(json.dumps(
        {**first["meta"], "status": "running", "updates_done": 30}))
    resumed, n = _train(root, configs)
    assert n == 1
    for k, v in first["arrays"].items():
        np.testing.assert_array_equal(resumed["arrays"][k], v, err_msg=k)
    # another grid: the rate no longer in it is removed, the new one trained
    (configs / "tiny.toml").write_text(TINY.replace("[0.01, 0.1]", "[0.01, 0.03]"))
    changed, n = _train(root, configs)
    assert n >= 1 and changed["tuning"]["grid"] == [0.01, 0.03]
    assert not (folder / "lr=0.1").exists()
    # another config: stale trials, recomputed from scratch
    (configs / "tiny.toml").write_text(TINY.replace("width = 8", "width = 6"))
    other, n = _train(root, configs)
    assert n == 3 and other["digest"] != first["digest"]
    # --recompute: computed anew
    _, n = _train(root, configs, recompute=True)
    assert n == 3


def test_bad_training_experiment_named_in_one_line():
    params = {"models": [["Tanh N", "tanh", "normalized", 2]], "width": 8}
    with pytest.raises(ValueError, match="unknown key.*'widht'.*valid keys: models, width"):
        engine.model_configs({**params, "widht": 3})
    with pytest.raises(ValueError, match=r"\[label, activation, init, depth\]"):
        engine.model_configs({**params, "models": [["Tanh", "tanh", "standard"]]})
    with pytest.raises(ValueError, match="model 'Tanh': unknown key.*'rate'.*valid keys"):
        engine.model_configs({**params, "models": [["Tanh", "tanh", "standard", 2, {"rate": 1}]]})
    own = engine.model_configs({**params, "models": [["Tanh", "tanh", "standard", 2,
                                                      {"lr_grid": [0.5]}]]})["Tanh"]
    assert own.lr_grid == (0.5,) and own.hidden == (8, 8)
    with pytest.raises(ValueError, match="jobs must be a positive integer"):
        with engine.cluster(jobs=0):
            pass


def test_one_or_two_workers_give_the_same_bytes(tmp_path, configs):
    """jobs=1 and jobs=2 (one thread per worker) store byte-identical results."""
    (configs / "tiny2.toml").write_text(TINY.replace("seed = 0", "").replace(
        "threads = 1", "threads = 1\nseed = 1"))
    one, two = tmp_path / "one", tmp_path / "two"
    engine.run(["tiny", "tiny2"], "smoke", one, jobs=1, log=lambda m: None, configs=configs)
    engine.run(["tiny", "tiny2"], "smoke", two, jobs=2, log=lambda m: None, configs=configs)
    files = [p.relative_to(one) for p in store.results_files(one)]
    assert files == [p.relative_to(two) for p in store.results_files(two)] and len(files) > 6
    for f in files:
        assert (one / f).read_bytes() == (two / f).read_bytes(), f
