"""Table 1's numbers as the table shows them (from varprop.summaries, whose measures
tests/test_summaries.py checks by hand) and its files, and Figures 11 and 12, on small synthetic
training results of the real structure (no training, no data)."""
from __future__ import annotations

import math
import subprocess

import numpy as np
import pytest
from conftest import pdflatex_path
from matplotlib.figure import Figure

from varprop.figures import fig11, fig12, table1

DATASETS = {"train_shapeset": "shapeset", "train_mnist": "mnist",
            "train_fashion": "fashion-mnist"}


def fake_run(errors, *, dataset="mnist", status="finished", lr=0.1, eval_examples=None,
             depth=5, width=32, eval_every=250, batch_size=10, digest="d"):
    """One model's result dict as engine.load gives it, with made-up test errors."""
    errors = np.asarray(errors, dtype=float)
    updates = eval_every * (len(errors) - 1)
    done = updates
    if status == "diverged":
        finite = np.flatnonzero(np.isfinite(errors))
        done = int(eval_every * finite[-1])
        updates = done + 2 * eval_every
    inputs = {"shapeset": 1024, "mnist": 784, "fashion-mnist": 784}[dataset]
    outputs = 9 if dataset == "shapeset" else 10
    config = {"dataset": dataset, "hidden": [width] * depth, "activation": "tanh",
              "init": "standard", "lr": lr, "updates": updates, "batch_size": batch_size,
              "eval_examples": eval_examples}
    meta = {"config": config, "status": status, "updates_done": done,
            "examples_seen": done * batch_size, "widths": [inputs] + [width] * depth + [outputs],
            "wall_seconds": 1.0}
    eval_updates = np.arange(len(errors)) * eval_every
    arrays = {"eval_updates": eval_updates, "test_error": errors, "valid_error": errors + 0.01,
              "test_cost": 2 * errors, "valid_cost": 2 * errors}
    tuning = {"grid": [0.01, 0.1], "chosen_lr": lr, "budgets": [eval_every, 2 * eval_every],
              "trials": [{"lr": g, "budget": eval_every, "status": "trained",
                          "valid_error": 0.5} for g in (0.01, 0.1)]}
    return {"meta": meta, "arrays": arrays, "tuning": tuning, "config": None,
            "digest": digest, "folder": "/nowhere"}


def fake_results():
    """{config: {model: run}}: Tanh N best on MNIST with Softsign N tied to it, Sigmoid far
    worse; on Fashion-MNIST the lowest error belongs to a diverged Tanh."""
    final = {"train_shapeset": {"Softsign": 0.17, "Softsign N": 0.16, "Tanh": 0.27,
                                "Tanh N": 0.155, "Sigmoid": 0.83, "Sigmoid depth 4": 0.30},
             "train_mnist": {"Softsign": 0.0164, "Softsign N": 0.0165, "Tanh": 0.0176,
                             "Tanh N": 0.0164, "Sigmoid": 0.10},
             "train_fashion": {"Softsign": 0.12, "Softsign N": 0.11, "Tanh": 0.05,
                               "Tanh N": 0.105, "Sigmoid": 0.20}}
    res = {}
    for config, models in final.items():
        res[config] = {}
        for i, (m, e) in enumerate(models.items()):
            errs = [0.9, 0.5, e + 0.02, e]
            status = "finished"
            if config == "train_fashion" and m == "Tanh":
                errs = [0.9, 0.5, e, np.nan]            # diverged after its third evaluation
                status = "diverged"
            res[config][m] = fake_run(errs, dataset=DATASETS[config], status=status,
                                      depth=4 if m.endswith("4") else 5,
                                      lr=0.01 if m.startswith("Sigmoid") else 0.1,
                                      eval_examples=1000 if config == "train_shapeset" else None,
                                      digest=f"{config}-{i}")
    return res


# ------------------------------------------------------------------------------------------
# Numbers (binomial SE, z-test, bold set: tests/test_summaries.py)

