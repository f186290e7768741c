"""Figure 12: test error during training on MNIST (top) and Fashion-MNIST (bottom; our stand-in
for the paper's CIFAR-10, which no package registry ships) for the five 5-hidden-layer models
of Table 1. Each panel's legend lists the models from top to bottom in decreasing final error;
the x axis is training progress: examples seen (bottom) and updates (top)."""
from __future__ import annotations

from . import style
from .fig11 import draw_errors, facts_line

CONFIG = ("train_mnist", "train_fashion")
MODELS = ("Sigmoid", "Tanh", "Tanh N", "Softsign", "Softsign N")
PANELS = (("train_mnist", "MNIST"),
          ("train_fashion", "Fashion-MNIST (stand-in for CIFAR-10)"))


def build(results):
    fig = style.figure(7.0, 7.6)
    axes = fig.subplots(len(PANELS), 1, squeeze=False)[:, 0]
    for ax, (config, title) in zip(axes, PANELS):
        res = results[config]
        draw_errors(ax, res, MODELS)
        ax.set_title(f"{title}\n{facts_line(res, MODELS, 110)}", fontsize=7,
                     loc="left")
    fig.suptitle("Test error during training, 5 hidden layers (Figure 12); legend: model "
                 "(chosen learning rate): final test error", fontsize=8)
    return fig


def digests(results):
    return [results[c][m]["digest"] for c, _ in PANELS for m in MODELS]
