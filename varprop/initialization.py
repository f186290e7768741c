"""Sampling initial weights: a scheme (its variance, from ``symbolic.schemes``) drawn from a law.

The law's parameter for the scheme's variance (uniform bound, normal std, truncated normal's
pre-truncation std, orthogonal gain) is generated code from ``symbolic.laws``; sampling uses an
explicit ``numpy.random.Generator``, so a seed fixes every bit.
"""
from __future__ import annotations

import numpy as np

from .symbolic.laws import LAW_NAMES, TRUNCATION
from .symbolic.schemes import Scheme, custom_scheme, fan_function, get_scheme

LAWS = LAW_NAMES   # the laws sample_weights draws from


def resolve_scheme(init: str | Scheme, law: str | None = None) -> Scheme:
    """A named scheme or alias (or a ``Scheme``), optionally drawn from another law than its
    own."""
    return init.with_law(law) if isinstance(init, Scheme) else get_scheme(init, law)


def weight_parameter(scheme: Scheme, fan_in: int, fan_out: int) -> float:
    """The law's parameter (bound, std, gain) that gives the scheme's variance."""
    return float(fan_function(scheme.parameter)(fan_in, fan_out))


def sample_weights(rng: np.random.Generator, fan_in: int, fan_out: int, scheme: Scheme,
                   dtype=np.float64) -> np.ndarray:
    """W^i, shape (fan_in, fan_out), drawn from the scheme's law with the scheme's variance."""
    p = weight_parameter(scheme, fan_in, fan_out)
    shape = (fan_in, fan_out)
    if scheme.law == "uniform":
        w = rng.uniform(-p, p, size=shape)
    elif scheme.law == "normal":
        w = rng.normal(0.0, p, size=shape)
    elif scheme.law == "truncated_normal":
        w = rng.standard_normal(size=shape)
        bad = np.abs(w) > TRUNCATION
        while bad.any():   # redraw outside +-2 sigma: the conditioned law, exactly
            w[bad] = rng.standard_normal(size=int(bad.sum()))
            bad = np.abs(w) > TRUNCATION
        w *= p
    elif scheme.law == "orthogonal":
        big, small = max(shape), min(shape)
        q, r = np.linalg.qr(rng.standard_normal(size=(big, small)))
        q *= np.sign(np.diag(r))          # Haar measure (Mezzadri 2007)
        w = p * (q if fan_in >= fan_out else q.T)
    else:  # pragma: no cover - Scheme validates its law
        raise ValueError(f"unknown law {scheme.law!r}; choose one of: {', '.join(LAWS)}")
    return np.ascontiguousarray(w, dtype=dtype)


__all__ = ["LAWS", "custom_scheme", "resolve_scheme", "sample_weights", "weight_parameter"]
