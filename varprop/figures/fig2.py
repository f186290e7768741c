"""Figure 2: sigmoid networks of depth 4 (top) and 5 (bottom) on Shapeset — mean (line) and
standard deviation (bars) of each hidden layer's activations on the 300 monitor examples during
training. The paper: the top hidden layer saturates at 0 fast, then slowly desaturates around
epoch 100 at depth 4; at depth 5 it never escapes."""
from __future__ import annotations

from . import style
from .training_time import common_facts, epoch_axis, epochs, hidden_layers, layer_style

CONFIG = "train_shapeset"
MODELS = ("Sigmoid depth 4", "Sigmoid")


def build(results):
    fig = style.figure(6.5, 5.4)
    axes = fig.subplots(len(MODELS), 1, sharex=True, squeeze=False)[:, 0]
    for ax, label in zip(axes, MODELS):
        r = results[label]
        a = r["arrays"]
        t = epochs(a["monitor_updates"])
        layers = hidden_layers(r)
        dt = (t[1] - t[0]) if t.size > 1 else 1.0
        for k in layers:
            st = layer_style(k)
            shift = (k - (len(layers) + 1) / 2) * 0.08 * dt   # bars side by side
            ax.errorbar(t + shift, a["activation_mean"][:, k - 1],
                        yerr=a["activation_std"][:, k - 1], capsize=1.5, elinewidth=0.7,
                        label=f"layer {k}", **st)
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel("activation value $z$\n(mean ± std)")
        ax.set_title(f"{label.replace('Sigmoid depth 4', 'Sigmoid, depth 4')}"
                     f"{', depth 5' if label == 'Sigmoid' else ''}")
        ax.legend(loc="center right", ncols=1, frameon=False)
    epoch_axis(axes[-1], True)
    fig.suptitle("Sigmoid activations during training (Figure 2)\n"
                 + common_facts(results, MODELS), fontsize=8)
    return fig


def digests(results):
    return [results[m]["digest"] for m in MODELS]
