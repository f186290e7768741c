"""A non-editable install finds its configs from any working directory.

The package is built into a wheel from a copy of its sources (setup.cfg, pyproject.toml,
README.md, varprop/: what ``pip install .`` builds from) and installed with ``pip --python`` into
a fresh virtual environment without pip, whose only other path is a ``.pth`` line naming the
site-packages of the Python running the tests (for numpy, numba, matplotlib, dask: a path line
runs none of that folder's own .pth files, so no editable varprop of this checkout is picked
up). Then, from an empty folder and without $PYTHONPATH or $VARPROP_STORE, the acceptance
command of issue 14: ``varprop figures --scale smoke --only 5 --out OUT``. Its config comes from
the installed package (``varprop/configs/``, package data) and its results go to the default
store of an installed package, ``varprop-runs/`` in the working directory.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("setup.cfg", "pyproject.toml", "README.md", "varprop")


def _run(cmd, **kw):
    """``cmd`` without $PYTHONPATH (a checkout on it would stand in for the install, even for
    pip) or $VARPROP_STORE."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VARPROP_STORE")}
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, **kw)
    assert res.returncode == 0, f"{' '.join(map(str, cmd))}: exit {res.returncode}\n" \
                                f"{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


def _wheel(tmp: Path) -> Path:
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(p, src / name)
    try:                                       # build offline when this Python can build wheels
        import wheel  # noqa: F401
        isolation = ["--no-build-isolation"]
    except ImportError:                        # else setuptools and wheel from pip's sources
        isolation = []
    out = tmp / "wheel"
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", *isolation,
          "--wheel-dir", str(out), str(src)])
    (whl,) = out.glob("varprop-*.whl")
    return whl


def test_non_editable_install_draws_figure_5_from_an_empty_folder(tmp_path):
    whl = _wheel(tmp_path)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
          "--no-deps", "--no-index", str(whl)])
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
                     ).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_varprop_test_deps.pth").write_text("".join(f"{p}\n" for p in sorted(deps)))

    empty = tmp_path / "empty"
    empty.mkdir()
    where = _run([str(python), "-c", "import varprop.configs as c; print(c.FOLDER)"],
                 cwd=empty).stdout.strip()
    assert Path(where) == site / "varprop" / "configs", where     # the installed copy
    res = _run([str(env_dir / "bin" / "varprop"), "figures", "--scale", "smoke", "--only", "5",
                "--out", "OUT"], cwd=empty)
    assert "figure 5: OUT/figure5.png" in res.stdout + res.stderr
    assert (empty / "OUT" / "figure5.png").is_file() and (empty / "OUT" / "figure5.pdf").is_file()
    assert (empty / "varprop-runs" / "smoke" / "cost_surface" / "result" / "results.json").is_file()
    assert sorted(p.name for p in empty.iterdir()) == ["OUT", "varprop-runs"]