def test_table_numbers():
    t = table1.table(fake_results())
    assert [c["name"] for c in t["columns"]] == ["Shapeset-3×2", "MNIST", "Fashion-MNIST"]
    assert t["models"] == ("Softsign", "Softsign N", "Tanh", "Tanh N", "Sigmoid")
    shapeset, mnist, fashion = t["columns"]
    c = shapeset["cells"]["Tanh N"]
    assert c["n"] == 1000 and c["error_pct"] == pytest.approx(15.5)
    assert c["se_pct"] == pytest.approx(100 * math.sqrt(0.155 * 0.845 / 1000))
    assert c["paper"] == 15.60 and shapeset["best"] == "Tanh N"
    assert {m for m, c in shapeset["cells"].items() if c["bold"]} == {"Tanh N", "Softsign N",
                                                                     "Softsign"}
    assert mnist["cells"]["Sigmoid"]["n"] == 10_000
    assert {m for m, c in mnist["cells"].items() if c["bold"]} == {
        "Softsign", "Softsign N", "Tanh", "Tanh N"}
    assert fashion["paper_column"] == "CIFAR-10"
    assert fashion["cells"]["Tanh N"]["paper"] == 52.92
    tanh = fashion["cells"]["Tanh"]
    assert tanh["diverged"] and tanh["error"] == 0.05 and tanh["update"] == 500
    assert not tanh["bold"] and fashion["best"] == "Tanh N"


# ------------------------------------------------------------------------------------------
# Files

@pytest.fixture
def written(tmp_path):
    res = fake_results()
    digests = table1.digests(res)
    paths = table1.write(res, tmp_path, digests)
    return tmp_path, paths, digests


def test_write_markdown(written):
    out, paths, digests = written
    assert [p.name for p in paths] == ["table1.md", "table1.tex"]
    assert not list(out.glob(".*part"))
    md = (out / "table1.md").read_text(encoding="utf-8")
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    for m in table1.MODELS:
        assert sum(r.startswith(f"| {m} |") for r in rows) == 2    # errors and rates tables
    tanh_n = next(r for r in rows if r.startswith("| Tanh N |"))
    assert "**15.50 ± 1.14**" in tanh_n and "15.60" in tanh_n and "52.92" in tanh_n
    tanh = next(r for r in rows if r.startswith("| Tanh |"))
    assert "5.00 ± 0.22 †" in tanh and "**5.00" not in tanh
    assert "CIFAR-10 (paper; Fashion-MNIST stands in)" in md
    assert "p = 0.005" in md
    assert "Fashion-MNIST, Tanh: diverged" in md
    assert all(d in md for d in digests)


def compile_input(folder) -> str:
    """Compile a minimal article that \\inputs FOLDER/table1.tex; returns pdflatex's log."""
    (folder / "wrapper.tex").write_text("\\documentclass{article}\\begin{document}\n"
                                        "\\input{table1}\n\\end{document}\n")
    run = subprocess.run([pdflatex_path(), "-interaction=nonstopmode", "-halt-on-error",
                          "wrapper.tex"], check=False, cwd=folder, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]
    return run.stdout


def test_write_latex_compiles(written):
    out = written[0]
    tex = (out / "table1.tex").read_text(encoding="utf-8")
    assert r"\begin{tabular}" in tex and "booktabs" not in tex and r"\toprule" not in tex
    assert r"\textbf{15.50$\,\pm\,$1.14}" in tex and r"$^\dagger$" in tex
    assert tex.isascii()
    log = compile_input(out)
    assert (out / "wrapper.pdf").stat().st_size > 1000
    assert "Overfull" not in log


# ------------------------------------------------------------------------------------------
# Figures 11 and 12

def test_figure11_builds_and_orders_legend():
    res = fake_results()["train_shapeset"]
    assert fig11.by_final_error(res, fig11.drawn(res)) == [
        "Sigmoid", "Sigmoid depth 4", "Tanh", "Softsign", "Softsign N", "Tanh N"]
    fig = fig11.build(res)
    assert isinstance(fig, Figure)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels[0].startswith("Sigmoid (lr 0.01): 83.0%")
    assert labels[-1].startswith("Tanh N") and len(labels) == 6
    assert "4 × 32" in fig._suptitle.get_text()
    assert fig11.digests(res) == [res[m]["digest"] for m in fig11.MODELS[:6]]   # no control


