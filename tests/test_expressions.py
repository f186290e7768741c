"""The safe parser of activations written as text, and kink detection
(varprop/symbolic/expressions.py): valid texts give the SymPy expression built directly; every
kind of rejected text is a one-line ValueError; nothing in the text is ever evaluated."""
import ast
import builtins
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from varprop.symbolic import expressions
from varprop.symbolic.activations import x
from varprop.symbolic.expressions import FUNCTIONS, kinks, parse_activation

H = sp.Rational(1, 2)


def rejected(text) -> str:
    """The message of the ValueError ``parse_activation(text)`` raises: one line, prefixed."""
    with pytest.raises(ValueError) as info:
        parse_activation(text)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    assert message.startswith("activation ")
    if isinstance(text, str) and len(text) <= expressions.MAX_LENGTH:
        assert message.startswith(f"activation {text!r}: ")
    return message


# ----------------------------------------------------------------------------- valid texts

VALID = [
    ("x*sigmoid(x)", x / (1 + sp.exp(-x))),
    ("x/(1+abs(x))", x / (1 + sp.Abs(x))),
    ("Piecewise((x, x > 0), (0.01*x, True))",
     sp.Piecewise((x, x > 0), (sp.Rational(1, 100) * x, True))),
    ("log(1+exp(x))", sp.log(1 + sp.exp(x))),
    ("softplus(x)", sp.log(1 + sp.exp(x))),
    ("max(0, x)", sp.Max(0, x)),
    ("Max(0, x)", sp.Max(0, x)),
    ("min(x, 0)", sp.Min(x, 0)),
    ("0.5*x*(1+erf(x/sqrt(2)))", H * x * (1 + sp.erf(x / sp.sqrt(2)))),
    ("Piecewise((-1, x < -1), (x, x <= 1), (1, True))",
     sp.Piecewise((-1, x < -1), (x, x <= 1), (1, True))),
    ("Piecewise((x, -1 < x <= 1), (0, True))",
     sp.Piecewise((x, sp.And(x > -1, x <= 1)), (0, True))),
    ("Piecewise((x, (x > 0) & (x < 1)), (0, True))",
     sp.Piecewise((x, (x > 0) & (x < 1)), (0, True))),
    ("Piecewise((x, (x < -2) | (x > 2)), (0, True))",
     sp.Piecewise((x, (x < -2) | (x > 2)), (0, True))),
    ("x*tanh(softplus(x))", x * sp.tanh(sp.log(1 + sp.exp(x)))),
    ("Heaviside(x)*x", sp.Heaviside(x, H) * x),
    ("sign(x)*log(1 + abs(x))", sp.sign(x) * sp.log(1 + sp.Abs(x))),
    ("tanh(x) + sinh(x)/cosh(x) + sin(x) + cos(x)",
     sp.tanh(x) + sp.sinh(x) / sp.cosh(x) + sp.sin(x) + sp.cos(x)),
    ("atan(x) + asinh(x) + erfc(x)", sp.atan(x) + sp.asinh(x) + sp.erfc(x)),
    ("E**x - pi", sp.exp(x) - sp.pi),
    ("-x + +x**2", -x + x**2),
    ("1.0507*Piecewise((x, x > 0), (1.6733*(exp(x) - 1), True))",
     sp.Rational(10507, 10000) * sp.Piecewise((x, x > 0),
                                              (sp.Rational(16733, 10000) * (sp.exp(x) - 1), True))),
    ("2**x", 2**x),
    ("sqrt(abs(x))", sp.sqrt(sp.Abs(x))),
    ("  tanh(x)\t", sp.tanh(x)),
    ("Piecewise((1/x, x > 1), (0, True))", sp.Piecewise((1 / x, x > 1), (0, True))),
    ("log(1 + exp(20*x))", sp.log(1 + sp.exp(20 * x))),   # float64 overflows; the value does not
    # ten arguments, and f' full of Heaviside(a - Max(...)): parsed in a fraction of a second
    ("max(x, sin(x), x**3, tanh(x), erf(x), x/2, -x, 1, 0, 2*x)",
     sp.Max(x, sp.sin(x), x**3, sp.tanh(x), sp.erf(x), x / 2, -x, 1, 0, 2 * x)),
]


