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
    """Every figure and Table 1 at smoke scale into a fresh cache and runs folder (the
    training-time figures train their 16 models); then a second run from the cache."""
    from varprop import experiments as E
    from varprop import figures
    from varprop.training import sweep

    cache = tmp_path_factory.mktemp("cache")
    runs = tmp_path_factory.mktemp("runs")
    out = tmp_path_factory.mktemp("figures")
    mp = pytest.MonkeyPatch()
    mp.setenv(E.CACHE_ENV, str(cache))
    mp.setenv(sweep.RUNS_ENV, str(runs))
    try:
        before, trained = len(E.COMPUTED), len(sweep.TRAINED)
        first = figures.make(None, scale="smoke", out=out, log=lambda m: None)
        computed_first = len(E.COMPUTED) - before
        trained_first = len(sweep.TRAINED) - trained
        second = figures.make(None, scale="smoke", out=tmp_path_factory.mktemp("again"),
                              formats=("png",), log=lambda m: None)
        computed_second = len(E.COMPUTED) - before - computed_first
        trained_second = len(sweep.TRAINED) - trained - trained_first
        names = ("init_tanh", "init_models", "cost_surface", *TRAINING_CONFIGS)
        results = {name: E.run(name, "smoke", log=lambda m: None)[0] for name in names}
        yield {"out": out, "cache": cache, "runs": runs, "first": first, "second": second,
               "computed_first": computed_first, "computed_second": computed_second,
               "trained_first": trained_first, "trained_second": trained_second,
               "results": results}
    finally:
        mp.undo()


def pdflatex_path() -> str:
    """pdflatex's path; the test is skipped without it, or fails where it is required
    (VARPROP_REQUIRE_PDFLATEX=1, as scripts/test.sh sets)."""
    exe = shutil.which("pdflatex")
    if exe is None:
        if os.environ.get("VARPROP_REQUIRE_PDFLATEX") == "1":
            pytest.fail("pdflatex is required here (VARPROP_REQUIRE_PDFLATEX=1) but not installed")
        pytest.skip("pdflatex not installed (scripts/test.sh installs texlive-latex-base)")
    return exe