def test_figure12_builds():
    all_res = fake_results()
    res = {c: all_res[c] for c in fig12.CONFIG}
    fig = fig12.build(res)
    assert isinstance(fig, Figure)
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    assert titles[0].startswith("MNIST") and "stand-in for CIFAR-10" in titles[1]
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert len(labels) == 5
    fashion = fig12.PANELS.index(("train_fashion", "Fashion-MNIST (stand-in for CIFAR-10)"))
    labels = [ax for ax in fig.axes if ax.get_legend()][fashion].get_legend_handles_labels()[1]
    assert labels[0].startswith("Tanh (lr 0.1): diverged (last 5.0%")     # diverged: first
    assert len(fig12.digests(res)) == 10


# ------------------------------------------------------------------------------------------
# CIFAR-10, when its files are present (OPTIONAL = ("train_cifar10",))

def with_cifar10():
    """fake_results plus a "train_cifar10" entry (errors near the paper's CIFAR-10 values)."""
    res = fake_results()
    errors = {"Softsign": 0.56, "Softsign N": 0.54, "Tanh": 0.56, "Tanh N": 0.53,
              "Sigmoid": 0.90}
    res["train_cifar10"] = {}
    for i, (m, e) in enumerate(errors.items()):
        r = fake_run([0.9, 0.7, e + 0.02, e], lr=0.01 if m == "Sigmoid" else 0.1,
                     digest=f"train_cifar10-{i}")
        r["meta"]["config"]["dataset"] = "cifar-10"
        r["meta"]["widths"][0] = 3072
        res["train_cifar10"][m] = r
    return res


def test_table_with_cifar10(tmp_path):
    assert table1.OPTIONAL == fig12.OPTIONAL == ("train_cifar10",)
    assert table1.columns_of(fake_results()) == table1.COLUMNS       # absent: as before
    res = with_cifar10()
    t = table1.table(res)
    assert [c["name"] for c in t["columns"]] == ["Shapeset-3×2", "MNIST", "Fashion-MNIST",
                                                 "CIFAR-10"]
    fashion, cifar10 = t["columns"][2:]
    assert fashion["paper_column"] == cifar10["paper_column"] == "CIFAR-10"
    c = cifar10["cells"]["Tanh N"]
    assert c["paper"] == 52.92 and c["n"] == 10_000 and c["error_pct"] == pytest.approx(53.0)
    assert cifar10["best"] == "Tanh N"
    # 54 % vs 53 % on 10,000 examples: z ≈ 1.42, tied; 56 %: z ≈ 4.3, significantly worse
    assert {m for m, c in cifar10["cells"].items() if c["bold"]} == {"Tanh N", "Softsign N"}
    digests = table1.digests(res)
    assert len(digests) == 20 and digests[-5:] == [f"train_cifar10-{i}" for i in range(5)]
    table1.write(res, tmp_path, digests)
    md = (tmp_path / "table1.md").read_text(encoding="utf-8")
    head = next(line for line in md.splitlines() if line.startswith("| model | Shapeset"))
    assert head.endswith("| CIFAR-10 (paper; Fashion-MNIST stands in) | CIFAR-10 (ours) | "
                         "CIFAR-10 (paper) |")
    tanh_n = next(r for r in md.splitlines() if r.startswith("| Tanh N |"))
    assert tanh_n.endswith("| **53.00 ± 0.50** | 52.92 |")
    assert table1.STAND_IN_NOTE in md and table1.CIFAR_NOTE in md
    assert "CIFAR-10: hidden layers 5 × 32 units" in md
    assert "| model | Shapeset-3×2 | MNIST | Fashion-MNIST | CIFAR-10 |" in md
    tex = (tmp_path / "table1.tex").read_text(encoding="utf-8")
    assert r"\begin{tabular}{lrrrrrrrr}" in tex and r"\multicolumn{2}{c}{CIFAR-10}" in tex
    assert tex.isascii()
    assert "Overfull" not in compile_input(tmp_path)   # four columns fit the page (\scriptsize)


