"""A training run killed at *any* moment and resumed ends with the bits of an uninterrupted run.

The kill is simulated in-process at an event drawn by hypothesis. The events are every SGD
update, every monitor and evaluation pass (a kill during one), and every file the run writes:
a kill there leaves the temporary file half-written beside its target and never renames it,
as a real SIGKILL between write and rename would. Kills land before the first checkpoint,
between a checkpoint and its results files, during an evaluation and after the last update.
One or two kills per example; then ``--resume`` to the end, and every result array and every
weight is compared with the uninterrupted run. ``test_training_run.py`` kills a real
subprocess with SIGKILL as well.

Run longer: ``VARPROP_KILL_EXAMPLES=500 VARPROP_HYPOTHESIS=random pytest tests/test_training_kill.py``.
"""
import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from varprop import files
from varprop.training import monitors
from varprop.training.config import from_dict
from varprop.training.run import CHECKPOINT, RESULTS_JSON, train
from varprop.training.sgd import BlasStep, FusedStep

# 30 updates: monitors every 5, evaluations every 10, checkpoints every 15 (not a multiple of
# the evaluation interval, so evaluations happen between checkpoints as well as at them).
CONFIG = from_dict(dict(hidden=[8, 6], updates=30, monitor_every=5, eval_every=10,
                        checkpoint_every=15, eval_examples=40, monitor_examples=20, lr=0.05,
                        bins=10, threads=1))
print_nothing = (lambda msg: None)  # noqa: E731
EXAMPLES = int(os.environ.get("VARPROP_KILL_EXAMPLES", "12"))


class Killed(BaseException):
    """The simulated SIGKILL: not an Exception, so nothing in the run can catch it."""


class Events:
    """Counts the run's events; raises ``Killed`` at event number ``at`` (None: never)."""

    def __init__(self, at=None):
        self.at, self.count = at, 0

    def tick(self):
        self.count += 1
        if self.count == self.at:
            raise Killed(self.count)


@contextlib.contextmanager
def instrumented(events: Events):
    """Every update, monitor, evaluation and file rename of a run is an event."""
    real_steps = {c: c.__call__ for c in (FusedStep, BlasStep)}
    real_monitor = monitors.monitor
    real_evaluate, real_atomic = monitors.evaluate, files.atomic_path

    def step(self, *a, **k):
        events.tick()
        return real_steps[type(self)](self, *a, **k)

    def monitor(*a, **k):
        out = real_monitor(*a, **k)
        events.tick()                      # killed after the pass, before its rows are kept
        return out

    def evaluate(*a, **k):
        events.tick()
        return real_evaluate(*a, **k)

    @contextlib.contextmanager
    def atomic_path(path):
        path = Path(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        os.close(fd)
        yield Path(tmp)
        if events.at == events.count + 1:            # killed mid-write: half a file, no rename
            data = Path(tmp).read_bytes()
            Path(tmp).write_bytes(data[:len(data) // 2])
        events.tick()
        os.replace(tmp, path)

    saved = (monitors.monitor, monitors.evaluate, files.atomic_path)
    monitors.monitor, monitors.evaluate, files.atomic_path = monitor, evaluate, atomic_path
    for c in real_steps:
        c.__call__ = step
    try:
        yield
    finally:
        monitors.monitor, monitors.evaluate, files.atomic_path = saved
        for c, call in real_steps.items():
            c.__call__ = call


def weights(out: Path) -> dict:
    with np.load(out / CHECKPOINT) as f:
        return {k: f[k] for k in f.files if k[0] in "Wb" and k[1:].isdigit()}


def same(a: dict, b: dict):
    assert sorted(a) == sorted(b)
    for k in a:
        assert np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f"), k


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """The uninterrupted run, its arrays and weights, and how many events it has."""
    out = tmp_path_factory.mktemp("whole") / "run"
    events = Events()
    with instrumented(events):
        _, arrays = train(CONFIG, out, quiet=True, log=print_nothing)
    return arrays, weights(out), events.count


def test_the_events_cover_every_kind_of_moment(whole):
    _, _, n = whole
    # 30 updates, 7 monitors, 4×2 evaluations, 3 checkpoints (updates 0, 15, 30) of 4 files
    # each (checkpoint, results.npz, provenance.json, results.json) and the end's 4 writes
    assert n == 30 + 7 + 8 + 3 * 4 + 4


@settings(max_examples=EXAMPLES)
@given(kills=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=2))
def test_a_run_killed_at_any_moment_resumes_to_the_same_bits(whole, kills):
    arrays, final, n = whole
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        for fraction in kills:
            at = 1 + int(fraction * n)
            events = Events(at)
            with instrumented(events), contextlib.suppress(Killed):
                train(CONFIG, out, resume=(out / RESULTS_JSON).is_file() or
                      (out / CHECKPOINT).is_file(), quiet=True, log=print_nothing)
        resume = (out / RESULTS_JSON).is_file() or (out / CHECKPOINT).is_file()
        _, resumed = train(CONFIG, out, resume=resume, quiet=True, log=print_nothing)
        same(resumed, arrays)
        same(weights(out), final)


# Event numbers: update 0 is 1 monitor, 2-3 evaluations, 4-7 its checkpoint's files; updates
# 1-5 are 8-12 and the monitor 13; 20-21 the update-10 evaluations; 28-31 the update-15
# checkpoint; 54-57 the update-30 one; 58-61 the end's results files.
MOMENTS = {"update-0 monitor": 1, "update-0 evaluation": 3, "first checkpoint mid-write": 4,
           "between checkpoint and results": 5, "first update": 8,
           "evaluation between checkpoints": 21, "results.npz mid-write": 29,
           "last update": 50, "final results.json mid-write": 61}


@pytest.mark.parametrize("at", MOMENTS.values(), ids=MOMENTS.keys())
def test_named_awkward_moments(whole, tmp_path, at):
    arrays, final, n = whole
    out = tmp_path / "run"
    with instrumented(Events(at)), contextlib.suppress(Killed):
        train(CONFIG, out, quiet=True, log=print_nothing)
    resume = (out / RESULTS_JSON).is_file() or (out / CHECKPOINT).is_file()
    _, resumed = train(CONFIG, out, resume=resume, quiet=True, log=print_nothing)
    same(resumed, arrays)
    same(weights(out), final)
