"""Hypothesis runs derandomized everywhere (same examples every run, never flaky), with no
deadline: SymPy's first derivation and later JIT compiles are not failures."""
from hypothesis import HealthCheck, settings

settings.register_profile("varprop", derandomize=True, deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("varprop")
