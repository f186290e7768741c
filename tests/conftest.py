"""Hypothesis runs derandomized (same examples every run, never flaky), with no deadline:
SymPy's first derivation and Numba's compiles are not failures. VARPROP_HYPOTHESIS=random
draws fresh examples (with --hypothesis-seed=N) for robustness runs outside CI."""
import os
import shutil

import pytest
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


TRAINING_CONFIGS = ("train_shapeset", "train_mnist", "train_fashion")


@pytest.fixture(scope="session")
def smoke(tmp_path_factory):
    """Every figure and Table 1 at smoke scale into a fresh results store, on a local Dask
    cluster of two workers (the training-time figures train their 16 models); then a second
    run that only re-reads the store."""
    from varprop import engine, figures

    root = tmp_path_factory.mktemp("store")
    out = tmp_path_factory.mktemp("figures")
    quiet = lambda m: None   # noqa: E731
    first = figures.make(None, scale="smoke", out=out, log=quiet, jobs=2, store_root=root)
    tasks_first = engine.TASKS_RUN[-1]
    second = figures.make(None, scale="smoke", out=tmp_path_factory.mktemp("again"),
                          formats=("png",), log=quiet, store_root=root)
    tasks_second = engine.TASKS_RUN[-1]
    names = ("init_tanh", "init_models", "cost_surface", *TRAINING_CONFIGS)
    results = {name: engine.load(name, "smoke", root) for name in names}
    yield {"out": out, "runs": root, "first": first, "second": second,
           "tasks_first": tasks_first, "tasks_second": tasks_second, "results": results}


def pdflatex_path() -> str:
    """pdflatex's path; the test is skipped without it, or fails where it is required
    (VARPROP_REQUIRE_PDFLATEX=1, as scripts/test.sh sets)."""
    exe = shutil.which("pdflatex")
    if exe is None:
        if os.environ.get("VARPROP_REQUIRE_PDFLATEX") == "1":
            pytest.fail("pdflatex is required here (VARPROP_REQUIRE_PDFLATEX=1) but not installed")
        pytest.skip("pdflatex not installed (scripts/test.sh installs texlive-latex-base)")
    return exe
