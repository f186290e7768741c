"""Input checks shared by the library and the CLI: each raises ValueError with a one-line message."""
from __future__ import annotations

import math
import numbers


MAX_WIDTH = 2 ** 53      # the theories compute with widths as float64 numbers


def check_widths(widths) -> tuple[int, ...]:
    """Layer widths n_0 .. n_L: at least two positive integers (input and output)."""
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
        raise ValueError(f"widths must be a sequence of positive integers, got {widths!r}")
    out = []
    for w in widths:
        if isinstance(w, bool) or not isinstance(w, numbers.Integral):
            if isinstance(w, numbers.Real) and float(w).is_integer():
                w = int(w)
            else:
                raise ValueError(f"widths must be positive integers, got {w!r}")
        if w <= 0:
            raise ValueError(f"widths must be positive integers, got {w!r}")
        if w > MAX_WIDTH:
            raise ValueError(f"widths must be at most 2**53 (exact in float64), got {w!r}")
        out.append(int(w))
    if len(out) < 2:
        raise ValueError(f"need at least two widths (input and output), got {len(out)}")
    return tuple(out)


def parse_widths(text: str) -> tuple[int, ...]:
    """Parse '1024,1000,9' into widths, with the errors of ``check_widths``."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    values = []
    for p in parts:
        try:
            values.append(int(p))
        except ValueError:
            raise ValueError(f"widths must be positive integers, got {p!r}") from None
    return check_widths(values)


def check_positive(name: str, value) -> float:
    """A finite, strictly positive number (a variance)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return v
