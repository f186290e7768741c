"""Fuzzing the command line (issue 13, point 5).

Hypothesis builds argument vectors for every sub-command (derive, predict, check, data
prepare/info/preview, figures, train): a random choice of the command's real flags, each with a
plausible value or a hostile one (negative, zero, NaN, +-inf, 1e308, 10**12, 2**64, empty,
whitespace, non-ASCII, Unicode digits, random text; paths to a file, a folder, /proc, /proc/nope,
/etc/passwd/x, corrupt tarballs, configs, runs, stores and data folders made in a temporary
folder), now and then an unknown flag, --help or a stray word. Each example runs ``cli.main``
in-process with a fresh temporary folder as the working directory ($VARPROP_DATA and
$VARPROP_STORE point into it too) and checks the command-line contract:

* no exception escapes ``main`` (-h/--help/--version leave through argparse's SystemExit(0),
  taken as status 0) and nothing prints a traceback;
* the status is one of 0 (done), 1 (disagreement, stale derivation, failed checksum),
  2 (bad input), 3 (diverged);
* status 2: exactly one line on stderr (warnings count: they are shown as the real command would
  show them), and the temporary folder is as it was: the same folders, the same files with the
  same sizes and modification times;
* nothing half-written: no ``*.part`` (and no ``.*.old`` staging leftover) in the temporary
  folder;
* the real data cache and the checkout's results store are not touched.

Valid values are bounded so that an example finishes in about a second (at most 20 SGD updates
on hidden layers of at most 8 units, Monte-Carlo checks of at most 8 networks of 48 units,
figure 1 only). Values that only make a run long rather than wrong (``check --networks/--samples
10**12``, ``train --updates 10**12``, hundreds of rates in ``--lr-grid``, unreachable Dask
addresses, which wait 20 s) are left out. Sizes whose allocation alone is the hostile part are
in ``test_huge_allocations_are_refused`` and join the fuzz with VARPROP_FUZZ_HUGE=1.

CI runs it derandomised (the project profile, tests/conftest.py) with VARPROP_FUZZ_EXAMPLES
examples (default 150, under a minute on two cores). A longer, fresh run, replayable with its
seed::

    VARPROP_FUZZ_EXAMPLES=2000 VARPROP_HYPOTHESIS=random \\
        python -m pytest tests/test_cli_fuzz.py --hypothesis-seed=1 --hypothesis-show-statistics

(3-4 minutes for 2,000 examples on two cores while nothing fails; a failure is then shrunk to
a short argument vector, which takes a minute or two more).
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import tarfile
import tempfile
import traceback
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from varprop import cli, configs, store
from varprop.datasets import cache

EXAMPLES = int(os.environ.get("VARPROP_FUZZ_EXAMPLES", "150"))
HUGE = os.environ.get("VARPROP_FUZZ_HUGE") == "1"
STATUSES = {0, 1, 2, 3}

R = "@R"                      # the example's temporary folder, filled in when it runs
BIG = [str(10**12), str(2**64)]
# The real data cache (read-only flags only: info, preview, train), the checkout's store and
# the checkout's top folder: none may change (a relative --store is resolved by the Dask
# workers, in their own working directory).
CHECKOUT = Path(__file__).resolve().parent.parent
REAL_DATA = cache.data_dir()
PROTECTED = [p for p in (REAL_DATA, store.DEFAULT_ROOT) if p.exists()]
EXPERIMENT_CONFIGS = [str(configs.path(n)) for n in ("train_shapeset", "init_tanh")]


# ------------------------------------------------------------------------------ values
# A flag's values are a pair of strategies: (plausible, hostile).

def _safe_text(s: str) -> bool:
    """Random text never names a place outside the temporary folder."""
    return not s.startswith(("/", "~")) and ".." not in s


# Random text: no NUL or lone surrogates (a real argv has neither) and no decimal digits
# (int() reads every script's digits: text must not become a huge count).
TEXT = st.text(st.characters(exclude_categories=("Cs", "Nd"), exclude_characters="\x00"),
               max_size=6).filter(_safe_text)

WORDS = ["", " ", "\t", "-1", "0", "-0", "nan", "NaN", "inf", "-inf", "1e308", "-1e308",
         "5e-324", "värïänce", "１２", "1_0", "0x10", "1.5", "true", "None", "-", "--", "'",
         "[1,2]"]


def hostile(huge=True):
    words = st.sampled_from(WORDS + (BIG if huge else []))
    return st.one_of(words, words, words, TEXT)


def ints(lo, hi, huge=True):
    """An integer flag: in [lo, hi], or hostile; ``huge``: 10**12 and 2**64 among them."""
    return st.integers(lo, hi).map(str), hostile(huge)


def floats(lo, hi):
    return st.floats(lo, hi).map(repr), hostile()


def names(valid):
    variants = [v.upper() for v in valid] + [f" {v}" for v in valid] + [v[:-1] for v in valid]
    return st.sampled_from(list(valid)), st.one_of(st.sampled_from(variants), hostile())


def number_list(element, hostile_parts, min_size, max_size):
    """'a,b,c' of plausible elements; or with some hostile (empty, zero, negative, words), too
    few, or a hostile word."""
    part = st.one_of(element, element, st.sampled_from(hostile_parts))
    return (st.lists(element, min_size=min_size, max_size=max_size).map(",".join),
            st.one_of(st.lists(part, max_size=max_size).map(",".join), hostile()))


WIDTH_PARTS = ["0", "-1", "x", "", " ", "nan", "1e3", "1.0", "１６", " 8 "]


def widths(hi, big=(), min_size=2):
    element = st.integers(1, hi).map(str)
    if big:
        element = st.one_of(element, st.sampled_from(list(big)))
    return number_list(element, WIDTH_PARTS, min_size, 5)


# Paths: the fixtures ``populate`` makes in the temporary folder, relative ones (the working
# directory is R/cwd, so ../ stays inside), and places that must fail. Never a folder a root
# user could write outside the temporary one (/, /etc, /dev/null, ~).
FILES = [f"{R}/file.txt", f"{R}/dir", f"{R}/empty_dir", f"{R}/new/sub", f"{R}/värïänce dir/x",
         "out", ".", "../sibling", "-", "/proc", "/proc/nope", "/etc/passwd/x",
         "/proc/self/status", "", " ", "värïänce"]
INPUTS = [f"{R}/garbage.tgz", f"{R}/mnist.tgz", f"{R}/cifar.tgz", f"{R}/good.toml",
          f"{R}/bad.toml", f"{R}/latin1.toml", f"{R}/hostile.toml", f"{R}/run",
          f"{R}/run_corrupt", f"{R}/baddata", f"{R}/store_corrupt"]


def paths(plausible, *extra):
    """A path flag: ``plausible`` paths, or any other of the list, or random text."""
    plausible = list(plausible)
    others = [p for p in FILES + INPUTS + list(extra) if p not in plausible]
    return st.sampled_from(plausible), st.one_of(st.sampled_from(others), TEXT)


NEW = [f"{R}/new/sub", "out"]                              # folders a command may create
DATA = [str(REAL_DATA), f"{R}/baddata", f"{R}/empty_dir"]  # data folders to read


# ------------------------------------------------------------------------------ commands

class Spec:
    """A command: ``prefix`` words, ``positional`` (a pair of strategies, or None), ``flags``
    (flag -> pair of strategies, None for a switch), ``always`` (flags every example gives:
    those that bound the run), ``likely`` (flags, or "positional", that a plausible example
    gives and others give three times in four)."""

    def __init__(self, prefix, flags, positional=None, always=(), likely=()):
        self.prefix, self.flags, self.positional = prefix, flags, positional
        self.always, self.likely = always, likely


def _network_flags(width_values):
    from varprop.symbolic.activations import ACTIVATIONS
    from varprop.symbolic.laws import LAW_NAMES
    from varprop.symbolic.schemes import FAN_MODES, SCHEME_NAMES

    return {"--widths": width_values, "--activation": names(tuple(ACTIVATIONS)),
            "--init": names(SCHEME_NAMES), "--law": names(LAW_NAMES),
            "--scale": floats(0.01, 4.0), "--mode": names(tuple(FAN_MODES))}


def _set_items():
    """--set KEY=VALUE: plausible settings, and hostile keys and values (the keys that size a
    run stay small)."""
    from varprop.training.config import KEYS

    plausible = st.sampled_from([
        "lr=0.05", "lr=1e30", "seed=1", "data_seed=2", "dtype='float64'", "cost='quadratic'",
        "monitor_examples=10", "eval_examples=50", "bins=5", "hidden=[4, 3]",
        "lr_grid=[0.1, 0.01]", "updates=5", "batch_size=5", "threads=1", "activation='relu'",
        "init='he'", "law='normal'", "dataset='shapeset'", "monitor_every=2", "eval_every=3",
        "checkpoint_every=2", "tune_updates=2", "dataset = \"mnist\"", "data_dir=none"])
    generic = st.one_of(st.sampled_from(["1", "-1", "0", "nan", "inf", "1e308", "'x'", "[1, 2]",
                                         "[", "true", "", "none", '"värïänce"', "'/proc'",
                                         *BIG]), TEXT)
    small = st.one_of(st.integers(1, 20).map(str),
                      st.sampled_from(["0", "-1", "nan", "1.5", "'10'", "[]", "true", ""]))
    bounded = {
        "updates": small, "tune_updates": small, "monitor_examples": small,
        "eval_examples": small, "bins": small, "batch_size": small,
        "hidden": st.sampled_from(["[0]", "[-1]", "[]", "4", "'4'", "[4.5]", "[true]", "[4,"]),
        "lr_grid": st.sampled_from(["[]", "[0]", "[-1]", "0.1", "['x']", "[nan]"]),
    }
    if HUGE:
        for key in ("eval_examples", "bins", "monitor_examples", "batch_size"):
            bounded[key] = st.one_of(bounded[key], st.sampled_from(BIG))
    keyed = [st.tuples(st.just(k), bounded.get(k, generic)) for k in KEYS]
    bad_keys = st.tuples(st.sampled_from(["nope", "", " ", "UPDATES", "hidden.x", "värïänce"]),
                         generic)
    item = st.one_of(*keyed, bad_keys).map(lambda kv: f"{kv[0]}={kv[1]}")
    return plausible, st.one_of(item, st.sampled_from(["updates", "=1", "="]))


def specs() -> dict:
    from varprop.choices import INPUT_LAWS, TOP_GRADIENTS
    from varprop.datasets import NAMES, SPLITS
    from varprop.datasets.cli import PREPARABLE
    from varprop.engine import SCALES
    from varprop.figures import FIGURES
    from varprop.symbolic.activations import ACTIVATIONS
    from varprop.symbolic.schemes import SCHEME_NAMES
    from varprop.training.config import DATASETS

    big_widths = ["100000", *BIG] if HUGE else []
    dtypes = names(("float32", "float64"))

    # figure 1 only (the others train models or sample networks: seconds to minutes)
    def only_figure_1(text):
        return all(p.strip().upper() in ("", "1") or p.strip().upper() not in FIGURES
                   for p in text.split(","))
    only = (st.sampled_from(["1", "1,1", " 1 ", "1,", "1,,1"]),
            st.one_of(st.sampled_from(["", ",", "0", "99", "-1", "TABLE2", "1;2", "Q", "１"]),
                      hostile()).filter(only_figure_1))

    return {
        "derive": Spec(["derive"], {"--out": paths([*NEW, f"{R}/empty_dir", "."]),
                                    "--check": None}),
        "predict": Spec(["predict"], {
            # the prediction is arithmetic: huge widths are fine
            **_network_flags(widths(2000, ["100000", *BIG])),
            "--var-x": floats(0.01, 4.0), "--var-top": floats(0.01, 4.0),
            "--theory": names(("linear", "meanfield")), "--json": None},
            likely=("--widths",)),
        "check": Spec(["check"], {
            **_network_flags(widths(48, big_widths)),
            "--networks": ints(1, 8, huge=False), "--samples": ints(1, 200, huge=False),
            "--seed": ints(0, 5), "--var-x": floats(0.01, 4.0),
            "--input-law": names(INPUT_LAWS), "--top": names(TOP_GRADIENTS),
            "--bias-variance": floats(0.0, 1.0), "--dtype": dtypes,
            "--jacobians": ints(0, 4), "--json": None},
            likely=("--widths",)),
        "data prepare": Spec(["data", "prepare"], {
            # --tarball always: without it mnist runs npm (the network)
            "--tarball": paths([f"{R}/mnist.tgz", f"{R}/cifar.tgz"]),
            "--source": paths([f"{R}/dir", f"{R}/baddata/fashion-mnist"]),
            "--data-dir": paths([*NEW, f"{R}/empty_dir"])},
            positional=names((*PREPARABLE, "shapeset")), always=("--tarball",),
            likely=("positional",)),
        "data info": Spec(["data", "info"], {
            "--seed": ints(0, 5), "--size": ints(8, 32, huge=True),
            "--data-dir": paths(DATA)},
            positional=names(NAMES), likely=("positional",)),
        "data preview": Spec(["data", "preview"], {
            "--out": paths([f"{R}/x.png", "p.png", f"{R}/new/p.png"]), "--split": names(SPLITS),
            "--rows": ints(1, 3), "--cols": ints(1, 3), "--seed": ints(0, 5),
            "--size": (st.integers(8, 32).map(str),
                       st.one_of(hostile(), st.just("4096")) if HUGE else hostile()),
            "--data-dir": paths(DATA)},
            positional=names(NAMES), likely=("positional", "--out")),
        "figures": Spec(["figures"], {
            "--only": only, "--scale": names(SCALES), "--out": paths(NEW),
            "--jobs": ints(1, 2, huge=HUGE),
            # addresses without a port fail at once (a port waits 20 s for an answer)
            "--scheduler": (st.just(""), st.sampled_from(["nan", "värïänce", "/proc", "tcp://",
                                                          "inproc://nope", "1e308", " "])),
            "--store": paths([f"{R}/new/store", "store", f"{R}/store_corrupt"]),
            "--plan": None, "--recompute": None},
            always=("--only",)),
        "train": Spec(["train"], {
            "--set": _set_items(), "--dataset": names(DATASETS),
            "--activation": names(tuple(ACTIVATIONS)), "--init": names(SCHEME_NAMES),
            "--law": names(("uniform", "normal", "truncated_normal", "orthogonal")),
            "--cost": names(("nll", "quadratic")),
            "--hidden": widths(8, big_widths, min_size=1),
            "--batch-size": ints(1, 20, huge=HUGE),
            # rates of 1e4 and more diverge within a few updates: status 3
            "--lr": (st.one_of(st.floats(1e-4, 1.0).map(repr), st.sampled_from(["1e4", "1e30"])),
                     hostile()),
            "--updates": ints(1, 20, huge=False), "--monitor-every": ints(1, 20),
            "--eval-every": ints(1, 20), "--checkpoint-every": ints(1, 20),
            "--seed": ints(0, 5), "--data-seed": ints(0, 5), "--dtype": dtypes,
            "--threads": ints(1, 2), "--data-dir": paths(DATA),
            "--lr-grid": number_list(st.floats(1e-4, 1.0).map(repr), ["0", "-1", "nan", ""], 1, 3),
            "--tune-updates": ints(1, 20), "--out": paths([*NEW, f"{R}/run"]),
            "--resume": None, "--quiet": None,
            "--report": None},
            # a NAME (varprop/configs/NAME.toml: an experiment config, not a training config),
            # the package's experiment configs by path, and the fixtures
            positional=paths([f"{R}/good.toml"], "train_shapeset", *EXPERIMENT_CONFIGS),
            # the defaults train 1,000,000 updates of five 1000-unit layers
            always=("--updates", "--hidden")),
    }


STRAY = ["--nope", "-x", "extra", "värïänce", "--", "-", "--out", "-h", "--help", "--version"]
LIKELY = st.sampled_from([True, True, True, False])
# How hostile an example is: one bad value (or stray word) among plausible ones, none at all,
# or every value a coin toss (with a stray word one time in two).
MODES = ("one", "plausible", "wild")


@st.composite
def _value(draw, pair, bad):
    return draw(pair[1] if bad else pair[0])


@st.composite
def command_argv(draw, spec: Spec):
    mode = draw(st.sampled_from(MODES))
    chosen = list(spec.always)
    chosen += [f for f in spec.likely
               if f != "positional" and (mode == "plausible" or draw(LIKELY))]
    others = [f for f in spec.flags if f not in spec.always and f not in spec.likely]
    chosen += draw(st.lists(st.sampled_from(others), max_size=5))
    if "--plan" in spec.flags and "--plan" not in chosen and draw(LIKELY):
        chosen.append("--plan")    # a figure drawn for real starts a Dask cluster: seconds
    slots = list(chosen)
    if spec.positional is not None:
        if mode == "plausible" or draw(LIKELY if "positional" in spec.likely else st.booleans()):
            slots.append("positional")
    valued = [i for i, f in enumerate(slots) if f == "positional" or spec.flags[f] is not None]
    bad_slot = None
    if mode == "one":
        bad_slot = draw(st.sampled_from(valued + ["stray"]))
    groups = []
    for i, f in enumerate(slots):
        bad = (mode == "wild" and draw(st.booleans())) or i == bad_slot
        if f == "positional":
            groups.append([draw(_value(spec.positional, bad))])
        elif spec.flags[f] is None:
            groups.append([f])
        else:
            value = draw(_value(spec.flags[f], bad))
            form = draw(st.sampled_from(["separate"] * 5 + ["equals"] * 2 + ["abbreviated"]))
            if form == "equals":
                groups.append([f"{f}={value}"])
            else:
                groups.append([f[:-1] if form == "abbreviated" else f, value])
    if bad_slot == "stray" or (mode == "wild" and draw(st.booleans())):
        groups.append([draw(st.sampled_from(STRAY))])
    order = draw(st.permutations(range(len(groups))))
    return spec.prefix + [w for i in order for w in groups[i]]


TOP_LEVEL = [[], ["--version"], ["-h"], ["nope"], ["data"], ["data", "nope"], ["Check"],
             ["--nope", "derive"], ["derive", "--help"]]


def argvs():
    commands = specs()
    return st.one_of(st.sampled_from(TOP_LEVEL),
                     *[command_argv(commands[name]) for name in commands])


# ------------------------------------------------------------------------------ fixtures

_TINY_RUN = {}


def _tiny_run() -> Path | None:
    """A finished 4-update run (made once per session by the command itself)."""
    if "path" not in _TINY_RUN:
        holder = tempfile.TemporaryDirectory(prefix="varprop-fuzz-run-")
        out = Path(holder.name) / "run"
        argv = ["train", "--hidden", "4", "--updates", "4", "--monitor-every", "2",
                "--eval-every", "2", "--checkpoint-every", "2", "--quiet", "--out", str(out)]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            rc = cli.main(argv)
        _TINY_RUN["holder"] = holder
        _TINY_RUN["path"] = out if rc == 0 else None
    return _TINY_RUN["path"]


def _tar(path: Path, members: dict) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def populate(root: Path) -> Path:
    """The example's inputs in ``root``; returns the working directory (root/cwd)."""
    from varprop.datasets import cifar, mnist

    (root / "cwd").mkdir()
    (root / "file.txt").write_text("hello\n")
    (root / "dir").mkdir()
    (root / "dir" / "inner.txt").write_text("inner\n")
    (root / "empty_dir").mkdir()
    (root / "garbage.tgz").write_bytes(b"not a tarball\n")
    _tar(root / "mnist.tgz", {f"package/data/{fn}": b"garbage"
                              for fn in mnist.MNIST.filenames.values()})
    _tar(root / "cifar.tgz", {f"{cifar.FOLDER}/{fn}": b"garbage" for fn in cifar.MD5})
    (root / "good.toml").write_text("updates = 5\nhidden = [4]\n")
    (root / "bad.toml").write_text("updates = [\n")
    (root / "latin1.toml").write_bytes(b'dataset = "v\xe4r"\n')
    (root / "hostile.toml").write_text("[train]\nupdates = -1\nhidden = [0]\nlr = nan\n"
                                       "dataset = 'värïänce'\n")
    run = _tiny_run()
    if run is not None:
        shutil.copytree(run, root / "run")
    corrupt = root / "run_corrupt"
    corrupt.mkdir()
    for fn in ("results.json", "provenance.json"):
        (corrupt / fn).write_text("{")
    for fn in ("results.npz", "checkpoint.npz"):
        (corrupt / fn).write_bytes(b"PK\x03\x04garbage")
    data = root / "baddata"
    for src in mnist.SOURCES.values():
        (data / src.name).mkdir(parents=True)
        for fn in src.filenames.values():
            (data / src.name / fn).write_bytes(b"garbage")
    (data / cifar.FOLDER).mkdir()
    for fn in cifar.MD5:
        (data / cifar.FOLDER / fn).write_bytes(b"garbage")
    result = root / "store_corrupt" / "smoke" / "shapeset_examples" / "result"
    result.mkdir(parents=True)
    for fn in ("experiment.json", "results.json"):
        (result / fn).write_text("{")
    (result / "results.npz").write_bytes(b"garbage")
    return root / "cwd"


