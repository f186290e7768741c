"""Figure J (new): singular values of the layer Jacobians ∂z^{k+1}/∂z^k per layer, standard vs
normalized, for tanh, softsign and sigmoid: the measured mean singular value (± 2 SE) and the
measured root-mean-square singular value beside the mean-field prediction of the latter
(Section 4.2.2: normalized init keeps them near 1)."""
from __future__ import annotations

from .. import summaries
from . import style

CONFIG = "init_models"
ACTIVATIONS = ("tanh", "softsign", "sigmoid")


def build(results):
    fig = style.figure(8.0, 3.0)
    axes = fig.subplots(1, len(ACTIVATIONS), squeeze=False)[0]
    for ax, act in zip(axes, ACTIVATIONS):
        for label, (colour, ls, marker) in ((act, style.SERIES[0]), (f"{act} N", style.SERIES[1])):
            name = "normalized" if label.endswith(" N") else "standard"
            sv = summaries.jacobian_singular_values(results[label])
            j = sv["index"]       # J^k = dz^{k+1}/dz^k, k = 0 (input → layer 1) .. L-2
            ax.errorbar(j, sv["mean"], yerr=2 * sv["mean_se"], color=colour, marker=marker,
                        linestyle="none", markersize=4, capsize=2,
                        label=f"{name}: mean singular value")
            ax.plot(j, sv["rms"], color=colour, marker=marker, markerfacecolor="white",
                    linestyle="none", markersize=4, label=f"{name}: RMS singular value")
            ax.plot(j, sv["rms_meanfield"], color=colour, linestyle=ls,
                    label=f"{name}: RMS, mean field")
        ax.axhline(1.0, color="0.8", linewidth=0.8)
        ax.set_title(act)
        ax.set_xlabel(r"Jacobian $\partial z^{k+1}/\partial z^{k}$, $k$")
        ax.set_xticks(j)
        ax.set_ylim(bottom=0)
    axes[0].set_ylabel("singular value")
    axes[-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    p = results[ACTIVATIONS[0]]["meta"]["params"]
    fig.suptitle(f"Layer Jacobians at initialisation (widths {'-'.join(map(str, p['widths']))}, "
                 f"{p['networks']} networks, {p['jacobian_inputs']} inputs each)", fontsize=9)
    return fig


def digests(results):
    return [results[a + s]["meta"]["digest"] for a in ACTIVATIONS for s in ("", " N")]
