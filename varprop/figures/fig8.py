"""Figure 8: weight-gradient dC/dW histograms per layer just after initialisation, standard vs
normalized, with eq. (14)'s prediction drawn as a Gaussian of the predicted variance."""
from __future__ import annotations

from . import histograms

CONFIG = "init_tanh"


def hidden_layers(results):
    L = len(results["tanh"]["meta"]["widths"]) - 1
    return list(range(0, L - 1))      # weight_gradient[k] = dC/dW^k, into hidden layer k+1


def build(results):
    return histograms.build(results, "weight_gradient", hidden_layers(results),
                            lambda k: f"$W^{{{k + 1}}}$", r"$\partial C/\partial W$",
                            "N(0, Var predicted by eq. 14)",
                            "Weight gradients at initialisation (per example)",
                            xlim_sd=4.0)


digests = histograms.digests
