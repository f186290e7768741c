"""Training the paper's networks (Section 3): plain SGD on minibatches, softmax output with the
negative log-likelihood (or the quadratic cost of Figure 5), per-layer monitors at a fixed
update interval, trained networks set against the theories, resumable runs.

- ``network``: the weights and biases, initialised from a scheme of the registry;
- ``sgd``: the Numba step (forward; backward fused with the update);
- ``numpy_step``: the same step in plain NumPy, and its forward and backward passes (the
  monitors' passes, the Numba step's test oracle, the benchmark's NumPy peer);
- the top's softmax and cost: ``varprop.kernels.costs`` (Numba and NumPy).
"""
