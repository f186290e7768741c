"""Shared look: greyscale-readable lines (grey levels + dash patterns + markers), small
multiples per layer, and atomic PNG/PDF output with the config digest in the metadata."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure

from .. import __version__
from ..datasets.cache import atomic_path

RC = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7,
      "xtick.labelsize": 7, "ytick.labelsize": 7, "lines.linewidth": 1.2}
# one entry per series: (colour, linestyle, marker) distinguishable without colour
SERIES = [("black", "-", "o"), ("0.45", "--", "s"), ("0.2", ":", "^"), ("0.6", "-.", "D"),
          ("0.3", (0, (5, 1, 1, 1)), "v"), ("0.7", (0, (1, 1)), "x"),
          ("0.5", (0, (3, 1, 1, 1, 1, 1)), "P")]
MEASURED = {"color": "0.55", "alpha": 0.9}
THEORY = {"color": "black", "linestyle": "--", "linewidth": 1.3}


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
        meta = ({"Software": f"varprop {__version__}", "Description": stamp} if fmt == "png" else
                {"Creator": f"varprop {__version__}", "Subject": stamp, "CreationDate": None})
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, metadata=meta)
        paths.append(path)
    return paths