def test_figure12_with_cifar10():
    res = {c: r for c, r in with_cifar10().items() if c != "train_shapeset"}
    fig = fig12.build(res)
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    assert len(titles) == 3 and len([ax for ax in fig.axes if ax.get_legend()]) == 3
    assert titles[0].startswith("MNIST") and "stand-in for CIFAR-10" in titles[1]
    assert titles[2].startswith("CIFAR-10\n")
    assert fig.get_size_inches()[1] == pytest.approx(3 * fig12.PANEL_HEIGHT)
    digests = fig12.digests(res)
    assert len(digests) == 15 and sorted(digests[-5:]) == [f"train_cifar10-{i}" for i in range(5)]
    without = {c: res[c] for c in fig12.CONFIG}
    assert len(fig12.digests(without)) == 10
    assert fig12.build(without).get_size_inches()[1] == pytest.approx(7.6)


def test_data_present(tmp_path, monkeypatch):
    from varprop.datasets import cache, cifar
    from varprop.engine import data_present

    empty, data = tmp_path / "empty", tmp_path / "data"
    empty.mkdir()
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "no-cache"))   # the data cache: no CIFAR
    monkeypatch.setenv(cifar.ENV_VAR, str(empty))
    assert not data_present({"dataset": "cifar-10"})
    monkeypatch.delenv(cifar.ENV_VAR)
    assert not data_present({"dataset": "cifar10"})
    assert not data_present({"dataset": "cifar-10", "data_dir": str(empty)})
    folder = data / cifar.FOLDER                # fixture batches in the release's format
    folder.mkdir(parents=True)
    for name in [f for files in cifar.SPLIT_FILES.values() for f in files]:
        cifar.write_batch(folder / name, np.zeros((2, 3072), dtype=np.uint8), [0, 1])
    assert data_present({"dataset": "cifar-10", "data_dir": str(data)})
    monkeypatch.setenv(cifar.ENV_VAR, str(folder))
    assert data_present({"dataset": "cifar-10"})
    monkeypatch.setenv(cache.ENV_VAR, str(data))
    monkeypatch.delenv(cifar.ENV_VAR)
    assert data_present({"dataset": "cifar-10"})                  # in the data cache
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "no-cache"))
    for name in ("mnist", "fashion-mnist", "shapeset"):
        assert data_present({"dataset": name})


def test_make_takes_cifar10_only_when_present(tmp_path, monkeypatch):
    """figures.make: an OPTIONAL config is trained and passed to the module only when its data
    are present (training and results replaced by the synthetic ones)."""
    from varprop import engine, figures
    from varprop.datasets import cache, cifar

    trained = []
    monkeypatch.setattr(engine, "run", lambda names, *a, **k: trained.append(sorted(names)))
    monkeypatch.setattr(engine, "load", lambda name, *a, **k: with_cifar10()[name])
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "no-cache"))
    monkeypatch.setenv(cifar.ENV_VAR, str(tmp_path))
    done = figures.make(["TABLE1", "12"], scale="smoke", out=tmp_path / "without",
                        formats=("png",))
    assert trained[-1] == ["train_fashion", "train_mnist", "train_shapeset"]
    assert [len(d["digests"]) for d in done] == [15, 10]
    assert "CIFAR-10 (ours)" not in (tmp_path / "without" / "table1.md").read_text()
    for name in [f for files in cifar.SPLIT_FILES.values() for f in files]:
        cifar.write_batch(tmp_path / name, np.zeros((2, 3072), dtype=np.uint8), [0, 1])
    done = figures.make(["TABLE1", "12"], scale="smoke", out=tmp_path / "with",
                        formats=("png",))
    assert trained[-1] == ["train_cifar10", "train_fashion", "train_mnist", "train_shapeset"]
    assert [len(d["digests"]) for d in done] == [20, 15]
    assert "CIFAR-10 (ours)" in (tmp_path / "with" / "table1.md").read_text()