@pytest.mark.parametrize("text, expected", VALID, ids=[t for t, _ in VALID])
def test_valid_texts_parse_to_the_expression_built_directly(text, expected):
    got = parse_activation(text)
    assert got == expected or sp.simplify(got - expected) == 0
    assert got.free_symbols == {x}
    assert not got.atoms(sp.Float)          # floats become exact Rationals


def test_the_variable_is_the_registrys_x():
    assert parse_activation("x") is x
    assert expressions.x is x


def test_float_literals_are_exact_rationals_of_their_shortest_repr():
    assert parse_activation("0.01*x") == sp.Rational(1, 100) * x
    assert parse_activation("1e-3*x") == sp.Rational(1, 1000) * x
    assert parse_activation("x*2.5e2") == 250 * x
    assert parse_activation("0.1*x + 0.2*x") == sp.Rational(3, 10) * x   # not 0.30000000000000004


@given(st.integers(-999, 999).filter(lambda k: k != 0))
@settings(deadline=None, max_examples=25)
def test_decimal_coefficients_are_exact(k):
    assert parse_activation(f"{k / 100!r}*x + x**2") == sp.Rational(k, 100) * x + x**2


def test_functions_are_the_listed_set():
    assert {"exp", "log", "sqrt", "abs", "Abs", "tanh", "sinh", "cosh", "sin", "cos", "atan",
            "erf", "erfc", "sigmoid", "softplus", "max", "Max", "min", "Min", "Piecewise",
            "Heaviside", "sign"} <= set(FUNCTIONS)
    assert FUNCTIONS["sigmoid"](x) == 1 / (1 + sp.exp(-x))
    assert FUNCTIONS["softplus"](x) == sp.log(1 + sp.exp(x))
    assert FUNCTIONS["Heaviside"](x).subs(x, 0) == H           # H(0) = 1/2
    assert parse_activation("Heaviside(x)").subs(x, 0) == H
    assert FUNCTIONS["max"](0, x, 2 * x) == sp.Max(0, x, 2 * x)


coefficients = st.fractions(min_value=-9, max_value=9, max_denominator=9).map(
    lambda f: sp.Rational(f.numerator, f.denominator))


@st.composite
def rational_functions(draw):
    """A small polynomial in x, over a denominator with no real zero ((x - a)**2 + b)**k,
    b > 0 (an activation must be finite on the real line), expanded or not."""
    numerator = sum(c * x**k for k, c in enumerate(draw(st.lists(coefficients, min_size=2,
                                                                 max_size=5))))
    if draw(st.booleans()):
        a, b = draw(coefficients), draw(coefficients.filter(lambda c: c > 0))
        denominator = ((x - a)**2 + b)**draw(st.integers(1, 2))
        if draw(st.booleans()):
            denominator = sp.expand(denominator)
        numerator = numerator / denominator
    return numerator


@given(rational_functions(), st.sampled_from([str, sp.sstr]))
@settings(deadline=None, max_examples=30)
def test_printed_rational_functions_parse_back(expr, printer):
    assume(sp.cancel(expr).free_symbols == {x})
    parsed = parse_activation(printer(expr))
    assert parsed == expr
    assert sp.cancel(parsed - expr) == 0


ATOMS = st.sampled_from(["x"] * 6 + ["1", "2", "0.5", "3.25", "pi", "E"] * 2
                        + ["y", "True", "'x'", "x.real", "x[0]", "1e400", "9" * 31])
UNARY = ["exp", "log", "sqrt", "abs", "tanh", "sigmoid", "softplus", "erf", "sign", "Heaviside",
         "sin", "atan", "foo", "max", "min", "Max"]


