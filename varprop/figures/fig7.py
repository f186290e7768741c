"""Figure 7: back-propagated gradient dC/ds histograms per hidden layer at initialisation,
standard vs normalized, with the mean-field predicted spread drawn as a Gaussian of the
predicted variance (averaged over the inputs): a reference for the width only — the measured
gradient is f'(s) times a sum, more peaked than a Gaussian."""
from __future__ import annotations

from . import histograms

CONFIG = "init_tanh"


def hidden_layers(results):
    L = len(results["tanh"]["meta"]["widths"]) - 1
    return list(range(L - 1))      # backprop[k] = dC/ds^k, s^k = z^k W^k: hidden layer k+1


def build(results):
    return histograms.build(results, "backprop", hidden_layers(results),
                            lambda k: f"layer {k + 1}", r"$\partial C/\partial s$",
                            "Gaussian with the mean-field variance", "Back-propagated gradients at initialisation",
                            xlim_sd=4.0)


digests = histograms.digests
