"""The general rule Var[W^i] = scale / fan (V12) reproduces every named scheme."""
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from varprop.symbolic.notation import i, n
from varprop.symbolic.schemes import FAN_MODES, custom_scheme, get_fan, get_scheme, schemes

n_i, n_o = n[i], n[i + 1]

# The published definitions, typed from the papers as the independent oracle.
PUBLISHED = {
    # name: (Var[W^i], law parameter)
    "standard": (1 / (3 * n_i), 1 / sp.sqrt(n_i)),                     # Glorot & Bengio (1)
    "normalized": (2 / (n_i + n_o), sp.sqrt(6) / sp.sqrt(n_i + n_o)),  # (12), (16)
    "lecun": (1 / n_i, 1 / sp.sqrt(n_i)),                              # LeCun et al. 1998
    "he": (2 / n_i, sp.sqrt(2 / n_i)),                                 # He et al. 2015
    # Saxe et al. 2014: W = gain * Q, gain 1 for square layers
    "orthogonal": (1 / n_i, sp.sqrt(sp.Max(n_i, n_o) / n_i)),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_rule_reproduces_named_scheme(name):
    s = get_scheme(name)
    variance, parameter = PUBLISHED[name]
    for fan_in, fan_out in [(1, 1), (3, 7), (784, 500), (1000, 9), (1024, 1000)]:
        at = {n_i: fan_in, n_o: fan_out}
        assert sp.nsimplify(s.variance.subs(at)) == sp.nsimplify(variance.subs(at))
        assert sp.simplify(s.parameter.subs(at) - parameter.subs(at)) == 0
    assert not s.scale.free_symbols


def test_scales_and_modes():
    got = {k: (s.scale, s.mode) for k, s in schemes().items()}
    assert got == {"standard": (sp.Rational(1, 3), "fan_in"), "normalized": (1, "fan_avg"),
                   "lecun": (1, "fan_in"), "he": (2, "fan_in"), "orthogonal": (1, "fan_in")}


@given(st.fractions(min_value=0.01, max_value=10), st.sampled_from(sorted(FAN_MODES)),
       st.integers(1, 5000), st.integers(1, 5000))
def test_custom_rule_is_scale_over_fan(scale, mode, fan_in, fan_out):
    s = custom_scheme(float(scale), mode)
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": sp.Rational(fan_in + fan_out, 2)}[mode]
    got = float(s.variance.subs({n_i: fan_in, n_o: fan_out}))
    assert got == pytest.approx(float(scale) / float(fan), rel=1e-12)


def test_bad_scheme_inputs_name_choices():
    with pytest.raises(ValueError, match="standard, normalized, lecun, he, orthogonal"):
        get_scheme("xavier_bad")
    with pytest.raises(ValueError, match="fan_in, fan_out, fan_avg"):
        get_fan("fan_max")
    with pytest.raises(ValueError, match="positive"):
        custom_scheme(-1, "fan_in")


def test_listed_names_match_the_registries():
    """The CLI lists names without deriving anything; they must be the registries' keys."""
    from varprop.symbolic.laws import LAW_NAMES, laws
    from varprop.symbolic.schemes import SCHEME_NAMES
    assert tuple(schemes()) == SCHEME_NAMES and tuple(laws()) == LAW_NAMES
