"""Hypothesis runs derandomized (same examples every run, never flaky), with no deadline:
SymPy's first derivation and Numba's compiles are not failures. VARPROP_HYPOTHESIS=random
draws fresh examples (with --hypothesis-seed=N) for robustness runs outside CI."""
import os

from hypothesis import HealthCheck, settings

_common = dict(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("varprop", derandomize=True, **_common)
settings.register_profile("random", derandomize=False, **_common)
settings.load_profile("random" if os.environ.get("VARPROP_HYPOTHESIS") == "random" else "varprop")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` (minutes of training) run only with VARPROP_SLOW=1; CI runs
    their short forms."""
    if os.environ.get("VARPROP_SLOW") == "1":
        return
    import pytest

    skip = pytest.mark.skip(reason="slow: set VARPROP_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
