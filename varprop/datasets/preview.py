"""A grid of examples with their labels (for Shapeset, the paper's Figure 1)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .cache import atomic_path


def preview_figure(data, rows=4, cols=6, title=None):
    """A matplotlib Figure showing the first rows×cols examples of a Dataset, each titled with
    its label's class name. Grey images are drawn on their own value range ([−1, 1] or [0, 1])."""
    from matplotlib.figure import Figure

    n = min(rows * cols, len(data))
    fig = Figure(figsize=(1.75 * cols, 1.9 * rows + (0.4 if title else 0.0)), dpi=100)
    draw_examples(fig, data.images()[:n], data.y[:n], data.classes, rows, cols,
                  grey_range=(-1.0, 1.0) if data.name == "shapeset" else (0.0, 1.0))
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def draw_examples(fig, images, labels, classes, rows, cols, grey_range=(-1.0, 1.0),
                  fontsize=8):
    """Draw up to rows×cols images on a Figure (or SubFigure), each titled "label: class"."""
    lo, hi = grey_range
    n = min(rows * cols, len(images))
    for k in range(rows * cols):
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.set_axis_off()
        if k >= n:
            continue
        img = images[k]
        if img.ndim == 3:
            ax.imshow(np.clip(img, 0.0, 1.0), interpolation="nearest")
        else:
            ax.imshow(img, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(f"{labels[k]}: {classes[labels[k]]}", fontsize=fontsize)


def save_png(fig, path) -> Path:
    """Write the figure as PNG via a temporary file and a rename (never half-written)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"{path}: folder {path.parent} does not exist")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path