# ------------------------------------------------------------------------------ running

def tree(root: Path) -> dict:
    """Every path under ``root``: folders, and files with their size and mtime."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = "dir"
        for f in filenames:
            p = os.path.join(dirpath, f)
            try:
                st_ = os.lstat(p)
                out[os.path.relpath(p, root)] = (st_.st_size, st_.st_mtime_ns)
            except OSError:
                out[os.path.relpath(p, root)] = "gone"
    return out


def _shown(w: warnings.WarningMessage) -> bool:
    """Would the real command print this warning (Python's default filters)?"""
    return not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning,
                                       ImportWarning, ResourceWarning))


def _set_env(values: dict) -> None:
    """Set os.environ's keys to ``values`` (None: unset)."""
    for k, v in values.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def invoke(argv, cwd: Path, env: dict):
    """Run ``cli.main(argv)`` in ``cwd`` with ``env``: (status, stdout, stderr, error), where
    error is the formatted traceback of an exception that escaped (status None then)."""
    out, err = io.StringIO(), io.StringIO()
    old_cwd, old_env = os.getcwd(), {k: os.environ.get(k) for k in env}
    rc, error = None, None
    try:
        os.chdir(cwd)
        _set_env(env)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            try:
                rc = cli.main(list(argv))
            except SystemExit as exc:
                helpful = {"-h", "--help", "--version"} & set(argv)
                if exc.code in (0, None) and helpful:
                    rc = 0
                else:
                    error = f"SystemExit({exc.code!r}) escaped main"
            except KeyboardInterrupt:
                raise
            except BaseException:   # noqa: B902 - every escape is a finding
                error = traceback.format_exc()
        seen = set()
        for w in caught:
            key = (w.category, str(w.message), w.filename, w.lineno)
            if _shown(w) and key not in seen:
                seen.add(key)
                err.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno))
    finally:
        os.chdir(old_cwd)
        _set_env(old_env)
    return rc, out.getvalue(), err.getvalue(), error


