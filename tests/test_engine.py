"""The Dask engine: same results whatever ran them (one local worker or two, a worker killed
mid-task, an external `dask scheduler` with `dask worker` processes), the plan, the CLI."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from varprop import engine, store

# One training model on MNIST, two rates: the halving trains both to 4,000 updates, then the
# better one to 8,000 (3 tasks); checkpoints every 1,000 updates.
TINY = """
kind = "training"
dataset = "mnist"
models = [["Tanh N", "tanh", "normalized", 2]]
cost = "nll"
batch_size = 10
monitor_examples = 100
seed = 0
data_seed = 0
dtype = "float32"

[smoke]
width = 64
updates = 8_000
monitor_every = 1_000
eval_every = 1_000
checkpoint_every = 1_000
eval_examples = 1_000
lr_grid = [0.03, 0.1]
"""


@pytest.fixture
def tiny(tmp_path):
    from varprop.datasets.cache import DataMissing
    from varprop.datasets.interface import load
    try:
        load("mnist", "test")
    except DataMissing:
        if os.environ.get("VARPROP_REQUIRE_DATA") == "1":
            raise
        pytest.skip("MNIST not prepared (varprop data prepare mnist)")
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "tiny.toml").write_text(TINY)
    return configs


def _files(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in store.results_files(root)}


def _same_files(a: Path, b: Path) -> None:
    fa, fb = _files(a), _files(b)
    assert fa, f"no results under {a}"
    assert sorted(fa) == sorted(fb)
    different = [k for k in fa if fa[k] != fb[k]]
    assert not different, f"files differ: {different}"


def _kill_during_training(client, root: Path, killed: list, stop: threading.Event) -> None:
    """Kill the worker running a training trial twice: as soon as a trial is running (before
    its first checkpoints), then once a trial has checkpointed past update 0."""
    def busy_worker():
        for worker, keys in client.processing().items():
            if keys:
                return worker
        return None

    def progressed():
        for p in root.rglob(store.RESULTS_JSON):
            meta = json.loads(p.read_text())
            if meta["status"] == "running" and meta["updates_done"] >= 2000:
                return True
        return False

    for condition in (lambda: True, progressed):
        while not stop.is_set():
            worker = busy_worker()
            if worker is not None and condition():
                pid = client.run(os.getpid, workers=[worker]).get(worker)
                if pid:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    break
            time.sleep(0.05)


def test_a_killed_worker_changes_nothing(tiny, tmp_path):
    """A worker process killed (SIGKILL) twice during training tasks on a 2-worker
    LocalCluster: Dask runs its task again, which resumes from the store's checkpoint, and every
    result file equals an uninterrupted run's, byte for byte."""
    quiet = lambda m: None   # noqa: E731
    calm = tmp_path / "uninterrupted"
    assert engine.run(["tiny"], "smoke", calm, jobs=1, log=quiet, configs=tiny) == 3
    killed_root = tmp_path / "killed"
    jobs = engine.jobs_for(["tiny"], "smoke", killed_root, tiny)
    for job in jobs:
        job.prepare()
    killed, stop = [], threading.Event()
    with engine.cluster(jobs=2) as client:
        killer = threading.Thread(target=_kill_during_training,
                                  args=(client, killed_root, killed, stop), daemon=True)
        killer.start()
        try:
            engine.execute(jobs, client, log=quiet)
        finally:
            stop.set()
            killer.join(10)
    assert len(killed) == 2, "the test killed fewer workers than planned"
    _same_files(calm, killed_root)
    res = engine.load("tiny", "smoke", killed_root, tiny)["Tanh N"]
    assert res["meta"]["status"] == "finished" and res["meta"]["updates_done"] == 8000
    assert res["tuning"]["updates_spent"] == 12_000       # 2 x 4,000, then 4,000 more


def test_plan_counts_without_computing(tiny, tmp_path, capsys):
    root = tmp_path / "store"
    rows = engine.plan(["tiny"], "smoke", root, configs=tiny)
    assert [(r.config, r.what, r.tasks, r.updates) for r in rows] == [("tiny", "Tanh N", 3, 12_000)]
    assert rows[0].core_seconds > 0
    assert not root.exists()                  # planning writes nothing
    text = engine.format_plan(rows, "smoke", 2)
    assert "3 tasks, 12,000 SGD updates" in text and "core-hours" in text


def _cli(*args, env=None, timeout=900):
    return subprocess.run([sys.executable, "-m", "varprop", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def test_paper_plan_prints_the_whole_cost(tmp_path):
    """`varprop figures --scale paper --plan`: the paper scale's tasks, updates and
    core-hours (training: 6 models x 2 full runs + the control on Shapeset, 5 x 2 on MNIST and
    Fashion-MNIST), computing nothing."""
    r = _cli("figures", "--scale", "paper", "--plan", "--store", str(tmp_path / "s"),
             timeout=300)
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith("scale paper: ") and "core-hours" in first
    shapeset = next(line for line in r.stdout.splitlines() if line.startswith("train_shapeset"))
    # 6 halvings of 4 rates (budgets 1.2M, 2.4M, 5M: 9.8M updates), the control's one 5M run
    assert "63,800,000" in shapeset
    assert "73,800,000 SGD updates" in first           # + MNIST, Fashion: 2 x 5 x 2 x 500k
    assert not (tmp_path / "s").exists()


def test_bad_engine_flags_exit_2(tmp_path):
    for args in (["--jobs", "0"], ["--jobs", "x"], ["--scale", "huge"]):
        r = _cli("figures", *args, "--plan", "--store", str(tmp_path / "s"), timeout=120)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr
    a_file = tmp_path / "file"
    a_file.write_text("")
    for args, says in ((["--store", "/proc/nope"], "--store /proc/nope: cannot write in /proc"),
                       (["--store", str(a_file)], "is a file; give a folder"),
                       (["--scheduler", "nonsense"], "cannot reach the Dask scheduler")):
        r = _cli("figures", "--only", "5", "--out", str(tmp_path / "out"), *args, timeout=120)
        assert r.returncode == 2 and says in r.stderr, (args, r.stderr)
        assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
        assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """An external cluster: `dask scheduler` and two `dask worker` processes of one thread."""
    folder = tmp_path_factory.mktemp("dask")
    info = folder / "scheduler.json"
    env = {**os.environ, **engine.WORKER_ENV}
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    procs = [subprocess.Popen([*dask, "--scheduler-file", str(info), "--port", "0",
                               "--no-dashboard"], cwd=folder, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.time() + 60
        while not info.is_file() and time.time() < deadline:
            time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        for _ in range(2):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                 "--nworkers", "1", "--no-dashboard"], cwd=folder, env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def test_scheduler_and_local_cluster_give_the_same_bytes(smoke, dask_cluster, tmp_path):
    """`varprop figures --scale smoke --jobs 2` (the session's smoke run) and the same through
    an external `dask scheduler` + two `dask worker` processes: byte-identical results files,
    Table 1 and claims."""
    root, out = tmp_path / "store", tmp_path / "out"
    r = _cli("figures", "--scale", "smoke", "--scheduler", dask_cluster, "--store", str(root),
             "--out", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    _same_files(smoke["runs"] / "smoke", root / "smoke")
    for name in ("table1.md", "table1.tex", "claims.md"):
        assert (out / name).read_bytes() == (smoke["out"] / name).read_bytes(), name
