"""Figure 8: weight-gradient dC/dW histograms per layer just after initialisation, standard vs
normalized, with the predicted variance — eq. (14)'s layer-independent one, evaluated by the
mean field and averaged over the inputs — drawn as a Gaussian: a reference for the width only
(the per-example gradient z·dC/ds is a product, more peaked than a Gaussian)."""
from __future__ import annotations

from . import histograms

CONFIG = "init_tanh"


def hidden_layers(results):
    L = len(results["tanh"]["meta"]["widths"]) - 1
    return list(range(L - 1))      # weight_gradient[k] = dC/dW^k, into hidden layer k+1


def build(results):
    return histograms.build(results, "weight_gradient", hidden_layers(results),
                            lambda k: f"$W^{{{k + 1}}}$", r"$\partial C/\partial W$",
                            "Gaussian with the predicted variance (eq. 14, mean field)",
                            "Weight gradients at initialisation (per example)",
                            xlim_sd=4.0)


digests = histograms.digests
