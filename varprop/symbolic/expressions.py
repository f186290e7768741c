"""Activation functions written by users as text: a safe parser to SymPy, and their kinks.

``parse_activation("x*sigmoid(x)")`` returns the SymPy expression ``x/(1 + exp(-x))`` in the
registry's variable ``x`` (``varprop.symbolic.activations.x``). It **never evaluates Python**:
the text is never given to ``eval``, ``exec`` or ``compile`` as code, nor to ``sympify`` or
``parse_expr`` (both of which eval). ``ast.parse(text, mode="eval")`` turns it into a syntax
tree (data only), and each node of that tree is converted by hand into a SymPy object; any node
not listed below is rejected. ``kinks(expr)`` locates, from the expression, the points where it
may fail to be smooth.

Accepted grammar (anything else is a ``ValueError``):

- numbers: int and float literals (a float becomes the exact Rational of its shortest repr,
  ``0.01`` -> ``1/100``, so Gaussian integrals stay exact); at most 30 digits, below 1e30;
- names: ``x``, the constants ``pi`` and ``E``; ``True`` only as the last Piecewise condition;
- operators: binary ``+ - * / **`` and unary ``- +``; a numeric exponent is at most 64 in
  absolute value, and a power of numbers has at most 1000 digits (``10**10**10`` is refused);
- calls, with positional arguments only, of the functions in ``FUNCTIONS``: ``exp, log, sqrt,
  abs/Abs, tanh, sinh, cosh, sin, cos, atan, asinh, erf, erfc, sigmoid`` (1/(1+exp(-u))),
  ``softplus`` (log(1+exp(u))), ``Heaviside`` (H(0) = 1/2), ``sign`` (one argument each),
  ``max/Max, min/Min`` (2 to 10 arguments) and ``Piecewise((expr, cond), ..., (expr, True))``;
- tuples only as Piecewise's ``(expr, cond)`` pairs; conditions only there: comparisons
  ``< <= > >=`` (chained ``-1 < x <= 1`` allowed) joined by ``&`` and ``|`` (parenthesised:
  ``(x > 0) & (x < 1)``); the last pair's condition must be ``True``;
- at most 1000 characters, nested at most 50 levels (a chain of ``+ -`` or of ``* /`` counts
  as one level).

The expression built must then be an activation:

- it depends on ``x`` only;
- it is real and finite at every real x: checked with ``lambdify`` (NumPy) at 4001 points of
  [-40, 40] that avoid simple rationals, where its value must also fit in float64, and at
  |x| = 100 and 1000; where float64 arithmetic overflows (log(1 + exp(x)) at x = 1000) a
  60-digit mpmath evaluation of the tree decides. It is also evaluated at the zeros of every
  denominator, log argument and fractional-power base, and between them: zeros found by
  ``solveset`` (degree <= 4, small expressions), by SymPy's root isolation (polynomials up to
  degree 200), and numerically (sign changes and near-zero minima on the grid and out to
  |x| = 1000), so that ``1/x``, ``1/(x - 45)`` and ``1/(exp(x) - 1 - x)`` are refused;
- it has a derivative almost everywhere: SymPy writes f' without ``Derivative``/``Subs`` (a
  DiracDelta counts as 0), and f' passes the same point checks.

Every failure is a ``ValueError`` with a one-line message that starts with
``activation '<text>': ``. Every step is bounded (digits, exponents, degrees, sizes given to
``solveset``; the mpmath evaluation refuses sin/cos of numbers beyond 1e20 as "cannot be
evaluated"), so that no text makes the checks hang.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from functools import cache
from typing import Callable

import mpmath
import numpy as np
import sympy as sp


x = sp.Symbol("x", real=True)     # the variable of every activation (``activations.x``)


def _variable() -> sp.Symbol:
    return x


MAX_LENGTH = 1000          # characters of text
MAX_DEPTH = 50             # nesting levels of the syntax tree
MAX_EXPONENT = 64          # |numeric exponent| of **
MAX_LITERAL_DIGITS = 30    # digits of an integer literal (floats: below 1e30)
MAX_NUMBER_DIGITS = 1000   # digits of a number a power of numbers may create
MAX_MINMAX_ARGS = 10       # arguments of max/min (their kinks are found pairwise)
_MAX_BITS = int(MAX_NUMBER_DIGITS * math.log2(10))

# Where f and f' are evaluated: 4001 points of [-40, 40] shifted by an irrational amount, so
# that no point is a simple rational (a kink, a pole at 0, 1/2, ...), and a few large |x|.
GRID = np.linspace(-40.0, 40.0, 4001) + math.sqrt(2) / 1000
FAR = np.array([-1000.0, -100.0, 100.0, 1000.0]) + math.sqrt(2) / 1000
_FLOAT_MAX = float(np.finfo(np.float64).max)
_EXACT_SAMPLE = 50         # points re-evaluated to 60 digits where float64 gave inf or nan
_HUGE = 1e30               # |f| above this at a zero of a denominator: taken as a pole
_SOLVE_DEGREE = 4          # polynomials up to this degree go to solveset (radicals)
_MAX_ROOT_DEGREE = 200     # up to this degree, exact root isolation; above, not attempted
_SOLVE_OPS = 40            # larger non-polynomial expressions are not given to solveset
_ISOLATION = sp.Rational(1, 10**48)    # width to which a numerically located zero is known
_MAX_BASES = 50            # denominators, log arguments, ... examined for zeros
_MAX_CANDIDATES = 200      # zeros of them checked
_MAX_SIGN_CHANGES = 20     # per base: sign changes bisected, and as many minima of |base|
# the points scanned for sign changes: the grid, and out to |x| = 1000 geometrically
_FAR_SCAN = np.geomspace(41.0, 1000.0, 200) + math.sqrt(2) / 1000
_SCAN = np.concatenate([-_FAR_SCAN[::-1], GRID, _FAR_SCAN])


@dataclass(frozen=True)
class Function:
    """A function users may call: ``build(*args)`` is its SymPy expression."""

    build: Callable[..., sp.Expr]
    min_args: int = 1
    max_args: int = 1

    def __call__(self, *args):
        return self.build(*args)


def _sigmoid(u):
    return 1 / (1 + sp.exp(-u))


def _softplus(u):
    return sp.log(1 + sp.exp(u))


def _heaviside(u):
    return sp.Heaviside(u, sp.S.Half)


_MAX = Function(sp.Max, 2, MAX_MINMAX_ARGS)
_MIN = Function(sp.Min, 2, MAX_MINMAX_ARGS)
_ABS = Function(sp.Abs)

FUNCTIONS: dict[str, Function] = {
    "exp": Function(sp.exp), "log": Function(sp.log), "sqrt": Function(sp.sqrt),
    "abs": _ABS, "Abs": _ABS,
    "tanh": Function(sp.tanh), "sinh": Function(sp.sinh), "cosh": Function(sp.cosh),
    "sin": Function(sp.sin), "cos": Function(sp.cos), "atan": Function(sp.atan),
    "asinh": Function(sp.asinh), "erf": Function(sp.erf), "erfc": Function(sp.erfc),
    "sigmoid": Function(_sigmoid), "softplus": Function(_softplus),
    "Heaviside": Function(_heaviside), "sign": Function(sp.sign),
    "max": _MAX, "Max": _MAX, "min": _MIN, "Min": _MIN,
    "Piecewise": Function(sp.Piecewise, 1, 32),
}
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "E": sp.E}     # and the variable x

_FUNCTION_LIST = ", ".join(sorted(FUNCTIONS, key=lambda n: (n.lower(), n)))
_NAMES_HINT = f"use x, pi, E, numbers and the functions {_FUNCTION_LIST}"
_PIECEWISE_HINT = "e.g. Piecewise((x, x > 0), (0.01*x, True))"
_NOT_FINITE = (sp.zoo, sp.nan, sp.oo, sp.S.NegativeInfinity)

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_OTHER_OPERATORS = {ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.LShift: "<<",
                    ast.RShift: ">>", ast.BitXor: "^", ast.BitAnd: "&", ast.BitOr: "|"}
_COMPARISONS = {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge}
_NOT_ALLOWED = {
    ast.Attribute: "attribute access ('.') is not allowed",
    ast.Subscript: "subscripts ('[...]') are not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions (generator expressions) are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.Starred: "starred arguments ('*') are not allowed",
    ast.IfExp: f"conditional expressions (a if c else b) are not allowed; use Piecewise, "
               f"{_PIECEWISE_HINT}",
    ast.NamedExpr: "assignments (':=') are not allowed",
    ast.List: "lists are not allowed",
    ast.Set: "sets are not allowed",
    ast.Dict: "dicts are not allowed",
    ast.Tuple: f"tuples are allowed only as the (expression, condition) pairs of Piecewise, "
               f"{_PIECEWISE_HINT}",
    ast.Slice: "slices are not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
}


class _Reject(Exception):
    """An internal rejection; ``parse_activation`` turns it into the one-line ValueError."""


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def _error(text, detail: str) -> ValueError:
    shown = text if not isinstance(text, str) or len(text) <= MAX_LENGTH else text[:60] + "..."
    return ValueError(f"activation {shown!r}: {_one_line(detail)}")


def _has_x(expr) -> bool:
    return isinstance(expr, sp.Basic) and _variable() in expr.free_symbols


def _bits(expr) -> int:
    """The largest numerator or denominator in ``expr``, in bits."""
    return max((max(abs(r.p).bit_length(), r.q.bit_length()) for r in expr.atoms(sp.Rational)),
               default=1)


class _Builder:
    """Converts the syntax tree of the text into SymPy, node by node; evaluates nothing."""

    def expr(self, node: ast.AST, depth: int) -> sp.Expr:
        if depth > MAX_DEPTH:
            raise _Reject(f"nested deeper than {MAX_DEPTH} levels")
        out = self._expr(node, depth)
        if isinstance(out, sp.Basic) and out.has(*_NOT_FINITE):
            raise _Reject(f"{ast.unparse(node)!r} is not finite (it gives {out}); "
                          f"division by zero?")
        return out

    def _expr(self, node, depth):
        if isinstance(node, ast.Constant):
            return self._constant(node.value)
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.BinOp):
            return self._binop(node, depth)
        if isinstance(node, ast.UnaryOp):
            operand = self.expr(node.operand, depth + 1)   # checked before the operator's kind
            if isinstance(node.op, ast.USub):
                return -operand
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(node.op, ast.Not):
                raise _Reject("'not' is not allowed; Piecewise conditions join comparisons "
                              "with & and |")
            raise _Reject("operator '~' is not allowed; use + - * / **")
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        if isinstance(node, ast.BoolOp):
            raise _Reject("'and'/'or' are not allowed; Piecewise conditions join comparisons "
                          "with & and |: (x > 0) & (x < 1)")
        if isinstance(node, ast.Compare):
            raise _Reject(f"comparisons are allowed only as Piecewise conditions, "
                          f"{_PIECEWISE_HINT}")
        raise _Reject(_NOT_ALLOWED.get(type(node), f"{type(node).__name__} expressions are "
                                       f"not allowed; {_NAMES_HINT}"))

    @staticmethod
    def _constant(value):
        if isinstance(value, bool):
            raise _Reject(f"{value} is allowed only as the condition of the last Piecewise "
                          f"branch, {_PIECEWISE_HINT}")
        if isinstance(value, int):
            if abs(value) >= 10 ** MAX_LITERAL_DIGITS:
                raise _Reject(f"integer literal with more than {MAX_LITERAL_DIGITS} digits")
            return sp.Integer(value)
        if isinstance(value, float):
            if not math.isfinite(value) or abs(value) >= float(10 ** MAX_LITERAL_DIGITS):
                raise _Reject(f"number {value!r} is too large (below 1e{MAX_LITERAL_DIGITS}, "
                              f"please)")
            return sp.Rational(repr(value))          # shortest repr: 0.01 -> 1/100, exactly
        if isinstance(value, complex):
            raise _Reject("complex numbers are not allowed")
        if isinstance(value, (str, bytes)):
            raise _Reject("strings are not allowed; write the expression itself, e.g. tanh(x)")
        raise _Reject(f"{value!r} is not allowed; {_NAMES_HINT}")

    @staticmethod
    def _name(name):
        if name == "x":
            return _variable()
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in FUNCTIONS:
            raise _Reject(f"function {name!r} must be called, e.g. {name}(x)")
        raise _Reject(f"unknown name {name!r}; {_NAMES_HINT}")

    def _binop(self, node, depth):
        op = type(node.op)
        if op not in _BINARY:
            if op in (ast.BitAnd, ast.BitOr):
                raise _Reject(f"{_OTHER_OPERATORS[op]} may only join comparisons in a Piecewise "
                              f"condition, in parentheses: (x > 0) {_OTHER_OPERATORS[op]} (x < 1)")
            raise _Reject(f"operator {_OTHER_OPERATORS.get(op, op.__name__)!r} is not allowed; "
                          f"use + - * / **")
        if op is ast.Pow:
            base, exponent = self.expr(node.left, depth + 1), self.expr(node.right, depth + 1)
            return self._power(base, exponent)
        # a chain a + b - c (or a * b / c) is one level: walk its left spine without recursion
        group = (ast.Add, ast.Sub) if op in (ast.Add, ast.Sub) else (ast.Mult, ast.Div)
        steps = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, group):
            steps.append((type(node.op), node.right))
            node = node.left
        result = self.expr(node, depth + 1)
        for op, right in reversed(steps):
            value = self.expr(right, depth + 1)
            if op is ast.Add:
                result = result + value
            elif op is ast.Sub:
                result = result - value
            elif op is ast.Mult:
                result = result * value
            else:
                if value == 0:
                    raise _Reject(f"division by zero in {ast.unparse(right)!r}")
                result = result / value
        return result

    @staticmethod
    def _power(base, exponent):
        if exponent.is_Number:
            if abs(exponent) > MAX_EXPONENT:
                raise _Reject(f"exponent {exponent} is too large (at most {MAX_EXPONENT} in "
                              f"absolute value)")
            if exponent.is_Rational and _bits(base) * max(1, abs(exponent)) > _MAX_BITS:
                raise _Reject(f"the power ({base})**{exponent} would have more than "
                              f"{MAX_NUMBER_DIGITS} digits")
        if base == 0 and (exponent.is_negative or exponent.is_zero):
            raise _Reject(f"0**{exponent} is not finite")
        return base ** exponent

    def _call(self, node, depth):
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise _Reject("attribute access ('.') is not allowed")
            raise _Reject(f"only the functions {_FUNCTION_LIST} can be called")
        name = node.func.id
        if name not in FUNCTIONS:
            if name in CONSTANTS or name == "x":
                raise _Reject(f"{name!r} is not a function")
            raise _Reject(f"unknown function {name!r}; use one of: {_FUNCTION_LIST}")
        if node.keywords:
            raise _Reject(f"keyword arguments are not allowed ({name} takes positional "
                          f"arguments only)")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise _Reject("starred arguments ('*') are not allowed")
        function = FUNCTIONS[name]
        if function.build is sp.Piecewise:
            args = self._piecewise_pairs(node.args, depth + 1)
        else:
            args = [self.expr(a, depth + 1) for a in node.args]
        if not function.min_args <= len(args) <= function.max_args:
            if function.min_args == function.max_args:
                wanted = f"{function.min_args} argument" + ("s" if function.min_args > 1 else "")
            else:
                wanted = f"{function.min_args} to {function.max_args} arguments"
            raise _Reject(f"{name} takes {wanted}, got {len(args)}")
        try:
            return function(*args)
        except (TypeError, ValueError, ArithmeticError) as err:
            raise _Reject(f"{name}(...) cannot be built: {err}") from None

    def _piecewise_pairs(self, nodes, depth):
        pairs = []
        for k, node in enumerate(nodes):
            if not (isinstance(node, ast.Tuple) and len(node.elts) == 2):
                raise _Reject(f"Piecewise takes (expression, condition) pairs, {_PIECEWISE_HINT}")
            value, cond = node.elts
            last = k == len(nodes) - 1
            if isinstance(cond, ast.Constant) and cond.value is True:
                if not last:
                    raise _Reject(f"True is allowed only as the condition of the last Piecewise "
                                  f"branch, {_PIECEWISE_HINT}")
                pairs.append((self.expr(value, depth + 1), sp.true))
                continue
            if last:
                raise _Reject(f"Piecewise needs a final (expression, True) branch, "
                              f"{_PIECEWISE_HINT}")
            pairs.append((self.expr(value, depth + 1), self.condition(cond, depth + 1)))
        return pairs

    def condition(self, node, depth):
        if depth > MAX_DEPTH:
            raise _Reject(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, ast.Compare):
            terms = [self.expr(node.left, depth + 1)]
            relations = []
            for op, right in zip(node.ops, node.comparators):
                if type(op) not in _COMPARISONS:
                    raise _Reject("a Piecewise condition may compare only with < <= > >=")
                terms.append(self.expr(right, depth + 1))
                try:
                    relations.append(_COMPARISONS[type(op)](terms[-2], terms[-1]))
                except (TypeError, ValueError) as err:
                    raise _Reject(f"comparison cannot be built: {err}") from None
            return sp.And(*relations)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            left = self.condition(node.left, depth + 1)
            right = self.condition(node.right, depth + 1)
            return sp.And(left, right) if isinstance(node.op, ast.BitAnd) else sp.Or(left, right)
        if isinstance(node, ast.BoolOp):
            raise _Reject("use & and | (with parentheses) instead of 'and'/'or' in a Piecewise "
                          "condition: (x > 0) & (x < 1)")
        if isinstance(node, ast.Constant) and node.value is True:
            raise _Reject(f"True is allowed only as the condition of the last Piecewise branch, "
                          f"{_PIECEWISE_HINT}")
        raise _Reject(f"a Piecewise condition must be a comparison such as x > 0 (joined by & "
                      f"or |), or True in the last branch; {_PIECEWISE_HINT}")


def parse_activation(text: str) -> sp.Expr:
    """The activation written as ``text`` (e.g. ``"x*sigmoid(x)"``), as a SymPy expression in x.

    Never evaluates Python: the text only goes through ``ast.parse`` (a syntax tree), whose
    nodes are converted one by one; no eval/exec/compile of the text, no sympify/parse_expr.
    Accepted: int/float literals (floats exactly, as Rationals), ``x``, ``pi``, ``E``, binary
    ``+ - * / **``, unary ``- +``, positional calls of the functions in ``FUNCTIONS``, and
    ``Piecewise((expr, cond), ..., (expr, True))`` whose conditions are comparisons
    ``< <= > >=`` (chained allowed) joined by ``&``/``|``. The result must depend on x only,
    be real and finite on the real line and have a derivative almost everywhere (see the
    module's docstring). Anything else raises a ValueError with a one-line message starting
    ``activation '<text>': ``.
    """
    if not isinstance(text, str):
        raise _error(text, f"must be text (a str), got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise _error(text, f"is {len(text)} characters long; at most {MAX_LENGTH} are allowed")
    source = text.strip()
    if not source:
        raise _error(text, "is empty; write an expression in x, e.g. tanh(x) or max(0, x)")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        where = f" at column {err.offset}" if err.offset and err.lineno == 1 else ""
        detail = "" if err.msg == "invalid syntax" else f": {err.msg}"
        raise _error(text, f"invalid syntax{where}{detail}") from None
    except (RecursionError, MemoryError):
        raise _error(text, f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as err:     # null bytes, on older Pythons
        raise _error(text, f"invalid syntax: {err}") from None
    try:
        expr = _Builder().expr(tree.body, 0)
        _check(expr)
    except _Reject as err:
        raise _error(text, str(err)) from None
    return expr


def check_activation(expr, text: str | None = None) -> sp.Expr:
    """The post-checks of ``parse_activation`` on a SymPy expression given directly (in the
    registry's x): returned unchanged, or a one-line ValueError naming ``text``."""
    label = str(expr) if text is None else text
    if not isinstance(expr, sp.Expr):
        raise _error(label, f"must be a SymPy expression in x, got {type(expr).__name__}")
    try:
        _check(expr)
    except _Reject as err:
        raise _error(label, str(err)) from None
    return expr


# ----------------------------------------------------------------------------- checks

def _erf(a):
    return np.vectorize(math.erf, otypes=[float])(a)


def _erfc(a):
    return np.vectorize(math.erfc, otypes=[float])(a)


def _heaviside_np(a, at_zero=0.5):
    return np.heaviside(a, float(at_zero))


# NumPy has no erf: math's, elementwise. Heaviside as numpy.heaviside: SymPy's printer would
# rewrite it as a Piecewise and simplify that, which takes minutes on the derivative of a max
# of a few functions.
NUMPY_MODULES = [{"erf": _erf, "erfc": _erfc, "Heaviside": _heaviside_np}, "numpy"]


def _at(point) -> str:
    if isinstance(point, (float, _MP.mpf)) or (isinstance(point, sp.Rational)
                                               and point.q > 10**6):
        value = float(point)
        return f"x = {value if abs(value) > 1e-15 else 0.0:.6g}"
    return f"x = {sp.sstr(point)}"


class _Unevaluable(Exception):
    """The high-precision evaluation would be too costly (sin of a number beyond 1e20)."""


class _Singular(Exception):
    """A zero denominator or log argument, at a point where one is expected."""


_MP = mpmath.MPContext()
_MP.dps = 60
_BIG = _MP.mpf("1e30")        # exp of more: an overflow (its value needs ~|a| bits to compute)
_TRIG_MAX = _MP.mpf("1e20")   # sin of more: refused (reducing mod pi needs ~log2|a| bits)
_TINY = _MP.mpf("1e-40")      # at a located zero, a 60-digit value this small is 0
_UNARY = {sp.sinh: _MP.sinh, sp.cosh: _MP.cosh, sp.tanh: _MP.tanh, sp.atan: _MP.atan,
          sp.asinh: _MP.asinh, sp.erf: _MP.erf, sp.erfc: _MP.erfc}
_RELATIONS = {sp.StrictLessThan: lambda a, b: a < b, sp.LessThan: lambda a, b: a <= b,
              sp.StrictGreaterThan: lambda a, b: a > b, sp.GreaterThan: lambda a, b: a >= b,
              sp.Equality: lambda a, b: a == b, sp.Unequality: lambda a, b: a != b}


def _mp_number(v):
    """A SymPy number as an mpmath one, through its 60-digit decimal text (mpf parses it)."""
    re, im = (sp.N(part, 60) for part in sp.N(v, 60).as_real_imag())
    re, im = _MP.mpf(str(re)), _MP.mpf(str(im))
    return re if im == 0 else _MP.mpc(re, im)


def _real(v):
    if isinstance(v, _MP.mpc):
        if v.imag != 0 and abs(v.imag) > _TINY * abs(v.real):
            raise TypeError("a complex value in a comparison")
        return v.real
    return v


def _mp(node, at, snap: bool):
    """``node`` evaluated by mpmath at 60 digits at x = ``at``, walking the SymPy tree (only
    the taken branch of a Piecewise); exp, sinh, cosh of |a| > 1e30 saturate, sin/cos of
    |a| > 1e20 raise _Unevaluable, so that no input makes this slow. With ``snap`` (at a
    located zero of some denominator or log argument), a value below 1e-40 there is taken as
    0: a power of it with a negative exponent, or its log, is singular."""
    def ev(n):
        return _mp(n, at, snap)
    if isinstance(node, sp.Symbol):
        return at
    if node.is_Rational:
        return _MP.mpf(node.p) / node.q
    if node is sp.pi:
        return +_MP.pi
    if node.is_Number or isinstance(node, sp.NumberSymbol):
        if node.has(*_NOT_FINITE):
            raise ZeroDivisionError("not finite")
        return _mp_number(node)
    if node is sp.I:
        return _MP.mpc(0, 1)
    cls = type(node)
    if cls is sp.Add:
        return _MP.fsum(ev(a) for a in node.args)
    if cls is sp.Mul:
        out = _MP.mpf(1)
        for a in node.args:
            out *= ev(a)
        return out
    if cls is sp.Pow:
        base, exponent = ev(node.base), ev(node.exp)
        if snap and abs(base) < _TINY:
            if _real(exponent) < 0 or node.exp.is_negative:
                raise _Singular("a zero denominator")
            base = _MP.mpf(0)
        if base != 0:
            scale = exponent * _MP.log(abs(base), 2)
            if abs(scale) > _BIG:      # 2**scale: an overflow or an underflow
                return _MP.inf if _MP.re(scale) > 0 else _MP.mpf(0)
        return base ** exponent
    if cls is sp.exp:
        a = ev(node.args[0])
        if abs(_MP.re(a)) > _BIG:
            return _MP.inf if _MP.re(a) > 0 else _MP.mpf(0)
        return _MP.exp(a)
    if cls is sp.log:
        a = ev(node.args[0])
        if snap and abs(a) < _TINY or a == 0:
            raise _Singular("log of 0")
        return _MP.log(a)
    if cls in (sp.sin, sp.cos):
        a = ev(node.args[0])
        if abs(a) > _TRIG_MAX:
            raise _Unevaluable(f"{cls.__name__} of a number beyond 1e20")
        return _MP.sin(a) if cls is sp.sin else _MP.cos(a)
    if cls in _UNARY:
        a = ev(node.args[0])
        if abs(a) > _BIG and cls in (sp.sinh, sp.cosh, sp.tanh, sp.erf, sp.erfc):
            sign = 1 if _real(a) > 0 else -1
            return {sp.sinh: sign * _MP.inf, sp.cosh: _MP.inf, sp.tanh: _MP.mpf(sign),
                    sp.erf: _MP.mpf(sign), sp.erfc: _MP.mpf(1 - sign)}[cls]
        return _UNARY[cls](a)
    if cls is sp.Abs:
        return abs(ev(node.args[0]))
    if cls is sp.sign:
        return _MP.sign(_real(ev(node.args[0])))
    if cls is sp.Heaviside:
        a = _real(ev(node.args[0]))
        return _MP.mpf(0) if a < 0 else _MP.mpf(1) if a > 0 else (
            ev(node.args[1]) if len(node.args) > 1 else _MP.mpf(0.5))
    if cls is sp.DiracDelta:
        return _MP.mpf(0)
    if cls in (sp.Max, sp.Min):
        values = [_real(ev(a)) for a in node.args]
        return max(values) if cls is sp.Max else min(values)
    if cls is sp.Piecewise:
        for value, cond in node.args:
            if _holds(cond, at, snap):
                return ev(value)
        return _MP.nan
    raise _Unevaluable(f"{cls.__name__} cannot be evaluated")


def _holds(cond, at, snap) -> bool:
    if cond is sp.true:
        return True
    if cond is sp.false:
        return False
    cls = type(cond)
    if cls in _RELATIONS:
        return bool(_RELATIONS[cls](_real(_mp(cond.lhs, at, snap)), _real(_mp(cond.rhs, at, snap))))
    if cls is sp.And:
        return all(_holds(c, at, snap) for c in cond.args)
    if cls is sp.Or:
        return any(_holds(c, at, snap) for c in cond.args)
    if cls is sp.Not:
        return not _holds(cond.args[0], at, snap)
    raise _Unevaluable(f"condition {cond} cannot be evaluated")


def _exact(expr, point):
    """expr at ``point`` (a float, or a located zero) to 60 digits: ("real", value),
    ("complex", value), ("infinite", reason) or ("unevaluable", reason)."""
    snap = not isinstance(point, float)
    try:
        at = _MP.mpf(point) if isinstance(point, (float, _MP.mpf)) else _mp_number(point)
        value = _mp(expr, at, snap)
    except _Unevaluable as err:
        return "unevaluable", str(err)
    except (_Singular, ZeroDivisionError, OverflowError) as err:
        return "infinite", str(err)
    except (TypeError, ValueError, ArithmeticError, RecursionError,
            mpmath.libmp.NoConvergence) as err:
        return ("complex" if "complex" in str(err) else "infinite"), str(err)
    if isinstance(value, _MP.mpc):
        if value.imag != 0 and abs(value.imag) > _TINY * abs(value.real):
            return "complex", value
        value = value.real
    if not _MP.isfinite(value):
        return "infinite", value
    return "real", value


def _reject_value(what, status, point, reason=None):
    if status == "unevaluable":
        raise _Reject(f"{what} cannot be evaluated at {_at(point)} ({reason}); an activation "
                      f"must be real and finite for every real x")
    if status == "complex":
        raise _Reject(f"{what} is not real at {_at(point)}; an activation must be real and "
                      f"finite for every real x")
    raise _Reject(f"{what} is not finite at {_at(point)}; an activation must be real and "
                  f"finite for every real x")


def _check_points(what, expr):
    """expr on GRID, where it must be real, finite and fit in float64, and at FAR, where it
    must be real and finite."""
    x = _variable()
    try:
        fn = sp.lambdify((x,), expr, modules=NUMPY_MODULES)
    except (TypeError, ValueError, ArithmeticError, NameError, AttributeError) as err:
        raise _Reject(f"{what} cannot be evaluated numerically ({type(err).__name__}: "
                      f"{err})") from None
    _check_values(what, expr, fn, GRID, float64=True)
    _check_values(what, expr, fn, FAR, float64=False)


def _check_values(what, expr, fn, points, float64: bool):
    """expr at ``points``: NumPy first; where that is not finite, the 60-digit value decides
    (float64 arithmetic overflows in, e.g., log(1 + exp(x)) at x = 1000; at most 50 such
    points, evenly spread, are re-evaluated). With ``float64`` the value must also fit in a
    float64."""
    try:
        with np.errstate(all="ignore"):
            values = np.broadcast_to(np.asarray(fn(points)), points.shape)
    except (TypeError, ValueError, ArithmeticError, NameError, AttributeError) as err:
        raise _Reject(f"{what} cannot be evaluated numerically ({type(err).__name__}: "
                      f"{err})") from None
    if values.dtype == object:
        try:
            values = values.astype(complex)
        except (TypeError, ValueError):
            raise _Reject(f"{what} cannot be evaluated numerically") from None
    if np.iscomplexobj(values):
        imaginary = np.nonzero(values.imag != 0)[0]
        if imaginary.size:
            _reject_value(what, "complex", float(points[imaginary[0]]))
        values = values.real
    bad = np.nonzero(~np.isfinite(values))[0]
    if bad.size > _EXACT_SAMPLE:
        bad = bad[np.linspace(0, bad.size - 1, _EXACT_SAMPLE).round().astype(int)]
    for k in bad:
        point = float(points[k])
        status, value = _exact(expr, point)
        if status != "real":
            _reject_value(what, status, point, value)
        if float64 and abs(value) > _FLOAT_MAX:
            raise _Reject(f"{what} overflows float64 at {_at(point)} (|value| > 1.8e308)")


def _degree(u):
    """The degree of u as a polynomial in x, without expanding it; None if it is not one."""
    x = _variable()
    if not _has_x(u):
        return 0
    if u == x:
        return 1
    if u.is_Add or u.is_Mul:
        degrees = [_degree(a) for a in u.args]
        if None in degrees:
            return None
        return max(degrees) if u.is_Add else sum(degrees)
    if u.is_Pow and u.exp.is_Integer and u.exp >= 0:
        d = _degree(u.base)
        return None if d is None else d * int(u.exp)
    return None


def _zeros(u, domain=sp.S.Reals):
    """The real zeros of u: ("finite", points), ("infinite", the set) or ("unknown", why).

    Polynomials of degree at most 4 and small expressions go to ``solveset`` (exact points:
    log(2), sqrt(2)); polynomials of degree 5 to 200 to SymPy's exact root isolation (points
    within 1e-48); anything bigger is not attempted, so that no text makes this slow."""
    x = _variable()
    degree = _degree(u)
    if degree is not None and degree > _SOLVE_DEGREE:
        if degree > _MAX_ROOT_DEGREE:
            return "unknown", f"a polynomial of degree {degree}"
        try:
            intervals = sp.Poly(u, x).intervals(eps=_ISOLATION)
        except (sp.PolynomialError, NotImplementedError, ValueError, TypeError) as err:
            return "unknown", str(err)
        points = [(a + b) / 2 for (a, b), _ in intervals]
        if domain is not sp.S.Reals:
            points = [p for p in points if p in domain]
        return "finite", points
    too_big = [p for p in sp.preorder_traversal(u) if p.is_Pow and _has_x(p.base)
               and p.exp.is_Integer and abs(p.exp) > _SOLVE_DEGREE]
    if too_big or sp.count_ops(u) > _SOLVE_OPS:
        return "unknown", "too complex to solve"
    try:
        found = sp.solveset(u, x, domain)
    except (NotImplementedError, TypeError, ValueError, ArithmeticError, RecursionError) as err:
        return "unknown", str(err)
    if found is sp.S.EmptySet:
        return "finite", []
    if isinstance(found, sp.FiniteSet):
        return "finite", [p for p in found if p.is_real is not False]
    if isinstance(found, sp.ConditionSet):
        return "unknown", str(found)
    return "infinite", found


def _numeric_zeros(u) -> list:
    """Zeros of u located numerically on the scan (the grid, and out to |x| = 1000): each
    sign change between neighbouring points, bisected with mpmath to within 1e-48, and each
    local minimum of |u| (a double zero, as of exp(x) - 1 - x at 0), refined by golden-section
    search; the caller's 60-digit evaluation there tells a zero from a mere minimum."""
    x = _variable()
    try:
        fn = sp.lambdify((x,), u, modules=NUMPY_MODULES)
        with np.errstate(all="ignore"):
            values = np.broadcast_to(np.asarray(fn(_SCAN), dtype=float), _SCAN.shape)
    except (TypeError, ValueError, ArithmeticError, NameError, AttributeError):
        return []
    signs = np.sign(values)
    change = np.nonzero(np.isfinite(values[:-1]) & np.isfinite(values[1:])
                        & (signs[:-1] * signs[1:] < 0))[0][:_MAX_SIGN_CHANGES]
    points = []
    for k in change:
        lo, hi = _MP.mpf(float(_SCAN[k])), _MP.mpf(float(_SCAN[k + 1]))
        try:
            low_sign = _MP.sign(_real(_mp(u, lo, False)))
            for _ in range(200):
                if hi - lo < _MP.mpf("1e-48") * (1 + abs(lo)):
                    break
                mid = (lo + hi) / 2
                if _MP.sign(_real(_mp(u, mid, False))) == low_sign:
                    lo = mid
                else:
                    hi = mid
        except (_Unevaluable, TypeError, ValueError, ArithmeticError,
                mpmath.libmp.NoConvergence):
            continue
        points.append((lo + hi) / 2)
    # a minimum of |u| far below both neighbours (a double zero within a grid step gives at
    # most 1/9 of the larger one; a smooth minimum of a positive u, about 1)
    size = np.abs(values)
    middle, sides = size[1:-1], np.maximum(size[:-2], size[2:])
    inner = np.nonzero(np.isfinite(middle) & np.isfinite(sides) & (middle <= size[:-2])
                       & (middle < size[2:]) & (middle <= sides / 4))[0][:_MAX_SIGN_CHANGES] + 1
    ratio = _MP.mpf(2) / (3 + _MP.sqrt(5))     # golden section
    for k in inner:
        lo, hi = _MP.mpf(float(_SCAN[k - 1])), _MP.mpf(float(_SCAN[k + 1]))
        try:
            for _ in range(150):
                a, b = lo + ratio * (hi - lo), hi - ratio * (hi - lo)
                if abs(_mp(u, a, False)) < abs(_mp(u, b, False)):
                    hi = b
                else:
                    lo = a
        except (_Unevaluable, TypeError, ValueError, ArithmeticError,
                mpmath.libmp.NoConvergence):
            continue
        points.append((lo + hi) / 2)
    return points


def _singular_candidates(expr) -> list:
    """Points where f may be undefined: the zeros of every denominator, log argument and
    base of a non-integer power (SymPy's, and sign changes located numerically), and the
    midpoints between consecutive ones."""
    bases = set()
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Pow):
            if _has_x(node.base) and not (node.exp.is_Integer and node.exp.is_nonnegative):
                bases.add(node.base)
        elif isinstance(node, sp.log) and _has_x(node.args[0]):
            bases.add(node.args[0])
    found = []
    for base in sorted(bases, key=sp.default_sort_key)[:_MAX_BASES]:
        kind, points = _zeros(base)
        if kind == "infinite":
            kind, points = _zeros(base, sp.Interval(-50, 50))
        if kind == "finite":
            found += points
        found += _numeric_zeros(base)
    values = []
    for p in found:
        try:
            values.append((float(p) if isinstance(p, _MP.mpf) else float(sp.N(p)), p))
        except (TypeError, ValueError):
            continue
    values = sorted(values, key=lambda item: item[0])[:_MAX_CANDIDATES]
    out = [p for _, p in values]
    out += [(a + b) / 2 for (va, a), (vb, b) in zip(values, values[1:]) if vb - va > 1e-12]
    return out


def _check(expr):
    x = _variable()
    if not isinstance(expr, sp.Expr):
        raise _Reject(f"is not an expression (it gives {expr})")
    if expr.free_symbols != {x}:
        if not expr.free_symbols:
            raise _Reject(f"does not depend on x (it is the constant {expr})")
        raise _Reject(f"must depend on x only, not on {sorted(map(str, expr.free_symbols - {x}))}")
    _check_points("f(x)", expr)
    for point in _singular_candidates(expr):
        status, value = _exact(expr, point)
        if status == "real" and abs(value) > _HUGE:
            status = "infinite"
        if status != "real":
            _reject_value("f(x)", status, point, value)
    derivative = sp.diff(expr, x)
    if derivative.has(sp.Derivative, sp.Subs):
        raise _Reject(f"SymPy cannot write its derivative ({derivative}); an activation needs "
                      f"a derivative almost everywhere")
    deltas = derivative.atoms(sp.DiracDelta)          # zero almost everywhere
    derivative = derivative.xreplace({d: sp.S.Zero for d in deltas})
    _check_points("its derivative f'(x)", derivative)


# ----------------------------------------------------------------------------- kinks

def _finite_zeros(expr, u) -> list:
    """The real zeros of u; ValueError when they are not a finite set SymPy can list."""
    kind, found = _zeros(u)
    if kind == "finite":
        return found
    why = (f"are {found}, not a finite set of points" if kind == "infinite"
           else f"cannot be found ({found})")
    raise ValueError(_one_line(f"activation {sp.sstr(expr)!r}: its kinks cannot be located: "
                               f"the real solutions of {sp.sstr(u)} = 0 {why}"))


def _is_extreme_pair(node, a, b, point) -> bool:
    """Whether a and b, equal at ``point``, are there the value of Max/Min ``node`` (else the
    crossing is hidden by another argument and f is smooth there)."""
    try:
        at = _mp_number(point)
        values = [_real(_mp(arg, at, False)) for arg in node.args]
        here = _real(_mp(a, at, False))
    except (_Unevaluable, TypeError, ValueError, ArithmeticError, mpmath.libmp.NoConvergence):
        return True
    extreme = max(values) if isinstance(node, sp.Max) else min(values)
    return abs(here - extreme) <= _MP.mpf("1e-30") * (1 + abs(extreme))


def kinks(expr) -> tuple[float, ...]:
    """The sorted real points where ``expr`` (an expression in x, or text for
    ``parse_activation``) may fail to be smooth, found from the expression itself: the zeros
    of the arguments of Abs, sign and Heaviside, the points where two arguments of Max/Min are
    equal and are the maximum (minimum), and the boundaries of Piecewise conditions (where a
    comparison's two sides are equal), anywhere in the tree. Floats, deduplicated at 1e-12.

    The zeros come from ``solveset`` over the reals (polynomials of degree 5 to 200: SymPy's
    exact root isolation). ValueError (one line) when some such set of points is not finite
    (``abs(sin(x))``), SymPy cannot list it (``max(x, sin(x))``: x = sin(x) is a
    ConditionSet), or it is too big to try (degree above 200, more than 40 operations).
    Examples: max(0, x) -> (0.0,); tanh(x) -> (); hard tanh -> (-1.0, 1.0).
    """
    if isinstance(expr, str):
        expr = parse_activation(expr)
    if not isinstance(expr, sp.Basic):
        raise ValueError(_one_line(f"activation {expr!r}: kinks needs a SymPy expression in x "
                                   f"or its text, got {type(expr).__name__}"))
    points: list = []
    for node in sp.preorder_traversal(expr):
        if isinstance(node, (sp.Abs, sp.sign, sp.Heaviside)):
            if _has_x(node.args[0]):
                points += _finite_zeros(expr, node.args[0])
        elif isinstance(node, (sp.Max, sp.Min)):
            args = node.args
            for i, a in enumerate(args):
                for b in args[i + 1:]:
                    if _has_x(a - b):
                        points += [p for p in _finite_zeros(expr, a - b)
                                   if _is_extreme_pair(node, a, b, p)]
        elif isinstance(node, sp.Piecewise):
            for _, cond in node.args:
                for relation in cond.atoms(sp.core.relational.Relational):
                    side = relation.lhs - relation.rhs
                    if _has_x(side):
                        points += _finite_zeros(expr, side)
    values = {round(float(sp.N(p)), 12) + 0.0 for p in points}
    return tuple(sorted(values))
