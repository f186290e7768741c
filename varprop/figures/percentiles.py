"""The 98th percentile (markers alone) and standard deviation (lines with markers) of each
hidden layer's activations during training, one panel per model: Figures 3 and 10."""
from __future__ import annotations

from . import style
from .training_time import common_facts, epoch_axis, epochs, hidden_layers, layer_style


def build(results, models, title):
    fig = style.figure(6.5, 2.7 * len(models) + 0.6)
    axes = fig.subplots(len(models), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (label, panel) in zip(axes, models):
        r = results[label]
        a = r["arrays"]
        t = epochs(a["monitor_updates"])
        for k in hidden_layers(r):
            st = layer_style(k)
            ax.plot(t, a["activation_p98"][:, k - 1], linestyle="none", marker=st["marker"],
                    color=st["color"], markersize=3.5, markerfacecolor="none",
                    label=f"layer {k}: 98th percentile")
            ax.plot(t, a["activation_std"][:, k - 1], label=f"layer {k}: std", **st)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{panel}, lr {results[label]['meta']['config']['lr']:g}")
        ax.set_ylabel("activation value")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=6)
    epoch_axis(axes[-1], True)
    fig.suptitle(f"{title}\n" + common_facts(results, [m for m, _ in models]), fontsize=8)
    return fig


def digests(results, models):
    return [results[m]["digest"] for m, _ in models]