def half_written(root: Path) -> list[str]:
    return sorted(rel for rel in tree(root)
                  if Path(rel).name.endswith(".part")
                  or (Path(rel).name.startswith(".") and Path(rel).name.endswith(".old")))


def _outside() -> dict:
    return {**{str(p): tree(p) for p in PROTECTED}, str(CHECKOUT): sorted(os.listdir(CHECKOUT))}


def run_example(argv) -> tuple[list[str], dict]:
    """Run one argument vector in a fresh temporary folder; return the contract's breaches
    (empty when it holds) and what happened."""
    outside_before = _outside()
    with tempfile.TemporaryDirectory(prefix="varprop-fuzz-") as tmp:
        root = Path(tmp)
        cwd = populate(root)
        real = [a.replace(R, tmp) for a in argv]
        env = {"VARPROP_DATA": str(root / "data-env"), "VARPROP_STORE": str(root / "store-env"),
               "DASK_SCHEDULER_ADDRESS": None, "VARPROP_HYPOTHESIS": None}
        before = tree(root)
        rc, out, err, error = invoke(real, cwd, env)
        after = tree(root)
        problems = []
        if error is not None:
            problems.append(f"exception escaped main:\n{error}")
        elif isinstance(rc, bool) or rc not in STATUSES:
            problems.append(f"exit status {rc!r} not in {sorted(STATUSES)}")
        if "Traceback" in out or "Traceback" in err:
            problems.append("a traceback was printed")
        if rc == 2:
            # a terminal's lines: \x85 or \r break none
            lines = err.rstrip("\n").split("\n") if err.strip() else []
            if len(lines) != 1 or not lines[0].strip():
                problems.append(f"status 2 with {len(lines)} line(s) on stderr, not one")
            changed = sorted(set(before.items()) ^ set(after.items()))
            if changed:
                names_ = sorted({rel for rel, _ in changed})
                problems.append(f"status 2 but the folder changed: {names_[:5]}")
        left = half_written(root)
        if left:
            problems.append(f"half-written: {left[:5]}")
        outside = _outside()
        problems += [f"{p} changed" for p in outside if outside[p] != outside_before[p]]
    return problems, {"argv": real, "rc": rc, "stdout": out, "stderr": err}


