"""Figure T (new): trained networks against the theories (Section 4.3: the analysis holds at
initialisation; during training weights and activations stop being independent). Per model
(rows) and quantity (columns), per layer, the measured variance on the monitor examples over
training divided by the mean-field prediction (solid) and by the linear-regime prediction
(dotted) for the network's current weight variances Var[W^k] and bias second moments
(``training.monitors.theory_comparison``). 1 = the theory holds. The axes stop at
YLIM: the linear theory's ratios fall below it once weights grow past the linear regime."""
from __future__ import annotations

from matplotlib.lines import Line2D

from .. import summaries
from . import style
from .training_time import common_facts, epoch_axis, epochs, layer_style

CONFIG = "train_shapeset"
YLIM = (1e-4, 1e3)
MODELS = ("Sigmoid", "Tanh", "Tanh N", "Softsign", "Softsign N")
# (measured key, theory key suffix, first index drawn, column title). Lines are numbered by
# layer j: the activations z^j (j = 1..L-1), the gradient w.r.t. layer j's pre-activation
# s^{j-1} and the weights W^{j-1} into layer j (j = 1..L, L: the softmax layer).
COLUMNS = (("activation_variance", "activation_variance", 1, "Var[$z$] of hidden layer $j$"),
           ("backprop_variance", "backprop_variance", 0,
            r"Var[$\partial C/\partial s$] of layer $j$'s pre-activation"),
           ("weight_gradient_variance", "weight_gradient_variance", 0,
            r"Var[$\partial C/\partial W$] of the weights into layer $j$"))


def build(results):
    fig = style.figure(8.0, 1.75 * len(MODELS) + 1.2)
    axes = fig.subplots(len(MODELS), len(COLUMNS), sharex=True, squeeze=False)
    for row, label in enumerate(MODELS):
        a = results[label]["arrays"]
        t = epochs(a["monitor_updates"])
        for col, (measured, theory, first, title) in enumerate(COLUMNS):
            ax = axes[row, col]
            mf, lin = summaries.theory_ratios(results[label], measured, theory, first)
            for i in range(mf.shape[1]):
                st = layer_style(i + 1 if first == 0 else i + first)
                ax.plot(t, mf[:, i], color=st["color"], linestyle="-", marker=st["marker"],
                        markersize=2.5)
                ax.plot(t, lin[:, i], color=st["color"], linestyle=":", linewidth=0.9)
            ax.axhline(1.0, color="0.75", linewidth=0.6)
            style.log_scale(ax)
            ax.set_ylim(*YLIM)
            if row == 0:
                ax.set_title(title)
            if col == 0:
                ax.set_ylabel(f"{label}\nmeasured / predicted")
            epoch_axis(ax, row == len(MODELS) - 1)
    L = results[MODELS[0]]["arrays"]["backprop_variance"].shape[1]
    handles = [Line2D([], [], color=layer_style(j)["color"], marker=layer_style(j)["marker"],
                      markersize=3, label=f"layer {j}") for j in range(1, L + 1)]
    handles += [Line2D([], [], color="black", label="measured / mean field"),
                Line2D([], [], color="black", linestyle=":", label="measured / linear")]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False,
               fontsize=6)
    fig.suptitle("Trained networks vs theory for their current weight variances (Figure T; "
                 f"axes clipped to {YLIM[0]:g}-{YLIM[1]:g})\n"
                 + common_facts(results, MODELS), fontsize=8)
    return fig


def digests(results):
    return [results[m]["digest"] for m in MODELS]
