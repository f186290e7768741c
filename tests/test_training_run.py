"""Training runs: results files, resume after SIGKILL (bit-identical), divergence, bad configs,
``varprop train`` on the command line, and learning beating chance."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from varprop import cli
from varprop.training.config import KEYS, from_dict, merge, parse_set
from varprop.training.run import CHECKPOINT, RESULTS_JSON, Diverged, RunExists, train

TINY = dict(hidden=[24, 16], updates=300, monitor_every=100, eval_every=150,
            checkpoint_every=100, eval_examples=200, monitor_examples=50, lr=0.05, bins=20,
            threads=1)


def same_arrays(a: dict, b: dict):
    assert sorted(a) == sorted(b)
    for k in a:
        assert np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f"), k


def test_results_files_and_metadata(tmp_path):
    meta, arrays = train(from_dict(TINY), tmp_path / "run", quiet=True, log=lambda m: None)
    assert meta["status"] == "finished" and meta["updates_done"] == 300
    assert meta["examples_seen"] == 3000 and meta["config"]["lr"] == 0.05
    assert meta["version"] and meta["widths"] == [1024, 24, 16, 9]
    # where and how long it ran: beside the results, so that these are the same bytes anywhere
    prov = json.loads((tmp_path / "run" / "provenance.json").read_text())
    assert set(prov) == {"git_revision", "threads", "wall_seconds"} and prov["threads"] == 1
    assert not {"git_revision", "threads", "wall_seconds"} & set(meta)
    np.testing.assert_array_equal(arrays["monitor_updates"], [0, 100, 200, 300])
    np.testing.assert_array_equal(arrays["eval_updates"], [0, 150, 300])
    P, L = 4, 3
    assert arrays["activation_histogram"].shape == (P, L - 1, 20)
    assert arrays["backprop_std"].shape == (P, L)
    for theory in ("linear", "meanfield"):
        assert arrays[f"{theory}_activation_variance"].shape == (P, L)
    assert np.isnan(arrays["train_cost"][0]) and np.isfinite(arrays["train_cost"][1:]).all()
    assert set(meta["keys"]) == set(arrays)          # every array documented
    assert not list((tmp_path / "run").glob("*.part"))   # nothing half-written left
    with pytest.raises(RunExists, match="--resume"):
        train(from_dict(TINY), tmp_path / "run", quiet=True)


def test_same_seed_same_bits_and_resume_of_finished_run(tmp_path):
    _, a = train(from_dict(TINY), tmp_path / "a", quiet=True)
    _, b = train(from_dict(TINY), tmp_path / "b", quiet=True)
    same_arrays(a, b)
    _, c = train(from_dict(TINY), tmp_path / "a", quiet=True, resume=True)   # nothing to do
    same_arrays(a, c)
    with pytest.raises(ValueError, match="holds a run with lr=0.05"):
        train(from_dict({**TINY, "lr": 0.1}), tmp_path / "a", quiet=True, resume=True)


def test_killed_run_resumes_to_identical_results(tmp_path):
    """SIGKILL a `varprop train` subprocess after its first checkpoint, resume it, and compare
    every result array and the final weights with an uninterrupted run of the same seed."""
    cfg = {**TINY, "updates": 6000, "monitor_every": 500, "eval_every": 1000,
           "checkpoint_every": 250}
    argv = ["--hidden", "24,16", "--updates", "6000", "--monitor-every", "500",
            "--eval-every", "1000", "--checkpoint-every", "250", "--lr", "0.05",
            "--set", "eval_examples=200", "--set", "monitor_examples=50", "--set", "bins=20",
            "--threads", "1", "--quiet"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "varprop", "train", *argv, "--out", str(killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    update = 0
    while time.time() < deadline and proc.poll() is None:
        if (killed / CHECKPOINT).is_file():
            with np.load(killed / CHECKPOINT) as f:
                update = int(f["update"])
            if update >= 250:
                break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed: " + proc.stderr.read().decode()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    meta = json.loads((killed / RESULTS_JSON).read_text())
    assert meta["status"] == "running" and 250 <= update < 6000
    rc = cli.main(["train", "--out", str(killed), "--resume", "--quiet"])
    assert rc == 0
    _, resumed = train(from_dict(cfg), killed, resume=True, quiet=True)   # finished: re-reads
    _, whole = train(from_dict(cfg), tmp_path / "whole", quiet=True)
    same_arrays(resumed, whole)
    with np.load(killed / CHECKPOINT) as f1, np.load(tmp_path / "whole" / CHECKPOINT) as f2:
        for k in f1.files:
            if k.startswith(("W", "b")):
                assert np.array_equal(f1[k], f2[k]), k


def test_divergence_stops_cleanly_naming_update_and_layer(tmp_path, capsys):
    out = tmp_path / "div"
    cfg = from_dict({**TINY, "activation": "linear", "lr": 50.0, "updates": 400})
    with pytest.raises(Diverged, match=r"diverged at update [\d,]+ \(lr 50\).*layer \d") as exc:
        train(cfg, out, quiet=True)
    meta = json.loads((out / RESULTS_JSON).read_text())
    assert meta["status"] == "diverged" and meta["message"] == str(exc.value)
    with np.load(out / CHECKPOINT) as f:          # the last good checkpoint, all finite
        assert all(np.isfinite(f[k]).all() for k in f.files if k.startswith(("W", "b")))
        assert int(f["update"]) < 400
    rc = cli.main(["train", "--activation", "linear", "--lr", "50", "--hidden", "24,16",
                   "--updates", "400", "--set", "eval_examples=200", "--set",
                   "monitor_examples=50", "--quiet", "--out", str(tmp_path / "div2")])
    err = capsys.readouterr().err
    assert rc == 3 and "diverged at update" in err and "Traceback" not in err


@pytest.mark.parametrize("argv,needle", [
    (["--set", "colour=blue"], "valid keys: dataset, hidden"),
    (["--activation", "swishy"], "choose one of: linear, tanh"),
    (["--init", "glorot"], "choose one of: standard, normalized"),
    (["--dataset", "imagenet"], "choose one of shapeset"),
    (["--lr", "-1"], "lr must be a positive number"),
    (["--hidden", "10,x"], "comma-separated list"),
    (["--batch-size", "0"], "batch_size must be an integer >= 1"),
    (["--dtype", "float16"], "choose one of: float32, float64"),
    (["--set", "updates"], "--set needs key=value"),
    (["no/such/config.toml"], "no such config file"),
    (["--dataset", "cifar-10", "--data-dir", "/nonexistent"], "batches not found"),
])
def test_bad_config_is_one_line_exit_2(tmp_path, capsys, argv, needle):
    out = tmp_path / "bad"
    rc = cli.main(["train", *argv, "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and needle in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_toml_config_unknown_key_and_precedence(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('dataset = "shapeset"\nhidden = [50, 50]\nlr = 0.2\n')
    from varprop.training.config import read_toml
    c = merge(read_toml(toml), {"lr": 0.3}, parse_set(["hidden=[7]"]))
    assert (c.hidden, c.lr) == ((7,), 0.3)
    toml.write_text('learning_rate = 0.1\n')
    with pytest.raises(ValueError, match="unknown config key 'learning_rate'; valid keys"):
        from_dict(read_toml(toml))
    assert "lr" in KEYS


def test_report_of_an_existing_run(tmp_path, capsys):
    out = tmp_path / "rep"
    train(from_dict(TINY), out, quiet=True)
    capsys.readouterr()
    assert cli.main(["train", "--out", str(out), "--report"]) == 0
    text = capsys.readouterr().out
    assert text.count("monitor point") >= 4 and "mean field" in text and "Var[dC/dW]" in text


def test_learning_rate_halving_keeps_every_trial(tmp_path, capsys):
    """`varprop train --lr-grid`: successive halving in OUT/lr=RATE/, the record in
    OUT/tuning.json; the chosen rate's trial holds the full-length run."""
    out = tmp_path / "grid"
    toml = tmp_path / "c.toml"
    toml.write_text('hidden = [24, 16]\nupdates = 200\nmonitor_every = 50\neval_every = 50\n'
                    'checkpoint_every = 50\neval_examples = 200\nmonitor_examples = 50\n'
                    'bins = 20\nthreads = 1\nlr_grid = [0.001, 0.1]\n')
    assert cli.main(["train", str(toml), "--out", str(out), "--quiet"]) == 0
    table = json.loads((out / "tuning.json").read_text())
    assert table["budgets"] == [100, 200] and table["updates_spent"] == 300
    at100 = {r["lr"]: r["valid_error"] for r in table["trials"] if r["budget"] == 100}
    assert table["chosen_lr"] == min(at100, key=lambda lr: (at100[lr], lr))
    chosen = json.loads((out / f"lr={table['chosen_lr']:g}" / RESULTS_JSON).read_text())
    assert chosen["updates_done"] == 200 and chosen["status"] == "finished"
    assert f"lr={table['chosen_lr']:g}" in capsys.readouterr().err


def test_resume_takes_the_stored_config_and_extends_updates(tmp_path, capsys):
    out = tmp_path / "ext"
    toml = tmp_path / "c.toml"
    toml.write_text('hidden = [24, 16]\nlr = 0.03\nupdates = 200\nmonitor_every = 100\n'
                    'eval_every = 100\ncheckpoint_every = 100\neval_examples = 200\n'
                    'monitor_examples = 50\nbins = 20\nthreads = 1\n')
    assert cli.main(["train", str(toml), "--out", str(out), "--quiet"]) == 0
    assert cli.main(["train", "--out", str(out), "--resume", "--updates", "300", "--quiet"]) == 0
    meta = json.loads((out / RESULTS_JSON).read_text())
    assert meta["updates_done"] == 300 and meta["config"]["lr"] == 0.03
    assert cli.main(["train", "--out", str(out), "--resume", "--lr", "0.1", "--quiet"]) == 2
    assert "holds a run with lr=0.03" in capsys.readouterr().err
