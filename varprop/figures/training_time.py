"""Shared pieces of the training-time figures (2, 3, 4, 9, 10, T): the paper's time axis, the
runs' scale facts for captions, one line style per layer. Draws only what the runs hold."""
from __future__ import annotations

import numpy as np

from . import style

EPOCH = 20_000   # the paper's "epoch" in its training-time figures: 20,000 updates (Section 3)


def epochs(updates) -> np.ndarray:
    return np.asarray(updates, dtype=np.float64) / EPOCH


def layer_style(k: int) -> dict:
    """Colour, dash and marker of hidden layer k (1-based) from style.SERIES."""
    colour, dash, marker = style.SERIES[(k - 1) % len(style.SERIES)]
    return {"color": colour, "linestyle": dash, "marker": marker, "markersize": 3}


def common_facts(results, labels) -> str:
    """The facts of several models' runs in one line: data set, widths, updates, each model's
    learning rate (and where a run stopped early)."""
    m = results[labels[0]]["meta"]
    c = m["config"]
    rates = "; ".join(f"{lb}: lr {results[lb]['meta']['config']['lr']:g}" + (
        "" if results[lb]["meta"]["status"] == "finished" else
        f" ({results[lb]['meta']['status']} at update {results[lb]['meta']['updates_done']:,})")
        for lb in labels)
    return (f"{c['dataset']}, {c['hidden'][0]} units per hidden layer, {c['updates']:,} updates "
            f"({c['updates'] * c['batch_size']:,} examples), minibatches of {c['batch_size']}\n"
            f"{rates}")


def hidden_layers(r) -> list[int]:
    return list(range(1, len(r["meta"]["widths"]) - 1))


def epoch_axis(ax, bottom: bool) -> None:
    if bottom:
        ax.set_xlabel(f"epochs of {EPOCH:,} updates")
