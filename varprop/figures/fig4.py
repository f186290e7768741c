"""Figure 4: normalised histograms of the activation values at the end of training on Shapeset
(the 300 monitor examples, all units of a layer), tanh (top) and softsign (bottom), standard
initialisation. The paper: tanh's lower layers saturate (mass at ±1); softsign's values peak
around ±0.6–0.8, in its non-linear but unsaturated range."""
from __future__ import annotations

from . import style
from .training_time import common_facts, hidden_layers, layer_style

CONFIG = "train_shapeset"
# standard-init tanh at Tanh N's rate (the control of train_shapeset.toml): the two panels
# compare activations, not learning rates (each panel's title gives the run's rate)
MODELS = (("Tanh at 0.01", "tanh, standard initialisation"),
          ("Softsign", "softsign, standard initialisation"))


def build(results):
    fig = style.figure(6.5, 5.2)
    axes = fig.subplots(len(MODELS), 1, squeeze=False)[:, 0]
    for ax, (label, panel) in zip(axes, MODELS):
        r = results[label]
        a = r["arrays"]
        edges = a["activation_edges"]                     # (H, B+1)
        for k in hidden_layers(r):
            st = layer_style(k)
            centres = 0.5 * (edges[k - 1, 1:] + edges[k - 1, :-1])
            ax.plot(centres, a["activation_histogram"][-1, k - 1], label=f"layer {k}",
                    color=st["color"], linestyle=st["linestyle"])
        style.log_scale(ax)
        ax.set_xlim(-1, 1)
        ax.set_ylabel("density")
        ax.set_title(f"{panel}, lr {results[label]['meta']['config']['lr']:g}: after "
                     f"{int(a['monitor_updates'][-1]):,} updates")
        ax.legend(loc="upper center", ncols=5, frameon=False)
    axes[-1].set_xlabel("activation value $z$")
    fig.suptitle("Activation values at the end of training (Figure 4)\n"
                 + common_facts(results, [m for m, _ in MODELS]), fontsize=8)
    return fig


def digests(results):
    return [results[m]["digest"] for m, _ in MODELS]
