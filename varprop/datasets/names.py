"""The data sets' names and their splits: constants that both the package and its modules
read (kept apart from ``varprop.datasets``, which re-exports its modules)."""

NAMES = ("shapeset", "mnist", "fashion-mnist", "cifar-10")
SPLITS = ("train", "valid", "test")
