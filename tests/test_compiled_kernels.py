"""Kernels generated at run time for an activation that is not built in
(``varprop.kernels.compiled``): against a NumPy evaluation of the expression, f' against a
finite difference of f, and the mean field of rational activations against mpmath."""
import os
import subprocess
import sys

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from exact import gaussian_expect
from varprop import gaussian
from varprop.kernels import numpy_functions
from varprop.kernels.compiled import kernels
from varprop.symbolic.activations import register_activation, x

GRID = np.linspace(-6, 6, 97) + 1e-3
polys = st.lists(st.integers(-3, 3), min_size=1, max_size=3)


def _rational(p, q):
    """P(x) / (1 + Q(x)^2): no pole on the real line."""
    P = sum(c * x ** k for k, c in enumerate(p))
    Q = sum(c * x ** k for k, c in enumerate(q))
    return P / (1 + Q ** 2)


@pytest.fixture(autouse=True)
def _kernel_folder(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("VARPROP_KERNELS", str(tmp_path_factory.getbasetemp() / "kernels"))


@settings(max_examples=6, deadline=None)
@given(polys, polys)
def test_generated_kernels_equal_the_expression(p, q):
    f = sp.together(_rational(p, q) + x / 4)        # + x/4: never constant
    name = register_activation(f"rational_{abs(hash((tuple(p), tuple(q))))}", f).name
    k = kernels(name)
    exact_f = sp.lambdify(x, f, "numpy")(GRID)
    np.testing.assert_allclose(k.f_array(GRID), exact_f, rtol=1e-12, atol=1e-14)
    fm = sp.lambdify(x, f, "mpmath")
    with mpmath.workdps(30):
        fd = np.array([float(mpmath.diff(fm, mpmath.mpf(v))) for v in GRID])
    np.testing.assert_allclose(k.fprime_array(GRID), fd, rtol=1e-10, atol=1e-12)
    g = np.ones((3, GRID.size))
    k.times_derivative(g, np.tile(GRID, (3, 1)))
    np.testing.assert_array_equal(g[1], k.fprime_array(GRID))
    np.testing.assert_array_equal(numpy_functions(name)[0](GRID), k.f_array(GRID))
    for q2 in (0.5, 2.0):                            # the mean field's E[f^2] against mpmath
        exact = gaussian_expect(lambda v: fm(v) ** 2, q2)
        assert float(gaussian.moments(name)[1](q2)) == pytest.approx(exact, rel=1e-11)


def test_kernels_are_cached_across_processes(tmp_path):
    """A second process loads the machine code the first one wrote: no cache file is written
    again (their modification times are unchanged)."""
    code = ("import numpy as np; from varprop.kernels.compiled import kernels; "
            "k = kernels('x*tanh(x) + x/3'); k.f_array(np.ones(3)); k.fprime_array(np.ones(3)); "
            "k.times_derivative(np.ones((2, 2)), np.ones((2, 2)))")
    env = {**os.environ, "VARPROP_KERNELS": str(tmp_path)}

    def files():
        return {p.relative_to(tmp_path): p.stat().st_mtime_ns
                for p in tmp_path.rglob("*") if p.is_file()}

    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    first = files()
    assert any(p.suffix == ".nbc" for p in first) and any(p.suffix == ".py" for p in first)
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert files() == first
