"""Figure V (new): per-layer variance of activations, back-propagated gradients and weight
gradients for the paper's five models at initialisation — linear-regime theory, mean-field
theory and Monte-Carlo (± 2 SE across networks) on one page."""
from __future__ import annotations

from .. import summaries
from . import style

CONFIG = "init_models"
MODELS = ("sigmoid", "tanh", "softsign", "tanh N", "softsign N")
COLUMNS = (("activation", "activation_variance", "Var[$z^k$] (hidden layer $k$)", 1),
           ("backprop", "backprop_variance", r"Var[$\partial C/\partial s$] (layer $k$)", 0),
           ("weight_gradient", "weight_gradient_variance",
            r"Var[$\partial C/\partial W^k$]", 0))


def build(results):
    fig = style.figure(8.0, 9.8)
    axes = fig.subplots(len(MODELS), len(COLUMNS), squeeze=False)
    for r, model in enumerate(MODELS):
        res = results[model]
        for c, (q, field, title, first) in enumerate(COLUMNS):
            ax = axes[r, c]
            layer, mc, se, lin, mf = summaries.variance_profile(res, q, field, first)
            ax.plot(layer, lin, color="0.5", linestyle=":", marker="s", markersize=3,
                    label="linear theory")
            ax.plot(layer, mf, color="black", linestyle="--", label="mean-field theory (each input's own q, averaged)")
            ax.errorbar(layer, mc, yerr=2 * se, color="black", marker="o", markersize=3.5,
                        linestyle="none", capsize=2, label="Monte-Carlo ± 2 SE")
            style.log_scale(ax)
            ax.set_xticks(layer)
            if r == 0:
                ax.set_title(title)
            if r == len(MODELS) - 1:
                ax.set_xlabel("layer")
            if c == 0:
                ax.set_ylabel(f"{model}\nvariance")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False)
    p = results[MODELS[0]]["meta"]["params"]
    fig.suptitle(f"Variances at initialisation, theory vs measurement\n(widths "
                 f"{'-'.join(map(str, p['widths']))}, {p['networks']} networks × {p['samples']} "
                 f"Shapeset inputs; 'N' = normalized init)", fontsize=9)
    return fig


def digests(results):
    return [results[m]["meta"]["digest"] for m in MODELS]
