"""The training-time figures (2, 3, 4, 9, 10, 11, 12, T) and Table 1 at smoke scale: the
training experiments behind them (learning-rate grid, chosen rate, stored runs reused, resumed
or recomputed), and the directions the paper claims that hold robustly at this scale."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from varprop import experiments as E
from varprop.training import sweep
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


def test_every_model_trained_once_and_reused(smoke):
    cifar = 5 if sweep.data_present({"dataset": "cifar-10"}) else 0   # when its files are here
    assert smoke["trained_first"] == 17 + cifar   # 7 Shapeset, 5 MNIST, 5 Fashion-MNIST models
    assert smoke["trained_second"] == 0       # the second run re-plots from the stored runs


@pytest.mark.parametrize("name", ["train_shapeset", "train_mnist", "train_fashion"])
def test_rate_chosen_on_validation_error_and_kept(smoke, name):
    """Each model: every rate of the grid trained tune_updates updates; the chosen one has the
    lowest final validation error (ties: cost); the run used it."""
    cfg = E.load_config(name, "smoke")
    for label, r in smoke["results"][name].items():
        t = r["tuning"]
        own = r["config"].lr_grid          # the config's grid, or the model's own (a control)
        assert t["grid"] == list(own) and t["budget_updates"] == cfg["tune_updates"]
        assert own == tuple(cfg["lr_grid"]) or label == "Tanh at 0.03"
        finished = [run for run in t["runs"] if run["status"] == "finished"]
        best = min(finished, key=lambda run: (run["valid_error"], run["valid_cost"]))
        assert t["chosen_lr"] == best["lr"] == r["meta"]["config"]["lr"], label
        assert r["meta"]["status"] == "finished"
        assert r["meta"]["updates_done"] == cfg["updates"]
        folder = sweep.runs_dir() / "smoke" / name / sweep.slug(label)
        for run in t["runs"]:
            meta, _ = read_results(folder / run["folder"])
            assert meta["config"]["lr"] == run["lr"]
            assert meta["updates_done"] == cfg["tune_updates"]


def test_normalized_init_beats_standard_for_tanh_on_mnist(smoke):
    """Table 1's direction at a fixed small budget and seed: Tanh N's test error is lower than
    Tanh's by more than 2 binomial standard errors (1,000 test examples at smoke scale)."""
    res = smoke["results"]["train_mnist"]
    n = E.load_config("train_mnist", "smoke")["eval_examples"]
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
        cfg = E.load_config(name, "smoke")
        for r in smoke["results"][name].values():
            a = r["arrays"]
            assert a["monitor_updates"][0] == 0 and a["monitor_updates"][-1] == cfg["updates"]
            np.testing.assert_array_equal(np.diff(a["monitor_updates"]), cfg["monitor_every"])
            assert a["eval_updates"][-1] == cfg["updates"]
            assert np.all((a["test_error"] >= 0) & (a["test_error"] <= 1))


# ----------------------------------------------------------------------------- stored runs

TINY = {"dataset": "shapeset", "models": [["Tanh N", "tanh", "normalized", 2]], "width": 8,
        "updates": 60, "monitor_every": 30, "eval_every": 30, "checkpoint_every": 30,
        "eval_examples": 200, "monitor_examples": 50, "lr_grid": [0.01, 0.1],
        "tune_updates": 30, "threads": 1}


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv(sweep.RUNS_ENV, str(tmp_path))
    return tmp_path


def _train(params, **kw):
    n = len(sweep.TRAINED)
    res = sweep.training(params, "tiny", "smoke", log=lambda m: None, **kw)["Tanh N"]
    return res, len(sweep.TRAINED) - n


def test_stored_run_reused_resumed_or_recomputed(runs):
    first, n = _train(TINY)
    assert n == 1
    folder = runs / "smoke" / "tiny" / "tanh-n"
    assert sweep.state(folder, first["config"]) == "done"
    again, n = _train(TINY)                                   # reused as it is
    assert n == 0 and again["digest"] == first["digest"]
    # interrupted: the main run stopped early (its final files gone) -> resumed, same bits
    (folder / "tuning.json").unlink()
    (folder / "results.json").write_text(json.dumps(
        {**first["meta"], "status": "running"}))
    assert sweep.state(folder, first["config"]) == "partial"
    resumed, n = _train(TINY)
    assert n == 1
    for k, v in first["arrays"].items():
        np.testing.assert_array_equal(resumed["arrays"][k], v, err_msg=k)
    # another config: stale, recomputed from scratch
    changed, n = _train({**TINY, "lr_grid": [0.01, 0.03]})
    assert n == 1 and changed["digest"] != first["digest"]
    assert changed["tuning"]["grid"] == [0.01, 0.03]
    assert not (folder / "lr-grid" / "lr=0.1").exists()       # the stale grid run is gone
    # --recompute: trained anew once in this process, then reused
    _, n = _train({**TINY, "lr_grid": [0.01, 0.03]}, recompute=True)
    _, n2 = _train({**TINY, "lr_grid": [0.01, 0.03]}, recompute=True)
    assert (n, n2) == (1, 0)


def test_bad_training_experiment_named_in_one_line(runs):
    with pytest.raises(ValueError, match="unknown key.*'widht'.*valid keys: models, width"):
        sweep.model_configs({**TINY, "widht": 3})
    with pytest.raises(ValueError, match=r"\[label, activation, init, depth\]"):
        sweep.model_configs({**TINY, "models": [["Tanh", "tanh", "standard"]]})
    with pytest.raises(ValueError, match="model 'Tanh': unknown key.*'rate'.*valid keys"):
        sweep.model_configs({**TINY, "models": [["Tanh", "tanh", "standard", 2, {"rate": 1}]]})
    own = sweep.model_configs({**TINY, "models": [["Tanh", "tanh", "standard", 2,
                                                    {"lr_grid": [0.5]}]]})["Tanh"]
    assert own.lr_grid == (0.5,) and own.hidden == (8, 8)
    with pytest.raises(ValueError, match="jobs must be a positive integer"):
        sweep.run_all({"tiny": TINY}, "smoke", jobs=0)


def test_two_processes_give_the_same_runs(runs, tmp_path_factory, monkeypatch):
    """jobs=2 (one thread per process) stores the same bits as one process."""
    one, _ = _train(TINY)
    other = tmp_path_factory.mktemp("two")
    monkeypatch.setenv(sweep.RUNS_ENV, str(other))
    sweep.run_all({"tiny": TINY, "tiny2": {**TINY, "seed": 1}}, "smoke", jobs=2,
                  log=lambda m: None)
    _, arrays = read_results(other / "smoke" / "tiny" / "tanh-n")
    for k in ("test_error", "valid_error", "weight_variance", "train_cost"):
        np.testing.assert_array_equal(arrays[k], one["arrays"][k], err_msg=k)
