"""Shared look: greyscale-readable lines (grey levels + dash patterns + markers), small
multiples per layer, log axes whose drawn coordinates do not depend on the CPU (``log_scale``),
and atomic PNG/PDF output with the config digest in the metadata."""
from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
from matplotlib import scale as mscale
from matplotlib.figure import Figure

from .. import __version__
from ..files import atomic_path

RC = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7,
      "xtick.labelsize": 7, "ytick.labelsize": 7, "lines.linewidth": 1.2}
# one entry per series: (colour, linestyle, marker) distinguishable without colour
SERIES = [("black", "-", "o"), ("0.45", "--", "s"), ("0.2", ":", "^"), ("0.6", "-.", "D"),
          ("0.3", (0, (5, 1, 1, 1)), "v"), ("0.7", (0, (1, 1)), "x"),
          ("0.5", (0, (3, 1, 1, 1, 1, 1)), "P")]
MEASURED = {"color": "0.55", "alpha": 0.9}
THEORY = {"color": "black", "linestyle": "--", "linewidth": 1.3}


# Log axes, byte for byte. matplotlib's log scale draws np.log10(value) and autoscales through
# np.exp: NumPy picks those functions' SIMD code by the CPU (AVX-512, AVX2, baseline, NEON), and
# they differ in the last bit of some results. The PDF writes coordinates to 6 decimals (paths)
# and 10 (text, markers), and the layout's coordinates (multiples of 1/64 px at 150 dpi, in
# points) often sit exactly half-way between two of those: one bit of noise in a tick's log10
# moves the constrained layout by 1e-13 pt and flips such a digit, or turns a marker's 0 offset
# into "-0". The PNG, in whole pixels, does not change. So the transform's output is rounded to
# a binary grid far above that noise and far below what can be seen: 2**-LOG_BITS decades
# (1.5e-11, i.e. 3.4e-11 relative; 1e-9 pt on these axes, under the PDF's 1e-6 pt), and its
# inverse to INVERSE_BITS significant bits (12 digits). The rounding uses only exact operations
# (ldexp, rint, frexp), the same on every machine; a flip now needs a log10 within one ULP of a
# half-way point of that grid: under 1 in 1,000 per coordinate (|log10| < 16), where the decimal
# half-way values of the layout were met in every panel row of Figure V
# (tests/test_figure_bytes.py).
LOG_BITS = 36
INVERSE_BITS = 40


class RoundedLogTransform(mscale.LogTransform):
    """matplotlib's log transform, its output rounded to 2**-LOG_BITS (decades)."""

    def transform_non_affine(self, values):
        out = super().transform_non_affine(values)
        return np.ldexp(np.rint(np.ldexp(out, LOG_BITS)), -LOG_BITS)

    def inverted(self):
        return RoundedInvertedLogTransform(self.base)


class RoundedInvertedLogTransform(mscale.InvertedLogTransform):
    """matplotlib's inverse log transform, its output rounded to INVERSE_BITS significant
    bits."""

    def transform_non_affine(self, values):
        mantissa, exponent = np.frexp(super().transform_non_affine(values))
        return np.ldexp(np.rint(np.ldexp(mantissa, INVERSE_BITS)), exponent - INVERSE_BITS)

    def inverted(self):
        return RoundedLogTransform(self.base)


class RoundedLogScale(mscale.LogScale):
    """The "log" scale (same name, locators and formatters) with ``RoundedLogTransform``."""

    def __init__(self, axis=None, *, base=10, subs=None, nonpositive="clip"):
        super().__init__(axis, base=base, subs=subs, nonpositive=nonpositive)
        self._transform = RoundedLogTransform(base, nonpositive)


def log_scale(ax, which: str = "y") -> None:
    """Make ``ax``'s y (or x) axis logarithmic, its drawn coordinates CPU-independent (what
    every figure uses in place of ``set_yscale("log")``)."""
    if which not in ("x", "y"):
        raise ValueError(f"which must be 'x' or 'y', got {which!r}")
    (ax.set_yscale if which == "y" else ax.set_xscale)(RoundedLogScale())


def figure(width, height) -> Figure:
    import matplotlib as mpl
    mpl.rcParams.update(RC)
    return Figure(figsize=(width, height), dpi=150, layout="constrained")


def note(digests) -> str:
    """The provenance line every output carries: package version and the digests drawn."""
    return f"varprop {__version__}; results {' '.join(sorted(set(digests)))}"


def save(fig: Figure, out_dir, stem: str, digests, formats=("png", "pdf")) -> list[Path]:
    """Write OUT_DIR/STEM.png and .pdf atomically; metadata records the digests of the results
    drawn and the package version."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = note(digests)
    paths = []
    for fmt in formats:
        path = out_dir / f"{stem}.{fmt}"
        # no date and no matplotlib version (PDF's Producer): the bytes depend on what is drawn
        meta = ({"Software": f"varprop {__version__}", "Description": stamp} if fmt == "png" else
                {"Creator": f"varprop {__version__}", "Subject": stamp, "CreationDate": None,
                 "Producer": None})
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, metadata=meta)
        paths.append(path)
    return paths
