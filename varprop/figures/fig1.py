"""Figure 1: Shapeset-3×2 examples at 64×64 and 32×32, each labelled with its class."""
from __future__ import annotations

from ..datasets.preview import draw_examples
from . import style

CONFIG = "shapeset_examples"


def build(res):
    rows, cols = int(res["meta"]["params"]["rows"]), int(res["meta"]["params"]["cols"])
    sizes = res["meta"]["params"]["sizes"]
    fig = style.figure(1.5 * cols, (1.7 * rows + 0.3) * len(sizes))
    subs = fig.subfigures(len(sizes), 1)
    for sub, size in zip(subs, sizes):
        draw_examples(sub, res[f"images{size}"], res[f"labels{size}"], res["meta"]["classes"],
                      rows, cols, grey_range=(-1.0, 1.0), fontsize=7)
        sub.suptitle(f"Shapeset-3×2, {size}×{size} pixels", fontsize=9)
    return fig


def digests(res):
    return [res["meta"]["digest"]]