def _compound(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/", "**", "%", "&", "<"]),
                  children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(UNARY), st.lists(children, min_size=1, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(children, children, st.sampled_from(["<", ">=", "=="]), children).map(
            lambda t: f"Piecewise(({t[0]}, {t[1]} {t[2]} 0), ({t[3]}, True))"),
        children.map(lambda c: f"-{c}"))


# texts from a loose grammar (mostly well formed, some not), and token soup (mostly not)
TEXTS = st.one_of(
    st.recursive(ATOMS, _compound, max_leaves=8),
    st.recursive(ATOMS, _compound, max_leaves=8),
    st.lists(st.sampled_from(["x", "1", "0.5", "+", "-", "*", "/", "**", "(", ")", ",", " ",
                              "exp(", "max(", "Piecewise((", "<", "&", "True", ".", "[", "'"]),
             max_size=12).map("".join))


@given(TEXTS)
@settings(deadline=None, max_examples=300)
def test_any_text_gives_an_activation_or_a_one_line_value_error(text):
    try:
        expr = parse_activation(text)
    except ValueError:
        rejected(text)
        return
    assert isinstance(expr, sp.Expr) and expr.free_symbols == {x}
    try:
        points = kinks(expr)
    except ValueError as err:
        assert "\n" not in str(err) and str(err).startswith("activation ")
    else:
        assert list(points) == sorted(set(points)) and all(isinstance(p, float) for p in points)


# ----------------------------------------------------------------------------- rejections

REJECTED = [
    ("", "empty"),
    ("   ", "empty"),
    ("x +", "invalid syntax"),
    ("x*\ny", "invalid syntax"),
    ("\x00", "invalid syntax"),
    ("x*y", "unknown name 'y'; use x, pi, E, numbers and the functions"),
    ("e**x", "unknown name 'e'"),
    ("foo(x)", "unknown function 'foo'; use one of:"),
    ("exec('1')", "unknown function 'exec'"),
    ("x(1)", "'x' is not a function"),
    ("exp", "must be called"),
    ("x.__class__", "attribute"),
    ("().__class__.__bases__", "attribute"),
    ("x.real", "attribute"),
    ("x[0]", "subscripts"),
    ("exp(x=1)", "keyword arguments"),
    ("'x'", "strings are not allowed"),
    ("b'x'", "strings are not allowed"),
    ("lambda: x", "lambda"),
    ("[t for t in (1, 2)]", "comprehensions"),
    ("max(t for t in (x, 1))", "comprehensions"),
    ("f'{x}'", "f-strings"),
    ("max(*(x, 1))", "starred"),
    ("[x]", "lists"),
    ("{x: 1}", "dicts"),
    ("(x, 1)", "tuples are allowed only as the (expression, condition) pairs of Piecewise"),
    ("x if x > 0 else 0", "conditional expressions"),
    ("(y := x)", "assignments"),
    ("1j*x", "complex"),
    ("None", "None is not allowed"),
    ("...", "is not allowed"),
    ("True", "True is allowed only as the condition of the last Piecewise branch"),
    ("x % 2", "operator '%' is not allowed"),
    ("x // 2", "operator '//' is not allowed"),
    ("x @ x", "operator '@' is not allowed"),
    ("x ^ 2", "operator '^' is not allowed"),
    ("~x", "operator '~' is not allowed"),
    ("not x", "'not' is not allowed"),
    ("exp(x, 1)", "exp takes 1 argument, got 2"),
    ("exp()", "exp takes 1 argument, got 0"),
    ("max(x)", "max takes 2 to 10 arguments, got 1"),
    ("max(" + ", ".join(f"x + {k}" for k in range(11)) + ")", "max takes 2 to 10 arguments"),
    ("Piecewise()", "Piecewise takes 1 to 32 arguments, got 0"),
    ("x > 0", "comparisons are allowed only as Piecewise conditions"),
    ("0 < x < 1", "comparisons are allowed only as Piecewise conditions"),
    ("x and 1", "'and'/'or' are not allowed"),
    ("(x > 0) & (x < 1)", "& may only join comparisons in a Piecewise condition"),
    ("x | 1", "| may only join comparisons"),
    ("Piecewise((x, x > 0))", "final (expression, True) branch"),
    ("Piecewise((x, x > 0), (0, x <= 0))", "final (expression, True) branch"),
    ("Piecewise((x, True), (0, True))", "True is allowed only as the condition of the last"),
    ("Piecewise(x, True)", "(expression, condition) pairs"),
    ("Piecewise((x, x > 0, 1), (0, True))", "(expression, condition) pairs"),
    ("Piecewise((x, x == 0), (0, True))", "only with < <= > >="),
    ("Piecewise((x, x > 0 & x < 1), (0, True))", "in parentheses: (x > 0) & (x < 1)"),
    ("Piecewise((x, (x > 0) and (x < 1)), (0, True))", "instead of 'and'/'or'"),
    ("Piecewise((x, x), (0, True))", "a Piecewise condition must be a comparison"),
    ("x" + "+x" * 500, "at most 1000 are allowed"),
    ("-" * 60 + "x", "nested deeper than 50 levels"),
    ("-" * 999 + "x", "nested deeper than 50 levels"),
    ("exp(" * 60 + "x" + ")" * 60, "nested deeper than 50 levels"),
    ("(" * 199 + "x" + ")" * 199 + "+" + "(" * 199 + "x" + ")" * 199, ""),   # not a level
    ("x**65", "exponent 65 is too large"),
    ("x**-65", "exponent -65 is too large"),
    ("10**10**10", "too large"),
    ("2**64**2", "too large"),
    ("((x*2**64)**64)**64", "more than 1000 digits"),
    ("(" * 12 + "x*2**64" + ")**64" * 12, "more than 1000 digits"),
    ("1" + "0" * 30 + "*x", "more than 30 digits"),
    ("1e30*x", "too large"),
    ("1e400*x", "too large"),
    ("x/0", "division by zero"),
    ("x/(1 - 1)", "division by zero"),
    ("0**-1*x", "not finite"),
    ("1", "does not depend on x"),
    ("pi", "does not depend on x"),
    ("x - x", "does not depend on x"),
    ("log(x)", "is not real"),
    ("sqrt(x)", "is not real"),
    ("x**0.5", "is not real"),
    ("(-1)**0.5*x", "is not real"),
    ("log(x + 100)", "is not real at x = -999.99"),           # only the large |x| see it
    ("sqrt((x - 1)**2 - 1e-6)", "is not real at x = 1"),    # between two grid points
    ("1/x", "is not finite at x = 0"),
    ("1/(x - 1/3)", "is not finite at x = 1/3"),
    ("1/(exp(x) - 2)", "is not finite at x = log(2)"),
    ("1/sin(x)", "is not finite"),
    ("sin(x)/x", "is not finite at x = 0"),
    ("x/abs(x)", "is not finite at x = 0"),
    ("(x**2 - 1)/(x - 1)", "is not finite at x = 1"),
    ("log(abs(x))", "is not finite at x = 0"),
    ("1/(x - 45)", "is not finite at x = 45"),                  # beyond the grid
    ("1/(exp(x) - 3*x)", "is not finite at x = 0.619061"),     # found numerically
    ("1/(exp(x) - 1 - x)", "is not finite at x = 0"),           # a double zero
    ("1/((x - 1)**10*(x + 2)**9 + 1)", "is not finite at x = -2.26825"),   # degree 19
    ("1/(1e10*(x - 0.3))", "is not finite at x = 3/10"),
    ("1/(x**64*(x - 1)**64*(x - 2)**64*(x - 3.5)**63 + 1)",      # degree 255: numerically
     "is not finite at x = -0.118915"),
    ("exp(x**2)", "overflows float64"),
    ("exp(exp(x))", "overflows float64"),
    ("exp(exp(exp(x)))", "overflows float64"),                  # and quickly:
    ("sin(exp(exp(x)))", "cannot be evaluated"),                # no 1e17-bit reduction mod pi
    ("sin(exp(x))", "cannot be evaluated at x = 1000"),
    ("x**x", "is not real"),
    ("max(x, (-1)**0.5)", "cannot be built"),
    (123, "must be text"),
    (None, "must be text"),
]


@pytest.mark.parametrize("text, fragment", REJECTED, ids=[repr(t)[:40] for t, _ in REJECTED])
def test_rejected_texts_give_a_one_line_value_error(text, fragment):
    if fragment == "":       # parentheses are not nesting: this one is fine
        assert parse_activation(text) == 2 * x
        return
    message = rejected(text)
    assert fragment in message, message


def test_a_too_long_text_is_shown_shortened():
    message = rejected("x" + "+x" * 2000)
    assert len(message) < 300 and "4001 characters long" in message


def test_a_derivative_is_required_almost_everywhere():
    # sqrt(|x|) has an infinite slope only at its kink, 0, which no grid point hits: accepted
    assert parse_activation("sqrt(abs(x))*sign(x)") == sp.sqrt(sp.Abs(x)) * sp.sign(x)
    # a step: f' = 0 almost everywhere (DiracDelta at the kink)
    assert kinks(parse_activation("Heaviside(x) + x")) == (0.0,)
    # f fits in float64 on [-40, 40], f' does not
    assert "its derivative f'(x) overflows float64" in rejected("exp(x**2/2.26)")


# ----------------------------------------------------------------------------- nothing is run

ATTACKS = [
    "__import__('os').system('touch {path}')",
    "__import__('os').system",
    "exec(\"open('{path}', 'w')\")",
    "eval(\"open('{path}', 'w')\")",
    "open('{path}', 'w')",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__",
    "x.__class__.__init__.__globals__",
    "getattr(x, '__class__')",
    "globals()",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "(lambda: __import__('os').system('touch {path}'))()",
    "f\"{{__import__('os').system('touch {path}')}}\"",
    "Piecewise((x, x > 0), (__import__('os').system('touch {path}'), True))",
    "max(x, __import__('os').system('touch {path}'))",
    "x + breakpoint()",
    "exp(x)\n__import__('os').system('touch {path}')",
    "exp(x); __import__('os').system('touch {path}')",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_attacks_are_rejected_and_nothing_runs(attack, tmp_path):
    target = tmp_path / "varprop-pwned"
    rejected(attack.format(path=target))
    assert not target.exists()


def test_the_touch_attack_creates_no_file():
    target = Path("/tmp/varprop-pwned")
    existed = target.exists()          # left by someone else: then only check it is untouched
    stamp = target.stat().st_mtime_ns if existed else None
    message = rejected("__import__('os').system('touch /tmp/varprop-pwned')")
    assert "attribute access" in message or "unknown function '__import__'" in message
    assert target.exists() == existed
    assert (target.stat().st_mtime_ns if existed else None) == stamp


VALID_TEXTS = [t for t, _ in VALID]


def test_the_text_is_never_compiled_evaluated_or_sympified(monkeypatch):
    """While parse_activation runs: eval, sympify and parse_expr raise; compile and exec only
    ever see SymPy's own code. SymPy calls sympify on *objects* inside its constructors (never
    on our text), so only the public ``sympy.sympify``/``parse_expr`` names are patched, plus
    ``sympy.parsing.sympy_parser.parse_expr``, through which every sympify of a *string* goes.
    The post-checks evaluate the built expression with ``lambdify``, which compiles and execs
    the code SymPy's printer writes from that expression (``<lambdifygenerated-N>``) and, for
    some functions, an import line; ``ast.parse`` compiles the text into a syntax tree only
    (PyCF_ONLY_AST). Those are the only compile/exec calls allowed."""
    for text in VALID_TEXTS:          # warm up: imports and lambdify's namespaces
        parse_activation(text)
    real_compile, real_exec = builtins.compile, builtins.exec
    seen = []

    def forbidden(*args, **kwargs):
        raise AssertionError(f"called with {args!r}")

    def spy_compile(source, filename, mode, flags=0, *args, **kwargs):
        seen.append(("compile", source, filename, flags))
        if not flags & ast.PyCF_ONLY_AST:
            assert filename.startswith("<lambdifygenerated-"), filename
            assert source.startswith("def _lambdifygenerated("), source
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    def spy_exec(code, *args, **kwargs):
        seen.append(("exec", code))
        if isinstance(code, str):
            assert re.fullmatch(r"from [\w.]+ import \w+", code), code
        else:
            assert code.co_filename.startswith("<lambdifygenerated-"), code.co_filename
        return real_exec(code, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", spy_exec)
    monkeypatch.setattr(builtins, "compile", spy_compile)
    monkeypatch.setattr(sp, "sympify", forbidden)
    monkeypatch.setattr(sp, "parse_expr", forbidden)
    monkeypatch.setattr(sp.parsing.sympy_parser, "parse_expr", forbidden)
    results = [parse_activation(text) for text in VALID_TEXTS]
    kinds = [kinks(e) for e in results if not e.has(sp.sin)]   # max(x, sin(x), ...): ValueError
    monkeypatch.undo()
    assert [r == e or sp.simplify(r - e) == 0 for r, (_, e) in zip(results, VALID)] \
        == [True] * len(VALID)
    assert (0.0,) in kinds and (-1.0, 1.0) in kinds
    asts = [s for s in seen if s[0] == "compile" and s[3] & ast.PyCF_ONLY_AST]
    assert len(asts) == len(VALID_TEXTS)                      # ast.parse: once per text


def test_the_module_calls_no_evaluator():
    """No call of eval/exec/compile/sympify/parse_expr/S(...) anywhere in the module's code."""
    tree = ast.parse(inspect.getsource(expressions))
    names = {"eval", "exec", "compile", "sympify", "parse_expr", "S", "__import__",
             "import_module", "getattr"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            assert name not in names, ast.unparse(node)


def test_either_module_may_be_imported_first():
    """The registry parses its built-ins with parse_activation while it is being imported,
    and expressions takes x from the registry: neither import order may fail."""
    code = ("import varprop.symbolic.{0}; from varprop.symbolic.expressions import "
            "parse_activation; from varprop.symbolic.activations import x; "
            "assert parse_activation('tanh(x)').free_symbols == {{x}}")
    for first in ("expressions", "activations"):
        subprocess.run([sys.executable, "-c", code.format(first)], check=True,
                       cwd=Path(__file__).resolve().parents[1])


# ----------------------------------------------------------------------------- kinks

KINKS = [
    (sp.Max(0, x), (0.0,)),
    ("max(0, x)", (0.0,)),
    (sp.Piecewise((-1, x < -1), (x, x <= 1), (1, True)), (-1.0, 1.0)),
    (sp.tanh(x), ()),
    ("abs(x-1)+abs(x+2)", (-2.0, 1.0)),
    ("Piecewise((x, x > 0), (0.01*x, True))", (0.0,)),
    ("Piecewise((x, x > 0), (exp(x) - 1, True))", (0.0,)),
    ("Heaviside(x - 0.5)", (0.5,)),
    ("sign(x + 3)*x", (-3.0,)),
    ("min(x, 1 - x)", (0.5,)),
    ("max(0, x, x - 1)", (0.0,)),                      # 0 = x - 1 at 1 is hidden by x
    ("max(-x, x - 2, 0.5*x - 10)", (1.0,)),            # only the crossings on top count
    ("abs(x) + max(0, x) + Heaviside(x)", (0.0,)),     # deduplicated
    ("abs(x**2 - 2)", (-2**0.5, 2**0.5)),
    ("exp(abs(x - 3))", (3.0,)),
    ("Piecewise((x, (x > 0) & (x < 1)), (0, True))", (0.0, 1.0)),
    ("Piecewise((x, -1 < x <= 1), (0, True))", (-1.0, 1.0)),
    ("x*sigmoid(x)", ()),
    ("0.5*x*(1+erf(x/sqrt(2)))", ()),
]


@pytest.mark.parametrize("expr, expected", KINKS, ids=[str(e) for e, _ in KINKS])
def test_kinks(expr, expected):
    got = kinks(expr)
    assert got == pytest.approx(expected, abs=1e-12)
    assert all(isinstance(p, float) for p in got) and list(got) == sorted(got)


@pytest.mark.parametrize("expr", ["abs(sin(x))", sp.Max(sp.sin(x), sp.cos(x)), 3])
def test_kinks_that_cannot_be_located_are_a_one_line_value_error(expr):
    with pytest.raises(ValueError) as info:
        kinks(parse_activation(expr) if isinstance(expr, str) else expr)
    message = str(info.value)
    assert "\n" not in message and message.startswith("activation ")


def test_kinks_at_irrational_points_are_floats():
    assert kinks("abs(exp(x) - 2)") == (round(float(sp.log(2)), 12),)
    assert kinks(sp.Abs(x - sp.Rational(1, 3))) == (round(1 / 3, 12),)
    # degree 19: SymPy's exact root isolation rather than solveset's radicals
    assert kinks("abs((x - 1)**10*(x + 2)**9 + 1)") == pytest.approx((-2.268249353811,),
                                                                     abs=1e-12)


def test_kinks_of_a_polynomial_too_big_to_solve_are_a_value_error():
    with pytest.raises(ValueError, match="degree 256"):
        kinks(sp.Abs(x**64 * (x - 1)**64 * (x - 2)**64 * (x - 3)**64 - 1))
