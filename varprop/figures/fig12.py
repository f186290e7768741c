"""Figure 12: test error during training on MNIST (top) and Fashion-MNIST (below it; our
stand-in for the paper's CIFAR-10, which no package registry ships) for the five 5-hidden-layer
models of Table 1, and a third panel, CIFAR-10, when its files are present (``OPTIONAL``: the
results then hold "train_cifar10"). Each panel's legend lists the models from top to bottom in
decreasing final error; the x axis is training progress: examples seen (bottom) and updates
(top)."""
from __future__ import annotations

from . import style
from .fig11 import draw_errors, facts_line

CONFIG = ("train_mnist", "train_fashion")
OPTIONAL = ("train_cifar10",)     # trained and drawn only when CIFAR-10's files are present
MODELS = ("Sigmoid", "Tanh", "Tanh N", "Softsign", "Softsign N")
PANELS = (("train_mnist", "MNIST"),
          ("train_fashion", "Fashion-MNIST (stand-in for CIFAR-10)"))
CIFAR_PANEL = ("train_cifar10", "CIFAR-10")
PANEL_HEIGHT = 3.8                # inches per panel (two panels: 7.6)


def panels(results) -> tuple:
    """PANELS, then CIFAR-10's when the results hold it."""
    return PANELS + ((CIFAR_PANEL,) if CIFAR_PANEL[0] in results else ())


def build(results):
    shown = panels(results)
    fig = style.figure(7.0, PANEL_HEIGHT * len(shown))
    axes = fig.subplots(len(shown), 1, squeeze=False)[:, 0]
    for ax, (config, title) in zip(axes, shown):
        res = results[config]
        draw_errors(ax, res, MODELS)
        ax.set_title(f"{title}\n{facts_line(res, MODELS, 110)}", fontsize=7,
                     loc="left")
    fig.suptitle("Test error during training, 5 hidden layers (Figure 12); legend: model "
                 "(chosen learning rate): final test error", fontsize=8)
    return fig


def digests(results):
    return [results[c][m]["digest"] for c, _ in panels(results) for m in MODELS]
