"""Figure P (new): the order/chaos phase diagram of tanh networks — chi_c (V18) at the fixed
point over (sigma_w^2, sigma_b^2) with its boundary chi_c = 1 — and, along one sigma_b^2, the
correlation of two inputs after each layer, measured (± 2 SE across networks) against the c-map
iterated (V17)."""
from __future__ import annotations

import numpy as np

from . import style

CONFIG = "phase_diagram"
SHOWN_LAYERS = (1, 3, 10, 20)


def build(res):
    meta = res["meta"]
    fig = style.figure(8.0, 3.6)
    left, right = fig.subplots(1, 2)
    w, b = res["weight_variances"], res["bias_variances"]
    chi = np.log10(np.clip(res["chi_c"], 1e-3, 1e3))         # (n_w, n_b)
    mesh = left.pcolormesh(w, b, chi.T, cmap="RdBu_r", vmin=-0.6, vmax=0.6,
                         shading="nearest")
    fig.colorbar(mesh, ax=left, label=r"$\log_{10}\chi_c$")
    ok = np.isfinite(res["boundary_weight"])
    left.plot(res["boundary_weight"][ok], res["boundary_bias"][ok], color="black",
              label=r"boundary $\chi_c = 1$")
    left.plot(res["measured_weights"], np.full(res["measured_weights"].shape,
                                               meta["measured_bias"]),
              linestyle="none", marker="o", markersize=3.5, color="black",
              markerfacecolor="white", label="measured (right)")
    left.set_xlim(w[0], w[-1])
    left.set_ylim(b[0], b[-1])
    left.set_xlabel(r"$\sigma_w^2 = n\,\mathrm{Var}[W]$")
    left.set_ylabel(r"$\sigma_b^2$")
    left.set_title("ordered (blue) and chaotic (red)", fontsize=8)
    left.legend(loc="upper left", fontsize=6, frameon=False)
    depth = res["correlation"].shape[1]
    shades = np.linspace(0.75, 0.0, len(SHOWN_LAYERS))
    for layer, shade in zip(SHOWN_LAYERS, shades):
        if layer > depth:
            continue
        k = layer - 1
        color = str(shade)
        right.plot(res["measured_weights"], res["correlation_theory"][:, k], color=color,
                   linestyle="--", linewidth=0.9)
        right.errorbar(res["measured_weights"], res["correlation"][:, k],
                       yerr=2 * res["correlation_se"][:, k], color=color, marker="o",
                       markersize=3, linestyle="none", capsize=2, label=f"layer {layer}")
    right.set_xlabel(r"$\sigma_w^2$")
    right.set_ylabel("correlation of two inputs")
    right.set_title(f"$\\sigma_b^2$ = {meta['measured_bias']:g}, $c^0$ = {meta['c_in']:g}: "
                    "measured ± 2 SE, dashed: c-map", fontsize=8)
    right.legend(fontsize=6, frameon=False)
    fig.suptitle(f"Order and chaos, {meta['activation']}: width {meta['width']}, "
                 f"{meta['networks']} networks; {meta['points_agreeing']} of {meta['points']} "
                 "measured correlations within the calibrated tolerance", fontsize=9)
    return fig


def digests(res):
    return [res["meta"]["digest"]]
