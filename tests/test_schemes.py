"""The general rule Var[W^i] = scale / fan (V12) reproduces every named scheme."""
import numpy as np
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


# Other libraries' names, with the Var[W] each library documents for a dense layer of fan_in
# inputs and fan_out outputs (the independent oracle, typed from their documentation):
# - PyTorch torch.nn.init (pytorch.org/docs/stable/nn.init.html), defaults gain=1; kaiming_*:
#   a=0, mode="fan_in", nonlinearity="leaky_relu", so gain = calculate_gain("leaky_relu", 0)
#   = sqrt(2/(1+0^2)): xavier_uniform_ U(-a, a), a = gain sqrt(6/(fan_in+fan_out));
#   xavier_normal_ N(0, std^2), std = gain sqrt(2/(fan_in+fan_out)); kaiming_uniform_
#   U(-b, b), b = gain sqrt(3/fan_in); kaiming_normal_ N(0, std^2), std = gain/sqrt(fan_in).
# - Keras keras.initializers (keras.io/api/layers/initializers; JAX jax.nn.initializers alike):
#   glorot_uniform / he_uniform / lecun_uniform U(-l, l), l = sqrt(6/(fan_in+fan_out)) /
#   sqrt(6/fan_in) / sqrt(3/fan_in); glorot_normal / he_normal / lecun_normal: a truncated
#   normal (re-drawn beyond 2 std) with stddev sqrt(2/(fan_in+fan_out)) / sqrt(2/fan_in) /
#   sqrt(1/fan_in) *after* truncation (VarianceScaling: "a standard deviation (after
#   truncation, if used) stddev = sqrt(scale / n)").
FAN_IN, FAN_OUT = 300, 100
ALIAS_VARIANCE = {
    # alias: (Var[W] for fan_in=300, fan_out=100, the law it is drawn from)
    "glorot_uniform": (sp.Rational(6, 400) / 3, "uniform"),          # a^2/3, a^2 = 6/400
    "xavier_uniform": (sp.Rational(6, 400) / 3, "uniform"),
    "glorot_normal": (sp.Rational(2, 400), "truncated_normal"),
    "xavier_normal": (sp.Rational(2, 400), "normal"),
    "he_uniform": (sp.Rational(6, 300) / 3, "uniform"),
    "kaiming_uniform": (2 * sp.Rational(3, 300) / 3, "uniform"),     # gain^2 b'^2/3, gain^2=2
    "he_normal": (sp.Rational(2, 300), "truncated_normal"),
    "kaiming_normal": (sp.Rational(2, 300), "normal"),
    "lecun_uniform": (sp.Rational(3, 300) / 3, "uniform"),
    "lecun_normal": (sp.Rational(1, 300), "truncated_normal"),
}


@pytest.mark.parametrize("alias", sorted(ALIAS_VARIANCE))
def test_alias_has_its_librarys_variance_and_law(alias):
    from varprop.initialization import sample_weights
    from varprop.symbolic.schemes import ALIASES

    variance, law = ALIAS_VARIANCE[alias]
    s = get_scheme(alias)
    assert s.law == law and ALIASES[alias][1] == law
    assert sp.nsimplify(s.variance.subs({n_i: FAN_IN, n_o: FAN_OUT})) == variance
    # and the sampler draws that variance: 30,000 weights, Var of the sample variance
    # 2 v^2/N for the normal (less for the uniform and truncated laws): within 5 SE
    w = sample_weights(np.random.default_rng(1), FAN_IN, FAN_OUT, s)
    v = float(variance)
    assert abs(float(np.mean(w ** 2)) - v) < 5 * v * np.sqrt(2 / w.size)


def test_every_alias_names_a_scheme_and_a_law_and_is_listed():
    from varprop.symbolic.laws import LAW_NAMES
    from varprop.symbolic.schemes import ALIASES, INIT_NAMES, SCHEME_NAMES

    assert set(ALIASES) == set(ALIAS_VARIANCE)
    assert all(s in SCHEME_NAMES and law in LAW_NAMES for s, law in ALIASES.values())
    assert INIT_NAMES == SCHEME_NAMES + tuple(ALIASES) and not set(ALIASES) & set(SCHEME_NAMES)


def test_alias_names_the_papers_scheme_and_another_law_overrides_its_own():
    assert get_scheme("glorot_uniform") is get_scheme("normalized")
    assert get_scheme("kaiming_normal") is get_scheme("he")
    assert get_scheme("he_normal").name == "he/truncated_normal"
    assert get_scheme("he_normal", "uniform").name == "he/uniform"
    assert get_scheme("lecun", "normal") is get_scheme("lecun")
    with pytest.raises(ValueError, match="or an alias: glorot_uniform, xavier_uniform"):
        get_scheme("glorot")
    with pytest.raises(ValueError, match="uniform, normal, truncated_normal"):
        get_scheme("glorot_uniform", "cauchy")
