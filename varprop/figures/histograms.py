"""Small multiples of per-layer histograms at initialisation, standard (top row) vs normalized
(bottom row), measured histogram in grey with the theory's predicted density drawn over it.
Used by Figures 6, 7 and 8; draws only what the results hold."""
from __future__ import annotations

import numpy as np

from . import style

ROWS = (("tanh", "standard init"), ("tanh N", "normalized init"))


def build(results, quantity, layers, panel_title, xlabel, theory_label, suptitle,
          xlim_sd=None):
    L = len(layers)
    fig = style.figure(1.45 * L + 0.6, 3.9)
    axes = fig.subplots(len(ROWS), L, sharey="row", squeeze=False)
    for r, (label, row_name) in enumerate(ROWS):
        res = results[label]
        hist, edges = res[f"{quantity}.histogram"], res[f"{quantity}.edges"]
        pred = res[f"{quantity}.predicted_density"]
        for c, k in enumerate(layers):
            ax = axes[r, c]
            centres = 0.5 * (edges[k, 1:] + edges[k, :-1])
            ax.fill_between(centres, hist[k], step="mid", label="measured", **style.MEASURED)
            ax.plot(centres, pred[k], label=theory_label, **style.THEORY)
            if xlim_sd is not None:   # one window per row: layers compare at a glance
                sd = max(np.sqrt(res[f"{quantity}.variance"][j]) for j in layers)
                ax.set_xlim(-xlim_sd * sd, xlim_sd * sd)
                ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 2))
            ax.set_title(f"{panel_title(k)} — {row_name}" if c == 0 else panel_title(k))
            if r == len(ROWS) - 1:
                ax.set_xlabel(xlabel)
            if c == 0:
                ax.set_ylabel(f"{row_name}\ndensity")
    for r, (label, _) in enumerate(ROWS):   # rows share y: peak heights compare across layers
        res = results[label]
        top = max(np.nanmax(res[f"{quantity}.histogram"][layers]),
                  np.nanmax(res[f"{quantity}.predicted_density"][layers]))
        axes[r, 0].set_ylim(0, 1.05 * top)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False)
    w = results[ROWS[0][0]]["meta"]["params"]["widths"]
    p = results[ROWS[0][0]]["meta"]["params"]
    fig.suptitle(f"{suptitle}\n(widths {'-'.join(map(str, w))}, {p['networks']} networks × "
                 f"{p['samples']} Shapeset inputs)", fontsize=9)
    return fig


def digests(results):
    return [results[lb]["meta"]["digest"] for lb, _ in ROWS]
