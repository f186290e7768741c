"""Numba scalar activations f and derivatives f', generated from
varprop/symbolic/activations.py by varprop.kernels.codegen; do not edit.
"""
import math

from numba import njit

# Kernels take an activation's code, not its name (numba freezes no registry at compile time).
CODES = {'linear': 0, 'tanh': 1, 'sigmoid': 2, 'softsign': 3, 'relu': 4, 'selu': 5, 'elu': 6, 'gelu': 7, 'silu': 8, 'softplus': 9, 'mish': 10, 'erf': 11, 'hard_tanh': 12, 'leaky_relu': 13}


@njit(cache=True)
def activation(code, x):
    """f(x) of the activation with this code."""
    if code == 0:  # linear
        return x
    elif code == 1:  # tanh
        return math.tanh(x)
    elif code == 2:  # sigmoid
        return 1/(1 + math.exp(-x))
    elif code == 3:  # softsign
        return x/(abs(x) + 1)
    elif code == 4:  # relu
        return max(0, x)
    elif code == 5:  # selu
        return (2101401974710961/2000000000000000)*((x) if (x > 0) else ((4183158105885943/2500000000000000)*math.expm1(x)))
    elif code == 6:  # elu
        return ((x) if (x > 0) else (math.expm1(x)))
    elif code == 7:  # gelu
        return (1/2)*x*(math.erf((1/2)*math.sqrt(2)*x) + 1)
    elif code == 8:  # silu
        return x/(1 + math.exp(-x))
    elif code == 9:  # softplus
        return math.log1p(math.exp(-abs(x))) + max(0, x)
    elif code == 10:  # mish
        return x*math.tanh(math.log1p(math.exp(-abs(x))) + max(0, x))
    elif code == 11:  # erf
        return math.erf(x)
    elif code == 12:  # hard_tanh
        return ((-1) if (x < -1) else (x) if (x <= 1) else (1))
    elif code == 13:  # leaky_relu
        return ((x) if (x > 0) else ((1/100)*x))
    return math.nan


@njit(cache=True)
def derivative(code, x):
    """f'(x) of the activation with this code."""
    if code == 0:  # linear
        return 1
    elif code == 1:  # tanh
        return math.cosh(x)**(-2)
    elif code == 2:  # sigmoid
        return (1/4)/math.cosh((1/2)*x)**2
    elif code == 3:  # softsign
        return ((1) if (x == 0) else (abs(x)/(x**2*abs(x) + 2*x**2 + abs(x))))
    elif code == 4:  # relu
        return (((0) if (x < 0) else (1/2) if (x == 0) else (1)))
    elif code == 5:  # selu
        return ((2101401974710961/2000000000000000) if (x > 0) else ((8790496704236883909170257921223/5000000000000000000000000000000)*math.exp(x)))
    elif code == 6:  # elu
        return ((1) if (x > 0) else (math.exp(x)))
    elif code == 7:  # gelu
        return (1/2)*math.sqrt(2)*x*math.exp(-1/2*x**2)/math.sqrt(math.pi) + (1/2)*math.erf((1/2)*math.sqrt(2)*x) + 1/2
    elif code == 8:  # silu
        return (1/4)*(x + math.exp(x) + 1)/math.cosh((1/2)*x)**2
    elif code == 9:  # softplus
        return (((0) if (x < 0) else (1/2) if (x == 0) else (1))) - math.exp(-abs(x))*(0.0 if x == 0 else math.copysign(1, x))/(1 + math.exp(-abs(x)))
    elif code == 10:  # mish
        return x*(1 - math.tanh(math.log1p(math.exp(-abs(x))) + max(0, x))**2)*((((0) if (x < 0) else (1/2) if (x == 0) else (1))) - math.exp(-abs(x))*(0.0 if x == 0 else math.copysign(1, x))/(1 + math.exp(-abs(x)))) + math.tanh(math.log1p(math.exp(-abs(x))) + max(0, x))
    elif code == 11:  # erf
        return 2*math.exp(-x**2)/math.sqrt(math.pi)
    elif code == 12:  # hard_tanh
        return ((0) if (x < -1) else (1) if (x <= 1) else (0))
    elif code == 13:  # leaky_relu
        return ((1) if (x > 0) else (1/100))
    return math.nan


@njit(cache=True)
def derivative_from_output(code, x, y):
    """f'(x) given x and y = f(x) (cheaper where the registry writes f' in y)."""
    if code == 0:  # linear
        return 1
    elif code == 1:  # tanh
        return 1 - y**2
    elif code == 2:  # sigmoid
        return y*(1 - y)
    elif code == 3:  # softsign
        return (1 - abs(y))**2
    elif code == 4:  # relu
        return (((0) if (x < 0) else (1/2) if (x == 0) else (1)))
    elif code == 5:  # selu
        return ((2101401974710961/2000000000000000) if (x > 0) else ((8790496704236883909170257921223/5000000000000000000000000000000)*math.exp(x)))
    elif code == 6:  # elu
        return ((1) if (x > 0) else (math.exp(x)))
    elif code == 7:  # gelu
        return (1/2)*math.sqrt(2)*x*math.exp(-1/2*x**2)/math.sqrt(math.pi) + (1/2)*math.erf((1/2)*math.sqrt(2)*x) + 1/2
    elif code == 8:  # silu
        return (1/4)*(x + math.exp(x) + 1)/math.cosh((1/2)*x)**2
    elif code == 9:  # softplus
        return (((0) if (x < 0) else (1/2) if (x == 0) else (1))) - math.exp(-abs(x))*(0.0 if x == 0 else math.copysign(1, x))/(1 + math.exp(-abs(x)))
    elif code == 10:  # mish
        return x*(1 - math.tanh(math.log1p(math.exp(-abs(x))) + max(0, x))**2)*((((0) if (x < 0) else (1/2) if (x == 0) else (1))) - math.exp(-abs(x))*(0.0 if x == 0 else math.copysign(1, x))/(1 + math.exp(-abs(x)))) + math.tanh(math.log1p(math.exp(-abs(x))) + max(0, x))
    elif code == 11:  # erf
        return 2*math.exp(-x**2)/math.sqrt(math.pi)
    elif code == 12:  # hard_tanh
        return ((0) if (x < -1) else (1) if (x <= 1) else (0))
    elif code == 13:  # leaky_relu
        return ((1) if (x > 0) else (1/100))
    return math.nan
