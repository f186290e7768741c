"""Numba scalar activations f and derivatives f', generated from
varprop/symbolic/activations.py by varprop.kernels.codegen; do not edit.
"""
import math

from numba import njit

# Kernels take an activation's code, not its name (numba freezes no registry at compile time).
CODES = {'linear': 0, 'tanh': 1, 'sigmoid': 2, 'softsign': 3, 'relu': 4}


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
    return math.nan
