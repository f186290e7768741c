"""The real MNIST and Fashion-MNIST files, when prepared (scripts/test.sh prepares MNIST and
installs Debian's dataset-fashion-mnist, and sets VARPROP_REQUIRE_DATA=1 so that absence fails
instead of skipping)."""
import os

import numpy as np
import pytest

from varprop.datasets import DataMissing, load, mnist

REQUIRE = os.environ.get("VARPROP_REQUIRE_DATA") == "1"

# Known label counts of the MNIST files (training file, test file).
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def arrays_or_skip(source):
    try:
        return mnist.read_arrays(source)
    except DataMissing as exc:
        if REQUIRE:
            pytest.fail(f"VARPROP_REQUIRE_DATA=1 but {exc}")
        pytest.skip(str(exc))


def test_mnist_files_counts_and_mean():
    a = arrays_or_skip(mnist.MNIST)
    assert a["train-images"].shape == (60_000, 28, 28) and a["test-images"].shape == (10_000, 28, 28)
    np.testing.assert_array_equal(np.bincount(a["train-labels"]), MNIST_TRAIN_COUNTS)
    np.testing.assert_array_equal(np.bincount(a["test-labels"]), MNIST_TEST_COUNTS)
    mean = a["train-images"].mean(dtype=np.float64) / 255.0
    assert abs(mean - 0.1307) < 5e-5        # the well-known 0.1307 (exactly 0.130660...)


def test_mnist_paper_splits():
    arrays_or_skip(mnist.MNIST)
    sizes = {s: len(load("mnist", s)) for s in ("train", "valid", "test")}
    assert sizes == {"train": 50_000, "valid": 10_000, "test": 10_000}
    d = load("mnist", "valid")
    assert d.x.shape == (10_000, 784) and d.x.dtype == np.float32
    assert d.x.min() == 0.0 and d.x.max() == 1.0


def test_fashion_mnist_files_counts_and_mean():
    a = arrays_or_skip(mnist.FASHION_MNIST)
    assert a["train-images"].shape == (60_000, 28, 28) and a["test-images"].shape == (10_000, 28, 28)
    assert np.all(np.bincount(a["train-labels"]) == 6000)
    assert np.all(np.bincount(a["test-labels"]) == 1000)
    mean = a["train-images"].mean(dtype=np.float64) / 255.0
    assert abs(mean - 0.2860) < 5e-5
    assert len(load("fashion-mnist", "train")) == 50_000
