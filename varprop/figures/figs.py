"""Figure S (new): the spectrum of J J^T for the input-output Jacobian of tanh networks at
several depths and three initialisations — the free-probability density (V19-V22, each layer at
its mean-field q) over the measured eigenvalues, on a log axis (density of log10 lambda)."""
from __future__ import annotations

import math

import numpy as np

from . import style

CONFIG = "jacobian_spectrum"
INITS = ("standard", "normalized", "orthogonal")


def build(results):
    first = results[INITS[0]]["meta"]
    depths = [int(d) for d in first["depths"]]
    fig = style.figure(8.0, 6.6)
    axes = fig.subplots(len(INITS), len(depths), squeeze=False)
    for r, init in enumerate(INITS):
        res = results[init]
        for c, d in enumerate(depths):
            ax = axes[r, c]
            x, rho = res[f"x_{d}"], res[f"density_{d}"]
            edges, below = res[f"histogram_edges_{d}"], float(res[f"below_{d}"])
            ax.stairs(res[f"histogram_{d}"], edges, fill=True, color="0.8", label="measured")
            # rho(lambda) d lambda = rho(lambda) lambda ln 10 d log10 lambda
            if rho.any():
                ax.plot(np.log10(x), rho * x * math.log(10), color="black",
                        label="free probability (mean field)")
            cmp = res["meta"]["depths"][str(d)]
            ax.axvline(math.log10(cmp["predicted"]["mean"]), color="black", linestyle=":",
                       linewidth=0.8)
            ax.set_title(f"{init}, depth {d}", fontsize=8)
            ax.text(0.03, 0.95, f"mean {cmp['measured']['mean']:.3g} (pred. "
                    f"{cmp['predicted']['mean']:.3g})\nmax {cmp['measured']['max']:.3g} "
                    f"(pred. {cmp['predicted']['max']:.3g})"
                    + (f"\n{below:.1%} below the axis" if below else ""), transform=ax.transAxes,
                    fontsize=6, va="top")
            if r == len(INITS) - 1:
                ax.set_xlabel(r"$\log_{10}\lambda(JJ^\top)$")
            if c == 0:
                ax.set_ylabel("density")
    handles, labels = axes[0, -1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False)
    fig.suptitle(f"Spectrum of $JJ^\\top$, $J = \\partial z^d/\\partial z^0$: {first['activation']}, "
                 f"width {first['width']}, {first['networks']} networks × 1 input per panel "
                 "(dotted: predicted mean)", fontsize=9)
    return fig


def digests(results):
    return [results[i]["meta"]["digest"] for i in INITS]
