"""Plain-text tables for the command line (``varprop predict``, ``varprop train --report``)."""
from __future__ import annotations


def format_table(columns, rows, left=()) -> list[str]:
    """Lines of a table: each column as wide as its widest cell, right-aligned except the
    column indices in ``left``; trailing spaces dropped."""
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    fmt = "  ".join(f"{{:<{w}}}" if i in left else f"{{:>{w}}}" for i, w in enumerate(widths))
    return [fmt.format(*columns).rstrip()] + [fmt.format(*r).rstrip() for r in rows]
