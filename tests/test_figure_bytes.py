"""Figure V's files, byte for byte, whatever the thread counts and the CPU.

Figure V (five models x three quantities on log axes) is the figure most exposed to the CPU: its
PDF held coordinates exactly half-way between two written decimals (the constrained layout's
multiples of 1/64 px) and marker offsets of 0 that one bit of noise in matplotlib's np.log10 /
np.exp flipped ("554.307764" / "554.307765", "0" / "-0"), and NumPy picks those functions'
SIMD code by the CPU. The PNG, in whole pixels, stayed the same. ``style.log_scale`` rounds the
log axes' coordinates; these tests draw the committed gallery results (read only: nothing is
computed or removed in the store, even when its results are stale for the code) and compare
the files' bytes: at 1 and 2 BLAS/Numba threads, with the last bit of NumPy's log/exp results
moved as another CPU's SIMD code moves it, with the last bit of the results drawn moved, and
against the committed paper_figures/ files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from varprop import engine, figures, summaries
from varprop.figures import style
from varprop.threads import thread_limits

FIG = "V"
ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "paper_figures"
# NumPy functions whose SIMD code (AVX-512, AVX2, baseline, NEON) gives other last bits on
# other CPUs, as matplotlib's log scale and its locators call them
NOISY = ("log10", "log", "log2", "exp", "exp2")


@pytest.fixture(scope="module")
def results():
    """Figure V's results as ``figures.make`` hands them to the module, read from the
    committed gallery store without ``engine.run`` (which would recompute stale entries)."""
    mod = figures.module(FIG)
    jobs = engine.jobs_for([mod.CONFIG], "gallery")
    return {job.entry: job.result() for job in jobs}


def draw(results, out: Path) -> dict[str, bytes]:
    """Figure V's PNG and PDF written as ``figures.make`` writes them; {format: bytes}."""
    mod = figures.module(FIG)
    summaries.forget()
    paths = style.save(mod.build(results), out, f"figure{FIG}", mod.digests(results))
    return {p.suffix[1:]: p.read_bytes() for p in paths}


@pytest.fixture(scope="module")
def reference(results, tmp_path_factory):
    return draw(results, tmp_path_factory.mktemp("reference"))


def assert_same(files, reference, what):
    for fmt in ("png", "pdf"):
        assert files[fmt] == reference[fmt], f"figure{FIG}.{fmt} changed {what}"


def one_bit(values, rng):
    """``values`` (an array or a NumPy float) with each finite non-integer entry moved by -1, 0
    or +1 unit in the last place at random (integers stay: every libm gives log10(100) = 2)."""
    y = np.asarray(values)
    step = rng.integers(-1, 2, y.shape) * (np.isfinite(y) & (y != np.rint(y)))
    out = np.where(step > 0, np.nextafter(y, np.inf),
                   np.where(step < 0, np.nextafter(y, -np.inf), y)).astype(y.dtype)
    return out if isinstance(values, np.ndarray) else y.dtype.type(out[()])


class OneBitOff:
    """A NumPy ufunc whose float results come back moved by one bit (``one_bit``); its other
    attributes (``outer``, ``reduce``, ...) are the ufunc's own."""

    def __init__(self, ufunc, rng):
        self.ufunc, self.rng = ufunc, rng

    def __getattr__(self, name):
        return getattr(self.ufunc, name)

    def __call__(self, *args, **kwargs):
        y = self.ufunc(*args, **kwargs)
        if isinstance(y, (np.ndarray, np.floating)) and np.asarray(y).dtype.kind == "f":
            return one_bit(y, self.rng)
        return y


def test_same_bytes_at_one_and_two_threads(results, reference, tmp_path):
    for n in (1, 2):
        with thread_limits(blas_threads=n, numba_threads=n):
            assert_same(draw(results, tmp_path / f"threads{n}"), reference, f"at {n} threads")


@pytest.mark.parametrize("seed", [0, 1])
def test_same_bytes_when_numpy_math_differs_in_the_last_bit(results, reference, tmp_path,
                                                             monkeypatch, seed):
    """Another CPU: NumPy's log10/log/exp (matplotlib's log transform, its inverse and the
    locators) one bit off. Without the rounded log scale the PDF changed at both seeds."""
    rng = np.random.default_rng(seed)
    for name in NOISY:
        monkeypatch.setattr(np, name, OneBitOff(getattr(np, name), rng))
    files = draw(results, tmp_path)
    monkeypatch.undo()
    assert_same(files, reference, "with NumPy's log/exp one bit off")


def test_same_bytes_when_the_results_differ_in_the_last_bit(results, reference, tmp_path):
    """The arrays drawn one bit off (without the rounded log scale the PDF changed)."""
    rng = np.random.default_rng(2)
    moved = {label: {k: one_bit(v, rng) if isinstance(v, np.ndarray) and v.dtype.kind == "f"
                     else v for k, v in res.items()} for label, res in results.items()}
    assert any(not np.array_equal(moved[m]["activation.variance"],
                                  results[m]["activation.variance"]) for m in results)
    assert_same(draw(moved, tmp_path), reference, "with the results one bit off")


def test_committed_figure_redrawn_byte_for_byte(reference):
    """paper_figures/figureV.png and .pdf are what the committed results draw (matplotlib is
    pinned to the minor release that drew them, as SymPy is for derivations/)."""
    committed = {fmt: (COMMITTED / f"figure{FIG}.{fmt}").read_bytes() for fmt in ("png", "pdf")}
    assert_same(reference, committed, "from the committed one")
