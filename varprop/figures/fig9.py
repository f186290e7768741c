"""Figure 9: standard-deviation intervals of the weight gradients dC/dW^k (eq. 14's quantity,
per example, all entries of layer k) during training, tanh with the standard (top) and the
normalized (bottom) initialisation, on Shapeset. Each bar is ±1 std around 0 at a monitor
point (every other one when there are more than 30), the weights into each hidden layer side by
side; the softmax layer's, an order of magnitude larger, are left out. The paper: normalized
keeps the layers' weight-gradient variances alike during training; standard gives smaller
values for higher layers."""
from __future__ import annotations

from .. import summaries
from . import style
from .training_time import common_facts, epoch_axis, epochs, layer_style

CONFIG = "train_shapeset"
# standard-init tanh at Tanh N's rate (the control of train_shapeset.toml): the two panels
# differ by their initialisation alone (each panel's title gives the run's rate)
MODELS = (("Tanh at 0.01", "tanh, standard initialisation"),
          ("Tanh N", "tanh, normalized initialisation"))


def build(results):
    fig = style.figure(6.5, 5.2)
    axes = fig.subplots(len(MODELS), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    for ax, (label, panel) in zip(axes, MODELS):
        a = results[label]["arrays"]
        every = 2 if a["monitor_updates"].size > 30 else 1
        t = epochs(a["monitor_updates"])[::every]
        sd = a["weight_gradient_std"][::every, :-1]       # (P, L-1): W^0 .. W^{L-2}
        L = sd.shape[1]
        dt = (t[1] - t[0]) if t.size > 1 else 1.0
        for k in range(L):
            st = layer_style(k + 1)
            x = t + (k - (L - 1) / 2) * 0.15 * dt
            ax.vlines(x, -sd[:, k], sd[:, k], color=st["color"], linewidth=1.1,
                      linestyles=st["linestyle"], label=f"$W^{{{k}}}$ (into layer {k + 1})")
        ax.axhline(0, color="0.8", linewidth=0.5)
        ax.set_title(f"{panel}, lr {results[label]['meta']['config']['lr']:g}")
        ax.set_ylabel(r"$\pm$ std of $\partial C/\partial W^k$")
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
        spread = summaries.gradient_spread(results[label])["end"]   # every point, not the drawn
        ax.text(0.01, 0.04, f"at the end: largest / smallest hidden layer's std = {spread:.2f}",
                transform=ax.transAxes, fontsize=6)
    epoch_axis(axes[-1], True)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5),
               frameon=False)
    fig.suptitle("Weight gradients during training (Figure 9)\n"
                 + common_facts(results, [m for m, _ in MODELS]), fontsize=8)
    return fig


def digests(results):
    return [results[m]["digest"] for m, _ in MODELS]
