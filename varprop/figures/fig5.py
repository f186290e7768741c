"""Figure 5: cross-entropy vs quadratic cost over one weight of each layer of a 2-layer tanh
network (softmax output) on random inputs and targets."""
from __future__ import annotations

import numpy as np

from . import style

CONFIG = "cost_surface"


def build(res):
    fig = style.figure(8.0, 3.9)
    w1, w2 = np.meshgrid(res["w1"], res["w2"], indexing="ij")
    zmax = max(float(res["cross_entropy"].max()), float(res["quadratic"].max()))
    for k, (key, name) in enumerate((("cross_entropy", "cross-entropy (NLL)"),
                                     ("quadratic", "quadratic ‖softmax − target‖²"))):
        ax = fig.add_subplot(1, 2, k + 1, projection="3d")
        ax.plot_surface(w1, w2, res[key], cmap="Greys", edgecolor="0.3", linewidth=0.2,
                        rstride=1, cstride=1, antialiased=True)
        ax.set_xlabel("$W_1$ (layer 1)")
        ax.set_ylabel("$W_2$ (layer 2)")
        ax.set_zlabel("cost")
        ax.set_box_aspect(None, zoom=0.88)
        ax.set_zlim(0, zmax)
        ax.set_title(name)
    w = res["meta"]["widths"]
    fig.suptitle(f"Cost over two weights of a {w[0]}-{w[1]}-{w[2]} tanh network, random "
                 f"inputs and targets", fontsize=9)
    return fig


def digests(res):
    return [res["meta"]["digest"]]