def _describe(problems, info) -> str:
    return "\n".join([f"argv: {info['argv']!r}", f"status: {info['rc']!r}", *problems,
                      "stderr:", info["stderr"][-3000:], "stdout:", info["stdout"][-1000:]])


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much])
@given(argv=argvs())
def test_cli_fuzz(argv):
    problems, info = run_example(argv)
    assert not problems, _describe(problems, info)


# ------------------------------------------------------------------------------ huge sizes

H = str(10**12)
TRAIN = ["train", "--hidden", "4", "--updates", "10", "--out", "run"]


@pytest.mark.parametrize("argv", [
    ["check", "--widths", "100000,100000,100000"],          # 74.5 GiB of weights
    ["check", "--widths", f"{H},10"],
    ["check", "--widths", "10,100000,100000,10", "--networks", "2", "--samples", "10"],
    ["train", "--hidden", "100000,100000", "--updates", "10", "--out", "run"],
    ["train", "--hidden", H, "--updates", "10", "--out", "run"],
    [*TRAIN, "--batch-size", H],
    [*TRAIN, "--set", f"batch_size={H}"],
    [*TRAIN, "--set", f"eval_examples={H}"],
    [*TRAIN, "--set", f"monitor_examples={H}"],
    [*TRAIN, "--set", f"bins={H}"],
    ["figures", "--only", "1", "--jobs", H],
    ["figures", "--only", "1", "--jobs", "1000"],
    ["data", "info", "shapeset", "--size", "4096"],         # 625 GiB of validation images
    ["data", "info", "shapeset", "--size", H],
    ["data", "preview", "shapeset", "--size", H, "--out", "p.png"],
    ["data", "preview", "shapeset", "--rows", H, "--cols", H, "--out", "p.png"],
], ids=lambda argv: " ".join(argv)[:60])
def test_huge_allocations_are_refused(argv):
    """Sizes whose memory alone is the problem: one line, status 2, nothing written (each
    asks for far more than any machine has, so an unguarded allocation fails at once)."""
    problems, info = run_example(argv)
    assert info["rc"] == 2 and not problems, _describe(problems, info)
