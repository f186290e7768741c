"""Training the paper's networks (Section 3): plain SGD on minibatches, softmax output with the
negative log-likelihood (or the quadratic cost of Figure 5), per-layer monitors at a fixed
update interval, trained networks set against the theories, resumable runs.

- ``network``: the weights and biases, initialised from a scheme of the registry;
- ``sgd``: the Numba step (forward; backward fused with the update);
- ``reference``: the same step in plain NumPy (tests, and the benchmark's NumPy peer).
"""
