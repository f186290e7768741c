"""Names of choices that the command line lists, kept here so that building its parser imports
neither Numba nor the kernels."""

INPUT_LAWS = ("normal", "uniform")          # random inputs of ``montecarlo.measure``
TOP_GRADIENTS = ("softmax", "injected")     # softmax + NLL with random labels, or i.i.d. N(0, 1)
